//! Typed errors for every way a dataset can be missing or malformed.

use std::path::PathBuf;

/// Everything that can go wrong while reading or preparing a dataset.
///
/// Every variant names the file (or dataset), what was expected and what was found, so the
/// message alone tells a user what to fix.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// None of the accepted file names exists.
    #[error(
        "missing data file in {dir}: expected one of [{expected}]; fetch the data with `cargo xtask fetch-data` or point `data.dir` at the folder that holds it"
    )]
    Missing {
        /// The folder searched.
        dir: PathBuf,
        /// The accepted names, comma separated.
        expected: String,
    },
    /// The data folder itself does not exist.
    #[error(
        "data folder {dir} does not exist; fetch the data with `cargo xtask fetch-data` or set `data.dir` to the folder that holds {dataset}"
    )]
    MissingDir {
        /// The folder.
        dir: PathBuf,
        /// The dataset looked for.
        dataset: String,
    },
    /// The file is shorter (or longer) than its header says.
    #[error(
        "{path}: truncated or padded file: expected {expected} bytes, found {found}; download it again (`cargo xtask fetch-data`)"
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Expected byte count.
        expected: u64,
        /// Actual byte count.
        found: u64,
    },
    /// The magic number of an IDX file is not the one for its kind.
    #[error(
        "{path}: wrong magic number: expected {expected:#010x} ({what}), found {found:#010x}; check that `data.dir` holds this dataset's files, or download them again"
    )]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The expected magic number.
        expected: u32,
        /// The magic number found.
        found: u32,
        /// What the file should hold.
        what: &'static str,
    },
    /// Images and labels disagree on the number of samples.
    #[error(
        "{images_path}: {images} images but {labels_path} has {labels} labels; the two files come from different or broken downloads: download both again"
    )]
    CountMismatch {
        /// The image file.
        images_path: PathBuf,
        /// Number of images.
        images: usize,
        /// The label file.
        labels_path: PathBuf,
        /// Number of labels.
        labels: usize,
    },
    /// A label is not a valid class index.
    #[error(
        "{path}: label {label} of sample {index} is out of range: expected 0..{classes}; the file is corrupt or of another dataset: check `data.dataset` and download it again"
    )]
    LabelOutOfRange {
        /// The file.
        path: PathBuf,
        /// The sample index.
        index: usize,
        /// The label found.
        label: i64,
        /// The number of classes.
        classes: usize,
    },
    /// A record-based file whose size is not a whole number of records.
    #[error(
        "{path}: size {size} bytes is not a multiple of the {record}-byte record: truncated or not a {format} file; download the binary version again"
    )]
    BadRecordSize {
        /// The file.
        path: PathBuf,
        /// File size.
        size: u64,
        /// Record size.
        record: usize,
        /// Format name.
        format: &'static str,
    },
    /// A malformed CSV line.
    #[error("{path}:{line}: {message}; fix that line or download the file again")]
    Csv {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The file is not valid gzip data.
    #[error("{path}: corrupt gzip stream: {source}; download it again or unpack it by hand")]
    Gzip {
        /// The file.
        path: PathBuf,
        /// The decoder error.
        source: std::io::Error,
    },
    /// A dataset that is empty or otherwise unusable.
    #[error("dataset {name}: {message}")]
    Invalid {
        /// The dataset.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// An image file or image folder that cannot be used.
    #[error("{path}: {message}")]
    Image {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// An unknown dataset name.
    #[error(
        "unknown dataset `{0}`: expected one of embedded, digits, mnist, fashion-mnist, cifar10, cifar100, folder"
    )]
    UnknownDataset(String),
    /// A bad argument to a data operation (fraction out of range, …).
    #[error("{0}")]
    BadArgument(String),
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, DataError>;
