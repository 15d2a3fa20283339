/* SPDX-License-Identifier: MIT */
/*
 * The model: parameter layout in one flat array, initialisation, the
 * activation buffers of truncated BPTT, and forward and backward over a
 * chunk (layers of cells, then the output layer and softmax loss):
 *     y_t = W_hy h_t + b_y      p_t = softmax(y_t)
 *     loss = (1/(B T)) sum_{b,t} -log p_t[target]
 * Shapes: V vocabulary, H hidden, L layers, B streams, T steps, G gate
 * blocks; time-major sequences, row-major matrices (see charnn.h).
 * A pass runs as one task on every thread of the pool: each phase splits
 * its outputs between the threads, and barriers separate the phases.
 */
#include "core.h"
#include "os.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* The names of the enums (charnn.h): one table each, used for parsing,
 * messages, help and checkpoints alike. */
const char *const cn_cell_names[] = {"rnn", "lstm", "peephole", "gru", NULL};

int cn_lookup(const char *const *names, const char *name)
{
    for (int k = 0; names[k]; k++)
        if (strcmp(name, names[k]) == 0)
            return k;
    return -1;
}

const char *cn_name_of(const char *const *names, int i)
{
    for (int k = 0; names[k]; k++)
        if (k == i)
            return names[k];
    return "?";
}

static int is_lstm(CnCell cell)
{
    return cell == CN_LSTM || cell == CN_PEEPHOLE;
}

/* a*b + c, or SIZE_MAX on overflow (SIZE_MAX propagates). */
static size_t muladd(size_t a, size_t b, size_t c)
{
    size_t r;
    if (a == SIZE_MAX || b == SIZE_MAX || c == SIZE_MAX || __builtin_mul_overflow(a, b, &r) ||
        __builtin_add_overflow(r, c, &r))
        return SIZE_MAX;
    return r;
}

int cn_shape_check(const CnShape *s, CnError *err)
{
    if ((unsigned)s->cell > CN_GRU)
        cn_errorf(err, "unknown model kind %d", (int)s->cell);
    else if (s->vocab < 1 || s->vocab > 0x110000)
        cn_errorf(err, "vocabulary size %d is out of range", s->vocab);
    else if (s->hidden < 1 || s->hidden > (1 << 24))
        cn_errorf(err, "hidden size %d is out of range (1 to %d)", s->hidden,
                 1 << 24);
    else if (s->layers < 1 || s->layers > CN_MAX_LAYERS)
        cn_errorf(err, "layer count %d is out of range (1 to %d)",
                 s->layers, CN_MAX_LAYERS);
    else
        return 0;
    return -1;
}

size_t cn_shape_nparams(const CnShape *s)
{
    CnError ignored;
    if (cn_shape_check(s, &ignored) != 0)
        return 0;
    size_t V = (size_t)s->vocab, H = (size_t)s->hidden;
    size_t GH = (size_t)cn_cell_gates(s->cell) * H;
    size_t peep = s->cell == CN_PEEPHOLE ? 3 * H : 0;
    /* per layer: Wx (In, GH), Wh (H, GH), b (GH), peep */
    size_t n = muladd(V, GH, 0);
    n = muladd(H, GH, n);
    n = muladd(1, GH + peep, n);
    size_t upper = muladd(2 * H + 1, GH, peep);
    n = muladd((size_t)s->layers - 1, upper, n);
    n = muladd(H + 1, V, n); /* Wy (H, V), by (V) */
    return n == SIZE_MAX ? 0 : n;
}

size_t cn_state_values(const CnShape *s, int B)
{
    return (size_t)s->layers * (size_t)B * (size_t)s->hidden * (is_lstm(s->cell) ? 2 : 1);
}

void cn_view_init(CnView *view, const CnShape *s, CnReal *base)
{
    size_t V = (size_t)s->vocab, H = (size_t)s->hidden;
    size_t GH = (size_t)cn_cell_gates(s->cell) * H;
    CnReal *p = base;
    memset(view, 0, sizeof *view);
    for (int l = 0; l < s->layers; l++) {
        CnLayerView *lv = &view->layer[l];
        lv->Wx = p, p += (l == 0 ? V : H) * GH;
        lv->Wh = p, p += H * GH;
        lv->b = p, p += GH;
        if (s->cell == CN_PEEPHOLE)
            lv->peep = p, p += 3 * H;
    }
    view->Wy = p, p += H * V;
    view->by = p;
}

int cn_model_init(CnModel *m, CnCell cell, int hidden, int layers, CnVocab *vocab, CnError *err)
{
    memset(m, 0, sizeof *m);
    m->shape = (CnShape){cell, vocab->size, hidden, layers};
    if (cn_shape_check(&m->shape, err) != 0)
        return -1;
    m->nparams = cn_shape_nparams(&m->shape);
    m->params = m->nparams ? calloc(m->nparams, sizeof *m->params) : NULL;
    if (!m->params) {
        cn_errorf(err, "out of memory for %zu parameters", m->nparams);
        return -1;
    }
    cn_view_init(&m->w, &m->shape, m->params);
    m->vocab = *vocab;
    memset(vocab, 0, sizeof *vocab);
    return 0;
}

const char *const cn_init_names[] = {"uniform", "orthogonal", NULL};

/* w (rows, cols) with row stride ld, uniform in [-k, k] */
static void fill_uniform(CnReal *w, size_t rows, size_t cols, size_t ld, double k, CnRng *rng)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            w[r * ld + c] = (CnReal)((2 * cn_rng_uniform(rng) - 1) * k);
}

static double normal(CnRng *rng) /* Box-Muller */
{
    double u = cn_rng_uniform(rng), v = cn_rng_uniform(rng);
    return sqrt(-2 * log(1 - u)) * cos(6.283185307179586 * v);
}

/* a . b over n, in 8 independent partial sums (so that it vectorizes) */
static double dot_lanes(const double *a, const CnReal *b, size_t n)
{
    double lane[8] = {0};
    size_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (int j = 0; j < 8; j++)
            lane[j] += a[k + j] * b[k + j];
    double dot = 0;
    for (; k < n; k++)
        dot += a[k] * b[k];
    for (int j = 0; j < 8; j++)
        dot += lane[j];
    return dot;
}

/* w (n, n) with row stride ld: a random orthogonal matrix, the modified
 * Gram-Schmidt orthonormalisation of Gaussian rows, each built in row (n)
 * double scratch with every projection taken twice, so that the rows are
 * orthonormal to float rounding. */
static void fill_orthogonal(CnReal *w, size_t n, size_t ld, double *row, CnRng *rng)
{
    for (size_t i = 0; i < n; i++) {
        double norm;
        do {
            for (size_t k = 0; k < n; k++)
                row[k] = normal(rng);
            for (size_t j = 0; j < i; j++) {
                const CnReal *done = w + j * ld;
                for (int pass = 0; pass < 2; pass++) {
                    double dot = dot_lanes(row, done, n);
                    for (size_t k = 0; k < n; k++)
                        row[k] -= dot * done[k];
                }
            }
            norm = 0;
            for (size_t k = 0; k < n; k++)
                norm += row[k] * row[k];
            norm = sqrt(norm);
        } while (norm < 1e-6);
        for (size_t k = 0; k < n; k++)
            w[i * ld + k] = (CnReal)(row[k] / norm);
    }
}

int cn_model_randomize(CnModel *m, CnInit init, CnRng *rng, CnError *err)
{
    const CnShape *s = &m->shape;
    size_t V = (size_t)s->vocab, H = (size_t)s->hidden, G = (size_t)cn_cell_gates(s->cell);
    size_t GH = G * H;
    double k = 1 / sqrt((double)H);
    double *row = init == CN_INIT_ORTHOGONAL ? malloc(H * sizeof *row) : NULL;
    if (init == CN_INIT_ORTHOGONAL && !row) {
        cn_errorf(err, "out of memory for the orthogonal initialisation");
        return -1;
    }
    memset(m->params, 0, m->nparams * sizeof *m->params);
    for (int l = 0; l < s->layers; l++) {
        CnLayerView *lv = &m->w.layer[l];
        size_t in = l == 0 ? V : H;
        if (init == CN_INIT_ORTHOGONAL) {
            fill_uniform(lv->Wx, in, GH, GH, sqrt(6.0 / (double)(in + H)), rng);
            for (size_t g = 0; g < G; g++) /* each gate's block (H, H) at columns g*H */
                fill_orthogonal(lv->Wh + g * H, H, GH, row, rng);
        } else {
            fill_uniform(lv->Wx, in, GH, GH, k, rng);
            fill_uniform(lv->Wh, H, GH, GH, k, rng);
        }
        if (is_lstm(s->cell))
            for (size_t j = 0; j < H; j++)
                lv->b[H + j] = 1; /* forget gate */
    }
    double ky = init == CN_INIT_ORTHOGONAL ? sqrt(6.0 / (double)(H + V)) : k;
    fill_uniform(m->w.Wy, H, V, V, ky, rng);
    free(row);
    return 0;
}

void cn_model_draw(CnModel *m, CnRng *rng)
{
    for (size_t i = 0; i < m->nparams; i++)
        m->params[i] = (CnReal)(cn_rng_uniform(rng) - 0.5);
}

void cn_model_transplant(CnModel *to, const CnModel *from)
{
    const CnShape *s = &from->shape;
    size_t H = (size_t)s->hidden, GH = (size_t)cn_cell_gates(s->cell) * H;
    size_t Vf = (size_t)s->vocab, Vt = (size_t)to->shape.vocab;
    for (int l = 0; l < s->layers; l++) {
        const CnLayerView *a = &from->w.layer[l];
        CnLayerView *b = &to->w.layer[l];
        if (l > 0)
            memcpy(b->Wx, a->Wx, H * GH * sizeof *b->Wx);
        memcpy(b->Wh, a->Wh, H * GH * sizeof *b->Wh);
        memcpy(b->b, a->b, GH * sizeof *b->b);
        if (a->peep)
            memcpy(b->peep, a->peep, 3 * H * sizeof *b->peep);
    }
    /* both vocabularies increase: to's index j of from's character k only grows */
    for (size_t k = 0, j = 0; k < Vf; k++, j++) {
        while (to->vocab.chars[j] != from->vocab.chars[k])
            j++;
        memcpy(to->w.layer[0].Wx + j * GH, from->w.layer[0].Wx + k * GH, GH * sizeof(CnReal));
        for (size_t h = 0; h < H; h++)
            to->w.Wy[h * Vt + j] = from->w.Wy[h * Vf + k];
        to->w.by[j] = from->w.by[k];
    }
}

/* A model over text's characters, every parameter drawn by cn_model_draw. */
CnModel *cn_model_random(const CnText *text, CnCell cell, int hidden, int layers, uint64_t seed,
                         CnError *err)
{
    CnModel *m = malloc(sizeof *m);
    CnVocab vocab;
    if (!m) {
        cn_errorf(err, "out of memory");
        return NULL;
    }
    if (cn_vocab_build(&vocab, text, err) != 0) {
        free(m);
        return NULL;
    }
    if (cn_model_init(m, cell, hidden, layers, &vocab, err) != 0) {
        cn_vocab_release(&vocab);
        free(m);
        return NULL;
    }
    CnRng rng;
    cn_rng_seed(&rng, seed);
    cn_model_draw(m, &rng);
    return m;
}

void cn_model_release(CnModel *m)
{
    free(m->params);
    cn_vocab_release(&m->vocab);
    memset(m, 0, sizeof *m);
}

void cn_model_free(CnModel *m)
{
    if (m)
        cn_model_release(m);
    free(m);
}

CnShape cn_model_shape(const CnModel *m)
{
    return m->shape;
}

size_t cn_model_params(const CnModel *m)
{
    return m->nparams;
}

int cn_model_vocab_size(const CnModel *m)
{
    return m->vocab.size;
}

const uint32_t *cn_model_vocab(const CnModel *m)
{
    return m->vocab.chars;
}

int cn_model_char_index(const CnModel *m, uint32_t cp)
{
    return cn_vocab_index(&m->vocab, cp);
}

int cn_model_covers(const CnModel *m, const CnText *text, const char *name, CnError *err)
{
    return cn_vocab_covers(&m->vocab, text, name, err);
}

uint32_t cn_model_checksum(const CnModel *m)
{
    return cn_crc32(0, m->params, m->nparams * sizeof *m->params);
}

/* ------------------------------------------------------------------------- */
/* Activation buffers: one allocation, carved into the views of CnActs, each
 * piece 64-byte aligned. */

enum { ALIGN = 64 / sizeof(CnReal) };

/* Values in a packed operand: every block padded to whole panels. */
static size_t packed_size(int K, int width, int nblk, int nr)
{
    size_t panels = (size_t)nblk * (size_t)((width + nr - 1) / nr);
    return muladd(muladd(panels, (size_t)K, 0), (size_t)nr, 0);
}

/* Walks the layout once, either counting (base NULL) or pointing views. */
static size_t acts_layout(CnActs *a, const CnShape *s, int B, int T, double dropout, int train,
                          CnMul mul, int threads, CnReal *base)
{
    int nr = cn_isa()->nr, H = s->hidden, V = s->vocab, G = cn_cell_gates(s->cell);
    size_t Hz = (size_t)H, Bz = (size_t)B, Tz = (size_t)T;
    size_t GH = (size_t)G * Hz;
    size_t BH = muladd(Bz, Hz, 0), TBH = muladd(Tz, BH, 0), T1BH = muladd(Tz + 1, BH, 0);
    size_t TBGH = muladd(Tz * Bz, GH, 0), LBH = muladd((size_t)s->layers, BH, 0);
    size_t off = 0;
    int rounds = train && mul != CN_MUL_FP32; /* bf16 products: rounded copies of activations */
#define CARVE(ptr, count)                                                                      \
    do {                                                                                       \
        size_t n_ = muladd(1, (count), ALIGN - 1);                                             \
        if (base)                                                                              \
            (ptr) = (void *)(base + off);                                                      \
        off = muladd(1, n_ - n_ % ALIGN, off);                                                 \
    } while (0)
#define PACK(packed, k, width, nblk)                                                           \
    do {                                                                                       \
        if (base)                                                                              \
            (packed) = (CnPacked){NULL, (k), (width), (nblk), CN_MUL_FP32};                    \
        CARVE((packed).p, packed_size((k), (width), (nblk), nr));                              \
    } while (0)
    for (int l = 0; l < s->layers; l++) {
        CnLayerActs *la = &a->layer[l];
        CARVE(la->z, TBGH);
        CARVE(la->h, T1BH);
        if (is_lstm(s->cell)) {
            CARVE(la->c, T1BH);
            CARVE(la->tanh_c, TBH);
        }
        if (s->cell == CN_GRU)
            CARVE(la->rh, TBH);
        if (l > 0 && train && dropout > 0) {
            CARVE(la->x, TBH);
            CARVE(la->mask, TBH);
            if (rounds)
                CARVE(la->xr, TBH);
        }
        if (rounds)
            CARVE(la->hr, T1BH);
        PACK(a->wh[l], H, H, G);
        if (l > 0)
            PACK(a->wx[l], H, H, G);
        if (train) {
            if (s->cell == CN_GRU) {
                PACK(a->wh_t[l], 2 * H, H, 1);
                PACK(a->whn_t[l], H, H, 1);
            } else {
                PACK(a->wh_t[l], G * H, H, 1);
            }
            if (l > 0)
                PACK(a->wx_t[l], G * H, H, 1);
        }
    }
    /* state_c directly after state_h: checkpoints save them as one array */
    CARVE(a->state_h, is_lstm(s->cell) ? 2 * LBH : LBH);
    if (base && is_lstm(s->cell))
        a->state_c = a->state_h + LBH;
    if (train && dropout > 0) {
        CARVE(a->top_x, TBH);
        CARVE(a->top_mask, TBH);
        if (rounds)
            CARVE(a->top_xr, TBH);
    }
    if (rounds) {
        CARVE(a->rhr, BH);
        if (H % 2 == 0) /* dz rows rounded by the threads' units: pairs within a gate block */
            CARVE(a->dzr, TBGH);
    }
    CARVE(a->logits, muladd(Tz * Bz, (size_t)V, 0));
    CARVE(a->loss_rows, muladd(Tz * Bz, sizeof(double) / sizeof(CnReal), 0));
    PACK(a->wy, H, V, 1);
    if (train) {
        PACK(a->wy_t, V, H, 1);
        CARVE(a->dz, TBGH);
        CARVE(a->dH, TBH);
        CARVE(a->dh, BH);
        CARVE(a->dc, BH);
        CARVE(a->drh, BH);
        CARVE(a->carry, muladd(Tz, Bz, 0));
        /* raw operands packed as they go: dz (G*H columns) and dy (V) */
        size_t widest = GH > (size_t)V ? GH : (size_t)V;
        size_t per_thread = muladd((size_t)CN_KC, (widest + (size_t)nr - 1) / nr * nr, 0);
        if (base)
            a->scratch_per_thread = per_thread;
        CARVE(a->scratch, muladd((size_t)threads, per_thread, 0));
        CARVE(a->apack, muladd((size_t)threads, (size_t)CN_MC * CN_KC, 0));
    }
#undef PACK
#undef CARVE
    return off;
}

size_t cn_acts_bytes(const CnShape *s, int B, int T, double dropout, int train, CnMul mul,
                     int threads)
{
    CnActs scratch;
    memset(&scratch, 0, sizeof scratch);
    size_t n = acts_layout(&scratch, s, B, T, dropout, train, mul, threads, NULL);
    return muladd(n, sizeof(CnReal), 0);
}

int cn_acts_init(CnActs *a, const CnShape *s, int B, int T, double dropout, int train,
                 CnMul mul, CnPool *pool, CnError *err)
{
    memset(a, 0, sizeof *a);
    size_t widest = (size_t)cn_cell_gates(s->cell) * (size_t)s->hidden;
    if ((size_t)s->vocab > widest)
        widest = (size_t)s->vocab;
    if (B < 1 || T < 1 || muladd(muladd((size_t)B, (size_t)T, 0), widest, 0) > INT_MAX) {
        cn_errorf(err, "batch %d x seq-length %d x layer width %zu is out of range (at most %d)",
                  B, T, widest, INT_MAX);
        return -1;
    }
    int threads = cn_pool_size(pool);
    size_t n = acts_layout(a, s, B, T, dropout, train, mul, threads, NULL);
    size_t bytes = muladd(n, sizeof(CnReal), 0);
    a->memory = bytes == SIZE_MAX ? NULL : os_aligned_alloc(64, bytes);
    if (!a->memory) {
        cn_errorf(err, "out of memory for activations (%zu MiB)", bytes >> 20);
        return -1;
    }
    memset(a->memory, 0, bytes);
    acts_layout(a, s, B, T, dropout, train, mul, threads, a->memory);
    a->nmemory = n;
    a->shape = *s;
    a->B = B, a->T = T;
    a->dropout = dropout;
    a->train = train;
    a->mul = train ? mul : CN_MUL_FP32;
    a->pool = pool;
    return 0;
}

void cn_acts_free(CnActs *a)
{
    os_aligned_free(a->memory);
    memset(a, 0, sizeof *a);
}

void cn_acts_reset_state(CnActs *a)
{
    size_t n = (size_t)a->shape.layers * a->B * a->shape.hidden;
    memset(a->state_h, 0, n * sizeof *a->state_h);
    if (a->state_c)
        memset(a->state_c, 0, n * sizeof *a->state_c);
}

void cn_acts_carry_state(CnActs *a)
{
    size_t BH = (size_t)a->B * a->shape.hidden, last = (size_t)a->steps * BH;
    for (int l = 0; l < a->shape.layers; l++) {
        memcpy(a->state_h + l * BH, a->layer[l].h + last, BH * sizeof(CnReal));
        if (a->state_c)
            memcpy(a->state_c + l * BH, a->layer[l].c + last, BH * sizeof(CnReal));
    }
}

/* ------------------------------------------------------------------------- */
/* Forward and backward over a chunk: one task per pass, on every thread. */

typedef struct {
    const CnModel *m;
    CnActs *a;
    CnReal *grads;
    const int *ids, *targets;
    int steps;
    int pack;    /* forward: make the packed copies of the weights */
} Pass;

static CnPart part_of(const CnActs *a, int tid, int nthreads)
{
    return (CnPart){tid, nthreads, a->pool,
                    a->scratch ? a->scratch + (size_t)tid * a->scratch_per_thread : NULL,
                    a->mul, a->apack ? a->apack + (size_t)tid * CN_MC * CN_KC : NULL,
                    a->profile};
}

/* This thread's share of panels of a packed operand, packed. */
static void pack_share(const CnIsa *isa, CnPacked *out, const CnReal *B, int ldb, int trans,
                       const CnPart *part)
{
    int p0, p1;
    cn_share(cn_panels(out, isa->nr), part->tid, part->nthreads, &p0, &p1);
    if (p0 < p1)
        isa->pack(part, out, B, ldb, trans, p0, p1);
}

/* This thread's share of C (M x packed columns) = A . packed (+ bias): by
 * panels when there are enough, else by rows. */
static void packed_share(const CnIsa *isa, const CnPart *part, CnReal *C, int ldc, CnA A,
                         int M, const CnPacked *b, const CnReal *bias, int acc)
{
    int panels = cn_panels(b, isa->nr), lo, hi;
    if (panels >= 2 * part->nthreads) {
        cn_share(panels, part->tid, part->nthreads, &lo, &hi);
        if (lo < hi)
            isa->gemm_packed(part, C, ldc, A, M, b, lo, hi, bias, acc);
    } else {
        cn_share(M, part->tid, part->nthreads, &lo, &hi);
        A.p += (ptrdiff_t)lo * A.rs;
        if (lo < hi)
            isa->gemm_packed(part, C + (size_t)lo * ldc, ldc, A, hi - lo, b, 0, panels, bias,
                             acc);
    }
}

/* y[c0, c1) += column sums of X (M, N) over those columns */
static void add_colsum(CnReal *y, const CnReal *X, int M, int N, int c0, int c1)
{
    for (int i = 0; i < M; i++) {
        const CnReal *x = X + (size_t)i * N;
        for (int j = c0; j < c1; j++)
            y[j] += x[j];
    }
}

/* Dropout masks, drawn by each thread for its own rows where they are used.
 * Row r = (t, b) of the input of layer l (1..L-1; l = L: the output layer)
 * gets H values, 0 with probability p, else 1/(1-p), from its own splitmix64
 * stream, keyed by the pass's mask_key and (l, t, b) with b the stream's
 * number in the whole batch: a mask depends neither on the threads nor, for
 * a shard, on which process draws it. Each 64-bit draw decides two units
 * (dropped when its 32-bit half is below p 2^32). */
static void fill_mask_rows(const CnActs *a, CnReal *mask, int l, int r0, int r1)
{
    int H = a->shape.hidden, B = a->B;
    uint64_t cut = (uint64_t)(a->dropout * 4294967296.0);
    CnReal keep = (CnReal)(1 / (1 - a->dropout));
    for (int r = r0; r < r1; r++) {
        uint64_t t = (uint64_t)(r / B), b = (uint64_t)(a->stream_first + r % B);
        uint64_t x = cn_mix64(a->mask_key ^ ((uint64_t)l << 52 | t << 26 | b));
        CnReal *m = mask + (size_t)r * H;
        for (int j = 0; j < H; j += 2) {
            uint64_t bits = cn_mix64(x += CN_GOLDEN);
            m[j] = (bits & 0xffffffffu) < cut ? 0 : keep;
            if (j + 1 < H)
                m[j + 1] = (bits >> 32) < cut ? 0 : keep;
        }
    }
}

/* Input of layer l > 0: layer l-1's h_1..h_steps, or the dropout copy,
 * (steps*B, H) rows as the products read them: with bf16 products, the
 * copy rounded where it was made. */
static const CnReal *layer_input(const CnActs *a, int l)
{
    if (a->dropped)
        return a->layer[l].x;
    return a->layer[l - 1].h + (size_t)a->B * a->shape.hidden;
}

static CnA layer_input_rows(const CnActs *a, int l)
{
    const CnLayerActs *below = &a->layer[l - 1];
    const CnReal *rounded = a->dropped ? a->layer[l].xr
                            : below->hr ? below->hr + (size_t)a->B * a->shape.hidden
                                        : NULL;
    return cn_rows(layer_input(a, l), rounded, a->shape.hidden);
}

/* Input of the output layer: the top layer's h_1..h_steps, or the dropout
 * copy; as rows, like layer_input_rows. */
static const CnReal *output_input(const CnActs *a)
{
    if (a->dropped)
        return a->top_x;
    return a->layer[a->shape.layers - 1].h + (size_t)a->B * a->shape.hidden;
}

static CnA output_input_rows(const CnActs *a)
{
    const CnLayerActs *top = &a->layer[a->shape.layers - 1];
    const CnReal *rounded = a->dropped ? a->top_xr
                            : top->hr ? top->hr + (size_t)a->B * a->shape.hidden
                                      : NULL;
    return cn_rows(output_input(a), rounded, a->shape.hidden);
}

/* The arrays a cell works on for layer l; g: the gradients (backward). */
static CnCellArgs cell_args(const Pass *p, int l, CnView *g)
{
    CnActs *a = p->a;
    CnLayerActs *la = &a->layer[l];
    return (CnCellArgs){.steps = p->steps, .B = a->B, .H = p->m->shape.hidden,
                        .z = la->z, .h = la->h, .c = la->c, .tanh_c = la->tanh_c, .rh = la->rh,
                        .hr = la->hr, .rhr = a->rhr, .dzr = a->dzr,
                        .peep = p->m->w.layer[l].peep, .wh = &a->wh[l], .wh_t = &a->wh_t[l],
                        .whn_t = &a->whn_t[l], .dH = a->dH, .dz = a->dz, .dh = a->dh,
                        .dc = a->dc, .drh = a->drh, .dWh = g ? g->layer[l].Wh : NULL,
                        .dpeep = g ? g->layer[l].peep : NULL,
                        .carry = a->carry_on ? a->carry : NULL, .profile = a->profile};
}

static void forward_task(void *ctx, int tid, int nthreads)
{
    const Pass *p = ctx;
    const CnModel *m = p->m;
    const CnShape *s = &m->shape;
    const CnIsa *isa = cn_isa();
    CnActs *a = p->a;
    CnPart part = part_of(a, tid, nthreads);
    int B = a->B, H = s->hidden, V = s->vocab, GH = cn_cell_gates(s->cell) * H;
    int n = p->steps * B, r0, r1;
    size_t BH = (size_t)B * H;
    cn_share(n, tid, nthreads, &r0, &r1); /* rows of elementwise phases */

    if (p->pack) {
        for (int l = 0; l < s->layers; l++) {
            pack_share(isa, &a->wh[l], m->w.layer[l].Wh, GH, 0, &part);
            if (l > 0)
                pack_share(isa, &a->wx[l], m->w.layer[l].Wx, GH, 0, &part);
        }
        pack_share(isa, &a->wy, m->w.Wy, V, 0, &part);
    }
    cn_lap(a->profile, tid, CN_PHASE_OTHER);
    for (int l = 0; l < s->layers; l++) {
        const CnLayerView *w = &m->w.layer[l];
        CnLayerActs *la = &a->layer[l];
        if (tid == 0) {
            memcpy(la->h, a->state_h + l * BH, BH * sizeof(CnReal));
            if (la->c)
                memcpy(la->c, a->state_c + l * BH, BH * sizeof(CnReal));
            if (la->hr) /* bf16 products: h_0 rounded once, like every h_t */
                isa->round_rows(&part, la->hr, H, la->h, H, B, 0, H, H, a->mul);
        }
        /* z (n, GH) = input term + b */
        if (l == 0) {
            for (int r = r0; r < r1; r++) {
                const CnReal *wx = w->Wx + (size_t)p->ids[r] * GH;
                CnReal *z = la->z + (size_t)r * GH;
                for (int j = 0; j < GH; j++)
                    z[j] = wx[j] + w->b[j];
            }
        } else {
            if (a->dropped) {
                const CnReal *below = a->layer[l - 1].h + BH;
                fill_mask_rows(a, la->mask, l, r0, r1);
                for (size_t i = (size_t)r0 * H; i < (size_t)r1 * H; i++)
                    la->x[i] = below[i] * la->mask[i];
                if (la->xr && r0 < r1)
                    isa->round_rows(&part, la->xr + (size_t)r0 * H, H, la->x + (size_t)r0 * H,
                                    H, r1 - r0, 0, H, H, a->mul);
            }
            cn_pool_barrier(a->pool); /* the layer below and the packed weights are done */
            packed_share(isa, &part, la->z, GH, layer_input_rows(a, l), n, &a->wx[l], w->b, 0);
        }
        cn_pool_barrier(a->pool);
        cn_lap(a->profile, tid, CN_PHASE_INPUT);
        CnCellArgs cell = cell_args(p, l, NULL);
        switch (s->cell) {
        case CN_RNN: isa->rnn_forward(&cell, &part); break;
        case CN_LSTM:
        case CN_PEEPHOLE: isa->lstm_forward(&cell, &part); break;
        case CN_GRU: isa->gru_forward(&cell, &part); break;
        }
        cn_lap(a->profile, tid, CN_PHASE_CELL);
    }
    /* logits (n, V) = x_out (n, H) . Wy (H, V) + by, then softmax rows; x_out
     * is h_top, or h_top * mask (this thread's rows) */
    if (a->dropped) {
        const CnReal *h_top = a->layer[s->layers - 1].h + BH;
        fill_mask_rows(a, a->top_mask, s->layers, r0, r1);
        for (size_t i = (size_t)r0 * H; i < (size_t)r1 * H; i++)
            a->top_x[i] = h_top[i] * a->top_mask[i];
        if (a->top_xr && r0 < r1)
            isa->round_rows(&part, a->top_xr + (size_t)r0 * H, H, a->top_x + (size_t)r0 * H, H,
                            r1 - r0, 0, H, H, a->mul);
    }
    CnA top = output_input_rows(a);
    top.p += (ptrdiff_t)r0 * top.rs;
    if (r0 < r1)
        isa->gemm_packed(&part, a->logits + (size_t)r0 * V, V, top, r1 - r0, &a->wy, 0,
                         cn_panels(&a->wy, isa->nr), m->w.by, 0);
    if (p->targets && r0 < r1)
        isa->softmax_loss(a->logits, p->targets, a->loss_rows, r0, r1, V);
    cn_lap(a->profile, tid, CN_PHASE_OUTPUT);
}

double cn_forward(const CnModel *m, CnActs *a, const int *ids, const int *targets, int steps,
                  CnRng *rng)
{
    a->steps = steps;
    a->dropped = rng && a->train && a->dropout > 0;
    if (a->dropped)
        a->mask_key = cn_rng_next(rng);
    Pass p = {.m = m, .a = a, .ids = ids, .targets = targets, .steps = steps,
              .pack = !(a->weights_frozen && a->packed_from == m->params)};
    if (p.pack) { /* every packed copy follows the products' precision */
        for (int l = 0; l < CN_MAX_LAYERS; l++) {
            a->wx[l].mul = a->wh[l].mul = a->wx_t[l].mul = a->mul;
            a->wh_t[l].mul = a->whn_t[l].mul = a->mul;
        }
        a->wy.mul = a->wy_t.mul = a->mul;
    }
    cn_pool_run(a->pool, forward_task, &p);
    a->packed_from = m->params;
    if (!targets)
        return 0;
    double loss = 0;
    for (int r = 0; r < steps * a->B; r++)
        loss += a->loss_rows[r];
    return loss;
}

static void backward_task(void *ctx, int tid, int nthreads)
{
    const Pass *p = ctx;
    const CnModel *m = p->m;
    const CnShape *s = &m->shape;
    const CnIsa *isa = cn_isa();
    CnActs *a = p->a;
    CnPart part = part_of(a, tid, nthreads);
    int H = s->hidden, V = s->vocab, GH = cn_cell_gates(s->cell) * H;
    int n = p->steps * a->B, r0, r1, c0, c1;
    CnView g;
    cn_view_init(&g, s, p->grads);
    cn_share(n, tid, nthreads, &r0, &r1);

    for (int l = 0; l < s->layers; l++) {
        const CnLayerView *w = &m->w.layer[l];
        if (s->cell == CN_GRU) {
            pack_share(isa, &a->wh_t[l], w->Wh, GH, 1, &part);
            pack_share(isa, &a->whn_t[l], w->Wh + 2 * H, GH, 1, &part);
        } else {
            pack_share(isa, &a->wh_t[l], w->Wh, GH, 1, &part);
        }
        if (l > 0)
            pack_share(isa, &a->wx_t[l], w->Wx, GH, 1, &part);
    }
    pack_share(isa, &a->wy_t, m->w.Wy, V, 1, &part);
    cn_lap(a->profile, tid, CN_PHASE_OTHER);

    /* dy = (p - onehot(target)) / n, in place of p (n: the whole batch's) */
    CnReal scale = (CnReal)(a->grad_scale > 0 ? a->grad_scale : 1.0 / n);
    for (int r = r0; r < r1; r++) {
        CnReal *dy = a->logits + (size_t)r * V;
        dy[p->targets[r]] -= 1;
        for (int j = 0; j < V; j++)
            dy[j] *= scale;
    }
    cn_pool_barrier(a->pool);
    /* dWy += x_out^T dy;  dby += sum dy;  dH (n, H) = (dy . Wy^T) * mask */
    isa->gemm(&part, g.Wy, V, cn_a(output_input(a), 1, H), a->logits, V, 0, H, V, n, NULL, 1);
    cn_share(V, tid, nthreads, &c0, &c1);
    add_colsum(g.by, a->logits, n, V, c0, c1);
    packed_share(isa, &part, a->dH, H, cn_a(a->logits, V, 1), n, &a->wy_t, NULL, 0);
    cn_pool_barrier(a->pool);
    if (a->dropped) {
        for (size_t i = (size_t)r0 * H; i < (size_t)r1 * H; i++)
            a->dH[i] *= a->top_mask[i];
        cn_pool_barrier(a->pool);
    }
    cn_lap(a->profile, tid, CN_PHASE_OUTPUT);
    /* the gradient is final from the end backward: output layer, then each
     * layer from the top (cn_view_init's order) */
    size_t total = cn_shape_nparams(s), done_from = (size_t)(g.Wy - p->grads);
    if (a->ready && tid == 0)
        a->ready(a->ready_ctx, p->grads, done_from, total - done_from);

    for (int l = s->layers - 1; l >= 0; l--) {
        CnLayerView *gl = &g.layer[l];
        CnCellArgs cell = cell_args(p, l, &g);
        switch (s->cell) {
        case CN_RNN: isa->rnn_backward(&cell, &part); break;
        case CN_LSTM:
        case CN_PEEPHOLE: isa->lstm_backward(&cell, &part); break;
        case CN_GRU: isa->gru_backward(&cell, &part); break;
        }
        cn_lap(a->profile, tid, CN_PHASE_CELL);
        cn_share(GH, tid, nthreads, &c0, &c1);
        add_colsum(gl->b, a->dz, n, GH, c0, c1);
        if (l == 0) {
            /* one-hot input: dWx row ids[r] += dz row r, this thread's columns */
            for (int r = 0; r < n; r++) {
                CnReal *gx = gl->Wx + (size_t)p->ids[r] * GH;
                const CnReal *dz = a->dz + (size_t)r * GH;
                for (int j = c0; j < c1; j++)
                    gx[j] += dz[j];
            }
        } else {
            /* dWx += x^T dz;  dH of the layer below = (dz . Wx^T) * mask */
            isa->gemm(&part, gl->Wx, GH, cn_a(layer_input(a, l), 1, H), a->dz, GH, 0, H, GH, n,
                      NULL, 1);
            packed_share(isa, &part, a->dH, H, cn_rows(a->dz, a->dzr, GH), n, &a->wx_t[l], NULL,
                         0);
            if (a->dropped) {
                cn_pool_barrier(a->pool);
                const CnReal *mask = a->layer[l].mask;
                for (size_t i = (size_t)r0 * H; i < (size_t)r1 * H; i++)
                    a->dH[i] *= mask[i];
            }
        }
        cn_pool_barrier(a->pool);
        if (a->ready && tid == 0) {
            size_t from = (size_t)(gl->Wx - p->grads);
            a->ready(a->ready_ctx, p->grads, from, done_from - from);
            done_from = from;
        }
        cn_lap(a->profile, tid, CN_PHASE_INPUT);
    }
}

void cn_backward(const CnModel *m, CnActs *a, const int *ids, const int *targets, CnReal *grads)
{
    Pass p = {.m = m, .a = a, .grads = grads, .ids = ids, .targets = targets,
              .steps = a->steps};
    cn_pool_run(a->pool, backward_task, &p);
}
