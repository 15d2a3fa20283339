/* SPDX-License-Identifier: MIT */
/*
 * Sampling: p = softmax(y / temperature) over the logits y, then a draw
 * from p, from p restricted to the top_k most likely characters, or the
 * argmax. The sampler runs the model one character at a time (B = 1,
 * T = 1) and feeds each drawn character back as the next input.
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>

int cn_top_k(const CnReal *values, int n, int k, int *order)
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

int cn_sample_logits(const CnReal *logits, int V, const CnSampleOptions *opt, CnRng *rng,
                     double *probs, int *order)
{
    int best = 0;
    for (int j = 1; j < V; j++)
        if (logits[j] > logits[best])
            best = j;
    if (opt->argmax)
        return best;
    /* the largest logit gets exp(0) = 1 even where 1/temperature is
       infinite (a temperature of 5e-324): the rest then get exp(-inf) = 0 */
    double max = logits[best], inv_temp = 1 / opt->temperature;
    for (int j = 0; j < V; j++) {
        double d = (double)logits[j] - max;
        probs[j] = d == 0 ? 1 : exp(d * inv_temp);
    }
    if (opt->top_k > 0 && opt->top_k < V) {
        /* mark the top k by negating their probabilities, then zero the rest */
        cn_top_k(logits, V, opt->top_k, order);
        for (int k = 0; k < opt->top_k; k++)
            probs[order[k]] = -probs[order[k]];
        for (int j = 0; j < V; j++)
            probs[j] = probs[j] < 0 ? -probs[j] : 0;
    }
    double sum = 0;
    for (int j = 0; j < V; j++)
        sum += probs[j];
    double u = cn_rng_uniform(rng) * sum, acc = 0;
    int last = best;
    for (int j = 0; j < V; j++) {
        if (probs[j] == 0)
            continue;
        acc += probs[j];
        last = j;
        if (u < acc)
            return j;
    }
    return last; /* u landed on the rounding error at the very top */
}

int cn_sampler_init(CnSampler *s, const CnModel *model, uint64_t seed, CnError *err)
{
    memset(s, 0, sizeof *s);
    s->model = model;
    /* one character at a time reads every weight once: a model too big for
     * the cache is bound by memory bandwidth, which threads add up */
    int threads = cn_threads_for(&model->shape, 1, cn_cpu_count());
    if (threads > 1 && cn_pool_open(&s->pool, threads, err) != 0)
        return -1;
    if (cn_acts_init(&s->acts, &model->shape, 1, 1, 0, 0, s->pool, err) != 0) {
        cn_pool_destroy(s->pool);
        s->pool = NULL;
        return -1;
    }
    s->acts.weights_frozen = 1; /* the model must not change while sampling */
    int V = model->shape.vocab;
    s->probs = malloc((size_t)V * sizeof *s->probs);
    s->order = malloc((size_t)V * sizeof *s->order);
    if (!s->probs || !s->order) {
        cn_sampler_release(s);
        cn_errorf(err, "out of memory for the sampler");
        return -1;
    }
    cn_rng_seed(&s->rng, seed);
    return 0;
}

void cn_sampler_reset(CnSampler *s)
{
    cn_acts_reset_state(&s->acts);
    memset(s->acts.logits, 0, (size_t)s->model->shape.vocab * sizeof(CnReal));
    s->fed = 0;
}

void cn_sampler_feed_id(CnSampler *s, int id)
{
    cn_forward(s->model, &s->acts, &id, NULL, 1, NULL);
    cn_acts_carry_state(&s->acts);
    s->fed++;
}

int cn_sampler_next(CnSampler *s, const CnSampleOptions *opt)
{
    return cn_sample_logits(s->acts.logits, s->model->shape.vocab, opt, &s->rng, s->probs,
                            s->order);
}

void cn_sampler_release(CnSampler *s)
{
    cn_acts_free(&s->acts);
    cn_pool_destroy(s->pool);
    free(s->probs);
    free(s->order);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------------------- */
/* The public sampler: a handle, text in, characters out. */

CnSampler *cn_sampler_new(const CnModel *model, uint64_t seed, CnError *err)
{
    CnSampler *s = malloc(sizeof *s);
    if (!s)
        cn_errorf(err, "out of memory for the sampler");
    else if (cn_sampler_init(s, model, seed, err) != 0)
        free(s), s = NULL;
    return s;
}

int cn_sampler_feed(CnSampler *s, const char *utf8, size_t n, const char *name, CnError *err)
{
    if (n == 0)
        return 0; /* nothing to run */
    CnText text;
    if (cn_text_wrap(&text, utf8, n, name, err) != 0)
        return -1;
    int rc = cn_vocab_covers(&s->model->vocab, &text, name, err);
    for (size_t at = 0; rc == 0 && at < n;)
        cn_sampler_feed_id(s, cn_text_next_id(&s->model->vocab, &text, &at));
    cn_text_release(&text);
    return rc;
}

uint32_t cn_sampler_draw(CnSampler *s, const CnSampleOptions *opt)
{
    int id = cn_sampler_next(s, opt);
    cn_sampler_feed_id(s, id);
    return s->model->vocab.chars[id];
}

void cn_sampler_free(CnSampler *s)
{
    if (s)
        cn_sampler_release(s);
    free(s);
}
