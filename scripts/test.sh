#!/usr/bin/env bash
# Runs every check and test: formatting, clippy, unit tests, golden files,
# the render CLI, the end-to-end tests with real iptables in network
# namespaces, a real Prometheus and a real browser (the analyzer page), and
# the JS package (web/). Needs root
# (namespaces, iptables). Fails if any process it started is still running
# at its end (scripts/reap.py).
set -euo pipefail
cd "$(dirname "$0")/.."

# Network namespaces the tests of this run made (`ipte2e-RUN-*`; the run
# is named here, so that another suite running meanwhile is not counted)
# that outlive them fail the suite, as left processes do.
export IPTABLES_EXPORTER_TEST_RUN="${IPTABLES_EXPORTER_TEST_RUN:-$$}"
left_namespaces() {
  ip netns list 2>/dev/null | awk -v prefix="ipte2e-${IPTABLES_EXPORTER_TEST_RUN}-" 'index($1, prefix) == 1 {print $1}'
}

# Under scripts/reap.py: a process the suite leaves behind fails it.
if [ -z "${IPTABLES_EXPORTER_REAPED:-}" ]; then
  export IPTABLES_EXPORTER_REAPED=1
  exec python3 scripts/reap.py scripts/test.sh "$@"
fi

scripts/setup.sh test
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The parser as the component is built: its own code must hold to the same
# lints (no unsafe outside the generated bindings) for wasm32 too.
cargo clippy -p parser-wasm --target wasm32-unknown-unknown --locked -- -D warnings
# The package and the analyzer page, from the component clippy's build just
# made (host/build.rs), so that the tests' build embeds the page.
(cd web && npm run --silent build)
cargo test --workspace --locked
# The page type-checked (tsc over its @ts-check JavaScript) and its pure
# parts unit-tested; the JS package against the golden files and the
# native analysis. (The page in a browser is host/tests/analyzer.rs.)
(cd web && npm test --silent)
# The criterion benchmarks once each, untimed (criterion's test mode), so
# that they keep building and running; `benches/tests/smoke.rs` (above)
# does the same for scrape-bench.
cargo test -p benches --benches --locked
left=$(left_namespaces)
if [ -n "$left" ]; then
  echo "the tests left network namespaces behind:" >&2
  echo "$left" >&2
  exit 1
fi
