/*
 * cmd.c - commands: what a write into the tree does to the services.
 *
 * Every command is validated locally first (fs/spec.c, against the embedded
 * catalog and the app's registration) so a bad spec costs no request. A
 * pipeline spec touches several ADF resources; they are created in an
 * order that never references a missing one (linked services, datasets,
 * pipeline; fs/plan.c knows what they are), each previous state is read first, and on a failure the
 * resources already written are put back (deleted if new, restored if they
 * existed), so the factory holds the whole command or none of it; a daemon
 * killed mid-way leaves a journal that the next mount replays. After a
 * command the memo entries it affects are dropped, so the tree shows the new
 * state at once.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/log.h"
#include "base/text.h"
#include "fs/apps.h"
#include "fs/catalog.h"
#include "fs/ctl_i.h"
#include "fs/data_i.h"
#include "fs/errlog.h"
#include "fs/fabhost.h"
#include "fs/fs_i.h"
#include "fs/memo.h"
#include "fs/plan.h"
#include "fs/schedule.h"
#include "fs/spec.h"
#include "fs/statedir.h"
#include "net/adf.h"
#include "net/reg.h"

/* Record a remote failure: the service's code and message, never a secret. */
static int remote_fail(const char *path, int rc, const struct net_error *e, const char *what)
{
	errlog_add(path, -rc, "%s: %s%s%s", what, e->code, e->code[0] ? ": " : "",
	           e->msg[0] ? e->msg : strerror(-rc));
	return rc;
}

static int refuse(const char *path, int rc, const char *line)
{
	errlog_add(path, -rc, "%s", line);
	return rc;
}

/* Strip the leading '/' so error lines name the file as the user sees it. */
static const char *rel(const char *path)
{
	return path[0] == '/' ? path + 1 : path;
}

static void spec_profile_of(const struct mgdcfs *fs, struct spec_profile *p)
{
	memset(p, 0, sizeof(*p));
	p->client_id = fs->cfg.client_id;
	p->tenant_id = fs->cfg.tenant_id;
	p->subscription_id = fs->cfg.subscription_id;
	p->resource_group = fs->cfg.resource_group;
	p->storage_account = fs->cfg.storage_account;
	p->blob_endpoint = fs->cfg.blob_url;
	p->keyvault = fs->cfg.keyvault;
}

/* The appId of app `name` (malloc'd), or -ENOENT. */
static int app_id_of(struct mgdcfs *fs, const char *path, const char *name, size_t len,
                     char **app_id, cJSON **reg_copy)
{
	struct memo_ref apps = {0};
	const cJSON *reg;
	int rc;

	rc = ctl_get(fs, path, "apps", 0, &apps);
	if (rc)
		return rc;
	reg = ctl_find_app(apps.doc, name, len);
	if (reg && ctl_str(reg, "appId")) {
		*app_id = strdup(ctl_str(reg, "appId"));
		if (reg_copy)
			*reg_copy = cJSON_Duplicate(reg, 1);
		rc = *app_id ? 0 : -ENOMEM;
	} else {
		rc = -ENOENT;
	}
	memo_put(fs->memo, &apps);
	return rc;
}

static int cmd_data_connect(struct mgdcfs *fs, const char *path, const char *buf, size_t len)
{
	struct net_error e = {0};
	char err[768];
	int enabled, rc;

	if (!fs->reg)
		return refuse(path, -ENOTSUP,
		              "the Data Connect setting has no public API; a global administrator "
		              "changes it in the " DATA_CONNECT_WHERE);
	rc = spec_parse_data_connect(rel(path), buf, len, &enabled, err, sizeof(err));
	if (rc)
		return refuse(path, rc, err);
	rc = reg_set_data_connect(fs->reg, enabled, NULL, &e);
	memo_drop_prefix(fs->memo, "dc");
	if (rc)
		return remote_fail(path, rc, &e, "changing the Data Connect setting");
	log_info("%s: Data Connect %s", rel(path), enabled ? "enabled" : "disabled");
	return 0;
}

static int cmd_consent(struct mgdcfs *fs, const char *path, const struct route *r, const char *buf,
                       size_t len)
{
	struct net_error e = {0};
	char err[768], *app = NULL;
	int approve, rc;

	if (!fs->reg)
		return refuse(
		    path, -ENOTSUP,
		    "consent has no public API; a global administrator who is not the app's "
		    "owner approves or declines it in the Microsoft 365 admin center "
		    "(" APPS_ADMIN_CENTER ")");
	rc = spec_parse_consent(rel(path), buf, len, &approve, err, sizeof(err));
	if (rc)
		return refuse(path, rc, err);
	rc = app_id_of(fs, path, r->name, r->name_len, &app, NULL);
	if (rc)
		return rc == -ENOENT ? refuse(path, rc, "no such app registration") : rc;
	rc = approve ? reg_approve(fs->reg, app, NULL, &e) : reg_decline(fs->reg, app, NULL, &e);
	memo_drop_prefix(fs->memo, "apps");
	free(app);
	if (rc)
		return remote_fail(path, rc, &e, approve ? "approve" : "decline");
	log_info("%s: %s", rel(path), approve ? "approved" : "declined");
	return 0;
}

/* Find pipeline `name` in the factory: a copy of its resource, or -ENOENT. */
static int pipe_of(struct mgdcfs *fs, const char *path, const char *name, size_t len, cJSON **out)
{
	struct memo_ref pipes = {0};
	const cJSON *p;
	int rc;

	rc = ctl_get(fs, path, "pipes", 0, &pipes);
	if (rc)
		return rc;
	p = ctl_find_pipe(pipes.doc, name, len);
	*out = p ? cJSON_Duplicate(p, 1) : NULL;
	rc = p ? (*out ? 0 : -ENOMEM) : -ENOENT;
	memo_put(fs->memo, &pipes);
	return rc;
}

static void drop_runs(struct mgdcfs *fs, const char *name, size_t len)
{
	char key[300];

	snprintf(key, sizeof(key), "runs/%.*s", (int)len, name);
	memo_drop_prefix(fs->memo, key);
	memo_drop_prefix(fs->memo, "allruns");
}

static int start_run(struct mgdcfs *fs, const char *path, const char *name, const cJSON *params)
{
	struct net_error e = {0};
	char *run_id = NULL;
	int rc;

	rc = fs->fabric ? fabhost_start(fs, name, params, &run_id, &e)
	                : adf_create_run(fs->adf, name, params, &run_id, &e);
	drop_runs(fs, name, strlen(name));
	if (rc)
		return remote_fail(path, rc, &e, "createRun");
	log_info("%s: started run %s of pipeline %s", rel(path), run_id, name);
	free(run_id);
	return 0;
}

static int cmd_trigger(struct mgdcfs *fs, const char *path, const struct route *r, const char *buf,
                       size_t len)
{
	cJSON *pipe = NULL, *params = NULL;
	char err[768], name[128];
	int rc;

	if (!fs_pipelines(fs))
		return -ENOTSUP;
	rc = pipe_of(fs, path, r->name, r->name_len, &pipe);
	if (rc)
		return rc;
	rc = spec_parse_trigger(rel(path), buf, len, pipe, &params, err, sizeof(err));
	if (rc) {
		cJSON_Delete(pipe);
		return refuse(path, rc, err);
	}
	snprintf(name, sizeof(name), "%.*s", (int)r->name_len, r->name);
	rc = start_run(fs, path, name, params);
	cJSON_Delete(params);
	cJSON_Delete(pipe);
	return rc;
}

static int cmd_cancel(struct mgdcfs *fs, const char *path, const struct route *r)
{
	struct net_error e = {0};
	char id[128], key[160], name[128];
	int rc;

	if (!fs_pipelines(fs))
		return -ENOTSUP;
	snprintf(id, sizeof(id), "%.*s", (int)r->run_len, r->run);
	snprintf(name, sizeof(name), "%.*s", (int)r->name_len, r->name);
	rc = fs->fabric ? fabhost_cancel(fs, name, id, &e) : adf_cancel_run(fs->adf, id, 1, &e);
	snprintf(key, sizeof(key), "acts/%s", id);
	memo_drop_prefix(fs->memo, key);
	drop_runs(fs, r->name, r->name_len);
	if (rc)
		return remote_fail(path, rc, &e, "cancel");
	log_info("%s: cancel requested for run %s", rel(path), id);
	return 0;
}

/*
 * pipelines/<name>/estimate: put the pipeline's sampling twin (its copy
 * asking for the top 1 object, fs/plan.c) and start a run of it; its
 * JobMetadata's TotalRowCount is then the estimate (estimate.json). Only a
 * pipeline made from a spec of a dataset MGDC samples can be estimated.
 */
static int cmd_estimate(struct mgdcfs *fs, const char *path, const struct route *r)
{
	struct net_error e = {0};
	struct plan_names n;
	const struct catalog_dataset *ds = NULL;
	cJSON *pipe = NULL, *spec = NULL, *body = NULL, *old = NULL;
	char name[128], err[900], list[512];
	const char *of;
	int rc;

	if ((rc = fabhost_refuse(fs, path, "an estimate")))
		return rc;
	if (!fs->adf)
		return -ENOTSUP;
	snprintf(name, sizeof(name), "%.*s", (int)r->name_len, r->name);
	if ((rc = pipe_of(fs, path, r->name, r->name_len, &pipe)))
		return rc;
	spec = plan_spec_of(pipe);
	if (!spec) {
		snprintf(
		    err, sizeof(err),
		    "%s: the pipeline was not made from a spec: only a spec names the dataset "
		    "whose sampling and price an estimate needs (write its Office 365 copy "
		    "source's \"AdditionalDataSetProperties\": {\"top\": 1} yourself to sample "
		    "it)",
		    rel(path));
		rc = refuse(path, -EINVAL, err);
		goto out;
	}
	if (ctl_str(spec, "dataset"))
		ds = catalog_find(fs->catalog, ctl_str(spec, "dataset"));
	if (!ds || !ds->sample) {
		catalog_sample_list(fs->catalog, list, sizeof(list));
		snprintf(err, sizeof(err),
		         "%s: the pipeline reads %s, which MGDC cannot sample: it samples only %s; "
		         "its full run costs what catalog/%s.json's price class says per object",
		         rel(path), ctl_str(spec, "dataset") ?: "no dataset", list,
		         ctl_str(spec, "dataset") ?: "DATASET");
		rc = refuse(path, -EINVAL, err);
		goto out;
	}
	if ((rc = plan_names(name, &n)) < 0)
		goto out;
	/* The twin's name is derived; a pipeline of that name that samples another (or
	 * none) is someone's own and is never overwritten. */
	rc = adf_get(fs->adf, ADF_PIPELINE, n.estimate, &old, NULL, &e);
	if (rc == 0 && (!(of = plan_estimate_of(old)) || strcmp(of, name) != 0)) {
		snprintf(err, sizeof(err),
		         "%s: the pipeline that would sample it, %s, exists in the factory and is "
		         "not this pipeline's estimate; rename or delete it",
		         rel(path), n.estimate);
		rc = refuse(path, -EEXIST, err);
		goto out;
	}
	if (rc && rc != -ENOENT) {
		remote_fail(path, rc, &e, "reading the factory");
		goto out;
	}
	if ((rc = plan_estimate(pipe, name, 1, &body)) < 0) {
		if (rc == -EINVAL) {
			snprintf(err, sizeof(err),
			         "%s: the pipeline has no Office 365 copy source to sample",
			         rel(path));
			refuse(path, rc, err);
		}
		goto out;
	}
	rc = adf_put(fs->adf, ADF_PIPELINE, n.estimate, body, NULL, NULL, NULL, &e);
	memo_drop_prefix(fs->memo, "pipes");
	if (rc) {
		remote_fail(path, rc, &e, "creating the sampling pipeline");
		goto out;
	}
	rc = start_run(fs, path, n.estimate, NULL);
out:
	cJSON_Delete(old);
	cJSON_Delete(body);
	cJSON_Delete(spec);
	cJSON_Delete(pipe);
	return rc;
}

int cmd_small(struct mgdcfs *fs, const char *path, const struct route *r, const char *buf,
              size_t len)
{
	switch (r->kind) {
	case N_DATA_CONNECT:
		return cmd_data_connect(fs, path, buf, len);
	case N_APP_CONSENT:
		return cmd_consent(fs, path, r, buf, len);
	case N_PIPE_TRIGGER:
		return cmd_trigger(fs, path, r, buf, len);
	case N_PIPE_SCHEDULE:
		return schedule_cmd(fs, path, r, buf, len);
	case N_RUN_CANCEL:
		return cmd_cancel(fs, path, r);
	case N_PIPE_ESTIMATE:
		return cmd_estimate(fs, path, r);
	case N_META_REFRESH:
		/* Forget every cached document and listing; the chunk cache stays (it is keyed
		 * by ETag, so it can never be stale). */
		memo_drop_prefix(fs->memo, "");
		data_drop_listings();
		log_info("%s: metadata and listings dropped", rel(path));
		return 0;
	default:
		return -EACCES;
	}
}

static int commit_app(struct mgdcfs *fs, const char *path, const struct route *r, const char *buf,
                      size_t len)
{
	struct spec_profile p;
	struct net_error e = {0};
	struct memo_ref apps = {0};
	const cJSON *old;
	cJSON *body = NULL;
	char err[768], *etag = NULL;
	const char *app_id;
	int rc, created = 0;

	if (memchr(r->name, '.', r->name_len) || r->name[0] == '#') {
		snprintf(err, sizeof(err),
		         "%s: $: app name '%.*s' contains '.'; app names are one component without "
		         "'.', so apps/<name>/ and apps/<name>.json stay distinct",
		         rel(path), (int)r->name_len, r->name);
		return refuse(path, -EINVAL, err);
	}
	spec_profile_of(fs, &p);
	rc = spec_parse_registration(rel(path), buf, len, &p, fs->catalog, &body, err, sizeof(err));
	if (rc)
		return refuse(path, rc, err);
	if (!cJSON_GetObjectItemCaseSensitive(body, "name")) {
		char name[128];

		snprintf(name, sizeof(name), "%.*s", (int)r->name_len, r->name);
		cJSON_AddStringToObject(body, "name", name);
	}
	app_id = ctl_str(body, "appId");
	/* An update must not silently overwrite a concurrent one: send the ETag we showed,
	 * i.e. the cached listing reads were served from, not a fresh one (that would
	 * always match and turn If-Match into last-writer-wins). */
	rc = ctl_get(fs, path, "apps", fs->cfg.ttl_metadata_s, &apps);
	if (rc)
		goto out;
	old = ctl_find_app(apps.doc, r->name, r->name_len);
	if (old && app_id && ctl_str(old, "appId") && strcasecmp(ctl_str(old, "appId"), app_id)) {
		snprintf(err, sizeof(err),
		         "%s: appId: app '%.*s' is registered for appId %s; an app keeps its appId "
		         "(%s)",
		         rel(path), (int)r->name_len, r->name, ctl_str(old, "appId"),
		         fs->reg ? "rmdir it first to register another appId under this name"
		                 : "choose another name for the other app");
		rc = refuse(path, -EINVAL, err);
		goto out;
	}
	if (!old && app_id) {
		const cJSON *it;

		cJSON_ArrayForEach(it, apps.doc)
		{
			const char *other = ctl_str(it, "name");

			/* On a portal-only tenant an app listed by its display name (no spec
			 * written here yet) takes the name given now. */
			if (!fs->reg &&
			    !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(it, "registration")))
				continue;
			if (ctl_str(it, "appId") && strcasecmp(ctl_str(it, "appId"), app_id) == 0 &&
			    other) {
				snprintf(
				    err, sizeof(err),
				    "%s: appId: %s is already registered as '%s' (one registration "
				    "per app); edit apps/%s.json, or rmdir apps/%s first",
				    rel(path), app_id, other, other, other);
				rc = refuse(path, -EEXIST, err);
				goto out;
			}
		}
	}
	if (!fs->reg) {
		/* No registration service: the public steps, and what is left for the portal.
		 * The app's listing entry (by appId, whatever its name) carries its billing
		 * account, which must be updated where it is, not duplicated. */
		const cJSON *it, *same = old;

		cJSON_ArrayForEach(it, apps.doc) if (!same && ctl_str(it, "appId") &&
		                                     strcasecmp(ctl_str(it, "appId"), app_id) == 0)
		    same = it;
		rc = apps_commit(fs, path, body, same);
		goto out;
	}
	rc = reg_put(fs->reg, app_id, body, old ? ctl_str(old, "etag") : NULL, NULL, &etag,
	             &created, &e);
	if (rc)
		remote_fail(path, rc, &e, created ? "register" : "update registration");
	else
		log_info("%s: registration %s", rel(path), created ? "created" : "updated");
out:
	memo_put(fs->memo, &apps);
	memo_drop_prefix(fs->memo, "apps");
	free(etag);
	cJSON_Delete(body);
	return rc;
}

/* One resource's state before the command, for rollback. */
struct prior {
	cJSON *body; /* NULL: it did not exist */
	int written;
};

static cJSON *strip_for_put(const cJSON *res)
{
	/* A PUT takes {"properties": ...}; what GET returns has id/name/type/etag too. */
	cJSON *o = cJSON_CreateObject();
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(res, "properties");

	if (o && props)
		cJSON_AddItemToObject(o, "properties", cJSON_Duplicate(props, 1));
	return o;
}

/* Put back what a failed command wrote; returns how many resources could not be. */
static int rollback(struct mgdcfs *fs, const char *path, struct pipeline_plan *plan,
                    struct prior *prior)
{
	struct net_error e = {0};
	size_t i;
	int left = 0;

	for (i = plan->n; i-- > 0;) {
		struct plan_resource *res = &plan->res[i];
		int rc;

		if (!prior[i].written)
			continue;
		if (prior[i].body) {
			cJSON *b = strip_for_put(prior[i].body);

			rc = b ? adf_put(fs->adf, res->kind, res->name, b, NULL, NULL, NULL, &e)
			       : -ENOMEM;
			cJSON_Delete(b);
		} else {
			rc = adf_delete(fs->adf, res->kind, res->name, &e);
		}
		if (rc) {
			remote_fail(path, rc, &e, "rollback (resource left behind)");
			left++;
		}
	}
	return left;
}

/*
 * The commit journal. Rollback undoes a failed pipeline command, but not one
 * whose daemon was killed between two PUTs. So before the first PUT the
 * command writes which resources it is about to create (those that did not
 * exist: they are safe to delete) into a small file, and removes the file
 * once the factory holds the whole command or none of it; a later mount of
 * the same factory finds the file of a dead daemon and deletes what it
 * names. The files live in the user's state dir, not the cache dir, so any
 * mount of the factory (whatever its --cache-dir) recovers them (the cache
 * dir only serves when there is no writable state dir). Resources
 * that existed before are not in it: their earlier bodies would carry the
 * masked secret, so a crash mid-update leaves them updated.
 */
#define JOURNAL_MAX (16u << 10)

/* The factory (or Synapse workspace) a journal belongs to. */
static void journal_factory(const struct mgdcfs *fs, char *out, size_t n)
{
	if (fs->cfg.host == HOST_SYNAPSE) /* a workspace is named by its endpoint */
		snprintf(out, n, "synapse/%s", fs->cfg.pipelines_url ? fs->cfg.pipelines_url : "");
	else
		snprintf(out, n, "%s/%s/%s", fs->cfg.subscription_id ? fs->cfg.subscription_id : "",
		         fs->cfg.resource_group ? fs->cfg.resource_group : "",
		         fs->cfg.factory ? fs->cfg.factory : "");
}

/* <dir>/<hash of the factory>-<pipeline>.json; pipeline names are [A-Za-z0-9_-]. */
static int journal_path(const struct mgdcfs *fs, const char *dir, const char *pipeline, char *out,
                        size_t n)
{
	char fac[600];
	uint32_t h;
	int w;

	journal_factory(fs, fac, sizeof(fac));
	h = text_fnv1a(TEXT_FNV_SEED, fac, 0);
	w = snprintf(out, n, "%s/%08x-%s.json", dir, h, pipeline);
	return w > 0 && (size_t)w < n ? 0 : -ENAMETOOLONG;
}

/*
 * Remove an earlier journal of pipeline `name` (a rollback that could not
 * finish keeps one): the command about to start has just read what exists,
 * so what that journal names is either gone or part of this command's prior
 * state, and replaying it later would delete resources a later commit made.
 */
static void journal_forget(struct mgdcfs *fs, const char *name)
{
	char dirs[STATEDIR_DIRS][STATEDIR_PATH_MAX], file[1200];
	int nd = statedir_candidates(fs->cfg.cache_dir, "journal", dirs);

	for (int i = 0; i < nd; i++)
		if (journal_path(fs, dirs[i], name, file, sizeof(file)) == 0)
			unlink(file);
}

/* Write the journal of a command about to create `plan`'s new resources. */
static int journal_begin(struct mgdcfs *fs, const struct pipeline_plan *plan,
                         const struct prior *prior, char *file, size_t n)
{
	char dir[STATEDIR_PATH_MAX], fac[600], *text = NULL;
	cJSON *j = cJSON_CreateObject(), *list;
	int rc = -ENOMEM;
	size_t i;

	file[0] = '\0';
	journal_forget(fs, plan->name);
	journal_factory(fs, fac, sizeof(fac));
	if (!j || !cJSON_AddNumberToObject(j, "pid", (double)getpid()) ||
	    !cJSON_AddStringToObject(j, "factory", fac) ||
	    !(list = cJSON_AddArrayToObject(j, "created")))
		goto out;
	for (i = 0; i < plan->n; i++) {
		char res[300];

		if (prior[i].body)
			continue;
		snprintf(res, sizeof(res), "%s/%s", adf_kind_collection(plan->res[i].kind),
		         plan->res[i].name);
		if (!cJSON_AddItemToArray(list, cJSON_CreateString(res)))
			goto out;
	}
	if (!cJSON_GetArraySize(list)) {
		rc = 0; /* nothing new: nothing a crash could leave behind */
		goto out;
	}
	if ((rc = statedir_make(fs->cfg.cache_dir, "journal", dir)) ||
	    (rc = journal_path(fs, dir, plan->name, file, n)))
		goto out;
	rc = -ENOMEM;
	if (!(text = cJSON_PrintUnformatted(j)))
		goto out;
	rc = statedir_write(file, text, strlen(text));
out:
	if (rc) {
		log_warn("pipelines/%s: no commit journal (%s): a crash now could leave "
		         "resources behind",
		         plan->name, strerror(-rc));
		file[0] = '\0';
	}
	free(text);
	cJSON_Delete(j);
	return rc;
}

static void journal_end(const char *file)
{
	if (file[0])
		unlink(file);
}

int cmd_journal_begin(struct mgdcfs *fs, const struct pipeline_plan *plan, const int *existed,
                      char *file, size_t n)
{
	struct prior prior[PLAN_MAX] = {{0}};
	cJSON mark = {0}; /* journal_begin asks only whether a prior body exists */

	for (size_t i = 0; i < plan->n && i < PLAN_MAX; i++)
		prior[i].body = existed[i] ? &mark : NULL;
	return journal_begin(fs, plan, prior, file, n);
}

void cmd_journal_end(const char *file)
{
	journal_end(file);
}

/* Is the daemon that wrote a journal still running (on this machine)? */
static int journal_owner_alive(const cJSON *j)
{
	const cJSON *pid = cJSON_GetObjectItemCaseSensitive(j, "pid");

	if (!cJSON_IsNumber(pid) || pid->valuedouble < 2 || pid->valuedouble > 4194304)
		return 0;
	return (pid_t)pid->valuedouble != getpid() &&
	       (kill((pid_t)pid->valuedouble, 0) == 0 || errno == EPERM);
}

static void journal_replay(struct mgdcfs *fs, const char *file, const char *fac)
{
	char buf[JOURNAL_MAX + 1];
	struct net_error e = {0};
	const cJSON *list, *it;
	cJSON *j = NULL;
	ssize_t got;
	int fd, removed = 0, failed = 0;

	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	got = read(fd, buf, JOURNAL_MAX);
	close(fd);
	if (got <= 0 || !(j = cJSON_ParseWithLength(buf, (size_t)got)))
		goto out;
	if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "factory")) ||
	    strcmp(cJSON_GetObjectItemCaseSensitive(j, "factory")->valuestring, fac) != 0 ||
	    journal_owner_alive(j))
		goto keep;
	list = cJSON_GetObjectItemCaseSensitive(j, "created");
	/* Created in plan order (linked services, datasets, pipeline): delete backwards. */
	for (int i = cJSON_GetArraySize(list) - 1; i >= 0; i--) {
		const char *res, *slash;
		int k;

		it = cJSON_GetArrayItem(list, i);
		res = cJSON_IsString(it) ? it->valuestring : "";
		slash = strchr(res, '/');
		if (!slash)
			continue;
		k = adf_kind_from_collection(res, (size_t)(slash - res));
		if (k < 0)
			continue;
		if (k == ADF_TRIGGER) /* ADF deletes no started trigger */
			adf_trigger_stop(fs->adf, slash + 1, &e);
		if (adf_delete(fs->adf, (enum adf_kind)k, slash + 1, &e) == 0)
			removed++;
		else
			failed++;
	}
	log_info("%s: an interrupted pipeline command was undone: %d resource%s removed", file,
	         removed, removed == 1 ? "" : "s");
	if (failed) {
		log_warn("%s: %d resource%s could not be removed (%s); kept for the next mount",
		         file, failed, failed == 1 ? "" : "s", e.msg[0] ? e.msg : e.code);
		goto keep;
	}
out:
	unlink(file);
keep:
	cJSON_Delete(j);
}

void cmd_recover(struct mgdcfs *fs)
{
	char dirs[STATEDIR_DIRS][STATEDIR_PATH_MAX], fac[600], file[1200];
	struct dirent *de;
	int nd;
	DIR *d;

	if (!fs->adf)
		return;
	journal_factory(fs, fac, sizeof(fac));
	nd = statedir_candidates(fs->cfg.cache_dir, "journal", dirs);
	for (int i = 0; i < nd; i++) {
		if (!(d = opendir(dirs[i])))
			continue;
		while ((de = readdir(d))) {
			size_t n = strlen(de->d_name);

			if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
				continue;
			snprintf(file, sizeof(file), "%.899s/%.255s", dirs[i], de->d_name);
			journal_replay(fs, file, fac);
		}
		closedir(d);
	}
	memo_drop_prefix(fs->memo, "pipes");
}

/*
 * How pipelines sign in as app `name` (`app_id`): its secret in the
 * profile's "apps" entry, else the profile's own secret for its own client,
 * else a Key Vault secret (the entry's name, or "mgdcfs-<appId>"). 0, or
 * -EACCES with the reason recorded.
 */
static int cred_of(struct mgdcfs *fs, const char *path, const char *name, const char *app_id,
                   const char **secret, const char **kv_secret)
{
	const struct config_app *a = config_app_find(&fs->cfg, name, app_id);
	char err[768];

	*secret = a ? a->client_secret : NULL;
	*kv_secret = a ? a->keyvault_secret : NULL;
	if (!*secret && strcasecmp(app_id, fs->cfg.client_id) == 0)
		*secret = fs->cfg.client_secret;
	if (*secret || fs->cfg.keyvault)
		return 0;
	snprintf(
	    err, sizeof(err),
	    "%s: app: the pipeline signs in as app %s (%s) in its source and its sink, but this "
	    "profile knows no secret for it; add {\"apps\": {\"%s\": {\"client_secret_file\": "
	    "...}}} to the profile, or name a Key Vault (key_vault) that holds its secret",
	    rel(path), name, app_id, name);
	return refuse(path, -EACCES, err);
}

/*
 * The app a pipeline spec names: its appId and what is known of its approval
 * (the registration; on a portal-only tenant the spec written here, or just
 * the appId). -EINVAL with the reason recorded when there is no such app.
 */
static int app_of_spec(struct mgdcfs *fs, const char *path, const char *buf, size_t len,
                       char **name, char **app_id, cJSON **reg)
{
	cJSON *doc = len <= SPEC_MAX_BYTES ? cJSON_ParseWithLength(buf, len) : NULL;
	const cJSON *app = cJSON_GetObjectItemCaseSensitive(doc, "app");
	cJSON *item = NULL;
	char err[768];
	int rc = 0;

	*name = *app_id = NULL;
	*reg = NULL;
	/* Not a spec with an app (malformed, or a full ADF resource): validation says why. */
	if (!cJSON_IsString(app) || !app->valuestring[0])
		goto out;
	rc = app_id_of(fs, path, app->valuestring, strlen(app->valuestring), app_id, &item);
	if (rc == -ENOENT) {
		snprintf(
		    err, sizeof(err),
		    "%s: app: no app named '%s' under apps/; write apps/%s.json first (ls apps/ "
		    "lists them%s)",
		    rel(path), app->valuestring, app->valuestring,
		    fs->reg
		        ? ""
		        : "; on this tenant: the MGDC billing accounts and the profile's own app");
		rc = refuse(path, -EINVAL, err);
		goto out;
	}
	if (rc)
		goto out;
	if (!(*name = strdup(app->valuestring))) {
		rc = -ENOMEM;
		goto out;
	}
	if (fs->reg) {
		*reg = item;
		item = NULL;
	} else if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(item, "registration"))) {
		*reg = cJSON_DetachItemFromObjectCaseSensitive(item, "registration");
	} else {
		*reg = cJSON_CreateObject();
		if (!*reg || !cJSON_AddStringToObject(*reg, "appId", *app_id))
			rc = -ENOMEM;
	}
out:
	cJSON_Delete(item);
	cJSON_Delete(doc);
	return rc;
}

static int commit_pipeline(struct mgdcfs *fs, const char *path, const struct route *r,
                           const char *buf, size_t len)
{
	struct pipeline_plan plan = {0};
	struct prior prior[PLAN_MAX] = {{0}};
	char journal[1200] = "";
	struct spec_profile p;
	struct net_error e = {0};
	cJSON *reg = NULL;
	const char *secret = NULL, *kv_secret = NULL;
	char err[768], *app_id = NULL, *app_name = NULL;
	size_t i;
	int rc;

	if ((rc = fabhost_refuse(fs, path, "creating a pipeline from pipelines/<name>.json")))
		return rc;
	if (!fs->adf)
		return refuse(path, -ENOTSUP,
		              "this profile names no pipeline host (a data factory: "
		              "subscription_id, resource_group, factory; or \"pipelines\": "
		              "{\"host\": \"synapse\", \"workspace\": ...})");
	spec_profile_of(fs, &p);
	/* The app the spec names decides what may be validated and how runs sign in. */
	rc = app_of_spec(fs, path, buf, len, &app_name, &app_id, &reg);
	if (rc)
		goto out;
	if (app_id && (rc = cred_of(fs, path, app_name, app_id, &secret, &kv_secret)))
		goto out;
	if (kv_secret)
		p.keyvault_secret = kv_secret;
	rc = spec_parse_pipeline(rel(path), buf, len, &p, fs->catalog, reg, secret, &plan, err,
	                         sizeof(err));
	if (rc) {
		refuse(path, rc, err);
		goto out;
	}
	if (!fs->reg && !plan.passthrough && !cJSON_GetObjectItemCaseSensitive(reg, "datasets"))
		errlog_add(
		    path, 0,
		    "columns, scope and destination were checked against the catalog only: "
		    "the app's approval is portal-only (write apps/%s.json to check against what "
		    "you register); the run will say whether it is approved",
		    app_name);
	for (i = 0; i < plan.n; i++) {
		rc = adf_get(fs->adf, plan.res[i].kind, plan.res[i].name, &prior[i].body, NULL, &e);
		if (rc == -ENOENT) {
			prior[i].body = NULL;
		} else if (rc) {
			remote_fail(path, rc, &e, "reading the factory");
			goto undo;
		} else if (plan.res[i].kind == ADF_PIPELINE && plan_estimate_of(prior[i].body)) {
			snprintf(err, sizeof(err),
			         "%s: $: '%s' is the pipeline that samples pipelines/%s for its "
			         "estimate; choose another name",
			         rel(path), plan.res[i].name, plan_estimate_of(prior[i].body));
			rc = refuse(path, -EEXIST, err);
			goto out;
		}
	}
	journal_begin(fs, &plan, prior, journal, sizeof(journal));
	for (i = 0; i < plan.n; i++) {
		rc = adf_put(fs->adf, plan.res[i].kind, plan.res[i].name, plan.res[i].body, NULL,
		             NULL, NULL, &e);
		if (rc) {
			char what[256];

			snprintf(what, sizeof(what), "creating %s '%s'",
			         adf_kind_collection(plan.res[i].kind), plan.res[i].name);
			remote_fail(path, rc, &e, what);
			/* A failed write's outcome is not always known (an answer lost, an
			 * operation reported Failed after the service applied it): a
			 * resource that did not exist is deleted too (a 204 if it never
			 * was made), so nothing of the command stays. */
			prior[i].written = !prior[i].body;
			goto undo;
		}
		prior[i].written = 1;
	}
	journal_end(journal);
	memo_drop_prefix(fs->memo, "pipes");
	rc = start_run(fs, path, plan.name, NULL);
	goto out;
undo:
	/* A rollback that could not finish (the service went away mid-way) keeps the
	 * journal, so the next mount of the factory deletes what this one created. */
	if (rollback(fs, path, &plan, prior) && journal[0])
		errlog_add(
		    path, EIO,
		    "the rollback could not remove everything; the journal is kept and the next "
		    "mount of this factory or workspace removes what this command created");
	else
		journal_end(journal);
	memo_drop_prefix(fs->memo, "pipes");
out:
	for (i = 0; i < PLAN_MAX; i++)
		cJSON_Delete(prior[i].body);
	plan_free(&plan);
	cJSON_Delete(reg);
	free(app_id);
	free(app_name);
	return rc;
}

int cmd_commit(struct mgdcfs *fs, const char *path, const struct route *r, const char *buf,
               size_t len)
{
	if (r->kind == N_APP_SPEC)
		return commit_app(fs, path, r, buf, len);
	if (r->kind == N_PIPE_SPECFILE)
		return commit_pipeline(fs, path, r, buf, len);
	return -EACCES;
}

/* Is `s` one of the strings of `arr`? ADF names compare without regard to case. */
static int name_in(const cJSON *arr, const char *s)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr)
	{
		if (cJSON_IsString(it) && strcasecmp(it->valuestring, s) == 0)
			return 1;
	}
	return 0;
}

static int add_name(cJSON *arr, const char *s)
{
	cJSON *v = cJSON_CreateString(s);

	if (v && cJSON_AddItemToArray(arr, v))
		return 0;
	cJSON_Delete(v);
	return -ENOMEM;
}

/*
 * Delete a pipeline, then the datasets and linked services only it used.
 * What to delete is decided whole, every allocation checked, before the
 * first delete: a half-known set must never take another pipeline's.
 */
static int rmdir_pipeline(struct mgdcfs *fs, const char *path, const struct route *r)
{
	struct net_error e = {0};
	cJSON *pipe = NULL, *mine = cJSON_CreateArray(), *others = cJSON_CreateArray();
	cJSON *pipes = NULL, *dsets = NULL, *del_ds = cJSON_CreateArray(),
	      *lss = cJSON_CreateArray(), *other_ls = cJSON_CreateArray(),
	      *twins = cJSON_CreateArray();
	const cJSON *it;
	char name[128];
	int rc = -ENOMEM;

	snprintf(name, sizeof(name), "%.*s", (int)r->name_len, r->name);
	if (!mine || !others || !del_ds || !lss || !other_ls || !twins)
		goto out;
	rc = adf_get(fs->adf, ADF_PIPELINE, name, &pipe, NULL, &e);
	if (rc == 0)
		rc = adf_list(fs->adf, ADF_PIPELINE, &pipes, &e);
	if (rc == 0)
		rc = adf_list(fs->adf, ADF_DATASET, &dsets, &e);
	if (rc) {
		remote_fail(path, rc, &e, "reading the factory");
		goto out;
	}
	if ((rc = plan_datasets_of(pipe, mine)) < 0)
		goto out;
	cJSON_ArrayForEach(it, pipes)
	{
		const char *of = plan_estimate_of(it);

		/* The pipeline's sampling twin goes with it (and uses its datasets). */
		if (of && strcmp(of, name) == 0 && ctl_str(it, "name")) {
			if ((rc = add_name(twins, ctl_str(it, "name"))) < 0)
				goto out;
			continue;
		}
		if (strcasecmp(ctl_str(it, "name") ?: "", name) &&
		    (rc = plan_datasets_of(it, others)) < 0)
			goto out;
	}
	cJSON_ArrayForEach(it, dsets)
	{
		const char *dn = ctl_str(it, "name");
		const char *lsn = plan_linked_service_of(it);

		if (!dn || !lsn)
			continue;
		if (name_in(mine, dn) && !name_in(others, dn))
			rc = add_name(del_ds, dn) < 0 || add_name(lss, lsn) < 0 ? -ENOMEM : 0;
		else
			rc = add_name(other_ls, lsn);
		if (rc < 0)
			goto out;
	}
	/* Its schedule first: the trigger names the pipeline. */
	if ((rc = schedule_remove(fs, path, name)))
		goto out;
	rc = adf_delete(fs->adf, ADF_PIPELINE, name, &e);
	if (rc) {
		remote_fail(path, rc, &e, "deleting the pipeline");
		goto out;
	}
	cJSON_ArrayForEach(it, twins) adf_delete(fs->adf, ADF_PIPELINE, it->valuestring, &e);
	cJSON_ArrayForEach(it, del_ds) adf_delete(fs->adf, ADF_DATASET, it->valuestring, &e);
	cJSON_ArrayForEach(it, lss)
	{
		if (!name_in(other_ls, it->valuestring))
			adf_delete(fs->adf, ADF_LINKED_SERVICE, it->valuestring, &e);
	}
	log_info("%s: pipeline deleted", rel(path));
out:
	memo_drop_prefix(fs->memo, "pipes");
	drop_runs(fs, r->name, r->name_len);
	cJSON_Delete(pipe);
	cJSON_Delete(pipes);
	cJSON_Delete(dsets);
	cJSON_Delete(mine);
	cJSON_Delete(others);
	cJSON_Delete(del_ds);
	cJSON_Delete(lss);
	cJSON_Delete(other_ls);
	cJSON_Delete(twins);
	return rc;
}

/* rmdir pipelines/<name> on Fabric: the item only (mgdcfs makes nothing else per pipeline). */
static int rmdir_fabric(struct mgdcfs *fs, const char *path, const struct route *r)
{
	struct net_error e = {0};
	char name[128];
	int rc;

	snprintf(name, sizeof(name), "%.*s", (int)r->name_len, r->name);
	rc = fabhost_delete(fs, name, &e);
	memo_drop_prefix(fs->memo, "pipes");
	drop_runs(fs, r->name, r->name_len);
	if (rc)
		return remote_fail(path, rc, &e, "deleting the pipeline");
	log_info("%s: pipeline deleted", rel(path));
	return 0;
}

int cmd_rmdir(struct mgdcfs *fs, const char *path, const struct route *r)
{
	struct net_error e = {0};
	char *app = NULL;
	int rc;

	if (r->kind == N_PIPE)
		return fs->adf      ? rmdir_pipeline(fs, path, r)
		       : fs->fabric ? rmdir_fabric(fs, path, r)
		                    : -ENOENT;
	if (r->kind != N_APP)
		return -EPERM;
	if (!fs->reg)
		return refuse(
		    path, -EPERM,
		    "the registration lives in the Azure portal (" APPS_PORTAL
		    "): delete it there; its billing account stays until deleted with ARM");
	rc = app_id_of(fs, path, r->name, r->name_len, &app, NULL);
	if (rc)
		return rc;
	rc = reg_delete(fs->reg, app, &e);
	memo_drop_prefix(fs->memo, "apps");
	free(app);
	if (rc)
		return remote_fail(path, rc, &e, "deleting the registration");
	log_info("%s: registration deleted", rel(path));
	return 0;
}
