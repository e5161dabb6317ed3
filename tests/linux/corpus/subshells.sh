# Subshells and grouping keep or share state as they should.
x=outer
(x=inner; echo "in: $x")
echo "out: $x"
{ x=grouped; }; echo "after group: $x"
(exit 7); echo "subshell status $?"
(cd /; pwd); pwd | sed 's|.*/||'
echo $( (echo deep) )
