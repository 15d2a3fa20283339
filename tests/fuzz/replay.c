/* SPDX-License-Identifier: MIT */
/* Runs a fuzz target over files, without libFuzzer: the seed corpus and
 * every input that once crashed (tests/fuzz/<target>/) are replayed by
 * make test, under the sanitizers with SANITIZE=1. Prints one ok line per
 * file; a crash or abort fails the run. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

int main(int argc, char **argv)
{
    static uint8_t buf[1 << 20];
    FILE *out = fdopen(dup(STDOUT_FILENO), "w"); /* our own copy, whatever a target prints */
    if (!out)
        return 1;
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            fprintf(out, "not ok - replay %s: cannot open it\n", argv[i]);
            continue;
        }
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
        fprintf(out, "ok - replay %s (%zu bytes)\n", argv[i], n);
    }
    fclose(out);
    return 0;
}
