//! The year's chart: accounts by status, and members without a working connection, day by
//! day, as an SVG.

use super::record::DaySample;
use plotters::prelude::*;
use std::path::Path;

const SERIES: [(&str, RGBColor); 4] = [
    ("active", RGBColor(46, 125, 50)),
    ("refresh_failing", RGBColor(249, 168, 37)),
    ("needs_reconnect", RGBColor(21, 101, 192)),
    ("expired", RGBColor(198, 40, 40)),
];

pub fn draw(days: &[DaySample], path: &Path) -> anyhow::Result<()> {
    let Some(last) = days.last() else {
        return Ok(());
    };
    let top = days
        .iter()
        .map(|d| d.accounts.values().sum::<u64>().max(d.members))
        .max()
        .unwrap_or(1)
        .max(1);
    let root = SVGBackend::new(path, (960, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Accounts by status over the simulated year",
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .build_cartesian_2d(0u32..(days.len() as u32), 0u64..(top + top / 10))?;
    chart
        .configure_mesh()
        .x_desc(format!("day (to {})", last.at.format("%Y-%m-%d")))
        .y_desc("accounts")
        .draw()?;
    for (status, color) in SERIES {
        let points = days
            .iter()
            .enumerate()
            .map(|(i, d)| (i as u32, d.accounts.get(status).copied().unwrap_or(0)));
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(status)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    let grey = RGBColor(97, 97, 97);
    let dead = days.iter().enumerate().map(|(i, d)| (i as u32, d.dead));
    chart
        .draw_series(LineSeries::new(dead, grey.stroke_width(1)))?
        .label("members without a working connection")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], grey.stroke_width(1)));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::MiddleRight)
        .draw()?;
    root.present()?;
    Ok(())
}
