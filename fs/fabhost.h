/*
 * fabhost.h - the control plane of a Microsoft Fabric pipelines host
 * (profile "pipelines": {"host": "fabric"}) in the shapes the tree renders
 * for Data Factory, so ctl.c's rendering of pipelines/ and runs/ serves
 * every host; runs are started and cancelled and pipelines removed
 * through it. A DataPipeline item is a pipeline {"name", "id",
 * "properties": {}}, a pipeline job instance a PipelineRun {"runId",
 * "pipelineName", "status", "runStart", "runEnd", "message", "invokedBy"}.
 * What Fabric does not have (linked services, datasets, triggers) is never
 * pretended.
 *
 * Runs on FUSE worker threads, several at once; each call blocks for the
 * requests it makes. Errors are 0 or -errno with Fabric's reason in `e`.
 */
#ifndef MGDCFS_FS_FABHOST_H
#define MGDCFS_FS_FABHOST_H

#include <cjson/cJSON.h>

#include "fs/fs_i.h"
#include "net/http.h"

/*
 * fabhost_fetch - the memo document of `key` for a Fabric mount: "pipes"
 * (every DataPipeline item), "runs/<pipeline>" (its job instances),
 * "allruns" (those of every pipeline) and "acts/<runId>" (the run's
 * activity runs). *out is a new cJSON array (caller frees). -ENOTSUP
 * (with `e` saying so) for any other key: what Fabric mounts do not
 * support yet. -ENOENT when runs/<pipeline> names no pipeline.
 */
int fabhost_fetch(struct mgdcfs *fs, const char *key, cJSON **out, struct net_error *e);

/*
 * fabhost_start - start a run of the pipeline whose display name is `name`
 * (Fabric's on-demand job instance) with `params` (NULL: none); *run_id
 * (malloc'd) is the job instance id. -ENOENT when there is no such
 * pipeline; the request's errors otherwise, with `e`.
 */
int fabhost_start(struct mgdcfs *fs, const char *name, const cJSON *params, char **run_id,
                  struct net_error *e);

/*
 * fabhost_cancel - ask Fabric to cancel job instance `run` of pipeline
 * `name`; a run that had already ended is 0 (cancel is idempotent, as on
 * Data Factory).
 */
int fabhost_cancel(struct mgdcfs *fs, const char *name, const char *run, struct net_error *e);

/*
 * fabhost_delete - delete the pipeline item whose display name is `name`
 * (its schedules and job history go with it, as Fabric deletes an item).
 * -ENOENT when there is none.
 */
int fabhost_delete(struct mgdcfs *fs, const char *name, struct net_error *e);

/*
 * fabhost_refuse - on a Fabric mount, say in .mgdcfs/errors (for `path`)
 * that `what` is not yet supported there and return -ENOTSUP; 0 on any
 * other mount.
 */
int fabhost_refuse(struct mgdcfs *fs, const char *path, const char *what);

/*
 * fabhost_run_of - a Fabric ItemJobInstance `inst` of pipeline `name` as
 * the PipelineRun the tree renders (new object; NULL on ENOMEM): status by
 * fabric_run_status(), times with the UTC 'Z' Fabric leaves out, message
 * from failureReason, invokedBy from invokeType. Pure.
 */
cJSON *fabhost_run_of(const cJSON *inst, const char *name);

#endif
