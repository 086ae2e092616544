//! Log-log line charts as a standalone SVG, for the cost curves in
//! benches/README.md: a few series of a few points each need no plotting
//! library.

use std::fmt::Write as _;

/// One line: (x, y) points, both above zero.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// One chart: its series share the axes, both logarithmic.
pub struct Chart {
    pub title: String,
    pub series: Vec<Series>,
}

const WIDTH: f64 = 480.0;
const HEIGHT: f64 = 340.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 85.0;
const COLOURS: [&str; 6] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
];

/// The charts side by side in one SVG document.
pub fn svg(charts: &[Chart]) -> String {
    let total = WIDTH * charts.len().max(1) as f64;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="{HEIGHT}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        out,
        r#"<rect width="{total}" height="{HEIGHT}" fill="white"/>"#
    );
    for (i, chart) in charts.iter().enumerate() {
        let _ = writeln!(out, r#"<g transform="translate({},0)">"#, WIDTH * i as f64);
        draw(chart, &mut out);
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
    out
}

/// Powers of ten enclosing every value.
fn decades(values: impl Iterator<Item = f64>) -> (i32, i32) {
    let (lo, hi) = values
        .filter(|v| *v > 0.0 && v.is_finite())
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        return (0, 1);
    }
    let lo = lo.log10().floor() as i32;
    let hi = (hi.log10().ceil() as i32).max(lo + 1);
    (lo, hi)
}

fn draw(chart: &Chart, out: &mut String) {
    let points = || chart.series.iter().flat_map(|s| s.points.iter());
    let (x_lo, x_hi) = decades(points().map(|p| p.0));
    let (y_lo, y_hi) = decades(points().map(|p| p.1));
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |v: f64| LEFT + (v.log10() - f64::from(x_lo)) / f64::from(x_hi - x_lo) * plot_w;
    let y = |v: f64| TOP + plot_h - (v.log10() - f64::from(y_lo)) / f64::from(y_hi - y_lo) * plot_h;
    let _ = writeln!(
        out,
        r#"<text x="{}" y="18" text-anchor="middle" font-size="13">{}</text>"#,
        WIDTH / 2.0,
        escape(&chart.title)
    );
    for decade in x_lo..=x_hi {
        let at = x(10f64.powi(decade));
        let _ = writeln!(
            out,
            r##"<line x1="{at:.1}" y1="{TOP}" x2="{at:.1}" y2="{:.1}" stroke="#ddd"/><text x="{at:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            TOP + plot_h,
            TOP + plot_h + 14.0,
            label(decade)
        );
    }
    for decade in y_lo..=y_hi {
        let at = y(10f64.powi(decade));
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{at:.1}" x2="{:.1}" y2="{at:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + plot_w,
            LEFT - 4.0,
            at + 4.0,
            label(decade)
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">rules</text>"#,
        LEFT + plot_w / 2.0,
        TOP + plot_h + 30.0
    );
    for (i, series) in chart.series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let path: Vec<String> = series
            .points
            .iter()
            .map(|&(px, py)| format!("{:.1},{:.1}", x(px), y(py)))
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
            path.join(" ")
        );
        for &(px, py) in &series.points {
            let _ = writeln!(
                out,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"/>"#,
                x(px),
                y(py)
            );
        }
        let row = TOP + plot_h + 48.0 + 14.0 * (i / 2) as f64;
        let column = LEFT + (i % 2) as f64 * plot_w / 2.0;
        let _ = writeln!(
            out,
            r#"<rect x="{column:.1}" y="{:.1}" width="12" height="3" fill="{colour}"/><text x="{:.1}" y="{row:.1}">{}</text>"#,
            row - 4.0,
            column + 16.0,
            escape(&series.name)
        );
    }
}

/// 10^n as plain text: 1k, 0.01, 100.
fn label(decade: i32) -> String {
    match decade {
        3..=5 => format!("{}k", 10u64.pow(decade as u32 - 3)),
        6.. => format!("{}M", 10u64.pow(decade as u32 - 6)),
        0.. => 10u64.pow(decade as u32).to_string(),
        _ => format!("{}", 10f64.powi(decade)),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_point_lands_inside_its_chart() {
        let chart = Chart {
            title: "t".into(),
            series: vec![Series {
                name: "s".into(),
                points: vec![(1_000.0, 0.004), (300_000.0, 0.9)],
            }],
        };
        let svg = svg(&[chart]);
        let circles: Vec<(f64, f64)> = svg
            .lines()
            .filter(|l| l.starts_with("<circle"))
            .map(|l| {
                let attr = |name: &str| -> f64 {
                    let start = l.find(&format!("{name}=\"")).expect("attribute") + name.len() + 2;
                    l[start..]
                        .split('"')
                        .next()
                        .expect("value")
                        .parse()
                        .expect("number")
                };
                (attr("cx"), attr("cy"))
            })
            .collect();
        assert_eq!(circles.len(), 2);
        for (cx, cy) in circles {
            assert!((LEFT..=WIDTH - RIGHT).contains(&cx), "{cx}");
            assert!((TOP..=HEIGHT - BOTTOM).contains(&cy), "{cy}");
        }
        assert!(svg.contains(">1k<") && svg.contains(">1M<"), "{svg}");
    }

    #[test]
    fn decade_labels() {
        assert_eq!(label(-2), "0.01");
        assert_eq!(label(0), "1");
        assert_eq!(label(2), "100");
        assert_eq!(label(4), "10k");
        assert_eq!(label(6), "1M");
    }
}
