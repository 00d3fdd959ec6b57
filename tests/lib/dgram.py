#!/usr/bin/env python3
"""dgram.py SOCKET OUT [SECONDS] - a datagram socket the tests own, standing in for
/dev/log (syslog) or systemd's NOTIFY_SOCKET: binds SOCKET (a path, or @name for
the abstract namespace), appends every datagram it receives to OUT as one line
(newlines inside a datagram become ' | '), and exits on SIGTERM or after SECONDS
(default 300), so a test that dies cannot leave it behind for long."""
import os
import signal
import socket
import sys
import time


def main():
    path, out = sys.argv[1], sys.argv[2]
    deadline = time.monotonic() + float(sys.argv[3] if len(sys.argv) > 3 else 300)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    addr = "\0" + path[1:] if path.startswith("@") else path
    if not path.startswith("@") and os.path.exists(path):
        os.unlink(path)
    s.bind(addr)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with open(out, "a", buffering=1) as f:
        f.write("")
        while time.monotonic() < deadline:
            s.settimeout(max(0.1, min(1.0, deadline - time.monotonic())))
            try:
                data = s.recv(65536)
            except socket.timeout:
                continue
            f.write(data.decode("utf-8", "replace").rstrip("\n").replace("\n", " | ") + "\n")


if __name__ == "__main__":
    main()
