/*
 * statedir.h - the user's state directory: what mgdcfs keeps on this machine
 * because no service holds it (the crash journal of pipeline commands, the
 * registration specs written on a portal-only tenant).
 *
 * Where, best first: $XDG_STATE_HOME/mgdcfs/<sub>, ~/.local/state/mgdcfs/<sub>,
 * then <cache dir>/<sub> (seen only by mounts with the same cache dir).
 * Files are written whole (temporary file, fsync, rename) with mode 0600.
 * Pure file-system code: no FUSE, no network; thread-safe.
 */
#ifndef MGDCFS_FS_STATEDIR_H
#define MGDCFS_FS_STATEDIR_H

#include <stddef.h>

#define STATEDIR_DIRS     3
#define STATEDIR_PATH_MAX 900

/*
 * statedir_candidates - the directories <sub> may live in, best first, for
 * cache dir `cache_dir` (may be NULL). Returns how many of dirs[] are filled.
 */
int statedir_candidates(const char *cache_dir, const char *sub,
                        char dirs[STATEDIR_DIRS][STATEDIR_PATH_MAX]);

/*
 * statedir_make - create the first usable candidate (mkdir -p, 0700) and
 * copy its path to out (STATEDIR_PATH_MAX bytes). Returns 0, or the -errno
 * of the last candidate tried (-ENOENT when there is none).
 */
int statedir_make(const char *cache_dir, const char *sub, char *out);

/*
 * statedir_write - replace `file` with `len` bytes of `text`: a temporary
 * file of its own beside it (mkostemp, 0600), fsync, rename. Returns 0 or
 * -errno; on failure the old file is untouched. Concurrent writers of one
 * file are safe: the last rename wins.
 */
int statedir_write(const char *file, const char *text, size_t len);

/*
 * statedir_read - the whole of `file` (at most `max` bytes, else -EFBIG),
 * NUL-terminated, malloc'd into *text. Returns its length or -errno
 * (-ENOENT when absent). Refuses symbolic links.
 */
long statedir_read(const char *file, char **text, size_t max);

#endif
