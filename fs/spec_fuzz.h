/*
 * spec_fuzz.h - the libFuzzer entry point over every spec parser.
 */
#ifndef MGDCFS_FS_SPEC_FUZZ_H
#define MGDCFS_FS_SPEC_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/*
 * spec_fuzz_one - run the parser chosen by data[0] on the remaining bytes.
 * Always returns 0; traps if an error message spans lines. Uses the
 * built-in catalog; safe to call repeatedly from one thread.
 */
int spec_fuzz_one(const uint8_t *data, size_t size);

#endif
