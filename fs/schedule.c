/*
 * schedule.c - pipelines/<name>/schedule (schedule.h).
 *
 * Design decision: the schedule lives in the host, not in the mount. A
 * write becomes one trigger resource (named after the pipeline, so the
 * same schedule is found from any mount) that the host runs on its own
 * clock, backfilling missed windows as its semantics say; the mount only
 * creates, stops, shows and removes it. ADF refuses to update or delete a
 * started trigger, and to change a tumbling window's size once created,
 * so a new schedule stops the old trigger first and replaces it when the
 * window changes; what a failure leaves half-done is put back.
 */
#include "fs/schedule.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "fs/catalog.h"
#include "fs/ctl_i.h"
#include "fs/errlog.h"
#include "fs/fabhost.h"
#include "fs/memo.h"
#include "fs/plan.h"
#include "fs/window.h"
#include "net/adf.h"

static const char *rel(const char *path)
{
	return path[0] == '/' ? path + 1 : path;
}

static int sched_fail(const char *path, int rc, const struct net_error *e, const char *what)
{
	errlog_add(path, -rc, "%s: %s%s%s", what, e->code, e->code[0] ? ": " : "",
	           e->msg[0] ? e->msg : strerror(-rc));
	return rc;
}

static int trigger_name(const char *pipeline, char *out, size_t n)
{
	struct plan_names names;
	int rc = plan_names(pipeline, &names);

	if (rc == 0)
		snprintf(out, n, "%s", names.window);
	return rc;
}

static void drop(struct mgdcfs *fs, const char *pipeline)
{
	char key[300];

	snprintf(key, sizeof(key), "trig/%s", pipeline);
	memo_drop_prefix(fs->memo, key);
}

int schedule_fetch(struct mgdcfs *fs, const char *pipeline, cJSON **out, struct net_error *e)
{
	char name[PLAN_NAME_MAX];
	int rc;

	*out = NULL;
	if (!fs->adf)
		return -ENOTSUP;
	if ((rc = trigger_name(pipeline, name, sizeof(name))) < 0)
		return rc;
	rc = adf_get(fs->adf, ADF_TRIGGER, name, out, NULL, e);
	if (rc == -ENOENT) {
		*out = cJSON_CreateObject();
		rc = *out ? 0 : -ENOMEM;
	}
	return rc;
}

/* The accepted spec of pipeline `name` (a new tree), or NULL with *rc set (-EINVAL: the
 * pipeline has none). The pipeline list may be `ttl` seconds old. */
static cJSON *spec_of(struct mgdcfs *fs, const char *path, const char *name, size_t len, int ttl,
                      int *rc)
{
	struct memo_ref pipes = {0};
	const cJSON *p;
	cJSON *spec = NULL;

	*rc = ctl_get(fs, path, "pipes", ttl, &pipes);
	if (*rc)
		return NULL;
	p = ctl_find_pipe(pipes.doc, name, len);
	if (!p) {
		*rc = -ENOENT;
	} else if (!(spec = plan_spec_of(p))) {
		*rc = -EINVAL;
	}
	memo_put(fs->memo, &pipes);
	return spec;
}

/* A trigger as GET returned it, as a PUT body: properties without the read-only state. */
static cJSON *put_body(const cJSON *trig)
{
	cJSON *o = cJSON_CreateObject(), *props;

	props = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(trig, "properties"), 1);
	if (!o || !props || !cJSON_AddItemToObject(o, "properties", props)) {
		cJSON_Delete(o);
		cJSON_Delete(props);
		return NULL;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(props, "runtimeState");
	return o;
}

static int started(const cJSON *trig)
{
	const char *st =
	    ctl_str(cJSON_GetObjectItemCaseSensitive(trig, "properties"), "runtimeState");

	return st && strcmp(st, "Started") == 0;
}

static int schedule_off(struct mgdcfs *fs, const char *path, const char *trig, const char *pipe)
{
	struct net_error e = {0};
	cJSON *cur = NULL;
	int rc = adf_get(fs->adf, ADF_TRIGGER, trig, &cur, NULL, &e);

	if (rc == -ENOENT) {
		log_info("%s: no schedule to stop", rel(path));
		rc = 0;
	} else if (rc) {
		sched_fail(path, rc, &e, "reading the schedule's trigger");
	} else if (started(cur) && (rc = adf_trigger_stop(fs->adf, trig, &e))) {
		sched_fail(path, rc, &e, "stopping the schedule");
	} else {
		log_info("%s: schedule of pipeline %s stopped", rel(path), pipe);
	}
	cJSON_Delete(cur);
	drop(fs, pipe);
	return rc;
}

/* Put the trigger back as `prior` had it (NULL: delete it). 0, or the failure recorded. */
static int undo(struct mgdcfs *fs, const char *path, const char *trig, const cJSON *prior)
{
	struct net_error e = {0};
	cJSON *b;
	int rc;

	adf_trigger_stop(fs->adf, trig, &e); /* it may have started; -ENOENT when never made */
	if (!prior) {
		rc = adf_delete(fs->adf, ADF_TRIGGER, trig, &e);
	} else {
		b = put_body(prior);
		/* Its window is the one it had: this command deleted it when it changed. */
		rc = b ? adf_put(fs->adf, ADF_TRIGGER, trig, b, NULL, NULL, NULL, &e) : -ENOMEM;
		cJSON_Delete(b);
		if (rc == 0 && started(prior))
			rc = adf_trigger_start(fs->adf, trig, &e);
	}
	if (rc)
		sched_fail(path, rc, &e, "rollback (the schedule's trigger was left changed)");
	return rc;
}

int schedule_cmd(struct mgdcfs *fs, const char *path, const struct route *r, const char *buf,
                 size_t len)
{
	struct window_schedule s;
	struct pipeline_plan plan = {0};
	struct plan_trigger old;
	struct net_error e = {0};
	const struct catalog_dataset *ds;
	cJSON *spec = NULL, *body = NULL, *prior = NULL;
	char pipe[256], trig[PLAN_NAME_MAX], err[900], why[700], journal[1200] = "", jname[300];
	int rc, existed;

	if ((rc = fabhost_refuse(fs, path, "a schedule")))
		return rc;
	if (!fs->adf)
		return -ENOTSUP;
	snprintf(pipe, sizeof(pipe), "%.*s", (int)r->name_len, r->name);
	if ((rc = trigger_name(pipe, trig, sizeof(trig))) < 0)
		return rc;
	spec = spec_of(fs, path, r->name, r->name_len, 0, &rc);
	if (rc == -ENOENT) {
		errlog_add(path, ENOENT, "no pipeline '%s'; write pipelines/%s.json first", pipe,
		           pipe);
		goto out;
	}
	if (rc == -EINVAL) {
		errlog_add(
		    path, EINVAL,
		    "pipeline '%s' was not made from a spec, so mgdcfs knows no date filter to "
		    "move; schedule pipelines made from pipelines/<name>.json",
		    pipe);
		goto out;
	}
	if (rc)
		goto out;
	ds = catalog_find(fs->catalog, ctl_str(spec, "dataset") ?: "");
	rc = window_schedule_parse(rel(path), buf, len, ds, (long long)time(NULL), &s, err,
	                           sizeof(err));
	if (rc) {
		errlog_add(path, -rc, "%s", err);
		goto out;
	}
	if (s.off) {
		rc = schedule_off(fs, path, trig, pipe);
		goto out;
	}
	rc = plan_trigger_build(pipe, spec, &s, &body, why, sizeof(why));
	if (rc) {
		errlog_add(path, -rc, "%s: %s", rel(path), why);
		goto out;
	}
	/* Everything checked: from here on the factory changes. */
	rc = adf_get(fs->adf, ADF_TRIGGER, trig, &prior, NULL, &e);
	if (rc && rc != -ENOENT) {
		sched_fail(path, rc, &e, "reading the schedule's trigger");
		goto out;
	}
	existed = rc == 0;
	snprintf(jname, sizeof(jname), "%s.schedule", pipe);
	plan.name = jname;
	plan.res[0] = (struct plan_resource){ADF_TRIGGER, trig, body};
	plan.n = 1;
	cmd_journal_begin(fs, &plan, &existed, journal, sizeof(journal));
	if (existed && started(prior)) {
		if ((rc = adf_trigger_stop(fs->adf, trig, &e))) {
			sched_fail(path, rc, &e, "stopping the schedule's trigger");
			goto done;
		}
	}
	/* ADF keeps a tumbling window's frequency and interval for the trigger's life. */
	if (existed && (plan_trigger_read(prior, &old) < 0 || old.window.unit != s.every.unit ||
	                old.window.interval != s.every.interval)) {
		if ((rc = adf_delete(fs->adf, ADF_TRIGGER, trig, &e))) {
			sched_fail(path, rc, &e, "replacing the schedule's trigger");
			goto undo;
		}
	}
	if ((rc = adf_put(fs->adf, ADF_TRIGGER, trig, body, NULL, NULL, NULL, &e))) {
		sched_fail(path, rc, &e, "creating the schedule's trigger");
		goto undo;
	}
	if ((rc = adf_trigger_start(fs->adf, trig, &e))) {
		sched_fail(path, rc, &e, "starting the schedule's trigger");
		goto undo;
	}
	log_info("%s: schedule of pipeline %s: trigger %s started", rel(path), pipe, trig);
	goto done;
undo:
	if (undo(fs, path, trig, existed ? prior : NULL) && journal[0]) {
		errlog_add(path, EIO,
		           "the rollback could not finish; the journal is kept and the next mount "
		           "of this factory or workspace removes the trigger this command created");
		journal[0] = '\0';
	}
done:
	cmd_journal_end(journal);
out:
	drop(fs, pipe);
	cJSON_Delete(spec);
	cJSON_Delete(body);
	cJSON_Delete(prior);
	return rc;
}

int schedule_remove(struct mgdcfs *fs, const char *path, const char *pipeline)
{
	struct net_error e = {0};
	char trig[PLAN_NAME_MAX];
	int rc;

	if ((rc = trigger_name(pipeline, trig, sizeof(trig))) < 0)
		return rc;
	/* ADF refuses to delete a started trigger (TriggerEnabledCannotUpdate). */
	rc = adf_trigger_stop(fs->adf, trig, &e);
	if (rc == 0)
		rc = adf_delete(fs->adf, ADF_TRIGGER, trig, &e);
	if (rc == -ENOENT)
		rc = 0;
	drop(fs, pipeline);
	if (rc)
		return sched_fail(path, rc, &e, "removing the pipeline's schedule");
	return 0;
}

static void add_time(cJSON *o, const char *k, long long t)
{
	char buf[32];

	window_time_text(t, buf, sizeof(buf));
	cJSON_AddStringToObject(o, k, buf);
}

int schedule_render(struct mgdcfs *fs, const char *path, const struct route *r, struct content *c)
{
	struct memo_ref doc = {0};
	struct plan_trigger t;
	cJSON *o = NULL, *nw;
	char key[300], lag[40];
	long long ws, we;
	int rc;

	if ((rc = fabhost_refuse(fs, path, "a schedule")))
		return rc;
	if (!fs->adf)
		return -ENOENT;
	snprintf(key, sizeof(key), "trig/%.*s", (int)r->name_len, r->name);
	rc = ctl_get(fs, path, key, fs->cfg.ttl_status_s, &doc);
	if (rc)
		return rc;
	if (!cJSON_GetObjectItemCaseSensitive(doc.doc, "name")) {
		rc = ctl_set_text(c, "off\n", fs->started, 0644);
		goto out;
	}
	rc = -ENOMEM;
	if (!(o = cJSON_CreateObject()))
		goto out;
	cJSON_AddStringToObject(o, "trigger", ctl_str(doc.doc, "name"));
	if (plan_trigger_read(doc.doc, &t) == 0) {
		struct window_dur ld = {0, t.lag};

		window_dur_text(&ld, lag, sizeof(lag));
		cJSON_AddStringToObject(o, "state", t.state ? t.state : "Unknown");
		if (t.every)
			cJSON_AddStringToObject(o, "every", t.every);
		cJSON_AddStringToObject(o, "lag", t.lag_text ? t.lag_text : lag);
		add_time(o, "start", t.start);
		cJSON_AddStringToObject(o, "frequency", window_unit_name(t.window.unit));
		cJSON_AddNumberToObject(o, "interval", t.window.interval);
		if (t.state && strcmp(t.state, "Started") == 0 &&
		    (nw = cJSON_AddObjectToObject(o, "nextWindow"))) {
			/* From this machine's clock: the host runs the window on its own. */
			window_next(t.start, &t.window, t.lag, (long long)time(NULL), &ws, &we);
			add_time(nw, "start", ws);
			add_time(nw, "end", we);
			add_time(nw, "runsAfter", we + t.lag);
		}
	}
	cJSON_AddItemToObject(o, "resource", cJSON_Duplicate(doc.doc, 1));
	rc = ctl_json_text(o, c, fs->started);
	c->mode = S_IFREG | 0644;
out:
	cJSON_Delete(o);
	memo_put(fs->memo, &doc);
	return rc;
}

void schedule_run_window(struct mgdcfs *fs, const char *path, const struct route *r, cJSON *run)
{
	const cJSON *by = cJSON_GetObjectItemCaseSensitive(run, "invokedBy");
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(run, "parameters");
	const cJSON *df;
	const char *ps, *pe, *type = ctl_str(by, "invokedByType");
	cJSON *spec, *w;
	int rc;

	if (!type || strcmp(type, "TumblingWindowTrigger") != 0)
		return;
	spec = spec_of(fs, path, r->name, r->name_len, fs->cfg.ttl_metadata_s, &rc);
	df = cJSON_GetObjectItemCaseSensitive(spec, "dateFilter");
	ps = ctl_str(df, "start");
	pe = ctl_str(df, "end");
	if (ps && pe && strncmp(ps, "@pipeline().parameters.", 23) == 0 &&
	    strncmp(pe, "@pipeline().parameters.", 23) == 0 &&
	    (w = cJSON_AddObjectToObject(run, "window"))) {
		const char *vs = ctl_str(params, ps + 23), *ve = ctl_str(params, pe + 23);

		if (vs)
			cJSON_AddStringToObject(w, "start", vs);
		if (ve)
			cJSON_AddStringToObject(w, "end", ve);
		if (ctl_str(by, "name"))
			cJSON_AddStringToObject(w, "trigger", ctl_str(by, "name"));
	}
	cJSON_Delete(spec);
}
