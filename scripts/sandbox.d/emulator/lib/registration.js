'use strict';
// The MGDC registration contract v1 (ours: no public API exists), served
// under /mgdc/v1/tenants/{tenantId}: the tenant's Data Connect switch, app
// registrations modelled on the portal form, and the admin consent rules of
// the 2023+ per-app authorization model (reference mgdc-control-plane.md
// §1.2-§1.4, §2.1, §3).
//
// Key decision: authorization state is stored as what happened (approval
// time and the approved snapshot) and the visible status is derived on every
// read against the emulator clock, so moving the clock (POST /_faults/clock)
// expires approvals without any timer. The snapshot is what runs are checked
// against, which is how "Update available" keeps old approvals working.
//
// Also the one loader of the dataset catalog for the emulator (the copy
// engine validates runs against the same schema as registrations).
//
// A portal-only sandbox (`scripts/sandbox up --portal-only`, seed option
// portalOnly) looks like a real tenant from outside: every route of the
// contract answers 404, as no public API for registration and consent
// exists, and the same registrations are made through /_portal (loopback,
// the stand-in for the Azure portal and the Microsoft 365 admin center that
// `scripts/sandbox portal` calls). The copy engine enforces them the same
// way in both modes.

const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { route, routes, armError, send, parseJson } = require('./http');
const state = require('./state');
const tokens = require('./tokens');

const APPROVAL_DAYS = 180;
const DAY_MS = 86400 * 1000;
const MAX_REG_BODY = 256 * 1024; // a registration is a form, not a payload
const MAX_DATASETS = 100;
const MAX_COLUMNS = 1000;
const MAX_GROUPS = 100;
const MAX_STRING = 1024;
const PAGE_DEFAULT = 50;
const PAGE_MAX = 200;

const GUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/;
const CONTAINER_RE = /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/;

const ENUMS = {
  publishType: ['SingleTenant', 'MultiTenant'],
  computeType: ['AzureDataFactory', 'AzureSynapse', 'MicrosoftFabric'],
  activityType: ['CopyActivity', 'MappingDataFlow'],
  destinationType: ['AzureStorageAccount', 'AzureSqlDatabaseServer', 'FabricLakehouse'],
};
// Which scope kinds a dataset's scope (catalog "scope") admits.
// SharePoint/OneDrive ("site") and Viva Insights ("tenant") datasets take no
// user or group selection: the scope table of data-connect-users-and-groups.md
// marks them NA.
const SCOPE_KINDS = {
  user: ['AllUsers', 'AllUsersWithScopeFilter', 'Groups'],
  group: ['AllGroups', 'Groups'],
  site: ['AllSites'],
  tenant: ['AllUsers'],
};
const QUERY_NAME_RE = /^[A-Za-z0-9_-]{1,128}$/;

// ---- catalog ---------------------------------------------------------------

let catalogCache = null;
/*
 * catalog - the parsed scripts/sandbox.d/catalog.json, loaded once:
 * { version, datasets: [...], byName: Map(name -> dataset with a
 * `columnMap` Map(name -> column)), find(name) }. find() also matches a
 * name form (a Viva Insights report: the form's prefix plus a query name)
 * and then returns the form's entry under the requested name, its listed
 * columns plus an `openType` for the query's metric columns. Throws if the
 * file is unreadable (the emulator cannot serve without it).
 */
function catalog() {
  if (catalogCache) return catalogCache;
  const raw = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'catalog.json'), 'utf8'));
  const byName = new Map();
  for (const d of raw.datasets) {
    d.columnMap = new Map(d.columns.map((c) => [c.name, c]));
    byName.set(d.name, d);
  }
  const forms = raw.datasets.filter((d) => d.form);
  const find = (name) => {
    if (typeof name !== 'string') return undefined;
    const exact = byName.get(name);
    if (exact) return exact;
    const f = forms.find((d) => name.startsWith(d.form.prefix) && QUERY_NAME_RE.test(name.slice(d.form.prefix.length)));
    return f ? { ...f, name, openType: f.form.openColumns } : undefined;
  };
  catalogCache = { version: raw.version, datasets: raw.datasets, byName, find };
  return catalogCache;
}

// Closest candidates for a "did you mean" hint: case-insensitive match first,
// else the smallest edit distance within a third of the name's length.
function suggest(name, candidates) {
  const lower = String(name).toLowerCase();
  const ci = candidates.find((c) => c.toLowerCase() === lower);
  if (ci) return ci;
  let best = null;
  let bestD = Math.max(2, Math.floor(lower.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestD) { bestD = d; best = c; }
  }
  return best;
}

function editDistance(a, b) {
  if (Math.abs(a.length - b.length) > 10) return 99;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

const hint = (name, candidates) => {
  const s = suggest(name, candidates);
  return s ? ` Did you mean '${s}'?` : '';
};

// ---- errors and request plumbing ----------------------------------------------

const regError = (status, code, message, headers) => armError(status, code, message, headers);
const invalid = (message) => regError(400, 'InvalidRegistration', message);
const notFound = () => regError(404, 'RegistrationNotFound',
  'App registration not found. It is possible someone deleted this app.');

function caller(ctx) {
  return tokens.requireToken(ctx, tokens.AUDIENCES.registration);
}

function checkTenant(ctx) {
  const tid = decodeURIComponent(ctx.match[1]);
  if (tid.toLowerCase() !== String(state.config.tenantId).toLowerCase()) {
    throw regError(404, 'TenantNotFound', `Tenant '${tid}' is not served here.`);
  }
  return state.config.tenantId;
}

function body(ctx) {
  if (ctx.body && ctx.body.length > MAX_REG_BODY) {
    throw regError(413, 'RequestEntityTooLarge', `The request body exceeds ${MAX_REG_BODY} bytes.`);
  }
  return parseJson(ctx.body, (m) => regError(400, 'InvalidRequest', m));
}

function store() {
  if (!state.data.registrations) state.data.registrations = {};
  return state.data.registrations;
}

function dataConnect() {
  if (!state.data.dataConnect) {
    const on = state.config.dataConnectEnabled !== false;
    state.data.dataConnect = { enabled: on, modifiedBy: 'system', modifiedOn: new Date(state.now()).toISOString() };
  }
  return state.data.dataConnect;
}

const newEtag = () => `"${crypto.randomUUID()}"`;
const iso = (ms) => new Date(ms).toISOString();

// ---- validation ---------------------------------------------------------------

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function str(obj, key, field, { required = false, max = MAX_STRING, re = null, values = null, dflt } = {}) {
  const v = obj[key];
  if (v === undefined || v === null || v === '') {
    if (required) throw invalid(`Field '${field}' is required.`);
    return dflt;
  }
  if (typeof v !== 'string') throw invalid(`Field '${field}' must be a string.`);
  if (v.length > max) throw invalid(`Field '${field}' is longer than ${max} characters.`);
  if (values && !values.includes(v)) {
    throw invalid(`Field '${field}' has the invalid value '${v}'. Valid values: ${values.join(', ')}.${hint(v, values)}`);
  }
  if (re && !re.test(v)) throw invalid(`Field '${field}' has the invalid value '${v}'.`);
  return v;
}

function validateScope(s, ds, field) {
  if (s === undefined || s === null) throw invalid(`Field '${field}' is required.`);
  if (!isObj(s)) throw invalid(`Field '${field}' must be an object.`);
  const kinds = SCOPE_KINDS[ds.scope] || SCOPE_KINDS.user;
  const kind = str(s, 'kind', `${field}.kind`, { required: true, max: 64 });
  if (!kinds.includes(kind)) {
    throw invalid(`Field '${field}.kind' has the invalid value '${kind}' for the ${ds.scope}-scoped dataset '${ds.name}'. Valid values: ${kinds.join(', ')}.`);
  }
  const out = { kind, groupIds: [], scopeFilterUri: null };
  if (kind === 'Groups') {
    const g = s.groupIds;
    if (!Array.isArray(g) || g.length === 0) throw invalid(`Field '${field}.groupIds' must be a non-empty array of group object ids when kind is Groups.`);
    if (g.length > MAX_GROUPS) throw invalid(`Field '${field}.groupIds' lists more than ${MAX_GROUPS} groups.`);
    g.forEach((id, i) => {
      if (typeof id !== 'string' || !GUID_RE.test(id)) throw invalid(`Field '${field}.groupIds[${i}]' must be a group object id (GUID).`);
    });
    out.groupIds = [...new Set(g.map((x) => x.toLowerCase()))];
  } else if (s.groupIds !== undefined && !(Array.isArray(s.groupIds) && s.groupIds.length === 0)) {
    throw invalid(`Field '${field}.groupIds' is only allowed when kind is Groups.`);
  }
  if (kind === 'AllUsersWithScopeFilter') {
    const u = str(s, 'scopeFilterUri', `${field}.scopeFilterUri`, { required: true });
    if (!/^https:\/\/graph\.microsoft\.com\/v1\.0\/users\?\$filter=./.test(u)) {
      throw invalid(`Field '${field}.scopeFilterUri' must be a Graph users query such as https://graph.microsoft.com/v1.0/users?$filter=Department eq 'Finance'.`);
    }
    out.scopeFilterUri = u;
  } else if (s.scopeFilterUri) {
    throw invalid(`Field '${field}.scopeFilterUri' is only allowed when kind is AllUsersWithScopeFilter.`);
  }
  return out;
}

function validateDataset(d, i) {
  const field = `datasets[${i}]`;
  if (!isObj(d)) throw invalid(`Field '${field}' must be an object.`);
  const name = str(d, 'name', `${field}.name`, { required: true, max: 256 });
  const ds = catalog().find(name);
  if (!ds) {
    throw invalid(`Field '${field}.name': '${name}' is not a Microsoft Graph Data Connect dataset.${hint(name, [...catalog().byName.keys()])}`);
  }
  const cols = d.columns;
  if (!Array.isArray(cols) || cols.length === 0) throw invalid(`Field '${field}.columns' must be a non-empty array of column names.`);
  if (cols.length > MAX_COLUMNS) throw invalid(`Field '${field}.columns' lists more than ${MAX_COLUMNS} columns.`);
  const seen = new Set();
  cols.forEach((c, j) => {
    if (typeof c !== 'string' || c === '' || c.length > 256) throw invalid(`Field '${field}.columns[${j}]' must be a column name (string).`);
    if (seen.has(c)) throw invalid(`Field '${field}.columns[${j}]': column '${c}' is listed twice.`);
    seen.add(c);
    if (!ds.openType && !ds.columnMap.has(c)) {
      throw invalid(`Field '${field}.columns[${j}]': '${c}' is not a column of ${name}.${hint(c, [...ds.columnMap.keys()])}`);
    }
  });
  return { name, columns: [...cols], scope: validateScope(d.scope, ds, `${field}.scope`) };
}

/*
 * validateRegistration - check a PUT body against the contract and the
 * catalog. Returns the normalised registration fields (defaults filled);
 * throws a 400 InvalidRegistration naming the first bad field.
 */
function validateRegistration(b, appId) {
  if (!isObj(b)) throw invalid('The registration must be a JSON object.');
  if (b.appId !== undefined && (typeof b.appId !== 'string' || b.appId.toLowerCase() !== appId.toLowerCase())) {
    throw invalid(`Field 'appId' does not match the appId '${appId}' of the URL.`);
  }
  const out = {
    name: str(b, 'name', 'name', { required: true, max: 64, re: NAME_RE }),
    description: str(b, 'description', 'description', { dflt: '' }),
    publishType: str(b, 'publishType', 'publishType', { values: ENUMS.publishType, dflt: 'SingleTenant' }),
    computeType: str(b, 'computeType', 'computeType', { values: ENUMS.computeType, dflt: 'AzureDataFactory' }),
    activityType: str(b, 'activityType', 'activityType', { values: ENUMS.activityType, dflt: 'CopyActivity' }),
  };
  const dst = b.destination;
  if (dst === undefined || dst === null) throw invalid("Field 'destination' is required.");
  if (!isObj(dst)) throw invalid("Field 'destination' must be an object.");
  const account = str(dst, 'storageAccount', 'destination.storageAccount', { required: true, max: 24, re: /^[a-z0-9]{3,24}$/ });
  out.destination = {
    type: str(dst, 'type', 'destination.type', { values: ENUMS.destinationType, dflt: 'AzureStorageAccount' }),
    subscriptionId: str(dst, 'subscriptionId', 'destination.subscriptionId', { re: GUID_RE, dflt: state.config.subscriptionId }),
    resourceGroup: str(dst, 'resourceGroup', 'destination.resourceGroup', { max: 90, dflt: state.config.resourceGroup }),
    storageAccount: account,
    uri: str(dst, 'uri', 'destination.uri', { re: /^https:\/\/\S+$/, dflt: `https://${account}.blob.core.windows.net/` }),
    container: str(dst, 'container', 'destination.container', { required: true, max: 63, re: CONTAINER_RE }),
  };
  const folder = str(dst, 'folder', 'destination.folder', { max: 1024 });
  if (folder !== undefined) {
    const f = folder.replace(/^\/+|\/+$/g, '');
    if (f.split('/').some((p) => p === '' || p === '.' || p === '..')) throw invalid(`Field 'destination.folder' has the invalid value '${folder}'.`);
    out.destination.folder = f;
  }
  if (!Array.isArray(b.datasets) || b.datasets.length === 0) throw invalid("Field 'datasets' must be a non-empty array.");
  if (b.datasets.length > MAX_DATASETS) throw invalid(`Field 'datasets' lists more than ${MAX_DATASETS} datasets.`);
  out.datasets = b.datasets.map(validateDataset);
  const names = new Set();
  out.datasets.forEach((d, i) => {
    if (names.has(d.name)) throw invalid(`Field 'datasets[${i}].name': dataset '${d.name}' is listed twice.`);
    names.add(d.name);
  });
  return out;
}

// ---- authorization state -----------------------------------------------------------

// The part of a registration an approval covers; any change to it needs a
// new approval (reference §1.2 lifecycle rules).
const consentView = (r) => JSON.stringify({ datasets: r.datasets, destination: r.destination });

/*
 * effectiveAuthorization - the authorization of `reg` as of the emulator
 * clock `now`: a copy of reg.authorization whose status is Expired when an
 * Approved authorization is past expiresOn, plus `usable` (the approval a run
 * may use, or null) and `expired` (the snapshot's approval has lapsed).
 */
function effectiveAuthorization(reg, now = state.now()) {
  const a = { ...reg.authorization };
  const lapsed = a.expiresOn ? now >= Date.parse(a.expiresOn) : false;
  if (a.status === 'Approved' && lapsed) a.status = 'Expired';
  const usable = (a.status === 'Approved' || a.status === 'UpdateAvailable') && a.approvedSnapshot && !lapsed
    ? a.approvedSnapshot : null;
  return { authorization: a, usable, expired: lapsed && !!a.approvedSnapshot };
}

function view(reg) {
  return { ...reg, authorization: effectiveAuthorization(reg).authorization };
}

function isOwner(reg, who) {
  return (who.oid && reg.ownerId === who.oid) || (who.appId && reg.ownerId === who.appId) ||
    (who.upn && reg.developer === who.upn) || (who.appId && reg.appId.toLowerCase() === String(who.appId).toLowerCase());
}

// Non-owners who are not global admins do not see a registration at all:
// Entra app ownership is required to see it (reference §1.2).
function findVisible(appId, who) {
  const reg = store()[appId.toLowerCase()];
  if (!reg || !(who.isGlobalAdmin || isOwner(reg, who))) throw notFound();
  return reg;
}

function checkAppId(ctx) {
  const appId = decodeURIComponent(ctx.match[2]);
  if (!GUID_RE.test(appId)) throw regError(400, 'InvalidRequest', `'${appId}' is not an application id (GUID).`);
  return appId;
}

const etagHeader = (reg) => ({ etag: reg.etag });

// ---- routes ---------------------------------------------------------------------

const BASE = '^/mgdc/v1/tenants/([^/]+)';

// A route of the contract: absent (404, as for any unknown path) on a
// portal-only sandbox.
function contract(method, pattern, handler) {
  route(method, pattern, (ctx) => {
    if (state.config.portalOnly) throw regError(404, 'NotFound', `No route for ${ctx.req.method} ${ctx.url.pathname}.`);
    return handler(ctx);
  });
}

contract('GET', new RegExp(`${BASE}/dataConnect$`), (ctx) => {
  checkTenant(ctx);
  caller(ctx);
  return dataConnect();
});

contract('PUT', new RegExp(`${BASE}/dataConnect$`), (ctx) => {
  checkTenant(ctx);
  return setDataConnect(caller(ctx), body(ctx));
});

function setDataConnect(who, b) {
  if (!who.isGlobalAdmin) throw regError(403, 'Forbidden', 'Only a global administrator can turn Microsoft Graph Data Connect on or off.');
  if (!isObj(b) || typeof b.enabled !== 'boolean') throw regError(400, 'InvalidRequest', "Field 'enabled' is required and must be a boolean.");
  state.data.dataConnect = { enabled: b.enabled, modifiedBy: who.upn, modifiedOn: iso(state.now()) };
  state.save();
  return state.data.dataConnect;
}

contract('GET', new RegExp(`${BASE}/registrations$`), (ctx) => {
  const tid = checkTenant(ctx);
  const who = caller(ctx);
  const q = ctx.url.searchParams;
  let top = PAGE_DEFAULT;
  if (q.has('$top')) {
    top = Number(q.get('$top'));
    if (!Number.isInteger(top) || top < 1) throw regError(400, 'InvalidRequest', "'$top' must be a positive integer.");
    top = Math.min(top, PAGE_MAX);
  }
  let skip = 0;
  if (q.has('$skiptoken')) {
    skip = Number(q.get('$skiptoken'));
    if (!Number.isInteger(skip) || skip < 0) throw regError(400, 'InvalidRequest', "'$skiptoken' is not valid.");
  }
  const all = Object.values(store())
    .filter((r) => who.isGlobalAdmin || isOwner(r, who))
    .sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()) || a.appId.localeCompare(b.appId));
  const out = { value: all.slice(skip, skip + top).map(view) };
  if (skip + top < all.length) {
    const host = ctx.req.headers.host || '127.0.0.1';
    out.nextLink = `https://${host}/mgdc/v1/tenants/${tid}/registrations?$top=${top}&$skiptoken=${skip + top}`;
  }
  return out;
});

contract('GET', new RegExp(`${BASE}/registrations/([^/]+)$`), (ctx) => {
  checkTenant(ctx);
  const who = caller(ctx);
  const reg = findVisible(checkAppId(ctx), who);
  send(ctx.res, 200, view(reg), etagHeader(reg));
});

contract('PUT', new RegExp(`${BASE}/registrations/([^/]+)$`), (ctx) => {
  const tid = checkTenant(ctx);
  const who = caller(ctx);
  const appId = checkAppId(ctx).toLowerCase();
  const { reg, created } = putRegistration(who, tid, appId, body(ctx), ctx.req.headers['if-match']);
  send(ctx.res, created ? 201 : 200, view(reg), etagHeader(reg));
});

/*
 * putRegistration - create or update the registration of `appId` as `who`
 * from request body `b` (If-Match value `ifMatch`, may be undefined).
 * Returns {reg, created}; throws the contract's errors.
 */
function putRegistration(who, tid, appId, b, ifMatch) {
  if (!dataConnect().enabled) {
    throw regError(409, 'DataConnectDisabled',
      'Microsoft Graph Data Connect is turned off for this tenant; a global administrator must turn it on before apps can be registered.');
  }
  const regs = store();
  const old = regs[appId];
  if (old && !(who.isGlobalAdmin || isOwner(old, who))) {
    throw regError(403, 'Forbidden', 'Only the owner of the application or a global administrator can update its registration.');
  }
  if (ifMatch !== undefined) {
    const ok = old && (ifMatch.trim() === '*' || ifMatch.split(',').map((x) => x.trim()).includes(old.etag));
    if (!ok) throw regError(412, 'PreconditionFailed', 'The registration was changed by someone else (ETag mismatch).');
  }
  const fields = validateRegistration(b, appId);
  const clash = Object.values(regs).find((r) => r.appId !== appId && r.name.toLowerCase() === fields.name.toLowerCase());
  if (clash) throw regError(409, 'NameConflict', `The name '${fields.name}' is already used by the registration of application ${clash.appId}.`);
  const now = iso(state.now());
  let reg;
  if (!old) {
    reg = {
      appId, ...fields, tenantId: tid, developer: who.upn, ownerId: who.oid || who.appId,
      registeredOn: now, lastModified: now,
      authorization: { status: 'PendingAuthorization', approvedBy: null, approvedOn: null, expiresOn: null, approvedSnapshot: null },
    };
  } else {
    reg = { ...old, ...fields, lastModified: now, authorization: { ...old.authorization } };
    const changed = consentView(old) !== consentView(reg);
    const acted = old.authorization.status !== 'PendingAuthorization';
    if (changed && acted) reg.authorization.status = 'UpdateAvailable';
  }
  reg.etag = newEtag();
  regs[appId] = reg;
  state.save();
  return { reg, created: !old };
}

contract('DELETE', new RegExp(`${BASE}/registrations/([^/]+)$`), (ctx) => {
  checkTenant(ctx);
  const who = caller(ctx);
  const appId = checkAppId(ctx).toLowerCase();
  findVisible(appId, who);
  delete store()[appId];
  state.save();
  send(ctx.res, 204, null);
});

function decide(ctx, approve) {
  checkTenant(ctx);
  const reg = decideAs(caller(ctx), checkAppId(ctx), approve);
  send(ctx.res, 200, view(reg), etagHeader(reg));
}

/*
 * decideAs - approve or decline the registration of `appId` as `who`, with
 * the admin center's rules. Returns the registration; throws its errors.
 */
function decideAs(who, appId, approve) {
  const reg = getRegistration(appId);
  if (!reg) throw notFound();
  // Self-approval comes first: an owner who is also an admin must still be
  // refused with the documented text (reference §2.1).
  if (isOwner(reg, who)) throw regError(403, 'SelfApprovalNotAllowed', 'App approver and owner cannot be the same user.');
  if (!who.isGlobalAdmin) throw regError(403, 'Forbidden', 'Only a global administrator can approve or decline app registrations.');
  const now = state.now();
  if (approve) {
    reg.authorization = {
      status: 'Approved', approvedBy: who.upn, approvedOn: iso(now), expiresOn: iso(now + APPROVAL_DAYS * DAY_MS),
      approvedSnapshot: JSON.parse(consentView(reg)),
    };
  } else {
    reg.authorization = {
      status: 'Denied', approvedBy: null, approvedOn: null, expiresOn: null, approvedSnapshot: null,
      deniedBy: who.upn, deniedOn: iso(now),
    };
  }
  reg.etag = newEtag();
  state.save();
  return reg;
}

contract('POST', new RegExp(`${BASE}/registrations/([^/]+)/approve$`), (ctx) => decide(ctx, true));
contract('POST', new RegExp(`${BASE}/registrations/([^/]+)/decline$`), (ctx) => decide(ctx, false));

// Anything else under /mgdc: unknown version or unknown path, in our shape.
contract('*', /^\/mgdc(\/.*)?$/, (ctx) => {
  const m = /^\/mgdc\/(v[^/]*)\//.exec(ctx.url.pathname);
  if (!m || m[1] !== 'v1') {
    throw regError(400, 'UnsupportedVersion', `The registration contract version '${m ? m[1] : ''}' is not supported. Supported versions: v1.`);
  }
  const p = ctx.url.pathname;
  if (routes.some((r) => r.method !== '*' && r.pattern.test(p))) {
    throw regError(405, 'MethodNotAllowed', `The method ${ctx.req.method} is not allowed on ${p}.`);
  }
  throw regError(404, 'NotFound', `No route for ${ctx.req.method} ${p}.`);
});

// ---- the portal stand-in (/_portal, loopback only, no token) -------------------

// The seeded identity acting in the portal: the app's own owner when the
// app is a seeded identity (the admin for the admin's own app, so approving
// it is refused as self-approval, as the admin center does), else the
// developer; approvals as the admin.
function portalActor(who) {
  const id = state.config.identities[who];
  return { appId: id.appId, oid: id.oid, upn: id.upn, displayName: id.userDisplayName || id.displayName, isGlobalAdmin: id.isGlobalAdmin, who };
}

function ownerOf(appId) {
  const id = state.identityByAppId(appId);
  return portalActor(id ? id.who : 'developer');
}

/*
 * portalForm - what the portal's registration form fills in by default,
 * applied to a registration in the form apps/<name>.json takes: the
 * sandbox's storage account, "columns": "all" as every catalog column, the
 * first scope kind the dataset admits, the name as the description.
 */
function portalForm(b) {
  if (!isObj(b)) throw invalid('The registration must be a JSON object.');
  const out = { ...b };
  if (isObj(b.destination)) out.destination = { storageAccount: state.config.storageAccount, ...b.destination };
  if (out.description === undefined && typeof out.name === 'string') out.description = out.name;
  if (Array.isArray(b.datasets)) {
    out.datasets = b.datasets.map((d) => {
      if (!isObj(d)) return d;
      const ds = catalog().byName.get(d.name);
      const x = { ...d };
      if (x.columns === 'all' && ds && ds.columns) x.columns = ds.columns.map((c) => c.name);
      if (x.scope === undefined && ds) x.scope = { kind: (SCOPE_KINDS[ds.scope] || SCOPE_KINDS.user)[0] };
      return x;
    });
  }
  return out;
}

function checkLoopback(ctx) {
  if (!/^(127\.|::1$|::ffff:127\.)/.test(ctx.req.socket.remoteAddress || '')) {
    throw regError(403, 'Forbidden', '/_portal is served to loopback clients only.');
  }
}

route('POST', /^\/_portal\/registrations$/, (ctx) => {
  checkLoopback(ctx);
  const b = portalForm(body(ctx));
  const appId = str(b, 'appId', 'appId', { required: true, re: GUID_RE }).toLowerCase();
  const { reg, created } = putRegistration(ownerOf(appId), state.config.tenantId, appId, b, undefined);
  send(ctx.res, created ? 201 : 200, view(reg), etagHeader(reg));
});

route('POST', /^\/_portal\/registrations\/([^/]+)\/(approve|decline)$/, (ctx) => {
  checkLoopback(ctx);
  const appId = decodeURIComponent(ctx.match[1]);
  if (!GUID_RE.test(appId)) throw regError(400, 'InvalidRequest', `'${appId}' is not an application id (GUID).`);
  const reg = decideAs(portalActor('admin'), appId, ctx.match[2] === 'approve');
  send(ctx.res, 200, view(reg), etagHeader(reg));
});

route('DELETE', /^\/_portal\/registrations\/([^/]+)$/, (ctx) => {
  checkLoopback(ctx);
  const appId = decodeURIComponent(ctx.match[1]).toLowerCase();
  if (!store()[appId]) throw notFound();
  delete store()[appId];
  state.save();
  send(ctx.res, 204, null);
});

route('PUT', /^\/_portal\/dataConnect$/, (ctx) => {
  checkLoopback(ctx);
  return setDataConnect(portalActor('admin'), body(ctx));
});

/*
 * getRegistration - the stored registration of `appId` (any case) or null.
 * The object is live state: callers must not modify it.
 */
function getRegistration(appId) {
  return store()[String(appId).toLowerCase()] || null;
}

module.exports = { catalog, effectiveAuthorization, getRegistration };
