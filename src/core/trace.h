/* SPDX-License-Identifier: MIT */
/*
 * One forward and one backward pass in double with every quantity kept
 * (src/core/trace.c): what cn_trace prints and what tests/test_trace.c
 * compares with cn_backward. Steps are numbered as in SPEC, t = 1..T, and
 * row t of every per-step array is step t: each has T+2 rows, rows 0 and
 * T+1 zero, so that h_0 = c_0 = 0 and the recursions read the step after
 * the last as nothing. Matrices are the exported ones, [outputs, inputs]
 * row-major (charnn help files, "Exported tensors"); gate block g of a (G, H, ...)
 * array or of a row of G*H values is named cn_gate_name(cell, g).
 *
 * The backward arrays hold the gradient of one loss at a time: the
 * trace's L (the mean or the sum of the steps' J_t = -ln p_t[target_t]),
 * or one J_t alone, the terms a derivation by hand writes out
 * (cn_trace_backward).
 */
#ifndef CHARNN_TRACE_H
#define CHARNN_TRACE_H

#include "core.h"

typedef struct {
    int in;              /* input size: V for layer 0, else H */
    double *Wx, *dWx;    /* (G, H, in) W_x<g> and dL/dW_x<g> */
    double *Wh, *dWh;    /* (G, H, H) W_h<g> */
    double *b, *db;      /* (G, H) b_<g> */
    double *p, *dp;      /* (3, H) peephole vectors w_ci, w_cf, w_co, else NULL */
    double *a;           /* (T+2, G*H) pre-activations a_<g> */
    double *z;           /* (T+2, G*H) gate values σ(a) or tanh(a) (rnn: h_t itself) */
    double *h;           /* (T+2, H) h_t */
    double *c;           /* (T+2, H) c_t (lstm, peephole), else NULL */
    double *dh_out;      /* (T+2, H) dL/dh_t from the output (top layer) or the layer above */
    double *dh_next;     /* (T+2, H) dL/dh_t from step t+1 */
    double *dh;          /* (T+2, H) dL/dh_t, their sum */
    double *dc_h;        /* (T+2, H) dL/dc_t through h_t (and w_co) (lstm, peephole) */
    double *dc_next;     /* (T+2, H) dL/dc_t from step t+1 (lstm, peephole) */
    double *dc;          /* (T+2, H) dL/dc_t, their sum (lstm, peephole) */
    double *delta;       /* (T+2, G*H) δ<g>_t = dL/da_<g> */
} CnTraceLayer;

typedef struct {
    CnShape shape;
    CnTraceOptions opt;  /* the loss's form, the rnn's activation, biases or none */
    int G, T;
    int only;            /* the backward arrays are of J_only alone; 0: of L */
    int *chars;          /* (T+1) vocabulary indices: step t reads chars[t-1], predicts chars[t] */
    CnTraceLayer layer[CN_MAX_LAYERS];
    double *Wy, *dWy;    /* (V, H) W_hy */
    double *by, *dby;    /* (V) b_y */
    double *y, *p, *dy;  /* (T+2, V) y_t, p_t = softmax(y_t), dL/dy_t */
    double *nll;         /* (T+2) J_t = -ln p_t[target_t] */
    double loss;         /* L = (1/T) Σ_t J_t, or Σ_t J_t (opt.sum) */
    double *memory;      /* the one allocation behind the arrays */
} CnTrace;

/* The pass over the characters chars[0..T] (vocabulary indices, T >= 1)
 * from a zero state, without dropout, forward then backward of L; opt
 * (NULL: tanh, biases, the mean) as cn_trace_with takes it (its json and
 * terms are not used here). */
int cn_trace_run(CnTrace *tr, const CnModel *model, const int *chars, int T,
                 const CnTraceOptions *opt, CnError *err);
/* The backward pass again, of J_only = -ln p_only[target_only] alone
 * (1 <= only <= T): dJ/dy_s = p_s - onehot(target_s) at s = only and 0
 * elsewhere, so every dh, dc, delta and weight gradient is J_only's own
 * term; only = 0: of L, as cn_trace_run leaves them. */
void cn_trace_backward(CnTrace *tr, int only);
void cn_trace_release(CnTrace *tr);

#endif /* CHARNN_TRACE_H */
