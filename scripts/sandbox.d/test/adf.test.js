'use strict';
// ADF ARM REST (api-version 2018-06-01) and Microsoft.GraphServices/accounts
// against an in-process emulator: CRUD with ETags, masking, paging, runs,
// queries, cancel, and the CloudError shapes. Copy activities and their data
// are in copy.test.js; runs here use a pipeline without one (no storage).

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { startSandbox, request } = require('./helpers');

const Q = '?api-version=2018-06-01';
let sb;
let arm;
let F;

const call = (method, path, body, headers, token = arm) => sb.fetch(`${F}${path}`, { method, token, body, headers });

function assertError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json.error.code, code, r.text);
  assert.ok(r.headers['x-ms-request-id'], 'x-ms-request-id on errors');
  return r.json.error.message;
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
  arm = await sb.token('developer', 'https://management.azure.com/.default');
  const c = sb.config;
  F = `/arm/subscriptions/${c.subscriptionId}/resourceGroups/${c.resourceGroup}/providers/Microsoft.DataFactory/factories/${c.factory}`;
  sb.state.config.runSeconds = 0.4;
});
test.after(async () => { if (sb) await sb.stop(); });

test('ARM prelude: api-version, token, subscription, group, factory', async () => {
  let r = await call('GET', '/pipelines');
  assert.match(assertError(r, 400, 'MissingApiVersionParameter'), /api-version/);
  r = await call('GET', '/pipelines?api-version=2017-09-01-preview');
  assert.match(assertError(r, 400, 'InvalidApiVersionParameter'), /'2018-06-01'/);
  r = await call('GET', `/pipelines${Q}`, undefined, undefined, null);
  assertError(r, 401, 'AuthenticationFailed');
  const regTok = await sb.token('developer', 'api://mgdc-registration/.default');
  r = await call('GET', `/pipelines${Q}`, undefined, undefined, regTok);
  assertError(r, 401, 'InvalidAuthenticationToken');
  const c = sb.config;
  r = await sb.fetch(`/arm/subscriptions/${crypto.randomUUID()}/resourceGroups/${c.resourceGroup}/providers/Microsoft.DataFactory/factories/${c.factory}/pipelines${Q}`, { token: arm });
  assertError(r, 404, 'SubscriptionNotFound');
  r = await sb.fetch(`/arm/subscriptions/${c.subscriptionId}/resourceGroups/nope/providers/Microsoft.DataFactory/factories/${c.factory}/pipelines${Q}`, { token: arm });
  assertError(r, 404, 'ResourceGroupNotFound');
  r = await sb.fetch(`/arm/subscriptions/${c.subscriptionId}/resourceGroups/${c.resourceGroup}/providers/Microsoft.DataFactory/factories/other/pipelines${Q}`, { token: arm });
  assertError(r, 404, 'ResourceNotFound');
  r = await call('GET', Q);
  assert.equal(r.status, 200);
  assert.equal(r.json.name, c.factory);
  assert.ok(r.headers['x-ms-request-id']);
});

test('linked services: PUT/GET with ETags, SecureString masked and kept', async () => {
  const body = { properties: { type: 'AzureBlobStorage', typeProperties: { serviceEndpoint: 'https://mgdcsandbox.blob.core.windows.net/', servicePrincipalKey: { type: 'SecureString', value: 'top-secret' } } } };
  let r = await call('PUT', `/linkedservices/Sink${Q}`, body);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.type, 'Microsoft.DataFactory/factories/linkedservices');
  assert.equal(r.json.id, `${F.replace('/arm', '')}/linkedservices/Sink`);
  assert.equal(r.json.properties.typeProperties.servicePrincipalKey.value, '**********');
  assert.ok(!r.text.includes('top-secret'));
  const etag = r.json.etag;
  assert.equal(r.headers.etag, etag);
  r = await call('GET', `/linkedservices/sink${Q}`); // names are case-insensitive
  assert.equal(r.status, 200);
  assert.ok(!r.text.includes('top-secret'));
  assert.deepEqual(r.json.properties.typeProperties.servicePrincipalKey, { type: 'SecureString', value: '**********' });
  r = await call('GET', `/linkedservices/Sink${Q}`, undefined, { 'if-none-match': etag });
  assert.equal(r.status, 304);
  assert.equal(r.body.length, 0);
  r = await call('GET', `/linkedservices/Sink${Q}`, undefined, { 'if-none-match': '"other"' });
  assert.equal(r.status, 200);
  r = await call('PUT', `/linkedservices/Sink${Q}`, body, { 'if-match': '"stale"' });
  assertError(r, 412, 'PreconditionFailed');
  // PUT back what GET gave: the stored secret survives the mask.
  const got = (await call('GET', `/linkedservices/Sink${Q}`)).json;
  r = await call('PUT', `/linkedservices/Sink${Q}`, { properties: got.properties }, { 'if-match': etag });
  assert.equal(r.status, 200, r.text);
  assert.notEqual(r.json.etag, etag);
  const key = Object.keys(sb.state.data.adf)[0];
  assert.equal(sb.state.data.adf[key].linkedservices.sink.properties.typeProperties.servicePrincipalKey.value, 'top-secret');
  r = await call('PUT', `/linkedservices/New${Q}`, body, { 'if-match': '*' });
  assertError(r, 412, 'PreconditionFailed');
});

test('bad requests get CloudError bodies', async () => {
  let r = await call('PUT', `/linkedservices/X${Q}`, '{"properties":');
  assertError(r, 400, 'InvalidRequestContent');
  r = await call('PUT', `/linkedservices/X${Q}`, '');
  assertError(r, 400, 'InvalidRequestContent');
  // Bodies the public OpenAPI definitions refuse (lib/openapi.js).
  r = await call('PUT', `/linkedservices/X${Q}`, { type: 'AzureBlobStorage' });
  assert.match(assertError(r, 400, 'InvalidRequestContent'), /'properties' is required/);
  r = await call('PUT', `/linkedservices/X${Q}`, { properties: {} });
  assert.match(assertError(r, 400, 'InvalidRequestContent'), /'properties.type' is required/);
  r = await call('PUT', `/linkedservices/a.b${Q}`, { properties: { type: 'X' } });
  assertError(r, 400, 'InvalidResourceName');
  r = await call('PUT', `/datasets/D${Q}`, { properties: { type: 'Binary', linkedServiceName: { referenceName: 'Missing', type: 'LinkedServiceReference' } } });
  assert.match(assertError(r, 400, 'BadRequest'), /invalid reference 'Missing'/);
  r = await call('PUT', `/pipelines/P${Q}`, { properties: { activities: [{ name: 'c', type: 'Copy', inputs: [{ referenceName: 'Nope', type: 'DatasetReference' }], typeProperties: { source: { type: 'BinarySource' }, sink: { type: 'BinarySink' } } }] } });
  assert.match(assertError(r, 400, 'BadRequest'), /invalid reference 'Nope'/);
  r = await call('PUT', `/pipelines/P${Q}`, { properties: { activities: [{ name: 'a', type: 'Wait' }, { name: 'A', type: 'Wait' }] } });
  assertError(r, 400, 'BadRequest');
  r = await call('PUT', `/pipelines/P${Q}`, Buffer.alloc(5 * 1024 * 1024, 32));
  assertError(r, 413, 'RequestEntityTooLarge');
  r = await call('GET', `/pipelines/Nope${Q}`);
  assertError(r, 404, 'ResourceNotFound');
  r = await call('GET', `/integrationRuntimes${Q}`);
  assertError(r, 404, 'NotFound');
  r = await call('DELETE', `/pipelines/P/createRun${Q}`);
  assertError(r, 405, 'MethodNotAllowed');
  // Nesting: 64 levels are fine, deeper is refused, far deeper never crashes.
  const nest = (n) => `{"properties":{"type":"X","typeProperties":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}}`;
  r = await call('PUT', `/linkedservices/Deep${Q}`, nest(60), { 'content-type': 'application/json' });
  assert.equal(r.status, 200, r.text);
  for (const n of [70, 200000]) {
    r = await call('PUT', `/linkedservices/Deep${Q}`, nest(n), { 'content-type': 'application/json' });
    assert.match(assertError(r, 400, 'InvalidRequestContent'), /deeper than 64/);
  }
});

test('datasets and pipelines: list with nextLink, delete 200 then 204', async () => {
  for (let i = 0; i < 5; i++) {
    const r = await call('PUT', `/datasets/ds${i}${Q}`, { properties: { type: 'Binary', linkedServiceName: { referenceName: 'Sink', type: 'LinkedServiceReference' }, typeProperties: { location: { type: 'AzureBlobStorageLocation', container: 'exports' } } } });
    assert.equal(r.status, 200, r.text);
  }
  const names = [];
  let url = `${sb.urls.emulator}${F}/datasets${Q}&$top=2`;
  let pages = 0;
  while (url) {
    const r = await request(url, { token: arm, ca: sb.ca });
    assert.equal(r.status, 200, r.text);
    names.push(...r.json.value.map((x) => x.name));
    url = r.json.nextLink;
    pages++;
  }
  assert.equal(pages, 3);
  assert.deepEqual(names, ['ds0', 'ds1', 'ds2', 'ds3', 'ds4']);
  let r = await call('DELETE', `/datasets/ds4${Q}`);
  assert.equal(r.status, 200);
  r = await call('DELETE', `/datasets/ds4${Q}`);
  assert.equal(r.status, 204);
  r = await call('GET', `/datasets/ds4${Q}`);
  assertError(r, 404, 'ResourceNotFound');
  r = await call('GET', `/datasets${Q}&$skipToken=abc`);
  assertError(r, 400, 'InvalidSkipToken');
});

test('runs: createRun, status progression, parameters, queries, cancel', async () => {
  let r = await call('PUT', `/pipelines/Wait1${Q}`, {
    properties: {
      activities: [{ name: 'W', type: 'Wait', typeProperties: { waitTimeInSeconds: 1 } }],
      parameters: { must: { type: 'string' }, opt: { type: 'string', defaultValue: 'd' }, arr: { type: 'array', defaultValue: ['a'] } },
    },
  });
  assert.equal(r.status, 200, r.text);
  r = await call('POST', `/pipelines/Nope/createRun${Q}`, {});
  assertError(r, 404, 'ResourceNotFound');
  r = await call('POST', `/pipelines/Wait1/createRun${Q}`, {});
  assert.match(assertError(r, 400, 'BadRequest'), /'must'/);
  r = await call('POST', `/pipelines/Wait1/createRun${Q}`, '[1]');
  assertError(r, 400, 'InvalidRequestContent');
  r = await call('POST', `/pipelines/Wait1/createRun${Q}`, { must: 'x' });
  assert.equal(r.status, 200, r.text);
  const runId = r.json.runId;
  assert.match(runId, /^[0-9a-f-]{36}$/);
  r = await call('GET', `/pipelineruns/${runId}${Q}`);
  assert.equal(r.json.status, 'Queued');
  assert.deepEqual(r.json.parameters, { must: 'x', opt: 'd', arr: '["a"]' });
  assert.equal(r.json.runEnd, null);
  await waitStatus(runId, ['InProgress']);
  const done = await waitStatus(runId, ['Succeeded', 'Failed']);
  assert.equal(done.status, 'Succeeded', JSON.stringify(done));
  assert.ok(done.durationInMs >= 300);
  assert.ok(Date.parse(done.runEnd) >= Date.parse(done.runStart));
  assert.equal(done.isLatest, true);

  r = await call('POST', `/pipelineruns/${runId}/queryActivityruns${Q}`, WINDOW);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.value.length, 1);
  assert.equal(r.json.value[0].activityName, 'W');
  assert.equal(r.json.value[0].status, 'Succeeded');
  assert.equal(r.json.value[0].pipelineRunId, runId);

  // A second run: the first is no longer latest; then cancel it mid-way.
  sb.state.config.runSeconds = 20;
  r = await call('POST', `/pipelines/Wait1/createRun${Q}`, { must: 'y' });
  const run2 = r.json.runId;
  await waitStatus(run2, ['InProgress']);
  r = await call('POST', `/pipelineruns/${run2}/cancel${Q}`);
  assert.equal(r.status, 200);
  const c = await waitStatus(run2, ['Cancelled'], 5000);
  // PipelineRuns_QueryByFactory (public example): a cancelled run has no end.
  assert.equal(c.runEnd, null);
  assert.equal(c.durationInMs, null);
  // ADF's stamps: up to seven fraction digits, trailing zeros trimmed.
  for (const t of [c.runStart, c.lastUpdated, done.runStart, done.runEnd]) {
    assert.match(t, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,6}[1-9])?Z$/, t);
  }
  r = await call('POST', `/pipelineruns/${run2}/cancel${Q}`);
  assert.equal(r.status, 200, 'cancelling a cancelled run is a no-op');
  r = await call('POST', `/pipelineruns/${runId}/cancel${Q}`);
  assert.match(assertError(r, 400, 'BadRequest'), /Succeeded/);
  r = await call('POST', `/pipelineruns/${crypto.randomUUID()}/cancel${Q}`);
  assertError(r, 404, 'ResourceNotFound');
  // Cancel while still queued.
  r = await call('POST', `/pipelines/Wait1/createRun${Q}`, { must: 'z' });
  const run3 = r.json.runId;
  await call('POST', `/pipelineruns/${run3}/cancel${Q}`);
  assert.equal((await waitStatus(run3, ['Cancelled'], 3000)).status, 'Cancelled');
  sb.state.config.runSeconds = 0.4;

  r = await call('POST', `/queryPipelineRuns${Q}`, WINDOW);
  assert.equal(r.status, 200);
  assert.equal(r.json.value.length, 3);
  assert.equal(r.json.value.filter((x) => x.isLatest).length, 1);
  r = await call('POST', `/queryPipelineRuns${Q}`, { ...WINDOW, filters: [{ operand: 'Status', operator: 'In', values: ['Cancelled'] }] });
  assert.deepEqual(r.json.value.map((x) => x.runId).sort(), [run2, run3].sort());
  r = await call('POST', `/queryPipelineRuns${Q}`, { ...WINDOW, filters: [{ operand: 'Status', operator: 'NotEquals', values: ['Cancelled'] }, { operand: 'PipelineName', operator: 'Equals', values: ['Wait1'] }] });
  assert.deepEqual(r.json.value.map((x) => x.runId), [runId]);
  r = await call('POST', `/queryPipelineRuns${Q}`, { ...WINDOW, orderBy: [{ orderBy: 'RunStart', order: 'DESC' }] });
  assert.deepEqual(r.json.value.map((x) => x.runId), [run3, run2, runId]);
  // continuationToken paging, one run per page.
  const seen = [];
  let token;
  for (let i = 0; i < 5; i++) {
    r = await call('POST', `/queryPipelineRuns${Q}&$top=1`, { ...WINDOW, continuationToken: token });
    assert.equal(r.status, 200, r.text);
    seen.push(...r.json.value.map((x) => x.runId));
    token = r.json.continuationToken;
    if (!token) break;
  }
  assert.deepEqual(seen.sort(), [runId, run2, run3].sort());
  r = await call('POST', `/queryPipelineRuns${Q}`, { lastUpdatedBefore: WINDOW.lastUpdatedBefore });
  assert.match(assertError(r, 400, 'InvalidRequestContent'), /'lastUpdatedAfter' is required/);
  r = await call('POST', `/queryPipelineRuns${Q}`, { ...WINDOW, filters: [{ operand: 'Colour', operator: 'Equals', values: ['x'] }] });
  assert.match(assertError(r, 400, 'InvalidRequestContent'), /'filters\[0\]\.operand' must be one of/);
  r = await call('POST', `/queryPipelineRuns${Q}`, { ...WINDOW, filters: [{ operand: 'ActivityName', operator: 'Equals', values: ['x'] }] });
  assert.match(assertError(r, 400, 'BadRequest'), /not valid here/);
  r = await call('POST', `/queryPipelineRuns${Q}`, { ...WINDOW, continuationToken: 'garbage' });
  assertError(r, 400, 'BadRequest');
  r = await call('POST', `/queryPipelineRuns${Q}`, { lastUpdatedAfter: '2100-01-01T00:00:00Z', lastUpdatedBefore: '2200-01-01T00:00:00Z' });
  assert.deepEqual(r.json.value, []);
  r = await call('GET', `/pipelineruns/${crypto.randomUUID()}${Q}`);
  assertError(r, 404, 'ResourceNotFound');
});

test('runs started in the same second order by their seven-digit stamps', async () => {
  const f = Object.values(sb.state.data.adf)[0];
  const mk = (runStart) => {
    const runId = crypto.randomUUID();
    f.runs[runId] = { runId, runGroupId: runId, isLatest: false, pipelineName: 'Same', parameters: {}, invokedBy: {}, runStart, runEnd: runStart, durationInMs: 0, status: 'Succeeded', message: '', lastUpdated: runStart };
    f.activityRuns[runId] = [];
    return runId;
  };
  // As text "44.62Z" sorts after "44.6257014Z" and "44Z" after both.
  const a = mk('2026-11-30T10:00:44Z');
  const b = mk('2026-11-30T10:00:44.6257014Z');
  const d = mk('2026-11-30T10:00:44.62Z');
  const r = await call('POST', `/queryPipelineRuns${Q}`, { lastUpdatedAfter: '2026-11-30T00:00:00Z', lastUpdatedBefore: '2026-12-01T00:00:00Z', filters: [{ operand: 'PipelineName', operator: 'Equals', values: ['Same'] }], orderBy: [{ orderBy: 'RunStart', order: 'DESC' }] });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.value.map((x) => x.runId), [b, d, a]);
  for (const id of [a, b, d]) { delete f.runs[id]; delete f.activityRuns[id]; }
});

test('names follow ADF naming rules; only string annotations are kept', async () => {
  const ls = { properties: { type: 'AzureKeyVault', typeProperties: { baseUrl: 'https://kv.vault.azure.net/' }, annotations: ['mgdcfs', { spec: 1 }, 7, 'app=mail'] } };
  // Dashes are not allowed in linked service, dataset and data flow names.
  for (const [kind, name] of [['linkedservices', 'mgdcfs-week45-o365'], ['linkedservices', '1abc'], ['linkedservices', '_x'],
    ['datasets', 'ds-clientupload'], ['dataflows', 'flow-1'], ['pipelines', '_p'], ['pipelines', '9p'], ['pipelines', 'a.b']]) {
    const r = await call('PUT', `/${kind}/${encodeURIComponent(name)}${Q}`, ls);
    assert.match(assertError(r, 400, 'InvalidResourceName'), /contains invalid characters/, `${kind}/${name}`);
  }
  let r = await call('PUT', `/linkedservices/mgdcfs_week45_o365${Q}`, ls);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.properties.annotations, ['mgdcfs', 'app=mail']);
  r = await call('GET', `/linkedservices/MGDCFS_WEEK45_O365${Q}`);
  assert.equal(r.status, 200, 'names are case-insensitive');
  assert.deepEqual(r.json.properties.annotations, ['mgdcfs', 'app=mail']);
  // Pipelines may carry '-'.
  r = await call('PUT', `/pipelines/week-45${Q}`, { properties: { activities: [], description: 'kept as written' } });
  assert.equal(r.status, 200, r.text);
  r = await call('GET', `/pipelines/week-45${Q}`);
  assert.equal(r.json.properties.description, 'kept as written');
  // A reference to a linked service that does not exist is refused.
  r = await call('PUT', `/linkedservices/Sink2${Q}`, { properties: { type: 'AzureBlobStorage', typeProperties: { servicePrincipalKey: { type: 'AzureKeyVaultSecret', store: { referenceName: 'NoVault', type: 'LinkedServiceReference' }, secretName: 's' } } } });
  assert.match(assertError(r, 400, 'BadRequest'), /invalid reference 'NoVault'/);
  for (const p of ['/linkedservices/mgdcfs_week45_o365', '/pipelines/week-45']) await call('DELETE', `${p}${Q}`);
});

test('a run an earlier emulator process left InProgress is failed, not stuck', async () => {
  const f = Object.values(sb.state.data.adf)[0];
  const runId = crypto.randomUUID();
  const t = new Date(sb.state.now()).toISOString();
  f.runs[runId] = { runId, runGroupId: runId, isLatest: false, pipelineName: 'Wait1', parameters: {}, invokedBy: {}, runStart: t, runEnd: null, durationInMs: null, status: 'InProgress', message: '', lastUpdated: t };
  f.activityRuns[runId] = [];
  const r = await call('GET', `/pipelineruns/${runId}${Q}`);
  assert.equal(r.json.status, 'Failed');
  assert.match(r.json.message, /emulator restarted/);
  assert.ok(r.json.runEnd);
});

test('GraphServices accounts 2023-04-13', async () => {
  const c = sb.config;
  const A = `/arm/subscriptions/${c.subscriptionId}/resourceGroups/${c.resourceGroup}/providers/Microsoft.GraphServices/accounts`;
  const V = '?api-version=2023-04-13';
  const appId = c.identities.developer.appId;
  const acall = (method, path, body) => sb.fetch(path, { method, token: arm, body });
  sb.state.config.lroMs = 3000;
  let r = await acall('PUT', `${A}/mgdc-${appId}${V}`, { location: 'global', properties: { appId }, tags: { team: 'mail' } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.type, 'Microsoft.GraphServices/accounts');
  // Long-running, as the spec declares it: Accepted, then the operation ends.
  assert.equal(r.json.properties.provisioningState, 'Accepted');
  const op = r.headers['azure-asyncoperation'];
  assert.match(op, /\/providers\/Microsoft\.GraphServices\/locations\/global\/operationStatuses\/[0-9a-f-]{36}\?api-version=2023-04-13$/);
  assert.match(r.headers.location, /operationResults/);
  assert.ok(Number(r.headers['retry-after']) >= 1);
  assert.match(r.json.properties.billingPlanId, /^[0-9a-f-]{36}$/);
  const plan = r.json.properties.billingPlanId;
  let s = await acall('GET', op);
  assert.equal(s.json.status, 'InProgress');
  s = await acall('GET', r.headers.location);
  assert.equal(s.status, 202);
  for (const end = Date.now() + 10000; Date.now() < end;) {
    s = await acall('GET', op);
    if (s.json.status !== 'InProgress') break;
    await new Promise((x) => setTimeout(x, 200));
  }
  assert.equal(s.json.status, 'Succeeded', s.text);
  assert.ok(s.json.endTime);
  s = await acall('GET', r.headers.location);
  assert.equal(s.status, 200);
  assert.equal(s.json.properties.provisioningState, 'Succeeded');
  r = await acall('PUT', `${A}/mgdc-${appId}${V}`, { location: 'global', properties: { appId } });
  assert.equal(r.status, 200);
  assert.ok(r.headers['azure-asyncoperation'], 'an update is long-running too');
  assert.equal(r.json.properties.billingPlanId, plan);
  sb.state.config.lroMs = 0;
  r = await acall('PUT', `${A}/second${V}`, { properties: { appId } });
  assertError(r, 409, 'Conflict');
  r = await acall('PUT', `${A}/mgdc-${appId}${V}`, { properties: { appId: crypto.randomUUID() } });
  assertError(r, 400, 'PropertyChangeNotAllowed');
  r = await acall('PUT', `${A}/bad${V}`, { properties: { appId: 'nope' } });
  assertError(r, 400, 'InvalidRequestContent');
  r = await acall('PATCH', `${A}/mgdc-${appId}${V}`, { tags: { team: 'analytics' } });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.tags, { team: 'analytics' });
  r = await acall('GET', `${A}/mgdc-${appId}${V}`);
  assert.equal(r.json.properties.appId, appId);
  r = await acall('GET', `${A}${V}`);
  assert.equal(r.json.value.length, 1);
  r = await acall('GET', `/arm/subscriptions/${c.subscriptionId}/providers/Microsoft.GraphServices/accounts${V}`);
  assert.equal(r.json.value.length, 1);
  r = await acall('GET', `/arm/providers/Microsoft.GraphServices/operations${V}`);
  assert.ok(r.json.value.some((o) => o.name === 'Microsoft.GraphServices/accounts/write'));
  r = await acall('GET', `${A}/mgdc-${appId}?api-version=2018-06-01`);
  assert.match(assertError(r, 400, 'InvalidApiVersionParameter'), /2023-04-13/);
  r = await acall('DELETE', `${A}/mgdc-${appId}${V}`);
  assert.equal(r.status, 200);
  r = await acall('DELETE', `${A}/mgdc-${appId}${V}`);
  assert.equal(r.status, 204);
  r = await acall('GET', `${A}/mgdc-${appId}${V}`);
  assertError(r, 404, 'ResourceNotFound');
});
