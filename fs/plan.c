/*
 * plan.c - the ADF resources of a pipeline spec (plan.h).
 *
 * Design decision: resource names are a pure function of the pipeline name,
 * so re-writing a spec updates the same resources instead of leaking new
 * ones, and the client secret reaches the plan through one struct and only
 * the two credential fields build_key() writes; plan_free() overwrites every
 * SecureString before the trees are freed.
 */
#include "fs/plan.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "fs/spec.h"
#include "fs/window.h"

#define PARAM_PREFIX "@pipeline().parameters."
#define NAME_MAX_ADF 260 /* the OpenAPI's maxLength of every resource name */
#define ANNOT_APP_ID "appId="
#define ANNOT_APP    "app="
#define ANNOT_MARK   "mgdcfs"
#define ANNOT_EST    "mgdcfs-estimate"
#define ANNOT_EST_OF "estimateOf="
/* Where MGDC takes a sample: a property of the Copy activity's Office 365 source. */
#define SAMPLE_PROPS "AdditionalDataSetProperties"

/* ---- names ---- */

int plan_resource_name_ok(enum adf_kind kind, const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > NAME_MAX_ADF || !isalpha((unsigned char)name[0]) ||
	    (unsigned char)name[0] >= 0x80)
		return 0;
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (kind != ADF_PIPELINE && kind != ADF_TRIGGER
		        ? !(c < 0x80 && (isalnum(c) || c == '_'))
		        : c < 0x20 || strchr(".+?/<>*%&:\\#", c) != NULL)
			return 0;
	}
	return 1;
}

int plan_names(const char *pipeline, struct plan_names *n)
{
	char stem[PLAN_NAME_MAX - 16]; /* room for "mgdcfs_" and "_o365" around it */
	uint32_t h = text_fnv1a(TEXT_FNV_SEED, pipeline, 0);
	size_t len = strlen(pipeline), o = 0;
	int changed = 0, w;

	if (len + 10 >= sizeof(stem))
		return -ENAMETOOLONG;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)pipeline[i];

		if (c < 0x80 && (isalnum(c) || c == '_')) {
			stem[o++] = (char)c;
		} else {
			stem[o++] = '_';
			changed = 1;
		}
	}
	if (changed)
		o += (size_t)snprintf(stem + o, sizeof(stem) - o, "_%08x", h);
	stem[o] = '\0';
	w = snprintf(n->o365, sizeof(n->o365), "mgdcfs_%s_o365", stem);
	snprintf(n->sink, sizeof(n->sink), "mgdcfs_%s_sink", stem);
	snprintf(n->src, sizeof(n->src), "mgdcfs_%s_src", stem);
	snprintf(n->dst, sizeof(n->dst), "mgdcfs_%s_dst", stem);
	snprintf(n->window, sizeof(n->window), "mgdcfs_%s_window", stem);
	snprintf(n->estimate, sizeof(n->estimate), "mgdcfs_%s_estimate", stem);
	return w > 0 && (size_t)w < sizeof(n->o365) ? 0 : -ENAMETOOLONG;
}

/* ---- JSON building blocks ---- */

/* Add a string member; NULL when out of memory or when `v` is NULL. */
static cJSON *add_str(cJSON *o, const char *k, const char *v)
{
	return v ? cJSON_AddStringToObject(o, k, v) : NULL;
}

/* put, push - add `v` to object `o` as `k` / to array `a`; on failure `v` is freed. */
static int put(cJSON *o, const char *k, cJSON *v)
{
	if (v && cJSON_AddItemToObject(o, k, v))
		return 1;
	cJSON_Delete(v);
	return 0;
}

static int push(cJSON *a, cJSON *v)
{
	if (v && cJSON_AddItemToArray(a, v))
		return 1;
	cJSON_Delete(v);
	return 0;
}

static const char *str_of(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static cJSON *ref(const char *name, const char *type)
{
	cJSON *r = cJSON_CreateObject();

	if (r && (!add_str(r, "referenceName", name) || !add_str(r, "type", type))) {
		cJSON_Delete(r);
		r = NULL;
	}
	return r;
}

static cJSON *expr(const char *value)
{
	cJSON *e = cJSON_CreateObject();

	if (e && (!add_str(e, "value", value) || !add_str(e, "type", "Expression"))) {
		cJSON_Delete(e);
		e = NULL;
	}
	return e;
}

/* A body {"properties": {"type": T, "typeProperties": {}}}; *props and *tp point inside. */
static cJSON *resource(const char *type, cJSON **props, cJSON **tp)
{
	cJSON *body = cJSON_CreateObject();

	*props = cJSON_AddObjectToObject(body, "properties");
	if (!*props || !add_str(*props, "type", type) ||
	    !(*tp = cJSON_AddObjectToObject(*props, "typeProperties"))) {
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}

/* The app's key: a Key Vault reference, or the secret as a SecureString. */
static cJSON *build_key(const struct plan_cred *c)
{
	char secret_name[128];
	cJSON *k = cJSON_CreateObject();

	if (!k)
		return NULL;
	if (c->keyvault) {
		snprintf(secret_name, sizeof(secret_name), "mgdcfs-%s", c->app_id);
		if (add_str(k, "type", "AzureKeyVaultSecret") &&
		    put(k, "store", ref(c->keyvault, "LinkedServiceReference")) &&
		    add_str(k, "secretName", c->keyvault_secret ? c->keyvault_secret : secret_name))
			return k;
	} else if (add_str(k, "type", "SecureString") && add_str(k, "value", c->secret)) {
		return k;
	}
	cJSON_Delete(k);
	return NULL;
}

/* Add the key as `field` of tp; 0 or -ENOMEM. */
static int add_key(cJSON *tp, const char *field, const struct plan_cred *c)
{
	cJSON *k = build_key(c);

	if (k && cJSON_AddItemToObject(tp, field, k))
		return 0;
	cJSON_Delete(k);
	return -ENOMEM;
}

static cJSON *build_o365(const struct plan_cred *c)
{
	cJSON *props, *tp;
	cJSON *body = resource("Office365", &props, &tp);

	if (body && (!add_str(tp, "office365TenantId", c->tenant) ||
	             !add_str(tp, "servicePrincipalTenantId", c->tenant) ||
	             !add_str(tp, "servicePrincipalId", c->app_id) ||
	             add_key(tp, "servicePrincipalKey", c) < 0)) {
		cJSON_Delete(body);
		body = NULL;
	}
	return body;
}

/*
 * The sink signs in as the app too: for a copy with Microsoft 365 as the
 * source, service principal authentication is the only one supported for
 * every sink type.
 */
static cJSON *build_sink(const struct plan_cred *c, const struct plan_sink *s)
{
	cJSON *props, *tp;
	cJSON *body = resource(s->adls ? "AzureBlobFS" : "AzureBlobStorage", &props, &tp);
	int ok;

	if (!body)
		return NULL;
	ok = s->adls ? add_str(tp, "url", s->endpoint) && add_str(tp, "tenant", c->tenant) &&
	                   add_str(tp, "servicePrincipalId", c->app_id) &&
	                   add_str(tp, "servicePrincipalCredentialType", "ServicePrincipalKey") &&
	                   add_key(tp, "servicePrincipalCredential", c) == 0
	             : add_str(tp, "serviceEndpoint", s->endpoint) &&
	                   add_str(tp, "accountKind", "StorageV2") &&
	                   add_str(tp, "tenant", c->tenant) &&
	                   add_str(tp, "servicePrincipalId", c->app_id) &&
	                   add_key(tp, "servicePrincipalKey", c) == 0;
	if (!ok) {
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}

static cJSON *build_src(const struct plan_names *n, const char *table)
{
	cJSON *props, *tp;
	cJSON *body = resource("Office365Table", &props, &tp);

	if (body &&
	    (!put(props, "linkedServiceName", ref(n->o365, "LinkedServiceReference")) ||
	     !cJSON_AddArrayToObject(props, "schema") || !add_str(tp, "tableName", table))) {
		cJSON_Delete(body);
		body = NULL;
	}
	return body;
}

static cJSON *build_dst(const struct plan_names *n, const struct plan_sink *s,
                        const char *container, const char *folder)
{
	char path[2048];
	cJSON *props, *tp, *loc;
	cJSON *body = resource("Binary", &props, &tp);

	/* Each run writes into <folder>/<runId>/, so runs never mix their files. */
	snprintf(path, sizeof(path), "@concat('%s/', pipeline().RunId)", folder);
	if (body &&
	    (!put(props, "linkedServiceName", ref(n->sink, "LinkedServiceReference")) ||
	     !(loc = cJSON_AddObjectToObject(tp, "location")) ||
	     !add_str(loc, "type", s->adls ? "AzureBlobFSLocation" : "AzureBlobStorageLocation") ||
	     !add_str(loc, s->adls ? "fileSystem" : "container", container) ||
	     !put(loc, "folderPath", expr(path)))) {
		cJSON_Delete(body);
		body = NULL;
	}
	return body;
}

/* A time as the source wants it: a literal string, or an Expression for a parameter. */
static cJSON *time_value(const char *s)
{
	if (strncmp(s, PARAM_PREFIX, strlen(PARAM_PREFIX)) == 0)
		return expr(s);
	return cJSON_CreateString(s);
}

/* {"top": top} as the source's sample request; 0 or -ENOMEM. */
static int set_top(cJSON *src, long long top)
{
	cJSON *props = cJSON_CreateObject();

	cJSON_DeleteItemFromObjectCaseSensitive(src, SAMPLE_PROPS);
	if (props && cJSON_AddNumberToObject(props, "top", (double)top) &&
	    cJSON_AddItemToObject(src, SAMPLE_PROPS, props))
		return 0;
	cJSON_Delete(props);
	return -ENOMEM;
}

static int build_source(const cJSON *spec, cJSON *src)
{
	const cJSON *sample = cJSON_GetObjectItemCaseSensitive(spec, "sample");
	const cJSON *df = cJSON_GetObjectItemCaseSensitive(spec, "dateFilter");
	const cJSON *scope = cJSON_GetObjectItemCaseSensitive(spec, "scope"), *it;
	const char *col = str_of(df, "column"), *uri = str_of(scope, "filterUri");
	const cJSON *groups = cJSON_GetObjectItemCaseSensitive(scope, "groups");
	cJSON *oc;

	if (!add_str(src, "type", "Office365Source"))
		return -ENOMEM;
	if (col && !add_str(src, "dateFilterColumn", col))
		return -ENOMEM;
	if (df && (!str_of(df, "start") || !str_of(df, "end") ||
	           !put(src, "startTime", time_value(str_of(df, "start"))) ||
	           !put(src, "endTime", time_value(str_of(df, "end")))))
		return -ENOMEM;
	if (groups && !put(src, "allowedGroups", cJSON_Duplicate(groups, 1)))
		return -ENOMEM;
	if (uri && !add_str(src, "userScopeFilterUri", uri))
		return -ENOMEM;
	if (cJSON_IsNumber(sample) && set_top(src, (long long)sample->valuedouble) < 0)
		return -ENOMEM;
	oc = cJSON_AddArrayToObject(src, "outputColumns");
	if (!oc)
		return -ENOMEM;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(spec, "columns"))
	{
		cJSON *c = cJSON_CreateObject();

		if (!push(oc, c) || !cJSON_IsString(it) || !add_str(c, "name", it->valuestring))
			return -ENOMEM;
	}
	return 0;
}

static int build_params(const cJSON *spec, cJSON *props)
{
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(spec, "parameters"), *it;
	cJSON *out = cJSON_AddObjectToObject(props, "parameters");

	if (!out)
		return -ENOMEM;
	cJSON_ArrayForEach(it, params)
	{
		cJSON *d = cJSON_CreateObject();
		double v = it->valuedouble;
		/* Whole numbers within +-2^53 (exact in a double) are "int"; the range test
		 * comes first, as converting 1e300 to an integer is undefined. */
		const char *type = cJSON_IsString(it) ? "string"
		                   : cJSON_IsBool(it) ? "bool"
		                   : (v > -9007199254740992.0 && v < 9007199254740992.0 &&
		                      v == (double)(long long)v)
		                       ? "int"
		                       : "float";

		if (!put(out, it->string, d) || !add_str(d, "type", type) ||
		    !put(d, "defaultValue", cJSON_Duplicate(it, 0)))
			return -ENOMEM;
	}
	return 0;
}

/*
 * The pipeline: one Copy activity, the spec kept as its description (compact
 * JSON), and string annotations that mark it as mgdcfs's and name its app.
 */
static cJSON *build_pipeline(const struct plan_names *n, const struct plan_cred *c,
                             const struct plan_sink *s, const cJSON *spec)
{
	char app[300], app_id[128];
	char *desc = cJSON_PrintUnformatted(spec);
	cJSON *body = cJSON_CreateObject(), *props, *acts, *a, *policy, *tp, *src, *sink, *ss, *an;

	snprintf(app, sizeof(app), ANNOT_APP "%s", str_of(spec, "app") ? str_of(spec, "app") : "");
	snprintf(app_id, sizeof(app_id), ANNOT_APP_ID "%s", c->app_id);
	props = cJSON_AddObjectToObject(body, "properties");
	acts = cJSON_AddArrayToObject(props, "activities");
	if (!desc || !add_str(props, "description", desc) ||
	    !push(acts, a = cJSON_CreateObject()) || !add_str(a, "name", "CopyFromM365toStorage") ||
	    !add_str(a, "type", "Copy") || !cJSON_AddArrayToObject(a, "dependsOn") ||
	    !(policy = cJSON_AddObjectToObject(a, "policy")) ||
	    !add_str(policy, "timeout", "7.00:00:00") ||
	    !cJSON_AddNumberToObject(policy, "retry", 0) ||
	    !cJSON_AddNumberToObject(policy, "retryIntervalInSeconds", 30) ||
	    !cJSON_AddFalseToObject(policy, "secureOutput") ||
	    !cJSON_AddFalseToObject(policy, "secureInput") ||
	    !cJSON_AddArrayToObject(a, "userProperties") ||
	    !(an = cJSON_AddArrayToObject(a, "inputs")) ||
	    !push(an, ref(n->src, "DatasetReference")) ||
	    !(an = cJSON_AddArrayToObject(a, "outputs")) ||
	    !push(an, ref(n->dst, "DatasetReference")) ||
	    !(tp = cJSON_AddObjectToObject(a, "typeProperties")) ||
	    !(src = cJSON_AddObjectToObject(tp, "source")) || build_source(spec, src) < 0 ||
	    !(sink = cJSON_AddObjectToObject(tp, "sink")) || !add_str(sink, "type", "BinarySink") ||
	    !(ss = cJSON_AddObjectToObject(sink, "storeSettings")) ||
	    !add_str(ss, "type",
	             s->adls ? "AzureBlobFSWriteSettings" : "AzureBlobStorageWriteSettings") ||
	    !cJSON_AddFalseToObject(tp, "enableStaging") || build_params(spec, props) < 0 ||
	    !(an = cJSON_AddArrayToObject(props, "annotations")) ||
	    !push(an, cJSON_CreateString(ANNOT_MARK)) || !push(an, cJSON_CreateString(app)) ||
	    !push(an, cJSON_CreateString(app_id))) {
		cJSON_Delete(body);
		body = NULL;
	}
	free(desc);
	return body;
}

/* Take `body` into the plan as resource `kind`/`name`; -ENOMEM when body is NULL. */
static int plan_add(struct pipeline_plan *plan, enum adf_kind kind, const char *name, cJSON *body)
{
	struct plan_resource *r = &plan->res[plan->n];

	if (!body)
		return -ENOMEM;
	r->kind = kind;
	r->body = body;
	plan->n++; /* owned by the plan from here on, even if the name copy fails */
	r->name = strdup(name);
	return r->name ? 0 : -ENOMEM;
}

int plan_build(const char *pipeline, const cJSON *spec, const struct plan_cred *cred,
               const struct plan_sink *sink, struct pipeline_plan *plan)
{
	const cJSON *out = cJSON_GetObjectItemCaseSensitive(spec, "output");
	struct plan_names n;
	int res;

	memset(plan, 0, sizeof(*plan));
	if (!cred->app_id || !cred->tenant || (!cred->keyvault && !cred->secret) ||
	    !sink->endpoint || !str_of(out, "container") || !str_of(out, "folder") ||
	    !str_of(spec, "dataset"))
		return -EINVAL;
	if ((res = plan_names(pipeline, &n)) < 0)
		return res;
	res = -ENOMEM;
	if (!(plan->name = strdup(pipeline)) || !(plan->spec = cJSON_Duplicate(spec, 1)) ||
	    !(plan->container = strdup(str_of(out, "container"))) ||
	    !(plan->folder = strdup(str_of(out, "folder"))))
		goto out;
	if ((res = plan_add(plan, ADF_LINKED_SERVICE, n.o365, build_o365(cred))) < 0 ||
	    (res = plan_add(plan, ADF_LINKED_SERVICE, n.sink, build_sink(cred, sink))) < 0 ||
	    (res = plan_add(plan, ADF_DATASET, n.src, build_src(&n, str_of(spec, "dataset")))) <
	        0 ||
	    (res = plan_add(plan, ADF_DATASET, n.dst,
	                    build_dst(&n, sink, plan->container, plan->folder))) < 0 ||
	    (res = plan_add(plan, ADF_PIPELINE, pipeline, build_pipeline(&n, cred, sink, spec))) <
	        0)
		goto out;
	res = 0;
out:
	if (res < 0)
		plan_free(plan);
	return res;
}

int plan_passthrough(const char *pipeline, const cJSON *resource, struct pipeline_plan *plan)
{
	int res;

	memset(plan, 0, sizeof(*plan));
	plan->passthrough = 1;
	res = (plan->name = strdup(pipeline))
	          ? plan_add(plan, ADF_PIPELINE, pipeline, cJSON_Duplicate(resource, 1))
	          : -ENOMEM;
	if (res < 0)
		plan_free(plan);
	return res;
}

/* Overwrite every SecureString value before the tree is freed. */
static void wipe_secure(cJSON *v)
{
	cJSON *it;

	if (!v)
		return;
	if (cJSON_IsObject(v)) {
		cJSON *type = cJSON_GetObjectItemCaseSensitive(v, "type");
		cJSON *val = cJSON_GetObjectItemCaseSensitive(v, "value");

		if (cJSON_IsString(type) && strcmp(type->valuestring, "SecureString") == 0 &&
		    cJSON_IsString(val)) {
			volatile char *s = val->valuestring;

			while (*s)
				*s++ = '\0';
		}
	}
	cJSON_ArrayForEach(it, v)
	{
		wipe_secure(it);
	}
}

void plan_free(struct pipeline_plan *plan)
{
	if (!plan)
		return;
	for (size_t i = 0; i < plan->n; i++) {
		wipe_secure(plan->res[i].body);
		cJSON_Delete(plan->res[i].body);
		free(plan->res[i].name);
	}
	cJSON_Delete(plan->spec);
	free(plan->name);
	free(plan->container);
	free(plan->folder);
	memset(plan, 0, sizeof(*plan));
}

/* ---- reading a pipeline back ---- */

static int has_annotation(const cJSON *ann, const char *s)
{
	const cJSON *it;

	cJSON_ArrayForEach(it,
	                   ann) if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0) return 1;
	return 0;
}

/* `spec` when its output (if any) is a valid container and folder, else NULL (freed). */
static cJSON *checked_spec(cJSON *spec)
{
	const cJSON *out = cJSON_GetObjectItemCaseSensitive(spec, "output");

	if (cJSON_IsObject(spec) &&
	    (!out || spec_output_ok(str_of(out, "container"), str_of(out, "folder"))))
		return spec;
	cJSON_Delete(spec);
	return NULL;
}

cJSON *plan_spec_of(const cJSON *pipe)
{
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(pipe, "properties");
	const cJSON *ann = cJSON_GetObjectItemCaseSensitive(props, "annotations"), *it;
	const char *desc = str_of(props, "description");

	if (desc && has_annotation(ann, ANNOT_MARK) && strlen(desc) <= PLAN_SPEC_MAX)
		return checked_spec(cJSON_ParseWithOpts(desc, NULL, 1));
	/* Pipelines written by mgdcfs before 0.2 kept it as an object annotation. */
	cJSON_ArrayForEach(it, ann)
	{
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(it, "mgdcfsSpec");

		if (cJSON_IsObject(s))
			return checked_spec(cJSON_Duplicate(s, 1));
	}
	return NULL;
}

int plan_estimate(const cJSON *pipe, const char *pipeline, long long top, cJSON **body)
{
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(pipe, "properties");
	char of[300], desc[400];
	cJSON *b = cJSON_CreateObject(), *p, *a, *an;
	int sources = 0, res = -ENOMEM;

	*body = NULL;
	snprintf(of, sizeof(of), ANNOT_EST_OF "%s", pipeline);
	snprintf(desc, sizeof(desc),
	         "mgdcfs: the sampled run (top %lld) of pipeline %s, for pipelines/%s/estimate",
	         top, pipeline, pipeline);
	if (!b || !(p = cJSON_AddObjectToObject(b, "properties")) ||
	    !add_str(p, "description", desc) ||
	    !put(p, "activities",
	         cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(props, "activities"), 1)) ||
	    (cJSON_GetObjectItemCaseSensitive(props, "parameters") &&
	     !put(p, "parameters",
	          cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(props, "parameters"), 1))) ||
	    !(an = cJSON_AddArrayToObject(p, "annotations")) ||
	    !push(an, cJSON_CreateString(ANNOT_EST)) || !push(an, cJSON_CreateString(of)))
		goto out;
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(p, "activities"))
	{
		cJSON *tp = cJSON_GetObjectItemCaseSensitive(a, "typeProperties");
		cJSON *src = cJSON_GetObjectItemCaseSensitive(tp, "source");

		if (!str_of(src, "type") || strcmp(str_of(src, "type"), "Office365Source") != 0)
			continue;
		if (set_top(src, top) < 0)
			goto out;
		sources++;
	}
	if (!sources) {
		res = -EINVAL;
		goto out;
	}
	*body = b;
	b = NULL;
	res = 0;
out:
	cJSON_Delete(b);
	return res;
}

/* The text after `prefix` of the pipeline's first annotation "<prefix><text>", or NULL. */
static const char *annotation_value(const cJSON *pipe, const char *prefix)
{
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(pipe, "properties");
	const cJSON *it;
	size_t n = strlen(prefix);

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(props, "annotations"))
	{
		if (cJSON_IsString(it) && strncmp(it->valuestring, prefix, n) == 0 &&
		    it->valuestring[n])
			return it->valuestring + n;
	}
	return NULL;
}

const char *plan_estimate_of(const cJSON *pipe)
{
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(pipe, "properties");

	if (!has_annotation(cJSON_GetObjectItemCaseSensitive(props, "annotations"), ANNOT_EST))
		return NULL;
	return annotation_value(pipe, ANNOT_EST_OF);
}

const char *plan_app_of(const cJSON *pipe)
{
	return annotation_value(pipe, ANNOT_APP_ID);
}

int plan_datasets_of(const cJSON *pipe, cJSON *names)
{
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(pipe, "properties"), *a, *ref;

	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(props, "activities"))
	{
		for (int k = 0; k < 2; k++) {
			cJSON_ArrayForEach(
			    ref, cJSON_GetObjectItemCaseSensitive(a, k ? "outputs" : "inputs"))
			{
				cJSON *v;

				if (!str_of(ref, "referenceName"))
					continue;
				v = cJSON_CreateString(str_of(ref, "referenceName"));
				if (!v || !cJSON_AddItemToArray(names, v)) {
					cJSON_Delete(v);
					return -ENOMEM;
				}
			}
		}
	}
	return 0;
}

const char *plan_linked_service_of(const cJSON *dataset)
{
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(dataset, "properties");

	return str_of(cJSON_GetObjectItemCaseSensitive(props, "linkedServiceName"),
	              "referenceName");
}

/* ---- the schedule: a TumblingWindowTrigger ---- */

/* The parameter a dateFilter time names ("@pipeline().parameters.X" -> "X"), or NULL. */
static const char *param_of(const cJSON *df, const char *key)
{
	const char *v = str_of(df, key);

	if (!v || strncmp(v, PARAM_PREFIX, strlen(PARAM_PREFIX)) != 0)
		return NULL;
	return v + strlen(PARAM_PREFIX);
}

/* "d.hh:mm:ss" (ADF's timespan, the delay pattern of the OpenAPI) of `secs` >= 0. */
static void timespan(long long secs, char *buf, size_t n)
{
	long long d = secs / 86400, r = secs % 86400;

	if (d)
		snprintf(buf, n, "%lld.%02lld:%02lld:%02lld", d, r / 3600, r % 3600 / 60, r % 60);
	else
		snprintf(buf, n, "%02lld:%02lld:%02lld", r / 3600, r % 3600 / 60, r % 60);
}

/* A trigger parameter bound to one of the window's times. */
static cJSON *window_param(const char *output)
{
	char v[96];

	snprintf(v, sizeof(v), "@trigger().outputs.%s", output);
	return expr(v);
}

int plan_trigger_build(const char *pipeline, const cJSON *spec, const struct window_schedule *s,
                       cJSON **body, char *err, size_t errlen)
{
	const cJSON *df = cJSON_GetObjectItemCaseSensitive(spec, "dateFilter");
	const char *ps = param_of(df, "start"), *pe = param_of(df, "end");
	char t[32], delay[32], every[40], lag[40], desc[PLAN_NAME_MAX + 64];
	cJSON *b = NULL, *props, *tp, *rp, *pl, *params, *an;

	*body = NULL;
	if (!ps || !pe) {
		snprintf(err, errlen,
		         "the pipeline's dateFilter %s, so a schedule has nothing to move; write "
		         "pipelines/%s.json with \"parameters\": {\"windowStart\": <time>, "
		         "\"windowEnd\": <time>} and \"dateFilter\": {..., \"start\": "
		         "\"" PARAM_PREFIX "windowStart\", \"end\": \"" PARAM_PREFIX "windowEnd\"}",
		         df ? "has fixed times" : "is missing", pipeline);
		return -EINVAL;
	}
	/* The description says what made it, for whoever meets it in the portal. */
	snprintf(desc, sizeof(desc), "mgdcfs: the schedule of pipelines/%s", pipeline);
	window_time_text(s->start, t, sizeof(t));
	timespan(s->lag, delay, sizeof(delay));
	snprintf(every, sizeof(every), "every=%s", s->every_text);
	snprintf(lag, sizeof(lag), "lag=%s", s->lag_text);
	if (!(b = cJSON_CreateObject()) || !(props = cJSON_AddObjectToObject(b, "properties")) ||
	    !add_str(props, "type", "TumblingWindowTrigger") ||
	    !add_str(props, "description", desc) ||
	    !(an = cJSON_AddArrayToObject(props, "annotations")) ||
	    !push(an, cJSON_CreateString(ANNOT_MARK)) || !push(an, cJSON_CreateString(every)) ||
	    !push(an, cJSON_CreateString(lag)) ||
	    !(pl = cJSON_AddObjectToObject(props, "pipeline")) ||
	    !put(pl, "pipelineReference", ref(pipeline, "PipelineReference")) ||
	    !(params = cJSON_AddObjectToObject(pl, "parameters")) ||
	    !put(params, ps, window_param("windowStartTime")) ||
	    (strcmp(ps, pe) &&
	     !put(params, pe,
	          window_param(s->end_is_start ? "windowStartTime" : "windowEndTime"))) ||
	    !(tp = cJSON_AddObjectToObject(props, "typeProperties")) ||
	    !add_str(tp, "frequency", window_unit_name(s->every.unit)) ||
	    !cJSON_AddNumberToObject(tp, "interval", s->every.interval) ||
	    !add_str(tp, "startTime", t) || !add_str(tp, "delay", delay) ||
	    !cJSON_AddNumberToObject(tp, "maxConcurrency", s->max_concurrency) ||
	    !(rp = cJSON_AddObjectToObject(tp, "retryPolicy")) ||
	    !cJSON_AddNumberToObject(rp, "count", 0) ||
	    !cJSON_AddNumberToObject(rp, "intervalInSeconds", 30) ||
	    !cJSON_AddArrayToObject(tp, "dependsOn")) {
		cJSON_Delete(b);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	*body = b;
	return 0;
}

/* "every=" / "lag=" annotations of a trigger, as written. */
static const char *annotation(const cJSON *props, const char *prefix)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(props, "annotations"))
	{
		if (cJSON_IsString(it) && strncmp(it->valuestring, prefix, strlen(prefix)) == 0)
			return it->valuestring + strlen(prefix);
	}
	return NULL;
}

int plan_trigger_read(const cJSON *trig, struct plan_trigger *t)
{
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(trig, "properties");
	const cJSON *tp = cJSON_GetObjectItemCaseSensitive(props, "typeProperties");
	const cJSON *iv = cJSON_GetObjectItemCaseSensitive(tp, "interval");
	const char *fr = str_of(tp, "frequency"), *delay = str_of(tp, "delay");
	long long d = 0, h = 0, m = 0, sec = 0;

	memset(t, 0, sizeof(*t));
	t->state = str_of(props, "runtimeState");
	t->every = annotation(props, "every=");
	t->lag_text = annotation(props, "lag=");
	t->pipeline =
	    str_of(cJSON_GetObjectItemCaseSensitive(
	               cJSON_GetObjectItemCaseSensitive(props, "pipeline"), "pipelineReference"),
	           "referenceName");
	if (!fr || !cJSON_IsNumber(iv) || iv->valuedouble < 1 || iv->valuedouble > 1e6 ||
	    !str_of(tp, "startTime") || window_time_parse(str_of(tp, "startTime"), &t->start) < 0)
		return -EINVAL;
	t->window.interval = (int)iv->valuedouble;
	if (strcmp(fr, "Minute") == 0)
		t->window.unit = WINDOW_MINUTE;
	else if (strcmp(fr, "Hour") == 0)
		t->window.unit = WINDOW_HOUR;
	else if (strcmp(fr, "Month") == 0)
		t->window.unit = WINDOW_MONTH;
	else
		return -EINVAL;
	if (delay && sscanf(delay, "%lld.%lld:%lld:%lld", &d, &h, &m, &sec) != 4) {
		d = 0;
		if (sscanf(delay, "%lld:%lld:%lld", &h, &m, &sec) != 3)
			return -EINVAL;
	}
	t->lag = d * 86400 + h * 3600 + m * 60 + sec;
	return 0;
}
