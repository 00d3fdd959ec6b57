/*
 * stats.c - .mgdcfs/stats.json: what the mount has done, from the counters
 * each layer keeps (cache, HTTP, blob client, dataset reads, FUSE ops).
 * Rendered on every open, so it is always current.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cache/cache.h"
#include "fs/data_i.h"
#include "fs/errlog.h"
#include "fs/fs_i.h"
#include "fs/listing.h"
#include "net/blob.h"
#include "net/http.h"

static void num(cJSON *o, const char *k, double v)
{
	cJSON_AddNumberToObject(o, k, v);
}

char *stats_render(struct mgdcfs *fs, size_t *len)
{
	struct cache_stats cs = {0};
	struct http_stats hs = {0};
	struct blob_stats bs = {0};
	struct data_counters dc;
	struct listings_stats ls;
	cJSON *o = cJSON_CreateObject(), *x;
	double up = difftime(time(NULL), fs->started);
	char *s, *t;

	if (!o)
		return NULL;
	if (fs->cache)
		cache_get_stats(fs->cache, &cs);
	http_get_stats(fs->http, &hs);
	if (fs->blob)
		blob_get_stats(fs->blob, &bs);
	data_get_counters(&dc);
	data_get_listing_stats(&ls);
	num(o, "uptime_s", up);
	x = cJSON_AddObjectToObject(o, "cache");
	cJSON_AddBoolToObject(x, "enabled", fs->cache != NULL);
	num(x, "hits", (double)cs.hits);
	num(x, "misses", (double)cs.misses);
	num(x, "evictions", (double)cs.evictions);
	num(x, "checksum_failures", (double)cs.checksum_failures);
	num(x, "bytes_from_cache", (double)cs.bytes_read);
	num(x, "bytes_stored", (double)cs.bytes_written);
	num(x, "bytes_used", (double)cs.bytes_used);
	num(x, "chunks", (double)cs.chunks);
	num(x, "budget_bytes", (double)cs.budget);
	num(x, "chunk_size", fs->cfg.chunk_size);
	x = cJSON_AddObjectToObject(o, "network");
	num(x, "requests", (double)hs.requests);
	num(x, "retries", (double)hs.retries);
	num(x, "failures", (double)hs.failures);
	num(x, "bytes_in", (double)hs.bytes_in);
	num(x, "in_flight", (double)hs.in_flight);
	num(x, "bytes_from_network", (double)dc.fetch_bytes);
	num(x, "throughput_in_Bps", up > 0 ? (double)hs.bytes_in / up : 0);
	x = cJSON_AddObjectToObject(o, "datasets");
	num(x, "listings", (double)(ls.fills + ls.revalidations));
	num(x, "listings_served_offline", (double)ls.offline);
	num(x, "revalidations", (double)dc.heads);
	num(x, "chunk_fetches", (double)dc.chunk_fetches);
	num(x, "chunks_in_flight", (double)dc.inflight);
	num(x, "readahead_scheduled", (double)dc.readahead_jobs);
	num(x, "readahead_dropped", (double)dc.readahead_dropped);
	num(x, "fresh_chunk_hits", (double)dc.fresh_hits);
	num(x, "direct_reads", (double)dc.direct_reads);
	num(x, "md5_verified", (double)bs.md5_verified);
	num(x, "md5_mismatches", (double)bs.md5_mismatch);
	/* Folder listings (fs/listing.h): their freshness, their memory, and the counts
	 * that show readdir and lookups cost what they return. */
	x = cJSON_AddObjectToObject(o, "listings");
	num(x, "ttl_s", fs->cfg.ttl_listing_s);
	num(x, "stale_window_s", fs->cfg.ttl_listing_s ? LISTING_STALE_MAX_S : 0);
	num(x, "staleness_bound_s",
	    fs->cfg.ttl_listing_s + (fs->cfg.ttl_listing_s ? LISTING_STALE_MAX_S : 0) +
	        (double)((ls.longest_relist_ms + 999) / 1000));
	num(x, "oldest_answer_age_s", (double)ls.max_age_s);
	num(x, "longest_relist_ms", (double)ls.longest_relist_ms);
	num(x, "held", (double)ls.listings);
	num(x, "entries", (double)ls.entries);
	num(x, "bytes", (double)ls.bytes);
	num(x, "bytes_per_entry", ls.entries ? (double)(ls.bytes / ls.entries) : 0);
	num(x, "cold_fills", (double)ls.fills);
	num(x, "revalidations", (double)ls.revalidations);
	num(x, "revalidating", (double)ls.revalidating);
	num(x, "pages", (double)ls.pages);
	num(x, "answers", (double)ls.answers);
	num(x, "stale_answers", (double)ls.stale_answers);
	num(x, "probes", (double)ls.probes);
	num(x, "probe_requests", (double)ls.probe_requests);
	num(x, "probe_found", (double)ls.probe_found);
	num(x, "readdir_calls", (double)ls.readdir_calls);
	num(x, "readdir_entries_visited", (double)ls.readdir_visited);
	num(x, "readdir_entries_returned", (double)ls.readdir_returned);
	num(x, "persisted", (double)ls.persisted);
	num(x, "served_offline", (double)ls.offline);
	x = cJSON_AddObjectToObject(o, "fuse");
	num(x, "lookups", (double)FS_COUNTER(lookups));
	num(x, "readdirs", (double)FS_COUNTER(readdirs));
	num(x, "reads", (double)FS_COUNTER(reads));
	num(x, "read_bytes", (double)FS_COUNTER(read_bytes));
	num(x, "commands", (double)FS_COUNTER(commands));
	num(x, "command_failures", (double)FS_COUNTER(command_failures));
	num(o, "errors", (double)errlog_count());
	s = cJSON_Print(o);
	cJSON_Delete(o);
	if (!s)
		return NULL;
	*len = strlen(s);
	t = realloc(s, *len + 2);
	if (!t) {
		free(s);
		return NULL;
	}
	t[(*len)++] = '\n';
	t[*len] = '\0';
	return t;
}
