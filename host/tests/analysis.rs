//! The analyzer's view of a dump (`parser-wasm/src/analyze.rs`) through
//! the component the host embeds, against the native library: every
//! fixture and public dump gives the same tables, rules (read in pages),
//! jumps and diagnostics both ways, and a malformed one the exporter's own
//! error.

use crate::common;

use common::*;
use parser_wasm::analyze::{self, Analysis};
use parser_wasm::nft::analyze::NftAnalysis;
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "analyzer",
    });
}

use bindings::exports::iptables_exporter::parser::analysis as wit;

/// Rules per page: small enough that the fixtures take several pages.
const PAGE: u32 = 7;

struct Analyzer {
    store: Store<()>,
    bindings: bindings::Analyzer,
}

impl Analyzer {
    fn new(engine: &Engine, component: &Component) -> Self {
        // Nothing linked: the component imports nothing.
        let linker = Linker::new(engine);
        let mut store = Store::new(engine, ());
        let bindings =
            bindings::Analyzer::instantiate(&mut store, component, &linker).expect("instantiates");
        Self { store, bindings }
    }

    /// The component's analysis of `dump` in the shape of
    /// [`analysis_json`], rules and diagnostics read in pages of [`PAGE`].
    fn analyse(&mut self, dump: &[u8]) -> serde_json::Value {
        let api = self.bindings.iptables_exporter_parser_analysis().ruleset();
        let store = &mut self.store;
        let ruleset = api
            .call_constructor(&mut *store, dump)
            .expect("constructor");
        let error = api.call_error(&mut *store, ruleset).expect("error");
        let error = error.map(|e| serde_json::json!({"line": e.line, "message": e.message}));
        let json = read_ruleset!(api, store, ruleset, error);
        ruleset.resource_drop(&mut *store).expect("drop");
        json
    }

    /// The component's analysis of an nft listing, in the shape of
    /// [`nft_analysis_json`].
    fn analyse_nft(&mut self, listing: &[u8]) -> serde_json::Value {
        use serde_json::json;
        let api = self
            .bindings
            .iptables_exporter_parser_analysis()
            .nft_ruleset();
        let store = &mut self.store;
        let ruleset = api
            .call_constructor(&mut *store, listing)
            .expect("constructor");
        let error = api.call_error(&mut *store, ruleset).expect("error");
        let error = error.map(|e| json!({"line": e.line, "message": e.message}));
        let mut json = read_ruleset!(api, store, ruleset, error);
        let objects = api.call_objects(&mut *store, ruleset).expect("objects");
        json["objects"] = objects
            .iter()
            .map(|o| {
                json!({
                    "table": o.table,
                    "kind": match o.kind {
                        wit::ObjectKind::Set => "set",
                        wit::ObjectKind::Map => "map",
                        wit::ObjectKind::Meter => "meter",
                        wit::ObjectKind::Counter => "counter",
                        wit::ObjectKind::Quota => "quota",
                    },
                    "name": o.name,
                    "line": o.line,
                    "elements": o.elements.map(|n| n.to_string()),
                    "maxElements": o.max_elements.map(|n| n.to_string()),
                    "counters": wit_counters(o.counters),
                    "quotaUsed": o.quota_used.map(|n| n.to_string()),
                    "quotaLimit": o.quota_limit.map(|n| n.to_string()),
                })
            })
            .collect();
        ruleset.resource_drop(&mut *store).expect("drop");
        json
    }
}

/// Reads everything but the error and objects of a `ruleset` or
/// `nft-ruleset` resource (the bindings give each its own type) into the
/// shape of [`analysis_json`].
macro_rules! read_ruleset {
    ($api:expr, $store:expr, $ruleset:expr, $error:expr) => {{
        use serde_json::json;
        let (api, store, ruleset) = (&$api, &mut *$store, $ruleset);
        let tables = api.call_tables(&mut *store, ruleset).expect("tables");
        let rule_count = api.call_rule_count(&mut *store, ruleset).expect("count");
        let rules = paged(rule_count, |start| {
            api.call_rules(&mut *store, ruleset, start, PAGE)
                .expect("rules")
        });
        let edges = api.call_edges(&mut *store, ruleset).expect("edges");
        let diagnostic_count = api
            .call_diagnostic_count(&mut *store, ruleset)
            .expect("count");
        let diagnostics = paged(diagnostic_count, |start| {
            api.call_diagnostics(&mut *store, ruleset, start, PAGE)
                .expect("diagnostics")
        });
        json!({
            "error": $error,
            "tables": tables.iter().map(|t| json!({
                "name": t.name,
                "line": t.line,
                "chains": t.chains.iter().map(|c| json!({
                    "name": c.name,
                    "line": c.line,
                    "builtin": c.builtin,
                    "policies": c.policies.iter().map(|p| json!({
                        "line": p.line, "name": p.name, "counters": wit_counters(p.counters),
                    })).collect::<Vec<_>>(),
                    "rules": c.rules,
                    "base": c.base,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "rules": rules.iter().map(|r| json!({
                "line": r.line,
                "table": r.table,
                "chain": r.chain,
                "position": r.position,
                "text": r.text,
                "target": r.target,
                "goto": r.goto,
                "counters": wit_counters(r.counters),
                "sets": r.sets,
            })).collect::<Vec<_>>(),
            "edges": edges.iter().map(|e| json!({
                "table": e.table,
                "fromChain": e.from_chain,
                "toChain": e.to_chain,
                "line": e.line,
                "goto": e.goto,
            })).collect::<Vec<_>>(),
            "diagnostics": diagnostics.iter().map(|d| json!({
                "line": d.line,
                "column": d.column,
                "severity": match d.severity {
                    wit::Severity::Error => "error",
                    wit::Severity::Warning => "warning",
                    wit::Severity::Info => "info",
                },
                "code": code_name(d.code),
                "message": d.message,
            })).collect::<Vec<_>>(),
        })
    }};
}
use read_ruleset;

/// 64-bit counters as strings, as the JS tests write them.
fn wit_counters(c: Option<wit::Counters>) -> serde_json::Value {
    c.map_or(
        serde_json::Value::Null,
        |c| serde_json::json!({"packets": c.packets.to_string(), "bytes": c.bytes.to_string()}),
    )
}

/// A diagnostic code as the library names it.
fn code_name(code: wit::DiagnosticCode) -> &'static str {
    use wit::DiagnosticCode as C;
    match code {
        C::ParseError => "parse-error",
        C::JumpToUndeclaredChain => "jump-to-undeclared-chain",
        C::UnreferencedChain => "unreferenced-chain",
        C::UnreachableRule => "unreachable-rule",
        C::DuplicateRule => "duplicate-rule",
        C::NeverMatched => "never-matched",
        C::InvalidUtf8 => "invalid-utf8",
        C::UnknownItem => "unknown-item",
        C::UnknownExpression => "unknown-expression",
        C::UnplacedItem => "unplaced-item",
        C::CountedByName => "counted-by-name",
    }
}

/// All `count` items, read a page at a time by `read(start)`: each page
/// holds 1 to [`PAGE`] items.
fn paged<T>(count: u32, mut read: impl FnMut(u32) -> Vec<T>) -> Vec<T> {
    let mut all = Vec::new();
    while (all.len() as u32) < count {
        let page = read(all.len() as u32);
        assert!(
            !page.is_empty() && page.len() <= PAGE as usize,
            "a page of {}",
            page.len()
        );
        all.extend(page);
    }
    assert!(read(count).is_empty(), "items past the end");
    all
}

#[test]
fn the_embedded_component_analyses_every_dump_as_the_library_does() {
    let engine = Engine::default();
    let component = Component::new(&engine, iptables_exporter::sandbox::EMBEDDED_COMPONENT)
        .expect("the embedded component compiles");
    // No capability at all: the component imports nothing (a std
    // HashMap's random seed, say, would import something to get one).
    let imports: Vec<String> = component
        .component_type()
        .imports(&engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    assert_eq!(imports, Vec::<String>::new());
    let mut analyzer = Analyzer::new(&engine, &component);
    let mut dumps: Vec<std::path::PathBuf> = files_ending(&fixtures(), ".rules");
    dumps.extend(files_ending(&fixtures().join("bad"), ".rules"));
    dumps.extend(public_dumps().into_iter().map(|(path, _)| path));
    assert_eq!(
        dumps.len(),
        20 + 28 + 28,
        "fixtures, malformed ones, public dumps"
    );
    let mut kinds = std::collections::BTreeSet::new();
    for path in &dumps {
        let bytes = std::fs::read(path).expect("dump");
        let native = analyze::analyze(&bytes);
        kinds.extend(native.diagnostics.iter().map(|d| d.code.as_str()));
        assert_eq!(
            analyzer.analyse(&bytes),
            analysis_json(&native),
            "{}: the component differs from the library",
            path.display()
        );
    }
    // The dumps at hand show most kinds of finding.
    for kind in [
        "parse-error",
        "never-matched",
        "unreferenced-chain",
        "invalid-utf8",
    ] {
        assert!(kinds.contains(kind), "no `{kind}` in any dump: {kinds:?}");
    }
    let mut listings: Vec<Vec<u8>> = nft_listings()
        .iter()
        .map(|path| std::fs::read(path).expect("listing"))
        .collect();
    // One that does not read: its error, both ways.
    listings.push(br#"{"nftables": [{"metainfo": {}}, {"table": "#.to_vec());
    let mut kinds = std::collections::BTreeSet::new();
    for listing in &listings {
        let native = parser_wasm::nft::analyze::analyze(listing);
        kinds.extend(native.details.diagnostics.iter().map(|d| d.code.as_str()));
        assert_eq!(
            analyzer.analyse_nft(listing),
            nft_analysis_json(&native),
            "{}: the component differs from the library",
            String::from_utf8_lossy(&listing[..listing.len().min(200)])
        );
    }
    for kind in [
        "parse-error",
        "counted-by-name",
        "unknown-item",
        "unknown-expression",
        "duplicate-rule",
    ] {
        assert!(
            kinds.contains(kind),
            "no `{kind}` in any listing: {kinds:?}"
        );
    }
}

/// The nft listings among the fixtures: captured, then the drift cases.
fn nft_listings() -> Vec<std::path::PathBuf> {
    let dir = fixtures().join("nftables");
    let mut listings = files_ending(&dir, ".json");
    listings.extend(files_ending(&dir.join("drift"), ".json"));
    assert_eq!(listings.len(), 5 + 4, "captured listings, drift cases");
    listings
}

/// The analysis as JSON, the shape the JS package's tests build from its
/// API (`web/test/package.test.mjs`) and [`Analyzer::analyse`] from the
/// component's: 64-bit counters as strings.
fn analysis_json(analysis: &Analysis) -> serde_json::Value {
    let error = analysis
        .error
        .as_ref()
        .map(|e| serde_json::json!({"line": e.line, "message": e.kind.to_string()}));
    shapes_json(
        error,
        &analysis.tables,
        &analysis.rules,
        &analysis.edges,
        &analysis.diagnostics,
    )
}

/// An nft listing's analysis as JSON: the shapes of [`analysis_json`],
/// plus its named objects (64-bit numbers as strings).
fn nft_analysis_json(analysis: &NftAnalysis) -> serde_json::Value {
    use serde_json::json;
    let error = analysis
        .error
        .as_ref()
        .map(|e| json!({"line": e.line, "message": e.to_string()}));
    let details = &analysis.details;
    let mut json = shapes_json(
        error,
        &analysis.tables,
        &details.rules,
        &details.edges,
        &details.diagnostics,
    );
    let string = |n: Option<u64>| n.map(|n| n.to_string());
    json["objects"] = analysis
        .objects
        .iter()
        .map(|o| {
            json!({
                "table": analysis.tables[o.table].name,
                "kind": format!("{:?}", o.kind).to_lowercase(),
                "name": o.name,
                "line": o.line,
                "elements": string(o.elements),
                "maxElements": string(o.max_elements),
                "counters": counters_json(o.counters),
                "quotaUsed": string(o.quota.map(|(used, _)| used)),
                "quotaLimit": string(o.quota.map(|(_, limit)| limit)),
            })
        })
        .collect();
    json
}

fn counters_json(c: Option<parser_wasm::counters::Counters>) -> serde_json::Value {
    match c {
        Some(c) => {
            serde_json::json!({"packets": c.packets.to_string(), "bytes": c.bytes.to_string()})
        }
        None => serde_json::Value::Null,
    }
}

fn shapes_json(
    error: Option<serde_json::Value>,
    tables: &[analyze::Table],
    rules: &[analyze::Rule],
    edges: &[analyze::Edge],
    diagnostics: &[analyze::Diagnostic],
) -> serde_json::Value {
    use serde_json::json;
    let counters = counters_json;
    json!({
        "error": error,
        "tables": tables.iter().map(|t| json!({
            "name": t.name,
            "line": t.line,
            "chains": t.chains.iter().map(|c| json!({
                "name": c.name,
                "line": c.line,
                "builtin": c.builtin(),
                "policies": c.policies.iter().map(|p| json!({
                    "line": p.line, "name": p.name, "counters": counters(p.counters),
                })).collect::<Vec<_>>(),
                "rules": c.rules,
                "base": c.base,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "rules": rules.iter().map(|r| {
            let table = &tables[r.table];
            json!({
                "line": r.line,
                "table": table.name,
                "chain": table.chains[r.chain].name,
                "position": r.position,
                "text": r.text,
                "target": r.target.as_ref().map(|t| t.name.clone()),
                "goto": r.target.as_ref().is_some_and(|t| t.goto),
                "counters": counters(r.counters),
                "sets": r.sets,
            })
        }).collect::<Vec<_>>(),
        "edges": edges.iter().map(|e| {
            let table = &tables[e.table];
            json!({
                "table": table.name,
                "fromChain": table.chains[e.from].name,
                "toChain": table.chains[e.to].name,
                "line": e.line,
                "goto": e.goto,
            })
        }).collect::<Vec<_>>(),
        "diagnostics": diagnostics.iter().map(|d| json!({
            "line": d.line,
            "column": d.column,
            "severity": format!("{:?}", d.code.severity()).to_lowercase(),
            "code": d.code.as_str(),
            "message": d.message,
        })).collect::<Vec<_>>(),
    })
}

/// `fixtures/analysis/NAME.json`: the native analysis of every fixture and
/// malformed fixture, which the JS package's tests compare its results
/// with. `UPDATE_GOLDEN=1` (exactly) rewrites them.
#[test]
fn expected_analyses_for_the_js_package_match_the_library() {
    let dir = fixtures().join("analysis");
    let update = std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1");
    let mut dumps = files_ending(&fixtures(), ".rules");
    dumps.extend(files_ending(&fixtures().join("bad"), ".rules"));
    dumps.extend(nft_listings());
    let mut names = Vec::new();
    for path in dumps {
        let relative = path
            .strip_prefix(fixtures())
            .expect("inside fixtures")
            .to_string_lossy()
            .replace('/', "--");
        let bytes = std::fs::read(&path).expect("dump");
        let (name, got) = match relative.strip_suffix(".rules") {
            Some(stem) => (stem.to_owned(), analysis_json(&analyze::analyze(&bytes))),
            None => (
                relative.trim_end_matches(".json").to_owned(),
                nft_analysis_json(&parser_wasm::nft::analyze::analyze(&bytes)),
            ),
        };
        let name = format!("{name}.json");
        let file = dir.join(&name);
        if update {
            std::fs::create_dir_all(&dir).expect("dir");
            std::fs::write(&file, format!("{:#}\n", got)).expect("write");
        }
        let want: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", file.display())),
        )
        .expect("JSON");
        assert_eq!(got, want, "{name}");
        names.push(name);
    }
    // No stale expected file is left for the JS tests to read.
    let on_disk = files_ending(&dir, ".json").len();
    assert_eq!(
        on_disk,
        names.len(),
        "fixtures/analysis has files no fixture makes"
    );
}

/// The analysis of `fixtures/analyzer/every-diagnostic.ipv4.rules` in the
/// words of its hand-written expectations: `diagnostic LINE CODE`, `jump
/// LINE TABLE FROM TO` and `target LINE NAME` lines, in that order.
fn in_words(analysis: &serde_json::Value) -> Vec<String> {
    let text = |v: &serde_json::Value| {
        v.as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| v.to_string())
    };
    let list = |key: &str| analysis[key].as_array().cloned().unwrap_or_default();
    let mut words: Vec<String> = list("diagnostics")
        .iter()
        .map(|d| format!("diagnostic {} {}", d["line"], text(&d["code"])))
        .collect();
    words.extend(list("edges").iter().map(|e| {
        format!(
            "jump {} {} {} {}",
            e["line"],
            text(&e["table"]),
            text(&e["fromChain"]),
            text(&e["toChain"])
        )
    }));
    words.extend(
        list("rules")
            .iter()
            .map(|r| format!("target {} {}", r["line"], text(&r["target"]))),
    );
    words
}

/// The analyzer finds in the diagnostics fixture what a person wrote down
/// for it, through the library and through the component: the expected
/// JSON files are only the library's own output, this is not.
#[test]
fn the_diagnostics_fixture_gives_what_was_written_down_by_hand() {
    let dir = fixtures().join("analyzer");
    let written = std::fs::read_to_string(dir.join("every-diagnostic.expected")).expect("expected");
    let want: Vec<String> = written
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    let bytes = std::fs::read(dir.join("every-diagnostic.ipv4.rules")).expect("dump");
    assert_eq!(
        in_words(&analysis_json(&analyze::analyze(&bytes))),
        want,
        "the library"
    );
    let engine = Engine::default();
    let component = Component::new(&engine, iptables_exporter::sandbox::EMBEDDED_COMPONENT)
        .expect("the embedded component compiles");
    let mut analyzer = Analyzer::new(&engine, &component);
    assert_eq!(in_words(&analyzer.analyse(&bytes)), want, "the component");
}
