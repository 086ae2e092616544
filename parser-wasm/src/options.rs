//! A rule's text as options: `[!] -x|--name [ARGUMENT…]`, each with its
//! arguments, as iptables itself reads them.
//!
//! Splitting on words alone is not enough: an argument may look like an
//! option (`-m string --string --comment` matches the bytes `--comment`;
//! `--log-prefix -j` logs with the prefix `-j`). Those arguments are told
//! from options by knowing how many arguments each option takes, from the
//! iptables extensions' own option tables. An option not in the tables
//! (an extension this list does not know) takes the words that follow it
//! up to the next one that looks like an option, as before. A quoted word
//! is never an option: iptables-save quotes arguments only.
//!
//! One tokenizer serves every reader of rule text, so that the comment a
//! series is labelled with, the comment filters and the analyzer's jump
//! targets all agree.

use crate::words::Words;
use std::borrow::Cow;

/// One option of a rule, with its first argument (the one every reader
/// here needs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleOption<'a> {
    /// Written `! --name …` or `--name ! …`.
    pub negated: bool,
    /// The option as written, e.g. `-j` or `--comment`.
    pub name: Cow<'a, str>,
    /// Its first argument, unquoted, and the byte offset where it starts.
    pub argument: Option<(usize, Cow<'a, str>)>,
}

/// How many arguments an option takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arity {
    Exactly(u8),
    /// Not in the tables: the words up to the next option-like one.
    Unknown,
}

/// The options of `text`, a rule's text as iptables-save prints it after
/// `-A CHAIN`. A word that is neither an option nor an argument (a stray
/// word) is skipped.
pub fn of(text: &str) -> Options<'_> {
    Options {
        text,
        words: Words::new(text),
    }
}

#[derive(Debug, Clone)]
pub struct Options<'a> {
    text: &'a str,
    words: Words<'a>,
}

impl<'a> Options<'a> {
    /// Whether the word starting at `at` names an option: unquoted, `-`
    /// and a letter, or `--` and more.
    fn is_option(&self, at: usize, word: &str) -> bool {
        let quoted = self.text.as_bytes().get(at) == Some(&b'"');
        let mut chars = word.chars();
        !quoted
            && chars.next() == Some('-')
            && chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '-')
    }

    /// The next word unless it is `!` (old-style negation before an
    /// argument); whether it was.
    fn skip_bang(&mut self) -> bool {
        let mut ahead = self.words.clone();
        if ahead.next().is_some_and(|(_, w)| w == "!") {
            self.words = ahead;
            return true;
        }
        false
    }
}

impl<'a> Iterator for Options<'a> {
    type Item = RuleOption<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut negated = false;
        let name = loop {
            let (at, word) = self.words.next()?;
            if word == "!" {
                negated = true;
            } else if self.is_option(at, &word) {
                break word;
            } else {
                // A stray word: no option of its own.
                negated = false;
            }
        };
        let mut argument = None;
        match arity(&name) {
            Arity::Exactly(count) => {
                for _ in 0..count {
                    negated |= self.skip_bang();
                    let taken = self.words.next();
                    if argument.is_none() {
                        argument = taken;
                    }
                }
            }
            Arity::Unknown => loop {
                let mut ahead = self.words.clone();
                let Some((at, word)) = ahead.next() else {
                    break;
                };
                if word == "!" {
                    // `--x ! ARG` (old style) or `--x ! --next`: which
                    // one the word after tells.
                    let mut after = ahead.clone();
                    match after.next() {
                        Some((at, next)) if !self.is_option(at, &next) => {
                            negated = true;
                            self.words = ahead;
                            continue;
                        }
                        _ => break,
                    }
                }
                if self.is_option(at, &word) {
                    break;
                }
                self.words = ahead;
                if argument.is_none() {
                    argument = Some((at, word));
                }
            },
        }
        Some(RuleOption {
            negated,
            name,
            argument,
        })
    }
}

/// What iptables' extensions declare for `name` (iptables 1.8: the base
/// options, libxt_*, libipt_*, libip6t_*): how many arguments it takes.
/// A `match`, so that the compiler finds the name in a few comparisons and
/// refuses a name listed twice.
fn arity(name: &str) -> Arity {
    match name {
        // Two arguments.
        | "--tcp-flags"
        | "--match-set"
        | "--add-set"
        | "--del-set"
        | "--map-set"
        | "--chunk-types" => Arity::Exactly(2),
        // One argument. Those whose argument is free text (a string, a
        // prefix, a comment, a name) above all: it can look like an option.
        // The base options.
        | "-s"
        | "--source"
        | "--src"
        | "-d"
        | "--destination"
        | "--dst"
        | "-i"
        | "--in-interface"
        | "-o"
        | "--out-interface"
        | "-p"
        | "--protocol"
        | "-j"
        | "--jump"
        | "-g"
        | "--goto"
        | "-m"
        | "--match"
        // Free text.
        | "--comment"
        | "--string"
        | "--hex-string"
        | "--log-prefix"
        | "--nflog-prefix"
        | "--ulog-prefix"
        | "--name"
        | "--hashlimit-name"
        | "--rateest-name"
        | "--rateest"
        | "--rateest1"
        | "--rateest2"
        | "--nfacct-name"
        | "--label"
        | "--helper"
        | "--physdev-in"
        | "--physdev-out"
        | "--uid-owner"
        | "--gid-owner"
        | "--selctx"
        | "--led-trigger-id"
        | "--path"
        | "--cgroup"
        | "--bytecode"
        | "--object-pinned"
        | "--u32"
        | "--genre"
        | "--vaddr"
        // Numbers, ranges, addresses, keywords.
        | "--sport"
        | "--source-port"
        | "--dport"
        | "--destination-port"
        | "--sports"
        | "--source-ports"
        | "--dports"
        | "--destination-ports"
        | "--ports"
        | "--tcp-option"
        | "--icmp-type"
        | "--icmpv6-type"
        | "--state"
        | "--ctstate"
        | "--ctproto"
        | "--ctorigsrc"
        | "--ctorigdst"
        | "--ctreplsrc"
        | "--ctrepldst"
        | "--ctorigsrcport"
        | "--ctorigdstport"
        | "--ctreplsrcport"
        | "--ctrepldstport"
        | "--ctstatus"
        | "--ctexpire"
        | "--ctdir"
        | "--mark"
        | "--limit"
        | "--limit-burst"
        | "--hashlimit"
        | "--hashlimit-upto"
        | "--hashlimit-above"
        | "--hashlimit-burst"
        | "--hashlimit-mode"
        | "--hashlimit-srcmask"
        | "--hashlimit-dstmask"
        | "--hashlimit-htable-size"
        | "--hashlimit-htable-max"
        | "--hashlimit-htable-expire"
        | "--hashlimit-htable-gcinterval"
        | "--hashlimit-rate-interval"
        | "--seconds"
        | "--hitcount"
        | "--mask"
        | "--mode"
        | "--probability"
        | "--every"
        | "--packet"
        | "--src-type"
        | "--dst-type"
        | "--src-range"
        | "--dst-range"
        | "--length"
        | "--ttl-eq"
        | "--ttl-gt"
        | "--ttl-lt"
        | "--hl-eq"
        | "--hl-gt"
        | "--hl-lt"
        | "--dscp"
        | "--dscp-class"
        | "--tos"
        | "--pkt-type"
        | "--algo"
        | "--from"
        | "--to"
        | "--connbytes"
        | "--connbytes-dir"
        | "--connbytes-mode"
        | "--connlimit-upto"
        | "--connlimit-above"
        | "--connlimit-mask"
        | "--quota"
        | "--cpu"
        | "--ecn-ip-ect"
        | "--espspi"
        | "--ahspi"
        | "--ahlen"
        | "--fragid"
        | "--fraglen"
        | "--hbh-len"
        | "--hbh-opts"
        | "--dst-len"
        | "--dst-opts"
        | "--header"
        | "--mh-type"
        | "--rt-type"
        | "--rt-segsleft"
        | "--rt-len"
        | "--rt-0-addrs"
        | "--realm"
        | "--src-group"
        | "--dst-group"
        | "--dir"
        | "--pol"
        | "--reqid"
        | "--spi"
        | "--proto"
        | "--tunnel-src"
        | "--tunnel-dst"
        | "--cluster-total-nodes"
        | "--cluster-local-node"
        | "--cluster-local-nodemask"
        | "--cluster-hash-seed"
        | "--ttl"
        | "--log"
        | "--weekdays"
        | "--monthdays"
        | "--timestart"
        | "--timestop"
        | "--datestart"
        | "--datestop"
        | "--vport"
        | "--vproto"
        | "--vdir"
        | "--vmethod"
        | "--vportctl"
        | "--rateest-bps"
        | "--rateest-pps"
        | "--rateest-bps1"
        | "--rateest-pps1"
        | "--rateest-bps2"
        | "--rateest-pps2"
        | "--packets-gt"
        | "--packets-lt"
        | "--packets-eq"
        | "--bytes-gt"
        | "--bytes-lt"
        | "--bytes-eq"
        // Targets.
        | "--set-mark"
        | "--set-xmark"
        | "--and-mark"
        | "--or-mark"
        | "--xor-mark"
        | "--nfmask"
        | "--ctmask"
        | "--log-level"
        | "--nflog-group"
        | "--nflog-range"
        | "--nflog-size"
        | "--nflog-threshold"
        | "--ulog-nlgroup"
        | "--ulog-cprange"
        | "--ulog-qthreshold"
        | "--reject-with"
        | "--to-destination"
        | "--to-source"
        | "--to-ports"
        | "--queue-num"
        | "--queue-balance"
        | "--set-class"
        | "--set-dscp"
        | "--set-dscp-class"
        | "--set-tos"
        | "--and-tos"
        | "--or-tos"
        | "--xor-tos"
        | "--ttl-set"
        | "--ttl-dec"
        | "--ttl-inc"
        | "--hl-set"
        | "--hl-dec"
        | "--hl-inc"
        | "--set-mss"
        | "--tproxy-mark"
        | "--on-port"
        | "--on-ip"
        | "--zone"
        | "--zone-orig"
        | "--zone-reply"
        | "--ctevents"
        | "--expevents"
        | "--timeout"
        | "--type"
        | "--led-delay"
        | "--gateway"
        | "--wscale"
        | "--mss"
        | "--rateest-interval"
        | "--rateest-ewmalog" => Arity::Exactly(1),
        // No argument.
        | "-f"
        | "--fragment"
        | "--syn"
        | "--log-tcp-sequence"
        | "--log-tcp-options"
        | "--log-ip-options"
        | "--log-uid"
        | "--log-macdecode"
        | "--random"
        | "--random-fully"
        | "--persistent"
        | "--notrack"
        | "--queue-bypass"
        | "--queue-cpu-fanout"
        | "--checksum-fill"
        | "--clamp-mss-to-pmtu"
        | "--save-mark"
        | "--restore-mark"
        | "--set"
        | "--rcheck"
        | "--update"
        | "--remove"
        | "--rsource"
        | "--rdest"
        | "--rttl"
        | "--reap"
        | "--kerneltz"
        | "--contiguous"
        | "--icase"
        | "--transparent"
        | "--nowildcard"
        | "--restore-skmark"
        | "--physdev-is-in"
        | "--physdev-is-out"
        | "--physdev-is-bridged"
        | "--socket-exists"
        | "--suppl-groups"
        | "--limit-iface-in"
        | "--limit-iface-out"
        | "--loose"
        | "--validmark"
        | "--accept-local"
        | "--invert"
        | "--strict"
        | "--next"
        | "--return-nomatch"
        | "--update-counters"
        | "--update-subcounters"
        | "--exist"
        | "--hashlimit-rate-match"
        | "--soft"
        | "--ecn-tcp-cwr"
        | "--ecn-tcp-ece"
        | "--fragres"
        | "--fragfirst"
        | "--fragmore"
        | "--fraglast"
        | "--rt-0-res"
        | "--rt-0-not-strict"
        | "--alarm"
        | "--led-always-blink"
        | "--sack-perm"
        | "--timestamp"
        | "--ecn"
        | "--save"
        | "--restore"
        | "--connlimit-saddr"
        | "--connlimit-daddr"
        | "--rateest-delta"
        | "--rateest-lt"
        | "--rateest-gt"
        | "--rateest-eq" => Arity::Exactly(0),
        _ => Arity::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(text: &str) -> Vec<(bool, String, Option<String>)> {
        of(text)
            .map(|o| {
                (
                    o.negated,
                    o.name.into_owned(),
                    o.argument.map(|(_, a)| a.into_owned()),
                )
            })
            .collect()
    }

    fn opt(negated: bool, name: &str, argument: Option<&str>) -> (bool, String, Option<String>) {
        (negated, name.to_owned(), argument.map(str::to_owned))
    }

    #[test]
    fn arguments_that_look_like_options_stay_arguments() {
        assert_eq!(
            options(r#"-m string --string "--comment" --algo bm -m comment --comment real"#),
            [
                opt(false, "-m", Some("string")),
                opt(false, "--string", Some("--comment")),
                opt(false, "--algo", Some("bm")),
                opt(false, "-m", Some("comment")),
                opt(false, "--comment", Some("real")),
            ]
        );
        // iptables-save prints such a string bare: only the table tells.
        assert_eq!(
            options("-m string --string --comment --algo bm -j LOG --log-prefix -j")[1],
            opt(false, "--string", Some("--comment"))
        );
        assert_eq!(
            options("-j LOG --log-prefix -j").last(),
            Some(&opt(false, "--log-prefix", Some("-j")))
        );
    }

    #[test]
    fn negations_old_and_new() {
        assert_eq!(
            options("! -s 10.0.0.0/8 -p tcp ! --syn -m tcp --dport ! 22 -j DROP"),
            [
                opt(true, "-s", Some("10.0.0.0/8")),
                opt(false, "-p", Some("tcp")),
                opt(true, "--syn", None),
                opt(false, "-m", Some("tcp")),
                opt(true, "--dport", Some("22")),
                opt(false, "-j", Some("DROP")),
            ]
        );
    }

    #[test]
    fn two_argument_options_take_both() {
        assert_eq!(
            options("-m set --match-set blocklist src -j DROP"),
            [
                opt(false, "-m", Some("set")),
                opt(false, "--match-set", Some("blocklist")),
                opt(false, "-j", Some("DROP")),
            ]
        );
        assert_eq!(
            options("-p tcp --tcp-flags FIN,SYN,RST,ACK SYN -j ACCEPT").last(),
            Some(&opt(false, "-j", Some("ACCEPT")))
        );
    }

    #[test]
    fn unknown_options_take_the_words_up_to_the_next_option() {
        assert_eq!(
            options("-m frobnicate --frob a b --knob ! c ! --flag -j ACCEPT"),
            [
                opt(false, "-m", Some("frobnicate")),
                opt(false, "--frob", Some("a")),
                opt(true, "--knob", Some("c")),
                opt(true, "--flag", None),
                opt(false, "-j", Some("ACCEPT")),
            ]
        );
    }

    #[test]
    fn offsets_point_at_the_argument_as_written() {
        let text = r#"-m comment --comment "a b" -j KUBE-SVC-X"#;
        let jump = of(text).find(|o| o.name == "-j").expect("-j");
        let (at, target) = jump.argument.expect("a target");
        assert_eq!(&text[at..], "KUBE-SVC-X");
        assert_eq!(target, "KUBE-SVC-X");
        let comment = of(text).find(|o| o.name == "--comment").expect("--comment");
        assert_eq!(
            comment.argument.map(|(at, _)| &text[at..at + 5]),
            Some("\"a b\"")
        );
    }

    #[test]
    fn stray_words_and_ends_are_harmless() {
        assert_eq!(options(""), []);
        assert_eq!(options("!"), []);
        assert_eq!(options("garbage -j"), [opt(false, "-j", None)]);
        assert_eq!(options(r#""--comment" x"#), []);
        assert_eq!(
            options("-- -1 -j X")[..],
            [opt(false, "--", Some("-1")), opt(false, "-j", Some("X"))]
        );
    }
}
