#!/usr/bin/env bash
# Regenerates agent/text-order.ld, the order of the agent's code (agent/build.rs, docs/decisions.md
# *Code layout*): runs release builds of the agent under callgrind on the idle config and on the
# bench workloads, and lists the functions they ran (scripts/text-order.py).
#
#   scripts/text-order.sh                 # profiles both build configurations, writes the script
#
# Both configurations the binary is built in are profiled, since the hashes in Rust symbol
# names depend on the features the build unifies: `-p gleaner` alone (the image, Dockerfile)
# and `-p gleaner -p gleaner-e2e` (the tests and the bench). Needs valgrind, gcc and python3;
# takes about 15 minutes per configuration on 2 cores. Run it after a dependency update or a
# large change of the code that runs at start or on the hot paths.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
target_dir="${CARGO_TARGET_DIR:-$root/target}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# rustix reads the aux vector with prctl(PR_GET_AUXV), which valgrind passes to the kernel:
# the answer names the real vDSO, which valgrind does not map, and the agent faults. This
# wrapper makes that prctl fail (seccomp), so rustix falls back to /proc/self/auxv, which
# valgrind answers itself.
cat >"$work/noauxv.c" <<'EOF'
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_prctl, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x41555856 /* PR_GET_AUXV */, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EINVAL),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog p = {.len = sizeof f / sizeof f[0], .filter = f};
    if (argc < 2 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p)) {
        perror("noauxv");
        return 1;
    }
    execvp(argv[1], argv + 1);
    perror("noauxv: exec");
    return 1;
}
EOF
gcc -O2 -o "$work/noauxv" "$work/noauxv.c"

# The agent as the bench starts it, under callgrind (the bench's GLEANER_BIN).
cat >"$work/agent.sh" <<EOF
#!/usr/bin/env bash
exec env MALLOC_ARENA_MAX=1 "$work/noauxv" valgrind --tool=callgrind --demangle=no \\
  --dump-instr=no --compress-strings=no --compress-pos=no \\
  --callgrind-out-file="\$PROFILE_DIR/cg.\$WORKLOAD.%p" "\$AGENT" "\$@"
EOF
chmod +x "$work/agent.sh"

# idle: the bench's idle config, 20 s after /health answers.
idle() {
  local dir="$work/idle" port=$((20000 + RANDOM % 20000))
  mkdir -p "$dir"
  printf '[agent]\nhttp_listen = "127.0.0.1:%s"\ndata_dir = "%s"\nhostname = "bench-node"\n\n[[inputs.host]]\ninterval = "10s"\n\n[[outputs.file]]\npath = "%s/metrics.lp"\n' \
    "$port" "$dir" "$dir" >"$dir/gleaner.toml"
  WORKLOAD=idle "$work/agent.sh" --config "$dir/gleaner.toml" 2>"$dir/stderr" &
  local pid=$!
  # As the bench and kubelet's probes ask: `Connection: close` takes hyper through code a
  # kept-alive request does not (the connection's close, the status line's reason).
  for _ in $(seq 300); do
    curl -sf -H 'Connection: close' "http://127.0.0.1:$port/health" >/dev/null && break
    sleep 0.1
  done
  sleep 20
  kill -TERM "$pid"
  wait "$pid" || true
}

dirs=()
for config in "gleaner" "gleaner gleaner-e2e"; do
  name=${config// /+}
  pkgs=()
  for p in $config; do pkgs+=(-p "$p"); done
  # (The order does not change the names: the binary is profiled as it is built.)
  cargo build --release "${pkgs[@]}" --bins </dev/null
  export PROFILE_DIR="$work/$name" AGENT="$work/$name/gleaner"
  mkdir -p "$PROFILE_DIR"
  cp "$target_dir/release/gleaner" "$AGENT"
  cargo build --release -p gleaner-e2e --bin bench </dev/null
  idle
  for w in logs-hec scrape-rw syslog logs-parse files-2k; do
    WORKLOAD=$w GLEANER_BIN="$work/agent.sh" "$target_dir/release/bench" --runs 1 --duration 20 "$w" </dev/null
  done
  dirs+=("$PROFILE_DIR")
done
python3 scripts/text-order.py agent/text-order.ld "${dirs[@]}"
