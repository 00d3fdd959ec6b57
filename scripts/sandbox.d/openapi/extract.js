#!/usr/bin/env node
'use strict';
// extract.js - make the OpenAPI subsets in this folder from the full public
// documents of Azure/azure-rest-api-specs.
//
//   node openapi/extract.js --git CLONE [--check]
//       reads every file of SOURCES at its recorded commit from a clone of
//       the specs repository (git show COMMIT:PATH)
//   node openapi/extract.js --dir DIR [--check]
//       reads them from DIR/PATH (a tree laid out as the repository)
//
// For each API of manifest.json it keeps the operations named there (their
// operationId and body parameters only), every definition reachable from
// those bodies by "$ref" (across files, allOf included), and the discriminated
// subtypes named in "subtypes" with everything they reach. Definitions are
// copied verbatim and keep their order in the source; all other parts of the
// documents (descriptions of operations, responses, examples, parameters,
// security) are dropped. With --check nothing is written: the exit status
// says whether the committed files equal what the sources give.
//
// To take newer documents: put the new commit in SOURCES, run with --git,
// review the diff, and run the sandbox tests (test/openapi.test.js).

const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { DIR, sources, manifest, resolveRef } = require('./docs');

function usage() {
  console.error('usage: node openapi/extract.js (--git CLONE | --dir DIR) [--check]');
  process.exit(2);
}

function readSource(src, args) {
  if (args.git) {
    return execFileSync('git', ['-C', args.git, 'show', `${src.commit}:${src.repoPath}`], { encoding: 'utf8', maxBuffer: 64 << 20 });
  }
  return fs.readFileSync(path.join(args.dir, src.repoPath), 'utf8');
}

// Everything of one API that the manifest asks for, as {file: subset document}.
function extractApi(api, want, docs) {
  const keep = new Map(Object.keys(docs).map((f) => [f, new Set()]));
  const ops = new Map(Object.keys(docs).map((f) => [f, []]));
  const walk = (node, file) => {
    if (Array.isArray(node)) {
      node.forEach((x) => walk(x, file));
      return;
    }
    if (node === null || typeof node !== 'object') return;
    if (typeof node.$ref === 'string') {
      const to = resolveRef(file, node.$ref);
      if (!docs[to.file]) throw new Error(`${api}/${file}: $ref '${node.$ref}' names a file not in SOURCES`);
      const def = (docs[to.file].definitions || {})[to.name];
      if (!def) throw new Error(`${api}/${file}: $ref '${node.$ref}' names no definition`);
      if (!keep.get(to.file).has(to.name)) {
        keep.get(to.file).add(to.name);
        walk(def, to.file);
      }
    }
    for (const [k, v] of Object.entries(node)) if (k !== '$ref') walk(v, file);
  };
  const found = new Set();
  for (const [file, doc] of Object.entries(docs)) {
    for (const [p, item] of Object.entries(doc.paths || {})) {
      for (const [method, op] of Object.entries(item)) {
        if (!op || !want.operations.includes(op.operationId)) continue;
        const body = (op.parameters || []).filter((x) => x && x.in === 'body');
        ops.get(file).push([p, method, { operationId: op.operationId, parameters: body }]);
        body.forEach((b) => walk(b.schema, file));
        found.add(op.operationId);
      }
    }
  }
  const lost = want.operations.filter((o) => !found.has(o));
  if (lost.length) throw new Error(`${api}: operations not found: ${lost.join(', ')}`);
  for (const name of want.subtypes) {
    const files = Object.keys(docs).filter((f) => (docs[f].definitions || {})[name]);
    if (files.length !== 1) throw new Error(`${api}: subtype '${name}' is defined in ${files.length} files`);
    walk({ $ref: `#/definitions/${name}` }, files[0]);
  }
  const out = {};
  for (const [file, doc] of Object.entries(docs)) {
    const paths = {};
    for (const [p, method, op] of ops.get(file)) (paths[p] = paths[p] || {})[method] = op;
    const definitions = {};
    for (const name of Object.keys(doc.definitions || {})) if (keep.get(file).has(name)) definitions[name] = doc.definitions[name];
    out[file] = { swagger: doc.swagger, paths, definitions };
  }
  return out;
}

function main() {
  const argv = process.argv.slice(2);
  const args = { check: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--git') args.git = argv[++i];
    else if (argv[i] === '--dir') args.dir = argv[++i];
    else if (argv[i] === '--check') args.check = true;
    else usage();
  }
  if (!args.git === !args.dir) usage();
  const srcs = sources();
  const man = manifest();
  let differ = 0;
  for (const [api, want] of Object.entries(man)) {
    const mine = srcs.filter((s) => s.api === api);
    const docs = Object.fromEntries(mine.map((s) => [s.file, JSON.parse(readSource(s, args))]));
    const out = extractApi(api, want, docs);
    for (const s of mine) {
      const text = `${JSON.stringify(out[s.file], null, 2)}\n`;
      const dest = path.join(DIR, s.local);
      const old = fs.existsSync(dest) ? fs.readFileSync(dest, 'utf8') : null;
      if (old === text) continue;
      differ++;
      if (args.check) {
        console.error(`extract: ${s.local} differs from what its source gives`);
      } else {
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        fs.writeFileSync(dest, text);
        console.log(`extract: wrote ${s.local}`);
      }
    }
  }
  if (args.check && differ) process.exit(1);
}

if (require.main === module) {
  try {
    main();
  } catch (e) {
    console.error(`extract: ${e.message}`);
    process.exit(1);
  }
}

module.exports = { extractApi };
