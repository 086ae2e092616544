#!/usr/bin/env bash
# Builds the exporter (release) and runs it with the given flags, e.g.
#   scripts/run.sh --web.listen-address=:9455
# On a fresh machine it first installs the wasm32-unknown-unknown target and
# iptables (scripts/setup.sh run; installing needs root, as reading the
# rules does).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh run
exec cargo run --release --locked -p iptables-exporter -- "$@"
