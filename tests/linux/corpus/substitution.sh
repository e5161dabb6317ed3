# Command substitution, arithmetic, parameters.
x=$(echo inner)
echo "got $x and $(echo $(echo nested))"
n=5; echo $((n * n + 1)) $((7 / 2)) $((7 % 3)) $((1 << 4))
s=abcdef; echo ${#s} ${s#ab} ${s%ef} ${s:-unset} ${undefined:-default}
set -- a b c; echo "$# $1 $3 $*"
echo "${s}" | cut -c2-4
