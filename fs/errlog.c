/*
 * errlog.c - ring buffer behind .mgdcfs/errors.
 *
 * Global, because errors are reported from every corner of fs/ and there is
 * one mount per process. Lines are fixed-size slots, so recording never
 * allocates and works even when memory is short.
 */
#include "fs/errlog.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

#define LINE_MAX_BYTES 1024

static pthread_mutex_t errlog_lock = PTHREAD_MUTEX_INITIALIZER;
static char ring[ERRLOG_LINES][LINE_MAX_BYTES]; /* protected by errlog_lock */
static unsigned long total;                     /* protected by errlog_lock */

void errlog_add(const char *path, int err, const char *fmt, ...)
{
	char msg[768], esc[800], epath[256], when[32];
	struct tm tm;
	time_t now = time(NULL);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_escape(esc, sizeof(esc), msg, (size_t)-1);
	/* The path is the user's file name: it may hold control bytes or invalid UTF-8. */
	log_escape(epath, sizeof(epath), path, (size_t)-1);
	path = epath;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);

	pthread_mutex_lock(&errlog_lock);
	snprintf(ring[total % ERRLOG_LINES], LINE_MAX_BYTES, "%s %s: %.700s (%s)", when, path, esc,
	         err ? strerror(err) : "to do");
	total++;
	pthread_mutex_unlock(&errlog_lock);

	if (err == 0)
		log_info("to do: %s: %s", path, esc);
	else if (err == EINVAL || err == EACCES || err == EPERM || err == ENOENT || err == EEXIST ||
	         err == ENOTEMPTY || err == ESTALE || err == EFBIG)
		log_info("refused: %s: %s (%s)", path, esc, strerror(err));
	else
		log_warn("%s: %s (%s)", path, esc, strerror(err));
}

char *errlog_render(size_t *len)
{
	unsigned long first, i;
	size_t cap = 1, o = 0;
	char *out;

	pthread_mutex_lock(&errlog_lock);
	first = total > ERRLOG_LINES ? total - ERRLOG_LINES : 0;
	for (i = first; i < total; i++)
		cap += strlen(ring[i % ERRLOG_LINES]) + 1;
	out = malloc(cap);
	if (out) {
		for (i = first; i < total; i++) {
			size_t n = strlen(ring[i % ERRLOG_LINES]);

			memcpy(out + o, ring[i % ERRLOG_LINES], n);
			o += n;
			out[o++] = '\n';
		}
		out[o] = '\0';
		*len = o;
	}
	pthread_mutex_unlock(&errlog_lock);
	return out;
}

unsigned long errlog_count(void)
{
	unsigned long n;

	pthread_mutex_lock(&errlog_lock);
	n = total;
	pthread_mutex_unlock(&errlog_lock);
	return n;
}
