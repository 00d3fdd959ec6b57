/*
 * window.h - the arithmetic of schedules, whatever host runs them: ISO 8601
 * durations, tumbling windows of minutes, hours or months, the lag after a
 * window's end before its data can be read, and what a dataset allows
 * (SharePoint snapshot dates are whole days and come some hours late).
 *
 * A schedule is written as {"every": "P1D", "lag": "PT48H", "start": ...}.
 * Window k covers [start + k*every, start + (k+1)*every) and is run once
 * its end plus the lag has passed, so a run's window ends `lag` before it
 * starts: the rolling window "end = now - lag" of the public samples, run
 * by the host instead of a timer on someone's machine.
 *
 * Pure: no network, no global state, no clock (every function takes `now`);
 * safe from any thread. The host-specific form of a schedule (an ADF
 * TumblingWindowTrigger) is built by fs/plan.c from struct window_schedule.
 */
#ifndef MGDCFS_FS_WINDOW_H
#define MGDCFS_FS_WINDOW_H

#include <stddef.h>

#include "fs/catalog.h"

/* A duration as ISO 8601 writes it: months (Y, M) and seconds (W, D, H, M, S) kept
 * apart, as a month has no fixed length. */
struct window_dur {
	long long months;
	long long secs;
};

/* Longest duration accepted: ten years (or 3660 days). */
#define WINDOW_MAX_MONTHS 120
#define WINDOW_MAX_SECS   (3660LL * 86400)
/* The shortest tumbling window (ADF's TumblingWindowTrigger: 15 minutes). */
#define WINDOW_MIN_SECS (15 * 60)

/*
 * window_dur_parse - parse `s` as an ISO 8601 duration "PnYnMnWnDTnHnMnS"
 * with whole, non-negative numbers (at least one part; 'T' before the time
 * parts; the week form may be combined, as RFC 3339's appendix allows
 * "P1W" alone). Returns 0, or -EINVAL for anything else (fractions, signs,
 * an empty "P" or "PT", a duration over the caps above).
 */
int window_dur_parse(const char *s, struct window_dur *d);

/* window_dur_text - `d` in its shortest ISO 8601 form ("P1D", "PT48H", "P1M", "PT0S"). */
void window_dur_text(const struct window_dur *d, char *buf, size_t n);

/* The unit of a tumbling window: what ADF's TumblingWindowFrequency offers. */
enum window_unit { WINDOW_MINUTE = 0, WINDOW_HOUR, WINDOW_MONTH };

struct window_every {
	enum window_unit unit;
	int interval; /* > 0 */
};

/* window_unit_name - "Minute", "Hour", "Month". */
const char *window_unit_name(enum window_unit u);

/*
 * window_every_of - the window of length `d`: whole months as months, else
 * whole hours as hours (P1D is 24 hours, P1W 168), else whole minutes.
 * Returns 0, or -EINVAL with one sentence in err (months mixed with days or
 * hours, seconds that are no whole minute, a window under WINDOW_MIN_SECS
 * or of zero length) saying what would be valid.
 */
int window_every_of(const struct window_dur *d, struct window_every *e, char *err, size_t errlen);

/*
 * window_add - time `t` (seconds since the epoch, UTC) plus k windows. Month
 * windows keep the day of the month and the time of day; a day past the end
 * of a shorter month becomes its last day.
 */
long long window_add(long long t, const struct window_every *e, long long k);

/*
 * window_next_boundary - the first window boundary at or after `now`:
 * multiples of the window from 1970-01-01T00:00:00Z for minutes and hours
 * (so daily windows start at midnight UTC), the first day of a month whose
 * index since January 1970 is a multiple of the interval for months.
 */
long long window_next_boundary(long long now, const struct window_every *e);

/*
 * window_next - the first window of a schedule from `start` whose run is
 * still to come at `now` (its end plus `lag` is after now): [*ws, *we).
 * When start is in the future, the first window.
 */
void window_next(long long start, const struct window_every *e, long long lag, long long now,
                 long long *ws, long long *we);

/*
 * window_count_due - how many windows from `start` are due at `now` (end +
 * lag <= now), at most `cap`. What a host runs as backfill.
 */
long long window_count_due(long long start, const struct window_every *e, long long lag,
                           long long now, long long cap);

/* window_time_parse - RFC 3339 UTC "YYYY-MM-DDTHH:MM:SS[.000]Z" in whole seconds; 0 or -EINVAL. */
int window_time_parse(const char *s, long long *t);

/* window_time_text - `t` as "YYYY-MM-DDTHH:MM:SSZ" into buf (>= 21 bytes). */
void window_time_text(long long t, char *buf, size_t n);

/* A schedule as written to pipelines/<name>/schedule, checked. */
struct window_schedule {
	int off;                   /* "off" was written: stop the schedule */
	struct window_dur every_d; /* as written */
	struct window_every every;
	struct window_dur lag_d;
	long long lag;       /* seconds */
	long long start;     /* the first window's start */
	int max_concurrency; /* windows run at once (backfill) */
	char every_text[32]; /* "every" and "lag" as written (shown when read back); */
	char lag_text[32];   /* the shortest form when longer, "PT<n>H" for a default lag */
	int end_is_start;    /* the dataset takes one snapshot date per run: the window's
	                        start feeds the date filter's end too */
};

#define WINDOW_MAX_CONCURRENCY     50 /* ADF's maximum */
#define WINDOW_DEFAULT_CONCURRENCY 4

/*
 * window_schedule_parse - `len` bytes of what was written: "off" (with
 * optional whitespace), or a JSON object with "every" (required), "lag"
 * (default: the dataset's availability lag, else none), "start" (default:
 * window_next_boundary(now)) and "maxConcurrency" (1 to 50, default 4).
 * `ds` (NULL: none known) adds its rules: a snapshot dataset needs whole-day
 * windows starting at midnight UTC, a lag of at least its availability lag,
 * and a start no older than its retention. `path` names the file in errors.
 * Returns 0, or -EINVAL with one line in err naming the field, why, and what
 * would be valid.
 */
int window_schedule_parse(const char *path, const char *buf, size_t len,
                          const struct catalog_dataset *ds, long long now,
                          struct window_schedule *s, char *err, size_t errlen);

#endif
