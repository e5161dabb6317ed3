#!/usr/bin/env python3
"""Malformed frames against Mica's TCP/IP stack, from the host.

    net_fuzz.py --iso build/mica.iso [--frames N] [--seed S]

Mica's network card is joined to this program by a QEMU socket netdev (UDP
datagrams on the host's 127.0.0.1, each one Ethernet frame), so the test is
the only other machine on Mica's wire: it answers Mica's DHCP, then sends
  * N frames made from valid ones (ARP, ICMP echo, UDP, TCP SYN to port 80
    where httpd listens) with bits flipped, bytes cut off or added, lengths
    and checksums wrong;
  * a SYN flood of 400 connections to port 80 (httpd's backlog is 16);
  * on a real connection: segments that overlap, segments outside the
    window, a zero window, then a reset;
and afterwards checks that the stack still answers: an ICMP echo, a new
TCP connection to port 80 (SYN answered by SYN-ACK), a connection Mica
closed first and holds in TIME-WAIT opened again by a new SYN (an old one
only acknowledged), and `ps` inside Mica shows net never restarted. Exit
status 0 when it held.
"""
import argparse
import os
import random
import re
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import qemu  # noqa: E402
from net_test import Console, machine  # noqa: E402

OUR_MAC = bytes.fromhex("020000000001")
OUR_IP = bytes([10, 0, 3, 2])
MICA_IP = bytes([10, 0, 3, 15])
BROADCAST = b"\xff" * 6


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ip_packet(proto, payload, src=OUR_IP, dst=MICA_IP, ident=0):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0, 64, proto, 0, src, dst)
    return header[:10] + struct.pack("!H", checksum(header)) + header[12:] + payload


def ethernet(dst, kind, payload):
    return dst + OUR_MAC + struct.pack("!H", kind) + payload


def tcp_segment(sport, dport, seq, ack, flags, window=65535, data=b"", src=OUR_IP):
    header = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xffffffff, ack & 0xffffffff, 5 << 4, flags, window, 0, 0)
    pseudo = struct.pack("!4s4sBBH", src, MICA_IP, 0, 6, len(header) + len(data))
    c = checksum(pseudo + header + data)
    return header[:16] + struct.pack("!H", c) + header[18:] + data


def udp_datagram(sport, dport, data, src=OUR_IP, dst=MICA_IP):
    header = struct.pack("!HHHH", sport, dport, 8 + len(data), 0)
    pseudo = struct.pack("!4s4sBBH", src, dst, 0, 17, 8 + len(data))
    c = checksum(pseudo + header + data) or 0xffff
    return header[:6] + struct.pack("!H", c) + data


class Wire:
    """The other end of Mica's cable: frames in and out as UDP datagrams."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.peer = None  # QEMU's end, learnt from its first datagram
        self.mica_mac = None
        self.frames = []
        self.lock = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            data, address = self.sock.recvfrom(65536)
            self.peer = self.peer or address
            if data[12:14] == b"\x08\x06" and len(data) >= 42 and data[21] == 1 and data[38:42] == OUR_IP:
                # Mica asks where we are: here.
                self.send(data[6:12] + OUR_MAC + b"\x08\x06" + struct.pack(
                    "!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, OUR_MAC, OUR_IP, data[6:12], data[28:32]))
                continue
            with self.lock:
                self.frames.append(data)
                self.lock.notify_all()

    def send(self, frame):
        if self.peer:
            self.sock.sendto(frame, self.peer)

    def wait(self, match, timeout=10):
        """The first frame since the last wait for which match(frame) is true."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                while self.frames:
                    f = self.frames.pop(0)
                    if match(f):
                        return f
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.lock.wait(left)

    def drain(self):
        with self.lock:
            self.frames.clear()


def answer_dhcp(wire, timeout=60):
    """Offers Mica 10.0.3.15/24 and acknowledges its request."""
    def dhcp(f, kind):
        if len(f) < 14 + 20 + 8 + 240 or f[12:14] != b"\x08\x00" or f[23] != 17:
            return False
        body = f[42:]
        return body[236:240] == b"\x63\x82\x53\x63" and bytes([53, 1, kind]) in body[240:]
    for kind, reply in ((1, 2), (3, 5)):  # DISCOVER -> OFFER, REQUEST -> ACK
        f = wire.wait(lambda f: dhcp(f, kind), timeout)
        if not f:
            raise AssertionError(f"no DHCP message {kind} from Mica")
        wire.mica_mac = f[6:12]
        body = f[42:]
        xid, chaddr = body[4:8], body[28:44]
        options = bytes([53, 1, reply, 54, 4]) + OUR_IP + bytes([51, 4, 0, 0, 0x0e, 0x10, 1, 4, 255, 255, 255, 0,
                                                                3, 4]) + OUR_IP + b"\xff"
        bootp = struct.pack("!BBBB4sHH4s4s4s4s16s", 2, 1, 6, 0, xid, 0, 0, b"\0" * 4, MICA_IP, OUR_IP, b"\0" * 4,
                            chaddr) + b"\0" * 192 + b"\x63\x82\x53\x63" + options
        wire.send(ethernet(BROADCAST, 0x0800, ip_packet(17, udp_datagram(67, 68, bootp, OUR_IP, b"\xff" * 4),
                                                         OUR_IP, b"\xff" * 4)))


def answers_ping(wire, ident):
    wire.drain()
    echo = struct.pack("!BBHHH", 8, 0, 0, 0x1234, ident) + b"mica-fuzz"
    echo = echo[:2] + struct.pack("!H", checksum(echo)) + echo[4:]
    wire.send(ethernet(wire.mica_mac, 0x0800, ip_packet(1, echo)))
    return wire.wait(lambda f: f[12:14] == b"\x08\x00" and f[23] == 1 and f[34] == 0 and
                     struct.unpack("!H", f[40:42])[0] == ident, 5) is not None


def answers_syn(wire, sport):
    wire.drain()
    wire.send(ethernet(wire.mica_mac, 0x0800, ip_packet(6, tcp_segment(sport, 80, 1000, 0, 0x02))))
    f = wire.wait(lambda f: f[12:14] == b"\x08\x00" and f[23] == 6 and struct.unpack("!H", f[36:38])[0] == sport, 5)
    return f is not None and f[47] & 0x12 == 0x12, f


def tcp_fields(f):
    """A TCP frame's sequence number, acknowledgement, flags and data."""
    t = 14 + (f[14] & 15) * 4
    seq, ack = struct.unpack("!II", f[t + 4:t + 12])
    return seq, ack, f[t + 13], f[t + (f[t + 12] >> 4) * 4:14 + struct.unpack("!H", f[16:18])[0]]


def reopens_time_wait(wire, sport):
    """httpd answers and closes first, so Mica keeps the connection in
    TIME-WAIT (two minutes in lwIP). A SYN on the same addresses whose
    sequence number lies before what the old connection received may be one
    of its own, late: Mica answers it with an ACK, as lwIP does. One past it
    opens a new connection at once (RFC 1122 4.2.2.13, RFC 6191), with an
    initial sequence number past what the old one sent, and it serves a
    request. The first half-open connections of the flood may still fill
    httpd's backlog: the first SYN is repeated until answered."""
    ours = lambda f: f[12:14] == b"\x08\x00" and f[23] == 6 and struct.unpack("!H", f[36:38])[0] == sport  # noqa: E731
    send = lambda seq, ack, flags, data=b"": wire.send(  # noqa: E731
        ethernet(wire.mica_mac, 0x0800, ip_packet(6, tcp_segment(sport, 80, seq, ack, flags, data=data))))
    request = b"GET /README HTTP/1.0\r\n\r\n"  # no disk here: a 404, which httpd also closes first

    def connect(seq, tries):
        for _ in range(tries):
            wire.drain()
            send(seq, 0, 0x02)
            f = wire.wait(lambda f: ours(f) and tcp_fields(f)[2] & 0x12 == 0x12, 2)
            if f:
                their = tcp_fields(f)[0]
                send(seq + 1, their + 1, 0x10)
                send(seq + 1, their + 1, 0x18, request)
                return their
        raise AssertionError(f"no SYN-ACK from port 80 to port {sport} (sequence number {seq})")

    def answer(seq, their):
        """The answer up to Mica's FIN, acknowledged: its first bytes, and the
        sequence number after the FIN."""
        data, expected = b"", their + 1
        while True:
            f = wire.wait(ours, 10)
            if not f:
                raise AssertionError(f"the answer on port {sport} stopped after {len(data)} bytes")
            s, _, flags, payload = tcp_fields(f)
            if s == expected:
                data += payload
                expected += len(payload)
                if flags & 0x01:
                    return data, expected + 1
                send(seq, expected, 0x10)

    seq = 7000
    their = connect(seq, 30)
    ours_next = seq + 1 + len(request)
    data, their_next = answer(ours_next, their)
    if not data.startswith(b"HTTP/1.0 "):  # 404: this machine has no disk
        raise AssertionError(f"httpd's answer: {data[:40]!r}")
    send(ours_next, their_next, 0x10)  # its FIN acknowledged: FIN-WAIT-2
    send(ours_next, their_next, 0x11)  # ours: TIME-WAIT
    if not wire.wait(lambda f: ours(f) and tcp_fields(f)[1] == (ours_next + 1) & 0xffffffff, 5):
        raise AssertionError("Mica did not acknowledge our FIN")

    wire.drain()
    send(ours_next - 100, 0, 0x02)
    f = wire.wait(ours, 5)
    if not f or tcp_fields(f)[2] & 0x17 != 0x10:
        raise AssertionError(f"a SYN before the old connection's end got {f and hex(tcp_fields(f)[2])}, not an ACK")

    seq = ours_next + 1_000_000
    wire.drain()
    send(seq, 0, 0x02)
    f = wire.wait(lambda f: ours(f), 5)
    if not f or tcp_fields(f)[2] & 0x17 != 0x12:
        raise AssertionError(f"a SYN past the old connection's end got {f and hex(tcp_fields(f)[2])}, not a SYN-ACK")
    isn = tcp_fields(f)[0]
    if not 0 < (isn - their_next) % (1 << 32) < 1 << 31:
        raise AssertionError(f"the new connection starts at {isn}, not past the old one's {their_next}")
    send(seq + 1, isn + 1, 0x10)
    send(seq + 1, isn + 1, 0x18, request)
    data, _ = answer(seq + 1 + len(request), isn)
    if not data.startswith(b"HTTP/1.0 "):
        raise AssertionError(f"httpd's answer on the reopened connection: {data[:40]!r}")
    send(seq + 1 + len(request), 0, 0x04)


def mutate(rng, frame):
    f = bytearray(frame)
    how = rng.randrange(5)
    if how == 0:  # flip bits
        for _ in range(rng.randrange(1, 8)):
            i = rng.randrange(len(f))
            f[i] ^= 1 << rng.randrange(8)
    elif how == 1:  # cut
        f = f[:rng.randrange(1, len(f))]
    elif how == 2:  # add bytes
        f += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
    elif how == 3:  # a length field (IP total length, UDP length) or checksum wrong
        i = rng.choice([16, 17, 24, 25, 38, 39, 40, 41, 50, 51])
        if i < len(f):
            f[i] = rng.randrange(256)
    else:  # the IP header's length and options
        if len(f) > 14:
            f[14] = 0x40 | rng.randrange(16)
    return bytes(f)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iso", required=True)
    parser.add_argument("--frames", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    wire = Wire()
    qemu_port = qemu.free_port()
    cmd = machine(args.iso, None, [
        "-netdev", f"socket,id=net0,udp=127.0.0.1:{wire.port},localaddr=127.0.0.1:{qemu_port}",
        "-device", "virtio-net-pci,netdev=net0,disable-legacy=on,addr=5,romfile="])
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            preexec_fn=qemu.die_with_parent)
    mica = Console(proc)
    failed = None
    timer = threading.Timer(600, proc.kill)
    timer.start()
    try:
        mica.expect("mica> ")
        answer_dhcp(wire)
        mica.send("httpd &\n")
        mica.expect("httpd: serving file:/ on port 80")
        if not answers_ping(wire, 1):
            raise AssertionError("no echo reply before the fuzzing")
        ok, _ = answers_syn(wire, 40000)
        if not ok:
            raise AssertionError("no SYN-ACK before the fuzzing")
        memory = lambda: int(mica.command("ps", r"^ +\d+ net +running +(\d+) K", 30).group(1))  # noqa: E731
        before = memory()

        seeds = [
            ethernet(BROADCAST, 0x0806, struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, OUR_MAC, OUR_IP,
                                                    b"\0" * 6, MICA_IP)),
            ethernet(wire.mica_mac, 0x0800, ip_packet(1, b"\x08\x00\x00\x00\x12\x34\x00\x01" + b"x" * 32)),
            ethernet(wire.mica_mac, 0x0800, ip_packet(17, udp_datagram(5000, 7, b"hello"))),
            ethernet(wire.mica_mac, 0x0800, ip_packet(6, tcp_segment(41000, 80, 5, 0, 0x02))),
            ethernet(wire.mica_mac, 0x0800, ip_packet(6, tcp_segment(41001, 80, 5, 77, 0x18, data=b"GET / HTTP/1.0"))),
        ]
        for i in range(args.frames):
            wire.send(mutate(rng, rng.choice(seeds)))
            if i % 200 == 199:
                time.sleep(0.05)  # QEMU's socket netdev drops what its queue cannot hold
        print(f"net_fuzz: {args.frames} malformed frames sent")

        for i in range(400):  # a SYN flood: a new port each time, never completed
            wire.send(ethernet(wire.mica_mac, 0x0800, ip_packet(6, tcp_segment(20000 + i, 80, i * 7919, 0, 0x02))))
        time.sleep(0.5)
        print("net_fuzz: 400 SYNs to port 80 sent")

        # A real connection, then nonsense on it.
        ok, synack = answers_syn(wire, 42000)
        if ok:
            their = struct.unpack("!I", synack[38:42])[0]
            send = lambda seq, ack, flags, window=65535, data=b"": wire.send(  # noqa: E731
                ethernet(wire.mica_mac, 0x0800, ip_packet(6, tcp_segment(42000, 80, seq, ack, flags, window, data))))
            send(1001, their + 1, 0x10)
            send(1001, their + 1, 0x18, data=b"GET /README HT")
            send(1005, their + 1, 0x18, data=b"XXXXXXXXXXXXXXXXXXXX")  # overlaps
            send(1001 + 10_000_000, their + 1, 0x18, data=b"far outside the window")
            send(1001 - 5000, their + 1, 0x18, data=b"long before it")
            send(1015, their + 1, 0x10, window=0)  # a zero window
            send(1015, their + 1 + 100000, 0x10)  # acknowledges what was never sent
            time.sleep(0.3)
            send(1015, their + 1, 0x04)  # reset
        print("net_fuzz: overlapping, out-of-window, zero-window segments and a reset sent")

        time.sleep(1)
        if not answers_ping(wire, 2):
            raise AssertionError("no echo reply after the fuzzing")
        ok = False
        for attempt in range(20):  # the flood's half-open connections may fill the backlog a while
            ok, _ = answers_syn(wire, 43000 + attempt)
            if ok:
                break
            time.sleep(1)
        if not ok:
            raise AssertionError("no SYN-ACK after the fuzzing")
        print(f"net_fuzz: the stack still answers echo and connections ({attempt + 1} SYNs to get through)")
        reopens_time_wait(wire, 44000)
        print("net_fuzz: a connection in TIME-WAIT: an old SYN acknowledged, a new one opens it again")
        after = memory()
        print(f"net_fuzz: net's memory {before} KiB before, {after} KiB after")
        if after > before + 64:
            raise AssertionError(f"net's memory grew from {before} to {after} KiB")
        m = mica.command("ps", r"^ +\d+ net +running +\d+ K +\d+ K +(\d+)\s*$", 30)
        if m.group(1) != "0":
            raise AssertionError(f"net restarted {m.group(1)} times")
        mica.send("poweroff\n")
        proc.wait(60)
    except AssertionError as e:
        failed = str(e)
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    if failed or "PANIC" in mica.output or re.search(r"init: net (ended|crashed)", mica.output):
        print(mica.output[-4000:])
        print(f"net_fuzz: FAILED: {failed or 'net ended or the kernel panicked'}")
        return 1
    print("net_fuzz: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
