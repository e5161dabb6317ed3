#!/usr/bin/env python3
"""Kernel coverage without changing the kernel.

The denominator: the basic blocks of kernel.elf's .text, from a static
disassembly (objdump) split at every branch (jumps, calls, returns, traps)
and every branch target; blocks of padding alone (nop, int3) are left out.
A block is reached when its first instruction appears in a QEMU
`-d in_asm` log of the kernel's address range (QEMU logs each translated
block once, so the logs stay small; `-d exec` would log every execution).

    coverage.py run --kernel ELF [--logs DIR] -- COMMAND...   run COMMAND with
        every QEMU our tools start logging into DIR, then report
    coverage.py report --kernel ELF --logs DIR [--unreached]  report on logs

`./mica coverage [--count N]` runs the whole test suite and an N-call
fuzzing campaign (default 1,000,000) this way and lists what stays unreached.

Every tool that starts QEMU asks qemu.coverage_args() for the options: with
MICA_COVERAGE_DIR set in the environment they log there.
"""
import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile

KERNEL_RANGE = "0xffffffff80000000..0xffffffffffffffff"
BRANCH = re.compile(r"^(j[a-z]+|call|ret|iretq|sysretq|lretq|ud2|hlt|syscall|int3?|loop[a-z]*)\b")
PADDING = re.compile(r"^(nop|xchg\s+%ax,%ax|cs nop|data16|int3)")


def static_blocks(kernel):
    """{block start: function} and {function: [block starts]} for .text."""
    out = subprocess.run(["objdump", "-d", "-C", "--no-show-raw-insn", "-j", ".text", kernel],
                         capture_output=True, text=True, check=True).stdout
    instructions = []  # (address, function, text)
    function = None
    for line in out.splitlines():
        m = re.match(r"^([0-9a-f]+) <(.*)>:$", line)
        if m:
            function = m.group(2)
            instructions.append((int(m.group(1), 16), function, None))  # marks a function start
            continue
        m = re.match(r"^\s*([0-9a-f]+):\s+(.*)$", line)
        if m and function:
            instructions.append((int(m.group(1), 16), function, m.group(2).strip()))
    leaders, targets, after_branch = set(), set(), False
    for address, function, text in instructions:
        if text is None:
            leaders.add(address)
            continue
        if after_branch:
            leaders.add(address)
        after_branch = bool(BRANCH.match(text))
        m = re.match(r"^(j[a-z]+|call)\s+([0-9a-f]+) <", text)
        if m:
            targets.add(int(m.group(2), 16))
    leaders |= targets
    blocks = {}  # start -> (function, padding only?)
    current = None
    for address, function, text in instructions:
        if text is None:
            continue
        if address in leaders or current is None:
            current = address
            blocks[current] = [function, True]
        if not PADDING.match(text):
            blocks[current][1] = False
    real = {a: f for a, (f, padding) in blocks.items() if not padding}
    by_function = collections.defaultdict(list)
    for a, f in real.items():
        # The 256 interrupt-vector stubs (trap_entry.S) count as one function.
        by_function["trap_stub_* (256 vectors)" if f.startswith("trap_stub_") else f].append(a)
    return real, by_function


def reached_addresses(log_dir):
    seen = set()
    for name in os.listdir(log_dir):
        with open(os.path.join(log_dir, name), errors="replace") as f:
            for line in f:
                m = re.match(r"^0x([0-9a-f]{16}):", line)
                if m:
                    seen.add(int(m.group(1), 16))
    return seen


def report(kernel, log_dir, unreached=False, out=sys.stdout):
    blocks, by_function = static_blocks(kernel)
    seen = reached_addresses(log_dir)
    hit = {a for a in blocks if a in seen}
    functions_hit = {f for f, starts in by_function.items() if any(a in hit for a in starts)}
    percent = 100.0 * len(hit) / len(blocks) if blocks else 0.0
    print(f"kernel coverage {percent:.1f}% of blocks ({len(hit)} of {len(blocks)}), "
          f"{len(functions_hit)} of {len(by_function)} functions reached", file=out)
    if unreached:
        missing = sorted(f for f in by_function if f not in functions_hit)
        print(f"unreached functions ({len(missing)}):", file=out)
        for f in missing:
            print(f"    {f}", file=out)
        partly = []
        for f in sorted(functions_hit):
            starts = by_function[f]
            n = sum(1 for a in starts if a not in hit)
            if n:
                partly.append((n, len(starts), f))
        print("functions with the most unreached blocks:", file=out)
        for n, total, f in sorted(partly, reverse=True)[:40]:
            print(f"    {n:3d} of {total:3d}  {f}", file=out)
    return percent


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--kernel", required=True)
    r.add_argument("--logs", default=None)
    r.add_argument("--unreached", action="store_true")
    r.add_argument("rest", nargs=argparse.REMAINDER)
    q = sub.add_parser("report")
    q.add_argument("--kernel", required=True)
    q.add_argument("--logs", required=True)
    q.add_argument("--unreached", action="store_true")
    args = p.parse_args()
    if args.command == "report":
        report(args.kernel, args.logs, args.unreached)
        return 0
    command = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    logs = args.logs or tempfile.mkdtemp(prefix="mica-coverage-")
    os.makedirs(logs, exist_ok=True)
    status = subprocess.run(command, env=dict(os.environ, MICA_COVERAGE_DIR=logs)).returncode
    report(args.kernel, logs, args.unreached)
    print(f"coverage: logs in {logs}; the command exited {status}")
    return status


if __name__ == "__main__":
    sys.exit(main())
