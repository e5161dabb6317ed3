# Text applets.
printf 'b 2\na 1\nc 3\n' > t
sort t | cut -d' ' -f1 | tr -d '\n'; echo
sort -k2 -n -r t | head -n 1
grep -c . t
grep -n 'a' t
sed -n '2p' t
sed 's/[0-9]/N/g' t | tail -n 1
awk '{ sum += $2 } END { print "sum", sum }' t
awk -F' ' '$2 > 1 { print $1 }' t | sort
printf '%05d|%-4s|%x\n' 42 ab 255
echo "a,b,,c" | tr ',' '\n' | grep -v '^$' | wc -l
expr 6 \* 7
basename /a/b/c.txt .txt; dirname /a/b/c.txt
echo hello | od -c | head -n 1
echo hello | md5sum
seq 3 | tac
yes | head -n 3
fold -w 3 <<END
abcdefgh
END
