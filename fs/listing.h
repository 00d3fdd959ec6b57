/*
 * listing.h - folder listings of datasets/: the containers of the account and
 * the entries of each folder (List Blobs with delimiter "/"), held in memory
 * with a TTL, persisted in the cache, read by offset and looked up by name.
 *
 * What a caller can rely on:
 *
 * - A listing is an append-only array. Entry i keeps index i for the life of
 *   the listing object (readdir offsets map to indexes in O(1)); a name is
 *   found through a hash index (O(1)). Nothing is copied per call but the
 *   entries handed out.
 * - Nobody waits for a whole folder. A cold listing is filled by a lister
 *   thread page by page (pages of 5,000) while readers consume what has
 *   arrived. A listing is fresh for ttl_s after its last page arrived; for
 *   LISTING_STALE_MAX_S more it is still served while one background
 *   re-list per folder replaces it (stale-while-revalidate); past that,
 *   unless its re-list is still running, it is listed afresh (cold). So an
 *   answer is at most ttl_s + LISTING_STALE_MAX_S + the duration of one
 *   re-list old (ttl_s 0: every access lists afresh), unless storage is
 *   unreachable (then the old listing stays, marked offline, and the re-list
 *   is retried every 2 s). A name missing from a listing is asked for by
 *   itself (Get Blob Properties, then a one-entry List Blobs for a folder of
 *   that name: at most two requests), never by re-listing the folder.
 * - Memory: about 32 bytes an entry plus its name and ETag, and the hash
 *   index; the table evicts least recently used listings past mem_max.
 *
 * Threads and locks: every function may be called from any thread at once.
 * Each listing has its own mutex (its entries, state and fill progress); the
 * table has one (the key index, LRU order, revalidation flags, the job
 * queue). Lock order: table lock, then a listing's lock; never the reverse.
 * Callbacks (listing_fill_fn, the source's functions) are called without the
 * table lock; listing_read() calls its callback with that listing's lock
 * held, so the callback must not call back into this module.
 */
#ifndef MGDCFS_FS_LISTING_H
#define MGDCFS_FS_LISTING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "net/blob.h"

struct cache;
struct listings;
struct listing;

/* A name's listing answer is trusted for this long; so is a probe's "no such name". */
#define LISTING_NEG_TTL_S 2
/* How long past its TTL a listing is still served while it is re-listed (TTL 0: not at all). */
#define LISTING_STALE_MAX_S 600

/*
 * Where listings come from: net/blob in the daemon, an in-memory table in
 * the unit tests. Both functions are called from lister threads and from
 * the threads that look names up, several at once.
 *   list: as blob_list_paged(): container NULL lists the containers.
 *   head: as blob_get_props().
 */
struct listing_src {
	void *ud;
	int (*list)(void *ud, const char *container, const struct blob_list_req *rq,
	            blob_list_cb cb, void *cb_ud, struct net_error *e);
	int (*head)(void *ud, const char *container, const char *blob, struct blob_props *p,
	            struct net_error *e);
};

struct listings_opts {
	struct listing_src src;        /* list NULL: every listing is -ENOENT (no storage) */
	struct cache *cache;           /* persisted copies (offline fallback); may be NULL */
	int ttl_s;                     /* a listing older than this is revalidated; >= 0 */
	const char *const *containers; /* fixed container names (no List Containers), or NULL;
	                                  borrowed, must outlive the table */
	size_t mem_max;                /* bytes of listings kept in memory; 0: 128 MiB */
	int workers;                   /* lister threads; 0: 4 (half may revalidate at once) */
	size_t part_max;               /* largest persisted value (the cache's chunk size) */
	size_t persist_max;            /* a listing whose copy is larger is not persisted */
	time_t (*clock)(void);         /* seconds; NULL: time(NULL) (the unit tests move it) */
};

/*
 * listings_new - an empty table and its lister threads. Returns 0, -ENOMEM,
 * or -EAGAIN if no thread could be started. Free with listings_free().
 */
int listings_new(struct listings **out, const struct listings_opts *o);

/*
 * listings_free - stop the listers (a fill in progress stops after its
 * current page; readers still waiting on it get -ECANCELED) and free the
 * table. Listings still referenced live until their last listing_unref().
 * No other call on `t` may be in progress or follow. NULL is a no-op.
 */
void listings_free(struct listings *t);

/* One entry as a lookup copies it out. */
struct listing_entry {
	int is_dir;
	uint64_t size;
	time_t mtime;             /* 0 when the service gave none (folders) */
	char etag[BLOB_ETAG_MAX]; /* "" for folders and containers */
	time_t seen;              /* when storage last vouched for it (its listing's fetch,
	                             or a probe just now); 0 if only an offline copy shows it */
};

/*
 * listings_lookup - entry `name` (name_len bytes, one component) of folder
 * `prefix` ("" or "a/b/") of `container`; container NULL looks up the
 * container `name` among the account's. `dir_path` is the folder's path in
 * the mount, used in .mgdcfs/errors. Starts the folder's listing (or its
 * revalidation) as listings_open() does; while a cold listing is filling it
 * waits for its first page only, then asks for the name alone. Returns 0
 * and fills *out; -ENOENT; the listing's error (-EACCES, -ETIMEDOUT, ...);
 * -ENOMEM. Blocks for at most one page or two requests.
 */
int listings_lookup(struct listings *t, const char *dir_path, const char *container,
                    const char *prefix, const char *name, size_t name_len,
                    struct listing_entry *out);

/*
 * listings_open - a reference to the listing of folder `prefix` of
 * `container` (NULL: the containers), starting a cold fill or a background
 * revalidation as needed; never waits for the network. Returns 0 and *out
 * (drop it with listing_unref), or -ENOMEM.
 */
int listings_open(struct listings *t, const char *dir_path, const char *container,
                  const char *prefix, struct listing **out);

/* listing_unref - drop a reference; the last one frees the listing. Any thread. */
void listing_unref(struct listing *l);

/* Called per entry by listing_read(); a non-zero return stops before this entry. */
typedef int (*listing_fill_fn)(void *ud, size_t idx, const char *name, int is_dir, uint64_t size,
                               time_t mtime);

/*
 * listing_read - hand entries idx, idx + 1, ... of `l` to fn until fn
 * refuses one or the entries end. When entry idx has not arrived yet it
 * waits for it (or for the fill to end), but once fn took an entry it
 * returns rather than wait. Returns the index to resume from (the refused
 * entry's, or the count when all were taken); the fill's -errno when it
 * failed before reaching idx; -ECANCELED at shutdown. Counts the entries
 * visited and taken for stats. Holds l's lock while calling fn.
 */
ssize_t listing_read(struct listings *t, struct listing *l, size_t idx, listing_fill_fn fn,
                     void *ud);

/*
 * listings_update - a Get Blob Properties saw blob `name` of folder
 * (container, prefix) with properties `p`: record them in the cached
 * listing, if any. listings_forget - the blob is gone (404): hide the entry
 * (lookups miss it, readdir skips it; indexes do not move).
 * listings_drop_all - forget every listing (.mgdcfs/refresh).
 */
void listings_update(struct listings *t, const char *container, const char *prefix,
                     const char *name, size_t name_len, const struct blob_props *p);
void listings_forget(struct listings *t, const char *container, const char *prefix,
                     const char *name, size_t name_len);
void listings_drop_all(struct listings *t);

struct listings_stats {
	uint64_t fills;         /* cold listings started */
	uint64_t revalidations; /* background re-lists started */
	uint64_t offline;       /* listings served from the persisted copy or kept after a
	                           re-list failed for an unreachable storage */
	uint64_t pages;         /* List pages received */
	uint64_t answers;       /* lookups and opens answered from a listing */
	uint64_t stale_answers; /* ... from one past its TTL (a re-list was under way) */
	uint64_t max_age_s;     /* the oldest listing an answer came from, in seconds (answers
	                           from an offline copy not counted: they say so in errors) */
	uint64_t probes;        /* names asked for alone */
	uint64_t probe_requests;
	uint64_t probe_found;
	uint64_t readdir_calls, readdir_visited, readdir_returned;
	uint64_t longest_relist_ms; /* the longest re-list, from queued to swapped in: an
	                               answer is at most ttl_s + LISTING_STALE_MAX_S +
	                               this old (online) */
	uint64_t persisted;         /* listings written to the cache */
	uint64_t listings;          /* held in memory now */
	uint64_t entries;           /* entries held now */
	uint64_t bytes;             /* bytes of memory they take now */
	uint64_t revalidating;      /* re-lists running or queued now */
};

/* listings_get_stats - a snapshot of the counters. Any thread. */
void listings_get_stats(struct listings *t, struct listings_stats *out);

#endif
