#!/usr/bin/env bash
# Installs what building and testing need on a fresh Debian machine (as root):
# the wasm32-wasip2 target for the parser component, iptables (nft and legacy),
# nftables (rules iptables-nft cannot show), iproute2 for network namespaces,
# and prometheus/promtool for the tests.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# RUSTUP_AUTO_INSTALL=0 here: cargo will not add the target by itself.
if ! rustup target add wasm32-wasip2; then
  rustup toolchain install
fi

missing=()
for pkg in iptables nftables iproute2 prometheus; do
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
