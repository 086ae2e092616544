#!/usr/bin/env bash
# Builds the exporter (release), the analyzer page from its component, and
# runs the exporter with the page embedded and the given flags, e.g.
#   scripts/run.sh --web.listen-address=:9455
# On a fresh machine it first installs the wasm32-unknown-unknown target,
# iptables, Node and web/'s npm packages (scripts/setup.sh run; installing
# needs root, as reading the rules does).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh run
# The first build makes the component (host/build.rs); npm turns it into
# the page; the second build embeds the page (host/build.rs checks that it
# was made from this component). When the page is up to date, npm writes
# nothing and the second build has nothing to do.
cargo build --release --locked -p iptables-exporter
(cd web && npm run --silent build -- --if-changed)
exec cargo run --release --locked -p iptables-exporter -- "$@"
