/* SPDX-License-Identifier: MIT */
/* Fuzz target: the UTF-8 corpus reader and the vocabulary. Valid text must
 * index, build a vocabulary that covers it, map every character to an index
 * and back to the same bytes, and seek to every character; invalid text
 * must be refused with its byte offset. */
#include "core.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    CnText text;
    CnError err;
    if (cn_text_wrap(&text, data, n, "fuzz", &err) != 0) {
        if (n > 0 && !strstr(err.msg, "byte "))
            abort(); /* invalid UTF-8 is named by offset */
        return 0;
    }
    CnVocab vocab;
    if (cn_vocab_build(&vocab, &text, &err) != 0 ||
        cn_vocab_covers(&vocab, &text, "fuzz", &err) != 0)
        abort();
    size_t at = 0, chars = 0;
    while (at < text.nbytes) {
        if (cn_text_seek(&text, chars) != at)
            abort();
        size_t here = at;
        int id = cn_text_next_id(&vocab, &text, &at);
        char utf8[4];
        if (id < 0 || id >= vocab.size ||
            (size_t)cn_utf8_encode(vocab.chars[id], utf8) != at - here ||
            memcmp(utf8, data + here, at - here) != 0)
            abort();
        chars++;
    }
    if (chars != text.nchars || cn_text_seek(&text, chars) != n)
        abort();
    cn_vocab_release(&vocab);
    cn_text_release(&text);
    return 0;
}
