#!/usr/bin/python3
"""tests/lib/fsop.py - read a file or list a folder the way a program does,
and report the outcome on one line.

    fsop.py read PATH    "0 <sha256 of the bytes>" or the errno name (e.g. "ETIMEDOUT")
    fsop.py list PATH    "0 <names, sorted, space-separated>" or the errno name

Always exits 0, so shell tests can compare the output.
"""
import errno
import hashlib
import os
import sys


def main():
    op, path = sys.argv[1], sys.argv[2]
    try:
        if op == "read":
            h = hashlib.sha256()
            with open(path, "rb") as f:
                while True:
                    b = f.read(1 << 20)
                    if not b:
                        break
                    h.update(b)
            print("0 " + h.hexdigest())
        elif op == "list":
            print(" ".join(["0"] + sorted(os.listdir(path))))
        else:
            sys.exit("fsop.py: unknown operation " + op)
    except OSError as e:
        print(errno.errorcode.get(e.errno, e.errno))


main()
