//! A trained model, its masks and its coreset as [safetensors](https://huggingface.co/docs/safetensors)
//! files that PyTorch (`safetensors.torch.load_file`), numpy and other burn programs read
//! (`swast export RUN`).
//!
//! Tensors are named and laid out as PyTorch's `state_dict` names and lays them out: the
//! module path of each parameter (`hidden.0.weight`, `fc.bias`), linear weights transposed
//! to `[out, in]` (burn stores `[in, out]`), convolutions `[out, in, kh, kw]` as they are,
//! normalization scales and shifts named `weight` and `bias`.

use crate::model::{LayerKind, SwastModel};
use crate::prune::MaskSet;
use burn::module::{ModuleVisitor, Param, ParamId};
use burn::tensor::Tensor;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

/// The values of one tensor.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorValues {
    /// 32-bit floats.
    F32(Vec<f32>),
    /// Bytes (masks: 1 = kept).
    U8(Vec<u8>),
    /// 64-bit integers (indices, labels).
    I64(Vec<i64>),
}

impl TensorValues {
    fn dtype(&self) -> &'static str {
        match self {
            TensorValues::F32(_) => "F32",
            TensorValues::U8(_) => "U8",
            TensorValues::I64(_) => "I64",
        }
    }
    fn len(&self) -> usize {
        match self {
            TensorValues::F32(v) => v.len(),
            TensorValues::U8(v) => v.len(),
            TensorValues::I64(v) => v.len(),
        }
    }
    fn bytes(&self) -> Vec<u8> {
        match self {
            TensorValues::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorValues::U8(v) => v.clone(),
            TensorValues::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }
}

/// A named tensor of a safetensors file.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    /// Its name (`fc.weight`).
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its values, row-major.
    pub values: TensorValues,
}

/// Transposes a row-major `[rows, cols]` matrix.
fn transpose<T: Copy>(v: &[T], rows: usize, cols: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(v.len());
    for c in 0..cols {
        for r in 0..rows {
            out.push(v[r * cols + c]);
        }
    }
    out
}

/// A module path segment: none for an enum's variant (swast's `Network::Mlp(…)` is the
/// MLP itself, as a PyTorch model would be).
fn segment(name: &str, container: &str) -> String {
    if container.starts_with("Enum:") {
        String::new()
    } else {
        name.to_string()
    }
}

/// The dotted path of the non-empty segments.
fn join(path: &[String]) -> String {
    path.iter()
        .filter(|s| !s.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(".")
}

/// PyTorch's name for burn's parameter path: normalization layers' `gamma` and `beta` are
/// `weight` and `bias` there.
fn torch_name(path: &str) -> String {
    match path.rsplit_once('.') {
        Some((head, "gamma")) => format!("{head}.weight"),
        Some((head, "beta")) => format!("{head}.bias"),
        _ => path.to_string(),
    }
}

/// Every float parameter of `model` (and running statistic its visitor reports), named and
/// laid out as PyTorch's `state_dict`. Linear weights are the model's
/// [`SwastModel::layers`] of kind [`LayerKind::Linear`].
pub fn state_dict<M: SwastModel>(model: &M) -> Vec<NamedTensor> {
    struct Collect {
        path: Vec<String>,
        linear: HashSet<ParamId>,
        out: Vec<NamedTensor>,
    }
    impl ModuleVisitor for Collect {
        fn enter_module(&mut self, name: &str, container: &str) {
            self.path.push(segment(name, container));
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            let t = p.val();
            let mut shape = t.dims().to_vec();
            let mut v: Vec<f32> = t.into_data().iter::<f32>().collect();
            if D == 2 && self.linear.contains(&p.id) {
                v = transpose(&v, shape[0], shape[1]);
                shape.swap(0, 1);
            }
            self.out.push(NamedTensor {
                name: torch_name(&join(&self.path)),
                shape,
                values: TensorValues::F32(v),
            });
        }
    }
    let linear = model
        .layers()
        .iter()
        .filter(|l| l.kind == LayerKind::Linear)
        .map(|l| l.param_id)
        .collect();
    let mut c = Collect {
        path: Vec::new(),
        linear,
        out: Vec::new(),
    };
    model.visit(&mut c);
    c.out
}

/// The masks of `masks` as 0/1 byte tensors, named after the weights they mask and laid out
/// as those weights are in [`state_dict`].
pub fn mask_tensors<M: SwastModel>(model: &M, masks: &MaskSet) -> Vec<NamedTensor> {
    let names: HashMap<ParamId, String> = {
        struct Names {
            path: Vec<String>,
            out: HashMap<ParamId, String>,
        }
        impl ModuleVisitor for Names {
            fn enter_module(&mut self, name: &str, container: &str) {
                self.path.push(segment(name, container));
            }
            fn exit_module(&mut self, _: &str, _: &str) {
                self.path.pop();
            }
            fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
                self.out.insert(p.id, torch_name(&join(&self.path)));
            }
        }
        let mut n = Names {
            path: Vec::new(),
            out: HashMap::new(),
        };
        model.visit(&mut n);
        n.out
    };
    masks
        .layers()
        .iter()
        .map(|l| {
            let keep: Vec<u8> = l.keep().iter().map(|&k| u8::from(k)).collect();
            let (shape, keep) = match (l.info.kind, l.info.shape.as_slice()) {
                (LayerKind::Linear, &[i, o]) => (vec![o, i], transpose(&keep, i, o)),
                _ => (l.info.shape.clone(), keep),
            };
            NamedTensor {
                name: names
                    .get(&l.info.param_id)
                    .cloned()
                    .unwrap_or_else(|| format!("{}.weight", l.info.name)),
                shape,
                values: TensorValues::U8(keep),
            }
        })
        .collect()
}

/// The bytes of a safetensors file holding `tensors` (in order) and `metadata`.
///
/// # Errors
/// A tensor whose value count differs from its shape's product.
pub fn safetensors_bytes(
    tensors: &[NamedTensor],
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>, String> {
    let mut header = serde_json::Map::new();
    if !metadata.is_empty() {
        header.insert(
            "__metadata__".into(),
            serde_json::to_value(metadata).map_err(|e| e.to_string())?,
        );
    }
    let mut data = Vec::new();
    for t in tensors {
        let n: usize = t.shape.iter().product();
        if n != t.values.len() {
            return Err(format!(
                "tensor {} has {} values for shape {:?}",
                t.name,
                t.values.len(),
                t.shape
            ));
        }
        let start = data.len();
        data.extend(t.values.bytes());
        header.insert(
            t.name.clone(),
            serde_json::json!({
                "dtype": t.values.dtype(),
                "shape": t.shape,
                "data_offsets": [start, data.len()],
            }),
        );
    }
    let mut head = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
    // the data starts 8-byte aligned, as the format's reference writer pads it
    while (head.len() + 8) % 8 != 0 {
        head.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + head.len() + data.len());
    out.extend((head.len() as u64).to_le_bytes());
    out.extend(head);
    out.extend(data);
    Ok(out)
}

/// Writes [`safetensors_bytes`] to `path` atomically (a temporary file renamed into place).
pub fn write_safetensors(
    path: &Path,
    tensors: &[NamedTensor],
    metadata: &BTreeMap<String, String>,
) -> std::io::Result<()> {
    let bytes = safetensors_bytes(tensors, metadata)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    swast_data::files::write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_layout_is_the_formats() {
        let t = vec![
            NamedTensor {
                name: "a".into(),
                shape: vec![2, 2],
                values: TensorValues::F32(vec![1.0, 2.0, 3.0, 4.0]),
            },
            NamedTensor {
                name: "m".into(),
                shape: vec![3],
                values: TensorValues::U8(vec![1, 0, 1]),
            },
        ];
        let meta = BTreeMap::from([("arch".to_string(), "mlp".to_string())]);
        let b = safetensors_bytes(&t, &meta).unwrap();
        let n = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
        assert_eq!((8 + n) % 8, 0);
        let head: serde_json::Value = serde_json::from_slice(&b[8..8 + n]).unwrap();
        assert_eq!(head["a"]["dtype"], "F32");
        assert_eq!(head["a"]["data_offsets"], serde_json::json!([0, 16]));
        assert_eq!(head["m"]["data_offsets"], serde_json::json!([16, 19]));
        assert_eq!(head["__metadata__"]["arch"], "mlp");
        assert_eq!(&b[8 + n + 4..8 + n + 8], &2.0f32.to_le_bytes());
        assert_eq!(&b[8 + n + 16..], &[1, 0, 1]);
        let bad = vec![NamedTensor {
            name: "x".into(),
            shape: vec![2],
            values: TensorValues::I64(vec![1]),
        }];
        assert!(safetensors_bytes(&bad, &BTreeMap::new()).is_err());
    }

    #[test]
    fn linear_weights_are_transposed_to_pytorchs_layout() {
        assert_eq!(transpose(&[1, 2, 3, 4, 5, 6], 2, 3), vec![1, 4, 2, 5, 3, 6]);
        assert_eq!(torch_name("bn1.gamma"), "bn1.weight");
        assert_eq!(torch_name("blocks.0.bn.beta"), "blocks.0.bn.bias");
        assert_eq!(torch_name("fc.weight"), "fc.weight");
    }
}
