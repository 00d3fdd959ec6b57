'use strict';
// A tiny Azure Blob REST client with Shared Key authorization, for the copy
// engine (writing exports into Azurite) and for tests (reading them back):
// create container, Put Blob, Put Block / Put Block List, List Blobs, Get
// Blob. Reference: blob-storage.md §1 (signing) and §4.4 (writes).
//
// Key decision: URLs are path-style (https://127.0.0.1:PORT/<account>/...),
// and the canonicalized resource is "/" + account + the raw URL path, which
// puts the account in twice on path-style endpoints exactly as Azurite (and
// Azure for IP endpoints) expects. Every request is signed from the exact
// header values sent, with Content-Length 0 signed as the empty string.

const https = require('node:https');
const http = require('node:http');
const fs = require('node:fs');
const crypto = require('node:crypto');

const VERSION = '2021-08-06';
const MAX_LIST_XML = 32 * 1024 * 1024; // one List Blobs page (5000 blobs ~ 3 MB)
const MAX_GET = 256 * 1024 * 1024; // get() buffers; exports are read in tests only

class BlobError extends Error {
  constructor(status, code, message) {
    super(`blob ${status} ${code}: ${message}`);
    this.status = status;
    this.code = code;
  }
}

const encPath = (p) => p.split('/').map(encodeURIComponent).join('/');
const xmlDecode = (s) => s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (m, e) => {
  const named = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
  if (named[e]) return named[e];
  return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
});

/*
 * stringToSign - the Shared Key string-to-sign of one request (reference
 * blob-storage.md §1.1). `headers` are the exact (lowercase-named) headers
 * sent; `path` is the raw, percent-encoded URL path; `query` a
 * URLSearchParams. Pure; exported for tests.
 */
function stringToSign(method, path, query, headers, account) {
  const h = (n) => (headers[n] === undefined ? '' : String(headers[n]));
  const len = h('content-length') === '0' ? '' : h('content-length');
  const std = [method, h('content-encoding'), h('content-language'), len, h('content-md5'), h('content-type'),
    h('date'), h('if-modified-since'), h('if-match'), h('if-none-match'), h('if-unmodified-since'), h('range')];
  const xms = Object.keys(headers).filter((n) => n.startsWith('x-ms-')).sort()
    .map((n) => `${n}:${String(headers[n]).trim().replace(/\s+/g, ' ')}\n`).join('');
  let res = `/${account}${path}`;
  const names = [...new Set([...query.keys()].map((k) => k.toLowerCase()))].sort();
  for (const n of names) {
    const vals = [...query.entries()].filter(([k]) => k.toLowerCase() === n).map(([, v]) => v).sort();
    res += `\n${n}:${vals.join(',')}`;
  }
  return `${std.join('\n')}\n${xms}${res}`;
}

/*
 * sign - the Authorization header value ("SharedKey account:signature") for
 * the same arguments plus the base64 account key. Pure.
 */
function sign(method, path, query, headers, account, keyB64) {
  const sts = stringToSign(method, path, query, headers, account);
  const mac = crypto.createHmac('sha256', Buffer.from(keyB64, 'base64')).update(sts, 'utf8').digest('base64');
  return `SharedKey ${account}:${mac}`;
}

/*
 * client - a Blob client for `url` (the account endpoint, path-style
 * https://host:port/<account>, or a bare https://host:port to which the
 * account is appended), `account`, base64 `key`, and optional `ca` (PEM
 * text or a file name). Methods return promises and reject with BlobError
 * (or the transport error); the write methods take an optional AbortSignal
 * last, which aborts the request in flight.
 * One keep-alive agent per client; safe for concurrent use.
 */
function client({ url, account, key, ca }) {
  const base = new URL(url);
  let prefix = base.pathname.replace(/\/+$/, '');
  if (!prefix.endsWith(`/${account}`)) prefix += `/${account}`;
  const isHttps = base.protocol === 'https:';
  let caText;
  if (ca) caText = ca.includes('-----BEGIN') ? ca : fs.readFileSync(ca, 'utf8');
  const agent = isHttps
    ? new https.Agent({ keepAlive: true, maxSockets: 4, ca: caText })
    : new http.Agent({ keepAlive: true, maxSockets: 4 });

  // A kept-alive socket that the server closed while idle (Azurite ends them
  // after a few idle seconds) fails the next request with ECONNRESET ("socket
  // hang up") before any reply: Node's documented remedy is to send it again
  // on a new socket (req.reusedSocket). The pool may hold more sockets the
  // server closed at the same moment, so the second attempt takes a
  // connection of its own, outside the pool. Every request here is
  // idempotent (PUTs of whole blobs, blocks and block lists; GETs), so
  // sending it twice is safe.
  async function request(method, blobPath, opts = {}) {
    try {
      return await requestOnce(method, blobPath, opts, agent);
    } catch (e) {
      if (!e.reusedSocket || e.code !== 'ECONNRESET' || (opts.signal && opts.signal.aborted)) throw e;
      return requestOnce(method, blobPath, opts, false);
    }
  }

  // One request on `via`: the client's agent, or false for a new connection.
  function requestOnce(method, blobPath, { query = {}, headers = {}, body = null, cap = MAX_LIST_XML, signal } = {}, via) {
    const path = `${prefix}/${encPath(blobPath)}`;
    const qs = new URLSearchParams(query);
    const hdrs = {
      'x-ms-date': new Date().toUTCString(),
      'x-ms-version': VERSION,
      ...headers,
      'content-length': String(body ? body.length : 0),
    };
    hdrs.authorization = sign(method, path, qs, hdrs, account, key);
    const q = qs.toString();
    return new Promise((resolve, reject) => {
      const req = (isHttps ? https : http).request({
        method, host: base.hostname, port: base.port, path: q ? `${path}?${q.replace(/\+/g, '%20')}` : path, headers: hdrs, agent: via, signal,
        ...(via === false && isHttps ? { ca: caText } : {}),
      }, (res) => {
        const parts = [];
        let n = 0;
        res.on('data', (c) => {
          n += c.length;
          if (n > cap) { res.destroy(new BlobError(res.statusCode, 'ResponseTooLarge', `response exceeds ${cap} bytes`)); return; }
          parts.push(c);
        });
        res.on('error', reject);
        res.on('end', () => {
          const buf = Buffer.concat(parts);
          if (res.statusCode >= 300) {
            const text = buf.toString('utf8');
            const code = (/<Code>([^<]*)<\/Code>/.exec(text) || [])[1] || res.headers['x-ms-error-code'] || 'Unknown';
            const msg = (/<Message>([^<]*)<\/Message>/.exec(text) || [])[1] || '';
            reject(new BlobError(res.statusCode, code, xmlDecode(msg).split('\n')[0]));
            return;
          }
          resolve({ status: res.statusCode, headers: res.headers, body: buf });
        });
      });
      req.on('error', (e) => {
        e.reusedSocket = req.reusedSocket;
        reject(e);
      });
      req.end(body || undefined);
    });
  }

  return {
    // Resolves true when created, false when it already existed.
    async createContainer(name) {
      try {
        await request('PUT', name, { query: { restype: 'container' } });
        return true;
      } catch (e) {
        if (e instanceof BlobError && e.code === 'ContainerAlreadyExists') return false;
        throw e;
      }
    },
    async putBlob(container, name, buf, contentType = 'application/octet-stream', signal) {
      const r = await request('PUT', `${container}/${name}`, {
        headers: { 'x-ms-blob-type': 'BlockBlob', 'content-type': contentType }, body: buf, signal,
      });
      return r.headers.etag;
    },
    async putBlock(container, name, blockId, buf, signal) {
      await request('PUT', `${container}/${name}`, { query: { comp: 'block', blockid: blockId }, body: buf, signal });
    },
    async putBlockList(container, name, blockIds, contentType = 'application/octet-stream', signal) {
      const xml = `<?xml version="1.0" encoding="utf-8"?><BlockList>${blockIds.map((id) => `<Latest>${id}</Latest>`).join('')}</BlockList>`;
      const r = await request('PUT', `${container}/${name}`, {
        query: { comp: 'blocklist' }, headers: { 'x-ms-blob-content-type': contentType, 'content-type': 'application/xml' },
        body: Buffer.from(xml, 'utf8'), signal,
      });
      return r.headers.etag;
    },
    // Every blob under `prefix`, following NextMarker: [{name, size, etag}].
    async list(container, prefix = '') {
      const out = [];
      let marker = '';
      for (let page = 0; page < 10000; page++) {
        const query = { restype: 'container', comp: 'list' };
        if (prefix) query.prefix = prefix;
        if (marker) query.marker = marker;
        const r = await request('GET', container, { query });
        const xml = r.body.toString('utf8');
        for (const m of xml.matchAll(/<Blob>([\s\S]*?)<\/Blob>/g)) {
          const get = (tag) => ((new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(m[1])) || [])[1];
          out.push({ name: xmlDecode(get('Name')), size: Number(get('Content-Length')), etag: get('Etag') });
        }
        marker = xmlDecode((/<NextMarker>([^<]*)<\/NextMarker>/.exec(xml) || [])[1] || '');
        if (!marker) return out;
      }
      return out;
    },
    async get(container, name) {
      return (await request('GET', `${container}/${name}`, { cap: MAX_GET })).body;
    },
    close() { agent.destroy(); },
  };
}

module.exports = { client, stringToSign, BlobError };
