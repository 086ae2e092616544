//! A packet traced through a dump, as netfilter would walk it: the tables
//! that hook where the packet enters, in their priority order, each from
//! its built-in chain, following `-j`, `-g` and `RETURN`, to a verdict.
//!
//! Each rule met is a step that says why it matched, did not match, or
//! *may* match: an option the tracer does not interpret (a set's members,
//! an address type, TCP flags, a rate) or a field the packet leaves out.
//! A rule that may match is taken as not matching, and the verdict is then
//! marked uncertain. The tracer does not change the packet: a `DNAT` or
//! `SNAT` ends the nat table as netfilter does, but later tables see the
//! packet as given. Only a connection's first packet (`NEW`, or no state
//! given) passes the nat table.

use crate::analyze::{Rule, Table};
use crate::options;
use rustc_hash::FxHashMap as HashMap;
use std::net::IpAddr;

/// Where a packet enters the ruleset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Hook {
    Prerouting,
    #[default]
    Input,
    Forward,
    Output,
    Postrouting,
}

impl Hook {
    /// The built-in chain of every table that hooks here.
    pub fn chain(self) -> &'static str {
        match self {
            Hook::Prerouting => "PREROUTING",
            Hook::Input => "INPUT",
            Hook::Forward => "FORWARD",
            Hook::Output => "OUTPUT",
            Hook::Postrouting => "POSTROUTING",
        }
    }

    /// The tables with a chain at this hook, in netfilter's order (raw
    /// -300, mangle -150, nat's destination NAT -100, filter 0, security
    /// 50, nat's source NAT 100).
    fn tables(self) -> &'static [&'static str] {
        match self {
            Hook::Prerouting => &["raw", "mangle", "nat"],
            Hook::Input => &["mangle", "filter", "security", "nat"],
            Hook::Forward => &["mangle", "filter", "security"],
            Hook::Output => &["raw", "mangle", "nat", "filter", "security"],
            Hook::Postrouting => &["mangle", "nat"],
        }
    }
}

/// A packet to trace. What it leaves out (`None`), a rule asking about it
/// may match.
#[derive(Debug, Clone, Default)]
pub struct Packet {
    pub hook: Hook,
    pub source: Option<String>,
    pub destination: Option<String>,
    /// A name (`tcp`, `udp`, `icmp`, `ipv6-icmp`, …) or a number.
    pub protocol: Option<String>,
    pub source_port: Option<u16>,
    pub destination_port: Option<u16>,
    pub in_interface: Option<String>,
    pub out_interface: Option<String>,
    /// Its conntrack state: `NEW`, `ESTABLISHED`, `RELATED`, `INVALID`,
    /// `UNTRACKED`.
    pub ctstate: Option<String>,
}

/// How a rule fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Matched,
    NotMatched,
    /// An option the tracer does not interpret, or a field the packet
    /// leaves out: taken as not matching.
    MayMatch,
}

/// One rule met, or a built-in chain's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The rule's line, or the policy's declaration.
    pub line: usize,
    /// Indexes into the tables and their chains.
    pub table: usize,
    pub chain: usize,
    /// 1-based position in its chain; 0 for the policy.
    pub position: usize,
    pub outcome: Outcome,
    /// Why, for a person: the option that did not match, those not
    /// interpreted, or what matched.
    pub reason: String,
    /// The rule's target or the policy, when it has one.
    pub target: Option<String>,
}

/// Where the packet went and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// The target that decided, in capitals (`ACCEPT`, `DROP`, `REJECT`,
    /// `QUEUE`, `NFQUEUE`), a policy's when the packet fell through.
    pub verdict: String,
    /// False when a rule met may have matched (its outcome says why), or
    /// the walk was cut short (a loop).
    pub certain: bool,
    pub steps: Vec<Step>,
}

/// A packet field that does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct PacketError {
    pub field: &'static str,
    pub message: String,
}

/// Most steps before the walk is cut short: a ruleset that loops (iptables
/// refuses one, a hand-written dump need not).
const MAX_STEPS: usize = 1_000_000;
/// Most chains deep, as the kernel's own bound.
const MAX_DEPTH: usize = 64;

/// Traces `packet` through the dump's `tables` and `rules` (as
/// [`crate::analyze`] gives them).
pub fn trace(tables: &[Table], rules: &[Rule], packet: &Packet) -> Result<Trace, PacketError> {
    let fields = Fields::read(packet)?;
    let mut by_chain: HashMap<(usize, usize), Vec<&Rule>> = HashMap::default();
    for rule in rules {
        by_chain
            .entry((rule.table, rule.chain))
            .or_default()
            .push(rule);
    }
    let mut walk = Walk {
        tables,
        by_chain,
        fields,
        steps: Vec::new(),
        certain: true,
    };
    let first_packet = packet
        .ctstate
        .as_deref()
        .is_none_or(|s| s.eq_ignore_ascii_case("NEW"));
    for &name in packet.hook.tables() {
        if name == "nat" && !first_packet {
            continue;
        }
        let Some(t) = tables.iter().position(|t| t.name == name) else {
            continue;
        };
        let Some(c) = tables[t]
            .chains
            .iter()
            .position(|c| c.name == packet.hook.chain())
        else {
            continue;
        };
        match walk.table(t, c) {
            Decision::Accept => {}
            Decision::Final(verdict) => return Ok(walk.done(verdict)),
            Decision::CutShort => {
                walk.certain = false;
                return Ok(walk.done("ACCEPT".into()));
            }
        }
    }
    Ok(walk.done("ACCEPT".into()))
}

/// What a table decided.
enum Decision {
    /// On to the next table.
    Accept,
    /// The packet's fate.
    Final(String),
    /// A loop, or chains too deep.
    CutShort,
}

struct Walk<'a> {
    tables: &'a [Table],
    by_chain: HashMap<(usize, usize), Vec<&'a Rule>>,
    fields: Fields,
    steps: Vec<Step>,
    certain: bool,
}

impl Walk<'_> {
    fn done(self, verdict: String) -> Trace {
        Trace {
            verdict,
            certain: self.certain,
            steps: self.steps,
        }
    }

    /// One table, from its built-in chain `c`.
    fn table(&mut self, t: usize, c: usize) -> Decision {
        let table = &self.tables[t];
        // (chain, next rule) of the chains jumped from.
        let mut stack: Vec<(usize, usize)> = Vec::new();
        let (mut chain, mut next) = (c, 0usize);
        loop {
            if self.steps.len() >= MAX_STEPS || stack.len() > MAX_DEPTH {
                return Decision::CutShort;
            }
            let rule = self
                .by_chain
                .get(&(t, chain))
                .and_then(|r| r.get(next))
                .copied();
            let Some(rule) = rule else {
                // The end of a chain: back to the one that jumped here, or
                // the built-in chain's policy.
                match stack.pop() {
                    Some(caller) => (chain, next) = caller,
                    None => return self.policy(t, c),
                }
                continue;
            };
            next += 1;
            let (outcome, reason) = evaluate(&rule.text, &self.fields);
            self.steps.push(Step {
                line: rule.line,
                table: t,
                chain,
                position: rule.position,
                outcome,
                reason,
                target: rule.target.as_ref().map(|t| t.name.clone()),
            });
            match outcome {
                Outcome::Matched => {}
                Outcome::NotMatched => continue,
                Outcome::MayMatch => {
                    self.certain = false;
                    continue;
                }
            }
            let Some(target) = &rule.target else { continue };
            let name = target.name.as_str();
            if let Some(to) = table.chains.iter().position(|c| c.name == name)
                && !table.chains[to].builtin()
            {
                if !target.goto {
                    stack.push((chain, next));
                }
                (chain, next) = (to, 0);
                continue;
            }
            match name {
                "ACCEPT" => return Decision::Accept,
                "RETURN" => match stack.pop() {
                    Some(caller) => (chain, next) = caller,
                    None => return self.policy(t, c),
                },
                "DROP" | "REJECT" | "QUEUE" | "NFQUEUE" => {
                    return Decision::Final(name.to_owned());
                }
                // NAT ends its table; TPROXY its mangle chain.
                "DNAT" | "SNAT" | "MASQUERADE" | "REDIRECT" | "NETMAP" | "TPROXY" => {
                    return Decision::Accept;
                }
                // LOG, MARK, CONNMARK, CT, TRACE, …: on to the next rule.
                _ => {}
            }
        }
    }

    /// The built-in chain's policy, as a step.
    fn policy(&mut self, t: usize, c: usize) -> Decision {
        let chain = &self.tables[t].chains[c];
        let policy = chain.policies.last();
        let name = policy
            .map(|p| p.name.clone())
            .filter(|n| n != "-")
            .unwrap_or_else(|| "ACCEPT".into());
        self.steps.push(Step {
            line: policy.map_or(chain.line, |p| p.line),
            table: t,
            chain: c,
            position: 0,
            outcome: Outcome::Matched,
            reason: format!("the end of {}: its policy", chain.name),
            target: Some(name.clone()),
        });
        if name == "ACCEPT" {
            Decision::Accept
        } else {
            Decision::Final(name)
        }
    }
}

/// The packet's fields, read once.
struct Fields {
    source: Option<IpAddr>,
    destination: Option<IpAddr>,
    protocol: Option<Protocol>,
    source_port: Option<u16>,
    destination_port: Option<u16>,
    in_interface: Option<String>,
    out_interface: Option<String>,
    ctstate: Option<String>,
}

/// A protocol by number when it has one, else by its name as given.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Protocol {
    Number(u8),
    Name(String),
}

impl Protocol {
    fn read(text: &str) -> Self {
        let lower = text.to_ascii_lowercase();
        if let Ok(n) = lower.parse() {
            return Protocol::Number(n);
        }
        let number = match lower.as_str() {
            "icmp" => 1,
            "igmp" => 2,
            "tcp" => 6,
            "udp" => 17,
            "gre" => 47,
            "esp" => 50,
            "ah" => 51,
            "ipv6-icmp" | "icmpv6" => 58,
            "sctp" => 132,
            "udplite" => 136,
            _ => return Protocol::Name(lower),
        };
        Protocol::Number(number)
    }
}

impl Fields {
    fn read(packet: &Packet) -> Result<Self, PacketError> {
        let address = |field: &'static str, text: &Option<String>| {
            text.as_deref()
                .map(|t| {
                    t.trim().parse::<IpAddr>().map_err(|_| PacketError {
                        field,
                        message: format!("{t:?} is not an IPv4 or IPv6 address"),
                    })
                })
                .transpose()
        };
        let source = address("source", &packet.source)?;
        let destination = address("destination", &packet.destination)?;
        if let (Some(s), Some(d)) = (source, destination)
            && s.is_ipv4() != d.is_ipv4()
        {
            return Err(PacketError {
                field: "destination",
                message: format!("{d} is not of the source's family ({s})"),
            });
        }
        fn text(t: &Option<String>) -> Option<&str> {
            t.as_deref().map(str::trim).filter(|t| !t.is_empty())
        }
        Ok(Self {
            source,
            destination,
            protocol: text(&packet.protocol).map(Protocol::read),
            source_port: packet.source_port,
            destination_port: packet.destination_port,
            in_interface: text(&packet.in_interface).map(str::to_owned),
            out_interface: text(&packet.out_interface).map(str::to_owned),
            ctstate: text(&packet.ctstate).map(str::to_ascii_uppercase),
        })
    }
}

/// What one option says of the packet.
enum Test {
    Yes,
    No(String),
    /// Not interpreted, or the packet leaves the field out.
    Maybe(String),
}

/// Whether a rule's options all match the packet, and why (the target and
/// its options, after `-j`/`-g`, are not matches).
fn evaluate(text: &str, fields: &Fields) -> (Outcome, String) {
    let mut matched = Vec::new();
    let mut maybe = Vec::new();
    for option in options::of(text) {
        let name = option.name.as_ref();
        if matches!(name, "-j" | "--jump" | "-g" | "--goto") {
            break;
        }
        let argument = option.argument.as_ref().map_or("", |(_, a)| a.as_ref());
        let shown = format!(
            "{}{name} {argument}",
            if option.negated { "! " } else { "" }
        );
        let test = match test(name, argument, fields) {
            Some(test) => test,
            // A module's name, a comment: nothing to test.
            None => continue,
        };
        let test = match (test, option.negated) {
            (Test::Yes, true) => Test::No(String::new()),
            (Test::No(_), true) => Test::Yes,
            (test, _) => test,
        };
        match test {
            Test::Yes => matched.push(shown),
            Test::No(why) if why.is_empty() => {
                return (Outcome::NotMatched, format!("{shown}: does not match"));
            }
            Test::No(why) => return (Outcome::NotMatched, format!("{shown}: {why}")),
            Test::Maybe(why) => maybe.push(format!("{shown}: {why}")),
        }
    }
    if !maybe.is_empty() {
        return (Outcome::MayMatch, maybe.join("; "));
    }
    if matched.is_empty() {
        return (Outcome::Matched, "matches every packet".into());
    }
    (Outcome::Matched, format!("matches: {}", matched.join(", ")))
}

/// What option `name` with `argument` says of the packet; `None` when it
/// tests nothing (`-m NAME`, `--comment`).
fn test(name: &str, argument: &str, fields: &Fields) -> Option<Test> {
    let maybe = |why: &str| Some(Test::Maybe(why.to_owned()));
    let unknown = |field: &str| Test::Maybe(format!("the packet has no {field}"));
    Some(match name {
        "-m" | "--match" | "--comment" => return None,
        "-s" | "--source" | "--src" => match fields.source {
            Some(address) => contains(argument, address),
            None => unknown("source"),
        },
        "-d" | "--destination" | "--dst" => match fields.destination {
            Some(address) => contains(argument, address),
            None => unknown("destination"),
        },
        "-p" | "--protocol" => match &fields.protocol {
            _ if argument.eq_ignore_ascii_case("all") || argument == "0" => Test::Yes,
            Some(protocol) => yes_or(*protocol == Protocol::read(argument), "another protocol"),
            None => unknown("protocol"),
        },
        "-i" | "--in-interface" => interface(argument, fields.in_interface.as_deref(), "in"),
        "-o" | "--out-interface" => interface(argument, fields.out_interface.as_deref(), "out"),
        "--sport" | "--source-port" => ports(argument, fields.source_port, "source port"),
        "--dport" | "--destination-port" => {
            ports(argument, fields.destination_port, "destination port")
        }
        "--sports" | "--source-ports" => ports(argument, fields.source_port, "source port"),
        "--dports" | "--destination-ports" => {
            ports(argument, fields.destination_port, "destination port")
        }
        "--ports" => match (fields.source_port, fields.destination_port) {
            (Some(s), Some(d)) => yes_or(
                port_in(argument, s) || port_in(argument, d),
                "neither port is listed",
            ),
            _ => unknown("source and destination port"),
        },
        "--ctstate" | "--state" => match &fields.ctstate {
            Some(state) => yes_or(
                argument
                    .split(',')
                    .any(|s| s.trim().eq_ignore_ascii_case(state)),
                &format!("the packet is {state}"),
            ),
            None => unknown("conntrack state"),
        },
        "--match-set" => return maybe("the set's members are not loaded"),
        "--src-type" | "--dst-type" | "--limit-iface-in" | "--limit-iface-out" => {
            return maybe("address types are not interpreted");
        }
        _ => return maybe("not interpreted"),
    })
}

fn yes_or(yes: bool, why: &str) -> Test {
    if yes {
        Test::Yes
    } else {
        Test::No(why.to_owned())
    }
}

/// Whether `spec` (`ADDRESS`, `ADDRESS/BITS` or `ADDRESS/MASK`) holds
/// `address`.
fn contains(spec: &str, address: IpAddr) -> Test {
    let (base, mask) = spec.split_once('/').unwrap_or((spec, ""));
    let Ok(base) = base.parse::<IpAddr>() else {
        return Test::Maybe(format!("{spec:?} is not an address"));
    };
    if base.is_ipv4() != address.is_ipv4() {
        return Test::No("another address family".into());
    }
    let (base, address, width) = match (base, address) {
        (IpAddr::V4(b), IpAddr::V4(a)) => (u128::from(u32::from(b)), u128::from(u32::from(a)), 32),
        (IpAddr::V6(b), IpAddr::V6(a)) => (u128::from(b), u128::from(a), 128),
        _ => return Test::No("another address family".into()),
    };
    let mask: u128 = if mask.is_empty() {
        u128::MAX
    } else if let Ok(bits) = mask.parse::<u32>() {
        if bits > width {
            return Test::Maybe(format!("/{bits} is wider than the address"));
        }
        u128::MAX.checked_shl(128 - bits).unwrap_or(0)
    } else {
        match mask.parse::<IpAddr>() {
            Ok(IpAddr::V4(m)) if width == 32 => u128::from(u32::from(m)) << 96,
            Ok(IpAddr::V6(m)) if width == 128 => u128::from(m),
            _ => return Test::Maybe(format!("mask {mask:?} does not read")),
        }
    };
    // Align an IPv4 address with its mask in the top 32 bits.
    let shift = 128 - width;
    let (base, address) = (base << shift, address << shift);
    yes_or(base & mask == address & mask, "not in it")
}

/// `-i`/`-o`: a name, or a prefix ending in `+`.
fn interface(spec: &str, actual: Option<&str>, which: &str) -> Test {
    let Some(actual) = actual else {
        return Test::Maybe(format!("the packet has no {which} interface"));
    };
    let matched = match spec.strip_suffix('+') {
        Some(prefix) => actual.starts_with(prefix),
        None => actual == spec,
    };
    yes_or(matched, &format!("the packet's is {actual}"))
}

/// A port, a range `A:B` (either end may be left out), or a list of them
/// (multiport).
fn ports(spec: &str, actual: Option<u16>, field: &str) -> Test {
    match actual {
        Some(port) => yes_or(port_in(spec, port), &format!("the {field} is {port}")),
        None => Test::Maybe(format!("the packet has no {field}")),
    }
}

fn port_in(spec: &str, port: u16) -> bool {
    spec.split(',').any(|item| match item.split_once(':') {
        Some((low, high)) => {
            let low = if low.is_empty() {
                Some(0)
            } else {
                low.parse().ok()
            };
            let high = if high.is_empty() {
                Some(u16::MAX)
            } else {
                high.parse().ok()
            };
            matches!((low, high), (Some(l), Some(h)) if (l..=h).contains(&port))
        }
        None => item.parse() == Ok(port),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyze;

    const DUMP: &str = "*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p udp -m udp --dport 7 -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 10.0.0.1/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.2
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:SERVICES - [0:0]
:WEB - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -m comment --comment \"block list\" -m set --match-set blocked src -j DROP
-A INPUT ! -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset
-A INPUT -j SERVICES
-A INPUT -p udp -m multiport --dports 53,5000:5010 -j ACCEPT
-A SERVICES -p tcp -m tcp --dport 80:89 -g WEB
-A SERVICES -s 192.168.0.0/255.255.0.0 -j RETURN
-A SERVICES -p tcp -j LOG --log-prefix \"-j ACCEPT \"
-A WEB -i eth+ -j ACCEPT
-A WEB -j RETURN
COMMIT
";

    fn traced(packet: Packet) -> Trace {
        let analysis = analyze(DUMP.as_bytes());
        assert_eq!(analysis.error, None);
        trace(&analysis.tables, &analysis.rules, &packet).expect("a packet that reads")
    }

    fn packet(hook: Hook) -> Packet {
        Packet {
            hook,
            source: Some("10.1.2.3".into()),
            destination: Some("10.0.0.1".into()),
            protocol: Some("tcp".into()),
            source_port: Some(40000),
            destination_port: Some(80),
            in_interface: Some("eth0".into()),
            ctstate: Some("NEW".into()),
            ..Packet::default()
        }
    }

    /// (line, outcome) of each step.
    fn path(trace: &Trace) -> Vec<(usize, Outcome)> {
        trace.steps.iter().map(|s| (s.line, s.outcome)).collect()
    }

    use Outcome::{Matched as Yes, MayMatch as May, NotMatched as No};

    #[test]
    fn a_web_packet_goes_to_its_chain_by_goto_and_is_accepted_there() {
        let trace = traced(packet(Hook::Input));
        assert_eq!(trace.verdict, "ACCEPT");
        // The set may match (not loaded): uncertain, taken as no match.
        assert!(!trace.certain);
        assert_eq!(
            path(&trace),
            [
                (19, No),
                (20, No),
                (21, May),
                (22, No),
                (23, Yes),
                (25, Yes),
                (28, Yes),
                // Accepted by filter, the packet goes on to nat's INPUT
                // (source NAT, priority 100): its policy.
                (8, Yes)
            ]
        );
        assert_eq!(trace.steps[0].reason, "-i lo: the packet's is eth0");
        assert_eq!(
            trace.steps[2].reason,
            "--match-set blocked: the set's members are not loaded"
        );
        assert_eq!(trace.steps[3].reason, "! -s 10.0.0.0/8: does not match");
        assert_eq!(trace.steps[4].reason, "matches every packet");
        assert_eq!(trace.steps[5].reason, "matches: -p tcp, --dport 80:89");
        assert_eq!(trace.steps[6].target.as_deref(), Some("ACCEPT"));
    }

    #[test]
    fn return_and_the_end_of_a_goto_chain_go_back_past_the_jump() {
        // From WEB (reached by goto), RETURN goes back to INPUT after the
        // jump to SERVICES, not to SERVICES.
        let mut lo = packet(Hook::Input);
        lo.in_interface = Some("ppp0".into());
        lo.protocol = Some("udp".into());
        lo.destination_port = Some(5005);
        let trace = traced(lo);
        assert_eq!(trace.verdict, "ACCEPT");
        assert_eq!(
            path(&trace)[path(&trace).len() - 2..],
            [(24, Yes), (8, Yes)],
            "the multiport range, then nat's INPUT"
        );
        let mut web = packet(Hook::Input);
        web.in_interface = Some("ppp0".into());
        let trace = traced(web);
        // WEB's RETURN back to INPUT, then the multiport rule (tcp: no), then
        // the policy.
        assert_eq!(
            path(&trace)[5..],
            [(25, Yes), (28, No), (29, Yes), (24, No), (14, Yes)]
        );
        assert_eq!(trace.verdict, "DROP");
        assert_eq!(trace.steps.last().map(|s| s.position), Some(0));
    }

    #[test]
    fn drop_and_reject_end_the_walk_and_the_policy_decides_a_fall_through() {
        let mut ssh = packet(Hook::Input);
        ssh.source = Some("203.0.113.9".into());
        ssh.destination_port = Some(22);
        let trace = traced(ssh);
        assert_eq!(trace.verdict, "REJECT");
        assert_eq!(path(&trace).last().copied(), Some((22, Yes)));
        // A dotted mask: 192.168.7.7 returns from SERVICES, then the policy.
        let mut lan = packet(Hook::Input);
        lan.source = Some("192.168.7.7".into());
        lan.destination_port = Some(443);
        let trace = traced(lan);
        assert_eq!(trace.verdict, "DROP");
        assert!(path(&trace).contains(&(26, Yes)));
    }

    #[test]
    fn tables_come_in_netfilter_s_order_and_nat_sees_first_packets_only() {
        let mut dns = packet(Hook::Prerouting);
        dns.protocol = Some("udp".into());
        dns.destination_port = Some(7);
        let trace = traced(dns);
        assert_eq!(
            (trace.verdict.as_str(), path(&trace)),
            ("DROP", vec![(4, Yes)])
        );
        // raw (its rule, then its policy), then nat's DNAT ends nat.
        let trace = traced(packet(Hook::Prerouting));
        assert_eq!(path(&trace), [(4, No), (2, Yes), (11, Yes)]);
        assert_eq!(trace.verdict, "ACCEPT");
        let mut established = packet(Hook::Prerouting);
        established.ctstate = Some("established".into());
        assert_eq!(path(&traced(established)), [(4, No), (2, Yes)]);
    }

    #[test]
    fn a_field_left_out_may_match_and_bad_fields_are_errors() {
        let empty = traced(Packet {
            hook: Hook::Input,
            ..Packet::default()
        });
        assert_eq!(empty.steps[0].outcome, May);
        assert_eq!(
            empty.steps[0].reason,
            "-i lo: the packet has no in interface"
        );
        assert!(!empty.certain);
        let analysis = analyze(DUMP.as_bytes());
        let bad = Packet {
            source: Some("10.0.0.300".into()),
            ..Packet::default()
        };
        let err = trace(&analysis.tables, &analysis.rules, &bad).expect_err("bad address");
        assert_eq!(
            err.to_string(),
            "source: \"10.0.0.300\" is not an IPv4 or IPv6 address"
        );
        let mixed = Packet {
            source: Some("::1".into()),
            destination: Some("10.0.0.1".into()),
            ..Packet::default()
        };
        assert!(trace(&analysis.tables, &analysis.rules, &mixed).is_err());
    }

    #[test]
    fn addresses_ports_and_interfaces_read_as_iptables_prints_them() {
        let v4 = |a: &str| a.parse::<IpAddr>().expect("address");
        assert!(matches!(
            contains("10.0.0.0/8", v4("10.200.0.1")),
            Test::Yes
        ));
        assert!(matches!(
            contains("10.0.0.0/8", v4("11.0.0.1")),
            Test::No(_)
        ));
        assert!(matches!(contains("10.0.0.5", v4("10.0.0.5")), Test::Yes));
        assert!(matches!(contains("0.0.0.0/0", v4("1.2.3.4")), Test::Yes));
        assert!(matches!(
            contains("2001:db8::/32", v4("2001:db8:1::1")),
            Test::Yes
        ));
        assert!(matches!(
            contains("2001:db8::/32", v4("2001:db9::1")),
            Test::No(_)
        ));
        assert!(matches!(contains("10.0.0.0/8", v4("::1")), Test::No(_)));
        assert!(matches!(
            contains("10.0.0.0/255.0.255.0", v4("10.9.0.9")),
            Test::Yes
        ));
        assert!(port_in("1024:", 5000) && port_in(":1023", 22) && !port_in("80,443", 8080));
        assert!(matches!(
            interface("veth+", Some("veth12"), "in"),
            Test::Yes
        ));
        assert!(matches!(
            interface("veth+", Some("eth0"), "in"),
            Test::No(_)
        ));
    }

    #[test]
    fn a_loop_is_cut_short_not_followed_forever() {
        let dump = "*filter\n:INPUT ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n-A INPUT -j A\n-A A -j B\n-A B -j A\nCOMMIT\n";
        let analysis = analyze(dump.as_bytes());
        let traced = trace(&analysis.tables, &analysis.rules, &Packet::default()).expect("reads");
        assert!(!traced.certain);
        assert!(traced.steps.len() <= MAX_DEPTH + 2);
    }
}
