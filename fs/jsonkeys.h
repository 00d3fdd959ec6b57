/*
 * jsonkeys.h - find a key that appears twice in one JSON object, with the
 * lines of both. cJSON keeps both and its lookups return the first, so a
 * config that says "budget_mb" twice would silently use one of them.
 */
#ifndef MGDCFS_FS_JSONKEYS_H
#define MGDCFS_FS_JSONKEYS_H

#include <stddef.h>

/*
 * jsonkeys_duplicate - scan `text` (a document cJSON has already parsed, so
 * its syntax is valid) for an object holding the same key twice. Returns 0
 * when there is none; 1 with "KEYPATH: on lines A and B" in msg (KEYPATH is
 * dotted, e.g. profiles.dev.cache.budget_mb) for the first found; -ENOMEM.
 * Linear in the text plus n log n per object; nesting is capped at 64.
 */
int jsonkeys_duplicate(const char *text, char *msg, size_t msglen);

#endif
