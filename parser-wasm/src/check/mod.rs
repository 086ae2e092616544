//! Checks shared by the fuzz targets (feature `fuzzing`), the fuzz
//! regression replay and the property tests: what must hold for any input.
//! Each `*_case` function panics when a property fails, which is how
//! fuzzers report.

#[cfg(test)]
mod properties;
#[cfg(test)]
mod regressions;
#[cfg(test)]
mod scaling;

use crate::render::{Pieces, Source, render};
use crate::{Dump, Family, Format, RulesetMetric, lines::Lines, parse, render_dumps};
use std::collections::HashSet;

/// Checks an exposition the way a strict text-format reader would.
pub fn validate_exposition(text: &str) -> Result<(), String> {
    let mut described: HashSet<String> = HashSet::new();
    let mut finished: HashSet<String> = HashSet::new();
    let mut series: HashSet<String> = HashSet::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut words = rest.splitn(3, ' ');
            let (kind, name) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
            if !matches!(kind, "HELP" | "TYPE") {
                return Err(format!("unknown comment: {line}"));
            }
            if kind == "HELP" && !described.insert(name.to_owned()) {
                return Err(format!("second HELP for {name}"));
            }
            continue;
        }
        let name_end = line
            .find(['{', ' '])
            .ok_or_else(|| format!("no value: {line}"))?;
        let name = &line[..name_end];
        if !described.contains(name) {
            return Err(format!("sample before HELP: {line}"));
        }
        if current.as_deref() != Some(name) {
            if let Some(previous) = current.replace(name.to_owned()) {
                finished.insert(previous);
            }
            if finished.contains(name) {
                return Err(format!("samples of {name} are not together"));
            }
        }
        let (labels, value) = match line[name_end..].strip_prefix('{') {
            Some(rest) => {
                let end = label_block_end(rest).ok_or_else(|| format!("bad labels: {line}"))?;
                (&rest[..end], rest[end + 1..].trim_start())
            }
            None => ("", line[name_end..].trim_start()),
        };
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("bad value: {line}"));
        }
        if !series.insert(format!("{name}{{{labels}}}")) {
            return Err(format!("duplicate series: {line}"));
        }
    }
    Ok(())
}

/// Index of the `}` closing a label block, following quotes and the three
/// escapes the format allows.
fn label_block_end(rest: &str) -> Option<usize> {
    let mut in_value = false;
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match (in_value, c) {
            (true, '\\') => match chars.next()?.1 {
                '\\' | '"' | 'n' => {}
                _ => return None,
            },
            (true, '"') => in_value = false,
            (true, '\n') => return None,
            (false, '"') => in_value = true,
            (false, '}') => return Some(i),
            _ => {}
        }
    }
    None
}

/// Lines in `input`, as the parser numbers them.
pub fn line_count(input: &[u8]) -> usize {
    Lines::new(input).count()
}

/// An error must point inside the input (or just after it, for a table left open).
fn assert_line_inside(line: usize, input: &[u8]) {
    let lines = line_count(input);
    assert!(
        line >= 1 && line <= lines + 1,
        "error at line {line}, input has {lines} lines"
    );
}

/// Parsing gives a ruleset or an error inside the input, and the
/// analyzer's view agrees with it.
pub fn parse_case(input: &[u8]) {
    let analysis = crate::analyze::analyze(input);
    match parse(input) {
        Err(err) => {
            assert_line_inside(err.line, input);
            assert_eq!(analysis.error.as_ref(), Some(&err));
            assert_eq!(analysis.diagnostics.len(), 1);
        }
        Ok(ruleset) => {
            let stats = ruleset.stats();
            assert_eq!(analysis.error, None);
            assert_eq!(analysis.tables.len(), stats.tables);
            let chains: usize = analysis.tables.iter().map(|t| t.chains.len()).sum();
            assert_eq!(chains, stats.chains);
            assert_eq!(analysis.rules.len() as u64, stats.rules);
            for edge in &analysis.edges {
                assert!(edge.to < analysis.tables[edge.table].chains.len());
            }
            for diagnostic in &analysis.diagnostics {
                assert_line_inside(diagnostic.line, input);
                assert!(diagnostic.column >= 1);
            }
            assert!(
                analysis
                    .diagnostics
                    .windows(2)
                    .all(|w| w[0].line <= w[1].line)
            );
        }
    }
}

/// Rendering gives a valid exposition, or an error inside the input and no text.
pub fn render_case(input: &[u8]) {
    let rendering = render_dumps(&[Dump::new(Family::Ipv4, input)]);
    match &rendering.results[0] {
        Ok(_) => {
            if let Err(problem) = validate_exposition(&rendering.exposition) {
                panic!("invalid exposition: {problem}");
            }
        }
        Err(err) => {
            assert_line_inside(err.line, input);
            assert!(err.to_string().starts_with(&format!("line {}: ", err.line)));
            assert_eq!(rendering.exposition, "", "text rendered for a failed dump");
        }
    }
}

/// Rendering `families` one family at a time in pieces of at least
/// `budget` bytes, each metric's pieces put together family after family
/// behind the metric's header (as the host does with the component's
/// resource), gives whole lines that join to exactly the one-piece
/// exposition.
pub fn assert_pieces_join_to_whole(families: &[Source<'_>], budget: usize) {
    let mut whole = String::new();
    render(families, &mut whole);
    let mut pieces: Vec<Pieces> = families.iter().map(|_| Pieces::default()).collect();
    let mut joined = String::new();
    for metric in RulesetMetric::ALL {
        let mut header_written = false;
        for (source, pieces) in families.iter().zip(&mut pieces) {
            loop {
                let piece = pieces.next(*source, metric, budget);
                if piece.is_empty() {
                    break;
                }
                assert!(
                    piece.ends_with('\n') && !piece.starts_with('#'),
                    "budget {budget}: a piece ends inside a line or holds a header"
                );
                if !header_written {
                    // The families of one exposition share its format.
                    let format = families.first().map_or(Format::Text, |f| f.format);
                    exposition::write_header(&mut joined, metric.metric(), format);
                    header_written = true;
                }
                joined.push_str(&piece);
            }
        }
    }
    assert_eq!(joined, whole, "budget {budget}");
}

/// The first byte picks a piece size; the rest is the input.
pub fn chunks_case(data: &[u8]) {
    let Some((&size, input)) = data.split_first() else {
        return;
    };
    let Ok(ruleset) = parse(input) else {
        return;
    };
    // Either format, by the size's parity.
    let format = if size % 2 == 0 {
        Format::Text
    } else {
        Format::OpenMetrics
    };
    let plain = Source {
        format,
        ..Source::new(Family::Ipv4, &ruleset)
    };
    // The second family stamped, so that pieces carry timestamps too.
    let stamped = Source {
        timestamp_ms: Some(i64::from(size) * 1_000),
        family: Family::Ipv6,
        ..plain
    };
    assert_pieces_join_to_whole(&[plain, stamped], usize::from(size) * 16);
}

/// An ipset listing (any bytes), as `ipset list -t` and as every set's
/// own listing at once: an error points inside the input, or the listing
/// renders the same text twice, every sample line of a known metric with
/// an unsigned value, no series twice, and the element cap kept.
pub fn ipset_case(input: &[u8]) {
    use crate::ipset::{self, MemberListing, Options};
    let options = Options {
        element_counters: true,
        ..Options::default()
    };
    let wanted = match ipset::member_listings(input, &options) {
        Err(err) => {
            let lines = input.iter().filter(|b| **b == b'\n').count() + 1;
            let line = err.error.line as usize;
            assert!(line >= 1 && line <= lines, "{err} past {lines} lines");
            return;
        }
        Ok(wanted) => wanted,
    };
    let members: Vec<MemberListing<'_>> = wanted
        .iter()
        .map(|set| MemberListing { set, output: input })
        .collect();
    // Each set's own listing is the input again: a duplicate set there
    // is an error of that listing, never of the headers.
    let (text, stats) = match ipset::render_listing(input, &members, &options) {
        Err(err) => {
            assert!(err.listing.is_some(), "the headers read once: {err}");
            return;
        }
        Ok(rendered) => rendered,
    };
    let again = ipset::render_listing(input, &members, &options).expect("renders again");
    assert_eq!(again.0, text);
    let names: Vec<&str> = ipset::render::METRICS.iter().map(|m| m.name).collect();
    let mut seen = std::collections::HashSet::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let name = line.split(['{', ' ']).next().unwrap_or_default();
        assert!(names.contains(&name), "unknown metric in {line:?}");
        let (series, value) = line.rsplit_once(' ').expect("a value");
        assert!(value.parse::<u64>().is_ok(), "{line:?}");
        assert!(seen.insert(series.to_owned()), "{series} twice");
    }
    let capped = Options {
        max_element_series: Some(1),
        ..options
    };
    let (text, capped_stats) =
        ipset::render_listing(input, &members, &capped).expect("renders capped");
    let elements = text
        .lines()
        .filter(|l| l.starts_with("ipset_element_packets_total{"))
        .count();
    assert!(elements <= 1, "{elements} element series past a cap of 1");
    assert_eq!(stats.sets, capped_stats.sets);
}

/// An nft listing (any bytes): an error points inside the input, or the
/// listing renders the same text twice, every sample line of a known
/// metric with a value, each rule series' counts no more than the sum of
/// its chain's inline counters could give, and a table left to iptables
/// loses every series.
pub fn nft_case(input: &[u8]) {
    use crate::nft;
    nft_analysis_case(input);
    let listing = match nft::parse(input) {
        Err(err) => {
            assert!(err.line >= 1 && err.column >= 1, "{err:?}");
            let lines = input.iter().filter(|b| **b == b'\n').count() + 1;
            assert!(err.line as usize <= lines, "{err:?} past {lines} lines");
            return;
        }
        Ok(listing) => listing,
    };
    let options = nft::Options {
        set_elements: true,
        ..nft::Options::default()
    };
    let (text, stats) = nft::render::render(&listing, &options);
    assert_eq!(nft::render::render(&listing, &options).0, text);
    assert_eq!(stats.tables as usize, listing.tables.len());
    let names: Vec<&str> = nft::render::METRICS.iter().map(|m| m.name).collect();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let name = line.split(['{', ' ']).next().unwrap_or_default();
        assert!(names.contains(&name), "unknown metric in {line:?}");
        assert!(
            line.rsplit(' ')
                .next()
                .is_some_and(|v| v.parse::<u128>().is_ok()),
            "{line:?}"
        );
    }
    let Some(first) = listing.tables.first() else {
        return;
    };
    let left = nft::Options {
        left_to_iptables: vec![(first.family.clone(), first.name.clone())],
        ..options
    };
    let (without, stats) = nft::render::render(&listing, &left);
    assert_eq!(stats.left_to_iptables.len(), 1);
    let label = format!("family=\"{}\",table=\"", first.family);
    let ours = format!("{label}{}\"", first.name);
    let escaped_name =
        !first.name.contains(['"', '\\', '\n']) && !first.family.contains(['"', '\\', '\n']);
    if escaped_name {
        assert!(
            !without.contains(&ours),
            "{ours} left to iptables but rendered"
        );
    }
}

/// The analyzer's view of any input: never a panic; a listing that does
/// not read is its one error and nothing else; otherwise every rule, edge
/// and object points into the tables, rules are in item order with their
/// positions, and each chain's rule count is its rules.
fn nft_analysis_case(input: &[u8]) {
    use crate::nft::analyze;
    let analysis = analyze::analyze(input);
    let details = &analysis.details;
    if analysis.error.is_some() {
        assert!(analysis.tables.is_empty() && details.rules.is_empty());
        assert_eq!(details.diagnostics.len(), 1);
        return;
    }
    let mut counted = std::collections::HashMap::new();
    for rule in &details.rules {
        let chains = &analysis.tables[rule.table].chains;
        assert!(rule.chain < chains.len());
        let seen = counted.entry((rule.table, rule.chain)).or_insert(0usize);
        *seen += 1;
        assert_eq!(rule.position, *seen, "positions in order: {rule:?}");
    }
    assert!(details.rules.windows(2).all(|w| w[0].line <= w[1].line));
    for (t, table) in analysis.tables.iter().enumerate() {
        for (c, chain) in table.chains.iter().enumerate() {
            assert_eq!(chain.rules, counted.get(&(t, c)).copied().unwrap_or(0));
        }
    }
    for edge in &details.edges {
        let chains = &analysis.tables[edge.table].chains;
        assert!(edge.from < chains.len() && edge.to < chains.len());
    }
    assert!(
        analysis
            .objects
            .iter()
            .all(|o| o.table < analysis.tables.len())
    );
    assert!(
        details
            .diagnostics
            .windows(2)
            .all(|w| w[0].line <= w[1].line)
    );
}
