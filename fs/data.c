/*
 * data.c - datasets/: containers, folders and blobs of the storage account,
 * streamed through the chunk cache.
 *
 * Two decisions shape this file. First, every stat answer comes from the
 * folder's listing (fs/listing.c: List Blobs with delimiter "/", held in
 * memory with a TTL and persisted in the cache), so `ls -l` of 10,000 files
 * costs the listing pages and a remount can still show (and read cached
 * bytes of) a folder while the storage is unreachable; this file maps routes
 * to (container, folder, name) and readdir offsets to listing indexes.
 * Second, a blob is read in fixed chunks addressed by (blob, ETag, index):
 * a chunk is served from the open file's buffer, else from LMDB, else
 * fetched with a ranged, If-Match-conditional GET. The ETag is revalidated at open, so a
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
#include "fs/listing.h"
#include "net/blob.h"

#define RA_WORKERS   4         /* read-ahead threads */
#define RA_QUEUE     64        /* pending read-ahead chunks */
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

/* ---- listings (fs/listing.c) ---- */

/* Set by data_start before the first request, freed by data_stop after the last. */
static struct listings *lst;

static int src_list(void *ud, const char *container, const struct blob_list_req *rq,
                    blob_list_cb cb, void *cb_ud, struct net_error *e)
{
	return blob_list_paged(ud, container, rq, cb, cb_ud, e);
}

static int src_head(void *ud, const char *container, const char *blob, struct blob_props *p,
                    struct net_error *e)
{
	return blob_get_props(ud, container, blob, p, e);
}

static int listings_start(struct mgdcfs *fs)
{
	struct listings_opts o = {
	    .src = {.ud = fs->blob, .list = fs->blob ? src_list : NULL, .head = src_head},
	    .cache = fs->cache,
	    .ttl_s = fs->cfg.ttl_listing_s,
	    .containers = (const char *const *)fs->cfg.containers,
	    .part_max = fs->cfg.chunk_size,
	    /* One folder's copy may take an eighth of the cache: the rest is for data. */
	    .persist_max = fs->cfg.cache_budget / 8,
	};

	return listings_new(&lst, &o);
}

void data_drop_listings(void)
{
	if (lst)
		listings_drop_all(lst);
}

void data_get_listing_stats(struct listings_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (lst)
		listings_get_stats(lst, out);
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

static void dent_stat(const struct mgdcfs *fs, int is_dir, uint64_t size, time_t mtime,
                      struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = is_dir ? (S_IFDIR | 0755) : (S_IFREG | 0444);
	st->st_nlink = is_dir ? 2 : 1;
	st->st_size = is_dir ? 0 : (off_t)size;
	st->st_mtime = st->st_ctime = st->st_atime = mtime ? mtime : fs->started;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	/* The preferred I/O size: cat, cp and Python size their buffers by it, and one
	 * 1 MiB read (the largest FUSE request) costs about what a 128 KiB one does. */
	st->st_blksize = is_dir ? 4096 : DATA_BLKSIZE;
	st->st_blocks = (st->st_size + 511) / 512;
}

/* Look up the entry a route names (its folder's listing, or one probe) into *out. */
static int lookup(struct mgdcfs *fs, const char *path, const struct route *r,
                  struct listing_entry *out)
{
	const char *slash = strrchr(path, '/');
	struct where w;
	char *dir;
	int rc;

	(void)fs;
	if (!lst)
		return -EIO;
	rc = where_of(r, &w);
	if (rc)
		return rc;
	dir = strndup(path, slash ? (size_t)(slash - path) : 0);
	if (!dir)
		rc = -ENOMEM;
	else if (r->kind == N_DS_CONTAINER)
		rc = listings_lookup(lst, dir, NULL, NULL, w.container, strlen(w.container), out);
	else
		rc = listings_lookup(lst, dir, w.container, w.prefix, w.leaf, w.leaf_len, out);
	free(dir);
	where_release(&w);
	return rc;
}

int data_stat(struct mgdcfs *fs, const char *path, const struct route *r, struct stat *st)
{
	struct listing_entry d;
	int rc = lookup(fs, path, r, &d);

	if (rc == 0)
		dent_stat(fs, d.is_dir, d.size, d.mtime, st);
	return rc;
}

/* An open directory of datasets/: the listing it reads, by index. */
struct data_dir {
	struct listing *l;
	int read;        /* a readdir came already: offset 0 now is a rewind */
	char *container; /* NULL: datasets/ itself */
	char *prefix;
	char path[];
};

int data_opendir(struct mgdcfs *fs, const char *path, const struct route *r, struct data_dir **out)
{
	struct listing_entry d;
	struct data_dir *dd;
	struct where w = {0};
	size_t plen = strlen(path) + 1;
	int rc;

	if (!lst)
		return -EIO;
	if (r->kind != N_DATASETS) {
		rc = lookup(fs, path, r, &d);
		if (rc)
			return rc;
		if (!d.is_dir)
			return -ENOTDIR;
		rc = where_of(r, &w);
		if (rc)
			return rc;
	}
	dd = calloc(1, sizeof(*dd) + plen);
	if (!dd) {
		where_release(&w);
		return -ENOMEM;
	}
	memcpy(dd->path, path, plen);
	rc = -ENOMEM;
	if (r->kind == N_DATASETS)
		rc = 0;
	else if ((dd->container = strdup(w.container)) &&
	         (r->kind == N_DS_CONTAINER ? (dd->prefix = strdup("")) != NULL
	                                    : asprintf(&dd->prefix, "%s/", w.blob) >= 0))
		rc = 0;
	else
		dd->prefix = NULL;
	where_release(&w);
	if (rc == 0)
		rc = listings_open(lst, path, dd->container, dd->prefix, &dd->l);
	if (rc) {
		free(dd->container);
		free(dd->prefix);
		free(dd);
		return rc;
	}
	*out = dd;
	return 0;
}

struct read_ctx {
	struct mgdcfs *fs;
	dir_fill_at_fn fill;
	void *ud;
};

static int read_one(void *ud, size_t idx, const char *name, int is_dir, uint64_t size, time_t mtime)
{
	struct read_ctx *c = ud;
	struct stat st;

	dent_stat(c->fs, is_dir, size, mtime, &st);
	return c->fill(c->ud, name, &st, (off_t)idx + 3);
}

int data_readdir(struct mgdcfs *fs, struct data_dir *dd, off_t off, dir_fill_at_fn fill, void *ud)
{
	struct read_ctx c = {fs, fill, ud};
	struct listing *l;
	ssize_t got;
	int rc;

	/* Offsets: "." is 0, ".." is 1, entry i is i + 2; the filler is given the offset
	 * of the entry after each. A rewind (offset 0 after the first call) takes the
	 * current listing, as rewinddir(3) must. */
	if (off == 0 && dd->read) {
		rc = listings_open(lst, dd->path, dd->container, dd->prefix, &l);
		if (rc)
			return rc;
		listing_unref(dd->l);
		dd->l = l;
	}
	dd->read = 1;
	if (off == 0 && fill(ud, ".", NULL, 1))
		return 0;
	if (off <= 1 && fill(ud, "..", NULL, 2))
		return 0;
	got = listing_read(lst, dd->l, off <= 2 ? 0 : (size_t)off - 2, read_one, &c);
	return got < 0 ? (int)got : 0;
}

void data_closedir(struct mgdcfs *fs, struct data_dir *dd)
{
	(void)fs;
	listing_unref(dd->l);
	free(dd->container);
	free(dd->prefix);
	free(dd);
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
	int i, n = (int)fs->cfg.readahead_chunks, rc;

	rc = listings_start(fs);
	if (rc)
		log_err("datasets: the listers could not start (%s); datasets/ is empty",
		        strerror(-rc));
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
	listings_free(lst);
	lst = NULL;
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
	struct listing_entry d;
	struct where w;
	size_t plen = strlen(path) + 1;
	int rc, changed = 0;

	rc = lookup(fs, path, r, &d);
	if (rc)
		return rc;
	if (d.is_dir)
		return -EISDIR;
	rc = where_of(r, &w);
	if (rc)
		return rc;
	/* Revalidate the ETag unless storage vouched for it just now (a new listing, a
	 * probe): a replaced blob must never be served from the chunks of its previous
	 * version. */
	if (d.seen == 0 || time(NULL) - d.seen >= FRESH_OPEN_S) {
		__atomic_add_fetch(&ctr.heads, 1, __ATOMIC_RELAXED);
		rc = blob_get_props(fs->blob, w.container, w.blob, &p, &e);
		if (rc == 0) {
			if (strcmp(p.etag, d.etag) != 0 || p.size != d.size) {
				changed = 1;
				listings_update(lst, w.container, w.prefix, w.leaf, w.leaf_len, &p);
				if (fs->cache && d.etag[0])
					cache_drop_blob(fs->cache, fs->cfg.storage_account,
					                w.container, w.blob, p.etag);
			}
			snprintf(d.etag, sizeof(d.etag), "%s", p.etag);
			d.size = p.size;
		} else if (rc == -ENOENT) {
			listings_forget(lst, w.container, w.prefix, w.leaf, w.leaf_len);
			where_release(&w);
			return -ENOENT;
		} else if (!listing_offline_errno(rc)) {
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
	struct listing_entry d;
	struct where w;
	char num[32], *s = NULL;
	int rc;

	/* Other user.* names without a listing lookup (the kernel holds the inode, so it
	 * exists); fs_getxattr already refused the other namespaces. */
	if (strncmp(name, "user.mgdcfs.", 12) != 0)
		return -ENODATA;
	rc = lookup(fs, path, r, &d);
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
	struct listing_entry d;
	int rc = lookup(fs, path, r, &d);

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
