#!/usr/bin/env python3
"""Makes a bootable GRUB ISO (BIOS and UEFI) from an image folder.

The image folder holds boot/kernel.elf and boot/modules/<name>; every module
is passed to the kernel under its file name. The kernel command line goes
into grub.cfg, which is why tests with their own command line get their own
ISO (cheap: grub-mkrescue takes under a second).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile


def grub_cfg(modules, cmdline):
    lines = ["set timeout=0", "set default=0", 'menuentry "Mica" {',
             f"    multiboot2 /boot/kernel.elf {cmdline}".rstrip()]
    lines += [f"    module2 /boot/modules/{m} {m}" for m in modules]
    lines += ["    boot", "}"]
    return "\n".join(lines) + "\n"


def make_iso(root, output, cmdline=""):
    modules_dir = os.path.join(root, "boot", "modules")
    modules = sorted(os.listdir(modules_dir)) if os.path.isdir(modules_dir) else []
    with tempfile.TemporaryDirectory(prefix="mica-iso-") as tmp:
        tree = os.path.join(tmp, "tree")
        shutil.copytree(root, tree, symlinks=False)
        os.makedirs(os.path.join(tree, "boot", "grub"), exist_ok=True)
        with open(os.path.join(tree, "boot", "grub", "grub.cfg"), "w") as f:
            f.write(grub_cfg(modules, cmdline))
        partial = output + ".partial"
        result = subprocess.run(["grub-mkrescue", "-o", partial, tree],
                                capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            sys.stderr.write(result.stdout + result.stderr)
            raise SystemExit(f"mkiso: grub-mkrescue failed with status {result.returncode}")
        os.replace(partial, output)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", required=True, help="image folder (boot/kernel.elf, boot/modules/*)")
    parser.add_argument("--cmdline", default="", help="kernel command line")
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args()
    make_iso(args.root, args.output, args.cmdline)


if __name__ == "__main__":
    main()
