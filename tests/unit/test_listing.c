/*
 * test_listing.c - fs/listing.c without a mount: folder listings read by
 * offset and looked up by name, filled page by page, revalidated in the
 * background, probed name by name, persisted in a real cache.
 *
 * The source of truth is an in-memory storage (below) that answers List
 * Blobs with delimiter "/" the way the service does (pages, prefixes,
 * first-page probes) and Get Blob Properties, counts every request, and can
 * hold a listing before a given page (a gate the test opens), so the
 * streaming and stale-while-revalidate cases are set up by state, not by
 * timing. The table's clock is the test's. Costs are asserted by counts:
 * entries visited per readdir call, requests per lookup.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "fs/listing.h"

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "cache/cache.h"
#include "tap.h"

#define N_BIG 100000

/* ---- the storage ---- */

struct blob {
	char *name; /* full name */
	uint64_t size;
	int gone;
};

static struct storage {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct blob *v; /* sorted by name */
	size_t n, cap;
	const char *containers[8];
	int page_size; /* entries a page */
	int gate_page; /* a listing waits before this page (0-based) until the gate opens; -1 */
	int gate_open;
	int waiting; /* listings waiting at the gate */
	int fail;    /* -errno every request returns, or 0 */
	unsigned lists, list_probes, heads, pages;
} S = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .gate_page = -1};

static int blob_cmp(const void *a, const void *b)
{
	return strcmp(((const struct blob *)a)->name, ((const struct blob *)b)->name);
}

static void put(const char *name, uint64_t size)
{
	pthread_mutex_lock(&S.lock);
	if (S.n == S.cap) {
		S.cap = S.cap ? S.cap * 2 : 1024;
		S.v = realloc(S.v, S.cap * sizeof(*S.v));
	}
	S.v[S.n].name = strdup(name);
	S.v[S.n].size = size;
	S.v[S.n].gone = 0;
	S.n++;
	if (S.n > 1 && strcmp(S.v[S.n - 2].name, name) > 0)
		qsort(S.v, S.n, sizeof(*S.v), blob_cmp);
	pthread_mutex_unlock(&S.lock);
}

static void del(const char *name)
{
	pthread_mutex_lock(&S.lock);
	for (size_t i = 0; i < S.n; i++)
		if (strcmp(S.v[i].name, name) == 0)
			S.v[i].gone = 1;
	pthread_mutex_unlock(&S.lock);
}

static void etag_of(size_t i, uint64_t size, char *out, size_t n)
{
	snprintf(out, n, "\"0x8D%08zX%06llX\"", i, (unsigned long long)size);
}

/* Wait at the gate before page `page` (probes pass). Needs S.lock. */
static void gate(const struct blob_list_req *rq, int page)
{
	if (rq->first_page || S.gate_page < 0 || page != S.gate_page)
		return;
	S.waiting++;
	pthread_cond_broadcast(&S.cond);
	while (!S.gate_open)
		pthread_cond_wait(&S.cond, &S.lock);
	S.waiting--;
}

static int src_list(void *ud, const char *container, const struct blob_list_req *rq,
                    blob_list_cb cb, void *cb_ud, struct net_error *e)
{
	int max = rq->max_results > 0 ? rq->max_results : 5000, page = 0, inpage = 0, rc = 0;
	const char *prefix = rq->prefix ? rq->prefix : "";
	size_t plen = strlen(prefix), i;
	char last_dir[4096] = "", buf[4096];

	(void)ud;
	(void)e;
	if (max > S.page_size)
		max = S.page_size;
	pthread_mutex_lock(&S.lock);
	if (rq->first_page)
		S.list_probes++;
	else
		S.lists++;
	if (S.fail) {
		rc = S.fail;
		pthread_mutex_unlock(&S.lock);
		return rc;
	}
	if (!container) {
		for (i = 0; S.containers[i] && rc == 0; i++) {
			struct blob_entry ent = {
			    .name = buf, .name_len = strlen(S.containers[i]), .is_prefix = 1};

			snprintf(buf, sizeof(buf), "%s", S.containers[i]);
			if (strncmp(S.containers[i], prefix, plen) == 0)
				rc = cb(cb_ud, &ent);
		}
		S.pages++;
		pthread_mutex_unlock(&S.lock);
		return rc;
	}
	gate(rq, 0);
	for (i = 0; i < S.n && rc == 0; i++) {
		struct blob_entry ent = {0};
		const char *name = S.v[i].name, *slash;

		if (S.v[i].gone || strncmp(name, prefix, plen) != 0)
			continue;
		slash = rq->delimiter ? strchr(name + plen, '/') : NULL;
		if (slash) {
			size_t dl = (size_t)(slash - name) + 1;

			if (strlen(last_dir) == dl && strncmp(last_dir, name, dl) == 0)
				continue;
			memcpy(last_dir, name, dl);
			last_dir[dl] = '\0';
			ent.name_len = dl;
			ent.is_prefix = 1;
		} else {
			ent.name_len = strlen(name);
			ent.size = S.v[i].size;
			ent.mtime = 1700000000 + (time_t)i;
			etag_of(i, S.v[i].size, ent.etag, sizeof(ent.etag));
		}
		memcpy(buf, name, ent.name_len);
		buf[ent.name_len] = '\0';
		ent.name = buf;
		/* The callback runs without the storage's lock, as replies arrive. */
		pthread_mutex_unlock(&S.lock);
		rc = cb(cb_ud, &ent);
		pthread_mutex_lock(&S.lock);
		if (rc == 0 && ++inpage == max) {
			S.pages++;
			pthread_mutex_unlock(&S.lock);
			rc = rq->page_done ? rq->page_done(cb_ud, (size_t)inpage) : 0;
			pthread_mutex_lock(&S.lock);
			inpage = 0;
			if (rq->first_page)
				break;
			gate(rq, ++page);
		}
	}
	if (rc == 0 && (inpage > 0 || page == 0)) {
		S.pages++;
		pthread_mutex_unlock(&S.lock);
		rc = rq->page_done ? rq->page_done(cb_ud, (size_t)inpage) : 0;
		pthread_mutex_lock(&S.lock);
	}
	pthread_mutex_unlock(&S.lock);
	return rc;
}

static int src_head(void *ud, const char *container, const char *name, struct blob_props *p,
                    struct net_error *e)
{
	int rc = -ENOENT;

	(void)ud;
	(void)e;
	pthread_mutex_lock(&S.lock);
	S.heads++;
	if (S.fail)
		rc = S.fail;
	for (size_t i = 0; rc == -ENOENT && strcmp(container, "cont") == 0 && i < S.n; i++)
		if (!S.v[i].gone && strcmp(S.v[i].name, name) == 0) {
			memset(p, 0, sizeof(*p));
			p->size = S.v[i].size;
			p->mtime = 1700000000 + (time_t)i;
			etag_of(i, S.v[i].size, p->etag, sizeof(p->etag));
			rc = 0;
		}
	pthread_mutex_unlock(&S.lock);
	return rc;
}

static unsigned requests(void)
{
	unsigned n;

	pthread_mutex_lock(&S.lock);
	n = S.lists + S.list_probes + S.heads;
	pthread_mutex_unlock(&S.lock);
	return n;
}

static void gate_close(int page)
{
	pthread_mutex_lock(&S.lock);
	S.gate_page = page;
	S.gate_open = 0;
	pthread_mutex_unlock(&S.lock);
}

static void gate_open(void)
{
	pthread_mutex_lock(&S.lock);
	S.gate_open = 1;
	S.gate_page = -1;
	pthread_cond_broadcast(&S.cond);
	pthread_mutex_unlock(&S.lock);
}

/* Wait (deadline 30 s) until a listing is held at the gate. */
static int gate_reached(void)
{
	struct timespec until;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 30;
	pthread_mutex_lock(&S.lock);
	while (S.waiting == 0 && rc == 0)
		rc = pthread_cond_timedwait(&S.cond, &S.lock, &until);
	pthread_mutex_unlock(&S.lock);
	return S.waiting > 0;
}

/* ---- the clock ---- */

static time_t clock_now = 1800000000;

static time_t test_clock(void)
{
	return __atomic_load_n(&clock_now, __ATOMIC_RELAXED);
}

static void advance(time_t s)
{
	__atomic_add_fetch(&clock_now, s, __ATOMIC_RELAXED);
}

/* ---- helpers ---- */

struct taker {
	size_t limit, taken;
	size_t next_idx;
	char **names; /* if set, names[idx] gets a copy */
	int bad_order;
};

static int take(void *ud, size_t idx, const char *name, int is_dir, uint64_t size, time_t mtime)
{
	struct taker *k = ud;

	(void)is_dir;
	(void)size;
	(void)mtime;
	if (k->taken == k->limit)
		return 1;
	if (idx < k->next_idx)
		k->bad_order = 1;
	k->next_idx = idx + 1;
	if (k->names) {
		free(k->names[idx]);
		k->names[idx] = strdup(name);
	}
	k->taken++;
	return 0;
}

/* Read a listing to its end in readdir-sized calls; returns the entries taken. */
static size_t read_all(struct listings *t, struct listing *l, size_t per_call, char **names)
{
	size_t idx = 0, total = 0;

	for (;;) {
		struct taker k = {.limit = per_call, .names = names};
		ssize_t r = listing_read(t, l, idx, take, &k);

		if (r < 0)
			return (size_t)-1;
		total += k.taken;
		if (k.taken == 0)
			return total;
		idx = (size_t)r;
	}
}

static struct listings_stats stats(struct listings *t)
{
	struct listings_stats s;

	listings_get_stats(t, &s);
	return s;
}

/* Wait (deadline 30 s) until no re-list is running and `want` copies were persisted. */
static int settle(struct listings *t, uint64_t persisted_want)
{
	for (int i = 0; i < 30000; i++) {
		struct listings_stats s = stats(t);

		if (s.revalidating == 0 && s.persisted >= persisted_want)
			return 1;
		usleep(1000);
	}
	return 0;
}

static struct listings *table(struct cache *c, int ttl, const char *const *fixed)
{
	struct listings_opts o = {
	    .src = {.list = src_list, .head = src_head},
	    .cache = c,
	    .ttl_s = ttl,
	    .containers = fixed,
	    .part_max = 1 << 20,
	    .persist_max = 64 << 20,
	    .clock = test_clock,
	};
	struct listings *t = NULL;

	if (listings_new(&t, &o) != 0)
		return NULL;
	return t;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

/* Lookups from several threads while fills and re-lists run (for TSan). */
struct hammer {
	struct listings *t;
	int stop;
	unsigned found;
};

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;
	unsigned x = 12345;

	while (!__atomic_load_n(&h->stop, __ATOMIC_RELAXED)) {
		struct listing_entry e;
		char name[32];
		struct listing *l;

		x = x * 1103515245 + 12345;
		snprintf(name, sizeof(name), "f%06u.json", (x >> 8) % N_BIG);
		if (listings_lookup(h->t, "/datasets/cont/big", "cont", "big/", name, strlen(name),
		                    &e) == 0)
			__atomic_add_fetch(&h->found, 1, __ATOMIC_RELAXED);
		if (listings_open(h->t, "/datasets/cont/big", "cont", "big/", &l) == 0) {
			struct taker k = {.limit = 50};

			listing_read(h->t, l, (x >> 4) % N_BIG, take, &k);
			listing_unref(l);
		}
	}
	return NULL;
}

/* ---- the tests ---- */

int main(void)
{
	char dir[] = "/tmp/test_listing.XXXXXX", name[64], want[64], **names;
	struct cache_opts co = {.budget_bytes = 64 << 20, .chunk_size = 1 << 20};
	const char *fixed[] = {"alpha", "beta", NULL};
	struct listing_entry e;
	struct listings_stats s0, s1;
	struct listings *t;
	struct cache *c = NULL;
	struct listing *l;
	struct hammer hm = {0};
	pthread_t hth[3];
	size_t i, n;
	unsigned r0, lists0;
	int ok;

	log_set_level(LOG_ERR);
	if (!mkdtemp(dir))
		return 1;
	co.dir = dir;
	TAP_EQ_INT(cache_open(&c, &co), 0, "a real cache for persisted copies");
	S.page_size = 5000;
	S.containers[0] = "cont";
	for (i = 0; i < N_BIG; i++) {
		snprintf(name, sizeof(name), "big/f%06zu.json", i);
		put(name, i % 977);
	}
	put("odd/both", 3);
	put("odd/both/inner.json", 4);
	put("odd/ctl\001char", 5);
	put("odd/keep.json", 6);
	put("small/a.json", 1);
	names = calloc(N_BIG + 16, sizeof(*names));

	/* 1. A cold listing streams: the first page reaches a reader while the rest is held. */
	t = table(c, 10, NULL);
	TAP_OK(t != NULL, "a table with its listers");
	gate_close(1);
	TAP_EQ_INT(listings_open(t, "/datasets/cont/big", "cont", "big/", &l), 0,
	           "open the 100,000-entry folder (no wait)");
	{
		struct taker k = {.limit = 300};

		TAP_EQ_INT(listing_read(t, l, 0, take, &k), 300, "the first 300 entries are read");
		TAP_OK(gate_reached(), "... while the listing is held before its second page");
	}
	s0 = stats(t);
	TAP_OK(s0.pages == 1 && s0.entries == 5000, "one page (5,000 entries) has arrived (%llu)",
	       (unsigned long long)s0.entries);
	gate_open();
	n = read_all(t, l, 190, names);
	TAP_EQ_INT(n, N_BIG, "reading on gives every entry once");
	ok = 1;
	for (i = 0; i < N_BIG && ok; i++) {
		snprintf(want, sizeof(want), "f%06zu.json", i);
		ok = names[i] && strcmp(names[i], want) == 0;
	}
	TAP_OK(ok, "in the service's order, at stable indexes");
	s1 = stats(t);
	TAP_OK(s1.readdir_visited <= s1.readdir_returned + s1.readdir_calls,
	       "entries visited (%llu) <= returned (%llu) + calls (%llu): no rescans",
	       (unsigned long long)s1.readdir_visited, (unsigned long long)s1.readdir_returned,
	       (unsigned long long)s1.readdir_calls);
	s0 = stats(t);
	{
		struct taker k = {.limit = 190};

		TAP_EQ_INT(listing_read(t, l, N_BIG - 10, take, &k), N_BIG,
		           "a read at offset 99,990");
		s1 = stats(t);
		TAP_EQ_INT(s1.readdir_visited - s0.readdir_visited, 10,
		           "visits 10 entries, not 99,990 (offset to index in O(1))");
	}
	listing_unref(l);
	TAP_EQ_INT(S.lists, 1, "one listing (20 pages) for it all");
	TAP_OK(settle(t, 1), "and it is persisted");

	/* 2. Lookups by name: from the listing, no request, every one right. */
	r0 = requests();
	ok = 1;
	for (i = 0; i < N_BIG && ok; i++) {
		snprintf(name, sizeof(name), "f%06zu.json", i);
		ok = listings_lookup(t, "/datasets/cont/big", "cont", "big/", name, strlen(name),
		                     &e) == 0 &&
		     !e.is_dir && e.size == i % 977 && e.seen != 0;
	}
	TAP_OK(ok, "100,000 lookups find each entry with its size");
	TAP_EQ_INT(requests() - r0, 0, "without a request");
	s1 = stats(t);
	TAP_OK(s1.bytes / s1.entries < 100,
	       "memory: %llu bytes an entry (32 + name + ETag + index)",
	       (unsigned long long)(s1.bytes / s1.entries));
	TAP_EQ_INT(listings_lookup(t, "/datasets/cont/big", "cont", "big/", "x\001y", 3, &e),
	           -ENOENT, "a name that could never be shown is not asked for");
	TAP_EQ_INT(requests() - r0, 0, "(no request)");

	/* 3. A folder of dirs and odd names: a folder beats a blob of its name, hidden names. */
	TAP_EQ_INT(listings_open(t, "/datasets/cont/odd", "cont", "odd/", &l), 0, "open odd/");
	for (i = 0; i < 8; i++) {
		free(names[i]);
		names[i] = NULL;
	}
	n = read_all(t, l, 190, names);
	TAP_EQ_INT(n, 2, "odd/ shows two entries");
	TAP_OK(names[0] && names[1] && strcmp(names[0], "both") == 0 &&
	           strcmp(names[1], "keep.json") == 0,
	       "'both' once, 'keep.json'; the control-character name hidden");
	TAP_EQ_INT(listings_lookup(t, "/datasets/cont/odd", "cont", "odd/", "both", 4, &e), 0,
	           "lookup both");
	TAP_OK(e.is_dir, "both is the folder, not the blob");
	listing_unref(l);
	TAP_OK(settle(t, 2), "odd/ is persisted");

	/* 4. Past the TTL: served from the cached listing, one re-list behind it. */
	advance(11);
	lists0 = S.lists;
	put("big/zz-new.json", 42);
	put("big/zz-dir/inner.json", 7);
	gate_close(0);
	r0 = requests();
	TAP_EQ_INT(listings_lookup(t, "/datasets/cont/big", "cont", "big/", "f000123.json", 12, &e),
	           0, "a lookup past the TTL answers");
	TAP_OK(gate_reached(), "from the cached listing, while its re-list is held");
	hm.t = t;
	for (i = 0; i < 3; i++)
		pthread_create(&hth[i], NULL, hammer_main, &hm);
	TAP_EQ_INT(listings_open(t, "/datasets/cont/big", "cont", "big/", &l), 0, "open it again");
	n = read_all(t, l, 190, NULL);
	TAP_EQ_INT(n, N_BIG, "a readdir during the re-list returns the cached entries");
	listing_unref(l);
	for (i = 0; i < 50; i++)
		listings_lookup(t, "/datasets/cont/big", "cont", "big/", "f000007.json", 12, &e);
	s1 = stats(t);
	TAP_EQ_INT(s1.revalidations, 1, "one re-list for the folder (single flight)");
	TAP_OK(s1.stale_answers > 0, "stale answers are counted (%llu)",
	       (unsigned long long)s1.stale_answers);
	TAP_EQ_INT(S.lists - lists0, 1, "one List of the folder since it expired");
	r0 = requests();
	TAP_EQ_INT(listings_lookup(t, "/datasets/cont/big", "cont", "big/", "zz-new.json", 11, &e),
	           0, "a name the cached listing lacks is found");
	TAP_OK(e.size == 42 && !e.is_dir && e.etag[0], "with its properties");
	TAP_EQ_INT(requests() - r0, 1, "by one Get Blob Properties");
	r0 = requests();
	TAP_EQ_INT(listings_lookup(t, "/datasets/cont/big", "cont", "big/", "zz-dir", 6, &e), 0,
	           "a new folder is found");
	TAP_OK(e.is_dir, "as a folder");
	TAP_EQ_INT(requests() - r0, 2, "by two requests (properties, then a one-entry listing)");
	r0 = requests();
	TAP_EQ_INT(listings_lookup(t, "/datasets/cont/big", "cont", "big/", "nope.json", 9, &e),
	           -ENOENT, "a missing name: ENOENT");
	TAP_EQ_INT(requests() - r0, 2, "after at most two requests");
	r0 = requests();
	TAP_EQ_INT(listings_lookup(t, "/datasets/cont/big", "cont", "big/", "nope.json", 9, &e),
	           -ENOENT, "asked again at once: ENOENT");
	TAP_EQ_INT(requests() - r0, 0, "remembered, no request");
	gate_open();
	TAP_OK(settle(t, 3), "the re-list ends and is persisted");
	__atomic_store_n(&hm.stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < 3; i++)
		pthread_join(hth[i], NULL);
	TAP_OK(hm.found > 0, "lookups from three threads meanwhile (%u found)", hm.found);
	TAP_EQ_INT(listings_open(t, "/datasets/cont/big", "cont", "big/", &l), 0, "open it again");
	n = read_all(t, l, 190, NULL);
	TAP_EQ_INT(n, N_BIG + 2, "the new listing has the new blob and folder");
	listing_unref(l);
	TAP_EQ_INT(stats(t).revalidations, 1, "and took its place without another re-list");

	/* 5. Past the stale window with no re-list running: listed afresh. */
	advance(10 + LISTING_STALE_MAX_S);
	s0 = stats(t);
	TAP_EQ_INT(listings_open(t, "/datasets/cont/big", "cont", "big/", &l), 0,
	           "open past TTL + the stale window");
	n = read_all(t, l, 190, NULL);
	TAP_EQ_INT(n, N_BIG + 2, "all entries");
	TAP_EQ_INT(stats(t).fills - s0.fills, 1, "from a cold listing, not the old one");
	listing_unref(l);
	TAP_OK(settle(t, 4), "and persisted");

	/* 6. Update and forget. */
	{
		struct blob_props p = {.size = 99, .etag = "\"0xNEW\""};

		listings_update(t, "cont", "big/", "f000005.json", 12, &p);
		TAP_EQ_INT(listings_lookup(t, "/datasets/cont/big", "cont", "big/", "f000005.json",
		                           12, &e),
		           0, "lookup after an update");
		TAP_OK(e.size == 99 && strcmp(e.etag, "\"0xNEW\"") == 0,
		       "has the new size and ETag");
		del("big/f000006.json");
		listings_forget(t, "cont", "big/", "f000006.json", 12);
		advance(3); /* past the negative TTL: a miss may be asked for */
		TAP_EQ_INT(listings_lookup(t, "/datasets/cont/big", "cont", "big/", "f000006.json",
		                           12, &e),
		           -ENOENT, "a forgotten blob is gone");
		TAP_EQ_INT(listings_open(t, "/datasets/cont/big", "cont", "big/", &l), 0, "open");
		TAP_EQ_INT(read_all(t, l, 190, NULL), N_BIG + 1, "and readdir skips it");
		listing_unref(l);
	}

	/* 7. Containers: listed, and a new one probed by name. */
	TAP_EQ_INT(listings_lookup(t, "/datasets", NULL, NULL, "cont", 4, &e), 0,
	           "container found");
	TAP_OK(e.is_dir, "as a folder");
	pthread_mutex_lock(&S.lock);
	S.containers[1] = "cont2";
	pthread_mutex_unlock(&S.lock);
	advance(3);
	r0 = requests();
	TAP_EQ_INT(listings_lookup(t, "/datasets", NULL, NULL, "cont2", 5, &e), 0,
	           "a new container is found");
	TAP_EQ_INT(requests() - r0, 1, "by one List Containers with its name as prefix");
	pthread_mutex_lock(&S.lock);
	S.containers[1] = NULL;
	pthread_mutex_unlock(&S.lock);

	/* 8. Unreachable storage: the listing stays, marked offline; no probes. */
	pthread_mutex_lock(&S.lock);
	S.fail = -ECONNREFUSED;
	pthread_mutex_unlock(&S.lock);
	advance(11);
	s0 = stats(t);
	TAP_EQ_INT(listings_lookup(t, "/datasets/cont/big", "cont", "big/", "f000009.json", 12, &e),
	           0, "offline: a lookup past the TTL still answers");
	TAP_OK(settle(t, 0), "the re-list fails");
	TAP_EQ_INT(stats(t).offline - s0.offline, 1, "and is counted as served offline");
	r0 = requests();
	TAP_EQ_INT(listings_lookup(t, "/datasets/cont/big", "cont", "big/", "zz-absent", 9, &e),
	           -ENOENT, "offline: a missing name is ENOENT");
	TAP_EQ_INT(requests() - r0, 0, "without a request");
	listings_free(t);

	/* 9. A new table (a remount), storage unreachable: the persisted copy, in parts. */
	t = table(c, 10, NULL);
	TAP_EQ_INT(listings_open(t, "/datasets/cont/big", "cont", "big/", &l), 0, "remount: open");
	n = read_all(t, l, 190, names);
	TAP_EQ_INT(n, N_BIG + 2, "the persisted copy (in parts of 1 MiB) is shown whole");
	TAP_OK(names[N_BIG] && strcmp(names[N_BIG], "zz-dir") == 0, "with the re-list's entries");
	TAP_EQ_INT(listings_lookup(t, "/datasets/cont/big", "cont", "big/", "f000042.json", 12, &e),
	           0, "a lookup in it");
	TAP_OK(e.seen == 0 && e.size == 42 % 977, "is marked as not vouched for (seen 0)");
	listing_unref(l);
	TAP_EQ_INT(stats(t).offline, 1, "served offline");
	pthread_mutex_lock(&S.lock);
	S.fail = 0;
	pthread_mutex_unlock(&S.lock);
	listings_free(t);

	/* 10. Fixed containers: no List Containers, no probe. */
	t = table(NULL, 10, fixed);
	r0 = requests();
	TAP_EQ_INT(listings_lookup(t, "/datasets", NULL, NULL, "beta", 4, &e), 0,
	           "a fixed container");
	TAP_EQ_INT(listings_lookup(t, "/datasets", NULL, NULL, "cont", 4, &e), -ENOENT,
	           "another is not there");
	TAP_EQ_INT(requests() - r0, 0, "no request");
	listings_free(t);

	/* 11. A cold lookup: the first page, then the name alone. */
	t = table(NULL, 10, NULL);
	gate_close(1);
	r0 = requests();
	TAP_EQ_INT(listings_lookup(t, "/datasets/cont/big", "cont", "big/", "f000010.json", 12, &e),
	           0, "cold: a name in the first page");
	TAP_OK(gate_reached(), "answered while the rest is held");
	TAP_EQ_INT(listings_lookup(t, "/datasets/cont/big", "cont", "big/", "f090000.json", 12, &e),
	           0, "cold: a name of a later page");
	TAP_EQ_INT(requests() - r0, 2, "the listing and one Get Blob Properties");
	gate_open();
	TAP_EQ_INT(listings_open(t, "/datasets/cont/big", "cont", "big/", &l), 0, "open");
	TAP_EQ_INT(read_all(t, l, 1000, NULL), N_BIG + 1, "the probed name is listed once");
	listing_unref(l);
	listings_free(t);

	cache_close(c);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	for (i = 0; i < N_BIG + 16; i++)
		free(names[i]);
	free(names);
	for (i = 0; i < S.n; i++)
		free(S.v[i].name);
	free(S.v);
	return tap_done();
}
