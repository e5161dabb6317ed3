#!/usr/bin/env python3
"""Build unmodified Debian programs from their source packages.

    debian_sources.py --dir build/debian-src --out build/debian PROGRAM...

PROGRAM is `lua` (Debian's lua5.4: the `lua` interpreter, lua.c and the
library), `sqlite3` (Debian's sqlite3: the `sqlite3` shell, shell.c and
the amalgamation) or `ash_test` (busybox's shell test suite, a folder: the
source package's shell/ash_test with its helper programs built and the
build configuration of Debian's busybox-static as its .config) or
`applet_test` (busybox's applet tests, a folder: the source package's
testsuite/ as published, and that .config beside it) or `lwip` (a folder:
lwIP's src/ as published, for servers/net to compile). Each is
built once, static, with the host's gcc and glibc, and written to
OUT/PROGRAM; a rebuild finds it there.

The source packages come from `apt-get source` through a private apt
configuration under DIR: the machine's configured Debian sources (one-line
`.list` files and deb822 `.sources` files) turned into the same entries with
`deb-src`, their own package lists, their own cache. The system's apt
configuration is not touched and no host is named here. `dpkg-source -x`
unpacks a package with Debian's patches applied; the program is compiled as
published, with only the configuration choices a static, single-threaded
build needs (below, per program).
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys


def fail(message):
    sys.exit(f"debian_sources: {message}")


def run(command, cwd, env=None):
    try:
        result = subprocess.run(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, env=env)
    except OSError as error:
        return 127, str(error)
    return result.returncode, result.stdout.strip()


def must(command, cwd, what, env=None):
    status, output = run(command, cwd, env)
    if status != 0:
        fail(f"{what} failed ({' '.join(command)}):\n{output[-4000:]}")
    return output


def source_entries():
    """The machine's binary-package sources as deb-src entries (deb822 text)."""
    stanzas = []
    one_line = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list"))
    for path in one_line:
        try:
            lines = open(path).read().splitlines()
        except OSError:
            continue
        for line in lines:
            line = line.split("#", 1)[0].strip()
            m = re.match(r"^deb\s+(\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.+)$", line)
            if m:
                options = m.group(1) or ""
                stanza = [f"Types: deb-src", f"URIs: {m.group(2)}", f"Suites: {m.group(3)}",
                          f"Components: {m.group(4)}"]
                signed = re.search(r"signed-by=(\S+?)\s*[\]]", options)
                if signed:
                    stanza.append(f"Signed-By: {signed.group(1)}")
                stanzas.append("\n".join(stanza))
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        try:
            text = open(path).read()
        except OSError:
            continue
        for stanza in re.split(r"\n\s*\n", text):
            fields = re.search(r"^Types:\s*(.*)$", stanza, re.M)
            if not fields or "deb" not in fields.group(1).split():
                continue
            if re.search(r"^Enabled:\s*no", stanza, re.M | re.I):
                continue
            stanza = "\n".join(l for l in stanza.splitlines() if not l.lstrip().startswith("#"))
            stanzas.append(re.sub(r"^Types:.*$", "Types: deb-src", stanza, flags=re.M))
    if not stanzas:
        fail("the machine has no Debian sources configured (/etc/apt/sources.list*)")
    return "\n\n".join(stanzas) + "\n"


def apt_options(work):
    apt = os.path.join(work, "apt")
    return ["-o", f"Dir::Etc::SourceList={apt}/sources.list",
            "-o", f"Dir::Etc::SourceParts={apt}/sources.list.d",
            "-o", f"Dir::State::Lists={apt}/lists",
            "-o", f"Dir::Cache={apt}/cache",
            "-o", "APT::Sandbox::User=root"]


def fetch_source(work, package):
    """Unpacks PACKAGE's source (Debian's patches applied) into WORK/PACKAGE once; returns the folder."""
    tree = os.path.join(work, package)
    if os.path.isfile(os.path.join(tree, "debian", "changelog")):
        return tree
    apt = os.path.join(work, "apt")
    for sub in ("sources.list.d", "lists/partial", "cache/archives/partial"):
        os.makedirs(os.path.join(apt, sub), exist_ok=True)
    open(os.path.join(apt, "sources.list"), "w").close()
    with open(os.path.join(apt, "sources.list.d", "mica-deb-src.sources"), "w") as f:
        f.write(source_entries())
    options = apt_options(work)
    if not glob.glob(os.path.join(apt, "lists", "*Sources*")):
        must(["apt-get"] + options + ["update"], work, "apt-get update (deb-src lists)")
    download = os.path.join(work, "download")
    shutil.rmtree(download, ignore_errors=True)
    os.makedirs(download)
    status, output = run(["apt-get"] + options + ["source", "--download-only", package], download)
    if status != 0:
        # Stale lists: refresh them once and try again.
        must(["apt-get"] + options + ["update"], work, "apt-get update (deb-src lists)")
        must(["apt-get"] + options + ["source", "--download-only", package], download,
             f"apt-get source {package}")
    dscs = glob.glob(os.path.join(download, f"{package}_*.dsc"))
    if len(dscs) != 1:
        fail(f"apt-get source {package} gave no single .dsc file")
    shutil.rmtree(tree, ignore_errors=True)
    must(["dpkg-source", "--no-check", "-x", dscs[0], tree], download, f"dpkg-source -x {package}")
    shutil.rmtree(download, ignore_errors=True)
    return tree


def build_lua(work, output):
    tree = fetch_source(work, "lua5.4")
    src = os.path.join(tree, "src")
    # Debian's luaconf.h includes a header its rules write at configure time.
    with open(os.path.join(src, "lua5.4-deb-multiarch.h"), "w") as f:
        f.write('#define DEB_HOST_MULTIARCH "x86_64-linux-gnu"\n')
    sources = sorted(f for f in os.listdir(src) if f.endswith(".c") and f != "luac.c")
    # LUA_USE_POSIX, not LUA_USE_LINUX: no dlopen (a static program loads no C modules).
    must(["gcc", "-static", "-O2", "-std=gnu99", "-DLUA_COMPAT_5_3", "-DLUA_USE_POSIX",
          "-o", output] + sources + ["-lm"], src, "compiling lua")


def build_sqlite3(work, output):
    tree = fetch_source(work, "sqlite3")
    build = os.path.join(tree, "mica-build")
    if not os.path.isfile(os.path.join(build, "sqlite3.c")):
        shutil.rmtree(build, ignore_errors=True)
        os.makedirs(build)
        # configure, then only the amalgamation and the shell's source (tclsh generates them).
        must(["../configure", "--disable-shared", "--disable-readline", "--disable-editline",
              "--disable-threadsafe", "--disable-load-extension", "--disable-tcl"], build,
             "configuring sqlite3")
        must(["make", "sqlite3.c", "shell.c"], build, "generating sqlite3.c and shell.c")
    # Single-threaded (no pthread in a static program), no extension loading (no dlopen).
    must(["gcc", "-static", "-O2", "-DSQLITE_THREADSAFE=0", "-DSQLITE_OMIT_LOAD_EXTENSION=1",
          "-DHAVE_READLINE=0", "-o", output, "shell.c", "sqlite3.c", "-lm"], build, "compiling sqlite3")


def build_ash_test(work, output):
    tree = fetch_source(work, "busybox")
    shutil.rmtree(output, ignore_errors=True)
    shutil.copytree(os.path.join(tree, "shell", "ash_test"), output, symlinks=True)
    # run-all exports the build's configuration: that of Debian's busybox-static.
    shutil.copy(os.path.join(tree, "debian", "config", "pkg", "static"), os.path.join(output, ".config"))
    for helper in ("printenv", "recho", "zecho"):
        must(["gcc", "-static", "-O2", "-o", helper, f"{helper}.c"], output, f"compiling ash_test's {helper}")


def copy_applet_test(work, output):
    # testsuite/runtest finds the build's configuration in $bindir/.config
    # (which applets and features the busybox binary has): Debian's busybox-static.
    tree = fetch_source(work, "busybox")
    shutil.copytree(os.path.join(tree, "testsuite"), os.path.join(output, "testsuite"), symlinks=True)
    shutil.copy(os.path.join(tree, "debian", "config", "pkg", "static"), os.path.join(output, ".config"))


def copy_lwip(work, output):
    # Not a program: lwIP's sources as published (Debian's patches applied),
    # which servers/net compiles for Mica with its own port layer.
    tree = fetch_source(work, "lwip")
    shutil.copytree(os.path.join(tree, "src"), os.path.join(output, "src"))
    shutil.copy(os.path.join(tree, "COPYING"), output)


PROGRAMS = {"lua": build_lua, "sqlite3": build_sqlite3, "ash_test": build_ash_test, "applet_test": copy_applet_test,
            "lwip": copy_lwip}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, help="where source packages are fetched and built")
    parser.add_argument("--out", required=True, help="where the programs are written")
    parser.add_argument("programs", nargs="+", choices=sorted(PROGRAMS))
    args = parser.parse_args()
    work, out = os.path.abspath(args.dir), os.path.abspath(args.out)
    os.makedirs(work, exist_ok=True)
    os.makedirs(out, exist_ok=True)
    for program in args.programs:
        output = os.path.join(out, program)
        # A folder is complete when it holds .built (the build system may make it empty beforehand).
        built = os.path.join(output, ".built") if program in ("ash_test", "applet_test", "lwip") else output
        if os.path.isfile(built):
            os.utime(built)
            continue
        shutil.rmtree(output + ".tmp", ignore_errors=True)
        PROGRAMS[program](work, output + ".tmp")
        if os.path.isdir(output):
            shutil.rmtree(output)
        os.rename(output + ".tmp", output)
        if built != output:
            open(built, "w").close()


if __name__ == "__main__":
    main()
