//! Errors of a run.

use crate::checkpoint::CheckpointError;
use crate::config::ConfigError;
use crate::coreset::SelectError;
use crate::prune::PruneError;
use crate::train::TrainError;
use std::path::{Path, PathBuf};
use swast_data::DataError;

/// Errors of a run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Bad config.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Bad or missing data.
    #[error(transparent)]
    Data(#[from] DataError),
    /// Training failed.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// A run file could not be written.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A file could not be read or written.
    #[error("{path}: {source}; {}", crate::checkpoint::io_fix(source))]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Stopped on request (Ctrl-C) at an epoch boundary, checkpoint written.
    #[error(
        "interrupted after {epochs_done} epochs; the checkpoint is saved: run the same command again to resume"
    )]
    Interrupted {
        /// Epochs completed and checkpointed.
        epochs_done: usize,
    },
    /// The output folder holds a different run.
    #[error(
        "{dir} already holds a run with a different config; pass another --out folder or delete that one"
    )]
    DifferentRun {
        /// The folder.
        dir: PathBuf,
    },
    /// Another process is using the run folder.
    #[error(
        "{dir} is in use by {holder} (lock file {lock}); wait for that run to finish, or, if that process is gone, delete the lock file and run again"
    )]
    Locked {
        /// The folder.
        dir: PathBuf,
        /// Who holds it: "process PID on HOST".
        holder: String,
        /// The lock file.
        lock: PathBuf,
    },
    /// The run folder's lock file is not one swast wrote (garbage, a folder, a link).
    #[error(
        "{lock} is not a run lock ({what}); if no swast run uses {dir}, remove it (`rm -r {lock}`) and run again"
    )]
    BadLock {
        /// The folder.
        dir: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// What was found instead.
        what: String,
    },
    /// The run folder (`--out`), or a folder above it, is a file.
    #[error(
        "cannot create the run folder {dir}: {path} is a file, not a folder; pass another --out folder (it is created when missing) or move the file"
    )]
    NotAFolder {
        /// The run folder asked for.
        dir: PathBuf,
        /// The file in the way (the folder itself or one above it).
        path: PathBuf,
    },
    /// The pruner could not be built.
    #[error(transparent)]
    Prune(#[from] PruneError),
    /// The selector failed.
    #[error(transparent)]
    Select(#[from] SelectError),
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Io {
        path: path.to_path_buf(),
        source,
    }
}
