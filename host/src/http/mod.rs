//! HTTP (or HTTPS, per `--web.config.file`): the metrics endpoint, the
//! landing page, `/-/healthy` and `/-/ready`, the analyzer page under
//! `/analyzer/` (with the live rulesets when `--web.enable-ruleset-endpoint`
//! is given), 404 elsewhere, 405 for
//! methods other than GET and HEAD; basic auth on every path but the
//! landing page when configured; graceful shutdown when the given future
//! resolves.
//!
//! The metrics body is streamed from the answer it shares with other
//! scrapes (see `answers`), in the format the client prefers and
//! gzip-compressed when it accepts that (see `negotiation`). `HEAD` gets the headers a `GET`
//! would, without running a collection; the health paths never run one.

pub(crate) mod analyzer;
mod auth;
mod body;
mod client_stream;
mod landing;
mod metrics;
mod negotiation;
mod routes;
pub mod web_config;

use crate::collection::Collector;
use crate::process::self_metrics::SelfMetrics;
use client_stream::{ClientStream, ResetOnClose};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use web_config::Reloading;

/// Largest request head accepted.
const MAX_HEADER_BYTES: usize = 16 * 1024;
/// How long shutdown waits for requests in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

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
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tokio::spawn(serve(app.clone(), graceful.watcher(), stream, peer));
                }
                Err(err) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!(grace = ?SHUTDOWN_GRACE, "connections still open at shutdown"),
    }
}

/// One connection: TLS if configured, then HTTP/1.1 until it ends.
async fn serve(app: Arc<App>, watcher: Watcher, stream: TcpStream, peer: SocketAddr) {
    let header_timeout = app.header_timeout;
    // A client that takes nothing for the write timeout fails its write,
    // which ends the connection, freeing its request slot and the chunks
    // it had yet to take; a response cut short resets it (see
    // `client_stream`).
    let reset = ResetOnClose::default();
    let stream = Box::pin(ClientStream::new(stream, app.write_timeout, reset.clone()));
    // Read for each connection: a certificate replaced on disk is served
    // from the next one.
    let io: std::pin::Pin<Box<dyn Io>> = match app.web.current().tls.clone() {
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
    let service = service_fn(move |request| {
        let (app, reset) = (app.clone(), reset.clone());
        async move { Ok::<_, Infallible>(app.handle(request, reset).await) }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(MAX_HEADER_BYTES)
        // A client that shuts down its sending side after the request
        // (`nc`, some probes) still gets the whole response, as Go's
        // net/http gives it; without this the body would be cut at
        // whatever point it had reached.
        .half_close(true)
        .serve_connection(TokioIo::new(io), service);
    if let Err(err) = watcher.watch(connection).await {
        tracing::debug!(%peer, %err, "connection ended with an error");
    }
}

/// A connection's byte stream: TCP, or TLS over TCP.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send> Io for T {}
