//! TensorBoard event files: a run's scalars (every epoch and selection round) for live
//! curves (`swast train --tensorboard`, then `tensorboard --logdir runs/`).
//!
//! The file is TensorFlow's record format, written without TensorFlow: each record is the
//! payload's length (u64, little-endian), the masked CRC-32C of those 8 bytes, the payload
//! (an `Event` protocol buffer) and its masked CRC-32C. [`read_scalars`] reads a file back
//! and checks every CRC.

use crate::events::{Event, EventSink};
use std::io::Write;
use std::path::{Path, PathBuf};

/// TensorFlow's CRC mask: `rotate_right(crc, 15) + 0xa282ead8`.
fn masked_crc(bytes: &[u8]) -> u32 {
    let c = crc32c::crc32c(bytes);
    c.rotate_right(15).wrapping_add(0xa282_ead8)
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited protobuf field.
fn bytes_field(field: u64, bytes: &[u8], out: &mut Vec<u8>) {
    varint((field << 3) | 2, out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// An `Event { wall_time = 1; step = 2; file_version = 3 | summary = 5 }` payload.
fn event_payload(wall_time: f64, step: i64, body: EventBody<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    varint((1 << 3) | 1, &mut out);
    out.extend_from_slice(&wall_time.to_le_bytes());
    varint(2 << 3, &mut out);
    varint(step as u64, &mut out);
    match body {
        EventBody::FileVersion(v) => bytes_field(3, v.as_bytes(), &mut out),
        EventBody::Scalars(values) => {
            // Summary { repeated Value value = 1 }, Value { tag = 1; simple_value = 2 }
            let mut summary = Vec::new();
            for (tag, v) in values {
                let mut value = Vec::new();
                bytes_field(1, tag.as_bytes(), &mut value);
                varint((2 << 3) | 5, &mut value);
                value.extend_from_slice(&v.to_le_bytes());
                bytes_field(1, &value, &mut summary);
            }
            bytes_field(5, &summary, &mut out);
        }
    }
    out
}

enum EventBody<'a> {
    FileVersion(&'a str),
    Scalars(&'a [(String, f32)]),
}

/// One framed record.
fn record(payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(payload.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&masked_crc(payload).to_le_bytes());
    out
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Writes the scalars of a run's events to a TensorBoard event file: per epoch
/// (`step` = epoch) the training loss and accuracy, the test loss and accuracy when
/// evaluated, the learning rate, the sparsity and the training FLOPs; per selection round
/// (`step` = the epoch it starts) its size and seconds.
#[derive(Debug)]
pub struct TensorBoardSink {
    dir: PathBuf,
    file: Option<(PathBuf, std::fs::File)>,
}

impl TensorBoardSink {
    /// A sink that writes a new event file in `dir` (created when missing) at its first
    /// scalar, named as TensorFlow names them (`events.out.tfevents.<seconds>.<host>.<pid>`):
    /// each session of a resumed run adds a file, and TensorBoard joins them. A session that
    /// logs nothing (a finished run, a refused folder) writes nothing.
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            file: None,
        }
    }

    /// The event file, once written.
    pub fn path(&self) -> Option<&Path> {
        self.file.as_ref().map(|(p, _)| p.as_path())
    }

    fn open(&mut self) -> std::io::Result<&mut std::fs::File> {
        if self.file.is_none() {
            std::fs::create_dir_all(&self.dir)?;
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_else(|_| "host".into());
            let path = self.dir.join(format!(
                "events.out.tfevents.{}.{host}.{}",
                now() as u64,
                std::process::id()
            ));
            let mut file = std::fs::OpenOptions::new()
                .create_new(true)
                .write(true)
                .open(&path)?;
            file.write_all(&record(&event_payload(
                now(),
                0,
                EventBody::FileVersion("brain.Event:2"),
            )))?;
            self.file = Some((path, file));
        }
        Ok(&mut self.file.as_mut().expect("opened above").1)
    }

    fn scalars(&mut self, step: usize, values: &[(String, f32)]) -> std::io::Result<()> {
        if values.is_empty() {
            return Ok(());
        }
        let p = event_payload(now(), step as i64, EventBody::Scalars(values));
        let f = self.open()?;
        f.write_all(&record(&p))?;
        f.flush()
    }
}

impl EventSink for TensorBoardSink {
    fn emit(&mut self, e: &Event) -> std::io::Result<()> {
        match e {
            Event::EpochEnd {
                epoch,
                train_loss,
                train_accuracy,
                test_loss,
                test_accuracy,
                val_accuracy,
                lr,
                train_flops,
                sparsity,
                samples,
                seconds,
                ..
            } => {
                let mut v = vec![
                    ("train/loss".to_string(), *train_loss as f32),
                    ("train/accuracy".to_string(), *train_accuracy as f32),
                    ("train/lr".to_string(), *lr as f32),
                    ("train/samples".to_string(), *samples as f32),
                    ("train/seconds".to_string(), *seconds as f32),
                    ("cost/train_flops".to_string(), *train_flops as f32),
                    ("cost/sparsity".to_string(), *sparsity as f32),
                ];
                if let Some(l) = test_loss {
                    v.push(("test/loss".into(), *l as f32));
                }
                if let Some(a) = test_accuracy {
                    v.push(("test/accuracy".into(), *a as f32));
                }
                if let Some(a) = val_accuracy {
                    v.push(("val/accuracy".into(), *a as f32));
                }
                self.scalars(*epoch, &v)
            }
            Event::Selection {
                epoch,
                size,
                seconds,
                probe_seconds,
                noisy_share,
                ..
            } => {
                let mut v = vec![
                    ("selection/size".to_string(), *size as f32),
                    ("selection/seconds".to_string(), *seconds as f32),
                    ("selection/probe_seconds".to_string(), *probe_seconds as f32),
                ];
                if let Some(n) = noisy_share {
                    v.push(("selection/noisy_share".into(), *n as f32));
                }
                self.scalars(*epoch, &v)
            }
            _ => Ok(()),
        }
    }
}

/// One scalar read back from an event file.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    /// Its tag (`test/accuracy`).
    pub tag: String,
    /// Its step (the epoch).
    pub step: i64,
    /// Its value.
    pub value: f32,
}

/// Reads every scalar of an event file, checking the CRCs of every record. A file cut in
/// the middle of a record (a run killed while writing) ends at its last whole record.
///
/// # Errors
/// A record whose length or payload fails its CRC, or a payload that is not an `Event`.
pub fn read_scalars(path: &Path) -> Result<Vec<Scalar>, String> {
    let b = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    let mut at = 0;
    while at + 12 <= b.len() {
        let len_bytes = &b[at..at + 8];
        let crc = u32::from_le_bytes(b[at + 8..at + 12].try_into().expect("4 bytes"));
        if crc != masked_crc(len_bytes) {
            return Err(format!(
                "record at byte {at}: the length's CRC does not match"
            ));
        }
        let len = u64::from_le_bytes(len_bytes.try_into().expect("8 bytes")) as usize;
        let Some(end) = (at + 12).checked_add(len).filter(|e| e + 4 <= b.len()) else {
            break; // a cut record
        };
        let payload = &b[at + 12..end];
        let crc = u32::from_le_bytes(b[end..end + 4].try_into().expect("4 bytes"));
        if crc != masked_crc(payload) {
            return Err(format!(
                "record at byte {at}: the payload's CRC does not match"
            ));
        }
        decode_event(payload, &mut out).map_err(|e| format!("record at byte {at}: {e}"))?;
        at = end + 4;
    }
    Ok(out)
}

fn read_varint(b: &[u8], at: &mut usize) -> Result<u64, String> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*at).ok_or("truncated varint")?;
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok(v);
        }
    }
    Err("varint too long".into())
}

/// One field of a protobuf message: (field number, wire type, its bytes, its varint).
type Field<'a> = (u64, u64, &'a [u8], u64);

/// The fields of a protobuf message.
fn fields(b: &[u8]) -> Result<Vec<Field<'_>>, String> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < b.len() {
        let key = read_varint(b, &mut at)?;
        let (field, wire) = (key >> 3, key & 7);
        match wire {
            0 => {
                let v = read_varint(b, &mut at)?;
                out.push((field, wire, &b[at..at], v));
            }
            1 | 5 => {
                let n = if wire == 1 { 8 } else { 4 };
                let s = b.get(at..at + n).ok_or("truncated fixed field")?;
                at += n;
                out.push((field, wire, s, 0));
            }
            2 => {
                let n = read_varint(b, &mut at)? as usize;
                let s = b.get(at..at + n).ok_or("truncated bytes field")?;
                at += n;
                out.push((field, wire, s, 0));
            }
            w => return Err(format!("unknown wire type {w}")),
        }
    }
    Ok(out)
}

fn decode_event(b: &[u8], out: &mut Vec<Scalar>) -> Result<(), String> {
    let f = fields(b)?;
    let step = f
        .iter()
        .find(|x| x.0 == 2 && x.1 == 0)
        .map_or(0, |x| x.3 as i64);
    for (_, _, summary, _) in f.iter().filter(|x| x.0 == 5 && x.1 == 2) {
        for (_, _, value, _) in fields(summary)?.iter().filter(|x| x.0 == 1 && x.1 == 2) {
            let vf = fields(value)?;
            let tag = vf
                .iter()
                .find(|x| x.0 == 1 && x.1 == 2)
                .map(|x| String::from_utf8_lossy(x.2).to_string())
                .ok_or("a value without a tag")?;
            if let Some(x) = vf.iter().find(|x| x.0 == 2 && x.1 == 5) {
                let value = f32::from_le_bytes(x.2.try_into().map_err(|_| "bad float")?);
                out.push(Scalar {
                    tag: tag.clone(),
                    step,
                    value,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_and_its_mask_match_tensorflows_known_values() {
        // CRC-32C check value of "123456789" (RFC 3720)
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
        let c: u32 = 0xe306_9283;
        assert_eq!(
            masked_crc(b"123456789"),
            c.rotate_right(15).wrapping_add(0xa282_ead8)
        );
    }

    #[test]
    fn written_scalars_read_back_and_a_flipped_byte_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = TensorBoardSink::new(dir.path());
        s.scalars(3, &[("a/b".into(), 0.5), ("c".into(), -2.0)])
            .unwrap();
        s.scalars(4, &[("a/b".into(), 0.75)]).unwrap();
        let path = s.path().unwrap().to_path_buf();
        let got = read_scalars(&path).unwrap();
        assert_eq!(
            got,
            vec![
                Scalar {
                    tag: "a/b".into(),
                    step: 3,
                    value: 0.5
                },
                Scalar {
                    tag: "c".into(),
                    step: 3,
                    value: -2.0
                },
                Scalar {
                    tag: "a/b".into(),
                    step: 4,
                    value: 0.75
                },
            ]
        );
        let mut b = std::fs::read(&path).unwrap();
        let n = b.len();
        b[n - 6] ^= 1;
        std::fs::write(&path, &b).unwrap();
        assert!(read_scalars(&path).unwrap_err().contains("CRC"));
        // a record cut short is where the file ends
        std::fs::write(&path, &b[..n - 3]).unwrap();
        assert_eq!(read_scalars(&path).unwrap().len(), 2);
    }
}
