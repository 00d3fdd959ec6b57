'use strict';
// What a copy extracts: the rows of a request, as units (a user, a group,
// or one slice of the SharePoint/OneDrive tenant) that the copy engine
// spreads over its parallel extraction jobs, one output file each
// (reference mgdc-control-plane.md §6), and the JSON lines of every unit.
//
// Key decisions:
// - User-scoped datasets have `items` rows per user per day of the window
//   (one slot without a window), except directory datasets (User, Manager,
//   DirectReport, MailboxSettings, LicenseDetails), which describe each user
//   once. Group-scoped datasets work on groups, not users: GroupDetails and
//   GroupOwners one row a group, GroupMembers one a member, the rest `items`
//   per group per day. Viva Insights reports have one row per person per day
//   of the window. SharePoint and OneDrive rows come from sharepoint.js.
// - Lines are produced by generators, so memory stays bounded whatever the
//   size knobs ask for.

const { DAY, prng, dayOf } = require('./seeded');
const { makeRowFactory, entityOf } = require('./values');
const sharepoint = require('./sharepoint');

const ONE_PER_USER = new Set(['user', 'manager', 'directreport', 'mailboxsettings', 'licensedetails']);

// Per-day slots of a window: [start, length]; one slot without a window.
function slotsOf(window) {
  if (!window) return [[Date.UTC(2026, 0, 1), DAY]];
  const slots = [];
  const days = Math.max(1, Math.ceil((window.end - window.start) / DAY));
  for (let d = 0; d < days; d++) {
    const from = window.start + d * DAY;
    const to = Math.min(from + DAY, window.end);
    slots.push([from, Math.max(1, to - from)]);
  }
  return slots;
}

const rowSeed = (seed, unit, s, k) => (seed ^ Math.imul(unit + 1, 0x9e3779b1) ^ Math.imul(s + 1, 0x85ebca6b) ^ Math.imul(k + 1, 0xc2b2ae35)) >>> 0;

/*
 * source - the rows of one request: {count, units, lines(unit)}. `req` is
 * copy.checkRequest()'s {ds, columns, window, groups}, `users` the users in
 * scope, `dir` the tenant directory, `items` the size knob, `seed` the
 * request's data seed (copy.seedOf), `today` the emulator's day number.
 * `count` is known before any line is made, so caps apply up front.
 */
function source({ req, users, dir, items, seed, tenantId, domain, today }) {
  const { ds, columns, window } = req;
  if (sharepoint.handles(ds)) return siteSource({ req, dir, items, tenantId, domain, today });
  const entity = entityOf(ds);
  const make = makeRowFactory(ds, columns, tenantId, window);
  const slots = slotsOf(window);
  let rowNo = 0;
  const at = (u, s, k, row) => {
    const r = rowSeed(seed, u, s, k);
    const [from, len] = slots[s];
    return make({ ...row, t: from + Math.floor(prng(r)() * len), seed: r, dir, rowNo: rowNo++ });
  };
  if (ds.scope === 'group') {
    const wanted = req.groups.length ? dir.groups.filter((g) => req.groups.includes(g.id))
      : req.filter ? dir.groups.filter((g) => users.some((u) => u.groups.includes(g.id))) : dir.groups;
    const members = (g) => dir.users.filter((u) => u.groups.includes(g.id));
    const per = (g) => (entity === 'groupmembers' ? members(g).length : /^group(details|owners)$/.test(entity) ? 1 : slots.length * items);
    const units = wanted.map((g) => ({ g, i: dir.groups.indexOf(g) })).filter((x) => members(x.g).length);
    return {
      count: units.reduce((n, x) => n + per(x.g), 0),
      units,
      * lines({ g, i }) {
        const m = members(g);
        if (entity === 'groupmembers') for (let k = 0; k < m.length; k++) yield at(i, 0, k, { user: m[k], subject: m[k], group: g });
        else if (/^group(details|owners)$/.test(entity)) yield at(i, 0, 0, { user: m[0], subject: m[0], group: g });
        else for (let s = 0; s < slots.length; s++) for (let k = 0; k < items; k++) yield at(i, s, k, { user: m[k % m.length], group: g });
      },
    };
  }
  const one = ONE_PER_USER.has(entity);
  const perUser = one ? 1 : ds.category === 'Viva Insights' ? slots.length : slots.length * items;
  const units = users.map((u) => ({ u, i: dir.users.indexOf(u) }));
  return {
    count: units.length * perUser,
    units,
    * lines({ u, i }) {
      // Manager and DirectReport rows describe another user of the directory.
      const subject = /^(manager|directreport)$/.test(entity) ? dir.users[(i + 1) % dir.users.length] : u;
      if (one) yield at(i, 0, 0, { user: u, subject });
      else if (ds.category === 'Viva Insights') for (let s = 0; s < slots.length; s++) yield at(i, s, 0, { user: u });
      else for (let s = 0; s < slots.length; s++) for (let k = 0; k < items; k++) yield at(i, s, k, { user: u });
    },
  };
}

// SharePoint and OneDrive: the snapshot of a day, or the delta between two
// (sharepoint.js), or the OneDrive devices as of the last complete day.
function siteSource({ req, dir, items, tenantId, domain, today }) {
  const { ds, columns, window } = req;
  const m = sharepoint.model(tenantId, dir, domain);
  const a = window ? dayOf(window.start) : today - 1;
  const b = window ? dayOf(window.end) : today - 1;
  const list = sharepoint.snapshotRows(m, ds, a, b, items);
  // Not the window: a row's values depend on its object only, so snapshots agree.
  const make = makeRowFactory(ds, columns, tenantId, null);
  const hasOp = ds.columns.some((c) => c.name === 'Operation');
  const byId = new Map(dir.users.map((u) => [u.id, u]));
  const per = Math.max(1, Math.ceil(list.length / 8));
  const units = [];
  for (let i = 0; i < list.length; i += per) units.push(list.slice(i, i + per));
  return {
    count: list.length,
    units,
    * lines(unit) {
      for (const x of unit) {
        const overrides = { ...x.row, SnapshotDate: new Date(x.day * DAY).toISOString().replace(/\.\d{3}Z$/, 'Z') };
        if (hasOp) overrides.Operation = x.operation;
        const user = byId.get(x.row.puser) || dir.users[0];
        yield make({ user, t: x.t, seed: x.seed, dir, rowNo: x.seed % 1000, overrides });
      }
    },
  };
}

module.exports = { source, slotsOf };
