/*
 * data_i.h - start and stop the dataset machinery (the listers of
 * fs/listing.c and the chunk engine of fs/chunks.c), and read its counters.
 * Called from fs_init / fs_destroy, the refresh command and stats. Private
 * to fs/. The per-request calls (data_stat, data_open, data_read, ...) are in
 * fs_i.h.
 */
#ifndef MGDCFS_FS_DATA_I_H
#define MGDCFS_FS_DATA_I_H

#include "fs/fs_i.h"

/*
 * data_start - start the listers and the chunk engine (its cache writer and
 * read-ahead workers need a cache; without a blob client there is no engine
 * and opening a blob fails with EIO). A part that cannot start is logged and
 * done without: the mount still comes up. Once, from fs_init, before the
 * first request.
 */
void data_start(struct mgdcfs *fs);

/*
 * data_stop - stop and free them: queued read-ahead and listing fills are
 * dropped, fetches in flight end (at once when http's cancel hook says the
 * mount is going away), chunks queued for the cache are stored. Once, from
 * fs_destroy, after FUSE stopped calling and every open file was released
 * (ops_release_all).
 */
void data_stop(struct mgdcfs *fs);

/*
 * data_drop_listings - forget every cached listing (.mgdcfs/refresh, SIGHUP);
 * the chunk cache stays (it is keyed by ETag). Any thread while mounted.
 */
void data_drop_listings(void);

/*
 * Counters for stats.json, monotonic since the mount (inflight is a gauge).
 * heads counts the ETag checks at open; the rest are the chunk engine's
 * (struct chunks_counters in fs/chunks.h); stale_reopen is always 0.
 */
struct data_counters {
	uint64_t heads, chunk_fetches, fetch_bytes, readahead_jobs, readahead_dropped, stale_reopen,
	    cache_bytes_served, fresh_hits, direct_reads;
	int64_t inflight;
};

/* data_get_counters - a copy, each counter read atomically; zeros before data_start. Any thread. */
void data_get_counters(struct data_counters *out);

/* data_get_listing_stats - the listings' counters (fs/listing.h); zeros before data_start. */
struct listings_stats;
void data_get_listing_stats(struct listings_stats *out);

#endif
