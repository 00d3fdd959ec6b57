'use strict';
// The sandbox's stand-ins for credentials without a secret of the client's
// own (emulator/lib/identity.js, identities.js, bin/az): IMDS and App
// Service's endpoint with their request rules and reply shapes, workload
// identity federation with Entra's refusals, the x5c header of a certificate
// assertion, and the az stand-in. Each token is then used against a service
// of the emulator, which must accept it as the identity it names.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const crypto = require('node:crypto');
const { execFile } = require('node:child_process');
const { startSandbox } = require('./helpers');
const identities = require('../identities');

let sb;
let ids;

function get(url, headers = {}) {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, json, text });
      });
    }).on('error', reject);
  });
}

const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
const imds = (q, h = { Metadata: 'true' }) => get(`${ids.url}/metadata/identity/oauth2/token?${q}`, h);

async function tokenWith(form) {
  return sb.fetch(`/login/${sb.config.tenantId}/oauth2/v2.0/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
}

const ARM = 'https://management.azure.com';
const factoryPath = () => `/arm/subscriptions/${sb.config.subscriptionId}/resourceGroups/${sb.config.resourceGroup}`
  + `/providers/Microsoft.DataFactory/factories/${sb.config.factory}?api-version=2018-06-01`;

test.before(async () => {
  sb = await startSandbox();
  ids = await require('../emulator/lib/identity').startServer({ port: 0 });
});
test.after(async () => {
  await ids.stop();
  await sb.stop();
});

test('IMDS: the Metadata header, api-version and resource are required', async () => {
  let r = await imds(`api-version=2018-02-01&resource=${ARM}`, {});
  assert.equal(r.status, 400);
  assert.deepEqual(r.json, { error: 'invalid_request', error_description: 'Required metadata header not specified' });
  r = await imds(`resource=${ARM}`);
  assert.equal(r.status, 400);
  r = await imds('api-version=2018-02-01');
  assert.equal(r.json.error_description, 'Required audience parameter not specified');
  r = await imds(`api-version=2018-02-01&resource=${ARM}`, { Metadata: 'true', 'X-Forwarded-For': '10.0.0.1' });
  assert.equal(r.status, 400, 'a proxied request is refused');
});

test('IMDS: the system-assigned identity, every value a string, a token ARM accepts', async () => {
  const r = await imds(`api-version=2018-02-01&resource=${encodeURIComponent(`${ARM}/`)}`);
  assert.equal(r.status, 200);
  const vm = sb.config.managedIdentities.vm;
  for (const k of ['expires_in', 'expires_on', 'ext_expires_in', 'not_before']) {
    assert.equal(typeof r.json[k], 'string', `${k} is a string`);
  }
  assert.equal(r.json.token_type, 'Bearer');
  assert.equal(r.json.client_id, vm.clientId);
  const c = claims(r.json.access_token);
  assert.equal(c.appid, vm.clientId);
  assert.equal(c.oid, vm.principalId);
  assert.equal(c.aud, ARM);
  const arm = await sb.fetch(factoryPath(), { token: r.json.access_token });
  assert.notEqual(arm.status, 401, 'ARM accepts the managed identity\'s token');
});

test('IMDS: a user-assigned identity by client_id, object_id or msi_res_id; unknown ones are not found', async () => {
  const u = sb.config.managedIdentities.uami;
  for (const q of [`client_id=${u.clientId}`, `object_id=${u.principalId}`, `msi_res_id=${encodeURIComponent(u.resourceId)}`]) {
    const r = await imds(`api-version=2018-02-01&resource=${ARM}&${q}`);
    assert.equal(r.status, 200, q);
    assert.equal(claims(r.json.access_token).appid, u.clientId, q);
  }
  let r = await imds(`api-version=2018-02-01&resource=${ARM}&client_id=${crypto.randomUUID()}`);
  assert.deepEqual(r.json, { error: 'invalid_request', error_description: 'Identity not found' });
  r = await imds(`api-version=2018-02-01&resource=${ARM}&client_id=${u.clientId}&object_id=${u.principalId}`);
  assert.equal(r.status, 400, 'two ids at once');
  r = await imds('api-version=2018-02-01&resource=https://example.com');
  assert.equal(r.json.error, 'invalid_resource');
});

test('App Service: X-IDENTITY-HEADER, api-version 2019-08-01, expires_on in epoch seconds', async () => {
  const hdr = sb.config.identityHeader;
  let r = await get(`${ids.url}/msi/token?api-version=2019-08-01&resource=${ARM}`, { 'X-IDENTITY-HEADER': 'wrong' });
  assert.equal(r.status, 401);
  r = await get(`${ids.url}/msi/token?api-version=2017-09-01&resource=${ARM}`, { 'X-IDENTITY-HEADER': hdr });
  assert.equal(r.status, 400, 'the old api-version');
  r = await get(`${ids.url}/msi/token?api-version=2019-08-01&resource=${ARM}&principal_id=${sb.config.managedIdentities.uami.principalId}`,
    { 'X-IDENTITY-HEADER': hdr });
  assert.equal(r.status, 200);
  assert.equal(r.json.expires_in, undefined, 'App Service gives expires_on only');
  assert.ok(Number(r.json.expires_on) > Date.now() / 1000);
  assert.equal(claims(r.json.access_token).appid, sb.config.managedIdentities.uami.clientId);
});

test('workload identity: a federated token of the trusted issuer is a client assertion', async () => {
  const dev = sb.config.identities.developer;
  const form = (jwt) => ({
    grant_type: 'client_credentials', client_id: dev.appId, scope: `${ARM}/.default`,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: jwt,
  });
  let r = await tokenWith(form(identities.federatedToken(sb.dir)));
  assert.equal(r.status, 200, r.text);
  assert.equal(claims(r.json.access_token).appid, dev.appId);
  r = await tokenWith(form(identities.federatedToken(sb.dir, { subject: 'system:serviceaccount:x:y' })));
  assert.equal(r.status, 400);
  assert.match(r.json.error_description, /^AADSTS700213: No matching federated identity record found for presented assertion subject/);
  r = await tokenWith(form(identities.federatedToken(sb.dir, { audience: 'api://other' })));
  assert.match(r.json.error_description, /^AADSTS700212: /);
  r = await tokenWith(form(identities.federatedToken(sb.dir, { lifetimeS: -3600 })));
  assert.match(r.json.error_description, /^AADSTS700024: Client assertion is not within its valid time range/);
  // Another key claiming the same issuer.
  const good = identities.federatedToken(sb.dir).split('.');
  const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const forged = `${good[0]}.${good[1]}.${crypto.sign('sha256', Buffer.from(`${good[0]}.${good[1]}`), other).toString('base64url')}`;
  r = await tokenWith(form(forged));
  assert.equal(r.status, 401);
  assert.match(r.json.error_description, /^AADSTS700027: /);
  // The admin app has no federated credential for this issuer.
  r = await tokenWith({ ...form(identities.federatedToken(sb.dir)), client_id: sb.config.identities.admin.appId });
  assert.match(r.json.error_description, /^AADSTS700211: /);
});

test('x5c: when a certificate assertion sends its chain, the first certificate must be the registered one', async () => {
  const dev = sb.config.identities.developer;
  const keyPem = fs.readFileSync(path.join(sb.dir, 'secrets/developer.key'), 'utf8');
  const certDer = new crypto.X509Certificate(dev.certPem).raw;
  const caDer = new crypto.X509Certificate(fs.readFileSync(path.join(sb.dir, 'tls/ca.pem'))).raw;
  const url = `${sb.urls.login}/${sb.config.tenantId}/oauth2/v2.0/token`;
  const assertion = (x5c) => {
    const b = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const head = { alg: 'RS256', typ: 'JWT', x5t: crypto.createHash('sha1').update(certDer).digest('base64url'), x5c };
    const input = `${b(head)}.${b({ aud: url, iss: dev.appId, sub: dev.appId, jti: crypto.randomUUID(), nbf: now, exp: now + 600 })}`;
    return `${input}.${crypto.sign('sha256', Buffer.from(input), keyPem).toString('base64url')}`;
  };
  const form = (x5c) => ({
    grant_type: 'client_credentials', client_id: dev.appId, scope: `${ARM}/.default`,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion(x5c),
  });
  let r = await tokenWith(form([certDer.toString('base64'), caDer.toString('base64')]));
  assert.equal(r.status, 200, r.text);
  r = await tokenWith(form([caDer.toString('base64')]));
  assert.equal(r.status, 401);
  assert.match(r.json.error_description, /first certificate in x5c is not the certificate registered/);
  r = await tokenWith(form([certDer.toString('base64url')]));
  assert.match(r.json.error_description, /invalid x5c header/, 'base64url is not base64');
  r = await tokenWith(form('MIIB'));
  assert.match(r.json.error_description, /invalid x5c header/);
});

// The emulator runs in this process: the CLI is run asynchronously so it can answer.
function run(file, args, env) {
  return new Promise((resolve) => {
    execFile(file, args, { env, encoding: 'utf8', timeout: 30000 }, (err, stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

test('az stand-in: not signed in, then az login and get-access-token as the CLI prints them', async () => {
  const az = path.join(__dirname, '..', 'bin', 'az');
  const cfg = fs.mkdtempSync(path.join(os.tmpdir(), 'mgdc-az-'));
  const env = { ...process.env, AZURE_CONFIG_DIR: cfg, MGDC_SANDBOX_DIR: sb.dir };
  let r = await run(az, ['account', 'get-access-token', '--output', 'json', '--resource', ARM], env);
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim(), "ERROR: Please run 'az login' to setup account.");
  const pem = path.join(cfg, 'dev.pem');
  fs.writeFileSync(pem, sb.config.identities.developer.certPem + fs.readFileSync(path.join(sb.dir, 'secrets/developer.key'), 'utf8'), { mode: 0o600 });
  r = await run(az, ['login', '--service-principal', '--username', sb.config.identities.developer.appId,
    '--tenant', sb.config.tenantId, '--certificate', pem], env);
  assert.equal(r.status, 0, r.stderr);
  const login = JSON.parse(r.stdout);
  assert.equal(login[0].tenantId, sb.config.tenantId);
  r = await run(az, ['account', 'get-access-token', '--output', 'json', '--resource', 'https://graph.microsoft.com',
    '--tenant', sb.config.tenantId], env);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(out).sort(), ['accessToken', 'expiresOn', 'expires_on', 'subscription', 'tenant', 'tokenType']);
  assert.equal(typeof out.expires_on, 'number');
  assert.match(out.expiresOn, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
  assert.equal(claims(out.accessToken).aud, 'https://graph.microsoft.com');
  r = await run(az, ['account', 'get-access-token', '--resource', ARM, '--tenant', crypto.randomUUID()], env);
  assert.equal(r.status, 1, 'another tenant than the signed-in one');
  fs.rmSync(cfg, { recursive: true, force: true });
});
