'use strict';
// The OpenAPI subsets kept in this folder: where each file came from
// (SOURCES), what is kept of each API (manifest.json), and how a Swagger 2.0
// "$ref" names a definition. Shared by extract.js, which makes the subsets,
// and the emulator's validator (emulator/lib/openapi.js), which reads them.
//
// Key decision: a file is named by its API ("datafactory/2018-06-01") and its
// path inside that API's folder of the specs repository
// ("entityTypes/LinkedService.json"), so the relative "$ref"s of the public
// documents resolve unchanged between the kept files.

const fs = require('node:fs');
const path = require('node:path');

const DIR = __dirname;

/*
 * sources() - the lines of SOURCES as [{local, api, file, repo, repoPath,
 * commit}]; `local` is relative to this folder, `api` its first two
 * segments, `file` the rest. Throws on a malformed line.
 */
function sources() {
  const out = [];
  for (const line of fs.readFileSync(path.join(DIR, 'SOURCES'), 'utf8').split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const [local, repo, repoPath, commit] = line.split('\t');
    const parts = (local || '').split('/');
    if (!commit || !/^[0-9a-f]{40}$/.test(commit) || parts.length < 3) throw new Error(`SOURCES: malformed line '${line}'`);
    out.push({ local, api: parts.slice(0, 2).join('/'), file: parts.slice(2).join('/'), repo, repoPath, commit });
  }
  return out;
}

/* manifest() - manifest.json: per API, the operationIds and the subtypes kept. */
const manifest = () => JSON.parse(fs.readFileSync(path.join(DIR, 'manifest.json'), 'utf8'));

/*
 * resolveRef(fromFile, ref) - the {file, name} a "$ref" made in `fromFile`
 * points at, e.g. ('entityTypes/Pipeline.json', '../datafactory.json#/definitions/Expression')
 * gives {file: 'datafactory.json', name: 'Expression'}. Only references to
 * definitions are used by the kept operations; anything else throws.
 */
function resolveRef(fromFile, ref) {
  const m = /^([^#]*)#\/definitions\/([^/]+)$/.exec(ref);
  if (!m) throw new Error(`${fromFile}: unsupported $ref '${ref}'`);
  const file = m[1] ? path.posix.normalize(path.posix.join(path.posix.dirname(fromFile), m[1])) : fromFile;
  return { file, name: m[2] };
}

module.exports = { DIR, sources, manifest, resolveRef };
