/* SPDX-License-Identifier: MIT */
/*
 * Sampling: p = softmax(y / temperature) over the logits y, restricted to
 * the top_k most likely characters and then to the smallest set of the
 * most likely holding top_p of what is left (nucleus sampling, Holtzman et
 * al., "The Curious Case of Neural Text Degeneration", 2019), renormalized,
 * then a draw from it; or the argmax. The sampler runs the model one
 * character at a time (T = 1) on B streams at once, stream b with a random
 * generator of its own (seed + b), and feeds each drawn character back as
 * its next input: a stream draws what a one-stream sampler of its seed
 * draws.
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>

/* Index a ranks below index b: a smaller value, or an equal one at a larger
 * index; NaN below every number. */
static int ranks_below(const CnReal *v, int a, int b)
{
    int na = v[a] != v[a], nb = v[b] != v[b];
    if (na != nb)
        return na;
    if (!na && v[a] != v[b])
        return v[a] < v[b];
    return a > b;
}

/* Restores the heap order of h[0..n) below position i: every entry ranks
 * at or above the lowest, h[0]. */
static void sift_down(const CnReal *v, int *h, int n, int i)
{
    for (;;) {
        int low = i, l = 2 * i + 1, r = l + 1;
        if (l < n && ranks_below(v, h[l], h[low]))
            low = l;
        if (r < n && ranks_below(v, h[r], h[low]))
            low = r;
        if (low == i)
            return;
        int t = h[i];
        h[i] = h[low], h[low] = t;
        i = low;
    }
}

/* A heap of the k best so far, the lowest of them at its root: each value
 * either ranks below the root (one comparison) or replaces it (log k);
 * then the heap is emptied from its root into the back of order. */
int cn_top_k(const CnReal *values, int n, int k, int *order)
{
    int count = 0;
    if (k <= 0)
        return 0;
    for (int j = 0; j < n; j++) {
        if (count < k) {
            int i = count++;
            order[i] = j;
            while (i > 0 && ranks_below(values, order[i], order[(i - 1) / 2])) {
                int up = (i - 1) / 2, t = order[i];
                order[i] = order[up], order[up] = t;
                i = up;
            }
        } else if (ranks_below(values, order[0], j)) {
            order[0] = j;
            sift_down(values, order, count, 0);
        }
    }
    for (int end = count - 1; end > 0; end--) {
        int t = order[0];
        order[0] = order[end], order[end] = t;
        sift_down(values, order, end, 0);
    }
    return count;
}

/* A bottom-up merge sort: runs of width 1, 2, 4, ... merged pairwise, the
 * left run first on equal keys. */
void cn_sort_desc(int *order, int n, const double *p, int *tmp)
{
    for (int width = 1; width < n; width *= 2) {
        for (int lo = 0; lo < n; lo += 2 * width) {
            int mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            int i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = p[order[j]] > p[order[i]] ? order[j++] : order[i++];
            while (i < mid)
                tmp[k++] = order[i++];
            while (j < hi)
                tmp[k++] = order[j++];
        }
        memcpy(order, tmp, (size_t)n * sizeof *order);
    }
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
    if (opt->top_p > 0 && opt->top_p < 1) {
        /* keep the most likely until they hold top_p of the sum */
        for (int j = 0; j < V; j++)
            order[j] = j;
        cn_sort_desc(order, V, probs, order + V);
        double kept = 0, want = opt->top_p * sum;
        int k = 0;
        while (k < V && kept < want && probs[order[k]] > 0)
            kept += probs[order[k++]];
        for (; k < V; k++)
            probs[order[k]] = 0;
        sum = kept;
    }
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

size_t cn_sampler_bytes(const CnShape *shape, int streams)
{
    int threads = cn_threads_for(shape, streams, cn_cpu_count());
    size_t acts = cn_acts_bytes(shape, streams, 1, 0, 0, CN_MUL_FP32, threads);
    double total = (double)acts + (double)shape->vocab * (sizeof(double) + 2 * sizeof(int)) +
                   (double)streams * (sizeof(int) + sizeof(CnRng));
    return acts == SIZE_MAX || total >= (double)SIZE_MAX ? SIZE_MAX : (size_t)total;
}

int cn_sampler_init(CnSampler *s, const CnModel *model, int streams, uint64_t seed,
                    CnError *err)
{
    memset(s, 0, sizeof *s);
    s->model = model;
    s->streams = streams;
    /* one character at a time reads every weight once: a model too big for
     * the cache is bound by memory bandwidth, which threads add up */
    int threads = cn_threads_for(&model->shape, streams, cn_cpu_count());
    if (threads > 1 && cn_pool_open(&s->pool, threads, err) != 0)
        return -1;
    if (cn_acts_init(&s->acts, &model->shape, streams, 1, 0, 0, CN_MUL_FP32, s->pool, err) != 0) {
        cn_pool_destroy(s->pool);
        s->pool = NULL;
        return -1;
    }
    s->acts.weights_frozen = 1; /* the model must not change while sampling */
    int V = model->shape.vocab;
    s->probs = malloc((size_t)V * sizeof *s->probs);
    s->order = malloc(2 * (size_t)V * sizeof *s->order);
    s->ids = malloc((size_t)streams * sizeof *s->ids);
    s->rng = malloc((size_t)streams * sizeof *s->rng);
    if (!s->probs || !s->order || !s->ids || !s->rng) {
        cn_sampler_release(s);
        cn_errorf(err, "out of memory for the sampler");
        return -1;
    }
    for (int b = 0; b < streams; b++)
        cn_rng_seed(&s->rng[b], seed + (uint64_t)b);
    return 0;
}

void cn_sampler_reset(CnSampler *s)
{
    cn_acts_reset_state(&s->acts);
    memset(s->acts.logits, 0, (size_t)s->streams * s->model->shape.vocab * sizeof(CnReal));
    s->fed = 0;
}

void cn_sampler_feed_ids(CnSampler *s, const int *ids)
{
    cn_forward(s->model, &s->acts, ids, NULL, 1, NULL);
    cn_acts_carry_state(&s->acts);
    s->fed++;
}

void cn_sampler_feed_id(CnSampler *s, int id)
{
    for (int b = 0; b < s->streams; b++)
        s->ids[b] = id;
    cn_sampler_feed_ids(s, s->ids);
}

int cn_sampler_next(CnSampler *s, int b, const CnSampleOptions *opt)
{
    int V = s->model->shape.vocab;
    return cn_sample_logits(s->acts.logits + (size_t)b * V, V, opt, &s->rng[b], s->probs,
                            s->order);
}

void cn_sampler_release(CnSampler *s)
{
    cn_acts_free(&s->acts);
    cn_pool_destroy(s->pool);
    free(s->probs);
    free(s->order);
    free(s->ids);
    free(s->rng);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------------------- */
/* The public sampler: a handle, text in, characters out. */

CnSampler *cn_sampler_new(const CnModel *model, uint64_t seed, CnError *err)
{
    return cn_sampler_streams(model, 1, seed, err);
}

CnSampler *cn_sampler_streams(const CnModel *model, int streams, uint64_t seed, CnError *err)
{
    CnSampler *s = NULL;
    if (streams < 1)
        cn_errorf(err, "a sampler needs at least 1 stream, not %d", streams);
    else if (!(s = malloc(sizeof *s)))
        cn_errorf(err, "out of memory for the sampler");
    else if (cn_sampler_init(s, model, streams, seed, err) != 0)
        free(s), s = NULL;
    return s;
}

int cn_sampler_feed(CnSampler *s, const char *utf8, size_t n, const char *name, CnError *err)
{
    if (n == 0) { /* no prime: start from a newline, as after a line of the text */
        int id = cn_vocab_index(&s->model->vocab, '\n');
        if (id >= 0)
            cn_sampler_feed_id(s, id);
        return 0;
    }
    int *ids = malloc(n * sizeof *ids), count = -1;
    if (!ids)
        cn_errorf(err, "out of memory for %s", name);
    else
        count = cn_text_ids(&s->model->vocab, utf8, n, name, ids, err);
    for (int i = 0; i < count; i++)
        cn_sampler_feed_id(s, ids[i]);
    free(ids);
    return count < 0 ? -1 : 0;
}

/* The next character of every stream into s->ids, each fed back. */
static void draw_ids(CnSampler *s, const CnSampleOptions *opt)
{
    for (int b = 0; b < s->streams; b++)
        s->ids[b] = cn_sampler_next(s, b, opt);
    cn_sampler_feed_ids(s, s->ids);
}

void cn_sampler_draw_all(CnSampler *s, const CnSampleOptions *opt, uint32_t *out)
{
    draw_ids(s, opt);
    for (int b = 0; b < s->streams; b++)
        out[b] = s->model->vocab.chars[s->ids[b]];
}

uint32_t cn_sampler_draw(CnSampler *s, const CnSampleOptions *opt)
{
    draw_ids(s, opt);
    return s->model->vocab.chars[s->ids[0]];
}

void cn_sampler_free(CnSampler *s)
{
    if (s)
        cn_sampler_release(s);
    free(s);
}

int cn_sample_text(const CnModel *model, const char *prime, size_t n, size_t length,
                   uint64_t seed, double temperature, int top_k, double top_p, char *out,
                   size_t *out_n, CnError *err)
{
    *out_n = 0;
    if (!(temperature > 0) || top_k < 0 || !(top_p >= 0 && top_p <= 1)) {
        cn_errorf(err, "'temperature' must be above 0, 'top-k' at least 0 and 'top-p' in [0, 1]");
        return -1;
    }
    CnSampler *s = cn_sampler_new(model, seed, err);
    if (!s || cn_sampler_feed(s, prime, n, "the prime", err) != 0) {
        cn_sampler_free(s);
        return -1;
    }
    memcpy(out, prime, n);
    size_t at = n;
    CnSampleOptions opt = {.temperature = temperature, .top_k = top_k, .top_p = top_p};
    for (size_t i = 0; i < length; i++)
        at += (size_t)cn_utf8_encode(cn_sampler_draw(s, &opt), out + at);
    out[at] = 0;
    cn_sampler_free(s);
    *out_n = at;
    return 0;
}
