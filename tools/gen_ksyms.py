#!/usr/bin/env python3
"""Writes the kernel's embedded symbol table as an assembly file.

The kernel is linked twice: first with an empty table (--empty), then with the
table made from the first link's function symbols. The table lives in .ksyms,
which the linker script places after .text and .rodata, so filling it in moves
no function and the addresses stay true.
"""
import argparse
import subprocess
import sys


def read_symbols(nm, elf):
    out = subprocess.run([nm, "--defined-only", "--print-size", "--numeric-sort", "-C", elf],
                         check=True, capture_output=True, text=True).stdout
    symbols = {}
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) == 4:
            address, size, kind, name = parts
        elif len(parts) == 3:
            address, kind, name = parts
            size = "0"
        else:
            continue
        if kind not in "tTwW":
            continue
        addr = int(address, 16)
        if addr < 0xffffffff80000000:
            continue  # the boot stub runs before paging; nothing to name there
        # Keep the first (and for aliases, the one with a size) name per address.
        if addr not in symbols or (symbols[addr][0] == 0 and int(size, 16)):
            symbols[addr] = (int(size, 16), name)
    return sorted((a, s, n) for a, (s, n) in symbols.items())


def escape(name):
    return name.replace("\\", "\\\\").replace('"', '\\"')


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nm", default="nm")
    parser.add_argument("--elf", help="the first-stage kernel")
    parser.add_argument("--empty", action="store_true", help="write an empty table")
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args()
    if not args.empty and not args.elf:
        parser.error("--elf is required unless --empty")

    symbols = [] if args.empty else read_symbols(args.nm, args.elf)
    lines = ['\t.section .ksyms, "a"', "\t.balign 8", "\t.globl ksyms_count, ksyms_entries, ksyms_names",
             f"ksyms_count:\n\t.quad {len(symbols)}", "ksyms_entries:"]
    offset = 0
    for address, size, name in symbols:
        lines.append(f"\t.quad {address:#x}\n\t.long {min(size, 0xffffffff)}, {offset}")
        offset += len(name.encode()) + 1
    lines.append("ksyms_names:")
    for _, _, name in symbols:
        lines.append(f'\t.asciz "{escape(name)}"')
    lines.append("\t.byte 0")
    lines.append('\t.section .note.GNU-stack, "", @progbits')
    with open(args.output, "w") as f:
        f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
