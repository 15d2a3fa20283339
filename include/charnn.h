/* SPDX-License-Identifier: MIT */
/*
 * charnn: character-level language models (vanilla RNN, LSTM, peephole LSTM,
 * GRU) trained with truncated backpropagation through time, in plain C.
 *
 * This is the whole public interface of libcharnn. The equations are in
 * README.md ("The model"). Conventions used throughout:
 *   V = vocabulary size, H = hidden units, L = layers, B = streams (batch),
 *   T = steps per chunk, G = gate blocks per cell (rnn 1, gru 3, lstm 4).
 *   Matrices are row-major. Sequences are time-major: element (t, b) of a
 *   (T, B) array is at index t*B + b.
 * Functions that can fail return 0 on success and -1 on failure, with a
 * one-line message (no trailing newline, no program name) in a CnError.
 */
#ifndef CHARNN_H
#define CHARNN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CHARNN_VERSION "0.1.0"

/* Precision of parameters and activations. The library is float; the test
 * suite also builds it as double (-DCHARNN_DOUBLE) for gradient checks.
 * Checkpoints always store float32. */
#ifdef CHARNN_DOUBLE
typedef double CnReal;
#else
typedef float CnReal;
#endif

enum { CN_MAX_LAYERS = 32, CN_ERRLEN = 320 };

typedef struct {
    char msg[CN_ERRLEN]; /* e.g. "data/x.txt: not valid UTF-8 at byte 1234" */
} CnError;

/* ---------------------------------------------------------------------------
 * Random numbers: xoshiro256** seeded through splitmix64. Deterministic
 * across platforms; its state is saved in checkpoints.
 */
typedef struct {
    uint64_t s[4];
} CnRng;

void cn_rng_seed(CnRng *rng, uint64_t seed);
uint64_t cn_rng_next(CnRng *rng);
double cn_rng_uniform(CnRng *rng); /* [0, 1), 53 random bits */

/* ---------------------------------------------------------------------------
 * UTF-8 and text.
 */

/* Decodes the code point at s[0..n). Returns its length (1..4), or 0 if the
 * bytes there are not valid UTF-8 (overlong forms, surrogates, values above
 * U+10FFFF and truncated sequences are all invalid). */
int cn_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
/* Writes cp as UTF-8 into out (no terminator); returns the length 1..4. */
int cn_utf8_encode(uint32_t cp, char out[4]);

/* A corpus held in memory, known to be valid UTF-8. */
typedef struct {
    const unsigned char *bytes; /* (nbytes) the text */
    size_t nbytes;
    size_t nchars;              /* code points in the text */
    size_t *seek_index;         /* byte offset of every CN_SEEK_STRIDE-th char */
    void *owned;                /* what cn_text_free releases */
    size_t owned_len;
    int mapped;                 /* owned is anonymous memory from mmap */
} CnText;

enum { CN_SEEK_STRIDE = 1024 };

/* Loads a file ("-" reads standard input) into memory of its own (never
 * mapped, so that changes to the file while it is in use change nothing),
 * checks that the content is non-empty, valid UTF-8, and indexes it for
 * seeking. Devices other than terminals are refused, and so is a corpus
 * larger than half of the machine's memory. */
int cn_text_load(CnText *text, const char *path, CnError *err);
/* Several files concatenated in order ("-" for standard input, at most
 * once), each loaded as by cn_text_load. Each must be valid UTF-8; messages
 * name the file. */
int cn_text_load_files(CnText *text, const char *const *paths, int n, CnError *err);
/* Same checks on a caller's buffer, which must outlive the CnText. */
int cn_text_from_memory(CnText *text, const void *data, size_t n, const char *name,
                        CnError *err);
void cn_text_free(CnText *text);
/* Byte offset of code point number char_index (char_index <= nchars). */
size_t cn_text_seek(const CnText *text, size_t char_index);

/* ---------------------------------------------------------------------------
 * Vocabulary: the distinct code points of a corpus, sorted, so that the
 * one-hot position of a character is its rank. Stored in checkpoints.
 */
typedef struct {
    int size;             /* V */
    uint32_t *chars;      /* (V) code points, strictly increasing */
    int32_t small[256];   /* index of code points < 256, or -1 */
} CnVocab;

int cn_vocab_build(CnVocab *vocab, const CnText *text, CnError *err);
/* Takes ownership of chars (V strictly increasing valid code points). */
int cn_vocab_from_chars(CnVocab *vocab, uint32_t *chars, int size, CnError *err);
int cn_vocab_index(const CnVocab *vocab, uint32_t cp); /* -1 if absent */
/* Checks that every character of text is in vocab; names the first that is
 * not, with its byte offset. */
int cn_vocab_covers(const CnVocab *vocab, const CnText *text, const char *name,
                    CnError *err);
void cn_vocab_free(CnVocab *vocab);

/* ---------------------------------------------------------------------------
 * Models.
 */
typedef enum { CN_RNN, CN_LSTM, CN_PEEPHOLE, CN_GRU } CnCell;

const char *cn_cell_name(CnCell cell);              /* "rnn", "lstm", ... */
int cn_cell_parse(const char *name, CnCell *cell);  /* 0, or -1 if unknown */
int cn_cell_gates(CnCell cell);                     /* G */

typedef struct {
    CnCell cell;
    int vocab;  /* V */
    int hidden; /* H */
    int layers; /* L */
} CnShape;

/* Views of one layer's tensors inside a flat array. The internal layout is
 * input-major (the transpose of the exported [outputs, inputs] matrices):
 * row k of Wx holds input unit k's weights to every gate unit, so the
 * one-hot input of layer 0 selects one contiguous row. Gate blocks are
 * ordered lstm/peephole [i f o g], gru [r u n]. */
typedef struct {
    CnReal *Wx;   /* (In, G*H)  In = V for layer 0, else H */
    CnReal *Wh;   /* (H, G*H) */
    CnReal *b;    /* (G*H) */
    CnReal *peep; /* (3*H) p_i, p_f, p_o (peephole only, else NULL) */
} CnLayerView;

typedef struct {
    CnLayerView layer[CN_MAX_LAYERS];
    CnReal *Wy; /* (H, V) output weights, input-major */
    CnReal *by; /* (V) */
} CnView;

/* Number of parameters of a shape, or 0 if the shape is invalid or its size
 * overflows. */
size_t cn_shape_nparams(const CnShape *shape);
/* Values of the state B streams carry between chunks: h, and c for the
 * LSTMs, of every layer, (L, B, H) each. */
size_t cn_state_values(const CnShape *shape, int B);
/* Points the views into a flat array of cn_shape_nparams(shape) values. */
void cn_view_init(CnView *view, const CnShape *shape, CnReal *base);
/* Checks ranges (1 <= H, L <= CN_MAX_LAYERS, ...); message names the field. */
int cn_shape_check(const CnShape *shape, CnError *err);

typedef struct {
    CnShape shape;
    CnVocab vocab;   /* owned; vocab.size == shape.vocab */
    size_t nparams;
    CnReal *params;  /* (nparams) every parameter, one flat array */
    CnView w;        /* views into params */
} CnModel;

/* Allocates a zeroed model and takes ownership of vocab. */
int cn_model_init(CnModel *model, CnCell cell, int hidden, int layers, CnVocab *vocab,
                  CnError *err);
typedef enum { CN_LR_CONSTANT, CN_LR_STEP, CN_LR_COSINE } CnSchedule;

/* Initial weights (cn_model_randomize):
 *   uniform:    every matrix uniform in [-1/sqrt(H), 1/sqrt(H)] (PyTorch's)
 *   orthogonal: each gate block of the recurrent matrices a random
 *               orthogonal matrix; input and output matrices uniform in
 *               [-a, a], a = sqrt(6 / (fan_in + fan_out)) (Glorot)
 * Biases start at 0, the LSTM forget gate's at 1, peepholes at 0. */
typedef enum { CN_INIT_UNIFORM, CN_INIT_ORTHOGONAL } CnInit;

int cn_model_randomize(CnModel *model, CnInit init, CnRng *rng, CnError *err);
const char *cn_init_name(CnInit init);
int cn_init_parse(const char *name, CnInit *init);
void cn_model_free(CnModel *model);

/* ---------------------------------------------------------------------------
 * Threads: a pool of persistent workers that forward and backward passes,
 * training and evaluation split their work over. Results do not depend on
 * the number of threads: work is split along outputs, never along a sum.
 */
typedef struct CnPool CnPool;
typedef void (*CnTask)(void *ctx, int tid, int nthreads);

/* nthreads counts the caller, which takes part in every task. */
int cn_pool_create(CnPool **pool, int nthreads, CnError *err);
void cn_pool_destroy(CnPool *pool);
int cn_pool_size(const CnPool *pool);            /* 1 for NULL */
void cn_pool_run(CnPool *pool, CnTask task, void *ctx); /* NULL: runs task(ctx, 0, 1) */
void cn_pool_barrier(CnPool *pool);              /* inside a task: wait for all threads */
int cn_cpu_count(void);                          /* online processors, at least 1 */
uint64_t cn_physical_memory(void);               /* bytes of memory, 0 if unknown */
/* Threads worth using for a model trained or evaluated on B streams, at most
 * max: one when a step's recurrent product is too small to share, and never
 * more than a layer has panels of units to hand out. */
int cn_threads_for(const CnShape *shape, int B, int max);
const char *cn_kernels_name(void);               /* "avx512", "avx2" or "generic" */

/* ---------------------------------------------------------------------------
 * Forward and backward over a chunk of T steps on B streams (truncated BPTT).
 * CnActs holds the carried state and every activation backward needs; it is
 * allocated once and never grows.
 */
typedef struct {
    CnReal *z;      /* (T, B, G*H) gate values (post-activation) */
    CnReal *h;      /* (T+1, B, H) h[0] is the carried-in state */
    CnReal *c;      /* (T+1, B, H) cell state, c[0] carried in (lstm, peephole) */
    CnReal *tanh_c; /* (T, B, H) tanh(c_t) (lstm, peephole) */
    CnReal *rh;     /* (T, B, H) r_t * h_{t-1} (gru) */
    CnReal *x;      /* (T, B, H) input after dropout (layers > 0; may alias h of below) */
    CnReal *mask;   /* (T, B, H) dropout mask, 0 or 1/(1-p) (layers > 0, training) */
} CnLayerActs;

/* Where a training step's time goes (charnn bench). Point CnActs.profile at
 * one and thread 0 adds the seconds of every phase it runs to seconds[]; a
 * phase's share of thread 0's time is its share of the step, since the
 * threads split every phase evenly and wait for each other at its end. */
typedef enum {
    CN_PHASE_RECURRENT, /* recurrent products h_{t-1} Wh, their backward, dWh */
    CN_PHASE_CELL,      /* the rest of each step: gates, states, their derivatives */
    CN_PHASE_INPUT,     /* input lookups and projections, dropout, dWx */
    CN_PHASE_OUTPUT,    /* output layer: logits, softmax and loss, backward, dWy */
    CN_PHASE_UPDATE,    /* gradient norm, clipping, the optimizer */
    CN_PHASE_OTHER,     /* packing weights, zeroing gradients, fetching text */
    CN_PHASES
} CnPhase;
typedef struct {
    double seconds[CN_PHASES];
    double lap; /* when the running phase started */
} CnProfile;
const char *cn_phase_name(CnPhase phase);

/* A weight matrix copied into the panel layout the matrix kernels read. */
typedef struct {
    CnReal *p;
    int K, width, nblk; /* K rows; nblk blocks of `width` columns */
} CnPacked;

typedef struct {
    CnShape shape;
    int B, T;
    int steps;               /* steps of the last forward */
    double dropout;          /* p, applied to every layer's output when training */
    int train;               /* 1: buffers for backward exist */
    int dropped;             /* the last forward drew dropout masks */
    int weights_frozen;      /* 1: parameters fixed while in use; pack them once */
    const CnReal *packed_from; /* parameters the forward copies were packed from */
    CnPool *pool;            /* borrowed; NULL: one thread */
    CnLayerActs layer[CN_MAX_LAYERS];
    CnReal *state_h;         /* (L, B, H) state carried between chunks */
    CnReal *state_c;         /* (L, B, H) (lstm, peephole); follows state_h in memory */
    CnReal *top_x;           /* (T, B, H) the top layer's output after dropout, the
                                output layer's input (training with dropout) */
    CnReal *top_mask;        /* (T, B, H) its dropout mask */
    CnReal *logits;          /* (T, B, V) logits; probabilities after a loss */
    double *loss_rows;       /* (T, B) -log p[target] of each prediction */
    CnPacked wx[CN_MAX_LAYERS], wh[CN_MAX_LAYERS], wy; /* forward operands */
    CnPacked wx_t[CN_MAX_LAYERS], wh_t[CN_MAX_LAYERS], whn_t[CN_MAX_LAYERS], wy_t;
    CnReal *dz;              /* (T, B, G*H) backward scratch */
    CnReal *dH;              /* (T, B, H) gradient arriving at a layer's outputs */
    CnReal *dh;              /* (B, H) */
    CnReal *dc;              /* (B, H) */
    CnReal *drh;             /* (B, H) */
    CnReal *carry;           /* (T, B) factors of the gradient carried from step t to
                                t-1 in stream b: 0 or 1/pi (randomized truncation) */
    int carry_on;            /* the next backward applies them */
    double grad_scale;       /* dloss/dlogit scale: 1/(steps*B) when 0; a shard of a
                                bigger batch uses 1/(steps*whole batch) */
    int stream_first;        /* the number of stream 0 of these B in the whole batch
                                (a shard's first stream; 0 alone) */
    uint64_t mask_key;       /* keys the last forward's dropout masks */
    CnProfile *profile;      /* NULL, or where thread 0 adds up the phases' time */
    CnReal *scratch;         /* (threads, scratch_per_thread) packing buffers */
    size_t scratch_per_thread;
    CnReal *memory;          /* the one allocation behind all of the above */
    size_t nmemory;
} CnActs;

/* Bytes cn_acts_init would allocate for `threads` threads (0 on overflow). */
size_t cn_acts_bytes(const CnShape *shape, int B, int T, double dropout, int train,
                     int threads);
/* train = 0 allocates only what a forward pass needs (evaluation, sampling).
 * pool (borrowed, may be NULL) splits the work between threads. */
int cn_acts_init(CnActs *acts, const CnShape *shape, int B, int T, double dropout, int train,
                 CnPool *pool, CnError *err);
void cn_acts_free(CnActs *acts);
void cn_acts_reset_state(CnActs *acts); /* zero state, as at the start of a stream */
void cn_acts_carry_state(CnActs *acts); /* state <- the last forward's final state */

/* Runs `steps` (1..T) steps from the carried state. ids and targets are
 * (steps, B). Dropout masks are drawn from rng when it is non-NULL and the
 * acts were made for training; rng NULL means evaluation. With targets, turns
 * logits into probabilities and returns the summed loss -log p[target] over
 * the steps*B predictions; without, leaves logits and returns 0. */
double cn_forward(const CnModel *model, CnActs *acts, const int *ids, const int *targets,
                  int steps, CnRng *rng);
/* Backpropagates the mean loss (1/(steps*B)) * sum of the last forward.
 * Accumulates (+=) into grads, a flat array laid out like model->params. */
void cn_backward(const CnModel *model, CnActs *acts, const int *ids, const int *targets,
                 CnReal *grads);

/* Finite-difference check of cn_backward. A random model of `shape` (every
 * parameter, bias and peephole uniform in [-0.5, 0.5]), random inputs and
 * targets on B streams for T steps, a random carried-in state and fixed
 * dropout masks: each parameter's analytic gradient is compared with the
 * fourth-order central difference
 *     (-L(w+2e) + 8 L(w+e) - 8 L(w-e) + L(w-2e)) / 12e
 * of the mean loss L. The relative error |a - n| / max(|a| + |n|, floor)
 * of the worst entry of each tensor goes into out[0..returned count). In
 * double precision (e = 1e-3, floor 1e-6) a correct gradient is within
 * 1e-6; in float (e = 1e-2, floor 1e-3) within about 1e-2. */
typedef struct {
    char name[24];   /* internal tensor: "l0.Wx", "l1.peep", "Wy", ... */
    size_t entries;
    double worst;    /* largest relative error */
} CnGradcheck;

int cn_gradcheck(const CnShape *shape, int B, int T, double dropout, uint64_t seed,
                 CnGradcheck *out, int max, CnError *err);

/* ---------------------------------------------------------------------------
 * Gradient clipping and optimizers; each is one loop over the flat arrays.
 */
void cn_clip_value(CnReal *g, size_t n, double v);     /* g_i <- clamp(g_i, -v, v) */
double cn_grad_norm(const CnReal *g, size_t n);        /* ||g||_2, summed in double */
void cn_clip_norm(CnReal *g, size_t n, double norm, double max_norm); /* g *= min(1, max/norm) */

typedef enum { CN_SGD, CN_MOMENTUM, CN_NESTEROV, CN_ADAGRAD, CN_RMSPROP, CN_ADAM } CnOptimKind;

const char *cn_optim_name(CnOptimKind kind);
int cn_optim_parse(const char *name, CnOptimKind *kind);
int cn_optim_slots(CnOptimKind kind); /* state arrays: sgd 0, adam 2, others 1 */

typedef struct {
    CnOptimKind kind;
    double lr;         /* alpha */
    double momentum;   /* mu (momentum, nesterov) */
    double beta1;      /* adam */
    double beta2;      /* adam */
    double eps;        /* adagrad, rmsprop, adam */
    double decay_rate; /* rho (rmsprop) */
} CnOptimConfig;

typedef struct {
    CnOptimConfig cfg;
    size_t n;         /* parameters */
    uint64_t t;       /* updates done */
    CnReal *state;    /* (slots * n): momentum/nesterov v; adagrad m; rmsprop r; adam m, s */
} CnOptim;

int cn_optim_init(CnOptim *opt, const CnOptimConfig *cfg, size_t n, CnError *err);
void cn_optim_step(CnOptim *opt, CnReal *w, const CnReal *g); /* t <- t+1, then update w */
/* The update of elements [i0, i1) at the current t, for splitting one step
 * between threads (cn_optim_step is opt->t++ then this over all of w). */
void cn_optim_update(const CnOptim *opt, CnReal *w, const CnReal *g, size_t i0, size_t i1);
void cn_optim_free(CnOptim *opt);

/* ---------------------------------------------------------------------------
 * Sampling: p = softmax(logits / temperature), then draw (or argmax, or draw
 * among the top_k most likely).
 */
typedef struct {
    double temperature; /* > 0 */
    int top_k;          /* 0: all */
    int argmax;         /* 1: always the most likely */
} CnSampleOptions;

/* Picks an index from V logits. probs is (V) scratch, order (V) scratch used
 * by top_k. */
int cn_sample_logits(const CnReal *logits, int V, const CnSampleOptions *opt, CnRng *rng,
                     double *probs, int *order);

/* A sampler reads its model's parameters once (packed for the kernels):
 * the model must not change while the sampler is in use. */
typedef struct {
    const CnModel *model;
    CnPool *pool;    /* threads sharing each step (models big enough); NULL: one */
    CnActs acts;     /* B = 1, T = 1 */
    CnRng rng;
    double *probs;   /* (V) */
    int *order;      /* (V) */
    int fed;         /* characters fed since reset */
} CnSampler;

int cn_sampler_init(CnSampler *s, const CnModel *model, uint64_t seed, CnError *err);
void cn_sampler_reset(CnSampler *s);          /* zero state */
void cn_sampler_feed(CnSampler *s, int id);   /* one step; logits ready for next */
int cn_sampler_next(CnSampler *s, const CnSampleOptions *opt);
void cn_sampler_free(CnSampler *s);

/* ---------------------------------------------------------------------------
 * Training: B contiguous streams over the training text, the next T
 * characters of each per iteration, state carried between chunks, a zero
 * state and the streams' first characters at every epoch start.
 */
typedef struct {
    int batch;            /* B */
    int seq_length;       /* T */
    CnOptimConfig optim;
    double clip_value;    /* 0: off */
    double clip_norm;     /* 0: off */
    double dropout;       /* on each layer's output, into the next layer or the output */
    double val_frac;      /* held-out tail of the corpus; 0: none */
    uint64_t seed;
    uint64_t max_iters;   /* the run's target, kept so a resume continues it */
    CnSchedule schedule;  /* learning rate over the run (cn_schedule_lr) */
    uint64_t warmup;      /* iterations of linear warm-up; 0: none */
    double lr_decay;      /* step: factor per epoch ... */
    double lr_decay_after;/* ... once this many epochs are done */
    double lr_min;        /* cosine: the floor it decays to */
    double bptt_random;   /* pi in (0, 1): carried gradients survive a step with
                             this probability, scaled by 1/pi; 0 or 1: off */
    CnInit init;          /* how the weights were initialised */
    double time_budget;   /* seconds of training; 0: none (the CLI stops on it) */
} CnTrainConfig;

/* The learning rate at an iteration: the base lr of cfg->optim, times
 *   step:   lr_decay ^ (whole epochs done after lr_decay_after)
 *   cosine: the cosine from 1 down to lr_min / lr over `fraction` in [0, 1],
 *           the share of the run done (iterations of max_iters, or time of
 *           the budget)
 * times the linear warm-up (iteration + 1) / warmup over the first warmup
 * iterations. */
double cn_schedule_lr(const CnTrainConfig *cfg, uint64_t iteration, double epoch,
                      double fraction);
const char *cn_schedule_name(CnSchedule schedule);
int cn_schedule_parse(const char *name, CnSchedule *schedule);

/* Everything a checkpoint holds besides the model. */
typedef struct {
    CnTrainConfig cfg;
    uint64_t iteration;     /* iterations completed */
    uint64_t epoch;         /* epochs completed */
    uint64_t chunk;         /* next chunk of the epoch */
    uint64_t corpus_bytes;  /* the training corpus, so a resume can check it */
    uint32_t corpus_crc;
    double smooth_loss;     /* EMA 0.99/0.01 of the loss, from ln V */
    double last_loss;
    double val_loss;        /* last validation loss; NaN if none */
    double best_val_loss;   /* NaN if none */
    uint64_t best_iteration; /* where best_val_loss was measured */
    uint64_t run;           /* which run this is: a hash of its starting point
                               (initial parameters, corpus and configuration),
                               set by cn_trainer_init and kept by a resume;
                               0: unknown (a version 1 checkpoint) */
    uint32_t version;       /* format version of the file it was loaded from */
    double train_seconds;   /* wall time spent training, summed over runs */
    CnRng rng;              /* dropout (and initialisation) stream */
    uint64_t optim_t;
    size_t optim_len;
    CnReal *optim_state;    /* (optim_len) */
    size_t state_len;
    CnReal *state;          /* (state_len) carried h then c, (L, B, H) each */
} CnTrainState;

void cn_train_state_free(CnTrainState *st);

/* ---------------------------------------------------------------------------
 * Checkpoints: a little-endian binary file, documented in README.md, with a
 * CRC-32 over everything; written to a temporary file, flushed, synced and
 * renamed over the old one, so the previous checkpoint survives any failure.
 * Loading checks the size the header implies before reading the rest.
 */
enum { CN_CHECKPOINT_VERSION = 2 };

int cn_checkpoint_save(const char *path, const CnModel *model, const CnTrainState *st,
                       CnError *err);
/* The temporary file a save of path writes first: "PATH.PID.tmp", unique to
 * the process. Returns -1 if it does not fit in n bytes. */
int cn_temp_path(const char *path, char *tmp, size_t n);
/* Loads and verifies everything. st may be NULL when only the model is needed. */
int cn_checkpoint_load(const char *path, CnModel *model, CnTrainState *st, CnError *err);
/* The same from memory (name is used in messages). */
int cn_checkpoint_parse(const void *data, size_t n, const char *name, CnModel *model,
                        CnTrainState *st, CnError *err);
/* The encoded checkpoint in a malloc'd buffer. */
int cn_checkpoint_encode(const CnModel *model, const CnTrainState *st, unsigned char **out,
                         size_t *n, CnError *err);
uint32_t cn_crc32(uint32_t crc, const void *data, size_t n); /* start with crc = 0 */

/* Writes the model as JSON (tensor names and [outputs, inputs] layouts of the
 * README's "Exported tensors"). Returns 0, or -1 on a write error. */
int cn_export_json(FILE *out, const CnModel *model);

/* ---------------------------------------------------------------------------
 * The trainer: model, optimizer, data streams and buffers of one run.
 */
/* Data parallelism: several processes train one run, each its own streams
 * [first, first + count) of the run's cfg.batch. Each normalises its loss by
 * the whole batch, draws the random numbers of the whole batch (so dropout
 * masks and the generator's state are those of a single process), and after
 * its backward pass calls reduce, which must sum grads (n values) and the
 * scalars (the loss) over all processes in place, the same on every one.
 * Clipping and the update then run identically everywhere, so parameters
 * stay equal without being sent. A checkpoint holds the whole batch's state
 * (cn_state_place), so it resumes on any number of processes. */
typedef struct {
    int first, count;
    void (*reduce)(void *ctx, CnReal *grads, size_t n, double *scalars, int nscalars);
    void *ctx;
} CnShard;

typedef struct {
    CnModel *model;          /* borrowed */
    const CnText *text;      /* borrowed */
    CnTrainState st;
    CnPool *pool;            /* owned */
    CnActs acts;
    CnOptim optim;
    CnReal *grads;           /* (nparams) */
    double *partials;        /* per-block sums for the gradient norm */
    size_t n_train, n_val;   /* characters in the training head and validation tail */
    size_t stream_len;       /* characters each stream predicts per epoch */
    uint64_t chunks_per_epoch;
    CnShard shard;           /* this process's streams: all of them when alone */
    size_t *stream_start;    /* (count) byte offset of each stream's first character */
    size_t *cursor;          /* (count) byte offset of each stream's next chunk */
    int *ids;                /* (T, B) */
    int *targets;            /* (T, B) */
    double last_grad_norm;   /* before clipping */
    double lr;               /* learning rate of the last step */
    double budget_fraction;  /* share of a time budget used, set by the caller before
                                each step; negative: the schedule follows iterations */
} CnTrainer;


/* Sets up a run on `threads` threads (results do not depend on the count),
 * for the streams of shard (NULL: all of them, alone). st holds the
 * configuration and, when resuming, the saved progress (its arrays are taken
 * over); its corpus fields are filled in. The model's vocabulary must cover
 * text. */
int cn_trainer_init(CnTrainer *tr, CnModel *model, const CnText *text, CnTrainState *st,
                    int resume, int threads, const CnShard *shard, CnError *err);
/* Bytes of memory a run would allocate besides the corpus, 0 on overflow. */
size_t cn_trainer_bytes(const CnShape *shape, const CnTrainConfig *cfg, int threads);

typedef enum { CN_STEP_OK = 0, CN_STEP_DIVERGED = 1, CN_STEP_BAD_TEXT = 2 } CnStepResult;

/* Losses above this (nats/char) count as divergence: a uniform guess over
 * all of Unicode costs ln(0x110000) = 13.9. */
#define CN_LOSS_LIMIT 1e4

/* One iteration: next chunk, forward, backward, clip, update, advance. If the
 * loss is not finite or above CN_LOSS_LIMIT, or the gradient is not finite,
 * returns CN_STEP_DIVERGED and changes nothing (parameters, state, RNG and
 * position stay those of the last good step). If the update itself makes a
 * parameter non-finite, also returns CN_STEP_DIVERGED; the parameters are
 * then lost, and cn_trainer_save refuses to write them. Returns
 * CN_STEP_BAD_TEXT, changing nothing, if the text holds a character outside
 * the vocabulary (text changed after cn_trainer_init checked it). */
CnStepResult cn_trainer_step(CnTrainer *tr, double *loss);
/* Mean loss (nats/char) over the validation tail, NaN without one. */
double cn_trainer_validate(CnTrainer *tr, CnError *err);
/* Saves model and progress (the trainer's own optimizer and state arrays). */
int cn_trainer_save(CnTrainer *tr, const char *path, CnError *err);
/* The same with the carried state of the whole batch (a shard's caller
 * gathers it): state_len values laid out as in CnTrainState. */
int cn_trainer_save_state(CnTrainer *tr, const char *path, const CnReal *state,
                          size_t state_len, CnError *err);
/* Copies a shard's carried state (local: h then c, (L, count, H) each) into
 * its rows of the whole batch's (global: (L, batch, H) each). */
void cn_state_place(CnReal *global, const CnReal *local, const CnShape *shape, int batch,
                    int first, int count);
double cn_trainer_epoch(const CnTrainer *tr); /* epochs done, as a fraction */
void cn_trainer_free(CnTrainer *tr);

/* Mean loss (nats/char) of a model over text[from, from+n) characters, run
 * as `streams` contiguous streams from a zero state in chunks of up to T
 * steps, state carried throughout; streams = 1 scores all n-1 predictions.
 * pool may be NULL. *count receives the number of predictions. */
double cn_evaluate(const CnModel *model, const CnText *text, size_t from, size_t n,
                   int streams, int T, CnPool *pool, size_t *count, CnError *err);

#endif /* CHARNN_H */
