//! Plots through `plotters`, as SVG (text kept as text) and PNG (text rendered with the
//! embedded DejaVu Sans, so a PNG looks the same on a machine without fonts): scatter plots
//! with error bars and line plots, axes fitted to the data with round-numbered ticks.

use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// The embedded font (DejaVu Sans 2.37; `assets/DejaVuSans.LICENSE`).
const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
/// The family name plots ask for.
const FAMILY: &str = "sans-serif";

/// One labelled series: `(x, y, y_err)` points (`y_err` 0: no error bar).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// The points, in drawing order.
    pub points: Vec<(f64, f64, f64)>,
}

/// How the points of a series are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Markers (with error bars), one legend entry per series.
    Scatter,
    /// A line through the points of each series.
    Lines,
}

/// A plot: title, axis labels, series and style.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    /// Title.
    pub title: String,
    /// The x axis.
    pub xlabel: String,
    /// The y axis.
    pub ylabel: String,
    /// The series.
    pub series: Vec<Series>,
    /// How they are drawn.
    pub style: Style,
}

const SIZE: (u32, u32) = (760, 480);
/// Series beyond which the legend is left out.
const MAX_LEGEND: usize = 12;

fn ensure_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // the font is compiled in and known to parse (a test renders a PNG with it)
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

/// The data's range along one axis, padded by 6% (a flat range gets ±0.5% of its value, or
/// ±0.01 at 0, so a single point sits mid-plot).
fn padded(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    let pad = if span > 0.0 {
        span * 0.06
    } else {
        (lo.abs() * 0.005).max(0.01)
    };
    (lo - pad, hi + pad)
}

impl Plot {
    /// The plot's x and y ranges (error bars included).
    fn ranges(&self) -> ((f64, f64), (f64, f64)) {
        let pts = self.series.iter().flat_map(|s| s.points.iter());
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y, e) in pts {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y - e);
            y1 = y1.max(y + e);
        }
        if x0 > x1 {
            return ((0.0, 1.0), (0.0, 1.0));
        }
        (padded(x0, x1), padded(y0, y1))
    }

    /// Draws the plot on any plotters backend (both measure text with the embedded font).
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        ensure_font();
        root.fill(&WHITE)?;
        let ((x0, x1), (y0, y1)) = self.ranges();
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FAMILY, 20))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .x_desc(&self.xlabel)
            .y_desc(&self.ylabel)
            .label_style((FAMILY, 13))
            .axis_desc_style((FAMILY, 15))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        for (i, s) in self.series.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let pts: Vec<(f64, f64)> = s.points.iter().map(|&(x, y, _)| (x, y)).collect();
            let drawn = match self.style {
                Style::Lines => {
                    chart.draw_series(pts.iter().map(|&p| Circle::new(p, 2, color.filled())))?;
                    chart.draw_series(LineSeries::new(pts, color.stroke_width(2)))?
                }
                Style::Scatter => {
                    chart.draw_series(s.points.iter().filter(|p| p.2 > 0.0).map(
                        |&(x, y, e)| {
                            ErrorBar::new_vertical(x, y - e, y, y + e, color.stroke_width(1), 8)
                        },
                    ))?;
                    chart.draw_series(pts.iter().map(|&p| Circle::new(p, 5, color.filled())))?
                }
            };
            drawn.label(&s.label).legend(move |(x, y)| {
                Rectangle::new([(x, y - 4), (x + 14, y + 4)], color.filled())
            });
        }
        // a legend for a readable number of series (a report over many runs has none)
        if self.series.len() <= MAX_LEGEND && self.series.iter().any(|s| !s.label.is_empty()) {
            chart
                .configure_series_labels()
                .label_font((FAMILY, 12))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.4))
                .position(SeriesLabelPosition::LowerRight)
                .draw()?;
        }
        root.present()
    }

    /// The plot as SVG text.
    pub fn svg(&self) -> Result<String, String> {
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
            self.draw(&root).map_err(|e| e.to_string())?;
        }
        Ok(out)
    }

    /// Writes `stem.svg` and `stem.png`.
    pub fn write(&self, stem: &Path) -> std::io::Result<()> {
        let svg = self.svg().map_err(std::io::Error::other)?;
        std::fs::write(stem.with_extension("svg"), svg)?;
        let png = stem.with_extension("png");
        let root = BitMapBackend::new(&png, SIZE).into_drawing_area();
        self.draw(&root)
            .map_err(|e| std::io::Error::other(format!("{}: {e}", png.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plot(style: Style) -> Plot {
        Plot {
            title: "Test accuracy vs relative FLOPs".into(),
            xlabel: "relative FLOPs".into(),
            ylabel: "test accuracy (%)".into(),
            series: vec![
                Series {
                    label: "swast-cut <a&b>".into(),
                    points: vec![(0.12, 96.5, 0.4), (0.25, 97.8, 0.2)],
                },
                Series {
                    label: "dense".into(),
                    points: vec![(1.0, 98.9, 0.0)],
                },
            ],
            style,
        }
    }

    #[test]
    fn svg_has_round_ticks_escaped_labels_and_every_point() {
        let s = plot(Style::Scatter).svg().unwrap();
        assert!(
            s.starts_with("<svg") && s.trim_end().ends_with("</svg>"),
            "{s}"
        );
        assert!(s.contains("&lt;a&amp;b&gt;"), "labels are escaped");
        // a filled marker per point (an error bar draws a hollow circle at its centre)
        let filled = s
            .split("<circle")
            .skip(1)
            .filter(|c| {
                !c.split("/>")
                    .next()
                    .unwrap_or_default()
                    .contains("fill=\"none\"")
            })
            .count();
        assert_eq!(filled, 3, "{s}");
        // ticks are round numbers, not fractions of the data range such as 0.208
        let ticks: Vec<f64> = s
            .split("<text")
            .skip(1)
            .filter_map(|t| t.split('>').nth(1)?.split('<').next()?.trim().parse().ok())
            .collect();
        assert!(ticks.len() >= 6, "{ticks:?}");
        for t in &ticks {
            let scaled = (t * 100.0).round();
            assert!((t * 100.0 - scaled).abs() < 1e-6, "tick {t} is not round");
        }
    }

    #[test]
    fn png_renders_text_with_the_embedded_font() {
        let dir = tempfile::tempdir().unwrap();
        let dir_path = dir.path();
        let stem = dir_path.join("curve");
        plot(Style::Lines).write(&stem).unwrap();
        let png = std::fs::read(stem.with_extension("png")).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        assert!(stem.with_extension("svg").exists());
        // an empty plot still draws (axes over 0..1)
        let empty = Plot {
            series: vec![],
            ..plot(Style::Lines)
        };
        empty.write(&dir_path.join("empty")).unwrap();
    }
}
