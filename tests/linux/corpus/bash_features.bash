# The same binary family in bash: arrays, [[ ]], brace expansion, (( )).
a=(zero one two); echo ${a[1]} ${#a[@]}
[[ abc == a* ]] && echo glob-match
echo {1..4} x{a,b}y
(( n = 6 * 7 )); echo $n
declare -A m; m[k]=v; echo ${m[k]}
s="Hello"; echo ${s,,} ${s^^}
printf -v out '%03d' 7; echo $out
for ((i = 0; i < 3; i++)); do echo -n "$i"; done; echo
echo $(( 2 ** 16 ))
