//! Atomic files and the checkpoint container.
//!
//! A checkpoint is one file: a magic tag, then length-prefixed sections (a JSON state, the
//! model record, the optimizer record, …), then an FNV-1a checksum of everything before it.
//! It is written to a temporary file in the same folder, synced, and renamed over the old one,
//! so a crash at any moment leaves either the previous checkpoint or the new one, never a
//! torn file.

use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"SWASTCK1";

/// What to do about a failed write, by its cause.
pub fn io_fix(e: &std::io::Error) -> &'static str {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::StorageFull | K::FileTooLarge | K::QuotaExceeded => {
            "the disk is full (or a file size limit was hit): free space, then run the same command again; the run resumes from its last checkpoint, which is intact"
        }
        K::PermissionDenied | K::ReadOnlyFilesystem => {
            "the folder is not writable: fix its permissions or pass another --out folder"
        }
        K::NotADirectory | K::NotFound => {
            "a part of the path is missing or is a file: pass another --out folder"
        }
        _ => "check that the folder exists, is writable and has free space",
    }
}

/// Errors reading or writing checkpoints and other run files.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// An I/O failure (disk full, permission denied, …).
    #[error("cannot write {path}: {source}; {}", io_fix(source))]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file could not be read.
    #[error("cannot read checkpoint {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a swast checkpoint or is damaged.
    #[error("checkpoint {path} is corrupt ({reason}); delete it to restart the run from scratch")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

use swast_data::hash::fnv1a;

/// Writes `bytes` to `path` atomically: a temporary sibling is written and synced, then
/// renamed over `path`. On failure the previous content of `path` is untouched and the
/// temporary file removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    swast_data::files::write_atomic(path, bytes).map_err(|source| CheckpointError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Removes the temporary files [`write_atomic`] left in `dir` when its process was killed
/// mid-write (`.<name>.<pid>.tmp` whose process is gone); the files they were meant to
/// replace are untouched. Returns how many were removed.
pub fn remove_stale_temps(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else {
            continue;
        };
        let Some(pid) = stem
            .rsplit_once('.')
            .and_then(|(_, p)| p.parse::<u32>().ok())
        else {
            continue;
        };
        let alive = pid != std::process::id()
            && Path::new("/proc").is_dir()
            && Path::new("/proc").join(pid.to_string()).exists();
        if !alive && std::fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Packs sections into the checkpoint container format.
pub fn pack(sections: &[&[u8]]) -> Vec<u8> {
    let total: usize = sections.iter().map(|s| s.len() + 8).sum();
    let mut out = Vec::with_capacity(total + 24);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(sections.len() as u64).to_le_bytes());
    for s in sections {
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s);
    }
    let sum = fnv1a(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// Unpacks a container written by [`pack`], verifying magic, lengths and checksum.
pub fn unpack(path: &Path, bytes: &[u8]) -> Result<Vec<Vec<u8>>, CheckpointError> {
    let corrupt = |reason: &str| CheckpointError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    if bytes.len() < 24 || &bytes[..8] != MAGIC {
        return Err(corrupt("not a swast checkpoint: bad header"));
    }
    let (body, tail) = bytes.split_at(bytes.len() - 8);
    let want = u64::from_le_bytes(tail.try_into().expect("8 bytes"));
    if fnv1a(body) != want {
        return Err(corrupt(
            "checksum mismatch: the file was truncated or modified",
        ));
    }
    let read_u64 = |at: usize| -> Option<u64> {
        body.get(at..at + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    };
    let n = read_u64(8).ok_or_else(|| corrupt("no section count"))? as usize;
    let mut at = 16;
    let mut out = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        let len = read_u64(at).ok_or_else(|| corrupt("section header cut short"))? as usize;
        at += 8;
        let s = body
            .get(
                at..at
                    .checked_add(len)
                    .ok_or_else(|| corrupt("section too long"))?,
            )
            .ok_or_else(|| corrupt("section cut short"))?;
        out.push(s.to_vec());
        at += len;
    }
    if at != body.len() {
        return Err(corrupt("trailing bytes after the last section"));
    }
    Ok(out)
}

/// Reads and unpacks a checkpoint file.
pub fn read(path: &Path) -> Result<Vec<Vec<u8>>, CheckpointError> {
    let bytes = std::fs::read(path).map_err(|source| CheckpointError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    unpack(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn pack_unpack_round_trip(sections in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..5)) {
            let refs: Vec<&[u8]> = sections.iter().map(Vec::as_slice).collect();
            let packed = pack(&refs);
            prop_assert_eq!(unpack(Path::new("x"), &packed).unwrap(), sections);
        }

        #[test]
        fn any_truncation_or_bit_flip_is_detected(cut in 1usize..40, flip in 0usize..40) {
            let packed = pack(&[b"state", b"model bytes here"]);
            let cut = cut.min(packed.len());
            prop_assert!(unpack(Path::new("x"), &packed[..packed.len() - cut]).is_err());
            let mut bad = packed.clone();
            let i = flip % bad.len();
            bad[i] ^= 0x10;
            prop_assert!(unpack(Path::new("x"), &bad).is_err());
        }
    }

    #[test]
    fn stale_temps_of_killed_writers_are_removed_and_nothing_else() {
        let t = tempfile::tempdir().unwrap();
        // pid 4194304 is above Linux's pid_max, so no process has it
        std::fs::write(t.path().join(".checkpoint.bin.4194304.tmp"), b"half").unwrap();
        std::fs::write(t.path().join("checkpoint.bin"), b"whole").unwrap();
        std::fs::write(t.path().join(".hidden"), b"keep").unwrap();
        std::fs::write(t.path().join("notes.tmp"), b"keep").unwrap();
        assert_eq!(remove_stale_temps(t.path()), 1);
        let mut left: Vec<String> = std::fs::read_dir(t.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, [".hidden", "checkpoint.bin", "notes.tmp"]);
        assert_eq!(remove_stale_temps(&t.path().join("missing")), 0);
    }

    #[test]
    fn write_atomic_replaces_and_leaves_no_temp() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("ck.bin");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
        // a folder that does not exist: error, nothing created
        let e = write_atomic(&t.path().join("nope/ck.bin"), b"x").unwrap_err();
        assert!(e.to_string().contains("cannot write"), "{e}");
    }
}
