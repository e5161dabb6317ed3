"""What the Linux personality's host-side harnesses share (linux_diff.py,
linux_ash.py): the folder of programs their host runs put on PATH, as the
disk image's /bin holds them, and Mica booted on a private copy of the disk
with its serial console on pipes, through tools/qemu.py's one command line."""

import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
import qemu  # noqa: E402


def program_folder(build, folder):
    """FOLDER with a link per busybox applet, and lua and sqlite3, to the build's Debian binaries."""
    busybox = os.path.realpath(os.path.join(build, "debian", "busybox"))
    os.makedirs(folder, exist_ok=True)
    applets = subprocess.run([busybox, "--list"], check=True, stdout=subprocess.PIPE, text=True).stdout.split()
    links = {applet: busybox for applet in applets}
    for program in ("lua", "sqlite3"):
        links[program] = os.path.realpath(os.path.join(build, "debian", program))
    for name, target in links.items():
        link = os.path.join(folder, name)
        if not os.path.lexists(link):
            os.symlink(target, link)
    return folder


def start_mica(build, tmp):
    """QEMU booting the build's ISO with a private copy of its disk in TMP; stdin and stdout are the console."""
    # MICA_SMP=N runs the same tests on N CPUs.
    args = argparse.Namespace(machine="pc", memory="256M", smp=int(os.environ.get("MICA_SMP", "1")), gui=False,
                              kvm=False, icount=False, uefi=False,
                              disk=None, disk_copy=os.path.join(build, "disk.img"), debug=False, qemu_arg=None)
    cmd = qemu.build_command(args, os.path.join(build, "mica.iso"), tmp, ["-monitor", "none", "-serial", "stdio"])
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            preexec_fn=qemu.die_with_parent)
