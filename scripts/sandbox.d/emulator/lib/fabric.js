'use strict';
// The Microsoft Fabric REST API (v1) of the sandbox, under /fabric/v1 (in
// place of https://api.fabric.microsoft.com/v1): the seeded workspace and
// its role assignments, items (DataPipeline with its definition, one seeded
// Lakehouse), connections (the Microsoft 365 source with a service
// principal), on-demand job instances with their activity runs, pipeline
// schedules and long-running operations. The contract, with its sources, is
// man/mgdc-hosts.7 (MICROSOFT FABRIC); the rules enforced here cite theirs in
// man/mgdc-sandbox.7 (MICROSOFT FABRIC).
//
// Key decisions:
// - Runs are the copy engine's (copy.js) with a Fabric host adapter: a job
//   instance is stored as an ADF-shaped run (the engine's vocabulary) and
//   shown as an ItemJobInstance by mapping its status (mgdc-hosts.7, RUN
//   STATUS), so consent enforcement, data and cancellation are the ones ADF
//   runs get. The Copy activity's settings are inline (no datasets, no
//   linked services) and its source points at a connection by id.
// - Output lands in OneLake's stand-in, an Azurite account whose containers
//   are workspaces, at /{workspaceId}/{lakehouseId}/Files/{folderPath}
//   (OneLake's GUID form): an MGDC registration for Fabric names that
//   account, the workspace as container and "{lakehouseId}/Files[/...]" as
//   folder, so the engine's destination check applies unchanged.
// - A create with a definition is a long-running operation (202 + Location
//   + x-ms-operation-id + Retry-After) that succeeds after `lroMs`; the item
//   exists (and its name is taken) from the request on.
//
// Emulator extension: list routes accept `$top` (1..1000) to force small
// pages, so clients' continuationToken paging can be tested.

const crypto = require('node:crypto');
const { route, routes, HttpError, send, parseJson } = require('./http');
const state = require('./state');
const tokens = require('./tokens');
const adf = require('./adf');

const BASE = '^/fabric/v1';
const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_NAME = 256;
const MAX_DESCRIPTION = 4000;
const PAGE_DEFAULT = 100;
const MAX_PAGE = 1000;
const MAX_SCHEDULES = 20;
const RETRY_AFTER_S = 1; // the sandbox's runs take seconds, not minutes
const PIPELINE_PART = 'pipeline-content.json';
const PLATFORM_PART = '.platform';
const ITEM_TYPES = ['DataPipeline', 'Lakehouse'];
// Who may do what in a workspace (Fabric's workspace roles).
const WRITERS = ['Admin', 'Member', 'Contributor'];
// The connection type the sandbox's supportedConnectionTypes lists for the
// Microsoft 365 source (its real name is not public: mgdc-hosts.7).
const M365_TYPE = 'Office365';
const M365_METHOD = 'Office365';
// Engine (ADF) run status -> ItemJobInstance status (mgdc-hosts.7, RUN STATUS).
const JOB_STATUS = {
  Queued: 'NotStarted', InProgress: 'InProgress', Canceling: 'InProgress',
  Succeeded: 'Completed', Failed: 'Failed', Cancelled: 'Cancelled', Deduped: 'Deduped',
};

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const lroMs = () => (Number.isFinite(state.config.lroMs) ? state.config.lroMs : 1500);

/*
 * fabErr - Fabric's ErrorResponse, top-level (no "error" wrapper):
 * {requestId, errorCode, message[, isRetriable]}.
 */
function fabErr(status, errorCode, message, headers = {}, extra = {}) {
  return new HttpError(status, { requestId: crypto.randomUUID(), errorCode, message, ...extra }, headers);
}
const bad = (message, code = 'InvalidInput') => fabErr(400, code, message);

// Fabric's times: seven fraction digits, no zone designator.
const fabTime = (ms) => `${new Date(ms).toISOString().slice(0, 23)}0000`;

// ---- authentication and workspace ---------------------------------------------------

/*
 * caller - the identity behind a Fabric token (audience
 * api.fabric.microsoft.com, or the older Power BI one). Throws 401 in
 * Fabric's shape: TokenExpired for an expired token, else
 * InvalidAuthenticationToken naming what is wrong.
 */
function caller(ctx) {
  const h = String(ctx.req.headers.authorization || '');
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  if (!m) throw fabErr(401, 'Unauthorized', "The request has no 'Authorization: Bearer' header.", { 'www-authenticate': 'Bearer' });
  let v = tokens.verify(m[1], tokens.AUDIENCES.fabric);
  if (v.error === 'audience') {
    const pbi = tokens.verify(m[1], tokens.AUDIENCES.powerbi);
    if (!pbi.error) v = pbi;
  }
  if (v.error) {
    const why = {
      expired: ['TokenExpired', 'Access token has expired, resubmit with a new access token.'],
      audience: ['InvalidAuthenticationToken', `The access token has the wrong audience '${String((v.claims || {}).aud).slice(0, 200)}'; it must be for ${tokens.AUDIENCES.fabric} (scope ${tokens.AUDIENCES.fabric}/.default).`],
      tenant: ['InvalidAuthenticationToken', 'The access token is from another tenant.'],
    }[v.error] || ['InvalidAuthenticationToken', 'The access token is invalid.'];
    throw fabErr(401, why[0], why[1], { 'www-authenticate': 'Bearer error="invalid_token"' });
  }
  const id = state.identityByAppId(v.claims.appid) || state.managedIdentity(v.claims.appid);
  if (!id) throw fabErr(401, 'InvalidAuthenticationToken', 'The access token names an unknown application.');
  return { appId: id.appId, oid: id.oid, who: id.who, displayName: id.displayName };
}

// The seeded role of each sandbox identity in the workspace.
const SEEDED_ROLES = { admin: 'Admin', developer: 'Contributor', reader: 'Viewer' };

function fab() {
  if (!state.data.fabric) state.data.fabric = { workspaces: {}, connections: {}, operations: {} };
  return state.data.fabric;
}

/*
 * workspaceOf - the workspace of the route's first group, and the caller's
 * role in it. A workspace the caller has no role in is answered as absent
 * (404 WorkspaceNotFound), as for an unknown id; `write` asks for
 * Contributor or above (403 InsufficientPrivileges).
 */
function workspaceOf(ctx, { write = false } = {}) {
  const who = caller(ctx);
  const cfg = state.config.fabric;
  const wsId = decodeURIComponent(ctx.match[1]);
  const role = SEEDED_ROLES[who.who];
  if (!cfg || wsId.toLowerCase() !== cfg.workspaceId || !role) {
    throw fabErr(404, 'WorkspaceNotFound', `The requested workspace '${wsId.slice(0, 80)}' was not found.`);
  }
  if (write && !WRITERS.includes(role)) {
    throw fabErr(403, 'InsufficientPrivileges', `The caller does not have sufficient permissions: the ${role} role in workspace '${cfg.workspaceName}' cannot change items or run jobs (Contributor or above can).`);
  }
  const d = fab();
  if (!d.workspaces[cfg.workspaceId]) d.workspaces[cfg.workspaceId] = { items: {}, parts: {}, runs: {}, activityRuns: {}, schedules: {} };
  const w = d.workspaces[cfg.workspaceId];
  w.id = cfg.workspaceId;
  w.name = cfg.workspaceName;
  require('./copy').reconcile(w);
  return { w, who, role };
}

// The seeded lakehouse is an item of every workspace read.
function lakehouseItem(w) {
  const cfg = state.config.fabric;
  return { id: cfg.lakehouseId, type: 'Lakehouse', displayName: cfg.lakehouseName, description: 'The sandbox lakehouse (OneLake stand-in)', workspaceId: w.id };
}

function allItems(w) {
  return [lakehouseItem(w), ...Object.values(w.items)];
}

function itemOf(w, id, type) {
  const it = allItems(w).find((x) => x.id === String(id).toLowerCase());
  if (!it || (type && it.type !== type)) throw fabErr(404, 'ItemNotFound', `The requested item '${String(id).slice(0, 80)}' was not found in workspace '${w.id}'.`);
  return it;
}

/*
 * page - one {value, continuationToken, continuationUri} page of `items`
 * (the two absent on the last page).
 */
function page(ctx, items) {
  const q = ctx.url.searchParams;
  const top = q.has('$top') ? Number(q.get('$top')) : PAGE_DEFAULT;
  if (!Number.isInteger(top) || top < 1 || top > MAX_PAGE) throw bad(`'$top' must be an integer from 1 to ${MAX_PAGE}.`);
  let skip = 0;
  if (q.has('continuationToken')) {
    try {
      skip = JSON.parse(Buffer.from(q.get('continuationToken'), 'base64url').toString('utf8')).o;
    } catch (e) {
      skip = NaN;
    }
    if (!Number.isInteger(skip) || skip < 0) throw bad('The continuationToken is not valid.', 'InvalidContinuationToken');
  }
  const out = { value: items.slice(skip, skip + top) };
  if (skip + top < items.length) {
    out.continuationToken = Buffer.from(JSON.stringify({ o: skip + top })).toString('base64url');
    const next = new URL(ctx.url.href);
    next.searchParams.set('continuationToken', out.continuationToken);
    out.continuationUri = `https://${ctx.req.headers.host || '127.0.0.1'}${next.pathname}${next.search}`;
  }
  return out;
}

function body(ctx, { optional = false } = {}) {
  if (optional && (!ctx.body || ctx.body.length === 0)) return {};
  const b = parseJson(ctx.body, (m) => bad(m, 'InvalidRequest'));
  if (!isObj(b)) throw bad('The request body must be a JSON object.', 'InvalidRequest');
  return b;
}

const absolute = (ctx, p) => `https://${ctx.req.headers.host || '127.0.0.1'}/fabric/v1${p}`;

// ---- long-running operations -------------------------------------------------------

/*
 * startOperation - a new operation that succeeds after lroMs with
 * `result`; answers 202 with its Location, x-ms-operation-id, Retry-After.
 */
function startOperation(ctx, result) {
  const id = crypto.randomUUID();
  const now = Date.now();
  fab().operations[id] = { id, created: now, doneAt: now + lroMs(), result };
  state.save();
  send(ctx.res, 202, null, { location: absolute(ctx, `/operations/${id}`), 'x-ms-operation-id': id, 'retry-after': String(RETRY_AFTER_S) });
}

function operationOf(ctx) {
  caller(ctx);
  const id = decodeURIComponent(ctx.match[1]).toLowerCase();
  const op = fab().operations[id];
  if (!op) throw fabErr(404, 'OperationNotFound', `The operation '${id.slice(0, 80)}' was not found.`);
  return op;
}

route('GET', new RegExp(`${BASE}/operations/([^/]+)$`, 'i'), (ctx) => {
  const op = operationOf(ctx);
  const done = Date.now() >= op.doneAt;
  const out = {
    status: done ? 'Succeeded' : 'Running', createdTimeUtc: new Date(op.created).toISOString(),
    lastUpdatedTimeUtc: new Date(done ? op.doneAt : Date.now()).toISOString(),
    percentComplete: done ? 100 : Math.floor((100 * (Date.now() - op.created)) / Math.max(1, op.doneAt - op.created)),
  };
  const headers = { 'x-ms-operation-id': op.id, location: absolute(ctx, `/operations/${op.id}${done ? '/result' : ''}`) };
  if (!done) headers['retry-after'] = String(RETRY_AFTER_S);
  send(ctx.res, 200, out, headers);
});

route('GET', new RegExp(`${BASE}/operations/([^/]+)/result$`, 'i'), (ctx) => {
  const op = operationOf(ctx);
  if (Date.now() < op.doneAt) throw fabErr(400, 'OperationNotSucceeded', `The operation '${op.id}' has not succeeded yet.`);
  return op.result;
});

// ---- workspaces ------------------------------------------------------------------------

const WS = `${BASE}/workspaces/([^/]+)`;

route('GET', new RegExp(`${BASE}/workspaces$`, 'i'), (ctx) => {
  const who = caller(ctx);
  const cfg = state.config.fabric;
  const ws = cfg && SEEDED_ROLES[who.who] ? [{ id: cfg.workspaceId, displayName: cfg.workspaceName, description: '', type: 'Workspace' }] : [];
  return page(ctx, ws);
});

route('GET', new RegExp(`${WS}$`, 'i'), (ctx) => {
  const { w } = workspaceOf(ctx);
  return { id: w.id, displayName: w.name, description: '', type: 'Workspace' };
});

route('GET', new RegExp(`${WS}/roleAssignments$`, 'i'), (ctx) => {
  workspaceOf(ctx);
  const ids = state.config.identities;
  const out = Object.entries(SEEDED_ROLES).filter(([who]) => ids[who]).map(([who, role]) => ({
    id: ids[who].oid, role,
    principal: { id: ids[who].oid, displayName: ids[who].displayName, type: 'ServicePrincipal', servicePrincipalDetails: { aadAppId: ids[who].appId } },
  }));
  return page(ctx, out);
});

// ---- definitions -----------------------------------------------------------------------

function decodePart(p, i) {
  if (typeof p.payload !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(p.payload) || p.payload.length % 4 !== 0) {
    throw bad(`Definition part ${i} ('${p.path}'): the payload is not standard base64 (InlineBase64 uses the '+' and '/' alphabet with '=' padding, not the URL-safe one).`, 'CorruptedPayload');
  }
  return Buffer.from(p.payload, 'base64').toString('utf8');
}

/*
 * checkActivities - the activities of a pipeline-content.json: names
 * unique, types given, and every connection or lakehouse a Copy activity
 * references existing.
 */
function checkActivities(w, acts) {
  if (!Array.isArray(acts)) throw bad("pipeline-content.json: 'properties.activities' must be an array.", 'CorruptedPayload');
  const names = new Set();
  acts.forEach((a, i) => {
    if (!isObj(a) || typeof a.name !== 'string' || !a.name) throw bad(`pipeline-content.json: activity ${i} needs a 'name'.`, 'CorruptedPayload');
    if (typeof a.type !== 'string' || !a.type) throw bad(`pipeline-content.json: activity '${a.name}' needs a 'type'.`, 'CorruptedPayload');
    if (names.has(a.name.toLowerCase())) throw bad(`pipeline-content.json: the activity name '${a.name}' is used more than once.`, 'CorruptedPayload');
    names.add(a.name.toLowerCase());
    if (a.type !== 'Copy') return;
    const tp = isObj(a.typeProperties) ? a.typeProperties : {};
    const conn = tp.source && tp.source.datasetSettings && tp.source.datasetSettings.externalReferences && tp.source.datasetSettings.externalReferences.connection;
    if (typeof conn === 'string' && !conn.startsWith('@') && !fab().connections[conn.toLowerCase()]) {
      throw bad(`pipeline-content.json: activity '${a.name}' references the connection '${conn}', which does not exist.`, 'InvalidConnectionReference');
    }
    const sinkTp = tp.sink && tp.sink.datasetSettings && tp.sink.datasetSettings.linkedService && tp.sink.datasetSettings.linkedService.properties
      && tp.sink.datasetSettings.linkedService.properties.typeProperties;
    const lh = sinkTp && sinkTp.artifactId;
    if (typeof lh === 'string' && !lh.startsWith('@') && !allItems(w).some((x) => x.type === 'Lakehouse' && x.id === lh.toLowerCase())) {
      throw bad(`pipeline-content.json: activity '${a.name}' writes to the lakehouse '${lh}', which is not in workspace '${w.id}'.`, 'InvalidLakehouseReference');
    }
  });
}

/*
 * checkDefinition - a DataPipeline definition: {parts: [{path, payload,
 * payloadType: InlineBase64}]}, the part pipeline-content.json required
 * (and .platform optional, nothing else), its payload base64 of
 * {"properties": {activities, ...}}. Returns the parts as stored.
 */
function checkDefinition(w, def) {
  if (!isObj(def) || !Array.isArray(def.parts)) throw bad("The 'definition' must be an object with a 'parts' array.", 'InvalidDefinition');
  const seen = new Set();
  let content = null;
  const parts = def.parts.map((p, i) => {
    if (!isObj(p) || typeof p.path !== 'string') throw bad(`Definition part ${i} needs a 'path'.`, 'InvalidDefinition');
    if (p.payloadType !== 'InlineBase64') throw bad(`Definition part '${p.path}': payloadType must be 'InlineBase64' (the only payload type).`, 'InvalidDefinition');
    if (p.path !== PIPELINE_PART && p.path !== PLATFORM_PART) {
      throw bad(`Definition part '${p.path.slice(0, 80)}' is not a part of a DataPipeline; its parts are '${PIPELINE_PART}' (required) and '${PLATFORM_PART}'.`, 'InvalidDefinitionParts');
    }
    if (seen.has(p.path)) throw bad(`Definition part '${p.path}' is given twice.`, 'InvalidDefinitionParts');
    seen.add(p.path);
    const text = decodePart(p, i);
    if (p.path === PIPELINE_PART) {
      try {
        content = JSON.parse(text);
      } catch (e) {
        throw bad(`${PIPELINE_PART} is not JSON: ${e.message}`, 'CorruptedPayload');
      }
    }
    return { path: p.path, payload: p.payload, payloadType: 'InlineBase64' };
  });
  if (!content) throw bad(`A DataPipeline definition needs the part '${PIPELINE_PART}'.`, 'InvalidDefinitionParts');
  if (!isObj(content) || !isObj(content.properties)) {
    throw bad(`${PIPELINE_PART} must be {"properties": {"activities": [...]}}: the pipeline's properties wrapped in "properties".`, 'CorruptedPayload');
  }
  checkActivities(w, content.properties.activities === undefined ? [] : content.properties.activities);
  if (content.properties.parameters !== undefined && !isObj(content.properties.parameters)) {
    throw bad(`${PIPELINE_PART}: 'properties.parameters' must be an object.`, 'CorruptedPayload');
  }
  return parts;
}

function pipelineContent(w, id) {
  const p = (w.parts[id] || []).find((x) => x.path === PIPELINE_PART);
  return p ? JSON.parse(Buffer.from(p.payload, 'base64').toString('utf8')).properties : { activities: [] };
}

function checkItemName(w, name, type, except) {
  if (typeof name !== 'string' || !name.trim()) throw bad("The 'displayName' is required.", 'InvalidDisplayName');
  if (name.length > MAX_NAME || /[\u0000-\u001f\u007f]/.test(name)) {
    throw bad(`The displayName '${name.slice(0, 80)}' is not valid: at most ${MAX_NAME} characters, no control characters.`, 'InvalidDisplayName');
  }
  if (allItems(w).some((x) => x.id !== except && x.type === type && x.displayName.toLowerCase() === name.toLowerCase())) {
    throw fabErr(409, 'ItemDisplayNameAlreadyInUse', `Item display name is already used: a ${type} named '${name}' exists in the workspace.`);
  }
}

// ---- items -----------------------------------------------------------------------------

route('POST', new RegExp(`${WS}/items$`, 'i'), (ctx) => {
  const { w } = workspaceOf(ctx, { write: true });
  const b = body(ctx);
  if (!ITEM_TYPES.includes(b.type)) {
    throw bad(`The item type '${String(b.type).slice(0, 40)}' is not valid here; the sandbox serves ${ITEM_TYPES.join(' and ')} items.`, 'InvalidItemType');
  }
  if (b.type === 'Lakehouse') throw bad('The sandbox has one lakehouse, seeded; it creates no others.', 'InvalidItemType');
  checkItemName(w, b.displayName, b.type);
  if (b.description !== undefined && (typeof b.description !== 'string' || b.description.length > MAX_DESCRIPTION)) {
    throw bad(`The 'description' must be a string of at most ${MAX_DESCRIPTION} characters.`);
  }
  if (b.definition !== undefined && b.creationPayload !== undefined) throw bad("Give either 'definition' or 'creationPayload', not both.");
  if (b.folderId !== undefined && b.folderId !== null) throw fabErr(404, 'FolderNotFound', `The folder '${String(b.folderId).slice(0, 80)}' was not found.`);
  const parts = b.definition === undefined ? null : checkDefinition(w, b.definition);
  const item = { id: crypto.randomUUID(), type: b.type, displayName: b.displayName, description: b.description || '', workspaceId: w.id };
  w.items[item.id] = item;
  w.parts[item.id] = parts || [{ path: PIPELINE_PART, payload: Buffer.from('{"properties":{"activities":[]}}').toString('base64'), payloadType: 'InlineBase64' }];
  state.save();
  if (parts) {
    startOperation(ctx, item);
    return;
  }
  send(ctx.res, 201, item);
});

route('GET', new RegExp(`${WS}/items$`, 'i'), (ctx) => {
  const { w } = workspaceOf(ctx);
  const type = ctx.url.searchParams.get('type');
  return page(ctx, allItems(w).filter((x) => !type || x.type === type));
});

const ITEM = `${WS}/items/([^/]+)`;

route('GET', new RegExp(`${ITEM}$`, 'i'), (ctx) => itemOf(workspaceOf(ctx).w, decodeURIComponent(ctx.match[2])));

route('PATCH', new RegExp(`${ITEM}$`, 'i'), (ctx) => {
  const { w } = workspaceOf(ctx, { write: true });
  const it = itemOf(w, decodeURIComponent(ctx.match[2]));
  if (it.type !== 'DataPipeline') throw bad('The sandbox lakehouse cannot be renamed.', 'OperationNotSupportedForItem');
  const b = body(ctx);
  if (b.displayName !== undefined) checkItemName(w, b.displayName, it.type, it.id);
  if (b.description !== undefined && (typeof b.description !== 'string' || b.description.length > MAX_DESCRIPTION)) {
    throw bad(`The 'description' must be a string of at most ${MAX_DESCRIPTION} characters.`);
  }
  if (b.displayName !== undefined) it.displayName = b.displayName;
  if (b.description !== undefined) it.description = b.description;
  state.save();
  return it;
});

route('DELETE', new RegExp(`${ITEM}$`, 'i'), (ctx) => {
  const { w } = workspaceOf(ctx, { write: true });
  const it = itemOf(w, decodeURIComponent(ctx.match[2]));
  if (it.type !== 'DataPipeline') throw bad('The sandbox lakehouse cannot be deleted.', 'OperationNotSupportedForItem');
  delete w.items[it.id];
  delete w.parts[it.id];
  for (const [sid, s] of Object.entries(w.schedules)) if (s.itemId === it.id) delete w.schedules[sid];
  state.save();
  send(ctx.res, 200, null);
});

route('POST', new RegExp(`${ITEM}/getDefinition$`, 'i'), (ctx) => {
  const { w } = workspaceOf(ctx, { write: true });
  const it = itemOf(w, decodeURIComponent(ctx.match[2]), 'DataPipeline');
  return { definition: { parts: w.parts[it.id] } };
});

route('POST', new RegExp(`${ITEM}/updateDefinition$`, 'i'), (ctx) => {
  const { w } = workspaceOf(ctx, { write: true });
  const it = itemOf(w, decodeURIComponent(ctx.match[2]), 'DataPipeline');
  const b = body(ctx);
  if (b.definition === undefined) throw bad("The 'definition' is required.", 'InvalidDefinition');
  w.parts[it.id] = checkDefinition(w, b.definition);
  state.save();
  send(ctx.res, 200, null);
});

// ---- lakehouse -------------------------------------------------------------------------

route('GET', new RegExp(`${WS}/lakehouses/([^/]+)$`, 'i'), (ctx) => {
  const { w } = workspaceOf(ctx);
  const it = itemOf(w, decodeURIComponent(ctx.match[2]), 'Lakehouse');
  const cfg = state.config.fabric;
  return {
    ...it,
    properties: {
      oneLakeFilesPath: `${cfg.oneLakeUrl}/${w.id}/${it.id}/Files`,
      oneLakeTablesPath: `${cfg.oneLakeUrl}/${w.id}/${it.id}/Tables`,
      sqlEndpointProperties: null,
    },
  };
});

// ---- connections -----------------------------------------------------------------------

const publicConnection = (c) => {
  const { secret, ...rest } = c;
  return rest;
};

/*
 * checkConnection - a CreateCloudConnectionRequest for the Microsoft 365
 * source: ShareableCloud, the Office365 type, ServicePrincipal credentials
 * with a secret for an application of the tenant. Returns {conn, secret}.
 */
function checkConnection(b) {
  if (b.connectivityType !== 'ShareableCloud') {
    throw bad(`connectivityType '${String(b.connectivityType).slice(0, 40)}' is not served by the sandbox; use 'ShareableCloud' (a cloud connection).`, 'InvalidConnectionDetails');
  }
  if (typeof b.displayName !== 'string' || !b.displayName.trim() || b.displayName.length > 200) {
    throw bad("The 'displayName' is required (at most 200 characters).", 'InvalidConnectionDetails');
  }
  const d = b.connectionDetails;
  if (!isObj(d) || d.type !== M365_TYPE || d.creationMethod !== M365_METHOD) {
    throw bad(`connectionDetails must be {"type": "${M365_TYPE}", "creationMethod": "${M365_METHOD}", "parameters": []}: the sandbox serves the Microsoft 365 connection only (see GET /connections/supportedConnectionTypes).`, 'InvalidConnectionDetails');
  }
  if (d.parameters !== undefined && (!Array.isArray(d.parameters) || d.parameters.length)) {
    throw bad(`The ${M365_TYPE} creation method takes no parameters.`, 'InvalidConnectionDetails');
  }
  const cd = b.credentialDetails;
  const cr = isObj(cd) ? cd.credentials : null;
  if (!isObj(cr) || cr.credentialType !== 'ServicePrincipal') {
    throw bad(`The Microsoft 365 connection supports one credential type, 'ServicePrincipal' (credentialDetails.credentials.credentialType).`, 'InvalidCredentialDetails');
  }
  for (const k of ['tenantId', 'servicePrincipalClientId']) {
    if (typeof cr[k] !== 'string' || !GUID_RE.test(cr[k])) throw bad(`credentials.${k} must be a GUID.`, 'InvalidCredentialDetails');
  }
  const hasSecret = cr.servicePrincipalSecret !== undefined;
  if (hasSecret === (cr.servicePrincipalSecretReference !== undefined)) {
    throw bad('Give exactly one of credentials.servicePrincipalSecret and credentials.servicePrincipalSecretReference.', 'InvalidCredentialDetails');
  }
  if (!hasSecret) throw bad('The sandbox has no Key Vault: give credentials.servicePrincipalSecret.', 'InvalidCredentialDetails');
  if (typeof cr.servicePrincipalSecret !== 'string' || !cr.servicePrincipalSecret) throw bad('credentials.servicePrincipalSecret must be a non-empty string.', 'InvalidCredentialDetails');
  if (cd.skipTestConnection !== true) {
    const who = state.identityByAppId(cr.servicePrincipalClientId);
    const a = Buffer.from(cr.servicePrincipalSecret);
    const ok = who && cr.tenantId.toLowerCase() === state.config.tenantId.toLowerCase()
      && a.length === Buffer.byteLength(who.secret) && crypto.timingSafeEqual(a, Buffer.from(who.secret));
    if (!ok) throw bad('The credentials are not valid: the service principal could not sign in to the tenant with this secret.', 'IncorrectCredentials');
  }
  const now = new Date().toISOString().slice(0, 19) + 'Z';
  return {
    id: crypto.randomUUID(), displayName: b.displayName, connectivityType: 'ShareableCloud',
    connectionDetails: { type: M365_TYPE, path: 'Office365' },
    privacyLevel: ['None', 'Organizational', 'Private', 'Public'].includes(b.privacyLevel) ? b.privacyLevel : 'Organizational',
    credentialDetails: {
      credentialType: 'ServicePrincipal', singleSignOnType: 'None',
      connectionEncryption: cd.connectionEncryption || 'NotEncrypted', skipTestConnection: !!cd.skipTestConnection,
    },
    connectionRecency: { createdDateTime: now },
    secret: { tenantId: cr.tenantId, clientId: cr.servicePrincipalClientId, value: cr.servicePrincipalSecret },
  };
}

route('GET', new RegExp(`${BASE}/connections/supportedConnectionTypes$`, 'i'), (ctx) => {
  caller(ctx);
  return page(ctx, [{
    type: M365_TYPE,
    creationMethods: [{ name: M365_METHOD, parameters: [] }],
    supportedCredentialTypes: ['ServicePrincipal'],
    supportedConnectionEncryptionTypes: ['NotEncrypted'],
    supportsSkipTestConnection: true,
  }]);
});

route('POST', new RegExp(`${BASE}/connections$`, 'i'), (ctx) => {
  caller(ctx);
  const b = body(ctx);
  const d = fab();
  if (Object.values(d.connections).some((c) => c.displayName.toLowerCase() === String(b.displayName).toLowerCase())) {
    throw fabErr(409, 'DuplicateConnectionName', `A connection named '${String(b.displayName).slice(0, 80)}' already exists.`);
  }
  const conn = checkConnection(b);
  d.connections[conn.id] = conn;
  state.save();
  send(ctx.res, 201, publicConnection(conn), { location: absolute(ctx, `/connections/${conn.id}`) });
});

route('GET', new RegExp(`${BASE}/connections$`, 'i'), (ctx) => {
  caller(ctx);
  return page(ctx, Object.values(fab().connections).map(publicConnection));
});

function connectionOf(ctx) {
  caller(ctx);
  const id = decodeURIComponent(ctx.match[1]).toLowerCase();
  const c = fab().connections[id];
  if (!c) throw fabErr(404, 'ConnectionNotFound', `The connection '${id.slice(0, 80)}' was not found.`);
  return c;
}

route('GET', new RegExp(`${BASE}/connections/([^/]+)$`, 'i'), (ctx) => publicConnection(connectionOf(ctx)));

route('DELETE', new RegExp(`${BASE}/connections/([^/]+)$`, 'i'), (ctx) => {
  const c = connectionOf(ctx);
  delete fab().connections[c.id];
  state.save();
  send(ctx.res, 200, null);
});

// ---- the copy engine's Fabric host -----------------------------------------------------

/*
 * resolveFabricCopy - the engine's copy `c` (see copy.js resolveCopy) from
 * a Fabric Copy activity: an Office365Source whose datasetSettings name an
 * Office365Table and a connection, and a BinarySink whose datasetSettings
 * name a Lakehouse location in this workspace (mgdc-hosts.7, "Copy from
 * Microsoft 365 into a Lakehouse"). Throws the activity's failure.
 */
function resolveFabricCopy(w, act, ectx) {
  const copy = require('./copy');
  const target = act.name;
  const ev = copy.evaluator(target);
  const fail = (msg) => copy.configError(target, 'UserErrorInvalidCopyConfiguration', msg);
  const tp = ev(act.typeProperties || {}, ectx);
  const source = isObj(tp.source) ? { ...tp.source } : {};
  const sink = isObj(tp.sink) ? tp.sink : {};
  if (source.type !== 'Office365Source') throw fail(`The sandbox copies only from an Office365Source; activity '${target}' has source type '${source.type}'.`);
  const sds = isObj(source.datasetSettings) ? source.datasetSettings : {};
  if (sds.type !== 'Office365Table') throw fail(`The source datasetSettings of '${target}' must be of type Office365Table, not '${sds.type}'.`);
  const connId = String((sds.externalReferences || {}).connection || '').toLowerCase();
  const conn = fab().connections[connId];
  if (!conn) throw fail(`The connection '${connId}' referenced by activity '${target}' was not found.`);
  if (sink.type !== 'BinarySink') throw fail(`The sandbox writes Microsoft 365 data as Binary only; activity '${target}' has sink type '${sink.type}'.`);
  const kds = isObj(sink.datasetSettings) ? sink.datasetSettings : {};
  const loc = (kds.typeProperties || {}).location || {};
  const ls = (kds.linkedService || {}).properties || {};
  const lsTp = ls.typeProperties || {};
  if (kds.type !== 'Binary' || loc.type !== 'LakehouseLocation' || ls.type !== 'Lakehouse') {
    throw fail(`The sink of '${target}' must be a Binary datasetSettings with a LakehouseLocation and a Lakehouse linkedService.`);
  }
  if (String(lsTp.workspaceId || '').toLowerCase() !== w.id) throw fail(`The lakehouse sink of '${target}' names workspace '${lsTp.workspaceId}'; the sandbox has only '${w.id}'.`);
  const lh = allItems(w).find((x) => x.type === 'Lakehouse' && x.id === String(lsTp.artifactId || '').toLowerCase());
  if (!lh) throw fail(`The lakehouse '${lsTp.artifactId}' of the sink of '${target}' was not found in workspace '${w.id}'.`);
  if ((lsTp.rootFolder || 'Files') !== 'Files') throw fail(`Microsoft 365 data lands in the lakehouse's Files, not '${lsTp.rootFolder}' (rootFolder).`);
  const folder = [lh.id, 'Files', String(loc.folderPath || '').replace(/^\/+|\/+$/g, '')].filter(Boolean).join('/');
  const sec = conn.secret;
  return {
    appId: sec.clientId, officeTenant: sec.tenantId, spTenant: sec.tenantId,
    tableName: String((sds.typeProperties || {}).tableName || ''), source,
    sink: { account: state.config.fabric.oneLakeAccount, container: w.id, folder, type: 'Lakehouse' },
    o365: { name: conn.displayName, tp: { servicePrincipalId: sec.clientId, servicePrincipalKey: { type: 'SecureString', value: sec.value } } },
    hostName: w.name,
  };
}

// The lakehouse is written with the workspace's own access: no sink credential.
const FABRIC_HOST = (w) => ({ resolve: (f, act, ectx) => resolveFabricCopy(w, act, ectx), sink: () => {}, dataFactory: () => w.name });

// ---- job instances ---------------------------------------------------------------------

function jobInstance(w, run) {
  const failed = run.status === 'Failed';
  return {
    id: run.runId, itemId: run.itemId, jobType: 'Pipeline', invokeType: run.invokeType || 'Manual',
    status: JOB_STATUS[run.status] || run.status,
    failureReason: failed ? { requestId: run.runId, errorCode: 'JobInstanceStatusFailed', message: run.message } : (run.status === 'Deduped' ? { errorCode: 'Deduped', message: run.message } : null),
    rootActivityId: run.runGroupId,
    startTimeUtc: fabTime(Date.parse(run.runStart)),
    endTimeUtc: run.runEnd ? fabTime(Date.parse(run.runEnd)) : null,
  };
}

function jobType(ctx, fromPath) {
  const t = fromPath !== undefined ? decodeURIComponent(fromPath) : ctx.url.searchParams.get('jobType');
  if (t !== 'Pipeline') throw bad(`The jobType '${String(t).slice(0, 40)}' is not valid for a DataPipeline; it is 'Pipeline'.`, 'InvalidJobType');
}

/*
 * runJob - start a job instance of pipeline item `it`: the engine's run of
 * its pipeline-content.json with executionData.parameters. Returns the run.
 */
function runJob(w, it, params, invokeType, triggerTime) {
  const props = pipelineContent(w, it.id);
  const pipe = { name: it.id, properties: { activities: props.activities || [], parameters: props.parameters || {} } };
  let run;
  try {
    run = adf.startPipelineRun(w, pipe, params, { name: invokeType, id: crypto.randomUUID().replace(/-/g, ''), invokedByType: invokeType }, FABRIC_HOST(w));
  } catch (e) {
    if (e instanceof HttpError) throw bad(e.body && e.body.error ? e.body.error.message : String(e.message));
    throw e;
  }
  run.itemId = it.id;
  run.invokeType = invokeType;
  // @pipeline().TriggerTime of a scheduled run: its occurrence on the emulator clock.
  if (triggerTime !== undefined) run.triggerTime = adf.adfTime(triggerTime);
  state.save();
  return run;
}

function startJob(ctx, pathType) {
  const { w } = workspaceOf(ctx, { write: true });
  const it = itemOf(w, decodeURIComponent(ctx.match[2]), 'DataPipeline');
  jobType(ctx, pathType);
  const b = body(ctx, { optional: true });
  const ed = b.executionData === undefined ? {} : b.executionData;
  if (!isObj(ed)) throw bad("'executionData' must be an object.");
  const params = ed.parameters === undefined ? {} : ed.parameters;
  if (!isObj(params)) throw bad("'executionData.parameters' must be an object of parameter names and values.");
  const run = runJob(w, it, params, 'Manual');
  send(ctx.res, 202, null, {
    location: absolute(ctx, `/workspaces/${w.id}/items/${it.id}/jobs/instances/${run.runId}`), 'retry-after': String(RETRY_AFTER_S),
  });
}

route('POST', new RegExp(`${ITEM}/jobs/instances$`, 'i'), (ctx) => startJob(ctx));
route('POST', new RegExp(`${ITEM}/jobs/([^/]+)/instances$`, 'i'), (ctx) => startJob(ctx, ctx.match[3]));

route('GET', new RegExp(`${ITEM}/jobs/instances$`, 'i'), (ctx) => {
  const { w } = workspaceOf(ctx);
  const it = itemOf(w, decodeURIComponent(ctx.match[2]), 'DataPipeline');
  const runs = Object.values(w.runs).filter((r) => r.itemId === it.id)
    .sort((a, b) => adf.timeKey(b.runStart).localeCompare(adf.timeKey(a.runStart)));
  return page(ctx, runs.map((r) => jobInstance(w, r)));
});

function runOf(ctx, w) {
  const it = itemOf(w, decodeURIComponent(ctx.match[2]), 'DataPipeline');
  const id = decodeURIComponent(ctx.match[3]).toLowerCase();
  const run = w.runs[id];
  if (!run || run.itemId !== it.id) throw fabErr(404, 'ItemJobInstanceNotFound', `The job instance '${id.slice(0, 80)}' of item '${it.id}' was not found.`);
  return run;
}

route('GET', new RegExp(`${ITEM}/jobs/instances/([^/]+)$`, 'i'), (ctx) => {
  const { w } = workspaceOf(ctx);
  const run = runOf(ctx, w);
  const inst = jobInstance(w, run);
  const ended = ['Completed', 'Failed', 'Cancelled', 'Deduped'].includes(inst.status);
  send(ctx.res, 200, inst, ended ? {} : { 'retry-after': String(RETRY_AFTER_S) });
});

route('POST', new RegExp(`${ITEM}/jobs/instances/([^/]+)/cancel$`, 'i'), (ctx) => {
  const { w } = workspaceOf(ctx, { write: true });
  const run = runOf(ctx, w);
  if (adf.TERMINAL.includes(run.status) || run.status === 'Deduped') {
    throw bad(`The job instance '${run.runId}' has already completed with status '${JOB_STATUS[run.status]}'.`, 'JobAlreadyCompleted');
  }
  if (run.status !== 'Canceling') require('./copy').cancelRun(w, run);
  send(ctx.res, 202, null, {
    location: absolute(ctx, `/workspaces/${w.id}/items/${run.itemId}/jobs/instances/${run.runId}`), 'retry-after': String(RETRY_AFTER_S),
  });
});

// Activity runs: ADF's query body and ADF-shaped runs, as a bare array.
route('POST', new RegExp(`${WS}/datapipelines/pipelineruns/([^/]+)/queryactivityruns$`, 'i'), (ctx) => {
  const { w } = workspaceOf(ctx);
  const id = decodeURIComponent(ctx.match[2]).toLowerCase();
  const run = w.runs[id];
  if (!run) throw fabErr(404, 'ItemJobInstanceNotFound', `The pipeline run '${id.slice(0, 80)}' was not found.`);
  const b = body(ctx);
  let out;
  try {
    out = adf.queryRuns(ctx, w.activityRuns[run.runId] || [], adf.ACT_OPERANDS, (a) => a.activityRunEnd || a.activityRunStart, { ...b, continuationToken: undefined });
  } catch (e) {
    if (e instanceof HttpError && e.body && e.body.error) throw bad(e.body.error.message);
    throw e;
  }
  return out.value;
});

// ---- schedules -------------------------------------------------------------------------

const SCHEDULE_TYPES = ['Cron', 'Daily', 'Weekly', 'Monthly'];
const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

/*
 * checkScheduleConfig - a ScheduleConfig (common/job_scheduling.json):
 * type Cron (interval 1..5270400 minutes), Daily (times: 1..100 "hh:mm"),
 * Weekly (times and weekdays) or Monthly; startDateTime, endDateTime
 * (later) and localTimeZoneId required.
 */
function checkScheduleConfig(c) {
  if (!isObj(c)) throw bad("'configuration' is required: a ScheduleConfig object.", 'InvalidScheduleConfiguration');
  if (!SCHEDULE_TYPES.includes(c.type)) throw bad(`configuration.type must be one of ${SCHEDULE_TYPES.join(', ')}.`, 'InvalidScheduleConfiguration');
  const start = Date.parse(c.startDateTime);
  const end = Date.parse(c.endDateTime);
  if (typeof c.startDateTime !== 'string' || Number.isNaN(start)) throw bad('configuration.startDateTime is required (YYYY-MM-DDTHH:mm:ssZ).', 'InvalidScheduleConfiguration');
  if (typeof c.endDateTime !== 'string' || Number.isNaN(end)) throw bad('configuration.endDateTime is required (YYYY-MM-DDTHH:mm:ssZ).', 'InvalidScheduleConfiguration');
  if (end <= start) throw bad('configuration.endDateTime must be later than startDateTime.', 'InvalidScheduleConfiguration');
  if (typeof c.localTimeZoneId !== 'string' || !c.localTimeZoneId) throw bad('configuration.localTimeZoneId is required (a Windows time zone name, e.g. "UTC").', 'InvalidScheduleConfiguration');
  if (c.type === 'Cron' && (!Number.isInteger(c.interval) || c.interval < 1 || c.interval > 5270400)) {
    throw bad('configuration.interval (minutes) must be an integer from 1 to 5270400.', 'InvalidScheduleConfiguration');
  }
  if (c.type === 'Daily' || c.type === 'Weekly') {
    if (!Array.isArray(c.times) || c.times.length < 1 || c.times.length > 100 || c.times.some((t) => typeof t !== 'string' || !/^([01]\d|2[0-3]):[0-5]\d$/.test(t))) {
      throw bad('configuration.times must hold 1 to 100 times of day "hh:mm".', 'InvalidScheduleConfiguration');
    }
  }
  if (c.type === 'Weekly' && (!Array.isArray(c.weekdays) || !c.weekdays.length || c.weekdays.some((d) => !WEEKDAYS.includes(d)))) {
    throw bad(`configuration.weekdays must list days among ${WEEKDAYS.join(', ')}.`, 'InvalidScheduleConfiguration');
  }
  return c;
}

const SCHED = `${ITEM}/jobs/([^/]+)/schedules`;

function scheduleItem(ctx, write) {
  const { w, who } = workspaceOf(ctx, { write });
  const it = itemOf(w, decodeURIComponent(ctx.match[2]), 'DataPipeline');
  jobType(ctx, ctx.match[3]);
  return { w, it, who };
}

route('POST', new RegExp(`${SCHED}$`, 'i'), (ctx) => {
  const { w, it, who } = scheduleItem(ctx, true);
  const b = body(ctx);
  if (typeof b.enabled !== 'boolean') throw bad("'enabled' (true or false) is required.", 'InvalidScheduleConfiguration');
  const configuration = checkScheduleConfig(b.configuration);
  if (Object.values(w.schedules).filter((s) => s.itemId === it.id).length >= MAX_SCHEDULES) {
    throw bad(`The item has ${MAX_SCHEDULES} schedules, the most it may have.`, 'ScheduleExceedsLimit');
  }
  const s = {
    id: crypto.randomUUID(), itemId: it.id, enabled: b.enabled, createdDateTime: new Date().toISOString(), configuration,
    owner: { id: who.oid, type: 'ServicePrincipal' },
  };
  w.schedules[s.id] = s;
  arm(w, s);
  state.save();
  const { itemId, next, ...pub } = s;
  send(ctx.res, 201, pub, { location: absolute(ctx, `/workspaces/${w.id}/items/${it.id}/jobs/Pipeline/schedules/${s.id}`) });
});

route('GET', new RegExp(`${SCHED}$`, 'i'), (ctx) => {
  const { w, it } = scheduleItem(ctx, false);
  return page(ctx, Object.values(w.schedules).filter((s) => s.itemId === it.id).map(({ itemId, next, ...pub }) => pub));
});

function scheduleOf(ctx, write) {
  const { w, it } = scheduleItem(ctx, write);
  const id = decodeURIComponent(ctx.match[4]).toLowerCase();
  const s = w.schedules[id];
  if (!s || s.itemId !== it.id) throw fabErr(404, 'ItemScheduleNotFound', `The schedule '${id.slice(0, 80)}' was not found.`);
  return { w, s };
}

route('GET', new RegExp(`${SCHED}/([^/]+)$`, 'i'), (ctx) => {
  const { itemId, next, ...pub } = scheduleOf(ctx, false).s;
  return pub;
});

route('PATCH', new RegExp(`${SCHED}/([^/]+)$`, 'i'), (ctx) => {
  const { w, s } = scheduleOf(ctx, true);
  const b = body(ctx);
  if (b.enabled !== undefined && typeof b.enabled !== 'boolean') throw bad("'enabled' must be true or false.", 'InvalidScheduleConfiguration');
  if (b.configuration !== undefined) s.configuration = checkScheduleConfig(b.configuration);
  if (b.enabled !== undefined) s.enabled = b.enabled;
  arm(w, s);
  state.save();
  const { itemId, next, ...pub } = s;
  return pub;
});

route('DELETE', new RegExp(`${SCHED}/([^/]+)$`, 'i'), (ctx) => {
  const { w, s } = scheduleOf(ctx, true);
  delete w.schedules[s.id];
  state.save();
  send(ctx.res, 200, null);
});

// ---- the schedule engine ------------------------------------------------------------

const TICK_MS = 200;
const MAX_FIRES_PER_TICK = 100;
const MINUTE = 60000;
const DAY_MS = 86400000;

/*
 * occurrence - the first occurrence of schedule configuration `c` at or
 * after `t` (ms, emulator clock), or null when there is none before its
 * end (or the sandbox cannot place it). Cron: startDateTime + k * interval
 * minutes; Daily and Weekly: their times of day (and weekdays) in UTC.
 */
function occurrence(c, t) {
  const start = Date.parse(c.startDateTime);
  const end = Date.parse(c.endDateTime);
  const from = Math.max(t, start);
  let at = null;
  if (c.type === 'Cron') {
    const step = c.interval * MINUTE;
    at = start + Math.ceil((from - start) / step) * step;
  } else if ((c.type === 'Daily' || c.type === 'Weekly') && c.localTimeZoneId === 'UTC') {
    const day0 = Math.floor(from / DAY_MS) * DAY_MS;
    for (let d = 0; d < 8 && at === null; d++) {
      const day = day0 + d * DAY_MS;
      if (c.type === 'Weekly' && !c.weekdays.includes(WEEKDAYS[(new Date(day).getUTCDay() + 6) % 7])) continue;
      const times = c.times.map((x) => day + (Number(x.slice(0, 2)) * 60 + Number(x.slice(3))) * MINUTE).filter((x) => x >= from).sort((a, b) => a - b);
      if (times.length) [at] = times;
    }
  }
  return at !== null && at <= end ? at : null;
}

/*
 * arm - (re)compute a schedule's next occurrence when it is written. A
 * start in the past runs one job at once ("If the start time is in the
 * past, it will trigger a job instantly": FABSPEC ScheduleConfig), not one
 * per missed occurrence; a disabled schedule has none.
 */
function arm(w, s) {
  const now = state.now();
  s.next = s.enabled ? occurrence(s.configuration, now) : null;
  if (s.enabled && Date.parse(s.configuration.startDateTime) < now) fire(w, s, now);
}

/*
 * fire - one scheduled job instance of the schedule's pipeline, invokeType
 * Scheduled, or a Deduped one while another instance of the item has not
 * ended ("A job instance of the same job type is already running and this
 * job instance is skipped": FABSPEC ItemJobInstance).
 */
function fire(w, s, at) {
  const it = w.items[s.itemId];
  if (!it) return;
  const busy = Object.values(w.runs).some((r) => r.itemId === it.id && ['Queued', 'InProgress', 'Canceling'].includes(r.status));
  if (busy) {
    const id = crypto.randomUUID();
    const now = adf.adfTime();
    w.runs[id] = {
      runId: id, runGroupId: id, itemId: it.id, invokeType: 'Scheduled', pipelineName: it.id, status: 'Deduped',
      message: 'A job instance of the same job type is already running and this job instance is skipped.',
      runStart: now, runEnd: now, lastUpdated: now, triggerTime: adf.adfTime(at), parameters: {},
      invokedBy: { name: 'Scheduled', id: s.id, invokedByType: 'Scheduled' },
    };
    w.activityRuns[id] = [];
    return;
  }
  try {
    runJob(w, it, {}, 'Scheduled', at);
  } catch (e) {
    console.error(`fabric: schedule ${s.id} could not start a job: ${e.message}`);
  }
}

function tick() {
  const now = state.now();
  let changed = false;
  let budget = MAX_FIRES_PER_TICK;
  for (const w of Object.values((state.data.fabric || {}).workspaces || {})) {
    for (const s of Object.values(w.schedules || {})) {
      while (s.enabled && s.next !== null && s.next !== undefined && s.next <= now && budget-- > 0) {
        fire(w, s, s.next);
        s.next = occurrence(s.configuration, s.next + 1);
        changed = true;
      }
    }
  }
  if (changed) state.save();
}

setInterval(tick, TICK_MS).unref();

// Anything else under /fabric/v1 answers in Fabric's shape.
route('*', new RegExp(`${BASE}(/.*)?$`, 'i'), (ctx) => {
  const p = ctx.url.pathname;
  if (routes.some((r) => r.method !== '*' && r.pattern.test(p))) {
    throw fabErr(405, 'MethodNotAllowed', `The method ${ctx.req.method} is not allowed on ${p}.`);
  }
  throw fabErr(404, 'EntityNotFound', `No route for ${ctx.req.method} ${p}.`);
});

module.exports = { fabErr, JOB_STATUS };
