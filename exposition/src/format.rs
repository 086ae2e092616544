//! Which of the two text formats an exposition is written in.

/// Prometheus text format 0.0.4, or OpenMetrics 1.0 text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// Text format 0.0.4: what every Prometheus reads.
    #[default]
    Text,
    /// OpenMetrics 1.0 text: ends with `# EOF`, so that a cut-off response
    /// is told from a complete one.
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// What ends a complete exposition.
    pub fn end(self) -> &'static str {
        match self {
            Format::Text => "",
            Format::OpenMetrics => "# EOF\n",
        }
    }

    /// Appends a sample timestamp given in milliseconds since the Unix
    /// epoch: as is in text 0.0.4, in seconds in OpenMetrics.
    pub fn write_timestamp(self, out: &mut String, timestamp_ms: i64) {
        match self {
            Format::Text => out.push_str(itoa::Buffer::new().format(timestamp_ms)),
            Format::OpenMetrics => {
                let ms = timestamp_ms.unsigned_abs();
                if timestamp_ms < 0 {
                    out.push('-');
                }
                out.push_str(itoa::Buffer::new().format(ms / 1000));
                let fraction = ms % 1000;
                if fraction != 0 {
                    out.push('.');
                    // Three digits with their leading zeros, less trailing ones.
                    let mut digits = itoa::Buffer::new();
                    let digits = digits.format(fraction + 1000);
                    out.push_str(digits[1..].trim_end_matches('0'));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_milliseconds_in_text_and_seconds_in_openmetrics() {
        let cases = [
            (1_764_525_600_123, "1764525600123", "1764525600.123"),
            (1_764_525_600_000, "1764525600000", "1764525600"),
            (1_764_525_600_050, "1764525600050", "1764525600.05"),
            (7, "7", "0.007"),
            (-1_500, "-1500", "-1.5"),
            (0, "0", "0"),
        ];
        for (ms, text, openmetrics) in cases {
            let mut out = String::new();
            Format::Text.write_timestamp(&mut out, ms);
            assert_eq!(out, text);
            out.clear();
            Format::OpenMetrics.write_timestamp(&mut out, ms);
            assert_eq!(out, openmetrics);
        }
        let mut out = String::new();
        Format::OpenMetrics.write_timestamp(&mut out, i64::MIN);
        assert_eq!(out, "-9223372036854775.808");
    }
}
