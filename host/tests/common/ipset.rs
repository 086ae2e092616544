//! An independent model of the ipset series (docs/metrics.md), read from
//! `ipset list -o xml` with roxmltree: another format than the plain text
//! the component reads, and nothing of the component. What each set's
//! entries, capacity, memory, references and element counters must be.

use std::collections::BTreeMap;

/// (metric, labels) → value.
pub type Expected = BTreeMap<(String, Vec<(String, String)>), u64>;

fn key(metric: &str, labels: &[(&str, &str)]) -> (String, Vec<(String, String)>) {
    (
        metric.to_owned(),
        labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children().find(|c| c.has_tag_name(name))
}

fn number(node: roxmltree::Node<'_, '_>, name: &str) -> Option<u64> {
    child(node, name)?.text()?.trim().parse().ok()
}

fn ipv4(text: &str) -> u64 {
    let address: std::net::Ipv4Addr = text.parse().expect("an IPv4 address");
    u64::from(u32::from(address))
}

/// What a set's type and header say it can hold.
fn capacity(kind: &str, header: roxmltree::Node<'_, '_>) -> Option<u64> {
    if kind.starts_with("hash:") {
        return number(header, "maxelem");
    }
    if kind == "list:set" {
        return number(header, "size");
    }
    let range = child(header, "range")?.text()?;
    let (low, high) = range.split_once('-')?;
    if kind == "bitmap:port" {
        return Some(high.parse::<u64>().ok()? - low.parse::<u64>().ok()? + 1);
    }
    // bitmap:ip (in blocks of its netmask) and bitmap:ip,mac.
    let block = 1u64 << (32 - number(header, "netmask").unwrap_or(32));
    Some((ipv4(high) - ipv4(low) + 1).div_ceil(block))
}

/// Every series the model expects of a listing, element counters
/// included (for the sets with `<counters/>`).
pub fn expected(xml: &str) -> Expected {
    let document = roxmltree::Document::parse(xml).expect("ipset's XML");
    let mut expected = Expected::new();
    for set in document.descendants().filter(|n| n.has_tag_name("ipset")) {
        let name = set.attribute("name").expect("a set name");
        let kind = child(set, "type").and_then(|t| t.text()).expect("a type");
        let header = child(set, "header").expect("a header");
        let entries = number(header, "numentries").expect("numentries");
        expected.insert(
            key("ipset_entries", &[("set", name), ("type", kind)]),
            entries,
        );
        if let Some(max) = capacity(kind, header) {
            expected.insert(key("ipset_max_entries", &[("set", name)]), max);
        }
        let memory = number(header, "memsize").expect("memsize");
        expected.insert(key("ipset_memory_bytes", &[("set", name)]), memory);
        let references = number(header, "references").expect("references");
        expected.insert(key("ipset_references", &[("set", name)]), references);
        if child(header, "counters").is_none() {
            continue;
        }
        for member in set.descendants().filter(|n| n.has_tag_name("member")) {
            let element = child(member, "elem").and_then(|e| e.text()).expect("elem");
            for (metric, field) in [
                ("ipset_element_packets_total", "packets"),
                ("ipset_element_bytes_total", "bytes"),
            ] {
                let value = number(member, field).expect("a counter");
                expected.insert(key(metric, &[("set", name), ("element", element)]), value);
            }
        }
    }
    expected
}

/// The ipset series of an exposition, in the model's shape (the scrape
/// series of the source left out).
pub fn served(exposition: &str) -> Expected {
    super::http::parse_samples(exposition)
        .into_iter()
        .filter(|((name, _), _)| {
            name.starts_with("ipset_")
                && !name.starts_with("ipset_scrape_")
                && !name.starts_with("ipset_collection_")
                && name != "ipset_element_series_dropped"
        })
        .map(|((name, labels), value)| {
            let mut labels: Vec<(String, String)> = labels.into_iter().collect();
            // The model lists labels as the metrics contract orders them.
            labels.sort_by_key(|(k, _)| match k.as_str() {
                "set" => 0,
                _ => 1,
            });
            (
                (name, labels),
                value.parse().unwrap_or_else(|_| panic!("a u64: {value}")),
            )
        })
        .collect()
}
