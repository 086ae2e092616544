#!/usr/bin/env bash
# Builds the exporter (release) and runs it with the given flags, e.g.
#   scripts/run.sh --web.listen-address=:9455
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip2 >/dev/null 2>&1 || rustup toolchain install
exec cargo run --release --locked -p iptables-exporter -- "$@"
