/* SPDX-License-Identifier: MIT */
/*
 * The public interface as a program linking libcharnn uses it, through
 * charnn.h alone: text, a new run, steps, validation, a save, a checkpoint
 * loaded and resumed with its own configuration (the pointer
 * cn_checkpoint_config returns), sampling and scoring; settings a
 * checkpoint could not hold are refused before a run starts.
 */
#define _POSIX_C_SOURCE 200809L
#include "charnn.h"
#include "check.h"
#include "tempdir.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The library's defaults, and a few settings by name, as a program sets them. */
static CnTrainConfig small_config(void)
{
    static const char *const given[][2] = {
        {"batch", "2"},   {"seq-length", "8"},          {"lr", "0.01"}, {"dropout", "0"},
        {"seed", "3"},    {"lr-schedule", "constant"}, {"warmup", "0"}, {"precision", "fp32"}};
    CnSettings *s = cn_settings_new();
    CnError err;
    int ok = s != NULL;
    for (size_t i = 0; ok && i < sizeof given / sizeof given[0]; i++)
        ok = cn_settings_set(s, given[i][0], given[i][1], &err) == 0;
    CHECK(ok, "set-up: the defaults and settings by name");
    CnTrainConfig c = *cn_settings_config(s);
    cn_settings_free(s);
    return c;
}

int main(void)
{
    char dir[512], path[600];
    if (!check_temp_dir(dir, sizeof dir, "api"))
        return 1;
    snprintf(path, sizeof path, "%s/model.ckpt", dir);
    const char corpus[] = "the cat sat on the mat. the cat sat on the hat.\n"
                          "the rat sat on the cat. the hat sat on the rat.\n";
    CnError err;
    CnText *text = cn_text_from_memory(corpus, strlen(corpus), "the corpus", &err);
    CHECK(text && cn_text_chars(text) == strlen(corpus), "a text from memory");
    CnTrainConfig cfg = small_config();
    CnTrainer *tr = text ? cn_trainer_new(text, CN_GRU, 8, 1, &cfg, 1, NULL, &err) : NULL;
    CHECK(tr != NULL, "a new run: %s", tr ? "made" : err.msg);
    if (!tr)
        return check_status();
    double loss;
    int ok = 1;
    for (int i = 0; i < 5; i++)
        ok = ok && cn_trainer_step(tr, &loss) == CN_STEP_OK;
    double val;
    int best = cn_trainer_validate(tr, &val, &err);
    CHECK(ok && cn_trainer_progress(tr)->iteration == 5 && best == 1 && isfinite(val) &&
              cn_trainer_progress(tr)->best_iteration == 5,
          "5 steps, and the first validation is the best so far (%.4f)", val);
    CHECK(cn_trainer_save(tr, path, &err) == 0, "a save: %s", err.msg);
    cn_trainer_step(tr, &loss);
    double after = cn_trainer_progress(tr)->smooth_loss;
    cn_trainer_free(tr);

    /* resume with the checkpoint's own configuration, as it comes */
    CnCheckpoint *ck = cn_checkpoint_load(path, &err);
    CHECK(ck && cn_checkpoint_progress(ck)->iteration == 5 &&
              cn_checkpoint_config(ck)->batch == 2 &&
              cn_checkpoint_progress(ck)->version == CN_CHECKPOINT_VERSION,
          "the checkpoint loads with its progress and configuration");
    tr = ck ? cn_trainer_resume(ck, text, cn_checkpoint_config(ck), 1, NULL, &err) : NULL;
    CHECK(tr != NULL, "resumed with cn_checkpoint_config's pointer: %s", tr ? "yes" : err.msg);
    if (tr) {
        CHECK(cn_trainer_step(tr, &loss) == CN_STEP_OK &&
                  cn_trainer_progress(tr)->smooth_loss == after &&
                  cn_trainer_config(tr)->optim.lr == 1e-2,
              "the resumed step is the one the run would have taken");
        const CnModel *m = cn_trainer_model(tr);
        CnSampler *s = cn_sampler_new(m, 1, &err);
        CnSampleOptions opt = {.temperature = 1};
        CHECK(s && cn_sampler_feed(s, "", 0, "nothing", &err) == 0 &&
                  cn_sampler_feed(s, "the ", 4, "a prime", &err) == 0 &&
                  cn_model_char_index(m, cn_sampler_draw(s, &opt)) >= 0,
              "a sampler takes an empty prime, a prime, and draws a character of the vocabulary");
        CHECK(s && cn_sampler_feed(s, "THE", 3, "a prime", &err) != 0 && strstr(err.msg, "'T'"),
              "a prime outside the vocabulary is refused, naming the character: %s", err.msg);
        cn_sampler_free(s);
        size_t count;
        double nats = cn_evaluate(m, text, 16, 1, &count, &err);
        CHECK(isfinite(nats) && count == strlen(corpus) - 1,
              "the text scores %.4f nats/char over its %zu predictions", nats, count);
        cn_trainer_free(tr);
    }
    cn_checkpoint_free(ck);

    /* settings a checkpoint could not hold never start a run */
    cfg = small_config();
    cfg.init = (CnInit)7;
    CHECK(!cn_trainer_new(text, CN_GRU, 8, 1, &cfg, 1, NULL, &err) && strstr(err.msg, "init"),
          "an unknown init is refused: %s", err.msg);
    cfg = small_config();
    cfg.time_budget = -1;
    CHECK(!cn_trainer_new(text, CN_GRU, 8, 1, &cfg, 1, NULL, &err) &&
              strstr(err.msg, "time-budget"),
          "a negative time budget is refused: %s", err.msg);
    cfg = small_config();
    cfg.val_frac = NAN;
    CHECK(!cn_trainer_new(text, CN_GRU, 8, 1, &cfg, 1, NULL, &err) && strstr(err.msg, "val-frac"),
          "a NaN validation fraction is refused: %s", err.msg);
    cn_text_free(text);
    unlink(path);
    rmdir(dir);
    return check_status();
}
