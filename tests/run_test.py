#!/usr/bin/env python3
"""`./mica run` as a user runs it (issue 15, item 11), with its input piped:

  1. --memory, --machine q35 and --qemu-arg reach QEMU: mem reports the
     memory asked for, the disk sits where q35 puts it, and an extra
     argument given through --qemu-arg (a second serial port's file) is
     honoured.
  2. Two runs at once in one checkout each get a private disk: both boot,
     each writes its own file, and neither sees the other's. (Before: both
     used build/run-disk.img; the second QEMU could not lock it.)
  3. A bad option is refused with a clear error before QEMU starts.

    run_test.py MICA   (the path of ./mica)
"""
import os
import re
import subprocess
import sys
import tempfile
import threading

TIMEOUT = 240


def run(mica, options, lines):
    """./mica run OPTIONS with LINES typed at the prompt; its output."""
    proc = subprocess.run([mica, "run", "--timeout", "180", *options], input="".join(l + "\n" for l in lines),
                          capture_output=True, text=True, timeout=TIMEOUT)
    return proc.returncode, proc.stdout + proc.stderr


def fail(what, output=""):
    print(output)
    print(f"TEST FAILED: {what}")
    sys.exit(1)


def main():
    mica = os.path.abspath(sys.argv[1])

    # 1. The options reach QEMU.
    with tempfile.TemporaryDirectory(prefix="mica-run-test-") as scratch:
        extra = os.path.join(scratch, "serial1.txt")
        code, out = run(mica, ["--memory", "64M", "--machine", "q35",
                               "--qemu-arg", "-serial", "--qemu-arg", f"file:{extra}"],
                        ["mem", "poweroff"])
        if code != 0:
            fail(f"./mica run --memory 64M --machine q35 ended with {code}", out)
        m = re.search(r"memory: (\d+) KiB total", out)
        if not m or not 60000 < int(m.group(1)) <= 65536:
            fail("mem does not report about 64 MiB", out)
        # q35's PCI layout: the disk is not at i440FX's 00.03.0 slot.
        m = re.search(r"disk gets pci device (\S+)", out)
        if not m or m.group(1) == "00.03.0":
            fail("the machine is not q35 (disk at i440FX's slot)", out)
        if not os.path.exists(extra):
            fail("--qemu-arg did not reach QEMU (no second serial port file)", out)
    print("options: --memory, --machine q35 and --qemu-arg reach QEMU")

    # 2. Two runs at once, each with its own disk.
    results = {}

    def one(name):
        results[name] = run(mica, [], [f"write file:/{name} {name}", "ls file:/", "poweroff"])

    threads = [threading.Thread(target=one, args=(n,)) for n in ("first", "second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name, other in (("first", "second"), ("second", "first")):
        code, out = results[name]
        if code != 0:
            fail(f"run '{name}' ended with {code} beside another run", out)
        if not re.search(rf"\n{name} +\d+", out):
            fail(f"run '{name}' does not list its own file", out)
        if re.search(rf"\n{other} +\d+", out):
            fail(f"run '{name}' sees the other run's file", out)
    print("two runs at once: each had its own disk")

    # 3. Bad options.
    for options, says in ((["--memory", "lots"], "--memory wants a size"),
                          (["--machine", "vax"], "invalid choice: 'vax'"),
                          (["--qemu-arg"], "--qemu-arg needs a value")):
        code, out = run(mica, options, [])
        if code != 2 or says not in out:
            fail(f"./mica run {' '.join(options)}: wanted status 2 and {says!r}, got {code}", out)
    print("bad options are refused")
    print("TEST PASSED")


if __name__ == "__main__":
    main()
