//! The landing page at `/`: what this is and where the metrics are.

use crate::process::build_info::{REVISION, VERSION};

pub fn page(telemetry_path: &str) -> String {
    let path = html_escape(telemetry_path);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>iptables exporter</title></head>\n<body>\n<h1>iptables exporter</h1>\n<p>Prometheus exporter for iptables and ip6tables packet and byte counters. Version {VERSION} (revision {REVISION}).</p>\n<ul>\n<li><a href=\"{path}\">Metrics</a></li>\n<li><a href=\"/analyzer/\">Ruleset analyzer</a></li>\n<li><a href=\"/-/healthy\">Health</a></li>\n<li><a href=\"/-/ready\">Readiness</a></li>\n</ul>\n</body>\n</html>\n"
    )
}

fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_to_the_telemetry_path_escaped() {
        assert!(page("/metrics").contains("<a href=\"/metrics\">Metrics</a>"));
        assert!(page("/metrics").contains("<a href=\"/-/ready\">Readiness</a>"));
        assert!(page("/m\"<x>").contains("href=\"/m&quot;&lt;x&gt;\""));
    }
}
