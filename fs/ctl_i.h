/*
 * ctl_i.h - helpers of ctl.c that cmd.c shares: the memo-backed documents
 * of the control plane and lookups in them. Private to fs/.
 *
 * Threads: any FUSE worker, several at once. ctl_get blocks for the fetch
 * (one per key at a time, the others wait for it: fs/memo.h) and hands out
 * a reference; the lookups below return pointers into a document and are
 * valid only while the caller holds that document's reference. The text
 * helpers fill a `struct content` the caller owns.
 */
#ifndef MGDCFS_FS_CTL_I_H
#define MGDCFS_FS_CTL_I_H

#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "fs/fs_i.h"
#include "fs/memo.h"

/*
 * ctl_get - the memo document `key`, fetched if older than ttl seconds:
 *   "org"            Graph /organization, or {"unavailable": why} on a 403
 *   "dc"             the Data Connect settings (registration contract)
 *   "apps"           the app registrations (contract, or apps_list)
 *   "role/<appId>"   that app's Storage Blob Data Contributor assignments
 *   "pipes"          the factory's pipelines
 *   "allruns"        every run of the factory in the query window (consent)
 *   "runs/<pipeline>", "acts/<runId>"  a pipeline's runs, a run's activities. Failures other than
 * -ENOENT are recorded in errlog against `path`. Drop the reference with memo_put(fs->memo, ref).
 */
int ctl_get(struct mgdcfs *fs, const char *path, const char *key, int ttl, struct memo_ref *ref);

const cJSON *ctl_find_app(const cJSON *apps, const char *name, size_t len);
/* ctl_find_pipe - the pipeline named name/len in the list, or NULL; a pipeline's sampling
 * twin (fs/plan.c plan_estimate) is none: it is shown only through estimate.json. */
const cJSON *ctl_find_pipe(const cJSON *pipes, const char *name, size_t len);
const char *ctl_str(const cJSON *o, const char *key);

/* ctl_latest_run - the newest run of a runs list by runStart, or NULL when it is empty. */
const cJSON *ctl_latest_run(const cJSON *runs);

/* ctl_parse_time - an ISO 8601 UTC time of a service document as time_t; 0 for NULL or junk. */
time_t ctl_parse_time(const char *iso);

/*
 * ctl_json_text - `doc` pretty-printed with a final newline into c (mode
 * 0444, mtime `mtime`); ctl_set_text - the string `s` (NULL: empty) with
 * `perm`. Both return 0 or -ENOMEM.
 */
int ctl_json_text(const cJSON *doc, struct content *c, time_t mtime);
int ctl_set_text(struct content *c, const char *s, time_t mtime, mode_t perm);

/* ctl_app_spec_of - a registration as the spec a user would write back (a new tree). */
cJSON *ctl_app_spec_of(const cJSON *reg);

#endif
