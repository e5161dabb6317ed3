#!/usr/bin/env python3
"""How long Mica takes to boot to the shell's prompt, by firmware.

    boottime.py --build DIR [--runs N] [--machine pc|q35] [--qemu-arg ARG]...

Boots the image N times (default 5) through BIOS and N times through UEFI
(OVMF), with the same QEMU command line `./mica run` uses, and prints for
each the median wall-clock seconds from starting QEMU until the firmware's
first output, the boot loader's, the kernel's banner and the shell's prompt:

    boot bios first 0.05 grub 0.06 kernel 0.36 prompt 0.45 s (median of 5)

Wall-clock times depend on the host (TCG: one host thread per vCPU); they
are figures for a note, not a test.
"""
import argparse
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402

# What marks each stage in the serial output (OVMF clears the screen first;
# SeaBIOS prints nothing on serial, so BIOS's first mark is GRUB's).
MARKS = (("first", b"\x1b"), ("grub", b"GRUB"), ("kernel", b"[info] boot: loader"), ("prompt", b"mica> "))


def one_boot(args, uefi):
    run = argparse.Namespace(memory="256M", machine=args.machine, smp=1, gui=False, kvm=False, icount=False,
                             uefi=uefi, disk=None, disk_copy=os.path.join(args.build, "disk.img"),
                             debug=False, qemu_arg=args.qemu_arg)
    with tempfile.TemporaryDirectory(prefix="mica-boottime-") as workdir:
        cmd = qemu.build_command(run, os.path.join(args.build, "mica.iso"), workdir,
                                 ["-serial", "stdio", "-monitor", "none"])
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        seen, marks = b"", {}
        while "prompt" not in marks and time.monotonic() - start < 120:
            ready, _, _ = select.select([proc.stdout], [], [], 1)
            if not ready:
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            seen += chunk
            for name, pattern in MARKS:
                if name not in marks and pattern in seen:
                    marks[name] = time.monotonic() - start
        proc.kill()
        proc.wait()
    if "prompt" not in marks:
        sys.exit(f"boottime: {'UEFI' if uefi else 'BIOS'} boot did not reach the prompt")
    return marks


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", required=True, help="the build directory (its mica.iso and disk.img)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--machine", choices=qemu.MACHINES, default="pc")
    parser.add_argument("--qemu-arg", action="append", metavar="ARG", help="an extra QEMU argument (repeatable)")
    args = parser.parse_args()
    for firmware, uefi in (("bios", False), ("uefi", True)):
        boots = [one_boot(args, uefi) for _ in range(args.runs)]
        figures = []
        for name, _ in MARKS:
            times = [b[name] for b in boots if name in b]
            if times:
                figures.append(f"{name} {statistics.median(times):.2f}")
        print(f"boot {firmware} {' '.join(figures)} s (median of {args.runs})", flush=True)


if __name__ == "__main__":
    main()
