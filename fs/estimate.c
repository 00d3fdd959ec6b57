/*
 * estimate.c - runs/<runId>/cost.json and pipelines/<name>/estimate.json
 * (estimate.h): what a run is billed and what the full run will cost, from
 * the JobMetadata MGDC writes beside each run's data and the catalog's
 * prices (fs/cost.c does the arithmetic).
 *
 * Design decision: the JobMetadata is read straight from the run's folder in
 * storage (one listing and a GET per document, capped) and kept in the memo
 * like any other document, for the metadata TTL: it never changes once the
 * run has succeeded, and nothing is read before that. An estimate is a run
 * of the pipeline's twin, mgdcfs_<p>_estimate, which samples it (top 1) and
 * writes beside it; the twin is no pipeline of pipelines/ (ctl.c hides it)
 * and is found here by its name and its "estimateOf" annotation.
 */
#include "fs/estimate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/catalog.h"
#include "fs/cost.h"
#include "fs/ctl_i.h"
#include "fs/errlog.h"
#include "fs/memo.h"
#include "fs/plan.h"
#include "net/blob.h"

int estimate_fetch_meta(struct mgdcfs *fs, const char *what, cJSON **out, struct net_error *e)
{
	const char *slash = strchr(what, '/');
	struct blob_listing l = {0};
	char container[64], *buf = NULL;
	cJSON *arr = NULL;
	int rc;

	*out = NULL;
	if (!fs->blob)
		return -ENOTSUP;
	if (!slash || (size_t)(slash - what) >= sizeof(container))
		return -EINVAL;
	snprintf(container, sizeof(container), "%.*s", (int)(slash - what), what);
	rc = blob_list_collect(fs->blob, container, slash + 1, "/", &l, e);
	if (rc == -ENOENT) /* no container yet: no JobMetadata either */
		rc = 0;
	if (rc)
		goto out;
	rc = -ENOMEM;
	if (!(arr = cJSON_CreateArray()) || !(buf = malloc(COST_META_MAX_BYTES)))
		goto out;
	for (size_t i = 0; i < l.n; i++) {
		const struct blob_entry *b = &l.v[i];
		cJSON *doc;
		ssize_t got;

		if (b->is_prefix || b->name_unsafe)
			continue;
		rc = -EFBIG;
		if (cJSON_GetArraySize(arr) >= COST_META_MAX_FILES || b->size > COST_META_MAX_BYTES)
			goto out;
		got = b->size ? blob_get_range(fs->blob, container, b->name, 0, (size_t)b->size,
		                               buf, b->etag[0] ? b->etag : NULL, NULL, e)
		              : 0;
		if (got < 0) {
			rc = (int)got;
			goto out;
		}
		doc = cJSON_ParseWithLength(buf, (size_t)got);
		if (!cJSON_IsObject(doc)) {
			cJSON_Delete(doc);
			if (e)
				snprintf(e->msg, sizeof(e->msg),
				         "JobMetadata %s/%s is not a JSON object", container,
				         b->name);
			rc = -EIO;
			goto out;
		}
		if (!cJSON_AddItemToArray(arr, doc)) {
			cJSON_Delete(doc);
			rc = -ENOMEM;
			goto out;
		}
	}
	*out = arr;
	arr = NULL;
	rc = 0;
out:
	free(buf);
	cJSON_Delete(arr);
	blob_listing_release(&l);
	return rc;
}

/* The sample a run asked for: its Copy activity's source, else the spec's. */
static long long sample_of(struct mgdcfs *fs, const char *path, const char *run_id,
                           const cJSON *spec)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(spec, "sample"), *it;
	struct memo_ref acts = {0};
	long long top = cJSON_IsNumber(s) ? (long long)s->valuedouble : 0;
	char key[200];

	snprintf(key, sizeof(key), "acts/%s", run_id);
	if (ctl_get(fs, path, key, fs->cfg.ttl_status_s, &acts) == 0) {
		cJSON_ArrayForEach(it, acts.doc)
		{
			const cJSON *in = cJSON_GetObjectItemCaseSensitive(it, "input");
			const cJSON *src = cJSON_GetObjectItemCaseSensitive(in, "source");
			const cJSON *t = cJSON_GetObjectItemCaseSensitive(
			    cJSON_GetObjectItemCaseSensitive(src, "AdditionalDataSetProperties"),
			    "top");

			if (cJSON_IsObject(src)) {
				top = cJSON_IsNumber(t) && t->valuedouble >= 1
				          ? (long long)t->valuedouble
				          : 0;
				break;
			}
		}
	}
	memo_put(fs->memo, &acts);
	return top;
}

/*
 * Add to `o` the cost of run `run` (a PipelineRun) of a pipeline made from
 * `spec`, whose data lands in <container>/<folder>/<runId>/.
 */
static int add_cost(struct mgdcfs *fs, const char *path, const cJSON *spec, const cJSON *run,
                    long long sample, cJSON *o)
{
	static const struct catalog_dataset unknown = {
	    .price_source = "", .price_usd_source = "", .price_as_of = "", .price_official = ""};
	const cJSON *out = cJSON_GetObjectItemCaseSensitive(spec, "output");
	const char *dataset = ctl_str(spec, "dataset"), *status = ctl_str(run, "status");
	const struct catalog_dataset *ds = dataset ? catalog_find(fs->catalog, dataset) : NULL;
	struct cost_run cr = {.run_id = ctl_str(run, "runId"),
	                      .status = status,
	                      .dataset = dataset,
	                      .sample = sample};
	struct memo_ref meta = {0};
	struct cost_meta m;
	char dir[1400], key[1500];
	int rc;

	snprintf(dir, sizeof(dir), "%s/%s/%s/metadata/JobMetadata/", ctl_str(out, "container"),
	         ctl_str(out, "folder"), cr.run_id ? cr.run_id : "");
	cr.meta_dir = dir;
	if (status && strcmp(status, "Failed") == 0)
		cr.message = ctl_str(run, "message");
	if (!fs->blob)
		cr.why = "the profile names no storage account, so the run's JobMetadata cannot "
		         "be read";
	else if (status && strcmp(status, "Succeeded") == 0 && cr.run_id) {
		snprintf(key, sizeof(key), "jobmeta/%s", dir);
		rc = ctl_get(fs, path, key, fs->cfg.ttl_metadata_s, &meta);
		if (rc)
			return rc;
		if (cost_meta_of(meta.doc, &m) < 0) {
			errlog_add(
			    path, EIO,
			    "the JobMetadata in %s gives no whole NumberOfRowsExtracted (or a "
			    "TotalRowCount below it)",
			    dir);
			memo_put(fs->memo, &meta);
			return -EIO;
		}
		cr.meta = &m;
		/* The run bills the table it extracted: a run made before the spec
		 * named another dataset keeps that dataset's price class. */
		if (m.table && catalog_find(fs->catalog, m.table)) {
			ds = catalog_find(fs->catalog, m.table);
			cr.dataset = m.table;
		}
	}
	rc = cost_add_run(o, ds ? ds : &unknown, &cr);
	memo_put(fs->memo, &meta);
	return rc;
}

static time_t run_time(const cJSON *run)
{
	time_t t = ctl_parse_time(ctl_str(run, "lastUpdated"));

	return t ? t : ctl_parse_time(ctl_str(run, "runStart"));
}

/* The spec of pipeline r->name (a new tree), or NULL with -ENOENT/-errno in *rc. */
static cJSON *spec_of(struct mgdcfs *fs, const char *path, const struct route *r, int *rc)
{
	struct memo_ref pipes = {0};
	const cJSON *p;
	cJSON *spec = NULL;

	*rc = ctl_get(fs, path, "pipes", fs->cfg.ttl_metadata_s, &pipes);
	if (*rc)
		return NULL;
	p = ctl_find_pipe(pipes.doc, r->name, r->name_len);
	spec = p ? plan_spec_of(p) : NULL;
	*rc = spec ? 0 : -ENOENT;
	memo_put(fs->memo, &pipes);
	return spec;
}

int estimate_render_cost(struct mgdcfs *fs, const char *path, const struct route *r,
                         const cJSON *run, struct content *c)
{
	cJSON *spec, *o = NULL;
	int rc;

	spec = spec_of(fs, path, r, &rc);
	if (!spec)
		return rc;
	rc = -ENOMEM;
	if ((o = cJSON_CreateObject()) &&
	    (rc = add_cost(fs, path, spec, run, sample_of(fs, path, ctl_str(run, "runId"), spec),
	                   o)) == 0)
		rc = ctl_json_text(o, c, run_time(run));
	cJSON_Delete(o);
	cJSON_Delete(spec);
	return rc;
}

int estimate_twin(struct mgdcfs *fs, const char *path, const char *name, int ttl, cJSON **out)
{
	struct memo_ref pipes = {0};
	struct plan_names n;
	const cJSON *it, *twin = NULL;
	int rc;

	*out = NULL;
	if (plan_names(name, &n) < 0)
		return -ENOENT;
	rc = ctl_get(fs, path, "pipes", ttl, &pipes);
	if (rc)
		return rc;
	cJSON_ArrayForEach(it, pipes.doc)
	{
		const char *of = plan_estimate_of(it);

		if (ctl_str(it, "name") && strcmp(ctl_str(it, "name"), n.estimate) == 0 && of &&
		    strcmp(of, name) == 0)
			twin = it;
	}
	rc = !twin ? -ENOENT : (*out = cJSON_Duplicate(twin, 1)) ? 0 : -ENOMEM;
	memo_put(fs->memo, &pipes);
	return rc;
}

int estimate_render(struct mgdcfs *fs, const char *path, const struct route *r, struct content *c)
{
	struct memo_ref runs = {0};
	cJSON *spec, *twin = NULL, *o = NULL;
	const cJSON *run;
	const char *tname;
	char name[128], key[160];
	int rc;

	snprintf(name, sizeof(name), "%.*s", (int)r->name_len, r->name);
	spec = spec_of(fs, path, r, &rc);
	if (!spec)
		return rc;
	if ((rc = estimate_twin(fs, path, name, fs->cfg.ttl_metadata_s, &twin)))
		goto out;
	tname = ctl_str(twin, "name");
	snprintf(key, sizeof(key), "runs/%s", tname);
	if ((rc = ctl_get(fs, path, key, fs->cfg.ttl_status_s, &runs)))
		goto out;
	run = ctl_latest_run(runs.doc);
	rc = -ENOMEM;
	if (!(o = cJSON_CreateObject()) || !cJSON_AddStringToObject(o, "pipeline", name) ||
	    !cJSON_AddStringToObject(o, "samplePipeline", tname))
		goto out;
	if (!run) {
		/* The twin exists but its run could not start (createRun failed). */
		rc = cJSON_AddNullToObject(o, "runId") &&
		             cJSON_AddStringToObject(o, "note",
		                                     "no sampled run: write anything to estimate "
		                                     "to start one")
		         ? ctl_json_text(o, c, fs->started)
		         : -ENOMEM;
		goto out;
	}
	rc =
	    add_cost(fs, path, spec, run, sample_of(fs, path, ctl_str(run, "runId"), NULL) ?: 1, o);
	if (rc == 0)
		rc = ctl_json_text(o, c, run_time(run));
out:
	memo_put(fs->memo, &runs);
	cJSON_Delete(o);
	cJSON_Delete(twin);
	cJSON_Delete(spec);
	return rc;
}
