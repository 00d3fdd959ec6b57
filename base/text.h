/*
 * text.h - small string facts shared by fs/, net/ and cache/: the shape of a
 * GUID, the FNV-1a hash that short file and resource names carry, and JSON
 * as the files of the tree show it.
 */
#ifndef MGDCFS_BASE_TEXT_H
#define MGDCFS_BASE_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* The FNV-1a 32-bit offset basis: the `h` to start a hash with. */
#define TEXT_FNV_SEED 2166136261u

/*
 * text_fnv1a - `h` extended by the bytes of `s` (NULL: none), ASCII letters
 * folded to lower case when `fold` is set. Chain calls to hash several parts.
 */
uint32_t text_fnv1a(uint32_t h, const char *s, int fold);

/* text_is_guid - 1 if `s` is 8-4-4-4-12 hex digits (either case), else 0. */
int text_is_guid(const char *s);

/*
 * text_json - `v` pretty-printed with a final newline (so `cat` leaves the
 * prompt on its own line), malloc'd; its length in *len when len is not
 * NULL. NULL when out of memory. Any thread.
 */
char *text_json(const cJSON *v, size_t *len);

#endif
