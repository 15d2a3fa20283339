/* SPDX-License-Identifier: MIT */
/*
 * Sampling: draws follow softmax(logits / temperature) (frequencies over
 * many draws, a fixed seed), top-k never leaves the k most likely,
 * argmax is the maximum, and a sampler is reproducible from its seed.
 * Top-k selection gives the order of the insertion pass it replaced
 * (largest first, ties by lower index) and takes O(n log k).
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

/* The order cn_top_k gave before its heap: an insertion pass, O(n k). */
static int top_k_insertion(const CnReal *values, int n, int k, int *order)
{
    int count = 0;
    for (int j = 0; j < n && k > 0; j++) {
        if (count == k && !(values[j] > values[order[k - 1]]))
            continue;
        int pos = count < k ? count++ : k - 1;
        while (pos > 0 && values[j] > values[order[pos - 1]]) {
            order[pos] = order[pos - 1];
            pos--;
        }
        order[pos] = j;
    }
    return count;
}

/* Random values with many ties (a few levels) or few (a continuum), every
 * k from 0 past n: the heap's order is the insertion pass's. Then the
 * cost: 200,000 values, k = 100,000 (an insertion pass moves some 10^9
 * entries, seconds), and a vocabulary of 100,000 with k = 4,096 as in a
 * beam search. */
static void test_top_k(void)
{
    CnRng rng;
    cn_rng_seed(&rng, 23);
    int agree = 1, tried = 0;
    for (int round = 0; round < 300; round++) {
        int n = 1 + (int)(cn_rng_next(&rng) % 64), levels = round % 3 ? 4 : 1000000;
        CnReal v[64];
        int a[64], b[64];
        for (int j = 0; j < n; j++)
            v[j] = (CnReal)(cn_rng_next(&rng) % (uint64_t)levels) - (CnReal)levels / 2;
        for (int k = 0; k <= n + 1; k++, tried++) {
            int ca = cn_top_k(v, n, k, a), cb = top_k_insertion(v, n, k, b);
            agree &= ca == cb && memcmp(a, b, (size_t)ca * sizeof *a) == 0;
        }
    }
    CHECK(agree, "top-k: %d cases with and without ties give the insertion pass's order "
                 "(largest first, equal values by lower index)", tried);
    const CnReal zeros[3] = {0.0f, -0.0f, 0.0f}, nan_first[3] = {NAN, 1.0f, 2.0f};
    int o[3];
    CHECK(cn_top_k(zeros, 3, 3, o) == 3 && o[0] == 0 && o[1] == 1 && o[2] == 2,
          "top-k: 0 and -0 are equal, in index order");
    CHECK(cn_top_k(nan_first, 3, 2, o) == 2 && o[0] == 2 && o[1] == 1,
          "top-k: a NaN ranks below every number");

    enum { N = 200000 };
    CnReal *big = malloc(N * sizeof *big);
    int *order = malloc(N * sizeof *order);
    for (int j = 0; j < N; j++)
        big[j] = (CnReal)cn_rng_uniform(&rng);
    double t0 = cn_seconds();
    int got = cn_top_k(big, N, N / 2, order);
    double half = cn_seconds() - t0;
    int sorted = got == N / 2;
    for (int i = 1; i < got; i++)
        sorted &= big[order[i - 1]] >= big[order[i]];
    t0 = cn_seconds();
    for (int rep = 0; rep < 10; rep++)
        cn_top_k(big, 100000, 4096, order);
    double beam = (cn_seconds() - t0) / 10;
    CHECK(sorted && half < 2.0 && beam < 0.5,
          "top-k of 200,000 values, k = 100,000: %.3f s (bound 2 s), sorted; of 100,000, "
          "k = 4,096: %.4f s (bound 0.5 s)", half, beam);
    free(big);
    free(order);
}

int main(void)
{
    test_top_k();
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
