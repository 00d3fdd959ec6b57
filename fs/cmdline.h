/*
 * cmdline.h - mgdcfs's command line: its own options in both spellings
 * (--opt value, --opt=value, -o opt=value), the mount(8) form with a SOURCE
 * (PROFILE[@CONFIG]), and the checks of the mount point, all before any
 * file or network is touched.
 *
 * What is not mgdcfs's goes to libfuse unchanged in `args`, except the
 * options libfuse 3 does not know but fstab lines carry (_netdev, nofail,
 * noauto, auto, user, users, nouser, defaults, x-*, comment=), which are
 * dropped, and nonempty and the kernel timeouts, which mgdcfs applies itself.
 */
#ifndef MGDCFS_FS_CMDLINE_H
#define MGDCFS_FS_CMDLINE_H

#include <stddef.h>

#include "fs/ops.h"

/* Exit statuses (mgdcfs(1), EXIT STATUS). */
enum cmdline_exit {
	EXIT_OK = 0,
	EXIT_CONFIG = 1,  /* configuration, secret file, credential, sign-in, log file */
	EXIT_USAGE = 2,   /* command line or mount point */
	EXIT_MOUNT = 3,   /* mount(2) or going into the background failed */
	EXIT_SESSION = 4, /* the FUSE session ended with an error */
};

struct cmdline {
	char *config;     /* --config / -o config= / SOURCE's @CONFIG; malloc'd or NULL */
	char *profile;    /* --profile / -o profile= / SOURCE's PROFILE; malloc'd or NULL */
	char *log;        /* --log / -o log=: a file, "syslog", "syslog:SOCKET" or "stderr" */
	char *cache_dir;  /* --cache-dir / -o cache_dir= */
	int log_level;    /* LOG_ERR..LOG_DEBUG, or -1 when not given */
	char *mountpoint; /* as given */
	int foreground, debug, singlethread;
	int clone_fd;                           /* -o clone_fd */
	unsigned max_idle_threads, max_threads; /* -o max_idle_threads= / max_threads= */
	int nonempty;                           /* -o nonempty */
	int has_fsname, has_subtype;            /* the user gave -o fsname=/subtype= */
	double attr_timeout, entry_timeout, negative_timeout; /* -1: not given */
	int show_help, show_version;
};

/*
 * cmdline_parse - split argv into cl (mgdcfs's options) and *args (what goes
 * to libfuse: argv[0], -f/-d/-s and the remaining -o options; the mount
 * point is taken out). Returns 0, or EXIT_USAGE with one line in err (an
 * option without its value, a bad log level, a timeout that is not a number
 * >= 0, three positional arguments). *args is initialised in every case;
 * free it with fuse_opt_free_args and cl with cmdline_release. Does not look
 * at the file system.
 */
int cmdline_parse(int argc, char *argv[], struct cmdline *cl, struct fuse_args *args, char *err,
                  size_t errlen);

/* cmdline_release - free what cmdline_parse allocated in cl. */
void cmdline_release(struct cmdline *cl);

/*
 * cmdline_check_mountpoint - 0 if `dir` can be mounted on: an existing
 * directory, empty (unless nonempty), and not already a mount point (nor a
 * FUSE mount whose daemon died). Else EXIT_USAGE with the reason and the fix
 * in err. Reads only `dir` and /proc/self/mountinfo.
 */
int cmdline_check_mountpoint(const char *dir, int nonempty, char *err, size_t errlen);

/* cmdline_log_level - LOG_ERR..LOG_DEBUG for "error|warn|info|debug", else -1. */
int cmdline_log_level(const char *name);

#endif
