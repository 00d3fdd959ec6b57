'use strict';
// tests/lib/blob.js - write test blobs straight into the sandbox's Azurite
// (Shared Key, through the emulator's own Blob client), so mount tests can
// prepare data without going through mgdcfs.
//
//   node tests/lib/blob.js mkcontainer NAME
//   node tests/lib/blob.js put CONTAINER NAME FILE     (blocks of 8 MiB above 32 MiB)
//
// Reads MGDC_BLOB_URL, MGDC_STORAGE_ACCOUNT, MGDC_STORAGE_KEY_FILE, MGDC_SANDBOX_CA.
const fs = require('node:fs');
const path = require('node:path');
const { client } = require(path.join(__dirname, '../../scripts/sandbox.d/emulator/lib/azblob.js'));

async function main() {
  const env = process.env;
  const c = client({
    url: env.MGDC_BLOB_URL,
    account: env.MGDC_STORAGE_ACCOUNT,
    key: fs.readFileSync(env.MGDC_STORAGE_KEY_FILE, 'utf8').trim(),
    ca: fs.readFileSync(env.MGDC_SANDBOX_CA),
  });
  const [cmd, a, b, file] = process.argv.slice(2);
  if (cmd === 'mkcontainer') {
    await c.createContainer(a);
  } else if (cmd === 'put') {
    const size = fs.statSync(file).size;
    if (size <= 32 << 20) {
      await c.putBlob(a, b, fs.readFileSync(file));
    } else {
      const fd = fs.openSync(file, 'r');
      const ids = [];
      const buf = Buffer.alloc(8 << 20);
      for (let off = 0, i = 0; off < size; off += buf.length, i++) {
        const n = fs.readSync(fd, buf, 0, buf.length, off);
        const id = Buffer.from(String(i).padStart(8, '0')).toString('base64');
        await c.putBlock(a, b, id, buf.subarray(0, n));
        ids.push(id);
      }
      fs.closeSync(fd);
      await c.putBlockList(a, b, ids);
    }
  } else {
    throw new Error('usage: blob.js mkcontainer NAME | put CONTAINER NAME FILE');
  }
}
main().catch((e) => { console.error(`blob.js: ${e.message}`); process.exit(1); });
