#!/usr/bin/env bash
# What the nftables source costs: for each ruleset size (benches/nft-generate.py,
# kube-proxy-nftables-shaped, seed 7) and set size, in a network namespace
# of its own, `nft -j list ruleset` and `nft -j -t list ruleset` (wall time,
# peak RSS, output bytes), the exporter's nftables_scrape_duration_seconds
# (nft and the component together) and the exporter's peak RSS, side by
# side with iptables-nft-save on an iptables ruleset of the same size
# (the ruleset generator's, where benches/big-node.sh measures it).
# Prints a Markdown table.
#
# Usage, as root: benches/nft-cost.sh ["RULES:SET_ELEMENTS ..."]
#   (default: "1000:0 10000:0 100000:0 1000:10000 1000:1000000")
set -euo pipefail
cd "$(dirname "$0")/.."

cases=(${1:-1000:0 10000:0 100000:0 1000:10000 1000:1000000})
cargo build --release --locked -q -p iptables-exporter
exporter=$PWD/target/release/iptables-exporter
work=$(mktemp -d)
ns="nft-cost-$$"
cleanup() {
    pkill -f "$exporter --web.listen-address=127.0.0.1:9477" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# wall seconds, peak RSS in MB and output bytes of a command in the namespace.
measure() {
    ip netns exec "$ns" /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/out"
    read -r wall kb < "$work/time"
    echo "$wall $((kb / 1024)) $(stat -c %s "$work/out")"
}

echo "| rules | set elements | nft -j: s / MB / MB out | nft -j -t: s / MB | exporter: nftables_scrape_duration_seconds / peak RSS MB |"
echo "|---|---|---|---|---|"
for case in "${cases[@]}"; do
    rules=${case%%:*}
    elements=${case##*:}
    ip netns del "$ns" 2>/dev/null || true
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    python3 benches/nft-generate.py "$rules" --set-elements "$elements" > "$work/rules.nft"
    ip netns exec "$ns" nft -f "$work/rules.nft"
    read -r jw jm jb <<<"$(measure nft -j list ruleset)"
    read -r tw tm _ <<<"$(measure nft -j -t list ruleset)"
    ip netns exec "$ns" "$exporter" --web.listen-address=127.0.0.1:9477 \
        --iptables.save-path=/nonexistent --ip6tables.save-path=/nonexistent \
        --collector.nftables --iptables.min-interval=0s --sandbox.timeout=60s \
        > "$work/log" 2>&1 &
    pid=$!
    for _ in $(seq 600); do
        grep -q "first collection finished" "$work/log" && break
        sleep 0.1
    done
    scrape=$(ip netns exec "$ns" curl -s --max-time 120 127.0.0.1:9477/metrics)
    seconds=$(grep '^nftables_scrape_duration_seconds' <<<"$scrape" | awk '{print $2}')
    success=$(grep '^nftables_scrape_success' <<<"$scrape" | awk '{print $2}')
    rss=$(awk '/VmHWM/ {print int($2/1024)}' "/proc/$pid/status")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    [ "$success" = 1 ] || { echo "nftables_scrape_success $success at $case" >&2; cat "$work/log" >&2; exit 1; }
    printf '| %s | %s | %s / %s / %.1f | %s / %s | %.3f / %s |\n' "$rules" "$elements" "$jw" "$jm" "$(echo "$jb / 1048576" | bc -l)" "$tw" "$tm" "$seconds" "$rss"
done
