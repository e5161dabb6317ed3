#!/usr/bin/env python3
"""The network card's link taken down and brought up from the host, as a
cable pulled and put back: QEMU's `set_link` through a QMP socket the test
makes in its own directory, Mica on QEMU's user network (as net_test.py).

    net_link.py --iso build/mica.iso --disk build/disk.img [--smp N]

In one boot:
  * idle, the link goes down: the driver hears it from the device (the
    virtio configuration-change interrupt) and says so in the log, the stack
    marks eth0 without link, and `ifconfig` says `no link`; a request from
    the host stalls (no answer, no error), a connection from Mica fails at
    once (`unreachable`, lwIP has no route); the link comes back: `ifconfig`
    says `link up`, eth0 keeps its address, the host and Mica reach each
    other again;
  * a download from Mica's httpd while the link goes down for 3 s: nothing
    arrives while it is down, and the file arrives whole once it is up;
  * a download while the link flaps ten times: whole;
and nothing crashes: no panic, no lwIP assertion, no restart of the driver
or the stack. Only the host's loopback is used; every port is picked free
at run time. Exit status 0 when all of it held, 1 otherwise.
"""
import argparse
import http.client
import json
import os
import re
import socket
import sys
import threading
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import qemu  # noqa: E402
from net_test import boot_with_host_server, failure, fetch, shut_down, twice_if_qemu_dies  # noqa: E402


class Qmp:
    """QEMU's machine protocol on a unix socket: commands and their answers
    (events that come in between are passed over)."""

    def __init__(self, path, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise AssertionError(f"no QMP socket at {path}")
                time.sleep(0.1)
        self.sock.settimeout(30)
        self.file = self.sock.makefile("rwb")
        json.loads(self.file.readline())  # the greeting
        self.execute("qmp_capabilities")

    def execute(self, command, **arguments):
        self.file.write(json.dumps({"execute": command, "arguments": arguments}).encode() + b"\n")
        self.file.flush()
        while True:
            answer = json.loads(self.file.readline())
            if "error" in answer:
                raise AssertionError(f"QMP {command}: {answer['error']}")
            if "return" in answer:
                return answer["return"]

    def set_link(self, up):
        self.execute("set_link", name="net0", up=up)


class Download(threading.Thread):
    """A file from Mica's httpd, read as it comes, with when each part came.
    `pause_at` bytes in, it says so (`reached`) and waits `pause` seconds,
    so that the link can be taken down in the middle of the transfer."""

    def __init__(self, port, path, pause_at=None, pause=0.0):
        super().__init__(daemon=True)
        self.port, self.path, self.pause_at, self.pause = port, path, pause_at, pause
        self.data = bytearray()
        self.arrivals = []  # (time, bytes so far)
        self.error = None
        self.reached = threading.Event()

    def run(self):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            conn.request("GET", self.path)
            response = conn.getresponse()
            while True:
                chunk = response.read1(65536)
                if not chunk:
                    break
                self.data += chunk
                self.arrivals.append((time.monotonic(), len(self.data)))
                if self.pause_at is not None and not self.reached.is_set() and len(self.data) >= self.pause_at:
                    self.reached.set()
                    time.sleep(self.pause)
            conn.close()
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e
        self.reached.set()

    def between(self, start, end):
        """Bytes that arrived in [start, end]."""
        before = max((n for t, n in self.arrivals if t < start), default=0)
        by_end = max((n for t, n in self.arrivals if t <= end), default=0)
        return by_end - before

    def first_after(self, start):
        return next((t for t, _ in self.arrivals if t > start), None)


def eth0(mica):
    """ifconfig's first line for eth0 and its address."""
    m = mica.command("ifconfig", r"eth0 +([^\n]*)\n +inet ([0-9.]+) ", 60)
    return m.group(1), m.group(2)


def wait_link(mica, up, timeout=10):
    """Until ifconfig says the link is up (or down); how long that took."""
    started = time.monotonic()
    want = "link up" if up else "no link"
    while True:
        line, address = eth0(mica)
        if want in line:
            return time.monotonic() - started, address
        if time.monotonic() - started > timeout:
            raise AssertionError(f"ifconfig still says {line!r}, {timeout} s after the link went {'up' if up else 'down'}")
        time.sleep(0.2)


def dmesg(mica):
    mica.send("dmesg\n")
    time.sleep(0.5)
    m = mica.expect(r"dmesg\r?\n((?:.*\n)*?)mica> ", 60)
    return m.group(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iso", required=True)
    parser.add_argument("--disk", required=True, help="the disk image (a private copy is used)")
    parser.add_argument("--smp", type=int, default=1, help="CPUs")
    parser.add_argument("--timeout", type=int, default=600)
    return twice_if_qemu_dies(run, parser.parse_args(), "net_link")


def run(args):
    def qmp_option(work):  # QEMU's QMP socket in the work directory: set_link comes through it
        return ["-qmp", f"unix:{os.path.join(work, 'qmp.sock')},server=on,wait=off"]

    work, blob, server, port, proc, mica = boot_with_host_server(args, "mica-link-", 1 << 20, qmp_option)
    qmp_path = os.path.join(work, "qmp.sock")
    base = f"http://127.0.0.1:{port}"
    failed = None
    log = ""
    timer = threading.Timer(args.timeout, proc.kill)
    timer.start()
    try:
        qmp = Qmp(qmp_path)
        mica.expect("mica> ")
        for attempt in range(60):  # DHCP takes a moment after boot
            line, address = eth0(mica)
            if address == "10.0.2.15":
                break
            time.sleep(0.5)
        else:
            raise AssertionError("eth0 got no address by DHCP")
        if "link up" not in line:
            raise AssertionError(f"ifconfig at boot: {line!r}")
        size = 8 << 20
        crc = mica.command("fill file:/big 8M", rf"fill: file:/big {size} bytes crc32 ([0-9a-f]{{8}})", 300).group(1)
        mica.send("httpd &\n")
        mica.expect("httpd: serving file:/ on port 80")
        readme = open(os.path.join(HERE, "..", "disk", "README"), "rb").read()
        if fetch(base + "/README") != readme:
            raise AssertionError("README through httpd differs from disk/README")

        # Idle, down.
        qmp.set_link(False)
        seconds, _ = wait_link(mica, False)
        print(f"net_link: link down: ifconfig says 'no link' after {seconds:.2f} s")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
            conn.request("GET", "/README")
            answer = conn.getresponse().read()
            raise AssertionError(f"the host got {len(answer)} bytes from Mica while its link was down")
        except (TimeoutError, socket.timeout):
            print("net_link: link down: a request from the host stalls (no answer within 3 s)")
        m = mica.command("fetch http://10.0.2.100/blob file:/blob", r"fetch: [^\n]*", 60)
        if "unreachable" not in m.group(0):
            raise AssertionError(f"Mica's fetch with the link down: {m.group(0)!r}")
        print(f"net_link: link down: Mica's fetch fails at once: {m.group(0).strip()!r}")

        # Up again.
        qmp.set_link(True)
        seconds, address = wait_link(mica, True)
        if address != "10.0.2.15":
            raise AssertionError(f"eth0's address after the link came back: {address}")
        print(f"net_link: link up: ifconfig says 'link up' after {seconds:.2f} s, address {address}")
        if fetch(base + "/README", 60) != readme:
            raise AssertionError("README after the link came back differs")
        m = mica.command("fetch http://10.0.2.100/blob file:/blob",
                         r"fetch: (\d+) bytes, crc32 ([0-9a-f]{8}) \(\d+ ms\)|fetch: [^\n]*", 60)
        if not m.group(1) or int(m.group(1)) != len(blob) or m.group(2) != f"{zlib.crc32(blob):08x}":
            raise AssertionError(f"Mica's fetch after the link came back: {m.group(0)!r}")
        print("net_link: link up: the host fetches from Mica and Mica from the host, intact")

        # Down for 3 s in the middle of a download.
        d = Download(port, "/big", pause_at=1 << 20, pause=0.3)
        d.start()
        if not d.reached.wait(120) or d.error:
            raise AssertionError(f"the download did not get going: {d.error}")
        qmp.set_link(False)
        down = time.monotonic()
        time.sleep(3)
        qmp.set_link(True)
        up = time.monotonic()
        stalled = d.between(down + 1, up)
        d.join(120)
        if d.is_alive() or d.error or len(d.data) != size or f"{zlib.crc32(d.data):08x}" != crc:
            raise AssertionError(f"/big through a 3 s outage: {d.error or len(d.data)} "
                                 f"(crc32 {zlib.crc32(d.data):08x}, Mica said {crc})")
        if stalled:
            raise AssertionError(f"{stalled} bytes arrived while the link was down")
        resumed = d.first_after(up)
        print(f"net_link: 8 MiB intact through a 3 s outage: nothing came while down, the first bytes "
              f"{(resumed - up) if resumed else 0:.2f} s after the link was back")

        # Flapping.
        d = Download(port, "/big", pause_at=256 << 10, pause=0.1)
        d.start()
        d.reached.wait(120)
        for _ in range(10):
            qmp.set_link(False)
            time.sleep(0.2)
            qmp.set_link(True)
            time.sleep(0.2)
        d.join(180)
        if d.is_alive() or d.error or len(d.data) != size or f"{zlib.crc32(d.data):08x}" != crc:
            raise AssertionError(f"/big through 10 flaps of the link: {d.error or len(d.data)}")
        wait_link(mica, True)
        if fetch(base + "/README", 60) != readme:
            raise AssertionError("README after the flapping differs")
        print("net_link: 8 MiB intact while the link flapped 10 times; ifconfig says 'link up' after")

        log = dmesg(mica)
        for line in ("virtio-net: link down", "virtio-net: link up", "net: eth0 link down", "net: eth0 link up"):
            if line not in log:
                raise AssertionError(f"no {line!r} in the system log")
        mica.send("poweroff\n")
        proc.wait(60)
    except Exception as e:  # noqa: BLE001 - an error from the host's side too
        failed = failure(e, proc)
    finally:
        died = shut_down(proc, mica, timer, server, work)
    restarted = re.findall(r"init: (?:net|netdev) [^\n]*(?:restart|not restarted)[^\n]*", mica.output + log)
    if not failed and restarted:
        failed = f"a network service went down: {restarted[0]}"
    if not failed and ("PANIC" in mica.output or "lwip assertion" in mica.output + log):
        failed = "a panic or an lwIP assertion in the output"
    if failed:
        print(mica.output[-6000:])
        print(f"net_link: FAILED: {failed}")
        return qemu.QEMU_CRASHED if died else 1
    print("net_link: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
