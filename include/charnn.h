/* SPDX-License-Identifier: MIT */
/*
 * libcharnn: character-level RNN, LSTM (and peephole) and GRU language models
 * trained with truncated backpropagation through time, in plain C. What a
 * program needs to train, resume, sample, score and export models; it stays.
 * charnn_tools.h holds what charnn's own tools use besides, which may change.
 * Functions that can fail return 0 (or a handle), else -1 (or NULL) with a
 * one-line message in a CnError. Every handle's _free accepts NULL. The
 * library never prints or exits. The equations: charnn help model.
 */
#ifndef CHARNN_H
#define CHARNN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CHARNN_VERSION "0.4.0"

#if defined(CHARNN_BUILD) && defined(__GNUC__) /* the shared library exports these alone */
#define CN_API __attribute__((visibility("default")))
#else
#define CN_API
#endif

CN_API const char *cn_version(void); /* CHARNN_VERSION of the library in use */
CN_API int cn_cpu_count(void);       /* online processors, at least 1 */

enum { CN_ERRLEN = 320, CN_MAX_LAYERS = 32 };
typedef struct {
    char msg[CN_ERRLEN]; /* "data/x.txt is not valid UTF-8 at byte 1234 (0xff); ..." */
} CnError;

/* float (the tests build a double library too: -DCHARNN_DOUBLE, likewise) */
#ifdef CHARNN_DOUBLE
typedef double CnReal;
#else
typedef float CnReal;
#endif

/* Names, indexed by the enums, NULL-terminated; cn_lookup gives the index or -1. */
typedef enum { CN_RNN, CN_LSTM, CN_PEEPHOLE, CN_GRU } CnCell;
typedef enum { CN_SGD, CN_MOMENTUM, CN_NESTEROV, CN_ADAGRAD, CN_RMSPROP, CN_ADAM } CnOptimKind;
typedef enum { CN_LR_CONSTANT, CN_LR_STEP, CN_LR_COSINE } CnSchedule;
typedef enum { CN_INIT_UNIFORM, CN_INIT_ORTHOGONAL } CnInit;
typedef enum { CN_FP32, CN_BF16 } CnPrecision; /* of the products (charnn help precision) */
CN_API extern const char *const cn_cell_names[];      /* rnn lstm peephole gru */
CN_API extern const char *const cn_optim_names[];     /* sgd momentum ... adam */
CN_API extern const char *const cn_schedule_names[];  /* constant step cosine */
CN_API extern const char *const cn_init_names[];      /* uniform orthogonal */
CN_API extern const char *const cn_precision_names[]; /* fp32 bf16 */
CN_API int cn_lookup(const char *const *names, const char *name);
CN_API int cn_utf8_encode(uint32_t cp, char out[4]); /* UTF-8 of cp, its length 1..4 */

/* Text: valid UTF-8, files joined in order ("-": standard input), read whole. */
typedef struct CnText CnText;
CN_API CnText *cn_text_load(const char *const *paths, int n, CnError *err);
CN_API CnText *cn_text_from_memory(const void *data, size_t n, const char *name, CnError *err);
CN_API size_t cn_text_chars(const CnText *text); /* code points */
CN_API void cn_text_free(CnText *text);

/* Models. The vocabulary: the text's distinct code points, increasing. */
typedef struct {
    CnCell cell;
    int vocab;  /* V */
    int hidden; /* H */
    int layers; /* L, at most CN_MAX_LAYERS */
} CnShape;
typedef struct CnModel CnModel;
CN_API CnShape cn_model_shape(const CnModel *model);
CN_API size_t cn_model_params(const CnModel *model);
CN_API int cn_model_vocab_size(const CnModel *model);             /* V */
CN_API const uint32_t *cn_model_vocab(const CnModel *model);      /* (V) code points */
CN_API int cn_model_char_index(const CnModel *model, uint32_t cp); /* -1 if absent */
CN_API int cn_export_json(FILE *out, const CnModel *model);
CN_API void cn_model_free(CnModel *model);

/* Training configuration (charnn help train) and progress, as checkpoints keep them. */
typedef struct {
    CnOptimKind kind;
    double lr, momentum, beta1, beta2, eps, decay_rate;
} CnOptimConfig;
typedef struct {
    int batch, seq_length; /* B streams of T steps */
    CnOptimConfig optim;
    double clip_value;     /* clip each gradient to [-v, v] first; 0: off */
    double clip_norm;      /* then rescale it to norm <= n; 0: off */
    double dropout, val_frac;
    uint64_t seed;
    uint64_t max_iters;    /* the run's target, kept so a resume continues it */
    CnSchedule schedule;
    uint64_t warmup;
    double lr_decay, lr_decay_after, lr_min, bptt_random;
    CnInit init;
    CnPrecision precision;
    double time_budget;    /* seconds; 0: none (the caller stops on it) */
    uint64_t eval_chars;   /* characters each validation predicts; 0: the whole tail */
    double plan_epochs;    /* the epochs a time budget's plan expected; 0: no plan */
} CnTrainConfig;
typedef struct {
    uint64_t iteration, epoch, chunk; /* iterations and epochs done; the next chunk */
    uint64_t corpus_bytes;            /* the training corpus, so a resume can check it */
    uint32_t corpus_crc;
    double smooth_loss, last_loss;    /* smooth: 0.99 smooth + 0.01 loss, from ln V */
    double val_loss, best_val_loss;   /* NaN: none */
    uint64_t best_iteration;
    double train_seconds;             /* summed over resumed runs */
    uint64_t run;                     /* the run's identity, kept by resumes */
    uint32_t version;                 /* format version of the file it was loaded from */
} CnProgress;

/* What precision "auto" means here: bf16 only where measured faster than fp32,
 * from the CPU and the shape, never by timing; *why gets the reason. */
CN_API CnPrecision cn_precision_auto(const CnShape *shape, int batch, const char **why);

/* Settings by name ("hidden", "lr": the flags without "--"), each with one range
 * and a default, from the table that also checks checkpoints. Messages quote
 * them ('val-frac'). */
typedef struct CnSettings CnSettings;
CN_API CnSettings *cn_settings_new(void); /* every setting at its default */
CN_API void cn_settings_free(CnSettings *s);
/* From text: a number, a name ("adam"), a duration ("10m"), its word ("all",
 * "auto": for the shape set so far, set it last); checked against its range. */
CN_API int cn_settings_set(CnSettings *s, const char *name, const char *value, CnError *err);
CN_API int cn_settings_get(const CnSettings *s, const char *name, char *out, size_t n);
CN_API CnShape *cn_settings_shape(CnSettings *s);        /* where the values live, to read */
CN_API CnTrainConfig *cn_settings_config(CnSettings *s); /* or set directly */
typedef struct {
    const char *name, *arg, *help; /* "lr", "X" (help's placeholder), one line */
    const char *def;               /* the default, as text */
    const char *word;              /* a word it also takes ("all", "auto"), or NULL */
    const char *const *choices;    /* an enum's names, or NULL */
    double lo, hi;                 /* the range; an open bound is excluded */
    int lo_open, hi_open, integer, seconds;
    int resumable;                 /* a resumed run may change it */
    int model, recorded;           /* part of the shape; set by a plan, not chosen */
} CnSettingInfo;
CN_API int cn_setting_info(int i, CnSettingInfo *info); /* i = 0, 1, ...; -1 past the last */

/* Checkpoints (charnn help files): saved atomically, every byte checked on load. */
enum { CN_CHECKPOINT_VERSION = 4 };
typedef struct CnCheckpoint CnCheckpoint;
CN_API CnCheckpoint *cn_checkpoint_load(const char *path, CnError *err);
CN_API const CnModel *cn_checkpoint_model(const CnCheckpoint *ck);
CN_API const CnTrainConfig *cn_checkpoint_config(const CnCheckpoint *ck); /* batch 0: none */
CN_API const CnProgress *cn_checkpoint_progress(const CnCheckpoint *ck);
CN_API CnSettings *cn_checkpoint_settings(const CnCheckpoint *ck);
CN_API void cn_checkpoint_free(CnCheckpoint *ck);

/* Training on a text, which must outlive the trainer: all but its held-out tail,
 * in B streams; iteration k trains on chunk k (T chars) of each. Alike on any threads. */
typedef struct CnTrainer CnTrainer;
typedef struct CnShard CnShard; /* several processes (charnn_tools.h); NULL: alone */
/* A new model over text's characters (refused up front if it won't fit memory). */
CN_API CnTrainer *cn_trainer_new(const CnText *text, CnCell cell, int hidden, int layers,
                                 const CnTrainConfig *cfg, int threads, const CnShard *shard,
                                 CnError *err);
CN_API CnTrainer *cn_trainer_start(const CnText *text, const CnSettings *s, int threads,
                                   CnError *err); /* cn_trainer_new of the settings, alone */
/* A new run from a checkpoint's weights (new characters join the vocabulary). */
CN_API CnTrainer *cn_trainer_from(CnCheckpoint *ck, const CnText *text, const CnTrainConfig *cfg,
                                  int threads, const CnShard *shard, CnError *err);
/* Its run continued exactly, cfg its own (resumable settings changed at will).
 * Both take ck's model and state: free ck afterwards either way. */
CN_API CnTrainer *cn_trainer_resume(CnCheckpoint *ck, const CnText *text, const CnTrainConfig *cfg,
                                    int threads, const CnShard *shard, CnError *err);
typedef enum { CN_STEP_OK, CN_STEP_DIVERGED, CN_STEP_BAD_TEXT } CnStepResult;
#define CN_LOSS_LIMIT 1e4 /* nats/char; a uniform guess over Unicode costs 13.9 */
/* One iteration; a non-finite (or > CN_LOSS_LIMIT) loss, gradient or update:
 * CN_STEP_DIVERGED, nothing changed (a bad update: the run no longer saves). */
CN_API CnStepResult cn_trainer_step(CnTrainer *tr, double *loss);
/* Validates: 1 if the best so far, 0 if not or without a tail (*loss NaN), -1. */
CN_API int cn_trainer_validate(CnTrainer *tr, double *loss, CnError *err);
CN_API int cn_trainer_save(CnTrainer *tr, const char *path, CnError *err);
typedef struct {
    size_t train_chars, val_chars; /* the corpus's training head and validation tail */
    size_t val_evaluated;          /* predictions each validation makes */
    uint64_t chunks_per_epoch;
    double epoch;                  /* epochs done, as a fraction */
    double lr;                     /* learning rate of the last step */
    double grad_norm;              /* its norm after clip-value, before clip-norm; NaN: none */
    int threads;
} CnTrainStatus;
CN_API CnTrainStatus cn_trainer_status(const CnTrainer *tr);
CN_API const CnProgress *cn_trainer_progress(const CnTrainer *tr);
CN_API const CnTrainConfig *cn_trainer_config(const CnTrainer *tr);
CN_API const CnModel *cn_trainer_model(const CnTrainer *tr);
CN_API void cn_trainer_set_target(CnTrainer *tr, uint64_t max_iters);
CN_API void cn_trainer_free(CnTrainer *tr);

/* Mean -ln p of each character given those before, from a zero state: nats per
 * character over *count = N-1 predictions (NaN on error); _each also fills
 * nats[0..N-1) with every prediction's own. */
CN_API double cn_evaluate(const CnModel *model, const CnText *text, int seq_length, int threads,
                          size_t *count, CnError *err);
CN_API double cn_evaluate_each(const CnModel *model, const CnText *text, int threads,
                               double *nats, size_t *count, CnError *err);
/* One prediction seen from inside (cn_score): pos+1 predicted after 0..pos. */
typedef struct {
    size_t pos;
    int target;                         /* character pos+1's index in the vocabulary */
    double nats;                        /* -ln p[target] */
    const CnReal *probs;                /* (V) p = softmax(y) */
    const CnReal *h[CN_MAX_LAYERS];     /* (H) layer l's h_t after reading pos */
    const CnReal *c[CN_MAX_LAYERS];     /* (H) c_t (lstm, peephole), else NULL */
    const CnReal *gates[CN_MAX_LAYERS]; /* (G*H) gate values, blocks cn_gate_name names */
} CnStep;
typedef int (*CnStepFn)(void *ctx, const CnStep *step); /* non-zero: stop, with an error */
CN_API double cn_score(const CnModel *model, const CnText *text, int seq_length, int threads,
                       CnStepFn fn, void *ctx, size_t *count, CnError *err);
CN_API int cn_cell_gates(CnCell cell);              /* gate blocks G: rnn 1, gru 3, lstm 4 */
CN_API const char *cn_gate_name(CnCell cell, int g); /* "i" .. "g", "r" "u" "n", "h" */

/* Sampling. */
typedef struct {
    double temperature; /* > 0: p = softmax(logits / temperature) */
    int top_k;          /* draw among the k most likely; 0: all */
    int argmax;         /* 1: always the most likely */
    double top_p;       /* in (0, 1): among the fewest most likely holding this share */
} CnSampleOptions;
typedef struct CnSampler CnSampler; /* uses the model, which must outlive it */
CN_API CnSampler *cn_sampler_new(const CnModel *model, uint64_t seed, CnError *err);
CN_API CnSampler *cn_sampler_streams(const CnModel *model, int streams, uint64_t seed,
                                     CnError *err); /* stream b draws what seed + b would */
/* A prime through every stream (an empty one: a newline, if in the vocabulary). */
CN_API int cn_sampler_feed(CnSampler *s, const char *utf8, size_t n, const char *name,
                           CnError *err);
CN_API uint32_t cn_sampler_draw(CnSampler *s, const CnSampleOptions *opt); /* stream 0's */
CN_API void cn_sampler_draw_all(CnSampler *s, const CnSampleOptions *opt, uint32_t *out);
CN_API void cn_sampler_free(CnSampler *s);
/* What charnn sample prints but its last newline (prime, `length` drawn) into
 * out, which holds n + 4 length + 1 bytes: *out_n of UTF-8, then a 0. */
CN_API int cn_sample_text(const CnModel *model, const char *prime, size_t n, size_t length,
                          uint64_t seed, double temperature, int top_k, double top_p, char *out,
                          size_t *out_n, CnError *err);
/* The likeliest continuation (about: `beams` kept), ended by a stop string. */
CN_API int cn_beam_search(const CnModel *model, const char *prime, size_t n, int beams,
                          size_t length, const char *stop, size_t stop_n, char **out,
                          size_t *out_n, double *logprob, CnError *err);

/* One pass over 2 to CN_TRACE_MAX_CHARS characters in double, every quantity of
 * the equations printed, text or JSON (charnn help trace; options: cn_trace_with). */
enum { CN_TRACE_MAX_CHARS = 1000 };
CN_API int cn_trace(FILE *out, const CnModel *model, const char *utf8, size_t n, int json,
                    CnError *err);
/* every parameter uniform in [-0.5, 0.5) */
CN_API CnModel *cn_model_random(const CnText *text, CnCell cell, int hidden, int layers,
                                uint64_t seed, CnError *err);

#endif /* CHARNN_H */
