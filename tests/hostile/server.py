#!/usr/bin/env python3
"""tests/hostile/server.py - a hostile tenant for mgdcfs's tests.

One HTTPS server (stdlib ssl + http.server) that answers as the Entra login,
Graph, the registration contract, ARM (ADF) and Blob storage at once, and
answers each of them in a chosen hostile way: a 10 GB Content-Length on a
JSON reply, endless paging, a page that never ends, JSON nested 100,000
deep, names with '../', '/', NUL, control characters and invalid UTF-8,
duplicate names, a garbage token reply, a slow-loris body.

Behaviour is chosen per endpoint at run time with
  GET /_hostile/set?KEY=MODE[&KEY=MODE...]
where KEY is token, org, reg, adf, or a container name (its List Blobs
reply; the GET of its blobs follows 'get_<container>'). /_hostile/stats
returns what was served (requests and bytes per key) as JSON, so a test can
report how much a client consumed before it gave up.

It generates its own CA (openssl) into --dir unless the files are there;
the test names ca.pem as the profile's ca_file. The port it listens on is
written to DIR/port once it accepts connections.

Usage: server.py --dir DIR [--port N]
"""
import argparse
import json
import os
import random
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"token": "ok", "org": "ok", "reg": "ok", "adf": "ok"}
STATS = {}
LOCK = threading.Lock()
DEEP = 100000
TEN_GB = 10 * 1000 * 1000 * 1000

# Names a hostile service could send: each must be hidden or refused, never
# turned into a path outside its directory or a name with a control char.
BAD_NAMES = ["../escape", "..", ".", "a/../../b", "/abs", "ctl\x01char", "tab\tname",
             "nl\nname", "del\x7f", "ok-name"]
# Blob names that can only travel percent-encoded (Encoded="true").
ENCODED_BAD = ["nul%00byte", "bad%FFutf8", "over%C0%AFlong", "%2E%2E", "ok%20two"]


def mkcerts(d):
    ca, key = os.path.join(d, "ca.pem"), os.path.join(d, "server.key")
    if os.path.exists(ca) and os.path.exists(os.path.join(d, "server.pem")):
        return
    os.makedirs(d, exist_ok=True)
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)
    run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", d + "/ca.key")
    run("openssl", "req", "-x509", "-new", "-key", d + "/ca.key", "-days", "2",
        "-subj", "/CN=mgdcfs hostile test CA", "-out", ca)
    run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)
    run("openssl", "req", "-new", "-key", key, "-subj", "/CN=127.0.0.1", "-out", d + "/server.csr")
    with open(d + "/ext.cnf", "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("openssl", "x509", "-req", "-in", d + "/server.csr", "-CA", ca, "-CAkey", d + "/ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", d + "/ext.cnf", "-out", d + "/server.pem")


def count(key, n):
    with LOCK:
        s = STATS.setdefault(key, {"requests": 0, "bytes": 0})
        s["requests"] += 1
        s["bytes"] += n


def xml_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    # ---- plumbing ----
    def send(self, code, body, ctype="application/json", headers=None, key="other"):
        if isinstance(body, str):
            body = body.encode("utf-8", "surrogateescape")
        hdrs = dict({"Content-Type": ctype, "Content-Length": str(len(body))}, **(headers or {}))
        self.send_response(code)
        for k, v in hdrs.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        count(key, len(body))

    def send_json(self, obj, key):
        self.send(200, json.dumps(obj), key=key)

    def stream(self, key, ctype, head, filler, length=None):
        """Headers, `head`, then `filler` forever: with a Content-Length of
        `length` (a lie) or chunked. Ends when the client goes away."""
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        if length is not None:
            self.send_header("Content-Length", str(length))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        sent = 0
        try:
            first = head
            while sent < 4 * TEN_GB:
                data = first + filler
                first = b""
                if length is None:
                    data = b"%x\r\n%s\r\n" % (len(data), data)
                self.wfile.write(data)
                sent += len(data)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass
        count(key, sent)
        self.close_connection = True

    def slow(self, key, ctype, body):
        """A slow-loris: a plausible Content-Length, then one byte a second."""
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        n = 0
        try:
            for i in range(len(body)):
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
                n += 1
                time.sleep(1)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass
        count(key, n)
        self.close_connection = True

    def hostile_json(self, key, mode, good):
        """Answer a JSON GET with `good` (a dict) or the hostile `mode`."""
        if mode == "bigcl":
            return self.stream(key, "application/json", b'{"value":[', b'{"name":"x"},' * 4096, TEN_GB)
        if mode == "stream":
            return self.stream(key, "application/json", b'{"value":[', b'{"name":"y"},' * 4096)
        if mode == "deep":
            return self.send(200, "[" * DEEP + "]" * DEEP, key=key)
        if mode == "deepobj":
            return self.send(200, '{"value":' + '{"a":' * DEEP + "1" + "}" * DEEP + "}", key=key)
        if mode == "garbage":
            return self.send(200, bytes(random.Random(1).randrange(256) for _ in range(65536)), key=key)
        if mode == "slow":
            return self.slow(key, "application/json", json.dumps(good).encode())
        if mode == "endless":
            page = int(self.q.get("page", ["0"])[0]) + 1
            base = self.path.split("?")[0]
            q = {k: v[0] for k, v in self.q.items()}
            q["page"] = str(page)
            doc = dict(good)
            doc["value"] = [{"name": "p%d" % page, "properties": {}}]
            doc["@odata.nextLink" if key != "adf" else "nextLink"] = (
                "https://127.0.0.1:%d%s?%s" % (self.server.server_port, base, urllib.parse.urlencode(q)))
            return self.send_json(doc, key)
        if mode == "names":
            doc = dict(good)
            doc["value"] = [{"name": n, "appId": "app-%d" % i, "properties": {}}
                            for i, n in enumerate(BAD_NAMES + ["ok-name", "\udcff\udcfeinvalid"])]
            body = json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogateescape")
            return self.send(200, body, key=key)
        return self.send_json(good, key)

    # ---- endpoints ----
    def do_HEAD(self):
        self.do_GET()

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        n = min(n, 1 << 20)
        self.rfile.read(n)
        self.route()

    def do_PUT(self):
        self.do_POST()

    def do_GET(self):
        self.route()

    def route(self):
        u = urllib.parse.urlsplit(self.path)
        self.q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        p = u.path
        try:
            if p.startswith("/_hostile/"):
                return self.control(p)
            if p.startswith("/login/"):
                return self.token()
            if p.startswith("/graph/"):
                return self.hostile_json("org", STATE["org"], {"value": [{
                    "id": "00000000-0000-0000-0000-000000000001", "displayName": "Hostile",
                    "verifiedDomains": [{"name": "hostile.example"}]}]})
            if p.startswith("/mgdc/"):
                if p.endswith("/dataConnect"):
                    return self.send_json({"enabled": True}, "reg")
                return self.hostile_json("reg", STATE["reg"], {"value": []})
            if p.startswith("/arm/"):
                return self.hostile_json("adf", STATE["adf"], {"value": []})
            if p.startswith("/acct"):
                return self.blob(p)
            self.send(404, '{"error":{"code":"NotFound","message":"no such path"}}')
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True

    def control(self, p):
        if p == "/_hostile/set":
            with LOCK:
                for k, v in self.q.items():
                    STATE[k] = v[0]
                snap = dict(STATE)
            return self.send_json(snap, "ctl")
        if p == "/_hostile/stats":
            with LOCK:
                snap = json.loads(json.dumps(STATS))
            return self.send_json(snap, "ctl")
        self.send(404, "{}")

    def token(self):
        mode = STATE["token"]
        good = {"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600,
                "access_token": "hostile.header.sig"}
        if mode == "ok":
            return self.send_json(good, "token")
        if mode == "notjson":
            return self.send(200, "<html>this is not a token</html>", "text/html", key="token")
        if mode == "wrongtypes":
            return self.send_json({"access_token": 12, "expires_in": "soon", "token_type": []}, "token")
        if mode == "hugetoken":
            return self.send_json(dict(good, access_token="A" * (1 << 20)), "token")
        if mode == "ctltoken":
            return self.send_json(dict(good, access_token="a\r\nX-Injected: 1"), "token")
        return self.hostile_json("token", mode, good)

    def blob(self, p):
        parts = p.split("/", 2)  # '', 'acct', 'container/blob'
        rest = parts[2] if len(parts) > 2 else ""
        if rest == "" and self.q.get("comp") == ["list"]:
            names = sorted(k for k in STATE if k not in ("token", "org", "reg", "adf") and not k.startswith("get_"))
            xml = "".join("<Container><Name>%s</Name><Properties><Last-Modified>Mon, 02 Nov 2026 10:00:00 GMT"
                          "</Last-Modified><Etag>\"0x1\"</Etag></Properties></Container>" % n for n in names)
            return self.send(200, '<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint='
                             '"https://127.0.0.1/acct/"><Containers>%s</Containers><NextMarker/></EnumerationResults>'
                             % xml, "application/xml", key="containers")
        cont, _, name = rest.partition("/")
        if name == "" and self.q.get("comp") == ["list"]:
            return self.list_blobs(cont, STATE.get(cont, "ok"))
        mode = STATE.get("get_" + cont, "ok")
        key = "get_" + cont
        if mode == "bigcl":
            return self.stream(key, "application/octet-stream", b"", b"\0" * 65536, TEN_GB)
        if mode == "slow":
            return self.slow(key, "application/octet-stream", b"x" * 64)
        body = b"hello from a hostile server\n"
        rng = self.headers.get("Range") or self.headers.get("x-ms-range")
        hdrs = {"ETag": '"0x2"', "Last-Modified": "Mon, 02 Nov 2026 10:00:00 GMT",
                "x-ms-blob-type": "BlockBlob", "Accept-Ranges": "bytes"}
        if rng and rng.startswith("bytes="):
            a, _, b = rng[6:].partition("-")
            a = int(a)
            b = min(int(b) if b else len(body) - 1, len(body) - 1)
            chunk = body[a:b + 1]
            hdrs["Content-Range"] = "bytes %d-%d/%d" % (a, b, len(body))
            return self.send(206, chunk, "application/octet-stream", hdrs, key)
        return self.send(200, body if self.command != "HEAD" else b"", "application/octet-stream", hdrs, key)

    def list_blobs(self, cont, mode):
        key = "list_" + cont
        head = ('<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint='
                '"https://127.0.0.1/acct/" ContainerName="%s"><Blobs>' % cont)

        def blob(name, encoded=False, size=28):
            enc = ' Encoded="true"' if encoded else ""
            return ("<Blob><Name%s>%s</Name><Properties><Last-Modified>Mon, 02 Nov 2026 10:00:00 GMT"
                    "</Last-Modified><Etag>\"0x2\"</Etag><Content-Length>%d</Content-Length>"
                    "<BlobType>BlockBlob</BlobType></Properties></Blob>" % (enc, xml_escape(name), size))

        def prefix(name):
            return "<BlobPrefix><Name>%s</Name></BlobPrefix>" % xml_escape(name)

        if mode == "endless":
            # A full page of 5,000 entries and a NextMarker that never ends.
            page = int((self.q.get("marker") or ["m0"])[0][1:] or 0) + 1
            items = "".join(blob("e%d-%d" % (page, i)) for i in range(5000))
            return self.send(200, head + items + "</Blobs><NextMarker>m%d</NextMarker></EnumerationResults>"
                             % page, "application/xml", key=key)
        if mode == "emptypages":
            page = int((self.q.get("marker") or ["m0"])[0][1:] or 0) + 1
            return self.send(200, head + "</Blobs><NextMarker>m%d</NextMarker></EnumerationResults>" % page,
                             "application/xml", key=key)
        if mode == "hugepage":
            return self.stream(key, "application/xml", head.encode(), blob("h").encode() * 256)
        if mode == "bigcl":
            return self.stream(key, "application/xml", head.encode(), blob("h").encode() * 256, TEN_GB)
        if mode == "deep":
            return self.send(200, head + "<a>" * DEEP + "</a>" * DEEP + "</Blobs></EnumerationResults>",
                             "application/xml", key=key)
        if mode == "garbage":
            return self.send(200, "<EnumerationResults><Blobs><Blob><Name>&bogus;</Nam", "application/xml",
                             key=key)
        if mode == "slow":
            return self.slow(key, "application/xml", (head + blob("s") + "</Blobs><NextMarker/>"
                                                     "</EnumerationResults>").encode())
        if mode == "names":
            items = "".join(blob(n) for n in BAD_NAMES if "\x01" not in n and "\x7f" not in n)
            # XML 1.0 cannot carry most control characters raw; the service sends them encoded.
            items += "".join(blob(urllib.parse.quote(n, safe=""), True) for n in BAD_NAMES)
            items += "".join(blob(n, True) for n in ENCODED_BAD)
            items += prefix("../") + prefix("dir/") + blob("good.json")
            return self.send(200, head + items + "</Blobs><NextMarker/></EnumerationResults>",
                             "application/xml", key=key)
        if mode == "dups":
            items = blob("same.json") + blob("same.json", size=5) + blob("both") + prefix("both/")
            items += prefix("d2/") + prefix("d2/") + blob("zz.json")
            return self.send(200, head + items + "</Blobs><NextMarker/></EnumerationResults>",
                             "application/xml", key=key)
        return self.send(200, head + blob("good.json") + "</Blobs><NextMarker/></EnumerationResults>",
                         "application/xml", key=key)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    mkcerts(a.dir)
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), H)
    srv.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(a.dir, "server.pem"), os.path.join(a.dir, "server.key"))
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(os.path.join(a.dir, "port.tmp"), "w") as f:
        f.write(str(srv.server_port))
    os.rename(os.path.join(a.dir, "port.tmp"), os.path.join(a.dir, "port"))
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
