'use strict';
// catalog.json against the schema facts extracted from Microsoft's public
// dataset pages (test/data/dataset-schemas.json, made by
// scripts/dataset-schemas from a checkout of microsoftgraph/dataconnect-
// solutions, microsoft-graph-docs-contrib and MicrosoftDocs/Viva; each fact
// carries its repository, path and commit). Every catalog entry names the
// page it comes from; its name, columns, types and date-filter columns must
// be the page's, and every page must be in the catalog.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const cat = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'catalog.json'), 'utf8'));
const ex = JSON.parse(fs.readFileSync(path.join(__dirname, 'data', 'dataset-schemas.json'), 'utf8'));
const byName = new Map(cat.datasets.map((d) => [d.name, d]));
const pageOf = new Map(ex.datasets.map((d) => [`${d.source.repository} ${d.source.path}`, d]));
const B = 'BasicDataSet_v0.';
const TYPES = ['string', 'datetime', 'boolean', 'int32', 'int64', 'double', 'object', 'array'];
const srcText = (s) => `${s.repository} ${s.path}@${s.commit}`;
const page = (d) => pageOf.get(`${d.source.repository} ${d.source.path}`);

// Table names the pages write differently. The pages name these datasets
// "SentItems_v0"/"SentItems_v1" and "Mailfolder_v0"; the table names are the
// ones the filtering page and the older dataset list write in full.
const TABLE_ALIASES = { SentItems_v0: 'SentItem_v0', SentItems_v1: 'SentItem_v1', Mailfolder_v0: 'MailFolder_v0' };
const TABLE_NAMES_SOURCE = 'microsoftgraph/microsoft-graph-docs-contrib concepts/data-connect-datasets.md@006046110cb047af91bd3df07c1791dedd14051b';

test('format: version 2, unique names, every field of the agreed shape', () => {
  assert.equal(cat.version, 2);
  assert.equal(byName.size, cat.datasets.length, 'dataset names are unique');
  for (const d of cat.datasets) {
    assert.ok(['user', 'group', 'site', 'tenant'].includes(d.scope), `${d.name} scope`);
    assert.equal(typeof d.category, 'string');
    assert.equal(typeof d.documentedAs, 'string');
    assert.equal(typeof d.dateFilter.required, 'boolean');
    assert.equal(typeof d.dateFilter.windowOnly, 'boolean');
    assert.ok(Array.isArray(d.dateFilter.columns));
    assert.ok(Array.isArray(d.columns) && d.columns.length > 0, `${d.name}: no entry without columns`);
    assert.match(d.source.commit, /^[0-9a-f]{40}$/, `${d.name}: source commit`);
    assert.ok(['free', 'billed'].includes(d.price.class), `${d.name}: price class`);
    const names = new Set();
    for (const c of d.columns) {
      assert.ok(TYPES.includes(c.type), `${d.name}.${c.name} type ${c.type}`);
      assert.equal(typeof c.filterable, 'boolean');
      assert.ok(!names.has(c.name), `${d.name}.${c.name} listed once`);
      names.add(c.name);
      assert.equal(c.filterable, d.dateFilter.columns.includes(c.name), `${d.name}.${c.name} filterable flag`);
    }
    for (const f of d.dateFilter.columns) assert.equal(d.columns.find((c) => c.name === f).type, 'datetime', `${d.name}.${f}`);
    if (d.delta && d.delta.supported) for (const k of d.delta.key) assert.ok(names.has(k), `${d.name}: delta key ${k}`);
  }
});

test('every entry matches the schema page it names: name, columns, types, date filters', () => {
  for (const d of cat.datasets) {
    const p = page(d);
    assert.ok(p, `${d.name}: its source ${d.source.path} is in the extract`);
    assert.equal(d.source.commit, p.source.commit, `${d.name}: source commit`);
    assert.equal(d.documentedAs, p.documentedAs, `${d.name}: documented name`);
    if (d.form) {
      // A name form: its fixed columns are the page's, the rest are query metrics.
      for (const c of p.columns) {
        const mine = d.columns.find((x) => x.name === c.name);
        assert.equal(mine ? mine.type : d.form.openColumns, c.type, `${d.name}.${c.name}`);
      }
      assert.ok(d.columns.every((c) => p.columns.some((x) => x.name === c.name)), `${d.name}: fixed columns documented`);
      continue;
    }
    assert.deepEqual(d.columns.map((c) => c.name), p.columns.map((c) => c.name), `${d.name}: columns in page order`);
    assert.deepEqual(d.columns.map((c) => c.type), p.columns.map((c) => c.type), `${d.name}: types`);
    assert.deepEqual(d.columns.map((c) => c.format || ''), p.columns.map((c) => c.format || ''), `${d.name}: formats`);
    assert.deepEqual(d.dateFilter.columns, p.dateFilterColumns, `${d.name}: date-filter columns`);
    for (const c of d.columns) {
      const pc = p.columns.find((x) => x.name === c.name);
      assert.deepEqual(c.fields || null, pc.fields || null, `${d.name}.${c.name}: nested fields`);
    }
  }
});

test('every documented dataset is in the catalog, under its table name', () => {
  const used = new Set(cat.datasets.map((d) => `${d.source.repository} ${d.source.path}`));
  for (const p of ex.datasets) assert.ok(used.has(`${p.source.repository} ${p.source.path}`), `${p.documentedAs} (${p.source.path}) is catalogued`);
  for (const d of cat.datasets) {
    if (d.form) {
      assert.equal(d.name, 'VivaInsightsDataset_Report_v1_{QueryName}');
      assert.equal(`${d.form.prefix}[Viva Insights query name]`, d.documentedAs);
    } else if (d.category === 'Viva Insights') {
      // The Viva page and schema write the static report's table name without a prefix.
      assert.equal(d.name, d.documentedAs);
    } else if (d.documentedAs.startsWith(B)) {
      assert.equal(d.name, d.documentedAs);
    } else {
      assert.equal(d.name, B + (TABLE_ALIASES[d.documentedAs] || d.documentedAs), `${d.documentedAs}: BasicDataSet_v0. table name`);
    }
  }
  // The aliases are documented: the filtering page lists the SentItem tables by those names.
  const required = ex.rules.requiredDateFilter.datasets.flatMap((r) => r.datasets);
  assert.ok(required.includes(`${B}SentItem_v0`) && required.includes(`${B}SentItem_v1`));
  assert.equal(cat.rules.tableNames, TABLE_NAMES_SOURCE, 'the older dataset list that writes MailFolder_v0 in full');
  assert.ok(cat.datasets.length >= 45, `about 45 datasets (${cat.datasets.length})`);
});

test('required date filters and window-only datasets are those of the filtering page', () => {
  const rules = ex.rules.requiredDateFilter;
  assert.equal(cat.rules.requiredDateFilter, srcText(rules.source));
  const lc = (a) => a.map((x) => x.toLowerCase()).sort();
  const listed = new Set();
  for (const r of rules.datasets) {
    for (const n of r.datasets) {
      listed.add(n);
      const d = byName.get(n);
      assert.ok(d && d.dateFilter.required, `${n} requires a date filter`);
      assert.deepEqual(lc(d.dateFilter.columns), lc(r.columns), `${n}: filter columns (any case)`);
    }
  }
  for (const n of rules.windowOnly) {
    listed.add(n);
    assert.deepEqual(byName.get(n).dateFilter, { required: true, columns: [], windowOnly: true }, n);
  }
  // Beyond the page, only SharePoint snapshot datasets require one (a full or a delta pull).
  for (const d of cat.datasets) {
    if (listed.has(d.name)) continue;
    assert.equal(d.dateFilter.required, !!d.snapshot, `${d.name}: required only for snapshot datasets`);
    assert.equal(d.dateFilter.windowOnly, false, d.name);
  }
});

test('scopes: pObjectId rows are group-scoped, puser rows user-scoped, NA datasets take no scope', () => {
  assert.equal(cat.rules.scopes, srcText(ex.rules.groupTypes.source));
  assert.deepEqual(ex.rules.groupTypes.notApplicable.sort(), ['OneDrive and SharePoint Online', 'Viva Insights']);
  for (const d of cat.datasets) {
    const names = d.columns.map((c) => c.name.toLowerCase());
    if (['SharePoint', 'OneDrive'].includes(d.category)) assert.equal(d.scope, 'site', `${d.name}: NA (OneDrive and SharePoint Online)`);
    else if (d.category === 'Viva Insights') assert.equal(d.scope, 'tenant', `${d.name}: NA (Viva Insights)`);
    else if (names.includes('pobjectid')) assert.equal(d.scope, 'group', `${d.name}: pObjectId rows`);
    else assert.ok(d.scope === 'user' && names.includes('puser'), `${d.name}: puser rows`);
  }
  // The groups table's group-scoped datasets are group-scoped here.
  for (const n of ['TeamsStandardChannelMessages', 'TeamsChannelDetails_v0', 'OutlookGroupConversations', 'GroupDetails', 'GroupMembers', 'GroupOwners']) {
    const d = cat.datasets.find((x) => x.name.startsWith(B + n));
    assert.equal(d.scope, 'group', n);
  }
});

test('price classes: the FAQ free list, 1,000 objects otherwise, SharePoint Files per 50,000', () => {
  const { free, unitObjects, source } = ex.rules.price;
  assert.equal(cat.rules.price, srcText(source));
  assert.equal(unitObjects, 1000);
  const isFree = (n) => free.some((f) => n === f || n.replace(/_v\d+$/, '') === f);
  for (const d of cat.datasets) {
    if (isFree(d.name)) {
      assert.deepEqual(d.price, { class: 'free', source: srcText(source) }, d.name);
    } else if (d.name === `${B}SharePointFiles_v1`) {
      assert.equal(d.price.unitObjects, 50000);
      assert.match(d.price.source, /^https:\/\/techcommunity\.microsoft\.com\/.*what-counts-as-an-object/);
    } else {
      assert.deepEqual(d.price, { class: 'billed', unitObjects: 1000, source: srcText(source) }, d.name);
    }
  }
  assert.equal(cat.datasets.filter((d) => d.price.class === 'free').length, free.length, 'each free name matches one dataset');
});

test('prices: one published USD price per class in use, with its source', () => {
  const p = cat.prices;
  assert.equal(p.currency, 'USD');
  assert.match(p.source, /^https:\/\/techcommunity\.microsoft\.com\/.*what-counts-as-an-object/);
  assert.equal(p.official, 'https://azure.microsoft.com/pricing/details/graph-data-connect/');
  assert.match(p.asOf, /^\d{4}-\d{2}-\d{2}$/);
  assert.match(p.note, /may change/);
  const key = (c) => `${c.class}/${c.unitObjects || 0}`;
  const priced = new Map(p.classes.map((c) => [key(c), c.usdPerUnit]));
  assert.equal(priced.size, p.classes.length, 'each class priced once');
  for (const d of cat.datasets) assert.ok(priced.has(key(d.price)), `${d.name}: class ${key(d.price)} has a price`);
  assert.equal(priced.get('free/0'), 0);
  assert.equal(priced.get('billed/1000'), 0.75, '$0.75 per 1,000 objects');
  assert.equal(priced.get('billed/50000'), 0.75, 'SharePoint Files: $0.75 per 50,000 objects');
});

test('sampling: the SharePoint datasets MGDC samples, each with its source', () => {
  const sampled = cat.datasets.filter((d) => d.sample).map((d) => d.name);
  assert.deepEqual(sampled, ['Sites', 'Permissions', 'Groups', 'Files', 'FileActions'].map((n) => `${B}SharePoint${n}_v1`));
  for (const d of cat.datasets.filter((x) => x.sample)) {
    assert.equal(d.sample.supported, true, d.name);
    assert.match(d.sample.source, /^(https:\/\/techcommunity\.microsoft\.com\/.*sample-or-estimate|pnp\/mgdc-spo-governance forecast\/ForecastAll\.zip@[0-9a-f]{40})/, d.name);
  }
  assert.match(cat.rules.sampling, /AdditionalDataSetProperties/);
});

test('SharePoint and OneDrive: snapshot window, deltas and their keys', () => {
  const sp = ['SharePointSites_v1', 'SharePointPermissions_v1', 'SharePointGroups_v1', 'SharePointFiles_v1'];
  for (const n of [...sp, 'SharePointFileActions_v1']) {
    const d = byName.get(B + n);
    assert.deepEqual(d.snapshot, { availableAfterHours: 48, retentionDays: 21 }, n);
    assert.deepEqual(d.dateFilter.columns, ['SnapshotDate'], n);
  }
  for (const n of sp) {
    assert.equal(byName.get(B + n).delta.supported, true, n);
    assert.ok(byName.get(B + n).columns.some((c) => c.name === 'Operation'), `${n} rows carry Operation`);
  }
  for (const n of ['SharePointFileActions_v1', 'OneDriveSyncHealth_v1', 'OneDriveSyncErrors_v0']) {
    const d = byName.get(B + n);
    assert.equal(d.delta.supported, false, n);
    assert.match(d.delta.reason, /daily actions|last 30 days/, n);
  }
  assert.deepEqual(byName.get(`${B}SharePointSites_v1`).delta.key, ['Id']);
  for (const d of cat.datasets) if (!d.snapshot) assert.ok(!d.dateFilter.columns.includes('SnapshotDate'), d.name);
});
