//! The ruleset analyzer page, served at `/analyzer/` from files embedded at
//! build time (`web/dist/analyzer/`, built by npm from the component this
//! binary embeds; build.rs checks that it was, and embeds a page saying how
//! to build it otherwise), and the live rulesets it may load.

pub use crate::collection::Live;

include!(concat!(env!("OUT_DIR"), "/analyzer_assets.rs"));

/// Where the page lives; `/analyzer` redirects here so that its relative
/// URLs resolve.
pub const PREFIX: &str = "/analyzer/";
/// The path (under `PREFIX`) of the live rulesets' index; each family's
/// dump, and nft's listing, are below it.
pub const RULESETS: &str = "rulesets";

/// What the page's HTML may do: its own scripts and WebAssembly, its own
/// Worker and fetches, nothing from elsewhere (dumps are untrusted text).
/// The same policy as the page's own `<meta>`, which covers other servers.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' blob: data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// One of the page's files.
pub struct Asset {
    pub body: &'static [u8],
    pub content_type: &'static str,
}

/// The file at `name` (relative to `PREFIX`; empty for the page itself).
pub fn asset(name: &str) -> Option<Asset> {
    let name = if name.is_empty() { "index.html" } else { name };
    let (_, body) = ASSETS.iter().find(|(file, _)| *file == name)?;
    Some(Asset {
        body,
        content_type: content_type(name),
    })
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map_or("", |(_, extension)| extension) {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        // Anything else and browsers refuse to compile it as it streams.
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

/// The live rulesets' index: each one and where it is.
pub fn rulesets_index(rulesets: &[Live]) -> String {
    let entries: Vec<String> = rulesets
        .iter()
        .map(|live| {
            let name = live.name();
            format!("{{\"name\":\"{name}\",\"path\":\"{RULESETS}/{name}\"}}")
        })
        .collect();
    format!("{{\"rulesets\":[{}]}}\n", entries.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use exposition::Family;

    #[test]
    fn the_page_and_its_component_are_embedded_with_their_types() {
        if let Some(reason) = NOT_BUILT {
            panic!(
                "the analyzer page is not embedded ({reason}): run `cd web && npm ci && npm run build` first (scripts/test.sh does)"
            );
        }
        let page = asset("").expect("index.html");
        assert_eq!(page.content_type, "text/html; charset=utf-8");
        assert!(std::str::from_utf8(page.body).is_ok_and(|html| html.contains("main.js")));
        let wasm = asset("package/parser.core.wasm").expect("the component's core module");
        assert_eq!(wasm.content_type, "application/wasm");
        assert!(wasm.body.starts_with(b"\0asm"));
        for script in [
            "main.js",
            "state.js",
            "views/tree.js",
            "worker.js",
            "package/index.js",
            "package/parser.js",
        ] {
            assert_eq!(
                asset(script).map(|a| a.content_type),
                Some("text/javascript; charset=utf-8"),
                "{script}"
            );
        }
        assert!(
            asset("package/index.d.ts").is_none(),
            "declarations are not served"
        );
        assert!(asset("package/component.sha256").is_none());
        assert!(asset("nothing.js").is_none());
    }

    #[test]
    fn the_index_lists_each_family_with_its_path() {
        assert_eq!(
            rulesets_index(&[
                Live::Family(Family::Ipv4),
                Live::Family(Family::Ipv6),
                Live::Nftables,
                Live::Ipset
            ]),
            "{\"rulesets\":[{\"name\":\"ipv4\",\"path\":\"rulesets/ipv4\"},{\"name\":\"ipv6\",\"path\":\"rulesets/ipv6\"},{\"name\":\"nftables\",\"path\":\"rulesets/nftables\"},{\"name\":\"ipset\",\"path\":\"rulesets/ipset\"}]}\n"
        );
        assert_eq!(rulesets_index(&[]), "{\"rulesets\":[]}\n");
        for live in [
            Live::Family(Family::Ipv4),
            Live::Family(Family::Ipv6),
            Live::Nftables,
            Live::Ipset,
        ] {
            assert_eq!(Live::from_name(live.name()), Some(live));
        }
        assert_eq!(Live::from_name("ipv5"), None);
    }
}
