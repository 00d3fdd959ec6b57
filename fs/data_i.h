/*
 * data_i.h - start and stop the dataset machinery (read-ahead workers).
 * Called from fs_init / fs_destroy. Private to fs/.
 */
#ifndef MGDCFS_FS_DATA_I_H
#define MGDCFS_FS_DATA_I_H

#include "fs/fs_i.h"

/* data_start - start the listers, and the read-ahead workers (none when there is no cache). */
void data_start(struct mgdcfs *fs);

/* data_stop - stop them; pending read-ahead and listing fills are dropped. */
void data_stop(struct mgdcfs *fs);

/* data_drop_listings - forget every cached listing (.mgdcfs/refresh). */
void data_drop_listings(void);

/* Counters for stats.json. */
struct data_counters {
	uint64_t heads, chunk_fetches, fetch_bytes, readahead_jobs, readahead_dropped, stale_reopen,
	    cache_bytes_served, fresh_hits, direct_reads;
	int64_t inflight;
};
void data_get_counters(struct data_counters *out);

/* data_get_listing_stats - the listings' counters (fs/listing.h); zeros before data_start. */
struct listings_stats;
void data_get_listing_stats(struct listings_stats *out);

#endif
