/*
 * chunks.c - the chunk engine (see chunks.h): memory, cache, then one GET.
 *
 * The design decision: a chunk's bytes live in one mapped buffer shared,
 * without copying, by the thread that fetched it, the fresh table, the
 * writer's queue and the open files reading it, and memory is bounded by
 * counting those buffers, not by file sizes. While streaming the daemon
 * holds the workers' buffers, FRESH_MAX published chunks, WQ_MAX queued puts
 * and one chunk per open file (~11 chunks at most).
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
#include "fs/chunks.h"
#include "net/blob.h"

#define RA_QUEUE    64                    /* pending read-ahead chunks */
#define WQ_MAX      1                     /* fetched chunks waiting for their put into LMDB */
#define POOL_IDLE_S 2                     /* unused chunk buffers are unmapped after this long */
#define POOL_MAX    8                     /* idle buffers kept for reuse */
#define FRESH_MAX   CHUNKS_RA_WORKERS_MAX /* published chunks: one read-ahead window */
/*
 * Fill fetches (chunks_fill) running at once. Measured with fio (4 KiB random
 * reads of a cold 1 GiB blob, 8 MiB chunks, HTTPS Azurite, loaded machine):
 * with four workers filling, a reader's own 4 KiB GET waited 20-37 ms (median)
 * behind four whole-chunk transfers in Azurite's one event loop; with one, 6-8
 * ms, and the cache filled about as fast (the transfers share the same CPU).
 */
#define FILL_MAX 1

/*
 * A chunk's bytes. Mapped, not malloc'd: glibc would keep freed 8 MiB blocks
 * in per-thread arenas, so RSS would grow with every thread that ever held a
 * chunk. Immutable once published (id set); freed with the last reference.
 */
struct chunk {
	struct chunks *owner;
	atomic_int refs;
	size_t cap, len;
	char *id; /* chunk_id, set when published in the fresh table */
	char data[];
};

/* A chunk being fetched right now, so two readers never fetch the same one. */
struct inflight {
	struct inflight *next;
	char *key;
};

/* A fetched chunk waiting for its put into the cache; the head stays queued while put. */
struct wjob {
	struct chunk *b;
	char *id;
	char *container, *blob, *etag;
	uint64_t idx;
};

struct ra_job {
	char *container, *blob, *etag; /* one allocation, container first */
	uint64_t size, idx;
	int fill; /* a random reader's background fill (chunks_fill), not read-ahead */
};

struct chunks {
	struct chunks_opts o;
	char *account;

	pthread_mutex_t lock;
	pthread_cond_t published;       /* a chunk was published or a fetch ended */
	struct chunk *fresh[FRESH_MAX]; /* protected by lock; newest last */
	size_t n_fresh;                 /* protected by lock */
	struct inflight *inflight;      /* protected by lock */

	pthread_mutex_t pool_lock;
	struct chunk *pool[POOL_MAX]; /* protected by pool_lock */
	size_t n_pool;                /* protected by pool_lock */

	pthread_mutex_t wq_lock;
	pthread_cond_t wq_cond;
	struct wjob wq[WQ_MAX];   /* protected by wq_lock */
	size_t wq_head, wq_count; /* protected by wq_lock */
	int wq_stop, wq_started;  /* protected by wq_lock */
	pthread_t wq_thread;

	pthread_mutex_t ra_lock;
	pthread_cond_t ra_cond;
	struct ra_job ra_queue[RA_QUEUE]; /* protected by ra_lock */
	size_t ra_head, ra_count;         /* protected by ra_lock */
	int ra_stop;                      /* protected by ra_lock */
	int ra_filling;                   /* protected by ra_lock: fill jobs being fetched */
	pthread_t ra_threads[CHUNKS_RA_WORKERS_MAX];
	int ra_started; /* workers running; set by chunks_new before it returns */

	struct chunks_counters own, *ctr; /* ctr: o.counters or &own; __atomic */
};

#define COUNT(c, f, v) __atomic_add_fetch(&(c)->ctr->f, (v), __ATOMIC_RELAXED)

void chunks_counters_load(const struct chunks_counters *src, struct chunks_counters *out)
{
#define LOAD(f) out->f = __atomic_load_n(&src->f, __ATOMIC_RELAXED)
	LOAD(chunk_fetches);
	LOAD(fetch_bytes);
	LOAD(readahead_jobs);
	LOAD(readahead_dropped);
	LOAD(cache_bytes_served);
	LOAD(fresh_hits);
	LOAD(direct_reads);
	LOAD(inflight);
#undef LOAD
}

void chunks_get_counters(struct chunks *c, struct chunks_counters *out)
{
	chunks_counters_load(c->ctr, out);
}

/* ---- buffers ---- */

/*
 * A buffer from the pool, else a new mapping. Freed buffers are kept: mapping
 * and faulting in a fresh 8 MiB per chunk, then unmapping it (a TLB
 * shootdown), was a third of the daemon's CPU on a cold read. The pool never
 * holds more than were in use at once, and the writer empties it after
 * POOL_IDLE_S without reads.
 */
static struct chunk *chunk_new(struct chunks *c)
{
	size_t cap = (size_t)c->o.chunk_size;
	struct chunk *b = NULL;
	void *m;

	pthread_mutex_lock(&c->pool_lock);
	if (c->n_pool)
		b = c->pool[--c->n_pool];
	pthread_mutex_unlock(&c->pool_lock);
	if (!b) {
		m = mmap(NULL, sizeof(*b) + cap, PROT_READ | PROT_WRITE,
		         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			return NULL;
		b = m;
		b->owner = c;
		b->cap = cap;
	}
	atomic_init(&b->refs, 1);
	b->len = 0;
	b->id = NULL;
	return b;
}

static void chunk_free(struct chunk *b)
{
	struct chunks *c = b->owner;

	free(b->id);
	b->id = NULL;
	pthread_mutex_lock(&c->pool_lock);
	if (c->n_pool < POOL_MAX) {
		c->pool[c->n_pool++] = b;
		b = NULL;
	}
	pthread_mutex_unlock(&c->pool_lock);
	if (b)
		munmap(b, sizeof(*b) + b->cap);
}

void chunk_unref(struct chunk *b)
{
	if (b && atomic_fetch_sub(&b->refs, 1) == 1)
		chunk_free(b);
}

static struct chunk *chunk_ref(struct chunk *b)
{
	atomic_fetch_add(&b->refs, 1);
	return b;
}

const char *chunk_bytes(const struct chunk *b, size_t *len)
{
	*len = b->len;
	return b->data;
}

/* The caller's buffer if nobody else holds it (to read the next chunk into), else a new one. */
static struct chunk *chunk_reuse(struct chunks *c, struct chunk *b)
{
	if (b) {
		/* Only a holder can add a reference, and we are the only one. */
		if (atomic_load(&b->refs) == 1 && !b->id)
			return b;
		chunk_unref(b);
	}
	return chunk_new(c);
}

/* Unmap the idle buffers (the writer calls it when reads have paused, and chunks_free). */
static void pool_trim(struct chunks *c)
{
	struct chunk *b;

	for (;;) {
		pthread_mutex_lock(&c->pool_lock);
		b = c->n_pool ? c->pool[--c->n_pool] : NULL;
		pthread_mutex_unlock(&c->pool_lock);
		if (!b)
			break;
		munmap(b, sizeof(*b) + b->cap);
	}
}

/* ---- the fresh table ---- */

static struct chunk *fresh_find_locked(struct chunks *c, const char *id)
{
	size_t i;

	for (i = 0; i < c->n_fresh; i++)
		if (strcmp(c->fresh[i]->id, id) == 0)
			return c->fresh[i];
	return NULL;
}

/*
 * Take chunk `id` out of the fresh table (the table's reference passes to the
 * caller), or NULL. Taken, not shared: the table holds only chunks nobody has
 * read yet, and a later open reads the chunk from the cache like any hit.
 */
static struct chunk *fresh_take(struct chunks *c, const char *id)
{
	struct chunk *b;
	size_t i;

	pthread_mutex_lock(&c->lock);
	b = fresh_find_locked(c, id);
	if (b) {
		for (i = 0; c->fresh[i] != b; i++)
			;
		memmove(c->fresh + i, c->fresh + i + 1, (c->n_fresh - i - 1) * sizeof(*c->fresh));
		c->n_fresh--;
	}
	pthread_mutex_unlock(&c->lock);
	return b;
}

/* Publish b as chunk `id` (copied); the table takes its own reference; wakes waiters. */
static void fresh_add(struct chunks *c, struct chunk *b, const char *id)
{
	struct chunk *old = NULL;

	if (b->id || !(b->id = strdup(id)))
		return;
	pthread_mutex_lock(&c->lock);
	if (fresh_find_locked(c, id)) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	if (c->n_fresh == FRESH_MAX) {
		old = c->fresh[0];
		memmove(c->fresh, c->fresh + 1, (FRESH_MAX - 1) * sizeof(*c->fresh));
		c->n_fresh--;
	}
	c->fresh[c->n_fresh++] = chunk_ref(b);
	pthread_cond_broadcast(&c->published);
	pthread_mutex_unlock(&c->lock);
	chunk_unref(old);
}

/* ---- single flight ---- */

static char *chunk_id(const struct blob_version *v, uint64_t idx)
{
	char *k;

	if (asprintf(&k, "%s\n%s\n%s\n%llu", v->container, v->name, v->etag,
	             (unsigned long long)idx) < 0)
		return NULL;
	return k;
}

/* Claim the fetch of `id`: returns 1 if we must fetch, 0 after another thread finished it. */
static int inflight_claim(struct chunks *c, const char *id)
{
	struct inflight *f;
	int waited = 0;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		for (f = c->inflight; f; f = f->next)
			if (strcmp(f->key, id) == 0)
				break;
		if (!f)
			break;
		/* Published before its put into the cache finished: no need to wait for it. */
		if (fresh_find_locked(c, id)) {
			pthread_mutex_unlock(&c->lock);
			return 0;
		}
		waited = 1;
		pthread_cond_wait(&c->published, &c->lock);
	}
	if (waited) {
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	f = malloc(sizeof(*f));
	if (f && (f->key = strdup(id))) {
		f->next = c->inflight;
		c->inflight = f;
	} else {
		free(f); /* out of memory: fetch unclaimed (a duplicate fetch at worst) */
	}
	pthread_mutex_unlock(&c->lock);
	return 1;
}

static void inflight_release(struct chunks *c, const char *id)
{
	struct inflight **pp, *f;

	pthread_mutex_lock(&c->lock);
	for (pp = &c->inflight; (f = *pp); pp = &f->next)
		if (strcmp(f->key, id) == 0) {
			*pp = f->next;
			free(f->key);
			free(f);
			break;
		}
	pthread_cond_broadcast(&c->published);
	pthread_mutex_unlock(&c->lock);
}

/* ---- the cache writer ---- */

static void fill_key(const struct chunks *c, struct cache_key *k, const char *container,
                     const char *blob, const char *etag, uint64_t idx)
{
	k->account = c->account;
	k->container = container;
	k->blob = blob;
	k->etag = etag;
	k->index = idx;
}

/*
 * Queue b (chunk `id`) for its put; takes a reference. Returns 0, or -1 if the
 * caller must put it itself (no writer, queue full). The writer keeps a put
 * (a checksum, a copy into LMDB's page buffer and a pwrite) off the readers'
 * and workers' paths, and LMDB's 8 MiB page buffer is malloc'd and freed by
 * one thread (one arena, reused). Until its put is done a queued chunk is
 * served from the queue.
 */
static int wq_push(struct chunks *c, const struct blob_version *v, uint64_t idx, struct chunk *b,
                   const char *id)
{
	struct wjob *j;
	int res = -1;

	pthread_mutex_lock(&c->wq_lock);
	if (!c->wq_started || c->wq_stop || c->wq_count == WQ_MAX)
		goto out;
	j = &c->wq[(c->wq_head + c->wq_count) % WQ_MAX];
	j->id = strdup(id);
	j->container = strdup(v->container);
	j->blob = strdup(v->name);
	j->etag = strdup(v->etag);
	if (!j->id || !j->container || !j->blob || !j->etag) {
		free(j->id);
		free(j->container);
		free(j->blob);
		free(j->etag);
		goto out;
	}
	j->idx = idx;
	j->b = chunk_ref(b);
	c->wq_count++;
	pthread_cond_signal(&c->wq_cond);
	res = 0;
out:
	pthread_mutex_unlock(&c->wq_lock);
	return res;
}

/* A reference to chunk `id` if it waits for its put, else NULL. */
static struct chunk *wq_get(struct chunks *c, const char *id)
{
	struct chunk *b = NULL;
	size_t q;

	pthread_mutex_lock(&c->wq_lock);
	for (q = 0; q < c->wq_count; q++) {
		struct wjob *j = &c->wq[(c->wq_head + q) % WQ_MAX];

		if (strcmp(j->id, id) == 0) {
			b = chunk_ref(j->b);
			break;
		}
	}
	pthread_mutex_unlock(&c->wq_lock);
	return b;
}

static void *wq_writer(void *arg)
{
	struct chunks *c = arg;

	pthread_mutex_lock(&c->wq_lock);
	for (;;) {
		struct cache_key k;
		struct wjob j;
		struct timespec until;

		while (c->wq_count == 0 && !c->wq_stop) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += POOL_IDLE_S;
			if (pthread_cond_timedwait(&c->wq_cond, &c->wq_lock, &until) == ETIMEDOUT &&
			    c->wq_count == 0) {
				pthread_mutex_unlock(&c->wq_lock);
				pool_trim(c);
				pthread_mutex_lock(&c->wq_lock);
			}
		}
		if (c->wq_count == 0)
			break; /* stopping, and drained */
		j = c->wq[c->wq_head];
		pthread_mutex_unlock(&c->wq_lock);
		fill_key(c, &k, j.container, j.blob, j.etag, j.idx);
		cache_put_chunk(c->o.cache, &k, j.b->data, j.b->len);
		pthread_mutex_lock(&c->wq_lock);
		c->wq_head = (c->wq_head + 1) % WQ_MAX;
		c->wq_count--;
		pthread_mutex_unlock(&c->wq_lock);
		free(j.id);
		free(j.container);
		free(j.blob);
		free(j.etag);
		chunk_unref(j.b);
		pthread_mutex_lock(&c->wq_lock);
	}
	pthread_mutex_unlock(&c->wq_lock);
	return NULL;
}

/* ---- getting a chunk ---- */

static size_t chunk_len_of(const struct chunks *c, const struct blob_version *v, uint64_t idx)
{
	uint64_t csz = c->o.chunk_size, off = idx * csz;

	return (size_t)(v->size - off < csz ? v->size - off : csz);
}

/* One ranged GET into buf, counted as in flight. Returns 0 or -errno (-EIO when short). */
static int fetch(struct chunks *c, const struct blob_version *v, uint64_t off, size_t len,
                 void *buf, struct net_error *e)
{
	ssize_t got;

	__atomic_add_fetch(&c->ctr->inflight, 1, __ATOMIC_RELAXED);
	got = blob_get_range(c->o.blob, v->container, v->name, off, len, buf, v->etag, NULL, e);
	__atomic_sub_fetch(&c->ctr->inflight, 1, __ATOMIC_RELAXED);
	if (got >= 0 && got != (ssize_t)len)
		got = -EIO;
	return got < 0 ? (int)got : 0;
}

#define FIND_CLAIMED 2 /* chunk_find: the caller fetches (apart from enum chunks_got) */

/*
 * Look in memory and the cache, else claim the fetch. Returns CHUNK_HELD
 * (*out set; from_worker publishes a cache hit for the reader that will want
 * it), CHUNK_READ_DIRECT (direct: memory does not hold it; nothing claimed),
 * FIND_CLAIMED when we hold the claim (*reuse keeps the caller's buffer), or
 * -ENOMEM.
 */
static int chunk_find(struct chunks *c, const struct blob_version *v, uint64_t idx, const char *id,
                      int from_worker, int direct, struct chunk **reuse, struct chunk **out)
{
	size_t len = chunk_len_of(c, v, idx);
	struct cache_key k;
	struct chunk *b;
	ssize_t got;

	fill_key(c, &k, v->container, v->name, v->etag, idx);
	for (;;) {
		if ((b = fresh_take(c, id)) || (b = wq_get(c, id))) {
			chunk_unref(*reuse);
			*reuse = NULL;
			COUNT(c, fresh_hits, 1);
			*out = b;
			return CHUNK_HELD;
		}
		/* A random reader that may read its bytes directly neither copies a whole
		 * chunk out of the cache for them (it asked the cache for just its range)
		 * nor waits for a worker's fetch of the chunk: that is a whole chunk's
		 * transfer, where its own read is one small GET. */
		if (direct)
			return CHUNK_READ_DIRECT;
		if (c->o.cache) {
			if (!(*reuse = chunk_reuse(c, *reuse)))
				return -ENOMEM;
			got = cache_get_chunk(c->o.cache, &k, (*reuse)->data, len);
			if (got == (ssize_t)len) {
				COUNT(c, cache_bytes_served, (uint64_t)len);
				(*reuse)->len = len;
				if (from_worker)
					fresh_add(c, *reuse, id);
				*out = *reuse;
				*reuse = NULL;
				return CHUNK_HELD;
			}
		}
		/* Claimed: we fetch. Not claimed: another thread just fetched it, so look
		 * again (and claim it ourselves if that fetch failed). */
		if (inflight_claim(c, id))
			return FIND_CLAIMED;
	}
}

/* chunks_get, and the read-ahead workers' form of it (from_worker: publish what is found). */
static int chunk_get(struct chunks *c, const struct blob_version *v, uint64_t idx,
                     enum chunks_mode mode, int from_worker, struct chunk *reuse,
                     struct chunk **out, struct net_error *e)
{
	size_t len = chunk_len_of(c, v, idx);
	struct cache_key k;
	struct chunk *b = NULL;
	char *id = chunk_id(v, idx);
	int res = -ENOMEM;

	*out = NULL;
	if (!id)
		goto out;
	res = chunk_find(c, v, idx, id, from_worker,
	                 mode == CHUNKS_OR_DIRECT && c->o.cache && c->ra_started, &reuse, out);
	if (res != FIND_CLAIMED)
		goto out;
	b = chunk_reuse(c, reuse);
	reuse = NULL;
	if (!b) {
		inflight_release(c, id);
		res = -ENOMEM;
		goto out;
	}
	res = fetch(c, v, idx * c->o.chunk_size, len, b->data, e);
	if (res == 0) {
		b->len = len;
		COUNT(c, chunk_fetches, 1);
		COUNT(c, fetch_bytes, (uint64_t)len);
		if (from_worker)
			fresh_add(c, b, id);
		fill_key(c, &k, v->container, v->name, v->etag, idx);
		if (c->o.cache && wq_push(c, v, idx, b, id) != 0)
			cache_put_chunk(c->o.cache, &k, b->data, len);
		*out = b;
		b = NULL;
		res = CHUNK_HELD;
	}
	inflight_release(c, id);
out:
	chunk_unref(b);
	chunk_unref(reuse);
	free(id);
	return res;
}

int chunks_get(struct chunks *c, const struct blob_version *v, uint64_t idx, enum chunks_mode mode,
               struct chunk *reuse, struct chunk **out, struct net_error *e)
{
	return chunk_get(c, v, idx, mode, 0, reuse, out, e);
}

int chunks_read_direct(struct chunks *c, const struct blob_version *v, uint64_t off, size_t n,
                       void *buf, struct net_error *e)
{
	COUNT(c, direct_reads, 1);
	return fetch(c, v, off, n, buf, e);
}

/* ---- read-ahead workers ---- */

/* The queue position of the oldest job a worker may start (a fill job only while fewer
 * than FILL_MAX run), or RA_QUEUE if none. Call with ra_lock. */
static size_t ra_next_job(const struct chunks *c)
{
	size_t q;

	for (q = 0; q < c->ra_count; q++)
		if (!c->ra_queue[(c->ra_head + q) % RA_QUEUE].fill || c->ra_filling < FILL_MAX)
			return q;
	return RA_QUEUE;
}

/* Remove the job at queue position q into *j, keeping the others in order. Call with
 * ra_lock. */
static void ra_take(struct chunks *c, size_t q, struct ra_job *j)
{
	*j = c->ra_queue[(c->ra_head + q) % RA_QUEUE];
	for (; q > 0; q--)
		c->ra_queue[(c->ra_head + q) % RA_QUEUE] =
		    c->ra_queue[(c->ra_head + q - 1) % RA_QUEUE];
	c->ra_head = (c->ra_head + 1) % RA_QUEUE;
	c->ra_count--;
}

static void *ra_worker(void *arg)
{
	struct chunks *c = arg;

	for (;;) {
		struct net_error e = {0};
		struct blob_version v;
		struct chunk *b;
		struct ra_job j;

		pthread_mutex_lock(&c->ra_lock);
		while (!c->ra_stop && ra_next_job(c) == RA_QUEUE)
			pthread_cond_wait(&c->ra_cond, &c->ra_lock);
		if (c->ra_stop) {
			pthread_mutex_unlock(&c->ra_lock);
			break;
		}
		ra_take(c, ra_next_job(c), &j);
		c->ra_filling += j.fill;
		pthread_mutex_unlock(&c->ra_lock);

		/* The chunk lands in the fresh table; the worker keeps no buffer between jobs,
		 * so RSS stays flat when idle. A failure is the reader's to see and log. */
		v = (struct blob_version){j.container, j.blob, j.etag, j.size};
		if (chunk_get(c, &v, j.idx, CHUNKS_FETCH, 1, NULL, &b, &e) == CHUNK_HELD)
			chunk_unref(b);
		free(j.container);
		if (j.fill) {
			pthread_mutex_lock(&c->ra_lock);
			c->ra_filling--;
			pthread_cond_broadcast(&c->ra_cond); /* a waiting fill job may run now */
			pthread_mutex_unlock(&c->ra_lock);
		}
	}
	return NULL;
}

static int ra_same(const struct ra_job *j, const struct blob_version *v, uint64_t idx)
{
	return j->idx == idx && strcmp(j->blob, v->name) == 0 && strcmp(j->etag, v->etag) == 0 &&
	       strcmp(j->container, v->container) == 0;
}

static void ra_queue_job(struct chunks *c, const struct blob_version *v, uint64_t idx, int fill)
{
	size_t q, lc = strlen(v->container) + 1, lb = strlen(v->name) + 1;
	struct ra_job *j;

	pthread_mutex_lock(&c->ra_lock);
	if (!c->ra_started || c->ra_stop || c->ra_count == RA_QUEUE) {
		COUNT(c, readahead_dropped, 1);
		goto out;
	}
	/* Random readers ask for the same chunk again and again: queue it once. */
	for (q = 0; q < c->ra_count; q++)
		if (ra_same(&c->ra_queue[(c->ra_head + q) % RA_QUEUE], v, idx))
			goto out;
	j = &c->ra_queue[(c->ra_head + c->ra_count) % RA_QUEUE];
	j->container = malloc(lc + lb + strlen(v->etag) + 1);
	if (!j->container)
		goto out;
	j->blob = j->container + lc;
	j->etag = j->blob + lb;
	memcpy(j->container, v->container, lc);
	memcpy(j->blob, v->name, lb);
	strcpy(j->etag, v->etag);
	j->size = v->size;
	j->idx = idx;
	j->fill = fill;
	c->ra_count++;
	COUNT(c, readahead_jobs, 1);
	pthread_cond_signal(&c->ra_cond);
out:
	pthread_mutex_unlock(&c->ra_lock);
}

void chunks_readahead(struct chunks *c, const struct blob_version *v, uint64_t idx)
{
	ra_queue_job(c, v, idx, 0);
}

void chunks_fill(struct chunks *c, const struct blob_version *v, uint64_t idx)
{
	ra_queue_job(c, v, idx, 1);
}

/* ---- lifecycle ---- */

int chunks_new(struct chunks **out, const struct chunks_opts *o)
{
	struct chunks *c;
	unsigned i, n = o->ra_workers;

	*out = NULL;
	if (!o->blob || o->chunk_size == 0)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->account = strdup(o->account ? o->account : ""))) {
		free(c);
		return -ENOMEM;
	}
	c->o = *o;
	c->o.account = c->account;
	c->ctr = o->counters ? o->counters : &c->own;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->published, NULL);
	pthread_mutex_init(&c->pool_lock, NULL);
	pthread_mutex_init(&c->wq_lock, NULL);
	pthread_cond_init(&c->wq_cond, NULL);
	pthread_mutex_init(&c->ra_lock, NULL);
	pthread_cond_init(&c->ra_cond, NULL);
	*out = c;
	if (!o->cache)
		return 0;
	c->wq_started = pthread_create(&c->wq_thread, NULL, wq_writer, c) == 0;
	if (!c->wq_started)
		log_warn(
		    "datasets: the cache writer did not start; readers store chunks themselves");
	if (n > CHUNKS_RA_WORKERS_MAX)
		n = CHUNKS_RA_WORKERS_MAX;
	for (i = 0; i < n; i++)
		if (pthread_create(&c->ra_threads[i], NULL, ra_worker, c) != 0)
			break;
	pthread_mutex_lock(&c->ra_lock);
	c->ra_started = (int)i;
	pthread_mutex_unlock(&c->ra_lock);
	return 0;
}

void chunks_free(struct chunks *c)
{
	struct chunk *b;
	int i, n;

	if (!c)
		return;
	pthread_mutex_lock(&c->ra_lock);
	c->ra_stop = 1;
	n = c->ra_started;
	pthread_cond_broadcast(&c->ra_cond);
	pthread_mutex_unlock(&c->ra_lock);
	for (i = 0; i < n; i++)
		pthread_join(c->ra_threads[i], NULL);
	pthread_mutex_lock(&c->wq_lock);
	c->wq_stop = 1;
	pthread_cond_broadcast(&c->wq_cond);
	n = c->wq_started;
	pthread_mutex_unlock(&c->wq_lock);
	if (n)
		pthread_join(c->wq_thread, NULL); /* the writer drains its queue first */
	while (c->n_fresh) {                      /* no thread is left */
		b = c->fresh[--c->n_fresh];
		chunk_unref(b);
	}
	pool_trim(c);
	while (c->ra_count) {
		free(c->ra_queue[c->ra_head].container);
		c->ra_head = (c->ra_head + 1) % RA_QUEUE;
		c->ra_count--;
	}
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->published);
	pthread_mutex_destroy(&c->pool_lock);
	pthread_mutex_destroy(&c->wq_lock);
	pthread_cond_destroy(&c->wq_cond);
	pthread_mutex_destroy(&c->ra_lock);
	pthread_cond_destroy(&c->ra_cond);
	free(c->account);
	free(c);
}

/* ---- one open file ---- */

struct chunks_file {
	struct chunks *c;
	struct blob_version v; /* strings in `names` */
	struct chunk *cb;      /* the chunk being read */
	uint64_t buf_idx;      /* which chunk cb holds, or UINT64_MAX */
	uint64_t next_off;     /* where a sequential reader reads next */
	uint64_t ra_next;      /* first chunk not yet queued for read-ahead */
	int seq;               /* sequential streak */
	char names[];
};

int chunks_file_open(struct chunks *c, const struct blob_version *v, struct chunks_file **out)
{
	size_t lc = strlen(v->container) + 1, lb = strlen(v->name) + 1, le = strlen(v->etag) + 1;
	struct chunks_file *f = calloc(1, sizeof(*f) + lc + lb + le);
	char *p;

	*out = NULL;
	if (!f)
		return -ENOMEM;
	p = f->names;
	f->v.container = memcpy(p, v->container, lc);
	f->v.name = memcpy(p + lc, v->name, lb);
	f->v.etag = memcpy(p + lc + lb, v->etag, le);
	f->v.size = v->size;
	f->c = c;
	f->buf_idx = UINT64_MAX;
	*out = f;
	return 0;
}

const struct blob_version *chunks_file_version(const struct chunks_file *f)
{
	return &f->v;
}

void chunks_file_close(struct chunks_file *f)
{
	if (!f)
		return;
	chunk_unref(f->cb);
	free(f);
}

/*
 * Sequential detection and a bounded read-ahead window. The kernel's
 * read-ahead sends several reads at once and they reach us in any order, so a
 * read up to a chunk behind (or ahead of) where the last one ended is still
 * sequential.
 */
static void file_track(struct chunks_file *f, uint64_t pos, uint64_t end)
{
	struct chunks *c = f->c;
	uint64_t csz = c->o.chunk_size, i;

	if (pos + csz >= f->next_off && pos <= f->next_off + csz) {
		f->seq++;
	} else {
		f->seq = 0;
		f->ra_next = 0;
	}
	if (end > f->next_off || f->seq == 0)
		f->next_off = end;
	if (f->seq >= 2 && c->o.cache) {
		uint64_t first = pos / csz + 1, last = first + c->o.readahead;
		uint64_t nchunks = (f->v.size + csz - 1) / csz;

		if (f->ra_next < first)
			f->ra_next = first;
		for (i = f->ra_next; i < last && i < nchunks; i++)
			chunks_readahead(c, &f->v, i);
		if (i > f->ra_next)
			f->ra_next = i;
	}
}

/*
 * Copy the bytes of [pos, pos + here) (within chunk idx) into buf: from a
 * random read of a cached chunk, the held chunk, a new chunk, or storage
 * directly. Returns 0 or -errno with *fail set.
 */
static int file_read_in(struct chunks_file *f, char *buf, uint64_t pos, size_t here,
                        struct chunks_failure *fail)
{
	struct chunks *c = f->c;
	uint64_t csz = c->o.chunk_size, idx = pos / csz, in = pos - idx * csz;
	struct cache_key k;
	struct chunk *b;
	size_t len;
	int res;

	if (f->buf_idx != idx && f->seq < 2 && c->o.cache) {
		/* A random read of a cached chunk: just its bytes, checked block by block,
		 * not the whole chunk copied and checked for 4 KiB. */
		fill_key(c, &k, f->v.container, f->v.name, f->v.etag, idx);
		if (cache_get_range(c->o.cache, &k, in, buf, here) == (ssize_t)here) {
			COUNT(c, cache_bytes_served, (uint64_t)here);
			return 0;
		}
	}
	if (f->buf_idx != idx) {
		/* A first or random read of a chunk only storage has: fetch just these bytes
		 * (time to first byte is one small GET, not a whole chunk) and let a worker
		 * bring the chunk into the cache. */
		fail->off = idx * csz;
		fail->len = chunk_len_of(c, &f->v, idx);
		res = chunks_get(c, &f->v, idx, f->seq < 2 ? CHUNKS_OR_DIRECT : CHUNKS_FETCH, f->cb,
		                 &b, &fail->e);
		f->cb = NULL;
		f->buf_idx = UINT64_MAX;
		if (res == CHUNK_READ_DIRECT) {
			fail->off = pos;
			fail->len = here;
			res = chunks_read_direct(c, &f->v, pos, here, buf, &fail->e);
			if (res == 0)
				chunks_fill(c, &f->v, idx);
			return res;
		}
		if (res < 0)
			return res;
		f->cb = b;
		f->buf_idx = idx;
	}
	if (in + here > f->cb->len) {
		fail->off = pos;
		fail->len = here;
		return -EIO;
	}
	memcpy(buf, chunk_bytes(f->cb, &len) + in, here);
	return 0;
}

ssize_t chunks_file_read(struct chunks_file *f, void *buf, size_t size, uint64_t off,
                         struct chunks_failure *fail)
{
	uint64_t csz = f->c->o.chunk_size, pos = off, end;
	size_t done = 0;
	int res = 0;

	memset(fail, 0, sizeof(*fail));
	/* At or past EOF, and empty blobs, are answered here: no request is ever sent for
	 * them (Azurite answers such ranges wrongly). */
	if (pos >= f->v.size || size == 0)
		return 0;
	end = pos + size < f->v.size ? pos + size : f->v.size;
	file_track(f, pos, end);
	while (pos < end) {
		uint64_t idx = pos / csz;
		/* The bytes of this read that fall in chunk idx. */
		size_t here = (size_t)((idx + 1) * csz < end ? (idx + 1) * csz - pos : end - pos);

		res = file_read_in(f, (char *)buf + done, pos, here, fail);
		if (res < 0) {
			fail->done = done;
			return res;
		}
		done += here;
		pos += here;
	}
	return (ssize_t)done;
}
