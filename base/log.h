/*
 * log.h - the one logging interface of mgdcfs, shared by fs/, net/ and cache/.
 *
 * Messages are formatted only when their level is enabled. The daemon routes
 * them through fuse_log (fs/ sets the sink); unit tests get stderr. Untrusted
 * strings (names from a server, parts of a spec) go through log_escape()
 * first. Nothing secret is ever passed in: no Authorization header, no SAS
 * signature, no client secret or key. The words "error" and "warning" are kept
 * for real problems; the mount tests fail on them.
 */
#ifndef MGDCFS_BASE_LOG_H
#define MGDCFS_BASE_LOG_H

#include <stddef.h>

enum log_level { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Current threshold; read without a lock (a torn read only misses a line). */
extern int log_level_cur;

/* log_set_level - messages above `level` are dropped before formatting. */
void log_set_level(int level);

/*
 * log_set_sink - send formatted lines to `fn` instead of stderr. `fn` gets a
 * NUL-terminated line without a trailing newline. Call before threads start.
 */
void log_set_sink(void (*fn)(int level, const char *line));

/* log_msg - format and emit one line. Use the macros below instead. */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)                                                                               \
	do {                                                                                       \
		if (log_level_cur >= LOG_ERR)                                                      \
			log_msg(LOG_ERR, __VA_ARGS__);                                             \
	} while (0)
#define log_warn(...)                                                                              \
	do {                                                                                       \
		if (log_level_cur >= LOG_WARN)                                                     \
			log_msg(LOG_WARN, __VA_ARGS__);                                            \
	} while (0)
#define log_info(...)                                                                              \
	do {                                                                                       \
		if (log_level_cur >= LOG_INFO)                                                     \
			log_msg(LOG_INFO, __VA_ARGS__);                                            \
	} while (0)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_level_cur >= LOG_DEBUG)                                                    \
			log_msg(LOG_DEBUG, __VA_ARGS__);                                           \
	} while (0)

/*
 * log_escape - copy `src` (at most `srclen` bytes, or up to NUL if srclen is
 * (size_t)-1) into `dst` of size `n`, replacing control characters, bytes
 * >= 0x7f and backslashes with \xNN escapes, truncating with "..." when it
 * does not fit. Always NUL-terminates when n > 0. Returns dst, so it can be
 * used inline as a "%s" argument.
 */
char *log_escape(char *dst, size_t n, const char *src, size_t srclen);

#endif
