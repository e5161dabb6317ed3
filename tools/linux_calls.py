#!/usr/bin/env python3
"""./mica linux-calls: the Linux system calls the personality serves, and
which tests make each one.

What it serves comes from its source (servers/linux): the calls of
linux_abi.h's `Sys` list it refers to, less those it answers with ENOSYS
by design; the places that answer ENOSYS for some arguments only are
listed with their comments. Which tests make a call comes from running
the programs of the Linux tests on the host, each under `strace -f -c` (as
issue 12 asks): the same static binaries and scripts Mica runs in
linux.differential (the corpus, with busybox, bash, Lua and sqlite3),
linux.ash_test (busybox's shell suite), linux.applet_test (its applet
tests, in a chroot of the disk image's tree: needs root), disk.open_files,
linux.threads, linux.jobs and linux.sockets (the linux-* programs); and
linux.probe's random calls, listed in apps/linux/probe.c. A call made on
the host is made on Mica too, but for those glibc makes only after another
failed (clone3, rseq: its fallbacks are what run on Mica).

Prints a Markdown report (also written to build/linux-calls.md): a table of
every call served or made, what Mica does with it and the tests making it,
then the calls the tests' programs make on Linux that Mica does not serve,
and the calls served that no test makes.
"""
import argparse
import datetime
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import linux_applets  # noqa: E402
import linux_ash  # noqa: E402
import linux_diff  # noqa: E402

UNISTD = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"
PERSONALITY = os.path.join(ROOT, "servers", "linux")
# The calls only the applet tests' host harness makes (before its chroot's exec).
HARNESS = {"unshare", "mount", "chroot"}
# Calls the tests' programs make on Linux that Mica does not serve, and why.
UNSERVED = {
    "clone3": "ENOSYS: glibc then uses clone (linux.threads runs that path)",
    "rseq": "ENOSYS: glibc goes on without it",
    "restart_syscall": "not made by programs: Linux's own way to go on with a call a stop interrupted; "
                       "the personality restarts calls itself",
    "sendmmsg": "ENOSYS: glibc's DNS resolver sends its queries with it, and DNS is out of scope for now "
                "(issue 14); on Mica a name's lookup fails",
}
STRACE = shutil.which("strace") or "/usr/bin/strace"  # by path: the harnesses' PATH is busybox's applets


def linux_names():
    """{number: name} from the host's Linux headers."""
    with open(UNISTD) as f:
        return {int(n): name for name, n in re.findall(r"#define __NR_(\w+)\s+(\d+)", f.read())}


def personality():
    """({number: 'served' or 'ENOSYS'}, [(file:line, comment)] of ENOSYS answers for some arguments)."""
    with open(os.path.join(PERSONALITY, "linux_abi.h")) as f:
        abi = f.read()
    enum = abi[abi.index("enum Sys"):]
    enum = enum[:enum.index("};")]
    numbers = {name: int(n) for name, n in re.findall(r"(k\w+) = (\d+)", enum)}
    text, partial = "", []
    for path in sorted(glob.glob(os.path.join(PERSONALITY, "*.cpp")) + glob.glob(os.path.join(PERSONALITY, "*.h"))):
        if path.endswith("linux_abi.h"):
            continue
        with open(path) as f:
            source = f.read()
        text += source
        for i, line in enumerate(source.splitlines(), 1):
            m = re.search(r"-lx::kENOSYS.*//\s*(.*)", line)
            if m:
                partial.append((f"servers/linux/{os.path.basename(path)}:{i}", m.group(1).strip()))
    referred = set(re.findall(r"lx::(k\w+)", text)) & set(numbers)
    by_design = set(re.findall(r"case lx::(k\w+): r = -lx::kENOSYS", text))
    return {numbers[k]: "ENOSYS" if k in by_design else "served" for k in referred}, partial


def counts(path):
    """{call name: calls} from a `strace -c -U name,calls` summary."""
    found = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"^(\w+)\s+(\d+)\s*$", line)
            if m and m.group(1) != "total":
                found[m.group(1)] = found.get(m.group(1), 0) + int(m.group(2))
    return found


class Workloads:
    """Each test's programs run on the host under strace; their calls, merged by test."""

    def __init__(self, tmp):
        self.tmp, self.made, self.n = tmp, {}, 0

    def wrap(self, test):
        self.n += 1
        path = os.path.join(self.tmp, f"strace-{self.n}.txt")
        self.pending = (test, path)
        return [STRACE, "-f", "-c", "-A", "-U", "name,calls", "-o", path, "--"]  # -A: a harness may run it several times

    def collect(self, drop=()):
        test, path = self.pending
        merged = self.made.setdefault(test, {})
        if os.path.exists(path):
            for name, n in counts(path).items():
                if name not in drop:
                    merged[name] = merged.get(name, 0) + n


def run(build, tmp, tests):
    build, w = os.path.abspath(build), Workloads(tmp)
    if "linux.differential" in tests:
        scripts = sorted(p for p in glob.glob(os.path.join(linux_diff.CORPUS, "*")) if not p.endswith(".expected"))
        for i, script in enumerate(scripts):
            work = os.path.join(tmp, f"diff-{i}")
            os.makedirs(work)
            linux_diff.run_on_host(build, script, work, wrap=w.wrap("linux.differential"))
            w.collect()
    if "linux.ash_test" in tests:
        suite = os.path.join(build, "debian", "ash_test")
        work = os.path.join(tmp, "ash")
        os.makedirs(work)
        linux_ash.run_on_host(build, suite, linux_ash.modules_of(suite), work, wrap=w.wrap("linux.ash_test"))
        w.collect()
    if "linux.applet_test" in tests:
        if os.geteuid() != 0:
            print("linux-calls: not root: the applet tests are left out (their host run needs a chroot)",
                  file=sys.stderr)
        else:
            work = os.path.join(tmp, "applets")
            os.makedirs(work)
            # As ./mica applet-test: an applet the skip list names alone is not run (bc: hours under strace too).
            with open(os.path.join(ROOT, "tests", "linux", "applet_skip.txt")) as f:
                left_out = {line.split("#")[0].strip() for line in f if not line.startswith("#")}
            applets = [a for a in linux_applets.applets_of(build) if a not in left_out]
            linux_applets.run_on_host(build, applets, work, wrap=w.wrap("linux.applet_test"))
            w.collect(drop=HARNESS)
    programs = {"disk.open_files": ["linux-files", "DIR"], "linux.threads": ["linux-threads"],
                "linux.jobs": ["linux-jobs"], "linux.sockets": ["linux-sockets"]}
    for test, argv in programs.items():
        if test not in tests:
            continue
        work = os.path.join(tmp, f"program-{argv[0]}")
        os.makedirs(work)
        cmd = [os.path.join(build, argv[0])] + [work if a == "DIR" else a for a in argv[1:]]
        subprocess.run(w.wrap(test) + cmd, cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=600)
        w.collect()
    return w.made


def probe_calls():
    """The call numbers linux-probe makes at random (apps/linux/probe.c's kCalls)."""
    with open(os.path.join(ROOT, "apps", "linux", "probe.c")) as f:
        source = f.read()
    body = source[source.index("kCalls[] = {"):]
    return {int(n) for n in re.findall(r"\d+", body[:body.index("};")])}


def report(names, served, partial, made, random_calls):
    numbers = {name: n for n, name in names.items()}
    tests_of = {}
    for test, calls in made.items():
        for name, n in calls.items():
            tests_of.setdefault(numbers.get(name, -1), []).append((test, n))
    for n in random_calls:
        if n in names:
            tests_of.setdefault(n, []).append(("linux.probe", None))
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout
    lines = [f"# Linux system calls on Mica",
             "",
             f"Made by `./mica linux-calls` on {datetime.date.today()} at {head.strip() or 'an unknown commit'}.",
             f"Served: {sum(1 for v in served.values() if v == 'served')} calls; ENOSYS by design: "
             f"{', '.join(names[n] for n in sorted(served) if served[n] == 'ENOSYS') or 'none'}. "
             "Tests: the calls their programs make on the host (strace -f -c), with how many; "
             "linux.probe: among its random calls. (strace -c leaves out calls that do not return: "
             "exit and exit_group.)",
             "",
             "| # | call | on Mica | tests that make it |",
             "|---|---|---|---|"]
    for n in sorted(set(served) | {k for k in tests_of if k >= 0}):
        name = names.get(n, "?")
        state = "served" if served.get(n) == "served" else UNSERVED.get(name, "**not served** (ENOSYS), no reason recorded")
        tests = ", ".join(f"{t} ({c:,})" if c is not None else t for t, c in sorted(tests_of.get(n, [])))
        lines.append(f"| {n} | {name} | {state} | {tests or '—'} |")
    missing = [f"- {names[n]}: {UNSERVED.get(names[n], '**no reason recorded**')}"
               for n in sorted(tests_of) if n >= 0 and n not in served]
    unmade = [names.get(n, str(n)) for n in sorted(served) if n not in tests_of]
    lines += ["", "## Made by the tests' programs on Linux, not served on Mica", ""] + (missing or ["None."])
    lines += ["", "## Served, made by no test's program on Linux nor by linux.probe", "",
              ", ".join(unmade) if unmade else "None.", "", "## Served, but ENOSYS for some arguments", ""]
    lines += [f"- `{where}`: {comment}" for where, comment in partial] or ["None."]
    return "\n".join(lines) + "\n"


def main():
    all_tests = ["linux.differential", "linux.ash_test", "linux.applet_test", "disk.open_files", "linux.threads",
                 "linux.jobs", "linux.sockets"]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", required=True)
    parser.add_argument("tests", nargs="*", help=f"only these (of {', '.join(all_tests)})")
    args = parser.parse_args()
    tests = args.tests or all_tests
    for t in tests:
        if t not in all_tests:
            sys.exit(f"linux-calls: no test {t}; the tests are {', '.join(all_tests)}")
    served, partial = personality()
    with tempfile.TemporaryDirectory(prefix="mica-linux-calls-") as tmp:
        made = run(args.build, tmp, tests)
    text = report(linux_names(), served, partial, made, probe_calls())
    with open(os.path.join(args.build, "linux-calls.md"), "w") as f:
        f.write(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
