'use strict';
// The emulator's request validation against the public OpenAPI definitions
// (lib/openapi.js, openapi/): every real request example of the specs repo
// (copied verbatim under tests/unit/fixtures/real/) is accepted, bodies that
// break a rule are refused naming the path and the rule, the routes answer
// 400 InvalidRequestContent in ARM's shape after their prelude, and the kept
// subsets are exactly what openapi/extract.js makes of their sources.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');
const openapi = require('../emulator/lib/openapi');
const docs = require('../openapi/docs');
const { startSandbox } = require('./helpers');

const REAL = path.resolve(__dirname, '..', '..', '..', 'tests', 'unit', 'fixtures', 'real');
const DF = '2018-06-01';
const GS = '2023-04-13';
const F = '/arm/subscriptions/s/resourceGroups/rg/providers/Microsoft.DataFactory/factories/f';
const ACCOUNT = '/arm/subscriptions/s/resourceGroups/rg/providers/Microsoft.GraphServices/accounts/a';

// Example file -> the operation it documents (the x-ms-examples of the specs).
const EXAMPLE_OPS = {
  'adf/LinkedServices_Create.json': 'LinkedServices_CreateOrUpdate',
  'adf/Datasets_Create.json': 'Datasets_CreateOrUpdate',
  'adf/Pipelines_Create.json': 'Pipelines_CreateOrUpdate',
  'adf/Pipelines_CreateRun.json': 'Pipelines_CreateRun',
  'adf/PipelineRuns_QueryByFactory.json': 'PipelineRuns_QueryByFactory',
  'adf/ActivityRuns_QueryByPipelineRun.json': 'ActivityRuns_QueryByPipelineRun',
  'adf/PipelineRuns_Cancel.json': 'PipelineRuns_Cancel',
  'graphservices/Accounts_Create.json': 'Accounts_CreateAndUpdate',
};
// Resources read from ADF (GET, list, PUT answers) that a client may PUT back.
const READ_BACK = {
  'adf/LinkedServices_Create.json': 'LinkedServices_CreateOrUpdate',
  'adf/Datasets_Create.json': 'Datasets_CreateOrUpdate',
  'adf/Pipelines_Create.json': 'Pipelines_CreateOrUpdate',
  'adf/Pipelines_Get.json': 'Pipelines_CreateOrUpdate',
  'adf/Pipelines_ListByFactory.json': 'Pipelines_CreateOrUpdate',
  'graphservices/Accounts_Create.json': 'Accounts_CreateAndUpdate',
  'graphservices/Accounts_Get.json': 'Accounts_CreateAndUpdate',
};

const opById = (id) => {
  const op = openapi.operations().find((o) => o.operationId === id);
  assert.ok(op, `operation ${id} is kept`);
  return op;
};
// The emulator path of an operation, its path parameters taken from `params`.
const urlOf = (op, params) => `/arm${op.template.replace(/\{([^}]+)\}/g, (_, k) => encodeURIComponent(params[k] || 'x'))}`;
const example = (rel) => JSON.parse(fs.readFileSync(path.join(REAL, rel), 'utf8'));

test('the real examples name only operations the kept documents hold', () => {
  const files = ['adf', 'graphservices'].flatMap((d) => fs.readdirSync(path.join(REAL, d)).map((f) => `${d}/${f}`));
  assert.equal(files.length, 13);
  for (const rel of Object.keys({ ...EXAMPLE_OPS, ...READ_BACK })) assert.ok(files.includes(rel), rel);
  // Every kept operation but the PATCH of billing accounts has a real example here.
  const without = openapi.operations().map((o) => o.operationId).filter((id) => !Object.values(EXAMPLE_OPS).includes(id));
  assert.deepEqual(without, ['Accounts_Update']);
});

test('every real request example validates against its operation', () => {
  let bodies = 0;
  for (const [rel, id] of Object.entries(EXAMPLE_OPS)) {
    const ex = example(rel);
    const op = opById(id);
    const url = urlOf(op, ex.parameters);
    assert.equal(ex.parameters['api-version'], op.version, rel);
    const body = op.body ? ex.parameters[op.body.name] : undefined;
    if (op.body) {
      assert.ok(body !== undefined, `${rel} has the body parameter '${op.body.name}'`);
      bodies++;
    }
    assert.equal(openapi.validate(op.method, url, op.version, body), null, rel);
  }
  assert.equal(bodies, 7);
});

test('every resource a real example reads back is a valid body to PUT it again', () => {
  let n = 0;
  for (const [rel, id] of Object.entries(READ_BACK)) {
    const op = opById(id);
    for (const [status, res] of Object.entries(example(rel).responses)) {
      if (!res.body || !/^20[01]$/.test(status)) continue;
      for (const item of Array.isArray(res.body.value) ? res.body.value : [res.body]) {
        assert.equal(openapi.validate(op.method, urlOf(op, {}), op.version, item), null, `${rel} ${status}`);
        n++;
      }
    }
  }
  assert.ok(n >= 8, `${n} resources`);
});

// A body mgdcfs-like requests start from; each case below breaks one rule.
const o365 = () => ({
  properties: {
    type: 'Office365',
    typeProperties: {
      office365TenantId: 't', servicePrincipalTenantId: 't', servicePrincipalId: 'a',
      servicePrincipalKey: { type: 'SecureString', value: 's' },
    },
  },
});
const copyPipeline = () => ({
  properties: {
    activities: [{
      name: 'CopyFromM365toStorage', type: 'Copy', dependsOn: [], userProperties: [],
      policy: { timeout: '7.00:00:00', retry: 0, retryIntervalInSeconds: 30, secureOutput: false, secureInput: false },
      inputs: [{ referenceName: 'src', type: 'DatasetReference' }],
      outputs: [{ referenceName: 'dst', type: 'DatasetReference' }],
      typeProperties: {
        source: { type: 'Office365Source', outputColumns: [{ name: 'Id' }], startTime: { value: '@pipeline().parameters.start', type: 'Expression' } },
        sink: { type: 'BinarySink', storeSettings: { type: 'AzureBlobStorageWriteSettings' } },
        enableStaging: false,
      },
    }],
    parameters: { start: { type: 'string', defaultValue: '2026-01-01T00:00:00Z' } },
    annotations: ['mgdcfs'],
  },
});
const binaryDataset = () => ({
  properties: {
    type: 'Binary', linkedServiceName: { referenceName: 'sink', type: 'LinkedServiceReference' },
    typeProperties: { location: { type: 'AzureBlobFSLocation', fileSystem: 'exports', folderPath: { value: "@concat('x/', pipeline().RunId)", type: 'Expression' } } },
  },
});
const set = (o, f) => { f(o); return o; };

const CASES = [
  // [what, method, url, version, body, expected keyword, expected target] (keyword null: accepted)
  ['an Office 365 linked service as mgdcfs sends it', 'PUT', `${F}/linkedservices/o`, DF, o365(), null],
  ['a missing required property', 'PUT', `${F}/linkedservices/o`, DF, set(o365(), (b) => delete b.properties.typeProperties.servicePrincipalKey), 'required', 'properties.typeProperties.servicePrincipalKey'],
  ['a null required property counts as missing', 'PUT', `${F}/linkedservices/o`, DF, set(o365(), (b) => { b.properties.typeProperties.servicePrincipalId = null; }), 'required', 'properties.typeProperties.servicePrincipalId'],
  ['a null optional property is absent', 'PUT', `${F}/linkedservices/o`, DF, set(o365(), (b) => { b.properties.description = null; }), null],
  ['a SecureString without its value (SecretBase subtype)', 'PUT', `${F}/linkedservices/o`, DF, set(o365(), (b) => { b.properties.typeProperties.servicePrincipalKey = { type: 'SecureString' }; }), 'required', 'properties.typeProperties.servicePrincipalKey.value'],
  ['a Key Vault secret without its store', 'PUT', `${F}/linkedservices/o`, DF, set(o365(), (b) => { b.properties.typeProperties.servicePrincipalKey = { type: 'AzureKeyVaultSecret', secretName: 'x' }; }), 'required', 'properties.typeProperties.servicePrincipalKey.store'],
  ['a Key Vault store that is not a LinkedServiceReference', 'PUT', `${F}/linkedservices/o`, DF, set(o365(), (b) => { b.properties.typeProperties.servicePrincipalKey = { type: 'AzureKeyVaultSecret', secretName: 'x', store: { referenceName: 'kv', type: 'Linked' } }; }), 'enum', 'properties.typeProperties.servicePrincipalKey.store.type'],
  ['a secret of no known type is checked against SecretBase only', 'PUT', `${F}/linkedservices/o`, DF, set(o365(), (b) => { b.properties.typeProperties.servicePrincipalKey = { type: 'Plain', v: 1 }; }), null],
  ['a type whose subtype properties do not match', 'PUT', `${F}/linkedservices/o`, DF, { properties: { type: 'Office365', typeProperties: { serviceEndpoint: 'https://a.blob.core.windows.net/' } } }, 'required', 'properties.typeProperties.office365TenantId'],
  ['a subtype without its typeProperties', 'PUT', `${F}/linkedservices/o`, DF, { properties: { type: 'AzureBlobFS' } }, 'required', 'properties.typeProperties'],
  ['an unknown linked service type is checked against the base only', 'PUT', `${F}/linkedservices/o`, DF, { properties: { type: 'NoSuchStore', typeProperties: { anything: [1] } } }, null],
  ['discriminator values match exactly ("office365" is no known subtype)', 'PUT', `${F}/linkedservices/o`, DF, { properties: { type: 'office365', typeProperties: {} } }, null],
  ['a base property of the wrong type', 'PUT', `${F}/linkedservices/o`, DF, set(o365(), (b) => { b.properties.annotations = 'x'; }), 'type', 'properties.annotations'],
  ['a blob sink linked service with a Key Vault key', 'PUT', `${F}/linkedservices/s`, DF, { properties: { type: 'AzureBlobStorage', typeProperties: { serviceEndpoint: 'https://a.blob.core.windows.net/', accountKind: 'StorageV2', tenant: 't', servicePrincipalId: 'a', servicePrincipalKey: { type: 'AzureKeyVaultSecret', store: { referenceName: 'kv', type: 'LinkedServiceReference' }, secretName: 'mgdcfs-a' } } } }, null],
  ['an authenticationType outside its enum', 'PUT', `${F}/linkedservices/s`, DF, { properties: { type: 'AzureBlobStorage', typeProperties: { authenticationType: 'Password' } } }, 'enum', 'properties.typeProperties.authenticationType'],
  ['a Binary dataset on ADLS Gen2', 'PUT', `${F}/datasets/d`, DF, binaryDataset(), null],
  ['a dataset without its linked service', 'PUT', `${F}/datasets/d`, DF, set(binaryDataset(), (b) => delete b.properties.linkedServiceName), 'required', 'properties.linkedServiceName'],
  ['a Binary dataset without a location', 'PUT', `${F}/datasets/d`, DF, set(binaryDataset(), (b) => { b.properties.typeProperties = {}; }), 'required', 'properties.typeProperties.location'],
  ['a location without its type (DatasetLocation)', 'PUT', `${F}/datasets/d`, DF, set(binaryDataset(), (b) => delete b.properties.typeProperties.location.type), 'required', 'properties.typeProperties.location.type'],
  ['a folder path is a literal or an expression ("type": "object" is any value)', 'PUT', `${F}/datasets/d`, DF, set(binaryDataset(), (b) => { b.properties.typeProperties.location.folderPath = 7; }), null],
  ['an Office365Table dataset without tableName', 'PUT', `${F}/datasets/s`, DF, { properties: { type: 'Office365Table', linkedServiceName: { referenceName: 'o', type: 'LinkedServiceReference' }, schema: [], typeProperties: {} } }, 'required', 'properties.typeProperties.tableName'],
  ['a Copy pipeline as mgdcfs sends it', 'PUT', `${F}/pipelines/p`, DF, copyPipeline(), null],
  ['an activity without a name', 'PUT', `${F}/pipelines/p`, DF, set(copyPipeline(), (b) => delete b.properties.activities[0].name), 'required', 'properties.activities[0].name'],
  ['a wrong type in the activity policy', 'PUT', `${F}/pipelines/p`, DF, set(copyPipeline(), (b) => { b.properties.activities[0].policy.retryIntervalInSeconds = '30'; }), 'type', 'properties.activities[0].policy.retryIntervalInSeconds'],
  ['a retry interval below its minimum', 'PUT', `${F}/pipelines/p`, DF, set(copyPipeline(), (b) => { b.properties.activities[0].policy.retryIntervalInSeconds = 10; }), 'minimum', 'properties.activities[0].policy.retryIntervalInSeconds'],
  ['a Copy activity without a sink', 'PUT', `${F}/pipelines/p`, DF, set(copyPipeline(), (b) => delete b.properties.activities[0].typeProperties.sink), 'required', 'properties.activities[0].typeProperties.sink'],
  ['a sink without its type (CopySink)', 'PUT', `${F}/pipelines/p`, DF, set(copyPipeline(), (b) => delete b.properties.activities[0].typeProperties.sink.type), 'required', 'properties.activities[0].typeProperties.sink.type'],
  ['store settings without their type (StoreWriteSettings)', 'PUT', `${F}/pipelines/p`, DF, set(copyPipeline(), (b) => { b.properties.activities[0].typeProperties.sink.storeSettings = {}; }), 'required', 'properties.activities[0].typeProperties.sink.storeSettings.type'],
  ['an input that is not a DatasetReference', 'PUT', `${F}/pipelines/p`, DF, set(copyPipeline(), (b) => { b.properties.activities[0].inputs = [{ referenceName: 'src' }]; }), 'required', 'properties.activities[0].inputs[0].type'],
  ['parameter types match case-insensitively', 'PUT', `${F}/pipelines/p`, DF, set(copyPipeline(), (b) => { b.properties.parameters.n = { type: 'INT', defaultValue: 1 }; }), null],
  ['a parameter type outside the enum', 'PUT', `${F}/pipelines/p`, DF, set(copyPipeline(), (b) => { b.properties.parameters.n = { type: 'integer' }; }), 'enum', 'properties.parameters.n.type'],
  ['a dependency without its conditions', 'PUT', `${F}/pipelines/p`, DF, set(copyPipeline(), (b) => { b.properties.activities[0].dependsOn = [{ activity: 'x' }]; }), 'required', 'properties.activities[0].dependsOn[0].dependencyConditions'],
  ['an Expression of another type', 'PUT', `${F}/pipelines/p`, DF, { properties: { activities: [{ name: 'f', type: 'ForEach', typeProperties: { items: { value: '@x', type: 'Expr' }, activities: [] } }] } }, 'enum', 'properties.activities[0].typeProperties.items.type'],
  ['a nested activity is validated as an activity', 'PUT', `${F}/pipelines/p`, DF, { properties: { activities: [{ name: 'f', type: 'ForEach', typeProperties: { items: { value: '@x', type: 'Expression' }, activities: [{ name: 'c', type: 'Copy', typeProperties: { source: { type: 'BlobSource' } } }] } }] } }, 'required', 'properties.activities[0].typeProperties.activities[0].typeProperties.sink'],
  ['an activity of no kept type is checked against Activity only', 'PUT', `${F}/pipelines/p`, DF, { properties: { activities: [{ name: 'w', type: 'Wait', typeProperties: { waitTimeInSeconds: 1 } }] } }, null],
  ['a pipeline without properties', 'PUT', `${F}/pipelines/p`, DF, { name: 'p' }, 'required', 'properties'],
  ['createRun parameters of any JSON type', 'POST', `${F}/pipelines/p/createRun`, DF, { a: 'x', b: 1, c: [1], d: { e: null } }, null],
  ['createRun with an array', 'POST', `${F}/pipelines/p/createRun`, DF, ['x'], 'type', '$'],
  ['createRun without a body (the parameter is optional)', 'POST', `${F}/pipelines/p/createRun`, DF, undefined, null],
  ['a run query without lastUpdatedBefore', 'POST', `${F}/queryPipelineRuns`, DF, { lastUpdatedAfter: '2026-01-01T00:00:00Z' }, 'required', 'lastUpdatedBefore'],
  ['a run query with a date that is no RFC 3339 date-time', 'POST', `${F}/queryPipelineRuns`, DF, { lastUpdatedAfter: '2026-01-01', lastUpdatedBefore: '2026-01-02T00:00:00Z' }, 'format', 'lastUpdatedAfter'],
  ['a run query filter on an unknown operand', 'POST', `${F}/queryPipelineRuns`, DF, { lastUpdatedAfter: '2026-01-01T00:00:00Z', lastUpdatedBefore: '2026-01-02T00:00:00Z', filters: [{ operand: 'Colour', operator: 'Equals', values: ['x'] }] }, 'enum', 'filters[0].operand'],
  ['a run query filter whose values are not strings', 'POST', `${F}/queryPipelineRuns`, DF, { lastUpdatedAfter: '2026-01-01T00:00:00Z', lastUpdatedBefore: '2026-01-02T00:00:00Z', filters: [{ operand: 'PipelineName', operator: 'Equals', values: [1] }] }, 'type', 'filters[0].values[0]'],
  ['an activity run query ordered without an order', 'POST', `${F}/pipelineruns/r/queryActivityruns`, DF, { lastUpdatedAfter: '2026-01-01T00:00:00Z', lastUpdatedBefore: '2026-01-02T00:00:00Z', orderBy: [{ orderBy: 'ActivityRunStart' }] }, 'required', 'orderBy[0].order'],
  ['cancel has no body to check', 'POST', `${F}/pipelineruns/r/cancel`, DF, { anything: 1 }, null],
  ['an operation the documents do not keep is not checked', 'PUT', `${F}/triggers/t`, DF, { nonsense: true }, null],
  ['a billing account without appId', 'PUT', ACCOUNT, GS, { properties: {} }, 'required', 'properties.appId'],
  ['a billing account whose appId is no GUID', 'PUT', ACCOUNT, GS, { properties: { appId: 'not-a-guid' } }, 'pattern', 'properties.appId'],
  ['a billing account with a tag that is not a string', 'PUT', ACCOUNT, GS, { properties: { appId: '11111111-aaaa-1111-bbbb-111111111111' }, tags: { n: 1 } }, 'type', "tags.n"],
  ['a billing account patch with a tag that is not a string', 'PATCH', ACCOUNT, GS, { tags: { 'a b': true } }, 'type', "tags['a b']"],
  ['another api-version of GraphServices is not checked', 'PUT', ACCOUNT, '2022-09-22', { properties: {} }, null],
];

test('bodies that break a rule are refused naming the path and the rule', () => {
  for (const [what, method, url, version, body, keyword, target] of CASES) {
    const got = openapi.validate(method, url, version, body);
    if (keyword === null) {
      assert.equal(got, null, `${what}: ${got && got.message}`);
      continue;
    }
    assert.ok(got, `${what}: accepted`);
    assert.equal(got.keyword, keyword, `${what}: ${got.message}`);
    assert.equal(got.target, target, `${what}: ${got.message}`);
    assert.ok(got.message.startsWith(`The request content was invalid: '${target}' `), got.message);
    assert.match(got.message, new RegExp(`rule '${keyword}' at [\\w/]+\\.json#/`), got.message);
  }
});

test('the emulator answers a refused body 400 InvalidRequestContent after its ARM prelude, and keeps nothing', async () => {
  const sb = await startSandbox({ azurite: false });
  try {
    const arm = await sb.token('developer', 'https://management.azure.com/.default');
    const c = sb.config;
    const f = `/arm/subscriptions/${c.subscriptionId}/resourceGroups/${c.resourceGroup}/providers/Microsoft.DataFactory/factories/${c.factory}`;
    const q = `?api-version=${DF}`;
    const bad = set(o365(), (b) => delete b.properties.typeProperties.servicePrincipalKey);
    let r = await sb.fetch(`${f}/linkedservices/O365${q}`, { method: 'PUT', token: arm, body: bad });
    assert.equal(r.status, 400, r.text);
    assert.deepEqual(Object.keys(r.json), ['error']);
    assert.equal(r.json.error.code, 'InvalidRequestContent');
    assert.equal(r.json.error.target, 'properties.typeProperties.servicePrincipalKey');
    assert.match(r.json.error.message, /'properties\.typeProperties\.servicePrincipalKey' is required \(rule 'required' at entityTypes\/LinkedService\.json#\/definitions\/Office365LinkedServiceTypeProperties/);
    r = await sb.fetch(`${f}/linkedservices/O365${q}`, { token: arm });
    assert.equal(r.status, 404, 'a refused PUT creates nothing');
    // The prelude comes first: no token is 401, an unknown api-version 400, whatever the body.
    r = await sb.fetch(`${f}/linkedservices/O365${q}`, { method: 'PUT', body: bad });
    assert.equal(r.status, 401, r.text);
    r = await sb.fetch(`${f}/linkedservices/O365?api-version=2017-09-01-preview`, { method: 'PUT', token: arm, body: bad });
    assert.equal(r.json.error.code, 'InvalidApiVersionParameter', r.text);
    r = await sb.fetch(`${f}/linkedservices/O365${q}`, { method: 'PUT', token: arm, body: o365() });
    assert.equal(r.status, 200, r.text);
    r = await sb.fetch(`${f}/queryPipelineRuns${q}`, { method: 'POST', token: arm, body: { lastUpdatedAfter: '2026-01-01T00:00:00Z' } });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.target, 'lastUpdatedBefore');
    const acct = `/arm/subscriptions/${c.subscriptionId}/resourceGroups/${c.resourceGroup}/providers/Microsoft.GraphServices/accounts/acct?api-version=${GS}`;
    r = await sb.fetch(acct, { method: 'PUT', token: arm, body: { properties: { appId: 'nope' } } });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.code, 'InvalidRequestContent');
    assert.match(r.json.error.message, /'properties\.appId' must match the pattern/);
  } finally {
    await sb.stop();
  }
});

// The kept files laid out as the specs repository has them.
function sourceTree() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgdc-openapi-'));
  for (const s of docs.sources()) {
    fs.mkdirSync(path.dirname(path.join(dir, s.repoPath)), { recursive: true });
    fs.copyFileSync(path.join(docs.DIR, s.local), path.join(dir, s.repoPath));
  }
  return dir;
}
const EXTRACT = path.join(docs.DIR, 'extract.js');

test('extract.js gives back exactly the kept files from them (no definition lost or added)', () => {
  const dir = sourceTree();
  try {
    execFileSync(process.execPath, [EXTRACT, '--dir', dir, '--check'], { stdio: 'pipe' });
    // A source that lacks a definition some kept body reaches fails, naming it.
    const ls = docs.sources().find((s) => s.local.endsWith('LinkedService.json'));
    const doc = JSON.parse(fs.readFileSync(path.join(dir, ls.repoPath), 'utf8'));
    delete doc.definitions.Office365LinkedServiceTypeProperties;
    fs.writeFileSync(path.join(dir, ls.repoPath), JSON.stringify(doc));
    const r = spawnSync(process.execPath, [EXTRACT, '--dir', dir, '--check'], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Office365LinkedServiceTypeProperties' names no definition/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('every kept file names its source at a commit', () => {
  const local = docs.sources().map((s) => s.local).sort();
  const onDisk = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(path.join(docs.DIR, d), { withFileTypes: true })) {
      const rel = d ? `${d}/${e.name}` : e.name;
      if (e.isDirectory()) walk(rel);
      else if (rel.includes('/') && rel.endsWith('.json')) onDisk.push(rel);
    }
  };
  walk('');
  assert.deepEqual(onDisk.sort(), local);
  for (const s of docs.sources()) {
    assert.equal(s.repo, 'Azure/azure-rest-api-specs');
    assert.ok(s.repoPath.endsWith(`/${s.file}`), s.local);
  }
});
