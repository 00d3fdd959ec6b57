/*
 * test_cache.c - the LMDB chunk cache without a mount.
 *
 * The sources of truth are independent of the cache: payloads are generated
 * from a seed and regenerated to compare (whole chunks and byte ranges), corruption is done by
 * opening the store directly with mdb_*, the budget is checked with stat(2) on data.mdb, and LMDB's
 * own mdb_stat must succeed after a writer is killed with SIGKILL.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cache/cache.h"
#include "cache/crc32c.h"
#include "tap.h"

#include <errno.h>
#include <ftw.h>
#include <lmdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BLK 4096 /* payload bytes under one block CRC (cache.c: CACHE_BLOCK) */

static char root[256];

static void fill(void *buf, size_t len, uint64_t seed)
{
	unsigned char *p = buf;
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)(x >> 24);
	}
}

static int same(const void *buf, size_t len, uint64_t seed)
{
	unsigned char *want = malloc(len ? len : 1);
	int r;

	fill(want, len, seed);
	r = memcmp(buf, want, len) == 0;
	free(want);
	return r;
}

static struct cache_key key(const char *blob, const char *etag, uint64_t i)
{
	struct cache_key k = {"acct", "cont", blob, etag, i};

	return k;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

static void sub(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", root, name);
}

static off_t file_size(const char *dir, const char *file)
{
	char p[1024];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	return stat(p, &st) == 0 ? st.st_size : -1;
}

static int open_dir(struct cache **c, const char *dir, uint64_t budget, uint32_t chunk)
{
	struct cache_opts o = {dir, budget, chunk};

	return cache_open(c, &o);
}

/* Put chunk i of blob with seeded content of len bytes. */
static int put(struct cache *c, const char *blob, uint64_t i, size_t len, uint64_t seed)
{
	struct cache_key k = key(blob, "\"0x1\"", i);
	void *buf = malloc(len ? len : 1);
	int rc;

	fill(buf, len, seed);
	rc = cache_put_chunk(c, &k, buf, len);
	free(buf);
	return rc;
}

/* 1 if chunk i is present with the seeded content, 0 if a miss, -1 if wrong. */
static int has(struct cache *c, const char *blob, uint64_t i, size_t len, uint64_t seed)
{
	struct cache_key k = key(blob, "\"0x1\"", i);
	void *buf = malloc(len + 16);
	ssize_t n = cache_get_chunk(c, &k, buf, len + 16);
	int r = n == -ENOENT ? 0 : (n == (ssize_t)len && same(buf, len, seed)) ? 1 : -1;

	free(buf);
	return r;
}

static void test_dirs(void)
{
	char dir[600], bad[700];
	struct cache *c = NULL;
	struct stat st;

	sub(dir, sizeof(dir), "xdg/mgdcfs/profile");
	TAP_EQ_INT(open_dir(&c, dir, 0, 0), 0, "open creates missing parents");
	TAP_OK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700, "cache dir is 0700");
	sub(bad, sizeof(bad), "xdg/mgdcfs");
	TAP_OK(stat(bad, &st) == 0 && (st.st_mode & 077) == 0, "created parents are 0700");
	snprintf(bad, sizeof(bad), "%s/data.mdb", dir);
	TAP_OK(stat(bad, &st) == 0 && (st.st_mode & 0777) == 0600, "data.mdb is 0600");
	cache_close(c);

	sub(bad, sizeof(bad), "open");
	mkdir(bad, 0700);
	chmod(bad, 0750);
	c = NULL;
	TAP_EQ_INT(open_dir(&c, bad, 0, 0), -EACCES, "a group-readable dir is refused");
	TAP_OK(c == NULL, "no handle on refusal");
	chmod(bad, 0700);
	if (geteuid() == 0) {
		/* Only root can hand a directory to another owner. */
		TAP_OK(chown(bad, 65534, 65534) == 0, "chown to another user");
		TAP_EQ_INT(open_dir(&c, bad, 0, 0), -EACCES, "a dir of another owner is refused");
		TAP_OK(chown(bad, 0, 0) == 0, "chown back");
	}
	TAP_EQ_INT(open_dir(&c, bad, 0, 0), 0, "the same dir at 0700 opens");
	{
		struct cache *c2 = NULL;

		TAP_EQ_INT(open_dir(&c2, bad, 0, 0), -EBUSY,
		           "a second open in one process: -EBUSY");
	}
	cache_close(c);
}

static void test_roundtrip(void)
{
	char dir[600];
	struct cache *c;
	struct cache_stats s;
	struct cache_key k = key("a/b.json", "\"0x1\"", 0), k2;
	unsigned char *buf = malloc(1 << 20), *got = malloc(1 << 20);
	ssize_t n;

	sub(dir, sizeof(dir), "rt");
	TAP_EQ_INT(open_dir(&c, dir, 16 << 20, 1 << 20), 0, "open");
	fill(buf, 300000, 7);
	TAP_EQ_INT(cache_get_chunk(c, &k, got, 1 << 20), -ENOENT, "miss before put");
	TAP_EQ_INT(cache_put_chunk(c, &k, buf, 300000), 0, "put 300000 bytes");
	n = cache_get_chunk(c, &k, got, 1 << 20);
	TAP_EQ_INT(n, 300000, "get returns the length");
	TAP_OK(n == 300000 && same(got, 300000, 7), "get returns the bytes");
	TAP_EQ_INT(cache_get_chunk(c, &k, got, 299999), -ERANGE, "too small a buffer: -ERANGE");
	k2 = key("a/b.json", "\"0x2\"", 0);
	TAP_EQ_INT(cache_get_chunk(c, &k2, got, 1 << 20), -ENOENT, "another ETag misses");
	k2 = key("a/b.json", "\"0x1\"", 1);
	TAP_EQ_INT(cache_get_chunk(c, &k2, got, 1 << 20), -ENOENT, "another index misses");
	k2 = key("a/b.jso", "n\"0x1\"", 0);
	TAP_EQ_INT(cache_get_chunk(c, &k2, got, 1 << 20), -ENOENT,
	           "moving a byte between fields misses");
	TAP_EQ_INT(cache_put_chunk(c, &k, buf, (1 << 20) + 1), -EFBIG,
	           "over the chunk size: -EFBIG");
	TAP_EQ_INT(cache_put_chunk(c, &k2, buf, 0), 0, "an empty chunk");
	TAP_EQ_INT(cache_get_chunk(c, &k2, got, 0), 0, "reads back empty");
	fill(buf, 1000, 8);
	TAP_EQ_INT(cache_put_chunk(c, &k, buf, 1000), 0, "replace a chunk");
	n = cache_get_chunk(c, &k, got, 1 << 20);
	TAP_OK(n == 1000 && same(got, 1000, 8), "the new bytes are returned");

	TAP_EQ_INT(cache_blob_bytes(c, "acct", "cont", "a/b.json", "\"0x1\""), 1000,
	           "blob bytes after replace");
	TAP_EQ_INT(put(c, "big", 0, 5000, 1), 0, "chunk 0 of big");
	TAP_EQ_INT(put(c, "big", 1, 7000, 2), 0, "chunk 1 of big");
	TAP_EQ_INT(put(c, "big", 9, 11, 3), 0, "chunk 9 of big");
	TAP_EQ_INT(cache_blob_bytes(c, "acct", "cont", "big", "\"0x1\""), 12011,
	           "blob bytes sum the chunks");
	TAP_EQ_INT(cache_blob_bytes(c, "acct", "cont", "big", "\"0x9\""), 0,
	           "another ETag holds nothing");
	/* Other versions of big, and a blob whose name differs only in the container. */
	for (int i = 0; i < 4; i++) {
		struct cache_key kv = key("big", i < 2 ? "\"0x2\"" : "\"0x3\"", (uint64_t)i);

		TAP_EQ_INT(cache_put_chunk(c, &kv, buf, 100), 0, "chunk %d of another version", i);
	}
	k2 = key("big", "\"0x1\"", 0);
	k2.container = "con";
	k2.account = "tacct";
	TAP_EQ_INT(cache_put_chunk(c, &k2, buf, 100), 0, "same blob name, other container");
	TAP_EQ_INT(cache_drop_blob(c, "acct", "cont", "big", "\"0x3\""), 5,
	           "drop_blob keeping 0x3 drops the 3 + 2 chunks of 0x1 and 0x2");
	TAP_EQ_INT(cache_blob_bytes(c, "acct", "cont", "big", "\"0x1\""), 0, "0x1 count is 0");
	TAP_EQ_INT(cache_blob_bytes(c, "acct", "cont", "big", "\"0x2\""), 0, "0x2 count is 0");
	TAP_EQ_INT(cache_blob_bytes(c, "acct", "cont", "big", "\"0x3\""), 200, "0x3 kept");
	TAP_EQ_INT(cache_blob_bytes(c, "tacct", "con", "big", "\"0x1\""), 100,
	           "the other container's blob kept");
	TAP_EQ_INT(has(c, "big", 1, 7000, 2), 0, "a dropped chunk misses");
	TAP_EQ_INT(cache_drop_blob(c, "acct", "cont", "big", "\"0x3\""), 0, "nothing more to drop");
	TAP_EQ_INT(cache_drop_blob(c, "acct", "cont", "big", NULL), 2, "NULL drops every version");
	TAP_EQ_INT(cache_drop_blob(c, "tacct", "con", "big", NULL), 1, "and the other blob");
	TAP_EQ_INT(cache_blob_bytes(c, "acct", "cont", "a/b.json", "\"0x1\""), 1000,
	           "other blobs untouched");

	cache_get_stats(c, &s);
	TAP_EQ_INT(s.hits, 3, "hits counted");
	TAP_EQ_INT(s.misses, 5, "misses counted");
	TAP_EQ_INT(s.chunks, 2, "two chunks held");
	TAP_EQ_INT(s.bytes_used, 1000, "payload bytes held");
	TAP_EQ_INT(s.bytes_read, 300000 + 1000 + 0, "bytes read");
	TAP_EQ_INT(s.budget, 16 << 20, "budget reported");
	TAP_EQ_INT(cache_check(c), 0, "check clean");
	cache_close(c);
	free(buf);
	free(got);
}

static void test_kv(void)
{
	char dir[600], *v = NULL, longkey[5000];
	struct cache *c;
	size_t len = 0;
	int64_t at = 0, t0 = time(NULL);
	char *big = calloc(1, (64 << 10) + 1);

	sub(dir, sizeof(dir), "kv");
	TAP_EQ_INT(open_dir(&c, dir, 0, 64 << 10), 0, "open");
	TAP_EQ_INT(cache_kv_get(c, CACHE_META, "a/b", &v, &len, &at), -ENOENT, "kv miss");
	TAP_EQ_INT(cache_kv_put(c, CACHE_META, "a/b", "{\"x\":1}", 7), 0, "kv put");
	TAP_EQ_INT(cache_kv_get(c, CACHE_META, "a/b", &v, &len, &at), 0, "kv get");
	TAP_EQ_STR(v, "{\"x\":1}", "value, NUL-terminated");
	TAP_EQ_INT(len, 7, "length");
	TAP_OK(at >= t0 && at <= (int64_t)time(NULL), "stored_at is the put time");
	free(v);
	v = NULL;
	TAP_EQ_INT(cache_kv_get(c, CACHE_LIST, "a/b", &v, &len, &at), -ENOENT,
	           "listings are a separate db");
	TAP_EQ_INT(cache_kv_put(c, CACHE_LIST, "a/b", "[1,2]", 5), 0, "list put");
	TAP_EQ_INT(cache_kv_put(c, CACHE_META, "a/b", "", 0), 0, "replace with empty");
	TAP_EQ_INT(cache_kv_get(c, CACHE_META, "a/b", &v, &len, NULL), 0, "get empty");
	TAP_OK(v && len == 0 && v[0] == '\0', "empty value");
	free(v);
	v = NULL;
	TAP_EQ_INT(cache_kv_get(c, CACHE_LIST, "a/b", &v, &len, NULL), 0, "list get");
	TAP_EQ_STR(v, "[1,2]", "list value");
	free(v);
	v = NULL;
	TAP_EQ_INT(cache_kv_put(c, CACHE_META, "big", big, (64 << 10) + 1), -EFBIG,
	           "over the chunk size: -EFBIG");
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	TAP_EQ_INT(cache_kv_put(c, CACHE_META, longkey, "x", 1), -EINVAL,
	           "a 5000-byte key: -EINVAL");
	longkey[1000] = '\0';
	TAP_EQ_INT(cache_kv_put(c, CACHE_META, longkey, "y", 1), 0, "a 1000-byte key is fine");
	cache_close(c);
	TAP_EQ_INT(open_dir(&c, dir, 0, 64 << 10), 0, "reopen");
	TAP_EQ_INT(cache_kv_get(c, CACHE_META, longkey, &v, &len, &at), 0, "survives reopen");
	TAP_OK(v && len == 1 && v[0] == 'y' && at >= t0, "value and time survive");
	free(v);
	TAP_EQ_INT(cache_check(c), 0, "check clean");
	cache_close(c);
	free(big);
}

/*
 * Flip one byte of the idx-th record of db `name`, through LMDB directly: at
 * `off` from the start, or from the end when negative (-1 = last byte). With
 * reseal, also recompute the record's header CRC-32C (bytes 4..7, over the
 * rest of the 40-byte header, the tuple and the 4 KiB block CRCs, as the
 * format says), as a valid record with another key's tuple would look: a
 * collision.
 */
static int corrupt(const char *dir, const char *name, int idx, long off, int reseal)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *cur;
	MDB_val k, v;
	unsigned char *copy = NULL;
	int rc, i;

	mdb_env_create(&env);
	mdb_env_set_maxdbs(env, 8);
	rc = mdb_env_open(env, dir, MDB_NOTLS, 0600);
	if (rc == 0)
		rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (rc == 0) {
		rc = mdb_dbi_open(txn, name, 0, &dbi);
		if (rc == 0)
			rc = mdb_cursor_open(txn, dbi, &cur);
		for (i = 0, rc = rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		     rc == 0 && i < idx; i++)
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
		if (rc == 0) {
			copy = malloc(v.mv_size);
			memcpy(copy, v.mv_data, v.mv_size);
			copy[off >= 0 ? (size_t)off : v.mv_size - (size_t)-off] ^= 0x40;
			if (reseal) {
				uint32_t tuple_len, crc;
				uint64_t len;

				memcpy(&tuple_len, copy + 8, 4);
				memcpy(&len, copy + 24, 8);
				crc =
				    crc32c(0, copy + 8,
				           32 + tuple_len + 4 * (size_t)((len + (BLK - 1)) / BLK));
				memcpy(copy + 4, &crc, 4);
			}
			v.mv_data = copy;
			rc = mdb_cursor_put(cur, &k, &v, MDB_CURRENT);
		}
		if (rc == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	free(copy);
	return rc;
}

/* Delete the first record of db `name` through LMDB directly. */
static int lmdb_del_first(const char *dir, const char *name)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	mdb_env_create(&env);
	mdb_env_set_maxdbs(env, 8);
	rc = mdb_env_open(env, dir, MDB_NOTLS, 0600);
	if (rc == 0 && (rc = mdb_txn_begin(env, NULL, 0, &txn)) == 0) {
		rc = mdb_dbi_open(txn, name, 0, &dbi);
		if (rc == 0 && (rc = mdb_cursor_open(txn, dbi, &cur)) == 0) {
			rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
			if (rc == 0)
				rc = mdb_cursor_del(cur, 0);
		}
		if (rc == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	return rc;
}

static void test_checksum(void)
{
	char dir[600], *v = NULL;
	struct cache *c;
	struct cache_stats s;
	size_t len;
	int i;

	sub(dir, sizeof(dir), "crc");
	TAP_EQ_INT(open_dir(&c, dir, 0, 1 << 20), 0, "open");
	for (i = 0; i < 3; i++)
		put(c, "f", (uint64_t)i, 200000, (uint64_t)i + 100);
	cache_kv_put(c, CACHE_META, "m", "meta-value", 10);
	cache_close(c);
	/* Chunk ids are hashes, so which chunk is first is not known: find out after. */
	TAP_EQ_INT(corrupt(dir, "chunk", 0, -6, 0), 0, "flip a payload byte of one chunk");
	TAP_EQ_INT(open_dir(&c, dir, 0, 1 << 20), 0, "reopen");
	int present = 0, wrong = 0;

	for (i = 0; i < 3; i++) {
		int h = has(c, "f", (uint64_t)i, 200000, (uint64_t)i + 100);

		present += h == 1;
		wrong += h < 0;
	}
	TAP_EQ_INT(wrong, 0, "corrupt bytes are never returned");
	TAP_EQ_INT(present, 2, "the corrupt chunk is a miss, the others hit");
	cache_get_stats(c, &s);
	TAP_EQ_INT(s.checksum_failures, 1, "checksum failure counted");
	TAP_EQ_INT(s.misses, 1, "and counted as a miss");
	TAP_EQ_INT(s.chunks, 2, "the corrupt chunk was removed");
	TAP_EQ_INT(cache_blob_bytes(c, "acct", "cont", "f", "\"0x1\""), 400000,
	           "blob bytes follow the removal");
	TAP_EQ_INT(cache_check(c), 0, "check clean after the drop");
	present = 0;
	for (i = 0; i < 3; i++)
		present += has(c, "f", (uint64_t)i, 200000, (uint64_t)i + 100) == 1;
	cache_get_stats(c, &s);
	TAP_OK(present == 2 && s.checksum_failures == 1, "second read: plain miss, no new failure");
	cache_close(c);

	TAP_EQ_INT(corrupt(dir, "chunk", 1, -199991, 0), 0, "flip a byte of another chunk");
	TAP_EQ_INT(corrupt(dir, "meta", 0, -1, 0), 0, "and of the metadata value");
	TAP_EQ_INT(open_dir(&c, dir, 0, 1 << 20), 0, "reopen");
	TAP_EQ_INT(cache_check(c), 2, "check finds and drops the two bad entries");
	TAP_EQ_INT(cache_check(c), 0, "a second check is clean");
	cache_get_stats(c, &s);
	TAP_EQ_INT(s.chunks, 1, "one chunk left");
	TAP_EQ_INT(cache_kv_get(c, CACHE_META, "m", &v, &len, NULL), -ENOENT, "bad meta dropped");
	for (i = 3; i < 6; i++)
		put(c, "f", (uint64_t)i, 1000, (uint64_t)i + 100);
	cache_close(c);

	/* Byte 50 is inside the stored account name; the CRC is made to match. */
	TAP_EQ_INT(corrupt(dir, "chunk", 2, 50, 1), 0, "give one chunk another key's tuple");
	TAP_EQ_INT(open_dir(&c, dir, 0, 1 << 20), 0, "reopen");
	present = wrong = 0;
	for (i = 0; i < 6; i++) {
		int h = has(c, "f", (uint64_t)i, i < 3 ? 200000 : 1000, (uint64_t)i + 100);

		present += h == 1;
		wrong += h < 0;
	}
	TAP_OK(wrong == 0 && present == 3, "a tuple mismatch is a miss, never the bytes");
	cache_get_stats(c, &s);
	TAP_EQ_INT(s.checksum_failures, 0, "not counted as a checksum failure");
	TAP_EQ_INT(cache_check(c), 1,
	           "check finds the record whose tuple does not hash to its key");
	TAP_EQ_INT(cache_check(c), 0, "and a second check is clean");
	cache_close(c);

	TAP_EQ_INT(lmdb_del_first(dir, "names"), 0, "lose a names record");
	TAP_EQ_INT(lmdb_del_first(dir, "lru"), 0, "and an lru record");
	TAP_EQ_INT(open_dir(&c, dir, 0, 1 << 20), 0, "reopen");
	TAP_EQ_INT(cache_check(c), 2, "check repairs both");
	TAP_EQ_INT(cache_check(c), 0, "and a second check is clean");
	TAP_EQ_INT(cache_drop_blob(c, "acct", "cont", "f", NULL), 3,
	           "drop_blob finds every version again");
	cache_close(c);
}

/*
 * Range reads against the seeded bytes: chunks ending on and off a 4 KiB
 * block boundary, a one-block chunk and an empty one; offsets and lengths
 * around block edges, across blocks, past the end, zero. Bytes of buf past
 * the returned count must be left alone.
 */
static void test_range(void)
{
	static const size_t lens[] = {5 * BLK + 1234, 4 * BLK, 1000, 0};
	char dir[600];
	struct cache *c;
	struct cache_stats s0, s1;
	struct cache_key k;
	unsigned char *want = malloc(1 << 20), *got = malloc((1 << 20) + 64);
	uint64_t hits = 0, bytes = 0;
	unsigned int r = 7;
	int bad = 0, calls = 0;

	sub(dir, sizeof(dir), "range");
	TAP_EQ_INT(open_dir(&c, dir, 16 << 20, 1 << 20), 0, "open");
	for (int i = 0; i < 4; i++)
		TAP_EQ_INT(put(c, "rng", (uint64_t)i, lens[i], (uint64_t)i + 300), 0,
		           "put a %zu-byte chunk", lens[i]);
	cache_get_stats(c, &s0);
	for (int i = 0; i < 4; i++) {
		const uint64_t len = lens[i];
		const uint64_t offs[] = {0,
		                         1,
		                         4095,
		                         4096,
		                         (BLK - 1),
		                         BLK,
		                         (BLK + 1),
		                         (2 * BLK - 1),
		                         131072,
		                         len - 1,
		                         len,
		                         len + 1,
		                         len - 4096,
		                         len - BLK,
		                         len - (BLK + 1),
		                         len + 100000,
		                         1u << 20,
		                         UINT64_MAX,
		                         UINT64_MAX / 2};
		const size_t sizes[] = {0,         1,      7,      4096,        (BLK - 1), BLK,
		                        (BLK + 1), 131072, 200000, (size_t)len, 1u << 20};

		fill(want, len, (uint64_t)i + 300);
		k = key("rng", "\"0x1\"", (uint64_t)i);
		for (size_t o = 0; o < sizeof(offs) / sizeof(offs[0]); o++)
			for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
				uint64_t off = offs[o];
				size_t n = sizes[z], exp;
				ssize_t res;

				exp = off >= len ? 0 : (len - off < n ? (size_t)(len - off) : n);
				memset(got, 0xa5, (1 << 20) + 64);
				res = cache_get_range(c, &k, off, got, n);
				calls++;
				hits++;
				bytes += exp;
				if (res != (ssize_t)exp ||
				    memcmp(got, want + (exp ? off : 0), exp) != 0 ||
				    got[exp] != 0xa5 || got[exp + 63] != 0xa5) {
					bad++;
					printf("# chunk %d off %llu len %zu: got %zd, want %zu\n",
					       i, (unsigned long long)off, n, res, exp);
				}
			}
		/* Random ranges, most of them crossing block boundaries. */
		for (int j = 0; j < 200 && len; j++) {
			uint64_t off;
			size_t n, exp;
			ssize_t res;

			r = r * 1103515245u + 12345u;
			off = (r >> 4) % len;
			r = r * 1103515245u + 12345u;
			n = (r >> 4) % (3 * BLK);
			exp = len - off < n ? (size_t)(len - off) : n;
			res = cache_get_range(c, &k, off, got, n);
			calls++;
			hits++;
			bytes += exp;
			if (res != (ssize_t)exp || memcmp(got, want + off, exp) != 0)
				bad++;
		}
	}
	TAP_EQ_INT(bad, 0, "%d range reads return exactly the bytes put, clipped at the end",
	           calls);
	cache_get_stats(c, &s1);
	TAP_EQ_INT(s1.hits - s0.hits, hits, "each range read of a stored chunk is a hit");
	TAP_EQ_INT(s1.bytes_read - s0.bytes_read, bytes, "bytes_read counts the bytes copied");
	TAP_EQ_INT(s1.misses, s0.misses, "no misses");
	TAP_EQ_INT(s1.checksum_failures, 0, "no checksum failures");

	k = key("rng", "\"0x2\"", 0);
	TAP_EQ_INT(cache_get_range(c, &k, 0, got, 100), -ENOENT, "another ETag: -ENOENT");
	TAP_EQ_INT(cache_get_range(c, &k, 0, got, 0), -ENOENT, "a miss even for len 0");
	cache_get_stats(c, &s0);
	TAP_EQ_INT(s0.misses - s1.misses, 2, "range misses are counted");
	k = key("rng", "\"0x1\"", 0);
	TAP_EQ_INT(cache_get_range(c, &k, 0, NULL, 10), -EINVAL, "NULL buf: -EINVAL");
	{
		char longname[5000];
		struct cache_key kl;

		memset(longname, 'n', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		kl = key(longname, "\"0x1\"", 0);
		TAP_EQ_INT(cache_get_range(c, &kl, 0, got, 10), -EINVAL,
		           "names over 4 KiB: -EINVAL");
	}
	TAP_EQ_INT(has(c, "rng", 0, lens[0], 300), 1,
	           "cache_get_chunk still returns the whole chunk");
	TAP_EQ_INT(cache_check(c), 0, "check clean");
	cache_close(c);
	free(want);
	free(got);
}

/* A range read is a hit for the LRU: the chunk read survives the next eviction. */
static void test_range_lru(void)
{
	const uint32_t chunk = 256 << 10;
	char dir[600];
	struct cache *c;
	struct cache_stats s;
	struct cache_key k = key("f", "\"0x1\"", 0);
	unsigned char buf[4096];
	int i;

	sub(dir, sizeof(dir), "rangelru");
	TAP_EQ_INT(open_dir(&c, dir, 4 << 20, chunk), 0, "open 4 MiB budget, 256 KiB chunks");
	for (i = 0; i < 8; i++)
		put(c, "f", (uint64_t)i, chunk, (uint64_t)i);
	TAP_EQ_INT(cache_get_range(c, &k, 70000, buf, sizeof(buf)), 4096,
	           "a 4 KiB range of the oldest chunk");
	for (i = 8, s.evictions = 0; s.evictions == 0 && i < 64; i++) {
		put(c, "f", (uint64_t)i, chunk, (uint64_t)i);
		cache_get_stats(c, &s);
	}
	TAP_OK(s.evictions >= 1 && s.evictions <= 2, "evictions started (%llu)",
	       (unsigned long long)s.evictions);
	/* Checked last: a get is a hit and would change the order. */
	TAP_EQ_INT(has(c, "f", 0, chunk, 0), 1, "the chunk read by range stayed");
	TAP_EQ_INT(has(c, "f", 1, chunk, 1), 0, "the next oldest, unread, went");
	cache_close(c);
}

/* Flip one stored byte of the only chunk in a fresh store `name`; -off from the value's end. */
static int corrupt_one(const char *name, size_t len, long off_from_end)
{
	char dir[600];
	struct cache *c;
	int rc;

	sub(dir, sizeof(dir), name);
	rc = open_dir(&c, dir, 0, 1 << 20);
	if (rc == 0) {
		rc = put(c, "x", 0, len, 77);
		cache_close(c);
	}
	return rc ? rc : corrupt(dir, "chunk", 0, -off_from_end, 0);
}

/*
 * One flipped payload byte in block 3 of 7: ranges over other blocks are
 * still served, a range touching block 3 misses and drops the entry. A
 * flipped block CRC or header byte fails every read of the chunk.
 */
static void test_range_corrupt(void)
{
	const size_t len = 6 * BLK + 500;
	const uint64_t flip = 3 * BLK + 77; /* payload offset of the flipped byte */
	char dir[600];
	struct cache *c;
	struct cache_stats s;
	struct cache_key k = key("x", "\"0x1\"", 0);
	unsigned char *want = malloc(len), *got = malloc(len);
	ssize_t n;

	fill(want, len, 77);
	TAP_EQ_INT(corrupt_one("rcblock", len, (long)(len - flip)), 0,
	           "store a 7-block chunk, flip a byte of block 3");
	sub(dir, sizeof(dir), "rcblock");
	TAP_EQ_INT(open_dir(&c, dir, 0, 1 << 20), 0, "reopen");
	n = cache_get_range(c, &k, 100, got, 4096);
	TAP_OK(n == 4096 && memcmp(got, want + 100, 4096) == 0, "a range in block 0 is served");
	n = cache_get_range(c, &k, 4 * BLK + 10, got, BLK + 20);
	TAP_OK(n == BLK + 20 && memcmp(got, want + 4 * BLK + 10, (size_t)n) == 0,
	       "a range across blocks 4 and 5 is served");
	n = cache_get_range(c, &k, 2 * BLK, got, BLK);
	TAP_OK(n == BLK && memcmp(got, want + 2 * BLK, BLK) == 0,
	       "block 2, up to the first byte of block 3, is served");
	n = cache_get_range(c, &k, 6 * BLK, got, 1000);
	TAP_OK(n == 500 && memcmp(got, want + 6 * BLK, 500) == 0, "the last, short block too");
	cache_get_stats(c, &s);
	TAP_EQ_INT(s.checksum_failures, 0, "no failure so far");
	TAP_EQ_INT(cache_get_range(c, &k, flip + 1, got, 1), -ENOENT,
	           "one byte of block 3, next to the flipped one: -ENOENT");
	cache_get_stats(c, &s);
	TAP_EQ_INT(s.checksum_failures, 1, "a checksum failure is counted");
	TAP_EQ_INT(s.misses, 1, "and a miss");
	TAP_EQ_INT(s.chunks, 0, "the entry is dropped");
	TAP_EQ_INT(cache_get_range(c, &k, 100, got, 4096), -ENOENT, "block 0 is now a plain miss");
	cache_get_stats(c, &s);
	TAP_EQ_INT(s.checksum_failures, 1, "with no new failure");
	TAP_EQ_INT(cache_check(c), 0, "check clean after the drop");
	cache_close(c);

	TAP_EQ_INT(corrupt_one("rcspan", len, (long)(len - flip)), 0, "the same in another store");
	sub(dir, sizeof(dir), "rcspan");
	TAP_EQ_INT(open_dir(&c, dir, 0, 1 << 20), 0, "reopen");
	TAP_EQ_INT(cache_get_range(c, &k, 2 * BLK + 5, got, 2 * BLK), -ENOENT,
	           "a range across blocks 2 to 4: -ENOENT");
	TAP_EQ_INT(has(c, "x", 0, len, 77), 0, "the whole chunk is gone");
	cache_get_stats(c, &s);
	TAP_EQ_INT(s.checksum_failures, 1, "one failure counted");
	cache_close(c);

	TAP_EQ_INT(corrupt_one("rcwhole", len, (long)(len - flip)), 0, "and in a third store");
	sub(dir, sizeof(dir), "rcwhole");
	TAP_EQ_INT(open_dir(&c, dir, 0, 1 << 20), 0, "reopen");
	TAP_EQ_INT(has(c, "x", 0, len, 77), 0, "cache_get_chunk verifies every block: a miss");
	cache_get_stats(c, &s);
	TAP_OK(s.checksum_failures == 1 && s.chunks == 0, "counted and dropped");
	cache_close(c);

	/* The block CRCs sit just before the payload: flip one byte of the third. */
	TAP_EQ_INT(corrupt_one("rcarray", len, (long)(len + 7 * 4 - 9)), 0,
	           "flip a byte of a stored block CRC");
	sub(dir, sizeof(dir), "rcarray");
	TAP_EQ_INT(open_dir(&c, dir, 0, 1 << 20), 0, "reopen");
	TAP_EQ_INT(cache_get_range(c, &k, 6 * BLK, got, 10), -ENOENT,
	           "the header CRC fails any range, even in a good block");
	cache_get_stats(c, &s);
	TAP_OK(s.checksum_failures == 1 && s.chunks == 0, "counted and dropped");
	cache_close(c);

	TAP_EQ_INT(corrupt_one("rchdr", len, (long)(len + 7 * 4 + 35 + 40 - 33)), 0,
	           "flip a byte of the stored time in the header");
	sub(dir, sizeof(dir), "rchdr");
	TAP_EQ_INT(open_dir(&c, dir, 0, 1 << 20), 0, "reopen");
	TAP_EQ_INT(cache_get_range(c, &k, 0, got, 10), -ENOENT, "any range misses");
	cache_get_stats(c, &s);
	TAP_OK(s.checksum_failures == 1 && s.chunks == 0, "counted and dropped");
	cache_close(c);
	free(want);
	free(got);
}

/* Set the format number in the info record, as a store of an older build would have. */
static int lmdb_set_format(const char *dir, uint32_t format)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = {6, "totals"}, v;
	unsigned char buf[256];
	int rc;

	mdb_env_create(&env);
	mdb_env_set_maxdbs(env, 8);
	rc = mdb_env_open(env, dir, MDB_NOTLS, 0600);
	if (rc == 0 && (rc = mdb_txn_begin(env, NULL, 0, &txn)) == 0) {
		rc = mdb_dbi_open(txn, "info", 0, &dbi);
		if (rc == 0)
			rc = mdb_get(txn, dbi, &k, &v);
		if (rc == 0 && (v.mv_size < 4 || v.mv_size > sizeof(buf)))
			rc = MDB_CORRUPTED;
		if (rc == 0) {
			memcpy(buf, v.mv_data, v.mv_size);
			memcpy(buf, &format, 4);
			v.mv_data = buf;
			rc = mdb_put(txn, dbi, &k, &v, 0);
		}
		if (rc == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	return rc;
}

/* A store of the previous format (2: one CRC over the whole value) is emptied on open. */
static void test_old_format(void)
{
	char dir[600], *v = NULL;
	struct cache *c;
	struct cache_stats s;
	size_t len;

	sub(dir, sizeof(dir), "format");
	TAP_EQ_INT(open_dir(&c, dir, 0, 1 << 20), 0, "open");
	TAP_EQ_INT(put(c, "old", 0, 100000, 5), 0, "put a chunk");
	TAP_EQ_INT(cache_kv_put(c, CACHE_META, "m", "v", 1), 0, "and a metadata entry");
	cache_close(c);
	TAP_EQ_INT(open_dir(&c, dir, 0, 1 << 20), 0, "reopen, same format");
	TAP_EQ_INT(has(c, "old", 0, 100000, 5), 1, "the chunk survives a reopen");
	cache_close(c);
	TAP_EQ_INT(lmdb_set_format(dir, 2), 0, "mark the store as format 2");
	TAP_EQ_INT(open_dir(&c, dir, 0, 1 << 20), 0, "reopen");
	cache_get_stats(c, &s);
	TAP_OK(s.chunks == 0 && s.bytes_used == 0, "no chunks accounted");
	TAP_EQ_INT(has(c, "old", 0, 100000, 5), 0, "the chunk is gone");
	TAP_EQ_INT(cache_kv_get(c, CACHE_META, "m", &v, &len, NULL), -ENOENT, "and the metadata");
	TAP_EQ_INT(cache_blob_bytes(c, "acct", "cont", "old", "\"0x1\""), 0, "blob bytes 0");
	TAP_EQ_INT(cache_check(c), 0, "check clean");
	TAP_EQ_INT(put(c, "old", 0, 100000, 6), 0, "put again");
	cache_close(c);
	TAP_EQ_INT(open_dir(&c, dir, 0, 1 << 20), 0, "reopen");
	TAP_EQ_INT(has(c, "old", 0, 100000, 6), 1,
	           "the new chunk survives: the format was updated");
	cache_close(c);
}

static int write_text(const char *dir, const char *file, const char *text)
{
	char path[700];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (!(f = fopen(path, "w")))
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int read_text(const char *dir, const char *file, char *buf, size_t n)
{
	char path[700];
	FILE *f;
	size_t got;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (!(f = fopen(path, "r")))
		return -1;
	got = fread(buf, 1, n - 1, f);
	buf[got] = 0;
	fclose(f);
	return 0;
}

/*
 * The store syncs only at close (MDB_NOSYNC); "state" tells a store closed
 * cleanly or in use in this boot (both kept) from one in use when the system
 * went down (discarded).
 */
static void test_state(void)
{
	char dir[600], buf[128], boot[64] = "", open_line[96];
	struct cache *c, *c2;
	FILE *f;

	f = fopen("/proc/sys/kernel/random/boot_id", "r");
	if (f) {
		if (fgets(boot, sizeof(boot), f))
			boot[strcspn(boot, "\n")] = 0;
		fclose(f);
	}
	snprintf(open_line, sizeof(open_line), "open %s\n", boot);
	sub(dir, sizeof(dir), "state");
	TAP_EQ_INT(open_dir(&c, dir, 0, 1 << 20), 0, "open");
	TAP_OK(read_text(dir, "state", buf, sizeof(buf)) == 0 && strcmp(buf, open_line) == 0,
	       "state says open in this boot while open");
	TAP_EQ_INT(put(c, "s", 0, 100000, 7), 0, "put a chunk");
	TAP_EQ_INT(open_dir(&c2, dir, 0, 1 << 20), -EBUSY, "a second open in-process is refused");
	cache_close(c);
	TAP_OK(read_text(dir, "state", buf, sizeof(buf)) == 0 && strcmp(buf, "clean\n") == 0,
	       "state says clean after close");
	TAP_EQ_INT(open_dir(&c, dir, 0, 1 << 20), 0, "reopen a clean store");
	TAP_EQ_INT(has(c, "s", 0, 100000, 7), 1, "its chunk is there");
	cache_close(c);

	/* As after a kill -9 in this boot: the page cache still holds every commit. */
	TAP_EQ_INT(write_text(dir, "state", open_line), 0, "mark it in use in this boot");
	TAP_EQ_INT(open_dir(&c, dir, 0, 1 << 20), 0, "reopen");
	TAP_EQ_INT(has(c, "s", 0, 100000, 7), 1, "the chunk is kept");
	cache_close(c);

	/* As after a power loss while mounted: the store may be torn. */
	TAP_EQ_INT(write_text(dir, "state", "open 00000000-0000-0000-0000-000000000000\n"), 0,
	           "mark it in use in another boot");
	TAP_EQ_INT(open_dir(&c, dir, 0, 1 << 20), 0, "reopen");
	TAP_EQ_INT(has(c, "s", 0, 100000, 7), 0, "the store was discarded");
	TAP_EQ_INT(put(c, "s", 0, 100000, 8), 0, "and is usable");
	cache_close(c);
	TAP_EQ_INT(write_text(dir, "state", ""), 0, "an empty state file");
	TAP_EQ_INT(open_dir(&c, dir, 0, 1 << 20), 0, "reopen");
	TAP_EQ_INT(has(c, "s", 0, 100000, 8), 0, "counts as unknown: discarded");
	cache_close(c);
}

/*
 * LRU order across a restart, then the budget under a long stream of puts.
 * 256 KiB chunks in a 4 MiB budget.
 */
static void test_lru_budget(void)
{
	const uint32_t chunk = 256 << 10;
	const uint64_t budget = 4 << 20;
	char dir[600];
	struct cache *c;
	struct cache_stats s;
	uint64_t order[128];
	int n = 0, i, e, gone_ok = 1, late_ok = 1, maxsz_ok = 1;
	off_t sz, maxsz = 0;

	sub(dir, sizeof(dir), "lru");
	TAP_EQ_INT(open_dir(&c, dir, budget, chunk), 0, "open 4 MiB budget, 256 KiB chunks");
	for (i = 0; i < 8; i++)
		put(c, "f", (uint64_t)i, chunk, (uint64_t)i);
	TAP_EQ_INT(has(c, "f", 0, chunk, 0), 1, "touch chunk 0");
	TAP_EQ_INT(has(c, "f", 1, chunk, 1), 1, "touch chunk 1");
	cache_get_stats(c, &s);
	TAP_EQ_INT(s.evictions, 0, "8 chunks fit");
	cache_close(c);
	TAP_EQ_INT(open_dir(&c, dir, budget, chunk), 0, "reopen");
	/* Expected eviction order: untouched 2..7, then the touched 0 and 1, then new ones. */
	for (i = 2; i < 8; i++)
		order[n++] = (uint64_t)i;
	order[n++] = 0;
	order[n++] = 1;
	for (i = 8; s.evictions < 4 && i < 64; i++) {
		put(c, "f", (uint64_t)i, chunk, (uint64_t)i);
		order[n++] = (uint64_t)i;
		cache_get_stats(c, &s);
	}
	e = (int)s.evictions;
	TAP_OK(e >= 4 && e <= 6, "evictions started (%d)", e);
	for (i = 0; i < n; i++) {
		int h = has(c, "f", order[i], chunk, order[i]);

		if (h != (i < e ? 0 : 1))
			gone_ok = 0;
	}
	TAP_OK(gone_ok, "exactly the %d oldest untouched chunks went, in LRU order", e);
	TAP_EQ_INT(has(c, "f", 0, chunk, 0), 1,
	           "touched chunk 0 stayed (order kept across reopen)");
	TAP_EQ_INT(has(c, "f", 1, chunk, 1), 1, "touched chunk 1 stayed");

	/* A long stream, chunk 0 read after every put: it must stay, the file must not grow. */
	for (i = 100; i < 160; i++) {
		put(c, "g", (uint64_t)i, chunk, (uint64_t)i);
		if (has(c, "f", 0, chunk, 0) != 1)
			late_ok = 0;
		sz = file_size(dir, "data.mdb");
		if (sz > maxsz)
			maxsz = sz;
		if (sz > (off_t)(budget + chunk))
			maxsz_ok = 0;
	}
	TAP_OK(late_ok, "a chunk read between puts is never evicted");
	TAP_OK(maxsz_ok, "data.mdb <= budget + one chunk after every put (max %lld, limit %llu)",
	       (long long)maxsz, (unsigned long long)(budget + chunk));
	cache_get_stats(c, &s);
	TAP_OK(s.bytes_used <= budget, "payload bytes within budget (%llu)",
	       (unsigned long long)s.bytes_used);
	TAP_OK(s.store_bytes <= budget + chunk, "store bytes within budget + chunk (%llu)",
	       (unsigned long long)s.store_bytes);
	/* The untouched survivors of the stream are its newest chunks, without holes. */
	int seen_present = 0, holes = 0, kept = 0;

	for (i = 100; i < 160; i++) {
		int h = has(c, "g", (uint64_t)i, chunk, (uint64_t)i);

		if (h == 1) {
			seen_present = 1;
			kept++;
		} else if (seen_present) {
			holes++;
		}
	}
	TAP_OK(holes == 0 && kept >= 8, "survivors are the newest %d, no holes", kept);
	TAP_EQ_INT(cache_check(c), 0, "check clean");
	cache_close(c);

	/* Reopening with a smaller budget must not keep an oversized file. */
	TAP_EQ_INT(open_dir(&c, dir, 2 << 20, chunk), 0, "reopen with a 2 MiB budget");
	for (i = 0; i < 20; i++)
		put(c, "h", (uint64_t)i, chunk, (uint64_t)i);
	sz = file_size(dir, "data.mdb");
	TAP_OK(sz <= (off_t)((2 << 20) + chunk), "data.mdb within the new budget (%lld)",
	       (long long)sz);
	TAP_EQ_INT(has(c, "h", 19, chunk, 19), 1, "the newest chunk is there");
	cache_close(c);
}

/* Random sizes: fragmentation of overflow pages must not break the bound. */
static void test_random_sizes(void)
{
	const uint32_t chunk = 512 << 10;
	const uint64_t budget = 6 << 20;
	char dir[600];
	struct cache *c;
	size_t lens[300];
	int i, wrong = 0, fails = 0, present = 0, over = 0;
	unsigned int r = 42;

	sub(dir, sizeof(dir), "frag");
	TAP_EQ_INT(open_dir(&c, dir, budget, chunk), 0, "open 6 MiB budget, 512 KiB chunks");
	for (i = 0; i < 300; i++) {
		r = r * 1103515245u + 12345u;
		lens[i] = (r >> 8) % chunk + 1;
		if (i % 5 == 0)
			lens[i] = 100 + (r >> 20) % 3000; /* small ones too, below overflow size */
		if (put(c, "r", (uint64_t)i, lens[i], (uint64_t)i + 1000) != 0)
			fails++;
		if (file_size(dir, "data.mdb") > (off_t)(budget + chunk))
			over++;
	}
	TAP_EQ_INT(fails, 0, "300 random-size puts succeed");
	TAP_EQ_INT(over, 0, "data.mdb never above budget + one chunk");
	for (i = 0; i < 300; i++) {
		int h = has(c, "r", (uint64_t)i, lens[i], (uint64_t)i + 1000);

		present += h == 1;
		wrong += h < 0;
	}
	TAP_EQ_INT(wrong, 0, "every hit returns the right bytes");
	TAP_OK(present >= 10, "%d chunks held", present);
	TAP_EQ_INT(cache_check(c), 0, "check clean");
	cache_close(c);
}

/* Many small metadata entries: B-tree pages, not overflow pages, fill the store. */
static void test_small_entries(void)
{
	const uint64_t budget = 1 << 20;
	char dir[600], key[64], val[700], *v;
	struct cache *c;
	int i, fails = 0, over = 0, wrong = 0, present = 0, holes = 0;
	size_t len;

	sub(dir, sizeof(dir), "small");
	TAP_EQ_INT(open_dir(&c, dir, budget, 64 << 10), 0, "open 1 MiB budget");
	for (i = 0; i < 6000; i++) {
		snprintf(key, sizeof(key), "dir/%d/file.json", i);
		fill(val, (size_t)(i % 700), (uint64_t)i);
		if (cache_kv_put(c, i % 3 ? CACHE_META : CACHE_LIST, key, val, (size_t)(i % 700)))
			fails++;
		if (file_size(dir, "data.mdb") > (off_t)(budget + (64 << 10)))
			over++;
	}
	TAP_EQ_INT(fails, 0, "6000 small puts succeed");
	TAP_EQ_INT(over, 0, "data.mdb never above budget + one chunk");
	for (i = 0; i < 6000; i++) {
		snprintf(key, sizeof(key), "dir/%d/file.json", i);
		if (cache_kv_get(c, i % 3 ? CACHE_META : CACHE_LIST, key, &v, &len, NULL) == 0) {
			present++;
			wrong += len != (size_t)(i % 700) || !same(v, len, (uint64_t)i);
			free(v);
		} else if (present) {
			holes++;
		}
	}
	TAP_EQ_INT(wrong, 0, "every hit returns the right value");
	TAP_OK(present > 300 && holes == 0, "%d entries held, the newest ones", present);
	TAP_EQ_INT(cache_check(c), 0, "check clean");
	cache_close(c);
}

struct conc {
	struct cache *c;
	int nidx;
	volatile int done;
	int wrong, hits, errors;
	pthread_mutex_t lock;
};

#define CONC_LEN(i) ((size_t)(64 << 10) + (size_t)(i)*37)

/* Half the reads take the whole chunk, half a random range of it. */
static void *conc_reader(void *arg)
{
	struct conc *t = arg;
	unsigned char *buf = malloc(256 << 10), *want = malloc(256 << 10);
	unsigned int r = (unsigned int)(uintptr_t)pthread_self();
	int wrong = 0, hits = 0, errors = 0;

	while (!__atomic_load_n(&t->done, __ATOMIC_ACQUIRE)) {
		r = r * 1103515245u + 12345u;
		uint64_t i = (r >> 8) % (uint64_t)t->nidx;
		struct cache_key k = key("conc", "\"0x1\"", i);
		size_t len = CONC_LEN(i), want_n = len;
		uint64_t off = 0;
		ssize_t n;

		if (r & 0x10000) {
			r = r * 1103515245u + 12345u;
			off = (r >> 8) % len;
			r = r * 1103515245u + 12345u;
			want_n = (r >> 8) % (len - off + 1);
			n = cache_get_range(t->c, &k, off, buf, want_n);
		} else {
			n = cache_get_chunk(t->c, &k, buf, 256 << 10);
		}
		if (n >= 0) {
			hits++;
			fill(want, len, i);
			if ((size_t)n != want_n || memcmp(buf, want + off, want_n) != 0)
				wrong++;
		} else if (n != -ENOENT) {
			errors++;
		}
	}
	pthread_mutex_lock(&t->lock);
	t->wrong += wrong;
	t->hits += hits;
	t->errors += errors;
	pthread_mutex_unlock(&t->lock);
	free(buf);
	free(want);
	return NULL;
}

static void test_concurrent(void)
{
	char dir[600];
	struct conc t = {.nidx = 120, .lock = PTHREAD_MUTEX_INITIALIZER};
	pthread_t th[8];
	int i, fails = 0;

	sub(dir, sizeof(dir), "conc");
	TAP_EQ_INT(open_dir(&t.c, dir, 4 << 20, 256 << 10), 0, "open 4 MiB budget");
	for (i = 0; i < 8; i++)
		pthread_create(&th[i], NULL, conc_reader, &t);
	for (i = 0; i < 3 * t.nidx; i++) {
		uint64_t idx = (uint64_t)(i % t.nidx);

		if (put(t.c, "conc", idx, CONC_LEN(idx), idx) != 0)
			fails++;
	}
	__atomic_store_n(&t.done, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	TAP_EQ_INT(fails, 0, "writer: %d puts with evictions under 8 readers", 3 * t.nidx);
	TAP_EQ_INT(t.wrong, 0, "readers: no wrong bytes in %d hits", t.hits);
	TAP_EQ_INT(t.errors, 0, "readers: no errors");
	TAP_OK(t.hits > 0, "readers hit");
	TAP_OK(file_size(dir, "data.mdb") <= (off_t)((4 << 20) + (256 << 10)), "budget held");
	TAP_EQ_INT(cache_check(t.c), 0, "check clean");
	cache_close(t.c);
}

/* Open the store with LMDB alone and mdb_stat every database. */
static int lmdb_stat_all(const char *dir)
{
	static const char *const names[] = {"chunk", "meta", "list",  "ent",
	                                    "lru",   "blob", "names", "info"};
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_stat st;
	int rc, i;

	mdb_env_create(&env);
	mdb_env_set_maxdbs(env, 8);
	rc = mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0600);
	if (rc == 0)
		rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	for (i = 0; rc == 0 && i < 8; i++) {
		rc = mdb_dbi_open(txn, names[i], 0, &dbi);
		if (rc == 0)
			rc = mdb_stat(txn, dbi, &st);
	}
	if (rc == 0)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc;
}

/*
 * A child puts chunks in a loop and reports each acknowledged put through a
 * pipe; the parent kills it with SIGKILL at a random point. With a large
 * budget every acknowledged chunk must be there; with a small one (evictions
 * under way when killed) the newest must be, and nothing may be wrong.
 */
static void kill9_rounds(const char *name, uint64_t budget, int evicting)
{
	const uint32_t chunk = 64 << 10;
	char dir[600];
	struct cache *c;
	uint64_t next = 0;
	int round, ok_all = 1;

	sub(dir, sizeof(dir), name);
	for (round = 0; round < 3; round++) {
		int fd[2], wrong = 0, missing = 0;
		pid_t pid;
		uint64_t acked = next, v;

		if (pipe(fd) < 0)
			break;
		pid = fork();
		if (pid == 0) {
			/* The child owns its env; the parent has none open across fork. */
			close(fd[0]);
			if (open_dir(&c, dir, budget, chunk) != 0)
				_exit(2);
			for (uint64_t i = next;; i++) {
				size_t len = chunk - (size_t)(i % 7) * 1000;

				if (put(c, "k", i, len, i) != 0)
					_exit(3);
				if (write(fd[1], &i, sizeof(i)) != sizeof(i))
					_exit(4);
			}
		}
		close(fd[1]);
		int want = 20 + rand() % 40;

		for (int got = 0; got < want && read(fd[0], &v, sizeof(v)) == sizeof(v); got++)
			acked = v + 1;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		while (read(fd[0], &v, sizeof(v)) == sizeof(v))
			acked = v + 1;
		close(fd[0]);
		if (acked <= next)
			ok_all = 0;
		TAP_EQ_INT(lmdb_stat_all(dir), 0, "%s round %d: mdb_stat clean after kill -9", name,
		           round);
		TAP_EQ_INT(open_dir(&c, dir, budget, chunk), 0, "%s round %d: reopen", name, round);
		TAP_EQ_INT(cache_check(c), 0, "%s round %d: cache_check clean", name, round);
		for (uint64_t i = 0; i < acked; i++) {
			size_t len = chunk - (size_t)(i % 7) * 1000;
			int h = has(c, "k", i, len, i);

			wrong += h < 0;
			missing += h == 0;
		}
		TAP_EQ_INT(wrong, 0, "%s round %d: no wrong bytes in %llu acknowledged chunks",
		           name, round, (unsigned long long)acked);
		if (evicting) {
			size_t len = chunk - (size_t)((acked - 1) % 7) * 1000;

			TAP_OK(missing > 0, "%s round %d: evictions happened (%d)", name, round,
			       missing);
			TAP_EQ_INT(has(c, "k", acked - 1, len, acked - 1), 1,
			           "%s round %d: the newest acknowledged chunk is there", name,
			           round);
		} else {
			TAP_EQ_INT(missing, 0, "%s round %d: all acknowledged chunks there", name,
			           round);
		}
		cache_close(c);
		next = acked;
	}
	TAP_OK(ok_all, "%s: the child made progress every round", name);
}

static void test_kill9(void)
{
	kill9_rounds("kill", 64 << 20, 0);
	kill9_rounds("killevict", 1 << 20, 1);
}

static double secs(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void test_throughput(void)
{
	static const uint32_t sizes[] = {4u << 20, 8u << 20};
	char dir[600];
	struct cache *c;
	struct timespec t0, t1;
	unsigned char *buf, *got;
	int ok = 1;

	for (int s = 0; s < 2; s++) {
		const uint32_t chunk = sizes[s];
		const int nchunks = 16;

		snprintf(dir, sizeof(dir), "%s/bench%d", root, s);
		if (open_dir(&c, dir, 256ull << 20, chunk) != 0) {
			ok = 0;
			continue;
		}
		buf = malloc(chunk);
		got = malloc(chunk);
		fill(buf, chunk, 99);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int i = 0; i < nchunks; i++) {
			struct cache_key k = key("bench", "\"0x1\"", (uint64_t)i);

			buf[0] = (unsigned char)i;
			ok &= cache_put_chunk(c, &k, buf, chunk) == 0;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("# put %u MiB: %.0f MiB/s\n", chunk >> 20,
		       (double)nchunks * (chunk >> 20) / secs(&t0, &t1));
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int rep = 0; rep < 2; rep++)
			for (int i = 0; i < nchunks; i++) {
				struct cache_key k = key("bench", "\"0x1\"", (uint64_t)i);

				ok &= cache_get_chunk(c, &k, got, chunk) == (ssize_t)chunk &&
				      got[0] == (unsigned char)i;
			}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("# get %u MiB: %.0f MiB/s\n", chunk >> 20,
		       2.0 * nchunks * (chunk >> 20) / secs(&t0, &t1));
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int j = 0; j < 20000; j++) {
			struct cache_key k = key("bench", "\"0x1\"", (uint64_t)(j % nchunks));
			uint64_t off = (uint64_t)j * 2654435761u % (chunk / 4096) * 4096;

			ok &= cache_get_range(c, &k, off, got, 4096) == 4096;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("# random 4 KiB get_range in %u MiB chunks: %.0f ops/s\n", chunk >> 20,
		       20000 / secs(&t0, &t1));
		cache_close(c);

		/* Steady state of a full cache: every put evicts first (two commits). */
		snprintf(dir, sizeof(dir), "%s/benchfull%d", root, s);
		if (open_dir(&c, dir, 6ull * chunk, chunk) != 0) {
			ok = 0;
			free(buf);
			free(got);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int i = 0; i < nchunks; i++) {
			struct cache_key k = key("bench", "\"0x1\"", (uint64_t)i);

			ok &= cache_put_chunk(c, &k, buf, chunk) == 0;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("# put %u MiB into a full cache: %.0f MiB/s\n", chunk >> 20,
		       (double)nchunks * (chunk >> 20) / secs(&t0, &t1));
		free(buf);
		free(got);
		cache_close(c);
	}
	TAP_OK(ok, "throughput runs read back what they wrote");
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(root, sizeof(root), "%s/test_cache.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	srand((unsigned int)time(NULL) ^ (unsigned int)getpid());
	test_dirs();
	test_roundtrip();
	test_kv();
	test_checksum();
	test_range();
	test_range_lru();
	test_range_corrupt();
	test_old_format();
	test_state();
	test_lru_budget();
	test_random_sizes();
	test_small_entries();
	test_concurrent();
	test_kill9();
	if (!getenv("CACHE_TEST_NO_BENCH"))
		test_throughput();
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
