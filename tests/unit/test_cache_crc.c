/*
 * test_cache_crc.c - CRC-32C against published check values (RFC 3720 B.4
 * and the CRC catalogue's "123456789"), and the hardware path against the
 * table walk on every length and alignment, split or whole.
 */
#include "cache/crc32c.h"
#include "tap.h"

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

int main(void)
{
	unsigned char buf[32], big[4096 + 16];
	uint32_t x = 12345;
	int i, len, off, bad = 0;
	struct timespec t0, t1;
	unsigned char *mb;
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
	printf("# hardware crc32c: %s\n", crc32c_hw_available() ? "yes" : "no");

	mb = malloc(64u << 20);
	TAP_OK(mb != NULL, "allocate 64 MiB");
	if (mb) {
		memset(mb, 0x5a, 64u << 20);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		x = crc32c(0, mb, 64u << 20);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		printf("# crc32c 64 MiB: %.0f MiB/s (%08x)\n", 64 / s, x);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		x = crc32c_sw(0, mb, 64u << 20);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		printf("# crc32c table path 64 MiB: %.0f MiB/s (%08x)\n", 64 / s, x);
		free(mb);
	}
	return tap_done();
}
