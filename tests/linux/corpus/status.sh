# Exit status of the whole script, after a failed command in a pipeline.
ls /no/such/dir 2>/dev/null | wc -l
cat missing 2>/dev/null
echo "cat: $?"
exit 5
