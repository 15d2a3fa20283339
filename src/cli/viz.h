/* SPDX-License-Identifier: MIT */
/*
 * charnn viz's pieces: the command (src/cli/viz.c), the page's style and
 * script (src/cli/viz_page.c) and how the page carries activations
 * (src/cli/viz_pack.c).
 */
#ifndef CHARNN_VIZ_H
#define CHARNN_VIZ_H

#include "cli.h"

/* The page's style sheet and script, as lines ending with NULL. */
extern const char *const viz_style[];
extern const char *const viz_script[];

/* Units x n values (unit-major) quantized to 2^bits levels (1..8) over
 * [lo, hi] and entropy-coded (malloc'd, *size bytes; NULL: out of memory);
 * the estimate of its size without writing it (SIZE_MAX: out of memory). */
unsigned char *viz_pack(const float *v, int units, size_t n, double lo, double hi, int bits,
                        size_t *size);
size_t viz_pack_estimate(const float *v, int units, size_t n, double lo, double hi, int bits);
/* Bytes as text for a raw-text element, 7 bits a character: the groups 0,
 * 13 (a carriage return) and 60 ('<') as U+0100 + the group. */
void viz_text7(FILE *out, const unsigned char *b, size_t n);

#endif
