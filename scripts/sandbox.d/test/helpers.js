'use strict';
// Test helper: an isolated sandbox per test file. A fresh state directory
// under the system temp dir, an in-process emulator on a free port and,
// when asked, an Azurite child process on another free port.
//
//   const { startSandbox } = require('./helpers');
//   const sb = await startSandbox({ azurite: false });
//   const tok = await sb.token('developer', 'https://graph.microsoft.com/.default');
//   const r = await sb.fetch('/graph/v1.0/organization', { token: tok });
//   assert.equal(r.status, 200); r.json.value[0].id === sb.config.tenantId;
//   await sb.stop();
//
// Design decision: the emulator runs in the test's own process (the state
// module is then inspectable as `sb.state`), so one sandbox per test file at
// a time; node --test runs files in separate processes.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const assert = require('node:assert/strict');
const https = require('node:https');
const { spawn } = require('node:child_process');
const setup = require('../setup');

const ROOT = path.resolve(__dirname, '..');
const AZURITE = path.join(ROOT, 'node_modules', '.bin', 'azurite-blob');
// Azurite loads many modules before it listens: on a loaded 2-core machine (two test
// suites at once) that took over 20 s; a deadline, not a measure.
const READY_MS = 60000;

// Azurite children must not outlive a test process that crashes or is
// killed by the test runner's timeout.
const children = new Set();
const dirs = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.once(sig, () => {
    for (const c of children) c.kill('SIGKILL');
    process.exit(128 + (sig === 'SIGTERM' ? 15 : 2));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * request(url, {method, headers, body, token, ca, lookup}) - one HTTPS request.
 * `body` may be a string, a Buffer or an object (sent as JSON); `lookup`
 * replaces DNS (node's dns.lookup signature). Resolves to
 * {status, headers, body (Buffer), text, json (undefined unless JSON)};
 * rejects on a transport error (e.g. a dropped connection).
 */
function request(url, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  let body = opts.body;
  if (body !== undefined && !Buffer.isBuffer(body) && typeof body !== 'string') {
    body = JSON.stringify(body);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  }
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: opts.method || 'GET', headers, ca: opts.ca, agent: false,
      ...(opts.lookup ? { lookup: opts.lookup } : {}) }, (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('response aborted')));
      res.on('end', () => {
        if (!res.complete) {
          reject(new Error('response incomplete'));
          return;
        }
        const buf = Buffer.concat(parts);
        const text = buf.toString('utf8');
        let json;
        if (/json/.test(res.headers['content-type'] || '')) {
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
        }
        resolve({ status: res.statusCode, headers: res.headers, body: buf, text, json });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

async function waitHttps(url, ca, deadline) {
  let last;
  while (Date.now() < deadline) {
    try {
      return await request(url, { ca });
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} did not answer: ${last && last.message}`);
}

async function startAzurite(dir, s, port) {
  const child = spawn(AZURITE, [
    '--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', path.join(dir, 'azurite'),
    '--cert', path.join(dir, s.files.serverCert), '--key', path.join(dir, s.files.serverKey),
    '--oauth', 'basic', '--disableProductStyleUrl', '--disableTelemetry', '--silent',
  ], {
    env: { ...process.env, AZURITE_ACCOUNTS: setup.azuriteAccounts(dir) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let stderr = '';
  child.stderr.on('data', (c) => { stderr = (stderr + c).slice(-4000); });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    await Promise.race([
      waitHttps(`https://127.0.0.1:${port}/`, fs.readFileSync(path.join(dir, s.files.ca)), Date.now() + READY_MS),
      exited.then((code) => { throw new Error(`azurite exited (${code}): ${stderr}`); }),
    ]);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return { child, exited };
}

/**
 * startSandbox({azurite}) - seed a temporary state dir and start the
 * emulator (and Azurite when `azurite` is true; the container `exports` is
 * created). Resolves to the sandbox object described at the top; call
 * `stop()` in an `after` hook. Rejects when a service does not start.
 */
async function startSandbox({ azurite = false } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgdc-sandbox-test-'));
  dirs.add(dir);
  let s = setup.seed(dir);
  let az = null;
  if (azurite) {
    const port = await freePort();
    s = setup.setPorts(dir, { blob: port });
    az = await startAzurite(dir, s, port);
  }
  const emuPort = await freePort();
  s = setup.setPorts(dir, { emulator: emuPort });
  const emulator = require('../emulator/main');
  const state = require('../emulator/lib/state');
  let emu;
  try {
    emu = await emulator.start({ stateDir: dir, port: emuPort, blobProxyPort: azurite ? 0 : undefined });
  } catch (e) {
    if (az) az.child.kill('SIGKILL');
    throw e;
  }
  if (azurite) {
    await setup.createContainer(dir, 'exports');
    await setup.createContainer(dir, s.fabric.workspaceId, s.fabric.oneLakeAccount);
  }
  const ca = fs.readFileSync(path.join(dir, s.files.ca));
  const urls = setup.urls(s);
  if (emu.blobProxy) urls.blobProxy = emu.blobProxy.url;
  const sb = {
    dir,
    urls,
    config: state.config,
    state,
    env: setup.env(dir),
    ca,
    /** fetch(url, opts) - `url` may be a path on the emulator ("/graph/…"). */
    fetch: (url, opts = {}) => request(url.startsWith('/') ? `${urls.emulator}${url}` : url, { ca, ...opts }),
    /** token(identity, scope) - an access token via the client secret. */
    async token(identity = 'developer', scope = 'https://management.azure.com/.default') {
      const id = state.config.identities[identity];
      if (!id) throw new Error(`no identity ${identity}`);
      const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: id.appId,
        client_secret: id.secret, scope });
      const r = await sb.fetch(`/login/${state.config.tenantId}/oauth2/v2.0/token`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
      if (r.status !== 200) throw new Error(`token for ${identity}: HTTP ${r.status} ${r.text}`);
      return r.json.access_token;
    },
    async stop() {
      await emu.stop();
      if (az && az.child.exitCode === null) {
        az.child.kill('SIGTERM');
        const t = setTimeout(() => az.child.kill('SIGKILL'), 3000);
        await az.exited;
        clearTimeout(t);
      }
      fs.rmSync(dir, { recursive: true, force: true });
      dirs.delete(dir);
    },
  };
  return sb;
}

/**
 * checkType(v, type, where) - assert that `v` is a value of catalog.json
 * type `type` ('string', 'datetime', 'boolean', 'int32', 'int64', 'double',
 * 'object' or 'array'), as the copy engine writes it.
 */
function checkType(v, type, where) {
  switch (type) {
    case 'string': assert.equal(typeof v, 'string', where); break;
    case 'datetime': assert.match(v, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, where); break;
    case 'boolean': assert.equal(typeof v, 'boolean', where); break;
    case 'int32': case 'int64': assert.ok(Number.isInteger(v), where); break;
    case 'double': assert.equal(typeof v, 'number', where); break;
    case 'object': assert.ok(v && typeof v === 'object' && !Array.isArray(v), where); break;
    case 'array': assert.ok(Array.isArray(v), where); break;
    default: assert.fail(`unknown type ${type}`);
  }
}

/*
 * assertCloudError(r, status, code) - r is a CloudError reply ({"error":
 * {"code", "message"}}) with that status and code; returns its message.
 */
function assertCloudError(r, status, code) {
  const assert = require('node:assert/strict');
  assert.equal(r.status, status, r.text);
  assert.equal(r.json.error.code, code, r.text);
  assert.equal(typeof r.json.error.message, 'string', r.text);
  return r.json.error.message;
}

module.exports = { checkType, startSandbox, request, freePort, assertCloudError };
