#!/usr/bin/env bash
# The issue-4 workload for inputs.tail: 1,000,000 CRI lines of about 200 bytes over 10 pods,
# tailed from the head through the disk buffer into outputs.file. Prints lines/s, MB/s, CPU
# seconds (utime+stime of the agent) and peak RSS (VmHWM). Needs the release binary:
#   cargo build --release -p gleaner && plugins/inputs/benches/tail_1m.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
bin="${GLEANER_BIN:-$root/target/release/gleaner}"
work="$(mktemp -d)"
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
pods=10 per=100000
python3 - "$work" "$pods" "$per" <<'PY'
import os, sys
work, pods, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
pad = "x" * 200
for p in range(pods):
    d = f"{work}/pods/bench_pod{p}-7d9f8c6b5-abcde_0f1e2d3c-aaaa-bbbb-cccc-00000000000{p}/app"
    os.makedirs(d)
    with open(f"{d}/0.log", "w") as f:
        for i in range(per):
            head = f"2024-01-01T00:00:00.123456789Z stdout F {p * per + i} level=info msg=\"request served\" path=/api/v1/items "
            f.write(head + pad[: max(0, 199 - len(head))] + "\n")
PY
bytes=$(cat "$work"/pods/*/app/0.log | wc -c)
cat > "$work/gleaner.toml" <<TOML
[agent]
http_listen = ""
data_dir = "$work/data"
flush_interval = "1s"
max_in_flight_events = ${MAXIF:-4096}

[[inputs.tail]]
paths = ["$work/pods/*/*/*.log"]
format = "cri"
read_from_head = true

[[outputs.file]]
path = "$work/out.jsonl"
rotate_max_bytes = 0
[outputs.file.buffer]
type = "disk"
TOML
total=$((pods * per))
start=$(date +%s.%N)
"$bin" --config "$work/gleaner.toml" --log-level warn &
pid=$!
while :; do
  n=$(wc -l < "$work/out.jsonl" 2>/dev/null || echo 0)
  [ "$n" -ge "$total" ] && break
  sleep 0.05
done
end=$(date +%s.%N)
tck=$(getconf CLK_TCK)
read -r ut st < <(awk '{print $14, $15}' "/proc/$pid/stat")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
tail_ticks=0
for t in /proc/$pid/task/*; do
  if [ "$(cat "$t/comm")" = "gleaner-tail" ]; then
    tail_ticks=$(awk '{print $14 + $15}' "$t/stat")
  fi
done
python3 - "$start" "$end" "$ut" "$st" "$tck" "$hwm" "$total" "$bytes" "$tail_ticks" <<'PY'
import sys
start, end, ut, st, tck, hwm, total, nbytes, tail = map(float, sys.argv[1:])
wall = end - start
print(f"lines {int(total)}  bytes {int(nbytes)}  wall {wall:.2f} s")
print(f"lines/s {total / wall:,.0f}  MB/s {nbytes / wall / 1e6:.1f}")
print(f"cpu {(ut + st) / tck:.2f} s (user {ut / tck:.2f}, sys {st / tck:.2f}; tail reader thread {tail / tck:.2f})  peak RSS {hwm / 1024:.1f} MiB")
PY
