#!/usr/bin/env python3
"""Make a symbolic link to busybox for each of its applets.

    busybox_links.py BUSYBOX DIR

Runs BUSYBOX --list on the host and makes DIR/APPLET -> busybox for every
applet that DIR does not already hold (as Debian's busybox-static installs
them), so that `sh`, `ls`, `wc`... name busybox on the disk image.
"""

import os
import subprocess
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    busybox, directory = sys.argv[1], sys.argv[2]
    applets = subprocess.run([busybox, "--list"], check=True, stdout=subprocess.PIPE, text=True).stdout.split()
    for applet in applets:
        link = os.path.join(directory, applet)
        if not os.path.lexists(link):
            os.symlink("busybox", link)


if __name__ == "__main__":
    main()
