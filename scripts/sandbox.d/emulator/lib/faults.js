'use strict';
// Fault injection for tests: /_faults (loopback only, no token).
//
// Design decision: faults are rules matched against "METHOD /path" (no query
// string) by the dispatcher's `before` hook, so they apply to every service
// without the services knowing; each rule fires `count` times (unlimited
// when absent) and counts its hits. Latency delays the request, then lets it
// run; a status answers instead of the service, in that service's error
// shape; dropAfterBytes lets the service answer and cuts the connection
// after K bytes of the response body (the headers announce the full length).

const crypto = require('node:crypto');
const state = require('./state');
const tokens = require('./tokens');
const { HttpError, armError, graphError, route, send, parseJson } = require('./http');

const MAX_RULES = 100;
const MAX_LATENCY_MS = 120000;
const SETTINGS = ['runSeconds', 'tokenLifetimeS', 'dataUsers', 'dataRowsPerUser'];

let rules = [];
let nextId = 1;
let seeded = null; // settings as loaded, for reset

const bad = (m) => armError(400, 'InvalidFault', m);
const isLoopback = (req) => /^(127\.|::1$|::ffff:127\.)/.test(req.socket.remoteAddress || '');

function checkLoopback(ctx) {
  if (!isLoopback(ctx.req)) throw armError(403, 'Forbidden', '/_faults is served to loopback clients only.');
}

function intField(body, name, min, max) {
  const v = body[name];
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < min || v > max) throw bad(`'${name}' must be an integer from ${min} to ${max}.`);
  return v;
}

function addRule(body) {
  if (typeof body.route !== 'string' || body.route.length === 0 || body.route.length > 500) {
    throw bad("'route' must be a regular expression (1-500 characters) matched against 'METHOD /path'.");
  }
  let re;
  try {
    re = new RegExp(body.route);
  } catch (e) {
    throw bad(`'route' is not a valid regular expression: ${e.message}`);
  }
  const rule = {
    id: nextId++,
    route: body.route,
    status: intField(body, 'status', 200, 599),
    latencyMs: intField(body, 'latencyMs', 0, MAX_LATENCY_MS),
    dropAfterBytes: intField(body, 'dropAfterBytes', 0, 1 << 30),
    count: intField(body, 'count', 1, 1e9),
    hits: 0,
  };
  if (body.retryAfter !== undefined) {
    if (!['string', 'number'].includes(typeof body.retryAfter) || !/^[\x20-\x7e]{1,40}$/.test(String(body.retryAfter))) {
      throw bad("'retryAfter' must be a string or number (seconds or an HTTP date).");
    }
    rule.retryAfter = String(body.retryAfter);
  }
  if (body.body !== undefined) rule.body = body.body;
  if (rule.status === undefined && rule.latencyMs === undefined && rule.dropAfterBytes === undefined) {
    throw bad("A fault needs at least one of 'status', 'latencyMs' or 'dropAfterBytes'.");
  }
  if (rules.length >= MAX_RULES) throw bad(`At most ${MAX_RULES} rules; POST /_faults/reset first.`);
  rule.re = re;
  rules.push(rule);
  return rule;
}

const view = (r) => {
  const { re, ...rest } = r;
  return rest;
};

// Blob storage's XML error (blob-storage.md §5), for the blob proxy.
function blobError(status, h) {
  const code = { 500: 'InternalError', 503: 'ServerBusy', 429: 'ServerBusy' }[status] || 'InjectedFault';
  const body = '<?xml version="1.0" encoding="utf-8"?><Error><Code>' + code + '</Code><Message>Injected fault: HTTP '
    + status + `.\nRequestId:${crypto.randomUUID()}\nTime:${new Date().toISOString()}</Message></Error>`;
  return new HttpError(status, body, { ...h, 'content-type': 'application/xml', 'x-ms-error-code': code });
}

// The error body a service of that path would send for `status`.
function faultError(path, rule, service) {
  const h = rule.retryAfter !== undefined ? { 'retry-after': rule.retryAfter } : {};
  const status = rule.status;
  if (rule.body !== undefined) return new HttpError(status, rule.body, h);
  if (service === 'blob') return blobError(status, h);
  if (path.startsWith('/graph/')) {
    if (status === 429) {
      const e = graphError(429, 'TooManyRequests', 'Please retry again later.', h);
      e.body.error.innerError = { code: '429', date: new Date().toISOString().slice(0, 19),
        message: 'Please retry after', 'request-id': e.body.error.innerError['request-id'], status: '429' };
      return e;
    }
    return graphError(status, status >= 500 ? 'serviceNotAvailable' : 'generalException',
      `Injected fault: HTTP ${status}.`, h);
  }
  if (path.startsWith('/fabric/')) {
    // Fabric's ErrorResponse (mgdc-hosts(7), ERRORS): top-level, isRetriable.
    return new HttpError(status, {
      requestId: crypto.randomUUID(), errorCode: status === 429 ? 'RequestBlocked' : 'InjectedFault',
      message: `Injected fault: HTTP ${status}.`, isRetriable: status === 429 || status >= 500,
    }, h);
  }
  if (path.startsWith('/login/')) {
    return new HttpError(status, {
      error: 'temporarily_unavailable',
      error_description: `AADSTS90033: A transient error has occurred. Please try again. (injected HTTP ${status})`,
      error_codes: [90033],
    }, h);
  }
  const code = { 429: 'TooManyRequests', 500: 'InternalServerError', 502: 'BadGateway', 503: 'ServerBusy',
    504: 'GatewayTimeout' }[status] || 'InjectedFault';
  return armError(status, code, `Injected fault: HTTP ${status}.`, h);
}

// Let the service answer, but cut the connection after `limit` body bytes.
function truncateResponse(res, limit) {
  let sent = 0;
  let cut = false;
  const write = res.write.bind(res);
  const destroy = () => res.socket && res.socket.destroy();
  const take = (chunk, encoding) => {
    if (cut || chunk === undefined || chunk === null || typeof chunk === 'function') return;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8');
    const room = limit - sent;
    if (buf.length < room) {
      sent += buf.length;
      write(buf);
      return;
    }
    cut = true;
    if (room > 0) write(buf.subarray(0, room), () => setTimeout(destroy, 10));
    else {
      res.flushHeaders();
      setTimeout(destroy, 10);
    }
  };
  res.write = (chunk, encoding, cb) => {
    take(chunk, encoding);
    if (typeof cb === 'function') cb();
    else if (typeof encoding === 'function') encoding();
    return true;
  };
  res.end = (chunk, encoding) => {
    take(chunk, encoding);
    if (!cut) {
      cut = true;
      if (!res.headersSent) res.flushHeaders();
      setTimeout(destroy, 10);
    }
    return res;
  };
}

/**
 * before(req, res, url, service) - the dispatcher hook (and the blob
 * proxy's, with service 'blob'): applies the first matching rule that has
 * hits left. Returns true when the request was answered here.
 */
async function before(req, res, url, service) {
  if (url.pathname === '/_faults' || url.pathname.startsWith('/_faults/')) return false;
  const key = `${req.method} ${url.pathname}`;
  const rule = rules.find((r) => (r.count === undefined || r.hits < r.count) && r.re.test(key));
  if (!rule) return false;
  rule.hits++;
  if (rule.latencyMs) await new Promise((r) => setTimeout(r, rule.latencyMs));
  if (rule.status !== undefined) {
    req.resume();
    const e = faultError(url.pathname, rule, service);
    send(res, e.status, e.body, e.headers);
    return true;
  }
  if (rule.dropAfterBytes !== undefined) truncateResponse(res, rule.dropAfterBytes);
  return false;
}

function settings() {
  const out = {};
  for (const k of SETTINGS) out[k] = state.config[k];
  return out;
}

/** reset() - drop every rule, the clock offset and runtime settings. */
function reset() {
  rules = [];
  if (seeded && state.config) {
    for (const k of SETTINGS) {
      state.config[k] = seeded[k];
      state.config.options[k] = seeded[k];
    }
  }
  if (state.data.clockOffsetMs) {
    state.data.clockOffsetMs = 0;
    state.save();
  }
}

/** init() - remember the settings as loaded; called by main.js after state.init. */
function init() {
  rules = [];
  seeded = settings();
}

// The request's JSON object; anything else is a 400.
function jsonBody(ctx) {
  const b = parseJson(ctx.body, bad);
  if (!b || typeof b !== 'object' || Array.isArray(b)) throw bad('The body must be a JSON object.');
  return b;
}
const clockView = () => ({ now: state.date().toISOString(), offsetMs: state.data.clockOffsetMs || 0 });

// An admin route: loopback clients only, no token.
function admin(method, pattern, handler) {
  route(method, pattern, (ctx) => {
    checkLoopback(ctx);
    return handler(ctx);
  });
}

admin('GET', /^\/_faults\/?$/, () => ({ rules: rules.map(view), clock: clockView(), settings: settings(),
  tokenGeneration: state.data.tokenGeneration || 0, blobProxy: state.blobProxyUrl || null }));

admin('POST', /^\/_faults\/?$/, (ctx) => {
  send(ctx.res, 201, view(addRule(jsonBody(ctx))));
});

admin('DELETE', /^\/_faults\/?$/, (ctx) => {
  rules = [];
  send(ctx.res, 204);
});

admin('POST', /^\/_faults\/reset$/, (ctx) => {
  reset();
  send(ctx.res, 204);
});

admin('POST', /^\/_faults\/expire-tokens$/, () => {
  tokens.expireAll();
  return { tokenGeneration: state.data.tokenGeneration };
});

admin('GET', /^\/_faults\/clock$/, clockView);

admin('POST', /^\/_faults\/clock$/, (ctx) => {
  const b = jsonBody(ctx);
  const days = b.advanceDays === undefined ? 0 : b.advanceDays;
  const secs = b.advanceSeconds === undefined ? 0 : b.advanceSeconds;
  if (typeof days !== 'number' || typeof secs !== 'number' || !Number.isFinite(days) || !Number.isFinite(secs)
      || Math.abs(days) > 36500 || Math.abs(secs) > 36500 * 86400) {
    throw bad("'advanceDays' / 'advanceSeconds' must be numbers (at most 100 years).");
  }
  if (b.advanceDays === undefined && b.advanceSeconds === undefined) {
    throw bad("Give 'advanceDays' or 'advanceSeconds'.");
  }
  state.advanceClock(Math.round(days * 86400e3 + secs * 1e3));
  return clockView();
});

admin('GET', /^\/_faults\/settings$/, settings);

admin('POST', /^\/_faults\/settings$/, (ctx) => {
  const b = jsonBody(ctx);
  for (const k of Object.keys(b)) {
    if (!SETTINGS.includes(k)) throw bad(`Unknown setting '${k}'; known: ${SETTINGS.join(', ')}.`);
    if (typeof b[k] !== 'number' || !Number.isFinite(b[k]) || b[k] < 0 || b[k] > 1e7) {
      throw bad(`'${k}' must be a number from 0 to 10000000.`);
    }
  }
  for (const k of Object.keys(b)) {
    state.config[k] = b[k];
    state.config.options[k] = b[k];
  }
  return settings();
});

module.exports = { before, reset, init };
