/*
 * cost.c - the cost of a run and the estimate of a full one (cost.h).
 *
 * Design decision: every amount is an integer count of objects, units or
 * millionths of a dollar until the document is written, so a bill of
 * 1,234,567 units at $0.75 is exact; the USD figure is the only double, made
 * once at the end. Counts come from the JobMetadata MGDC writes beside the
 * data (what it bills), never from counting the lines of the files.
 */
#include "fs/cost.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Largest count a JSON number carries exactly (2^53). */
#define COUNT_MAX 9007199254740992.0

/* A whole count from a number, or from its text (some writers quote counts). */
static int count_of(const cJSON *v, unsigned long long *out)
{
	double d;
	char *end;

	if (cJSON_IsString(v) && v->valuestring[0] >= '0' && v->valuestring[0] <= '9' &&
	    strlen(v->valuestring) <= 16) {
		unsigned long long n = strtoull(v->valuestring, &end, 10);

		if (*end || (double)n > COUNT_MAX)
			return -EINVAL;
		*out = n;
		return 0;
	}
	if (!cJSON_IsNumber(v))
		return -EINVAL;
	d = v->valuedouble;
	if (!(d >= 0 && d <= COUNT_MAX) || d != (double)(unsigned long long)d)
		return -EINVAL;
	*out = (unsigned long long)d;
	return 0;
}

static unsigned long long add_sat(unsigned long long a, unsigned long long b)
{
	return a > ULLONG_MAX - b ? ULLONG_MAX : a + b;
}

static const char *str_of(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

int cost_meta_of(const cJSON *docs, struct cost_meta *m)
{
	const cJSON *it;

	memset(m, 0, sizeof(*m));
	m->has_total = 1;
	cJSON_ArrayForEach(it, docs)
	{
		unsigned long long rows, total;

		if (count_of(cJSON_GetObjectItemCaseSensitive(it, "NumberOfRowsExtracted"), &rows) <
		    0)
			return -EINVAL;
		m->rows = add_sat(m->rows, rows);
		if (count_of(cJSON_GetObjectItemCaseSensitive(it, "TotalRowCount"), &total) == 0) {
			if (total < rows)
				return -EINVAL;
			m->total = add_sat(m->total, total);
		} else {
			m->has_total = 0;
		}
		if (!m->files++) {
			m->table = str_of(it, "TableName");
			m->mode = str_of(it, "ExtractionMode");
		}
	}
	if (!m->files || !m->has_total) {
		m->has_total = 0;
		m->total = 0;
	}
	return 0;
}

unsigned long long cost_units(unsigned long long objects, unsigned unit_objects)
{
	if (!unit_objects)
		return 0;
	return objects / unit_objects + (objects % unit_objects != 0);
}

unsigned long long cost_micro_usd(unsigned long long units, unsigned long long micro_usd_per_unit)
{
	if (micro_usd_per_unit && units > ULLONG_MAX / micro_usd_per_unit)
		return ULLONG_MAX;
	return units * micro_usd_per_unit;
}

/* {"objects", "units", "usd"} of `objects` objects of dataset `ds`, added to `o` as `key`. */
static int add_bill(cJSON *o, const char *key, const struct catalog_dataset *ds,
                    unsigned long long objects)
{
	unsigned long long units = cost_units(objects, ds->price_unit);
	cJSON *b = cJSON_AddObjectToObject(o, key);

	if (!b || !cJSON_AddNumberToObject(b, "objects", (double)objects) ||
	    !cJSON_AddNumberToObject(b, "units", (double)units))
		return -ENOMEM;
	if (ds->price == CATALOG_PRICE_UNKNOWN || !*ds->price_usd_source)
		return cJSON_AddNullToObject(b, "usd") ? 0 : -ENOMEM;
	return cJSON_AddNumberToObject(b, "usd",
	                               (double)cost_micro_usd(units, ds->price_micro_usd) / 1e6)
	           ? 0
	           : -ENOMEM;
}

static int add_price(cJSON *o, const struct catalog_dataset *ds)
{
	cJSON *p = cJSON_AddObjectToObject(o, "price");
	int known = ds->price != CATALOG_PRICE_UNKNOWN && *ds->price_usd_source;

	if (!p || !cJSON_AddStringToObject(p, "class", catalog_price_name(ds->price)))
		return -ENOMEM;
	if (ds->price_unit && !cJSON_AddNumberToObject(p, "unitObjects", ds->price_unit))
		return -ENOMEM;
	if (!(known ? cJSON_AddNumberToObject(p, "usdPerUnit", (double)ds->price_micro_usd / 1e6)
	            : cJSON_AddNullToObject(p, "usdPerUnit")) ||
	    !cJSON_AddStringToObject(p, "rounding",
	                             ds->price == CATALOG_PRICE_FREE
	                                 ? "free: no charge for the objects of this dataset"
	                                 : "each run is billed on its own: its objects are "
	                                   "rounded up to whole units"))
		return -ENOMEM;
	if (known && (!cJSON_AddStringToObject(p, "source", ds->price_usd_source) ||
	              !cJSON_AddStringToObject(p, "asOf", ds->price_as_of) ||
	              !cJSON_AddStringToObject(p, "official", ds->price_official) ||
	              !cJSON_AddStringToObject(p, "note",
	                                       "published list prices; they may change, and "
	                                       "agreements or other regions may price "
	                                       "differently: the official page has the "
	                                       "current price")))
		return -ENOMEM;
	return cJSON_AddStringToObject(p, "classSource", ds->price_source) ? 0 : -ENOMEM;
}

static int add_str_or_null(cJSON *o, const char *k, const char *v)
{
	return (v ? cJSON_AddStringToObject(o, k, v) : cJSON_AddNullToObject(o, k)) ? 0 : -ENOMEM;
}

/* Why the figures are missing, in words, or NULL when nothing is. */
static const char *note_of(const struct cost_run *r)
{
	if (!r->meta && r->why)
		return r->why;
	if (!r->meta)
		return r->status && strcmp(r->status, "Succeeded") != 0
		           ? "no JobMetadata yet: the figures appear when the run has succeeded"
		           : "no JobMetadata found in the run's folder";
	if (!r->meta->files)
		return "the run's folder holds no JobMetadata: nothing to count";
	if (r->sample && !r->meta->has_total)
		return "the JobMetadata gives no TotalRowCount: the full run cannot be estimated";
	return NULL;
}

int cost_add_run(cJSON *o, const struct catalog_dataset *ds, const struct cost_run *r)
{
	const struct cost_meta *m = r->meta && r->meta->files ? r->meta : NULL;
	const char *note = note_of(r);
	int res;

	if ((res = add_str_or_null(o, "runId", r->run_id)) < 0 ||
	    (res = add_str_or_null(o, "status", r->status)) < 0 ||
	    (r->message && (res = add_str_or_null(o, "message", r->message)) < 0) ||
	    (res = add_str_or_null(o, "dataset", r->dataset)) < 0)
		return res;
	if (r->sample && !cJSON_AddNumberToObject(o, "sample", (double)r->sample))
		return -ENOMEM;
	if (!(m ? cJSON_AddNumberToObject(o, "rowsExtracted", (double)m->rows)
	        : cJSON_AddNullToObject(o, "rowsExtracted")) ||
	    !(m && m->has_total ? cJSON_AddNumberToObject(o, "totalRows", (double)m->total)
	                        : cJSON_AddNullToObject(o, "totalRows")))
		return -ENOMEM;
	if (m && m->mode && !cJSON_AddStringToObject(o, "extractionMode", m->mode))
		return -ENOMEM;
	if (m ? (res = add_bill(o, "billed", ds, m->rows)) < 0
	      : !cJSON_AddNullToObject(o, "billed"))
		return m ? res : -ENOMEM;
	if (r->sample) {
		if (m && m->has_total ? (res = add_bill(o, "estimate", ds, m->total)) < 0
		                      : !cJSON_AddNullToObject(o, "estimate"))
			return m && m->has_total ? res : -ENOMEM;
	}
	if ((res = add_price(o, ds)) < 0 ||
	    (res = add_str_or_null(o, "jobMetadata", r->meta_dir)) < 0)
		return res;
	return note && !cJSON_AddStringToObject(o, "note", note) ? -ENOMEM : 0;
}
