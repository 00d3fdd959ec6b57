'use strict';
// Microsoft.GraphServices/accounts, the one public ARM resource of MGDC (the
// billing account an app registration uses; reference mgdc-control-plane.md
// §1.3): PUT / PATCH / GET / DELETE one account, list by resource group and
// by subscription, and the provider's operations list.
//
// Key decisions: the PUT is long-running, as the public spec declares it
// (x-ms-long-running-operation, final-state-via azure-async-operation): 201
// (create) or 200 (update) with provisioningState Accepted and the
// Azure-AsyncOperation, Location and Retry-After headers of ARM's
// asynchronous-operation pattern; the operation ends Succeeded after
// `lroMs` (seed option, 1500 ms) and only then does the account read
// Succeeded. Completion is computed when something reads, not by a timer.
// An account is unique per appId, so a second account for the same appId
// under another name is refused with 409 naming the existing one.

const crypto = require('node:crypto');
const { route, armError, send } = require('./http');
const state = require('./state');
const { armPrelude, armBody, listPage } = require('./adf');

const VERSIONS = ['2022-09-22-preview', '2022-09-22', '2023-04-05-preview', '2023-04-13'];
const TYPE = 'Microsoft.GraphServices/accounts';
const GUID_RE = /^[A-Za-z0-9]{8}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{12}$/;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const MAX_TAGS = 50;
const MAX_OPS = 500;
const lroMs = () => (Number.isFinite(state.config.lroMs) ? state.config.lroMs : 1500);

const bad = (message, code = 'BadRequest') => armError(400, code, message);
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function store() {
  if (!state.data.accounts) state.data.accounts = {};
  return state.data.accounts;
}

function operations() {
  if (!state.data.accountOps) state.data.accountOps = {};
  return state.data.accountOps;
}

// Finish operations whose time has come; their accounts read Succeeded.
function settle() {
  const ops = operations();
  const now = Date.now();
  for (const op of Object.values(ops)) {
    if (op.status !== 'InProgress' || now < op.doneAt) continue;
    op.status = 'Succeeded';
    op.endTime = new Date(op.doneAt).toISOString();
    const acct = store()[op.account];
    if (acct) acct.properties.provisioningState = 'Succeeded';
    state.save();
  }
  // Forget the oldest finished operations beyond MAX_OPS; one in progress is
  // kept whatever the count, so its poller never sees a 404.
  const done = Object.keys(ops).filter((id) => ops[id].status !== 'InProgress');
  const extra = Object.keys(ops).length - MAX_OPS;
  if (extra > 0) for (const id of done.slice(0, extra)) delete ops[id];
}

function startOperation(ctx, key) {
  const id = crypto.randomUUID();
  const now = Date.now();
  operations()[id] = { id, account: key, status: 'InProgress', startTime: new Date(now).toISOString(), doneAt: now + lroMs() };
  state.save();
  const base = `https://${ctx.req.headers.host || '127.0.0.1'}/arm/subscriptions/${state.config.subscriptionId}/providers/Microsoft.GraphServices/locations/global`;
  const v = ctx.url.searchParams.get('api-version');
  return {
    'azure-asyncoperation': `${base}/operationStatuses/${id}?api-version=${v}`,
    location: `${base}/operationResults/${id}?api-version=${v}`,
    'retry-after': String(Math.max(1, Math.ceil(lroMs() / 1000))),
  };
}

function checkTags(tags) {
  if (tags === undefined) return undefined;
  if (!isObj(tags)) throw bad("The property 'tags' must be an object of strings.", 'InvalidRequestContent');
  const e = Object.entries(tags);
  if (e.length > MAX_TAGS) throw bad(`At most ${MAX_TAGS} tags are allowed.`, 'InvalidTagCount');
  for (const [k, v] of e) {
    if (typeof v !== 'string' || k.length > 512 || v.length > 256) throw bad(`The tag '${k}' is not valid.`, 'InvalidTag');
  }
  return { ...tags };
}

const ONE = '^/arm/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\\.GraphServices/accounts/([^/]+)$';

function locate(ctx) {
  const [, sub, rg, rawName] = ctx.match;
  armPrelude(ctx, VERSIONS, sub, rg);
  const name = decodeURIComponent(rawName);
  return { name, key: name.toLowerCase() };
}

function notFound(name) {
  return armError(404, 'ResourceNotFound',
    `The Resource '${TYPE}/${name}' under resource group '${state.config.resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`);
}

route('PUT', new RegExp(ONE, 'i'), (ctx) => {
  const { name, key } = locate(ctx);
  if (!NAME_RE.test(name)) throw bad(`The resource name '${name}' is invalid.`, 'InvalidResourceName');
  const b = armBody(ctx);
  if (!isObj(b.properties)) throw bad("The property 'properties' is required.", 'InvalidRequestContent');
  const appId = b.properties.appId;
  if (typeof appId !== 'string' || !GUID_RE.test(appId)) throw bad("The property 'properties.appId' is required and must be a GUID.", 'InvalidRequestContent');
  if (b.location !== undefined && typeof b.location !== 'string') throw bad("The property 'location' must be a string.", 'InvalidRequestContent');
  const tags = checkTags(b.tags);
  const accounts = store();
  const old = accounts[key];
  if (old && old.properties.appId.toLowerCase() !== appId.toLowerCase()) {
    throw bad(`The property 'properties.appId' cannot be changed once the account exists (it is '${old.properties.appId}').`, 'PropertyChangeNotAllowed');
  }
  const other = Object.values(accounts).find((a) => a !== old && a.properties.appId.toLowerCase() === appId.toLowerCase());
  if (other) throw armError(409, 'Conflict', `A billing account for application '${appId}' already exists: ${other.id}.`);
  const now = new Date().toISOString();
  const res = {
    id: `/subscriptions/${state.config.subscriptionId}/resourceGroups/${state.config.resourceGroup}/providers/${TYPE}/${name}`,
    name, type: TYPE, location: b.location || (old && old.location) || 'global',
    tags: tags || (old && old.tags) || {},
    systemData: {
      createdByType: 'Application', createdAt: old ? old.systemData.createdAt : now,
      lastModifiedByType: 'Application', lastModifiedAt: now,
    },
    properties: {
      appId, provisioningState: 'Accepted',
      billingPlanId: old ? old.properties.billingPlanId : crypto.randomUUID(),
    },
  };
  accounts[key] = res;
  state.save();
  send(ctx.res, old ? 200 : 201, res, startOperation(ctx, key));
});

const OPS = '^/arm/subscriptions/([^/]+)/providers/Microsoft\\.GraphServices/locations/([^/]+)/';

// The operation's status (Azure-AsyncOperation): InProgress, then Succeeded.
route('GET', new RegExp(`${OPS}operationStatuses/([^/]+)$`, 'i'), (ctx) => {
  armPrelude(ctx, VERSIONS, ctx.match[1]);
  settle();
  const op = operations()[decodeURIComponent(ctx.match[3])];
  if (!op) throw armError(404, 'OperationNotFound', `The operation '${decodeURIComponent(ctx.match[3]).slice(0, 64)}' was not found.`);
  const out = { id: ctx.url.pathname.replace(/^\/arm/, ''), name: op.id, status: op.status, startTime: op.startTime };
  if (op.endTime) out.endTime = op.endTime;
  return out;
});

// The operation's result (Location): 202 while it runs, then the account.
route('GET', new RegExp(`${OPS}operationResults/([^/]+)$`, 'i'), (ctx) => {
  armPrelude(ctx, VERSIONS, ctx.match[1]);
  settle();
  const op = operations()[decodeURIComponent(ctx.match[3])];
  if (!op) throw armError(404, 'OperationNotFound', `The operation '${decodeURIComponent(ctx.match[3]).slice(0, 64)}' was not found.`);
  if (op.status === 'InProgress') {
    send(ctx.res, 202, null, { location: `https://${ctx.req.headers.host}${ctx.url.pathname}${ctx.url.search}`, 'retry-after': '1' });
    return undefined;
  }
  const acct = store()[op.account];
  if (!acct) { send(ctx.res, 204, null); return undefined; }
  return acct;
});

route('PATCH', new RegExp(ONE, 'i'), (ctx) => {
  const { name, key } = locate(ctx);
  const res = store()[key];
  if (!res) throw notFound(name);
  const b = armBody(ctx);
  const tags = checkTags(b.tags);
  if (tags) res.tags = tags;
  res.systemData.lastModifiedAt = new Date().toISOString();
  state.save();
  return res;
});

route('GET', new RegExp(ONE, 'i'), (ctx) => {
  const { name, key } = locate(ctx);
  settle();
  const res = store()[key];
  if (!res) throw notFound(name);
  return res;
});

route('DELETE', new RegExp(ONE, 'i'), (ctx) => {
  const { key } = locate(ctx);
  const existed = !!store()[key];
  delete store()[key];
  if (existed) state.save();
  send(ctx.res, existed ? 200 : 204, null);
});

const byName = (a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase());

route('GET', /^\/arm\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.GraphServices\/accounts$/i, (ctx) => {
  armPrelude(ctx, VERSIONS, ctx.match[1], ctx.match[2]);
  settle();
  return listPage(ctx, Object.values(store()).sort(byName), 100);
});

route('GET', /^\/arm\/subscriptions\/([^/]+)\/providers\/Microsoft\.GraphServices\/accounts$/i, (ctx) => {
  armPrelude(ctx, VERSIONS, ctx.match[1]);
  settle();
  return listPage(ctx, Object.values(store()).sort(byName), 100);
});

route('GET', /^\/arm\/providers\/Microsoft\.GraphServices\/operations$/i, (ctx) => {
  armPrelude(ctx, VERSIONS, state.config.subscriptionId);
  const op = (n, d) => ({
    name: `Microsoft.GraphServices/accounts/${n}`, isDataAction: false,
    display: { provider: 'Microsoft.GraphServices', resource: 'accounts', operation: d, description: d },
  });
  return { value: [op('read', 'Read account'), op('write', 'Create or update account'), op('delete', 'Delete account')] };
});

module.exports = { VERSIONS };
