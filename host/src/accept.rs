//! Exposition format negotiation: OpenMetrics when the request's `Accept`
//! prefers it (a real Prometheus does by default), text 0.0.4 otherwise.
//!
//! As Prometheus' own client libraries decide (expfmt's
//! `NegotiateIncludingOpenMetrics`): the media ranges are taken by
//! decreasing `q`, in the order given when equal; the first that is
//! `application/openmetrics-text` (version 1.0.0, 0.0.1 or none) or
//! `text/plain` (version 0.0.4 or none) decides; wildcards and other
//! types are passed over; nothing suitable means text 0.0.4.

use crate::encoding::qvalue;
use exposition::Format;
use hyper::header::{ACCEPT, HeaderMap};

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
}
