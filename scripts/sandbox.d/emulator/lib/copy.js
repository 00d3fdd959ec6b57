'use strict';
// The copy engine behind createRun: drives a pipeline run Queued ->
// InProgress -> Succeeded | Failed | Cancelled, and for each Copy activity
// with an Office365 source checks the request against the app's approved
// registration (reference mgdc-control-plane.md §2.1) and writes synthetic
// JSON-lines files plus metadata/JobMetadata/metadata.json into the sink
// container/folder in Azurite (§6), reporting errors in the envelope of §7.
//
// Key decisions:
// - Data is deterministic: every value comes from a PRNG seeded by a hash of
//   (pipeline name, run parameters, dataset, date window), never the runId,
//   so the same request gives byte-identical files (only the folder, which
//   usually contains the runId, differs). Each cell has its own seed (row
//   seed xor column hash), so a column's values do not depend on which other
//   columns were requested. Which rows a request yields is rows.js's;
//   their values values.js's; SharePoint's and OneDrive's tenant is
//   sharepoint.js's, a function of the snapshot date only.
// - Output is streamed: rows are appended to an 8 MiB buffer that is sent as
//   one Put Block when full (Put Block List at the end; a single Put Blob for
//   small files), so memory stays bounded whatever the size knobs ask for.
// - Cancellation is prompt: it wakes every wait, aborts the blob request in
//   flight, and the writer checks the flag before each block.

const crypto = require('node:crypto');
const state = require('./state');
const registration = require('./registration');
const azblob = require('./azblob');
const rows = require('./rows');
const { resolve, ExprError } = require('./expr');
const rbac = require('./rbac');
const { adfTime } = require('./adf');
const { DAY, sha, guidFrom, isoMs, dayOf } = require('./seeded');

const BLOCK_SIZE = 8 * 1024 * 1024;
const USERS_PER_JOB = 8;
const MAX_JOBS = 8;
const MAX_USERS = 100000;
const MAX_ITEMS_PER_DAY = 1000000;
const MAX_DAYS = 3660;
const MAX_ROWS = 50 * 1000 * 1000; // about 10-20 GB of JSON lines
const MAX_ALLOWED_GROUPS = 10;
const MAX_TOP = 2147483647;
const GROUP_NAMES = ['Finance Team', 'Sales Team', 'Engineering', 'Project Contoso'];
const DEPARTMENTS = ['Finance', 'Sales', 'Engineering', 'Marketing', 'Legal'];
const FIRST = ['Adele', 'Alex', 'Diego', 'Grady', 'Isaiah', 'Johanna', 'Joni', 'Lee', 'Lidia', 'Megan', 'Miriam', 'Nestor', 'Patti', 'Pradeep'];
const LAST = ['Vance', 'Wilber', 'Siciliani', 'Archie', 'Langer', 'Lauer', 'Sherman', 'Gu', 'Holloway', 'Bowen', 'Graham', 'Wilke', 'Fernandez', 'Gupta'];

const active = new Map(); // runId -> job { cancelled, wake: Set<fn> }

// Run and activity-run stamps are ADF's (seven digits, zeros trimmed).
const stamp = () => adfTime();

// ---- the seeded directory ----------------------------------------------------------

/*
 * directory - the sandbox tenant's synthetic users and groups for
 * `tenantId`: users[i] = {id, upn, displayName, department, groups[]},
 * groups[g] = {id, displayName}. Pure and deterministic, so tests can
 * compute the same ids (group g holds the users of department g for g < 3,
 * and every third user for 'Project Contoso').
 */
function directory(tenantId, nUsers, domain = 'mgdcsandbox.onmicrosoft.com') {
  const groups = GROUP_NAMES.map((displayName, g) => ({ id: guidFrom(sha(`${tenantId}:group:${g}`)), displayName }));
  const users = [];
  for (let i = 0; i < nUsers; i++) {
    const first = FIRST[i % FIRST.length];
    const last = LAST[Math.floor(i / FIRST.length) % LAST.length];
    const department = DEPARTMENTS[i % DEPARTMENTS.length];
    const member = [];
    const d = i % DEPARTMENTS.length;
    if (d < 3) member.push(groups[d].id);
    if (i % 3 === 0) member.push(groups[3].id);
    users.push({
      id: guidFrom(sha(`${tenantId}:user:${i}`)), upn: `${first}.${last}${i}@${domain}`.toLowerCase(),
      displayName: `${first} ${last}`, department, groups: member,
    });
  }
  return { users, groups };
}

// ---- errors ---------------------------------------------------------------------------

class ActivityError extends Error {
  constructor(error) {
    super(error.message);
    this.error = error;
  }
}

/*
 * o365Error - the activity error envelope MGDC reports (reference §7),
 * with `reason` as the specific text.
 */
function o365Error(target, reason) {
  return new ActivityError({
    errorCode: '2200',
    message: `ErrorCode=UserErrorOffice365DataLoaderError,'Type=Microsoft.DataTransfer.Common.Shared.HybridDeliveryException,Message=Office365 data loading failed to execute. ${reason},Source=Microsoft.DataTransfer.ClientLibrary,'`,
    failureType: 'UserError', target, details: [],
  });
}

function configError(target, code, reason, failureType = 'UserError') {
  return new ActivityError({
    errorCode: '2200',
    message: `ErrorCode=${code},'Type=Microsoft.DataTransfer.Common.Shared.HybridDeliveryException,Message=${reason},Source=Microsoft.DataTransfer.ClientLibrary,'`,
    failureType, target, details: [],
  });
}

// ---- resolving the Copy activity ------------------------------------------------------

function lookup(f, kind, ref, target, what) {
  const name = ref && ref.referenceName;
  const r = typeof name === 'string' ? f[kind][name.toLowerCase()] : null;
  if (!r) throw configError(target, 'UserErrorInvalidCopyConfiguration', `The ${what} '${name}' referenced by activity '${target}' was not found.`);
  return r;
}

// Storage account name from a sink linked service (blob/dfs host, path-style
// endpoint, or a connection string).
function accountOf(tp) {
  const cs = typeof tp.connectionString === 'string' ? /AccountName=([^;]+)/i.exec(tp.connectionString) : null;
  if (cs) return cs[1];
  const url = tp.url || tp.serviceEndpoint || tp.sasUri;
  if (typeof url !== 'string') return null;
  try {
    const u = new URL(url);
    const m = /^([a-z0-9]{3,24})\.(blob|dfs)\./.exec(u.hostname);
    if (m) return m[1];
    const seg = u.pathname.split('/').filter(Boolean)[0];
    return seg || null;
  } catch (e) {
    return null;
  }
}

/*
 * resolveCopy - everything the engine needs from a Copy activity, with ADF
 * expressions evaluated: {appId, officeTenant, tableName, source, sink:
 * {account, container, folder}}. Throws ActivityError.
 */
/*
 * evaluator - resolve(v, ctx) for activity `target`, an expression error
 * becoming the activity's InvalidTemplate failure.
 */
function evaluator(target) {
  return (v, ctx) => {
    try {
      return resolve(v, ctx);
    } catch (e) {
      if (e instanceof ExprError) throw new ActivityError({ errorCode: 'InvalidTemplate', message: e.message, failureType: 'UserError', target, details: [] });
      throw e;
    }
  };
}

function resolveCopy(f, act, ectx) {
  const target = act.name;
  const ev = evaluator(target);
  const tpAct = act.typeProperties || {};
  const inRef = (act.inputs || [])[0];
  const outRef = (act.outputs || [])[0];
  const src = lookup(f, 'datasets', inRef, target, 'dataset');
  if (src.properties.type !== 'Office365Table') {
    throw configError(target, 'UserErrorInvalidCopyConfiguration', `The sandbox copies only from an Office365Table dataset; '${src.name}' is of type '${src.properties.type}'.`);
  }
  const srcCtx = { ...ectx, dataset: ev((inRef && inRef.parameters) || {}, ectx) };
  const dsTp = ev(src.properties.typeProperties || {}, srcCtx);
  const ls = lookup(f, 'linkedservices', src.properties.linkedServiceName, target, 'linked service');
  if (ls.properties.type !== 'Office365') {
    throw configError(target, 'UserErrorInvalidCopyConfiguration', `The linked service '${ls.name}' of an Office365Table must be of type Office365.`);
  }
  const lsTp = ev(ls.properties.typeProperties || {}, ectx);
  const source = { ...ev(tpAct.source || {}, ectx) };
  // Filters on the dataset are the legacy form, still honoured (§5.2).
  for (const k of ['dateFilterColumn', 'startTime', 'endTime', 'allowedGroups', 'userScopeFilterUri']) {
    if ((source[k] === undefined || source[k] === '') && dsTp[k] !== undefined) source[k] = dsTp[k];
  }
  const sinkDs = lookup(f, 'datasets', outRef, target, 'dataset');
  const sinkCtx = { ...ectx, dataset: ev((outRef && outRef.parameters) || {}, ectx) };
  const sinkTp = ev(sinkDs.properties.typeProperties || {}, sinkCtx);
  let container;
  let folder = '';
  if (sinkTp.location) {
    container = sinkTp.location.container || sinkTp.location.fileSystem;
    folder = sinkTp.location.folderPath || '';
  } else if (typeof sinkTp.folderPath === 'string') {
    [container, ...folder] = sinkTp.folderPath.split('/');
    folder = folder.join('/');
  }
  const sinkLs = lookup(f, 'linkedservices', sinkDs.properties.linkedServiceName, target, 'linked service');
  const account = accountOf(ev(sinkLs.properties.typeProperties || {}, ectx));
  if (typeof container !== 'string' || !container || !account) {
    throw configError(target, 'UserErrorInvalidCopyConfiguration', `The sink dataset '${sinkDs.name}' must name a container and a storage account.`);
  }
  folder = String(folder).replace(/^\/+|\/+$/g, '');
  return {
    appId: String(lsTp.servicePrincipalId || ''), officeTenant: lsTp.office365TenantId, spTenant: lsTp.servicePrincipalTenantId,
    tableName: String(dsTp.tableName || ''), source, sink: { account, container, folder, type: sinkLs.properties.type },
    o365: { name: ls.name, tp: lsTp }, sinkLs: { name: sinkLs.name, type: sinkLs.properties.type, tp: ev(sinkLs.properties.typeProperties || {}, ectx) },
  };
}

// ---- credentials (reference real/mgdc/quotes.md, "Microsoft 365 connector and MGDC sinks") ----

/*
 * spCredential - the service principal a linked service's type properties
 * authenticate with, {appId, secret} (secret null for a Key Vault reference,
 * which the sandbox cannot read), or null when they name none (account key,
 * SAS, connection string, or nothing: the factory's managed identity).
 */
function spCredential(tp) {
  const id = tp.servicePrincipalId;
  if (typeof id !== 'string' || !id) return null;
  const type = tp.servicePrincipalCredentialType;
  if (type !== undefined && type !== 'ServicePrincipalKey') return { appId: id, unsupported: `servicePrincipalCredentialType '${type}'` };
  const key = tp.servicePrincipalKey || tp.servicePrincipalCredential;
  if (key && key.type === 'SecureString' && typeof key.value === 'string') return { appId: id, secret: key.value };
  if (key && key.type === 'AzureKeyVaultSecret') return { appId: id, secret: null };
  return null;
}

/*
 * tokenFailure - what Entra would answer the copy's token request for
 * `cred`: nothing when the secret is right (or behind a Key Vault
 * reference), else the AADSTS reason.
 */
function tokenFailure(cred) {
  if (cred.unsupported) return `the sandbox signs in with a client secret only, not ${cred.unsupported}`;
  const who = state.identityByAppId(cred.appId);
  if (!who) return `AADSTS700016: Application with identifier '${cred.appId}' was not found in the directory '${state.config.tenantDisplayName}'`;
  if (cred.secret === null) return null;
  const a = Buffer.from(cred.secret);
  const b = Buffer.from(who.secret);
  if (a.length !== b.length || !crypto.timingSafeEqual(a, b)) return `AADSTS7000215: Invalid client secret provided for application '${cred.appId}'`;
  return null;
}

/*
 * checkSource, checkSink - a copy whose source is Microsoft 365 needs service
 * principal authentication on the Office 365 linked service and on the
 * sink ("the only supported authentication mechanism for all sink types"),
 * valid secrets, and a sink principal that may write blobs (Storage Blob
 * Data Contributor on the account). Throw ActivityError. The run checks in
 * the order the work meets them: the source's token, then the request
 * against the consent (checkRequest), then the sink, which is written last.
 */
function checkSource(c, target) {
  const src = spCredential(c.o365.tp);
  if (!src) throw o365Error(target, `Failed to get OAuth token: the Office 365 linked service '${c.o365.name}' names no servicePrincipalId with a servicePrincipalKey`);
  const srcWhy = tokenFailure(src);
  if (srcWhy) throw o365Error(target, `Office365 data loading failed to get OAuth token. ${srcWhy}`);
}

function checkSink(c, target) {
  const sink = spCredential(c.sinkLs.tp);
  if (!sink) {
    throw o365Error(target, `Service Principal authentication is the only supported authentication mechanism for all sink types in a copy activity with Microsoft 365 as the source; the sink linked service '${c.sinkLs.name}' (${c.sinkLs.type}) does not use it (give servicePrincipalId, ${c.sinkLs.type === 'AzureBlobFS' ? 'servicePrincipalCredentialType and servicePrincipalCredential' : 'servicePrincipalKey'} and tenant)`);
  }
  const sinkWhy = tokenFailure(sink);
  if (sinkWhy) throw configError(target, 'UserErrorAzureBlobOperationFailed', `Failed to get an access token for the sink linked service '${c.sinkLs.name}'. ${sinkWhy}`);
  const principal = state.identityByAppId(sink.appId);
  if (!rbac.canWriteBlobs(principal.oid, c.sink.account)) {
    throw configError(target, 'UserErrorAzureBlobOperationFailed', `This request is not authorized to perform this operation using this permission. The service principal of application '${sink.appId}' has no Storage Blob Data Contributor role on storage account '${c.sink.account}'`);
  }
}

// ---- consent and request validation (reference §2.1, §4.2, §4.3) ------------------------

// Columns every row carries whatever was requested: who and which tenant
// the row was extracted for (reference §4.5).
function metaColumns(ds) {
  const fallback = ds.scope === 'site' ? ['ptenant'] : ds.scope === 'group' ? ['pObjectId', 'ptenant'] : ['puser', 'ptenant'];
  if (!ds.columns) return fallback;
  return ds.columns.map((c) => c.name).filter((n) => ['puser', 'ptenant', 'pobjectid'].includes(n.toLowerCase()));
}

function parseTime(v, field, target) {
  const t = typeof v === 'string' ? Date.parse(v) : NaN;
  if (Number.isNaN(t)) throw o365Error(target, `Invalid ${field} '${v}': expected an ISO 8601 date-time`);
  return t;
}

// The approved snapshot a run of app `c.appId` may use, or the failure
// (reference §2.1: an app that is missing, Pending, Denied or Expired
// always fails; UpdateAvailable runs under its previous approval).
function approvedSnapshot(c, fail) {
  const reg = registration.getRegistration(c.appId);
  if (!reg) throw fail(`ConsentNotFound: No Microsoft Graph Data Connect app registration matches application '${c.appId}'. It is possible someone deleted this app`);
  const eff = registration.effectiveAuthorization(reg);
  const st = eff.authorization.status;
  if (eff.expired) throw fail(`App authorization for application '${c.appId}' is Expired: the approval expired on ${reg.authorization.expiresOn}; a global administrator must approve it again`);
  if (st === 'PendingAuthorization') throw fail(`App authorization for application '${c.appId}' is Pending: a global administrator has not approved it yet`);
  if (st === 'Denied') throw fail(`App authorization for application '${c.appId}' is Denied by a global administrator`);
  if (!eff.usable) throw fail(`ConsentNotFound: application '${c.appId}' has no approved authorization`);
  const tenant = String(reg.tenantId).toLowerCase();
  for (const t of [c.officeTenant, c.spTenant]) {
    if (t && String(t).toLowerCase() !== tenant) throw fail(`ConsentNotFound: tenant '${t}' of the request does not match the tenant '${reg.tenantId}' of the authorization`);
  }
  return eff.usable;
}

// allowedGroups / userScopeFilterUri against the approved scope: "all"
// authorizes anything, a list of groups any non-empty subset, a scope filter
// only itself, exactly.
function checkScope(c, sc, fail) {
  const groups = c.source.allowedGroups;
  const filter = c.source.userScopeFilterUri || null;
  if (groups !== undefined && groups !== null && !Array.isArray(groups)) throw fail('Invalid allowedGroups: expected an array of group object ids');
  const gl = (groups || []).map((g) => String(g).toLowerCase());
  if (gl.length > MAX_ALLOWED_GROUPS) throw fail(`Invalid allowedGroups: at most ${MAX_ALLOWED_GROUPS} groups can be selected`);
  if (sc.kind === 'Groups') {
    if (!gl.length || gl.some((g) => !sc.groupIds.includes(g))) throw fail('ConsentNotFound: the requested users are not covered by the authorized scope (select a subset of the approved groups in allowedGroups)');
  } else if (sc.kind === 'AllUsersWithScopeFilter') {
    if (gl.length || filter !== sc.scopeFilterUri) throw fail('ConsentNotFound: userScopeFilterUri must match the authorized scope filter exactly');
  }
  return { groups: gl, filter };
}

// The date window of the request, or null, per the catalog's rules for the
// dataset (reference §4.2): required filters, allowed columns (any case),
// CalendarView's window without a column, SharePoint's start == end.
function dateWindow(c, ds, target, fail) {
  const df = ds.dateFilter;
  const col = c.source.dateFilterColumn;
  const given = (v) => v !== undefined && v !== null && v !== '';
  const hasTimes = given(c.source.startTime) && given(c.source.endTime);
  const match = col ? df.columns.find((x) => x.toLowerCase() === String(col).toLowerCase()) : null;
  if (df.windowOnly) {
    if (col) throw fail(`Invalid dateFilterColumn '${col}': dataset '${ds.name}' takes no dateFilterColumn, only startTime and endTime`);
    if (!hasTimes) throw fail(`Date filter is required for dataset '${ds.name}': set startTime and endTime`);
  } else if (col) {
    if (!match) throw fail(`Invalid dateFilterColumn '${col}' for dataset '${ds.name}'. Valid columns: ${df.columns.join(', ') || 'none'}`);
    if (!hasTimes) throw fail('startTime and endTime are required when dateFilterColumn is set');
  } else if (df.required) {
    throw fail(`Date filter is required for dataset '${ds.name}': set dateFilterColumn (one of ${df.columns.join(', ')}), startTime and endTime`);
  } else if (hasTimes) {
    throw fail('dateFilterColumn is required when startTime and endTime are set');
  }
  if (!hasTimes) return null;
  const start = parseTime(c.source.startTime, 'startTime', target);
  const end = parseTime(c.source.endTime, 'endTime', target);
  if (ds.snapshot ? end < start : end <= start) throw fail(`Invalid date filter: endTime '${c.source.endTime}' must be after startTime '${c.source.startTime}'`);
  if (end - start > MAX_DAYS * DAY) throw fail(`Invalid date filter: the window is longer than ${MAX_DAYS} days`);
  if (ds.delta && !ds.delta.supported && dayOf(start) !== dayOf(end)) {
    throw fail(`Dataset '${ds.name}' does not support deltas (${ds.delta.reason}): set startTime and endTime to the same date`);
  }
  snapshotWindow(ds, [start, end], fail);
  return { start, end, column: match };
}

// SharePoint snapshot dates are available 48 hours late and kept 21 days
// (the catalog's snapshot rules, from the SharePoint dataset pages),
// measured on the emulator clock.
function snapshotWindow(ds, times, fail) {
  if (!ds.snapshot) return;
  const now = state.now();
  const first = dayOf(now) - ds.snapshot.retentionDays;
  const last = dayOf(now - ds.snapshot.availableAfterHours * 3600 * 1000);
  const date = (d) => new Date(d * DAY).toISOString().slice(0, 10);
  for (const t of times) {
    const d = dayOf(t);
    if (d < first || d > last) {
      throw fail(`Invalid date filter: SnapshotDate ${date(d)} of dataset '${ds.name}' is ${d > last ? 'not available yet' : 'no longer available'}. Data is available ${ds.snapshot.availableAfterHours} hours after its snapshot date and kept ${ds.snapshot.retentionDays} days: dates from ${date(first)} to ${date(last)} can be requested`);
    }
  }
}

/*
 * sampleOf - the sample a copy asks for: the source's
 * AdditionalDataSetProperties.top, the number of objects to return (the
 * JobMetadata still counts all of them in TotalRowCount), or null for the
 * whole dataset. Sources (man/mgdc-sandbox.7, STRICTNESS): Microsoft's MGDC
 * for SharePoint FAQ on sampling ("top x" returns up to x objects plus the
 * count of all; only some SharePoint datasets) and the sampling pipelines of
 * pnp/mgdc-spo-governance ("AdditionalDataSetProperties": {"top": 1} on the
 * Office365Source; Files and FileActions included). Which datasets sample
 * is the catalog's "sample". A count that is not a whole number from 1 to
 * 2^31 - 1 is refused (the documents only ever give whole counts).
 */
function sampleOf(c, ds, fail) {
  const props = c.source.AdditionalDataSetProperties;
  if (props === undefined || props === null) return null;
  if (typeof props !== 'object' || Array.isArray(props)) throw fail('Invalid AdditionalDataSetProperties: expected an object such as {"top": 100}');
  const top = props.top;
  if (top === undefined || top === null) return null;
  if (typeof top !== 'number' || !Number.isInteger(top) || top < 1 || top > MAX_TOP) {
    throw fail(`Invalid AdditionalDataSetProperties.top '${JSON.stringify(top)}': expected a whole number of objects from 1 to ${MAX_TOP}`);
  }
  if (!(ds.sample && ds.sample.supported)) {
    const names = registration.catalog().datasets.filter((d) => d.sample && d.sample.supported).map((d) => d.name);
    throw fail(`Sampling (AdditionalDataSetProperties.top) is not available for dataset '${ds.name}'. Datasets that can be sampled: ${names.join(', ')}`);
  }
  return top;
}

/*
 * checkRequest - validate a resolved copy `c` against the registration of
 * its app and the catalog, in the order of reference §2.1. Returns {ds
 * (catalog entry), columns (output column names, meta columns included),
 * window {start, end, column} or null, groups, filter}. Throws
 * ActivityError with the reason MGDC would give.
 */
function checkRequest(c, target) {
  const fail = (reason) => o365Error(target, reason);
  const snap = approvedSnapshot(c, fail);
  const approved = snap.datasets.find((d) => d.name === c.tableName);
  if (!approved) throw fail(`ConsentNotFound: dataset '${c.tableName}' is not part of the approved authorization of application '${c.appId}'`);
  const ds = registration.catalog().find(c.tableName);
  if (!ds) throw fail(`Dataset '${c.tableName}' is not a Microsoft Graph Data Connect dataset`);

  const oc = c.source.outputColumns;
  let columns = [...approved.columns];
  if (!(oc === undefined || oc === null || (Array.isArray(oc) && oc.length === 0))) {
    if (!Array.isArray(oc) || oc.some((x) => !x || typeof x.name !== 'string')) throw fail('Invalid outputColumns: expected an array of {"name": "<column>"}');
    columns = [...new Set(oc.map((x) => x.name))];
    const missing = columns.filter((x) => !approved.columns.includes(x) && !metaColumns(ds).includes(x));
    if (missing.length) throw fail(`Invalid requested columns. The following requested columns were not consented to for data: ${missing.join(', ')}`);
  }

  const d = snap.destination;
  const prefixOk = !d.folder || c.sink.folder === d.folder || c.sink.folder.startsWith(`${d.folder}/`);
  if (c.sink.account.toLowerCase() !== String(d.storageAccount).toLowerCase() || c.sink.container !== d.container || !prefixOk) {
    const want = [d.storageAccount, d.container, d.folder].filter(Boolean).join('/');
    throw fail(`ConsentNotFound: the destination '${[c.sink.account, c.sink.container, c.sink.folder].filter(Boolean).join('/')}' is not contained in the authorized sink '${want}'`);
  }

  const { groups, filter } = checkScope(c, approved.scope, fail);
  const window = dateWindow(c, ds, target, fail);
  const top = sampleOf(c, ds, fail);
  for (const m of metaColumns(ds)) if (!columns.includes(m)) columns.push(m);
  return { ds, columns, window, groups, filter, top };
}

// Users a request covers: allowedGroups, else a `<prop> eq '<value>'` filter.
function usersInScope(dir, req, target) {
  if (req.groups.length) return dir.users.filter((u) => u.groups.some((g) => req.groups.includes(g)));
  if (!req.filter) return dir.users;
  let q;
  try {
    q = decodeURIComponent(new URL(req.filter).searchParams.get('$filter') || '');
  } catch (e) {
    q = '';
  }
  const m = /^\s*(\w+)\s+eq\s+'([^']*)'\s*$/i.exec(q);
  const props = { department: 'department', mail: 'upn', userprincipalname: 'upn', displayname: 'displayName', id: 'id' };
  const p = m && props[m[1].toLowerCase()];
  if (!p) throw o365Error(target, `Invalid userScopeFilterUri: the sandbox supports "$filter=<department|mail|userPrincipalName|displayName|id> eq '<value>'"`);
  return dir.users.filter((u) => String(u[p]).toLowerCase() === m[2].toLowerCase());
}

// ---- streaming upload --------------------------------------------------------------------

// Appends lines; sends a Put Block whenever BLOCK_SIZE is reached.
class BlockWriter {
  constructor(client, container, name, job) {
    Object.assign(this, { client, container, name, job, parts: [], size: 0, blocks: [], bytes: 0 });
  }

  push(line) {
    this.parts.push(line);
    this.size += Buffer.byteLength(line);
    return this.size >= BLOCK_SIZE;
  }

  async flushBlock() {
    checkCancelled(this.job);
    const buf = Buffer.from(this.parts.join(''), 'utf8');
    this.parts = [];
    this.size = 0;
    const id = Buffer.from(`block-${String(this.blocks.length).padStart(6, '0')}`).toString('base64');
    await this.client.putBlock(this.container, this.name, id, buf, this.job.abort.signal);
    this.blocks.push(id);
    this.bytes += buf.length;
  }

  async close() {
    checkCancelled(this.job);
    if (this.blocks.length === 0) {
      const buf = Buffer.from(this.parts.join(''), 'utf8');
      await this.client.putBlob(this.container, this.name, buf, 'application/json', this.job.abort.signal);
      this.bytes += buf.length;
      return;
    }
    if (this.size) await this.flushBlock();
    await this.client.putBlockList(this.container, this.name, this.blocks, 'application/json', this.job.abort.signal);
  }
}

class Cancelled extends Error {}
function checkCancelled(job) {
  if (job.cancelled) throw new Cancelled('cancelled');
}

// One client per Azurite account the sandbox serves: the storage account
// and OneLake's stand-in (same key, see setup.js).
const blobClients = new Map();
function blob(account) {
  const cfg = state.config;
  const url = account === cfg.storageAccount ? cfg.blobUrl : cfg.fabric.oneLakeUrl;
  const key = `${url}|${account}|${cfg.caFile}`;
  const old = blobClients.get(account);
  if (old && old.key === key) return old.client;
  if (old) old.client.close();
  const client = azblob.client({ url, account, key: cfg.storageKey, ca: cfg.caFile });
  blobClients.set(account, { key, client });
  return client;
}

// The accounts a sink may name: the storage account, and OneLake's stand-in.
function servedAccount(account) {
  const cfg = state.config;
  const a = String(account).toLowerCase();
  if (a === String(cfg.storageAccount).toLowerCase()) return cfg.storageAccount;
  if (cfg.fabric && a === cfg.fabric.oneLakeAccount) return cfg.fabric.oneLakeAccount;
  return null;
}

/*
 * sizeKnobs - users and items per user per day for a run: pipeline
 * parameters sandboxUsers / sandboxItemsPerDay, else state.config.users /
 * itemsPerUserPerDay (or the seeded dataUsers / dataRowsPerUser), else
 * MGDC_SANDBOX_USERS / MGDC_SANDBOX_ITEMS_PER_DAY, else 20 and 2.
 */
function sizeKnobs(params) {
  const cfg = state.config;
  const env = process.env;
  const first = (vals, dflt, max) => {
    for (const v of vals) {
      if (v === undefined || v === null || v === '') continue;
      const n = Number(v);
      if (Number.isInteger(n) && n >= 0) return Math.min(n, max);
    }
    return dflt;
  };
  return {
    users: first([params.sandboxUsers, cfg.users, cfg.dataUsers, env.MGDC_SANDBOX_USERS], 20, MAX_USERS),
    items: first([params.sandboxItemsPerDay, cfg.itemsPerUserPerDay, cfg.dataRowsPerUser, env.MGDC_SANDBOX_ITEMS_PER_DAY], 2, MAX_ITEMS_PER_DAY),
  };
}

/*
 * seedOf - the 32-bit data seed of a request: pipeline name, parameters
 * (sorted), dataset and window; never the runId.
 */
function seedOf(pipelineName, params, tableName, window) {
  const p = Object.keys(params).sort().map((k) => [k, params[k]]);
  const h = sha(JSON.stringify([pipelineName, p, tableName, window ? [window.start, window.end, window.column] : null]));
  return { seed: h.readUInt32BE(0), hex: h.toString('hex') };
}

/*
 * extract - generate and upload the data files and JobMetadata of one copy.
 * Returns the activity output. Throws Cancelled or ActivityError.
 */
async function extract({ c, req, params, pipelineName, activityRunId, job, target }) {
  const t0 = Date.now();
  const submitted = isoMs(Date.now());
  const tenantId = state.config.tenantId;
  const account = servedAccount(c.sink.account);
  if (!account) {
    throw configError(target, 'UserErrorAzureBlobOperationFailed', `Storage account '${c.sink.account}' is not reachable from the sandbox; only '${state.config.storageAccount}' is served`);
  }
  const { users: nUsers, items } = sizeKnobs(params);
  const dir = directory(tenantId, nUsers, state.config.tenantDomain);
  const users = usersInScope(dir, req, target);
  const { seed, hex } = seedOf(pipelineName, params, c.tableName, req.window);
  const src = rows.source({ req, users, dir, items, seed, tenantId, domain: state.config.tenantDomain, today: dayOf(state.now()) });
  // A sample writes the first `top` rows in the dataset's order; the count is of all.
  const limit = req.top === null ? src.count : Math.min(req.top, src.count);
  if (limit > MAX_ROWS) {
    throw configError(target, 'UserErrorSandboxLimit', `The sandbox writes at most ${MAX_ROWS} rows per copy; this request asks for ${limit} (lower sandboxUsers, sandboxItemsPerDay or the window)`);
  }
  const client = blob(account);
  const prefix = c.sink.folder ? `${c.sink.folder}/` : '';
  const nJobs = Math.min(MAX_JOBS, Math.max(1, Math.ceil(src.units.length / USERS_PER_JOB)));
  let written = 0;
  let bytes = 0;
  let files = 0;
  try {
    await client.createContainer(c.sink.container);
    for (let j = 0; j < nJobs && src.units.length && written < limit; j++) {
      const from = Math.floor((j * src.units.length) / nJobs);
      const to = Math.floor(((j + 1) * src.units.length) / nJobs);
      const name = `${prefix}${guidFrom(sha(`${hex}:file:${j}`))}.json`;
      const w = new BlockWriter(client, c.sink.container, name, job);
      for (let u = from; u < to && written < limit; u++) {
        for (const line of src.lines(src.units[u])) {
          if (written === limit) break;
          if (w.push(line)) await w.flushBlock();
          written++;
        }
      }
      await w.close();
      bytes += w.bytes;
      files++;
    }
    const completed = isoMs(Date.now());
    const meta = {
      CopyActivityId: activityRunId, JobSubmissionTime: submitted, JobCompletionTime: completed,
      RequestStartDate: req.window ? isoMs(req.window.start) : '', RequestEndDate: req.window ? isoMs(req.window.end) : '',
      ColumnsRequested: req.columns.join(','), NumberOfRowsExtracted: written, TotalRowCount: src.count,
      ...(req.ds.snapshot ? { ExtractionMode: req.window && dayOf(req.window.start) !== dayOf(req.window.end) ? 'Delta' : 'Full' } : {}),
      DataFactoryName: c.hostName || state.config.factory,
      TenantId: tenantId, Errors: '', TableName: c.tableName, ApplicationId: c.appId, OfficeGeo: 'NAM',
      ExtractionResultId: guidFrom(sha(`${hex}:${activityRunId}`)),
    };
    checkCancelled(job);
    await client.putBlob(c.sink.container, `${prefix}metadata/JobMetadata/metadata.json`, Buffer.from(JSON.stringify(meta)), 'application/json', job.abort.signal);
  } catch (e) {
    if (e instanceof Cancelled || e instanceof ActivityError) throw e;
    if (job.cancelled) throw new Cancelled('cancelled');
    throw configError(target, 'UserErrorAzureBlobOperationFailed', `Failed to write to the sink '${c.sink.container}/${c.sink.folder}': ${e.message}`, 'SystemError');
  }
  const secs = Math.max(1, Math.round((Date.now() - t0) / 1000));
  return {
    dataRead: bytes, dataWritten: bytes, filesRead: 0, filesWritten: files, rowsRead: written, rowsCopied: written,
    copyDuration: secs, throughput: Math.round((bytes / 1024 / secs) * 1000) / 1000, errors: [],
    effectiveIntegrationRuntime: 'AutoResolveIntegrationRuntime (Sandbox)', usedDataIntegrationUnits: 4, usedParallelCopies: nJobs,
    executionDetails: [{
      source: { type: 'Office365' }, sink: { type: c.sink.type || 'AzureBlobStorage' }, status: 'Succeeded', start: submitted,
      duration: secs, usedDataIntegrationUnits: 4, usedParallelCopies: nJobs,
      detailedDurations: { queuingDuration: 0, transferDuration: secs },
    }],
    sinkContainer: c.sink.container, sinkFolder: c.sink.folder, tableName: c.tableName,
  };
}

// ---- run driver --------------------------------------------------------------------------

// Resolves after `ms`, or at once when the job is (or gets) cancelled.
function sleep(ms, job) {
  return new Promise((res) => {
    if (job.cancelled) { res(); return; }
    const done = () => { clearTimeout(timer); job.wake.delete(done); res(); };
    const timer = setTimeout(done, ms);
    job.wake.add(done);
  });
}

function runMs() {
  const s = Number(state.config.runSeconds ?? process.env.MGDC_SANDBOX_RUN_SECONDS ?? 3);
  return Number.isFinite(s) && s >= 0 ? s * 1000 : 3000;
}

function touch(run, fields) {
  Object.assign(run, fields, { lastUpdated: stamp() });
  state.save();
}

// A cancelled run keeps runEnd and durationInMs null, as ADF reports it.
function finish(run, status, message, t0) {
  const cancelled = status === 'Cancelled';
  touch(run, { status, message, runEnd: cancelled ? null : stamp(), durationInMs: cancelled ? null : Date.now() - t0 });
}

// How a host turns a Copy activity into the engine's copy: ADF's datasets
// and linked services here; Fabric's inline settings and connections in
// fabric.js. resolve(f, act, ectx) -> c (as resolveCopy); sink(c, target)
// checks the sink's credentials.
// dataFactory(f): the name the job metadata gives the host (a Synapse workspace's own).
const ADF_HOST = { resolve: resolveCopy, sink: checkSink, dataFactory: (f) => f.name || state.config.factory };

async function execute({ factory: f, pipeline, run, params, job, host = ADF_HOST }) {
  const t0 = Date.now();
  const total = runMs();
  await sleep(Math.min(1000, total / 4), job);
  if (job.cancelled) { finish(run, 'Cancelled', '', t0); return; }
  touch(run, { status: 'InProgress' });
  const ectx = {
    pipeline: {
      RunId: run.runId, Pipeline: pipeline.name, DataFactory: host.dataFactory(f), GroupId: run.runGroupId,
      TriggerType: 'Manual', TriggerId: run.invokedBy.id, TriggerName: 'Manual', TriggerTime: run.triggerTime || run.runStart, parameters: params,
    },
  };
  const acts = f.activityRuns[run.runId] || (f.activityRuns[run.runId] = []);
  for (const act of pipeline.properties.activities || []) {
    const ar = {
      activityRunId: crypto.randomUUID(), activityName: act.name, activityType: act.type, pipelineRunId: run.runId,
      pipelineName: pipeline.name, linkedServiceName: '', status: 'InProgress', activityRunStart: stamp(),
      activityRunEnd: null, durationInMs: null, input: {}, output: {}, error: { errorCode: '', message: '', failureType: '', target: act.name },
      retryAttempt: null, userProperties: {}, iterationHash: '', recoveryStatus: 'None', integrationRuntimeNames: ['AutoResolveIntegrationRuntime'],
    };
    acts.push(ar);
    touch(run, {});
    const a0 = Date.now();
    const end = (status, fields = {}) => {
      Object.assign(ar, fields, { status, activityRunEnd: stamp(), durationInMs: Date.now() - a0 });
      touch(run, {});
    };
    try {
      if (act.type === 'Copy') {
        const c = host.resolve(f, act, ectx);
        c.hostName = c.hostName || host.dataFactory(f);
        ar.input = { source: { type: 'Office365Source', ...c.source }, sink: { type: c.sink.type, container: c.sink.container, folderPath: c.sink.folder }, tableName: c.tableName };
        checkSource(c, act.name);
        const req = checkRequest(c, act.name);
        host.sink(c, act.name);
        const output = await extract({ c, req, params, pipelineName: pipeline.name, activityRunId: ar.activityRunId, job, target: act.name });
        run.runDimensions = { OutputContainer: c.sink.container, OutputFolder: c.sink.folder, TableName: c.tableName, ApplicationId: c.appId };
        end('Succeeded', { output });
      } else {
        end('Succeeded');
      }
    } catch (e) {
      if (e instanceof Cancelled) {
        end('Cancelled', { error: { errorCode: '', message: 'The activity was cancelled.', failureType: '', target: act.name } });
        finish(run, 'Cancelled', '', t0);
        return;
      }
      const error = e instanceof ActivityError ? e.error
        : { errorCode: '2200', message: `Unexpected failure: ${e.message}`, failureType: 'SystemError', target: act.name, details: [] };
      if (!(e instanceof ActivityError)) console.error('copy: unexpected failure:', e && e.stack ? e.stack : e);
      end('Failed', { error });
      finish(run, 'Failed', `Operation on target ${act.name} failed: ${error.message}`, t0);
      return;
    }
  }
  const left = total - (Date.now() - t0);
  if (left > 0) await sleep(left, job);
  finish(run, job.cancelled ? 'Cancelled' : 'Succeeded', '', t0);
}

/*
 * startRun - drive `run` (already stored as Queued) of `pipeline` in
 * factory state `f` with resolved `params`, asynchronously, resolving its
 * Copy activities with `host` (default ADF's; see ADF_HOST). Never throws;
 * unexpected errors fail the run.
 */
function startRun({ factory, pipeline, run, params, host }) {
  const job = { cancelled: false, wake: new Set(), abort: new AbortController() };
  active.set(run.runId, job);
  execute({ factory, pipeline, run, params, job, host })
    .catch((e) => {
      console.error('copy: run failed unexpectedly:', e && e.stack ? e.stack : e);
      touch(run, { status: 'Failed', message: `Unexpected failure: ${e.message}`, runEnd: stamp() });
    })
    .finally(() => active.delete(run.runId));
}

/*
 * cancelRun - ask an active run to stop: status Canceling now, Cancelled
 * when the engine notices (at its next wait or block). A run this process
 * does not drive (e.g. after a restart) is marked Cancelled at once.
 */
function cancelRun(f, run) {
  const job = active.get(run.runId);
  if (!job) {
    touch(run, { status: 'Cancelled', runEnd: null, durationInMs: null });
    return;
  }
  job.cancelled = true;
  touch(run, { status: 'Canceling' });
  job.abort.abort();
  for (const w of [...job.wake]) w();
}

/*
 * reconcile - fail runs of `f` left Queued/InProgress by an earlier emulator
 * process (nothing drives them any more).
 */
function reconcile(f) {
  for (const run of Object.values(f.runs)) {
    if (['Queued', 'InProgress', 'Canceling'].includes(run.status) && !active.has(run.runId)) {
      const cancelled = run.status === 'Canceling';
      touch(run, {
        status: cancelled ? 'Cancelled' : 'Failed',
        message: cancelled ? '' : 'The run was interrupted because the sandbox emulator restarted.',
        runEnd: cancelled ? null : stamp(),
        durationInMs: cancelled ? null : Math.max(0, Date.now() - Date.parse(run.runStart)),
      });
    }
  }
}

module.exports = { startRun, cancelRun, reconcile, directory, evaluator, configError };
