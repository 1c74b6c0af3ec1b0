#!/bin/bash
# inputs.prometheus end to end: the release binary scrapes a generated 10,000-series page every
# 1s into remote_write (a sink answering 204) for SECONDS; prints CPU-s (utime+stime from
# /proc/<pid>/stat), peak RSS (VmHWM) and CPU-s per million samples.
# Usage: bench_10k.sh BIN SECONDS BUFFER(disk|memory)
BIN=$1; SECS=${2:-60}; BUF=${3:-disk}
D=$(mktemp -d)
P1=$((20000 + RANDOM % 10000)); P2=$((P1+1)); P3=$((P1+2))
python3 "$(dirname "$0")/bench_servers.py" $P1 $P2 > $D/servers.log 2>&1 & SP=$!
sleep 1
BUFTABLE=""
if [ "$BUF" = memory ]; then BUFTABLE=$'[outputs.remote_write.buffer]\ntype = "memory"'; fi
cat > $D/g.toml <<EOT
[agent]
interval = "1s"
flush_interval = "1s"
data_dir = "$D/data"
http_listen = "127.0.0.1:$P3"
omit_hostname = true

[[inputs.prometheus]]
urls = ["http://127.0.0.1:$P1/metrics"]

[[outputs.remote_write]]
url = "http://127.0.0.1:$P2/api/v1/write"
$BUFTABLE
EOT
$BIN --config $D/g.toml > $D/agent.log 2>&1 & AP=$!
sleep $SECS
read -r UT ST <<< "$(awk '{print $14, $15}' /proc/$AP/stat)"
HWM=$(grep VmHWM /proc/$AP/status)
SENT=$(curl -s 127.0.0.1:$P3/metrics | grep 'gleaner_component_sent_events_total{component_id="outputs.remote_write' | awk '{print $2}')
SCR=$(curl -s 127.0.0.1:$P3/metrics | grep 'gleaner_component_sent_events_total{component_id="inputs.prometheus' | awk '{print $2}')
ERR=$(curl -s 127.0.0.1:$P3/metrics | grep 'errors_total' | head -5)
kill $AP; kill $SP
TCK=$(getconf CLK_TCK)
CPU=$(echo "scale=3; ($UT+$ST)/$TCK" | bc)
echo "buffer=$BUF secs=$SECS cpu_s=$CPU (utime=$UT stime=$ST ticks) $HWM input_events=$SCR output_sent=$SENT"
echo "cpu_s_per_million_scraped=$(echo "scale=3; $CPU*1000000/$SCR" | bc)"
echo "$ERR"
