'use strict';
// The registration contract v1 over HTTPS against an in-process emulator:
// every route, the consent rules of reference §2.1 and the error shapes.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { startSandbox, request } = require('./helpers');

const SCOPE = 'api://mgdc-registration/.default';
const DAY = 86400 * 1000;
let sb;
let base;
const tok = {};

// Tokens follow the emulator clock, so they are fetched again after it moves.
async function refreshTokens() {
  tok.dev = await sb.token('developer', SCOPE);
  tok.admin = await sb.token('admin', SCOPE);
}

const spec = (over = {}) => ({
  name: 'mail-insights',
  description: 'Weekly mail analytics',
  datasets: [{ name: 'BasicDataSet_v0.Message_v1', columns: ['id', 'subject', 'receivedDateTime', 'puser'], scope: { kind: 'AllUsers' } }],
  destination: { storageAccount: 'mgdcsandbox', container: 'exports', folder: 'mail' },
  ...over,
});

const call = (who, method, path, body, headers) => sb.fetch(`${base}${path}`, { method, token: tok[who], body, headers });

function assertError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json.error.code, code, r.text);
  assert.equal(typeof r.json.error.message, 'string');
  return r.json.error.message;
}

test.before(async () => {
  sb = await startSandbox({ azurite: false });
  base = `/mgdc/v1/tenants/${sb.config.tenantId}`;
  await refreshTokens();
});
test.after(async () => { if (sb) await sb.stop(); });

test('authentication: missing token, wrong audience, wrong tenant, unknown version', async () => {
  let r = await sb.fetch(`${base}/registrations`);
  assert.equal(r.status, 401);
  assert.ok(r.headers['www-authenticate']);
  const arm = await sb.token('developer', 'https://management.azure.com/.default');
  r = await sb.fetch(`${base}/registrations`, { token: arm });
  assertError(r, 401, 'InvalidAuthenticationToken');
  r = await sb.fetch(`/mgdc/v1/tenants/${crypto.randomUUID()}/registrations`, { token: tok.dev });
  assertError(r, 404, 'TenantNotFound');
  r = await sb.fetch(`/mgdc/v2/tenants/${sb.config.tenantId}/registrations`, { token: tok.dev });
  assertError(r, 400, 'UnsupportedVersion');
  r = await call('dev', 'GET', '/nothing');
  assertError(r, 404, 'NotFound');
  r = await call('dev', 'POST', '/dataConnect', {});
  assertError(r, 405, 'MethodNotAllowed');
});

test('dataConnect: everyone reads, only a global admin writes', async () => {
  let r = await call('dev', 'GET', '/dataConnect');
  assert.equal(r.status, 200);
  assert.equal(r.json.enabled, true);
  r = await call('dev', 'PUT', '/dataConnect', { enabled: false });
  assertError(r, 403, 'Forbidden');
  r = await call('admin', 'PUT', '/dataConnect', { enabled: 'no' });
  assertError(r, 400, 'InvalidRequest');
  r = await call('admin', 'PUT', '/dataConnect', '{"enabled":');
  assertError(r, 400, 'InvalidRequest');
  r = await call('admin', 'PUT', '/dataConnect', { enabled: false });
  assert.equal(r.status, 200);
  assert.equal(r.json.enabled, false);
  assert.equal(r.json.modifiedBy, sb.config.identities.admin.upn);
  assert.ok(Math.abs(Date.parse(r.json.modifiedOn) - sb.state.now()) < 60000);
  // Registering while it is off is refused; nothing is stored.
  const appId = sb.config.identities.developer.appId;
  r = await call('dev', 'PUT', `/registrations/${appId}`, spec());
  assertError(r, 409, 'DataConnectDisabled');
  r = await call('dev', 'GET', `/registrations/${appId}`);
  assertError(r, 404, 'RegistrationNotFound');
  r = await call('admin', 'PUT', '/dataConnect', { enabled: true });
  assert.equal((await call('dev', 'GET', '/dataConnect')).json.enabled, true);
});

test('validation names the bad field', async () => {
  const appId = crypto.randomUUID();
  const cases = [
    [spec({ name: undefined }), /'name' is required/],
    [spec({ name: 'a/b' }), /'name' has the invalid value/],
    [spec({ publishType: 'Single' }), /'publishType'.*Valid values: SingleTenant, MultiTenant/],
    [spec({ datasets: [] }), /'datasets' must be a non-empty array/],
    [spec({ datasets: [{ name: 'BasicDataSet_v0.Mesage_v1', columns: ['id'], scope: { kind: 'AllUsers' } }] }), /datasets\[0\]\.name.*Did you mean 'BasicDataSet_v0.Message_v1'/],
    [spec({ datasets: [{ name: 'BasicDataSet_v0.Message_v1', columns: ['id', 'recievedDateTime'], scope: { kind: 'AllUsers' } }] }), /datasets\[0\]\.columns\[1\].*'recievedDateTime'.*Did you mean 'receivedDateTime'/],
    [spec({ datasets: [{ name: 'BasicDataSet_v0.Message_v1', columns: 'id', scope: { kind: 'AllUsers' } }] }), /datasets\[0\]\.columns' must be a non-empty array/],
    [spec({ datasets: [{ name: 'BasicDataSet_v0.Message_v1', columns: ['id', 7], scope: { kind: 'AllUsers' } }] }), /datasets\[0\]\.columns\[1\]' must be a column name/],
    [spec({ datasets: [{ name: 'BasicDataSet_v0.Message_v1', columns: ['id', 'id'], scope: { kind: 'AllUsers' } }] }), /listed twice/],
    [spec({ datasets: [{ name: 'BasicDataSet_v0.Message_v1', columns: ['id'] }] }), /datasets\[0\]\.scope' is required/],
    [spec({ datasets: [{ name: 'BasicDataSet_v0.Message_v1', columns: ['id'], scope: { kind: 'AllSites' } }] }), /datasets\[0\]\.scope\.kind'.*user-scoped/],
    [spec({ datasets: [{ name: 'BasicDataSet_v0.Message_v1', columns: ['id'], scope: { kind: 'Groups' } }] }), /datasets\[0\]\.scope\.groupIds'/],
    [spec({ datasets: [{ name: 'BasicDataSet_v0.Message_v1', columns: ['id'], scope: { kind: 'AllUsersWithScopeFilter' } }] }), /scopeFilterUri' is required/],
    [spec({ destination: undefined }), /'destination' is required/],
    [spec({ destination: { storageAccount: 'mgdcsandbox' } }), /'destination.container' is required/],
    [spec({ destination: { storageAccount: 'Bad_Account', container: 'exports' } }), /'destination.storageAccount' has the invalid value/],
    [spec({ destination: { storageAccount: 'mgdcsandbox', container: 'exports', folder: 'a/../b' } }), /'destination.folder'/],
    [spec({ appId: crypto.randomUUID() }), /'appId' does not match/],
    ['[1,2]', /must be a JSON object/],
  ];
  for (const [body, re] of cases) {
    const r = await call('dev', 'PUT', `/registrations/${appId}`, body);
    const msg = assertError(r, 400, 'InvalidRegistration');
    assert.match(msg, re, JSON.stringify(body).slice(0, 200));
  }
  let r = await call('dev', 'PUT', `/registrations/${appId}`, '{not json');
  assertError(r, 400, 'InvalidRequest');
  r = await call('dev', 'PUT', `/registrations/${appId}`, { ...spec(), description: 'x'.repeat(300 * 1024) });
  assertError(r, 413, 'RequestEntityTooLarge');
  r = await call('dev', 'PUT', '/registrations/not-a-guid', spec());
  assertError(r, 400, 'InvalidRequest');
  assert.equal(Object.keys(sb.state.data.registrations || {}).length, 0, 'nothing stored by failed PUTs');
});

test('create, read, update with ETags, list, delete', async () => {
  const appId = sb.config.identities.developer.appId;
  let r = await call('dev', 'PUT', `/registrations/${appId}`, spec());
  assert.equal(r.status, 201, r.text);
  const reg = r.json;
  assert.equal(r.headers.etag, reg.etag);
  assert.equal(reg.appId, appId.toLowerCase());
  assert.equal(reg.developer, sb.config.identities.developer.upn);
  assert.equal(reg.tenantId, sb.config.tenantId);
  assert.equal(reg.publishType, 'SingleTenant');
  assert.equal(reg.computeType, 'AzureDataFactory');
  assert.equal(reg.activityType, 'CopyActivity');
  assert.equal(reg.destination.subscriptionId, sb.config.subscriptionId);
  assert.equal(reg.destination.folder, 'mail');
  assert.equal(reg.authorization.status, 'PendingAuthorization');
  assert.equal(reg.authorization.approvedSnapshot, null);

  r = await call('dev', 'GET', `/registrations/${appId}`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.etag, reg.etag);
  assert.deepEqual(r.json, reg);

  r = await call('dev', 'PUT', `/registrations/${appId}`, spec({ description: 'v2' }), { 'if-match': '"stale"' });
  assertError(r, 412, 'PreconditionFailed');
  r = await call('dev', 'PUT', `/registrations/${appId}`, spec({ description: 'v2' }), { 'if-match': reg.etag });
  assert.equal(r.status, 200, r.text);
  assert.notEqual(r.json.etag, reg.etag);
  assert.equal(r.json.description, 'v2');
  assert.equal(r.json.registeredOn, reg.registeredOn);

  // Another app may not take the same name.
  const other = crypto.randomUUID();
  r = await call('admin', 'PUT', `/registrations/${other}`, spec());
  assertError(r, 409, 'NameConflict');

  // Paging: the admin sees every registration, the developer only its own.
  const made = [];
  for (let i = 0; i < 5; i++) {
    const id = crypto.randomUUID();
    r = await call('admin', 'PUT', `/registrations/${id}`, spec({ name: `bulk-${i}` }));
    assert.equal(r.status, 201, r.text);
    made.push(id);
  }
  const seen = [];
  let url = `${sb.urls.emulator}${base}/registrations?$top=2`;
  let pages = 0;
  while (url) {
    r = await request(url, { token: tok.admin, ca: sb.ca });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.value.length <= 2);
    seen.push(...r.json.value.map((x) => x.appId));
    url = r.json.nextLink;
    if (url) assert.match(url, /^https:\/\/127\.0\.0\.1:\d+\/mgdc\/v1\/tenants\/.*\/registrations\?/);
    pages++;
  }
  assert.equal(pages, 3);
  assert.deepEqual(seen.sort(), [appId.toLowerCase(), ...made].sort());
  r = await call('dev', 'GET', '/registrations');
  assert.deepEqual(r.json.value.map((x) => x.appId), [appId.toLowerCase()]);
  assert.equal(r.json.nextLink, undefined);
  r = await call('dev', 'GET', '/registrations?$top=0');
  assertError(r, 400, 'InvalidRequest');

  // The developer can neither see nor delete the admin's registrations.
  r = await call('dev', 'GET', `/registrations/${made[0]}`);
  assertError(r, 404, 'RegistrationNotFound');
  for (const id of made) {
    r = await call('admin', 'DELETE', `/registrations/${id}`);
    assert.equal(r.status, 204);
  }
  r = await call('admin', 'DELETE', `/registrations/${made[0]}`);
  const msg = assertError(r, 404, 'RegistrationNotFound');
  assert.equal(msg, 'App registration not found. It is possible someone deleted this app.');
});

test('consent: self-approval, non-admin, approve, update available, decline', async () => {
  const appId = sb.config.identities.developer.appId;
  let r = await call('dev', 'POST', `/registrations/${appId}/approve`);
  assert.equal(assertError(r, 403, 'SelfApprovalNotAllowed'), 'App approver and owner cannot be the same user.');
  // An admin's own registration: self-approval is checked before the role.
  const adminApp = sb.config.identities.admin.appId;
  r = await call('admin', 'PUT', `/registrations/${adminApp}`, spec({ name: 'admin-own' }));
  assert.equal(r.status, 201);
  r = await call('admin', 'POST', `/registrations/${adminApp}/approve`);
  assert.equal(assertError(r, 403, 'SelfApprovalNotAllowed'), 'App approver and owner cannot be the same user.');
  r = await call('dev', 'POST', `/registrations/${adminApp}/approve`);
  assertError(r, 403, 'Forbidden');
  r = await call('admin', 'POST', `/registrations/${crypto.randomUUID()}/approve`);
  assertError(r, 404, 'RegistrationNotFound');

  r = await call('admin', 'POST', `/registrations/${appId}/approve`);
  assert.equal(r.status, 200, r.text);
  const a = r.json.authorization;
  assert.equal(a.status, 'Approved');
  assert.equal(a.approvedBy, sb.config.identities.admin.upn);
  assert.equal(Date.parse(a.expiresOn) - Date.parse(a.approvedOn), 180 * DAY);
  assert.deepEqual(a.approvedSnapshot.datasets, spec().datasets.map((d) => ({ ...d, scope: { kind: 'AllUsers', groupIds: [], scopeFilterUri: null } })));
  assert.equal(r.headers.etag, r.json.etag);

  // A change outside datasets/destination keeps the approval.
  r = await call('dev', 'PUT', `/registrations/${appId}`, spec({ description: 'wording only' }));
  assert.equal(r.json.authorization.status, 'Approved');
  // A change of columns needs a new approval; the old one is kept.
  const wider = spec();
  wider.datasets[0].columns = [...wider.datasets[0].columns, 'bodyPreview'];
  r = await call('dev', 'PUT', `/registrations/${appId}`, wider);
  assert.equal(r.json.authorization.status, 'UpdateAvailable');
  assert.deepEqual(r.json.authorization.approvedSnapshot.datasets[0].columns, spec().datasets[0].columns);
  assert.deepEqual(r.json.datasets[0].columns, wider.datasets[0].columns);
  r = await call('admin', 'POST', `/registrations/${appId}/approve`);
  assert.equal(r.json.authorization.status, 'Approved');
  assert.deepEqual(r.json.authorization.approvedSnapshot.datasets[0].columns, wider.datasets[0].columns);

  r = await call('admin', 'POST', `/registrations/${appId}/decline`);
  assert.equal(r.status, 200);
  assert.equal(r.json.authorization.status, 'Denied');
  assert.equal(r.json.authorization.approvedSnapshot, null);
  r = await call('dev', 'POST', `/registrations/${appId}/decline`);
  assertError(r, 403, 'SelfApprovalNotAllowed');

  // The portal stand-in acts as the app's owner: the admin registering its
  // own app cannot approve it in the admin center either.
  await call('admin', 'DELETE', `/registrations/${adminApp}`);
  r = await sb.fetch('/_portal/registrations', { method: 'POST', body: { ...spec({ name: 'admin-portal' }), appId: adminApp } });
  assert.ok(r.status === 201 || r.status === 200, r.text);
  r = await sb.fetch(`/_portal/registrations/${adminApp}/approve`, { method: 'POST' });
  assertError(r, 403, 'SelfApprovalNotAllowed');
  await sb.fetch(`/_portal/registrations/${adminApp}`, { method: 'DELETE' });
});

test('approval expires after 180 days on the emulator clock', async () => {
  const appId = sb.config.identities.developer.appId;
  let r = await call('admin', 'POST', `/registrations/${appId}/approve`);
  assert.equal(r.json.authorization.status, 'Approved');
  const clock = (b) => sb.fetch('/_faults/clock', { method: 'POST', body: b });
  assert.equal((await clock({ advanceDays: 179 })).status, 200);
  await refreshTokens();
  r = await call('dev', 'GET', `/registrations/${appId}`);
  assert.equal(r.json.authorization.status, 'Approved');
  await clock({ advanceDays: 2 });
  await refreshTokens();
  r = await call('dev', 'GET', `/registrations/${appId}`);
  assert.equal(r.json.authorization.status, 'Expired');
  r = await call('admin', 'GET', '/registrations');
  assert.equal(r.json.value.find((x) => x.appId === appId.toLowerCase()).authorization.status, 'Expired');
  // Renewal: a new approval starts a new 180 days from the moved clock.
  r = await call('admin', 'POST', `/registrations/${appId}/approve`);
  assert.equal(r.json.authorization.status, 'Approved');
  assert.ok(Math.abs(Date.parse(r.json.authorization.approvedOn) - sb.state.now()) < 60000);
  await sb.fetch('/_faults/reset', { method: 'POST', body: {} });
  await refreshTokens();
});

test('registrations persist in the state file', async () => {
  const appId = sb.config.identities.developer.appId.toLowerCase();
  assert.equal(sb.state.data.registrations[appId].name, 'mail-insights');
  await new Promise((r) => setTimeout(r, 150)); // past the save debounce
  sb.state.flush();
  const onDisk = JSON.parse(fs.readFileSync(path.join(sb.dir, 'emulator', 'state.json'), 'utf8'));
  assert.equal(onDisk.registrations[appId].authorization.status, 'Approved');
  assert.equal(onDisk.registrations[appId].name, 'mail-insights');
  let r = await call('dev', 'DELETE', `/registrations/${appId}`);
  assert.equal(r.status, 204);
  r = await call('dev', 'GET', `/registrations/${appId}`);
  assertError(r, 404, 'RegistrationNotFound');
});
