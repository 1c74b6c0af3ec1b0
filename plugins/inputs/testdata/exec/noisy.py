#!/usr/bin/env python3
"""execd with signal = "none": garbage and good lines, then stays up until stdin closes."""
import sys

for i in range(3):
    print("<<garbage>>")
    print(f"good n={i}i")
sys.stdout.flush()
sys.stdin.read()
