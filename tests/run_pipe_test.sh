#!/usr/bin/env bash
# What a newcomer types: commands piped into ./mica run show the process
# list, the programs, the disk's files and a file on it, and it exits 0.
set -u
root=$1
out=$(printf 'ps\nls initfs:/bin\nls -l file:/\ncat file:/README\npoweroff\n' | timeout 240 "$root/mica" run --timeout 200 2>&1)
status=$?
echo "$out"
fail=0
[[ $status -eq 0 ]] || { echo "FAIL: ./mica run exited $status"; fail=1; }
for want in "1 init +running" "ns +running" "log +running" "console +running" "disk +running" "file +running" \
            "shell +running" "uart +[0-9]+" "initfs +[0-9]+" "-rw-r--r-- +1 +[0-9]+ .* README" "docs/" \
            "This file lives on an ext2 file system on a virtio disk"; do
    grep -Eq -- "$want" <<<"$out" || { echo "FAIL: output lacks /$want/"; fail=1; }
done
exit $fail
