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
 * several beams also runs the greedy one and returns the better. The hypotheses are the streams of one sampler: a step runs all
 * of them as one batch, and the carried states are reordered to follow the
 * hypotheses kept. Each step keeps, per hypothesis, only the one it
 * extends and the character it adds; a text is read back at the end.
 */
#include "core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* An extension of a hypothesis; its score, the total ln p of its
 * characters, is kept beside it (the key candidates are sorted by). */
typedef struct {
    int parent; /* the hypothesis (stream) it extends */
    int id;     /* the character it adds */
} Candidate;

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
 * parent[k] of before, for k < live; tmp holds (B, H). */
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

/* The characters of hypothesis k of step t, ids[0..t]. */
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

int cn_beam_search(const CnModel *m, const char *prime, size_t n, int beams, size_t length,
                   const char *stop, size_t stop_n, char **out, size_t *out_n, double *logprob,
                   CnError *err)
{
    int V = m->shape.vocab, B = beams, k = beams < V ? beams : V;
    *out = NULL, *out_n = 0, *logprob = NAN;
    if (beams < 1 || length < 1 || length > (size_t)1 << 24) {
        cn_errorf(err, "beam search needs 1 or more beams and 1 to 2^24 characters");
        return -1;
    }
    CnSampler s;
    if (cn_sampler_init(&s, m, B, 0, err) != 0)
        return -1;
    /* the hypotheses of step t (t + 1 characters): from[t B + k] is the
       one of step t - 1 that hypothesis k extends, tok[t B + k] the
       character it adds; best (length): the best ended one (stop found) */
    int *from = malloc((size_t)B * length * sizeof *from), *tok = malloc((size_t)B * length * sizeof *tok);
    int *best = malloc(length * sizeof *best), *stop_ids = malloc((stop_n + 1) * sizeof *stop_ids);
    int *parent = malloc((size_t)B * sizeof *parent), *ids = malloc((size_t)B * sizeof *ids);
    double *score = malloc((size_t)B * sizeof *score);
    Candidate *cand = malloc((size_t)B * k * sizeof *cand);
    double *cscore = malloc((size_t)B * k * sizeof *cscore);
    int *corder = malloc(2 * (size_t)B * k * sizeof *corder);
    CnReal *tmp = malloc((size_t)B * m->shape.hidden * sizeof *tmp);
    char *text = malloc(4 * length + 1);
    int rc = -1, nstop = 0;
    if (!from || !tok || !best || !stop_ids || !parent || !ids || !score || !cand || !cscore ||
        !corder || !tmp || !text)
        cn_errorf(err, "out of memory for %d beams of %zu characters", beams, length);
    else if (cn_sampler_feed(&s, prime, n, "the prime", err) == 0 &&
             (stop_n == 0 ||
              (nstop = cn_text_ids(&m->vocab, stop, stop_n, "the stop string", stop_ids, err)) > 0))
        rc = 0;
    int live = 1; /* before the first step every stream holds the prime alone */
    size_t len = 0, best_len = 0;
    double best_score = -INFINITY;
    if (rc == 0)
        score[0] = 0;
    for (; rc == 0 && len < length && live > 0; len++) {
        /* every live hypothesis extended by its k most likely characters */
        int nc = 0;
        for (int b = 0; b < live; b++) {
            const CnReal *y = s.acts.logits + (size_t)b * V;
            double lse = log_sum_exp(y, V);
            cn_top_k(y, V, k, s.order);
            for (int j = 0; j < k; j++, nc++) {
                cand[nc] = (Candidate){b, s.order[j]};
                cscore[nc] = score[b] + ((double)y[s.order[j]] - lse);
                corder[nc] = nc;
            }
        }
        cn_sort_desc(corder, nc, cscore, corder + nc);
        /* the best become the next hypotheses; one that ends with the stop
           string has ended and competes as it is */
        int kept = 0;
        for (int r = 0; r < nc && kept < B; r++) {
            const Candidate *c = &cand[corder[r]];
            double sc = cscore[corder[r]];
            if (sc <= best_score)
                break; /* no continuation of it can score more than an ended one */
            if (ends_with(from, tok, B, len, c->parent, c->id, stop_ids, nstop)) {
                best_score = sc;
                best_len = len + 1;
                best[len] = c->id;
                if (len > 0)
                    trace_back(from, tok, B, len - 1, c->parent, best);
                continue;
            }
            from[len * B + (size_t)kept] = c->parent;
            tok[len * B + (size_t)kept] = c->id;
            parent[kept] = c->parent;
            score[kept] = sc;
            ids[kept++] = c->id;
        }
        live = kept;
        if (live == 0)
            break;
        follow(&s.acts, parent, live, tmp);
        for (int b = live; b < B; b++)
            ids[b] = ids[0]; /* idle streams: any character */
        cn_sampler_feed_ids(&s, ids);
    }
    if (rc == 0) {
        /* the best of the ended hypotheses and of those still going */
        if (live > 0 && score[0] > best_score) {
            best_len = len;
            trace_back(from, tok, B, len - 1, 0, best);
            best_score = score[0];
        }
        size_t bytes = 0;
        for (size_t t = 0; t < best_len; t++)
            bytes += (size_t)cn_utf8_encode(m->vocab.chars[best[t]], text + bytes);
        text[bytes] = '\0';
        *out = text, *out_n = bytes, *logprob = best_score;
        text = NULL;
    }
    cn_sampler_release(&s);
    free(from), free(tok), free(best), free(stop_ids), free(parent), free(ids), free(score);
    free(cand), free(cscore), free(corder), free(tmp), free(text);
    if (rc == 0 && beams > 1) {
        /* a beam can lose the greedy path (its prefix outscored for a while,
           then falling behind): never return less than it */
        char *greedy;
        size_t greedy_n;
        double greedy_lp;
        if (cn_beam_search(m, prime, n, 1, length, stop, stop_n, &greedy, &greedy_n, &greedy_lp,
                           err) != 0) {
            free(*out);
            *out = NULL;
            return -1;
        }
        if (greedy_lp > *logprob) {
            free(*out);
            *out = greedy, *out_n = greedy_n, *logprob = greedy_lp;
        } else {
            free(greedy);
        }
    }
    return rc;
}
