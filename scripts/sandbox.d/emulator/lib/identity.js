'use strict';
// Credentials without a secret of the client's own (man/mgdc-sandbox.7,
// "Managed identity, workload identity and the Azure CLI"):
//
// - The Azure Instance Metadata Service's token endpoint (IMDS) and App
//   Service's identity endpoint, on a plain-HTTP loopback port of their own
//   (the real ones are plain HTTP too: http://169.254.169.254 and
//   IDENTITY_ENDPOINT), issuing tokens for the sandbox's managed identities.
// - Workload identity federation: a client_assertion that is a token of a
//   trusted external issuer, checked against the app's federated identity
//   credentials (issuer, subject, audience) as Entra does.
// - The x5c header of a certificate assertion, when a client sends one.
//
// Design decision: the token endpoint itself stays in tokens.js; it asks
// isFederated()/checkFederated() and checkX5c() here, so each credential's
// rules live in one place.

const crypto = require('node:crypto');
const http = require('node:http');
const state = require('./state');
const { aadError, isoSecond } = require('./http');

const SKEW_S = 300;

function decode(jwt) {
  const parts = String(jwt).split('.');
  if (parts.length !== 3) return null;
  try {
    return {
      header: JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')),
      payload: JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')),
      input: `${parts[0]}.${parts[1]}`,
      sig: Buffer.from(parts[2], 'base64url'),
    };
  } catch {
    return null;
  }
}

// ------------------------------------------------ workload identity federation

const fedCreds = () => state.config.federatedCredentials || [];

/** isFederated(jwt) - true when the assertion's issuer is one a federated credential names. */
function isFederated(jwt) {
  const t = decode(jwt);
  return !!(t && t.payload && fedCreds().some((f) => f.issuer === t.payload.iss));
}

/**
 * checkFederated(jwt, identity, clientId) - Entra's checks of a federated
 * assertion: a credential on this app with the token's issuer, subject and
 * an audience of the token; the issuer's signature; the time range. Throws
 * the Entra error; returns nothing.
 */
function checkFederated(jwt, identity, clientId) {
  const t = decode(jwt);
  const p = t.payload;
  const auds = Array.isArray(p.aud) ? p.aud : [p.aud];
  const mine = fedCreds().filter((f) => f.who === identity.who);
  const s = (v) => String(v).slice(0, 200);
  const tail = 'Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation';
  const byIssuer = mine.filter((f) => f.issuer === p.iss);
  if (!byIssuer.length) {
    throw aadError(400, 'invalid_request', 700211, `No matching federated identity record found for presented assertion issuer '${s(p.iss)}'. ${tail}`);
  }
  const bySubject = byIssuer.filter((f) => f.subject === p.sub);
  if (!bySubject.length) {
    throw aadError(400, 'invalid_request', 700213, `No matching federated identity record found for presented assertion subject '${s(p.sub)}'. ${tail}`);
  }
  if (!bySubject.some((f) => f.audiences.some((a) => auds.includes(a)))) {
    throw aadError(400, 'invalid_request', 700212, `No matching federated identity record found for presented assertion audience '${s(auds.join(','))}'. ${tail}`);
  }
  let ok = false;
  try {
    const pub = crypto.createPublicKey(crypto.createPrivateKey(state.config.issuerKeyPem));
    ok = t.header.alg === 'RS256' && crypto.verify('sha256', Buffer.from(t.input), pub, t.sig);
  } catch {
    ok = false;
  }
  if (!ok) {
    throw aadError(401, 'invalid_client', 700027, `Client assertion failed signature validation. The token of issuer '${s(p.iss)}' is not signed by a key of that issuer.`);
  }
  const nowS = Math.floor(Date.now() / 1000);
  const nbf = Number(p.nbf ?? p.iat);
  const exp = Number(p.exp);
  if (!Number.isFinite(exp) || exp <= nowS - SKEW_S || (Number.isFinite(nbf) && nbf > nowS + SKEW_S)) {
    const fmt = (v) => (Number.isFinite(v) ? isoSecond(new Date(v * 1000)) : 'unset');
    throw aadError(400, 'invalid_client', 700024, `Client assertion is not within its valid time range. Current time: ${fmt(nowS)}, assertion valid from ${fmt(nbf)}, expiry time of assertion ${fmt(exp)}.`);
  }
  if (clientId !== identity.appId) {
    throw aadError(400, 'unauthorized_client', 700016, `Application with identifier '${s(clientId)}' was not found in the directory.`);
  }
}

// ------------------------------------------------------------ x5c

/**
 * checkX5c(header, certPem, bad) - a certificate assertion may carry its
 * chain in x5c (RFC 7515 §4.1.6: an array of base64, not base64url, DER
 * certificates, the signing one first). When present it must be that and
 * its first certificate must be the registered one; `bad(code, text)`
 * builds the error to throw.
 */
function checkX5c(header, certPem, bad) {
  if (header.x5c === undefined) return;
  const x = header.x5c;
  if (!Array.isArray(x) || x.length === 0 || x.length > 10
      || !x.every((c) => typeof c === 'string' && /^[A-Za-z0-9+/]+=*$/.test(c))) {
    throw bad(700027, 'Client assertion contains an invalid x5c header: expected an array of base64 DER certificates.');
  }
  let first;
  try {
    first = new crypto.X509Certificate(Buffer.from(x[0], 'base64'));
    x.slice(1).forEach((c) => new crypto.X509Certificate(Buffer.from(c, 'base64')));
  } catch {
    throw bad(700027, 'Client assertion contains an invalid x5c header: a certificate does not parse.');
  }
  if (!first.raw.equals(new crypto.X509Certificate(certPem).raw)) {
    throw bad(700027, 'The first certificate in x5c is not the certificate registered on the application.');
  }
}

// --------------------------------------------- IMDS and App Service endpoints

// resource -> audience of the token (the endpoints take a resource, not a scope).
const RESOURCES = {
  'https://management.azure.com': 'https://management.azure.com',
  'https://management.azure.com/': 'https://management.azure.com',
  'https://management.core.windows.net/': 'https://management.azure.com',
  'https://graph.microsoft.com': 'https://graph.microsoft.com',
  'https://graph.microsoft.com/': 'https://graph.microsoft.com',
  'https://storage.azure.com': 'https://storage.azure.com',
  'https://storage.azure.com/': 'https://storage.azure.com',
  'api://mgdc-registration': 'api://mgdc-registration',
};

// The managed identity a request names: none given is the system-assigned one.
function findIdentity(q, names) {
  const mis = Object.values(state.config.managedIdentities || {});
  const [cid, oid, rid] = names.map((n) => q.get(n));
  if (cid) return mis.find((m) => m.clientId === cid);
  if (oid) return mis.find((m) => m.principalId === oid);
  if (rid) return mis.find((m) => m.resourceId.toLowerCase() === rid.toLowerCase());
  return mis.find((m) => !m.userAssigned);
}

function reply(res, status, body) {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}

function issueFor(mi, audience) {
  const { issue } = require('./tokens');
  return issue({ appId: mi.clientId, oid: mi.principalId, roles: [], who: mi.name }, audience);
}

// IMDS (2018-02-01): Metadata: true, resource, and optionally one of client_id,
// object_id, msi_res_id. Every value in the reply is a string.
function imds(req, res, q) {
  const bad = (desc, error = 'invalid_request') => reply(res, 400, { error, error_description: desc });
  if (String(req.headers.metadata || '').toLowerCase() !== 'true') return bad('Required metadata header not specified');
  if (req.headers['x-forwarded-for']) return bad('Request with X-Forwarded-For header is not supported');
  if (!q.get('api-version')) return bad('Required query variable \'api-version\' is missing');
  const resource = q.get('resource');
  if (!resource) return bad('Required audience parameter not specified');
  if (['client_id', 'object_id', 'msi_res_id'].filter((n) => q.get(n)).length > 1) {
    return bad('Only one of client_id, object_id and msi_res_id may be given');
  }
  const mi = findIdentity(q, ['client_id', 'object_id', 'msi_res_id']);
  if (!mi) return bad('Identity not found');
  const aud = RESOURCES[resource];
  if (!aud) {
    return bad(`AADSTS500011: The resource principal named ${resource.slice(0, 200)} was not found in the tenant named ${state.config.tenantId}.`, 'invalid_resource');
  }
  const { token, expiresIn } = issueFor(mi, aud);
  const now = Math.floor(Date.now() / 1000);
  return reply(res, 200, {
    access_token: token, client_id: mi.clientId, expires_in: String(expiresIn), expires_on: String(now + expiresIn),
    ext_expires_in: String(expiresIn), not_before: String(now), resource, token_type: 'Bearer',
  });
}

// App Service (2019-08-01): X-IDENTITY-HEADER, resource, and optionally one of
// client_id, principal_id, mi_res_id. expires_on is seconds since the epoch.
function appService(req, res, q) {
  const expected = state.config.identityHeader;
  const got = String(req.headers['x-identity-header'] || '');
  if (!expected || got.length !== expected.length
      || !crypto.timingSafeEqual(Buffer.from(got), Buffer.from(expected))) {
    return reply(res, 401, { statusCode: 401, message: 'Unauthorized: the X-IDENTITY-HEADER value is missing or wrong.' });
  }
  if (q.get('api-version') !== '2019-08-01') {
    return reply(res, 400, { statusCode: 400, message: 'The api-version must be 2019-08-01.' });
  }
  const resource = q.get('resource');
  const aud = resource && RESOURCES[resource];
  if (!aud) return reply(res, 400, { statusCode: 400, message: `No resource, or an unknown resource: '${String(resource).slice(0, 200)}'.` });
  const mi = findIdentity(q, ['client_id', 'principal_id', 'mi_res_id']);
  if (!mi) return reply(res, 400, { statusCode: 400, message: 'No managed identity with that id is assigned to this app.' });
  const { token, expiresIn } = issueFor(mi, aud);
  return reply(res, 200, {
    access_token: token, expires_on: String(Math.floor(Date.now() / 1000) + expiresIn), resource,
    token_type: 'Bearer', client_id: mi.clientId,
  });
}

function handle(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (req.method !== 'GET') return reply(res, 405, { error: 'invalid_request', error_description: 'Only GET is supported' });
  if (url.pathname === '/metadata/identity/oauth2/token') return imds(req, res, url.searchParams);
  if (url.pathname === '/msi/token') return appService(req, res, url.searchParams);
  return reply(res, 404, { error: 'not_found', error_description: `No route for ${url.pathname.slice(0, 100)}` });
}

/**
 * startServer({port, host}) - the plain-HTTP IMDS and App Service endpoints.
 * Resolves to {server, port, url, stop()}.
 */
function startServer({ port = 0, host = '127.0.0.1' } = {}) {
  const server = http.createServer((req, res) => {
    try {
      handle(req, res);
    } catch (e) {
      console.error('emulator: identity endpoint failure:', e && e.stack ? e.stack : e);
      reply(res, 500, { error: 'internal_error', error_description: 'An unexpected error occurred.' });
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      const actual = server.address().port;
      resolve({
        server, port: actual, url: `http://${host}:${actual}`,
        stop: () => new Promise((r) => { server.close(() => r()); server.closeAllConnections(); }),
      });
    });
  });
}

module.exports = { isFederated, checkFederated, checkX5c, startServer };
