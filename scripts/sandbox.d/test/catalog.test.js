'use strict';
// catalog.json against the dataset facts of reference mgdc-control-plane.md
// §4 (names, schemas, date filters, scopes), written out here by hand as the
// independent source of truth, plus the format of the shared agreements.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const cat = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'catalog.json'), 'utf8'));
const byName = new Map(cat.datasets.map((d) => [d.name, d]));
const B = 'BasicDataSet_v0.';
const TYPES = ['string', 'datetime', 'boolean', 'int32', 'int64', 'double', 'object', 'array'];
const col = (ds, name) => byName.get(ds).columns.find((c) => c.name === name);

// Every name of §4.1 (the Viva dynamic-report pattern is a family, not a name).
const NAMES_41 = [
  `${B}User_v0`, `${B}User_v1`, `${B}Manager_v0`, `${B}DirectReport_v0`, 'LicenseDetails_v0', 'OwnedDevices_v0', 'RegisteredDevices_v0',
  `${B}CalendarView_v0`, `${B}ConferenceRoomCalendar_v0`, `${B}Contact_v0`, `${B}Contact_v1`, `${B}Event_v0`, `${B}Event_v1`, `${B}Inbox_v1`,
  `${B}MailboxSettings_v0`, `${B}MailFolder_v0`, `${B}Mailfolder_v2`, `${B}Message_v0`, `${B}Message_v1`, `${B}SentItem_v0`, `${B}SentItem_v1`,
  `${B}TodoTaskFolders_v0`, `${B}TodoTasks_v0`, `${B}OutlookGroupConversations_v0`, 'PlannerTasks_v0',
  'OutlookContactActivity_v0', 'OutlookMailActivity_v0', 'OutlookMeetingActivity_v0', 'TeamsChannelActivity_v0', 'TeamsConversationActivity_v0',
  `${B}TeamChat_v1`, `${B}TeamChat_v2`, `${B}TeamsCallRecords_v1`, `${B}TeamsChannelDetails_v0`, `${B}TeamsStandardChannelMessages_v0`, `${B}TeamsTranscript_v1`,
  `${B}GroupDetails_v0`, `${B}GroupMembers_v0`, `${B}GroupOwners_v0`,
  `${B}SharePointSites_v1`, `${B}SharePointPermissions_v1`, `${B}SharePointGroups_v1`, `${B}SharePointFiles_v1`, `${B}SharePointFileActions_v1`,
  `${B}OneDriveSyncHealth_v1`, `${B}OneDriveSyncErrors_v0`, 'VivaInsightsDataset_PersonReport_v1',
];
// Datasets §4.5 gives a schema for, with their column counts there.
const SCHEMA_COUNTS = {
  Message_v0: 29, Message_v1: 35, SentItem_v0: 29, SentItem_v1: 34, Event_v0: 33, Event_v1: 43, CalendarView_v0: 43,
  User_v0: 30, User_v1: 48, Manager_v0: 38, DirectReport_v0: 38, TeamChat_v1: 27, TeamChat_v2: 20,
  SharePointSites_v1: 46, SharePointPermissions_v1: 23, SharePointGroups_v1: 10, SharePointFiles_v1: 25, SharePointFileActions_v1: 19,
};

test('format: version 1, unique names, valid fields', () => {
  assert.equal(cat.version, 1);
  assert.equal(byName.size, cat.datasets.length, 'dataset names are unique');
  for (const d of cat.datasets) {
    assert.ok(['user', 'group', 'site'].includes(d.scope), `${d.name} scope`);
    assert.equal(typeof d.category, 'string');
    assert.equal(typeof d.dateFilter.required, 'boolean');
    assert.equal(typeof d.dateFilter.windowOnly, 'boolean');
    assert.ok(Array.isArray(d.dateFilter.columns));
    if (d.columns === null) continue;
    const names = new Set();
    for (const c of d.columns) {
      assert.ok(TYPES.includes(c.type), `${d.name}.${c.name} type ${c.type}`);
      assert.equal(typeof c.filterable, 'boolean');
      assert.ok(!names.has(c.name), `${d.name}.${c.name} listed once`);
      names.add(c.name);
      assert.equal(c.filterable, d.dateFilter.columns.includes(c.name), `${d.name}.${c.name} filterable flag`);
    }
    for (const f of d.dateFilter.columns) {
      assert.ok(names.has(f), `${d.name}: filter column ${f} is a column`);
      assert.equal(col(d.name, f).type, 'datetime', `${d.name}.${f} is a datetime`);
    }
  }
});

test('every dataset name of reference §4.1 is listed', () => {
  for (const n of NAMES_41) assert.ok(byName.has(n), n);
  assert.equal(cat.datasets.length, NAMES_41.length);
});

test('schemas of §4.5 are complete, others are names only', () => {
  for (const d of cat.datasets) {
    const short = d.name.replace(B, '');
    if (SCHEMA_COUNTS[short] === undefined) {
      assert.equal(d.columns, null, `${d.name} has no schema in the reference`);
    } else {
      assert.equal(d.columns.length, SCHEMA_COUNTS[short], `${d.name} column count`);
    }
  }
});

test('column types of §4.5 (spot checks across datasets)', () => {
  const expect = [
    ['Message_v0', 'ReceivedDateTime', 'datetime'], ['Message_v0', 'HasAttachments', 'boolean'], ['Message_v0', 'Sender', 'object'],
    ['Message_v0', 'ToRecipients', 'array'], ['Message_v0', 'Subject', 'string'], ['Message_v1', 'internetMessageHeaders', 'array'],
    ['Message_v1', 'flag', 'object'], ['Message_v1', 'inferenceClassification', 'string'], ['Event_v0', 'ReminderMinutesBeforeStart', 'int32'],
    ['Event_v1', 'originalStart', 'datetime'], ['Event_v1', 'locations', 'array'], ['User_v1', 'accountEnabled', 'boolean'],
    ['User_v1', 'createdDateTime', 'string'], ['Manager_v0', 'createdDateTime', 'datetime'], ['TeamChat_v2', 'ThreadType', 'string'],
    ['SharePointSites_v1', 'StorageUsed', 'int64'], ['SharePointSites_v1', 'RootWeb', 'object'], ['SharePointFiles_v1', 'SizeInBytes', 'int64'],
    ['SharePointFiles_v1', 'MajorVersion', 'int32'], ['SharePointPermissions_v1', 'SharedWith', 'array'], ['SharePointFileActions_v1', 'ActionDate', 'datetime'],
  ];
  for (const [ds, c, t] of expect) assert.equal((col(B + ds, c) || {}).type, t, `${ds}.${c}`);
  assert.equal(col(`${B}SentItem_v1`, 'internetMessageHeaders'), undefined, 'SentItem_v1 = Message_v1 minus internetMessageHeaders');
  assert.deepEqual(byName.get(`${B}SentItem_v0`).columns, byName.get(`${B}Message_v0`).columns, 'SentItem_v0 = Message_v0');
  assert.deepEqual(byName.get(`${B}DirectReport_v0`).columns, byName.get(`${B}Manager_v0`).columns);
  assert.deepEqual(byName.get(`${B}CalendarView_v0`).columns.map((c) => c.name), byName.get(`${B}Event_v1`).columns.map((c) => c.name));
});

test('date filters of §4.2', () => {
  const df = (n) => byName.get(B + n).dateFilter;
  const lc = (a) => a.map((x) => x.toLowerCase()).sort();
  const four = ['createddatetime', 'lastmodifieddatetime', 'receiveddatetime', 'sentdatetime'];
  for (const n of ['Message_v0', 'Message_v1', 'SentItem_v0', 'SentItem_v1']) {
    assert.equal(df(n).required, true, n);
    assert.deepEqual(lc(df(n).columns), four, n);
  }
  for (const n of ['Event_v0', 'Event_v1']) {
    assert.equal(df(n).required, true, n);
    assert.deepEqual(lc(df(n).columns), ['createddatetime', 'lastmodifieddatetime'], n);
  }
  assert.deepEqual(df('CalendarView_v0'), { required: true, columns: [], windowOnly: true });
  for (const n of ['SharePointSites_v1', 'SharePointPermissions_v1', 'SharePointGroups_v1', 'SharePointFiles_v1', 'SharePointFileActions_v1']) {
    assert.deepEqual(df(n).columns, ['SnapshotDate'], n);
    assert.equal(byName.get(B + n).scope, 'site', n);
  }
  for (const n of ['User_v0', 'User_v1', 'Manager_v0', 'DirectReport_v0']) assert.equal(df(n).required, false, n);
  assert.deepEqual(lc(df('TeamChat_v1').columns), four);
  assert.equal(df('TeamChat_v1').required, false);
});

test('meta columns: puser/ptenant on user-scoped schemas, ptenant on SharePoint', () => {
  for (const d of cat.datasets.filter((x) => x.columns)) {
    const names = d.columns.map((c) => c.name);
    assert.ok(names.includes('ptenant'), `${d.name} has ptenant`);
    assert.equal(names.includes('puser'), d.scope === 'user', `${d.name} puser iff user-scoped`);
  }
  for (const n of ['GroupDetails_v0', 'GroupMembers_v0', 'GroupOwners_v0']) assert.equal(byName.get(B + n).scope, 'group');
});
