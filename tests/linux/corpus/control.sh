# Loops, conditions, case, functions.
for i in 1 2 3; do printf '%s ' "$i"; done; echo
i=0; while [ $i -lt 3 ]; do i=$((i + 1)); done; echo "while: $i"
until [ $i -eq 0 ]; do i=$((i - 1)); done; echo "until: $i"
square() { echo $(( $1 * $1 )); }
square 12
for w in apple 12 x; do
  case $w in
    [0-9]*) echo "$w: number" ;;
    a*) echo "$w: a-word" ;;
    *) echo "$w: other" ;;
  esac
done
if [ -d / ] && ! [ -f / ]; then echo "/ is a directory"; fi
f() { return 3; }; f; echo "returned $?"
