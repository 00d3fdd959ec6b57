/*
 * listing.c - folder listings of datasets/ (see listing.h for the contract).
 *
 * The design decision: a listing is an append-only array of fixed 32-byte
 * entries whose names and ETags live in one byte pool, with an
 * open-addressing hash index over the names. Appending never moves an entry
 * to another index, so a readdir offset is an index, a half-filled listing
 * can be read while a lister thread appends pages to it, and entries a
 * probe finds are simply appended. Replacing a listing (a revalidation)
 * builds a new object and swaps the table's pointer; readers keep the
 * object they hold, so their offsets stay valid.
 */
#include "fs/listing.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "cache/cache.h"
#include "fs/errlog.h"
#include "fs/tree.h"

#define TAB_BUCKETS     1024 /* key index of the table */
#define LISTINGS_MAX    512  /* listings kept in memory */
#define MEM_MAX_DEFAULT (128u << 20)
#define WORKERS_DEFAULT 4
#define WORKERS_MAX     16
#define OFFLINE_RETRY_S 2 /* an offline listing's re-list is retried this often */
/* A re-list starts this long after it was asked for: the requests of the
 * operation that asked (a probe, the lookup of the next path component) go
 * first, instead of queueing behind its first page at the server. */
#define RELIST_DELAY_MS 100
#define BATCH_MAX       512        /* entries a lister appends under one lock */
#define NEG_MAX         16         /* names a listing remembers as missing */
#define POOL_MAX        UINT32_MAX /* pool offsets are 32-bit */
#define PERSIST_MAGIC   "mgdcfs-listing 2"

enum { LK_FILE = 0, LK_DIR = 1, LK_GONE = 2 };
enum { FILLING = 0, DONE = 1, FAILED = 2 };

/* One entry: 32 bytes; name and ETag in the pool, the name NUL-terminated. */
struct lent {
	uint32_t name_off, etag_off, hash;
	uint16_t name_len;
	uint8_t etag_len, kind;
	uint64_t size;
	int64_t mtime;
};

struct neg {
	char *name; /* malloc'd; NULL when unused */
	time_t at;
};

struct listing {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* entries appended, a page ended, or the fill ended */
	int refs;            /* __atomic */
	char *key;           /* container "\n" prefix; "" container: the containers */
	char *container;     /* NULL: the containers */
	char *prefix;
	char *path; /* the folder in the mount, for .mgdcfs/errors */

	/* protected by lock */
	struct lent *v;
	size_t n, cap;
	char *pool;
	size_t pool_len, pool_cap;
	uint32_t *slots; /* index + 1; 0 = empty */
	size_t nslots;
	int state, err;
	unsigned pages;
	time_t fetched; /* FILLING: when the fill started; DONE: when it ended */
	int offline;    /* shown from the persisted copy, or kept after a failed re-list */
	struct neg negs[NEG_MAX];
	unsigned neg_next;

	/* protected by the table's lock */
	struct listing *hnext;               /* key index chain */
	struct listing *lru_prev, *lru_next; /* most recently used first */
	int in_table, revalidating;
	time_t retry_at;      /* no re-list before then (after an offline failure) */
	size_t bytes;         /* as last accounted in t->bytes */
	uint64_t persist_sum; /* checksum of the copy last persisted */
};

struct job {
	struct job *next;
	long queued_ms;      /* for the staleness bound */
	struct listing *l;   /* the listing to fill (a reference) */
	struct listing *old; /* revalidation: the listing it replaces (a reference), else NULL */
};

struct listings {
	struct listings_opts o;
	pthread_mutex_t lock;
	pthread_cond_t jobs_cond;
	struct listing *buckets[TAB_BUCKETS]; /* protected by lock */
	struct listing *lru_head, *lru_tail;  /* protected by lock */
	size_t count, bytes;                  /* protected by lock */
	struct job *cold, **cold_tail;        /* protected by lock; user waits on these */
	struct job *reval, **reval_tail;      /* protected by lock */
	int revals_running, revals_max;       /* protected by lock */
	int stop;                             /* protected by lock */
	pthread_t threads[WORKERS_MAX];
	int nthreads;
	struct listings_stats st; /* counters: __atomic; gauges: under lock */
};

#define COUNT(t, f, v) __atomic_add_fetch(&(t)->st.f, (v), __ATOMIC_RELAXED)

/* The table's clock (the unit tests move it), in seconds. */
static time_t now_s(const struct listings *t)
{
	return t->o.clock ? t->o.clock() : time(NULL);
}

static void count_max(uint64_t *at, uint64_t v)
{
	uint64_t cur = __atomic_load_n(at, __ATOMIC_RELAXED);

	while (v > cur &&
	       !__atomic_compare_exchange_n(at, &cur, v, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static uint32_t name_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static char *key_of(const char *container, const char *prefix)
{
	char *k;

	if (asprintf(&k, "%s\n%s", container ? container : "", prefix ? prefix : "") < 0)
		return NULL;
	return k;
}

/* ---- one listing ---- */

static struct listing *listing_new(const char *path, const char *container, const char *prefix,
                                   time_t now)
{
	struct listing *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	l->refs = 1;
	l->key = key_of(container, prefix);
	l->container = container ? strdup(container) : NULL;
	l->prefix = strdup(prefix ? prefix : "");
	l->path = strdup(path ? path : "");
	l->fetched = now;
	if (!l->key || (container && !l->container) || !l->prefix || !l->path) {
		listing_unref(l);
		return NULL;
	}
	return l;
}

static void listing_free(struct listing *l)
{
	int i;

	for (i = 0; i < NEG_MAX; i++)
		free(l->negs[i].name);
	free(l->v);
	free(l->pool);
	free(l->slots);
	free(l->key);
	free(l->container);
	free(l->prefix);
	free(l->path);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static struct listing *listing_ref(struct listing *l)
{
	__atomic_add_fetch(&l->refs, 1, __ATOMIC_RELAXED);
	return l;
}

void listing_unref(struct listing *l)
{
	if (l && __atomic_sub_fetch(&l->refs, 1, __ATOMIC_ACQ_REL) == 0)
		listing_free(l);
}

/* Memory a listing takes. Needs l->lock. */
static size_t listing_bytes_locked(const struct listing *l)
{
	return sizeof(*l) + l->cap * sizeof(*l->v) + l->pool_cap + l->nslots * sizeof(*l->slots) +
	       strlen(l->key) + strlen(l->path) + 2 * strlen(l->prefix) + 16;
}

static const char *lent_name(const struct listing *l, const struct lent *e)
{
	return l->pool + e->name_off;
}

/* Index of `name` in l, or -1. Needs l->lock. */
static ssize_t find_locked(const struct listing *l, const char *name, size_t len, uint32_t h)
{
	size_t mask = l->nslots - 1, i;

	if (!l->nslots)
		return -1;
	for (i = h & mask; l->slots[i]; i = (i + 1) & mask) {
		const struct lent *e = &l->v[l->slots[i] - 1];

		if (e->hash == h && e->name_len == len && memcmp(lent_name(l, e), name, len) == 0)
			return (ssize_t)(l->slots[i] - 1);
	}
	return -1;
}

static int slots_grow_locked(struct listing *l)
{
	size_t ns = l->nslots ? l->nslots * 2 : 64, i, j;
	uint32_t *s = calloc(ns, sizeof(*s));

	if (!s)
		return -ENOMEM;
	for (i = 0; i < l->n; i++) {
		for (j = l->v[i].hash & (ns - 1); s[j]; j = (j + 1) & (ns - 1))
			;
		s[j] = (uint32_t)(i + 1);
	}
	free(l->slots);
	l->slots = s;
	l->nslots = ns;
	return 0;
}

static int pool_put_locked(struct listing *l, const char *s, size_t len, uint32_t *off)
{
	size_t need = l->pool_len + len + 1;

	if (need > POOL_MAX)
		return -EFBIG;
	if (need > l->pool_cap) {
		size_t nc = l->pool_cap ? l->pool_cap * 2 : 4096;
		char *np;

		while (nc < need)
			nc *= 2;
		np = realloc(l->pool, nc);
		if (!np)
			return -ENOMEM;
		l->pool = np;
		l->pool_cap = nc;
	}
	memcpy(l->pool + l->pool_len, s, len);
	l->pool[l->pool_len + len] = '\0';
	*off = (uint32_t)l->pool_len;
	l->pool_len = need;
	return 0;
}

static void set_etag_locked(struct listing *l, struct lent *e, const char *etag)
{
	size_t len = strnlen(etag, BLOB_ETAG_MAX - 1);
	uint32_t off;

	if (len <= e->etag_len) { /* fits where the old one was */
		memcpy(l->pool + e->etag_off, etag, len);
		l->pool[e->etag_off + len] = '\0';
		e->etag_len = (uint8_t)len;
	} else if (pool_put_locked(l, etag, len, &off) == 0) {
		e->etag_off = off;
		e->etag_len = (uint8_t)len;
	}
}

/*
 * Append an entry, or merge it into the entry of the same name: a folder
 * wins over a blob of the same name (what a listing shows), otherwise the
 * first one stays. Needs l->lock. Returns 0 or -errno.
 */
static int add_locked(struct listing *l, const char *name, size_t len, int is_dir, uint64_t size,
                      time_t mtime, const char *etag)
{
	uint32_t h = name_hash(name, len);
	ssize_t at = find_locked(l, name, len, h);
	struct lent e = {0};
	size_t i;
	int rc;

	if (at >= 0) {
		struct lent *o = &l->v[at];

		if (o->kind == LK_GONE || (is_dir && o->kind == LK_FILE)) {
			o->kind = is_dir ? LK_DIR : LK_FILE;
			o->size = is_dir ? 0 : size;
			o->mtime = mtime;
			set_etag_locked(l, o, is_dir ? "" : etag);
		}
		return 0;
	}
	if (l->n >= UINT32_MAX - 1)
		return -EFBIG;
	if ((l->n + 1) * 2 > l->nslots && (rc = slots_grow_locked(l)) != 0)
		return rc;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		struct lent *nv = realloc(l->v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = nc;
	}
	if ((rc = pool_put_locked(l, name, len, &e.name_off)) != 0)
		return rc;
	if (!etag)
		etag = "";
	e.etag_len = (uint8_t)strnlen(etag, BLOB_ETAG_MAX - 1);
	if ((rc = pool_put_locked(l, etag, e.etag_len, &e.etag_off)) != 0)
		return rc;
	e.hash = h;
	e.name_len = (uint16_t)len;
	e.kind = is_dir ? LK_DIR : LK_FILE;
	e.size = is_dir ? 0 : size;
	e.mtime = mtime;
	l->v[l->n] = e;
	for (i = h & (l->nslots - 1); l->slots[i]; i = (i + 1) & (l->nslots - 1))
		;
	l->slots[i] = (uint32_t)(l->n + 1);
	l->n++;
	return 0;
}

static void entry_out_locked(const struct listing *l, const struct lent *e,
                             struct listing_entry *out)
{
	memset(out, 0, sizeof(*out));
	out->is_dir = e->kind == LK_DIR;
	out->size = e->size;
	out->mtime = (time_t)e->mtime;
	memcpy(out->etag, l->pool + e->etag_off, e->etag_len);
	out->etag[e->etag_len] = '\0';
	out->seen = l->offline ? 0 : l->fetched;
}

static int neg_has_locked(const struct listing *l, const char *name, size_t len, time_t now)
{
	int i;

	for (i = 0; i < NEG_MAX; i++)
		if (l->negs[i].name && now - l->negs[i].at < LISTING_NEG_TTL_S &&
		    strlen(l->negs[i].name) == len && memcmp(l->negs[i].name, name, len) == 0)
			return 1;
	return 0;
}

static void neg_add_locked(struct listing *l, const char *name, size_t len, time_t now)
{
	struct neg *g = &l->negs[l->neg_next++ % NEG_MAX];
	char *s = strndup(name, len);

	if (!s)
		return;
	free(g->name);
	g->name = s;
	g->at = now;
}

/* Give back the slack of a finished fill. Needs l->lock. */
static void compact_locked(struct listing *l)
{
	if (l->n && l->n < l->cap) {
		struct lent *nv = realloc(l->v, l->n * sizeof(*nv));

		if (nv) {
			l->v = nv;
			l->cap = l->n;
		}
	}
	if (l->pool_len && l->pool_len < l->pool_cap) {
		char *np = realloc(l->pool, l->pool_len);

		if (np) {
			l->pool = np;
			l->pool_cap = l->pool_len;
		}
	}
}

/* ---- the table ---- */

static size_t bucket_of(const char *key)
{
	return name_hash(key, strlen(key)) % TAB_BUCKETS;
}

static struct listing *tab_find_locked(struct listings *t, const char *key)
{
	struct listing *l;

	for (l = t->buckets[bucket_of(key)]; l; l = l->hnext)
		if (strcmp(l->key, key) == 0)
			return l;
	return NULL;
}

static void lru_unlink_locked(struct listings *t, struct listing *l)
{
	if (l->lru_prev)
		l->lru_prev->lru_next = l->lru_next;
	else
		t->lru_head = l->lru_next;
	if (l->lru_next)
		l->lru_next->lru_prev = l->lru_prev;
	else
		t->lru_tail = l->lru_prev;
	l->lru_prev = l->lru_next = NULL;
}

/* Put l (not in the LRU list) at its head. */
static void lru_push_locked(struct listings *t, struct listing *l)
{
	l->lru_prev = NULL;
	l->lru_next = t->lru_head;
	if (t->lru_head)
		t->lru_head->lru_prev = l;
	t->lru_head = l;
	if (!t->lru_tail)
		t->lru_tail = l;
}

static void lru_front_locked(struct listings *t, struct listing *l)
{
	if (t->lru_head == l)
		return;
	lru_unlink_locked(t, l);
	lru_push_locked(t, l);
}

/* Take l out of the table; the table's reference is returned to the caller to drop. */
static struct listing *tab_remove_locked(struct listings *t, struct listing *l)
{
	struct listing **pp;

	if (!l->in_table)
		return NULL;
	for (pp = &t->buckets[bucket_of(l->key)]; *pp; pp = &(*pp)->hnext)
		if (*pp == l) {
			*pp = l->hnext;
			break;
		}
	l->hnext = NULL;
	lru_unlink_locked(t, l);
	l->in_table = 0;
	t->count--;
	t->bytes -= l->bytes;
	l->bytes = 0;
	return l;
}

/* Put l (a new reference for the table) in the table, in front. */
static void tab_insert_locked(struct listings *t, struct listing *l)
{
	size_t b = bucket_of(l->key);

	l->hnext = t->buckets[b];
	t->buckets[b] = l;
	l->in_table = 1;
	lru_push_locked(t, l);
	t->count++;
}

/*
 * Evict least recently used listings until count and bytes fit, never
 * `keep`. The evicted references are chained on *out (through hnext) for
 * the caller to drop after unlocking.
 */
static void tab_trim_locked(struct listings *t, const struct listing *keep, struct listing **out)
{
	while (t->lru_tail && t->lru_tail != keep &&
	       (t->count > LISTINGS_MAX || t->bytes > t->o.mem_max)) {
		struct listing *l = tab_remove_locked(t, t->lru_tail);

		l->hnext = *out;
		*out = l;
	}
}

static void unref_chain(struct listing *l)
{
	while (l) {
		struct listing *next = l->hnext;

		l->hnext = NULL;
		listing_unref(l);
		l = next;
	}
}

/* Bring the table's account of l's memory up to date. Takes both locks (in order). */
static void account(struct listings *t, struct listing *l)
{
	struct listing *evicted = NULL;
	size_t now;

	pthread_mutex_lock(&t->lock);
	pthread_mutex_lock(&l->lock);
	now = listing_bytes_locked(l);
	pthread_mutex_unlock(&l->lock);
	if (l->in_table) {
		t->bytes = t->bytes - l->bytes + now;
		l->bytes = now;
		tab_trim_locked(t, l, &evicted);
	}
	pthread_mutex_unlock(&t->lock);
	unref_chain(evicted);
}

static int job_push_locked(struct listings *t, struct listing *l, struct listing *old)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j)
		return -ENOMEM;
	j->l = listing_ref(l);
	j->old = old ? listing_ref(old) : NULL;
	j->queued_ms = clock_ms();
	if (old) {
		*t->reval_tail = j;
		t->reval_tail = &j->next;
	} else {
		*t->cold_tail = j;
		t->cold_tail = &j->next;
	}
	pthread_cond_signal(&t->jobs_cond);
	return 0;
}

/* ---- persisted copies ---- */

/* One line per entry: "d|f size mtime etag\tname\n" ("-" for no ETag). */
static int pack_line(const struct listing *l, const struct lent *e, char *buf, size_t cap)
{
	return snprintf(buf, cap, "%c %llu %lld %.*s\t%s\n", e->kind == LK_DIR ? 'd' : 'f',
	                (unsigned long long)e->size, (long long)e->mtime,
	                e->etag_len ? (int)e->etag_len : 1,
	                e->etag_len ? l->pool + e->etag_off : "-", lent_name(l, e));
}

static char *part_key(const char *key, unsigned part)
{
	char *k;

	if (asprintf(&k, "%s\n%u", key, part) < 0)
		return NULL;
	return k;
}

/* Read part 0's header: generation and part count. */
static int persisted_head(struct cache *c, const char *key, unsigned long long *gen,
                          unsigned *parts, size_t *n, int64_t *at)
{
	char *val = NULL;
	size_t vlen;
	int rc = cache_kv_get(c, CACHE_LIST, key, &val, &vlen, at);

	if (rc)
		return rc;
	rc = sscanf(val, PERSIST_MAGIC " %llu %u %zu", gen, parts, n) == 3 ? 0 : -EIO;
	free(val);
	return rc;
}

/*
 * Pack entries from *idx on into buf (at most cap bytes, after `len`
 * already there) and fold them into *sum; stops at a full buffer or at n.
 * Takes l->lock for at most ENTRIES_PER_LOCK entries at a time, so lookups
 * of the folder never wait for a whole pass. Returns the new length.
 */
#define ENTRIES_PER_LOCK 4096
static size_t pack_some(struct listing *l, size_t *idx, size_t n, char *buf, size_t len, size_t cap,
                        uint64_t *sum)
{
	char line[BLOB_NAME_MAX + BLOB_ETAG_MAX + 64];
	size_t stop;

	pthread_mutex_lock(&l->lock);
	for (stop = *idx + ENTRIES_PER_LOCK; *idx < n && *idx < stop; (*idx)++) {
		int ll, b;

		if (l->v[*idx].kind == LK_GONE)
			continue;
		ll = pack_line(l, &l->v[*idx], line, sizeof(line));
		if (ll < 0 || (size_t)ll >= sizeof(line))
			continue;
		if (buf && len + (size_t)ll > cap)
			break;
		for (b = 0; b < ll; b++)
			*sum = (*sum ^ (unsigned char)line[b]) * 1099511628211ull;
		if (buf)
			memcpy(buf + len, line, (size_t)ll);
		len += (size_t)ll;
	}
	pthread_mutex_unlock(&l->lock);
	return len;
}

static int put_part(struct cache *c, const char *key, unsigned part, const char *buf, size_t len)
{
	char *k = part_key(key, part);
	int rc = k ? cache_kv_put(c, CACHE_LIST, k, buf, len) : -ENOMEM;

	free(k);
	return rc;
}

/*
 * Write l's entries as parts 1..N of at most part_max bytes, then part 0
 * (the header naming the generation and N), so a reader never takes a mix
 * of two copies; parts a longer earlier copy left are deleted. A copy equal
 * to the one last written (same checksum) is not rewritten. Called by a
 * lister thread on a finished listing; entries a probe appends meanwhile
 * wait for the next copy.
 */
static void persist(struct listings *t, struct listing *l, uint64_t *sum_io)
{
	struct cache *c = t->o.cache;
	size_t cap = t->o.part_max, len, i = 0, n;
	unsigned long long gen = ((unsigned long long)time(NULL) << 20) ^ (uintptr_t)l, og;
	unsigned parts = 0, old_parts = 0, p;
	uint64_t sum = 1469598103934665603ull, wsum = sum;
	size_t total = 0, on;
	int64_t at;
	char *buf;
	int rc = 0;

	if (!c || cap < 4096)
		return;
	pthread_mutex_lock(&l->lock);
	n = l->n;
	pthread_mutex_unlock(&l->lock);
	while (i < n)
		total = pack_some(l, &i, n, NULL, total, 0, &sum);
	if (sum == *sum_io)
		return;
	if (total > t->o.persist_max) {
		log_info("listing %s: %zu bytes, over the cache's share for one listing; kept in "
		         "memory only",
		         l->path, total);
		return;
	}
	if (!(buf = malloc(cap)))
		return;
	if (persisted_head(c, l->key, &og, &old_parts, &on, &at) != 0)
		old_parts = 0;
	for (i = 0; rc == 0 && (i < n || parts == 0);) {
		size_t first = i;

		len = (size_t)snprintf(buf, cap, PERSIST_MAGIC "-part %llu %u\n", gen, parts + 1);
		do {
			size_t before = i;

			len = pack_some(l, &i, n, buf, len, cap, &wsum);
			if (i == before)
				break; /* full */
		} while (i < n);
		if (i == first && i < n)
			i++; /* cannot happen (a line is under 512 bytes), but must not loop */
		rc = put_part(c, l->key, ++parts, buf, len);
	}
	if (rc == 0) {
		len = (size_t)snprintf(buf, cap, PERSIST_MAGIC " %llu %u %zu\n", gen, parts, n);
		rc = cache_kv_put(c, CACHE_LIST, l->key, buf, len);
	}
	for (p = parts + 1; rc == 0 && p <= old_parts; p++) {
		char *k = part_key(l->key, p);

		if (k)
			cache_kv_del(c, CACHE_LIST, k);
		free(k);
	}
	if (rc == 0) {
		*sum_io = sum;
		COUNT(t, persisted, 1);
	} else {
		log_info("listing %s not persisted: %s", l->path, strerror(-rc));
	}
	free(buf);
}

/* Parse one part's lines into l. Needs l->lock. */
static int unpack_locked(struct listing *l, char *buf)
{
	char *line, *save = NULL;

	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char kind, etag[BLOB_ETAG_MAX], *tab = strchr(line, '\t');
		unsigned long long size;
		long long mtime;
		int rc;

		if (!tab || sscanf(line, "%c %llu %lld %127s", &kind, &size, &mtime, etag) != 4)
			return -EIO;
		rc = add_locked(l, tab + 1, strlen(tab + 1), kind == 'd', size, (time_t)mtime,
		                strcmp(etag, "-") ? etag : "");
		if (rc)
			return rc;
	}
	return 0;
}

/* Load the persisted copy of l's folder into l (empty). Returns 0 and its age, or -errno. */
static int load_persisted(struct listings *t, struct listing *l, int64_t *age)
{
	unsigned long long gen, pg;
	unsigned parts, p, pn;
	size_t n;
	int64_t at;
	int rc;

	if (!t->o.cache)
		return -ENOENT;
	rc = persisted_head(t->o.cache, l->key, &gen, &parts, &n, &at);
	for (p = 1; rc == 0 && p <= parts; p++) {
		char *k = part_key(l->key, p), *val = NULL, *nl;
		size_t vlen;

		rc = k ? cache_kv_get(t->o.cache, CACHE_LIST, k, &val, &vlen, NULL) : -ENOMEM;
		free(k);
		if (rc)
			break;
		nl = strchr(val, '\n');
		if (!nl || sscanf(val, PERSIST_MAGIC "-part %llu %u", &pg, &pn) != 2 || pg != gen ||
		    pn != p) {
			rc = -EIO; /* a part of another copy: this one is incomplete */
		} else {
			pthread_mutex_lock(&l->lock);
			rc = unpack_locked(l, nl + 1);
			pthread_mutex_unlock(&l->lock);
		}
		free(val);
	}
	*age = (int64_t)time(NULL) - at;
	return rc;
}

/* ---- filling ---- */

struct fill {
	struct listings *t;
	struct listing *l;
	struct listing *old; /* revalidating this one */
	size_t plen;
	unsigned skipped;
	size_t n;                       /* batched entries */
	struct blob_entry b[BATCH_MAX]; /* names point into names[] */
	char *names;                    /* BATCH_MAX * BLOB_NAME_MAX would be too much: */
	size_t names_len, names_cap;    /* the batch's names, grown as needed */
	size_t name_at[BATCH_MAX];
};

/* Still wanted? A cold fill nobody else holds, or a re-list of a dropped listing, stops. */
static int fill_wanted(struct fill *f)
{
	int stop;

	int in_table;

	pthread_mutex_lock(&f->t->lock);
	stop = f->t->stop;
	in_table = f->old ? f->old->in_table : 1;
	pthread_mutex_unlock(&f->t->lock);
	if (stop || !in_table)
		return 0;
	return f->old || __atomic_load_n(&f->l->refs, __ATOMIC_RELAXED) > 1;
}

static int fill_flush(struct fill *f)
{
	struct listing *l = f->l;
	size_t i;
	int rc = 0;

	if (!f->n)
		return 0;
	pthread_mutex_lock(&l->lock);
	for (i = 0; i < f->n && rc == 0; i++) {
		const struct blob_entry *e = &f->b[i];

		rc = add_locked(l, f->names + f->name_at[i], e->name_len, e->is_prefix, e->size,
		                e->mtime, e->etag);
	}
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	f->n = 0;
	f->names_len = 0;
	return rc;
}

static int fill_entry(void *ud, const struct blob_entry *ent)
{
	struct fill *f = ud;
	const char *name = ent->name;
	size_t len = ent->name_len;
	struct blob_entry *b;

	if (len < f->plen || memcmp(name, f->l->prefix, f->plen) != 0)
		return 0;
	name += f->plen;
	len -= f->plen;
	if (ent->is_prefix && len > 0 && name[len - 1] == '/')
		len--;
	if (ent->name_unsafe || !tree_name_ok(name, len)) {
		f->skipped++;
		return 0;
	}
	if (f->names_len + len + 1 > f->names_cap) {
		size_t nc = f->names_cap ? f->names_cap * 2 : 16384;
		char *nn;

		while (nc < f->names_len + len + 1)
			nc *= 2;
		if (!(nn = realloc(f->names, nc)))
			return -ENOMEM;
		f->names = nn;
		f->names_cap = nc;
	}
	b = &f->b[f->n];
	*b = *ent;
	b->name = NULL;
	b->name_len = len;
	f->name_at[f->n] = f->names_len;
	memcpy(f->names + f->names_len, name, len);
	f->names[f->names_len + len] = '\0';
	f->names_len += len + 1;
	if (++f->n == BATCH_MAX)
		return fill_flush(f);
	return 0;
}

static int fill_page(void *ud, size_t entries)
{
	struct fill *f = ud;
	int rc = fill_flush(f);

	(void)entries;
	COUNT(f->t, pages, 1);
	pthread_mutex_lock(&f->l->lock);
	f->l->pages++;
	pthread_cond_broadcast(&f->l->cond);
	pthread_mutex_unlock(&f->l->lock);
	if (rc == 0 && !fill_wanted(f))
		rc = -ECANCELED;
	if (rc == 0 && !f->old)
		account(f->t, f->l); /* readers hold what has arrived: count it now */
	return rc;
}

/* The fixed containers of the profile: no request. */
static int fill_fixed(struct listings *t, struct listing *l)
{
	int rc = 0;

	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; t->o.containers[i] && rc == 0; i++)
		if (tree_name_ok(t->o.containers[i], strlen(t->o.containers[i])))
			rc = add_locked(l, t->o.containers[i], strlen(t->o.containers[i]), 1, 0, 0,
			                "");
	pthread_mutex_unlock(&l->lock);
	return rc;
}

/* End a fill: publish its state and wake every reader. */
static void fill_end(struct listing *l, int rc, int offline, time_t now)
{
	pthread_mutex_lock(&l->lock);
	if (rc) {
		l->state = FAILED;
		l->err = rc;
	} else {
		l->state = DONE;
		l->offline = offline;
		l->fetched = now; /* its age counts from its last page */
		compact_locked(l);
	}
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

static void fill_failed_log(struct listing *l, int rc, const struct net_error *e)
{
	if (rc != -ENOENT && rc != -ECANCELED)
		errlog_add(l->path, -rc, "listing failed: %s%s%s", e->code, e->code[0] ? ": " : "",
		           e->msg[0] ? e->msg : strerror(-rc));
}

/* A cold fill: l is in the table (or was), readers may be waiting on it. */
static void run_cold(struct listings *t, struct listing *l, struct fill *f)
{
	struct blob_list_req rq = {
	    .prefix = l->prefix, .delimiter = l->container ? "/" : NULL, .page_done = fill_page};
	struct net_error e = {0};
	struct listing *gone = NULL;
	int64_t age;
	int rc;

	if (!t->o.src.list)
		rc = -ENOENT;
	else if (!l->container && t->o.containers)
		rc = fill_fixed(t, l);
	else
		rc = t->o.src.list(t->o.src.ud, l->container, &rq, fill_entry, f, &e);
	if (rc == 0)
		rc = fill_flush(f);
	if (rc && blob_unreachable(rc) && l->n == 0 && load_persisted(t, l, &age) == 0) {
		COUNT(t, offline, 1);
		errlog_add(l->path, -rc,
		           "storage unreachable (%s); showing the listing cached %lld s ago",
		           e.msg[0] ? e.msg : strerror(-rc), (long long)age);
		fill_end(l, 0, 1, now_s(t));
		pthread_mutex_lock(&t->lock);
		l->retry_at = now_s(t) + OFFLINE_RETRY_S;
		pthread_mutex_unlock(&t->lock);
		account(t, l);
		return;
	}
	if (rc) {
		fill_failed_log(l, rc, &e);
		fill_end(l, rc, 0, now_s(t));
		pthread_mutex_lock(&t->lock);
		gone = tab_remove_locked(t, l);
		pthread_mutex_unlock(&t->lock);
		listing_unref(gone);
		return;
	}
	fill_end(l, 0, 0, now_s(t));
	account(t, l);
	if (l->container || !t->o.containers) {
		uint64_t sum = 0;

		pthread_mutex_lock(&t->lock);
		sum = l->persist_sum;
		pthread_mutex_unlock(&t->lock);
		persist(t, l, &sum);
		pthread_mutex_lock(&t->lock);
		l->persist_sum = sum;
		pthread_mutex_unlock(&t->lock);
	}
}

/* A revalidation: fill nl beside old (which readers keep using), then swap. */
static void run_reval(struct listings *t, struct listing *nl, struct listing *old, struct fill *f)
{
	struct blob_list_req rq = {
	    .prefix = nl->prefix, .delimiter = nl->container ? "/" : NULL, .page_done = fill_page};
	struct net_error e = {0};
	struct listing *gone = NULL, *evicted = NULL;
	uint64_t sum;
	int rc, was_offline;

	if (!nl->container && t->o.containers)
		rc = fill_fixed(t, nl);
	else
		rc = t->o.src.list(t->o.src.ud, nl->container, &rq, fill_entry, f, &e);
	if (rc == 0)
		rc = fill_flush(f);
	fill_end(nl, rc, 0, now_s(t));
	if (rc) {
		pthread_mutex_lock(&old->lock);
		was_offline = old->offline;
		if (blob_unreachable(rc))
			old->offline = 1;
		pthread_mutex_unlock(&old->lock);
		pthread_mutex_lock(&t->lock);
		old->revalidating = 0;
		if (blob_unreachable(rc))
			old->retry_at = now_s(t) + OFFLINE_RETRY_S;
		else if (old->in_table)
			gone = tab_remove_locked(t, old); /* the next access lists it afresh */
		pthread_mutex_unlock(&t->lock);
		listing_unref(gone);
		if (blob_unreachable(rc)) {
			if (!was_offline) {
				COUNT(t, offline, 1);
				errlog_add(
				    old->path, -rc,
				    "storage unreachable (%s); showing the listing fetched %lld s "
				    "ago",
				    e.msg[0] ? e.msg : strerror(-rc),
				    (long long)(now_s(t) - old->fetched));
			}
		} else {
			fill_failed_log(old, rc, &e);
		}
		return;
	}
	pthread_mutex_lock(&t->lock);
	old->revalidating = 0;
	sum = old->persist_sum;
	if (!old->in_table) {
		/* Dropped meanwhile (a refresh, an eviction): its result is not wanted. */
		pthread_mutex_unlock(&t->lock);
		return;
	}
	gone = tab_remove_locked(t, old);
	tab_insert_locked(t, listing_ref(nl));
	pthread_mutex_lock(&nl->lock);
	nl->bytes = listing_bytes_locked(nl);
	pthread_mutex_unlock(&nl->lock);
	t->bytes += nl->bytes;
	tab_trim_locked(t, nl, &evicted);
	pthread_mutex_unlock(&t->lock);
	listing_unref(gone);
	unref_chain(evicted);
	persist(t, nl, &sum);
	pthread_mutex_lock(&t->lock);
	nl->persist_sum = sum;
	pthread_mutex_unlock(&t->lock);
}

static void *lister(void *arg)
{
	struct listings *t = arg;
	struct fill *f = calloc(1, sizeof(*f));

	pthread_mutex_lock(&t->lock);
	for (;;) {
		struct job *j = NULL;

		while (!t->stop) {
			long due = 0;

			if ((j = t->cold)) {
				if (!(t->cold = j->next))
					t->cold_tail = &t->cold;
				break;
			}
			if ((j = t->reval) && t->revals_running < t->revals_max &&
			    (due = j->queued_ms + RELIST_DELAY_MS - clock_ms()) <= 0) {
				if (!(t->reval = j->next))
					t->reval_tail = &t->reval;
				t->revals_running++;
				break;
			}
			j = NULL;
			if (due > 0) {
				struct timespec until;

				clock_gettime(CLOCK_REALTIME, &until);
				until.tv_nsec += (due % 1000) * 1000000L;
				until.tv_sec += due / 1000 + until.tv_nsec / 1000000000L;
				until.tv_nsec %= 1000000000L;
				pthread_cond_timedwait(&t->jobs_cond, &t->lock, &until);
			} else {
				pthread_cond_wait(&t->jobs_cond, &t->lock);
			}
		}
		if (!j)
			break;
		pthread_mutex_unlock(&t->lock);
		if (!f) {
			fill_end(j->l, -ENOMEM, 0, now_s(t));
		} else {
			free(f->names);
			memset(f, 0, sizeof(*f));
			f->t = t;
			f->l = j->l;
			f->old = j->old;
			f->plen = strlen(j->l->prefix);
			if (j->old) {
				COUNT(t, revalidations, 1);
				run_reval(t, j->l, j->old, f);
				count_max(&t->st.longest_relist_ms,
				          (uint64_t)(clock_ms() - j->queued_ms));
			} else {
				COUNT(t, fills, 1);
				run_cold(t, j->l, f);
			}
			if (f->skipped)
				errlog_add(
				    j->l->path, EILSEQ,
				    "%u name(s) not shown: they contain '/', control characters "
				    "or invalid UTF-8, or are '.' or '..'",
				    f->skipped);
		}
		listing_unref(j->l);
		listing_unref(j->old);
		pthread_mutex_lock(&t->lock);
		if (j->old) {
			t->revals_running--;
			pthread_cond_broadcast(&t->jobs_cond);
		}
		free(j);
	}
	pthread_mutex_unlock(&t->lock);
	if (f)
		free(f->names);
	free(f);
	return NULL;
}

/* ---- the interface ---- */

int listings_new(struct listings **out, const struct listings_opts *o)
{
	struct listings *t = calloc(1, sizeof(*t));
	int i, n;

	if (!t)
		return -ENOMEM;
	t->o = *o;
	if (!t->o.mem_max)
		t->o.mem_max = MEM_MAX_DEFAULT;
	if (!t->o.persist_max)
		t->o.persist_max = SIZE_MAX;
	n = t->o.workers > 0 ? t->o.workers : WORKERS_DEFAULT;
	if (n > WORKERS_MAX)
		n = WORKERS_MAX;
	/* Cold fills, which somebody waits for, always find a free lister. */
	t->revals_max = n > 1 ? n / 2 : 1;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->jobs_cond, NULL);
	t->cold_tail = &t->cold;
	t->reval_tail = &t->reval;
	for (i = 0; i < n; i++)
		if (pthread_create(&t->threads[i], NULL, lister, t) != 0)
			break;
	t->nthreads = i;
	if (i == 0) {
		listings_free(t);
		return -EAGAIN;
	}
	*out = t;
	return 0;
}

static void jobs_cancel(struct listings *t, struct job *j)
{
	while (j) {
		struct job *next = j->next;

		fill_end(j->l, -ECANCELED, 0, now_s(t));
		listing_unref(j->l);
		listing_unref(j->old);
		free(j);
		j = next;
	}
}

void listings_free(struct listings *t)
{
	int i;

	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = 1;
	pthread_cond_broadcast(&t->jobs_cond);
	pthread_mutex_unlock(&t->lock);
	for (i = 0; i < t->nthreads; i++)
		pthread_join(t->threads[i], NULL);
	jobs_cancel(t, t->cold);
	jobs_cancel(t, t->reval);
	listings_drop_all(t);
	pthread_cond_destroy(&t->jobs_cond);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/*
 * Queue the re-list of l unless it left the table, one runs already, or an
 * offline failure asked to wait. The caller saw it expired.
 */
static void revalidate(struct listings *t, struct listing *l)
{
	struct listing *nl = NULL;
	time_t now = now_s(t);

	pthread_mutex_lock(&t->lock);
	if (l->in_table && !l->revalidating && now >= l->retry_at && !t->stop &&
	    (nl = listing_new(l->path, l->container, l->prefix, now)) &&
	    job_push_locked(t, nl, l) == 0)
		l->revalidating = 1;
	pthread_mutex_unlock(&t->lock);
	listing_unref(nl); /* the job holds its own reference */
}

/*
 * The listing for key (container, prefix): the table's, or a new one being
 * filled. Returns a reference or NULL (-ENOMEM); *stale_out says the
 * listing expired: the caller answers from it, then calls revalidate() (a
 * lookup asks first, so its request never queues behind a re-list's page).
 */
static struct listing *get(struct listings *t, const char *dir_path, const char *container,
                           const char *prefix, int *stale_out)
{
	struct listing *l, *evicted = NULL, *gone = NULL;
	char *key = key_of(container, prefix);
	time_t now = now_s(t), age = 0;
	int state = DONE, offline = 0;

	*stale_out = 0;
	if (!key)
		return NULL;
	pthread_mutex_lock(&t->lock);
	l = tab_find_locked(t, key);
	if (l) {
		pthread_mutex_lock(&l->lock);
		state = l->state;
		age = now - l->fetched;
		offline = l->offline;
		pthread_mutex_unlock(&l->lock);
		if (state == DONE && !offline && !l->revalidating &&
		    age >= (time_t)t->o.ttl_s + (t->o.ttl_s ? LISTING_STALE_MAX_S : 0)) {
			/* Past the stale window with no re-list under way: listed afresh. */
			gone = tab_remove_locked(t, l);
			l = NULL;
		}
	}
	if (l) {
		lru_front_locked(t, l);
		if (state == DONE && age >= (offline ? OFFLINE_RETRY_S : t->o.ttl_s))
			*stale_out = 1;
		listing_ref(l);
		pthread_mutex_unlock(&t->lock);
		free(key);
		return l;
	}
	if (gone) {
		/* The table's reference, dropped later with the lock released. */
		gone->hnext = evicted;
		evicted = gone;
	}
	l = listing_new(dir_path, container, prefix, now);
	if (!l) {
		pthread_mutex_unlock(&t->lock);
		unref_chain(evicted);
		free(key);
		return NULL;
	}
	if (t->stop) {
		fill_end(l, -ECANCELED, 0, now_s(t));
	} else if (!container && t->o.containers && t->o.src.list) {
		/* Known without a request: filled here, at once. */
		int rc = fill_fixed(t, l);

		fill_end(l, rc, 0, now_s(t));
		if (rc == 0)
			tab_insert_locked(t, listing_ref(l));
	} else if (job_push_locked(t, l, NULL) == 0) {
		tab_insert_locked(t, listing_ref(l));
	} else {
		fill_end(l, -ENOMEM, 0, now_s(t));
	}
	tab_trim_locked(t, l, &evicted);
	pthread_mutex_unlock(&t->lock);
	unref_chain(evicted);
	free(key);
	return l;
}

/* Count an answer from l. Needs l->lock. */
static void note_answer_locked(struct listings *t, const struct listing *l, int stale)
{
	COUNT(t, answers, 1);
	if (stale)
		COUNT(t, stale_answers, 1);
	if (!l->offline)
		count_max(&t->st.max_age_s, (uint64_t)(now_s(t) - l->fetched));
}

int listings_open(struct listings *t, const char *dir_path, const char *container,
                  const char *prefix, struct listing **out)
{
	int stale;
	struct listing *l = get(t, dir_path, container, prefix, &stale);

	if (!l)
		return -ENOMEM;
	pthread_mutex_lock(&l->lock);
	if (l->state == DONE)
		note_answer_locked(t, l, stale);
	pthread_mutex_unlock(&l->lock);
	if (stale)
		revalidate(t, l);
	*out = l;
	return 0;
}

/* Collects the first entry of a probe's one-entry listing. */
static int probe_one(void *ud, const struct blob_entry *ent)
{
	(void)ent;
	*(int *)ud = 1;
	return 0;
}

struct probe_ctr {
	const char *name;
	size_t len;
	int found;
	time_t mtime;
};

static int probe_container(void *ud, const struct blob_entry *ent)
{
	struct probe_ctr *p = ud;

	if (ent->name_len == p->len && memcmp(ent->name, p->name, p->len) == 0) {
		p->found = 1;
		p->mtime = ent->mtime;
	}
	return 0;
}

/*
 * Ask storage for one name of l's folder: Get Blob Properties, then (404) a
 * one-entry List Blobs of "<name>/" for a folder; for a container, a
 * one-entry List Containers with the name as prefix. Returns 0 (found, *out
 * filled), -ENOENT, or the request's error.
 */
static int probe(struct listings *t, struct listing *l, const char *name, size_t len,
                 struct listing_entry *out)
{
	struct net_error e = {0};
	struct blob_list_req rq = {.max_results = 1, .first_page = 1};
	char *full = NULL;
	int rc, any = 0;

	COUNT(t, probes, 1);
	memset(out, 0, sizeof(*out));
	out->seen = now_s(t);
	if (!l->container) {
		struct probe_ctr pc = {.name = name, .len = len};

		if (!(rq.prefix = full = strndup(name, len)))
			return -ENOMEM;
		COUNT(t, probe_requests, 1);
		rc = t->o.src.list(t->o.src.ud, NULL, &rq, probe_container, &pc, &e);
		free(full);
		if (rc == 0 && !pc.found)
			rc = -ENOENT;
		out->is_dir = 1;
		out->mtime = pc.mtime;
		return rc;
	}
	if (asprintf(&full, "%s%.*s/", l->prefix, (int)len, name) < 0)
		return -ENOMEM;
	full[strlen(full) - 1] = '\0';
	if (t->o.src.head) {
		struct blob_props p;

		COUNT(t, probe_requests, 1);
		rc = t->o.src.head(t->o.src.ud, l->container, full, &p, &e);
		if (rc == 0) {
			out->size = p.size;
			out->mtime = p.mtime;
			snprintf(out->etag, sizeof(out->etag), "%s", p.etag);
		}
	} else {
		rc = -ENOENT;
	}
	if (rc == -ENOENT) {
		full[strlen(full)] = '/';
		rq.prefix = full;
		rq.delimiter = "/";
		COUNT(t, probe_requests, 1);
		rc = t->o.src.list(t->o.src.ud, l->container, &rq, probe_one, &any, &e);
		if (rc == 0 && !any)
			rc = -ENOENT;
		if (rc == 0)
			out->is_dir = 1;
	}
	free(full);
	return rc;
}

int listings_lookup(struct listings *t, const char *dir_path, const char *container,
                    const char *prefix, const char *name, size_t name_len,
                    struct listing_entry *out)
{
	struct listing *l;
	uint32_t h = name_hash(name, name_len);
	time_t now;
	ssize_t at;
	int stale, rc, do_probe = 0;

	if (!tree_name_ok(name, name_len))
		return -ENOENT; /* never shown, so never asked for */
	if (!(l = get(t, dir_path, container, prefix, &stale)))
		return -ENOMEM;
	pthread_mutex_lock(&l->lock);
	for (;;) {
		/* A cold listing: its first page, which answers most lookups in one go. */
		while (l->state == FILLING && l->pages == 0)
			pthread_cond_wait(&l->cond, &l->lock);
		now = now_s(t);
		at = find_locked(l, name, name_len, h);
		if (at >= 0 && l->v[at].kind != LK_GONE) {
			entry_out_locked(l, &l->v[at], out);
			if (l->state == DONE)
				note_answer_locked(t, l, stale);
			rc = 0;
			break;
		}
		if (l->state == FAILED) {
			rc = l->err;
			break;
		}
		rc = -ENOENT;
		if (do_probe) /* the probe failed: the listing decides */
			break;
		if (!t->o.src.list || (!l->container && t->o.containers) || l->offline ||
		    neg_has_locked(l, name, name_len, now) ||
		    (l->state == DONE && now - l->fetched < LISTING_NEG_TTL_S))
			break;
		do_probe = 1;
		pthread_mutex_unlock(&l->lock);
		rc = probe(t, l, name, name_len, out);
		pthread_mutex_lock(&l->lock);
		if (rc == 0) {
			COUNT(t, probe_found, 1);
			add_locked(l, name, name_len, out->is_dir, out->size, out->mtime,
			           out->etag);
			pthread_cond_broadcast(&l->cond);
			break;
		}
		if (rc == -ENOENT) {
			neg_add_locked(l, name, name_len, now_s(t));
			break;
		}
		/* A probe that could not ask: a listing still filling has the last word. */
		if (l->state != FILLING) {
			rc = -ENOENT;
			break;
		}
		while (l->state == FILLING)
			pthread_cond_wait(&l->cond, &l->lock);
	}
	pthread_mutex_unlock(&l->lock);
	if (stale)
		revalidate(t, l);
	listing_unref(l);
	return rc;
}

ssize_t listing_read(struct listings *t, struct listing *l, size_t idx, listing_fill_fn fn,
                     void *ud)
{
	uint64_t visited = 0, taken = 0;
	ssize_t res;

	COUNT(t, readdir_calls, 1);
	pthread_mutex_lock(&l->lock);
	for (;;) {
		const struct lent *e;

		if (idx >= l->n) {
			if (l->state == FILLING && taken == 0) {
				pthread_cond_wait(&l->cond, &l->lock);
				continue;
			}
			res =
			    l->state == FAILED && idx >= l->n && taken == 0 ? l->err : (ssize_t)idx;
			break;
		}
		e = &l->v[idx];
		visited++;
		if (e->kind == LK_GONE) {
			idx++;
			continue;
		}
		if (fn(ud, idx, lent_name(l, e), e->kind == LK_DIR, e->size, (time_t)e->mtime)) {
			res = (ssize_t)idx;
			break;
		}
		taken++;
		idx++;
	}
	pthread_mutex_unlock(&l->lock);
	COUNT(t, readdir_visited, visited);
	COUNT(t, readdir_returned, taken);
	return res;
}

/* The table's listing for (container, prefix) with a reference, or NULL. */
static struct listing *peek(struct listings *t, const char *container, const char *prefix)
{
	char *key = key_of(container, prefix);
	struct listing *l = NULL;

	if (!key)
		return NULL;
	pthread_mutex_lock(&t->lock);
	l = tab_find_locked(t, key);
	if (l)
		listing_ref(l);
	pthread_mutex_unlock(&t->lock);
	free(key);
	return l;
}

/* Record p for blob `name` in the table's listing of its folder; p NULL: the blob is gone. */
static void touch_entry(struct listings *t, const char *container, const char *prefix,
                        const char *name, size_t name_len, const struct blob_props *p)
{
	struct listing *l = peek(t, container, prefix);
	ssize_t at;

	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	at = find_locked(l, name, name_len, name_hash(name, name_len));
	if (at >= 0 && !p) {
		l->v[at].kind = LK_GONE;
	} else if (at >= 0 && l->v[at].kind == LK_FILE) {
		struct lent *e = &l->v[at];

		e->size = p->size;
		if (p->mtime)
			e->mtime = p->mtime;
		set_etag_locked(l, e, p->etag);
	}
	pthread_mutex_unlock(&l->lock);
	listing_unref(l);
}

void listings_update(struct listings *t, const char *container, const char *prefix,
                     const char *name, size_t name_len, const struct blob_props *p)
{
	touch_entry(t, container, prefix, name, name_len, p);
}

void listings_forget(struct listings *t, const char *container, const char *prefix,
                     const char *name, size_t name_len)
{
	touch_entry(t, container, prefix, name, name_len, NULL);
}

void listings_drop_all(struct listings *t)
{
	struct listing *chain = NULL;

	pthread_mutex_lock(&t->lock);
	while (t->lru_head) {
		struct listing *l = tab_remove_locked(t, t->lru_head);

		l->hnext = chain;
		chain = l;
	}
	pthread_mutex_unlock(&t->lock);
	unref_chain(chain);
}

void listings_get_stats(struct listings *t, struct listings_stats *out)
{
	const uint64_t *src = (const uint64_t *)&t->st;
	uint64_t *dst = (uint64_t *)out;
	struct listing *l;
	size_t i;

	_Static_assert(sizeof(t->st) % sizeof(uint64_t) == 0, "64-bit counters only");
	for (i = 0; i < sizeof(t->st) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	out->entries = 0;
	out->revalidating = 0;
	pthread_mutex_lock(&t->lock);
	out->listings = t->count;
	out->bytes = t->bytes;
	for (l = t->lru_head; l; l = l->lru_next) {
		pthread_mutex_lock(&l->lock);
		out->entries += l->n;
		pthread_mutex_unlock(&l->lock);
		out->revalidating += l->revalidating != 0;
	}
	pthread_mutex_unlock(&t->lock);
}
