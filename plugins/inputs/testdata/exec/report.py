#!/usr/bin/env python3
"""JSON objects: a measurement name, a tag, a time in milliseconds, nested values."""
import json

print(json.dumps([
    {"name": "disk", "device": "sda", "ts": 1700000000123,
     "used": 10, "io": {"reads": 5, "busy": True}, "note": "ignored"},
    {"name": "disk", "device": "sdb", "ts": 1700000000123, "used": 20.5},
], indent=2))
