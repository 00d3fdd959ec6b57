#!/usr/bin/env python3
"""Scripted HTTP(S) server for the net/ unit tests (python3 stdlib only).

Usage: http_server.py [--tls CERT KEY]
Listens on 127.0.0.1 on a free port and prints "PORT <n>" on stdout once
ready. Each path is one scripted behaviour; per-key counters live in memory so
"first attempt fails, second succeeds" can be scripted. Runs until killed.

  /status/<code>[?ra=<Retry-After>][&ms=<x-ms-retry-after-ms>]   that status, body "status <code>"
  /flaky/<key>/<n>/<code>?ra=..  the first <n> requests for <key> get <code>, then 200 "ok <key>"
  /drop/<key>           first request: Content-Length 4096, 100 bytes, connection closed;
                        then the full 4096-byte body (bytes i % 251)
  /huge                 announces Content-Length: 10000000000, sends 1 KiB, then stalls
  /bighead              (HEAD) Content-Length: 10000000000 and, as HEAD demands, no body
  /chunked/<n>          <n> bytes of 'x', chunked (no Content-Length)
  /slow                 Content-Length 100, sends 1 byte, then stalls 60 s
  /headers/<n>          <n> response headers
  /echo                 JSON {"method","path","headers","body"} of the request
  /count/<key>          how many requests <key> saw (for /flaky, /login, /api-<key>);
                        /count/<tenant>.form: the last form posted to /login for <tenant>
  /login/<opts>/<tenant>/oauth2/v2.0/token   Entra-like token endpoint answering
                        {"access_token":"tok-<tenant>-<n>",...}; <opts> is "-"-separated:
                        d<ms> delay, l<s> expires_in, e: an AADSTS7000215 error instead,
                        f<n>: that error after <n> successful requests
  /api/<key>            401 unless the bearer is the newest token of <key>, or on the
                        first call of <key> (to test the 401 -> refresh -> retry path)
"""
import json
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

lock = threading.Lock()
counts = {}
tokens = {}


def bump(key):
    with lock:
        counts[key] = counts.get(key, 0) + 1
        return counts[key]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body=b"", headers=None, ctype="text/plain"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.handle_any()

    def do_GET(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def do_PUT(self):
        self.handle_any()

    def do_DELETE(self):
        self.handle_any()

    def handle_any(self):
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        parts = u.path.strip("/").split("/")
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        retry_headers = {}
        if "ra" in q:
            retry_headers["Retry-After"] = q["ra"]
        if "ms" in q:
            retry_headers["x-ms-retry-after-ms"] = q["ms"]
        kind = parts[0]
        if kind == "status":
            code = int(parts[1])
            bump("status")
            self.reply(code, "status %d" % code, retry_headers)
        elif kind == "flaky":
            key, fails, code = parts[1], int(parts[2]), int(parts[3])
            c = bump(key)
            if c <= fails:
                self.reply(code, "fail %d" % c, retry_headers)
            else:
                self.reply(200, "ok " + key)
        elif kind == "drop":
            data = bytes(i % 251 for i in range(4096))
            if bump(parts[1]) == 1:
                self.send_response(200)
                self.send_header("Content-Length", "4096")
                self.end_headers()
                self.wfile.write(data[:100])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.reply(200, data, ctype="application/octet-stream")
        elif kind == "huge":
            self.send_response(200)
            self.send_header("Content-Length", "10000000000")
            self.end_headers()
            self.wfile.write(b"x" * 1024)
            self.wfile.flush()
            time.sleep(5)
            self.close_connection = True
        elif kind == "bighead":
            self.send_response(200)
            self.send_header("Content-Length", "10000000000")
            self.end_headers()
        elif kind == "chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            left = int(parts[1])
            while left > 0:
                k = min(left, 65536)
                self.wfile.write(b"%x\r\n" % k + b"x" * k + b"\r\n")
                left -= k
            self.wfile.write(b"0\r\n\r\n")
        elif kind == "slow":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b"x")
            self.wfile.flush()
            time.sleep(60)
            self.close_connection = True
        elif kind == "headers":
            self.send_response(200)
            for i in range(int(parts[1])):
                self.send_header("X-H%d" % i, "v%d" % i)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
        elif kind == "echo":
            self.reply(200, json.dumps({
                "method": self.command, "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("latin-1")}), ctype="application/json")
        elif kind == "count":
            with lock:
                c = counts.get(parts[1], 0)
            self.reply(200, str(c))
        elif kind == "login":
            opts = dict((o[0], o[1:]) for o in parts[1].split("-") if o)
            key = parts[2]
            time.sleep(int(opts.get("d", "0")) / 1000.0)
            c = bump(key)
            with lock:
                counts[key + ".form"] = body.decode("latin-1")
            if "e" in opts or ("f" in opts and c > int(opts["f"])):
                self.reply(401, json.dumps({
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided. "
                    "Ensure the secret being sent in the request is the client secret value."
                    "\r\nTrace ID: 255d1aef-8c98\r\nCorrelation ID: fb3d2015\r\n"
                    "Timestamp: 2026-11-27 02:02:12Z",
                    "error_codes": [7000215], "trace_id": "255d1aef-8c98",
                    "correlation_id": "fb3d2015"}), ctype="application/json")
                return
            tok = "tok-%s-%d" % (key, c)
            with lock:
                tokens[key] = tok
            self.reply(200, json.dumps({"token_type": "Bearer", "access_token": tok,
                                        "expires_in": int(opts.get("l", "3599"))}),
                       ctype="application/json")
        elif kind == "api":
            key = parts[1]
            c = bump("api-" + key)
            with lock:
                want = "Bearer " + tokens.get(key, "")
            if c == 1 or self.headers.get("Authorization") != want:
                self.reply(401, json.dumps({"error": {"code": "InvalidAuthenticationToken",
                                                      "message": "Access token has expired."}}),
                           ctype="application/json")
            else:
                self.reply(200, "api ok")
        else:
            self.reply(404, "no such script")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that hang up early are part of the script


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    if len(sys.argv) >= 4 and sys.argv[1] == "--tls":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
