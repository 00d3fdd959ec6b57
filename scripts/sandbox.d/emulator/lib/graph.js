'use strict';
// Microsoft Graph v1.0, the part a tenant browser reads (reference
// mgdc-control-plane.md §9): /organization, /applications and
// /servicePrincipals with `$filter=appId eq '…'`, `$select`, `$top` and
// `@odata.nextLink` paging.
//
// Design decision: the directory is derived from the seed on every request
// (nothing here is mutable), and `$skiptoken` is an opaque, self-contained
// cursor (offset + the query it belongs to), so any nextLink stays valid
// across emulator restarts and a token cannot be replayed with another
// filter.

const crypto = require('node:crypto');
const state = require('./state');
const { graphError, route } = require('./http');
const { requireToken, AUDIENCES, thumbprints } = require('./tokens');

// Application permissions that allow each read (the permissions tables of
// microsoft-graph-docs-contrib api-reference/v1.0/includes/permissions:
// organization-list, application-list, serviceprincipal-list).
const PERMS = {
  organization: ['Directory.Read.All', 'Directory.ReadWrite.All'],
  applications: ['Application.Read.All', 'Application.ReadWrite.OwnedBy', 'Application.ReadWrite.All', 'Directory.Read.All'],
  servicePrincipals: ['Application.Read.All', 'Application.ReadWrite.OwnedBy', 'Application.ReadWrite.All', 'Directory.Read.All'],
};

/*
 * requireRole - the caller's token must carry one of the application
 * permissions `what` needs in its roles claim; else Graph's 403
 * Authorization_RequestDenied ("Insufficient privileges to complete the
 * operation.", as Graph answers it in e.g. microsoftgraph/
 * nodejs-connect-rest-sample#69).
 */
function requireRole(ctx, what) {
  const who = requireToken(ctx, AUDIENCES.graph);
  if (!PERMS[what].some((p) => who.roles.includes(p))) {
    throw graphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
  }
  return who;
}

const DEFAULT_TOP = 100;
const MAX_TOP = 999;
const BASE = 'https://graph.microsoft.com/v1.0';

const badRequest = (m) => graphError(400, 'Request_BadRequest', m);
const notFound = (id) => graphError(404, 'Request_ResourceNotFound',
  `Resource '${String(id).slice(0, 100)}' does not exist or one of its queried reference-property objects are not present.`);

const isoSecond = (ms) => new Date(ms).toISOString().slice(0, 19) + 'Z';

// The stable key id of a seeded credential, so listings do not change.
const keyId = (...parts) => {
  const h = crypto.createHash('sha256').update(parts.join('/')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

function credentials(app) {
  const id = Object.values(state.config.identities).find((i) => i.appId === app.appId);
  if (!id) return { keyCredentials: [], passwordCredentials: [] };
  const created = Date.parse(app.createdDateTime);
  const passwordCredentials = [{
    customKeyIdentifier: null, displayName: 'mgdc-sandbox', endDateTime: isoSecond(created + 730 * 86400e3),
    hint: id.secret.slice(0, 3), keyId: keyId(app.appId, 'secret'), secretText: null,
    startDateTime: isoSecond(created),
  }];
  const keyCredentials = [];
  if (id.certPem) {
    const x = new crypto.X509Certificate(id.certPem);
    keyCredentials.push({
      customKeyIdentifier: Buffer.from(thumbprints(id.certPem).x5t, 'base64url').toString('hex').toUpperCase(),
      displayName: x.subject.replace(/^.*CN=/s, 'CN='), endDateTime: new Date(x.validTo).toISOString(),
      key: null, keyId: keyId(app.appId, 'cert'), startDateTime: new Date(x.validFrom).toISOString(),
      type: 'AsymmetricX509Cert', usage: 'Verify',
    });
  }
  return { keyCredentials, passwordCredentials };
}

function application(app) {
  return {
    id: app.id,
    deletedDateTime: null,
    appId: app.appId,
    createdDateTime: app.createdDateTime,
    description: null,
    displayName: app.displayName,
    identifierUris: [],
    publisherDomain: state.config.tenantDomain,
    signInAudience: 'AzureADMyOrg',
    tags: [],
    ...credentials(app),
  };
}

function servicePrincipal(app) {
  return {
    id: app.spId,
    deletedDateTime: null,
    accountEnabled: true,
    appDisplayName: app.displayName,
    appId: app.appId,
    appOwnerOrganizationId: state.config.tenantId,
    displayName: app.displayName,
    servicePrincipalNames: [app.appId],
    servicePrincipalType: 'Application',
    signInAudience: 'AzureADMyOrg',
    tags: ['WindowsAzureActiveDirectoryIntegratedApp'],
  };
}

function organization() {
  const c = state.config;
  return {
    id: c.tenantId,
    deletedDateTime: null,
    businessPhones: [],
    city: 'Redmond',
    country: null,
    countryLetterCode: c.countryLetterCode || 'US',
    createdDateTime: isoSecond(Date.parse(c.applications[0].createdDateTime) - 365 * 86400e3),
    defaultUsageLocation: c.countryLetterCode || 'US',
    displayName: c.tenantDisplayName,
    marketingNotificationEmails: [],
    onPremisesLastSyncDateTime: null,
    onPremisesSyncEnabled: null,
    postalCode: '98052',
    preferredLanguage: 'en',
    securityComplianceNotificationMails: [],
    state: 'WA',
    street: '1 Sandbox Way',
    technicalNotificationMails: [c.identities.admin.upn],
    tenantType: 'AAD',
    assignedPlans: [],
    provisionedPlans: [],
    verifiedDomains: [{
      capabilities: 'Email, OfficeCommunicationsOnline', isDefault: true, isInitial: true,
      name: c.tenantDomain, type: 'Managed',
    }],
    // OData instance annotation: Graph has no Office-region property; the
    // sandbox states the region its users live in (reference §4.4).
    '@mgdc.officeRegion': c.officeRegion || 'North America',
  };
}

function select(obj, sel) {
  if (!sel) return obj;
  const out = {};
  for (const f of sel) if (Object.prototype.hasOwnProperty.call(obj, f)) out[f] = obj[f];
  return out;
}

function parseSelect(q, sample) {
  const raw = q.get('$select');
  if (raw === null) return null;
  const fields = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const f of fields) {
    if (!Object.prototype.hasOwnProperty.call(sample, f)) {
      throw badRequest(`Could not find a property named '${f.slice(0, 100)}' on type 'microsoft.graph.${sample['@type'] || 'directoryObject'}'.`);
    }
  }
  return fields;
}

// Supported filters: `appId eq '…'` and `displayName eq '…'`.
function parseFilter(raw) {
  if (raw === null) return () => true;
  const m = /^\s*(appId|displayName)\s+eq\s+'((?:[^']|'')*)'\s*$/i.exec(raw);
  if (!m) {
    throw graphError(400, 'Request_UnsupportedQuery', `Unsupported or invalid query filter clause specified for property '${raw.slice(0, 100)}'. The sandbox supports "appId eq '…'" and "displayName eq '…'".`);
  }
  const field = m[1].toLowerCase() === 'appid' ? 'appId' : 'displayName';
  const value = m[2].replace(/''/g, "'").toLowerCase();
  return (a) => String(a[field]).toLowerCase() === value;
}

function parseTop(q) {
  const raw = q.get('$top');
  if (raw === null) return DEFAULT_TOP;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > MAX_TOP) {
    throw badRequest(`Invalid page size specified: '${raw.slice(0, 20)}'. Must be between 1 and ${MAX_TOP} inclusive.`);
  }
  return n;
}

// The cursor binds the offset to the filter it was issued for.
function queryDigest(filter) {
  return crypto.createHash('sha256').update(`${filter || ''}`).digest('base64url').slice(0, 10);
}

function parseSkip(q) {
  const raw = q.get('$skiptoken');
  if (raw === null) return 0;
  const m = /^X'([0-9]{1,6})\.([A-Za-z0-9_-]{10})'$/.exec(raw);
  if (!m || m[2] !== queryDigest(q.get('$filter'))) {
    throw badRequest(`Invalid $skiptoken value '${raw.slice(0, 60)}'. Follow @odata.nextLink as returned.`);
  }
  return Number(m[1]);
}

function list(ctx, collection, render) {
  requireRole(ctx, collection);
  const q = ctx.url.searchParams;
  const match = parseFilter(q.get('$filter'));
  const top = parseTop(q);
  const skip = parseSkip(q);
  const sel = parseSelect(q, render(state.config.applications[0]));
  const all = state.config.applications.filter(match);
  const page = all.slice(skip, skip + top).map((a) => select(render(a), sel));
  const out = { '@odata.context': `${BASE}/$metadata#${collection}${sel ? `(${sel.join(',')})` : ''}` };
  if (q.get('$count') === 'true') {
    if (String(ctx.req.headers.consistencylevel || '').toLowerCase() !== 'eventual') {
      throw badRequest("$count is only supported with the header 'ConsistencyLevel: eventual'.");
    }
    if (skip === 0) out['@odata.count'] = all.length;
  }
  out.value = page;
  if (skip + top < all.length) {
    const next = new URLSearchParams();
    for (const k of ['$filter', '$select', '$count']) if (q.get(k) !== null) next.set(k, q.get(k));
    next.set('$top', String(top));
    next.set('$skiptoken', `X'${skip + top}.${queryDigest(q.get('$filter'))}'`);
    out['@odata.nextLink'] = `https://${ctx.req.headers.host}/graph/v1.0/${collection}?${next.toString()}`;
  }
  return out;
}

function getOne(ctx, collection, render, key) {
  requireRole(ctx, collection);
  const seg = decodeURIComponent(ctx.match[1]);
  const alt = /^\(appId='([^']*)'\)$/.exec(seg); // the applications(appId='…') form
  const id = alt ? alt[1] : seg.replace(/^\//, '');
  const app = state.config.applications.find((a) => (alt ? a.appId === id : a[key] === id));
  if (!app) throw notFound(id);
  const obj = render(app);
  const sel = parseSelect(ctx.url.searchParams, obj);
  return { '@odata.context': `${BASE}/$metadata#${collection}/$entity`, ...select(obj, sel) };
}

route('GET', /^\/graph\/v1\.0\/organization\/?$/, (ctx) => {
  requireRole(ctx, 'organization');
  const org = organization();
  const sel = parseSelect(ctx.url.searchParams, org);
  return { '@odata.context': `${BASE}/$metadata#organization`, value: [select(org, sel)] };
});
route('GET', /^\/graph\/v1\.0\/organization\/([^/]+)$/, (ctx) => {
  requireRole(ctx, 'organization');
  if (ctx.match[1] !== state.config.tenantId) throw notFound(ctx.match[1]);
  return { '@odata.context': `${BASE}/$metadata#organization/$entity`, ...organization() };
});
route('GET', /^\/graph\/v1\.0\/applications\/?$/, (ctx) => list(ctx, 'applications', application));
route('GET', /^\/graph\/v1\.0\/applications(\(appId='[^']*'\)|\/[^/]+)$/, (ctx) => getOne(ctx, 'applications', application, 'id'));
route('GET', /^\/graph\/v1\.0\/servicePrincipals\/?$/, (ctx) => list(ctx, 'servicePrincipals', servicePrincipal));
route('GET', /^\/graph\/v1\.0\/servicePrincipals(\(appId='[^']*'\)|\/[^/]+)$/, (ctx) => getOne(ctx, 'servicePrincipals', servicePrincipal, 'spId'));
// Anything else under /graph answers in Graph's shape, not ARM's.
route('*', /^\/graph(\/.*)?$/, (ctx) => {
  requireToken(ctx, AUDIENCES.graph);
  throw graphError(400, 'BadRequest', `Resource not found for the segment '${ctx.url.pathname.split('/').pop().slice(0, 100)}'.`);
});

module.exports = { organization, application, servicePrincipal };
