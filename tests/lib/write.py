#!/usr/bin/python3
"""tests/lib/write.py - write a file the way a program does, and report errno.

    write.py PATH [TEXT]       open(O_WRONLY|O_CREAT|O_TRUNC), write TEXT (or stdin), close
    write.py --rename TMP PATH [TEXT]  write TMP, then rename it over PATH

Prints "0" on success, else the errno name of the failing call (e.g. "EINVAL
close"); always exits 0 so shell tests can compare the output.
"""
import errno
import os
import sys


def main():
    args = sys.argv[1:]
    rename = None
    if args and args[0] == "--rename":
        rename = args[1]
        args = args[2:]
    path = args[0]
    data = (args[1] if len(args) > 1 else sys.stdin.read()).encode("utf-8", "surrogateescape")
    target = rename or path
    step = "open"
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        step = "write"
        off = 0
        while off < len(data):
            off += os.write(fd, data[off:off + 65536])
        step = "close"
        os.close(fd)
        if rename:
            step = "rename"
            os.rename(rename, path)
    except OSError as e:
        print(f"{errno.errorcode.get(e.errno, e.errno)} {step}")
        return
    print("0")


main()
