'use strict';
// The sandbox's stand-ins for the credentials a machine has without a
// secret of its own (man/mgdc-sandbox.7, "Managed identity, workload
// identity and the Azure CLI"): two managed identities (the VM's
// system-assigned one and a user-assigned one) answered by the emulator's
// IMDS and App Service endpoints, a federated identity credential on the
// developer app that trusts the sandbox's own OIDC issuer (as an AKS
// cluster's issuer is trusted), and the key that issuer signs with.
//
// Design decision: kept out of setup.js's seed so the tenant's apps and these
// platform identities can change independently; setup.js calls ensure() and
// env() and offers `federated-token`.

const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');

// The issuer is an identifier (the sandbox has no DNS): Entra fetches an
// issuer's keys from its discovery document; the emulator holds this one's.
const ISSUER = 'https://oidc.mgdcsandbox.invalid/';
const SUBJECT = 'system:serviceaccount:mgdc:mgdcfs';
const AUDIENCE = 'api://AzureADTokenExchange';
const ID_HEADER_FILE = 'secrets/identity-header';
const ISSUER_KEY_FILE = 'secrets/oidc-issuer.key';

function newIdentity(seed, name, userAssigned) {
  const clientId = crypto.randomUUID();
  return {
    name,
    clientId, // the token's appid
    principalId: crypto.randomUUID(), // its service principal: the token's oid
    resourceId: userAssigned
      ? `/subscriptions/${seed.subscriptionId}/resourceGroups/${seed.resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`
      : `/subscriptions/${seed.subscriptionId}/resourceGroups/${seed.resourceGroup}/providers/Microsoft.Compute/virtualMachines/${name}`,
    userAssigned,
  };
}

function writeSecret(file, text) {
  if (fs.existsSync(file)) return;
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/**
 * ensure(dir, seed) - add what is missing to `seed` (mutated; the caller
 * writes it) and to the state dir: the managed identities, the federated
 * credential of the developer app, the issuer's key and App Service's
 * IDENTITY_HEADER value.
 */
function ensure(dir, seed) {
  if (!seed.managedIdentities) {
    seed.managedIdentities = {
      vm: newIdentity(seed, 'mgdc-sandbox-vm', false),
      uami: newIdentity(seed, 'mgdc-sandbox-uami', true),
    };
  }
  if (!seed.federatedCredentials) {
    seed.federatedCredentials = [{
      who: 'developer', name: 'mgdcfs-on-aks', issuer: ISSUER, subject: SUBJECT, audiences: [AUDIENCE],
    }];
  }
  writeSecret(path.join(dir, ISSUER_KEY_FILE), crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
    .privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeSecret(path.join(dir, ID_HEADER_FILE), `${crypto.randomBytes(24).toString('hex')}\n`);
  return seed;
}

/** config(dir, seed) - what the emulator needs: the identities, the credentials, the keys. */
function config(dir, seed) {
  const read = (rel) => {
    try {
      return fs.readFileSync(path.join(dir, rel), 'utf8').trim();
    } catch {
      return null;
    }
  };
  return {
    managedIdentities: seed.managedIdentities || {},
    federatedCredentials: seed.federatedCredentials || [],
    issuerKeyPem: read(ISSUER_KEY_FILE),
    identityHeader: read(ID_HEADER_FILE),
  };
}

const b64u = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

/**
 * federatedToken(dir, {subject, audience, lifetimeS, issuer}) - a token of
 * the sandbox's OIDC issuer, as a workload's platform would write into
 * AZURE_FEDERATED_TOKEN_FILE (RS256, kid of the issuer key).
 */
function federatedToken(dir, opts = {}) {
  const pem = fs.readFileSync(path.join(dir, ISSUER_KEY_FILE), 'utf8');
  const key = crypto.createPrivateKey(pem);
  const der = crypto.createPublicKey(key).export({ type: 'spki', format: 'der' });
  const kid = crypto.createHash('sha256').update(der).digest('base64url').slice(0, 27);
  const now = Math.floor(Date.now() / 1000);
  const life = Number.isFinite(opts.lifetimeS) ? opts.lifetimeS : 3600;
  const claims = {
    iss: opts.issuer || ISSUER, sub: opts.subject || SUBJECT, aud: [opts.audience || AUDIENCE],
    iat: now, nbf: now, exp: now + life, jti: crypto.randomUUID(),
  };
  const input = `${b64u({ alg: 'RS256', typ: 'JWT', kid })}.${b64u(claims)}`;
  return `${input}.${crypto.sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

/** env(dir, seed, identityPort) - the NAME=value pairs `scripts/sandbox env` adds. */
function env(dir, seed, identityPort) {
  const mi = seed.managedIdentities || {};
  const out = {
    MGDC_IMDS_URL: `http://127.0.0.1:${identityPort}`,
    MGDC_APPSERVICE_ENDPOINT: `http://127.0.0.1:${identityPort}/msi/token`,
    MGDC_APPSERVICE_HEADER_FILE: path.join(dir, ID_HEADER_FILE),
    MGDC_FEDERATED_SUBJECT: SUBJECT,
    MGDC_AZ_STANDIN: path.resolve(__dirname, 'bin'),
  };
  if (mi.vm) out.MGDC_MI_SYSTEM_CLIENT_ID = mi.vm.clientId;
  if (mi.uami) {
    out.MGDC_MI_CLIENT_ID = mi.uami.clientId;
    out.MGDC_MI_OBJECT_ID = mi.uami.principalId;
    out.MGDC_MI_RESOURCE_ID = mi.uami.resourceId;
  }
  return out;
}

module.exports = { ensure, config, federatedToken, env, ISSUER, SUBJECT, AUDIENCE };
