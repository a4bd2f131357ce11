//! Image-folder datasets (`data.dataset = "folder"`): the ImageFolder layout of torchvision,
//! TinyImageNet and most users' own data.
//!
//! ```text
//! root/train/<class>/**/*.{png,jpg,jpeg}     one folder per class (sorted names = class ids)
//! root/test/<class>/**/*.{png,jpg,jpeg}      or val/<class>/…, the same classes
//! root/val/images/*.JPEG + val/val_annotations.txt   (TinyImageNet: `file<TAB>class…`)
//! ```
//!
//! Images are decoded with the `image` crate (PNG and JPEG), brought to `image_size`×
//! `image_size` by scaling the shorter side to `image_size` and cropping the centre (0 keeps
//! the files' own size, which must then be the same for all), and kept as bytes: grayscale
//! when no training image has colour, RGB otherwise. Decoding runs on every core.
//!
//! The decoded splits are cached in `root/.swast-cache/` as one binary file keyed by the file
//! list (names, sizes, modification times), the image size and the format version, so a second
//! run reads them back instead of decoding again. A cache that is stale, damaged or from
//! another version is rebuilt; one that cannot be written (read-only data, disk full) is
//! skipped with a warning, and the run goes on.

use crate::dataset::{Dataset, Pixels, Splits};
use crate::error::{DataError, Result};
use crate::hash::Fnv;
use image::imageops::FilterType;
use image::{DynamicImage, GenericImageView, ImageFormat};
use rayon::prelude::*;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// How a folder dataset is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FolderOptions {
    /// Side of the square images (shorter side scaled to it, centre cropped); 0 keeps the
    /// files' own size, which must then be the same for every image.
    pub image_size: usize,
    /// Read and write the decoded cache in `root/.swast-cache/`.
    pub cache: bool,
}

/// The cache folder inside a dataset root.
pub const CACHE_DIR: &str = ".swast-cache";
const CACHE_MAGIC: &[u8; 8] = b"SWASTIMG";
const CACHE_VERSION: u32 = 1;
const EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// One labelled image file.
#[derive(Debug, Clone)]
struct Entry {
    path: PathBuf,
    label: u16,
}

/// The files of both splits, before decoding.
#[derive(Debug)]
struct Layout {
    /// The dataset's folder.
    root: PathBuf,
    classes: Vec<String>,
    train: Vec<Entry>,
    test: Vec<Entry>,
    /// `test` or `val`, for the dataset's name and messages.
    test_dir: &'static str,
}

fn bad(path: &Path, message: impl Into<String>) -> DataError {
    DataError::Image {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DataError + '_ {
    move |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn is_image(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Names starting with `.` (checked on the raw bytes, so a non-UTF-8 name is judged too).
fn hidden(p: &Path) -> bool {
    p.file_name()
        .is_some_and(|n| n.as_encoded_bytes().first() == Some(&b'.'))
}

/// What identifies a file or folder on disk: device and inode, so that two paths to one
/// file (links, bind mounts) are seen as one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FileId(u64, u64);

#[cfg(unix)]
fn file_id(_: &Path, m: &std::fs::Metadata) -> FileId {
    use std::os::unix::fs::MetadataExt;
    FileId(m.dev(), m.ino())
}

#[cfg(not(unix))]
fn file_id(p: &Path, _: &std::fs::Metadata) -> FileId {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::fs::canonicalize(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .hash(&mut h);
    FileId(0, h.finish())
}

/// Sorted subfolders of `dir` (hidden ones skipped), by their names' raw bytes. A link to
/// a folder counts here (a split's class folders may be links); deeper, links to folders
/// are not followed ([`images_under`]).
fn subdirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(io(dir))? {
        let p = e.map_err(io(dir))?.path();
        if p.is_dir() && !hidden(&p) {
            out.push(p);
        }
    }
    // on one parent, paths compare by their last component's bytes
    out.sort_by(|a, b| {
        let key = |p: &Path| p.file_name().map(|n| n.as_encoded_bytes().to_vec());
        key(a).cmp(&key(b))
    });
    Ok(out)
}

/// One image file found by the walk.
#[derive(Debug, Clone)]
struct Found {
    path: PathBuf,
    id: FileId,
    /// Reached through a symbolic link to a file.
    linked: bool,
}

/// Every image file under `dir`, at any depth, sorted by path. Each real folder is walked
/// once (`visited`, by device and inode: a bind mount or a link to an ancestor cannot loop);
/// links to folders below `dir` are not followed (a link to a parent or to another class's
/// folder would count images twice or under another class's label); links to files are
/// kept, marked, so that a file the tree also holds for real is counted once
/// ([`dedup`]). Broken links are skipped with a warning.
fn images_under(dir: &Path, visited: &mut std::collections::HashSet<FileId>) -> Result<Vec<Found>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    let mut skipped_links = 0usize;
    while let Some(d) = stack.pop() {
        let meta = std::fs::metadata(&d).map_err(io(&d))?;
        if !visited.insert(file_id(&d, &meta)) {
            tracing::warn!(
                "{}: this folder was already read (a bind mount or a loop); its images are counted once",
                d.display()
            );
            continue;
        }
        for e in std::fs::read_dir(&d).map_err(io(&d))? {
            let e = e.map_err(io(&d))?;
            let p = e.path();
            if hidden(&p) {
                continue;
            }
            let ft = e.file_type().map_err(io(&p))?;
            if ft.is_symlink() {
                match std::fs::metadata(&p) {
                    Ok(m) if m.is_dir() => skipped_links += 1,
                    Ok(m) if m.is_file() && is_image(&p) => out.push(Found {
                        id: file_id(&p, &m),
                        path: p,
                        linked: true,
                    }),
                    Ok(_) => {}
                    Err(err) => tracing::warn!("{}: a broken link ({err}); skipped", p.display()),
                }
            } else if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() && is_image(&p) {
                let m = e.metadata().map_err(io(&p))?;
                out.push(Found {
                    id: file_id(&p, &m),
                    path: p,
                    linked: false,
                });
            }
        }
    }
    if skipped_links > 0 {
        tracing::warn!(
            "{}: {skipped_links} link(s) to folders inside the class folder were not followed; put the images themselves (or links to files) in the class folder",
            dir.display()
        );
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// A file's name for messages: lossy when it is not UTF-8 (never used as a key).
fn name_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A class folder's key: its name's raw bytes.
fn key_of(p: &Path) -> Vec<u8> {
    p.file_name()
        .map(|n| n.as_encoded_bytes().to_vec())
        .unwrap_or_default()
}

/// The classes of a split's class folders: raw-byte keys in sorted order (a class's label
/// is its position) and display names. Two folders whose display names collide (names
/// that are not UTF-8 and read the same after lossy conversion) are an error naming both.
fn class_names(dirs: &[PathBuf]) -> Result<(Vec<Vec<u8>>, Vec<String>)> {
    let keys: Vec<Vec<u8>> = dirs.iter().map(|d| key_of(d)).collect();
    let names: Vec<String> = dirs.iter().map(|d| name_of(d)).collect();
    let mut first: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, n) in names.iter().enumerate() {
        if let Some(&j) = first.get(n.as_str()) {
            return Err(bad(
                &dirs[i],
                format!(
                    "class folders {:?} and {:?} read the same (`{n}`) once their names are shown as UTF-8; rename one of them (class names must be distinct as text)",
                    dirs[j].file_name().unwrap_or_default(),
                    dirs[i].file_name().unwrap_or_default()
                ),
            ));
        }
        first.insert(n, i);
    }
    Ok((keys, names))
}

/// Keeps one entry per real file: a file reached both for real and through links is kept
/// where it really is; among several real paths (hard links) or several links, the first in
/// path order. Returns how many entries were dropped.
fn dedup(entries: &mut Vec<(Found, u16)>) -> usize {
    let mut best: std::collections::HashMap<FileId, usize> = std::collections::HashMap::new();
    for (i, (f, _)) in entries.iter().enumerate() {
        match best.get(&f.id) {
            Some(&j) if entries[j].0.linked && !f.linked => {
                best.insert(f.id, i);
            }
            Some(_) => {}
            None => {
                best.insert(f.id, i);
            }
        }
    }
    let before = entries.len();
    let keep: std::collections::HashSet<usize> = best.into_values().collect();
    let mut i = 0;
    entries.retain(|_| {
        i += 1;
        keep.contains(&(i - 1))
    });
    before - entries.len()
}

/// The files of the class folders `dirs` (a split's subfolders), each of a class in `classes`
/// (raw-byte keys), each real file once.
fn class_folders(dirs: Vec<PathBuf>, classes: &[Vec<u8>]) -> Result<Vec<Entry>> {
    let mut found = Vec::new();
    let mut visited = std::collections::HashSet::new();
    for dir in dirs {
        let name = name_of(&dir);
        let Some(label) = classes.iter().position(|c| *c == key_of(&dir)) else {
            return Err(bad(
                &dir,
                format!(
                    "`{name}` is not a class of the training split (train/ has {} class folders); rename or remove the folder",
                    classes.len()
                ),
            ));
        };
        let files = images_under(&dir, &mut visited)?;
        if files.is_empty() {
            return Err(bad(
                &dir,
                "class folder has no .png, .jpg or .jpeg images (links to folders are not followed); add images or remove the folder",
            ));
        }
        found.extend(files.into_iter().map(|f| (f, label as u16)));
    }
    let dropped = dedup(&mut found);
    if dropped > 0 {
        tracing::warn!(
            "{dropped} image path(s) led to a file already counted (links, hard links); each file is counted once"
        );
    }
    Ok(found
        .into_iter()
        .map(|(f, label)| Entry {
            path: f.path,
            label,
        })
        .collect())
}

/// TinyImageNet's validation layout: `val_annotations.txt` lines `file<TAB>class<TAB>…`,
/// images in `images/`.
fn annotations(split_dir: &Path, classes: &[Vec<u8>]) -> Result<Vec<Entry>> {
    let ann = split_dir.join("val_annotations.txt");
    let text = std::fs::read_to_string(&ann).map_err(io(&ann))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let csv_err = |message: String| DataError::Csv {
            path: ann.clone(),
            line: i + 1,
            message,
        };
        let mut f = line.split('\t');
        let (Some(file), Some(class)) = (f.next(), f.next()) else {
            return Err(csv_err("expected `file<TAB>class`, found one field".into()));
        };
        let Some(label) = classes
            .iter()
            .position(|c| c.as_slice() == class.as_bytes())
        else {
            return Err(csv_err(format!(
                "class `{class}` is not a folder of train/"
            )));
        };
        let path = split_dir.join("images").join(file);
        if !path.is_file() {
            return Err(csv_err(format!("{} does not exist", path.display())));
        }
        out.push(Entry {
            path,
            label: label as u16,
        });
    }
    if out.is_empty() {
        return Err(bad(&ann, "lists no image; the file is empty or truncated"));
    }
    Ok(out)
}

fn layout(root: &Path) -> Result<Layout> {
    let train_dir = root.join("train");
    if !train_dir.is_dir() {
        return Err(bad(
            root,
            "no train/ folder: a folder dataset needs train/<class>/*.png|jpg and test/ or val/ beside it; point `data.dir` at that folder",
        ));
    }
    let class_dirs = subdirs(&train_dir)?;
    if class_dirs.is_empty() {
        return Err(bad(
            &train_dir,
            "no class folders: put each class's images in train/<class>/",
        ));
    }
    let (keys, classes) = class_names(&class_dirs)?;
    crate::limits::check_classes(&train_dir, classes.len())?;
    let train = class_folders(class_dirs, &keys)?;
    for name in ["test", "val"] {
        let d = root.join(name);
        if !d.is_dir() {
            continue;
        }
        let test = if d.join("val_annotations.txt").is_file() {
            annotations(&d, &keys)?
        } else {
            let dirs = subdirs(&d)?;
            if !dirs.iter().any(|s| keys.contains(&key_of(s))) {
                // e.g. TinyImageNet's test/: images without labels
                continue;
            }
            class_folders(dirs, &keys)?
        };
        return Ok(Layout {
            root: root.to_path_buf(),
            classes,
            train,
            test,
            test_dir: name,
        });
    }
    Err(bad(
        root,
        "no labelled test/ or val/ folder: add test/<class>/ (or val/<class>/, or val/images with val/val_annotations.txt)",
    ))
}

/// One decoded image, already brought to the dataset's size.
struct Decoded {
    img: DynamicImage,
    color: bool,
}

fn decode(path: &Path, size: usize) -> Result<Decoded> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    // by contents, not by the name: a text file called .png is not an image
    let format = match image::guess_format(&bytes) {
        Ok(f @ (ImageFormat::Png | ImageFormat::Jpeg)) => f,
        Ok(_) | Err(_) if bytes.is_empty() => {
            return Err(bad(path, "empty file; delete or replace it"));
        }
        _ => {
            return Err(bad(
                path,
                "not a PNG or JPEG image (unrecognised contents); delete or replace the file",
            ));
        }
    };
    let img = image::load_from_memory_with_format(&bytes, format).map_err(|e| {
        // the decoders' messages may span lines: keep the error on one
        let e = e
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        bad(
            path,
            format!("cannot decode: {e}; the file is truncated or damaged: delete or replace it"),
        )
    })?;
    let color = img.color().has_color();
    Ok(Decoded {
        img: fit(img, size),
        color,
    })
}

/// Scales the shorter side to `size` and crops the centre square; `size` 0 keeps the image.
fn fit(img: DynamicImage, size: usize) -> DynamicImage {
    if size == 0 {
        return img;
    }
    let s = size as u32;
    let (w, h) = img.dimensions();
    if (w, h) == (s, s) {
        return img;
    }
    let scale = f64::from(s) / f64::from(w.min(h));
    let nw = ((f64::from(w) * scale).round() as u32).max(s);
    let nh = ((f64::from(h) * scale).round() as u32).max(s);
    let resized = img.resize_exact(nw, nh, FilterType::Triangle);
    resized.crop_imm((nw - s) / 2, (nh - s) / 2, s, s)
}

fn decode_all(entries: &[Entry], size: usize) -> Result<Vec<Decoded>> {
    let results: Vec<Result<Decoded>> = entries.par_iter().map(|e| decode(&e.path, size)).collect();
    // the first failing file in sorted order, whatever thread saw it first
    results.into_iter().collect()
}

/// Pixels (CHW, sample-major) of decoded images that must all be `w`×`h`.
/// Each image is dropped once copied, so the decoded images and the pixels are not both held
/// in full.
fn to_pixels(
    entries: &[Entry],
    images: Vec<Decoded>,
    channels: usize,
    (w, h): (u32, u32),
) -> Result<Vec<u8>> {
    let plane = (w * h) as usize;
    let mut out = vec![0u8; images.len() * channels * plane];
    for (k, (d, e)) in images.into_iter().zip(entries).enumerate() {
        let (iw, ih) = d.img.dimensions();
        if (iw, ih) != (w, h) {
            return Err(bad(
                &e.path,
                format!(
                    "image is {iw}x{ih} where the first training image is {w}x{h}; set `data.image_size` (e.g. {}) to resize every image to one size",
                    w.min(h)
                ),
            ));
        }
        let dst = &mut out[k * channels * plane..(k + 1) * channels * plane];
        if channels == 1 {
            dst.copy_from_slice(d.img.to_luma8().as_raw());
        } else {
            let rgb = d.img.to_rgb8();
            for (p, px) in rgb.as_raw().chunks_exact(3).enumerate() {
                for c in 0..3 {
                    dst[c * plane + p] = px[c];
                }
            }
        }
    }
    Ok(out)
}

/// Decoded splits: what the cache holds.
#[derive(Debug, Clone, PartialEq)]
struct Decoded2 {
    shape: [usize; 3],
    classes: Vec<String>,
    test_dir: String,
    train: (Vec<u16>, Vec<u8>),
    test: (Vec<u16>, Vec<u8>),
}

fn decode_layout(l: &Layout, size: usize) -> Result<Decoded2> {
    crate::limits::check_image_size(size)?;
    if size > 0 {
        // decoded (RGB at worst) and copied into one block: twice the pixels at the peak
        let n = (l.train.len() + l.test.len()) as u128;
        crate::limits::check_allocation(
            &l.root,
            &format!("decoding {n} images at {size}x{size}"),
            2 * n * 3 * (size as u128).pow(2),
        )?;
    }
    let train = decode_all(&l.train, size)?;
    let test = decode_all(&l.test, size)?;
    let channels = if train.iter().any(|d| d.color) { 3 } else { 1 };
    let dims = train[0].img.dimensions();
    let shape = [channels, dims.1 as usize, dims.0 as usize];
    let labels = |e: &[Entry]| e.iter().map(|e| e.label).collect::<Vec<_>>();
    Ok(Decoded2 {
        shape,
        classes: l.classes.clone(),
        test_dir: l.test_dir.into(),
        train: (
            labels(&l.train),
            to_pixels(&l.train, train, channels, dims)?,
        ),
        test: (labels(&l.test), to_pixels(&l.test, test, channels, dims)?),
    })
}

/// The cache key: the format version, the image size and every file's relative path, label,
/// length and modification time.
fn cache_key(root: &Path, l: &Layout, size: usize) -> Result<u64> {
    let mut h = Fnv::new().u64(u64::from(CACHE_VERSION)).u64(size as u64);
    for c in &l.classes {
        h = h.bytes(c.as_bytes()).u64(0);
    }
    for (split, entries) in [(0u64, &l.train), (1, &l.test)] {
        h = h.u64(split).u64(entries.len() as u64);
        for e in entries {
            let m = std::fs::metadata(&e.path).map_err(io(&e.path))?;
            let mtime = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as u64);
            let rel = e.path.strip_prefix(root).unwrap_or(&e.path);
            h = h
                .bytes(rel.as_os_str().as_encoded_bytes())
                .u64(u64::from(e.label))
                .u64(m.len())
                .u64(mtime);
        }
    }
    Ok(h.0)
}

/// A writer or reader that feeds every byte it passes through FNV-1a, so the cache's checksum
/// is computed while it streams, without a second copy of the images in memory.
struct Hashed<T> {
    inner: T,
    fnv: Fnv,
}

impl<W: Write> Write for Hashed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.fnv = self.fnv.bytes(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<R: Read> Read for Hashed<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.fnv = self.fnv.bytes(&buf[..n]);
        Ok(n)
    }
}

/// Writes the cache: magic, version, key, shape, class names and the test folder's name, then
/// per split the count, the labels and the pixels, then the FNV-1a checksum of all that.
fn write_cache(out: impl Write, key: u64, d: &Decoded2) -> std::io::Result<()> {
    let mut w = Hashed {
        inner: std::io::BufWriter::new(out),
        fnv: Fnv::new(),
    };
    let u32_of = |v: usize| (v as u32).to_le_bytes();
    w.write_all(CACHE_MAGIC)?;
    w.write_all(&CACHE_VERSION.to_le_bytes())?;
    w.write_all(&key.to_le_bytes())?;
    for s in d.shape {
        w.write_all(&u32_of(s))?;
    }
    w.write_all(&u32_of(d.classes.len()))?;
    for c in d.classes.iter().chain([&d.test_dir]) {
        w.write_all(&u32_of(c.len()))?;
        w.write_all(c.as_bytes())?;
    }
    for (labels, pixels) in [&d.train, &d.test] {
        w.write_all(&u32_of(labels.len()))?;
        for l in labels {
            w.write_all(&l.to_le_bytes())?;
        }
        w.write_all(pixels)?;
    }
    let sum = w.fnv.0;
    w.inner.write_all(&sum.to_le_bytes())?;
    w.inner.flush()
}

/// Reads a cache of `len` bytes back; `None` when it is not a complete, intact cache for
/// `key`. Every count is checked against `len` before anything is allocated.
fn read_cache(input: impl Read, len: u64, key: u64) -> Option<Decoded2> {
    let mut r = Hashed {
        inner: std::io::BufReader::new(input),
        fnv: Fnv::new(),
    };
    let len = usize::try_from(len).ok()?;
    let bytes = |r: &mut Hashed<_>, n: usize| -> Option<Vec<u8>> {
        if n > len {
            return None;
        }
        let mut b = vec![0u8; n];
        r.read_exact(&mut b).ok()?;
        Some(b)
    };
    let num = |r: &mut Hashed<_>| -> Option<usize> {
        let mut b = [0u8; 4];
        r.read_exact(&mut b).ok()?;
        Some(u32::from_le_bytes(b) as usize)
    };
    if bytes(&mut r, 8)? != CACHE_MAGIC || num(&mut r)? != CACHE_VERSION as usize {
        return None;
    }
    if u64::from_le_bytes(bytes(&mut r, 8)?.try_into().ok()?) != key {
        return None;
    }
    let shape = [num(&mut r)?, num(&mut r)?, num(&mut r)?];
    let nc = num(&mut r)?;
    if nc > len {
        return None;
    }
    let mut names = Vec::with_capacity(nc + 1);
    for _ in 0..=nc {
        let n = num(&mut r)?;
        names.push(String::from_utf8(bytes(&mut r, n)?).ok()?);
    }
    let test_dir = names.pop()?;
    let sample = shape.iter().try_fold(1usize, |a, &s| a.checked_mul(s))?;
    let split = |r: &mut Hashed<_>| -> Option<(Vec<u16>, Vec<u8>)> {
        let n = num(r)?;
        let labels = bytes(r, n.checked_mul(2)?)?
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect();
        Some((labels, bytes(r, n.checked_mul(sample)?)?))
    };
    let train = split(&mut r)?;
    let test = split(&mut r)?;
    // the checksum itself is not hashed, and nothing may follow it
    let body = r.fnv.0;
    let mut sum = [0u8; 8];
    r.inner.read_exact(&mut sum).ok()?;
    let at_end = r.inner.read(&mut [0u8; 1]).ok()? == 0;
    (u64::from_le_bytes(sum) == body && at_end).then_some(Decoded2 {
        shape,
        classes: names,
        test_dir,
        train,
        test,
    })
}

/// What a folder dataset holds, read from its file list and its first training image's header
/// (nothing is decoded): for cost estimates before a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderFacts {
    /// Training images.
    pub train: usize,
    /// Test (or validation) images.
    pub test: usize,
    /// Classes.
    pub classes: usize,
    /// The sample shape `[C, H, W]` as the first training image gives it (C from its colour
    /// type; a later colour image would make it 3).
    pub shape: [usize; 3],
}

/// Counts a folder dataset's images and classes without decoding them.
pub fn describe(root: &Path, image_size: usize) -> Result<FolderFacts> {
    use image::ImageDecoder;
    let l = layout(root)?;
    let first = &l.train[0].path;
    let dec = image::ImageReader::open(first)
        .map_err(io(first))?
        .with_guessed_format()
        .map_err(io(first))?
        .into_decoder()
        .map_err(|e| bad(first, format!("cannot read the header: {e}")))?;
    let (w, h) = dec.dimensions();
    let c = if dec.color_type().has_color() { 3 } else { 1 };
    let (h, w) = if image_size > 0 {
        (image_size, image_size)
    } else {
        (h as usize, w as usize)
    };
    Ok(FolderFacts {
        train: l.train.len(),
        test: l.test.len(),
        classes: l.classes.len(),
        shape: [c, h, w],
    })
}

/// The path of the cache file for `size` in `root`.
pub fn cache_path(root: &Path, image_size: usize) -> PathBuf {
    root.join(CACHE_DIR)
        .join(format!("folder-{image_size}.bin"))
}

/// Reads an image-folder dataset (see the module docs for the layout).
pub fn load_folder(root: &Path, opts: &FolderOptions) -> Result<Splits> {
    let l = layout(root)?;
    let size = opts.image_size;
    let d = if opts.cache {
        let key = cache_key(root, &l, size)?;
        let path = cache_path(root, size);
        let cached = std::fs::File::open(&path)
            .ok()
            .and_then(|f| Some((f.metadata().ok()?.len(), f)))
            .and_then(|(len, f)| read_cache(f, len, key));
        match cached {
            Some(d) => {
                tracing::debug!(cache = %path.display(), "folder dataset read from its cache");
                d
            }
            None => {
                let d = decode_layout(&l, size)?;
                if let Err(e) =
                    std::fs::create_dir_all(path.parent().unwrap_or(root)).and_then(|_| {
                        crate::files::write_atomic_with(&path, |f| write_cache(f, key, &d))
                    })
                {
                    tracing::warn!(
                        "could not write the decoded-image cache {}: {e}; the next run decodes the images again",
                        path.display()
                    );
                }
                d
            }
        }
    } else {
        decode_layout(&l, size)?
    };
    splits_of(d)
}

/// The two datasets, taking the decoded pixels over (no copy).
fn splits_of(d: Decoded2) -> Result<Splits> {
    let Decoded2 {
        shape,
        classes,
        test_dir,
        train,
        test,
    } = d;
    let make = |name: String, (labels, values): (Vec<u16>, Vec<u8>), classes: Vec<String>| {
        Dataset::new(
            name,
            shape,
            Pixels::U8 { values, max: 255 },
            labels,
            None,
            classes,
        )
    };
    Ok(Splits {
        train: make("folder/train".into(), train, classes.clone())?,
        test: make(format!("folder/{test_dir}"), test, classes)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Decoded2 {
        Decoded2 {
            shape: [1, 2, 2],
            classes: vec!["a".into(), "bee".into()],
            test_dir: "val".into(),
            train: (vec![0, 1], (0..8).collect()),
            test: (vec![1], vec![9, 8, 7, 6]),
        }
    }

    #[test]
    fn cache_round_trips_and_rejects_damage() {
        let d = sample();
        let mut bytes = Vec::new();
        write_cache(&mut bytes, 42, &d).unwrap();
        let read = |b: &[u8], key| read_cache(b, b.len() as u64, key);
        assert_eq!(read(&bytes, 42), Some(d));
        assert_eq!(read(&bytes, 43), None, "another key");
        for cut in [0, 1, 8, bytes.len() / 2, bytes.len() - 1] {
            assert_eq!(read(&bytes[..cut], 42), None, "truncated at {cut}");
        }
        let mut flipped = bytes.clone();
        flipped[30] ^= 1;
        assert_eq!(read(&flipped, 42), None, "a flipped bit");
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(read(&longer, 42), None, "a byte after the checksum");
    }

    #[test]
    fn fit_scales_the_shorter_side_and_crops_the_centre() {
        let img = DynamicImage::new_rgb8(40, 20);
        assert_eq!(fit(img.clone(), 10).dimensions(), (10, 10));
        assert_eq!(fit(img.clone(), 0).dimensions(), (40, 20));
        assert_eq!(
            fit(DynamicImage::new_luma8(7, 9), 16).dimensions(),
            (16, 16)
        );
    }
}
