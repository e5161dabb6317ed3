#!/usr/bin/env bash
# The ./mica command line refuses what it does not know: usage and exit 2.
set -u
mica="$1"
fail=0
expect() {
    local want=$1; shift
    "$mica" "$@" >/tmp/mica-cli.$$ 2>&1
    local got=$?
    if [[ $got -ne $want ]] || ! grep -q "usage: ./mica" /tmp/mica-cli.$$; then
        echo "FAIL: ./mica $* exited $got (wanted $want, with usage)"
        fail=1
    else
        echo "ok: ./mica $* -> $got"
    fi
}
expect 0
expect 0 help
expect 2 frobnicate
expect 2 run --frobnicate
expect 2 test --frobnicate
expect 2 bench --frobnicate
expect 2 fuzz --frobnicate
expect 2 faults --frobnicate
expect 2 faults --count
expect 2 run --disk
expect 2 run --smp
expect 2 run --memory
expect 2 run --machine
expect 2 run --qemu-arg
expect 2 boottime --frobnicate
rm -f /tmp/mica-cli.$$
exit $fail
