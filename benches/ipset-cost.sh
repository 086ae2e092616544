#!/usr/bin/env bash
# What the ipset source costs: for each set size, in a network namespace of
# its own, a hash:net set of ENTRIES entries (with per-element counters or
# not), `ipset list -t` and `ipset list big` (wall time, peak RSS, output
# bytes), and the exporter's ipset_scrape_duration_seconds (every ipset run
# and the component together), its element series and its peak RSS; with
# counters, the exporter runs with --ipset.element-counters (so it lists
# the set's members: the costly case). Prints a Markdown table.
#
# Usage, as root: benches/ipset-cost.sh ["ENTRIES:COUNTERS ..."]
#   (default: "100000:no 1000000:no 1000000:yes")
set -euo pipefail
cd "$(dirname "$0")/.."

cases=(${1:-100000:no 1000000:no 1000000:yes})
cargo build --release --locked -q -p iptables-exporter
exporter=$PWD/target/release/iptables-exporter
work=$(mktemp -d)
ns="ipset-cost-$$"
cleanup() {
    pkill -f "$exporter --web.listen-address=127.0.0.1:9478" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# wall seconds, peak RSS in MB and output MB of a command in the namespace.
measure() {
    ip netns exec "$ns" /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/out"
    read -r wall kb < "$work/time"
    printf '%s / %s / %.1f' "$wall" "$((kb / 1024))" "$(echo "$(stat -c %s "$work/out") / 1048576" | bc -l)"
}

echo "| entries | counters | ipset list -t: s / MB / MB out | ipset list big: s / MB / MB out | exporter: ipset_scrape_duration_seconds / element series / peak RSS MB |"
echo "|---|---|---|---|---|"
for case in "${cases[@]}"; do
    entries=${case%%:*}
    counters=${case##*:}
    ip netns del "$ns" 2>/dev/null || true
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    flags=()
    [ "$counters" = yes ] && flags=(counters)
    python3 - "$entries" "${flags[@]}" > "$work/sets" <<'PY'
import ipaddress, sys
entries = int(sys.argv[1])
flags = " ".join(sys.argv[2:])
print(f"create big hash:net family inet maxelem {entries * 2} {flags}")
base = int(ipaddress.IPv4Address("10.0.0.0"))
for n in range(entries):
    print(f"add big {ipaddress.IPv4Address(base + n)}")
PY
    ip netns exec "$ns" ipset restore < "$work/sets"
    terse=$(measure ipset list -t)
    full=$(measure ipset list big)
    extra=()
    [ "$counters" = yes ] && extra=(--ipset.element-counters)
    ip netns exec "$ns" "$exporter" --web.listen-address=127.0.0.1:9478 \
        --iptables.save-path=/nonexistent --ip6tables.save-path=/nonexistent \
        --no-collector.nftables --collector.ipset --iptables.min-interval=0s \
        --sandbox.timeout=60s "${extra[@]}" > "$work/log" 2>&1 &
    pid=$!
    for _ in $(seq 1200); do
        grep -q "first collection finished" "$work/log" && break
        sleep 0.1
    done
    scrape=$(ip netns exec "$ns" curl -s --max-time 120 127.0.0.1:9478/metrics)
    seconds=$(grep '^ipset_scrape_duration_seconds' <<<"$scrape" | awk '{print $2}')
    success=$(grep '^ipset_scrape_success' <<<"$scrape" | awk '{print $2}')
    series=$(grep -c '^ipset_element_packets_total{' <<<"$scrape" || true)
    rss=$(awk '/VmHWM/ {print int($2/1024)}' "/proc/$pid/status")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    if [ "$success" != 1 ] || ! grep -q "^ipset_entries{set=\"big\",type=\"hash:net\"} $entries\$" <<<"$scrape"; then
        echo "ipset_scrape_success $success, or not $entries entries, at $case" >&2; cat "$work/log" >&2; exit 1
    fi
    printf '| %s | %s | %s | %s | %.3f / %s / %s |\n' "$entries" "$counters" "$terse" "$full" "$seconds" "$series" "$rss"
done
