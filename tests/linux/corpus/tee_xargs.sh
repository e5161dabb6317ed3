# tee, xargs, find, test.
echo fan out | tee copy1 copy2 > /dev/null
cat copy1 copy2
printf 'x\ny\nz\n' | xargs echo args:
mkdir -p tree/sub; touch tree/one tree/sub/two
find tree -type f | sort
test 3 -gt 2 && echo "3 > 2"
[ abc = abc ] && [ -n abc ] && [ -z "" ] && echo strings
