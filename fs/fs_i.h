/*
 * fs_i.h - what the modules of fs/ share: the mount's context and the
 * interfaces between the FUSE adapter (ops.c) and the handlers behind it
 * (ctl.c for the control plane, data.c for datasets, cmd.c for commands).
 * Private to fs/.
 */
#ifndef MGDCFS_FS_FS_I_H
#define MGDCFS_FS_FS_I_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "fs/config.h"
#include "fs/tree.h"

struct http;
struct auth;
struct cache;
struct memo;
struct catalog;
struct blob_client;
struct graph;
struct reg;
struct adf;
struct fabric;
struct billing;
struct rbac;

/* One mount. Set up before fuse_main (net objects, catalog) and in init (cache). */
struct mgdcfs {
	struct config cfg;
	struct http *http;
	struct auth *auth;
	struct auth *storage_auth; /* storage's own credential (storage.auth "msi", ...), or NULL */
	struct blob_client *blob;
	struct cache *cache; /* NULL until init; NULL if the cache could not open */
	struct memo *memo;
	const struct catalog *catalog;
	struct graph *graph;
	struct reg *reg;         /* NULL when the profile names no registration endpoint */
	struct adf *adf;         /* NULL when the profile names no factory */
	struct fabric *fabric;   /* the Fabric workspace of host "fabric" (then adf is NULL) */
	struct billing *billing; /* MGDC billing accounts; NULL without subscription_id and
	                            resource_group */
	struct rbac *rbac;       /* role assignments (ARM) */
	unsigned noted;          /* notes said once per mount: NOTE_* bits, atomic */
	uid_t uid;
	gid_t gid;
	time_t started;
	int debug;
};

extern struct mgdcfs *g_fs;

/* fs_pipelines - whether the mount has a pipelines host (Data Factory, Synapse or Fabric). */
static inline int fs_pipelines(const struct mgdcfs *fs)
{
	return fs->adf || fs->fabric;
}

/* Things a mount says once in .mgdcfs/errors, however often they recur (fs->noted). */
enum { NOTE_BILLING = 1, NOTE_GRAPH_APPS = 2, NOTE_GRAPH_ORG = 4 };

/* fs_note_once - 1 the first time `bit` is asked for on this mount, then 0. Thread-safe. */
static inline int fs_note_once(struct mgdcfs *fs, unsigned bit)
{
	return !(__atomic_fetch_or(&fs->noted, bit, __ATOMIC_RELAXED) & bit);
}

/*
 * Threads. Every function below runs on libfuse's worker threads, several at
 * once and on the same path, unless its comment says otherwise; none keeps a
 * pointer to its arguments after it returns. A call that needs the network
 * blocks its thread for at most the profile's deadline per request it makes
 * (and ends at once when the mount is going away: net/http.h,
 * http_set_cancel). Errors are 0 or -errno; the reason of a remote failure
 * goes to .mgdcfs/errors (errlog) by the callee, never by the caller.
 */

/* A rendered file of the control plane, or a symlink target. */
struct content {
	char *data; /* malloc'd, NUL-terminated; the caller's after a successful render */
	size_t len;
	time_t mtime;
	mode_t mode; /* S_IFREG | perms, or S_IFLNK */
};

/*
 * Directory listing callback: `name` and `st` (NULL when the handler does not
 * know it) are valid only during the call; non-zero stops the listing.
 * Called on the lister's thread, never after ctl_list returned.
 */
typedef int (*dir_fill_fn)(void *ud, const char *name, const struct stat *st);

/*
 * ctl.c - the control-plane tree (everything but datasets/ and drafts).
 * ctl_render fills `c` for a file or symlink node of route `r` (on failure
 * `c` is left empty); ctl_dir_exists checks a named directory (an app, a
 * pipeline, a run) and gives its mtime; ctl_list lists a directory through
 * `fill`. Documents come from fs->memo (one fetch per TTL however many
 * threads ask), so concurrent calls are cheap.
 */
int ctl_render(struct mgdcfs *fs, const char *path, const struct route *r, struct content *c);
int ctl_dir_exists(struct mgdcfs *fs, const char *path, const struct route *r, time_t *mtime);
int ctl_list(struct mgdcfs *fs, const char *path, const struct route *r, dir_fill_fn fill,
             void *ud);
/* content_release - free what a render put in `c` and zero it; safe on a zeroed `c`. */
void content_release(struct content *c);

/*
 * data.c - datasets/. data_stat fills st for a container, folder or blob
 * (from the folder's listing when it has one; a single-name probe when not).
 */
struct data_file;
int data_stat(struct mgdcfs *fs, const char *path, const struct route *r, struct stat *st);
/*
 * data_opendir/readdir/closedir - an open folder of datasets/ read by offset:
 * opendir checks the folder and starts its listing (without waiting);
 * readdir hands `fill` the entries from `off` on, each with the offset of
 * the next, until fill returns non-zero, in time linear in what it hands
 * over; the offsets stay valid for the open directory (offset 0 re-reads the
 * folder's current listing). *out belongs to the caller until closedir;
 * the kernel serialises readdir calls on one open directory.
 */
struct data_dir;
typedef int (*dir_fill_at_fn)(void *ud, const char *name, const struct stat *st, off_t next);
int data_opendir(struct mgdcfs *fs, const char *path, const struct route *r, struct data_dir **out);
int data_readdir(struct mgdcfs *fs, struct data_dir *dd, off_t off, dir_fill_at_fn fill, void *ud);
void data_closedir(struct mgdcfs *fs, struct data_dir *dd);
/*
 * data_open/read/release - stream a blob through the cache. data_open checks
 * the blob's ETag (serving from the cache only bytes of that ETag) and gives
 * *out, the caller's until data_release; data_read may run on several
 * threads at once on one handle (the kernel's parallel reads) and returns the
 * bytes read, 0 at the end, or -errno (never bytes of another version).
 */
int data_open(struct mgdcfs *fs, const char *path, const struct route *r, struct data_file **out);
ssize_t data_read(struct mgdcfs *fs, struct data_file *f, char *buf, size_t size, off_t off);
void data_release(struct mgdcfs *fs, struct data_file *f);
/* data_changed - 1 if data_open found a new ETag or size: the kernel's cached pages and
 * size of this file are stale and must not be used for this open. */
int data_changed(const struct data_file *f);
/* data_getxattr/listxattr - a blob's user.mgdcfs.* attributes (etag, url, abfss, cached),
 * as getxattr(2)/listxattr(2) answer: the size when `size` is 0, else the bytes copied or
 * -ERANGE. */
int data_getxattr(struct mgdcfs *fs, const char *path, const struct route *r, const char *name,
                  char *value, size_t size);
int data_listxattr(struct mgdcfs *fs, const char *path, const struct route *r, char *list,
                   size_t size);

/*
 * cmd.c - commands. cmd_small acts on a write to a small value file
 * (data-connect, consent, trigger, cancel); cmd_commit commits a spec
 * (apps/<name>.json, pipelines/<name>.json) whose whole text is `buf`;
 * cmd_rmdir deletes an app or a pipeline. They may run at once on different
 * threads: two commands on one resource are ordered by the service's ETags
 * (the later one fails with -ESTALE, never overwrites). A pipeline command
 * writes a journal before it creates anything and removes it when done or
 * rolled back. The reason of a failure is in errlog.
 */
int cmd_small(struct mgdcfs *fs, const char *path, const struct route *r, const char *buf,
              size_t len);
int cmd_commit(struct mgdcfs *fs, const char *path, const struct route *r, const char *buf,
               size_t len);
int cmd_rmdir(struct mgdcfs *fs, const char *path, const struct route *r);
/*
 * cmd_recover - undo pipeline commands whose daemon died mid-way (their
 * journal, in $XDG_STATE_HOME/mgdcfs/journal, names what they created).
 * Called once from fs_init (fs/main.c), before the first request is served;
 * blocking; a rollback that cannot finish keeps its journal for the next mount.
 */
void cmd_recover(struct mgdcfs *fs);
/*
 * cmd_journal_begin / cmd_journal_end - the commit journal of another
 * command (fs/schedule.c): before creating the resources of `plan` for
 * which existed[i] is 0, write their names into `file` (n bytes; "" when
 * nothing was written); remove it once the command is whole or undone.
 */
struct pipeline_plan;
int cmd_journal_begin(struct mgdcfs *fs, const struct pipeline_plan *plan, const int *existed,
                      char *file, size_t n);
void cmd_journal_end(const char *file);

/* stats_render - the text of .mgdcfs/stats.json, malloc'd (the caller frees), or NULL
 * when out of memory. A snapshot of counters other threads keep changing. */
char *stats_render(struct mgdcfs *fs, size_t *len);
/* stats_render_metrics - the same counters in the Prometheus text format; as stats_render. */
char *stats_render_metrics(struct mgdcfs *fs, size_t *len);

/* Request counters kept by fs/ itself (FUSE ops), for stats.json. */
struct fs_counters {
	uint64_t reads, read_bytes, lookups, readdirs, commands, command_failures;
};
extern struct fs_counters g_counters;
/* Count n events: FUSE ops run on many threads at once, so counters change atomically. */
#define FS_COUNT(field, n) __atomic_add_fetch(&g_counters.field, (n), __ATOMIC_RELAXED)
/* Read a counter that other threads update. */
#define FS_COUNTER(field) __atomic_load_n(&g_counters.field, __ATOMIC_RELAXED)

#endif
