#!/usr/bin/env python3
"""tests/lib/proxy.py - a small fault-injecting TCP proxy for the mount tests.

Loopback only, stdlib only, bounded (connections, lifetime, socket timeouts).
It sits between mgdcfs and a TLS server (Azurite) in one of two modes:

  tcp  relays the TLS bytes untouched. A corruption flips one bit inside the
       payload of a TLS application-data record (the record layer is parsed,
       so the flip never lands in a record header): the client's TLS stack
       must reject the record (bad MAC) - it is a transport error, never data.
  tls  terminates TLS with the sandbox's server certificate and opens its own
       verified TLS connection upstream, so it sees plaintext HTTP: it forces
       "Connection: close" on every request (one request per connection, so
       each response runs to EOF and needs no framing), and a corruption flips
       one bit in the body of a 206 (range) response - only an end-to-end
       checksum (Content-MD5) can catch that.

Faults are armed at run time through a control port (one command per
connection, one answer line):
  corrupt N AFTER   flip a bit at body/stream offset AFTER in the next N responses
  cut N AFTER       close both sides after AFTER body/stream bytes, N times
  stats             "conns=C corrupted=X cut=Y"
  reset             disarm everything
In tls mode it also sees each request line ("GET /acct/c?comp=list... HTTP/1.1"):
  hold REGEX        requests whose line matches wait (at most 5 minutes) ...
  release           ... until this lets them all go on (and clears the pattern)
  held              how many requests wait now
  count REGEX       how many requests so far had a matching line

  proxy.py serve --mode tcp|tls --target PORT --port-file F
           [--cert F --key F --ca F] [--max-seconds S]
  proxy.py ctl PORT_FILE COMMAND...
"""
import argparse
import os
import re
import socket
import ssl
import sys
import threading
import time

MAX_CONNS = 64
IO_TIMEOUT_S = 60
HEAD_MAX = 64 << 10
BUF = 64 << 10


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()
        self.conns = 0
        self.corrupted = 0
        self.cuts = 0

    def reset(self):
        with self.lock:
            self.corrupt_n, self.corrupt_at = 0, 0
            self.cut_n, self.cut_at = 0, 0

    def done(self, kind):
        with self.lock:
            if kind == "corrupt":
                self.corrupted += 1
            else:
                self.cuts += 1


F = Faults()
SLOTS = threading.BoundedSemaphore(MAX_CONNS)
HOLD_MAX_S = 300
LINES_MAX = 200000


class Requests:
    """The request lines seen (tls mode), and the hold on some of them."""

    def __init__(self):
        self.cond = threading.Condition()
        self.lines = []
        self.hold = None  # compiled pattern, or None
        self.gen = 0  # bumped by release: a request held before it goes on
        self.waiting = 0

    def arrive(self, line):
        with self.cond:
            if len(self.lines) < LINES_MAX:
                self.lines.append(line)
            if self.hold is None or not self.hold.search(line):
                return
            gen = self.gen
            self.waiting += 1
            self.cond.wait_for(lambda: self.gen != gen, timeout=HOLD_MAX_S)
            self.waiting -= 1

    def count(self, pattern):
        r = re.compile(pattern)
        with self.cond:
            return sum(1 for l in self.lines if r.search(l))


R = Requests()


def pump(src, dst):
    """Copy src to dst until EOF or error, then half-close dst."""
    try:
        while True:
            b = src.recv(BUF)
            if not b:
                break
            dst.sendall(b)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


class Down:
    """The server-to-client direction with at most one armed corruption and one cut."""

    def __init__(self, armed=True):
        self.armed = armed  # False: this stream is never faulted (a tls-mode non-206)
        self.flip = self.cut = None
        self.off = 0  # bytes counted (stream bytes in tcp mode, body bytes in tls mode)

    def arm(self, end):
        """Take an armed fault once this stream reaches its offset (so connections opened
        before the fault was armed can get it too); at most one of each per stream."""
        if not self.armed:
            return
        with F.lock:
            if self.flip is None and F.corrupt_n > 0 and end > F.corrupt_at:
                F.corrupt_n -= 1
                self.flip = F.corrupt_at
            if self.cut is None and F.cut_n > 0 and end >= F.cut_at:
                F.cut_n -= 1
                self.cut = F.cut_at
        if self.flip is not None or self.cut is not None:
            self.armed = False

    def apply(self, b, eligible):
        """Returns (bytes to send, stop). `eligible` marks a byte range the flip may hit."""
        self.arm(self.off + len(b))
        if self.cut is not None and self.off + len(b) >= self.cut:
            b = b[: self.cut - self.off]
            self.cut = None
            F.done("cut")
            self.off += len(b)
            return b, True
        if self.flip is not None and eligible and self.flip < self.off + len(b):
            i = max(0, self.flip - self.off)  # the first eligible byte at or after the offset
            b = b[:i] + bytes([b[i] ^ 0x01]) + b[i + 1:]
            self.flip = None
            F.done("corrupt")
        self.off += len(b)
        return b, False

    def close(self):
        # A flip taken but not applied (no eligible byte came) goes back for the next one.
        if self.flip is not None:
            with F.lock:
                F.corrupt_n += 1


def down_tcp(up, cl):
    """Relay TLS records; a flip goes into the payload of an application-data record."""
    d = Down()
    pend = b""
    try:
        while True:
            b = up.recv(BUF)
            if not b:
                break
            pend += b
            out = []
            stop = False
            while len(pend) >= 5 and not stop:
                n = int.from_bytes(pend[3:5], "big")
                if len(pend) < 5 + n:
                    break
                hdr, payload, pend = pend[:5], pend[5:5 + n], pend[5 + n:]
                h2, stop = d.apply(hdr, False)
                out.append(h2)
                if not stop:
                    p2, stop = d.apply(payload, hdr[0] == 23 and n > 64)
                    out.append(p2)
            cl.sendall(b"".join(out))
            if stop:
                return
        if pend:
            cl.sendall(pend)
    except OSError:
        pass
    finally:
        d.close()


def down_tls(up, cl):
    """Relay one plaintext response; faults apply to the body of a 206."""
    d = Down()
    head = b""
    try:
        while b"\r\n\r\n" not in head:
            b = up.recv(BUF)
            if not b:
                cl.sendall(head)
                return
            head += b
            if len(head) > HEAD_MAX:
                return
        i = head.index(b"\r\n\r\n") + 4
        head, body = head[:i], head[i:]
        ranged = head.split(b" ", 2)[1:2] == [b"206"]
        d.armed = ranged
        cl.sendall(head)
        while True:
            if body:
                b2, stop = d.apply(body, True)
                cl.sendall(b2)
                if stop:
                    return
            body = up.recv(BUF)
            if not body:
                break
    except OSError:
        pass
    finally:
        d.close()


def rewrite_head(head):
    """The request head with Connection: close, so the response runs to EOF."""
    lines = head.split(b"\r\n")
    keep = [l for l in lines[1:] if l and not l.lower().startswith(b"connection:")]
    return b"\r\n".join([lines[0]] + keep + [b"Connection: close", b"", b""])


def handle(cl, args, sctx, cctx):
    up = None
    try:
        cl.settimeout(IO_TIMEOUT_S)
        if args.mode == "tls":
            cl = sctx.wrap_socket(cl, server_side=True)
            head = b""
            while b"\r\n\r\n" not in head:
                b = cl.recv(BUF)
                if not b:
                    return
                head += b
                if len(head) > HEAD_MAX:
                    return
            i = head.index(b"\r\n\r\n") + 4
            # Held requests connect upstream only once let go.
            R.arrive(head.split(b"\r\n", 1)[0].decode("latin-1"))
        up = socket.create_connection(("127.0.0.1", args.target), timeout=IO_TIMEOUT_S)
        if args.mode == "tls":
            up = cctx.wrap_socket(up, server_hostname="127.0.0.1")
            up.sendall(rewrite_head(head[:i]) + head[i:])
            t = threading.Thread(target=pump, args=(cl, up), daemon=True)
            t.start()
            down_tls(up, cl)
        else:
            t = threading.Thread(target=pump, args=(cl, up), daemon=True)
            t.start()
            down_tcp(up, cl)
    except (OSError, ssl.SSLError):
        pass
    finally:
        for s in (up, cl):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass
        SLOTS.release()


def control(srv):
    while True:
        c, _ = srv.accept()
        with c:
            c.settimeout(5)
            try:
                w = c.recv(1024).decode("ascii", "replace").split()
            except OSError:
                continue
            ans = "ok"
            try:
                if w[:1] == ["corrupt"]:
                    with F.lock:
                        F.corrupt_n, F.corrupt_at = int(w[1]), int(w[2])
                elif w[:1] == ["cut"]:
                    with F.lock:
                        F.cut_n, F.cut_at = int(w[1]), int(w[2])
                elif w[:1] == ["reset"]:
                    F.reset()
                elif w[:1] == ["stats"]:
                    ans = "conns=%d corrupted=%d cut=%d" % (F.conns, F.corrupted, F.cuts)
                elif w[:1] == ["hold"]:
                    with R.cond:
                        R.hold = re.compile(w[1])
                elif w[:1] == ["release"]:
                    with R.cond:
                        R.hold = None
                        R.gen += 1
                        R.cond.notify_all()
                elif w[:1] == ["held"]:
                    with R.cond:
                        ans = str(R.waiting)
                elif w[:1] == ["count"]:
                    ans = str(R.count(w[1]))
                else:
                    ans = "error: unknown command"
            except (IndexError, ValueError, re.error):
                ans = "error: bad arguments"
            try:
                c.sendall((ans + "\n").encode())
            except OSError:
                pass


def serve(args):
    sctx = cctx = None
    if args.mode == "tls":
        sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sctx.load_cert_chain(args.cert, args.key)
        cctx = ssl.create_default_context(cafile=args.ca)
    lst = socket.create_server(("127.0.0.1", 0))
    ctl = socket.create_server(("127.0.0.1", 0))
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d %d\n" % (lst.getsockname()[1], ctl.getsockname()[1]))
    os.rename(tmp, args.port_file)
    threading.Thread(target=control, args=(ctl,), daemon=True).start()
    # Never outlive a forgotten test: exit after max-seconds whatever happens.
    threading.Timer(args.max_seconds, lambda: os._exit(0)).start()
    while True:
        c, _ = lst.accept()
        if not SLOTS.acquire(blocking=False):
            c.close()
            continue
        with F.lock:
            F.conns += 1
        threading.Thread(target=handle, args=(c, args, sctx, cctx), daemon=True).start()


def ctl(args):
    port = int(open(args.port_file).read().split()[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        c.sendall(" ".join(args.words).encode())
        print(c.makefile().readline().strip())


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--mode", choices=["tcp", "tls"], required=True)
    s.add_argument("--target", type=int, required=True)
    s.add_argument("--port-file", required=True)
    s.add_argument("--cert")
    s.add_argument("--key")
    s.add_argument("--ca")
    s.add_argument("--max-seconds", type=float, default=900)
    c = sub.add_parser("ctl")
    c.add_argument("port_file")
    c.add_argument("words", nargs="+")
    args = ap.parse_args()
    serve(args) if args.cmd == "serve" else ctl(args)


if __name__ == "__main__":
    main()
