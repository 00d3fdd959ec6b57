'use strict';
// The copy engine end to end: register and approve an app, build an MGDC
// pipeline over ADF REST, run it, and read the export back from Azurite
// with an independent Shared Key client. Checks the data against the
// catalog schema, the requested columns, the date window, the users in
// scope and JobMetadata; determinism by sha256; every consent rule of
// reference §2.1 by the failure envelope of §7.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { startSandbox, checkType } = require('./helpers');
const azblob = require('../emulator/lib/azblob');
const { directory } = require('../emulator/lib/copy');
const expr = require('../emulator/lib/expr');

const Q = '?api-version=2018-06-01';
const DS = 'BasicDataSet_v0.Message_v1';
const APPROVED = ['id', 'subject', 'receivedDateTime', 'sender', 'toRecipients', 'hasAttachments', 'importance', 'categories', 'puser', 'ptenant'];
const catalog = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'catalog.json'), 'utf8'));
const schema = new Map(catalog.datasets.find((d) => d.name === DS).columns.map((c) => [c.name, c.type]));
let sb;
let blob;
let F;
let reg;
const tok = {};

async function tokens() {
  tok.arm = await sb.token('developer', 'https://management.azure.com/.default');
  tok.dev = await sb.token('developer', 'api://mgdc-registration/.default');
  tok.admin = await sb.token('admin', 'api://mgdc-registration/.default');
}
const arm = (method, p, body) => sb.fetch(`${F}${p}${p.includes('?') ? '&' : '?'}api-version=2018-06-01`, { method, token: tok.arm, body });
const regCall = (who, method, p, body) => sb.fetch(`${reg}${p}`, { method, token: tok[who], body });

async function put(p, body) {
  const r = await arm('PUT', p, body);
  assert.equal(r.status, 200, `${p}: ${r.text}`);
}

// One MGDC pipeline: Office365 source -> Binary sink, folder from an expression.
async function pipeline(name, { appLs = 'O365', source = {}, container = 'exports', folder = "@concat('mail/', pipeline().RunId)" } = {}) {
  await put(`/datasets/Out_${name}`, {
    properties: {
      type: 'Binary', linkedServiceName: { referenceName: 'Sink', type: 'LinkedServiceReference' },
      typeProperties: { location: { type: 'AzureBlobStorageLocation', container, folderPath: { value: folder, type: 'Expression' } } },
    },
  });
  await put(`/datasets/Src_${name}`, {
    properties: { type: 'Office365Table', linkedServiceName: { referenceName: appLs, type: 'LinkedServiceReference' }, typeProperties: { tableName: source.tableName || DS } },
  });
  const src = {
    type: 'Office365Source', dateFilterColumn: 'receivedDateTime',
    startTime: { value: '@pipeline().parameters.start', type: 'Expression' },
    endTime: { value: '@pipeline().parameters.end', type: 'Expression' },
    outputColumns: ['id', 'subject', 'receivedDateTime', 'sender'].map((n) => ({ name: n })),
    ...source,
  };
  delete src.tableName;
  await put(`/pipelines/${name}`, {
    properties: {
      activities: [{
        name: 'CopyFromM365', type: 'Copy',
        inputs: [{ referenceName: `Src_${name}`, type: 'DatasetReference' }],
        outputs: [{ referenceName: `Out_${name}`, type: 'DatasetReference' }],
        typeProperties: { source: src, sink: { type: 'BinarySink' } },
      }],
      parameters: {
        start: { type: 'string', defaultValue: '2026-11-01T00:00:00Z' },
        end: { type: 'string', defaultValue: '2026-11-03T00:00:00Z' },
      },
    },
  });
}

async function run(name, params = {}) {
  const r = await arm('POST', `/pipelines/${name}/createRun`, params);
  assert.equal(r.status, 200, r.text);
  const { runId } = r.json;
  const end = Date.now() + 60000;
  for (;;) {
    const g = await arm('GET', `/pipelineruns/${runId}`);
    if (['Succeeded', 'Failed', 'Cancelled'].includes(g.json.status)) {
      const acts = await arm('POST', `/pipelineruns/${runId}/queryActivityruns`, { lastUpdatedAfter: '2000-01-01T00:00:00Z', lastUpdatedBefore: '2200-01-01T00:00:00Z' });
      return { run: g.json, act: acts.json.value[0] };
    }
    if (Date.now() > end) throw new Error(`run ${runId} stuck in ${g.json.status}`);
    await new Promise((x) => setTimeout(x, 50));
  }
}

// Failure in the documented envelope, with `reason` in the message.
function assertFails(res, reason) {
  assert.equal(res.run.status, 'Failed', JSON.stringify(res.run));
  const e = res.act.error;
  assert.equal(e.errorCode, '2200');
  assert.equal(e.failureType, 'UserError');
  assert.equal(e.target, 'CopyFromM365');
  assert.ok(e.message.startsWith("ErrorCode=UserErrorOffice365DataLoaderError,'Type=Microsoft.DataTransfer.Common.Shared.HybridDeliveryException,Message=Office365 data loading failed to execute. "), e.message);
  assert.ok(e.message.endsWith(",Source=Microsoft.DataTransfer.ClientLibrary,'"), e.message);
  assert.match(e.message, reason);
  assert.equal(res.run.message, `Operation on target CopyFromM365 failed: ${e.message}`);
  assert.equal(res.act.status, 'Failed');
}

// Every blob under a run's folder: data files (name -> Buffer) and metadata.
async function readExport(folder, container = 'exports') {
  const list = await blob.list(container, `${folder}/`);
  const files = {};
  let meta = null;
  for (const b of list) {
    const rel = b.name.slice(folder.length + 1);
    const buf = await blob.get(container, b.name);
    assert.equal(buf.length, b.size);
    if (rel === 'metadata/JobMetadata/metadata.json') meta = JSON.parse(buf.toString('utf8'));
    else files[rel] = buf;
  }
  return { files, meta };
}

const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');
const rowsOf = (files) => Object.values(files).flatMap((b) => b.toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));


test.before(async () => {
  sb = await startSandbox({ azurite: true });
  sb.state.config.runSeconds = 0.3;
  const c = sb.config;
  F = `/arm/subscriptions/${c.subscriptionId}/resourceGroups/${c.resourceGroup}/providers/Microsoft.DataFactory/factories/${c.factory}`;
  reg = `/mgdc/v1/tenants/${c.tenantId}/registrations`;
  blob = azblob.client({ url: c.blobUrl, account: c.storageAccount, key: c.storageKey, ca: c.caFile });
  await tokens();
  const appId = c.identities.developer.appId;
  let r = await regCall('dev', 'PUT', `/${appId}`, {
    name: 'mail-insights',
    datasets: [
      { name: DS, columns: APPROVED, scope: { kind: 'AllUsers' } },
      { name: 'BasicDataSet_v0.User_v1', columns: ['id', 'displayName', 'department', 'mail', 'puser', 'ptenant'], scope: { kind: 'AllUsers' } },
      { name: 'BasicDataSet_v0.CalendarView_v0', columns: ['id', 'subject', 'start', 'end', 'organizer', 'isAllDay'], scope: { kind: 'AllUsers' } },
      { name: 'BasicDataSet_v0.SharePointSites_v1', columns: ['Id', 'Url', 'StorageUsed', 'RootWeb', 'SnapshotDate', 'Operation'], scope: { kind: 'AllSites' } },
      { name: 'BasicDataSet_v0.SharePointFileActions_v1', columns: ['SiteId', 'ItemName', 'ActionName', 'ActionDate', 'SnapshotDate'], scope: { kind: 'AllSites' } },
      { name: 'BasicDataSet_v0.OneDriveSyncHealth_v1', columns: ['Id', 'puser', 'DeviceName', 'TotalErrorCount'], scope: { kind: 'AllSites' } },
      { name: 'BasicDataSet_v0.Contact_v0', columns: ['Id', 'DisplayName'], scope: { kind: 'AllUsers' } },
      { name: 'VivaInsightsDataset_Report_v1_WeeklyCollab', columns: ['PersonId', 'MetricDate', 'Collaboration hours'], scope: { kind: 'AllUsers' } },
    ],
    destination: { storageAccount: c.storageAccount, container: 'exports', folder: 'mail' },
  });
  assert.equal(r.status, 201, r.text);
  r = await regCall('admin', 'POST', `/${appId}/approve`);
  assert.equal(r.status, 200, r.text);
  const secret = { type: 'SecureString', value: c.identities.developer.secret };
  await put('/linkedservices/O365', { properties: { type: 'Office365', typeProperties: { office365TenantId: c.tenantId, servicePrincipalTenantId: c.tenantId, servicePrincipalId: appId, servicePrincipalKey: secret } } });
  await put('/linkedservices/Sink', { properties: { type: 'AzureBlobStorage', typeProperties: { serviceEndpoint: `https://${c.storageAccount}.blob.core.windows.net/`, servicePrincipalId: appId, servicePrincipalKey: secret } } });
});
test.after(async () => {
  if (blob) blob.close();
  if (sb) await sb.stop();
});

test('Shared Key string-to-sign matches the strings Azurite logged (blob-storage.md §1.2)', () => {
  const date = 'Fri, 27 Nov 2026 05:45:16 GMT';
  let sts = azblob.stringToSign('PUT', '/devstoreaccount1/c1', new URLSearchParams('restype=container'),
    { 'x-ms-date': date, 'x-ms-version': '2021-08-06', 'content-length': '0' }, 'devstoreaccount1');
  assert.equal(sts, `PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:${date}\nx-ms-version:2021-08-06\n/devstoreaccount1/devstoreaccount1/c1\nrestype:container`);
  sts = azblob.stringToSign('GET', '/devstoreaccount1/abc', new URLSearchParams('restype=container&comp=list&prefix=a%20b'),
    { 'x-ms-version': '2021-08-06', 'x-ms-range': 'bytes=0-1', 'x-ms-date': 'Fri, 27 Nov 2026 05:54:21 GMT' }, 'devstoreaccount1');
  assert.equal(sts, 'GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Fri, 27 Nov 2026 05:54:21 GMT\nx-ms-range:bytes=0-1\nx-ms-version:2021-08-06\n/devstoreaccount1/devstoreaccount1/abc\ncomp:list\nprefix:a b\nrestype:container');
});

test('azblob: a kept-alive socket the server dropped is retried once, on a connection of its own', async () => {
  const http = require('node:http');
  // Answers the first request of each connection, drops the connection at the second
  // (what a server's idle timeout does to a request racing it), and counts.
  let answered = 0;
  let dropped = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      req.socket.served = (req.socket.served || 0) + 1;
      if (req.socket.served > 1) {
        dropped++;
        req.socket.destroy();
        return;
      }
      answered++;
      res.writeHead(201, { etag: '"0x1"' });
      res.end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const c = azblob.client({ url: `http://127.0.0.1:${server.address().port}/acct`, account: 'acct', key: Buffer.from('k').toString('base64') });
  try {
    // Three at once leave three kept-alive sockets in the pool, each of which the
    // server drops at its next request: the retry must not take another of them.
    const first = await Promise.all(['a', 'b', 'c'].map((n) => c.putBlob('c', n, Buffer.from('x'))));
    assert.deepEqual(first, ['"0x1"', '"0x1"', '"0x1"']);
    assert.equal(await c.putBlob('c', 'd', Buffer.from('y')), '"0x1"', 'the dropped request is sent again');
    assert.deepEqual([answered, dropped], [4, 1]);
  } finally {
    c.close();
    server.close();
  }
});

test('ADF expressions: pipeline(), dataset(), concat, literals, @@ and @{} interpolation', () => {
  const ctx = { pipeline: { RunId: 'r-1', Pipeline: 'p', parameters: { folder: 'mail', n: 3, 'odd name': 'x' } }, dataset: { sub: 'week45' } };
  const cases = [
    [{ value: "@concat('mail/week45/', pipeline().RunId)", type: 'Expression' }, 'mail/week45/r-1'],
    [{ value: 'pipeline().parameters.folder', type: 'Expression' }, 'mail'],
    ['@pipeline().parameters.n', 3],
    ["@pipeline().parameters['odd name']", 'x'],
    ['@pipeline().runid', 'r-1'],
    ["@concat(pipeline().parameters.folder, '/', dataset().sub, '/', pipeline().RunId)", 'mail/week45/r-1'],
    ["@concat('it''s', ' ', toUpper('a'))", "it's A"],
    ['@@not-an-expression', '@not-an-expression'],
    ['out/@{pipeline().parameters.folder}/@{pipeline().RunId}', 'out/mail/r-1'],
    ['plain text', 'plain text'],
    [{ nested: ['@pipeline().RunId', 1, true, null] }, { nested: ['r-1', 1, true, null] }],
  ];
  for (const [input, want] of cases) assert.deepEqual(expr.resolve(input, ctx), want, JSON.stringify(input));
  for (const bad of ['@nope()', '@pipeline().parameters.missing', "@concat('a'", '@pipeline(1)', '@concat(1 2)', `@${'concat('.repeat(40)}${')'.repeat(40)}`, '@{unterminated']) {
    assert.throws(() => expr.resolve(`${bad.startsWith('@') ? '' : 'x'}${bad}`, ctx), expr.ExprError, bad);
  }
  assert.throws(() => expr.resolve(`@concat('${'a'.repeat(9000)}')`, ctx), /longer than/);
});

test('an approved run writes the requested data, checked against the catalog', async () => {
  await pipeline('mail');
  const res = await run('mail', { sandboxUsers: 20, sandboxItemsPerDay: 3 });
  assert.equal(res.run.status, 'Succeeded', JSON.stringify(res));
  const folder = `mail/${res.run.runId}`;
  assert.equal(res.run.runDimensions.OutputFolder, folder);
  const { files, meta } = await readExport(folder);
  const names = Object.keys(files);
  assert.ok(names.length >= 2, 'users are split across several extraction jobs');
  for (const n of names) assert.match(n, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.json$/);
  const rows = rowsOf(files);
  // 20 users x 2 days x 3 items, computed here, not read from the engine.
  assert.equal(rows.length, 20 * 2 * 3);
  const start = Date.parse('2026-11-01T00:00:00Z');
  const end = Date.parse('2026-11-03T00:00:00Z');
  const dir = directory(sb.config.tenantId, 20, sb.config.tenantDomain);
  const users = new Set(dir.users.map((u) => u.id));
  const want = ['id', 'subject', 'receivedDateTime', 'sender', 'puser', 'ptenant'].sort();
  for (const row of rows) {
    assert.deepEqual(Object.keys(row).sort(), want);
    for (const [k, v] of Object.entries(row)) checkType(v, schema.get(k), `${k}=${JSON.stringify(v)}`);
    const t = Date.parse(row.receivedDateTime);
    assert.ok(t >= start && t < end, `receivedDateTime ${row.receivedDateTime} in the window`);
    assert.ok(users.has(row.puser));
    assert.equal(row.ptenant, sb.config.tenantId);
    assert.equal(typeof row.sender.emailAddress.address, 'string');
  }
  assert.equal(new Set(rows.map((r) => r.puser)).size, 20);
  assert.equal(new Set(rows.map((r) => r.id)).size, rows.length, 'ids are unique');
  // JobMetadata and the activity output agree with the files.
  assert.equal(meta.NumberOfRowsExtracted, rows.length);
  assert.equal(meta.TableName, DS);
  assert.equal(meta.ApplicationId, sb.config.identities.developer.appId);
  assert.equal(meta.TenantId, sb.config.tenantId);
  assert.equal(meta.DataFactoryName, sb.config.factory);
  assert.equal(meta.CopyActivityId, res.act.activityRunId);
  assert.equal(meta.ColumnsRequested, 'id,subject,receivedDateTime,sender,puser,ptenant');
  assert.equal(Date.parse(meta.RequestStartDate), start);
  assert.equal(Date.parse(meta.RequestEndDate), end);
  for (const k of ['JobSubmissionTime', 'JobCompletionTime', 'OfficeGeo', 'ExtractionResultId', 'Errors']) assert.ok(k in meta, k);
  const bytes = Object.values(files).reduce((n, b) => n + b.length, 0);
  assert.equal(res.act.output.rowsCopied, rows.length);
  assert.equal(res.act.output.rowsRead, rows.length);
  assert.equal(res.act.output.dataWritten, bytes);
  assert.equal(res.act.output.filesWritten, names.length);
});

test('same request, same bytes; another window, other bytes', async () => {
  const p = { sandboxUsers: 10, sandboxItemsPerDay: 4 };
  const a = await run('mail', p);
  const b = await run('mail', p);
  const c = await run('mail', { ...p, end: '2026-11-02T00:00:00Z' });
  for (const x of [a, b, c]) assert.equal(x.run.status, 'Succeeded', JSON.stringify(x.run));
  assert.notEqual(a.run.runId, b.run.runId);
  const digest = async (r) => {
    const { files } = await readExport(`mail/${r.run.runId}`);
    return Object.keys(files).sort().map((n) => `${n}:${sha256(files[n])}`);
  };
  const [da, db, dc] = [await digest(a), await digest(b), await digest(c)];
  assert.ok(da.length > 0);
  assert.deepEqual(da, db);
  assert.notDeepEqual(da, dc);
});

test('empty outputColumns means every approved column; groups narrow the users', async () => {
  await pipeline('all', { source: { outputColumns: [] } });
  let res = await run('all', { sandboxUsers: 6, sandboxItemsPerDay: 1 });
  assert.equal(res.run.status, 'Succeeded', JSON.stringify(res));
  let rows = rowsOf((await readExport(`mail/${res.run.runId}`)).files);
  assert.equal(rows.length, 6 * 2);
  for (const row of rows) assert.deepEqual(Object.keys(row).sort(), [...APPROVED].sort());
  for (const row of rows) for (const [k, v] of Object.entries(row)) checkType(v, schema.get(k), k);

  const dir = directory(sb.config.tenantId, 30, sb.config.tenantDomain);
  const g = dir.groups[3];
  const members = new Set(dir.users.filter((u) => u.groups.includes(g.id)).map((u) => u.id));
  assert.ok(members.size > 0 && members.size < 30);
  await pipeline('grp', { source: { allowedGroups: [g.id] } });
  res = await run('grp', { sandboxUsers: 30, sandboxItemsPerDay: 1 });
  assert.equal(res.run.status, 'Succeeded', JSON.stringify(res));
  rows = rowsOf((await readExport(`mail/${res.run.runId}`)).files);
  assert.deepEqual(new Set(rows.map((r) => r.puser)), members);

  await pipeline('flt', { source: { userScopeFilterUri: "https://graph.microsoft.com/v1.0/users?$filter=Department eq 'Finance'" } });
  res = await run('flt', { sandboxUsers: 30, sandboxItemsPerDay: 1 });
  assert.equal(res.run.status, 'Succeeded', JSON.stringify(res));
  rows = rowsOf((await readExport(`mail/${res.run.runId}`)).files);
  assert.deepEqual(new Set(rows.map((r) => r.puser)), new Set(dir.users.filter((u) => u.department === 'Finance').map((u) => u.id)));
});

test('a dataset without a date filter: one row per user', async () => {
  await pipeline('users', { source: { tableName: 'BasicDataSet_v0.User_v1', dateFilterColumn: undefined, startTime: undefined, endTime: undefined, outputColumns: [{ name: 'displayName' }, { name: 'mail' }] } });
  const res = await run('users', { sandboxUsers: 7 });
  assert.equal(res.run.status, 'Succeeded', JSON.stringify(res));
  const rows = rowsOf((await readExport(`mail/${res.run.runId}`)).files);
  const dir = directory(sb.config.tenantId, 7, sb.config.tenantDomain);
  assert.deepEqual(rows.map((r) => r.puser).sort(), dir.users.map((u) => u.id).sort());
  for (const r of rows) assert.equal(r.mail, dir.users.find((u) => u.id === r.puser).upn);
});

test('CalendarView takes a window only; a dataset without date filter', async () => {
  const cv = 'BasicDataSet_v0.CalendarView_v0';
  const cvSchema = new Map(catalog.datasets.find((d) => d.name === cv).columns.map((c) => [c.name, c.type]));
  await pipeline('cal', { source: { tableName: cv, dateFilterColumn: undefined, outputColumns: [] } });
  let res = await run('cal', { sandboxUsers: 3, sandboxItemsPerDay: 4 });
  assert.equal(res.run.status, 'Succeeded', JSON.stringify(res));
  let rows = rowsOf((await readExport(`mail/${res.run.runId}`)).files);
  assert.equal(rows.length, 3 * 2 * 4);
  const start = Date.parse('2026-11-01T00:00:00Z');
  const end = Date.parse('2026-11-03T00:00:00Z');
  for (const row of rows) {
    for (const [k, v] of Object.entries(row)) checkType(v, cvSchema.get(k), k);
    const s = Date.parse(`${row.start.dateTime.replace(/\.\d+$/, '')}Z`);
    const e = Date.parse(`${row.end.dateTime.replace(/\.\d+$/, '')}Z`);
    assert.ok(s >= start && e < end && s <= e, `event ${row.start.dateTime}..${row.end.dateTime} inside the window`);
  }
  await pipeline('cal2', { source: { tableName: cv, outputColumns: [] } });
  assertFails(await run('cal2'), /takes no dateFilterColumn, only startTime and endTime/);

  await pipeline('contacts', { source: { tableName: 'BasicDataSet_v0.Contact_v0', dateFilterColumn: undefined, startTime: undefined, endTime: undefined, outputColumns: [] } });
  res = await run('contacts', { sandboxUsers: 2, sandboxItemsPerDay: 2 });
  assert.equal(res.run.status, 'Succeeded', JSON.stringify(res));
  rows = rowsOf((await readExport(`mail/${res.run.runId}`)).files);
  assert.equal(rows.length, 4);
  for (const row of rows) assert.deepEqual(Object.keys(row).sort(), ['DisplayName', 'Id', 'ptenant', 'puser']);
});

// Dates relative to the emulator clock, which the SharePoint window is measured on.
const day = (n) => new Date((Math.floor(sb.state.now() / 86400e3) - n) * 86400e3).toISOString().replace('.000Z', 'Z');

test('SharePoint: a full snapshot, a delta, and the 48-hour / 21-day window', async () => {
  const sp = 'BasicDataSet_v0.SharePointSites_v1';
  await pipeline('sites', { source: { tableName: sp, dateFilterColumn: 'SnapshotDate', outputColumns: [] } });
  const a = day(5);
  const b = day(3);
  const full = async (d) => {
    const r = await run('sites', { sandboxUsers: 2, start: d, end: d });
    assert.equal(r.run.status, 'Succeeded', JSON.stringify(r));
    return rowsOf((await readExport(`mail/${r.run.runId}`)).files);
  };
  const fa = await full(a);
  assert.ok(fa.length > 0);
  for (const row of fa) {
    assert.deepEqual(Object.keys(row).sort(), ['Id', 'Operation', 'RootWeb', 'SnapshotDate', 'StorageUsed', 'Url', 'ptenant']);
    assert.equal(row.SnapshotDate, a);
    assert.equal(row.Operation, 'Full', 'same start and end date: a full snapshot');
    assert.ok(Number.isInteger(row.StorageUsed));
  }
  const fb = await full(b);
  let res = await run('sites', { sandboxUsers: 2, start: a, end: b });
  assert.equal(res.run.status, 'Succeeded', JSON.stringify(res));
  const delta = rowsOf((await readExport(`mail/${res.run.runId}`)).files);
  assert.deepEqual(new Set(delta.map((r) => r.Operation)), new Set(['Created', 'Updated', 'Deleted']));
  // full(A) with the delta applied, by Id, is full(B) (SnapshotDate and Operation aside).
  const strip = (r) => JSON.stringify({ ...r, SnapshotDate: null, Operation: null });
  const state = new Map(fa.map((r) => [r.Id, strip(r)]));
  for (const r of delta) if (r.Operation === 'Deleted') state.delete(r.Id); else state.set(r.Id, strip(r));
  assert.deepEqual([...state.values()].sort(), fb.map(strip).sort());

  // Outside the window: the emulator refuses, on its own clock. Dates are
  // picked so that the answer holds if the day turns during the run; the
  // window it names may then be the next day's.
  const window = (n) => `dates from ${day(21 + n).slice(0, 10)} to ${day(2 + n).slice(0, 10)} can be requested`;
  const either = `(${window(0)}|${window(-1)})`;
  for (const [d, why] of [[day(0), 'not available yet'], [day(22), 'no longer available']]) {
    assertFails(await run('sites', { start: d, end: d }), new RegExp(`SnapshotDate ${d.slice(0, 10)} of dataset '${sp}' is ${why}\\. Data is available 48 hours after its snapshot date and kept 21 days: ${either}`));
  }
  assertFails(await run('sites', { start: day(22), end: b }), /no longer available/);
  // The oldest and the newest dates kept work (asked again if the day turned meanwhile).
  for (let tries = 0; tries < 2; tries++) {
    const today = day(0);
    res = await run('sites', { sandboxUsers: 2, start: day(21), end: day(2) });
    if (day(0) === today) break;
  }
  assert.equal(res.run.status, 'Succeeded', 'the oldest and the newest dates kept');
  // Moving the emulator clock moves the window.
  await sb.fetch('/_faults/clock', { method: 'POST', body: { advanceDays: 30 } });
  await tokens();
  assertFails(await run('sites', { start: a, end: a }), /no longer available/);
  await sb.fetch('/_faults/reset', { method: 'POST', body: {} });
  await tokens();
});

test('sampling: AdditionalDataSetProperties.top writes the first N objects, JobMetadata counts all', async () => {
  const sp = 'BasicDataSet_v0.SharePointSites_v1';
  const src = (top) => ({ tableName: sp, dateFilterColumn: 'SnapshotDate', outputColumns: [], AdditionalDataSetProperties: { top } });
  await pipeline('sitesall', { source: { tableName: sp, dateFilterColumn: 'SnapshotDate', outputColumns: [] } });
  const d = day(4);
  const whole = await run('sitesall', { sandboxUsers: 3, start: d, end: d });
  assert.equal(whole.run.status, 'Succeeded', JSON.stringify(whole));
  const all = await readExport(`mail/${whole.run.runId}`);
  const allRows = rowsOf(all.files);
  assert.equal(all.meta.NumberOfRowsExtracted, allRows.length);
  assert.equal(all.meta.TotalRowCount, allRows.length, 'a full run counts what it extracts');
  assert.equal(all.meta.ExtractionMode, 'Full');
  assert.ok(allRows.length > 5);
  const have = new Set(allRows.map((r) => JSON.stringify(r)));
  for (const top of [1, 3]) {
    await pipeline(`top${top}`, { source: src(top) });
    const res = await run(`top${top}`, { sandboxUsers: 3, start: d, end: d });
    assert.equal(res.run.status, 'Succeeded', JSON.stringify(res));
    assert.deepEqual(res.act.input.source.AdditionalDataSetProperties, { top }, 'the run records what it asked for');
    const ex = await readExport(`mail/${res.run.runId}`);
    const rows = rowsOf(ex.files);
    assert.equal(rows.length, top, `top ${top}: ${top} rows`);
    assert.equal(Object.keys(ex.files).length, 1, 'one file holds the sample');
    assert.equal(ex.meta.NumberOfRowsExtracted, top);
    assert.equal(ex.meta.TotalRowCount, allRows.length, 'TotalRowCount is the full dataset');
    assert.equal(res.act.output.rowsCopied, top);
    for (const r of rows) assert.ok(have.has(JSON.stringify(r)), 'a sampled row is a row of the full pull');
  }
  // More than there is: everything, and a delta counts the delta.
  await pipeline('topbig', { source: src(2147483647) });
  let res = await run('topbig', { sandboxUsers: 3, start: day(5), end: day(3) });
  assert.equal(res.run.status, 'Succeeded', JSON.stringify(res));
  let ex = await readExport(`mail/${res.run.runId}`);
  const deltaRows = rowsOf(ex.files).length;
  assert.ok(deltaRows > 2);
  assert.equal(ex.meta.ExtractionMode, 'Delta');
  assert.equal(ex.meta.NumberOfRowsExtracted, deltaRows);
  assert.equal(ex.meta.TotalRowCount, deltaRows);
  await pipeline('top2d', { source: src(2) });
  res = await run('top2d', { sandboxUsers: 3, start: day(5), end: day(3) });
  ex = await readExport(`mail/${res.run.runId}`);
  assert.deepEqual([ex.meta.NumberOfRowsExtracted, ex.meta.TotalRowCount, ex.meta.ExtractionMode], [2, deltaRows, 'Delta'],
    'a sampled delta: two rows, the delta counted');

  // What MGDC refuses: counts that are no number of objects, a non-object, datasets without sampling.
  for (const [top, shown] of [[0, '0'], [-1, '-1'], [1.5, '1.5'], ['5', '"5"'], [2147483648, '2147483648'], [true, 'true']]) {
    await pipeline('topbad', { source: src(top) });
    assertFails(await run('topbad', { start: d, end: d }), new RegExp(`Invalid AdditionalDataSetProperties\\.top '${shown.replace('.', '\\.')}': expected a whole number of objects from 1 to 2147483647`));
  }
  await pipeline('topobj', { source: { ...src(1), AdditionalDataSetProperties: 5 } });
  assertFails(await run('topobj', { start: d, end: d }), /Invalid AdditionalDataSetProperties: expected an object such as \{"top": 100\}/);
  const notSampled = /Sampling \(AdditionalDataSetProperties\.top\) is not available for dataset '(BasicDataSet_v0\.Message_v1|BasicDataSet_v0\.OneDriveSyncHealth_v1)'\. Datasets that can be sampled: BasicDataSet_v0\.SharePointSites_v1, BasicDataSet_v0\.SharePointPermissions_v1, BasicDataSet_v0\.SharePointGroups_v1, BasicDataSet_v0\.SharePointFiles_v1, BasicDataSet_v0\.SharePointFileActions_v1$/;
  await pipeline('mailtop', { source: { AdditionalDataSetProperties: { top: 1 } } });
  assertFails(await run('mailtop'), new RegExp(notSampled.source.replace('$', ',Source')));
  await pipeline('synctop', { source: { tableName: 'BasicDataSet_v0.OneDriveSyncHealth_v1', dateFilterColumn: undefined, startTime: undefined, endTime: undefined, outputColumns: [], AdditionalDataSetProperties: { top: 1 } } });
  assertFails(await run('synctop', { sandboxUsers: 3 }), new RegExp(notSampled.source.replace('$', ',Source')));
});

test('SharePoint file actions and OneDrive sync health have no delta', async () => {
  await pipeline('actions', { source: { tableName: 'BasicDataSet_v0.SharePointFileActions_v1', dateFilterColumn: 'SnapshotDate', outputColumns: [] } });
  const d = day(4);
  const res = await run('actions', { start: d, end: d });
  assert.equal(res.run.status, 'Succeeded', JSON.stringify(res));
  const rows = rowsOf((await readExport(`mail/${res.run.runId}`)).files);
  assert.ok(rows.length > 0);
  for (const r of rows) {
    assert.equal(r.SnapshotDate, d);
    assert.ok(Date.parse(r.ActionDate) >= Date.parse(d) && Date.parse(r.ActionDate) < Date.parse(d) + 86400e3, r.ActionDate);
  }
  assertFails(await run('actions', { start: day(5), end: d }), /Dataset 'BasicDataSet_v0.SharePointFileActions_v1' does not support deltas \(it captures daily actions, unique for each day\): set startTime and endTime to the same date/);

  await pipeline('sync', { source: { tableName: 'BasicDataSet_v0.OneDriveSyncHealth_v1', dateFilterColumn: undefined, startTime: undefined, endTime: undefined, outputColumns: [] } });
  const ok = await run('sync', { sandboxUsers: 3 });
  assert.equal(ok.run.status, 'Succeeded', JSON.stringify(ok));
  const health = rowsOf((await readExport(`mail/${ok.run.runId}`)).files);
  assert.deepEqual(new Set(health.map((r) => r.puser)), new Set(directory(sb.config.tenantId, 3, sb.config.tenantDomain).users.map((u) => u.id)));
  await pipeline('sync2', { source: { tableName: 'BasicDataSet_v0.OneDriveSyncHealth_v1', dateFilterColumn: 'SnapshotDate', outputColumns: [] } });
  assertFails(await run('sync2'), /Invalid dateFilterColumn 'SnapshotDate' for dataset 'BasicDataSet_v0.OneDriveSyncHealth_v1'\. Valid columns: none/);
});

test('a Viva Insights report of the name form: registered and extracted under its own name', async () => {
  const name = 'VivaInsightsDataset_Report_v1_WeeklyCollab';
  await pipeline('viva', { source: { tableName: name, dateFilterColumn: undefined, startTime: undefined, endTime: undefined, outputColumns: [] } });
  const res = await run('viva', { sandboxUsers: 4 });
  assert.equal(res.run.status, 'Succeeded', JSON.stringify(res));
  const { files, meta } = await readExport(`mail/${res.run.runId}`);
  const rows = rowsOf(files);
  assert.equal(meta.TableName, name);
  assert.deepEqual(rows.map((r) => r.PersonId).sort(), directory(sb.config.tenantId, 4, sb.config.tenantDomain).users.map((u) => u.id).sort());
  for (const r of rows) {
    assert.equal(typeof r['Collaboration hours'], 'number');
    checkType(r.MetricDate, 'datetime', 'MetricDate');
  }
});

test('large output goes through Put Block / Put Block List intact', async () => {
  // 8 users in one job x 2 days x 2200 items, about 11 MB: more than one block.
  const res = await run('mail', { sandboxUsers: 8, sandboxItemsPerDay: 2200 });
  assert.equal(res.run.status, 'Succeeded', JSON.stringify(res));
  const { files, meta } = await readExport(`mail/${res.run.runId}`);
  const names = Object.keys(files);
  assert.equal(names.length, 1);
  assert.ok(files[names[0]].length > 8 * 1024 * 1024, `file is ${files[names[0]].length} bytes`);
  const rows = rowsOf(files);
  assert.equal(rows.length, 8 * 2 * 2200);
  assert.equal(meta.NumberOfRowsExtracted, rows.length);
});

test('consent rules fail the run at once with the documented envelope', async () => {
  const c = sb.config;
  // Columns outside the approval.
  await pipeline('cols', { source: { outputColumns: [{ name: 'id' }, { name: 'bodyPreview' }, { name: 'flag' }] } });
  assertFails(await run('cols'), /Invalid requested columns\. The following requested columns were not consented to for data: bodyPreview, flag/);
  // Destination outside the approved sink (other container; folder outside 'mail').
  await pipeline('dst', { container: 'elsewhere' });
  assertFails(await run('dst'), /ConsentNotFound: the destination 'mgdcsandbox\/elsewhere\/.*' is not contained in the authorized sink 'mgdcsandbox\/exports\/mail'/);
  await pipeline('dst2', { folder: "@concat('mailbox/', pipeline().RunId)" });
  assertFails(await run('dst2'), /is not contained in the authorized sink/);
  // Dataset not in the approval.
  await pipeline('evt', { source: { tableName: 'BasicDataSet_v0.Event_v1', dateFilterColumn: 'createdDateTime', outputColumns: [{ name: 'id' }] } });
  assertFails(await run('evt'), /ConsentNotFound: dataset 'BasicDataSet_v0.Event_v1' is not part of the approved authorization/);
  // Date filter rules (§4.2).
  await pipeline('nodate', { source: { dateFilterColumn: undefined, startTime: undefined, endTime: undefined } });
  assertFails(await run('nodate'), /Date filter is required for dataset 'BasicDataSet_v0.Message_v1'/);
  await pipeline('badcol', { source: { dateFilterColumn: 'subject' } });
  assertFails(await run('badcol'), /Invalid dateFilterColumn 'subject'/);
  assertFails(await run('mail', { start: '2026-11-05T00:00:00Z', end: '2026-11-01T00:00:00Z' }), /endTime '2026-11-01T00:00:00Z' must be after startTime/);
  // Case-insensitive date filter column, as the docs' examples use it.
  await pipeline('case', { source: { dateFilterColumn: 'ReceivedDateTime' } });
  assert.equal((await run('case', { sandboxUsers: 2 })).run.status, 'Succeeded');
  // A sink folder expression that cannot be evaluated.
  await pipeline('expr', { folder: "@concat('mail/', pipeline().parameters.nope)" });
  const bad = await run('expr');
  assert.equal(bad.run.status, 'Failed');
  assert.equal(bad.act.error.errorCode, 'InvalidTemplate');
  assert.match(bad.act.error.message, /'nope' does not exist/);
  // Size knobs beyond the sandbox's cap.
  const big = await run('mail', { sandboxUsers: 100000, sandboxItemsPerDay: 1000 });
  assert.equal(big.run.status, 'Failed');
  assert.match(big.act.error.message, /at most 50000000 rows per copy/);
  // More than 10 groups.
  await pipeline('many', { source: { allowedGroups: Array.from({ length: 11 }, () => crypto.randomUUID()) } });
  assertFails(await run('many'), /at most 10 groups/);

  // Pending, then Denied: a second app (the reader's) registered but not approved.
  const other = c.identities.reader.appId;
  let r = await regCall('dev', 'PUT', `/${other}`, { name: 'other-app', datasets: [{ name: DS, columns: APPROVED, scope: { kind: 'AllUsers' } }], destination: { storageAccount: c.storageAccount, container: 'exports' } });
  assert.equal(r.status, 201, r.text);
  await put('/linkedservices/O365other', { properties: { type: 'Office365', typeProperties: { office365TenantId: c.tenantId, servicePrincipalTenantId: c.tenantId, servicePrincipalId: other, servicePrincipalKey: { type: 'SecureString', value: c.identities.reader.secret } } } });
  await pipeline('other', { appLs: 'O365other' });
  assertFails(await run('other'), /App authorization for application '.*' is Pending/);
  r = await regCall('admin', 'POST', `/${other}/decline`);
  assert.equal(r.status, 200);
  assertFails(await run('other'), /is Denied/);
  r = await regCall('dev', 'DELETE', `/${other}`);
  assert.equal(r.status, 204);
  assertFails(await run('other'), /ConsentNotFound: No Microsoft Graph Data Connect app registration matches application/);
  // Tenant mismatch of the linked service.
  await put('/linkedservices/O365tenant', { properties: { type: 'Office365', typeProperties: { office365TenantId: crypto.randomUUID(), servicePrincipalTenantId: c.tenantId, servicePrincipalId: c.identities.developer.appId, servicePrincipalKey: { type: 'SecureString', value: c.identities.developer.secret } } } });
  await pipeline('tenant', { appLs: 'O365tenant' });
  assertFails(await run('tenant'), /does not match the tenant/);
});

test('sinks sign in as a service principal that may write blobs; secrets are checked', async () => {
  const c = sb.config;
  const dev = c.identities.developer;
  const o365 = (key) => ({ properties: { type: 'Office365', typeProperties: { office365TenantId: c.tenantId, servicePrincipalTenantId: c.tenantId, servicePrincipalId: dev.appId, servicePrincipalKey: key } } });
  const sink = (tp) => ({ properties: { type: 'AzureBlobStorage', typeProperties: { serviceEndpoint: `https://${c.storageAccount}.blob.core.windows.net/`, ...tp } } });
  const withSink = async (name, sinkLs) => {
    await put(`/linkedservices/Sink${name}`, sinkLs);
    await put(`/datasets/OutS${name}`, { properties: { type: 'Binary', linkedServiceName: { referenceName: `Sink${name}`, type: 'LinkedServiceReference' }, typeProperties: { location: { type: 'AzureBlobStorageLocation', container: 'exports', folderPath: { value: "@concat('mail/', pipeline().RunId)", type: 'Expression' } } } } });
    await put(`/pipelines/s${name}`, { properties: { activities: [{ name: 'CopyFromM365', type: 'Copy', inputs: [{ referenceName: 'Src_mail', type: 'DatasetReference' }], outputs: [{ referenceName: `OutS${name}`, type: 'DatasetReference' }], typeProperties: { source: { type: 'Office365Source', dateFilterColumn: 'receivedDateTime', startTime: '2026-11-01T00:00:00Z', endTime: '2026-11-02T00:00:00Z', outputColumns: [{ name: 'id' }] }, sink: { type: 'BinarySink' } } }] } });
    return run(`s${name}`, { sandboxUsers: 2 });
  };
  // The factory's managed identity (no credential on the sink) is refused.
  assertFails(await withSink('mi', sink({})), /Service Principal authentication is the only supported authentication mechanism for all sink types.*'Sinkmi' \(AzureBlobStorage\)/);
  // An account key (in a connection string) is no service principal either.
  assertFails(await withSink('key', { properties: { type: 'AzureBlobStorage', typeProperties: { connectionString: `DefaultEndpointsProtocol=https;AccountName=${c.storageAccount};AccountKey=${c.storageKey}` } } }), /the only supported authentication mechanism/);
  // A wrong secret on the sink: Entra refuses the token.
  let res = await withSink('bad', sink({ tenant: c.tenantId, servicePrincipalId: dev.appId, servicePrincipalKey: { type: 'SecureString', value: 'wrong' } }));
  assert.equal(res.run.status, 'Failed');
  assert.match(res.act.error.message, /AADSTS7000215: Invalid client secret/);
  // The reader's principal signs in but holds no Storage Blob Data Contributor role.
  const rd = c.identities.reader;
  const readerSink = sink({ tenant: c.tenantId, servicePrincipalId: rd.appId, servicePrincipalKey: { type: 'SecureString', value: rd.secret } });
  res = await withSink('reader', readerSink);
  assert.equal(res.run.status, 'Failed');
  assert.match(res.act.error.message, /not authorized to perform this operation using this permission.*Storage Blob Data Contributor/);
  // An admin grants the role (ARM role assignments); the same run now succeeds.
  const scope = `/subscriptions/${c.subscriptionId}/resourceGroups/${c.resourceGroup}/providers/Microsoft.Storage/storageAccounts/${c.storageAccount}`;
  const adminArm = await sb.token('admin', 'https://management.azure.com/.default');
  const name = crypto.randomUUID();
  const body = { properties: { roleDefinitionId: `/subscriptions/${c.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe`, principalId: rd.oid, principalType: 'ServicePrincipal' } };
  let r = await sb.fetch(`/arm${scope}/providers/Microsoft.Authorization/roleAssignments/${name}?api-version=2022-04-01`, { method: 'PUT', token: tok.arm, body });
  assert.equal(r.status, 403, 'a developer cannot grant roles');
  assert.equal(r.json.error.code, 'AuthorizationFailed');
  const ra = (n) => `/arm${scope}/providers/Microsoft.Authorization/roleAssignments/${n}?api-version=2022-04-01`;
  r = await sb.fetch(ra(crypto.randomUUID()), { method: 'PUT', token: adminArm, body: { properties: { ...body.properties, roleDefinitionId: body.properties.roleDefinitionId.replace(/[0-9a-f-]{36}$/, '00000000-0000-0000-0000-000000000001') } } });
  assert.equal(r.status, 400, 'a role definition that does not exist');
  assert.equal(r.json.error.code, 'RoleDefinitionDoesNotExist');
  const stranger = crypto.randomUUID();
  r = await sb.fetch(ra(crypto.randomUUID()), { method: 'PUT', token: adminArm, body: { properties: { roleDefinitionId: body.properties.roleDefinitionId, principalId: stranger } } });
  assert.equal(r.status, 400, 'a principal the directory does not know, without principalType');
  assert.equal(r.json.error.code, 'PrincipalNotFound');
  assert.match(r.json.error.message, new RegExp(`Principal ${stranger.replace(/-/g, '')} does not exist in the directory ${c.tenantId}`));
  r = await sb.fetch(ra(name), { method: 'PUT', token: adminArm, body });
  assert.equal(r.status, 201, r.text);
  r = await sb.fetch(`/arm${scope}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=${encodeURIComponent(`principalId eq '${rd.oid}'`)}`, { token: tok.arm });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.value.length, 1);
  assert.match(r.json.value[0].properties.roleDefinitionId, /ba92f5b4-2d11-453d-a403-e96b0029c9fe$/);
  res = await withSink('reader', readerSink);
  assert.equal(res.run.status, 'Succeeded', JSON.stringify(res.act.error));
  r = await sb.fetch(`/arm${scope}/providers/Microsoft.Authorization/roleAssignments/${name}?api-version=2022-04-01`, { method: 'DELETE', token: adminArm });
  assert.equal(r.status, 200, r.text);
  // A Key Vault reference cannot be read by the sandbox; it is taken as given
  // (the Key Vault linked service it names must exist, as ADF checks references).
  r = await arm('PUT', '/linkedservices/kv', { properties: { type: 'AzureKeyVault', typeProperties: { baseUrl: 'https://kv.vault.azure.net/' } } });
  assert.equal(r.status, 200, r.text);
  res = await withSink('kv', sink({ tenant: c.tenantId, servicePrincipalId: dev.appId, servicePrincipalKey: { type: 'AzureKeyVaultSecret', store: { referenceName: 'kv', type: 'LinkedServiceReference' }, secretName: 's' } }));
  assert.equal(res.run.status, 'Succeeded', JSON.stringify(res.act.error));
  // A wrong secret on the Office 365 linked service: no token for the source.
  await put('/linkedservices/O365bad', o365({ type: 'SecureString', value: 'wrong' }));
  await pipeline('o365bad', { appLs: 'O365bad' });
  assertFails(await run('o365bad', { sandboxUsers: 2 }), /Office365 data loading failed to get OAuth token\. AADSTS7000215/);
});

test('Update available: the old approval keeps working, new columns wait for re-approval', async () => {
  const c = sb.config;
  const appId = c.identities.developer.appId;
  const wider = {
    name: 'mail-insights',
    datasets: [{ name: DS, columns: [...APPROVED, 'bodyPreview'], scope: { kind: 'AllUsers' } }],
    destination: { storageAccount: c.storageAccount, container: 'exports', folder: 'mail' },
  };
  let r = await regCall('dev', 'PUT', `/${appId}`, wider);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.authorization.status, 'UpdateAvailable');
  assert.equal((await run('mail', { sandboxUsers: 2 })).run.status, 'Succeeded', 'old approval still works');
  await pipeline('preview', { source: { outputColumns: [{ name: 'id' }, { name: 'bodyPreview' }] } });
  assertFails(await run('preview', { sandboxUsers: 2 }), /not consented to for data: bodyPreview/);
  r = await regCall('admin', 'POST', `/${appId}/approve`);
  assert.equal(r.json.authorization.status, 'Approved');
  const ok = await run('preview', { sandboxUsers: 2 });
  assert.equal(ok.run.status, 'Succeeded', JSON.stringify(ok));
  const rows = rowsOf((await readExport(`mail/${ok.run.runId}`)).files);
  assert.ok(rows.length > 0 && rows.every((x) => typeof x.bodyPreview === 'string'));
});

test('cancel stops a running copy; an expired approval fails the run', async () => {
  sb.state.config.runSeconds = 30;
  let r = await arm('POST', '/pipelines/mail/createRun', { sandboxUsers: 2 });
  const { runId } = r.json;
  for (let i = 0; i < 100; i++) {
    r = await arm('GET', `/pipelineruns/${runId}`);
    if (r.json.status === 'InProgress') break;
    await new Promise((x) => setTimeout(x, 50));
  }
  assert.equal(r.json.status, 'InProgress');
  r = await arm('POST', `/pipelineruns/${runId}/cancel`);
  assert.equal(r.status, 200);
  const t0 = Date.now();
  while (Date.now() - t0 < 15000) {
    r = await arm('GET', `/pipelineruns/${runId}`);
    if (r.json.status === 'Cancelled') break;
    await new Promise((x) => setTimeout(x, 50));
  }
  assert.equal(r.json.status, 'Cancelled');
  // As in the public PipelineRuns_QueryByFactory example: a cancelled run has no end.
  assert.equal(r.json.runEnd, null);
  assert.equal(r.json.durationInMs, null);
  assert.ok(Date.now() - t0 < 15000, 'cancelled long before the 30 s run time');
  sb.state.config.runSeconds = 0.3;

  r = await sb.fetch('/_faults/clock', { method: 'POST', body: { advanceDays: 181 } });
  assert.equal(r.status, 200);
  await tokens();
  sb.state.config.runSeconds = 0.3;
  assertFails(await run('mail', { sandboxUsers: 2 }), /App authorization for application '.*' is Expired/);
  await sb.fetch('/_faults/reset', { method: 'POST', body: {} });
});
