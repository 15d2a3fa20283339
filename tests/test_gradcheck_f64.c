/* SPDX-License-Identifier: MIT */
/*
 * Finite-difference gradient checks, in double precision (this test links
 * the library built with -DCHARNN_DOUBLE). For every cell kind, with two
 * layers (and one), B = 3 streams, T = 4 steps, a non-zero carried-in state
 * and dropout on the layers' outputs (fixed masks), cn_gradcheck compares every
 * parameter's analytic gradient with the fourth-order central difference
 *     n = (-L(w+2e) + 8 L(w+e) - 8 L(w-e) + L(w-2e)) / 12e,   e = 1e-3,
 * of the mean loss L over the B*T predictions.
 * Error budget: truncation is e^4 |L^(5)| / 30 ~ 3e-14; rounding is about
 * 18/12 * 2.2e-16 * |L| / e ~ 5e-13 (|L| ~ 1.6). The relative error
 *     |a - n| / max(|a| + |n|, 1e-6)
 * of a correct gradient is therefore below ~5e-7 even for the smallest
 * entries, while a wrong term (a missing factor, a wrong sign, a gate mixed
 * up) gives errors of order 1. The bound is 1e-5.
 */
#include "check.h"
#include "core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void run(CnCell cell, int layers, double dropout)
{
    CnShape shape = {cell, 5, 4, layers};
    CnGradcheck t[4 * CN_MAX_LAYERS + 2];
    CnError err;
    int n = cn_gradcheck(&shape, 3, 4, dropout, 42 + (uint64_t)cell, t, 4 * CN_MAX_LAYERS + 2,
                         &err);
    CHECK(n > 0, "gradcheck %s ran: %s", cn_name_of(cn_cell_names, cell), n > 0 ? "" : err.msg);
    for (int k = 0; k < n; k++)
        CHECK(t[k].worst < 1e-5, "gradcheck %-8s %d layer%s dropout %.2f %-7s %3zu entries, "
              "worst relative error %.2e", cn_name_of(cn_cell_names, cell), layers, layers == 1 ? "" : "s",
              dropout, t[k].name, t[k].entries, t[k].worst);
}

/* Dropout reaches the output layer too: a one-layer model's training loss
 * changes with the masks, and masks that keep everything change nothing. */
static void check_output_dropout(void)
{
    enum { B = 3, T = 4, H = 4 };
    CnError err;
    CnVocab vocab;
    uint32_t *chars = malloc(5 * sizeof *chars);
    for (int k = 0; k < 5; k++)
        chars[k] = 'a' + (uint32_t)k;
    cn_vocab_from_chars(&vocab, chars, 5, &err);
    CnModel m;
    CnActs acts;
    cn_model_init(&m, CN_LSTM, H, 1, &vocab, &err);
    cn_acts_init(&acts, &m.shape, B, T, 0.5, 1, CN_MUL_FP32, NULL, &err);
    CnRng rng;
    cn_rng_seed(&rng, 7);
    cn_model_randomize(&m, CN_INIT_UNIFORM, &rng, &err);
    int ids[T * B], targets[T * B];
    for (int i = 0; i < T * B; i++)
        ids[i] = i % 5, targets[i] = (i + 1) % 5;
    double plain = cn_forward(&m, &acts, ids, targets, T, NULL);
    double dropped = cn_forward(&m, &acts, ids, targets, T, &rng);
    CHECK(acts.dropped && fabs(dropped - plain) > 1e-6,
          "dropout on a one-layer model's output changes its loss: %.6f to %.6f", plain,
          dropped);
    acts.dropout = 1e-300; /* keep = 1/(1-p) = 1 and nothing dropped */
    double kept = cn_forward(&m, &acts, ids, targets, T, &rng);
    CHECK(kept == plain, "masks that keep every unit give the plain loss exactly");
    cn_acts_free(&acts);
    cn_model_release(&m);
}

/* The masks: a fraction p of zeros (within 5 standard deviations), the rest
 * 1/(1-p), no two rows alike, new masks on every pass. */
static void check_mask_statistics(void)
{
    enum { B = 8, T = 16, H = 64, L = 2 };
    const double p = 0.3;
    CnError err;
    CnVocab vocab;
    uint32_t *chars = malloc(5 * sizeof *chars);
    for (int k = 0; k < 5; k++)
        chars[k] = 'a' + (uint32_t)k;
    cn_vocab_from_chars(&vocab, chars, 5, &err);
    CnModel m;
    CnActs acts;
    cn_model_init(&m, CN_GRU, H, L, &vocab, &err);
    cn_acts_init(&acts, &m.shape, B, T, p, 1, CN_MUL_FP32, NULL, &err);
    CnRng rng;
    cn_rng_seed(&rng, 3);
    cn_model_randomize(&m, CN_INIT_UNIFORM, &rng, &err);
    int ids[T * B] = {0}, targets[T * B] = {0};
    cn_forward(&m, &acts, ids, targets, T, &rng);
    const CnReal *masks[2] = {acts.layer[1].mask, acts.top_mask};
    size_t n = (size_t)T * B * H, zeros = 0, others = 0, alike = 0;
    CnReal keep = (CnReal)(1 / (1 - p));
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < n; i++)
            zeros += masks[k][i] == 0, others += masks[k][i] != 0 && masks[k][i] != keep;
    for (int i = 0; i < 2 * T * B; i++) /* rows of both masks, every pair */
        for (int j = i + 1; j < 2 * T * B; j++)
            alike += !memcmp(masks[i / (T * B)] + (size_t)(i % (T * B)) * H,
                             masks[j / (T * B)] + (size_t)(j % (T * B)) * H, H * sizeof(CnReal));
    double frac = (double)zeros / (2.0 * n), sd = sqrt(p * (1 - p) / (2.0 * n));
    CHECK(fabs(frac - p) < 5 * sd && others == 0 && alike == 0,
          "dropout masks: %.4f of %zu values dropped (p = %.2f), the rest 1/(1-p); rows all "
          "different", frac, 2 * n, p);
    CnReal first[H];
    memcpy(first, acts.top_mask, sizeof first);
    cn_forward(&m, &acts, ids, targets, T, &rng);
    CHECK(memcmp(first, acts.top_mask, sizeof first) != 0, "each pass draws new masks");
    cn_acts_free(&acts);
    cn_model_release(&m);
}

/* Forward must not move the carried state; only cn_acts_carry_state does. */
static void check_state_untouched(void)
{
    enum { B = 3, T = 4, H = 4, L = 2 };
    CnError err;
    CnVocab vocab;
    uint32_t *chars = malloc(5 * sizeof *chars);
    for (int k = 0; k < 5; k++)
        chars[k] = 'a' + (uint32_t)k;
    cn_vocab_from_chars(&vocab, chars, 5, &err);
    CnModel m;
    CnActs acts;
    cn_model_init(&m, CN_LSTM, H, L, &vocab, &err);
    cn_acts_init(&acts, &m.shape, B, T, 0, 1, CN_MUL_FP32, NULL, &err);
    CnRng rng;
    cn_rng_seed(&rng, 7);
    cn_model_randomize(&m, CN_INIT_UNIFORM, &rng, &err);
    size_t nstate = 2 * (size_t)L * B * H, BH = (size_t)B * H;
    CnReal before[2 * L * B * H];
    for (size_t i = 0; i < nstate; i++)
        acts.state_h[i] = before[i] = (CnReal)cn_rng_uniform(&rng);
    int ids[T * B] = {0}, targets[T * B] = {1};
    cn_forward(&m, &acts, ids, targets, T, NULL);
    CHECK(memcmp(acts.state_h, before, sizeof before) == 0,
          "forward leaves the carried state alone");
    cn_acts_carry_state(&acts);
    CHECK(memcmp(acts.state_h, acts.layer[0].h + T * BH, BH * sizeof(CnReal)) == 0 &&
              memcmp(acts.state_c + BH, acts.layer[1].c + T * BH, BH * sizeof(CnReal)) == 0,
          "carry copies h_T and c_T of every layer");
    cn_acts_free(&acts);
    cn_model_release(&m);
}

/* bf16 products exist in the single-precision build only: this one refuses
 * them rather than train in a precision it does not have. */
static void check_no_bf16(void)
{
    const char corpus[] = "the cat sat on the mat. the rat sat on the hat.\n";
    CnError err;
    CnText *text = cn_text_from_memory(corpus, strlen(corpus), "the corpus", &err);
    CnTrainConfig cfg = {.batch = 2, .seq_length = 8,
                         .optim = {.kind = CN_ADAM, .lr = 1e-2, .beta1 = 0.9, .beta2 = 0.999,
                                   .eps = 1e-8},
                         .clip_norm = 5, .val_frac = 0.1, .seed = 3, .bptt_random = 1,
                         .lr_decay = 0.97, .precision = CN_BF16};
    CnTrainer *tr = text ? cn_trainer_new(text, CN_GRU, 8, 1, &cfg, 1, NULL, &err) : NULL;
    CHECK(text && !tr && strstr(err.msg, "single-precision"),
          "the double build refuses bf16 products: %s", tr ? "it trained" : err.msg);
    cn_trainer_free(tr);
    cn_text_free(text);
}

int main(void)
{
    const CnCell cells[] = {CN_RNN, CN_LSTM, CN_PEEPHOLE, CN_GRU};
    check_no_bf16();
    for (int k = 0; k < 4; k++) {
        run(cells[k], 2, 0.0);
        run(cells[k], 2, 0.25);
        run(cells[k], 1, 0.25);
    }
    check_output_dropout();
    check_mask_statistics();
    check_state_untouched();
    return check_status();
}
