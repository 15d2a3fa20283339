/* SPDX-License-Identifier: MIT */
/*
 * A new run from a checkpoint's weights on a text with characters the
 * checkpoint's vocabulary lacks (cn_trainer_from), for every cell kind, 1
 * and 2 layers, with and without dropout, both initialisations: the
 * vocabulary becomes the sorted union; every old character keeps its
 * input weights (row of layer 0's Wx), output weights (column of Wy) and
 * output bias, and every other tensor is the checkpoint's, bit for bit,
 * before any step; the new characters' weights are those a new model of
 * the run would start with (same seed, same init), within the documented
 * ranges. Then a few steps, a save and a load give the trainer's model
 * back, and resuming that checkpoint on the new text goes on exactly as the
 * run itself does. A resume of the old checkpoint on the new text is
 * refused, pointing to --init-from; a text with no new character changes
 * nothing.
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "tempdir.h"
#include "core.h"

#include <stdlib.h>
#include <string.h>

static char dir[200]; /* check_temp_dir says so if TMPDIR is too long */

/* The old text's characters are '\n', ' ', a b c x y z; the new one adds
 * '\t' before them all, 'A' and 'm' between them, 'é' after them, and
 * lacks 'y', which stays. */
static const char *const old_line = "abc xyz zyx cab\n";
static const char *const new_line = "abc\txz Am zx é cab\n";
static const uint32_t union_chars[] = {'\t', '\n', ' ', 'A', 'a', 'b', 'c', 'm', 'x', 'y', 'z',
                                       0xe9};
enum { NU = sizeof union_chars / sizeof union_chars[0], HIDDEN = 6 };

/* `reps` copies of line into a CnText of its own (its bytes in buf). */
static void text_of(CnText *text, char *buf, size_t cap, const char *line, int reps)
{
    CnError err;
    size_t len = strlen(line), n = 0;
    for (int i = 0; i < reps && n + len < cap; i++, n += len)
        memcpy(buf + n, line, len);
    if (cn_text_wrap(text, buf, n, line, &err) != 0)
        CHECK(0, "the test's text: %s", err.msg);
}

static CnTrainConfig config(double dropout, CnInit init, uint64_t seed)
{
    return (CnTrainConfig){.batch = 3, .seq_length = 8,
                           .optim = {CN_ADAM, 1e-2, 0.9, 0.9, 0.999, 1e-8, 0.95},
                           .clip_norm = 5, .dropout = dropout, .val_frac = 0.1, .seed = seed,
                           .lr_decay = 0.97, .lr_decay_after = 10, .bptt_random = 1,
                           .init = init};
}

static void steps(CnTrainer *tr, int n)
{
    double loss;
    for (int i = 0; i < n; i++)
        cn_trainer_step(tr, &loss);
}

static int same(const CnReal *a, const CnReal *b, size_t n)
{
    return memcmp(a, b, n * sizeof *a) == 0;
}

/* Every tensor of a and b but layer 0's Wx and the output layer (models of
 * one cell, hidden size and layers) is the same, bit for bit. */
static int same_inner(const CnModel *a, const CnModel *b)
{
    size_t H = (size_t)a->shape.hidden, GH = (size_t)cn_cell_gates(a->shape.cell) * H;
    int ok = 1;
    for (int l = 0; l < a->shape.layers; l++) {
        const CnLayerView *x = &a->w.layer[l], *y = &b->w.layer[l];
        ok &= (l == 0 || same(x->Wx, y->Wx, H * GH)) && same(x->Wh, y->Wh, H * GH) &&
              same(x->b, y->b, GH) && (!x->peep || same(x->peep, y->peep, 3 * H));
    }
    return ok;
}

/* Character j of grown and character k of m have the same input row,
 * output column and output bias, bit for bit. */
static int same_char(const CnModel *grown, int j, const CnModel *m, int k)
{
    size_t H = (size_t)m->shape.hidden, GH = (size_t)cn_cell_gates(m->shape.cell) * H;
    size_t Vg = (size_t)grown->shape.vocab, Vm = (size_t)m->shape.vocab;
    int ok = same(grown->w.layer[0].Wx + (size_t)j * GH, m->w.layer[0].Wx + (size_t)k * GH, GH) &&
             grown->w.by[j] == m->w.by[k];
    for (size_t h = 0; h < H; h++)
        ok &= grown->w.Wy[h * Vg + (size_t)j] == m->w.Wy[h * Vm + (size_t)k];
    return ok;
}

/* Character j's input row and output column lie within the bounds for
 * init of charnn help model ( uniform 1/sqrt(H); orthogonal: Glorot, sqrt(6 / (fan_in
 * + fan_out)), V and H for both), not all zero; its output bias is 0. */
static int in_init_range(const CnModel *m, int j, CnInit init)
{
    size_t H = (size_t)m->shape.hidden, GH = (size_t)cn_cell_gates(m->shape.cell) * H;
    size_t V = (size_t)m->shape.vocab;
    double bound = init == CN_INIT_UNIFORM ? 1 / sqrt((double)H) : sqrt(6.0 / (double)(V + H));
    double biggest = 0;
    for (size_t i = 0; i < GH; i++)
        biggest = fmax(biggest, fabs(m->w.layer[0].Wx[(size_t)j * GH + i]));
    for (size_t h = 0; h < H; h++)
        biggest = fmax(biggest, fabs(m->w.Wy[h * V + (size_t)j]));
    return biggest > 0 && biggest <= bound && m->w.by[j] == 0;
}

static int save_and_load(CnTrainer *tr, const char *path, CnCheckpoint **ck)
{
    CnError err;
    *ck = NULL;
    if (cn_trainer_save(tr, path, &err) != 0 || !(*ck = cn_checkpoint_load(path, &err))) {
        CHECK(0, "save and load %s: %s", path, err.msg);
        return -1;
    }
    return 0;
}

/* both: a text of the union's characters, for a fresh model of its shape */
static void grow_case(const CnText *old_text, const CnText *new_text, const CnText *both,
                      CnCell cell, int layers, double dropout, CnInit init)
{
    CnError err;
    char what[96], path[256], path2[256];
    snprintf(what, sizeof what, "%s, %d layer%s, dropout %g, %s init",
             cn_name_of(cn_cell_names, cell), layers, layers == 1 ? "" : "s", dropout,
             cn_name_of(cn_init_names, init));
    snprintf(path, sizeof path, "%s/old.ckpt", dir);
    snprintf(path2, sizeof path2, "%s/new.ckpt", dir);

    /* the checkpoint: a few steps on the old text */
    CnTrainConfig old_cfg = config(dropout, init, 3), cfg = config(dropout, init, 11);
    CnTrainer *a = cn_trainer_new(old_text, cell, HIDDEN, layers, &old_cfg, 2, NULL, &err);
    CnCheckpoint *ck = NULL, *ref = NULL, *again = NULL;
    if (!a) {
        CHECK(0, "%s: a run on the old text: %s", what, err.msg);
        return;
    }
    steps(a, 5);
    int saved = save_and_load(a, path, &ck) == 0 && (ref = cn_checkpoint_load(path, &err)) &&
                (again = cn_checkpoint_load(path, &err));
    cn_trainer_free(a);
    if (!saved) {
        CHECK(0, "%s: the checkpoint: %s", what, err.msg);
        cn_checkpoint_free(ck), cn_checkpoint_free(ref), cn_checkpoint_free(again);
        return;
    }
    const CnModel *old = cn_checkpoint_model(ref);

    /* the new run on the new text, a second one like it, and a fresh model */
    CnTrainer *tr = cn_trainer_from(ck, new_text, &cfg, 2, NULL, &err);
    cn_checkpoint_free(ck);
    CnTrainer *twin = cn_trainer_from(again, new_text, &cfg, 1, NULL, &err);
    cn_checkpoint_free(again);
    CnTrainer *fresh = cn_trainer_new(both, cell, HIDDEN, layers, &cfg, 1, NULL, &err);
    if (!tr || !twin || !fresh) {
        CHECK(0, "%s: cn_trainer_from on new characters: %s", what, err.msg);
        cn_trainer_free(tr), cn_trainer_free(twin), cn_trainer_free(fresh);
        cn_checkpoint_free(ref);
        return;
    }
    const CnModel *m = cn_trainer_model(tr), *f = cn_trainer_model(fresh);
    CHECK(m->shape.vocab == NU && memcmp(m->vocab.chars, union_chars, sizeof union_chars) == 0 &&
              cn_model_params(m) == cn_model_params(f),
          "%s: the vocabulary is the sorted union (%d characters), the shape a new model's",
          what, m->shape.vocab);
    if (m->shape.vocab != NU) {
        cn_trainer_free(tr), cn_trainer_free(twin), cn_trainer_free(fresh);
        cn_checkpoint_free(ref);
        return;
    }
    int olds = 1, news = 1, ranged = 1;
    for (int j = 0; j < NU; j++) {
        int k = cn_vocab_index(&old->vocab, union_chars[j]);
        if (k >= 0)
            olds &= same_char(m, j, old, k);
        else
            news &= same_char(m, j, f, j), ranged &= in_init_range(m, j, init);
    }
    CHECK(olds && same_inner(m, old),
          "%s: every old character's input row, output column and bias, and every other "
          "tensor, are the checkpoint's, bit for bit", what);
    CHECK(news && ranged,
          "%s: the new characters' weights are a new model's (same seed and init), within "
          "the init's range, output biases 0", what);
    CHECK(same(m->params, cn_trainer_model(twin)->params, m->nparams),
          "%s: the same seed grows the same model", what);
    CHECK(cn_trainer_progress(tr)->iteration == 0 &&
              cn_trainer_progress(tr)->run != cn_checkpoint_progress(ref)->run,
          "%s: the grown run starts at iteration 0 with an identity of its own", what);
    cn_trainer_free(twin);
    cn_trainer_free(fresh);

    /* a few steps, save, load: the same model; resumed, the same run */
    steps(tr, 4);
    CnCheckpoint *back;
    if (save_and_load(tr, path2, &back) == 0) {
        const CnModel *b = cn_checkpoint_model(back);
        CHECK(b->shape.vocab == NU && memcmp(b->vocab.chars, union_chars, sizeof union_chars) == 0 &&
                  b->nparams == m->nparams && same(b->params, m->params, m->nparams),
              "%s: after 4 steps, save and load give the grown model back", what);
        CnTrainConfig rcfg = *cn_checkpoint_config(back);
        CnTrainer *r = cn_trainer_resume(back, new_text, &rcfg, 1, NULL, &err);
        cn_checkpoint_free(back);
        if (r) {
            steps(tr, 3);
            steps(r, 3);
        }
        CHECK(r && cn_trainer_progress(r)->iteration == 7 &&
                  same(cn_trainer_model(r)->params, m->params, m->nparams),
              "%s: resumed on the new text, 3 more steps equal the run's own, bit for bit%s%s",
              what, r ? "" : ": ", r ? "" : err.msg);
        cn_trainer_free(r);
    }
    cn_trainer_free(tr);
    cn_checkpoint_free(ref);
}

/* The refusals and the unchanged case, on one checkpoint. */
static void test_resume_and_no_growth(const CnText *old_text, const CnText *new_text)
{
    CnError err;
    char path[256];
    snprintf(path, sizeof path, "%s/plain.ckpt", dir);
    CnTrainConfig cfg = config(0.3, CN_INIT_ORTHOGONAL, 3);
    CnTrainer *a = cn_trainer_new(old_text, CN_LSTM, HIDDEN, 2, &cfg, 1, NULL, &err);
    CnCheckpoint *ck = NULL, *ref = NULL;
    if (!a) {
        CHECK(0, "a run on the old text: %s", err.msg);
        return;
    }
    steps(a, 3);
    int saved = save_and_load(a, path, &ck) == 0 && (ref = cn_checkpoint_load(path, &err));
    cn_trainer_free(a);
    if (!saved) {
        cn_checkpoint_free(ck);
        return;
    }
    CnTrainConfig rcfg = *cn_checkpoint_config(ck);
    CnTrainer *r = cn_trainer_resume(ck, new_text, &rcfg, 1, NULL, &err);
    cn_checkpoint_free(ck);
    CHECK(!r && strstr(err.msg, "U+0009") && strstr(err.msg, "'init-from'") &&
              !strchr(err.msg, '\n'),
          "a resume on a text with new characters is refused, naming the first and pointing "
          "to 'init-from' (a setting's name, not a flag): %s", r ? "(accepted)" : err.msg);
    cn_trainer_free(r);

    /* on the old text itself nothing grows: the checkpoint's model as it is */
    ck = cn_checkpoint_load(path, &err);
    CnTrainer *same_text = ck ? cn_trainer_from(ck, old_text, &cfg, 1, NULL, &err) : NULL;
    cn_checkpoint_free(ck);
    const CnModel *old = cn_checkpoint_model(ref);
    CHECK(same_text && cn_trainer_model(same_text)->shape.vocab == old->shape.vocab &&
              same(cn_trainer_model(same_text)->params, old->params, old->nparams),
          "cn_trainer_from on a text without new characters keeps the model as it is");
    cn_trainer_free(same_text);
    cn_checkpoint_free(ref);
}

int main(void)
{
    if (!check_temp_dir(dir, sizeof dir, "grow"))
        return 1;
    static char old_buf[1 << 13], new_buf[1 << 13];
    CnText old_text, new_text;
    text_of(&old_text, old_buf, sizeof old_buf, old_line, 100);
    text_of(&new_text, new_buf, sizeof new_buf, new_line, 100);
    static char both_buf[8192];
    CnText both;
    memcpy(both_buf, old_line, strlen(old_line) + 1);
    strcat(both_buf, new_line);
    text_of(&both, both_buf + 4096, 4096, both_buf, 100);
    const CnCell cells[] = {CN_RNN, CN_LSTM, CN_PEEPHOLE, CN_GRU};
    /* each cell: both layer counts, both dropouts, both inits */
    const struct {
        int layers;
        double dropout;
        CnInit init;
    } cases[] = {{1, 0, CN_INIT_UNIFORM}, {1, 0.3, CN_INIT_ORTHOGONAL},
                 {2, 0, CN_INIT_ORTHOGONAL}, {2, 0.3, CN_INIT_UNIFORM}};
    for (int c = 0; c < 4; c++)
        for (int k = 0; k < 4; k++)
            grow_case(&old_text, &new_text, &both, cells[c], cases[k].layers, cases[k].dropout,
                      cases[k].init);
    test_resume_and_no_growth(&old_text, &new_text);
    cn_text_release(&old_text);
    cn_text_release(&new_text);
    cn_text_release(&both);
    if (check_remove_dir(dir) != 0)
        return 1;
    return check_status();
}
