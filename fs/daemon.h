/*
 * daemon.h - what makes mgdcfs behave as a system daemon: where its log
 * goes (a terminal, a file that logrotate may move, or syslog/journald),
 * what its signals do, and what it tells systemd (sd_notify).
 *
 * Signals: SIGTERM and SIGINT end the FUSE session (a clean stop, exit 0);
 * SIGHUP reopens the log file and calls the mount's "reload" hook (drop
 * cached metadata and listings); SIGUSR1 calls the "dump" hook (counters to
 * the log); SIGUSR2 is ignored. Handlers only write to a pipe; the hooks run
 * on a thread of daemon.c, never in a signal handler.
 */
#ifndef MGDCFS_FS_DAEMON_H
#define MGDCFS_FS_DAEMON_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

struct fuse_session;

/*
 * daemon_log_open - choose the log: `spec` is a file path, "stderr",
 * "syslog" (/dev/log) or "syslog:SOCKET"; NULL means syslog when
 * `background`, else stderr (which, under a systemd unit whose stderr is the
 * journal, gets journald's "<N>" priority prefixes). A relative file path is made absolute (the
 * daemon changes to / in the background, and SIGHUP reopens the path).
 * `profile` is put in every syslog line. Returns 0, or -errno with the
 * reason in err (a file that cannot be opened). A syslog socket that does
 * not answer is not an error: *note gets a sentence for the user (else "").
 * Call once, before threads start; then log_set_sink(daemon_log_sink).
 */
int daemon_log_open(const char *spec, int background, const char *profile, char *err, size_t errlen,
                    char *note, size_t notelen);

/* daemon_log_is_terminal - 1 when the log goes to standard error. */
int daemon_log_is_terminal(void);

/* daemon_log_sink - the sink for log_set_sink(): one line per call, from any thread. */
void daemon_log_sink(int level, const char *line);

/* daemon_log_close - close the log; later lines go to standard error. */
void daemon_log_close(void);

/*
 * daemon_syslog_line - the datagram for one line: "<PRI>Mmm dd hh:mm:ss
 * mgdcfs[PID]: [PROFILE] LEVEL: LINE" (RFC 3164, facility daemon, local
 * time). Returns its length (truncated to n - 1). Exposed for unit tests.
 */
size_t daemon_syslog_line(char *buf, size_t n, int level, const char *profile, const char *line,
                          time_t when, pid_t pid);

/*
 * daemon_signals_start - install the handlers (see above) for session `se`
 * and start the thread that runs `reload` and `dump`. Call after going into
 * the background and before the FUSE loop. Returns 0 or -errno.
 */
int daemon_signals_start(struct fuse_session *se, void (*reload)(void), void (*dump)(void));

/* daemon_signals_stop - stop the thread; later SIGHUP/SIGUSR1/SIGUSR2 are ignored. */
void daemon_signals_stop(void);

/* daemon_stop_signal - SIGTERM or SIGINT if one ended the session, else 0. Any thread. */
int daemon_stop_signal(void);

/*
 * daemon_notify - send one sd_notify(3) message ("READY=1\nSTATUS=...")
 * when started by systemd (NOTIFY_SOCKET set); otherwise nothing.
 */
void daemon_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
