'use strict';
// Deterministic helpers shared by the synthetic data modules (values.js,
// rows.js, sharepoint.js, copy.js): hashes, GUIDs from hashes, a tiny PRNG
// and ISO times. Nothing here reads a clock or a random source, so the same
// inputs give the same bytes in every run.

const crypto = require('node:crypto');

const DAY = 86400 * 1000;

const sha = (s) => crypto.createHash('sha256').update(s).digest();

// A version-4-shaped GUID from 16+ bytes of hash.
const guidFrom = (buf) => {
  const h = buf.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[buf[8] & 3]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

// guid(...parts) - the GUID of a name made of `parts`.
const guid = (...parts) => guidFrom(sha(parts.join(':')));

function fnv32(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
  return h;
}

// mulberry32: tiny, fast and good enough for synthetic data.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// A GUID-shaped id from a PRNG (hashing per cell costs twice the time of the whole row).
function randomGuid(r) {
  const h = (n) => Math.floor(r() * 2 ** (4 * n)).toString(16).padStart(n, '0');
  return `${h(8)}-${h(4)}-4${h(3)}-${'89ab'[Math.floor(r() * 4)]}${h(3)}-${h(6)}${h(6)}`;
}

const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const isoMs = (ms) => new Date(ms).toISOString();
// The UTC day number (days since 1970-01-01) of a time in milliseconds.
const dayOf = (ms) => Math.floor(ms / DAY);

module.exports = { DAY, sha, guidFrom, guid, fnv32, prng, randomGuid, iso, isoMs, dayOf };
