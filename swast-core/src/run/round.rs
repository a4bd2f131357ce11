//! When a run selects, how much, and one selection round.

use super::error::{RunError, io_err};
use super::files;
use crate::checkpoint;
use crate::config::{Config, PreserveMode};
use crate::coreset::{SelectContext, SelectError, Selector};
use crate::events::Event;
use crate::model::SwastModel;
use crate::probe::Probe;
use crate::prune::LayerSummary;
use crate::train::{Preserved, Trainer};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;
use swast_data::SeededRng;

use super::context::PreparedData;
use super::state::RunRecord;

/// A selection round at the budget the guard's retries have scaled (see [`select_round`]).
pub(super) fn select<M: SwastModel>(
    cfg: &Config,
    trainer: &mut Trainer<M>,
    sel: &mut dyn Selector,
    data: &PreparedData,
    (rec, dir): (&mut RunRecord, &Path),
) -> Result<Event, RunError> {
    let budget = cfg.scaled_budget(data.train.len(), rec.budget_scale);
    select_round(
        cfg,
        (trainer, rec),
        sel,
        data,
        budget,
        cfg.eval_batch(),
        dir,
    )
}

/// The training samples round `round` scores (`coreset.pool`): all of them at a share of 1
/// (no random draw), else a stratified random pool — each class's members shuffled by the
/// round's own stream and the first `ceil(share'·n_c)` taken, `share'` the share raised to
/// hold at least `budget` — in ascending order.
pub(super) fn pool(
    ds: &swast_data::Dataset,
    share: f64,
    budget: usize,
    seed: u64,
    round: usize,
) -> Vec<usize> {
    let n = ds.len();
    if share >= 1.0 || n == 0 {
        return (0..n).collect();
    }
    let share = share.max(budget as f64 / n as f64).min(1.0);
    let mut rng = SeededRng::stream(seed, &format!("pool-{round}"));
    let mut out = Vec::with_capacity((share * n as f64).ceil() as usize + 16);
    for mut members in ds.indices_by_class() {
        let k = ((members.len() as f64 * share).ceil() as usize).min(members.len());
        rng.shuffle(&mut members);
        out.extend_from_slice(&members[..k]);
    }
    out.sort_unstable();
    out
}

/// One selection round: probe the training set (and the validation set when the selector
/// needs it) with the current model, select, charge the cost to the run, store the coreset in
/// the run's record and its indices under `dir/coresets/`.
fn select_round<M: SwastModel>(
    cfg: &Config,
    (trainer, st): (&mut Trainer<M>, &mut RunRecord),
    sel: &mut dyn Selector,
    data: &PreparedData,
    budget: usize,
    eval_batch: usize,
    dir: &Path,
) -> Result<Event, RunError> {
    let t0 = Instant::now();
    let round = st.rounds + 1;
    let candidates = pool(&data.train, cfg.coreset.pool, budget, cfg.seed, round);
    let probe = trainer.probe(&data.train, &candidates, eval_batch);
    let val_probe = match (sel.needs_validation(), data.val.as_ref()) {
        (true, Some(v)) => Some(trainer.probe(v, &(0..v.len()).collect::<Vec<_>>(), eval_batch)),
        (true, None) => {
            return Err(SelectError {
                selector: sel.name(),
                message: "needs a validation split: set data.val_fraction (e.g. 0.1)".into(),
            }
            .into());
        }
        (false, _) => None,
    };
    let probe_seconds = t0.elapsed().as_secs_f64();
    let epoch = trainer.state().epoch;
    let ctx = SelectContext {
        probe: &probe,
        val: val_probe.as_ref(),
        budget,
        epoch,
        total_epochs: cfg.train.epochs,
    };
    let mut rng = SeededRng::stream(cfg.seed, &format!("select-{round}"));
    let c = sel.select(&ctx, &mut rng)?;
    let flops = probe.flops + val_probe.as_ref().map_or(0.0, |v| v.flops) + c.flops;
    let seconds = t0.elapsed().as_secs_f64();
    let noisy_share = noisy_share(data, &c.indices);
    let record = RoundRecord {
        round,
        epoch: epoch + 1,
        selector: sel.name().into(),
        size: c.indices.len(),
        scored: candidates.len(),
        seconds,
        probe_seconds,
        flops,
        noisy_share,
        ids: c.indices.iter().map(|&i| data.train.ids()[i]).collect(),
        indices: c.indices.clone(),
        weights: c.weights.clone(),
        masks: trainer
            .masks()
            .map(|m| m.summary(&trainer.model().layers())),
    };
    let rounds_dir = dir.join(files::CORESETS);
    std::fs::create_dir_all(&rounds_dir).map_err(io_err(&rounds_dir))?;
    let json = serde_json::to_vec(&record).expect("round serializes");
    checkpoint::write_atomic(&rounds_dir.join(format!("round-{round:03}.json")), &json)?;
    st.rounds = round;
    st.charge_selection(trainer, flops, seconds);
    st.preserved = Some(preserved_outputs(cfg, &probe, &c.indices));
    st.coreset = Some(c);
    Ok(Event::Selection {
        round,
        epoch: epoch + 1,
        size: record.size,
        seconds,
        probe_seconds,
        flops,
        noisy_share,
    })
}

/// SWaST-cut's stored outputs on a new coreset. The probe already holds the current model's
/// outputs on every sample, in eval mode and un-augmented: state preservation records them
/// for the coreset at no extra cost (selective mode keeps only the samples it got right).
fn preserved_outputs(cfg: &Config, probe: &Probe, indices: &[usize]) -> Preserved {
    let k = probe.classes;
    let mut probs = Vec::with_capacity(indices.len() * k);
    let mut active = Vec::with_capacity(indices.len());
    let mut right = 0usize;
    // the probe's row of each dataset index: the round probed its candidates in ascending
    // order (`pool`), so row `r` of sample `i` is found by bisection (`r == i` when it
    // scored every sample)
    debug_assert!(probe.indices.windows(2).all(|w| w[0] < w[1]));
    for &i in indices {
        let r = probe
            .indices
            .binary_search(&i)
            .expect("a selected sample was scored by the probe");
        probs.extend_from_slice(probe.prob(r));
        let ok = probe.correct[r];
        right += usize::from(ok);
        active.push(cfg.preserve.mode != PreserveMode::Selective || ok);
    }
    Preserved {
        indices: indices.to_vec(),
        classes: k,
        probs,
        active,
        accuracy: right as f64 / indices.len().max(1) as f64,
    }
}

/// The share of `indices` whose training label was corrupted, when label noise is on.
fn noisy_share(data: &PreparedData, indices: &[usize]) -> Option<f64> {
    data.train.noise().map(|n| {
        let noisy: std::collections::HashSet<u32> = n.noisy_ids.iter().copied().collect();
        let hits = indices
            .iter()
            .filter(|&&i| noisy.contains(&data.train.ids()[i]))
            .count();
        hits as f64 / indices.len().max(1) as f64
    })
}

/// What `coresets/round-NNN.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundRecord {
    /// 1-based round.
    pub round: usize,
    /// The (1-based) epoch it starts.
    pub epoch: usize,
    /// Selector name.
    pub selector: String,
    /// Samples selected.
    pub size: usize,
    /// Training samples the probe scored (the whole training set, or the round's
    /// `coreset.pool`); 0 in rounds written before the key existed.
    #[serde(default)]
    pub scored: usize,
    /// Wall seconds of probe + selection.
    pub seconds: f64,
    /// Of `seconds`, the probe (the rest is the selector).
    #[serde(default)]
    pub probe_seconds: f64,
    /// FLOPs of probe + selection.
    pub flops: f64,
    /// Share of samples with a corrupted label, when label noise is on.
    pub noisy_share: Option<f64>,
    /// Stable sample ids.
    pub ids: Vec<u32>,
    /// Training-set indices.
    pub indices: Vec<usize>,
    /// Per-sample weights.
    pub weights: Vec<f32>,
    /// The per-layer mask summary at this selection (pruned methods).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masks: Option<Vec<LayerSummary>>,
}

#[cfg(test)]
mod tests {
    use super::pool;
    use swast_data::{DatasetName, load};

    #[test]
    fn a_pool_is_stratified_ascending_seeded_and_holds_the_budget() {
        let ds = load(DatasetName::Embedded, std::path::Path::new("../data"))
            .or_else(|_| load(DatasetName::Embedded, std::path::Path::new("data")))
            .unwrap()
            .train;
        let n = ds.len();
        assert_eq!(pool(&ds, 1.0, 10, 0, 1), (0..n).collect::<Vec<_>>());
        let p = pool(&ds, 0.25, 10, 0, 1);
        assert!(p.windows(2).all(|w| w[0] < w[1]), "ascending, distinct");
        for (c, members) in ds.indices_by_class().iter().enumerate() {
            let got = p
                .iter()
                .filter(|&&i| usize::from(ds.labels()[i]) == c)
                .count();
            assert_eq!(
                got,
                (members.len() as f64 * 0.25).ceil() as usize,
                "class {c}"
            );
        }
        assert_eq!(p, pool(&ds, 0.25, 10, 0, 1), "seeded");
        assert_ne!(p, pool(&ds, 0.25, 10, 0, 2), "each round draws afresh");
        assert_ne!(p, pool(&ds, 0.25, 10, 1, 1), "another seed, another pool");
        // a budget above the share raises the pool to hold it
        assert!(pool(&ds, 0.05, n / 2, 0, 1).len() >= n / 2);
    }
}
