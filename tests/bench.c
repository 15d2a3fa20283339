/* SPDX-License-Identifier: MIT */
/*
 * Training and sampling throughput, measured like ../bench/torch_charrnn.py:
 * chars/s = B * T * timed iterations / their wall time (warm-up excluded),
 * GFLOP/s = 6 * (entries of the input, recurrent and output weight
 * matrices) * chars/s / 1e9. `make bench` runs the configurations.
 *
 *   bench train [--model K] [--hidden N] [--layers N] [--batch B] [--seq T]
 *               [--iters N] [--warmup N] [--threads N] [--data FILE]
 *   bench sample [--hidden N] [--layers N] [--model K] [--length N]
 */
#define _POSIX_C_SOURCE 200809L
#include "charnn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *msg)
{
    fprintf(stderr, "bench: %s\n", msg);
    exit(1);
}

/* Entries of the weight matrices (no biases or peepholes). */
static double weight_entries(const CnShape *s)
{
    double GH = (double)cn_cell_gates(s->cell) * s->hidden, H = s->hidden, V = s->vocab;
    return V * GH + H * GH + (s->layers - 1) * 2 * H * GH + H * V;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "train", *data = "data/input.txt";
    const char *kind = "lstm";
    int hidden = 128, layers = 2, batch = 50, seq = 50, iters = 20, warmup = 3;
    int threads = 0, length = 20000; /* 0: as charnn train chooses */
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *f = argv[i], *v = argv[i + 1];
        if (!strcmp(f, "--model")) kind = v;
        else if (!strcmp(f, "--hidden")) hidden = atoi(v);
        else if (!strcmp(f, "--layers")) layers = atoi(v);
        else if (!strcmp(f, "--batch")) batch = atoi(v);
        else if (!strcmp(f, "--seq")) seq = atoi(v);
        else if (!strcmp(f, "--iters")) iters = atoi(v);
        else if (!strcmp(f, "--warmup")) warmup = atoi(v);
        else if (!strcmp(f, "--threads")) threads = atoi(v);
        else if (!strcmp(f, "--length")) length = atoi(v);
        else if (!strcmp(f, "--data")) data = v;
        else die("unknown flag");
    }
    CnError err;
    CnText text;
    CnVocab vocab;
    CnModel model;
    CnCell cell;
    if (cn_cell_parse(kind, &cell) != 0)
        die("unknown model kind");
    if (cn_text_load(&text, data, &err) != 0 || cn_vocab_build(&vocab, &text, &err) != 0 ||
        cn_model_init(&model, cell, hidden, layers, &vocab, &err) != 0)
        die(err.msg);
    CnRng rng;
    cn_rng_seed(&rng, 1);
    cn_model_randomize(&model, CN_INIT_UNIFORM, &rng, &err);

    if (!strcmp(mode, "sample")) {
        CnSampler s;
        if (cn_sampler_init(&s, &model, 1, &err) != 0)
            die(err.msg);
        CnSampleOptions opt = {.temperature = 1};
        cn_sampler_feed(&s, 0);
        double t0 = now();
        for (int i = 0; i < length; i++)
            cn_sampler_feed(&s, cn_sampler_next(&s, &opt));
        double dt = now() - t0;
        printf("sample %s %dx%d V=%d: %.0f chars/s (kernels %s)\n", kind, layers, hidden,
               model.shape.vocab, length / dt, cn_kernels_name());
        cn_sampler_free(&s);
    } else {
        CnTrainState st;
        memset(&st, 0, sizeof st);
        st.cfg = (CnTrainConfig){.batch = batch, .seq_length = seq,
                                 .optim = {CN_ADAM, 2e-3, 0.9, 0.9, 0.999, 1e-8, 0.95},
                                 .clip_norm = 5, .val_frac = 0.1, .seed = 1};
        st.rng = rng;
        CnTrainer tr;
        if (threads == 0)
            threads = cn_threads_for(&model.shape, batch, cn_cpu_count());
        if (cn_trainer_init(&tr, &model, &text, &st, 0, threads, NULL, &err) != 0)
            die(err.msg);
        double loss, t0 = 0;
        for (int i = 0; i < warmup + iters; i++) {
            if (i == warmup)
                t0 = now();
            if (cn_trainer_step(&tr, &loss) != CN_STEP_OK)
                die("diverged");
        }
        double dt = now() - t0, cps = (double)batch * seq * iters / dt;
        printf("train %s %dx%d B=%d T=%d V=%d threads=%d kernels=%s: %.0f chars/s, %.1f "
               "GFLOP/s (6 x %.0f weights), loss %.4f\n",
               kind, layers, hidden, batch, seq, model.shape.vocab, threads, cn_kernels_name(),
               cps, 6 * weight_entries(&model.shape) * cps / 1e9, weight_entries(&model.shape),
               loss);
        cn_trainer_free(&tr);
    }
    cn_model_free(&model);
    cn_text_free(&text);
    return 0;
}
