//! A minimal blocking HTTP/1.0 client (no chunking, connection closes) and a
//! reader for the Prometheus text format, independent of the exporter's code.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

pub struct Response {
    pub status: u16,
    pub headers: String,
    pub body: Vec<u8>,
}

impl Response {
    /// The value of header `name` (any case), if it was sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

pub fn request(method: &str, address: &str, path: &str) -> std::io::Result<Response> {
    request_with(method, address, path, &[])
}

pub fn get_with(address: &str, path: &str, headers: &[(&str, &str)]) -> std::io::Result<Response> {
    request_with("GET", address, path, headers)
}

/// The text of a gzip body that must be exactly one gzip member (RFC 1952
/// allows several; some clients read only the first): panics otherwise.
pub fn gunzip_one_member(body: &[u8]) -> String {
    let mut decoder = flate2::bufread::GzDecoder::new(body);
    let mut text = String::new();
    decoder
        .read_to_string(&mut text)
        .expect("valid gzip of UTF-8 text");
    let rest = decoder.into_inner();
    assert!(
        rest.is_empty(),
        "{} bytes after the first gzip member",
        rest.len()
    );
    text
}

/// How long a response may take before the client gives up (an error).
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);

pub fn request_with(
    method: &str,
    address: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<Response> {
    exchange(address, &Request::new(method, path, headers), READ_TIMEOUT)
}

/// An HTTP/1.0 request as sent on the wire.
pub struct Request {
    text: String,
    /// Shut down the sending side once the request is sent.
    pub half_close: bool,
}

impl Request {
    pub fn new(method: &str, path: &str, headers: &[(&str, &str)]) -> Self {
        let mut text = format!("{method} {path} HTTP/1.0\r\nHost: test\r\n");
        for (name, value) in headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str("\r\n");
        Self {
            text,
            half_close: false,
        }
    }
}

/// Sends `request` and reads the response to the end of the connection,
/// failing if nothing more comes for `read_timeout`.
pub fn exchange(
    address: &str,
    request: &Request,
    read_timeout: Duration,
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(read_timeout))?;
    stream.write_all(request.text.as_bytes())?;
    if request.half_close {
        stream.shutdown(std::net::Shutdown::Write)?;
    }
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no end of headers"))?;
    let headers = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = headers
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    Ok(Response {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    })
}

/// `GET path`'s body as text; fails the test when the request or the
/// UTF-8 does.
pub fn get_text(address: &str, path: &str) -> String {
    let response = get(address, path).unwrap_or_else(|err| panic!("GET {path}: {err}"));
    String::from_utf8(response.body).expect("a UTF-8 body")
}

pub fn get(address: &str, path: &str) -> std::io::Result<Response> {
    request("GET", address, path)
}

/// Polls until `address` accepts connections.
pub fn wait_for_listener(address: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while TcpStream::connect(address).is_err() {
        assert!(
            Instant::now() < deadline,
            "nothing listening on {address} after {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The ruleset part of a scrape: everything before the scrape series.
pub fn ruleset_part(body: &str) -> &str {
    body.split("# HELP iptables_scrape_success")
        .next()
        .unwrap_or_default()
}

/// One sample: metric name and labels, value as text.
pub type Series = (String, BTreeMap<String, String>);

/// Reads samples of the text format; panics on a line it cannot read, and
/// on a series that appears twice.
pub fn parse_exposition(text: &str) -> BTreeMap<Series, String> {
    let mut samples = BTreeMap::new();
    for (series, value) in parse_samples(text) {
        let previous = samples.insert(series.clone(), value);
        assert!(previous.is_none(), "duplicate series {series:?}");
    }
    samples
}

/// The samples of the text format in order, without their timestamps;
/// panics on a line it cannot read.
pub fn parse_samples(text: &str) -> Vec<(Series, String)> {
    parse_stamped_samples(text)
        .into_iter()
        .map(|(series, value, _)| (series, value))
        .collect()
}

/// The one timestamp every sample of `text` carries; `None` if none has
/// one. Panics if some have one and others not, or they differ.
pub fn sample_timestamps(text: &str) -> Option<i64> {
    let stamps: BTreeSet<Option<i64>> = parse_stamped_samples(text)
        .into_iter()
        .map(|(.., stamp)| stamp)
        .collect();
    assert!(
        stamps.len() <= 1,
        "samples with different timestamps: {stamps:?}"
    );
    stamps.into_iter().next().flatten()
}

/// `text` with the timestamps of its sample lines taken out.
pub fn without_timestamps(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        // Where the series ends: after the labels, or after the name.
        let series_end = line
            .rfind('}')
            .map_or_else(|| line.find(' ').unwrap_or(line.len()), |close| close + 1);
        let stamped = !line.starts_with('#') && line[series_end..].split_whitespace().count() == 2;
        match line.rfind(' ') {
            Some(cut) if stamped => out.push_str(&line[..cut]),
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// Samples as (series, value, timestamp in milliseconds); panics on a line
/// it cannot read. A timestamp with a fraction is OpenMetrics' seconds; a
/// whole one is read as text format's milliseconds (tests that compare
/// timestamps scrape the text format).
pub fn parse_stamped_samples(text: &str) -> Vec<(Series, String, Option<i64>)> {
    let mut samples = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (series, value) = match line.find('{') {
            Some(open) => {
                let close = line
                    .rfind('}')
                    .unwrap_or_else(|| panic!("no closing brace: {line}"));
                let labels = parse_labels(&line[open + 1..close])
                    .unwrap_or_else(|| panic!("bad labels: {line}"));
                ((line[..open].to_owned(), labels), line[close + 1..].trim())
            }
            None => {
                let (name, value) = line
                    .split_once(' ')
                    .unwrap_or_else(|| panic!("no value: {line}"));
                ((name.to_owned(), BTreeMap::new()), value.trim())
            }
        };
        let mut words = value.split(' ');
        let value = words.next().unwrap_or_default();
        let stamp = words.next().map(|t| {
            t.parse().unwrap_or_else(|_| {
                let seconds: f64 = t
                    .parse()
                    .unwrap_or_else(|_| panic!("bad timestamp: {line}"));
                (seconds * 1e3).round() as i64
            })
        });
        assert!(words.next().is_none(), "more after the timestamp: {line}");
        samples.push((series, value.to_owned(), stamp));
    }
    samples
}

fn parse_labels(text: &str) -> Option<BTreeMap<String, String>> {
    let mut labels = BTreeMap::new();
    let mut chars = text.chars().peekable();
    loop {
        let name: String = chars.by_ref().take_while(|&c| c != '=').collect();
        if name.is_empty() {
            return Some(labels);
        }
        if chars.next()? != '"' {
            return None;
        }
        let mut value = String::new();
        loop {
            match chars.next()? {
                '\\' => match chars.next()? {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                '"' => break,
                c => value.push(c),
            }
        }
        labels.insert(name, value);
        match chars.next() {
            Some(',') => {}
            None => return Some(labels),
            Some(_) => return None,
        }
    }
}

pub fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}
