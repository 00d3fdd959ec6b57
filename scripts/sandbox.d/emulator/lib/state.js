'use strict';
// The emulator's state: the seeded tenant (`config`, from sandbox.json and
// the secret files beside it), the mutable service data (`data`, persisted
// to <state>/emulator/state.json) and the clock.
//
// Design decision: one module-level singleton, because every service module
// `require`s it at load time and a process runs one emulator. `init()`
// replaces everything in place, so tests may start, stop and start again.
// Saves are debounced and atomic (temp file + rename): handlers call
// `save()` after every change without thinking about cost or torn files.
// The clock is Date.now() plus an offset that only /_faults moves, so
// approval expiry (180 days) can be tested without waiting.

const fs = require('node:fs');
const path = require('node:path');
const { GLOBAL_ADMIN_ROLE } = require('../../setup');
const platformIdentities = require('../../identities');

const SAVE_DELAY_MS = 50;

const state = {
  dir: null,
  config: null,
  data: {},
  _timer: null,
};

// Environment knobs: name -> [options key, parser].
const ENV_OPTIONS = {
  MGDC_SANDBOX_TOKEN_LIFETIME_S: 'tokenLifetimeS',
  MGDC_SANDBOX_RUN_SECONDS: 'runSeconds',
  MGDC_SANDBOX_DATA_USERS: 'dataUsers',
  MGDC_SANDBOX_DATA_ROWS_PER_USER: 'dataRowsPerUser',
};

const stateFile = () => path.join(state.dir, 'emulator', 'state.json');
const readSecret = (dir, rel) => fs.readFileSync(path.resolve(dir, rel), 'utf8').trim();

function buildConfig(dir, env) {
  const s = JSON.parse(fs.readFileSync(path.join(dir, 'sandbox.json'), 'utf8'));
  const options = { ...(s.options || {}) };
  for (const [name, key] of Object.entries(ENV_OPTIONS)) {
    if (env[name] !== undefined && env[name] !== '' && Number.isFinite(Number(env[name]))) {
      options[key] = Number(env[name]);
    }
  }
  const identities = {};
  for (const [who, id] of Object.entries(s.identities)) {
    identities[who] = {
      clientId: id.appId, appId: id.appId, objectId: id.id, oid: id.spId, upn: id.upn,
      displayName: id.displayName, userDisplayName: id.userDisplayName, roles: id.roles || [],
      // Seeds older than the graphRoles field granted both to every identity.
      graphRoles: Array.isArray(id.graphRoles) ? id.graphRoles : ['Directory.Read.All', 'Application.Read.All'],
      isGlobalAdmin: (id.roles || []).includes(GLOBAL_ADMIN_ROLE),
      secret: readSecret(dir, id.secretFile),
      certPem: id.certFile ? fs.readFileSync(path.resolve(dir, id.certFile), 'utf8') : null,
    };
  }
  const blobHost = `https://127.0.0.1:${s.ports.blob}`;
  return {
    ...options,
    options,
    dir,
    tenantId: s.tenantId,
    tenantDomain: s.tenantDomain,
    tenantDisplayName: s.tenantDisplayName,
    subscriptionId: s.subscriptionId,
    resourceGroup: s.resourceGroup,
    factory: s.factory,
    // Seeds older than the Synapse workspace get the name every new seed has.
    synapseWorkspace: s.synapseWorkspace || 'mgdc-sandbox-syn',
    location: s.location,
    storageAccount: s.storageAccount,
    storageKey: readSecret(dir, s.files.storageKey),
    blobHost,
    blobUrl: `${blobHost}/${s.storageAccount}`,
    // Microsoft Fabric: the seeded workspace, its lakehouse and OneLake's
    // stand-in account (sharing the storage key; see setup.js).
    fabric: s.fabric ? { ...s.fabric, oneLakeUrl: `${blobHost}/${s.fabric.oneLakeAccount}` } : null,
    emulatorPort: s.ports.emulator,
    caFile: path.resolve(dir, s.files.ca),
    serverCertFile: path.resolve(dir, s.files.serverCert),
    serverKeyFile: path.resolve(dir, s.files.serverKey),
    signingKeyPem: fs.readFileSync(path.resolve(dir, s.files.signingKey), 'utf8'),
    identities,
    // Managed identities, federated credentials and their keys (identities.js).
    ...platformIdentities.config(dir, s),
    // Every application Graph lists: the two identities first, then the extras.
    applications: [
      ...Object.values(s.identities).map((a) => ({ appId: a.appId, id: a.id, spId: a.spId,
        displayName: a.displayName, createdDateTime: a.createdDateTime })),
      ...s.applications,
    ],
  };
}

/**
 * init({stateDir, env}) - load sandbox.json, the secrets and the persisted
 * data of `stateDir`. Throws when the seed is missing or unreadable.
 */
state.init = function init({ stateDir, env = process.env }) {
  state.flush();
  state.dir = path.resolve(stateDir);
  state.config = buildConfig(state.dir, env);
  fs.mkdirSync(path.dirname(stateFile()), { recursive: true, mode: 0o700 });
  let data = {};
  try {
    data = JSON.parse(fs.readFileSync(stateFile(), 'utf8'));
  } catch (e) {
    if (e.code !== 'ENOENT') console.error(`emulator: ignoring unreadable ${stateFile()}: ${e.message}`);
  }
  // Keep the object identity: modules may hold `state.data` in a variable.
  for (const k of Object.keys(state.data)) delete state.data[k];
  Object.assign(state.data, data);
  if (!Number.isFinite(state.data.clockOffsetMs)) state.data.clockOffsetMs = 0;
  return state;
};

/** now() - the emulator clock in milliseconds since the epoch. */
state.now = () => Date.now() + (state.data.clockOffsetMs || 0);

/** date() - the emulator clock as a Date. */
state.date = () => new Date(state.now());

/** advanceClock(ms) - move the emulator clock forward (or back). */
state.advanceClock = function advanceClock(ms) {
  state.data.clockOffsetMs = (state.data.clockOffsetMs || 0) + ms;
  state.save();
};

// Write the data file now; a failure is logged, never thrown, because a
// request that changed state has already been answered.
function writeNow() {
  if (!state.dir) return;
  const file = stateFile();
  const tmp = `${file}.tmp`;
  try {
    fs.writeFileSync(tmp, JSON.stringify(state.data), { mode: 0o600 });
    fs.renameSync(tmp, file);
  } catch (e) {
    console.error(`emulator: could not save state: ${e.message}`);
  }
}

/** save() - persist `data` soon (debounced); never throws. */
state.save = function save() {
  if (state._timer) return;
  state._timer = setTimeout(() => {
    state._timer = null;
    writeNow();
  }, SAVE_DELAY_MS);
  state._timer.unref();
};

/** flush() - write a pending save now (on shutdown). */
state.flush = function flush() {
  if (!state._timer) return;
  clearTimeout(state._timer);
  state._timer = null;
  writeNow();
};

/**
 * identityByAppId(appId) - the seeded identity (developer/admin) whose
 * client id is `appId`, with its name in `who`, or null.
 */
state.identityByAppId = function identityByAppId(appId) {
  for (const [who, id] of Object.entries(state.config.identities)) {
    if (id.appId === appId) return { who, ...id };
  }
  return null;
};

/**
 * managedIdentity(clientId) - a managed identity of the sandbox as a caller
 * (its token's appid), shaped like identityByAppId's answer, or null.
 */
state.managedIdentity = function managedIdentity(clientId) {
  const mi = Object.values(state.config.managedIdentities || {}).find((m) => m.clientId === clientId);
  if (!mi) return null;
  return { who: mi.name, appId: mi.clientId, oid: mi.principalId, displayName: mi.name, roles: [], managed: true };
};

module.exports = state;
