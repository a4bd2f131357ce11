//! Tables and plots from run folders: mean ± std over seeds, as Markdown and CSV; accuracy
//! against relative FLOPs, sparsity and coreset fraction, and every run's learning curve, as
//! SVG and PNG. Everything is made from the run folders' files (`summary.json`,
//! `metrics.jsonl`), never from in-memory state.

use crate::plot::{Plot, Series, Style};
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

/// A CSV document written with the `csv` crate: fields holding a comma, a quote or a line
/// break are quoted; lines end in `\n`.
#[derive(Debug)]
pub struct Csv(csv::Writer<Vec<u8>>);

impl Csv {
    /// A document that starts with the `header` line.
    pub fn new<I: IntoIterator<Item = S>, S: AsRef<[u8]>>(header: I) -> Self {
        let mut c = Csv(csv::WriterBuilder::new()
            .has_headers(false)
            .flexible(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new()));
        c.row(header);
        c
    }

    /// Appends one record.
    pub fn row<I: IntoIterator<Item = S>, S: AsRef<[u8]>>(&mut self, fields: I) {
        self.0
            .write_record(fields)
            .expect("writing CSV into memory cannot fail");
    }

    /// The document.
    pub fn finish(self) -> String {
        let bytes = self
            .0
            .into_inner()
            .expect("writing CSV into memory cannot fail");
        String::from_utf8(bytes).expect("CSV of UTF-8 fields is UTF-8")
    }
}

/// CSV with a header line.
pub fn csv(rows: &[Row]) -> String {
    let mut c = Csv::new([
        "method",
        "setting",
        "dataset",
        "model",
        "seeds",
        "accuracy_mean",
        "accuracy_std",
        "sparsity",
        "coreset_fraction",
        "relative_flops_mean",
        "relative_flops_std",
        "wall_seconds",
    ]);
    for r in rows {
        c.row([
            r.method.clone(),
            r.setting.clone(),
            r.dataset.clone(),
            r.model.clone(),
            r.seeds.to_string(),
            format!("{:.6}", r.accuracy.0),
            format!("{:.6}", r.accuracy.1),
            format!("{:.6}", r.sparsity),
            format!("{:.6}", r.coreset_fraction),
            format!("{:.6}", r.relative_flops.0),
            format!("{:.6}", r.relative_flops.1),
            format!("{:.3}", r.wall_seconds),
        ]);
    }
    c.finish()
}

/// Accuracy against `x` of every row, one series per method (mean ± std over seeds).
fn accuracy_against(rows: &[Row], x: fn(&Row) -> f64, title: &str, xlabel: &str) -> Plot {
    let mut by_method: BTreeMap<&str, Vec<(f64, f64, f64)>> = BTreeMap::new();
    for r in rows {
        by_method.entry(&r.method).or_default().push((
            x(r),
            100.0 * r.accuracy.0,
            100.0 * r.accuracy.1,
        ));
    }
    Plot {
        title: title.into(),
        xlabel: xlabel.into(),
        ylabel: "test accuracy (%)".into(),
        series: by_method
            .into_iter()
            .map(|(m, points)| Series {
                label: m.into(),
                points,
            })
            .collect(),
        style: Style::Scatter,
    }
}

/// `(epoch, test accuracy %)` of every `epoch_end` in a run folder's `metrics.jsonl` (empty
/// when there is none), the last line of an epoch winning (a resumed or rolled-back run logs
/// an epoch again).
pub fn learning_curve(dir: &Path) -> Vec<(f64, f64, f64)> {
    let Ok(text) = std::fs::read_to_string(dir.join(swast_core::run::files::METRICS)) else {
        return Vec::new();
    };
    let mut by_epoch = BTreeMap::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["event"] == "epoch_end"
            && let (Some(e), Some(a)) = (v["epoch"].as_u64(), v["test_accuracy"].as_f64())
        {
            by_epoch.insert(e, 100.0 * a);
        }
    }
    by_epoch
        .into_iter()
        .map(|(e, a)| (e as f64, a, 0.0))
        .collect()
}

/// Test accuracy per epoch, one line per run folder.
pub fn learning_curves(runs: &[(PathBuf, Summary)]) -> Plot {
    Plot {
        title: "Test accuracy per epoch".into(),
        xlabel: "epoch".into(),
        ylabel: "test accuracy (%)".into(),
        series: runs
            .iter()
            .map(|(dir, s)| Series {
                label: format!("{} {}", s.method, run_name(dir)),
                points: learning_curve(dir),
            })
            .filter(|s| !s.points.is_empty())
            .collect(),
        style: Style::Lines,
    }
}

/// `setting/seed-N` of a run folder (its last two path components).
fn run_name(dir: &Path) -> String {
    let parts: Vec<String> = dir
        .components()
        .rev()
        .take(2)
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.into_iter().rev().collect::<Vec<_>>().join("/")
}

/// Writes `report.md`, `report.csv`, and as SVG and PNG: accuracy against relative FLOPs,
/// sparsity and coreset fraction (one series per method), and the learning curve of every run.
/// Returns the Markdown.
pub fn write_report(
    rows: &[Row],
    runs: &[(PathBuf, Summary)],
    out: &Path,
) -> std::io::Result<String> {
    std::fs::create_dir_all(out)?;
    let md = markdown(rows);
    std::fs::write(out.join("report.md"), &md)?;
    std::fs::write(out.join("report.csv"), csv(rows))?;
    accuracy_against(
        rows,
        |r| r.relative_flops.0,
        "Test accuracy vs relative training FLOPs",
        "relative training FLOPs",
    )
    .write(&out.join("accuracy_vs_flops"))?;
    accuracy_against(
        rows,
        |r| r.sparsity,
        "Test accuracy vs sparsity",
        "final sparsity",
    )
    .write(&out.join("accuracy_vs_sparsity"))?;
    accuracy_against(
        rows,
        |r| r.coreset_fraction,
        "Test accuracy vs coreset fraction",
        "coreset fraction",
    )
    .write(&out.join("accuracy_vs_coreset"))?;
    learning_curves(runs).write(&out.join("learning_curves"))?;
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_with_commas_quotes_and_line_breaks_are_quoted() {
        let mut c = Csv::new(["name", "value"]);
        c.row(["model.mlp_hidden=[1024, 512]", "1"]);
        c.row(["a \"b\"", "x\ny"]);
        c.row(["plain", "2.5000"]);
        let text = c.finish();
        assert_eq!(
            text,
            "name,value\n\"model.mlp_hidden=[1024, 512]\",1\n\"a \"\"b\"\"\",\"x\ny\"\nplain,2.5000\n"
        );
        // and a reader gets the fields back
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!(&rows[0][0], "model.mlp_hidden=[1024, 512]");
        assert_eq!(&rows[1][1], "x\ny");
    }

    #[test]
    fn mean_std_known_values() {
        let (m, s) = mean_std(&[1.0, 2.0, 3.0, 4.0]);
        assert!((m - 2.5).abs() < 1e-12);
        // sample std: sqrt(5/3)
        assert!((s - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(mean_std(&[7.0]), (7.0, 0.0));
    }

    #[test]
    fn learning_curves_keep_the_last_line_of_each_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("cut-1234").join("seed-0");
        std::fs::create_dir_all(&run).unwrap();
        let lines = [
            r#"{"event":"epoch_end","epoch":1,"test_accuracy":0.5}"#,
            r#"{"event":"selection","round":1}"#,
            r#"{"event":"epoch_end","epoch":2,"test_accuracy":0.6}"#,
            r#"{"event":"epoch_end","epoch":2,"test_accuracy":0.7}"#,
            "not json",
        ];
        std::fs::write(run.join("metrics.jsonl"), lines.join("\n")).unwrap();
        assert_eq!(learning_curve(&run), [(1.0, 50.0, 0.0), (2.0, 70.0, 0.0)]);
        assert_eq!(run_name(&run), "cut-1234/seed-0");
        assert!(learning_curve(dir.path()).is_empty());
    }
}
