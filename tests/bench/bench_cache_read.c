/*
 * bench_cache_read.c - how should the cache copy a stored value out of LMDB?
 *
 * Compares, on one temporary LMDB of large values (overflow pages, as the
 * cache's chunks are), ways of copying a value into a caller's buffer with
 * the cache's per-64 KiB CRC-32C over what is copied:
 *   pread   pread from data.mdb at the value's offset in the file, as the
 *           cache does (cache/lmdb_layout)
 *   map     mdb_get, memcpy from mv_data (LMDB's public API only)
 *   map-d   map, then MADV_DONTNEED on the pages the copy mapped
 *   map-wd  map-d with MADV_WILLNEED on the value's range before the copy
 *   map-pd  map-d with MADV_POPULATE_READ on it before the copy (one call
 *           maps the range instead of a fault per 64 KiB)
 * and the same for random 4 KiB reads (each verifies its 64 KiB block).
 * Each pass starts with nothing of data.mdb mapped in the process (as after
 * a mount); "cold" passes first drop data.mdb from the page cache with
 * posix_fadvise(POSIX_FADV_DONTNEED). Variants are interleaved run by run and
 * the medians reported, with RssFile/RssAnon (/proc/self/status) after the
 * warm sequential pass, then pread's speed over each variant's in the same
 * run (median and range of those ratios: the machine's load changes less
 * within a run than between runs). A benchmark, not a test: it asserts
 * nothing but that every variant copies the stored bytes.
 *
 *   bench_cache_read [-d DIR] [-m TOTAL_MIB] [-c VALUE_KIB] [-r RUNS] [-t THREADS]
 *                    [-n RANDOM_READS] [-R]
 *   -R opens the environment with MDB_NORDAHEAD (LMDB then madvises its
 *   map MADV_RANDOM).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cache/crc32c.h"
#include "cache/lmdb_layout.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define BLOCK   (64u << 10)
#define MAXRUNS 64

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

enum variant { V_PREAD, V_MAP, V_MAPD, V_MAPWD, V_MAPPD, NV };
static const char *const vname[NV] = {"pread", "map", "map-d", "map-wd", "map-pd"};

static struct {
	MDB_env *env;
	MDB_dbi dbi;
	int fd;
	struct lmdb_layout l;
	size_t psize;
	uint32_t vsize;
	unsigned nvals, nthreads, nrand;
	uint32_t *crcs; /* per value: CRC-32C of each block, as stored by the cache */
} B;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_cache_read: %s: %s\n", what, rc > 0 ? mdb_strerror(rc) : "failed");
	exit(1);
}

static void fill(unsigned char *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i < n; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(p + i, &x, n - i < 8 ? n - i : 8);
	}
}

static void key_of(unsigned char k[8], uint64_t i)
{
	for (int j = 7; j >= 0; j--, i >>= 8)
		k[j] = (unsigned char)i;
}

/* Where LMDB mapped data.mdb, as the cache finds it. */
static void find_map(void)
{
	MDB_val k = {4, "seed"}, v = {4, "seed"};
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_txn_begin(B.env, NULL, 0, &txn)) || (rc = mdb_put(txn, B.dbi, &k, &v, 0)) ||
	    (rc = mdb_txn_commit(txn)) || (rc = mdb_txn_begin(B.env, NULL, MDB_RDONLY, &txn)) ||
	    (rc = mdb_get(txn, B.dbi, &k, &v)))
		die("seed", rc);
	if (lmdb_layout_init(&B.l, B.env, B.fd, &v) < 0)
		die("lmdb_layout_init", 0);
	mdb_txn_abort(txn);
}

static void setup(const char *dir, size_t total)
{
	unsigned char k[8], *buf = malloc(B.vsize);
	MDB_val key = {8, k}, val;
	MDB_txn *txn;
	int rc;

	B.nvals = (unsigned)(total / B.vsize);
	B.crcs = calloc((size_t)B.nvals * (B.vsize / BLOCK + 1), sizeof(uint32_t));
	for (unsigned i = 0; i < B.nvals; i++) {
		fill(buf, B.vsize, i);
		for (uint32_t b = 0; b * BLOCK < B.vsize; b++)
			B.crcs[(size_t)i * (B.vsize / BLOCK + 1) + b] =
			    crc32c(0, buf + (size_t)b * BLOCK,
			           B.vsize - b * BLOCK < BLOCK ? B.vsize - b * BLOCK : BLOCK);
		key_of(k, i);
		val.mv_size = B.vsize;
		val.mv_data = buf;
		if ((rc = mdb_txn_begin(B.env, NULL, 0, &txn)) ||
		    (rc = mdb_put(txn, B.dbi, &key, &val, 0)) || (rc = mdb_txn_commit(txn)))
			die("put", rc);
	}
	free(buf);
	/* Clean pages only: POSIX_FADV_DONTNEED drops nothing dirty. */
	if ((rc = mdb_env_sync(B.env, 1)))
		die("sync", rc);
	(void)dir;
}

static uint64_t rss_kib(const char *field)
{
	char line[256];
	uint64_t v = 0;
	size_t n = strlen(field);
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, field, n) == 0)
			v = strtoull(line + n + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

/* [p, p + n) widened to whole pages: what the copy may have mapped. */
static void pages(const void *p, size_t n, uintptr_t *lo, size_t *len)
{
	uintptr_t a = (uintptr_t)p & ~(uintptr_t)(B.psize - 1);
	uintptr_t e = ((uintptr_t)p + n + B.psize - 1) & ~(uintptr_t)(B.psize - 1);

	*lo = a;
	*len = e - a;
}

static int check(const unsigned char *p, size_t n, unsigned idx, uint32_t blk)
{
	return crc32c(0, p, n) == B.crcs[(size_t)idx * (B.vsize / BLOCK + 1) + blk];
}

/* Copy [off, off + n) of value idx into dst with variant v, verifying the blocks. */
static int read_val(enum variant v, unsigned idx, size_t off, size_t n, unsigned char *dst,
                    unsigned char *scratch)
{
	unsigned char k[8];
	MDB_val key = {8, k}, val;
	MDB_txn *txn;
	size_t first = off / BLOCK * BLOCK, end = (off + n + BLOCK - 1) / BLOCK * BLOCK;
	const unsigned char *src;
	uintptr_t lo;
	size_t len;
	int ok = 1, rc;

	if (end > B.vsize)
		end = B.vsize;
	key_of(k, idx);
	if ((rc = mdb_txn_begin(B.env, NULL, MDB_RDONLY, &txn)) ||
	    (rc = mdb_get(txn, B.dbi, &key, &val)))
		die("get", rc);
	src = val.mv_data;
	if (v == V_PREAD) {
		/* The covering blocks in one preadv, like the cache (scratch for a partial block).
		 */
		unsigned char *to = n == end - first ? dst : scratch;
		off_t at;

		if (lmdb_layout_offset(&B.l, &val, &at) < 0)
			die("offset", 0);
		at += (off_t)first;
		size_t want = end - first, got = 0;

		while (got < want) {
			ssize_t r = pread(B.fd, to + got, want - got, at + (off_t)got);

			if (r <= 0)
				die("pread", 0);
			got += (size_t)r;
		}
		for (size_t b = first; b < end; b += BLOCK)
			ok &= check(to + (b - first), end - b < BLOCK ? end - b : BLOCK, idx,
			            (uint32_t)(b / BLOCK));
		if (to != dst)
			memcpy(dst, to + (off - first), n);
	} else {
		if (v == V_MAPWD || v == V_MAPPD) {
			pages(src + first, end - first, &lo, &len);
			madvise((void *)lo, len, v == V_MAPWD ? MADV_WILLNEED : MADV_POPULATE_READ);
		}
		memcpy(dst, src + off, n);
		/* Verify what was copied; the block's other bytes straight from the map. */
		for (size_t b = first; b < end; b += BLOCK) {
			size_t be = end - b < BLOCK ? end : b + BLOCK;
			size_t a0 = b > off ? b : off, a1 = be < off + n ? be : off + n;
			uint32_t crc = crc32c(0, src + b, a0 - b);

			crc = crc32c(crc, dst + (a0 - off), a1 - a0);
			crc = crc32c(crc, src + a1, be - a1);
			ok &= crc == B.crcs[(size_t)idx * (B.vsize / BLOCK + 1) + b / BLOCK];
		}
		if (v != V_MAP) {
			pages(src + first, end - first, &lo, &len);
			madvise((void *)lo, len, MADV_DONTNEED);
		}
	}
	mdb_txn_abort(txn);
	return ok;
}

struct job {
	enum variant v;
	int rand;
	unsigned t; /* thread number */
	int bad;
	uint64_t bytes;
};

static void *worker(void *arg)
{
	struct job *j = arg;
	unsigned char *buf = malloc(B.vsize), *scratch = malloc(B.vsize);
	unsigned r = 12345u + j->t * 7919u;

	if (!j->rand) {
		for (unsigned i = j->t; i < B.nvals; i += B.nthreads) {
			j->bad += !read_val(j->v, i, 0, B.vsize, buf, scratch);
			j->bytes += B.vsize;
		}
	} else {
		for (unsigned i = 0; i < B.nrand / B.nthreads; i++) {
			r = r * 1103515245u + 12345u;
			unsigned idx = (r >> 8) % B.nvals;
			r = r * 1103515245u + 12345u;
			size_t off = (size_t)((r >> 8) % (B.vsize / 4096)) * 4096;

			j->bad += !read_val(j->v, idx, off, 4096, buf, scratch);
			j->bytes += 4096;
		}
	}
	free(buf);
	free(scratch);
	return NULL;
}

/* One pass; returns MB/s (sequential) or reads/s (random). */
static double pass(enum variant v, int rand, int cold, uint64_t *rss_file, uint64_t *rss_anon)
{
	pthread_t th[16];
	struct job jobs[16];
	uint64_t bytes = 0;
	double t0, t;
	int bad = 0;

	/* As after a mount: nothing of the file mapped (the bench knows the map). */
	madvise((void *)(uintptr_t)B.l.map, B.l.mapsize, MADV_DONTNEED);
	if (cold)
		posix_fadvise(B.fd, 0, 0, POSIX_FADV_DONTNEED);
	t0 = now();
	for (unsigned i = 0; i < B.nthreads; i++) {
		jobs[i] = (struct job){.v = v, .rand = rand, .t = i};
		pthread_create(&th[i], NULL, worker, &jobs[i]);
	}
	for (unsigned i = 0; i < B.nthreads; i++) {
		pthread_join(th[i], NULL);
		bad += jobs[i].bad;
		bytes += jobs[i].bytes;
	}
	t = now() - t0;
	if (bad) {
		fprintf(stderr, "bench_cache_read: %s copied wrong bytes %d times\n", vname[v],
		        bad);
		exit(1);
	}
	if (rss_file)
		*rss_file = rss_kib("RssFile:");
	if (rss_anon)
		*rss_anon = rss_kib("RssAnon:");
	return rand ? (double)(B.nrand / B.nthreads * B.nthreads) / t : (double)bytes / 1e6 / t;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* pread's result over each other variant's, run by run: median [min-max]. */
static void print_ratios(double r[NV][4][MAXRUNS], unsigned runs)
{
	printf("pread / variant, run by run, columns as above: median [min-max]\n");
	for (int v = V_PREAD + 1; v < NV; v++) {
		printf("%-8s", vname[v]);
		for (int c = 0; c < 4; c++) {
			double q[MAXRUNS];

			for (unsigned i = 0; i < runs; i++)
				q[i] = r[v][c][i] > 0 ? r[V_PREAD][c][i] / r[v][c][i] : 0;
			qsort(q, runs, sizeof(q[0]), cmp_d);
			printf("  %5.2f [%.2f-%.2f]", median(q, (int)runs), q[0], q[runs - 1]);
		}
		printf("\n");
	}
}

int main(int argc, char **argv)
{
	char tmpl[512], path[600];
	const char *dir = NULL, *tmp = getenv("TMPDIR");
	size_t total = 512u << 20;
	unsigned runs = 5, flags = MDB_NOSYNC | MDB_NOTLS;
	double r[NV][4][MAXRUNS];
	uint64_t rf[NV][MAXRUNS], ra[NV][MAXRUNS];
	MDB_txn *txn;
	int opt, rc;

	B.vsize = 4u << 20;
	B.nthreads = 1;
	B.nrand = 4000;
	while ((opt = getopt(argc, argv, "d:m:c:r:t:n:R")) != -1) {
		switch (opt) {
		case 'd':
			dir = optarg;
			break;
		case 'm':
			total = strtoull(optarg, NULL, 10) << 20;
			break;
		case 'c':
			B.vsize = (uint32_t)strtoul(optarg, NULL, 10) << 10;
			break;
		case 'r':
			runs = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 't':
			B.nthreads = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			B.nrand = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'R':
			flags |= MDB_NORDAHEAD;
			break;
		default:
			fprintf(stderr,
			        "usage: %s [-d DIR] [-m TOTAL_MIB] [-c VALUE_KIB] [-r RUNS] "
			        "[-t THREADS] [-n RANDOM_READS] [-R]\n",
			        argv[0]);
			return 2;
		}
	}
	if (runs < 1 || runs > MAXRUNS || B.nthreads < 1 || B.nthreads > 16 || B.vsize < BLOCK ||
	    total < B.vsize)
		die("bad arguments", 0);
	if (!dir) {
		snprintf(tmpl, sizeof(tmpl), "%s/bench_cache_read.XXXXXX",
		         tmp && *tmp ? tmp : "/tmp");
		if (!(dir = mkdtemp(tmpl)))
			die("mkdtemp", 0);
	}
	B.psize = (size_t)sysconf(_SC_PAGESIZE);
	if ((rc = mdb_env_create(&B.env)) ||
	    (rc = mdb_env_set_mapsize(B.env, total * 2 + (64 << 20))) ||
	    (rc = mdb_env_open(B.env, dir, flags, 0600)) ||
	    (rc = mdb_txn_begin(B.env, NULL, 0, &txn)) ||
	    (rc = mdb_dbi_open(txn, NULL, 0, &B.dbi)) || (rc = mdb_txn_commit(txn)) ||
	    (rc = mdb_env_get_fd(B.env, &B.fd)))
		die("open", rc);
	find_map();
	setup(dir, total);
	printf("# %u values of %u KiB (%zu MiB), %u thread(s), %u runs%s, crc32c path %d\n",
	       B.nvals, B.vsize >> 10, total >> 20, B.nthreads, runs,
	       flags & MDB_NORDAHEAD ? ", MDB_NORDAHEAD" : "", crc32c_hw_available());
	for (unsigned run = 0; run < runs; run++)
		for (int i = 0; i < NV; i++) {
			enum variant v = (enum variant)((i + (int)run) % NV); /* rotate the order */

			r[v][0][run] = pass(v, 0, 1, NULL, NULL);
			r[v][1][run] = pass(v, 0, 0, &rf[v][run], &ra[v][run]);
			r[v][2][run] = pass(v, 1, 1, NULL, NULL);
			r[v][3][run] = pass(v, 1, 0, NULL, NULL);
			fprintf(stderr,
			        "# run %u %-7s seq cold %7.0f warm %7.0f MB/s, rand cold %7.0f "
			        "warm %7.0f reads/s, RssFile %llu KiB\n",
			        run, vname[v], r[v][0][run], r[v][1][run], r[v][2][run],
			        r[v][3][run], (unsigned long long)rf[v][run]);
		}
	printf("%-8s %14s %14s %16s %16s %14s %14s\n", "variant", "seq cold MB/s", "seq warm MB/s",
	       "rand cold op/s", "rand warm op/s", "RssFile KiB", "RssAnon KiB");
	for (int v = 0; v < NV; v++) {
		double f[MAXRUNS], a[MAXRUNS];

		for (unsigned i = 0; i < runs; i++) {
			f[i] = (double)rf[v][i];
			a[i] = (double)ra[v][i];
		}
		printf("%-8s %14.0f %14.0f %16.0f %16.0f %14.0f %14.0f\n", vname[v],
		       median(r[v][0], (int)runs), median(r[v][1], (int)runs),
		       median(r[v][2], (int)runs), median(r[v][3], (int)runs), median(f, (int)runs),
		       median(a, (int)runs));
	}
	print_ratios(r, runs);
	mdb_env_close(B.env);
	if (dir == tmpl) {
		snprintf(path, sizeof(path), "%s/data.mdb", dir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/lock.mdb", dir);
		unlink(path);
		rmdir(dir);
	}
	return 0;
}
