#!/bin/sh
# Prints a valid line, then fails.
echo 'failed v=1i 1'
exit 3
