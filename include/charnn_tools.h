/* SPDX-License-Identifier: MIT */
/*
 * libcharnn's engine room, for charnn's own tools and advanced callers:
 * what the command line uses besides charnn.h to run on several machines,
 * time itself, bound its commands and keep its files safe. Unlike charnn.h,
 * this may change from release to release.
 */
#ifndef CHARNN_TOOLS_H
#define CHARNN_TOOLS_H

#include "charnn.h"

/* The machine. */
CN_API const char *cn_kernels_name(void); /* "avx512", "avx2", "neon" or "generic" */
CN_API int cn_bf16_native(void); /* 1: bf16 products run on AVX512_BF16; 0: emulated */
/* The kernels' peak in GFLOP/s: independent chains of fused multiply-adds
 * on full vectors, on `threads` threads for about `seconds` (what charnn
 * bench compares a product with). */
CN_API double cn_fma_peak(int threads, double seconds);
CN_API uint64_t cn_physical_memory(void); /* bytes, 0 if unknown */
CN_API double cn_seconds(void);           /* a monotonic clock */

/* UTF-8 and random numbers (xoshiro256** seeded through splitmix64: the
 * same everywhere). */
CN_API int cn_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp); /* its length, 0: bad */
typedef struct {
    uint64_t s[4];
} CnRng;
CN_API void cn_rng_seed(CnRng *rng, uint64_t seed);
CN_API uint64_t cn_rng_next(CnRng *rng);
CN_API double cn_rng_uniform(CnRng *rng); /* [0, 1), 53 random bits */

CN_API const char *cn_text_bytes(const CnText *text, size_t *n); /* the UTF-8, n bytes */
/* Every character of text is in the vocabulary, or an error names the
 * first that is not (name: how messages call the text). */
CN_API int cn_model_covers(const CnModel *model, const CnText *text, const char *name,
                           CnError *err);
CN_API uint32_t cn_model_checksum(const CnModel *model); /* CRC-32 of the parameters */

/* Files. The temporary file a save of path writes first, "PATH.PID.tmp"
 * (-1 if it does not fit in n bytes); the checkpoint at src kept under the
 * name dst too (a hard link where possible, else a copy, renamed like a
 * save). */
CN_API int cn_temp_path(const char *path, char *tmp, size_t n);
CN_API int cn_checkpoint_keep(const char *src, const char *dst, CnError *err);

/* Data parallelism: several processes train one run, each its streams
 * [first, first + count) of the batch. After each backward pass reduce
 * sums grads (n values) and the scalars over all processes, in place, alike
 * on every one; parameters then stay equal without being sent. ready, if
 * set, is called during the backward pass as soon as grads[offset, offset +
 * n) is final, the output layer first, then each layer from the top, so
 * that their sums can start while the rest is computed. */
struct CnShard {
    int first, count;
    void (*reduce)(void *ctx, CnReal *grads, size_t n, double *scalars, int nscalars);
    void *ctx;
    void (*ready)(void *ctx, CnReal *grads, size_t offset, size_t n);
};
/* A save with the whole batch's carried state, gathered by the caller from
 * every shard's (cn_trainer_carried: h then c, (L, count, H) each; placed by
 * cn_state_place in an array of cn_state_values). */
CN_API int cn_trainer_save_state(CnTrainer *tr, const char *path, const CnReal *state,
                                 size_t len, CnError *err);
CN_API const CnReal *cn_trainer_carried(const CnTrainer *tr, size_t *len);
CN_API size_t cn_state_values(const CnShape *shape, int batch);
CN_API void cn_state_place(CnReal *global, const CnReal *local, const CnShape *shape,
                           int batch, int first, int count);

/* Bounds. Bytes a run would allocate besides the corpus (0 on overflow);
 * threads worth using for B streams of a shape (at most max); bytes of a
 * sampler of this many streams and of a beam search (SIZE_MAX: too many). */
CN_API size_t cn_trainer_bytes(const CnShape *shape, const CnTrainConfig *cfg, int threads);
CN_API int cn_threads_for(const CnShape *shape, int B, int max);
CN_API size_t cn_sampler_bytes(const CnShape *shape, int streams);
CN_API size_t cn_beam_bytes(const CnShape *shape, int beams, size_t length);
/* cn_beam_search watched by fn after each step (non-zero stops it): 0 when
 * it ran to its end, 1 when fn stopped it after *done steps (the best it
 * holds then in *out), -1 on error. */
typedef int (*CnBeamFn)(void *ctx, size_t done, size_t length);
CN_API int cn_beam_search_watch(const CnModel *model, const char *prime, size_t n, int beams,
                                size_t length, const char *stop, size_t stop_n, CnBeamFn fn,
                                void *ctx, char **out, size_t *out_n, double *logprob,
                                size_t *done, CnError *err);
/* order[0..returned) = the indices of the min(k, n) largest values, largest
 * first (equal values by lower index, NaN last): a heap, O(n log k). */
CN_API int cn_top_k(const CnReal *values, int n, int k, int *order);

/* Settings for a time budget (charnn help quality): times two
 * training steps (after one) of each candidate width, 384, 512 and 768 (or only
 * `hidden` when it is not 0), of a model of this cell and layers on text with
 * cfg on `threads` threads, wider ones only while the timing stays within 3%
 * of the budget; then picks the width whose epochs in the rest of the budget
 * promise the lowest validation loss, by the sweep the rule was fit on, and
 * that width's dropout at those epochs (the caller records plan->epochs in
 * cfg->plan_epochs). Depends on the machine's speed, as any run with a time
 * budget does. */
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

/* A run's clock and file. Training time so far (what a save records) and
 * the share of a time budget used, which a cosine schedule follows
 * (negative: iterations); a run that goes on in another file than its own
 * branches off, with an identity derived from its own and `where`. */
CN_API void cn_trainer_set_time(CnTrainer *tr, double train_seconds, double budget_fraction);
CN_API void cn_trainer_branch(CnTrainer *tr, const char *where);
/* The validation loss a run of configuration cfg measures on its corpus:
 * from cfg->batch equal parts of the held-out tail, eval_chars predictions
 * in all (0: the whole tail), the same every time; NaN without a tail. */
CN_API double cn_validation_loss(const CnModel *model, const CnText *corpus,
                                 const CnTrainConfig *cfg, int threads, size_t *count,
                                 CnError *err);

/* Where a step's time goes: attach a profile and every phase adds its
 * seconds (thread 0's), and the products count what they pack. */
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
    uint64_t packs;   /* operands packed into the kernels' layout or rounded to bf16 */
    uint64_t rounded; /* values rounded to bfloat16 on the way */
    uint64_t copied;  /* values copied in fp32 */
    uint64_t macs;    /* multiply-adds */
} CnProfile;
CN_API const char *cn_phase_name(CnPhase phase);
CN_API void cn_trainer_profile(CnTrainer *tr, CnProfile *profile); /* NULL: stop */

/* Checking the backward pass: a random model of shape, random inputs on B
 * streams for T steps, a random carried-in state and fixed dropout masks;
 * each tensor's worst relative error |a - n| / max(|a| + |n|, floor)
 * between its analytic gradient and the fourth-order central difference.
 * In float a correct gradient is within about 1e-2, in double 1e-6. */
typedef struct {
    char name[24]; /* "l0.Wx", "l1.peep", "Wy", ... */
    size_t entries;
    double worst;
} CnGradcheck;
CN_API int cn_gradcheck(const CnShape *shape, int B, int T, double dropout, uint64_t seed,
                        CnGradcheck *out, int max, CnError *err);

/* cn_trace for the setups of textbooks and homework: what a trace computes
 * and prints besides the model's own pass (all 0: training's, as cn_trace). */
typedef struct {
    int json;    /* 1: one JSON object; 0: readable text */
    int sum;     /* 1: L = Σ_t J_t, J_t = -ln p_t[target_t] (the notes' J);
                    0: the mean (1/T) Σ_t J_t, which training minimizes */
    int linear;  /* rnn only: h_t = a_h (the identity) in place of tanh(a_h) */
    int no_bias; /* the cells and the output layer without biases: every b taken
                    as 0 and neither printed nor differentiated */
    int terms;   /* also J_t's own terms: dJ_t/dh_i for every i <= t and dJ_t/dW,
                    from the backward pass of J_t alone; t in 1..T, -1: for every
                    t, 0: none */
} CnTraceOptions;
CN_API int cn_trace_with(FILE *out, const CnModel *model, const char *utf8, size_t n,
                         const CnTraceOptions *opt, CnError *err);

/* charnn export --format c and --quantize. */
/* How an export stores the weight matrices (charnn help export):
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
 * -DCHARNN_MAIN a program printing what charnn sample prints (charnn help
 * export). 0, or -1 with err (a name that is no C identifier, a write
 * error). */
CN_API int cn_export_c(FILE *out, const CnModel *model, const CnExportC *opt, CnError *err);

#endif /* CHARNN_TOOLS_H */
