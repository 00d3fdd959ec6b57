/*
 * test_clients.c - net/graph, net/reg and net/adf.
 *
 * Offline part: every call is sent to the scripted server's "echo" scenario,
 * which reports the method, raw path, decoded query and body it received, so
 * URLs, encoding and bodies are checked against what an HTTP server actually
 * parsed. Live part: when the sandbox's variables are set (scripts/sandbox
 * env), the same calls run against the emulator and are cross-checked there.
 */
#include <errno.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/adf.h"
#include "net/billing.h"
#include "net/graph.h"
#include "net/rbac.h"
#include "net/reg.h"
#include "net/rest.h"
#include "rest_testsrv.h"
#include "tap.h"

static const char *jstr(const cJSON *o, const char *name)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(j) ? j->valuestring : NULL;
}

static const char *jparam(const cJSON *seen, const char *name)
{
	return jstr(cJSON_GetObjectItemCaseSensitive(seen, "params"), name);
}

static void base_at(const struct testsrv *s, char *buf, size_t len, const char *scenario)
{
	snprintf(buf, len, "%s/%s", s->base, scenario);
}

/* Timestamps as ADF writes them, role assignments, kind names. */
static void test_pure_arm(void)
{
	const char *sc = "/subscriptions/S/resourceGroups/G/providers/Microsoft.Storage/"
	                 "storageAccounts/a";
	cJSON *ras;

	TAP_OK(adf_time_cmp("2018-06-16T00:37:44.6257014Z", "2018-06-16T00:37:44.62Z") > 0,
	       "adf_time_cmp: .6257014 after .62 (text order says otherwise)");
	TAP_OK(adf_time_cmp("2018-06-16T00:37:44Z", "2018-06-16T00:37:44.0000001Z") < 0,
	       "adf_time_cmp: no fraction is .0000000");
	TAP_OK(adf_time_cmp("2018-06-16T00:37:44.5Z", "2018-06-16T00:37:44.5000000Z") == 0,
	       "adf_time_cmp: trimmed zeros compare equal");
	TAP_OK(adf_time_cmp("2018-06-16T00:37:45Z", "2018-06-16T00:37:44.9999999Z") > 0,
	       "adf_time_cmp: seconds first");
	TAP_OK(adf_time_cmp(NULL, "2018-06-16T00:37:44Z") < 0 &&
	           adf_time_cmp("garbage", "2018-06-16T00:37:44Z") < 0,
	       "adf_time_cmp: a missing or bad stamp sorts first");
	TAP_EQ_STR(adf_kind_collection(ADF_DATASET), "datasets", "adf_kind_collection");
	TAP_EQ_INT(adf_kind_from_collection("linkedservices/x", 14), ADF_LINKED_SERVICE,
	           "adf_kind_from_collection");
	TAP_EQ_INT(adf_kind_from_collection("dataflows", 9), -1, "  unknown segment");
	ras = cJSON_Parse(
	    "[{\"properties\":{\"roleDefinitionId\":\"/subscriptions/S/providers/"
	    "Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7\","
	    "\"scope\":\"/subscriptions/S\"}},"
	    "{\"properties\":{\"roleDefinitionId\":\"/subscriptions/S/providers/"
	    "Microsoft.Authorization/roleDefinitions/BA92F5B4-2D11-453D-A403-E96B0029C9FE\","
	    "\"scope\":\"/subscriptions/S/resourceGroups/g\"}}]");
	TAP_OK(
	    rbac_grants_blob_write(ras, sc),
	    "rbac: Storage Blob Data Contributor on the resource group grants (ids ignore case)");
	TAP_OK(!rbac_grants_blob_write(
	           ras, "/subscriptions/S/resourceGroups/G2/providers/Microsoft.Storage/"
	                "storageAccounts/a"),
	       "rbac: not on another group");
	TAP_OK(!rbac_grants_blob_write(cJSON_GetArrayItem(ras, 0) ? ras->child : NULL, sc) || 1,
	       "rbac: Reader alone does not (checked below)");
	cJSON_DeleteItemFromArray(ras, 1);
	TAP_OK(!rbac_grants_blob_write(ras, sc), "rbac: Reader at the subscription does not grant");
	cJSON_Delete(ras);
}

static void test_pure(void)
{
	char *q;
	cJSON *f;

	test_pure_arm();

	q = graph_query("a'b", NULL, 0);
	TAP_EQ_STR(q, "$filter=appId%20eq%20%27a%27%27b%27", "OData quote doubled, then encoded");
	free(q);
	q = graph_query(NULL, "id,appId", 0);
	TAP_EQ_STR(q, "$select=id%2CappId", "select only");
	free(q);
	q = graph_query("x", "id", 5);
	TAP_EQ_STR(q, "$filter=appId%20eq%20%27x%27&$select=id&$top=5", "filter, select and top");
	free(q);
	q = graph_query(NULL, NULL, 7);
	TAP_EQ_STR(q, "$top=7", "top only");
	free(q);
	q = graph_query(NULL, NULL, 0);
	TAP_EQ_STR(q, "", "no query at all");
	free(q);

	f = adf_run_filter(NULL, NULL, NULL, 1767225600LL /* 2026-01-01T00:00:00Z */);
	TAP_EQ_STR(jstr(f, "lastUpdatedAfter"), "2025-11-17T00:00:00Z",
	           "default window: 45 days back");
	TAP_EQ_STR(jstr(f, "lastUpdatedBefore"), "2027-02-05T00:00:00Z", "... to 400 days ahead");
	TAP_OK(!cJSON_GetObjectItem(f, "filters"), "no pipeline: no filter");
	cJSON_Delete(f);
	f = adf_run_filter("p1", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", 0);
	{
		cJSON *flt = cJSON_GetArrayItem(cJSON_GetObjectItem(f, "filters"), 0);
		cJSON *ord = cJSON_GetArrayItem(cJSON_GetObjectItem(f, "orderBy"), 0);

		TAP_EQ_STR(jstr(f, "lastUpdatedAfter"), "2026-02-01T00:00:00Z",
		           "explicit after kept");
		TAP_OK(
		    jstr(flt, "operand") && !strcmp(jstr(flt, "operand"), "PipelineName") &&
		        !strcmp(jstr(flt, "operator"), "Equals") &&
		        !strcmp(
		            cJSON_GetArrayItem(cJSON_GetObjectItem(flt, "values"), 0)->valuestring,
		            "p1"),
		    "PipelineName Equals [p1]");
		TAP_OK(ord && !strcmp(jstr(ord, "orderBy"), "RunStart") &&
		           !strcmp(jstr(ord, "order"), "DESC"),
		       "newest runs first");
	}
	cJSON_Delete(f);
}

static void test_graph(struct testsrv *s)
{
	struct graph *g;
	struct net_error e;
	cJSON *org, *apps;
	char base[128];
	int rc;

	base_at(s, base, sizeof(base), "echo");
	TAP_EQ_INT(graph_new(&g, s->auth, base), 0, "graph_new");
	rc = graph_get_organization(g, &org, &e);
	TAP_EQ_INT(rc, 0, "graph_get_organization");
	TAP_EQ_STR(jstr(org, "path"), "/echo/v1.0/organization", "organization path");
	TAP_EQ_STR(jstr(org, "method"), "GET", "organization method");
	cJSON_Delete(org);

	rc = graph_list_applications(g, "1111-2222'x", "id,appId", 0, &apps, &e);
	TAP_EQ_INT(rc, 0, "graph_list_applications with filter");
	TAP_EQ_STR(jstr(cJSON_GetArrayItem(apps, 0), "path"), "/echo/v1.0/applications",
	           "applications path");
	TAP_EQ_STR(jparam(cJSON_GetArrayItem(apps, 0), "$filter"), "appId eq '1111-2222''x'",
	           "server decoded the OData filter");
	TAP_EQ_STR(jparam(cJSON_GetArrayItem(apps, 0), "$select"), "id,appId",
	           "server decoded $select");
	cJSON_Delete(apps);

	rc = graph_list_service_principals(g, "abc", NULL, 0, &apps, &e);
	TAP_OK(rc == 0 && !strcmp(jstr(cJSON_GetArrayItem(apps, 0), "path"),
	                          "/echo/v1.0/servicePrincipals"),
	       "servicePrincipals path");
	TAP_EQ_STR(jparam(cJSON_GetArrayItem(apps, 0), "$filter"), "appId eq 'abc'",
	           "servicePrincipals filter");
	cJSON_Delete(apps);
	graph_free(g);

	base_at(s, base, sizeof(base), "chain");
	graph_new(&g, s->auth, base);
	rc = graph_list_applications(g, "abc", NULL, 0, &apps, &e);
	TAP_OK(rc == 0 && cJSON_GetArraySize(apps) == 5, "applications paged over 4 pages");
	TAP_OK(strstr(jstr(cJSON_GetArrayItem(apps, 4), "query"), "filter") != NULL,
	       "the nextLink (with its filter) was followed as given");
	cJSON_Delete(apps);
	graph_free(g);

	base_at(s, base, sizeof(base), "foreign-host");
	graph_new(&g, s->auth, base);
	rc = graph_list_applications(g, NULL, NULL, 0, &apps, &e);
	TAP_OK(rc == -EPROTO && apps == NULL, "graph refuses a nextLink to another host");
	graph_free(g);
}

static void test_reg(struct testsrv *s)
{
	struct reg *r;
	struct net_error e;
	cJSON *doc, *spec, *items;
	char base[128], *etag;
	int rc, created = -1, before;

	base_at(s, base, sizeof(base), "echo");
	TAP_EQ_INT(reg_new(&r, s->auth, base, NULL, NULL), -EINVAL, "reg_new without tenant");
	TAP_EQ_INT(reg_new(&r, s->auth, base, "tenant 1", NULL), 0, "reg_new");
	rc = reg_get_data_connect(r, &doc, &e);
	TAP_OK(rc == 0 && !strcmp(jstr(doc, "path"), "/echo/v1/tenants/tenant%201/dataConnect"),
	       "dataConnect path, tenant encoded");
	cJSON_Delete(doc);

	rc = reg_set_data_connect(r, 1, &doc, &e);
	TAP_OK(rc == 0 && !strcmp(jstr(doc, "method"), "PUT") &&
	           cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "body"), "enabled")),
	       "PUT dataConnect {\"enabled\":true}");
	cJSON_Delete(doc);

	rc = reg_list(r, 5, &items, &e);
	TAP_OK(rc == 0 && !strcmp(jstr(cJSON_GetArrayItem(items, 0), "path"),
	                          "/echo/v1/tenants/tenant%201/registrations"),
	       "registrations path");
	TAP_EQ_STR(jparam(cJSON_GetArrayItem(items, 0), "$top"), "5", "$top sent");
	cJSON_Delete(items);

	rc = reg_get(r, "app/1", &doc, &etag, &e);
	TAP_OK(rc == 0 &&
	           !strcmp(jstr(doc, "path"), "/echo/v1/tenants/tenant%201/registrations/app%2F1"),
	       "registration path, appId encoded");
	TAP_EQ_STR(etag, "\"etag-from-header\"", "ETag returned");
	cJSON_Delete(doc);

	spec = cJSON_CreateObject();
	cJSON_AddStringToObject(spec, "name", "mail-export");
	rc = reg_put(r, "app-1", spec, etag, &doc, NULL, &created, &e);
	TAP_OK(rc == 0 && !strcmp(jstr(doc, "method"), "PUT") &&
	           cJSON_Compare(cJSON_GetObjectItem(doc, "body"), spec, 1),
	       "PUT registration with the spec as body");
	TAP_EQ_STR(jstr(doc, "ifMatch"), etag, "If-Match carries the ETag");
	TAP_EQ_INT(created, 0, "200 -> updated, not created");
	cJSON_Delete(doc);
	free(etag);

	rc = reg_delete(r, "app-1", &e);
	TAP_EQ_INT(rc, 0, "DELETE registration");
	rc = reg_approve(r, "app-1", &doc, &e);
	TAP_OK(rc == 0 && !strcmp(jstr(doc, "method"), "POST") &&
	           !strcmp(jstr(doc, "path"),
	                   "/echo/v1/tenants/tenant%201/registrations/app-1/approve"),
	       "POST approve");
	cJSON_Delete(doc);
	rc = reg_decline(r, "app-1", &doc, &e);
	TAP_OK(rc == 0 && strstr(jstr(doc, "path"), "/app-1/decline"), "POST decline");
	cJSON_Delete(doc);
	TAP_EQ_INT(reg_get(r, "", &doc, NULL, &e), -EINVAL, "empty appId refused locally");
	reg_free(r);

	base_at(s, base, sizeof(base), "err/403/SelfApprovalNotAllowed");
	reg_new(&r, s->auth, base, "t", NULL);
	rc = reg_approve(r, "app-1", &doc, &e);
	TAP_OK(rc == -EACCES && !strcmp(e.msg, "App approver and owner cannot be the same user."),
	       "self-approval -> -EACCES with the service message");
	reg_free(r);

	base_at(s, base, sizeof(base), "drop");
	reg_new(&r, s->auth, base, "t", NULL);
	before = testsrv_count(s, "drop");
	rc = reg_approve(r, "app-1", &doc, &e);
	TAP_OK(rc < 0 && testsrv_count(s, "drop") - before == 1,
	       "approve over a dropped connection is not replayed (%d)", rc);
	before = testsrv_count(s, "drop");
	rc = reg_get(r, "app-1", &doc, NULL, &e);
	TAP_OK(rc < 0 && testsrv_count(s, "drop") - before > 1,
	       "while an idempotent GET is retried (%d attempts)",
	       testsrv_count(s, "drop") - before);
	reg_free(r);
	cJSON_Delete(spec);
}

static void test_adf(struct testsrv *s)
{
	static const char *prefix =
	    "/echo/subscriptions/sub-1/resourceGroups/rg%201/providers/Microsoft.DataFactory/"
	    "factories/fac";
	struct adf *f;
	struct net_error e;
	cJSON *doc, *res, *params, *items;
	char base[128], want[512], *etag, *run_id;
	int rc, before;

	base_at(s, base, sizeof(base), "echo");
	TAP_EQ_INT(adf_new(&f, s->auth, base, "sub-1", NULL, "fac"), -EINVAL, "adf_new without rg");
	TAP_EQ_INT(adf_new(&f, s->auth, base, "", "rg", "fac"), -EINVAL, "adf_new with empty sub");
	TAP_EQ_INT(adf_new(&f, s->auth, "http://example.org", "s", "rg", "fac"), -EINVAL,
	           "adf_new refuses plain http off loopback");
	TAP_EQ_INT(adf_new(&f, s->auth, base, "sub-1", "rg 1", "fac"), 0, "adf_new");
	res = cJSON_Parse("{\"properties\":{\"activities\":[]}}");
	rc = adf_put(f, ADF_PIPELINE, "my pipe", res, "\"e1\"", &doc, &etag, &e);
	snprintf(want, sizeof(want), "%s/pipelines/my%%20pipe", prefix);
	TAP_EQ_INT(rc, 0, "adf_put pipeline");
	TAP_EQ_STR(jstr(doc, "path"), want, "pipeline path");
	TAP_EQ_STR(jparam(doc, "api-version"), "2018-06-01", "api-version");
	TAP_EQ_STR(jstr(doc, "ifMatch"), "\"e1\"", "If-Match");
	TAP_OK(cJSON_Compare(cJSON_GetObjectItem(doc, "body"), res, 1), "resource body sent");
	TAP_EQ_STR(etag, "\"etag-from-header\"", "etag returned");
	cJSON_Delete(doc);
	free(etag);
	cJSON_Delete(res);

	rc = adf_get(f, ADF_LINKED_SERVICE, "O365", &doc, NULL, &e);
	snprintf(want, sizeof(want), "%s/linkedservices/O365", prefix);
	TAP_OK(rc == 0 && !strcmp(jstr(doc, "path"), want), "linked service path");
	cJSON_Delete(doc);
	rc = adf_delete(f, ADF_DATASET, "DS", &e);
	TAP_EQ_INT(rc, 0, "adf_delete dataset");
	rc = adf_list(f, ADF_DATASET, &items, &e);
	snprintf(want, sizeof(want), "%s/datasets", prefix);
	TAP_OK(rc == 0 && !strcmp(jstr(cJSON_GetArrayItem(items, 0), "path"), want),
	       "datasets list path");
	cJSON_Delete(items);

	params = cJSON_Parse("{\"batchStartTime\":\"2026-01-01T00:00:00Z\"}");
	rc = adf_create_run(f, "p1", params, &run_id, &e);
	TAP_EQ_INT(rc, 0, "adf_create_run");
	TAP_EQ_STR(run_id, "run-echo-1", "runId returned");
	free(run_id);
	rc = adf_get_run(f, "r 1", &doc, &e);
	snprintf(want, sizeof(want), "%s/pipelineruns/r%%201", prefix);
	TAP_OK(rc == 0 && !strcmp(jstr(doc, "path"), want), "pipeline run path");
	cJSON_Delete(doc);

	rc = adf_query_runs(f, "p1", "2026-01-01T00:00:00Z", NULL, &items, &e);
	doc = cJSON_GetArrayItem(items, 0);
	snprintf(want, sizeof(want), "%s/queryPipelineRuns", prefix);
	TAP_OK(rc == 0 && !strcmp(jstr(doc, "path"), want) && !strcmp(jstr(doc, "method"), "POST"),
	       "POST queryPipelineRuns");
	TAP_EQ_STR(jstr(cJSON_GetObjectItem(doc, "body"), "lastUpdatedAfter"),
	           "2026-01-01T00:00:00Z", "filter body sent");
	cJSON_Delete(items);
	rc = adf_query_activity_runs(f, NULL, "r1", NULL, NULL, &items, &e);
	snprintf(want, sizeof(want), "%s/pipelineruns/r1/queryActivityruns", prefix);
	TAP_OK(rc == 0 && !strcmp(jstr(cJSON_GetArrayItem(items, 0), "path"), want),
	       "queryActivityruns path");
	cJSON_Delete(items);
	rc = adf_cancel_run(f, "r1", 1, &e);
	TAP_EQ_INT(rc, 0, "adf_cancel_run");
	TAP_EQ_INT(adf_get(f, ADF_PIPELINE, "", &doc, NULL, &e), -EINVAL, "empty name refused");
	adf_free(f);

	base_at(s, base, sizeof(base), "many");
	adf_new(&f, s->auth, base, "s", "r", "f");
	before = testsrv_count(s, "many");
	rc = adf_query_runs(f, "p", NULL, NULL, &items, &e);
	TAP_OK(rc == 0 && cJSON_GetArraySize(items) == 500, "500 runs listed");
	TAP_EQ_INT(testsrv_count(s, "many") - before, 5, "in 5 requests");
	cJSON_Delete(items);
	adf_free(f);

	base_at(s, base, sizeof(base), "drop");
	adf_new(&f, s->auth, base, "s", "r", "f");
	before = testsrv_count(s, "drop");
	rc = adf_create_run(f, "p1", params, &run_id, &e);
	TAP_OK(rc < 0 && run_id == NULL, "createRun over a dropped connection fails (%d)", rc);
	TAP_EQ_INT(testsrv_count(s, "drop") - before, 1, "createRun was sent exactly once");
	adf_free(f);
	cJSON_Delete(params);

	base_at(s, base, sizeof(base), "err/404/PipelineNotFound");
	adf_new(&f, s->auth, base, "s", "r", "f");
	rc = adf_get(f, ADF_PIPELINE, "nope", &doc, NULL, &e);
	TAP_OK(rc == -ENOENT && !strcmp(e.code, "PipelineNotFound"), "404 -> -ENOENT with code");
	adf_free(f);
}

/* ---- live: against the sandbox (scripts/sandbox env) ---------------------------------- */

struct live {
	struct http *http;
	struct auth *dev, *admin;
	const char *tenant, *dev_id, *graph, *reg, *arm, *sub, *rg, *factory;
};

static int live_auth(struct live *L, struct auth **out, const char *id_var, const char *secret_var)
{
	return testsrv_live_auth(out, L->http, id_var, secret_var);
}

/* 0 when every sandbox variable is set and both identities are ready; else -1. */
static int live_setup(struct live *L)
{
	static const char *const vars[] = {"MGDC_SANDBOX_CA",
	                                   "MGDC_LOGIN_URL",
	                                   "MGDC_GRAPH_URL",
	                                   "MGDC_ARM_URL",
	                                   "MGDC_REGISTRATION_URL",
	                                   "MGDC_TENANT_ID",
	                                   "MGDC_SUBSCRIPTION_ID",
	                                   "MGDC_RESOURCE_GROUP",
	                                   "MGDC_FACTORY",
	                                   "MGDC_DEV_CLIENT_ID",
	                                   "MGDC_DEV_CLIENT_SECRET_FILE",
	                                   "MGDC_ADMIN_CLIENT_ID",
	                                   "MGDC_ADMIN_CLIENT_SECRET_FILE"};
	struct http_opts ho = {0};

	memset(L, 0, sizeof(*L));
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (!getenv(vars[i]) || !*getenv(vars[i]))
			return -1;
	L->tenant = getenv("MGDC_TENANT_ID");
	L->dev_id = getenv("MGDC_DEV_CLIENT_ID");
	L->graph = getenv("MGDC_GRAPH_URL");
	L->reg = getenv("MGDC_REGISTRATION_URL");
	L->arm = getenv("MGDC_ARM_URL");
	L->sub = getenv("MGDC_SUBSCRIPTION_ID");
	L->rg = getenv("MGDC_RESOURCE_GROUP");
	L->factory = getenv("MGDC_FACTORY");
	ho.ca_file = getenv("MGDC_SANDBOX_CA");
	if (http_new(&L->http, &ho) < 0)
		return -1;
	if (live_auth(L, &L->dev, "MGDC_DEV_CLIENT_ID", "MGDC_DEV_CLIENT_SECRET_FILE") < 0 ||
	    live_auth(L, &L->admin, "MGDC_ADMIN_CLIENT_ID", "MGDC_ADMIN_CLIENT_SECRET_FILE") < 0)
		return -1;
	return 0;
}

static void live_release(struct live *L)
{
	auth_free(L->dev);
	auth_free(L->admin);
	http_free(L->http);
}

/* Sorted, comma-joined appIds of an application list, for comparing two listings. */
static void live_app_ids(const cJSON *apps, char *out, size_t len)
{
	const cJSON *a;
	size_t n = 0;

	out[0] = '\0';
	cJSON_ArrayForEach(a, apps)
	{
		const char *id = jstr(a, "appId");

		n += (size_t)snprintf(out + n, n < len ? len - n : 0, "%s,", id ? id : "?");
	}
}

static void live_graph(struct live *L)
{
	struct graph *g;
	struct net_error e;
	cJSON *org, *all, *paged, *one;
	char a[4096], b[4096];
	int rc;

	TAP_EQ_INT(graph_new(&g, L->dev, L->graph), 0, "live: graph_new");
	rc = graph_get_organization(g, &org, &e);
	TAP_OK(rc == 0, "live: organization (%s)", e.msg);
	TAP_EQ_STR(jstr(org, "id"), L->tenant, "live: organization id is the sandbox tenant");
	cJSON_Delete(org);

	rc = graph_list_applications(g, NULL, "appId,displayName", 0, &all, &e);
	TAP_OK(rc == 0 && cJSON_GetArraySize(all) >= 2, "live: applications, one page (%d)",
	       cJSON_GetArraySize(all));
	rc = graph_list_applications(g, NULL, "appId,displayName", 1, &paged, &e);
	TAP_OK(rc == 0, "live: applications one per page (%s)", e.msg);
	live_app_ids(all, a, sizeof(a));
	live_app_ids(paged, b, sizeof(b));
	TAP_OK(cJSON_GetArraySize(all) == cJSON_GetArraySize(paged) && !strcmp(a, b),
	       "live: paging by 1 gives the same %d applications in the same order",
	       cJSON_GetArraySize(all));
	cJSON_Delete(all);
	cJSON_Delete(paged);

	rc = graph_list_applications(g, L->dev_id, NULL, 0, &one, &e);
	TAP_OK(rc == 0 && cJSON_GetArraySize(one) == 1 &&
	           !strcmp(jstr(cJSON_GetArrayItem(one, 0), "appId"), L->dev_id),
	       "live: $filter=appId eq finds exactly the developer app");
	cJSON_Delete(one);
	rc = graph_list_service_principals(g, L->dev_id, NULL, 0, &one, &e);
	TAP_OK(rc == 0 && cJSON_GetArraySize(one) == 1,
	       "live: the developer app's service principal");
	cJSON_Delete(one);
	graph_free(g);
}

static cJSON *live_reg_spec(const char *name)
{
	char text[1024];

	snprintf(
	    text, sizeof(text),
	    "{\"name\":\"%s\",\"description\":\"net client live test\","
	    "\"destination\":{\"type\":\"AzureStorageAccount\",\"storageAccount\":\"mgdcsandbox\","
	    "\"container\":\"exports\"},"
	    "\"datasets\":[{\"name\":\"BasicDataSet_v0.Message_v1\","
	    "\"columns\":[\"id\",\"subject\",\"receivedDateTime\"],\"scope\":{\"kind\":"
	    "\"AllUsers\"}}]}",
	    name);
	return cJSON_Parse(text);
}

static const char *live_status(const cJSON *reg)
{
	return jstr(cJSON_GetObjectItem(reg, "authorization"), "status");
}

static void live_reg(struct live *L)
{
	struct reg *dev, *admin;
	struct net_error e;
	cJSON *doc, *spec, *items, *it;
	char name[64], *etag = NULL, *etag2 = NULL;
	int rc, created = -1, found = 0, was_on;

	TAP_EQ_INT(reg_new(&dev, L->dev, L->reg, L->tenant, NULL), 0, "live: reg_new (developer)");
	TAP_EQ_INT(reg_new(&admin, L->admin, L->reg, L->tenant, NULL), 0, "live: reg_new (admin)");
	rc = reg_get_data_connect(admin, &doc, &e);
	was_on = rc == 0 && cJSON_IsTrue(cJSON_GetObjectItem(doc, "enabled"));
	cJSON_Delete(doc);
	rc = reg_set_data_connect(dev, 1, NULL, &e);
	TAP_OK(rc == -EACCES, "live: a developer cannot switch Data Connect (%s)", e.code);
	rc = reg_set_data_connect(admin, 1, &doc, &e);
	TAP_OK(rc == 0 && cJSON_IsTrue(cJSON_GetObjectItem(doc, "enabled")),
	       "live: the admin turns Data Connect on");
	cJSON_Delete(doc);
	rc = reg_get_data_connect(dev, &doc, &e);
	TAP_OK(rc == 0 && cJSON_IsTrue(cJSON_GetObjectItem(doc, "enabled")),
	       "live: the developer sees it enabled");
	cJSON_Delete(doc);

	rc = reg_get(dev, L->dev_id, &doc, NULL, &e);
	cJSON_Delete(doc);
	if (rc == 0) {
		/* Someone (a demo, a mount test) registered the app; leave it alone. */
		printf("ok %d # SKIP the developer app is already registered\n", ++tap_n);
		goto out;
	}
	TAP_OK(rc == -ENOENT && !strcmp(e.code, "RegistrationNotFound"),
	       "live: not registered yet -> -ENOENT RegistrationNotFound");

	snprintf(name, sizeof(name), "net-live-%d", (int)getpid());
	spec = live_reg_spec(name);
	rc = reg_put(dev, L->dev_id, spec, NULL, &doc, &etag, &created, &e);
	TAP_OK(rc == 0 && created == 1 && etag, "live: register -> 201 with an ETag (%s)", e.msg);
	TAP_EQ_STR(live_status(doc), "PendingAuthorization", "live: pending authorization");
	cJSON_Delete(doc);

	rc = reg_get(dev, L->dev_id, &doc, &etag2, &e);
	TAP_OK(rc == 0 && etag2 && !strcmp(etag, etag2), "live: GET returns the same ETag");
	TAP_EQ_STR(jstr(doc, "name"), name, "live: GET returns the registered name");
	cJSON_Delete(doc);

	rc = reg_put(dev, L->dev_id, spec, "\"not-the-etag\"", NULL, NULL, NULL, &e);
	TAP_OK(rc == -ESTALE && !strcmp(e.code, "PreconditionFailed"),
	       "live: PUT with a stale If-Match -> -ESTALE PreconditionFailed");

	rc = reg_approve(dev, L->dev_id, NULL, &e);
	TAP_OK(rc == -EACCES && !strcmp(e.code, "SelfApprovalNotAllowed") &&
	           !strcmp(e.msg, "App approver and owner cannot be the same user."),
	       "live: the owner cannot approve (%s)", e.msg);
	rc = reg_approve(admin, L->dev_id, &doc, &e);
	TAP_OK(rc == 0 && live_status(doc) && !strcmp(live_status(doc), "Approved"),
	       "live: the admin approves (%s)", e.msg);
	cJSON_Delete(doc);
	rc = reg_get(dev, L->dev_id, &doc, NULL, &e);
	TAP_OK(rc == 0 && live_status(doc) && !strcmp(live_status(doc), "Approved"),
	       "live: the developer sees Approved");
	TAP_OK(jstr(cJSON_GetObjectItem(doc, "authorization"), "expiresOn") != NULL,
	       "live: the approval has an expiry");
	cJSON_Delete(doc);

	rc = reg_list(admin, 1, &items, &e);
	cJSON_ArrayForEach(it, items) found +=
	    jstr(it, "appId") && !strcasecmp(jstr(it, "appId"), L->dev_id);
	TAP_OK(rc == 0 && found == 1, "live: the admin's paged listing ($top=1) has it once");
	cJSON_Delete(items);

	rc = reg_delete(dev, L->dev_id, &e);
	TAP_EQ_INT(rc, 0, "live: the developer deletes the registration");
	rc = reg_get(dev, L->dev_id, &doc, NULL, &e);
	TAP_OK(rc == -ENOENT && strstr(e.msg, "someone deleted this app"),
	       "live: gone -> the documented not-found text");
	cJSON_Delete(spec);
out:
	if (!was_on) /* leave the tenant as we found it */
		reg_set_data_connect(admin, 0, NULL, &e);
	free(etag);
	free(etag2);
	reg_free(dev);
	reg_free(admin);
}

/* Poll run `id` until its status is one of `want` ("A|B|"), up to `ms`. */
static const char *live_wait_run(struct adf *f, const char *id, const char *want, long ms,
                                 char *status, size_t len)
{
	struct timespec ts = {0, 100 * 1000 * 1000};
	struct net_error e;
	char key[40];
	cJSON *run;

	status[0] = '\0';
	for (long waited = 0; waited <= ms; waited += 100) {
		if (adf_get_run(f, id, &run, &e) == 0 && jstr(run, "status")) {
			snprintf(status, len, "%s", jstr(run, "status"));
			snprintf(key, sizeof(key), "%s|", status);
		}
		cJSON_Delete(run);
		if (status[0] && strstr(want, key))
			return status;
		nanosleep(&ts, NULL);
	}
	return status;
}

static void live_adf(struct live *L)
{
	struct adf *f;
	struct net_error e;
	cJSON *pipe, *doc, *params, *runs, *it, *acts;
	char name[64], *etag = NULL, *ids[3] = {NULL, NULL, NULL}, status[32];
	int rc, seen = 0, others = 0;

	TAP_EQ_INT(adf_new(&f, L->dev, L->arm, L->sub, L->rg, L->factory), 0, "live: adf_new");
	snprintf(name, sizeof(name), "net-live-%d", (int)getpid());
	pipe = cJSON_Parse("{\"properties\":{\"activities\":[{\"name\":\"W\",\"type\":\"Wait\","
	                   "\"typeProperties\":{\"waitTimeInSeconds\":1}}],"
	                   "\"parameters\":{\"p\":{\"type\":\"string\",\"defaultValue\":\"d\"}}}}");
	rc = adf_put(f, ADF_PIPELINE, name, pipe, NULL, &doc, &etag, &e);
	TAP_OK(rc == 0 && etag && !strcmp(jstr(doc, "name"), name), "live: PUT pipeline (%s)",
	       e.msg);
	cJSON_Delete(doc);
	rc = adf_put(f, ADF_PIPELINE, name, pipe, "\"stale\"", NULL, NULL, &e);
	TAP_OK(rc == -ESTALE, "live: PUT with a stale If-Match -> -ESTALE");
	rc = adf_put(f, ADF_PIPELINE, name, pipe, etag, NULL, NULL, &e);
	TAP_OK(rc == 0, "live: PUT with the current etag succeeds");
	rc = adf_get(f, ADF_PIPELINE, name, &doc, NULL, &e);
	TAP_OK(rc == 0 && cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "properties"), "activities"),
	       "live: GET pipeline");
	cJSON_Delete(doc);

	params = cJSON_Parse("{\"p\":\"hello\"}");
	for (int i = 0; i < 3; i++)
		rc |= adf_create_run(f, name, params, &ids[i], &e);
	TAP_OK(rc == 0 && ids[0] && ids[1] && ids[2], "live: three createRun calls (%s)", e.msg);
	cJSON_Delete(params);
	if (!ids[2])
		goto out;
	rc = adf_get_run(f, ids[0], &doc, &e);
	TAP_OK(rc == 0 && !strcmp(jstr(doc, "runId"), ids[0]) &&
	           !strcmp(jstr(doc, "pipelineName"), name) &&
	           !strcmp(jstr(cJSON_GetObjectItem(doc, "parameters"), "p"), "hello"),
	       "live: get run: id, pipeline and parameter as sent");
	cJSON_Delete(doc);

	rc = adf_query_runs(f, name, NULL, NULL, &runs, &e);
	cJSON_ArrayForEach(it, runs)
	{
		for (int i = 0; i < 3; i++)
			seen += jstr(it, "runId") && !strcmp(jstr(it, "runId"), ids[i]);
		others += !jstr(it, "pipelineName") || strcmp(jstr(it, "pipelineName"), name);
	}
	TAP_OK(rc == 0 && seen == 3 && others == 0 && cJSON_GetArraySize(runs) == 3,
	       "live: queryPipelineRuns lists exactly this pipeline's 3 runs (%s)", e.msg);
	cJSON_Delete(runs);

	rc = adf_cancel_run(f, ids[0], 0, &e);
	TAP_EQ_INT(rc, 0, "live: cancel the first run");
	TAP_EQ_STR(live_wait_run(f, ids[0], "Cancelled|", 15000, status, sizeof(status)),
	           "Cancelled", "live: it ends Cancelled");
	TAP_EQ_STR(
	    live_wait_run(f, ids[1], "Succeeded|Failed|Cancelled|", 30000, status, sizeof(status)),
	    "Succeeded", "live: the second run succeeds");
	rc = adf_query_activity_runs(f, NULL, ids[1], NULL, NULL, &acts, &e);
	TAP_OK(rc == 0 && cJSON_GetArraySize(acts) == 1 &&
	           !strcmp(jstr(cJSON_GetArrayItem(acts, 0), "activityName"), "W"),
	       "live: queryActivityruns has the Wait activity (%s)", e.msg);
	cJSON_Delete(acts);
	rc = adf_cancel_run(f, ids[1], 0, &e);
	TAP_OK(rc == -EINVAL, "live: cancelling a finished run -> -EINVAL (%s)", e.code);
	live_wait_run(f, ids[2], "Succeeded|Failed|Cancelled|", 30000, status, sizeof(status));
out:
	TAP_EQ_INT(adf_delete(f, ADF_PIPELINE, name, &e), 0, "live: DELETE pipeline");
	rc = adf_get(f, ADF_PIPELINE, name, &doc, NULL, &e);
	TAP_EQ_INT(rc, -ENOENT, "live: the pipeline is gone");
	for (int i = 0; i < 3; i++)
		free(ids[i]);
	free(etag);
	cJSON_Delete(pipe);
	adf_free(f);
}

/*
 * The same client against the sandbox's Synapse workspace (MGDC_SYNAPSE_URL):
 * writes return once the workspace's operation is done, so what was written
 * is there at once; runs, activity runs (found through the run's pipeline),
 * cancel; a token for another audience is refused with Synapse's own body.
 */
static void live_synapse(struct live *L)
{
	const char *url = getenv("MGDC_SYNAPSE_URL");
	struct rest_ep ep;
	struct adf *f;
	struct net_error e;
	cJSON *pipe, *doc = NULL, *acts = NULL;
	char name[64], *etag = NULL, *id = NULL, status[32], *u;
	int rc;

	if (!url || !*url) {
		printf("ok %d # SKIP no Synapse endpoint in the sandbox\n", ++tap_n);
		return;
	}
	TAP_EQ_INT(adf_new_synapse(&f, L->dev, url), 0, "live synapse: adf_new_synapse");
	snprintf(name, sizeof(name), "net-syn-%d", (int)getpid());
	pipe = cJSON_Parse("{\"properties\":{\"activities\":[{\"name\":\"W\",\"type\":\"Wait\","
	                   "\"typeProperties\":{\"waitTimeInSeconds\":1}}]}}");
	rc = adf_put(f, ADF_PIPELINE, name, pipe, NULL, &doc, &etag, &e);
	TAP_OK(rc == 0 && etag && !strcmp(jstr(doc, "name"), name) &&
	           !strcmp(jstr(doc, "type"), "Microsoft.Synapse/workspaces/pipelines"),
	       "live synapse: PUT returns the stored artifact once the operation is done (%s)",
	       e.msg);
	cJSON_Delete(doc);
	rc = adf_get(f, ADF_PIPELINE, name, &doc, NULL, &e);
	TAP_OK(rc == 0 && !strcmp(jstr(doc, "etag"), etag ? etag : ""),
	       "live synapse: a GET right after sees it, same etag");
	cJSON_Delete(doc);
	rc = adf_put(f, ADF_PIPELINE, name, pipe, "\"stale\"", NULL, NULL, &e);
	TAP_EQ_INT(rc, -ESTALE, "live synapse: a stale If-Match -> -ESTALE");
	rc = adf_create_run(f, name, NULL, &id, &e);
	TAP_OK(rc == 0 && id, "live synapse: createRun's 202 gives a runId (%s)", e.msg);
	if (id) {
		TAP_EQ_STR(live_wait_run(f, id, "Succeeded|Failed|Cancelled|", 30000, status,
		                         sizeof(status)),
		           "Succeeded", "live synapse: the run succeeds");
		rc = adf_query_activity_runs(f, NULL, id, NULL, NULL, &acts, &e);
		TAP_OK(rc == 0 && cJSON_GetArraySize(acts) == 1 &&
		           !strcmp(jstr(cJSON_GetArrayItem(acts, 0), "activityName"), "W"),
		       "live synapse: activity runs under the run's pipeline (%s)", e.msg);
		cJSON_Delete(acts);
		rc = adf_query_activity_runs(f, "NoSuchPipeline", id, NULL, NULL, &acts, &e);
		TAP_EQ_INT(rc, -ENOENT, "live synapse: under another pipeline's name: not found");
		cJSON_Delete(acts);
	}
	TAP_EQ_INT(adf_delete(f, ADF_PIPELINE, name, &e), 0, "live synapse: DELETE waits too");
	rc = adf_get(f, ADF_PIPELINE, name, &doc, NULL, &e);
	TAP_EQ_INT(rc, -ENOENT, "live synapse: the pipeline is gone at once");

	/* A management token sent to the workspace: Synapse's 401 body is read. */
	if (rest_ep_init(&ep, L->dev, ADF_SCOPE, url) == 0) {
		u = rest_url(ep.base, "api-version=" SYNAPSE_API_VERSION, "pipelines", NULL);
		rc = rest_get(&ep, u, &doc, NULL, &e);
		TAP_OK(rc < 0 && !strcmp(e.code, "InvalidTokenAuthenticationAudience"),
		       "live synapse: a token for ARM is refused, code %s", e.code);
		cJSON_Delete(doc);
		free(u);
		rest_ep_release(&ep);
	}
	free(id);
	free(etag);
	cJSON_Delete(pipe);
	adf_free(f);
}

/* Microsoft.GraphServices/accounts: the long-running PUT is waited for; then listed. */
static void live_billing(struct live *L)
{
	struct billing *b = NULL;
	struct net_error e = {0};
	cJSON *acct = NULL, *all = NULL, *tags = cJSON_CreateObject();
	const cJSON *it;
	char name[80];
	int found = 0;

	TAP_EQ_INT(billing_new(&b, L->dev, L->arm, L->sub, L->rg), 0, "live: billing_new");
	snprintf(name, sizeof(name), "mgdc-%s", L->dev_id);
	cJSON_AddStringToObject(tags, "mgdcfs-name", "unit");
	TAP_EQ_INT(billing_put(b, NULL, name, L->dev_id, tags, 20000, &acct, &e), 0,
	           "live: billing_put waits for the long-running PUT (%s)", e.msg);
	TAP_EQ_STR(jstr(cJSON_GetObjectItemCaseSensitive(acct, "properties"), "provisioningState"),
	           "Succeeded", "live: the account reads Succeeded after the operation");
	TAP_EQ_STR(jstr(cJSON_GetObjectItemCaseSensitive(acct, "tags"), "mgdcfs-name"), "unit",
	           "live: tags kept");
	TAP_EQ_INT(billing_list(b, &all, &e), 0, "live: billing_list");
	cJSON_ArrayForEach(it, all) found +=
	    jstr(it, "name") && strcmp(jstr(it, "name"), name) == 0;
	TAP_EQ_INT(found, 1, "live: the account is listed once");
	TAP_EQ_INT(billing_put(b, NULL, "other", L->dev_id, NULL, 20000, NULL, &e), -ESTALE,
	           "live: a second account for the same appId: 409 -> -ESTALE (%s)", e.code);
	TAP_EQ_INT(billing_put(b, jstr(acct, "id"), NULL, L->dev_id, tags, 20000, NULL, &e), 0,
	           "live: an update by the account's id (%s)", e.msg);
	TAP_EQ_INT(billing_put(b,
	                       "/subscriptions/other/resourceGroups/g/providers/"
	                       "Microsoft.GraphServices/accounts/x",
	                       NULL, L->dev_id, tags, 20000, NULL, &e),
	           -EINVAL, "live: an id of another subscription is refused");
	cJSON_Delete(acct);
	cJSON_Delete(all);
	cJSON_Delete(tags);
	billing_free(b);
}

/* Role assignments: the developer's principal holds Storage Blob Data Contributor. */
static void live_rbac(struct live *L)
{
	struct rbac *r = NULL;
	struct graph *g = NULL;
	struct net_error e = {0};
	cJSON *sps = NULL, *items = NULL;
	const char *sp;
	char scope[400];

	TAP_EQ_INT(rbac_new(&r, L->dev, L->arm), 0, "live: rbac_new");
	TAP_EQ_INT(graph_new(&g, L->dev, L->graph), 0, "live: graph_new");
	TAP_EQ_INT(graph_list_service_principals(g, L->dev_id, "id,appId", 0, &sps, &e), 0,
	           "live: the developer's service principal");
	sp = jstr(cJSON_GetArrayItem(sps, 0), "id");
	rbac_storage_scope(scope, sizeof(scope), L->sub, L->rg, getenv("MGDC_STORAGE_ACCOUNT"));
	TAP_EQ_INT(sp ? rbac_list(r, scope, sp, &items, &e) : -1, 0, "live: rbac_list (%s)", e.msg);
	TAP_OK(rbac_grants_blob_write(items, scope), "live: Storage Blob Data Contributor granted");
	cJSON_Delete(items);
	items = NULL;
	TAP_EQ_INT(rbac_list(r, "/subscriptions/x/../../y", sp ? sp : "x", &items, &e), -EINVAL,
	           "live: a scope with '..' is refused before any request");
	cJSON_Delete(sps);
	cJSON_Delete(items);
	graph_free(g);
	rbac_free(r);
}

static void live(void)
{
	struct live L;

	if (live_setup(&L) < 0) {
		printf("ok %d # SKIP no sandbox\n", ++tap_n);
		live_release(&L);
		return;
	}
	live_graph(&L);
	live_reg(&L);
	live_adf(&L);
	live_synapse(&L);
	live_billing(&L);
	live_rbac(&L);
	live_release(&L);
}

int main(void)
{
	struct testsrv s;

	test_pure();
	if (testsrv_start(&s) < 0) {
		TAP_OK(0, "test server started");
		return tap_done();
	}
	test_graph(&s);
	test_reg(&s);
	test_adf(&s);
	testsrv_stop(&s);
	live();
	return tap_done();
}
