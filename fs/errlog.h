/*
 * errlog.h - the recent errors shown in .mgdcfs/errors.
 *
 * A fixed ring of the last ERRLOG_LINES lines, newest last, each
 * "<UTC time> <path>: <message>". Every line also goes to the log: at info
 * level for refusals a user caused (a bad spec, a forbidden action, a missing
 * name), at warning level for remote failures. Messages must already be free
 * of secrets; they are escaped here.
 */
#ifndef MGDCFS_FS_ERRLOG_H
#define MGDCFS_FS_ERRLOG_H

#include <stddef.h>

#define ERRLOG_LINES 256

/*
 * errlog_add - record one line about `path` for errno `err` (positive), or,
 * with err 0, a step left for the user to do elsewhere (the Azure portal).
 * Thread-safe.
 */
void errlog_add(const char *path, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* errlog_render - the whole ring as text, malloc'd, *len set. NULL on ENOMEM. */
char *errlog_render(size_t *len);

/* errlog_count - lines recorded since start (not capped). */
unsigned long errlog_count(void);

#endif
