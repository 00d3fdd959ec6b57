/*
 * cmdline.c - mgdcfs's command line and the mount-point checks.
 *
 * Key decision: mgdcfs's own long options are read by a first pass over
 * argv, not by fuse_opt templates. fuse_opt applies every template that
 * matches, so registering both "--config=%s" and "--config %s" made
 * "--config=FILE" match the second one too and read the file "=FILE". The
 * first pass knows both spellings and an option without its value; the -o
 * list is then split here, so mgdcfs's -o names (config=, profile=, log=,
 * log_level=, cache_dir=, nonempty, the kernel timeouts) never reach libfuse,
 * which would refuse them, and what fstab adds for mount(8) alone is dropped.
 */
#include "fs/cmdline.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#include "base/log.h"

static int cmdline_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int cmdline_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return EXIT_USAGE;
}

int cmdline_log_level(const char *name)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};

	for (int i = 0; i < 4; i++)
		if (name && strcmp(name, names[i]) == 0)
			return i;
	if (name && strcmp(name, "warning") == 0)
		return LOG_WARN;
	return -1;
}

static int cmdline_set(char **slot, const char *v)
{
	char *d = strdup(v);

	if (!d)
		return -ENOMEM;
	free(*slot);
	*slot = d;
	return 0;
}

/* mgdcfs's long options; each takes a value. */
struct cmdline_long {
	const char *name;
	size_t off;
};

#define CL_OFF(f) offsetof(struct cmdline, f)
static const struct cmdline_long cmdline_longs[] = {
    {"--config", CL_OFF(config)}, {"--profile", CL_OFF(profile)},     {"--log", CL_OFF(log)},
    {"--log-level", (size_t)-1},  {"--cache-dir", CL_OFF(cache_dir)}, {NULL, 0}};

/* The -o names that are mgdcfs's, with the long option each stands for. */
static const struct cmdline_long cmdline_onames[] = {
    {"config", CL_OFF(config)}, {"profile", CL_OFF(profile)},     {"log", CL_OFF(log)},
    {"log_level", (size_t)-1},  {"cache_dir", CL_OFF(cache_dir)}, {NULL, 0}};

/* What fstab lines carry for mount(8) or systemd, which libfuse 3 would refuse. */
static int cmdline_fstab_only(const char *o, size_t n)
{
	static const char *const words[] = {"_netdev", "nofail", "noauto",   "auto",       "user",
	                                    "users",   "nouser", "defaults", "nodefaults", NULL};

	for (int i = 0; words[i]; i++)
		if (strlen(words[i]) == n && strncmp(o, words[i], n) == 0)
			return 1;
	return (n >= 2 && strncmp(o, "x-", 2) == 0) || (n >= 8 && strncmp(o, "comment=", 8) == 0);
}

static int cmdline_value(struct cmdline *cl, size_t off, const char *name, const char *v, char *err,
                         size_t errlen)
{
	if (off == (size_t)-1) {
		cl->log_level = cmdline_log_level(v);
		if (cl->log_level < 0)
			return cmdline_fail(
			    err, errlen,
			    "%s '%s' is not a log level; use error, warn, info or debug", name, v);
		return 0;
	}
	if (!v[0])
		return cmdline_fail(err, errlen, "%s needs a value", name);
	return cmdline_set((char **)((char *)cl + off), v) ? -ENOMEM : 0;
}

static int cmdline_timeout(const char *name, const char *v, double *out, char *err, size_t errlen)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (!v[0] || *end || errno || !(d >= 0 && d <= 86400))
		return cmdline_fail(
		    err, errlen, "-o %s=%s: expected seconds, a number from 0 to 86400", name, v);
	*out = d;
	return 0;
}

/* One -o item (not NUL-terminated: n bytes). Returns 1 to keep it for libfuse, 0 if
 * consumed or dropped, or an exit status / -ENOMEM. */
static int cmdline_oitem(struct cmdline *cl, const char *o, size_t n, char *err, size_t errlen)
{
	static const char *const tnames[] = {"attr_timeout", "entry_timeout", "negative_timeout"};
	double *touts[] = {&cl->attr_timeout, &cl->entry_timeout, &cl->negative_timeout};
	char item[PATH_MAX + 64];
	const char *eq;
	size_t nl;
	int rc;

	if (n == 0 || cmdline_fstab_only(o, n))
		return 0;
	if (n >= sizeof(item))
		return cmdline_fail(err, errlen, "-o option of %zu bytes is too long", n);
	memcpy(item, o, n);
	item[n] = '\0';
	eq = strchr(item, '=');
	nl = eq ? (size_t)(eq - item) : n;
	if (strcmp(item, "nonempty") == 0) {
		cl->nonempty = 1;
		return 0;
	}
	for (int i = 0; cmdline_onames[i].name; i++) {
		if (strlen(cmdline_onames[i].name) != nl ||
		    strncmp(item, cmdline_onames[i].name, nl))
			continue;
		if (!eq)
			return cmdline_fail(err, errlen, "-o %s needs a value: -o %s=VALUE", item,
			                    item);
		rc = cmdline_value(cl, cmdline_onames[i].off, cmdline_onames[i].name, eq + 1, err,
		                   errlen);
		return rc;
	}
	for (int i = 0; i < 3; i++) {
		if (strlen(tnames[i]) != nl || strncmp(item, tnames[i], nl))
			continue;
		if (!eq)
			return cmdline_fail(err, errlen, "-o %s needs a value in seconds", item);
		return cmdline_timeout(tnames[i], eq + 1, touts[i], err, errlen);
	}
	if (nl == 6 && strncmp(item, "fsname", 6) == 0)
		cl->has_fsname = 1;
	if (nl == 7 && strncmp(item, "subtype", 7) == 0)
		cl->has_subtype = 1;
	return 1;
}

/* Split one -o list at unescaped commas; append the kept items to *keep. */
static int cmdline_olist(struct cmdline *cl, const char *list, char **keep, size_t *klen, char *err,
                         size_t errlen)
{
	const char *p = list;

	while (*p) {
		const char *s = p;
		int rc;

		while (*p && *p != ',') {
			if (*p == '\\' && p[1])
				p++;
			p++;
		}
		rc = cmdline_oitem(cl, s, (size_t)(p - s), err, errlen);
		if (rc == 1) {
			size_t n = (size_t)(p - s);
			char *k = realloc(*keep, *klen + n + 2);

			if (!k)
				return -ENOMEM;
			if (*klen)
				k[(*klen)++] = ',';
			memcpy(k + *klen, s, n);
			*klen += n;
			k[*klen] = '\0';
			*keep = k;
		} else if (rc) {
			return rc;
		}
		if (*p == ',')
			p++;
	}
	return 0;
}

/* SOURCE of the mount(8) form: "mgdcfs", "mgdcfs:PROFILE", "PROFILE" or "PROFILE@CONFIG". */
static int cmdline_source(const char *src, char **profile, char **config)
{
	const char *at;

	if (strcmp(src, "mgdcfs") == 0 || src[0] == '\0')
		return 0;
	if (strncmp(src, "mgdcfs:", 7) == 0)
		src += 7;
	at = strchr(src, '@');
	if (at && at[1] && !(*config = strdup(at + 1)))
		return -ENOMEM;
	if (at != src && !(*profile = strndup(src, at ? (size_t)(at - src) : strlen(src))))
		return -ENOMEM;
	return 0;
}

int cmdline_parse(int argc, char *argv[], struct cmdline *cl, struct fuse_args *args, char *err,
                  size_t errlen)
{
	struct fuse_cmdline_opts fo;
	char *keep = NULL, *pos[3] = {NULL, NULL, NULL}, *sprof = NULL, *scfg = NULL;
	size_t klen = 0;
	int npos = 0, rc = 0, dashdash = 0;

	memset(cl, 0, sizeof(*cl));
	cl->log_level = -1;
	cl->attr_timeout = cl->entry_timeout = cl->negative_timeout = -1;
	err[0] = '\0';
	*args = (struct fuse_args)FUSE_ARGS_INIT(0, NULL);
	if (fuse_opt_add_arg(args, argc > 0 ? argv[0] : "mgdcfs"))
		return -ENOMEM;
	for (int i = 1; i < argc && rc == 0; i++) {
		const char *a = argv[i];
		int j;

		if (dashdash || a[0] != '-' || a[1] == '\0') {
			if (npos < 3)
				pos[npos] = argv[i];
			npos++;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			dashdash = 1;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			cl->show_help = 1;
			continue;
		}
		if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			cl->show_version = 1;
			continue;
		}
		if (strncmp(a, "-o", 2) == 0) {
			const char *list = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);

			if (!list)
				rc = cmdline_fail(err, errlen, "-o needs a list of options");
			else
				rc = cmdline_olist(cl, list, &keep, &klen, err, errlen);
			continue;
		}
		for (j = 0; cmdline_longs[j].name; j++) {
			size_t n = strlen(cmdline_longs[j].name);

			if (strncmp(a, cmdline_longs[j].name, n) || (a[n] != '\0' && a[n] != '='))
				continue;
			if (a[n] == '=')
				rc = cmdline_value(cl, cmdline_longs[j].off, cmdline_longs[j].name,
				                   a + n + 1, err, errlen);
			else if (i + 1 < argc)
				rc = cmdline_value(cl, cmdline_longs[j].off, cmdline_longs[j].name,
				                   argv[++i], err, errlen);
			else
				rc = cmdline_fail(err, errlen, "%s needs a value", a);
			break;
		}
		if (!cmdline_longs[j].name && fuse_opt_add_arg(args, a))
			rc = -ENOMEM;
	}
	if (rc)
		goto out;
	if (npos > 2) {
		rc = cmdline_fail(err, errlen,
		                  "too many arguments: '%s'; give MOUNTPOINT, or SOURCE MOUNTPOINT "
		                  "(SOURCE: PROFILE[@CONFIG])",
		                  pos[2]);
		goto out;
	}
	if (npos == 2 && (rc = cmdline_source(pos[0], &sprof, &scfg)))
		goto out;
	/* Options given by name win over the SOURCE of the mount(8) form. */
	if (!cl->profile && sprof) {
		cl->profile = sprof;
		sprof = NULL;
	}
	if (!cl->config && scfg) {
		cl->config = scfg;
		scfg = NULL;
	}
	if (npos > 0 && !(cl->mountpoint = strdup(pos[npos - 1]))) {
		rc = -ENOMEM;
		goto out;
	}
	if (keep && (fuse_opt_add_arg(args, "-o") || fuse_opt_add_arg(args, keep))) {
		rc = -ENOMEM;
		goto out;
	}
	memset(&fo, 0, sizeof(fo));
	if (fuse_parse_cmdline(args, &fo) != 0) {
		rc = cmdline_fail(err, errlen, "bad FUSE option (see mgdcfs --help)");
		goto out;
	}
	free(fo.mountpoint);
	cl->foreground = fo.foreground || fo.debug;
	cl->debug = fo.debug;
	cl->singlethread = fo.singlethread;
	cl->show_help |= fo.show_help;
	cl->show_version |= fo.show_version;
	cl->clone_fd = fo.clone_fd;
	cl->max_idle_threads = fo.max_idle_threads;
	cl->max_threads = fo.max_threads;
out:
	free(keep);
	free(sprof);
	free(scfg);
	return rc;
}

void cmdline_release(struct cmdline *cl)
{
	free(cl->config);
	free(cl->profile);
	free(cl->log);
	free(cl->cache_dir);
	free(cl->mountpoint);
	memset(cl, 0, sizeof(*cl));
}

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void cmdline_unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* If `path` (absolute, resolved) is a mount point, 1 with its source and type. */
static int cmdline_mounted(const char *path, char *what, size_t n)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		char *save = NULL, *tok, *mp = NULL, *dash;
		int i = 0;

		dash = strstr(line, " - ");
		if (!dash)
			continue;
		*dash = '\0';
		for (tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
			if (++i == 5)
				mp = tok;
		if (!mp)
			continue;
		cmdline_unescape(mp);
		if (strcmp(mp, path) == 0) {
			char type[256] = "", src[1024] = "";

			found = 1;
			if (sscanf(dash + 3, "%255s %1023s", type, src) >= 1) {
				cmdline_unescape(src);
				snprintf(what, n, "%s, type %s", src, type);
			}
		}
	}
	fclose(f);
	return found;
}

int cmdline_check_mountpoint(const char *dir, int nonempty, char *err, size_t errlen)
{
	char real[PATH_MAX], what[1400] = "";
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (!dir || !dir[0])
		return cmdline_fail(err, errlen, "no MOUNTPOINT given (see mgdcfs --help)");
	if (stat(dir, &st) < 0) {
		int e = errno;

		if (e == ENOTCONN)
			return cmdline_fail(
			    err, errlen,
			    "mount point %s is a FUSE mount whose daemon is gone; run: "
			    "fusermount3 -u %s",
			    dir, dir);
		if (e == ENOENT)
			return cmdline_fail(err, errlen,
			                    "mount point %s does not exist; create it: mkdir -p %s",
			                    dir, dir);
		return cmdline_fail(err, errlen, "mount point %s: %s", dir, strerror(e));
	}
	if (!S_ISDIR(st.st_mode))
		return cmdline_fail(
		    err, errlen, "mount point %s is not a directory; mount on an empty directory",
		    dir);
	if (realpath(dir, real) && strcmp(real, "/") != 0 &&
	    cmdline_mounted(real, what, sizeof(what)))
		return cmdline_fail(
		    err, errlen,
		    "mount point %s is already a mount point (%s); unmount it first "
		    "(fusermount3 -u %s, or umount) or choose another directory",
		    dir, what[0] ? what : "see /proc/self/mountinfo", dir);
	if (nonempty)
		return 0;
	d = opendir(dir);
	if (!d) /* Not ours to list (e.g. 0711): fusermount3 decides. */
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(what, sizeof(what), "%s", de->d_name);
		closedir(d);
		return cmdline_fail(err, errlen,
		                    "mount point %s is not empty (it holds '%s', hidden while "
		                    "mounted); use an empty directory, or -o nonempty to mount "
		                    "over it anyway",
		                    dir, what);
	}
	closedir(d);
	return 0;
}
