/*
 * cache.c - the persistent LMDB cache: dataset chunks, metadata, listings.
 *
 * The one design decision: LMDB itself enforces the byte budget. The map size
 * is budget + one chunk and LMDB never writes past its map, so data.mdb can
 * never outgrow that, whatever is read. Inside the map we account the bytes
 * (whole overflow pages) each entry occupies and, before a put, evict least
 * recently used entries in their own committed transaction until the
 * accounted total plus the new entry fits under budget minus a reserve for
 * B-tree and freelist pages. That eviction must commit first because LMDB
 * reuses pages freed by transaction N only from transaction N+2 on, and only
 * once no reader still sees them; the extra chunk in the map is the room for
 * the pages in that limbo; the accounting also keeps one more chunk free so
 * that a reader preempted inside its short read transaction rarely blocks a
 * put. MDB_MAP_FULL remains the backstop (pinned pages, a freelist too
 * fragmented for a contiguous overflow run): back off for readers, commit a
 * transaction of its own (which advances the txn id so earlier frees become
 * usable), evicting one more entry when no reader is active, and retry for
 * at most 3 s before giving up with -ENOSPC.
 *
 * Databases (keys are fixed-size binary, far below LMDB's 511-byte limit):
 *   chunk, meta, list  id -> header + tuple + block CRCs + payload (immutable once put)
 *   ent   type + id -> {tick, accounted bytes, payload bytes}
 *   lru   big-endian tick + type + id -> "" (first key = least recently used)
 *   blob  id hash -> {bytes, chunks, name hash} of one (blob, ETag)
 *   names name hash + id hash -> "": the cached versions of one blob
 *   info  "totals" -> format, tick counter and the accounting
 * id = SHA-256 of the tuple + big-endian chunk index. The chunk tuple is
 * (chunk size, account, container, blob, ETag), length-prefixed, so all chunks
 * of one blob version share a 32-byte prefix and a changed chunk size never
 * aliases old chunks. The full tuple sits in the value and is compared on
 * every read, so a hash collision is a miss, never wrong bytes.
 *
 * Checksums (format 4): the payload is cut into 4 KiB blocks with one
 * CRC-32C each, stored as an array after the tuple, and the header carries a
 * CRC-32C of header, tuple and that array. A read checks the header CRC and
 * then only the blocks it returns, so a 4 KiB read reads and verifies one or
 * two pages, not the whole chunk. Format 3 had 64 KiB blocks: a warm 4 KiB
 * random read out of the page cache then read 64 KiB from the disk (about
 * twice the latency of the 4 KiB the local file reads); the array is now 2 KiB
 * per MiB of payload, read and checked with the header on each read. Any mismatch drops the entry
 * and reports a miss; bytes of a block that was not verified are never returned. A store written in
 * another format is emptied on open.
 *
 * Values are read through the file, not the map. Inside the read transaction
 * lmdb_layout_offset gives a value's offset in data.mdb, and pread(2) copies
 * it from there into the caller's buffer: LMDB writes that file with pwrite,
 * the page cache is coherent with the map, and the open transaction keeps
 * the pages from being reused until the copy is done. This gets the kernel's
 * file read-ahead instead of a page fault per 64 KiB, and leaves no payload
 * pages mapped in the daemon (they would count in its RSS); only B-tree pages
 * are read through the map. tests/bench/bench_cache_read.c measures it
 * against LMDB's public API alone: mdb_get and memcpy from the map, which then
 * has to give the pages back with MADV_DONTNEED (without that the daemon's
 * RSS grows to the size of the store), at best with MADV_POPULATE_READ before
 * the copy. Against that best variant, medians of per-run ratios over 8
 * invocations (7-9 runs each, 4 and 8 MiB values, 512 MiB store, 2 cores):
 * sequential reads 1.05-3.5x as fast with data.mdb out of the page cache and
 * 0.94-1.28x (the same) in it; random 4 KiB reads (16,000 a run) 1.3-1.5x
 * as fast in the page cache and 0.73-0.85x out of it. A warm read after a
 * remount is the sequential read out of the page cache, so pread stays.
 * What this and the budget accounting rely on from LMDB beyond lmdb.h (where
 * the map is, how many pages a value takes, unmapping fault-around pages
 * after a put) is in cache/lmdb_layout.{c,h}, and
 * tests/unit/test_cache_layout.c fails if it stops holding for the LMDB
 * linked.
 *
 * LRU order survives restarts: the tick lives in ent and lru. A hit does not
 * write; it queues a touch only when the entry is no longer among the newest
 * eighth of ticks. Queued touches are applied by the next put, by a hit
 * that finds 64 queued or the oldest 2 s old, and at close; a kill -9 loses
 * only them (a slightly stale order, never wrong bytes).
 *
 * Durability: MDB_NOSYNC, and the store is disposable across a crash of the
 * system. A put that waited for fdatasync (8 MiB to the disk every time)
 * held a cold read to the disk's synchronous write speed: the put path
 * alone ran at ~1.5 GiB/s with the sync and ~6 GiB/s without. A kill -9 of
 * the daemon loses nothing (committed pages are in the page cache, and
 * LMDB's meta page is written after the pages it points to). What a power
 * loss or kernel crash could leave is a torn B-tree, so the "state" file
 * records "open BOOT-ID" while the store is in use and "clean" after the
 * last user synced and closed it; a store found neither clean nor open in
 * this boot is deleted at open. A cache may forget, it must never hand out
 * wrong bytes, and the checksums guard the payloads.
 *
 * Threads: MDB_NOTLS, one short read transaction per call; values are copied
 * out before the transaction ends. Our writers serialise on c->wlock (LMDB
 * would serialise them anyway; the lock also makes evict-then-put atomic
 * with respect to our other writers).
 */
#include "cache/cache.h"

#include "base/clock.h"
#include "base/log.h"
#include "cache/crc32c.h"
#include "cache/lmdb_layout.h"

#include <errno.h>
#include <lmdb.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define CACHE_FORMAT       4
#define CACHE_MAGIC        0x3243474du /* "MGC2" */
#define CACHE_BLOCK        (4u << 10)  /* payload bytes covered by one block CRC */
#define CACHE_HASH         32
#define CACHE_ID           (CACHE_HASH + 8) /* hash + big-endian index */
#define CACHE_EKEY         (1 + CACHE_ID)   /* type + id: key of ent */
#define CACHE_LKEY         (8 + CACHE_EKEY) /* big-endian tick + ekey: key of lru */
#define CACHE_TUPLE_MAX    4096             /* cap on the names of one key together */
#define CACHE_CHUNK_MAX    (256u << 20)
#define CACHE_PEND_MAX     64
#define CACHE_PEND_AGE_S   2
#define CACHE_ROOM_WAIT_MS 3000 /* how long a put waits for readers to release pages */
/* Bytes of one entry outside its value: ent, lru and leaf nodes, with page slack. */
#define CACHE_ENTRY_OVERHEAD 512

enum cache_type { T_CHUNK = 0, T_META = 1, T_LIST = 2, T_NTYPES = 3 };

static const char *const cache_dbname[T_NTYPES] = {"chunk", "meta", "list"};

/* On-disk value header, native byte order (the store never leaves the host). */
struct cache_hdr {
	uint32_t magic;
	uint32_t crc; /* CRC-32C of the header after this field, the tuple and the block CRCs */
	uint32_t tuple_len;
	uint32_t type;
	uint64_t index;
	uint64_t len;
	int64_t stored_at;
};

struct cache_ent {
	uint64_t tick;
	uint64_t acct; /* bytes this entry is accounted for */
	uint64_t len;  /* payload bytes */
};

struct cache_bcount {
	uint64_t bytes;
	uint64_t chunks;
	unsigned char name[CACHE_HASH]; /* hash of the tuple without the ETag: the names key */
};

struct cache_totals {
	uint32_t format;
	uint32_t pad;
	uint64_t tick; /* last tick handed out */
	uint64_t acct;
	uint64_t payload; /* chunk payload bytes */
	uint64_t chunks;
	uint64_t entries; /* chunks + kv entries */
};

/* One key, serialised: what is hashed, compared and stored. */
struct cache_ref {
	int type;
	uint64_t index;
	size_t tuple_len;
	size_t name_len;                /* chunks: the tuple up to the ETag */
	unsigned char ekey[CACHE_EKEY]; /* type, SHA-256(tuple), BE index; ekey + 1 = id */
	unsigned char tuple[CACHE_TUPLE_MAX];
};

struct cache {
	MDB_env *env;
	dev_t dev; /* of the directory: one open handle per store and process */
	ino_t ino;
	struct cache *next; /* protected by cache_open_lock */
	MDB_dbi data[T_NTYPES], ent, lru, blob, names, info;
	uint64_t budget, limit;
	uint32_t chunk_size;
	size_t psize;
	struct lmdb_layout lay; /* where values lie and what they occupy; fixed while open */
	int fd;                 /* data.mdb, LMDB's descriptor: values are pread from it */
	int sfd;                /* state.lock: shared flock while open */
	char *dir;
	pthread_mutex_t wlock; /* serialises our write transactions; taken before plock */
	pthread_mutex_t plock;
	unsigned char pend[CACHE_PEND_MAX][CACHE_EKEY]; /* protected by plock */
	int npend;                                      /* protected by plock */
	time_t pend_since;                              /* protected by plock */
	int nreaders;                                   /* our open read transactions; atomic */
	/* Counters: relaxed atomics. */
	uint64_t hits, misses, evictions, checksum_failures, bytes_read, bytes_written, touches;
};

#define cache_count(c, field, n) __atomic_add_fetch(&(c)->field, (n), __ATOMIC_RELAXED)

static int cache_disk_full_told;

/* The one place LMDB codes become errno values. */
static int cache_errno(int rc, const char *what)
{
	switch (rc) {
	case 0:
		return 0;
	case MDB_NOTFOUND:
		return -ENOENT;
	case MDB_MAP_FULL:
		return -ENOSPC;
	case ENOSPC:
	case EDQUOT:
		/* The disk, not the budget: say so once per process, then just do not cache. */
		if (!__atomic_exchange_n(&cache_disk_full_told, 1, __ATOMIC_RELAXED))
			log_warn("cache: %s: %s; not caching until space is freed", what,
			         strerror(rc));
		return -ENOSPC;
	case ENOMEM:
		return -ENOMEM;
	default:
		log_err("cache: %s: %s", what, mdb_strerror(rc));
		return -EIO;
	}
}

static void cache_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t cache_rd_be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static MDB_val cache_val(const void *p, size_t n)
{
	MDB_val v = {.mv_size = n, .mv_data = (void *)(uintptr_t)p};

	return v;
}

/* ---- keys ---- */

static int cache_tuple_add(struct cache_ref *r, const void *p, size_t n)
{
	if (n > CACHE_TUPLE_MAX - r->tuple_len)
		return -EINVAL;
	memcpy(r->tuple + r->tuple_len, p, n);
	r->tuple_len += n;
	return 0;
}

static int cache_tuple_str(struct cache_ref *r, const char *s)
{
	uint32_t n;

	if (!s)
		return -EINVAL;
	n = (uint32_t)strnlen(s, CACHE_TUPLE_MAX);
	if (cache_tuple_add(r, &n, sizeof(n)) < 0)
		return -EINVAL;
	return cache_tuple_add(r, s, n);
}

static void cache_ref_finish(struct cache_ref *r)
{
	r->ekey[0] = (unsigned char)r->type;
	SHA256(r->tuple, r->tuple_len, r->ekey + 1);
	cache_be64(r->ekey + 1 + CACHE_HASH, r->index);
}

static int cache_ref_chunk(struct cache_ref *r, const struct cache *c, const char *account,
                           const char *container, const char *blob, const char *etag,
                           uint64_t index)
{
	const char tag = 'C';

	r->type = T_CHUNK;
	r->index = index;
	r->tuple_len = 0;
	if (cache_tuple_add(r, &tag, 1) < 0 ||
	    cache_tuple_add(r, &c->chunk_size, sizeof(c->chunk_size)) < 0 ||
	    cache_tuple_str(r, account) < 0 || cache_tuple_str(r, container) < 0 ||
	    cache_tuple_str(r, blob) < 0)
		return -EINVAL;
	r->name_len = r->tuple_len;
	if (cache_tuple_str(r, etag) < 0)
		return -EINVAL;
	cache_ref_finish(r);
	return 0;
}

static int cache_ref_kv(struct cache_ref *r, enum cache_db db, const char *key)
{
	const char tag = db == CACHE_LIST ? 'L' : 'M';

	if ((db != CACHE_META && db != CACHE_LIST) || !key)
		return -EINVAL;
	r->type = db == CACHE_LIST ? T_LIST : T_META;
	r->index = 0;
	r->tuple_len = 0;
	r->name_len = 0;
	if (cache_tuple_add(r, &tag, 1) < 0 ||
	    cache_tuple_add(r, key, strnlen(key, CACHE_TUPLE_MAX)) < 0)
		return -EINVAL;
	cache_ref_finish(r);
	return 0;
}

static uint64_t cache_nblocks(uint64_t len)
{
	return (len + CACHE_BLOCK - 1) / CACHE_BLOCK;
}

/* Bytes of a value before its payload: header, tuple, one CRC per block. */
static size_t cache_prefix_len(size_t tuple_len, uint64_t len)
{
	return sizeof(struct cache_hdr) + tuple_len + (size_t)cache_nblocks(len) * sizeof(uint32_t);
}

/* Bytes an LMDB value of vsize bytes occupies, plus the entry's small records. */
static uint64_t cache_acct(const struct cache *c, size_t vsize)
{
	return lmdb_layout_bytes(&c->lay, CACHE_ID, vsize) + CACHE_ENTRY_OVERHEAD;
}

static void cache_lkey(unsigned char *lkey, uint64_t tick, const unsigned char *ekey)
{
	cache_be64(lkey, tick);
	memcpy(lkey + 8, ekey, CACHE_EKEY);
}

/* A growable array of fixed-size keys, collected during a walk and acted on after. */
struct cache_keys {
	unsigned char *k;
	size_t n, cap, size;
};

static int cache_keys_add(struct cache_keys *l, const void *key)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		void *p = realloc(l->k, cap * l->size);

		if (!p)
			return ENOMEM;
		l->k = p;
		l->cap = cap;
	}
	memcpy(l->k + l->n++ * l->size, key, l->size);
	return 0;
}

static const unsigned char *cache_keys_at(const struct cache_keys *l, size_t i)
{
	return l->k + i * l->size;
}

/* Read transactions are counted so a waiting writer knows whether readers pin pages. */
static int cache_read_begin(struct cache *c, MDB_txn **txn)
{
	int rc;

	__atomic_add_fetch(&c->nreaders, 1, __ATOMIC_ACQ_REL);
	rc = mdb_txn_begin(c->env, NULL, MDB_RDONLY, txn);
	if (rc)
		__atomic_sub_fetch(&c->nreaders, 1, __ATOMIC_ACQ_REL);
	return rc;
}

static void cache_read_end(struct cache *c, MDB_txn *txn)
{
	mdb_txn_abort(txn);
	__atomic_sub_fetch(&c->nreaders, 1, __ATOMIC_ACQ_REL);
}

/* ---- records inside a write transaction ---- */

static int cache_totals_get(struct cache *c, MDB_txn *txn, struct cache_totals *t)
{
	MDB_val k = cache_val("totals", 6), v;
	int rc = mdb_get(txn, c->info, &k, &v);

	memset(t, 0, sizeof(*t));
	if (rc == MDB_NOTFOUND) {
		t->format = CACHE_FORMAT;
		return 0;
	}
	if (rc)
		return rc;
	memcpy(t, v.mv_data, v.mv_size < sizeof(*t) ? v.mv_size : sizeof(*t));
	return 0;
}

static int cache_totals_put(struct cache *c, MDB_txn *txn, const struct cache_totals *t)
{
	MDB_val k = cache_val("totals", 6), v = cache_val(t, sizeof(*t));

	return mdb_put(txn, c->info, &k, &v, 0);
}

static int cache_get_ent(struct cache *c, MDB_txn *txn, const unsigned char *ekey,
                         struct cache_ent *e)
{
	MDB_val k = cache_val(ekey, CACHE_EKEY), v;
	int rc = mdb_get(txn, c->ent, &k, &v);

	if (rc)
		return rc;
	if (v.mv_size != sizeof(*e))
		return MDB_CORRUPTED;
	memcpy(e, v.mv_data, sizeof(*e));
	return 0;
}

static int cache_del_ok(int rc)
{
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * Add to the per-version counts of blob version `vhash`. A new version is
 * also entered in names under `name` (hash of the tuple without the ETag),
 * and a version whose count drops to zero leaves both.
 */
static int cache_blob_add(struct cache *c, MDB_txn *txn, const unsigned char *vhash,
                          const unsigned char *name, int64_t bytes, int64_t chunks)
{
	unsigned char nkey[2 * CACHE_HASH];
	MDB_val k = cache_val(vhash, CACHE_HASH), v;
	struct cache_bcount b;
	int rc = mdb_get(txn, c->blob, &k, &v), fresh = rc == MDB_NOTFOUND;

	memset(&b, 0, sizeof(b));
	if (rc == 0 && v.mv_size == sizeof(b))
		memcpy(&b, v.mv_data, sizeof(b));
	else if (rc && !fresh)
		return rc;
	if (fresh && name)
		memcpy(b.name, name, CACHE_HASH);
	b.bytes += (uint64_t)bytes;
	b.chunks += (uint64_t)chunks;
	memcpy(nkey, b.name, CACHE_HASH);
	memcpy(nkey + CACHE_HASH, vhash, CACHE_HASH);
	if (b.chunks == 0 || (int64_t)b.chunks < 0) {
		rc = cache_del_ok(mdb_del(txn, c->blob, &k, NULL));
		k = cache_val(nkey, sizeof(nkey));
		if (rc == 0 && !fresh)
			rc = cache_del_ok(mdb_del(txn, c->names, &k, NULL));
		return rc;
	}
	v = cache_val(&b, sizeof(b));
	rc = mdb_put(txn, c->blob, &k, &v, 0);
	k = cache_val(nkey, sizeof(nkey));
	v = cache_val("", 0);
	if (rc == 0 && fresh)
		rc = mdb_put(txn, c->names, &k, &v, 0);
	return rc;
}

/*
 * Remove every record of one entry, found through its ent record; an entry
 * without one is not an error (nothing is removed). Updates *t, which the
 * caller writes.
 */
static int cache_entry_remove(struct cache *c, MDB_txn *txn, const unsigned char *ekey,
                              struct cache_totals *t)
{
	unsigned char lkey[CACHE_LKEY];
	struct cache_ent e;
	MDB_val k;
	int type = ekey[0], rc;

	if (type >= T_NTYPES)
		return MDB_CORRUPTED;
	rc = cache_get_ent(c, txn, ekey, &e);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return rc;
	k = cache_val(ekey + 1, CACHE_ID);
	rc = cache_del_ok(mdb_del(txn, c->data[type], &k, NULL));
	if (rc)
		return rc;
	k = cache_val(ekey, CACHE_EKEY);
	rc = mdb_del(txn, c->ent, &k, NULL);
	if (rc)
		return rc;
	cache_lkey(lkey, e.tick, ekey);
	k = cache_val(lkey, CACHE_LKEY);
	rc = cache_del_ok(mdb_del(txn, c->lru, &k, NULL));
	if (rc)
		return rc;
	t->acct -= e.acct < t->acct ? e.acct : t->acct;
	t->entries -= t->entries ? 1 : 0;
	if (type == T_CHUNK) {
		t->payload -= e.len < t->payload ? e.len : t->payload;
		t->chunks -= t->chunks ? 1 : 0;
		rc = cache_blob_add(c, txn, ekey + 1, NULL, -(int64_t)e.len, -1);
	}
	return rc;
}

/* Evict the least recently used entry. Returns 0, MDB_NOTFOUND if none. */
static int cache_evict_one(struct cache *c, MDB_txn *txn, struct cache_totals *t)
{
	unsigned char ekey[CACHE_EKEY];
	struct cache_ent e;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	rc = mdb_cursor_open(txn, c->lru, &cur);
	if (rc)
		return rc;
	rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	if (rc == 0 && k.mv_size != CACHE_LKEY)
		rc = MDB_CORRUPTED;
	if (rc == 0)
		memcpy(ekey, (unsigned char *)k.mv_data + 8, CACHE_EKEY);
	if (rc == 0 &&
	    (cache_get_ent(c, txn, ekey, &e) != 0 || e.tick != cache_rd_be64(k.mv_data))) {
		/* A stray lru record: drop it alone, cache_check counts these. */
		rc = mdb_cursor_del(cur, 0);
		mdb_cursor_close(cur);
		return rc;
	}
	mdb_cursor_close(cur);
	if (rc)
		return rc;
	rc = cache_entry_remove(c, txn, ekey, t);
	if (rc == 0)
		cache_count(c, evictions, 1);
	return rc;
}

/* Apply queued touches: each gets a fresh tick. Caller holds wlock. */
static int cache_touches_apply(struct cache *c, MDB_txn *txn, struct cache_totals *t)
{
	unsigned char pend[CACHE_PEND_MAX][CACHE_EKEY], lkey[CACHE_LKEY];
	struct cache_ent e;
	MDB_val k, v;
	int n, i, rc = 0;

	pthread_mutex_lock(&c->plock);
	n = c->npend;
	memcpy(pend, c->pend, (size_t)n * CACHE_EKEY);
	c->npend = 0;
	pthread_mutex_unlock(&c->plock);
	for (i = 0; i < n && rc == 0; i++) {
		if (cache_get_ent(c, txn, pend[i], &e) != 0)
			continue; /* evicted or dropped since */
		cache_lkey(lkey, e.tick, pend[i]);
		k = cache_val(lkey, CACHE_LKEY);
		rc = cache_del_ok(mdb_del(txn, c->lru, &k, NULL));
		e.tick = ++t->tick;
		cache_lkey(lkey, e.tick, pend[i]);
		v = cache_val("", 0);
		if (rc == 0)
			rc = mdb_put(txn, c->lru, &k, &v, 0);
		k = cache_val(pend[i], CACHE_EKEY);
		v = cache_val(&e, sizeof(e));
		if (rc == 0)
			rc = mdb_put(txn, c->ent, &k, &v, 0);
	}
	if (rc == 0 && n > 0)
		cache_count(c, touches, (uint64_t)n);
	return rc;
}

/*
 * Run fn in one write transaction under wlock, with the totals loaded before
 * and stored after. Returns fn's LMDB code, or the commit's.
 */
typedef int (*cache_txn_fn)(struct cache *c, MDB_txn *txn, struct cache_totals *t, void *arg);

/* Returned by a cache_txn_fn that changed nothing: abort instead of a commit and its sync. */
#define CACHE_NOOP (-1)

static int cache_write_locked(struct cache *c, cache_txn_fn fn, void *arg)
{
	struct cache_totals t;
	MDB_txn *txn;
	int rc;

	rc = mdb_txn_begin(c->env, NULL, 0, &txn);
	if (rc)
		return rc;
	rc = cache_totals_get(c, txn, &t);
	if (rc == 0)
		rc = fn(c, txn, &t, arg);
	if (rc == 0)
		rc = cache_totals_put(c, txn, &t);
	if (rc) {
		mdb_txn_abort(txn);
		return rc == CACHE_NOOP ? 0 : rc;
	}
	return mdb_txn_commit(txn);
}

static int cache_write(struct cache *c, cache_txn_fn fn, void *arg)
{
	int rc;

	pthread_mutex_lock(&c->wlock);
	rc = cache_write_locked(c, fn, arg);
	pthread_mutex_unlock(&c->wlock);
	return rc;
}

static int cache_fn_touch(struct cache *c, MDB_txn *txn, struct cache_totals *t, void *arg)
{
	return cache_touches_apply(c, txn, t);
}

static int cache_fn_remove(struct cache *c, MDB_txn *txn, struct cache_totals *t, void *arg)
{
	return cache_entry_remove(c, txn, arg, t);
}

/* ---- put ---- */

struct cache_put {
	const struct cache_ref *r;
	const void *data;
	size_t len;
	uint64_t acct;
};

/* Make room: queued touches first (they change the order), the old value, then LRU. */
static int cache_fn_room(struct cache *c, MDB_txn *txn, struct cache_totals *t, void *arg)
{
	const struct cache_put *p = arg;
	uint64_t entries = t->entries, tick = t->tick;
	int rc = cache_touches_apply(c, txn, t);

	if (rc == 0)
		rc = cache_entry_remove(c, txn, p->r->ekey, t);
	while (rc == 0 && t->acct + p->acct > c->limit) {
		rc = cache_evict_one(c, txn, t);
		if (rc == MDB_NOTFOUND) {
			rc = 0;
			break;
		}
	}
	if (rc == 0 && t->entries == entries && t->tick == tick)
		return CACHE_NOOP;
	return rc;
}

/* Evict one entry if *arg is set; either way the commit advances the txn id. */
static int cache_fn_evict(struct cache *c, MDB_txn *txn, struct cache_totals *t, void *arg)
{
	int rc = *(int *)arg ? cache_evict_one(c, txn, t) : 0;

	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int cache_fn_put(struct cache *c, MDB_txn *txn, struct cache_totals *t, void *arg)
{
	const struct cache_put *p = arg;
	const struct cache_ref *r = p->r;
	const unsigned char *src = p->data;
	size_t pre = cache_prefix_len(r->tuple_len, p->len), at;
	unsigned char lkey[CACHE_LKEY];
	struct cache_hdr h;
	struct cache_ent e;
	unsigned char *dst, *bcrc;
	MDB_val k, v;
	uint32_t crc;
	int rc;

	rc = cache_entry_remove(c, txn, r->ekey, t); /* another process may have raced us */
	if (rc)
		return rc;
	k = cache_val(r->ekey + 1, CACHE_ID);
	v.mv_size = pre + p->len;
	v.mv_data = NULL;
	rc = mdb_put(txn, c->data[r->type], &k, &v, MDB_RESERVE);
	if (rc)
		return rc;
	dst = v.mv_data;
	memcpy(dst + sizeof(h), r->tuple, r->tuple_len);
	bcrc = dst + sizeof(h) + r->tuple_len;
	for (at = 0; at < p->len; at += CACHE_BLOCK, bcrc += sizeof(crc)) {
		crc = crc32c(0, src + at, p->len - at < CACHE_BLOCK ? p->len - at : CACHE_BLOCK);
		memcpy(bcrc, &crc, sizeof(crc));
	}
	if (p->len)
		memcpy(dst + pre, src, p->len);
	h.magic = CACHE_MAGIC;
	h.tuple_len = (uint32_t)r->tuple_len;
	h.type = (uint32_t)r->type;
	h.index = r->index;
	h.len = p->len;
	h.stored_at = (int64_t)time(NULL);
	h.crc = crc32c(crc32c(0, (const unsigned char *)&h + 8, sizeof(h) - 8), dst + sizeof(h),
	               pre - sizeof(h));
	memcpy(dst, &h, sizeof(h));

	e.tick = ++t->tick;
	e.acct = p->acct;
	e.len = p->len;
	k = cache_val(r->ekey, CACHE_EKEY);
	v = cache_val(&e, sizeof(e));
	rc = mdb_put(txn, c->ent, &k, &v, 0);
	if (rc)
		return rc;
	cache_lkey(lkey, e.tick, r->ekey);
	k = cache_val(lkey, CACHE_LKEY);
	v = cache_val("", 0);
	rc = mdb_put(txn, c->lru, &k, &v, 0);
	if (rc)
		return rc;
	t->acct += p->acct;
	t->entries++;
	if (r->type == T_CHUNK) {
		unsigned char name[CACHE_HASH];

		t->payload += p->len;
		t->chunks++;
		SHA256(r->tuple, r->name_len, name);
		rc = cache_blob_add(c, txn, r->ekey + 1, name, (int64_t)p->len, 1);
	}
	return rc;
}

/*
 * MDB_MAP_FULL after the room was made means the free pages are not usable
 * yet: freed by one of the last two commits, or still seen by a reader (a
 * FUSE thread preempted inside its short read transaction). Back off so
 * readers finish, commit a transaction so the txn id moves on, and evict one
 * more entry only when no reader of ours is active (or every fourth round),
 * so that a slow reader does not empty the cache.
 */
static int cache_put_ref(struct cache *c, const struct cache_ref *r, const void *data, size_t len)
{
	struct cache_put p = {.r = r, .data = data, .len = len};
	int64_t deadline = 0;
	int rc, tries, evict;

	if (len > c->chunk_size)
		return -EFBIG;
	p.acct = cache_acct(c, cache_prefix_len(r->tuple_len, len) + len);
	pthread_mutex_lock(&c->wlock);
	rc = cache_write_locked(c, cache_fn_room, &p);
	for (tries = 0; rc == 0 || rc == MDB_MAP_FULL; tries++) {
		if (rc == 0) {
			rc = cache_write_locked(c, cache_fn_put, &p);
			if (rc != MDB_MAP_FULL)
				break;
		}
		if (tries == 0)
			deadline = clock_ms() + CACHE_ROOM_WAIT_MS;
		else if (clock_ms() > deadline)
			break;
		if (tries >= 2)
			usleep(1000u << (tries < 7 ? tries - 2 : 5));
		evict = __atomic_load_n(&c->nreaders, __ATOMIC_ACQUIRE) == 0 || tries % 4 == 3;
		rc = cache_write_locked(c, cache_fn_evict, &evict);
	}
	pthread_mutex_unlock(&c->wlock);
	if (rc == MDB_MAP_FULL) {
		log_warn("cache: no room for a %zu-byte entry after %d tries", len, tries);
		return -ENOSPC;
	}
	if (rc == 0)
		cache_count(c, bytes_written, len);
	/* Pages of values we wrote, mapped by fault-around next to B-tree pages, would
	 * otherwise pile up in the daemon's RSS (see lmdb_layout_unmap). */
	if (rc == 0 && len >= CACHE_BLOCK)
		lmdb_layout_unmap(&c->lay);
	return cache_errno(rc, "put");
}

/* ---- reading values through the file ---- */

/* preadv until every iov is full, retrying EINTR and short reads. 0 or -EIO (logged). */
static int cache_preadv(const struct cache *c, struct iovec *iov, int n, off_t off)
{
	ssize_t got;

	for (;;) {
		for (; n > 0 && iov->iov_len == 0; iov++)
			n--;
		if (n == 0)
			return 0;
		got = preadv(c->fd, iov, n, off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			log_err("cache: reading data.mdb at %lld: %s", (long long)off,
			        got < 0 ? strerror(errno) : "unexpected end of file");
			return -EIO;
		}
		off += got;
		for (; n > 0 && (size_t)got >= iov->iov_len; iov++, n--)
			got -= (ssize_t)iov->iov_len;
		if (n > 0) {
			iov->iov_base = (unsigned char *)iov->iov_base + got;
			iov->iov_len -= (size_t)got;
		}
	}
}

/* A value being read through the file: where it is, its header, its checked prefix. */
struct cache_rec {
	off_t off; /* of the value in data.mdb */
	struct cache_hdr h;
	unsigned char *pre; /* tuple, then one CRC-32C per block; malloc'd, caller frees */
	size_t payload;     /* offset of the payload in the value */
};

#define CACHE_REC_BAD 1 /* a record fails its layout or a checksum */

/*
 * Read the header, tuple and block CRCs of value v, which should be record
 * (type, index), and verify the header CRC. Returns 0, CACHE_REC_BAD, -EIO or
 * -ENOMEM; rec->pre is to be freed whatever the result. Call inside the
 * transaction that returned v.
 */
static int cache_rec_load(struct cache *c, const MDB_val *v, int type, uint64_t index,
                          struct cache_rec *rec)
{
	struct cache_hdr *h = &rec->h;
	struct iovec iov = {.iov_base = h, .iov_len = sizeof(*h)};
	size_t rest;
	int res;

	rec->pre = NULL;
	res = lmdb_layout_offset(&c->lay, v, &rec->off);
	if (res == 0 && v->mv_size < sizeof(*h))
		res = CACHE_REC_BAD;
	if (res == 0)
		res = cache_preadv(c, &iov, 1, rec->off);
	if (res)
		return res;
	if (h->magic != CACHE_MAGIC || h->type != (uint32_t)type || h->index != index ||
	    h->tuple_len > CACHE_TUPLE_MAX || h->len > CACHE_CHUNK_MAX)
		return CACHE_REC_BAD;
	rec->payload = cache_prefix_len(h->tuple_len, h->len);
	if (v->mv_size != rec->payload + h->len)
		return CACHE_REC_BAD;
	rest = rec->payload - sizeof(*h);
	rec->pre = malloc(rest ? rest : 1);
	if (!rec->pre)
		return -ENOMEM;
	iov.iov_base = rec->pre;
	iov.iov_len = rest;
	res = cache_preadv(c, &iov, 1, rec->off + (off_t)sizeof(*h));
	if (res == 0 && crc32c(crc32c(0, (const unsigned char *)h + 8, sizeof(*h) - 8), rec->pre,
	                       rest) != h->crc)
		res = CACHE_REC_BAD;
	return res;
}

/*
 * Copy payload bytes [off, off + len) of rec into buf (len > 0, inside the
 * payload), reading and verifying every block they touch. The parts of those
 * blocks outside the range are read into a scratch buffer in the same preadv,
 * so each CRC covers exactly the bytes read. Returns 0, CACHE_REC_BAD (*bad is
 * the block), -EIO or -ENOMEM; buf holds nothing usable unless 0. Call inside
 * the transaction rec was loaded in.
 */
static int cache_rec_read(struct cache *c, const struct cache_rec *rec, uint64_t off, void *buf,
                          size_t len, uint64_t *bad)
{
	uint64_t first = off / CACHE_BLOCK, last = (off + len - 1) / CACHE_BLOCK, b;
	uint64_t start = first * CACHE_BLOCK, end = (last + 1) * CACHE_BLOCK;
	struct {
		uint64_t at; /* payload offset of p[0] */
		unsigned char *p;
		size_t n;
	} seg[3];
	struct iovec iov[3];
	unsigned char *scratch = NULL;
	int i, n = 0, res;

	if (end > rec->h.len)
		end = rec->h.len;
	seg[0].at = start;
	seg[0].n = (size_t)(off - start);
	seg[1].at = off;
	seg[1].p = buf;
	seg[1].n = len;
	seg[2].at = off + len;
	seg[2].n = (size_t)(end - off - len);
	if (seg[0].n + seg[2].n) {
		scratch = malloc(seg[0].n + seg[2].n);
		if (!scratch)
			return -ENOMEM;
	}
	seg[0].p = scratch;
	seg[2].p = scratch ? scratch + seg[0].n : NULL;
	for (i = 0; i < 3; i++)
		if (seg[i].n) {
			iov[n].iov_base = seg[i].p;
			iov[n++].iov_len = seg[i].n;
		}
	res = cache_preadv(c, iov, n, rec->off + (off_t)(rec->payload + start));
	for (b = first; res == 0 && b <= last; b++) {
		uint64_t lo = b * CACHE_BLOCK, hi = lo + CACHE_BLOCK < end ? lo + CACHE_BLOCK : end;
		uint32_t crc = 0, want;

		for (i = 0; i < 3; i++) {
			uint64_t from = lo > seg[i].at ? lo : seg[i].at;
			uint64_t to = hi < seg[i].at + seg[i].n ? hi : seg[i].at + seg[i].n;

			if (from < to)
				crc = crc32c(crc, seg[i].p + (from - seg[i].at), to - from);
		}
		memcpy(&want, rec->pre + rec->h.tuple_len + b * sizeof(want), sizeof(want));
		if (crc != want) {
			*bad = b;
			res = CACHE_REC_BAD;
		}
	}
	free(scratch);
	return res;
}

/* ---- get ---- */

/* Queue a touch; flush the queue when it is full or old. */
static void cache_touch(struct cache *c, const unsigned char *ekey)
{
	time_t now = time(NULL);
	int i, flush;

	pthread_mutex_lock(&c->plock);
	for (i = 0; i < c->npend; i++)
		if (memcmp(c->pend[i], ekey, CACHE_EKEY) == 0)
			break;
	if (i == c->npend && c->npend < CACHE_PEND_MAX) {
		if (c->npend == 0)
			c->pend_since = now;
		memcpy(c->pend[c->npend++], ekey, CACHE_EKEY);
	}
	flush = c->npend >= CACHE_PEND_MAX || now - c->pend_since >= CACHE_PEND_AGE_S;
	pthread_mutex_unlock(&c->plock);
	if (flush)
		cache_errno(cache_write(c, cache_fn_touch, NULL), "touch");
}

enum cache_verdict { V_HIT, V_MISS, V_BAD, V_OTHER };

/* What a read asks for: the whole payload, or a range of it. */
struct cache_want {
	int range; /* copy [off, off + len), clipped at the end of the payload */
	uint64_t off;
	size_t len;
	void *buf;
	size_t cap;   /* whole reads into buf: -ERANGE if the payload is longer */
	char **alloc; /* whole reads: a malloc'd NUL-terminated copy instead of buf */
	int64_t *stored_at;
};

/*
 * Look r up and copy what w asks for. Returns the bytes copied, -ENOENT,
 * -ERANGE, -EIO, -ENOMEM. A record failing a checksum is dropped and is a miss.
 */
static ssize_t cache_fetch(struct cache *c, const struct cache_ref *r, const struct cache_want *w)
{
	enum cache_verdict verdict = V_MISS;
	struct cache_rec rec = {.pre = NULL};
	struct cache_totals t;
	struct cache_ent e;
	unsigned char *dst = w->buf;
	uint64_t off = 0, bad = UINT64_MAX;
	size_t n;
	MDB_txn *txn;
	MDB_val k, v;
	ssize_t res = -ENOENT;
	int rc, touch = 0;

	rc = cache_read_begin(c, &txn);
	if (rc)
		return cache_errno(rc, "read txn");
	k = cache_val(r->ekey + 1, CACHE_ID);
	rc = mdb_get(txn, c->data[r->type], &k, &v);
	if (rc) {
		if (rc != MDB_NOTFOUND) {
			verdict = V_OTHER;
			res = cache_errno(rc, "get");
		}
		goto out;
	}
	rc = cache_rec_load(c, &v, r->type, r->index, &rec);
	if (rc) {
		verdict = rc == CACHE_REC_BAD ? V_BAD : V_OTHER;
		res = rc;
		goto out;
	}
	if (rec.h.tuple_len != r->tuple_len || memcmp(rec.pre, r->tuple, r->tuple_len) != 0) {
		log_warn("cache: key hash collision, treated as a miss");
		goto out;
	}
	if (w->range) {
		off = w->off < rec.h.len ? w->off : rec.h.len;
		n = w->len < rec.h.len - off ? w->len : (size_t)(rec.h.len - off);
	} else {
		n = (size_t)rec.h.len;
		if (w->alloc) {
			dst = malloc(n + 1);
			if (!dst) {
				verdict = V_OTHER;
				res = -ENOMEM;
				goto out;
			}
			dst[n] = '\0';
		} else if (n > w->cap) {
			verdict = V_OTHER;
			res = -ERANGE;
			goto out;
		}
	}
	if (n) {
		rc = cache_rec_read(c, &rec, off, dst, n, &bad);
		if (rc) {
			verdict = rc == CACHE_REC_BAD ? V_BAD : V_OTHER;
			res = rc;
			goto out;
		}
	}
	verdict = V_HIT;
	res = (ssize_t)n;
	if (w->stored_at)
		*w->stored_at = rec.h.stored_at;
	/* Touch only entries that left the newest eighth of ticks. */
	if (cache_get_ent(c, txn, r->ekey, &e) == 0 && cache_totals_get(c, txn, &t) == 0)
		touch = t.tick - e.tick > t.entries / 8;
out:
	cache_read_end(c, txn);
	free(rec.pre);
	if (verdict != V_HIT && w->alloc)
		free(dst);
	else if (w->alloc)
		*w->alloc = (char *)dst;
	switch (verdict) {
	case V_HIT:
		cache_count(c, hits, 1);
		cache_count(c, bytes_read, (uint64_t)res);
		if (touch)
			cache_touch(c, r->ekey);
		break;
	case V_BAD:
		cache_count(c, checksum_failures, 1);
		if (bad == UINT64_MAX)
			log_warn(
			    "cache: bad header checksum or layout in a cached %s entry; dropped, "
			    "will refetch",
			    cache_dbname[r->type]);
		else
			log_warn("cache: checksum mismatch in block %llu of a cached %s entry; "
			         "dropped, will refetch",
			         (unsigned long long)bad, cache_dbname[r->type]);
		cache_errno(cache_write(c, cache_fn_remove, (void *)(uintptr_t)r->ekey), "drop");
		/* fall through */
	case V_MISS:
		cache_count(c, misses, 1);
		res = -ENOENT;
		break;
	case V_OTHER:
		break;
	}
	return res;
}

ssize_t cache_get_chunk(struct cache *c, const struct cache_key *k, void *buf, size_t cap)
{
	struct cache_want w = {.buf = buf, .cap = cap};
	struct cache_ref r;

	if (cache_ref_chunk(&r, c, k->account, k->container, k->blob, k->etag, k->index) < 0)
		return -EINVAL;
	return cache_fetch(c, &r, &w);
}

ssize_t cache_get_range(struct cache *c, const struct cache_key *k, uint64_t off, void *buf,
                        size_t len)
{
	struct cache_want w = {.range = 1, .off = off, .len = len, .buf = buf};
	struct cache_ref r;

	if ((!buf && len) ||
	    cache_ref_chunk(&r, c, k->account, k->container, k->blob, k->etag, k->index) < 0)
		return -EINVAL;
	return cache_fetch(c, &r, &w);
}

int cache_put_chunk(struct cache *c, const struct cache_key *k, const void *data, size_t len)
{
	struct cache_ref r;

	if (cache_ref_chunk(&r, c, k->account, k->container, k->blob, k->etag, k->index) < 0)
		return -EINVAL;
	return cache_put_ref(c, &r, data, len);
}

int cache_kv_get(struct cache *c, enum cache_db db, const char *key, char **val, size_t *len,
                 int64_t *stored_at)
{
	struct cache_ref r;
	char *p = NULL;
	int64_t at = 0;
	struct cache_want w = {.alloc = &p, .stored_at = &at};
	ssize_t n;

	if (cache_ref_kv(&r, db, key) < 0)
		return -EINVAL;
	n = cache_fetch(c, &r, &w);
	if (n < 0)
		return (int)n;
	*val = p;
	*len = (size_t)n;
	if (stored_at)
		*stored_at = at;
	return 0;
}

int cache_kv_put(struct cache *c, enum cache_db db, const char *key, const void *val, size_t len)
{
	struct cache_ref r;

	if (cache_ref_kv(&r, db, key) < 0)
		return -EINVAL;
	return cache_put_ref(c, &r, val, len);
}

int cache_kv_del(struct cache *c, enum cache_db db, const char *key)
{
	struct cache_ref r;

	if (cache_ref_kv(&r, db, key) < 0)
		return -EINVAL;
	return cache_errno(cache_write(c, cache_fn_remove, r.ekey), "kv del");
}

/* ---- per-blob ---- */

int64_t cache_blob_bytes(struct cache *c, const char *account, const char *container,
                         const char *blob, const char *etag)
{
	struct cache_bcount b = {.bytes = 0};
	struct cache_ref r;
	MDB_txn *txn;
	MDB_val k, v;
	int rc;

	if (cache_ref_chunk(&r, c, account, container, blob, etag, 0) < 0)
		return -EINVAL;
	rc = cache_read_begin(c, &txn);
	if (rc)
		return cache_errno(rc, "read txn");
	k = cache_val(r.ekey + 1, CACHE_HASH);
	rc = mdb_get(txn, c->blob, &k, &v);
	if (rc == 0 && v.mv_size == sizeof(b))
		memcpy(&b, v.mv_data, sizeof(b));
	cache_read_end(c, txn);
	if (rc && rc != MDB_NOTFOUND)
		return cache_errno(rc, "blob bytes");
	return (int64_t)b.bytes;
}

struct cache_drop {
	unsigned char name[CACHE_HASH];
	const unsigned char *keep; /* version hash to keep, or NULL */
	int64_t dropped;
};

/* Remove every chunk of blob version `vhash`. */
static int cache_drop_version(struct cache *c, MDB_txn *txn, struct cache_totals *t,
                              const unsigned char *vhash, int64_t *dropped)
{
	unsigned char ekey[CACHE_EKEY], seek[CACHE_ID];
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	memcpy(seek, vhash, CACHE_HASH);
	memset(seek + CACHE_HASH, 0, 8);
	ekey[0] = T_CHUNK;
	for (;;) {
		/* Re-seek after each removal rather than delete under an open cursor. */
		rc = mdb_cursor_open(txn, c->data[T_CHUNK], &cur);
		if (rc)
			return rc;
		k = cache_val(seek, CACHE_ID);
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		if (rc == 0 && (k.mv_size != CACHE_ID || memcmp(k.mv_data, vhash, CACHE_HASH)))
			rc = MDB_NOTFOUND;
		if (rc == 0)
			memcpy(ekey + 1, k.mv_data, CACHE_ID);
		mdb_cursor_close(cur);
		if (rc)
			return rc == MDB_NOTFOUND ? 0 : rc;
		rc = cache_entry_remove(c, txn, ekey, t);
		if (rc == 0) {
			/* A record without its ent is left by cache_entry_remove: drop it too. */
			k = cache_val(ekey + 1, CACHE_ID);
			rc = cache_del_ok(mdb_del(txn, c->data[T_CHUNK], &k, NULL));
		}
		if (rc)
			return rc;
		(*dropped)++;
	}
}

static int cache_fn_drop_blob(struct cache *c, MDB_txn *txn, struct cache_totals *t, void *arg)
{
	struct cache_drop *d = arg;
	struct cache_keys vers = {.size = CACHE_HASH};
	unsigned char seek[2 * CACHE_HASH];
	MDB_cursor *cur;
	MDB_val k, v;
	size_t i;
	int rc;

	memcpy(seek, d->name, CACHE_HASH);
	memset(seek + CACHE_HASH, 0, CACHE_HASH);
	rc = mdb_cursor_open(txn, c->names, &cur);
	if (rc)
		return rc;
	k = cache_val(seek, sizeof(seek));
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const unsigned char *vhash = (const unsigned char *)k.mv_data + CACHE_HASH;

		if (k.mv_size != sizeof(seek) || memcmp(k.mv_data, d->name, CACHE_HASH) != 0)
			break;
		if (d->keep && memcmp(vhash, d->keep, CACHE_HASH) == 0)
			continue;
		rc = cache_keys_add(&vers, vhash);
		if (rc)
			break;
	}
	mdb_cursor_close(cur);
	rc = rc == MDB_NOTFOUND ? 0 : rc;
	for (i = 0; i < vers.n && rc == 0; i++)
		rc = cache_drop_version(c, txn, t, cache_keys_at(&vers, i), &d->dropped);
	free(vers.k);
	return rc;
}

int64_t cache_drop_blob(struct cache *c, const char *account, const char *container,
                        const char *blob, const char *keep_etag)
{
	struct cache_drop d = {.dropped = 0};
	struct cache_ref r;
	int rc;

	if (cache_ref_chunk(&r, c, account, container, blob, keep_etag ? keep_etag : "", 0) < 0)
		return -EINVAL;
	SHA256(r.tuple, r.name_len, d.name);
	d.keep = keep_etag ? r.ekey + 1 : NULL;
	rc = cache_write(c, cache_fn_drop_blob, &d);
	if (rc)
		return cache_errno(rc, "drop blob");
	return d.dropped;
}

/* ---- stats ---- */

void cache_get_stats(struct cache *c, struct cache_stats *out)
{
	struct cache_totals t = {0};
	MDB_envinfo info;
	MDB_txn *txn;

	memset(out, 0, sizeof(*out));
	out->hits = __atomic_load_n(&c->hits, __ATOMIC_RELAXED);
	out->misses = __atomic_load_n(&c->misses, __ATOMIC_RELAXED);
	out->evictions = __atomic_load_n(&c->evictions, __ATOMIC_RELAXED);
	out->checksum_failures = __atomic_load_n(&c->checksum_failures, __ATOMIC_RELAXED);
	out->bytes_read = __atomic_load_n(&c->bytes_read, __ATOMIC_RELAXED);
	out->bytes_written = __atomic_load_n(&c->bytes_written, __ATOMIC_RELAXED);
	out->touches = __atomic_load_n(&c->touches, __ATOMIC_RELAXED);
	out->budget = c->budget;
	if (cache_read_begin(c, &txn) == 0) {
		cache_totals_get(c, txn, &t);
		cache_read_end(c, txn);
	}
	out->bytes_used = t.payload;
	out->chunks = t.chunks;
	if (mdb_env_info(c->env, &info) == 0)
		out->store_bytes = (uint64_t)(info.me_last_pgno + 1) * c->psize;
}

/* ---- check ---- */

struct cache_check {
	struct cache_totals sum;
	struct cache_keys bad; /* ekeys */
	int fixes;
	unsigned char *block; /* CACHE_BLOCK bytes to read payloads through */
};

/*
 * Is the data record of ekey whole and matching its key and its ent? Every
 * block is read through the file and verified. Returns 1, 0, or -EIO/-ENOMEM.
 */
static int cache_check_record(struct cache *c, MDB_txn *txn, const unsigned char *ekey,
                              const MDB_val *v, struct cache_ent *e, unsigned char *block)
{
	unsigned char hash[CACHE_HASH];
	struct cache_rec rec;
	uint64_t at, bad;
	int res;

	res = cache_rec_load(c, v, ekey[0], cache_rd_be64(ekey + 1 + CACHE_HASH), &rec);
	if (res == 0) {
		SHA256(rec.pre, rec.h.tuple_len, hash);
		if (memcmp(hash, ekey + 1, CACHE_HASH) != 0 ||
		    cache_get_ent(c, txn, ekey, e) != 0 || e->len != rec.h.len ||
		    e->acct != cache_acct(c, v->mv_size))
			res = CACHE_REC_BAD;
	}
	for (at = 0; res == 0 && at < rec.h.len; at += CACHE_BLOCK)
		res = cache_rec_read(c, &rec, at, block,
		                     rec.h.len - at < CACHE_BLOCK ? rec.h.len - at : CACHE_BLOCK,
		                     &bad);
	free(rec.pre);
	if (res == CACHE_REC_BAD)
		return 0;
	return res < 0 ? res : 1;
}

/* Walk db; call fn on every record. */
static int cache_walk(MDB_txn *txn, MDB_dbi dbi,
                      int (*fn)(struct cache *c, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                                void *arg),
                      struct cache *c, void *arg)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		rc = fn(c, txn, &k, &v, arg);
		if (rc)
			break;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

struct cache_check_data {
	struct cache_check *ck;
	int type;
};

static int cache_check_data_rec(struct cache *c, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                                void *arg)
{
	struct cache_check_data *d = arg;
	unsigned char ekey[CACHE_EKEY], lkey[CACHE_LKEY];
	struct cache_ent e;
	MDB_val lk, lv;
	int rc;

	ekey[0] = (unsigned char)d->type;
	if (k->mv_size != CACHE_ID) {
		/* Not a key we write; cannot be removed through an ekey. */
		log_warn("cache: check: foreign key in %s", cache_dbname[d->type]);
		d->ck->fixes++;
		return 0;
	}
	memcpy(ekey + 1, k->mv_data, CACHE_ID);
	rc = cache_check_record(c, txn, ekey, v, &e, d->ck->block);
	if (rc < 0)
		return -rc; /* an errno for cache_errno */
	if (rc == 0)
		return cache_keys_add(&d->ck->bad, ekey);
	/* A good entry that lost its place in the LRU gets it back. */
	cache_lkey(lkey, e.tick, ekey);
	lk = cache_val(lkey, CACHE_LKEY);
	if (mdb_get(txn, c->lru, &lk, &lv) == MDB_NOTFOUND) {
		d->ck->fixes++;
		lv = cache_val("", 0);
		rc = mdb_put(txn, c->lru, &lk, &lv, 0);
		if (rc)
			return rc;
	}
	d->ck->sum.acct += e.acct;
	d->ck->sum.entries++;
	if (e.tick > d->ck->sum.tick)
		d->ck->sum.tick = e.tick;
	if (d->type == T_CHUNK) {
		d->ck->sum.payload += e.len;
		d->ck->sum.chunks++;
	}
	return 0;
}

/* ent records whose data record is missing. */
static int cache_check_ent_rec(struct cache *c, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                               void *arg)
{
	struct cache_check *ck = arg;
	const unsigned char *ekey = k->mv_data;
	MDB_val dk, dv;

	if (k->mv_size != CACHE_EKEY || ekey[0] >= T_NTYPES ||
	    v->mv_size != sizeof(struct cache_ent))
		return MDB_CORRUPTED;
	dk = cache_val(ekey + 1, CACHE_ID);
	if (mdb_get(txn, c->data[ekey[0]], &dk, &dv) == MDB_NOTFOUND)
		return cache_keys_add(&ck->bad, ekey);
	return 0;
}

/* lru records that do not match an ent (collected as whole lru keys). */
static int cache_check_lru_rec(struct cache *c, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                               void *arg)
{
	struct cache_ent e;

	if (k->mv_size != CACHE_LKEY)
		return MDB_CORRUPTED;
	if (cache_get_ent(c, txn, (const unsigned char *)k->mv_data + 8, &e) == 0 &&
	    e.tick == cache_rd_be64(k->mv_data))
		return 0;
	return cache_keys_add(arg, k->mv_data);
}

/* Rebuild-compare the per-version counts and names from the (sorted) chunk ids. */
struct cache_check_blob {
	unsigned char hash[CACHE_HASH];
	struct cache_bcount b;
	int have;
	int fixes;
};

/* Length of the tuple part before the ETag: tag, chunk size, three names. */
static size_t cache_tuple_name_len(const unsigned char *tuple, size_t len)
{
	size_t pos = 1 + sizeof(uint32_t);
	uint32_t n;

	for (int i = 0; i < 3; i++) {
		if (len - pos < sizeof(n) || pos > len)
			return 0;
		memcpy(&n, tuple + pos, sizeof(n));
		pos += sizeof(n);
		if (n > len - pos)
			return 0;
		pos += n;
	}
	return pos;
}

static int cache_check_blob_flush(struct cache *c, MDB_txn *txn, struct cache_check_blob *cb)
{
	unsigned char nkey[2 * CACHE_HASH];
	MDB_val k = cache_val(cb->hash, CACHE_HASH), v;
	struct cache_bcount b;
	int rc;

	if (!cb->have)
		return 0;
	memset(&b, 0, sizeof(b));
	rc = mdb_get(txn, c->blob, &k, &v);
	if (rc == 0 && v.mv_size == sizeof(b))
		memcpy(&b, v.mv_data, sizeof(b));
	if (memcmp(&b, &cb->b, sizeof(b)) != 0) {
		cb->fixes++;
		v = cache_val(&cb->b, sizeof(cb->b));
		rc = mdb_put(txn, c->blob, &k, &v, 0);
		if (rc)
			return rc;
	}
	memcpy(nkey, cb->b.name, CACHE_HASH);
	memcpy(nkey + CACHE_HASH, cb->hash, CACHE_HASH);
	k = cache_val(nkey, sizeof(nkey));
	rc = mdb_get(txn, c->names, &k, &v);
	if (rc != MDB_NOTFOUND)
		return rc;
	cb->fixes++;
	v = cache_val("", 0);
	return mdb_put(txn, c->names, &k, &v, 0);
}

static int cache_check_blob_rec(struct cache *c, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                                void *arg)
{
	struct cache_check_blob *cb = arg;
	struct cache_hdr h;
	int rc;

	if (k->mv_size != CACHE_ID || v->mv_size < sizeof(h))
		return MDB_CORRUPTED; /* cannot happen after the data pass */
	if (!cb->have || memcmp(cb->hash, k->mv_data, CACHE_HASH) != 0) {
		rc = cache_check_blob_flush(c, txn, cb);
		if (rc)
			return rc;
		memcpy(&h, v->mv_data, sizeof(h));
		memcpy(cb->hash, k->mv_data, CACHE_HASH);
		memset(&cb->b, 0, sizeof(cb->b));
		/* The data pass left only records whose tuple hashes to their key. */
		SHA256((const unsigned char *)v->mv_data + sizeof(h),
		       cache_tuple_name_len((const unsigned char *)v->mv_data + sizeof(h),
		                            h.tuple_len),
		       cb->b.name);
		cb->have = 1;
	}
	memcpy(&h, v->mv_data, sizeof(h));
	cb->b.bytes += h.len;
	cb->b.chunks++;
	return 0;
}

/* blob records without chunks. */
static int cache_check_blob_orphan(struct cache *c, MDB_txn *txn, const MDB_val *k,
                                   const MDB_val *v, void *arg)
{
	struct cache_keys *l = arg;
	unsigned char seek[CACHE_ID];
	MDB_cursor *cur;
	MDB_val sk, sv;
	int rc, found;

	if (k->mv_size != CACHE_HASH)
		return MDB_CORRUPTED;
	memcpy(seek, k->mv_data, CACHE_HASH);
	memset(seek + CACHE_HASH, 0, 8);
	rc = mdb_cursor_open(txn, c->data[T_CHUNK], &cur);
	if (rc)
		return rc;
	sk = cache_val(seek, CACHE_ID);
	rc = mdb_cursor_get(cur, &sk, &sv, MDB_SET_RANGE);
	found = rc == 0 && memcmp(sk.mv_data, seek, CACHE_HASH) == 0;
	mdb_cursor_close(cur);
	if (found || (rc && rc != MDB_NOTFOUND))
		return found ? 0 : rc;
	return cache_keys_add(l, k->mv_data);
}

/* names records without their version, or filed under another name. */
static int cache_check_names_rec(struct cache *c, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                                 void *arg)
{
	const unsigned char *nkey = k->mv_data;
	struct cache_bcount b;
	MDB_val bk, bv;

	if (k->mv_size != 2 * CACHE_HASH)
		return MDB_CORRUPTED;
	bk = cache_val(nkey + CACHE_HASH, CACHE_HASH);
	if (mdb_get(txn, c->blob, &bk, &bv) == 0 && bv.mv_size == sizeof(b)) {
		memcpy(&b, bv.mv_data, sizeof(b));
		if (memcmp(b.name, nkey, CACHE_HASH) == 0)
			return 0;
	}
	return cache_keys_add(arg, nkey);
}

static int cache_fn_check(struct cache *c, MDB_txn *txn, struct cache_totals *t, void *arg)
{
	struct cache_check *ck = arg;
	struct cache_keys stray = {.size = CACHE_LKEY}, orphans = {.size = CACHE_HASH};
	struct cache_keys nstray = {.size = 2 * CACHE_HASH};
	struct cache_check_blob cb = {0};
	struct cache_check_data d = {.ck = ck};
	char what[96];
	size_t i;
	MDB_val k;
	int rc = 0;

	for (d.type = 0; d.type < T_NTYPES && rc == 0; d.type++)
		rc = cache_walk(txn, c->data[d.type], cache_check_data_rec, c, &d);
	if (rc == 0)
		rc = cache_walk(txn, c->ent, cache_check_ent_rec, c, ck);
	for (i = 0; i < ck->bad.n && rc == 0; i++) {
		const unsigned char *ekey = cache_keys_at(&ck->bad, i);

		k = cache_val(ekey + 1, CACHE_ID);
		rc = cache_del_ok(mdb_del(txn, c->data[ekey[0]], &k, NULL));
		/* Takes the entry's share out of *t when it had an ent, so *t can be compared. */
		if (rc == 0)
			rc = cache_entry_remove(c, txn, ekey, t);
	}
	if (rc == 0)
		rc = cache_walk(txn, c->lru, cache_check_lru_rec, c, &stray);
	for (i = 0; i < stray.n && rc == 0; i++) {
		k = cache_val(cache_keys_at(&stray, i), CACHE_LKEY);
		rc = cache_del_ok(mdb_del(txn, c->lru, &k, NULL));
	}
	ck->fixes += (int)stray.n;
	if (rc == 0)
		rc = cache_walk(txn, c->data[T_CHUNK], cache_check_blob_rec, c, &cb);
	if (rc == 0)
		rc = cache_check_blob_flush(c, txn, &cb);
	if (rc == 0)
		rc = cache_walk(txn, c->blob, cache_check_blob_orphan, c, &orphans);
	for (i = 0; i < orphans.n && rc == 0; i++) {
		k = cache_val(cache_keys_at(&orphans, i), CACHE_HASH);
		rc = cache_del_ok(mdb_del(txn, c->blob, &k, NULL));
	}
	if (rc == 0)
		rc = cache_walk(txn, c->names, cache_check_names_rec, c, &nstray);
	for (i = 0; i < nstray.n && rc == 0; i++) {
		k = cache_val(cache_keys_at(&nstray, i), 2 * CACHE_HASH);
		rc = cache_del_ok(mdb_del(txn, c->names, &k, NULL));
	}
	ck->fixes += cb.fixes + (int)orphans.n + (int)nstray.n;
	free(stray.k);
	free(orphans.k);
	free(nstray.k);
	if (rc)
		return rc;
	if (t->acct != ck->sum.acct || t->payload != ck->sum.payload ||
	    t->chunks != ck->sum.chunks || t->entries != ck->sum.entries ||
	    t->tick < ck->sum.tick) {
		snprintf(what, sizeof(what), "%llu/%llu entries, %llu/%llu bytes",
		         (unsigned long long)t->entries, (unsigned long long)ck->sum.entries,
		         (unsigned long long)t->acct, (unsigned long long)ck->sum.acct);
		log_warn("cache: check: accounting was off (%s); fixed", what);
		ck->fixes++;
	}
	t->acct = ck->sum.acct;
	t->payload = ck->sum.payload;
	t->chunks = ck->sum.chunks;
	t->entries = ck->sum.entries;
	if (t->tick < ck->sum.tick)
		t->tick = ck->sum.tick;
	return 0;
}

int cache_check(struct cache *c)
{
	struct cache_check ck;
	int rc, bad;

	memset(&ck, 0, sizeof(ck));
	ck.bad.size = CACHE_EKEY;
	ck.block = malloc(CACHE_BLOCK);
	if (!ck.block)
		return -ENOMEM;
	rc = cache_write(c, cache_fn_check, &ck);
	bad = (int)ck.bad.n + ck.fixes;
	free(ck.bad.k);
	free(ck.block);
	if (rc)
		return cache_errno(rc, "check");
	if (ck.bad.n)
		log_warn("cache: check dropped %zu bad entries", ck.bad.n);
	return bad;
}

/* ---- open / close ---- */

/* mkdir -p with 0700 for what we create. */
static int cache_mkdirs(const char *dir)
{
	char path[4096];
	size_t n = strlen(dir), i;

	if (n == 0 || n >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return -errno;
		path[i] = i == n ? '\0' : '/';
	}
	return 0;
}

/*
 * LMDB must not be opened twice in one process (closing one handle would drop
 * the other's fcntl locks), so open stores are registered by directory.
 */
static pthread_mutex_t cache_open_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache *cache_open_list; /* protected by cache_open_lock */

static int cache_register(struct cache *c)
{
	struct cache *o;
	int res = 0;

	pthread_mutex_lock(&cache_open_lock);
	for (o = cache_open_list; o; o = o->next)
		if (o->dev == c->dev && o->ino == c->ino)
			res = -EBUSY;
	if (res == 0) {
		c->next = cache_open_list;
		cache_open_list = c;
	}
	pthread_mutex_unlock(&cache_open_lock);
	return res;
}

static void cache_unregister(struct cache *c)
{
	struct cache **pp;

	pthread_mutex_lock(&cache_open_lock);
	for (pp = &cache_open_list; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	pthread_mutex_unlock(&cache_open_lock);
}

/* The directory must be ours and closed to others: the cache holds tenant data. */
static int cache_prepare_dir(const char *dir, struct stat *out)
{
	char esc[256];
	struct stat st;
	int res = cache_mkdirs(dir);

	if (res == 0 && stat(dir, &st) < 0)
		res = -errno;
	if (res < 0) {
		log_err("cache: cannot create directory %s: %s",
		        log_escape(esc, sizeof(esc), dir, (size_t)-1), strerror(-res));
		return res;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)) {
		log_err("cache: refusing directory %s: it must be a directory owned by uid %u "
		        "with mode 0700 (it has uid %u, mode %04o)",
		        log_escape(esc, sizeof(esc), dir, (size_t)-1), (unsigned)geteuid(),
		        (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return -EACCES;
	}
	*out = st;
	return 0;
}

/* A store from a larger budget could exceed the new map: start over. */
static void cache_drop_oversized(const char *dir, uint64_t mapsize)
{
	char path[4200];
	struct stat st;

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if (stat(path, &st) < 0 || (uint64_t)st.st_size <= mapsize)
		return;
	log_info("cache: store is %lld bytes, over the budget; starting empty",
	         (long long)st.st_size);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	unlink(path);
}

/*
 * Crash safety without a sync per put (see "Durability" above). The file
 * "state" says "clean" after the last user closed the store (synced), or
 * "open BOOT-ID" while it is in use. Every process holds a shared flock on
 * state.lock while open; the one that can take it exclusively at close is
 * the last and writes "clean".
 */
static int cache_boot_id(char *id, size_t n)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	int ok = f && fgets(id, (int)n, f) != NULL;

	if (f)
		fclose(f);
	if (!ok)
		snprintf(id, n, "unknown");
	id[strcspn(id, "\n")] = 0;
	return ok ? 0 : -1;
}

static int cache_state_write(const char *dir, const char *text)
{
	char path[4200], tmp[4200];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/state", dir);
	snprintf(tmp, sizeof(tmp), "%s/state.tmp", dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text) && fsync(fd) == 0;
	close(fd);
	if (!ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return -EIO;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
}

/*
 * Before LMDB opens the store: a store that was in use when the system went
 * down (another boot ID, not "clean") may have lost writes in any order, so
 * it is discarded. Then mark it in use by this boot. Returns the state.lock
 * descriptor (shared flock held) or -errno.
 */
static int cache_state_open(const char *dir)
{
	char path[4200], buf[128] = "", boot[64], want[96];
	struct stat st;
	ssize_t n;
	int fd, lfd;

	cache_boot_id(boot, sizeof(boot));
	snprintf(want, sizeof(want), "open %s\n", boot);
	snprintf(path, sizeof(path), "%s/state.lock", dir);
	lfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lfd < 0 || flock(lfd, LOCK_SH) < 0) {
		n = -errno;
		if (lfd >= 0)
			close(lfd);
		return (int)n;
	}
	snprintf(path, sizeof(path), "%s/state", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = 0;
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if (stat(path, &st) == 0 && strcmp(buf, "clean\n") != 0 && strcmp(buf, want) != 0) {
		log_info("cache: the store was in use when the system last went down (it "
		         "syncs only at unmount); starting empty");
		unlink(path);
		snprintf(path, sizeof(path), "%s/lock.mdb", dir);
		unlink(path);
	}
	if (strcmp(buf, want) != 0 && cache_state_write(dir, want) < 0) {
		close(lfd);
		return -EIO;
	}
	return lfd;
}

/* After the last write: sync, and mark the store clean if nobody else has it open. */
static void cache_state_close(struct cache *c)
{
	int rc = mdb_env_sync(c->env, 1);

	if (rc)
		cache_errno(rc, "sync");
	else if (flock(c->sfd, LOCK_EX | LOCK_NB) == 0)
		cache_state_write(c->dir, "clean\n");
}

/* Open the databases and settle the format. No other thread runs yet. */
static int cache_init_dbs(struct cache *c)
{
	static const char *const names[] = {"ent", "lru", "blob", "names", "info"};
	MDB_dbi *dbis[] = {&c->ent, &c->lru, &c->blob, &c->names, &c->info};
	struct cache_totals t;
	MDB_txn *txn;
	int rc, i;

	rc = mdb_txn_begin(c->env, NULL, 0, &txn);
	if (rc)
		return rc;
	for (i = 0; i < T_NTYPES && rc == 0; i++)
		rc = mdb_dbi_open(txn, cache_dbname[i], MDB_CREATE, &c->data[i]);
	for (i = 0; i < 5 && rc == 0; i++)
		rc = mdb_dbi_open(txn, names[i], MDB_CREATE, dbis[i]);
	if (rc == 0)
		rc = cache_totals_get(c, txn, &t);
	if (rc == 0 && t.format != CACHE_FORMAT) {
		log_info("cache: store format %u, expected %u; starting empty", t.format,
		         CACHE_FORMAT);
		for (i = 0; i < T_NTYPES && rc == 0; i++)
			rc = mdb_drop(txn, c->data[i], 0);
		for (i = 0; i < 4 && rc == 0; i++) /* all but info */
			rc = mdb_drop(txn, *dbis[i], 0);
		memset(&t, 0, sizeof(t));
		t.format = CACHE_FORMAT;
	}
	if (rc == 0)
		rc = cache_totals_put(c, txn, &t);
	if (rc) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn);
}

/* Learn where LMDB mapped data.mdb (lmdb_layout_init), from the totals record. */
static int cache_locate_map(struct cache *c)
{
	MDB_val k = cache_val("totals", 6), v;
	MDB_txn *txn;
	int rc, res;

	rc = mdb_env_get_fd(c->env, &c->fd);
	if (rc == 0)
		rc = cache_read_begin(c, &txn);
	if (rc)
		return cache_errno(rc, "locate map");
	rc = mdb_get(txn, c->info, &k, &v);
	res = rc ? cache_errno(rc, "locate map") : lmdb_layout_init(&c->lay, c->env, c->fd, &v);
	cache_read_end(c, txn);
	return res;
}

int cache_open(struct cache **out, const struct cache_opts *opts)
{
	struct cache *c;
	uint64_t mapsize, min;
	int res, rc, dead;
	struct stat dst;
	MDB_stat st;

	*out = NULL;
	if (!opts || !opts->dir)
		return -EINVAL;
	res = cache_prepare_dir(opts->dir, &dst);
	if (res < 0)
		return res;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->dev = dst.st_dev;
	c->ino = dst.st_ino;
	res = cache_register(c);
	if (res < 0) {
		log_err("cache: the store in this directory is already open in this process");
		free(c);
		return res;
	}
	pthread_mutex_init(&c->wlock, NULL);
	pthread_mutex_init(&c->plock, NULL);
	c->chunk_size = opts->chunk_size ? opts->chunk_size : 8u << 20;
	if (c->chunk_size > CACHE_CHUNK_MAX)
		c->chunk_size = CACHE_CHUNK_MAX;
	c->budget = opts->budget_bytes ? opts->budget_bytes : 1ull << 30;
	min = 4ull * c->chunk_size < (1u << 20) ? 1u << 20 : 4ull * c->chunk_size;
	if (c->budget < min) {
		log_info("cache: budget %llu raised to %llu (four chunks)",
		         (unsigned long long)c->budget, (unsigned long long)min);
		c->budget = min;
	}
	c->psize = (size_t)sysconf(_SC_PAGESIZE);
	mapsize = (c->budget + c->chunk_size) / c->psize * c->psize;
	c->sfd = -1;
	c->dir = strdup(opts->dir);
	if (!c->dir) {
		res = -ENOMEM;
		goto out;
	}
	cache_drop_oversized(opts->dir, mapsize);
	c->sfd = cache_state_open(opts->dir);
	if (c->sfd < 0) {
		res = c->sfd;
		log_err("cache: cannot record the store's state in %s: %s", opts->dir,
		        strerror(-res));
		goto out;
	}

	res = -EIO;
	rc = mdb_env_create(&c->env);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(c->env, 8);
	if (rc == 0)
		rc = mdb_env_set_maxreaders(c->env, 510);
	if (rc == 0)
		rc = mdb_env_set_mapsize(c->env, mapsize);
	if (rc == 0)
		rc = mdb_env_open(c->env, opts->dir, MDB_NOTLS | MDB_NOSYNC, 0600);
	if (rc == 0)
		rc = mdb_reader_check(c->env, &dead);
	if (rc == 0)
		rc = mdb_env_stat(c->env, &st);
	if (rc) {
		res = cache_errno(rc, "open");
		goto out;
	}
	c->psize = st.ms_psize;
	/*
	 * B-tree, freelist and meta pages live inside the budget too, and one
	 * more chunk is kept free: pages a preempted reader still pins are not
	 * reusable, and without slack every put would wait for such a reader.
	 */
	c->limit = c->budget - (64ull * c->psize + c->budget / 128 + c->chunk_size);
	rc = cache_init_dbs(c);
	if (rc) {
		res = cache_errno(rc, "open databases");
		goto out;
	}
	res = cache_locate_map(c);
	if (res)
		goto out;
	*out = c;
	return 0;
out:
	if (c->env)
		mdb_env_close(c->env);
	if (c->sfd >= 0)
		close(c->sfd);
	free(c->dir);
	cache_unregister(c);
	pthread_mutex_destroy(&c->wlock);
	pthread_mutex_destroy(&c->plock);
	free(c);
	return res < 0 ? res : -EIO;
}

void cache_close(struct cache *c)
{
	if (!c)
		return;
	if (c->npend)
		cache_errno(cache_write(c, cache_fn_touch, NULL), "touch");
	cache_state_close(c);
	mdb_env_close(c->env);
	close(c->sfd);
	free(c->dir);
	cache_unregister(c);
	pthread_mutex_destroy(&c->wlock);
	pthread_mutex_destroy(&c->plock);
	free(c);
}
