/* SPDX-License-Identifier: MIT */
/*
 * The library's own types and functions behind the public handles of
 * include/charnn.h: text and vocabulary, the model and its views, activation
 * buffers and passes, optimizers, the sampler, checkpoints and the trainer.
 * Not part of the public interface: they change with the kernels.
 * Conventions: V vocabulary, H hidden units, L layers, B streams, T steps,
 * G gate blocks per cell (rnn 1, gru 3, lstm 4). Matrices are row-major;
 * sequences time-major: element (t, b) of a (T, B) array is at t*B + b.
 */
#ifndef CHARNN_CORE_H
#define CHARNN_CORE_H

#include "charnn.h"
#include "charnn_tools.h"
#include "kernels.h"
#include "os.h"

/* A corpus held in memory, known to be valid UTF-8. */
struct CnText {
    const unsigned char *bytes; /* (nbytes) the text */
    size_t nbytes;
    size_t nchars;              /* code points in the text */
    size_t *seek_index;         /* byte offset of every CN_SEEK_STRIDE-th char */
    void *owned;                /* what cn_text_free releases */
    size_t owned_len;
    int mapped;                 /* owned is anonymous memory from mmap */
};

enum { CN_SEEK_STRIDE = 1024 };

/* cn_text_load into a caller's CnText. */
int cn_text_read(CnText *text, const char *const *paths, int n, CnError *err);
/* Same checks on a caller's buffer, which must outlive the CnText. */
int cn_text_wrap(CnText *text, const void *data, size_t n, const char *name,
                        CnError *err);
void cn_text_release(CnText *text);
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
/* The characters of a and of b, increasing, into out. */
int cn_vocab_union(CnVocab *out, const CnVocab *a, const CnVocab *b, CnError *err);
/* 1 with the byte offset (*at) and code point (*cp) of the first character
 * of text outside vocab; 0 when vocab covers text. */
int cn_vocab_missing(const CnVocab *vocab, const CnText *text, size_t *at, uint32_t *cp);
/* Checks that every character of text is in vocab; names the first that is
 * not, with its byte offset. */
int cn_vocab_covers(const CnVocab *vocab, const CnText *text, const char *name,
                    CnError *err);
void cn_vocab_release(CnVocab *vocab);

/* ---------------------------------------------------------------------------
 * Models.
 */
/* names[i], or "?" past the table's end */
const char *cn_name_of(const char *const *names, int i);

/* Views of one layer's tensors inside a flat array. The internal layout is
 * input-major (the transpose of the exported [outputs, inputs] matrices):
 * row k of Wx holds input unit k's weights to every gate unit, so the
 * one-hot input of layer 0 selects one contiguous row. Gate blocks are
 * ordered lstm/peephole [i f o g], gru [r u n]. */
typedef struct {
    CnReal *Wx;   /* (In, G*H)  In = V for layer 0, else H */
    CnReal *Wh;   /* (H, G*H) */
    CnReal *b;    /* (G*H) */
    CnReal *peep; /* (3*H) w_ci, w_cf, w_co (peephole only, else NULL) */
} CnLayerView;

typedef struct {
    CnLayerView layer[CN_MAX_LAYERS];
    CnReal *Wy; /* (H, V) output weights, input-major */
    CnReal *by; /* (V) */
} CnView;

/* Number of parameters of a shape, or 0 if the shape is invalid or its size
 * overflows. */
size_t cn_shape_nparams(const CnShape *shape);
/* Points the views into a flat array of cn_shape_nparams(shape) values. */
void cn_view_init(CnView *view, const CnShape *shape, CnReal *base);
/* Checks ranges (1 <= H, L <= CN_MAX_LAYERS, ...); message names the field. */
int cn_shape_check(const CnShape *shape, CnError *err);

struct CnModel {
    CnShape shape;
    CnVocab vocab;   /* owned; vocab.size == shape.vocab */
    size_t nparams;
    CnReal *params;  /* (nparams) every parameter, one flat array */
    CnView w;        /* views into params */
};

/* Allocates a zeroed model and takes ownership of vocab. */
int cn_model_init(CnModel *model, CnCell cell, int hidden, int layers, CnVocab *vocab,
                  CnError *err);
/* Initial weights (cn_model_randomize):
 *   uniform:    every matrix uniform in [-1/sqrt(H), 1/sqrt(H)] (PyTorch's)
 *   orthogonal: each gate block of the recurrent matrices a random
 *               orthogonal matrix; input and output matrices uniform in
 *               [-a, a], a = sqrt(6 / (fan_in + fan_out)) (Glorot)
 * Biases start at 0, the LSTM forget gate's at 1, peepholes at 0. */
int cn_model_randomize(CnModel *model, CnInit init, CnRng *rng, CnError *err);
/* Every parameter uniform in [-0.5, 0.5), biases and peepholes too (training
 * starts them at 0 or 1): the gradient check's and the trace's models, in
 * which every term of the equations shows. */
void cn_model_draw(CnModel *model, CnRng *rng);
/* Every parameter of from into to, a model of the same cell, hidden size and
 * layers whose vocabulary holds every character of from's: a character's
 * input weights (its row of layer 0's Wx), output weights (its column of Wy)
 * and output bias move to its index in to's vocabulary; to's other
 * characters keep theirs. */
void cn_model_transplant(CnModel *to, const CnModel *from);
void cn_model_release(CnModel *model);

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
    /* training with bf16 products: the products' inputs rounded once, where they
       are made (rows of H in round_rows' layout), else NULL */
    CnReal *hr;     /* (T+1, B, H) h */
    CnReal *xr;     /* (T, B, H) x (with dropout) */
} CnLayerActs;


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
    CnReal *top_xr;          /* (T, B, H) top_x rounded (bf16 products), or NULL */
    CnReal *rhr;             /* (B, H) gru: r_t * h_{t-1} rounded (bf16 products), or NULL */
    CnReal *dzr;             /* (T, B, G*H) dz rounded (bf16 products, H even), or NULL */
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
    void (*ready)(void *ctx, CnReal *grads, size_t offset, size_t n); /* CnShard's */
    void *ready_ctx;
    CnMul mul;               /* how training's products multiply */
    CnReal *apack;           /* (threads, CN_MC x CN_KC) bf16 rows of A (training) */
    CnReal *memory;          /* the one allocation behind all of the above */
    size_t nmemory;
} CnActs;

/* Bytes cn_acts_init would allocate for `threads` threads (SIZE_MAX on overflow). */
size_t cn_acts_bytes(const CnShape *shape, int B, int T, double dropout, int train, CnMul mul,
                     int threads);
/* train = 0 allocates only what a forward pass needs (evaluation, sampling);
 * training's products multiply as mul says (evaluation's in fp32). pool
 * (borrowed, may be NULL) splits the work between threads. */
int cn_acts_init(CnActs *acts, const CnShape *shape, int B, int T, double dropout, int train,
                 CnMul mul, CnPool *pool, CnError *err);
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

/* ---------------------------------------------------------------------------
 * Gradient clipping and optimizers; each is one loop over the flat arrays.
 */
/* The one path of clipping, the trainer's and the tests': clip by value
 * each block of CN_NORM_BLOCK gradients, take its cn_sumsq, add the blocks'
 * sums in order into the norm (cn_norm_of_blocks), and scale every block by
 * cn_clip_scale (cn_scale). The trainer's threads take blocks of their own;
 * cn_grad_norm is the same, block after block. */
void cn_clip_value(CnReal *g, size_t n, double v);      /* g_i <- clamp(g_i, -v, v) */
double cn_norm_of_blocks(const double *sums, size_t nblocks); /* sqrt of their sum, in order */
double cn_grad_norm(const CnReal *g, size_t n);         /* ||g||_2 of a whole array */
double cn_clip_scale(double norm, double max_norm);     /* min(1, max/norm); 1 when max is 0 */
void cn_scale(CnReal *g, size_t n, double s);           /* g_i <- s g_i */

int cn_optim_slots(CnOptimKind kind); /* state arrays: sgd 0, adam 2, others 1 */

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

/* Picks an index from V logits (sample.c). probs is (V) scratch, order
 * (2V) scratch for top-k and top-p. */
int cn_sample_logits(const CnReal *logits, int V, const CnSampleOptions *opt, CnRng *rng,
                     double *probs, int *order);
/* order[0..n) sorted so that key[order[i]] descends, equal keys in their
 * order (a stable merge sort; tmp (n) scratch): top-p's characters, beam
 * search's candidates. */
void cn_sort_desc(int *order, int n, const double *key, int *tmp);

/* A sampler reads its model's parameters once (packed for the kernels):
 * the model must not change while the sampler is in use. */
struct CnSampler {
    const CnModel *model;
    CnPool *pool;    /* threads sharing each step (models big enough); NULL: one */
    CnActs acts;     /* B = streams, T = 1 */
    int streams;
    CnRng *rng;      /* (streams) stream b's from seed + b */
    double *probs;   /* (V) */
    int *order;      /* (2V) */
    int *ids;        /* (streams) the characters fed last */
    int fed;         /* steps fed since reset */
};

int cn_sampler_init(CnSampler *s, const CnModel *model, int streams, uint64_t seed,
                    CnError *err);
void cn_sampler_reset(CnSampler *s);                 /* zero state */
void cn_sampler_feed_ids(CnSampler *s, const int *ids); /* one step, ids (streams) */
void cn_sampler_feed_id(CnSampler *s, int id);       /* one step, id to every stream */
int cn_sampler_next(CnSampler *s, int b, const CnSampleOptions *opt); /* stream b's draw */
void cn_sampler_release(CnSampler *s);

/* The learning rate at an iteration: the base lr of cfg->optim, times
 *   step:   lr_decay ^ (whole epochs done after lr_decay_after)
 *   cosine: the cosine from 1 down to lr_min / lr over `fraction` in [0, 1],
 *           the share of the run done (iterations of max_iters, or time of
 *           the budget)
 * times the linear warm-up (iteration + 1) / warmup over the first warmup
 * iterations. */
double cn_schedule_lr(const CnTrainConfig *cfg, uint64_t iteration, double epoch,
                      double fraction);

/* Everything a checkpoint holds besides the model. */
typedef struct {
    CnTrainConfig cfg;
    CnProgress p;
    CnRng rng;              /* dropout (and initialisation) stream */
    uint64_t optim_t;
    size_t optim_len;
    CnReal *optim_state;    /* (optim_len) */
    size_t state_len;
    CnReal *state;          /* (state_len) carried h then c, (L, B, H) each */
} CnTrainState;

void cn_train_state_free(CnTrainState *st);

/* ---------------------------------------------------------------------------
 * Checkpoints (src/core/checkpoint.c).
 */
struct CnCheckpoint {
    CnModel model;
    CnTrainState st; /* cfg.batch 0 for a model saved alone */
};

int cn_checkpoint_save(const char *path, const CnModel *model, const CnTrainState *st,
                       CnError *err);
/* Loads and verifies everything. st may be NULL when only the model is needed. */
int cn_checkpoint_read(const char *path, CnModel *model, CnTrainState *st, CnError *err);
/* The same from memory (name is used in messages). */
int cn_checkpoint_parse(const void *data, size_t n, const char *name, CnModel *model,
                        CnTrainState *st, CnError *err);
/* The encoded checkpoint in a malloc'd buffer. */
int cn_checkpoint_encode(const CnModel *model, const CnTrainState *st, unsigned char **out,
                         size_t *n, CnError *err);
uint32_t cn_crc32(uint32_t crc, const void *data, size_t n); /* start with crc = 0 */

struct CnTrainer {
    CnModel *model;          /* borrowed, or owned (own_model) */
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
    int own_model;           /* the model is freed with the trainer */
};


/* Sets up a run on `threads` threads (results do not depend on the count),
 * for the streams of shard (NULL: all of them, alone). st holds the
 * configuration and, when resuming, the saved progress (its arrays are taken
 * over); its corpus fields are filled in. The model's vocabulary must cover
 * text. */
int cn_trainer_init(CnTrainer *tr, CnModel *model, const CnText *text, CnTrainState *st,
                    int resume, int threads, const CnShard *shard, CnError *err);
/* Mean loss (nats/char) over the validation tail, NaN without one. */
double cn_trainer_val_loss(CnTrainer *tr, CnError *err);
double cn_trainer_epoch(const CnTrainer *tr); /* epochs done, as a fraction */
/* A thread pool (kernels.h), or an error that says why not. */
int cn_pool_open(CnPool **pool, int threads, CnError *err);
void cn_trainer_release(CnTrainer *tr);

/* Mean loss (nats/char) of a model over text[from, from+n) characters, run
 * as `streams` contiguous streams from a zero state in chunks of up to T
 * steps, state carried throughout; streams = 1 scores all n-1 predictions
 * and, with fn, shows each to fn (src/core/score.c). pool may be NULL.
 * *count receives the number of predictions. */
double cn_evaluate_span(const CnModel *model, const CnText *text, size_t from, size_t n,
                        int streams, int T, CnPool *pool, CnStepFn fn, void *ctx,
                        size_t *count, CnError *err);
/* The same over B streams that start at characters from + b * stride and
 * each predict `per` characters (per <= stride; per == stride: a span of
 * B * per + 1 characters, run end to end). */
double cn_evaluate_streams(const CnModel *model, const CnText *text, size_t from, size_t stride,
                           size_t per, int B, int T, CnPool *pool, CnStepFn fn, void *ctx,
                           size_t *count, CnError *err);
/* The streams of a validation (cn_validation_loss) of a tail of n_val
 * characters: how many, every stride characters, each predicting per. */
typedef struct {
    int streams;
    size_t stride, per;
} CnValSpan;
CnValSpan cn_validation_span(size_t n_val, int batch, uint64_t eval_chars);

/* ---------------------------------------------------------------------------
 * Helpers shared by the core's files.
 */
/* A character inside a JSON string: \" \\ \n \r \t escaped, other control
 * characters as \u00XX (export.c; the export and the trace). */
void cn_json_char(FILE *out, uint32_t cp);
/* Length in bytes of the UTF-8 sequence led by c, in text known to be valid. */
static inline size_t cn_utf8_len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

/* ids (n, B) and targets (n, B) from n+1 characters of every stream starting
 * at byte cursor[b]; cursor[b] moves n characters on, to the character that
 * is both this chunk's last target and the next chunk's first input.
 * Returns -1 if a character is not in the vocabulary. */
int cn_fetch_chunk(const CnVocab *vocab, const CnText *text, size_t *cursor, int B, int n,
                   int *ids, int *targets);
/* The vocabulary ids of n bytes of UTF-8 (every character in vocab,
 * checked first; name: how messages call the text) into ids (at least as
 * many as characters); returns how many, or -1 with err. */
int cn_text_ids(const CnVocab *vocab, const char *utf8, size_t n, const char *name, int *ids,
                CnError *err);

/* Vocabulary index of the character at text byte *at, then *at moves past
 * it; -1 if the character is not in the vocabulary. */
static inline int cn_text_next_id(const CnVocab *vocab, const CnText *text, size_t *at)
{
    const unsigned char *s = text->bytes + *at;
    if (s[0] < 0x80) {
        *at += 1;
        return vocab->small[s[0]];
    }
    uint32_t cp;
    int len = cn_utf8_decode(s, text->nbytes - *at, &cp);
    *at += (size_t)len;
    return cn_vocab_index(vocab, cp);
}

/* Fault injection, compiled in only for the test build build/charnn-faults
 * (-DCHARNN_FAULTS, tests/faults.c): cn_fault("write") returns the errno a
 * checkpoint step should fail with (CHARNN_FAULT=write:3 fails the third
 * write, write:3+ every write from the third on), and cn_fault_pause()
 * stretches a save by CHARNN_SLOW_SAVE_MS so that tests can kill it midway.
 * In every other build both are no-ops. */
#ifdef CHARNN_FAULTS
int cn_fault(const char *point);
void cn_fault_pause(void);
#else
static inline int cn_fault(const char *point)
{
    (void)point;
    return 0;
}
static inline void cn_fault_pause(void)
{
}
#endif

/* splitmix64's finalizer (src/core/rng.c): seeds the generator, and keys
 * each dropout row's stream of masks (src/core/model.c); CN_GOLDEN is its
 * step, 2^64 / golden ratio. */
uint64_t cn_mix64(uint64_t z);
#define CN_GOLDEN 0x9e3779b97f4a7c15ull

/* The table of settings and checkpoint fields (src/core/settings.c): every
 * scalar of a checkpoint in file order, each with its one range; the
 * settings among them with their default and help. Ends with a NULL name. */
typedef enum { CN_IN_SHAPE, CN_IN_CONFIG, CN_IN_PROGRESS, CN_IN_STATE } CnFieldPart;
typedef enum { CN_F_INT, CN_F_U32, CN_F_U64, CN_F_REAL } CnFieldType; /* INT: an int or enum */
enum {
    CN_FIELD_RESUMABLE = 1, /* a resume may change it */
    CN_FIELD_OPEN_HI = 2,   /* hi excluded */
    CN_FIELD_NAN = 4,       /* NaN allowed */
    CN_FIELD_INF = 8,       /* infinities allowed */
    CN_FIELD_OPEN_LO = 16,  /* lo excluded */
    CN_FIELD_SETTING = 32,  /* a setting callers choose (cn_settings_set) */
    CN_FIELD_SECONDS = 64,  /* a duration */
    CN_FIELD_RECORDED = 128, /* a setting the library records (the plan's), not a flag */
};
typedef struct {
    const char *name;          /* "lr", "seq-length" */
    CnFieldPart part;          /* in CnShape, CnTrainConfig, CnProgress or CnTrainState */
    size_t offset;             /* its place there */
    CnFieldType type;
    const char *const *names;  /* an enum's names, else NULL */
    int count;                 /* values: 1 (4 for the random generator) */
    double lo, hi;             /* the values it may hold */
    unsigned flags;
    uint32_t since;            /* the format version that added it */
    const char *def, *arg, *help; /* settings: the default, help's placeholder and line */
    const char *word;          /* a word it also takes: "all" (0), "auto" (cn_precision_auto) */
} CnField;
extern const CnField cn_fields[];
const CnField *cn_field_named(const char *name);    /* NULL if none */
int cn_field_holds(const CnField *f, double x);     /* x within f's range */
void *cn_field_at(const CnField *f, const CnShape *shape, const CnTrainState *st);
double cn_field_value(const CnField *f, const void *value); /* a field's value as a double */
void cn_field_text(const CnField *f, const void *value, char *out, size_t n);
/* x within the range of the setting `name`, or an error naming it. */
int cn_setting_check(const char *name, double x, CnError *err);

/* The choice of cn_plan_budget from the widths and speeds in plan: for
 * each, the epochs `seconds` of training afford over train_chars characters;
 * the width whose sweep loss there is lowest, with its dropout (src/core/plan.c).
 * plan->hidden stays 0 when the sweep knows none of the widths. */
void cn_plan_choose(CnPlan *plan, size_t train_chars, double seconds);

/* cfg within the ranges a checkpoint may hold (cn_fields), so that a run
 * only saves what loads. */
int cn_config_check(const CnTrainConfig *cfg, CnError *err);

/* Formats a one-line message into err; the arguments may include err->msg. */
void cn_errorf(CnError *err, const char *fmt, ...) OS_PRINTF(2, 3);

/* Describes a character for messages: 'é' (U+00E9), or U+000A for controls. */
void cn_describe_char(uint32_t cp, char out[32]);

/* Squared norm pieces (src/core/optim.c): gradients are summed in blocks of
 * CN_NORM_BLOCK, then the blocks in order, whatever the threads. */
enum { CN_NORM_BLOCK = 1 << 14 };
double cn_sumsq(const CnReal *g, size_t n);  /* sum of g_i^2 in double, in order */
size_t cn_norm_blocks(size_t n);
int cn_all_finite(const CnReal *x, size_t n); /* no inf or NaN in x */

#endif /* CHARNN_CORE_H */
