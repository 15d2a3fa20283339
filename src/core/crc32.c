/* SPDX-License-Identifier: MIT */
/*
 * CRC-32 (IEEE 802.3, reflected, polynomial 0xedb88320), the checksum of
 * checkpoints, of the corpus a run trained on, and of a model's parameters:
 *     crc = ~crc; for each byte: crc = table[(crc ^ byte) & 0xff] ^ (crc >> 8)
 * The table is made once, by whichever thread comes first.
 */
#include "core.h"

#include <pthread.h>

static uint32_t crc_table[256];

static void crc_table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t cn_crc32(uint32_t crc, const void *data, size_t n)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT; /* any thread may be the first */
    pthread_once(&once, crc_table_init);
    const uint32_t *table = crc_table;
    const unsigned char *p = data;
    crc = ~crc;
    for (size_t i = 0; i < n; i++)
        crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}
