/*
 * apps.c - apps/ on a portal-only tenant (apps.h).
 *
 * The decision a reader must know: nothing here pretends. A registration
 * written through apps/<name>.json does the public steps (the billing
 * account, a check of the storage role) and keeps the spec on this machine
 * as the values to enter in the portal; whether the portal registration and
 * the admin's approval exist is known only from what runs say, so consent
 * reads Unknown until a run of one of the app's pipelines has ended, then
 * Approved after a success, or the state the last failed run names.
 */
#include "fs/apps.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/text.h"
#include "fs/ctl_i.h"
#include "fs/errlog.h"
#include "fs/memo.h"
#include "fs/plan.h"
#include "fs/statedir.h"
#include "net/adf.h"
#include "net/billing.h"
#include "net/graph.h"
#include "net/rbac.h"

#define APPS_TAG        "mgdcfs-name"
#define APPS_SPEC_MAX   (256u << 10)
#define APPS_NAME_MAX   63
#define APPS_FEW        16 /* up to this many apps, Graph is asked per app */
#define APPS_ROLE_NAME  "Storage Blob Data Contributor"
#define APPS_GRAPH_HINT "Entra admin center > App registrations > the app > API permissions"

static void note_once(struct mgdcfs *fs, unsigned bit, const char *path, int err, const char *what,
                      const struct net_error *e)
{
	if (!fs_note_once(fs, bit))
		return;
	errlog_add(path, err, "%s: %s%s%s", what, e->code, e->code[0] ? ": " : "",
	           e->msg[0] ? e->msg : strerror(err));
}

/* add_owned - add `v` to `o` as `key`; on failure `v` is freed. 1 on success. */
static int add_owned(cJSON *o, const char *key, cJSON *v)
{
	if (v && cJSON_AddItemToObject(o, key, v))
		return 1;
	cJSON_Delete(v);
	return 0;
}

/* ---- the registration specs kept on this machine ---- */

/* <state>/apps/<hash of the tenant>-<appId>.json; `make` creates the directory. */
static int spec_path(struct mgdcfs *fs, const char *app_id, int make, char *out, size_t n)
{
	char dirs[STATEDIR_DIRS][STATEDIR_PATH_MAX], dir[STATEDIR_PATH_MAX];
	uint32_t h = text_fnv1a(TEXT_FNV_SEED, fs->cfg.tenant_id, 1);
	char id[64];
	size_t k = 0;
	int nd, w, rc;

	/* appIds are GUIDs, compared without case: one file whatever the spelling */
	for (; app_id[k] && k < sizeof(id) - 1; k++)
		id[k] = (char)tolower((unsigned char)app_id[k]);
	if (app_id[k])
		return -ENAMETOOLONG;
	id[k] = '\0';
	app_id = id;
	if (make) {
		if ((rc = statedir_make(fs->cfg.cache_dir, "apps", dir)) < 0)
			return rc;
		w = snprintf(out, n, "%s/%08x-%s.json", dir, h, app_id);
		return w > 0 && (size_t)w < n ? 0 : -ENAMETOOLONG;
	}
	nd = statedir_candidates(fs->cfg.cache_dir, "apps", dirs);
	for (int i = 0; i < nd; i++) {
		w = snprintf(out, n, "%s/%08x-%s.json", dirs[i], h, app_id);
		if (w > 0 && (size_t)w < n && access(out, F_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

/* The spec written here for `app_id`, or NULL. */
static cJSON *spec_load(struct mgdcfs *fs, const char *app_id)
{
	char file[STATEDIR_PATH_MAX + 128], *text = NULL;
	cJSON *spec = NULL;

	if (spec_path(fs, app_id, 0, file, sizeof(file)) == 0 &&
	    statedir_read(file, &text, APPS_SPEC_MAX) > 0)
		spec = cJSON_ParseWithOpts(text, NULL, 1); /* nothing after the value */
	free(text);
	if (spec && !cJSON_IsObject(spec)) {
		cJSON_Delete(spec);
		spec = NULL;
	}
	return spec;
}

static int spec_save(struct mgdcfs *fs, const char *app_id, const cJSON *body)
{
	char file[STATEDIR_PATH_MAX + 128], *text;
	int rc;

	if ((rc = spec_path(fs, app_id, 1, file, sizeof(file))) < 0)
		return rc;
	if (!(text = text_json(body, NULL)))
		return -ENOMEM;
	rc = statedir_write(file, text, strlen(text));
	free(text);
	return rc;
}

/* ---- the listing ---- */

/* A display name made into a directory entry: no '/', '.', control bytes. */
static void safe_name(const char *in, char *out, size_t n)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in;
	     *p && o + 1 < n && o < APPS_NAME_MAX; p++)
		out[o++] = (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '.' || *p == '\\')
		               ? '_'
		               : (char)*p;
	/* Cut only a UTF-8 sequence the length cap split: find the last lead byte and
	 * keep its sequence when it is whole. */
	if (o > 0 && ((unsigned char)out[o - 1] & 0x80)) {
		size_t lead = o - 1, need;

		while (lead > 0 && ((unsigned char)out[lead] & 0xc0) == 0x80)
			lead--;
		need = (unsigned char)out[lead] >= 0xf0   ? 4
		       : (unsigned char)out[lead] >= 0xe0 ? 3
		       : (unsigned char)out[lead] >= 0xc0 ? 2
		                                          : 1;
		if (o - lead < need)
			o = lead;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	/* Editors' scratch names: a leading '#' or '~', a trailing '~'. */
	if (o > 0 && (out[0] == '#' || out[0] == '~'))
		out[0] = '_';
	if (o > 0 && out[o - 1] == '~')
		out[o - 1] = '_';
}

static int usable(const char *s)
{
	return s && *s && strlen(s) <= APPS_NAME_MAX && tree_name_ok(s, strlen(s)) &&
	       !strchr(s, '.') && s[0] != '#' && !tree_is_scratch_name(s, strlen(s));
}

static const cJSON *find_app_id(const cJSON *arr, const char *key, const char *app_id)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr)
	{
		const char *v = ctl_str(it, key);

		if (v && app_id && strcasecmp(v, app_id) == 0)
			return it;
	}
	return NULL;
}

/* Display names of `ids` from Graph: per app when few, else the whole list. */
static cJSON *graph_names(struct mgdcfs *fs, const cJSON *items)
{
	struct net_error e = {0};
	cJSON *all = NULL, *one;
	const cJSON *it;
	int rc = 0;

	if (cJSON_GetArraySize(items) > APPS_FEW) {
		rc = graph_list_applications(fs->graph, NULL, "appId,displayName", 999, &all, &e);
	} else if ((all = cJSON_CreateArray())) {
		cJSON_ArrayForEach(it, items)
		{
			if (graph_list_applications(fs->graph, ctl_str(it, "appId"),
			                            "appId,displayName", 0, &one, &e) < 0) {
				rc = -e.err;
				break;
			}
			while (one && one->child)
				cJSON_AddItemToArray(all,
				                     cJSON_DetachItemViaPointer(one, one->child));
			cJSON_Delete(one);
		}
	}
	if (rc < 0) {
		note_once(fs, NOTE_GRAPH_APPS, "/apps", -rc,
		          e.status == 403
		              ? "app names unknown: Graph refused /applications (the profile's app "
		                "needs the application permission Application.Read.All; an "
		                "administrator grants it in " APPS_GRAPH_HINT ")"
		              : "app names unknown: Graph /applications failed",
		          &e);
		cJSON_Delete(all);
		return NULL;
	}
	return all;
}

/* One listing item for app `app_id` (its billing account `acct`, may be NULL). */
static cJSON *item_of(struct mgdcfs *fs, const char *app_id, const cJSON *acct, const cJSON *names)
{
	cJSON *o = cJSON_CreateObject(), *spec = spec_load(fs, app_id);
	const char *disp = ctl_str(find_app_id(names, "appId", app_id), "displayName");
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(acct, "tags");
	const char *tag = ctl_str(tags, APPS_TAG), *given = ctl_str(spec, "name");
	char name[APPS_NAME_MAX * 4 + 8] = "";

	if (usable(tag))
		snprintf(name, sizeof(name), "%s", tag);
	else if (usable(given))
		snprintf(name, sizeof(name), "%s", given);
	else if (disp)
		safe_name(disp, name, sizeof(name));
	if (!usable(name))
		snprintf(name, sizeof(name), "%s", app_id);
	if (!o || !cJSON_AddStringToObject(o, "name", name) ||
	    !cJSON_AddStringToObject(o, "appId", app_id) ||
	    !(disp ? cJSON_AddStringToObject(o, "displayName", disp)
	           : cJSON_AddNullToObject(o, "displayName")) ||
	    !cJSON_AddBoolToObject(o, "own", strcasecmp(app_id, fs->cfg.client_id) == 0) ||
	    !add_owned(o, "billingAccount", acct ? cJSON_Duplicate(acct, 1) : cJSON_CreateNull())) {
		cJSON_Delete(spec);
		cJSON_Delete(o);
		return NULL;
	}
	if (!add_owned(o, "registration", spec ? spec : cJSON_CreateNull())) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(ctl_str(*(const cJSON *const *)a, "name"),
	              ctl_str(*(const cJSON *const *)b, "name"));
}

/* Make names unique ("name (1234abcd)") and sort the array by name. */
static int unique_sorted(cJSON *arr)
{
	int n = cJSON_GetArraySize(arr), i, j;
	cJSON **v = calloc((size_t)n + 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		v[i] = cJSON_DetachItemFromArray(arr, 0);
	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			if (strcmp(ctl_str(v[i], "name"), ctl_str(v[j], "name")) == 0) {
				char nn[APPS_NAME_MAX * 4 + 24];

				snprintf(nn, sizeof(nn), "%.63s (%.8s)", ctl_str(v[i], "name"),
				         ctl_str(v[i], "appId"));
				cJSON_ReplaceItemInObjectCaseSensitive(v[i], "name",
				                                       cJSON_CreateString(nn));
				break;
			}
	qsort(v, (size_t)n, sizeof(*v), by_name);
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, v[i]);
	free(v);
	return 0;
}

/* The billing account of `app_id` in `accts`, or NULL. */
static const cJSON *account_of(const cJSON *accts, const char *app_id)
{
	const cJSON *a;

	cJSON_ArrayForEach(a, accts)
	{
		const char *id =
		    ctl_str(cJSON_GetObjectItemCaseSensitive(a, "properties"), "appId");

		if (id && strcasecmp(id, app_id) == 0)
			return a;
	}
	return NULL;
}

/* Add {"appId": id} to `ids` unless there. */
static int add_id(cJSON *ids, const char *id)
{
	cJSON *o;

	if (find_app_id(ids, "appId", id))
		return 0;
	o = cJSON_CreateObject();
	if (!o || !cJSON_AddItemToArray(ids, o) || !cJSON_AddStringToObject(o, "appId", id))
		return -ENOMEM;
	return 0;
}

int apps_list(struct mgdcfs *fs, cJSON **out, struct net_error *e)
{
	cJSON *accts = NULL, *ids = cJSON_CreateArray(), *names = NULL, *arr = cJSON_CreateArray();
	const cJSON *it;
	int rc = -ENOMEM;

	*out = NULL;
	if (!ids || !arr)
		goto out;
	if (fs->billing && billing_list(fs->billing, &accts, e) < 0) {
		note_once(fs, NOTE_BILLING, "/apps", e->err,
		          "billing accounts unknown: Microsoft.GraphServices/accounts could not be "
		          "listed",
		          e);
		accts = NULL;
	}
	cJSON_ArrayForEach(it, accts)
	{
		const char *id =
		    ctl_str(cJSON_GetObjectItemCaseSensitive(it, "properties"), "appId");

		/* the appId names a file here and a memo key: a GUID or nothing */
		if (text_is_guid(id) && add_id(ids, id) < 0)
			goto out;
	}
	if (add_id(ids, fs->cfg.client_id) < 0)
		goto out;
	names = graph_names(fs, ids);
	cJSON_ArrayForEach(it, ids)
	{
		const char *id = ctl_str(it, "appId");
		cJSON *item = item_of(fs, id, account_of(accts, id), names);

		if (!item)
			goto out;
		cJSON_AddItemToArray(arr, item);
	}
	if ((rc = unique_sorted(arr)) < 0)
		goto out;
	*out = arr;
	arr = NULL;
	rc = 0;
out:
	if (rc == -ENOMEM && e)
		snprintf(e->msg, sizeof(e->msg), "out of memory");
	cJSON_Delete(arr);
	cJSON_Delete(ids);
	cJSON_Delete(accts);
	cJSON_Delete(names);
	return rc;
}

/* ---- the storage role ---- */

int apps_fetch_role_key(const char *key)
{
	return strncmp(key, "role/", 5) == 0;
}

int apps_role(struct mgdcfs *fs, const char *app_id, cJSON **out, struct net_error *e)
{
	cJSON *spec = spec_load(fs, app_id), *sps = NULL, *ras = NULL, *o = cJSON_CreateObject();
	const cJSON *dst = cJSON_GetObjectItemCaseSensitive(spec, "destination");
	const char *acct = ctl_str(dst, "storageAccount") ?: fs->cfg.storage_account;
	const char *sub = ctl_str(dst, "subscriptionId") ?: fs->cfg.subscription_id;
	const char *rg = ctl_str(dst, "resourceGroup") ?: fs->cfg.resource_group;
	const char *sp = NULL;
	char scope[600], grant[900], reason[700] = "";
	int granted = -1, rc = -ENOMEM;

	*out = NULL;
	if (!o)
		goto out;
	if (!acct || !sub || !rg || rbac_storage_scope(scope, sizeof(scope), sub, rg, acct) < 0) {
		snprintf(reason, sizeof(reason),
		         "no destination storage account known (register the app here, or set "
		         "storage.account, subscription_id and resource_group in the profile)");
		scope[0] = '\0';
	} else if (graph_list_service_principals(fs->graph, app_id, "id,appId", 0, &sps, e) < 0 ||
	           !(sp = ctl_str(cJSON_GetArrayItem(sps, 0), "id"))) {
		snprintf(reason, sizeof(reason), "the app's service principal is unknown: %s%s",
		         e->err ? "Graph /servicePrincipals: " : "no service principal for the app",
		         e->err
		             ? (e->status == 403 ? "refused (needs Application.Read.All)" : e->msg)
		             : "");
	} else if (!fs->rbac || rbac_list(fs->rbac, scope, sp, &ras, e) < 0) {
		snprintf(reason, sizeof(reason), "the role assignments could not be read: %s%s%s",
		         e->code, e->code[0] ? ": " : "", e->msg);
	} else {
		granted = rbac_grants_blob_write(ras, scope);
	}
	snprintf(grant, sizeof(grant),
	         "az role assignment create --assignee %s --role \"" APPS_ROLE_NAME "\" --scope %s",
	         app_id, scope[0] ? scope : "<the storage account's resource id>");
	if (!cJSON_AddStringToObject(o, "role", APPS_ROLE_NAME) ||
	    !(acct ? cJSON_AddStringToObject(o, "account", acct)
	           : cJSON_AddNullToObject(o, "account")) ||
	    !cJSON_AddStringToObject(o, "scope", scope) ||
	    !(sp ? cJSON_AddStringToObject(o, "principalId", sp)
	         : cJSON_AddNullToObject(o, "principalId")) ||
	    !(granted < 0 ? cJSON_AddNullToObject(o, "granted")
	                  : cJSON_AddBoolToObject(o, "granted", granted)) ||
	    (reason[0] && !cJSON_AddStringToObject(o, "reason", reason)) ||
	    (granted != 1 && !cJSON_AddStringToObject(o, "grant", grant)))
		goto out;
	memset(e, 0, sizeof(*e));
	*out = o;
	o = NULL;
	rc = 0;
out:
	cJSON_Delete(o);
	cJSON_Delete(spec);
	cJSON_Delete(sps);
	cJSON_Delete(ras);
	return rc;
}

/* ---- consent, from what runs say ---- */

/*
 * The consent state a failed run's message names, or NULL when the failure
 * says nothing about consent (a storage error, a bad token). The texts are
 * the ones the sandbox writes after MGDC's error envelope (mgdc-sandbox(7));
 * Microsoft documents that such runs fail but not their exact words, so on
 * a real tenant an unrecognised failure leaves the state as it was.
 */
static const char *consent_of_failure(const char *msg)
{
	if (!msg)
		return NULL;
	if (strstr(msg, "is Pending") || strstr(msg, "PendingAuthorization") ||
	    strstr(msg, "Consent Pending") || strstr(msg, "ConsentPending"))
		return "PendingAuthorization";
	if (strstr(msg, "is Denied"))
		return "Denied";
	if (strstr(msg, "is Expired") || strstr(msg, "approval expired"))
		return "Expired";
	if (strstr(msg, "registration matches application") ||
	    strstr(msg, "It is possible someone deleted this app") ||
	    strstr(msg, "has no approved authorization"))
		return "NotRegistered";
	/* Approved, but not for this request (columns, destination, dataset). */
	if (strstr(msg, "not consented to") || strstr(msg, "not contained in the authorized") ||
	    strstr(msg, "not part of the approved"))
		return "Approved";
	return NULL;
}

static cJSON *run_summary(const cJSON *run)
{
	cJSON *o = cJSON_CreateObject();

	for (const char *const *k = (const char *const[]){"runId", "pipelineName", "status",
	                                                  "runStart", "runEnd", "message", NULL};
	     o && *k; k++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(run, *k);

		if (v && !add_owned(o, *k, cJSON_Duplicate(v, 1))) {
			cJSON_Delete(o);
			return NULL;
		}
	}
	return o;
}

static int cmp_run_start(const void *a, const void *b)
{
	return -adf_time_cmp(ctl_str(*(const cJSON *const *)a, "runStart"),
	                     ctl_str(*(const cJSON *const *)b, "runStart"));
}

/* consent.json of app `app_id`: the state, the run that says so, and where to approve. */
static int consent_doc(struct mgdcfs *fs, const char *path, const char *app_id, cJSON **out)
{
	struct memo_ref pipes = {0}, runs = {0};
	const cJSON *p, *r, **mine = NULL, *decisive = NULL, *last_ok = NULL;
	const char *status = "Unknown";
	cJSON *o = cJSON_CreateObject();
	size_t n = 0, i;
	int rc = -ENOMEM;

	*out = NULL;
	if (!o)
		goto out;
	if (fs->adf && ctl_get(fs, path, "pipes", fs->cfg.ttl_metadata_s, &pipes) == 0 &&
	    ctl_get(fs, path, "allruns", fs->cfg.ttl_status_s, &runs) == 0) {
		mine = calloc((size_t)cJSON_GetArraySize(runs.doc) + 1, sizeof(*mine));
		if (!mine)
			goto out;
		cJSON_ArrayForEach(r, runs.doc)
		{
			cJSON_ArrayForEach(p, pipes.doc)
			{
				const char *id = plan_app_of(p), *pn = ctl_str(p, "name"),
				           *rn = ctl_str(r, "pipelineName");

				if (id && pn && rn && strcasecmp(id, app_id) == 0 &&
				    strcmp(pn, rn) == 0) {
					mine[n++] = r;
					break;
				}
			}
		}
		qsort(mine, n, sizeof(*mine), cmp_run_start);
		for (i = 0; i < n && !decisive; i++) {
			const char *st = ctl_str(mine[i], "status"), *c;

			if (st && strcmp(st, "Succeeded") == 0) {
				decisive = last_ok = mine[i];
				status = "Approved";
			} else if (st && strcmp(st, "Failed") == 0 &&
			           (c = consent_of_failure(ctl_str(mine[i], "message")))) {
				decisive = mine[i];
				status = c;
			}
		}
		for (; i < n && !last_ok; i++)
			if (ctl_str(mine[i], "status") &&
			    strcmp(ctl_str(mine[i], "status"), "Succeeded") == 0)
				last_ok = mine[i];
	}
	if (!cJSON_AddStringToObject(o, "status", status) ||
	    !cJSON_AddStringToObject(o, "appId", app_id) ||
	    !cJSON_AddStringToObject(o, "source",
	                             decisive ? "the app's last decisive pipeline run"
	                                      : "no run of the app's pipelines has ended yet") ||
	    (decisive && !add_owned(o, "run", run_summary(decisive))) ||
	    (last_ok && !add_owned(o, "lastSuccessfulRun", run_summary(last_ok))) ||
	    !cJSON_AddStringToObject(o, "approveAt", APPS_ADMIN_CENTER) ||
	    !cJSON_AddStringToObject(
	        o, "how",
	        "Registration and consent have no public API. Register the app in the Azure "
	        "portal (" APPS_PORTAL ") with the values in portal.txt; then a global "
	        "administrator who is not the app's owner opens the Microsoft 365 admin center "
	        "(Settings > Org settings > Security & privacy > Microsoft Graph Data Connect "
	        "applications) and approves it. Runs fail until then; mgdcfs reads the state from "
	        "the next run."))
		goto out;
	*out = o;
	o = NULL;
	rc = 0;
out:
	free(mine);
	memo_put(fs->memo, &pipes);
	memo_put(fs->memo, &runs);
	cJSON_Delete(o);
	return rc;
}

/* ---- portal.txt ---- */

struct text {
	char *s;
	size_t len, cap;
};

static void addf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void addf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!t->s && t->cap)
		return; /* an earlier failure */
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (t->s && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = (t->cap ? t->cap : 1024) + (size_t)n + 1024;
		char *p = realloc(t->s, cap);

		if (!p) {
			free(t->s);
			t->s = NULL;
			t->cap = 1;
			return;
		}
		t->s = p;
		t->cap = cap;
	}
}

/* The portal's words for a dataset's scope, every group id written out. */
static void add_scope(struct text *t, const cJSON *scope)
{
	const char *kind = ctl_str(scope, "kind");
	const cJSON *g;

	if (!kind || strcmp(kind, "AllUsers") == 0) {
		addf(t, "All users in the tenant");
	} else if (strcmp(kind, "AllGroups") == 0) {
		addf(t, "All groups in the tenant");
	} else if (strcmp(kind, "AllSites") == 0) {
		addf(t, "All sites in the tenant");
	} else if (strcmp(kind, "AllUsersWithScopeFilter") == 0) {
		addf(t, "All users in the tenant with a scope filter: %s",
		     ctl_str(scope, "scopeFilterUri") ? ctl_str(scope, "scopeFilterUri") : "");
	} else {
		addf(t, "Select groups:");
		cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(scope, "groupIds"))
		{
			if (cJSON_IsString(g))
				addf(t, " %s", g->valuestring);
		}
	}
}

static const char *words_of(const char *v)
{
	static const char *const map[][2] = {{"SingleTenant", "Single-Tenant"},
	                                     {"MultiTenant", "Multi-Tenant"},
	                                     {"AzureDataFactory", "Azure Data Factory"},
	                                     {"AzureSynapse", "Azure Synapse"},
	                                     {"MicrosoftFabric", "Microsoft Fabric"},
	                                     {"CopyActivity", "Copy Activity"},
	                                     {"MappingDataFlow", "Mapping Data Flow"},
	                                     {"AzureStorageAccount", "Azure Storage Account"},
	                                     {"FabricLakehouse", "Fabric Lakehouse"}};

	for (size_t i = 0; v && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(v, map[i][0]) == 0)
			return map[i][1];
	return v ? v : "";
}

static char *portal_text(struct mgdcfs *fs, const cJSON *app, const cJSON *role)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(app, "registration");
	const cJSON *dst = cJSON_GetObjectItemCaseSensitive(spec, "destination"), *ds, *c;
	const cJSON *acct = cJSON_GetObjectItemCaseSensitive(app, "billingAccount");
	struct text t = {0};

	addf(&t, "Microsoft Graph Data Connect: app '%s' (%s)\n\n", ctl_str(app, "name"),
	     ctl_str(app, "appId"));
	if (!cJSON_IsObject(spec)) {
		addf(&t,
		     "No registration spec was written for this app through this machine.\n"
		     "Write apps/%s.json (the same form as on a tenant with the registration\n"
		     "contract); mgdcfs then creates the app's billing account, checks its\n"
		     "storage role and writes here the values to enter in the Azure portal.\n",
		     ctl_str(app, "name"));
		return t.s;
	}
	addf(&t, "Registration and consent have no public API. Enter these values in the\n"
	         "Azure portal's Microsoft Graph Data Connect registration (" APPS_PORTAL
	         ",\n\"Add\"), then have a global administrator approve the app.\n\n");
	addf(&t, "Registration Info\n");
	addf(&t, "  Subscription             %s\n", ctl_str(dst, "subscriptionId") ?: "");
	addf(&t, "  Resource group           %s\n", ctl_str(dst, "resourceGroup") ?: "");
	addf(&t, "  Destination type         %s\n", words_of(ctl_str(dst, "type")));
	addf(&t, "  Storage account          %s\n", ctl_str(dst, "storageAccount") ?: "");
	addf(&t, "  Storage account URI      %s\n", ctl_str(dst, "uri") ?: "");
	addf(&t, "  Application ID           %s\n", ctl_str(app, "appId"));
	addf(&t, "  Description              %s\n", ctl_str(spec, "description") ?: "");
	addf(&t, "  Publish type             %s\n", words_of(ctl_str(spec, "publishType")));
	addf(&t, "  Compute type             %s\n", words_of(ctl_str(spec, "computeType")));
	addf(&t, "  Activity type            %s\n", words_of(ctl_str(spec, "activityType")));
	addf(&t, "\nDatasets\n");
	cJSON_ArrayForEach(ds, cJSON_GetObjectItemCaseSensitive(spec, "datasets"))
	{
		const char *sep = "";

		addf(&t, "  %s\n    Columns   ", ctl_str(ds, "name") ?: "");
		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(ds, "columns"))
		{
			if (cJSON_IsString(c)) {
				addf(&t, "%s%s", sep, c->valuestring);
				sep = ", ";
			}
		}
		addf(&t, "\n    Scope     ");
		add_scope(&t, cJSON_GetObjectItemCaseSensitive(ds, "scope"));
		addf(&t, "\n");
	}
	addf(&t, "\nDestination (where pipelines may write)\n  container %s%s%s\n",
	     ctl_str(dst, "container") ?: "", ctl_str(dst, "folder") ? ", folder " : "",
	     ctl_str(dst, "folder") ?: "");
	addf(&t, "\nDone through the public APIs\n");
	if (cJSON_IsObject(acct))
		addf(&t, "  billing account  %s (Microsoft.GraphServices/accounts, %s)\n",
		     ctl_str(acct, "id") ?: "",
		     ctl_str(cJSON_GetObjectItemCaseSensitive(acct, "properties"),
		             "provisioningState")
		         ?: "");
	else
		addf(&t, "  billing account  none yet\n");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(role, "granted")))
		addf(&t, "  storage role     " APPS_ROLE_NAME " on %s: granted\n",
		     ctl_str(role, "account") ?: "");
	else
		addf(&t, "  storage role     " APPS_ROLE_NAME " on %s: %s\n    %s\n",
		     ctl_str(role, "account") ?: "",
		     cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(role, "granted"))
		         ? "MISSING; grant it with"
		         : "not checked; to grant it",
		     ctl_str(role, "grant") ?: "");
	addf(&t,
	     "\nLeft to do\n"
	     "  1. Register the app in the Azure portal with the values above.\n"
	     "  2. A global administrator who is not the app's owner approves it in the\n"
	     "     Microsoft 365 admin center: " APPS_ADMIN_CENTER "\n"
	     "  3. Write pipelines/<name>.json; apps/%s/consent shows what its run says.\n",
	     ctl_str(app, "name"));
	(void)fs;
	return t.s;
}

/* ---- rendering ---- */

static int role_of(struct mgdcfs *fs, const char *path, const char *app_id, struct memo_ref *ref)
{
	char key[200];

	snprintf(key, sizeof(key), "role/%s", app_id);
	return ctl_get(fs, path, key, fs->cfg.ttl_metadata_s, ref);
}

static cJSON *pipelines_of(struct mgdcfs *fs, const char *path, const char *app_id)
{
	struct memo_ref pipes = {0};
	cJSON *arr = cJSON_CreateArray();
	const cJSON *p;

	if (arr && fs->adf && ctl_get(fs, path, "pipes", fs->cfg.ttl_metadata_s, &pipes) == 0) {
		cJSON_ArrayForEach(p, pipes.doc)
		{
			const char *id = plan_app_of(p);

			if (id && strcasecmp(id, app_id) == 0 && ctl_str(p, "name"))
				cJSON_AddItemToArray(arr, cJSON_CreateString(ctl_str(p, "name")));
		}
		memo_put(fs->memo, &pipes);
	}
	return arr;
}

int apps_render(struct mgdcfs *fs, const char *path, const struct route *r, const cJSON *app,
                struct content *c)
{
	struct memo_ref role = {0};
	const char *app_id = ctl_str(app, "appId");
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(app, "registration");
	cJSON *o = NULL;
	char line[64], *text;
	int rc;

	switch (r->kind) {
	case N_APP_REG:
		o = cJSON_Duplicate(app, 1);
		if (!o)
			return -ENOMEM;
		cJSON_AddItemToObject(o, "pipelines", pipelines_of(fs, path, app_id));
		if (role_of(fs, path, app_id, &role) == 0)
			cJSON_AddItemToObject(o, "storageRole", cJSON_Duplicate(role.doc, 1));
		cJSON_AddStringToObject(o, "registrationAndConsent",
		                        "portal-only: see portal.txt and consent.json");
		rc = ctl_json_text(o, c, 0);
		break;
	case N_APP_SPEC:
		o = cJSON_IsObject(spec) ? ctl_app_spec_of(spec) : cJSON_CreateObject();
		if (o && !cJSON_IsObject(spec))
			cJSON_AddStringToObject(o, "appId", app_id);
		rc = o ? ctl_json_text(o, c, 0) : -ENOMEM;
		c->mode = S_IFREG | 0644;
		break;
	case N_APP_CONSENT:
	case N_APP_CONSENT_JSON:
		rc = consent_doc(fs, path, app_id, &o);
		if (rc)
			break;
		if (r->kind == N_APP_CONSENT_JSON) {
			rc = ctl_json_text(o, c, 0);
			break;
		}
		snprintf(line, sizeof(line), "%s\n", ctl_str(o, "status"));
		rc = ctl_set_text(c, line, 0, 0644);
		break;
	case N_APP_PORTAL:
		role_of(fs, path, app_id, &role);
		text = portal_text(fs, app, role.doc);
		rc = text ? ctl_set_text(c, text, 0, 0444) : -ENOMEM;
		free(text);
		break;
	default:
		rc = -ENOENT;
	}
	cJSON_Delete(o);
	memo_put(fs->memo, &role);
	return rc;
}

/* ---- writing apps/<name>.json ---- */

int apps_commit(struct mgdcfs *fs, const char *path, const cJSON *body, const cJSON *old)
{
	struct net_error e = {0};
	const char *app_id = ctl_str(body, "appId"), *name = ctl_str(body, "name");
	const cJSON *acct = cJSON_GetObjectItemCaseSensitive(old, "billingAccount");
	cJSON *tags = NULL, *role = NULL;
	const char *acct_id = NULL;
	char acct_name[160];
	int rc = -ENOMEM;

	if (!fs->billing) {
		errlog_add(
		    path, ENOTSUP,
		    "this profile names no subscription (subscription_id, resource_group): the "
		    "app's billing account cannot be created");
		return -ENOTSUP;
	}
	if (cJSON_IsObject(acct) && ctl_str(acct, "name")) {
		/* Its own account, where it lives, with every tag it has (a PUT replaces all). */
		snprintf(acct_name, sizeof(acct_name), "%s", ctl_str(acct, "name"));
		acct_id = ctl_str(acct, "id");
		tags = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(acct, "tags"), 1);
	} else {
		/* The documented convention of the portal's and the CLI's accounts. */
		snprintf(acct_name, sizeof(acct_name), "mgdc-%s", app_id);
	}
	if (!cJSON_IsObject(tags)) {
		cJSON_Delete(tags);
		tags = cJSON_CreateObject();
	}
	if (!tags)
		goto out;
	cJSON_DeleteItemFromObjectCaseSensitive(tags, APPS_TAG);
	if (!cJSON_AddStringToObject(tags, APPS_TAG, name))
		goto out;
	rc = billing_put(fs->billing, acct_id, acct_name, app_id, tags, fs->cfg.deadline_ms, NULL,
	                 &e);
	if (rc < 0) {
		errlog_add(path, -rc, "creating the billing account %s: %s%s%s", acct_name, e.code,
		           e.code[0] ? ": " : "", e.msg[0] ? e.msg : strerror(-rc));
		goto out;
	}
	rc = spec_save(fs, app_id, body);
	memo_drop_prefix(fs->memo, "apps"); /* the account changed either way */
	if (rc < 0) {
		errlog_add(path, -rc,
		           "the billing account %s is ready, but the spec could not be kept in the "
		           "state dir ($XDG_STATE_HOME/mgdcfs/apps): %s",
		           acct_name, strerror(-rc));
		goto out;
	}
	memo_drop_prefix(fs->memo, "role/");
	if (apps_role(fs, app_id, &role, &e) == 0 &&
	    !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(role, "granted")))
		errlog_add(path, 0,
		           "the app's service principal %s " APPS_ROLE_NAME
		           " on the destination %s; runs fail without it. Grant it with: %s",
		           cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(role, "granted"))
		               ? "lacks"
		               : "could not be checked for",
		           ctl_str(role, "account") ? ctl_str(role, "account") : "",
		           ctl_str(role, "grant") ? ctl_str(role, "grant") : "");
	errlog_add(path, 0,
	           "billing account %s is ready; registration and consent are portal-only: enter "
	           "the values of apps/%s/portal.txt in the Azure portal (" APPS_PORTAL
	           "), then a global administrator approves the app in the Microsoft 365 admin "
	           "center",
	           acct_name, name);
	rc = 0;
out:
	cJSON_Delete(tags);
	cJSON_Delete(role);
	return rc;
}
