/*
 * test_chunks.c - fs/chunks (the chunk engine) without FUSE or a mount: the
 * real blob client over loopback HTTP to a small Blob-like server in this
 * process, and a temporary LMDB cache.
 *
 * The server is the source of truth: it serves a blob of known bytes (a
 * function of offset and version) with an ETag, honours x-ms-range and
 * If-Match (412 ConditionNotMet, as Blob storage does), counts the GETs per
 * chunk, and can cut a reply mid-body or stall it. Every byte the engine
 * returns is compared with that function.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "cache/cache.h"
#include "fakehttp.h"
#include "fs/chunks.h"
#include "net/blob.h"
#include "net/http.h"
#include "tap.h"

#define DEV_KEY                                                                                    \
	"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#define CSZ     (256u << 10) /* chunk size of these tests */
#define NCHUNK  12           /* chunks of the blob, the last one short */
#define BSIZE   ((uint64_t)CSZ * (NCHUNK - 1) + 12345)
#define MAXCONN 512
#define DEADLINE_MS                                                                                \
	60000 /* a wait for the server to reach a state: a hang guard, not a timing check */

/* ---- the server ---- */

/* F_HOLD: no reply at all until the test releases it, then the whole reply;
 * F_HOLD_CHUNK: the same for GETs of a whole chunk only. */
enum fault { F_NONE, F_CUT_ONCE, F_CUT_ALWAYS, F_STALL, F_HOLD, F_HOLD_CHUNK };

static struct {
	int fd;
	pthread_t accept_th;
	pthread_mutex_t lock;
	pthread_t conns[MAXCONN]; /* protected by lock */
	int n_conns;              /* protected by lock */
	int version;              /* protected by lock: the blob's bytes and ETag */
	enum fault fault;         /* protected by lock */
	int fault_chunk;          /* protected by lock: -1 for every chunk */
	int cuts;                 /* protected by lock: cuts done under F_CUT_ONCE */
	int gets[NCHUNK];         /* protected by lock: GETs by the chunk their range starts in */
	int stalled;              /* protected by lock: replies stalled right now */
	int release;              /* protected by lock: end the stalls */
} srv = {.lock = PTHREAD_MUTEX_INITIALIZER, .fault_chunk = -1};

/* Is the chunk for `k` in the cache? (One byte read through the public API.) */
static int stored(struct cache *c, const struct cache_key *k)
{
	unsigned char b;

	return cache_get_range(c, k, 0, &b, 1) == 1;
}

static unsigned char byte_at(uint64_t i, int version)
{
	return (unsigned char)(((i * 2654435761u) >> 13) + (i >> 18) * 7 + (uint64_t)version * 101);
}

static void etag_of(int version, char *out, size_t n)
{
	snprintf(out, n, "\"0x8DC0FFEE%04d\"", version);
}

static void srv_set(int version, enum fault f, int chunk)
{
	pthread_mutex_lock(&srv.lock);
	srv.version = version;
	srv.fault = f;
	srv.fault_chunk = chunk;
	srv.cuts = 0;
	srv.release = 0;
	memset(srv.gets, 0, sizeof(srv.gets));
	pthread_mutex_unlock(&srv.lock);
}

static int srv_gets(int chunk)
{
	int i, n = 0;

	pthread_mutex_lock(&srv.lock);
	for (i = 0; i < NCHUNK; i++)
		if (chunk < 0 || chunk == i)
			n += srv.gets[i];
	pthread_mutex_unlock(&srv.lock);
	return n;
}

static int srv_stalled(void)
{
	int n;

	pthread_mutex_lock(&srv.lock);
	n = srv.stalled;
	pthread_mutex_unlock(&srv.lock);
	return n;
}

static void send_all(int c, const void *p, size_t n)
{
	const char *s = p;

	while (n) {
		ssize_t w = send(c, s, n, MSG_NOSIGNAL);

		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* One request on connection c, then close. */
static void *srv_conn(void *arg)
{
	int c = (int)(intptr_t)arg, version, chunk, cut = 0, stall = 0;
	char req[8192], range[128], ifm[128], etag[64], head[512];
	unsigned long long a = 0, b = 0;
	unsigned char *body;
	size_t n, i;
	enum fault f;

	fakehttp_read_head(c, req, sizeof(req));
	fakehttp_header(req, "x-ms-range:", range, sizeof(range));
	fakehttp_header(req, "If-Match:", ifm, sizeof(ifm));
	if (strncmp(req, "GET ", 4) != 0 || sscanf(range, "bytes=%llu-%llu", &a, &b) != 2 ||
	    a > b || b >= BSIZE) {
		snprintf(head, sizeof(head),
		         "HTTP/1.1 416 Range Not Satisfiable\r\nx-ms-error-code: InvalidRange\r\n"
		         "Content-Length: 0\r\nConnection: close\r\n\r\n");
		send_all(c, head, strlen(head));
		goto out;
	}
	chunk = (int)(a / CSZ);
	pthread_mutex_lock(&srv.lock);
	version = srv.version;
	f = srv.fault_chunk < 0 || srv.fault_chunk == chunk ? srv.fault : F_NONE;
	if (f == F_HOLD_CHUNK)
		f = a % CSZ == 0 && (b - a + 1 == CSZ || b == BSIZE - 1) ? F_HOLD : F_NONE;
	srv.gets[chunk]++;
	if (f == F_CUT_ALWAYS || (f == F_CUT_ONCE && srv.cuts++ == 0))
		cut = 1;
	if (f == F_STALL || f == F_HOLD)
		stall = f == F_STALL, srv.stalled++;
	pthread_mutex_unlock(&srv.lock);
	while (f == F_HOLD) {
		int held;

		pthread_mutex_lock(&srv.lock);
		held = !srv.release;
		pthread_mutex_unlock(&srv.lock);
		if (!held)
			break;
		usleep(10000);
	}
	etag_of(version, etag, sizeof(etag));
	if (ifm[0] && strcmp(ifm, etag) != 0) {
		snprintf(head, sizeof(head),
		         "HTTP/1.1 412 The condition specified using HTTP conditional header(s) "
		         "is not met.\r\nx-ms-error-code: ConditionNotMet\r\nContent-Length: 0\r\n"
		         "Connection: close\r\n\r\n");
		send_all(c, head, strlen(head));
		goto unstall;
	}
	n = (size_t)(b - a + 1);
	body = malloc(n);
	if (!body)
		goto unstall;
	for (i = 0; i < n; i++)
		body[i] = byte_at(a + i, version);
	snprintf(head, sizeof(head),
	         "HTTP/1.1 206 Partial Content\r\nContent-Length: %zu\r\n"
	         "Content-Range: bytes %llu-%llu/%llu\r\nETag: %s\r\nConnection: close\r\n\r\n",
	         n, a, b, (unsigned long long)BSIZE, etag);
	send_all(c, head, strlen(head));
	/* A cut: half the body, then the connection closes under the reader. A stall:
	 * half the body, then nothing until the test releases it. */
	send_all(c, body, cut || stall ? n / 2 : n);
	free(body);
	while (stall) {
		pthread_mutex_lock(&srv.lock);
		stall = !srv.release;
		pthread_mutex_unlock(&srv.lock);
		if (stall)
			usleep(10000);
	}
unstall:
	if (f == F_STALL || f == F_HOLD) {
		pthread_mutex_lock(&srv.lock);
		srv.stalled--;
		pthread_mutex_unlock(&srv.lock);
	}
out:
	close(c);
	return NULL;
}

static void *srv_accept(void *arg)
{
	for (;;) {
		int c = accept(srv.fd, NULL, NULL);
		pthread_t th;

		if (c < 0)
			break;
		pthread_mutex_lock(&srv.lock);
		if (srv.n_conns < MAXCONN &&
		    pthread_create(&th, NULL, srv_conn, (void *)(intptr_t)c) == 0)
			srv.conns[srv.n_conns++] = th;
		else
			close(c);
		pthread_mutex_unlock(&srv.lock);
	}
	return arg;
}

static int srv_start(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv.fd = socket(AF_INET, SOCK_STREAM, 0);
	if (srv.fd < 0 || bind(srv.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(srv.fd, 64) < 0 || getsockname(srv.fd, (struct sockaddr *)&sa, &sl) < 0 ||
	    pthread_create(&srv.accept_th, NULL, srv_accept, NULL) != 0)
		return -1;
	return ntohs(sa.sin_port);
}

static void srv_stop(void)
{
	int i;

	pthread_mutex_lock(&srv.lock);
	srv.release = 1;
	pthread_mutex_unlock(&srv.lock);
	shutdown(srv.fd, SHUT_RDWR);
	pthread_join(srv.accept_th, NULL);
	close(srv.fd);
	for (i = 0; i < srv.n_conns; i++)
		pthread_join(srv.conns[i], NULL);
}

/* ---- helpers ---- */

static struct http *h;
static struct blob_client *bc;
static char root[512];

static int good(const void *buf, uint64_t off, size_t n, int version)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != byte_at(off + i, version))
			return 0;
	return 1;
}

static uint64_t chunk_len(uint64_t idx)
{
	return idx == NCHUNK - 1 ? BSIZE - idx * CSZ : CSZ;
}

static struct cache *cache_new(const char *name, uint64_t budget)
{
	struct cache_opts co = {.budget_bytes = budget, .chunk_size = CSZ};
	struct cache *c = NULL;
	char dir[640];

	snprintf(dir, sizeof(dir), "%s/%s", root, name);
	co.dir = dir;
	return cache_open(&c, &co) == 0 ? c : NULL;
}

static struct chunks *engine(struct cache *cache, unsigned ra, struct chunks_counters *ctr)
{
	struct chunks_opts o = {.blob = bc,
	                        .cache = cache,
	                        .account = "acct",
	                        .chunk_size = CSZ,
	                        .readahead = ra,
	                        .ra_workers = ra < 4 ? ra : 4,
	                        .counters = ctr};
	struct chunks *c = NULL;

	return chunks_new(&c, &o) == 0 ? c : NULL;
}

static void version_of(int version, char *etag, size_t n, struct blob_version *v)
{
	etag_of(version, etag, n);
	*v = (struct blob_version){"c", "dir/blob.bin", etag, BSIZE};
}

/* ---- single flight ---- */

struct reader {
	struct chunks *c;
	const struct blob_version *v;
	uint64_t idx;
	pthread_barrier_t *go;
	int rc, ok;
};

/* Readers that have passed the barrier and are about to ask (test_single_flight). */
static int readers_in;

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	struct net_error e = {0};
	struct chunk *ch = NULL;
	const char *p;
	size_t n = 0;

	pthread_barrier_wait(r->go);
	__atomic_add_fetch(&readers_in, 1, __ATOMIC_RELAXED);
	r->rc = chunks_get(r->c, r->v, r->idx, CHUNKS_FETCH, NULL, &ch, &e);
	if (ch) {
		p = chunk_bytes(ch, &n);
		r->ok = n == chunk_len(r->idx) && good(p, r->idx * CSZ, n, 1);
	}
	chunk_unref(ch);
	return NULL;
}

static void run_readers(struct chunks *c, const struct blob_version *v, uint64_t idx, int n,
                        struct reader *rd)
{
	pthread_barrier_t go;
	pthread_t th[16];
	int i;

	pthread_barrier_init(&go, NULL, (unsigned)n);
	for (i = 0; i < n; i++) {
		rd[i] = (struct reader){c, v, idx, &go, -1, 0};
		pthread_create(&th[i], NULL, reader_main, &rd[i]);
	}
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&go);
}

struct crowd {
	struct chunks *c;
	const struct blob_version *v;
	struct reader *rd;
};

static void *crowd_main(void *arg)
{
	struct crowd *w = arg;

	run_readers(w->c, w->v, 3, 16, w->rd);
	return NULL;
}

static void test_single_flight(void)
{
	struct chunks_counters ctr = {0}, got;
	struct reader rd[16];
	struct blob_version v;
	struct cache *cache = cache_new("single", 64u << 20);
	struct chunks *c;
	char etag[64];
	int i, all = 1;

	version_of(1, etag, sizeof(etag), &v);
	srv_set(1, F_NONE, -1);
	c = cache ? engine(cache, 0, &ctr) : NULL;
	TAP_OK(c != NULL, "engine with a cache, no read-ahead");
	if (!c)
		goto out;
	/* The one GET is held at the server until all 16 readers have asked (and a
	 * settling pause has let them reach the engine), so they are truly
	 * concurrent however the machine schedules them. */
	srv_set(1, F_HOLD, 3);
	__atomic_store_n(&readers_in, 0, __ATOMIC_RELAXED);
	{
		struct crowd w = {c, &v, rd};
		pthread_t th;
		long long until = clock_ms() + DEADLINE_MS;

		pthread_create(&th, NULL, crowd_main, &w);
		while ((srv_stalled() < 1 || __atomic_load_n(&readers_in, __ATOMIC_RELAXED) < 16) &&
		       clock_ms() < until)
			usleep(10000);
		usleep(300000);
		pthread_mutex_lock(&srv.lock);
		srv.release = 1;
		pthread_mutex_unlock(&srv.lock);
		pthread_join(th, NULL);
	}
	for (i = 0; i < 16; i++)
		all &= rd[i].rc == CHUNK_HELD && rd[i].ok;
	TAP_OK(all, "16 concurrent readers of chunk 3 all get its bytes");
	TAP_EQ_INT(srv_gets(3), 1, "single flight: the server saw exactly one GET of chunk 3");
	TAP_EQ_INT(srv_gets(-1), 1, "and no other GET");
	chunks_get_counters(c, &got);
	TAP_EQ_INT(got.chunk_fetches, 1, "the engine counted one chunk fetch");
	TAP_EQ_INT(got.fetch_bytes, CSZ, "of one chunk's bytes");
	TAP_EQ_INT(got.inflight, 0, "nothing in flight afterwards");

	/* The last, short chunk: its length is the blob's tail, fetched once too. */
	run_readers(c, &v, NCHUNK - 1, 4, rd);
	for (i = 0, all = 1; i < 4; i++)
		all &= rd[i].rc == CHUNK_HELD && rd[i].ok;
	TAP_OK(all, "4 readers of the short last chunk get its %llu bytes",
	       (unsigned long long)chunk_len(NCHUNK - 1));
	TAP_EQ_INT(srv_gets(NCHUNK - 1), 1, "one GET of the last chunk");
	chunks_free(c);

	/* A new engine on the same cache (a remount): served from LMDB, no GET. */
	c = engine(cache, 0, NULL);
	run_readers(c, &v, 3, 4, rd);
	for (i = 0, all = 1; i < 4; i++)
		all &= rd[i].rc == CHUNK_HELD && rd[i].ok;
	TAP_OK(all, "after a restart the readers get chunk 3 from the cache");
	TAP_EQ_INT(srv_gets(3), 1, "without a second GET");
	chunks_get_counters(c, &got);
	TAP_OK(got.cache_bytes_served >= CSZ, "counted as cache bytes served (%llu)",
	       (unsigned long long)got.cache_bytes_served);
	chunks_free(c);
out:
	if (cache)
		cache_close(cache);
}

/* ---- sequential reads: read-ahead, eviction under the cache budget ---- */

static int read_all(struct chunks_file *f, size_t step, int version, int *short_read)
{
	char *buf = malloc(step);
	struct chunks_failure fl;
	uint64_t off = 0;
	int ok = buf != NULL;

	*short_read = 0;
	while (ok && off < BSIZE) {
		ssize_t n = chunks_file_read(f, buf, step, off, &fl);
		size_t want = BSIZE - off < step ? (size_t)(BSIZE - off) : step;

		if (n != (ssize_t)want) {
			*short_read = 1;
			ok = 0;
			break;
		}
		ok = good(buf, off, want, version);
		off += want;
	}
	free(buf);
	return ok;
}

static void test_readahead_eviction(void)
{
	struct chunks_counters ctr = {0}, got;
	struct cache_stats cs;
	struct blob_version v;
	/* 1 MiB: four chunks (the cache's floor), so a 12-chunk blob must evict. */
	struct cache *cache = cache_new("evict", 1u << 20);
	struct chunks_file *f = NULL;
	struct chunks *c;
	char etag[64], buf[4096];
	struct chunks_failure fl;
	int shortr, pass, i, all;

	version_of(1, etag, sizeof(etag), &v);
	srv_set(1, F_NONE, -1);
	c = cache ? engine(cache, 4, &ctr) : NULL;
	TAP_OK(c != NULL, "engine with a 1 MiB cache and 4 read-ahead workers");
	if (!c)
		goto out;
	for (pass = 1; pass <= 2; pass++) {
		chunks_file_open(c, &v, &f);
		TAP_OK(f && read_all(f, 128u << 10, 1, &shortr),
		       "pass %d: a sequential read of %llu bytes in 128 KiB reads is exact", pass,
		       (unsigned long long)BSIZE);
		TAP_OK(!shortr, "pass %d: no short read", pass);
		chunks_file_close(f);
		f = NULL;
	}
	chunks_get_counters(c, &got);
	TAP_OK(got.readahead_jobs > 0, "read-ahead chunks were queued (%llu)",
	       (unsigned long long)got.readahead_jobs);
	TAP_OK(srv_gets(-1) >= NCHUNK, "every chunk came from the server at least once (%d GETs)",
	       srv_gets(-1));
	chunks_free(c);
	c = NULL;
	cache_get_stats(cache, &cs);
	TAP_OK(cs.evictions > 0, "the cache evicted under its budget (%llu evictions)",
	       (unsigned long long)cs.evictions);
	TAP_OK(cs.bytes_used <= cs.budget, "and holds %llu bytes, within its %llu-byte budget",
	       (unsigned long long)cs.bytes_used, (unsigned long long)cs.budget);
	TAP_OK(cs.chunks < NCHUNK, "%llu of %d chunks stay cached", (unsigned long long)cs.chunks,
	       NCHUNK);

	/* Random 4 KiB reads over evicted and cached chunks: the bytes are right. */
	c = engine(cache, 4, NULL);
	chunks_file_open(c, &v, &f);
	for (i = 0, all = 1; f && i < 64; i++) {
		uint64_t off = ((uint64_t)i * 7919 * 4096) % (BSIZE - sizeof(buf));

		all &= chunks_file_read(f, buf, sizeof(buf), off, &fl) == (ssize_t)sizeof(buf) &&
		       good(buf, off, sizeof(buf), 1);
	}
	TAP_OK(f && all, "64 random 4 KiB reads are exact");
	TAP_EQ_INT(f ? chunks_file_read(f, buf, sizeof(buf), BSIZE, &fl) : -1, 0,
	           "a read at EOF returns 0");
	chunks_file_close(f);
	chunks_free(c);
	c = NULL;

	/* No cache: whole chunks from storage every time, still exact. */
	c = engine(NULL, 4, NULL);
	f = NULL;
	if (c)
		chunks_file_open(c, &v, &f);
	TAP_OK(f && read_all(f, 100000, 1, &shortr), "without a cache the read is exact too");
	chunks_file_close(f);
	chunks_free(c);
	c = NULL;
out:
	chunks_free(c);
	if (cache)
		cache_close(cache);
}

/* ---- a fetch cut mid-chunk ---- */

static void test_cut(void)
{
	struct net_error e = {0};
	struct chunks_failure fl;
	struct blob_version v;
	struct cache *cache = cache_new("cut", 64u << 20);
	struct cache_key k = {"acct", "c", "dir/blob.bin", NULL, 5};
	struct chunks_file *f = NULL;
	struct chunk *ch = NULL;
	struct chunks *c;
	char etag[64], *buf = malloc(CSZ);
	const char *p;
	size_t n = 0;
	int rc;

	version_of(1, etag, sizeof(etag), &v);
	k.etag = etag;
	c = cache && buf ? engine(cache, 0, NULL) : NULL;
	TAP_OK(c != NULL, "engine for the cut replies");
	if (!c)
		goto out;
	srv_set(1, F_CUT_ALWAYS, 5);
	rc = chunks_get(c, &v, 5, CHUNKS_FETCH, NULL, &ch, &e);
	TAP_OK(rc < 0, "every reply of chunk 5 cut mid-body: an error (%s)", strerror(-rc));
	TAP_OK(ch == NULL, "and no chunk");
	TAP_EQ_INT(stored(cache, &k), 0, "nothing of it was cached");
	chunks_file_open(c, &v, &f);
	rc = f ? (int)chunks_file_read(f, buf, CSZ, 5 * (uint64_t)CSZ + 100, &fl) : 0;
	TAP_OK(rc < 0, "a file read over it fails (%s), never a short count", strerror(-rc));
	TAP_EQ_INT(fl.off, 5 * (uint64_t)CSZ, "the failure names the chunk's first byte");
	TAP_EQ_INT(fl.len, CSZ, "and its length");
	rc = f ? (int)chunks_file_read(f, buf, 1000, 4 * (uint64_t)CSZ, &fl) : 0;
	TAP_OK(rc == 1000 && good(buf, 4 * (uint64_t)CSZ, 1000, 1),
	       "chunk 4 of the same file still reads right");

	srv_set(1, F_CUT_ONCE, 5);
	rc = chunks_get(c, &v, 5, CHUNKS_FETCH, NULL, &ch, &e);
	p = ch ? chunk_bytes(ch, &n) : NULL;
	TAP_OK(rc == CHUNK_HELD && n == CSZ && good(p, 5 * (uint64_t)CSZ, n, 1),
	       "one cut reply, then a whole one: the chunk's exact bytes");
	TAP_EQ_INT(srv_gets(5), 2, "from two GETs (the retry of the cut one)");
	chunk_unref(ch);
	ch = NULL;
	chunks_file_close(f);
	f = NULL;
	chunks_free(c); /* the writer stores what it queued */
	c = NULL;
	TAP_EQ_INT(stored(cache, &k), 1, "the whole chunk was cached");
out:
	chunks_free(c);
	if (cache)
		cache_close(cache);
	free(buf);
}

/* ---- the blob replaced in storage ---- */

static void test_changed_etag(void)
{
	struct net_error e = {0};
	struct chunks_failure fl;
	struct blob_version v1, v2;
	struct cache *cache = cache_new("etag", 64u << 20);
	struct chunks_file *f = NULL;
	struct chunk *ch = NULL;
	struct chunks *c;
	char e1[64], e2[64], *buf = malloc(CSZ);
	const char *p;
	size_t n = 0;
	int rc;

	version_of(1, e1, sizeof(e1), &v1);
	version_of(2, e2, sizeof(e2), &v2);
	c = cache && buf ? engine(cache, 2, NULL) : NULL;
	TAP_OK(c != NULL, "engine for the ETag change");
	if (!c)
		goto out;
	srv_set(1, F_NONE, -1);
	rc = chunks_get(c, &v1, 0, CHUNKS_FETCH, NULL, &ch, &e);
	TAP_EQ_INT(rc, CHUNK_HELD, "chunk 0 of version 1 fetched");
	chunk_unref(ch);
	ch = NULL;
	chunks_file_open(c, &v1, &f);

	srv_set(2, F_NONE, -1); /* the blob is replaced: new bytes, new ETag */
	rc = chunks_get(c, &v1, 1, CHUNKS_FETCH, NULL, &ch, &e);
	TAP_EQ_INT(rc, -ESTALE, "a chunk of version 1 not yet held: -ESTALE (If-Match failed)");
	TAP_EQ_STR(e.code, "ConditionNotMet", "the service's code is kept for the log");
	rc = f ? (int)chunks_file_read(f, buf, 4096, CSZ + 10, &fl) : 0;
	TAP_EQ_INT(rc, -ESTALE, "a file of version 1 reading it: -ESTALE, not version 2's bytes");
	rc = f ? (int)chunks_file_read(f, buf, 4096, 10, &fl) : 0;
	TAP_OK(rc == 4096 && good(buf, 10, 4096, 1),
	       "version 1's cached chunk is still version 1's bytes for that file");
	chunks_file_close(f);
	f = NULL;
	rc = chunks_get(c, &v2, 0, CHUNKS_FETCH, NULL, &ch, &e);
	p = ch ? chunk_bytes(ch, &n) : NULL;
	TAP_OK(rc == CHUNK_HELD && good(p, 0, n, 2),
	       "version 2's chunk 0 is fetched, never version 1's cached bytes");
	chunk_unref(ch);
	ch = NULL;
	chunks_file_open(c, &v2, &f);
	rc = f ? (int)chunks_file_read(f, buf, CSZ, CSZ / 2, &fl) : 0;
	TAP_OK(rc == (int)CSZ && good(buf, CSZ / 2, CSZ, 2),
	       "a file of version 2 reads version 2's bytes across chunks 0 and 1");
out:
	chunks_file_close(f);
	chunks_free(c);
	if (cache)
		cache_close(cache);
	free(buf);
}

/* ---- random readers beside the workers ---- */

struct direct_read {
	struct chunks_file *f;
	uint64_t off;
	unsigned char buf[4096];
	ssize_t got;
	int done; /* __atomic */
};

static void *direct_main(void *arg)
{
	struct direct_read *d = arg;
	struct chunks_failure fl;

	d->got = chunks_file_read(d->f, d->buf, sizeof(d->buf), d->off, &fl);
	__atomic_store_n(&d->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void srv_release(void)
{
	pthread_mutex_lock(&srv.lock);
	srv.release = 1;
	pthread_mutex_unlock(&srv.lock);
}

/* Wait (a hang guard) until every chunk in [first, last] is in the cache. */
static int all_stored(struct cache *cache, const char *etag, int first, int last)
{
	struct cache_key k = {"acct", "c", "dir/blob.bin", etag, 0};
	long long until = clock_ms() + DEADLINE_MS;
	int i, n;

	do {
		for (i = first, n = 0; i <= last; i++) {
			k.index = (uint64_t)i;
			n += stored(cache, &k);
		}
		if (n == last - first + 1)
			return 1;
		usleep(10000);
	} while (clock_ms() < until);
	return 0;
}

/*
 * A random read of a chunk a worker is fetching reads its own bytes with a
 * small GET and does not wait for that fetch (a whole chunk's transfer); and
 * a random reader's background fill runs one chunk at a time, while
 * read-ahead queued behind it still runs.
 */
static void test_random_beside_workers(void)
{
	struct chunks_counters ctr = {0}, got;
	struct direct_read d = {0};
	struct blob_version v;
	struct cache *cache = cache_new("random", 64u << 20);
	struct chunks *c;
	pthread_t th;
	char etag[64];
	long long until;
	int i, done;

	version_of(1, etag, sizeof(etag), &v);
	srv_set(1, F_HOLD_CHUNK, 3);
	c = cache ? engine(cache, 4, &ctr) : NULL;
	TAP_OK(c != NULL && chunks_file_open(c, &v, &d.f) == 0, "engine with 4 workers, a file");
	if (!c || !d.f)
		goto out;
	chunks_readahead(c, &v, 3);
	until = clock_ms() + DEADLINE_MS;
	while (srv_stalled() < 1 && clock_ms() < until)
		usleep(10000);
	TAP_EQ_INT(srv_stalled(), 1, "a worker's GET of chunk 3 is held at the server");
	d.off = 3 * (uint64_t)CSZ + 1000;
	pthread_create(&th, NULL, direct_main, &d);
	until = clock_ms() + DEADLINE_MS;
	while (!(done = __atomic_load_n(&d.done, __ATOMIC_ACQUIRE)) && clock_ms() < until)
		usleep(10000);
	TAP_OK(done && srv_stalled() == 1,
	       "a random read in chunk 3 returned while that fetch is still held");
	srv_release();
	pthread_join(th, NULL);
	TAP_OK(d.got == (ssize_t)sizeof(d.buf) && good(d.buf, d.off, sizeof(d.buf), 1),
	       "with the right 4 KiB");
	chunks_get_counters(c, &got);
	TAP_EQ_INT(got.direct_reads, 1, "read with one direct GET");
	TAP_OK(all_stored(cache, etag, 3, 3), "chunk 3 reaches the cache once released");
	TAP_EQ_INT(srv_gets(3), 2, "two GETs in chunk 3: the worker's and the 4 KiB one");

	/* Fill jobs for chunks 4-9 with every GET held: one at a time. */
	srv_set(1, F_HOLD, -1);
	for (i = 4; i <= 9; i++)
		chunks_fill(c, &v, (uint64_t)i);
	until = clock_ms() + DEADLINE_MS;
	while (srv_stalled() < 1 && clock_ms() < until)
		usleep(10000);
	usleep(300000); /* room for a second fetch to start, were it allowed to */
	TAP_EQ_INT(srv_stalled(), 1, "six fill jobs queued: one GET at the server");
	chunks_readahead(c, &v, 10);
	until = clock_ms() + DEADLINE_MS;
	while (srv_stalled() < 2 && clock_ms() < until)
		usleep(10000);
	TAP_EQ_INT(srv_gets(10), 1, "read-ahead queued behind them still runs");
	TAP_EQ_INT(srv_stalled(), 2, "beside the one fill GET");
	srv_release();
	TAP_OK(all_stored(cache, etag, 4, 10), "all seven chunks reach the cache once released");
	TAP_EQ_INT(srv_gets(-1), 7, "with one GET each");
out:
	chunks_file_close(d.f);
	chunks_free(c);
	if (cache)
		cache_close(cache);
}

/* ---- shutdown with fetches in flight ---- */

static int going_away;

static int cancel_hook(void)
{
	return __atomic_load_n(&going_away, __ATOMIC_RELAXED);
}

static void test_shutdown(void)
{
	struct chunks_counters ctr = {0}, got;
	struct blob_version v;
	struct cache *cache = cache_new("stop", 64u << 20);
	struct cache_key k = {"acct", "c", "dir/blob.bin", NULL, 0};
	struct chunks *c;
	char etag[64];
	long long until;
	int i, cached = 0;

	version_of(1, etag, sizeof(etag), &v);
	k.etag = etag;
	srv_set(1, F_STALL, -1);
	c = cache ? engine(cache, 4, &ctr) : NULL;
	TAP_OK(c != NULL, "engine with 4 read-ahead workers");
	if (!c)
		goto out;
	for (i = 0; i < 8; i++)
		chunks_readahead(c, &v, (uint64_t)i);
	until = clock_ms() + DEADLINE_MS;
	while (srv_stalled() < 4 && clock_ms() < until)
		usleep(10000);
	TAP_EQ_INT(srv_stalled(), 4, "four fetches stall mid-body in the server");
	chunks_get_counters(c, &got);
	TAP_EQ_INT(got.inflight, 4, "the engine counts four GETs in flight");
	__atomic_store_n(&going_away, 1, __ATOMIC_RELAXED);
	http_set_cancel(cancel_hook);
	chunks_free(c); /* bounded by the cancel hook, not the stalls */
	TAP_EQ_INT(srv_stalled(), 4,
	           "the engine stopped while the server still stalls the four: it did not wait");
	http_set_cancel(NULL);
	__atomic_store_n(&going_away, 0, __ATOMIC_RELAXED);
	chunks_counters_load(&ctr, &got);
	TAP_EQ_INT(got.inflight, 0, "nothing counted in flight after the stop");
	TAP_EQ_INT(got.chunk_fetches, 0, "no chunk counted as fetched");
	for (i = 0; i < 8; i++) {
		k.index = (uint64_t)i;
		cached += stored(cache, &k) == 1;
	}
	TAP_EQ_INT(cached, 0, "no cancelled fetch was cached");
	pthread_mutex_lock(&srv.lock);
	srv.release = 1;
	pthread_mutex_unlock(&srv.lock);
out:
	if (cache)
		cache_close(cache);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

int main(void)
{
	struct http_opts ho = {.max_retries = 1, .backoff_base_ms = 1};
	struct blob_opts o = {.account = "acct", .auth = BLOB_AUTH_SHARED_KEY, .key = DEV_KEY};
	const char *tmp = getenv("TMPDIR");
	char url[64];
	int port;

	snprintf(root, sizeof(root), "%s/test_chunks.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	port = srv_start();
	TAP_OK(port > 0, "a Blob-like server on loopback");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/acct", port);
	o.url = url;
	TAP_OK(port > 0 && http_new(&h, &ho) == 0 && blob_client_new(&bc, h, &o) == 0,
	       "a blob client for it");
	if (bc) {
		test_single_flight();
		test_readahead_eviction();
		test_cut();
		test_changed_etag();
		test_random_beside_workers();
		test_shutdown();
	}
	blob_client_free(bc);
	http_free(h);
	if (port > 0)
		srv_stop();
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
