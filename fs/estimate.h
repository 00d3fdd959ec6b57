/*
 * estimate.h - the cost files of the tree: runs/<runId>/cost.json (what a
 * run is billed, and for a sampled run the estimate of the full one) and
 * pipelines/<name>/estimate.json (the estimate from the pipeline's sampled
 * twin, started by a write to pipelines/<name>/estimate). Private to fs/:
 * ctl.c renders through these, cmd.c starts the twin.
 *
 * Every function may block on the network (through the memo), returns 0 or
 * -errno, records remote failures in errlog, and is safe from any FUSE
 * worker.
 */
#ifndef MGDCFS_FS_ESTIMATE_H
#define MGDCFS_FS_ESTIMATE_H

#include <cjson/cJSON.h>

#include "fs/fs_i.h"
#include "net/http.h"

/*
 * estimate_fetch_meta - the memo fetch of key "jobmeta/<container>/<prefix>":
 * every JobMetadata document directly under <prefix> in <container> (at
 * most COST_META_MAX_FILES of COST_META_MAX_BYTES each), as a JSON array in
 * *out; an empty array when there is none. -ENOTSUP without a storage
 * client, -EFBIG over the caps, -EIO for a document that is not JSON, or
 * the Blob error (e says why).
 */
int estimate_fetch_meta(struct mgdcfs *fs, const char *what, cJSON **out, struct net_error *e);

/*
 * estimate_render_cost - runs/<runId>/cost.json of run `run` (a PipelineRun
 * of the list, borrowed) of pipeline r->name: its JobMetadata is looked for
 * in the folder the spec names, and priced as the table it names (else the
 * spec's dataset). -ENOENT for a pipeline not made from a spec.
 */
int estimate_render_cost(struct mgdcfs *fs, const char *path, const struct route *r,
                         const cJSON *run, struct content *c);

/*
 * estimate_render - pipelines/<name>/estimate.json: the pipeline's sampled
 * twin's latest run and what it says the full run costs. -ENOENT when the
 * pipeline has never been estimated.
 */
int estimate_render(struct mgdcfs *fs, const char *path, const struct route *r, struct content *c);

/*
 * estimate_twin - a copy of the twin pipeline resource that samples
 * pipeline `name` (fs/plan.c's plan_estimate), from the factory's list at
 * most `ttl` seconds old: 0 and *out (the caller frees it), -ENOENT when
 * there is none, or the error of the list.
 */
int estimate_twin(struct mgdcfs *fs, const char *path, const char *name, int ttl, cJSON **out);

#endif
