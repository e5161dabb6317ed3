#!/usr/bin/env python3
"""busybox's applet tests (testsuite/runtest), on the host and on Mica.

    linux_applets.py --build BUILD [--skip-file FILE] [--show-failures] [APPLET...]

The tests come from Debian's busybox source package, as published
(tools/debian_sources.py puts testsuite/ on the disk image as /testsuite,
and Debian's busybox-static configuration as /bb/.config beside a link
/bb/busybox to /bin/busybox). Their own driver, runtest, runs the tests of
one APPLET (default: every applet the busybox has tests for) and prints
`PASS: name`, `FAIL: name`, `SKIPPED: ...` or `UNTESTED: ...` per test.

It runs twice with the very same busybox binary and the very same files:
on the host, in a chroot made of a copy of the disk image's tree (so that
/bin/sh is that busybox, as on Mica; this needs root, for chroot and a
private mount of /dev and /proc), and on Mica, typed at Mica's shell with a
copy of the disk image. Every test that passes on the host must pass on
Mica, but for those the skip file names, each with its reason. Tests that
fail on the host too are listed, not counted. An applet that stops making
progress for --stall seconds is interrupted with Ctrl-C: its test in
progress and those not run are failures.
"""

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile
import time

import linux_ash

PROMPT = linux_ash.PROMPT
RESULT = re.compile(r"^(PASS|FAIL|SKIPPED|UNTESTED):\s*(.*?)\s*$")
# As Mica's shell gives every program (servers/README.md).
ENVIRONMENT = ["PATH=/bin:/usr/bin", "HOME=/", "TERM=vt100", "bindir=/bb"]


def applets_of(build):
    """The applets busybox has that testsuite/ has tests for (runtest's own list, and `busybox`)."""
    busybox = os.path.join(build, "debian", "busybox")
    suite = os.path.join(build, "debian", "applet_test", "testsuite")
    listed = subprocess.run([busybox, "--list"], check=True, stdout=subprocess.PIPE, text=True).stdout.split()
    return [a for a in ["busybox"] + sorted(set(listed) - {"busybox"})
            if os.path.isdir(os.path.join(suite, a)) or os.path.isfile(os.path.join(suite, a + ".tests"))]


def parse(text, applet, results):
    """`applet/name` -> PASS or FAIL, in order; a name seen twice gets `#2`."""
    seen = collections.Counter(k.split("#")[0] for k in results)
    for line in text.replace("\r\n", "\n").splitlines():
        m = RESULT.match(line)
        if not m or m.group(1) not in ("PASS", "FAIL"):
            continue
        key = f"{applet}/{m.group(2)}"
        seen[key] += 1
        results[key if seen[key] == 1 else f"{key}#{seen[key]}"] = m.group(1)
    return results


def runtest_command(applet):
    return f"cd /testsuite && ./runtest {applet} </dev/null"


def run_on_host(build, applets, tmp, wrap=()):
    if os.geteuid() != 0:
        raise SystemExit("linux_applets: the host's run needs root (chroot, and a private mount of /dev and /proc)")
    root = os.path.join(tmp, "root")
    subprocess.run(["cp", "-a", os.path.join(build, "disk-root"), root], check=True)
    os.makedirs(os.path.join(root, "dev"), exist_ok=True)
    os.makedirs(os.path.join(root, "proc"), exist_ok=True)
    os.makedirs(os.path.join(root, "etc"), exist_ok=True)
    # What Mica's personality makes up for these (servers/linux/files.cpp).
    with open(os.path.join(root, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    with open(os.path.join(root, "etc", "group"), "w") as f:
        f.write("root:x:0:\n")
    script = "".join(f"echo '=== {a}'; (cd /testsuite && ./runtest {a} </dev/null 2>&1); " for a in applets)
    inner = f"chroot {root} /bin/env -i {' '.join(ENVIRONMENT)} /bin/sh -c \"$0\""
    setup = f"mount --rbind /dev {root}/dev && mount -t proc proc {root}/proc && exec {inner}"
    r = subprocess.run(list(wrap) + ["unshare", "--mount", "--propagation", "private", "sh", "-c", setup, script],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=1800)
    results, applet, text = {}, None, []
    for line in r.stdout.decode("utf-8", "replace").splitlines() + ["=== "]:
        if line.startswith("=== "):
            if applet:
                parse("\n".join(text), applet, results)
            applet, text = line[4:].strip(), []
        else:
            text.append(line)
    if not results:
        raise SystemExit("linux_applets: no result from the host's run:\n" + r.stdout.decode("utf-8", "replace")[-3000:])
    return results


def run_on_mica(mica, applet, stall):
    """Runs one applet's tests on Mica: its results, and whether it stalled."""
    text, stalled = mica.run(f"sh -c 'export bindir=/bb && {runtest_command(applet)}'\n", stall)
    return parse(text.decode("utf-8", "replace"), applet, {}), stalled


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", required=True)
    parser.add_argument("--stall", type=float, default=120, help="seconds without output before Ctrl-C")
    parser.add_argument("--show-failures", action="store_true", help="run each failed applet again with -v")
    parser.add_argument("--skip-file", help="tests not counted, `applet/name  # reason` per line; "
                                            "`applet  # reason`: the applet is not run")
    parser.add_argument("applets", nargs="*")
    args = parser.parse_args()
    known = applets_of(args.build)
    skipped = {}
    if args.skip_file:
        for line in open(args.skip_file):
            if line.strip() and not line.startswith("#"):
                name, _, reason = line.partition("#")
                skipped[name.strip()] = reason.strip()
    for a in args.applets:
        if a not in known:
            raise SystemExit(f"linux_applets: busybox has no tests for {a}")
    applets = args.applets or known
    for a in [a for a in applets if a in skipped and not args.applets]:  # named: run
        print(f"skipped {a} (the whole applet, not run): {skipped[a]}")
        applets.remove(a)
    with tempfile.TemporaryDirectory(prefix="mica-linux-applets-") as tmp:
        host = run_on_host(args.build, applets, tmp)
        mica = linux_ash.Mica(args.build, tmp)
        got, failed_applets = {}, set()
        try:
            for applet in applets:
                started = time.monotonic()
                results, stalled = run_on_mica(mica, applet, args.stall)
                got.update(results)
                mine = [t for t in host if t.split("/")[0] == applet]
                print(f"applet  {applet}: {sum(1 for t in mine if results.get(t) == 'PASS')} of {len(mine)} pass on Mica "
                      f"({sum(1 for t in mine if host[t] == 'PASS')} on the host), "
                      f"{time.monotonic() - started:.0f} s", flush=True)
                if stalled:
                    print(f"stalled {applet} (interrupted with Ctrl-C)")
                if mica.stuck:  # Ctrl-C did not bring the prompt back: start again with a fresh system
                    print(f"stuck   {applet}: Ctrl-C did not end it; Mica is started again")
                    mica.proc.kill()
                    mica = linux_ash.Mica(args.build, tmp)
            failed = [t for t in host if host[t] == "PASS" and got.get(t) != "PASS" and t not in skipped]
            for t in failed:
                print(f"FAILED  {t}: {got.get(t, 'not run')} on Mica, PASS on the host")
                failed_applets.add(t.split("/")[0])
            if args.show_failures:
                for applet in sorted(failed_applets):
                    mica.send(f"sh -c 'export bindir=/bb && cd /testsuite && ./runtest -v {applet} </dev/null "
                              f"2>&1 | grep -B 6 -A 14 ^FAIL | head -n 80'\n".encode())
                    print((mica.wait_for(PROMPT, 300) or b"").decode("utf-8", "replace"))
        finally:
            mica.close()
    for t in sorted(skipped):
        if t in host:
            print(f"skipped {t}: {skipped[t]} ({got.get(t, 'not run')} on Mica)")
    for t in host:
        if host[t] != "PASS":
            print(f"host    {t}: {host[t]} on the host (not counted); {got.get(t, 'not run')} on Mica")
    passing = [t for t in host if host[t] == "PASS" and t not in skipped]
    print(f"linux_applets: {len(passing) - len(failed)} of the {len(passing)} tests that pass on the host pass on Mica "
          f"({len(host)} tests of {len(applets)} applets; {sum(1 for t in host if t in skipped)} skipped; "
          f"Mica passes {sum(1 for t in host if got.get(t) == 'PASS')})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
