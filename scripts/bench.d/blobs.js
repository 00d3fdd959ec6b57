'use strict';
// scripts/bench.d/blobs.js - prepare the benchmark's blobs in the bench's own
// in-memory Azurite, and sign the SAS URLs its baselines (curl, rclone) use.
// It signs with the sandbox's Shared Key client (scripts/sandbox.d), so the
// bench writes data exactly as the tests do.
//
//   node blobs.js mkcontainer CONTAINER
//   node blobs.js put CONTAINER NAME FILE            (64 MiB blocks above 64 MiB)
//   node blobs.js repeat CONTAINER NAME FILE TIMES   (FILE's bytes TIMES over, one block reused)
//   node blobs.js many CONTAINER PREFIX N            (N small blobs PREFIX00000...)
//   node blobs.js sas CONTAINER                      (query string: read+list, http and https)
//
// Reads BENCH_BLOB_URL (https://127.0.0.1:PORT/ACCOUNT or http://...),
// BENCH_ACCOUNT, BENCH_KEY_FILE and, for https, BENCH_CA.
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { client } = require(path.join(__dirname, '../sandbox.d/emulator/lib/azblob.js'));

const BLOCK = 64 << 20;
const blockId = (i) => Buffer.from(String(i).padStart(8, '0')).toString('base64');

// A service SAS for the container (sr=c, sp=rl), valid a day, over http and https:
// the plain-HTTP Azurite of the bench is reached with it too.
function sas(account, key, container) {
  const sv = '2021-08-06';
  const fmt = (d) => d.toISOString().slice(0, 19) + 'Z';
  const st = fmt(new Date(Date.now() - 5 * 60e3));
  const se = fmt(new Date(Date.now() + 24 * 3600e3));
  const sts = ['rl', st, se, `/blob/${account}/${container}`, '', '', 'https,http', sv, 'c',
    '', '', '', '', '', '', ''].join('\n');
  const sig = crypto.createHmac('sha256', Buffer.from(key, 'base64')).update(sts, 'utf8').digest('base64');
  return new URLSearchParams({ sv, sr: 'c', sp: 'rl', st, se, spr: 'https,http', sig }).toString();
}

async function putFile(c, container, name, file) {
  const size = fs.statSync(file).size;
  if (size <= BLOCK) return c.putBlob(container, name, fs.readFileSync(file));
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(BLOCK);
  const ids = [];
  try {
    for (let off = 0, i = 0; off < size; off += BLOCK, i++) {
      const n = fs.readSync(fd, buf, 0, BLOCK, off);
      await c.putBlock(container, name, blockId(i), buf.subarray(0, n));
      ids.push(blockId(i));
    }
  } finally {
    fs.closeSync(fd);
  }
  return c.putBlockList(container, name, ids);
}

async function main() {
  const env = process.env;
  const key = fs.readFileSync(env.BENCH_KEY_FILE, 'utf8').trim();
  const [cmd, container, a, b, d] = process.argv.slice(2);
  if (cmd === 'sas') {
    process.stdout.write(`${sas(env.BENCH_ACCOUNT, key, container)}\n`);
    return;
  }
  const c = client({
    url: env.BENCH_BLOB_URL, account: env.BENCH_ACCOUNT, key,
    ca: env.BENCH_BLOB_URL.startsWith('https:') ? fs.readFileSync(env.BENCH_CA, 'utf8') : undefined,
  });
  try {
    if (cmd === 'mkcontainer') {
      await c.createContainer(container);
    } else if (cmd === 'put') {
      await putFile(c, container, a, b);
    } else if (cmd === 'repeat') {
      // Azure lets a block list name one block many times; Azurite keeps one copy in memory.
      await c.putBlock(container, a, blockId(0), fs.readFileSync(b));
      await c.putBlockList(container, a, Array(Number(d)).fill(blockId(0)));
    } else if (cmd === 'many') {
      const n = Number(b);
      let next = 0;
      const body = Buffer.from('{"bench":true}\n');
      const worker = async () => {
        while (next < n) {
          const i = next++;
          await c.putBlob(container, `${a}${String(i).padStart(5, '0')}.json`, body);
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
    } else {
      throw new Error('usage: blobs.js mkcontainer|put|repeat|many|sas CONTAINER ...');
    }
  } finally {
    c.close();
  }
}
main().catch((e) => { console.error(`blobs.js: ${e.message}`); process.exit(1); });
