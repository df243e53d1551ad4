//! The dashboard's charts, drawn as SVG by plotters and put in the page as they are (no
//! script, no image request). Labels are the page's own text, in the page's language.

use plotters::prelude::*;

const INK: RGBColor = RGBColor(0x1b, 0x1f, 0x24);
const ACCENT: RGBColor = RGBColor(0x0b, 0x4f, 0x8a);
const SEVERE: RGBColor = RGBColor(0xb3, 0x26, 0x1e);

fn failed(e: impl std::fmt::Display) -> String {
    format!("chart: {e}")
}

/// The width the labels of `items` need, between 60 px and half of `width`.
fn label_room(items: &[(String, u64)], width: u32) -> u32 {
    let longest = items
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0) as u32;
    (longest * 15 / 2 + 16).clamp(60, width / 2)
}

/// Horizontal bars, one per `(label, value)`, largest first as given.
pub fn bars(
    lang: crate::ui::i18n::Lang,
    items: &[(String, u64)],
    width: u32,
) -> Result<String, String> {
    let rows = items.len().max(1) as u32;
    let height = 40 + rows * 26;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let max = items.iter().map(|(_, v)| *v).max().unwrap_or(1).max(1);
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .margin_right(28)
            .x_label_area_size(24)
            // Room for the longest label (about 7.5 px a character at 13 px), up to half the
            // width, so that no label is cut.
            .y_label_area_size(label_room(items, width))
            .build_cartesian_2d(0u64..max + max / 10 + 1, (0u32..rows).into_segmented())
            .map_err(failed)?;
        let labels: Vec<String> = items.iter().map(|(l, _)| l.clone()).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(rows as usize)
            .y_label_formatter(&|y| match y {
                SegmentValue::CenterOf(y) => rows
                    .checked_sub(1 + *y)
                    .and_then(|i| labels.get(i as usize))
                    .cloned()
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .x_label_formatter(&|x| crate::ui::i18n::int(lang, *x))
            .label_style(("sans-serif", 13).into_font().color(&INK))
            .draw()
            .map_err(failed)?;
        chart
            .draw_series(items.iter().enumerate().map(|(i, (_, v))| {
                let y = rows - 1 - i as u32;
                let mut bar = Rectangle::new(
                    [
                        (0, SegmentValue::Exact(y)),
                        (*v, SegmentValue::Exact(y + 1)),
                    ],
                    ACCENT.mix(0.85).filled(),
                );
                bar.set_margin(3, 3, 0, 0);
                bar
            }))
            .map_err(failed)?;
        root.present().map_err(failed)?;
    }
    Ok(out)
}

/// A line over labelled points (oldest first), with a dashed reference level (capacity).
pub fn line(
    lang: crate::ui::i18n::Lang,
    points: &[(String, f64)],
    reference: Option<f64>,
    width: u32,
) -> Result<String, String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, 260)).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let top = points
            .iter()
            .map(|(_, v)| *v)
            .chain(reference)
            .fold(1.0_f64, f64::max)
            * 1.1;
        let n = points.len().max(2);
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(64)
            .build_cartesian_2d(0usize..n - 1, 0f64..top)
            .map_err(failed)?;
        let labels: Vec<String> = points.iter().map(|(l, _)| l.clone()).collect();
        chart
            .configure_mesh()
            .x_labels(n.min(12))
            .x_label_formatter(&|x| labels.get(*x).cloned().unwrap_or_default())
            .y_label_formatter(&|y| crate::ui::i18n::int(lang, y.max(0.0) as u64))
            .label_style(("sans-serif", 13).into_font().color(&INK))
            .draw()
            .map_err(failed)?;
        chart
            .draw_series(LineSeries::new(
                points.iter().enumerate().map(|(i, (_, v))| (i, *v)),
                ACCENT.stroke_width(3),
            ))
            .map_err(failed)?;
        if let Some(level) = reference {
            chart
                .draw_series(DashedLineSeries::new(
                    [(0, level), (n - 1, level)],
                    8,
                    5,
                    SEVERE.stroke_width(2),
                ))
                .map_err(failed)?;
        }
        root.present().map_err(failed)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_svg_with_their_labels() {
        let svg = bars(
            crate::ui::i18n::Lang::Es,
            &[("Regla 13".to_owned(), 120), ("Regla 58".to_owned(), 7)],
            640,
        )
        .unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("Regla 13") && svg.contains("<rect"));
        let svg = line(
            crate::ui::i18n::Lang::Es,
            &[("2025-03".to_owned(), 100.0), ("2025-04".to_owned(), 150.0)],
            Some(120.0),
            640,
        )
        .unwrap();
        assert!(
            svg.contains("2025-04") && svg.contains("<polyline"),
            "{svg}"
        );
    }
}
