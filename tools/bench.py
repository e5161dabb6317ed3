#!/usr/bin/env python3
"""Benchmarks: boots the benchmark image and prints one line per figure,

    bench <metric> <value> <unit>

The benchmark program (apps/bench, the first process with `init=bench`)
measures the kernel's primitives with the cycle counter. It runs twice:
under -icount shift=0, where the counter advances one tick per executed
instruction (unit `instructions`: deterministic path lengths, comparable from
commit to commit), then without icount (unit `ns`: wall clock on a shared
machine, only a trend). Boot time, to the kernel's banner and to the shell's
first prompt, is measured on the host (`ms`).

File throughput boots the whole system with a copy of the disk image and
runs apps/fsbench from the shell: MiB/s through file: by the clock (plain
TCG), and the cycle count of one 4 KiB read under icount. The Linux
personality's figures (linux.*) come the same way from the static Linux
program apps/linux/bench.c, under icount, and the network's (net.*) from
apps/net/netbench: a 1-byte TCP round trip over the loopback in
instructions, and a loopback stream's MiB/s (by the clock, under icount:
a trend only).

Several CPUs: the same image booted with -smp 2 and -smp 4 measures a call
to a server on another CPU (ipc.call_reply.cross_core) and the unmapping of
one page of an address space live on 1..N CPUs (tlb.unmap_page.cpus_N; the
shootdown is the difference), under icount (where the ticks count every
CPU's instructions, the halted ones' too) and by the clock; and, by the
clock on plain TCG (one host thread per CPU), independent client/server
pairs all on CPU 0 and then one pair per CPU (ipc.pairs_2.scaling: the
ratio of their calls per second), and the same with one server endpoint
that a server thread per CPU receives on (ipc.shared_server_2).
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mkiso  # noqa: E402

BANNER = re.compile(rb"Mica \d+\.\d+\.\d+")
PROMPT = b"mica> "
QEMU = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-m", "256M", "-display", "none",
        "-no-reboot", "-monitor", "none", "-serial", "stdio", "-nic", "none",
        "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]


def run_bench_image(iso, icount, timeout=600, smp=1):
    cmd = QEMU + ["-smp", str(smp), "-cdrom", iso, "-boot", "d"] + (["-icount", "shift=0"] if icount else [])
    out = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout).stdout
    text = out.decode("utf-8", "replace")
    if "bench-done" not in text:
        sys.stderr.write(text)
        raise SystemExit("bench: the benchmark program did not finish")
    figures, hz = [], None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("bench-counter-hz "):
            hz = int(line.split()[1])
        elif line.startswith("bench "):
            _, metric, value, unit = line.split()
            figures.append((metric, float(value) if "." in value else int(value), unit))
    return figures, hz


def run_fsbench(iso, disk, icount, timeout=600, command=b"fsbench", done="fsbench-done"):
    """The `bench` lines of a program run from the shell (fsbench, or the
    Linux program linux-bench), from a full system with `disk`."""
    with tempfile.TemporaryDirectory(prefix="mica-fsbench-") as tmp:
        copy = os.path.join(tmp, "disk.img")
        subprocess.run(["cp", "--sparse=always", disk, copy], check=True)
        cmd = QEMU + ["-cdrom", iso, "-boot", "d",
                      "-drive", f"file={copy},if=none,id=disk0,format=raw",
                      "-device", "virtio-blk-pci,drive=disk0,disable-legacy=on"]
        cmd += ["-icount", "shift=0"] if icount else []
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        seen, sent, start = b"", False, time.monotonic()
        while done.encode() not in seen and time.monotonic() - start < timeout:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            seen += chunk
            if not sent and PROMPT in seen:
                proc.stdin.write(command + b"\n")
                proc.stdin.flush()
                sent = True
        proc.kill()
        proc.wait()
    text = seen.decode("utf-8", "replace")
    if done not in text:
        sys.stderr.write(text)
        raise SystemExit(f"bench: {command.decode()} did not finish")
    return [line.strip().split()[1:] for line in text.splitlines() if line.strip().startswith("bench ")]


def boot_once(iso, timeout):
    """Wall time from QEMU start to the kernel's banner and to the shell's
    first prompt, in ms."""
    start = time.monotonic()
    proc = subprocess.Popen(QEMU + ["-cdrom", iso, "-boot", "d"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    seen, banner_at, prompt_at = b"", None, None
    while prompt_at is None and time.monotonic() - start < timeout:
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            break
        seen += chunk
        if banner_at is None and BANNER.search(seen):
            banner_at = time.monotonic()
        if PROMPT in seen:
            prompt_at = time.monotonic()
    proc.kill()
    proc.wait()
    if banner_at is None or prompt_at is None:
        raise SystemExit("bench: the system never reached the shell")
    return (banner_at - start) * 1000, (prompt_at - start) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iso", required=True, help="the normal boot image (for boot time)")
    parser.add_argument("--image", required=True, help="image folder (to make the benchmark ISO)")
    parser.add_argument("--disk", help="the disk image (for file throughput)")
    parser.add_argument("--boots", type=int, default=5)
    parser.add_argument("names", nargs="*", help="only metrics starting with these")
    args = parser.parse_args()

    def wanted(metric):
        return not args.names or any(metric.startswith(n) for n in args.names)

    def emit(metric, value, unit):
        if wanted(metric):
            print(f"bench {metric} {value} {unit}", flush=True)

    with tempfile.TemporaryDirectory(prefix="mica-bench-") as tmp:
        bench_iso = os.path.join(tmp, "bench.iso")
        mkiso.make_iso(args.image, bench_iso, "init=bench")
        figures, _ = run_bench_image(bench_iso, icount=True)
        for metric, value, unit in figures:
            emit(metric, value, "instructions" if unit == "ticks" else unit)
        figures, hz = run_bench_image(bench_iso, icount=False)
        for metric, value, unit in figures:
            if unit == "ticks":
                emit(metric, round(value * 1e9 / hz), "ns")

    smp_metrics = ("ipc.call_reply.cross_core", "tlb.", "ipc.pairs", "ipc.shared_server")
    if any(wanted(m) for m in smp_metrics):
        with tempfile.TemporaryDirectory(prefix="mica-bench-") as tmp:
            bench_iso = os.path.join(tmp, "bench.iso")
            mkiso.make_iso(args.image, bench_iso, "init=bench")
            for cpus in (2, 4):
                def new(metric):  # the -smp 4 run adds what -smp 2 cannot measure
                    return cpus == 2 or "cpus_3" in metric or "cpus_4" in metric
                figures, _ = run_bench_image(bench_iso, icount=True, smp=cpus)
                for metric, value, unit in figures:
                    if new(metric):
                        emit(metric, value, "instructions" if unit == "ticks" else unit)
                figures, hz = run_bench_image(bench_iso, icount=False, smp=cpus)
                for metric, value, unit in figures:
                    if unit == "ticks" and new(metric):
                        emit(metric, round(value * 1e9 / hz), "ns")
            scaling_iso = os.path.join(tmp, "scaling.iso")
            mkiso.make_iso(args.image, scaling_iso, "init=bench -- smp=scaling")
            figures, _ = run_bench_image(scaling_iso, icount=False, smp=2)
            for metric, value, unit in figures:
                emit(metric, value, unit)

    if args.disk and wanted("fs."):
        for metric, value, unit in run_fsbench(args.iso, args.disk, icount=False):
            if unit != "ticks":
                emit(metric + ".tcg", value, unit)
        for metric, value, unit in run_fsbench(args.iso, args.disk, icount=True):
            if unit == "ticks":
                emit(metric, value, "instructions")

    if args.disk and wanted("linux."):
        for metric, value, unit in run_fsbench(args.iso, args.disk, icount=True, command=b"linux-bench",
                                               done="linux-bench-done"):
            emit(metric, value, "instructions" if unit == "ticks" else unit)

    if args.disk and wanted("net."):
        for metric, value, unit in run_fsbench(args.iso, args.disk, icount=True, command=b"netbench",
                                               done="netbench-done"):
            emit(metric, value, "instructions" if unit == "ticks" else unit)

    if any(wanted(m) for m in ("boot.to_banner.bios_tcg", "boot.to_shell.bios_tcg")):
        banner, shell = zip(*(boot_once(args.iso, 60) for _ in range(args.boots)))
        for name, values in (("boot.to_banner.bios_tcg", banner), ("boot.to_shell.bios_tcg", shell)):
            emit(f"{name}.median", round(statistics.median(values)), "ms")
            emit(f"{name}.min", round(min(values)), "ms")
            emit(f"{name}.max", round(max(values)), "ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
