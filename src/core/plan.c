/* SPDX-License-Identifier: MIT */
/*
 * Settings for a time budget (README, "Training for quality"). How wide a
 * model and how much dropout pay depends on how many epochs the budget
 * affords: a wide model learns more per character but sees fewer of them,
 * and dropout helps a model that overfits, which only one that sees the
 * corpus many times does. So the plan times a few training steps of each
 * candidate width on this machine, this corpus and these threads, turns
 * their speed into the epochs the budget affords, and reads the sweep
 * below for the width whose expected loss is lowest at its own epochs, and
 * for that width's best dropout at them.
 */
#include "core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The sweep: GRU 2 x hidden, batch 32, seq-length 64, Adam lr 3e-3 with
 * cosine decay and 100 steps of warm-up, trained for `epochs` epochs of
 * Tiny Shakespeare's first 90% (charnn train data/input.txt --hidden H
 * --dropout P --epochs E --seed 1), scored by charnn eval of the best
 * checkpoint on the last 10%: for each width and epoch count, the best
 * dropout tried and its loss. Rows of a width are in increasing epochs. */
static const struct {
    int hidden;
    double epochs, dropout, loss;
} sweep[] = {
    /* 1 thread's ten minutes here: 8.3, 4.8, 2.2 epochs; 2 threads': 16, 9, 4.2 */
    {384, 8.3, 0.2, 1.4463}, {384, 16, 0.3, 1.4412},
    {512, 4.8, 0.1, 1.4402}, {512, 9, 0.3, 1.4373},
    {768, 2.2, 0.1, 1.4952}, {768, 4.2, 0.2, 1.4345},
};
enum { NSWEEP = sizeof sweep / sizeof sweep[0] };

static const int widths[] = {384, 512, 768}; /* the sweep's, narrowest first */
enum { NWIDTHS = sizeof widths / sizeof widths[0] };

/* The sweep's expected loss and best dropout for width h at e epochs:
 * linear in log(epochs) between its rows; below the first row, the first
 * two rows' line continued (fewer epochs, a higher loss); above the last,
 * the last row (no sweep ran longer). Returns 0 if the sweep has no row
 * of that width. */
static int expect(int h, double e, double *loss, double *dropout)
{
    int first = -1, last = -1;
    for (int i = 0; i < NSWEEP; i++)
        if (sweep[i].hidden == h) {
            if (first < 0)
                first = i;
            last = i;
        }
    if (first < 0)
        return 0;
    int lo = first;
    while (lo + 1 < last && sweep[lo + 1].epochs <= e)
        lo++;
    if (lo == last || e >= sweep[last].epochs) {
        *loss = sweep[last].loss;
        *dropout = sweep[last].dropout;
        return 1;
    }
    int hi = lo + 1;
    double x = log(fmax(e, 0.05)), x0 = log(sweep[lo].epochs), x1 = log(sweep[hi].epochs);
    double w = (x - x0) / (x1 - x0);
    *loss = sweep[lo].loss + w * (sweep[hi].loss - sweep[lo].loss);
    *dropout = w < 0.5 ? sweep[lo].dropout : sweep[hi].dropout;
    return 1;
}

/* The sweep's width nearest to h (by ratio). */
static int nearest_width(int h)
{
    int best = sweep[0].hidden;
    for (int i = 1; i < NSWEEP; i++)
        if (fabs(log((double)sweep[i].hidden / h)) < fabs(log((double)best / h)))
            best = sweep[i].hidden;
    return best;
}

/* Characters per second of `steps` timed training steps (after one
 * untimed) of a fresh model of width h; 0 if it cannot be made here. */
static double time_width(const CnText *text, CnCell cell, int h, int layers,
                         const CnTrainConfig *cfg, int threads, int steps, size_t *train_chars)
{
    CnTrainConfig c = *cfg;
    CnError err;
    c.init = CN_INIT_UNIFORM; /* the speed does not depend on the weights */
    CnShape shape = {cell, 0, h, layers};
    threads = cn_threads_for(&shape, cfg->batch, threads); /* as the run would */
    CnTrainer *tr = cn_trainer_new(text, cell, h, layers, &c, threads, NULL, &err);
    if (tr)
        *train_chars = cn_trainer_status(tr).train_chars;
    double best = INFINITY, loss;
    for (int i = 0; tr && i <= steps; i++) {
        double t = cn_seconds();
        if (cn_trainer_step(tr, &loss) != CN_STEP_OK)
            break;
        if (i > 0)
            best = fmin(best, cn_seconds() - t);
    }
    cn_trainer_free(tr);
    return isfinite(best) ? (double)cfg->batch * cfg->seq_length / best : 0;
}

void cn_plan_choose(CnPlan *plan, size_t train_chars, double seconds)
{
    double best = INFINITY;
    for (int i = 0; i < plan->measured; i++) {
        double e = seconds * plan->chars_per_s[i] / (double)train_chars, loss, p;
        if (!expect(plan->widths[i], e, &loss, &p))
            continue;
        if (loss < best) {
            best = loss;
            plan->hidden = plan->widths[i];
            plan->dropout = p;
            plan->epochs = e;
            plan->loss = loss;
        }
    }
}

int cn_plan_budget(const CnText *text, CnCell cell, int layers, int hidden,
                   const CnTrainConfig *cfg, double budget, int threads, CnPlan *plan,
                   CnError *err)
{
    memset(plan, 0, sizeof *plan);
    double start = cn_seconds(), allowance = 0.03 * budget, last_step = 0;
    size_t train_chars = 1;
    int last_h = 0;
    for (int i = 0; i < NWIDTHS && plan->measured < CN_PLAN_WIDTHS; i++) {
        int h = hidden ? hidden : widths[i];
        /* a wider model's steps cost about (h / last)^2 more: stop before the
           timing would take more than its share of the budget */
        if (last_h && cn_seconds() - start + 2 * last_step * (h / (double)last_h) *
                                                   (h / (double)last_h) > allowance)
            break;
        double cps = time_width(text, cell, h, layers, cfg, threads, 2, &train_chars);
        if (cps <= 0)
            break; /* too big for this machine, or the text too short */
        plan->widths[plan->measured] = h;
        plan->chars_per_s[plan->measured++] = cps;
        last_h = h;
        last_step = (double)cfg->batch * cfg->seq_length / cps;
        if (hidden)
            break;
    }
    plan->seconds = cn_seconds() - start;
    if (!plan->measured) {
        cn_errorf(err, "could not time a training step on this text to plan the time budget");
        return -1;
    }
    /* evaluations and saves take about 3% of a run */
    cn_plan_choose(plan, train_chars, fmax(0, budget - plan->seconds) * 0.97);
    if (!plan->hidden) { /* a width given that the sweep lacks: the nearest one's dropout */
        double e = fmax(0, budget - plan->seconds) * 0.97 * plan->chars_per_s[0] /
                   (double)train_chars, loss;
        plan->hidden = plan->widths[0];
        plan->epochs = e;
        plan->loss = INFINITY;
        if (!expect(nearest_width(plan->hidden), e, &loss, &plan->dropout))
            plan->dropout = cfg->dropout;
    }
    return 0;
}
