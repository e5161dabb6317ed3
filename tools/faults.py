#!/usr/bin/env python3
"""./mica faults: fault injection under a file workload, from the host.

Boots the whole system with a private copy of the disk image, runs the
in-OS `faults` program (apps/faults: a thread writes, copies and verifies
files through file: while faults are injected into the disk driver and the
file server through init), powers off, and checks the disk with
`e2fsck -fn`. Prints

    faults: N injected, R restarts, K kernel crashes, H hangs, B bytes lost,
            recovery median X ms, max Y ms, hung ones median Z ms, max W ms,
            e2fsck clean|NOT clean, seed S

Recovery is from the injection to the new incarnation's first answer, for
processes that ended (crash, kill, corrupted register); hung ones (found by
the supervisor's liveness probe first) are given apart.

Exit status 0 only when nothing was lost, nothing hung, the kernel never
crashed and the disk is clean."""
import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qemu import coverage_args, die_with_parent  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SBIN = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--iso", required=True)
    p.add_argument("--disk", required=True)
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--how", default="crash,kill,hang,register,reply,after")
    p.add_argument("--target", default="disk,file")
    p.add_argument("--size", default="1024", help="KiB per workload file")
    p.add_argument("--smp", type=int, default=1, help="CPUs")
    p.add_argument("--qemu-arg", action="append", default=[],
                   help="pass ARG to QEMU as it is (repeatable; e.g. --qemu-arg=-icount --qemu-arg=shift=0)")
    args = p.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1, 1 << 31)
    command = (f"faults count={args.count} target={args.target} how={args.how} size={args.size} seed={seed}\n")
    limit = 120 + args.count * 15
    for attempt in range(2):
        with tempfile.TemporaryDirectory(prefix="mica-faults-") as tmp:
            disk = os.path.join(tmp, "disk.img")
            subprocess.run(["cp", "--sparse=always", args.disk, disk], check=True)
            cmd = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-m", "256M", "-display", "none",
                   "-no-reboot", "-monitor", "none", "-serial", "stdio", "-nic", "none",
                   "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-cdrom", args.iso, "-boot", "d",
                   "-drive", f"file={disk},if=none,id=disk0,format=raw",
                   "-device", "virtio-blk-pci,drive=disk0,disable-legacy=on", "-smp", str(args.smp)] + args.qemu_arg + coverage_args()
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    preexec_fn=die_with_parent)
            out, sent, powered, start = b"", False, False, time.monotonic()
            hang = False
            while True:
                if time.monotonic() - start > limit:
                    hang = True
                    proc.kill()
                    break
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                out += chunk
                sys.stdout.write(chunk.decode("utf-8", "replace"))
                sys.stdout.flush()
                if not sent and b"mica> " in out:
                    proc.stdin.write(command.encode())
                    proc.stdin.flush()
                    sent = True
                if sent and not powered and re.search(rb"faults: (nothing lost|FAILED)[^\n]*\n.*mica> ", out, re.S):
                    proc.stdin.write(b"poweroff\n")
                    proc.stdin.flush()
                    powered = True
            status = proc.wait()
            text = out.decode("utf-8", "replace")
            fsck = subprocess.run(["e2fsck", "-fn", disk], capture_output=True, env={**os.environ, "PATH": SBIN})
        if status >= 0 or hang:  # a hang is ours to answer for (we killed it)
            break
        # QEMU itself died of a signal: its multi-threaded TCG's race (see
        # tools/qemu.py, QEMU_CRASHED), no verdict on Mica. Once more.
        print(f"\nfaults: QEMU itself crashed (signal {-status}): a QEMU bug; running again", flush=True)
    crashes = 1 if "PANIC" in text or status == 35 else 0
    m1 = re.search(r"faults: (\d+) injected .*?, (\d+) restarts, (\d+) hangs", text)
    m2 = re.search(r"faults: workload .* (\d+) errors, (\d+) bytes lost; recovery median (\d+) ms, max (\d+) ms", text)
    injected, restarts, hangs = (int(x) for x in m1.groups()) if m1 else (0, 0, 0)
    errors, lost, median, maximum = (int(x) for x in m2.groups()) if m2 else (0, 0, 0, 0)
    m3 = re.search(r"hung ones median (\d+) ms, max (\d+) ms", text)
    hung_median, hung_max = (int(x) for x in m3.groups()) if m3 else (0, 0)
    if hang or not (m1 and m2):
        hangs += 1
    clean = fsck.returncode == 0
    if not clean:
        print(fsck.stdout.decode(errors="replace"))
    report_init_clock(text)
    print(f"faults: {injected} injected, {restarts} restarts, {crashes} kernel crashes, {hangs} hangs, "
          f"{lost} bytes lost, {errors} errors, recovery median {median} ms, max {maximum} ms, "
          f"hung ones median {hung_median} ms, max {hung_max} ms, "
          f"e2fsck {'clean' if clean else 'NOT clean'}, seed {seed}")
    ok = m1 and m2 and not crashes and not hangs and not lost and not errors and clean and status == 33
    return 0 if ok else 1


def report_init_clock(text):
    """Recovery as issue 13 defines it: from the kernel ending the process
    to the first successful answer of its new incarnation, by the guest's
    clock_monotonic. init measures exactly that for every restart it makes
    ("X answering again N ms after it went down": its ping is the first
    client request); each of those lines is paired with the faults
    program's line for the same service that follows it, which names how
    it went down. Hung ones are apart (down when init gave up on them)."""
    last = {}  # service -> init's figure for its latest restart
    ended, hung = [], []
    for line in text.splitlines():
        m = re.search(r"init: (\w+) answering again ([0-9.]+) ms after it went down", line)
        if m:
            last[m.group(1)] = float(m.group(2))
            continue
        m = re.search(r"faults: \d+: (\w+) (\w+) \(pid \d+\): answering again", line)
        if m and m.group(2) in last:
            (hung if m.group(1) == "hang" else ended).append(last.pop(m.group(2)))
    def figure(values):
        values = sorted(values)
        return (f"median {values[len(values) // 2]:.1f} ms, max {values[-1]:.1f} ms ({len(values)})"
                if values else "none")
    print(f"faults: by init's clock, from the process's end to its first answer: {figure(ended)}; "
          f"hung ones, from init's verdict: {figure(hung)}")


if __name__ == "__main__":
    sys.exit(main())
