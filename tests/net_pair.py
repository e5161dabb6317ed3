#!/usr/bin/env python3
"""Two Mica machines on one wire: busybox's nc moves a file each way.

    net_pair.py --iso build/mica.iso --disk build/disk.img

Each machine's card is a QEMU socket netdev on the host's 127.0.0.1; this
program is the switch between them (it forwards every frame from one to
the other) and the wire's DHCP server (10.0.3.15 and 10.0.3.16, told apart
by their MACs). Then A listens with `nc -l` and B sends it 1 MiB, and the
other way round; each file's CRC-32 (`sum`) must match on both sides.
"""
import argparse
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import qemu  # noqa: E402
from net_fuzz import BROADCAST, OUR_IP, ethernet, ip_packet, udp_datagram  # noqa: E402
from net_test import Console, machine  # noqa: E402

MACS = (bytes.fromhex("525400aa0001"), bytes.fromhex("525400aa0002"))
ADDRESSES = (bytes([10, 0, 3, 15]), bytes([10, 0, 3, 16]))


class Switch:
    """Frames between the two machines; DHCP answered here."""

    def __init__(self):
        self.socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in MACS]
        for s in self.socks:
            s.bind(("127.0.0.1", 0))
        self.peers = [None, None]
        for i in range(2):
            threading.Thread(target=self._forward, args=(i,), daemon=True).start()

    def port(self, i):
        return self.socks[i].getsockname()[1]

    def _forward(self, i):
        while True:
            frame, address = self.socks[i].recvfrom(65536)
            self.peers[i] = self.peers[i] or address
            if self._dhcp(i, frame):
                continue
            if self.peers[1 - i]:
                self.socks[1 - i].sendto(frame, self.peers[1 - i])

    def _dhcp(self, i, f):
        if len(f) < 282 or f[12:14] != b"\x08\x00" or f[23] != 17 or f[42 + 236:42 + 240] != b"\x63\x82\x53\x63":
            return False
        body = f[42:]
        kind = 2 if bytes([53, 1, 1]) in body[240:] else 5 if bytes([53, 1, 3]) in body[240:] else 0
        if not kind:
            return True
        mine = ADDRESSES[MACS.index(f[6:12])] if f[6:12] in MACS else ADDRESSES[i]
        options = bytes([53, 1, kind, 54, 4]) + OUR_IP + bytes([51, 4, 0, 0, 0x0e, 0x10, 1, 4, 255, 255, 255, 0]) + b"\xff"
        bootp = struct.pack("!BBBB4sHH4s4s4s4s16s", 2, 1, 6, 0, body[4:8], 0, 0, b"\0" * 4, mine, OUR_IP, b"\0" * 4,
                            body[28:44]) + b"\0" * 192 + b"\x63\x82\x53\x63" + options
        frame = ethernet(BROADCAST, 0x0800, ip_packet(17, udp_datagram(67, 68, bootp, OUR_IP, b"\xff" * 4), OUR_IP,
                                                      b"\xff" * 4))
        self.socks[i].sendto(frame, self.peers[i])
        return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iso", required=True)
    parser.add_argument("--disk", required=True)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="mica-pair-")
    switch = Switch()
    procs, machines = [], []
    failed = None
    try:
        for i in range(2):
            disk = os.path.join(work, f"disk{i}.img")
            subprocess.run(["cp", "--sparse=always", args.disk, disk], check=True)
            mac = ":".join(f"{b:02x}" for b in MACS[i])
            cmd = machine(args.iso, disk, [
                "-netdev", f"socket,id=net0,udp=127.0.0.1:{switch.port(i)},localaddr=127.0.0.1:{qemu.free_port()}",
                "-device", f"virtio-net-pci,netdev=net0,disable-legacy=on,addr=5,romfile=,mac={mac}"])
            procs.append(subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, preexec_fn=qemu.die_with_parent))
            machines.append(Console(procs[-1]))
        for i, m in enumerate(machines):
            m.expect("mica> ")
            for _ in range(60):
                if f"inet 10.0.3.{15 + i} " in m.command("ifconfig", r"eth0[^\n]*\n[^\n]*inet [0-9.]+ ", 60).group(0):
                    break
            else:
                raise AssertionError(f"machine {i} got no address")
        for sender, receiver in ((1, 0), (0, 1)):
            a, b = machines[receiver], machines[sender]
            crc = b.command(f"fill file:/out{sender} 1M {sender + 5}", r"crc32 ([0-9a-f]{8})", 120).group(1)
            a.send(f'busybox sh -c "sleep 60 | nc -l -p 5000 > /in{sender}" &\n')
            a.expect(r"\[[0-9]+\] busybox")
            a.expect("mica> ")
            to = f"10.0.3.{15 + receiver}"
            b.command(f'busybox sh -c "for i in 1 2 3 4 5 6 7 8 9 10; do nc {to} 5000 < /out{sender} && echo sent '
                      f'&& exit; sleep 1; done; echo not sent"', r"\nsent\r?\n", 120)
            got = a.command(f"sum file:/in{sender}", r"([0-9a-f]{8}) (\d+) file:/in", 60)
            if got.group(1) != crc or got.group(2) != "1048576":
                raise AssertionError(f"machine {sender} to {receiver}: {got.group(0)}, sent crc32 {crc}")
            print(f"net_pair: 1 MiB from machine {sender} to machine {receiver} by nc, crc32 {crc} on both")
        for m in machines:
            m.send("poweroff\n")
        for p in procs:
            p.wait(60)
    except AssertionError as e:
        failed = str(e)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        shutil.rmtree(work, ignore_errors=True)
    if failed or any("PANIC" in m.output for m in machines):
        for m in machines:
            print(m.output[-3000:])
        print(f"net_pair: FAILED: {failed or 'a panic'}")
        return 1
    print("net_pair: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
