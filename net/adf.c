/*
 * adf.c - Azure Data Factory ARM REST client (adf.h).
 *
 * The decision a reader must know: createRun is the only call whose replay
 * would do harm (a second run, a second export), so it alone is sent as
 * non-idempotent; everything else, including the POST queries and cancel,
 * is safe to retry. Run listings use one POST queryPipelineRuns filtered to
 * the pipeline and paged by continuationToken, so listing hundreds of runs
 * costs a few requests rather than one per run.
 */
#include "net/adf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/rest.h"

#define ADF_QUERY      "api-version=" ADF_API_VERSION
#define SYNAPSE_QUERY  "api-version=" SYNAPSE_API_VERSION
#define ADF_LOOKBACK_S (45LL * 86400) /* ADF keeps run history for 45 days */
/*
 * The window's end is far ahead on purpose: the service's clock, not ours,
 * stamps lastUpdated, and the sandbox moves its clock forward to test
 * approval expiry. A future bound costs nothing.
 */
#define ADF_LOOKAHEAD_S (400LL * 86400)

struct adf {
	/* first member: rest_ep_new() allocates the whole struct */
	struct rest_ep ep;   /* base = the factory's resource URL, or the workspace's endpoint */
	int synapse;         /* 1: a Synapse workspace (adf_new_synapse) */
	const char *query;   /* "api-version=..." of the host */
	const char *recurse; /* the same with "&isRecursive=true" */
};

static const char *const adf_kind_seg[] = {
    [ADF_LINKED_SERVICE] = "linkedservices",
    [ADF_DATASET] = "datasets",
    [ADF_PIPELINE] = "pipelines",
    [ADF_TRIGGER] = "triggers",
};

int adf_new(struct adf **out, struct auth *a, const char *arm_url, const char *sub, const char *rg,
            const char *factory)
{
	int rc = -EINVAL;

	/* A NULL name would end the segment list early and name another URL. */
	*out = !sub || !rg || !factory
	           ? NULL
	           : (struct adf *)rest_ep_new(sizeof(struct adf), &rc, a, ADF_SCOPE, arm_url,
	                                       "subscriptions", sub, "resourceGroups", rg,
	                                       "providers", "Microsoft.DataFactory", "factories",
	                                       factory, (char *)NULL);
	if (*out) {
		(*out)->query = ADF_QUERY;
		(*out)->recurse = ADF_QUERY "&isRecursive=true";
	}
	return *out ? 0 : rc;
}

int adf_new_synapse(struct adf **out, struct auth *a, const char *endpoint)
{
	int rc = -EINVAL;

	*out = endpoint ? (struct adf *)rest_ep_new(sizeof(struct adf), &rc, a, SYNAPSE_SCOPE,
	                                            endpoint, (char *)NULL)
	                : NULL;
	if (*out) {
		(*out)->synapse = 1;
		(*out)->query = SYNAPSE_QUERY;
		(*out)->recurse = SYNAPSE_QUERY "&isRecursive=true";
	}
	return *out ? 0 : rc;
}

int adf_is_synapse(const struct adf *f)
{
	return f->synapse;
}

void adf_free(struct adf *f)
{
	rest_ep_free(f ? &f->ep : NULL);
}

struct rest_ep *adf_rest(struct adf *f)
{
	return &f->ep;
}

/*
 * The URL {factory}/{seg}/{name}[/{action}]?api-version=...; NULL name
 * means the collection. Fails with -EINVAL for an empty name or unknown kind.
 */
static int adf_url(struct adf *f, const char *seg, const char *name, const char *action,
                   const char *query, char **url, struct net_error *e)
{
	*url = NULL;
	if (!seg || (name && !*name))
		return rest_error(e, EINVAL, "InvalidName", "empty resource name");
	*url =
	    rest_url(f->ep.base, query ? query : f->query, seg, name, name ? action : NULL, NULL);
	return *url ? 0 : rest_error(e, ENOMEM, "NoMemory", "cannot build the request URL");
}

static const char *adf_seg(enum adf_kind kind)
{
	return (unsigned)kind <= ADF_TRIGGER ? adf_kind_seg[kind] : NULL;
}

const char *adf_kind_collection(enum adf_kind kind)
{
	return adf_seg(kind);
}

int adf_kind_from_collection(const char *seg, size_t len)
{
	for (int k = ADF_LINKED_SERVICE; k <= ADF_TRIGGER; k++)
		if (strlen(adf_kind_seg[k]) == len && strncmp(seg, adf_kind_seg[k], len) == 0)
			return k;
	return -1;
}

/*
 * A stamp as seconds text and seven fraction digits: "YYYY-MM-DDTHH:MM:SS"
 * into whole (20 bytes) and the fraction padded with zeros into frac (8).
 * Returns 0, or -1 when it is not such a stamp.
 */
static int adf_stamp(const char *s, char *whole, char *frac)
{
	size_t i, n = 0;

	if (!s || strlen(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':')
		return -1;
	memcpy(whole, s, 19);
	whole[19] = '\0';
	memset(frac, '0', 7);
	frac[7] = '\0';
	i = 19;
	if (s[i] == '.')
		for (i++; s[i] >= '0' && s[i] <= '9'; i++)
			if (n < 7)
				frac[n++] = s[i];
	return s[i] == 'Z' && s[i + 1] == '\0' ? 0 : -1;
}

int adf_time_cmp(const char *a, const char *b)
{
	char wa[20], fa[8], wb[20], fb[8];
	int va = adf_stamp(a, wa, fa) == 0, vb = adf_stamp(b, wb, fb) == 0, c;

	if (!va || !vb)
		return va - vb;
	c = strcmp(wa, wb);
	return c ? c : strcmp(fa, fb);
}

/*
 * A PUT or DELETE of an artifact. ADF answers at once; Synapse answers 202 and
 * the write goes on (mgdc-hosts(7), AZURE SYNAPSE): rest_lro_wait follows its
 * Location, and the operation's final body is the stored artifact.
 */
static int adf_write(struct adf *f, const char *method, const char *url, const cJSON *body,
                     const char *if_match, cJSON **out, char **etag, struct net_error *e)
{
	struct rest_call c = {.method = method, .url = url, .body = body, .if_match = if_match};
	struct rest_result r;
	int res = rest_do(&f->ep, &c, &r, e);

	if (res == 0 && f->synapse)
		res = rest_lro_wait(&f->ep, url, &r, ADF_LRO_MS, e);
	if (res == 0 && out) {
		*out = r.json;
		r.json = NULL;
	}
	if (res == 0 && etag) {
		*etag = r.etag;
		r.etag = NULL;
	}
	rest_result_release(&r);
	return res;
}

int adf_get(struct adf *f, enum adf_kind kind, const char *name, cJSON **out, char **etag,
            struct net_error *e)
{
	char *url;
	int res;

	*out = NULL;
	if (etag)
		*etag = NULL;
	res = adf_url(f, adf_seg(kind), name ? name : "", NULL, NULL, &url, e);
	if (res == 0)
		res = rest_get(&f->ep, url, out, etag, e);
	free(url);
	return res;
}

int adf_put(struct adf *f, enum adf_kind kind, const char *name, const cJSON *resource,
            const char *if_match, cJSON **out, char **etag, struct net_error *e)
{
	char *url;
	int res;

	if (out)
		*out = NULL;
	if (etag)
		*etag = NULL;
	if (!resource)
		return rest_error(e, EINVAL, "InvalidResource", "no resource body");
	res = adf_url(f, adf_seg(kind), name ? name : "", NULL, NULL, &url, e);
	if (res == 0)
		res = adf_write(f, "PUT", url, resource, if_match, out, etag, e);
	free(url);
	return res;
}

int adf_delete(struct adf *f, enum adf_kind kind, const char *name, struct net_error *e)
{
	char *url;
	int res = adf_url(f, adf_seg(kind), name ? name : "", NULL, NULL, &url, e);

	if (res == 0)
		res = adf_write(f, "DELETE", url, NULL, NULL, NULL, NULL, e);
	free(url);
	return res;
}

int adf_list(struct adf *f, enum adf_kind kind, cJSON **items, struct net_error *e)
{
	struct rest_call c = {0};
	char *url;
	int res;

	*items = NULL;
	res = adf_url(f, adf_seg(kind), NULL, NULL, NULL, &url, e);
	if (res == 0) {
		c.url = url;
		res = rest_list(&f->ep, &c, items, e);
	}
	free(url);
	return res;
}

int adf_create_run(struct adf *f, const char *pipeline, const cJSON *params, char **run_id,
                   struct net_error *e)
{
	cJSON *empty = NULL, *reply = NULL;
	const cJSON *id;
	char *url = NULL;
	int res;

	*run_id = NULL;
	res = adf_url(f, "pipelines", pipeline ? pipeline : "", "createRun", NULL, &url, e);
	if (res < 0)
		goto out;
	if (!params && !(params = empty = cJSON_CreateObject())) {
		res = rest_error(e, ENOMEM, "NoMemory", "out of memory");
		goto out;
	}
	res = rest_send(&f->ep, "POST", url, params, NULL, 1, &reply, NULL, e);
	if (res < 0)
		goto out;
	id = cJSON_GetObjectItemCaseSensitive(reply, "runId");
	if (!cJSON_IsString(id) || !id->valuestring[0]) {
		res = rest_error(e, EPROTO, "InvalidReply", "createRun reply has no runId");
		goto out;
	}
	if (!(*run_id = strdup(id->valuestring)))
		res = rest_error(e, ENOMEM, "NoMemory", "out of memory");
out:
	cJSON_Delete(empty);
	cJSON_Delete(reply);
	free(url);
	return res;
}

int adf_get_run(struct adf *f, const char *run_id, cJSON **run, struct net_error *e)
{
	char *url;
	int res = adf_url(f, "pipelineruns", run_id ? run_id : "", NULL, NULL, &url, e);

	*run = NULL;
	if (res == 0)
		res = rest_get(&f->ep, url, run, NULL, e);
	free(url);
	return res;
}

int adf_cancel_run(struct adf *f, const char *run_id, int recursive, struct net_error *e)
{
	char *url;
	int res = adf_url(f, "pipelineruns", run_id ? run_id : "", "cancel",
	                  recursive ? f->recurse : NULL, &url, e);

	if (res == 0)
		res = rest_send(&f->ep, "POST", url, NULL, NULL, 0, NULL, NULL, e);
	free(url);
	return res;
}

static int adf_trigger_action(struct adf *f, const char *trigger, const char *action,
                              struct net_error *e)
{
	struct rest_call c = {.method = "POST"};
	struct rest_result r;
	char *url;
	int res = adf_url(f, "triggers", trigger ? trigger : "", action, NULL, &url, e);

	if (res < 0)
		return res;
	c.url = url;
	res = rest_do(&f->ep, &c, &r, e);
	if (res == 0)
		res = rest_lro_wait(&f->ep, url, &r, ADF_LRO_MS, e);
	rest_result_release(&r);
	free(url);
	return res;
}

int adf_trigger_start(struct adf *f, const char *trigger, struct net_error *e)
{
	return adf_trigger_action(f, trigger, "start", e);
}

int adf_trigger_stop(struct adf *f, const char *trigger, struct net_error *e)
{
	return adf_trigger_action(f, trigger, "stop", e);
}

/* ISO 8601 UTC of `t`, into buf (>= 21 bytes). */
static const char *adf_iso(long long t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "1970-01-01T00:00:00Z");
	return buf;
}

cJSON *adf_run_filter(const char *pipeline, const char *after, const char *before, long long now)
{
	char a[32], b[32];
	cJSON *q = cJSON_CreateObject(), *filters, *filter, *values, *order, *ord;

	if (!q)
		return NULL;
	if (!cJSON_AddStringToObject(q, "lastUpdatedAfter",
	                             after ? after : adf_iso(now - ADF_LOOKBACK_S, a, sizeof(a))) ||
	    !cJSON_AddStringToObject(q, "lastUpdatedBefore",
	                             before ? before
	                                    : adf_iso(now + ADF_LOOKAHEAD_S, b, sizeof(b))))
		goto fail;
	if (!pipeline)
		return q;
	if (!(filters = cJSON_AddArrayToObject(q, "filters")) || !(filter = cJSON_CreateObject()) ||
	    !cJSON_AddItemToArray(filters, filter) ||
	    !cJSON_AddStringToObject(filter, "operand", "PipelineName") ||
	    !cJSON_AddStringToObject(filter, "operator", "Equals") ||
	    !(values = cJSON_AddArrayToObject(filter, "values")) ||
	    !cJSON_AddItemToArray(values, cJSON_CreateString(pipeline)))
		goto fail;
	if (!(order = cJSON_AddArrayToObject(q, "orderBy")) || !(ord = cJSON_CreateObject()) ||
	    !cJSON_AddItemToArray(order, ord) ||
	    !cJSON_AddStringToObject(ord, "orderBy", "RunStart") ||
	    !cJSON_AddStringToObject(ord, "order", "DESC"))
		goto fail;
	return q;
fail:
	cJSON_Delete(q);
	return NULL;
}

/* POST query `filter` at `url` and merge every continuationToken page. */
static int adf_query(struct adf *f, const char *url, cJSON *filter, cJSON **items,
                     struct net_error *e)
{
	struct rest_call c = {.method = "POST", .url = url, .body = filter};

	if (!url || !filter)
		return rest_error(e, ENOMEM, "NoMemory", "out of memory");
	return rest_list(&f->ep, &c, items, e);
}

int adf_query_runs(struct adf *f, const char *pipeline, const char *after, const char *before,
                   cJSON **runs, struct net_error *e)
{
	cJSON *filter = adf_run_filter(pipeline, after, before, (long long)time(NULL));
	char *url = rest_url(f->ep.base, f->query, "queryPipelineRuns", NULL);
	int res;

	*runs = NULL;
	res = adf_query(f, url, filter, runs, e);
	cJSON_Delete(filter);
	free(url);
	return res;
}

int adf_query_activity_runs(struct adf *f, const char *pipeline, const char *run_id,
                            const char *after, const char *before, cJSON **acts,
                            struct net_error *e)
{
	cJSON *filter = NULL, *run = NULL;
	char *url = NULL;
	int res;

	*acts = NULL;
	if (!run_id || !*run_id) {
		res = rest_error(e, EINVAL, "InvalidName", "empty run id");
		goto out;
	}
	if (f->synapse && !pipeline) {
		/* Synapse's path names the pipeline: the run says which it is. */
		if ((res = adf_get_run(f, run_id, &run, e)) < 0)
			goto out;
		pipeline =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(run, "pipelineName"));
		if (!pipeline || !*pipeline) {
			res = rest_error(e, EPROTO, "InvalidReply", "the run names no pipeline");
			goto out;
		}
	}
	url = f->synapse ? rest_url(f->ep.base, f->query, "pipelines", pipeline, "pipelineruns",
	                            run_id, "queryActivityruns", NULL)
	                 : rest_url(f->ep.base, f->query, "pipelineruns", run_id,
	                            "queryActivityruns", NULL);
	filter = adf_run_filter(NULL, after, before, (long long)time(NULL));
	res = adf_query(f, url, filter, acts, e);
out:
	cJSON_Delete(filter);
	cJSON_Delete(run);
	free(url);
	return res;
}
