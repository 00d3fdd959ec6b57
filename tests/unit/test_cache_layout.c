/*
 * test_cache_layout.c - the cache's knowledge of LMDB (cache/lmdb_layout)
 * against the LMDB that is linked. If LMDB changes how it maps data.mdb or
 * lays values out in pages, this test fails, not the cache's reads or budget.
 *
 * The sources of truth are LMDB's own: the bytes mdb_get returns (compared
 * with pread at the offset lmdb_layout_offset computes) and mdb_stat's
 * ms_overflow_pages and ms_leaf_pages (compared with lmdb_layout_pages), for
 * values in leaf pages, at the edge of overflow, and over many pages, under
 * the 40-byte keys the cache uses and others.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cache/lmdb_layout.h"
#include "tap.h"

#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[256];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
}

struct env {
	MDB_env *env;
	MDB_dbi dbi;
	int fd;
	struct lmdb_layout l;
};

/* A fresh store in root/name, opened as the cache opens its own (no MDB_WRITEMAP). */
static int env_open(struct env *e, const char *name)
{
	char dir[512];
	MDB_txn *txn;
	MDB_val k = {4, "seed"}, v = {5, "value"};
	int rc;

	snprintf(dir, sizeof(dir), "%s/%s", root, name);
	mkdir(dir, 0700);
	if ((rc = mdb_env_create(&e->env)) || (rc = mdb_env_set_maxdbs(e->env, 4)) ||
	    (rc = mdb_env_set_mapsize(e->env, 64 << 20)) ||
	    (rc = mdb_env_open(e->env, dir, MDB_NOTLS | MDB_NOSYNC, 0600)) ||
	    (rc = mdb_env_get_fd(e->env, &e->fd)) || (rc = mdb_txn_begin(e->env, NULL, 0, &txn)))
		return rc;
	if ((rc = mdb_dbi_open(txn, "d", MDB_CREATE, &e->dbi)) ||
	    (rc = mdb_put(txn, e->dbi, &k, &v, 0)) || (rc = mdb_txn_commit(txn)))
		return rc;
	if ((rc = mdb_txn_begin(e->env, NULL, MDB_RDONLY, &txn)))
		return rc;
	rc = mdb_get(txn, e->dbi, &k, &v);
	if (rc == 0)
		rc = lmdb_layout_init(&e->l, e->env, e->fd, &v);
	mdb_txn_abort(txn);
	return rc;
}

/* Sizes around the leaf/overflow edge for key size ks, and across page counts. */
static size_t sizes(const struct lmdb_layout *l, size_t ks, size_t *out)
{
	size_t n = 0, edge = l->nodemax - 8 - ks; /* largest value predicted to stay in a leaf */
	const size_t fixed[] = {0,
	                        1,
	                        100,
	                        1000,
	                        l->psize - 17,
	                        l->psize - 16,
	                        l->psize - 15,
	                        l->psize,
	                        2 * l->psize - 16,
	                        2 * l->psize - 15,
	                        65536,
	                        (4u << 20) + 12345};

	out[n++] = edge - 1;
	out[n++] = edge;
	out[n++] = edge + 1;
	out[n++] = edge + 2;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		out[n++] = fixed[i];
	return n;
}

/*
 * Put one value of each size under its own key, each alone in a fresh
 * database, and compare mdb_stat's overflow pages with the prediction; and
 * for a value predicted to stay in a leaf, that the leaf holds it (one leaf
 * page, no overflow page).
 */
static void test_pages(size_t ks)
{
	struct env e;
	size_t sz[32], n, i;
	unsigned char *key = calloc(1, ks), *val = malloc((4u << 20) + 20000);
	int bad = 0, leaf = 0, over = 0, rc0;

	rc0 = env_open(&e, ks == 40 ? "pages40" : "pages");
	TAP_EQ_INT(rc0, 0, "open a store (key %zu)", ks);
	if (rc0)
		return;
	n = sizes(&e.l, ks, sz);
	for (i = 0; i < n; i++) {
		MDB_txn *txn;
		MDB_val k = {ks, key}, v = {sz[i], val};
		MDB_stat st;
		uint64_t want = lmdb_layout_pages(&e.l, ks, sz[i]);
		int rc;

		fill(val, sz[i], (unsigned)i);
		fill(key, ks, (unsigned)i + 1000);
		rc = mdb_txn_begin(e.env, NULL, 0, &txn);
		if (rc == 0)
			rc = mdb_drop(txn, e.dbi, 0);
		if (rc == 0)
			rc = mdb_put(txn, e.dbi, &k, &v, 0);
		if (rc == 0)
			rc = mdb_stat(txn, e.dbi, &st);
		if (rc == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
		if (rc || st.ms_overflow_pages != want || st.ms_leaf_pages != 1 ||
		    st.ms_entries != 1) {
			bad++;
			printf("# key %zu, value %zu: overflow pages %zu, predicted %llu (rc %d)\n",
			       ks, sz[i], rc ? 0 : st.ms_overflow_pages, (unsigned long long)want,
			       rc);
		}
		leaf += want == 0;
		over += want != 0;
		if (want == 0 && lmdb_layout_bytes(&e.l, ks, sz[i]) != 8 + ks + sz[i] + 2)
			bad++;
		if (want != 0 && lmdb_layout_bytes(&e.l, ks, sz[i]) != want * e.l.psize)
			bad++;
	}
	TAP_EQ_INT(bad, 0, "key %zu: %zu sizes, overflow pages as mdb_stat counts them", ks, n);
	TAP_OK(leaf >= 5 && over >= 8, "both in-leaf (%d) and overflow (%d) values were checked",
	       leaf, over);
	TAP_EQ_INT(lmdb_layout_pages(&e.l, ks, e.l.nodemax - 8 - ks), 0,
	           "the edge value is predicted in-leaf");
	TAP_EQ_INT(lmdb_layout_pages(&e.l, ks, e.l.nodemax - 8 - ks + 1), 1,
	           "one byte more: one overflow page");
	mdb_env_close(e.env);
	free(key);
	free(val);
}

/*
 * Many values of every size in one database; then, in one read transaction,
 * each value's bytes read with pread at lmdb_layout_offset equal what
 * mdb_get returns, and the offsets of values that moved to overflow pages
 * are page-aligned plus the page header.
 */
static void test_offsets(void)
{
	struct env e;
	size_t sz[32], n, i, maxv = (4u << 20) + 12345;
	unsigned char key[40], *val = malloc(maxv), *got = malloc(maxv);
	MDB_txn *txn;
	int bad = 0, rc, checked = 0, aligned = 1;
	off_t off;

	rc = env_open(&e, "offsets");
	TAP_EQ_INT(rc, 0, "open a store");
	if (rc)
		return;
	TAP_OK(e.l.map != NULL && e.l.mapsize == 64 << 20, "the map is found, %zu bytes",
	       e.l.mapsize);
	TAP_EQ_INT(e.l.psize, sysconf(_SC_PAGESIZE), "LMDB's page is the system's page");
	n = sizes(&e.l, 40, sz);
	rc = mdb_txn_begin(e.env, NULL, 0, &txn);
	for (i = 0; rc == 0 && i < 3 * n; i++) {
		MDB_val k = {40, key}, v = {sz[i % n], val};

		fill(key, 40, (unsigned)i);
		fill(val, v.mv_size, (unsigned)i + 7);
		rc = mdb_put(txn, e.dbi, &k, &v, 0);
		if (i % 5 == 4 && rc == 0) { /* several commits: values spread over the file */
			rc = mdb_txn_commit(txn);
			if (rc == 0)
				rc = mdb_txn_begin(e.env, NULL, 0, &txn);
		}
	}
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	TAP_EQ_INT(rc, 0, "put %zu values", 3 * n);
	rc = mdb_txn_begin(e.env, NULL, MDB_RDONLY, &txn);
	for (i = 0; rc == 0 && i < 3 * n; i++) {
		MDB_val k = {40, key}, v;

		fill(key, 40, (unsigned)i);
		if (mdb_get(txn, e.dbi, &k, &v) || lmdb_layout_offset(&e.l, &v, &off) < 0) {
			bad++;
			continue;
		}
		fill(val, v.mv_size, (unsigned)i + 7);
		if (v.mv_size != sz[i % n] || memcmp(v.mv_data, val, v.mv_size) != 0 ||
		    pread(e.fd, got, v.mv_size, off) != (ssize_t)v.mv_size ||
		    memcmp(got, val, v.mv_size) != 0) {
			bad++;
			printf("# value %zu (%zu bytes) at %lld differs\n", i, sz[i % n],
			       (long long)off);
		}
		if (lmdb_layout_pages(&e.l, 40, v.mv_size) && (size_t)off % e.l.psize != 16)
			aligned = 0;
		checked++;
	}
	if (rc == 0)
		mdb_txn_abort(txn);
	TAP_EQ_INT(bad, 0, "%d values: pread at the computed offset returns mdb_get's bytes",
	           checked);
	TAP_OK(aligned, "an overflow value starts 16 bytes into its first page");
	{
		MDB_val outside = {10, (void *)(uintptr_t)(e.l.map + e.l.mapsize - 5)};

		TAP_EQ_INT(lmdb_layout_offset(&e.l, &outside, &off), -EIO,
		           "a value reaching past the map: -EIO");
		outside.mv_data = val;
		TAP_EQ_INT(lmdb_layout_offset(&e.l, &outside, &off), -EIO,
		           "a value outside the map: -EIO");
	}
	mdb_env_close(e.env);
	free(val);
	free(got);
}

static long rss_file_kib(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "RssFile:", 8) == 0)
			v = atol(line + 8);
	if (f)
		fclose(f);
	return v;
}

/*
 * lmdb_layout_unmap takes what reading through the map brought into the
 * process's RSS out again (the page cache keeps it), and values read through
 * the map afterwards are still LMDB's bytes.
 */
static void test_unmap(void)
{
	const size_t vsize = 8u << 20;
	struct env e;
	unsigned char key[40], *val = malloc(vsize);
	MDB_val k = {40, key}, v;
	MDB_txn *txn;
	long before, mapped, after;
	int rc = env_open(&e, "unmap"), same = 0;

	TAP_EQ_INT(rc, 0, "open a store");
	if (rc)
		return;
	fill(key, 40, 1);
	fill(val, vsize, 2);
	v.mv_size = vsize;
	v.mv_data = val;
	rc = mdb_txn_begin(e.env, NULL, 0, &txn);
	if (rc == 0)
		rc = mdb_put(txn, e.dbi, &k, &v, 0);
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	TAP_EQ_INT(rc, 0, "put an 8 MiB value");
	lmdb_layout_unmap(&e.l);
	before = rss_file_kib();
	rc = mdb_txn_begin(e.env, NULL, MDB_RDONLY, &txn);
	if (rc == 0 && mdb_get(txn, e.dbi, &k, &v) == 0)
		same = v.mv_size == vsize && memcmp(v.mv_data, val, vsize) == 0;
	mapped = rss_file_kib();
	lmdb_layout_unmap(&e.l);
	after = rss_file_kib();
	if (rc == 0 && mdb_get(txn, e.dbi, &k, &v) == 0)
		same += v.mv_size == vsize && memcmp(v.mv_data, val, vsize) == 0;
	if (rc == 0)
		mdb_txn_abort(txn);
	TAP_EQ_INT(same, 2, "the value read through the map, before and after the unmap");
	TAP_OK(mapped - before >= 8 << 10, "reading it mapped its 8 MiB (RssFile %ld -> %ld KiB)",
	       before, mapped);
	TAP_OK(mapped - after >= 8 << 10, "lmdb_layout_unmap took them out (%ld KiB after)", after);
	mdb_env_close(e.env);
	free(val);
}

/* A value that is not in data.mdb's map is refused at init. */
static void test_init_refuses(void)
{
	struct env e;
	struct lmdb_layout l;
	char heap[64] = "not in any file mapping";
	MDB_val v = {sizeof(heap), heap};
	int rc = env_open(&e, "refuse");

	TAP_EQ_INT(rc, 0, "open a store");
	if (rc)
		return;
	TAP_EQ_INT(lmdb_layout_init(&l, e.env, e.fd, &v), -EIO,
	           "init with a value on the heap: -EIO");
	mdb_env_close(e.env);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(root, sizeof(root), "%s/test_cache_layout.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	printf("# %s\n", mdb_version(NULL, NULL, NULL));
	test_pages(40);
	test_pages(7);
	test_offsets();
	test_unmap();
	test_init_refuses();
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
