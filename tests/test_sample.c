/* SPDX-License-Identifier: MIT */
/*
 * Sampling: draws follow softmax(logits / temperature) (frequencies over
 * many draws, a fixed seed), top-k never leaves the k most likely,
 * argmax is the maximum, and a sampler is reproducible from its seed.
 */
#include "check.h"
#include "core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { V = 5, DRAWS = 200000 };

static const CnReal logits[V] = {1.0f, 2.0f, 0.5f, 2.0f, -1.0f};

/* Largest |frequency - p| over the vocabulary after DRAWS draws. */
static double frequency_error(const CnSampleOptions *opt, const double *p, int *outside)
{
    CnRng rng;
    cn_rng_seed(&rng, 11);
    double probs[V];
    int order[2 * V], count[V] = {0};
    for (int i = 0; i < DRAWS; i++)
        count[cn_sample_logits(logits, V, opt, &rng, probs, order)]++;
    double worst = 0;
    *outside = 0;
    for (int j = 0; j < V; j++) {
        worst = fmax(worst, fabs((double)count[j] / DRAWS - p[j]));
        if (p[j] == 0)
            *outside += count[j];
    }
    return worst;
}

static void expected(double temperature, int top_k, double *p)
{
    double sum = 0;
    for (int j = 0; j < V; j++) {
        p[j] = exp(logits[j] / temperature);
        /* top 2 of {1, 2, 0.5, 2, -1} are indices 1 and 3 */
        if (top_k == 2 && j != 1 && j != 3)
            p[j] = 0;
        sum += p[j];
    }
    for (int j = 0; j < V; j++)
        p[j] /= sum;
}

int main(void)
{
    /* binomial standard deviation at p ~ 0.4 over 2e5 draws is 0.0011;
     * 0.006 is over five of them */
    const double tol = 0.006;
    double p[V];
    int outside;
    struct {
        double temperature;
        int top_k;
    } cases[] = {{1.0, 0}, {0.5, 0}, {2.0, 0}, {1.0, 2}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        CnSampleOptions opt = {.temperature = cases[c].temperature, .top_k = cases[c].top_k};
        expected(opt.temperature, opt.top_k, p);
        double err = frequency_error(&opt, p, &outside);
        CHECK(err < tol && outside == 0,
              "temperature %.1f top-k %d: frequencies match softmax(y/T) within %.4f (bound %.3f)"
              ", %d draws outside the top k",
              opt.temperature, opt.top_k, err, tol, outside);
    }
    CnRng rng;
    cn_rng_seed(&rng, 1);
    double probs[V];
    int order[2 * V];
    CnSampleOptions argmax = {.temperature = 1.0, .argmax = 1};
    CHECK(cn_sample_logits(logits, V, &argmax, &rng, probs, order) == 1,
          "argmax takes the first of the largest logits");
    CnSampleOptions top1 = {.temperature = 1.0, .top_k = 1};
    int always = 1;
    for (int i = 0; i < 100; i++)
        always &= cn_sample_logits(logits, V, &top1, &rng, probs, order) == 1;
    CHECK(always, "top-k 1 is the argmax");

    /* a sampler over a tiny model: same seed, same text */
    CnError err;
    CnVocab vocab;
    uint32_t *chars = malloc(3 * sizeof *chars);
    chars[0] = 'a', chars[1] = 'b', chars[2] = 'c';
    cn_vocab_from_chars(&vocab, chars, 3, &err);
    CnModel m;
    cn_model_init(&m, CN_GRU, 8, 2, &vocab, &err);
    cn_rng_seed(&rng, 3);
    cn_model_randomize(&m, CN_INIT_UNIFORM, &rng, &err);
    int runs[2][64];
    for (int r = 0; r < 2; r++) {
        CnSampler s;
        cn_sampler_init(&s, &m, 1, 99, &err);
        CnSampleOptions opt = {.temperature = 1.0};
        cn_sampler_feed_id(&s, 0);
        for (int i = 0; i < 64; i++) {
            runs[r][i] = cn_sampler_next(&s, 0, &opt);
            cn_sampler_feed_id(&s, runs[r][i]);
        }
        cn_sampler_release(&s);
    }
    CHECK(memcmp(runs[0], runs[1], sizeof runs[0]) == 0, "a sampler is reproducible from its seed");
    cn_model_release(&m);

    /* a model big enough for the sampler to share each step between threads
     * (when the machine has several) draws what one thread draws */
    chars = malloc(3 * sizeof *chars);
    chars[0] = 'a', chars[1] = 'b', chars[2] = 'c';
    cn_vocab_from_chars(&vocab, chars, 3, &err);
    cn_model_init(&m, CN_LSTM, 256, 2, &vocab, &err);
    cn_rng_seed(&rng, 5);
    cn_model_randomize(&m, CN_INIT_UNIFORM, &rng, &err);
    CnSampler s;
    cn_sampler_init(&s, &m, 1, 42, &err);
    CnActs one;
    cn_acts_init(&one, &m.shape, 1, 1, 0, 0, CN_MUL_FP32, NULL, &err);
    CnRng one_rng;
    cn_rng_seed(&one_rng, 42);
    CnSampleOptions opt = {.temperature = 0.8};
    int same = 1, id = 0;
    cn_sampler_feed_id(&s, id);
    cn_forward(&m, &one, &id, NULL, 1, NULL);
    cn_acts_carry_state(&one);
    for (int i = 0; i < 100; i++) {
        id = cn_sampler_next(&s, 0, &opt);
        same &= id == cn_sample_logits(one.logits, 3, &opt, &one_rng, probs, order);
        same &= memcmp(s.acts.logits, one.logits, 3 * sizeof(CnReal)) == 0;
        cn_sampler_feed_id(&s, id);
        cn_forward(&m, &one, &id, NULL, 1, NULL);
        cn_acts_carry_state(&one);
    }
    CHECK(same, "a sampler with %d threads draws the same 100 characters and logits as one "
                "thread", cn_pool_size(s.pool));
    cn_acts_free(&one);
    cn_sampler_release(&s);
    cn_model_release(&m);
    return check_status();
}
