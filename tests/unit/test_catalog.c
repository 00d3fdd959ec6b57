/*
 * test_catalog.c - fs/catalog against a fixture catalog and the embedded one.
 *
 * The source of truth is the JSON text itself, read here with cJSON
 * directly: every dataset and column the module reports must be the one in
 * the file, in the same order, with the same type. Run from the repo root.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/catalog.h"
#include "spec_fixtures.h"
#include "tap.h"

#define FIXTURE FIX "catalog.json"
#define SHARED  "scripts/sandbox.d/catalog.json"

static const char *jstr(const cJSON *o, const char *a, const char *b, const char *dflt)
{
	const cJSON *v = cJSON_GetObjectItem(o, a);

	if (b)
		v = cJSON_GetObjectItem(v, b);
	return cJSON_IsString(v) ? v->valuestring : dflt;
}

static double jnum(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(o, a), b);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* The rules of dataset `d` (source, price, snapshot, delta, form) are those of entry `it`. */
static int rules_differ(const struct catalog_dataset *d, const cJSON *it)
{
	const cJSON *delta = cJSON_GetObjectItem(it, "delta");
	const cJSON *key = cJSON_GetObjectItem(delta, "key");
	int bad =
	    strcmp(d->documented_as, jstr(it, "documentedAs", NULL, d->name)) != 0 ||
	    strcmp(d->source_repo, jstr(it, "source", "repository", "")) != 0 ||
	    strcmp(d->source_path, jstr(it, "source", "path", "")) != 0 ||
	    strcmp(d->source_commit, jstr(it, "source", "commit", "")) != 0 ||
	    strcmp(catalog_price_name(d->price), jstr(it, "price", "class", "unknown")) != 0 ||
	    d->price_unit != jnum(it, "price", "unitObjects") ||
	    strcmp(d->price_source, jstr(it, "price", "source", "")) != 0 ||
	    d->sample !=
	        cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(it, "sample"), "supported")) ||
	    strcmp(d->sample_source, d->sample ? jstr(it, "sample", "source", "") : "") != 0 ||
	    d->available_after_hours != jnum(it, "snapshot", "availableAfterHours") ||
	    d->retention_days != jnum(it, "snapshot", "retentionDays") ||
	    (d->form_prefix ? strcmp(d->form_prefix, jstr(it, "form", "prefix", "")) != 0 ||
	                          strcmp(catalog_type_name(d->open_type),
	                                 jstr(it, "form", "openColumns", "")) != 0
	                    : cJSON_GetObjectItem(it, "form") != NULL);

	if (!delta)
		return bad || d->delta != CATALOG_DELTA_NA;
	if (cJSON_IsFalse(cJSON_GetObjectItem(delta, "supported")))
		return bad || d->delta != CATALOG_DELTA_NO ||
		       strcmp(d->no_delta_reason, jstr(delta, "reason", NULL, "")) != 0;
	bad |= d->delta != CATALOG_DELTA_YES || d->n_delta_key != (size_t)cJSON_GetArraySize(key);
	for (size_t k = 0; !bad && k < d->n_delta_key; k++)
		bad |= strcmp(d->delta_key[k], cJSON_GetArrayItem(key, (int)k)->valuestring) != 0;
	return bad;
}

/*
 * The price in millionths of a dollar that the file's "prices" table gives the class of
 * entry `it`, read independently of catalog.c; 0 when the file has none.
 */
static unsigned long long file_price(const cJSON *root, const cJSON *it)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, cJSON_GetObjectItem(cJSON_GetObjectItem(root, "prices"), "classes"))
	{
		const cJSON *unit = cJSON_GetObjectItem(c, "unitObjects");

		if (strcmp(jstr(c, "class", NULL, ""), jstr(it, "price", "class", "?")) == 0 &&
		    (unit ? unit->valuedouble : 0) == jnum(it, "price", "unitObjects"))
			return (
			    unsigned long long)(cJSON_GetObjectItem(c, "usdPerUnit")->valuedouble *
			                            1e6 +
			                        0.5);
	}
	return 0;
}

/* Every dataset of `cat` matches the entry of the JSON file, field for field. */
static void compare_with_file(const struct catalog *cat, const char *path, const char *label)
{
	size_t len = 0, i = 0, bad = 0;
	char *text = fixture_read(path, &len);
	cJSON *root = text ? cJSON_Parse(text) : NULL, *it;

	TAP_OK(root != NULL, "%s: the file parses independently", label);
	TAP_EQ_INT(catalog_count(cat), cJSON_GetArraySize(cJSON_GetObjectItem(root, "datasets")),
	           "%s: same number of datasets", label);
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(root, "datasets"))
	{
		const struct catalog_dataset *d = catalog_at(cat, i++);
		cJSON *cols = cJSON_GetObjectItem(it, "columns"), *c;
		cJSON *df = cJSON_GetObjectItem(it, "dateFilter");
		size_t k = 0;

		if (!d || strcmp(d->name, cJSON_GetObjectItem(it, "name")->valuestring) != 0 ||
		    catalog_find(cat, d->name) != d ||
		    d->date_required != cJSON_IsTrue(cJSON_GetObjectItem(df, "required")) ||
		    d->window_only != cJSON_IsTrue(cJSON_GetObjectItem(df, "windowOnly")) ||
		    strcmp(catalog_scope_name(d->scope),
		           cJSON_GetObjectItem(it, "scope")->valuestring) != 0 ||
		    !d->columns || rules_differ(d, it) ||
		    d->price_micro_usd != file_price(root, it) ||
		    strcmp(d->price_usd_source, d->price == CATALOG_PRICE_UNKNOWN
		                                    ? ""
		                                    : jstr(root, "prices", "source", "")) != 0 ||
		    (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(df, "columns")) !=
		        d->n_date_columns) {
			bad++;
			continue;
		}
		cJSON_ArrayForEach(c, cols)
		{
			const struct catalog_column *cc = &d->columns[k++];

			if (strcmp(cc->name, cJSON_GetObjectItem(c, "name")->valuestring) != 0 ||
			    strcmp(catalog_type_name(cc->type),
			           cJSON_GetObjectItem(c, "type")->valuestring) != 0 ||
			    cc->filterable != cJSON_IsTrue(cJSON_GetObjectItem(c, "filterable")) ||
			    strcmp(cc->format, jstr(c, "format", NULL, "")) != 0)
				bad++;
		}
		if (k != d->n_columns)
			bad++;
	}
	TAP_EQ_INT(bad, 0, "%s: every dataset and column matches the file", label);
	cJSON_Delete(root);
	free(text);
}

/* catalog/<name>.json of dataset `name`, parsed (NULL if anything fails). */
static cJSON *rendered(const struct catalog *cat, const char *name)
{
	char *r = catalog_render(catalog_find(cat, name));
	cJSON *j = r ? cJSON_Parse(r) : NULL;

	free(r);
	return j;
}

/* Snapshot window, delta and name-form rules of the fixture. */
static void test_fixture_rules(const struct catalog *cat)
{
	const struct catalog_dataset *sites =
	    catalog_find(cat, "BasicDataSet_v0.SharePointSites_v1");
	const struct catalog_dataset *fa =
	    catalog_find(cat, "BasicDataSet_v0.SharePointFileActions_v1");
	const struct catalog_dataset *sync =
	    catalog_find(cat, "BasicDataSet_v0.OneDriveSyncHealth_v1");
	const struct catalog_dataset *rep =
	    catalog_find(cat, "VivaInsightsDataset_Report_v1_Week-1_a");
	long long first = 0, last = 0;
	/* 2026-11-10 00:00:00, 23:59:59 and 2026-11-10 12:00 UTC; day 20767 is 2026-11-10. */
	const long long midnight = 1794268800LL, late = midnight + 86399, noon = midnight + 43200;

	TAP_OK(sites && sites->delta == CATALOG_DELTA_YES && sites->n_delta_key == 1 &&
	           strcmp(sites->delta_key[0], "Id") == 0,
	       "Sites: delta keyed by Id");
	TAP_OK(sites && sites->price == CATALOG_PRICE_BILLED && sites->price_unit == 1000,
	       "Sites: billed per 1,000 objects");
	TAP_OK(catalog_find(cat, "BasicDataSet_v0.User_v1")->price == CATALOG_PRICE_FREE,
	       "User_v1: free");
	TAP_OK(sites && sites->price_micro_usd == 750000 &&
	           strcmp(sites->price_usd_source, "https://example.test/prices") == 0 &&
	           strcmp(sites->price_as_of, "2024-03-04") == 0 &&
	           strcmp(sites->price_official, "https://example.test/official") == 0,
	       "Sites: $0.75 per unit, from the prices table with its source and date");
	TAP_OK(catalog_find(cat, "BasicDataSet_v0.User_v1")->price_micro_usd == 0 &&
	           *catalog_find(cat, "BasicDataSet_v0.User_v1")->price_usd_source,
	       "User_v1: priced, at nothing");
	TAP_OK(sites && sites->sample &&
	           strcmp(sites->sample_source, "https://example.test/sampling") == 0 && fa &&
	           fa->sample && sync && !sync->sample && !*sync->sample_source &&
	           !catalog_find(cat, "BasicDataSet_v0.Message_v1")->sample,
	       "sampling: Sites and FileActions, not OneDrive sync health or Message");
	{
		char list[200];

		TAP_EQ_INT(catalog_sample_list(cat, list, sizeof(list)), 2, "two datasets sample");
		TAP_EQ_STR(list,
		           "BasicDataSet_v0.SharePointSites_v1, "
		           "BasicDataSet_v0.SharePointFileActions_v1",
		           "  listed in catalog order");
		TAP_EQ_INT(catalog_sample_list(cat, list, 20), 2,
		           "a short buffer still counts both");
		TAP_EQ_INT((long long)strlen(list), 19, "  and holds what fits");
	}
	TAP_EQ_INT(catalog_snapshot_window(sites, noon, &first, &last), 0,
	           "Sites: snapshot window");
	TAP_EQ_INT(first, 20767 - 21, "  first date kept: 21 days back");
	TAP_EQ_INT(last, 20767 - 2, "  last date available: 48 hours back");
	catalog_snapshot_window(sites, midnight, &first, &last);
	TAP_OK(first == 20767 - 21 && last == 20767 - 2, "  at midnight, the same dates");
	catalog_snapshot_window(sites, late, &first, &last);
	TAP_OK(first == 20767 - 21 && last == 20767 - 2, "  at 23:59:59, the same dates");
	catalog_snapshot_window(sites, midnight - 1, &first, &last);
	TAP_OK(first == 20766 - 21 && last == 20766 - 2,
	       "  a second before midnight: a day earlier");
	TAP_EQ_INT(catalog_snapshot_window(catalog_find(cat, "BasicDataSet_v0.Message_v1"), noon,
	                                   &first, &last),
	           -EINVAL, "Message_v1: no snapshot window");
	TAP_OK(fa && fa->delta == CATALOG_DELTA_NO &&
	           strstr(fa->no_delta_reason, "daily actions") && fa->retention_days == 21,
	       "FileActions: snapshot dates, no delta, with the documented reason");
	TAP_OK(sync && sync->delta == CATALOG_DELTA_NO && !sync->retention_days &&
	           !sync->n_date_columns,
	       "OneDriveSyncHealth: no date filter, no delta");
	TAP_OK(rep && rep->form_prefix && rep->scope == CATALOG_SCOPE_TENANT,
	       "a report name finds the Viva Insights name form");
	TAP_OK(catalog_find(cat, "VivaInsightsDataset_Report_v1_") == NULL,
	       "the form needs a query name");
	TAP_OK(catalog_find(cat, "VivaInsightsDataset_Report_v1_a b") == NULL,
	       "query names have no spaces");
	TAP_OK(catalog_column(rep, "Meeting hours") == NULL &&
	           catalog_column_ok(rep, "Meeting hours"),
	       "the form takes query metric columns");
	TAP_OK(!catalog_column_ok(sites, "Nope") && catalog_column_ok(sites, "Url"),
	       "an ordinary dataset takes only its columns");
	TAP_OK(catalog_find(cat, "VivaInsightsDataset_Report_v1_{QueryName}") == rep,
	       "the form itself is listed by its name");
}

static void test_fixture(void)
{
	size_t len = 0;
	char *text = fixture_read(FIXTURE, &len), buf[256], err[256];
	struct catalog *cat = NULL;
	const struct catalog_dataset *msg, *cal, *contact;
	char *r;
	cJSON *j;

	TAP_OK(text != NULL, "fixture readable (run from the repo root)");
	if (!text)
		return;
	TAP_EQ_INT(catalog_parse(text, len, &cat, err, sizeof(err)), 0, "fixture parses");
	compare_with_file(cat, FIXTURE, "fixture");

	msg = catalog_find(cat, "BasicDataSet_v0.Message_v1");
	TAP_OK(msg && msg->date_required && !msg->window_only, "Message_v1 requires a date filter");
	TAP_OK(catalog_find(cat, "basicdataset_v0.message_v1") == NULL, "dataset lookup is exact");
	TAP_OK(catalog_column(msg, "subject") != NULL, "column lookup");
	TAP_OK(catalog_column(msg, "Subject") == NULL, "column lookup is exact");
	TAP_EQ_STR(catalog_date_column(msg, "ReceivedDateTime"), "receivedDateTime",
	           "date-filter column matches ignoring case, returns catalog spelling");
	TAP_OK(catalog_date_column(msg, "subject") == NULL, "non-date column is not a date filter");

	TAP_EQ_INT(catalog_suggest(cat, "BasicDataSet_v0.Mesage_v1", buf, sizeof(buf)) > 0, 1,
	           "typo gets suggestions");
	TAP_OK(strncmp(buf, "'BasicDataSet_v0.Message_v1'", 28) == 0, "nearest first: %s", buf);
	catalog_suggest(cat, "Message_v1", buf, sizeof(buf));
	TAP_OK(strstr(buf, "'BasicDataSet_v0.Message_v1'") != NULL,
	       "name without prefix suggests the full name: %s", buf);
	TAP_EQ_INT(catalog_suggest(cat, "Completely.Different", buf, sizeof(buf)), 0,
	           "no far-fetched suggestion");
	TAP_EQ_STR(buf, "", "empty suggestion text");
	catalog_suggest_column(msg, "recievedDateTime", buf, sizeof(buf));
	TAP_OK(strncmp(buf, "'receivedDateTime'", 18) == 0, "column did-you-mean: %s", buf);

	cal = catalog_find(cat, "BasicDataSet_v0.CalendarView_v0");
	TAP_OK(cal && cal->window_only && cal->n_date_columns == 0, "CalendarView is window-only");
	contact = catalog_find(cat, "BasicDataSet_v0.Contact_v0");
	TAP_OK(contact && contact->columns && contact->n_columns == 4, "every dataset has columns");
	TAP_EQ_STR(contact->documented_as, contact->name, "documentedAs defaults to the name");
	TAP_EQ_STR(catalog_column(msg, "sender")->format,
	           "STRUCT<EmailAddress: STRUCT<Name: STRING, Address: STRING>>", "column format");
	TAP_EQ_STR(catalog_column(msg, "subject")->format, "", "no format: empty string");
	test_fixture_rules(cat);

	r = catalog_render(msg);
	j = r ? cJSON_Parse(r) : NULL;
	TAP_OK(j != NULL, "render gives JSON");
	TAP_OK(r && r[strlen(r) - 1] == '\n', "render ends with a newline");
	TAP_EQ_STR(cJSON_GetObjectItem(j, "name") ? cJSON_GetObjectItem(j, "name")->valuestring
	                                          : NULL,
	           "BasicDataSet_v0.Message_v1", "render: name");
	TAP_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "columns")), msg->n_columns,
	           "render: all columns");
	TAP_EQ_STR(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "columns"), 0), "type")
	        ->valuestring,
	    "datetime", "render: first column type");
	TAP_OK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "dateFilter"), "required")),
	       "render: date filter required");
	TAP_EQ_STR(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "scopeKinds"), 0)->valuestring,
	           "AllUsers", "render: default scope kind");
	cJSON_Delete(j);
	free(r);
	j = rendered(cat, "BasicDataSet_v0.SharePointSites_v1");
	TAP_EQ_INT(jnum(j, "snapshot", "retentionDays"), 21, "render: snapshot rules");
	TAP_OK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "delta"), "supported")),
	       "render: delta supported");
	TAP_EQ_STR(jstr(j, "price", "class", NULL), "billed", "render: price class");
	TAP_EQ_INT(jnum(j, "price", "unitObjects"), 1000, "render: price unit");
	TAP_OK(jnum(j, "price", "usdPerUnit") == 0.75, "render: USD per unit");
	TAP_EQ_STR(jstr(j, "price", "usdSource", NULL), "https://example.test/prices",
	           "render: where the USD price is published");
	TAP_OK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "sample"), "supported")) &&
	           strcmp(jstr(j, "sample", "source", ""), "https://example.test/sampling") == 0,
	       "render: sampling and its source");
	TAP_EQ_STR(jstr(j, "source", "path", NULL),
	           "Datasets/data-connect-dataset-sharepointsites.md", "render: source path");
	TAP_OK(cJSON_IsArray(cJSON_GetObjectItem(j, "scopeKinds")),
	       "render: scope kinds is a list");
	TAP_EQ_STR(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "scopeKinds"), 0)->valuestring,
	           "AllSites", "render: SharePoint scope kind");
	cJSON_Delete(j);
	j = rendered(cat, "VivaInsightsDataset_Report_v1_x");
	TAP_EQ_STR(jstr(j, "form", "prefix", NULL), "VivaInsightsDataset_Report_v1_",
	           "render: name form");
	TAP_EQ_STR(jstr(j, "scope", NULL, NULL), "tenant", "render: tenant scope");
	TAP_OK(!cJSON_GetObjectItem(j, "snapshot") && !cJSON_GetObjectItem(j, "delta") &&
	           !cJSON_GetObjectItem(j, "price"),
	       "render: no rules the dataset does not have");
	cJSON_Delete(j);

	catalog_free(cat);
	free(text);
}

/* One valid column list, for cases that break something else. */
#define C1 "\"columns\": [{\"name\": \"x\", \"type\": \"string\"}]"

static void test_bad(void)
{
	static const struct {
		const char *json, *why;
	} cases[] = {
	    {"{\"datasets\": [", "malformed"},
	    {"{\"datasets\": {}}", "datasets not an array"},
	    {"{\"datasets\": [{\"name\": \"A\", " C1 "}, {\"name\": \"A\", " C1 "}]}",
	     "duplicate dataset"},
	    {"{\"datasets\": [{\"name\": \"A\", \"columns\": [{\"name\": \"x\", \"type\": "
	     "\"uuid\"}]}]}",
	     "unknown type"},
	    {"{\"datasets\": [{\"name\": \"A\", \"scope\": \"org\", " C1 "}]}", "unknown scope"},
	    {"{\"datasets\": [{\"name\": \"A\", \"columns\": null}]}", "no columns"},
	    {"{\"datasets\": [{\"name\": \"A\", \"columns\": []}]}", "empty columns"},
	    {"{\"datasets\": [{\"name\": \"A\"}]}", "columns missing"},
	    {"{\"datasets\": [{\"name\": \"A\", " C1 ", \"delta\": {\"supported\": true, "
	     "\"key\": [\"y\"]}}]}",
	     "delta key not a column"},
	    {"{\"datasets\": [{\"name\": \"A\", " C1 ", \"delta\": {\"supported\": false}}]}",
	     "no delta without a reason"},
	    {"{\"datasets\": [{\"name\": \"A\", " C1 ", \"price\": {\"class\": \"billed\"}}]}",
	     "billed without a unit"},
	    {"{\"datasets\": [{\"name\": \"A\", " C1 ", \"price\": {\"class\": \"free\", "
	     "\"unitObjects\": 1000}}]}",
	     "free with a unit"},
	    {"{\"datasets\": [{\"name\": \"A\", " C1 ", \"price\": {\"class\": \"billed\", "
	     "\"unitObjects\": 0.5}}]}",
	     "fractional unit"},
	    {"{\"datasets\": [{\"name\": \"A\", " C1 ", \"snapshot\": {\"retentionDays\": 21}}]}",
	     "snapshot without availableAfterHours"},
	    {"{\"datasets\": [{\"name\": \"A\", " C1 ", \"snapshot\": {\"availableAfterHours\": "
	     "600, \"retentionDays\": 21}}]}",
	     "snapshot that leaves no date"},
	    {"{\"datasets\": [{\"name\": \"A\", " C1 ", \"form\": {\"prefix\": \"A_\", "
	     "\"openColumns\": \"float\"}}]}",
	     "form with an unknown type"},
	    {"{\"datasets\": [{\"name\": \"A\", " C1 ", \"source\": {\"path\": 1}}]}",
	     "source path not a string"},
	    {"{\"datasets\": [{\"name\": \"A\", \"columns\": [{\"name\": \"x\", \"type\": "
	     "\"string\", \"format\": 5}]}]}",
	     "format not a string"},
	    {"{\"datasets\": [{\"name\": \"A\", \"columns\": [{\"name\": \"x\", \"type\": "
	     "\"string\"}, {\"name\": \"x\", \"type\": \"string\"}]}]}",
	     "duplicate column"},
	    {"{\"datasets\": [{\"columns\": null}]}", "no name"},
	    {"{\"datasets\": [{\"name\": \"A\", " C1 ", \"sample\": {\"supported\": true}}]}",
	     "sampling without its source"},
	    {"{\"datasets\": [{\"name\": \"A\", " C1 ", \"sample\": true}]}",
	     "sample not an object"},
	    {"{\"prices\": {\"currency\": \"EUR\", \"source\": \"s\", \"classes\": []}, "
	     "\"datasets\": []}",
	     "prices not in USD"},
	    {"{\"prices\": {\"currency\": \"USD\", \"source\": \"s\", \"classes\": []}, "
	     "\"datasets\": [{\"name\": \"A\", " C1 ", \"price\": {\"class\": \"free\"}}]}",
	     "a class without a price"},
	    {"{\"prices\": {\"currency\": \"USD\", \"source\": \"s\", \"classes\": [{\"class\": "
	     "\"free\", \"usdPerUnit\": -1}]}, \"datasets\": [{\"name\": \"A\", " C1
	     ", \"price\": {\"class\": \"free\"}}]}",
	     "a negative price"},
	    {"{\"prices\": {\"currency\": \"USD\", \"source\": \"s\", \"classes\": [{\"class\": "
	     "\"free\", \"usdPerUnit\": 0}, {\"class\": \"free\", \"usdPerUnit\": 0}]}, "
	     "\"datasets\": [{\"name\": \"A\", " C1 ", \"price\": {\"class\": \"free\"}}]}",
	     "a class priced twice"},
	    {"{\"prices\": {\"currency\": \"USD\", \"classes\": []}, \"datasets\": []}",
	     "prices without a source"},
	};
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct catalog *cat = (struct catalog *)1;

		TAP_EQ_INT(
		    catalog_parse(cases[i].json, strlen(cases[i].json), &cat, err, sizeof(err)),
		    -EINVAL, "bad catalog refused: %s", cases[i].why);
		TAP_OK(cat == NULL && strncmp(err, "catalog:", 8) == 0,
		       "  nothing returned, message '%s'", err);
	}
}

static void test_builtin(void)
{
	const struct catalog *cat = catalog_builtin();
	const struct catalog_dataset *msg;

	TAP_OK(cat != NULL && catalog_count(cat) > 0, "embedded catalog parses");
	if (!cat)
		return;
	TAP_OK(catalog_builtin() == cat, "embedded catalog is parsed once");
	compare_with_file(cat, SHARED, "embedded");
	msg = catalog_find(cat, "BasicDataSet_v0.Message_v1");
	TAP_OK(msg && msg->date_required && catalog_column(msg, "receivedDateTime") &&
	           catalog_date_column(msg, "RECEIVEDDATETIME"),
	       "embedded Message_v1 has receivedDateTime as a required date filter");
}

int main(void)
{
	test_fixture();
	test_bad();
	test_builtin();
	return tap_done();
}
