'use strict';
// The sandbox's TLS material: the server certificate covers loopback's
// address, localhost, mgdc.test and *.mgdc.test, is issued by the sandbox CA,
// and a state dir seeded before the names existed gets a new certificate
// from the same CA at the next seed (so configs that trust the CA keep
// working). The truth is the certificate as OpenSSL and node parse it.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const setup = require('../setup');

const dirs = [];
test.after(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

function seeded() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgdc-sandbox-tls-'));
  dirs.push(dir);
  setup.seed(dir);
  return dir;
}
const cert = (dir) => new crypto.X509Certificate(fs.readFileSync(path.join(dir, 'tls', 'server.pem')));
const ca = (dir) => new crypto.X509Certificate(fs.readFileSync(path.join(dir, 'tls', 'ca.pem')));

test('the server certificate covers 127.0.0.1, localhost, mgdc.test and *.mgdc.test', () => {
  const dir = seeded();
  const c = cert(dir);
  assert.ok(c.checkIssued(ca(dir)) && c.verify(ca(dir).publicKey), 'issued by the sandbox CA');
  // checkHost answers with the certificate's name that matched (the wildcard for one level down).
  for (const [host, by] of [['localhost', 'localhost'], ['mgdc.test', 'mgdc.test'],
    ['login.mgdc.test', '*.mgdc.test'], ['blob.mgdc.test', '*.mgdc.test'], ['x-1.mgdc.test', '*.mgdc.test']]) {
    assert.equal(c.checkHost(host), by, host);
  }
  assert.equal(c.checkIP('127.0.0.1'), '127.0.0.1');
  // A wildcard covers one label: a deeper name is not the sandbox's.
  assert.equal(c.checkHost('a.b.mgdc.test'), undefined);
  assert.equal(c.checkHost('mgdc.test.example'), undefined);
});

test('a state dir whose certificate lacks the names gets a new one from the same CA', () => {
  const dir = seeded();
  const tls = path.join(dir, 'tls');
  // The certificate as earlier sandboxes made it: 127.0.0.1 and localhost only.
  fs.writeFileSync(path.join(tls, 'old.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  execFileSync('openssl', ['req', '-new', '-key', path.join(tls, 'server.key'), '-out', path.join(tls, 'old.csr'),
    '-subj', '/O=mgdcfs sandbox/CN=localhost'], { stdio: 'ignore' });
  execFileSync('openssl', ['x509', '-req', '-in', path.join(tls, 'old.csr'), '-CA', path.join(tls, 'ca.pem'),
    '-CAkey', path.join(tls, 'ca.key'), '-set_serial', '7', '-days', '30', '-out', path.join(tls, 'server.pem'),
    '-extfile', path.join(tls, 'old.ext')], { stdio: 'ignore' });
  assert.equal(cert(dir).checkHost('login.mgdc.test'), undefined, 'the old certificate lacks the names');
  const caBefore = fs.readFileSync(path.join(tls, 'ca.pem'), 'utf8');
  const tenant = JSON.parse(fs.readFileSync(path.join(dir, 'sandbox.json'), 'utf8')).tenantId;
  setup.seed(dir);
  assert.equal(cert(dir).checkHost('login.mgdc.test'), '*.mgdc.test', 'a new certificate covers them');
  assert.ok(cert(dir).checkIssued(ca(dir)), 'issued by the same CA');
  assert.equal(fs.readFileSync(path.join(tls, 'ca.pem'), 'utf8'), caBefore, 'the CA is kept');
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'sandbox.json'), 'utf8')).tenantId, tenant, 'and the tenant');
  assert.equal(fs.statSync(path.join(tls, 'server.key')).mode & 0o077, 0, 'the key stays private');
  // And a certificate that has them is kept as it is.
  const serial = cert(dir).serialNumber;
  setup.seed(dir);
  assert.equal(cert(dir).serialNumber, serial);
});
