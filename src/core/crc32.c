/* SPDX-License-Identifier: MIT */
/*
 * CRC-32 (IEEE 802.3, reflected, polynomial 0xedb88320), the checksum of
 * checkpoints, of the corpus a run trained on, and of a model's parameters:
 *     crc = ~crc; for each byte: crc = table[(crc ^ byte) & 0xff] ^ (crc >> 8)
 * The table is computed by the compiler: entry i is i shifted right 8
 * times, each shift xor-ing in the polynomial when a 1 falls out.
 */
#include "core.h"

#define CRC_1(c) ((c) & 1 ? 0xedb88320u ^ ((c) >> 1) : (c) >> 1)
#define CRC_8(c) CRC_1(CRC_1(CRC_1(CRC_1(CRC_1(CRC_1(CRC_1(CRC_1((uint32_t)(c)))))))))
#define CRC_4(i) CRC_8(i), CRC_8((i) + 1), CRC_8((i) + 2), CRC_8((i) + 3)
#define CRC_16(i) CRC_4(i), CRC_4((i) + 4), CRC_4((i) + 8), CRC_4((i) + 12)
#define CRC_64(i) CRC_16(i), CRC_16((i) + 16), CRC_16((i) + 32), CRC_16((i) + 48)
static const uint32_t crc_table[256] = {CRC_64(0), CRC_64(64), CRC_64(128), CRC_64(192)};

uint32_t cn_crc32(uint32_t crc, const void *data, size_t n)
{
    const uint32_t *table = crc_table;
    const unsigned char *p = data;
    crc = ~crc;
    for (size_t i = 0; i < n; i++)
        crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}
