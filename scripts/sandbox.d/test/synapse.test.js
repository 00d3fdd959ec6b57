'use strict';
// The Synapse workspace development endpoint (api-version 2020-12-01) against
// an in-process emulator: the token audience and Synapse's 401 body, the
// asynchronous artifact writes (202 + Location + Retry-After, then
// operationResults), the rules shared with ADF (names, references, OpenAPI),
// createRun's 202, runs, the activity-runs path with the pipeline name,
// cancel, and that the factory and the workspace do not see each other's
// artifacts. Copies with data are covered by the mount test 31-synapse.

const test = require('node:test');
const assert = require('node:assert/strict');
const { startSandbox, assertCloudError } = require('./helpers');

const Q = '?api-version=2020-12-01';
let sb;
let syn;
let W;

const call = (method, path, body, headers, token = syn) => sb.fetch(`${W}${path}`, { method, token, body, headers });

const assertError = assertCloudError;

// Poll an operation as a client does: its Location, until it is not 202.
async function complete(r, ms = 10000) {
  assert.equal(r.status, 202, r.text);
  assert.ok(r.json.operationId, 'the 202 body names the operation');
  assert.equal(r.headers['retry-after'], '1');
  const loc = new URL(r.headers.location);
  assert.equal(loc.pathname, `${W}/operationResults/${r.json.operationId}`);
  assert.equal(loc.searchParams.get('api-version'), '2020-12-01');
  const end = Date.now() + ms;
  let seenInProgress = false;
  for (;;) {
    const p = await sb.fetch(`${loc.pathname}${loc.search}`, { token: syn });
    if (p.status !== 202) return { poll: p, seenInProgress };
    assert.equal(p.json.status, 'InProgress');
    assert.ok(p.headers.location && p.headers['retry-after']);
    seenInProgress = true;
    if (Date.now() > end) throw new Error('operation never completed');
    await new Promise((x) => setTimeout(x, 50));
  }
}

async function waitStatus(runId, want, ms = 15000) {
  const end = Date.now() + ms;
  let r;
  while (Date.now() < end) {
    r = await call('GET', `/pipelineruns/${runId}${Q}`);
    if (want.includes(r.json.status)) return r.json;
    await new Promise((x) => setTimeout(x, 50));
  }
  throw new Error(`run ${runId} still ${r && r.json.status}`);
}

const WINDOW = { lastUpdatedAfter: '2000-01-01T00:00:00Z', lastUpdatedBefore: '2200-01-01T00:00:00Z' };

test.before(async () => {
  sb = await startSandbox({ azurite: false });
  syn = await sb.token('developer', 'https://dev.azuresynapse.net/.default');
  W = `/synapse/${sb.state.config.synapseWorkspace}`;
  sb.state.config.runSeconds = 0.4;
});
test.after(async () => { if (sb) await sb.stop(); });

test('prelude: api-version, the Synapse audience, the workspace', async () => {
  let r = await call('GET', '/pipelines');
  assertError(r, 400, 'MissingApiVersionParameter');
  r = await call('GET', '/pipelines?api-version=2018-06-01');
  assert.match(assertError(r, 400, 'InvalidApiVersionParameter'), /'2020-12-01'/);
  r = await call('GET', `/pipelines${Q}`, undefined, undefined, null);
  assert.equal(r.status, 401);
  const arm = await sb.token('developer', 'https://management.azure.com/.default');
  r = await call('GET', `/pipelines${Q}`, undefined, undefined, arm);
  assert.equal(r.status, 401, 'an ARM token is refused');
  assert.equal(r.json.code, 'InvalidTokenAuthenticationAudience', 'Synapse body: no "error" wrapper');
  assert.match(r.json.message, /IDX10214: Audience validation failed/);
  r = await sb.fetch(`/synapse/otherws/pipelines${Q}`, { token: syn });
  assertError(r, 404, 'WorkspaceNotFound');
  r = await call('GET', `/pipelines${Q}`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.value, []);
});

test('artifact writes are long-running: 202, Location, then the artifact', async () => {
  let r = await call('PUT', `/pipelines/P1${Q}`, { properties: { activities: [] } });
  const { poll, seenInProgress } = await complete(r);
  assert.ok(seenInProgress, 'polled at once, the operation is still InProgress');
  assert.equal(poll.status, 200);
  assert.equal(poll.json.name, 'P1');
  assert.equal(poll.json.type, 'Microsoft.Synapse/workspaces/pipelines');
  assert.ok(poll.json.etag);
  r = await call('GET', `/pipelines/P1${Q}`);
  assert.equal(r.status, 200);
  assert.equal(r.json.etag, poll.json.etag);
  assert.match(r.json.id, /\/providers\/Microsoft\.Synapse\/workspaces\/[^/]+\/pipelines\/P1$/);
  // The factory does not see the workspace's pipeline.
  const arm = await sb.token('developer', 'https://management.azure.com/.default');
  const c = sb.config;
  r = await sb.fetch(`/arm/subscriptions/${c.subscriptionId}/resourceGroups/${c.resourceGroup}/providers/Microsoft.DataFactory/factories/${c.factory}/pipelines/P1?api-version=2018-06-01`, { token: arm });
  assertError(r, 404, 'ResourceNotFound');
  // If-Match against a stale etag: 412 at once.
  r = await call('PUT', `/pipelines/P1${Q}`, { properties: {} }, { 'if-match': '"stale"' });
  assertError(r, 412, 'PreconditionFailed');
  // DELETE: 202, then an empty 200; the pipeline is gone; a second DELETE is 204.
  r = await call('DELETE', `/pipelines/P1${Q}`);
  const del = await complete(r);
  assert.equal(del.poll.status, 200);
  assert.equal(del.poll.text, '');
  assertError(await call('GET', `/pipelines/P1${Q}`), 404, 'ResourceNotFound');
  r = await call('DELETE', `/pipelines/P1${Q}`);
  assert.equal(r.status, 204);
  assertError(await sb.fetch(`${W}/operationResults/nosuch${Q}`, { token: syn }), 404, 'OperationNotFound');
});

test('ADF strictness applies before the 202: names, references, OpenAPI', async () => {
  let r = await call('PUT', `/linkedservices/ls-dash${Q}`, { properties: { type: 'AzureBlobStorage', typeProperties: {} } });
  assertError(r, 400, 'InvalidResourceName');
  r = await call('PUT', `/datasets/ds1${Q}`, { properties: { type: 'Binary', linkedServiceName: { referenceName: 'Nope', type: 'LinkedServiceReference' } } });
  assert.match(assertError(r, 400, 'BadRequest'), /invalid reference 'Nope'/);
  r = await call('PUT', `/pipelines/P2${Q}`, { properties: { activities: 'x' } });
  assertError(r, 400, 'InvalidRequestContent');
  assertError(await call('GET', `/pipelines/P2${Q}`), 404, 'ResourceNotFound');
});

test('runs: createRun 202, activity runs under the pipeline name, cancel', async () => {
  let r = await call('PUT', `/pipelines/W1${Q}`, { properties: { activities: [{ name: 'W', type: 'Wait', typeProperties: { waitTimeInSeconds: 1 } }] } });
  await complete(r);
  r = await call('POST', `/pipelines/W1/createRun${Q}`, {});
  assert.equal(r.status, 202, r.text);
  const runId = r.json.runId;
  const run = await waitStatus(runId, ['Succeeded', 'Failed']);
  assert.equal(run.status, 'Succeeded');
  assert.equal(run.pipelineName, 'W1');
  r = await call('POST', `/pipelines/W1/pipelineruns/${runId}/queryActivityruns${Q}`, WINDOW);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.value.length, 1);
  assert.equal(r.json.value[0].activityName, 'W');
  r = await call('POST', `/pipelines/Other/pipelineruns/${runId}/queryActivityruns${Q}`, WINDOW);
  assertError(r, 404, 'ResourceNotFound');
  r = await call('POST', `/pipelineruns/${runId}/queryActivityruns${Q}`, WINDOW);
  assert.equal(r.status, 404, "ADF's path is not Synapse's");
  r = await call('POST', `/queryPipelineRuns${Q}`, { ...WINDOW, filters: [{ operand: 'PipelineName', operator: 'Equals', values: ['W1'] }] });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.value.map((x) => x.runId), [runId]);
  sb.state.config.runSeconds = 30;
  r = await call('POST', `/pipelines/W1/createRun${Q}`, {});
  const second = r.json.runId;
  r = await call('POST', `/pipelineruns/${second}/cancel${Q}`);
  assert.equal(r.status, 200);
  assert.equal((await waitStatus(second, ['Cancelled'])).status, 'Cancelled');
  sb.state.config.runSeconds = 0.4;
  assertError(await call('POST', `/pipelines/Nope/createRun${Q}`, {}), 404, 'ResourceNotFound');
});

test('triggers: long-running PUT, start, stop and DELETE; ADF rules; runs on the emulator clock', async () => {
  const DAY = 86400e3;
  const iso = (ms) => new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
  let r = await call('PUT', `/pipelines/Sched${Q}`, {
    properties: { activities: [], parameters: { windowStart: { type: 'string' }, windowEnd: { type: 'string' } } },
  });
  await complete(r);
  const clock = (await sb.fetch('/_faults')).json.clock.now;
  const start = iso(Math.floor(Date.parse(clock) / DAY) * DAY - 3 * DAY);
  const body = (over = {}) => ({
    properties: {
      type: 'TumblingWindowTrigger',
      pipeline: {
        pipelineReference: { referenceName: 'Sched', type: 'PipelineReference' },
        parameters: { windowStart: '@trigger().outputs.windowStartTime', windowEnd: '@trigger().outputs.windowEndTime' },
      },
      typeProperties: { frequency: 'Hour', interval: 24, startTime: start, delay: '2.00:00:00', maxConcurrency: 1, ...over },
    },
  });
  // The ADF rules, refused at once (before any 202).
  assert.match(assertError(await call('PUT', `/triggers/T1${Q}`, body({ frequency: 'Minute', interval: 5 })), 400, 'BadRequest'), /minimum interval allowed is 15 Minutes/);
  const noPipe = body();
  noPipe.properties.pipeline.pipelineReference.referenceName = 'NoSuch';
  assert.match(assertError(await call('PUT', `/triggers/T1${Q}`, noPipe), 400, 'BadRequest'), /invalid reference 'NoSuch'/);
  assertError(await call('GET', `/triggers/T1${Q}`), 404, 'ResourceNotFound');
  // Created by an operation; Stopped; typed as a Synapse artifact.
  r = await call('PUT', `/triggers/T1${Q}`, body());
  assert.equal(r.json.type, 'Trigger');
  const made = await complete(r);
  assert.equal(made.poll.status, 200);
  assert.equal(made.poll.json.type, 'Microsoft.Synapse/workspaces/triggers');
  assert.equal(made.poll.json.properties.runtimeState, 'Stopped');
  r = await call('GET', `/triggers${Q}`);
  assert.deepEqual(r.json.value.map((t) => t.name), ['T1']);
  // start: 202 + Location and no body; the trigger Started once the operation completes.
  const action = async (what) => {
    const a = await call('POST', `/triggers/T1/${what}${Q}`);
    assert.equal(a.status, 202, a.text);
    assert.equal(a.text, '');
    assert.equal(a.headers['retry-after'], '1');
    const loc = new URL(a.headers.location);
    assert.match(loc.pathname, /\/operationResults\//);
    const until = Date.now() + 10000;
    for (;;) {
      await new Promise((x) => setTimeout(x, 100));
      const p = await sb.fetch(`${loc.pathname}${loc.search}`, { token: syn });
      if (p.status !== 202) { assert.equal(p.status, 200, p.text); return; }
      assert.ok(Date.now() < until, 'the operation completes');
    }
  };
  await action('start');
  assert.equal((await call('GET', `/triggers/T1${Q}`)).json.properties.runtimeState, 'Started');
  // A started trigger is neither updated nor deleted: Synapse's (ADF's) error, at once.
  assertError(await call('PUT', `/triggers/T1${Q}`, body()), 400, 'TriggerEnabledCannotUpdate');
  assertError(await call('DELETE', `/triggers/T1${Q}`), 400, 'TriggerEnabledCannotUpdate');
  // The engine: one window (start + 1 day + 2 days of delay <= now) is due.
  const runs = async () => (await call('POST', `/queryPipelineRuns${Q}`, WINDOW)).json.value.filter((x) => x.invokedBy && x.invokedBy.name === 'T1');
  const end = Date.now() + 10000;
  let got = [];
  while (got.length < 1 && Date.now() < end) { got = await runs(); await new Promise((x) => setTimeout(x, 100)); }
  assert.equal(got.length, 1);
  assert.equal(got[0].invokedBy.invokedByType, 'TumblingWindowTrigger');
  assert.equal(got[0].parameters.windowStart, start);
  assert.equal(got[0].parameters.windowEnd, iso(Date.parse(start) + DAY));
  // stop, then DELETE by operation.
  await action('stop');
  assert.equal((await call('GET', `/triggers/T1${Q}`)).json.properties.runtimeState, 'Stopped');
  // Started while an update was pending: the update's operation ends Failed with Synapse's (ADF's) error.
  const startOp = await call('POST', `/triggers/T1/start${Q}`);
  assert.equal(startOp.status, 202, startOp.text);
  r = await call('PUT', `/triggers/T1${Q}`, body());
  assert.equal(r.status, 202, r.text);
  const raced = await complete(r);
  assert.equal(raced.poll.status, 200);
  assert.equal(raced.poll.json.status, 'Failed');
  assert.equal(raced.poll.json.error.code, 'TriggerEnabledCannotUpdate');
  await action('stop');
  const del = await complete(await call('DELETE', `/triggers/T1${Q}`));
  assert.equal(del.poll.status, 200);
  assertError(await call('GET', `/triggers/T1${Q}`), 404, 'ResourceNotFound');
  assert.equal((await call('DELETE', `/triggers/T1${Q}`)).status, 204);
  // The factory does not see the workspace's triggers.
  const arm = await sb.token('developer', 'https://management.azure.com/.default');
  const c = sb.config;
  r = await sb.fetch(`/arm/subscriptions/${c.subscriptionId}/resourceGroups/${c.resourceGroup}/providers/Microsoft.DataFactory/factories/${c.factory}/triggers${Q.replace('2020-12-01', '2018-06-01')}`, { token: arm });
  assert.deepEqual(r.json.value.map((t) => t.name).filter((n) => n === 'T1'), []);
});

test('faults match the workspace routes and answer its CloudError, Retry-After included', async () => {
  const add = (rule) => sb.fetch('/_faults', { method: 'POST', body: rule });
  assert.equal((await add({ route: '^PUT /synapse/[^/]+/datasets/', status: 429, retryAfter: '2', count: 1 })).status, 201);
  let r = await call('PUT', `/datasets/D1${Q}`, { properties: { type: 'Json', linkedServiceName: { referenceName: 'x', type: 'LinkedServiceReference' } } });
  assertError(r, 429, 'TooManyRequests');
  assert.equal(r.headers['retry-after'], '2');
  assert.equal(typeof r.json.error.message, 'string');
  assert.equal((await add({ route: '^GET /synapse/[^/]+/operationResults/', status: 503, retryAfter: '1', count: 1 })).status, 201);
  r = await call('PUT', `/pipelines/F1${Q}`, { properties: { activities: [] } });
  assert.equal(r.status, 202, r.text);
  const loc = new URL(r.headers.location);
  const p = await sb.fetch(`${loc.pathname}${loc.search}`, { token: syn });
  assertError(p, 503, 'ServerBusy');
  assert.equal(p.headers['retry-after'], '1');
  await sb.fetch('/_faults/reset', { method: 'POST', body: {} });
});
