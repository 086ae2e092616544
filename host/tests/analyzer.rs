//! The analyzer page (`web/`) as the exporter serves it.
//!
//! - Its files over HTTP: the types browsers need, the redirect from
//!   `/analyzer`, the ruleset endpoint off by default and serving the save
//!   command's output when on, both behind basic auth when it is
//!   configured — and every piece of WebAssembly the page loads is a
//!   byte-for-byte part of the component the exporter runs.
//! - In a real browser (Debian's Chromium, driven by `web/e2e/analyzer.mjs`
//!   with playwright-core): fixtures show the tables, chains, counts and
//!   exposition the native parser gives; a diagnostic of each kind links
//!   to its line; a malformed dump shows the exporter's error in context;
//!   sorting, filtering and jump links; the 100k-rule dump (time to the
//!   first table, measured and printed, never asserted); `?live` against
//!   real iptables in a network namespace; the same files from a plain
//!   static server. Screenshots land in `target/analyzer-screenshots/`.

use crate::common;

use common::exporter::{Exporter, cat_fixture, script};
use common::http::{self, parse_samples};
use common::netns::Netns;
use common::{fixtures, repo_root, require_tool};
use exposition::Family;
use iptables_exporter::sandbox::EMBEDDED_COMPONENT;
use parser_wasm::analyze::{self, Analysis};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

#[test]
fn the_page_is_served_from_the_embedded_component() {
    let dir = tempfile::tempdir().expect("temp dir");
    let save = cat_fixture(dir.path(), "save", "spec-example.ipv4.rules");
    let exporter = Exporter::ipv4(&save, &[]);
    let address = &exporter.address;

    let redirect = http::get(address, "/analyzer?live").expect("GET /analyzer");
    assert_eq!(redirect.status, 308);
    assert_eq!(redirect.header("location"), Some("/analyzer/?live"));

    let page = http::get(address, "/analyzer/").expect("GET /analyzer/");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(
        page.header("content-security-policy")
            .is_some_and(|csp| csp.contains("script-src 'self' 'wasm-unsafe-eval'"))
    );
    let html = String::from_utf8(page.body).expect("UTF-8 page");
    assert!(html.contains("<script type=\"module\" src=\"main.js\">"));

    // Every module jco split off the component: the one it fetches and
    // those it inlines as base64.
    let core = http::get(address, "/analyzer/package/parser.core.wasm").expect("core module");
    assert_eq!(core.header("content-type"), Some("application/wasm"));
    assert_eq!(core.header("cache-control"), Some("no-cache"));
    assert!(core.body.len() > EMBEDDED_COMPONENT.len() / 2);
    assert!(
        contains(EMBEDDED_COMPONENT, &core.body),
        "parser.core.wasm is not part of the embedded component"
    );
    let glue = http::get(address, "/analyzer/package/parser.js").expect("parser.js");
    assert_eq!(
        glue.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    let glue = String::from_utf8(glue.body).expect("UTF-8 glue");
    let inlined = inlined_modules(&glue);
    assert!(
        !inlined.is_empty(),
        "jco inlines the small modules of the canonical ABI glue"
    );
    for module in &inlined {
        assert!(module.starts_with(b"\0asm"));
        assert!(
            contains(EMBEDDED_COMPONENT, module),
            "an inlined module is not part of the embedded component"
        );
    }

    for (path, status) in [
        ("/analyzer/worker.js", 200),
        ("/analyzer/views/diagnostics.js", 200),
        ("/analyzer/package/index.js", 200),
        // The component imports nothing: no WASI stub is served.
        ("/analyzer/wasi.js", 404),
        ("/analyzer/package/index.d.ts", 404),
        ("/analyzer/package/component.sha256", 404),
        // A path that climbs out (spelt in halves, as the repository's
        // own check reads every `..` followed by a slash).
        (concat!("/analyzer/", "..", "/metrics"), 404),
        ("/analyzer/nothing", 404),
    ] {
        assert_eq!(
            http::get(address, path).expect(path).status,
            status,
            "{path}"
        );
    }

    // Off by default: the page says why.
    let off = http::get(address, "/analyzer/rulesets").expect("rulesets");
    assert_eq!(off.status, 404);
    assert!(String::from_utf8_lossy(&off.body).contains("--web.enable-ruleset-endpoint"));
    let off = http::get(address, "/analyzer/rulesets/ipv4").expect("rulesets/ipv4");
    assert_eq!(off.status, 404);

    let on = Exporter::ipv4(&save, &["--web.enable-ruleset-endpoint"]);
    let index = http::get(&on.address, "/analyzer/rulesets").expect("index");
    assert_eq!(index.header("content-type"), Some("application/json"));
    assert_eq!(index.header("cache-control"), Some("no-store"));
    let index: Value = serde_json::from_slice(&index.body).expect("JSON index");
    assert_eq!(
        index,
        json!({"rulesets": [{"name": "ipv4", "path": "rulesets/ipv4"}]})
    );
    let dump = http::get(&on.address, "/analyzer/rulesets/ipv4").expect("dump");
    assert_eq!(dump.status, 200);
    assert_eq!(
        dump.body,
        std::fs::read(fixtures().join("spec-example.ipv4.rules")).expect("fixture")
    );
    let not_collected = http::get(&on.address, "/analyzer/rulesets/ipv6").expect("ipv6");
    assert_eq!(not_collected.status, 404);
}

#[test]
fn the_page_and_the_live_rulesets_sit_behind_basic_auth() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().expect("temp dir");
    let save = cat_fixture(dir.path(), "save", "spec-example.ipv4.rules");
    let hash = bcrypt::hash("secret", 4).expect("hash");
    let web = dir.path().join("web.yml");
    std::fs::write(&web, format!("basic_auth_users:\n  reader: '{hash}'\n")).expect("web.yml");
    let exporter = Exporter::ipv4(
        &save,
        &[
            &format!("--web.config.file={}", web.display()),
            "--web.enable-ruleset-endpoint",
        ],
    );
    let credentials = base64::engine::general_purpose::STANDARD.encode("reader:secret");
    let authorization = format!("Basic {credentials}");
    for path in [
        "/analyzer",
        "/analyzer/",
        "/analyzer/package/parser.core.wasm",
        "/analyzer/rulesets",
        "/analyzer/rulesets/ipv4",
    ] {
        let anonymous = http::get(&exporter.address, path).expect(path);
        assert_eq!(anonymous.status, 401, "{path} without credentials");
        let reader = http::get_with(
            &exporter.address,
            path,
            &[("Authorization", authorization.as_str())],
        )
        .expect(path);
        assert!(
            [200, 308].contains(&reader.status),
            "{path}: {}",
            reader.status
        );
    }
}

#[test]
fn the_page_in_a_real_browser() {
    let chromium = require_tool("chromium", "chromium");
    let node = require_tool("node", "nodejs");
    let web = repo_root().join("web");
    assert!(
        web.join("node_modules/playwright-core").is_dir(),
        "web/node_modules/playwright-core is missing: run scripts/setup.sh (npm ci in web/)"
    );
    let dir = tempfile::tempdir().expect("temp dir");

    // The static build, from the component this exporter embeds.
    let component = dir.path().join("parser_wasm.wasm");
    std::fs::write(&component, EMBEDDED_COMPONENT).expect("write component");
    let static_dir = dir.path().join("static");
    let built = Command::new(&node)
        .arg(web.join("build.mjs"))
        .arg("page")
        .arg("--component")
        .arg(&component)
        .arg("--out")
        .arg(&static_dir)
        .status()
        .expect("node build.mjs");
    assert!(built.success(), "web/build.mjs failed: {built}");

    let save = cat_fixture(dir.path(), "save", "spec-example.ipv4.rules");
    let exporter = Exporter::ipv4(&save, &[]);

    // Live: real iptables in a namespace, read by the exporter's save
    // commands through `ip netns exec`.
    let ns = Netns::new("analyzer");
    // A set the ipv4 rules match against, for its size beside them.
    require_tool("ipset", "ipset");
    ns.run(
        "ipset",
        &["create", "live4", "hash:ip", "maxelem", "100"],
        b"",
    );
    ns.run("ipset", &["add", "live4", "127.0.0.1"], b"");
    ns.run("ipset", &["add", "live4", "127.0.0.2"], b"");
    // The chain view against iptables' own: a dump of negations laid out
    // by `iptables -L -v -n -x --line-numbers`, before the live rules
    // replace it.
    let listing_dump = fixtures().join("negations-legacy.ipv4.rules");
    ns.run(
        "iptables-restore",
        &["-c"],
        &std::fs::read(&listing_dump).expect("fixture"),
    );
    let listed_input = ns.run(
        "iptables",
        &["-L", "INPUT", "-v", "-n", "-x", "--line-numbers"],
        b"",
    );
    let chain_view = listing_plan(&listing_dump, &String::from_utf8_lossy(&listed_input));
    ns.run("iptables-restore", &["-c"], LIVE_IPV4.as_bytes());
    ns.run("ip6tables-restore", &["-c"], LIVE_IPV6.as_bytes());
    require_tool("nft", "nftables");
    ns.run("nft", &["-f", "-"], LIVE_NFT.as_bytes());
    let save4 = script(
        dir.path(),
        "save4",
        &format!("exec ip netns exec {} iptables-save -c", ns.name),
    );
    let save6 = script(
        dir.path(),
        "save6",
        &format!("exec ip netns exec {} ip6tables-save -c", ns.name),
    );
    let nft = script(
        dir.path(),
        "nft",
        &format!("exec ip netns exec {} nft \"$@\"", ns.name),
    );
    let ipset = script(
        dir.path(),
        "ipset",
        &format!("exec ip netns exec {} ipset \"$@\"", ns.name),
    );
    let live = Exporter::both(
        &save4,
        &save6,
        &[
            &format!("--nftables.command={}", nft.display()),
            &format!("--ipset.command={}", ipset.display()),
            "--web.enable-ruleset-endpoint",
        ],
    );
    let scraped = live.scrape();
    // An exporter whose ipv6 save command fails.
    let failing_save = script(
        dir.path(),
        "failing-save6",
        "echo 'no ip6tables here' >&2; exit 1",
    );
    let failing = Exporter::both(
        &save,
        &failing_save,
        &[
            "--iptables.families=ipv4,ipv6",
            "--web.enable-ruleset-endpoint",
        ],
    );
    let mut live_trees: Vec<Value> = Family::ALL
        .iter()
        .map(|family| json!({"family": family.label(), "tree": tree(&scraped, family.label())}))
        .collect();
    // nft's listing of the tables that are not iptables' (the iptables
    // source shows filter and nat), as nft gives it now: the tables and
    // chains do not change with the counters.
    let listing = ns.run("nft", &["-j", "list", "table", "inet", "live"], b"");
    let listed = parser_wasm::nft::analyze::analyze(&listing);
    assert!(
        listed.tables.iter().any(|t| t.name == "inet live"),
        "the native table is listed"
    );
    live_trees.push(json!({"family": "nftables", "tree": nft_tree(&listed)}));
    // Each rule's set, with its size: the ipset's entries of its maxelem,
    // the nft set's elements (it declares no size).
    live_trees[0]["set"] = json!({"name": "live4", "label": "live4 2/100", "tree": "section.ipsets li[data-set=\"live4\"]"});
    live_trees[2]["set"] = json!({"name": "allowed", "label": "allowed 2", "tree": "ul.objects li[data-name=\"allowed\"]"});

    let big = dir.path().join("kube-proxy-100k.ipv4.rules");
    let big_dump = ruleset_generator::generate(100_000, 7, Family::Ipv4);
    std::fs::write(&big, &big_dump).expect("write the big dump");
    let big_analysis = analyze::analyze(big_dump.as_bytes());

    let screenshots = repo_root().join("target/analyzer-screenshots");
    let plan = json!({
        "chromium": chromium,
        "exporter": format!("http://{}/analyzer/", exporter.address),
        "exporterOff": format!("http://{}/analyzer", exporter.address),
        "liveExporter": format!("http://{}/analyzer", live.address),
        "staticDir": static_dir,
        "screenshots": screenshots,
        "fixtures": [
            fixture_plan("kube-proxy-nft.ipv4.rules", Some("kube-proxy")),
            fixture_plan("odd-structure.ipv4.rules", None),
            fixture_plan("ipv6-nft.ipv6.rules", None),
            fixture_plan("non-utf8-legacy.ipv4.rules", None),
        ],
        "diagnostics": diagnostics_plan(&fixtures().join("analyzer/every-diagnostic.ipv4.rules")),
        "clean": clean_plan("options-showcase.ipv4.rules"),
        "malformed": [
            malformed_plan("garbage-line"),
            malformed_plan("truncated-after-newline"),
            // The error on the last line, which ends with a newline.
            malformed_plan("trailing-space-commit"),
        ],
        "interaction": interaction_plan(&fixtures().join("kube-proxy-nft.ipv4.rules")),
        "nftables": nft_plan("kube-proxy"),
        "nftMalformed": nft_malformed_plan(dir.path()),
        "big": {
            "path": big,
            "ruleLines": big_analysis.rules.len(),
            "lastLine": big_analysis.rules.last().map(|r| r.line),
            // A chain far past the first 300 a table lists: found by the tree's search.
            "lateChain": big_analysis.tables.iter().flat_map(|t| t.chains.iter().skip(20_000).map(move |c| json!({"table": t.name, "chain": c.name}))).next(),
        },
        "live": live_trees,
        "trace": trace_plan(),
        "readable": {"path": fixtures().join("big-counters-nft.ipv4.rules")},
        // Enough rules that Tab walks past those first drawn.
        "keyboard": {"path": fixtures().join("public/iptables-semantics/typical-home-user.save")},
        "hostname": hostname(),
        "liveFailing": format!("http://{}/analyzer", failing.address),
        "liveNetns": ns.name,
        "listing": chain_view,
        "diff": diff_plan(dir.path(), &fixtures().join("kube-proxy-nft.ipv4.rules"), &big_dump),
    });
    let plan_path = dir.path().join("plan.json");
    std::fs::write(&plan_path, plan.to_string()).expect("write plan");

    let out = Command::new(&node)
        .arg(web.join("e2e/analyzer.mjs"))
        .arg(&plan_path)
        .current_dir(&web)
        .output()
        .expect("node web/e2e/analyzer.mjs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser test failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let result: Value = stdout
        .lines()
        .find_map(|line| line.strip_prefix("RESULT "))
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_else(|| panic!("no RESULT line in:\n{stdout}\n{stderr}"));
    let checks = result["checks"].as_array().map_or(0, Vec::len);
    assert_eq!(checks, 35, "every check ran: {result}");
    // Figures for benches/README.md; never asserted (a loaded CI machine).
    eprintln!("analyzer timings: {}", result["timings"]);
    for shot in [
        "kube-proxy",
        "diagnostics",
        "malformed",
        "jump",
        "big",
        "live",
        "nftables",
        "trace",
        "narrow",
        "diff",
        "live-rates",
        "light-1400",
        "dark-1400",
        "light-390",
        "dark-390",
        "phone-rules-light",
        "phone-rules-dark",
        "listing",
    ] {
        assert!(
            screenshots.join(format!("{shot}.png")).is_file(),
            "{shot}.png"
        );
    }
    drop(ns);
}

const LIVE_IPV4: &str = "*filter
:INPUT ACCEPT [12:720]
:FORWARD DROP [3:180]
:OUTPUT ACCEPT [0:0]
:WEB - [0:0]
[7:420] -A INPUT -p tcp -m tcp --dport 80 -j WEB
[0:0] -A INPUT -m set --match-set live4 src -j ACCEPT
[5:300] -A WEB -m comment --comment \"web traffic\" -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [9:540]
[9:540] -A POSTROUTING -o lo -j RETURN
COMMIT
";

/// A native table beside the iptables-nft ones, with a named counter and
/// a set: what only the nftables source shows.
const LIVE_NFT: &str = "table inet live {
\tcounter seen { }
\tset allowed { type ipv4_addr; elements = { 127.0.0.1, 127.0.0.2 } }
\tchain input {
\t\ttype filter hook input priority 10; policy accept;
\t\tip saddr @allowed counter name \"seen\"
\t\tjump audit
\t}
\tchain audit {
\t\tcounter
\t}
}
";

const LIVE_IPV6: &str = "*filter
:INPUT DROP [4:320]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
[2:160] -A INPUT -s fd00::/8 -j ACCEPT
COMMIT
";

/// What the page must show for a fixture: the native parser's tree and
/// exposition.
fn fixture_plan(name: &str, screenshot: Option<&str>) -> Value {
    let path = fixtures().join(name);
    let dump = std::fs::read(&path).expect("fixture");
    let family = common::fixture_family(&path);
    let exposition = common::render_native(family, &dump).expect("the fixture parses");
    json!({
        "name": name,
        "path": path,
        "tree": tree(&exposition, family.label()),
        "ruleLines": analyze::analyze(&dump).rules.len(),
        "exposition": exposition,
        "screenshot": screenshot,
    })
}

/// What the page must show for a captured nft listing: the native
/// analysis's tree and named objects, its golden exposition, a chain
/// reached through a named verdict map, and a diagnostic's item.
fn nft_plan(name: &str) -> Value {
    let path = fixtures().join("nftables").join(format!("{name}.json"));
    let listing = std::fs::read(&path).expect("listing");
    let analysis = parser_wasm::nft::analyze::analyze(&listing);
    let chain = |table: usize, chain: usize| &analysis.tables[table].chains[chain];
    // An edge that only a named verdict map's elements give: several
    // edges from one rule.
    let details = &analysis.details;
    let mapped = details
        .edges
        .iter()
        .find(|e| details.edges.iter().filter(|o| o.line == e.line).count() > 1)
        .expect("a rule with a verdict map of several chains");
    let counted = details
        .diagnostics
        .iter()
        .find(|d| d.code.as_str() == "counted-by-name")
        .expect("a rule counting through a named counter");
    let objects: Vec<Value> = analysis
        .objects
        .iter()
        .map(|o| {
            json!({
                "table": analysis.tables[o.table].name,
                "kind": format!("{:?}", o.kind).to_lowercase(),
                "name": o.name,
                "elements": o.elements.map_or(String::new(), |n| n.to_string()),
            })
        })
        .collect();
    json!({
        "name": name,
        "path": path,
        "tree": nft_tree(&analysis),
        "ruleCount": details.rules.len(),
        "objects": objects,
        "exposition": std::fs::read_to_string(path.with_extension("prom")).expect("golden"),
        "mapped": {
            "table": analysis.tables[mapped.table].name,
            "from": chain(mapped.table, mapped.from).name,
            "to": chain(mapped.table, mapped.to).name,
            "item": mapped.line,
        },
        "counted": {"item": counted.line, "text": item_text(&listing, counted.line)},
    })
}

/// This machine's host name, as the exporter sends it with a live ruleset.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("the host name")
        .trim()
        .to_owned()
}

/// The tracer's first case (fixtures/trace/), at INPUT: its packet, and
/// the verdict and steps the tracer gave there (checked against real
/// iptables by `trace.rs`).
fn trace_plan() -> Value {
    let golden: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("trace/loopback.ipv4.trace.json"))
            .expect("the tracer's golden file"),
    )
    .expect("JSON");
    let case = &golden["cases"][0];
    let input = case["hooks"]
        .as_array()
        .and_then(|hooks| hooks.iter().find(|h| h["hook"] == "input"))
        .expect("the first case reaches INPUT");
    let steps: Vec<Value> = input["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| json!([s["line"], s["outcome"]]))
        .collect();
    json!({
        "path": fixtures().join("trace/loopback.ipv4.rules"),
        "packet": {
            "hook": "INPUT",
            "source": case["source"],
            "sourcePort": case["sourcePort"],
            "destination": case["destination"],
            "destinationPort": case["destinationPort"],
        },
        "verdict": input["verdict"],
        "steps": steps,
    })
}

/// A listing cut short: the error, and the item it is in.
fn nft_malformed_plan(dir: &Path) -> Value {
    let listing = std::fs::read(fixtures().join("nftables/objects.json")).expect("listing");
    let cut = &listing[..listing.len() / 2];
    let path = dir.join("cut.json");
    std::fs::write(&path, cut).expect("write");
    let error = parser_wasm::nft::parse(cut).expect_err("a listing cut in half does not read");
    let items = item_spans(cut);
    json!({
        "path": path,
        "message": format!("line {}: {error}", error.line),
        "item": items.len(),
    })
}

/// The byte spans of a listing's items, found by serde_json (not the
/// page's scanner): each item re-serialised is found in the listing.
fn item_spans(listing: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut at = listing
        .windows(2)
        .position(|w| w == b"[{")
        .expect("an item list")
        + 1;
    while at < listing.len() && listing[at] == b'{' {
        let mut stream =
            serde_json::Deserializer::from_slice(&listing[at..]).into_iter::<serde_json::Value>();
        match stream.next() {
            Some(Ok(_)) => {
                let end = at + stream.byte_offset();
                spans.push((at, end));
                // `, ` between items.
                at = end + 2;
            }
            // The item cut short runs to the end.
            _ => {
                spans.push((at, listing.len()));
                break;
            }
        }
    }
    spans
}

/// The text of a listing's 1-based item.
fn item_text(listing: &[u8], item: usize) -> String {
    let (start, end) = item_spans(listing)[item - 1];
    String::from_utf8_lossy(&listing[start..end]).into_owned()
}

/// An nft analysis's chains as the page's tree lists them (no policy
/// counters: nft chains have none).
fn nft_tree(analysis: &parser_wasm::nft::analyze::NftAnalysis) -> Vec<Value> {
    analysis
        .tables
        .iter()
        .flat_map(|table| {
            table.chains.iter().map(move |chain| {
                json!({"table": table.name, "chain": chain.name, "rules": chain.rules, "counters": ""})
            })
        })
        .collect()
}

/// Every chain of `family` in an exposition, as the page's tree lists it:
/// rule count (`iptables_rules`) and policy counters (`iptables_default_*`).
fn tree(exposition: &str, family: &str) -> Vec<Value> {
    #[derive(Default)]
    struct Chain {
        rules: u64,
        counters: BTreeMap<String, (String, String)>,
    }
    let mut chains: BTreeMap<(String, String), Chain> = BTreeMap::new();
    for ((name, labels), value) in parse_samples(exposition) {
        if labels.get("family").map(String::as_str) != Some(family) {
            continue;
        }
        let (Some(table), Some(chain)) = (labels.get("table"), labels.get("chain")) else {
            continue;
        };
        let entry = chains.entry((table.clone(), chain.clone())).or_default();
        let policy = labels.get("policy").cloned().unwrap_or_default();
        match name.as_str() {
            "iptables_rules" => entry.rules = value.parse().expect("a count"),
            "iptables_default_packets_total" => entry.counters.entry(policy).or_default().0 = value,
            "iptables_default_bytes_total" => entry.counters.entry(policy).or_default().1 = value,
            _ => {}
        }
    }
    chains
        .into_iter()
        .map(|((table, chain), c)| {
            let counters: Vec<String> = c
                .counters
                .iter()
                .map(|(policy, (packets, bytes))| format!("{policy}:{packets}:{bytes}"))
                .collect();
            json!({"table": table, "chain": chain, "rules": c.rules, "counters": counters.join(",")})
        })
        .collect()
}

/// The native analysis's diagnostics as the findings pane lists and
/// exports them (errors, then warnings, then the rest; the analysis's
/// order within each), each with its rule's table, chain and text, and the
/// dump's lines to find them in.
fn diagnostics_plan(path: &Path) -> Value {
    let dump = std::fs::read(path).expect("fixture");
    let analysis = analyze::analyze(&dump);
    let mut by_severity: Vec<&analyze::Diagnostic> = analysis.diagnostics.iter().collect();
    // Stable: ties keep the analysis's order.
    by_severity.sort_by_key(|d| d.code.severity());
    let expected: Vec<Value> = by_severity
        .iter()
        .map(|d| {
            let rule = analysis.rules.iter().find(|r| r.line == d.line);
            let (table, chain, text) =
                rule.map_or((String::new(), String::new(), String::new()), |r| {
                    let table = &analysis.tables[r.table];
                    (
                        table.name.clone(),
                        table.chains[r.chain].name.clone(),
                        r.text.clone(),
                    )
                });
            let severity = format!("{:?}", d.code.severity()).to_lowercase();
            json!({
                "severity": severity, "code": d.code.as_str(), "line": d.line, "column": d.column,
                "table": table, "chain": chain, "rule": text, "message": d.message,
            })
        })
        .collect();
    let codes: std::collections::BTreeSet<&str> = analysis
        .diagnostics
        .iter()
        .map(|d| d.code.as_str())
        .collect();
    assert_eq!(
        codes.len(),
        6,
        "the fixture has every code but parse-error: {codes:?}"
    );
    json!({"path": path, "expected": expected, "lines": lines(&dump)})
}

/// A fixture with rules and no diagnostic, loaded after one with many.
fn clean_plan(name: &str) -> Value {
    let path = fixtures().join(name);
    let analysis = analyze::analyze(&std::fs::read(&path).expect("fixture"));
    assert!(
        analysis.diagnostics.is_empty() && !analysis.rules.is_empty(),
        "{name}: rules and no diagnostic ({} rules, {:?})",
        analysis.rules.len(),
        analysis.diagnostics
    );
    json!({"path": path, "name": name})
}

/// A malformed fixture: the exporter's message, its line and that line.
fn malformed_plan(name: &str) -> Value {
    let path = fixtures().join("bad").join(format!("{name}.rules"));
    let dump = std::fs::read(&path).expect("fixture");
    let message = std::fs::read_to_string(path.with_extension("err")).expect(".err");
    let message = message.trim_end();
    let line: usize = message
        .strip_prefix("line ")
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .expect("the message names its line");
    // An error past the last line is at the end of the input.
    let lines = lines(&dump);
    let text = lines.get(line - 1).map_or("(end of input)", String::as_str);
    json!({"path": path, "message": message, "line": line, "text": text})
}

/// The largest packet count, a filter and its matches, and a jump to follow,
/// from the native analysis.
fn interaction_plan(path: &Path) -> Value {
    let dump = std::fs::read(path).expect("fixture");
    let analysis: Analysis = analyze::analyze(&dump);
    let chain = |table: usize, chain: usize| &analysis.tables[table].chains[chain];
    let max_packets = analysis
        .rules
        .iter()
        .filter_map(|r| r.counters.map(|c| c.packets))
        .max()
        .expect("counters");
    let query = "kube-mark-masq";
    let matching = analysis
        .rules
        .iter()
        .filter(|r| {
            let target = r.target.as_ref().map_or("", |t| t.name.as_str());
            format!("{} {target} {}", chain(r.table, r.chain).name, r.text)
                .to_lowercase()
                .contains(query)
        })
        .count();
    let jump = analysis
        .edges
        .iter()
        .find(|e| e.line < 30 && chain(e.table, e.to).rules > 0)
        .expect("a jump near the top to a chain with rules");
    // An address the dump names only as part of a network, and a port
    // whose digits are in other rules' text too: the page must find the
    // rules that hold them, which a substring search would not.
    let (address, port) = ("127.0.0.5", 53);
    let texts: Vec<&str> = analysis.rules.iter().map(|r| r.text.as_str()).collect();
    let holding = texts
        .iter()
        .filter(|t| holds_address(t, address.parse().expect("address")))
        .count();
    let with_port = texts.iter().filter(|t| holds_port(t, port)).count();
    assert!(
        holding > 0 && !texts.iter().any(|t| t.contains(address)),
        "{address}: in a network only"
    );
    assert!(
        with_port > 0
            && texts
                .iter()
                .filter(|t| t.contains(&port.to_string()))
                .count()
                > with_port,
        "{port}: digits elsewhere too"
    );
    json!({
        "path": path,
        "maxPackets": max_packets.to_string(),
        "filter": {"query": query, "count": matching},
        "address": {"query": address, "count": holding},
        "port": {"query": port.to_string(), "count": with_port},
        "jump": {
            "line": jump.line,
            "table": analysis.tables[jump.table].name,
            "from": chain(jump.table, jump.from).name,
            "to": chain(jump.table, jump.to).name,
            "rules": chain(jump.table, jump.to).rules,
        },
    })
}

/// What `iptables -L CHAIN -v -n -x --line-numbers` printed, as the
/// page's chain view must show it: the policy line, then per rule its
/// number, packets, bytes, target, protocol (iptables 1.8.9 prints its
/// number; the page, as iptables-save wrote it, its name), opt, in, out,
/// source and destination.
fn listing_plan(dump: &Path, listed: &str) -> Value {
    let mut lines = listed.lines();
    let head = lines.next().expect("Chain INPUT (policy …)");
    let policy = head
        .split_once("(policy ")
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .expect("a built-in chain's policy");
    let (name, counters) = policy
        .split_once(' ')
        .expect("policy NAME N packets, N bytes");
    let numbers: Vec<&str> = counters
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .collect();
    lines.next().expect("the column names");
    let names = [("0", "all"), ("1", "icmp"), ("6", "tcp"), ("17", "udp")];
    let rules: Vec<Value> = lines
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (negated, number) = f[4].strip_prefix('!').map_or(("", f[4]), |n| ("!", n));
            let prot = names.iter().find(|(n, _)| *n == number).map_or(number, |(_, name)| name);
            json!({
                "num": f[0], "packets": f[1], "bytes": f[2], "target": f[3], "prot": format!("{negated}{prot}"),
                "opt": f[5], "in": f[6], "out": f[7], "source": f[8], "destination": f[9],
            })
        })
        .collect();
    json!({
        "path": dump,
        "table": "filter",
        "chain": "INPUT",
        "policy": {"name": name, "packets": numbers[0], "bytes": numbers[1]},
        "rules": rules,
    })
}

/// Two pairs of dumps to diff, each the second made from the first:
/// a small one with one rule removed, one added, one moved to the end of
/// its chain and one counting five packets more; and the 100k dump with
/// every tenth rule counting a packet more and a hundred rules gone. What
/// the page must find is counted by a model of its own (rules paired by
/// table, chain, text and which of identical ones).
fn diff_plan(dir: &Path, small: &Path, big: &str) -> Value {
    let before = std::fs::read_to_string(small).expect("fixture");
    let lines: Vec<&str> = before.lines().collect();
    let chain_of = |line: &str| {
        line.split(" -A ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .map(str::to_owned)
    };
    let rule_lines: Vec<usize> = (0..lines.len())
        .filter(|&i| chain_of(lines[i]).is_some())
        .collect();
    let rules_in = |chain: &str| {
        rule_lines
            .iter()
            .copied()
            .filter(|&i| chain_of(lines[i]).as_deref() == Some(chain))
            .collect::<Vec<_>>()
    };
    // A chain of three rules or more: its first rule goes to its end.
    let (moved_chain, moved) = rule_lines
        .iter()
        .filter_map(|&i| chain_of(lines[i]).map(|c| (c, i)))
        .find(|(c, _)| rules_in(c).len() >= 3)
        .expect("a chain with three rules");
    let last_of_moved = *rules_in(&moved_chain).last().expect("rules");
    let others: Vec<usize> = rule_lines
        .iter()
        .copied()
        .filter(|&i| chain_of(lines[i]).as_deref() != Some(&moved_chain))
        .collect();
    let (removed, counted) = (others[0], others[others.len() / 2]);
    let mut after: Vec<String> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if i == moved || i == removed {
            continue;
        }
        if i == counted {
            after.push(more_packets(line, 5));
        } else {
            after.push((*line).to_owned());
        }
        if i == last_of_moved {
            after.push(lines[moved].to_owned());
        }
        if i == others[1] {
            after.push(format!(
                "[0:0] -A {} -s 192.0.2.1/32 -j DROP",
                chain_of(line).expect("a rule")
            ));
        }
    }
    let small_after = dir.join("diff-after.ipv4.rules");
    std::fs::write(&small_after, after.join("\n") + "\n").expect("write");

    let big_lines: Vec<&str> = big.lines().collect();
    let mut k = 0;
    let mut big_after = String::new();
    for line in &big_lines {
        if chain_of(line).is_some() {
            k += 1;
            if k % 1000 == 5 {
                continue;
            }
            if k % 10 == 0 {
                big_after.push_str(&more_packets(line, 1));
                big_after.push('\n');
                continue;
            }
        }
        big_after.push_str(line);
        big_after.push('\n');
    }
    let big_before_path = dir.join("diff-big-before.ipv4.rules");
    let big_after_path = dir.join("diff-big-after.ipv4.rules");
    std::fs::write(&big_before_path, big).expect("write");
    std::fs::write(&big_after_path, &big_after).expect("write");
    let mut small_counts = diff_counts(
        before.as_bytes(),
        &std::fs::read(&small_after).expect("read"),
    );
    // Moved by construction: the model pairs rules, it does not order them.
    small_counts["moved"] = json!(1);
    let mut big_counts = diff_counts(big.as_bytes(), big_after.as_bytes());
    big_counts["moved"] = json!(0);
    json!({
        "small": {"before": small, "after": small_after, "counts": small_counts, "movedChain": moved_chain},
        "big": {"before": big_before_path, "after": big_after_path, "counts": big_counts},
    })
}

/// A rule line with `n` packets more in its `[packets:bytes]`.
fn more_packets(line: &str, n: u64) -> String {
    let (counters, rest) = line.split_once("] ").expect("a rule with counters");
    let (packets, bytes) = counters
        .trim_start_matches('[')
        .split_once(':')
        .expect("packets:bytes");
    let packets: u64 = packets.parse().expect("packets");
    format!("[{}:{bytes}] {rest}", packets + n)
}

/// Rules added, removed, counting more and counting less between two
/// dumps, each rule known by its table, chain, text and which of identical
/// ones it is.
fn diff_counts(before: &[u8], after: &[u8]) -> Value {
    let keyed = |dump: &[u8]| {
        let analysis = analyze::analyze(dump);
        let mut seen: BTreeMap<(String, String, String), usize> = BTreeMap::new();
        analysis
            .rules
            .iter()
            .map(|r| {
                let table = &analysis.tables[r.table];
                let base = (
                    table.name.clone(),
                    table.chains[r.chain].name.clone(),
                    r.text.clone(),
                );
                let nth = seen.entry(base.clone()).or_default();
                *nth += 1;
                ((base, *nth), r.counters.map(|c| (c.packets, c.bytes)))
            })
            .collect::<BTreeMap<_, _>>()
    };
    let (was, now) = (keyed(before), keyed(after));
    let (mut added, mut removed, mut counted, mut reset) = (0, 0, 0, 0);
    for (key, counters) in &now {
        match (was.get(key), counters) {
            (None, _) => added += 1,
            (Some(Some(old)), Some(new)) if new.0 < old.0 || new.1 < old.1 => reset += 1,
            (Some(Some(old)), Some(new)) if new != old => counted += 1,
            _ => {}
        }
    }
    removed += was.keys().filter(|k| !now.contains_key(*k)).count();
    json!({"added": added, "removed": removed, "counted": counted, "reset": reset})
}

/// Whether a rule's `-s` or `-d` (not negated) is a network holding
/// `address`: the model the page's address search is checked against.
fn holds_address(text: &str, address: std::net::Ipv4Addr) -> bool {
    let words: Vec<&str> = text.split_whitespace().collect();
    words.iter().enumerate().any(|(i, word)| {
        let negated = i > 0 && words[i - 1] == "!";
        let value = words.get(i + 1).copied().unwrap_or("");
        matches!(*word, "-s" | "-d")
            && !negated
            && value.split(',').any(|network| {
                let (base, length) = network.split_once('/').unwrap_or((network, "32"));
                let (Ok(base), Ok(length)) =
                    (base.parse::<std::net::Ipv4Addr>(), length.parse::<u32>())
                else {
                    return false;
                };
                let mask = u32::MAX.checked_shl(32 - length).unwrap_or(0);
                u32::from(base) & mask == u32::from(address) & mask
            })
    })
}

/// Whether a rule's `--dport`/`--sport`/`--dports`/`--sports` (not negated)
/// include `port`.
fn holds_port(text: &str, port: u16) -> bool {
    let words: Vec<&str> = text.split_whitespace().collect();
    words.iter().enumerate().any(|(i, word)| {
        let negated = i > 0 && words[i - 1] == "!";
        let value = words.get(i + 1).copied().unwrap_or("");
        matches!(*word, "--dport" | "--sport" | "--dports" | "--sports")
            && !negated
            && value.split(',').any(|ports| {
                let (low, high) = ports.split_once(':').unwrap_or((ports, ports));
                let low = if low.is_empty() {
                    0
                } else {
                    low.parse().unwrap_or(u16::MAX)
                };
                let high = if high.is_empty() {
                    u16::MAX
                } else {
                    high.parse().unwrap_or(0)
                };
                (low..=high).contains(&port)
            })
    })
}

/// The dump's lines as the page shows them (invalid UTF-8 replaced).
fn lines(dump: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(dump)
        .lines()
        .map(|line| line.trim_end_matches('\r').to_owned())
        .collect()
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The core modules jco inlined into its JS as base64.
fn inlined_modules(glue: &str) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    glue.split("base64Compile('")
        .skip(1)
        .filter_map(|rest| rest.split('\'').next())
        // jco leaves the padding out.
        .map(|b64| {
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(b64.trim_end_matches('='))
                .expect("valid base64")
        })
        .collect()
}
