# Files and directories, made and listed in the test's own directory.
mkdir -p d/e
touch d/a d/b d/e/c
ls d | sort
ls d/e
echo data > d/a
cp d/a d/copy; cat d/copy
mv d/copy d/moved; ls d | sort
rm d/moved; ls d | wc -l
rmdir d/e 2>/dev/null || echo "not empty"
rm d/e/c; rmdir d/e; ls d | sort
[ -e d/e ] || echo "gone"
