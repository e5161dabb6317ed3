# Signals: handlers (traps) run by signal delivery, default actions, masks.
trap 'echo caught USR1' USR1
kill -USR1 $$
echo after usr1
kill -USR1 $$; kill -USR1 $$
echo twice
trap - USR1
sh -c 'kill -TERM $$; echo not reached'; echo "default TERM: $?"
sh -c 'trap "echo term caught; exit 9" TERM; kill -TERM $$; echo not reached'; echo "trapped TERM: $?"
sh -c 'trap "" INT; kill -INT $$; echo ignored INT'; echo "ignored: $?"
sh -c 'kill -KILL $$'; echo "KILL: $?"
