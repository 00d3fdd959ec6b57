'use strict';
// An Azure Synapse workspace's development endpoint, api-version 2020-12-01
// (mgdc-hosts(7), AZURE SYNAPSE), under /synapse/{workspace}: the sandbox's
// stand-in for https://{workspace}.dev.azuresynapse.net. Linked services,
// datasets, pipelines and triggers (PUT, GET, DELETE, list; triggers' start
// and stop), createRun, pipeline runs, queryPipelineRuns, queryActivityruns
// and cancel.
//
// Key decision: Synapse's resources and runs are ADF's (the same JSON), so
// this module reuses lib/adf.js's rules (names, references, secrets masked on
// the way out, run filters) and lib/copy.js's engine, consent checks included,
// on a store of the same shape kept beside the factory's; only what Synapse
// does differently lives here:
//  - the token's audience is https://dev.azuresynapse.net, and a token for
//    another audience gets Synapse's own 401 body ({"code", "message"} with
//    no "error" wrapper);
//  - artifact writes are asynchronous: PUT and DELETE answer 202 with
//    Location (/operationResults/{id}) and Retry-After, the write happens
//    when the operation completes, and the operation answers 202
//    {"status": "InProgress"} until then and 200 with the artifact (empty for
//    a delete) after;
//  - createRun answers 202, and the activity-runs path carries the pipeline.
// Requests are checked (name rules, references, the ADF 2018-06-01 OpenAPI
// definitions of the same operation) before the 202, so a refused write is
// refused at once with a 400, never half-done. The Synapse 2020-12-01 OpenAPI
// document itself is not in openapi/ (see mgdc-sandbox(7)).
//
// Emulator extension, as in adf.js: list and query routes accept `$top`.

const crypto = require('node:crypto');
const { route, routes, armError, send, parseJson, HttpError } = require('./http');
const state = require('./state');
const tokens = require('./tokens');
const openapi = require('./openapi');
const adf = require('./adf');

const API_VERSION = '2020-12-01';
const KINDS = {
  linkedservices: 'Microsoft.Synapse/workspaces/linkedservices',
  datasets: 'Microsoft.Synapse/workspaces/datasets',
  pipelines: 'Microsoft.Synapse/workspaces/pipelines',
};
const KIND_TYPE = { linkedservices: 'LinkedService', datasets: 'Dataset', pipelines: 'Pipeline', triggers: 'Trigger' };
const OP_MS = 300; // how long an artifact write stays InProgress
const RETRY_AFTER_S = 1;
const MAX_OPS = 1000; // remembered operations (oldest dropped first)
const WBASE = '^/synapse/([^/]+)';

const bad = (message, code = 'BadRequest') => armError(400, code, message);
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

// operationId -> {ws, kind, name, apply(), result, readyAt, done}; in memory
// only: an operation in flight when the emulator stops is forgotten.
const operations = new Map();

/*
 * prelude - api-version, then the token for Synapse's audience (a token for
 * another audience: 401 InvalidTokenAuthenticationAudience, the body Synapse
 * answers, azure-rest-api-specs#10500), then the workspace. Returns the
 * workspace's store.
 */
function workspaceOf(ctx) {
  const v = ctx.url.searchParams.get('api-version');
  if (!v) throw bad('The api-version query parameter (?api-version=) is required for all requests.', 'MissingApiVersionParameter');
  if (v !== API_VERSION) throw bad(`The api-version '${v}' is invalid. The supported versions are '${API_VERSION}'.`, 'InvalidApiVersionParameter');
  const h = String(ctx.req.headers.authorization || '');
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  const res = tokens.verify(m ? m[1] : null, tokens.AUDIENCES.synapse);
  if (res.error === 'audience') {
    throw new HttpError(401, {
      code: 'InvalidTokenAuthenticationAudience',
      message: "Token Authentication failed with SecurityTokenInvalidAudienceException - IDX10214: Audience validation failed. Audiences: '[PII is hidden]'. Did not match: validationParameters.ValidAudience: '[PII is hidden]' or validationParameters.ValidAudiences: '[PII is hidden]'.",
    }, { 'www-authenticate': 'Bearer' });
  }
  ctx.who = tokens.requireToken(ctx, tokens.AUDIENCES.synapse); // every other refusal, ARM-shaped
  const name = decodeURIComponent(ctx.match[1]);
  const ws = state.config.synapseWorkspace;
  if (name.toLowerCase() !== ws.toLowerCase()) {
    // The real host would not resolve: https://{workspace}.dev.azuresynapse.net.
    throw armError(404, 'WorkspaceNotFound', `The workspace '${name}' does not exist; this sandbox has workspace '${ws}'.`);
  }
  if (!state.data.synapse) state.data.synapse = {};
  const key = ws.toLowerCase();
  if (!state.data.synapse[key]) {
    state.data.synapse[key] = { linkedservices: {}, datasets: {}, pipelines: {}, runs: {}, activityRuns: {} };
  }
  const w = state.data.synapse[key];
  w.id = `/subscriptions/${state.config.subscriptionId}/resourceGroups/${state.config.resourceGroup}/providers/Microsoft.Synapse/workspaces/${ws}`;
  w.name = ws;
  require('./copy').reconcile(w);
  settle();
  return w;
}

// Apply every write whose operation has run its course. A write refused
// then (a trigger started while its update was pending) makes the operation
// Failed with the refusal's code and message.
function settle() {
  const now = Date.now();
  for (const op of operations.values()) {
    if (!op.done && op.readyAt <= now) {
      try {
        op.result = op.apply();
      } catch (e) {
        const err = e instanceof HttpError && e.body && e.body.error;
        if (!err) console.error(`synapse: operation: ${e.stack || e}`);
        op.error = err ? { code: err.code, message: err.message } : { code: 'InternalServerError', message: 'The operation failed.' };
      }
      op.done = true;
      state.save();
    }
  }
}

/*
 * body - the JSON body as an object: 400 InvalidRequestContent for malformed
 * or too deep JSON, and for a body ADF's 2018-06-01 OpenAPI definitions of the
 * same operation refuse (Synapse's resource JSON is ADF's; mgdc-hosts(7)).
 */
function body(ctx, kind, name, { optional = false } = {}) {
  if (optional && (!ctx.body || ctx.body.length === 0)) return {};
  const b = parseJson(ctx.body);
  if (!isObj(b)) throw bad('The request content must be a JSON object.', 'InvalidRequestContent');
  if (adf.tooDeep(b)) {
    throw bad(`The request content was invalid and could not be deserialized: the JSON nests deeper than ${adf.MAX_DEPTH} levels.`, 'InvalidRequestContent');
  }
  if (kind) {
    const twin = `/arm/subscriptions/s/resourceGroups/g/providers/Microsoft.DataFactory/factories/f/${kind}/${encodeURIComponent(name)}`;
    const refused = openapi.validate(ctx.req.method, twin, '2018-06-01', b);
    if (refused) {
      const err = bad(refused.message, 'InvalidRequestContent');
      err.body.error.target = refused.target;
      throw err;
    }
  }
  return b;
}

function notFound(kind, name) {
  const what = { linkedservices: 'linkedService', datasets: 'dataset', pipelines: 'pipeline' }[kind] || kind;
  return armError(404, 'ResourceNotFound', `The ${what} '${name}' was not found in workspace '${state.config.synapseWorkspace}'.`);
}

/*
 * pending - remember an operation whose `apply()` performs the write when it
 * completes and returns its result body (null: an empty 200); returns its id
 * and the headers of the 202 (Location, Retry-After), as the recorded
 * exchanges show (mgdc-hosts(7)).
 */
function pending(ctx, w, apply) {
  const operationId = crypto.randomUUID();
  if (operations.size >= MAX_OPS) operations.delete(operations.keys().next().value);
  operations.set(operationId, { ws: w.name, apply, readyAt: Date.now() + OP_MS, done: false, result: null });
  const host = ctx.req.headers.host || '127.0.0.1';
  return {
    operationId,
    headers: {
      location: `https://${host}/synapse/${encodeURIComponent(w.name)}/operationResults/${operationId}?api-version=${API_VERSION}`,
      'retry-after': String(RETRY_AFTER_S),
    },
  };
}

/* accepted - answer an artifact write with 202 and the recorded body (state, operationId, artifactId). */
function accepted(ctx, w, kind, name, stateWord, apply) {
  const op = pending(ctx, w, apply);
  const now = new Date().toISOString();
  send(ctx.res, 202, {
    id: `${w.id}/${kind}/${name}`, recordId: Math.floor(Math.random() * 1e7), state: stateWord,
    created: now, changed: now, type: KIND_TYPE[kind], name, operationId: op.operationId,
    artifactId: crypto.randomUUID().toUpperCase(),
  }, op.headers);
}

route('GET', new RegExp(`${WBASE}/operationResults/([^/]+)$`, 'i'), (ctx) => {
  const w = workspaceOf(ctx);
  const op = operations.get(decodeURIComponent(ctx.match[2]));
  if (!op || op.ws !== w.name) throw armError(404, 'OperationNotFound', `The operation '${decodeURIComponent(ctx.match[2])}' was not found.`);
  if (!op.done) {
    send(ctx.res, 202, { status: 'InProgress' }, {
      location: `https://${ctx.req.headers.host || '127.0.0.1'}${ctx.url.pathname}${ctx.url.search}`,
      'retry-after': String(RETRY_AFTER_S),
    });
    return;
  }
  // The body of a failed operation is [UNKNOWN] (mgdc-hosts(7)): the status
  // and error that community clients read from it.
  if (op.error) { send(ctx.res, 200, { status: 'Failed', error: op.error }); return; }
  if (op.result === null) { send(ctx.res, 200, null); return; }
  send(ctx.res, 200, adf.publicResource(op.result), { etag: op.result.etag });
});

for (const kind of Object.keys(KINDS)) {
  const one = new RegExp(`${WBASE}/${kind}/([^/]+)$`, 'i');

  route('PUT', one, (ctx) => {
    const w = workspaceOf(ctx);
    const name = decodeURIComponent(ctx.match[2]);
    adf.checkName(kind, name);
    const props = adf.writeChecks(ctx, w, kind, name, body(ctx, kind, name));
    accepted(ctx, w, kind, name, 'Creating', () => {
      const res = { id: `${w.id}/${kind}/${name}`, name, type: KINDS[kind], properties: props, etag: adf.newEtag() };
      w[kind][name.toLowerCase()] = res;
      return res;
    });
  });

  route('GET', one, (ctx) => {
    const w = workspaceOf(ctx);
    const name = decodeURIComponent(ctx.match[2]);
    const res = w[kind][name.toLowerCase()];
    if (!res) throw notFound(kind, name);
    adf.sendResource(ctx, res);
  });

  route('DELETE', one, (ctx) => {
    const w = workspaceOf(ctx);
    const name = decodeURIComponent(ctx.match[2]);
    const key = name.toLowerCase();
    if (!w[kind][key]) { send(ctx.res, 204, null); return; }
    accepted(ctx, w, kind, name, 'Deleting', () => {
      delete w[kind][key];
      return null;
    });
  });

  route('GET', new RegExp(`${WBASE}/${kind}$`, 'i'), (ctx) => {
    const w = workspaceOf(ctx);
    const all = Object.values(w[kind]).sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase())).map(adf.publicResource);
    return adf.listPage(ctx, all, adf.PAGE_DEFAULT);
  });
}

function runOf(w, id) {
  const run = w.runs[id.toLowerCase()];
  if (!run) throw armError(404, 'ResourceNotFound', `The pipeline run '${id}' was not found in workspace '${w.name}'.`);
  return run;
}

route('POST', new RegExp(`${WBASE}/pipelines/([^/]+)/createRun$`, 'i'), (ctx) => {
  const w = workspaceOf(ctx);
  const name = decodeURIComponent(ctx.match[2]);
  const pipe = w.pipelines[name.toLowerCase()];
  if (!pipe) throw notFound('pipelines', name);
  const given = body(ctx, null, null, { optional: true });
  const ref = ctx.url.searchParams.get('referencePipelineRunId');
  if (ref && !w.runs[ref.toLowerCase()]) throw armError(404, 'ResourceNotFound', `The pipeline run '${ref}' was not found.`);
  send(ctx.res, 202, { runId: adf.startPipelineRun(w, pipe, given).runId });
});

route('GET', new RegExp(`${WBASE}/pipelineruns/([^/]+)$`, 'i'), (ctx) => {
  const w = workspaceOf(ctx);
  return runOf(w, decodeURIComponent(ctx.match[2]));
});

route('POST', new RegExp(`${WBASE}/pipelineruns/([^/]+)/cancel$`, 'i'), (ctx) => {
  const w = workspaceOf(ctx);
  const run = runOf(w, decodeURIComponent(ctx.match[2]));
  if (run.status === 'Cancelled' || run.status === 'Canceling') { send(ctx.res, 200, null); return; }
  if (adf.TERMINAL.includes(run.status)) {
    throw bad(`The pipeline run '${run.runId}' has already finished with status '${run.status}' and cannot be cancelled.`);
  }
  require('./copy').cancelRun(w, run);
  send(ctx.res, 200, null);
});

route('POST', new RegExp(`${WBASE}/queryPipelineRuns$`, 'i'), (ctx) => {
  const w = workspaceOf(ctx);
  return adf.queryRuns(ctx, Object.values(w.runs), adf.RUN_OPERANDS, (r) => r.lastUpdated);
});

// Synapse names the pipeline in the path; a run of another pipeline is not found there.
route('POST', new RegExp(`${WBASE}/pipelines/([^/]+)/pipelineruns/([^/]+)/queryActivityruns$`, 'i'), (ctx) => {
  const w = workspaceOf(ctx);
  const pipe = decodeURIComponent(ctx.match[2]);
  const run = runOf(w, decodeURIComponent(ctx.match[3]));
  if (run.pipelineName.toLowerCase() !== pipe.toLowerCase()) {
    throw armError(404, 'ResourceNotFound', `The pipeline run '${run.runId}' was not found for pipeline '${pipe}'.`);
  }
  return adf.queryRuns(ctx, w.activityRuns[run.runId] || [], adf.ACT_OPERANDS, (a) => a.activityRunEnd || a.activityRunStart);
});

// Triggers: lib/triggers.js's rules and engine; every write, start and stop
// included, is a long-running operation (mgdc-hosts(7), Triggers (Synapse)):
// checked at once, applied when the operation completes.
require('./triggers').serve({
  base: WBASE,
  group: 2,
  type: 'Microsoft.Synapse/workspaces/triggers',
  where: () => `workspace '${state.config.synapseWorkspace}'`,
  storeOf: workspaceOf,
  stores: () => Object.values(state.data.synapse || {}),
  body: (ctx, name) => body(ctx, 'triggers', name),
  put: (ctx, w, name, apply) => accepted(ctx, w, 'triggers', name, 'Creating', apply),
  del: (ctx, w, name, apply) => accepted(ctx, w, 'triggers', name, 'Deleting', apply),
  gone: (ctx) => send(ctx.res, 204, null),
  act: (ctx, w, name, action, apply) => {
    const op = pending(ctx, w, apply);
    send(ctx.res, 202, null, op.headers);
  },
});

// Unknown sub-paths of a workspace: a Synapse-shaped answer, never a crash.
route('*', new RegExp(`${WBASE}(/.*)?$`, 'i'), (ctx) => {
  workspaceOf(ctx);
  const p = ctx.url.pathname;
  if (routes.some((r) => r.method !== '*' && r.pattern.test(p))) {
    throw armError(405, 'MethodNotAllowed', `The method ${ctx.req.method} is not allowed on ${p}.`);
  }
  throw armError(404, 'NotFound', `No route for ${ctx.req.method} ${p}.`);
});

module.exports = { API_VERSION, operations, settle };
