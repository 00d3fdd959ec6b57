/*
 * test_spec.c - fs/spec: registration and pipeline specs, command values.
 *
 * Bad inputs are table-driven: a good spec plus a JSON merge patch (RFC
 * 7386) that breaks one thing; each must give -EINVAL and an error line that
 * starts with exactly "<file>: <field path>: ". Good specs are checked field
 * by field with cJSON lookups against the values the reference (§5.5 of
 * mgdc-control-plane.md) prescribes. Uses the fixture catalog so that the
 * expectations do not move with the shared catalog. Run from the repo root.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/catalog.h"
#include "fs/spec.h"
#include "spec_fixtures.h"
#include "tap.h"

#define SECRET "Zq8~sEcReT-value.42"
#define PFILE  "pipelines/week45.json"
#define RFILE  "apps/mail.json"
#define APPID  "11111111-2222-3333-4444-555555555555"
#define TENANT "99999999-8888-7777-6666-555555555555"

static const struct spec_profile prof = {
    .client_id = APPID,
    .tenant_id = TENANT,
    .subscription_id = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
    .resource_group = "mgdc-rg",
    .storage_account = "mgdcsandbox",
    .blob_endpoint = "https://127.0.0.1:10000/mgdcsandbox",
    /* "Today" is 2026-11-10 12:00 UTC: SharePoint snapshots of 2026-10-20 to 2026-11-08 work. */
    .now = 1794312000,
};

static struct catalog *cat;
static cJSON *reg_ok, *reg_update;

static cJSON *load_json(const char *path)
{
	size_t len = 0;
	char *t = fixture_read(path, &len);
	cJSON *j = t ? cJSON_Parse(t) : NULL;

	free(t);
	return j;
}

/* Test JSON is written with ' for " (and ` for a literal '), to stay readable. */
static char *q(const char *s)
{
	char *r = strdup(s);

	for (char *p = r; *p; p++)
		*p = *p == '\'' ? '"' : *p == '`' ? '\'' : *p;
	return r;
}

/* RFC 7386 merge patch: null deletes, objects merge, anything else replaces. */
static void merge(cJSON *target, const cJSON *patch)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, patch)
	{
		cJSON *cur = cJSON_GetObjectItemCaseSensitive(target, it->string);

		if (cJSON_IsNull(it))
			cJSON_DeleteItemFromObjectCaseSensitive(target, it->string);
		else if (cJSON_IsObject(it) && cJSON_IsObject(cur))
			merge(cur, it);
		else if (cur)
			cJSON_ReplaceItemInObjectCaseSensitive(target, it->string,
			                                       cJSON_Duplicate(it, 1));
		else
			cJSON_AddItemToObject(target, it->string, cJSON_Duplicate(it, 1));
	}
}

static const char *base_pipeline = "{'app':'mail','dataset':'BasicDataSet_v0.Message_v1','columns':"
                                   "['id','subject','receivedDateTime','puser'],"
                                   "'dateFilter':{'column':'receivedDateTime','start':'2026-11-"
                                   "01T00:00:00Z','end':'2026-11-08T00:00:00Z'},"
                                   "'output':{'container':'exports','folder':'mail/week45'}}";

static const char *base_registration =
    "{'datasets':[{'name':'BasicDataSet_v0.Message_v1','columns':['id','subject','receivedDateTime'"
    ",'puser'],"
    "'scope':{'kind':'AllUsers'}}],'destination':{'container':'exports'}}";

/* base + patch, printed; malloc'd. */
static char *patched(const char *base, const char *patch)
{
	char *b = q(base), *p = q(patch), *out;
	cJSON *jb = cJSON_Parse(b), *jp = cJSON_Parse(p);

	if (!jp)
		printf("# bad patch in the test: %s\n", patch);
	merge(jb, jp);
	out = cJSON_PrintUnformatted(jb);
	cJSON_Delete(jb);
	cJSON_Delete(jp);
	free(b);
	free(p);
	return out;
}

/* The error line starts with "<file>: <path>: ", is one line, and says what would be valid. */
static void check_err(int res, int want, const char *err, const char *file, const char *path,
                      const char *needle, const char *label)
{
	char prefix[256];

	snprintf(prefix, sizeof(prefix), "%s: %s: ", file, path);
	TAP_EQ_INT(res, want, "%s: refused", label);
	TAP_OK(strncmp(err, prefix, strlen(prefix)) == 0 && !strchr(err, '\n') &&
	           strstr(err, "; ") && (!needle || strstr(err, needle)),
	       "%s: error '%s'", label, err);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		printf("#   want prefix '%s'\n", prefix);
	if (needle && !strstr(err, needle))
		printf("#   want text '%s'\n", needle);
}

enum { REG_NONE, REG_OK, REG_UPDATE };

static const struct bad {
	const char *patch, *path;
	int reg;
	const char *needle;
} bad_pipelines[] = {
    {"{'datset':'x'}", "datset", REG_OK, "did you mean 'dataset'?"},
    {"{'dataset':'BasicDataSet_v0.Mesage_v1'}", "dataset", REG_OK,
     "did you mean 'BasicDataSet_v0.Message_v1'"},
    {"{'dataset':'Nope'}", "dataset", REG_OK, "unknown dataset"},
    {"{'columns':['id','recievedDateTime']}", "columns[1]", REG_OK,
     "did you mean 'receivedDateTime'?"},
    {"{'columns':['id','subject','bodyPreview']}", "columns[2]", REG_OK,
     "not in the app's approval"},
    {"{'dataset':'BasicDataSet_v0.SentItem_v1'}", "dataset", REG_OK, "not in the app's approval"},
    {"{'app':42}", "app", REG_OK, "expected a string, got a number"},
    {"{'app':null}", "app", REG_OK, "missing"},
    {"{'app':''}", "app", REG_OK, "empty"},
    {"{'app':'a/b'}", "app", REG_OK, "contains '/'"},
    {"{'app':'a\\\\b'}", "app", REG_OK, "contains '\\'"},
    {"{'app':'a\\u0007b'}", "app", REG_OK, "control character"},
    {"{'app':'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'}", "app", REG_OK,
     "longer than 63"},
    {"{'dateFilter':null}", "dateFilter", REG_OK, "receivedDateTime"},
    {"{'dateFilter':{'column':'subject'}}", "dateFilter.column", REG_OK,
     "not a date-filter column"},
    {"{'dateFilter':{'column':'recievedDateTime'}}", "dateFilter.column", REG_OK,
     "did you mean 'receivedDateTime'?"},
    {"{'dateFilter':{'column':null}}", "dateFilter.column", REG_OK, "missing"},
    {"{'dateFilter':{'start':'2026-11-01'}}", "dateFilter.start", REG_OK, "RFC 3339"},
    {"{'dateFilter':{'start':'2026-11-01T00:00:00+01:00'}}", "dateFilter.start", REG_OK,
     "RFC 3339"},
    {"{'dateFilter':{'start':1}}", "dateFilter.start", REG_OK, "expected a string"},
    {"{'dateFilter':{'end':null}}", "dateFilter.end", REG_OK, "missing"},
    {"{'dateFilter':{'end':'2026-10-01T00:00:00Z'}}", "dateFilter.end", REG_OK, "not after start"},
    {"{'dateFilter':{'end':'2026-11-01T00:00:00Z'}}", "dateFilter.end", REG_OK, "not after start"},
    {"{'dateFilter':{'end':'2026-02-29T00:00:00Z'}}", "dateFilter.end", REG_OK, "RFC 3339"},
    {"{'dateFilter':{'strat':'x'}}", "dateFilter.strat", REG_OK, "did you mean 'start'?"},
    {"{'dateFilter':'2026'}", "dateFilter", REG_OK, "expected an object, got a string"},
    {"{'dataset':'BasicDataSet_v0.CalendarView_v0','columns':['id']}", "dateFilter.column",
     REG_NONE, "remove"},
    {"{'dataset':'BasicDataSet_v0.CalendarView_v0','columns':['id'],'dateFilter':null}",
     "dateFilter", REG_NONE, "start"},
    {"{'dataset':'BasicDataSet_v0.User_v1','columns':['id']}", "dateFilter", REG_NONE,
     "no date filter"},
    /* SharePoint snapshot dates, deltas and scopes (today is 2026-11-10, see prof.now). */
    {"{'dataset':'BasicDataSet_v0.SharePointSites_v1','columns':['Id','Url'],'dateFilter':null}",
     "dateFilter", REG_NONE,
     "the same date twice for a full snapshot, two dates for a delta; dates from 2026-10-20 to "
     "2026-11-08 work today (2026-11-10)"},
    {"{'dataset':'BasicDataSet_v0.SharePointSites_v1','columns':['Id','Url'],'dateFilter':{'column'"
     ":'SnapshotDate','start':'2026-10-19T00:00:00Z','end':'2026-"
     "10-19T00:00:00Z'}}",
     "dateFilter.start", REG_NONE,
     "2026-10-19 of BasicDataSet_v0.SharePointSites_v1 is no longer kept: MGDC makes each date "
     "available 48 hours late and keeps it 21 days; dates from 2026-10-20 to 2026-11-08"},
    {"{'dataset':'BasicDataSet_v0.SharePointSites_v1','columns':['Id','Url'],'dateFilter':{'column'"
     ":'SnapshotDate','start':'2026-11-09T00:00:00Z','end':'2026-"
     "11-09T00:00:00Z'}}",
     "dateFilter.start", REG_NONE,
     "2026-11-09 of BasicDataSet_v0.SharePointSites_v1 is not available yet"},
    {"{'dataset':'BasicDataSet_v0.SharePointSites_v1','columns':['Id','Url'],'dateFilter':{'column'"
     ":'SnapshotDate','start':'2026-11-01T00:00:00Z','end':'2026-"
     "11-10T00:00:00Z'}}",
     "dateFilter.end", REG_NONE, "not available yet"},
    {"{'dataset':'BasicDataSet_v0.SharePointSites_v1','columns':['Id','Url'],'dateFilter':{'column'"
     ":'SnapshotDate','start':'2026-11-05T00:00:00Z','end':'2026-"
     "11-01T00:00:00Z'}}",
     "dateFilter.end", REG_NONE, "not after start"},
    {"{'dataset':'BasicDataSet_v0.SharePointFileActions_v1','columns':['SiteId','ActionName'],'"
     "dateFilter':{'column':'SnapshotDate','start':'2026-11-01T00:00:00Z','end':'2026-"
     "11-03T00:00:00Z'}}",
     "dateFilter.end", REG_NONE,
     "asks BasicDataSet_v0.SharePointFileActions_v1 for a delta, but it has none (it captures "
     "daily actions, unique for each day); give the same date as start"},
    {"{'dataset':'BasicDataSet_v0.OneDriveSyncHealth_v1','columns':['Id']}", "dateFilter", REG_NONE,
     "has no date filter and no delta (it captures daily actions"},
    {"{'dataset':'BasicDataSet_v0.GroupDetails_v0','columns':['id'],'dateFilter':null,'scope':{'"
     "filterUri':'https://graph.microsoft.com/v1.0/users?$filter=Department eq `Sales`'}}",
     "scope.filterUri", REG_NONE, "group-scoped: a users filter selects users"},
    {"{'dataset':'BasicDataSet_v0.SharePointSites_v1','columns':['Id','Url'],'dateFilter':{'column'"
     ":'SnapshotDate','start':'2026-11-01T00:00:00Z','end':'2026-"
     "11-01T00:00:00Z'},'scope':{'groups':['0a0a0a0a-0000-0000-0000-000000000001']}}",
     "scope.groups", REG_NONE, "takes no user or group scope"},
    {"{'dataset':'VivaInsightsDataset_Report_v1_Weekly','columns':['PersonId'],'dateFilter':null,"
     "'scope':{'filterUri':'https://graph.microsoft.com/v1.0/users?$filter=x'}}",
     "scope.filterUri", REG_NONE, "takes no user or group scope"},
    {"{'dataset':'VivaInsightsDataset_Report_v1_','columns':['PersonId'],'dateFilter':null}",
     "dataset", REG_NONE, "unknown dataset"},
    {"{'scope':{'groups':['0a0a0a0a-0000-0000-0000-000000000001','0a0a0a0a-0000-0000-0000-"
     "000000000002',"
     "'0a0a0a0a-0000-0000-0000-000000000003','0a0a0a0a-0000-0000-0000-000000000004','0a0a0a0a-0000-"
     "0000-0000-"
     "000000000005','0a0a0a0a-0000-0000-0000-000000000006','0a0a0a0a-0000-0000-0000-000000000007','"
     "0a0a0a0a-"
     "0000-0000-0000-000000000008','0a0a0a0a-0000-0000-0000-000000000009','0a0a0a0a-0000-0000-0000-"
     "000000000010','0a0a0a0a-0000-0000-0000-000000000011']}}",
     "scope.groups", REG_NONE, "at most 10"},
    {"{'scope':{'groups':['finance']}}", "scope.groups[0]", REG_NONE, "not a GUID"},
    {"{'scope':{'groups':[]}}", "scope.groups", REG_NONE, "empty"},
    {"{'scope':{'groups':['0a0a0a0a-0000-0000-0000-000000000001'],'filterUri':'https://"
     "graph.microsoft.com/v1.0/"
     "users?$filter=x'}}",
     "scope", REG_NONE, "give one"},
    {"{'scope':{'filterUri':'http://graph.microsoft.com/v1.0/users?$filter=x'}}", "scope.filterUri",
     REG_NONE, "https://"},
    {"{'scope':{'group':[]}}", "scope.group", REG_NONE, "did you mean 'groups'?"},
    {"{'output':{'container':'other'}}", "output.container", REG_OK,
     "outside the approved destination"},
    {"{'output':{'container':'Exports_1'}}", "output.container", REG_NONE, "not a container name"},
    {"{'output':{'container':''}}", "output.container", REG_NONE, "empty"},
    {"{'output':{'folder':'mail/../x'}}", "output.folder", REG_OK, "'..'"},
    {"{'output':{'folder':'mail//x'}}", "output.folder", REG_OK, "empty"},
    {"{'output':{'folder':'mail\\\\x'}}", "output.folder", REG_OK, "contains '\\'"},
    {"{'output':{'folder':'mail\\u0001'}}", "output.folder", REG_OK, "control character"},
    {"{'output':{'folder':'it`s'}}", "output.folder", REG_OK, "single quote"},
    {"{'output':{'contaner':'exports'}}", "output.contaner", REG_OK, "did you mean 'container'?"},
    {"{'output':{'container':null}}", "output.container", REG_NONE, "missing"},
    {"{'columns':'id'}", "columns", REG_OK, "expected an array, got a string"},
    {"{'columns':[]}", "columns", REG_OK, "give 1"},
    {"{'columns':[1]}", "columns[0]", REG_OK, "expected a string"},
    {"{'columns':['id','id']}", "columns[1]", REG_OK, "twice"},
    {"{'dataset':'BasicDataSet_v0.User_v1','columns':['id'],'dateFilter':null}", "scope.groups",
     REG_OK, "approved for these groups only"},
    {"{'dataset':'BasicDataSet_v0.User_v1','columns':['id'],'dateFilter':null,'scope':{'groups':['"
     "0a0a0a0a-0000-"
     "0000-0000-000000000003']}}",
     "scope.groups[0]", REG_OK, "not in the app's approval"},
    /* Found by fuzz_spec: a non-string group met the approval check before the type check. */
    {"{'dataset':'BasicDataSet_v0.User_v1','columns':['id'],'dateFilter':null,'scope':{'groups':["
     "['x']]}}",
     "scope.groups[0]", REG_OK, "expected a string, got an array"},
    {"{'dataset':'BasicDataSet_v0.User_v1','columns':['id'],'dateFilter':null,'scope':{'groups':["
     "'0a0a0a0a-0000-0000-0000-000000000001',null]}}",
     "scope.groups[1]", REG_OK, "expected a string, got null"},
    {"{'parameters':{'1x':'a'}}", "parameters.1x", REG_OK, "not a parameter name"},
    {"{'parameters':{'p':[1]}}", "parameters.p", REG_OK, "expected a string, number or boolean"},
    {"{'dateFilter':{'start':'@pipeline().parameters.from'}}", "dateFilter.start", REG_OK,
     "not declared"},
    {"{'parameters':{'from':'soon'},'dateFilter':{'start':'@pipeline().parameters.from'}}",
     "dateFilter.start", REG_OK, "default RFC 3339"},
    {"{'columns':['id','subject','bodyPreview']}", "columns[2]", REG_UPDATE,
     "approved columns: id, subject"},
    {"{'columns':null,'output':{'container':'newexports'}}", "output.container", REG_UPDATE,
     "container 'exports'"},
#define SITES_A                                                                                    \
	"'dataset':'BasicDataSet_v0.SharePointSites_v1','columns':['Id','Url'],'dateFilter':{'"    \
	"column':"                                                                                 \
	"'SnapshotDate','start':'2026-11-01T00:00:00Z','end':'2026-11-01T00:00:00Z'}"
    {"{" SITES_A ",'sample':0}", "sample", REG_NONE,
     "0 is not a number of objects; give a whole number from 1 to 2147483647 (a sample returns "
     "at most that many objects and the count of all)"},
    {"{" SITES_A ",'sample':-5}", "sample", REG_NONE, "-5 is not a number of objects"},
    {"{" SITES_A ",'sample':1.5}", "sample", REG_NONE, "1.5 is not a number of objects"},
    {"{" SITES_A ",'sample':2147483648}", "sample", REG_NONE,
     "2147483648 is not a number of objects; give a whole number from 1 to 2147483647"},
    {"{" SITES_A ",'sample':1e300}", "sample", REG_NONE, "1e+300 is not a number of objects"},
    {"{" SITES_A ",'sample':'10'}", "sample", REG_NONE,
     "expected a number, got a string; the number of objects to sample, 1 to 2147483647"},
    {"{" SITES_A ",'sample':true}", "sample", REG_NONE, "expected a number, got a boolean"},
    {"{" SITES_A ",'sample':[1]}", "sample", REG_NONE, "expected a number, got an array"},
    {"{'sample':5}", "sample", REG_OK,
     "BasicDataSet_v0.Message_v1 cannot be sampled: MGDC samples only "
     "BasicDataSet_v0.SharePointSites_v1, BasicDataSet_v0.SharePointFileActions_v1; remove "
     "\"sample\""},
    {"{'dataset':'BasicDataSet_v0.OneDriveSyncHealth_v1','columns':['Id'],'dateFilter':null,"
     "'sample':1}",
     "sample", REG_NONE, "BasicDataSet_v0.OneDriveSyncHealth_v1 cannot be sampled"},
    {"{'smaple':1}", "smaple", REG_OK, "did you mean 'sample'?"},
    {"{'properties':{'description':'x'}}", "properties.activities", REG_OK, "non-empty array"},
    {"{'properties':{'activities':[]}}", "properties.activities", REG_OK, "non-empty array"},
    {"{'properties':{'activities':[1]}}", "properties.activities[0]", REG_OK, "an ADF activity"},
};

static void test_bad_pipelines(void)
{
	char err[600];

	for (size_t i = 0; i < sizeof(bad_pipelines) / sizeof(bad_pipelines[0]); i++) {
		const struct bad *b = &bad_pipelines[i];
		char *text = patched(base_pipeline, b->patch);
		const cJSON *reg = b->reg == REG_OK       ? reg_ok
		                   : b->reg == REG_UPDATE ? reg_update
		                                          : NULL;
		struct pipeline_plan plan;
		int res = spec_parse_pipeline(PFILE, text, strlen(text), &prof, cat, reg, SECRET,
		                              &plan, err, sizeof(err));

		check_err(res, -EINVAL, err, PFILE, b->path, b->needle, b->patch);
		TAP_OK(plan.n == 0 && plan.spec == NULL, "  nothing planned");
		free(text);
	}
}

static void test_bad_pipeline_text(void)
{
	static const struct {
		const char *text, *path, *needle;
	} cases[] = {
	    {"{\n  \"app\": \"mail\",\n  \"dataset\" \"x\"\n}", "line 3, column 13",
	     "malformed JSON"},
	    {"{\"app\": \"mail\"} x", "line 1, column 17", "after the JSON object"},
	    {"{\"app\": \"ma\xffil\"}", "line 1, column 12", "invalid UTF-8"},
	    {"{\"app\": \"\xc3\xa9\xc0\xaf\"}", "line 1, column 11", "invalid UTF-8"},
	    {"[1, 2]", "$", "expected an object, got an array"},
	    {"", "$", "empty"},
	    {"{\"app\": \"mail\", \"app\": \"mail\"}", "app", "twice"},
	};
	char err[600];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pipeline_plan plan;
		int res = spec_parse_pipeline(PFILE, cases[i].text, strlen(cases[i].text), &prof,
		                              cat, reg_ok, SECRET, &plan, err, sizeof(err));

		check_err(res, -EINVAL, err, PFILE, cases[i].path, cases[i].needle, cases[i].path);
	}
}

static void test_bad_pipeline_other(void)
{
	char err[600], big[SPEC_MAX_BYTES + 16], *text = q(base_pipeline);
	struct spec_profile noacct = {.client_id = APPID, .tenant_id = TENANT};
	struct pipeline_plan plan;
	int res;

	memset(big, ' ', sizeof(big));
	memcpy(big, text, strlen(text));
	res = spec_parse_pipeline(PFILE, big, sizeof(big), &prof, cat, reg_ok, SECRET, &plan, err,
	                          sizeof(err));
	TAP_EQ_INT(res, -EFBIG, "over 64 KiB: -EFBIG");
	TAP_OK(strncmp(err, PFILE ": $: ", strlen(PFILE) + 5) == 0 && strstr(err, "at most 65536"),
	       "  '%s'", err);
	res = spec_parse_pipeline("pipelines/week 45.json", text, strlen(text), &prof, cat, reg_ok,
	                          SECRET, &plan, err, sizeof(err));
	check_err(res, -EINVAL, err, "pipelines/week 45.json", "$", "not allowed",
	          "pipeline name with a space");
	res = spec_parse_pipeline("pipelines/-x.json", text, strlen(text), &prof, cat, reg_ok,
	                          SECRET, &plan, err, sizeof(err));
	check_err(res, -EINVAL, err, "pipelines/-x.json", "$", "start with a letter",
	          "pipeline name starting with '-'");
	res = spec_parse_pipeline("pipelines/9lives.json", text, strlen(text), &prof, cat, reg_ok,
	                          SECRET, &plan, err, sizeof(err));
	check_err(res, -EINVAL, err, "pipelines/9lives.json", "$", "start with a letter",
	          "pipeline name starting with a digit (ADF naming rules)");
	res = spec_parse_pipeline(PFILE, text, strlen(text), &prof, cat, reg_ok, NULL, &plan, err,
	                          sizeof(err));
	check_err(res, -EINVAL, err, PFILE, "$", "client secret", "no secret and no Key Vault");
	res = spec_parse_pipeline(PFILE, text, strlen(text), &noacct, cat, NULL, SECRET, &plan, err,
	                          sizeof(err));
	check_err(res, -EINVAL, err, PFILE, "$", "storage", "no storage account anywhere");
	free(text);
}

static const struct bad bad_registrations[] = {
    {"{'datsets':[]}", "datsets", 0, "did you mean 'datasets'?"},
    {"{'datasets':[{'name':'BasicDataSet_v0.Message_v2'}]}", "datasets[0].name", 0,
     "did you mean 'BasicDataSet_v0.Message_v1'"},
    {"{'datasets':[{'name':'BasicDataSet_v0.Message_v1','columns':['id','sujbect']}]}",
     "datasets[0].columns[1]", 0, "did you mean 'subject'?"},
    {"{'datasets':[{'name':'BasicDataSet_v0.Message_v1','columns':'everything'}]}",
     "datasets[0].columns", 0, "\"all\""},
    {"{'datasets':[{'name':'BasicDataSet_v0.Message_v1'}]}", "datasets[0].columns", 0, "missing"},
    {"{'datasets':[{'name':'VivaInsightsDataset_Report_v1_my query','columns':'all'}]}",
     "datasets[0].name", 0, "unknown dataset"},
    {"{'datasets':[{'name':'BasicDataSet_v0.SharePointSites_v1','columns':'all','scope':{'kind':'"
     "AllUsers'}}]}",
     "datasets[0].scope.kind", 0, "one of AllSites"},
    {"{'datasets':[{'name':'BasicDataSet_v0.Message_v1','columns':'all','scope':{'kind':'AllGroups'"
     "}}]}",
     "datasets[0].scope.kind", 0, "one of AllUsers, AllUsersWithScopeFilter, Groups"},
    {"{'datasets':[{'name':'BasicDataSet_v0.Message_v1','columns':'all','scope':{'kind':'Groups'}}]"
     "}",
     "datasets[0].scope.groupIds", 0, "missing"},
    {"{'datasets':[{'name':'BasicDataSet_v0.Message_v1','columns':'all','scope':{'kind':'Groups','"
     "groupIds':['x']}}]}",
     "datasets[0].scope.groupIds[0]", 0, "not a GUID"},
    {"{'datasets':[{'name':'BasicDataSet_v0.Message_v1','columns':'all','scope':{'kind':'"
     "AllUsersWithScopeFilter'}}]}",
     "datasets[0].scope.scopeFilterUri", 0, "missing"},
    {"{'datasets':[{'name':'BasicDataSet_v0.Message_v1','columns':'all','scope':{'knd':'AllUsers'}}"
     "]}",
     "datasets[0].scope.knd", 0, "did you mean 'kind'?"},
    {"{'datasets':[{'name':'BasicDataSet_v0.Message_v1','columns':'all'},{'name':'BasicDataSet_v0."
     "Message_v1',"
     "'columns':'all'}]}",
     "datasets[1].name", 0, "twice"},
    {"{'datasets':[]}", "datasets", 0, "give 1"},
    {"{'datasets':[7]}", "datasets[0]", 0, "expected an object"},
    {"{'destination':null}", "destination", 0, "missing"},
    {"{'destination':{'container':null}}", "destination.container", 0, "missing"},
    {"{'destination':{'container':'ab'}}", "destination.container", 0, "not a container name"},
    {"{'destination':{'storageAccount':'Bad_Acct'}}", "destination.storageAccount", 0,
     "storage account"},
    {"{'destination':{'subscriptionId':'sub-1'}}", "destination.subscriptionId", 0, "not a GUID"},
    {"{'destination':{'uri':'ftp://x'}}", "destination.uri", 0, "https://"},
    {"{'destination':{'type':'Blob'}}", "destination.type", 0, "one of AzureStorageAccount"},
    {"{'destination':{'folder':'a/../b'}}", "destination.folder", 0, "'..'"},
    {"{'appId':'not-a-guid'}", "appId", 0, "not a GUID"},
    {"{'publishType':'Single-Tenant'}", "publishType", 0, "one of SingleTenant, MultiTenant"},
    {"{'computeType':'ADF'}", "computeType", 0, "AzureDataFactory"},
    {"{'description':5}", "description", 0, "expected a string, got a number"},
    {"{'name':'mail'}", "name", 0, "known fields: appId"},
};

static void test_bad_registrations(void)
{
	struct spec_profile none = {0};
	char err[600], *text;
	cJSON *body;
	int res;

	for (size_t i = 0; i < sizeof(bad_registrations) / sizeof(bad_registrations[0]); i++) {
		text = patched(base_registration, bad_registrations[i].patch);
		body = (cJSON *)1;
		res = spec_parse_registration(RFILE, text, strlen(text), &prof, cat, &body, err,
		                              sizeof(err));
		check_err(res, -EINVAL, err, RFILE, bad_registrations[i].path,
		          bad_registrations[i].needle, bad_registrations[i].patch);
		TAP_OK(body == NULL, "  no body");
		free(text);
	}
	text = q(base_registration);
	res =
	    spec_parse_registration(RFILE, text, strlen(text), &none, cat, &body, err, sizeof(err));
	check_err(res, -EINVAL, err, RFILE, "appId", "profile has no default",
	          "appId without a profile default");
	res = spec_parse_registration("apps/a\x01.json", text, strlen(text), &prof, cat, &body, err,
	                              sizeof(err));
	check_err(res, -EINVAL, err, "apps/a\\x01.json", "$", "control character",
	          "app file name with a control byte");
	free(text);
}

static const cJSON *at(const cJSON *v, const char *path)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *tok = strtok_r(buf, ".", &save); tok && v; tok = strtok_r(NULL, ".", &save)) {
		char *end;
		long idx = strtol(tok, &end, 10);

		v = *end == '\0' ? cJSON_GetArrayItem(v, (int)idx)
		                 : cJSON_GetObjectItemCaseSensitive(v, tok);
	}
	return v;
}

static const char *str_at(const cJSON *v, const char *path)
{
	const cJSON *s = at(v, path);

	return cJSON_IsString(s) ? s->valuestring : NULL;
}

static size_t count_in(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static int plan_pipeline(const char *patch, const cJSON *reg, const struct spec_profile *p,
                         const char *secret, struct pipeline_plan *plan)
{
	char err[600], *text = patched(base_pipeline, patch);
	int res = spec_parse_pipeline(PFILE, text, strlen(text), p, cat, reg, secret, plan, err,
	                              sizeof(err));

	if (res)
		printf("# unexpected: %s\n", err);
	free(text);
	return res;
}

static void test_good_pipeline(void)
{
	static const char *const names[] = {"mgdcfs_week45_o365", "mgdcfs_week45_sink",
	                                    "mgdcfs_week45_src", "mgdcfs_week45_dst", "week45"};
	static const enum adf_kind kinds[] = {ADF_LINKED_SERVICE, ADF_LINKED_SERVICE, ADF_DATASET,
	                                      ADF_DATASET, ADF_PIPELINE};
	struct pipeline_plan plan, again;
	const cJSON *o365, *sink, *src, *dst, *pipe, *source, *cols;
	size_t secrets = 0, order_ok = 0;
	cJSON *spec;
	char *t;

	TAP_EQ_INT(plan_pipeline("{'dateFilter':{'column':'ReceivedDateTime'}}", reg_ok, &prof,
	                         SECRET, &plan),
	           0, "minimum pipeline spec accepted");
	TAP_EQ_INT(plan.n, 5, "five resources");
	for (size_t i = 0; i < plan.n && i < 5; i++)
		order_ok += strcmp(plan.res[i].name, names[i]) == 0 && plan.res[i].kind == kinds[i];
	TAP_EQ_INT(order_ok, 5,
	           "linked services, then datasets, then the pipeline, with derived names");
	o365 = plan.res[0].body, sink = plan.res[1].body, src = plan.res[2].body,
	dst = plan.res[3].body;
	pipe = plan.res[4].body;
	TAP_EQ_STR(str_at(o365, "properties.type"), "Office365", "source linked service type");
	TAP_EQ_STR(str_at(o365, "properties.typeProperties.servicePrincipalId"), APPID,
	           "servicePrincipalId = app id");
	TAP_EQ_STR(str_at(o365, "properties.typeProperties.office365TenantId"), TENANT,
	           "office365TenantId");
	TAP_EQ_STR(str_at(o365, "properties.typeProperties.servicePrincipalKey.type"),
	           "SecureString", "secret is a SecureString");
	TAP_EQ_STR(str_at(o365, "properties.typeProperties.servicePrincipalKey.value"), SECRET,
	           "secret value");
	TAP_EQ_STR(str_at(sink, "properties.type"), "AzureBlobStorage",
	           "sink linked service is Blob");
	TAP_EQ_STR(str_at(sink, "properties.typeProperties.serviceEndpoint"), prof.blob_endpoint,
	           "sink endpoint");
	/* A copy from Microsoft 365 supports only service principal sinks. */
	TAP_EQ_STR(str_at(sink, "properties.typeProperties.servicePrincipalId"), APPID,
	           "sink signs in as the app");
	TAP_EQ_STR(str_at(sink, "properties.typeProperties.tenant"), TENANT, "sink tenant");
	TAP_EQ_STR(str_at(sink, "properties.typeProperties.servicePrincipalKey.type"),
	           "SecureString", "sink key is a SecureString");
	for (size_t i = 0; i < 4; i++)
		TAP_OK(plan_resource_name_ok(kinds[i], names[i]),
		       "  %s follows ADF's naming rules (no '-')", names[i]);
	TAP_EQ_STR(str_at(src, "properties.type"), "Office365Table", "source dataset type");
	TAP_EQ_STR(str_at(src, "properties.typeProperties.tableName"), "BasicDataSet_v0.Message_v1",
	           "tableName");
	TAP_EQ_STR(str_at(src, "properties.linkedServiceName.referenceName"), names[0],
	           "source dataset -> o365");
	TAP_EQ_STR(str_at(dst, "properties.type"), "Binary", "sink dataset is Binary");
	TAP_EQ_STR(str_at(dst, "properties.linkedServiceName.referenceName"), names[1],
	           "sink dataset -> sink");
	TAP_EQ_STR(str_at(dst, "properties.typeProperties.location.container"), "exports",
	           "sink container");
	TAP_EQ_STR(str_at(dst, "properties.typeProperties.location.folderPath.value"),
	           "@concat('mail/week45/', pipeline().RunId)",
	           "each run writes into <folder>/<runId>");
	TAP_EQ_STR(str_at(dst, "properties.typeProperties.location.folderPath.type"), "Expression",
	           "folderPath is an expression");
	TAP_EQ_STR(str_at(pipe, "properties.activities.0.type"), "Copy", "Copy activity");
	TAP_EQ_STR(str_at(pipe, "properties.activities.0.inputs.0.referenceName"), names[2],
	           "input dataset");
	TAP_EQ_STR(str_at(pipe, "properties.activities.0.outputs.0.referenceName"), names[3],
	           "output dataset");
	source = at(pipe, "properties.activities.0.typeProperties.source");
	TAP_EQ_STR(str_at(source, "type"), "Office365Source", "Office365Source");
	TAP_EQ_STR(str_at(source, "dateFilterColumn"), "receivedDateTime",
	           "date column in catalog spelling");
	TAP_EQ_STR(str_at(source, "startTime"), "2026-11-01T00:00:00Z", "startTime");
	TAP_EQ_STR(str_at(source, "endTime"), "2026-11-08T00:00:00Z", "endTime");
	cols = at(source, "outputColumns");
	TAP_OK(cJSON_GetArraySize(cols) == 4 && strcmp(str_at(cols, "3.name"), "puser") == 0,
	       "outputColumns");
	TAP_OK(!at(source, "allowedGroups") && !at(source, "userScopeFilterUri"),
	       "no scope: all users");
	TAP_EQ_STR(str_at(pipe, "properties.activities.0.typeProperties.sink.storeSettings.type"),
	           "AzureBlobStorageWriteSettings", "Blob write settings");
	TAP_EQ_STR(plan.container, "exports", "plan container");
	TAP_EQ_STR(plan.folder, "mail/week45", "plan folder");

	for (size_t i = 0; i < plan.n; i++) {
		t = cJSON_PrintUnformatted(plan.res[i].body);
		secrets += count_in(t, SECRET);
		free(t);
	}
	TAP_EQ_INT(secrets, 2, "the secret appears in the two credential fields only");
	t = plan.spec ? cJSON_PrintUnformatted(plan.spec) : NULL;
	TAP_OK(t && !strstr(t, SECRET), "spec.json has no secret");
	free(t);
	t = cJSON_PrintUnformatted(pipe);
	TAP_EQ_INT(count_in(t, SECRET), 0, "the pipeline resource has no secret");
	free(t);
	/* Kept where ADF keeps it: the description; string annotations name the app. */
	spec = plan_spec_of(pipe);
	TAP_OK(spec && cJSON_Compare(spec, plan.spec, 1), "plan_spec_of reads the spec back");
	cJSON_Delete(spec);
	TAP_EQ_STR(str_at(pipe, "properties.annotations.0"), "mgdcfs", "annotation marks mgdcfs");
	TAP_EQ_STR(plan_app_of(pipe), APPID, "plan_app_of: the app it runs as");
	TAP_OK(cJSON_IsString(at(pipe, "properties.annotations.1")) &&
	           cJSON_IsString(at(pipe, "properties.annotations.2")) &&
	           !at(pipe, "properties.annotations.3"),
	       "annotations are strings only");
	spec = cJSON_Duplicate(plan.spec, 1);
	TAP_EQ_STR(str_at(spec, "dateFilter.column"), "receivedDateTime",
	           "spec.json: normalised date column");
	TAP_EQ_STR(str_at(spec, "output.folder"), "mail/week45", "spec.json: folder");
	TAP_EQ_INT(cJSON_GetArraySize(at(spec, "columns")), 4, "spec.json: columns");
	cJSON_Delete(spec);

	TAP_EQ_INT(plan_pipeline("{'dateFilter':{'column':'ReceivedDateTime'}}", reg_ok, &prof,
	                         SECRET, &again),
	           0, "same spec again");
	order_ok = 0;
	for (size_t i = 0; i < plan.n && i < again.n; i++) {
		char *a = cJSON_PrintUnformatted(plan.res[i].body),
		     *b = cJSON_PrintUnformatted(again.res[i].body);

		order_ok += strcmp(a, b) == 0 && strcmp(plan.res[i].name, again.res[i].name) == 0;
		free(a);
		free(b);
	}
	TAP_EQ_INT(order_ok, 5, "deterministic: same names and bodies");
	plan_free(&again);
	plan_free(&plan);
	TAP_OK(plan.n == 0 && plan.res[0].body == NULL, "plan_free empties the plan");
}

static void test_defaults(void)
{
	struct pipeline_plan plan;
	const cJSON *source;
	cJSON *spec;

	TAP_EQ_INT(plan_pipeline("{'columns':null,'output':null}", reg_ok, &prof, SECRET, &plan), 0,
	           "columns and output default from the approval");
	spec = cJSON_Duplicate(plan.spec, 1);
	TAP_EQ_INT(cJSON_GetArraySize(at(spec, "columns")), 5,
	           "default columns = the approved ones");
	TAP_EQ_STR(str_at(spec, "columns.4"), "puser", "in approval order");
	TAP_EQ_STR(str_at(spec, "output.container"), "exports", "default container = approved");
	TAP_EQ_STR(str_at(spec, "output.folder"), "week45", "default folder = pipeline name");
	cJSON_Delete(spec);
	plan_free(&plan);

	TAP_EQ_INT(plan_pipeline("{'columns':null}", reg_update, &prof, SECRET, &plan), 0,
	           "UpdateAvailable: checked against the approved snapshot");
	source = at(plan.res[4].body, "properties.activities.0.typeProperties.source");
	TAP_EQ_INT(cJSON_GetArraySize(at(source, "outputColumns")), 3,
	           "  default columns from the snapshot");
	plan_free(&plan);

	TAP_EQ_INT(plan_pipeline("{'columns':null,'output':{'container':'x-y'}}", NULL, &prof,
	                         SECRET, &plan),
	           0, "no registration: catalog columns");
	TAP_EQ_INT(
	    cJSON_GetArraySize(at(plan.res[4].body,
	                          "properties.activities.0.typeProperties.source.outputColumns")),
	    (long long)catalog_find(cat, "BasicDataSet_v0.Message_v1")->n_columns,
	    "  every catalog column");
	plan_free(&plan);
}

static void test_variants(void)
{
	struct spec_profile kv = prof;
	struct pipeline_plan plan;
	const cJSON *source, *params;
	cJSON *adls;
	char *t;

	TAP_EQ_INT(
	    plan_pipeline(
	        "{'dataset':'BasicDataSet_v0.User_v1','columns':['id','mail'],'dateFilter':null,"
	        "'scope':{'groups':['0a0a0a0a-0000-0000-0000-000000000002']}}",
	        reg_ok, &prof, SECRET, &plan),
	    0, "approved group subset");
	source = at(plan.res[4].body, "properties.activities.0.typeProperties.source");
	TAP_EQ_STR(str_at(source, "allowedGroups.0"), "0a0a0a0a-0000-0000-0000-000000000002",
	           "allowedGroups");
	TAP_OK(!at(source, "dateFilterColumn") && !at(source, "startTime"),
	       "no date filter when none is needed");
	plan_free(&plan);

	TAP_EQ_INT(plan_pipeline("{'scope':{'filterUri':'https://graph.microsoft.com/v1.0/"
	                         "users?$filter=Department eq "
	                         "`Finance`'}}",
	                         NULL, &prof, SECRET, &plan),
	           0, "scope filter URI");
	TAP_EQ_STR(str_at(plan.res[4].body,
	                  "properties.activities.0.typeProperties.source.userScopeFilterUri"),
	           "https://graph.microsoft.com/v1.0/users?$filter=Department eq 'Finance'",
	           "userScopeFilterUri");
	plan_free(&plan);

	TAP_EQ_INT(
	    plan_pipeline("{'dataset':'BasicDataSet_v0.CalendarView_v0','columns':['id','subject'],"
	                  "'dateFilter':{'column':null}}",
	                  NULL, &prof, SECRET, &plan),
	    0, "CalendarView: window without column");
	source = at(plan.res[4].body, "properties.activities.0.typeProperties.source");
	TAP_OK(!at(source, "dateFilterColumn") && str_at(source, "startTime") &&
	           str_at(source, "endTime"),
	       "  start/end, no dateFilterColumn");
	plan_free(&plan);

	TAP_EQ_INT(
	    plan_pipeline("{'dataset':'BasicDataSet_v0.SharePointSites_v1','columns':['Id','Url'],"
	                  "'dateFilter':{'column':'snapshotdate','start':'2026-11-01T00:00:00Z','"
	                  "end':'2026-11-01T00:00:00Z'}}",
	                  NULL, &prof, SECRET, &plan),
	    0, "SharePoint: start == end (full snapshot) accepted");
	TAP_EQ_STR(str_at(plan.res[4].body,
	                  "properties.activities.0.typeProperties.source.dateFilterColumn"),
	           "SnapshotDate", "  SnapshotDate");
	plan_free(&plan);
	TAP_EQ_INT(
	    plan_pipeline("{'dataset':'BasicDataSet_v0.SharePointSites_v1','columns':['Id'],"
	                  "'dateFilter':{'column':'SnapshotDate','start':'2026-10-20T00:00:00Z','"
	                  "end':'2026-11-08T00:00:00Z'}}",
	                  NULL, &prof, SECRET, &plan),
	    0, "SharePoint: a delta between the first and the last date kept");
	plan_free(&plan);
	TAP_EQ_INT(plan_pipeline(
	               "{'dataset':'BasicDataSet_v0.SharePointFileActions_v1','columns':['SiteId'],"
	               "'dateFilter':{'column':'SnapshotDate','start':'2026-11-08T00:00:00Z','"
	               "end':'2026-11-08T00:00:00Z'}}",
	               NULL, &prof, SECRET, &plan),
	           0, "FileActions: one day's actions (start == end)");
	plan_free(&plan);
	TAP_EQ_INT(plan_pipeline("{'dataset':'VivaInsightsDataset_Report_v1_Weekly_collab-2',"
	                         "'columns':['PersonId','MetricDate','Collaboration hours'],"
	                         "'dateFilter':null}",
	                         NULL, &prof, SECRET, &plan),
	           0, "Viva Insights report: a name of the form, with a query metric column");
	TAP_EQ_STR(str_at(plan.res[2].body, "properties.typeProperties.tableName"),
	           "VivaInsightsDataset_Report_v1_Weekly_collab-2",
	           "  tableName is the report's name");
	TAP_EQ_STR(str_at(plan.res[4].body,
	                  "properties.activities.0.typeProperties.source.outputColumns.2.name"),
	           "Collaboration hours", "  metric column kept");
	plan_free(&plan);

	TAP_EQ_INT(
	    plan_pipeline(
	        "{'parameters':{'from':'2026-11-01T00:00:00Z','to':'2026-11-08T00:00:00.5Z','n':3,"
	        "'x':2.5,'big':1e300},"
	        "'dateFilter':{'start':'@pipeline().parameters.from','end':'@pipeline().parameters."
	        "to'}}",
	        reg_ok, &prof, SECRET, &plan),
	    0, "window from pipeline parameters");
	params = at(plan.res[4].body, "properties.parameters");
	TAP_EQ_STR(str_at(params, "from.type"), "string", "parameter type");
	TAP_EQ_STR(str_at(params, "to.defaultValue"), "2026-11-08T00:00:00.5Z",
	           "parameter default");
	TAP_EQ_STR(str_at(params, "n.type"), "int", "numeric parameter");
	TAP_EQ_STR(str_at(params, "x.type"), "float", "fractional parameter");
	TAP_EQ_STR(str_at(params, "big.type"), "float", "1e300 is a float (no integer overflow)");
	TAP_EQ_STR(str_at(plan.res[4].body,
	                  "properties.activities.0.typeProperties.source.startTime.value"),
	           "@pipeline().parameters.from", "startTime is an expression");
	plan_free(&plan);

	kv.keyvault = "corp-kv";
	TAP_EQ_INT(plan_pipeline("{}", reg_ok, &kv, NULL, &plan), 0,
	           "Key Vault profile needs no secret");
	TAP_EQ_STR(str_at(plan.res[0].body, "properties.typeProperties.servicePrincipalKey.type"),
	           "AzureKeyVaultSecret", "source key from Key Vault");
	TAP_EQ_STR(str_at(plan.res[0].body,
	                  "properties.typeProperties.servicePrincipalKey.store.referenceName"),
	           "corp-kv", "Key Vault linked service");
	TAP_EQ_STR(
	    str_at(plan.res[0].body, "properties.typeProperties.servicePrincipalKey.secretName"),
	    "mgdcfs-" APPID, "default secret name");
	TAP_EQ_STR(str_at(plan.res[1].body, "properties.typeProperties.servicePrincipalKey.type"),
	           "AzureKeyVaultSecret", "sink authenticates as the app through Key Vault");
	plan_free(&plan);
	TAP_EQ_INT(plan_pipeline("{}", reg_ok, &kv, SECRET, &plan), 0,
	           "Key Vault profile with a secret given");
	t = cJSON_PrintUnformatted(plan.res[0].body);
	TAP_OK(!strstr(t, SECRET), "  the secret is not used when a Key Vault is named");
	free(t);
	plan_free(&plan);

	adls = cJSON_Duplicate(reg_ok, 1);
	cJSON_ReplaceItemInObjectCaseSensitive(
	    cJSON_GetObjectItem(adls, "destination"), "uri",
	    cJSON_CreateString("https://mgdcsandbox.dfs.core.windows.net/"));
	TAP_EQ_INT(plan_pipeline("{}", adls, &prof, SECRET, &plan), 0, "ADLS Gen2 destination");
	TAP_EQ_STR(str_at(plan.res[1].body, "properties.type"), "AzureBlobFS",
	           "  AzureBlobFS linked service");
	TAP_EQ_STR(str_at(plan.res[1].body, "properties.typeProperties.url"),
	           "https://mgdcsandbox.dfs.core.windows.net/", "  url");
	TAP_EQ_STR(str_at(plan.res[3].body, "properties.typeProperties.location.type"),
	           "AzureBlobFSLocation", "  AzureBlobFSLocation");
	TAP_EQ_STR(str_at(plan.res[3].body, "properties.typeProperties.location.fileSystem"),
	           "exports", "  fileSystem");
	TAP_EQ_STR(str_at(plan.res[4].body,
	                  "properties.activities.0.typeProperties.sink.storeSettings.type"),
	           "AzureBlobFSWriteSettings", "  write settings");
	plan_free(&plan);
	cJSON_Delete(adls);
}

/* Names ADF accepts for every pipeline name mgdcfs accepts; readable specs old and new. */
static void test_plan_names(void)
{
	struct plan_names a, b;
	cJSON *pipe, *spec;

	TAP_EQ_INT(plan_names("week45", &a), 0, "plan_names week45");
	TAP_EQ_STR(a.sink, "mgdcfs_week45_sink", "  no hash when nothing was replaced");
	TAP_EQ_INT(plan_names("week-45", &a), 0, "plan_names week-45");
	TAP_EQ_INT(plan_names("week_45", &b), 0, "plan_names week_45");
	TAP_OK(strncmp(a.o365, "mgdcfs_week_45_", 15) == 0 && strlen(a.o365) == 15 + 8 + 5,
	       "  '-' becomes '_' with a hash: %s", a.o365);
	TAP_OK(strcmp(a.o365, b.o365) != 0, "  week-45 and week_45 never share resources");
	TAP_OK(plan_resource_name_ok(ADF_LINKED_SERVICE, a.o365) &&
	           plan_resource_name_ok(ADF_DATASET, a.dst),
	       "  both follow ADF's naming rules");
	TAP_EQ_INT(
	    plan_names("a123456789012345678901234567890123456789012345678901234567890bc", &a), 0,
	    "a 63-character name fits");
	TAP_OK(!plan_resource_name_ok(ADF_LINKED_SERVICE, "mgdcfs-x-o365") &&
	           !plan_resource_name_ok(ADF_DATASET, "1abc") &&
	           !plan_resource_name_ok(ADF_DATASET, "_abc") &&
	           plan_resource_name_ok(ADF_PIPELINE, "week-45") &&
	           !plan_resource_name_ok(ADF_PIPELINE, "a.b") &&
	           !plan_resource_name_ok(ADF_PIPELINE, "9x"),
	       "plan_resource_name_ok: the rules of ADF's naming rules page");
	/* A pipeline written before 0.2 kept its spec as an object annotation. */
	pipe = cJSON_Parse("{\"properties\":{\"annotations\":[\"mgdcfs\",{\"mgdcfsSpec\":"
	                   "{\"app\":\"old\"}}]}}");
	spec = plan_spec_of(pipe);
	TAP_EQ_STR(str_at(spec, "app"), "old", "plan_spec_of reads the old object annotation");
	TAP_OK(plan_app_of(pipe) == NULL, "  and knows no appId there");
	cJSON_Delete(spec);
	cJSON_Delete(pipe);
	/* A description that is not ours, or not JSON, is no spec. */
	pipe = cJSON_Parse("{\"properties\":{\"description\":\"{\\\"app\\\":\\\"x\\\"}\","
	                   "\"annotations\":[]}}");
	TAP_OK(plan_spec_of(pipe) == NULL,
	       "a description without the mgdcfs annotation is not read");
	cJSON_Delete(pipe);
	pipe = cJSON_Parse("{\"properties\":{\"description\":\"weekly mail\","
	                   "\"annotations\":[\"mgdcfs\",\"appId=\"]}}");
	TAP_OK(plan_spec_of(pipe) == NULL && plan_app_of(pipe) == NULL,
	       "a prose description and an empty appId are nothing");
	cJSON_Delete(pipe);
}

/* A portal-only app known only by its appId: validated against the catalog alone. */
static void test_portal_only_app(void)
{
	struct pipeline_plan plan;
	cJSON *known = cJSON_Parse("{\"appId\": \"33333333-3333-3333-3333-333333333333\"}");

	TAP_EQ_INT(plan_pipeline("{'columns':['id','bodyPreview']}", known, &prof, SECRET, &plan),
	           0, "an appId without an approval: catalog columns accepted");
	TAP_EQ_STR(str_at(plan.res[0].body, "properties.typeProperties.servicePrincipalId"),
	           "33333333-3333-3333-3333-333333333333", "  the pipeline signs in as that app");
	TAP_EQ_STR(str_at(plan.res[1].body, "properties.typeProperties.servicePrincipalId"),
	           "33333333-3333-3333-3333-333333333333", "  the sink too");
	plan_free(&plan);
	cJSON_Delete(known);
}

static void test_passthrough(void)
{
	size_t len = 0;
	char *text = fixture_read(FIX "pipeline_full_adf.json", &len), err[600];
	cJSON *orig = text ? cJSON_Parse(text) : NULL, *shown;
	struct pipeline_plan plan;

	TAP_EQ_INT(spec_parse_pipeline("pipelines/raw.json", text, len, &prof, cat, reg_ok, SECRET,
	                               &plan, err, sizeof(err)),
	           0, "full ADF pipeline accepted");
	TAP_OK(plan.passthrough && plan.n == 1 && plan.res[0].kind == ADF_PIPELINE,
	       "  one pipeline resource");
	TAP_EQ_STR(plan.res[0].name, "raw", "  named after the file");
	TAP_OK(cJSON_Compare(plan.res[0].body, orig, 1), "  body passed through unchanged");
	TAP_OK(plan.spec == NULL, "  no spec of its own: pipelines/raw.json shows the resource");
	shown = plan_spec_of(plan.res[0].body);
	TAP_OK(shown == NULL, "  and plan_spec_of finds none in it");
	cJSON_Delete(shown);
	cJSON_Delete(orig);
	plan_free(&plan);
	free(text);
}

static void test_good_registration(void)
{
	char err[600], *text = q(base_registration);
	const struct catalog_dataset *msg = catalog_find(cat, "BasicDataSet_v0.Message_v1");
	cJSON *body = NULL;

	TAP_EQ_INT(
	    spec_parse_registration(RFILE, text, strlen(text), &prof, cat, &body, err, sizeof(err)),
	    0, "minimum registration accepted");
	TAP_EQ_STR(str_at(body, "appId"), APPID, "appId from the profile");
	TAP_EQ_STR(str_at(body, "name"), "mail", "name from the file name");
	TAP_EQ_STR(str_at(body, "publishType"), "SingleTenant", "publishType default");
	TAP_EQ_STR(str_at(body, "computeType"), "AzureDataFactory", "computeType default");
	TAP_EQ_STR(str_at(body, "activityType"), "CopyActivity", "activityType default");
	TAP_EQ_STR(str_at(body, "destination.type"), "AzureStorageAccount",
	           "destination type default");
	TAP_EQ_STR(str_at(body, "destination.subscriptionId"), prof.subscription_id,
	           "subscription from the profile");
	TAP_EQ_STR(str_at(body, "destination.resourceGroup"), "mgdc-rg",
	           "resource group from the profile");
	TAP_EQ_STR(str_at(body, "destination.storageAccount"), "mgdcsandbox",
	           "account from the profile");
	TAP_EQ_STR(str_at(body, "destination.uri"), prof.blob_endpoint, "uri = blob endpoint");
	TAP_EQ_STR(str_at(body, "destination.container"), "exports", "container");
	TAP_EQ_STR(str_at(body, "datasets.0.columns.2"), "receivedDateTime", "columns kept");
	TAP_EQ_STR(str_at(body, "datasets.0.scope.kind"), "AllUsers", "scope kind");
	cJSON_Delete(body);
	free(text);

	text = patched(base_registration, "{'appId':'12345678-1234-1234-1234-123456789abc','"
	                                  "description':'d','publishType':'MultiTenant',"
	                                  "'destination':{'folder':'mail'},'datasets':[{'name':'"
	                                  "BasicDataSet_v0.Message_v1','columns':'all'},"
	                                  "{'name':'BasicDataSet_v0.GroupDetails_v0','columns':['"
	                                  "id']},{'name':'BasicDataSet_v0.User_v1',"
	                                  "'columns':['id'],'scope':{'kind':'Groups','groupIds':['"
	                                  "0a0a0a0a-0000-0000-0000-000000000001']}}]}");
	TAP_EQ_INT(
	    spec_parse_registration(RFILE, text, strlen(text), &prof, cat, &body, err, sizeof(err)),
	    0, "full registration accepted");
	TAP_EQ_STR(str_at(body, "appId"), "12345678-1234-1234-1234-123456789abc", "explicit appId");
	TAP_EQ_STR(str_at(body, "publishType"), "MultiTenant", "explicit publishType");
	TAP_EQ_STR(str_at(body, "destination.folder"), "mail", "folder");
	TAP_EQ_INT(cJSON_GetArraySize(at(body, "datasets.0.columns")), (long long)msg->n_columns,
	           "\"all\" expands to every catalog column");
	TAP_EQ_STR(str_at(body, "datasets.0.columns.0"), msg->columns[0].name,
	           "  in catalog order");
	TAP_EQ_STR(str_at(body, "datasets.1.scope.kind"), "AllGroups",
	           "group dataset defaults to AllGroups");
	TAP_EQ_STR(str_at(body, "datasets.2.scope.groupIds.0"),
	           "0a0a0a0a-0000-0000-0000-000000000001", "groupIds");
	cJSON_Delete(body);
	free(text);

	text = patched(base_registration,
	               "{'datasets':[{'name':'VivaInsightsDataset_Report_v1_Weekly','columns':['"
	               "PersonId','Meeting hours']},{'name':'BasicDataSet_v0.SharePointSites_v1',"
	               "'columns':'all'}]}");
	TAP_EQ_INT(
	    spec_parse_registration(RFILE, text, strlen(text), &prof, cat, &body, err, sizeof(err)),
	    0, "Viva report and SharePoint registration accepted");
	TAP_EQ_STR(str_at(body, "datasets.0.name"), "VivaInsightsDataset_Report_v1_Weekly",
	           "  a report is registered under its own name");
	TAP_EQ_STR(str_at(body, "datasets.0.columns.1"), "Meeting hours", "  metric column kept");
	TAP_EQ_STR(str_at(body, "datasets.0.scope.kind"), "AllUsers", "  tenant scope kind");
	TAP_EQ_STR(str_at(body, "datasets.1.scope.kind"), "AllSites", "  SharePoint scope kind");
	cJSON_Delete(body);
	free(text);
}

static void test_values(void)
{
	char err[300];
	cJSON *params, *pipe;
	int v = -1;

	TAP_EQ_INT(
	    spec_parse_data_connect("tenant/data-connect", "enabled\n", 8, &v, err, sizeof(err)), 0,
	    "data-connect: enabled\\n");
	TAP_EQ_INT(v, 1, "  enabled");
	TAP_EQ_INT(spec_parse_data_connect("tenant/data-connect", " disabled \r\n", 12, &v, err,
	                                   sizeof(err)),
	           0, "data-connect: surrounding whitespace");
	TAP_EQ_INT(v, 0, "  disabled");
	check_err(
	    spec_parse_data_connect("tenant/data-connect", "Enabled", 7, &v, err, sizeof(err)),
	    -EINVAL, err, "tenant/data-connect", "$", "'enabled' or 'disabled'",
	    "data-connect: wrong case");
	check_err(spec_parse_data_connect("tenant/data-connect", "", 0, &v, err, sizeof(err)),
	          -EINVAL, err, "tenant/data-connect", "$", NULL, "data-connect: empty");
	TAP_EQ_INT(spec_parse_consent("apps/mail/consent", "approve\n", 8, &v, err, sizeof(err)), 0,
	           "consent approve");
	TAP_EQ_INT(v, 1, "  approve");
	TAP_EQ_INT(spec_parse_consent("apps/mail/consent", "decline", 7, &v, err, sizeof(err)), 0,
	           "consent decline");
	TAP_EQ_INT(v, 0, "  decline");
	check_err(spec_parse_consent("apps/mail/consent", "yes\n\x01", 5, &v, err, sizeof(err)),
	          -EINVAL, err, "apps/mail/consent", "$", "'approve' or 'decline'",
	          "consent: other word");

	TAP_EQ_INT(
	    spec_parse_trigger("pipelines/w/trigger", "", 0, NULL, &params, err, sizeof(err)), 0,
	    "trigger: empty write");
	TAP_OK(cJSON_IsObject(params) && cJSON_GetArraySize(params) == 0, "  = {}");
	cJSON_Delete(params);
	TAP_EQ_INT(
	    spec_parse_trigger("pipelines/w/trigger", " {}\n", 4, NULL, &params, err, sizeof(err)),
	    0, "trigger: {}");
	cJSON_Delete(params);
	pipe = cJSON_Parse("{\"properties\":{\"parameters\":{\"from\":{\"type\":\"string\"}}}}");
	TAP_EQ_INT(spec_parse_trigger("pipelines/w/trigger", "{\"from\":\"2026-11-02T00:00:00Z\"}",
	                              31, pipe, &params, err, sizeof(err)),
	           0, "trigger: declared parameter");
	TAP_EQ_STR(str_at(params, "from"), "2026-11-02T00:00:00Z", "  value kept");
	cJSON_Delete(params);
	check_err(spec_parse_trigger("pipelines/w/trigger", "{\"form\":1}", 10, pipe, &params, err,
	                             sizeof(err)),
	          -EINVAL, err, "pipelines/w/trigger", "form", "declared parameters: from",
	          "trigger: unknown parameter");
	check_err(
	    spec_parse_trigger("pipelines/w/trigger", "[1]", 3, pipe, &params, err, sizeof(err)),
	    -EINVAL, err, "pipelines/w/trigger", "$", "expected an object",
	    "trigger: not an object");
	check_err(spec_parse_trigger("pipelines/w/trigger", "{\"a\":", 5, NULL, &params, err,
	                             sizeof(err)),
	          -EINVAL, err, "pipelines/w/trigger", "line 1, column 5", "malformed JSON",
	          "trigger: truncated JSON");
	cJSON_Delete(pipe);
}

/* "sample": N is the source's AdditionalDataSetProperties; the estimate twin samples top 1. */
static void test_sample(void)
{
	static const char *const top_path =
	    "properties.activities.0.typeProperties.source.AdditionalDataSetProperties.top";
	struct pipeline_plan plan, full;
	struct plan_names n;
	cJSON *pipe = NULL, *twin = NULL, *spec;
	const cJSON *v;

	TAP_EQ_INT(plan_pipeline("{" SITES_A ",'sample':100}", NULL, &prof, SECRET, &plan), 0,
	           "a sample of SharePoint sites accepted");
	v = at(plan.res[4].body, top_path);
	TAP_OK(cJSON_IsNumber(v) && v->valuedouble == 100,
	       "  the source asks for AdditionalDataSetProperties.top 100");
	TAP_OK(
	    cJSON_GetArraySize(at(plan.res[4].body, "properties.activities.0.typeProperties.source."
	                                            "AdditionalDataSetProperties")) == 1,
	    "  and nothing else");
	v = cJSON_GetObjectItem(plan.spec, "sample");
	TAP_OK(cJSON_IsNumber(v) && v->valuedouble == 100, "  spec.json keeps \"sample\": 100");
	plan_free(&plan);
	TAP_EQ_INT(plan_pipeline("{" SITES_A ",'sample':2147483647}", NULL, &prof, SECRET, &plan),
	           0, "the largest sample accepted");
	plan_free(&plan);

	TAP_EQ_INT(plan_pipeline("{" SITES_A "}", NULL, &prof, SECRET, &full), 0,
	           "the full pull of the same spec");
	TAP_OK(!at(full.res[4].body, top_path), "  asks for no sample");
	/* The pipeline as GET returns it: its name and properties. */
	pipe = cJSON_Duplicate(full.res[4].body, 1);
	cJSON_AddStringToObject(pipe, "name", "week45");
	TAP_EQ_INT(plan_estimate(pipe, "week45", 1, &twin), 0, "plan_estimate: the sampling twin");
	v = at(twin, top_path);
	TAP_OK(cJSON_IsNumber(v) && v->valuedouble == 1, "  samples the top 1 object");
	TAP_OK(cJSON_Compare(at(twin, "properties.activities.0.inputs"),
	                     at(pipe, "properties.activities.0.inputs"), 1) &&
	           cJSON_Compare(at(twin, "properties.activities.0.outputs"),
	                         at(pipe, "properties.activities.0.outputs"), 1) &&
	           cJSON_Compare(
	               at(twin, "properties.activities.0.typeProperties.source.outputColumns"),
	               at(pipe, "properties.activities.0.typeProperties.source.outputColumns"), 1),
	       "  reads and writes what the pipeline does, with the same columns");
	TAP_EQ_STR(plan_estimate_of(twin), "week45", "plan_estimate_of: the twin samples week45");
	TAP_OK(!plan_estimate_of(pipe) && !plan_app_of(twin) && !plan_spec_of(twin),
	       "  the pipeline is no twin; the twin runs as no app and holds no spec");
	TAP_OK((spec = plan_spec_of(pipe)) && !cJSON_GetObjectItem(spec, "sample"),
	       "  the pipeline itself is unchanged");
	cJSON_Delete(spec);
	TAP_EQ_INT(plan_names("week45", &n), 0, "plan_names week45");
	TAP_EQ_STR(n.estimate, "mgdcfs_week45_estimate", "  its twin's name");
	TAP_OK(plan_resource_name_ok(ADF_PIPELINE, n.estimate), "  a valid pipeline name");
	cJSON_Delete(twin);
	twin = (cJSON *)1;
	cJSON_DeleteItemFromObject(
	    cJSON_GetObjectItem(at(pipe, "properties.activities.0.typeProperties"), "source"),
	    "type");
	TAP_EQ_INT(plan_estimate(pipe, "week45", 1, &twin), -EINVAL,
	           "plan_estimate: nothing to sample without an Office 365 source");
	TAP_OK(twin == NULL, "  no body");
	cJSON_Delete(pipe);
	plan_free(&full);
}

int main(void)
{
	size_t len = 0;
	char *text = fixture_read(FIX "catalog.json", &len), err[256];

	TAP_OK(text && catalog_parse(text, len, &cat, err, sizeof(err)) == 0,
	       "fixture catalog (run from the repo root)");
	free(text);
	reg_ok = load_json(FIX "registration.json");
	reg_update = load_json(FIX "registration_update.json");
	TAP_OK(cat && reg_ok && reg_update, "fixtures loaded");
	if (!cat || !reg_ok || !reg_update)
		return tap_done();
	test_bad_pipelines();
	test_bad_pipeline_text();
	test_bad_pipeline_other();
	test_bad_registrations();
	test_good_pipeline();
	test_defaults();
	test_variants();
	test_plan_names();
	test_sample();
	test_portal_only_app();
	test_passthrough();
	test_good_registration();
	test_values();
	cJSON_Delete(reg_ok);
	cJSON_Delete(reg_update);
	catalog_free(cat);
	return tap_done();
}
