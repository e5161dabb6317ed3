#!/usr/bin/env python3
"""busybox's shell test suite (shell/ash_test), on the host and on Mica.

    linux_ash.py --build BUILD [--show-failures] [MODULE...]

The suite comes from Debian's busybox source package, as published
(tools/debian_sources.py puts it in BUILD/debian/ash_test and on the disk
image as /ash_test). Its own driver, run-all, runs each MODULE (a folder
such as ash-arith; default: all of them) and prints `MODULE/TEST: ok` or
`: fail`. It runs twice with the very same busybox binary: on the host
(a copy of the folder, PATH holding busybox's applets) and on Mica (typed
at Mica's shell, from a copy of the disk image). Every test that passes on
the host must pass on Mica; the tests that fail on the host too are
listed, not counted. A module that stops making progress for --stall
seconds is interrupted with Ctrl-C: its test in progress is a failure
and its remaining tests are reported as not run (failures too).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import linux_host

PROMPT = b"mica> "
RESULT = re.compile(r"^(ash-[^/\s]+/\S+):\s*(ok|fail)\s*$")


def modules_of(suite):
    return sorted(d for d in os.listdir(suite) if d.startswith("ash-") and os.path.isdir(os.path.join(suite, d)))


def tests_of(suite, module):
    return sorted(f"{module}/{t}" for t in os.listdir(os.path.join(suite, module))
                  if t.endswith(".tests") and os.path.isfile(os.path.join(suite, module, t[:-6] + ".right")))


def run_on_host(build, suite, modules, tmp, wrap=()):
    busybox = os.path.realpath(os.path.join(build, "debian", "busybox"))
    applets = linux_host.program_folder(build, os.path.join(tmp, "applets"))
    work = os.path.join(tmp, "ash_test")
    shutil.copytree(suite, work, symlinks=True)
    os.symlink(busybox, os.path.join(work, "ash"))
    results = {}
    env = {"PATH": applets, "HOME": "/", "TERM": "vt100"}
    for module in modules:
        # As on Mica (Mica.module): run-all under `sh -c`, which matters to
        # what the tests see (the outer ash ignores SIGQUIT and passes that on).
        r = subprocess.run(list(wrap) + [busybox, "sh", "-c", f"cd {work} && sh run-all {module} </dev/null"], cwd=work,
                           env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=600)
        for line in r.stdout.decode("utf-8", "replace").splitlines():
            m = RESULT.match(line)
            if m:
                results[m.group(1)] = m.group(2)
    return results


class Mica:
    def __init__(self, build, tmp):
        self.proc = linux_host.start_mica(build, tmp)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.seen = b""
        self.stuck = False
        if self.wait_for(PROMPT, 60) is None:
            raise SystemExit("linux_ash: Mica did not reach its prompt:\n" + self.seen.decode("utf-8", "replace"))

    def read(self, timeout):
        """More output, waiting at most `timeout` seconds; False if QEMU ended."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
            except BlockingIOError:
                time.sleep(0.05)
                continue
            if not chunk:
                return False
            self.seen += chunk
            return True
        return True

    def wait_for(self, marker, timeout):
        """The output up to and including `marker`, or None after `timeout` seconds of waiting."""
        end = time.monotonic() + timeout
        while marker not in self.seen:
            if time.monotonic() > end or not self.read(min(1.0, max(0.0, end - time.monotonic()))):
                return None
        at = self.seen.index(marker) + len(marker)
        before, self.seen = self.seen[:at], self.seen[at:]
        return before

    def send(self, text):
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def run(self, line, stall):
        """Types `line`; its output up to the next prompt, and whether it printed nothing
        for `stall` seconds first (then it got Ctrl-C; `stuck` if no prompt came back)."""
        self.send(line.encode())
        text, last_progress = b"", time.monotonic()
        while True:
            before = len(self.seen)
            if not self.read(1.0):
                raise SystemExit("QEMU ended:\n" + self.seen[-3000:].decode("utf-8", "replace"))
            if len(self.seen) != before:
                last_progress = time.monotonic()
            if PROMPT in self.seen:
                return text + self.wait_for(PROMPT, 1), False
            if time.monotonic() - last_progress > stall:
                text += self.seen
                self.seen = b""
                self.send(b"\x03")
                self.stuck = self.wait_for(PROMPT, 30) is None
                return text, True

    def module(self, module, stall):
        """Runs one module; its results, and the test that stalled (or None)."""
        # Standard input is /dev/null, on the host too: no test reads the console.
        text, stalled = self.run(f"sh -c 'cd /ash_test && sh run-all {module} </dev/null'\n", stall)
        if not stalled:
            return self.parse(text, {}), None
        names = re.findall(r"(ash-[^/\s]+/\S+?):\s*$", text.decode("utf-8", "replace"), re.M)
        return self.parse(text, {}), (names[-1] if names else module)

    @staticmethod
    def parse(text, results):
        for line in text.decode("utf-8", "replace").replace("\r\n", "\n").splitlines():
            m = RESULT.match(line)
            if m:
                results[m.group(1)] = m.group(2)
        return results

    def show(self, test):
        """The diff run-all left for a failed test."""
        name = test.replace("/", "-") + ".fail"
        self.send(f"sh -c 'cat /ash_test/{name} | head -n 40'\n".encode())
        return (self.wait_for(PROMPT, 60) or b"").decode("utf-8", "replace")

    def close(self):
        try:
            self.send(b"poweroff\n")
            self.proc.wait(timeout=30)
        except Exception:
            self.proc.kill()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", required=True)
    # 300: ash-z_slow/many_ifs (6,856 checks of IFS, silent until its last line) takes about
    # 3 minutes under QEMU's emulator (6 s on the host); 120 cut it short.
    parser.add_argument("--stall", type=float, default=300, help="seconds without output before Ctrl-C")
    parser.add_argument("--show-failures", action="store_true", help="print run-all's diff for each failure")
    parser.add_argument("--skip-file", help="tests not counted, one per line with the reason (# comments)")
    parser.add_argument("modules", nargs="*")
    args = parser.parse_args()
    suite = os.path.join(args.build, "debian", "ash_test")
    modules = args.modules or modules_of(suite)
    for module in modules:
        if not os.path.isdir(os.path.join(suite, module)):
            raise SystemExit(f"linux_ash: no module {module} in {suite}")
    tests = [t for m in modules for t in tests_of(suite, m)]
    if args.skip_file:
        for line in open(args.skip_file):
            fields = line.split("#", 1)[0].split(None, 1)
            if fields and fields[0] in tests:
                tests.remove(fields[0])
                print(f"skipped {fields[0]}: {fields[1].strip() if len(fields) > 1 else ''}")
    with tempfile.TemporaryDirectory(prefix="mica-linux-ash-") as tmp:
        host = run_on_host(args.build, suite, modules, tmp)
        mica = Mica(args.build, tmp)
        got, stalls = {}, []
        try:
            for module in modules:
                results, stalled = mica.module(module, args.stall)
                got.update(results)
                if stalled:
                    stalls.append(stalled)
                    print(f"stalled {stalled} (interrupted with Ctrl-C)")
                if mica.stuck:  # Ctrl-C did not bring the prompt back: start again with a fresh system
                    print(f"stuck   {module}: Ctrl-C did not end it; Mica is started again")
                    mica.proc.kill()
                    mica = Mica(args.build, tmp)
            failed = [t for t in tests if host.get(t) == "ok" and got.get(t) != "ok"]
            for t in failed:
                print(f"FAILED  {t}: {got.get(t, 'not run')} on Mica, ok on the host")
                if args.show_failures and got.get(t) == "fail":
                    print(mica.show(t))
        finally:
            mica.close()
    host_fails = [t for t in tests if host.get(t) != "ok"]
    for t in host_fails:
        print(f"host    {t}: {host.get(t, 'not run')} on the host (not counted); {got.get(t, 'not run')} on Mica")
    passing = sum(1 for t in tests if host.get(t) == "ok")
    print(f"linux_ash: {passing - len(failed)} of the {passing} tests that pass on the host pass on Mica "
          f"({len(tests)} tests in {len(modules)} modules; Mica passes {sum(1 for t in tests if got.get(t) == 'ok')})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
