'use strict';
// scripts/sandbox up/status/env/sas/down as a user runs them: a private
// state dir and free ports; checks file modes, the env names, idempotence,
// a foreign process on the port, a stale PID file, and that `down` leaves
// no process and no listening port behind.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const net = require('node:net');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { freePort, request } = require('./helpers');

const SANDBOX = path.resolve(__dirname, '..', '..', 'sandbox');
const ENV_NAMES = ['MGDC_SANDBOX_CA', 'MGDC_LOGIN_URL', 'MGDC_GRAPH_URL', 'MGDC_ARM_URL', 'MGDC_REGISTRATION_URL',
  'MGDC_BLOB_URL', 'MGDC_TENANT_ID', 'MGDC_SUBSCRIPTION_ID', 'MGDC_RESOURCE_GROUP', 'MGDC_FACTORY',
  'MGDC_STORAGE_ACCOUNT', 'MGDC_STORAGE_KEY_FILE', 'MGDC_DEV_CLIENT_ID', 'MGDC_DEV_CLIENT_SECRET_FILE',
  'MGDC_ADMIN_CLIENT_ID', 'MGDC_ADMIN_CLIENT_SECRET_FILE', 'MGDC_CONFIG', 'MGDC_FAULTS_URL',
  'MGDC_DEV_CERT_FILE', 'MGDC_DEV_KEY_FILE', 'MGDC_READER_CLIENT_ID', 'MGDC_READER_CLIENT_SECRET_FILE', 'MGDC_PORTAL_ONLY',
  'MGDC_SYNAPSE_URL', 'MGDC_SYNAPSE_WORKSPACE',
  // Credentials without a secret of their own (identities.js).
  'MGDC_IMDS_URL', 'MGDC_APPSERVICE_ENDPOINT', 'MGDC_APPSERVICE_HEADER_FILE', 'MGDC_FEDERATED_SUBJECT',
  'MGDC_AZ_STANDIN', 'MGDC_MI_SYSTEM_CLIENT_ID', 'MGDC_MI_CLIENT_ID', 'MGDC_MI_OBJECT_ID', 'MGDC_MI_RESOURCE_ID',
  // Microsoft Fabric and OneLake's stand-in (fabric.js).
  'MGDC_FABRIC_URL', 'MGDC_FABRIC_WORKSPACE_ID', 'MGDC_FABRIC_LAKEHOUSE_ID', 'MGDC_FABRIC_LAKEHOUSE', 'MGDC_ONELAKE_URL',
  'MGDC_ONELAKE_ACCOUNT'];

let dir;
let env;
test.before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgdc-sandbox-cli-'));
  env = { ...process.env, MGDC_SANDBOX_DIR: path.join(dir, 'state'),
    MGDC_SANDBOX_PORT: String(await freePort()), MGDC_SANDBOX_BLOB_PORT: String(await freePort()),
    MGDC_SANDBOX_BLOB_PROXY_PORT: String(await freePort()), MGDC_SANDBOX_IDENTITY_PORT: String(await freePort()),
    MGDC_SANDBOX_RUN_SECONDS: '2' };
});
test.after(() => {
  run('down');
  // Whatever a failed assertion left behind is ours: never leak a process.
  for (const p of processesWith(dir)) process.kill(p, 'SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

function run(...args) {
  const opts = typeof args[args.length - 1] === 'object' ? args.pop() : {};
  const r = spawnSync(SANDBOX, args, { env: { ...env, ...opts }, encoding: 'utf8', timeout: 90000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const pidOf = (svc) => Number(fs.readFileSync(path.join(env.MGDC_SANDBOX_DIR, 'run', `${svc}.pid`), 'utf8'));
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const listening = (port) => new Promise((resolve) => {
  const s = net.connect(port, '127.0.0.1');
  s.once('connect', () => { s.destroy(); resolve(true); });
  s.once('error', () => resolve(false));
});
const parseEnv = (text) => Object.fromEntries(text.trim().split('\n').map((l) => {
  const m = /^export ([A-Z_]+)='(.*)'$/.exec(l);
  assert.ok(m, `not an export line: ${l}`);
  return [m[1], m[2]];
}));

test('status before up says so and exits 3; env refuses', () => {
  const s = run('status');
  assert.equal(s.code, 3);
  assert.match(s.out, /not set up/);
  assert.notEqual(run('env').code, 0);
});

test('up starts both services, writes the config and the secrets privately', { timeout: 120000 }, async () => {
  const r = run('up');
  assert.equal(r.code, 0, r.err + r.out);
  assert.match(r.out, /emulator\s+running, pid \d+/);
  assert.match(r.out, /azurite\s+running, pid \d+/);
  assert.match(r.out, new RegExp(`https://127\\.0\\.0\\.1:${env.MGDC_SANDBOX_BLOB_PROXY_PORT}/mgdcsandbox \\(Azurite through`));
  const st = env.MGDC_SANDBOX_DIR;
  assert.equal(fs.statSync(st).mode & 0o777, 0o700);
  for (const f of ['secrets/developer.secret', 'secrets/admin.secret', 'secrets/reader.secret', 'secrets/storage.key', 'secrets/developer.key',
    'mgdcfs.json', 'tls/server.key']) {
    assert.equal(fs.statSync(path.join(st, f)).mode & 0o077, 0, `${f} must be private`);
  }
  const cfg = JSON.parse(fs.readFileSync(path.join(st, 'mgdcfs.json'), 'utf8'));
  assert.deepEqual(Object.keys(cfg.profiles).sort(), ['admin', 'admin-fabric', 'admin-synapse', 'developer', 'developer-cert', 'developer-fabric', 'developer-md5', 'developer-synapse', 'reader']);
  assert.deepEqual(cfg.profiles['developer-synapse'].pipelines, { host: 'synapse', workspace: 'mgdc-sandbox-syn',
    endpoint: `https://127.0.0.1:${env.MGDC_SANDBOX_PORT}/synapse/mgdc-sandbox-syn` });
  assert.equal(cfg.profiles['developer-synapse'].factory, undefined, 'no factory key beside a Synapse host');
  assert.deepEqual(cfg.profiles['developer-fabric'].pipelines, {
    host: 'fabric', workspace: JSON.parse(fs.readFileSync(path.join(st, 'sandbox.json'), 'utf8')).fabric.workspaceId,
    lakehouse: 'mgdc_lakehouse', endpoint: `https://127.0.0.1:${env.MGDC_SANDBOX_PORT}/fabric/v1`,
    onelake_url: `https://127.0.0.1:${env.MGDC_SANDBOX_BLOB_PORT}/onelake`,
  });
  // The product's defaults (8 MiB chunks, no per-range MD5) but for the MD5 profile.
  assert.equal(cfg.profiles.developer.cache.chunk_kb, undefined);
  assert.equal(cfg.profiles.admin.cache.chunk_kb, undefined);
  assert.equal(cfg.profiles['developer-md5'].cache.chunk_kb, 4096);
  assert.equal(cfg.profiles.developer.endpoints.registration, `https://127.0.0.1:${env.MGDC_SANDBOX_PORT}/mgdc`);
  assert.equal(cfg.default_profile, 'developer');
  assert.equal(cfg.profiles['developer-cert'].assertion_alg, 'PS256');
  assert.deepEqual(cfg.profiles.developer.ttl, { metadata_s: 10, status_s: 2, listing_s: 30 });
  assert.deepEqual(cfg.profiles.developer.timeouts, { connect_ms: 3000, io_s: 10, retries: 4, deadline_ms: 30000 });
  assert.equal(cfg.profiles.admin.endpoints.login, `https://127.0.0.1:${env.MGDC_SANDBOX_PORT}/login`);
  const text = fs.readFileSync(path.join(st, 'mgdcfs.json'), 'utf8');
  assert.ok(!text.includes(fs.readFileSync(path.join(st, 'secrets/developer.secret'), 'utf8').trim()), 'no secret inline');
});

test('env prints exactly the agreed names, and they work', async () => {
  const r = run('env');
  assert.equal(r.code, 0, r.err);
  const e = parseEnv(r.out);
  assert.deepEqual(Object.keys(e).sort(), [...ENV_NAMES].sort());
  const ca = fs.readFileSync(e.MGDC_SANDBOX_CA);
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: e.MGDC_DEV_CLIENT_ID,
    client_secret: fs.readFileSync(e.MGDC_DEV_CLIENT_SECRET_FILE, 'utf8').trim(), scope: 'https://graph.microsoft.com/.default' });
  const t = await request(`${e.MGDC_LOGIN_URL}/${e.MGDC_TENANT_ID}/oauth2/v2.0/token`, { ca, method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
  assert.equal(t.status, 200, t.text);
  const o = await request(`${e.MGDC_GRAPH_URL}/v1.0/organization`, { ca, token: t.json.access_token });
  assert.equal(o.json.value[0].id, e.MGDC_TENANT_ID);
  assert.equal((await request(e.MGDC_FAULTS_URL, { ca })).status, 200);
  // The IMDS stand-in answers on the identity port, plain HTTP, for the seeded identity.
  const imds = await new Promise((resolve, reject) => {
    require('node:http').get(`${e.MGDC_IMDS_URL}/metadata/identity/oauth2/token?api-version=2018-02-01`
      + `&resource=https://graph.microsoft.com&client_id=${e.MGDC_MI_CLIENT_ID}`, { headers: { Metadata: 'true' } }, (res) => {
      res.resume();
      resolve(res.statusCode);
    }).on('error', reject);
  });
  assert.equal(imds, 200);
  assert.ok(fs.statSync(path.join(e.MGDC_AZ_STANDIN, 'az')).mode & 0o111, 'the az stand-in is executable');
});

test('sas gives read+list on a container (the exports container exists) and no write', async () => {
  const r = run('sas', 'exports');
  assert.equal(r.code, 0, r.err);
  const url = r.out.trim();
  const ca = fs.readFileSync(path.join(env.MGDC_SANDBOX_DIR, 'tls', 'ca.pem'));
  const list = await request(`${url}&restype=container&comp=list`, { ca });
  assert.equal(list.status, 200, list.text);
  assert.match(list.text, /ContainerName="exports"/);
  const u = new URL(url);
  u.pathname += '/x.json';
  const put = await request(u.toString(), { ca, method: 'PUT', body: '{}', headers: { 'x-ms-blob-type': 'BlockBlob' } });
  assert.equal(put.status, 403);
  assert.notEqual(run('sas', '../etc').code, 0);
});

// Every name under mgdc.test is 127.0.0.1 here, without DNS or /etc/hosts.
const toLoopback = (host, opts, cb) => {
  assert.match(host, /(^|\.)mgdc\.test$/);
  if (opts && opts.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
  else cb(null, '127.0.0.1', 4);
};

test('every endpoint answers under a name of mgdc.test, verified against the sandbox CA', async () => {
  const e = parseEnv(run('env').out);
  const ca = fs.readFileSync(e.MGDC_SANDBOX_CA);
  const named = (url, name) => url.replace('://127.0.0.1:', `://${name}.mgdc.test:`);
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: e.MGDC_DEV_CLIENT_ID,
    client_secret: fs.readFileSync(e.MGDC_DEV_CLIENT_SECRET_FILE, 'utf8').trim(), scope: 'https://graph.microsoft.com/.default' });
  const t = await request(`${named(e.MGDC_LOGIN_URL, 'login')}/${e.MGDC_TENANT_ID}/oauth2/v2.0/token`, { ca,
    lookup: toLoopback, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
  assert.equal(t.status, 200, t.text);
  const o = await request(`${named(e.MGDC_GRAPH_URL, 'graph')}/v1.0/organization`, { ca, lookup: toLoopback,
    token: t.json.access_token });
  assert.equal(o.json.value[0].id, e.MGDC_TENANT_ID);
  // Storage stays path-style under a name too (Azurite runs with --disableProductStyleUrl):
  // the account is the first path segment, not the host's first label.
  const sas = run('sas', 'exports').out.trim();
  for (const host of ['blob', 'mgdcsandbox']) {
    const list = await request(`${named(sas, host)}&restype=container&comp=list`, { ca, lookup: toLoopback });
    assert.equal(list.status, 200, `${host}: ${list.text}`);
    assert.match(list.text, /ContainerName="exports"/);
  }
  const proxied = sas.replace(`:${env.MGDC_SANDBOX_BLOB_PORT}/`, `:${env.MGDC_SANDBOX_BLOB_PROXY_PORT}/`);
  const viaProxy = await request(`${named(proxied, 'blob')}&restype=container&comp=list`, { ca, lookup: toLoopback });
  assert.equal(viaProxy.status, 200, viaProxy.text);
  // A name outside the certificate is refused by TLS verification, not served.
  await assert.rejects(request(`https://localhost.localdomain:${env.MGDC_SANDBOX_PORT}/`, { ca,
    lookup: (h, opts, cb) => (opts && opts.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4)) }),
  /altnames|ERR_TLS_CERT_ALTNAME_INVALID|does not match/i);
});

test('a second up changes nothing and reports the running services', () => {
  const before = [pidOf('emulator'), pidOf('azurite')];
  const r = run('up');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual([pidOf('emulator'), pidOf('azurite')], before);
  assert.equal(run('status').code, 0);
});

test('the man page walkthrough runs: register, self-approval refused, approve, pipeline run, blobs', { timeout: 90000 }, () => {
  const r = spawnSync(path.join(__dirname, '..', 'examples', 'walkthrough.sh'), [],
    { cwd: path.resolve(__dirname, '..', '..', '..'), env, encoding: 'utf8', timeout: 80000 });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /"status":"PendingAuthorization"/);
  assert.match(r.stdout, /"code":"SelfApprovalNotAllowed","message":"App approver and owner cannot be the same user\."\}\} HTTP 403/);
  assert.match(r.stdout, /\{"status":"Approved","approvedBy":"admin@/);
  assert.match(r.stdout, /\nSucceeded\n/);
  assert.match(r.stdout, /<Name>mail\/[0-9a-f-]{36}\/[^<]+\.json<\/Name>/);
  assert.match(r.stdout, /\{"id":"[^"]+","subject":"[^"]*","receivedDateTime":"2024-01-0/);
});

test('up --portal-only: no registration contract; the portal stand-in registers and approves', { timeout: 120000 }, async () => {
  let r = run('up', '--portal-only');
  assert.equal(r.code, 0, r.err + r.out);
  assert.match(r.out, /mode: portal-only/);
  const e = parseEnv(run('env').out);
  assert.equal(e.MGDC_PORTAL_ONLY, '1');
  const cfg = JSON.parse(fs.readFileSync(e.MGDC_CONFIG, 'utf8'));
  for (const p of ['developer', 'admin']) {
    assert.equal(cfg.profiles[p].endpoints.registration, undefined, `${p} has no registration endpoint`);
    assert.equal(cfg.profiles[p].registration_scope, undefined);
  }
  const ca = fs.readFileSync(e.MGDC_SANDBOX_CA);
  const form = (id, file) => new URLSearchParams({ grant_type: 'client_credentials', client_id: id,
    client_secret: fs.readFileSync(file, 'utf8').trim(), scope: 'api://mgdc-registration/.default' }).toString();
  const tok = async (id, file) => (await request(`${e.MGDC_LOGIN_URL}/${e.MGDC_TENANT_ID}/oauth2/v2.0/token`, { ca, method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form(id, file) })).json.access_token;
  const dev = await tok(e.MGDC_DEV_CLIENT_ID, e.MGDC_DEV_CLIENT_SECRET_FILE);
  const base = `${e.MGDC_REGISTRATION_URL}/v1/tenants/${e.MGDC_TENANT_ID}`;
  for (const [method, p] of [['GET', '/dataConnect'], ['GET', '/registrations'], ['PUT', `/registrations/${e.MGDC_DEV_CLIENT_ID}`]]) {
    const x = await request(`${base}${p}`, { ca, method, token: dev, body: method === 'PUT' ? {} : undefined });
    assert.equal(x.status, 404, `${method} ${p}: ${x.text}`);
    assert.equal(x.json.error.code, 'NotFound');
  }
  // The portal: register (same form as apps/<name>.json, with the appId), approve, refusals.
  run('portal', 'delete', e.MGDC_DEV_CLIENT_ID); // the walkthrough's registration, if any
  const file = path.join(dir, 'mail.json');
  fs.writeFileSync(file, JSON.stringify({ appId: e.MGDC_DEV_CLIENT_ID, destination: { container: 'exports' },
    datasets: [{ name: 'BasicDataSet_v0.Message_v1', columns: 'all' }] }));
  r = run('portal', 'register', file);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^mail \([0-9a-f-]{36}\): PendingAuthorization$/m);
  r = run('portal', 'approve', e.MGDC_DEV_CLIENT_ID);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /Approved/);
  fs.writeFileSync(file, JSON.stringify({ appId: e.MGDC_DEV_CLIENT_ID, destination: { container: 'exports' },
    datasets: [{ name: 'BasicDataSet_v0.Mesage_v1', columns: 'all' }] }));
  r = run('portal', 'register', file);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /InvalidRegistration: .*is not a Microsoft Graph Data Connect dataset\. Did you mean 'BasicDataSet_v0\.Message_v1'\?/);
  r = run('portal', 'decline', '00000000-0000-0000-0000-000000000000');
  assert.notEqual(r.code, 0);
  assert.match(r.err, /RegistrationNotFound/);
  assert.equal(run('portal', 'data-connect', 'disabled').code, 0);
  fs.writeFileSync(file, JSON.stringify({ appId: e.MGDC_READER_CLIENT_ID, destination: { container: 'exports' },
    datasets: [{ name: 'BasicDataSet_v0.Message_v1', columns: ['id'] }] }));
  r = run('portal', 'register', file);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /DataConnectDisabled/);
  assert.equal(run('portal', 'data-connect', 'enabled').code, 0);
  assert.equal(run('portal', 'delete', e.MGDC_DEV_CLIENT_ID).code, 0);
  // Back to the contract without the flag.
  r = run('up');
  assert.equal(r.code, 0, r.err);
  assert.doesNotMatch(r.out, /portal-only/);
  assert.equal(parseEnv(run('env').out).MGDC_PORTAL_ONLY, '0');
  const x = await request(`${base}/dataConnect`, { ca, token: dev });
  assert.equal(x.status, 200, x.text);
});

// PIDs of processes whose command line mentions `text`.
function processesWith(text) {
  const out = [];
  for (const p of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(text)) out.push(Number(p));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

test('a port held by another program is reported clearly and nothing is left running', async () => {
  const srv = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  const other = path.join(dir, 'other');
  for (const which of ['MGDC_SANDBOX_PORT', 'MGDC_SANDBOX_BLOB_PORT', 'MGDC_SANDBOX_BLOB_PROXY_PORT',
    'MGDC_SANDBOX_IDENTITY_PORT']) {
    const ports = { MGDC_SANDBOX_PORT: String(await freePort()), MGDC_SANDBOX_BLOB_PORT: String(await freePort()),
      MGDC_SANDBOX_BLOB_PROXY_PORT: String(await freePort()), MGDC_SANDBOX_IDENTITY_PORT: String(await freePort()),
      [which]: String(srv.address().port) };
    const r = run('up', { MGDC_SANDBOX_DIR: other, ...ports });
    assert.notEqual(r.code, 0, which);
    assert.match(r.err, new RegExp(`port ${srv.address().port} \\(for [a-z ]+\\) is in use by another program.*${which}=N`));
    assert.deepEqual(processesWith(other), [], `nothing of ${other} may run after a refused up (${which})`);
  }
  srv.close();
  assert.equal(run('status', { MGDC_SANDBOX_DIR: other }).code, 3);
});

test('down stops exactly ours: no process, no port left; a stale PID file is not obeyed', async () => {
  const pids = [pidOf('emulator'), pidOf('azurite')];
  const r = run('down');
  assert.equal(r.code, 0, r.err);
  for (const p of pids) assert.equal(alive(p), false, `pid ${p} still alive`);
  assert.equal(await listening(Number(env.MGDC_SANDBOX_PORT)), false);
  assert.equal(await listening(Number(env.MGDC_SANDBOX_BLOB_PORT)), false);
  assert.equal(await listening(Number(env.MGDC_SANDBOX_BLOB_PROXY_PORT)), false);
  assert.equal(await listening(Number(env.MGDC_SANDBOX_IDENTITY_PORT)), false);
  assert.equal(run('status').code, 3);
  // A PID file naming a process that is not ours (this test runner).
  fs.writeFileSync(path.join(env.MGDC_SANDBOX_DIR, 'run', 'emulator.pid'), String(process.pid));
  assert.equal(run('down').code, 0);
  assert.equal(alive(process.pid), true);
  assert.equal(fs.existsSync(path.join(env.MGDC_SANDBOX_DIR, 'run', 'emulator.pid')), false);
});

test('up again after down keeps the seed (same tenant, same secrets)', () => {
  const seed = fs.readFileSync(path.join(env.MGDC_SANDBOX_DIR, 'sandbox.json'), 'utf8');
  const secret = fs.readFileSync(path.join(env.MGDC_SANDBOX_DIR, 'secrets/admin.secret'), 'utf8');
  const r = run('up');
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(fs.readFileSync(path.join(env.MGDC_SANDBOX_DIR, 'sandbox.json'), 'utf8')).tenantId,
    JSON.parse(seed).tenantId);
  assert.equal(fs.readFileSync(path.join(env.MGDC_SANDBOX_DIR, 'secrets/admin.secret'), 'utf8'), secret);
  assert.equal(run('down').code, 0);
});
