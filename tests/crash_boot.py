#!/usr/bin/env python3
"""Power-cut states booted in Mica: the file server replays the journal and
serves what was acknowledged.

    crash_boot.py --build BUILD [--seed S] [--every N]

Runs the host power-cut walk (tests/host/ext3_test.cpp, PowerCut.*) with
MICA_CRASH_IMAGES set, so that a seeded sample of its crash states is written
out as disk images, as they were at the cut. For each image:
  * a copy is replayed on the host (`e2fsck -fy`) and its files read back
    (`debugfs rdump`): the expected tree;
  * Mica boots with another copy as its disk; its file server must mount it
    (replaying the journal if it holds anything), and `sum` of every file must
    give the host's CRC-32 and size; then `poweroff`;
  * `e2fsck -fn` on Mica's copy afterwards must find it clean.
Prints `crash_boot: N states booted, K failed` and exits non-zero if K > 0.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
QEMU = os.path.join(HERE, "..", "tools", "qemu.py")
SBIN = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"


def tool(*args):
    return subprocess.run(args, capture_output=True, env={**os.environ, "PATH": SBIN})


def expected_files(image, tmp):
    """path -> (crc32, size) of every regular file after e2fsck's own replay."""
    copy = os.path.join(tmp, "host.img")
    shutil.copy(image, copy)
    fsck = tool("e2fsck", "-fy", copy)
    if fsck.returncode > 1:
        return None, f"e2fsck -fy failed ({fsck.returncode})"
    out = os.path.join(tmp, "tree")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    tool("debugfs", "-R", f"rdump / {out}", copy)
    files = {}
    for root, _, names in os.walk(out):
        for name in names:
            path = os.path.join(root, name)
            rel = "/" + os.path.relpath(path, out)
            if rel.startswith("/lost+found") or not os.path.isfile(path) or os.path.islink(path):
                continue
            data = open(path, "rb").read()
            files[rel] = (zlib.crc32(data), len(data))
    return files, None


def boot(build, image, files, tmp):
    """(problem or None, whether Mica replayed a journal)."""
    disk = os.path.join(tmp, "mica.img")
    transcript = os.path.join(tmp, "transcript")
    shutil.copy(image, disk)
    steps = ["--expect", "mica> "]
    for path, (crc, size) in sorted(files.items()):
        steps += ["--send", f"sum file:{path}\\n", "--expect", f"{crc:08x} {size} file:{path}"]
    steps += ["--send", "ls file:/\\n", "--expect", "mica> ", "--send", "dmesg\\n", "--expect", "mica> ",
              "--send", "poweroff\\n"]
    r = subprocess.run([sys.executable, QEMU, "test", "--build", build, "--disk", disk, "--timeout", "120",
                        "--transcript", transcript, "--reject", "PANIC|corrupt file system|cannot mount", *steps,
                        "--exit", "success"], capture_output=True, text=True, errors="replace")
    if r.returncode != 0:
        return "Mica did not serve it as expected:\n" + r.stdout[-3000:], False
    replayed = "committed transactions: replayed" in open(transcript, errors="replace").read()
    fsck = tool("e2fsck", "-fn", disk)
    if fsck.returncode != 0:
        return "e2fsck -fn after Mica: " + fsck.stdout.decode(errors="replace")[-2000:], replayed
    return None, replayed


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", required=True)
    p.add_argument("--seed", default="20261126")
    p.add_argument("--every", default="10", help="export about one state in N")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="mica-crash-boot-") as tmp:
        images = os.path.join(tmp, "images")
        os.makedirs(images)
        env = {**os.environ, "MICA_CRASH_IMAGES": images, "MICA_CRASH_SEED": args.seed,
               "MICA_CRASH_EVERY": args.every}
        walk = subprocess.run([os.path.join(args.build, "tests", "host", "host_tests"), "--gtest_filter=PowerCut.*",
                               "--gtest_brief=1"], env=env, capture_output=True, text=True)
        if walk.returncode != 0:
            print(walk.stdout[-3000:])
            print("crash_boot: the host power-cut walk failed")
            return 1
        failed = replays = 0
        names = sorted(os.listdir(images))
        for name in names:
            files, problem = expected_files(os.path.join(images, name), tmp)
            replayed = False
            if not problem:
                problem, replayed = boot(args.build, os.path.join(images, name), files, tmp)
            replays += replayed
            print(f"crash_boot: {name}: {len(files or {})} files, {'journal replayed, ' if replayed else ''}"
                  f"{'ok' if not problem else 'FAILED'}")
            if problem:
                failed += 1
                print(problem)
        print(f"crash_boot: {len(names)} states booted, {replays} with a journal replayed by Mica, {failed} failed")
        # A sample in which Mica never replayed would not test what it is for.
        return 1 if failed or not names or not replays else 0


if __name__ == "__main__":
    sys.exit(main())
