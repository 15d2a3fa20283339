/* SPDX-License-Identifier: MIT */
/*
 * Each setting's range is written once, in the library's table, and every
 * checker agrees with it: for the values just inside and just outside each
 * bound of every numeric setting, the settings by name (cn_settings_set),
 * the trainer's check (cn_config_check, cn_shape_check), a checkpoint file
 * holding the value, and charnn train's flag (its parser) accept or refuse
 * alike; a refused flag exits 2 naming it. A recorded setting (plan-epochs,
 * which the time budget's plan sets) has no flag: charnn train refuses it
 * as unknown. Also: every default lies in its range.
 */
#include "check.h"
#include "cli.h"
#include "core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The value as text the way it must be read back exactly. */
static void text_of(const CnSettingInfo *s, double x, char *out, size_t n)
{
    if (s->integer)
        snprintf(out, n, "%.0f", x);
    else
        snprintf(out, n, "%.17g", x);
}

/* A checkpoint of a small model saved with the training setting at text
 * (written past the library's own checks, as a damaged or foreign file would
 * hold it), parsed back: 1 if the file is accepted. */
static int file_accepts(const char *name, const char *text)
{
    CnSettings *s = cn_settings_new();
    CnError err;
    const CnField *f = cn_field_named(name);
    CnTrainConfig *cfg = cn_settings_config(s);
    char *at = (char *)cfg + f->offset;
    switch (f->type) {
    case CN_F_INT: *(int *)at = (int)strtod(text, NULL); break;
    case CN_F_U32: *(uint32_t *)at = (uint32_t)strtod(text, NULL); break;
    case CN_F_U64: *(uint64_t *)at = strtoull(text, NULL, 10); break;
    case CN_F_REAL: *(double *)at = strtod(text, NULL); break;
    }
    CnModel m;
    CnVocab vocab;
    uint32_t *chars = malloc(3 * sizeof *chars);
    chars[0] = 'a', chars[1] = 'b', chars[2] = 'c';
    int ok = 0;
    if (cn_vocab_from_chars(&vocab, chars, 3, &err) == 0 &&
        cn_model_init(&m, CN_GRU, 4, 1, &vocab, &err) == 0) {
        CnTrainState st;
        memset(&st, 0, sizeof st);
        st.cfg = *cfg;
        unsigned char *buf;
        size_t n;
        if (cn_checkpoint_encode(&m, &st, &buf, &n, &err) == 0) {
            CnModel back;
            CnTrainState sb;
            ok = cn_checkpoint_parse(buf, n, "x.ckpt", &back, &sb, &err) == 0;
            if (ok) {
                cn_model_release(&back);
                cn_train_state_free(&sb);
            }
            free(buf);
        }
        cn_model_release(&m);
    }
    cn_settings_free(s);
    return ok;
}

/* The trainer's own check of a configuration or shape with the value. */
static int trainer_accepts(const CnSettingInfo *info, const char *text)
{
    CnSettings *s = cn_settings_new();
    const CnField *f = cn_field_named(info->name);
    double x = strtod(text, NULL);
    char *at = (char *)(info->model ? (void *)cn_settings_shape(s) : (void *)cn_settings_config(s)) +
               f->offset;
    switch (f->type) {
    case CN_F_INT: *(int *)at = (int)x; break;
    case CN_F_U32: *(uint32_t *)at = (uint32_t)x; break;
    case CN_F_U64: *(uint64_t *)at = strtoull(text, NULL, 10); break;
    case CN_F_REAL: *(double *)at = x; break;
    }
    CnError err;
    CnShape shape = *cn_settings_shape(s);
    shape.vocab = 3;
    int ok = info->model ? cn_shape_check(&shape, &err) == 0
                         : cn_config_check(cn_settings_config(s), &err) == 0;
    cn_settings_free(s);
    return ok;
}

/* charnn train --name text, parsed only: 1 accepted, 0 refused with exit 2
 * and a message naming the flag, -1 anything else. */
static int flag_accepts(const char *name, const char *text)
{
    char flag[64], value[64];
    snprintf(flag, sizeof flag, "--%s", name);
    snprintf(value, sizeof value, "%s", text);
    char *argv[] = {flag, value, NULL};
    /* its message, on stderr, caught in a file */
    fflush(stdout);
    fflush(stderr);
    char msg[512] = "";
    FILE *capture = tmpfile();
    int saved = dup(fileno(stderr));
    if (capture)
        dup2(fileno(capture), fileno(stderr));
    int rc = cmd_train(2, argv);
    fflush(stderr);
    if (saved >= 0) {
        dup2(saved, fileno(stderr));
        close(saved);
    }
    if (capture) {
        rewind(capture);
        size_t got = fread(msg, 1, sizeof msg - 1, capture);
        msg[got] = 0;
        fclose(capture);
    }
    if (rc == EXIT_OK)
        return 1;
    return rc == EXIT_USAGE && strstr(msg, flag) ? 0 : -1;
}

int main(void)
{
    cli_parse_only = 1;
    CnSettingInfo info;
    int settings = 0, checked = 0, bad = 0, recorded = 0, recorded_flags = 0;
    char first_bad[160] = "";
    CnSettings *defaults = cn_settings_new();
    CnError err;
    int defaults_ok = defaults != NULL;
    for (int i = 0; cn_setting_info(i, &info) == 0; i++, settings++) {
        defaults_ok &= cn_settings_set(defaults, info.name, info.def, &err) == 0;
        if (info.recorded) {
            recorded++;
            recorded_flags += flag_accepts(info.name, info.def) != 0; /* 0: refused, exit 2 */
        }
        if (info.choices || info.seconds)
            continue; /* names, durations: checked by the parsers' own tests */
        double cases[4][2]; /* value, 1 if inside */
        int n = 0;
        double below = info.integer ? info.lo - 1 : nextafter(info.lo, -INFINITY);
        double above_lo = info.integer ? info.lo + 1 : nextafter(info.lo, INFINITY);
        cases[n][0] = info.lo, cases[n++][1] = !info.lo_open;
        cases[n][0] = info.lo_open ? above_lo : below, cases[n++][1] = info.lo_open;
        if (isfinite(info.hi) && info.hi < 1e15) {
            double above = info.integer ? info.hi + 1 : nextafter(info.hi, INFINITY);
            double below_hi = info.integer ? info.hi - 1 : nextafter(info.hi, -INFINITY);
            cases[n][0] = info.hi, cases[n++][1] = !info.hi_open;
            cases[n][0] = info.hi_open ? below_hi : above, cases[n++][1] = info.hi_open;
        }
        for (int k = 0; k < n; k++, checked++) {
            if (cases[k][0] < 0 && info.integer && info.lo == 0)
                continue; /* a negative count: no type holds it, the parsers refuse it */
            char text[64];
            text_of(&info, cases[k][0], text, sizeof text);
            int want = (int)cases[k][1];
            CnSettings *s = cn_settings_new();
            int lib = cn_settings_set(s, info.name, text, &err) == 0;
            cn_settings_free(s);
            int trainer = trainer_accepts(&info, text);
            /* a shape's fields are range-checked on load by the same table (and
               then against the parameters' count): configuration settings here */
            int file = info.model ? want : file_accepts(info.name, text);
            if (strcmp(info.name, "batch") == 0 && cases[k][0] == 0)
                file = want; /* a file's batch 0 is a model saved alone: no configuration */
            int flag = info.recorded ? want : flag_accepts(info.name, text);
            if (lib != want || trainer != want || file != want || flag != want) {
                if (!bad++)
                    snprintf(first_bad, sizeof first_bad,
                             "%s %s: want %d; settings %d, trainer %d, file %d, flag %d",
                             info.name, text, want, lib, trainer, file, flag);
            }
        }
    }
    CHECK(settings >= 25, "the table lists the %d settings", settings);
    CHECK(defaults_ok, "every default lies in its setting's range");
    CHECK(recorded == 1 && recorded_flags == 0,
          "%d recorded setting (plan-epochs), which charnn train refuses as a flag", recorded);
    CHECK(!bad, "%d values at the bounds of every numeric setting: the settings, the trainer's "
          "check, a checkpoint file and charnn train's flag accept and refuse them alike%s%s",
          checked, bad ? "; first disagreement: " : "", first_bad);
    cn_settings_free(defaults);
    return check_status();
}
