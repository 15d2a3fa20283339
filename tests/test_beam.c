/* SPDX-License-Identifier: MIT */
/*
 * Generation: beam search against exhaustive search and greedy decoding,
 * each text scored by the library (cn_score); batched samplers against
 * one-stream ones; nucleus (top-p) sampling. For every cell kind.
 */
#include "check.h"
#include "core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { LEN = 5 };

/* Total ln p of text[1..] given text[0] (a prime of one character), from
 * the library's scoring pass. */
static double logprob(const CnModel *m, const char *text)
{
    CnError err;
    CnText *t = cn_text_from_memory(text, strlen(text), "text", &err);
    size_t count;
    double mean = t ? cn_evaluate(m, t, 16, 1, &count, &err) : NAN;
    cn_text_free(t);
    return -mean * (double)count;
}

static CnModel *tiny(CnCell cell, int layers, uint64_t seed)
{
    CnError err;
    CnText *t = cn_text_from_memory("abc", 3, "abc", &err);
    CnModel *m = t ? cn_model_random(t, cell, 4, layers, seed, &err) : NULL;
    cn_text_free(t);
    /* sharper than uniform [-0.5, 0.5): the best text is then worth finding */
    for (size_t i = 0; m && i < m->nparams; i++)
        m->params[i] *= 6;
    return m;
}

/* The text of a beam search after the prime "a", prime included. */
static double beam(const CnModel *m, int beams, const char *stop, char *text)
{
    CnError err;
    char *out;
    size_t n;
    double lp;
    if (cn_beam_search(m, "a", 1, beams, LEN, stop, stop ? strlen(stop) : 0, &out, &n, &lp,
                       &err) != 0) {
        CHECK(0, "beam search: %s", err.msg);
        return NAN;
    }
    text[0] = 'a';
    memcpy(text + 1, out, n);
    text[n + 1] = '\0';
    free(out);
    return lp;
}

int main(void)
{
    for (int cell = CN_RNN; cell <= CN_GRU; cell++) {
        const char *name = cn_cell_names[cell];
        CnModel *m = tiny((CnCell)cell, 2, 11 + (uint64_t)cell);
        if (!m) {
            CHECK(0, "%s: set-up: a tiny model", name);
            continue;
        }
        /* every text of LEN characters after "a": 3^5 = 243 */
        char text[LEN + 2] = "a", best[LEN + 2] = "";
        double best_lp = -INFINITY;
        for (int code = 0; code < 243; code++) {
            for (int i = 0, c = code; i < LEN; i++, c /= 3)
                text[1 + i] = (char)('a' + c % 3);
            text[LEN + 1] = '\0';
            double lp = logprob(m, text);
            if (lp > best_lp)
                best_lp = lp, memcpy(best, text, sizeof best);
        }
        char found[4 * LEN + 2], greedy[4 * LEN + 2];
        double lp = beam(m, 81, NULL, found); /* as wide as every prefix of 4 */
        CHECK(strcmp(found, best) == 0 && fabs(lp - best_lp) < 1e-5,
              "%s: 81 beams find the most likely of the 243 texts, %s (ln p %.6f; exhaustive: "
              "%s, %.6f)", name, found, lp, best, best_lp);
        double greedy_lp = logprob(m, (beam(m, 1, NULL, greedy), greedy));
        int not_worse = 1;
        for (int b = 2; b <= 5; b++)
            not_worse &= logprob(m, (beam(m, b, NULL, found), found)) >= greedy_lp - 1e-9;
        CHECK(not_worse, "%s: 2 to 5 beams find texts at least as likely as greedy decoding "
                         "(%s, ln p %.6f), as the library scores them", name, greedy, greedy_lp);
        /* one beam is the argmax sampler */
        CnSampler *s = cn_sampler_new(m, 1, NULL);
        CnSampleOptions argmax = {.temperature = 1, .argmax = 1};
        char drawn[LEN + 2] = "a";
        cn_sampler_feed(s, "a", 1, "a", NULL);
        for (int i = 0; i < LEN; i++)
            drawn[1 + i] = (char)cn_sampler_draw(s, &argmax);
        cn_sampler_free(s);
        CHECK(strcmp(drawn, greedy) == 0, "%s: one beam is --argmax (%s)", name, drawn);
        /* a stop string ends the text right after it */
        beam(m, 3, "b", found);
        size_t n = strlen(found);
        CHECK(strchr(found + 1, 'b') == found + n - 1 || (n == LEN + 1 && !strchr(found + 1, 'b')),
              "%s: with --stop b the text ends at its first b (%s)", name, found);

        /* five streams draw what five samplers of seeds 7..11 draw, with
           temperature, top-k and top-p */
        CnSampleOptions opt = {.temperature = 0.8, .top_k = 2, .top_p = 0.9};
        enum { N = 5, STEPS = 40 };
        CnSampler *batch = cn_sampler_streams(m, N, 7, NULL);
        uint32_t together[STEPS][N];
        cn_sampler_feed(batch, "ab", 2, "ab", NULL);
        for (int t = 0; t < STEPS; t++)
            cn_sampler_draw_all(batch, &opt, together[t]);
        cn_sampler_free(batch);
        int same = 1;
        for (int i = 0; i < N; i++) {
            CnSampler *one = cn_sampler_new(m, 7 + (uint64_t)i, NULL);
            cn_sampler_feed(one, "ab", 2, "ab", NULL);
            for (int t = 0; t < STEPS; t++)
                same &= cn_sampler_draw(one, &opt) == together[t][i];
            cn_sampler_free(one);
        }
        CHECK(same, "%s: %d samples drawn together are the samples of seeds 7 to 11", name, N);
        cn_model_free(m);
    }

    /* 13 streams of a model big enough for the threads to share each step
       (where the machine has 2 or more) draw what 13 samplers draw */
    {
        CnError err;
        CnText *t = cn_text_from_memory("abcdefgh ", 9, "text", &err);
        CnModel *m = t ? cn_model_random(t, CN_GRU, 256, 2, 5, &err) : NULL;
        cn_text_free(t);
        enum { N = 13, STEPS = 30 };
        CnSampler *batch = m ? cn_sampler_streams(m, N, 100, &err) : NULL;
        if (!batch) {
            CHECK(0, "set-up: a 2 x 256 GRU and its sampler: %s", err.msg);
            return check_status();
        }
        CnSampleOptions opt = {.temperature = 0.9, .top_k = 6, .top_p = 0.95};
        uint32_t together[STEPS][N];
        cn_sampler_feed(batch, "abc", 3, "abc", NULL);
        for (int step = 0; step < STEPS; step++)
            cn_sampler_draw_all(batch, &opt, together[step]);
        int threads = cn_pool_size(batch->pool), same = 1;
        cn_sampler_free(batch);
        for (int i = 0; i < N; i++) {
            CnSampler *one = cn_sampler_new(m, 100 + (uint64_t)i, NULL);
            cn_sampler_feed(one, "abc", 3, "abc", NULL);
            for (int step = 0; step < STEPS; step++)
                same &= cn_sampler_draw(one, &opt) == together[step][i];
            cn_sampler_free(one);
        }
        CHECK(same && (threads > 1 || cn_cpu_count() == 1),
              "a 2 x 256 GRU: %d samples drawn together on %d threads are the samples of "
              "seeds 100 to 112", N, threads);
        cn_model_free(m);
    }

    /* top-p: softmax of {1, 2, 0.5, 2, -1} is 0.139 0.379 0.085 0.379 0.019;
       P = 0.5 keeps the two largest (0.757 >= 0.5), each then 1/2 */
    static const CnReal logits[5] = {1, 2, 0.5f, 2, -1};
    double probs[5];
    int order[10], count[5] = {0};
    CnRng rng;
    cn_rng_seed(&rng, 3);
    CnSampleOptions half = {.temperature = 1, .top_p = 0.5};
    for (int i = 0; i < 100000; i++)
        count[cn_sample_logits(logits, 5, &half, &rng, probs, order)]++;
    CHECK(count[0] + count[2] + count[4] == 0 && fabs(count[1] / 1e5 - 0.5) < 0.006,
          "top-p 0.5 draws only the two most likely, half each (%d %d %d %d %d)", count[0],
          count[1], count[2], count[3], count[4]);
    int equal = 1;
    CnRng a, b;
    cn_rng_seed(&a, 5), cn_rng_seed(&b, 5);
    CnSampleOptions off = {.temperature = 1, .top_k = 4}, one = {.temperature = 1, .top_k = 4,
                                                                 .top_p = 1};
    for (int i = 0; i < 1000; i++)
        equal &= cn_sample_logits(logits, 5, &off, &a, probs, order) ==
                 cn_sample_logits(logits, 5, &one, &b, probs, order);
    CHECK(equal, "top-p 1 draws exactly what no top-p draws");
    return check_status();
}
