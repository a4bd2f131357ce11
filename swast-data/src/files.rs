//! Writing a file so that a reader never sees it half-written: the one implementation
//! behind swast's checkpoints, run files and decoded-image caches.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The temporary sibling `write_atomic` writes `path` through: `.<name>.<pid>.tmp`.
pub fn temp_sibling(path: &Path) -> PathBuf {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.join(format!(".{name}.{}.tmp", std::process::id()))
}

/// Writes `path` through `write` into a temporary sibling that is synced, then renamed over
/// `path` (and the folder synced). On failure the previous content of `path` is untouched
/// and the temporary file removed.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let tmp = temp_sibling(path);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        write(&mut f)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        let dir = tmp.parent().unwrap_or(Path::new("."));
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// [`write_atomic_with`] for bytes in memory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |f| f.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_and_leaves_no_temporary_file() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("x.bin");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        // a failing writer keeps the old content and removes its temporary file
        let e = write_atomic_with(&p, |_| Err(std::io::Error::other("disk full")));
        assert!(e.is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
    }
}
