'use strict';
// The Microsoft Fabric REST API of the sandbox (lib/fabric.js) against an
// in-process emulator and Azurite: tokens and roles, DataPipeline items with
// their base64 definitions (create as a long-running operation), the seeded
// lakehouse, Microsoft 365 connections, job instances run by the copy
// engine into OneLake's stand-in (read back with an independent Shared Key
// client and with a Storage-audience bearer token), cancel, activity runs,
// schedules, and the ErrorResponse shape of every refusal.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { startSandbox } = require('./helpers');
const azblob = require('../emulator/lib/azblob');

const DS = 'BasicDataSet_v0.Message_v1';
const APPROVED = ['id', 'subject', 'receivedDateTime', 'sender', 'puser', 'ptenant'];
let sb;
let W; // /fabric/v1/workspaces/{ws}
let ws;
let lh;
let onelake;
const tok = {};

const fab = (method, p, body, token = tok.dev) => sb.fetch(`/fabric/v1${p}`, { method, token, body });
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64');
const definition = (props) => ({ parts: [{ path: 'pipeline-content.json', payload: b64({ properties: props }), payloadType: 'InlineBase64' }] });

function assertError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json.errorCode, code, r.text);
  assert.equal(typeof r.json.message, 'string');
  assert.equal(typeof r.json.requestId, 'string');
  assert.equal(r.json.error, undefined, 'no ARM wrapper');
  return r.json.message;
}

// The Copy activity of mgdc-hosts.7 ("Copy from Microsoft 365 into a Lakehouse").
function copyActivity(conn, { folder = "@concat('mgdc/', pipeline().RunId)", table = DS, lakehouse = lh, source = {} } = {}) {
  return {
    name: 'CopyFromM365', type: 'Copy',
    typeProperties: {
      source: {
        type: 'Office365Source', dateFilterColumn: 'receivedDateTime',
        startTime: '@pipeline().parameters.windowStart', endTime: '@pipeline().parameters.windowEnd',
        outputColumns: ['id', 'subject'].map((name) => ({ name })),
        datasetSettings: { type: 'Office365Table', typeProperties: { tableName: table }, externalReferences: { connection: conn } },
        ...source,
      },
      sink: {
        type: 'BinarySink', storeSettings: { type: 'LakehouseWriteSettings' },
        datasetSettings: {
          type: 'Binary',
          typeProperties: { location: { type: 'LakehouseLocation', folderPath: folder } },
          linkedService: { name: 'lake', properties: { type: 'Lakehouse', typeProperties: { workspaceId: ws, artifactId: lakehouse, rootFolder: 'Files' } } },
        },
      },
    },
  };
}
const PARAMS = { windowStart: { type: 'string', defaultValue: '2026-11-01T00:00:00Z' }, windowEnd: { type: 'string', defaultValue: '2026-11-03T00:00:00Z' } };

async function connection(name, secret = sb.config.identities.developer.secret) {
  return fab('POST', '/connections', {
    connectivityType: 'ShareableCloud', displayName: name,
    connectionDetails: { type: 'Office365', creationMethod: 'Office365', parameters: [] },
    privacyLevel: 'Organizational',
    credentialDetails: {
      singleSignOnType: 'None', connectionEncryption: 'NotEncrypted', skipTestConnection: false,
      credentials: { credentialType: 'ServicePrincipal', tenantId: sb.config.tenantId, servicePrincipalClientId: sb.config.identities.developer.appId, servicePrincipalSecret: secret },
    },
  });
}

// Create a pipeline (a long-running operation when it has a definition) and wait for it.
async function createPipeline(name, props) {
  const r = await fab('POST', `/workspaces/${ws}/items`, { displayName: name, type: 'DataPipeline', definition: definition(props) });
  assert.equal(r.status, 202, r.text);
  const opId = r.headers['x-ms-operation-id'];
  assert.ok(opId);
  assert.ok(r.headers.location.endsWith(`/fabric/v1/operations/${opId}`), r.headers.location);
  assert.ok(Number(r.headers['retry-after']) >= 1);
  for (;;) {
    const s = await sb.fetch(r.headers.location, { token: tok.dev });
    assert.equal(s.status, 200, s.text);
    if (s.json.status === 'Succeeded') {
      assert.ok(s.headers.location.endsWith('/result'));
      const res = await sb.fetch(s.headers.location, { token: tok.dev });
      assert.equal(res.status, 200, res.text);
      return res.json;
    }
    assert.equal(s.json.status, 'Running');
    await new Promise((x) => setTimeout(x, 100));
  }
}

async function runJob(itemId, params) {
  const r = await fab('POST', `/workspaces/${ws}/items/${itemId}/jobs/instances?jobType=Pipeline`, params ? { executionData: { parameters: params } } : undefined);
  assert.equal(r.status, 202, r.text);
  assert.equal(r.text, '');
  const m = /\/items\/([^/]+)\/jobs\/instances\/([0-9a-f-]{36})$/.exec(r.headers.location);
  assert.ok(m && m[1] === itemId, r.headers.location);
  return { id: m[2], location: r.headers.location };
}

async function waitJob(loc, want = ['Completed', 'Failed', 'Cancelled']) {
  const end = Date.now() + 60000;
  for (;;) {
    const g = await sb.fetch(loc, { token: tok.dev });
    assert.equal(g.status, 200, g.text);
    if (want.includes(g.json.status)) return g.json;
    if (Date.now() > end) throw new Error(`job stuck in ${g.json.status}`);
    await new Promise((x) => setTimeout(x, 50));
  }
}

test.before(async () => {
  sb = await startSandbox({ azurite: true });
  sb.state.config.runSeconds = 0.3;
  sb.state.config.lroMs = 300;
  const c = sb.config;
  ws = c.fabric.workspaceId;
  lh = c.fabric.lakehouseId;
  W = `/workspaces/${ws}`;
  tok.dev = await sb.token('developer', 'https://api.fabric.microsoft.com/.default');
  tok.admin = await sb.token('admin', 'https://api.fabric.microsoft.com/.default');
  tok.reader = await sb.token('reader', 'https://api.fabric.microsoft.com/.default');
  tok.arm = await sb.token('developer', 'https://management.azure.com/.default');
  tok.storage = await sb.token('developer', 'https://storage.azure.com/.default');
  const regTok = { dev: await sb.token('developer', 'api://mgdc-registration/.default'), admin: await sb.token('admin', 'api://mgdc-registration/.default') };
  const reg = `/mgdc/v1/tenants/${c.tenantId}/registrations/${c.identities.developer.appId}`;
  let r = await sb.fetch(reg, {
    method: 'PUT', token: regTok.dev,
    body: {
      name: 'fabric-mail', computeType: 'MicrosoftFabric',
      datasets: [{ name: DS, columns: APPROVED, scope: { kind: 'AllUsers' } }],
      destination: { type: 'FabricLakehouse', storageAccount: c.fabric.oneLakeAccount, container: ws, folder: `${lh}/Files/mgdc` },
    },
  });
  assert.equal(r.status, 201, r.text);
  r = await sb.fetch(`${reg}/approve`, { method: 'POST', token: regTok.admin });
  assert.equal(r.status, 200, r.text);
  onelake = azblob.client({ url: c.fabric.oneLakeUrl, account: c.fabric.oneLakeAccount, key: c.storageKey, ca: c.caFile });
});
test.after(async () => {
  if (onelake) onelake.close();
  if (sb) await sb.stop();
});

test('tokens: the Fabric audience (or Power BI\'s) only, refused in ErrorResponse shape', async () => {
  let r = await fab('GET', '/workspaces', undefined, null);
  assertError(r, 401, 'Unauthorized');
  r = await fab('GET', '/workspaces', undefined, tok.arm);
  assert.match(assertError(r, 401, 'InvalidAuthenticationToken'), /api\.fabric\.microsoft\.com/);
  r = await fab('GET', '/workspaces', undefined, tok.storage);
  assertError(r, 401, 'InvalidAuthenticationToken');
  const pbi = await sb.token('developer', 'https://analysis.windows.net/powerbi/api/.default');
  r = await fab('GET', '/workspaces', undefined, pbi);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.value.map((w) => w.id), [ws]);
});

test('workspace: seeded roles; a Viewer reads but cannot write; unknown workspaces are 404', async () => {
  let r = await fab('GET', `${W}/roleAssignments`);
  assert.equal(r.status, 200, r.text);
  const roles = Object.fromEntries(r.json.value.map((a) => [a.principal.servicePrincipalDetails.aadAppId, a.role]));
  assert.equal(roles[sb.config.identities.developer.appId], 'Contributor');
  assert.equal(roles[sb.config.identities.admin.appId], 'Admin');
  assert.equal(roles[sb.config.identities.reader.appId], 'Viewer');
  r = await fab('GET', `${W}/items`, undefined, tok.reader);
  assert.equal(r.status, 200, r.text);
  r = await fab('POST', `${W}/items`, { displayName: 'x', type: 'DataPipeline' }, tok.reader);
  assertError(r, 403, 'InsufficientPrivileges');
  r = await fab('GET', `/workspaces/${crypto.randomUUID()}/items`);
  assertError(r, 404, 'WorkspaceNotFound');
  r = await fab('GET', `${W}/nothing-here`);
  assertError(r, 404, 'EntityNotFound');
});

test('items: create without a definition (201), names unique per type, PATCH, paging, delete', async () => {
  let r = await fab('POST', `${W}/items`, { displayName: 'empty one', type: 'DataPipeline', description: 'd' });
  assert.equal(r.status, 201, r.text);
  const id = r.json.id;
  assert.deepEqual(r.json, { id, type: 'DataPipeline', displayName: 'empty one', description: 'd', workspaceId: ws });
  r = await fab('POST', `${W}/items`, { displayName: 'EMPTY ONE', type: 'DataPipeline' });
  assertError(r, 409, 'ItemDisplayNameAlreadyInUse');
  r = await fab('POST', `${W}/items`, { displayName: 'n', type: 'Notebook' });
  assertError(r, 400, 'InvalidItemType');
  r = await fab('POST', `${W}/items`, { displayName: '', type: 'DataPipeline' });
  assertError(r, 400, 'InvalidDisplayName');
  r = await fab('POST', `${W}/items/${id}/getDefinition`);
  assert.equal(r.status, 200, r.text);
  const content = JSON.parse(Buffer.from(r.json.definition.parts[0].payload, 'base64').toString('utf8'));
  assert.deepEqual(content, { properties: { activities: [] } });
  r = await fab('PATCH', `${W}/items/${id}`, { displayName: 'renamed' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.displayName, 'renamed');
  for (let i = 0; i < 3; i++) assert.equal((await fab('POST', `${W}/items`, { displayName: `p${i}`, type: 'DataPipeline' })).status, 201);
  const seen = [];
  let url = `/fabric/v1${W}/items?type=DataPipeline&$top=2`;
  for (let pages = 0; url; pages++) {
    assert.ok(pages < 10);
    r = await sb.fetch(url, { token: tok.dev });
    assert.equal(r.status, 200, r.text);
    seen.push(...r.json.value.map((x) => x.displayName));
    assert.equal(!!r.json.continuationToken, !!r.json.continuationUri);
    url = r.json.continuationUri;
  }
  for (const n of ['renamed', 'p0', 'p1', 'p2']) assert.ok(seen.includes(n), seen.join());
  r = await fab('GET', `${W}/items?type=Lakehouse`);
  assert.deepEqual(r.json.value.map((x) => x.id), [lh]);
  r = await fab('DELETE', `${W}/items/${id}`);
  assert.equal(r.status, 200, r.text);
  assertError(await fab('GET', `${W}/items/${id}`), 404, 'ItemNotFound');
  assertError(await fab('DELETE', `${W}/items/${lh}`), 400, 'OperationNotSupportedForItem');
});

test('definitions: parts, base64 alphabet and payload shape are checked', async () => {
  const post = (def) => fab('POST', `${W}/items`, { displayName: `bad-${crypto.randomUUID()}`, type: 'DataPipeline', definition: def });
  assertError(await post({ parts: [] }), 400, 'InvalidDefinitionParts');
  assertError(await post({ parts: [{ path: 'pipeline-content.json', payload: 'e30=', payloadType: 'Inline' }] }), 400, 'InvalidDefinition');
  assertError(await post({ parts: [{ path: 'other.json', payload: 'e30=', payloadType: 'InlineBase64' }] }), 400, 'InvalidDefinitionParts');
  // '{"properties":{}}?' encodes with '/' in standard base64; URL-safe gives '_'.
  const urlSafe = Buffer.from('{"properties":{"activities":[]}}??>').toString('base64url');
  assert.match(urlSafe, /[-_]/);
  assertError(await post({ parts: [{ path: 'pipeline-content.json', payload: urlSafe, payloadType: 'InlineBase64' }] }), 400, 'CorruptedPayload');
  assertError(await post({ parts: [{ path: 'pipeline-content.json', payload: b64({ activities: [] }), payloadType: 'InlineBase64' }] }), 400, 'CorruptedPayload');
  assertError(await post(definition({ activities: [{ name: 'a', type: 'Wait' }, { name: 'A', type: 'Wait' }] })), 400, 'CorruptedPayload');
  let m = assertError(await post(definition({ activities: [copyActivity(crypto.randomUUID())] })), 400, 'InvalidConnectionReference');
  assert.match(m, /does not exist/);
  const c = await connection(`refcheck-${crypto.randomUUID()}`);
  assert.equal(c.status, 201, c.text);
  m = assertError(await post(definition({ activities: [copyActivity(c.json.id, { lakehouse: crypto.randomUUID() })] })), 400, 'InvalidLakehouseReference');
  assert.match(m, /lakehouse/);
});

test('connections: Microsoft 365 with a service principal; secret never returned; bad ones refused', async () => {
  let r = await fab('GET', '/connections/supportedConnectionTypes');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.value[0].supportedCredentialTypes, ['ServicePrincipal']);
  r = await connection('m365-conn');
  assert.equal(r.status, 201, r.text);
  assert.ok(!r.text.includes(sb.config.identities.developer.secret), 'secret echoed');
  assert.equal(r.json.credentialDetails.credentialType, 'ServicePrincipal');
  const id = r.json.id;
  assertError(await connection('M365-CONN'), 409, 'DuplicateConnectionName');
  assertError(await connection('wrong-secret', 'not-the-secret'), 400, 'IncorrectCredentials');
  r = await fab('POST', '/connections', { connectivityType: 'ShareableCloud', displayName: 'sql', connectionDetails: { type: 'SQL', creationMethod: 'SQL', parameters: [] }, credentialDetails: {} });
  assertError(r, 400, 'InvalidConnectionDetails');
  r = await fab('GET', `/connections/${id}`);
  assert.equal(r.status, 200, r.text);
  assert.ok(!r.text.includes(sb.config.identities.developer.secret));
  r = await fab('DELETE', `/connections/${id}`);
  assert.equal(r.status, 200, r.text);
  assertError(await fab('GET', `/connections/${id}`), 404, 'ConnectionNotFound');
});

test('lakehouse: OneLake paths in the stand-in account', async () => {
  const r = await fab('GET', `${W}/lakehouses/${lh}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.properties.oneLakeFilesPath, `${sb.config.fabric.oneLakeUrl}/${ws}/${lh}/Files`);
});

test('run: the copy engine writes the rows into OneLake; job instance and activity runs as Fabric shows them', async () => {
  const c = await connection('run-conn');
  assert.equal(c.status, 201, c.text);
  const item = await createPipeline('mail-week', { activities: [copyActivity(c.json.id)], parameters: PARAMS });
  assert.equal(item.type, 'DataPipeline');
  // The definition round-trips byte for byte.
  const d = await fab('POST', `${W}/items/${item.id}/getDefinition`);
  const props = JSON.parse(Buffer.from(d.json.definition.parts[0].payload, 'base64').toString('utf8')).properties;
  assert.equal(props.activities[0].typeProperties.source.datasetSettings.externalReferences.connection, c.json.id);
  const job = await runJob(item.id);
  const inst = await waitJob(job.location);
  assert.equal(inst.status, 'Completed', JSON.stringify(inst));
  assert.equal(inst.jobType, 'Pipeline');
  assert.equal(inst.invokeType, 'Manual');
  assert.equal(inst.itemId, item.id);
  assert.equal(inst.failureReason, null);
  assert.match(inst.startTimeUtc, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}$/);
  assert.match(inst.endTimeUtc, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}$/);
  // Activity runs: a bare array, ADF-shaped, pipelineName the item id.
  const acts = await fab('POST', `${W}/datapipelines/pipelineruns/${job.id}/queryactivityruns`, { filters: [], orderBy: [{ orderBy: 'ActivityRunStart', order: 'DESC' }], lastUpdatedAfter: '2000-01-01T00:00:00Z', lastUpdatedBefore: '2200-01-01T00:00:00Z' });
  assert.equal(acts.status, 200, acts.text);
  assert.ok(Array.isArray(acts.json));
  assert.equal(acts.json[0].pipelineName, item.id);
  assert.equal(acts.json[0].pipelineRunId, job.id);
  assert.equal(acts.json[0].status, 'Succeeded');
  const out = acts.json[0].output;
  // Independent check: list and read the folder in the OneLake stand-in.
  const folder = `${lh}/Files/mgdc/${job.id}`;
  const list = await onelake.list(ws, `${folder}/`);
  let rows = 0;
  let meta = null;
  for (const b of list) {
    const buf = await onelake.get(ws, b.name);
    if (b.name.endsWith('metadata/JobMetadata/metadata.json')) meta = JSON.parse(buf.toString('utf8'));
    else rows += buf.toString('utf8').split('\n').filter(Boolean).length;
  }
  assert.ok(meta, 'JobMetadata written');
  assert.ok(rows > 0);
  assert.equal(meta.NumberOfRowsExtracted, rows);
  assert.equal(out.rowsCopied, rows);
  assert.equal(meta.DataFactoryName, sb.config.fabric.workspaceName);
  // OneLake is read with a Storage-audience bearer token (Azurite checks it).
  const u = `${sb.config.fabric.oneLakeUrl}/${ws}?restype=container&comp=list&prefix=${encodeURIComponent(`${folder}/`)}`;
  let r = await sb.fetch(u, { token: tok.storage, headers: { 'x-ms-version': '2021-08-06' } });
  assert.equal(r.status, 200, r.text);
  assert.equal((r.text.match(/<Blob>/g) || []).length, list.length);
  r = await sb.fetch(u, { token: tok.dev, headers: { 'x-ms-version': '2021-08-06' } });
  assert.notEqual(r.status, 200, 'a Fabric-audience token does not read OneLake');
  // The instance list shows it.
  r = await fab('GET', `${W}/items/${item.id}/jobs/instances`);
  assert.ok(r.json.value.some((x) => x.id === job.id));
});

test('run: consent is enforced as for ADF (outside the approved folder, unapproved column)', async () => {
  const c = await connection('consent-conn');
  let item = await createPipeline('outside', { activities: [copyActivity(c.json.id, { folder: 'elsewhere' })], parameters: PARAMS });
  let inst = await waitJob((await runJob(item.id)).location);
  assert.equal(inst.status, 'Failed');
  assert.equal(inst.failureReason.errorCode, 'JobInstanceStatusFailed');
  assert.match(inst.failureReason.message, /ConsentNotFound: the destination/);
  item = await createPipeline('badcol', { activities: [copyActivity(c.json.id, { source: { outputColumns: [{ name: 'bodyPreview' }] } })], parameters: PARAMS });
  inst = await waitJob((await runJob(item.id)).location);
  assert.equal(inst.status, 'Failed');
  assert.match(inst.failureReason.message, /not consented to for data: bodyPreview/);
});

test('jobs: jobType, required parameters, cancel and JobAlreadyCompleted', async () => {
  const c = await connection('job-conn');
  const item = await createPipeline('job-rules', { activities: [copyActivity(c.json.id)], parameters: { windowStart: { type: 'string' }, windowEnd: { type: 'string' } } });
  let r = await fab('POST', `${W}/items/${item.id}/jobs/instances?jobType=Execute`);
  assertError(r, 400, 'InvalidJobType');
  r = await fab('POST', `${W}/items/${item.id}/jobs/instances?jobType=Pipeline`);
  assert.match(assertError(r, 400, 'InvalidInput'), /windowStart/);
  r = await fab('POST', `${W}/items/${lh}/jobs/instances?jobType=Pipeline`);
  assertError(r, 404, 'ItemNotFound');
  r = await fab('POST', `${W}/items/${item.id}/jobs/instances?jobType=Pipeline`, { executionData: { parameters: { windowStart: '2026-11-01T00:00:00Z', windowEnd: '2026-11-03T00:00:00Z' } } }, tok.reader);
  assertError(r, 403, 'InsufficientPrivileges');
  sb.state.config.runSeconds = 5;
  try {
    const job = await runJob(item.id, { windowStart: '2026-11-01T00:00:00Z', windowEnd: '2026-11-03T00:00:00Z' });
    r = await fab('POST', `${W}/items/${item.id}/jobs/instances/${job.id}/cancel`);
    assert.equal(r.status, 202, r.text);
    assert.equal(r.headers.location, job.location);
    const inst = await waitJob(job.location);
    assert.equal(inst.status, 'Cancelled');
    r = await fab('POST', `${W}/items/${item.id}/jobs/instances/${job.id}/cancel`);
    assertError(r, 400, 'JobAlreadyCompleted');
  } finally {
    sb.state.config.runSeconds = 0.3;
  }
  assertError(await fab('GET', `${W}/items/${item.id}/jobs/instances/${crypto.randomUUID()}`), 404, 'ItemJobInstanceNotFound');
});

test('schedules: ScheduleConfig checked; create, get, patch, list, delete', async () => {
  const r0 = await fab('POST', `${W}/items`, { displayName: 'scheduled', type: 'DataPipeline' });
  const S = `${W}/items/${r0.json.id}/jobs/Pipeline/schedules`;
  const cfg = { type: 'Cron', interval: 1440, startDateTime: '2026-12-01T00:00:00Z', endDateTime: '2027-12-01T00:00:00Z', localTimeZoneId: 'UTC' };
  let r = await fab('POST', S, { enabled: true, configuration: { ...cfg, interval: 0 } });
  assertError(r, 400, 'InvalidScheduleConfiguration');
  r = await fab('POST', S, { enabled: true, configuration: { ...cfg, endDateTime: cfg.startDateTime } });
  assertError(r, 400, 'InvalidScheduleConfiguration');
  r = await fab('POST', S, { enabled: true, configuration: { type: 'Daily', times: ['25:00'], startDateTime: cfg.startDateTime, endDateTime: cfg.endDateTime, localTimeZoneId: 'UTC' } });
  assertError(r, 400, 'InvalidScheduleConfiguration');
  r = await fab('POST', S, { enabled: true, configuration: cfg });
  assert.equal(r.status, 201, r.text);
  const id = r.json.id;
  assert.ok(r.headers.location.endsWith(`/schedules/${id}`));
  r = await fab('PATCH', `${S}/${id}`, { enabled: false });
  assert.equal(r.json.enabled, false);
  r = await fab('GET', S);
  assert.deepEqual(r.json.value.map((s) => s.id), [id]);
  assert.equal((await fab('DELETE', `${S}/${id}`)).status, 200);
  assertError(await fab('GET', `${S}/${id}`), 404, 'ItemScheduleNotFound');
});

// Move the emulator clock; Fabric tokens live on it, so take a new one.
async function clock(body) {
  const r = await sb.fetch('/_faults/clock', { method: 'POST', body });
  assert.equal(r.status, 200, r.text);
  tok.dev = await sb.token('developer', 'https://api.fabric.microsoft.com/.default');
  return Date.parse(r.json.now);
}

test('schedules run on the emulator clock: one job per occurrence, Scheduled, with its trigger time; disabled, none', async () => {
  const item = await createPipeline('daily', {
    activities: [{ name: 'Hold', type: 'Wait', typeProperties: { waitTimeInSeconds: 1 } }],
  });
  const S = `${W}/items/${item.id}/jobs/Pipeline/schedules`;
  const now = await clock({ advanceSeconds: 0 });
  const start = new Date(now + 60000).toISOString().slice(0, 19) + 'Z';
  const end = new Date(now + 30 * 86400000).toISOString().slice(0, 19) + 'Z';
  let r = await fab('POST', S, { enabled: true, configuration: { type: 'Cron', interval: 1440, startDateTime: start, endDateTime: end, localTimeZoneId: 'UTC' } });
  assert.equal(r.status, 201, r.text);
  const sid = r.json.id;
  const scheduled = async () => (await fab('GET', `${W}/items/${item.id}/jobs/instances`)).json.value.filter((j) => j.invokeType === 'Scheduled');
  assert.equal((await scheduled()).length, 0, 'nothing before the start');
  // Each day is its own step, so every run ends before the next occurrence.
  for (let d = 0; d < 7; d++) {
    await clock({ advanceDays: 1 });
    const want = d + 1;
    const until = Date.now() + 30000;
    let jobs;
    for (;;) {
      jobs = await scheduled();
      if (jobs.length === want && jobs.every((j) => ['Completed', 'Failed', 'Cancelled', 'Deduped'].includes(j.status))) break;
      assert.ok(Date.now() < until, `day ${want}: ${JSON.stringify(jobs.map((j) => j.status))}`);
      await new Promise((x) => setTimeout(x, 100));
    }
  }
  const jobs = await scheduled();
  assert.deepEqual(jobs.map((j) => j.status), Array(7).fill('Completed'));
  // The trigger times (the pipeline's @pipeline().TriggerTime) are the seven occurrences, a day apart.
  const times = jobs.map((j) => Date.parse(sb.state.data.fabric.workspaces[ws].runs[j.id].triggerTime)).sort((a, b) => a - b);
  for (let i = 0; i < 7; i++) assert.equal(times[i], Date.parse(start) + i * 86400000);
  r = await fab('PATCH', `${S}/${sid}`, { enabled: false });
  assert.equal(r.status, 200, r.text);
  await clock({ advanceDays: 2 });
  await new Promise((x) => setTimeout(x, 600));
  assert.equal((await scheduled()).length, 7, 'a disabled schedule starts nothing');
  await clock({ advanceDays: -9 });
});

test('schedules: an occurrence while the last job runs is Deduped', async () => {
  const item = await createPipeline('slow', { activities: [] });
  const S = `${W}/items/${item.id}/jobs/Pipeline/schedules`;
  sb.state.config.runSeconds = 5;
  try {
    const now = Date.parse((await sb.fetch('/_faults/clock')).json.now);
    const job = await runJob(item.id);
    const start = new Date(now + 60000).toISOString().slice(0, 19) + 'Z';
    const r = await fab('POST', S, { enabled: true, configuration: { type: 'Cron', interval: 60, startDateTime: start, endDateTime: new Date(now + 86400000).toISOString().slice(0, 19) + 'Z', localTimeZoneId: 'UTC' } });
    assert.equal(r.status, 201, r.text);
    await clock({ advanceSeconds: 120 });
    const until = Date.now() + 10000;
    let d;
    while (!(d = (await fab('GET', `${W}/items/${item.id}/jobs/instances`)).json.value.find((j) => j.invokeType === 'Scheduled'))) {
      assert.ok(Date.now() < until);
      await new Promise((x) => setTimeout(x, 100));
    }
    assert.equal(d.status, 'Deduped');
    assert.match(d.failureReason.message, /already running/);
    await fab('POST', `${W}/items/${item.id}/jobs/instances/${job.id}/cancel`);
    await fab('DELETE', `${W}/items/${item.id}`);
    await clock({ advanceSeconds: -120 });
  } finally {
    sb.state.config.runSeconds = 0.3;
  }
});

test('faults: injected ones answer in Fabric\'s ErrorResponse shape, with Retry-After', async () => {
  let r = await sb.fetch('/_faults', { method: 'POST', body: { route: `^GET /fabric/v1/workspaces/${ws}$`, status: 429, retryAfter: 2, count: 1 } });
  assert.equal(r.status, 201, r.text);
  r = await fab('GET', W);
  assert.equal(assertError(r, 429, 'RequestBlocked'), 'Injected fault: HTTP 429.');
  assert.equal(r.json.isRetriable, true);
  assert.equal(r.headers['retry-after'], '2');
  r = await fab('GET', W);
  assert.equal(r.status, 200, 'the rule fired once');
});
