//! SGD with momentum, Nesterov and weight decay that knows about pruning masks.
//!
//! burn's own SGD keeps its momentum private, so a pruned weight's velocity could not be
//! reset when RigL regrows it. This optimizer owns its velocity buffers (keyed by
//! [`ParamId`]) and multiplies both the updated weight and its velocity by the mask inside the
//! step, so a pruned weight is exactly zero after every step and can never come back through
//! momentum or weight decay; a regrown weight starts at zero with zero velocity.
//!
//! Update (PyTorch semantics, dampening 0): `g = ∇ + wd·w`, `v = μ·v + g` (first step
//! `v = g`), `d = g + μ·v` (Nesterov) or `v`, `w ← (w − lr·d) ⊙ m`, `v ← v ⊙ m`.

use crate::prune::MaskSet;
use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use std::collections::HashMap;

/// SGD hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgdSettings {
    /// Momentum μ (0 = plain SGD).
    pub momentum: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// L2 weight decay.
    pub weight_decay: f64,
}

/// Masked SGD state: one velocity buffer per parameter that has received a gradient.
#[derive(Debug, Clone)]
pub struct MaskedSgd {
    settings: SgdSettings,
    velocity: HashMap<ParamId, Tensor<1>>,
}

impl MaskedSgd {
    /// A fresh optimizer.
    pub fn new(settings: SgdSettings) -> Self {
        Self {
            settings,
            velocity: HashMap::new(),
        }
    }

    /// One step over every parameter that has a gradient in `grads`; weights and velocities of
    /// masked parameters are multiplied by their mask.
    pub fn step<M: Module>(
        &mut self,
        lr: f64,
        module: M,
        mut grads: GradientsParams,
        masks: Option<&MaskSet>,
    ) -> M {
        let mut mapper = StepMapper {
            lr,
            s: self.settings,
            velocity: &mut self.velocity,
            grads: &mut grads,
            masks,
        };
        module.map(&mut mapper)
    }

    /// Multiplies the stored velocities of masked parameters by their masks (after a mask
    /// change, so that dropped weights carry no momentum).
    pub fn apply_masks(&mut self, masks: &MaskSet) {
        for (id, v) in self.velocity.iter_mut() {
            if let Some(m) = masks.tensor(*id) {
                *v = v.clone() * m.clone();
            }
        }
    }

    /// Serializes the velocities: a little-endian count, then for each (sorted by id) the
    /// id, the length and the f32 values.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut ids: Vec<&ParamId> = self.velocity.keys().collect();
        ids.sort_by_key(|id| id.val());
        let mut out = Vec::new();
        out.extend_from_slice(&(ids.len() as u64).to_le_bytes());
        for id in ids {
            let vals: Vec<f32> = self.velocity[id]
                .clone()
                .into_data()
                .iter::<f32>()
                .collect();
            out.extend_from_slice(&id.val().to_le_bytes());
            out.extend_from_slice(&(vals.len() as u64).to_le_bytes());
            for v in vals {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        out
    }

    /// Restores velocities written by [`MaskedSgd::to_bytes`] onto `device`.
    pub fn load_bytes(&mut self, bytes: &[u8], device: &Device) -> Result<(), String> {
        let mut at = 0usize;
        let mut take = |n: usize| -> Result<&[u8], String> {
            let s = bytes
                .get(at..at + n)
                .ok_or_else(|| "optimizer state cut short".to_string())?;
            at += n;
            Ok(s)
        };
        let u64_at = |b: &[u8]| u64::from_le_bytes(b.try_into().expect("8 bytes"));
        let n = u64_at(take(8)?) as usize;
        let mut velocity = HashMap::with_capacity(n.min(4096));
        for _ in 0..n {
            let id = ParamId::from(u64_at(take(8)?));
            let len = u64_at(take(8)?) as usize;
            let raw = take(len.checked_mul(4).ok_or("bad length")?)?;
            let vals: Vec<f32> = raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect();
            velocity.insert(id, Tensor::from_data(TensorData::new(vals, [len]), device));
        }
        if at != bytes.len() {
            return Err("trailing bytes after the optimizer state".into());
        }
        self.velocity = velocity;
        Ok(())
    }
}

struct StepMapper<'a> {
    lr: f64,
    s: SgdSettings,
    velocity: &'a mut HashMap<ParamId, Tensor<1>>,
    grads: &'a mut GradientsParams,
    masks: Option<&'a MaskSet>,
}

impl ModuleMapper for StepMapper<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(grad) = self.grads.remove::<D>(param.id) else {
            return param;
        };
        let (id, tensor, mapper) = param.consume();
        let require_grad = tensor.is_require_grad();
        let w = tensor.inner();
        let dims = w.dims();
        let grad = grad.to_device(&w.device());
        let mut g = grad;
        if self.s.weight_decay > 0.0 {
            g = g + w.clone().mul_scalar(self.s.weight_decay);
        }
        let mask = self
            .masks
            .and_then(|m| m.tensor(id))
            .map(|m| m.clone().reshape(dims));
        let d = if self.s.momentum > 0.0 {
            let mut v = match self.velocity.remove(&id) {
                Some(v) => v.reshape(dims).mul_scalar(self.s.momentum) + g.clone(),
                None => g.clone(),
            };
            if let Some(m) = &mask {
                v = v * m.clone();
            }
            let d = if self.s.nesterov {
                g + v.clone().mul_scalar(self.s.momentum)
            } else {
                v.clone()
            };
            self.velocity.insert(id, v.reshape([-1]));
            d
        } else {
            g
        };
        let mut w = w - d.mul_scalar(self.lr);
        if let Some(m) = mask {
            w = w * m;
        }
        let mut out = Tensor::from_inner(w);
        if require_grad {
            out = out.require_grad();
        }
        Param::from_mapped_value(id, out, mapper)
    }
}
