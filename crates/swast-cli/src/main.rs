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
use swast_data::{DatasetName, NoiseKind, apply_label_noise};

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
    /// Print only the final result.
    #[arg(long, short)]
    quiet: bool,
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
        /// embedded, digits, mnist, fashion-mnist, cifar10, cifar100.
        #[arg(long, default_value = "embedded")]
        dataset: String,
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
}

/// Maps a device name to a burn device; a backend not compiled in is an error that names the
/// cargo feature to enable.
fn parse_device(name: &str) -> Result<Device> {
    let (kind, index) = match name.split_once(':') {
        Some((k, i)) => (
            k,
            i.parse::<usize>()
                .with_context(|| format!("device index `{i}` in `{name}` is not a number"))?,
        ),
        None => (name, 0),
    };
    let _ = index; // only the GPU backends take an index
    let missing = |feature: &str| {
        anyhow::anyhow!(
            "device `{name}` needs the `{feature}` feature: rebuild with `cargo build --release -p swast-cli --features {feature}`"
        )
    };
    match kind {
        "flex" => {
            #[cfg(feature = "flex")]
            return Ok(Device::flex());
            #[cfg(not(feature = "flex"))]
            return Err(missing("flex"));
        }
        "tch-cpu" | "tch-cuda" => {
            #[cfg(feature = "tch")]
            #[allow(deprecated)]
            return Ok(if kind == "tch-cpu" {
                Device::libtorch()
            } else {
                Device::libtorch_cuda(index)
            });
            #[cfg(not(feature = "tch"))]
            return Err(missing("tch"));
        }
        "wgpu" => {
            #[cfg(feature = "wgpu")]
            return Ok(Device::wgpu(
                swast_core::burn::tensor::DeviceKind::DiscreteGpu(index),
            ));
            #[cfg(not(feature = "wgpu"))]
            return Err(missing("wgpu"));
        }
        "cuda" => {
            #[cfg(feature = "cuda")]
            return Ok(Device::cuda(index));
            #[cfg(not(feature = "cuda"))]
            return Err(missing("cuda"));
        }
        _ => bail!(
            "unknown device `{name}`: expected flex, tch-cpu, tch-cuda[:N], wgpu[:N] or cuda[:N]"
        ),
    }
}

/// Prints one line per epoch.
struct PrintSink;

impl EventSink for PrintSink {
    fn emit(&mut self, e: &Event) -> std::io::Result<()> {
        match e {
            Event::RunStart {
                method,
                epochs,
                start_epoch,
                train_samples,
                params,
                ..
            } => {
                if *start_epoch > 0 {
                    println!("resuming {method} at epoch {}/{epochs}", start_epoch + 1);
                } else {
                    println!(
                        "{method}: {epochs} epochs on {train_samples} samples, {params} parameters"
                    );
                }
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
                "epoch {epoch:>3}/{epochs}  loss {train_loss:.4}  train {:5.2}%  test {:5.2}%  sparsity {:4.1}%  lr {lr:.4}  {seconds:.1}s",
                100.0 * train_accuracy,
                100.0 * test_accuracy,
                100.0 * sparsity
            ),
            _ => {}
        }
        Ok(())
    }
}

struct Quiet;
impl EventSink for Quiet {
    fn emit(&mut self, _: &Event) -> std::io::Result<()> {
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
    let cfg = Config::from_toml_with_overrides(&text, &sets).map_err(|e| match path {
        Some(p) => anyhow::anyhow!("{}: {e}", p.display()),
        None => anyhow::anyhow!("{e}"),
    })?;
    Ok(cfg)
}

fn train_cmd(cfg: &Config, common: &Common) -> Result<Summary> {
    let device = parse_device(&cfg.device)?;
    let dir = common
        .out
        .clone()
        .unwrap_or_else(|| default_run_dir(Path::new("runs"), cfg));
    let mut print = PrintSink;
    let mut quiet = Quiet;
    let sink: &mut dyn EventSink = if common.quiet { &mut quiet } else { &mut print };
    if !common.quiet {
        println!("run folder: {}", dir.display());
    }
    let summary = run(cfg, &device, &dir, &RunOptions::default(), sink, &Parts)?;
    Ok(summary)
}

fn print_table(rows: &[Summary]) {
    println!(
        "{:<14} {:>9} {:>9} {:>11} {:>8}",
        "method", "test acc", "sparsity", "rel. FLOPs", "wall s"
    );
    for s in rows {
        println!(
            "{:<14} {:>8.2}% {:>8.1}% {:>11.3} {:>8.1}",
            s.method,
            100.0 * s.test_accuracy,
            100.0 * s.final_sparsity,
            s.relative_flops,
            s.wall_seconds
        );
    }
}

fn data_info(
    dataset: &str,
    dir: &Path,
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
    let splits = swast_data::load(name, dir)?;
    let train = apply_label_noise(splits.train, noise, kind, seed)?;
    let infos = [train.info(), splits.test.info()];
    if json {
        println!("{}", serde_json::to_string_pretty(&infos)?);
        return Ok(());
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
    Ok(())
}

fn real_main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => {
            let mut sets = vec!["name=demo".to_string()];
            sets.extend(args.common.sets.iter().cloned());
            let cfg = load_config(None, &sets, args.common.device.as_deref())?;
            let summary = train_cmd(&cfg, &args.common)?;
            print_table(&[summary]);
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
        }) => data_info(&dataset, &dir, label_noise, &noise_kind, seed, json)?,
    }
    Ok(())
}

fn main() -> ExitCode {
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
            let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            eprintln!("error: {}", chain.join(": "));
            ExitCode::FAILURE
        }
    }
}
