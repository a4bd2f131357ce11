//! What every mask pruner shares: its settings, one binary mask per layer in scope, each
//! layer's final density (ERK / ER / uniform over the backbone, the classifier its own rate),
//! the run's length for the schedules, and the ranking that prunes by a score.

use crate::distribution::{densities, kept_count};
use crate::mask::{global_top_keep, random_keep, shrink_keep};
use crate::settings::PruneSettings;
use swast_core::model::{LayerInfo, Role};
use swast_core::prune::{Density, MaskSet, PruneError, PruneInit, Sparsity, WeightSource};
use swast_core::schedule::Tick;
use swast_data::SeededRng;

/// The [`swast_core::prune::Pruner`] methods every mask pruner delegates to its
/// [`MaskedLayers`] field `b`: the masks, and their bytes for checkpoints.
macro_rules! delegate_masks {
    () => {
        fn masks(&self) -> Option<&swast_core::prune::MaskSet> {
            self.b.masks.as_ref()
        }

        fn state_bytes(&self) -> Vec<u8> {
            self.b.state_bytes()
        }

        fn load_state(
            &mut self,
            bytes: &[u8],
            layers: &[swast_core::model::LayerInfo],
        ) -> Result<(), swast_core::prune::PruneError> {
            self.b.load_state(self.name(), bytes, layers)
        }
    };
}
pub(crate) use delegate_masks;

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct MaskedLayers {
    pub(crate) s: PruneSettings,
    pub(crate) masks: Option<MaskSet>,
    /// Final density of each masked layer (MaskSet order).
    pub(crate) targets: Vec<Density>,
    /// The run's length on both clocks (from `init`).
    pub(crate) start: Tick,
}

impl MaskedLayers {
    pub(crate) fn new(s: PruneSettings) -> Self {
        Self {
            s,
            masks: None,
            targets: vec![],
            start: Tick::start(0, 0),
        }
    }

    /// Dense masks over the layers in scope and each layer's final density.
    pub(crate) fn init(
        &mut self,
        name: &'static str,
        init: &PruneInit<'_>,
    ) -> Result<(), PruneError> {
        let masks = MaskSet::dense(init.layers, self.s.scope, init.device);
        if masks.layers().is_empty() {
            return Err(PruneError {
                pruner: name,
                message: format!(
                    "the model has no prunable layer in scope {:?}",
                    self.s.scope
                ),
            });
        }
        self.start = Tick::start(init.total_steps, init.epochs);
        let infos: Vec<&LayerInfo> = masks.layers().iter().map(|l| &l.info).collect();
        let backbone: Vec<&LayerInfo> = infos
            .iter()
            .copied()
            .filter(|l| l.role == Role::Backbone)
            .collect();
        let mut bb =
            densities(&backbone, self.s.backbone.density(), self.s.distribution).into_iter();
        self.targets = infos
            .iter()
            .map(|l| match l.role {
                Role::Backbone => bb.next().expect("one density per backbone layer"),
                Role::Classifier => self.s.classifier.density(),
            })
            .collect();
        self.masks = Some(masks);
        Ok(())
    }

    /// Random masks at each layer's final density (RigL's and static sparse training's
    /// start), from the seed's `prune-init` stream.
    pub(crate) fn draw_random(&mut self) {
        let mut rng = SeededRng::stream(self.s.seed, "prune-init");
        let masks = self.masks.as_mut().expect("initialised");
        for i in 0..masks.layers().len() {
            let n = masks.layers()[i].info.params;
            let keep = random_keep(n, kept_count(n, self.targets[i]), &mut rng);
            masks.set(i, keep);
        }
    }

    /// `1/√density` for every masked layer when sparse-aware initialisation is on.
    pub(crate) fn scale_factors(&self) -> Vec<(burn::module::ParamId, f32)> {
        match (&self.masks, self.s.scale_init) {
            (Some(m), true) => m
                .layers()
                .iter()
                .map(|l| (l.info.param_id, (1.0 / l.density().sqrt()) as f32))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The point of the run at `share`, on the pruner's clock.
    pub(crate) fn point(&self, share: f64) -> f64 {
        self.start.span(self.s.clock).point(share)
    }

    pub(crate) fn masked_layers(&self) -> Vec<LayerInfo> {
        self.masks
            .as_ref()
            .map(|m| m.layers().iter().map(|l| l.info.clone()).collect())
            .unwrap_or_default()
    }

    /// Prunes every masked layer to `share` of its final sparsity by `score`, among the weights
    /// still kept (global ranking per role when asked).
    pub(crate) fn prune_by(&mut self, scores: &[Vec<f32>], share: f64) -> bool {
        let masks = self.masks.as_mut().expect("initialised");
        let kept_at = |n: usize, target: Density| {
            let s = target.sparsity().get() * share;
            kept_count(n, Sparsity::new(s).expect("in range").density())
        };
        let mut new: Vec<Vec<bool>> = masks.keep_flags();
        if self.s.global {
            for role in [Role::Backbone, Role::Classifier] {
                let members: Vec<usize> = (0..new.len())
                    .filter(|&i| masks.layers()[i].info.role == role)
                    .collect();
                if members.is_empty() {
                    continue;
                }
                let total: usize = members
                    .iter()
                    .map(|&i| kept_at(masks.layers()[i].info.params, self.targets[i]))
                    .sum();
                let group: Vec<Vec<f32>> = members
                    .iter()
                    .map(|&i| {
                        let keep = masks.layers()[i].keep();
                        scores[i]
                            .iter()
                            .zip(keep)
                            .map(|(&s, &k)| if k { s } else { f32::NEG_INFINITY })
                            .collect()
                    })
                    .collect();
                for (j, keep) in global_top_keep(&group, total).into_iter().enumerate() {
                    new[members[j]] = keep;
                }
            }
        } else {
            for (i, l) in masks.layers().iter().enumerate() {
                let k = kept_at(l.info.params, self.targets[i]);
                new[i] = shrink_keep(l.keep(), &scores[i], k);
            }
        }
        let mut changed = false;
        for (i, keep) in new.into_iter().enumerate() {
            if keep != masks.layers()[i].keep() {
                masks.set(i, keep);
                changed = true;
            }
        }
        changed
    }

    pub(crate) fn magnitudes(&self, model: &dyn WeightSource) -> Vec<Vec<f32>> {
        let layers = self.masked_layers();
        let w = model.weight_values(&layers);
        layers
            .iter()
            .map(|l| w[&l.param_id].iter().map(|x| x.abs()).collect())
            .collect()
    }

    pub(crate) fn state_bytes(&self) -> Vec<u8> {
        self.masks
            .as_ref()
            .map(MaskSet::to_bytes)
            .unwrap_or_default()
    }

    pub(crate) fn load_state(
        &mut self,
        name: &'static str,
        bytes: &[u8],
        layers: &[LayerInfo],
    ) -> Result<(), PruneError> {
        let err = |message: String| PruneError {
            pruner: name,
            message,
        };
        let masks = self
            .masks
            .as_mut()
            .ok_or_else(|| err("load_state before init".into()))?;
        masks.rekey(layers).map_err(err)?;
        masks.load_bytes(bytes).map_err(err)
    }
}
