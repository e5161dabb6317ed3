#!/usr/bin/env python3
"""Writes a newc cpio archive holding one file, /init (no cpio tool needed)."""
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
    archive = entry("init", 0o100755, data, 1) + entry("TRAILER!!!", 0, b"", 0)
    with open(output, "wb") as f:
        f.write(archive)


if __name__ == "__main__":
    main()
