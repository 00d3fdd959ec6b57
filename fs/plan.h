/*
 * plan.h - everything mgdcfs knows about the resources a pipeline spec
 * becomes in the pipeline host (Azure Data Factory, ARM REST 2018-06-01):
 * which resources, their names (ADF's naming rules), how each signs in,
 * where the spec itself is kept in the pipeline resource so that any mount
 * of the factory reads it back, and which app a pipeline runs as.
 *
 * The rules it encodes, with their public sources (man/mgdcfs.1, "Pipeline
 * resources"): linked service, dataset and data flow names start with a
 * letter and hold only letters, digits and '_' (ADF's naming rules page);
 * every sink of a copy from Microsoft 365 signs in with the app's service
 * principal (the Office 365 connector page and MGDC's "Sinks"); annotations
 * are tags, so the spec lives in the pipeline's description, which ADF
 * keeps as written, and the annotations carry only strings.
 *
 * Pure: cJSON in, cJSON out; no network, no global state; every function is
 * safe from any thread.
 */
#ifndef MGDCFS_FS_PLAN_H
#define MGDCFS_FS_PLAN_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "fs/window.h"
#include "net/adf.h"

/* Resources in one plan: two linked services, two datasets, the pipeline. */
#define PLAN_MAX 5

/* A name derived from a pipeline name: "mgdcfs_" + name (+ "_" + 8 hex) + "_o365". */
#define PLAN_NAME_MAX 96

struct plan_resource {
	enum adf_kind kind;
	char *name;  /* ADF resource name */
	cJSON *body; /* the PUT body ({"properties": ...}); may hold the secret */
};

/*
 * What a pipeline spec becomes: the resources to PUT, in an order that never
 * references a missing one (linked services, datasets, pipeline).
 */
struct pipeline_plan {
	struct plan_resource res[PLAN_MAX];
	size_t n;
	char *name;      /* pipeline name (from the file name) */
	cJSON *spec;     /* the spec as accepted (defaults filled, no secret), or NULL for a
	                    passed-through ADF pipeline resource */
	char *container; /* where runs write: <container>/<folder>/<runId>/ */
	char *folder;    /* (both NULL for a passed-through resource) */
	int passthrough; /* 1: the spec was a full ADF pipeline resource */
};

/*
 * How the pipeline signs in as its app, in the Office 365 source and in the
 * sink alike. Exactly one of secret and keyvault is used: a Key Vault
 * reference when keyvault is set, else the secret as a SecureString.
 */
struct plan_cred {
	const char *app_id;          /* the app's client id */
	const char *tenant;          /* its tenant, which also holds the Microsoft 365 data */
	const char *secret;          /* client secret, or NULL */
	const char *keyvault;        /* Key Vault linked service in the factory, or NULL */
	const char *keyvault_secret; /* secret name in it; NULL: "mgdcfs-<appId>" */
};

/* Where the sink writes: a Blob endpoint, or an ADLS Gen2 (DFS) one. */
struct plan_sink {
	const char *endpoint; /* https://<account>.blob.core.windows.net/ (or .dfs.) */
	int adls;             /* 1: AzureBlobFS, 0: AzureBlobStorage */
};

/* The names of the four resources a pipeline's spec adds beside it, of its schedule's
 * trigger and of its sampling twin. */
struct plan_names {
	char o365[PLAN_NAME_MAX], sink[PLAN_NAME_MAX], src[PLAN_NAME_MAX], dst[PLAN_NAME_MAX];
	char window[PLAN_NAME_MAX];
	char estimate[PLAN_NAME_MAX];
};

/*
 * plan_names - the linked service and dataset names of pipeline `pipeline`:
 * "mgdcfs_<p>_o365", "_sink", "_src", "_dst" (and "_window", the trigger of its
 * schedule, and "_estimate", the pipeline that samples it for
 * pipelines/NAME/estimate), where <p> is the pipeline name
 * with every character ADF refuses there replaced by '_' and, when one was,
 * an 8-hex-digit hash of the original appended, so "week-45" and "week_45"
 * never share resources. Returns 0, or -ENAMETOOLONG.
 */
int plan_names(const char *pipeline, struct plan_names *n);

/*
 * plan_resource_name_ok - 1 if `name` is a valid ADF name for `kind`
 * (linked services and datasets: a letter, then letters, digits and '_';
 * pipelines: a letter, then none of . + ? / < > * % & : \ #), at most 260
 * characters.
 * plan_names only makes such names; the tests check that with it.
 */
int plan_resource_name_ok(enum adf_kind kind, const char *name);

/*
 * plan_build - the plan of accepted spec `spec` (as spec_pipeline.c
 * accepts it: app, dataset, columns, dateFilter, scope, output, sample (sent
 * as the source's "AdditionalDataSetProperties": {"top": N}), parameters)
 * for pipeline `pipeline`, signing in with `cred`, writing to `sink`. The
 * plan takes a copy of `spec`. Returns 0, -ENOMEM, or -EINVAL (no app id,
 * tenant or credential: cred names none). On failure the plan is empty.
 */
int plan_build(const char *pipeline, const cJSON *spec, const struct plan_cred *cred,
               const struct plan_sink *sink, struct pipeline_plan *plan);

/*
 * plan_passthrough - a plan of one resource: `resource` (a full ADF
 * pipeline resource, checked by the caller) for pipeline `pipeline`.
 * Returns 0 or -ENOMEM.
 */
int plan_passthrough(const char *pipeline, const cJSON *resource, struct pipeline_plan *plan);

/* plan_free - overwrite every secret in the plan, free it and leave it empty. */
void plan_free(struct pipeline_plan *plan);

/*
 * plan_estimate - the body of the pipeline that samples pipeline resource
 * `pipe` (as GET returns it; named `pipeline`): its activities and
 * parameters, with every Office 365 copy source asking for the first `top`
 * objects ("AdditionalDataSetProperties": {"top": top}, as MGDC's sampling
 * takes it), and the annotations "mgdcfs-estimate" and
 * "estimateOf=<pipeline>" instead of the pipeline's own (so it runs as no
 * app of apps/ and is no pipeline of pipelines/). It writes where the
 * pipeline writes. Returns 0 and *body (the caller frees it), -EINVAL when
 * `pipe` has no Office 365 copy source, or -ENOMEM.
 */
int plan_estimate(const cJSON *pipe, const char *pipeline, long long top, cJSON **body);

/*
 * plan_estimate_of - the pipeline that pipeline resource `pipe` samples
 * (its "estimateOf=" annotation), pointing into `pipe`; NULL for any other
 * pipeline.
 */
const char *plan_estimate_of(const cJSON *pipe);

/*
 * plan_spec_of - the spec a pipeline resource (as GET returns it) was made
 * from: the JSON object in its description when its annotations carry
 * "mgdcfs" (or, for pipelines of earlier mgdcfs versions, an "mgdcfsSpec"
 * annotation object), as a new tree the caller frees; NULL when it has none.
 * Anyone who can write to the factory can write a description, so one over
 * PLAN_SPEC_MAX bytes, or whose output is no container and plain folder
 * (runs/<id>/output links there), is no spec.
 */
#define PLAN_SPEC_MAX (64u << 10)
cJSON *plan_spec_of(const cJSON *pipe);

/*
 * plan_datasets_of - add to array `names` the name of every dataset the
 * activities of pipeline resource `pipe` read or write (inputs, outputs).
 * Returns 0 or -ENOMEM.
 */
int plan_datasets_of(const cJSON *pipe, cJSON *names);

/* plan_linked_service_of - the linked service a dataset resource uses, or NULL. */
const char *plan_linked_service_of(const cJSON *dataset);

/*
 * plan_app_of - the appId a pipeline made by mgdcfs runs as (its
 * "appId=<id>" annotation), pointing into `pipe`; NULL when unknown.
 */
const char *plan_app_of(const cJSON *pipe);

/* ---- schedules (fs/window.h has the host-neutral part) ---- */

struct window_schedule;

/*
 * plan_trigger_build - the ADF TumblingWindowTrigger of schedule `s` for
 * pipeline `pipeline`, made from accepted spec `spec`: frequency and
 * interval from the window, startTime, the lag as its delay (ADF waits that
 * long past a window's end and leaves the window's times alone), retries 0,
 * and the pipeline parameters that the spec's dateFilter start and end name
 * bound to @trigger().outputs.windowStartTime and windowEndTime (both to the
 * start when s->end_is_start). The annotations keep "every=" and "lag=" as
 * written. *body (caller frees) is a PUT body. Returns 0; -EINVAL with the
 * reason in err when the dateFilter has no parameters to bind; -ENOMEM.
 */
int plan_trigger_build(const char *pipeline, const cJSON *spec, const struct window_schedule *s,
                       cJSON **body, char *err, size_t errlen);

/* What a trigger resource says of its schedule; strings point into the resource. */
struct plan_trigger {
	const char *state;    /* runtimeState: Started, Stopped, Disabled (NULL: unknown) */
	const char *pipeline; /* the pipeline it runs */
	const char *every;    /* "every=" annotation, or NULL */
	const char *lag_text; /* "lag=" annotation, or NULL */
	struct window_every window;
	long long start, lag; /* startTime; the delay in seconds */
};

/* plan_trigger_read - fill `t` from a TumblingWindowTrigger as GET returns it; 0 or -EINVAL. */
int plan_trigger_read(const cJSON *trig, struct plan_trigger *t);

#endif
