//! The trainer's side of pruning: attaching a mask pruner or a structured one, keeping the
//! weights and velocities masked, and the sparsity and FLOPs accounting.

use super::{TrainError, Trainer};
use crate::model::SwastModel;
use crate::prune::{
    MaskSet, PruneInit, Pruner, StructuredPruner, apply_masks, attach_masks, sparse_forward_flops,
};
use crate::schedule::Tick;

impl<M: SwastModel> Trainer<M> {
    /// Attaches an online pruner: it builds its masks from the initial weights, which are
    /// masked at once. Call before the first step.
    pub fn set_pruner(&mut self, mut pruner: Box<dyn Pruner>) -> Result<(), TrainError> {
        let layers = self.model().layers();
        pruner.init(
            self.model(),
            &PruneInit {
                layers: &layers,
                total_steps: self.state.total_steps,
                epochs: self.cfg.epochs,
                device: &self.device,
            },
        )?;
        let factors = pruner.init_weight_scale();
        if !factors.is_empty() {
            let model = self.model.take().expect("trainer holds a model");
            self.model = Some(crate::prune::scale_params(model, &factors));
        }
        self.pruner = Some(pruner);
        self.reapply_masks();
        self.last_keep = self.keep_flags();
        Ok(())
    }

    pub(super) fn keep_flags(&self) -> Option<Vec<Vec<bool>>> {
        self.masks().map(MaskSet::keep_flags)
    }

    /// Counts a mask change: one update, and the weights it regrew.
    pub(super) fn count_mask_change(&mut self) {
        let now = self.keep_flags();
        if let (Some(before), Some(after)) = (&self.last_keep, &now) {
            let grown: usize = before
                .iter()
                .zip(after)
                .map(|(b, a)| b.iter().zip(a).filter(|(b, a)| !**b && **a).count())
                .sum();
            self.state.regrown += grown as u64;
        }
        self.state.mask_updates += 1;
        self.last_keep = now;
    }

    /// Attaches a structured pruner: it removes channels physically when it says so (right
    /// now, on the initial weights, when [`StructuredPruner::at_start`]). Call before the
    /// first step.
    ///
    /// A model without channel groups ([`SwastModel::channel_scores`] empty) is an error.
    pub fn set_structured(&mut self, pruner: Box<dyn StructuredPruner>) -> Result<(), TrainError> {
        if self.model().channel_scores().is_empty() {
            return Err(crate::prune::PruneError {
                pruner: pruner.name(),
                message: "the model has no channel groups to shrink (its `SwastModel::channel_scores` is empty); implement `channel_scores` and `keep_channels` for it, or use a mask pruner such as `rigl`".into(),
            }
            .into());
        }
        if pruner.at_start(self.start_tick()) {
            self.shrink_now(pruner.as_ref());
        }
        self.structured = Some(pruner);
        Ok(())
    }

    pub(super) fn start_tick(&self) -> Tick {
        Tick::start(self.state.total_steps, self.cfg.epochs)
    }

    pub(super) fn shrink_now(&mut self, pruner: &dyn StructuredPruner) {
        let keeps = pruner.keeps(&self.model().channel_scores());
        self.apply_keeps(&keeps);
        // the shrunk layers are new parameters: their momentum starts from zero
        self.optim = self.cfg.optimizer();
        self.state.channel_keeps = Some(keeps);
    }

    pub(super) fn apply_keeps(&mut self, keeps: &[Vec<usize>]) {
        let mut m = self.model.take().expect("trainer holds a model");
        m.keep_channels(keeps);
        self.model = Some(m);
        self.sparse_flops = sparse_forward_flops(&self.model().layers(), self.masks());
    }

    /// Share of zero or removed weights over the prunable weights of the model as built.
    pub fn overall_sparsity(&self) -> f64 {
        1.0 - self.params_kept() as f64 / self.dense_prunable.max(1) as f64
    }

    /// Prunable weights kept now (masked ones and removed channels excluded).
    pub fn params_kept(&self) -> usize {
        crate::prune::params_kept(&self.model().layers(), self.masks())
    }

    /// Prunable weights of the model as it was built, before any structural change.
    pub fn dense_prunable(&self) -> usize {
        self.dense_prunable
    }

    /// The pruner, if any.
    pub fn pruner(&self) -> Option<&dyn Pruner> {
        self.pruner.as_deref()
    }

    /// The current masks, if a pruner is attached.
    pub fn masks(&self) -> Option<&MaskSet> {
        self.pruner.as_ref().and_then(|p| p.masks())
    }

    /// Masked forward FLOPs of one sample under the current masks.
    pub fn sparse_forward_flops(&self) -> f64 {
        self.sparse_flops
    }

    pub(super) fn reapply_masks(&mut self) {
        let layers = self.model().layers();
        if let Some(m) = self
            .pruner
            .as_ref()
            .filter(|p| p.enforces_masks())
            .and_then(|p| p.masks())
        {
            let model = self.model.take().expect("trainer holds a model");
            self.model = Some(apply_masks(model, m));
            self.optim.apply_masks(m);
        }
        self.sparse_flops = sparse_forward_flops(&layers, self.masks());
    }

    /// The model evaluation and probe passes use when it is not [`Trainer::model`] itself
    /// (a pruner whose mask is not yet enforced on the weights, such as ProbMask's).
    pub fn eval_view(&self) -> Option<M> {
        self.pruner
            .as_ref()
            .and_then(|p| p.eval_masks())
            .map(|m| apply_masks(self.model().clone(), m))
    }

    /// The model the training forward of the step at `tick` runs on when it is not
    /// [`Trainer::model`] itself: the model with the pruner's factors attached (ProbMask's
    /// relaxed mask), its base parameters the model's own.
    pub(super) fn train_view(&mut self, tick: Tick) -> Option<M> {
        let factors = self.pruner.as_mut()?.train_factors(tick)?;
        Some(attach_masks(self.model().clone(), &factors))
    }

    /// After the optimizer step at `tick`: the pruner's mask update (re-applied to the
    /// weights and velocities, and counted, when it changed the masks), then structured
    /// pruning when the run reaches its point.
    pub(super) fn prune_after_step(&mut self, tick: Tick) {
        let changed = match self.pruner.as_mut() {
            Some(p) => p.after_step(tick, self.model.as_ref().expect("model")),
            None => false,
        };
        if changed {
            self.reapply_masks();
            self.count_mask_change();
        }
        if self.state.channel_keeps.is_none()
            && let Some(p) = self.structured.take()
        {
            if p.due(tick) {
                self.shrink_now(p.as_ref());
            }
            self.structured = Some(p);
        }
    }
}
