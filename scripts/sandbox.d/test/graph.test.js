'use strict';
// Graph v1.0 routes (reference §9): /organization, /applications and
// /servicePrincipals with filters and paging, Graph error bodies, 401s.
// Sources of truth: the seed file on disk (sandbox.json), openssl for the
// certificate thumbprint, and the token's own claims.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { startSandbox } = require('./helpers');

let sb;
let tok;
let seed;
test.before(async () => {
  sb = await startSandbox();
  tok = await sb.token('developer', 'https://graph.microsoft.com/.default');
  seed = JSON.parse(fs.readFileSync(path.join(sb.dir, 'sandbox.json'), 'utf8'));
});
test.after(() => sb.stop());

const get = (url, opts = {}) => sb.fetch(url, { token: tok, ...opts });
const allApps = () => [...Object.values(seed.identities), ...seed.applications];

function assertGraphError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json.error.code, code);
  assert.ok(r.json.error.message);
  assert.match(r.json.error.innerError['request-id'], /^[0-9a-f-]{36}$/);
  assert.ok(r.json.error.innerError.date);
}

test('organization: the seeded tenant', async () => {
  const r = await get('/graph/v1.0/organization');
  assert.equal(r.status, 200);
  assert.equal(r.json['@odata.context'], 'https://graph.microsoft.com/v1.0/$metadata#organization');
  assert.equal(r.json.value.length, 1);
  const org = r.json.value[0];
  assert.equal(org.id, seed.tenantId);
  assert.equal(org.displayName, seed.tenantDisplayName);
  assert.deepEqual(org.verifiedDomains.map((d) => [d.name, d.isDefault, d.isInitial]), [[seed.tenantDomain, true, true]]);
  assert.equal(org.countryLetterCode, 'US');
  assert.equal(org['@mgdc.officeRegion'], 'North America');
  assert.ok(!Number.isNaN(Date.parse(org.createdDateTime)));
  const sel = await get('/graph/v1.0/organization?$select=id,displayName');
  assert.deepEqual(sel.json.value[0], { id: seed.tenantId, displayName: seed.tenantDisplayName });
  const one = await get(`/graph/v1.0/organization/${seed.tenantId}`);
  assert.equal(one.json.id, seed.tenantId);
  assertGraphError(await get('/graph/v1.0/organization/00000000-0000-0000-0000-000000000000'), 404, 'Request_ResourceNotFound');
});

test('application permissions: the token carries the granted roles, Graph checks them (403)', async () => {
  const claims = (t) => JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString('utf8'));
  assert.deepEqual(claims(tok).roles, seed.identities.developer.graphRoles);
  const reader = await sb.token('reader', 'https://graph.microsoft.com/.default');
  assert.deepEqual(claims(reader).roles, ['Application.Read.All']);
  // /organization needs Directory.Read.All (organization-list permissions table).
  for (const p of ['/graph/v1.0/organization', `/graph/v1.0/organization/${seed.tenantId}`]) {
    const r = await sb.fetch(p, { token: reader });
    assertGraphError(r, 403, 'Authorization_RequestDenied');
    assert.equal(r.json.error.message, 'Insufficient privileges to complete the operation.');
  }
  // /applications and /servicePrincipals take Application.Read.All.
  assert.equal((await sb.fetch('/graph/v1.0/applications?$top=2', { token: reader })).status, 200);
  assert.equal((await sb.fetch('/graph/v1.0/servicePrincipals?$top=2', { token: reader })).status, 200);
  // Tokens for other resources carry no Graph roles.
  assert.deepEqual(claims(await sb.token('developer', 'https://management.azure.com/.default')).roles, []);
});

test('401s in Graph shape: no token, wrong audience, garbage', async () => {
  for (const token of [undefined, await sb.token('developer', 'https://management.azure.com/.default'), 'abc.def.ghi']) {
    const r = await sb.fetch('/graph/v1.0/applications', { token });
    assertGraphError(r, 401, 'InvalidAuthenticationToken');
    assert.match(r.headers['www-authenticate'], /^Bearer /);
  }
});

test('applications: paging with $top visits every app exactly once', async () => {
  const seen = [];
  let url = '/graph/v1.0/applications?$top=3';
  let pages = 0;
  while (url) {
    const r = await get(url);
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.value.length <= 3);
    seen.push(...r.json.value);
    url = r.json['@odata.nextLink'];
    if (url) assert.match(url, /^https:\/\/127\.0\.0\.1:\d+\/graph\/v1\.0\/applications\?/);
    pages++;
  }
  const want = allApps();
  assert.equal(pages, Math.ceil(want.length / 3));
  assert.deepEqual(seen.map((a) => a.appId).sort(), want.map((a) => a.appId).sort());
  assert.deepEqual(seen.map((a) => a.id).sort(), want.map((a) => a.id).sort());
  const def = await get('/graph/v1.0/applications');
  assert.equal(def.json.value.length, want.length, 'the default page (100) holds all');
  assert.equal(def.json['@odata.nextLink'], undefined);
});

test('applications: $filter=appId eq, $select, and the developer certificate thumbprint', async () => {
  const d = seed.identities.developer;
  const r = await get(`/graph/v1.0/applications?$filter=${encodeURIComponent(`appId eq '${d.appId}'`)}`);
  assert.equal(r.status, 200);
  assert.equal(r.json.value.length, 1);
  const app = r.json.value[0];
  assert.equal(app.displayName, d.displayName);
  assert.equal(app.id, d.id);
  assert.equal(app.signInAudience, 'AzureADMyOrg');
  const fp = execFileSync('openssl', ['x509', '-in', path.join(sb.dir, 'developer.pem'), '-noout', '-fingerprint', '-sha1'],
    { encoding: 'utf8' }).split('=')[1].trim().replace(/:/g, '');
  assert.equal(app.keyCredentials.length, 1);
  assert.equal(app.keyCredentials[0].customKeyIdentifier, fp);
  assert.equal(app.passwordCredentials[0].secretText, null);
  assert.ok(!r.text.includes(sb.config.identities.developer.secret), 'never the secret itself');
  const none = await get(`/graph/v1.0/applications?$filter=${encodeURIComponent("appId eq '00000000-0000-0000-0000-000000000000'")}`);
  assert.deepEqual(none.json.value, []);
  const byName = await get(`/graph/v1.0/applications?$filter=${encodeURIComponent("displayName eq 'contoso hr analytics'")}&$select=appId,displayName`);
  assert.deepEqual(byName.json.value, [{ appId: seed.applications[0].appId, displayName: 'Contoso HR Analytics' }]);
  assert.match(byName.json['@odata.context'], /#applications\(appId,displayName\)$/);
});

test('applications: paging keeps the filter and $select; a cursor is bound to its filter', async () => {
  const f = encodeURIComponent("displayName eq 'MGDC Sandbox Admin Tools'");
  const r = await get(`/graph/v1.0/applications?$top=1&$select=appId`);
  const next = new URL(r.json['@odata.nextLink']);
  assert.equal(next.searchParams.get('$select'), 'appId');
  const p2 = await get(r.json['@odata.nextLink']);
  assert.deepEqual(Object.keys(p2.json.value[0]), ['appId']);
  const stolen = next.searchParams.get('$skiptoken');
  assertGraphError(await get(`/graph/v1.0/applications?$filter=${f}&$skiptoken=${encodeURIComponent(stolen)}`), 400, 'Request_BadRequest');
  assertGraphError(await get('/graph/v1.0/applications?$skiptoken=bogus'), 400, 'Request_BadRequest');
});

test('applications: bad queries get Graph 400s', async () => {
  for (const top of ['0', '1000', 'abc', '-1']) {
    assertGraphError(await get(`/graph/v1.0/applications?$top=${top}`), 400, 'Request_BadRequest');
  }
  assertGraphError(await get(`/graph/v1.0/applications?$filter=${encodeURIComponent("startswith(displayName,'a')")}`),
    400, 'Request_UnsupportedQuery');
  assertGraphError(await get('/graph/v1.0/applications?$select=nope'), 400, 'Request_BadRequest');
  assertGraphError(await get('/graph/v1.0/applications?$count=true'), 400, 'Request_BadRequest');
  const c = await get('/graph/v1.0/applications?$count=true&$top=2', { headers: { ConsistencyLevel: 'eventual' } });
  assert.equal(c.json['@odata.count'], allApps().length);
  const c2 = await get(c.json['@odata.nextLink'], { headers: { ConsistencyLevel: 'eventual' } });
  assert.equal(c2.json['@odata.count'], undefined, 'the count is only on the first page');
  assertGraphError(await get('/graph/v1.0/users'), 400, 'BadRequest');
});

test('applications/{id} and applications(appId=...)', async () => {
  const a = seed.applications[3];
  const r = await get(`/graph/v1.0/applications/${a.id}`);
  assert.equal(r.status, 200);
  assert.equal(r.json.appId, a.appId);
  assert.equal(r.json['@odata.context'], 'https://graph.microsoft.com/v1.0/$metadata#applications/$entity');
  const r2 = await get(`/graph/v1.0/applications(appId='${a.appId}')`);
  assert.equal(r2.json.id, a.id);
  assertGraphError(await get('/graph/v1.0/applications/nope'), 404, 'Request_ResourceNotFound');
  assertGraphError(await get(`/graph/v1.0/applications/${a.appId}`), 404, 'Request_ResourceNotFound');
});

test('servicePrincipals: filter by appId gives the oid that tokens carry', async () => {
  const d = seed.identities.developer;
  const r = await get(`/graph/v1.0/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${d.appId}'`)}`);
  assert.equal(r.status, 200);
  assert.equal(r.json.value.length, 1);
  const oid = JSON.parse(Buffer.from(tok.split('.')[1], 'base64url')).oid;
  assert.equal(r.json.value[0].id, oid);
  assert.equal(r.json.value[0].servicePrincipalType, 'Application');
  const one = await get(`/graph/v1.0/servicePrincipals/${oid}`);
  assert.equal(one.json.appId, d.appId);
  const all = await get('/graph/v1.0/servicePrincipals?$top=4');
  assert.equal(all.json.value.length, 4);
  assert.ok(all.json['@odata.nextLink'].includes('/servicePrincipals?'));
  assertGraphError(await get('/graph/v1.0/servicePrincipals/nope'), 404, 'Request_ResourceNotFound');
});
