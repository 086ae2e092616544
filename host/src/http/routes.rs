//! Which path serves what, for which method, behind which check.

use super::analyzer::{self, Live};
use super::body::{Body, full, plain, with_type};
use super::landing;
use super::web_config::WebConfig;
use super::{App, ResetOnClose};
use crate::collection::LiveOutput;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{
    ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_SECURITY_POLICY, HeaderValue, LOCATION,
    WWW_AUTHENTICATE, X_CONTENT_TYPE_OPTIONS,
};
use hyper::{Method, Request, Response, StatusCode};
use std::sync::Arc;

impl App {
    /// Every response: authenticated where it must be, with the
    /// configured headers.
    pub(super) async fn handle(
        &self,
        request: Request<Incoming>,
        reset: ResetOnClose,
    ) -> Response<Body> {
        let web = self.web.current();
        let mut response = if request.uri().path() != "/" && !authorized(&web, &request).await {
            let mut response = plain(StatusCode::UNAUTHORIZED, "401 unauthorized\n");
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"iptables-exporter\", charset=\"UTF-8\""),
            );
            response
        } else {
            self.respond(request, reset).await
        };
        for (name, value) in &web.headers {
            response.headers_mut().insert(name.clone(), value.clone());
        }
        response
    }

    async fn respond(&self, request: Request<Incoming>, reset: ResetOnClose) -> Response<Body> {
        let path = request.uri().path();
        let route = match path {
            _ if path == self.telemetry_path => Route::Metrics,
            "/" => Route::Landing,
            "/-/healthy" => Route::Healthy,
            "/-/ready" => Route::Ready,
            _ => match analyzer_route(path) {
                Some(route) => route,
                None => return plain(StatusCode::NOT_FOUND, "404 page not found\n"),
            },
        };
        if !matches!(*request.method(), Method::GET | Method::HEAD) {
            let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "405 method not allowed\n");
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        match route {
            Route::Metrics => self.metrics_response(&request, reset).await,
            Route::Landing => {
                let page = full(Bytes::from(landing::page(&self.telemetry_path)));
                with_type(Response::new(page), "text/html; charset=utf-8")
            }
            Route::Healthy => plain(StatusCode::OK, "iptables-exporter is healthy.\n"),
            // Listening means the component is compiled and the families
            // resolved; ready once the first collection (started at
            // start-up) is in, so that a scrape has counters to get.
            Route::Ready if self.collector.has_collected() => {
                plain(StatusCode::OK, "iptables-exporter is ready.\n")
            }
            Route::Ready => plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "iptables-exporter is not ready: the first collection is still running.\n",
            ),
            Route::AnalyzerRoot => analyzer_redirect(&request),
            Route::Asset(asset) => asset_response(asset),
            Route::Rulesets(_) if !self.ruleset_endpoint => plain(
                StatusCode::NOT_FOUND,
                "404 the ruleset endpoint is off: start the exporter with --web.enable-ruleset-endpoint to serve the live rulesets\n",
            ),
            Route::Rulesets(live) => self.ruleset(live, request.method()).await,
        }
    }

    /// The live rulesets' index, or what a family's save command (or
    /// `nft`) printed in a collection as fresh as a scrape's. Never cached:
    /// it is the whole ruleset, read for this request.
    async fn ruleset(&self, live: Option<Live>, method: &Method) -> Response<Body> {
        let rulesets = self.collector.rulesets();
        let mut response = match live {
            None => {
                let index = analyzer::rulesets_index(&rulesets);
                with_type(Response::new(full(Bytes::from(index))), "application/json")
            }
            Some(live) if !rulesets.contains(&live) => {
                return plain(StatusCode::NOT_FOUND, "404 this ruleset is not collected\n");
            }
            Some(_) if *method == Method::HEAD => {
                with_type(Response::new(full(Bytes::new())), "text/plain")
            }
            Some(live) => {
                let saved = self.collector.saved_outputs().await;
                match saved.into_iter().find(|s| s.live == live) {
                    Some(LiveOutput {
                        output: Some(output),
                        read_at,
                        ..
                    }) => {
                        // As printed: save output is not necessarily UTF-8.
                        let mut response = with_type(Response::new(full(output)), "text/plain");
                        read_where_and_when(response.headers_mut(), read_at);
                        response
                    }
                    _ => {
                        return plain(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "503 the command failed in the last collection; the exporter's log says why\n",
                        );
                    }
                }
            }
        };
        response
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// Which host a live ruleset was read on and when (its command started),
/// for the analyzer page to say: `X-Iptables-Exporter-Host` and
/// `X-Iptables-Exporter-Read-At` (RFC 3339, UTC).
fn read_where_and_when(headers: &mut hyper::HeaderMap, read_at: std::time::SystemTime) {
    let when = humantime::format_rfc3339_millis(read_at).to_string();
    if let Ok(value) = HeaderValue::from_str(&when) {
        headers.insert("x-iptables-exporter-read-at", value);
    }
    // A host name that is no header value (not visible ASCII) is left out.
    let host = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok());
    if let Some(value) = host.and_then(|h| HeaderValue::from_str(&h).ok()) {
        headers.insert("x-iptables-exporter-host", value);
    }
}

/// `/analyzer` → `/analyzer/`, keeping the query: the page's URLs are
/// relative to its folder.
fn analyzer_redirect(request: &Request<Incoming>) -> Response<Body> {
    let query = request.uri().query().map(|q| format!("?{q}"));
    let target = format!("{}{}", analyzer::PREFIX, query.unwrap_or_default());
    let mut response = plain(StatusCode::PERMANENT_REDIRECT, "308 see /analyzer/\n");
    if let Ok(location) = HeaderValue::from_str(&target) {
        response.headers_mut().insert(LOCATION, location);
    }
    response
}

/// Whether the request may be served: no users configured, or its
/// `Authorization` names one with the right password (checked on the
/// blocking pool: bcrypt is slow by design).
async fn authorized(web: &Arc<WebConfig>, request: &Request<Incoming>) -> bool {
    if web.users.is_none() {
        return true;
    }
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .map(|value| value.as_bytes().to_vec());
    let web = web.clone();
    tokio::task::spawn_blocking(move || {
        web.users
            .as_ref()
            .is_some_and(|users| users.allows(header.as_deref()))
    })
    .await
    .unwrap_or(false)
}

/// What a path serves.
enum Route {
    Metrics,
    Landing,
    Healthy,
    Ready,
    /// `/analyzer`, without the slash.
    AnalyzerRoot,
    Asset(analyzer::Asset),
    /// The index of the live rulesets (`None`), or one of them.
    Rulesets(Option<Live>),
}

/// The analyzer's routes; `None` for a path that is none of them.
fn analyzer_route(path: &str) -> Option<Route> {
    if path == analyzer::PREFIX.trim_end_matches('/') {
        return Some(Route::AnalyzerRoot);
    }
    let name = path.strip_prefix(analyzer::PREFIX)?;
    if name == analyzer::RULESETS {
        return Some(Route::Rulesets(None));
    }
    if let Some(live) = name
        .strip_prefix(analyzer::RULESETS)
        .and_then(|rest| rest.strip_prefix('/'))
    {
        return Some(Route::Rulesets(Some(Live::from_name(live)?)));
    }
    analyzer::asset(name).map(Route::Asset)
}

/// One of the analyzer's files. Revalidated on every load (`no-cache`), so
/// that a new exporter's page is never mixed with an old one's files.
fn asset_response(asset: analyzer::Asset) -> Response<Body> {
    let mut response = with_type(
        Response::new(full(Bytes::from_static(asset.body))),
        asset.content_type,
    );
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if asset.content_type.starts_with("text/html") {
        headers.insert(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(analyzer::CONTENT_SECURITY_POLICY),
        );
    }
    response
}
