#!/usr/bin/env python3
"""The network from the host's side: Mica booted with a virtio-net card on
QEMU's user networking (restricted to the host), its shell driven over the
serial console, and the host talking to it at the same time.

    net_test.py --iso build/mica.iso --disk build/disk.img [--kills N] [--size MIB] [--smp N]

In one boot:
  * Mica's httpd serves file:/ through hostfwd (a free port of the host's
    127.0.0.1 to Mica's port 80): Python's urllib fetches README (compared
    with disk/README) and a generated file of SIZE MiB (CRC-32 compared with
    what `fill` said inside Mica), then 50 connections at once;
  * the same large file again while the shell kills the network driver N
    times: the transfer must arrive whole (TCP retransmits what was lost);
  * Mica's fetch gets a file from a Python HTTP server on the host's
    127.0.0.1, reached through a guestfwd rule (10.0.2.100:80 in Mica's
    network), CRC-32 compared.
With --smp N the machine has N CPUs (the driver, the stack, httpd and the
file server then run side by side). Only the host's loopback is used; every
port is picked free at run time. Exit status 0 when all of it held, 1
otherwise; on failure the end of Mica's output is printed, with QEMU's own
word if it was ended from outside (a signal).
"""
import argparse
import concurrent.futures
import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import qemu  # noqa: E402


class Console:
    """Mica's serial console: what it printed, and typing into it."""

    def __init__(self, proc):
        self.proc = proc
        self.output = ""
        self.cursor = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            data = self.proc.stdout.read1(4096)
            if not data:
                return
            with self.lock:
                self.output += data.decode("latin-1")

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def expect(self, pattern, timeout=120):
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern, re.M)
        while time.monotonic() < deadline:
            with self.lock:
                m = regex.search(self.output, self.cursor)
                if m:
                    self.cursor = m.end()
                    return m
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no {pattern!r} in Mica's output within {timeout} s")

    def command(self, line, pattern, timeout=120):
        self.send(line + "\n")
        m = self.expect(pattern, timeout)
        self.expect("mica> ", timeout)
        return m


def machine(iso, disk, network, smp=1):
    """QEMU's command line for one Mica machine with its serial console on
    stdio: the boot image, a disk image (used in place) or none, the
    -netdev/-device arguments of its network card, and its CPUs."""
    cmd = ["qemu-system-x86_64", "-machine", "pc", "-m", "256M", "-smp", str(smp), "-accel", "tcg", "-cpu", "max",
           "-no-reboot", "-display", "none", "-serial", "stdio", "-monitor", "none",
           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-cdrom", iso, "-boot", "d"]
    if disk:
        cmd += ["-drive", f"file={disk},if=none,id=disk0,format=raw",
                "-device", "virtio-blk-pci,drive=disk0,disable-legacy=on"]
    return cmd + network


def fetch(url, timeout=120):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def host_server(directory):
    """A Python HTTP server on a free port of the host's loopback."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def qemu_died(proc, console, timer):
    """QEMU ended of a signal that was not our timeout's: a crash of QEMU
    itself (tests/README.md), or a kill from outside, which QEMU answers by
    saying so and exiting with status 0. No verdict on Mica."""
    if proc.poll() is None or not timer.is_alive():
        return False
    time.sleep(0.5)  # QEMU's last words, still on their way through the pipe
    return proc.returncode < 0 or "qemu-system-x86_64: terminating on signal" in console.output


def twice_if_qemu_dies(run, args, who):
    """run(args) once more if QEMU died under it (QEMU_CRASHED), as
    tools/qemu.py does; a second such death fails."""
    result = run(args)
    if result == qemu.QEMU_CRASHED:
        print(f"{who}: QEMU ended of a signal (its own crash, or a kill from outside), not a verdict on Mica: "
              "running the test again")
        result = run(args)
    return 1 if result == qemu.QEMU_CRASHED else result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iso", required=True)
    parser.add_argument("--disk", required=True, help="the disk image (a private copy is used)")
    parser.add_argument("--kills", type=int, default=3, help="network driver kills during one download")
    parser.add_argument("--size", type=int, default=8, help="MiB of the large file")
    parser.add_argument("--timeout", type=int, default=600)
    parser.add_argument("--smp", type=int, default=1, help="CPUs")
    return twice_if_qemu_dies(run, parser.parse_args(), "net_test")


def failure(e, proc):
    """What went wrong, from an exception of the test or of the host's side
    (an AssertionError says it itself; Mica's output says more)."""
    failed = str(e) if isinstance(e, AssertionError) else f"{type(e).__name__}: {e}"
    if proc.poll() is not None:
        failed += f" (QEMU had ended, status {proc.returncode})"
    return failed


def shut_down(proc, mica, timer, server, work):
    """The end of a run, however it went: QEMU stopped, the host's server and
    work directory gone. Whether QEMU itself died (qemu_died)."""
    died = qemu_died(proc, mica, timer)
    timer.cancel()
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    server.shutdown()
    shutil.rmtree(work, ignore_errors=True)
    return died


def boot_with_host_server(args, prefix, blob_bytes, extra=lambda work: []):
    """A work directory with `blob_bytes` of random bytes that a host HTTP
    server serves (Mica reaches it as 10.0.2.100:80), and Mica booted on a
    private copy of the disk with a free host port forwarded to its port 80
    (`extra(work)`: more QEMU options). Returns work, blob, server, port,
    proc and the Console."""
    work = tempfile.mkdtemp(prefix=prefix)
    served = os.path.join(work, "served")
    os.makedirs(served)
    blob = os.urandom(blob_bytes)
    with open(os.path.join(served, "blob"), "wb") as f:
        f.write(blob)
    server = host_server(served)
    port = qemu.free_port()
    disk = os.path.join(work, "disk.img")
    subprocess.run(["cp", "--sparse=always", args.disk, disk], check=True)
    cmd = machine(args.iso, disk, qemu.network_args(
        "user", port, f"tcp:10.0.2.100:80-tcp:127.0.0.1:{server.server_address[1]}"), args.smp) + extra(work)
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            preexec_fn=qemu.die_with_parent)
    return work, blob, server, port, proc, Console(proc)


def run(args):
    work, blob, server, port, proc, mica = boot_with_host_server(args, "mica-net-", 4 << 20)
    base = f"http://127.0.0.1:{port}"
    failed = None
    timer = threading.Timer(args.timeout, proc.kill)
    timer.start()
    try:
        mica.expect("mica> ")
        if not re.search(rf"smp: {args.smp} CPUs? running", mica.output):
            raise AssertionError(f"Mica did not say it runs {args.smp} CPU(s)")
        for attempt in range(60):  # DHCP takes a moment after boot
            if "inet 10.0.2.15 " in mica.command("ifconfig", r"eth0[^\n]*\n[^\n]*inet [0-9.]+ ", 60).group(0):
                break
            time.sleep(0.5)
        else:
            raise AssertionError("eth0 got no address by DHCP")
        size = args.size << 20
        crc = mica.command(f"fill file:/big {args.size}M", rf"fill: file:/big {size} bytes crc32 ([0-9a-f]{{8}})",
                           300).group(1)
        mica.send("httpd &\n")
        mica.expect("httpd: serving file:/ on port 80")

        readme = open(os.path.join(HERE, "..", "disk", "README"), "rb").read()
        if fetch(base + "/README") != readme:
            raise AssertionError("README through httpd differs from disk/README")
        print("net_test: README fetched through hostfwd, as on disk")

        started = time.monotonic()
        big = fetch(base + "/big", 300)
        seconds = time.monotonic() - started
        if len(big) != size or f"{zlib.crc32(big):08x}" != crc:
            raise AssertionError(f"/big: {len(big)} bytes, crc32 {zlib.crc32(big):08x}; Mica said {size}, {crc}")
        print(f"net_test: {args.size} MiB from Mica intact, {size / seconds / (1 << 20):.2f} MiB/s")

        with concurrent.futures.ThreadPoolExecutor(50) as pool:
            bodies = list(pool.map(lambda _: fetch(base + "/README", 120), range(50)))
        if any(b != readme for b in bodies):
            raise AssertionError("a README fetched among 50 at once differs")
        print("net_test: 50 connections at once, every answer whole")

        result = {}

        def download():
            try:
                result["data"] = fetch(base + "/big", 600)
            except Exception as e:  # noqa: BLE001 - reported below
                result["error"] = e

        downloader = threading.Thread(target=download)
        started = time.monotonic()
        downloader.start()
        kills = 0
        while kills < args.kills and downloader.is_alive():
            time.sleep(0.1)
            mica.send("kill netdev\n")  # the prompt may come before init's word that it is back
            mica.expect(r"netdev answering again", 60)
            kills += 1
        downloader.join(600)
        killed_seconds = time.monotonic() - started
        data = result.get("data", b"")
        if "error" in result or len(data) != size or f"{zlib.crc32(data):08x}" != crc:
            raise AssertionError(f"/big under {kills} driver kills: {result.get('error') or len(data)}")
        if kills < args.kills:
            raise AssertionError(f"the download ended after {kills} of {args.kills} kills: make it larger")
        back = [float(ms) for ms in re.findall(r"netdev answering again ([0-9.]+) ms", mica.output)]
        print(f"net_test: {args.size} MiB intact through {kills} kills of the network driver in "
              f"{killed_seconds:.2f} s ({seconds:.2f} s without): a stall of "
              f"{(killed_seconds - seconds) / kills * 1000:.0f} ms a kill; the driver answered again "
              f"{sorted(back)[len(back) // 2]:.1f} ms (median) after its death")

        m = mica.command("fetch http://10.0.2.100/blob file:/blob",
                         r"fetch: (\d+) bytes, crc32 ([0-9a-f]{8}) \((\d+) ms\)|fetch: .*", 120)
        if not m.group(1) or int(m.group(1)) != len(blob) or m.group(2) != f"{zlib.crc32(blob):08x}":
            raise AssertionError(f"Mica's fetch from the host: {m.group(0)}")
        print(f"net_test: Mica's fetch of {len(blob) >> 20} MiB from the host's HTTP server intact, "
              f"{len(blob) / max(int(m.group(3)), 1) * 1000 / (1 << 20):.2f} MiB/s (into file:)")

        mica.send("poweroff\n")
        proc.wait(60)
    except Exception as e:  # noqa: BLE001 - an error from urllib too
        failed = failure(e, proc)
    finally:
        died = shut_down(proc, mica, timer, server, work)
    if failed or "PANIC" in mica.output or "lwip assertion" in mica.output:
        print(mica.output[-6000:])
        print(f"net_test: FAILED: {failed or 'a panic or an lwIP assertion in the output'}")
        return qemu.QEMU_CRASHED if failed and died else 1
    print("net_test: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
