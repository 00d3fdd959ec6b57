'use strict';
// The control-plane emulator: one HTTPS server on loopback serving login,
// Graph, ARM (ADF), Synapse, Microsoft Fabric, the registration contract and /_faults under path
// prefixes (see the shared agreements in man/mgdc-sandbox.7).
//
// Design decision: every service is a module under lib/ that registers its
// routes with lib/http.js when it is required; this file only loads them,
// owns the TLS server and its lifecycle, and puts the fault hook in front of
// every request. Service modules of the other half of the sandbox are
// optional, so each half can land and be tested on its own.
//
//   node emulator/main.js --state DIR [--port N] [--blob-proxy-port M] [--identity-port K]
//   (0 picks a free port; without --port, the ports of sandbox.json)

const fs = require('node:fs');
const path = require('node:path');
const https = require('node:https');
const state = require('./lib/state');
const { dispatch, listen } = require('./lib/http');

// Modules whose absence is an error, then the optional ones.
const SERVICES = ['./lib/tokens', './lib/graph', './lib/faults'];
const OPTIONAL = ['./lib/registration', './lib/adf', './lib/synapse', './lib/accounts', './lib/rbac', './lib/fabric'];

function loadServices() {
  const loaded = [];
  for (const m of SERVICES) {
    require(m);
    loaded.push(path.basename(m));
  }
  for (const m of OPTIONAL) {
    let file;
    try {
      file = require.resolve(m);
    } catch {
      continue; // not written yet
    }
    require(file);
    loaded.push(path.basename(m));
  }
  return loaded;
}

/**
 * start({stateDir, port, host, env, blobProxyPort}) - initialise the state
 * from `stateDir`, load every service and listen; with `blobProxyPort` (0 =
 * any free port) also run the fault-injecting proxy in front of Azurite.
 * Resolves to {server, port, url, services, blobProxy, stop()}; `stop()`
 * closes the servers and every connection and writes pending state. Only
 * one emulator may run in a process (the state is a module singleton).
 */
async function start({ stateDir, port = 0, host = '127.0.0.1', env = process.env, blobProxyPort, identityPort }) {
  state.init({ stateDir, env });
  const services = loadServices();
  const faults = require('./lib/faults');
  faults.init();
  require('./lib/tokens').reset();
  const server = https.createServer({
    cert: fs.readFileSync(state.config.serverCertFile),
    key: fs.readFileSync(state.config.serverKeyFile),
    keepAlive: true,
    requestTimeout: 120000,
  }, (req, res) => dispatch(req, res, { before: faults.before }));
  // HTTP keep-alive well beyond a client's idle pooling, so connection reuse
  // in mgdcfs is exercised (node's default closes idle sockets after 5 s).
  server.keepAliveTimeout = 30000;
  const actual = await listen(server, port, host);
  let blobProxy = null;
  state.blobProxyUrl = null;
  if (Number.isInteger(blobProxyPort)) {
    try {
      blobProxy = await require('./lib/blobproxy').start({ port: blobProxyPort, host });
    } catch (e) {
      server.close();
      throw e;
    }
  }
  // IMDS and App Service's identity endpoint: plain HTTP, as the real ones.
  let identity = null;
  if (Number.isInteger(identityPort)) {
    try {
      identity = await require('./lib/identity').startServer({ port: identityPort, host });
    } catch (e) {
      server.close();
      if (blobProxy) await blobProxy.stop();
      throw e;
    }
  }
  const stop = async () => {
    const closed = new Promise((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    if (blobProxy) await blobProxy.stop();
    if (identity) await identity.stop();
    state.flush();
    await closed;
  };
  return { server, port: actual, url: `https://127.0.0.1:${actual}`, services, blobProxy, identity, stop };
}

module.exports = { start };

function parseArgs(argv) {
  const out = { port: undefined, stateDir: undefined, blobProxyPort: undefined, identityPort: undefined };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--state') out.stateDir = argv[++i];
    else if (argv[i] === '--port') out.port = Number(argv[++i]);
    else if (argv[i] === '--blob-proxy-port') out.blobProxyPort = Number(argv[++i]);
    else if (argv[i] === '--identity-port') out.identityPort = Number(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!out.stateDir) throw new Error('usage: main.js --state DIR [--port N] [--blob-proxy-port M]');
  return out;
}

if (require.main === module) {
  (async () => {
    const args = parseArgs(process.argv.slice(2));
    const seeded = JSON.parse(fs.readFileSync(path.join(args.stateDir, 'sandbox.json'), 'utf8')).ports || {};
    const port = Number.isInteger(args.port) ? args.port : seeded.emulator;
    const blobProxyPort = Number.isInteger(args.blobProxyPort) ? args.blobProxyPort : seeded.blobProxy;
    const identityPort = Number.isInteger(args.identityPort) ? args.identityPort : seeded.identity;
    const emu = await start({ stateDir: args.stateDir, port, blobProxyPort, identityPort });
    console.log(`emulator: listening on ${emu.url} (services: ${emu.services.join(', ')})`);
    if (emu.blobProxy) console.log(`emulator: blob fault proxy on ${emu.blobProxy.url}`);
    if (emu.identity) console.log(`emulator: IMDS and App Service identity endpoints on ${emu.identity.url}`);
    const shutdown = async (sig) => {
      console.log(`emulator: ${sig}, stopping`);
      await emu.stop();
      process.exit(0);
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
  })().catch((e) => {
    console.error(`emulator: ${e.message}`);
    process.exit(1);
  });
}
