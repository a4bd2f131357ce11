//! `cargo xtask chaos`: the tiny table1-cut grid as a plan run by `scripts/run-plan.sh` with
//! 2 workers, while a random running `swast train` is SIGKILLed every few seconds (at least
//! 20 kills) and the plan restarted after each pass, until one pass finishes with every run
//! done. Then `repro --collect` must give a table byte-identical to the in-process run, and
//! no run folder may hold a duplicated event, a stale lock or a temporary file.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// What the chaos run found.
#[derive(Debug)]
struct Outcome {
    kills: usize,
    passes: usize,
    seconds: f64,
    identical: bool,
    problems: Vec<String>,
}

/// PIDs of the `swast train` processes writing under `out`.
fn running_tasks(out: &Path) -> Vec<u32> {
    let needle = out.display().to_string();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                let c = String::from_utf8_lossy(&c).replace('\0', " ");
                c.contains(" train ") && c.contains(&needle)
            })
        })
        .collect()
}

/// A small xorshift stream (the chaos, not the science, is random here).
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Every run folder under `out` (a folder holding `config.toml`).
fn run_folders(out: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    let mut stack = vec![out.to_path_buf()];
    while let Some(d) = stack.pop() {
        if d.join("config.toml").is_file() {
            v.push(d.clone());
        }
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(e.path());
                }
            }
        }
    }
    v.sort();
    v
}

/// A run folder's problems: a lock left behind, temporary files, an epoch or a selection
/// round logged twice, a gap in the epochs.
fn check_folder(dir: &Path) -> Vec<String> {
    let mut p = Vec::new();
    if dir.join(swast_core::run::lock::LOCK).exists() {
        p.push(format!("{}: a stale run.lock", dir.display()));
    }
    for d in [dir.to_path_buf(), dir.join("coresets")] {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if n.contains(".tmp") {
                    p.push(format!("{}: a temporary file {n}", d.display()));
                }
            }
        }
    }
    let metrics = dir.join(swast_core::run::files::METRICS);
    let Ok(text) = std::fs::read_to_string(&metrics) else {
        p.push(format!("{}: no metrics.jsonl", dir.display()));
        return p;
    };
    let (mut epochs, mut rounds) = (Vec::new(), Vec::new());
    for (i, line) in text.lines().enumerate() {
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(v) => match v["event"].as_str() {
                Some("epoch_end") => epochs.push(v["epoch"].as_u64().unwrap_or(0)),
                Some("selection") => rounds.push(v["round"].as_u64().unwrap_or(0)),
                _ => {}
            },
            Err(e) => p.push(format!(
                "{}: line {} is not JSON: {e}",
                metrics.display(),
                i + 1
            )),
        }
    }
    let want: Vec<u64> = (1..=epochs.len() as u64).collect();
    if epochs != want {
        p.push(format!(
            "{}: epochs logged {epochs:?} (each once, in order, expected)",
            metrics.display()
        ));
    }
    let want: Vec<u64> = (1..=rounds.len() as u64).collect();
    if rounds != want {
        p.push(format!(
            "{}: selection rounds logged {rounds:?}",
            metrics.display()
        ));
    }
    p
}

fn spawn_plan(root: &Path, plan: &Path) -> Result<Child> {
    Command::new("bash")
        .arg(root.join("scripts/run-plan.sh"))
        .arg(plan)
        .arg("2")
        .current_dir(root)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("cannot start scripts/run-plan.sh")
}

fn chaos(root: &Path, work: &Path, min_kills: usize, seed: u64) -> Result<Outcome> {
    let swast = crate::release_binary(root, "swast")?;
    let (reference, out, plan) = (work.join("ref"), work.join("chaos"), work.join("plan.txt"));
    let _ = std::fs::remove_dir_all(work);
    std::fs::create_dir_all(work)?;
    // `repro table1-cut --scale tiny --out DIR` and `extra`
    let repro = |dir: &Path, extra: &[&str]| {
        let mut args: Vec<String> = ["table1-cut", "--scale", "tiny", "--out"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.push(dir.display().to_string());
        args.extend(extra.iter().map(|s| s.to_string()));
        let parsed = <crate::repro::ReproArgs as clap::FromArgMatches>::from_arg_matches(
            &<crate::repro::ReproArgs as clap::Args>::augment_args(clap::Command::new("repro"))
                .try_get_matches_from(std::iter::once("repro".to_string()).chain(args))?,
        )?;
        crate::repro::main(&parsed)
    };
    eprintln!("chaos: the in-process reference table");
    repro(&reference, &[])?;
    let (plan_s, swast_s) = (plan.display().to_string(), swast.display().to_string());
    repro(&out, &["--plan", &plan_s, "--swast", &swast_s])?;
    let mut dice = Dice(seed | 1);
    let t0 = Instant::now();
    let (mut kills, mut passes) = (0usize, 0usize);
    loop {
        passes += 1;
        let mut child = spawn_plan(root, &plan)?;
        let mut next_kill = Instant::now() + Duration::from_millis(300 + dice.below(2700));
        let status = loop {
            if let Some(s) = child.try_wait()? {
                break s;
            }
            if Instant::now() >= next_kill {
                let tasks = running_tasks(&out);
                if !tasks.is_empty() {
                    let pid = tasks[dice.below(tasks.len() as u64) as usize];
                    if Command::new("kill")
                        .args(["-KILL", &pid.to_string()])
                        .status()
                        .is_ok_and(|s| s.success())
                    {
                        kills += 1;
                        eprintln!("chaos: kill {kills}: process {pid}");
                    }
                }
                next_kill = Instant::now() + Duration::from_millis(300 + dice.below(2700));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        if status.success() && kills >= min_kills {
            break;
        }
        if status.success() && kills < min_kills {
            // every run finished before enough kills: start over in a fresh folder
            eprintln!("chaos: the plan finished after {kills} kills; starting it over");
            let _ = std::fs::remove_dir_all(&out);
        }
        if t0.elapsed() > Duration::from_secs(3600) {
            bail!(
                "chaos: the plan did not complete within an hour ({kills} kills, {passes} passes)"
            );
        }
    }
    repro(&out, &["--collect"])?;
    let a = std::fs::read(reference.join("table1-cut.csv"))?;
    let b = std::fs::read(out.join("table1-cut.csv"))?;
    let mut problems = Vec::new();
    for d in run_folders(&out) {
        problems.extend(check_folder(&d));
    }
    Ok(Outcome {
        kills,
        passes,
        seconds: t0.elapsed().as_secs_f64(),
        identical: a == b,
        problems,
    })
}

/// `cargo xtask chaos`: the tiny table1-cut plan under random SIGKILLs.
#[derive(clap::Args, Debug, Clone)]
pub struct ChaosArgs {
    /// How many kills.
    #[arg(long, default_value_t = 20)]
    pub kills: usize,
    /// Seed of the kill times.
    #[arg(long, default_value_t = 0x5eed)]
    pub seed: u64,
    /// Work folder.
    #[arg(long, default_value_os_t = std::env::temp_dir().join("swast-chaos"))]
    pub work: PathBuf,
}

/// Entry point: `chaos [--kills N] [--seed S] [--work DIR]`.
pub fn main(root: &Path, args: &ChaosArgs) -> Result<()> {
    let (kills, seed, work) = (args.kills, args.seed, args.work.clone());
    let o = chaos(root, &work, kills, seed)?;
    println!(
        "chaos: {} kills over {} passes of the plan, {:.0} s; table {}; {} problem(s) in the run folders",
        o.kills,
        o.passes,
        o.seconds,
        if o.identical {
            "byte-identical to the in-process run"
        } else {
            "DIFFERENT from the in-process run"
        },
        o.problems.len()
    );
    for p in &o.problems {
        println!("  {p}");
    }
    if !o.identical || !o.problems.is_empty() {
        bail!("chaos: the grid did not survive the kills");
    }
    Ok(())
}
