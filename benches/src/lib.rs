//! A seeded generator of realistic `iptables-save -c` dumps: kube-proxy
//! services and endpoints (comments, statistic rules, DNAT), Docker chains,
//! negations, quoted comments with runs of spaces, duplicate rules.
//!
//! The text is what `iptables-save -c` itself prints for the same rules
//! (option order, `-m tcp` after `-p tcp`, probabilities as iptables stores
//! them, user chains sorted), so that loading it with `iptables-restore -c`
//! and saving again gives it back unchanged.

pub mod plot;

use std::fmt::Write as _;

pub use exposition::Family;

/// Deterministic pseudo-random numbers (SplitMix64): the same seed gives the
/// same dump on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }

    /// `[packets:bytes]` with plausible sizes; mostly busy, some idle.
    fn counters(&mut self) -> String {
        if self.next().is_multiple_of(5) {
            return "[0:0]".into();
        }
        let packets = self.range(1, 50_000_000);
        let bytes = packets * self.range(40, 1500);
        format!("[{packets}:{bytes}]")
    }

    /// A chain-name hash like kube-proxy's (16 chars of base32).
    fn hash(&mut self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        (0..16)
            .map(|_| ALPHABET[(self.next() % 32) as usize] as char)
            .collect()
    }
}

const NAMESPACES: &[&str] = &[
    "default",
    "kube-system",
    "monitoring",
    "payments",
    "web",
    "ingress-nginx",
];
const APPS: &[&str] = &[
    "api", "frontend", "redis", "postgres", "metrics", "auth", "search", "queue",
];
const PORT_NAMES: &[&str] = &["http", "https", "grpc", "metrics", "tcp"];

struct Addresses {
    family: Family,
}

impl Addresses {
    fn service(&self, n: u64) -> String {
        match self.family {
            Family::Ipv4 => format!("10.96.{}.{}", (n >> 8) & 0xff, n & 0xff),
            Family::Ipv6 => format!("fd00:10:96::{:x}", n),
        }
    }
    fn pod(&self, n: u64) -> String {
        match self.family {
            Family::Ipv4 => format!("10.244.{}.{}", (n >> 8) & 0xff, n & 0xff),
            Family::Ipv6 => format!("fd00:10:244::{:x}", n),
        }
    }
    fn host_prefix(&self) -> &'static str {
        match self.family {
            Family::Ipv4 => "32",
            Family::Ipv6 => "128",
        }
    }
    fn pod_cidr(&self) -> &'static str {
        match self.family {
            Family::Ipv4 => "10.244.0.0/16",
            Family::Ipv6 => "fd00:10:244::/64",
        }
    }
    fn endpoint(&self, pod: &str, port: u64) -> String {
        match self.family {
            Family::Ipv4 => format!("{pod}:{port}"),
            Family::Ipv6 => format!("[{pod}]:{port}"),
        }
    }
}

/// A chain and its rule lines (without counters) in print order.
struct Chain {
    name: String,
    policy: &'static str,
    rules: Vec<String>,
}

impl Chain {
    fn user(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            policy: "-",
            rules: Vec::new(),
        }
    }
    fn builtin(name: &str, policy: &'static str) -> Self {
        Self {
            name: name.into(),
            policy,
            rules: Vec::new(),
        }
    }
}

/// Builds the dump: about `rules` rule lines (never fewer), reproducible from `seed`.
pub fn generate(rules: usize, seed: u64, family: Family) -> String {
    let mut rng = Rng(seed);
    let addr = Addresses { family };
    let h = addr.host_prefix();

    // filter: Docker chains, a few hand-written rules with negations,
    // quoted comments and duplicates; kube-proxy's filter chains.
    let mut input = Chain::builtin("INPUT", "ACCEPT");
    let mut forward = Chain::builtin("FORWARD", "DROP");
    let mut output = Chain::builtin("OUTPUT", "ACCEPT");
    let mut docker = Chain::user("DOCKER");
    let mut isolation1 = Chain::user("DOCKER-ISOLATION-STAGE-1");
    let mut isolation2 = Chain::user("DOCKER-ISOLATION-STAGE-2");
    let mut docker_user = Chain::user("DOCKER-USER");
    let mut kube_firewall = Chain::user("KUBE-FIREWALL");
    let ssh = "-p tcp -m tcp --dport 22 -m comment --comment \"ssh  from \\\"ops\\\" jump hosts\" -j ACCEPT";
    input.rules.push(ssh.into());
    input.rules.push(ssh.into());
    input.rules.push("-i lo -j ACCEPT".into());
    input.rules.push(format!(
        "! -s {} -p udp -m udp --dport 53 -j DROP",
        addr.pod_cidr()
    ));
    input.rules.push("-m conntrack ! --ctstate RELATED,ESTABLISHED -m comment --comment \"new   connections\" -j KUBE-FIREWALL".into());
    input.rules.push(
        "-p tcp -m tcp ! --tcp-flags FIN,SYN,RST,ACK SYN -m conntrack --ctstate NEW -j DROP".into(),
    );
    kube_firewall.rules.push("-m comment --comment \"kubernetes firewall for dropping marked packets\" -m mark --mark 0x8000/0x8000 -j DROP".into());
    output.rules.push("-j KUBE-FIREWALL".into());
    forward.rules.push("-j DOCKER-USER".into());
    forward.rules.push("-j DOCKER-ISOLATION-STAGE-1".into());
    forward
        .rules
        .push("-o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT".into());
    forward.rules.push("-o docker0 -j DOCKER".into());
    forward
        .rules
        .push("-i docker0 ! -o docker0 -j ACCEPT".into());
    forward.rules.push("-i docker0 -o docker0 -j ACCEPT".into());
    isolation1
        .rules
        .push("-i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2".into());
    isolation1.rules.push("-j RETURN".into());
    isolation2.rules.push("-o docker0 -j DROP".into());
    isolation2.rules.push("-j RETURN".into());
    docker_user.rules.push("-j RETURN".into());

    // nat: kube-proxy services and endpoints, Docker.
    let mut prerouting = Chain::builtin("PREROUTING", "ACCEPT");
    let nat_input = Chain::builtin("INPUT", "ACCEPT");
    let mut nat_output = Chain::builtin("OUTPUT", "ACCEPT");
    let mut postrouting = Chain::builtin("POSTROUTING", "ACCEPT");
    let mut nat_docker = Chain::user("DOCKER");
    let mut mark_masq = Chain::user("KUBE-MARK-MASQ");
    let mut kube_postrouting = Chain::user("KUBE-POSTROUTING");
    let mut services = Chain::user("KUBE-SERVICES");
    prerouting
        .rules
        .push("-m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES".into());
    prerouting
        .rules
        .push("-m addrtype --dst-type LOCAL -j DOCKER".into());
    nat_output
        .rules
        .push("-m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES".into());
    postrouting
        .rules
        .push("-m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING".into());
    mark_masq
        .rules
        .push("-j MARK --set-xmark 0x4000/0x4000".into());
    kube_postrouting
        .rules
        .push("-m mark ! --mark 0x4000/0x4000 -j RETURN".into());
    kube_postrouting
        .rules
        .push("-j MARK --set-xmark 0x4000/0x0".into());
    kube_postrouting.rules.push("-m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully".into());
    nat_docker.rules.push("-i docker0 -j RETURN".into());

    let fixed: usize = [
        &input,
        &forward,
        &output,
        &docker,
        &isolation1,
        &isolation2,
        &docker_user,
        &kube_firewall,
    ]
    .iter()
    .chain(
        [
            &prerouting,
            &nat_input,
            &nat_output,
            &postrouting,
            &nat_docker,
            &mark_masq,
            &kube_postrouting,
        ]
        .iter(),
    )
    .map(|c| c.rules.len())
    .sum();
    let mut count = fixed;
    let mut kube_chains: Vec<Chain> = Vec::new();
    let mut service = 0u64;
    let mut pod = 0u64;
    while count < rules {
        service += 1;
        if service.is_multiple_of(16) {
            // A published Docker container: one rule in nat, one in filter.
            let ip = format!("172.17.{}.{}", (service >> 8) & 0xff, service & 0xff);
            let port = rng.range(1024, 65000);
            let (ip, cidr) = match family {
                Family::Ipv4 => (ip, "32"),
                Family::Ipv6 => (format!("fd00:172:17::{service:x}"), "128"),
            };
            nat_docker.rules.push(format!(
                "! -i docker0 -p tcp -m tcp --dport {port} -j DNAT --to-destination {}",
                addr.endpoint(&ip, 80)
            ));
            docker.rules.push(format!(
                "-d {ip}/{cidr} ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT"
            ));
            count += 2;
            continue;
        }
        let name = format!(
            "{}/{}-{}:{}",
            rng.pick(NAMESPACES),
            rng.pick(APPS),
            service,
            rng.pick(PORT_NAMES)
        );
        let (proto, port) = if rng.next().is_multiple_of(8) {
            ("udp", 53)
        } else {
            ("tcp", rng.range(80, 9999))
        };
        let cluster_ip = addr.service(service);
        let mut svc = Chain::user(format!("KUBE-SVC-{}", rng.hash()));
        services.rules.push(format!(
            "-d {cluster_ip}/{h} -p {proto} -m comment --comment \"{name} cluster IP\" -m {proto} --dport {port} -j {}",
            svc.name
        ));
        svc.rules.push(format!(
            "! -s {} -d {cluster_ip}/{h} -p {proto} -m comment --comment \"{name} cluster IP\" -m {proto} --dport {port} -j KUBE-MARK-MASQ",
            addr.pod_cidr()
        ));
        count += 2;
        let endpoints = rng.range(1, 4);
        for k in 0..endpoints {
            pod += 1;
            let pod_ip = addr.pod(pod);
            let mut sep = Chain::user(format!("KUBE-SEP-{}", rng.hash()));
            let remaining = endpoints - k;
            let probability = if remaining > 1 {
                // iptables stores the probability as a 31-bit fraction and
                // prints it back with 11 decimals.
                let stored = (2f64.powi(31) / remaining as f64).round();
                format!(
                    " -m statistic --mode random --probability {:.11}",
                    stored / 2f64.powi(31)
                )
            } else {
                String::new()
            };
            let endpoint = addr.endpoint(&pod_ip, port);
            svc.rules.push(format!(
                "-m comment --comment \"{name} -> {endpoint}\"{probability} -j {}",
                sep.name
            ));
            sep.rules.push(format!(
                "-s {pod_ip}/{h} -m comment --comment \"{name}\" -j KUBE-MARK-MASQ"
            ));
            sep.rules.push(format!("-p {proto} -m comment --comment \"{name}\" -m {proto} -j DNAT --to-destination {endpoint}"));
            count += 3;
            kube_chains.push(sep);
        }
        kube_chains.push(svc);
    }
    services.rules.push(
        "-m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS".into(),
    );
    let nodeports = Chain::user("KUBE-NODEPORTS");

    let mut nat_user = vec![nat_docker, mark_masq, nodeports, kube_postrouting, services];
    nat_user.extend(kube_chains);
    let mut out = String::with_capacity(rules * 160);
    let tool = match family {
        Family::Ipv4 => "iptables",
        Family::Ipv6 => "ip6tables",
    };
    let _ = writeln!(
        out,
        "# Generated by {tool}-save v1.8.9 (nf_tables) from gen-ruleset seed {seed}"
    );
    write_table(
        &mut out,
        &mut rng,
        "filter",
        vec![input, forward, output],
        vec![docker, isolation1, isolation2, docker_user, kube_firewall],
    );
    write_table(
        &mut out,
        &mut rng,
        "nat",
        vec![prerouting, nat_input, nat_output, postrouting],
        nat_user,
    );
    out.push_str("# Completed\n");
    out
}

/// Writes one table as iptables-save does: built-in chains, then user chains
/// sorted by name; declarations first, then every chain's rules.
fn write_table(
    out: &mut String,
    rng: &mut Rng,
    table: &str,
    builtins: Vec<Chain>,
    mut user: Vec<Chain>,
) {
    user.sort_by(|a, b| a.name.cmp(&b.name));
    let chains: Vec<Chain> = builtins.into_iter().chain(user).collect();
    let _ = writeln!(out, "*{table}");
    for chain in &chains {
        let counters = if chain.policy == "-" {
            "[0:0]".to_string()
        } else {
            rng.counters()
        };
        let _ = writeln!(out, ":{} {} {counters}", chain.name, chain.policy);
    }
    for chain in &chains {
        for rule in &chain.rules {
            let _ = writeln!(out, "{} -A {} {rule}", rng.counters(), chain.name);
        }
    }
    out.push_str("COMMIT\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule_lines(dump: &str) -> usize {
        dump.lines().filter(|l| l.contains(" -A ")).count()
    }

    #[test]
    fn same_seed_same_dump_other_seed_other_dump() {
        assert_eq!(
            generate(500, 7, Family::Ipv4),
            generate(500, 7, Family::Ipv4)
        );
        assert_ne!(
            generate(500, 7, Family::Ipv4),
            generate(500, 8, Family::Ipv4)
        );
    }

    #[test]
    fn size_is_at_least_what_was_asked_and_close_to_it() {
        for (n, family) in [
            (100, Family::Ipv4),
            (10_000, Family::Ipv4),
            (1_000, Family::Ipv6),
        ] {
            let lines = rule_lines(&generate(n, 1, family));
            assert!(lines >= n && lines < n + 20, "{n}: {lines}");
        }
    }

    #[test]
    fn has_the_realistic_features() {
        let dump = generate(2_000, 3, Family::Ipv4);
        for needle in [
            "--probability 0.",
            "! -s ",
            "\\\"ops\\\"",
            "new   connections",
            "DOCKER-ISOLATION",
            "-j DNAT",
        ] {
            assert!(dump.contains(needle), "missing {needle}");
        }
        let ipv6 = generate(200, 3, Family::Ipv6);
        assert!(ipv6.contains("fd00:10:244::") && !ipv6.contains("10.244."));
    }
}
