#!/usr/bin/env python3
"""Disk integrity tests: Mica writes to a copy of the disk image, powers off,
and the host checks the result with e2fsprogs.

    disk_test.py --image-file build/disk.img [--corrupt KIND] -- QEMU_TEST_ARGS...
    disk_test.py --image-file build/disk.img --script FILE -- QEMU_TEST_ARGS...

The QEMU_TEST_ARGS go to tools/qemu.py test (boot image, --send/--expect
steps) with --disk set to a private copy of the image. A script
(tests/qemu/disk/*.txt) is a qemu.py test script (tools/qemu.py says what a
line may be) without a disk line, since the disk is this one; it may also
have a line `corrupt KIND`, as --corrupt. Afterwards, unless the image was
deliberately corrupted:
  * `e2fsck -fn` must find nothing wrong (exit status 0);
  * every file `sum` or `fill` reported inside Mica (CRC-32 and size) is read
    back from the image with `debugfs -R dump` and must match.
--corrupt damages the copy first (superblock, inode table or a directory
block) for the bad-input tests; then only the QEMU steps decide.
"""
import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
QEMU = os.path.join(HERE, "..", "tools", "qemu.py")
SBIN = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
CORRUPTIONS = ("superblock", "inodes", "directory")


def tool(*args, check=False):
    return subprocess.run(args, capture_output=True, text=False, env={**os.environ, "PATH": SBIN}, check=check)


def group0(image):
    """Block size and the first group descriptor's block/inode table numbers."""
    with open(image, "rb") as f:
        f.seek(1024)
        sb = f.read(1024)
        block_size = 1024 << struct.unpack_from("<I", sb, 24)[0]
        gdt = 2048 if block_size == 1024 else block_size
        f.seek(gdt)
        bitmap, inode_bitmap, inode_table = struct.unpack_from("<III", f.read(12))
    return block_size, inode_table


def root_directory_block(image, block_size, inode_table):
    with open(image, "rb") as f:
        f.seek(1024 + 88)
        inode_size = struct.unpack("<H", f.read(2))[0]
        f.seek(inode_table * block_size + inode_size)  # inode 2: the root
        inode = f.read(inode_size)
    return struct.unpack_from("<I", inode, 40)[0]  # i_block[0]


def corrupt(image, kind):
    block_size, inode_table = group0(image)
    with open(image, "r+b") as f:
        if kind == "superblock":
            f.seek(1024 + 56)
            f.write(b"\x00\x00")  # the magic number
        elif kind == "inodes":
            # Garbage over the first inode-table block, after the root inode:
            # every early inode (README's, bin's) is nonsense.
            f.seek(inode_table * block_size + 256 * 2)
            f.write(bytes((i * 37 + 11) & 0xff for i in range(block_size - 512)))
        elif kind == "directory":
            block = root_directory_block(image, block_size, inode_table)
            f.seek(block * block_size + 12)
            f.write(b"\xff\xff\xff\x7f" * 64)  # record lengths and inodes that make no sense
        else:
            sys.exit(f"disk_test: unknown corruption {kind}")


def check_files(image, transcript):
    reported = {}
    for m in re.finditer(r"^([0-9a-f]{8}) (\d+) file:(/\S+)$", transcript, re.M):
        reported[m.group(3)] = (int(m.group(1), 16), int(m.group(2)))
    for m in re.finditer(r"^fill: file:(/\S+) (\d+) bytes crc32 ([0-9a-f]{8})", transcript, re.M):
        reported[m.group(1)] = (int(m.group(3), 16), int(m.group(2)))
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out")
        for path, (crc, size) in sorted(reported.items()):
            if os.path.exists(out):
                os.remove(out)
            tool("debugfs", "-R", f"dump -p {path} {out}", image)
            if not os.path.exists(out):
                return f"{path}: debugfs cannot read it"
            data = open(out, "rb").read()
            if len(data) != size or zlib.crc32(data) != crc:
                return (f"{path}: Mica reported {size} bytes crc32 {crc:08x}, "
                        f"the host reads {len(data)} bytes crc32 {zlib.crc32(data):08x}")
            print(f"disk_test: {path}: {size} bytes, crc32 {crc:08x} on the host too")
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--image-file", required=True)
    parser.add_argument("--corrupt", choices=CORRUPTIONS)
    parser.add_argument("--script", help="a qemu.py test script, with perhaps a `corrupt KIND` line")
    parser.add_argument("qemu_args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    qemu_args = args.qemu_args[1:] if args.qemu_args[:1] == ["--"] else args.qemu_args
    with tempfile.TemporaryDirectory(prefix="mica-disk-") as d:
        if args.script:
            # The corrupt line is ours; qemu.py gets the rest (the line
            # left blank, so that its messages cite the right line numbers).
            lines = open(args.script, encoding="utf-8").read().split("\n")
            for i, line in enumerate(lines):
                word, _, kind = line.partition(" ")
                if word == "corrupt":
                    if args.corrupt or kind not in CORRUPTIONS:
                        parser.error(f"{args.script}:{i + 1}: 'corrupt' wants {', '.join(CORRUPTIONS)} "
                                     "(and only once)")
                    args.corrupt, lines[i] = kind, ""
            script = os.path.join(d, os.path.basename(args.script))
            with open(script, "w", encoding="utf-8") as f:
                f.write("\n".join(lines))
            qemu_args = ["--script", script, *qemu_args]
        image = os.path.join(d, "disk.img")
        subprocess.run(["cp", "--sparse=always", args.image_file, image], check=True)
        if args.corrupt:
            corrupt(image, args.corrupt)
        transcript = os.path.join(d, "transcript")
        r = subprocess.run([sys.executable, QEMU, "test", "--disk", image, "--transcript", transcript, *qemu_args])
        if r.returncode != 0:
            return r.returncode
        if args.corrupt:
            return 0
        fsck = tool("e2fsck", "-fn", image)
        print(fsck.stdout.decode(errors="replace"), fsck.stderr.decode(errors="replace"))
        if fsck.returncode != 0:
            print(f"TEST FAILED: e2fsck -fn found problems (exit status {fsck.returncode})")
            return 1
        problem = check_files(image, open(transcript, errors="replace").read())
        if problem:
            print(f"TEST FAILED: {problem}")
            return 1
        print("disk_test: e2fsck clean, every reported file matches")
        return 0


if __name__ == "__main__":
    sys.exit(main())
