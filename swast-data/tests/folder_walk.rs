//! The folder walker on random trees with links, loops, hidden files and odd names: each
//! real image is counted once, with the label of the class folder it really lives in (its
//! position among the class folders sorted by their raw bytes).

#![cfg(unix)]

use image::GrayImage;
use proptest::prelude::*;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use swast_data::{DatasetName, LoadOptions, load_with};

/// Class names: plain, spaced, upper case, non-ASCII, and not UTF-8 (distinct even once
/// shown lossily).
const NAMES: [&[u8]; 7] = [
    b"ant",
    b"bee",
    b"Cat",
    b"zebra dove",
    b"a\xff",
    b"\xfeb",
    "\u{fc}n\u{ef}".as_bytes(),
];

fn png(path: &Path, seed: u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    GrayImage::from_fn(2, 2, |x, y| {
        image::Luma([seed.wrapping_add((x + 2 * y) as u8)])
    })
    .save_with_format(path, image::ImageFormat::Png)
    .unwrap();
}

/// What a link inside a class folder points at.
#[derive(Debug, Clone, Copy)]
enum Link {
    /// The folder holding the link (a loop).
    Here,
    /// The class folder's parent (train/: every class again).
    Parent,
    /// The dataset root (a loop through train/ and test/).
    Root,
    /// Another class's folder.
    OtherClass(usize),
    /// A real image of some class (counted where it really is).
    File(usize),
    /// Nothing.
    Broken,
}

#[derive(Debug, Clone)]
struct Class {
    name: usize,
    /// Real images: subfolder depth of each.
    images: Vec<u8>,
    /// Links placed at depth 0 or 1.
    links: Vec<(Link, u8)>,
    hidden: bool,
}

fn link_strategy() -> impl Strategy<Value = Link> {
    prop_oneof![
        Just(Link::Here),
        Just(Link::Parent),
        Just(Link::Root),
        (0usize..4).prop_map(Link::OtherClass),
        (0usize..4).prop_map(Link::File),
        Just(Link::Broken),
    ]
}

fn tree_strategy() -> impl Strategy<Value = Vec<Class>> {
    proptest::sample::subsequence((0..NAMES.len()).collect::<Vec<_>>(), 2..=4)
        .prop_flat_map(|names| {
            let n = names.len();
            (
                Just(names),
                proptest::collection::vec(proptest::collection::vec(0u8..3, 1..4), n),
                proptest::collection::vec(
                    proptest::collection::vec((link_strategy(), 0u8..2), 0..4),
                    n,
                ),
                proptest::collection::vec(any::<bool>(), n),
            )
        })
        .prop_map(|(names, images, links, hidden)| {
            names
                .into_iter()
                .zip(images)
                .zip(links)
                .zip(hidden)
                .map(|(((name, images), links), hidden)| Class {
                    name,
                    images,
                    links,
                    hidden,
                })
                .collect()
        })
}

fn class_dir(root: &Path, split: &str, c: &Class) -> PathBuf {
    root.join(split).join(OsStr::from_bytes(NAMES[c.name]))
}

fn sub(depth: u8) -> PathBuf {
    (0..depth).map(|d| format!("sub{d}")).collect()
}

/// Builds the tree; returns the real images per class, in class order.
fn build(root: &Path, classes: &[Class]) -> Vec<usize> {
    let mut real = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    for (ci, c) in classes.iter().enumerate() {
        let dir = class_dir(root, "train", c);
        for (i, &depth) in c.images.iter().enumerate() {
            let p = dir.join(sub(depth)).join(format!("img{i}.png"));
            png(&p, (ci * 10 + i) as u8);
            files.push(p);
        }
        real.push(c.images.len());
        if c.hidden {
            // hidden files and folders are never read
            png(&dir.join(".hidden.png"), 1);
            png(&dir.join(".cache").join("x.png"), 2);
        }
        png(&class_dir(root, "test", c).join("t.png"), 3);
    }
    for (ci, c) in classes.iter().enumerate() {
        let dir = class_dir(root, "train", c);
        for (li, &(link, depth)) in c.links.iter().enumerate() {
            let at = dir.join(sub(depth));
            std::fs::create_dir_all(&at).unwrap();
            let target = match link {
                Link::Here => at.clone(),
                Link::Parent => root.join("train"),
                Link::Root => root.to_path_buf(),
                Link::OtherClass(k) => class_dir(root, "train", &classes[k % classes.len()]),
                Link::File(k) => files[k % files.len()].clone(),
                Link::Broken => root.join("nothing-here"),
            };
            let name = if matches!(link, Link::File(_)) {
                format!("link{ci}-{li}.png")
            } else {
                format!("link{ci}-{li}")
            };
            symlink(&target, at.join(name)).unwrap();
        }
    }
    real
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn each_real_image_is_counted_once_with_its_folders_label(classes in tree_strategy()) {
        let t = tempfile::tempdir().unwrap();
        let real = build(t.path(), &classes);
        let opts = LoadOptions { image_size: 0, cache: false };
        let s = load_with(DatasetName::Folder, t.path(), &opts).unwrap();
        // labels: positions among the class folders sorted by their raw bytes
        let mut order: Vec<usize> = (0..classes.len()).collect();
        order.sort_by_key(|&i| NAMES[classes[i].name]);
        let want: Vec<usize> = order.iter().map(|&i| real[i]).collect();
        prop_assert_eq!(s.train.class_histogram(), want);
        prop_assert_eq!(s.train.len(), real.iter().sum::<usize>());
        prop_assert_eq!(s.test.len(), classes.len());
        let names: Vec<String> = order
            .iter()
            .map(|&i| String::from_utf8_lossy(NAMES[classes[i].name]).into_owned())
            .collect();
        prop_assert_eq!(s.train.class_names(), names.as_slice());
    }
}

#[test]
fn two_links_to_ancestors_in_one_folder_finish_and_count_each_image_once() {
    // the 2^depth walk: each level links twice back up
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    for c in ["a", "b"] {
        png(&root.join("train").join(c).join("x.png"), 1);
        png(&root.join("test").join(c).join("y.png"), 2);
        let d = root.join("train").join(c);
        symlink(&d, d.join("up1")).unwrap();
        symlink(root.join("train"), d.join("up2")).unwrap();
    }
    let opts = LoadOptions {
        image_size: 0,
        cache: false,
    };
    let s = load_with(DatasetName::Folder, root, &opts).unwrap();
    assert_eq!(s.train.class_histogram(), vec![1, 1]);
}

#[test]
fn class_folders_whose_names_read_the_same_are_an_error_naming_both() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    // two names that are not UTF-8 and both read `caf\u{fffd}` once shown lossily
    for (i, name) in [&b"caf\xe9"[..], &b"caf\xe8"[..]].iter().enumerate() {
        let d = root.join("train").join(OsStr::from_bytes(name));
        png(&d.join("x.png"), i as u8);
        png(
            &root
                .join("test")
                .join(OsStr::from_bytes(name))
                .join("y.png"),
            3,
        );
    }
    let opts = LoadOptions {
        image_size: 0,
        cache: false,
    };
    let e = load_with(DatasetName::Folder, root, &opts)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("caf\\xE8") && e.contains("caf\\xE9") && e.contains("read the same"),
        "{e}"
    );
}

#[test]
fn an_image_size_above_the_bound_is_refused_by_the_loader_itself() {
    let t = tempfile::tempdir().unwrap();
    let opts = LoadOptions {
        image_size: 100_000,
        cache: false,
    };
    let e = load_with(DatasetName::Folder, t.path(), &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("100000") && e.contains("data.image_size"), "{e}");
    // every dataset, not only folders
    let e = load_with(DatasetName::Embedded, t.path(), &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("data.image_size"), "{e}");
}
