#!/usr/bin/env bash
# Installs what building and running (`setup.sh run`) or also testing
# (`setup.sh`, `setup.sh test`) need on a fresh Debian machine, as root: the
# wasm32-unknown-unknown target for the parser component, iptables (nft and legacy),
# and Node and npm when missing with web/'s locked packages (`npm ci`: jco,
# which scripts/run.sh and test.sh use to turn the component into the
# analyzer page the exporter embeds); for the tests also Chromium (the analyzer page in a
# real browser), nftables (rules iptables-nft cannot show),
# python3-prometheus-client (its strict OpenMetrics parser checks ours),
# systemd (systemd-analyze checks the unit), python3-venv and, from PyPI
# into .tools/venv, kubernetes-validate (the Kubernetes schemas, offline),
# iproute2 for network namespaces, and prometheus/promtool.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(iptables)
# Node for web/ (the machine image may have it).
command -v npm >/dev/null || packages+=(nodejs npm)
case "${1:-test}" in
  run) ;;
  test) packages+=(chromium nftables ipset iproute2 prometheus python3-prometheus-client systemd python3-venv) ;;
  *) echo "usage: scripts/setup.sh [run|test]" >&2; exit 2 ;;
esac

# RUSTUP_AUTO_INSTALL=0 here: cargo will not add the target by itself.
if ! rustup target add wasm32-unknown-unknown; then
  rustup toolchain install
fi

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install ${missing[*]}" >&2
    exit 1
  fi
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# web/'s build (the package and the analyzer page) needs jco and
# TypeScript, the browser test playwright-core: exactly the locked
# versions, once. (cargo build itself needs no Node.)
if ! (cd web && npm ls --depth=0 >/dev/null 2>&1); then
  (cd web && npm ci --no-audit --no-fund --quiet)
fi

# The Kubernetes schemas ship inside this package: the DaemonSet is checked
# against them with no network (host/tests/deploy.rs).
if [ "${1:-test}" = test ] && [ ! -x .tools/venv/bin/kubernetes-validate ]; then
  /usr/bin/python3 -m venv .tools/venv
  .tools/venv/bin/pip install -q kubernetes-validate==1.37.0
fi
