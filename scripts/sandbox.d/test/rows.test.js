'use strict';
// The copy engine's rows for every dataset of the catalog, without Azurite:
// types as catalog.json documents them, nested keys in the case of their
// column, OData-typed enumerations as Microsoft's sample rows show them,
// determinism per seed; and the SharePoint tenant's snapshots and deltas:
// full(A) with delta(A->B) applied equals full(B), keyed by the catalog's
// natural key. The engine end to end (through ADF REST and Azurite) is
// copy.test.js.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { directory } = require('../emulator/lib/copy');
const { checkType } = require('./helpers');
const { source } = require('../emulator/lib/rows');
const { parseFormat } = require('../emulator/lib/values');

const cat = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'catalog.json'), 'utf8'));
const byName = new Map(cat.datasets.map((d) => [d.name, d]));
const TENANT = '0b1c2d3e-0000-4000-8000-00000000cafe';
const DAY = 86400e3;
const TODAY = Math.floor(Date.UTC(2026, 10, 30) / DAY); // 2026-11-30
const dir = directory(TENANT, 6);
const dateOf = (d) => new Date(d * DAY).toISOString().replace('.000Z', 'Z');


// Every key inside `v` is camelCase under a camelCase column; PascalCase, or
// spelled as the column's documented Format spells it, under a PascalCase one.
function keysCased(v, col, where) {
  if (Array.isArray(v)) { v.forEach((x) => keysCased(x, col, where)); return; }
  if (!v || typeof v !== 'object') return;
  const upper = /^[A-Z]/.test(col.name);
  const documented = new Set((col.format || '').match(/[A-Za-z_]\w*/g) || []);
  for (const [k, x] of Object.entries(v)) {
    assert.ok(upper ? /^[A-Z]/.test(k) || documented.has(k) : /^[a-z@]/.test(k), `${where}: key ${k}`);
    keysCased(x, col, `${where}.${k}`);
  }
}

// A request for every column of `ds`, with the date filter it needs.
function request(ds, { a, b, groups = [], columns } = {}) {
  let window = null;
  if (ds.snapshot) {
    window = { start: a * DAY, end: b * DAY, column: 'SnapshotDate' };
  } else if (ds.dateFilter.required || ds.dateFilter.columns.length) {
    window = { start: Date.UTC(2026, 10, 1), end: Date.UTC(2026, 10, 3), column: ds.dateFilter.windowOnly ? null : ds.dateFilter.columns[0] };
  }
  return { ds, columns: columns || ds.columns.map((c) => c.name), window, groups, filter: null };
}

function linesOf(ds, opts = {}) {
  const src = source({ req: request(ds, opts), users: dir.users, dir, items: 2, seed: 42, tenantId: TENANT, domain: 'mgdcsandbox.onmicrosoft.com', today: TODAY });
  const out = [];
  for (const u of src.units) for (const l of src.lines(u)) out.push(l);
  assert.equal(out.length, src.count, `${ds.name}: count known up front`);
  return out;
}

const spDays = { a: TODAY - 9, b: TODAY - 9 };
// Columns a SharePoint row may leave out: the Permissions page calls LinkId,
// LinkScope and FileExtension optional ("won't show if share has no link")
// and the Share* columns describe links; the Sites page says SiteArchivedBy
// and SiteArchivedTime are null unless archived, and its sample leaves out
// Classification and IBSegments.
const OPTIONAL = {
  'BasicDataSet_v0.SharePointPermissions_v1': ['FileExtension', 'LinkId', 'LinkScope', 'ShareCreatedBy', 'ShareCreatedTime', 'ShareLastModifiedBy', 'ShareLastModifiedTime', 'ShareExpirationTime'],
  'BasicDataSet_v0.SharePointSites_v1': ['SiteArchivedBy', 'SiteArchivedTime', 'Classification', 'IBSegments'],
};

test('every dataset: rows with exactly the requested columns, of the documented types', () => {
  for (const ds of cat.datasets) {
    const d = ds.form ? { ...ds, name: 'VivaInsightsDataset_Report_v1_Weekly', openType: 'double' } : ds;
    const lines = linesOf(d, spDays);
    assert.ok(lines.length > 0, `${ds.name} has rows`);
    for (const line of lines) {
      assert.ok(line.endsWith('\n'));
      const row = JSON.parse(line);
      const optional = OPTIONAL[ds.name] || [];
      assert.deepEqual(Object.keys(row), ds.columns.map((c) => c.name).filter((n) => n in row || !optional.includes(n)), ds.name);
      for (const c of ds.columns.filter((x) => x.name in row)) {
        checkType(row[c.name], c.type, `${ds.name}.${c.name}=${JSON.stringify(row[c.name])}`);
        keysCased(row[c.name], c, `${ds.name}.${c.name}`);
      }
    }
    assert.deepEqual(linesOf(d, spDays), lines, `${ds.name}: same seed, same bytes`);
  }
});

test('nested objects follow the documented Format', () => {
  assert.deepEqual(parseFormat('ARRAY<STRUCT<EmailAddress: STRUCT<Name: STRING, Address: STRING>>>'),
    { k: 'array', of: { k: 'struct', fields: [['EmailAddress', { k: 'struct', fields: [['Name', { k: 'leaf', t: 'string' }], ['Address', { k: 'leaf', t: 'string' }]] }]] } });
  assert.equal(parseFormat('STRUCT<a: UUID>'), null, 'an unknown leaf type is not guessed');
  const lic = JSON.parse(linesOf(byName.get('BasicDataSet_v0.LicenseDetails_v0'))[0]);
  assert.ok(lic.servicePlans.length > 0);
  assert.deepEqual(Object.keys(lic.servicePlans[0]), ['servicePlanId', 'servicePlanName', 'provisioningStatus', 'appliesTo']);
  const sites = JSON.parse(linesOf(byName.get('BasicDataSet_v0.SharePointSites_v1'), spDays)[0]);
  assert.deepEqual(Object.keys(sites.RootWeb), ['Id', 'Title', 'WebTemplate', 'WebTemplateId', 'Configuration', 'LastItemModifiedDate']);
  const perm = linesOf(byName.get('BasicDataSet_v0.SharePointPermissions_v1'), spDays).map((l) => JSON.parse(l));
  assert.ok(perm.some((p) => p.SharedWith.some((w) => w.TypeV2 === 'InternalUser' && Number.isInteger(w.UserCount))));
  const call = JSON.parse(linesOf(byName.get('BasicDataSet_v0.TeamsCallRecords_v1'))[0]);
  assert.ok(call.Content.length > 0);
  for (const c of call.Content) assert.equal(typeof c.participant.userAADObjectId, 'string', 'the Format spells the keys of Content camelCase, as the sample does');
});

test('Exchange enumerations are OData-typed inside objects, plain words at the top', () => {
  const m1 = linesOf(byName.get('BasicDataSet_v0.Message_v1')).map((l) => JSON.parse(l));
  for (const r of m1) {
    assert.match(r.body.contentType, /^microsoft\.graph\.bodyType'(html|text)'$/);
    assert.match(r.flag.flagStatus, /^microsoft\.graph\.followupFlagStatus'(notFlagged|flagged|complete)'$/);
    assert.match(r.importance, /^(low|normal|high)$/);
    assert.equal(typeof r.sender.emailAddress.address, 'string');
  }
  const e0 = linesOf(byName.get('BasicDataSet_v0.Event_v0')).map((l) => JSON.parse(l));
  for (const r of e0) {
    assert.match(r.ResponseStatus.Response, /^Microsoft\.OutlookServices\.ResponseType'[A-Z][A-Za-z]+'$/);
    assert.match(r.Body.ContentType, /^Microsoft\.OutlookServices\.BodyType'(HTML|TEXT)'$/);
    assert.match(r.Importance, /^(Low|Normal|High)$/);
    assert.match(r.ShowAs, /^(Free|Tentative|Busy|Oof)$/);
    for (const a of r.Attendees) assert.match(a.Type, /^Microsoft\.OutlookServices\.AttendeeType'/);
  }
  const ev1 = JSON.parse(linesOf(byName.get('BasicDataSet_v0.Event_v1'))[0]);
  assert.match(ev1.responseStatus.response, /^microsoft\.graph\.responseType'/);
  assert.equal(ev1.ODataType, '#microsoft.graph.event');
});

test('scopes: user rows carry puser, group rows pObjectId of the group, directory rows one per user', () => {
  const gm = linesOf(byName.get('BasicDataSet_v0.GroupMembers_v0')).map((l) => JSON.parse(l));
  const want = dir.groups.flatMap((g) => dir.users.filter((u) => u.groups.includes(g.id)).map((u) => `${g.id}/${u.id}`));
  assert.deepEqual(gm.map((r) => `${r.pObjectId}/${r.id}`).sort(), want.sort(), 'one row per member of each group');
  const gd = linesOf(byName.get('BasicDataSet_v0.GroupDetails_v0')).map((l) => JSON.parse(l));
  assert.deepEqual(gd.map((r) => r.pObjectId).sort(), dir.groups.filter((g) => dir.users.some((u) => u.groups.includes(g.id))).map((g) => g.id).sort());
  const one = linesOf(byName.get('BasicDataSet_v0.GroupDetails_v0'), { groups: [dir.groups[1].id] }).map((l) => JSON.parse(l));
  assert.deepEqual(one.map((r) => r.pObjectId), [dir.groups[1].id], 'allowedGroups selects groups');
  const u1 = linesOf(byName.get('BasicDataSet_v0.User_v1')).map((l) => JSON.parse(l));
  assert.deepEqual(u1.map((r) => r.puser).sort(), dir.users.map((u) => u.id).sort());
  for (const r of u1) assert.equal(r.id, r.puser, 'User_v1 describes its own user');
  const viva = linesOf({ ...byName.get('VivaInsightsDataset_Report_v1_{QueryName}'), name: 'VivaInsightsDataset_Report_v1_Q1', openType: 'double' },
    { columns: ['PersonId', 'MetricDate', 'Meeting hours'] }).map((l) => JSON.parse(l));
  assert.equal(viva.length, dir.users.length);
  for (const r of viva) assert.equal(typeof r['Meeting hours'], 'number', 'a query metric column is a double');
});

// ---- SharePoint: snapshots and deltas -------------------------------------------

const KEY_FREE = new Set(['SnapshotDate', 'Operation']);
const rowsOfDay = (ds, a, b) => linesOf(ds, { a, b }).map((l) => JSON.parse(l));
const keyOf = (ds, r) => JSON.stringify(ds.delta.key.map((k) => (r[k] === undefined ? null : r[k])));
const strip = (r) => JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => !KEY_FREE.has(k))));

test('SharePoint: full(A) + delta(A->B) = full(B), with Created, Updated and Deleted', () => {
  for (const n of ['SharePointSites_v1', 'SharePointPermissions_v1', 'SharePointGroups_v1', 'SharePointFiles_v1']) {
    const ds = byName.get(`BasicDataSet_v0.${n}`);
    for (const [a, b] of [[TODAY - 20, TODAY - 2], [TODAY - 10, TODAY - 9], [TODAY - 7, TODAY - 4]]) {
      const fa = rowsOfDay(ds, a, a);
      const fb = rowsOfDay(ds, b, b);
      const delta = rowsOfDay(ds, a, b);
      assert.ok(fa.every((r) => r.Operation === 'Full' && r.SnapshotDate === dateOf(a)), `${n}: full rows`);
      assert.ok(delta.every((r) => r.SnapshotDate === dateOf(b)), `${n}: delta rows dated B`);
      const ops = new Set(delta.map((r) => r.Operation));
      for (const op of ['Created', 'Updated', 'Deleted']) assert.ok(ops.has(op), `${n} ${a}->${b}: ${op}`);
      const state = new Map(fa.map((r) => [keyOf(ds, r), strip(r)]));
      assert.equal(state.size, fa.length, `${n}: the key is unique`);
      for (const r of delta) {
        const k = keyOf(ds, r);
        if (r.Operation === 'Deleted') { assert.ok(state.delete(k), `${n}: deleted ${k} existed`); continue; }
        assert.equal(state.has(k), r.Operation === 'Updated', `${n}: ${r.Operation} ${k}`);
        state.set(k, strip(r));
      }
      const want = new Map(fb.map((r) => [keyOf(ds, r), strip(r)]));
      assert.deepEqual([...state.entries()].sort(), [...want.entries()].sort(), `${n}: full(${a}) + delta = full(${b})`);
    }
  }
});

test("SharePoint file actions are the day's own events; OneDrive rows per device", () => {
  const fa = byName.get('BasicDataSet_v0.SharePointFileActions_v1');
  const day = TODAY - 5;
  const acts = rowsOfDay(fa, day, day);
  const names = new Set(acts.map((r) => r.ActionName));
  for (const a of ['FileUploaded', 'FileDeleted', 'FileModified']) assert.ok(names.has(a), a);
  for (const r of acts) {
    assert.equal(r.SnapshotDate, dateOf(day));
    assert.ok(Date.parse(r.ActionDate) >= day * DAY && Date.parse(r.ActionDate) < (day + 1) * DAY, r.ActionDate);
  }
  // An upload on a day is a file Created in that day's delta of the Files dataset.
  const files = byName.get('BasicDataSet_v0.SharePointFiles_v1');
  const created = new Set(rowsOfDay(files, day - 1, day).filter((r) => r.Operation === 'Created').map((r) => r.ItemId));
  assert.deepEqual(new Set(acts.filter((r) => r.ActionName === 'FileUploaded').map((r) => r.ListItemId)), created);
  const health = rowsOfDay(byName.get('BasicDataSet_v0.OneDriveSyncHealth_v1'));
  assert.equal(new Set(health.map((r) => r.puser)).size, dir.users.length, 'every user has a device');
  const errors = rowsOfDay(byName.get('BasicDataSet_v0.OneDriveSyncErrors_v0'));
  const byDevice = new Map(health.map((r) => [r.OneDriveDeviceId, r.TotalErrorCount]));
  for (const [id, n] of byDevice) assert.equal(errors.filter((e) => e.OneDriveDeviceId === id).length, n, 'TotalErrorCount = error rows');
});
