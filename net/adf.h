/*
 * adf.h - Azure Data Factory over ARM REST (api-version 2018-06-01): linked
 * services, datasets and pipelines of one factory, pipeline runs and their
 * activity runs. The same client speaks to an Azure Synapse workspace's
 * development endpoint (adf_new_synapse): the same resources and runs, with
 * the differences of mgdc-hosts(7) handled here so fs/ need not know which
 * host it talks to.
 *
 * Every call is under {arm}/subscriptions/{sub}/resourceGroups/{rg}/
 * providers/Microsoft.DataFactory/factories/{factory}, with a bearer token
 * for ADF_SCOPE; names are percent-encoded as path segments. Results are
 * cJSON trees the caller owns; failures are -errno with `e` holding ARM's
 * {"error":{"code","message"}} text.
 */
#ifndef MGDCFS_NET_ADF_H
#define MGDCFS_NET_ADF_H

#include <cjson/cJSON.h>

#include "net/auth.h"
#include "net/http.h"

#define ADF_SCOPE           "https://management.azure.com/.default"
#define ADF_API_VERSION     "2018-06-01"
#define SYNAPSE_SCOPE       "https://dev.azuresynapse.net/.default"
#define SYNAPSE_API_VERSION "2020-12-01"

/* The factory child resources with create/get/delete/list. */
enum adf_kind { ADF_LINKED_SERVICE = 0, ADF_DATASET = 1, ADF_PIPELINE = 2, ADF_TRIGGER = 3 };

/* adf_kind_collection - the ARM path segment of `kind` ("linkedservices", "datasets",
 * "pipelines", "triggers"), or NULL for an unknown kind. */
const char *adf_kind_collection(enum adf_kind kind);

/* adf_kind_from_collection - the kind whose segment `seg` is (its first `len` bytes);
 * -1 when none. */
int adf_kind_from_collection(const char *seg, size_t len);

/*
 * adf_time_cmp - compare two timestamps as ADF writes them
 * ("2018-06-16T00:37:44.6257014Z": up to seven fraction digits, trailing
 * zeros trimmed, or none), in time order: <0, 0, >0. Text order is wrong
 * for them ("44.62Z" sorts after "44.6257014Z"). A NULL or unparsable
 * stamp sorts before every valid one. Pure.
 */
int adf_time_cmp(const char *a, const char *b);

struct adf;

/*
 * adf_new - a client for factory `factory` in resource group `rg` of
 * subscription `sub`, at `arm_url` (e.g. https://management.azure.com), with
 * tokens from `a` (must outlive the client). Returns 0, -EINVAL (missing
 * argument, bad URL), -ENOMEM. Thread-safe in use; free with adf_free()
 * after the last call returned.
 */
int adf_new(struct adf **out, struct auth *a, const char *arm_url, const char *sub, const char *rg,
            const char *factory);
/*
 * adf_new_synapse - a client for the Synapse workspace whose development
 * endpoint is `endpoint` (https://{workspace}.dev.azuresynapse.net, or the
 * sandbox's), tokens for SYNAPSE_SCOPE, api-version SYNAPSE_API_VERSION.
 * Every call below then differs as Synapse does: no ARM prefix; a PUT or
 * DELETE answered 202 is waited for (its Location polled as rest_lro_wait
 * says, at most ADF_LRO_MS); createRun's 202 is its success; the activity
 * runs are asked under the pipeline's name. Same returns as adf_new().
 */
int adf_new_synapse(struct adf **out, struct auth *a, const char *endpoint);

/* adf_is_synapse - 1 for a client from adf_new_synapse(), else 0. */
int adf_is_synapse(const struct adf *f);

void adf_free(struct adf *f);

/*
 * adf_get - GET one resource: *out (caller frees) and its etag in *etag (may
 * be NULL; malloc'd). -ENOENT when absent.
 */
int adf_get(struct adf *f, enum adf_kind kind, const char *name, cJSON **out, char **etag,
            struct net_error *e);

/*
 * adf_put - create or update a resource from `resource` ({"properties":
 * {...}}). With `if_match` the update happens only if the factory's etag
 * still matches (-ESTALE otherwise). *out and *etag (each may be NULL)
 * receive the stored resource and its new etag; caller frees. On Synapse
 * it returns once the write is done (-EIO with the operation's error when
 * it failed, -ETIMEDOUT past ADF_LRO_MS).
 */
int adf_put(struct adf *f, enum adf_kind kind, const char *name, const cJSON *resource,
            const char *if_match, cJSON **out, char **etag, struct net_error *e);

/* adf_delete - DELETE a resource (ARM answers 204 when it did not exist: that is 0 too;
 * Synapse's 202 is waited for as adf_put's). */
int adf_delete(struct adf *f, enum adf_kind kind, const char *name, struct net_error *e);

/* adf_list - every resource of `kind` in the factory (all pages) as a cJSON array; caller frees. */
int adf_list(struct adf *f, enum adf_kind kind, cJSON **items, struct net_error *e);

/*
 * adf_create_run - POST .../pipelines/{pipeline}/createRun with `params`
 * (NULL: none) as the body. *run_id is the new runId (malloc'd; caller
 * frees). Sent as a non-idempotent request: a connection dropped after the
 * request was sent is reported (-ECONNRESET etc.), never replayed, so one
 * trigger can never start two runs.
 */
int adf_create_run(struct adf *f, const char *pipeline, const cJSON *params, char **run_id,
                   struct net_error *e);

/*
 * adf_get_run - GET .../pipelineruns/{runId}: the PipelineRun in *run (caller
 * frees). The tree reads runs with adf_query_runs; the tests check one run.
 */
int adf_get_run(struct adf *f, const char *run_id, cJSON **run, struct net_error *e);

/*
 * adf_query_runs - the runs of `pipeline` (NULL: of every pipeline) last
 * updated in [after, before) (ISO 8601; NULL: 45 days ago / 400 days ahead,
 * since the service's clock may run ahead of ours),
 * newest first, following continuationToken pages (a few requests for
 * hundreds of runs). *runs is a cJSON array; caller frees.
 */
int adf_query_runs(struct adf *f, const char *pipeline, const char *after, const char *before,
                   cJSON **runs, struct net_error *e);

/*
 * adf_query_activity_runs - the activity runs of run `run_id` of pipeline
 * `pipeline` updated in [after, before) (NULL: as adf_query_runs), all pages,
 * as a cJSON array in *acts; caller frees. ADF ignores `pipeline`; Synapse's
 * path carries it, and when it is NULL one GET of the run finds it.
 */
int adf_query_activity_runs(struct adf *f, const char *pipeline, const char *run_id,
                            const char *after, const char *before, cJSON **acts,
                            struct net_error *e);

/*
 * adf_trigger_start / adf_trigger_stop - POST .../triggers/{name}/start or
 * /stop, long-running operations (the OpenAPI marks them so): when ADF
 * answers 202 with an Azure-AsyncOperation URL, wait for it (at most
 * ADF_LRO_MS; an answer of 200 is final). 0 when the operation succeeded;
 * -ENOENT for no such trigger; -ETIMEDOUT when it did not finish in time.
 * Both are safe to repeat: they are sent as idempotent requests.
 */
#define ADF_LRO_MS 60000
int adf_trigger_start(struct adf *f, const char *trigger, struct net_error *e);
int adf_trigger_stop(struct adf *f, const char *trigger, struct net_error *e);

/* adf_cancel_run - POST .../pipelineruns/{runId}/cancel (?isRecursive=true when recursive). */
int adf_cancel_run(struct adf *f, const char *run_id, int recursive, struct net_error *e);

/*
 * adf_run_filter - the RunFilterParameters body used by the queries:
 * lastUpdatedAfter/Before (defaults as above, computed from `now`), and a
 * PipelineName Equals filter plus RunStart DESC order when `pipeline` is
 * not NULL. Returns a new cJSON object (caller frees) or NULL on ENOMEM.
 * Exposed for unit tests.
 */
cJSON *adf_run_filter(const char *pipeline, const char *after, const char *before, long long now);

/* adf_rest - the endpoint of `f`, so tests can lower its caps. */
struct rest_ep *adf_rest(struct adf *f);

#endif
