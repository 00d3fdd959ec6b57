/*
 * test_cost.c - fs/cost: units, dollars and the cost documents of a run.
 *
 * The expectations are worked out by hand from the billing rules the Data
 * Connect FAQ states (units of 1,000 objects, or 50,000 for SharePoint Files;
 * each run rounded up on its own; the FAQ's own example of 20 runs of 500
 * rows billed as 20 units) and the catalog's price of $0.75 a unit, not
 * computed the way cost.c computes them.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/catalog.h"
#include "fs/cost.h"
#include "tap.h"

static const struct catalog_dataset sites = {
    .name = "BasicDataSet_v0.SharePointSites_v1",
    .price = CATALOG_PRICE_BILLED,
    .price_unit = 1000,
    .price_source = "faq",
    .price_micro_usd = 750000,
    .price_usd_source = "https://example.test/prices",
    .price_as_of = "2024-03-04",
    .price_official = "https://example.test/official",
    .sample = 1,
    .sample_source = "blog",
};

static double num(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItem(o, a);

	if (b)
		v = cJSON_GetObjectItem(v, b);
	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static void test_units(void)
{
	unsigned long long twenty = 0;

	TAP_EQ_INT(cost_units(0, 1000), 0, "0 objects: 0 units");
	TAP_EQ_INT(cost_units(1, 1000), 1, "1 object: 1 unit (rounded up)");
	TAP_EQ_INT(cost_units(999, 1000), 1, "999 objects: 1 unit");
	TAP_EQ_INT(cost_units(1000, 1000), 1, "1,000 objects: 1 unit");
	TAP_EQ_INT(cost_units(1001, 1000), 2, "1,001 objects: 2 units");
	TAP_EQ_INT(cost_units(49999, 50000), 1, "SharePoint Files: 49,999 objects, 1 unit");
	TAP_EQ_INT(cost_units(50001, 50000), 2, "SharePoint Files: 50,001 objects, 2 units");
	TAP_EQ_INT(cost_units(123456789, 0), 0, "a free class: 0 units whatever the count");
	TAP_OK(cost_units(ULLONG_MAX, 1000) == ULLONG_MAX / 1000 + 1,
	       "the largest count rounds up without overflow");
	for (int i = 0; i < 20; i++)
		twenty += cost_units(500, 1000);
	TAP_EQ_INT(twenty, 20, "the FAQ: 20 runs of 500 rows are 20 units, not 10");
	TAP_EQ_INT(cost_micro_usd(3, 750000), 2250000, "3 units at $0.75: $2.25");
	TAP_EQ_INT(cost_micro_usd(1234567, 750000), 925925250000LL,
	           "1,234,567 units at $0.75: $925,925.25 exactly");
	TAP_OK(cost_micro_usd(ULLONG_MAX / 2, 750000) == ULLONG_MAX, "saturates, never wraps");
	TAP_EQ_INT(cost_micro_usd(5, 0), 0, "a free class costs nothing");
}

static cJSON *parse(const char *s)
{
	cJSON *j = cJSON_Parse(s);

	if (!j)
		printf("# bad test JSON: %s\n", s);
	return j;
}

static void test_meta(void)
{
	struct cost_meta m;
	cJSON *docs;

	docs = parse("[{\"NumberOfRowsExtracted\": 1, \"TotalRowCount\": 1024, \"TableName\": "
	             "\"BasicDataSet_v0.SharePointSites_v1\", \"ExtractionMode\": \"Full\"}]");
	TAP_EQ_INT(cost_meta_of(docs, &m), 0, "one JobMetadata document");
	TAP_OK(m.rows == 1 && m.total == 1024 && m.has_total && m.files == 1 &&
	           strcmp(m.table, "BasicDataSet_v0.SharePointSites_v1") == 0 &&
	           strcmp(m.mode, "Full") == 0,
	       "  rows, total, table and mode");
	cJSON_Delete(docs);
	docs = parse("[{\"NumberOfRowsExtracted\": 400, \"TotalRowCount\": 400}, "
	             "{\"NumberOfRowsExtracted\": \"601\", \"TotalRowCount\": 601}]");
	TAP_EQ_INT(cost_meta_of(docs, &m), 0, "two documents, one count given as text");
	TAP_OK(m.rows == 1001 && m.total == 1001 && m.files == 2, "  summed: 1,001 rows");
	cJSON_Delete(docs);
	docs = parse("[{\"NumberOfRowsExtracted\": 7}]");
	TAP_EQ_INT(cost_meta_of(docs, &m), 0, "no TotalRowCount (older or non-sampling jobs)");
	TAP_OK(m.rows == 7 && !m.has_total && m.total == 0, "  the total is unknown, not 0");
	cJSON_Delete(docs);
	docs = parse("[]");
	TAP_EQ_INT(cost_meta_of(docs, &m), 0, "no document");
	TAP_OK(m.files == 0 && !m.has_total, "  nothing counted");
	cJSON_Delete(docs);
	static const char *const bad[] = {
	    "[{}]",
	    "[{\"NumberOfRowsExtracted\": -1}]",
	    "[{\"NumberOfRowsExtracted\": 1.5}]",
	    "[{\"NumberOfRowsExtracted\": 1e300}]",
	    "[{\"NumberOfRowsExtracted\": \"12x\"}]",
	    "[{\"NumberOfRowsExtracted\": \"\"}]",
	    "[{\"NumberOfRowsExtracted\": true}]",
	    "[{\"NumberOfRowsExtracted\": 5, \"TotalRowCount\": 4}]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		docs = parse(bad[i]);
		TAP_EQ_INT(cost_meta_of(docs, &m), -EINVAL, "refused: %s", bad[i]);
		cJSON_Delete(docs);
	}
}

/* The cost document of a run of `ds` with metadata `meta` (NULL: none) and sample `top`. */
static cJSON *doc_of(const struct catalog_dataset *ds, const char *status, const char *meta,
                     long long top)
{
	struct cost_meta m;
	struct cost_run r = {.run_id = "r1",
	                     .status = status,
	                     .dataset = ds->name,
	                     .sample = top,
	                     .meta_dir = "exports/spa/x/r1/metadata/JobMetadata/"};
	cJSON *docs = meta ? parse(meta) : NULL, *o = cJSON_CreateObject();

	if (docs && cost_meta_of(docs, &m) == 0)
		r.meta = &m;
	if (cost_add_run(o, ds, &r) != 0) {
		cJSON_Delete(o);
		o = NULL;
	}
	/* cost_add_run copies what it needs: the documents can go. */
	cJSON_Delete(docs);
	return o;
}

static void test_doc(void)
{
	struct catalog_dataset free_ds = sites, unpriced = sites, files = sites;
	cJSON *o;

	o = doc_of(&sites, "Succeeded", "[{\"NumberOfRowsExtracted\": 1, \"TotalRowCount\": 1024}]",
	           1);
	TAP_OK(o != NULL, "a sampled run's cost document");
	TAP_OK(num(o, "rowsExtracted", NULL) == 1 && num(o, "totalRows", NULL) == 1024 &&
	           num(o, "sample", NULL) == 1,
	       "  rows extracted 1, total 1,024, sample 1");
	TAP_OK(num(o, "billed", "objects") == 1 && num(o, "billed", "units") == 1 &&
	           num(o, "billed", "usd") == 0.75,
	       "  the sample is billed as any run: 1 unit, $0.75");
	TAP_OK(num(o, "estimate", "objects") == 1024 && num(o, "estimate", "units") == 2 &&
	           num(o, "estimate", "usd") == 1.5,
	       "  the full run: 1,024 objects, 2 units, $1.50");
	TAP_OK(
	    num(o, "price", "usdPerUnit") == 0.75 && num(o, "price", "unitObjects") == 1000 &&
	        strcmp(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "price"), "source")->valuestring,
	               "https://example.test/prices") == 0 &&
	        cJSON_GetObjectItem(cJSON_GetObjectItem(o, "price"), "note") &&
	        strstr(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "price"), "note")->valuestring,
	               "may change"),
	    "  the price, its source, and that it may change");
	TAP_OK(!cJSON_GetObjectItem(o, "note"), "  nothing unknown: no note");
	cJSON_Delete(o);

	o = doc_of(&sites, "Succeeded",
	           "[{\"NumberOfRowsExtracted\": 2500, \"TotalRowCount\": 2500}]", 0);
	TAP_OK(o && num(o, "billed", "units") == 3 && num(o, "billed", "usd") == 2.25 &&
	           !cJSON_GetObjectItem(o, "estimate") && !cJSON_GetObjectItem(o, "sample"),
	       "a full run of 2,500 objects: 3 units, $2.25, no estimate");
	cJSON_Delete(o);

	files.price_unit = 50000;
	o = doc_of(&files, "Succeeded",
	           "[{\"NumberOfRowsExtracted\": 1, \"TotalRowCount\": 120000}]", 1);
	TAP_OK(o && num(o, "estimate", "units") == 3 && num(o, "estimate", "usd") == 2.25,
	       "SharePoint Files: 120,000 objects are 3 units of 50,000, $2.25");
	cJSON_Delete(o);

	free_ds.price = CATALOG_PRICE_FREE;
	free_ds.price_unit = 0;
	free_ds.price_micro_usd = 0;
	o = doc_of(&free_ds, "Succeeded", "[{\"NumberOfRowsExtracted\": 5000}]", 0);
	TAP_OK(o && num(o, "billed", "units") == 0 && num(o, "billed", "usd") == 0 &&
	           !cJSON_GetObjectItem(cJSON_GetObjectItem(o, "price"), "unitObjects"),
	       "a free dataset: 5,000 objects, 0 units, $0");
	TAP_OK(cJSON_IsNull(cJSON_GetObjectItem(o, "totalRows")), "  no TotalRowCount: null");
	cJSON_Delete(o);

	unpriced.price_usd_source = "";
	o = doc_of(&unpriced, "Succeeded", "[{\"NumberOfRowsExtracted\": 10}]", 0);
	TAP_OK(o && num(o, "billed", "units") == 1 &&
	           cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "billed"), "usd")) &&
	           cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "price"), "usdPerUnit")),
	       "no price for the class: units counted, dollars null (unknown, not free)");
	cJSON_Delete(o);

	o = doc_of(&sites, "Succeeded", "[{\"NumberOfRowsExtracted\": 1}]", 1);
	TAP_OK(o && cJSON_IsNull(cJSON_GetObjectItem(o, "estimate")) &&
	           strstr(cJSON_GetObjectItem(o, "note")->valuestring, "cannot be estimated"),
	       "a sample without TotalRowCount: no estimate, and why");
	cJSON_Delete(o);

	o = doc_of(&sites, "InProgress", NULL, 1);
	TAP_OK(o && cJSON_IsNull(cJSON_GetObjectItem(o, "rowsExtracted")) &&
	           cJSON_IsNull(cJSON_GetObjectItem(o, "billed")) &&
	           cJSON_IsNull(cJSON_GetObjectItem(o, "estimate")) &&
	           strstr(cJSON_GetObjectItem(o, "note")->valuestring, "has succeeded"),
	       "a run in progress: nulls and a note");
	cJSON_Delete(o);

	{
		struct cost_run r = {.run_id = "r1",
		                     .status = "Succeeded",
		                     .dataset = sites.name,
		                     .why = "no storage account"};

		o = cJSON_CreateObject();
		TAP_OK(o && cost_add_run(o, &sites, &r) == 0 &&
		           cJSON_IsNull(cJSON_GetObjectItem(o, "billed")) &&
		           strcmp(cJSON_GetObjectItem(o, "note")->valuestring,
		                  "no storage account") == 0,
		       "JobMetadata that cannot be read: nulls, and the caller's reason");
		cJSON_Delete(o);
	}
	o = doc_of(&sites, "Succeeded", "[]", 0);
	TAP_OK(o && cJSON_IsNull(cJSON_GetObjectItem(o, "billed")) &&
	           strstr(cJSON_GetObjectItem(o, "note")->valuestring, "no JobMetadata"),
	       "a folder without JobMetadata: nothing billed is claimed");
	cJSON_Delete(o);
}

int main(void)
{
	test_units();
	test_meta();
	test_doc();
	return tap_done();
}
