'use strict';
// Azure role assignments (Microsoft.Authorization/roleAssignments,
// api-version 2022-04-01), the part MGDC needs: whether an app's service
// principal may write to the destination storage account. MGDC's docs say
// the app "must have Storage Blob Data Contributor access to the Azure
// Storage Blob location" (reference real/mgdc/quotes.md, "Sinks"); the copy
// engine enforces that at run time, and mgdcfs reads it before a run.
//
// Routes, as Role Assignments - List For Scope / Create / Delete document
// them: GET {scope}/providers/Microsoft.Authorization/roleAssignments with
// $filter=principalId eq '{id}' (assignments at, above or below the scope for
// that principal) or $filter=atScope() (at or above), PUT and DELETE
// {scope}/providers/Microsoft.Authorization/roleAssignments/{name}. Scopes
// are the subscription, the resource group and resources under it.
//
// Key decision: a global administrator of the sandbox tenant stands in for
// the subscription's Owner (the one who may write role assignments); the
// seed gives the developer's and the admin's service principals Storage Blob
// Data Contributor on the storage account, and nobody else anything, so a
// test can show a missing role by registering another app.

const crypto = require('node:crypto');
const { route, armError, send } = require('./http');
const state = require('./state');
const { armPrelude, armBody } = require('./adf');

const VERSIONS = ['2022-04-01'];
const GUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
// Built-in role definition ids (Azure built-in roles).
const ROLES = {
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  storageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1',
};
const WRITERS = [ROLES.storageBlobDataContributor, ROLES.storageBlobDataOwner];
const TYPE = 'Microsoft.Authorization/roleAssignments';

const lc = (s) => String(s).toLowerCase();
const roleDefinitionId = (role) => `/subscriptions/${state.config.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${role}`;
const accountScope = (account) => `/subscriptions/${state.config.subscriptionId}/resourceGroups/${state.config.resourceGroup}/providers/Microsoft.Storage/storageAccounts/${account}`;

function assignment(scope, role, principalId, name = crypto.randomUUID()) {
  const now = new Date().toISOString();
  return {
    id: `${scope}/providers/${TYPE}/${name}`, name, type: TYPE,
    properties: {
      roleDefinitionId: roleDefinitionId(role), principalId, principalType: 'ServicePrincipal', scope,
      condition: null, conditionVersion: null, createdOn: now, updatedOn: now, createdBy: null, updatedBy: null,
      delegatedManagedIdentityResourceId: null, description: null,
    },
  };
}

// The assignments, seeded on first use (see the header).
function store() {
  if (!Array.isArray(state.data.roleAssignments)) {
    const scope = accountScope(state.config.storageAccount);
    state.data.roleAssignments = ['developer', 'admin']
      .map((who) => state.config.identities[who])
      .filter(Boolean)
      .map((id) => assignment(scope, ROLES.storageBlobDataContributor, id.oid));
    state.save();
  }
  return state.data.roleAssignments;
}

// Is `inner` the scope `outer` or below it?
const within = (inner, outer) => lc(inner) === lc(outer) || lc(inner).startsWith(`${lc(outer)}/`);

/**
 * canWriteBlobs(principalId, account) - 1 when the principal holds Storage
 * Blob Data Contributor or Owner on `account`, its resource group or the
 * subscription.
 */
function canWriteBlobs(principalId, account) {
  const target = accountScope(account);
  return store().some((a) => lc(a.properties.principalId) === lc(principalId)
    && WRITERS.some((r) => lc(a.properties.roleDefinitionId).endsWith(`/${r}`))
    && within(target, a.properties.scope));
}

const SCOPE = '(/subscriptions/[^/]+(?:/resourceGroups/[^/]+(?:/providers/[^/]+/[^/]+/[^/]+)?)?)';

// The scope of a request, checked against the sandbox's subscription and
// resource group (404 in ARM's words otherwise).
function scopeOf(ctx) {
  const scope = decodeURIComponent(ctx.match[1]);
  const m = /^\/subscriptions\/([^/]+)(?:\/resourceGroups\/([^/]+))?/i.exec(scope);
  const who = armPrelude(ctx, VERSIONS, m[1], m[2]);
  return { scope, who };
}

route('GET', new RegExp(`^/arm${SCOPE}/providers/Microsoft\\.Authorization/roleAssignments$`, 'i'), (ctx) => {
  const { scope } = scopeOf(ctx);
  const filter = ctx.url.searchParams.get('$filter');
  let pick;
  const byPrincipal = filter && /^\s*principalId\s+eq\s+'([^']*)'\s*$/i.exec(filter);
  if (filter === null) pick = (a) => within(a.properties.scope, scope) || within(scope, a.properties.scope);
  else if (/^\s*atScope\(\)\s*$/i.test(filter)) pick = (a) => within(scope, a.properties.scope);
  else if (byPrincipal) {
    pick = (a) => lc(a.properties.principalId) === lc(byPrincipal[1])
      && (within(a.properties.scope, scope) || within(scope, a.properties.scope));
  } else {
    throw armError(400, 'UnsupportedQuery', `The filter '${filter.slice(0, 200)}' is not supported. Supported filters are either roleDefinitionId, principalId or assignedTo.`);
  }
  return { value: store().filter(pick) };
});

const ONE = new RegExp(`^/arm${SCOPE}/providers/Microsoft\\.Authorization/roleAssignments/([^/]+)$`, 'i');

function requireOwner(who, scope, action) {
  if (!who.isGlobalAdmin) {
    throw armError(403, 'AuthorizationFailed', `The client '${who.oid}' with object id '${who.oid}' does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/${action}' over scope '${scope}/providers/${TYPE}' or the scope is invalid. If access was recently granted, please refresh your credentials.`);
  }
}

route('PUT', ONE, (ctx) => {
  const { scope, who } = scopeOf(ctx);
  const name = decodeURIComponent(ctx.match[2]);
  if (!GUID_RE.test(name)) throw armError(400, 'InvalidRoleAssignmentId', `The role assignment ID '${name}' is not valid. The role assignment ID must be a GUID.`);
  requireOwner(who, scope, 'write');
  const b = armBody(ctx);
  const p = b.properties || {};
  const role = /\/roleDefinitions\/([0-9a-fA-F-]{36})$/.exec(String(p.roleDefinitionId || ''));
  if (!role) throw armError(400, 'InvalidRoleDefinitionId', "The role definition ID in 'properties.roleDefinitionId' is not valid.");
  if (!GUID_RE.test(String(p.principalId || ''))) throw armError(400, 'InvalidPrincipalId', "A valid principal ID must be provided in 'properties.principalId'.");
  // Only definitions that exist may be assigned; the sandbox knows the three
  // built-in storage data roles (learn.microsoft.com/azure/role-based-access-control/troubleshooting).
  if (!Object.values(ROLES).includes(lc(role[1]))) throw armError(400, 'RoleDefinitionDoesNotExist', `The specified role definition with ID '${role[1]}' does not exist.`);
  // ARM looks the principal up in the directory unless principalType is given
  // (the documented way round replication delay for a principal just created:
  // learn.microsoft.com/azure/role-based-access-control/role-assignments-template#new-service-principal).
  const known = state.config.applications.some((app) => lc(app.spId) === lc(p.principalId));
  if (!known && !p.principalType) throw armError(400, 'PrincipalNotFound', `Principal ${String(p.principalId).replace(/-/g, '')} does not exist in the directory ${state.config.tenantId}.`);
  const list = store();
  const same = list.find((a) => lc(a.properties.principalId) === lc(p.principalId) && lc(a.properties.scope) === lc(scope)
    && lc(a.properties.roleDefinitionId).endsWith(`/${lc(role[1])}`));
  if (same) throw armError(409, 'RoleAssignmentExists', 'The role assignment already exists.');
  const a = assignment(scope, lc(role[1]), p.principalId, name);
  if (p.principalType) a.properties.principalType = String(p.principalType);
  list.push(a);
  state.save();
  send(ctx.res, 201, a);
});

route('DELETE', ONE, (ctx) => {
  const { scope, who } = scopeOf(ctx);
  requireOwner(who, scope, 'delete');
  const name = lc(decodeURIComponent(ctx.match[2]));
  const list = store();
  const i = list.findIndex((a) => lc(a.name) === name && lc(a.properties.scope) === lc(scope));
  if (i < 0) { send(ctx.res, 204, null); return; }
  const [a] = list.splice(i, 1);
  state.save();
  send(ctx.res, 200, a);
});

module.exports = { canWriteBlobs, accountScope, ROLES };
