/*
 * crc32c.c - CRC-32C for the chunk cache, hardware first.
 *
 * Every cache read verifies the 4 KiB blocks it returns, so the checksum sits
 * on the hot read path. The x86-64 crc32 instruction can start one operation
 * per cycle but each takes three, so a single dependent chain runs at a third
 * of its speed. The fast path therefore cuts the buffer into three equal
 * stripes, runs their CRCs interleaved in one loop, and joins them: the CRC of
 * a stripe is moved past the bytes that follow it by multiplying it by
 * x^(8n) mod P, one carry-less multiply (PCLMULQDQ) reduced by one crc32. The
 * constants for the two stripe lengths are computed once by square-and-multiply.
 * A CPU with SSE4.2 but no PCLMULQDQ keeps the single chain; one without SSE4.2
 * uses slicing-by-8 (eight 256-entry tables, one 8-byte word per step). The
 * tables and the CPU check are set up once under pthread_once. All paths give
 * identical results.
 */
#include "cache/crc32c.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define CRC32C_POLY 0x82f63b78u /* reflected Castagnoli polynomial */

/* Stripe lengths of the three-way loop, longest first; multiples of 8. */
#define CRC32C_STRIPE_LONG  8192
#define CRC32C_STRIPE_SHORT 256

static uint32_t crc32c_table[8][256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;
static int crc32c_hw;  /* the crc32 instruction */
static int crc32c_hw3; /* and PCLMULQDQ: three interleaved streams */
/* Per stripe length s: x^(8s - 33) and x^(16s - 33) mod P (see crc32c_join). */
static uint32_t crc32c_k_long[2], crc32c_k_short[2];

/*
 * Polynomials over GF(2) modulo P in the reflected form the CRC register uses:
 * bit 31 holds the coefficient of x^0, bit 0 that of x^31. Multiplying by x is
 * a right shift, and x^32 folds back as P's low terms.
 */
static uint32_t crc32c_mulmod(uint32_t a, uint32_t b)
{
	uint32_t r = 0;

	for (int i = 0; i < 32; i++) {
		if (a & (0x80000000u >> i))
			r ^= b; /* b holds b0 * x^i here */
		b = (b >> 1) ^ (CRC32C_POLY & (0u - (b & 1)));
	}
	return r;
}

/* x^n mod P by square-and-multiply. */
static uint32_t crc32c_xpow(uint64_t n)
{
	uint32_t r = 0x80000000u, sq = 0x40000000u; /* x^0, x^1 */

	for (; n; n >>= 1) {
		if (n & 1)
			r = crc32c_mulmod(r, sq);
		sq = crc32c_mulmod(sq, sq);
	}
	return r;
}

#if defined(__x86_64__)
static inline uint64_t crc32c_load64(const unsigned char *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
	return w;
}

/* One dependent chain: the path for short buffers and for CPUs without PCLMULQDQ. */
__attribute__((target("sse4.2"))) static uint64_t
crc32c_hw_chain(uint64_t c, const unsigned char *p, size_t len)
{
	while (len && ((uintptr_t)p & 7)) {
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
		len--;
	}
	for (; len >= 8; p += 8, len -= 8)
		c = __builtin_ia32_crc32di(c, crc32c_load64(p));
	while (len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return c;
}

/*
 * The register after three stripes of s bytes run as c0 (from the incoming
 * state), c1 and c2 (from 0): c0 * x^(16s) + c1 * x^(8s) + c2 mod P. The
 * 64-bit carry-less product of two reflected 32-bit values stands for their
 * product times x, and crc32 of 8 bytes from 0 multiplies by x^32 and reduces
 * mod P; hence the constants x^(16s - 33) and x^(8s - 33). The two products
 * are added before the one reduction, which is linear.
 */
__attribute__((target("sse4.2,pclmul"))) static inline uint64_t
crc32c_join(uint64_t c0, uint64_t c1, uint64_t c2, const uint32_t *k)
{
	__m128i a = _mm_set_epi64x((long long)c1, (long long)c0);
	__m128i kk = _mm_set_epi64x((long long)k[0], (long long)k[1]);
	__m128i p =
	    _mm_xor_si128(_mm_clmulepi64_si128(a, kk, 0x00), _mm_clmulepi64_si128(a, kk, 0x11));

	return __builtin_ia32_crc32di(0, (uint64_t)_mm_cvtsi128_si64(p)) ^ c2;
}

/* Three interleaved chains over stripes of s bytes while 3s bytes remain. */
__attribute__((target("sse4.2,pclmul"))) static uint64_t
crc32c_hw_stripes(uint64_t c, const unsigned char **pp, size_t *lenp, size_t s, const uint32_t *k)
{
	const unsigned char *p = *pp;
	size_t len = *lenp;

	while (len >= 3 * s) {
		const unsigned char *end = p + s;
		uint64_t c1 = 0, c2 = 0;

		for (; p < end; p += 8) {
			c = __builtin_ia32_crc32di(c, crc32c_load64(p));
			c1 = __builtin_ia32_crc32di(c1, crc32c_load64(p + s));
			c2 = __builtin_ia32_crc32di(c2, crc32c_load64(p + 2 * s));
		}
		c = crc32c_join(c, c1, c2, k);
		p += 2 * s;
		len -= 3 * s;
	}
	*pp = p;
	*lenp = len;
	return c;
}

__attribute__((target("sse4.2,pclmul"))) static uint32_t
crc32c_hw3_run(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t c = crc;

	while (len && ((uintptr_t)p & 7)) {
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
		len--;
	}
	c = crc32c_hw_stripes(c, &p, &len, CRC32C_STRIPE_LONG, crc32c_k_long);
	c = crc32c_hw_stripes(c, &p, &len, CRC32C_STRIPE_SHORT, crc32c_k_short);
	return (uint32_t)crc32c_hw_chain(c, p, len);
}
#endif

static void crc32c_init(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1)));
		crc32c_table[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (j = 1; j < 8; j++)
			crc32c_table[j][i] = (crc32c_table[j - 1][i] >> 8) ^
			                     crc32c_table[0][crc32c_table[j - 1][i] & 0xff];
	crc32c_k_long[0] = crc32c_xpow(8 * CRC32C_STRIPE_LONG - 33);
	crc32c_k_long[1] = crc32c_xpow(16 * CRC32C_STRIPE_LONG - 33);
	crc32c_k_short[0] = crc32c_xpow(8 * CRC32C_STRIPE_SHORT - 33);
	crc32c_k_short[1] = crc32c_xpow(16 * CRC32C_STRIPE_SHORT - 33);
#if defined(__x86_64__)
	__builtin_cpu_init();
	crc32c_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
	crc32c_hw3 = crc32c_hw && __builtin_cpu_supports("pclmul");
#endif
}

/* The table walk assumes little-endian words, true on every target we build for. */
static uint32_t crc32c_sw_run(uint32_t c, const unsigned char *p, size_t len)
{
	while (len && ((uintptr_t)p & 7)) {
		c = (c >> 8) ^ crc32c_table[0][(c ^ *p++) & 0xff];
		len--;
	}
	while (len >= 8) {
		uint32_t lo, hi;

		memcpy(&lo, p, 4);
		memcpy(&hi, p + 4, 4);
		lo ^= c;
		c = crc32c_table[7][lo & 0xff] ^ crc32c_table[6][(lo >> 8) & 0xff] ^
		    crc32c_table[5][(lo >> 16) & 0xff] ^ crc32c_table[4][lo >> 24] ^
		    crc32c_table[3][hi & 0xff] ^ crc32c_table[2][(hi >> 8) & 0xff] ^
		    crc32c_table[1][(hi >> 16) & 0xff] ^ crc32c_table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		c = (c >> 8) ^ crc32c_table[0][(c ^ *p++) & 0xff];
	return c;
}

uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&crc32c_once, crc32c_init);
	return ~crc32c_sw_run(~crc, buf, len);
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&crc32c_once, crc32c_init);
#if defined(__x86_64__)
	if (crc32c_hw3)
		return ~crc32c_hw3_run(~crc, buf, len);
	if (crc32c_hw)
		return ~(uint32_t)crc32c_hw_chain(~crc, buf, len);
#endif
	return ~crc32c_sw_run(~crc, buf, len);
}

int crc32c_hw_available(void)
{
	pthread_once(&crc32c_once, crc32c_init);
	return crc32c_hw3 ? 2 : crc32c_hw;
}
