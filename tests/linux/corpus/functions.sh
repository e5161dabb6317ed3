# Functions: arguments, locals, recursion, return values.
fact() { if [ $1 -le 1 ]; then echo 1; else echo $(( $1 * $(fact $(( $1 - 1 ))) )); fi; }
fact 6
count() { local n=0; for a in "$@"; do n=$((n + 1)); done; echo $n; }
count a "b c" d
g=global; h() { local g=local; echo $g; }; h; echo $g
fib() { [ $1 -lt 2 ] && echo $1 && return; echo $(( $(fib $(($1-1))) + $(fib $(($1-2))) )); }
fib 10
