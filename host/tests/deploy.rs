//! The deployment kit in `deploy/`, each file checked by the tool that
//! knows its format: the systemd unit by `systemd-analyze verify`, the
//! DaemonSet by the Kubernetes schemas (`kubernetes-validate`, which ships
//! them, installed by scripts/setup.sh), the alerting rules by `promtool
//! check rules` and `promtool test rules`, the scrape configuration by
//! `promtool check config`, and the Grafana dashboard by running every one
//! of its queries against a real Prometheus scraping a real exporter. The
//! flags each file passes are parsed by the exporter's own flag parser.

use crate::common;

use clap::Parser as _;
use common::exporter::Exporter;
use common::netns::Netns;
use common::prometheus::{self, Prometheus};
use common::{repo_root, require_tool};
use iptables_exporter::cli::Cli;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn deploy(name: &str) -> PathBuf {
    repo_root().join("deploy").join(name)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs `command`; its status, stdout and stderr.
fn run(command: &mut Command) -> (bool, String, String) {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The exporter's flag parser accepts `args` (as a file passes them).
fn assert_flags_parse(what: &str, args: &[String]) {
    let argv = std::iter::once("iptables-exporter".to_owned()).chain(args.iter().cloned());
    if let Err(err) = Cli::try_parse_from(argv) {
        panic!("{what}: the exporter refuses {args:?}: {err}");
    }
}

#[test]
fn the_systemd_unit_verifies() {
    let analyze = require_tool("systemd-analyze", "systemd");
    let unit = read(&deploy("iptables-exporter.service"));
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart");
    let mut words = exec.split_whitespace();
    assert_eq!(words.next(), Some("/usr/local/bin/iptables-exporter"));
    let args: Vec<String> = words.map(str::to_owned).collect();
    assert_flags_parse("ExecStart", &args);
    // Verified with the binary this build made where the unit expects the
    // installed one: verify checks that the command exists.
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("iptables-exporter.service");
    std::fs::write(
        &copy,
        unit.replace(
            "/usr/local/bin/iptables-exporter",
            env!("CARGO_BIN_EXE_iptables-exporter"),
        ),
    )
    .expect("unit copy");
    let (ok, stdout, stderr) = run(Command::new(&analyze).arg("verify").arg(&copy));
    assert!(
        ok && stderr.trim().is_empty(),
        "systemd-analyze verify:\n{stdout}{stderr}"
    );
    // The check can fail: a misspelt directive is reported.
    std::fs::write(
        &copy,
        read(&copy).replace("NoNewPrivileges=", "NoNewPrivilege="),
    )
    .expect("write");
    let (_, _, stderr) = run(Command::new(&analyze).arg("verify").arg(&copy));
    assert!(stderr.contains("Unknown key"), "{stderr}");
}

#[test]
fn the_dockerfile_builds_in_one_stage_and_runs_in_a_small_one() {
    let dockerfile = read(&deploy("Dockerfile"));
    let instructions: Vec<&str> = dockerfile
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("&&"))
        .collect();
    let froms: Vec<&&str> = instructions
        .iter()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert_eq!(froms.len(), 2, "build stage and runtime stage: {froms:?}");
    assert!(
        froms[0].ends_with(" AS build") && froms[0].contains("rust:1.95"),
        "{}",
        froms[0]
    );
    assert!(froms[1].contains("-slim"), "{}", froms[1]);
    let runtime_at = dockerfile.rfind("\nFROM ").expect("runtime stage");
    let (build, runtime) = dockerfile.split_at(runtime_at);
    // The set-up the README's build needs, and a locked release build.
    assert!(
        build.contains("rustup target add wasm32-unknown-unknown"),
        "{build}"
    );
    // Node and web/'s locked packages: the build makes the analyzer page.
    assert!(
        build.contains("install -y --no-install-recommends nodejs npm"),
        "{build}"
    );
    assert!(build.contains("cd web && npm ci"), "{build}");
    // Built, the page made from its component, built again to embed it.
    let cargo_build = "cargo build --release --locked -p iptables-exporter";
    let page = build
        .find("(cd web && npm run build)")
        .expect("the page built");
    assert!(
        build.find(cargo_build).is_some_and(|first| first < page)
            && build.rfind(cargo_build).is_some_and(|last| last > page),
        "{build}"
    );
    assert!(build.contains("IPTABLES_EXPORTER_REVISION="), "{build}");
    // The runtime has iptables, nft, ipset and the binary, and nothing
    // built.
    assert!(
        runtime.contains("apt-get install -y --no-install-recommends iptables nftables ipset"),
        "{runtime}"
    );
    assert!(runtime.contains(
        "COPY --from=build /usr/local/bin/iptables-exporter /usr/local/bin/iptables-exporter"
    ));
    assert!(!runtime.contains("cargo"), "{runtime}");
    assert!(!runtime.contains("npm"), "the page is embedded: {runtime}");
    assert!(runtime.contains("EXPOSE 9455"));
    assert!(runtime.contains("ENTRYPOINT [\"/usr/local/bin/iptables-exporter\"]"));
    let cmd = runtime
        .lines()
        .find_map(|l| l.strip_prefix("CMD "))
        .expect("CMD");
    let args: Vec<String> = serde_json::from_str(cmd).expect("CMD in exec form");
    assert_flags_parse("CMD", &args);
    // The documented run line grants exactly what the exporter needs.
    assert!(
        dockerfile.contains("--network host --cap-drop ALL --cap-add NET_ADMIN --cap-add NET_RAW"),
        "{dockerfile}"
    );
}

#[test]
fn the_daemonset_is_valid_kubernetes_and_probes_the_health_paths() {
    let validate = repo_root().join(".tools/venv/bin/kubernetes-validate");
    assert!(
        validate.exists(),
        "{} is missing: run scripts/setup.sh (it installs kubernetes-validate, which ships the Kubernetes schemas)",
        validate.display()
    );
    let manifest = deploy("kubernetes/daemonset.yaml");
    let (ok, stdout, stderr) = run(Command::new(&validate)
        .args(["--strict", "--kubernetes-version", "1.31.0"])
        .arg(&manifest));
    assert!(ok, "kubernetes-validate:\n{stdout}{stderr}");
    assert!(
        format!("{stdout}{stderr}").contains("passed for resource daemonset/iptables-exporter"),
        "{stdout}{stderr}"
    );
    // The check can fail: a field the schema does not have is refused.
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        read(&manifest).replace(
            "hostNetwork: true",
            "hostNetwork: true\n      hostNetwrk: true",
        ),
    )
    .expect("write");
    let (ok, stdout, stderr) = run(Command::new(&validate)
        .args(["--strict", "--kubernetes-version", "1.31.0"])
        .arg(&bad));
    assert!(!ok, "a misspelt field passed:\n{stdout}{stderr}");

    let daemonset: serde_json::Value = serde_saphyr::from_str(&read(&manifest)).expect("YAML");
    let pod = &daemonset["spec"]["template"]["spec"];
    assert_eq!(pod["hostNetwork"], true);
    let container = &pod["containers"][0];
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/-/healthy");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/-/ready");
    let capabilities = &container["securityContext"]["capabilities"];
    assert_eq!(capabilities["drop"], serde_json::json!(["ALL"]));
    assert_eq!(
        capabilities["add"],
        serde_json::json!(["NET_ADMIN", "NET_RAW"])
    );
    assert!(container["resources"]["requests"]["memory"].is_string());
    let args: Vec<String> = serde_json::from_value(container["args"].clone()).expect("args");
    assert_flags_parse("DaemonSet args", &args);
}

#[test]
fn the_alerting_rules_and_the_scrape_configuration_pass_promtool() {
    let promtool = require_tool("promtool", "prometheus");
    let dir = deploy("prometheus");
    for args in [
        vec!["check", "rules", "alerts.yml"],
        vec!["test", "rules", "alerts_test.yml"],
        vec!["check", "config", "prometheus.yml"],
    ] {
        let (ok, stdout, stderr) = run(Command::new(&promtool).current_dir(&dir).args(&args));
        // promtool 2.42 can exit 0 on problems: read what it says too.
        assert!(
            ok && stdout.contains("SUCCESS")
                && !stdout.contains("FAILED")
                && !stderr.contains("FAILED"),
            "promtool {args:?}:\n{stdout}{stderr}"
        );
    }
}

const RULES: &str = "*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -m comment --comment \"loopback\" -j ACCEPT
-A INPUT -p tcp --dport 22 -j ACCEPT
-A INPUT -p icmp -j ACCEPT
COMMIT
";

/// The dashboard's queries with Grafana's variables replaced as Grafana
/// would for "all instances" and a 1m rate interval.
fn dashboard_queries() -> Vec<(String, String)> {
    let dashboard: serde_json::Value =
        serde_json::from_str(&read(&deploy("grafana/iptables-exporter.json"))).expect("JSON");
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr");
            queries.push((
                panel["title"].as_str().expect("title").to_owned(),
                expr.replace("$instance", ".+")
                    .replace("$__rate_interval", "1m"),
            ));
        }
    }
    for variable in dashboard["templating"]["list"]
        .as_array()
        .expect("variables")
    {
        if let Some(definition) = variable["definition"].as_str() {
            // label_values(SELECTOR, label) has data when SELECTOR has.
            let selector = definition
                .strip_prefix("label_values(")
                .and_then(|rest| rest.rsplit_once(','))
                .map(|(selector, _)| selector.to_owned())
                .expect("a label_values() variable");
            queries.push((format!("variable {}", variable["name"]), selector));
        }
    }
    assert!(queries.len() >= 10, "{queries:?}");
    queries
}

#[test]
fn every_dashboard_query_returns_data_from_a_real_prometheus() {
    const ADDRESS: &str = "127.0.0.1:9455";
    let ns = Netns::new("dash");
    ns.run("iptables-nft-restore", &[], RULES.as_bytes());
    // So that the ipset panels have their series (the source is on where
    // ipset is installed).
    common::require_tool("ipset", "ipset");
    ns.run("ipset", &["create", "dash", "hash:ip", "maxelem", "8"], b"");
    ns.run("ipset", &["add", "dash", "127.0.0.1"], b"");
    let mut exporter = ns.command(env!("CARGO_BIN_EXE_iptables-exporter"));
    exporter.args([
        "--iptables.save-path=iptables-nft-save",
        "--iptables.families=ipv4",
        // So that the limit's panel has its series.
        "--iptables.max-rule-series=1",
        &format!("--web.listen-address={ADDRESS}"),
    ]);
    let _exporter = Exporter::spawn(exporter);
    // The kit's own configuration, scraping every second.
    let config = read(&deploy("prometheus/prometheus.yml"))
        .replace("scrape_interval: 15s", "scrape_interval: 1s")
        .replace("scrape_timeout: 10s", "scrape_timeout: 1s")
        .replace("evaluation_interval: 15s", "evaluation_interval: 1s")
        .replace("'localhost:9455'", &format!("'{ADDRESS}'"))
        .replace(
            "  - alerts.yml",
            &format!("  - {}", deploy("prometheus/alerts.yml").display()),
        );
    assert!(config.contains(ADDRESS) && config.contains("scrape_interval: 1s"));
    let prometheus = Prometheus::start(&ns, &config);
    ns.enter(|| {
        common::http::wait_for_listener(prometheus::ADDRESS, Duration::from_secs(30));
        for (title, query) in dashboard_queries() {
            prometheus::wait_for(
                &prometheus,
                Duration::from_secs(90),
                &format!("the panel `{title}` has data: {query}"),
                || prometheus::query(&query).filter(|result| !result.is_empty()),
            );
        }
        // The rules were loaded from the kit and evaluated.
        prometheus::wait_for(
            &prometheus,
            Duration::from_secs(60),
            "the kit's alerting rules are loaded",
            || {
                let response = common::http::get(prometheus::ADDRESS, "/api/v1/rules").ok()?;
                let text = String::from_utf8_lossy(&response.body).into_owned();
                text.contains("IptablesDropPolicyRisingFast").then_some(())
            },
        );
    });
}
