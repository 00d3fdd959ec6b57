/*
 * schedule.h - pipelines/<name>/schedule: a pipeline's tumbling-window
 * schedule, as a trigger in its host (ADF: a TumblingWindowTrigger, built
 * by fs/plan.c; the window arithmetic is fs/window.c's).
 *
 * Every function runs on FUSE worker threads, several at once; each blocks
 * for the requests it makes. Errors are 0 or -errno, with the reason in
 * .mgdcfs/errors (errlog) written by the callee.
 */
#ifndef MGDCFS_FS_SCHEDULE_H
#define MGDCFS_FS_SCHEDULE_H

#include <cjson/cJSON.h>

#include "fs/fs_i.h"
#include "net/http.h"

/*
 * schedule_cmd - act on a write of `len` bytes to the schedule of pipeline
 * r->name: a schedule JSON creates or replaces its trigger and starts it;
 * "off" stops it. Validated whole before the first request (-EINVAL);
 * a failure after it puts the trigger back as it was (journal and
 * rollback as cmd.c does for pipelines).
 */
int schedule_cmd(struct mgdcfs *fs, const char *path, const struct route *r, const char *buf,
                 size_t len);

/*
 * schedule_render - what reading the schedule shows: "off" when the pipeline
 * has none, else JSON with the trigger's name, runtime state, window, lag,
 * start and next window, and the trigger resource itself.
 */
int schedule_render(struct mgdcfs *fs, const char *path, const struct route *r, struct content *c);

/*
 * schedule_fetch - the memo's fetch of key "trig/<pipeline>": the trigger
 * resource, or an empty object when the pipeline has no schedule.
 */
int schedule_fetch(struct mgdcfs *fs, const char *pipeline, cJSON **out, struct net_error *e);

/*
 * schedule_remove - stop and delete pipeline `pipeline`'s trigger before
 * the pipeline goes (rmdir); 0 when it has none.
 */
int schedule_remove(struct mgdcfs *fs, const char *path, const char *pipeline);

/*
 * schedule_run_window - when run `run` (a PipelineRun, modified in place)
 * was started by a schedule, add "window": {"start", "end", "trigger"} from
 * its invokedBy and the parameters the pipeline's date filter names.
 */
void schedule_run_window(struct mgdcfs *fs, const char *path, const struct route *r, cJSON *run);

#endif
