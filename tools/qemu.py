#!/usr/bin/env python3
"""The one place that knows how Mica is run in QEMU.

    qemu.py run  [options]                  boot with the serial console on stdio
    qemu.py test [options] STEPS...         boot, drive the serial console, check it
    qemu.py test [options] --script FILE    the same, with the steps in a file

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

A script (--script FILE; the QEMU tests are tests/qemu/scripts/*.txt) holds
the same steps, one a line, in the order they run, and the boot set-up:
    send TEXT          TEXT's backslash escapes are Python's: \\n \\t \\x03 \\x1b ...
    sendkey TEXT       the same, typed on the PS/2 keyboard
    expect REGEX       the regular expression as written (\\. is a literal dot)
    reject REGEX       (anywhere in the file: it applies to the whole run)
    exit success|failure|any     (success if the script does not say)
    timeout SECONDS    (60 if the script does not say)
    cmdline TEXT       boot with this kernel command line
    disk none|copy|large|ext4    a private copy of the build directory's
                       disk.img (copy), disk-large.img (large) or
                       disk-ext4.img (ext4); none: no disk
    uefi               boot through OVMF instead of BIOS
    memory SIZE        the machine's memory (256M if the script does not say)
    machine pc|q35     the machine type (pc if the script does not say)
    smp N              N CPUs (1 if the script does not say)
    net none|user      a network card on QEMU's user networking (user), or
                       none (none if the script does not say)
One space separates the word from its text, and the text is the rest of the
line, spaces included (`expect mica> ` waits for the prompt and its space).
A line starting with '#' is a comment; blank lines are ignored. What the
script sets up may not be given on the command line as well.
"""
import argparse
import codecs
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


def free_port():
    """A TCP port on the host's loopback that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def network_args(net, port=None, guestfwd=None):
    """The network card: none unless asked (QEMU's default one would cost
    firmware time, its option ROM, on every boot). `user`: a virtio-net card
    on QEMU's user networking, restricted to the host (restrict=on: the
    guest reaches no one but QEMU's own gateway, DHCP and DNS), with a free
    port on the host's loopback forwarded to the guest's port 80 (`port`:
    that one; None: a free one), and `guestfwd` (such as
    "tcp:10.0.2.100:80-tcp:127.0.0.1:8080") sending the guest's connections
    to an address of QEMU's network on to one of the host's loopback.
    No option ROM (romfile=): iPXE would cost every boot firmware time.

    The card sits in PCI slot 5: on both machines, through both firmwares,
    slots 3, 4 and 7 share IRQ 11 with the disk (slot 3, or 2 on q35) while
    slots 5 and 6 get IRQ 10. `shared` puts it in slot 4, for the test of
    two drivers on one level-triggered line."""
    if net not in ("user", "shared"):
        return ["-nic", "none"]
    # shared: slot 4, on IRQ 11 with the disk (level-triggered lines shared).
    slot = 4 if net == "shared" else 5
    port = port or free_port()
    print(f"qemu: network: 127.0.0.1:{port} on the host reaches port 80 in Mica", file=sys.stderr, flush=True)
    forward = f",guestfwd={guestfwd}" if guestfwd else ""
    return ["-netdev", f"user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:{port}-:80{forward}",
            "-device", f"virtio-net-pci,netdev=net0,disable-legacy=on,addr={slot},romfile="]


def build_command(args, iso, workdir, serial):
    cmd = ["qemu-system-x86_64", "-machine", args.machine, "-m", args.memory, "-smp", str(args.smp),
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
    # boottime.py and linux_host.py make their own args, without these.
    cmd += network_args(getattr(args, "net", None), getattr(args, "net_port", None),
                        getattr(args, "net_guestfwd", None))
    cmd += serial + coverage_args()
    if args.debug:
        cmd += ["-s", "-S"]
    return cmd + (args.qemu_arg or [])


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
    if status < 0:
        return 3, f"QEMU itself died of signal {-status}"
    return 3, f"QEMU exited with status {status} without a report from the kernel (triple fault or reset?)"


def die_with_parent():
    """Popen's preexec_fn for QEMU: it ends when the harness that started it
    does (PR_SET_PDEATHSIG), so a test killed at its timeout by ctest leaves
    no QEMU behind, running on."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


def run_piped(cmd, timeout):
    """Input from a pipe waits until the shell's first prompt: the firmware
    (OVMF reads the serial line too) and the boot loader would otherwise eat
    it. Output is passed through as it comes."""
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, preexec_fn=die_with_parent)
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


class ScriptError(Exception):
    pass


# A script's disk lines: which of the build directory's images is copied.
SCRIPT_DISKS = {"none": None, "copy": "disk.img", "large": "disk-large.img", "ext4": "disk-ext4.img"}
MACHINES = ("pc", "q35")
NETWORKS = ("none", "user", "shared")
MEMORY_SIZE = re.compile(r"[1-9][0-9]*[MG]")


def unescape(text):
    """A --send or send line's text as typed: its backslash escapes
    (\\n, \\x03, ...) interpreted as Python's."""
    return text.encode().decode("unicode_escape")


def read_script(path):
    """A test script (see the top of this file) as (steps, rejects, setup):
    steps are (kind, text, where) in file order, kind send, sendkey or
    expect, `where` its FILE:LINE; setup maps cmdline, uefi, disk, timeout
    and exit to what the script says. A line that is not understood is a
    ScriptError, never skipped: a mistyped step must not pass unnoticed."""
    steps, rejects, setup = [], [], {}
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for number, line in enumerate(lines, 1):
        where = f"{path}:{number}"
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        word, _, text = line.partition(" ")
        if word in ("send", "sendkey", "expect", "reject") and not text:
            raise ScriptError(f"{where}: '{word}' needs its text")
        if word in ("send", "sendkey"):
            try:
                unescape(text)
            except UnicodeDecodeError as e:
                raise ScriptError(f"{where}: bad escape in {text!r}: {e.reason}")
            steps.append((word, text, where))
            continue
        if word in ("expect", "reject"):
            try:
                re.compile(text, re.M)
            except re.error as e:
                raise ScriptError(f"{where}: bad regular expression {text!r}: {e}")
            if word == "expect":
                steps.append((word, text, where))
            else:
                rejects.append(text)
            continue
        if word not in ("cmdline", "uefi", "disk", "timeout", "exit", "memory", "machine", "smp", "net"):
            raise ScriptError(f"{where}: unknown line {line!r}")
        if word in setup:
            raise ScriptError(f"{where}: a second '{word}' line")
        if word == "uefi":
            if text:
                raise ScriptError(f"{where}: 'uefi' takes nothing after it")
            setup[word] = True
        elif word == "cmdline":
            if not text:
                raise ScriptError(f"{where}: 'cmdline' needs the command line")
            setup[word] = text
        elif word == "disk":
            if text not in SCRIPT_DISKS:
                raise ScriptError(f"{where}: 'disk' wants none, copy, large or ext4, not {text!r}")
            setup[word] = text
        elif word == "memory":
            if not MEMORY_SIZE.fullmatch(text):
                raise ScriptError(f"{where}: 'memory' wants a size such as 32M or 4G, not {text!r}")
            setup[word] = text
        elif word == "machine":
            if text not in MACHINES:
                raise ScriptError(f"{where}: 'machine' wants pc or q35, not {text!r}")
            setup[word] = text
        elif word == "net":
            if text not in NETWORKS:
                raise ScriptError(f"{where}: 'net' wants none or user, not {text!r}")
            setup[word] = text
        elif word == "smp":
            if not text.isdigit() or not 1 <= int(text) <= 16:
                raise ScriptError(f"{where}: 'smp' wants a number of CPUs from 1 to 16, not {text!r}")
            setup[word] = int(text)
        elif word == "timeout":
            try:
                seconds = float(text)
            except ValueError:
                seconds = 0
            if not seconds > 0:
                raise ScriptError(f"{where}: 'timeout' wants a number of seconds, not {text!r}")
            setup[word] = seconds
        elif word == "exit":
            if text not in ("success", "failure", "any"):
                raise ScriptError(f"{where}: 'exit' wants success, failure or any, not {text!r}")
            setup[word] = text
    return steps, rejects, setup


def apply_script(args):
    """Takes the steps and set-up of args.script into args, as if they had
    been given on the command line; what both say is an error."""
    steps, rejects, setup = read_script(args.script)
    if args.steps:
        raise ScriptError(f"{args.script} holds the steps: no --expect, --send or --sendkey as well")
    args.steps = steps
    args.reject = (args.reject or []) + rejects
    given = {"cmdline": bool(args.cmdline), "uefi": args.uefi, "disk": bool(args.disk or args.disk_copy),
             "timeout": args.timeout > 0, "exit": args.exit is not None,
             "memory": args.memory is not None, "machine": args.machine is not None,
             "smp": args.smp is not None, "net": args.net is not None}
    for word, value in setup.items():
        if given[word]:
            raise ScriptError(f"{args.script} sets '{word}', and so does the command line")
        if word == "disk":
            if SCRIPT_DISKS[value] is None:
                continue
            if not args.build:
                raise ScriptError(f"{args.script}: 'disk {value}' needs --build (the directory of the disk images)")
            args.disk_copy = os.path.join(args.build, SCRIPT_DISKS[value])
        else:
            setattr(args, word, value)


def place(step):
    """ (FILE:LINE) for a script's step, nothing for the command line's."""
    return f" ({step[2]})" if step[2] else ""


def show_qemu_notes(path):
    """What QEMU logged besides the register dumps of the CPU resets every
    boot makes: "Triple fault" (x86 logs it under cpu_reset) and guest errors
    (a device misused)."""
    try:
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return
    dump = re.compile(r"^(CPU Reset|[A-Z][A-Z0-9]*\s*=|\s*$)")
    notes = [line for line in lines if not dump.match(line)]
    if notes:
        print("\nQEMU logged (-d cpu_reset,guest_errors):")
        for line in notes[-20:]:
            print("  " + line)


# QEMU itself died of a signal. QEMU 7.2 (Debian 12) has a race in its
# multi-threaded TCG: a vCPU doing MMIO while another changes the memory map
# (a PCI BAR sized at the disk's claim) can dereference a stale I/O TLB entry
# and crash QEMU (SIGSEGV in memory_region_dispatch_write, about one boot in
# a hundred with -smp 4 on a busy host; fixed upstream in QEMU 8.1, where
# tcg_commit runs on each vCPU's own thread). That is no verdict on Mica, so
# such a run is repeated, once, and said so.
QEMU_CRASHED = -1


def emulator_crashed(status):
    """Whether a QEMU exit status is a crash of QEMU itself (a signal)."""
    return status is not None and status < 0


def cmd_test(args):
    result = run_test_once(args)
    if result == QEMU_CRASHED:
        print("\nqemu: QEMU itself crashed (a signal, not a guest exit): a QEMU bug; running the test again")
        result = run_test_once(args)
    if result == QEMU_CRASHED:
        print("TEST FAILED: QEMU crashed twice")
        return 1
    return result


def run_test_once(args):
    steps = args.steps or []
    with tempfile.TemporaryDirectory(prefix="mica-test-") as workdir:
        iso = prepare_iso(args, workdir)
        monitor_path = os.path.join(workdir, "monitor.sock")
        keys = any(kind == "sendkey" for kind, _, _ in steps)
        monitor = ["-monitor", f"unix:{monitor_path},server=on,wait=off"] if keys else ["-monitor", "none"]
        cmd = build_command(args, iso, workdir, ["-serial", "stdio", *monitor])
        # What QEMU says of the guest: a triple fault (with -no-reboot QEMU
        # then just exits) or a device misused, printed if the output ends early.
        reset_log = os.path.join(workdir, "qemu.log")
        cmd += ["-d", "cpu_reset,guest_errors", "-D", reset_log]
        print("qemu:", " ".join(cmd), flush=True)
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent)
        deadline = time.monotonic() + args.timeout
        output = ""      # everything so far
        cursor = 0       # where the next --expect starts looking
        captured = {}    # named groups of the expects so far, for @{name}
        failure = None
        step = 0
        rejects = [re.compile(r) for r in args.reject or []]
        eof = False
        monitor_socket = None
        # Incremental: a UTF-8 character split between two reads stays whole.
        decoder = codecs.getincrementaldecoder("utf-8")("replace")

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
            for c in unescape(text):
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
            text = decoder.decode(chunk).replace("\r", "")
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
                kind, value, _ = steps[step]
                if kind == "sendkey":
                    send_keys(value)
                    step += 1
                    continue
                if kind == "send":
                    try:
                        proc.stdin.write(unescape(value).encode("latin-1"))
                        proc.stdin.flush()
                    except BrokenPipeError:
                        failure = "QEMU closed its input"
                    step += 1
                    continue
                # @{name}: what an earlier expect caught in (?P<name>...).
                value = re.sub(r"@\{(\w+)\}", lambda g: re.escape(captured.get(g.group(1), "\0")), value)
                m = re.compile(value, re.M).search(output, cursor)
                if m:
                    captured.update({k: v for k, v in m.groupdict().items() if v is not None})
                    cursor = m.end()
                    step += 1
                    continue
            elif eof:
                break
            if eof:
                failure = f"output ended before matching {steps[step][1]!r}{place(steps[step])}"
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                what = (f"waiting for {steps[step][1]!r}{place(steps[step])}" if step < len(steps)
                        else "waiting for QEMU to exit")
                failure = f"timed out after {args.timeout} s {what}"
                break
            read_some(min(remaining, 0.5))

        if args.transcript:
            with open(args.transcript, "w") as f:
                f.write(output)
        if failure:
            if eof:
                try:
                    status = proc.wait(timeout=10)
                    print(f"\nqemu: {describe(status)[1]}")
                    if emulator_crashed(status):
                        return QEMU_CRASHED
                except subprocess.TimeoutExpired:
                    pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
            if eof:
                show_qemu_notes(reset_log)
            print(f"\nTEST FAILED: {failure}")
            return 1
        status = proc.wait()
        code, text = describe(status)
        print(f"\nqemu: {text}")
        if emulator_crashed(status):
            return QEMU_CRASHED
        wanted = {"success": [0], "failure": [1], "any": [0, 1, 3]}[args.exit]
        if code not in wanted:
            print(f"TEST FAILED: expected the run to end in {args.exit}")
            return 1
        print("TEST PASSED")
        return 0


class StepAction(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        steps = getattr(namespace, "steps", None) or []
        steps.append((self.dest.split("_")[1], values, None))
        namespace.steps = steps


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["run", "test"])
    parser.add_argument("--build", help="the build directory: --iso and --image default to its mica.iso and "
                        "image/, and a script's disk lines copy its disk images")
    parser.add_argument("--iso", help="boot image")
    parser.add_argument("--image", help="image folder, to remake the ISO with --cmdline")
    parser.add_argument("--cmdline", default="", help="boot with this kernel command line")
    parser.add_argument("--uefi", action="store_true", help="boot through OVMF instead of BIOS")
    parser.add_argument("--kvm", action="store_true", help="hardware virtualisation (real KVM hosts only)")
    parser.add_argument("--icount", action="store_true", help="-icount shift=0: TSC counts instructions")
    parser.add_argument("--smp", type=int, help="number of CPUs (default 1)")
    parser.add_argument("--memory", help="the machine's memory, such as 32M or 4G (default 256M)")
    parser.add_argument("--machine", choices=MACHINES, help="QEMU's machine type (default pc)")
    parser.add_argument("--qemu-arg", action="append", metavar="ARG",
                        help="pass ARG to QEMU as it is, after Mica's own options (repeatable)")
    parser.add_argument("--timeout", type=float, default=0, help="seconds; 0 means none (run) or 60 (test)")
    parser.add_argument("--debug", action="store_true", help="wait for gdb on localhost:1234")
    parser.add_argument("--gui", action="store_true", help="show the VGA display too (serial stays the console)")
    parser.add_argument("--net", choices=NETWORKS, help="user: a virtio-net card on QEMU's user networking, "
                        "restricted to the host, a free port of its loopback forwarded to port 80 (printed); "
                        "none: no network card (the default)")
    parser.add_argument("--net-guestfwd", metavar="RULE", help="with --net user: QEMU's guestfwd rule, such as "
                        "tcp:10.0.2.100:80-tcp:127.0.0.1:8080 (Mica's connections to 10.0.2.100:80 reach the host's "
                        "127.0.0.1:8080)")
    parser.add_argument("--disk", help="attach this raw disk image (virtio-blk), written in place")
    parser.add_argument("--disk-copy", help="attach a private copy of this disk image")
    parser.add_argument("--transcript", help="test: save the serial output in this file")
    parser.add_argument("--expect", dest="step_expect", action=StepAction)
    parser.add_argument("--send", dest="step_send", action=StepAction)
    parser.add_argument("--sendkey", dest="step_sendkey", action=StepAction,
                        help="type on the PS/2 keyboard (through QEMU's monitor)")
    parser.add_argument("--reject", action="append")
    parser.add_argument("--exit", choices=["success", "failure", "any"], help="how the run must end (success)")
    parser.add_argument("--script", help="test: the steps and set-up in a file, one a line")
    parser.set_defaults(steps=None)
    args = parser.parse_args()
    if args.build:
        args.iso = args.iso or os.path.join(args.build, "mica.iso")
        args.image = args.image or os.path.join(args.build, "image")
    if not args.iso:
        parser.error("--iso or --build is needed")
    if args.script:
        if args.mode != "test":
            parser.error("--script is for test")
        try:
            apply_script(args)
        except (ScriptError, OSError) as e:
            parser.error(str(e))
    args.exit = args.exit or "success"
    args.memory = args.memory or "256M"
    args.machine = args.machine or "pc"
    args.smp = args.smp or 1
    args.net = args.net or "none"
    if not MEMORY_SIZE.fullmatch(args.memory):
        parser.error(f"--memory wants a size such as 32M or 4G, not {args.memory!r}")
    if args.cmdline and not args.image:
        parser.error("--cmdline needs --image")
    if args.mode == "test" and args.timeout <= 0:
        args.timeout = 60
    return cmd_run(args) if args.mode == "run" else cmd_test(args)


if __name__ == "__main__":
    sys.exit(main())
