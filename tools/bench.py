#!/usr/bin/env python3
"""Benchmarks: boots the benchmark image and prints one line per figure,

    bench <metric> <value> <unit>

The benchmark program (apps/bench, the first process with `init=bench`)
measures the kernel's primitives with the cycle counter. It runs twice:
under -icount shift=0, where the counter advances one tick per executed
instruction (unit `instructions`: deterministic path lengths, comparable from
commit to commit), then without icount (unit `ns`: wall clock on a shared
machine, only a trend). Boot time, to the kernel's banner and to the shell's
first prompt, is measured on the host (`ms`).

File throughput boots the whole system with a copy of the disk image and
runs apps/fsbench from the shell: MiB/s through file: by the clock (plain
TCG), and under icount the cycle count of one 4 KiB read (from the device,
and from the file server's cache), of an open of a small file by name, a
4 KiB read and a close (fs.open_read_close_4k), of 1 MiB read sequentially
(fs.read_seq_1m: .uncached, the first pass over files put on the disk copy
with debugfs before boot, which the file server has never seen; .cached, a
pass over the same file again) and of the runtime's memcpy of 1 MiB in the
same run (fs.memcpy_1m), the floor a cached read is compared with. The Linux
personality's figures (linux.*) come the same way from the static Linux
program apps/linux/bench.c, under icount, and the network's (net.*) from
apps/net/netbench: a 1-byte TCP round trip over the loopback in
instructions, and a loopback stream's MiB/s (by the clock, under icount:
a trend only).

Several CPUs: the same image booted with -smp 2 and -smp 4 measures a call
to a server on another CPU (ipc.call_reply.cross_core) and the unmapping of
one page of an address space live on 1..N CPUs (tlb.unmap_page.cpus_N; the
shootdown is the difference), under icount (where the ticks count every
CPU's instructions, the halted ones' too) and by the clock; and, by the
clock on plain TCG (one host thread per CPU), independent client/server
pairs all on CPU 0 and then one pair per CPU (ipc.pairs_2.scaling: the
ratio of their calls per second), and the same with one server endpoint
that a server thread per CPU receives on (ipc.shared_server_2).

Boot in instructions (boot.kernel_to_shell): from the kernel's entry
(kernel_main) to the shell's first prompt, under icount, with no kernel code
for it. The normal image boots with `-- shell.boot_ticks=yes` (init hands
`shell.KEY=VALUE` to the shell as KEY=VALUE), so the shell prints the cycle
counter and the kernel's count of ticks the CPU spent halted as it prints
its first prompt; QEMU starts stopped, and gdb, at a hardware breakpoint on
kernel_main's first instruction, has the guest execute the kernel's own
rdtsc (arch::counter) once, reads the counter, puts the registers back and
lets it run. The figure is the difference less the halted ticks. The counter
at kernel_main is read in the same run because what comes before it (the
firmware and GRUB, about 160 million instructions) varies from boot to boot
under icount; what follows does not (every boot gives the same figure). It
includes the timer's calibration, 10 ms of busy polling of the PIT, which
under icount is 10 million instructions.
"""
import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mkiso  # noqa: E402

BANNER = re.compile(rb"Mica \d+\.\d+\.\d+")
PROMPT = b"mica> "
QEMU = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-m", "256M", "-display", "none",
        "-no-reboot", "-monitor", "none", "-serial", "stdio", "-nic", "none",
        "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]


def run_bench_image(iso, icount, timeout=600, smp=1):
    cmd = QEMU + ["-smp", str(smp), "-cdrom", iso, "-boot", "d"] + (["-icount", "shift=0"] if icount else [])
    out = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout).stdout
    text = out.decode("utf-8", "replace")
    if "bench-done" not in text:
        sys.stderr.write(text)
        raise SystemExit("bench: the benchmark program did not finish")
    figures, hz = [], None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("bench-counter-hz "):
            hz = int(line.split()[1])
        elif line.startswith("bench "):
            _, metric, value, unit = line.split()
            figures.append((metric, float(value) if "." in value else int(value), unit))
    return figures, hz


COLD_FILES = 5  # fsbench's fs.read_seq_1m.uncached samples


def host_tool(name):
    return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


def add_cold_files(disk, tmp):
    """Writes /fsbench.cold.0 ... (1 MiB of random bytes each) onto the disk
    copy before boot: files the file server has never read, for fsbench's
    uncached sequential read."""
    debugfs = host_tool("debugfs")
    if not debugfs:
        sys.stderr.write("bench: no debugfs (e2fsprogs): no fs.read_seq_1m.uncached\n")
        return
    requests = []
    for i in range(COLD_FILES):
        local = os.path.join(tmp, f"cold.{i}")
        with open(local, "wb") as f:
            f.write(os.urandom(1 << 20))
        os.chmod(local, 0o644)
        requests.append(f"write {local} /fsbench.cold.{i}")
    subprocess.run([debugfs, "-w", "-f", "-", disk], input="\n".join(requests) + "\n", text=True,
                   check=True, capture_output=True)


def run_fsbench(iso, disk, icount, timeout=600, command=b"fsbench", done="fsbench-done"):
    """The `bench` lines of a program run from the shell (fsbench, or the
    Linux program linux-bench), from a full system with `disk`."""
    with tempfile.TemporaryDirectory(prefix="mica-fsbench-") as tmp:
        copy = os.path.join(tmp, "disk.img")
        subprocess.run(["cp", "--sparse=always", disk, copy], check=True)
        if command == b"fsbench":
            add_cold_files(copy, tmp)
        cmd = QEMU + ["-cdrom", iso, "-boot", "d",
                      "-drive", f"file={copy},if=none,id=disk0,format=raw",
                      "-device", "virtio-blk-pci,drive=disk0,disable-legacy=on"]
        cmd += ["-icount", "shift=0"] if icount else []
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        seen, sent, start = b"", False, time.monotonic()
        while done.encode() not in seen and time.monotonic() - start < timeout:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            seen += chunk
            if not sent and PROMPT in seen:
                proc.stdin.write(command + b"\n")
                proc.stdin.flush()
                sent = True
        proc.kill()
        proc.wait()
    text = seen.decode("utf-8", "replace")
    if done not in text:
        sys.stderr.write(text)
        raise SystemExit(f"bench: {command.decode()} did not finish")
    for line in text.splitlines():  # what the program says of its figures (a file it did not find, ...)
        if line.strip().startswith(command.decode() + ": "):
            sys.stderr.write(line.strip() + (" (under icount)\n" if icount else " (plain TCG)\n"))
    return [line.strip().split()[1:] for line in text.splitlines() if line.strip().startswith("bench ")]


def boot_once(iso, timeout):
    """Wall time from QEMU start to the kernel's banner and to the shell's
    first prompt, in ms."""
    start = time.monotonic()
    proc = subprocess.Popen(QEMU + ["-cdrom", iso, "-boot", "d"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    seen, banner_at, prompt_at = b"", None, None
    while prompt_at is None and time.monotonic() - start < timeout:
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            break
        seen += chunk
        if banner_at is None and BANNER.search(seen):
            banner_at = time.monotonic()
        if PROMPT in seen:
            prompt_at = time.monotonic()
    proc.kill()
    proc.wait()
    if banner_at is None or prompt_at is None:
        raise SystemExit("bench: the system never reached the shell")
    return (banner_at - start) * 1000, (prompt_at - start) * 1000


GDB_SCRIPT = r"""
import gdb, time
gdb.execute("set pagination off")
gdb.execute("set confirm off")
for attempt in range(50):  # until QEMU listens
    try:
        gdb.execute("target remote 127.0.0.1:%d", to_string=True)
        break
    except gdb.error:
        time.sleep(0.2)
gdb.execute("hbreak *kernel_main", to_string=True)
gdb.execute("continue", to_string=True)
# The kernel's own rdtsc, once, then everything as it was.
start = int(gdb.parse_and_eval("(unsigned long)&'arch::counter()'"))
arch = gdb.selected_frame().architecture()
rdtsc = next(i["addr"] for i in arch.disassemble(start, count=8) if i["asm"].startswith("rdtsc"))
saved = {r: int(gdb.parse_and_eval("(unsigned long)$" + r)) for r in ("rax", "rdx", "rip")}
gdb.execute("set $pc = %%d" %% rdtsc)
gdb.execute("stepi", to_string=True)
low = int(gdb.parse_and_eval("(unsigned long)$rax")) & 0xffffffff
high = int(gdb.parse_and_eval("(unsigned long)$rdx")) & 0xffffffff
for r, v in saved.items():
    gdb.execute("set $%%s = %%d" %% (r, v))
print("kernel-main-counter %%d" %% (high << 32 | low))
gdb.execute("delete")
gdb.execute("detach", to_string=True)
"""
FIRST_PROMPT = re.compile(rb"shell: first prompt at counter (\d+), (\d+) ticks halted")


def boot_instructions(iso, kernel_elf, timeout=120):
    """Instructions under icount from kernel_main to the shell's first
    prompt (see the top of this file). `iso` boots with shell.boot_ticks=yes."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(QEMU + ["-cdrom", iso, "-boot", "d", "-icount", "shift=0", "-S",
                                    "-gdb", f"tcp:127.0.0.1:{port}"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".py") as script:
            script.write(GDB_SCRIPT % port)
            script.flush()
            gdb = subprocess.run(["gdb", "-q", "-batch", "-nx", kernel_elf, "-x", script.name],
                                 capture_output=True, text=True, timeout=timeout)
        found = re.search(r"kernel-main-counter (\d+)", gdb.stdout)
        if not found:
            sys.stderr.write(gdb.stdout + gdb.stderr)
            raise SystemExit("bench: gdb did not read the counter at kernel_main")
        at_kernel_main = int(found.group(1))
        seen, start = b"", time.monotonic()
        while time.monotonic() - start < timeout:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            seen += chunk
            prompt = FIRST_PROMPT.search(seen)
            if prompt:
                return int(prompt.group(1)) - at_kernel_main - int(prompt.group(2))
        sys.stderr.write(seen.decode("utf-8", "replace"))
        raise SystemExit("bench: the shell never said when it reached its first prompt")
    finally:
        proc.kill()
        proc.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iso", required=True, help="the normal boot image (for boot time)")
    parser.add_argument("--image", required=True, help="image folder (to make the benchmark ISO)")
    parser.add_argument("--disk", help="the disk image (for file throughput)")
    parser.add_argument("--boots", type=int, default=5)
    parser.add_argument("names", nargs="*", help="only metrics starting with these")
    args = parser.parse_args()

    def wanted(metric):
        return not args.names or any(metric.startswith(n) for n in args.names)

    def emit(metric, value, unit):
        if wanted(metric):
            print(f"bench {metric} {value} {unit}", flush=True)

    with tempfile.TemporaryDirectory(prefix="mica-bench-") as tmp:
        bench_iso = os.path.join(tmp, "bench.iso")
        mkiso.make_iso(args.image, bench_iso, "init=bench")
        figures, _ = run_bench_image(bench_iso, icount=True)
        for metric, value, unit in figures:
            emit(metric, value, "instructions" if unit == "ticks" else unit)
        figures, hz = run_bench_image(bench_iso, icount=False)
        for metric, value, unit in figures:
            if unit == "ticks":
                emit(metric, round(value * 1e9 / hz), "ns")

    smp_metrics = ("ipc.call_reply.cross_core", "tlb.", "ipc.pairs", "ipc.shared_server")
    if any(wanted(m) for m in smp_metrics):
        with tempfile.TemporaryDirectory(prefix="mica-bench-") as tmp:
            bench_iso = os.path.join(tmp, "bench.iso")
            mkiso.make_iso(args.image, bench_iso, "init=bench")
            for cpus in (2, 4):
                def new(metric):  # the -smp 4 run adds what -smp 2 cannot measure
                    return cpus == 2 or "cpus_3" in metric or "cpus_4" in metric
                figures, _ = run_bench_image(bench_iso, icount=True, smp=cpus)
                for metric, value, unit in figures:
                    if new(metric):
                        emit(metric, value, "instructions" if unit == "ticks" else unit)
                figures, hz = run_bench_image(bench_iso, icount=False, smp=cpus)
                for metric, value, unit in figures:
                    if unit == "ticks" and new(metric):
                        emit(metric, round(value * 1e9 / hz), "ns")
            scaling_iso = os.path.join(tmp, "scaling.iso")
            mkiso.make_iso(args.image, scaling_iso, "init=bench -- smp=scaling")
            figures, _ = run_bench_image(scaling_iso, icount=False, smp=2)
            for metric, value, unit in figures:
                emit(metric, value, unit)

    if args.disk and wanted("fs."):
        for metric, value, unit in run_fsbench(args.iso, args.disk, icount=False):
            if unit != "ticks":
                emit(metric + ".tcg", value, unit)
        for metric, value, unit in run_fsbench(args.iso, args.disk, icount=True):
            if unit == "ticks":
                emit(metric, value, "instructions")

    if args.disk and wanted("linux."):
        for metric, value, unit in run_fsbench(args.iso, args.disk, icount=True, command=b"linux-bench",
                                               done="linux-bench-done"):
            emit(metric, value, "instructions" if unit == "ticks" else unit)

    if args.disk and wanted("net."):
        for metric, value, unit in run_fsbench(args.iso, args.disk, icount=True, command=b"netbench",
                                               done="netbench-done"):
            emit(metric, value, "instructions" if unit == "ticks" else unit)

    if wanted("boot.kernel_to_shell"):
        if not shutil.which("gdb"):
            sys.stderr.write("bench: boot.kernel_to_shell needs gdb, which is not installed\n")
        else:
            with tempfile.TemporaryDirectory(prefix="mica-bench-") as tmp:
                boot_iso = os.path.join(tmp, "boot.iso")
                mkiso.make_iso(args.image, boot_iso, "-- shell.boot_ticks=yes")
                kernel_elf = os.path.join(args.image, "boot", "kernel.elf")
                values = [boot_instructions(boot_iso, kernel_elf) for _ in range(args.boots)]
            emit("boot.kernel_to_shell.median", round(statistics.median(values)), "instructions")
            emit("boot.kernel_to_shell.min", min(values), "instructions")
            emit("boot.kernel_to_shell.max", max(values), "instructions")

    if any(wanted(m) for m in ("boot.to_banner.bios_tcg", "boot.to_shell.bios_tcg")):
        banner, shell = zip(*(boot_once(args.iso, 60) for _ in range(args.boots)))
        for name, values in (("boot.to_banner.bios_tcg", banner), ("boot.to_shell.bios_tcg", shell)):
            emit(f"{name}.median", round(statistics.median(values)), "ms")
            emit(f"{name}.min", round(min(values)), "ms")
            emit(f"{name}.max", round(max(values)), "ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
