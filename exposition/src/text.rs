//! The two text formats Prometheus reads, text 0.0.4 and OpenMetrics 1.0:
//! metric headers, label escaping and samples.
//!
//! Used by the renderer for the ruleset series and by the host for its own
//! series, so that both write the formats the same way. The formats differ
//! only in the header of a counter (OpenMetrics names the family without
//! `_total`), in escaping `"` in help text, in timestamps (milliseconds
//! against seconds) and in OpenMetrics' closing `# EOF`: sample lines are
//! otherwise the same.

use crate::Format;
use std::fmt::Write as _;

/// A metric's name (as its samples have it), help text and type; each is
/// written once per exposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric<'a> {
    pub name: &'a str,
    pub help: &'a str,
    pub kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        }
    }
}

/// A sample value in the text format.
pub trait Value {
    fn write_to(&self, out: &mut String);
}

impl Value for u128 {
    fn write_to(&self, out: &mut String) {
        // Counters nearly always fit in 64 bits, which format far faster:
        // wasm has no 128-bit division.
        match u64::try_from(*self) {
            Ok(small) => small.write_to(out),
            Err(_) => out.push_str(itoa::Buffer::new().format(*self)),
        }
    }
}

impl Value for u64 {
    fn write_to(&self, out: &mut String) {
        out.push_str(itoa::Buffer::new().format(*self));
    }
}

impl Value for f64 {
    fn write_to(&self, out: &mut String) {
        if self.is_nan() {
            out.push_str("NaN");
        } else if self.is_infinite() {
            out.push_str(if *self > 0.0 { "+Inf" } else { "-Inf" });
        } else {
            let _ = write!(out, "{self}");
        }
    }
}

/// Writes the samples of one metric, its `# HELP` and `# TYPE` lines just
/// before the first sample, so a metric with no samples leaves no trace.
pub struct MetricWriter<'o> {
    out: &'o mut String,
    metric: &'o Metric<'o>,
    format: Format,
    started: bool,
    timestamp_ms: Option<i64>,
}

impl<'o> MetricWriter<'o> {
    pub fn new(out: &'o mut String, metric: &'o Metric<'o>, format: Format) -> Self {
        Self::resume(out, metric, format, false)
    }

    /// A writer for a metric whose header may already have been written
    /// (into an earlier piece of the same exposition).
    pub fn resume(
        out: &'o mut String,
        metric: &'o Metric<'o>,
        format: Format,
        header_written: bool,
    ) -> Self {
        Self {
            out,
            metric,
            format,
            started: header_written,
            timestamp_ms: None,
        }
    }

    /// Every sample from here on carries `timestamp_ms` (milliseconds since
    /// the Unix epoch), when given: the time its value was read, for text
    /// served later than that.
    pub fn with_timestamp(mut self, timestamp_ms: Option<i64>) -> Self {
        self.timestamp_ms = timestamp_ms;
        self
    }

    /// Makes room for `bytes` more, exactly: for a line far longer than
    /// the rest, so that writing it does not double the buffer (and hold
    /// the old one and the new one at once).
    pub fn reserve_exact(&mut self, bytes: usize) {
        self.out.reserve_exact(bytes);
    }

    /// One sample; label values are escaped here.
    pub fn sample(&mut self, labels: &[(&str, &str)], value: impl Value) {
        self.start_sample();
        self.out.push_str(self.metric.name);
        push_labels(self.out, labels, '{');
        if !labels.is_empty() {
            self.out.push('}');
        }
        self.end_sample(value);
    }

    /// One sample of the series `prefix` starts, whose prefix's last label
    /// has `last_value`, followed by the labels of `more` (values escaped
    /// here).
    pub fn sample_with(
        &mut self,
        prefix: &SamplePrefix,
        last_value: &str,
        more: &[(&str, &str)],
        value: impl Value,
    ) {
        self.start_sample();
        self.out.push_str(&prefix.text);
        push_escaped(self.out, last_value);
        self.out.push('"');
        push_labels(self.out, more, ',');
        self.out.push('}');
        self.end_sample(value);
    }

    fn start_sample(&mut self) {
        if !self.started {
            self.started = true;
            write_header(self.out, self.metric, self.format);
        }
    }

    /// ` value[ timestamp]` and the newline.
    fn end_sample(&mut self, value: impl Value) {
        self.out.push(' ');
        value.write_to(self.out);
        if let Some(timestamp_ms) = self.timestamp_ms {
            self.out.push(' ');
            self.format.write_timestamp(self.out, timestamp_ms);
        }
        self.out.push('\n');
    }
}

/// The start of sample lines that share their metric and every label but
/// the last, up to that label's value: `name{a="x",last="`. Written once
/// for many samples (a chain's rules), so that each sample only adds what
/// is its own.
#[derive(Debug, Clone, Default)]
pub struct SamplePrefix {
    text: String,
}

impl SamplePrefix {
    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Rewrites the prefix in place (its buffer is reused).
    pub fn set(&mut self, metric: &Metric<'_>, shared: &[(&str, &str)], last: &str) {
        self.text.clear();
        self.text.push_str(metric.name);
        push_labels(&mut self.text, shared, '{');
        self.text.push(if shared.is_empty() { '{' } else { ',' });
        self.text.push_str(last);
        self.text.push_str("=\"");
    }
}

/// `{a="x",b="y"` (no closing brace; `first` in place of `{` to continue a
/// label set), values escaped; nothing for no labels.
fn push_labels(out: &mut String, labels: &[(&str, &str)], first: char) {
    for (i, (name, value)) in labels.iter().enumerate() {
        out.push(if i == 0 { first } else { ',' });
        out.push_str(name);
        out.push_str("=\"");
        push_escaped(out, value);
        out.push('"');
    }
}

/// Appends the `# HELP` and `# TYPE` lines of `metric`. OpenMetrics names
/// a counter's family without the `_total` its samples carry.
pub fn write_header(out: &mut String, metric: &Metric<'_>, format: Format) {
    let Metric { name, help, kind } = metric;
    let family = match (format, kind) {
        (Format::OpenMetrics, Kind::Counter) => name.strip_suffix("_total").unwrap_or(name),
        _ => name,
    };
    let _ = write!(out, "# HELP {family} ");
    push_help(out, help, format);
    let _ = writeln!(out, "\n# TYPE {family} {}", kind.as_str());
}

/// Help text escaped: `\` and newline in both formats, `"` too in
/// OpenMetrics.
fn push_help(out: &mut String, help: &str, format: Format) {
    for c in help.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if format == Format::OpenMetrics => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// Appends a label value escaped as the text format requires:
/// `\` → `\\`, `"` → `\"`, newline → `\n`.
/// The length of `value` escaped as [`push_escaped`] escapes it.
pub fn escaped_len(value: &str) -> usize {
    value.len() + memchr::memchr3_iter(b'\\', b'"', b'\n', value.as_bytes()).count()
}

pub fn push_escaped(out: &mut String, value: &str) {
    let mut rest = value;
    while let Some(at) = memchr::memchr3(b'\\', b'"', b'\n', rest.as_bytes()) {
        out.push_str(&rest[..at]);
        out.push_str(match rest.as_bytes()[at] {
            b'\\' => "\\\\",
            b'"' => "\\\"",
            _ => "\\n",
        });
        // The byte at `at` is ASCII, so `at + 1` is a character boundary.
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: Metric<'static> = Metric {
        name: "x_total",
        help: "An x.",
        kind: Kind::Counter,
    };

    #[test]
    fn header_once_before_first_sample() {
        let mut out = String::new();
        let mut w = MetricWriter::new(&mut out, &M, Format::Text);
        w.sample(&[("a", "1")], 5u64);
        w.sample(&[("a", "2"), ("b", "x")], u128::MAX);
        assert_eq!(
            out,
            "# HELP x_total An x.\n# TYPE x_total counter\nx_total{a=\"1\"} 5\nx_total{a=\"2\",b=\"x\"} 340282366920938463463374607431768211455\n"
        );
    }

    #[test]
    fn a_timestamp_follows_the_value() {
        let mut out = String::new();
        let mut w = MetricWriter::resume(&mut out, &M, Format::Text, true)
            .with_timestamp(Some(1_764_525_600_123));
        w.sample(&[("a", "1")], 5u64);
        w.sample(&[], 0.5);
        assert_eq!(
            out,
            "x_total{a=\"1\"} 5 1764525600123\nx_total 0.5 1764525600123\n"
        );
    }

    #[test]
    fn a_prefixed_sample_reads_as_a_whole_one() {
        let (mut whole, mut prefixed) = (String::new(), String::new());
        let mut prefix = SamplePrefix::default();
        prefix.set(&M, &[("a", "q\"x")], "rule");
        for stamp in [None, Some(-3)] {
            for value in [0u128, u128::from(u64::MAX), u128::from(u64::MAX) + 1] {
                MetricWriter::resume(&mut whole, &M, Format::Text, true)
                    .with_timestamp(stamp)
                    .sample(&[("a", "q\"x"), ("rule", "-m \"c\" \\")], value);
                MetricWriter::resume(&mut prefixed, &M, Format::Text, true)
                    .with_timestamp(stamp)
                    .sample_with(&prefix, "-m \"c\" \\", &[], value);
            }
        }
        assert_eq!(prefixed, whole);
        assert!(
            whole.starts_with("x_total{a=\"q\\\"x\",rule=\"-m \\\"c\\\" \\\\\"} 0\n"),
            "{whole}"
        );
        assert!(whole.ends_with("} 18446744073709551616 -3\n"), "{whole}");
        let mut bare = SamplePrefix::default();
        bare.set(&M, &[], "only");
        let mut out = String::new();
        MetricWriter::new(&mut out, &M, Format::Text).sample_with(&bare, "v", &[], 1u64);
        assert!(out.ends_with("\nx_total{only=\"v\"} 1\n"), "{out}");
    }

    #[test]
    fn openmetrics_names_a_counter_family_without_total_and_escapes_quotes_in_help() {
        const Q: Metric<'static> = Metric {
            name: "q_total",
            help: "A \"q\" \\ with\nlines.",
            kind: Kind::Counter,
        };
        let mut text = String::new();
        write_header(&mut text, &Q, Format::Text);
        assert_eq!(
            text,
            "# HELP q_total A \"q\" \\\\ with\\nlines.\n# TYPE q_total counter\n"
        );
        let mut open = String::new();
        let mut w = MetricWriter::new(&mut open, &Q, Format::OpenMetrics)
            .with_timestamp(Some(1_764_525_600_123));
        w.sample(&[("a", "1")], 5u64);
        let mut prefix = SamplePrefix::default();
        prefix.set(&Q, &[("a", "2")], "rule");
        w.sample_with(&prefix, "r", &[("comment", "c\"d")], 6u64);
        assert_eq!(
            open,
            "# HELP q A \\\"q\\\" \\\\ with\\nlines.\n# TYPE q counter\n\
             q_total{a=\"1\"} 5 1764525600.123\n\
             q_total{a=\"2\",rule=\"r\",comment=\"c\\\"d\"} 6 1764525600.123\n"
        );
        let mut gauge = String::new();
        let g = Metric {
            name: "g_total",
            help: "h",
            kind: Kind::Gauge,
        };
        write_header(&mut gauge, &g, Format::OpenMetrics);
        assert!(gauge.contains("# TYPE g_total gauge"), "{gauge}");
    }

    #[test]
    fn no_samples_no_header() {
        let mut out = String::new();
        let _unused = MetricWriter::new(&mut out, &M, Format::Text);
        assert_eq!(out, "");
    }

    #[test]
    fn escapes_label_values() {
        let cases = [
            ("plain", "plain"),
            (r#"--comment "a  b""#, r#"--comment \"a  b\""#),
            (r"back\slash", r"back\\slash"),
            ("new\nline", r"new\nline"),
            ("\u{fffd}é", "\u{fffd}é"),
        ];
        for (input, want) in cases {
            let mut out = String::new();
            push_escaped(&mut out, input);
            assert_eq!(out, want);
            assert_eq!(escaped_len(input), want.len(), "{input:?}");
        }
    }

    #[test]
    fn float_values() {
        let cases = [
            (0.25, "0.25"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (1e-7, "0.0000001"),
        ];
        for (value, want) in cases {
            let mut out = String::new();
            value.write_to(&mut out);
            assert_eq!(out, want);
        }
    }
}
