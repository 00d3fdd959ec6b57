'use strict';
// A transparent HTTPS proxy in front of Azurite that the /_faults rules
// apply to, because Azurite itself never throttles, never stalls and never
// drops a connection (blob-storage.md §6.3).
//
// Design decision: the proxy listens on its own port and forwards the
// request line, headers and body unchanged, so a client signs exactly as it
// would for Azurite (Shared Key's canonical resource is the URL path; the
// host is not signed) and only swaps the port. Faults are matched against
// "METHOD /account/container/blob" and answer in Blob's XML error shape.

const crypto = require('node:crypto');
const fs = require('node:fs');
const https = require('node:https');
const state = require('./state');
const faults = require('./faults');
const { send, listen } = require('./http');

function badGateway(res, e) {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  send(res, 502, `<?xml version="1.0" encoding="utf-8"?><Error><Code>BadGateway</Code><Message>The sandbox blob proxy could not reach Azurite: ${e.code || e.message}</Message></Error>`,
    { 'content-type': 'application/xml', 'x-ms-error-code': 'BadGateway' });
}

async function forward(req, res, agent) {
  res.requestId = crypto.randomUUID(); // what send() puts in x-ms-request-id
  const url = new URL(req.url, 'https://127.0.0.1');
  try {
    if (await faults.before(req, res, url, 'blob')) return;
  } catch (e) {
    badGateway(res, e);
    return;
  }
  const up = https.request({
    host: '127.0.0.1', port: new URL(state.config.blobHost).port, method: req.method, path: req.url,
    headers: req.headers, agent,
  }, (ur) => {
    res.writeHead(ur.statusCode, ur.headers);
    ur.pipe(res);
    ur.on('error', () => res.destroy());
  });
  up.on('error', (e) => badGateway(res, e));
  res.on('close', () => up.destroy());
  req.pipe(up);
}

/**
 * start({port, host}) - listen with the sandbox's server certificate and
 * forward to Azurite. Resolves to {server, port, url, stop()}.
 */
async function start({ port = 0, host = '127.0.0.1' }) {
  const agent = new https.Agent({ keepAlive: true, ca: fs.readFileSync(state.config.caFile) });
  const server = https.createServer({
    cert: fs.readFileSync(state.config.serverCertFile),
    key: fs.readFileSync(state.config.serverKeyFile),
    keepAlive: true,
  }, (req, res) => forward(req, res, agent).catch((e) => {
    console.error('emulator: blob proxy failure:', e && e.stack ? e.stack : e);
    res.destroy();
  }));
  const actual = await listen(server, port, host);
  const url = `https://127.0.0.1:${actual}/${state.config.storageAccount}`;
  state.blobProxyUrl = url;
  const stop = () => new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
    agent.destroy();
  });
  return { server, port: actual, url, stop };
}

module.exports = { start };
