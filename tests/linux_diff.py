#!/usr/bin/env python3
"""Differential tests of the Linux personality.

    linux_diff.py --build BUILD [NAME...]

Each script in tests/linux/corpus (NAME.sh for busybox's sh, NAME.bash for
bash, NAME.lua for Debian's lua) runs twice with the very same Debian binaries: on the host (in a new
directory w-NAME, PATH holding busybox's applets) and on Mica (from the
disk image's /corpus, in file:/w-NAME, through the shell as a user would
type it). Output (stdout and stderr together) and exit status must be
equal, byte for byte; where a NAME.expected file is checked in, the host's
output and status (a last line `status N`) must also equal it. Scripts print nothing that depends on time, PIDs,
the host or files outside their own directory.
"""

import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile
import time

import linux_host

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "linux", "corpus")
PROMPT = b"mica> "


def interpreter(script, programs):
    """The command that runs SCRIPT: by its extension, from PROGRAMS (bash, sh, lua)."""
    extension = os.path.splitext(script)[1][1:]
    return programs[extension if extension in programs else "sh"]


def run_on_host(build, script, work, wrap=()):
    """SCRIPT's output and status on the host (WRAP: a command it runs under, such as strace)."""
    busybox = os.path.join(build, "debian", "busybox")
    bash = os.path.join(build, "debian", "bash")
    applets = linux_host.program_folder(build, os.path.join(work, "bin"))
    name = os.path.splitext(os.path.basename(script))[0]
    cwd = os.path.join(work, f"w-{name}")
    os.makedirs(cwd)
    shell = interpreter(script, {"bash": [os.path.realpath(bash)], "sh": [os.path.realpath(busybox), "sh"],
                                 "lua": [os.path.realpath(os.path.join(build, "debian", "lua"))]})
    env = {"PATH": applets, "HOME": "/", "TERM": "vt100", "PWD": cwd}
    r = subprocess.run(list(wrap) + shell + [script], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    return r.stdout.decode("utf-8", "replace"), r.returncode


class QemuEnded(SystemExit):
    pass


class Mica:
    def __init__(self, build, tmp):
        for attempt in range(2):
            self.proc = linux_host.start_mica(build, tmp)  # the disk's copy: tmp/disk.img
            self.seen = b""
            try:
                self.wait_for(PROMPT, 60)
                return
            except QemuEnded:
                if attempt or self.proc.wait() >= 0:
                    raise
                # QEMU itself died of a signal while booting: its multi-threaded
                # TCG's race (tools/qemu.py, QEMU_CRASHED), no verdict on Mica.
                print("linux_diff: QEMU itself crashed while booting (a QEMU bug); booting again", flush=True)

    def wait_for(self, marker, timeout):
        start = time.monotonic()
        while marker not in self.seen:
            if time.monotonic() - start > timeout:
                raise SystemExit(f"linux_diff: timed out waiting for {marker!r}; saw:\n"
                                 + self.seen[-2000:].decode("utf-8", "replace"))
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                raise QemuEnded("linux_diff: QEMU ended")
            self.seen += chunk
        at = self.seen.index(marker) + len(marker)
        before, self.seen = self.seen[:at], self.seen[at:]
        return before

    def command(self, line, timeout=120):
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()
        return self.wait_for(PROMPT, timeout)

    def run(self, script):
        name = os.path.splitext(script)[0]
        self.command(f"mkdir file:/w-{name}")
        self.command(f"cd file:/w-{name}")
        shell = interpreter(script, {"bash": "bash", "sh": "sh", "lua": "lua"})
        # The markers are printed by the shell: the echo of the typed line
        # shows them with their quotes, so only the output matches.
        text = self.command(f"sh -c 'echo @@\"\"BEGIN; {shell} /corpus/{script}; echo \"@@END $?\"'")
        self.command("cd file:/")
        text = text.decode("utf-8", "replace").replace("\r\n", "\n")
        # What the kernel and the personality log goes to the same serial line.
        text = re.sub(r"(?m)^(linux: |\[(info|warn|debug)\] ).*\n", "", text)
        m = re.search(r"@@BEGIN\n(.*)@@END (\d+)\n", text, re.S)
        if not m:
            return None, text
        return m.group(1), int(m.group(2))

    def close(self):
        try:
            self.proc.stdin.write(b"poweroff\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=30)
        except Exception:
            self.proc.kill()


def read_from_disk(disk, path, out):
    """Copies the file `path` of the ext2 image `disk` to `out` (debugfs); False if it is not there."""
    env = dict(os.environ, PATH=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    r = subprocess.run(["debugfs", "-R", f"dump {path} {out}", disk], env=env, capture_output=True, text=True)
    return r.returncode == 0 and os.path.exists(out)


def check_sqlite(tmp):
    """The database sqlite.sh made on Mica, read on the host with Debian's sqlite3
    library (Python's module): intact, and holding what the host's run made."""
    import sqlite3
    mine = os.path.join(tmp, "mica-test.db")
    if not read_from_disk(os.path.join(tmp, "disk.img"), "/w-sqlite/test.db", mine):
        return "no /w-sqlite/test.db on Mica's disk"
    host = os.path.join(tmp, "host", "sqlite.sh", "w-sqlite", "test.db")
    results = []
    for db in (mine, host):
        c = sqlite3.connect(db)
        results.append([c.execute("pragma integrity_check").fetchall(),
                        c.execute("select * from people order by id").fetchall(),
                        c.execute("select k, v from blobs order by k").fetchall()])
        c.close()
    if results[0][0] != [("ok",)]:
        return f"integrity_check on the host says {results[0][0]}"
    if results[0] != results[1]:
        return "its tables differ from the host's"
    return None


# Checks made on the host after Mica has powered off, by script.
CHECKS = {"sqlite.sh": check_sqlite}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", required=True)
    parser.add_argument("names", nargs="*")
    args = parser.parse_args()
    scripts = sorted(os.path.basename(p) for extension in ("sh", "bash", "lua")
                     for p in glob.glob(os.path.join(CORPUS, f"*.{extension}")))
    if args.names:
        scripts = [s for s in scripts if os.path.splitext(s)[0] in args.names]
    failed = 0
    with tempfile.TemporaryDirectory(prefix="mica-linux-diff-") as tmp:
        mica = Mica(args.build, tmp)
        try:
            for script in scripts:
                want, want_status = run_on_host(args.build, os.path.join(CORPUS, script), os.path.join(tmp, "host", script))
                expected = os.path.join(CORPUS, os.path.splitext(script)[0] + ".expected")
                if os.path.exists(expected) and open(expected).read() != f"{want}status {want_status}\n":
                    failed += 1
                    print(f"FAILED  {script}: on the host, not what {os.path.basename(expected)} says:\n"
                          f"{want}status {want_status}")
                    continue
                got, got_status = mica.run(script)
                if got == want and got_status == want_status:
                    print(f"ok      {script} (status {got_status}, {len(got.splitlines())} lines)")
                    continue
                failed += 1
                print(f"FAILED  {script}")
                print(f"--- on the host (status {want_status}):\n{want}")
                if got is None:
                    print(f"--- on Mica, no markers:\n{got_status}")
                else:
                    print(f"--- on Mica (status {got_status}):\n{got}")
        finally:
            mica.close()
        for script, check in CHECKS.items():
            if script not in scripts:
                continue
            problem = check(tmp)
            if problem:
                failed += 1
                print(f"FAILED  {script}, checked on the host: {problem}")
            else:
                print(f"ok      {script}, checked on the host")
    print(f"linux_diff: {len(scripts) - failed} of {len(scripts)} scripts the same on the host and on Mica")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
