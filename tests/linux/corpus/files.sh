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
# Modes: mkdir's (less the umask) and chmod's, as ls shows them.
mkdir -m 700 private; ls -ld private | cut -c1-10
umask 077; mkdir shut; ls -ld shut | cut -c1-10; umask 022
mkdir open; ls -ld open | cut -c1-10
chmod 640 d/a; ls -l d/a | cut -c1-10
