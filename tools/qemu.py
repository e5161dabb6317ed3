#!/usr/bin/env python3
"""The one place that knows how Mica is run in QEMU.

    qemu.py run  [options]            boot with the serial console on stdio
    qemu.py test [options] STEPS...   boot, drive the serial console, check it

Exit status of `run`, from what the kernel reported through isa-debug-exit:
0 the kernel ended successfully (poweroff), 1 the kernel reported failure
(panic), 3 QEMU stopped without a report (triple fault, reset, crash),
124 timeout. QEMU itself can never exit 0 through isa-debug-exit: it exits
(value << 1) | 1, and a triple fault with -no-reboot exits 0, so only the
exact codes below count.

Test steps run in order against the serial output:
    --expect REGEX     wait until the output (since the last match) matches
    --send TEXT        type TEXT on the serial console (\\n for Enter)
    --sendkey TEXT     type TEXT on the PS/2 keyboard (QEMU's monitor sendkey)
    --reject REGEX     fail if this ever appears in the output
and --exit success|failure|any says how the run must end.
"""
import argparse
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

EXIT_SUCCESS = (0x10 << 1) | 1   # kernel wrote 0x10 to port 0xf4
EXIT_FAILURE = (0x11 << 1) | 1   # kernel wrote 0x11 (panic)
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
HERE = os.path.dirname(os.path.abspath(__file__))


def coverage_args():
    """QEMU options that log the kernel's translated blocks into
    $MICA_COVERAGE_DIR, when it is set (tools/coverage.py); none otherwise."""
    directory = os.environ.get("MICA_COVERAGE_DIR")
    if not directory:
        return []
    fd, path = tempfile.mkstemp(prefix="qemu-", suffix=".log", dir=directory)
    os.close(fd)
    return ["-d", "in_asm", "-dfilter", "0xffffffff80000000..0xffffffffffffffff", "-D", path]


def build_command(args, iso, workdir, serial):
    cmd = ["qemu-system-x86_64", "-m", args.memory, "-smp", str(args.smp),
           "-no-reboot", *([] if args.gui else ["-display", "none"]),
           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
           "-cdrom", iso, "-boot", "d"]
    if args.kvm:
        cmd += ["-accel", "kvm", "-cpu", "host"]
    else:
        cmd += ["-accel", "tcg", "-cpu", "max"]
        if args.icount:
            cmd += ["-icount", "shift=0"]
    if args.uefi:
        vars_copy = os.path.join(workdir, "OVMF_VARS.fd")
        shutil.copyfile(OVMF_VARS, vars_copy)
        cmd += ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
                "-drive", f"if=pflash,format=raw,unit=1,file={vars_copy}"]
    disk = args.disk
    if args.disk_copy:
        # A private writable copy (sparse, so a mostly empty image copies fast).
        disk = os.path.join(workdir, "disk.img")
        subprocess.run(["cp", "--sparse=always", args.disk_copy, disk], check=True)
    if disk:
        cmd += ["-drive", f"file={disk},if=none,id=disk0,format=raw",
                "-device", "virtio-blk-pci,drive=disk0,disable-legacy=on"]
    cmd += serial + coverage_args()
    if args.debug:
        cmd += ["-s", "-S"]
    return cmd


def prepare_iso(args, workdir):
    if not args.cmdline:
        return args.iso
    sys.path.insert(0, HERE)
    import mkiso
    iso = os.path.join(workdir, "mica-cmdline.iso")
    mkiso.make_iso(args.image, iso, args.cmdline)
    return iso


def describe(status):
    if status == EXIT_SUCCESS:
        return 0, "kernel powered off (success)"
    if status == EXIT_FAILURE:
        return 1, "kernel reported failure"
    return 3, f"QEMU exited with status {status} without a report from the kernel (triple fault or reset?)"


def run_piped(cmd, timeout):
    """Input from a pipe waits until the shell's first prompt: the firmware
    (OVMF reads the serial line too) and the boot loader would otherwise eat
    it. Output is passed through as it comes."""
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    prompt = threading.Event()

    def feed():
        prompt.wait()
        try:
            for chunk in iter(lambda: os.read(sys.stdin.fileno(), 4096), b""):
                proc.stdin.write(chunk)
                proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass

    threading.Thread(target=feed, daemon=True).start()
    deadline = time.monotonic() + timeout if timeout else None
    seen = b""
    while True:
        if deadline and time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise subprocess.TimeoutExpired(cmd, timeout)
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if not ready:
            continue
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            break
        sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        if not prompt.is_set():
            seen = (seen + chunk)[-64:]
            if b"mica> " in seen:
                prompt.set()
    return proc.wait()


def cmd_run(args):
    with tempfile.TemporaryDirectory(prefix="mica-run-") as workdir:
        iso = prepare_iso(args, workdir)
        if sys.stdin.isatty():
            # Ctrl-C goes to the guest; Ctrl-A X quits QEMU.
            serial = ["-chardev", "stdio,id=con,mux=on,signal=off", "-serial", "chardev:con",
                      "-mon", "chardev=con,mode=readline"]
        else:
            serial = ["-serial", "stdio", "-monitor", "none"]
        cmd = build_command(args, iso, workdir, serial)
        if args.debug:
            print("qemu: waiting for gdb on localhost:1234 (see README, 'Debugging')", file=sys.stderr)
        timeout = args.timeout if args.timeout > 0 else None
        try:
            if sys.stdin.isatty():
                status = subprocess.run(cmd, timeout=timeout).returncode
            else:
                status = run_piped(cmd, timeout)
        except subprocess.TimeoutExpired:
            print(f"\nqemu: timed out after {args.timeout} s", file=sys.stderr)
            return 124
        code, text = describe(status)
        if code != 0:
            print(f"\nqemu: {text}", file=sys.stderr)
        return code


# QEMU key names for the characters --sendkey types on the PS/2 keyboard.
KEY_NAMES = {" ": "spc", "\n": "ret", "-": "minus", "=": "equal", ".": "dot", "/": "slash", ",": "comma",
             ";": "semicolon", ":": "shift-semicolon", "_": "shift-minus", "\x7f": "backspace"}


def key_name(c):
    if c.isalpha() and c.isupper():
        return "shift-" + c.lower()
    return KEY_NAMES.get(c, c)


def cmd_test(args):
    steps = args.steps or []
    with tempfile.TemporaryDirectory(prefix="mica-test-") as workdir:
        iso = prepare_iso(args, workdir)
        monitor_path = os.path.join(workdir, "monitor.sock")
        keys = any(kind == "sendkey" for kind, _ in steps)
        monitor = ["-monitor", f"unix:{monitor_path},server=on,wait=off"] if keys else ["-monitor", "none"]
        cmd = build_command(args, iso, workdir, ["-serial", "stdio", *monitor])
        print("qemu:", " ".join(cmd), flush=True)
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + args.timeout
        output = ""      # everything so far
        cursor = 0       # where the next --expect starts looking
        failure = None
        step = 0
        rejects = [re.compile(r) for r in args.reject or []]
        eof = False
        monitor_socket = None

        def send_keys(text):
            nonlocal monitor_socket
            if monitor_socket is None:
                for _ in range(100):
                    try:
                        monitor_socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                        monitor_socket.connect(monitor_path)
                        break
                    except OSError:
                        monitor_socket = None
                        time.sleep(0.05)
            for c in text.encode().decode("unicode_escape"):
                monitor_socket.sendall(f"sendkey {key_name(c)} 30\n".encode())
                time.sleep(0.08)

        def read_some(wait):
            nonlocal output, eof
            ready, _, _ = select.select([proc.stdout], [], [], wait)
            if not ready:
                return
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                eof = True
                return
            text = chunk.decode("utf-8", "replace").replace("\r", "")
            sys.stdout.write(text)
            sys.stdout.flush()
            output += text

        while failure is None:
            for r in rejects:
                if r.search(output):
                    failure = f"output matched forbidden pattern {r.pattern!r}"
            if failure:
                break
            if step < len(steps):
                kind, value = steps[step]
                if kind == "sendkey":
                    send_keys(value)
                    step += 1
                    continue
                if kind == "send":
                    try:
                        proc.stdin.write(value.encode().decode("unicode_escape").encode("latin-1"))
                        proc.stdin.flush()
                    except BrokenPipeError:
                        failure = "QEMU closed its input"
                    step += 1
                    continue
                m = re.compile(value, re.M).search(output, cursor)
                if m:
                    cursor = m.end()
                    step += 1
                    continue
            elif eof:
                break
            if eof:
                failure = f"output ended before matching {steps[step][1]!r}"
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                what = f"waiting for {steps[step][1]!r}" if step < len(steps) else "waiting for QEMU to exit"
                failure = f"timed out after {args.timeout} s {what}"
                break
            read_some(min(remaining, 0.5))

        if args.transcript:
            with open(args.transcript, "w") as f:
                f.write(output)
        if failure:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            print(f"\nTEST FAILED: {failure}")
            return 1
        status = proc.wait()
        code, text = describe(status)
        print(f"\nqemu: {text}")
        wanted = {"success": [0], "failure": [1], "any": [0, 1, 3]}[args.exit]
        if code not in wanted:
            print(f"TEST FAILED: expected the run to end in {args.exit}")
            return 1
        print("TEST PASSED")
        return 0


class StepAction(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        steps = getattr(namespace, "steps", None) or []
        steps.append((self.dest.split("_")[1], values))
        namespace.steps = steps


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["run", "test"])
    parser.add_argument("--iso", required=True, help="boot image")
    parser.add_argument("--image", help="image folder, to remake the ISO with --cmdline")
    parser.add_argument("--cmdline", default="", help="boot with this kernel command line")
    parser.add_argument("--uefi", action="store_true", help="boot through OVMF instead of BIOS")
    parser.add_argument("--kvm", action="store_true", help="hardware virtualisation (real KVM hosts only)")
    parser.add_argument("--icount", action="store_true", help="-icount shift=0: TSC counts instructions")
    parser.add_argument("--smp", type=int, default=1)
    parser.add_argument("--memory", default="256M")
    parser.add_argument("--timeout", type=float, default=0, help="seconds; 0 means none (run) or 60 (test)")
    parser.add_argument("--debug", action="store_true", help="wait for gdb on localhost:1234")
    parser.add_argument("--gui", action="store_true", help="show the VGA display too (serial stays the console)")
    parser.add_argument("--disk", help="attach this raw disk image (virtio-blk), written in place")
    parser.add_argument("--disk-copy", help="attach a private copy of this disk image")
    parser.add_argument("--transcript", help="test: save the serial output in this file")
    parser.add_argument("--expect", dest="step_expect", action=StepAction)
    parser.add_argument("--send", dest="step_send", action=StepAction)
    parser.add_argument("--sendkey", dest="step_sendkey", action=StepAction,
                        help="type on the PS/2 keyboard (through QEMU's monitor)")
    parser.add_argument("--reject", action="append")
    parser.add_argument("--exit", choices=["success", "failure", "any"], default="success")
    args = parser.parse_args()
    if args.cmdline and not args.image:
        parser.error("--cmdline needs --image")
    if args.mode == "test" and args.timeout <= 0:
        args.timeout = 60
    return cmd_run(args) if args.mode == "run" else cmd_test(args)


if __name__ == "__main__":
    sys.exit(main())
