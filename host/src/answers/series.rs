//! The scrape series each answer ends with: per family, and for the
//! nftables and ipset sources, whether it succeeded, how long it took, what
//! iptables-nft-save could not show, what a limit dropped, and when its
//! counters were read.

use exposition::{Family, Format, Kind, Metric, MetricWriter};
use std::time::{Duration, SystemTime};

const SCRAPE_SUCCESS: Metric = Metric {
    name: "iptables_scrape_success",
    help: "1 if the family's save command ran and its output parsed, else 0.",
    kind: Kind::Gauge,
};
const SCRAPE_DURATION: Metric = Metric {
    name: "iptables_scrape_duration_seconds",
    help: "Wall time of running the family's save command and parsing its output.",
    kind: Kind::Gauge,
};
const INCOMPATIBLE_TABLES: Metric = Metric {
    name: "iptables_incompatible_tables",
    help: "Tables iptables-nft-save could not show, or not in full, because they hold rules or base chains made with nft; what it left out has no series.",
    kind: Kind::Gauge,
};
const RULE_SERIES_DROPPED: Metric = Metric {
    name: "iptables_rule_series_dropped",
    help: "Distinct rules left without series by --iptables.max-rule-series in this answer.",
    kind: Kind::Gauge,
};
const COLLECTED_AT: Metric = Metric {
    name: "iptables_collection_timestamp_seconds",
    help: "Unix time at which the family's counters in this answer were read (its save command started).",
    kind: Kind::Gauge,
};

/// How one family fared in an answer.
#[derive(Debug, Clone, Copy)]
pub(super) struct Outcome {
    pub family: Family,
    pub success: bool,
    pub duration: Duration,
    /// Incompatible tables, for a family that parsed.
    pub incompatible_tables: Option<usize>,
    /// Rules dropped by the limit, for a family that parsed.
    pub rule_series_dropped: Option<u32>,
    /// When its counters were read (its save command started).
    pub read_at: SystemTime,
}

/// Milliseconds since the Unix epoch (negative before it, which a sane
/// clock never gives).
pub(super) fn unix_millis(time: SystemTime) -> i64 {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

/// Each family's scrape series; `iptables_rule_series_dropped` when a
/// limit is set (`limited`).
pub(super) fn write_scrape_series(
    outcomes: &[Outcome],
    format: Format,
    limited: bool,
    out: &mut String,
) {
    let family = |o: &Outcome| [("family", o.family.label())];
    let mut success = MetricWriter::new(out, &SCRAPE_SUCCESS, format);
    for o in outcomes {
        success.sample(&family(o), u64::from(o.success));
    }
    let mut duration = MetricWriter::new(out, &SCRAPE_DURATION, format);
    for o in outcomes {
        duration.sample(&family(o), o.duration.as_secs_f64());
    }
    let mut incompatible = MetricWriter::new(out, &INCOMPATIBLE_TABLES, format);
    for o in outcomes {
        if let Some(tables) = o.incompatible_tables {
            incompatible.sample(&family(o), tables as u64);
        }
    }
    if limited {
        let mut dropped = MetricWriter::new(out, &RULE_SERIES_DROPPED, format);
        for o in outcomes {
            if let Some(rules) = o.rule_series_dropped {
                dropped.sample(&family(o), u64::from(rules));
            }
        }
    }
    let mut collected = MetricWriter::new(out, &COLLECTED_AT, format);
    for o in outcomes {
        // Only a family whose series are served has counters to date.
        if o.success {
            collected.sample(&family(o), unix_millis(o.read_at) as f64 / 1e3);
        }
    }
}

const NFT_SCRAPE_SUCCESS: Metric = Metric {
    name: "nftables_scrape_success",
    help: "1 if nft listed the ruleset and its output parsed, else 0.",
    kind: Kind::Gauge,
};
const NFT_SCRAPE_DURATION: Metric = Metric {
    name: "nftables_scrape_duration_seconds",
    help: "Wall time of running nft and parsing its output.",
    kind: Kind::Gauge,
};
const NFT_RULE_SERIES_DROPPED: Metric = Metric {
    name: "nftables_rule_series_dropped",
    help: "Distinct nftables rules left without series by --nftables.max-rule-series in this answer.",
    kind: Kind::Gauge,
};
const NFT_COLLECTED_AT: Metric = Metric {
    name: "nftables_collection_timestamp_seconds",
    help: "Unix time at which the nftables counters in this answer were read (nft started).",
    kind: Kind::Gauge,
};

/// How the nftables source fared in an answer.
#[derive(Debug, Clone, Copy)]
pub(super) struct NftOutcome {
    pub success: bool,
    pub duration: Duration,
    /// Rules dropped by the limit, when the listing parsed.
    pub rule_series_dropped: Option<u32>,
    /// When its counters were read (nft started).
    pub read_at: SystemTime,
}

/// The nftables source's scrape series; `nftables_rule_series_dropped`
/// when a limit is set (`limited`).
pub(super) fn write_nftables_series(
    outcome: &NftOutcome,
    format: Format,
    limited: bool,
    out: &mut String,
) {
    MetricWriter::new(out, &NFT_SCRAPE_SUCCESS, format).sample(&[], u64::from(outcome.success));
    MetricWriter::new(out, &NFT_SCRAPE_DURATION, format)
        .sample(&[], outcome.duration.as_secs_f64());
    if limited && let Some(dropped) = outcome.rule_series_dropped {
        MetricWriter::new(out, &NFT_RULE_SERIES_DROPPED, format).sample(&[], u64::from(dropped));
    }
    if outcome.success {
        MetricWriter::new(out, &NFT_COLLECTED_AT, format)
            .sample(&[], unix_millis(outcome.read_at) as f64 / 1e3);
    }
}

const IPSET_SCRAPE_SUCCESS: Metric = Metric {
    name: "ipset_scrape_success",
    help: "1 if ipset listed the sets and its output parsed, else 0.",
    kind: Kind::Gauge,
};
const IPSET_SCRAPE_DURATION: Metric = Metric {
    name: "ipset_scrape_duration_seconds",
    help: "Wall time of running ipset list -t and parsing its output.",
    kind: Kind::Gauge,
};
const IPSET_ELEMENT_SERIES_DROPPED: Metric = Metric {
    name: "ipset_element_series_dropped",
    help: "Set elements left without series by --ipset.max-element-series in this answer.",
    kind: Kind::Gauge,
};
const IPSET_COLLECTED_AT: Metric = Metric {
    name: "ipset_collection_timestamp_seconds",
    help: "Unix time at which the sets in this answer were listed (ipset list -t started).",
    kind: Kind::Gauge,
};

/// How the ipset source fared in an answer.
#[derive(Debug, Clone, Copy)]
pub(super) struct IpsetOutcome {
    pub success: bool,
    pub duration: Duration,
    /// Elements dropped by the limit, when the listing parsed.
    pub element_series_dropped: Option<u32>,
    /// When the sets were listed.
    pub read_at: SystemTime,
}

/// The ipset source's scrape series; `ipset_element_series_dropped` when
/// element counters are exported (`element_counters`).
pub(super) fn write_ipset_series(
    outcome: &IpsetOutcome,
    format: Format,
    element_counters: bool,
    out: &mut String,
) {
    MetricWriter::new(out, &IPSET_SCRAPE_SUCCESS, format).sample(&[], u64::from(outcome.success));
    MetricWriter::new(out, &IPSET_SCRAPE_DURATION, format)
        .sample(&[], outcome.duration.as_secs_f64());
    if element_counters && let Some(dropped) = outcome.element_series_dropped {
        MetricWriter::new(out, &IPSET_ELEMENT_SERIES_DROPPED, format)
            .sample(&[], u64::from(dropped));
    }
    if outcome.success {
        MetricWriter::new(out, &IPSET_COLLECTED_AT, format)
            .sample(&[], unix_millis(outcome.read_at) as f64 / 1e3);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_millis_counts_from_the_epoch() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_525_600_123);
        assert_eq!(unix_millis(t), 1_764_525_600_123);
        assert_eq!(
            unix_millis(SystemTime::UNIX_EPOCH - Duration::from_millis(5)),
            -5
        );
    }
}
