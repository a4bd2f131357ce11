//! The CIFAR "python version" as torchvision downloads it (`cifar-10-batches-py/`,
//! `cifar-100-python/`): each batch a pickled dict of `data` (a numpy `uint8` array of
//! `N × 3072`, each row the red, green and blue 32×32 planes) and `labels` or
//! `fine_labels`.
//!
//! The files are read by a small unpickler that builds values and never runs code: it knows
//! the opcodes of protocols 0–4 that these files and Python 3's re-pickles of them use, and
//! reads a numpy array's raw bytes out of its `_reconstruct` / `BUILD` state.

use crate::error::{DataError, Result};
use std::path::Path;

/// A value of the pickle machine.
#[derive(Debug, Clone, PartialEq)]
enum V {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Bytes(Vec<u8>),
    Str(String),
    List(Vec<V>),
    Tuple(Vec<V>),
    Dict(Vec<(V, V)>),
    /// `module name` of a `GLOBAL`.
    Global(String),
    /// A call that was not run: the callable and its arguments.
    Reduce(Box<V>, Box<V>),
    /// An object and the state `BUILD` gave it.
    Build(Box<V>, Box<V>),
    Mark,
}

fn bad(path: &Path, message: impl Into<String>) -> DataError {
    DataError::Invalid {
        name: path.display().to_string(),
        message: format!(
            "{}; expected a CIFAR python-version batch (a pickled dict, as torchvision downloads it)",
            message.into()
        ),
    }
}

/// The deepest nesting a batch may have (CIFAR's own files nest 4 levels).
const MAX_DEPTH: u32 = 64;

/// Whether `v` nests more than `limit` levels (looks no deeper than that).
fn deeper_than(v: &V, limit: u32) -> bool {
    if limit == 0 {
        return true;
    }
    match v {
        V::List(items) | V::Tuple(items) => items.iter().any(|x| deeper_than(x, limit - 1)),
        V::Dict(items) => items
            .iter()
            .any(|(k, x)| deeper_than(k, limit - 1) || deeper_than(x, limit - 1)),
        V::Reduce(a, b) | V::Build(a, b) => deeper_than(a, limit - 1) || deeper_than(b, limit - 1),
        _ => false,
    }
}

/// Unpickles `b` into a value.
fn load(path: &Path, b: &[u8]) -> Result<V> {
    let mut stack: Vec<V> = Vec::new();
    let mut memo: std::collections::HashMap<u64, V> = Default::default();
    let mut at = 0usize;
    let take = |at: &mut usize, n: usize| -> Result<&[u8]> {
        let s = b
            .get(*at..at.checked_add(n).unwrap_or(usize::MAX))
            .ok_or_else(|| bad(path, format!("cut short at byte {at}")))?;
        *at += n;
        Ok(s)
    };
    let uint = |s: &[u8]| s.iter().rev().fold(0u64, |a, &x| (a << 8) | u64::from(x));
    let pop = |stack: &mut Vec<V>| stack.pop().ok_or_else(|| bad(path, "stack underflow"));
    let pop_mark = |stack: &mut Vec<V>| -> Result<Vec<V>> {
        let m = stack
            .iter()
            .rposition(|v| *v == V::Mark)
            .ok_or_else(|| bad(path, "no mark"))?;
        let items = stack.split_off(m + 1);
        stack.pop();
        Ok(items)
    };
    loop {
        // a value nested deeper than any CIFAR file's would take the stack with it when
        // dropped: refuse it
        if stack.last().is_some_and(|v| deeper_than(v, MAX_DEPTH)) {
            return Err(bad(
                path,
                format!("values nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        let op = *take(&mut at, 1)?.first().expect("one byte");
        match op {
            0x80 => {
                take(&mut at, 1)?; // PROTO
            }
            0x95 => {
                take(&mut at, 8)?; // FRAME
            }
            b'.' => return pop(&mut stack),
            b'(' => stack.push(V::Mark),
            b'N' => stack.push(V::None),
            0x88 => stack.push(V::Bool(true)),
            0x89 => stack.push(V::Bool(false)),
            b'K' => stack.push(V::Int(uint(take(&mut at, 1)?) as i64)),
            b'M' => stack.push(V::Int(uint(take(&mut at, 2)?) as i64)),
            b'J' => {
                let v = i32::from_le_bytes(take(&mut at, 4)?.try_into().expect("4 bytes"));
                stack.push(V::Int(i64::from(v)));
            }
            0x8a => {
                // LONG1: n little-endian two's-complement bytes
                let n = uint(take(&mut at, 1)?) as usize;
                let s = take(&mut at, n)?;
                let mut v: i64 = 0;
                for (i, &x) in s.iter().enumerate().take(8) {
                    v |= i64::from(x) << (8 * i);
                }
                if n > 0 && n < 8 && s[n - 1] & 0x80 != 0 {
                    v -= 1i64 << (8 * n);
                }
                stack.push(V::Int(v));
            }
            b'G' => {
                let v = f64::from_be_bytes(take(&mut at, 8)?.try_into().expect("8 bytes"));
                stack.push(V::Float(v));
            }
            b'U' | b'C' => {
                let n = uint(take(&mut at, 1)?) as usize;
                stack.push(V::Bytes(take(&mut at, n)?.to_vec()));
            }
            b'T' | b'B' => {
                let n = uint(take(&mut at, 4)?) as usize;
                stack.push(V::Bytes(take(&mut at, n)?.to_vec()));
            }
            0x8e => {
                let n = uint(take(&mut at, 8)?) as usize;
                stack.push(V::Bytes(take(&mut at, n)?.to_vec()));
            }
            0x8c => {
                let n = uint(take(&mut at, 1)?) as usize;
                stack.push(V::Str(String::from_utf8_lossy(take(&mut at, n)?).into()));
            }
            b'X' => {
                let n = uint(take(&mut at, 4)?) as usize;
                stack.push(V::Str(String::from_utf8_lossy(take(&mut at, n)?).into()));
            }
            0x8d => {
                let n = uint(take(&mut at, 8)?) as usize;
                stack.push(V::Str(String::from_utf8_lossy(take(&mut at, n)?).into()));
            }
            b']' => stack.push(V::List(Vec::new())),
            b')' => stack.push(V::Tuple(Vec::new())),
            b'}' => stack.push(V::Dict(Vec::new())),
            b'l' => {
                let items = pop_mark(&mut stack)?;
                stack.push(V::List(items));
            }
            b't' => {
                let items = pop_mark(&mut stack)?;
                stack.push(V::Tuple(items));
            }
            b'd' => {
                let items = pop_mark(&mut stack)?;
                let pairs = items.chunks(2).filter(|c| c.len() == 2);
                stack.push(V::Dict(
                    pairs.map(|c| (c[0].clone(), c[1].clone())).collect(),
                ));
            }
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                if stack.len() < n {
                    return Err(bad(path, "stack underflow"));
                }
                let items = stack.split_off(stack.len() - n);
                stack.push(V::Tuple(items));
            }
            b'a' => {
                let v = pop(&mut stack)?;
                match stack.last_mut() {
                    Some(V::List(l)) => l.push(v),
                    _ => return Err(bad(path, "APPEND to a non-list")),
                }
            }
            b'e' => {
                let items = pop_mark(&mut stack)?;
                match stack.last_mut() {
                    Some(V::List(l)) => l.extend(items),
                    _ => return Err(bad(path, "APPENDS to a non-list")),
                }
            }
            b's' => {
                let v = pop(&mut stack)?;
                let k = pop(&mut stack)?;
                match stack.last_mut() {
                    Some(V::Dict(d)) => d.push((k, v)),
                    _ => return Err(bad(path, "SETITEM on a non-dict")),
                }
            }
            b'u' => {
                let items = pop_mark(&mut stack)?;
                match stack.last_mut() {
                    Some(V::Dict(d)) => d.extend(
                        items
                            .chunks(2)
                            .filter(|c| c.len() == 2)
                            .map(|c| (c[0].clone(), c[1].clone())),
                    ),
                    _ => return Err(bad(path, "SETITEMS on a non-dict")),
                }
            }
            b'c' => {
                // GLOBAL: "module\nname\n"
                let rest = &b[at..];
                let mut lines = rest.splitn(3, |&x| x == b'\n');
                let m = lines.next().unwrap_or_default();
                let n = lines.next().unwrap_or_default();
                at += m.len() + n.len() + 2;
                stack.push(V::Global(format!(
                    "{} {}",
                    String::from_utf8_lossy(m),
                    String::from_utf8_lossy(n)
                )));
            }
            0x93 => {
                // STACK_GLOBAL
                let n = pop(&mut stack)?;
                let m = pop(&mut stack)?;
                match (m, n) {
                    (V::Str(m), V::Str(n)) => stack.push(V::Global(format!("{m} {n}"))),
                    _ => return Err(bad(path, "STACK_GLOBAL without names")),
                }
            }
            b'R' | 0x81 => {
                let args = pop(&mut stack)?;
                let f = pop(&mut stack)?;
                stack.push(reduce(f, args));
            }
            b'b' => {
                let state = pop(&mut stack)?;
                let obj = pop(&mut stack)?;
                stack.push(V::Build(Box::new(obj), Box::new(state)));
            }
            b'q' => {
                let k = uint(take(&mut at, 1)?);
                memo.insert(k, stack.last().cloned().unwrap_or(V::None));
            }
            b'r' => {
                let k = uint(take(&mut at, 4)?);
                memo.insert(k, stack.last().cloned().unwrap_or(V::None));
            }
            0x94 => {
                let k = memo.len() as u64;
                memo.insert(k, stack.last().cloned().unwrap_or(V::None));
            }
            b'h' | b'j' => {
                let k = uint(take(&mut at, if op == b'h' { 1 } else { 4 })?);
                let v = memo
                    .get(&k)
                    .cloned()
                    .ok_or_else(|| bad(path, format!("memo {k} unset")))?;
                stack.push(v);
            }
            o => {
                return Err(bad(
                    path,
                    format!("unsupported pickle opcode 0x{o:02x} at byte {}", at - 1),
                ));
            }
        }
    }
}

/// A call the unpickler does not run; Python 3's protocol-2 bytes
/// (`_codecs.encode(text, "latin1")`) become the bytes they stand for.
fn reduce(f: V, args: V) -> V {
    if let (V::Global(g), V::Tuple(a)) = (&f, &args)
        && g == "_codecs encode"
        && let [V::Str(text), ..] = a.as_slice()
    {
        // latin-1: each char is one byte
        return V::Bytes(text.chars().map(|c| c as u32 as u8).collect());
    }
    V::Reduce(Box::new(f), Box::new(args))
}

fn key_is(k: &V, name: &str) -> bool {
    match k {
        V::Bytes(b) => b == name.as_bytes(),
        V::Str(s) => s == name,
        _ => false,
    }
}

fn get<'a>(d: &'a V, name: &str) -> Option<&'a V> {
    match d {
        V::Dict(items) => items.iter().find(|(k, _)| key_is(k, name)).map(|(_, v)| v),
        _ => None,
    }
}

/// The raw bytes of a pickled numpy array (the largest bytes in its `BUILD` state).
fn array_bytes(v: &V) -> Option<&[u8]> {
    fn largest(v: &V) -> Option<&[u8]> {
        match v {
            V::Bytes(b) => Some(b),
            V::Tuple(items) | V::List(items) => {
                items.iter().filter_map(largest).max_by_key(|b| b.len())
            }
            _ => None,
        }
    }
    match v {
        V::Build(_, state) => largest(state),
        _ => None,
    }
}

/// One batch: its pixel bytes (`N × 3072`) and labels (`labels`, or `fine_labels` for
/// CIFAR-100).
pub fn read_batch(path: &Path, bytes: &[u8]) -> Result<(Vec<u8>, Vec<u16>)> {
    let v = load(path, bytes)?;
    let data = get(&v, "data").ok_or_else(|| bad(path, "no `data` entry"))?;
    let pixels = array_bytes(data)
        .ok_or_else(|| bad(path, "`data` is not a numpy array"))?
        .to_vec();
    let labels = get(&v, "fine_labels")
        .or_else(|| get(&v, "labels"))
        .ok_or_else(|| bad(path, "no `labels` or `fine_labels` entry"))?;
    let labels: Vec<u16> = match labels {
        V::List(l) => l
            .iter()
            .map(|x| match x {
                V::Int(i) if (0..=u16::MAX as i64).contains(i) => Ok(*i as u16),
                other => Err(bad(
                    path,
                    format!("a label that is not a class id: {other:?}"),
                )),
            })
            .collect::<Result<_>>()?,
        _ => return Err(bad(path, "the labels are not a list")),
    };
    if pixels.len() != labels.len() * 3072 {
        return Err(bad(
            path,
            format!(
                "{} pixel bytes for {} labels (expected {} = 3072 per image)",
                pixels.len(),
                labels.len(),
                labels.len() * 3072
            ),
        ));
    }
    Ok((pixels, labels))
}

/// The class names of a `batches.meta` (`label_names`) or `meta` (`fine_label_names`) file.
pub fn read_names(path: &Path, bytes: &[u8]) -> Result<Vec<String>> {
    let v = load(path, bytes)?;
    let names = get(&v, "fine_label_names")
        .or_else(|| get(&v, "label_names"))
        .ok_or_else(|| bad(path, "no `label_names` entry"))?;
    match names {
        V::List(l) => Ok(l
            .iter()
            .map(|x| match x {
                V::Bytes(b) => String::from_utf8_lossy(b).into(),
                V::Str(s) => s.clone(),
                other => format!("{other:?}"),
            })
            .collect()),
        _ => Err(bad(path, "the names are not a list")),
    }
}
