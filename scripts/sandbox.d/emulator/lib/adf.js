'use strict';
// Azure Data Factory ARM REST, api-version 2018-06-01 (reference
// mgdc-control-plane.md §5.6), under /arm/subscriptions/{sub}/resourceGroups/
// {rg}/providers/Microsoft.DataFactory/factories/{factory}: linked services,
// datasets and pipelines (PUT with If-Match, GET with If-None-Match, list
// with nextLink, DELETE), createRun, pipeline runs, queryPipelineRuns,
// queryActivityruns and cancel. Runs are driven by lib/copy.js.
//
// Strictness (each rule cites its source in mgdc-sandbox(7)): names follow
// ADF's naming rules page, not the looser OpenAPI pattern (no '-' in linked
// service, dataset and data flow names; every name starts with a letter);
// only string annotations are kept, because nothing public shows an object
// annotation surviving a round trip (ADF documents annotations as tags);
// run timestamps are written as ADF writes them (up to seven fraction
// digits, trailing zeros trimmed), and a cancelled run has runEnd and
// durationInMs null, as in the public PipelineRuns_QueryByFactory example.
//
// Key decision: resources are stored exactly as PUT (secrets included) and
// masked only on the way out, so a client that PUTs back a resource it GOT
// (with "**********" in place of a SecureString) keeps the stored secret,
// as ADF does. Names are case-insensitive (ARM), stored under lowercase keys.
// Runs are stamped with the real clock, not the emulator clock: moving the
// clock to expire approvals must not reorder runs nor push them out of a
// client's (real-time) lastUpdatedAfter/Before window. The approval checks
// in copy.js still use the emulator clock.
//
// Also exports the ARM request prelude (api-version, subscription, resource
// group, token) that lib/accounts.js shares.
//
// Emulator extension: list and query routes accept `$top` in the query
// string to force small pages, so clients' paging can be tested.

const crypto = require('node:crypto');
const { route, routes, armError, send, parseJson } = require('./http');
const state = require('./state');
const tokens = require('./tokens');
const openapi = require('./openapi');

const API_VERSION = '2018-06-01';
const MASK = '**********';
const PAGE_DEFAULT = 50;
const QUERY_PAGE_DEFAULT = 100;
const MAX_PAGE = 1000;
const MAX_NAME = 260;
const MAX_DEPTH = 64; // JSON nesting ARM accepts (its deserializer's MaxDepth)
const MAX_RUNS = 2000; // per factory, kept in the state file
// ADF's naming rules (reference real/mgdc/quotes.md): every object name
// starts with a letter and has none of . + ? / < > * % & : \ (the OpenAPI
// pattern adds #); linked services, datasets and data flows take no '-'
// either, which leaves letters, digits and '_'.
const NAME_RULES = {
  strict: { re: /^[A-Za-z][A-Za-z0-9_]*$/, says: 'start with a letter and contain only letters, numbers or underscores (_)' },
  pipelines: { re: /^[A-Za-z][^.+?/<>*%&:\\#]*$/, says: "start with a letter and contain none of . + ? / < > * % & : \\ #" },
};
const KINDS = {
  linkedservices: 'Microsoft.DataFactory/factories/linkedservices',
  datasets: 'Microsoft.DataFactory/factories/datasets',
  dataflows: 'Microsoft.DataFactory/factories/dataflows',
  pipelines: 'Microsoft.DataFactory/factories/pipelines',
};
const KIND_WORD = { linkedservices: 'Linked service', datasets: 'Dataset', dataflows: 'Data flow', pipelines: 'Pipeline' };
const TERMINAL = ['Succeeded', 'Failed', 'Cancelled'];

const bad = (message, code = 'BadRequest') => armError(400, code, message);
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const newEtag = () => `"${crypto.randomUUID()}"`;

// ADF's timestamps carry 100 ns ticks, written with trailing zeros trimmed
// ("2018-06-16T00:39:51.216097Z" in the public examples). The sub-millisecond
// digits come from the monotonic clock, so two runs started in the same
// millisecond still order by their stamps.
let lastTicks = 0n;
function adfTime(ms = Date.now()) {
  let ticks = BigInt(Math.floor(ms)) * 10000n + (process.hrtime.bigint() / 100n) % 10000n;
  if (ticks <= lastTicks) ticks = lastTicks + 1n;
  lastTicks = ticks;
  const whole = new Date(Number(ticks / 10000n)).toISOString().slice(0, 19);
  const frac = String(ticks % 10000000n).padStart(7, '0').replace(/0+$/, '');
  return `${whole}${frac ? `.${frac}` : ''}Z`;
}

// A sortable key of such a stamp: the fraction padded back to seven digits,
// so string order is time order (a trimmed "44.62Z" sorts after
// "44.6257014Z" as text).
function timeKey(v) {
  if (typeof v !== 'string') return '';
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,7}))?Z$/.exec(v);
  return m ? `${m[1]}.${(m[2] || '').padEnd(7, '0')}Z` : v;
}
const TIME_FIELDS = new Set(['runStart', 'runEnd', 'lastUpdated', 'activityRunStart', 'activityRunEnd']);

// ---- the ARM prelude, shared with accounts.js -------------------------------

/*
 * armPrelude - checks every ARM request makes before its route logic:
 * api-version (400 MissingApiVersionParameter / InvalidApiVersionParameter
 * listing `versions`), the bearer token for management.azure.com (401), the
 * subscription and, when given, the resource group of the sandbox (404).
 * Returns the caller identity. Throws HttpError.
 */
function armPrelude(ctx, versions, sub, rg) {
  const v = ctx.url.searchParams.get('api-version');
  if (!v) {
    throw bad('The api-version query parameter (?api-version=) is required for all requests.', 'MissingApiVersionParameter');
  }
  if (!versions.includes(v)) {
    throw bad(`The api-version '${v}' is invalid. The supported versions are '${versions.join("','")}'.`, 'InvalidApiVersionParameter');
  }
  const who = tokens.requireToken(ctx, tokens.AUDIENCES.arm);
  if (String(sub).toLowerCase() !== String(state.config.subscriptionId).toLowerCase()) {
    throw armError(404, 'SubscriptionNotFound', `The subscription '${sub}' could not be found.`);
  }
  if (rg !== undefined && rg.toLowerCase() !== String(state.config.resourceGroup).toLowerCase()) {
    throw armError(404, 'ResourceGroupNotFound', `Resource group '${rg}' could not be found.`);
  }
  return who;
}

/*
 * armBody - the JSON body of an ARM request, as an object. Throws 400
 * InvalidRequestContent for empty or malformed JSON, a non-object, or a body
 * the operation's public OpenAPI definitions refuse (lib/openapi.js).
 */
function armBody(ctx, { optional = false } = {}) {
  if (optional && (!ctx.body || ctx.body.length === 0)) return {};
  const b = parseJson(ctx.body);
  if (!isObj(b)) throw bad('The request content must be a JSON object.', 'InvalidRequestContent');
  if (tooDeep(b)) {
    throw bad(`The request content was invalid and could not be deserialized: the JSON nests deeper than ${MAX_DEPTH} levels.`, 'InvalidRequestContent');
  }
  openapi.check(ctx, b); // the public OpenAPI definitions of the operation, if any
  return b;
}

// Iterative, so a hostile body cannot exhaust the stack here; everything
// after this check (masking, expressions) may then recurse safely.
function tooDeep(v) {
  const stack = [[v, 1]];
  while (stack.length) {
    const [x, d] = stack.pop();
    if (x === null || typeof x !== 'object') continue;
    if (d > MAX_DEPTH) return true;
    for (const y of Object.values(x)) stack.push([y, d + 1]);
  }
  return false;
}

/*
 * pageArgs - `$top` (emulator extension) and `$skipToken` of a list request
 * as {top, skip}. Throws 400 on malformed values.
 */
function pageArgs(ctx, dflt) {
  const q = ctx.url.searchParams;
  const top = q.has('$top') ? Number(q.get('$top')) : dflt;
  const skip = q.has('$skipToken') ? Number(q.get('$skipToken')) : 0;
  if (!Number.isInteger(top) || top < 1 || top > MAX_PAGE) throw bad("'$top' must be an integer between 1 and 1000.");
  if (!Number.isInteger(skip) || skip < 0) throw bad("The '$skipToken' is not valid.", 'InvalidSkipToken');
  return { top, skip };
}

/*
 * listPage - one `{value, nextLink}` page of `items`; nextLink is the same
 * URL with the next $skipToken, absolute, on the host the client used.
 */
function listPage(ctx, items, dflt) {
  const { top, skip } = pageArgs(ctx, dflt);
  const out = { value: items.slice(skip, skip + top) };
  if (skip + top < items.length) {
    const next = new URL(ctx.url.href);
    next.searchParams.set('$skipToken', String(skip + top));
    out.nextLink = `https://${ctx.req.headers.host || '127.0.0.1'}${next.pathname}${next.search}`;
  }
  return out;
}

// ---- factory state -------------------------------------------------------------

function factoryOf(ctx) {
  const [, sub, rg, name] = ctx.match;
  armPrelude(ctx, [API_VERSION], sub, rg);
  if (name.toLowerCase() !== String(state.config.factory).toLowerCase()) {
    throw armError(404, 'ResourceNotFound',
      `The Resource 'Microsoft.DataFactory/factories/${name}' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`);
  }
  if (!state.data.adf) state.data.adf = {};
  const key = `${sub}/${rg}/${name}`.toLowerCase();
  if (!state.data.adf[key]) {
    state.data.adf[key] = { linkedservices: {}, datasets: {}, pipelines: {}, runs: {}, activityRuns: {} };
  }
  const f = state.data.adf[key];
  f.id = `/subscriptions/${state.config.subscriptionId}/resourceGroups/${state.config.resourceGroup}/providers/Microsoft.DataFactory/factories/${state.config.factory}`;
  f.name = state.config.factory;
  require('./copy').reconcile(f);
  return f;
}

// Deep copy with every SecureString value replaced by the mask.
function mask(v) {
  if (Array.isArray(v)) return v.map(mask);
  if (!isObj(v)) return v;
  if (v.type === 'SecureString' && 'value' in v) return { ...v, value: MASK };
  const o = {};
  for (const [k, x] of Object.entries(v)) o[k] = mask(x);
  return o;
}

// Put stored secrets back where the client sent the mask.
function unmask(incoming, old) {
  if (Array.isArray(incoming)) return incoming.map((x, i) => unmask(x, Array.isArray(old) ? old[i] : undefined));
  if (!isObj(incoming)) return incoming;
  if (incoming.type === 'SecureString' && incoming.value === MASK && isObj(old) && old.type === 'SecureString') {
    return { ...incoming, value: old.value };
  }
  const o = {};
  for (const [k, x] of Object.entries(incoming)) o[k] = unmask(x, isObj(old) ? old[k] : undefined);
  return o;
}

const publicResource = (r) => mask(r);

function notFound(kind, name) {
  const what = { linkedservices: 'linkedService', datasets: 'dataset', dataflows: 'dataflow', pipelines: 'pipeline' }[kind] || kind;
  return armError(404, 'ResourceNotFound', `The ${what} '${name}' was not found in factory '${state.config.factory}'.`);
}

/*
 * checkName - ADF's naming rules for `kind` (see NAME_RULES). Throws 400
 * BadRequest with the message ADF gives when such a name reaches a run
 * ("The name of the entity contains invalid characters", reported for
 * dataset 'ds-clientupload' in MicrosoftDocs/azure-docs#5207) and the rule.
 */
function checkName(kind, name) {
  const rule = kind === 'pipelines' ? NAME_RULES.pipelines : NAME_RULES.strict;
  if (name.length > MAX_NAME) throw bad(`${KIND_WORD[kind]} name '${name.slice(0, 80)}...' is longer than ${MAX_NAME} characters.`, 'InvalidResourceName');
  if (!rule.re.test(name)) {
    throw bad(`The name of the entity contains invalid characters: ${KIND_WORD[kind].toLowerCase()} name '${name}' is not valid; the name should ${rule.says}.`, 'InvalidResourceName');
  }
}

// Drop annotations that are not strings (see the header).
function keepStringAnnotations(props) {
  if (Array.isArray(props.annotations)) props.annotations = props.annotations.filter((a) => typeof a === 'string');
}

// References a resource makes to others, checked on PUT as ADF does.
function checkReferences(f, kind, props) {
  const need = (k, ref, field) => {
    if (!isObj(ref) || typeof ref.referenceName !== 'string') throw bad(`The property '${field}.referenceName' is required.`);
    if (!f[k][ref.referenceName.toLowerCase()]) {
      throw bad(`The document creation or update failed because of invalid reference '${ref.referenceName}'.`);
    }
  };
  if (kind === 'datasets') need('linkedservices', props.linkedServiceName, 'properties.linkedServiceName');
  // A linked service may refer to others (a Key Vault holding its secret).
  if (kind === 'linkedservices') {
    const walk = (v, at) => {
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}[${i}]`));
      else if (isObj(v)) {
        if (v.type === 'LinkedServiceReference') need('linkedservices', v, at);
        for (const [k, x] of Object.entries(v)) walk(x, `${at}.${k}`);
      }
    };
    walk(props.typeProperties, 'properties.typeProperties');
  }
  if (kind === 'pipelines') {
    const acts = props.activities === undefined ? [] : props.activities;
    if (!Array.isArray(acts)) throw bad("The property 'properties.activities' must be an array.");
    const names = new Set();
    acts.forEach((a, i) => {
      if (!isObj(a) || typeof a.name !== 'string' || !a.name) throw bad(`The property 'properties.activities[${i}].name' is required.`);
      if (typeof a.type !== 'string' || !a.type) throw bad(`The property 'properties.activities[${i}].type' is required.`);
      if (names.has(a.name.toLowerCase())) throw bad(`The activity name '${a.name}' is used more than once.`);
      names.add(a.name.toLowerCase());
      for (const dir of ['inputs', 'outputs']) {
        if (a[dir] === undefined) continue;
        if (!Array.isArray(a[dir])) throw bad(`The property 'properties.activities[${i}].${dir}' must be an array.`);
        a[dir].forEach((r, j) => need('datasets', r, `properties.activities[${i}].${dir}[${j}]`));
      }
    });
    if (props.parameters !== undefined && !isObj(props.parameters)) throw bad("The property 'properties.parameters' must be an object.");
  }
}

// ---- resource CRUD -------------------------------------------------------------------

/*
 * writeChecks - what a PUT of resource `kind`/`name` of store `f` (a factory,
 * or lib/synapse.js's workspace) must pass, given its parsed body `b`:
 * properties (and their type but for a pipeline), If-Match against the
 * stored etag (412), references. Returns the properties to store, secrets
 * sent back masked replaced by the stored ones. Throws HttpError.
 */
function writeChecks(ctx, f, kind, name, b) {
  if (!isObj(b.properties)) throw bad("The property 'properties' is required and must be an object.");
  if (kind !== 'pipelines' && (typeof b.properties.type !== 'string' || !b.properties.type)) throw bad("The property 'properties.type' is required.");
  const old = f[kind][name.toLowerCase()];
  const ifMatch = ctx.req.headers['if-match'];
  if (ifMatch !== undefined && ifMatch.trim() !== '*' && (!old || ifMatch.trim() !== old.etag)) {
    throw armError(412, 'PreconditionFailed', `The specified ETag does not match the current ETag of ${kind.slice(0, -1)} '${name}'.`);
  }
  if (ifMatch !== undefined && ifMatch.trim() === '*' && !old) throw armError(412, 'PreconditionFailed', `The ${kind.slice(0, -1)} '${name}' does not exist.`);
  const props = unmask(b.properties, old && old.properties);
  keepStringAnnotations(props);
  checkReferences(f, kind, props);
  return props;
}

// A stored resource, masked, with its ETag; 304 for a matching If-None-Match.
function sendResource(ctx, res) {
  const inm = ctx.req.headers['if-none-match'];
  if (inm !== undefined && (inm.trim() === '*' || inm.split(',').map((s) => s.trim()).includes(res.etag))) {
    send(ctx.res, 304, null, { etag: res.etag });
    return;
  }
  send(ctx.res, 200, publicResource(res), { etag: res.etag });
}

const FBASE = '^/arm/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\\.DataFactory/factories/([^/]+)';

route('GET', new RegExp(`${FBASE}$`, 'i'), (ctx) => {
  const f = factoryOf(ctx);
  return { id: f.id, name: f.name, type: 'Microsoft.DataFactory/factories', location: 'eastus', properties: { provisioningState: 'Succeeded', version: API_VERSION } };
});

for (const kind of Object.keys(KINDS)) {
  const one = new RegExp(`${FBASE}/${kind}/([^/]+)$`, 'i');

  route('PUT', one, (ctx) => {
    const f = factoryOf(ctx);
    const name = decodeURIComponent(ctx.match[4]);
    checkName(kind, name);
    const props = writeChecks(ctx, f, kind, name, armBody(ctx));
    const res = { id: `${f.id}/${kind}/${name}`, name, type: KINDS[kind], properties: props, etag: newEtag() };
    f[kind][name.toLowerCase()] = res;
    state.save();
    send(ctx.res, 200, publicResource(res), { etag: res.etag });
  });

  route('GET', one, (ctx) => {
    const f = factoryOf(ctx);
    const name = decodeURIComponent(ctx.match[4]);
    const res = f[kind][name.toLowerCase()];
    if (!res) throw notFound(kind, name);
    sendResource(ctx, res);
  });

  route('DELETE', one, (ctx) => {
    const f = factoryOf(ctx);
    const key = decodeURIComponent(ctx.match[4]).toLowerCase();
    const existed = !!f[kind][key];
    delete f[kind][key];
    if (existed) state.save();
    send(ctx.res, existed ? 200 : 204, null);
  });

  route('GET', new RegExp(`${FBASE}/${kind}$`, 'i'), (ctx) => {
    const f = factoryOf(ctx);
    const all = Object.values(f[kind]).sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase())).map(publicResource);
    return listPage(ctx, all, PAGE_DEFAULT);
  });
}

// ---- runs ----------------------------------------------------------------------------

function runOf(f, ctx) {
  const id = decodeURIComponent(ctx.match[4]);
  const run = f.runs[id.toLowerCase()];
  if (!run) throw armError(404, 'ResourceNotFound', `The pipeline run '${id}' was not found in factory '${state.config.factory}'.`);
  return run;
}

// The state file must not grow without bound: past MAX_RUNS, the oldest
// finished runs (and their activity runs) are forgotten, as ADF forgets
// runs after its retention period.
function forgetOldRuns(f) {
  const runs = Object.values(f.runs);
  if (runs.length < MAX_RUNS) return;
  const done = runs.filter((r) => TERMINAL.includes(r.status)).sort((a, b) => timeKey(a.runStart).localeCompare(timeKey(b.runStart)));
  for (const r of done.slice(0, runs.length - MAX_RUNS + 1)) {
    delete f.runs[r.runId];
    delete f.activityRuns[r.runId];
  }
}

// Pipeline run parameters are reported as strings; arrays/objects JSON-encoded.
const paramString = (v) => (typeof v === 'string' ? v : JSON.stringify(v));

/*
 * startPipelineRun - a new run of pipeline resource `pipe` in factory `f`
 * with parameter values `given` (declared ones without a value take their
 * default; a missing required one throws 400), invoked by `invokedBy`
 * ({name, id, invokedByType}; default Manual), its copies resolved by
 * `host` (copy.js; default ADF's). Returns the run; the copy engine drives
 * it from there.
 */
function startPipelineRun(f, pipe, given, invokedBy, host) {
  const declared = pipe.properties.parameters || {};
  const params = {};
  for (const [p, def] of Object.entries(declared)) {
    if (Object.prototype.hasOwnProperty.call(given, p)) params[p] = given[p];
    else if (isObj(def) && def.defaultValue !== undefined) params[p] = def.defaultValue;
    else throw bad(`The value of the required parameter '${p}' of pipeline '${pipe.name}' was not provided.`);
  }
  for (const [p, v] of Object.entries(given)) if (!(p in params)) params[p] = v;
  const runId = crypto.randomUUID();
  const now = adfTime();
  for (const r of Object.values(f.runs)) if (r.pipelineName === pipe.name) r.isLatest = false;
  forgetOldRuns(f);
  const run = {
    runId, runGroupId: runId, isLatest: true, pipelineName: pipe.name,
    parameters: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, paramString(v)])),
    invokedBy: invokedBy || { name: 'Manual', id: crypto.randomUUID().replace(/-/g, ''), invokedByType: 'Manual' },
    runStart: now, runEnd: null, durationInMs: null, status: 'Queued', message: '', lastUpdated: now,
    annotations: [], runDimensions: {},
  };
  f.runs[runId] = run;
  f.activityRuns[runId] = [];
  state.save();
  // Required lazily: copy.js needs adf.js's helpers, and tests may load
  // adf.js without a copy engine.
  require('./copy').startRun({ factory: f, pipeline: pipe, run, params, host });
  return run;
}

route('POST', new RegExp(`${FBASE}/pipelines/([^/]+)/createRun$`, 'i'), (ctx) => {
  const f = factoryOf(ctx);
  const name = decodeURIComponent(ctx.match[4]);
  const pipe = f.pipelines[name.toLowerCase()];
  if (!pipe) throw notFound('pipelines', name);
  const given = armBody(ctx, { optional: true });
  const ref = ctx.url.searchParams.get('referencePipelineRunId');
  if (ref && !f.runs[ref.toLowerCase()]) throw armError(404, 'ResourceNotFound', `The pipeline run '${ref}' was not found.`);
  return { runId: startPipelineRun(f, pipe, given).runId };
});

route('GET', new RegExp(`${FBASE}/pipelineruns/([^/]+)$`, 'i'), (ctx) => runOf(factoryOf(ctx), ctx));

route('POST', new RegExp(`${FBASE}/pipelineruns/([^/]+)/cancel$`, 'i'), (ctx) => {
  const f = factoryOf(ctx);
  const run = runOf(f, ctx);
  if (run.status === 'Cancelled' || run.status === 'Canceling') { send(ctx.res, 200, null); return; }
  if (TERMINAL.includes(run.status)) {
    throw bad(`The pipeline run '${run.runId}' has already finished with status '${run.status}' and cannot be cancelled.`);
  }
  require('./copy').cancelRun(f, run);
  send(ctx.res, 200, null);
});

const RUN_OPERANDS = {
  PipelineName: (r) => r.pipelineName,
  Status: (r) => r.status,
  RunStart: (r) => r.runStart,
  RunEnd: (r) => r.runEnd,
  RunGroupId: (r) => r.runGroupId,
  LatestOnly: (r) => String(r.isLatest),
};
const ACT_OPERANDS = {
  ActivityName: (a) => a.activityName,
  ActivityType: (a) => a.activityType,
  Status: (a) => a.status,
  ActivityRunStart: (a) => a.activityRunStart,
  ActivityRunEnd: (a) => a.activityRunEnd,
};
const ORDER_KEYS = {
  RunStart: 'runStart', RunEnd: 'runEnd', PipelineName: 'pipelineName', Status: 'status',
  ActivityName: 'activityName', ActivityRunStart: 'activityRunStart', ActivityRunEnd: 'activityRunEnd',
};

/*
 * queryRuns - apply RunFilterParameters (lastUpdatedAfter/Before required,
 * filters, orderBy, continuationToken) to `items` and page the result.
 * `stamp(item)` gives the time compared with the window; `b` is the
 * request's body (default: parsed as ARM does).
 */
function queryRuns(ctx, items, operands, stamp, b = armBody(ctx)) {
  const after = Date.parse(b.lastUpdatedAfter);
  const before = Date.parse(b.lastUpdatedBefore);
  if (typeof b.lastUpdatedAfter !== 'string' || Number.isNaN(after)) throw bad("The property 'lastUpdatedAfter' is required and must be a date-time.");
  if (typeof b.lastUpdatedBefore !== 'string' || Number.isNaN(before)) throw bad("The property 'lastUpdatedBefore' is required and must be a date-time.");
  let out = items.filter((x) => { const t = Date.parse(stamp(x)); return t >= after && t <= before; });
  const filters = b.filters === undefined ? [] : b.filters;
  if (!Array.isArray(filters)) throw bad("The property 'filters' must be an array.");
  filters.forEach((fl, i) => {
    if (!isObj(fl)) throw bad(`The property 'filters[${i}]' must be an object.`);
    const get = operands[fl.operand];
    if (!get) throw bad(`The filter operand '${fl.operand}' is not valid here. Valid operands: ${Object.keys(operands).join(', ')}.`);
    if (!['Equals', 'NotEquals', 'In', 'NotIn'].includes(fl.operator)) throw bad(`The filter operator '${fl.operator}' is not valid. Valid operators: Equals, NotEquals, In, NotIn.`);
    if (!Array.isArray(fl.values) || fl.values.length === 0 || fl.values.some((v) => typeof v !== 'string')) throw bad(`The property 'filters[${i}].values' must be a non-empty array of strings.`);
    if (fl.operator.startsWith('Equals') || fl.operator === 'NotEquals') {
      if (fl.values.length !== 1) throw bad(`The operator '${fl.operator}' takes exactly one value.`);
    }
    const positive = fl.operator === 'Equals' || fl.operator === 'In';
    out = out.filter((x) => fl.values.includes(String(get(x))) === positive);
  });
  const order = b.orderBy === undefined ? [] : b.orderBy;
  if (!Array.isArray(order)) throw bad("The property 'orderBy' must be an array.");
  const keys = order.map((o, i) => {
    if (!isObj(o) || !ORDER_KEYS[o.orderBy] || !['ASC', 'DESC'].includes(o.order)) throw bad(`The property 'orderBy[${i}]' is not valid.`);
    return [ORDER_KEYS[o.orderBy], o.order === 'DESC' ? -1 : 1];
  });
  const val = (x, k) => (TIME_FIELDS.has(k) ? timeKey(x[k]) : String(x[k] ?? ''));
  out.sort((x, y) => {
    for (const [k, dir] of keys) {
      const c = val(x, k).localeCompare(val(y, k));
      if (c) return c * dir;
    }
    return timeKey(stamp(x)).localeCompare(timeKey(stamp(y)));
  });
  let skip = 0;
  if (b.continuationToken !== undefined && b.continuationToken !== null) {
    try {
      skip = JSON.parse(Buffer.from(String(b.continuationToken), 'base64url').toString('utf8')).o;
    } catch (e) { skip = NaN; }
    if (!Number.isInteger(skip) || skip < 0) throw bad("The 'continuationToken' is not valid.");
  }
  const { top } = pageArgs(ctx, QUERY_PAGE_DEFAULT);
  const res = { value: out.slice(skip, skip + top) };
  if (skip + top < out.length) res.continuationToken = Buffer.from(JSON.stringify({ o: skip + top })).toString('base64url');
  return res;
}

route('POST', new RegExp(`${FBASE}/queryPipelineRuns$`, 'i'), (ctx) => {
  const f = factoryOf(ctx);
  return queryRuns(ctx, Object.values(f.runs), RUN_OPERANDS, (r) => r.lastUpdated);
});

route('POST', new RegExp(`${FBASE}/pipelineruns/([^/]+)/queryActivityruns$`, 'i'), (ctx) => {
  const f = factoryOf(ctx);
  const run = runOf(f, ctx);
  return queryRuns(ctx, f.activityRuns[run.runId] || [], ACT_OPERANDS, (a) => a.activityRunEnd || a.activityRunStart);
});

// Triggers (lib/triggers.js) route under the factory too: before the catch-all.
require('./triggers');

// A factory must answer unknown sub-paths in ARM shape, never a crash.
route('*', new RegExp(`${FBASE}/.*$`, 'i'), (ctx) => {
  factoryOf(ctx);
  const p = ctx.url.pathname;
  if (routes.some((r) => r.method !== '*' && r.pattern.test(p))) {
    throw armError(405, 'MethodNotAllowed', `The method ${ctx.req.method} is not allowed on ${p}.`);
  }
  throw armError(404, 'NotFound', `No route for ${ctx.req.method} ${p}.`);
});

module.exports = {
  armPrelude, armBody, listPage, adfTime, timeKey, factoryOf, checkName, startPipelineRun, publicResource, FBASE, TERMINAL,
  // Shared with lib/synapse.js (the same resources and runs) and lib/fabric.js.
  writeChecks, sendResource, queryRuns, tooDeep, newEtag, RUN_OPERANDS, ACT_OPERANDS, MAX_DEPTH, PAGE_DEFAULT,
};
