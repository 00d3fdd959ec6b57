/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum of every cached chunk.
 *
 * Uses the SSE4.2 crc32 instruction when the CPU has it (three interleaved
 * streams when it also has PCLMULQDQ), else a portable slicing-by-8 table
 * walk. All give identical results (tests compare them).
 */
#ifndef MGDCFS_CACHE_CRC32C_H
#define MGDCFS_CACHE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * crc32c - extend `crc` (0 to start) over len bytes of buf and return the new
 * value; crc32c(crc32c(0, a, n), b, m) equals the CRC of a followed by b.
 * crc32c(0, "123456789", 9) == 0xe3069283. Pure function, any thread.
 */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/*
 * crc32c_sw - the portable path, as crc32c. Exported so that
 * tests/unit/test_cache_crc.c can compare it with the hardware paths on
 * machines that have them. Pure function, any thread.
 */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);

/*
 * crc32c_hw_available - 0 if crc32c() uses the table walk, 1 if it uses the
 * crc32 instruction in one stream, 2 if in three streams joined with
 * PCLMULQDQ. Cannot fail; any thread (the CPU is probed once, under pthread_once).
 */
int crc32c_hw_available(void);

#endif
