'use strict';
// The fault-injecting proxy in front of Azurite: transparent for Shared Key
// and bearer requests (Azurite is the judge of the signatures), and the
// /_faults rules apply to it in Blob's XML error shape. The bytes are
// compared with what Azurite serves directly.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const https = require('node:https');
const setup = require('../setup');
const { startSandbox } = require('./helpers');

let sb;
let tok;
const blob = crypto.randomBytes(1 << 20);
test.before(async () => {
  sb = await startSandbox({ azurite: true });
  tok = await sb.token('developer', 'https://storage.azure.com/.default');
});
test.after(() => sb.stop());
test.afterEach(() => sb.fetch('/_faults/reset', { method: 'POST' }));

const V = { 'x-ms-version': '2021-08-06' };

test('writes and reads pass through unchanged (bearer and Shared Key)', async () => {
  const put = await sb.fetch(`${sb.urls.blobProxy}/exports/p/one.bin`, { method: 'PUT', token: tok, body: blob,
    headers: { ...V, 'x-ms-blob-type': 'BlockBlob', 'content-type': 'application/octet-stream' } });
  assert.equal(put.status, 201, put.text);
  const direct = await sb.fetch(`${sb.urls.blob}/exports/p/one.bin`, { token: tok, headers: V });
  assert.deepEqual(direct.body, blob);
  const via = await sb.fetch(`${sb.urls.blobProxy}/exports/p/one.bin`, { token: tok, headers: { ...V, range: 'bytes=100-199' } });
  assert.equal(via.status, 206);
  assert.deepEqual(via.body, blob.subarray(100, 200));
  const u = new URL(`${sb.urls.blobProxy}/exports?restype=container&comp=list`);
  const headers = { 'x-ms-date': new Date().toUTCString(), ...V };
  headers.authorization = setup.sharedKeyHeader({ storageAccount: sb.config.storageAccount }, sb.config.storageKey,
    'GET', u.pathname, u.searchParams, headers);
  const list = await sb.fetch(u.toString(), { headers });
  assert.equal(list.status, 200, list.text);
  assert.match(list.text, /<Name>p\/one\.bin<\/Name>/);
});

test('a status fault answers in Blob XML with Retry-After; Azurite itself is untouched', async () => {
  await sb.fetch('/_faults', { method: 'POST', body: { route: '^GET /mgdcsandbox/exports/p/', status: 503, retryAfter: '1', count: 1 } });
  const r = await sb.fetch(`${sb.urls.blobProxy}/exports/p/one.bin`, { token: tok, headers: V });
  assert.equal(r.status, 503);
  assert.equal(r.headers['retry-after'], '1');
  assert.equal(r.headers['x-ms-error-code'], 'ServerBusy');
  assert.match(r.text, /^<\?xml[^>]*\?><Error><Code>ServerBusy<\/Code><Message>/);
  assert.equal((await sb.fetch(`${sb.urls.blobProxy}/exports/p/one.bin`, { token: tok, headers: V })).status, 200);
  await sb.fetch('/_faults', { method: 'POST', body: { route: '^GET /mgdcsandbox/', status: 500 } });
  assert.equal((await sb.fetch(`${sb.urls.blob}/exports/p/one.bin`, { token: tok, headers: V })).status, 200);
  assert.equal((await sb.fetch('/_faults')).json.blobProxy, sb.urls.blobProxy);
});

test('dropAfterBytes cuts a blob download mid-body', async () => {
  await sb.fetch('/_faults', { method: 'POST', body: { route: '^GET /mgdcsandbox/exports/p/one\\.bin$', dropAfterBytes: 70000, count: 1 } });
  const got = await new Promise((resolve) => {
    https.get(`${sb.urls.blobProxy}/exports/p/one.bin`, { ca: sb.ca, agent: false,
      headers: { ...V, authorization: `Bearer ${tok}` } }, (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('error', () => {});
      res.on('close', () => resolve({ status: res.statusCode, length: Number(res.headers['content-length']),
        body: Buffer.concat(parts), complete: res.complete }));
    }).on('error', (e) => resolve({ error: e }));
  });
  assert.equal(got.status, 200);
  assert.equal(got.length, blob.length);
  assert.equal(got.complete, false);
  assert.equal(got.body.length, 70000);
  assert.deepEqual(got.body, blob.subarray(0, 70000));
});

test('latency applies to blob requests', async () => {
  await sb.fetch('/_faults', { method: 'POST', body: { route: '^HEAD /mgdcsandbox/', latencyMs: 300, count: 1 } });
  const t0 = Date.now();
  const r = await sb.fetch(`${sb.urls.blobProxy}/exports/p/one.bin`, { method: 'HEAD', token: tok, headers: V });
  assert.equal(r.status, 200);
  assert.equal(Number(r.headers['content-length']), blob.length);
  assert.ok(Date.now() - t0 >= 290);
});
