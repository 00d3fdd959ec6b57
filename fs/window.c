/*
 * window.c - durations, tumbling windows and schedules (window.h).
 *
 * Design decision: a duration keeps months apart from seconds, and a window
 * is a count of one unit (minutes, hours or months), never a mix, because
 * that is what a tumbling window can be on every host mgdcfs knows (ADF and
 * Synapse take Minute, Hour or Month times an interval); a duration that is
 * not such a window is refused before anything is created.
 */
#include "fs/window.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#define MAX_NUMBER 1000000000LL /* per part of a duration; the caps apply after */

/* ---- durations ---- */

/* A run of digits at *p: its value in *v, advancing *p; -1 when none or too long. */
static int number(const char **p, long long *v)
{
	const char *s = *p;

	*v = 0;
	if (!isdigit((unsigned char)*s))
		return -1;
	while (isdigit((unsigned char)*s)) {
		*v = *v * 10 + (*s++ - '0');
		if (*v > MAX_NUMBER)
			return -1;
	}
	*p = s;
	return 0;
}

int window_dur_parse(const char *s, struct window_dur *d)
{
	static const char date_units[] = "YMWD", time_units[] = "HMS";
	static const long long date_secs[] = {0, 0, 7 * 86400, 86400};
	static const long long time_secs[] = {3600, 60, 1};
	const char *p = s, *u;
	int in_time = 0, parts = 0, last = -1;
	long long v;

	memset(d, 0, sizeof(*d));
	if (!s || *p++ != 'P')
		return -EINVAL;
	while (*p) {
		if (*p == 'T') {
			if (in_time || !p[1])
				return -EINVAL;
			in_time = 1;
			last = -1;
			p++;
			continue;
		}
		if (number(&p, &v) < 0 || !*p)
			return -EINVAL;
		u = strchr(in_time ? time_units : date_units, *p);
		/* each unit once, in order: "P1D1Y" or "PT5M1H" is no duration */
		if (!u || (int)(u - (in_time ? time_units : date_units)) <= last)
			return -EINVAL;
		last = (int)(u - (in_time ? time_units : date_units));
		if (in_time)
			d->secs += v * time_secs[last];
		else if (*p == 'Y')
			d->months += v * 12;
		else if (*p == 'M')
			d->months += v;
		else
			d->secs += v * date_secs[last];
		parts++;
		p++;
		if (d->months > WINDOW_MAX_MONTHS || d->secs > WINDOW_MAX_SECS)
			return -EINVAL;
	}
	return parts ? 0 : -EINVAL;
}

void window_dur_text(const struct window_dur *d, char *buf, size_t n)
{
	long long s = d->secs;
	size_t o = 0;

#define PUT(...)                                                                                   \
	do {                                                                                       \
		int w_ = snprintf(buf + o, o < n ? n - o : 0, __VA_ARGS__);                        \
		o += w_ > 0 ? (size_t)w_ : 0;                                                      \
	} while (0)
	if (!n)
		return;
	buf[0] = '\0';
	PUT("P");
	if (d->months && d->months % 12 == 0)
		PUT("%lldY", d->months / 12);
	else if (d->months)
		PUT("%lldM", d->months);
	if (s >= 86400 && s % 86400 == 0) { /* whole days; else all in hours ("PT36H") */
		PUT("%lldD", s / 86400);
		s = 0;
	}
	if (s) {
		PUT("T");
		if (s >= 3600)
			PUT("%lldH", s / 3600);
		if (s % 3600 >= 60)
			PUT("%lldM", s % 3600 / 60);
		if (s % 60)
			PUT("%lldS", s % 60);
	}
	if (!d->months && !d->secs)
		PUT("T0S");
#undef PUT
}

/* ---- windows ---- */

const char *window_unit_name(enum window_unit u)
{
	return u == WINDOW_MONTH ? "Month" : u == WINDOW_HOUR ? "Hour" : "Minute";
}

static int fail(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int window_every_of(const struct window_dur *d, struct window_every *e, char *err, size_t errlen)
{
	if (d->months && d->secs)
		return fail(err, errlen,
		            "a window is whole months or a number of minutes, hours or days, not "
		            "both (months have no fixed length); e.g. \"P1M\" or \"P30D\"");
	if (d->months) {
		e->unit = WINDOW_MONTH;
		e->interval = (int)d->months;
		return 0;
	}
	if (d->secs < WINDOW_MIN_SECS)
		return fail(err, errlen,
		            "a window is at least 15 minutes (a tumbling window's shortest "
		            "interval); e.g. \"PT15M\", \"PT1H\", \"P1D\"");
	if (d->secs % 60)
		return fail(
		    err, errlen,
		    "a window is a whole number of minutes (tumbling windows count minutes, "
		    "hours or months); e.g. \"PT15M\" or \"PT1H\"");
	if (d->secs % 3600 == 0) {
		e->unit = WINDOW_HOUR;
		e->interval = (int)(d->secs / 3600);
	} else {
		e->unit = WINDOW_MINUTE;
		e->interval = (int)(d->secs / 60);
	}
	return 0;
}

static long long window_secs(const struct window_every *e)
{
	return (long long)e->interval * (e->unit == WINDOW_HOUR ? 3600 : 60);
}

static int days_in(int year, int mon)
{
	static const int md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (mon == 1 && ((year % 4 == 0 && year % 100) || year % 400 == 0))
		return 29;
	return md[mon];
}

long long window_add(long long t, const struct window_every *e, long long k)
{
	time_t tt = (time_t)t;
	struct tm tm;
	long long m;

	if (e->unit != WINDOW_MONTH)
		return t + k * window_secs(e);
	if (!gmtime_r(&tt, &tm))
		return t;
	m = (long long)tm.tm_year * 12 + tm.tm_mon + k * e->interval;
	tm.tm_year = (int)(m / 12);
	tm.tm_mon = (int)(m % 12);
	if (tm.tm_mday > days_in(tm.tm_year + 1900, tm.tm_mon))
		tm.tm_mday = days_in(tm.tm_year + 1900, tm.tm_mon);
	return (long long)timegm(&tm);
}

long long window_next_boundary(long long now, const struct window_every *e)
{
	time_t tt = (time_t)now;
	struct tm tm;
	long long w, m;

	if (e->unit != WINDOW_MONTH) {
		w = window_secs(e);
		return (now + w - 1) / w * w;
	}
	if (!gmtime_r(&tt, &tm))
		return now;
	m = (long long)(tm.tm_year - 70) * 12 + tm.tm_mon;
	if (tm.tm_mday != 1 || tm.tm_hour || tm.tm_min || tm.tm_sec)
		m++;
	m = (m + e->interval - 1) / e->interval * e->interval;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (int)(70 + m / 12);
	tm.tm_mon = (int)(m % 12);
	tm.tm_mday = 1;
	return (long long)timegm(&tm);
}

/* The index of the first window whose end + lag is after `now` (0 when none is due). */
static long long first_not_due(long long start, const struct window_every *e, long long lag,
                               long long now)
{
	long long k;

	if (window_add(start, e, 1) + lag > now)
		return 0;
	if (e->unit != WINDOW_MONTH) {
		/* end_k = start + (k+1)w; due when end_k + lag <= now */
		k = (now - lag - start) / window_secs(e); /* windows 0..k-1 are due */
		return k < 0 ? 0 : k;
	}
	for (k = 1; window_add(start, e, k + 1) + lag <= now; k++)
		;
	return k;
}

void window_next(long long start, const struct window_every *e, long long lag, long long now,
                 long long *ws, long long *we)
{
	long long k = first_not_due(start, e, lag, now);

	*ws = window_add(start, e, k);
	*we = window_add(start, e, k + 1);
}

long long window_count_due(long long start, const struct window_every *e, long long lag,
                           long long now, long long cap)
{
	long long k = first_not_due(start, e, lag, now);

	return k < cap ? k : cap;
}

/* ---- times ---- */

int window_time_parse(const char *s, long long *t)
{
	struct tm tm;
	const char *p;

	memset(&tm, 0, sizeof(tm));
	if (!s || strlen(s) < 20 || s[4] != '-' || s[10] != 'T')
		return -EINVAL;
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p || p != s + 19)
		return -EINVAL;
	if (*p == '.') /* a fraction of zeros only: windows are whole seconds */
		for (p++; *p == '0'; p++)
			;
	if (p[0] != 'Z' || p[1])
		return -EINVAL;
	*t = (long long)timegm(&tm);
	{
		char back[32];

		/* strptime takes 2026-02-31; the round trip refuses it */
		window_time_text(*t, back, sizeof(back));
		if (strncmp(back, s, 19) != 0)
			return -EINVAL;
	}
	return 0;
}

void window_time_text(long long t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, n, "1970-01-01T00:00:00Z");
}

/* ---- the schedule file ---- */

static const char *const sched_keys[] = {"every", "lag", "start", "maxConcurrency", NULL};

static const char *str_of(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Trailing whitespace and a final newline are not part of the value. */
static size_t trimmed(const char *buf, size_t len)
{
	while (len && isspace((unsigned char)buf[len - 1]))
		len--;
	return len;
}

/* The dataset's rules on a checked schedule. */
static int dataset_rules(const char *path, const struct catalog_dataset *ds, long long now,
                         struct window_schedule *s, char *err, size_t errlen)
{
	char t[32];
	long long avail;

	if (!ds || !ds->retention_days)
		return 0;
	avail = (long long)ds->available_after_hours * 3600;
	if (s->every.unit != WINDOW_MONTH && window_secs(&s->every) % 86400)
		return fail(err, errlen,
		            "%s: every: %s takes snapshot dates, whole days: a window of at least "
		            "\"P1D\" and a whole number of days (\"P1D\", \"P7D\", \"P1M\")",
		            path, ds->name);
	if (s->start % 86400)
		return fail(err, errlen,
		            "%s: start: %s takes snapshot dates, so windows start at midnight UTC; "
		            "e.g. \"2026-11-01T00:00:00Z\"",
		            path, ds->name);
	if (s->lag < avail)
		return fail(err, errlen,
		            "%s: lag: MGDC makes each snapshot date of %s available %d hours late, "
		            "so a window can run no sooner; give a lag of at least \"PT%dH\"",
		            path, ds->name, ds->available_after_hours, ds->available_after_hours);
	if (s->start / 86400 < now / 86400 - ds->retention_days) {
		window_time_text((now / 86400 - ds->retention_days) * 86400, t, sizeof(t));
		return fail(err, errlen,
		            "%s: start: MGDC keeps snapshot dates of %s %d days; a backfill can "
		            "start no earlier than %s",
		            path, ds->name, ds->retention_days, t);
	}
	s->end_is_start = ds->delta == CATALOG_DELTA_NO;
	return 0;
}

/* Parse member `key` of `o` as a duration into *d, its text into text[32]. */
static int dur_field(const char *path, const cJSON *o, const char *key, struct window_dur *d,
                     char *text, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsString(v))
		return fail(err, errlen,
		            "%s: %s: expected an ISO 8601 duration as a string, e.g. \"%s\"", path,
		            key, strcmp(key, "every") ? "PT48H" : "P1D");
	if (window_dur_parse(v->valuestring, d) < 0)
		return fail(
		    err, errlen,
		    "%s: %s: '%.64s' is not an ISO 8601 duration mgdcfs takes (PnYnMnWnDTnHnMnS "
		    "with whole numbers, up to 10 years); e.g. \"P1D\", \"PT6H\", \"P1M\", "
		    "\"PT48H\"",
		    path, key, v->valuestring);
	if (strlen(v->valuestring) < 32)
		strcpy(text, v->valuestring);
	else
		window_dur_text(d, text, 32);
	return 0;
}

int window_schedule_parse(const char *path, const char *buf, size_t len,
                          const struct catalog_dataset *ds, long long now,
                          struct window_schedule *s, char *err, size_t errlen)
{
	cJSON *o = NULL;
	const cJSON *it, *mc;
	char why[300];
	int res = -EINVAL;

	memset(s, 0, sizeof(*s));
	len = trimmed(buf, len);
	while (len && isspace((unsigned char)*buf))
		buf++, len--;
	if (len == 3 && memcmp(buf, "off", 3) == 0) {
		s->off = 1;
		return 0;
	}
	o = cJSON_ParseWithLength(buf, len);
	if (!cJSON_IsObject(o)) {
		res = fail(
		    err, errlen,
		    "%s: write {\"every\": \"P1D\", \"lag\": \"PT48H\"} (ISO 8601 durations; "
		    "\"start\" and \"maxConcurrency\" optional), or \"off\" to stop the schedule",
		    path);
		goto out;
	}
	cJSON_ArrayForEach(it, o)
	{
		int known = 0;

		for (int i = 0; sched_keys[i]; i++)
			known |= it->string && strcmp(it->string, sched_keys[i]) == 0;
		if (!known) {
			res = fail(err, errlen,
			           "%s: %.64s: unknown field; a schedule has every, lag, start and "
			           "maxConcurrency",
			           path, it->string ? it->string : "?");
			goto out;
		}
	}
	if (!cJSON_GetObjectItemCaseSensitive(o, "every")) {
		res = fail(err, errlen, "%s: every: missing; the window, e.g. \"P1D\" or \"PT6H\"",
		           path);
		goto out;
	}
	if ((res = dur_field(path, o, "every", &s->every_d, s->every_text, err, errlen)) < 0)
		goto out;
	if (window_every_of(&s->every_d, &s->every, why, sizeof(why)) < 0) {
		res = fail(err, errlen, "%s: every: %s", path, why);
		goto out;
	}
	if (cJSON_GetObjectItemCaseSensitive(o, "lag")) {
		if ((res = dur_field(path, o, "lag", &s->lag_d, s->lag_text, err, errlen)) < 0)
			goto out;
		if (s->lag_d.months) {
			res = fail(err, errlen,
			           "%s: lag: a lag is days, hours or minutes (a host waits a fixed "
			           "time); e.g. \"PT48H\" or \"P2D\"",
			           path);
			goto out;
		}
	} else {
		s->lag_d.secs = ds ? (long long)ds->available_after_hours * 3600 : 0;
		snprintf(s->lag_text, sizeof(s->lag_text), "PT%lldH", s->lag_d.secs / 3600);
	}
	s->lag = s->lag_d.secs;
	if (cJSON_GetObjectItemCaseSensitive(o, "start")) {
		if (!str_of(o, "start") || window_time_parse(str_of(o, "start"), &s->start) < 0) {
			res =
			    fail(err, errlen,
			         "%s: start: expected an RFC 3339 UTC time in whole seconds, e.g. "
			         "\"2026-11-01T00:00:00Z\"",
			         path);
			goto out;
		}
	} else {
		s->start = window_next_boundary(now, &s->every);
	}
	s->max_concurrency = WINDOW_DEFAULT_CONCURRENCY;
	if ((mc = cJSON_GetObjectItemCaseSensitive(o, "maxConcurrency"))) {
		if (!cJSON_IsNumber(mc) || mc->valuedouble < 1 ||
		    mc->valuedouble > WINDOW_MAX_CONCURRENCY ||
		    mc->valuedouble != (double)(int)mc->valuedouble) {
			res = fail(
			    err, errlen,
			    "%s: maxConcurrency: windows run at once during a backfill: a whole "
			    "number from 1 to %d",
			    path, WINDOW_MAX_CONCURRENCY);
			goto out;
		}
		s->max_concurrency = (int)mc->valuedouble;
	}
	res = dataset_rules(path, ds, now, s, err, errlen);
out:
	cJSON_Delete(o);
	return res;
}
