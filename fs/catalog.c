/*
 * catalog.c - the dataset catalog, parsed once into an immutable structure.
 *
 * Design decision: the parsed cJSON tree is kept for the life of the catalog
 * and every name in the structure points into it, so parsing is one pass of
 * validation plus a few arrays per dataset, and nothing is copied. The
 * catalog is never modified after catalog_parse() returns, so readers need
 * no lock. Every dataset must carry its schema (the catalog lists only what
 * Microsoft documents, with the source of each). Did-you-mean suggestions
 * use one edit-distance engine (catalog_nearest) shared with the spec
 * validator.
 */
#include "fs/catalog.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/text.h"

struct catalog {
	cJSON *root;
	struct catalog_dataset *ds;
	size_t n;
};

static const char *const type_names[] = {
    [CATALOG_STRING] = "string", [CATALOG_DATETIME] = "datetime", [CATALOG_BOOLEAN] = "boolean",
    [CATALOG_INT32] = "int32",   [CATALOG_INT64] = "int64",       [CATALOG_DOUBLE] = "double",
    [CATALOG_OBJECT] = "object", [CATALOG_ARRAY] = "array",
};

static const char *const scope_names[] = {
    [CATALOG_SCOPE_USER] = "user",
    [CATALOG_SCOPE_GROUP] = "group",
    [CATALOG_SCOPE_SITE] = "site",
    [CATALOG_SCOPE_TENANT] = "tenant",
};

static const char *const price_names[] = {
    [CATALOG_PRICE_UNKNOWN] = "unknown",
    [CATALOG_PRICE_FREE] = "free",
    [CATALOG_PRICE_BILLED] = "billed",
};

static const char *const kinds_user[] = {"AllUsers", "AllUsersWithScopeFilter", "Groups", NULL};
static const char *const kinds_group[] = {"AllGroups", "Groups", NULL};
static const char *const kinds_site[] = {"AllSites", NULL};
static const char *const kinds_tenant[] = {"AllUsers", NULL};

/* Bounds on the numbers a catalog may give (a year of lag, ten years kept). */
#define SNAPSHOT_MAX_HOURS 8760
#define SNAPSHOT_MAX_DAYS  3660
#define PRICE_MAX_UNIT     100000000

const char *catalog_type_name(enum catalog_type t)
{
	return (unsigned)t < sizeof(type_names) / sizeof(type_names[0]) ? type_names[t] : "?";
}

const char *catalog_scope_name(enum catalog_scope s)
{
	return (unsigned)s < sizeof(scope_names) / sizeof(scope_names[0]) ? scope_names[s] : "?";
}

const char *catalog_price_name(enum catalog_price p)
{
	return (unsigned)p < sizeof(price_names) / sizeof(price_names[0]) ? price_names[p] : "?";
}

const char *const *catalog_scope_kinds(enum catalog_scope s)
{
	if (s == CATALOG_SCOPE_GROUP)
		return kinds_group;
	if (s == CATALOG_SCOPE_SITE)
		return kinds_site;
	if (s == CATALOG_SCOPE_TENANT)
		return kinds_tenant;
	return kinds_user;
}

static int lookup_name(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

static int cat_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int cat_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
		/* Names quoted from the document may hold control bytes: keep the
		 * message one line (found by tests/fuzz/fuzz_catalog). */
		for (char *p = err; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
	}
	return -EINVAL;
}

static void dataset_release(struct catalog_dataset *d)
{
	free((void *)(uintptr_t)d->date_columns);
	free((void *)(uintptr_t)d->columns);
	free((void *)(uintptr_t)d->delta_key);
}

/* An optional string member: its text, `dflt` when absent; -EINVAL if not a string. */
static int opt_string(const cJSON *obj, const char *key, const char *dflt, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = dflt;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return -EINVAL;
	*out = v->valuestring;
	return 0;
}

/* An optional whole-number member within [lo, hi]; `dflt` when absent. */
static int opt_int(const cJSON *obj, const char *key, int dflt, int lo, int hi, int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = dflt;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi ||
	    v->valuedouble != (double)(int)v->valuedouble)
		return -EINVAL;
	*out = (int)v->valuedouble;
	return 0;
}

/* A JSON array of non-empty strings into a NULL-terminated vector (freed by the caller). */
static int string_vector(const cJSON *arr, const char ***out, size_t *n)
{
	const cJSON *it;
	const char **v;
	size_t i = 0;

	*out = NULL;
	*n = 0;
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > CATALOG_MAX_COLUMNS)
		return -EINVAL;
	v = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	*out = v;
	cJSON_ArrayForEach(it, arr)
	{
		if (!cJSON_IsString(it) || !*it->valuestring)
			return -EINVAL;
		v[i++] = it->valuestring;
	}
	*n = i;
	return 0;
}

void catalog_free(struct catalog *cat)
{
	if (!cat)
		return;
	for (size_t i = 0; i < cat->n; i++)
		dataset_release(&cat->ds[i]);
	free(cat->ds);
	cJSON_Delete(cat->root);
	free(cat);
}

static int parse_columns(const cJSON *cols, struct catalog_dataset *d, char *err, size_t errlen)
{
	struct catalog_column *c;
	const cJSON *it;
	size_t i = 0;
	int n;

	n = cJSON_GetArraySize(cols);
	if (!cJSON_IsArray(cols) || n < 1 || n > CATALOG_MAX_COLUMNS)
		return cat_fail(err, errlen,
		                "catalog: %s: columns: not an array of 1 to %d columns (every "
		                "dataset needs its schema)",
		                d->name, CATALOG_MAX_COLUMNS);
	c = calloc((size_t)n + 1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	d->columns = c;
	cJSON_ArrayForEach(it, cols)
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(it, "type");
		int t;

		if (!cJSON_IsString(name) || !*name->valuestring || !cJSON_IsString(type))
			return cat_fail(err, errlen,
			                "catalog: %s: columns[%zu]: needs string name and type",
			                d->name, i);
		t = lookup_name(type_names, sizeof(type_names) / sizeof(type_names[0]),
		                type->valuestring);
		if (t < 0)
			return cat_fail(err, errlen, "catalog: %s: columns[%zu]: unknown type '%s'",
			                d->name, i, type->valuestring);
		for (size_t j = 0; j < i; j++)
			if (strcmp(c[j].name, name->valuestring) == 0)
				return cat_fail(err, errlen,
				                "catalog: %s: column '%s' listed twice", d->name,
				                name->valuestring);
		c[i].name = name->valuestring;
		c[i].type = (enum catalog_type)t;
		c[i].filterable = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "filterable"));
		if (opt_string(it, "format", "", &c[i].format) < 0)
			return cat_fail(err, errlen,
			                "catalog: %s: column '%s': format: not a string", d->name,
			                c[i].name);
		i++;
	}
	d->n_columns = i;
	return 0;
}

static int parse_date_filter(const cJSON *df, struct catalog_dataset *d, char *err, size_t errlen)
{
	const cJSON *cols, *it;
	const char **v;
	size_t i = 0;

	if (!df || cJSON_IsNull(df))
		return 0;
	if (!cJSON_IsObject(df))
		return cat_fail(err, errlen, "catalog: %s: dateFilter: not an object", d->name);
	d->date_required = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(df, "required"));
	d->window_only = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(df, "windowOnly"));
	cols = cJSON_GetObjectItemCaseSensitive(df, "columns");
	if (!cols || cJSON_IsNull(cols))
		return 0;
	if (!cJSON_IsArray(cols) || cJSON_GetArraySize(cols) > CATALOG_MAX_COLUMNS)
		return cat_fail(err, errlen, "catalog: %s: dateFilter.columns: not an array",
		                d->name);
	v = calloc((size_t)cJSON_GetArraySize(cols) + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	d->date_columns = v;
	cJSON_ArrayForEach(it, cols)
	{
		if (!cJSON_IsString(it) || !*it->valuestring)
			return cat_fail(err, errlen,
			                "catalog: %s: dateFilter.columns[%zu]: not a name", d->name,
			                i);
		v[i++] = it->valuestring;
	}
	d->n_date_columns = i;
	return 0;
}

static int parse_source(const cJSON *src, struct catalog_dataset *d, char *err, size_t errlen)
{
	if ((src && !cJSON_IsObject(src)) ||
	    opt_string(src, "repository", "", &d->source_repo) < 0 ||
	    opt_string(src, "path", "", &d->source_path) < 0 ||
	    opt_string(src, "commit", "", &d->source_commit) < 0)
		return cat_fail(err, errlen,
		                "catalog: %s: source: needs string repository, path and commit",
		                d->name);
	return 0;
}

static int parse_price(const cJSON *price, struct catalog_dataset *d, char *err, size_t errlen)
{
	const char *cls = NULL;
	int unit = 0;

	d->price_source = d->price_usd_source = d->price_as_of = d->price_official = "";
	if (!price || cJSON_IsNull(price))
		return 0;
	if (!cJSON_IsObject(price) || opt_string(price, "class", NULL, &cls) < 0 || !cls ||
	    opt_string(price, "source", "", &d->price_source) < 0 ||
	    opt_int(price, "unitObjects", 0, 1, PRICE_MAX_UNIT, &unit) < 0)
		return cat_fail(err, errlen,
		                "catalog: %s: price: needs class, unitObjects (1 to %d) and source",
		                d->name, PRICE_MAX_UNIT);
	if (strcmp(cls, "free") == 0 && !unit) {
		d->price = CATALOG_PRICE_FREE;
	} else if (strcmp(cls, "billed") == 0 && unit) {
		d->price = CATALOG_PRICE_BILLED;
		d->price_unit = (unsigned)unit;
	} else {
		return cat_fail(err, errlen,
		                "catalog: %s: price: class '%s' is not free, or billed with "
		                "unitObjects",
		                d->name, cls);
	}
	return 0;
}

static int parse_snapshot(const cJSON *snap, struct catalog_dataset *d, char *err, size_t errlen)
{
	if (!snap || cJSON_IsNull(snap))
		return 0;
	if (!cJSON_IsObject(snap) ||
	    opt_int(snap, "availableAfterHours", -1, 0, SNAPSHOT_MAX_HOURS,
	            &d->available_after_hours) < 0 ||
	    opt_int(snap, "retentionDays", -1, 1, SNAPSHOT_MAX_DAYS, &d->retention_days) < 0 ||
	    d->available_after_hours < 0 || d->retention_days < 0 ||
	    d->available_after_hours > d->retention_days * 24)
		return cat_fail(err, errlen,
		                "catalog: %s: snapshot: needs availableAfterHours (0 to %d) and "
		                "retentionDays (1 to %d) that leave at least one date",
		                d->name, SNAPSHOT_MAX_HOURS, SNAPSHOT_MAX_DAYS);
	return 0;
}

static int parse_delta(const cJSON *delta, struct catalog_dataset *d, char *err, size_t errlen)
{
	const cJSON *sup = cJSON_GetObjectItemCaseSensitive(delta, "supported");
	const char **key = NULL;
	int res;

	if (!delta || cJSON_IsNull(delta))
		return 0;
	if (!cJSON_IsObject(delta) || !cJSON_IsBool(sup))
		return cat_fail(err, errlen, "catalog: %s: delta: needs a boolean supported",
		                d->name);
	if (cJSON_IsFalse(sup)) {
		d->delta = CATALOG_DELTA_NO;
		if (opt_string(delta, "reason", NULL, &d->no_delta_reason) < 0 ||
		    !d->no_delta_reason || !*d->no_delta_reason)
			return cat_fail(err, errlen,
			                "catalog: %s: delta: unsupported needs a reason", d->name);
		return 0;
	}
	d->delta = CATALOG_DELTA_YES;
	res = string_vector(cJSON_GetObjectItemCaseSensitive(delta, "key"), &key, &d->n_delta_key);
	d->delta_key = key;
	if (res == -ENOMEM)
		return res;
	if (res < 0 || !d->n_delta_key)
		return cat_fail(err, errlen,
		                "catalog: %s: delta: needs key, a list of column names", d->name);
	for (size_t i = 0; i < d->n_delta_key; i++)
		if (!catalog_column(d, key[i]))
			return cat_fail(err, errlen, "catalog: %s: delta.key: '%s' is not a column",
			                d->name, key[i]);
	return 0;
}

static int parse_form(const cJSON *form, struct catalog_dataset *d, char *err, size_t errlen)
{
	const char *open = NULL;
	int t;

	if (!form || cJSON_IsNull(form))
		return 0;
	if (!cJSON_IsObject(form) || opt_string(form, "prefix", NULL, &d->form_prefix) < 0 ||
	    !d->form_prefix || !*d->form_prefix ||
	    opt_string(form, "openColumns", NULL, &open) < 0 || !open)
		return cat_fail(err, errlen, "catalog: %s: form: needs prefix and openColumns",
		                d->name);
	t = lookup_name(type_names, sizeof(type_names) / sizeof(type_names[0]), open);
	if (t < 0)
		return cat_fail(err, errlen, "catalog: %s: form.openColumns: unknown type '%s'",
		                d->name, open);
	d->open_type = (enum catalog_type)t;
	return 0;
}

static int parse_sample(const cJSON *sample, struct catalog_dataset *d, char *err, size_t errlen)
{
	const cJSON *sup = cJSON_GetObjectItemCaseSensitive(sample, "supported");

	d->sample_source = "";
	if (!sample || cJSON_IsNull(sample))
		return 0;
	if (!cJSON_IsObject(sample) || !cJSON_IsBool(sup) ||
	    opt_string(sample, "source", "", &d->sample_source) < 0 ||
	    (cJSON_IsTrue(sup) && !*d->sample_source))
		return cat_fail(
		    err, errlen,
		    "catalog: %s: sample: needs a boolean supported and, when true, its "
		    "source",
		    d->name);
	d->sample = cJSON_IsTrue(sup);
	if (!d->sample)
		d->sample_source = "";
	return 0;
}

/* The rules after the schema: source, price, sampling, snapshot dates, delta, name form. */
static int parse_rules(const cJSON *it, struct catalog_dataset *d, char *err, size_t errlen)
{
	int res;

	if ((res = parse_source(cJSON_GetObjectItemCaseSensitive(it, "source"), d, err, errlen)) <
	        0 ||
	    (res = parse_price(cJSON_GetObjectItemCaseSensitive(it, "price"), d, err, errlen)) <
	        0 ||
	    (res = parse_sample(cJSON_GetObjectItemCaseSensitive(it, "sample"), d, err, errlen)) <
	        0 ||
	    (res = parse_snapshot(cJSON_GetObjectItemCaseSensitive(it, "snapshot"), d, err,
	                          errlen)) < 0 ||
	    (res = parse_delta(cJSON_GetObjectItemCaseSensitive(it, "delta"), d, err, errlen)) < 0)
		return res;
	return parse_form(cJSON_GetObjectItemCaseSensitive(it, "form"), d, err, errlen);
}

static int parse_dataset(const cJSON *it, struct catalog_dataset *d, size_t idx, char *err,
                         size_t errlen)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
	const cJSON *cat = cJSON_GetObjectItemCaseSensitive(it, "category");
	const cJSON *scope = cJSON_GetObjectItemCaseSensitive(it, "scope");
	int s = 0, res;

	if (!cJSON_IsString(name) || !*name->valuestring)
		return cat_fail(err, errlen, "catalog: datasets[%zu]: needs a string name", idx);
	d->name = name->valuestring;
	d->category = cJSON_IsString(cat) ? cat->valuestring : "";
	if (scope) {
		if (!cJSON_IsString(scope))
			return cat_fail(err, errlen, "catalog: %s: scope: not a string", d->name);
		s = lookup_name(scope_names, sizeof(scope_names) / sizeof(scope_names[0]),
		                scope->valuestring);
		if (s < 0)
			return cat_fail(
			    err, errlen,
			    "catalog: %s: scope: '%s' is not user, group, site or tenant", d->name,
			    scope->valuestring);
	}
	d->scope = (enum catalog_scope)s;
	if (opt_string(it, "documentedAs", d->name, &d->documented_as) < 0)
		return cat_fail(err, errlen, "catalog: %s: documentedAs: not a string", d->name);
	res = parse_date_filter(cJSON_GetObjectItemCaseSensitive(it, "dateFilter"), d, err, errlen);
	if (res == 0)
		res =
		    parse_columns(cJSON_GetObjectItemCaseSensitive(it, "columns"), d, err, errlen);
	if (res == 0)
		res = parse_rules(it, d, err, errlen);
	return res;
}

/*
 * The price of each dataset's class from the catalog's "prices" table (optional: without
 * it, prices are unknown). Every class the datasets use must have exactly one price.
 */
static int apply_prices(struct catalog *cat, char *err, size_t errlen)
{
	const cJSON *prices = cJSON_GetObjectItemCaseSensitive(cat->root, "prices");
	const cJSON *classes = cJSON_GetObjectItemCaseSensitive(prices, "classes"), *it;
	const char *src = NULL, *as_of = NULL, *official = NULL, *cur = NULL;

	if (!prices || cJSON_IsNull(prices))
		return 0;
	if (!cJSON_IsObject(prices) || opt_string(prices, "source", NULL, &src) < 0 || !src ||
	    !*src || opt_string(prices, "asOf", "", &as_of) < 0 ||
	    opt_string(prices, "official", "", &official) < 0 ||
	    opt_string(prices, "currency", NULL, &cur) < 0 || !cur || strcmp(cur, "USD") != 0 ||
	    !cJSON_IsArray(classes))
		return cat_fail(
		    err, errlen,
		    "catalog: prices: needs currency USD, source and an array of classes");
	for (size_t i = 0; i < cat->n; i++) {
		struct catalog_dataset *d = &cat->ds[i];
		int found = 0;

		if (d->price == CATALOG_PRICE_UNKNOWN)
			continue;
		cJSON_ArrayForEach(it, classes)
		{
			const char *cls = NULL;
			const cJSON *usd = cJSON_GetObjectItemCaseSensitive(it, "usdPerUnit");
			int unit = 0;

			if (opt_string(it, "class", NULL, &cls) < 0 || !cls ||
			    opt_int(it, "unitObjects", 0, 1, PRICE_MAX_UNIT, &unit) < 0 ||
			    !cJSON_IsNumber(usd) || !(usd->valuedouble >= 0) ||
			    usd->valuedouble * 1e6 > (double)CATALOG_MAX_MICRO_USD)
				return cat_fail(
				    err, errlen,
				    "catalog: prices.classes: each needs class, usdPerUnit "
				    "(0 to %llu) and, when billed, unitObjects",
				    CATALOG_MAX_MICRO_USD / 1000000);
			if (strcmp(cls, catalog_price_name(d->price)) != 0 ||
			    (unsigned)unit != d->price_unit)
				continue;
			if (found++)
				return cat_fail(
				    err, errlen,
				    "catalog: prices: class %s of %u objects priced twice", cls,
				    d->price_unit);
			d->price_micro_usd = (unsigned long long)(usd->valuedouble * 1e6 + 0.5);
			d->price_usd_source = src;
			d->price_as_of = as_of;
			d->price_official = official;
		}
		if (!found)
			return cat_fail(err, errlen, "catalog: %s: prices: no price for class %s%s",
			                d->name, catalog_price_name(d->price),
			                d->price_unit ? " of this unit" : "");
	}
	return 0;
}

int catalog_parse(const char *json, size_t len, struct catalog **out, char *err, size_t errlen)
{
	struct catalog *cat = NULL;
	const cJSON *list, *it;
	int res = -EINVAL, n;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (len > CATALOG_MAX_BYTES)
		return -EFBIG;
	cat = calloc(1, sizeof(*cat));
	if (!cat)
		return -ENOMEM;
	cat->root = cJSON_ParseWithLengthOpts(json, len, NULL, 0);
	if (!cat->root) {
		res = cat_fail(err, errlen, "catalog: malformed JSON");
		goto out;
	}
	list = cJSON_GetObjectItemCaseSensitive(cat->root, "datasets");
	n = cJSON_GetArraySize(list);
	if (!cJSON_IsArray(list) || n > CATALOG_MAX_DATASETS) {
		res = cat_fail(err, errlen, "catalog: datasets: not an array of at most %d entries",
		               CATALOG_MAX_DATASETS);
		goto out;
	}
	cat->ds = calloc((size_t)n + 1, sizeof(*cat->ds));
	if (!cat->ds) {
		res = -ENOMEM;
		goto out;
	}
	cJSON_ArrayForEach(it, list)
	{
		struct catalog_dataset *d = &cat->ds[cat->n];

		cat->n++; /* counted first so a half-parsed entry is released */
		res = parse_dataset(it, d, cat->n - 1, err, errlen);
		if (res < 0)
			goto out;
		for (size_t j = 0; j + 1 < cat->n; j++)
			if (strcmp(cat->ds[j].name, d->name) == 0) {
				res = cat_fail(err, errlen, "catalog: %s: listed twice", d->name);
				goto out;
			}
	}
	if ((res = apply_prices(cat, err, errlen)) < 0)
		goto out;
	*out = cat;
	cat = NULL;
	res = 0;
out:
	catalog_free(cat);
	return res;
}

extern const char catalog_json[];
extern const char catalog_json_end[];

static struct catalog *builtin;
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static void builtin_init(void)
{
	char err[256];
	int res = catalog_parse(catalog_json, (size_t)(catalog_json_end - catalog_json), &builtin,
	                        err, sizeof(err));

	if (res < 0)
		log_err("built-in dataset catalog unusable (%s): %s", strerror(-res), err);
}

const struct catalog *catalog_builtin(void)
{
	pthread_once(&builtin_once, builtin_init);
	return builtin;
}

size_t catalog_count(const struct catalog *cat)
{
	return cat ? cat->n : 0;
}

const struct catalog_dataset *catalog_at(const struct catalog *cat, size_t i)
{
	return cat && i < cat->n ? &cat->ds[i] : NULL;
}

/* Does `name` instantiate the name form of `d` (prefix + a query name)? */
static int form_match(const struct catalog_dataset *d, const char *name)
{
	size_t lp = strlen(d->form_prefix), n;

	if (strncmp(name, d->form_prefix, lp) != 0)
		return 0;
	n = strlen(name + lp);
	if (n < 1 || n > CATALOG_QUERY_MAX)
		return 0;
	for (const char *p = name + lp; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			return 0;
	return 1;
}

const struct catalog_dataset *catalog_find(const struct catalog *cat, const char *name)
{
	for (size_t i = 0; cat && name && i < cat->n; i++)
		if (strcmp(cat->ds[i].name, name) == 0)
			return &cat->ds[i];
	for (size_t i = 0; cat && name && i < cat->n; i++)
		if (cat->ds[i].form_prefix && form_match(&cat->ds[i], name))
			return &cat->ds[i];
	return NULL;
}

const struct catalog_column *catalog_column(const struct catalog_dataset *ds, const char *name)
{
	for (size_t i = 0; ds && name && i < ds->n_columns; i++)
		if (strcmp(ds->columns[i].name, name) == 0)
			return &ds->columns[i];
	return NULL;
}

int catalog_column_ok(const struct catalog_dataset *ds, const char *name)
{
	return catalog_column(ds, name) != NULL || (ds && ds->form_prefix && name && *name);
}

int catalog_snapshot_window(const struct catalog_dataset *ds, long long now, long long *first,
                            long long *last)
{
	long long today;

	if (!ds || !ds->retention_days)
		return -EINVAL;
	/* Floor division: the day of a time before 1970 is negative. */
	today = now >= 0 ? now / 86400 : -((-now + 86399) / 86400);
	*first = today - ds->retention_days;
	now -= (long long)ds->available_after_hours * 3600;
	*last = now >= 0 ? now / 86400 : -((-now + 86399) / 86400);
	return 0;
}

const char *catalog_date_column(const struct catalog_dataset *ds, const char *name)
{
	for (size_t i = 0; ds && name && i < ds->n_date_columns; i++)
		if (strcasecmp(ds->date_columns[i], name) == 0)
			return ds->date_columns[i];
	return NULL;
}

/* Names longer than this are never "near" anything; it bounds the work. */
#define NEAREST_MAX_LEN 128

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[NEAREST_MAX_LEN + 1];

	if (la > NEAREST_MAX_LEN || lb > NEAREST_MAX_LEN)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0], ca = (unsigned char)a[i - 1];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], cb = (unsigned char)b[j - 1];
			size_t cost = tolower((int)ca) != tolower((int)cb);
			size_t best = diag + cost;

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* A name that ends in what was typed ("Message_v1") is as good as a typo. */
static int ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return lx >= 3 && lx < ls && strcasecmp(s + ls - lx, suffix) == 0;
}

int catalog_nearest(const char *name, size_t n, const char *(*get)(const void *ctx, size_t i),
                    const void *ctx, char *buf, size_t buflen)
{
	size_t best_d[3] = {(size_t)-1, (size_t)-1, (size_t)-1}, best_i[3] = {0, 0, 0};
	size_t limit = strlen(name) / 3 > 2 ? strlen(name) / 3 : 2, len = 0;
	int found = 0;

	if (buflen)
		buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *cand = get(ctx, i);
		size_t d = ends_with(cand, name) ? 1 : edit_distance(name, cand);

		if (d > limit)
			continue;
		for (int k = 0; k < 3; k++) {
			if (d < best_d[k]) {
				memmove(&best_d[k + 1], &best_d[k],
				        (size_t)(2 - k) * sizeof(best_d[0]));
				memmove(&best_i[k + 1], &best_i[k],
				        (size_t)(2 - k) * sizeof(best_i[0]));
				best_d[k] = d;
				best_i[k] = i;
				break;
			}
		}
	}
	/* Only the nearest (ties included): a second-best guess is noise. */
	for (int k = 0; k < 3 && best_d[k] != (size_t)-1 && best_d[k] == best_d[0]; k++) {
		int w = snprintf(buf + len, buflen - len, "%s'%s'", k ? " or " : "",
		                 get(ctx, best_i[k]));

		if (w < 0 || (size_t)w >= buflen - len)
			break;
		len += (size_t)w;
		found++;
	}
	return found;
}

static const char *get_dataset_name(const void *ctx, size_t i)
{
	return ((const struct catalog *)ctx)->ds[i].name;
}

static const char *get_column_name(const void *ctx, size_t i)
{
	return ((const struct catalog_dataset *)ctx)->columns[i].name;
}

int catalog_suggest(const struct catalog *cat, const char *name, char *buf, size_t n)
{
	return catalog_nearest(name, catalog_count(cat), get_dataset_name, cat, buf, n);
}

int catalog_suggest_column(const struct catalog_dataset *ds, const char *name, char *buf, size_t n)
{
	return catalog_nearest(name, ds ? ds->n_columns : 0, get_column_name, ds, buf, n);
}

int catalog_sample_list(const struct catalog *cat, char *buf, size_t n)
{
	size_t o = 0;
	int count = 0;

	if (n)
		buf[0] = '\0';
	for (size_t i = 0; cat && i < cat->n; i++) {
		int w;

		if (!cat->ds[i].sample)
			continue;
		w = o < n ? snprintf(buf + o, n - o, "%s%s", count ? ", " : "", cat->ds[i].name)
		          : 0;
		count++;
		if (w > 0 && o + (size_t)w < n)
			o += (size_t)w;
		else if (n)
			o = n; /* full: keep what fits, count the rest */
	}
	return count;
}

static cJSON *string_array(const char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a && i < n; i++)
		if (!cJSON_AddItemToArray(a, cJSON_CreateString(v[i]))) {
			cJSON_Delete(a);
			return NULL;
		}
	return a;
}

static int render_columns(cJSON *o, const struct catalog_dataset *ds)
{
	cJSON *cols = cJSON_AddArrayToObject(o, "columns");

	for (size_t i = 0; cols && i < ds->n_columns; i++) {
		const struct catalog_column *col = &ds->columns[i];
		cJSON *c = cJSON_CreateObject();

		if (!cJSON_AddItemToArray(cols, c) ||
		    !cJSON_AddStringToObject(c, "name", col->name) ||
		    !cJSON_AddStringToObject(c, "type", catalog_type_name(col->type)) ||
		    !cJSON_AddBoolToObject(c, "filterable", col->filterable) ||
		    (*col->format && !cJSON_AddStringToObject(c, "format", col->format)))
			return -ENOMEM;
	}
	return cols ? 0 : -ENOMEM;
}

/* snapshot, delta, form, price and source: only what the dataset has. */
static int render_rules(cJSON *o, const struct catalog_dataset *ds)
{
	cJSON *x;

	if (ds->retention_days &&
	    (!(x = cJSON_AddObjectToObject(o, "snapshot")) ||
	     !cJSON_AddNumberToObject(x, "availableAfterHours", ds->available_after_hours) ||
	     !cJSON_AddNumberToObject(x, "retentionDays", ds->retention_days)))
		return -ENOMEM;
	if (ds->delta != CATALOG_DELTA_NA &&
	    (!(x = cJSON_AddObjectToObject(o, "delta")) ||
	     !cJSON_AddBoolToObject(x, "supported", ds->delta == CATALOG_DELTA_YES) ||
	     (ds->delta == CATALOG_DELTA_YES &&
	      !cJSON_AddItemToObject(x, "key", string_array(ds->delta_key, ds->n_delta_key))) ||
	     (ds->delta == CATALOG_DELTA_NO &&
	      !cJSON_AddStringToObject(x, "reason", ds->no_delta_reason))))
		return -ENOMEM;
	if (ds->form_prefix &&
	    (!(x = cJSON_AddObjectToObject(o, "form")) ||
	     !cJSON_AddStringToObject(x, "prefix", ds->form_prefix) ||
	     !cJSON_AddStringToObject(x, "openColumns", catalog_type_name(ds->open_type))))
		return -ENOMEM;
	if (ds->price != CATALOG_PRICE_UNKNOWN &&
	    (!(x = cJSON_AddObjectToObject(o, "price")) ||
	     !cJSON_AddStringToObject(x, "class", catalog_price_name(ds->price)) ||
	     (ds->price_unit && !cJSON_AddNumberToObject(x, "unitObjects", ds->price_unit)) ||
	     !cJSON_AddStringToObject(x, "source", ds->price_source) ||
	     (*ds->price_usd_source &&
	      (!cJSON_AddNumberToObject(x, "usdPerUnit", (double)ds->price_micro_usd / 1e6) ||
	       !cJSON_AddStringToObject(x, "usdSource", ds->price_usd_source) ||
	       !cJSON_AddStringToObject(x, "usdAsOf", ds->price_as_of) ||
	       !cJSON_AddStringToObject(x, "usdOfficial", ds->price_official)))))
		return -ENOMEM;
	if (ds->sample && (!(x = cJSON_AddObjectToObject(o, "sample")) ||
	                   !cJSON_AddTrueToObject(x, "supported") ||
	                   !cJSON_AddStringToObject(x, "source", ds->sample_source)))
		return -ENOMEM;
	if (*ds->source_repo && (!(x = cJSON_AddObjectToObject(o, "source")) ||
	                         !cJSON_AddStringToObject(x, "repository", ds->source_repo) ||
	                         !cJSON_AddStringToObject(x, "path", ds->source_path) ||
	                         !cJSON_AddStringToObject(x, "commit", ds->source_commit)))
		return -ENOMEM;
	return 0;
}

char *catalog_render(const struct catalog_dataset *ds)
{
	cJSON *o = cJSON_CreateObject(), *df, *kinds;
	const char *const *k = catalog_scope_kinds(ds->scope);
	size_t nk = 0;
	char *res = NULL;

	while (k[nk])
		nk++;
	if (!o || !cJSON_AddStringToObject(o, "name", ds->name) ||
	    !cJSON_AddStringToObject(o, "documentedAs", ds->documented_as) ||
	    !cJSON_AddStringToObject(o, "category", ds->category) ||
	    !cJSON_AddStringToObject(o, "scope", catalog_scope_name(ds->scope)))
		goto out;
	kinds = string_array(k, nk);
	if (!cJSON_AddItemToObject(o, "scopeKinds", kinds))
		goto out;
	df = cJSON_AddObjectToObject(o, "dateFilter");
	if (!df || !cJSON_AddBoolToObject(df, "required", ds->date_required) ||
	    !cJSON_AddItemToObject(df, "columns",
	                           string_array(ds->date_columns, ds->n_date_columns)) ||
	    !cJSON_AddBoolToObject(df, "windowOnly", ds->window_only))
		goto out;
	if (render_rules(o, ds) < 0 || render_columns(o, ds) < 0)
		goto out;
	res = text_json(o, NULL);
out:
	cJSON_Delete(o);
	return res;
}
