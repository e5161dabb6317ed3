#!/usr/bin/env python3
"""Fetch unmodified Debian programs for the disk image.

    debian_programs.py --dir build/debian PACKAGE:PATH:NAME...

For each PACKAGE (e.g. busybox-static:bin/busybox:busybox): unless
DIR/PACKAGE/PATH is there already, download the package with `apt-get
download` (from the machine's configured sources; nothing is installed, no
apt configuration is changed) into DIR and unpack it with `dpkg-deb -x` into
DIR/PACKAGE/. Then DIR/NAME is made a link to the program, so that host-side
tests can run the very binary the disk image holds.
"""

import argparse
import glob
import os
import shutil
import subprocess
import sys


def fail(message):
    sys.exit(f"debian_programs: {message}")


def run(command, cwd):
    try:
        result = subprocess.run(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    except OSError as error:
        return 127, str(error)
    return result.returncode, result.stdout.strip()


def fetch(work, package, path):
    """Downloads and unpacks PACKAGE unless its PATH is already unpacked."""
    program = os.path.join(work, package, path)
    if os.path.isfile(program):
        return program
    for old in glob.glob(os.path.join(work, f"{package}_*.deb")):
        os.remove(old)
    status, output = run(["apt-get", "download", package], work)
    debs = glob.glob(os.path.join(work, f"{package}_*.deb"))
    if status != 0 or len(debs) != 1:
        fail(f"apt-get download {package} failed:\n{output}\n"
             "debian_programs: no network, or the package lists are missing or stale "
             "(as root: apt-get update; ./mica does it once by itself)")
    unpacked = os.path.join(work, package)
    shutil.rmtree(unpacked, ignore_errors=True)
    shutil.rmtree(unpacked + ".tmp", ignore_errors=True)
    status, output = run(["dpkg-deb", "-x", debs[0], unpacked + ".tmp"], work)
    if status != 0:
        fail(f"dpkg-deb -x {debs[0]} failed:\n{output}")
    os.rename(unpacked + ".tmp", unpacked)
    if not os.path.isfile(program):
        fail(f"{os.path.basename(debs[0])} has no {path}")
    return program


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, help="where packages are downloaded and unpacked")
    parser.add_argument("programs", nargs="+", metavar="PACKAGE:PATH:NAME")
    args = parser.parse_args()
    work = os.path.abspath(args.dir)
    os.makedirs(work, exist_ok=True)
    for spec in args.programs:
        try:
            package, path, name = spec.split(":")
        except ValueError:
            fail(f"{spec}: expected PACKAGE:PATH:NAME")
        program = fetch(work, package, path)
        link = os.path.join(work, name)
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(os.path.relpath(program, work), link)
        # dpkg-deb keeps the package's old times: make the build see a new output.
        os.utime(program)


if __name__ == "__main__":
    main()
