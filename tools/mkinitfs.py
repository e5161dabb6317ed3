#!/usr/bin/env python3
"""Packs the boot file system (initfs) as a ustar archive: the programs as
bin/NAME (debug information stripped) and everything under system/ as it is.
The archive is deterministic: fixed owner, mode and time, sorted entries."""
import argparse
import io
import os
import subprocess
import tarfile
import tempfile


def add(tar, name, data=None, directory=False):
    info = tarfile.TarInfo(name)
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    if directory:
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        tar.addfile(info)
    else:
        info.mode = 0o755 if name.startswith("bin/") else 0o644
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--system", required=True)
    p.add_argument("--program", action="append", default=[], help="NAME=PATH")
    p.add_argument("--strip", default="strip")
    p.add_argument("-o", "--output", required=True)
    args = p.parse_args()
    entries = {}  # archive path -> bytes, or None for a directory
    entries["bin"] = None
    with tempfile.TemporaryDirectory() as tmp:
        for spec in args.program:
            name, path = spec.split("=", 1)
            stripped = os.path.join(tmp, name)
            subprocess.run([args.strip, "--strip-debug", "-o", stripped, path], check=True)
            with open(stripped, "rb") as f:
                entries[f"bin/{name}"] = f.read()
    for root, dirs, files in os.walk(args.system):
        rel = os.path.relpath(root, args.system)
        if rel != ".":
            entries[rel] = None
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                entries[os.path.normpath(os.path.join(rel, f))] = fh.read()
    partial = args.output + ".partial"
    with tarfile.open(partial, "w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(entries):
            add(tar, name, entries[name], entries[name] is None)
    os.replace(partial, args.output)


if __name__ == "__main__":
    main()
