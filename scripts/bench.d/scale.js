'use strict';
// scripts/bench.d/scale.js - helpers of the bench's scale rows (scale.sh):
// files for the DuckDB query, their upload, and the timed query itself.
//
//   node scale.js jsonl DIR FILES ROWS          (FILES JSON-lines files of ROWS message rows each)
//   node scale.js putdir CONTAINER PREFIX DIR   (every file of DIR as PREFIX<name>, 8 at a time)
//   node scale.js count GLOB                    (prints "ROWS MS": DuckDB's count(*) over the
//                                                glob and the query's wall milliseconds)
//
// putdir reads BENCH_BLOB_URL, BENCH_ACCOUNT, BENCH_KEY_FILE and BENCH_CA, as blobs.js does.
// Design decision: the query is timed inside the process, around the query only, so
// Node's start and DuckDB's load (the same for every side) stay out of the ratio.
const fs = require('node:fs');
const path = require('node:path');

// Rows shaped like an exported BasicDataSet_v0.Message_v1 row (the columns the
// tests register), deterministic so every run queries the same bytes.
function jsonl(dir, files, rows) {
  fs.mkdirSync(dir, { recursive: true });
  for (let f = 0; f < files; f++) {
    const name = path.join(dir, `part-${String(f).padStart(5, '0')}.json`);
    if (fs.existsSync(name)) continue;
    const lines = [];
    for (let r = 0; r < rows; r++) {
      const n = f * rows + r;
      lines.push(JSON.stringify({
        id: `AAMkAD${n.toString(16).padStart(12, '0')}`,
        subject: `Quarterly review ${n % 97} of project ${n % 13}`,
        receivedDateTime: new Date(Date.UTC(2026, 0, 1) + n * 61000).toISOString(),
        puser: `user${n % 500}@contoso.example`,
        ptenant: '1ef6fec3-aadf-497d-9cc4-69b65906483f',
      }));
    }
    fs.writeFileSync(`${name}.tmp`, `${lines.join('\n')}\n`);
    fs.renameSync(`${name}.tmp`, name);
  }
}

async function putdir(container, prefix, dir) {
  const { client } = require(path.join(__dirname, '../sandbox.d/emulator/lib/azblob.js'));
  const env = process.env;
  const c = client({
    url: env.BENCH_BLOB_URL, account: env.BENCH_ACCOUNT,
    key: fs.readFileSync(env.BENCH_KEY_FILE, 'utf8').trim(),
    ca: env.BENCH_BLOB_URL.startsWith('https:') ? fs.readFileSync(env.BENCH_CA, 'utf8') : undefined,
  });
  try {
    const names = fs.readdirSync(dir).sort();
    let next = 0;
    const worker = async () => {
      while (next < names.length) {
        const n = names[next++];
        await c.putBlob(container, `${prefix}${n}`, fs.readFileSync(path.join(dir, n)));
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  } finally {
    c.close();
  }
}

async function count(glob) {
  const { DuckDBInstance } = require(path.join(__dirname, 'duckdb/node_modules/@duckdb/node-api'));
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const q = `SELECT count(*) FROM read_json_auto('${glob.replace(/'/g, "''")}', format = 'newline_delimited')`;
  const t0 = process.hrtime.bigint();
  const r = await con.runAndReadAll(q);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(`${r.getRows()[0][0]} ${ms.toFixed(3)}`);
}

async function main() {
  const [cmd, a, b, c] = process.argv.slice(2);
  if (cmd === 'jsonl') jsonl(a, Number(b), Number(c));
  else if (cmd === 'putdir') await putdir(a, b, c);
  else if (cmd === 'count') await count(a);
  else throw new Error('usage: scale.js jsonl DIR FILES ROWS | putdir CONTAINER PREFIX DIR | count GLOB');
}
main().catch((e) => { console.error(`scale.js: ${e.message}`); process.exit(1); });
