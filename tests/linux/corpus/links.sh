# Symbolic links: at the end of a path and in the middle of one, relative
# and absolute-free (relative targets only, so the script runs anywhere),
# chains of them, and links to what is not there.
mkdir -p real/inner
echo hello > real/inner/file
ln -s real alias
ln -s alias chain
ln -s inner real/short
cat alias/inner/file
cat chain/inner/file
cat alias/short/file
ls alias/inner
echo more >> chain/inner/file
cat real/inner/file
mkdir alias/made
touch chain/made/new
ls real/made
mv alias/made/new alias/made/renamed
ls real/made
rm chain/made/renamed
rmdir alias/made
ls real | sort
ln -s nowhere dangling
cat dangling/x 2>/dev/null || echo "dangling: no"
cat real/inner/file/x 2>/dev/null || echo "file in the middle: no"
[ -d alias/inner ] && echo "alias/inner is a directory"
[ -L alias ] && echo "alias is a link"
readlink chain
cd alias/inner && cat file && cd ../..
ln -s loop1 loop2; ln -s loop2 loop1
cat loop1/x 2>/dev/null || echo "loop: no"
