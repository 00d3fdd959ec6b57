#!/usr/bin/env python3
"""tests/lib/netfwd.py - the far end of the network fault tests' links.

It listens, inside a network namespace the test made (the "server" side of
its veth pairs), on one address and port per endpoint, and relays every
connection to the sandbox on 127.0.0.1 of the namespace it was started in.
The bytes are relayed untouched (TLS end to end), so the client verifies the
sandbox's certificate under the endpoint's name. Stdlib only, bounded
(connections, lifetime, socket timeouts).

Design decision: the listening sockets are made after setns(2) into the
server namespace and the upstream sockets after setns(2) back, so one
process joins the two and no traffic of the test's links ever reaches the
namespace the machine uses (the upstream side is loopback only).

Faults it adds itself, per listening address, through a control socket
(one command per connection, one answer line):
  delay ADDR MS   hold every relayed chunk MS ms in each direction (latency;
                  a queue per direction, so throughput is not serialised)
  reset ADDR      close every connection of ADDR with a TCP reset
  stats           "conns=C resets=R"

  netfwd.py serve --netns PATH --ctl SOCKET --map ADDR:PORT=UPSTREAM_PORT ...
                  [--max-seconds S]
  netfwd.py ctl SOCKET COMMAND...
"""
import argparse
import collections
import ctypes
import os
import socket
import struct
import sys
import threading
import time

CLONE_NEWNET = 0x40000000
MAX_CONNS = 256
IO_TIMEOUT_S = 120
BUF = 64 << 10

lock = threading.Lock()
delays = {}  # addr -> seconds
conns = collections.defaultdict(set)  # addr -> {client sockets}
counts = {"conns": 0, "resets": 0}
slots = threading.BoundedSemaphore(MAX_CONNS)


def setns(path):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "setns %s: %s" % (path, os.strerror(e)))
    finally:
        os.close(fd)


def hard_close(s):
    """Close with a TCP reset (SO_LINGER 0), not a FIN. Shutting the read side
    first sends nothing but wakes a relay thread blocked in recv() on it."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.shutdown(socket.SHUT_RD)
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass


def pump(addr, src, dst):
    """Relay src to dst, each chunk held for the address's delay when it was read."""
    q = collections.deque()
    cv = threading.Condition()
    done = [False]

    def writer():
        while True:
            with cv:
                while not q and not done[0]:
                    cv.wait()
                if not q:
                    break
                due, data = q.popleft()
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                dst.sendall(data)
            except OSError:
                break
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    w = threading.Thread(target=writer, daemon=True)
    w.start()
    try:
        while True:
            data = src.recv(BUF)
            if not data:
                break
            with lock:
                d = delays.get(addr, 0.0)
            with cv:
                q.append((time.monotonic() + d, data))
                cv.notify()
    except OSError:
        pass
    with cv:
        done[0] = True
        cv.notify()
    w.join()


def relay(addr, client, upstream_port):
    try:
        up = socket.create_connection(("127.0.0.1", upstream_port), timeout=10)
    except OSError:
        hard_close(client)
        slots.release()
        return
    for s in (client, up):
        s.settimeout(IO_TIMEOUT_S)
    t = threading.Thread(target=pump, args=(addr, up, client), daemon=True)
    t.start()
    pump(addr, client, up)
    t.join()
    with lock:
        conns[addr].discard(client)
    for s in (client, up):
        try:
            s.close()
        except OSError:
            pass
    slots.release()


def accept_loop(lsock, addr, upstream_port):
    while True:
        try:
            c, _ = lsock.accept()
        except OSError:
            return
        if not slots.acquire(blocking=False):
            hard_close(c)
            continue
        with lock:
            conns[addr].add(c)
            counts["conns"] += 1
        threading.Thread(target=relay, args=(addr, c, upstream_port), daemon=True).start()


def control(path):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(8)
    while True:
        c, _ = srv.accept()
        with c:
            words = c.recv(4096).decode("utf-8", "replace").split()
            c.sendall((command(words) + "\n").encode())


def command(w):
    with lock:
        if len(w) == 3 and w[0] == "delay" and w[2].isdigit():
            delays[w[1]] = int(w[2]) / 1000.0
            return "ok"
        if len(w) == 2 and w[0] == "reset":
            victims = list(conns[w[1]])
            counts["resets"] += len(victims)
        elif w == ["stats"]:
            return "conns=%d resets=%d" % (counts["conns"], counts["resets"])
        else:
            return "bad command: %s" % " ".join(w)
    for s in victims:
        hard_close(s)
    return "ok %d" % len(victims)


def serve(a):
    maps = []
    for m in a.map:
        left, up = m.split("=")
        host, port = left.rsplit(":", 1)
        maps.append((host, int(port), int(up)))
    home = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    setns(a.netns)
    listeners = []
    for host, port, up in maps:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        s.listen(128)
        listeners.append((s, host, up))
    setns("/proc/self/fd/%d" % home)
    os.close(home)
    for s, host, up in listeners:
        threading.Thread(target=accept_loop, args=(s, host, up), daemon=True).start()
    threading.Thread(target=control, args=(a.ctl,), daemon=True).start()
    print("ready", flush=True)
    time.sleep(a.max_seconds)


def ctl(path, words):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    s.sendall(" ".join(words).encode())
    print(s.recv(4096).decode().strip())


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "ctl":
        ctl(sys.argv[2], sys.argv[3:])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["serve"])
    ap.add_argument("--netns", required=True)
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--map", action="append", required=True)
    ap.add_argument("--max-seconds", type=float, default=900)
    serve(ap.parse_args())


main()
