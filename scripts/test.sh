#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine: installs what the tests need, builds the
# agent binary the end-to-end tests run, and runs every test of the workspace.
# Real peers the tests need (Prometheus, InfluxDB) are installed and started here, on
# 127.0.0.1 only, and stopped by PID when the run ends.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: a C compiler for -sys crates; the real peers of the output tests
# (tests/src/peers.rs starts and stops them itself): InfluxDB 1.x, Prometheus 2.x and
# node_exporter (compared with inputs.host, and scraped by inputs.prometheus); rsyslog (a real
# syslog sender for inputs.syslog, run by tests/e2e/syslog.rs in the foreground on a temp
# config, never as the system's daemon); tmux (a real terminal for `gleaner top`); journalctl
# (systemd) and systemd-journal-remote, which makes journal files offline for inputs.journald's
# tests (tests/src/workload/journal_gen.rs; no systemd needs to run); python3 and venv for the
# OpenTelemetry peers below.
packages=(gcc influxdb prometheus prometheus-node-exporter rsyslog tmux systemd systemd-journal-remote python3 python3-venv)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# kubectl for `kubectl kustomize` of deploy/kustomize (Debian: kubernetes-client; any kubectl
# with kustomize built in will do).
command -v kubectl >/dev/null || missing+=(kubernetes-client)
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

target_dir="${CARGO_TARGET_DIR:-$(pwd)/target}"

# The OpenTelemetry peers of tests/e2e/otlp.rs (the Python SDK and OTLP/HTTP exporter that
# push to inputs.otlp, the opentelemetry-proto messages of the receiver outputs.otlp sends
# to), from PyPI into a virtualenv under the target directory. GLEANER_REQUIRE_OTEL makes
# those tests fail, instead of skipping, when the packages are missing.
otel_venv="$target_dir/otel-venv"
if ! "$otel_venv/bin/python" -c 'import opentelemetry.sdk, opentelemetry.proto, opentelemetry.exporter.otlp.proto.http' 2>/dev/null; then
  python3 -m venv "$otel_venv"
  "$otel_venv/bin/pip" install -q opentelemetry-sdk opentelemetry-exporter-otlp-proto-http opentelemetry-proto
fi
export GLEANER_REQUIRE_OTEL=1

# The toolchain named in rust-toolchain.toml (rustup installs it on first use).
cargo --version

cargo build -p gleaner --bin gleaner
GLEANER_BIN="$target_dir/debug/gleaner" cargo test --workspace
