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
 * Second, a blob is read through the chunk engine (fs/chunks.c: fixed
 * chunks addressed by blob, ETag and index, from memory, LMDB or one
 * If-Match-conditional GET, with read-ahead); this file revalidates the ETag
 * at open, so a replaced blob is never served from old chunks, serialises
 * each open file's reads, and logs their failures in the error log.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "cache/cache.h"
#include "fs/chunks.h"
#include "fs/data_i.h"
#include "fs/errlog.h"
#include "fs/fs_i.h"
#include "fs/listing.h"
#include "net/blob.h"

#define FRESH_OPEN_S 1         /* a listing this young needs no HEAD at open */
#define DATA_BLKSIZE (1 << 20) /* st_blksize of dataset files */

static uint64_t heads;              /* ETag checks at open (__atomic) */
static struct chunks *eng;          /* set by data_start, freed by data_stop */
static struct chunks_counters cctr; /* the engine's counters, kept after a stop */

void data_get_counters(struct data_counters *out)
{
	struct chunks_counters cc;

	chunks_counters_load(&cctr, &cc);
	memset(out, 0, sizeof(*out));
	out->heads = __atomic_load_n(&heads, __ATOMIC_RELAXED);
	out->chunk_fetches = cc.chunk_fetches;
	out->fetch_bytes = cc.fetch_bytes;
	out->readahead_jobs = cc.readahead_jobs;
	out->readahead_dropped = cc.readahead_dropped;
	out->cache_bytes_served = cc.cache_bytes_served;
	out->fresh_hits = cc.fresh_hits;
	out->direct_reads = cc.direct_reads;
	out->inflight = cc.inflight;
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

/* ---- reads (the chunk engine, fs/chunks.c) ---- */

struct data_file {
	pthread_mutex_t lock; /* serialises reads: chunks_file_read takes one caller at a time */
	struct chunks_file *cf;
	int changed; /* the blob changed since the kernel last saw its attributes */
	char path[];
};

static void read_failed(const char *path, const char *etag, const struct chunks_failure *fl,
                        ssize_t got)
{
	if (got == -ESTALE)
		errlog_add(
		    path, ESTALE,
		    "the blob changed in storage while it was open (ETag %s is gone); open it "
		    "again to read the new version",
		    etag);
	else
		errlog_add(path, (int)-got, "read of bytes %llu-%llu failed: %s%s%s",
		           (unsigned long long)fl->off, (unsigned long long)(fl->off + fl->len - 1),
		           fl->e.code, fl->e.code[0] ? ": " : "",
		           fl->e.msg[0] ? fl->e.msg : strerror((int)-got));
}

void data_start(struct mgdcfs *fs)
{
	unsigned ra = fs->cfg.readahead_chunks;
	struct chunks_opts o = {
	    .blob = fs->blob,
	    .cache = fs->cache,
	    .account = fs->cfg.storage_account,
	    .chunk_size = fs->cfg.chunk_size,
	    .readahead = ra,
	    .ra_workers = ra < CHUNKS_RA_WORKERS_MAX ? ra : CHUNKS_RA_WORKERS_MAX,
	    .counters = &cctr,
	};
	int rc;

	rc = listings_start(fs);
	if (rc)
		log_err("datasets: the listers could not start (%s); datasets/ is empty",
		        strerror(-rc));
	if (fs->blob && (rc = chunks_new(&eng, &o)) != 0)
		log_err("datasets: the chunk engine could not start (%s); reads fail",
		        strerror(-rc));
}

void data_stop(struct mgdcfs *fs)
{
	(void)fs;
	chunks_free(eng); /* FUSE has stopped reading */
	eng = NULL;
	listings_free(lst);
	lst = NULL;
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
	if (!eng)
		return -EIO;
	rc = where_of(r, &w);
	if (rc)
		return rc;
	/* Revalidate the ETag unless storage vouched for it just now (a new listing, a
	 * probe): a replaced blob must never be served from the chunks of its previous
	 * version. */
	if (d.seen == 0 || time(NULL) - d.seen >= FRESH_OPEN_S) {
		__atomic_add_fetch(&heads, 1, __ATOMIC_RELAXED);
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
		} else if (!blob_unreachable(rc)) {
			errlog_add(path, -rc, "%s%s%s", e.code, e.code[0] ? ": " : "",
			           e.msg[0] ? e.msg : strerror(-rc));
			where_release(&w);
			return rc;
		}
		/* Offline: the listing's ETag; only cached chunks of it can be served. */
	}
	f = calloc(1, sizeof(*f) + plen);
	rc = f ? chunks_file_open(eng, &(struct blob_version){w.container, w.blob, d.etag, d.size},
	                          &f->cf)
	       : -ENOMEM;
	where_release(&w);
	if (rc) {
		free(f);
		return rc;
	}
	pthread_mutex_init(&f->lock, NULL);
	memcpy(f->path, path, plen);
	f->changed = changed;
	*out = f;
	return 0;
}

ssize_t data_read(struct mgdcfs *fs, struct data_file *f, char *buf, size_t size, off_t off)
{
	struct chunks_failure fl;
	ssize_t got;

	(void)fs;
	if (off < 0)
		return -EINVAL;
	pthread_mutex_lock(&f->lock);
	got = chunks_file_read(f->cf, buf, size, (uint64_t)off, &fl);
	pthread_mutex_unlock(&f->lock);
	__atomic_add_fetch(&g_counters.read_bytes, got < 0 ? fl.done : (size_t)got,
	                   __ATOMIC_RELAXED);
	if (got < 0)
		read_failed(f->path, chunks_file_version(f->cf)->etag, &fl, got);
	return got;
}

int data_changed(const struct data_file *f)
{
	return f->changed;
}

void data_release(struct mgdcfs *fs, struct data_file *f)
{
	(void)fs;
	pthread_mutex_destroy(&f->lock);
	chunks_file_close(f->cf);
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
