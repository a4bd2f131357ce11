//! Tables and plots from run folders: mean ± std over seeds, as Markdown and CSV, and SVG
//! scatter plots (accuracy against relative FLOPs, sparsity and coreset fraction). Everything
//! is made from the `summary.json` files, never from in-memory state.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use swast_core::run::Summary;

/// One row of a report: the runs of one setting, over seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Method.
    pub method: String,
    /// Dataset.
    pub dataset: String,
    /// Model.
    pub model: String,
    /// The setting's name (the run folder's name without its seed).
    pub setting: String,
    /// Seeds aggregated.
    pub seeds: usize,
    /// Test accuracy, mean and standard deviation (fractions).
    pub accuracy: (f64, f64),
    /// Final sparsity (mean).
    pub sparsity: f64,
    /// Coreset fraction (mean).
    pub coreset_fraction: f64,
    /// Relative training FLOPs, mean and standard deviation.
    pub relative_flops: (f64, f64),
    /// Wall seconds (mean).
    pub wall_seconds: f64,
}

/// Mean and sample standard deviation (0 for a single value).
pub fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64
    } else {
        0.0
    };
    (m, var.sqrt())
}

/// Every `summary.json` under `roots` (recursively), with its folder.
pub fn find_summaries(roots: &[PathBuf]) -> std::io::Result<Vec<(PathBuf, Summary)>> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = roots.to_vec();
    while let Some(d) = stack.pop() {
        if !d.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} is not a folder of runs", d.display()),
            ));
        }
        let s = d.join("summary.json");
        if s.is_file() {
            let text = std::fs::read_to_string(&s)?;
            let parsed: Summary = serde_json::from_str(&text).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", s.display()),
                )
            })?;
            out.push((d.clone(), parsed));
        }
        let mut subs: Vec<PathBuf> = std::fs::read_dir(&d)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        subs.sort();
        stack.extend(subs.into_iter().rev());
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Groups runs that differ only in their seed: folders named `seed-<n>` group under their
/// parent; any other folder is its own setting.
pub fn aggregate(runs: &[(PathBuf, Summary)]) -> Vec<Row> {
    let mut groups: BTreeMap<(String, String), Vec<&Summary>> = BTreeMap::new();
    for (dir, s) in runs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let setting = if name.starts_with("seed-") {
            dir.parent()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or(name)
        } else {
            name
        };
        groups
            .entry((s.method.clone(), setting))
            .or_default()
            .push(s);
    }
    groups
        .into_iter()
        .map(|((method, setting), v)| {
            let f = |g: fn(&Summary) -> f64| v.iter().map(|s| g(s)).collect::<Vec<f64>>();
            let m = |g: fn(&Summary) -> f64| mean_std(&f(g)).0;
            Row {
                method,
                dataset: v[0].dataset.clone(),
                model: v[0].model.clone(),
                setting,
                seeds: v.len(),
                accuracy: mean_std(&f(|s| s.test_accuracy)),
                sparsity: m(|s| s.final_sparsity),
                coreset_fraction: m(|s| s.coreset_fraction),
                relative_flops: mean_std(&f(|s| s.relative_flops)),
                wall_seconds: m(|s| s.wall_seconds),
            }
        })
        .collect()
}

/// A Markdown table.
pub fn markdown(rows: &[Row]) -> String {
    let mut s = String::from(
        "| method | setting | dataset | model | seeds | test accuracy (%) | sparsity (%) | coreset (%) | relative FLOPs | wall s |\n|---|---|---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {:.2} ± {:.2} | {:.1} | {:.1} | {:.3} ± {:.3} | {:.1} |",
            r.method,
            r.setting,
            r.dataset,
            r.model,
            r.seeds,
            100.0 * r.accuracy.0,
            100.0 * r.accuracy.1,
            100.0 * r.sparsity,
            100.0 * r.coreset_fraction,
            r.relative_flops.0,
            r.relative_flops.1,
            r.wall_seconds
        );
    }
    s
}

/// CSV with a header line.
pub fn csv(rows: &[Row]) -> String {
    let mut s = String::from(
        "method,setting,dataset,model,seeds,accuracy_mean,accuracy_std,sparsity,coreset_fraction,relative_flops_mean,relative_flops_std,wall_seconds\n",
    );
    for r in rows {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.3}",
            r.method,
            r.setting,
            r.dataset,
            r.model,
            r.seeds,
            r.accuracy.0,
            r.accuracy.1,
            r.sparsity,
            r.coreset_fraction,
            r.relative_flops.0,
            r.relative_flops.1,
            r.wall_seconds
        );
    }
    s
}

fn esc(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An SVG scatter plot of `(label, x, y, y_err)` points, axes from the data.
pub fn scatter_svg(
    title: &str,
    xlabel: &str,
    ylabel: &str,
    pts: &[(String, f64, f64, f64)],
) -> String {
    let (w, h, l, r, t, b) = (640.0, 420.0, 70.0, 20.0, 40.0, 60.0);
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for (_, x, y, e) in pts {
        x0 = x0.min(*x);
        x1 = x1.max(*x);
        y0 = y0.min(y - e);
        y1 = y1.max(y + e);
    }
    if !x0.is_finite() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    let padx = ((x1 - x0) * 0.08).max(0.01);
    let pady = ((y1 - y0) * 0.1).max(0.005);
    let (x0, x1, y0, y1) = (x0 - padx, x1 + padx, y0 - pady, y1 + pady);
    let px = |x: f64| l + (x - x0) / (x1 - x0) * (w - l - r);
    let py = |y: f64| h - b - (y - y0) / (y1 - y0) * (h - t - b);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{}</text>\n",
        w / 2.0,
        esc(title)
    );
    let _ = writeln!(
        s,
        "<line x1=\"{l}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"black\"/><line x1=\"{l}\" y1=\"{t}\" x2=\"{l}\" y2=\"{0}\" stroke=\"black\"/>",
        h - b,
        w - r
    );
    for i in 0..=4 {
        let fx = x0 + (x1 - x0) * i as f64 / 4.0;
        let fy = y0 + (y1 - y0) * i as f64 / 4.0;
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{:.3}</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{:.3}</text>",
            px(fx),
            h - b + 18.0,
            fx,
            l - 6.0,
            py(fy) + 4.0,
            fy
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text><text transform=\"translate(16,{:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
        (l + w - r) / 2.0,
        h - 18.0,
        esc(xlabel),
        (t + h - b) / 2.0,
        esc(ylabel)
    );
    let colors = [
        "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
    ];
    for (i, (label, x, y, e)) in pts.iter().enumerate() {
        let c = colors[i % colors.len()];
        if *e > 0.0 {
            let _ = writeln!(
                s,
                "<line x1=\"{0:.1}\" y1=\"{1:.1}\" x2=\"{0:.1}\" y2=\"{2:.1}\" stroke=\"{c}\"/>",
                px(*x),
                py(y - e),
                py(y + e)
            );
        }
        let _ = writeln!(
            s,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"5\" fill=\"{c}\"/><text x=\"{:.1}\" y=\"{:.1}\" fill=\"{c}\">{}</text>",
            px(*x),
            py(*y),
            px(*x) + 8.0,
            py(*y) - 6.0,
            esc(label)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// Writes `report.md`, `report.csv` and the three plots into `out`; returns the Markdown.
pub fn write_report(rows: &[Row], out: &Path) -> std::io::Result<String> {
    std::fs::create_dir_all(out)?;
    let md = markdown(rows);
    std::fs::write(out.join("report.md"), &md)?;
    std::fs::write(out.join("report.csv"), csv(rows))?;
    let pts = |x: fn(&Row) -> f64| -> Vec<(String, f64, f64, f64)> {
        rows.iter()
            .map(|r| {
                (
                    format!("{} {}", r.method, r.setting),
                    x(r),
                    100.0 * r.accuracy.0,
                    100.0 * r.accuracy.1,
                )
            })
            .collect()
    };
    std::fs::write(
        out.join("accuracy_vs_flops.svg"),
        scatter_svg(
            "Test accuracy vs relative training FLOPs",
            "relative FLOPs",
            "test accuracy (%)",
            &pts(|r| r.relative_flops.0),
        ),
    )?;
    std::fs::write(
        out.join("accuracy_vs_sparsity.svg"),
        scatter_svg(
            "Test accuracy vs sparsity",
            "final sparsity",
            "test accuracy (%)",
            &pts(|r| r.sparsity),
        ),
    )?;
    std::fs::write(
        out.join("accuracy_vs_coreset.svg"),
        scatter_svg(
            "Test accuracy vs coreset fraction",
            "coreset fraction",
            "test accuracy (%)",
            &pts(|r| r.coreset_fraction),
        ),
    )?;
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_std_known_values() {
        let (m, s) = mean_std(&[1.0, 2.0, 3.0, 4.0]);
        assert!((m - 2.5).abs() < 1e-12);
        // sample std: sqrt(5/3)
        assert!((s - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(mean_std(&[7.0]), (7.0, 0.0));
    }

    #[test]
    fn svg_is_well_formed_and_escapes_labels() {
        let s = scatter_svg(
            "t",
            "x",
            "y",
            &[("a<b".into(), 0.1, 90.0, 1.0), ("c".into(), 1.0, 95.0, 0.0)],
        );
        assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
        assert!(s.contains("a&lt;b"));
        assert_eq!(s.matches("<circle").count(), 2);
    }
}
