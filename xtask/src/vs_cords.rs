//! `cargo xtask bench --vs-cords`: GradMatch and CRAIG beside CORDS 0.0.4's own solvers on
//! one real probe (full MNIST, LeNet-5 after one epoch, a 10% budget), with one objective code
//! for both.
//!
//! swast writes the probe (labels, softmax probabilities, penultimate features) and its own
//! selections; a Python script then builds the inputs CORDS builds from the same rows and runs
//! CORDS' solvers on them: for GradMatch, per class (`PerClassPerGradient`), the rows
//! `(p_c − 1)·[1, h]` and `OrthogonalMP_REG(A, Σ rows, nnz = ⌈budget·n_c/n⌉, positive = True,
//! lam = 0)`, what `GradMatchStrategy.ompwrapper` calls on a CPU; for CRAIG (`PerClass`), the
//! logit gradients `p − onehot(y)`, CORDS' similarity `max d² − d²` and apricot's lazy-greedy
//! `FacilityLocationSelection` as `CRAIGStrategy` calls it. Both tools' sets are scored by the
//! same functions: GradMatch by the set's best non-negative matching error
//! `min_{w ≥ 0} ‖Σ_i g_i − Σ_{j∈S} w_j g_j‖` (scipy's NNLS) over `‖Σ_i g_i‖`, summed over
//! classes; CRAIG by the facility-location value `Σ_i max_{j∈S} sim(i, j)` under CORDS'
//! similarity (squared distances) and under swast's (distances).

use anyhow::{Result, bail};
use burn::tensor::Device;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::time::Instant;
use swast_core::coreset::SelectContext;
use swast_core::probe::Probe;

const PY: &str = include_str!("../python/vs_cords.py");

fn write_probe(p: &Probe, path: &Path) -> Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    for v in [p.len(), p.classes, p.feature_dim] {
        f.write_all(&(v as u64).to_le_bytes())?;
    }
    for l in &p.labels {
        f.write_all(&l.to_le_bytes())?;
    }
    for v in p.probs.iter().chain(&p.features) {
        f.write_all(&v.to_le_bytes())?;
    }
    Ok(f.flush()?)
}

/// Seconds of one selection of `name` with the `[coreset]` keys `options` on `threads`
/// threads (0: rayon's default pool), and the selection written to `dir/<name>.txt`, or
/// `dir/<name>-tol.txt` with options (dataset index and weight per line).
fn select(
    name: &str,
    options: &[(&str, f64)],
    ctx: &SelectContext<'_>,
    threads: usize,
    dir: &Path,
) -> Result<f64> {
    let mut s = swast_coreset::build(&swast_core::config::CoresetConfig {
        selector: name.into(),
        options: options
            .iter()
            .map(|&(k, v)| (k.to_string(), toml::Value::Float(v)))
            .collect(),
        ..Default::default()
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut run = || {
        let t0 = Instant::now();
        let c = s
            .select(ctx, &mut swast_data::SeededRng::new(0))
            .map_err(|e| anyhow::anyhow!("{e}"));
        (t0.elapsed().as_secs_f64(), c)
    };
    let (secs, c) = if threads == 0 {
        run()
    } else {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?
            .install(run)
    };
    let c = c?;
    let mut text = String::new();
    for (i, w) in c.indices.iter().zip(&c.weights) {
        let _ = writeln!(text, "{i} {w}");
    }
    let file = if options.is_empty() {
        format!("{name}.txt")
    } else {
        format!("{name}-tol.txt")
    };
    std::fs::write(dir.join(file), text)?;
    Ok(secs)
}

/// Entry point of `bench --vs-cords [--out FILE]`.
pub fn main(args: &crate::bench::BenchArgs) -> Result<()> {
    let out = args.out_or("results/bench-vs-cords.md");
    if !crate::python::python_imports("cords, apricot, scipy, torch") {
        bail!(
            "the CORDS comparison needs python3 with torch, cords 0.0.4, apricot-select and scipy: `pip install torch apricot-select scipy && pip install --no-deps cords==0.0.4`"
        );
    }
    let t_all = Instant::now();
    let cfg = swast_cli::load_config("", &["data.dataset=mnist".into(), "data.dir=data".into()])
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let data = swast_core::run::prepare_data(&cfg).map_err(|e| anyhow::anyhow!("{e}"))?;
    let dev = Device::flex();
    let mut trainer = swast_core::run::build_trainer(
        &cfg,
        &data,
        &dev,
        &swast_cli::Parts,
        &swast_core::model::NetworkFactory,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let n = data.train.len();
    let all: Vec<usize> = (0..n).collect();
    eprintln!("vs-cords: one LeNet-5 epoch on full MNIST, then the probe");
    trainer
        .train_epoch(&data.train, &all, Default::default())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let probe = trainer.probe(&data.train, &all, 512);
    let budget = n / 10;
    let dir = std::env::temp_dir().join(format!("swast-vs-cords-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    write_probe(&probe, &dir.join("probe.bin"))?;
    let ctx = SelectContext {
        probe: &probe,
        val: None,
        budget,
        epoch: 1,
        total_epochs: 10,
    };
    let mut ours = Vec::new();
    // CORDS' CPU settings: GradMatchStrategy's `OrthogonalMP_REG(…, lam = 0)` stops at its
    // default tol 1e-4, and the strategy fills the quota at random
    let cpu: &[(&str, f64)] = &[("lambda", 0.0), ("omp_tol", 1e-4)];
    for (name, options) in [("gradmatch", &[][..]), ("craig", &[]), ("gradmatch", cpu)] {
        eprintln!("vs-cords: swast {name} {options:?}");
        let all_cores = select(name, options, &ctx, 0, &dir)?;
        let one = select(name, options, &ctx, 1, &dir)?;
        ours.push((name, one, all_cores));
    }
    eprintln!("vs-cords: CORDS (one thread)");
    let v = crate::python::python_json(
        "the CORDS script",
        PY,
        &[dir.display().to_string(), budget.to_string()],
        &[
            ("OMP_NUM_THREADS", "1"),
            ("OPENBLAS_NUM_THREADS", "1"),
            ("MKL_NUM_THREADS", "1"),
            ("NUMBA_NUM_THREADS", "1"),
        ],
    );
    let _ = std::fs::remove_dir_all(&dir);
    let v = v?;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let g = &v["gradmatch"];
    let c = &v["craig"];
    let f = |x: &serde_json::Value| x.as_f64().unwrap_or(f64::NAN);
    let mut md = format!(
        "# `cargo xtask bench --vs-cords`\n\nOne real probe: full MNIST ({n} samples), LeNet-5 after one epoch (flex), a {budget}-sample (10%) budget. CORDS {} with apricot {} and torch {}, one thread; swast on one thread (a one-thread rayon pool) and on all {cores} cores. Every set is scored by the same Python code (see `xtask/src/vs_cords.rs`).\n\n| selector | CORDS s (1 thread) | swast s (1 thread) | swast s ({cores} threads) | speed-up, 1 thread | objective | CORDS | swast |\n|---|---:|---:|---:|---:|---|---:|---:|\n",
        v["versions"]["cords"].as_str().unwrap_or("?"),
        v["versions"]["apricot"].as_str().unwrap_or("?"),
        v["versions"]["torch"].as_str().unwrap_or("?"),
    );
    let (_, g1, gn) = ours[0];
    let (_, c1, cn) = ours[1];
    let (_, t1, tn) = ours[2];
    // one row: what, CORDS' seconds, swast's seconds (one thread, all cores), what the
    // objective is, the set sizes, and the two objective values as printed
    let mut row = |what: &str, cords: f64, ours: (f64, f64), objective: &str, sizes, values| {
        let (o1, on) = ours;
        let (cs, os): (&serde_json::Value, &serde_json::Value) = sizes;
        let (cv, ov): (String, String) = values;
        let _ = writeln!(
            md,
            "| {what} | {cords:.2} | {o1:.2} | {on:.2} | {:.1}× | {objective}, set sizes {cs} / {os} | {cv} | {ov} |",
            cords / o1
        );
    };
    let e = |x: &serde_json::Value| format!("{:.2e}", f(x));
    row(
        "GradMatch (per class, `(p_c − 1)·[1, h]`)",
        f(&g["cords_seconds"]),
        (g1, gn),
        "matching error `min_w≥0 ‖Σg − Σ_S w g‖ / ‖Σg‖` (lower is better)",
        (&g["cords_size"], &g["ours_size"]),
        (e(&g["cords_error"]), e(&g["ours_error"])),
    );
    row(
        "GradMatch, both with CORDS' CPU settings (λ = 0, stop at `tol = 1e-4`, the quota filled at random; swast: `coreset.lambda = 0`, `coreset.omp_tol = 1e-4`)",
        f(&g["cords_seconds"]),
        (t1, tn),
        "the same, of the filled sets",
        (&g["cords_filled_size"], &g["tol_size"]),
        (e(&g["cords_filled_error"]), e(&g["tol_error"])),
    );
    row(
        "GradMatch, CORDS without its early stop (`tol = 0`)",
        f(&g["full_seconds"]),
        (g1, gn),
        "the same",
        (&g["full_size"], &g["ours_size"]),
        (
            g["full_error"]
                .as_f64()
                .map_or("raised FloatingPointError".into(), |x| format!("{x:.2e}")),
            e(&g["ours_error"]),
        ),
    );
    row(
        "GradMatch, CORDS' torch solver as its CIFAR configs set it (`OrthogonalMP_REG_Parallel_V1`, λ = 0.5, eps = 1e-100; on the CPU)",
        f(&g["v1_seconds"]),
        (g1, gn),
        "the same",
        (&g["v1_size"], &g["ours_size"]),
        (e(&g["v1_error"]), e(&g["ours_error"])),
    );
    row(
        "CRAIG (per class, logit gradients)",
        f(&c["cords_seconds"]),
        (c1, cn),
        "facility location, CORDS' similarity `max d² − d²` (higher is better)",
        (&c["cords_size"], &c["ours_size"]),
        (
            format!("{:.1}", f(&c["cords_f_sq"])),
            format!("{:.1}", f(&c["ours_f_sq"])),
        ),
    );
    let _ = writeln!(
        md,
        "| | | | | | facility location, swast's similarity `max d − d` | {:.1} | {:.1} |",
        f(&c["cords_f_l2"]),
        f(&c["ours_f_l2"]),
    );
    let _ = writeln!(
        md,
        "\nCORDS' GradMatch time is `OrthogonalMP_REG` alone (the gradient rows are built outside the timer); it stops once the residual is below `tol = 1e-4` of the target, swast's OMP (ridge λ = 0.5) fills the budget, except in the row with CORDS' CPU settings, where swast stops at the same tolerance and both sets are filled up at random as `GradMatchStrategy` does; its CRAIG time is the similarity matrix (torch `cdist`, one thread) and apricot's lazy greedy. swast's times are the whole `select` call from the probe.\n\n---\nCommand: `cargo xtask bench --vs-cords` · {cores} cores · wall time {:.0} s",
        t_all.elapsed().as_secs_f64()
    );
    crate::python::write_report(&out, &md)
}
