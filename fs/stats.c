/*
 * stats.c - .mgdcfs/stats.json and .mgdcfs/metrics: what the mount has done,
 * from the counters each layer keeps (cache, HTTP, blob client, dataset
 * reads, FUSE ops). Rendered on every open, so it is always current.
 *
 * Key decision: one table of samples (group, name, value, kind) is filled
 * once per render and printed twice: as JSON, and in the Prometheus text
 * exposition format (mgdcfs_<group>_<name>, one # TYPE per metric), so the
 * two files can never disagree about which counters exist.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/text.h"
#include "cache/cache.h"
#include "fs/data_i.h"
#include "fs/errlog.h"
#include "fs/fs_i.h"
#include "fs/listing.h"
#include "net/blob.h"
#include "net/http.h"

enum stats_kind { STATS_COUNTER, STATS_GAUGE };

struct stats_sample {
	const char *group; /* NULL: top level */
	const char *name;
	double value;
	enum stats_kind kind;
	const char *help;
};

/* Room for every sample stats_fill adds (61 now); 16-system checks that the
 * last one, "errors", is there. */
#define STATS_MAX 96

struct stats_table {
	struct stats_sample s[STATS_MAX];
	int n;
	int cache_enabled;
};

static void stats_add(struct stats_table *t, const char *group, const char *name, double v,
                      enum stats_kind kind, const char *help)
{
	if (t->n < STATS_MAX)
		t->s[t->n++] = (struct stats_sample){group, name, v, kind, help};
}

#define C(g, n, v, h) stats_add(t, g, n, (double)(v), STATS_COUNTER, h)
#define G(g, n, v, h) stats_add(t, g, n, (double)(v), STATS_GAUGE, h)

static void stats_fill(struct mgdcfs *fs, struct stats_table *t)
{
	struct cache_stats cs = {0};
	struct http_stats hs = {0};
	struct blob_stats bs = {0};
	struct data_counters dc;
	struct listings_stats ls;
	double up = difftime(time(NULL), fs->started);

	if (fs->cache)
		cache_get_stats(fs->cache, &cs);
	http_get_stats(fs->http, &hs);
	if (fs->blob)
		blob_get_stats(fs->blob, &bs);
	data_get_counters(&dc);
	data_get_listing_stats(&ls);
	t->n = 0;
	t->cache_enabled = fs->cache != NULL;
	G(NULL, "uptime_s", up, "Seconds since the mount started.");
	C("cache", "hits", cs.hits, "Chunk reads served from the cache.");
	C("cache", "misses", cs.misses, "Chunk reads the cache did not have.");
	C("cache", "evictions", cs.evictions, "Chunks evicted to keep the budget.");
	C("cache", "checksum_failures", cs.checksum_failures, "Cached chunks that failed CRC-32C.");
	C("cache", "bytes_from_cache", cs.bytes_read, "Bytes read from the cache.");
	C("cache", "bytes_stored", cs.bytes_written, "Bytes written into the cache.");
	G("cache", "bytes_used", cs.bytes_used, "Bytes the cache holds now.");
	G("cache", "chunks", cs.chunks, "Chunks the cache holds now.");
	G("cache", "budget_bytes", cs.budget, "The cache's byte budget.");
	G("cache", "chunk_size", fs->cfg.chunk_size, "Chunk size in bytes.");
	C("network", "requests", hs.requests, "HTTP attempts sent.");
	C("network", "retries", hs.retries, "HTTP attempts after a first one.");
	C("network", "failures", hs.failures, "HTTP requests that failed without a response.");
	C("network", "bytes_in", hs.bytes_in, "Response body bytes received.");
	G("network", "in_flight", hs.in_flight, "HTTP attempts running now.");
	C("network", "bytes_from_network", dc.fetch_bytes, "Dataset bytes fetched from storage.");
	G("network", "throughput_in_Bps", up > 0 ? (double)hs.bytes_in / up : 0,
	  "Mean response bytes per second since the mount started.");
	C("datasets", "listings", ls.fills + ls.revalidations, "Folder listings fetched.");
	C("datasets", "listings_served_offline", ls.offline,
	  "Listings served from the cache because storage was unreachable.");
	C("datasets", "revalidations", dc.heads, "ETag checks at open.");
	C("datasets", "chunk_fetches", dc.chunk_fetches, "Chunk downloads.");
	G("datasets", "chunks_in_flight", dc.inflight, "Chunk downloads running now.");
	C("datasets", "readahead_scheduled", dc.readahead_jobs, "Read-ahead chunks queued.");
	C("datasets", "readahead_dropped", dc.readahead_dropped, "Read-ahead chunks dropped.");
	C("datasets", "fresh_chunk_hits", dc.fresh_hits, "Reads served by a chunk just fetched.");
	C("datasets", "direct_reads", dc.direct_reads, "Reads served without the cache.");
	C("datasets", "md5_verified", bs.md5_verified, "Downloads whose Content-MD5 matched.");
	C("datasets", "md5_mismatches", bs.md5_mismatch, "Downloads whose Content-MD5 differed.");
	/* Folder listings (fs/listing.h): their freshness, their memory, and the counts
	 * that show readdir and lookups cost what they return. */
	G("listings", "ttl_s", fs->cfg.ttl_listing_s, "Listing TTL in seconds.");
	G("listings", "stale_window_s", fs->cfg.ttl_listing_s ? LISTING_STALE_MAX_S : 0,
	  "Seconds past its TTL a listing is still served while it is listed again.");
	G("listings", "staleness_bound_s",
	  fs->cfg.ttl_listing_s + (fs->cfg.ttl_listing_s ? LISTING_STALE_MAX_S : 0) +
	      (double)((ls.longest_relist_ms + 999) / 1000),
	  "The oldest a listing answer can be, in seconds.");
	G("listings", "oldest_answer_age_s", ls.max_age_s, "Age of the oldest listing answered.");
	G("listings", "longest_relist_ms", ls.longest_relist_ms, "The longest re-list so far.");
	G("listings", "held", ls.listings, "Listings held in memory.");
	G("listings", "entries", ls.entries, "Entries of the listings held.");
	G("listings", "bytes", ls.bytes, "Memory of the listings held.");
	G("listings", "bytes_per_entry", ls.entries ? (double)(ls.bytes / ls.entries) : 0,
	  "Memory per listing entry.");
	C("listings", "cold_fills", ls.fills, "Listings fetched with nothing cached.");
	C("listings", "revalidations", ls.revalidations, "Listings fetched again past their TTL.");
	G("listings", "revalidating", ls.revalidating, "Re-lists running now.");
	C("listings", "pages", ls.pages, "List Blobs pages received.");
	C("listings", "answers", ls.answers, "Readdir and lookup answers from listings.");
	C("listings", "stale_answers", ls.stale_answers, "Answers from a listing past its TTL.");
	C("listings", "probes", ls.probes, "Lookups of one name missing from a listing.");
	C("listings", "probe_requests", ls.probe_requests, "Requests those lookups made.");
	C("listings", "probe_found", ls.probe_found, "Probed names that exist.");
	C("listings", "readdir_calls", ls.readdir_calls, "Readdir calls on listings.");
	C("listings", "readdir_entries_visited", ls.readdir_visited,
	  "Entries readdir looked at (stays near those returned).");
	C("listings", "readdir_entries_returned", ls.readdir_returned, "Entries readdir returned.");
	C("listings", "persisted", ls.persisted, "Listings saved to the cache.");
	C("listings", "served_offline", ls.offline,
	  "Listings served from the cache because storage was unreachable.");
	C("fuse", "lookups", FS_COUNTER(lookups), "FUSE lookups.");
	C("fuse", "readdirs", FS_COUNTER(readdirs), "FUSE readdir calls.");
	C("fuse", "reads", FS_COUNTER(reads), "FUSE reads.");
	C("fuse", "read_bytes", FS_COUNTER(read_bytes), "Bytes returned by FUSE reads.");
	C("fuse", "commands", FS_COUNTER(commands), "Commands (spec and value-file writes).");
	C("fuse", "command_failures", FS_COUNTER(command_failures), "Commands that failed.");
	C(NULL, "errors", errlog_count(), "Errors recorded in .mgdcfs/errors.");
}

#undef C
#undef G

char *stats_render(struct mgdcfs *fs, size_t *len)
{
	struct stats_table t;
	cJSON *o = cJSON_CreateObject(), *x = NULL;
	const char *group = NULL;
	char *s;

	if (!o)
		return NULL;
	stats_fill(fs, &t);
	for (int i = 0; i < t.n; i++) {
		const struct stats_sample *p = &t.s[i];

		if (!p->group) {
			cJSON_AddNumberToObject(o, p->name, p->value);
			continue;
		}
		if (!group || strcmp(group, p->group) != 0) {
			group = p->group;
			x = cJSON_AddObjectToObject(o, group);
			if (strcmp(group, "cache") == 0)
				cJSON_AddBoolToObject(x, "enabled", t.cache_enabled);
		}
		cJSON_AddNumberToObject(x, p->name, p->value);
	}
	s = text_json(o, len);
	cJSON_Delete(o);
	return s;
}

char *stats_render_metrics(struct mgdcfs *fs, size_t *len)
{
	struct stats_table t;
	size_t cap = 16384, o = 0, l = 0;
	char *buf = malloc(cap), name[128], label[256];
	const char *pr = fs->cfg.profile ? fs->cfg.profile : "";

	if (!buf)
		return NULL;
	/* A label value escapes backslash, double quote and newline (exposition format). */
	for (; *pr && l + 3 < sizeof(label); pr++) {
		if (*pr == '\\' || *pr == '"' || *pr == '\n')
			label[l++] = '\\';
		label[l++] = *pr == '\n' ? 'n' : *pr;
	}
	label[l] = '\0';
	stats_fill(fs, &t);
	o += (size_t)snprintf(
	    buf + o, cap - o,
	    "# HELP mgdcfs_cache_enabled 1 when the chunk cache is open.\n"
	    "# TYPE mgdcfs_cache_enabled gauge\nmgdcfs_cache_enabled{profile=\"%s\"} %d\n",
	    label, t.cache_enabled);
	for (int i = 0; i < t.n && o < cap; i++) {
		const struct stats_sample *p = &t.s[i];
		int counter = p->kind == STATS_COUNTER;

		/* Prometheus names counters with _total; label the mount by its profile. */
		snprintf(name, sizeof(name), "mgdcfs_%s%s%s%s", p->group ? p->group : "",
		         p->group ? "_" : "", p->name, counter ? "_total" : "");
		o += (size_t)snprintf(
		    buf + o, cap - o, "# HELP %s %s\n# TYPE %s %s\n%s{profile=\"%s\"} %.17g\n",
		    name, p->help, name, counter ? "counter" : "gauge", name, label, p->value);
	}
	if (o >= cap) {
		free(buf);
		return NULL;
	}
	*len = o;
	return buf;
}
