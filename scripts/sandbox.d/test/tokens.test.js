'use strict';
// The Entra token endpoint and access-token checks, against the reference
// (mgdc-control-plane.md §8): success shape, every AADSTS error the brief
// names, both assertion flavours, replay, expiry, and the 401 shapes.
// Signatures are checked with the published JWKS and node's own crypto, not
// with the emulator's code.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { startSandbox } = require('./helpers');

let sb;
let tokenPath;
let dev;
test.before(async () => {
  sb = await startSandbox();
  tokenPath = `/login/${sb.config.tenantId}/oauth2/v2.0/token`;
  dev = sb.config.identities.developer;
});
test.after(() => sb.stop());

const b64u = (x) => Buffer.from(x).toString('base64url');
const decode = (jwt) => {
  const [h, p] = jwt.split('.');
  return { header: JSON.parse(Buffer.from(h, 'base64url')), claims: JSON.parse(Buffer.from(p, 'base64url')) };
};

function post(form, headers = {}, url = tokenPath) {
  return sb.fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: typeof form === 'string' ? form : new URLSearchParams(form).toString() });
}

const GRAPH = 'https://graph.microsoft.com/.default';
const secretForm = (extra = {}) => ({ grant_type: 'client_credentials', client_id: dev.appId,
  client_secret: dev.secret, scope: GRAPH, ...extra });

function assertAad(r, status, error, code) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json.error, error);
  assert.deepEqual(r.json.error_codes, [code]);
  assert.match(r.json.error_description, new RegExp(`^AADSTS${code}: .*Trace ID: [0-9a-f-]{36} Correlation ID: `));
  for (const k of ['timestamp', 'trace_id', 'correlation_id', 'error_uri']) assert.ok(r.json[k], k);
  assert.ok(!r.text.includes(dev.secret), 'an error must never echo the secret');
}

// Thumbprints computed by openssl from the certificate file, independently.
function opensslThumb(alg) {
  const out = execFileSync('openssl', ['x509', '-in', path.join(sb.dir, 'developer.pem'), '-noout',
    '-fingerprint', `-${alg}`], { encoding: 'utf8' });
  return Buffer.from(out.split('=')[1].trim().replace(/:/g, ''), 'hex').toString('base64url');
}

function assertion({ alg = 'PS256', header = {}, claims = {}, key } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const h = { alg, typ: 'JWT', ...(alg === 'PS256' ? { 'x5t#S256': opensslThumb('sha256') } : { x5t: opensslThumb('sha1') }), ...header };
  const c = { aud: `${sb.urls.login}/${sb.config.tenantId}/oauth2/v2.0/token`, iss: dev.appId, sub: dev.appId,
    jti: crypto.randomUUID(), nbf: now, exp: now + 600, iat: now, ...claims };
  const input = `${b64u(JSON.stringify(h))}.${b64u(JSON.stringify(c))}`;
  const pem = key || fs.readFileSync(path.join(sb.dir, 'secrets', 'developer.key'));
  const opts = alg === 'PS256'
    ? { key: pem, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
    : { key: pem, padding: crypto.constants.RSA_PKCS1_PADDING };
  return `${input}.${crypto.sign('sha256', Buffer.from(input), opts).toString('base64url')}`;
}

const assertionForm = (a, extra = {}) => ({ grant_type: 'client_credentials', client_id: dev.appId, scope: GRAPH,
  client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: a, ...extra });

test('client secret in the form: token shape, claims and a signature the JWKS verifies', async () => {
  const r = await post(secretForm());
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.token_type, 'Bearer');
  assert.equal(r.json.expires_in, 3599);
  assert.equal(r.headers['cache-control'], 'no-store, no-cache');
  const { header, claims } = decode(r.json.access_token);
  assert.equal(header.alg, 'RS256');
  assert.equal(claims.aud, 'https://graph.microsoft.com');
  assert.equal(claims.iss, `https://sts.windows.net/${sb.config.tenantId}/`);
  assert.equal(claims.tid, sb.config.tenantId);
  assert.equal(claims.appid, dev.appId);
  assert.equal(claims.oid, dev.oid);
  assert.equal(claims.exp - claims.iat, 3599);
  assert.ok(claims.nbf <= claims.iat && Array.isArray(claims.roles));
  assert.equal(claims.wids, undefined, 'the developer is no directory admin');
  const oidc = await sb.fetch(`/login/${sb.config.tenantId}/v2.0/.well-known/openid-configuration`);
  assert.equal(oidc.json.token_endpoint, `${sb.urls.login}/${sb.config.tenantId}/oauth2/v2.0/token`);
  const jwks = await sb.fetch(new URL(oidc.json.jwks_uri).pathname);
  const jwk = jwks.json.keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, 'kid is published');
  const [h, p, s] = r.json.access_token.split('.');
  const pub = crypto.createPublicKey({ key: { kty: jwk.kty, n: jwk.n, e: jwk.e }, format: 'jwk' });
  assert.ok(crypto.verify('sha256', Buffer.from(`${h}.${p}`), pub, Buffer.from(s, 'base64url')));
});

test('client secret by HTTP Basic, tenant by domain name; admin carries the Global Administrator role', async () => {
  const adm = sb.config.identities.admin;
  const basic = Buffer.from(`${encodeURIComponent(adm.appId)}:${encodeURIComponent(adm.secret)}`).toString('base64');
  const r = await post({ grant_type: 'client_credentials', scope: 'https://management.azure.com/.default' },
    { authorization: `Basic ${basic}` }, `/login/${sb.config.tenantDomain}/oauth2/v2.0/token`);
  assert.equal(r.status, 200, r.text);
  const { claims } = decode(r.json.access_token);
  assert.equal(claims.aud, 'https://management.azure.com');
  assert.deepEqual(claims.wids, ['62e90394-69f5-4237-9190-012177145e10']);
});

test('each of the four scopes gives its audience; storage tokens satisfy Azurite (iat, sts issuer)', async () => {
  const want = {
    'https://management.azure.com/.default': 'https://management.azure.com',
    'https://graph.microsoft.com/.default': 'https://graph.microsoft.com',
    'https://storage.azure.com/.default': 'https://storage.azure.com',
    'api://mgdc-registration/.default': 'api://mgdc-registration',
  };
  for (const [scope, aud] of Object.entries(want)) {
    const r = await post(secretForm({ scope }));
    assert.equal(r.status, 200, scope);
    const { claims } = decode(r.json.access_token);
    assert.equal(claims.aud, aud);
    assert.ok(Number.isInteger(claims.iat));
    assert.match(claims.iss, /^https:\/\/sts\.windows\.net\//);
  }
});

test('credential errors: bad secret, no credential, unknown client', async () => {
  assertAad(await post(secretForm({ client_secret: `${dev.secret}x` })), 401, 'invalid_client', 7000215);
  assertAad(await post(secretForm({ client_secret: 'short' })), 401, 'invalid_client', 7000215);
  const noCred = secretForm();
  delete noCred.client_secret;
  assertAad(await post(noCred), 401, 'invalid_client', 7000218);
  assertAad(await post(secretForm({ client_id: crypto.randomUUID() })), 400, 'unauthorized_client', 700016);
  // An app Graph lists but that has no credential cannot sign in either.
  assertAad(await post(secretForm({ client_id: sb.config.applications[5].appId })), 400, 'unauthorized_client', 700016);
});

test('request errors: missing parameters, scopes, grant type, tenant, content type', async () => {
  for (const name of ['grant_type', 'client_id', 'scope']) {
    const f = secretForm();
    delete f[name];
    const r = await post(f);
    assertAad(r, 400, 'invalid_request', 900144);
    assert.ok(r.json.error_description.includes(`'${name}'`));
  }
  const sc = await post(secretForm({ scope: 'https://foo.microsoft.com/.default' }));
  assertAad(sc, 400, 'invalid_scope', 70011);
  assert.match(sc.json.error_description, /^AADSTS70011: The provided value for the input parameter 'scope' is not valid\. The scope https:\/\/foo\.microsoft\.com\/\.default is not valid\./);
  assertAad(await post(secretForm({ scope: 'https://graph.microsoft.com/User.Read' })), 400, 'invalid_scope', 70011);
  assertAad(await post(secretForm({ scope: `${GRAPH} https://storage.azure.com/.default` })), 400, 'invalid_scope', 700022);
  const g = await post(secretForm({ grant_type: 'password' }));
  assert.equal(g.status, 400);
  assert.equal(g.json.error, 'unsupported_grant_type');
  assertAad(await post(secretForm(), {}, `/login/${crypto.randomUUID()}/oauth2/v2.0/token`), 400, 'invalid_request', 90002);
  const j = await sb.fetch(tokenPath, { method: 'POST', body: secretForm() });
  assertAad(j, 400, 'invalid_request', 900144);
});

test('malformed and oversized bodies get an error, never a crash', async () => {
  assertAad(await post(Buffer.from([0xff, 0xfe, 0x00, 0x26, 0x3d, 0x3d]).toString('latin1')), 400, 'invalid_request', 900144);
  assertAad(await post('%%%&&&==='), 400, 'invalid_request', 900144);
  const big = await post(`client_secret=${'a'.repeat(5 * 1024 * 1024)}`).catch((e) => ({ status: 'reset', e }));
  assert.ok(big.status === 413 || big.status === 'reset', `got ${big.status}`);
  assertAad(await post(secretForm({ client_assertion: 'a'.repeat(20000),
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' })), 400, 'invalid_request', 50027);
  const after = await post(secretForm());
  assert.equal(after.status, 200, 'the emulator still serves');
});

test('certificate assertions: PS256 + x5t#S256 and RS256 + x5t are accepted', async () => {
  for (const alg of ['PS256', 'RS256']) {
    const r = await post(assertionForm(assertion({ alg })));
    assert.equal(r.status, 200, `${alg}: ${r.text}`);
    assert.equal(decode(r.json.access_token).claims.appid, dev.appId);
  }
  const real = assertion({ claims: { aud: `https://login.microsoftonline.com/${sb.config.tenantId}/oauth2/v2.0/token` } });
  assert.equal((await post(assertionForm(real))).status, 200, 'the login.microsoftonline.com audience is accepted');
});

test('certificate assertions: tampering, wrong thumbprint, wrong algorithm, wrong key are refused', async () => {
  const good = assertion();
  const [h, , s] = good.split('.');
  const evil = b64u(JSON.stringify({ ...decode(good).claims, jti: crypto.randomUUID(), exp: 9999999999 }));
  assertAad(await post(assertionForm(`${h}.${evil}.${s}`)), 401, 'invalid_client', 700027);
  assertAad(await post(assertionForm(assertion({ header: { 'x5t#S256': b64u(crypto.randomBytes(32)) } }))),
    401, 'invalid_client', 700027);
  // RS256 must name the SHA-1 thumbprint; giving only the SHA-256 one fails.
  assertAad(await post(assertionForm(assertion({ alg: 'RS256', header: { x5t: undefined, 'x5t#S256': opensslThumb('sha256') } }))),
    401, 'invalid_client', 700027);
  const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  assertAad(await post(assertionForm(assertion({ key: other }))), 401, 'invalid_client', 700027);
  const none = `${b64u('{"alg":"none","typ":"JWT"}')}.${b64u(JSON.stringify(decode(good).claims))}.`;
  assertAad(await post(assertionForm(none)), 401, 'invalid_client', 700027);
  assertAad(await post(assertionForm('not-a-jwt')), 400, 'invalid_request', 50027);
  const adm = sb.config.identities.admin;
  assertAad(await post(assertionForm(assertion({ claims: { iss: adm.appId, sub: adm.appId } }), { client_id: adm.appId })),
    401, 'invalid_client', 700027);
});

test('certificate assertions: claims are checked (iss/sub, aud, time, jti replay, assertion type)', async () => {
  assertAad(await post(assertionForm(assertion({ claims: { iss: crypto.randomUUID() } }))), 401, 'invalid_client', 700021);
  assertAad(await post(assertionForm(assertion({ claims: { sub: crypto.randomUUID() } }))), 401, 'invalid_client', 700021);
  assertAad(await post(assertionForm(assertion({ claims: { aud: 'https://login.microsoftonline.com/other/oauth2/v2.0/token' } }))),
    401, 'invalid_client', 50013);
  const now = Math.floor(Date.now() / 1000);
  const r = await post(assertionForm(assertion({ claims: { nbf: now - 7200, exp: now - 3600 } })));
  assertAad(r, 401, 'invalid_client', 700024);
  assert.match(r.json.error_description, /Current time: .*assertion valid from .*expiry time of assertion/);
  assertAad(await post(assertionForm(assertion({ claims: { nbf: now + 3600, exp: now + 4000 } }))), 401, 'invalid_client', 700024);
  const once = assertion();
  assert.equal((await post(assertionForm(once))).status, 200);
  assertAad(await post(assertionForm(once)), 401, 'invalid_client', 50013);
  assertAad(await post(assertionForm(assertion(), { client_assertion_type: 'jwt' })), 400, 'invalid_request', 90014);
  const noType = assertionForm(assertion());
  delete noType.client_assertion_type;
  assertAad(await post(noType), 400, 'invalid_request', 900144);
});

test('requireToken: ARM-shaped 401s (missing, wrong audience, bad signature, expired) and the caller', async () => {
  const tokens = require('../emulator/lib/tokens');
  const call = (authorization, aud = tokens.AUDIENCES.arm) => {
    try {
      return { ok: tokens.requireToken({ req: { headers: authorization ? { authorization } : {} } }, aud) };
    } catch (e) {
      return { err: e };
    }
  };
  const arm = await sb.token('admin', 'https://management.azure.com/.default');
  const who = call(`Bearer ${arm}`).ok;
  assert.equal(who.appId, sb.config.identities.admin.appId);
  assert.equal(who.upn, sb.config.identities.admin.upn);
  assert.equal(who.isGlobalAdmin, true);
  assert.equal(call(`Bearer ${await sb.token('developer', 'https://management.azure.com/.default')}`).ok.isGlobalAdmin, false);
  const cases = [
    [undefined, 'AuthenticationFailed'],
    [`Bearer ${await sb.token('developer', GRAPH)}`, 'InvalidAuthenticationToken'],
    [`Bearer ${arm.slice(0, -4)}AAAA`, 'InvalidAuthenticationToken'],
    ['Bearer x.y.z', 'InvalidAuthenticationToken'],
    [`Basic ${arm}`, 'AuthenticationFailed'],
  ];
  for (const [hdr, code] of cases) {
    const { err } = call(hdr);
    assert.equal(err.status, 401);
    assert.equal(err.body.error.code, code, String(hdr).slice(0, 20));
    assert.match(err.headers['www-authenticate'], /^Bearer authorization_uri=".*", error="invalid_token"/);
  }
  const reg = call(`Bearer ${await sb.token('developer', 'api://mgdc-registration/.default')}`, tokens.AUDIENCES.registration);
  assert.equal(reg.ok.who, 'developer');
  const r = await sb.fetch('/_faults/expire-tokens', { method: 'POST' });
  assert.equal(r.status, 200);
  const { err } = call(`Bearer ${arm}`);
  assert.equal(err.body.error.code, 'ExpiredAuthenticationToken');
  assert.match(err.body.error.message, /^The access token expiry UTC time '.*' is earlier than current UTC time '.*'\.$/);
  assert.equal(call(`Bearer ${await sb.token('admin', 'https://management.azure.com/.default')}`).ok.who, 'admin');
});

test('token lifetime setting and the emulator clock expire tokens', async () => {
  const set = await sb.fetch('/_faults/settings', { method: 'POST', body: { tokenLifetimeS: 60 } });
  assert.equal(set.status, 200);
  const r = await post(secretForm());
  assert.equal(r.json.expires_in, 60);
  const tok = r.json.access_token;
  assert.equal((await sb.fetch('/graph/v1.0/organization', { token: tok })).status, 200);
  await sb.fetch('/_faults/clock', { method: 'POST', body: { advanceSeconds: 61 } });
  const g = await sb.fetch('/graph/v1.0/organization', { token: tok });
  assert.equal(g.status, 401);
  assert.equal(g.json.error.code, 'InvalidAuthenticationToken');
  assert.match(g.json.error.message, /expired/);
  assert.equal((await sb.fetch('/graph/v1.0/organization', { token: await sb.token('developer', GRAPH) })).status, 200);
  await sb.fetch('/_faults/reset', { method: 'POST' });
  assert.equal((await post(secretForm())).json.expires_in, 3599);
});
