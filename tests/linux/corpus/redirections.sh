# Redirections: >, >>, <, 2>&1, and a here-document.
echo one > f
echo two >> f
cat < f
wc -l < f
ls nonexistent 2>&1 | sed 's/:.*//' | head -n 1
cat <<END
here $((1 + 2)) document
END
cat <<'END'
literal $HOME
END
exec 3> g; echo via three >&3; exec 3>&-; cat g
