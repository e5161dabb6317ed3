#!/usr/bin/env python3
"""Writes a newc cpio archive holding /init (no cpio tool needed), and any
further files named after it, each at the top level under its own base name
or as NAME=PATH (such as kernel modules for /init to load).

    make_initramfs.py INIT OUTPUT [FILE | NAME=PATH ...]
"""
import os
import sys


def entry(name, mode, data, ino):
    name_b = name.encode() + b"\0"
    fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0]
    header = b"070701" + b"".join(b"%08X" % f for f in fields)
    out = header + name_b
    out += b"\0" * (-len(out) % 4)
    out += data + b"\0" * (-len(data) % 4)
    return out


def main():
    init, output = sys.argv[1], sys.argv[2]
    with open(init, "rb") as f:
        data = f.read()
    archive = entry("init", 0o100755, data, 1)
    for ino, extra in enumerate(sys.argv[3:], 2):
        name, sep, path = extra.partition("=")
        if not sep:
            name, path = os.path.basename(extra), extra
        with open(path, "rb") as f:
            archive += entry(name, 0o100644, f.read(), ino)
    archive += entry("TRAILER!!!", 0, b"", 0)
    with open(output, "wb") as f:
        f.write(archive)


if __name__ == "__main__":
    main()
