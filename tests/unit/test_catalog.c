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
		    (cJSON_IsNull(cols) != (d->columns == NULL)) ||
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
			    cc->filterable != cJSON_IsTrue(cJSON_GetObjectItem(c, "filterable")))
				bad++;
		}
		if (k != d->n_columns)
			bad++;
	}
	TAP_EQ_INT(bad, 0, "%s: every dataset and column matches the file", label);
	cJSON_Delete(root);
	free(text);
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
	TAP_OK(contact && contact->columns == NULL && contact->n_columns == 0,
	       "Contact_v0 is listed by name only");

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
	r = catalog_render(contact);
	j = r ? cJSON_Parse(r) : NULL;
	TAP_OK(j && cJSON_IsNull(cJSON_GetObjectItem(j, "columns")),
	       "render: name-only dataset has columns null");
	cJSON_Delete(j);
	free(r);

	catalog_free(cat);
	free(text);
}

static void test_bad(void)
{
	static const struct {
		const char *json, *why;
	} cases[] = {
	    {"{\"datasets\": [", "malformed"},
	    {"{\"datasets\": {}}", "datasets not an array"},
	    {"{\"datasets\": [{\"name\": \"A\"}, {\"name\": \"A\"}]}", "duplicate dataset"},
	    {"{\"datasets\": [{\"name\": \"A\", \"columns\": [{\"name\": \"x\", \"type\": "
	     "\"uuid\"}]}]}",
	     "unknown type"},
	    {"{\"datasets\": [{\"name\": \"A\", \"scope\": \"tenant\"}]}", "unknown scope"},
	    {"{\"datasets\": [{\"name\": \"A\", \"columns\": [{\"name\": \"x\", \"type\": "
	     "\"string\"}, {\"name\": \"x\", \"type\": \"string\"}]}]}",
	     "duplicate column"},
	    {"{\"datasets\": [{\"columns\": null}]}", "no name"},
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
