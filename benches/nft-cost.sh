#!/usr/bin/env bash
# What the nftables source costs: for each ruleset size (benches/nft-generate.py,
# kube-proxy-nftables-shaped, seed 7) and set size, in a network namespace
# of its own, `nft -j list ruleset`, `nft -j -t list ruleset` and the text
# `nft list ruleset` (wall time, peak RSS, output bytes), the exporter's
# nftables_scrape_duration_seconds (nft and the component together) in its
# first collection and its second (after a fallback the second starts at
# the way that fit), how it listed (json, json -t, text, text -t), whether
# it exported set sizes, and the exporter's peak RSS; side by side, `iptables-nft-save -c` (wall time,
# peak RSS) on an iptables ruleset of the same rule count
# (target/release/gen-ruleset, kube-proxy-shaped, seed 7, as
# benches/big-node.sh uses) restored into a namespace of its own.
# Prints a Markdown table.
#
# Usage, as root: benches/nft-cost.sh ["RULES:SET_ELEMENTS ..."]
#   (default: "1000:0 10000:0 100000:0 1000:10000 1000:1000000")
# With NFT_MAX_MEMORY=320MiB the exporter runs with --nftables.max-memory:
# a case past it shows the source failing on its own (success 0, and when).
set -euo pipefail
cd "$(dirname "$0")/.."

cases=(${1:-1000:0 10000:0 100000:0 1000:10000 1000:1000000})
cargo build --release --locked -q -p iptables-exporter -p benches
# EXPORTER=path measures another build (a "before") with the same script.
exporter=${EXPORTER:-$PWD/target/release/iptables-exporter}
work=$(mktemp -d)
ns="nft-cost-$$"
ipt="nft-cost-ipt-$$"
cleanup() {
    pkill -f "$exporter --web.listen-address=127.0.0.1:9477" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    ip netns del "$ipt" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# wall seconds, peak RSS in MB and output bytes of a command in namespace NS.
measure_in() {
    local in=$1; shift
    ip netns exec "$in" /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/out"
    read -r wall kb < "$work/time"
    echo "$wall $((kb / 1024)) $(stat -c %s "$work/out")"
}
measure() { measure_in "$ns" "$@"; }

# iptables-nft-save -c on the same number of iptables rules: "s / MB".
iptables_save() {
    ip netns del "$ipt" 2>/dev/null || true
    ip netns add "$ipt"
    target/release/gen-ruleset --rules "$1" > "$work/ipt.rules"
    ip netns exec "$ipt" iptables-nft-restore -c < "$work/ipt.rules"
    read -r w m _ <<<"$(measure_in "$ipt" iptables-nft-save -c)"
    ip netns del "$ipt"
    echo "$w / $m"
}

echo "| rules | set elements | nft -j: s / MB / MB out | nft -j -t: s / MB | nft (text): s / MB | exporter: start-up collection s / two scrapes' nftables_scrape_duration_seconds, listed as, set sizes, peak RSS MB (at rest; exporter and nft together, sampled) | iptables-nft-save -c, same rules: s / MB |"
echo "|---|---|---|---|---|---|---|"
for case in "${cases[@]}"; do
    rules=${case%%:*}
    elements=${case##*:}
    save=$(iptables_save "$rules")
    ip netns del "$ns" 2>/dev/null || true
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    python3 benches/nft-generate.py "$rules" --set-elements "$elements" > "$work/rules.nft"
    ip netns exec "$ns" nft -f "$work/rules.nft"
    read -r jw jm jb <<<"$(measure nft -j list ruleset)"
    read -r tw tm _ <<<"$(measure nft -j -t list ruleset)"
    read -r xw xm _ <<<"$(measure nft list ruleset)"
    ip netns exec "$ns" "$exporter" --web.listen-address=127.0.0.1:9477 \
        --iptables.save-path=/nonexistent --ip6tables.save-path=/nonexistent \
        --collector.nftables --iptables.min-interval=0s --sandbox.timeout=60s \
        ${NFT_MAX_MEMORY:+--nftables.max-memory=$NFT_MAX_MEMORY} \
        > "$work/log" 2>&1 &
    pid=$!
    # The exporter and its nft children together, sampled every 0.1 s: what
    # the container's memory limit sees.
    ( peak=0
      while kill -0 "$pid" 2>/dev/null; do
          sum=0
          for p in "$pid" $(pgrep -P "$pid"); do
              kb=$(awk '/VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
              sum=$((sum + ${kb:-0}))
          done
          [ "$sum" -gt "$peak" ] && { peak=$sum; echo "$peak" > "$work/together"; }
          sleep 0.1
      done ) &
    sampler=$!
    for _ in $(seq 1200); do
        grep -q "first collection finished" "$work/log" && break
        sleep 0.1
    done
    scrape=$(ip netns exec "$ns" curl -s --max-time 120 127.0.0.1:9477/metrics)
    first=$(grep '^nftables_scrape_duration_seconds' <<<"$scrape" | awk '{print $2}')
    # (Both scrapes come after the start-up collection, whose time the log
    # gives: after a fallback it paid for the failed tries.)
    # A second collection: after a fallback it starts at the way that fit.
    scrape=$(ip netns exec "$ns" curl -s --max-time 120 127.0.0.1:9477/metrics)
    seconds=$(grep '^nftables_scrape_duration_seconds' <<<"$scrape" | awk '{print $2}')
    listed=json
    grep -q "listing without set elements (nft -t)" "$work/log" && listed="json -t"
    grep -q "listing as text (nft without -j)" "$work/log" && listed=text
    grep -q "listing as text without set elements" "$work/log" && listed="text -t"
    success=$(grep '^nftables_scrape_success' <<<"$scrape" | awk '{print $2}')
    sizes=$(grep -q '^nftables_set_elements{' <<<"$scrape" && echo yes || echo no)
    rss=$(awk '/VmHWM/ {print int($2/1024)}' "/proc/$pid/status")
    rest=$(awk '/VmRSS/ {print int($2/1024)}' "/proc/$pid/status")
    startup=$(grep "first collection finished" "$work/log" | grep -o 'seconds[":=]*[0-9.]*' | head -1 | grep -o '[0-9.]*$')
    kill "$pid"; wait "$pid" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    together=$(( $(cat "$work/together" 2>/dev/null || echo 0) / 1024 ))
    rss="$rss (at rest $rest; with nft $together)"
    if [ "$success" != 1 ]; then
        if [ -n "${NFT_MAX_MEMORY:-}" ] && grep -q -- "--nftables.max-memory" "$work/log"; then
            printf '| %s | %s | %s / %s / %.1f | %s / %s | %s / %s | failed past --nftables.max-memory=%s after %.3f s / - / %s | %s |\n' "$rules" "$elements" "$jw" "$jm" "$(echo "$jb / 1048576" | bc -l)" "$tw" "$tm" "$xw" "$xm" "$NFT_MAX_MEMORY" "$seconds" "$rss" "$save"
            continue
        fi
        echo "nftables_scrape_success $success at $case" >&2; cat "$work/log" >&2; exit 1
    fi
    printf '| %s | %s | %s / %s / %.1f | %s / %s | %s / %s | %s / %.3f / %.3f, %s, %s, %s | %s |\n' "$rules" "$elements" "$jw" "$jm" "$(echo "$jb / 1048576" | bc -l)" "$tw" "$tm" "$xw" "$xm" "$startup" "$first" "$seconds" "$listed" "$sizes" "$rss" "$save"
done
