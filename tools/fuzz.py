#!/usr/bin/env python3
"""./mica fuzz: boots the fuzzing image (apps/fuzz as the first process) and
prints

    fuzz: N syscalls, K kernel panics, L leaked pages, seed S

N counts the steps the workers made (each at least one system call; a
scenario step makes several). The guest counts steps and leaked pages, and
the kernel, once every process has ended, checks that all its memory came
back; a kernel panic or hang is what only the host can see (QEMU's exit
status, a silent timeout). Exit status 0 only when there was no panic, no
hang, no leak, and every generator ran."""
import argparse
import os
import random
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mkiso  # noqa: E402
from qemu import EXIT_FAILURE, EXIT_SUCCESS, coverage_args  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--image", required=True)
    p.add_argument("--seed", type=int, default=None)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--count", type=int, default=None)
    group.add_argument("--seconds", type=int, default=None)
    p.add_argument("--gen", default="all", choices=["all", "random", "boundary", "cpu", "scenario"])
    p.add_argument("--smp", type=int, default=1, help="CPUs (the workers spread over them)")
    args = p.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1, 1 << 31)
    budget = f"seconds={args.seconds}" if args.seconds else f"count={args.count or 100000}"
    limit = (args.seconds or 0) + 120 + (args.count or 100000) // 500
    with tempfile.TemporaryDirectory(prefix="mica-fuzz-") as tmp:
        iso = os.path.join(tmp, "fuzz.iso")
        mkiso.make_iso(args.image, iso, f"init=fuzz -- seed={seed} {budget} gen={args.gen}")
        cmd = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-m", "256M", "-display", "none",
               "-no-reboot", "-monitor", "none", "-serial", "stdio",
               "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-cdrom", iso, "-boot", "d",
               "-nic", "none", "-smp", str(args.smp)] + coverage_args()
        if not args.seconds:
            # Instruction counting makes the threads' interleaving, and so the
            # whole run, the same every time for a seed.
            cmd += ["-icount", "shift=0,sleep=off"]
        hang = False
        try:
            run = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=limit)
            out, status = run.stdout.decode("utf-8", "replace"), run.returncode
        except subprocess.TimeoutExpired as e:
            out, status, hang = (e.stdout or b"").decode("utf-8", "replace"), None, True
    result = [l for l in out.splitlines() if l.startswith("fuzz-result:")]
    panics = 1 if "PANIC" in out or status == EXIT_FAILURE and not result else 0
    syscalls, leaked = 0, 0
    if result:
        words = result[-1].split()
        syscalls, leaked = int(words[1]), int(words[3])
    # The kernel's own check once every process is gone (kernel/shutdown.cpp).
    kernel_leak = re.search(r"but (-?\d+) pages and (-?\d+) heap bytes were not given back", out)
    if kernel_leak:
        leaked += int(kernel_leak.group(1)) or 1
    elif result and "all kernel memory given back" not in out:
        leaked += 1  # the check never ran: count it as a leak, never as clean
    if panics or hang or not result:
        sys.stdout.write(out[-4000:])
    else:
        for line in out.splitlines():
            if line.startswith("fuzz: "):
                print(line.replace("fuzz: ", "fuzz: guest: ", 1))
    print(f"fuzz: {syscalls} syscalls, {panics} kernel panics, {leaked} leaked pages, seed {seed}"
          + (" (hang: the run never finished)" if hang else ""))
    # Every generator must have run (the CI slice covers each).
    mix = re.search(r"steps by generator.*: random (\d+), boundary (\d+), cpu (\d+), scenario (\d+)", out)
    idle = [name for name, n in zip(("random", "boundary", "cpu", "scenario"), mix.groups())
            if int(n) == 0 and args.gen in ("all", name)] if mix else ["all"]
    if idle:
        print(f"fuzz: generators that never ran: {', '.join(idle)}")
    broken = re.search(r"fuzz: (\d+) results outside their call's errors", out)
    contract = int(broken.group(1)) if broken else -1
    if contract:
        print(f"fuzz: {contract if contract > 0 else 'unknown'} results outside the syscall contract")
        for line in sorted({l for l in out.splitlines() if "contract broken" in l}):
            print(line)
    ok = result and not panics and not hang and leaked == 0 and status == EXIT_SUCCESS and not idle and contract == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
