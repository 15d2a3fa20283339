/* SPDX-License-Identifier: MIT */
/*
 * A model as one C99 file (charnn help export, "The model as C"): the weights as static
 * const arrays, the vocabulary as code points, a step function over a
 * caller-owned state, charnn's sampler and random numbers, and with
 * -DCHARNN_MAIN a main that takes charnn sample's flags. The file computes
 * what charnn computes, bit for bit: every product one chain of fused
 * multiply-adds in order of k from the same starting term (gemm.c), the
 * cells' operations in the kernels' order (rnn.c, lstm.c, gru.c), exp and
 * tanh as mathfn.h computes them, the draw as cn_sample_logits makes it.
 *
 * Storage: fp32; bf16 (each weight rounded as cn_bf16 rounds); int8 (each
 * row of a matrix, one output unit's weights or, for layer 0's W_x, one
 * character's, as codes q in [-127, 127] with a float scale s = max|w| /
 * 127, w = q s). cn_model_stored makes the model those decode to, so that
 * charnn eval and sample of it compute exactly what the file computes.
 */
#include "core.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *const cn_store_names[] = {"fp32", "bf16", "int8", NULL};

#ifdef CHARNN_DOUBLE
/* The double build (gradient checks) has no cn_bf16: the same rounding. */
static float cn_bf16(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7f800000u) == 0)
        u &= 0x80000000u;
    else if ((u & 0x7fffffffu) > 0x7f800000u)
        u |= 0x00400000u;
    else
        u += 0x7fffu + ((u >> 16) & 1);
    u &= 0xffff0000u;
    memcpy(&x, &u, sizeof x);
    return x;
}
#endif

/* ---------------------------------------------------------------------------
 * Storage of a matrix row: n weights, w[k] at src[k * ks].
 */
typedef struct {
    const CnReal *src;
    ptrdiff_t ks;
    int n;
} Row;

/* int8: the row's scale, max |w| / 127 (0 for a row of zeros) */
static float row_scale(Row r)
{
    float amax = 0;
    for (int k = 0; k < r.n; k++) {
        float a = fabsf((float)r.src[k * r.ks]);
        amax = a > amax ? a : amax;
    }
    return amax / 127.0f;
}

/* The code stored for w: bf16, its high 16 bits after rounding; int8,
 * round(w / scale) in [-127, 127]. */
static long code_of(float w, CnStore store, float scale)
{
    if (store == CN_STORE_BF16) {
        float r = cn_bf16(w);
        uint32_t u;
        memcpy(&u, &r, sizeof u);
        return (long)(u >> 16);
    }
    if (!(scale > 0))
        return 0;
    long q = lrintf(w / scale);
    return q > 127 ? 127 : q < -127 ? -127 : q;
}

/* What a code decodes to in the exported file: the same float operations. */
static float value_of(long code, CnStore store, float scale)
{
    if (store == CN_STORE_BF16) {
        uint32_t u = (uint32_t)code << 16;
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    return (float)(int)code * scale;
}

/* The matrices of a model as rows of the exported file, in its order:
 * layer 0's W_x by character, the upper layers' W_x, every layer's W_h,
 * then W_hy, each by output unit. fn sees each row with the matrix's
 * number m (0 W_x0, 1 W_x, 2 W_h, 3 W_hy). */
static void each_row(const CnModel *model, void (*fn)(void *ctx, int m, Row r), void *ctx)
{
    const CnShape *s = &model->shape;
    int V = s->vocab, H = s->hidden, GH = cn_cell_gates(s->cell) * H;
    for (int c = 0; c < V; c++)
        fn(ctx, 0, (Row){model->w.layer[0].Wx + (size_t)c * GH, 1, GH});
    for (int l = 1; l < s->layers; l++)
        for (int i = 0; i < GH; i++)
            fn(ctx, 1, (Row){model->w.layer[l].Wx + i, GH, H});
    for (int l = 0; l < s->layers; l++)
        for (int i = 0; i < GH; i++)
            fn(ctx, 2, (Row){model->w.layer[l].Wh + i, GH, H});
    for (int v = 0; v < V; v++)
        fn(ctx, 3, (Row){model->w.Wy + v, V, H});
}

typedef struct {
    CnStore store;
} Decode;

/* A row replaced by what its codes decode to (in place: the Row's source
 * is the copy's). */
static void decode_row(void *ctx, int m, Row r)
{
    (void)m;
    CnStore store = ((const Decode *)ctx)->store;
    float scale = store == CN_STORE_INT8 ? row_scale(r) : 1;
    CnReal *w = (CnReal *)(uintptr_t)r.src;
    for (int k = 0; k < r.n; k++) {
        CnReal *x = w + k * r.ks;
        *x = value_of(code_of((float)*x, store, scale), store, scale);
    }
}

CnModel *cn_model_stored(const CnModel *model, CnStore store, CnError *err)
{
    if ((unsigned)store > CN_STORE_INT8) {
        cn_errorf(err, "unknown storage %d", (int)store);
        return NULL;
    }
    CnModel *m = calloc(1, sizeof *m);
    uint32_t *chars = malloc((size_t)model->vocab.size * sizeof *chars);
    CnVocab vocab;
    if (!m || !chars) {
        free(m);
        free(chars);
        cn_errorf(err, "out of memory for a copy of the model");
        return NULL;
    }
    memcpy(chars, model->vocab.chars, (size_t)model->vocab.size * sizeof *chars);
    if (cn_vocab_from_chars(&vocab, chars, model->vocab.size, err) != 0) {
        free(m);
        return NULL;
    }
    const CnShape *s = &model->shape;
    if (cn_model_init(m, s->cell, s->hidden, s->layers, &vocab, err) != 0) {
        cn_vocab_release(&vocab);
        free(m);
        return NULL;
    }
    memcpy(m->params, model->params, model->nparams * sizeof *m->params);
    if (store != CN_STORE_FP32) {
        Decode d = {store};
        each_row(m, decode_row, &d);
    }
    return m;
}

int cn_model_save(const CnModel *model, const char *path, CnError *err)
{
    return cn_checkpoint_save(path, model, NULL, err);
}

/* ---------------------------------------------------------------------------
 * Writing the file. Its code is kept below as templates, line by line, in
 * which '@' stands for the name, '$' for the name in capitals, and `...`
 * for ", ..." when the weights are int8 (a row's scale, passed along with
 * the row) and for nothing otherwise.
 */
typedef struct {
    FILE *out;
    const char *name;
    char upper[CN_EXPORT_NAME_MAX + 1];
    CnStore store;
} Writer;

static void emit_line(const Writer *w, const char *line)
{
    int quoted = 0;
    for (const char *p = line; *p; p++) {
        if (*p == '`') {
            quoted = !quoted;
            if (quoted && w->store == CN_STORE_INT8)
                fputs(", ", w->out);
        } else if (quoted && w->store != CN_STORE_INT8) {
            continue;
        } else if (*p == '@') {
            fputs(w->name, w->out);
        } else if (*p == '$') {
            fputs(w->upper, w->out);
        } else {
            fputc(*p, w->out);
        }
    }
    fputc('\n', w->out);
}

/* The lines of a template, up to its NULL. */
static void emit(const Writer *w, const char *const *lines)
{
    for (; *lines; lines++)
        emit_line(w, *lines);
}

/* A line of text after printf formatting, then templated. */
static void emitf(const Writer *w, const char *fmt, ...) OS_PRINTF(2, 3);
static void emitf(const Writer *w, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    emit_line(w, line);
}

static const char *const t_interface[] = {
    "#ifndef $_H",
    "#define $_H",
    "",
    "#include <stdint.h>",
    "",
    NULL,
};

static const char *const t_state_tail[] = {
    "    float y[$_VOCAB];   /* y_t = W_hy h_t + b_y: the next character's logits */",
    "    int top[$_VOCAB];   /* scratch of @_sample's top-k */",
    "} @_state;",
    "",
    "/* Random numbers: charnn's xoshiro256**, seeded through splitmix64. */",
    "typedef struct {",
    "    uint64_t s[4];",
    "} @_rng;",
    "",
    "/* The characters: @_vocab[i] is the code point of index i (the position of",
    " * the one-hot x_t), increasing. */",
    "extern const uint32_t @_vocab[$_VOCAB];",
    "",
    "/* The index of code point cp in @_vocab, or -1 if it is not there. */",
    "int @_index(uint32_t cp);",
    "/* Zero state, as charnn starts a text (y zero too). */",
    "void @_reset(@_state *s);",
    "/* Reads the character of index ch (0 <= ch < $_VOCAB): h_t of every layer,",
    " * then s->y, the logits of the next character. 0, or -1 (nothing changed)",
    " * for ch out of range. */",
    "int @_step(@_state *s, int ch);",
    "/* rng seeded as charnn sample --seed seed seeds its own. */",
    "void @_seed(@_rng *rng, uint64_t seed);",
    "/* The next character's index, drawn from softmax(s->y / temperature) over",
    " * the top_k most likely characters (0: all) as charnn sample draws it. */",
    "int @_sample(@_state *s, double temperature, int top_k, @_rng *rng);",
    "/* The UTF-8 of code point cp in out; returns its length, 1 to 4. */",
    "int @_utf8(uint32_t cp, char out[4]);",
    "",
    "#endif /* $_H */",
    NULL,
};

static const char *const t_arith[] = {
    "",
    "/* ------------------------------------------------------------------------- */",
    "/* The step: charnn's arithmetic, operation for operation. Compilers that",
    " * fuse a*b+c into one rounding by default (GCC outside -std=c99, clang) are",
    " * told not to: only the products below fuse, as charnn's kernels do. */",
    "#if defined(__GNUC__) && !defined(__clang__)",
    "#pragma GCC optimize(\"fp-contract=off\")",
    "#else",
    "#pragma STDC FP_CONTRACT OFF",
    "#endif",
    "",
    "#include <math.h>",
    "#include <string.h>",
    "",
    NULL,
};

static const char *const t_mul_add[] = {
    "/* x*y + z rounded once (fmaf): inline where the CPU has the instruction",
    " * (FP_FAST_FMAF), glibc's elsewhere on Linux; otherwise (or with",
    " * -DCHARNN_SOFT_FMA) from double, as not every C library's fmaf rounds",
    " * once (MinGW-w64's does not): the exact product, the sum rounded to odd",
    " * (2Sum gives its error e), then to float, which rounds x*y + z once.",
    " * -DCHARNN_NO_FMA: a rounded product, then a rounded sum, as charnn's",
    " * portable kernels (CHARNN_ISA=generic) compute. */",
    "#if defined(CHARNN_NO_FMA)",
    "static float mul_add(float x, float y, float z)",
    "{",
    "    return x * y + z;",
    "}",
    "#elif (defined(FP_FAST_FMAF) || defined(__GLIBC__)) && !defined(CHARNN_SOFT_FMA)",
    "static float mul_add(float x, float y, float z)",
    "{",
    "    return fmaf(x, y, z);",
    "}",
    "#else",
    "static float mul_add(float x, float y, float z)",
    "{",
    "    double xy = (double)x * (double)y, s = xy + (double)z, t = s - xy;",
    "    double e = (xy - (s - t)) + ((double)z - t);",
    "    uint64_t u;",
    "    memcpy(&u, &s, sizeof u);",
    "    if (e != 0 && !(u & 1)) {",
    "        u += (e > 0) == (s > 0) ? 1 : (uint64_t)-1;",
    "        memcpy(&s, &u, sizeof s);",
    "    }",
    "    return (float)s;",
    "}",
    "#endif",
    "",
    "/* e^x as charnn's kernels compute it: x = n ln2 + r with |r| <= ln2/2, e^r",
    " * by the degree-7 polynomial of Cephes' expf, times 2^n made in the exponent",
    " * bits; x clamped to [-87.3, 88.3]. */",
    "static float fexp(float x)",
    "{",
    "    x = x < -87.3f ? -87.3f : x;",
    "    x = x > 88.3f ? 88.3f : x;",
    "    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round(x / ln2) */",
    "    float r = x - n * 0.693359375f; /* ln2's high part: n times it is exact */",
    "    r = r - n * -2.12194440e-4f;   /* its low part */",
    "    float poly = 1.9875691500e-4f;",
    "    poly = poly * r + 1.3981999507e-3f;",
    "    poly = poly * r + 8.3334519073e-3f;",
    "    poly = poly * r + 4.1665795894e-2f;",
    "    poly = poly * r + 1.6666665459e-1f;",
    "    poly = poly * r + 5.0000001201e-1f;",
    "    poly = poly * (r * r) + r + 1.0f;",
    "    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;",
    "    float scale;",
    "    memcpy(&scale, &bits, sizeof scale);",
    "    return poly * scale;",
    "}",
    "",
    "/* tanh x: Cephes' odd polynomial for |x| < 0.625, 1 - 2/(e^2|x| + 1) beyond */",
    "static float ftanh(float x)",
    "{",
    "    float ax = x < 0 ? -x : x;",
    "    if (ax < 0.625f) {",
    "        float z = x * x, poly = -5.70498872745e-3f;",
    "        poly = poly * z + 2.06390887954e-2f;",
    "        poly = poly * z - 5.37397155531e-2f;",
    "        poly = poly * z + 1.33314422036e-1f;",
    "        poly = poly * z - 3.33332819422e-1f;",
    "        return poly * z * x + x;",
    "    }",
    "    float big = 1.0f - 2.0f / (fexp(2.0f * ax) + 1.0f);",
    "    return x < 0 ? -big : big;",
    "}",
    "",
    NULL,
};

static const char *const t_sigmoid[] = {
    "static float sigmoid(float x)",
    "{",
    "    return 1.0f / (1.0f + fexp(-x));",
    "}",
    "",
    NULL,
};

static const char *const t_dot_fp32[] = {
    "/* acc + w[0] x[0] + w[1] x[1] + ... + w[H-1] x[H-1], one multiply-add at a",
    " * time in this order: how charnn's kernels compute every product. */",
    "static float dot(float acc, const weight *w, const float *x)",
    "{",
    "    for (int k = 0; k < H; k++)",
    "        acc = mul_add(x[k], w[k], acc);",
    "    return acc;",
    "}",
    "",
    "/* Weight i (gate unit) of character ch's column of layer 0's W_x */",
    "static float column(int ch, int i)",
    "{",
    "    return W_x0[ch][i];",
    "}",
    "",
    NULL,
};

static const char *const t_dot_bf16[] = {
    "/* A weight stored as bfloat16: the high 16 bits of a float. */",
    "static float bf16(weight w)",
    "{",
    "    uint32_t bits = (uint32_t)w << 16;",
    "    float f;",
    "    memcpy(&f, &bits, sizeof f);",
    "    return f;",
    "}",
    "",
    "/* acc + w[0] x[0] + w[1] x[1] + ... + w[H-1] x[H-1], one multiply-add at a",
    " * time in this order: how charnn's kernels compute every product. */",
    "static float dot(float acc, const weight *w, const float *x)",
    "{",
    "    for (int k = 0; k < H; k++)",
    "        acc = mul_add(x[k], bf16(w[k]), acc);",
    "    return acc;",
    "}",
    "",
    "/* Weight i (gate unit) of character ch's column of layer 0's W_x */",
    "static float column(int ch, int i)",
    "{",
    "    return bf16(W_x0[ch][i]);",
    "}",
    "",
    NULL,
};

static const char *const t_dot_int8[] = {
    "/* acc + w[0] x[0] + w[1] x[1] + ... + w[H-1] x[H-1], one multiply-add at a",
    " * time in this order: how charnn's kernels compute every product. An int8",
    " * weight q of a row with scale s is the float q s. */",
    "static float dot(float acc, const weight *w, float scale, const float *x)",
    "{",
    "    for (int k = 0; k < H; k++)",
    "        acc = mul_add(x[k], (float)w[k] * scale, acc);",
    "    return acc;",
    "}",
    "",
    "/* Weight i (gate unit) of character ch's column of layer 0's W_x */",
    "static float column(int ch, int i)",
    "{",
    "    return (float)W_x0[ch][i] * W_x0_scale[ch];",
    "}",
    "",
    NULL,
};

static const char *const t_input_1[] = {
    "/* W_x x_t + b at gate unit i of layer l: the one-hot x_t (character ch)",
    " * picks column ch of W_x. */",
    "static float input(const @_state *s, int l, int ch, int i)",
    "{",
    "    (void)s;",
    "    return column(ch, i) + b[l][i];",
    "}",
    "",
    NULL,
};

static const char *const t_input_n[] = {
    "/* W_x x_t + b at gate unit i of layer l. Layer 0: the one-hot x_t",
    " * (character ch) picks column ch of W_x. Above: x_t is the new h_t of",
    " * layer l-1, and the product's chain starts from b. */",
    "static float input(const @_state *s, int l, int ch, int i)",
    "{",
    "    if (l == 0)",
    "        return column(ch, i) + b[0][i];",
    "    return dot(b[l][i], W_x[l - 1][i]`W_x_scale[l - 1][i]`, s->h[l - 1]);",
    "}",
    "",
    NULL,
};

static const char *const t_gate[] = {
    "/* Unit j of gate block g of layer l before its nonlinearity, row i = g*H + j",
    " * of W_x and W_h:",
    " *     W_x x_t + W_h h + b     (h: h_{t-1}; for the GRU's n_t, r_t * h_{t-1})",
    " * the chain of W_h h going on from the input term W_x x_t + b. */",
    "static float gate(const @_state *s, int l, int ch, int g, int j, const float *h)",
    "{",
    "    int i = g * H + j;",
    "    return dot(input(s, l, ch, i), W_h[l][i]`W_h_scale[l][i]`, h);",
    "}",
    "",
    NULL,
};

static const char *const t_rnn[] = {
    "/* One step of layer l, a vanilla RNN:",
    " *     h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h) */",
    "static void layer(@_state *s, int l, int ch)",
    "{",
    "    for (int j = 0; j < H; j++)",
    "        s->h_new[j] = ftanh(gate(s, l, ch, 0, j, s->h[l]));",
    "    memcpy(s->h[l], s->h_new, sizeof s->h_new);",
    "}",
    "",
    NULL,
};

static const char *const t_lstm[] = {
    "/* One step of layer l, an LSTM (* elementwise):",
    " *     i_t = sigmoid(W_xi x_t + W_hi h_{t-1} + b_i)        input gate",
    " *     f_t = sigmoid(W_xf x_t + W_hf h_{t-1} + b_f)        forget gate",
    " *     o_t = sigmoid(W_xo x_t + W_ho h_{t-1} + b_o)        output gate",
    " *     g_t = tanh(W_xg x_t + W_hg h_{t-1} + b_g)           candidate cell",
    " *     c_t = f_t * c_{t-1} + i_t * g_t",
    " *     h_t = o_t * tanh(c_t)",
    " * Gate blocks [i f o g]: unit j of gate g is row g*H + j. */",
    "static void layer(@_state *s, int l, int ch)",
    "{",
    "    const float *h = s->h[l];",
    "    for (int j = 0; j < H; j++) {",
    "        float z_i = gate(s, l, ch, 0, j, h), z_f = gate(s, l, ch, 1, j, h);",
    "        float z_o = gate(s, l, ch, 2, j, h), z_g = gate(s, l, ch, 3, j, h);",
    "        float c_prev = s->c[l][j];",
    "        float i = sigmoid(z_i), f = sigmoid(z_f), g = ftanh(z_g);",
    "        float c = f * c_prev + i * g;",
    "        float o = sigmoid(z_o);",
    "        s->c[l][j] = c;",
    "        s->h_new[j] = o * ftanh(c); /* h_t, kept aside while h_{t-1} is read */",
    "    }",
    "    memcpy(s->h[l], s->h_new, sizeof s->h_new);",
    "}",
    "",
    NULL,
};

static const char *const t_peephole[] = {
    "/* One step of layer l, a peephole LSTM (* elementwise; the input and",
    " * forget gates see the previous cell state, the output gate the new one):",
    " *     i_t = sigmoid(W_xi x_t + W_hi h_{t-1} + p_i * c_{t-1} + b_i)",
    " *     f_t = sigmoid(W_xf x_t + W_hf h_{t-1} + p_f * c_{t-1} + b_f)",
    " *     g_t = tanh(W_xg x_t + W_hg h_{t-1} + b_g)",
    " *     c_t = f_t * c_{t-1} + i_t * g_t",
    " *     o_t = sigmoid(W_xo x_t + W_ho h_{t-1} + p_o * c_t + b_o)",
    " *     h_t = o_t * tanh(c_t)",
    " * Gate blocks [i f o g]: unit j of gate g is row g*H + j; p[l] holds",
    " * p_i, p_f, p_o. */",
    "static void layer(@_state *s, int l, int ch)",
    "{",
    "    const float *h = s->h[l];",
    "    for (int j = 0; j < H; j++) {",
    "        float z_i = gate(s, l, ch, 0, j, h), z_f = gate(s, l, ch, 1, j, h);",
    "        float z_o = gate(s, l, ch, 2, j, h), z_g = gate(s, l, ch, 3, j, h);",
    "        float c_prev = s->c[l][j];",
    "        float i = sigmoid(z_i + p[l][j] * c_prev);",
    "        float f = sigmoid(z_f + p[l][H + j] * c_prev);",
    "        float g = ftanh(z_g);",
    "        float c = f * c_prev + i * g;",
    "        float o = sigmoid(z_o + p[l][2 * H + j] * c);",
    "        s->c[l][j] = c;",
    "        s->h_new[j] = o * ftanh(c); /* h_t, kept aside while h_{t-1} is read */",
    "    }",
    "    memcpy(s->h[l], s->h_new, sizeof s->h_new);",
    "}",
    "",
    NULL,
};

static const char *const t_gru[] = {
    "/* One step of layer l, a GRU (* elementwise; the reset gate applies before",
    " * the recurrent product):",
    " *     r_t = sigmoid(W_xr x_t + W_hr h_{t-1} + b_r)        reset gate",
    " *     u_t = sigmoid(W_xu x_t + W_hu h_{t-1} + b_u)        update gate",
    " *     n_t = tanh(W_xn x_t + W_hn (r_t * h_{t-1}) + b_n)",
    " *     h_t = u_t * n_t + (1 - u_t) * h_{t-1}",
    " * Gate blocks [r u n]: unit j of gate g is row g*H + j. */",
    "static void layer(@_state *s, int l, int ch)",
    "{",
    "    float *h = s->h[l];",
    "    for (int j = 0; j < H; j++) {",
    "        float r = sigmoid(gate(s, l, ch, 0, j, h));",
    "        s->u[j] = sigmoid(gate(s, l, ch, 1, j, h));",
    "        s->rh[j] = r * h[j];",
    "    }",
    "    /* from here h_{t-1} is read only unit by unit: h_t replaces it */",
    "    for (int j = 0; j < H; j++) {",
    "        float n = ftanh(gate(s, l, ch, 2, j, s->rh));",
    "        h[j] = s->u[j] * n + (1 - s->u[j]) * h[j];",
    "    }",
    "}",
    "",
    NULL,
};

static const char *const t_step[] = {
    "int @_step(@_state *s, int ch)",
    "{",
    "    if (ch < 0 || ch >= V)",
    "        return -1;",
    "    for (int l = 0; l < L; l++)",
    "        layer(s, l, ch);",
    "    /* y_t = W_hy h_t + b_y, from the top layer's h_t */",
    "    for (int v = 0; v < V; v++)",
    "        s->y[v] = dot(b_y[v], W_hy[v]`W_hy_scale[v]`, s->h[L - 1]);",
    "    return 0;",
    "}",
    "",
    "void @_reset(@_state *s)",
    "{",
    "    memset(s, 0, sizeof *s);",
    "}",
    "",
    "int @_index(uint32_t cp)",
    "{",
    "    int lo = 0, hi = V - 1;",
    "    while (lo <= hi) {",
    "        int mid = lo + (hi - lo) / 2;",
    "        if (@_vocab[mid] == cp)",
    "            return mid;",
    "        if (@_vocab[mid] < cp)",
    "            lo = mid + 1;",
    "        else",
    "            hi = mid - 1;",
    "    }",
    "    return -1;",
    "}",
    "",
    NULL,
};

static const char *const t_sample[] = {
    "/* ------------------------------------------------------------------------- */",
    "/* Sampling, as charnn sample does it (src/core/sample.c, src/core/rng.c). */",
    "",
    "static uint64_t rotl(uint64_t x, int k)",
    "{",
    "    return (x << k) | (x >> (64 - k));",
    "}",
    "",
    "/* splitmix64: the next of x, x + g, x + 2g, ... (g = 2^64 / golden ratio) mixed */",
    "static uint64_t splitmix64(uint64_t *x)",
    "{",
    "    uint64_t z = *x += 0x9e3779b97f4a7c15u;",
    "    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;",
    "    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;",
    "    return z ^ (z >> 31);",
    "}",
    "",
    "void @_seed(@_rng *rng, uint64_t seed)",
    "{",
    "    for (int i = 0; i < 4; i++)",
    "        rng->s[i] = splitmix64(&seed);",
    "}",
    "",
    "/* xoshiro256** (Blackman and Vigna): the next 64 random bits */",
    "static uint64_t next(@_rng *rng)",
    "{",
    "    uint64_t *s = rng->s;",
    "    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;",
    "    s[2] ^= s[0];",
    "    s[3] ^= s[1];",
    "    s[1] ^= s[2];",
    "    s[0] ^= s[3];",
    "    s[2] ^= t;",
    "    s[3] = rotl(s[3], 45);",
    "    return result;",
    "}",
    "",
    "/* uniform in [0, 1), 53 random bits */",
    "static double uniform(@_rng *rng)",
    "{",
    "    return (double)(next(rng) >> 11) * (1.0 / 9007199254740992.0);",
    "}",
    "",
    "/* order[0..k) = the indices of the k largest of y, largest first, equal",
    " * values by lower index (an insertion pass, O(V k)) */",
    "static void largest(const float *y, int k, int *order)",
    "{",
    "    int count = 0;",
    "    for (int j = 0; j < V; j++) {",
    "        if (count == k && !(y[j] > y[order[k - 1]]))",
    "            continue;",
    "        int pos = count < k ? count++ : k - 1;",
    "        while (pos > 0 && y[j] > y[order[pos - 1]]) {",
    "            order[pos] = order[pos - 1];",
    "            pos--;",
    "        }",
    "        order[pos] = j;",
    "    }",
    "}",
    "",
    "/* Character j's share of the draw before normalizing: e^((y_j - max) /",
    " * temperature), or 0 when the top k leave it out (kth: the k-th largest, or",
    " * -1 for no top-k; ties go to the lower index). */",
    "static double weight_of(const float *y, int j, double max, double inv_temp, int kth)",
    "{",
    "    if (kth >= 0 && !(y[j] > y[kth] || (y[j] == y[kth] && j <= kth)))",
    "        return 0;",
    "    double d = (double)y[j] - max;",
    "    return d == 0 ? 1 : exp(d * inv_temp);",
    "}",
    "",
    "int @_sample(@_state *s, double temperature, int top_k, @_rng *rng)",
    "{",
    "    const float *y = s->y;",
    "    int best = 0, kth = -1;",
    "    for (int j = 1; j < V; j++)",
    "        if (y[j] > y[best])",
    "            best = j;",
    "    if (top_k > 0 && top_k < V) {",
    "        largest(y, top_k, s->top);",
    "        kth = s->top[top_k - 1];",
    "    }",
    "    double max = (double)y[best], inv_temp = 1 / temperature, sum = 0;",
    "    for (int j = 0; j < V; j++)",
    "        sum += weight_of(y, j, max, inv_temp, kth);",
    "    double u = uniform(rng) * sum, acc = 0;",
    "    int last = best;",
    "    for (int j = 0; j < V; j++) {",
    "        double share = weight_of(y, j, max, inv_temp, kth);",
    "        if (share == 0)",
    "            continue;",
    "        acc += share;",
    "        last = j;",
    "        if (u < acc)",
    "            return j;",
    "    }",
    "    return last; /* u landed on the rounding error at the very top */",
    "}",
    "",
    "int @_utf8(uint32_t cp, char out[4])",
    "{",
    "    if (cp < 0x80) {",
    "        out[0] = (char)cp;",
    "        return 1;",
    "    }",
    "    if (cp < 0x800) {",
    "        out[0] = (char)(0xc0 | (cp >> 6));",
    "        out[1] = (char)(0x80 | (cp & 0x3f));",
    "        return 2;",
    "    }",
    "    if (cp < 0x10000) {",
    "        out[0] = (char)(0xe0 | (cp >> 12));",
    "        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));",
    "        out[2] = (char)(0x80 | (cp & 0x3f));",
    "        return 3;",
    "    }",
    "    out[0] = (char)(0xf0 | (cp >> 18));",
    "    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));",
    "    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));",
    "    out[3] = (char)(0x80 | (cp & 0x3f));",
    "    return 4;",
    "}",
    "",
    NULL,
};

static const char *const t_main[] = {
    "#ifdef CHARNN_MAIN",
    "/* ------------------------------------------------------------------------- */",
    "/* A program printing a sample as charnn sample prints it, with its flags:",
    " *     --prime TEXT       run through the model first, and printed (default: a",
    " *                        newline, run through unprinted, if the vocabulary",
    " *                        has one)",
    " *     --length N         characters to draw (default 1000; 0: until killed)",
    " *     --temperature T    divide the logits by T (default 1)",
    " *     --top-k K          draw among the K most likely characters; 0: all",
    " *     --seed S           random seed (default 1) */",
    "#include <errno.h>",
    "#include <stdio.h>",
    "#include <stdlib.h>",
    "#if defined(_WIN32)",
    "#include <fcntl.h>",
    "#include <io.h>",
    "#endif",
    "",
    "static const char *program = \"gen\";",
    "",
    "static int refuse(const char *what, const char *arg, const char *fix)",
    "{",
    "    fprintf(stderr, \"%s: %s%s; %s\\n\", program, what, arg, fix);",
    "    return 2;",
    "}",
    "",
    "/* a whole number in [0, max] */",
    "static int whole(const char *text, unsigned long long max, unsigned long long *out)",
    "{",
    "    char *end;",
    "    errno = 0;",
    "    unsigned long long v = strtoull(text, &end, 10);",
    "    if (*text < '0' || *text > '9' || *end || errno == ERANGE || v > max)",
    "        return -1;",
    "    *out = v;",
    "    return 0;",
    "}",
    "",
    "/* The code point at s (n bytes left) in *cp; its length, or 0 if the bytes",
    " * are not UTF-8 (overlong, a surrogate, above U+10FFFF, cut short). */",
    "static int utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)",
    "{",
    "    int len = s[0] < 0x80 ? 1 : s[0] < 0xc2 ? 0 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3",
    "              : s[0] < 0xf5 ? 4 : 0;",
    "    static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};",
    "    if (len == 0 || (size_t)len > n)",
    "        return 0;",
    "    uint32_t v = len == 1 ? s[0] : s[0] & (0x7fu >> len);",
    "    for (int i = 1; i < len; i++) {",
    "        if ((s[i] & 0xc0) != 0x80)",
    "            return 0;",
    "        v = v << 6 | (s[i] & 0x3fu);",
    "    }",
    "    if (v < least[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))",
    "        return 0;",
    "    *cp = v;",
    "    return len;",
    "}",
    "",
    "int main(int argc, char **argv)",
    "{",
    "    const char *prime = \"\", *usage = \"usage: [--prime TEXT] [--length N] \"",
    "        \"[--temperature T] [--top-k K] [--seed S]\";",
    "    unsigned long long length = 1000, seed = 1, top_k = 0;",
    "    double temperature = 1;",
    "    if (argc > 0 && argv[0][0])",
    "        program = argv[0];",
    "    for (int a = 1; a < argc; a++) {",
    "        const char *flag = argv[a], *eq = strchr(flag, '='), *value = eq ? eq + 1 : NULL;",
    "        size_t n = eq ? (size_t)(eq - flag) : strlen(flag);",
    "        if (strcmp(flag, \"--help\") == 0 || strcmp(flag, \"-h\") == 0) {",
    "            printf(\"%s %s\\n\", program, usage);",
    "            return 0;",
    "        }",
    "        if (!value && a + 1 < argc)",
    "            value = argv[++a];",
    "        if (!value)",
    "            return refuse(flag, \" needs a value\", usage);",
    "        if (n == 7 && strncmp(flag, \"--prime\", n) == 0)",
    "            prime = value;",
    "        else if (n == 8 && strncmp(flag, \"--length\", n) == 0) {",
    "            if (whole(value, (unsigned long long)-1, &length) != 0)",
    "                return refuse(\"--length is not a whole number: \", value, usage);",
    "        } else if (n == 6 && strncmp(flag, \"--seed\", n) == 0) {",
    "            if (whole(value, (unsigned long long)-1, &seed) != 0)",
    "                return refuse(\"--seed is not a whole number: \", value, usage);",
    "        } else if (n == 7 && strncmp(flag, \"--top-k\", n) == 0) {",
    "            if (whole(value, 0x110000, &top_k) != 0)",
    "                return refuse(\"--top-k is not a whole number up to 1114112: \", value, usage);",
    "        } else if (n == 13 && strncmp(flag, \"--temperature\", n) == 0) {",
    "            char *end;",
    "            temperature = strtod(value, &end);",
    "            if (end == value || *end || !(temperature > 0) || !isfinite(temperature))",
    "                return refuse(\"--temperature is not a number above 0: \", value, usage);",
    "        } else {",
    "            return refuse(\"unknown option \", flag, usage);",
    "        }",
    "    }",
    "    @_state s;",
    "    @_rng rng;",
    "    @_reset(&s);",
    "    @_seed(&rng, seed);",
    "    size_t n = strlen(prime);",
    "    for (size_t at = 0; at < n;) { /* every character known before any step */",
    "        uint32_t cp;",
    "        int len = utf8_decode((const unsigned char *)prime + at, n - at, &cp);",
    "        char where[64];",
    "        sprintf(where, \" (at byte %lu)\", (unsigned long)at);",
    "        if (len == 0)",
    "            return refuse(\"--prime is not valid UTF-8\", where, \"give UTF-8 text\");",
    "        if (@_index(cp) < 0)",
    "            return refuse(\"--prime has a character outside the model's vocabulary\", where,",
    "                          \"give a prime of the training text's characters\");",
    "        at += (size_t)len;",
    "    }",
    "    for (size_t at = 0; at < n;) {",
    "        uint32_t cp;",
    "        at += (size_t)utf8_decode((const unsigned char *)prime + at, n - at, &cp);",
    "        @_step(&s, @_index(cp));",
    "    }",
    "    if (n == 0 && @_index('\\n') >= 0)",
    "        @_step(&s, @_index('\\n'));",
    "#if defined(_WIN32)",
    "    _setmode(_fileno(stdout), _O_BINARY); /* the bytes as charnn writes them */",
    "#endif",
    "    fwrite(prime, 1, n, stdout);",
    "    for (unsigned long long i = 0; (length == 0 || i < length) && !ferror(stdout); i++) {",
    "        char utf8[4];",
    "        int next = @_sample(&s, temperature, (int)top_k, &rng);",
    "        fwrite(utf8, 1, (size_t)@_utf8(@_vocab[next], utf8), stdout);",
    "        @_step(&s, next);",
    "    }",
    "    putchar('\\n');",
    "    if (fflush(stdout) != 0 || ferror(stdout)) {",
    "        fprintf(stderr, \"%s: cannot write the sample to standard output\\n\", program);",
    "        return 1;",
    "    }",
    "    return 0;",
    "}",
    "#endif /* CHARNN_MAIN */",
    NULL,
};

/* ---------------------------------------------------------------------------
 * The data.
 */

/* x as a C float constant: the shortest decimal that reads back as x (9
 * significant digits always do), with the suffix f (GCC converts a double
 * constant to float a hundred times slower). */
static void float_text(float x, char buf[32])
{
    int prec = 6;
    snprintf(buf, 24, "%.*g", prec, (double)x);
    if (strtof(buf, NULL) == x && !(x == 0 && signbit(x))) {
        char shorter[24];
        while (prec > 1) {
            snprintf(shorter, sizeof shorter, "%.*g", prec - 1, (double)x);
            if (strtof(shorter, NULL) != x)
                break;
            memcpy(buf, shorter, sizeof shorter);
            prec--;
        }
    } else {
        while (prec < 9) {
            snprintf(buf, 24, "%.*g", ++prec, (double)x);
            if (strtof(buf, NULL) == x)
                break;
        }
    }
    strcat(buf, strpbrk(buf, ".e") ? "f" : ".0f");
}

/* Values written as a list, wrapped within 100 columns, indented by
 * `indent`. */
typedef struct {
    FILE *out;
    int col, indent, first;
} List;

static void list_start(List *li, FILE *out, int indent)
{
    *li = (List){out, 0, indent, 1};
}

static void list_add(List *li, const char *text)
{
    int n = (int)strlen(text);
    if (li->first) {
        li->col = fprintf(li->out, "%*s%s", li->indent, "", text);
    } else if (li->col + n + 3 > 100) { /* ", " and the line's last comma */
        li->col = fprintf(li->out, ",\n%*s%s", li->indent, "", text) - 2;
    } else {
        li->col += fprintf(li->out, ", %s", text);
    }
    li->first = 0;
}

/* One row's values (codes for bf16 and int8) as a braced list. */
static void emit_row(const Writer *w, Row r, int indent)
{
    List li;
    char text[32];
    float scale = w->store == CN_STORE_INT8 ? row_scale(r) : 1;
    fprintf(w->out, "%*s{\n", indent, "");
    list_start(&li, w->out, indent + 4);
    for (int k = 0; k < r.n; k++) {
        float x = (float)r.src[k * r.ks];
        if (w->store == CN_STORE_FP32)
            float_text(x, text);
        else if (w->store == CN_STORE_BF16)
            snprintf(text, sizeof text, "0x%04lx", code_of(x, w->store, scale));
        else
            snprintf(text, sizeof text, "%ld", code_of(x, w->store, scale));
        list_add(&li, text);
    }
    fprintf(w->out, "\n%*s},\n", indent, "");
}

/* A vector of floats as a braced list, then end (",\n" or ";\n"). */
static void emit_floats(FILE *out, const CnReal *x, int n, int indent, const char *end)
{
    List li;
    char text[32];
    fprintf(out, "%*s{\n", indent, "");
    list_start(&li, out, indent + 4);
    for (int k = 0; k < n; k++) {
        float_text((float)x[k], text);
        list_add(&li, text);
    }
    fprintf(out, "\n%*s}%s", indent, "", end);
}

/* The int8 scales of rows, as one braced list. */
typedef struct {
    int matrix;
    List li;
} Scales;

static void scale_of_row(void *ctx, int m, Row r)
{
    Scales *sc = ctx;
    if (m != sc->matrix)
        return;
    char text[32];
    float_text(row_scale(r), text);
    list_add(&sc->li, text);
}

static void emit_scales(const Writer *w, const CnModel *m, int matrix, const char *decl,
                        int per_layer, int rows)
{
    fprintf(w->out, "static const float %s = {\n", decl);
    if (!per_layer) {
        Scales sc = {matrix, {0}};
        list_start(&sc.li, w->out, 4);
        each_row(m, scale_of_row, &sc);
        fputs("\n};\n", w->out);
        return;
    }
    /* one braced list per layer: the rows of matrix `matrix` come layer by layer */
    const CnShape *s = &m->shape;
    int GH = cn_cell_gates(s->cell) * s->hidden;
    int first = matrix == 1 ? 1 : 0;
    for (int l = first; l < s->layers; l++) {
        const CnReal *base = matrix == 1 ? m->w.layer[l].Wx : m->w.layer[l].Wh;
        List li;
        char text[32];
        fputs("    {\n", w->out);
        list_start(&li, w->out, 8);
        for (int i = 0; i < rows; i++) {
            float_text(row_scale((Row){base + i, GH, s->hidden}), text);
            list_add(&li, text);
        }
        fputs("\n    },\n", w->out);
    }
    fputs("};\n", w->out);
}

/* A character of the vocabulary as C: 'a' for printable ASCII, else its
 * number. */
static void char_text(uint32_t cp, char buf[16])
{
    if (cp == '\n')
        snprintf(buf, 16, "'\\n'");
    else if (cp == '\t')
        snprintf(buf, 16, "'\\t'");
    else if (cp == '\'' || cp == '\\')
        snprintf(buf, 16, "'\\%c'", (char)cp);
    else if (cp >= 0x20 && cp < 0x7f)
        snprintf(buf, 16, "'%c'", (char)cp);
    else
        snprintf(buf, 16, "0x%04lx", (unsigned long)cp);
}

static const char *const gate_names[4][4] = {
    {"h"}, {"i", "f", "o", "g"}, {"i", "f", "o", "g"}, {"r", "u", "n"}};

/* A layer's matrix (W_x of an upper layer, or W_h) as the file stores it:
 * rows of gate units, a comment before each gate block. */
static void emit_gate_rows(const Writer *w, const CnModel *m, const CnReal *base, int l,
                           const char *what)
{
    const CnShape *s = &m->shape;
    int H = s->hidden, G = cn_cell_gates(s->cell);
    fputs("    {\n", w->out);
    for (int g = 0; g < G; g++) {
        fprintf(w->out, "        /* layer %d, %s%s: units %d..%d */\n", l, what,
                gate_names[s->cell][g], g * H, g * H + H - 1);
        for (int j = 0; j < H; j++)
            emit_row(w, (Row){base + g * H + j, (ptrdiff_t)G * H, H}, 8);
    }
    fputs("    },\n", w->out);
}

/* Bytes the exported weights take: codes, scales, biases, peepholes. */
static size_t weight_bytes(const CnModel *m, CnStore store, size_t *codes)
{
    const CnShape *s = &m->shape;
    size_t V = (size_t)s->vocab, H = (size_t)s->hidden, L = (size_t)s->layers;
    size_t GH = (size_t)cn_cell_gates(s->cell) * H;
    size_t n = V * GH + (L - 1) * GH * H + L * GH * H + V * H;
    size_t rows = V + (L - 1) * GH + L * GH + V;
    size_t floats = L * GH + (s->cell == CN_PEEPHOLE ? L * 3 * H : 0) + V;
    size_t per = store == CN_STORE_FP32 ? 4 : store == CN_STORE_BF16 ? 2 : 1;
    *codes = n;
    return n * per + 4 * floats + (store == CN_STORE_INT8 ? 4 * rows : 0);
}

/* Bytes of the state struct: h (c), the step's scratch, y and top. */
static size_t state_bytes(const CnShape *s)
{
    size_t H = (size_t)s->hidden, L = (size_t)s->layers, V = (size_t)s->vocab;
    size_t lstm = s->cell == CN_LSTM || s->cell == CN_PEEPHOLE;
    size_t scratch = s->cell == CN_GRU ? 2 * H : H;
    return 4 * (L * H * (1 + lstm) + scratch + V + V);
}

/* [A-Za-z_][A-Za-z0-9_]*, at most CN_EXPORT_NAME_MAX */
static int valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > CN_EXPORT_NAME_MAX || (name[0] >= '0' && name[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9')))
            return 0;
    }
    return 1;
}

static void comma_count(size_t n, char buf[32])
{
    char digits[24];
    int len = snprintf(digits, sizeof digits, "%zu", n), k = 0;
    for (int i = 0; i < len; i++) {
        buf[k++] = digits[i];
        if ((len - 1 - i) % 3 == 0 && i < len - 1)
            buf[k++] = ',';
    }
    buf[k] = '\0';
}

/* text in a comment: printable ASCII and UTF-8 as they are, other bytes
 * as '?', and no end of comment */
static void comment_text(FILE *out, const char *text)
{
    for (const char *p = text; *p; p++) {
        unsigned char c = (unsigned char)*p;
        fputc(c >= 0x80 || (c >= 0x20 && c < 0x7f) ? c : '?', out);
        if (p[0] == '*' && p[1] == '/')
            fputc(' ', out);
    }
}

/* The first line, which says charnn export wrote the file (charnn export
 * replaces only such files), then what the file holds and how to use it. */
static void emit_head(const Writer *w, const CnModel *m, const CnExportC *opt)
{
    const CnShape *s = &m->shape;
    size_t codes, bytes = weight_bytes(m, opt->store, &codes);
    char n1[32], n2[32], n3[32];
    comma_count(codes, n1);
    comma_count(bytes, n2);
    comma_count(state_bytes(s), n3);
    const char *cell = cn_name_of(cn_cell_names, s->cell);
    emitf(w, "/* @: a %s language model in C99, %s, written by charnn export %s */", cell,
          opt->header ? "the declarations" : "one file", CHARNN_VERSION);
    fputs("/*\n * From ", w->out);
    comment_text(w->out, opt->source ? opt->source : "a model");
    emitf(w, " (CRC-32 of the parameters 0x%08x):", (unsigned)cn_model_checksum(m));
    emitf(w, " * %s, %d layer%s x %d units, %d characters; %s weights stored as %s,", cell,
          s->layers, s->layers == 1 ? "" : "s", s->hidden, s->vocab, n1,
          cn_store_names[opt->store]);
    emitf(w, " * %s bytes of read-only data. RAM: a step reads and writes one @_state,", n2);
    emitf(w, " * %s bytes, and a few locals.", n3);
    if (opt->header) {
        emit_line(w, " * The definitions are in the C file of the same export.");
        emit_line(w, " */");
        return;
    }
    static const char *const use[] = {
        " *",
        " * Use (charnn help export, \"The model as C\"):",
        " *     @_state s;         one stream: every layer's h_t, the logits y",
        " *     @_rng rng;",
        " *     @_reset(&s);       zero state, as charnn starts a text",
        " *     @_seed(&rng, 7);",
        " *     @_step(&s, @_index('\\n'));                a character in",
        " *     int next = @_sample(&s, 1.0, 0, &rng);    the next one out",
        " * and with -DCHARNN_MAIN, a program printing a sample that takes charnn",
        " * sample's flags:",
        " *     cc -O2 this.c -lm -DCHARNN_MAIN -o gen && ./gen --seed 7",
        " * prints what charnn sample CKPT --seed 7 prints, character for character.",
        " * Nothing here allocates, does I/O (main aside) or keeps state of its own:",
        " * a program may step any number of streams, and link several models",
        " * exported with different names (charnn export --name).",
        " *",
        " * It computes what charnn computes, bit for bit: each product one chain of",
        " * fused multiply-adds in order, as charnn's AVX2, AVX-512 and NEON kernels",
        " * run it (-DCHARNN_NO_FMA: multiplies and adds, as its portable kernels,",
        " * CHARNN_ISA=generic); exp and tanh by charnn's polynomials; no other a*b+c",
        " * fused. It needs IEEE float and double without extra precision (not x87",
        " * code), and no -ffast-math.",
        " */",
        "",
        NULL,
    };
    emit(w, use);
}

static void emit_interface(const Writer *w, const CnModel *m)
{
    const CnShape *s = &m->shape;
    int lstm = s->cell == CN_LSTM || s->cell == CN_PEEPHOLE;
    emit(w, t_interface);
    emitf(w, "#define $_VOCAB  %-7d /* V: characters */", s->vocab);
    emitf(w, "#define $_HIDDEN %-7d /* H: units per layer */", s->hidden);
    emitf(w, "#define $_LAYERS %-7d /* L: layers */", s->layers);
    emitf(w, "#define $_CELL   \"%s\"", cn_name_of(cn_cell_names, s->cell));
    emit_line(w, "");
    emit_line(w, "/* One stream: what a step reads and writes. */");
    emit_line(w, "typedef struct {");
    emit_line(w, "    float h[$_LAYERS][$_HIDDEN]; /* h_t of every layer */");
    if (lstm)
        emit_line(w, "    float c[$_LAYERS][$_HIDDEN]; /* c_t of every layer */");
    if (s->cell == CN_GRU) {
        emit_line(w, "    float u[$_HIDDEN];  /* scratch of a step: u_t of the layer stepped */");
        emit_line(w, "    float rh[$_HIDDEN]; /* scratch: r_t * h_{t-1} */");
    } else {
        emit_line(w, "    float h_new[$_HIDDEN]; /* scratch of a step: h_t while h_{t-1} is read */");
    }
    emit(w, t_state_tail);
}

/* The arrays, declared before the code (tentative definitions) and defined
 * after it, so that the code comes first. */
static void emit_declarations(const Writer *w, const CnModel *m)
{
    const CnShape *s = &m->shape;
    static const char *const type[] = {"float", "uint16_t", "int8_t"};
    static const char *const store_doc[] = {
        "/* The weights as stored: floats. */",
        "/* The weights as stored: bfloat16, the high 16 bits of a float (bf16()). */",
        "/* The weights as stored: int8 codes q of a row with scale s, the float q s. */"};
    emitf(w, "/* G: gate blocks (%s) */",
          s->cell == CN_RNN ? "h" : s->cell == CN_GRU ? "r u n" : "i f o g");
    emitf(w, "enum { V = $_VOCAB, H = $_HIDDEN, L = $_LAYERS, G = %d };", cn_cell_gates(s->cell));
    emit_line(w, "");
    emit_line(w, store_doc[w->store]);
    emitf(w, "typedef %s weight;", type[w->store]);
    emit_line(w, "");
    emit_line(w, "/* The model's parameters, defined at the end of the file. Matrices are");
    emit_line(w, " * [outputs][inputs]: row g*H + j of W_h holds gate g's unit j. */");
    emit_line(w, "static const weight W_x0[V][G * H];  /* layer 0's W_x by column: W_x0[c] for");
    emit_line(w, "                                       the one-hot x_t = character c */");
    if (s->layers > 1)
        emit_line(w, "static const weight W_x[L - 1][G * H][H]; /* W_x of layers 1.., by row */");
    emit_line(w, "static const weight W_h[L][G * H][H];");
    emit_line(w, "static const float b[L][G * H];");
    if (s->cell == CN_PEEPHOLE)
        emit_line(w, "static const float p[L][3 * H];       /* peepholes p_i, p_f, p_o */");
    emit_line(w, "static const weight W_hy[V][H];");
    emit_line(w, "static const float b_y[V];");
    if (w->store == CN_STORE_INT8) {
        emit_line(w, "/* int8: each row's scale */");
        emit_line(w, "static const float W_x0_scale[V];");
        if (s->layers > 1)
            emit_line(w, "static const float W_x_scale[L - 1][G * H];");
        emit_line(w, "static const float W_h_scale[L][G * H];");
        emit_line(w, "static const float W_hy_scale[V];");
    }
    emit_line(w, "");
}

static void emit_code(const Writer *w, const CnModel *m)
{
    const CnShape *s = &m->shape;
    emit(w, t_mul_add);
    if (s->cell != CN_RNN)
        emit(w, t_sigmoid);
    emit(w, w->store == CN_STORE_FP32 ? t_dot_fp32
            : w->store == CN_STORE_BF16 ? t_dot_bf16
                                        : t_dot_int8);
    emit(w, s->layers > 1 ? t_input_n : t_input_1);
    emit(w, t_gate);
    static const char *const *const cells[] = {t_rnn, t_lstm, t_peephole, t_gru};
    emit(w, cells[s->cell]);
    emit(w, t_step);
    emit(w, t_sample);
    emit(w, t_main);
}

/* The definitions of the arrays, and the vocabulary. */
static void emit_data(const Writer *w, const CnModel *m)
{
    const CnShape *s = &m->shape;
    int V = s->vocab, H = s->hidden, L = s->layers, GH = cn_cell_gates(s->cell) * H;
    FILE *out = w->out;
    emit_line(w, "");
    emit_line(w, "/* ------------------------------------------------------------------------- */");
    emit_line(w, "/* The parameters. */");
    emit_line(w, "");
    emit_line(w, "const uint32_t @_vocab[V] = {");
    List li;
    char text[16];
    list_start(&li, out, 4);
    for (int c = 0; c < V; c++) {
        char_text(m->vocab.chars[c], text);
        list_add(&li, text);
    }
    fputs("\n};\n\n", out);

    fputs("static const weight W_x0[V][G * H] = {\n", out);
    for (int c = 0; c < V; c++) {
        char cp[16];
        char_text(m->vocab.chars[c], cp);
        fprintf(out, "    /* %d: %s */\n", c, cp);
        emit_row(w, (Row){m->w.layer[0].Wx + (size_t)c * GH, 1, GH}, 4);
    }
    fputs("};\n\n", out);
    if (L > 1) {
        fputs("static const weight W_x[L - 1][G * H][H] = {\n", out);
        for (int l = 1; l < L; l++)
            emit_gate_rows(w, m, m->w.layer[l].Wx, l, "W_x");
        fputs("};\n\n", out);
    }
    fputs("static const weight W_h[L][G * H][H] = {\n", out);
    for (int l = 0; l < L; l++)
        emit_gate_rows(w, m, m->w.layer[l].Wh, l, "W_h");
    fputs("};\n\n", out);
    fputs("static const float b[L][G * H] = {\n", out);
    for (int l = 0; l < L; l++)
        emit_floats(out, m->w.layer[l].b, GH, 4, ",\n");
    fputs("};\n\n", out);
    if (s->cell == CN_PEEPHOLE) {
        fputs("static const float p[L][3 * H] = {\n", out);
        for (int l = 0; l < L; l++)
            emit_floats(out, m->w.layer[l].peep, 3 * H, 4, ",\n");
        fputs("};\n\n", out);
    }
    fputs("static const weight W_hy[V][H] = {\n", out);
    for (int v = 0; v < V; v++)
        emit_row(w, (Row){m->w.Wy + v, V, H}, 4);
    fputs("};\n\n", out);
    fputs("static const float b_y[V] =\n", out);
    emit_floats(out, m->w.by, V, 0, ";\n");
    if (w->store == CN_STORE_INT8) {
        fputs("\n", out);
        emit_scales(w, m, 0, "W_x0_scale[V]", 0, 0);
        if (L > 1)
            emit_scales(w, m, 1, "W_x_scale[L - 1][G * H]", 1, GH);
        emit_scales(w, m, 2, "W_h_scale[L][G * H]", 1, GH);
        emit_scales(w, m, 3, "W_hy_scale[V]", 0, 0);
    }
}

int cn_export_c(FILE *out, const CnModel *model, const CnExportC *opt, CnError *err)
{
    const char *name = opt->name ? opt->name : "model";
    if (!valid_name(name)) {
        cn_errorf(err, "the name %s is not a C identifier of at most %d letters, digits and "
                  "underscores", name, CN_EXPORT_NAME_MAX);
        return -1;
    }
    if ((unsigned)opt->store > CN_STORE_INT8) {
        cn_errorf(err, "unknown storage %d", (int)opt->store);
        return -1;
    }
    Writer w = {out, name, "", opt->store};
    for (size_t i = 0; name[i]; i++)
        w.upper[i] = name[i] >= 'a' && name[i] <= 'z' ? (char)(name[i] - 'a' + 'A') : name[i];
    emit_head(&w, model, opt);
    emit_interface(&w, model);
    if (!opt->header) {
        emit(&w, t_arith);
        emit_declarations(&w, model);
        emit_code(&w, model);
        emit_data(&w, model);
    }
    if (ferror(out) || fflush(out) != 0) {
        cn_errorf(err, "write error");
        return -1;
    }
    return 0;
}
