'use strict';
// Synthetic column values for any catalog dataset, shaped as Microsoft's
// public sample rows show them (reference mgdc-control-plane.md §4.5; the
// samples of the dataset pages in microsoftgraph/dataconnect-solutions):
// the documented type of every column; nested objects built from the
// column's documented Format (STRUCT<...>, ARRAY<...>) or its listed
// fields; nested keys in the case of the column (camelCase columns nest
// camelCase keys; PascalCase columns PascalCase ones, or the documented
// Format's own spelling, as TeamsCallRecords' sample shows); Exchange enumerations
// inside objects as OData-typed literals, e.g. "microsoft.graph.
// responseType'accepted'" in camelCase datasets and "Microsoft.
// OutlookServices.BodyType'HTML'" in PascalCase ones, while top-level
// enumerations are plain words ("normal" / "Normal").
//
// Key decision: every cell has its own PRNG, seeded by the row seed xor a
// hash of the column name, so a column's value does not depend on which
// other columns were requested, and the same seed gives the same bytes.

const { DAY, fnv32, prng, randomGuid, iso } = require('./seeded');

const SUBJECTS = ['Quarterly review', 'Lunch on Friday?', 'Project Contoso status', 'Budget draft', 'Team offsite', 'Re: contract', 'Weekly sync', 'Customer feedback'];

// ---- documented formats ------------------------------------------------------

const LEAVES = {
  string: 'string', int: 'int', int32: 'int', int64: 'int', integer: 'int', long: 'int',
  double: 'double', float: 'double', boolean: 'bool', bool: 'bool', datetime: 'datetime', date: 'datetime',
};

/*
 * parseFormat - the tree of a documented Format such as
 * "ARRAY<STRUCT<EmailAddress: STRUCT<Name: STRING, Address: STRING>>>":
 * {k: 'struct', fields: [[name, node]]} | {k: 'array', of: node} |
 * {k: 'leaf', t: 'string'|'int'|'double'|'bool'|'datetime'}, or null when
 * the text is not understood (then the column's value is built otherwise).
 */
function parseFormat(text) {
  const toks = String(text).match(/\.\.\.|'[^']*'|"[^"]*"|[<>:,]|[A-Za-z_][\w]*/g) || [];
  let i = 0;
  const unq = (t) => t.replace(/^['"]|['"]$/g, '');
  const expect = (t) => { if (toks[i++] !== t) throw new Error(`expected ${t}`); };
  const type = () => {
    const t = unq(toks[i++] || '');
    const u = t.toUpperCase();
    if (u === 'STRUCT') {
      expect('<');
      const fields = [];
      while (toks[i] !== '>') {
        if (toks[i] === '...') { i++; } else {
          const name = unq(toks[i++] || '');
          expect(':');
          fields.push([name, type()]);
        }
        if (toks[i] === ',') i++;
        else if (toks[i] !== '>') throw new Error('expected , or >');
      }
      i++;
      return { k: 'struct', fields };
    }
    if (u === 'ARRAY') {
      expect('<');
      const of = type();
      expect('>');
      return { k: 'array', of };
    }
    const leaf = LEAVES[t.toLowerCase()];
    if (!leaf) throw new Error(`unknown type ${t}`);
    return { k: 'leaf', t: leaf };
  };
  try {
    return type();
  } catch (e) {
    return null;
  }
}

const formatCache = new Map();
function formatTree(col) {
  if (!col || (!col.format && !col.fields)) return null;
  const key = col.format || JSON.stringify(col.fields);
  if (!formatCache.has(key)) {
    let tree = col.format ? parseFormat(col.format) : null;
    if (!tree && col.fields) {
      const leaf = (t) => ({ k: 'leaf', t: { int32: 'int', int64: 'int', boolean: 'bool' }[t] || t });
      tree = { k: 'struct', fields: col.fields.map((f) => [f.name, leaf(f.type)]) };
      if (col.type === 'array') tree = { k: 'array', of: tree };
    }
    formatCache.set(key, tree);
  }
  return formatCache.get(key);
}

// ---- case of keys and OData enumerations ----------------------------------------

const upperFirst = (s) => s[0].toUpperCase() + s.slice(1);
const lowerFirst = (s) => s[0].toLowerCase() + s.slice(1);

function recase(v, f) {
  if (Array.isArray(v)) return v.map((x) => recase(x, f));
  if (!v || typeof v !== 'object') return v;
  const o = {};
  for (const [k, x] of Object.entries(v)) o[f(k)] = recase(x, f);
  return o;
}

// Exchange enumerations that nest inside objects: (enum type, values).
const ENUMS = {
  contenttype: ['bodyType', ['html', 'text']],
  response: ['responseType', ['none', 'organizer', 'accepted', 'tentativelyAccepted', 'declined', 'notResponded']],
  flagstatus: ['followupFlagStatus', ['notFlagged', 'flagged', 'complete']],
  locationtype: ['locationType', ['default', 'conferenceRoom']],
  status: ['automaticRepliesStatus', ['disabled', 'alwaysEnabled', 'scheduled']],
  externalaudience: ['externalAudienceScope', ['none', 'contactsOnly', 'all']],
};

// An OData-typed enumeration literal in the dataset's family.
function odataEnum(env, enumType, value) {
  if (env.pascal) return `Microsoft.OutlookServices.${upperFirst(enumType)}'${enumType === 'bodyType' ? value.toUpperCase() : upperFirst(value)}'`;
  return `microsoft.graph.${enumType}'${value}'`;
}

// Top-level enumerations are plain words: "normal" (camelCase datasets), "Normal" (PascalCase).
const word = (env, w) => (env.pascal ? upperFirst(w) : w);

// ---- values ------------------------------------------------------------------------

function userOf(env, lower) {
  return /^(sender|from)$/.test(lower) ? env.user : env.other();
}

// A leaf inside an object, by its name.
function leafValue(env, name, t, owner) {
  const lower = name.toLowerCase();
  if (ENUMS[lower] && !(lower === 'status' && owner !== 'automaticrepliessetting')) {
    const [type, values] = ENUMS[lower];
    return odataEnum(env, type, env.pick(values));
  }
  if (lower === 'type' && /attendees$/.test(owner)) return odataEnum(env, 'attendeeType', env.pick(['required', 'optional', 'resource']));
  if (lower === 'time') return env.r() < 0.5 ? '0001-01-01T00:00:00Z' : iso(env.t);
  if (lower === 'timezone') return 'UTC';
  if (lower === 'content') return `<html><body>${env.pick(SUBJECTS)} #${env.rowNo}</body></html>`;
  if (t === 'datetime' || /(datetime|date|time)$/.test(lower)) return iso(env.t - Math.floor(env.r() * DAY));
  if (t === 'int') return Math.floor(env.r() * 1000);
  if (t === 'double') return Math.round(env.r() * 1e6) / 1000;
  if (t === 'bool') return env.r() < 0.5;
  const u = env.nestedUser;
  if (u && /^(name|displayname)$/.test(lower)) return u.displayName;
  if (u && /^(address|email|mail|upn|userprincipalname|loginname)$/.test(lower)) return u.upn;
  if (u && /^(aadobjectid|userid|useraadobjectid|id)$/.test(lower)) return u.id;
  if (lower.endsWith('id')) return randomGuid(env.r);
  return `${name}-${Math.floor(env.r() * 0xffffffff).toString(16).padStart(8, '0')}`;
}

// A value of a documented Format tree; `owner` is the enclosing field name (lower case).
function treeValue(env, node, owner) {
  if (node.k === 'array') {
    const n = 1 + Math.floor(env.r() * 2);
    return Array.from({ length: n }, () => {
      if (node.of.k === 'struct') env.nestedUser = env.other();
      return treeValue(env, node.of, owner);
    });
  }
  if (node.k === 'struct') {
    const o = {};
    for (const [name, sub] of node.fields) o[name] = sub.k === 'leaf' ? leafValue(env, name, sub.t, owner) : treeValue(env, sub, name.toLowerCase());
    return o;
  }
  return leafValue(env, owner, node.t, owner);
}

const addr = (u) => ({ emailAddress: { name: u.displayName, address: u.upn } });

// Objects people look into, shaped as in the samples; null when the format decides.
function knownObject(env, lower) {
  if (/^(sender|from|organizer)$/.test(lower)) return addr(userOf(env, lower));
  if (/^(body|uniquebody)$/.test(lower)) return { contentType: odataEnum(env, 'bodyType', env.pick(['html', 'text'])), content: `<html><body>${env.pick(SUBJECTS)} #${env.rowNo}</body></html>` };
  if (/^(start|end|originalstart)$/.test(lower)) {
    const t = lower === 'end' ? Math.min(env.t + 1800 * 1000, env.endMs - 1000) : env.t;
    return { dateTime: iso(t).replace('Z', '.0000000'), timeZone: 'UTC' };
  }
  if (lower === 'location') return { displayName: `Room ${1 + Math.floor(env.r() * 40)}`, locationType: odataEnum(env, 'locationType', 'default') };
  if (lower === 'responsestatus') return { response: odataEnum(env, 'responseType', env.pick(['none', 'organizer', 'accepted', 'tentativelyAccepted'])), time: '0001-01-01T00:00:00Z' };
  if (lower === 'flag') return { flagStatus: odataEnum(env, 'followupFlagStatus', env.pick(['notFlagged', 'flagged', 'complete'])) };
  return null;
}

function knownArray(env, lower) {
  const some = (min, max, f) => Array.from({ length: min + Math.floor(env.r() * (max - min + 1)) }, f);
  if (lower === 'torecipients') return some(1, 3, () => addr(env.other()));
  if (/recipients$|^replyto$/.test(lower)) return some(0, 1, () => addr(env.other()));
  if (lower === 'attendees' && env.exchange) {
    return some(1, 3, () => ({ type: odataEnum(env, 'attendeeType', 'required'), status: { response: odataEnum(env, 'responseType', 'none'), time: '0001-01-01T00:00:00Z' }, ...addr(env.other()) }));
  }
  if (lower === 'categories') return env.r() < 0.3 ? ['Blue category'] : [];
  if (/phones$/.test(lower)) return [`+1 425 555 ${String(1000 + Math.floor(env.r() * 9000))}`];
  if (/^(emailaddresses|proxyaddresses)$/.test(lower)) return [`SMTP:${env.user.upn}`];
  return null;
}

// Strings: the row's user's own attributes where the column names one,
// ids as GUIDs, a few enumerations, else "<column>-<hex>".
function stringValue(env, col) {
  const { lower } = col;
  const s = env.subject;
  if (lower === 'id' && env.directory) return s.id;
  if (lower.endsWith('id') || lower === 'changekey' || lower === 'icaluid') return randomGuid(env.r);
  if (/(userprincipalname|^mail$|primarysmtpaddress|email|^upn$)/.test(lower)) return s.upn;
  if (lower === 'displayname' || lower === 'simpledisplayname' || lower === 'name' || lower === 'username') return s.displayName;
  if (lower === 'givenname' || lower === 'firstname') return s.displayName.split(' ')[0];
  if (lower === 'surname' || lower === 'lastname') return s.displayName.split(' ')[1];
  if (lower === 'department') return s.department;
  if (lower === 'subject' || lower === 'title') return `${env.pick(SUBJECTS)} #${env.rowNo}`;
  if (lower === 'bodypreview') return `${env.pick(SUBJECTS)} - preview`;
  if (lower === 'importance') return word(env, env.pick(['low', 'normal', 'high']));
  if (lower === 'showas') return word(env, env.pick(['free', 'tentative', 'busy', 'oof']));
  if (lower === 'sensitivity') return word(env, env.pick(['normal', 'personal', 'private']));
  if (lower === 'type' && env.exchange) return word(env, env.pick(['singleInstance', 'occurrence', 'seriesMaster']));
  if (lower === 'inferenceclassification') return env.pick(['focused', 'other']);
  if (lower === 'signaltype') return env.pick(env.signals);
  if (lower.endsWith('url') || lower === 'weblink') return `https://contoso.example/${env.entity}/${Math.floor(env.r() * 1e9).toString(16)}`;
  return `${col.name}-${Math.floor(env.r() * 0xffffffff).toString(16).padStart(8, '0')}`;
}

// One cell, before recasing, of any type.
function cellValue(env, col) {
  const { lower, type } = col;
  if (type === 'object' || type === 'array') {
    const known = type === 'object' ? knownObject(env, lower) : knownArray(env, lower);
    if (known) return known;
    const tree = formatTree(col.meta);
    if (tree && (tree.k === 'array') === (type === 'array')) {
      env.nestedUser = userOf(env, lower);
      env.fromFormat = Boolean(col.meta.format);
      return treeValue(env, tree, lower);
    }
    return type === 'object' ? {} : [];
  }
  if (type === 'datetime') return iso(env.window ? Math.max(env.startMs, env.t - Math.floor(env.r() * 3600 * 1000)) : env.startMs + Math.floor(env.r() * (env.endMs - env.startMs)));
  if (type === 'boolean') return env.r() < 0.5;
  if (type === 'int32') return Math.floor(env.r() * 1000);
  if (type === 'int64') return Math.floor(env.r() * 1e9);
  if (type === 'double') return Math.round(env.r() * 1e6) / 1000;
  return stringValue(env, col);
}

// Activity signals as the activity pages name them (a few of each).
const SIGNALS = {
  outlookmailactivity: ['ViewMessage', 'MessageSent', 'Reply', 'Forward', 'MarkMessageAsRead'],
  outlookmeetingactivity: ['MeetingAccepted', 'MeetingDeclined', 'MeetingCreated'],
  outlookcontactactivity: ['ContactCreated', 'ContactUpdated'],
  teamschannelactivity: ['PostChannelMessage', 'ReplyChannelMessage', 'ReactedWithEmoji'],
  teamsconversationactivity: ['PostChatMessage', 'ReplyChatMessage', 'ReactedWithEmoji'],
};

// Datasets whose rows describe a user (the row's subject), not an item of theirs.
const DIRECTORY = new Set(['user', 'manager', 'directreport', 'mailboxsettings', 'groupmembers', 'groupowners']);
// Datasets of Exchange items: their nested enumerations are OData-typed.
const EXCHANGE = new Set(['message', 'sentitem', 'event', 'calendarview', 'conferenceroomcalendar', 'inbox', 'teamchat', 'contact', 'mailboxsettings', 'todotasks', 'outlookgroupconversations', 'teamsstandardchannelmessages']);

/*
 * entityOf - the short entity name of a dataset ("message" for
 * BasicDataSet_v0.Message_v1), which the value rules key on.
 */
const entityOf = (ds) => ds.name.replace(/^.*\./, '').replace(/_v\d+.*$/, '').replace(/_Report$/, '').toLowerCase();

const ODATA = { message: 'message', sentitem: 'message', event: 'event', calendarview: 'event', conferenceroomcalendar: 'event', teamchat: 'message', user: 'user', manager: 'user', directreport: 'user', groupmembers: 'user', groupowners: 'user', groupdetails: 'group' };

/*
 * makeRowFactory - a function (row) -> one JSON line for dataset `ds` with
 * exactly `columns`, where row = {user, subject (the user the row
 * describes; default user), group, t, seed, dir, rowNo}. The date-filter
 * column is `t`, every other datetime of a windowed dataset is inside the
 * window. `overrides` (name -> value) replaces whole cells; an override
 * of undefined leaves the column out of the row, as MGDC leaves out the
 * optional columns an object does not have (a permission without a link
 * has no LinkId).
 */
function makeRowFactory(ds, columns, tenantId, window) {
  const meta = new Map(ds.columns.map((c) => [c.name, c]));
  const entity = entityOf(ds);
  const pascal = ds.columns.filter((c) => /^[A-Z]/.test(c.name)).length * 2 > ds.columns.length;
  const odata = ds.name.startsWith('BasicDataSet_v0.') ? `#microsoft.graph.${ODATA[entity] || entity}` : '#Microsoft.OutlookServices.ApplicationDataItem';
  const cols = columns.map((name) => {
    const m = meta.get(name) || { name, type: ds.openType || 'string' };
    return { name, lower: name.toLowerCase(), type: m.type, meta: m, hash: fnv32(name), upper: /^[A-Z]/.test(name) };
  });
  const startMs = window ? window.start : Date.UTC(2026, 0, 1);
  const endMs = window ? Math.max(window.end, window.start + 1) : Date.UTC(2026, 10, 1);
  const env = {
    ds, entity, pascal, exchange: EXCHANGE.has(entity), directory: DIRECTORY.has(entity), signals: SIGNALS[entity] || ['Signal'],
    window, startMs, endMs, user: null, subject: null, t: 0, rowNo: 0, dir: null, r: null, nestedUser: null,
    pick: (a) => a[Math.floor(env.r() * a.length)],
    other: () => env.dir.users[Math.floor(env.r() * env.dir.users.length)],
  };
  return (row) => {
    Object.assign(env, { user: row.user, subject: row.subject || row.user, t: row.t, rowNo: row.rowNo, dir: row.dir });
    const out = {};
    for (const c of cols) {
      env.r = prng(row.seed ^ c.hash);
      env.fromFormat = false;
      let v;
      const overridden = Boolean(row.overrides && c.name in row.overrides);
      if (overridden) {
        v = row.overrides[c.name];
        if (v === undefined) continue;
      } else if (c.lower === 'puser') v = row.user.id;
      else if (c.lower === 'ptenant' || c.lower === 'aadtenantid') v = tenantId;
      else if (c.lower === 'pobjectid') v = row.group ? row.group.id : row.user.id;
      else if (c.lower === 'odatatype') v = odata;
      else if (c.lower === 'personid') v = row.user.id;
      else if (window && window.column === c.name) v = iso(row.t);
      else v = cellValue(env, c);
      // Known shapes are built camelCase, Format shapes as documented, overrides as final:
      // recase only where that differs from the column's case.
      if (v && typeof v === 'object' && !overridden && (c.upper ? !env.fromFormat : env.fromFormat)) v = recase(v, c.upper ? upperFirst : lowerFirst);
      out[c.name] = v;
    }
    return `${JSON.stringify(out)}\n`;
  };
}

module.exports = { makeRowFactory, parseFormat, entityOf, cellValue };
