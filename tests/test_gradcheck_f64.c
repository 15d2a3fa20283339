/* SPDX-License-Identifier: MIT */
/*
 * Finite-difference gradient checks, in double precision (this test links
 * the library built with -DCHARNN_DOUBLE). For every cell kind, with two
 * layers, B = 3 streams, T = 4 steps, a non-zero carried-in state and
 * dropout between the layers (fixed masks), cn_gradcheck compares every
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
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static void run(CnCell cell, double dropout)
{
    CnShape shape = {cell, 5, 4, 2};
    CnGradcheck t[4 * CN_MAX_LAYERS + 2];
    CnError err;
    int n = cn_gradcheck(&shape, 3, 4, dropout, 42 + (uint64_t)cell, t, 4 * CN_MAX_LAYERS + 2,
                         &err);
    CHECK(n > 0, "gradcheck %s ran: %s", cn_cell_name(cell), n > 0 ? "" : err.msg);
    for (int k = 0; k < n; k++)
        CHECK(t[k].worst < 1e-5, "gradcheck %-8s dropout %.2f %-7s %3zu entries, worst relative "
              "error %.2e", cn_cell_name(cell), dropout, t[k].name, t[k].entries, t[k].worst);
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
    cn_acts_init(&acts, &m.shape, B, T, 0, 1, NULL, &err);
    CnRng rng;
    cn_rng_seed(&rng, 7);
    cn_model_randomize(&m, CN_INIT_UNIFORM, &rng);
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
    cn_model_free(&m);
}

int main(void)
{
    const CnCell cells[] = {CN_RNN, CN_LSTM, CN_PEEPHOLE, CN_GRU};
    for (int k = 0; k < 4; k++) {
        run(cells[k], 0.0);
        run(cells[k], 0.25);
    }
    check_state_untouched();
    return check_status();
}
