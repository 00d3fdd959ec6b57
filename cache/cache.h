/*
 * cache.h - the persistent LMDB cache of mgdcfs: dataset chunks, metadata
 * and listings.
 *
 * Chunks are keyed by (account, container, blob, ETag, chunk index), so bytes
 * of an older ETag can never be returned for a newer one: they are simply
 * never looked up again and age out through LRU eviction. Every 4 KiB block
 * of a chunk carries a checksum, and a read verifies the blocks it returns.
 * Reads use pread(2) on the store's file, so cached bytes are not mapped into
 * the process (measured against copying from LMDB's map; see cache.c).
 * That, and the byte accounting, rely on two facts about LMDB beyond lmdb.h,
 * kept in cache/lmdb_layout.h and checked by tests/unit/test_cache_layout.c.
 * The store never grows past its byte budget by more than one chunk. No FUSE,
 * no curl in here.
 */
#ifndef MGDCFS_CACHE_CACHE_H
#define MGDCFS_CACHE_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cache;

struct cache_opts {
	const char *dir;       /* created 0700 if missing; files 0600 */
	uint64_t budget_bytes; /* total bytes the store may use; 0: 1 GiB */
	uint32_t chunk_size;   /* largest chunk that will be stored; 0: 8 MiB */
};

struct cache_key {
	const char *account;
	const char *container;
	const char *blob; /* full blob name */
	const char *etag; /* as the service sent it, quotes included or not, consistently */
	uint64_t index;   /* chunk number: offset / chunk_size */
};

struct cache_stats {
	uint64_t hits, misses, evictions, checksum_failures;
	uint64_t bytes_read;    /* bytes served from the cache */
	uint64_t bytes_written; /* bytes stored */
	uint64_t bytes_used;    /* current payload bytes of chunks */
	uint64_t chunks;        /* current number of chunks */
	uint64_t budget;
	uint64_t store_bytes; /* bytes of data.mdb in use (its high-water mark on disk) */
	uint64_t touches;     /* LRU ticks refreshed by hits */
};

/*
 * cache_open - open (creating if needed) the store in opts->dir, creating
 * missing parents with mode 0700. Call after the daemon forked. A budget
 * under four chunks (or 1 MiB) is raised to that. Returns 0, -EACCES (dir not
 * a directory, not ours, or open to group/other; logged), -EBUSY (this
 * process already has that store open), -EIO (LMDB failure, logged),
 * -ENOMEM; *out is NULL then. On 0, *out is the caller's, to be released
 * with cache_close. opts and its strings are copied. A store left by a
 * larger budget, written in an older format, or open when the system last
 * went down is discarded. Any one thread, before others use the handle.
 */
int cache_open(struct cache **out, const struct cache_opts *opts);

/*
 * cache_close - apply queued LRU touches, sync the store to disk, mark it
 * clean and free c (NULL is ignored). Failures are logged, not returned: the
 * store is then found unclean at the next open and discarded. Call once,
 * after every other call on c has returned and no thread will use it again.
 */
void cache_close(struct cache *c);

/*
 * cache_get_chunk - copy the chunk for `k` into buf (capacity cap), every
 * block verified. Returns the byte count, -ENOENT on a miss (including a
 * checksum mismatch, which also deletes the chunk and is logged), -ERANGE if
 * cap is too small, -EINVAL if the names are over 4 KiB together, -EIO if
 * the store is unusable (logged), -ENOMEM. buf's contents are unspecified
 * unless a count is returned. A hit may queue an LRU touch (no write on the
 * hit path). Never touches the network. Safe from any thread; no pointer
 * into the map survives the call.
 */
ssize_t cache_get_chunk(struct cache *c, const struct cache_key *k, void *buf, size_t cap);

/*
 * cache_get_range - copy bytes [off, off + len) of the chunk for `k` into buf,
 * clipped at the chunk's length, reading and verifying only the 4 KiB blocks
 * that cover them. Returns the byte count (0 if off is at or past the end, or
 * len is 0), or as cache_get_chunk: -ENOENT on a miss or a checksum mismatch
 * in a block read (the chunk is deleted, logged), -EINVAL, -EIO, -ENOMEM; buf
 * is unspecified then. A hit for the LRU and the counters like
 * cache_get_chunk, with bytes_read counting the bytes copied. Any thread.
 */
ssize_t cache_get_range(struct cache *c, const struct cache_key *k, uint64_t off, void *buf,
                        size_t len);

/*
 * cache_put_chunk - store `len` bytes for `k`, evicting least recently used
 * chunks first so the budget holds. Returns 0, -EFBIG if len exceeds the
 * chunk size, -EINVAL if the names are too long (over 4 KiB together),
 * -ENOSPC if no room could be made within 3 s (only when readers pin the
 * free pages that long, or the disk is full; the caller just serves without
 * caching), -EIO on LMDB failure (logged). The bytes are copied; the caller
 * keeps data. The block checksums are computed here. Safe from any thread
 * (writers serialise inside the cache); it may wait for that lock and, when
 * the store is full, up to 3 s for readers.
 */
int cache_put_chunk(struct cache *c, const struct cache_key *k, const void *data, size_t len);

/*
 * cache_blob_bytes - bytes of (account, container, blob, etag) held in the
 * cache, for the user.mgdcfs.cached xattr: one LMDB lookup of a per-version
 * counter. Returns >= 0, -EINVAL (names over 4 KiB) or -EIO. Any thread.
 */
int64_t cache_blob_bytes(struct cache *c, const char *account, const char *container,
                         const char *blob, const char *etag);

/*
 * cache_drop_blob - delete every chunk of (account, container, blob) whose
 * ETag is not keep_etag (every version if keep_etag is NULL), e.g. with the
 * new ETag when the fs layer sees a blob change, instead of waiting for LRU
 * eviction. One names lookup per cached version. Returns the number of
 * chunks dropped, -EINVAL (names over 4 KiB) or -EIO. Any thread.
 */
int64_t cache_drop_blob(struct cache *c, const char *account, const char *container,
                        const char *blob, const char *keep_etag);

/*
 * Metadata and listings: opaque values under a string key, each with the
 * time it was stored. `db` is CACHE_META or CACHE_LIST (separate LMDB
 * databases). They count against the budget too.
 */
enum cache_db { CACHE_META = 0, CACHE_LIST = 1 };

/*
 * cache_kv_get - copy the value for `key` into a malloc'd buffer (*val,
 * *len; NUL-terminated for convenience) and its store time (unix seconds)
 * into *stored_at unless that is NULL. Returns 0, -ENOENT (also for a value
 * failing its checksum, which is dropped and logged), -EINVAL (key over
 * 4 KiB or db unknown), -EIO (logged), -ENOMEM; *val and *len are set only
 * on 0, and the caller frees *val. A hit for the LRU and the counters, like
 * cache_get_chunk. Any thread; nothing returned points into the store.
 */
int cache_kv_get(struct cache *c, enum cache_db db, const char *key, char **val, size_t *len,
                 int64_t *stored_at);

/*
 * cache_kv_put - store or replace the value for `key` (len bytes copied from
 * val; the caller keeps val), evicting as cache_put_chunk does. Returns 0,
 * -EFBIG (over the chunk size), -EINVAL (key over 4 KiB or db unknown),
 * -ENOSPC (as cache_put_chunk), -EIO (logged). Any thread.
 */
int cache_kv_put(struct cache *c, enum cache_db db, const char *key, const void *val, size_t len);

/*
 * cache_kv_del - remove `key` if present (fs/listing.c drops the parts of a
 * listing it no longer persists). Returns 0, -EINVAL (key over 4 KiB or db
 * unknown) or -EIO (logged). Any thread.
 */
int cache_kv_del(struct cache *c, enum cache_db db, const char *key);

/*
 * cache_get_stats - fill *out with a snapshot of the counters and the
 * accounting. Cannot fail: what cannot be read (the store failing) is left
 * 0. Any thread; takes a read transaction.
 */
void cache_get_stats(struct cache *c, struct cache_stats *out);

/*
 * cache_check - verify the whole store: every entry's checksums, that each
 * record matches its key, the per-blob counts and the byte accounting,
 * dropping or repairing what is wrong. Returns the number of bad entries and
 * records found and dropped or repaired (>= 0), -ENOMEM, or -EIO (-ENOSPC if
 * the disk is full). Reads the whole store in one write transaction: writers
 * wait meanwhile, readers do not. Any thread.
 *
 * The daemon does not call it (a store that may be torn is discarded at open
 * instead, see "state" in cache.c); it stays exported as the audit the tests
 * run after each scenario (budget, eviction, corruption, kill -9): the one
 * check that the incremental accounting equals a recount.
 */
int cache_check(struct cache *c);

#endif
