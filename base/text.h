/*
 * text.h - small string facts shared by fs/, net/ and cache/: the shape of a
 * GUID and the FNV-1a hash that short file and resource names carry.
 */
#ifndef MGDCFS_BASE_TEXT_H
#define MGDCFS_BASE_TEXT_H

#include <stdint.h>

/* The FNV-1a 32-bit offset basis: the `h` to start a hash with. */
#define TEXT_FNV_SEED 2166136261u

/*
 * text_fnv1a - `h` extended by the bytes of `s` (NULL: none), ASCII letters
 * folded to lower case when `fold` is set. Chain calls to hash several parts.
 */
uint32_t text_fnv1a(uint32_t h, const char *s, int fold);

/* text_is_guid - 1 if `s` is 8-4-4-4-12 hex digits (either case), else 0. */
int text_is_guid(const char *s);

#endif
