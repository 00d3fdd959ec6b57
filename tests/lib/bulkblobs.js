'use strict';
// tests/lib/bulkblobs.js - a folder of N blobs in a private Azurite, in seconds.
//
// Azurite stores at most ~1,000 Put Blobs a second on two cores, and fewer
// as the container grows (100,000 took 3.5 minutes), which is too slow for
// a test. So one real blob is put over HTTPS (Put Blob, the template), then,
// with that Azurite stopped, its metadata record is copied N-1 times in
// Azurite's own database file (LokiJS, the library and the record format of
// the Azurite the sandbox pins), each copy with its own name and ETag and
// the template's content. Azurite started again on that directory serves
// them like any other blobs.
//
//   node bulkblobs.js put URL ACCOUNT KEY_FILE CA CONTAINER NAME   (Put Blob, over HTTP)
//   node bulkblobs.js clone LOCATION CONTAINER NAME FORMAT N       (Azurite stopped)
//
// FORMAT has one %d, for 0..N-1 zero-padded to 6 digits ("big/f%d.json");
// NAME must be FORMAT's name for 0.
const fs = require('node:fs');
const path = require('node:path');
const { client } = require(path.join(__dirname, '../../scripts/sandbox.d/emulator/lib/azblob.js'));

const Loki = require(path.join(__dirname, '../../scripts/sandbox.d/node_modules/lokijs'));

const nameOf = (format, i) => format.replace('%d', String(i).padStart(6, '0'));

async function put(url, account, keyFile, ca, container, name) {
  const c = client({ url, account, key: fs.readFileSync(keyFile, 'utf8').trim(), ca });
  try {
    await c.createContainer(container);
    // A fresh Azurite may answer its first write with a 500 while it sets up its
    // extent store: try a few times.
    for (let i = 0; ; i++) {
      try {
        await c.putBlob(container, name, Buffer.from('{"bulk":true}\n'));
        return;
      } catch (e) {
        if (i >= 4 || !(e.status >= 500)) throw e;
        await new Promise((r) => setTimeout(r, 200 * (i + 1)));
      }
    }
  } finally {
    c.close();
  }
}

function clone(location, container, name, format, n) {
  const db = new Loki(path.join(location, '__azurite_db_blob__.json'), { persistenceMethod: 'fs' });
  return new Promise((resolve, reject) => {
    db.loadDatabase({}, (err) => {
      if (err) return reject(err);
      const coll = db.getCollection('$BLOBS_COLLECTION$');
      const t = coll && coll.findOne({ containerName: container, name });
      if (!t) return reject(new Error(`no blob ${container}/${name} to copy (was it saved?)`));
      const text = JSON.stringify(t);
      const docs = [];
      for (let i = 1; i < n; i++) {
        const d = JSON.parse(text);
        delete d.$loki;
        delete d.meta;
        d.name = nameOf(format, i);
        d.properties.etag = `"0x8D${(0x10000000 + i).toString(16).toUpperCase()}C0FFEE"`;
        docs.push(d);
      }
      // Indexes are rebuilt once, not kept sorted through 100,000 inserts.
      coll.adaptiveBinaryIndices = false;
      if (docs.length) coll.insert(docs);
      coll.ensureAllIndexes(true);
      db.saveDatabase((e) => (e ? reject(e) : resolve()));
    });
  });
}

async function main() {
  const [cmd, ...a] = process.argv.slice(2);
  if (cmd === 'put' && a.length === 6) {
    await put(...a);
  } else if (cmd === 'clone' && a.length === 5) {
    await clone(a[0], a[1], a[2], a[3], Number(a[4]));
  } else {
    throw new Error('usage: bulkblobs.js put URL ACCOUNT KEY_FILE CA CONTAINER NAME | '
      + 'clone LOCATION CONTAINER NAME FORMAT N');
  }
}
main().catch((e) => { console.error(`bulkblobs.js: ${e.message}`); process.exit(1); });
