'use strict';
// Microsoft.GraphServices/accounts, the one public ARM resource of MGDC (the
// billing account an app registration uses; reference mgdc-control-plane.md
// §1.3): PUT / PATCH / GET / DELETE one account, list by resource group and
// by subscription, and the provider's operations list.
//
// Key decision: the PUT is answered synchronously with provisioningState
// Succeeded (the real one is a long-running operation that ends the same
// way); an account is unique per appId, so a second account for the same
// appId under another name is refused with 409 naming the existing one.

const crypto = require('node:crypto');
const { route, armError, send } = require('./http');
const state = require('./state');
const { armPrelude, armBody, listPage } = require('./adf');

const VERSIONS = ['2022-09-22-preview', '2022-09-22', '2023-04-05-preview', '2023-04-13'];
const TYPE = 'Microsoft.GraphServices/accounts';
const GUID_RE = /^[A-Za-z0-9]{8}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{12}$/;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const MAX_TAGS = 50;

const bad = (message, code = 'BadRequest') => armError(400, code, message);
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function store() {
  if (!state.data.accounts) state.data.accounts = {};
  return state.data.accounts;
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
      appId, provisioningState: 'Succeeded',
      billingPlanId: old ? old.properties.billingPlanId : crypto.randomUUID(),
    },
  };
  accounts[key] = res;
  state.save();
  send(ctx.res, old ? 200 : 201, res);
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
  return listPage(ctx, Object.values(store()).sort(byName), 100);
});

route('GET', /^\/arm\/subscriptions\/([^/]+)\/providers\/Microsoft\.GraphServices\/accounts$/i, (ctx) => {
  armPrelude(ctx, VERSIONS, ctx.match[1]);
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
