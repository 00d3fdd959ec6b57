'use strict';
// Routing and reply helpers shared by every service of the emulator.
// No framework: a route table of (method, RegExp) -> handler. A handler may
// return a value (sent as JSON 200), call reply helpers itself, or throw an
// HttpError whose body is already in the shape of the service it belongs to.

const crypto = require('node:crypto');

const MAX_BODY = 4 * 1024 * 1024; // requests larger than this get 413

class HttpError extends Error {
  constructor(status, body, headers = {}) {
    super(typeof body === 'string' ? body : JSON.stringify(body));
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

// Error bodies, one per service family.
const armError = (status, code, message, headers) =>
  new HttpError(status, { error: { code, message } }, headers);
const graphError = (status, code, message, headers) =>
  new HttpError(status, {
    error: {
      code, message,
      innerError: { 'request-id': crypto.randomUUID(), date: new Date().toISOString().slice(0, 19) },
    },
  }, headers);

const routes = [];
function route(method, pattern, handler) {
  routes.push({ method, pattern, handler });
}

function send(res, status, body, headers = {}) {
  if (res.headersSent) return;
  let data = body;
  const h = { 'x-ms-request-id': res.requestId, ...headers };
  if (body === undefined || body === null) {
    data = '';
  } else if (!Buffer.isBuffer(body) && typeof body !== 'string') {
    data = JSON.stringify(body);
    h['content-type'] = h['content-type'] || 'application/json; charset=utf-8';
  }
  h['content-length'] = Buffer.byteLength(data);
  res.writeHead(status, h);
  res.end(data);
}

function readBody(req, cap = MAX_BODY) {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] || 0);
    if (declared > cap) {
      reject(armError(413, 'RequestEntityTooLarge', `The request body is ${declared} bytes; the limit is ${cap}.`));
      req.resume();
      return;
    }
    const parts = [];
    let n = 0;
    req.on('data', (c) => {
      n += c.length;
      if (n > cap) {
        reject(armError(413, 'RequestEntityTooLarge', `The request body exceeds ${cap} bytes.`));
        req.destroy();
        return;
      }
      parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

// Parse a JSON body; `mkErr(message)` builds the service-specific error.
function parseJson(buf, mkErr = (m) => armError(400, 'InvalidRequestContent', m)) {
  if (!buf || buf.length === 0) throw mkErr('The request content was empty.');
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw mkErr(`The request content was invalid and could not be deserialized: ${e.message}`);
  }
}

// Dispatch one request. `before(req, res, url)` may handle it (faults) and
// return true. Unknown routes give 404 in ARM shape.
async function dispatch(req, res, hooks = {}) {
  res.requestId = crypto.randomUUID();
  const url = new URL(req.url, 'https://127.0.0.1');
  try {
    if (hooks.before && (await hooks.before(req, res, url))) return;
    const path = url.pathname;
    // Handlers percent-decode path segments; a malformed escape is the
    // client's error (400), not an unexpected failure.
    try {
      decodeURIComponent(path);
    } catch {
      const msg = `The request path '${path.slice(0, 200)}' is not validly percent-encoded.`;
      throw path.startsWith('/graph/') ? graphError(400, 'BadRequest', msg) : armError(400, 'InvalidUri', msg);
    }
    let methodMismatch = false;
    for (const r of routes) {
      const m = r.pattern.exec(path);
      if (!m) continue;
      if (r.method !== req.method && r.method !== '*') { methodMismatch = true; continue; }
      const body = await readBody(req);
      const ctx = { match: m, url, body, req, res };
      const out = await r.handler(ctx);
      if (out !== undefined) send(res, 200, out);
      return;
    }
    if (methodMismatch) throw armError(405, 'MethodNotAllowed', `The method ${req.method} is not allowed on ${path}.`);
    throw armError(404, 'NotFound', `No route for ${req.method} ${path}.`);
  } catch (e) {
    if (e instanceof HttpError) {
      send(res, e.status, e.body, e.headers);
    } else {
      console.error('emulator: unexpected failure:', e && e.stack ? e.stack : e);
      send(res, 500, { error: { code: 'InternalServerError', message: 'An unexpected error occurred.' } });
    }
  }
}

// Listen on host:port; resolves once listening, rejects on EADDRINUSE etc.
function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      resolve(server.address().port);
    });
  });
}

// Entra's timestamp form in error descriptions: '2024-01-01 12:00:00Z'.
const isoSecond = (d) => d.toISOString().replace('T', ' ').slice(0, 19) + 'Z';

// The error body of Entra's token endpoint (mgdc-control-plane.md §8.3), with
// its trace ids; used by the token endpoint and the identity endpoints.
function aadError(status, error, code, text, extra = {}) {
  const trace = crypto.randomUUID();
  const corr = crypto.randomUUID();
  const ts = isoSecond(new Date());
  return new HttpError(status, {
    error,
    error_description: `AADSTS${code}: ${text} Trace ID: ${trace} Correlation ID: ${corr} Timestamp: ${ts}`,
    error_codes: [code],
    timestamp: ts,
    trace_id: trace,
    correlation_id: corr,
    error_uri: `https://login.microsoftonline.com/error?code=${code}`,
    ...extra,
  }, { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' });
}

module.exports = { listen, HttpError, aadError, armError, graphError, route, routes, send, readBody, parseJson, dispatch, isoSecond, MAX_BODY };
