/*
 * ops.c - the FUSE adapter: libfuse's high-level operations, routed to the
 * handlers of the tree.
 *
 * The one design decision to know: writes never go straight to a service.
 * A spec file (apps/<name>.json, pipelines/<name>.json) is a draft held in
 * memory until it is closed (flush) or renamed over, and only then is the
 * whole spec validated and committed, so close(2)/rename(2) return the
 * outcome and a half-written file never reaches the service. Editors' temp
 * and swap files in apps/ and pipelines/ are drafts too and live only here.
 * Small value files (consent, data-connect, trigger, cancel) act on write.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/statvfs.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/log.h"
#include "fs/errlog.h"
#include "fs/fs_i.h"
#include "fs/ops.h"

#define DRAFT_MAX (64 * 1024) /* a spec is small; more is refused with EFBIG */
#define SMALL_MAX 4096

struct fs_counters g_counters;

/* ---- drafts: spec files being written and editors' scratch files ---- */

struct draft {
	struct draft *next;
	char *path;
	char *buf;
	size_t len;
	time_t mtime;
	mode_t mode;
	int refs;      /* open handles */
	int dirty;     /* written since the last commit */
	int scratch;   /* a temp/swap file: kept until unlinked; never committed by itself */
	int failed;    /* its last commit failed */
	int stale;     /* renaming it over a spec met a conflict (see fs_rename) */
	int toobig;    /* a write went past DRAFT_MAX: the text is cut, never commit it */
	time_t linger; /* a failed spec stays visible until then (see draft_release) */
};

static pthread_mutex_t drafts_lock = PTHREAD_MUTEX_INITIALIZER;
static struct draft *drafts; /* protected by drafts_lock */
static size_t drafts_bytes;  /* protected by drafts_lock; capped so scratch files can't eat RAM */
#define DRAFTS_MAX_BYTES (32u << 20)

static void draft_unlink(struct draft *d);

static struct draft *draft_find(const char *path)
{
	struct draft *d, *next;
	time_t now = time(NULL);

	for (d = drafts; d; d = next) {
		next = d->next;
		if (d->linger && d->refs == 0 && now > d->linger) {
			draft_unlink(d);
			continue;
		}
		if (strcmp(d->path, path) == 0)
			return d;
	}
	return NULL;
}

static struct draft *draft_new(const char *path, int scratch)
{
	struct draft *d = calloc(1, sizeof(*d));

	if (!d || !(d->path = strdup(path))) {
		free(d);
		return NULL;
	}
	d->scratch = scratch;
	d->mtime = time(NULL);
	d->mode = 0644;
	d->next = drafts;
	drafts = d;
	return d;
}

static void draft_unlink(struct draft *d)
{
	struct draft **pp;

	for (pp = &drafts; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	drafts_bytes -= d->len;
	free(d->path);
	free(d->buf);
	free(d);
}

static int draft_write(struct draft *d, const char *buf, size_t size, off_t off)
{
	size_t end = (size_t)off + size;
	char *nb;

	if (off < 0 || end > DRAFT_MAX || end < size)
		return -EFBIG;
	if (end > d->len && drafts_bytes + (end - d->len) > DRAFTS_MAX_BYTES)
		return -ENOSPC;
	if (end > d->len) {
		nb = realloc(d->buf, end + 1);
		if (!nb)
			return -ENOMEM;
		d->buf = nb;
		memset(d->buf + d->len, 0, end - d->len);
		drafts_bytes += end - d->len;
		d->len = end;
		d->buf[d->len] = '\0';
	}
	memcpy(d->buf + off, buf, size);
	d->dirty = 1;
	d->stale = 0;
	d->mtime = time(NULL);
	return (int)size;
}

static int draft_truncate(struct draft *d, off_t size)
{
	char *nb;

	if (size < 0 || size > DRAFT_MAX)
		return -EFBIG;
	if ((size_t)size > d->len) {
		nb = realloc(d->buf, (size_t)size + 1);
		if (!nb)
			return -ENOMEM;
		d->buf = nb;
		memset(d->buf + d->len, 0, (size_t)size - d->len);
		drafts_bytes += (size_t)size - d->len;
	} else {
		drafts_bytes -= d->len - (size_t)size;
	}
	d->len = (size_t)size;
	if (d->buf)
		d->buf[d->len] = '\0';
	/* Not dirty: only a write makes a command. A shell redirection truncates at open,
	 * then closes a dup of the fd before writing; that flush must not commit "". */
	d->stale = 0;
	d->toobig = 0;
	d->mtime = time(NULL);
	return 0;
}

/* ---- kernel cache invalidation, from a thread of its own ----
 * A notification sent from inside a request handler could wait on the very
 * request that sends it, so paths are queued and a helper thread tells the
 * kernel to forget their attributes and pages. */

#define INVAL_MAX 64
static pthread_mutex_t inval_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t inval_cond = PTHREAD_COND_INITIALIZER;
static char *inval_paths[INVAL_MAX]; /* protected by inval_lock */
static int inval_n, inval_stop;      /* protected by inval_lock */
static pthread_t inval_thread;
static int inval_running;
static struct fuse *inval_fuse;

static void inval_queue(const char *path)
{
	pthread_mutex_lock(&inval_lock);
	if (inval_running && inval_n < INVAL_MAX && (inval_paths[inval_n] = strdup(path)))
		inval_n++;
	pthread_cond_signal(&inval_cond);
	pthread_mutex_unlock(&inval_lock);
}

static void *inval_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&inval_lock);
	while (!inval_stop) {
		while (inval_n > 0) {
			char *p = inval_paths[--inval_n];

			pthread_mutex_unlock(&inval_lock);
			fuse_invalidate_path(inval_fuse, p);
			free(p);
			pthread_mutex_lock(&inval_lock);
		}
		pthread_cond_wait(&inval_cond, &inval_lock);
	}
	pthread_mutex_unlock(&inval_lock);
	return NULL;
}

void ops_start(struct fuse *f)
{
	inval_fuse = f;
	inval_stop = 0;
	inval_running = pthread_create(&inval_thread, NULL, inval_main, NULL) == 0;
}

void ops_stop(void)
{
	if (!inval_running)
		return;
	pthread_mutex_lock(&inval_lock);
	inval_stop = 1;
	pthread_cond_signal(&inval_cond);
	pthread_mutex_unlock(&inval_lock);
	pthread_join(inval_thread, NULL);
	inval_running = 0;
	while (inval_n > 0)
		free(inval_paths[--inval_n]);
}

/* ---- file handles ---- */

enum fh_kind { FH_CONTENT, FH_DRAFT, FH_SMALL, FH_DATA };

struct fh {
	struct fh *prev, *next; /* the open handles; protected by fh_lock */
	enum fh_kind kind;
	struct content c;          /* FH_CONTENT and FH_SMALL: what reads return */
	struct draft *draft;       /* FH_DRAFT */
	struct data_file *data;    /* FH_DATA */
	char small[SMALL_MAX + 1]; /* FH_SMALL: bytes written and not yet acted on */
	size_t small_len;
	int small_acted;
	char path[];
};

/*
 * Every open handle is on a list, so the ones the kernel never released (the
 * session ended by SIGTERM before their RELEASE was read) are freed at destroy.
 */
static pthread_mutex_t fh_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fh *fh_open; /* protected by fh_lock */

static struct fh *fh_new(enum fh_kind kind, const char *path)
{
	size_t n = strlen(path) + 1;
	struct fh *h = calloc(1, sizeof(*h) + n);

	if (h) {
		h->kind = kind;
		memcpy(h->path, path, n);
		pthread_mutex_lock(&fh_lock);
		h->next = fh_open;
		if (fh_open)
			fh_open->prev = h;
		fh_open = h;
		pthread_mutex_unlock(&fh_lock);
	}
	return h;
}

/* Take h off the open list and free what it holds (not its draft: see fs_release). */
static void fh_free(struct fh *h)
{
	pthread_mutex_lock(&fh_lock);
	if (h->prev)
		h->prev->next = h->next;
	else
		fh_open = h->next;
	if (h->next)
		h->next->prev = h->prev;
	pthread_mutex_unlock(&fh_lock);
	content_release(&h->c);
	free(h);
}

static struct fh *fh_of(struct fuse_file_info *fi)
{
	return (struct fh *)(uintptr_t)fi->fh;
}

static int is_small(enum node_kind k)
{
	return (tree_flags(k) & TF_SMALL) != 0;
}

static int is_spec(enum node_kind k)
{
	return (tree_flags(k) & TF_SPEC) != 0;
}

static void fill_stat_common(struct stat *st)
{
	st->st_uid = g_fs->uid;
	st->st_gid = g_fs->gid;
	st->st_blksize = 4096;
	st->st_blocks = (st->st_size + 511) / 512;
}

static void dir_stat(struct stat *st, time_t mtime)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFDIR | 0755;
	st->st_nlink = 2;
	st->st_mtime = st->st_ctime = st->st_atime = mtime ? mtime : g_fs->started;
	fill_stat_common(st);
}

static void draft_stat(const struct draft *d, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG | (d->mode & 07777);
	st->st_nlink = 1;
	st->st_size = (off_t)d->len;
	st->st_mtime = st->st_ctime = st->st_atime = d->mtime;
	fill_stat_common(st);
}

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct route r;
	struct content c = {0};
	struct draft *d;
	time_t mtime = 0;
	int rc;

	(void)fi;
	FS_COUNT(lookups, 1);
	tree_route(path, &r);
	if (r.kind == N_NONE)
		return -ENOENT;
	if (r.kind == N_SCRATCH || is_spec(r.kind)) {
		pthread_mutex_lock(&drafts_lock);
		d = draft_find(path);
		if (d)
			draft_stat(d, st);
		pthread_mutex_unlock(&drafts_lock);
		if (d)
			return 0;
		if (r.kind == N_SCRATCH)
			return -ENOENT;
	}
	if (r.kind == N_DS_CONTAINER || r.kind == N_DS_PATH || r.kind == N_DATASETS)
		return r.kind == N_DATASETS ? (dir_stat(st, 0), 0) : data_stat(g_fs, path, &r, st);
	if (tree_is_dir(r.kind)) {
		if (r.kind == N_APP || r.kind == N_PIPE || r.kind == N_RUN || r.kind == N_RUNS) {
			rc = ctl_dir_exists(g_fs, path, &r, &mtime);
			if (rc)
				return rc;
		}
		dir_stat(st, mtime);
		return 0;
	}
	rc = ctl_render(g_fs, path, &r, &c);
	if (rc)
		return rc;
	memset(st, 0, sizeof(*st));
	st->st_mode = c.mode;
	st->st_nlink = 1;
	st->st_size = (off_t)c.len;
	st->st_mtime = st->st_ctime = st->st_atime = c.mtime ? c.mtime : g_fs->started;
	fill_stat_common(st);
	content_release(&c);
	return 0;
}

struct fill_ctx {
	void *buf;
	fuse_fill_dir_t filler;
	enum fuse_readdir_flags flags;
};

static int fill_one(void *ud, const char *name, const struct stat *st)
{
	struct fill_ctx *fc = ud;

	if (st && (fc->flags & FUSE_READDIR_PLUS))
		return fc->filler(fc->buf, name, st, 0, FUSE_FILL_DIR_PLUS) ? -ENOBUFS : 0;
	return fc->filler(fc->buf, name, NULL, 0, 0) ? -ENOBUFS : 0;
}

/*
 * A dataset folder is read in libfuse's offset mode: each entry carries the
 * offset of the next, and a readdir fills one kernel buffer from `off` on.
 * (In the other mode, with offset 0, libfuse copies the whole folder into a
 * list on the first call and walks that list from its head to `off` on every
 * later call, which made `ls` of 100,000 files quadratic; and its
 * READDIRPLUS entries then carry no attributes, so `ls -l` sent a LOOKUP per
 * file.) libfuse 3.14 counts a lookup for an entry that did not fit in the
 * buffer too, so the node of one name per call stays in its table until
 * unmount: bounded by the folder's names.
 */
static int fill_at(void *ud, const char *name, const struct stat *st, off_t next)
{
	struct fill_ctx *fc = ud;

	if (st && (fc->flags & FUSE_READDIR_PLUS))
		return fc->filler(fc->buf, name, st, next, FUSE_FILL_DIR_PLUS) ? -ENOBUFS : 0;
	return fc->filler(fc->buf, name, st, next, 0) ? -ENOBUFS : 0;
}

static int is_dataset_dir(enum node_kind k)
{
	return k == N_DATASETS || k == N_DS_CONTAINER || k == N_DS_PATH;
}

static int fs_opendir(const char *path, struct fuse_file_info *fi)
{
	struct data_dir *dd;
	struct route r;
	int rc;

	fi->fh = 0;
	tree_route(path, &r);
	if (!is_dataset_dir(r.kind))
		return 0;
	rc = data_opendir(g_fs, path, &r, &dd);
	if (rc)
		return rc;
	fi->fh = (uintptr_t)dd;
	return 0;
}

static int fs_releasedir(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	if (fi->fh)
		data_closedir(g_fs, (struct data_dir *)(uintptr_t)fi->fh);
	fi->fh = 0;
	return 0;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct fill_ctx fc = {buf, filler, flags};
	struct route r;
	struct draft *d;
	size_t plen = strlen(path);
	int rc;

	FS_COUNT(readdirs, 1);
	if (fi && fi->fh)
		return data_readdir(g_fs, (struct data_dir *)(uintptr_t)fi->fh, off, fill_at, &fc);
	tree_route(path, &r);
	if (!tree_is_dir(r.kind) && r.kind != N_DS_PATH)
		return r.kind == N_NONE ? -ENOENT : -ENOTDIR;
	if (is_dataset_dir(r.kind)) {
		/* Not opened by fs_opendir (libfuse always opens first): read it anyway. */
		struct data_dir *dd;

		rc = data_opendir(g_fs, path, &r, &dd);
		if (rc == 0) {
			rc = data_readdir(g_fs, dd, off, fill_at, &fc);
			data_closedir(g_fs, dd);
		}
		return rc;
	}
	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	rc = ctl_list(g_fs, path, &r, fill_one, &fc);
	if (rc)
		return rc;
	if (r.kind == N_APPS || r.kind == N_PIPES) {
		/* Drafts and scratch files that live only here. */
		pthread_mutex_lock(&drafts_lock);
		for (d = drafts; d; d = d->next) {
			struct route dr;

			if (strncmp(d->path, path, plen) != 0 || d->path[plen] != '/' ||
			    strchr(d->path + plen + 1, '/'))
				continue;
			tree_route(d->path, &dr);
			/* A spec of an existing app is already listed by ctl_list. */
			if (dr.kind == N_SCRATCH || (d->refs > 0 && is_spec(dr.kind))) {
				struct stat st;

				draft_stat(d, &st);
				fill_one(&fc, d->path + plen + 1, &st);
			}
		}
		pthread_mutex_unlock(&drafts_lock);
	}
	return 0;
}

static int fs_readlink(const char *path, char *buf, size_t size)
{
	struct route r;
	struct content c = {0};
	int rc;

	tree_route(path, &r);
	if (!(tree_flags(r.kind) & TF_LINK))
		return -EINVAL;
	rc = ctl_render(g_fs, path, &r, &c);
	if (rc)
		return rc;
	if (size == 0) {
		content_release(&c);
		return -EINVAL;
	}
	snprintf(buf, size, "%s", c.data);
	content_release(&c);
	return 0;
}

/* Open a draft for a spec or scratch path, seeding it from the current rendering. */
static int open_draft(const char *path, const struct route *r, int flags, int create,
                      struct fh **out)
{
	struct content c = {0};
	struct draft *d;
	struct fh *h;
	int rc = 0, have = 0;

	if (!create && !(flags & O_TRUNC) && is_spec(r->kind)) {
		/* Editing an existing spec: start from what the service holds. */
		rc = ctl_render(g_fs, path, r, &c);
		if (rc && rc != -ENOENT)
			return rc;
		have = rc == 0;
	}
	h = fh_new(FH_DRAFT, path);
	if (!h) {
		content_release(&c);
		return -ENOMEM;
	}
	pthread_mutex_lock(&drafts_lock);
	d = draft_find(path);
	if (!d) {
		if (r->kind == N_SCRATCH && !create) {
			rc = -ENOENT;
			goto unlock;
		}
		/* Writing a spec that does not exist yet is how an app or pipeline is made,
		 * whether the kernel sends create or (with a cached dentry) open. */
		if (is_spec(r->kind) && !create && !have && (flags & O_ACCMODE) == O_RDONLY) {
			rc = -ENOENT;
			goto unlock;
		}
		d = draft_new(path, r->kind == N_SCRATCH);
		if (!d) {
			rc = -ENOMEM;
			goto unlock;
		}
		if (have && c.len) {
			rc = draft_write(d, c.data, c.len, 0);
			d->dirty = 0;
			rc = rc < 0 ? rc : 0;
		}
	}
	if (rc == 0 && (flags & O_TRUNC))
		rc = draft_truncate(d, 0);
	if (rc == 0) {
		d->refs++;
		d->linger = 0;
		h->draft = d;
	}
unlock:
	pthread_mutex_unlock(&drafts_lock);
	content_release(&c);
	if (rc) {
		fh_free(h);
		return rc;
	}
	*out = h;
	return 0;
}

static int fs_open_common(const char *path, struct fuse_file_info *fi, int create, mode_t mode)
{
	struct route r;
	struct fh *h = NULL;
	int acc = fi->flags & O_ACCMODE, rc;

	tree_route(path, &r);
	if (r.kind == N_NONE)
		return create ? -EPERM : -ENOENT;
	if (tree_is_dir(r.kind))
		return -EISDIR;
	if (r.kind == N_SCRATCH || is_spec(r.kind)) {
		if (acc == O_RDONLY && is_spec(r.kind) && !create) {
			pthread_mutex_lock(&drafts_lock);
			struct draft *d = draft_find(path);
			pthread_mutex_unlock(&drafts_lock);
			if (!d)
				goto content;
		}
		rc = open_draft(path, &r, fi->flags, create, &h);
		if (rc)
			return rc;
		if (create)
			h->draft->mode = mode & 0666;
		fi->direct_io = 1;
		fi->fh = (uintptr_t)h;
		return 0;
	}
	if (create)
		return -EPERM;
	if (r.kind == N_DS_PATH) {
		struct data_file *df;

		if (acc != O_RDONLY)
			return -EROFS;
		rc = data_open(g_fs, path, &r, &df);
		if (rc)
			return rc;
		h = fh_new(FH_DATA, path);
		if (!h) {
			data_release(g_fs, df);
			return -ENOMEM;
		}
		h->data = df;
		if (data_changed(df)) {
			/* The kernel still holds the old size and pages: read this open past them,
			 * and have them dropped for the next one. */
			fi->direct_io = 1;
			inval_queue(path);
		} else {
			fi->keep_cache = 1; /* revalidated at open: same ETag, same bytes */
		}
		fi->fh = (uintptr_t)h;
		return 0;
	}
	if (acc != O_RDONLY && !is_small(r.kind)) {
		errlog_add(path, EACCES,
		           "%s is read-only; commands are written into apps/<name>.json, "
		           "pipelines/<name>.json, consent, data-connect, trigger or cancel",
		           path + 1);
		return -EACCES;
	}
content:
	h = fh_new(is_small(r.kind) ? FH_SMALL : FH_CONTENT, path);
	if (!h)
		return -ENOMEM;
	if (acc != O_WRONLY) {
		rc = ctl_render(g_fs, path, &r, &h->c);
		if (rc) {
			fh_free(h);
			return rc;
		}
	}
	/* Control-plane files change under us: never keep stale pages, and let reads see
	 * exactly the snapshot taken at open even if the size changed since getattr. */
	fi->direct_io = 1;
	fi->fh = (uintptr_t)h;
	return 0;
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
	return fs_open_common(path, fi, 0, 0);
}

static int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct route r;

	tree_route(path, &r);
	if (r.kind == N_NONE && tree_spec_dir_entry(path)) {
		errlog_add(path, EINVAL,
		           "%s: $: not a valid file name; names are 1 to 255 bytes of UTF-8 "
		           "without control characters",
		           path + 1);
		return -EINVAL;
	}
	if (r.kind != N_SCRATCH && !is_spec(r.kind)) {
		if (is_small(r.kind))
			return fs_open_common(path, fi, 0, 0);
		errlog_add(path, EPERM,
		           "files can be created only in apps/ and pipelines/ (specs and editor "
		           "files); commands elsewhere are written into existing files");
		return -EPERM;
	}
	return fs_open_common(path, fi, 1, mode);
}

static int fs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fh *h = fh_of(fi);
	size_t n = 0;

	(void)path;
	if (h->kind == FH_DATA) {
		FS_COUNT(reads, 1);
		return (int)data_read(g_fs, h->data, buf, size, off);
	}
	if (h->kind == FH_DRAFT) {
		pthread_mutex_lock(&drafts_lock);
		if ((size_t)off < h->draft->len) {
			n = h->draft->len - (size_t)off;
			n = n < size ? n : size;
			memcpy(buf, h->draft->buf + off, n);
		}
		pthread_mutex_unlock(&drafts_lock);
		return (int)n;
	}
	if ((size_t)off < h->c.len) {
		n = h->c.len - (size_t)off;
		n = n < size ? n : size;
		memcpy(buf, h->c.data + off, n);
	}
	return (int)n;
}

/* A small value is complete when it has a newline, or parses (trigger's JSON). */
static int small_complete(const struct fh *h, enum node_kind k)
{
	if (memchr(h->small, '\n', h->small_len))
		return 1;
	if (k == N_PIPE_TRIGGER || k == N_PIPE_SCHEDULE) {
		size_t i = h->small_len;

		while (i > 0 && (h->small[i - 1] == ' ' || h->small[i - 1] == '\t'))
			i--;
		return i > 0 && h->small[i - 1] == '}';
	}
	return 0;
}

static int small_act(struct fh *h, const struct route *r)
{
	int rc;

	FS_COUNT(commands, 1);
	rc = cmd_small(g_fs, h->path, r, h->small, h->small_len);
	if (rc)
		FS_COUNT(command_failures, 1);
	h->small_len = 0;
	h->small_acted = 1;
	return rc;
}

static int fs_write(const char *path, const char *buf, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
	struct fh *h = fh_of(fi);
	struct route r;
	int rc;

	if (h->kind == FH_DRAFT) {
		pthread_mutex_lock(&drafts_lock);
		rc = draft_write(h->draft, buf, size, off);
		if (rc == -EFBIG)
			h->draft->toobig = 1;
		pthread_mutex_unlock(&drafts_lock);
		if (rc == -EFBIG)
			errlog_add(path, EFBIG, "a spec may be at most %d bytes", DRAFT_MAX);
		return rc;
	}
	if (h->kind != FH_SMALL)
		return -EBADF;
	if (h->small_len + size > SMALL_MAX) {
		errlog_add(path, EFBIG, "at most %d bytes may be written here", SMALL_MAX);
		h->small_len = 0;
		return -EFBIG;
	}
	memcpy(h->small + h->small_len, buf, size);
	h->small_len += size;
	h->small[h->small_len] = '\0';
	tree_route(path, &r);
	if (!small_complete(h, r.kind))
		return (int)size;
	rc = small_act(h, &r);
	return rc ? rc : (int)size;
}

/* Does `buf` equal what the service holds (the spec as rendered now)? */
static int same_as_service(const char *path, const struct route *r, const char *buf, size_t len)
{
	struct content c = {0};
	int same;

	same = ctl_render(g_fs, path, r, &c) == 0 && c.len == len && memcmp(c.data, buf, len) == 0;
	content_release(&c);
	return same;
}

/*
 * Commit the text of draft `d` as spec `path`. With `skip_same`, text equal to what
 * the service holds is not sent: an editor restoring its backup after a refused save
 * must not touch the service (a PUT would still move the ETag, a pipeline spec would
 * start a run). Records the outcome in d->failed.
 */
static int commit_text(const char *path, const struct route *r, struct draft *d, int skip_same)
{
	char *copy;
	size_t len;
	int rc = 0;

	pthread_mutex_lock(&drafts_lock);
	len = d->len;
	copy = malloc(len + 1);
	if (copy) {
		memcpy(copy, d->buf ? d->buf : "", len);
		copy[len] = '\0';
		d->dirty = 0;
	}
	pthread_mutex_unlock(&drafts_lock);
	if (!copy)
		return -ENOMEM;
	if (!skip_same || !same_as_service(path, r, copy, len)) {
		FS_COUNT(commands, 1);
		rc = cmd_commit(g_fs, path, r, copy, len);
		if (rc)
			FS_COUNT(command_failures, 1);
	}
	pthread_mutex_lock(&drafts_lock);
	d->failed = rc != 0;
	pthread_mutex_unlock(&drafts_lock);
	free(copy);
	return rc;
}

static int commit_draft(const char *path, struct draft *d)
{
	struct route r;
	int dirty;

	tree_route(path, &r);
	if (!is_spec(r.kind))
		return 0;
	pthread_mutex_lock(&drafts_lock);
	dirty = d->dirty;
	if (d->toobig) {
		/* Refused (and logged) at the write already; the text is incomplete. */
		d->dirty = dirty = 0;
		d->failed = 1;
		pthread_mutex_unlock(&drafts_lock);
		return -EFBIG;
	}
	pthread_mutex_unlock(&drafts_lock);
	/* What is closed is sent, even unchanged: re-writing a pipeline spec re-runs it,
	 * and an unchanged app spec still checks its ETag against a concurrent update. */
	return dirty ? commit_text(path, &r, d, 0) : 0;
}

static int fs_flush(const char *path, struct fuse_file_info *fi)
{
	struct fh *h = fh_of(fi);
	struct route r;

	if (h->kind == FH_DRAFT)
		return commit_draft(path, h->draft);
	if (h->kind == FH_SMALL && h->small_len > 0) {
		tree_route(path, &r);
		return small_act(h, &r);
	}
	return 0;
}

static int fs_release(const char *path, struct fuse_file_info *fi)
{
	struct fh *h = fh_of(fi);

	(void)path;
	if (h->kind == FH_DATA)
		data_release(g_fs, h->data);
	if (h->kind == FH_DRAFT) {
		struct route r;
		struct content c = {0};
		int exists = 0;

		/* A refused edit of a spec the service holds must not shadow it: the next
		 * read (sed -i, an editor) has to start from what the service has. */
		tree_route(h->path, &r);
		if (h->draft->failed && is_spec(r.kind))
			exists = ctl_render(g_fs, h->path, &r, &c) == 0;
		content_release(&c);
		pthread_mutex_lock(&drafts_lock);
		if (--h->draft->refs == 0 && !h->draft->scratch) {
			/* A spec whose commit failed never came to be, but the kernel may still
			 * hold its dentry for the entry timeout; keep answering for it a little
			 * longer so the user's next write (open without create) finds it. */
			if (h->draft->failed && !exists)
				h->draft->linger = time(NULL) + 2;
			else
				draft_unlink(h->draft);
		}
		pthread_mutex_unlock(&drafts_lock);
	}
	fh_free(h);
	return 0;
}

void ops_release_all(void)
{
	struct fh *h;

	for (;;) {
		pthread_mutex_lock(&fh_lock);
		h = fh_open;
		pthread_mutex_unlock(&fh_lock);
		if (!h)
			break;
		/* No command at shutdown: a draft only loses this reference. */
		if (h->kind == FH_DATA)
			data_release(g_fs, h->data);
		if (h->kind == FH_DRAFT) {
			pthread_mutex_lock(&drafts_lock);
			h->draft->refs--;
			pthread_mutex_unlock(&drafts_lock);
		}
		fh_free(h);
	}
}

static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct route r;
	struct draft *d;
	int rc;

	tree_route(path, &r);
	if (fi && fh_of(fi)->kind == FH_DRAFT) {
		pthread_mutex_lock(&drafts_lock);
		rc = draft_truncate(fh_of(fi)->draft, size);
		pthread_mutex_unlock(&drafts_lock);
		return rc;
	}
	if (is_small(r.kind))
		return 0; /* "echo x > consent" truncates first; nothing to keep */
	if (r.kind != N_SCRATCH && !is_spec(r.kind))
		return r.kind == N_NONE ? -ENOENT : -EACCES;
	pthread_mutex_lock(&drafts_lock);
	d = draft_find(path);
	rc = d ? draft_truncate(d, size) : (is_spec(r.kind) ? 0 : -ENOENT);
	pthread_mutex_unlock(&drafts_lock);
	return rc;
}

static int fs_unlink(const char *path)
{
	struct route r;
	struct draft *d;

	tree_route(path, &r);
	pthread_mutex_lock(&drafts_lock);
	d = draft_find(path);
	if (d && (r.kind == N_SCRATCH || is_spec(r.kind))) {
		if (d->refs == 0)
			draft_unlink(d);
		else
			d->scratch = 0; /* freed at the last release */
		pthread_mutex_unlock(&drafts_lock);
		return 0;
	}
	pthread_mutex_unlock(&drafts_lock);
	if (is_spec(r.kind)) {
		errlog_add(path, EPERM, "a spec file is removed with its directory: rmdir %.*s",
		           (int)(strlen(path) - 6), path + 1);
		return -EPERM;
	}
	return r.kind == N_NONE || r.kind == N_SCRATCH ? -ENOENT : -EPERM;
}

/*
 * rename: a draft renamed over a spec commits it (sed -i, editors that save
 * through a temp file); the commit's outcome is rename's. A spec renamed to a
 * scratch name (an editor's backup) copies its current text into a draft.
 */
static int fs_rename(const char *from, const char *to, unsigned int flags)
{
	struct route rf, rt;
	struct draft *d, *t;
	struct content c = {0};
	int rc = 0;

	if (flags & RENAME_EXCHANGE)
		return -EINVAL;
	tree_route(from, &rf);
	tree_route(to, &rt);
	if ((rf.kind != N_SCRATCH && !is_spec(rf.kind)) ||
	    (rt.kind != N_SCRATCH && !is_spec(rt.kind)) || rf.in_pipelines != rt.in_pipelines)
		return -EXDEV;
	if (is_spec(rf.kind) && is_spec(rt.kind) && strcmp(from, to) != 0) {
		/* Would copy one app or pipeline's spec onto another name, not rename it. */
		errlog_add(to, EPERM,
		           "an app or pipeline cannot be renamed; copy its spec, rmdir %.*s, then "
		           "write the spec as %s",
		           (int)(strlen(from) - 6), from + 1, to + 1);
		return -EPERM;
	}
	pthread_mutex_lock(&drafts_lock);
	d = draft_find(from);
	if (d)
		d->refs++; /* held to the end: an unlink meanwhile must not free it */
	pthread_mutex_unlock(&drafts_lock);
	if (!d && is_spec(rf.kind)) {
		/* Backup of a spec that only the service holds. */
		rc = ctl_render(g_fs, from, &rf, &c);
		if (rc)
			return rc;
		pthread_mutex_lock(&drafts_lock);
		t = draft_find(to);
		if (!t)
			t = draft_new(to, rt.kind == N_SCRATCH);
		rc = t ? draft_truncate(t, 0) : -ENOMEM;
		if (rc == 0 && c.len)
			rc = draft_write(t, c.data, c.len, 0) < 0 ? -ENOMEM : 0;
		if (t)
			t->dirty = 0;
		pthread_mutex_unlock(&drafts_lock);
		content_release(&c);
		return rc;
	}
	if (!d)
		return -ENOENT;
	if (is_spec(rt.kind)) {
		/* Commit first: if it fails the source stays where it was, nothing lost.
		 * The kernel retries a rename that failed with ESTALE (once, revalidating
		 * the path); by then the listing is fresh and the same text would win over
		 * the concurrent change, so a conflicted draft stays refused until it is
		 * written again. */
		pthread_mutex_lock(&drafts_lock);
		rc = d->stale ? -ESTALE : d->toobig ? -EFBIG : 0;
		pthread_mutex_unlock(&drafts_lock);
		if (rc == 0)
			rc = commit_text(to, &rt, d, 1);
		if (rc == -ESTALE) {
			pthread_mutex_lock(&drafts_lock);
			d->stale = 1;
			pthread_mutex_unlock(&drafts_lock);
		}
		if (rc)
			goto put;
	}
	pthread_mutex_lock(&drafts_lock);
	t = draft_find(to);
	if (t && t != d) {
		if (t->refs == 0)
			draft_unlink(t);
		else
			t->scratch = 0;
	}
	if (draft_find(from) == d) {
		char *np = strdup(to);

		if (np) {
			free(d->path);
			d->path = np;
			d->scratch = rt.kind == N_SCRATCH;
		} else {
			rc = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&drafts_lock);
put:
	pthread_mutex_lock(&drafts_lock);
	/* Renamed over a spec (committed) or unlinked meanwhile: gone with its last handle. */
	if (--d->refs == 0 && !d->scratch)
		draft_unlink(d);
	pthread_mutex_unlock(&drafts_lock);
	return rc;
}

static int fs_mkdir(const char *path, mode_t mode)
{
	struct route r;

	(void)mode;
	tree_route(path, &r);
	if (r.kind == N_APP || r.kind == N_PIPE) {
		errlog_add(path, EPERM, "to create it, write a spec into %s.json", path);
		return -EPERM;
	}
	return r.kind == N_NONE ? -EPERM : -EEXIST;
}

static int fs_rmdir(const char *path)
{
	struct route r;
	int rc;

	tree_route(path, &r);
	if (r.kind != N_APP && r.kind != N_PIPE)
		return r.kind == N_NONE ? -ENOENT : -EPERM;
	FS_COUNT(commands, 1);
	rc = cmd_rmdir(g_fs, path, &r);
	if (rc)
		FS_COUNT(command_failures, 1);
	return rc;
}

static int fs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	struct route r;

	(void)tv;
	(void)fi;
	tree_route(path, &r);
	return r.kind == N_NONE ? -ENOENT : 0; /* times come from the service; accept touch */
}

static int fs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct route r;
	struct draft *d;

	(void)fi;
	tree_route(path, &r);
	if (r.kind != N_SCRATCH && !is_spec(r.kind))
		return r.kind == N_NONE ? -ENOENT : -EPERM;
	pthread_mutex_lock(&drafts_lock);
	d = draft_find(path);
	if (d)
		d->mode = mode & 0666;
	pthread_mutex_unlock(&drafts_lock);
	return 0;
}

static int fs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	(void)fi;
	if ((uid != (uid_t)-1 && uid != g_fs->uid) || (gid != (gid_t)-1 && gid != g_fs->gid))
		return -EPERM;
	(void)path;
	return 0;
}

static int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	(void)datasync;
	(void)fi;
	return 0;
}

static int fs_getxattr(const char *path, const char *name, char *value, size_t size)
{
	struct route r;

	tree_route(path, &r);
	if (r.kind == N_NONE)
		return -ENOENT;
	/* Only user.* attributes exist here. ENOTSUP (not ENODATA) for the security.,
	 * system. and trusted. names: ls -l, cp -a and getfacl then stop asking for the
	 * rest of the mount instead of making one round trip per file and name. */
	if (strncmp(name, "user.", 5) != 0)
		return -ENOTSUP;
	if (r.kind == N_DS_PATH)
		return data_getxattr(g_fs, path, &r, name, value, size);
	return -ENODATA;
}

static int fs_listxattr(const char *path, char *list, size_t size)
{
	struct route r;

	tree_route(path, &r);
	if (r.kind == N_DS_PATH)
		return data_listxattr(g_fs, path, &r, list, size);
	return r.kind == N_NONE ? -ENOENT : 0;
}

static int fs_statfs(const char *path, struct statvfs *sv)
{
	(void)path;
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = 4096;
	sv->f_frsize = 4096;
	sv->f_namemax = 255;
	return 0;
}

static int fs_access(const char *path, int mask)
{
	struct route r;

	(void)mask;
	tree_route(path, &r);
	return r.kind == N_NONE ? -ENOENT : 0;
}

const struct fuse_operations *fs_operations(void)
{
	static const struct fuse_operations ops = {
	    .getattr = fs_getattr,
	    .readlink = fs_readlink,
	    .mkdir = fs_mkdir,
	    .unlink = fs_unlink,
	    .rmdir = fs_rmdir,
	    .rename = fs_rename,
	    .chmod = fs_chmod,
	    .chown = fs_chown,
	    .truncate = fs_truncate,
	    .open = fs_open,
	    .read = fs_read,
	    .write = fs_write,
	    .statfs = fs_statfs,
	    .flush = fs_flush,
	    .release = fs_release,
	    .fsync = fs_fsync,
	    .getxattr = fs_getxattr,
	    .listxattr = fs_listxattr,
	    .opendir = fs_opendir,
	    .readdir = fs_readdir,
	    .releasedir = fs_releasedir,
	    .access = fs_access,
	    .create = fs_create,
	    .utimens = fs_utimens,
	    .init = fs_init,
	    .destroy = fs_destroy,
	};
	return &ops;
}
