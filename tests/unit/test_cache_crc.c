/*
 * test_cache_crc.c - CRC-32C against published check values (RFC 3720 B.4
 * and the CRC catalogue's "123456789"), and the hardware path against the
 * table walk on every length and alignment, split or whole. The hardware
 * path runs three interleaved streams over stripes of 8 KiB, then 256 bytes,
 * while three stripes remain, then one stream: the lengths around those
 * steps (3 x 256, 3 x 8192 and their multiples) get every alignment.
 */
#include "cache/crc32c.h"
#include "tap.h"

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static double secs(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void xorshift_fill(unsigned char *p, size_t n, uint32_t x)
{
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
}

/* Hardware (whatever crc32c picks) against the table walk; returns mismatches. */
static int cmp(const unsigned char *p, size_t len, uint32_t seed)
{
	uint32_t hw = crc32c(seed, p, len), sw = crc32c_sw(seed, p, len);

	if (hw != sw)
		printf("# length %zu at alignment %u, seed %08x: %08x != %08x\n", len,
		       (unsigned)((uintptr_t)p & 15), seed, hw, sw);
	return hw != sw;
}

int main(void)
{
	static const size_t steps[] = {
	    768, 1536, 2304, 3 * 8192, 2 * 3 * 8192, 3 * 8192 + 768, 3 * 3 * 8192 + 2 * 768};
	unsigned char buf[32], big[4096 + 16];
	uint32_t x = 12345;
	int i, len, off, bad = 0;
	struct timespec t0, t1;
	unsigned char *mb, *blk;
	double s;

	TAP_EQ_INT(crc32c(0, "123456789", 9), 0xe3069283u, "check value of \"123456789\"");
	TAP_EQ_INT(crc32c_sw(0, "123456789", 9), 0xe3069283u, "same on the table path");
	memset(buf, 0, sizeof(buf));
	TAP_EQ_INT(crc32c(0, buf, 32), 0x8a9136aau, "RFC 3720: 32 zero bytes");
	memset(buf, 0xff, sizeof(buf));
	TAP_EQ_INT(crc32c(0, buf, 32), 0x62a8ab43u, "RFC 3720: 32 0xff bytes");
	for (i = 0; i < 32; i++)
		buf[i] = (unsigned char)i;
	TAP_EQ_INT(crc32c(0, buf, 32), 0x46dd794eu, "RFC 3720: 0..31");
	for (i = 0; i < 32; i++)
		buf[i] = (unsigned char)(31 - i);
	TAP_EQ_INT(crc32c(0, buf, 32), 0x113fdb5cu, "RFC 3720: 31..0");
	TAP_EQ_INT(crc32c(0, "", 0), 0, "empty input");

	for (i = 0; i < (int)sizeof(big); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		big[i] = (unsigned char)x;
	}
	for (off = 0; off < 16; off++)
		for (len = 0; len < 600; len += 7) {
			uint32_t whole = crc32c(0, big + off, (size_t)len);
			int cut = len / 3;

			if (whole != crc32c_sw(0, big + off, (size_t)len) ||
			    whole != crc32c(crc32c(0, big + off, (size_t)cut), big + off + cut,
			                    (size_t)(len - cut)))
				bad++;
		}
	TAP_EQ_INT(bad, 0, "hardware == table, whole == split, all alignments");
	printf("# hardware crc32c: %s\n", crc32c_hw_available() == 2   ? "three streams (pclmul)"
	                                  : crc32c_hw_available() == 1 ? "one stream"
	                                                               : "no");

	bad = 0;
	for (off = 0; off < 16; off++)
		for (len = 0; len <= 4096; len++)
			bad += cmp(big + off, (size_t)len, off & 1 ? 0 : 0x9e3779b9u);
	TAP_EQ_INT(bad, 0, "every length 0..4096 at 16 alignments, two seeds");

	blk = malloc((8u << 20) + 16);
	TAP_OK(blk != NULL, "allocate 8 MiB");
	if (blk) {
		xorshift_fill(blk, (8u << 20) + 16, 777);
		bad = 0;
		for (i = 0; i < (int)(sizeof(steps) / sizeof(steps[0])); i++)
			for (long d = -17; d <= 17; d++)
				for (off = 0; off < 8; off++)
					bad +=
					    cmp(blk + 2 * off + 1, (size_t)((long)steps[i] + d), 7);
		TAP_EQ_INT(bad, 0, "lengths around the three-way steps, odd alignments");
		bad = 0;
		for (len = 65536 - 24; len <= 65536 + 24; len += 8)
			for (off = 0; off < 8; off++)
				bad += cmp(blk + off, (size_t)len, 0);
		TAP_EQ_INT(bad, 0, "around 64 KiB (the cache block of format 3)");
		bad = 0;
		for (off = 0; off < 4; off++)
			bad += cmp(blk + off * 3, (8u << 20) - (size_t)off, 0);
		TAP_EQ_INT(bad, 0, "8 MiB at four alignments");
		/* A chunk's block CRCs chained over its blocks equal the CRC of the whole. */
		x = 0;
		for (i = 0; i < 128; i++)
			x = crc32c(x, blk + 1 + (size_t)i * 65536, 65536);
		TAP_EQ_INT(x, crc32c_sw(0, blk + 1, 8u << 20),
		           "128 chained 64 KiB blocks == 8 MiB");

		/* Timing for the record, not a check: a cache-resident 64 KiB block. */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (i = 0; i < 4096; i++)
			x = crc32c(x, blk, 65536);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("# crc32c 64 KiB blocks (in cache): %.0f MiB/s (%08x)\n",
		       4096 * 64 / 1024.0 / secs(&t0, &t1), x);
		free(blk);
	}

	mb = malloc(64u << 20);
	TAP_OK(mb != NULL, "allocate 64 MiB");
	if (mb) {
		memset(mb, 0x5a, 64u << 20);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		x = crc32c(0, mb, 64u << 20);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		s = secs(&t0, &t1);
		printf("# crc32c 64 MiB: %.0f MiB/s (%08x)\n", 64 / s, x);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		x = crc32c_sw(0, mb, 64u << 20);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		s = secs(&t0, &t1);
		printf("# crc32c table path 64 MiB: %.0f MiB/s (%08x)\n", 64 / s, x);
		free(mb);
	}
	return tap_done();
}
