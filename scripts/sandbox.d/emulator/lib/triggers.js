'use strict';
// Triggers, for ADF (api-version 2018-06-01, factories/{f}/triggers/{t})
// and, through serve(), for lib/synapse.js's workspace (2020-12-01,
// /triggers/{t}): PUT / GET / DELETE / list, POST .../start and .../stop
// (long-running operations, as the public OpenAPI documents mark them), and
// the one engine that runs the TumblingWindowTriggers of every factory and
// workspace on the emulator clock (POST /_faults/clock moves it, so tests
// advance a week in seconds). The rules below are the same on both hosts
// (Synapse's trigger JSON is ADF's, mgdc-hosts(7)); how a write is answered
// differs, and each host says so where it calls serve().
//
// Strictness (each rule cites its source in mgdc-sandbox(7), TRIGGERS):
// the TumblingWindowTrigger definition of the public OpenAPI
// (entityTypes/Trigger.json: pipeline and typeProperties required;
// frequency Minute, Hour or Month; interval, startTime and maxConcurrency
// required, maxConcurrency 1 to 50; delay a timespan "[d.]hh:mm:ss";
// retryPolicy.intervalInSeconds 30 to 86400; "the minimum interval allowed
// is 15 Minutes"); the "Create a tumbling window trigger" page (frequency
// and interval cannot be changed once the trigger is created; windows from
// startTime are all run, oldest first, at most maxConcurrency at once; the
// delay does not alter a window's times; retries use the same parameters);
// a started trigger can be neither updated nor deleted (400
// TriggerEnabledCannotUpdate, "Cannot update enabled Trigger; the trigger
// needs to be disabled first.", as reported in
// Azure-Player/azure.datafactory.tools#350, and on Synapse in
// Azure/Synapse-workspace-deployment#46); a reference to a pipeline
// that does not exist is refused as ADF refuses any invalid reference.
//
// Key decision: the engine is a timer that, at each tick, fires every due
// window of every started trigger up to maxConcurrency; window state (the
// next window, the runs in flight, retries) is kept beside the trigger and
// survives stop/start, as ADF's trigger "retains state". Only tumbling
// windows are emulated: other trigger types are refused with a message
// that says so (a sandbox limit, not ADF's).

const crypto = require('node:crypto');
const { route, armError, send } = require('./http');
const state = require('./state');
const { resolve } = require('./expr');

// Loaded from adf.js before its catch-all route, so adf.js is still loading:
// its exports are read when a request comes, not now.
const adf = () => require('./adf');

const FBASE = '^/arm/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\\.DataFactory/factories/([^/]+)';
const TYPE = 'Microsoft.DataFactory/factories/triggers';
const FREQ = { minute: 'Minute', hour: 'Hour', month: 'Month' };
const MIN_WINDOW_MIN = 15;
const DELAY_RE = /^((\d+)\.)?(\d\d):(60|([0-5][0-9])):(60|([0-5][0-9]))$/;
const TICK_MS = 200;
const MAX_FIRES_PER_TICK = 200;
const TERMINAL = ['Succeeded', 'Failed', 'Cancelled'];

const bad = (message, code = 'BadRequest') => armError(400, code, message);
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const enabledError = () => bad('Cannot update enabled Trigger; the trigger needs to be disabled first.', 'TriggerEnabledCannotUpdate');

function triggersOf(f) {
  if (!f.triggers) f.triggers = {};
  if (!f.triggerState) f.triggerState = {};
  return f.triggers;
}

const isTime = (v) => typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(v) && !Number.isNaN(Date.parse(v));
const isInt = (v) => Number.isInteger(v);

/*
 * checkTumbling - the rules of a TumblingWindowTrigger body (see the
 * header); `old` is the stored trigger of that name, if any. Returns the
 * canonical frequency. Throws HttpError 400.
 */
function checkTumbling(f, props, old) {
  const pl = props.pipeline;
  if (!isObj(pl)) throw bad("The property 'properties.pipeline' is required.");
  const ref = pl.pipelineReference;
  if (!isObj(ref) || typeof ref.referenceName !== 'string' || !ref.referenceName) {
    throw bad("The property 'properties.pipeline.pipelineReference.referenceName' is required.");
  }
  if (ref.type !== undefined && ref.type !== 'PipelineReference') {
    throw bad(`The property 'properties.pipeline.pipelineReference.type' must be 'PipelineReference', not '${ref.type}'.`);
  }
  if (!f.pipelines[ref.referenceName.toLowerCase()]) {
    throw bad(`The document creation or update failed because of invalid reference '${ref.referenceName}'.`);
  }
  if (pl.parameters !== undefined && !isObj(pl.parameters)) throw bad("The property 'properties.pipeline.parameters' must be an object.");
  const tp = props.typeProperties;
  if (!isObj(tp)) throw bad("The property 'properties.typeProperties' is required.");
  const freq = typeof tp.frequency === 'string' ? FREQ[tp.frequency.toLowerCase()] : undefined;
  if (!freq) {
    throw bad(`The value '${String(tp.frequency).slice(0, 40)}' of property 'typeProperties.frequency' is not valid. Valid values: Minute, Hour, Month.`);
  }
  if (!isInt(tp.interval) || tp.interval < 1) throw bad("The property 'typeProperties.interval' is required and must be a positive integer.");
  if (freq === 'Minute' && tp.interval < MIN_WINDOW_MIN) {
    throw bad(`The interval of the time windows is ${tp.interval} minutes. The minimum interval allowed is 15 Minutes.`);
  }
  if (!isTime(tp.startTime)) throw bad("The property 'typeProperties.startTime' is required and must be a UTC date-time.");
  if (tp.endTime !== undefined && (!isTime(tp.endTime) || Date.parse(tp.endTime) <= Date.parse(tp.startTime))) {
    throw bad("The property 'typeProperties.endTime' must be a UTC date-time after 'startTime'.");
  }
  if (tp.delay !== undefined && (typeof tp.delay !== 'string' || !DELAY_RE.test(tp.delay))) {
    throw bad(`The value '${String(tp.delay).slice(0, 40)}' of property 'typeProperties.delay' is not a timespan ((d.)hh:mm:ss).`);
  }
  if (!isInt(tp.maxConcurrency) || tp.maxConcurrency < 1 || tp.maxConcurrency > 50) {
    throw bad("The property 'typeProperties.maxConcurrency' is required and must be an integer between 1 and 50.");
  }
  const rp = tp.retryPolicy;
  if (rp !== undefined) {
    if (!isObj(rp)) throw bad("The property 'typeProperties.retryPolicy' must be an object.");
    if (rp.count !== undefined && (!isInt(rp.count) || rp.count < 0)) throw bad("The property 'typeProperties.retryPolicy.count' must be an integer of at least 0.");
    if (rp.intervalInSeconds !== undefined && (!isInt(rp.intervalInSeconds) || rp.intervalInSeconds < 30 || rp.intervalInSeconds > 86400)) {
      throw bad("The property 'typeProperties.retryPolicy.intervalInSeconds' must be an integer between 30 and 86400.");
    }
  }
  if (tp.dependsOn !== undefined && (!Array.isArray(tp.dependsOn) || tp.dependsOn.length)) {
    throw bad('Trigger dependencies (typeProperties.dependsOn) are not emulated by the sandbox; leave the list empty.', 'NotSupportedBySandbox');
  }
  if (old) {
    const otp = old.properties.typeProperties;
    if (otp.frequency !== freq || otp.interval !== tp.interval) {
      throw bad(`The frequency and interval of tumbling window trigger '${old.name}' cannot be changed once the trigger is created (${otp.interval} x ${otp.frequency}); delete it and create a new one.`);
    }
  }
  return freq;
}

// ---- window arithmetic on the emulator clock ----------------------------------------

const UNIT_MS = { Minute: 60000, Hour: 3600000 };

function windowAt(tp, k) {
  const start = Date.parse(tp.startTime);
  if (tp.frequency !== 'Month') {
    const w = tp.interval * UNIT_MS[tp.frequency];
    return [start + k * w, start + (k + 1) * w];
  }
  const at = (n) => {
    const d = new Date(start);
    const day = d.getUTCDate();
    d.setUTCDate(1);
    d.setUTCMonth(d.getUTCMonth() + n * tp.interval);
    const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
    d.setUTCDate(Math.min(day, last));
    return d.getTime();
  };
  return [at(k), at(k + 1)];
}

function delayMs(tp) {
  const m = typeof tp.delay === 'string' ? DELAY_RE.exec(tp.delay) : null;
  if (!m) return 0;
  return ((Number(m[2] || 0) * 24 + Number(m[3])) * 3600 + Number(m[4]) * 60 + Number(m[6])) * 1000;
}

const iso = (ms) => new Date(ms).toISOString().replace(/\.000Z$/, 'Z');

// Fire window k of trigger `t` (attempt `attempt`): a pipeline run with the
// trigger's parameters evaluated against the window.
function fire(f, t, st, k, attempt) {
  const tp = t.properties.typeProperties;
  const [ws, we] = windowAt(tp, k);
  const pl = t.properties.pipeline;
  const pipe = f.pipelines[pl.pipelineReference.referenceName.toLowerCase()];
  const id = crypto.randomUUID().replace(/-/g, '');
  const w = { k, attempt, windowStart: iso(ws), windowEnd: iso(we), triggerRunId: id };
  if (!pipe) {
    w.status = 'Failed';
    w.message = `The pipeline '${pl.pipelineReference.referenceName}' was not found.`;
    st.windows.push(w);
    return;
  }
  const outputs = { windowStartTime: iso(ws), windowEndTime: iso(we) };
  let params;
  try {
    params = resolve(pl.parameters || {}, { trigger: { name: t.name, startTime: iso(state.now()), outputs } });
  } catch (e) {
    w.status = 'Failed';
    w.message = e.message;
    st.windows.push(w);
    return;
  }
  try {
    const run = adf().startPipelineRun(f, pipe, params, { name: t.name, id, invokedByType: 'TumblingWindowTrigger' });
    w.runId = run.runId;
    w.status = 'Running';
  } catch (e) {
    w.status = 'Failed';
    w.message = e.message;
  }
  st.windows.push(w);
}

/*
 * step - one engine step for started trigger `t` of factory `f` at emulator
 * time `now`: settle finished windows (retrying failed ones as retryPolicy
 * says), then fire due windows oldest first while fewer than
 * maxConcurrency are running.
 */
function step(f, t, now) {
  const key = t.name.toLowerCase();
  const st = f.triggerState[key] || (f.triggerState[key] = { next: 0, windows: [] });
  const tp = t.properties.typeProperties;
  const rp = tp.retryPolicy || {};
  let changed = false;
  let running = 0;
  for (const w of st.windows) {
    if (w.status !== 'Running') continue;
    const run = f.runs[w.runId];
    const status = run ? run.status : 'Failed';
    if (!TERMINAL.includes(status)) { running++; continue; }
    w.status = status === 'Succeeded' ? 'Succeeded' : 'Failed';
    changed = true;
    if (w.status === 'Failed' && w.attempt < (rp.count || 0)) {
      w.retryAt = now + (rp.intervalInSeconds || 30) * 1000;
      w.status = 'WaitingRetry';
    }
  }
  for (const w of st.windows) {
    if (w.status === 'WaitingRetry' && w.retryAt <= now && running < tp.maxConcurrency) {
      w.status = 'Retried';
      fire(f, t, st, w.k, w.attempt + 1);
      running++;
      changed = true;
    }
  }
  const delay = delayMs(tp);
  const end = tp.endTime ? Date.parse(tp.endTime) : Infinity;
  for (let n = 0; n < MAX_FIRES_PER_TICK && running < tp.maxConcurrency; n++) {
    const [, we] = windowAt(tp, st.next);
    if (we > end || we + delay > now) break;
    fire(f, t, st, st.next, 0);
    st.next++;
    running++;
    changed = true;
  }
  // Keep the record bounded: finished windows beyond the last 500 go.
  if (st.windows.length > 1000) st.windows = st.windows.filter((w) => !['Succeeded', 'Failed', 'Retried'].includes(w.status)).concat(st.windows.slice(-500));
  return changed;
}

// Every host that serves triggers registers here how to list its stores
// (factories, Synapse workspaces), so one engine runs them all.
const hosts = [];

function tick() {
  const now = state.now();
  let changed = false;
  for (const h of hosts) {
    for (const f of h.stores()) {
      if (!f.triggers) continue;
      for (const t of Object.values(f.triggers)) {
        if (t.properties.runtimeState !== 'Started') continue;
        try {
          changed = step(f, t, now) || changed;
        } catch (e) {
          console.error(`triggers: ${t.name}: ${e.stack || e}`);
        }
      }
    }
  }
  if (changed) state.save();
}

setInterval(tick, TICK_MS).unref();

// ---- routes --------------------------------------------------------------------------

/*
 * serve - the trigger routes of one host, the rules and the engine shared:
 *   base      the regular expression (source) of the factory's or workspace's path;
 *   group     the index of the trigger's name in a route's match;
 *   type      the resource type; where() names the store in a 404;
 *   storeOf   ctx -> the store (throws the host's refusals);
 *   stores    () -> every store of the host, for the engine;
 *   body      (ctx, name) -> the request body as the host checks it;
 *   put, del  (ctx, f, name, apply): answer the write; apply() performs it
 *             (ADF at once, Synapse when its operation completes) and
 *             returns the stored trigger (put) or null (del); del is called
 *             only for a trigger that exists;
 *   gone      (ctx) answers the DELETE of a trigger that does not exist;
 *   act       (ctx, f, name, action, apply): answer start or stop.
 * A check that refuses the request runs before the answer, so a refused
 * write is refused at once, never half-done; apply() checks the started
 * state again, for a trigger started while the operation was pending.
 */
function serve(h) {
  hosts.push(h);
  const one = new RegExp(`${h.base}/triggers/([^/]+)$`, 'i');
  const nameOf = (ctx) => decodeURIComponent(ctx.match[h.group]);
  const missing = (name) => armError(404, 'ResourceNotFound', `The trigger '${name}' was not found in ${h.where()}.`);

  route('PUT', one, (ctx) => {
    const f = h.storeOf(ctx);
    const triggers = triggersOf(f);
    const name = nameOf(ctx);
    adf().checkName('pipelines', name);
    const b = h.body(ctx, name);
    if (!isObj(b.properties)) throw bad("The property 'properties' is required and must be an object.");
    const props = b.properties;
    if (typeof props.type !== 'string' || !props.type) throw bad("The property 'properties.type' is required.");
    if (props.type !== 'TumblingWindowTrigger') {
      throw bad(`Trigger type '${props.type.slice(0, 60)}' is not emulated by the sandbox; it runs TumblingWindowTrigger only.`, 'NotSupportedBySandbox');
    }
    const key = name.toLowerCase();
    const old = triggers[key];
    if (old && old.properties.runtimeState === 'Started') throw enabledError();
    const ifMatch = ctx.req.headers['if-match'];
    if (ifMatch !== undefined && ifMatch.trim() !== '*' && (!old || ifMatch.trim() !== old.etag)) {
      throw armError(412, 'PreconditionFailed', `The specified ETag does not match the current ETag of trigger '${name}'.`);
    }
    const freq = checkTumbling(f, props, old);
    if (Array.isArray(props.annotations)) props.annotations = props.annotations.filter((a) => typeof a === 'string');
    h.put(ctx, f, name, () => {
      const cur = triggers[key];
      if (cur && cur.properties.runtimeState === 'Started') throw enabledError();
      const stored = {
        ...props,
        typeProperties: { ...props.typeProperties, frequency: freq },
        runtimeState: cur ? cur.properties.runtimeState : 'Stopped', // read-only
      };
      const res = { id: `${f.id}/triggers/${name}`, name, type: h.type, properties: stored, etag: `"${crypto.randomUUID()}"` };
      triggers[key] = res;
      state.save();
      return res;
    });
  });

  route('GET', one, (ctx) => {
    const f = h.storeOf(ctx);
    const name = nameOf(ctx);
    const res = triggersOf(f)[name.toLowerCase()];
    if (!res) throw missing(name);
    send(ctx.res, 200, res, { etag: res.etag });
  });

  route('DELETE', one, (ctx) => {
    const f = h.storeOf(ctx);
    const name = nameOf(ctx);
    const key = name.toLowerCase();
    const res = triggersOf(f)[key];
    if (!res) { h.gone(ctx); return; }
    if (res.properties.runtimeState === 'Started') throw enabledError();
    h.del(ctx, f, name, () => {
      const cur = f.triggers[key];
      if (cur && cur.properties.runtimeState === 'Started') throw enabledError();
      delete f.triggers[key];
      delete f.triggerState[key];
      state.save();
      return null;
    });
  });

  route('GET', new RegExp(`${h.base}/triggers$`, 'i'), (ctx) => {
    const f = h.storeOf(ctx);
    const all = Object.values(triggersOf(f)).sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()));
    return adf().listPage(ctx, all, 50);
  });

  for (const action of ['start', 'stop']) {
    route('POST', new RegExp(`${h.base}/triggers/([^/]+)/${action}$`, 'i'), (ctx) => {
      const f = h.storeOf(ctx);
      const name = nameOf(ctx);
      if (!triggersOf(f)[name.toLowerCase()]) throw missing(name);
      h.act(ctx, f, name, action, () => {
        const res = f.triggers[name.toLowerCase()];
        if (!res) throw missing(name);
        res.properties.runtimeState = action === 'start' ? 'Started' : 'Stopped';
        state.save();
        if (action === 'start') tick();
        return null;
      });
    });
  }
}

// ADF: writes answer at once; start and stop answer ARM's asynchronous-
// operation pattern (202, Azure-AsyncOperation, Location, Retry-After) whose
// operation reads Succeeded, the state having changed at once.
serve({
  base: FBASE,
  group: 4,
  type: TYPE,
  where: () => `factory '${state.config.factory}'`,
  storeOf: (ctx) => adf().factoryOf(ctx),
  stores: () => Object.values(state.data.adf || {}),
  body: (ctx) => adf().armBody(ctx),
  put: (ctx, f, name, apply) => {
    const res = apply();
    send(ctx.res, 200, res, { etag: res.etag });
  },
  del: (ctx, f, name, apply) => { apply(); send(ctx.res, 200, null); },
  gone: (ctx) => send(ctx.res, 204, null),
  act: (ctx, f, name, action, apply) => {
    apply();
    const op = crypto.randomUUID();
    const base = `https://${ctx.req.headers.host}${ctx.url.pathname.replace(/\/(start|stop)$/i, '')}/operations/${op}?api-version=2018-06-01`;
    send(ctx.res, 202, null, { 'azure-asyncoperation': base, location: base, 'retry-after': '1' });
  },
});

route('GET', new RegExp(`${FBASE}/triggers/([^/]+)/operations/([^/]+)$`, 'i'), (ctx) => {
  adf().factoryOf(ctx);
  return { status: 'Succeeded' };
});

/* serve: lib/synapse.js serves its workspace's triggers through it. */
module.exports = { windowAt, tick, serve };
