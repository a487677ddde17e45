/*
 * bytes.h — fixed-width integers to and from bytes, in either order:
 * big-endian for the formats others defined (IDX, PNG), little-endian for
 * our own (.dlm, .npy).  Private to src/.
 */
#ifndef DIGITLENS_BYTES_H
#define DIGITLENS_BYTES_H

#include <stdint.h>

/* 1 where the machine lays out integers and floats as our own formats do
 * (little-endian), so that arrays of them go to and from files whole. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define DL_LITTLE_ENDIAN 1
#else
#define DL_LITTLE_ENDIAN 0
#endif

static inline uint32_t dl_get_be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void dl_put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static inline uint32_t dl_get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline void dl_put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

#endif
