/*
 * fabric.c - Microsoft Fabric REST client for data pipelines (fabric.h).
 *
 * The decisions a reader must know: running a job is the only call whose
 * replay would do harm (a second run, a second export), so it alone is
 * sent as non-idempotent; everything else is safe to retry. Fabric's
 * long-running item operations are followed with rest_lro_wait() (their
 * Location is polled like ARM's Azure-AsyncOperation: same origin only,
 * Retry-After honoured), then the operation's /result is read. Fabric
 * reports some refusals with statuses whose errno would mislead (409 is
 * ESTALE for ARM's ETags), so the codes that mean "exists" or "already
 * ended" are mapped here, by errorCode.
 */
#include "net/fabric.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "net/adf.h"
#include "net/rest.h"

#define FABRIC_JOB_ID_MAX 64

struct fabric {
	/* first member: rest_ep_new() allocates the whole struct */
	struct rest_ep ep; /* base = the endpoint root ({endpoint}, e.g. .../v1) */
	char *workspace;
};

int fabric_new(struct fabric **out, struct auth *a, const char *endpoint, const char *workspace)
{
	int rc = -EINVAL;
	struct fabric *f;

	*out = NULL;
	if (!workspace || !*workspace)
		return -EINVAL;
	f = (struct fabric *)rest_ep_new(sizeof(struct fabric), &rc, a, FABRIC_SCOPE, endpoint,
	                                 (char *)NULL);
	if (!f)
		return rc;
	if (!(f->workspace = strdup(workspace))) {
		fabric_free(f);
		return -ENOMEM;
	}
	*out = f;
	return 0;
}

void fabric_free(struct fabric *f)
{
	if (f)
		free(f->workspace);
	rest_ep_free(f ? &f->ep : NULL);
}

struct rest_ep *fabric_rest(struct fabric *f)
{
	return &f->ep;
}

/* Map the errorCodes whose HTTP status says less than they do. */
static int fabric_errno(int res, struct net_error *e)
{
	static const struct {
		const char *code;
		int err;
	} map[] = {
	    {"ItemDisplayNameAlreadyInUse", EEXIST},
	    {"DuplicateConnectionName", EEXIST},
	    {"JobAlreadyCompleted", EALREADY},
	};

	if (res >= 0 || !e)
		return res;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(e->code, map[i].code) == 0)
			return -(e->err = map[i].err);
	return res;
}

/* The URL /workspaces/{ws}/items[/{id}[/{action}]] (query may be NULL). */
static char *fabric_item_url(struct fabric *f, const char *id, const char *action,
                             const char *query)
{
	return rest_url(f->ep.base, query, "workspaces", f->workspace, "items", id,
	                id ? action : NULL, (char *)NULL);
}

/* Fail with -EINVAL for a NULL or empty id (a NULL would end the URL's segments early). */
static int fabric_need(const char *id, const char *what, struct net_error *e)
{
	return id && *id ? 0 : rest_error(e, EINVAL, "InvalidId", "no %s id", what);
}

/*
 * One idempotent request: `method` `url` (taken and freed; NULL from a
 * failed rest_url() is -ENOMEM) with `body`, the reply in *out (may be NULL).
 */
static int fabric_send(struct fabric *f, const char *method, char *url, const cJSON *body,
                       cJSON **out, struct net_error *e)
{
	int res = rest_send(&f->ep, method, url, body, NULL, 0, out, NULL, e);

	free(url);
	return fabric_errno(res, e);
}

/* ---- definitions ---------------------------------------------------------------- */

cJSON *fabric_definition_build(const cJSON *properties)
{
	cJSON *content = cJSON_CreateObject(), *def = NULL, *parts, *part;
	char *text = NULL, *b64 = NULL;
	size_t len;

	if (!content || !cJSON_AddItemToObject(content, "properties",
	                                       properties ? cJSON_Duplicate(properties, 1)
	                                                  : cJSON_CreateObject()))
		goto out;
	if (!(text = cJSON_PrintUnformatted(content)))
		goto out;
	len = strlen(text);
	if (!(b64 = malloc(4 * ((len + 2) / 3) + 1)))
		goto out;
	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)text, (int)len);
	def = cJSON_CreateObject();
	parts = cJSON_AddArrayToObject(def, "parts");
	part = cJSON_CreateObject();
	if (!parts || !cJSON_AddItemToArray(parts, part)) {
		cJSON_Delete(part); /* not attached */
		part = NULL;
	}
	if (!part || !cJSON_AddStringToObject(part, "path", FABRIC_PIPELINE_PART) ||
	    !cJSON_AddStringToObject(part, "payload", b64) ||
	    !cJSON_AddStringToObject(part, "payloadType", "InlineBase64")) {
		cJSON_Delete(def);
		def = NULL;
	}
out:
	cJSON_Delete(content);
	free(text);
	free(b64);
	return def;
}

/* Decode standard base64 `s` (with '=' padding) into a malloc'd NUL-terminated text. */
static int fabric_b64_decode(const char *s, char **out, size_t *outlen)
{
	size_t len = strlen(s), pad = 0;
	unsigned char *buf;
	int n;

	*out = NULL;
	if (len % 4)
		return -EPROTO;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '=' && i + 2 >= len) {
			pad++;
			continue;
		}
		if (!isalnum(c) && c != '+' && c != '/')
			return -EPROTO;
		if (pad) /* '=' only at the end */
			return -EPROTO;
	}
	if (!(buf = malloc(len / 4 * 3 + 1)))
		return -ENOMEM;
	n = EVP_DecodeBlock(buf, (const unsigned char *)s, (int)len);
	if (n < 0 || (size_t)n < pad) {
		free(buf);
		return -EPROTO;
	}
	*outlen = (size_t)n - pad;
	buf[*outlen] = '\0';
	*out = (char *)buf;
	return 0;
}

int fabric_definition_parse(const cJSON *definition, cJSON **properties, struct net_error *e)
{
	const cJSON *def = cJSON_GetObjectItemCaseSensitive(definition, "definition");
	const cJSON *parts, *part, *payload = NULL;
	cJSON *content = NULL;
	char *text = NULL;
	size_t len = 0;
	int res;

	*properties = NULL;
	parts = cJSON_GetObjectItemCaseSensitive(def ? def : definition, "parts");
	cJSON_ArrayForEach(part, parts)
	{
		const cJSON *path = cJSON_GetObjectItemCaseSensitive(part, "path");

		if (cJSON_IsString(path) && strcmp(path->valuestring, FABRIC_PIPELINE_PART) == 0) {
			const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "payloadType");

			if (!cJSON_IsString(type) || strcmp(type->valuestring, "InlineBase64") != 0)
				return rest_error(e, EPROTO, "InvalidDefinition",
				                  "the part %s is not InlineBase64",
				                  FABRIC_PIPELINE_PART);
			payload = cJSON_GetObjectItemCaseSensitive(part, "payload");
		}
	}
	if (!cJSON_IsString(payload))
		return rest_error(e, EPROTO, "InvalidDefinition",
		                  "the definition has no %s part with a payload",
		                  FABRIC_PIPELINE_PART);
	res = fabric_b64_decode(payload->valuestring, &text, &len);
	if (res == -ENOMEM)
		return rest_error(e, ENOMEM, "NoMemory", "out of memory");
	if (res < 0)
		return rest_error(e, EPROTO, "InvalidDefinition",
		                  "the payload of %s is not standard base64", FABRIC_PIPELINE_PART);
	res = rest_parse(text, len, &content, e);
	if (res == 0) {
		*properties = rest_take_item(&content, "properties");
		if (!cJSON_IsObject(*properties)) {
			cJSON_Delete(*properties);
			*properties = NULL;
			res = rest_error(e, EPROTO, "InvalidDefinition",
			                 "%s has no \"properties\" object", FABRIC_PIPELINE_PART);
		}
	}
	cJSON_Delete(content);
	free(text);
	return res;
}

/* ---- long-running operations ------------------------------------------------------ */

/*
 * Send `method` `url` with `body`; when Fabric answers 202 with an
 * operation (x-ms-operation-id), wait for it and read its /result into
 * *out (may be NULL). A 200/201 reply's body goes to *out as it is.
 */
static int fabric_lro(struct fabric *f, const char *method, const char *url, const cJSON *body,
                      cJSON **out, struct net_error *e)
{
	struct rest_call c = {.method = method, .url = url, .body = body};
	struct rest_result r;
	char *result = NULL;
	int res;

	if (out)
		*out = NULL;
	if (!url)
		return rest_error(e, ENOMEM, "NoMemory", "cannot build the request URL");
	res = rest_do(&f->ep, &c, &r, e);
	if (res < 0)
		goto out;
	if (r.status != 202) {
		if (out) {
			*out = r.json;
			r.json = NULL;
		}
		goto out;
	}
	if (!r.location) {
		res = rest_error(e, EPROTO, "InvalidReply",
		                 "202 without a Location for the operation");
		goto out;
	}
	/* rest_lro_wait polls async_url: here it is the operation's Location. */
	r.async_url = r.location;
	r.location = NULL;
	res = rest_lro_wait(&f->ep, url, &r, FABRIC_LRO_MS, e);
	if (res < 0 || !out)
		goto out;
	result = malloc(strlen(r.async_url) + sizeof("/result"));
	if (!result) {
		res = rest_error(e, ENOMEM, "NoMemory", "out of memory");
		goto out;
	}
	strcpy(result, r.async_url);
	strcat(result, "/result");
	res = rest_get(&f->ep, result, out, NULL, e);
out:
	rest_result_release(&r);
	free(result);
	return fabric_errno(res, e);
}

/* ---- pipeline items --------------------------------------------------------------- */

int fabric_pipeline_create(struct fabric *f, const char *name, const char *description,
                           const cJSON *properties, cJSON **item, struct net_error *e)
{
	cJSON *req = cJSON_CreateObject(), *def = fabric_definition_build(properties);
	char *url = NULL;
	int res;

	if (item)
		*item = NULL;
	if (!name || !*name) {
		res = rest_error(e, EINVAL, "InvalidName", "empty pipeline name");
		goto out;
	}
	if (!req || !def || !cJSON_AddStringToObject(req, "displayName", name) ||
	    !cJSON_AddStringToObject(req, "type", "DataPipeline") ||
	    (description && !cJSON_AddStringToObject(req, "description", description))) {
		res = rest_error(e, ENOMEM, "NoMemory", "out of memory");
		goto out;
	}
	cJSON_AddItemToObject(req, "definition", def);
	def = NULL;
	url = fabric_item_url(f, NULL, NULL, NULL);
	res = fabric_lro(f, "POST", url, req, item, e);
out:
	cJSON_Delete(req);
	cJSON_Delete(def);
	free(url);
	return res;
}

int fabric_pipeline_get(struct fabric *f, const char *id, cJSON **item, struct net_error *e)
{
	int res = fabric_need(id, "item", e);

	*item = NULL;
	return res < 0 ? res
	               : fabric_send(f, NULL, fabric_item_url(f, id, NULL, NULL), NULL, item, e);
}

/* Every item of `type` (all pages). */
static int fabric_list_type(struct fabric *f, const char *type, cJSON **items, struct net_error *e)
{
	char query[64], *url;
	struct rest_call c = {0};
	int res;

	*items = NULL;
	snprintf(query, sizeof(query), "type=%s", type);
	c.url = url = fabric_item_url(f, NULL, NULL, query);
	if (!url)
		return rest_error(e, ENOMEM, "NoMemory", "cannot build the request URL");
	res = rest_list(&f->ep, &c, items, e);
	free(url);
	return res;
}

/* The id of the item of `type` whose id or displayName (case-insensitive) is `name`. */
static int fabric_find_type(struct fabric *f, const char *type, const char *name, char **id,
                            struct net_error *e)
{
	cJSON *items = NULL;
	const cJSON *it;
	int res = fabric_list_type(f, type, &items, e);

	*id = NULL;
	if (res < 0)
		return res;
	res = rest_error(e, ENOENT, "ItemNotFound", "no %s named '%s' in the workspace", type,
	                 name ? name : "");
	cJSON_ArrayForEach(it, items)
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "displayName");
		const cJSON *i = cJSON_GetObjectItemCaseSensitive(it, "id");

		if (!cJSON_IsString(i) || !name)
			continue;
		if (strcasecmp(i->valuestring, name) == 0 ||
		    (cJSON_IsString(n) && strcasecmp(n->valuestring, name) == 0)) {
			*id = strdup(i->valuestring);
			res = *id ? 0 : rest_error(e, ENOMEM, "NoMemory", "out of memory");
			break;
		}
	}
	cJSON_Delete(items);
	return res;
}

int fabric_pipeline_list(struct fabric *f, cJSON **items, struct net_error *e)
{
	return fabric_list_type(f, "DataPipeline", items, e);
}

int fabric_pipeline_find(struct fabric *f, const char *name, char **id, struct net_error *e)
{
	return fabric_find_type(f, "DataPipeline", name, id, e);
}

int fabric_lakehouse_find(struct fabric *f, const char *lakehouse, char **id, struct net_error *e)
{
	return fabric_find_type(f, "Lakehouse", lakehouse, id, e);
}

int fabric_pipeline_get_definition(struct fabric *f, const char *id, cJSON **properties,
                                   struct net_error *e)
{
	cJSON *reply = NULL;
	char *url;
	int res = fabric_need(id, "item", e);

	*properties = NULL;
	if (res < 0)
		return res;
	url = fabric_item_url(f, id, "getDefinition", NULL);
	res = fabric_lro(f, "POST", url, NULL, &reply, e);
	if (res == 0)
		res = fabric_definition_parse(reply, properties, e);
	cJSON_Delete(reply);
	free(url);
	return res;
}

int fabric_pipeline_update_definition(struct fabric *f, const char *id, const cJSON *properties,
                                      struct net_error *e)
{
	cJSON *req = cJSON_CreateObject(), *def = fabric_definition_build(properties);
	char *url = NULL;
	int res = fabric_need(id, "item", e);

	if (res < 0)
		goto out;
	if (!req || !def) {
		res = rest_error(e, ENOMEM, "NoMemory", "out of memory");
		goto out;
	}
	cJSON_AddItemToObject(req, "definition", def);
	def = NULL;
	url = fabric_item_url(f, id, "updateDefinition", NULL);
	res = fabric_lro(f, "POST", url, req, NULL, e);
out:
	cJSON_Delete(req);
	cJSON_Delete(def);
	free(url);
	return res;
}

int fabric_pipeline_delete(struct fabric *f, const char *id, struct net_error *e)
{
	int res = fabric_need(id, "item", e);

	return res < 0
	           ? res
	           : fabric_send(f, "DELETE", fabric_item_url(f, id, NULL, NULL), NULL, NULL, e);
}

/* ---- connections ------------------------------------------------------------------ */

/* The CreateCloudConnectionRequest of a Microsoft 365 connection (mgdc-hosts.7). */
static cJSON *fabric_connection_body(const char *name, const char *tenant, const char *client_id,
                                     const char *secret)
{
	cJSON *b = cJSON_CreateObject(), *d, *cd, *cr;
	int ok;

	d = cJSON_AddObjectToObject(b, "connectionDetails");
	cd = cJSON_AddObjectToObject(b, "credentialDetails");
	cr = cJSON_AddObjectToObject(cd, "credentials");
	ok = d && cr && cJSON_AddStringToObject(b, "connectivityType", "ShareableCloud") &&
	     cJSON_AddStringToObject(b, "displayName", name) &&
	     cJSON_AddStringToObject(b, "privacyLevel", "Organizational") &&
	     cJSON_AddStringToObject(d, "type", FABRIC_M365_TYPE) &&
	     cJSON_AddStringToObject(d, "creationMethod", FABRIC_M365_METHOD) &&
	     cJSON_AddArrayToObject(d, "parameters") &&
	     cJSON_AddStringToObject(cd, "singleSignOnType", "None") &&
	     cJSON_AddStringToObject(cd, "connectionEncryption", "NotEncrypted") &&
	     cJSON_AddFalseToObject(cd, "skipTestConnection") &&
	     cJSON_AddStringToObject(cr, "credentialType", "ServicePrincipal") &&
	     cJSON_AddStringToObject(cr, "tenantId", tenant) &&
	     cJSON_AddStringToObject(cr, "servicePrincipalClientId", client_id) &&
	     cJSON_AddStringToObject(cr, "servicePrincipalSecret", secret);
	if (!ok) {
		cJSON_Delete(b);
		return NULL;
	}
	return b;
}

int fabric_connection_create(struct fabric *f, const char *name, const char *tenant,
                             const char *client_id, const char *secret, char **id,
                             struct net_error *e)
{
	cJSON *b = NULL, *reply = NULL;
	const cJSON *j;
	char *url = NULL;
	int res;

	*id = NULL;
	if (!name || !*name || !tenant || !client_id || !secret || !*secret)
		return rest_error(e, EINVAL, "InvalidConnection",
		                  "a connection needs a name, a tenant, a client id and a secret");
	b = fabric_connection_body(name, tenant, client_id, secret);
	url = rest_url(f->ep.base, NULL, "connections", (char *)NULL);
	if (!b) {
		res = rest_error(e, ENOMEM, "NoMemory", "out of memory");
		goto out;
	}
	res = fabric_errno(rest_send(&f->ep, "POST", url, b, NULL, 0, &reply, NULL, e), e);
	if (res < 0)
		goto out;
	j = cJSON_GetObjectItemCaseSensitive(reply, "id");
	if (!cJSON_IsString(j) || !j->valuestring[0])
		res = rest_error(e, EPROTO, "InvalidReply", "the new connection has no id");
	else if (!(*id = strdup(j->valuestring)))
		res = rest_error(e, ENOMEM, "NoMemory", "out of memory");
out:
	/* The body holds the secret: overwrite it before it is freed. */
	j = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(b, "credentialDetails"), "credentials"),
	    "servicePrincipalSecret");
	if (cJSON_IsString(j))
		memset(j->valuestring, 0, strlen(j->valuestring));
	cJSON_Delete(b);
	cJSON_Delete(reply);
	free(url);
	return res;
}

int fabric_connection_delete(struct fabric *f, const char *id, struct net_error *e)
{
	int res = fabric_need(id, "connection", e);

	return res < 0 ? res
	               : fabric_send(f, "DELETE",
	                             rest_url(f->ep.base, NULL, "connections", id, (char *)NULL),
	                             NULL, NULL, e);
}

/* ---- jobs ----------------------------------------------------------------------- */

int fabric_job_id_from_location(const char *location, char *out, size_t n)
{
	const char *p, *end, *start;
	size_t len;

	if (!location || !(p = strstr(location, "/jobs/instances/")))
		return -EPROTO;
	start = p + strlen("/jobs/instances/");
	end = start + strcspn(start, "/?#");
	if (*end == '/' && end[1] != '\0' && end[1] != '?')
		return -EPROTO; /* a sub-resource, not the instance */
	len = (size_t)(end - start);
	if (len == 0 || len >= n || len > FABRIC_JOB_ID_MAX)
		return -EPROTO;
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)start[i]) && start[i] != '-')
			return -EPROTO;
	memcpy(out, start, len);
	out[len] = '\0';
	return 0;
}

int fabric_run(struct fabric *f, const char *id, const cJSON *params, char **job_id,
               struct net_error *e)
{
	struct rest_call c = {.method = "POST", .non_idempotent = 1};
	struct rest_result r;
	cJSON *b = cJSON_CreateObject(), *ed;
	char jid[FABRIC_JOB_ID_MAX + 1], *url = NULL;
	int res = fabric_need(id, "item", e);

	*job_id = NULL;
	memset(&r, 0, sizeof(r));
	if (res < 0)
		goto out;
	ed = cJSON_AddObjectToObject(b, "executionData");
	if (!ed ||
	    !cJSON_AddItemToObject(ed, "parameters",
	                           params ? cJSON_Duplicate(params, 1) : cJSON_CreateObject())) {
		res = rest_error(e, ENOMEM, "NoMemory", "out of memory");
		goto out;
	}
	c.body = b;
	c.url = url = rest_url(f->ep.base, "jobType=" FABRIC_JOB_TYPE, "workspaces", f->workspace,
	                       "items", id, "jobs", "instances", (char *)NULL);
	if (!url) {
		res = rest_error(e, ENOMEM, "NoMemory", "cannot build the request URL");
		goto out;
	}
	res = rest_do(&f->ep, &c, &r, e);
	if (res < 0)
		goto out;
	if (fabric_job_id_from_location(r.location, jid, sizeof(jid)) < 0) {
		res = rest_error(e, EPROTO, "InvalidReply",
		                 "the run was accepted (HTTP %ld) but its Location names no job "
		                 "instance; it may be running",
		                 r.status);
		goto out;
	}
	if (!(*job_id = strdup(jid)))
		res = rest_error(e, ENOMEM, "NoMemory", "out of memory");
out:
	rest_result_release(&r);
	cJSON_Delete(b);
	free(url);
	return res;
}

/* The URL .../items/{id}/jobs/instances[/{job}[/{action}]]. */
static char *fabric_job_url(struct fabric *f, const char *id, const char *job, const char *action)
{
	return rest_url(f->ep.base, NULL, "workspaces", f->workspace, "items", id, "jobs",
	                "instances", job, job ? action : NULL, (char *)NULL);
}

int fabric_job_get(struct fabric *f, const char *id, const char *job, cJSON **inst,
                   struct net_error *e)
{
	int res = fabric_need(id, "item", e);

	*inst = NULL;
	if (res == 0)
		res = fabric_need(job, "job instance", e);
	return res < 0 ? res
	               : fabric_send(f, NULL, fabric_job_url(f, id, job, NULL), NULL, inst, e);
}

int fabric_job_list(struct fabric *f, const char *id, cJSON **insts, struct net_error *e)
{
	struct rest_call c = {0};
	char *url;
	int res = fabric_need(id, "item", e);

	*insts = NULL;
	if (res < 0)
		return res;
	c.url = url = fabric_job_url(f, id, NULL, NULL);
	if (!url)
		return rest_error(e, ENOMEM, "NoMemory", "cannot build the request URL");
	res = rest_list(&f->ep, &c, insts, e);
	free(url);
	return res;
}

int fabric_job_cancel(struct fabric *f, const char *id, const char *job, struct net_error *e)
{
	int res = fabric_need(id, "item", e);

	if (res == 0)
		res = fabric_need(job, "job instance", e);
	return res < 0
	           ? res
	           : fabric_send(f, "POST", fabric_job_url(f, id, job, "cancel"), NULL, NULL, e);
}

int fabric_query_activity_runs(struct fabric *f, const char *job, const char *after,
                               const char *before, cJSON **acts, struct net_error *e)
{
	cJSON *filter = NULL;
	char *url = NULL;
	int res = fabric_need(job, "job instance", e);

	*acts = NULL;
	if (res < 0)
		return res;
	filter = adf_run_filter(NULL, after, before, (long long)time(NULL));
	url = rest_url(f->ep.base, NULL, "workspaces", f->workspace, "datapipelines",
	               "pipelineruns", job, "queryactivityruns", (char *)NULL);
	if (!filter) {
		res = rest_error(e, ENOMEM, "NoMemory", "out of memory");
		goto out;
	}
	res = rest_send(&f->ep, "POST", url, filter, NULL, 0, acts, NULL, e);
	if (res == 0 && !cJSON_IsArray(*acts)) {
		cJSON_Delete(*acts);
		*acts = NULL;
		res = rest_error(e, EPROTO, "InvalidReply",
		                 "queryactivityruns did not answer an array of activity runs");
	}
out:
	cJSON_Delete(filter);
	free(url);
	return res;
}

/* ---- schedules -------------------------------------------------------------------- */

/* The URL .../items/{id}/jobs/{jobType}/schedules[/{sched}]. */
static char *fabric_sched_url(struct fabric *f, const char *id, const char *sched)
{
	return rest_url(f->ep.base, NULL, "workspaces", f->workspace, "items", id, "jobs",
	                FABRIC_SCHEDULE_JOB_TYPE, "schedules", sched, (char *)NULL);
}

/* {"enabled": enabled[, "configuration": configuration]}, or NULL on ENOMEM. */
static cJSON *fabric_sched_body(int enabled, const cJSON *configuration)
{
	cJSON *b = cJSON_CreateObject();

	if (!cJSON_AddBoolToObject(b, "enabled", enabled) ||
	    (configuration &&
	     !cJSON_AddItemToObject(b, "configuration", cJSON_Duplicate(configuration, 1)))) {
		cJSON_Delete(b);
		return NULL;
	}
	return b;
}

int fabric_schedule_create(struct fabric *f, const char *id, int enabled,
                           const cJSON *configuration, cJSON **out, struct net_error *e)
{
	cJSON *b;
	int res = fabric_need(id, "item", e);

	if (out)
		*out = NULL;
	if (res < 0)
		return res;
	if (!configuration)
		return rest_error(e, EINVAL, "InvalidScheduleConfiguration", "no configuration");
	if (!(b = fabric_sched_body(enabled, configuration)))
		return rest_error(e, ENOMEM, "NoMemory", "out of memory");
	res = fabric_send(f, "POST", fabric_sched_url(f, id, NULL), b, out, e);
	cJSON_Delete(b);
	return res;
}

int fabric_schedule_list(struct fabric *f, const char *id, cJSON **out, struct net_error *e)
{
	struct rest_call c = {0};
	char *url;
	int res = fabric_need(id, "item", e);

	*out = NULL;
	if (res < 0)
		return res;
	c.url = url = fabric_sched_url(f, id, NULL);
	if (!url)
		return rest_error(e, ENOMEM, "NoMemory", "cannot build the request URL");
	res = rest_list(&f->ep, &c, out, e);
	free(url);
	return res;
}

int fabric_schedule_update(struct fabric *f, const char *id, const char *sched, int enabled,
                           const cJSON *configuration, cJSON **out, struct net_error *e)
{
	cJSON *b;
	int res = fabric_need(id, "item", e);

	if (out)
		*out = NULL;
	if (res == 0)
		res = fabric_need(sched, "schedule", e);
	if (res < 0)
		return res;
	if (!(b = fabric_sched_body(enabled, configuration)))
		return rest_error(e, ENOMEM, "NoMemory", "out of memory");
	res = fabric_send(f, "PATCH", fabric_sched_url(f, id, sched), b, out, e);
	cJSON_Delete(b);
	return res;
}

int fabric_schedule_delete(struct fabric *f, const char *id, const char *sched, struct net_error *e)
{
	int res = fabric_need(id, "item", e);

	if (res == 0)
		res = fabric_need(sched, "schedule", e);
	return res < 0 ? res
	               : fabric_send(f, "DELETE", fabric_sched_url(f, id, sched), NULL, NULL, e);
}

const char *fabric_run_status(const char *status)
{
	static const char *const map[][2] = {
	    {"NotStarted", "Queued"},
	    {"Completed", "Succeeded"},
	    {"Deduped", "Cancelled"},
	};

	if (!status)
		return NULL;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(status, map[i][0]) == 0)
			return map[i][1];
	return status;
}
