/*
 * fabhost.c - a Fabric workspace's pipelines and runs in the tree's shapes
 * (fabhost.h). The item id behind a display name is looked up in the
 * "pipes" listing each time (one request), never cached beyond the memo's
 * time to live, so a pipeline renamed in Fabric is seen as renamed.
 */
#include "fs/fabhost.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fs/ctl_i.h"
#include "fs/errlog.h"
#include "net/fabric.h"

/* Fabric writes startTimeUtc without its zone; the tree's times end in Z. */
static int add_utc(cJSON *o, const char *key, const char *t)
{
	char buf[64];
	size_t n;

	if (!t)
		return cJSON_AddNullToObject(o, key) ? 0 : -ENOMEM;
	n = strlen(t);
	snprintf(buf, sizeof(buf), "%s%s", t,
	         n && (t[n - 1] == 'Z' || strchr(t + (n > 6 ? n - 6 : 0), '+')) ? "" : "Z");
	return cJSON_AddStringToObject(o, key, buf) ? 0 : -ENOMEM;
}

cJSON *fabhost_run_of(const cJSON *inst, const char *name)
{
	const cJSON *fail = cJSON_GetObjectItemCaseSensitive(inst, "failureReason");
	const char *st = fabric_run_status(ctl_str(inst, "status"));
	const char *msg = ctl_str(fail, "message"), *how = ctl_str(inst, "invokeType");
	cJSON *o = cJSON_CreateObject(), *by;

	if (!o ||
	    !cJSON_AddStringToObject(o, "runId", ctl_str(inst, "id") ? ctl_str(inst, "id") : "") ||
	    !cJSON_AddStringToObject(o, "pipelineName", name) ||
	    !(st ? cJSON_AddStringToObject(o, "status", st) : cJSON_AddNullToObject(o, "status")) ||
	    add_utc(o, "runStart", ctl_str(inst, "startTimeUtc")) ||
	    add_utc(o, "runEnd", ctl_str(inst, "endTimeUtc")) ||
	    !cJSON_AddStringToObject(o, "message", msg ? msg : "") ||
	    !(by = cJSON_AddObjectToObject(o, "invokedBy")) ||
	    !cJSON_AddStringToObject(by, "name", how ? how : "Manual") ||
	    !cJSON_AddStringToObject(by, "invokedByType", how ? how : "Manual")) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* The one exit of a fetch: `arr` becomes *out on success, else goes; `tmp` goes. */
static int hand_over(cJSON **out, cJSON *arr, cJSON *tmp, int rc)
{
	if (rc == 0)
		*out = arr;
	else
		cJSON_Delete(arr);
	cJSON_Delete(tmp);
	return rc;
}

/* Every DataPipeline item as {"name": displayName, "id", "properties": {}}. */
static int fetch_pipes(struct fabric *f, cJSON **out, struct net_error *e)
{
	cJSON *items = NULL, *arr = NULL, *it;
	int rc = fabric_pipeline_list(f, &items, e);

	/* Not found here is the workspace itself (WorkspaceNotFound): a fault of the
	 * profile to say in .mgdcfs/errors, not an empty pipelines/. */
	if (rc == -ENOENT)
		return -EIO;
	if (rc)
		return rc;
	if (!(arr = cJSON_CreateArray())) {
		rc = -ENOMEM;
		goto out;
	}
	cJSON_ArrayForEach(it, items)
	{
		const char *n = ctl_str(it, "displayName"), *id = ctl_str(it, "id");
		cJSON *p;

		if (!n || !id)
			continue;
		if (!(p = cJSON_CreateObject())) {
			rc = -ENOMEM;
			goto out;
		}
		cJSON_AddItemToArray(arr, p); /* owned by arr from here */
		if (!cJSON_AddStringToObject(p, "name", n) ||
		    !cJSON_AddStringToObject(p, "id", id) ||
		    !cJSON_AddObjectToObject(p, "properties")) {
			rc = -ENOMEM;
			goto out;
		}
	}
out:
	return hand_over(out, arr, items, rc);
}

/* The job instances of item `id` (display name `name`) appended to `arr` as PipelineRuns. */
static int append_runs(struct fabric *f, const char *id, const char *name, cJSON *arr,
                       struct net_error *e)
{
	cJSON *insts = NULL, *it, *run;
	int rc = fabric_job_list(f, id, &insts, e);

	if (rc)
		return rc;
	cJSON_ArrayForEach(it, insts)
	{
		if (!(run = fabhost_run_of(it, name))) {
			rc = -ENOMEM;
			break;
		}
		cJSON_AddItemToArray(arr, run);
	}
	cJSON_Delete(insts);
	return rc;
}

/* runs/<name> (name non-NULL: that pipeline's runs, -ENOENT when absent) or allruns. */
static int fetch_runs(struct fabric *f, const char *name, cJSON **out, struct net_error *e)
{
	cJSON *pipes = NULL, *arr = cJSON_CreateArray(), *it;
	int rc, found = 0;

	if (!arr)
		return -ENOMEM;
	if ((rc = fetch_pipes(f, &pipes, e)))
		goto out;
	cJSON_ArrayForEach(it, pipes)
	{
		const char *n = ctl_str(it, "name");

		if (name && strcasecmp(n, name) != 0)
			continue;
		found = 1;
		if ((rc = append_runs(f, ctl_str(it, "id"), n, arr, e)))
			goto out;
	}
	if (name && !found)
		rc = -ENOENT;
out:
	return hand_over(out, arr, pipes, rc);
}

int fabhost_fetch(struct mgdcfs *fs, const char *key, cJSON **out, struct net_error *e)
{
	if (!fs->fabric)
		return -ENOTSUP;
	if (strcmp(key, "pipes") == 0)
		return fetch_pipes(fs->fabric, out, e);
	if (strcmp(key, "allruns") == 0)
		return fetch_runs(fs->fabric, NULL, out, e);
	if (strncmp(key, "runs/", 5) == 0)
		return fetch_runs(fs->fabric, key + 5, out, e);
	if (strncmp(key, "acts/", 5) == 0)
		return fabric_query_activity_runs(fs->fabric, key + 5, NULL, NULL, out, e);
	snprintf(e->msg, sizeof(e->msg),
	         "not yet supported on a Microsoft Fabric pipelines host (mgdcfs(1), Pipeline "
	         "hosts): %s",
	         strncmp(key, "trig/", 5) == 0 ? "schedules" : key);
	return -ENOTSUP;
}

int fabhost_refuse(struct mgdcfs *fs, const char *path, const char *what)
{
	if (!fs->fabric)
		return 0;
	errlog_add(
	    path, ENOTSUP,
	    "%s is not yet supported on a Microsoft Fabric pipelines host (profile '%s'); "
	    "pipelines/ shows, triggers, cancels and removes there (mgdcfs(1), Pipeline hosts)",
	    what, fs->cfg.profile);
	return -ENOTSUP;
}

int fabhost_start(struct mgdcfs *fs, const char *name, const cJSON *params, char **run_id,
                  struct net_error *e)
{
	char *id = NULL;
	int rc = fabric_pipeline_find(fs->fabric, name, &id, e);

	if (rc == 0)
		rc = fabric_run(fs->fabric, id, params, run_id, e);
	free(id);
	return rc;
}

int fabhost_cancel(struct mgdcfs *fs, const char *name, const char *run, struct net_error *e)
{
	char *id = NULL;
	int rc = fabric_pipeline_find(fs->fabric, name, &id, e);

	if (rc == 0)
		rc = fabric_job_cancel(fs->fabric, id, run, e);
	free(id);
	return rc == -EALREADY ? 0 : rc;
}

int fabhost_delete(struct mgdcfs *fs, const char *name, struct net_error *e)
{
	char *id = NULL;
	int rc = fabric_pipeline_find(fs->fabric, name, &id, e);

	if (rc == 0)
		rc = fabric_pipeline_delete(fs->fabric, id, e);
	free(id);
	return rc;
}
