//! Checkpoints of a trainer: model, optimizer, pruner and state in one container, restored
//! bit-exactly.

use super::{TrainError, TrainState, Trainer};
use crate::checkpoint;
use crate::model::SwastModel;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use std::path::Path;

impl<M: SwastModel> Trainer<M> {
    /// Serializes model, optimizer and state into the checkpoint container.
    pub fn checkpoint_bytes(&self, extra: &[u8]) -> Result<Vec<u8>, TrainError> {
        let rec = |message: String| TrainError::Record {
            path: "<memory>".into(),
            message,
        };
        // BatchNorm's running statistics keep their last update pending until a read syncs
        // it (burn's `RunningState`); a record reads the value as of the last sync, so sync
        // first, or a resumed run would start from statistics one update old
        let _ = self.model().valid();
        let model = self
            .model()
            .clone()
            .into_record()
            .into_bytes()
            .map_err(|e| rec(format!("model record: {e:?}")))?;
        let optim = self.optim.to_bytes();
        let pruner = self
            .pruner
            .as_ref()
            .map(|p| p.state_bytes())
            .unwrap_or_default();
        let state = serde_json::to_vec(&self.state).map_err(|e| rec(e.to_string()))?;
        Ok(checkpoint::pack(&[&state, &model, &optim, &pruner, extra]))
    }

    /// Writes a checkpoint atomically to `path`.
    ///
    /// `extra` is stored as is (the caller's own state, e.g. a selector's history).
    pub fn save_checkpoint(&self, path: &Path, extra: &[u8]) -> Result<(), TrainError> {
        checkpoint::write_atomic(path, &self.checkpoint_bytes(extra)?)?;
        Ok(())
    }

    /// Restores model, optimizer and state from the checkpoint at `path` (written by a
    /// trainer built with the same model config and data).
    ///
    /// Returns the `extra` bytes given to [`Trainer::save_checkpoint`].
    pub fn load_checkpoint(&mut self, path: &Path) -> Result<Vec<u8>, TrainError> {
        let sections = checkpoint::read(path)?;
        self.restore_sections(path, sections)
    }

    /// Restores a snapshot made by [`Trainer::checkpoint_bytes`]; returns its `extra` bytes.
    pub fn restore_checkpoint_bytes(&mut self, bytes: &[u8]) -> Result<Vec<u8>, TrainError> {
        let path = Path::new("<snapshot>");
        let sections = checkpoint::unpack(path, bytes)?;
        self.restore_sections(path, sections)
    }

    /// Restores the sections of the checkpoint at `path` that [`checkpoint::read`] already
    /// read and verified (`path` names it in errors).
    pub fn restore_sections(
        &mut self,
        path: &Path,
        sections: Vec<Vec<u8>>,
    ) -> Result<Vec<u8>, TrainError> {
        let rec = |message: String| TrainError::Record {
            path: path.display().to_string(),
            message,
        };
        let [state, model, optim_bytes, pruner_bytes, extra]: [Vec<u8>; 5] = sections
            .try_into()
            .map_err(|s: Vec<Vec<u8>>| rec(format!("expected 5 sections, found {}", s.len())))?;
        let state: TrainState =
            serde_json::from_slice(&state).map_err(|e| rec(format!("state: {e}")))?;
        if let Some(k) = &state.channel_keeps
            && self.state.channel_keeps.as_ref() != Some(k)
        {
            // rebuild the pruned architecture before loading its weights
            if self.state.channel_keeps.is_some() {
                return Err(rec("the trainer was already shrunk differently".into()));
            }
            self.apply_keeps(k);
        }
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(model))
            .map_err(|e| rec(format!("model record: {e:?}")))?;
        let current = self.model.take().expect("trainer holds a model");
        let loaded = current.clone().try_load_record(record);
        match loaded {
            Ok(m) => self.model = Some(m),
            Err(e) => {
                self.model = Some(current);
                return Err(rec(format!("model record does not fit this model: {e:?}")));
            }
        }
        self.optim
            .load_bytes(&optim_bytes, &self.device)
            .map_err(|e| rec(format!("optimizer state: {e}")))?;
        let layers = self.model().layers();
        match self.pruner.as_mut() {
            Some(p) => p
                .load_state(&pruner_bytes, &layers)
                .map_err(|e| rec(format!("pruner state: {e}")))?,
            None if !pruner_bytes.is_empty() => {
                return Err(rec(
                    "the checkpoint holds pruner state but no pruner is attached".into(),
                ));
            }
            None => {}
        }
        self.reapply_masks();
        self.last_keep = self.keep_flags();
        self.state = state;
        Ok(extra)
    }
}
