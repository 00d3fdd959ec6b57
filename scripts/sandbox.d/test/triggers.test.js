'use strict';
// ADF triggers against an in-process emulator: the TumblingWindowTrigger
// rules (mgdc-sandbox(7), TRIGGERS), start/stop as long-running operations,
// and the engine on the movable clock: backfill from startTime, oldest
// first, at most maxConcurrency at once, the window in each run's
// parameters and invokedBy, stop keeps state, delete of a started trigger
// refused. Runs use a pipeline without a copy activity (no storage).

const test = require('node:test');
const assert = require('node:assert/strict');
const { startSandbox, assertCloudError } = require('./helpers');

const Q = '?api-version=2018-06-01';
const HOUR = 3600e3;
const DAY = 24 * HOUR;
let sb;
let arm;
let F;

const call = (method, path, body) => sb.fetch(`${F}${path}`, { method, token: arm, body });

const assertError = assertCloudError;

const iso = (ms) => new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
const midnight = (ms) => Math.floor(ms / DAY) * DAY;

function tumbling(start, over = {}) {
  return {
    properties: {
      type: 'TumblingWindowTrigger',
      pipeline: {
        pipelineReference: { referenceName: 'Sched', type: 'PipelineReference' },
        parameters: {
          windowStart: { type: 'Expression', value: '@trigger().outputs.windowStartTime' },
          windowEnd: '@trigger().outputs.windowEndTime',
        },
      },
      typeProperties: { frequency: 'Hour', interval: 24, startTime: start, delay: '2.00:00:00', maxConcurrency: 2, retryPolicy: { count: 0, intervalInSeconds: 30 }, ...over },
    },
  };
}

async function runsOf(trigger) {
  const r = await call('POST', `/queryPipelineRuns${Q}`, { lastUpdatedAfter: '2000-01-01T00:00:00Z', lastUpdatedBefore: '2200-01-01T00:00:00Z' });
  assert.equal(r.status, 200, r.text);
  return r.json.value.filter((x) => x.invokedBy && x.invokedBy.name === trigger);
}

async function until(fn, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((x) => setTimeout(x, 50));
  }
}

test.before(async () => {
  sb = await startSandbox({ azurite: false });
  arm = await sb.token('developer', 'https://management.azure.com/.default');
  const c = sb.config;
  F = `/arm/subscriptions/${c.subscriptionId}/resourceGroups/${c.resourceGroup}/providers/Microsoft.DataFactory/factories/${c.factory}`;
  sb.state.config.runSeconds = 0.2;
  const r = await call('PUT', `/pipelines/Sched${Q}`, {
    properties: { activities: [], parameters: { windowStart: { type: 'string', defaultValue: '2026-01-01T00:00:00Z' }, windowEnd: { type: 'string', defaultValue: '2026-01-02T00:00:00Z' } } },
  });
  assert.equal(r.status, 200, r.text);
});
test.after(async () => { if (sb) await sb.stop(); });

test('PUT refuses what the TumblingWindowTrigger definition refuses', async () => {
  const start = iso(midnight(sb.state.now()));
  let r = await call('PUT', `/triggers/T1${Q}`, tumbling(start, { frequency: 'Day' }));
  assert.match(assertError(r, 400, 'BadRequest'), /Minute, Hour, Month/);
  r = await call('PUT', `/triggers/T1${Q}`, tumbling(start, { frequency: 'Minute', interval: 5 }));
  assert.match(assertError(r, 400, 'BadRequest'), /minimum interval allowed is 15 Minutes/);
  r = await call('PUT', `/triggers/T1${Q}`, tumbling(start, { maxConcurrency: 51 }));
  assert.match(assertError(r, 400, 'BadRequest'), /between 1 and 50/);
  r = await call('PUT', `/triggers/T1${Q}`, tumbling(start, { delay: '48:00:00x' }));
  assert.match(assertError(r, 400, 'BadRequest'), /timespan/);
  r = await call('PUT', `/triggers/T1${Q}`, tumbling(start, { retryPolicy: { intervalInSeconds: 10 } }));
  assert.match(assertError(r, 400, 'BadRequest'), /between 30 and 86400/);
  r = await call('PUT', `/triggers/T1${Q}`, tumbling(start, { startTime: undefined }));
  assert.match(assertError(r, 400, 'BadRequest'), /startTime/);
  const noPipe = tumbling(start);
  noPipe.properties.pipeline.pipelineReference.referenceName = 'Nope';
  r = await call('PUT', `/triggers/T1${Q}`, noPipe);
  assert.match(assertError(r, 400, 'BadRequest'), /invalid reference 'Nope'/);
  r = await call('PUT', `/triggers/T1${Q}`, { properties: { type: 'ScheduleTrigger' } });
  assertError(r, 400, 'NotSupportedBySandbox');
  r = await call('PUT', `/triggers/bad.name${Q}`, tumbling(start));
  assertError(r, 400, 'InvalidResourceName');
  r = await call('GET', `/triggers/T1${Q}`);
  assertError(r, 404, 'ResourceNotFound');
  r = await call('POST', `/triggers/T1/start${Q}`);
  assertError(r, 404, 'ResourceNotFound');
});

test('created Stopped; start and stop are long-running; a started trigger is neither updated nor deleted', async () => {
  const start = iso(midnight(sb.state.now()) + 30 * DAY);
  let r = await call('PUT', `/triggers/T2${Q}`, tumbling(start));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.properties.runtimeState, 'Stopped');
  r = await call('POST', `/triggers/T2/start${Q}`);
  assert.equal(r.status, 202, r.text);
  const op = r.headers['azure-asyncoperation'];
  assert.ok(op && r.headers.location && r.headers['retry-after'], 'ARM async-operation headers');
  r = await sb.fetch(new URL(op).pathname + new URL(op).search, { token: arm });
  assert.equal(r.json.status, 'Succeeded', r.text);
  r = await call('GET', `/triggers/T2${Q}`);
  assert.equal(r.json.properties.runtimeState, 'Started');
  r = await call('PUT', `/triggers/T2${Q}`, tumbling(start));
  assert.match(assertError(r, 400, 'TriggerEnabledCannotUpdate'), /disabled first/);
  r = await call('DELETE', `/triggers/T2${Q}`);
  assertError(r, 400, 'TriggerEnabledCannotUpdate');
  r = await call('POST', `/triggers/T2/stop${Q}`);
  assert.equal(r.status, 202);
  r = await call('PUT', `/triggers/T2${Q}`, tumbling(start, { interval: 12 }));
  assert.match(assertError(r, 400, 'BadRequest'), /cannot be changed once the trigger is created/);
  r = await call('PUT', `/triggers/T2${Q}`, tumbling(start, { maxConcurrency: 3 }));
  assert.equal(r.status, 200, r.text);
  r = await call('GET', `/triggers${Q}`);
  assert.ok(r.json.value.some((t) => t.name === 'T2'));
  r = await call('DELETE', `/triggers/T2${Q}`);
  assert.equal(r.status, 200);
  r = await call('DELETE', `/triggers/T2${Q}`);
  assert.equal(r.status, 204);
});

test('windows from startTime run on the emulator clock: backfill, delay, maxConcurrency, stop', async () => {
  // Daily windows with a 48-hour delay from two days ago: none due yet.
  const day0 = midnight(sb.state.now());
  const start = day0 - 2 * DAY;
  let r = await call('PUT', `/triggers/T3${Q}`, tumbling(iso(start)));
  assert.equal(r.status, 200, r.text);
  r = await call('POST', `/triggers/T3/start${Q}`);
  assert.equal(r.status, 202);
  require('../emulator/lib/triggers').tick();
  assert.equal((await runsOf('T3')).length, 0, 'no window is due before its end plus the delay');
  sb.state.advanceClock(7 * DAY);
  arm = await sb.token('developer', 'https://management.azure.com/.default'); // the old one expired
  const runs = await until(async () => {
    require('../emulator/lib/triggers').tick();
    const x = await runsOf('T3');
    return x.length === 7 && x.every((y) => y.status === 'Succeeded') ? x : null;
  });
  runs.sort((a, b) => a.parameters.windowStart.localeCompare(b.parameters.windowStart));
  runs.forEach((run, k) => {
    assert.equal(run.invokedBy.invokedByType, 'TumblingWindowTrigger');
    assert.equal(run.parameters.windowStart, iso(start + k * DAY), `window ${k} start`);
    assert.equal(run.parameters.windowEnd, iso(start + (k + 1) * DAY), `window ${k} end`);
  });
  // maxConcurrency 2: runs overlapped in pairs at most.
  const spans = runs.map((x) => [Date.parse(x.runStart), Date.parse(x.runEnd)]);
  for (const [s] of spans) assert.ok(spans.filter(([a, b]) => a <= s && s < b).length <= 2, 'at most maxConcurrency at once');
  r = await call('POST', `/triggers/T3/stop${Q}`);
  assert.equal(r.status, 202);
  sb.state.advanceClock(3 * DAY);
  arm = await sb.token('developer', 'https://management.azure.com/.default');
  require('../emulator/lib/triggers').tick();
  await new Promise((x) => setTimeout(x, 300));
  assert.equal((await runsOf('T3')).length, 7, 'a stopped trigger fires nothing');
  r = await call('DELETE', `/triggers/T3${Q}`);
  assert.equal(r.status, 200);
});
