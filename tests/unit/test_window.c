/*
 * test_window.c - fs/window (ISO 8601 durations, tumbling windows, the lag,
 * SharePoint snapshot rules on a schedule) and the ADF trigger fs/plan.c
 * builds from a schedule, read back. Times are fixed, never the clock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fs/catalog.h"
#include "fs/plan.h"
#include "fs/window.h"
#include "tap.h"

static long long T(const char *s)
{
	long long t = -1;

	window_time_parse(s, &t);
	return t;
}

static const char *text(long long t)
{
	static char buf[4][32];
	static int i;

	i = (i + 1) % 4;
	window_time_text(t, buf[i], sizeof(buf[i]));
	return buf[i];
}

static void durations(void)
{
	static const struct {
		const char *s;
		long long months, secs;
	} ok[] = {
	    {"P1D", 0, 86400},      {"PT48H", 0, 172800},
	    {"P1M", 1, 0},          {"P1Y", 12, 0},
	    {"P1W", 0, 604800},     {"PT15M", 0, 900},
	    {"P1DT12H", 0, 129600}, {"P1Y2M3DT4H5M6S", 14, 3 * 86400 + 4 * 3600 + 5 * 60 + 6},
	    {"PT0S", 0, 0},         {"P10Y", 120, 0},
	};
	static const char *const bad[] = {
	    "",
	    "P",
	    "PT",
	    "1D",
	    "P1",
	    "P1.5D",
	    "P-1D",
	    "PT1D",
	    "P1H",
	    "P1DT",
	    "P1D1Y",
	    "PT5M1H",
	    "P1DD",
	    "p1d",
	    "P11Y",
	    "P3661D",
	    "P1D ",
	    " P1D",
	    "P99999999999D",
	};
	struct window_dur d;
	char buf[64];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int rc = window_dur_parse(ok[i].s, &d);

		TAP_OK(rc == 0 && d.months == ok[i].months && d.secs == ok[i].secs,
		       "duration %s = %lld months + %lld s", ok[i].s, ok[i].months, ok[i].secs);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		TAP_EQ_INT(window_dur_parse(bad[i], &d), -EINVAL, "duration '%s' is refused",
		           bad[i]);
	TAP_EQ_INT(window_dur_parse(NULL, &d), -EINVAL, "a NULL duration is refused");
	d = (struct window_dur){0, 86400};
	window_dur_text(&d, buf, sizeof(buf));
	TAP_EQ_STR(buf, "P1D", "text of one day");
	d = (struct window_dur){0, 36 * 3600};
	window_dur_text(&d, buf, sizeof(buf));
	TAP_EQ_STR(buf, "PT36H", "36 hours stay hours");
	d = (struct window_dur){14, 3661};
	window_dur_text(&d, buf, sizeof(buf));
	TAP_EQ_STR(buf, "P14MT1H1M1S", "months and seconds");
	d = (struct window_dur){0, 0};
	window_dur_text(&d, buf, sizeof(buf));
	TAP_EQ_STR(buf, "PT0S", "zero");
}

static void every(void)
{
	struct window_dur d;
	struct window_every e;
	char err[300];

	window_dur_parse("P1D", &d);
	TAP_OK(window_every_of(&d, &e, err, sizeof(err)) == 0 && e.unit == WINDOW_HOUR &&
	           e.interval == 24,
	       "P1D is Hour x 24");
	window_dur_parse("P1W", &d);
	TAP_OK(window_every_of(&d, &e, err, sizeof(err)) == 0 && e.unit == WINDOW_HOUR &&
	           e.interval == 168,
	       "P1W is Hour x 168");
	window_dur_parse("PT90M", &d);
	TAP_OK(window_every_of(&d, &e, err, sizeof(err)) == 0 && e.unit == WINDOW_MINUTE &&
	           e.interval == 90,
	       "PT90M is Minute x 90");
	window_dur_parse("P3M", &d);
	TAP_OK(window_every_of(&d, &e, err, sizeof(err)) == 0 && e.unit == WINDOW_MONTH &&
	           e.interval == 3,
	       "P3M is Month x 3");
	TAP_EQ_STR(window_unit_name(WINDOW_MONTH), "Month", "unit names as ADF spells them");
	window_dur_parse("PT14M", &d);
	TAP_EQ_INT(window_every_of(&d, &e, err, sizeof(err)), -EINVAL, "PT14M is under 15 minutes");
	TAP_OK(strstr(err, "at least 15 minutes") != NULL, "  the error says so: %s", err);
	window_dur_parse("PT15M30S", &d);
	TAP_EQ_INT(window_every_of(&d, &e, err, sizeof(err)), -EINVAL, "PT15M30S: no whole minute");
	window_dur_parse("P1M1D", &d);
	TAP_EQ_INT(window_every_of(&d, &e, err, sizeof(err)), -EINVAL,
	           "P1M1D mixes months and days");
	TAP_OK(strstr(err, "\"P1M\"") != NULL, "  the error names what would do: %s", err);
}

static void windows(void)
{
	struct window_every day = {WINDOW_HOUR, 24}, q = {WINDOW_MINUTE, 15},
	                    mon = {WINDOW_MONTH, 1}, quarter = {WINDOW_MONTH, 3};
	long long s = T("2026-11-01T00:00:00Z"), ws, we;

	TAP_EQ_STR(text(window_add(s, &day, 7)), "2026-11-08T00:00:00Z", "7 daily windows on");
	TAP_EQ_STR(text(window_add(T("2026-01-31T06:00:00Z"), &mon, 1)), "2026-02-28T06:00:00Z",
	           "a month after Jan 31 is Feb 28 (the last day)");
	TAP_EQ_STR(text(window_add(T("2028-01-31T00:00:00Z"), &mon, 1)), "2028-02-29T00:00:00Z",
	           "  Feb 29 in a leap year");
	TAP_EQ_STR(text(window_add(T("2026-12-15T00:00:00Z"), &quarter, 1)), "2027-03-15T00:00:00Z",
	           "a quarter over a year's end");
	TAP_EQ_STR(text(window_next_boundary(T("2026-11-01T10:20:00Z"), &day)),
	           "2026-11-02T00:00:00Z", "next daily boundary: midnight UTC");
	TAP_EQ_STR(text(window_next_boundary(s, &day)), "2026-11-01T00:00:00Z",
	           "  a boundary is its own next");
	TAP_EQ_STR(text(window_next_boundary(T("2026-11-01T10:20:00Z"), &q)),
	           "2026-11-01T10:30:00Z", "next quarter hour");
	TAP_EQ_STR(text(window_next_boundary(T("2026-11-01T10:20:00Z"), &mon)),
	           "2026-12-01T00:00:00Z", "next month");
	TAP_EQ_STR(text(window_next_boundary(T("2026-11-01T10:20:00Z"), &quarter)),
	           "2027-01-01T00:00:00Z", "next quarter (months since 1970 a multiple of 3)");
	/* Daily windows from Nov 1, lag 48 h: window k [Nov 1+k, Nov 2+k) runs at Nov 4+k. */
	TAP_EQ_INT(window_count_due(s, &day, 172800, T("2026-11-03T23:59:59Z"), 100), 0,
	           "nothing due before the first end plus the lag");
	TAP_EQ_INT(window_count_due(s, &day, 172800, T("2026-11-04T00:00:00Z"), 100), 1,
	           "the first window is due at its end plus the lag");
	TAP_EQ_INT(window_count_due(s, &day, 172800, T("2026-11-10T12:00:00Z"), 100), 7,
	           "seven due a week on");
	TAP_EQ_INT(window_count_due(s, &day, 172800, T("2026-11-10T12:00:00Z"), 4), 4,
	           "  at most the cap");
	window_next(s, &day, 172800, T("2026-11-10T12:00:00Z"), &ws, &we);
	TAP_OK(strcmp(text(ws), "2026-11-08T00:00:00Z") == 0 &&
	           strcmp(text(we), "2026-11-09T00:00:00Z") == 0,
	       "the next window follows the seven (%s, %s)", text(ws), text(we));
	window_next(s, &day, 0, T("2026-10-01T00:00:00Z"), &ws, &we);
	TAP_EQ_STR(text(ws), "2026-11-01T00:00:00Z", "before start: the first window");
	TAP_EQ_INT(window_count_due(s, &mon, 0, T("2027-02-01T00:00:00Z"), 100), 3,
	           "monthly windows: three due three months on");
}

static void times(void)
{
	long long t;

	TAP_EQ_INT(window_time_parse("2026-11-01T00:00:00Z", &t), 0, "RFC 3339 UTC");
	TAP_EQ_INT(window_time_parse("2026-11-01T00:00:00.000Z", &t), 0, "  a zero fraction");
	TAP_EQ_INT(window_time_parse("2026-11-01T00:00:00.5Z", &t), -EINVAL, "  no part seconds");
	TAP_EQ_INT(window_time_parse("2026-11-01T00:00:00+01:00", &t), -EINVAL, "  UTC only");
	TAP_EQ_INT(window_time_parse("2026-02-31T00:00:00Z", &t), -EINVAL, "  no Feb 31");
	TAP_EQ_INT(window_time_parse("2026-11-01", &t), -EINVAL, "  a date alone is not a time");
}

static const char *parse(const char *json, const struct catalog_dataset *ds, long long now,
                         struct window_schedule *s, int *rc)
{
	static char err[900];

	err[0] = '\0';
	*rc = window_schedule_parse("pipelines/p/schedule", json, strlen(json), ds, now, s, err,
	                            sizeof(err));
	return err;
}

static void schedules(void)
{
	const struct catalog *cat = catalog_builtin();
	const struct catalog_dataset *mail = catalog_find(cat, "BasicDataSet_v0.Message_v1");
	const struct catalog_dataset *sites =
	    catalog_find(cat, "BasicDataSet_v0.SharePointSites_v1");
	long long now = T("2026-11-10T10:00:00Z");
	struct window_schedule s;
	const char *err;
	int rc;

	TAP_OK(mail && sites && sites->retention_days && sites->available_after_hours == 48,
	       "the catalog has Message_v1 and SharePointSites_v1 (48 h late)");
	if (!mail || !sites)
		return;
	err = parse("{\"every\": \"P1D\", \"lag\": \"PT48H\"}", mail, now, &s, &rc);
	TAP_OK(rc == 0 && s.every.unit == WINDOW_HOUR && s.every.interval == 24 &&
	           s.lag == 172800 && s.max_concurrency == WINDOW_DEFAULT_CONCURRENCY &&
	           strcmp(text(s.start), "2026-11-11T00:00:00Z") == 0 &&
	           strcmp(s.lag_text, "PT48H") == 0,
	       "daily, 48 h: start at the next boundary (%s) %s", text(s.start), err);
	err = parse(" off\n", mail, now, &s, &rc);
	TAP_OK(rc == 0 && s.off, "\"off\" stops");
	err = parse("{\"every\": \"PT1H\"}", mail, now, &s, &rc);
	TAP_OK(rc == 0 && s.lag == 0 && strcmp(s.lag_text, "PT0H") == 0,
	       "no lag for a dataset without one %s", err);
	err = parse(
	    "{\"every\": \"P1D\", \"start\": \"2026-11-01T00:00:00Z\", \"maxConcurrency\": 7}",
	    sites, now, &s, &rc);
	TAP_OK(rc == 0 && s.lag == 48 * 3600 && s.max_concurrency == 7 &&
	           !s.end_is_start == (sites->delta != CATALOG_DELTA_NO),
	       "SharePoint: the lag defaults to its 48 hours %s", err);
	err = parse("{\"every\": \"PT6H\", \"lag\": \"PT48H\"}", sites, now, &s, &rc);
	TAP_OK(rc == -EINVAL && strstr(err, "whole days"), "SharePoint: a 6-hour window: %s", err);
	err = parse("{\"every\": \"P1D\", \"lag\": \"PT24H\"}", sites, now, &s, &rc);
	TAP_OK(rc == -EINVAL && strstr(err, "at least \"PT48H\""), "SharePoint: a 24-hour lag: %s",
	       err);
	err =
	    parse("{\"every\": \"P1D\", \"start\": \"2026-11-01T06:00:00Z\"}", sites, now, &s, &rc);
	TAP_OK(rc == -EINVAL && strstr(err, "midnight"), "SharePoint: a 6 am start: %s", err);
	err =
	    parse("{\"every\": \"P1D\", \"start\": \"2026-09-01T00:00:00Z\"}", sites, now, &s, &rc);
	TAP_OK(rc == -EINVAL && strstr(err, "no earlier than"),
	       "SharePoint: a start past retention: %s", err);
	err = parse("{\"lag\": \"PT1H\"}", mail, now, &s, &rc);
	TAP_OK(rc == -EINVAL && strstr(err, "every: missing"), "every is required: %s", err);
	err = parse("{\"every\": 1}", mail, now, &s, &rc);
	TAP_OK(rc == -EINVAL && strstr(err, "as a string"), "every must be a string: %s", err);
	err = parse("{\"every\": \"P1D\", \"lag\": \"P1M\"}", mail, now, &s, &rc);
	TAP_OK(rc == -EINVAL && strstr(err, "lag:"), "a lag in months: %s", err);
	err = parse("{\"every\": \"P1D\", \"start\": \"tomorrow\"}", mail, now, &s, &rc);
	TAP_OK(rc == -EINVAL && strstr(err, "start:"), "a bad start: %s", err);
	err = parse("{\"every\": \"P1D\", \"maxConcurrency\": 0}", mail, now, &s, &rc);
	TAP_OK(rc == -EINVAL && strstr(err, "from 1 to 50"), "maxConcurrency 0: %s", err);
	err = parse("{\"every\": \"P1D\", \"maxConcurrency\": 2.5}", mail, now, &s, &rc);
	TAP_OK(rc == -EINVAL, "maxConcurrency 2.5: %s", err);
	err = parse("{\"every\": \"P1D\", \"cron\": \"* * *\"}", mail, now, &s, &rc);
	TAP_OK(rc == -EINVAL && strstr(err, "unknown field"), "an unknown field: %s", err);
	err = parse("[1]", mail, now, &s, &rc);
	TAP_OK(rc == -EINVAL && strstr(err, "\"off\""), "not an object: %s", err);
	err = parse("{\"every\": \"P1Q\"}", NULL, now, &s, &rc);
	TAP_OK(rc == -EINVAL && strstr(err, "not an ISO 8601 duration"), "a malformed duration: %s",
	       err);
}

static void trigger(void)
{
	struct window_schedule s;
	struct plan_trigger t;
	cJSON *spec = cJSON_Parse(
	    "{\"dataset\": \"BasicDataSet_v0.Message_v1\", \"dateFilter\": {\"column\": "
	    "\"receivedDateTime\", \"start\": \"@pipeline().parameters.ws\", \"end\": "
	    "\"@pipeline().parameters.we\"}}");
	cJSON *fixed = cJSON_Parse("{\"dateFilter\": {\"start\": \"2026-11-01T00:00:00Z\", "
	                           "\"end\": \"2026-11-02T00:00:00Z\"}}");
	cJSON *body = NULL;
	char err[700];
	int rc;

	static const char sch[] =
	    "{\"every\":\"P1D\",\"lag\":\"PT50H\",\"start\":\"2026-11-01T00:00:00Z\"}";

	rc = window_schedule_parse("s", sch, strlen(sch), NULL, T("2026-11-10T00:00:00Z"), &s, err,
	                           sizeof(err));
	TAP_EQ_INT(rc, 0, "a schedule for the trigger tests %s", err);
	rc = plan_trigger_build("week", spec, &s, &body, err, sizeof(err));
	TAP_EQ_INT(rc, 0, "plan_trigger_build %s", rc ? err : "");
	if (body) {
		const cJSON *props = cJSON_GetObjectItemCaseSensitive(body, "properties");
		const cJSON *tp = cJSON_GetObjectItemCaseSensitive(props, "typeProperties");
		const cJSON *pp = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(props, "pipeline"), "parameters");
		cJSON *got = cJSON_Duplicate(body, 1);

		TAP_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(props, "type")),
		           "TumblingWindowTrigger", "  a TumblingWindowTrigger");
		TAP_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(tp, "delay")),
		           "2.02:00:00", "  the lag as ADF's delay timespan");
		TAP_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		               cJSON_GetObjectItemCaseSensitive(pp, "ws"), "value")),
		           "@trigger().outputs.windowStartTime", "  ws <- windowStartTime");
		TAP_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		               cJSON_GetObjectItemCaseSensitive(pp, "we"), "value")),
		           "@trigger().outputs.windowEndTime", "  we <- windowEndTime");
		/* What GET returns adds the runtime state. */
		cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(got, "properties"),
		                        "runtimeState", "Started");
		cJSON_AddStringToObject(got, "name", "mgdcfs_week_window");
		TAP_OK(plan_trigger_read(got, &t) == 0 && t.window.unit == WINDOW_HOUR &&
		           t.window.interval == 24 && t.lag == 50 * 3600 &&
		           t.start == T("2026-11-01T00:00:00Z") &&
		           strcmp(t.state, "Started") == 0 && strcmp(t.pipeline, "week") == 0 &&
		           strcmp(t.every, "P1D") == 0 && strcmp(t.lag_text, "PT50H") == 0,
		       "  read back: the same window, lag, start, state and pipeline");
		cJSON_Delete(got);
	}
	cJSON_Delete(body);
	body = NULL;
	s.end_is_start = 1;
	rc = plan_trigger_build("week", spec, &s, &body, err, sizeof(err));
	TAP_EQ_STR(
	    rc ? ""
	       : cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	             cJSON_GetObjectItemCaseSensitive(
	                 cJSON_GetObjectItemCaseSensitive(
	                     cJSON_GetObjectItemCaseSensitive(
	                         cJSON_GetObjectItemCaseSensitive(body, "properties"), "pipeline"),
	                     "parameters"),
	                 "we"),
	             "value")),
	    "@trigger().outputs.windowStartTime",
	    "one snapshot date per run: the window's start feeds the end too");
	cJSON_Delete(body);
	rc = plan_trigger_build("week", fixed, &s, &body, err, sizeof(err));
	TAP_OK(rc == -EINVAL && body == NULL && strstr(err, "has fixed times") &&
	           strstr(err, "@pipeline().parameters.windowStart"),
	       "fixed times: refused with what to write: %s", err);
	cJSON_Delete(fixed);
	cJSON_Delete(spec);
	TAP_OK(plan_resource_name_ok(ADF_TRIGGER, "mgdcfs_week_45_window") &&
	           !plan_resource_name_ok(ADF_TRIGGER, "a.b"),
	       "trigger names follow ADF's rules");
}

int main(void)
{
	durations();
	every();
	windows();
	times();
	schedules();
	trigger();
	return tap_done();
}
