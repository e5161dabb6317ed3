# Pipelines and exit statuses.
printf 'pear\napple\nfig\napple\n' | sort | uniq -c | sort -rn | head -n 2
echo hello world | tr a-z A-Z | rev
seq 1 10 | paste -sd+ | bc 2>/dev/null || seq 1 10 | awk '{s+=$1} END {print s}'
false | true; echo "status of the last: $?"
true | false; echo "status of the last: $?"
echo abc | { read x; echo "read $x"; }
