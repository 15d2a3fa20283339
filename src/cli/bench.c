/* SPDX-License-Identifier: MIT */
/*
 * charnn bench: training and sampling throughput on synthetic text, timed
 * like tests/bench/torch_charrnn.py: chars/s = B * T * timed iterations
 * / their wall time (warm-up excluded); GFLOP/s = 6 FLOPs (forward 2,
 * backward 4) * entries of the input, recurrent and output weight matrices
 * * chars/s / 1e9. Also where the time of a step goes (CnProfile).
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* Entries of the weight matrices (no biases or peepholes):
 * V.GH + H.GH (layer 1) + (L-1).2.H.GH (layers above) + H.V (output). */
static double weight_entries(const CnShape *s)
{
    double GH = (double)cn_cell_gates(s->cell) * s->hidden, H = s->hidden, V = s->vocab;
    return V * GH + H * GH + (s->layers - 1) * 2 * H * GH + H * V;
}

/* n random characters drawn uniformly from the first `vocab` printable
 * ASCII ones, with each of them at least once. */
static char *synthetic_text(size_t n, int vocab, CnRng *rng)
{
    char *s = malloc(n);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++)
        s[i] = (char)(' ' + (i < (size_t)vocab ? (int)i : (int)(cn_rng_uniform(rng) * vocab)));
    return s;
}

static int bench_training(CnTrainer *tr, int batch, int seq_length, int iters, int warmup,
                          int threads)
{
    CnProfile profile;
    double loss, t0 = cn_seconds();
    for (int i = 0; i < warmup + iters; i++) {
        if (i == warmup) {
            cn_trainer_profile(tr, &profile);
            t0 = cn_seconds();
        }
        if (cn_trainer_step(tr, &loss) != CN_STEP_OK) {
            cli_error("the loss diverged on random text: this is a bug, please report it");
            return EXIT_DIVERGED;
        }
    }
    cn_trainer_profile(tr, NULL);
    CnShape shape = cn_model_shape(cn_trainer_model(tr));
    double seconds = cn_seconds() - t0, cps = (double)batch * seq_length * iters / seconds;
    double entries = weight_entries(&shape), total = 0;
    char n1[32], n2[32];
    printf("training: %d iterations after %d of warm-up: %s chars/s, %.3g ms per iteration, "
           "%.1f GFLOP/s (6 x %s weight entries x chars/s)\n",
           iters, warmup, cli_count((uint64_t)(cps + 0.5), n1), 1e3 * seconds / iters,
           6 * entries * cps / 1e9, cli_count((uint64_t)entries, n2));
    double peak = cn_fma_peak(threads, 0.3);
    if (peak > 0)
        printf("that is %.0f%% of this machine's fp32 peak, %.1f GFLOP/s on %d thread%s (%s "
               "fused multiply-adds in independent chains, measured now)\n",
               100 * 6 * entries * cps / 1e9 / peak, peak, threads, threads == 1 ? "" : "s",
               cn_kernels_name());
    for (int p = 0; p < CN_PHASES; p++)
        total += profile.seconds[p];
    printf("where a step's time goes:\n");
    for (int p = 0; p < CN_PHASES; p++)
        printf("  %-20s %5.1f%%  %8.3f ms\n", cn_phase_name((CnPhase)p),
               total > 0 ? 100 * profile.seconds[p] / total : 0,
               1e3 * profile.seconds[p] / iters);
    /* what the products packed: weights once per pass, activations per product */
    double per = 1.0 / iters, moved = (double)(profile.rounded + profile.copied);
    char n3[32];
    printf("what the products packed per iteration: %s packs, %s values %s (%.1f MB of fp32 "
           "read), for %s multiply-adds: %.2f values per 1,000\n",
           cli_count((uint64_t)(profile.packs * per + 0.5), n1),
           cli_count((uint64_t)(moved * per + 0.5), n2),
           profile.rounded ? "rounded to bf16" : "copied in fp32", 4e-6 * moved * per,
           cli_count((uint64_t)((double)profile.macs * per + 0.5), n3),
           profile.macs ? 1e3 * moved / (double)profile.macs : 0.0);
    return EXIT_OK;
}

/* Sampling `length` characters in all, one stream at a time and 32
 * streams together (sample --samples 32). */
static int bench_sampling(const CnModel *model, int length)
{
    enum { STREAMS = 32 };
    double cps[2];
    for (int k = 0; k < 2; k++) {
        int streams = k ? STREAMS : 1, steps = (length + streams - 1) / streams;
        CnError err;
        CnSampler *s = cn_sampler_streams(model, streams, 1, &err);
        uint32_t out[STREAMS];
        if (!s) {
            cli_error_lib(&err);
            return EXIT_ERROR;
        }
        CnSampleOptions opt = {.temperature = 1};
        double t0 = cn_seconds();
        for (int i = 0; i < steps; i++)
            cn_sampler_draw_all(s, &opt, out);
        cps[k] = (double)steps * streams / (cn_seconds() - t0);
        cn_sampler_free(s);
    }
    char n1[32], n2[32], n3[32];
    printf("sampling: %s characters, %s chars/s one at a time, %s chars/s as %d samples "
           "together (x%.1f)\n", cli_count((uint64_t)length, n1),
           cli_count((uint64_t)(cps[0] + 0.5), n2), cli_count((uint64_t)(cps[1] + 0.5), n3),
           STREAMS, cps[1] / cps[0]);
    return EXIT_OK;
}

int cmd_bench(int argc, char **argv)
{
    const char *precision = "auto";
    int vocab = 65, iters = 20, warmup = 3, threads = 0, sample = 20000;
    CnSettings *settings = cn_settings_new();
    if (!settings) {
        cli_error("out of memory");
        return EXIT_ERROR;
    }
    /* the model and data layout are charnn train's settings, with its defaults */
    static const char *const shape_flags[] = {"model", "hidden", "layers", "batch",
                                              "seq-length", NULL};
    Flag flags[16];
    int nf = cli_setting_flags(flags, 8, settings, 0, 0, shape_flags);
    const Flag own[] = {
        {.name = "vocab", .type = FLAG_INT, .value = &vocab, .arg = "V",
         .help = "characters in the synthetic text", .lo = 2, .hi = 95},
        {.name = "iters", .type = FLAG_INT, .value = &iters, .arg = "N",
         .help = "timed training iterations; 0 = no training", .lo = 0, .hi = 1 << 20},
        {.name = "warmup", .type = FLAG_INT, .value = &warmup, .arg = "N",
         .help = "untimed iterations first", .lo = 0, .hi = 1 << 20},
        {.name = "threads", .type = FLAG_INT, .value = &threads, .arg = "N",
         .help = "threads (default: as charnn train chooses)", .lo = 0, .hi = 1024},
        {.name = "precision", .type = FLAG_STR, .value = &precision, .arg = "P",
         .help = "the products' inputs: fp32, bf16 or auto (as charnn train)",
         .choices = cli_precision_choices},
        {.name = "sample", .type = FLAG_INT, .value = &sample, .arg = "N",
         .help = "characters to sample, timed; 0 = no sampling", .lo = 0, .hi = 1 << 30},
        {.name = NULL},
    };
    memcpy(flags + nf, own, sizeof own);
    Command cmd = {.name = "bench", .usage = "bench [options]",
                   .summary = "Time training steps and sampling of a random model on random "
                              "text: chars/s, ms per iteration, GFLOP/s and where the time "
                              "goes. Trains as tests/bench/torch_charrnn.py does (Adam lr "
                              "0.002, clip-norm 5, no dropout, uniform initial weights).",
                   .flags = flags, .min_args = 0, .max_args = 0};
    const char *args[1];
    int nargs, rc;
    if ((rc = cli_parse(&cmd, argc, argv, args, &nargs)) != CLI_GO) {
        cn_settings_free(settings);
        return rc;
    }
    /* as the PyTorch side trains (charnn help speed); everything else charnn train's */
    CnError err;
    cn_settings_set(settings, "lr", "0.002", &err);
    cn_settings_set(settings, "dropout", "0", &err);
    cn_settings_set(settings, "init", "uniform", &err);
    CnShape shape = *cn_settings_shape(settings);
    CnTrainConfig cfg = *cn_settings_config(settings);
    cn_settings_free(settings);
    shape.vocab = vocab;
    CnCell cell = shape.cell;
    int hidden = shape.hidden, layers = shape.layers, batch = cfg.batch,
        seq_length = cfg.seq_length;
    const char *kind = cn_cell_names[cell];

    CnRng rng;
    cn_rng_seed(&rng, 1);
    size_t n = (size_t)batch * seq_length * ((size_t)warmup + iters + 2) * 10 / 9 + 1000;
    char *chars = synthetic_text(n, vocab, &rng);
    CnText *text = chars ? cn_text_from_memory(chars, n, "random text", &err) : NULL;
    if (!text)
        cli_error("%s", chars ? err.msg : "out of memory for the random text: give a smaller "
                                          "--batch or --iters");
    free(chars);
    if (!text)
        return EXIT_ERROR;
    const char *why;
    cfg.precision = cli_precision(precision, &shape, batch, &why);
    threads = cli_threads(threads, &shape, batch);
    CnTrainer *tr = cn_trainer_new(text, cell, hidden, layers, &cfg, threads, NULL, &err);
    if (!tr) {
        cli_error_lib(&err);
        cn_text_free(text);
        return EXIT_ERROR;
    }
    const CnModel *model = cn_trainer_model(tr);
    char n1[32];
    cli_precision_note(cfg.precision);
    printf("bench: %s, %d layer%s x %d hidden, vocabulary %d, %s parameters; batch %d x "
           "seq-length %d, adam, clip-norm 5; %d thread%s, %s kernels, %s products%s%s%s\n",
           kind, layers, layers == 1 ? "" : "s", hidden, vocab,
           cli_count(cn_model_params(model), n1), batch, seq_length, threads,
           threads == 1 ? "" : "s", cn_kernels_name(), cn_precision_names[cfg.precision],
           why ? " (--precision auto: " : "", why ? why : "", why ? ")" : "");
    fflush(stdout);
    rc = EXIT_OK;
    if (iters > 0)
        rc = bench_training(tr, batch, seq_length, iters, warmup, threads);
    if (rc == EXIT_OK && sample > 0)
        rc = bench_sampling(model, sample);
    cn_trainer_free(tr);
    cn_text_free(text);
    return rc;
}
