/* SPDX-License-Identifier: MIT */
/*
 * What src/python/charnn.py assumes of the C side, as C sees it: the one
 * struct it passes (CnError, as a buffer), the step results it tells apart
 * and the version it is written for. tests/test_python.sh compares this
 * with the module's charnn._abi(), line for line.
 */
#include <charnn.h>

#include <stdio.h>

int main(void)
{
    printf("sizeof CnError %zu\n", sizeof(CnError));
    printf("CN_STEP_OK %d\n", (int)CN_STEP_OK);
    printf("CN_STEP_DIVERGED %d\n", (int)CN_STEP_DIVERGED);
    printf("CN_STEP_BAD_TEXT %d\n", (int)CN_STEP_BAD_TEXT);
    int major, minor;
    if (sscanf(CHARNN_VERSION, "%d.%d", &major, &minor) != 2)
        return 1;
    printf("version %d.%d\n", major, minor);
    return 0;
}
