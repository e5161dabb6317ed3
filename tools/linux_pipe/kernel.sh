# Sourced by run.sh and net_throughput.sh: enters the work folder
# (${MICA_LINUX_WORK:-/tmp/mica-linux-pipe}) and unpacks Debian's kernel
# package there (linux-image-amd64's dependency, about 70 MB) unless it is
# there already.
work=${MICA_LINUX_WORK:-/tmp/mica-linux-pipe}
mkdir -p "$work"
cd "$work"
if ! ls boot/vmlinuz-* >/dev/null 2>&1; then
    package=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
    apt-get download "$package" >/dev/null 2>&1
    dpkg-deb -x linux-image-*.deb .
fi
