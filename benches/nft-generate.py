#!/usr/bin/env python3
"""Writes a kube-proxy-nftables-shaped native ruleset (`nft -f` input) of
about RULES rules to stdout: table ip kube-proxy with a service-ips verdict
map, a chain per service (numgen over its endpoints) and a chain per
endpoint (hairpin mark, counter, dnat), 3 endpoints per service, so that
each service costs 2 + 2*3 = 8 rules. With --set-elements N, also table
inet sets with one ipv4_addr set of N elements (`counter` flag).

  benches/nft-generate.py RULES [--set-elements N] [--seed S]

Deterministic for a seed (default 7)."""
import argparse
import random


def addr(n, base=10):
    return f"{base}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("rules", type=int)
    p.add_argument("--set-elements", type=int, default=0)
    p.add_argument("--seed", type=int, default=7)
    a = p.parse_args()
    rnd = random.Random(a.seed)
    services = max(1, a.rules // 8)
    out = []
    w = out.append
    w("table ip kube-proxy {")
    w("\tmap service-ips {\n\t\ttype ipv4_addr . inet_proto . inet_service : verdict")
    elems = [f"{addr(s, 172)} . tcp . 80 : goto svc-{s}" for s in range(services)]
    if elems:
        w("\t\telements = { " + ",\n\t\t\t".join(elems) + " }")
    w("\t}")
    w("\tchain nat-output {\n\t\ttype nat hook output priority -100; policy accept;\n\t\tjump services\n\t}")
    w("\tchain services {\n\t\tip daddr . meta l4proto . th dport vmap @service-ips\n\t}")
    w("\tchain mark-for-masquerade {\n\t\tmeta mark set meta mark or 0x4000\n\t}")
    for s in range(services):
        eps = [3 * s + e for e in range(3)]
        w(f"\tchain svc-{s} {{")
        w(f"\t\tip daddr {addr(s, 172)} tcp dport 80 ip saddr != 10.0.0.0/8 jump mark-for-masquerade")
        w("\t\tnumgen random mod 3 vmap { " + ", ".join(f"{i} : goto ep-{e}" for i, e in enumerate(eps)) + " }")
        w("\t}")
        for e in eps:
            port = rnd.randint(1024, 65000)
            w(f"\tchain ep-{e} {{")
            w(f"\t\tip saddr {addr(e)} jump mark-for-masquerade")
            w(f"\t\tcounter meta l4proto tcp dnat to {addr(e)}:{port}")
            w("\t}")
    w("}")
    if a.set_elements:
        w("table inet sets {\n\tset big {\n\t\ttype ipv4_addr\n\t\tcounter")
        chunk = 50000
        w("\t}\n}")
        for start in range(0, a.set_elements, chunk):
            part = ", ".join(addr(n, 11) for n in range(start, min(a.set_elements, start + chunk)))
            w(f"add element inet sets big {{ {part} }}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
