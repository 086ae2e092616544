//! The metrics response: the format and compression the client asks for,
//! its deadline, a request slot, then the answer streamed with this
//! response's own series at its end.

use super::body::{Body, full, plain, with_type};
use super::negotiation;
use super::{App, ResetOnClose};
use crate::answers::Response as Answer;
use bytes::Bytes;
use exposition::Format;
use http_body_util::{BodyExt as _, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{CONTENT_ENCODING, HeaderValue, VARY};
use hyper::{Method, Request, Response, StatusCode};
use std::time::{Duration, Instant};
use tokio::sync::OwnedSemaphorePermit;

/// Where Prometheus announces its scrape timeout.
const SCRAPE_TIMEOUT_HEADER: &str = "x-prometheus-scrape-timeout-seconds";
/// Longest scrape timeout taken from a scraper: a day, as for every duration.
const MAX_SCRAPE_TIMEOUT_SECONDS: f64 = 86_400.0;

impl App {
    /// The metrics, as this request wants them; `HEAD` gets the headers a
    /// `GET` would, without running a collection.
    pub(super) async fn metrics_response(
        &self,
        request: &Request<Incoming>,
        reset: ResetOnClose,
    ) -> Response<Body> {
        let format = match negotiation::format(request.headers()) {
            Format::OpenMetrics if self.openmetrics => Format::OpenMetrics,
            _ => Format::Text,
        };
        let gzip = negotiation::prefers_gzip(request.headers());
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
    answer: Answer,
    tail: Bytes,
    permit: Option<OwnedSemaphorePermit>,
    reset: ResetOnClose,
) -> Body {
    let answer = answer.with_tail(tail);
    let stream = futures_util::stream::unfold(
        (answer, permit, reset),
        |(mut answer, permit, reset)| async move {
            match answer.next().await {
                Ok(Some(chunk)) => Some((Ok(Frame::data(chunk)), (answer, permit, reset))),
                Ok(None) => None,
                Err(aborted) => {
                    reset.arm();
                    Some((Err(aborted.into()), (answer, permit, reset)))
                }
            }
        },
    );
    StreamBody::new(stream).boxed()
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
