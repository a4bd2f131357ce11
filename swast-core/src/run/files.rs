//! The names of a run folder's files.

/// The resolved config.
pub const CONFIG: &str = "config.toml";
/// One JSON event per line.
pub const METRICS: &str = "metrics.jsonl";
/// The final summary.
pub const SUMMARY: &str = "summary.json";
/// The latest checkpoint (model, optimizer, RNG streams, epoch).
pub const CHECKPOINT: &str = "checkpoint.bin";
/// The checkpoint before it, kept so a corrupted newest one does not lose the run.
pub const PREVIOUS: &str = "checkpoint.prev.bin";
/// Held while a process uses the folder (host and PID).
pub const LOCK: &str = super::lock::LOCK;
/// Per-layer mask summary at the end of a pruned run.
pub const MASKS: &str = "masks.json";
/// One JSON file per selection round.
pub const CORESETS: &str = "coresets";
