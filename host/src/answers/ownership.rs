//! Which source answers for which table, so that no counter is exported
//! twice: a table the iptables source shows (its save command printed a
//! `*TABLE` block for it) is the iptables source's; every other table nft
//! lists — other names, tables iptables-nft-save calls incompatible, and
//! every inet, arp, bridge and netdev table — is the nftables source's.

use crate::sandbox::TableId;
use exposition::Family;

/// The tables iptables knows by name: when a family's save output is not
/// there to say which it shows, all of them are left to it.
const IPTABLES_TABLES: [&str; 5] = ["filter", "nat", "mangle", "raw", "security"];

/// nft's name for the family an iptables family's tables live in.
fn nft_family(family: Family) -> &'static str {
    match family {
        Family::Ipv4 => "ip",
        Family::Ipv6 => "ip6",
    }
}

/// The tables the nftables source leaves to the iptables source: for each
/// family collected, the tables its save output showed (`shown`, for the
/// families that parsed), or every table iptables knows by name when it
/// did not parse this time. Counting a table twice is worse than missing
/// it for a scrape: the failed family already reports success 0.
pub(crate) fn left_to_iptables(
    collected: &[Family],
    shown: &[(Family, Vec<String>)],
) -> Vec<TableId> {
    let mut tables = Vec::new();
    for &family in collected {
        let names: Vec<String> = match shown.iter().find(|(f, _)| *f == family) {
            Some((_, names)) => names.clone(),
            None => IPTABLES_TABLES.iter().map(|n| (*n).to_owned()).collect(),
        };
        tables.extend(names.into_iter().map(|name| TableId {
            family: nft_family(family).to_owned(),
            name,
        }));
    }
    tables
}

/// With `--iptables.tables`, the tables iptables knows by name that a
/// family does not save: nobody's. Asking for fewer tables is asking to
/// pay less, and nft listing a 100k-rule `nat` table costs more than
/// saving it (`tables`: the family's; empty for every table).
pub(crate) fn not_saved(family: Family, tables: &[String]) -> Vec<TableId> {
    if tables.is_empty() {
        return Vec::new();
    }
    IPTABLES_TABLES
        .iter()
        .filter(|name| !tables.iter().any(|t| t == *name))
        .map(|name| TableId {
            family: nft_family(family).to_owned(),
            name: (*name).to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(tables: &[TableId]) -> Vec<String> {
        tables
            .iter()
            .map(|t| format!("{} {}", t.family, t.name))
            .collect()
    }

    #[test]
    fn the_tables_a_family_does_not_save_are_nobodys() {
        assert!(not_saved(Family::Ipv4, &[]).is_empty());
        assert_eq!(
            ids(&not_saved(Family::Ipv6, &["filter".into(), "nat".into()])),
            vec!["ip6 mangle", "ip6 raw", "ip6 security"]
        );
    }

    #[test]
    fn a_family_that_parsed_keeps_the_tables_it_showed() {
        let shown = [(Family::Ipv4, vec!["filter".to_owned(), "nat".to_owned()])];
        assert_eq!(
            ids(&left_to_iptables(&[Family::Ipv4], &shown)),
            ["ip filter", "ip nat"]
        );
    }

    #[test]
    fn a_family_that_failed_keeps_every_table_iptables_knows() {
        let shown = [(Family::Ipv4, vec!["filter".to_owned()])];
        assert_eq!(
            ids(&left_to_iptables(&[Family::Ipv4, Family::Ipv6], &shown)),
            [
                "ip filter",
                "ip6 filter",
                "ip6 nat",
                "ip6 mangle",
                "ip6 raw",
                "ip6 security"
            ]
        );
    }

    #[test]
    fn a_family_not_collected_leaves_everything_to_nftables() {
        assert!(left_to_iptables(&[], &[]).is_empty());
    }
}
