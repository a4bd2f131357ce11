//! The `swast` Python package's native module (`swast._swast`): swast-coreset's selectors,
//! its OMP / GradMatch and facility-location solvers, and swast-prune's layer densities and
//! RigL update, on numpy arrays.
//!
//! At the boundary every array is read in its *logical* order (a Fortran-ordered or strided
//! array gives the result of its C-ordered copy), float32 and float64 are accepted where
//! floats are expected (float64 is rounded to float32, the precision swast computes in),
//! any integer dtype where labels are, and every wrong dtype, shape, length, value or
//! setting is a `TypeError` / `ValueError` naming the argument. Selection runs with the GIL
//! released.

use numpy::{
    IntoPyArray, PyArray1, PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};
use swast_core::config::fraction_in;
use swast_core::model::{LayerInfo, LayerKind, Role};
use swast_core::probe::Probe;
use swast_core::prune::Density;
use swast_coreset::{CoresetSettings, SeededRng};

/// A float array's values in logical (C) order and its shape.
fn floats(
    obj: &Bound<'_, PyAny>,
    name: &str,
    ndim: Option<usize>,
) -> PyResult<(Vec<f32>, Vec<usize>)> {
    floats_checked(obj, name, ndim, true)
}

/// [`floats`], the finiteness check left to the caller when `finite` is false (a probe
/// checks its arrays itself: one pass over them, not two).
fn floats_checked(
    obj: &Bound<'_, PyAny>,
    name: &str,
    ndim: Option<usize>,
    finite: bool,
) -> PyResult<(Vec<f32>, Vec<usize>)> {
    let arr = obj.cast::<PyUntypedArray>().map_err(|_| {
        PyTypeError::new_err(format!(
            "`{name}` must be a numpy array, got {}",
            type_name(obj)
        ))
    })?;
    let shape = arr.shape().to_vec();
    if let Some(d) = ndim
        && shape.len() != d
    {
        return Err(PyValueError::new_err(format!(
            "`{name}` must be {d}-dimensional, got shape {shape:?}"
        )));
    }
    // C-contiguous float32 is one copy; any other layout is read in logical order
    let values: Vec<f32> = if let Ok(a) = obj.cast::<PyArrayDyn<f32>>() {
        let ro = a.readonly();
        match ro.as_slice() {
            Ok(s) if arr.is_c_contiguous() => s.to_vec(),
            _ => ro.as_array().iter().copied().collect(),
        }
    } else if let Ok(a) = obj.cast::<PyArrayDyn<f64>>() {
        a.readonly().as_array().iter().map(|&x| x as f32).collect()
    } else {
        return Err(PyTypeError::new_err(format!(
            "`{name}` must be a float32 or float64 array, got dtype {}",
            arr.dtype()
        )));
    };
    if finite && !values.iter().fold(true, |ok, v| ok & v.is_finite()) {
        let i = values.iter().position(|v| !v.is_finite()).unwrap_or(0);
        return Err(PyValueError::new_err(format!(
            "`{name}` holds a value that is not finite ({}) at flat index {i}",
            values[i]
        )));
    }
    Ok((values, shape))
}

/// A 1-d integer array as labels in `0..65536`.
fn labels(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<u16>> {
    let arr = obj.cast::<PyUntypedArray>().map_err(|_| {
        PyTypeError::new_err(format!(
            "`{name}` must be a numpy array of integers, got {}",
            type_name(obj)
        ))
    })?;
    if arr.ndim() != 1 {
        return Err(PyValueError::new_err(format!(
            "`{name}` must be 1-dimensional, got shape {:?}",
            arr.shape()
        )));
    }
    macro_rules! try_int {
        ($($t:ty),*) => {
            $(
                if let Ok(a) = obj.cast::<PyArrayDyn<$t>>() {
                    let ro = a.readonly();
                    return ro
                        .as_array()
                        .iter()
                        .map(|&x| {
                            #[allow(clippy::unnecessary_cast)]
                            let x = x as i128;
                            u16::try_from(x).map_err(|_| {
                                PyValueError::new_err(format!(
                                    "`{name}` holds {x}: labels must be in 0..65536"
                                ))
                            })
                        })
                        .collect();
                }
            )*
        };
    }
    try_int!(i64, i32, i16, i8, u64, u32, u16, u8);
    Err(PyTypeError::new_err(format!(
        "`{name}` must be an integer array, got dtype {}",
        arr.dtype()
    )))
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map_or_else(|_| "an object".into(), |n| n.to_string())
}

/// The probe of `(probs, features, labels)`, checked, named as the Python arguments.
fn probe_of(
    probs: &Bound<'_, PyAny>,
    features: &Bound<'_, PyAny>,
    labels_arr: &Bound<'_, PyAny>,
    prefix: &str,
) -> PyResult<Probe> {
    let (p, ps) = floats_checked(probs, &format!("{prefix}probs"), Some(2), false)?;
    let (f, fs) = floats_checked(features, &format!("{prefix}features"), Some(2), false)?;
    let y = labels(labels_arr, &format!("{prefix}labels"))?;
    if ps[0] != y.len() || fs[0] != y.len() {
        return Err(PyValueError::new_err(format!(
            "mismatched lengths: `{prefix}probs` has {} rows, `{prefix}features` {}, `{prefix}labels` {}",
            ps[0],
            fs[0],
            y.len()
        )));
    }
    Probe::from_probabilities(&y, &p, &f, ps[1])
        .map_err(|e| PyValueError::new_err(format!("`{prefix}{}` {}", e.argument, e.message)))
}

/// The selector settings from keyword arguments: the `[coreset]` keys of swast-coreset,
/// with the config's checks and messages.
fn settings_of(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<CoresetSettings> {
    let defaults = toml::Table::try_from(CoresetSettings::default())
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let mut t = toml::Table::new();
    if let Some(kw) = kwargs {
        for (k, v) in kw.iter() {
            let key: String = k.extract()?;
            let Some(default) = defaults.get(&key) else {
                let near = swast_core::config::closest(&key, defaults.keys().map(String::as_str));
                return Err(PyValueError::new_err(format!(
                    "unknown setting `{key}` (did you mean `{}`?); the settings are: {}",
                    near.unwrap_or_default(),
                    defaults.keys().cloned().collect::<Vec<_>>().join(", ")
                )));
            };
            let value = if v.is_instance_of::<PyBool>() {
                toml::Value::Boolean(v.extract()?)
            } else if v.is_instance_of::<PyInt>() && default.is_float() {
                // `lambda=1` means 1.0
                toml::Value::Float(v.extract()?)
            } else if v.is_instance_of::<PyInt>() {
                toml::Value::Integer(v.extract()?)
            } else if v.is_instance_of::<PyFloat>() {
                toml::Value::Float(v.extract()?)
            } else if v.is_instance_of::<PyString>() {
                toml::Value::String(v.extract()?)
            } else {
                return Err(PyTypeError::new_err(format!(
                    "setting `{key}` must be a bool, int, float or str, got {}",
                    type_name(&v)
                )));
            };
            t.insert(key, value);
        }
    }
    CoresetSettings::from_options(&t).map_err(|e| PyValueError::new_err(e.0))
}

/// `(indices, weights)` as numpy arrays.
type Selection<'py> = (Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<f32>>);

fn selection<'py>(py: Python<'py>, idx: Vec<usize>, w: Vec<f32>) -> Selection<'py> {
    (
        idx.into_iter()
            .map(|i| i as i64)
            .collect::<Vec<_>>()
            .into_pyarray(py),
        w.into_pyarray(py),
    )
}

/// The coreset size of `fraction` of `n` samples: `round(fraction·n)`, at least 1 (what a
/// swast run keeps).
fn budget(fraction: f64, n: usize) -> PyResult<usize> {
    fraction_in("`fraction`", fraction, true, 0.0, 1.0, false)
        .map_err(|e| PyValueError::new_err(e.0))?;
    Ok(swast_core::config::fraction_budget(fraction, n))
}

/// select(name, probs, features, labels, fraction, seed, epoch, total_epochs, val, settings)
#[pyfunction]
#[pyo3(signature = (name, probs, features, labels, fraction, seed=0, epoch=0, total_epochs=1, val=None, **settings))]
#[allow(clippy::too_many_arguments)]
fn select<'py>(
    py: Python<'py>,
    name: &str,
    probs: &Bound<'py, PyAny>,
    features: &Bound<'py, PyAny>,
    labels: &Bound<'py, PyAny>,
    fraction: f64,
    seed: u64,
    epoch: usize,
    total_epochs: usize,
    val: Option<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>)>,
    settings: Option<&Bound<'py, PyDict>>,
) -> PyResult<Selection<'py>> {
    if !swast_coreset::selector_names().contains(&name) {
        return Err(PyValueError::new_err(format!(
            "`name`: `{name}` is not a selector; choose one of: {}",
            swast_coreset::selector_names().join(", ")
        )));
    }
    let settings = settings_of(settings)?;
    let probe = probe_of(probs, features, labels, "")?;
    let val = match &val {
        Some((p, f, y)) => Some(probe_of(p, f, y, "val_")?),
        None => None,
    };
    if let Some(v) = &val
        && (v.classes != probe.classes || v.feature_dim != probe.feature_dim)
    {
        return Err(PyValueError::new_err(format!(
            "`val` has {} classes and {} features where the training arrays have {} and {}",
            v.classes, v.feature_dim, probe.classes, probe.feature_dim
        )));
    }
    let k = budget(fraction, probe.len())?;
    let name = name.to_string();
    let c = py
        .detach(move || {
            swast_coreset::select(
                &name,
                &probe,
                val.as_ref(),
                k,
                (epoch, total_epochs),
                seed,
                &settings,
            )
        })
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(selection(py, c.indices, c.weights))
}

/// omp(atoms, target, budget, lambda_, tol)
#[pyfunction]
#[pyo3(signature = (atoms, target, budget, lambda_=0.5, tol=0.0))]
fn omp<'py>(
    py: Python<'py>,
    atoms: &Bound<'py, PyAny>,
    target: &Bound<'py, PyAny>,
    budget: usize,
    lambda_: f64,
    tol: f64,
) -> PyResult<Selection<'py>> {
    let (a, s) = floats(atoms, "atoms", Some(2))?;
    let (t, ts) = floats(target, "target", Some(1))?;
    if ts[0] != s[1] || s[1] == 0 {
        return Err(PyValueError::new_err(format!(
            "`target` has {} entries where the rows of `atoms` have {}",
            ts[0], s[1]
        )));
    }
    check_budget(budget, s[0])?;
    check_nonneg("`lambda_`", lambda_)?;
    check_nonneg("`tol`", tol)?;
    let d = s[1];
    let r = py.detach(move || {
        let a: Vec<f64> = a.into_iter().map(f64::from).collect();
        let t: Vec<f64> = t.into_iter().map(f64::from).collect();
        swast_coreset::omp::omp(&a, d, &t, budget, lambda_, budget.div_ceil(64), tol)
    });
    Ok(selection(
        py,
        r.selected,
        r.weights.into_iter().map(|w| w as f32).collect(),
    ))
}

fn check_budget(budget: usize, n: usize) -> PyResult<()> {
    if budget == 0 || budget > n {
        return Err(PyValueError::new_err(format!(
            "`budget` must be between 1 and the {n} rows, got {budget}"
        )));
    }
    Ok(())
}

fn check_nonneg(name: &str, v: f64) -> PyResult<()> {
    swast_core::config::non_negative(name, v, "").map_err(|e| PyValueError::new_err(e.0))
}

/// gradmatch(gradients, labels, budget, lambda_, tol, seed)
#[pyfunction]
#[pyo3(signature = (gradients, labels, budget, lambda_=0.5, tol=0.0, seed=0))]
fn gradmatch<'py>(
    py: Python<'py>,
    gradients: &Bound<'py, PyAny>,
    labels: &Bound<'py, PyAny>,
    budget: usize,
    lambda_: f64,
    tol: f64,
    seed: u64,
) -> PyResult<Selection<'py>> {
    let (g, s) = floats(gradients, "gradients", Some(2))?;
    let y = self::labels(labels, "labels")?;
    if y.len() != s[0] || s[1] == 0 {
        return Err(PyValueError::new_err(format!(
            "mismatched lengths: `gradients` has {} rows of {} entries, `labels` {}",
            s[0],
            s[1],
            y.len()
        )));
    }
    check_budget(budget, s[0])?;
    check_nonneg("`lambda_`", lambda_)?;
    check_nonneg("`tol`", tol)?;
    let classes = y.iter().map(|&c| usize::from(c) + 1).max().unwrap_or(1);
    let d = s[1];
    let c = py.detach(move || {
        let mut rng = SeededRng::stream(seed, "select-1");
        swast_coreset::gradmatch_on_gradients(&g, d, &y, classes, budget, (lambda_, tol), &mut rng)
    });
    Ok(selection(py, c.indices, c.weights))
}

/// facility_location(points, budget, epsilon, seed)
#[pyfunction]
#[pyo3(signature = (points, budget, epsilon=0.01, seed=0))]
fn facility_location<'py>(
    py: Python<'py>,
    points: &Bound<'py, PyAny>,
    budget: usize,
    epsilon: f64,
    seed: u64,
) -> PyResult<Selection<'py>> {
    let (x, s) = floats(points, "points", Some(2))?;
    check_budget(budget, s[0])?;
    fraction_in("`epsilon`", epsilon, true, 0.0, 1.0, true)
        .map_err(|e| PyValueError::new_err(e.0))?;
    if s[1] == 0 {
        return Err(PyValueError::new_err("`points` has rows of width 0"));
    }
    let dim = s[1];
    let r = py.detach(move || {
        let mut rng = SeededRng::stream(seed, "select-1");
        swast_coreset::greedy::facility_location(&x, dim, budget, epsilon, &mut rng)
    });
    Ok(selection(py, r.selected, r.weights))
}

/// densities(shapes, sparsity, distribution)
#[pyfunction]
#[pyo3(signature = (shapes, sparsity, distribution="erk"))]
fn densities(shapes: Vec<Vec<usize>>, sparsity: f64, distribution: &str) -> PyResult<Vec<f64>> {
    fraction_in("`sparsity`", sparsity, false, 0.0, 1.0, true)
        .map_err(|e| PyValueError::new_err(e.0))?;
    let dist: swast_prune::Distribution = toml::Value::String(distribution.to_string())
        .try_into()
        .map_err(|_| {
            PyValueError::new_err(format!(
                "`distribution` must be uniform, er or erk, got `{distribution}`"
            ))
        })?;
    let mut layers = Vec::with_capacity(shapes.len());
    for (i, s) in shapes.iter().enumerate() {
        let kind = match s.len() {
            2 => LayerKind::Linear,
            4 => LayerKind::Conv,
            _ => {
                return Err(PyValueError::new_err(format!(
                    "`shapes[{i}]` = {s:?}: a layer's weight shape must be 2-d (linear, [out, in]) or 4-d (conv, [out, in, kh, kw])"
                )));
            }
        };
        if s.contains(&0) {
            return Err(PyValueError::new_err(format!(
                "`shapes[{i}]` = {s:?} has a zero dimension"
            )));
        }
        let params: usize = s.iter().product();
        layers.push(LayerInfo {
            name: format!("layer{i}"),
            kind,
            role: Role::Backbone,
            param_id: swast_core::burn::module::ParamId::new(),
            shape: s.clone(),
            params,
            flops: 0,
        });
    }
    let refs: Vec<&LayerInfo> = layers.iter().collect();
    let target = Density::new(1.0 - sparsity).map_err(PyValueError::new_err)?;
    Ok(swast_prune::distribution::densities(&refs, target, dist)
        .into_iter()
        .map(Density::get)
        .collect())
}

/// rigl_update(weight, grad, mask, drop_fraction)
#[pyfunction]
fn rigl_update<'py>(
    py: Python<'py>,
    weight: &Bound<'py, PyAny>,
    grad: &Bound<'py, PyAny>,
    mask: &Bound<'py, PyAny>,
    drop_fraction: f64,
) -> PyResult<Bound<'py, PyArrayDyn<bool>>> {
    let (w, ws) = floats(weight, "weight", None)?;
    let (g, gs) = floats(grad, "grad", None)?;
    let m = mask.cast::<PyArrayDyn<bool>>().map_err(|_| {
        PyTypeError::new_err(format!(
            "`mask` must be a numpy bool array, got {}",
            mask.cast::<PyUntypedArray>()
                .map_or_else(|_| type_name(mask), |a| format!("dtype {}", a.dtype()))
        ))
    })?;
    let ms = m.shape().to_vec();
    if gs != ws || ms != ws {
        return Err(PyValueError::new_err(format!(
            "mismatched shapes: `weight` {ws:?}, `grad` {gs:?}, `mask` {ms:?}"
        )));
    }
    fraction_in("`drop_fraction`", drop_fraction, false, 0.0, 1.0, false)
        .map_err(|e| PyValueError::new_err(e.0))?;
    let keep: Vec<bool> = m.readonly().as_array().iter().copied().collect();
    let out = py.detach(move || {
        let active = keep.iter().filter(|k| **k).count();
        let k = (drop_fraction * active as f64).round() as usize;
        swast_prune::mask::drop_and_grow(&keep, &w, &g, k)
    });
    out.into_pyarray(py)
        .reshape(ws)
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

/// _rust_seconds(name, probs, features, labels, fraction, seed, repeats, with_probe): the
/// seconds of each of `repeats` selections run in Rust on arrays already in Rust memory, for
/// measuring what the Python boundary adds (`swast-py/bench/boundary.py`): with
/// `with_probe`, what a Rust caller of the crate does with arrays in memory
/// (`Probe::from_probabilities`, then `select`); without, `select` on a probe built once.
#[pyfunction]
#[pyo3(signature = (name, probs, features, labels, fraction, seed=0, repeats=5, with_probe=true))]
#[allow(clippy::too_many_arguments)]
fn _rust_seconds<'py>(
    py: Python<'py>,
    name: &str,
    probs: &Bound<'py, PyAny>,
    features: &Bound<'py, PyAny>,
    labels: &Bound<'py, PyAny>,
    fraction: f64,
    seed: u64,
    repeats: usize,
    with_probe: bool,
) -> PyResult<Vec<f64>> {
    let probe = probe_of(probs, features, labels, "")?;
    let k = budget(fraction, probe.len())?;
    let s = CoresetSettings::default();
    let name = name.to_string();
    py.detach(move || {
        (0..repeats)
            .map(|_| {
                let t = std::time::Instant::now();
                let built;
                let p = if with_probe {
                    built = Probe::from_probabilities(
                        &probe.labels,
                        &probe.probs,
                        &probe.features,
                        probe.classes,
                    )
                    .map_err(|e| PyValueError::new_err(e.to_string()))?;
                    &built
                } else {
                    &probe
                };
                swast_coreset::select(&name, p, None, k, (0, 1), seed, &s)
                    .map(|_| t.elapsed().as_secs_f64())
                    .map_err(|e| PyValueError::new_err(e.to_string()))
            })
            .collect()
    })
}

/// selector_names()
#[pyfunction]
fn selector_names() -> Vec<&'static str> {
    swast_coreset::selector_names()
}

/// The native module.
#[pymodule]
fn _swast(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // arrays of tens of MB are copied in and freed on every call: with glibc's initial
    // thresholds each would come from fresh, faulting pages
    swast_core::train::raise_malloc_thresholds();
    m.add_function(wrap_pyfunction!(select, m)?)?;
    m.add_function(wrap_pyfunction!(omp, m)?)?;
    m.add_function(wrap_pyfunction!(gradmatch, m)?)?;
    m.add_function(wrap_pyfunction!(facility_location, m)?)?;
    m.add_function(wrap_pyfunction!(densities, m)?)?;
    m.add_function(wrap_pyfunction!(rigl_update, m)?)?;
    m.add_function(wrap_pyfunction!(selector_names, m)?)?;
    m.add_function(wrap_pyfunction!(_rust_seconds, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
