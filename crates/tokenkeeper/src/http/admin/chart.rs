//! Bar charts drawn here as SVG, one bar per day with two stacked series: no script, no
//! front-end build, and the same picture on a phone (the SVG scales to its box).

use crate::html::escape;
use std::fmt::Write;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 40.0;
const BOTTOM: f64 = 20.0;

/// One day's bar: the first series at the bottom, the second stacked on it.
pub struct Bar {
    pub label: String,
    pub first: i64,
    pub second: i64,
}

/// A chart ready for a template: its SVG (trusted, made here from numbers and dates) and the
/// totals its legend shows.
#[derive(serde::Serialize)]
pub struct Chart {
    pub days: usize,
    pub svg: minijinja::Value,
    pub first_total: i64,
    pub second_total: i64,
}

pub fn stacked(id: &str, title: &str, bars: &[Bar], colours: [&str; 2]) -> Chart {
    let top = bars
        .iter()
        .map(|b| b.first.max(0) + b.second.max(0))
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_height = HEIGHT - BOTTOM - 10.0;
    let step = (WIDTH - LEFT) / bars.len().max(1) as f64;
    let scale = |n: i64| n.max(0) as f64 / top as f64 * plot_height;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg id="{id}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{title}" xmlns="http://www.w3.org/2000/svg"><title>{title}</title>"##,
        id = escape(id),
        title = escape(title),
    );
    let base = HEIGHT - BOTTOM;
    let _ = write!(
        svg,
        r##"<line x1="{LEFT}" y1="{base}" x2="{WIDTH}" y2="{base}" stroke="#888"/><text x="{x}" y="16" font-size="11" text-anchor="end">{top}</text><text x="{x}" y="{base}" font-size="11" text-anchor="end">0</text>"##,
        x = LEFT - 4.0,
    );
    for (i, bar) in bars.iter().enumerate() {
        let x = LEFT + i as f64 * step + step * 0.1;
        let width = step * 0.8;
        let (h1, h2) = (scale(bar.first), scale(bar.second));
        let label = escape(&bar.label);
        let _ = write!(
            svg,
            r##"<g><title>{label}: {first} / {second}</title><rect x="{x:.1}" y="{y1:.1}" width="{width:.1}" height="{h1:.1}" fill="{c1}"/><rect x="{x:.1}" y="{y2:.1}" width="{width:.1}" height="{h2:.1}" fill="{c2}"/></g>"##,
            first = bar.first,
            second = bar.second,
            y1 = base - h1,
            y2 = base - h1 - h2,
            c1 = colours[0],
            c2 = colours[1],
        );
    }
    for (i, bar) in bars.iter().enumerate() {
        // A date every week keeps the axis readable on a narrow screen.
        if i % 7 == 0 {
            let x = LEFT + i as f64 * step;
            let _ = write!(
                svg,
                r##"<text x="{x:.1}" y="{y}" font-size="10">{label}</text>"##,
                y = HEIGHT - 4.0,
                label = escape(&bar.label),
            );
        }
    }
    svg.push_str("</svg>");
    Chart {
        days: bars.len(),
        svg: minijinja::Value::from_safe_string(svg),
        first_total: bars.iter().map(|b| b.first).sum(),
        second_total: bars.iter().map(|b| b.second).sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_scaled_to_the_tallest_day_and_labels_are_escaped() {
        let bars = [
            Bar {
                label: "<d1>".into(),
                first: 10,
                second: 0,
            },
            Bar {
                label: "d2".into(),
                first: 2,
                second: 3,
            },
        ];
        let chart = stacked("c", "T & U", &bars, ["#00f", "#f00"]);
        let svg = chart.svg.to_string();
        // The tallest bar fills the plot (170 units), the others in proportion.
        assert!(svg.contains(r##"height="170.0" fill="#00f""##), "{svg}");
        assert!(svg.contains(r##"height="51.0" fill="#f00""##), "{svg}");
        assert!(svg.contains("&lt;d1&gt;") && !svg.contains("<d1>"));
        assert!(svg.contains("T &amp; U"));
        assert_eq!((chart.first_total, chart.second_total), (12, 3));
    }
}
