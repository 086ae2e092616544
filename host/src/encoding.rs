//! Content-coding negotiation (RFC 9110, section 12.5.3): whether a
//! response may be sent gzip-compressed, from the request's
//! `Accept-Encoding` fields.
//!
//! Codings and the `q` parameter are case-insensitive; `x-gzip` is gzip;
//! `q=0` refuses a coding; `*` stands for every coding not named; a more
//! specific entry beats `*`. Without the header, or with an unreadable one,
//! the answer is identity, which every client understands.
//!
//! Written here because the crates at hand do not offer it on its own:
//! `headers` has no `Accept-Encoding` with weights, and tower-http keeps its
//! negotiation inside a compression layer that compresses each response on
//! its own, where this exporter streams a collection's shared output.

use hyper::header::{ACCEPT_ENCODING, HeaderMap};

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
pub(crate) fn qvalue(text: &str) -> Option<f32> {
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

    fn headers(accept: &[&str]) -> HeaderMap {
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
            assert_eq!(prefers_gzip(&headers(accept)), *want, "{accept:?}");
        }
    }
}
