/*
 * test_contract.c - net/adf and net/rest on the public example replies of
 * Azure Data Factory (api-version 2018-06-01).
 *
 * tests/unit/fixtures/real/adf/ holds verbatim copies of the examples of the
 * Azure REST API specifications (SOURCES names each one's repository path
 * and commit). The scripted server's "real" scenario answers each ADF route
 * with its example's status, headers and body, and only when the request has
 * the example's path parameters, api-version and (PUT, createRun) body. Each
 * client call is then checked two ways: the fields mgdcfs uses have the
 * example's values and JSON types, and the whole parsed document equals the
 * example's body read straight from the fixture file.
 *
 * The same client in Synapse mode (adf_new_synapse) is checked on the public
 * examples of the workspace's development endpoint (api-version 2020-12-01,
 * fixtures/real/synapse/), its writes answered as the recorded exchanges of
 * the JavaScript SDK show them (202, Location, then operationResults).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/adf.h"
#include "net/rest.h"
#include "rest_testsrv.h"
#include "tap.h"

static cJSON *fixture(const char *name)
{
	return testsrv_fixture("adf", name);
}

static const cJSON *at(const cJSON *o, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(o, name);
}

static const char *str(const cJSON *o, const char *name)
{
	const cJSON *j = at(o, name);

	return cJSON_IsString(j) ? j->valuestring : NULL;
}

/* The number `name` of `o`, or -1 when it is absent or not a number. */
static double num(const cJSON *o, const char *name)
{
	const cJSON *j = at(o, name);

	return cJSON_IsNumber(j) ? j->valuedouble : -1;
}

/* The example's request parameter `name`. */
static const cJSON *param(const cJSON *ex, const char *name)
{
	return at(at(ex, "parameters"), name);
}

/* The body of the example's 200 reply. */
static const cJSON *reply(const cJSON *ex)
{
	return at(at(at(ex, "responses"), "200"), "body");
}

/*
 * The example `file` in *ex and a client for its subscription, resource
 * group and factory (NULL if either fails). Release both with close_example().
 */
static struct adf *open_example(struct testsrv *s, const char *file, cJSON **ex)
{
	char base[128];
	struct adf *f = NULL;

	*ex = fixture(file);
	snprintf(base, sizeof(base), "%s/real", s->base);
	if (adf_new(&f, s->auth, base, str(at(*ex, "parameters"), "subscriptionId"),
	            str(at(*ex, "parameters"), "resourceGroupName"),
	            str(at(*ex, "parameters"), "factoryName")) < 0)
		return NULL;
	return f;
}

static void close_example(struct adf *f, cJSON *ex)
{
	adf_free(f);
	cJSON_Delete(ex);
}

/* A listing equals the example's "value" array; frees it. */
static void check_value(cJSON *items, const cJSON *ex, const char *what)
{
	TAP_OK(cJSON_Compare(items, at(reply(ex), "value"), 1), "%s: every item as served", what);
	cJSON_Delete(items);
}

/* The PipelineRun fields mgdcfs reads (status, run.json, runs/latest, mtimes). */
static void check_run(const cJSON *run, const cJSON *want, const char *what)
{
	TAP_EQ_STR(str(run, "runId"), str(want, "runId"), "%s: runId", what);
	TAP_EQ_STR(str(run, "pipelineName"), str(want, "pipelineName"), "%s: pipelineName", what);
	TAP_EQ_STR(str(run, "status"), "Succeeded", "%s: status", what);
	TAP_EQ_STR(str(run, "runStart"), "2018-06-16T00:37:44.6257014Z",
	           "%s: runStart with seven fraction digits, as ADF writes it", what);
	TAP_EQ_STR(str(run, "runEnd"), "2018-06-16T00:38:12.7314495Z", "%s: runEnd", what);
	TAP_EQ_STR(str(run, "lastUpdated"), "2018-06-16T00:38:12.7314495Z", "%s: lastUpdated",
	           what);
	TAP_OK(num(run, "durationInMs") == 28105, "%s: durationInMs is the number 28105", what);
	TAP_EQ_STR(str(run, "message"), "", "%s: message (empty on success)", what);
	TAP_EQ_STR(str(at(run, "parameters"), "OutputBlobNameList"), "[\"exampleoutput.csv\"]",
	           "%s: an array parameter comes back JSON-encoded as a string", what);
	TAP_EQ_STR(str(at(run, "invokedBy"), "name"), "Manual", "%s: invokedBy.name", what);
	TAP_OK(cJSON_Compare(run, want, 1), "%s: the whole run equals the example's", what);
}

static void test_resources(struct testsrv *s)
{
	struct net_error e;
	cJSON *ex, *doc = NULL, *items = NULL;
	struct adf *f;
	char *etag = NULL;
	int rc;

	f = open_example(s, "Pipelines_Get.json", &ex);
	rc = adf_get(f, ADF_PIPELINE, str(at(ex, "parameters"), "pipelineName"), &doc, &etag, &e);
	TAP_EQ_INT(rc, 0, "Pipelines_Get: adf_get (%s)", rc ? e.msg : "");
	TAP_EQ_STR(str(doc, "name"), "examplePipeline", "Pipelines_Get: name");
	TAP_EQ_STR(etag, "1500504f-0000-0200-0000-5cbe090f0000",
	           "Pipelines_Get: the etag of the body (no ETag header in the example)");
	TAP_EQ_STR(str(at(doc, "properties"), "description"), "Example description",
	           "Pipelines_Get: properties.description");
	TAP_EQ_STR(str(cJSON_GetArrayItem(at(at(doc, "properties"), "activities"), 0), "type"),
	           "ForEach", "Pipelines_Get: properties.activities[0].type");
	TAP_EQ_STR(str(at(at(at(doc, "properties"), "parameters"), "OutputBlobNameList"), "type"),
	           "Array", "Pipelines_Get: properties.parameters");
	TAP_OK(cJSON_Compare(doc, reply(ex), 1), "Pipelines_Get: the whole pipeline as served");
	cJSON_Delete(doc);
	free(etag);
	etag = NULL;
	/* A name the example does not have: the server is as strict as it claims. */
	rc = adf_get(f, ADF_PIPELINE, "otherPipeline", &doc, NULL, &e);
	TAP_OK(rc == -ENOENT && !strcmp(e.code, "ExampleMismatch"),
	       "a request that is not the example's is refused (%s)", e.code);
	close_example(f, ex);

	f = open_example(s, "Pipelines_ListByFactory.json", &ex);
	rc = adf_list(f, ADF_PIPELINE, &items, &e);
	TAP_EQ_INT(rc, 0, "Pipelines_ListByFactory: adf_list (%s)", rc ? e.msg : "");
	TAP_EQ_INT(cJSON_GetArraySize(items), cJSON_GetArraySize(at(reply(ex), "value")),
	           "Pipelines_ListByFactory: every pipeline of the page");
	TAP_EQ_STR(str(cJSON_GetArrayItem(items, 0), "name"), "myPipeline",
	           "Pipelines_ListByFactory: the names pipelines/ lists");
	check_value(items, ex, "Pipelines_ListByFactory");
	close_example(f, ex);
}

/* PUT the example's own request body; the reply is the stored resource and its etag. */
static void check_put(struct testsrv *s, const char *file, enum adf_kind kind,
                      const char *name_param, const char *body_param, const char *want_etag)
{
	struct net_error e;
	cJSON *ex, *doc = NULL;
	struct adf *f = open_example(s, file, &ex);
	char *etag = NULL;
	int rc;

	rc = adf_put(f, kind, str(at(ex, "parameters"), name_param), param(ex, body_param), NULL,
	             &doc, &etag, &e);
	TAP_EQ_INT(rc, 0, "%s: adf_put sends the example's body (%s)", file, rc ? e.msg : "");
	TAP_EQ_STR(str(doc, "name"), str(at(ex, "parameters"), name_param), "%s: name", file);
	TAP_EQ_STR(etag, want_etag, "%s: etag", file);
	TAP_OK(cJSON_IsObject(at(doc, "properties")) &&
	           (kind == ADF_PIPELINE || str(at(doc, "properties"), "type") != NULL),
	       "%s: properties (with its type but for a pipeline)", file);
	TAP_OK(cJSON_Compare(doc, reply(ex), 1), "%s: the stored resource as served", file);
	cJSON_Delete(doc);
	free(etag);
	close_example(f, ex);
}

static void test_puts(struct testsrv *s)
{
	cJSON *ex, *doc = NULL;
	struct adf *f;
	struct net_error e;
	int rc;

	check_put(s, "Pipelines_Create.json", ADF_PIPELINE, "pipelineName", "pipeline",
	          "0a0069d4-0000-0000-0000-5b245bd50000");
	check_put(s, "LinkedServices_Create.json", ADF_LINKED_SERVICE, "linkedServiceName",
	          "linkedService", "0a0062d4-0000-0000-0000-5b245bcf0000");
	check_put(s, "Datasets_Create.json", ADF_DATASET, "datasetName", "dataset",
	          "0a0066d4-0000-0000-0000-5b245bd20000");

	/* The SecureString comes back masked; mgdcfs must never take the mask for a secret. */
	f = open_example(s, "LinkedServices_Create.json", &ex);
	rc = adf_put(f, ADF_LINKED_SERVICE, "myLinkedService", param(ex, "linkedService"), NULL,
	             &doc, NULL, &e);
	TAP_EQ_STR(
	    str(at(at(at(doc, "properties"), "typeProperties"), "connectionString"), "value"),
	    "**********", "LinkedServices_Create: the secret comes back masked (%d)", rc);
	cJSON_Delete(doc);
	close_example(f, ex);
}

static void test_runs(struct testsrv *s)
{
	struct net_error e;
	cJSON *ex, *doc = NULL, *items = NULL;
	const cJSON *a;
	struct adf *f;
	char *run_id = NULL;
	int rc;

	f = open_example(s, "Pipelines_CreateRun.json", &ex);
	rc = adf_create_run(f, "myPipeline", param(ex, "parameters"), &run_id, &e);
	TAP_EQ_INT(rc, 0, "Pipelines_CreateRun: adf_create_run with the example's parameters (%s)",
	           rc ? e.msg : "");
	TAP_EQ_STR(run_id, "2f7fdb90-5df1-4b8e-ac2f-064cfa58202b", "Pipelines_CreateRun: runId");
	free(run_id);
	close_example(f, ex);

	f = open_example(s, "PipelineRuns_Get.json", &ex);
	rc = adf_get_run(f, str(at(ex, "parameters"), "runId"), &doc, &e);
	TAP_EQ_INT(rc, 0, "PipelineRuns_Get: adf_get_run (%s)", rc ? e.msg : "");
	check_run(doc, reply(ex), "PipelineRuns_Get");
	cJSON_Delete(doc);
	close_example(f, ex);

	f = open_example(s, "PipelineRuns_QueryByFactory.json", &ex);
	rc = adf_query_runs(f, "examplePipeline", "2018-06-16T00:36:44.3345758Z",
	                    "2018-06-16T00:49:48.3686473Z", &items, &e);
	TAP_EQ_INT(rc, 0, "PipelineRuns_QueryByFactory: adf_query_runs (%s)", rc ? e.msg : "");
	TAP_EQ_INT(cJSON_GetArraySize(items), 2, "PipelineRuns_QueryByFactory: two runs");
	check_run(cJSON_GetArrayItem(items, 0), cJSON_GetArrayItem(at(reply(ex), "value"), 0),
	          "PipelineRuns_QueryByFactory");
	a = cJSON_GetArrayItem(items, 1);
	TAP_EQ_STR(str(a, "status"), "Cancelled", "cancelled run: status");
	TAP_OK(cJSON_IsNull(at(a, "runEnd")) && cJSON_IsNull(at(a, "durationInMs")),
	       "cancelled run: runEnd and durationInMs are null");
	TAP_EQ_STR(str(a, "lastUpdated"), "2018-06-16T00:39:51.216097Z",
	           "cancelled run: lastUpdated with its trailing zero trimmed (six digits)");
	TAP_OK(str(a, "runStart") && strcmp(str(a, "runStart"), "2018-06-16T00:37:44.6257014Z") > 0,
	       "cancelled run: the later runStart sorts after the earlier one as a string");
	check_value(items, ex, "PipelineRuns_QueryByFactory");
	close_example(f, ex);

	f = open_example(s, "ActivityRuns_QueryByPipelineRun.json", &ex);
	rc = adf_query_activity_runs(f, NULL, str(at(ex, "parameters"), "runId"), NULL, NULL,
	                             &items, &e);
	TAP_EQ_INT(rc, 0, "ActivityRuns_QueryByPipelineRun: adf_query_activity_runs (%s)",
	           rc ? e.msg : "");
	TAP_EQ_INT(cJSON_GetArraySize(items), 2, "ActivityRuns_QueryByPipelineRun: two activities");
	a = cJSON_GetArrayItem(items, 1);
	TAP_EQ_STR(str(a, "activityName"), "ExampleCopyActivity", "activity run: activityName");
	TAP_EQ_STR(str(a, "activityType"), "Copy", "activity run: activityType");
	TAP_EQ_STR(str(a, "status"), "Succeeded", "activity run: status");
	TAP_EQ_STR(str(a, "pipelineRunId"), str(at(ex, "parameters"), "runId"),
	           "activity run: pipelineRunId");
	TAP_EQ_STR(str(a, "activityRunStart"), "2018-06-16T00:37:50.2460952Z",
	           "activity run: activityRunStart");
	TAP_EQ_STR(str(a, "activityRunEnd"), "2018-06-16T00:38:07.4188923Z",
	           "activity run: activityRunEnd");
	TAP_OK(num(a, "durationInMs") == 17172, "activity run: durationInMs is a number");
	TAP_OK(cJSON_IsNull(at(a, "retryAttempt")), "activity run: retryAttempt null kept");
	TAP_EQ_STR(str(at(a, "error"), "errorCode"), "", "activity run: error.errorCode empty");
	TAP_OK(num(at(a, "output"), "dataWritten") == 142000 &&
	           num(at(a, "output"), "filesWritten") == 1,
	       "activity run: output.dataWritten and filesWritten");
	check_value(items, ex, "ActivityRuns_QueryByPipelineRun");
	close_example(f, ex);

	f = open_example(s, "PipelineRuns_Cancel.json", &ex);
	rc = adf_cancel_run(f, str(at(ex, "parameters"), "runId"), 0, &e);
	TAP_EQ_INT(rc, 0, "PipelineRuns_Cancel: 200 without a body (%s)", rc ? e.msg : "");
	close_example(f, ex);
}

/* The factory's own document: not read by mgdcfs today, but it must parse. */
static void test_factory(struct testsrv *s)
{
	cJSON *ex, *doc = NULL;
	struct adf *f = open_example(s, "Factories_Get.json", &ex);
	struct net_error e;
	char *url, *etag = NULL;
	int rc;

	url = rest_url(adf_rest(f)->base, "api-version=" ADF_API_VERSION, NULL);
	rc = rest_get(adf_rest(f), url, &doc, &etag, &e);
	TAP_EQ_INT(rc, 0, "Factories_Get: rest_get (%s)", rc ? e.msg : "");
	TAP_EQ_STR(str(at(doc, "properties"), "provisioningState"), "Succeeded",
	           "Factories_Get: provisioningState");
	TAP_OK(etag == NULL, "Factories_Get: \"eTag\" (capital T) is not taken for an etag");
	TAP_OK(cJSON_Compare(doc, reply(ex), 1), "Factories_Get: the document as served");
	free(url);
	free(etag);
	cJSON_Delete(doc);
	close_example(f, ex);
}

/* Synapse: the same calls on the workspace's examples; writes wait for their operation. */
static void test_synapse(struct testsrv *s)
{
	struct net_error e;
	cJSON *ex, *doc = NULL, *items = NULL;
	struct adf *f = NULL;
	char base[128], *run_id = NULL, *etag = NULL;
	int rc, polls;

	snprintf(base, sizeof(base), "%s/synreal", s->base);
	TAP_EQ_INT(adf_new_synapse(&f, s->auth, base), 0, "adf_new_synapse");
	if (!f)
		return;
	TAP_OK(adf_is_synapse(f), "  the client knows its host");
	TAP_EQ_STR(adf_rest(f)->scope, SYNAPSE_SCOPE, "  Synapse's token scope");

	ex = testsrv_fixture("synapse", "Pipelines_Create.json");
	polls = testsrv_count(s, "synop");
	rc = adf_put(f, ADF_PIPELINE, "examplePipeline", param(ex, "pipeline"), NULL, &doc, &etag,
	             &e);
	TAP_EQ_INT(rc, 0, "Pipelines_Create: adf_put waits for the operation (%s)",
	           rc ? e.msg : "");
	TAP_EQ_INT(testsrv_count(s, "synop") - polls, 2,
	           "  polled Location twice (202 InProgress, then 200)");
	TAP_OK(cJSON_Compare(doc, reply(ex), 1), "  the operation's final body is the artifact");
	TAP_EQ_STR(str(doc, "type"), "Microsoft.Synapse/workspaces/pipelines", "  its type");
	TAP_EQ_STR(etag, str(reply(ex), "etag"), "  its etag");
	cJSON_Delete(doc);
	doc = NULL;
	free(etag);
	etag = NULL;

	rc = adf_put(f, ADF_PIPELINE, "failing", param(ex, "pipeline"), NULL, &doc, NULL, &e);
	TAP_EQ_INT(rc, -EINVAL, "a write whose operation answers 400: the write fails");
	TAP_EQ_STR(e.code, "Error code", "  with the operation's error code");
	TAP_EQ_STR(e.msg, "Error message", "  and message");
	TAP_OK(doc == NULL, "  and no document");
	cJSON_Delete(ex);

	polls = testsrv_count(s, "synop");
	rc = adf_delete(f, ADF_PIPELINE, "examplePipeline", &e);
	TAP_EQ_INT(rc, 0, "DELETE: 202 then an empty 200, as recorded (%s)", rc ? e.msg : "");
	TAP_EQ_INT(testsrv_count(s, "synop") - polls, 2, "  the operation was polled to its end");

	ex = testsrv_fixture("synapse", "Pipelines_CreateRun.json");
	rc = adf_create_run(f, "examplePipeline", param(ex, "parameters"), &run_id, &e);
	TAP_EQ_INT(rc, 0, "Pipelines_CreateRun: 202 is success (%s)", rc ? e.msg : "");
	TAP_EQ_STR(run_id, str(at(at(at(ex, "responses"), "202"), "body"), "runId"), "  runId");
	free(run_id);
	cJSON_Delete(ex);

	ex = testsrv_fixture("synapse", "PipelineRuns_Get.json");
	rc = adf_get_run(f, str(at(ex, "parameters"), "runId"), &doc, &e);
	TAP_EQ_INT(rc, 0, "PipelineRuns_Get (%s)", rc ? e.msg : "");
	TAP_OK(cJSON_Compare(doc, reply(ex), 1), "  the run as served");
	TAP_EQ_STR(str(doc, "pipelineName"), "examplePipeline", "  pipelineName");
	cJSON_Delete(doc);
	doc = NULL;
	cJSON_Delete(ex);

	ex = testsrv_fixture("synapse", "ActivityRuns_QueryByPipelineRun.json");
	rc = adf_query_activity_runs(f, "examplePipeline", str(at(ex, "parameters"), "runId"), NULL,
	                             NULL, &items, &e);
	TAP_EQ_INT(rc, 0, "ActivityRuns_QueryByPipelineRun: under the pipeline's name (%s)",
	           rc ? e.msg : "");
	TAP_OK(cJSON_Compare(items, at(reply(ex), "value"), 1), "  every activity as served");
	cJSON_Delete(items);
	items = NULL;
	/* Without the pipeline: the run (PipelineRuns_Get, same runId) names it. */
	rc = adf_query_activity_runs(f, NULL, str(at(ex, "parameters"), "runId"), NULL, NULL,
	                             &items, &e);
	TAP_EQ_INT(rc, 0, "  without the pipeline's name: found from the run (%s)",
	           rc ? e.msg : "");
	TAP_OK(cJSON_Compare(items, at(reply(ex), "value"), 1), "  the same activities");
	cJSON_Delete(items);
	items = NULL;
	cJSON_Delete(ex);

	ex = testsrv_fixture("synapse", "PipelineRuns_QueryByWorkspace.json");
	rc = adf_query_runs(f, NULL, NULL, NULL, &items, &e);
	TAP_EQ_INT(rc, 0, "PipelineRuns_QueryByWorkspace (%s)", rc ? e.msg : "");
	TAP_OK(cJSON_Compare(items, at(reply(ex), "value"), 1), "  every run as served");
	cJSON_Delete(items);
	cJSON_Delete(ex);

	ex = testsrv_fixture("synapse", "PipelineRuns_Cancel.json");
	rc = adf_cancel_run(f, str(at(ex, "parameters"), "runId"), 0, &e);
	TAP_EQ_INT(rc, 0, "PipelineRuns_Cancel (%s)", rc ? e.msg : "");
	cJSON_Delete(ex);
	adf_free(f);
}

int main(void)
{
	struct testsrv s;

	if (testsrv_start(&s) < 0) {
		TAP_OK(0, "test server started");
		return tap_done();
	}
	test_resources(&s);
	test_puts(&s);
	test_runs(&s);
	test_factory(&s);
	test_synapse(&s);
	testsrv_stop(&s);
	return tap_done();
}
