/* SPDX-License-Identifier: MIT */
/*
 * charnn: character-level language models (vanilla RNN, LSTM, peephole LSTM,
 * GRU) trained with truncated backpropagation through time, in plain C.
 *
 * The public interface of libcharnn, all a program needs to train, resume,
 * sample, score and export models: opaque handles (CnText, CnModel,
 * CnCheckpoint, CnTrainer, CnSampler), plain configuration structs and
 * accessors. Nothing here shows the library's buffers or kernels, which may
 * change; what is here stays. The equations are in README.md ("The model").
 *
 * Functions that can fail return 0 (or a handle) on success and -1 (or
 * NULL) on failure, with a one-line message (no newline, no program name)
 * in a CnError. Every handle is freed by its _free function, which accepts
 * NULL. Nothing in the library prints or exits.
 */
#ifndef CHARNN_H
#define CHARNN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CHARNN_VERSION "0.3.0"

/* Building the shared library exports these names and nothing else. */
#if defined(CHARNN_BUILD) && defined(__GNUC__)
#define CN_API __attribute__((visibility("default")))
#else
#define CN_API
#endif

CN_API const char *cn_version(void);      /* CHARNN_VERSION of the library in use */
CN_API const char *cn_kernels_name(void); /* "avx512", "avx2", "neon" or "generic" */
CN_API int cn_cpu_count(void);            /* online processors, at least 1 */
CN_API int cn_bf16_native(void); /* 1: bf16 products run on AVX512_BF16; 0: emulated */
/* The kernels' peak on this machine in GFLOP/s: independent chains of fused
 * multiply-adds on full vectors, on `threads` threads for about `seconds`
 * (the ceiling a product can approach; charnn bench compares with it). */
CN_API double cn_fma_peak(int threads, double seconds);
CN_API uint64_t cn_physical_memory(void); /* bytes, 0 if unknown */
CN_API double cn_seconds(void);           /* a monotonic clock */

enum { CN_ERRLEN = 320, CN_MAX_LAYERS = 32 };
typedef struct {
    char msg[CN_ERRLEN]; /* e.g. "data/x.txt is not valid UTF-8 at byte 1234 (0xff); ..." */
} CnError;

/* The precision of parameters and states: float. (The test suite builds
 * the library in double too, -DCHARNN_DOUBLE, for the gradient checks: a
 * program must be built as its library was.) Checkpoints store float. */
#ifdef CHARNN_DOUBLE
typedef double CnReal;
#else
typedef float CnReal;
#endif

/* ---------------------------------------------------------------------------
 * Names. Each table is indexed by its enum and ends with NULL; cn_lookup
 * returns a name's index, or -1.
 */
typedef enum { CN_RNN, CN_LSTM, CN_PEEPHOLE, CN_GRU } CnCell;
typedef enum { CN_SGD, CN_MOMENTUM, CN_NESTEROV, CN_ADAGRAD, CN_RMSPROP, CN_ADAM } CnOptimKind;
typedef enum { CN_LR_CONSTANT, CN_LR_STEP, CN_LR_COSINE } CnSchedule;
typedef enum { CN_INIT_UNIFORM, CN_INIT_ORTHOGONAL } CnInit;
typedef enum { CN_FP32, CN_BF16 } CnPrecision; /* of the products (README, "Precision") */
CN_API extern const char *const cn_cell_names[];     /* rnn lstm peephole gru */
CN_API extern const char *const cn_optim_names[];    /* sgd momentum ... adam */
CN_API extern const char *const cn_schedule_names[]; /* constant step cosine */
CN_API extern const char *const cn_init_names[];     /* uniform orthogonal */
CN_API extern const char *const cn_precision_names[]; /* fp32 bf16 */
CN_API int cn_lookup(const char *const *names, const char *name);

/* ---------------------------------------------------------------------------
 * UTF-8 and random numbers.
 */
/* The code point at s[0..n) in *cp; returns its length 1..4, or 0 if the
 * bytes are not valid UTF-8 (overlong, surrogate, above U+10FFFF, cut). */
CN_API int cn_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
CN_API int cn_utf8_encode(uint32_t cp, char out[4]); /* returns the length 1..4 */

typedef struct {
    uint64_t s[4];
} CnRng; /* xoshiro256** seeded through splitmix64: the same on every platform */
CN_API void cn_rng_seed(CnRng *rng, uint64_t seed);
CN_API uint64_t cn_rng_next(CnRng *rng);
CN_API double cn_rng_uniform(CnRng *rng); /* [0, 1), 53 random bits */

/* ---------------------------------------------------------------------------
 * Text: valid UTF-8 held in memory of its own.
 */
typedef struct CnText CnText;
/* Files joined in order ("-": standard input, at most once). Each is read
 * whole (never mapped: a file changed meanwhile changes nothing) and must
 * be valid UTF-8; messages name the file. Devices are refused, and a text
 * larger than half of the machine's memory. A signal that interrupts a
 * read (a caller's handler ran) ends it with an error. */
CN_API CnText *cn_text_load(const char *const *paths, int n, CnError *err);
/* The same checks on n bytes, which are copied; name is for messages. */
CN_API CnText *cn_text_from_memory(const void *data, size_t n, const char *name, CnError *err);
CN_API size_t cn_text_chars(const CnText *text); /* code points */
CN_API const char *cn_text_bytes(const CnText *text, size_t *n); /* the UTF-8, n bytes */
CN_API void cn_text_free(CnText *text);

/* ---------------------------------------------------------------------------
 * Models. The vocabulary is the distinct code points of the training text,
 * increasing; a character's one-hot position is its rank.
 */
typedef struct {
    CnCell cell;
    int vocab;  /* V */
    int hidden; /* H */
    int layers; /* L, at most CN_MAX_LAYERS */
} CnShape;

typedef struct CnModel CnModel;
CN_API CnShape cn_model_shape(const CnModel *model);
CN_API size_t cn_model_params(const CnModel *model);
CN_API const uint32_t *cn_model_vocab(const CnModel *model);          /* (V) code points */
CN_API int cn_model_char_index(const CnModel *model, uint32_t cp);    /* -1 if absent */
/* Every character of text is in the vocabulary, or an error names the
 * first that is not (name: how messages call the text). */
CN_API int cn_model_covers(const CnModel *model, const CnText *text, const char *name,
                           CnError *err);
CN_API uint32_t cn_model_checksum(const CnModel *model); /* CRC-32 of the parameters */
/* The model as JSON: tensor names and [outputs, inputs] layouts of README's
 * "Exported tensors". 0, or -1 on a write error. */
CN_API int cn_export_json(FILE *out, const CnModel *model);
/* How an export stores the weight matrices (README, "The model as C"):
 * fp32; bf16, each weight rounded to bfloat16 (to nearest even); int8,
 * each row (one output unit's weights, or for layer 0's W_x one
 * character's) as integers q in [-127, 127] times the row's float scale
 * s = max|w| / 127. Biases and peepholes stay fp32. */
typedef enum { CN_STORE_FP32, CN_STORE_BF16, CN_STORE_INT8 } CnStore;
CN_API extern const char *const cn_store_names[]; /* fp32 bf16 int8 */
/* A copy of model whose weights are what `store` decodes them to, bit for
 * bit: evaluating or sampling it computes exactly what the file exported
 * with that storage computes. Freed by cn_model_free. */
CN_API CnModel *cn_model_stored(const CnModel *model, CnStore store, CnError *err);
/* The model alone (no training state) as a checkpoint at path, written as
 * a training run saves one. */
CN_API int cn_model_save(const CnModel *model, const char *path, CnError *err);
enum { CN_EXPORT_NAME_MAX = 64 };
typedef struct {
    const char *name;   /* a C identifier prefixed to what the file defines: name_step,
                           NAME_VOCAB; NULL: "model" */
    CnStore store;
    int header;         /* 1: the declarations alone, a header for the C file */
    const char *source; /* where the model came from (its first comment says), or NULL */
} CnExportC;
/* The model as one C99 file with no dependency but libm: its weights, a
 * step function over a caller-owned state, charnn's sampler; with
 * -DCHARNN_MAIN a program printing what charnn sample prints (README, "The
 * model as C"). 0, or -1 with err (a name that is no C identifier, a write
 * error). */
CN_API int cn_export_c(FILE *out, const CnModel *model, const CnExportC *opt, CnError *err);
CN_API void cn_model_free(CnModel *model);
CN_API int cn_cell_gates(CnCell cell); /* gate blocks G: rnn 1, gru 3, lstm 4 */

/* ---------------------------------------------------------------------------
 * Training configuration and progress, as checkpoints keep them.
 */
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
    int batch;             /* B streams */
    int seq_length;        /* T steps of backpropagation through time */
    CnOptimConfig optim;
    double clip_value;     /* clip each gradient to [-v, v]; 0: off */
    double clip_norm;      /* rescale the gradient to norm <= n; 0: off */
    double dropout;        /* on each layer's output, into the next layer or the output */
    double val_frac;       /* held-out tail of the corpus; 0: none */
    uint64_t seed;
    uint64_t max_iters;    /* the run's target, kept so a resume continues it */
    CnSchedule schedule;   /* step: x lr_decay per epoch after lr_decay_after epochs;
                              cosine: down to lr_min over the run */
    uint64_t warmup;       /* iterations of linear warm-up; 0: none */
    double lr_decay, lr_decay_after, lr_min;
    double bptt_random;    /* pi in (0, 1): carried gradients survive a step with
                              probability pi, scaled by 1/pi; 1: off */
    CnInit init;           /* uniform or orthogonal (README, "The model") */
    CnPrecision precision; /* bf16: the training products' inputs rounded to bfloat16,
                              sums and everything else in fp32 (README, "Precision") */
    double time_budget;    /* seconds of training; 0: none (the caller stops on it) */
    uint64_t eval_chars;   /* predictions each validation makes, from B streams spread
                              evenly over the held-out tail; 0 or more than the tail:
                              all of it (cn_validation_loss) */
    double plan_epochs;    /* the epochs cn_plan_budget expected when it chose the width and
                              dropout for the time budget; 0: chosen by the caller */
} CnTrainConfig;

/* What precision "auto" means for training a model of this shape on B streams on
 * this CPU: bf16 only where it has been measured faster than fp32 (README,
 * "Precision"), decided from the CPU and the shape alone, never by timing, so
 * that the same command on the same CPU always makes the same choice. *why
 * gets the reason, a phrase such as "this CPU has no AVX512_BF16". */
CN_API CnPrecision cn_precision_auto(const CnShape *shape, int batch, const char **why);

typedef struct {
    uint64_t iteration, epoch, chunk; /* iterations and epochs done; next chunk */
    uint64_t corpus_bytes;   /* the training corpus, so a resume can check it */
    uint32_t corpus_crc;
    double smooth_loss;      /* moving average 0.99/0.01 of the loss, from ln V */
    double last_loss;
    double val_loss;         /* the last validation loss; NaN: none */
    double best_val_loss;    /* NaN: none */
    uint64_t best_iteration; /* where best_val_loss was measured */
    double train_seconds;    /* time spent training, summed over resumed runs */
    uint64_t run;            /* the run's identity: a hash of its starting point,
                                kept by resumes; 0: unknown (format version 1) */
    uint32_t version;        /* format version of the file it was loaded from */
} CnProgress;

/* The scalar fields of a checkpoint, in file order: one table drives the
 * file's writing and reading and its range checks, charnn info, and which
 * settings a resume may change. Ends with a NULL name. */
typedef enum { CN_IN_SHAPE, CN_IN_CONFIG, CN_IN_PROGRESS, CN_IN_STATE } CnFieldPart;
typedef enum { CN_F_INT, CN_F_U32, CN_F_U64, CN_F_REAL } CnFieldType; /* INT: an int or enum */
enum { CN_FIELD_RESUMABLE = 1, CN_FIELD_OPEN_HI = 2, CN_FIELD_NAN = 4, CN_FIELD_INF = 8 };
typedef struct {
    const char *name;          /* as the flags and charnn info call it: "lr", "seq-length" */
    CnFieldPart part;          /* in CnShape, CnTrainConfig, CnProgress or (STATE) the
                                  run's own state: its offset is not for callers */
    size_t offset;             /* its place there */
    CnFieldType type;
    const char *const *names;  /* an enum's names, else NULL */
    int count;                 /* values: 1 (4 for the random generator) */
    double lo, hi;             /* the values a file may hold (hi excluded with OPEN_HI) */
    unsigned flags;            /* RESUMABLE: a resume may change it; NAN, INF: allowed */
    uint32_t since;            /* the format version that added it */
} CnField;
CN_API extern const CnField cn_fields[];

/* ---------------------------------------------------------------------------
 * Checkpoints: a little-endian file (README, "Checkpoint format") with a
 * CRC-32 over everything. A save writes PATH.PID.tmp, syncs it and renames
 * it over PATH (a symbolic link stays one), so the previous checkpoint
 * survives any failure. A load checks the size its header implies before
 * reading the rest, then the CRC and every field.
 */
enum { CN_CHECKPOINT_VERSION = 4 };
typedef struct CnCheckpoint CnCheckpoint;
CN_API CnCheckpoint *cn_checkpoint_load(const char *path, CnError *err);
CN_API const CnModel *cn_checkpoint_model(const CnCheckpoint *ck);
CN_API const CnTrainConfig *cn_checkpoint_config(const CnCheckpoint *ck); /* batch 0: none */
CN_API const CnProgress *cn_checkpoint_progress(const CnCheckpoint *ck);
CN_API void cn_checkpoint_free(CnCheckpoint *ck);
/* The temporary file a save of path writes first, "PATH.PID.tmp"; -1 if
 * it does not fit in n bytes. */
CN_API int cn_temp_path(const char *path, char *tmp, size_t n);
/* Keeps the checkpoint at src under the name dst too: a hard link where
 * possible, else a copy, written and renamed like a save. */
CN_API int cn_checkpoint_keep(const char *src, const char *dst, CnError *err);

/* ---------------------------------------------------------------------------
 * Training. The training text (the corpus minus its validation tail) is cut
 * into B contiguous streams; iteration k trains on chunk k of each, T
 * characters, state carried from chunk to chunk. Results are the same for
 * any number of threads.
 */
typedef struct CnTrainer CnTrainer;

/* Data parallelism: several processes train one run, each its own streams
 * [first, first + count) of the batch. After each backward pass reduce must
 * sum grads (n values) and the scalars over all processes, in place, alike
 * on every one; parameters then stay equal without being sent. ready, if
 * set, is called during the backward pass as soon as grads[offset, offset +
 * n) is final, top of the model first (the output layer, then each layer
 * down to the first), so that their sums can start while the rest is
 * computed; reduce then completes them along with the rest. */
typedef struct {
    int first, count;
    void (*reduce)(void *ctx, CnReal *grads, size_t n, double *scalars, int nscalars);
    void *ctx;
    void (*ready)(void *ctx, CnReal *grads, size_t offset, size_t n);
} CnShard;

/* A new run of a fresh model (cell, hidden, layers) over text's characters,
 * initialised by cfg->init from cfg->seed. Every setting must be in the
 * range cn_fields gives (what a checkpoint may hold). A run that would need more
 * memory than the machine has is refused before anything is allocated.
 * shard NULL: all streams, alone. */
CN_API CnTrainer *cn_trainer_new(const CnText *text, CnCell cell, int hidden, int layers,
                                 const CnTrainConfig *cfg, int threads, const CnShard *shard,
                                 CnError *err);
/* A new run from a checkpoint's weights, with a fresh optimizer. Characters
 * of text that the checkpoint's vocabulary lacks join it (in increasing
 * order still): their input and output weights are those cn_trainer_new
 * would start a model of the grown shape with (cfg->init, cfg->seed), and
 * every other weight is the checkpoint's. */
CN_API CnTrainer *cn_trainer_from(CnCheckpoint *ck, const CnText *text, const CnTrainConfig *cfg,
                                  int threads, const CnShard *shard, CnError *err);
/* Continues the run of a checkpoint exactly, on the same corpus, with cfg
 * (the checkpoint's configuration, hyperparameters changed at will); a
 * character outside its vocabulary is refused. Both take the checkpoint's
 * model and state (no copy): free ck afterwards, on success or failure; it
 * holds nothing more. */
CN_API CnTrainer *cn_trainer_resume(CnCheckpoint *ck, const CnText *text, const CnTrainConfig *cfg,
                                    int threads, const CnShard *shard, CnError *err);
/* Settings for a time budget (README, "Training for quality"): times two
 * training steps (after one) of each candidate width, 384, 512 and 768 (or only
 * `hidden` when it is not 0), of a model of this cell and layers on text with
 * cfg on `threads` threads, wider ones only while the timing stays within 3%
 * of the budget; then picks the width whose epochs in the rest of the budget
 * promise the lowest validation loss, by the sweep the rule was fit on, and
 * that width's dropout at those epochs. Depends on the machine's speed, as
 * any run with a time budget does. */
enum { CN_PLAN_WIDTHS = 8 };
typedef struct {
    int hidden;       /* the width chosen */
    double dropout;   /* its dropout */
    double epochs;    /* the epochs the rest of the budget affords it */
    double loss;      /* the sweep's validation loss for it there; inf: outside the sweep */
    double seconds;   /* spent timing */
    int measured;     /* widths timed: widths[i] at chars_per_s[i] */
    int widths[CN_PLAN_WIDTHS];
    double chars_per_s[CN_PLAN_WIDTHS];
} CnPlan;
CN_API int cn_plan_budget(const CnText *text, CnCell cell, int layers, int hidden,
                          const CnTrainConfig *cfg, double budget, int threads, CnPlan *plan,
                          CnError *err);
/* Bytes a run would allocate besides the corpus; 0 on overflow. */
CN_API size_t cn_trainer_bytes(const CnShape *shape, const CnTrainConfig *cfg, int threads);
/* Threads worth using for B streams of a model of this shape, at most max. */
CN_API int cn_threads_for(const CnShape *shape, int B, int max);

typedef enum { CN_STEP_OK, CN_STEP_DIVERGED, CN_STEP_BAD_TEXT } CnStepResult;
#define CN_LOSS_LIMIT 1e4 /* nats/char; a uniform guess over Unicode costs 13.9 */
/* One iteration. A loss that is not finite or above CN_LOSS_LIMIT, or a
 * gradient that is not finite, returns CN_STEP_DIVERGED and changes nothing;
 * so does an update that makes a parameter non-finite, after which the run
 * can no longer be saved. CN_STEP_BAD_TEXT: a character outside the
 * vocabulary (a bug: the text was checked). */
CN_API CnStepResult cn_trainer_step(CnTrainer *tr, double *loss);
/* The validation loss (cn_validation_loss of the run's configuration)
 * into the progress: 1 if it is the best so far, 0 if not or without
 * validation text (*loss NaN), -1 with err if it failed. */
CN_API int cn_trainer_validate(CnTrainer *tr, double *loss, CnError *err);
/* Saves model, configuration, progress, optimizer and carried state. */
CN_API int cn_trainer_save(CnTrainer *tr, const char *path, CnError *err);
/* The same with the whole batch's carried state, gathered by the caller
 * (a shard holds only its own: cn_trainer_carried, cn_state_place). */
CN_API int cn_trainer_save_state(CnTrainer *tr, const char *path, const CnReal *state,
                                 size_t len, CnError *err);
/* This process's carried state: h then c (LSTMs), (L, count, H) each. */
CN_API const CnReal *cn_trainer_carried(const CnTrainer *tr, size_t *len);
/* Values of the whole batch's carried state, and a shard's placed in it. */
CN_API size_t cn_state_values(const CnShape *shape, int batch);
CN_API void cn_state_place(CnReal *global, const CnReal *local, const CnShape *shape,
                           int batch, int first, int count);

typedef struct {
    size_t train_chars, val_chars; /* the corpus's training head and validation tail */
    size_t val_evaluated;          /* predictions each validation makes (cfg eval_chars) */
    uint64_t chunks_per_epoch;
    double epoch;     /* epochs done, as a fraction */
    double lr;        /* learning rate of the last step */
    double grad_norm; /* its gradient norm before clipping; NaN before the first */
    int threads;
} CnTrainStatus;
CN_API CnTrainStatus cn_trainer_status(const CnTrainer *tr);
CN_API const CnProgress *cn_trainer_progress(const CnTrainer *tr);
CN_API const CnTrainConfig *cn_trainer_config(const CnTrainer *tr);
CN_API const CnModel *cn_trainer_model(const CnTrainer *tr);
CN_API void cn_trainer_set_target(CnTrainer *tr, uint64_t max_iters);
/* Training time so far (what a save records), and the share of a time
 * budget used, which a cosine schedule then follows (negative: iterations). */
CN_API void cn_trainer_set_time(CnTrainer *tr, double train_seconds, double budget_fraction);
/* The run goes on in another file than its own: it branches off, with an
 * identity of its own derived from its present one and `where`. */
CN_API void cn_trainer_branch(CnTrainer *tr, const char *where);

/* Where a step's time goes: attach a profile and every phase adds its
 * seconds (those of thread 0, which takes part in every phase). */
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
    double lap;       /* when the running phase started */
    /* what the matrix products moved, summed over the threads: */
    uint64_t packs;   /* operands packed into the kernels' layout or rounded to bf16 */
    uint64_t rounded; /* values rounded to bfloat16 on the way */
    uint64_t copied;  /* values copied in fp32 */
    uint64_t macs;    /* multiply-adds */
} CnProfile;
CN_API const char *cn_phase_name(CnPhase phase);
CN_API void cn_trainer_profile(CnTrainer *tr, CnProfile *profile); /* NULL: stop */
CN_API void cn_trainer_free(CnTrainer *tr);

/* ---------------------------------------------------------------------------
 * Scoring and sampling.
 */
/* Mean -ln p of each character of text given those before it, from a zero
 * state carried through the whole text (chunks of seq_length steps: speed
 * only): nats per character over its *count = N-1 predictions. NaN on error. */
CN_API double cn_evaluate(const CnModel *model, const CnText *text, int seq_length, int threads,
                          size_t *count, CnError *err);

/* The validation loss a run of configuration cfg measures on corpus (the
 * text it trains on): its held-out tail, the last val_frac of the
 * characters, is cut into cfg->batch equal parts, and from the start of
 * each a stream from a zero state predicts eval_chars / batch characters
 * (the whole part when eval_chars is 0 or at least the tail, as the
 * streams of the tail run end to end), state carried throughout: mean
 * -ln p in nats per character over *count predictions. The same
 * characters every time, so validations compare; NaN on error, or without
 * a tail (no error then). Deterministic for any number of threads. */
CN_API double cn_validation_loss(const CnModel *model, const CnText *corpus,
                                 const CnTrainConfig *cfg, int threads, size_t *count,
                                 CnError *err);

/* One prediction, seen from inside: the model has read characters 0..pos
 * of the text and predicts character pos+1. The arrays are the library's
 * and hold only during the call. */
typedef struct {
    size_t pos;
    int target;          /* character pos+1's index in the vocabulary */
    double nats;         /* -ln p[target], the term cn_evaluate sums */
    const CnReal *probs; /* (V) p = softmax(y), the predicted distribution */
    /* layer l after reading character pos (its step t): */
    const CnReal *h[CN_MAX_LAYERS];     /* (H) h_t */
    const CnReal *c[CN_MAX_LAYERS];     /* (H) c_t (lstm, peephole), else NULL */
    const CnReal *gates[CN_MAX_LAYERS]; /* (G*H) the gate values, G blocks of H named by
                                           cn_gate_name (lstm i f o g, gru r u n); NULL
                                           for rnn */
} CnStep;
typedef int (*CnStepFn)(void *ctx, const CnStep *step); /* non-zero: stop, with an error */
/* cn_evaluate, showing each prediction to fn in order: the same passes,
 * the same sum, the same result. */
CN_API double cn_score(const CnModel *model, const CnText *text, int seq_length, int threads,
                       CnStepFn fn, void *ctx, size_t *count, CnError *err);
/* order[0..returned) = the indices of the min(k, n) largest values, largest
 * first (equal values by lower index, NaN after every number): a heap of
 * the k best, O(n log k). */
CN_API int cn_top_k(const CnReal *values, int n, int k, int *order);
/* "i", "f", "o", "g" (lstm, peephole), "r", "u", "n" (gru), "h" (rnn): gate
 * block g of a cell as SPEC names it, or NULL past the last. */
CN_API const char *cn_gate_name(CnCell cell, int g);

typedef struct {
    double temperature; /* > 0: p = softmax(logits / temperature) */
    int top_k;          /* draw among the k most likely; 0: all */
    int argmax;         /* 1: always the most likely */
    double top_p;       /* in (0, 1): then among the fewest most likely holding this
                           share of p (nucleus); 0 or 1: off */
} CnSampleOptions;

typedef struct CnSampler CnSampler; /* uses the model, which must outlive it */
/* Bytes a sampler of this many streams allocates (its V logits each);
 * SIZE_MAX if that does not fit in size_t. */
CN_API size_t cn_sampler_bytes(const CnShape *shape, int streams);
CN_API CnSampler *cn_sampler_new(const CnModel *model, uint64_t seed, CnError *err);
/* streams samples computed together (each step one product for all):
 * stream b draws exactly what cn_sampler_new(model, seed + b) would. */
CN_API CnSampler *cn_sampler_streams(const CnModel *model, int streams, uint64_t seed,
                                     CnError *err);
/* Runs UTF-8 text through the model (a prime), in every stream; every
 * character must be in the vocabulary, checked first (name: how messages
 * call the text). */
CN_API int cn_sampler_feed(CnSampler *s, const char *utf8, size_t n, const char *name,
                           CnError *err);
/* Draws the next character, feeds it back, and returns it (stream 0's). */
CN_API uint32_t cn_sampler_draw(CnSampler *s, const CnSampleOptions *opt);
/* The same for every stream: out (streams) receives the characters. */
CN_API void cn_sampler_draw_all(CnSampler *s, const CnSampleOptions *opt, uint32_t *out);
CN_API void cn_sampler_free(CnSampler *s);

/* Beam search: after running prime (n bytes of UTF-8, every character in
 * the vocabulary) through the model, the continuation of at most `length`
 * characters with (approximately: `beams` hypotheses are kept) the highest
 * total log-probability sum_t ln p_t[c_t] (p = softmax(y), temperature 1).
 * With a stop string (stop_n > 0), a hypothesis ends right after its first
 * occurrence, and ended ones compete by the same total. Deterministic;
 * beams = 1 is always taking the most likely character, and more beams
 * never return a less likely text than that. The result in
 * *out (malloc'd UTF-8, *out_n bytes) and its total in *logprob. */
CN_API int cn_beam_search(const CnModel *model, const char *prime, size_t n, int beams,
                          size_t length, const char *stop, size_t stop_n, char **out,
                          size_t *out_n, double *logprob, CnError *err);
/* Bytes a search of this many beams and characters allocates: the
 * sampler's streams (beams, and the greedy path beside them), their V
 * logits each, and 8 bytes per beam per character of the hypotheses'
 * history; SIZE_MAX if that does not fit in size_t. */
CN_API size_t cn_beam_bytes(const CnShape *shape, int beams, size_t length);
/* Called after each step of a search (done = 1..length characters found);
 * non-zero stops it. */
typedef int (*CnBeamFn)(void *ctx, size_t done, size_t length);
/* cn_beam_search, watched by fn (may be NULL): returns 0 when it ran to
 * its end, 1 when fn stopped it after *done steps, with the best of what
 * it holds then in *out (a hypothesis of *done characters, or one that
 * ended earlier), and -1 on error. */
CN_API int cn_beam_search_watch(const CnModel *model, const char *prime, size_t n, int beams,
                                size_t length, const char *stop, size_t stop_n, CnBeamFn fn,
                                void *ctx, char **out, size_t *out_n, double *logprob,
                                size_t *done, CnError *err);

/* ---------------------------------------------------------------------------
 * Tracing one pass, for checking a derivation: the forward and backward pass
 * over a short text (inputs its characters 0..n-2, targets 1..n-1, T = n-1
 * steps, zero state, no dropout) in double, every quantity of README's
 * equations printed in their notation: gates, states, outputs and the loss;
 * dL/dy_t, dL/dh_t (from the output or the layer above, and from step
 * t+1), dL/dc_t, each gate's delta; every weight's gradient as a sum over
 * the steps. Readable text, or (json) one JSON object with every number at
 * full precision (README, "charnn trace"). The text (2 to
 * CN_TRACE_MAX_CHARS characters: every step prints hundreds of values or
 * more) must be in the model's vocabulary. 0, or -1 with err (a write
 * error too).
 */
enum { CN_TRACE_MAX_CHARS = 1000 };
CN_API int cn_trace(FILE *out, const CnModel *model, const char *utf8, size_t n, int json,
                    CnError *err);
/* A model over text's characters with every parameter uniform in [-0.5,
 * 0.5) from seed, biases and peepholes too (training starts those at 0 or
 * 1), so that every term of the equations shows in a trace. */
CN_API CnModel *cn_model_random(const CnText *text, CnCell cell, int hidden, int layers,
                                uint64_t seed, CnError *err);

/* ---------------------------------------------------------------------------
 * Checking the backward pass: a random model of shape, random inputs on B
 * streams for T steps, a random carried-in state and fixed dropout masks;
 * each tensor's worst relative error |a - n| / max(|a| + |n|, floor)
 * between its analytic gradient and the fourth-order central difference
 * (-L(w+2e) + 8L(w+e) - 8L(w-e) + L(w-2e)) / 12e. In float a correct
 * gradient is within about 1e-2 (e = 1e-2), in double within 1e-6.
 */
typedef struct {
    char name[24]; /* "l0.Wx", "l1.peep", "Wy", ... */
    size_t entries;
    double worst;
} CnGradcheck;
/* Fills out[0..returned count), at most max. */
CN_API int cn_gradcheck(const CnShape *shape, int B, int T, double dropout, uint64_t seed,
                        CnGradcheck *out, int max, CnError *err);

#endif /* CHARNN_H */
