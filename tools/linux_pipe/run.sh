#!/usr/bin/env bash
# Measures a Linux pipe round trip in the QEMU configuration Mica's
# benchmarks use (TCG, -cpu max, -icount shift=0), for comparison with
# `bench ipc.call_reply.same_core`. On demand only (it downloads Debian's
# kernel package, about 70 MB): not part of ./mica test or ./mica bench.
#
#   tools/linux_pipe/run.sh [tcp]
#
# With `tcp`: a 1-byte TCP round trip over Linux's loopback instead
# (tcp_pingpong.c), for comparison with `bench net.tcp.rr`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/kernel.sh"
program=pipe_pingpong
[[ ${1:-} == tcp ]] && program=tcp_pingpong
gcc -O2 -static -o init "$here/$program.c"
python3 "$here/make_initramfs.py" init initramfs.cpio
kernel=$(ls boot/vmlinuz-* | head -n 1)
# Linux does not power QEMU off from an initramfs /init reliably: stop it
# once the figures are out.
timeout 900 qemu-system-x86_64 -accel tcg -cpu max -m 256M -display none -no-reboot -monitor none \
    -serial stdio -kernel "$kernel" -initrd initramfs.cpio -append "console=ttyS0 quiet panic=-1" \
    -icount shift=0 2>/dev/null |
    while IFS= read -r line; do
        case $line in
            bench*) echo "${line%ticks*}instructions" | tr -d '\r' ;;
        esac
        case $line in *roundtrip.max*|*tcp_rr.max*) pkill -f "initrd initramfs.cpio" || true; break ;; esac
    done
