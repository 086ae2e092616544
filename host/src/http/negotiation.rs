//! What a scraper asks for, from its request headers: the exposition
//! format (`Accept`) and whether to compress (`Accept-Encoding`). Both
//! read weighted lists the same way (the `q` parameter, RFC 9110), so they
//! are read here together.
//!
//! Format. OpenMetrics when `Accept` prefers it (a real Prometheus does by
//! default), text 0.0.4 otherwise, as Prometheus' own client libraries
//! decide (expfmt's `NegotiateIncludingOpenMetrics`): the media ranges are
//! taken by decreasing `q`, in the order given when equal; the first that
//! is `application/openmetrics-text` (version 1.0.0, 0.0.1 or none) or
//! `text/plain` (version 0.0.4 or none) decides; wildcards and other types
//! are passed over; nothing suitable means text 0.0.4.
//!
//! Compression (RFC 9110, section 12.5.3). Codings and the `q` parameter
//! are case-insensitive; `x-gzip` is gzip; `q=0` refuses a coding; `*`
//! stands for every coding not named; a more specific entry beats `*`.
//! Without the header, or with an unreadable one, the answer is identity,
//! which every client understands. Written here because the crates at hand
//! do not offer it on its own: `headers` has no `Accept-Encoding` with
//! weights, and tower-http keeps its negotiation inside a compression layer
//! that compresses each response on its own, where this exporter streams a
//! collection's shared output.

use exposition::Format;
use hyper::header::{ACCEPT, ACCEPT_ENCODING, HeaderMap};

/// The format to answer a request with.
pub fn format(headers: &HeaderMap) -> Format {
    let mut ranges: Vec<(f32, Format)> = headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(range)
        .filter(|(weight, _)| *weight > 0.0)
        .collect();
    // Stable: equal weights keep the order given.
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranges.first().map_or(Format::Text, |(_, format)| *format)
}

/// One media range, when it names a format this exporter serves: its
/// weight (1 without `q`) and the format.
fn range(element: &str) -> Option<(f32, Format)> {
    let mut parts = element.split(';').map(str::trim);
    let media_type = parts.next()?;
    let (mut weight, mut version) = (1.0, None);
    for parameter in parts {
        let Some((name, value)) = parameter.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"');
        match name.trim().to_ascii_lowercase().as_str() {
            "q" => weight = qvalue(value)?,
            "version" => version = Some(value),
            _ => {}
        }
    }
    let format = if media_type.eq_ignore_ascii_case("application/openmetrics-text") {
        matches!(version, None | Some("1.0.0" | "0.0.1")).then_some(Format::OpenMetrics)
    } else if media_type.eq_ignore_ascii_case("text/plain") {
        matches!(version, None | Some("0.0.4")).then_some(Format::Text)
    } else {
        None
    }?;
    Some((weight, format))
}

/// Whether to send gzip: the client gives it a weight above zero (named,
/// or through `*`), and does not prefer identity over it.
pub fn prefers_gzip(headers: &HeaderMap) -> bool {
    let mut gzip = None;
    let mut identity = None;
    let mut any = None;
    let entries = headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(entry);
    for (coding, weight) in entries {
        let slot = if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            &mut gzip
        } else if coding.eq_ignore_ascii_case("identity") {
            &mut identity
        } else if coding == "*" {
            &mut any
        } else {
            continue;
        };
        // Listed twice: the higher weight stands.
        *slot = Some(slot.map_or(weight, |w: f32| w.max(weight)));
    }
    let gzip = gzip.or(any).unwrap_or(0.0);
    gzip > 0.0 && gzip >= identity.unwrap_or(0.0)
}

/// One list element: its coding and weight (1 without `q`); `None` for an
/// empty element or a weight that is not a qvalue.
fn entry(element: &str) -> Option<(&str, f32)> {
    let mut parts = element.split(';').map(str::trim);
    let coding = parts.next().filter(|c| !c.is_empty())?;
    let mut weight = 1.0;
    for parameter in parts {
        let Some((name, value)) = parameter.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("q") {
            weight = qvalue(value.trim())?;
        }
    }
    Some((coding, weight))
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`: the
/// weight of `Accept-Encoding` and of `Accept` alike.
fn qvalue(text: &str) -> Option<f32> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let valid = fraction.len() <= 3
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && match whole {
            "0" => true,
            "1" => fraction.bytes().all(|b| b == b'0'),
            _ => false,
        };
    valid.then(|| text.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn format_for(accept: &[&str]) -> Format {
        let mut headers = HeaderMap::new();
        for value in accept {
            headers.append(ACCEPT, HeaderValue::from_str(value).expect("header"));
        }
        format(&headers)
    }

    #[test]
    fn openmetrics_only_when_preferred() {
        use Format::{OpenMetrics as Om, Text};
        let cases: &[(&[&str], Format)] = &[
            (&[], Text),
            // Prometheus 2.42's default.
            (
                &[
                    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                ],
                Om,
            ),
            // Prometheus with `scrape_protocols` preferring the text format.
            (
                &[
                    "text/plain;version=0.0.4;q=0.9,application/openmetrics-text;version=1.0.0;q=0.5",
                ],
                Text,
            ),
            (&["application/openmetrics-text"], Om),
            (&["Application/OpenMetrics-Text; version=\"1.0.0\""], Om),
            (&["application/openmetrics-text;version=2.0.0"], Text),
            (&["application/openmetrics-text;q=0"], Text),
            (&["*/*"], Text),
            (&["*/*, application/openmetrics-text;q=0.5"], Om),
            (&["text/plain", "application/openmetrics-text"], Text),
            (&["text/html, application/openmetrics-text;q=0.2"], Om),
            (&["application/openmetrics-text;q=2"], Text),
            (
                &["text/plain;version=0.0.5, application/openmetrics-text;q=0.1"],
                Om,
            ),
            (
                &[
                    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
                ],
                Text,
            ),
        ];
        for (accept, want) in cases {
            assert_eq!(format_for(accept), *want, "{accept:?}");
        }
    }

    fn encodings(accept: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in accept {
            map.append(
                ACCEPT_ENCODING,
                HeaderValue::from_str(value).expect("header value"),
            );
        }
        map
    }

    #[test]
    fn negotiation_follows_rfc_9110() {
        let cases: &[(&[&str], bool)] = &[
            (&[], false),
            (&["gzip"], true),
            (&["GZIP"], true),
            (&["x-gzip"], true),
            (&["identity"], false),
            (&["deflate, gzip;q=0.5"], true),
            (&["gzip;q=0"], false),
            (&["gzip;Q=0"], false),
            (&["gzip; q=0.000"], false),
            (&["gzip;q=0."], false),
            (&["gzip;q=0, *"], false),
            (&["*, gzip;q=0"], false),
            (&["*;q=0"], false),
            (&["*"], true),
            (&["*;q=0.1"], true),
            (&["br", "gzip"], true),
            (&["br", "gzip;q=0"], false),
            (&["gzipx"], false),
            (&["gzip;q=0.5, identity"], false),
            (&["gzip;q=0.5, identity;q=0.5"], true),
            (&["gzip, identity;q=0"], true),
            (&["gzip;q=2"], false),
            (&["gzip;q=abc"], false),
            (&["gzip;level=1"], true),
            (&[","], false),
        ];
        for (accept, want) in cases {
            assert_eq!(prefers_gzip(&encodings(accept)), *want, "{accept:?}");
        }
    }
}
