#!/bin/sh
# execd: prints one line and crashes; each start appends to the file $1.
echo start >> "$1"
echo "crashy up=1i"
echo 'about to crash' >&2
exit 1
