#!/usr/bin/env bash
# Measures TCP throughput between the host and a Linux guest in the QEMU
# configuration of Mica's network figures (tests/net_test.py: -machine pc,
# -m 256M, TCG with -cpu max and no -icount, and tools/qemu.py's
# network_args for `--net user`: one virtio-net-pci card, disable-legacy=on,
# on user networking with restrict=on, a free port of the host's 127.0.0.1
# forwarded to the guest's port 80), so that Mica's MiB/s can be given as a
# ratio to Linux's. On demand only (it downloads Debian's kernel package,
# about 70 MB, into ${MICA_LINUX_WORK:-/tmp/mica-linux-pipe} unless it is
# there already): not part of ./mica test or ./mica bench.
#
#   tools/linux_pipe/net_throughput.sh [--size MIB] [--runs N]
#
# The guest's /init is tcp_stream.c (static), with the kernel modules the
# card needs in the initramfs (virtio_net and virtio_pci are modules in
# Debian's kernel; they and what their modinfo says they depend on, loaded in
# dependency order). net_throughput.py boots it, waits until it answers on
# the forwarded port, then times SIZE MiB (default 32) RUNS times (default 5)
# each way, both through the hostfwd (the host connects, always):
#   bench linux_guest.tcp.to_host.{median,min,max}    guest sends, host reads
#   bench linux_guest.tcp.from_host.{median,min,max}  host sends, guest reads
# (Mica's host->Mica figure in net_test.py is measured the other way round:
# Mica's fetch connects out through a guestfwd to an HTTP server on the host.)
# By the clock, so the load of the host shows in it. About a minute in all.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/kernel.sh"
kernel=$(ls boot/vmlinuz-* | head -n 1)
version=${kernel#boot/vmlinuz-}
modules=lib/modules/$version
gcc -O2 -static -o net-init "$here/tcp_stream.c"

# The modules, each after those it depends on (modinfo's depends= read from
# the module itself: no kmod needed); .ko.xz ones decompressed here, since
# /init loads them with finit_module and no decompression.
rm -rf net-modules
mkdir net-modules
declare -A seen=()
order=()
add_module() {
    local name=$1 file dep
    [[ -n ${seen[$name]:-} ]] && return
    seen[$name]=1
    if grep -Eq "/${name//_/[_-]}\.ko$" "$modules/modules.builtin"; then
        return  # built into the kernel
    fi
    file=$(find "$modules" -regextype posix-extended -regex ".*/${name//_/[_-]}\.ko(\.xz)?" | head -n 1)
    [[ -n $file ]] || { echo "net_throughput: no module $name under $modules" >&2; exit 1; }
    case $file in
        *.xz) xz -dc "$file" >"net-modules/$name.ko" ;;
        *) cp "$file" "net-modules/$name.ko" ;;
    esac
    for dep in $(tr '\0' '\n' <"net-modules/$name.ko" | sed -n 's/^depends=//p' | tr ',' ' '); do
        add_module "$dep"
    done
    order+=("$name.ko")
}
add_module virtio_pci  # the PCI transport
add_module virtio_net
echo "net_throughput: kernel $version, modules in load order: ${order[*]}" >&2
python3 "$here/make_initramfs.py" net-init net-initramfs.cpio "${order[@]/#/net-modules/}"
exec python3 "$here/net_throughput.py" --kernel "$kernel" --initrd net-initramfs.cpio "$@" "${order[@]}"
