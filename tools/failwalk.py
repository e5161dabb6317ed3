#!/usr/bin/env python3
"""./mica failwalk: allocation-failure injection into the kernel.

Every kernel allocation goes through operator new or the frame functions
of kernel/memory.h; a call of one of them is a *site*, named by its return
address. `fail.alloc=SITE:N` on the kernel command line makes the Nth
allocation from SITE fail, once. This walks the sites:

  - the 1st, 2nd and 10th hit of every site (--nth), each under each
    workload (--workloads): the in-OS tests (ktest, every family) and a
    10,000-call syscall-fuzzing run, one boot each;
  - then --random seeded random (site, N, workload) triples.

Each boot must end without a kernel panic (or, under the fuzzer, whose
workers are bounded in time, a hang; the in-OS tests may wait for ever on
a thread the failure kept from starting), and the kernel's own
check at the end (every process gone, every frame and heap byte given back
since boot) must find no leak. Prints one line per boot that went wrong and

    failwalk: B boots, K panics, L leaked pages, H leaked heap bytes

(and how many injections fired, how many runs hung). Sites used only while
the kernel boots (its own page tables, the idle thread, the first process)
are left out: failing them stops the machine with a boot message by design.
"""
import argparse
import concurrent.futures
import os
import random
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mkiso  # noqa: E402
from qemu import coverage_args  # noqa: E402

ALLOCATORS = re.compile(r"call\s+[0-9a-f]+ <(operator new(\[\])?\(unsigned long, std::nothrow_t const&\)"
                        r"|allocate_zeroed_frame\(\)|allocate_frames\(unsigned long\))>")
BOOT_ONLY = ("KernelTableFrames::take", "Thread::adopt_boot_context", "(anonymous namespace)::start(BootInfo",
             "Quota::create_root")
WORKLOADS = {
    "ktest": "init=ktest -- churn=100",
    "fuzz": "init=fuzz -- seed={seed} count=10000",
}


def find_sites(kernel):
    """(address of the instruction after the call, function name) for each allocator call."""
    out = subprocess.run(["objdump", "-dC", "--no-show-raw-insn", kernel], capture_output=True, text=True,
                         check=True).stdout
    sites, function, pending = [], None, None
    for line in out.splitlines():
        m = re.match(r"^([0-9a-f]+) <(.*)>:$", line)
        if m:
            function = m.group(2)
            continue
        m = re.match(r"^\s*([0-9a-f]+):\s+(.*)$", line)
        if not m:
            continue
        if pending:
            sites.append((int(m.group(1), 16), pending))
            pending = None
        if ALLOCATORS.search(m.group(2)):
            pending = function
    return [(a, f) for a, f in sites if not any(b in f for b in BOOT_ONLY)]


def short(function):
    return function.split("(")[0] if "(anonymous" not in function else function[:60]


def boot(image, site, nth, workload, seed, timeout):
    """Runs one boot; returns (outcome, leaked pages, leaked heap bytes, fired, tail of output)."""
    cmdline = f"fail.alloc={site:#x}:{nth} " + WORKLOADS[workload].format(seed=seed)
    with tempfile.TemporaryDirectory(prefix="mica-failwalk-") as tmp:
        iso = os.path.join(tmp, "failwalk.iso")
        mkiso.make_iso(image, iso, cmdline)
        cmd = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-m", "256M", "-display", "none",
               "-no-reboot", "-monitor", "none", "-serial", "stdio", "-nic", "none", "-icount", "shift=0,sleep=off",
               "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-cdrom", iso, "-boot", "d"] + coverage_args()
        try:
            run = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
            out, hung = run.stdout.decode("utf-8", "replace"), False
        except subprocess.TimeoutExpired as e:
            out, hung = (e.stdout or b"").decode("utf-8", "replace"), True
    fired = "fail.alloc: allocation" in out and "fails, as asked" in out
    leak = re.search(r"but (-?\d+) pages and (-?\d+) heap bytes were not given back", out)
    pages, heap = (int(leak.group(1)), int(leak.group(2))) if leak else (0, 0)
    if "PANIC" in out:
        outcome = "panic"
    elif hung:
        outcome = "hang"
    elif leak:
        outcome = "leak"
    elif "all kernel memory given back" in out:
        outcome = "clean"
    elif "init: cannot start" in out:
        outcome = "no-init"  # the first process could not be made: a clean refusal
    else:
        outcome = "other"
    return outcome, pages, heap, fired, out[-3000:]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--image", required=True, help="the build's image directory (kernel and modules)")
    p.add_argument("--kernel", required=True, help="kernel.elf, to find the allocation sites in")
    p.add_argument("--nth", default="1,2,10", help="hits to fail at every site (empty: none)")
    p.add_argument("--workloads", default="ktest,fuzz")
    p.add_argument("--random", type=int, default=1000, help="seeded random (site, N, workload) boots")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--sites", default=None, help="only sites in functions matching this regex")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--timeout", type=int, default=120)
    p.add_argument("--list", action="store_true", help="print the sites and stop")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()

    sites = find_sites(args.kernel)
    if args.sites:
        sites = [(a, f) for a, f in sites if re.search(args.sites, f)]
    if args.list:
        for address, function in sites:
            print(f"{address:#x} {function}")
        return 0
    if not sites:
        print("failwalk: no allocation sites found", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else random.randrange(1, 1 << 31)
    rng = random.Random(seed)
    workloads = [w for w in args.workloads.split(",") if w]
    plan = []
    for n in [int(x) for x in args.nth.split(",") if x]:
        for address, function in sites:
            for w in workloads:
                plan.append((address, function, n, w, seed))
    for _ in range(args.random):
        address, function = rng.choice(sites)
        plan.append((address, function, rng.choice([1, 2, 3, 5, 10, 20, 50, 100, 200]), rng.choice(workloads),
                     rng.randrange(1, 1 << 31)))
    print(f"failwalk: {len(sites)} sites, {len(plan)} boots, seed {seed}", flush=True)

    totals = {"panic": 0, "hang": 0, "leak": 0, "clean": 0, "no-init": 0, "other": 0}
    pages = heap = fired = fuzz_hangs = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(boot, args.image, a, n, w, s, args.timeout): (a, f, n, w, s) for a, f, n, w, s in plan}
        for future in concurrent.futures.as_completed(futures):
            a, f, n, w, s = futures[future]
            outcome, lp, lh, fire, tail = future.result()
            totals[outcome] += 1
            fuzz_hangs += outcome == "hang" and w == "fuzz"  # the fuzzer bounds its workers: a hang is the kernel's
            pages += lp
            heap += lh
            fired += fire
            what = f"{short(f)} @{a:#x} hit {n} under {w}" + (f" seed {s}" if w == "fuzz" else "")
            if outcome in ("panic", "leak", "other") or (outcome == "hang" and (w == "fuzz" or args.verbose)):
                print(f"failwalk: {outcome}: {what}: fail.alloc={a:#x}:{n}", flush=True)
                if outcome != "hang":
                    print("\n".join("    " + l for l in tail.splitlines()[-25:]), flush=True)
            elif args.verbose:
                print(f"failwalk: {outcome}: {what}" + (" (fired)" if fire else ""), flush=True)
    boots = len(plan)
    print(f"failwalk: {fired} injections fired; {totals['clean']} clean, {totals['hang']} hung runs, "
          f"{totals['no-init']} refused to start init, {totals['other']} ended otherwise")
    print(f"failwalk: {boots} boots, {totals['panic']} panics, {pages} leaked pages, {heap} leaked heap bytes, "
          f"seed {seed}")
    return 0 if totals["panic"] == 0 and pages == 0 and heap == 0 and totals["leak"] == 0 \
        and totals["other"] == 0 and fuzz_hangs == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
