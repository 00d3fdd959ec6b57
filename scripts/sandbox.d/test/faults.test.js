'use strict';
// /_faults: injected statuses with Retry-After in each service's shape,
// latency, connections dropped mid-body, token expiry, the clock, runtime
// settings, rule validation, reset; and the dispatcher's own 404/405.

const test = require('node:test');
const assert = require('node:assert/strict');
const https = require('node:https');
const { startSandbox } = require('./helpers');

let sb;
let graphTok;
test.before(async () => {
  sb = await startSandbox();
  graphTok = await sb.token('developer', 'https://graph.microsoft.com/.default');
});
test.after(() => sb.stop());
test.afterEach(() => sb.fetch('/_faults/reset', { method: 'POST' }));

const fault = (body) => sb.fetch('/_faults', { method: 'POST', body });
const org = () => sb.fetch('/graph/v1.0/organization', { token: graphTok });

test('a status fault answers `count` times with Retry-After, then the service answers again', async () => {
  const add = await fault({ route: '^GET /graph/v1\\.0/organization$', status: 503, retryAfter: '2', count: 2 });
  assert.equal(add.status, 201, add.text);
  for (let i = 0; i < 2; i++) {
    const r = await org();
    assert.equal(r.status, 503);
    assert.equal(r.headers['retry-after'], '2');
    assert.ok(r.json.error.code && r.json.error.innerError, 'Graph error shape');
  }
  assert.equal((await org()).status, 200);
  const list = await sb.fetch('/_faults');
  assert.equal(list.json.rules.length, 1);
  assert.equal(list.json.rules[0].hits, 2);
  assert.equal(list.json.rules[0].count, 2);
});

test('429 on Graph has the throttling body; on ARM paths and login the services\' shapes', async () => {
  await fault({ route: '^GET /graph/', status: 429, retryAfter: '1.5', count: 1 });
  const g = await org();
  assert.equal(g.status, 429);
  assert.equal(g.headers['retry-after'], '1.5');
  assert.equal(g.json.error.code, 'TooManyRequests');
  assert.equal(g.json.error.innerError.status, '429');
  await fault({ route: '^PUT /arm/', status: 429, retryAfter: '3', count: 1 });
  const a = await sb.fetch('/arm/subscriptions/x/resourceGroups/y', { method: 'PUT', body: {} });
  assert.equal(a.status, 429);
  assert.deepEqual(Object.keys(a.json.error).sort(), ['code', 'message']);
  assert.equal(a.json.error.code, 'TooManyRequests');
  await fault({ route: 'oauth2/v2\\.0/token$', status: 503, count: 1 });
  const l = await sb.fetch(`/login/${sb.config.tenantId}/oauth2/v2.0/token`, { method: 'POST', body: 'x=y' });
  assert.equal(l.status, 503);
  assert.equal(l.json.error, 'temporarily_unavailable');
  await fault({ route: '^GET /graph/', status: 500, body: { custom: true }, count: 1 });
  assert.deepEqual((await org()).json, { custom: true });
});

test('latency delays the answer; rules without count apply until reset', async () => {
  await fault({ route: '^GET /graph/v1\\.0/organization$', latencyMs: 300 });
  for (let i = 0; i < 2; i++) {
    const t0 = Date.now();
    assert.equal((await org()).status, 200);
    assert.ok(Date.now() - t0 >= 290, `took ${Date.now() - t0} ms`);
  }
  await sb.fetch('/_faults/reset', { method: 'POST' });
  const t0 = Date.now();
  await org();
  assert.ok(Date.now() - t0 < 250);
});

test('dropAfterBytes cuts the connection after exactly K body bytes', async () => {
  const full = await org();
  await fault({ route: '^GET /graph/v1\\.0/organization$', dropAfterBytes: 40, count: 1 });
  const got = await new Promise((resolve) => {
    const req = https.get(`${sb.urls.graph}/v1.0/organization`, { ca: sb.ca, agent: false,
      headers: { authorization: `Bearer ${graphTok}` } }, (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('error', () => {});
      res.on('close', () => resolve({ status: res.statusCode, length: Number(res.headers['content-length']),
        body: Buffer.concat(parts), complete: res.complete }));
    });
    req.on('error', (e) => resolve({ error: e }));
  });
  assert.equal(got.status, 200);
  assert.equal(got.complete, false);
  assert.equal(got.length, full.body.length, 'the headers announce the whole body');
  assert.equal(got.body.length, 40);
  assert.deepEqual(got.body, full.body.subarray(0, 40));
  await fault({ route: '^GET /graph/v1\\.0/organization$', dropAfterBytes: 0, count: 1 });
  await assert.rejects(() => org(), 'a response cut after its headers is an error for the client');
  assert.equal((await org()).status, 200, 'count exhausted');
});

test('expire-tokens invalidates every earlier token', async () => {
  const before = await sb.token('admin', 'https://graph.microsoft.com/.default');
  const r = await sb.fetch('/_faults/expire-tokens', { method: 'POST' });
  assert.equal(r.status, 200);
  assert.ok(r.json.tokenGeneration >= 1);
  for (const t of [before, graphTok]) {
    assert.equal((await sb.fetch('/graph/v1.0/organization', { token: t })).status, 401);
  }
  graphTok = await sb.token('developer', 'https://graph.microsoft.com/.default');
  assert.equal((await org()).status, 200);
});

test('the clock moves by days or seconds and reset puts it back', async () => {
  const c0 = await sb.fetch('/_faults/clock');
  assert.equal(c0.json.offsetMs, 0);
  const r = await sb.fetch('/_faults/clock', { method: 'POST', body: { advanceDays: 181 } });
  assert.equal(r.status, 200);
  assert.equal(r.json.offsetMs, 181 * 86400e3);
  const skew = Date.parse(r.json.now) - Date.now();
  assert.ok(Math.abs(skew - 181 * 86400e3) < 5000, `skew ${skew}`);
  assert.equal(sb.state.now() - Date.now() >= 181 * 86400e3 - 1000, true, 'state.now() follows');
  const s = await sb.fetch('/_faults/clock', { method: 'POST', body: { advanceSeconds: 30 } });
  assert.equal(s.json.offsetMs, 181 * 86400e3 + 30000);
  for (const bad of [{}, { advanceDays: 'x' }, { advanceDays: 1e9 }, []]) {
    const e = await sb.fetch('/_faults/clock', { method: 'POST', body: bad });
    assert.equal(e.status, 400, JSON.stringify(bad));
    assert.equal(e.json.error.code, 'InvalidFault');
  }
  await sb.fetch('/_faults/reset', { method: 'POST' });
  assert.equal((await sb.fetch('/_faults/clock')).json.offsetMs, 0);
});

test('settings change run duration and token lifetime at run time; reset restores them', async () => {
  const s0 = (await sb.fetch('/_faults/settings')).json;
  assert.equal(s0.runSeconds, sb.config.options.runSeconds);
  const r = await sb.fetch('/_faults/settings', { method: 'POST', body: { runSeconds: 1, tokenLifetimeS: 120 } });
  assert.equal(r.status, 200);
  assert.equal(sb.state.config.runSeconds, 1);
  assert.equal(sb.state.config.tokenLifetimeS, 120);
  assert.equal((await sb.fetch('/_faults/settings', { method: 'POST', body: { nope: 1 } })).status, 400);
  assert.equal((await sb.fetch('/_faults/settings', { method: 'POST', body: { runSeconds: -1 } })).status, 400);
  await sb.fetch('/_faults/reset', { method: 'POST' });
  assert.deepEqual((await sb.fetch('/_faults/settings')).json, s0);
});

test('invalid rules and bodies get 400 InvalidFault, never a crash', async () => {
  const bad = [
    { status: 503 }, { route: '(', status: 503 }, { route: 'x' }, { route: 'x', status: 99 },
    { route: 'x', latencyMs: -1 }, { route: 'x', dropAfterBytes: 1.5 }, { route: 'x', status: 503, count: 0 },
    { route: 'x'.repeat(600), status: 503 }, { route: 'x', status: 503, retryAfter: {} }, [1, 2], 'str',
    { route: 'x', status: 101 }, { route: 'x', status: 503, retryAfter: '1\r\nSet-Cookie: a=b' },
  ];
  for (const b of bad) {
    const r = await fault(b);
    assert.equal(r.status, 400, JSON.stringify(b).slice(0, 50));
    assert.equal(r.json.error.code, 'InvalidFault');
  }
  const raw = await sb.fetch('/_faults', { method: 'POST', body: '{not json', headers: { 'content-type': 'application/json' } });
  assert.equal(raw.status, 400);
  const empty = await sb.fetch('/_faults', { method: 'POST' });
  assert.equal(empty.status, 400);
  assert.equal((await sb.fetch('/_faults')).json.rules.length, 0);
  const big = await sb.fetch('/_faults', { method: 'POST', body: 'x'.repeat(5 * 1024 * 1024) }).catch(() => ({ status: 'reset' }));
  assert.ok(big.status === 413 || big.status === 'reset');
  assert.equal((await sb.fetch('/_faults')).status, 200, 'still serving');
});

test('DELETE /_faults drops the rules; unknown routes 404, wrong methods 405, bad escapes 400', async () => {
  await fault({ route: '^GET /graph/', status: 503 });
  assert.equal((await sb.fetch('/_faults', { method: 'DELETE' })).status, 204);
  assert.equal((await org()).status, 200);
  const nf = await sb.fetch('/nowhere');
  assert.equal(nf.status, 404);
  assert.equal(nf.json.error.code, 'NotFound');
  const mm = await sb.fetch('/_faults/reset');
  assert.equal(mm.status, 405);
  for (const p of [`/login/%E0%A4%A/oauth2/v2.0/token`, '/graph/v1.0/applications/%ZZ', '/arm/subscriptions/%']) {
    const bad = await sb.fetch(p, { method: p.startsWith('/login') ? 'POST' : 'GET' });
    assert.equal(bad.status, 400, p);
    assert.ok(bad.json.error.code === 'InvalidUri' || bad.json.error.code === 'BadRequest', p);
  }
});
