# Traps that the shell runs itself, and exit statuses.
trap 'echo "exit trap ran"' EXIT
echo working
(trap 'echo sub exit' EXIT; echo in sub)
sh -c 'exit 42'; echo "child said $?"
sh -c 'false'; echo "false: $?"
exit 3
