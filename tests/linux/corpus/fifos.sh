# Named pipes: mkfifo, a writer in the background and a reader here (each
# open waits for the other), a reader in the background, both ends on one
# descriptor (<>), test -p, ls's type letter, and the name gone with rm.
mkfifo queue
[ -p queue ] && echo "queue is a FIFO"
[ -f queue ] || echo "and not a regular file"
ls -l queue | cut -c1
printf 'pear\napple\nfig\n' > queue &
sort < queue
wait
cat queue > got &
for word in one two three; do echo "$word"; done > queue
wait
cat got
(exec 3<>queue; echo both >&3; read -r line <&3; echo "read back: $line")
mkfifo -m 600 private
ls -l private | cut -c1-10
rm queue private got
ls
