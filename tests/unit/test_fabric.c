/*
 * test_fabric.c - net/fabric, and net/blob on OneLake's stand-in.
 *
 * Contract part: tests/unit/fixtures/real/fabric/ holds verbatim copies of
 * the examples of the Fabric REST API specification (mgdc-hosts.7 names
 * the repository and commit). The scripted server's "fabric" scenario
 * answers each route with its example's status, headers and body, and only
 * when the request has the example's path parameters; each client call is
 * checked against the example read straight from the fixture file.
 * Live part: when the sandbox's variables are set (scripts/sandbox env),
 * every call runs against the emulator's Fabric API and is cross-checked
 * there (a definition read back, a run's status and activity runs, a
 * Viewer refused, OneLake listed with a Storage token and not with a
 * Fabric one).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/blob.h"
#include "net/fabric.h"
#include "net/rest.h"
#include "rest_testsrv.h"
#include "tap.h"

static const cJSON *at(const cJSON *o, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(o, name);
}

static const char *str(const cJSON *o, const char *name)
{
	const cJSON *j = at(o, name);

	return cJSON_IsString(j) ? j->valuestring : NULL;
}

/* The fixture `name` of fixtures/real/fabric/, parsed; NULL (with a diagnostic) if unreadable. */
static cJSON *fixture(const char *name)
{
	return testsrv_fixture("fabric", name);
}

/* The body of the example's reply with `status`. */
static const cJSON *reply(const cJSON *ex, const char *status)
{
	return at(at(at(ex, "responses"), status), "body");
}

/* A client for the example's workspace on the scripted server. */
static struct fabric *open_example(struct testsrv *s, const cJSON *ex)
{
	char base[128];
	struct fabric *f = NULL;

	snprintf(base, sizeof(base), "%s/fabric/v1", s->base);
	if (fabric_new(&f, s->auth, base, str(at(ex, "parameters"), "workspaceId")) < 0)
		return NULL;
	return f;
}

/* ---- pure ---------------------------------------------------------------------- */

static void test_pure(void)
{
	char id[80];
	cJSON *props = cJSON_Parse("{\"activities\":[{\"name\":\"w\",\"type\":\"Wait\"}]}");
	cJSON *def = fabric_definition_build(props), *back = NULL, *ex;
	const char *payload = str(cJSON_GetArrayItem(at(def, "parts"), 0), "payload");
	struct net_error e;
	int rc;

	TAP_EQ_STR(str(cJSON_GetArrayItem(at(def, "parts"), 0), "path"), "pipeline-content.json",
	           "definition: the pipeline-content.json part");
	TAP_EQ_STR(str(cJSON_GetArrayItem(at(def, "parts"), 0), "payloadType"), "InlineBase64",
	           "definition: InlineBase64");
	TAP_OK(payload && !strpbrk(payload, "-_") && strlen(payload) % 4 == 0,
	       "definition: standard base64, padded");
	rc = fabric_definition_parse(def, &back, &e);
	TAP_EQ_INT(rc, 0, "definition: parses back (%s)", rc ? e.msg : "");
	TAP_OK(cJSON_Compare(back, props, 1), "definition: the properties round-trip");
	cJSON_Delete(back);
	cJSON_Delete(def);
	cJSON_Delete(props);

	/* The public example's definition decodes to the documented pipeline. */
	ex = fixture("dataPipeline/GetDataPipelineDefinition.json");
	rc = fabric_definition_parse(reply(ex, "200"), &back, &e);
	TAP_EQ_INT(rc, 0, "GetDataPipelineDefinition: parses (%s)", rc ? e.msg : "");
	TAP_OK(cJSON_IsArray(at(back, "activities")) &&
	           cJSON_GetArraySize(at(back, "activities")) == 0,
	       "GetDataPipelineDefinition: {\"properties\":{\"activities\":[]}}");
	cJSON_Delete(back);
	cJSON_Delete(ex);
	ex = fixture("dataPipeline/CreateDataPipeline.json");
	rc = fabric_definition_parse(at(at(ex, "parameters"), "createDataPipelineRequest"), &back,
	                             &e);
	TAP_EQ_INT(rc, 0, "CreateDataPipeline: the request's definition parses (%s)",
	           rc ? e.msg : "");
	TAP_EQ_STR(str(cJSON_GetArrayItem(at(back, "activities"), 1), "name"), "Wait_Activity_2",
	           "CreateDataPipeline: its second activity");
	cJSON_Delete(back);
	cJSON_Delete(ex);

	def = cJSON_Parse("{\"parts\":[{\"path\":\"pipeline-content.json\",\"payload\":"
	                  "\"eyJwcm9wZXJ0aWVzIjp7fX0_\",\"payloadType\":\"InlineBase64\"}]}");
	rc = fabric_definition_parse(def, &back, &e);
	TAP_OK(rc == -EPROTO && back == NULL, "definition: the URL-safe alphabet is refused (%s)",
	       e.msg);
	cJSON_Delete(def);
	def = cJSON_Parse("{\"parts\":[{\"path\":\".platform\",\"payload\":\"e30=\","
	                  "\"payloadType\":\"InlineBase64\"}]}");
	rc = fabric_definition_parse(def, &back, &e);
	TAP_OK(rc == -EPROTO && strstr(e.msg, "pipeline-content.json"),
	       "definition: without pipeline-content.json (%s)", e.msg);
	cJSON_Delete(def);
	def = cJSON_Parse("{\"parts\":[{\"path\":\"pipeline-content.json\",\"payload\":\"e30=\","
	                  "\"payloadType\":\"InlineBase64\"}]}");
	rc = fabric_definition_parse(def, &back, &e);
	TAP_OK(rc == -EPROTO && strstr(e.msg, "properties"),
	       "definition: {} has no properties (%s)", e.msg);
	cJSON_Delete(def);

	TAP_OK(fabric_job_id_from_location("https://x/v1/workspaces/w/items/i/jobs/instances/"
	                                   "f2d65699-dd22-4889-980c-15226deb0e1b",
	                                   id, sizeof(id)) == 0 &&
	           strcmp(id, "f2d65699-dd22-4889-980c-15226deb0e1b") == 0,
	       "Location: the job instance id is its last segment");
	TAP_OK(fabric_job_id_from_location("https://x/items/i/jobs/instances/", id, sizeof(id)) < 0,
	       "Location: none without an id");
	TAP_OK(fabric_job_id_from_location("https://x/items/i/jobs/instances/a1/cancel", id,
	                                   sizeof(id)) < 0,
	       "Location: a sub-resource is not an instance");
	TAP_OK(fabric_job_id_from_location("https://x/items/i/jobs/instances/<script>", id,
	                                   sizeof(id)) < 0,
	       "Location: a non-GUID id is refused");
	TAP_EQ_STR(fabric_run_status("NotStarted"), "Queued", "status: NotStarted is Queued");
	TAP_EQ_STR(fabric_run_status("Completed"), "Succeeded", "status: Completed is Succeeded");
	TAP_EQ_STR(fabric_run_status("Deduped"), "Cancelled", "status: Deduped is Cancelled");
	TAP_EQ_STR(fabric_run_status("InProgress"), "InProgress", "status: InProgress as is");
	TAP_EQ_STR(fabric_run_status("Someday"), "Someday",
	           "status: an unknown one is not guessed");
}

/* ---- contract: the public examples ------------------------------------------------- */

static void test_contract(struct testsrv *s)
{
	struct net_error e;
	cJSON *ex, *doc = NULL, *props;
	struct fabric *f;
	char *id = NULL;
	int rc;

	ex = fixture("dataPipeline/CreateDataPipeline.json");
	f = open_example(s, ex);
	props = cJSON_Parse("{\"activities\":[]}");
	rc = fabric_pipeline_create(f, "DataPipeline 1", "A data pipeline description", props, &doc,
	                            &e);
	TAP_EQ_INT(rc, 0, "CreateDataPipeline: 201 (%s)", rc ? e.msg : "");
	TAP_OK(cJSON_Compare(doc, reply(ex, "201"), 1), "CreateDataPipeline: the Item as served");
	TAP_EQ_STR(str(doc, "id"), "5b218778-e7a5-4d73-8187-f10824047715",
	           "CreateDataPipeline: id");
	cJSON_Delete(doc);
	cJSON_Delete(props);
	fabric_free(f);
	cJSON_Delete(ex);

	ex = fixture("dataPipeline/GetDataPipelineDefinition.json");
	f = open_example(s, ex);
	rc = fabric_pipeline_get_definition(f, str(at(ex, "parameters"), "dataPipelineId"), &doc,
	                                    &e);
	TAP_EQ_INT(rc, 0, "GetDataPipelineDefinition: getDefinition (%s)", rc ? e.msg : "");
	TAP_OK(cJSON_IsArray(at(doc, "activities")), "GetDataPipelineDefinition: the properties");
	cJSON_Delete(doc);
	rc = fabric_pipeline_get_definition(f, "00000000-0000-0000-0000-000000000000", &doc, &e);
	TAP_OK(rc == -ENOENT && strcmp(e.code, "ExampleMismatch") == 0,
	       "an item the example does not have is refused (%s)", e.code);
	fabric_free(f);
	cJSON_Delete(ex);

	ex = fixture("dataPipeline/UpdateDataPipelineDefinition.json");
	f = open_example(s, ex);
	props = cJSON_Parse("{\"activities\":[]}");
	rc = fabric_pipeline_update_definition(f, str(at(ex, "parameters"), "dataPipelineId"),
	                                       props, &e);
	TAP_EQ_INT(rc, 0, "UpdateDataPipelineDefinition: 200 (%s)", rc ? e.msg : "");
	cJSON_Delete(props);
	fabric_free(f);
	cJSON_Delete(ex);

	ex = fixture("dataPipeline/DeleteDataPipeline.json");
	f = open_example(s, ex);
	rc = fabric_pipeline_delete(f, str(at(ex, "parameters"), "dataPipelineId"), &e);
	TAP_EQ_INT(rc, 0, "DeleteDataPipeline: 200 (%s)", rc ? e.msg : "");
	fabric_free(f);
	cJSON_Delete(ex);

	ex = fixture("platform/RunOnDemandItemJob.json");
	f = open_example(s, ex);
	rc = fabric_run(f, str(at(ex, "parameters"), "itemId"), NULL, &id, &e);
	TAP_EQ_INT(rc, 0, "RunOnDemandItemJob: 202 (%s)", rc ? e.msg : "");
	TAP_EQ_STR(id, "f2d65699-dd22-4889-980c-15226deb0e1b",
	           "RunOnDemandItemJob: the job id from Location");
	free(id);
	id = NULL;
	fabric_free(f);
	cJSON_Delete(ex);

	ex = fixture("platform/RunOnDemandItemJob3.json");
	f = open_example(s, ex);
	rc = fabric_run(f, str(at(ex, "parameters"), "itemId"), NULL, &id, &e);
	TAP_OK(rc == -EPROTO && !id && strstr(e.msg, "may be running"),
	       "RunOnDemandItemJob3: a Location without an id is an error (%s)", e.msg);
	fabric_free(f);
	cJSON_Delete(ex);

	ex = fixture("platform/GetItemJobInstance.json");
	f = open_example(s, ex);
	rc = fabric_job_get(f, str(at(ex, "parameters"), "itemId"),
	                    str(at(ex, "parameters"), "jobInstanceId"), &doc, &e);
	TAP_EQ_INT(rc, 0, "GetItemJobInstance (%s)", rc ? e.msg : "");
	TAP_EQ_STR(fabric_run_status(str(doc, "status")), "Succeeded",
	           "GetItemJobInstance: Completed reads Succeeded");
	TAP_OK(cJSON_Compare(doc, reply(ex, "200"), 1), "GetItemJobInstance: as served");
	cJSON_Delete(doc);
	fabric_free(f);
	cJSON_Delete(ex);

	ex = fixture("platform/ListItemJobInstances.json");
	f = open_example(s, ex);
	rc = fabric_job_list(f, str(at(ex, "parameters"), "itemId"), &doc, &e);
	TAP_EQ_INT(rc, 0, "ListItemJobInstances (%s)", rc ? e.msg : "");
	TAP_OK(cJSON_Compare(doc, at(reply(ex, "200"), "value"), 1),
	       "ListItemJobInstances: every instance as served");
	cJSON_Delete(doc);
	fabric_free(f);
	cJSON_Delete(ex);

	ex = fixture("platform/CancelItemJobInstance.json");
	f = open_example(s, ex);
	rc = fabric_job_cancel(f, str(at(ex, "parameters"), "itemId"),
	                       str(at(ex, "parameters"), "jobInstanceId"), &e);
	TAP_EQ_INT(rc, 0, "CancelItemJobInstance: 202 (%s)", rc ? e.msg : "");
	fabric_free(f);
	cJSON_Delete(ex);

	/* A connection is not in a workspace: any workspace id does. */
	ex = fixture("platform/connections-CreateCloudConnection.json");
	cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(ex, "parameters"), "workspaceId",
	                        "any");
	f = open_example(s, ex);
	rc = fabric_connection_create(f, "m365", "00000000-0000-0000-0000-000000000001",
	                              "00000000-0000-0000-0000-000000000002", "s3cret", &id, &e);
	TAP_EQ_INT(rc, 0, "CreateCloudConnection: 201 (%s)", rc ? e.msg : "");
	TAP_EQ_STR(id, str(reply(ex, "201"), "id"), "CreateCloudConnection: the id");
	free(id);
	id = NULL;
	fabric_free(f);
	cJSON_Delete(ex);

	ex = fixture("platform/CreateItemSchedule.json");
	f = open_example(s, ex);
	rc = fabric_schedule_create(
	    f, str(at(ex, "parameters"), "itemId"), 1,
	    at(at(at(ex, "parameters"), "createScheduleRequest"), "configuration"), &doc, &e);
	TAP_EQ_INT(rc, 0, "CreateItemSchedule: 201 (%s)", rc ? e.msg : "");
	TAP_OK(cJSON_Compare(doc, reply(ex, "201"), 1), "CreateItemSchedule: the ItemSchedule");
	cJSON_Delete(doc);
	fabric_free(f);
	cJSON_Delete(ex);

	ex = fixture("platform/UpdateItemSchedule.json");
	f = open_example(s, ex);
	rc = fabric_schedule_update(f, str(at(ex, "parameters"), "itemId"),
	                            str(at(ex, "parameters"), "scheduleId"), 1, NULL, &doc, &e);
	TAP_EQ_INT(rc, 0, "UpdateItemSchedule: 200 (%s)", rc ? e.msg : "");
	TAP_EQ_STR(str(at(doc, "configuration"), "type"), "Cron", "UpdateItemSchedule: its config");
	cJSON_Delete(doc);
	fabric_free(f);
	cJSON_Delete(ex);

	ex = fixture("platform/DeleteItemSchedule.json");
	f = open_example(s, ex);
	rc = fabric_schedule_delete(f, str(at(ex, "parameters"), "itemId"),
	                            str(at(ex, "parameters"), "scheduleId"), &e);
	TAP_EQ_INT(rc, 0, "DeleteItemSchedule: 200 (%s)", rc ? e.msg : "");
	fabric_free(f);
	cJSON_Delete(ex);

	/* Fabric's ErrorResponse (no "error" wrapper) reaches net_error. */
	ex = fixture("platform/ModifyOneLakeImmutabilityPolicyError.json");
	f = open_example(s, ex);
	rc = fabric_pipeline_get(f, "any", &doc, &e);
	TAP_OK(rc == -EINVAL && e.status == 400, "ErrorResponse: 400 is -EINVAL (%d)", rc);
	TAP_EQ_STR(e.code, str(reply(ex, "400"), "errorCode"), "ErrorResponse: errorCode kept");
	TAP_OK(strstr(e.msg, "immutability") || strstr(e.msg, "Immutability") ||
	           strcmp(e.msg, str(reply(ex, "400"), "message")) == 0,
	       "ErrorResponse: message kept (%s)", e.msg);
	fabric_free(f);
	cJSON_Delete(ex);
}

/* ---- live: against the sandbox (scripts/sandbox env) ---------------------------------- */

struct live {
	struct http *http;
	struct auth *dev, *reader;
	const char *ws, *lakehouse_id;
};

static int live_setup(struct live *L)
{
	static const char *const vars[] = {
	    "MGDC_SANDBOX_CA",          "MGDC_LOGIN_URL",
	    "MGDC_TENANT_ID",           "MGDC_FABRIC_URL",
	    "MGDC_FABRIC_WORKSPACE_ID", "MGDC_FABRIC_LAKEHOUSE_ID",
	    "MGDC_ONELAKE_URL",         "MGDC_ONELAKE_ACCOUNT",
	    "MGDC_DEV_CLIENT_ID",       "MGDC_DEV_CLIENT_SECRET_FILE",
	    "MGDC_READER_CLIENT_ID",    "MGDC_READER_CLIENT_SECRET_FILE",
	    "MGDC_FAULTS_URL",          "MGDC_FABRIC_LAKEHOUSE"};
	struct http_opts ho = {0};

	memset(L, 0, sizeof(*L));
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (!getenv(vars[i]) || !*getenv(vars[i]))
			return -1;
	L->ws = getenv("MGDC_FABRIC_WORKSPACE_ID");
	L->lakehouse_id = getenv("MGDC_FABRIC_LAKEHOUSE_ID");
	ho.ca_file = getenv("MGDC_SANDBOX_CA");
	ho.max_retries = -1; /* mgdcfs's default: the fault tests rely on it */
	if (http_new(&L->http, &ho) < 0)
		return -1;
	if (testsrv_live_auth(&L->dev, L->http, "MGDC_DEV_CLIENT_ID",
	                      "MGDC_DEV_CLIENT_SECRET_FILE") < 0 ||
	    testsrv_live_auth(&L->reader, L->http, "MGDC_READER_CLIENT_ID",
	                      "MGDC_READER_CLIENT_SECRET_FILE") < 0)
		return -1;
	return 0;
}

static void live_release(struct live *L)
{
	auth_free(L->dev);
	auth_free(L->reader);
	http_free(L->http);
}

/* Wait (at most 60 s) until the job's status is terminal; its instance in *inst. */
static int live_wait(struct fabric *f, const char *item, const char *job, cJSON **inst)
{
	struct net_error e;

	for (int i = 0; i < 600; i++) {
		const char *st;

		if (fabric_job_get(f, item, job, inst, &e) < 0)
			return -1;
		st = str(*inst, "status");
		if (st &&
		    (!strcmp(st, "Completed") || !strcmp(st, "Failed") || !strcmp(st, "Cancelled")))
			return 0;
		cJSON_Delete(*inst);
		*inst = NULL;
		usleep(100 * 1000);
	}
	return -1;
}

/* A disabled daily schedule: created, listed, enabled, deleted; a bad one refused. */
static void live_schedule(struct fabric *f, const char *id)
{
	struct net_error e;
	cJSON *cfg =
	    cJSON_Parse("{\"type\":\"Cron\",\"interval\":1440,"
	                "\"startDateTime\":\"2030-01-01T00:00:00Z\","
	                "\"endDateTime\":\"2031-01-01T00:00:00Z\",\"localTimeZoneId\":\"UTC\"}");
	cJSON *bad =
	    cJSON_Parse("{\"type\":\"Cron\",\"interval\":0,"
	                "\"startDateTime\":\"2030-01-01T00:00:00Z\","
	                "\"endDateTime\":\"2031-01-01T00:00:00Z\",\"localTimeZoneId\":\"UTC\"}");
	cJSON *s = NULL, *list = NULL;
	char *sid = NULL;
	int rc;

	rc = fabric_schedule_create(f, id, 0, cfg, &s, &e);
	TAP_OK(rc == 0 && str(s, "id") && cJSON_IsFalse(at(s, "enabled")),
	       "live: a disabled schedule (%s)", rc ? e.msg : "");
	sid = str(s, "id") ? strdup(str(s, "id")) : NULL;
	cJSON_Delete(s);
	s = NULL;
	rc = fabric_schedule_create(f, id, 1, bad, NULL, &e);
	TAP_OK(rc == -EINVAL && !strcmp(e.code, "InvalidScheduleConfiguration"),
	       "live: a zero interval is refused (%s)", e.code);
	rc = fabric_schedule_list(f, id, &list, &e);
	TAP_OK(rc == 0 && cJSON_GetArraySize(list) == 1 && sid &&
	           !strcmp(str(cJSON_GetArrayItem(list, 0), "id"), sid),
	       "live: the schedule is listed");
	rc = fabric_schedule_update(f, id, sid, 1, NULL, &s, &e);
	TAP_OK(rc == 0 && cJSON_IsTrue(at(s, "enabled")), "live: enabled (%s)", rc ? e.msg : "");
	rc = fabric_schedule_delete(f, id, sid, &e);
	TAP_EQ_INT(rc, 0, "live: schedule deleted (%s)", rc ? e.msg : "");
	rc = fabric_schedule_delete(f, id, sid, &e);
	TAP_OK(rc == -ENOENT, "live: deleting it again is -ENOENT (%s)", e.code);
	cJSON_Delete(s);
	cJSON_Delete(list);
	cJSON_Delete(cfg);
	cJSON_Delete(bad);
	free(sid);
}

static void live_pipeline(struct live *L, struct fabric *f)
{
	struct net_error e;
	cJSON *props, *item = NULL, *back = NULL, *inst = NULL, *acts = NULL, *params,
	              *items = NULL;
	char name[64], *id = NULL, *found = NULL, *job = NULL, *job2 = NULL;
	struct fabric *rf = NULL;
	int rc;

	snprintf(name, sizeof(name), "unit-%ld-%d", (long)time(NULL), (int)getpid());
	props = cJSON_Parse("{\"activities\":[{\"name\":\"Hold\",\"type\":\"Wait\","
	                    "\"typeProperties\":{\"waitTimeInSeconds\":1}}],"
	                    "\"parameters\":{\"p\":{\"type\":\"string\",\"defaultValue\":\"x\"}}}");
	rc = fabric_pipeline_create(f, name, "made by test_fabric", props, &item, &e);
	TAP_EQ_INT(rc, 0, "live: create with a definition, through its operation (%s)",
	           rc ? e.msg : "");
	TAP_EQ_STR(str(item, "displayName"), name, "live: the operation's result is the Item");
	id = str(item, "id") ? strdup(str(item, "id")) : NULL;
	rc = fabric_pipeline_create(f, name, NULL, props, NULL, &e);
	TAP_OK(rc == -EEXIST && !strcmp(e.code, "ItemDisplayNameAlreadyInUse"),
	       "live: a taken name is -EEXIST (%s)", e.code);
	rc = fabric_pipeline_find(f, name, &found, &e);
	TAP_OK(rc == 0 && id && found && !strcmp(found, id), "live: found by name in the listing");
	free(found);
	found = NULL;
	rc = fabric_lakehouse_find(f, getenv("MGDC_FABRIC_LAKEHOUSE"), &found, &e);
	TAP_OK(rc == 0 && found && !strcmp(found, L->lakehouse_id),
	       "live: the profile's lakehouse name gives its id (%s)", rc ? e.msg : "");
	free(found);
	found = NULL;
	rc = fabric_lakehouse_find(f, name, &found, &e);
	TAP_OK(rc == -ENOENT && !found, "live: a pipeline is no lakehouse");
	rc = fabric_pipeline_get_definition(f, id, &back, &e);
	TAP_OK(rc == 0 && cJSON_Compare(back, props, 1),
	       "live: the definition reads back as written (%s)", rc ? e.msg : "");
	cJSON_Delete(back);
	back = NULL;

	/* A Viewer may read, not run. */
	fabric_new(&rf, L->reader, getenv("MGDC_FABRIC_URL"), L->ws);
	rc = fabric_run(rf, id, NULL, &job2, &e);
	TAP_OK(rc == -EACCES && !strcmp(e.code, "InsufficientPrivileges"),
	       "live: a Viewer cannot run (%s)", e.code);
	fabric_free(rf);

	params = cJSON_Parse("{\"p\":\"from-test\"}");
	rc = fabric_run(f, id, params, &job, &e);
	TAP_EQ_INT(rc, 0, "live: run (%s)", rc ? e.msg : "");
	rc = job ? live_wait(f, id, job, &inst) : -1;
	TAP_OK(rc == 0 && !strcmp(str(inst, "status"), "Completed") &&
	           !strcmp(str(inst, "itemId"), id) && !strcmp(str(inst, "jobType"), "Pipeline"),
	       "live: the job instance completes (%s)", inst ? str(inst, "status") : "?");
	rc = fabric_query_activity_runs(f, job, NULL, NULL, &acts, &e);
	TAP_OK(rc == 0 && cJSON_GetArraySize(acts) == 1 &&
	           !strcmp(str(cJSON_GetArrayItem(acts, 0), "activityName"), "Hold") &&
	           !strcmp(str(cJSON_GetArrayItem(acts, 0), "pipelineName"), id),
	       "live: its activity run, pipelineName the item id (%s)", rc ? e.msg : "");
	rc = fabric_job_cancel(f, id, job, &e);
	TAP_OK(rc == -EALREADY, "live: cancelling an ended job is -EALREADY (%s)", e.code);
	cJSON_Delete(items);
	rc = fabric_job_list(f, id, &items, &e);
	TAP_OK(rc == 0 && cJSON_GetArraySize(items) >= 1, "live: the job listing has it");

	live_schedule(f, id);
	rc = fabric_pipeline_delete(f, id, &e);
	TAP_EQ_INT(rc, 0, "live: delete (%s)", rc ? e.msg : "");
	cJSON_Delete(item);
	item = NULL;
	rc = fabric_pipeline_get(f, id, &item, &e);
	TAP_OK(rc == -ENOENT && !strcmp(e.code, "ItemNotFound"), "live: gone (%s)", e.code);
	cJSON_Delete(item);
	cJSON_Delete(inst);
	cJSON_Delete(acts);
	cJSON_Delete(items);
	cJSON_Delete(params);
	cJSON_Delete(props);
	free(id);
	free(found);
	free(job);
	free(job2);
}

static void live_connection(struct live *L, struct fabric *f)
{
	struct net_error e;
	char name[64], *id = NULL, *id2 = NULL, *secret;
	int rc;

	snprintf(name, sizeof(name), "m365-%ld-%d", (long)time(NULL), (int)getpid());
	secret = testsrv_secret(getenv("MGDC_DEV_CLIENT_SECRET_FILE"));
	rc = fabric_connection_create(f, name, getenv("MGDC_TENANT_ID"),
	                              getenv("MGDC_DEV_CLIENT_ID"), secret ? secret : "", &id, &e);
	TAP_EQ_INT(rc, 0, "live: a Microsoft 365 connection (%s)", rc ? e.msg : "");
	rc = fabric_connection_create(f, name, getenv("MGDC_TENANT_ID"),
	                              getenv("MGDC_DEV_CLIENT_ID"), secret ? secret : "", &id2, &e);
	TAP_OK(rc == -EEXIST && !strcmp(e.code, "DuplicateConnectionName"),
	       "live: its name is taken now (%s)", e.code);
	free(id2);
	id2 = NULL;
	rc = fabric_connection_create(f, "wrong-secret", getenv("MGDC_TENANT_ID"),
	                              getenv("MGDC_DEV_CLIENT_ID"), "not-the-secret", &id2, &e);
	TAP_OK(rc == -EINVAL && !strcmp(e.code, "IncorrectCredentials") &&
	           !strstr(e.msg, "not-the"),
	       "live: a wrong secret is IncorrectCredentials, not echoed (%s)", e.code);
	rc = fabric_connection_delete(f, id, &e);
	TAP_EQ_INT(rc, 0, "live: connection deleted (%s)", rc ? e.msg : "");
	rc = fabric_connection_delete(f, id, &e);
	TAP_OK(rc == -ENOENT, "live: deleting it again is -ENOENT (%s)", e.code);
	if (secret) {
		memset(secret, 0, strlen(secret));
		free(secret);
	}
	free(id);
	free(id2);
	(void)L;
}

/* Add a /_faults rule (route regex, status, Retry-After seconds, count 1); 0 when taken. */
static int live_fault(struct live *L, const char *route, int status, int retry_after)
{
	static const char *const hdrs[] = {"Content-Type: application/json", NULL};
	struct http_req req = {0};
	struct http_resp resp = {0};
	char url[512], body[768];
	int rc;

	snprintf(url, sizeof(url), "%s", getenv("MGDC_FAULTS_URL"));
	snprintf(body, sizeof(body),
	         "{\"route\":\"%s\",\"status\":%d,\"retryAfter\":%d,\"count\":1}", route, status,
	         retry_after);
	req.method = "POST";
	req.url = url;
	req.headers = hdrs;
	req.body = body;
	req.body_len = strlen(body);
	req.idempotent = 1;
	rc = http_do(L->http, &req, &resp);
	rc = rc == 0 && resp.status == 201 ? 0 : -1;
	http_resp_release(&resp);
	return rc;
}

/*
 * Faults: a GET throttled once is retried after its Retry-After; a run that
 * fails with 500 (the service may have acted) is not replayed, one refused
 * with 429 (it did not) is, and starts exactly one job.
 */
static void live_faults(struct live *L, struct fabric *f)
{
	struct net_error e;
	cJSON *props = cJSON_Parse("{\"activities\":[]}"), *item = NULL, *jobs = NULL;
	char name[64], route[256], *job = NULL, *id;
	int rc, before;

	snprintf(name, sizeof(name), "faults-%ld-%d", (long)time(NULL), (int)getpid());
	if (fabric_pipeline_create(f, name, NULL, props, &item, &e) < 0 || !str(item, "id")) {
		TAP_OK(0, "live faults: a pipeline (%s)", e.msg);
		goto out;
	}
	id = cJSON_GetObjectItemCaseSensitive(item, "id")->valuestring;
	snprintf(route, sizeof(route), "^GET /fabric/v1/workspaces/%s/items/%s$", L->ws, id);
	TAP_EQ_INT(live_fault(L, route, 429, 1), 0, "live faults: a 429 on the item's GET");
	cJSON_Delete(jobs);
	rc = fabric_pipeline_get(f, id, &jobs, &e);
	TAP_EQ_INT(rc, 0, "live faults: the throttled GET is retried and answers (%s)",
	           rc ? e.msg : "");
	cJSON_Delete(jobs);
	jobs = NULL;
	snprintf(route, sizeof(route), "^POST /fabric/v1/workspaces/%s/items/%s/jobs/instances",
	         L->ws, id);
	TAP_EQ_INT(live_fault(L, route, 500, 0), 0, "live faults: a 500 on the run");
	rc = fabric_run(f, id, NULL, &job, &e);
	TAP_OK(rc == -EIO && !job, "live faults: the run fails with the 500 (%d %s)", rc, e.code);
	rc = fabric_job_list(f, id, &jobs, &e);
	TAP_OK(rc == 0 && cJSON_GetArraySize(jobs) == 0,
	       "live faults: ... and is not replayed: no job instance");
	before = cJSON_GetArraySize(jobs);
	cJSON_Delete(jobs);
	jobs = NULL;
	TAP_EQ_INT(live_fault(L, route, 429, 1), 0, "live faults: a 429 on the run");
	rc = fabric_run(f, id, NULL, &job, &e);
	TAP_OK(rc == 0 && job, "live faults: a run refused with 429 is sent again (%s)",
	       rc ? e.msg : "");
	rc = fabric_job_list(f, id, &jobs, &e);
	TAP_OK(rc == 0 && cJSON_GetArraySize(jobs) == before + 1, "live faults: one job, not two");
	fabric_pipeline_delete(f, id, &e);
out:
	cJSON_Delete(jobs);
	cJSON_Delete(item);
	cJSON_Delete(props);
	free(job);
}

static int live_count(void *ud, const struct blob_entry *ent)
{
	(void)ent;
	(*(int *)ud)++;
	return 0;
}

/* OneLake through net/blob: a Storage-audience token lists Files/, a Fabric one is refused. */
static void live_onelake(struct live *L)
{
	struct blob_opts o = {0};
	struct blob_client *bc = NULL;
	struct net_error e;
	char prefix[128];
	int n = 0, rc;

	o.account = getenv("MGDC_ONELAKE_ACCOUNT");
	o.url = getenv("MGDC_ONELAKE_URL");
	o.auth = BLOB_AUTH_BEARER;
	o.auth_id = L->dev;
	snprintf(prefix, sizeof(prefix), "%s/Files/", L->lakehouse_id);
	rc = blob_client_new(&bc, L->http, &o);
	TAP_EQ_INT(rc, 0, "live: a blob client for OneLake's stand-in");
	rc = bc ? blob_list(bc, L->ws, prefix, "/", live_count, &n, &e) : -1;
	TAP_EQ_INT(rc, 0,
	           "live: the lakehouse's Files/ lists with a Storage token (%s, %d entries)",
	           rc ? e.msg : "ok", n);
	blob_client_free(bc);
	bc = NULL;
	o.scope = FABRIC_SCOPE;
	rc = blob_client_new(&bc, L->http, &o);
	rc = bc ? blob_list(bc, L->ws, prefix, "/", live_count, &n, &e) : -1;
	TAP_OK(rc == -EACCES, "live: OneLake refuses a Fabric-audience token (%d %s)", rc, e.code);
	blob_client_free(bc);
}

static void live(void)
{
	struct live L;
	struct fabric *f = NULL;

	if (live_setup(&L) < 0) {
		printf("ok %d # SKIP no sandbox\n", ++tap_n);
		live_release(&L);
		return;
	}
	TAP_EQ_INT(fabric_new(&f, L.dev, getenv("MGDC_FABRIC_URL"), L.ws), 0, "live: client");
	if (f) {
		live_pipeline(&L, f);
		live_connection(&L, f);
		live_faults(&L, f);
	}
	live_onelake(&L);
	fabric_free(f);
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
	test_contract(&s);
	testsrv_stop(&s);
	live();
	return tap_done();
}
