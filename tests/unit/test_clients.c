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
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/adf.h"
#include "net/graph.h"
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

static void test_pure(void)
{
	char *q;
	cJSON *f;

	q = graph_filter_query("a'b", NULL);
	TAP_EQ_STR(q, "$filter=appId%20eq%20%27a%27%27b%27", "OData quote doubled, then encoded");
	free(q);
	q = graph_filter_query(NULL, "id,appId");
	TAP_EQ_STR(q, "$select=id%2CappId", "select only");
	free(q);
	q = graph_filter_query(NULL, NULL);
	TAP_EQ_STR(q, "", "neither filter nor select");
	free(q);

	f = adf_run_filter(NULL, NULL, NULL, 1767225600LL /* 2026-01-01T00:00:00Z */);
	TAP_EQ_STR(jstr(f, "lastUpdatedAfter"), "2025-11-17T00:00:00Z",
	           "default window: 45 days back");
	TAP_EQ_STR(jstr(f, "lastUpdatedBefore"), "2026-01-02T00:00:00Z", "... to one day ahead");
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

	rc = graph_list_applications(g, "1111-2222'x", "id,appId", &apps, &e);
	TAP_EQ_INT(rc, 0, "graph_list_applications with filter");
	TAP_EQ_STR(jstr(cJSON_GetArrayItem(apps, 0), "path"), "/echo/v1.0/applications",
	           "applications path");
	TAP_EQ_STR(jparam(cJSON_GetArrayItem(apps, 0), "$filter"), "appId eq '1111-2222''x'",
	           "server decoded the OData filter");
	TAP_EQ_STR(jparam(cJSON_GetArrayItem(apps, 0), "$select"), "id,appId",
	           "server decoded $select");
	cJSON_Delete(apps);

	rc = graph_list_service_principals(g, "abc", NULL, &apps, &e);
	TAP_OK(rc == 0 && !strcmp(jstr(cJSON_GetArrayItem(apps, 0), "path"),
	                          "/echo/v1.0/servicePrincipals"),
	       "servicePrincipals path");
	TAP_EQ_STR(jparam(cJSON_GetArrayItem(apps, 0), "$filter"), "appId eq 'abc'",
	           "servicePrincipals filter");
	cJSON_Delete(apps);
	graph_free(g);

	base_at(s, base, sizeof(base), "chain");
	graph_new(&g, s->auth, base);
	rc = graph_list_applications(g, "abc", NULL, &apps, &e);
	TAP_OK(rc == 0 && cJSON_GetArraySize(apps) == 5, "applications paged over 4 pages");
	TAP_OK(strstr(jstr(cJSON_GetArrayItem(apps, 4), "query"), "filter") != NULL,
	       "the nextLink (with its filter) was followed as given");
	cJSON_Delete(apps);
	graph_free(g);

	base_at(s, base, sizeof(base), "foreign-host");
	graph_new(&g, s->auth, base);
	rc = graph_list_applications(g, NULL, NULL, &apps, &e);
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
	rc = adf_query_activity_runs(f, "r1", NULL, NULL, &items, &e);
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
	return tap_done();
}
