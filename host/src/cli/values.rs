//! The flags' values: their words parsed into the shared types, and held
//! to a range. Durations and sizes are parsed by `humantime` and
//! `bytesize`, then checked: a value that parses but makes no sense (or
//! would overflow a clock later) is refused at start-up with the flag and
//! the bound.

use crate::sandbox::RuleSelection;
use exposition::{Family, Format};
use std::time::Duration;

/// Families in the order configured, each at most once, at least one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Families(pub Vec<Family>);

/// Table names in the order configured, each at most once, at least one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables(pub Vec<String>);

/// The tables iptables knows; any other name would fail every collection.
const TABLES: [&str; 5] = ["filter", "nat", "mangle", "raw", "security"];

/// Most metrics requests `--web.max-requests` may allow at once.
pub(super) const MAX_REQUESTS: i64 = 1_000_000;
/// Longest duration any flag takes: beyond it a value is a typo, and
/// adding it to a clock could overflow.
pub(super) const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);
/// Largest size any flag takes: the guest's memory is 32-bit.
const MAX_BYTES: u64 = 4 << 30;

/// The flags' own words for the shared types: nothing outside `cli`
/// knows clap.
pub(super) fn parse_family(label: &str) -> Result<Family, String> {
    Family::from_label(label).ok_or_else(|| format!("`{label}`: expected ipv4 or ipv6"))
}

pub(super) fn parse_format(name: &str) -> Result<Format, String> {
    match name {
        "text" => Ok(Format::Text),
        "openmetrics" => Ok(Format::OpenMetrics),
        other => Err(format!("`{other}`: expected text or openmetrics")),
    }
}

pub(super) fn parse_rules(name: &str) -> Result<RuleSelection, String> {
    match name {
        "all" => Ok(RuleSelection::All),
        "commented" => Ok(RuleSelection::Commented),
        "none" => Ok(RuleSelection::None),
        other => Err(format!("`{other}`: expected all, commented or none")),
    }
}

pub(super) fn parse_families(list: &str) -> Result<Families, String> {
    let mut families = Vec::new();
    for label in list.split(',').map(str::trim).filter(|l| !l.is_empty()) {
        let family = Family::from_label(label)
            .ok_or_else(|| format!("unknown family `{label}`: expected ipv4 or ipv6"))?;
        if families.contains(&family) {
            return Err(format!("family `{label}` given twice"));
        }
        families.push(family);
    }
    if families.is_empty() {
        return Err("no family given: expected ipv4, ipv6 or both".into());
    }
    Ok(Families(families))
}

pub(super) fn parse_tables(list: &str) -> Result<Tables, String> {
    let mut tables: Vec<String> = Vec::new();
    for name in list.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if !TABLES.contains(&name) {
            return Err(format!(
                "unknown table `{name}`: expected {}",
                TABLES.join(", ")
            ));
        }
        if tables.iter().any(|t| t == name) {
            return Err(format!("table `{name}` given twice"));
        }
        tables.push(name.to_owned());
    }
    if tables.is_empty() {
        return Err(format!(
            "no table given: expected some of {}",
            TABLES.join(", ")
        ));
    }
    Ok(Tables(tables))
}

/// A path a request can name exactly: it starts with `/`, holds only what
/// RFC 3986 allows in a path (so no `?` query, `#` fragment, space or
/// non-ASCII byte, which would make it unreachable: requests are routed by
/// their path alone), and is none of the exporter's other pages.
pub(super) fn parse_telemetry_path(path: &str) -> Result<String, String> {
    if !path.starts_with('/') {
        return Err("must start with `/`".into());
    }
    if let Some(bad) = path.chars().find(|&c| !is_path_char(c)) {
        return Err(format!(
            "`{}` cannot be in a URL path (a `?` starts a query, a `#` a fragment): requests to it would never reach the metrics",
            bad.escape_default()
        ));
    }
    if path == "/" {
        return Err("`/` is the landing page".into());
    }
    for (taken, what) in [
        ("/-/healthy", "the health check"),
        ("/-/ready", "the readiness check"),
    ] {
        if path == taken {
            return Err(format!("`{taken}` is {what}"));
        }
    }
    if path == "/analyzer" || path.starts_with("/analyzer/") {
        return Err("paths under `/analyzer` belong to the ruleset analyzer".into());
    }
    Ok(path.to_owned())
}

/// RFC 3986 `pchar` or `/`: unreserved, sub-delims, `:`, `@`, and `%` of
/// a percent-encoded byte.
fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/%".contains(c)
}

/// `500ms`, `10s`, `2m`, `1m30s`: more than zero, at most a day.
pub(super) fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text)
        .map_err(|err| format!("`{text}` is not a duration like 500ms, 10s or 2m: {err}"))?;
    if duration.is_zero() {
        return Err("must be more than zero".into());
    }
    if duration > MAX_DURATION {
        return Err(format!(
            "`{text}` is out of range: at most {}",
            humantime::format_duration(MAX_DURATION)
        ));
    }
    Ok(duration)
}

/// Like [`parse_duration`], and `0` (or `0s`) too.
pub(super) fn parse_duration_or_zero(text: &str) -> Result<Duration, String> {
    if text.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    match humantime::parse_duration(text) {
        Ok(duration) if duration.is_zero() => Ok(duration),
        _ => parse_duration(text),
    }
}

/// `4096`, `64KiB`, `64MiB`, `1GiB` (and decimal `MB`): more than zero, at most 4GiB.
pub(super) fn parse_bytes(text: &str) -> Result<usize, String> {
    let size: bytesize::ByteSize = text
        .parse()
        .map_err(|err| format!("`{text}` is not a size like 4096, 64KiB or 64MiB: {err}"))?;
    let bytes = size.as_u64();
    if bytes == 0 {
        return Err("must be more than zero".into());
    }
    if bytes > MAX_BYTES {
        return Err(format!("`{text}` is out of range: at most 4GiB"));
    }
    usize::try_from(bytes).map_err(|_| format!("`{text}` is too large for this machine"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_words_map_to_the_shared_types() {
        assert_eq!(parse_family("ipv6"), Ok(Family::Ipv6));
        assert!(parse_family("ipv5").is_err());
        assert_eq!(parse_format("openmetrics"), Ok(Format::OpenMetrics));
        assert_eq!(parse_format("text"), Ok(Format::Text));
        assert!(parse_format("json").is_err());
        for (word, rules) in [
            ("all", RuleSelection::All),
            ("commented", RuleSelection::Commented),
            ("none", RuleSelection::None),
        ] {
            assert_eq!(parse_rules(word), Ok(rules));
        }
        assert!(parse_rules("some").is_err());
    }

    #[test]
    fn families_keep_order_and_reject_unknown_repeated_or_none() {
        assert_eq!(
            parse_families("ipv6,ipv4"),
            Ok(Families(vec![Family::Ipv6, Family::Ipv4]))
        );
        assert_eq!(parse_families("ipv4"), Ok(Families(vec![Family::Ipv4])));
        for bad in ["ipv4,ipv5", "ipv4,ipv4", "", " , "] {
            assert!(parse_families(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tables_keep_order_and_reject_unknown_repeated_or_none() {
        assert_eq!(
            parse_tables("nat, filter"),
            Ok(Tables(vec!["nat".into(), "filter".into()]))
        );
        for bad in ["filter,filtr", "nat,nat", "", " , ", "-t"] {
            assert!(parse_tables(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn intervals_may_be_zero_where_zero_means_something() {
        assert_eq!(parse_duration_or_zero("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration_or_zero("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration_or_zero("5s"), Ok(Duration::from_secs(5)));
        for bad in ["", "-1s", "x", "25h"] {
            assert!(parse_duration_or_zero(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn durations_and_sizes_are_checked_and_bounded() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("24h"), Ok(MAX_DURATION));
        for bad in ["", "0s", "-1s", "abc", "10", "25h", "10000000000000000000s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert_eq!(parse_bytes("64MiB"), Ok(64 << 20));
        assert_eq!(parse_bytes("4GiB"), Ok(4 << 30));
        for bad in ["", "0", "x", "5GiB", "99999999999999999999GiB"] {
            assert!(parse_bytes(bad).is_err(), "{bad}");
        }
        assert!(
            parse_duration("10000000000000000000s")
                .is_err_and(|e| e.contains("out of range: at most 1day")),
            "{:?}",
            parse_duration("10000000000000000000s")
        );
    }

    #[test]
    fn telemetry_path_must_be_absolute_and_not_the_landing_page() {
        for good in [
            "/metrics",
            "/probe/iptables",
            "/m-1_2.~x",
            "/a%20b",
            "/x;y=1",
        ] {
            assert_eq!(parse_telemetry_path(good).as_deref(), Ok(good));
        }
        for (bad, why) in [
            ("metrics", "must start with `/`"),
            ("/", "landing page"),
            // Each of these would be accepted, linked from `/` and never
            // reached: a request's query and fragment are not its path.
            ("/metrics?x", "`?` cannot be in a URL path"),
            ("/metrics#top", "`#` cannot be in a URL path"),
            ("/me trics", "` ` cannot be in a URL path"),
            ("/métrics", "cannot be in a URL path"),
            ("/m\"x", "cannot be in a URL path"),
            ("/-/healthy", "health check"),
            ("/-/ready", "readiness check"),
            ("/analyzer", "ruleset analyzer"),
            ("/analyzer/rulesets", "ruleset analyzer"),
        ] {
            let err = parse_telemetry_path(bad).expect_err(bad);
            assert!(err.contains(why), "{bad}: {err}");
        }
        assert!(parse_telemetry_path("/analyzers").is_ok());
    }
}
