#!/bin/sh
# A Prometheus text exposition page.
cat <<'PAGE'
# HELP jobs_total Jobs done.
# TYPE jobs_total counter
jobs_total{queue="a"} 3
jobs_total{queue="b"} 4 1700000000000
# TYPE temperature gauge
temperature 21.5
PAGE
