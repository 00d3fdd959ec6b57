/*
 * data.c - datasets/: containers, folders and blobs of the storage account,
 * streamed through the chunk cache.
 *
 * Two decisions shape this file. First, every stat answer comes from the
 * folder's listing (List Blobs with delimiter "/"), kept sorted in memory
 * with a TTL and persisted in the cache's listing database, so `ls -l` of
 * 10,000 files costs the listing pages and a remount can still show (and
 * read cached bytes of) a folder while the storage is unreachable. Second,
 * a blob is read in fixed chunks addressed by (blob, ETag, index): a chunk
 * is served from the open file's buffer, else from LMDB, else fetched with a
 * ranged, If-Match-conditional GET. The ETag is revalidated at open, so a
 * replaced blob is never served from old chunks. Sequential readers get a
 * bounded read-ahead window filled by a small worker pool; memory is the
 * workers' buffers plus one chunk per open file, whatever the file sizes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "base/log.h"
#include "cache/cache.h"
#include "fs/data_i.h"
#include "fs/errlog.h"
#include "fs/fs_i.h"
#include "net/blob.h"

#define LISTINGS_MAX 512       /* folders kept in memory */
#define RA_WORKERS   4         /* read-ahead threads */
#define RA_QUEUE     64        /* pending read-ahead chunks */
#define NEG_TTL_S    2         /* a miss in an older listing refetches it */
#define FRESH_OPEN_S 1         /* a listing this young needs no HEAD at open */
#define DATA_BLKSIZE (1 << 20) /* st_blksize of dataset files */
#define WQ_MAX       1         /* fetched chunks waiting for their put into LMDB */
#define POOL_IDLE_S  2         /* unused chunk buffers are unmapped after this long */

static struct data_counters ctr;
static _Atomic int64_t inflight_now;

void data_get_counters(struct data_counters *out)
{
	/* Every field is a 64-bit counter that workers bump with __atomic_add_fetch: load
	 * each atomically (a plain struct copy is a data race). */
	const uint64_t *src = (const uint64_t *)&ctr;
	uint64_t *dst = (uint64_t *)out;
	size_t i;

	_Static_assert(sizeof(ctr) % sizeof(uint64_t) == 0, "64-bit counters only");
	for (i = 0; i < sizeof(ctr) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	out->inflight = atomic_load(&inflight_now);
}

/* ---- listings ---- */

struct dent {
	char *name; /* one path component */
	int is_dir;
	uint64_t size;
	time_t mtime;
	char etag[BLOB_ETAG_MAX];
};

struct listing {
	struct listing *next;
	char *key; /* container "\n" prefix */
	int refs;  /* protected by lst_lock */
	time_t fetched;
	int stale; /* served from the persisted copy after a failure */
	size_t n;
	struct dent *v; /* sorted by name */
};

static pthread_mutex_t lst_lock = PTHREAD_MUTEX_INITIALIZER;
static struct listing *listings; /* protected by lst_lock; newest first */
static size_t n_listings;        /* protected by lst_lock */

static void listing_free(struct listing *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	free(l->key);
	free(l);
}

static void listing_unref(struct listing *l)
{
	int last;

	pthread_mutex_lock(&lst_lock);
	last = --l->refs == 0;
	pthread_mutex_unlock(&lst_lock);
	if (last)
		listing_free(l);
}

static int dent_cmp(const void *a, const void *b)
{
	const struct dent *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	/* Same name as folder and blob: the folder first, the blob is then dropped. */
	return c ? c : y->is_dir - x->is_dir;
}

static struct dent *listing_find(struct listing *l, const char *name, size_t len)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strncmp(l->v[mid].name, name, len);

		if (c == 0 && l->v[mid].name[len] != '\0')
			c = 1;
		if (c == 0)
			return &l->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct collect {
	const char *prefix;
	size_t plen;
	struct dent *v;
	size_t n, cap;
	unsigned skipped;
	const char *where;
};

static int collect_one(void *ud, const struct blob_entry *ent)
{
	struct collect *c = ud;
	const char *name = ent->name;
	size_t len = ent->name_len;
	struct dent *d;

	if (len < c->plen || memcmp(name, c->prefix, c->plen) != 0)
		return 0;
	name += c->plen;
	len -= c->plen;
	if (ent->is_prefix && len > 0 && name[len - 1] == '/')
		len--;
	if (ent->name_unsafe || !tree_name_ok(name, len)) {
		c->skipped++;
		return 0;
	}
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 64;
		struct dent *nv = realloc(c->v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		c->v = nv;
		c->cap = nc;
	}
	d = &c->v[c->n];
	memset(d, 0, sizeof(*d));
	d->name = strndup(name, len);
	if (!d->name)
		return -ENOMEM;
	d->is_dir = ent->is_prefix;
	d->size = ent->size;
	d->mtime = ent->mtime;
	snprintf(d->etag, sizeof(d->etag), "%s", ent->etag);
	c->n++;
	return 0;
}

/* Serialise a listing for the cache: per entry "d|f size mtime etag\tname\n". */
static char *listing_pack(const struct listing *l, size_t *len)
{
	size_t cap = 64, o = 0, i;
	char *buf;

	for (i = 0; i < l->n; i++)
		cap += strlen(l->v[i].name) + strlen(l->v[i].etag) + 64;
	buf = malloc(cap);
	if (!buf)
		return NULL;
	for (i = 0; i < l->n; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%c %llu %lld %s\t%s\n",
		                      l->v[i].is_dir ? 'd' : 'f', (unsigned long long)l->v[i].size,
		                      (long long)l->v[i].mtime,
		                      l->v[i].etag[0] ? l->v[i].etag : "-", l->v[i].name);
	*len = o;
	return buf;
}

static int listing_unpack(struct listing *l, char *buf)
{
	char *line, *save = NULL;
	size_t cap = 0;

	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char kind, etag[BLOB_ETAG_MAX], *tab = strchr(line, '\t');
		unsigned long long size;
		long long mtime;
		struct dent *d;

		if (!tab || sscanf(line, "%c %llu %lld %63s", &kind, &size, &mtime, etag) != 4)
			return -EIO;
		if (l->n == cap) {
			struct dent *nv;

			cap = cap ? cap * 2 : 64;
			nv = realloc(l->v, cap * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			l->v = nv;
		}
		d = &l->v[l->n];
		memset(d, 0, sizeof(*d));
		d->name = strdup(tab + 1);
		if (!d->name)
			return -ENOMEM;
		d->is_dir = kind == 'd';
		d->size = size;
		d->mtime = (time_t)mtime;
		snprintf(d->etag, sizeof(d->etag), "%s", strcmp(etag, "-") ? etag : "");
		l->n++;
	}
	return 0;
}

static int offline_errno(int rc)
{
	return rc == -ETIMEDOUT || rc == -ECONNREFUSED || rc == -EHOSTUNREACH ||
	       rc == -ECONNRESET || rc == -EAGAIN || rc == -ENETUNREACH || rc == -EIO;
}

/* Fetch the listing of (container, prefix); container NULL lists the containers. */
static int listing_fetch(struct mgdcfs *fs, const char *path, const char *container,
                         const char *prefix, const char *key, struct listing **out)
{
	struct collect col = {0};
	struct net_error e = {0};
	struct listing *l;
	char *packed;
	size_t i, j, plen;
	int rc;

	l = calloc(1, sizeof(*l));
	if (!l || !(l->key = strdup(key))) {
		free(l);
		return -ENOMEM;
	}
	col.prefix = prefix ? prefix : "";
	col.plen = strlen(col.prefix);
	__atomic_add_fetch(&ctr.listings, 1, __ATOMIC_RELAXED);
	if (!fs->blob) {
		rc = -ENOENT;
	} else if (!container && fs->cfg.containers) {
		rc = 0;
		for (i = 0; fs->cfg.containers[i] && rc == 0; i++) {
			struct blob_entry ent = {0};

			ent.name = fs->cfg.containers[i];
			ent.name_len = strlen(ent.name);
			ent.is_prefix = 1;
			rc = collect_one(&col, &ent);
		}
	} else if (!container) {
		rc = blob_list_containers(fs->blob, collect_one, &col, &e);
	} else {
		rc = blob_list(fs->blob, container, col.prefix, "/", collect_one, &col, &e);
	}
	l->v = col.v;
	l->n = col.n;
	if (rc) {
		char *val = NULL;
		size_t vlen;
		int64_t at;

		if (fs->cache && offline_errno(rc) &&
		    cache_kv_get(fs->cache, CACHE_LIST, key, &val, &vlen, &at) == 0) {
			for (i = 0; i < l->n; i++)
				free(l->v[i].name);
			l->n = 0;
			if (listing_unpack(l, val) == 0) {
				free(val);
				__atomic_add_fetch(&ctr.listing_fallbacks, 1, __ATOMIC_RELAXED);
				errlog_add(path, -rc,
				           "storage unreachable (%s); showing the listing cached "
				           "%lld s ago",
				           e.msg[0] ? e.msg : strerror(-rc),
				           (long long)(time(NULL) - at));
				l->stale = 1;
				l->fetched = time(NULL);
				*out = l;
				return 0;
			}
			free(val);
		}
		if (rc != -ENOENT)
			errlog_add(path, -rc, "listing failed: %s%s%s", e.code,
			           e.code[0] ? ": " : "", e.msg[0] ? e.msg : strerror(-rc));
		listing_free(l);
		return rc;
	}
	if (col.skipped)
		errlog_add(path, EILSEQ,
		           "%u name(s) not shown: they contain '/', control characters or invalid "
		           "UTF-8, or are '.' or '..'",
		           col.skipped);
	if (l->n) /* an empty listing has l->v == NULL, which qsort must not see */
		qsort(l->v, l->n, sizeof(*l->v), dent_cmp);
	for (i = j = 0; i < l->n; i++) {
		if (j > 0 && strcmp(l->v[j - 1].name, l->v[i].name) == 0) {
			free(l->v[i].name);
			continue;
		}
		l->v[j++] = l->v[i];
	}
	l->n = j;
	l->fetched = time(NULL);
	if (fs->cache && (packed = listing_pack(l, &plen))) {
		cache_kv_put(fs->cache, CACHE_LIST, key, packed, plen);
		free(packed);
	}
	*out = l;
	return 0;
}

/* Take the listing stored under `key` out of the table. Needs lst_lock. */
static void listing_remove_locked(const char *key)
{
	struct listing **pp, *l;

	for (pp = &listings; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->key, key) == 0) {
			l = *pp;
			*pp = l->next;
			n_listings--;
			if (--l->refs == 0)
				listing_free(l);
			return;
		}
}

/*
 * The listing of (container, prefix), fresh within the listing TTL. Returns
 * a reference (drop with listing_unref) or -errno.
 */
static int listing_get(struct mgdcfs *fs, const char *path, const char *container,
                       const char *prefix, struct listing **out)
{
	struct listing *l, **pp, *fresh;
	char *key;
	time_t now = time(NULL);
	int ttl = fs->cfg.ttl_listing_s, rc;

	if (asprintf(&key, "%s\n%s", container ? container : "", prefix ? prefix : "") < 0)
		return -ENOMEM;
	pthread_mutex_lock(&lst_lock);
	for (l = listings; l; l = l->next)
		if (strcmp(l->key, key) == 0)
			break;
	if (l && now - l->fetched < (l->stale ? 2 : ttl)) {
		l->refs++;
		pthread_mutex_unlock(&lst_lock);
		free(key);
		*out = l;
		return 0;
	}
	pthread_mutex_unlock(&lst_lock);

	rc = listing_fetch(fs, path, container, prefix, key, &fresh);
	if (rc) {
		free(key);
		return rc;
	}
	pthread_mutex_lock(&lst_lock);
	listing_remove_locked(key);
	fresh->refs = 2; /* the table's and the caller's */
	fresh->next = listings;
	listings = fresh;
	n_listings++;
	if (n_listings > LISTINGS_MAX) {
		/* Drop the oldest: the tail. */
		for (pp = &listings; (*pp)->next; pp = &(*pp)->next)
			;
		l = *pp;
		*pp = NULL;
		n_listings--;
		if (--l->refs == 0)
			listing_free(l);
	}
	pthread_mutex_unlock(&lst_lock);
	free(key);
	*out = fresh;
	return 0;
}

/* Forget the cached listing of (container, prefix) so the next lookup refetches. */
static void listing_drop(const char *container, const char *prefix)
{
	char *key;

	if (asprintf(&key, "%s\n%s", container, prefix) < 0)
		return;
	pthread_mutex_lock(&lst_lock);
	listing_remove_locked(key);
	pthread_mutex_unlock(&lst_lock);
	free(key);
}

/* Record a blob's new size and ETag (seen by a HEAD) in its cached listing. */
static void listing_update(const char *container, const char *prefix, const char *leaf,
                           size_t leaf_len, const struct blob_props *p)
{
	struct listing *l;
	char *key;

	if (asprintf(&key, "%s\n%s", container, prefix) < 0)
		return;
	pthread_mutex_lock(&lst_lock);
	for (l = listings; l; l = l->next)
		if (strcmp(l->key, key) == 0) {
			struct dent *d = listing_find(l, leaf, leaf_len);

			if (d && !d->is_dir) {
				d->size = p->size;
				d->mtime = p->mtime ? p->mtime : d->mtime;
				snprintf(d->etag, sizeof(d->etag), "%s", p->etag);
			}
			break;
		}
	pthread_mutex_unlock(&lst_lock);
	free(key);
}

void data_drop_listings(void)
{
	struct listing *l, *next;

	pthread_mutex_lock(&lst_lock);
	for (l = listings; l; l = next) {
		next = l->next;
		if (--l->refs == 0)
			listing_free(l);
	}
	listings = NULL;
	n_listings = 0;
	pthread_mutex_unlock(&lst_lock);
}

/* Split a route into container, the folder prefix ("a/b/" or "") and the last component. */
struct where {
	char container[256];
	char *prefix;     /* malloc'd */
	const char *leaf; /* points into the route's path */
	size_t leaf_len;
	char *blob; /* full blob name (prefix + leaf), malloc'd */
};

static int where_of(const struct route *r, struct where *w)
{
	const char *slash;

	memset(w, 0, sizeof(*w));
	if (r->container_len >= sizeof(w->container))
		return -ENAMETOOLONG;
	memcpy(w->container, r->container, r->container_len);
	w->container[r->container_len] = '\0';
	if (r->kind != N_DS_PATH)
		return 0;
	slash = memrchr(r->path, '/', r->path_len);
	w->leaf = slash ? slash + 1 : r->path;
	w->leaf_len = r->path_len - (size_t)(w->leaf - r->path);
	w->prefix = strndup(r->path, (size_t)(w->leaf - r->path));
	w->blob = strndup(r->path, r->path_len);
	if (!w->prefix || !w->blob) {
		free(w->prefix);
		free(w->blob);
		return -ENOMEM;
	}
	return 0;
}

static void where_release(struct where *w)
{
	free(w->prefix);
	free(w->blob);
}

static void dent_stat(const struct mgdcfs *fs, const struct dent *d, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = d->is_dir ? (S_IFDIR | 0755) : (S_IFREG | 0444);
	st->st_nlink = d->is_dir ? 2 : 1;
	st->st_size = d->is_dir ? 0 : (off_t)d->size;
	st->st_mtime = st->st_ctime = st->st_atime = d->mtime ? d->mtime : fs->started;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	/* The preferred I/O size: cat, cp and Python size their buffers by it, and one
	 * 1 MiB read (the largest FUSE request) costs about what a 128 KiB one does. */
	st->st_blksize = d->is_dir ? 4096 : DATA_BLKSIZE;
	st->st_blocks = (st->st_size + 511) / 512;
}

/* Look up the entry a route names; copies it into *out. */
static int lookup(struct mgdcfs *fs, const char *path, const struct route *r, struct dent *out,
                  time_t *fetched)
{
	struct listing *l;
	struct where w;
	const struct dent *d;
	int rc;

	rc = where_of(r, &w);
	if (rc)
		return rc;
	for (int again = 1;; again = 0) {
		const char *cont = r->kind == N_DS_CONTAINER ? NULL : w.container;

		rc = listing_get(fs, path, cont, r->kind == N_DS_CONTAINER ? NULL : w.prefix, &l);
		if (rc)
			goto out;
		d = r->kind == N_DS_CONTAINER ? listing_find(l, w.container, strlen(w.container))
		                              : listing_find(l, w.leaf, w.leaf_len);
		/* A name the listing lacks may have appeared since (a run's new output
		 * folder): a miss in a listing older than NEG_TTL_S refetches it once. */
		if (d || !again || l->stale || time(NULL) - l->fetched < NEG_TTL_S)
			break;
		listing_unref(l);
		listing_drop(cont ? cont : "", r->kind == N_DS_CONTAINER ? "" : w.prefix);
	}
	if (d) {
		*out = *d;
		out->name = NULL;
		if (fetched)
			*fetched = l->stale ? 0 : l->fetched;
	}
	rc = d ? 0 : -ENOENT;
	listing_unref(l);
out:
	where_release(&w);
	return rc;
}

int data_stat(struct mgdcfs *fs, const char *path, const struct route *r, struct stat *st)
{
	struct dent d;
	int rc = lookup(fs, path, r, &d, NULL);

	if (rc == 0)
		dent_stat(fs, &d, st);
	return rc;
}

int data_list(struct mgdcfs *fs, const char *path, const struct route *r, dir_fill_fn fill,
              void *ud)
{
	struct listing *l;
	struct where w;
	struct dent d;
	char *prefix = NULL;
	size_t i;
	int rc;

	if (r->kind == N_DATASETS) {
		rc = listing_get(fs, path, NULL, NULL, &l);
	} else {
		if (r->kind == N_DS_PATH) {
			rc = lookup(fs, path, r, &d, NULL);
			if (rc)
				return rc;
			if (!d.is_dir)
				return -ENOTDIR;
		} else {
			rc = lookup(fs, path, r, &d, NULL);
			if (rc)
				return rc;
		}
		rc = where_of(r, &w);
		if (rc)
			return rc;
		if (r->kind == N_DS_PATH && asprintf(&prefix, "%s/", w.blob) < 0)
			prefix = NULL;
		rc = listing_get(fs, path, w.container, prefix ? prefix : "", &l);
		free(prefix);
		where_release(&w);
	}
	if (rc)
		return rc;
	for (i = 0; i < l->n; i++) {
		struct stat st;

		dent_stat(fs, &l->v[i], &st);
		if (fill(ud, l->v[i].name, &st))
			break;
	}
	listing_unref(l);
	return 0;
}

/* ---- reads ---- */

struct data_file {
	pthread_mutex_t lock;
	char container[256];
	char *blob;
	char etag[BLOB_ETAG_MAX];
	uint64_t size;
	struct cbuf *cb;   /* the chunk being read; protected by lock */
	uint64_t buf_idx;  /* which chunk cb holds, or UINT64_MAX */
	uint64_t next_off; /* where a sequential reader reads next */
	uint64_t ra_next;  /* first chunk not yet scheduled for read-ahead */
	int seq;           /* sequential streak */
	int changed;       /* the blob changed since the kernel last saw its attributes */
	char path[];
};

/* Chunks being fetched right now, so two readers never fetch the same one. */
struct inflight {
	struct inflight *next;
	char *key;
};
static pthread_mutex_t if_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t if_cond = PTHREAD_COND_INITIALIZER;
static struct inflight *inflight; /* protected by if_lock */

/*
 * A chunk's bytes in memory, shared without copying by the worker that
 * fetched it, the fresh table and the open files reading it. Immutable once
 * published; freed with the last reference.
 */
struct cbuf {
	int refs; /* protected by if_lock */
	size_t cap, len;
	char *id; /* chunk_id, set when published */
	char data[];
};

/*
 * Chunks just fetched (or just read out of LMDB by a read-ahead worker),
 * newest last: the reader that waited for one takes the worker's buffer
 * itself instead of a second copy and checksum out of LMDB, and the put
 * into LMDB is off its path. Bounded: FRESH_MAX chunks, one read-ahead
 * window; with the workers' buffers, the reader's and WQ_MAX queued puts,
 * that is the daemon's memory while streaming (~11 chunks at most).
 */
#define FRESH_MAX RA_WORKERS
static struct cbuf *fresh[FRESH_MAX]; /* protected by if_lock */
static size_t n_fresh;                /* protected by if_lock */

/*
 * Chunk buffers are mapped, not malloc'd: glibc would keep freed 8 MiB blocks
 * in per-thread arenas, so RSS would grow with every thread that ever held a
 * chunk. Freed buffers are kept for reuse: mapping and faulting in a fresh
 * 8 MiB per chunk, then unmapping it (a TLB shootdown), was a third of the
 * daemon's CPU on a cold read. The pool never holds more than were in use at
 * once, and the cache writer empties it after POOL_IDLE_S without reads.
 */
#define POOL_MAX 8
static struct cbuf *pool[POOL_MAX]; /* protected by if_lock */
static size_t n_pool;               /* protected by if_lock */

static struct cbuf *cbuf_new(size_t cap)
{
	struct cbuf *b = NULL;
	void *m;

	pthread_mutex_lock(&if_lock);
	if (n_pool && pool[n_pool - 1]->cap == cap)
		b = pool[--n_pool];
	pthread_mutex_unlock(&if_lock);
	if (!b) {
		m = mmap(NULL, sizeof(*b) + cap, PROT_READ | PROT_WRITE,
		         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			return NULL;
		b = m;
		b->cap = cap;
	}
	b->refs = 1;
	b->len = 0;
	b->id = NULL;
	return b;
}

static void cbuf_free(struct cbuf *b)
{
	free(b->id);
	b->id = NULL;
	pthread_mutex_lock(&if_lock);
	if (n_pool < POOL_MAX) {
		pool[n_pool++] = b;
		b = NULL;
	}
	pthread_mutex_unlock(&if_lock);
	if (b)
		munmap(b, sizeof(*b) + b->cap);
}

static void cbuf_unref(struct cbuf *b)
{
	int last;

	if (!b)
		return;
	pthread_mutex_lock(&if_lock);
	last = --b->refs == 0;
	pthread_mutex_unlock(&if_lock);
	if (last)
		cbuf_free(b);
}

/* The caller's buffer if nobody else holds it (to read the next chunk into), else a new one. */
static struct cbuf *cbuf_reuse(struct cbuf *b, size_t cap)
{
	int mine;

	if (b) {
		pthread_mutex_lock(&if_lock);
		mine = b->refs == 1 && !b->id;
		pthread_mutex_unlock(&if_lock);
		if (mine)
			return b;
		cbuf_unref(b);
	}
	return cbuf_new(cap);
}

static struct cbuf *fresh_find_locked(const char *id)
{
	size_t i;

	for (i = 0; i < n_fresh; i++)
		if (strcmp(fresh[i]->id, id) == 0)
			return fresh[i];
	return NULL;
}

/*
 * Take chunk `id` out of the fresh table (the table's reference passes to the
 * caller), or NULL. Taken, not shared: the table holds only chunks nobody has
 * read yet, and a later open reads the chunk from LMDB like any cache hit.
 */
static struct cbuf *fresh_get(const char *id)
{
	struct cbuf *b;
	size_t i;

	pthread_mutex_lock(&if_lock);
	b = fresh_find_locked(id);
	if (b) {
		for (i = 0; fresh[i] != b; i++)
			;
		memmove(fresh + i, fresh + i + 1, (n_fresh - i - 1) * sizeof(*fresh));
		n_fresh--;
	}
	pthread_mutex_unlock(&if_lock);
	return b;
}

/* Publish b as chunk `id` (copied); the table takes its own reference; wakes waiters. */
static void fresh_add(struct cbuf *b, const char *id)
{
	struct cbuf *old = NULL;

	if (b->id || !(b->id = strdup(id)))
		return;
	pthread_mutex_lock(&if_lock);
	if (fresh_find_locked(id)) {
		pthread_mutex_unlock(&if_lock);
		return;
	}
	b->refs++;
	if (n_fresh == FRESH_MAX) {
		old = fresh[0];
		memmove(fresh, fresh + 1, (FRESH_MAX - 1) * sizeof(*fresh));
		n_fresh--;
	}
	fresh[n_fresh++] = b;
	pthread_cond_broadcast(&if_cond);
	pthread_mutex_unlock(&if_lock);
	cbuf_unref(old);
}

/* Unmap the pooled buffers (called by the cache writer when reads have paused). */
static void pool_trim(void)
{
	struct cbuf *b;

	for (;;) {
		pthread_mutex_lock(&if_lock);
		b = n_pool ? pool[--n_pool] : NULL;
		pthread_mutex_unlock(&if_lock);
		if (!b)
			break;
		munmap(b, sizeof(*b) + b->cap);
	}
}

static void fresh_clear(void)
{
	struct cbuf *b;

	for (;;) {
		pthread_mutex_lock(&if_lock);
		b = n_fresh ? fresh[--n_fresh] : NULL;
		pthread_mutex_unlock(&if_lock);
		if (!b)
			break;
		cbuf_unref(b);
	}
	pool_trim();
}

/*
 * The cache writer: one thread puts fetched chunks into LMDB, so a put (a
 * checksum, a copy into LMDB's page buffer and a pwrite) is on neither a
 * reader's path nor a read-ahead worker's, and LMDB's 8 MiB page buffer is
 * malloc'd and freed by one thread (one arena, reused, no page faults).
 * Until its put is done a queued chunk is served from the queue. Bounded:
 * when WQ_MAX chunks wait, the thread that fetched a chunk puts it itself.
 * Drained at unmount, so what was read before a clean unmount is cached.
 */
struct wjob {
	struct cbuf *b;
	char *id;
	char container[256];
	char *blob;
	char etag[BLOB_ETAG_MAX];
	uint64_t idx;
};
static pthread_mutex_t wq_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wq_cond = PTHREAD_COND_INITIALIZER;
static struct wjob wq[WQ_MAX];   /* protected by wq_lock; the head stays queued while put */
static size_t wq_head, wq_count; /* protected by wq_lock */
static int wq_stop, wq_started;  /* protected by wq_lock */
static pthread_t wq_thread;

static void fill_key(struct mgdcfs *fs, struct cache_key *k, const char *container,
                     const char *blob, const char *etag, uint64_t idx);

/* Queue b (chunk `id`) for its put; takes a reference. Returns 0, or -1 if the
 * caller must put it itself (no writer, queue full). */
static int wq_push(const char *container, const char *blob, const char *etag, uint64_t idx,
                   struct cbuf *b, const char *id)
{
	struct wjob *j;

	pthread_mutex_lock(&wq_lock);
	if (!wq_started || wq_stop || wq_count == WQ_MAX) {
		pthread_mutex_unlock(&wq_lock);
		return -1;
	}
	j = &wq[(wq_head + wq_count) % WQ_MAX];
	j->id = strdup(id);
	j->blob = strdup(blob);
	if (!j->id || !j->blob) {
		free(j->id);
		free(j->blob);
		pthread_mutex_unlock(&wq_lock);
		return -1;
	}
	snprintf(j->container, sizeof(j->container), "%s", container);
	snprintf(j->etag, sizeof(j->etag), "%s", etag);
	j->idx = idx;
	j->b = b;
	pthread_mutex_lock(&if_lock);
	b->refs++;
	pthread_mutex_unlock(&if_lock);
	wq_count++;
	pthread_cond_signal(&wq_cond);
	pthread_mutex_unlock(&wq_lock);
	return 0;
}

/* A reference to chunk `id` if it waits for its put, else NULL. */
static struct cbuf *wq_get(const char *id)
{
	struct cbuf *b = NULL;
	size_t q;

	pthread_mutex_lock(&wq_lock);
	for (q = 0; q < wq_count; q++) {
		struct wjob *j = &wq[(wq_head + q) % WQ_MAX];

		if (strcmp(j->id, id) == 0) {
			b = j->b;
			pthread_mutex_lock(&if_lock);
			b->refs++;
			pthread_mutex_unlock(&if_lock);
			break;
		}
	}
	pthread_mutex_unlock(&wq_lock);
	return b;
}

static void *wq_writer(void *arg)
{
	struct mgdcfs *fs = arg;

	pthread_mutex_lock(&wq_lock);
	for (;;) {
		struct cache_key k;
		struct wjob j;
		struct timespec until;

		while (wq_count == 0 && !wq_stop) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += POOL_IDLE_S;
			if (pthread_cond_timedwait(&wq_cond, &wq_lock, &until) == ETIMEDOUT &&
			    wq_count == 0) {
				pthread_mutex_unlock(&wq_lock);
				pool_trim();
				pthread_mutex_lock(&wq_lock);
			}
		}
		if (wq_count == 0)
			break; /* stopping, and drained */
		j = wq[wq_head];
		pthread_mutex_unlock(&wq_lock);
		fill_key(fs, &k, j.container, j.blob, j.etag, j.idx);
		cache_put_chunk(fs->cache, &k, j.b->data, j.b->len);
		pthread_mutex_lock(&wq_lock);
		wq_head = (wq_head + 1) % WQ_MAX;
		wq_count--;
		pthread_mutex_unlock(&wq_lock);
		free(j.id);
		free(j.blob);
		cbuf_unref(j.b);
		pthread_mutex_lock(&wq_lock);
	}
	pthread_mutex_unlock(&wq_lock);
	return NULL;
}

static char *chunk_id(const char *container, const char *blob, const char *etag, uint64_t idx)
{
	char *k;

	if (asprintf(&k, "%s\n%s\n%s\n%llu", container, blob, etag, (unsigned long long)idx) < 0)
		return NULL;
	return k;
}

/* Claim the fetch of `id`: returns 1 if we must fetch, 0 after another thread finished it. */
static int inflight_claim(const char *id)
{
	struct inflight *f;
	int waited = 0;

	pthread_mutex_lock(&if_lock);
	for (;;) {
		for (f = inflight; f; f = f->next)
			if (strcmp(f->key, id) == 0)
				break;
		if (!f)
			break;
		/* Published before its put into LMDB finished: no need to wait for the put. */
		if (fresh_find_locked(id)) {
			pthread_mutex_unlock(&if_lock);
			return 0;
		}
		waited = 1;
		pthread_cond_wait(&if_cond, &if_lock);
	}
	if (waited) {
		pthread_mutex_unlock(&if_lock);
		return 0;
	}
	f = malloc(sizeof(*f));
	if (f && (f->key = strdup(id))) {
		f->next = inflight;
		inflight = f;
	} else {
		free(f);
	}
	pthread_mutex_unlock(&if_lock);
	return 1;
}

static void inflight_release(const char *id)
{
	struct inflight **pp, *f;

	pthread_mutex_lock(&if_lock);
	for (pp = &inflight; (f = *pp); pp = &f->next)
		if (strcmp(f->key, id) == 0) {
			*pp = f->next;
			free(f->key);
			free(f);
			break;
		}
	pthread_cond_broadcast(&if_cond);
	pthread_mutex_unlock(&if_lock);
}

static void read_failed(const char *path, const char *etag, uint64_t off, size_t len, ssize_t got,
                        const struct net_error *e)
{
	if (got == -ESTALE)
		errlog_add(
		    path, ESTALE,
		    "the blob changed in storage while it was open (ETag %s is gone); open it "
		    "again to read the new version",
		    etag);
	else
		errlog_add(path, (int)-got, "read of bytes %llu-%llu failed: %s%s%s",
		           (unsigned long long)off, (unsigned long long)(off + len - 1), e->code,
		           e->code[0] ? ": " : "", e->msg[0] ? e->msg : strerror((int)-got));
}

static void fill_key(struct mgdcfs *fs, struct cache_key *k, const char *container,
                     const char *blob, const char *etag, uint64_t idx)
{
	k->account = fs->cfg.storage_account;
	k->container = container;
	k->blob = blob;
	k->etag = etag;
	k->index = idx;
}

/*
 * Get chunk `idx` of a blob into *out (a reference; drop it with cbuf_unref):
 * the fresh table, else LMDB, else the network (then stored). A read-ahead
 * worker (path NULL) publishes what it got in the fresh table.
 * `reuse` is the caller's previous buffer, consumed. With `small` set, a
 * chunk that only the network has is not fetched: -EAGAIN tells the caller
 * to read just the bytes it needs. Returns 0 or -errno.
 */
static int chunk_get(struct mgdcfs *fs, const char *path, const char *container, const char *blob,
                     const char *etag, uint64_t size, uint64_t idx, struct cbuf *reuse, int small,
                     struct cbuf **out)
{
	uint64_t csz = fs->cfg.chunk_size, off = idx * csz;
	size_t len = (size_t)(size - off < csz ? size - off : csz);
	struct cache_key k;
	struct net_error e = {0};
	struct cbuf *b;
	char *id;
	ssize_t got;

	*out = NULL;
	if (!(id = chunk_id(container, blob, etag, idx))) {
		cbuf_unref(reuse);
		return -ENOMEM;
	}
	fill_key(fs, &k, container, blob, etag, idx);
	for (;;) {
		if ((b = fresh_get(id)) || (b = wq_get(id))) {
			cbuf_unref(reuse);
			free(id);
			__atomic_add_fetch(&ctr.fresh_hits, 1, __ATOMIC_RELAXED);
			*out = b;
			return 0;
		}
		if (fs->cache) {
			if (!(reuse = cbuf_reuse(reuse, csz))) {
				free(id);
				return -ENOMEM;
			}
			got = cache_get_chunk(fs->cache, &k, reuse->data, len);
			if (got == (ssize_t)len) {
				__atomic_add_fetch(&ctr.cache_bytes_served, (uint64_t)len,
				                   __ATOMIC_RELAXED);
				reuse->len = len;
				if (!path) /* a read-ahead worker: for the reader to take */
					fresh_add(reuse, id);
				free(id);
				*out = reuse;
				return 0;
			}
		}
		/* Claimed: we fetch. Not claimed: another thread just fetched it, so look
		 * again (and claim it ourselves if that fetch failed). */
		if (inflight_claim(id))
			break;
	}
	if (small) {
		inflight_release(id);
		cbuf_unref(reuse);
		free(id);
		return -EAGAIN;
	}
	if (!(b = cbuf_reuse(reuse, csz))) {
		inflight_release(id);
		free(id);
		return -ENOMEM;
	}
	atomic_fetch_add(&inflight_now, 1);
	got = blob_get_range(fs->blob, container, blob, off, len, b->data, etag, NULL, &e);
	atomic_fetch_sub(&inflight_now, 1);
	if (got == (ssize_t)len) {
		b->len = len;
		__atomic_add_fetch(&ctr.chunk_fetches, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&ctr.fetch_bytes, (uint64_t)len, __ATOMIC_RELAXED);
		if (!path)
			fresh_add(b, id);
		if (fs->cache && wq_push(container, blob, etag, idx, b, id) != 0)
			cache_put_chunk(fs->cache, &k, b->data, len);
	} else if (got >= 0) {
		got = -EIO;
	}
	if (got < 0 && path)
		read_failed(path, etag, off, len, got, &e);
	inflight_release(id);
	free(id);
	if (got < 0) {
		cbuf_unref(b);
		return (int)got;
	}
	*out = b;
	return 0;
}

/* ---- read-ahead workers ---- */

struct ra_job {
	char container[256];
	char *blob;
	char etag[BLOB_ETAG_MAX];
	uint64_t size, idx;
};

static pthread_mutex_t ra_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ra_cond = PTHREAD_COND_INITIALIZER;
static struct ra_job ra_queue[RA_QUEUE]; /* protected by ra_lock */
static size_t ra_head, ra_count;         /* protected by ra_lock */
static int ra_stop;                      /* protected by ra_lock */
static pthread_t ra_threads[RA_WORKERS];
static int ra_started;

static void *ra_worker(void *arg)
{
	struct mgdcfs *fs = arg;

	for (;;) {
		struct cbuf *b;
		struct ra_job j;

		pthread_mutex_lock(&ra_lock);
		while (!ra_stop && ra_count == 0)
			pthread_cond_wait(&ra_cond, &ra_lock);
		if (ra_stop) {
			pthread_mutex_unlock(&ra_lock);
			break;
		}
		j = ra_queue[ra_head];
		ra_head = (ra_head + 1) % RA_QUEUE;
		ra_count--;
		pthread_mutex_unlock(&ra_lock);

		/* The chunk lands in the fresh table; the worker keeps no buffer between jobs,
		 * so RSS stays flat when idle. */
		if (chunk_get(fs, NULL, j.container, j.blob, j.etag, j.size, j.idx, NULL, 0, &b) ==
		    0)
			cbuf_unref(b);
		free(j.blob);
	}
	return NULL;
}

static void ra_schedule(struct mgdcfs *fs, struct data_file *f, uint64_t idx)
{
	struct ra_job *j;

	size_t q;

	pthread_mutex_lock(&ra_lock);
	if (!ra_started || ra_count == RA_QUEUE) {
		__atomic_add_fetch(&ctr.readahead_dropped, 1, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&ra_lock);
		return;
	}
	/* Random readers ask for the same chunk again and again: queue it once. */
	for (q = 0; q < ra_count; q++) {
		j = &ra_queue[(ra_head + q) % RA_QUEUE];
		if (j->idx == idx && strcmp(j->blob, f->blob) == 0 &&
		    strcmp(j->etag, f->etag) == 0 && strcmp(j->container, f->container) == 0) {
			pthread_mutex_unlock(&ra_lock);
			return;
		}
	}
	j = &ra_queue[(ra_head + ra_count) % RA_QUEUE];
	memcpy(j->container, f->container, sizeof(j->container));
	j->blob = strdup(f->blob);
	if (!j->blob) {
		pthread_mutex_unlock(&ra_lock);
		return;
	}
	memcpy(j->etag, f->etag, sizeof(j->etag));
	j->size = f->size;
	j->idx = idx;
	ra_count++;
	__atomic_add_fetch(&ctr.readahead_jobs, 1, __ATOMIC_RELAXED);
	pthread_cond_signal(&ra_cond);
	pthread_mutex_unlock(&ra_lock);
}

void data_start(struct mgdcfs *fs)
{
	int i, n = (int)fs->cfg.readahead_chunks;

	if (!fs->cache || !fs->blob)
		return;
	pthread_mutex_lock(&wq_lock);
	wq_stop = 0;
	wq_started = pthread_create(&wq_thread, NULL, wq_writer, fs) == 0;
	pthread_mutex_unlock(&wq_lock);
	if (n == 0)
		return;
	if (n > RA_WORKERS)
		n = RA_WORKERS;
	ra_stop = 0;
	for (i = 0; i < n; i++)
		if (pthread_create(&ra_threads[i], NULL, ra_worker, fs) != 0)
			break;
	ra_started = i;
}

void data_stop(struct mgdcfs *fs)
{
	int i;

	(void)fs;
	pthread_mutex_lock(&ra_lock);
	ra_stop = 1;
	pthread_cond_broadcast(&ra_cond);
	pthread_mutex_unlock(&ra_lock);
	for (i = 0; i < ra_started; i++)
		pthread_join(ra_threads[i], NULL);
	pthread_mutex_lock(&wq_lock);
	wq_stop = 1;
	pthread_cond_broadcast(&wq_cond);
	i = wq_started;
	pthread_mutex_unlock(&wq_lock);
	if (i)
		pthread_join(wq_thread, NULL); /* the writer drains its queue first */
	pthread_mutex_lock(&wq_lock);
	wq_started = 0;
	pthread_mutex_unlock(&wq_lock);
	fresh_clear(); /* no worker is left; FUSE has stopped reading */
	while (ra_count) {
		free(ra_queue[ra_head].blob);
		ra_head = (ra_head + 1) % RA_QUEUE;
		ra_count--;
	}
	ra_started = 0;
}

int data_open(struct mgdcfs *fs, const char *path, const struct route *r, struct data_file **out)
{
	struct blob_props p;
	struct net_error e = {0};
	struct data_file *f;
	struct dent d;
	struct where w;
	time_t fetched = 0;
	size_t plen = strlen(path) + 1;
	int rc, changed = 0;

	rc = lookup(fs, path, r, &d, &fetched);
	if (rc)
		return rc;
	if (d.is_dir)
		return -EISDIR;
	rc = where_of(r, &w);
	if (rc)
		return rc;
	/* Revalidate the ETag unless the listing is brand new: a replaced blob must never be
	 * served from the chunks of its previous version. */
	if (fetched == 0 || time(NULL) - fetched >= FRESH_OPEN_S) {
		__atomic_add_fetch(&ctr.heads, 1, __ATOMIC_RELAXED);
		rc = blob_get_props(fs->blob, w.container, w.blob, &p, &e);
		if (rc == 0) {
			if (strcmp(p.etag, d.etag) != 0 || p.size != d.size) {
				changed = 1;
				listing_update(w.container, w.prefix, w.leaf, w.leaf_len, &p);
				if (fs->cache && d.etag[0])
					cache_drop_blob(fs->cache, fs->cfg.storage_account,
					                w.container, w.blob, p.etag);
			}
			snprintf(d.etag, sizeof(d.etag), "%s", p.etag);
			d.size = p.size;
		} else if (rc == -ENOENT) {
			listing_drop(w.container, w.prefix);
			where_release(&w);
			return -ENOENT;
		} else if (!offline_errno(rc)) {
			errlog_add(path, -rc, "%s%s%s", e.code, e.code[0] ? ": " : "",
			           e.msg[0] ? e.msg : strerror(-rc));
			where_release(&w);
			return rc;
		}
		/* Offline: the listing's ETag; only cached chunks of it can be served. */
	}
	f = calloc(1, sizeof(*f) + plen);
	if (!f || !(f->blob = strdup(w.blob))) {
		free(f);
		where_release(&w);
		return -ENOMEM;
	}
	pthread_mutex_init(&f->lock, NULL);
	memcpy(f->path, path, plen);
	snprintf(f->container, sizeof(f->container), "%s", w.container);
	snprintf(f->etag, sizeof(f->etag), "%s", d.etag);
	f->size = d.size;
	f->changed = changed;
	f->buf_idx = UINT64_MAX;
	where_release(&w);
	*out = f;
	return 0;
}

/* Read [pos, pos+n) of f straight from storage into buf; no chunk is stored. */
static int read_direct(struct mgdcfs *fs, struct data_file *f, char *buf, uint64_t pos, size_t n)
{
	struct net_error e = {0};
	ssize_t got;

	__atomic_add_fetch(&ctr.direct_reads, 1, __ATOMIC_RELAXED);
	atomic_fetch_add(&inflight_now, 1);
	got = blob_get_range(fs->blob, f->container, f->blob, pos, n, buf, f->etag, NULL, &e);
	atomic_fetch_sub(&inflight_now, 1);
	if (got >= 0 && got != (ssize_t)n)
		got = -EIO;
	if (got < 0)
		read_failed(f->path, f->etag, pos, n, got, &e);
	return got < 0 ? (int)got : 0;
}

ssize_t data_read(struct mgdcfs *fs, struct data_file *f, char *buf, size_t size, off_t off)
{
	uint64_t csz = fs->cfg.chunk_size, pos = (uint64_t)off, end, i;
	size_t done = 0;
	int got = 0;

	if (off < 0)
		return -EINVAL;
	/* At or past EOF, and empty blobs, are answered here: no request is ever sent for
	 * them (Azurite answers such ranges wrongly). */
	if (pos >= f->size || size == 0)
		return 0;
	end = pos + size < f->size ? pos + size : f->size;
	pthread_mutex_lock(&f->lock);
	/* Sequential detection and a bounded read-ahead window. The kernel's read-ahead
	 * sends several reads at once and they reach us in any order, so a read up to a
	 * chunk behind (or ahead of) where the last one ended is still sequential. */
	if (pos + csz >= f->next_off && pos <= f->next_off + csz) {
		f->seq++;
	} else {
		f->seq = 0;
		f->ra_next = 0;
	}
	if (end > f->next_off || f->seq == 0)
		f->next_off = end;
	if (f->seq >= 2 && fs->cache) {
		uint64_t first = pos / csz + 1, last = first + fs->cfg.readahead_chunks;
		uint64_t nchunks = (f->size + csz - 1) / csz;

		if (f->ra_next < first)
			f->ra_next = first;
		for (i = f->ra_next; i < last && i < nchunks; i++)
			ra_schedule(fs, f, i);
		if (i > f->ra_next)
			f->ra_next = i;
	}
	while (pos < end) {
		uint64_t idx = pos / csz, in = pos - idx * csz;
		/* The bytes of this read that fall in chunk idx. */
		size_t here = (size_t)((idx + 1) * csz < end ? (idx + 1) * csz - pos : end - pos);
		size_t n;

		if (f->buf_idx != idx && f->seq < 2 && fs->cache) {
			/* A random read of a cached chunk: just its bytes, checked block by
			 * block, not the whole chunk copied and checked for 4 KiB. */
			struct cache_key k;
			ssize_t r;

			fill_key(fs, &k, f->container, f->blob, f->etag, idx);
			r = cache_get_range(fs->cache, &k, in, buf + done, here);
			if (r == (ssize_t)here) {
				__atomic_add_fetch(&ctr.cache_bytes_served, (uint64_t)here,
				                   __ATOMIC_RELAXED);
				done += here;
				pos += here;
				continue;
			}
		}
		if (f->buf_idx != idx) {
			struct cbuf *b;

			/* A first or random read of a chunk only storage has: fetch just these
			 * bytes (time to first byte is one small GET, not a whole chunk) and
			 * let a worker bring the chunk into the cache. */
			got = chunk_get(fs, f->path, f->container, f->blob, f->etag, f->size, idx,
			                f->cb, f->seq < 2 && fs->cache && ra_started, &b);
			f->cb = NULL;
			f->buf_idx = UINT64_MAX;
			if (got == -EAGAIN) {
				got = read_direct(fs, f, buf + done, pos, here);
				if (got < 0)
					break;
				ra_schedule(fs, f, idx);
				done += here;
				pos += here;
				continue;
			}
			if (got < 0)
				break;
			f->cb = b;
			f->buf_idx = idx;
		}
		if (in >= f->cb->len) {
			got = -EIO;
			break;
		}
		n = f->cb->len - (size_t)in;
		if (n > end - pos)
			n = (size_t)(end - pos);
		memcpy(buf + done, f->cb->data + in, n);
		done += n;
		pos += n;
	}
	pthread_mutex_unlock(&f->lock);
	__atomic_add_fetch(&g_counters.read_bytes, done, __ATOMIC_RELAXED);
	/* Never a short count after a failure: the kernel takes a short read for EOF and
	 * shrinks the file to it, so the reader would get a silently truncated file. The
	 * error makes the kernel read the good pages again, page by page. */
	if (got < 0)
		return got;
	return (ssize_t)done;
}

int data_changed(const struct data_file *f)
{
	return f->changed;
}

void data_release(struct mgdcfs *fs, struct data_file *f)
{
	(void)fs;
	pthread_mutex_destroy(&f->lock);
	cbuf_unref(f->cb);
	free(f->blob);
	free(f);
}

/* ---- extended attributes ---- */

static const char xattr_names[] = "user.mgdcfs.etag\0user.mgdcfs.url\0user.mgdcfs.abfss\0"
                                  "user.mgdcfs.cached\0";

static int xattr_reply(const char *val, char *value, size_t size)
{
	size_t n = strlen(val);

	if (size == 0)
		return (int)n;
	if (n > size)
		return -ERANGE;
	memcpy(value, val, n);
	return (int)n;
}

int data_getxattr(struct mgdcfs *fs, const char *path, const struct route *r, const char *name,
                  char *value, size_t size)
{
	struct dent d;
	struct where w;
	char num[32], *s = NULL;
	int rc;

	/* Other user.* names without a listing lookup (the kernel holds the inode, so it
	 * exists); fs_getxattr already refused the other namespaces. */
	if (strncmp(name, "user.mgdcfs.", 12) != 0)
		return -ENODATA;
	rc = lookup(fs, path, r, &d, NULL);
	if (rc)
		return rc;
	if (d.is_dir)
		return -ENODATA;
	rc = where_of(r, &w);
	if (rc)
		return rc;
	if (strcmp(name, "user.mgdcfs.etag") == 0) {
		rc = xattr_reply(d.etag, value, size);
	} else if (strcmp(name, "user.mgdcfs.url") == 0) {
		s = blob_url_https(fs->blob, w.container, w.blob);
		rc = s ? xattr_reply(s, value, size) : -ENOMEM;
	} else if (strcmp(name, "user.mgdcfs.abfss") == 0) {
		s = blob_url_abfss(fs->blob, w.container, w.blob);
		rc = s ? xattr_reply(s, value, size) : -ENOMEM;
	} else if (strcmp(name, "user.mgdcfs.cached") == 0) {
		int64_t b = fs->cache ? cache_blob_bytes(fs->cache, fs->cfg.storage_account,
		                                         w.container, w.blob, d.etag)
		                      : 0;

		snprintf(num, sizeof(num), "%lld", (long long)(b < 0 ? 0 : b));
		rc = xattr_reply(num, value, size);
	} else {
		rc = -ENODATA;
	}
	free(s);
	where_release(&w);
	return rc;
}

int data_listxattr(struct mgdcfs *fs, const char *path, const struct route *r, char *list,
                   size_t size)
{
	struct dent d;
	int rc = lookup(fs, path, r, &d, NULL);

	if (rc)
		return rc;
	if (d.is_dir)
		return 0;
	if (size == 0)
		return (int)sizeof(xattr_names) - 1;
	if (size < sizeof(xattr_names) - 1)
		return -ERANGE;
	memcpy(list, xattr_names, sizeof(xattr_names) - 1);
	return (int)sizeof(xattr_names) - 1;
}
