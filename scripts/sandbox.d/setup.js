'use strict';
// Seeding and configuration of a sandbox state directory, shared by the
// `scripts/sandbox` command (through the CLI at the bottom) and by the node
// test helpers, so both build exactly the same tenant.
//
// Design decision: everything is generated once and then only read. A second
// `seed` keeps every id, secret and certificate it finds and only fills in
// what is missing, so mgdcfs configs, caches and Azurite data stay valid
// across `down`/`up`. Ports are not part of the seed: `ports` rewrites them
// (and the URLs derived from them) on every start. Certificates come from the
// openssl command line because node has no API to issue X.509 certificates.

const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const https = require('node:https');
const { execFileSync } = require('node:child_process');

const DOMAIN = 'mgdcsandbox.onmicrosoft.com';
const STORAGE_ACCOUNT = 'mgdcsandbox';
// The sandbox's Synapse workspace (lib/synapse.js serves it under /synapse/<name>).
const SYNAPSE_WORKSPACE = 'mgdc-sandbox-syn';
// The Azurite account standing in for OneLake (real OneLake's account is
// always "onelake"); its containers are Fabric workspaces.
const ONELAKE_ACCOUNT = 'onelake';
const GLOBAL_ADMIN_ROLE = '62e90394-69f5-4237-9190-012177145e10';
const DEFAULT_PORTS = { emulator: 10443, blob: 10000, blobProxy: 10444 };
const DEFAULT_OPTIONS = {
  tokenLifetimeS: 3599, // what Entra answers for client credentials
  runSeconds: 6, // how long a pipeline run stays Queued/InProgress
  dataUsers: 25, // synthetic mailboxes the copy engine writes rows for
  dataRowsPerUser: 20,
  countryLetterCode: 'US',
  officeRegion: 'North America',
  lroMs: 1500, // how long a Microsoft.GraphServices/accounts PUT stays InProgress
  portalOnly: false, // `up --portal-only`: no registration contract, as on a real tenant
};
// Application permissions on Microsoft Graph an admin granted each identity
// (the token's roles claim). The reader has no Directory.Read.All, so the
// sandbox has an app whose /organization read is refused (403).
const GRAPH_ROLES = {
  developer: ['Directory.Read.All', 'Application.Read.All'],
  admin: ['Directory.Read.All', 'Application.Read.All'],
  reader: ['Application.Read.All'],
};
// Applications listed by Graph besides the two identities, so that paging
// ($top, @odata.nextLink) has something to page through.
const EXTRA_APPS = [
  'Contoso HR Analytics', 'Fabrikam Mail Insights', 'Northwind Teams Reports',
  'Tailspin Calendar Sync', 'Woodgrove Compliance Export', 'Litware Viva Dashboards',
  'Adatum Collaboration Graph', 'Proseware SharePoint Audit',
];

const sandboxJson = (dir) => path.join(dir, 'sandbox.json');

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

// Write through a temporary file and rename, so a reader never sees half a
// file and a crash never leaves an empty one.
function writeAtomic(file, text, mode = 0o644) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode });
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}

function writeJson(file, obj, mode) {
  writeAtomic(file, `${JSON.stringify(obj, null, 2)}\n`, mode);
}

function openssl(args) {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function mkdirPrivate(dir) {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
}

// A secret in the shape of an Entra client secret value (40 characters,
// `~` in the fourth place), so length checks in clients behave as in Azure.
function clientSecret() {
  const s = crypto.randomBytes(30).toString('base64url').replace(/[-_]/g, 'x');
  return `${s.slice(0, 3)}8Q~${s.slice(0, 36)}`.slice(0, 40);
}

function ensureFile(file, make, mode) {
  if (fs.existsSync(file)) return;
  writeAtomic(file, make(), mode);
}

// Names the server certificate covers. Besides loopback's address and
// `localhost` (which libcurl resolves itself, never through DNS or
// /etc/hosts), the reserved test domain mgdc.test and one level below it, so
// tests can give each endpoint a name of its own (login.mgdc.test,
// blob.mgdc.test) that /etc/hosts or a test's DNS can take away and give back.
const SERVER_NAMES = ['IP:127.0.0.1', 'DNS:localhost', 'DNS:mgdc.test', 'DNS:*.mgdc.test'];

// Does the certificate in `file` cover every name in SERVER_NAMES?
function coversNames(file) {
  try {
    const alt = new crypto.X509Certificate(fs.readFileSync(file)).subjectAltName || '';
    const have = new Set(alt.split(/,\s*/).map((n) => n.replace(/^IP Address:/, 'IP:')));
    return SERVER_NAMES.every((n) => have.has(n));
  } catch (e) {
    return false;
  }
}

function ensureTls(dir) {
  const tls = path.join(dir, 'tls');
  mkdirPrivate(tls);
  const ca = path.join(tls, 'ca.pem');
  const caKey = path.join(tls, 'ca.key');
  const cert = path.join(tls, 'server.pem');
  const key = path.join(tls, 'server.key');
  if (!fs.existsSync(ca) || !fs.existsSync(caKey)) {
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', caKey, '-out', ca, '-days', '3650', '-subj', '/O=mgdcfs sandbox/CN=mgdcfs sandbox CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    fs.rmSync(cert, { force: true });
  }
  // A state dir seeded before the names were added gets a new server
  // certificate from the same CA (configs that trust the CA keep working).
  if (fs.existsSync(cert) && !coversNames(cert)) fs.rmSync(cert, { force: true });
  if (!fs.existsSync(cert) || !fs.existsSync(key)) {
    const csr = path.join(tls, 'server.csr');
    const ext = path.join(tls, 'server.ext');
    fs.writeFileSync(ext, `subjectAltName=${SERVER_NAMES.join(',')}\nbasicConstraints=CA:FALSE\n`
      + 'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n');
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', csr, '-subj', '/O=mgdcfs sandbox/CN=localhost']);
    openssl(['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-set_serial',
      `0x${crypto.randomBytes(8).toString('hex')}`, '-days', '825', '-out', cert, '-extfile', ext]);
    fs.rmSync(csr, { force: true });
    fs.rmSync(ext, { force: true });
  }
  for (const f of [caKey, key]) fs.chmodSync(f, 0o600);
}

// The developer's certificate credential (the Entra app's "Certificates &
// secrets" entry) and the emulator's own token-signing key.
function ensureKeys(dir, seed) {
  const secrets = path.join(dir, 'secrets');
  mkdirPrivate(secrets);
  const rsaPem = () => crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
    .privateKey.export({ type: 'pkcs8', format: 'pem' });
  ensureFile(path.join(secrets, 'token-signing.key'), rsaPem, 0o600);
  const devKey = path.join(secrets, 'developer.key');
  const devCert = path.join(dir, 'developer.pem');
  if (!fs.existsSync(devKey) || !fs.existsSync(devCert)) {
    writeAtomic(devKey, rsaPem(), 0o600);
    openssl(['req', '-x509', '-key', devKey, '-out', devCert, '-days', '730',
      '-subj', `/CN=${seed.identities.developer.displayName}`]);
  }
  for (const who of Object.keys(seed.identities)) {
    ensureFile(path.join(secrets, `${who}.secret`), clientSecret, 0o600);
  }
  ensureFile(path.join(secrets, 'storage.key'), () => crypto.randomBytes(64).toString('base64'), 0o600);
}

function newApp(displayName, createdDaysAgo) {
  return {
    appId: crypto.randomUUID(),
    id: crypto.randomUUID(), // the application object
    spId: crypto.randomUUID(), // its service principal (the token's oid)
    displayName,
    createdDateTime: new Date(Date.now() - createdDaysAgo * 86400e3).toISOString().slice(0, 19) + 'Z',
  };
}

function readerIdentity() {
  return { ...newApp('MGDC Sandbox Reader', 20), upn: `reader@${DOMAIN}`, userDisplayName: 'Riley Reader', roles: [],
    graphRoles: GRAPH_ROLES.reader, secretFile: 'secrets/reader.secret' };
}

// The Fabric tenant of the sandbox: one workspace with one lakehouse, ids
// derived from the tenant so they are fixed for the life of the seed.
function fabricSeed(tenantId) {
  const g = (what) => {
    const h = crypto.createHash('sha256').update(`${tenantId}:fabric:${what}`).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  };
  return { workspaceId: g('workspace'), workspaceName: 'MGDC Sandbox', lakehouseId: g('lakehouse'),
    lakehouseName: 'mgdc_lakehouse', oneLakeAccount: ONELAKE_ACCOUNT };
}

function newSeed() {
  const dev = newApp('MGDC Sandbox Developer App', 30);
  const adm = newApp('MGDC Sandbox Admin Tools', 60);
  return {
    version: 1,
    tenantId: crypto.randomUUID(),
    tenantDomain: DOMAIN,
    tenantDisplayName: 'MGDC Sandbox Tenant',
    subscriptionId: crypto.randomUUID(),
    resourceGroup: 'mgdc-sandbox-rg',
    factory: 'mgdc-sandbox-adf',
    synapseWorkspace: SYNAPSE_WORKSPACE,
    location: 'eastus',
    storageAccount: STORAGE_ACCOUNT,
    identities: {
      developer: { ...dev, upn: `developer@${DOMAIN}`, userDisplayName: 'Dana Developer', roles: [],
        graphRoles: GRAPH_ROLES.developer,
        secretFile: 'secrets/developer.secret', certFile: 'developer.pem', keyFile: 'secrets/developer.key' },
      admin: { ...adm, upn: `admin@${DOMAIN}`, userDisplayName: 'Avery Admin', roles: [GLOBAL_ADMIN_ROLE],
        graphRoles: GRAPH_ROLES.admin, secretFile: 'secrets/admin.secret' },
      reader: readerIdentity(),
    },
    applications: EXTRA_APPS.map((n, i) => newApp(n, 90 + 7 * i)),
    files: {
      ca: 'tls/ca.pem', serverCert: 'tls/server.pem', serverKey: 'tls/server.key',
      signingKey: 'secrets/token-signing.key', storageKey: 'secrets/storage.key',
    },
    ports: { ...DEFAULT_PORTS },
    options: { ...DEFAULT_OPTIONS },
  };
}

/**
 * seed(dir) - create the state directory and everything in it that is
 * missing; keep what exists. Returns the parsed sandbox.json. Throws on I/O
 * or openssl failure (the caller reports it).
 */
function seed(dir) {
  mkdirPrivate(dir);
  let s;
  if (fs.existsSync(sandboxJson(dir))) {
    s = readJson(sandboxJson(dir));
    s.options = { ...DEFAULT_OPTIONS, ...(s.options || {}) };
    // Seeds from before the reader identity and the graphRoles field.
    if (!s.identities.reader) s.identities.reader = readerIdentity();
    for (const [who, id] of Object.entries(s.identities)) if (!id.graphRoles) id.graphRoles = GRAPH_ROLES[who] || [];
  } else {
    s = newSeed();
  }
  if (!s.fabric) s.fabric = fabricSeed(s.tenantId);
  ensureTls(dir);
  ensureKeys(dir, s);
  require('./identities').ensure(dir, s);
  writeJson(sandboxJson(dir), s);
  return s;
}

/** urls(seed) - the service base URLs for the ports recorded in the seed. */
function urls(s) {
  const e = `https://127.0.0.1:${s.ports.emulator}`;
  return {
    emulator: e,
    login: `${e}/login`,
    graph: `${e}/graph`,
    arm: `${e}/arm`,
    registration: `${e}/mgdc`,
    synapse: `${e}/synapse/${s.synapseWorkspace || SYNAPSE_WORKSPACE}`,
    faults: `${e}/_faults`,
    blobHost: `https://127.0.0.1:${s.ports.blob}`,
    blob: `https://127.0.0.1:${s.ports.blob}/${s.storageAccount}`,
    // The same account through the emulator's fault-injecting proxy.
    blobProxy: `https://127.0.0.1:${s.ports.blobProxy || s.ports.emulator + 1}/${s.storageAccount}`,
    fabric: `${e}/fabric/v1`,
    // The OneLake stand-in: an Azurite account whose containers are workspaces.
    onelake: `https://127.0.0.1:${s.ports.blob}/${(s.fabric || {}).oneLakeAccount || ONELAKE_ACCOUNT}`,
  };
}

/** setPorts(dir, {emulator, blob, blobProxy}) - record the ports this start uses. */
function setPorts(dir, ports) {
  const s = readJson(sandboxJson(dir));
  s.ports = { ...s.ports, ...ports };
  writeJson(sandboxJson(dir), s);
  return s;
}

const abs = (dir, rel) => path.resolve(dir, rel);

/*
 * A profile whose pipelines run in the sandbox's Synapse workspace: the
 * developer's or admin's profile with "pipelines" naming host synapse and the
 * emulator's endpoint (no factory keys: they belong to host adf).
 */
function synapseProfile(dir, s, who) {
  const p = profile(dir, s, who, false);
  delete p.factory;
  p.pipelines = { host: 'synapse', workspace: s.synapseWorkspace || SYNAPSE_WORKSPACE, endpoint: urls(s).synapse };
  p.cache.dir = path.join(abs(dir, 'cache'), `${who}-synapse`);
  return p;
}

// profile(dir, s, who, cert, md5): the profile of identity `who`. Its cache
// has the product's defaults for a real tenant (8 MiB chunks: whole-chunk GETs
// carry no Content-MD5, TLS guards them); with md5, 4 MiB chunks, so every
// range is requested with x-ms-range-get-content-md5 and checked (the tests of
// that path use it; Azurite computes those MD5s in JavaScript, at about half
// the read speed).
function profile(dir, s, who, cert, md5) {
  const id = s.identities[who];
  const u = urls(s);
  const p = { tenant_id: s.tenantId, client_id: id.appId };
  if (cert) {
    Object.assign(p, { client_certificate_file: abs(dir, id.certFile),
      client_key_file: abs(dir, id.keyFile), assertion_alg: 'PS256' });
  } else {
    p.client_secret_file = abs(dir, id.secretFile);
  }
  const name = cert ? `${who}-cert` : md5 ? `${who}-md5` : who;
  // A portal-only sandbox is configured as a real tenant is: no
  // registration endpoint.
  const portalOnly = !!(s.options && s.options.portalOnly);
  const endpoints = { login: u.login, graph: u.graph, arm: u.arm, registration: u.registration, blob: u.blob };
  if (portalOnly) delete endpoints.registration;
  return Object.assign(p, {
    subscription_id: s.subscriptionId,
    resource_group: s.resourceGroup,
    factory: s.factory,
    storage: { account: s.storageAccount, auth: 'shared_key', key_file: abs(dir, s.files.storageKey) },
    endpoints,
    ...(portalOnly ? {} : { registration_scope: 'api://mgdc-registration/.default' }),
    ca_file: abs(dir, s.files.ca),
    cache: { dir: path.join(abs(dir, 'cache'), name), budget_mb: 512, ...(md5 ? { chunk_kb: 4096 } : {}) },
    ttl: { metadata_s: 10, status_s: 2, listing_s: 30 },
    timeouts: { connect_ms: 3000, io_s: 10, retries: 4, deadline_ms: 30000 },
  });
}

/*
 * fabricProfile - `who`'s profile with its pipelines on the sandbox's
 * Fabric workspace and lakehouse (the "pipelines" key of issue 13).
 */
function fabricProfile(dir, s, who) {
  const u = urls(s);
  return Object.assign(profile(dir, s, who, false), {
    cache: { dir: path.join(abs(dir, 'cache'), `${who}-fabric`), budget_mb: 512, chunk_kb: 4096 },
    pipelines: { host: 'fabric', workspace: s.fabric.workspaceId, lakehouse: s.fabric.lakehouseName,
      endpoint: u.fabric, onelake_url: u.onelake },
  });
}

/** mgdcfsConfig(dir) - write <dir>/mgdcfs.json for the current ports. */
function mgdcfsConfig(dir) {
  const s = readJson(sandboxJson(dir));
  const cfg = {
    default_profile: 'developer',
    profiles: {
      developer: profile(dir, s, 'developer', false),
      admin: profile(dir, s, 'admin', false),
      'developer-cert': profile(dir, s, 'developer', true),
      'developer-md5': profile(dir, s, 'developer', false, true),
      reader: profile(dir, s, 'reader', false),
      'developer-synapse': synapseProfile(dir, s, 'developer'),
      'admin-synapse': synapseProfile(dir, s, 'admin'),
      'developer-fabric': fabricProfile(dir, s, 'developer'),
      'admin-fabric': fabricProfile(dir, s, 'admin'),
    },
  };
  writeJson(path.join(dir, 'mgdcfs.json'), cfg, 0o600);
  return cfg;
}

/** env(dir) - the NAME=value pairs `scripts/sandbox env` prints. */
function env(dir) {
  const s = readJson(sandboxJson(dir));
  const u = urls(s);
  return {
    MGDC_SANDBOX_CA: abs(dir, s.files.ca),
    MGDC_LOGIN_URL: u.login,
    MGDC_GRAPH_URL: u.graph,
    MGDC_ARM_URL: u.arm,
    MGDC_REGISTRATION_URL: u.registration,
    MGDC_BLOB_URL: u.blob,
    MGDC_TENANT_ID: s.tenantId,
    MGDC_SUBSCRIPTION_ID: s.subscriptionId,
    MGDC_RESOURCE_GROUP: s.resourceGroup,
    MGDC_FACTORY: s.factory,
    MGDC_SYNAPSE_WORKSPACE: s.synapseWorkspace || SYNAPSE_WORKSPACE,
    MGDC_SYNAPSE_URL: u.synapse,
    MGDC_STORAGE_ACCOUNT: s.storageAccount,
    MGDC_STORAGE_KEY_FILE: abs(dir, s.files.storageKey),
    MGDC_DEV_CLIENT_ID: s.identities.developer.appId,
    MGDC_DEV_CLIENT_SECRET_FILE: abs(dir, s.identities.developer.secretFile),
    MGDC_DEV_CERT_FILE: abs(dir, s.identities.developer.certFile),
    MGDC_DEV_KEY_FILE: abs(dir, s.identities.developer.keyFile),
    MGDC_ADMIN_CLIENT_ID: s.identities.admin.appId,
    MGDC_ADMIN_CLIENT_SECRET_FILE: abs(dir, s.identities.admin.secretFile),
    MGDC_READER_CLIENT_ID: s.identities.reader.appId,
    MGDC_READER_CLIENT_SECRET_FILE: abs(dir, s.identities.reader.secretFile),
    MGDC_PORTAL_ONLY: s.options && s.options.portalOnly ? '1' : '0',
    MGDC_CONFIG: path.join(dir, 'mgdcfs.json'),
    MGDC_FAULTS_URL: u.faults,
    MGDC_FABRIC_URL: u.fabric,
    MGDC_FABRIC_WORKSPACE_ID: s.fabric.workspaceId,
    MGDC_FABRIC_LAKEHOUSE_ID: s.fabric.lakehouseId,
    MGDC_FABRIC_LAKEHOUSE: s.fabric.lakehouseName,
    MGDC_ONELAKE_URL: u.onelake,
    MGDC_ONELAKE_ACCOUNT: s.fabric.oneLakeAccount,
    ...require('./identities').env(dir, s, s.ports.identity || s.ports.emulator + 2),
  };
}

// Single-quote for a POSIX shell.
const shq = (v) => `'${String(v).replace(/'/g, `'\\''`)}'`;

/**
 * containerSas(seed, key, container, hours) - a service SAS (sr=c, sp=rl)
 * for `container`, signed with the account key. Returns the query string.
 */
function containerSas(s, key, container, hours = 24) {
  const sv = '2021-08-06';
  const fmt = (d) => d.toISOString().slice(0, 19) + 'Z';
  const st = fmt(new Date(Date.now() - 5 * 60e3));
  const se = fmt(new Date(Date.now() + hours * 3600e3));
  const canonical = `/blob/${s.storageAccount}/${container}`;
  // Field order of a service SAS for sv >= 2020-12-06 (blob-storage.md §2.1).
  const sts = ['rl', st, se, canonical, '', '', 'https', sv, 'c', '', '', '', '', '', '', ''].join('\n');
  const sig = crypto.createHmac('sha256', Buffer.from(key, 'base64')).update(sts, 'utf8').digest('base64');
  const q = new URLSearchParams({ sv, sr: 'c', sp: 'rl', st, se, spr: 'https', sig });
  return q.toString();
}

// Shared Key signature of a request to Azurite (blob-storage.md §1.1/§1.2:
// path-style URLs name the account twice in the canonicalized resource).
function sharedKeyHeader(s, key, method, urlPath, query, headers) {
  const canonHeaders = Object.keys(headers).filter((h) => h.startsWith('x-ms-')).sort()
    .map((h) => `${h}:${headers[h]}`).join('\n');
  const canonQuery = [...query.entries()].sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `\n${k.toLowerCase()}:${v}`).join('');
  const sts = [method, '', '', headers['content-length'] || '', '', headers['content-type'] || '',
    '', '', '', '', '', '', canonHeaders, `/${s.storageAccount}${urlPath}${canonQuery}`].join('\n');
  const sig = crypto.createHmac('sha256', Buffer.from(key, 'base64')).update(sts, 'utf8').digest('base64');
  return `SharedKey ${s.storageAccount}:${sig}`;
}

/**
 * createContainer(dir, name, account) - create a blob container in the
 * sandbox's Azurite (in `account`, default the storage account; the OneLake
 * stand-in shares its key) with Shared Key auth. Resolves to the HTTP status (201 created,
 * 409 already there); rejects on a transport error or another status.
 */
function createContainer(dir, name, account) {
  const s = readJson(sandboxJson(dir));
  const key = fs.readFileSync(abs(dir, s.files.storageKey), 'utf8').trim();
  const acct = account || s.storageAccount;
  const u = new URL(`https://127.0.0.1:${s.ports.blob}/${acct}/${name}?restype=container`);
  const headers = { 'x-ms-date': new Date().toUTCString(), 'x-ms-version': '2021-08-06', 'content-length': '0' };
  headers.authorization = sharedKeyHeader({ ...s, storageAccount: acct }, key, 'PUT', u.pathname, u.searchParams,
    { ...headers, 'content-length': '' });
  return new Promise((resolve, reject) => {
    const req = https.request(u, { method: 'PUT', headers, ca: fs.readFileSync(abs(dir, s.files.ca)) }, (res) => {
      res.resume();
      if (res.statusCode === 201 || res.statusCode === 409) resolve(res.statusCode);
      else reject(new Error(`creating container ${name}: HTTP ${res.statusCode}`));
    });
    req.on('error', reject);
    req.end();
  });
}

/** setMode(dir, portalOnly) - record whether the sandbox runs portal-only. */
function setMode(dir, portalOnly) {
  const s = readJson(sandboxJson(dir));
  s.options = { ...DEFAULT_OPTIONS, ...(s.options || {}), portalOnly: !!portalOnly };
  writeJson(sandboxJson(dir), s);
  return s;
}

// One request to the emulator's /_portal; resolves {status, body}.
function portalRequest(dir, method, p, payload) {
  const s = readJson(sandboxJson(dir));
  const u = new URL(`${urls(s).emulator}/_portal${p}`);
  const data = payload === undefined ? null : Buffer.from(JSON.stringify(payload));
  const headers = data ? { 'content-type': 'application/json', 'content-length': data.length } : {};
  return new Promise((resolve, reject) => {
    const req = https.request(u, { method, headers, ca: fs.readFileSync(abs(dir, s.files.ca)) }, (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        let body = null;
        try { body = text ? JSON.parse(text) : null; } catch { body = { error: { code: 'InvalidReply', message: text.slice(0, 300) } }; }
        resolve({ status: res.statusCode, body });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

/*
 * portal(dir, args) - the portal and admin-center stand-in: register FILE
 * (a registration in the form apps/<name>.json takes, with its appId; the
 * name defaults to FILE's base name), approve APPID, decline APPID, delete
 * APPID, data-connect enabled|disabled. Resolves to the line to print;
 * rejects with the service's message when it refuses.
 */
async function portal(dir, [what, arg]) {
  let r;
  if (what === 'register') {
    if (!arg) throw new Error('usage: portal register FILE');
    const b = JSON.parse(fs.readFileSync(arg, 'utf8'));
    if (b && typeof b === 'object' && !Array.isArray(b) && b.name === undefined) b.name = path.basename(arg).replace(/\.json$/, '');
    r = await portalRequest(dir, 'POST', '/registrations', b);
  } else if (what === 'approve' || what === 'decline') {
    if (!arg) throw new Error(`usage: portal ${what} APPID`);
    r = await portalRequest(dir, 'POST', `/registrations/${encodeURIComponent(arg)}/${what}`);
  } else if (what === 'delete') {
    if (!arg) throw new Error('usage: portal delete APPID');
    r = await portalRequest(dir, 'DELETE', `/registrations/${encodeURIComponent(arg)}`);
  } else if (what === 'data-connect') {
    if (arg !== 'enabled' && arg !== 'disabled') throw new Error('usage: portal data-connect enabled|disabled');
    r = await portalRequest(dir, 'PUT', '/dataConnect', { enabled: arg === 'enabled' });
  } else {
    throw new Error('usage: portal register FILE | approve APPID | decline APPID | delete APPID | data-connect enabled|disabled');
  }
  if (r.status >= 400) {
    const e = (r.body && r.body.error) || {};
    throw new Error(`portal ${what}: ${e.code || r.status}: ${e.message || 'refused'}`);
  }
  const b = r.body || {};
  if (what === 'data-connect') return `Data Connect ${b.enabled ? 'enabled' : 'disabled'}`;
  if (what === 'delete') return `registration ${arg} deleted`;
  return `${b.name} (${b.appId}): ${(b.authorization && b.authorization.status) || 'registered'}`;
}

/*
 * azuriteAccounts(dir) - the AZURITE_ACCOUNTS value: the storage account
 * and the OneLake stand-in, both with the sandbox's storage key (the key
 * is the sandbox's own; OneLake itself has none and clients of it use
 * Storage-audience tokens).
 */
function azuriteAccounts(dir) {
  const s = readJson(sandboxJson(dir));
  const key = fs.readFileSync(abs(dir, s.files.storageKey), 'utf8').trim();
  return `${s.storageAccount}:${key};${(s.fabric || {}).oneLakeAccount || ONELAKE_ACCOUNT}:${key}`;
}

module.exports = {
  azuriteAccounts, seed, setPorts, setMode, urls, SERVER_NAMES, mgdcfsConfig, env, containerSas, createContainer, sharedKeyHeader,
  portal, GLOBAL_ADMIN_ROLE,
};

// CLI for scripts/sandbox. Only prints what the caller asked for; never a
// secret (the SAS is a credential the user asked for explicitly).
async function cli(argv) {
  const [cmd, dir, ...rest] = argv;
  if (!cmd || !dir) throw new Error('usage: setup.js seed|ports|config|env|sas|container DIR [args]');
  switch (cmd) {
    case 'seed': seed(dir); break;
    case 'ports': {
      const [emulator, blob, blobProxy, identity] = rest.map((v) => (v === '' ? NaN : Number(v)));
      setPorts(dir, { emulator, blob, ...(Number.isInteger(blobProxy) ? { blobProxy } : {}),
        ...(Number.isInteger(identity) ? { identity } : {}) });
      break;
    }
    case 'config': mgdcfsConfig(dir); break;
    case 'mode': setMode(dir, rest[0] === 'portal-only'); break;
    case 'portal': process.stdout.write(`${await portal(dir, rest)}\n`); break;
    case 'env':
      for (const [k, v] of Object.entries(env(dir))) process.stdout.write(`export ${k}=${shq(v)}\n`);
      break;
    case 'get': { // one field of sandbox.json by dotted path
      let v = readJson(sandboxJson(dir));
      for (const k of rest[0].split('.')) v = v == null ? v : v[k];
      process.stdout.write(`${v === undefined ? '' : v}\n`);
      break;
    }
    case 'sas': {
      const s = readJson(sandboxJson(dir));
      const key = fs.readFileSync(abs(dir, s.files.storageKey), 'utf8').trim();
      const c = rest[0];
      if (!/^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/.test(c || '')) throw new Error(`not a container name: ${c}`);
      process.stdout.write(`${urls(s).blob}/${c}?${containerSas(s, key, c, Number(rest[1] || 24))}\n`);
      break;
    }
    case 'container': await createContainer(dir, rest[0], rest[1]); break;
    case 'azurite-accounts': process.stdout.write(`${azuriteAccounts(dir)}\n`); break;
    case 'federated-token': { // [SUBJECT [AUDIENCE [LIFETIME_S]]]
      const [subject, audience, life] = rest;
      process.stdout.write(`${require('./identities').federatedToken(dir, {
        subject: subject || undefined, audience: audience || undefined,
        lifetimeS: life === undefined ? undefined : Number(life) })}\n`);
      break;
    }
    default: throw new Error(`unknown setup command ${cmd}`);
  }
}

if (require.main === module) {
  cli(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`sandbox: ${e.message}\n`);
    process.exit(1);
  });
}
