#!/usr/bin/env python3
"""Benchmarks: boots Mica and prints one line per figure,

    bench <metric> <value> <unit>

Figures measured inside the guest are printed by the kernel or by benchmark
programs as lines beginning with "bench " on the serial port and passed
through as they are (run under -icount shift=0, where the TSC counts
executed instructions). Figures measured on the host (boot time) are wall
clock and noisy: they show trends, not path lengths.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

BANNER = re.compile(rb"Mica \d+\.\d+\.\d+")


def boot_once(iso, timeout):
    """Wall time from QEMU start to the banner and to QEMU's exit, in ms."""
    cmd = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-m", "256M", "-display", "none",
           "-no-reboot", "-monitor", "none", "-serial", "stdio",
           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-cdrom", iso, "-boot", "d"]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    seen, banner_at = b"", None
    while True:
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            break
        seen += chunk
        if banner_at is None and BANNER.search(seen):
            banner_at = time.monotonic()
        if time.monotonic() - start > timeout:
            proc.kill()
            break
    proc.wait()
    end = time.monotonic()
    if banner_at is None:
        raise SystemExit("bench: the kernel never printed its banner")
    return (banner_at - start) * 1000, (end - start) * 1000


def report(name, values, unit):
    print(f"bench {name}.median {statistics.median(values):.0f} {unit}")
    print(f"bench {name}.min {min(values):.0f} {unit}")
    print(f"bench {name}.max {max(values):.0f} {unit}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iso", required=True)
    parser.add_argument("--boots", type=int, default=5)
    parser.add_argument("names", nargs="*", help="only metrics starting with these")
    args = parser.parse_args()
    wanted = lambda metric: not args.names or any(metric.startswith(n) for n in args.names)

    if wanted("boot"):
        banner, total = zip(*(boot_once(args.iso, 60) for _ in range(args.boots)))
        report("boot.to_banner.bios_tcg", banner, "ms")
        report("boot.to_poweroff.bios_tcg", total, "ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
