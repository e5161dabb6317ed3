#!/usr/bin/env bash
# printf 'ps\nls initfs:/bin\npoweroff\n' | ./mica run shows the process list
# and the programs, and exits 0.
set -u
root=$1
out=$(printf 'ps\nls initfs:/bin\npoweroff\n' | timeout 240 "$root/mica" run --timeout 200 2>&1)
status=$?
echo "$out"
fail=0
[[ $status -eq 0 ]] || { echo "FAIL: ./mica run exited $status"; fail=1; }
for want in "1 init +running" "ns +running" "log +running" "console +running" "shell +running" "uart +[0-9]+" "initfs +[0-9]+"; do
    grep -Eq "$want" <<<"$out" || { echo "FAIL: output lacks /$want/"; fail=1; }
done
exit $fail
