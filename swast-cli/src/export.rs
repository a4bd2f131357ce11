//! `swast export RUN`: the trained model, its masks, its final coreset (and, when asked,
//! the test set) as safetensors files.

use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use swast_core::burn::tensor::Device;
use swast_core::export::{NamedTensor, TensorValues, mask_tensors, state_dict, write_safetensors};
use swast_core::run::RoundRecord;

/// Exports the run in `run` into `out`; returns the files written.
pub fn export(run: &Path, out: &Path, test_set: bool) -> Result<Vec<PathBuf>> {
    if !run.join(swast_core::run::files::CHECKPOINT).is_file() {
        anyhow::bail!(
            "{} holds no checkpoint.bin: pass the folder of a run that has trained at least one epoch",
            run.display()
        );
    }
    let (cfg, trainer, data) = swast_core::run::load_run(run, &Device::flex(), &crate::Parts)
        .with_context(|| format!("cannot load the run in {}", run.display()))?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    // the weights evaluation uses: masks applied (ProbMask's hard mask before it is fixed)
    let model = trainer
        .eval_view()
        .unwrap_or_else(|| trainer.model().clone());
    let norm = data.train.channel_stats();
    let summary: Option<serde_json::Value> =
        std::fs::read_to_string(run.join(swast_core::run::files::SUMMARY))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
    let mut meta = BTreeMap::new();
    meta.insert(
        "format".into(),
        "swast export 1; PyTorch state_dict names and layout".into(),
    );
    meta.insert("swast_version".into(), env!("CARGO_PKG_VERSION").into());
    meta.insert("method".into(), cfg.method.as_str().into());
    meta.insert("arch".into(), cfg.model.arch.as_str().into());
    meta.insert("model".into(), serde_json::to_string(&cfg.model)?);
    meta.insert(
        "input_shape".into(),
        serde_json::to_string(&data.train.shape())?,
    );
    meta.insert("classes".into(), data.train.num_classes().to_string());
    meta.insert(
        "class_names".into(),
        serde_json::to_string(data.train.class_names())?,
    );
    meta.insert("input_mean".into(), serde_json::to_string(&norm.mean)?);
    meta.insert("input_std".into(), serde_json::to_string(&norm.std)?);
    meta.insert(
        "input_scaling".into(),
        "x = (pixel / max_pixel - input_mean[c]) / input_std[c]".into(),
    );
    meta.insert("epoch".into(), trainer.state().epoch.to_string());
    if let Some(acc) = summary.as_ref().and_then(|s| s["test_accuracy"].as_f64()) {
        meta.insert("test_accuracy".into(), acc.to_string());
    }
    let mut written = Vec::new();
    let path = out.join("model.safetensors");
    write_safetensors(&path, &state_dict(&model), &meta)
        .with_context(|| format!("cannot write {}", path.display()))?;
    written.push(path);
    if let Some(masks) = trainer.masks() {
        let path = out.join("masks.safetensors");
        let m = BTreeMap::from([("meaning".to_string(), "1 = weight kept".to_string())]);
        write_safetensors(&path, &mask_tensors(&model, masks), &m)
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    if let Some(round) = last_round(run)? {
        let path = out.join("coreset.safetensors");
        let tensors = vec![
            NamedTensor {
                name: "indices".into(),
                shape: vec![round.indices.len()],
                values: TensorValues::I64(round.indices.iter().map(|&i| i as i64).collect()),
            },
            NamedTensor {
                name: "ids".into(),
                shape: vec![round.ids.len()],
                values: TensorValues::I64(round.ids.iter().map(|&i| i64::from(i)).collect()),
            },
            NamedTensor {
                name: "weights".into(),
                shape: vec![round.weights.len()],
                values: TensorValues::F32(round.weights.clone()),
            },
        ];
        let m = BTreeMap::from([
            ("round".to_string(), round.round.to_string()),
            ("epoch".to_string(), round.epoch.to_string()),
            ("selector".to_string(), round.selector.clone()),
        ]);
        write_safetensors(&path, &tensors, &m)
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    if test_set {
        let ds = &data.test;
        let [c, h, w] = ds.shape();
        let all: Vec<usize> = (0..ds.len()).collect();
        let mut images = vec![0f32; ds.len() * c * h * w];
        swast_data::Batcher::new(norm, false).fill(ds, &all, None, &mut images);
        let path = out.join("test-set.safetensors");
        let tensors = vec![
            NamedTensor {
                name: "images".into(),
                shape: vec![ds.len(), c, h, w],
                values: TensorValues::F32(images),
            },
            NamedTensor {
                name: "labels".into(),
                shape: vec![ds.len()],
                values: TensorValues::I64(ds.labels().iter().map(|&l| i64::from(l)).collect()),
            },
        ];
        let m = BTreeMap::from([(
            "images".to_string(),
            "normalized as the model takes them (see model.safetensors' input_scaling)".to_string(),
        )]);
        write_safetensors(&path, &tensors, &m)
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// The last selection round of the run, if it selected.
fn last_round(run: &Path) -> Result<Option<RoundRecord>> {
    let dir = run.join(swast_core::run::files::CORESETS);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(None);
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("round-") && n.ends_with(".json"))
        })
        .collect();
    files.sort();
    let Some(last) = files.pop() else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&last)
        .with_context(|| format!("cannot read {}", last.display()))?;
    Ok(Some(serde_json::from_str(&text).with_context(|| {
        format!("{} is not a coreset round file", last.display())
    })?))
}
