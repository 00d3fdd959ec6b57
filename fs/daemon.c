/*
 * daemon.c - the log's destination, signals and sd_notify.
 *
 * Key decision: the log writes whole lines with one write(2) (a file opened
 * O_APPEND) or one datagram (syslog), from whichever thread logs, without a
 * lock; reopening after logrotate's rename swaps the descriptor underneath
 * with dup2, which is atomic, so no line is lost or split. Syslog is spoken
 * directly on the datagram socket (not syslog(3)), so the socket can be
 * named (--log syslog:SOCKET, as logger -u does) and tested.
 */
#include "fs/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "base/log.h"
#include "fs/ops.h"

#include <fuse_lowlevel.h>

enum daemon_log_kind { DAEMON_STDERR, DAEMON_FILE, DAEMON_SYSLOG, DAEMON_JOURNAL };

static enum daemon_log_kind log_kind = DAEMON_STDERR;
static int log_fd = -1;         /* the file, or the connected syslog socket */
static char log_path[PATH_MAX]; /* file path or syslog socket path */
static char log_profile[128];   /* for syslog lines */
static pthread_mutex_t log_reconnect = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

static int daemon_level(int level)
{
	return level < LOG_ERR ? LOG_ERR : level > LOG_DEBUG ? LOG_DEBUG : level;
}

size_t daemon_syslog_line(char *buf, size_t n, int level, const char *profile, const char *line,
                          time_t when, pid_t pid)
{
	static const int sev[] = {3, 4, 6, 7}; /* err, warning, info, debug */
	char stamp[32];
	struct tm tm;
	int w;

	level = daemon_level(level);
	localtime_r(&when, &tm);
	strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	/* Facility daemon (3): PRI = 3 * 8 + severity. */
	w = snprintf(buf, n, "<%d>%s mgdcfs[%ld]: [%s] %s: %s", 24 + sev[level], stamp, (long)pid,
	             profile && profile[0] ? profile : "-", level_names[level], line);
	if (w < 0)
		return 0;
	return (size_t)w < n ? (size_t)w : n - 1;
}

static int daemon_syslog_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

static int daemon_file_open(const char *path)
{
	int fd =
	    open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);

	return fd < 0 ? -errno : fd;
}

/*
 * Standard error is systemd's journal stream when JOURNAL_STREAM names its device and
 * inode (a unit's stderr): then each line starts with its syslog priority, "<3>", which
 * journald reads as the line's level (sd-daemon(3)).
 */
static int daemon_stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long dev, ino;
	struct stat st;

	return js && sscanf(js, "%lu:%lu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
	       (unsigned long)st.st_dev == dev && (unsigned long)st.st_ino == ino;
}

int daemon_log_open(const char *spec, int background, const char *profile, char *err, size_t errlen,
                    char *note, size_t notelen)
{
	int fd;

	note[0] = '\0';
	snprintf(log_profile, sizeof(log_profile), "%s", profile ? profile : "");
	if (!spec)
		spec = background ? "syslog" : "stderr";
	if (strcmp(spec, "stderr") == 0) {
		log_kind = daemon_stderr_is_journal() ? DAEMON_JOURNAL : DAEMON_STDERR;
		return 0;
	}
	if (strcmp(spec, "syslog") == 0 || strncmp(spec, "syslog:", 7) == 0) {
		log_kind = DAEMON_SYSLOG;
		snprintf(log_path, sizeof(log_path), "%s", spec[6] == ':' ? spec + 7 : "/dev/log");
		fd = daemon_syslog_connect(log_path);
		if (fd < 0) {
			snprintf(
			    note, notelen,
			    "no syslog socket answers at %s (%s): log lines are dropped until one "
			    "does; use --log FILE to keep them",
			    log_path, strerror(-fd));
			return 0;
		}
		log_fd = fd;
		return 0;
	}
	if (spec[0] == '/') {
		snprintf(log_path, sizeof(log_path), "%s", spec);
	} else {
		char cwd[PATH_MAX];
		int w;

		if (!getcwd(cwd, sizeof(cwd))) {
			snprintf(err, errlen, "cannot open log file %s: %s", spec, strerror(errno));
			return -errno;
		}
		w = snprintf(log_path, sizeof(log_path), "%.*s/%s", (int)(sizeof(cwd) - 2), cwd,
		             spec);
		if (w < 0 || (size_t)w >= sizeof(log_path)) {
			snprintf(err, errlen, "cannot open log file %s: path too long", spec);
			return -ENAMETOOLONG;
		}
	}
	fd = daemon_file_open(log_path);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open log file %s: %s", log_path, strerror(-fd));
		return fd;
	}
	log_kind = DAEMON_FILE;
	log_fd = fd;
	return 0;
}

int daemon_log_is_terminal(void)
{
	return log_kind == DAEMON_STDERR;
}

/* Connect to the syslog socket again and put the new socket in place. Returns it or -errno. */
static int daemon_syslog_reconnect(void)
{
	int fd;

	pthread_mutex_lock(&log_reconnect);
	fd = daemon_syslog_connect(log_path);
	if (fd >= 0) {
		int old = __atomic_exchange_n(&log_fd, fd, __ATOMIC_ACQ_REL);

		if (old >= 0)
			close(old);
	}
	pthread_mutex_unlock(&log_reconnect);
	return fd;
}

static void daemon_syslog_send(int level, const char *line)
{
	char buf[2300];
	size_t n =
	    daemon_syslog_line(buf, sizeof(buf), level, log_profile, line, time(NULL), getpid());
	int fd = __atomic_load_n(&log_fd, __ATOMIC_ACQUIRE);

	if (fd >= 0 && send(fd, buf, n, MSG_NOSIGNAL) >= 0)
		return;
	/* The syslog daemon restarted (or was not there at start): connect again, once. A
	 * racing reconnect may close the socket under another sender: that line is lost. */
	fd = daemon_syslog_reconnect();
	if (fd >= 0)
		(void)send(fd, buf, n, MSG_NOSIGNAL);
}

void daemon_log_sink(int level, const char *line)
{
	char buf[2300], when[32];
	struct tm tm;
	time_t now;
	int n;

	level = daemon_level(level);
	switch (log_kind) {
	case DAEMON_SYSLOG:
		daemon_syslog_send(level, line);
		return;
	case DAEMON_FILE:
		now = time(NULL);
		gmtime_r(&now, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		n = snprintf(buf, sizeof(buf), "%s %s: %s\n", when, level_names[level], line);
		break;
	case DAEMON_JOURNAL:
		n = snprintf(buf, sizeof(buf), "<%d>[%s] %s: %s\n",
		             level == LOG_ERR    ? 3
		             : level == LOG_WARN ? 4
		             : level == LOG_INFO ? 6
		                                 : 7,
		             log_profile[0] ? log_profile : "-", level_names[level], line);
		break;
	default:
		n = snprintf(buf, sizeof(buf), "mgdcfs: %s: %s\n", level_names[level], line);
		break;
	}
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf)) {
		n = sizeof(buf) - 1;
		buf[n - 1] = '\n';
	}
	(void)!write(log_kind == DAEMON_FILE ? log_fd : STDERR_FILENO, buf, (size_t)n);
}

/*
 * daemon_log_reopen - open the log file's path again and put it in place of
 * the old descriptor atomically (dup2), so lines written meanwhile go to one
 * file or the other, never nowhere. For syslog: reconnect. Returns 0 or
 * -errno (the old file stays in use).
 */
static int daemon_log_reopen(void)
{
	int fd;

	if (log_kind == DAEMON_STDERR || log_kind == DAEMON_JOURNAL)
		return 0;
	if (log_kind == DAEMON_SYSLOG) {
		fd = daemon_syslog_reconnect();
		return fd < 0 ? fd : 0;
	}
	fd = daemon_file_open(log_path);
	if (fd < 0)
		return fd;
	if (dup2(fd, log_fd) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	close(fd);
	return 0;
}

void daemon_log_close(void)
{
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
	log_kind = DAEMON_STDERR;
}

/* ---- signals ---- */

static struct fuse_session *sig_se;
static volatile sig_atomic_t sig_stop;
static int sig_pipe[2] = {-1, -1};
static pthread_t sig_thread;
static int sig_running;
static void (*sig_reload)(void);
static void (*sig_dump)(void);

static void daemon_on_signal(int sig)
{
	int saved = errno;
	unsigned char c = (unsigned char)sig;

	if (sig == SIGTERM || sig == SIGINT) {
		/* Atomic: http's cancel hook reads it from every thread. */
		if (!__atomic_load_n(&sig_stop, __ATOMIC_RELAXED))
			__atomic_store_n(&sig_stop, sig, __ATOMIC_RELEASE);
		/* What libfuse's own handler does: the loop ends at its next wake-up. */
		if (sig_se)
			fuse_session_exit(sig_se);
	}
	(void)!write(sig_pipe[1], &c, 1);
	errno = saved;
}

static void *daemon_sig_main(void *arg)
{
	unsigned char c;
	ssize_t n;

	(void)arg;
	for (;;) {
		int rc;

		n = read(sig_pipe[0], &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != 1)
			return NULL;
		switch (c) {
		case 0:
			return NULL;
		case SIGHUP:
			rc = daemon_log_reopen();
			if (sig_reload)
				sig_reload();
			if (rc)
				log_warn(
				    "SIGHUP: the log could not be reopened (%s); it goes on in "
				    "the old file",
				    strerror(-rc));
			log_info("SIGHUP: log reopened, cached metadata and listings dropped");
			break;
		case SIGUSR1:
			if (sig_dump)
				sig_dump();
			break;
		case SIGUSR2:
			log_info("SIGUSR2 received and ignored (SIGUSR1 writes the counters to the "
			         "log)");
			break;
		case SIGTERM:
		case SIGINT:
			log_info("%s: unmounting", c == SIGTERM ? "SIGTERM" : "SIGINT");
			daemon_notify("STOPPING=1\nSTATUS=Unmounting (%s)",
			              c == SIGTERM ? "SIGTERM" : "SIGINT");
			break;
		default:
			break;
		}
	}
	return NULL;
}

int daemon_signals_start(struct fuse_session *se, void (*reload)(void), void (*dump)(void))
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2};
	struct sigaction sa;
	sigset_t all, old;
	int rc;

	if (pipe2(sig_pipe, O_CLOEXEC) < 0)
		return -errno;
	/* A handler must never block: a full pipe already holds a wake-up. */
	fcntl(sig_pipe[1], F_SETFL, O_NONBLOCK);
	sig_se = se;
	sig_reload = reload;
	sig_dump = dump;
	/* The thread takes no signal itself: they go to the loop's thread, which libfuse
	 * keeps unblocked so that a stop interrupts its wait. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&sig_thread, NULL, daemon_sig_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		close(sig_pipe[0]);
		close(sig_pipe[1]);
		sig_pipe[0] = sig_pipe[1] = -1;
		return -rc;
	}
	sig_running = 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* No SA_RESTART: the single-threaded loop's read must return EINTR to see a stop. */
	sa.sa_handler = daemon_on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	return 0;
}

void daemon_signals_stop(void)
{
	static const int sigs[] = {SIGHUP, SIGUSR1, SIGUSR2};
	struct sigaction sa;
	unsigned char c = 0;

	if (!sig_running)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	(void)!write(sig_pipe[1], &c, 1);
	pthread_join(sig_thread, NULL);
	sig_running = 0;
	sig_se = NULL;
}

int daemon_stop_signal(void)
{
	return __atomic_load_n(&sig_stop, __ATOMIC_ACQUIRE);
}

void daemon_notify(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!getenv("NOTIFY_SOCKET"))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (sd_notify(0, msg) < 0)
		log_info("sd_notify: the service manager's socket did not take the message");
}
