/*
 * ctl.c - the control-plane part of the tree: README, tenant/, catalog/,
 * apps/, pipelines/ and .mgdcfs/.
 *
 * Every file is rendered from a few service documents kept in the memo with
 * a TTL: the organization, the Data Connect setting, the list of
 * registrations, the list of pipelines, each pipeline's runs and each run's
 * activities. Lookups of names (an app, a run) are answered from those
 * lists, so `ls -l runs/` with 500 runs costs the pages of one
 * queryPipelineRuns, not 500 requests. A run's status comes from its own
 * document with the status TTL; terminal states never change, so they are
 * kept for the longer metadata TTL.
 *
 * On a tenant without the registration contract (a real one), apps/ comes
 * from fs/apps.c and the files that only the portal can change say so:
 * tenant/data-connect reads "unknown", a write to consent is refused with
 * where to approve instead.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/log.h"
#include "base/text.h"
#include "fs/apps.h"
#include "fs/catalog.h"
#include "fs/ctl_i.h"
#include "fs/errlog.h"
#include "fs/estimate.h"
#include "fs/fabhost.h"
#include "fs/fs_i.h"
#include "fs/memo.h"
#include "fs/plan.h"
#include "fs/schedule.h"
#include "net/adf.h"
#include "net/graph.h"
#include "net/reg.h"

void content_release(struct content *c)
{
	free(c->data);
	memset(c, 0, sizeof(*c));
}

int ctl_set_text(struct content *c, const char *s, time_t mtime, mode_t perm)
{
	c->data = strdup(s ? s : "");
	if (!c->data)
		return -ENOMEM;
	c->len = strlen(c->data);
	c->mtime = mtime;
	c->mode = S_IFREG | perm;
	return 0;
}

int ctl_json_text(const cJSON *doc, struct content *c, time_t mtime)
{
	if (!(c->data = text_json(doc, &c->len)))
		return -ENOMEM;
	c->mtime = mtime;
	c->mode = S_IFREG | 0444;
	return 0;
}

time_t ctl_parse_time(const char *iso)
{
	struct tm tm;
	const char *p;

	if (!iso)
		return 0;
	memset(&tm, 0, sizeof(tm));
	p = strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return 0;
	return timegm(&tm);
}

const char *ctl_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- fetching: one function behind every memo key ---- */

static int fetch(void *ud, const char *key, cJSON **out, char *err, size_t errlen)
{
	struct mgdcfs *fs = ud;
	struct net_error e = {0};
	int rc = -ENOSYS;

	*out = NULL;
	if (strcmp(key, "org") == 0) {
		rc = graph_get_organization(fs->graph, out, &e);
		if (rc == -EACCES && e.status == 403) {
			/* Without Directory.Read.All the tenant file shows what the profile
			 * knows; the grant is said once per mount in .mgdcfs/errors. */
			if (fs_note_once(fs, NOTE_GRAPH_ORG))
				errlog_add("/tenant.json", EACCES,
				           "Graph refused /organization (%s): app %s lacks the "
				           "application "
				           "permission Directory.Read.All; an administrator grants "
				           "it in the "
				           "Entra admin center (App registrations > the app > API "
				           "permissions "
				           "> Add a permission > Microsoft Graph > Application "
				           "permissions > "
				           "Directory.Read.All, then Grant admin consent)",
				           e.code, fs->cfg.client_id);
			*out = cJSON_CreateObject();
			if (!*out ||
			    !cJSON_AddStringToObject(*out, "unavailable",
			                             "Graph refused /organization: the app lacks "
			                             "Directory.Read.All (see .mgdcfs/errors)")) {
				cJSON_Delete(*out);
				*out = NULL;
				return -ENOMEM;
			}
			return 0;
		}
	} else if (strcmp(key, "dc") == 0) {
		rc = fs->reg ? reg_get_data_connect(fs->reg, out, &e) : -ENOTSUP;
	} else if (strcmp(key, "apps") == 0) {
		rc = fs->reg ? reg_list(fs->reg, 100, out, &e) : apps_list(fs, out, &e);
	} else if (apps_fetch_role_key(key)) {
		rc = apps_role(fs, key + 5, out, &e);
	} else if (fs->fabric && (strcmp(key, "pipes") == 0 || strcmp(key, "allruns") == 0 ||
	                          strncmp(key, "runs/", 5) == 0 || strncmp(key, "acts/", 5) == 0 ||
	                          strncmp(key, "trig/", 5) == 0)) {
		rc = fabhost_fetch(fs, key, out, &e);
	} else if (strcmp(key, "allruns") == 0) {
		rc = fs->adf ? adf_query_runs(fs->adf, NULL, NULL, NULL, out, &e) : -ENOTSUP;
	} else if (strcmp(key, "pipes") == 0) {
		rc = fs->adf ? adf_list(fs->adf, ADF_PIPELINE, out, &e) : -ENOTSUP;
	} else if (strncmp(key, "runs/", 5) == 0) {
		rc = fs->adf ? adf_query_runs(fs->adf, key + 5, NULL, NULL, out, &e) : -ENOTSUP;
	} else if (strncmp(key, "trig/", 5) == 0) {
		rc = fs->adf ? schedule_fetch(fs, key + 5, out, &e) : -ENOTSUP;
	} else if (strncmp(key, "jobmeta/", 8) == 0) {
		rc = estimate_fetch_meta(fs, key + 8, out, &e);
	} else if (strncmp(key, "acts/", 5) == 0) {
		rc = fs->adf ? adf_query_activity_runs(fs->adf, NULL, key + 5, NULL, NULL, out, &e)
		             : -ENOTSUP;
	}
	if (rc == -ENOTSUP && e.msg[0])
		snprintf(err, errlen, "%s", e.msg);
	else if (rc == -ENOTSUP)
		snprintf(err, errlen,
		         "not configured in profile '%s' (the registration contract needs "
		         "endpoints.registration; pipelines need subscription_id, resource_group "
		         "and factory, or a Synapse \"pipelines\" host)",
		         fs->cfg.profile);
	else if (rc && e.code[0] && strncmp(e.msg, e.code, strlen(e.code)) == 0)
		snprintf(err, errlen, "%s", e.msg); /* Entra's text starts with its AADSTS code */
	else if (rc)
		snprintf(err, errlen, "%s%s%s", e.code, e.code[0] ? ": " : "",
		         e.msg[0] ? e.msg : strerror(-rc));
	return rc;
}

int ctl_get(struct mgdcfs *fs, const char *path, const char *key, int ttl, struct memo_ref *ref)
{
	char err[600] = "";
	int rc = memo_get(fs->memo, key, ttl, fetch, fs, ref, err, sizeof(err));

	if (rc && rc != -ENOENT)
		errlog_add(path, -rc, "%s", err[0] ? err : strerror(-rc));
	return rc;
}

/* Names from a server become directory entries only when they are safe and unambiguous. */
static int name_usable(const char *s)
{
	return s && tree_name_ok(s, strlen(s)) && !strchr(s, '.') && s[0] != '#';
}

static int name_is(const char *s, const char *name, size_t len)
{
	return s && strlen(s) == len && memcmp(s, name, len) == 0;
}

/* The registration named name/len in the list doc, or NULL. */
const cJSON *ctl_find_app(const cJSON *apps, const char *name, size_t len)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, apps) if (name_is(ctl_str(it, "name"), name, len)) return it;
	return NULL;
}

const cJSON *ctl_find_pipe(const cJSON *pipes, const char *name, size_t len)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, pipes)
	{
		if (name_is(ctl_str(it, "name"), name, len) && !plan_estimate_of(it))
			return it;
	}
	return NULL;
}

static const cJSON *find_run(const cJSON *runs, const char *id, size_t len)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, runs) if (name_is(ctl_str(it, "runId"), id, len)) return it;
	return NULL;
}

/*
 * The newest run by runStart, compared as ADF writes it (adf_time_cmp: up to
 * seven fraction digits, trailing zeros trimmed, so text order is wrong); on
 * a tie the first wins, as the service lists runs newest first.
 */
const cJSON *ctl_latest_run(const cJSON *runs)
{
	const cJSON *it, *best = NULL;

	cJSON_ArrayForEach(it, runs)
	{
		if (!best || adf_time_cmp(ctl_str(it, "runStart"), ctl_str(best, "runStart")) > 0)
			best = it;
	}
	return best;
}

static char *key_of(const char *prefix, const char *s, size_t len)
{
	char *k;

	if (asprintf(&k, "%s%.*s", prefix, (int)len, s) < 0)
		return NULL;
	return k;
}

/* ---- rendering ---- */

static const char readme_text[] =
    "mgdcfs: this directory is a Microsoft Graph Data Connect tenant.\n"
    "\n"
    "  tenant/tenant.json        the organization and its Data Connect setting\n"
    "  tenant/data-connect       \"enabled\" or \"disabled\"; a global admin writes either\n"
    "  catalog/<Dataset>.json    columns, types, date filters and scope of each dataset\n"
    "  apps/<name>/              an MGDC app registration: registration.json, consent,\n"
    "                            consent.json\n"
    "  apps/<name>.json          write a registration spec here to register or update\n"
    "  apps/<name>/consent       a global admin writes \"approve\" or \"decline\"\n"
    "  pipelines/<name>/         spec.json, pipeline.json, trigger, runs/<runId>/\n"
    "  pipelines/<name>.json     write a pipeline spec here: creates it and starts a run\n"
    "  pipelines/<name>/trigger  write {} (or a JSON object of parameters) to run again\n"
    "  pipelines/<name>/schedule write {\"every\": \"P1D\", \"lag\": \"PT48H\"} to run it per\n"
    "                            window in the factory; \"off\" stops it\n"
    "  pipelines/<name>/estimate write anything: a sampled run (top 1); estimate.json\n"
    "                            then says what the full run extracts and costs\n"
    "  .../runs/<runId>/         status, run.json, activities.json, cost.json (rows,\n"
    "                            billable units, USD), cancel, output ->\n"
    "  datasets/<container>/     exported files, streamed from Blob storage and cached\n"
    "  .mgdcfs/                  stats.json (and metrics, for Prometheus), errors (why\n"
    "                            the last commands failed), config.json\n"
    "\n"
    "A spec commits when the file is closed; close(2) returns the outcome and\n"
    ".mgdcfs/errors says why a spec was refused. See mgdcfs(1).\n";

static int render_tenant(struct mgdcfs *fs, const char *path, struct content *c)
{
	struct memo_ref org = {0}, dc = {0};
	cJSON *o = NULL, *doms;
	const cJSON *it, *v;
	int rc;

	/* Without Directory.Read.All the org doc holds only "unavailable" (fetch). */
	rc = ctl_get(fs, path, "org", fs->cfg.ttl_metadata_s, &org);
	if (rc)
		return rc;
	o = cJSON_CreateObject();
	if (!o) {
		rc = -ENOMEM;
		goto out;
	}
	if (ctl_str(org.doc, "unavailable"))
		cJSON_AddStringToObject(o, "unavailable", ctl_str(org.doc, "unavailable"));
	cJSON_AddStringToObject(
	    o, "id", ctl_str(org.doc, "id") ? ctl_str(org.doc, "id") : fs->cfg.tenant_id);
	cJSON_AddStringToObject(
	    o, "name", ctl_str(org.doc, "displayName") ? ctl_str(org.doc, "displayName") : "");
	doms = cJSON_AddArrayToObject(o, "domains");
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(org.doc, "verifiedDomains"))
	{
		if (ctl_str(it, "name"))
			cJSON_AddItemToArray(doms, cJSON_CreateString(ctl_str(it, "name")));
	}
	for (const char *const *k = (const char *const[]){"countryLetterCode", "officeRegion",
	                                                  "tenantType", "createdDateTime", NULL};
	     *k; k++)
		if ((v = cJSON_GetObjectItemCaseSensitive(org.doc, *k)))
			cJSON_AddItemToObject(o, *k, cJSON_Duplicate(v, 1));
	if (fs->reg && ctl_get(fs, path, "dc", fs->cfg.ttl_metadata_s, &dc) == 0) {
		cJSON_AddItemToObject(o, "dataConnect", cJSON_Duplicate(dc.doc, 1));
	} else if (!fs->reg) {
		cJSON *d = cJSON_AddObjectToObject(o, "dataConnect");

		cJSON_AddStringToObject(d, "state", "unknown");
		cJSON_AddStringToObject(d, "where", DATA_CONNECT_WHERE);
	}
	rc = ctl_json_text(o, c, ctl_parse_time(ctl_str(org.doc, "createdDateTime")));
out:
	cJSON_Delete(o);
	memo_put(fs->memo, &org);
	memo_put(fs->memo, &dc);
	return rc;
}

static int render_data_connect(struct mgdcfs *fs, const char *path, struct content *c)
{
	struct memo_ref dc = {0};
	const cJSON *en;
	int rc;

	if (!fs->reg) /* the setting has no public API */
		return ctl_set_text(c, "unknown\n", fs->started, 0644);
	rc = ctl_get(fs, path, "dc", fs->cfg.ttl_metadata_s, &dc);
	if (rc)
		return rc;
	en = cJSON_GetObjectItemCaseSensitive(dc.doc, "enabled");
	rc = ctl_set_text(c, cJSON_IsTrue(en) ? "enabled\n" : "disabled\n",
	                  ctl_parse_time(ctl_str(dc.doc, "modifiedOn")), 0644);
	memo_put(fs->memo, &dc);
	return rc;
}

/* Drop null members at any depth: the service reports unset fields as null, and a
 * spec gives a field a value or leaves it out, so the text must read back as valid. */
static void drop_nulls(cJSON *o)
{
	cJSON *it = o ? o->child : NULL, *next;

	for (; it; it = next) {
		next = it->next;
		if (cJSON_IsNull(it) && cJSON_IsObject(o))
			cJSON_Delete(cJSON_DetachItemViaPointer(o, it));
		else
			drop_nulls(it);
	}
}

/* The app spec as a user would write it back: what apps/<name>.json shows. */
cJSON *ctl_app_spec_of(const cJSON *reg)
{
	static const char *const keys[] = {
	    "appId",        "description", "publishType", "computeType",
	    "activityType", "datasets",    "destination", NULL};
	cJSON *o = cJSON_CreateObject();
	const cJSON *v;

	for (int i = 0; o && keys[i]; i++)
		if ((v = cJSON_GetObjectItemCaseSensitive(reg, keys[i])))
			cJSON_AddItemToObject(o, keys[i], cJSON_Duplicate(v, 1));
	drop_nulls(o);
	return o;
}

static int render_app(struct mgdcfs *fs, const char *path, const struct route *r, struct content *c)
{
	struct memo_ref apps = {0};
	const cJSON *reg, *auth;
	cJSON *o = NULL;
	time_t mt;
	int rc;

	rc = ctl_get(fs, path, "apps", fs->cfg.ttl_metadata_s, &apps);
	if (rc)
		return rc;
	reg = ctl_find_app(apps.doc, r->name, r->name_len);
	if (!reg) {
		rc = -ENOENT;
		goto out;
	}
	if (!fs->reg) {
		rc = apps_render(fs, path, r, reg, c);
		goto out;
	}
	mt = ctl_parse_time(ctl_str(reg, "lastModified"));
	auth = cJSON_GetObjectItemCaseSensitive(reg, "authorization");
	switch (r->kind) {
	case N_APP_REG:
		rc = ctl_json_text(reg, c, mt);
		break;
	case N_APP_SPEC:
		o = ctl_app_spec_of(reg);
		rc = o ? ctl_json_text(o, c, mt) : -ENOMEM;
		c->mode = S_IFREG | 0644;
		break;
	case N_APP_CONSENT: {
		const char *st = ctl_str(auth, "status");
		char line[64];

		snprintf(line, sizeof(line), "%s\n", st ? st : "PendingAuthorization");
		rc = ctl_set_text(c, line, ctl_parse_time(ctl_str(auth, "approvedOn")) ?: mt, 0644);
		break;
	}
	case N_APP_CONSENT_JSON:
		o = auth ? cJSON_Duplicate(auth, 1) : cJSON_CreateObject();
		if (o && !cJSON_GetObjectItemCaseSensitive(o, "status"))
			cJSON_AddStringToObject(o, "status", "PendingAuthorization");
		if (o)
			cJSON_AddStringToObject(o, "appId",
			                        ctl_str(reg, "appId") ? ctl_str(reg, "appId") : "");
		rc = o ? ctl_json_text(o, c, ctl_parse_time(ctl_str(auth, "approvedOn")) ?: mt)
		       : -ENOMEM;
		break;
	default:
		rc = -ENOENT;
	}
out:
	cJSON_Delete(o);
	memo_put(fs->memo, &apps);
	return rc;
}

static int render_pipe(struct mgdcfs *fs, const char *path, const struct route *r,
                       struct content *c)
{
	struct memo_ref pipes = {0};
	const cJSON *p;
	cJSON *spec = NULL;
	time_t mt;
	int rc;

	if (!fs_pipelines(fs))
		return -ENOENT;
	rc = ctl_get(fs, path, "pipes", fs->cfg.ttl_metadata_s, &pipes);
	if (rc)
		return rc;
	p = ctl_find_pipe(pipes.doc, r->name, r->name_len);
	if (!p) {
		rc = -ENOENT;
		goto out;
	}
	mt = ctl_parse_time(ctl_str(p, "lastModified"));
	spec = plan_spec_of(p);
	switch (r->kind) {
	case N_PIPE_JSON:
		rc = ctl_json_text(p, c, mt);
		break;
	case N_PIPE_SPEC:
		rc = spec ? ctl_json_text(spec, c, mt) : -ENOENT;
		break;
	case N_PIPE_SPECFILE:
		/* The spec it was made from, else the full ADF resource (accepted back as is). */
		rc = ctl_json_text(spec ? spec : p, c, mt);
		c->mode = S_IFREG | 0644;
		break;
	case N_PIPE_TRIGGER:
		rc = ctl_set_text(c, "", mt, 0644);
		break;
	case N_PIPE_ESTIMATE:
		/* Only a spec names the dataset whose sampling and price the estimate needs. */
		rc = spec ? ctl_set_text(c, "", mt, 0644) : -ENOENT;
		break;
	default:
		rc = -ENOENT;
	}
out:
	cJSON_Delete(spec);
	memo_put(fs->memo, &pipes);
	return rc;
}

/* runs/<id>/output -> ../../../../datasets/<container>/<folder>/<runId> */
static int render_output(struct mgdcfs *fs, const char *path, const struct route *r,
                         struct content *c)
{
	struct memo_ref pipes = {0};
	const cJSON *p, *outp;
	cJSON *spec;
	const char *cont, *folder;
	char *t = NULL;
	int rc;

	rc = ctl_get(fs, path, "pipes", fs->cfg.ttl_metadata_s, &pipes);
	if (rc)
		return rc;
	p = ctl_find_pipe(pipes.doc, r->name, r->name_len);
	spec = p ? plan_spec_of(p) : NULL;
	outp = cJSON_GetObjectItemCaseSensitive(spec, "output");
	cont = ctl_str(outp, "container");
	folder = ctl_str(outp, "folder");
	if (!cont) {
		rc = -ENOENT;
		goto out;
	}
	if (asprintf(&t, "../../../../datasets/%s/%s%s%.*s", cont, folder ? folder : "",
	             folder && folder[0] ? "/" : "", (int)r->run_len, r->run) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	c->data = t;
	c->len = strlen(t);
	c->mode = S_IFLNK | 0777;
	c->mtime = ctl_parse_time(ctl_str(p, "lastModified"));
out:
	cJSON_Delete(spec);
	memo_put(fs->memo, &pipes);
	return rc;
}

static int render_run(struct mgdcfs *fs, const char *path, const struct route *r, struct content *c)
{
	struct memo_ref runs = {0}, acts = {0};
	const cJSON *rr;
	char *key = NULL;
	time_t mt;
	int rc;

	key = key_of("runs/", r->name, r->name_len);
	if (!key)
		return -ENOMEM;
	rc = ctl_get(fs, path, key, fs->cfg.ttl_status_s, &runs);
	free(key);
	if (rc)
		return rc;
	if (r->kind == N_RUNS_LATEST) {
		rr = ctl_latest_run(runs.doc);
		rc = rr ? ctl_set_text(c, ctl_str(rr, "runId"),
		                       ctl_parse_time(ctl_str(rr, "runStart")), 0777)
		        : -ENOENT;
		if (rc == 0)
			c->mode = S_IFLNK | 0777;
		goto out;
	}
	rr = find_run(runs.doc, r->run, r->run_len);
	if (!rr) {
		rc = -ENOENT;
		goto out;
	}
	if (r->kind == N_RUN_OUTPUT) {
		rc = render_output(fs, path, r, c);
		goto out;
	}
	/* queryPipelineRuns returns whole PipelineRun objects, so the list (fresh within
	 * the status TTL) answers status and run.json without a request per run. */
	mt = ctl_parse_time(ctl_str(rr, "lastUpdated"));
	if (!mt)
		mt = ctl_parse_time(ctl_str(rr, "runStart"));
	switch (r->kind) {
	case N_RUN_STATUS: {
		char line[64];

		snprintf(line, sizeof(line), "%s\n",
		         ctl_str(rr, "status") ? ctl_str(rr, "status") : "Queued");
		rc = ctl_set_text(c, line, mt, 0444);
		break;
	}
	case N_RUN_JSON: {
		cJSON *run = cJSON_Duplicate(rr, 1);

		if (run) /* a scheduled run shows its window */
			schedule_run_window(fs, path, r, run);
		rc = run ? ctl_json_text(run, c, mt) : -ENOMEM;
		cJSON_Delete(run);
		break;
	}
	case N_RUN_CANCEL:
		rc = ctl_set_text(c, "", mt, 0644);
		break;
	case N_RUN_COST:
		rc = estimate_render_cost(fs, path, r, rr, c);
		break;
	case N_RUN_ACTIVITIES:
		key = key_of("acts/", r->run, r->run_len);
		if (!key) {
			rc = -ENOMEM;
			break;
		}
		rc = ctl_get(fs, path, key, fs->cfg.ttl_status_s, &acts);
		free(key);
		if (rc == 0)
			rc = ctl_json_text(acts.doc, c, mt);
		break;
	default:
		rc = -ENOENT;
	}
out:
	memo_put(fs->memo, &acts);
	memo_put(fs->memo, &runs);
	return rc;
}

int ctl_render(struct mgdcfs *fs, const char *path, const struct route *r, struct content *c)
{
	const struct catalog_dataset *ds;
	char name[256];
	size_t n;

	memset(c, 0, sizeof(*c));
	switch (r->kind) {
	case N_README:
		return ctl_set_text(c, readme_text, fs->started, 0444);
	case N_META_REFRESH:
		return ctl_set_text(c, "", fs->started, 0644);
	case N_TENANT_JSON:
		return render_tenant(fs, path, c);
	case N_DATA_CONNECT:
		return render_data_connect(fs, path, c);
	case N_CATALOG_FILE:
		if (r->name_len >= sizeof(name))
			return -ENOENT;
		memcpy(name, r->name, r->name_len);
		name[r->name_len] = '\0';
		ds = catalog_find(fs->catalog, name);
		if (!ds)
			return -ENOENT;
		c->data = catalog_render(ds);
		if (!c->data)
			return -ENOMEM;
		c->len = strlen(c->data);
		c->mode = S_IFREG | 0444;
		c->mtime = fs->started;
		return 0;
	case N_APP_SPEC:
	case N_APP_REG:
	case N_APP_CONSENT:
	case N_APP_CONSENT_JSON:
	case N_APP_PORTAL:
		return render_app(fs, path, r, c);
	case N_PIPE_SPECFILE:
	case N_PIPE_SPEC:
	case N_PIPE_JSON:
	case N_PIPE_TRIGGER:
	case N_PIPE_ESTIMATE:
		return render_pipe(fs, path, r, c);
	case N_PIPE_SCHEDULE:
		return schedule_render(fs, path, r, c);
	case N_PIPE_ESTIMATE_JSON:
		return fs->adf ? estimate_render(fs, path, r, c) : -ENOENT;
	case N_RUNS_LATEST:
	case N_RUN_STATUS:
	case N_RUN_JSON:
	case N_RUN_ACTIVITIES:
	case N_RUN_CANCEL:
	case N_RUN_OUTPUT:
	case N_RUN_COST:
		return render_run(fs, path, r, c);
	case N_META_STATS:
		c->data = stats_render(fs, &n);
		break;
	case N_META_METRICS:
		c->data = stats_render_metrics(fs, &n);
		break;
	case N_META_ERRORS:
		c->data = errlog_render(&n);
		break;
	case N_META_CONFIG:
		c->data = config_to_json(&fs->cfg);
		n = c->data ? strlen(c->data) : 0;
		break;
	default:
		return -ENOENT;
	}
	if (!c->data)
		return -ENOMEM;
	c->len = n;
	c->mode = S_IFREG | 0444;
	c->mtime = time(NULL);
	return 0;
}

int ctl_dir_exists(struct mgdcfs *fs, const char *path, const struct route *r, time_t *mtime)
{
	struct memo_ref doc = {0};
	const cJSON *it = NULL;
	char *key;
	int rc;

	switch (r->kind) {
	case N_APP:
		rc = ctl_get(fs, path, "apps", fs->cfg.ttl_metadata_s, &doc);
		if (rc)
			return rc;
		it = ctl_find_app(doc.doc, r->name, r->name_len);
		if (it)
			*mtime = ctl_parse_time(ctl_str(it, "registeredOn"));
		break;
	case N_PIPE:
	case N_RUNS:
		if (!fs_pipelines(fs))
			return -ENOENT;
		rc = ctl_get(fs, path, "pipes", fs->cfg.ttl_metadata_s, &doc);
		if (rc)
			return rc;
		it = ctl_find_pipe(doc.doc, r->name, r->name_len);
		if (it)
			*mtime = ctl_parse_time(ctl_str(it, "lastModified"));
		break;
	case N_RUN:
		key = key_of("runs/", r->name, r->name_len);
		if (!key)
			return -ENOMEM;
		rc = ctl_get(fs, path, key, fs->cfg.ttl_status_s, &doc);
		free(key);
		if (rc)
			return rc;
		it = find_run(doc.doc, r->run, r->run_len);
		if (it)
			*mtime = ctl_parse_time(ctl_str(it, "runStart"));
		break;
	default:
		return 0;
	}
	rc = it ? 0 : -ENOENT;
	memo_put(fs->memo, &doc);
	return rc;
}

static int list_names(struct mgdcfs *fs, const char *path, const char *key, int ttl,
                      const char *field, const char *suffix_entry, dir_fill_fn fill, void *ud)
{
	struct memo_ref doc = {0};
	const cJSON *it;
	char buf[300];
	int rc;

	rc = ctl_get(fs, path, key, ttl, &doc);
	if (rc)
		return rc;
	cJSON_ArrayForEach(it, doc.doc)
	{
		const char *n = ctl_str(it, field);

		if (!name_usable(n)) {
			if (n)
				log_debug("skipping entry with an unusable name under %s", path);
			continue;
		}
		if (plan_estimate_of(it)) /* a pipeline's sampling twin: see its estimate.json */
			continue;
		fill(ud, n, NULL);
		if (suffix_entry) {
			snprintf(buf, sizeof(buf), "%s%s", n, suffix_entry);
			fill(ud, buf, NULL);
		}
	}
	memo_put(fs->memo, &doc);
	return 0;
}

/*
 * The fixed children of r->kind (tree.c's table), those its conditions show:
 * portal.txt without the registration contract, spec.json and output for
 * pipelines made from a spec, latest when there are runs.
 */
static int list_fixed(struct mgdcfs *fs, const char *path, const struct route *r, dir_fill_fn fill,
                      void *ud)
{
	const struct tree_node *n;
	struct content c = {0};
	struct route sr = *r;
	int has_spec = -1;

	for (size_t i = 0; (n = tree_child(r->kind, i)); i++) {
		if (((n->flags & TF_PORTAL) && fs->reg) || ((n->flags & TF_CONTRACT) && !fs->reg))
			continue;
		if (n->flags & TF_IF_SPEC) {
			if (has_spec < 0) {
				/* Only a pipeline made from a spec knows its spec and output
				 * folder. */
				sr.kind = r->kind == N_RUN ? N_RUN_OUTPUT : N_PIPE_SPEC;
				has_spec = ctl_render(fs, path, &sr, &c) == 0;
				content_release(&c);
			}
			if (!has_spec)
				continue;
		}
		if (n->flags & TF_IF_ESTIMATE) {
			char name[128];
			cJSON *twin = NULL;

			snprintf(name, sizeof(name), "%.*s", (int)r->name_len, r->name);
			if (estimate_twin(fs, path, name, fs->cfg.ttl_metadata_s, &twin) != 0)
				continue;
			cJSON_Delete(twin);
		}
		if (n->flags & TF_IF_RUNS) {
			sr.kind = N_RUNS_LATEST;
			if (ctl_render(fs, path, &sr, &c) != 0)
				continue;
			content_release(&c);
		}
		fill(ud, n->name, NULL);
	}
	return 0;
}

int ctl_list(struct mgdcfs *fs, const char *path, const struct route *r, dir_fill_fn fill, void *ud)
{
	size_t i;
	char name[300];
	char *key;
	int rc;

	switch (r->kind) {
	case N_ROOT:
	case N_TENANT:
	case N_META:
		return list_fixed(fs, path, r, fill, ud);
	case N_CATALOG:
		for (i = 0; i < catalog_count(fs->catalog); i++) {
			snprintf(name, sizeof(name), "%s.json", catalog_at(fs->catalog, i)->name);
			fill(ud, name, NULL);
		}
		return 0;
	case N_APPS:
		return list_names(fs, path, "apps", fs->cfg.ttl_metadata_s, "name", ".json", fill,
		                  ud);
	case N_APP:
	case N_PIPE:
	case N_RUN:
		if ((rc = ctl_dir_exists(fs, path, r, &(time_t){0})))
			return rc;
		return list_fixed(fs, path, r, fill, ud);
	case N_PIPES:
		if (!fs_pipelines(fs))
			return 0;
		return list_names(fs, path, "pipes", fs->cfg.ttl_metadata_s, "name", ".json", fill,
		                  ud);
	case N_RUNS:
		key = key_of("runs/", r->name, r->name_len);
		if (!key)
			return -ENOMEM;
		rc = list_names(fs, path, key, fs->cfg.ttl_status_s, "runId", NULL, fill, ud);
		free(key);
		return rc ? rc : list_fixed(fs, path, r, fill, ud);
	default:
		return -ENOTDIR;
	}
}
