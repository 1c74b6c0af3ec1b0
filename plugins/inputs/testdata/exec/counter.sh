#!/bin/sh
# execd with signal = "STDIN": one line per newline received, exits when stdin closes.
n=0
while IFS= read -r _; do
    echo "counter count=${n}i"
    n=$((n + 1))
done
