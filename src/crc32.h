/*
 * crc32.h — the CRC-32 of zlib, gzip and PNG (reflected polynomial
 * 0xEDB88320), fast on large buffers.  Private to src/.
 *
 * Why not zlib's crc32_z alone: zlib 1.2.13 computes it from tables at
 * about 4 GB/s, so a 784-100-10 snapshot record (318 kB) costs 80-300 us,
 * a large part of the ~700 us a snapshot may take at --snapshot-every 100.
 * On x86-64 CPUs with PCLMULQDQ (every AVX2 or AVX-512 machine) the bulk is
 * folded with carry-less multiplies instead (Intel's "Fast CRC Computation
 * for Generic Polynomials Using PCLMULQDQ", 2009); zlib does the rest.
 */
#ifndef DIGITLENS_CRC32_H
#define DIGITLENS_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* crc32_z(crc, buf, len) exactly: start with crc 0, and chain calls to
 * checksum a message given in pieces. */
uint32_t dl_crc32(uint32_t crc, const void *buf, size_t len);

/* The CRC of A then B from crc1 = CRC(A) and crc2 = CRC(B), B being len2
 * bytes long (zlib's crc32_combine): pieces checksummed apart, even on
 * different threads, give the whole message's CRC. */
uint32_t dl_crc32_combine(uint32_t crc1, uint32_t crc2, size_t len2);

#endif
