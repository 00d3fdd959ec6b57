'use strict';
// The sandbox tenant's SharePoint and OneDrive, as the SharePoint datasets
// see them (reference mgdc-control-plane.md §4.2; the dataset pages
// Datasets/data-connect-dataset-sharepoint*.md and -onedrivesync*.md of
// microsoftgraph/dataconnect-solutions): sites, their permissions, their
// SharePoint groups and files, the day's file actions, and OneDrive sync
// health and errors.
//
// Key decisions:
// - State is a pure function of (tenant, users, day). Every object has a
//   birth day, maybe an end, and an update period; its content is a
//   function of its key and of how many updates it has had by that day (its
//   version), never of the day itself. So the full snapshot of a date is
//   the same in every run, and the delta between dates A and B is the
//   comparison of the two states by the dataset's natural key (the
//   catalog's delta.key): Created, Updated or Deleted. full(A) with
//   delta(A->B) applied is full(B) exactly, SnapshotDate and Operation aside.
// - Each day one project site is created and the one created 20 days
//   earlier deleted; sharing links and files come and go in cycles of a few
//   days; everything updates every few days. So any two snapshot dates a day
//   or more apart give all of Created, Updated and Deleted.
// - FileActions are the day's own events (uploads, modifications, deletions
//   and accesses of the files above); OneDrive sync rows describe each
//   user's devices on a given day. Neither has a delta (the pages say so).

const { DAY, fnv32, guid, iso } = require('./seeded');

const PROJECT_LIFE = 20; // days a project site lives
const LONG_AGO = 19000; // 2022-01-08: the day permanent sites were created
const ROLES = [[3, 'Owners', 'Full Control'], [5, 'Members', 'Edit'], [4, 'Visitors', 'Read']];
const EXTENSIONS = ['docx', 'xlsx', 'pptx', 'pdf', 'txt', 'png'];
const ACTIONS = ['FileAccessed', 'FileDownloaded', 'FileRenamed', 'FileMoved'];
const AGENTS = ['Microsoft Office Word/16.0 (Windows/10.0; Desktop app)', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edge/120.0', 'OneDrive/23.201 (Mac OS X 14.1)'];

const h = (...parts) => fnv32(parts.join(':'));

// Columns a permission without a sharing link does not have (the schema page
// marks LinkId, LinkScope and FileExtension optional; the Share* columns
// describe the link), and site columns that are null unless the site is
// archived or classified: left out of the row, as in the sample rows.
const NO_LINK = Object.fromEntries(['FileExtension', 'LinkId', 'LinkScope', 'ShareCreatedBy', 'ShareCreatedTime', 'ShareLastModifiedBy', 'ShareLastModifiedTime', 'ShareExpirationTime'].map((k) => [k, undefined]));
const NOT_ARCHIVED = Object.fromEntries(['SiteArchivedBy', 'SiteArchivedTime', 'Classification', 'IBSegments'].map((k) => [k, undefined]));

// How many updates an object of (born, period, phase) has had by `day`.
const version = (o, day) => Math.floor((day + o.phase) / o.period) - Math.floor((o.born + o.phase) / o.period);
// The day of its v-th update (its birth for v = 0).
const updateDay = (o, v) => (v ? (Math.floor((o.born + o.phase) / o.period) + v) * o.period - o.phase : o.born);

// A recurring object: alive for `live` days of every `cycle`, a new one (new key) each cycle.
function cycleAt(slot, day) {
  const p = day + slot.offset;
  if (p < 0 || p % slot.cycle >= slot.live) return null;
  return Math.floor(p / slot.cycle);
}

/*
 * model - the SharePoint/OneDrive side of tenant `tenantId` with `dir`
 * (copy.directory()) users. Pure: the same arguments give the same tenant.
 */
function model(tenantId, dir, domain) {
  const host = String(domain || 'mgdcsandbox.onmicrosoft.com').split('.')[0];
  const siteUrl = (s) => (s.kind === 'onedrive'
    ? `https://${host}-my.sharepoint.com/personal/${s.owner.upn.replace(/[@.]/g, '_')}`
    : `https://${host}.sharepoint.com/sites/${s.title.replace(/\W/g, '')}`);
  const permanent = [
    ...dir.users.map((u, i) => ({ key: `onedrive:${i}`, kind: 'onedrive', title: u.displayName, owner: u, born: LONG_AGO + (i % 30) })),
    ...dir.groups.map((g, i) => ({ key: `team:${i}`, kind: 'team', title: g.displayName, owner: dir.users[i % dir.users.length], group: g, born: LONG_AGO })),
  ];
  const site = (s) => {
    s.id = guid(tenantId, 'site', s.key);
    s.web = guid(tenantId, 'web', s.key);
    s.list = guid(tenantId, 'list', s.key);
    s.scope = guid(tenantId, 'scope', s.key);
    s.period = 2 + (h(s.key, 'p') % 4);
    s.phase = h(s.key, 'f') % s.period;
    s.url = siteUrl(s);
    s.template = s.kind === 'onedrive' ? ['SPSPERS', 21] : s.kind === 'team' ? ['GROUP', 64] : ['STS', 1];
    return s;
  };
  permanent.forEach(site);
  const projects = new Map();
  const project = (k) => {
    if (!projects.has(k)) {
      projects.set(k, site({ key: `project:${k}`, kind: 'project', title: `Project ${k}`, owner: dir.users[Math.abs(k) % dir.users.length], born: k, ends: k + PROJECT_LIFE }));
    }
    return projects.get(k);
  };
  // Sites alive on `day`, permanent ones first, then projects oldest first.
  const sitesAt = (day) => {
    const out = permanent.filter((s) => s.born <= day);
    for (let k = day - PROJECT_LIFE + 1; k <= day; k++) out.push(project(k));
    return out;
  };
  const member = (s, v, j) => dir.users[(h(s.key, 'm', j) + v) % dir.users.length];
  const principal = (u) => ({ AadObjectId: u.id, Email: u.upn, UPN: u.upn, Name: u.displayName });

  // ---- state datasets: [{key columns..., everything else}] per day ----

  function siteRows(day) {
    return sitesAt(day).map((s) => {
      const v = version(s, day);
      const changed = updateDay(s, v);
      const used = 1e6 * (1 + (h(s.key) % 50)) + v * 250000;
      return {
        seed: h(s.key, v), t: changed * DAY + 3600e3 * (h(s.key, v, 't') % 24),
        row: {
          ...NOT_ARCHIVED, Id: s.id, Url: s.url, ArchiveState: 'None', IBMode: 'Open',
          RootWeb: { Id: s.web, Title: s.title, WebTemplate: s.template[0], WebTemplateId: s.template[1], Configuration: 0, LastItemModifiedDate: iso(changed * DAY + 3600e3) },
          WebCount: 1, StorageQuota: 1099511627776, StorageUsed: used,
          StorageMetrics: { MetadataSize: Math.floor(used / 50), TotalFileCount: 3 + v, TotalFileStreamSize: Math.floor(used * 0.8), AdditionalFileStreamSize: 0, TotalSize: Math.floor(used * 0.98) },
          GroupId: s.group ? s.group.id : '00000000-0000-0000-0000-000000000000', GeoLocation: 'NAM',
          IsInRecycleBin: false, RecycleBinItemCount: v % 3, RecycleBinItemSize: (v % 3) * 4096, SecondStageRecycleBinStorageUsage: 0,
          IsTeamsConnectedSite: s.kind === 'team', IsTeamsChannelSite: false, TeamsChannelType: 'None', IsHubSite: false,
          HubSiteId: '00000000-0000-0000-0000-000000000000', IsCommunicationSite: false, IsOneDrive: s.kind === 'onedrive',
          BlockAccessFromUnmanagedDevices: false, BlockDownloadOfAllFilesOnUnmanagedDevices: false, BlockDownloadOfViewableFilesOnUnmanagedDevices: false,
          ShareByEmailEnabled: true, ShareByLinkEnabled: v % 2 === 0, IsExternalSharingEnabled: s.kind !== 'team', SiteConnectedToPrivateGroup: s.kind === 'team',
          Privacy: s.kind === 'team' ? 'Private' : 'Public', SensitivityLabelInfo: {}, Owner: principal(s.owner), SecondaryContact: {},
          ReadLocked: false, ReadOnly: false, CreatedTime: iso(s.born * DAY + 9 * 3600e3),
          LastSecurityModifiedDate: iso(updateDay(s, v - (v % 2)) * DAY), LastUserAccessDate: iso(changed * DAY + 7200e3), LastContentChange: iso(changed * DAY + 3600e3),
        },
      };
    });
  }

  // Sharing links of a site: slot j lives `live` days of every `cycle`.
  const linkSlots = (s) => [0, 1, 2].map((j) => ({ j, cycle: 4 + (h(s.key, 'l', j) % 6), live: 2 + (h(s.key, 'L', j) % 2), offset: h(s.key, 'o', j) % 97 }));
  // Files of a site: slot 0 lives as long as the site; the others recur.
  const fileSlots = (s, items) => Array.from({ length: 2 + items }, (_, j) => ({
    j, permanent: j === 0, cycle: 6 + (h(s.key, 'c', j) % 9), live: 4 + (h(s.key, 'v', j) % 2), offset: h(s.key, 'x', j) % 89,
  }));
  const fileAt = (s, slot, day) => {
    if (day < s.born || day >= (s.ends || Infinity)) return null;
    const g = slot.permanent ? 0 : cycleAt(slot, day);
    if (g === null) return null;
    const key = `${s.key}:file:${slot.j}:${g}`;
    const born = slot.permanent ? s.born : Math.max(s.born, g * slot.cycle - slot.offset);
    const f = { key, born, period: 2 + (h(key, 'p') % 3) };
    f.phase = h(key, 'f') % f.period;
    f.ext = EXTENSIONS[h(key, 'e') % EXTENSIONS.length];
    f.name = `${['Plan', 'Budget', 'Notes', 'Report', 'Deck'][h(key, 'n') % 5]} ${slot.j}-${g}.${f.ext}`;
    f.id = guid(tenantId, 'item', key);
    f.author = s.kind === 'onedrive' ? s.owner : member(s, 0, slot.j);
    return f;
  };

  function permissionRows(day) {
    const out = [];
    for (const s of sitesAt(day)) {
      const base = { SiteId: s.id, WebId: s.web, ListId: s.list, ListItemId: 0, UniqueId: s.web, ItemType: 'Web', ItemURL: s.url.replace(/^https:\/\/[^/]+\//, ''), ScopeId: s.scope };
      const roles = s.kind === 'onedrive' ? ROLES.slice(0, 1) : ROLES;
      for (const [gid, name, role] of roles) {
        const o = { key: `${s.key}:role:${gid}`, born: s.born, period: 5 + gid, phase: h(s.key, gid) % (5 + gid) };
        const v = version(o, day);
        const users = 1 + ((h(s.key, gid) + v) % 7);
        const group = `${s.title} ${name}`;
        out.push({
          seed: h(o.key, v), t: updateDay(o, v) * DAY,
          row: {
            ...base, RoleDefinition: role, ...NO_LINK,
            SharedWithCount: [{ Type: 'SharePointGroup', Count: 1 }],
            SharedWith: [{ Type: 'SharePointGroup', Name: group, TypeV2: 'SharePointGroup', UserCount: users, UserLoginName: group }],
            TotalUserCount: users,
          },
        });
      }
      for (const slot of linkSlots(s)) {
        const g = day < s.born + 1 ? null : cycleAt(slot, day);
        if (g === null) continue;
        const key = `${s.key}:link:${slot.j}:${g}`;
        const born = Math.max(s.born + 1, g * slot.cycle - slot.offset);
        const o = { key, born, period: 2, phase: h(key) % 2 };
        const v = version(o, day);
        const who = member(s, v, slot.j + 10);
        const by = member(s, 0, slot.j + 20);
        const ext = EXTENSIONS[h(key, 'e') % EXTENSIONS.length];
        out.push({
          seed: h(key, v), t: updateDay(o, v) * DAY,
          row: {
            ...base, ListItemId: 1 + slot.j, UniqueId: guid(tenantId, 'uid', key), ItemType: 'File',
            ItemURL: `${base.ItemURL}/Shared Documents/Shared ${slot.j}.${ext}`, FileExtension: ext,
            RoleDefinition: slot.j === 2 ? 'Edit' : 'Read', LinkId: guid(tenantId, 'link', key), ScopeId: guid(tenantId, 'scope', key),
            LinkScope: ['Anyone', 'Organization', 'SpecificPeople'][slot.j],
            SharedWithCount: [{ Type: 'Internal', Count: 1 + (v % 3) }],
            SharedWith: Array.from({ length: 1 + (v % 3) }, (_, i) => {
              const u = member(s, v + i, slot.j);
              return { Type: 'Internal', Name: u.displayName, Email: u.upn, AadObjectId: u.id, UPN: u.upn, TypeV2: 'InternalUser', UserCount: 1, UserLoginName: `i:0#.f|membership|${u.upn}` };
            }),
            TotalUserCount: 1 + (v % 3),
            ShareCreatedBy: { Type: 'User', Name: by.displayName, Email: by.upn, UPN: by.upn }, ShareCreatedTime: iso(born * DAY + 3600e3),
            ShareLastModifiedBy: { Type: 'User', Name: who.displayName, Email: who.upn, UPN: who.upn }, ShareLastModifiedTime: iso(updateDay(o, v) * DAY + 3600e3),
            ShareExpirationTime: iso((born + 30) * DAY),
          },
        });
      }
    }
    return out;
  }

  function groupRows(day) {
    const out = [];
    for (const s of sitesAt(day)) {
      if (s.kind === 'onedrive') continue;
      for (const [gid, name] of ROLES) {
        const o = { key: `${s.key}:group:${gid}`, born: s.born, period: 3 + gid, phase: h(s.key, 'g', gid) % (3 + gid) };
        const v = version(o, day);
        const n = 1 + ((h(o.key) + v) % 4);
        const members = Array.from({ length: n }, (_, i) => member(s, v + i, gid));
        out.push({
          seed: h(o.key, v), t: updateDay(o, v) * DAY,
          row: {
            SiteId: s.id, GroupId: gid, GroupLinkId: 0, GroupType: 'SharePointGroup', DisplayName: `${s.title} ${name}`,
            Owner: { Type: 'SharePointGroup', AadObjectId: '', Name: `${s.title} Owners`, Email: '', TypeV2: 'SharePointGroup', LoginName: `${s.title} Owners`, UPN: '' },
            Members: members.map((u) => ({ Type: 'User', AadObjectId: u.id, Name: u.displayName, Email: u.upn, TypeV2: 'InternalUser', LoginName: `i:0#.f|membership|${u.upn}`, UPN: u.upn })),
          },
        });
      }
    }
    return out;
  }

  function fileRows(day, items) {
    const out = [];
    for (const s of sitesAt(day)) {
      for (const slot of fileSlots(s, items)) {
        const f = fileAt(s, slot, day);
        if (!f) continue;
        const v = version(f, day);
        const size = 1000 * (1 + (h(f.key) % 900)) + 512 * v;
        const editor = v ? member(s, v, slot.j) : f.author;
        out.push({
          seed: h(f.key, v), t: updateDay(f, v) * DAY,
          row: {
            SiteId: s.id, WebId: s.web, ListId: s.list, ItemId: f.id, ScopeId: s.scope, SiteUrl: s.url, DirName: s.kind === 'onedrive' ? 'Documents' : 'Shared Documents',
            FileName: f.name, Extension: f.ext, WebTemplateId: s.template[1], ListServerTemplate: 'DocumentLibrary', IsLabelEncrypted: false,
            MajorVersion: 1 + v, MinorVersion: 0, SensitivityLabelInfo: {}, SizeInBytes: size, SizeInBytesWithVersions: size * (1 + v),
            TimeCreated: iso(f.born * DAY + 10 * 3600e3), TimeLastModified: iso(updateDay(f, v) * DAY + 11 * 3600e3),
            Author: { Email: f.author.upn, Name: f.author.displayName }, ModifiedBy: { Email: editor.upn, Name: editor.displayName },
            QuickXorHash: guid(tenantId, 'hash', f.key, v).replace(/-/g, ''),
          },
        });
      }
    }
    return out;
  }

  // The day's actions: uploads on a file's first day, modifications on its
  // update days, deletions the day after its last, and some accesses.
  function actionRows(day, items) {
    const out = [];
    const seen = new Set();
    for (const s of [...sitesAt(day - 1), ...sitesAt(day)]) {
      if (seen.has(s.key)) continue;
      seen.add(s.key);
      for (const slot of fileSlots(s, items)) {
        const now = fileAt(s, slot, day);
        const before = fileAt(s, slot, day - 1);
        const events = [];
        if (now && (!before || before.key !== now.key)) events.push([now, 'FileUploaded']);
        if (before && (!now || before.key !== now.key)) events.push([before, 'FileDeleted']);
        if (now && before && before.key === now.key && version(now, day) !== version(now, day - 1)) events.push([now, 'FileModified']);
        if (now && h(now.key, day) % 2 === 0) events.push([now, ACTIONS[h(now.key, day, 'a') % ACTIONS.length]]);
        for (const [f, action] of events) {
          const actor = s.kind === 'onedrive' ? s.owner : member(s, day, slot.j);
          out.push({
            seed: h(f.key, day, action), t: day * DAY + 1000 * (h(f.key, day, action, 's') % 86400),
            row: {
              SiteId: s.id, SiteUrl: s.url, WebId: s.web, WebTemplateId: String(s.template[1]), ListId: s.list, ListItemId: f.id,
              ItemURL: `${s.url}/${s.kind === 'onedrive' ? 'Documents' : 'Shared Documents'}/${f.name}`, ItemName: f.name, ItemExtension: f.ext,
              ActorType: 'User', ActorIdType: 'AAD', ActorDisplayName: actor.displayName, ActorEmail: actor.upn, ActionName: action,
              UserAgent: AGENTS[h(f.key, day, 'u') % AGENTS.length], ClientIP: `10.${h(actor.id) % 250}.${day % 250}.${1 + (h(f.key) % 250)}`,
            },
          });
        }
      }
    }
    for (const r of out) r.row.ActionDate = iso(r.t);
    return out.sort((a, b) => a.t - b.t);
  }

  // One or two devices per user, reporting on `day`.
  function devices(day) {
    const out = [];
    dir.users.forEach((u, i) => {
      for (let d = 0; d < 1 + (i % 2); d++) {
        const id = guid(tenantId, 'device', u.id, d);
        const mac = h(id) % 4 === 0;
        out.push({ u, d, id, mac, name: `${u.displayName.split(' ')[0].toUpperCase()}${h(id) % 100000}`, errors: h(id, day) % 3 });
      }
    });
    return out;
  }

  function syncHealthRows(day) {
    return devices(day).map((x) => ({
      seed: h(x.id, day), t: day * DAY,
      row: {
        Id: guid(tenantId, 'health', x.id, day), puser: x.u.id, OneDriveDeviceId: x.id, UserName: x.u.displayName, UserEmail: x.u.upn, DeviceName: x.name,
        SyncAppVersion: `23.${190 + (h(x.id) % 20)}.0926.0001`, SyncAppUpdateRing: [4, 5, 0][h(x.id) % 3], OSName: x.mac ? 'Mac' : 'Windows',
        OSVersion: x.mac ? '14.1' : '10.0.19045', SyncAppBuildType: x.mac ? 'Standalone' : '', KFMOptInWithWizardGPOEnabled: false, KFMSilentOptInGPOEnabled: !x.mac,
        KFMEnabledFolders: x.mac ? [] : [1, 3], KFMEnabledFolderCount: x.mac ? 0 : 2,
        LastSyncedTimestampUTC: iso(day * DAY + 1000 * (h(x.id, day, 's') % 86400)), LastStatusReportedTimestampUTC: iso(day * DAY + 86399e3), TotalErrorCount: x.errors,
      },
    }));
  }

  function syncErrorRows(day) {
    const out = [];
    for (const x of devices(day)) {
      for (let e = 0; e < x.errors; e++) {
        const code = [34, 53, 6, 28][h(x.id, day, e) % 4];
        out.push({
          seed: h(x.id, day, e), t: day * DAY,
          row: {
            Id: guid(tenantId, 'syncerror', x.id, day, e), puser: x.u.id, OneDriveDeviceId: x.id, SyncErrorId: code, TaskDialogId1: code === 34 ? 30 : 0, TaskDialogId2: 256,
            ErrorTitle: `Sync error ${code}`, ErrorDescription: `The sandbox device ${x.name} reported sync error ${code}.`, ErrorCount: 1 + (h(x.id, e) % 3),
          },
        });
      }
    }
    return out;
  }

  return { sitesAt, siteRows, permissionRows, groupRows, fileRows, actionRows, syncHealthRows, syncErrorRows };
}

const STATE = {
  SharePointSites: 'siteRows', SharePointPermissions: 'permissionRows', SharePointGroups: 'groupRows', SharePointFiles: 'fileRows',
  SharePointFileActions: 'actionRows', OneDriveSyncHealth: 'syncHealthRows', OneDriveSyncErrors: 'syncErrorRows',
};

const short = (ds) => ds.name.replace(/^.*\./, '').replace(/_v\d+$/, '');

/*
 * handles - whether the SharePoint/OneDrive model produces `ds`'s rows.
 */
const handles = (ds) => Boolean(STATE[short(ds)]);

/*
 * snapshotRows - the rows of dataset `ds` for a request: a full snapshot of
 * day `a` (a === b, Operation "Full" where the schema has it), or the delta
 * from day `a` to day `b` (rows created, updated or deleted between them,
 * keyed by the catalog's delta.key). Each is {seed, t, row (every modelled
 * column), operation, day}: `row` goes into values.makeRowFactory as its
 * overrides, seeded by `seed`, so unmodelled columns are deterministic too.
 */
function snapshotRows(m, ds, a, b, items) {
  const fn = STATE[short(ds)];
  const at = (day) => m[fn](day, items);
  if (a === b || !(ds.delta && ds.delta.supported)) return at(a).map((x) => ({ ...x, operation: 'Full', day: a }));
  const keyOf = (x) => JSON.stringify(ds.delta.key.map((k) => (x.row[k] === undefined ? null : x.row[k])));
  const before = new Map(at(a).map((x) => [keyOf(x), x]));
  const out = [];
  for (const x of at(b)) {
    const k = keyOf(x);
    const old = before.get(k);
    before.delete(k);
    if (!old) out.push({ ...x, operation: 'Created', day: b });
    else if (old.seed !== x.seed || JSON.stringify(old.row) !== JSON.stringify(x.row)) out.push({ ...x, operation: 'Updated', day: b });
  }
  for (const x of before.values()) out.push({ ...x, operation: 'Deleted', day: b });
  return out;
}

module.exports = { model, handles, snapshotRows, PROJECT_LIFE };
