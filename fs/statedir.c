/*
 * statedir.c - files mgdcfs keeps on this machine (statedir.h).
 *
 * The decision a reader must know: the state dir is per user, not per mount,
 * so every mount of the same tenant and factory finds what another left
 * (a journal to replay, a registration spec to show); the cache dir serves
 * only when there is no writable state dir.
 */
#include "fs/statedir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int statedir_candidates(const char *cache_dir, const char *sub,
                        char dirs[STATEDIR_DIRS][STATEDIR_PATH_MAX])
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	int n = 0, w;

	if (xdg && xdg[0] == '/' &&
	    (w = snprintf(dirs[n], STATEDIR_PATH_MAX, "%s/mgdcfs/%s", xdg, sub)) > 0 &&
	    w < STATEDIR_PATH_MAX)
		n++;
	if (home && home[0] == '/' &&
	    (w = snprintf(dirs[n], STATEDIR_PATH_MAX, "%s/.local/state/mgdcfs/%s", home, sub)) >
	        0 &&
	    w < STATEDIR_PATH_MAX)
		n++;
	if (cache_dir && cache_dir[0] == '/' &&
	    (w = snprintf(dirs[n], STATEDIR_PATH_MAX, "%s/%s", cache_dir, sub)) > 0 &&
	    w < STATEDIR_PATH_MAX)
		n++;
	return n;
}

/* mkdir -p `dir` (modified in place while it works), mode 0700. */
static int statedir_mkdirs(char *dir)
{
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST) {
			*p = '/';
			return -errno;
		}
		*p = '/';
	}
	return mkdir(dir, 0700) && errno != EEXIST ? -errno : 0;
}

int statedir_make(const char *cache_dir, const char *sub, char *out)
{
	char dirs[STATEDIR_DIRS][STATEDIR_PATH_MAX];
	int n = statedir_candidates(cache_dir, sub, dirs), rc = -ENOENT;

	for (int i = 0; i < n; i++) {
		rc = statedir_mkdirs(dirs[i]);
		if (rc == 0) {
			memcpy(out, dirs[i], STATEDIR_PATH_MAX);
			return 0;
		}
	}
	return rc;
}

int statedir_write(const char *file, const char *text, size_t len)
{
	char tmp[STATEDIR_PATH_MAX + 300];
	int fd, rc;

	/* A temporary name of its own, so two writers of one file never share it. */
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", file) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	errno = EIO;
	rc = fchmod(fd, 0600) == 0 && write(fd, text, len) == (ssize_t)len && fsync(fd) == 0
	         ? 0
	         : -errno;
	if (close(fd) && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, file))
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

long statedir_read(const char *file, char **text, size_t max)
{
	struct stat st;
	char *buf;
	ssize_t got;
	int fd;

	*text = NULL;
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		close(fd);
		return S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	got = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (got < 0) {
		free(buf);
		return -EIO;
	}
	buf[got] = '\0';
	*text = buf;
	return (long)got;
}
