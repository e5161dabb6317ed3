# Globs.
touch a1.txt a2.txt b1.txt c.log
echo *.txt
echo a?.txt
echo [ab]1.*
echo *.none
for f in *.log; do echo "log: $f"; done
