/* SPDX-License-Identifier: MIT */
/*
 * Beam search over characters: keep the `beams` most likely continuations
 * so far, extend each by its `beams` most likely next characters, keep the
 * best `beams` of those, and so on for `length` steps. A hypothesis's
 * score is its total log-probability sum_t ln p_t[c_t], p_t = softmax(y_t)
 * (temperature 1), so the search approximates the most likely continuation
 * of that length; with beams = 1 it takes the most likely character at
 * each step (greedy decoding). A beam can lose the greedy path (a prefix
 * outscored for a while that would have ended better), so a search of
 * several beams also follows the greedy one, as one more stream, and
 * returns the better. The hypotheses are the streams of one sampler: a
 * step runs all of them as one batch, and the carried states are
 * reordered to follow the hypotheses kept. Each step keeps, per
 * hypothesis, only the one it extends and the character it adds; a text is
 * read back at the end. Memory: the sampler's (beams + 1) x V logits, and
 * 8 bytes per hypothesis per step (cn_beam_bytes); time: per step one
 * batch through the model and, per hypothesis, a pass over its V logits.
 */
#include "core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* An extension of a hypothesis: its score, the total ln p of its
 * characters; ties are broken by the hypothesis, then the character's
 * rank in it (its logit, larger first, then its index): the order of
 * candidates taken hypothesis by hypothesis, each one's most likely first. */
typedef struct {
    double score;
    int parent; /* the hypothesis (stream) it extends */
    int id;     /* the character it adds */
    CnReal y;   /* its logit */
} Candidate;

/* Candidate a comes after b. */
static int after(const Candidate *a, const Candidate *b)
{
    if (a->score != b->score)
        return a->score < b->score;
    if (a->parent != b->parent)
        return a->parent > b->parent;
    if (a->y != b->y)
        return a->y < b->y;
    return a->id > b->id;
}

/* The `keep` best candidates of a step, the last of them at the root of a
 * heap: a candidate that comes after the root is dropped at once, so a
 * step's B x V candidates cost O(B V) and room for `keep`. */
typedef struct {
    Candidate *h;
    int n, keep;
} Best;

static void best_sift(Best *q, int i)
{
    for (;;) {
        int last = i, l = 2 * i + 1, r = l + 1;
        if (l < q->n && after(&q->h[l], &q->h[last]))
            last = l;
        if (r < q->n && after(&q->h[r], &q->h[last]))
            last = r;
        if (last == i)
            return;
        Candidate t = q->h[i];
        q->h[i] = q->h[last], q->h[last] = t;
        i = last;
    }
}

static void best_offer(Best *q, const Candidate *c)
{
    if (q->n < q->keep) {
        int i = q->n++;
        q->h[i] = *c;
        while (i > 0 && after(&q->h[i], &q->h[(i - 1) / 2])) {
            Candidate t = q->h[i];
            q->h[i] = q->h[(i - 1) / 2], q->h[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
    } else if (q->keep > 0 && after(&q->h[0], c)) {
        q->h[0] = *c;
        best_sift(q, 0);
    }
}

/* Empties the heap into h[0..n), best first; returns n. */
static int best_sorted(Best *q)
{
    int n = q->n;
    for (int end = n - 1; end > 0; end--) {
        Candidate t = q->h[0];
        q->h[0] = q->h[end], q->h[end] = t;
        q->n = end;
        best_sift(q, 0);
    }
    q->n = 0;
    return n;
}

/* ln sum_j exp(y_j) over V logits, in double. */
static double log_sum_exp(const CnReal *y, int V)
{
    double max = y[0], sum = 0;
    for (int j = 1; j < V; j++)
        max = y[j] > max ? y[j] : max;
    for (int j = 0; j < V; j++)
        sum += exp((double)y[j] - max);
    return max + log(sum);
}

/* Row k of every layer's carried state (h, and c for LSTMs) becomes row
 * parent[k] of before, for k < live (the rows from live on keep theirs);
 * tmp holds (live, H). */
static void follow(CnActs *a, const int *parent, int live, CnReal *tmp)
{
    int B = a->B, H = a->shape.hidden;
    size_t row = (size_t)H * sizeof(CnReal);
    for (int which = 0; which < (a->state_c ? 2 : 1); which++) {
        CnReal *state = which ? a->state_c : a->state_h;
        for (int l = 0; l < a->shape.layers; l++) {
            CnReal *s = state + (size_t)l * B * H;
            for (int k = 0; k < live; k++)
                memcpy(tmp + (size_t)k * H, s + (size_t)parent[k] * H, row);
            memcpy(s, tmp, (size_t)live * row);
        }
    }
}

/* The characters of hypothesis k of step t, ids[0..t]; B: hypotheses a
 * step (the stride of from and tok). */
static void trace_back(const int *from, const int *tok, int B, size_t t, int k, int *ids)
{
    for (size_t step = t + 1; step-- > 0;) {
        ids[step] = tok[step * B + (size_t)k];
        k = from[step * B + (size_t)k];
    }
}

/* Hypothesis b of step len - 1 extended by id ends with the stop string
 * stop[0..nstop) (its last nstop characters, walking back). */
static int ends_with(const int *from, const int *tok, int B, size_t len, int b, int id,
                     const int *stop, int nstop)
{
    if (nstop == 0 || len + 1 < (size_t)nstop || stop[nstop - 1] != id)
        return 0;
    size_t step = len;
    for (int j = nstop - 2; j >= 0; j--) {
        step--;
        if (tok[step * B + (size_t)b] != stop[j])
            return 0;
        b = from[step * B + (size_t)b];
    }
    return 1;
}

size_t cn_beam_bytes(const CnShape *shape, int beams, size_t length)
{
    int S = beams + (beams > 1);
    size_t sampler = cn_sampler_bytes(shape, S);
    double steps = 2.0 * sizeof(int) * S + 2 * sizeof(int) + 4; /* from, tok; best, greedy;
                                                                 the text */
    double total = (double)sampler + steps * (double)length +
                   (double)beams * (sizeof(Candidate) + sizeof(int) + sizeof(double)) +
                   (double)S * (sizeof(int) + shape->hidden * sizeof(CnReal));
    return sampler == SIZE_MAX || total >= (double)SIZE_MAX ? SIZE_MAX : (size_t)total;
}

/* The best of what a search holds after `len` steps: its ended hypothesis
 * (best[0..*best_len), score best_score) or, if better, hypothesis k of
 * the last step (still going, with total `going`); into best, its score
 * returned. */
static double settle(const int *from, const int *tok, int S, size_t len, int k, int going_on,
                     double going, int *best, size_t *best_len, double best_score)
{
    if (going_on && len > 0 && going > best_score) {
        *best_len = len;
        trace_back(from, tok, S, len - 1, k, best);
        return going;
    }
    return best_score;
}

int cn_beam_search_watch(const CnModel *m, const char *prime, size_t n, int beams,
                         size_t length, const char *stop, size_t stop_n, CnBeamFn fn, void *ctx,
                         char **out, size_t *out_n, double *logprob, size_t *done, CnError *err)
{
    int V = m->shape.vocab, B = beams;
    *out = NULL, *out_n = 0, *logprob = NAN;
    if (done)
        *done = 0;
    if (beams < 1 || length < 1 || length > (size_t)1 << 24) {
        cn_errorf(err, "beam search needs 1 or more beams and 1 to 2^24 characters");
        return -1;
    }
    /* streams 0..B-1: the hypotheses; stream G = B (several beams): the
       greedy path, followed beside them */
    int G = beams > 1 ? B : -1, S = B + (beams > 1);
    CnSampler s;
    if (cn_sampler_init(&s, m, S, 0, err) != 0)
        return -1;
    /* the hypotheses of step t (t + 1 characters): from[t S + k] is the
       one of step t - 1 that hypothesis k extends, tok[t S + k] the
       character it adds (column G: the greedy path's); best, greedy
       (length): the best ended one (stop found) of each */
    int *from = malloc((size_t)S * length * sizeof *from), *tok = malloc((size_t)S * length * sizeof *tok);
    int *best = malloc(length * sizeof *best), *greedy = malloc(length * sizeof *greedy);
    int *stop_ids = malloc((stop_n + 1) * sizeof *stop_ids);
    int *parent = malloc((size_t)B * sizeof *parent), *ids = malloc((size_t)S * sizeof *ids);
    double *score = malloc((size_t)B * sizeof *score);
    Best q = {.h = malloc((size_t)B * sizeof *q.h), .keep = B};
    CnReal *tmp = malloc((size_t)B * m->shape.hidden * sizeof *tmp);
    char *text = malloc(4 * length + 1);
    int rc = -1, nstop = 0;
    if (!from || !tok || !best || !greedy || !stop_ids || !parent || !ids || !score || !q.h ||
        !tmp || !text)
        cn_errorf(err, "out of memory for %d beams of %zu characters", beams, length);
    else if (cn_sampler_feed(&s, prime, n, "the prime", err) == 0 &&
             (stop_n == 0 ||
              (nstop = cn_text_ids(&m->vocab, stop, stop_n, "the stop string", stop_ids, err)) > 0))
        rc = 0;
    int live = 1; /* before the first step every stream holds the prime alone */
    int g_live = G >= 0; /* the greedy path goes on */
    size_t len = 0, best_len = 0, g_len = 0;
    double best_score = -INFINITY, g_score = 0, g_best = -INFINITY;
    if (rc == 0)
        score[0] = 0;
    for (; rc == 0 && len < length && (live > 0 || g_live); len++) {
        /* every live hypothesis extended by every character; the best B
           kept (those after them are never taken: once one has ended, the
           next cannot score more). The best B of all B x V are the best B
           of each hypothesis's k = min(B, V) best, as a beam extends. */
        for (int b = 0; b < live; b++) {
            const CnReal *y = s.acts.logits + (size_t)b * V;
            double lse = log_sum_exp(y, V);
            for (int j = 0; j < V; j++) {
                double sc = score[b] + ((double)y[j] - lse);
                if (q.n == q.keep && sc < q.h[0].score)
                    continue; /* most of them: after the B-th best so far */
                Candidate c = {sc, b, j, y[j]};
                best_offer(&q, &c);
            }
        }
        int nc = best_sorted(&q);
        /* the best become the next hypotheses; one that ends with the stop
           string has ended and competes as it is */
        int kept = 0;
        for (int r = 0; r < nc && kept < B; r++) {
            const Candidate *c = &q.h[r];
            if (c->score <= best_score)
                break; /* no continuation of it can score more than an ended one */
            if (ends_with(from, tok, S, len, c->parent, c->id, stop_ids, nstop)) {
                best_score = c->score;
                best_len = len + 1;
                best[len] = c->id;
                if (len > 0)
                    trace_back(from, tok, S, len - 1, c->parent, best);
                continue;
            }
            from[len * S + (size_t)kept] = c->parent;
            tok[len * S + (size_t)kept] = c->id;
            parent[kept] = c->parent;
            score[kept] = c->score;
            ids[kept++] = c->id;
        }
        live = kept;
        if (g_live) { /* the most likely character, as one beam would take it */
            const CnReal *y = s.acts.logits + (size_t)G * V;
            int id;
            cn_top_k(y, V, 1, &id);
            double sc = g_score + ((double)y[id] - log_sum_exp(y, V));
            if (!(sc > g_best)) {
                g_live = 0;
            } else if (ends_with(from, tok, S, len, G, id, stop_ids, nstop)) {
                g_best = sc;
                g_len = len + 1;
                greedy[len] = id;
                if (len > 0)
                    trace_back(from, tok, S, len - 1, G, greedy);
                g_live = 0;
            } else {
                from[len * S + (size_t)G] = G;
                tok[len * S + (size_t)G] = ids[G] = id;
                g_score = sc;
            }
        }
        if (live > 0)
            follow(&s.acts, parent, live, tmp);
        for (int b = live; b < B; b++)
            ids[b] = live > 0 ? ids[0] : 0; /* idle streams: any character */
        if (G >= 0 && !g_live)
            ids[G] = 0;
        if (live > 0 || g_live)
            cn_sampler_feed_ids(&s, ids);
        if (fn && fn(ctx, len + 1, length) != 0) {
            len++;
            rc = 1; /* stopped: the best so far */
            break;
        }
    }
    if (rc >= 0) {
        /* the best of the ended hypotheses and of those still going, and
           the greedy path's, ended or going */
        best_score = settle(from, tok, S, len, 0, live > 0, score[0], best, &best_len,
                            best_score);
        if (G >= 0) {
            g_best = settle(from, tok, S, len, G, g_live, g_score, greedy, &g_len, g_best);
            if (g_best > best_score) { /* the beams lost the greedy path */
                int *swap = best;
                best = greedy, greedy = swap;
                best_len = g_len, best_score = g_best;
            }
        }
        size_t bytes = 0;
        for (size_t t = 0; t < best_len; t++)
            bytes += (size_t)cn_utf8_encode(m->vocab.chars[best[t]], text + bytes);
        text[bytes] = '\0';
        *out = text, *out_n = bytes, *logprob = best_score;
        text = NULL;
        if (done)
            *done = len;
    }
    cn_sampler_release(&s);
    free(from), free(tok), free(best), free(greedy), free(stop_ids), free(parent), free(ids);
    free(score), free(q.h), free(tmp), free(text);
    return rc;
}

int cn_beam_search(const CnModel *m, const char *prime, size_t n, int beams, size_t length,
                   const char *stop, size_t stop_n, char **out, size_t *out_n, double *logprob,
                   CnError *err)
{
    return cn_beam_search_watch(m, prime, n, beams, length, stop, stop_n, NULL, NULL, out, out_n,
                                logprob, NULL, err) < 0 ? -1 : 0;
}
