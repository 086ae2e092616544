#!/usr/bin/env bash
# What a real node pays: for each backend (iptables-nft, iptables-legacy)
# and ruleset size (generated kube-proxy rulesets, seed 7), the save
# command's time, and the exporter's CPU over one minute of scrapes as a
# default Prometheus makes them (every 15 s, 10 s timeout, gzip), save
# commands included; then what --iptables.min-interval and --iptables.tables
# change on the 100k-rule nft node, and whether saving tables concurrently
# helps; and on the 100k-rule nft node, the counters over netlink
# (--iptables.netlink=auto, the default) against the save command every
# collection (=off), with the ruleset still, and changed every 60 s and
# every 5 s (a rule appended or deleted, as kube-proxy churns). Prints a
# Markdown table (the one in README.md).
#
# Usage, as root: benches/big-node.sh [SIZES]   (default: 1000 10000 100000)
#   BACKENDS="nft" to measure one backend (default: "nft legacy").
# Needs iptables and iproute2 (scripts/setup.sh test installs them) and
# takes about 17 minutes. Traffic stays on the namespaces' loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

sizes=(${1:-1000 10000 100000})
backends=(${BACKENDS:-nft legacy})
interval=15
cargo build --release --locked -q -p iptables-exporter -p benches
exporter=$PWD/target/release/iptables-exporter
work=$(mktemp -d)
namespaces=()
cleanup() {
    for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
touch "$work/tables.txt"

# A namespace holding the SIZE-rule ruleset in BACKEND; prints its name.
node() {
    local backend=$1 size=$2 ns="bench-$1-$2-$$"
    ip netns add "$ns"
    namespaces+=("$ns")
    ip -n "$ns" link set lo up
    [ -s "$work/$size.rules" ] || target/release/gen-ruleset --rules "$size" > "$work/$size.rules"
    ip netns exec "$ns" "iptables-$backend-restore" -c < "$work/$size.rules"
    echo "$ns"
}

# Arithmetic on decimals.
calc() { awk "BEGIN { print $1 }"; }

# Median wall time of three runs of COMMAND… in NS, in seconds.
median_time() {
    local ns=$1; shift
    for _ in 1 2 3; do
        local start=$(date +%s.%N)
        ip netns exec "$ns" "$@" > /dev/null
        calc "$(date +%s.%N) - $start"
    done | sort -n | sed -n 2p
}

# utime+stime of PID and its reaped children, in clock ticks.
cpu_ticks() {
    awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat"
}

# Runs the exporter in NS with FLAGS…, scrapes it SCRAPES times every
# $interval s, and prints, per minute: CPU-seconds and collections; then the
# slowest scrape, and whether every answer had success 1.
scrape_for_a_while() {
    local ns=$1 backend=$2 scrapes=$3; shift 3
    local log="$work/exporter.log"
    ip netns exec "$ns" "$exporter" --iptables.save-path="iptables-$backend-save" \
        --ip6tables.save-path="ip6tables-$backend-save" --log.level=debug "$@" 2> "$log" &
    # `ip netns exec` execs the exporter: same pid.
    local pid=$!
    until grep -q "first collection finished" "$log"; do sleep 0.2; done
    # Past the default min-interval after it, as a scrape at steady state.
    sleep 6
    local before collections_before
    before=$(cpu_ticks "$pid")
    collections_before=$(grep -c "collection finished" "$log")
    local slowest=0 all_ok=yes
    for n in $(seq "$scrapes"); do
        local started=$(date +%s.%N)
        local out
        out=$(ip netns exec "$ns" curl -s --compressed -H 'X-Prometheus-Scrape-Timeout-Seconds: 10' \
            -w '\n%{time_total}' http://127.0.0.1:9455/metrics)
        local took=${out##*$'\n'}
        grep -q '^iptables_scrape_success{family="ipv4"} 1$' <<< "$out" || all_ok=no
        slowest=$(calc "($took > $slowest) ? $took : $slowest")
        [ "$n" = "$scrapes" ] || sleep "$(calc "$interval - ($(date +%s.%N) - $started) < 0 ? 0 : $interval - ($(date +%s.%N) - $started)")"
    done
    # Collections started in the minute count in full: wait for the last.
    while pgrep -P "$pid" > /dev/null; do sleep 0.2; done
    local after collections
    after=$(cpu_ticks "$pid")
    collections=$(( $(grep -c "collection finished" "$log") - collections_before ))
    kill "$pid"; wait "$pid" || true
    local ticks
    ticks=$(getconf CLK_TCK)
    local minutes
    minutes=$(calc "$scrapes * $interval / 60")
    printf '%.1f|%.1f|%.2f|%s\n' "$(calc "($after - $before) / $ticks / $minutes")" \
        "$(calc "$collections / $minutes")" "$slowest" "$all_ok"
}

echo "| backend | rules | save command | exporter CPU per minute | % of a core | collections per minute | slowest scrape | success 1 |"
echo "|---|---|---|---|---|---|---|---|"
# A row: BACKEND SIZE LABEL NS SAVE-ARGS SCRAPES FLAGS… (SAVE-ARGS: what
# the exporter's save command runs, for its time).
row() {
    local backend=$1 size=$2 label=$3 ns=$4 save_args=$5 scrapes=$6; shift 6
    local save
    save=$(median_time "$ns" "iptables-$backend-save" $save_args)
    IFS='|' read -r cpu collections slowest ok < <(scrape_for_a_while "$ns" "$backend" "$scrapes" "$@")
    printf '| %s | %s | %.2f s | %.1f CPU-s | %.1f %% | %s | %s s | %s |\n' \
        "$backend" "$label" "$save" "$cpu" "$(calc "$cpu / 60 * 100")" "$collections" "$slowest" "$ok"
}
# Changes the ruleset of NS every SECONDS until killed: a rule appended,
# then deleted.
churn() {
    local ns=$1 seconds=$2
    while true; do
        sleep "$seconds"
        ip netns exec "$ns" iptables-nft -A INPUT -m comment --comment churn -j RETURN
        sleep "$seconds"
        ip netns exec "$ns" iptables-nft -D INPUT -m comment --comment churn -j RETURN
    done
}
# A row with the ruleset changed every SECONDS meanwhile.
churned_row() {
    local seconds=$1; shift
    churn "$ns" "$seconds" &
    local churner=$!
    row "$@"
    kill "$churner"; wait "$churner" 2>/dev/null || true
}
for backend in "${backends[@]}"; do
    for size in "${sizes[@]}"; do
        ns=$(node "$backend" "$size")
        # A minute of scrapes; three for the 1m min-interval, which runs
        # a collection every 90 s.
        row "$backend" "$size" "$size" "$ns" -c 4
        if [ "$size" = 100000 ] && [ "$backend" = nft ]; then
            row "$backend" "$size" "$size, --iptables.min-interval=1m" "$ns" -c 12 --iptables.min-interval=1m
            row "$backend" "$size" "$size, --iptables.tables=filter" "$ns" "-c -t filter" 4 --iptables.tables=filter
            # Netlink (the default) against the save every collection,
            # still and churning; two minutes each for the 60 s churn.
            row "$backend" "$size" "$size, --iptables.netlink=off" "$ns" -c 4 --iptables.netlink=off
            churned_row 60 "$backend" "$size" "$size, a change every 60 s" "$ns" -c 8
            churned_row 60 "$backend" "$size" "$size, a change every 60 s, --iptables.netlink=off" "$ns" -c 8 --iptables.netlink=off
            churned_row 5 "$backend" "$size" "$size, a change every 5 s" "$ns" -c 4
            churned_row 5 "$backend" "$size" "$size, a change every 5 s, --iptables.netlink=off" "$ns" -c 4 --iptables.netlink=off
        fi
        if [ "$size" = 100000 ]; then
            whole=$(median_time "$ns" "iptables-$backend-save" -c)
            filter=$(median_time "$ns" "iptables-$backend-save" -c -t filter)
            nat=$(median_time "$ns" "iptables-$backend-save" -c -t nat)
            both=$(median_time "$ns" sh -c "iptables-$backend-save -c -t filter & iptables-$backend-save -c -t nat; wait")
            echo "$backend 100000 saves: whole $whole s, -t filter $filter s, -t nat $nat s, filter and nat at once $both s, one after the other $(calc "$filter + $nat") s" >> "$work/tables.txt"
        fi
        ip netns del "$ns"
    done
done
echo
cat "$work/tables.txt"
