/* SPDX-License-Identifier: MIT */
/* Fuzz target: checkpoint parsing. Any bytes must be either accepted as a
 * complete, consistent checkpoint or refused with a message; never a crash,
 * a hang or a leak. An accepted one must re-encode to the same bytes (an
 * older version: to a current one that does). */
#include "core.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    CnModel m;
    CnTrainState st;
    CnError err;
    if (cn_checkpoint_parse(data, n, "fuzz", &m, &st, &err) != 0) {
        if (!err.msg[0])
            abort(); /* a refusal must say why */
        return 0;
    }
    unsigned char *again;
    size_t len;
    if (cn_checkpoint_encode(&m, &st, &again, &len, &err) != 0)
        abort();
    if (st.p.version == CN_CHECKPOINT_VERSION) {
        if (len != n || memcmp(again, data, n) != 0)
            abort(); /* what loads must save back identically */
    } else {
        /* an older version is saved as the current one, which loads and
           saves back identically */
        CnModel m2;
        CnTrainState st2;
        unsigned char *third;
        size_t len3;
        if (cn_checkpoint_parse(again, len, "fuzz", &m2, &st2, &err) != 0 ||
            cn_checkpoint_encode(&m2, &st2, &third, &len3, &err) != 0 || len3 != len ||
            memcmp(third, again, len) != 0)
            abort();
        free(third);
        cn_train_state_free(&st2);
        cn_model_release(&m2);
    }
    free(again);
    cn_train_state_free(&st);
    cn_model_release(&m);
    return 0;
}
