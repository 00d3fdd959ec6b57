/*
 * chunks.h - the chunk engine: a blob read in fixed chunks addressed by
 * (blob, ETag, index), served from memory, else the LMDB cache, else one
 * ranged, If-Match-conditional GET per chunk however many readers want it.
 *
 * It owns the chunk buffers (a pool of mapped buffers), the hand-off
 * ("fresh") table that passes a chunk just fetched by a read-ahead worker to
 * the reader that waits for it, the in-flight set (single flight), the cache
 * writer thread and the read-ahead workers. It needs neither FUSE nor the
 * mount: fs/data.c gives it a blob client, a cache and the sizes, and keeps
 * open/read/release and the error log.
 *
 * Threads: any number of readers (FUSE workers), the read-ahead workers and
 * the writer. Locks, all fields of struct chunks (chunks.c): `lock` (the
 * fresh table and the in-flight set, with the condition `published`),
 * `pool_lock` (the idle buffers), `wq_lock` (the writer's queue, condition
 * `wq_cond`) and `ra_lock` (the read-ahead queue, condition `ra_cond`).
 * Lock order: none. No code path holds two of them at once (a buffer's
 * reference count is atomic, so queueing a buffer takes only its queue's
 * lock), and none is held across a call into the cache or the network; keep
 * it so, or write the order here.
 *
 * Errors: 0 or -errno as net/blob.h's blob_get_range gives them; -ESTALE
 * when the blob changed in storage (the version is gone), -ECANCELED when the
 * mount is going away (net/http.h: http_set_cancel). A failed fetch is never
 * stored: only a chunk whose every byte arrived goes into the cache.
 */
#ifndef MGDCFS_FS_CHUNKS_H
#define MGDCFS_FS_CHUNKS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "net/http.h" /* struct net_error */

struct blob_client;
struct cache;

/* Most read-ahead workers an engine runs. */
#define CHUNKS_RA_WORKERS_MAX 4

/*
 * One version of one blob: what a chunk is fetched and cached by. The
 * strings are the caller's and only read during the call they are passed to
 * (the engine copies what it keeps).
 */
struct blob_version {
	const char *container;
	const char *name; /* the full blob name */
	const char *etag; /* quoted, as the service sent it: every fetch is If-Match on it */
	uint64_t size;    /* bytes; reads are clamped to it, no request goes past it */
};

/* Counters (monotonic) and one gauge, for stats.json. */
struct chunks_counters {
	uint64_t chunk_fetches;      /* whole chunks fetched from storage */
	uint64_t fetch_bytes;        /* their bytes (direct reads are not counted) */
	uint64_t readahead_jobs;     /* read-ahead chunks queued */
	uint64_t readahead_dropped;  /* read-ahead chunks not queued (full, or no workers) */
	uint64_t cache_bytes_served; /* bytes read out of the cache */
	uint64_t fresh_hits;   /* chunks handed over from memory (fresh table, writer queue) */
	uint64_t direct_reads; /* reads of just the bytes asked, not a whole chunk */
	int64_t inflight;      /* GETs running now */
};

struct chunks_opts {
	struct blob_client *blob; /* required; must outlive the engine */
	struct cache *cache;      /* NULL: nothing is cached, no writer, no read-ahead */
	const char *account;      /* the cache keys' account; copied */
	uint64_t chunk_size;      /* bytes, > 0 */
	unsigned readahead;       /* chunks a sequential reader keeps ahead; 0: none */
	unsigned ra_workers;      /* read-ahead threads (0..CHUNKS_RA_WORKERS_MAX); 0: none */
	struct chunks_counters *counters; /* where to count (__atomic), zeroed by the caller, may
	                                     outlive the engine (stats read it after a stop);
	                                     NULL: the engine's own */
};

/* Where and why a read failed, for the caller's error log. */
struct chunks_failure {
	uint64_t off; /* first byte of the range that failed */
	size_t len;
	struct net_error e; /* the service's code and message, or empty */
	size_t done;        /* bytes the read copied into buf before it failed */
};

struct chunks;
struct chunk;       /* a chunk's bytes in memory: immutable, reference-counted */
struct chunks_file; /* one open file's read state */

/*
 * chunks_new - an engine; starts the writer (with a cache) and the
 * read-ahead workers (with a cache and ra_workers > 0). Returns 0, -EINVAL
 * (no blob client, chunk_size 0), -ENOMEM. A thread that cannot be started
 * is logged and done without (reads still work). Any thread.
 */
int chunks_new(struct chunks **out, const struct chunks_opts *o);

/*
 * chunks_free - stop and free: queued read-ahead is dropped, the workers
 * finish the fetch they are in (a fetch ends early with -ECANCELED when the
 * cancel hook says the mount is going away), the writer stores what it has
 * queued (so a clean unmount keeps what was read), and the buffers are
 * unmapped. Every chunks_file must be closed and every chunk reference
 * dropped first, and no other call may run. NULL is a no-op.
 */
void chunks_free(struct chunks *c);

/* chunks_get_counters - a copy of the engine's counters (each read atomically). Any thread. */
void chunks_get_counters(struct chunks *c, struct chunks_counters *out);

/* chunks_counters_load - the same from opts.counters, with or without an engine. Any thread. */
void chunks_counters_load(const struct chunks_counters *src, struct chunks_counters *out);

/* ---- one open file ---- */

/*
 * chunks_file_open - read state for version `v` (copied): the chunk it
 * holds, where a sequential reader reads next, its read-ahead window.
 * Returns 0 or -ENOMEM. Free with chunks_file_close.
 */
int chunks_file_open(struct chunks *c, const struct blob_version *v, struct chunks_file **out);

/*
 * chunks_file_read - copy bytes [off, off + size) of the version, clamped to
 * its size, into buf. A sequential reader (two reads in a row within a chunk
 * of each other) gets whole chunks and a read-ahead window; a random read of
 * a chunk the cache holds copies just its bytes; a first or random read of a
 * chunk only storage has fetches just the bytes asked (and queues the chunk
 * for a worker) when there are workers, else the whole chunk.
 * Returns the byte count (0 at or past EOF), or -errno with *fail filled in:
 * never a short count after a failure (the kernel would take it for EOF).
 * One caller at a time per file (the caller serialises); any thread.
 */
ssize_t chunks_file_read(struct chunks_file *f, void *buf, size_t size, uint64_t off,
                         struct chunks_failure *fail);

/* chunks_file_version - the version the file reads (its strings live as long as f). */
const struct blob_version *chunks_file_version(const struct chunks_file *f);

/* chunks_file_close - drop the held chunk and free. NULL is a no-op. Any thread. */
void chunks_file_close(struct chunks_file *f);

/* ---- chunks ---- */

/* How chunks_get may get a chunk that neither memory nor the cache holds. */
enum chunks_mode {
	CHUNKS_FETCH = 0, /* fetch it (or wait for the thread fetching it) */
	CHUNKS_OR_DIRECT, /* with a cache and read-ahead workers: the chunk from memory, else
	                     CHUNK_READ_DIRECT at once (the cache is not read, as the caller
	                     asked it for its range already, and a fetch of the chunk by
	                     another thread is not waited for); without them, as FETCH */
};

/* What chunks_get found (its non-negative results). */
enum chunks_got {
	CHUNK_HELD = 0,        /* *out is a reference to the chunk */
	CHUNK_READ_DIRECT = 1, /* CHUNKS_OR_DIRECT, and memory does not hold it: *out is NULL;
	                          read the bytes needed with chunks_read_direct, then maybe
	                          chunks_fill(idx) */
};

/*
 * chunks_get - chunk `idx` of `v` into *out: the fresh table, the writer's
 * queue, the cache, else storage (single flight: while one thread fetches a
 * chunk, others asking for it wait for that fetch and then look again; a
 * fetch that failed is claimed and tried by the next one). A fetched chunk
 * is queued for the cache. `reuse` is the caller's previous chunk, consumed
 * (its buffer is reused when nobody else holds it); may be NULL.
 * Returns CHUNK_HELD, CHUNK_READ_DIRECT, or -errno (-ENOMEM, a fetch's
 * errno with *e filled in). Drop *out with chunk_unref. Any thread.
 */
int chunks_get(struct chunks *c, const struct blob_version *v, uint64_t idx, enum chunks_mode mode,
               struct chunk *reuse, struct chunk **out, struct net_error *e);

/*
 * chunks_read_direct - read [off, off + n) of `v` straight from storage into
 * buf; nothing is cached. Returns 0 or -errno (*e filled in; -EIO for a
 * short reply). Any thread.
 */
int chunks_read_direct(struct chunks *c, const struct blob_version *v, uint64_t off, size_t n,
                       void *buf, struct net_error *e);

/*
 * chunks_readahead - queue chunk `idx` of `v` for a read-ahead worker, which
 * leaves it in the fresh table (and the cache). Dropped (and counted) when
 * the queue is full or there are no workers; queued once however often it
 * is asked while it waits. Any thread.
 */
void chunks_readahead(struct chunks *c, const struct blob_version *v, uint64_t idx);

/*
 * chunks_fill - the same for a random reader's background fill after a
 * direct read: queued alike (and counted as read-ahead), but at most one
 * fill fetch runs at a time, so the reader's own small GETs do not wait
 * behind several whole-chunk transfers at the service; read-ahead jobs
 * queued behind a waiting fill job go first. Any thread.
 */
void chunks_fill(struct chunks *c, const struct blob_version *v, uint64_t idx);

/* chunk_bytes - the chunk's bytes and their count (< chunk_size only for the last chunk). */
const char *chunk_bytes(const struct chunk *ch, size_t *len);

/* chunk_unref - drop a reference; the last one returns the buffer to the pool. NULL: no-op. */
void chunk_unref(struct chunk *ch);

#endif
