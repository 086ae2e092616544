//! Prometheus text format 0.0.4: metric headers, label escaping and samples.
//!
//! Used by the renderer for the ruleset series and by the host for its own
//! series, so that both write the format the same way.

use std::fmt::Write as _;

/// A metric's name, help text and type; each is written once per exposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    pub name: &'static str,
    pub help: &'static str,
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
    metric: &'o Metric,
    started: bool,
    timestamp_ms: Option<i64>,
}

impl<'o> MetricWriter<'o> {
    pub fn new(out: &'o mut String, metric: &'o Metric) -> Self {
        Self::resume(out, metric, false)
    }

    /// A writer for a metric whose header may already have been written
    /// (into an earlier piece of the same exposition).
    pub fn resume(out: &'o mut String, metric: &'o Metric, header_written: bool) -> Self {
        Self {
            out,
            metric,
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

    /// One sample; label values are escaped here.
    pub fn sample(&mut self, labels: &[(&str, &str)], value: impl Value) {
        self.start_sample();
        self.out.push_str(self.metric.name);
        push_labels(self.out, labels);
        if !labels.is_empty() {
            self.out.push('}');
        }
        end_sample(self.out, value, self.timestamp_ms);
    }

    /// One sample of the series `prefix` starts, whose last label has
    /// `last_value` (escaped here).
    pub fn sample_with(&mut self, prefix: &SamplePrefix, last_value: &str, value: impl Value) {
        self.start_sample();
        self.out.push_str(&prefix.text);
        push_escaped(self.out, last_value);
        self.out.push_str("\"}");
        end_sample(self.out, value, self.timestamp_ms);
    }

    fn start_sample(&mut self) {
        if !self.started {
            self.started = true;
            write_header(self.out, self.metric);
        }
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
    /// Rewrites the prefix in place (its buffer is reused).
    pub fn set(&mut self, metric: &Metric, shared: &[(&str, &str)], last: &str) {
        self.text.clear();
        self.text.push_str(metric.name);
        push_labels(&mut self.text, shared);
        self.text.push(if shared.is_empty() { '{' } else { ',' });
        self.text.push_str(last);
        self.text.push_str("=\"");
    }
}

/// `{a="x",b="y"` (no closing brace), values escaped; nothing for no labels.
fn push_labels(out: &mut String, labels: &[(&str, &str)]) {
    for (i, (name, value)) in labels.iter().enumerate() {
        out.push(if i == 0 { '{' } else { ',' });
        out.push_str(name);
        out.push_str("=\"");
        push_escaped(out, value);
        out.push('"');
    }
}

/// ` value[ timestamp]` and the newline.
fn end_sample(out: &mut String, value: impl Value, timestamp_ms: Option<i64>) {
    out.push(' ');
    value.write_to(out);
    if let Some(timestamp) = timestamp_ms {
        out.push(' ');
        out.push_str(itoa::Buffer::new().format(timestamp));
    }
    out.push('\n');
}

/// Appends the `# HELP` and `# TYPE` lines of `metric`.
pub fn write_header(out: &mut String, metric: &Metric) {
    let Metric { name, help, kind } = metric;
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {}", kind.as_str());
}

/// Appends a label value escaped as the text format requires:
/// `\` → `\\`, `"` → `\"`, newline → `\n`.
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

    const M: Metric = Metric {
        name: "x_total",
        help: "An x.",
        kind: Kind::Counter,
    };

    #[test]
    fn header_once_before_first_sample() {
        let mut out = String::new();
        let mut w = MetricWriter::new(&mut out, &M);
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
        let mut w =
            MetricWriter::resume(&mut out, &M, true).with_timestamp(Some(1_764_525_600_123));
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
                MetricWriter::resume(&mut whole, &M, true)
                    .with_timestamp(stamp)
                    .sample(&[("a", "q\"x"), ("rule", "-m \"c\" \\")], value);
                MetricWriter::resume(&mut prefixed, &M, true)
                    .with_timestamp(stamp)
                    .sample_with(&prefix, "-m \"c\" \\", value);
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
        MetricWriter::new(&mut out, &M).sample_with(&bare, "v", 1u64);
        assert!(out.ends_with("\nx_total{only=\"v\"} 1\n"), "{out}");
    }

    #[test]
    fn no_samples_no_header() {
        let mut out = String::new();
        let _unused = MetricWriter::new(&mut out, &M);
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
