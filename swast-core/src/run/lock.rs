//! One process per run folder: `run.lock` holds the host and PID of the process using the
//! folder, created atomically (`create_new`) and removed when the run ends. A second process
//! is refused with an error naming the holder; a lock whose process is gone on this host (a
//! killed job) is taken over with a warning. On another host liveness cannot be checked, so
//! such a lock is only reported.

use super::error::RunError;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The lock file's name inside a run folder.
pub const LOCK: &str = "run.lock";

/// An empty lock older than this was left by a process killed while it wrote it.
const EMPTY_LOCK_STALE: std::time::Duration = std::time::Duration::from_secs(10);

/// A held run-folder lock, released on drop.
#[derive(Debug)]
pub(crate) struct RunLock {
    path: PathBuf,
    mine: String,
}

/// This machine's host name (`/proc/sys/kernel/hostname`, `/etc/hostname`, `$HOSTNAME`).
fn host() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into())
}

/// `(host, pid)` of a lock file's text.
fn holder(text: &str) -> Option<(String, u32)> {
    let mut host = None;
    let mut pid = None;
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("host=") {
            host = Some(h.trim().to_string());
        } else if let Some(p) = line.strip_prefix("pid=") {
            pid = p.trim().parse().ok();
        }
    }
    Some((host?, pid?))
}

/// Whether process `pid` is gone, when that can be known (on Linux, through `/proc`).
fn gone(pid: u32) -> bool {
    let proc = Path::new("/proc");
    proc.join("self").exists() && !proc.join(pid.to_string()).exists()
}

impl RunLock {
    /// Takes the lock of `dir` (which exists).
    pub(crate) fn acquire(dir: &Path) -> Result<Self, RunError> {
        let path = dir.join(LOCK);
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mine = format!(
            "host={}\npid={}\nstarted={started}\n",
            host(),
            std::process::id()
        );
        let io = |source| RunError::Io {
            path: path.clone(),
            source,
        };
        let bad = |what: String| RunError::BadLock {
            dir: dir.to_path_buf(),
            lock: path.clone(),
            what,
        };
        // two tries: the second after a stale lock was moved out of the way
        for _ in 0..2 {
            if let Ok(m) = std::fs::symlink_metadata(&path)
                && !m.is_file()
            {
                return Err(bad(if m.is_dir() {
                    "it is a folder".into()
                } else if m.file_type().is_symlink() {
                    "it is a symbolic link".into()
                } else {
                    "it is not a regular file".into()
                }));
            }
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    f.write_all(mine.as_bytes()).map_err(io)?;
                    f.sync_all().map_err(io)?;
                    return Ok(Self { path, mine });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(e)),
            }
            let text = match std::fs::read(&path) {
                Ok(b) => match String::from_utf8(b) {
                    Ok(t) => t,
                    Err(_) => return Err(bad("it holds bytes that are not text".into())),
                },
                // removed since: try again
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(bad(format!("it cannot be read: {e}"))),
            };
            let stale = match holder(&text) {
                Some((h, pid)) => h == host() && gone(pid),
                // a process killed between creating the lock and writing it leaves it
                // empty: stale once older than a writer could take
                None if text.is_empty() => {
                    let age = std::fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok());
                    if age.is_none_or(|a| a <= EMPTY_LOCK_STALE) {
                        return Err(locked(dir, &path, &text));
                    }
                    true
                }
                None => {
                    return Err(bad(format!(
                        "it holds no `host=` and `pid=` lines: {:?}",
                        text.chars().take(60).collect::<String>()
                    )));
                }
            };
            if !stale {
                return Err(locked(dir, &path, &text));
            }
            // the holder is dead: move its lock aside under a name of our own, check that it
            // is still the one we judged (not a live process's fresh lock), then retry
            let aside = dir.join(format!(".{LOCK}.{}.stale", std::process::id()));
            std::fs::rename(&path, &aside).map_err(io)?;
            let moved = std::fs::read_to_string(&aside).unwrap_or_default();
            if moved != text {
                let _ = std::fs::rename(&aside, &path);
                return Err(locked(dir, &path, &moved));
            }
            let _ = std::fs::remove_file(&aside);
            tracing::warn!(
                "{}: took over the lock of {}, which is gone (a killed run); resuming from its last checkpoint",
                dir.display(),
                holder(&text).map_or(
                    "a process killed while it wrote it".into(),
                    |(h, pid)| format!("process {pid} on {h}")
                )
            );
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        Err(locked(dir, &path, &text))
    }
}

fn locked(dir: &Path, path: &Path, text: &str) -> RunError {
    let who = match holder(text) {
        Some((h, pid)) => format!("process {pid} on {h}"),
        None => "a process that is starting (its lock is still empty)".into(),
    };
    RunError::Locked {
        dir: dir.to_path_buf(),
        holder: who,
        lock: path.to_path_buf(),
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // only our own lock: never one a later process took over
        if std::fs::read_to_string(&self.path).is_ok_and(|t| t == self.mine) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_a_dead_one_taken_over() {
        let t = tempfile::tempdir().unwrap();
        let a = RunLock::acquire(t.path()).unwrap();
        let text = std::fs::read_to_string(t.path().join(LOCK)).unwrap();
        assert_eq!(holder(&text), Some((host(), std::process::id())), "{text}");
        // the same folder again (this process is alive): refused, naming the holder
        let e = RunLock::acquire(t.path()).unwrap_err().to_string();
        assert!(
            e.contains(&format!("process {}", std::process::id())),
            "{e}"
        );
        drop(a);
        assert!(!t.path().join(LOCK).exists(), "released on drop");
        // a lock left by a process that is gone on this host is taken over
        let dead = u32::MAX - 7;
        std::fs::write(
            t.path().join(LOCK),
            format!("host={}\npid={dead}\nstarted=0\n", host()),
        )
        .unwrap();
        let b = RunLock::acquire(t.path()).unwrap();
        let now = std::fs::read_to_string(t.path().join(LOCK)).unwrap();
        assert_eq!(holder(&now).unwrap().1, std::process::id());
        drop(b);
        // another host's lock is never taken over
        std::fs::write(
            t.path().join(LOCK),
            format!("host=elsewhere-{}\npid={dead}\nstarted=0\n", host()),
        )
        .unwrap();
        let e = RunLock::acquire(t.path()).unwrap_err().to_string();
        assert!(e.contains("on elsewhere-"), "{e}");
        assert!(t.path().join(LOCK).exists());
    }

    #[test]
    fn a_lock_that_is_not_one_gets_its_own_message_and_is_never_called_in_use() {
        let t = tempfile::tempdir().unwrap();
        let lock = t.path().join(LOCK);
        // garbage
        std::fs::write(&lock, "hello\nworld\n").unwrap();
        let e = RunLock::acquire(t.path()).unwrap_err();
        assert!(matches!(e, RunError::BadLock { .. }), "{e}");
        let m = e.to_string();
        assert!(
            m.contains("not a run lock") && m.contains("no `host=`"),
            "{m}"
        );
        assert!(!m.contains("in use"), "{m}");
        // bytes that are not text
        std::fs::write(&lock, [0xff, 0xfe, 0x00]).unwrap();
        let m = RunLock::acquire(t.path()).unwrap_err().to_string();
        assert!(m.contains("not text"), "{m}");
        // a folder named run.lock
        std::fs::remove_file(&lock).unwrap();
        std::fs::create_dir(&lock).unwrap();
        let m = RunLock::acquire(t.path()).unwrap_err().to_string();
        assert!(m.contains("it is a folder") && m.contains("rm -r"), "{m}");
        std::fs::remove_dir(&lock).unwrap();
        // an empty lock: a process starting (refused) or killed while writing (taken over
        // once old)
        std::fs::write(&lock, "").unwrap();
        let m = RunLock::acquire(t.path()).unwrap_err().to_string();
        assert!(m.contains("starting"), "{m}");
        let old = std::time::SystemTime::now() - 2 * EMPTY_LOCK_STALE;
        std::fs::File::options()
            .write(true)
            .open(&lock)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let held = RunLock::acquire(t.path()).unwrap();
        drop(held);
        assert!(!lock.exists());
    }
}
