/*
 * fabric.h - Microsoft Fabric REST (v1) for data pipelines: DataPipeline
 * items of one workspace with their definition, Microsoft 365 connections,
 * on-demand pipeline job instances and their activity runs.
 *
 * The contract, with its sources, is man/mgdc-hosts.7 (MICROSOFT FABRIC).
 * Every call is under {endpoint} (https://api.fabric.microsoft.com/v1, or
 * the sandbox's) with a bearer token for FABRIC_SCOPE; ids are GUIDs,
 * percent-encoded as path segments. A pipeline is addressed by its item id;
 * its display name is unique per workspace. Results are cJSON trees the
 * caller owns; failures are -errno with `e` holding Fabric's ErrorResponse
 * errorCode and message (-ENOENT for ItemNotFound and the like, -EEXIST
 * for ItemDisplayNameAlreadyInUse, -EACCES for InsufficientPrivileges).
 *
 * OneLake (the lakehouse's Files/) needs no code here: it is Blob storage
 * at {onelake}/{workspaceId}/{lakehouseId}/Files/..., read with net/blob
 * given that URL as the account URL ("onelake" as the account), the
 * workspace as the container and BLOB_AUTH_BEARER with BLOB_SCOPE (OneLake
 * takes Storage-audience tokens only).
 */
#ifndef MGDCFS_NET_FABRIC_H
#define MGDCFS_NET_FABRIC_H

#include <cjson/cJSON.h>

#include "net/auth.h"
#include "net/http.h"

#define FABRIC_SCOPE         "https://api.fabric.microsoft.com/.default"
#define FABRIC_URL           "https://api.fabric.microsoft.com/v1"
#define FABRIC_JOB_TYPE      "Pipeline"              /* jobType of a pipeline run */
#define FABRIC_PIPELINE_PART "pipeline-content.json" /* the definition part mgdcfs writes */
/*
 * The Microsoft 365 connection's type and creation method. Their real
 * strings are not public (mgdc-hosts.7, OPEN QUESTIONS); these are the
 * sandbox's, listed by its GET /connections/supportedConnectionTypes.
 */
#define FABRIC_M365_TYPE   "Office365"
#define FABRIC_M365_METHOD "Office365"
/* How long a long-running item operation (create, definitions) may take. */
#define FABRIC_LRO_MS 60000

struct fabric;

/*
 * fabric_new - a client for workspace `workspace` (its GUID) at `endpoint`
 * (e.g. FABRIC_URL), with tokens from `a` (must outlive the client).
 * Returns 0, -EINVAL (missing argument, bad URL), -ENOMEM. Thread-safe in
 * use; free with fabric_free() after the last call returned.
 */
int fabric_new(struct fabric **out, struct auth *a, const char *endpoint, const char *workspace);
void fabric_free(struct fabric *f);

/*
 * fabric_definition_build - the item definition of a pipeline whose
 * properties are `properties` ({"activities": [...], "parameters": ...}):
 * {"parts": [{"path": "pipeline-content.json", "payload": base64 of
 * {"properties": ...}, "payloadType": "InlineBase64"}]}, standard base64.
 * Returns a new cJSON object (caller frees) or NULL on ENOMEM. Pure.
 */
cJSON *fabric_definition_build(const cJSON *properties);

/*
 * fabric_definition_parse - the pipeline properties of `definition` (an
 * item definition, or a getDefinition reply holding one): the part
 * pipeline-content.json decoded and parsed, its "properties" object
 * detached into *properties (caller frees). -EPROTO (with `e`) when the
 * part is missing, not InlineBase64, not standard base64, not JSON or has
 * no "properties" object; -ENOMEM. Pure.
 */
int fabric_definition_parse(const cJSON *definition, cJSON **properties, struct net_error *e);

/*
 * fabric_pipeline_create - POST /workspaces/{ws}/items: a DataPipeline
 * named `name` (description may be NULL) with the definition of
 * `properties`. Fabric answers 201 with the item or 202 with a long-running
 * operation, which is followed (GET /operations/{id} until Succeeded, then
 * its /result, at most FABRIC_LRO_MS). *item (may be NULL) receives the
 * Item {id, type, displayName, ...}; caller frees. -EEXIST when the name is
 * taken; -EIO when the operation failed; -ETIMEDOUT.
 */
int fabric_pipeline_create(struct fabric *f, const char *name, const char *description,
                           const cJSON *properties, cJSON **item, struct net_error *e);

/* fabric_pipeline_get - GET the item `id`: *item (caller frees). -ENOENT when absent. */
int fabric_pipeline_get(struct fabric *f, const char *id, cJSON **item, struct net_error *e);

/*
 * fabric_pipeline_list - every DataPipeline item of the workspace (GET
 * .../items?type=DataPipeline, all pages by continuationUri) as a cJSON
 * array; caller frees.
 */
int fabric_pipeline_list(struct fabric *f, cJSON **items, struct net_error *e);

/*
 * fabric_pipeline_find - the id of the DataPipeline whose displayName (or
 * id) is `name` (case-insensitive, as Fabric compares names) in *id
 * (malloc'd). -ENOENT when there is none.
 */
int fabric_pipeline_find(struct fabric *f, const char *name, char **id, struct net_error *e);

/*
 * fabric_lakehouse_find - the id of the Lakehouse item named `lakehouse`
 * (a profile's "lakehouse": its display name or its id), as
 * fabric_pipeline_find(). Its Files/ are then {onelake}/{workspace}/{id}/Files.
 */
int fabric_lakehouse_find(struct fabric *f, const char *lakehouse, char **id, struct net_error *e);

/*
 * fabric_pipeline_get_definition - POST .../items/{id}/getDefinition (a 202
 * is followed like a create) and parse it: the pipeline properties in
 * *properties (caller frees). Errors as fabric_definition_parse() and the
 * request's.
 */
int fabric_pipeline_get_definition(struct fabric *f, const char *id, cJSON **properties,
                                   struct net_error *e);

/*
 * fabric_pipeline_update_definition - POST .../items/{id}/updateDefinition
 * with the definition of `properties` (200, or 202 followed to its end).
 */
int fabric_pipeline_update_definition(struct fabric *f, const char *id, const cJSON *properties,
                                      struct net_error *e);

/* fabric_pipeline_delete - DELETE the item `id`. -ENOENT when absent. */
int fabric_pipeline_delete(struct fabric *f, const char *id, struct net_error *e);

/*
 * fabric_connection_create - POST /connections: a ShareableCloud Microsoft
 * 365 connection named `name` with ServicePrincipal credentials (`tenant`,
 * `client_id`, `secret`; the secret is sent once and never logged). *id
 * receives the connection id (malloc'd). Fabric tests the credentials:
 * a wrong secret is -EINVAL with IncorrectCredentials; a taken name is
 * -EEXIST (DuplicateConnectionName).
 */
int fabric_connection_create(struct fabric *f, const char *name, const char *tenant,
                             const char *client_id, const char *secret, char **id,
                             struct net_error *e);

/* fabric_connection_delete - DELETE /connections/{id}. -ENOENT when absent. */
int fabric_connection_delete(struct fabric *f, const char *id, struct net_error *e);

/*
 * fabric_run - POST .../items/{id}/jobs/instances?jobType=Pipeline with
 * `params` (NULL: none) as executionData.parameters. *job_id (malloc'd)
 * is the job instance id, the last segment of the reply's Location. Sent
 * as a non-idempotent request: a connection dropped after the request was
 * sent is reported, never replayed, so one call never starts two runs. A
 * 202 without a usable Location is -EPROTO (the run may have started).
 */
int fabric_run(struct fabric *f, const char *id, const cJSON *params, char **job_id,
               struct net_error *e);

/*
 * fabric_job_get - GET .../items/{id}/jobs/instances/{job}: the
 * ItemJobInstance {id, itemId, jobType, invokeType, status, failureReason,
 * startTimeUtc, endTimeUtc} in *inst (caller frees).
 */
int fabric_job_get(struct fabric *f, const char *id, const char *job, cJSON **inst,
                   struct net_error *e);

/*
 * fabric_job_list - the job instances of item `id`, all pages, as a cJSON
 * array in *insts; caller frees.
 */
int fabric_job_list(struct fabric *f, const char *id, cJSON **insts, struct net_error *e);

/*
 * fabric_job_cancel - POST .../jobs/instances/{job}/cancel (202; the
 * instance stays InProgress until it is Cancelled). -EALREADY when it had
 * already ended (JobAlreadyCompleted). Safe to repeat.
 */
int fabric_job_cancel(struct fabric *f, const char *id, const char *job, struct net_error *e);

/*
 * fabric_query_activity_runs - POST /workspaces/{ws}/datapipelines/
 * pipelineruns/{job}/queryactivityruns with ADF's RunFilterParameters
 * (after/before as adf_query_activity_runs: NULL for the defaults). Fabric
 * answers a bare array of ADF-shaped activity runs; *acts is that array
 * (caller frees). -EPROTO when the reply is not an array.
 */
int fabric_query_activity_runs(struct fabric *f, const char *job, const char *after,
                               const char *before, cJSON **acts, struct net_error *e);

/*
 * Pipeline schedules: .../items/{id}/jobs/FABRIC_SCHEDULE_JOB_TYPE/schedules.
 * Which job type the generic route takes for a pipeline's schedule,
 * Pipeline or Execute, is not public (mgdc-hosts.7, SCHEDULES); the
 * sandbox takes Pipeline, the job type of runs.
 */
#define FABRIC_SCHEDULE_JOB_TYPE FABRIC_JOB_TYPE

/*
 * fabric_schedule_create - POST a schedule {"enabled", "configuration":
 * `configuration`} (a ScheduleConfig: type Cron/Daily/Weekly/Monthly,
 * startDateTime, endDateTime, localTimeZoneId, ...) for item `id`. *out
 * (may be NULL) receives the ItemSchedule {id, enabled, configuration,
 * owner, ...}; caller frees.
 */
int fabric_schedule_create(struct fabric *f, const char *id, int enabled,
                           const cJSON *configuration, cJSON **out, struct net_error *e);

/* fabric_schedule_list - the schedules of item `id`, all pages, as a cJSON array; caller frees. */
int fabric_schedule_list(struct fabric *f, const char *id, cJSON **out, struct net_error *e);

/*
 * fabric_schedule_update - PATCH schedule `sched` of item `id` with
 * {"enabled": enabled} and, when not NULL, "configuration". *out (may be
 * NULL) receives the ItemSchedule.
 */
int fabric_schedule_update(struct fabric *f, const char *id, const char *sched, int enabled,
                           const cJSON *configuration, cJSON **out, struct net_error *e);

/* fabric_schedule_delete - DELETE schedule `sched` of item `id`. -ENOENT when absent. */
int fabric_schedule_delete(struct fabric *f, const char *id, const char *sched,
                           struct net_error *e);

/*
 * fabric_run_status - the runs/<id>/status word for an ItemJobInstance
 * status (mgdc-hosts.7, RUN STATUS): NotStarted -> Queued, Completed ->
 * Succeeded, Deduped -> Cancelled; InProgress, Failed and Cancelled as
 * they are; an unknown status is returned unchanged (never guessed), NULL
 * for NULL. Pure.
 */
const char *fabric_run_status(const char *status);

/*
 * fabric_job_id_from_location - the job instance id at the end of
 * `location` (".../jobs/instances/{id}", an optional trailing '/' or query
 * ignored) into out (room for n bytes). 0, or -EPROTO when there is none,
 * it is not GUID-shaped or does not fit. Pure.
 */
int fabric_job_id_from_location(const char *location, char *out, size_t n);

/* fabric_rest - the endpoint of `f`, so tests can lower its caps. */
struct rest_ep *fabric_rest(struct fabric *f);

#endif
