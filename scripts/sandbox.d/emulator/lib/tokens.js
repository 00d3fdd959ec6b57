'use strict';
// Entra ID v2 token endpoint (client credentials) and access-token checks
// for the other services (reference mgdc-control-plane.md §8).
//
// Design decision: access tokens are real RS256 JWTs signed with the
// emulator's key and checked by signature, audience, tenant, lifetime and a
// "generation" claim. /_faults/expire-tokens bumps the generation, which
// invalidates every token issued before without touching the clock. Storage
// tokens are stamped with the real clock (Azurite checks them against its
// own clock); every other token and all checks use the emulator clock, so
// moving the clock 181 days forward also expires tokens, as it would in Azure.
// Client assertions are always checked against the real clock, because the
// client signs them with the real clock.

const crypto = require('node:crypto');
const state = require('./state');
const { GLOBAL_ADMIN_ROLE } = require('../../setup');
const { aadError, armError, graphError, isoSecond, route, send } = require('./http');
const fed = require('./identity');

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const SKEW_S = 300; // clock skew allowed on client assertions
const MAX_ASSERTION = 16 * 1024;
const MAX_JTI = 10000; // remembered assertion ids (oldest dropped first)

// scope -> audience of the token. One resource per request (§8.1).
const SCOPES = {
  'https://management.azure.com/.default': 'https://management.azure.com',
  'https://graph.microsoft.com/.default': 'https://graph.microsoft.com',
  'https://storage.azure.com/.default': 'https://storage.azure.com',
  'api://mgdc-registration/.default': 'api://mgdc-registration',
  'https://dev.azuresynapse.net/.default': 'https://dev.azuresynapse.net',
  'https://api.fabric.microsoft.com/.default': 'https://api.fabric.microsoft.com',
  'https://analysis.windows.net/powerbi/api/.default': 'https://analysis.windows.net/powerbi/api',
};
const AUDIENCES = {
  arm: 'https://management.azure.com',
  graph: 'https://graph.microsoft.com',
  storage: 'https://storage.azure.com',
  registration: 'api://mgdc-registration',
  synapse: 'https://dev.azuresynapse.net',
  fabric: 'https://api.fabric.microsoft.com',
  powerbi: 'https://analysis.windows.net/powerbi/api',
};

const b64u = (x) => Buffer.from(x).toString('base64url');
const b64uJson = (o) => b64u(JSON.stringify(o));

let seenJti = new Map(); // jti -> exp (s); bounded by MAX_JTI
let signingKey = null;
let kid = null;

function key() {
  if (!signingKey || signingKey.pem !== state.config.signingKeyPem) {
    const priv = crypto.createPrivateKey(state.config.signingKeyPem);
    const pub = crypto.createPublicKey(priv);
    const der = pub.export({ type: 'spki', format: 'der' });
    kid = crypto.createHash('sha256').update(der).digest('base64url').slice(0, 27);
    signingKey = { pem: state.config.signingKeyPem, priv, pub };
  }
  return signingKey;
}

const generation = () => state.data.tokenGeneration || 0;

/** expireAll() - make every token issued so far invalid. */
function expireAll() {
  state.data.tokenGeneration = generation() + 1;
  state.save();
}

/** reset() - forget seen assertion ids (tests). */
function reset() {
  seenJti = new Map();
}

/**
 * issue(identity, audience) - sign an access token for a seeded identity.
 * Returns {token, expiresIn}.
 */
function issue(identity, audience) {
  const k = key();
  const nowS = Math.floor((audience === AUDIENCES.storage ? Date.now() : state.now()) / 1000);
  const life = Math.max(1, Math.floor(state.config.tokenLifetimeS || 3599));
  const tid = state.config.tenantId;
  const claims = {
    aud: audience,
    iss: `https://sts.windows.net/${tid}/`,
    iat: nowS, nbf: nowS, exp: nowS + life,
    appid: identity.appId, appidacr: '1', idp: `https://sts.windows.net/${tid}/`, idtyp: 'app',
    oid: identity.oid, sub: identity.oid, tid, ver: '1.0',
    // Application permissions an admin granted this app on Microsoft Graph
    // (the seed's graphRoles); Graph checks them per route (graph.js).
    roles: audience === AUDIENCES.graph ? [...(identity.graphRoles || [])] : [],
    uti: crypto.randomBytes(16).toString('base64url'),
    xms_sbgen: generation(),
  };
  if (identity.roles && identity.roles.length) claims.wids = identity.roles;
  const head = b64uJson({ typ: 'JWT', alg: 'RS256', kid });
  const input = `${head}.${b64uJson(claims)}`;
  const sig = crypto.sign('sha256', Buffer.from(input), k.priv).toString('base64url');
  return { token: `${input}.${sig}`, expiresIn: life };
}

function decodeJwt(jwt) {
  const parts = String(jwt).split('.');
  if (parts.length !== 3) return null;
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    if (!header || typeof header !== 'object' || !payload || typeof payload !== 'object') return null;
    return { header, payload, input: `${parts[0]}.${parts[1]}`, sig: Buffer.from(parts[2], 'base64url') };
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- errors

const missing = (name) => aadError(400, 'invalid_request', 900144,
  `The request body must contain the following parameter: '${name}'.`);

// ---------------------------------------------------------- token endpoint

function tenantMatches(seg) {
  const c = state.config;
  return seg === c.tenantId || seg.toLowerCase() === c.tenantDomain.toLowerCase();
}

function basicCredentials(req) {
  const h = req.headers.authorization || '';
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(h);
  if (!m) return null;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const i = text.indexOf(':');
  if (i < 0) return null;
  try {
    return { id: decodeURIComponent(text.slice(0, i)), secret: decodeURIComponent(text.slice(i + 1)) };
  } catch {
    return null;
  }
}

function thumbprints(certPem) {
  const der = new crypto.X509Certificate(certPem).raw;
  return {
    x5t: crypto.createHash('sha1').update(der).digest('base64url'),
    'x5t#S256': crypto.createHash('sha256').update(der).digest('base64url'),
  };
}

// Check a client assertion (§8.2); throws the Entra error, returns nothing.
function checkAssertion(jwt, identity, clientId, req, tenantSeg) {
  const bad = (code, text) => aadError(401, 'invalid_client', code, text);
  if (jwt.length > MAX_ASSERTION) throw aadError(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.');
  const t = decodeJwt(jwt);
  if (!t) throw aadError(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.');
  const { header, payload } = t;
  if (!identity.certPem) {
    throw bad(700027, `Client assertion failed signature validation. No certificate is registered on application '${clientId}'.`);
  }
  const tp = thumbprints(identity.certPem);
  let params;
  if (header.alg === 'RS256') {
    if (header.x5t !== tp.x5t) {
      throw bad(700027, `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${String(header.x5t).slice(0, 64)}']`);
    }
    params = { key: identity.certPem, padding: crypto.constants.RSA_PKCS1_PADDING };
  } else if (header.alg === 'PS256') {
    if (header['x5t#S256'] !== tp['x5t#S256']) {
      throw bad(700027, `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${String(header['x5t#S256']).slice(0, 64)}']`);
    }
    params = { key: identity.certPem, padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
      saltLength: crypto.constants.RSA_PSS_SALTLEN_DIGEST };
  } else {
    throw bad(700027, `Client assertion failed signature validation. The algorithm '${String(header.alg).slice(0, 16)}' is not supported; use RS256 with x5t or PS256 with x5t#S256.`);
  }
  let ok = false;
  try {
    ok = crypto.verify('sha256', Buffer.from(t.input), params, t.sig);
  } catch {
    ok = false;
  }
  if (!ok) throw bad(700027, 'Client assertion failed signature validation.');
  fed.checkX5c(header, identity.certPem, bad);
  if (payload.iss !== clientId || payload.sub !== clientId) {
    throw bad(700021, `Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .`);
  }
  const host = req.headers.host || '127.0.0.1';
  const okAud = new Set();
  for (const seg of [tenantSeg, state.config.tenantId, state.config.tenantDomain]) {
    okAud.add(`https://${host}/login/${seg}/oauth2/v2.0/token`);
    okAud.add(`https://login.microsoftonline.com/${seg}/oauth2/v2.0/token`);
  }
  if (!okAud.has(payload.aud)) {
    throw bad(50013, `Assertion failed signature validation. [Reason - The provided audience '${String(payload.aud).slice(0, 200)}' does not match the token endpoint of tenant '${state.config.tenantId}'.]`);
  }
  const nowS = Math.floor(Date.now() / 1000);
  const nbf = Number(payload.nbf);
  const exp = Number(payload.exp);
  if (!Number.isFinite(nbf) || !Number.isFinite(exp) || nbf > nowS + SKEW_S || exp <= nowS - SKEW_S) {
    const fmt = (s) => (Number.isFinite(s) ? isoSecond(new Date(s * 1000)) : 'unset');
    throw bad(700024, `Client assertion is not within its valid time range. Current time: ${fmt(nowS)}, assertion valid from ${fmt(nbf)}, expiry time of assertion ${fmt(exp)}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .`);
  }
  if (typeof payload.jti !== 'string' || payload.jti === '' || payload.jti.length > 256) {
    throw missing('jti');
  }
  for (const [j, e] of seenJti) if (e < nowS - SKEW_S) seenJti.delete(j);
  if (seenJti.has(payload.jti)) {
    throw bad(50013, `Assertion is invalid: the client assertion with jti '${payload.jti}' has already been used. Use a new jti for every assertion.`);
  }
  if (seenJti.size >= MAX_JTI) seenJti.delete(seenJti.keys().next().value);
  seenJti.set(payload.jti, exp);
}

async function tokenEndpoint(ctx) {
  const { req, body } = ctx;
  const tenantSeg = decodeURIComponent(ctx.match[1]);
  if (!tenantMatches(tenantSeg)) {
    throw aadError(400, 'invalid_request', 90002, `Tenant '${tenantSeg.slice(0, 100)}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`);
  }
  const ct = String(req.headers['content-type'] || '').toLowerCase();
  if (body.length && !ct.startsWith('application/x-www-form-urlencoded')) {
    throw aadError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'grant_type'. The request must be sent with Content-Type application/x-www-form-urlencoded.");
  }
  const form = new URLSearchParams(body.toString('utf8'));
  const basic = basicCredentials(req);
  const grant = form.get('grant_type');
  if (!grant) throw missing('grant_type');
  if (grant !== 'client_credentials') {
    throw aadError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant.slice(0, 64)}'. This emulator supports client_credentials only.`);
  }
  const clientId = form.get('client_id') || (basic && basic.id);
  if (!clientId) throw missing('client_id');
  const scope = form.get('scope');
  if (!scope) throw missing('scope');
  const scopes = scope.trim().split(/\s+/);
  const auds = new Set(scopes.map((s) => SCOPES[s]));
  if (auds.has(undefined)) {
    const badScope = scopes.find((s) => !SCOPES[s]);
    throw aadError(400, 'invalid_scope', 70011, `The provided value for the input parameter 'scope' is not valid. The scope ${badScope.slice(0, 200)} is not valid.`);
  }
  if (auds.size > 1) {
    throw aadError(400, 'invalid_scope', 700022, `The provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${scope.slice(0, 300)} is not valid.`);
  }
  const identity = state.identityByAppId(clientId);
  if (!identity) {
    throw aadError(400, 'unauthorized_client', 700016, `Application with identifier '${clientId.slice(0, 100)}' was not found in the directory '${state.config.tenantDisplayName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`);
  }
  const secret = form.get('client_secret') || (basic && basic.secret);
  const assertion = form.get('client_assertion');
  if (assertion) {
    const type = form.get('client_assertion_type');
    if (!type) throw missing('client_assertion_type');
    if (type !== ASSERTION_TYPE) {
      throw aadError(400, 'invalid_request', 90014, `The request body must contain the following parameter: 'client_assertion_type' with the value '${ASSERTION_TYPE}'.`);
    }
    // Workload identity federation: the assertion is another issuer's token.
    if (fed.isFederated(assertion)) fed.checkFederated(assertion, identity, clientId);
    else checkAssertion(assertion, identity, clientId, req, tenantSeg);
  } else if (secret) {
    const a = Buffer.from(secret);
    const b = Buffer.from(identity.secret);
    if (a.length !== b.length || !crypto.timingSafeEqual(a, b)) {
      throw aadError(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`);
    }
  } else {
    throw aadError(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
  }
  const { token, expiresIn } = issue(identity, [...auds][0]);
  send(ctx.res, 200, { token_type: 'Bearer', expires_in: expiresIn, ext_expires_in: expiresIn, access_token: token },
    { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' });
}

route('POST', /^\/login\/([^/]+)\/oauth2\/v2\.0\/token$/, tokenEndpoint);

// Discovery documents, so a client may validate our tokens like Entra's.
route('GET', /^\/login\/([^/]+)\/discovery\/v2\.0\/keys$/, () => {
  const jwk = key().pub.export({ format: 'jwk' });
  return { keys: [{ kty: 'RSA', use: 'sig', kid, n: jwk.n, e: jwk.e }] };
});
route('GET', /^\/login\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/, (ctx) => {
  const base = `https://${ctx.req.headers.host}/login/${state.config.tenantId}`;
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    jwks_uri: `${base}/discovery/v2.0/keys`,
    issuer: `https://login.microsoftonline.com/${state.config.tenantId}/v2.0`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    id_token_signing_alg_values_supported: ['RS256'],
    tenant_region_scope: 'NA',
  };
});

// ------------------------------------------------------- token validation

/**
 * verify(token, audience) - check an access token. Returns the claims, or
 * {error: 'missing'|'malformed'|'signature'|'audience'|'tenant'|'expired', claims}.
 */
function verify(token, audience) {
  if (!token) return { error: 'missing' };
  const t = decodeJwt(token);
  if (!t || t.header.alg !== 'RS256') return { error: 'malformed' };
  const k = key();
  if (t.header.kid !== kid || !crypto.verify('sha256', Buffer.from(t.input), k.pub, t.sig)) {
    return { error: 'signature', claims: t.payload };
  }
  const c = t.payload;
  if (c.aud !== audience && c.aud !== `${audience}/`) return { error: 'audience', claims: c };
  if (c.tid !== state.config.tenantId) return { error: 'tenant', claims: c };
  const nowS = Math.floor(state.now() / 1000);
  if (!(c.exp > nowS) || c.xms_sbgen !== generation()) return { error: 'expired', claims: c };
  if (c.nbf > nowS + SKEW_S) return { error: 'malformed', claims: c };
  return { claims: c };
}

const ARM_AUDIENCES = "'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'";

// The 401 each service family answers (ARM/registration contract vs Graph).
function authError(kind, res, audience) {
  const v = res.claims || {};
  const expUtc = Number.isFinite(v.exp) ? new Date(v.exp * 1000).toISOString() : 'unknown';
  const wwwDesc = {
    missing: "The authentication failed because of missing 'Authorization' header.",
    expired: 'The access token expiry UTC time is earlier than current UTC time.',
  }[res.error] || 'The access token is invalid.';
  const www = `Bearer authorization_uri="https://login.microsoftonline.com/${state.config.tenantId}", error="invalid_token", error_description="${wwwDesc}"`;
  const headers = { 'www-authenticate': www };
  if (kind === 'graph') {
    const msg = {
      missing: 'Access token is empty.',
      expired: 'Lifetime validation failed, the token is expired.',
      audience: 'Access token validation failure. Invalid audience.',
      tenant: 'Access token validation failure. Invalid tenant.',
      signature: 'Access token validation failure. Invalid signature.',
    }[res.error] || 'IDX14100: JWT is not well formed.';
    return graphError(401, 'InvalidAuthenticationToken', msg, headers);
  }
  switch (res.error) {
    case 'missing':
      return armError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.", headers);
    case 'expired':
      return armError(401, 'ExpiredAuthenticationToken', `The access token expiry UTC time '${expUtc}' is earlier than current UTC time '${state.date().toISOString()}'.`, headers);
    case 'audience':
      return armError(401, 'InvalidAuthenticationToken', `The access token has been obtained for wrong audience or resource '${String(v.aud).slice(0, 200)}'. It should exactly match with one of the allowed audiences ${audience === AUDIENCES.arm ? ARM_AUDIENCES : `'${audience}'`}.`, headers);
    case 'tenant':
      return armError(401, 'InvalidAuthenticationTokenTenant', `The access token is from the wrong issuer '${String(v.iss).slice(0, 200)}'. It must match the tenant 'https://sts.windows.net/${state.config.tenantId}/' associated with this subscription.`, headers);
    case 'signature':
      return armError(401, 'InvalidAuthenticationToken', 'The access token is invalid. The signature validation failed.', headers);
    default:
      return armError(401, 'InvalidAuthenticationToken', 'The access token is invalid.', headers);
  }
}

/**
 * requireToken(ctx, audience) - the caller of a request that needs a bearer
 * token for `audience` (one of AUDIENCES' values). Returns
 * {appId, oid, upn, displayName, isGlobalAdmin, who}; throws a 401 HttpError
 * shaped for the service (Graph for the Graph audience, ARM otherwise).
 */
function requireToken(ctx, audience) {
  const h = String(ctx.req.headers.authorization || '');
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  const res = verify(m ? m[1] : null, audience);
  const kind = audience === AUDIENCES.graph ? 'graph' : 'arm';
  if (res.error) throw authError(kind, res, audience);
  const id = state.identityByAppId(res.claims.appid) || state.managedIdentity(res.claims.appid);
  if (!id) throw authError(kind, { error: 'signature', claims: res.claims }, audience);
  return {
    appId: id.appId,
    roles: Array.isArray(res.claims.roles) ? res.claims.roles : [],
    oid: id.oid,
    upn: id.upn,
    displayName: id.userDisplayName || id.displayName,
    isGlobalAdmin: Array.isArray(res.claims.wids) && res.claims.wids.includes(GLOBAL_ADMIN_ROLE),
    who: id.who,
  };
}

module.exports = { requireToken, verify, issue, expireAll, reset, thumbprints, AUDIENCES };
