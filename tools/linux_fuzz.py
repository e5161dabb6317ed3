#!/usr/bin/env python3
"""./mica linux-fuzz: a long campaign of random Linux system calls against the
Linux personality, and prints

    linux-fuzz: N calls, F failures, R restarts, memory W -> A KiB, seed S

The calls come from apps/linux/probe.c (`linux-probe COUNT SEED`), a static
Linux program run on Mica from its shell: first its list of bad pointers,
sizes and values, each of which must get the errno Linux gives, then COUNT
calls drawn at random (with random, boundary and bad arguments) from the
calls that cannot end or block it. A warm-up run first (a tenth of COUNT,
at least 10,000 calls, another seed) lets the personality's heap and caches
take the size such a campaign needs; the memory the personality holds (`ps`)
is read after it (W) and after the campaign (A): a leak of a few bytes a call
would show.

Exit status 0 only when every call was answered, no check failed, the
personality was never restarted, it holds no more memory than after the
warm-up (--slack KiB allowed, default 1024: the heap's high-water mark
moves a little with the calls made, about 260 KiB for each of the first few
new seeds, then no more; one seed run twice holds the same), and it still
runs a program."""
import argparse
import os
import random
import re
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import linux_ash  # noqa: E402  (a Mica booted with the build's disk, driven over its console)

PS_LINE = re.compile(rb"\n\s*\d+ linux\s+(\S+)\s+(\d+) K\s+\d+ K\s+(\d+)")


def command(mica, line, timeout):
    mica.send(line.encode() + b"\n")
    out = mica.wait_for(linux_ash.PROMPT, timeout)
    if out is None:
        sys.exit(f"linux-fuzz: no prompt within {timeout} s after `{line}`:\n"
                 + mica.seen[-3000:].decode("utf-8", "replace"))
    return out


def personality(mica):
    """The personality's state, memory (KiB) and restarts, from `ps`."""
    m = PS_LINE.search(command(mica, "ps", 60))
    if not m:
        sys.exit("linux-fuzz: `ps` lists no linux service")
    return m.group(1).decode(), int(m.group(2)), int(m.group(3))


def campaign(mica, count, seed):
    """Runs linux-probe: (calls answered, failures)."""
    out = command(mica, f"linux-probe {count} {seed}", 600 + count // 100).decode("utf-8", "replace")
    answered = re.search(r"linux-probe: (\d+) random calls answered", out)
    done = re.search(r"linux-probe: done, (\d+) failures", out)
    for line in out.splitlines():
        if "FAILED" in line or "PANIC" in line:
            print(line.strip())
    if not done:
        print(out[-2000:])
    return (int(answered.group(1)) if answered else 0), (int(done.group(1)) if done else 1)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", required=True)
    p.add_argument("--count", type=int, default=1000000)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--slack", type=int, default=1024, help="KiB the personality may hold beyond the warm-up")
    args = p.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1, 1 << 31)
    with tempfile.TemporaryDirectory(prefix="mica-linux-fuzz-") as tmp:
        mica = linux_ash.Mica(args.build, tmp)
        try:
            _, _, restarts_before = personality(mica)
            _, warm_failures = campaign(mica, max(10000, args.count // 10), seed + 1)
            _, warm, _ = personality(mica)
            calls, failures = campaign(mica, args.count, seed)
            state, after, restarts = personality(mica)
            serving = b"still serving" in command(mica, "busybox echo still serving", 120)
        finally:
            mica.close()
    failures += warm_failures
    restarts -= restarts_before
    print(f"linux-fuzz: {calls} calls, {failures} failures, {restarts} restarts, memory {warm} -> {after} KiB, "
          f"seed {seed}")
    problems = []
    if calls != args.count:
        problems.append(f"{args.count - calls} calls not answered")
    if failures:
        problems.append(f"{failures} checks failed")
    if restarts or state != "running":
        problems.append(f"the personality was restarted {restarts} times (now {state})")
    if after > warm + args.slack:
        problems.append(f"the personality holds {after - warm} KiB more than after the warm-up")
    if not serving:
        problems.append("the personality no longer runs a program")
    for problem in problems:
        print(f"linux-fuzz: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
