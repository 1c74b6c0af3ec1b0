#!/bin/sh
# Starts a grandchild that would outlive us, records its pid in $1, then hangs.
sleep 300 &
echo $! > "$1"
echo 'partial v=1i'
sleep 300
