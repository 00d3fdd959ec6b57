/*
 * spec_pipeline.c - pipeline specs: validation against the catalog and what
 * is known of the app's approval, then the plan (fs/plan.c) of the ADF
 * resources that implement them.
 *
 * Design decision: the accepted spec (with every default filled in) is built
 * first as its own cJSON tree, and the ADF resources are derived from that
 * tree only (plan_build); so spec.json shows exactly what the pipeline was
 * made from, and the client secret, which is never part of the spec, goes
 * straight from the caller to the plan's credential fields.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs/plan.h"
#include "fs/spec.h"
#include "fs/spec_i.h"

static const char *const pl_keys[] = {"app",    "dataset", "columns",    "dateFilter", "scope",
                                      "output", "sample",  "parameters", NULL};
static const char *const df_keys[] = {"column", "start", "end", NULL};
static const char *const pscope_keys[] = {"groups", "filterUri", NULL};
static const char *const out_keys[] = {"container", "folder", NULL};

#define PARAM_PREFIX "@pipeline().parameters."

struct pl {
	struct spec_ctx *c;
	const struct spec_profile *p;
	const struct catalog *cat;
	const struct catalog_dataset *ds;
	struct catalog_dataset form_ds; /* ds for a name form, named as the spec names it */
	const cJSON *approval;          /* object with datasets/destination, or NULL */
	const cJSON *appr_ds;           /* the approved entry of this dataset, or NULL */
	const cJSON *params;            /* spec "parameters", or NULL */
	char name[SPEC_NAME_MAX + 1];
	cJSON *acc; /* the accepted spec */
};

/* ---- time ---- */

struct when {
	long long secs;
	char frac[10]; /* nine digits */
};

static long long days_from_civil(long long y, unsigned m, unsigned d)
{
	long long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

static int digits(const char *s, int n, unsigned *out)
{
	*out = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		*out = *out * 10 + (unsigned)(s[i] - '0');
	}
	return 0;
}

/* Strict RFC 3339 in UTC: YYYY-MM-DDTHH:MM:SS[.fraction]Z. */
static int parse_time(const char *s, struct when *w)
{
	static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	unsigned y, mo, d, h, mi, se;
	size_t i = 19, f = 0;

	if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
	    s[7] != '-' || digits(s + 8, 2, &d) || s[10] != 'T' || digits(s + 11, 2, &h) ||
	    s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &se))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 59 ||
	    (mo == 2 && d == 29 && (y % 4 || (y % 100 == 0 && y % 400))))
		return -1;
	memset(w->frac, '0', 9);
	w->frac[9] = '\0';
	if (s[i] == '.') {
		for (i++; isdigit((unsigned char)s[i]); i++, f++)
			if (f < 9)
				w->frac[f] = s[i];
		if (!f)
			return -1;
	}
	if (s[i] != 'Z' || s[i + 1])
		return -1;
	w->secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	return 0;
}

static int when_cmp(const struct when *a, const struct when *b)
{
	if (a->secs != b->secs)
		return a->secs < b->secs ? -1 : 1;
	return strcmp(a->frac, b->frac);
}

/*
 * A start or end: an RFC 3339 UTC time, or a reference to a declared
 * parameter whose default is one (so a trigger can move the window).
 * *w gets the time itself or the parameter's default.
 */
static int check_time(struct pl *pl, const char *path, const char *s, struct when *w)
{
	const cJSON *def;

	if (strncmp(s, PARAM_PREFIX, strlen(PARAM_PREFIX)) == 0) {
		const char *pname = s + strlen(PARAM_PREFIX);

		def = cJSON_GetObjectItemCaseSensitive(pl->params, pname);
		if (!def)
			return spec_fail(pl->c, path,
			                 "parameter '%s' is not declared; add it to \"parameters\"",
			                 pname);
		if (!cJSON_IsString(def) || parse_time(def->valuestring, w) < 0)
			return spec_fail(pl->c, path,
			                 "parameter '%s' needs a default RFC 3339 UTC time; e.g. "
			                 "\"2026-11-01T00:00:00Z\"",
			                 pname);
		return 0;
	}
	if (parse_time(s, w) < 0)
		return spec_fail(
		    pl->c, path,
		    "'%s' is not an RFC 3339 UTC time; use e.g. \"2026-11-01T00:00:00Z\" or "
		    "\"" PARAM_PREFIX "<name>\"",
		    s);
	return 0;
}

/* ---- the approval ---- */

/* What runs are checked against: the approved snapshot while an update waits for review. */
static const cJSON *approval_of(const cJSON *reg)
{
	const cJSON *auth = cJSON_GetObjectItemCaseSensitive(reg, "authorization");
	const cJSON *status = cJSON_GetObjectItemCaseSensitive(auth, "status");
	const cJSON *snap = cJSON_GetObjectItemCaseSensitive(auth, "approvedSnapshot");

	if (cJSON_IsString(status) && strcmp(status->valuestring, "UpdateAvailable") == 0 &&
	    cJSON_IsObject(snap))
		return snap;
	return reg;
}

static const cJSON *approved_dataset(const cJSON *approval, const char *name)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(approval, "datasets"))
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "name");

		if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
			return it;
	}
	return NULL;
}

static const char *approved_str(const cJSON *obj, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, a);

	if (b)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- validation, one part of the spec at a time ---- */

static int pl_dataset(struct pl *pl, const cJSON *spec)
{
	char near[256], list[512];
	const cJSON *v, *it;
	int res;

	if ((res = spec_get(pl->c, spec, "$", "dataset", cJSON_String, 1,
	                    "a dataset name such as BasicDataSet_v0.Message_v1", &v)) < 0)
		return res;
	pl->ds = catalog_find(pl->cat, v->valuestring);
	if (!pl->ds && catalog_suggest(pl->cat, v->valuestring, near, sizeof(near)))
		return spec_fail(pl->c, "dataset", "unknown dataset '%s'; did you mean %s?",
		                 v->valuestring, near);
	if (!pl->ds)
		return spec_fail(pl->c, "dataset",
		                 "unknown dataset '%s'; see the names under catalog/",
		                 v->valuestring);
	if (pl->ds->form_prefix) {
		/* A report of a name form runs under its own name; the spec outlives pl. */
		pl->form_ds = *pl->ds;
		pl->form_ds.name = v->valuestring;
		pl->ds = &pl->form_ds;
	}
	if (pl->approval) {
		pl->appr_ds = approved_dataset(pl->approval, pl->ds->name);
		if (!pl->appr_ds) {
			size_t o = 0;

			list[0] = '\0';
			cJSON_ArrayForEach(
			    it, cJSON_GetObjectItemCaseSensitive(pl->approval, "datasets"))
			{
				const char *n = approved_str(it, "name", NULL);
				int w = snprintf(list + o, sizeof(list) - o, "%s%s", o ? ", " : "",
				                 n ? n : "?");

				if (w < 0 || (size_t)w >= sizeof(list) - o)
					break;
				o += (size_t)w;
			}
			return spec_fail(pl->c, "dataset",
			                 "'%s' is not in the app's approval; approved datasets: %s",
			                 pl->ds->name, *list ? list : "none");
		}
	}
	return spec_add_string(pl->acc, "dataset", pl->ds->name) ? 0 : -ENOMEM;
}

static int pl_column(struct pl *pl, const char *path, const char *col, const cJSON *approved,
                     cJSON *out)
{
	char near[256], list[512];
	int res;

	if ((res = spec_check_name(pl->c, path, col, 128)) < 0)
		return res;
	if (!catalog_column_ok(pl->ds, col)) {
		if (catalog_suggest_column(pl->ds, col, near, sizeof(near)))
			return spec_fail(pl->c, path, "unknown column '%s' of %s; did you mean %s?",
			                 col, pl->ds->name, near);
		return spec_fail(pl->c, path, "unknown column '%s' of %s; see catalog/%s.json", col,
		                 pl->ds->name, pl->ds->name);
	}
	if (approved && !spec_str_in(approved, col)) {
		spec_join(list, sizeof(list), approved, NULL, 0);
		return spec_fail(pl->c, path,
		                 "column '%s' is not in the app's approval; approved columns: %s",
		                 col, list);
	}
	if (spec_str_in(out, col))
		return spec_fail(pl->c, path, "column '%s' listed twice; list each column once",
		                 col);
	return cJSON_AddItemToArray(out, cJSON_CreateString(col)) ? 0 : -ENOMEM;
}

static int pl_columns(struct pl *pl, const cJSON *spec)
{
	const cJSON *approved = cJSON_GetObjectItemCaseSensitive(pl->appr_ds, "columns"), *v, *it;
	cJSON *out;
	size_t i = 0;
	int res;

	if (!cJSON_IsArray(approved))
		approved = NULL;
	if ((res = spec_get(pl->c, spec, "$", "columns", cJSON_Array, 0, "a list of column names",
	                    &v)) < 0)
		return res;
	out = cJSON_AddArrayToObject(pl->acc, "columns");
	if (!out)
		return -ENOMEM;
	if (!v) {
		/* Default: what the app may read; without an approval, the whole catalog schema. */
		if (approved)
			v = approved;
		else
			for (size_t k = 0; k < pl->ds->n_columns; k++)
				if (!cJSON_AddItemToArray(
				        out, cJSON_CreateString(pl->ds->columns[k].name)))
					return -ENOMEM;
		if (!v)
			return 0;
	} else if (!cJSON_GetArraySize(v) || cJSON_GetArraySize(v) > CATALOG_MAX_COLUMNS) {
		return spec_fail(pl->c, "columns", "%d columns; give 1 to %d names",
		                 cJSON_GetArraySize(v), CATALOG_MAX_COLUMNS);
	}
	cJSON_ArrayForEach(it, v)
	{
		char path[SPEC_PATH_MAX];

		spec_path_index(path, sizeof(path), "columns", i++);
		if (!cJSON_IsString(it))
			return spec_fail(pl->c, path, "expected a string, got %s; a column name",
			                 spec_json_type(it));
		if ((res = pl_column(pl, path, it->valuestring, approved, out)) < 0)
			return res;
	}
	return 0;
}

/* ---- SharePoint snapshot dates ---- */

static long long day_of(long long secs)
{
	return secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
}

/* "YYYY-MM-DD" of day number `day` (days since 1970-01-01, UTC). */
static void day_text(long long day, char *buf, size_t n)
{
	time_t t = (time_t)(day * 86400);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%d", &tm))
		snprintf(buf, n, "day %lld", day);
}

static long long pl_now(const struct pl *pl)
{
	return pl->p->now ? pl->p->now : (long long)time(NULL);
}

/* "; dates from A to B work today (T)" for a snapshot dataset, else "". */
static void snapshot_hint(const struct pl *pl, char *buf, size_t n)
{
	long long first, last, now = pl_now(pl);
	char a[32], b[32], t[32];

	buf[0] = '\0';
	if (catalog_snapshot_window(pl->ds, now, &first, &last) < 0)
		return;
	day_text(first, a, sizeof(a));
	day_text(last, b, sizeof(b));
	day_text(day_of(now), t, sizeof(t));
	snprintf(buf, n, "; dates from %s to %s work today (%s)", a, b, t);
}

/*
 * MGDC makes each snapshot date available some hours late and keeps it a
 * number of days (the catalog's snapshot rules): a date outside that window
 * is refused here, with the dates that would work, instead of failing the run.
 */
static int snapshot_dates(struct pl *pl, const struct when *ws, const struct when *we)
{
	static const char *const path[2] = {"dateFilter.start", "dateFilter.end"};
	long long first, last, day[2] = {day_of(ws->secs), day_of(we->secs)};
	char asked[32], hint[160];

	if (catalog_snapshot_window(pl->ds, pl_now(pl), &first, &last) < 0)
		return 0;
	for (int i = 0; i < 2; i++) {
		if (day[i] >= first && day[i] <= last)
			continue;
		day_text(day[i], asked, sizeof(asked));
		snapshot_hint(pl, hint, sizeof(hint));
		return spec_fail(pl->c, path[i],
		                 "snapshot date %s of %s is %s: MGDC makes each date available %d "
		                 "hours late and keeps it %d days%s",
		                 asked, pl->ds->name,
		                 day[i] > last ? "not available yet" : "no longer kept",
		                 pl->ds->available_after_hours, pl->ds->retention_days, hint);
	}
	return 0;
}

static int df_missing(struct pl *pl)
{
	char list[256], hint[160];

	if (pl->ds->window_only)
		return spec_fail(
		    pl->c, "dateFilter",
		    "missing; %s needs {\"start\": ..., \"end\": ...} (a window, no column)",
		    pl->ds->name);
	spec_join(list, sizeof(list), NULL, pl->ds->date_columns, pl->ds->n_date_columns);
	snapshot_hint(pl, hint, sizeof(hint));
	if (*hint)
		return spec_fail(
		    pl->c, "dateFilter",
		    "missing; %s needs {\"column\": \"%s\", \"start\": ..., \"end\": "
		    "...}, the same date twice for a full snapshot%s%s",
		    pl->ds->name, list,
		    pl->ds->delta == CATALOG_DELTA_YES ? ", two dates for a delta" : "", hint);
	return spec_fail(pl->c, "dateFilter",
	                 "missing; %s needs {\"column\": ..., \"start\": ..., \"end\": ...} with "
	                 "column one of %s",
	                 pl->ds->name, list);
}

static int df_column(struct pl *pl, const cJSON *col, cJSON *out)
{
	char list[256], near[256];
	const char *canon;

	if (pl->ds->window_only) {
		if (col)
			return spec_fail(
			    pl->c, "dateFilter.column",
			    "%s filters on a start/end window, not a column; remove \"column\"",
			    pl->ds->name);
		return 0;
	}
	if (!pl->ds->n_date_columns && pl->ds->delta == CATALOG_DELTA_NO)
		return spec_fail(pl->c, "dateFilter",
		                 "%s has no date filter and no delta (%s); remove \"dateFilter\"",
		                 pl->ds->name, pl->ds->no_delta_reason);
	if (!pl->ds->n_date_columns)
		return spec_fail(pl->c, "dateFilter",
		                 "%s has no date filter; remove \"dateFilter\"", pl->ds->name);
	spec_join(list, sizeof(list), NULL, pl->ds->date_columns, pl->ds->n_date_columns);
	if (!col)
		return spec_fail(pl->c, "dateFilter.column", "missing; one of %s", list);
	canon = catalog_date_column(pl->ds, col->valuestring);
	if (canon)
		return spec_add_string(out, "column", canon) ? 0 : -ENOMEM;
	if (catalog_nearest(col->valuestring, pl->ds->n_date_columns, spec_nth,
	                    pl->ds->date_columns, near, sizeof(near)))
		return spec_fail(
		    pl->c, "dateFilter.column",
		    "'%s' is not a date-filter column of %s; did you mean %s? one of %s",
		    col->valuestring, pl->ds->name, near, list);
	return spec_fail(pl->c, "dateFilter.column",
	                 "'%s' is not a date-filter column of %s; one of %s", col->valuestring,
	                 pl->ds->name, list);
}

static int pl_date_filter(struct pl *pl, const cJSON *spec)
{
	const cJSON *df, *col, *start, *end;
	struct when ws, we;
	cJSON *out;
	int res, cmp;

	if ((res = spec_get(pl->c, spec, "$", "dateFilter", cJSON_Object, 0,
	                    "{\"column\", \"start\", \"end\"}", &df)) < 0)
		return res;
	if (!df)
		return pl->ds->date_required ? df_missing(pl) : 0;
	if ((res = spec_check_keys(pl->c, df, "dateFilter", df_keys)) < 0 ||
	    (res = spec_get(pl->c, df, "dateFilter", "column", cJSON_String, 0, "a column name",
	                    &col)) < 0 ||
	    (res = spec_get(pl->c, df, "dateFilter", "start", cJSON_String, 1,
	                    "an RFC 3339 UTC time such as \"2026-11-01T00:00:00Z\"", &start)) < 0 ||
	    (res = spec_get(pl->c, df, "dateFilter", "end", cJSON_String, 1,
	                    "an RFC 3339 UTC time such as \"2026-11-08T00:00:00Z\"", &end)) < 0)
		return res;
	out = cJSON_AddObjectToObject(pl->acc, "dateFilter");
	if (!out)
		return -ENOMEM;
	if ((res = df_column(pl, col, out)) < 0 ||
	    (res = check_time(pl, "dateFilter.start", start->valuestring, &ws)) < 0 ||
	    (res = check_time(pl, "dateFilter.end", end->valuestring, &we)) < 0)
		return res;
	cmp = when_cmp(&we, &ws);
	/* Snapshot datasets take start == end to mean a full snapshot of that day. */
	if (cmp < 0 || (cmp == 0 && !pl->ds->retention_days))
		return spec_fail(pl->c, "dateFilter.end",
		                 "'%s' is not after start '%s'; give an end later than the start",
		                 end->valuestring, start->valuestring);
	if (pl->ds->delta == CATALOG_DELTA_NO && day_of(ws.secs) != day_of(we.secs))
		return spec_fail(pl->c, "dateFilter.end",
		                 "'%s' and start '%s' are different dates, which asks %s for a "
		                 "delta, but it has none (%s); give the same date as start",
		                 end->valuestring, start->valuestring, pl->ds->name,
		                 pl->ds->no_delta_reason);
	if ((res = snapshot_dates(pl, &ws, &we)) < 0)
		return res;
	if (!spec_add_string(out, "start", start->valuestring) ||
	    !spec_add_string(out, "end", end->valuestring))
		return -ENOMEM;
	return 0;
}

/* The run's user selection must lie inside what the approval's scope allows. */
static int scope_vs_approval(struct pl *pl, const cJSON *groups, const cJSON *uri)
{
	const cJSON *ascope = cJSON_GetObjectItemCaseSensitive(pl->appr_ds, "scope");
	const char *kind = approved_str(ascope, "kind", NULL);
	const char *afilter = approved_str(ascope, "scopeFilterUri", NULL);
	const cJSON *agroups = cJSON_GetObjectItemCaseSensitive(ascope, "groupIds"), *it;
	char list[512];
	size_t i = 0;

	if (!kind)
		return 0;
	if (strcmp(kind, "Groups") == 0) {
		spec_join(list, sizeof(list), agroups, NULL, 0);
		if (!groups)
			return spec_fail(pl->c, "scope.groups",
			                 "missing; the app is approved for these groups only: %s",
			                 list);
		cJSON_ArrayForEach(it, groups)
		{
			char path[SPEC_PATH_MAX];

			spec_path_index(path, sizeof(path), "scope.groups", i++);
			if (!cJSON_IsString(it))
				return spec_fail(pl->c, path,
				                 "expected a string, got %s; a group object id",
				                 spec_json_type(it));
			if (!spec_str_in(agroups, it->valuestring))
				return spec_fail(
				    pl->c, path,
				    "group '%s' is not in the app's approval; approved groups: %s",
				    it->valuestring, list);
		}
	} else if (strcmp(kind, "AllUsersWithScopeFilter") == 0) {
		if (!uri || !afilter || strcmp(uri->valuestring, afilter) != 0)
			return spec_fail(
			    pl->c, "scope.filterUri",
			    "must equal the approved scope filter exactly; give \"%s\"",
			    afilter ? afilter : "(none approved)");
	}
	return 0;
}

static int pl_scope(struct pl *pl, const cJSON *spec)
{
	const cJSON *s, *groups = NULL, *uri = NULL;
	cJSON *out, *g;
	int res;

	if ((res = spec_get(pl->c, spec, "$", "scope", cJSON_Object, 0,
	                    "{\"groups\": [ids]} or {\"filterUri\": "
	                    "\"https://graph.microsoft.com/v1.0/users?$filter=...\"}",
	                    &s)) < 0)
		return res;
	if (s && ((res = spec_check_keys(pl->c, s, "scope", pscope_keys)) < 0 ||
	          (res = spec_get(pl->c, s, "scope", "groups", cJSON_Array, 0,
	                          "an array of group object ids", &groups)) < 0 ||
	          (res = spec_get(pl->c, s, "scope", "filterUri", cJSON_String, 0,
	                          "a Graph users query URL", &uri)) < 0))
		return res;
	if (groups && uri)
		return spec_fail(pl->c, "scope",
		                 "both groups and filterUri given; give one of them");
	if ((groups || uri) &&
	    (pl->ds->scope == CATALOG_SCOPE_SITE || pl->ds->scope == CATALOG_SCOPE_TENANT))
		return spec_fail(pl->c, groups ? "scope.groups" : "scope.filterUri",
		                 "%s takes no user or group scope (Microsoft's scope table marks "
		                 "it NA: it covers the whole tenant); remove \"scope\"",
		                 pl->ds->name);
	if (uri && pl->ds->scope == CATALOG_SCOPE_GROUP)
		return spec_fail(pl->c, "scope.filterUri",
		                 "%s is group-scoped: a users filter selects users, not the groups "
		                 "it reads; use scope.groups (group object ids) or no scope",
		                 pl->ds->name);
	if ((res = scope_vs_approval(pl, groups, uri)) < 0)
		return res;
	if (!groups && !uri)
		return 0;
	out = cJSON_AddObjectToObject(pl->acc, "scope");
	if (!out)
		return -ENOMEM;
	if (uri) {
		if ((res = spec_check_filter_uri(pl->c, "scope.filterUri", uri->valuestring)) < 0)
			return res;
		if (!strstr(uri->valuestring, "/users?"))
			return spec_fail(pl->c, "scope.filterUri",
			                 "not a users query; e.g. "
			                 "https://graph.microsoft.com/v1.0/"
			                 "users?$filter=Department eq 'Finance'");
		return spec_add_string(out, "filterUri", uri->valuestring) ? 0 : -ENOMEM;
	}
	g = cJSON_AddArrayToObject(out, "groups");
	if (!g)
		return -ENOMEM;
	if (cJSON_GetArraySize(groups) > SPEC_MAX_GROUPS)
		return spec_fail(pl->c, "scope.groups", "%d groups; at most %d are allowed",
		                 cJSON_GetArraySize(groups), SPEC_MAX_GROUPS);
	if (!cJSON_GetArraySize(groups))
		return spec_fail(pl->c, "scope.groups",
		                 "empty; give 1 to %d group object ids, or no scope",
		                 SPEC_MAX_GROUPS);
	for (const cJSON *it = groups->child; it; it = it->next) {
		char path[SPEC_PATH_MAX];

		spec_path_index(path, sizeof(path), "scope.groups", (size_t)cJSON_GetArraySize(g));
		if (!cJSON_IsString(it))
			return spec_fail(pl->c, path,
			                 "expected a string, got %s; a group object id",
			                 spec_json_type(it));
		if ((res = spec_check_guid(pl->c, path, it->valuestring)) < 0)
			return res;
		if (spec_str_in(g, it->valuestring))
			return spec_fail(pl->c, path, "group listed twice; list each group once");
		if (!cJSON_AddItemToArray(g, cJSON_CreateString(it->valuestring)))
			return -ENOMEM;
	}
	return 0;
}

/* Is `folder` the approved folder or below it? */
static int folder_within(const char *folder, const char *base)
{
	size_t n = strlen(base);

	while (n && base[n - 1] == '/')
		n--;
	return strncmp(folder, base, n) == 0 && (folder[n] == '\0' || folder[n] == '/');
}

static int pl_output(struct pl *pl, const cJSON *spec)
{
	const char *acont = approved_str(pl->approval, "destination", "container");
	const char *afolder = approved_str(pl->approval, "destination", "folder");
	const cJSON *o = NULL, *cont = NULL, *folder = NULL;
	const char *c, *f;
	cJSON *out;
	int res;

	if ((res = spec_get(pl->c, spec, "$", "output", cJSON_Object, 0,
	                    "{\"container\": ..., \"folder\": ...}", &o)) < 0)
		return res;
	if (o && ((res = spec_check_keys(pl->c, o, "output", out_keys)) < 0 ||
	          (res = spec_get(pl->c, o, "output", "container", cJSON_String, 0,
	                          "a container name", &cont)) < 0 ||
	          (res = spec_get(pl->c, o, "output", "folder", cJSON_String, 0,
	                          "a folder such as \"mail/week45\"", &folder)) < 0))
		return res;
	c = cont ? cont->valuestring : acont;
	if (!c)
		return spec_fail(pl->c, "output.container",
		                 "missing and the app's registration names none; give a container");
	if ((res = spec_check_container(pl->c, "output.container", c)) < 0)
		return res;
	if (acont && strcmp(c, acont) != 0)
		return spec_fail(
		    pl->c, "output.container",
		    "'%s' is outside the approved destination; the app may write to container '%s'",
		    c, acont);
	f = folder ? folder->valuestring : (afolder ? afolder : pl->name);
	if ((res = spec_check_folder(pl->c, "output.folder", f)) < 0)
		return res;
	if (afolder && !folder_within(f, afolder))
		return spec_fail(
		    pl->c, "output.folder",
		    "'%s' is outside the approved destination; use '%s' or a folder below it", f,
		    afolder);
	out = cJSON_AddObjectToObject(pl->acc, "output");
	if (!out || !spec_add_string(out, "container", c) || !spec_add_string(out, "folder", f))
		return -ENOMEM;
	return 0;
}

/*
 * "sample": N asks MGDC for the first N objects and the count of all (the
 * Copy source's AdditionalDataSetProperties.top), which only some datasets
 * offer (the catalog's "sample").
 */
static int pl_sample(struct pl *pl, const cJSON *spec)
{
	const cJSON *v;
	char list[512];
	double d;
	int res;

	if ((res = spec_get(pl->c, spec, "$", "sample", cJSON_Number, 0,
	                    "the number of objects to sample, 1 to 2147483647, e.g. 100", &v)) <
	        0 ||
	    !v)
		return res;
	d = v->valuedouble;
	if (!(d >= 1 && d <= (double)SPEC_SAMPLE_MAX) || d != (double)(long long)d)
		return spec_fail(
		    pl->c, "sample",
		    "%.15g is not a number of objects; give a whole number from 1 to "
		    "%lld (a sample returns at most that many objects and the count of "
		    "all)",
		    d, SPEC_SAMPLE_MAX);
	if (!pl->ds->sample) {
		catalog_sample_list(pl->cat, list, sizeof(list));
		return spec_fail(pl->c, "sample",
		                 "%s cannot be sampled: MGDC samples only %s; remove \"sample\" "
		                 "(catalog/%s.json gives its price class for a full run)",
		                 pl->ds->name, *list ? list : "no dataset", pl->ds->name);
	}
	return cJSON_AddNumberToObject(pl->acc, "sample", d) ? 0 : -ENOMEM;
}

static int pl_params(struct pl *pl, const cJSON *spec)
{
	const cJSON *it;
	int res;

	if ((res = spec_get(pl->c, spec, "$", "parameters", cJSON_Object, 0,
	                    "an object of name: default value", &pl->params)) < 0 ||
	    !pl->params)
		return res;
	if (cJSON_GetArraySize(pl->params) > SPEC_MAX_PARAMS)
		return spec_fail(pl->c, "parameters", "%d parameters; at most %d",
		                 cJSON_GetArraySize(pl->params), SPEC_MAX_PARAMS);
	cJSON_ArrayForEach(it, pl->params)
	{
		char path[SPEC_PATH_MAX];
		size_t n = strlen(it->string);
		int ok =
		    n && n <= 64 && (isalpha((unsigned char)it->string[0]) || it->string[0] == '_');

		spec_path(path, sizeof(path), "parameters", it->string);
		for (size_t i = 1; ok && i < n; i++)
			ok = isalnum((unsigned char)it->string[i]) || it->string[i] == '_';
		if (!ok)
			return spec_fail(
			    pl->c, path,
			    "not a parameter name; use letters, digits and '_', at most 64");
		for (const cJSON *prev = pl->params->child; prev != it; prev = prev->next)
			if (strcmp(prev->string, it->string) == 0)
				return spec_fail(pl->c, path,
				                 "given twice; give each parameter once");
		if (!cJSON_IsString(it) && !cJSON_IsNumber(it) && !cJSON_IsBool(it))
			return spec_fail(pl->c, path,
			                 "expected a string, number or boolean, got %s; a default "
			                 "value such as \"2026-11-01T00:00:00Z\"",
			                 spec_json_type(it));
	}
	return cJSON_AddItemToObject(pl->acc, "parameters", cJSON_Duplicate(pl->params, 1))
	           ? 0
	           : -ENOMEM;
}

/*
 * Where the sink writes and as whom the pipeline signs in, from the approval
 * (its destination, the registration's appId and tenant) or the profile,
 * then the plan.
 */
static int pl_plan(struct pl *pl, const cJSON *reg, const char *secret, struct pipeline_plan *plan)
{
	const char *uri = approved_str(pl->approval, "destination", "uri");
	const char *acct = approved_str(pl->approval, "destination", "storageAccount");
	char endpoint[300];
	struct plan_cred cred = {.secret = secret,
	                         .keyvault = pl->p->keyvault,
	                         .keyvault_secret = pl->p->keyvault_secret};
	struct plan_sink sink;
	int res;

	cred.app_id = approved_str(reg, "appId", NULL);
	cred.app_id = cred.app_id ? cred.app_id : pl->p->client_id;
	cred.tenant = approved_str(reg, "tenantId", NULL);
	cred.tenant = cred.tenant ? cred.tenant : pl->p->tenant_id;
	if (!cred.app_id || !cred.tenant)
		return spec_fail(pl->c, "$",
		                 "no app id or tenant id for the Office 365 source; set client_id "
		                 "and tenant_id in the profile");
	if (!pl->p->keyvault && (!secret || !*secret))
		return spec_fail(
		    pl->c, "$",
		    "the Office 365 source and the sink need the app's client secret; use a "
		    "profile with client_secret_file, an apps entry with the app's secret file, or "
		    "name a Key Vault linked service (key_vault)");
	/* ADLS Gen2 when the approved destination is a DFS endpoint, else Blob. */
	sink.adls = uri && strstr(uri, ".dfs.") != NULL;
	acct = acct ? acct : pl->p->storage_account;
	snprintf(endpoint, sizeof(endpoint), "https://%s.blob.core.windows.net/", acct ? acct : "");
	sink.endpoint = sink.adls              ? uri
	                : pl->p->blob_endpoint ? pl->p->blob_endpoint
	                : uri                  ? uri
	                                       : endpoint;
	if (!sink.adls && !pl->p->blob_endpoint && !uri && !acct)
		return spec_fail(
		    pl->c, "$",
		    "no storage account for the sink; set storage.account in the profile");
	res = plan_build(pl->name, pl->acc, &cred, &sink, plan);
	if (res == -ENAMETOOLONG)
		return spec_fail(pl->c, "$",
		                 "pipeline name too long for the derived resource names");
	return res;
}

static int pl_validate(struct pl *pl, const cJSON *spec)
{
	const cJSON *app;
	int res;

	if ((res = spec_check_keys(pl->c, spec, "$", pl_keys)) < 0 ||
	    (res = spec_get(pl->c, spec, "$", "app", cJSON_String, 1,
	                    "the name of an app under apps/", &app)) < 0 ||
	    (res = spec_check_name(pl->c, "app", app->valuestring, SPEC_NAME_MAX)) < 0)
		return res;
	if (!spec_add_string(pl->acc, "app", app->valuestring))
		return -ENOMEM;
	/* parameters first: start/end may refer to them. */
	if ((res = pl_dataset(pl, spec)) < 0 || (res = pl_columns(pl, spec)) < 0 ||
	    (res = pl_params(pl, spec)) < 0 || (res = pl_date_filter(pl, spec)) < 0 ||
	    (res = pl_scope(pl, spec)) < 0 || (res = pl_output(pl, spec)) < 0 ||
	    (res = pl_sample(pl, spec)) < 0)
		return res;
	/* Keep spec.json in the order people write specs. */
	if (cJSON_GetObjectItemCaseSensitive(pl->acc, "parameters"))
		cJSON_AddItemToObject(
		    pl->acc, "parameters",
		    cJSON_DetachItemFromObjectCaseSensitive(pl->acc, "parameters"));
	return 0;
}

/* A full ADF pipeline resource: checked for shape only, then used as written. */
static int passthrough(struct pl *pl, const cJSON *spec, const char *name,
                       struct pipeline_plan *plan)
{
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(spec, "properties");
	const cJSON *acts = cJSON_GetObjectItemCaseSensitive(props, "activities"), *it;
	size_t i = 0;

	if (!cJSON_IsObject(props))
		return spec_fail(pl->c, "properties",
		                 "expected an object, got %s; an ADF pipeline resource",
		                 spec_json_type(props));
	if (!cJSON_IsArray(acts) || !cJSON_GetArraySize(acts))
		return spec_fail(pl->c, "properties.activities",
		                 "expected a non-empty array, got %s; list the activities",
		                 cJSON_IsArray(acts) ? "an empty array" : spec_json_type(acts));
	cJSON_ArrayForEach(it, acts)
	{
		char path[SPEC_PATH_MAX];

		spec_path_index(path, sizeof(path), "properties.activities", i++);
		if (!cJSON_IsObject(it))
			return spec_fail(pl->c, path, "expected an object, got %s; an ADF activity",
			                 spec_json_type(it));
	}
	return plan_passthrough(name, spec, plan);
}

int spec_parse_pipeline(const char *file, const char *buf, size_t len, const struct spec_profile *p,
                        const struct catalog *cat, const cJSON *registration, const char *secret,
                        struct pipeline_plan *plan, char *err, size_t errlen)
{
	struct spec_ctx c = {file, err, errlen};
	static const struct spec_profile none;
	struct pl pl = {.c = &c, .p = p ? p : &none, .cat = cat};
	cJSON *spec = NULL;
	int res;

	memset(plan, 0, sizeof(*plan));
	if (errlen)
		err[0] = '\0';
	if ((res = spec_file_name(&c, 1, pl.name, sizeof(pl.name))) < 0 ||
	    (res = spec_load(&c, buf, len, &spec)) < 0)
		goto out;
	if (cJSON_GetObjectItemCaseSensitive(spec, "properties")) {
		res = passthrough(&pl, spec, pl.name, plan);
		goto out;
	}
	/* A registration without datasets (a portal-only app known by its appId) approves
	 * nothing checkable: validate against the catalog alone. */
	pl.approval = cJSON_GetObjectItemCaseSensitive(registration, "datasets")
	                  ? approval_of(registration)
	                  : NULL;
	pl.acc = cJSON_CreateObject();
	if (!pl.acc) {
		res = -ENOMEM;
		goto out;
	}
	res = pl_validate(&pl, spec);
	if (res == 0)
		res = pl_plan(&pl, registration, secret, plan);
out:
	if (res == -ENOMEM)
		spec_fail(&c, "$", "out of memory");
	if (res < 0)
		plan_free(plan);
	cJSON_Delete(pl.acc);
	cJSON_Delete(spec);
	return res;
}
