#!/usr/bin/env python3
"""The host's side of net_throughput.sh: boots Linux with tcp_stream as /init
and Mica's network card (tools/qemu.py's network_args for `--net user`: one
virtio-net-pci card, disable-legacy=on, on user networking with restrict=on
and a free port of 127.0.0.1 forwarded to the guest's port 80), waits for it
to answer, and times TCP streams through that forward, both ways.

    net_throughput.py --kernel VMLINUZ --initrd CPIO [--size MIB] [--runs N] [MODULE.ko ...]
    net_throughput.py --mica ISO --disk IMAGE [--size MIB] [--runs N]

With --mica, Mica instead, in the same QEMU configuration (its boot image,
a private copy of its disk, the same card): its shell runs `netbench serve`,
which speaks tcp_stream's protocol, and the lines say `mica_guest`.

MODULEs are passed to /init (after the kernel's `--`), which loads them in
that order. Each run is one connection: guest -> host ("GET N"), timed from
the first byte received to the last (EOF); host -> guest ("PUT N"), timed
from the first byte sent to the guest's "OK <bytes>" (all of it read by the
program in the guest). Prints `bench linux_guest.tcp.{to,from}_host.{median,
min,max} <MiB/s> MiB/s`. QEMU is always stopped before it returns.
"""
import argparse
import contextlib
import io
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests"))
import qemu  # noqa: E402
from net_test import machine  # noqa: E402  (Mica's QEMU command line)

MIB = 1 << 20


class Console:
    """The guest's serial output, echoed to stderr as it comes."""

    def __init__(self, proc):
        self.proc = proc
        self.lines = []
        self.listening = None  # time.monotonic() of tcp_stream's word that it listens
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("latin-1").rstrip("\r\n")
            self.lines.append(line)
            if "listening on port 80" in line:
                self.listening = time.monotonic()
            print(f"  guest: {line}", file=sys.stderr, flush=True)


def request(port, line, timeout=30):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(line.encode())
    return s


def ping(port):
    """hostfwd accepts on the host's side whether or not the guest listens
    (and closes when the guest refuses, or waits while it has no network
    yet): only an answer says it does."""
    try:
        with request(port, "PING\n", 1) as s:
            return s.recv(16) == b"PONG\n"
    except OSError:
        return False


def to_host(port, size):
    buffer = bytearray(MIB)
    view = memoryview(buffer)
    got = 0
    with request(port, f"GET {size}\n", 120) as s:
        n = s.recv_into(view)
        first = time.perf_counter()
        while n:
            got += n
            n = s.recv_into(view)
        last = time.perf_counter()
    if got != size * MIB:
        raise RuntimeError(f"GET {size}: {got} bytes")
    return got / (last - first) / MIB


def from_host(port, size, payload):
    with request(port, f"PUT {size}\n", 120) as s:
        first = time.perf_counter()
        s.sendall(payload)
        reply = b""
        while not reply.endswith(b"\n"):
            data = s.recv(64)
            if not data:
                break
            reply += data
        last = time.perf_counter()
    if reply != f"OK {len(payload)}\n".encode():
        raise RuntimeError(f"PUT {size}: the guest answered {reply!r}")
    return len(payload) / (last - first) / MIB


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernel")
    parser.add_argument("--initrd")
    parser.add_argument("--mica", metavar="ISO", help="Mica's boot image, instead of Linux")
    parser.add_argument("--disk", help="with --mica: its disk image (a private copy is used)")
    parser.add_argument("--size", type=int, default=32, help="MiB a run (default 32)")
    parser.add_argument("--runs", type=int, default=5, help="runs each way (default 5)")
    parser.add_argument("--timeout", type=int, default=170, help="seconds for all of it before QEMU is killed")
    parser.add_argument("modules", nargs="*")
    args = parser.parse_args()
    if not (args.mica and args.disk) and not (args.kernel and args.initrd):
        parser.error("give --kernel and --initrd (Linux), or --mica and --disk")
    with tempfile.TemporaryDirectory(prefix="mica-net-throughput-") as tmp:
        return measure(args, tmp)


def measure(args, tmp):
    port = qemu.free_port()
    with contextlib.redirect_stderr(io.StringIO()):  # its note names Mica
        network = qemu.network_args("user", port)
    if args.mica:
        disk = os.path.join(tmp, "disk.img")
        shutil.copyfile(args.disk, disk)
        cmd = machine(args.mica, disk, network) + ["-smp", "1"]
        guest = "mica_guest"
    else:
        append = "console=ttyS0 quiet panic=-1"
        if args.modules:
            append += " -- " + " ".join(args.modules)
        cmd = ["qemu-system-x86_64", "-machine", "pc", "-m", "256M", "-smp", "1", "-accel", "tcg", "-cpu", "max",
               "-no-reboot", "-display", "none", "-serial", "stdio", "-monitor", "none",
               "-kernel", args.kernel, "-initrd", args.initrd, "-append", append,
               *network]
        guest = "linux_guest"
    print("net_throughput: " + " ".join(cmd), file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that QEMU is stopped on the way out
    started = time.monotonic()
    stdin = subprocess.PIPE if args.mica else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            preexec_fn=qemu.die_with_parent)
    console = Console(proc)
    if args.mica:  # the shell starts the server once it prompts
        while not any("for the commands" in line for line in console.lines) and proc.poll() is None:
            time.sleep(0.1)  # the banner's last line; the prompt (no newline) follows it
        proc.stdin.write(b"netbench serve\n")
        proc.stdin.flush()
    timer = threading.Timer(args.timeout, proc.kill)  # this QEMU only, by its Popen
    timer.start()
    status = 1
    try:
        while not ping(port):
            if proc.poll() is not None:
                raise RuntimeError(f"QEMU ended (status {proc.returncode}) before the guest listened")
            if time.monotonic() - started > 120:
                raise RuntimeError("the guest did not answer on port 80 within 120 s")
            time.sleep(0.2)
        listening = f"listened {console.listening - started:.1f} s, " if console.listening else ""
        print(f"net_throughput: after QEMU started, the guest {listening}answered on 127.0.0.1:{port} "
              f"{time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
        payload = bytes(range(256)) * (args.size * MIB // 256)
        results = {"to_host": [], "from_host": []}
        for run in range(args.runs):
            results["to_host"].append(to_host(port, args.size))
            results["from_host"].append(from_host(port, args.size, payload))
            print(f"net_throughput: run {run + 1}: guest->host {results['to_host'][-1]:.2f} MiB/s, "
                  f"host->guest {results['from_host'][-1]:.2f} MiB/s", file=sys.stderr, flush=True)
        for name, values in results.items():
            for stat, value in (("median", statistics.median(values)), ("min", min(values)), ("max", max(values))):
                print(f"bench {guest}.tcp.{name}.{stat} {value:.2f} MiB/s", flush=True)
        status = 0
        try:
            request(port, "QUIT\n", 5).close()
            if args.mica:
                time.sleep(1)
                proc.stdin.write(b"poweroff\n")
                proc.stdin.flush()
            proc.wait(15)
        except (OSError, subprocess.TimeoutExpired):
            pass
    except (OSError, RuntimeError) as e:
        print(f"net_throughput: FAILED: {e}", file=sys.stderr, flush=True)
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    return status


if __name__ == "__main__":
    sys.exit(main())
