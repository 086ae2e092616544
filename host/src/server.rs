//! HTTP (or HTTPS, per `--web.config.file`): the metrics endpoint, the
//! landing page, `/-/healthy` and `/-/ready`, the analyzer page under
//! `/analyzer/` (with the live rulesets when `--web.enable-ruleset-endpoint`
//! is given), 404 elsewhere, 405 for
//! methods other than GET and HEAD; basic auth on every path but the
//! landing page when configured; graceful shutdown when the given future
//! resolves.
//!
//! The metrics body is streamed from the shared collection output (see
//! `flight`), in the format the client prefers (see `accept`) and
//! gzip-compressed when it accepts that. `HEAD` gets the headers a `GET`
//! would, without running a collection; the health paths never run one.

use crate::accept;
use crate::analyzer;
use crate::client_stream::{ClientStream, ResetOnClose};
use crate::collect::{AnswerReader, Collector};
use crate::encoding::prefers_gzip;
use crate::flight::Reader;
use crate::gzip::GzipReader;
use crate::landing;
use crate::self_metrics::SelfMetrics;
use crate::web_config::{Reloading, WebConfig};
use bytes::Bytes;
use exposition::{Family, Format};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{
    ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
    HeaderValue, LOCATION, VARY, WWW_AUTHENTICATE, X_CONTENT_TYPE_OPTIONS,
};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Largest request head accepted.
const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Where Prometheus announces its scrape timeout.
const SCRAPE_TIMEOUT_HEADER: &str = "x-prometheus-scrape-timeout-seconds";
/// Longest scrape timeout taken from a scraper: a day, as for every duration.
const MAX_SCRAPE_TIMEOUT_SECONDS: f64 = 86_400.0;
/// How long shutdown waits for requests in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

type Body = BoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

pub struct App {
    pub collector: Arc<Collector>,
    /// TLS, headers and users (`--web.config.file`), as last loaded.
    pub web: Arc<Reloading>,
    pub self_metrics: SelfMetrics,
    pub telemetry_path: String,
    /// Whether a scraper that prefers OpenMetrics gets it.
    pub openmetrics: bool,
    /// Whether `/analyzer/rulesets` serves the save commands' output
    /// (`--web.enable-ruleset-endpoint`).
    pub ruleset_endpoint: bool,
    /// Metrics requests served at once; `None` for no limit.
    pub max_requests: Option<Arc<Semaphore>>,
    /// Time a client has to send its request headers (slowloris).
    pub header_timeout: Duration,
    /// Time a write to a client may stay blocked before the connection is
    /// dropped (a client that stops reading).
    pub write_timeout: Duration,
    /// Taken off the timeout a scraper announces, to leave time to render
    /// and send the answer.
    pub timeout_offset: Duration,
}

/// Serves until `shutdown` resolves, then lets requests in flight finish.
pub async fn run(listener: TcpListener, app: Arc<App>, shutdown: impl Future<Output = ()>) {
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        // Out of file descriptors and the like: back off, keep serving.
                        tracing::warn!(%err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let header_timeout = app.header_timeout;
                // A client that takes nothing for the write timeout fails
                // its write, which ends the connection, freeing its
                // request slot and the chunks it had yet to take; a
                // response cut short resets it (see `client_stream`).
                let reset = ResetOnClose::default();
                let stream = Box::pin(ClientStream::new(stream, app.write_timeout, reset.clone()));
                // Read for each connection: a certificate replaced on disk
                // is served from the next one.
                let tls = app.web.current().tls.clone();
                let app = app.clone();
                let service = service_fn(move |request| {
                    let (app, reset) = (app.clone(), reset.clone());
                    async move { Ok::<_, Infallible>(app.handle(request, reset).await) }
                });
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let io: std::pin::Pin<Box<dyn Io>> = match tls {
                        None => stream,
                        Some(tls) => {
                            // The handshake gets the time the headers get.
                            let accept = tokio_rustls::TlsAcceptor::from(tls).accept(stream);
                            match tokio::time::timeout(header_timeout, accept).await {
                                Ok(Ok(stream)) => Box::pin(stream),
                                Ok(Err(err)) => {
                                    tracing::debug!(%peer, %err, "TLS handshake failed");
                                    return;
                                }
                                Err(_) => {
                                    tracing::debug!(%peer, "TLS handshake timed out");
                                    return;
                                }
                            }
                        }
                    };
                    let connection = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(header_timeout)
                        .max_buf_size(MAX_HEADER_BYTES)
                        // A client that shuts down its sending side after the
                        // request (`nc`, some probes) still gets the whole
                        // response, as Go's net/http gives it; without this the
                        // body would be cut at whatever point it had reached.
                        .half_close(true)
                        .serve_connection(TokioIo::new(io), service);
                    if let Err(err) = watcher.watch(connection).await {
                        tracing::debug!(%peer, %err, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!(grace = ?SHUTDOWN_GRACE, "connections still open at shutdown"),
    }
}

/// A connection's byte stream: TCP, or TLS over TCP.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send> Io for T {}

impl App {
    /// Every response: authenticated where it must be, with the
    /// configured headers.
    async fn handle(&self, request: Request<Incoming>, reset: ResetOnClose) -> Response<Body> {
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
            Route::Metrics => {}
            Route::Landing => {
                let page = full(Bytes::from(landing::page(&self.telemetry_path)));
                return with_type(Response::new(page), "text/html; charset=utf-8");
            }
            Route::Healthy => return plain(StatusCode::OK, "iptables-exporter is healthy.\n"),
            // Listening means the component is compiled and the families
            // resolved; ready once the first collection (started at
            // start-up) is in, so that a scrape has counters to get.
            Route::Ready if self.collector.has_collected() => {
                return plain(StatusCode::OK, "iptables-exporter is ready.\n");
            }
            Route::Ready => {
                return plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "iptables-exporter is not ready: the first collection is still running.\n",
                );
            }
            Route::AnalyzerRoot => {
                // The page's URLs are relative to its folder.
                let query = request.uri().query().map(|q| format!("?{q}"));
                let target = format!("{}{}", analyzer::PREFIX, query.unwrap_or_default());
                let mut response = plain(StatusCode::PERMANENT_REDIRECT, "308 see /analyzer/\n");
                if let Ok(location) = HeaderValue::from_str(&target) {
                    response.headers_mut().insert(LOCATION, location);
                }
                return response;
            }
            Route::Asset(asset) => return asset_response(asset),
            Route::Rulesets(_) if !self.ruleset_endpoint => {
                return plain(
                    StatusCode::NOT_FOUND,
                    "404 the ruleset endpoint is off: start the exporter with --web.enable-ruleset-endpoint to serve the live rulesets\n",
                );
            }
            Route::Rulesets(family) => return self.ruleset(family, request.method()).await,
        }
        let format = match accept::format(request.headers()) {
            Format::OpenMetrics if self.openmetrics => Format::OpenMetrics,
            _ => Format::Text,
        };
        let gzip = prefers_gzip(request.headers());
        let body = if *request.method() == Method::HEAD {
            // The headers are known without the data: no collection.
            full(Bytes::new())
        } else {
            let deadline = scrape_timeout(request.headers())
                .map(|timeout| Instant::now() + timeout.saturating_sub(self.timeout_offset));
            match self.metrics(format, gzip, deadline, reset).await {
                Some(body) => body,
                None => {
                    tracing::warn!("too many metrics requests in flight; refused one");
                    return plain(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "503 too many requests in flight\n",
                    );
                }
            }
        };
        let mut response = with_type(Response::new(body), format.content_type());
        response
            .headers_mut()
            .insert(VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
        if gzip {
            response
                .headers_mut()
                .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        response
    }

    /// The live rulesets' index, or what `family`'s save command printed in
    /// a collection as fresh as a scrape's. Never cached: it is the whole
    /// ruleset, read for this request.
    async fn ruleset(&self, family: Option<Family>, method: &Method) -> Response<Body> {
        let families = self.collector.families();
        let mut response = match family {
            None => {
                let index = analyzer::rulesets_index(&families);
                with_type(Response::new(full(Bytes::from(index))), "application/json")
            }
            Some(family) if !families.contains(&family) => {
                return plain(StatusCode::NOT_FOUND, "404 this family is not collected\n");
            }
            Some(_) if *method == Method::HEAD => {
                with_type(Response::new(full(Bytes::new())), "text/plain")
            }
            Some(family) => {
                let saved = self.collector.saved_outputs().await;
                match saved.into_iter().find(|(f, _)| *f == family) {
                    Some((_, Some(output))) => {
                        // Save output, as printed: not necessarily UTF-8.
                        with_type(Response::new(full(output)), "text/plain")
                    }
                    _ => {
                        return plain(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "503 the save command failed in the last collection; the exporter's log says why\n",
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

    /// The metrics body of the answer to this request, to be had by
    /// `deadline`; `None` when `--web.max-requests` are in flight already.
    async fn metrics(
        &self,
        format: Format,
        gzip: bool,
        deadline: Option<Instant>,
        reset: ResetOnClose,
    ) -> Option<Body> {
        let permit = match &self.max_requests {
            None => None,
            Some(semaphore) => match semaphore.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => return None,
            },
        };
        let answer = self.collector.scrape(deadline, format, gzip).await;
        let mut tail = String::new();
        self.self_metrics.write(&mut tail, format);
        tail.push_str(format.end());
        Some(metrics_body(answer, Bytes::from(tail), permit, reset))
    }
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
    /// The index of the live rulesets (`None`), or one family's.
    Rulesets(Option<Family>),
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
    if let Some(family) = name
        .strip_prefix(analyzer::RULESETS)
        .and_then(|rest| rest.strip_prefix('/'))
    {
        let family = Family::from_label(family)?;
        return Some(Route::Rulesets(Some(family)));
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

/// The scrape timeout the scraper announces (Prometheus sends it in
/// seconds, fractions allowed); one that is not a sane number is ignored.
fn scrape_timeout(headers: &hyper::HeaderMap) -> Option<Duration> {
    let text = headers.get(SCRAPE_TIMEOUT_HEADER)?.to_str().ok()?;
    let seconds: f64 = text.trim().parse().ok()?;
    (seconds.is_finite() && seconds > 0.0)
        .then(|| Duration::from_secs_f64(seconds.min(MAX_SCRAPE_TIMEOUT_SECONDS)))
}

/// The answer, then `tail` (the exporter's own series, read for this
/// response). `permit` is held until the body is done or dropped. An
/// answer aborted after part of it was sent arms `reset`: the client must
/// not take what it got for a whole exposition.
fn metrics_body(
    answer: AnswerReader,
    tail: Bytes,
    permit: Option<OwnedSemaphorePermit>,
    reset: ResetOnClose,
) -> Body {
    enum Source {
        Plain { reader: Reader, tail: Option<Bytes> },
        Gzip(GzipReader),
    }
    let source = match answer {
        AnswerReader::Plain(reader) => Source::Plain {
            reader,
            tail: Some(tail),
        },
        AnswerReader::Gzip(reader) => Source::Gzip(reader.with_tail(tail)),
    };
    let stream = futures_util::stream::unfold(
        (source, permit, reset),
        |(mut source, permit, reset)| async move {
            let next = match &mut source {
                Source::Plain { reader, tail } => match reader.next().await {
                    Ok(None) => Ok(tail.take()),
                    other => other,
                },
                Source::Gzip(reader) => reader.next().await,
            };
            match next {
                Ok(Some(chunk)) => Some((Ok(Frame::data(chunk)), (source, permit, reset))),
                Ok(None) => None,
                Err(aborted) => {
                    reset.arm();
                    Some((Err(aborted.into()), (source, permit, reset)))
                }
            }
        },
    );
    StreamBody::new(stream).boxed()
}

/// A body known in full.
fn full(bytes: Bytes) -> Body {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let body = full(Bytes::from_static(text.as_bytes()));
    let mut response = with_type(Response::new(body), "text/plain; charset=utf-8");
    *response.status_mut() = status;
    response
}

fn with_type(mut response: Response<Body>, content_type: &'static str) -> Response<Body> {
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_announced_scrape_timeout_is_read_when_sane() {
        let timeout = |value: &str| {
            let mut headers = hyper::HeaderMap::new();
            headers.insert(
                SCRAPE_TIMEOUT_HEADER,
                HeaderValue::from_str(value).expect("header"),
            );
            scrape_timeout(&headers)
        };
        assert_eq!(timeout("10"), Some(Duration::from_secs(10)));
        assert_eq!(timeout("9.5"), Some(Duration::from_millis(9500)));
        assert_eq!(timeout("1e9"), Some(Duration::from_secs(86_400)));
        for bad in ["0", "-1", "NaN", "inf", "10s", ""] {
            assert_eq!(timeout(bad), None, "{bad}");
        }
        assert_eq!(scrape_timeout(&hyper::HeaderMap::new()), None);
    }
}
