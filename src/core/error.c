/* SPDX-License-Identifier: MIT */
/* Error messages: one line, formatted printf-style into a CnError. */
#include "core.h"

#include <stdarg.h>
#include <string.h>

void cn_errorf(CnError *err, const char *fmt, ...)
{
    char msg[CN_ERRLEN]; /* a copy, so the arguments may include err->msg */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(err->msg, msg, sizeof msg);
}
