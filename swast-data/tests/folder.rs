//! Image-folder datasets on generated PNG and JPEG trees: layouts, sizes, colour, the decoded
//! cache, and every bad file a user can have.

use image::{GrayImage, ImageFormat, RgbImage};
use std::path::Path;
use swast_data::folder::cache_path;
use swast_data::{DataError, DatasetName, LoadOptions, Pixels, load_with};

fn gray(w: u32, h: u32, seed: u8) -> GrayImage {
    GrayImage::from_fn(w, h, |x, y| {
        image::Luma([seed.wrapping_mul(31).wrapping_add((x * 7 + y * 13) as u8)])
    })
}

fn rgb(w: u32, h: u32, seed: u8) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([seed.wrapping_add(x as u8), (y * 9) as u8, 200 - seed])
    })
}

fn save_gray(root: &Path, rel: &str, img: &GrayImage) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    img.save(&p).unwrap();
}

fn save_rgb(root: &Path, rel: &str, img: &RgbImage, fmt: ImageFormat) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    img.save_with_format(&p, fmt).unwrap();
}

fn opts(image_size: usize) -> LoadOptions {
    LoadOptions {
        image_size,
        cache: true,
    }
}

/// 3 classes × 4 train + 2 test gray 6×5 PNGs.
fn png_tree(root: &Path) {
    for (c, class) in ["cat", "ant", "bee"].iter().enumerate() {
        for i in 0..4u8 {
            save_gray(
                root,
                &format!("train/{class}/{i}.png"),
                &gray(6, 5, c as u8 * 10 + i),
            );
        }
        for i in 0..2u8 {
            save_gray(
                root,
                &format!("test/{class}/t{i}.png"),
                &gray(6, 5, 100 + i),
            );
        }
    }
}

fn err(root: &Path, size: usize) -> String {
    match load_with(DatasetName::Folder, root, &opts(size)) {
        Ok(_) => panic!("expected an error"),
        Err(e) => {
            let s = e.to_string();
            assert!(!s.contains('\n'), "one line: {s}");
            s
        }
    }
}

#[test]
fn png_tree_reads_sorted_classes_exact_pixels_and_caches_them() {
    let t = tempfile::tempdir().unwrap();
    png_tree(t.path());
    let s = load_with(DatasetName::Folder, t.path(), &opts(0)).unwrap();
    assert_eq!(s.train.len(), 12);
    assert_eq!(s.test.len(), 6);
    assert_eq!(s.train.shape(), [1, 5, 6], "gray, C×H×W");
    assert_eq!(s.train.class_names(), ["ant", "bee", "cat"]);
    assert_eq!(s.train.class_histogram(), vec![4, 4, 4]);
    assert_eq!(s.test.class_histogram(), vec![2, 2, 2]);
    assert_eq!(s.test.name(), "folder/test");
    // sample 0 is train/ant/0.png (class 1 of the writer's order: seed 10), pixels exact
    let Pixels::U8 { values, max } = s.train.pixels() else {
        panic!("bytes")
    };
    assert_eq!(*max, 255);
    assert_eq!(&values[..30], gray(6, 5, 10).as_raw().as_slice());
    assert_eq!(s.train.labels()[..4], [0, 0, 0, 0]);
    // the cache exists, and a second load reads it: an image overwritten with zeros of the
    // same length and given back its modification time is not decoded again (decoding it
    // would fail)
    let cache = cache_path(t.path(), 0);
    assert!(cache.is_file());
    let p = t.path().join("train/ant/0.png");
    let meta = std::fs::metadata(&p).unwrap();
    std::fs::write(&p, vec![0u8; meta.len() as usize]).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&p)
        .unwrap()
        .set_modified(meta.modified().unwrap())
        .unwrap();
    let again = load_with(DatasetName::Folder, t.path(), &opts(0)).unwrap();
    assert_eq!(again.train, s.train, "read from the cache");
    // without the cache, the zeroed file is found
    let e = load_with(
        DatasetName::Folder,
        t.path(),
        &LoadOptions {
            image_size: 0,
            cache: false,
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("not a PNG or JPEG"), "{e}");
    save_gray(t.path(), "train/ant/0.png", &gray(6, 5, 10));
    // a new file changes the key: decoded again, and the new image is there
    save_gray(t.path(), "train/ant/9.png", &gray(6, 5, 1));
    let third = load_with(DatasetName::Folder, t.path(), &opts(0)).unwrap();
    assert_eq!(third.train.len(), 13);
    // a damaged cache is rebuilt, not an error
    std::fs::write(&cache, b"SWASTIMG garbage").unwrap();
    let fourth = load_with(DatasetName::Folder, t.path(), &opts(0)).unwrap();
    assert_eq!(fourth.train.pixels(), third.train.pixels());
    assert!(std::fs::metadata(&cache).unwrap().len() > 100, "rewritten");
    // without the cache, the same data
    let plain = load_with(
        DatasetName::Folder,
        t.path(),
        &LoadOptions {
            image_size: 0,
            cache: false,
        },
    )
    .unwrap();
    assert_eq!(plain.train, fourth.train);
}

#[test]
fn jpeg_tree_of_mixed_sizes_is_resized_and_centre_cropped() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    save_rgb(r, "train/a/x.jpg", &rgb(40, 20, 1), ImageFormat::Jpeg);
    save_rgb(r, "train/a/y.JPEG", &rgb(16, 16, 2), ImageFormat::Jpeg);
    save_rgb(r, "train/b/z.jpeg", &rgb(10, 30, 3), ImageFormat::Jpeg);
    save_rgb(r, "val/a/v.png", &rgb(33, 17, 4), ImageFormat::Png);
    save_rgb(r, "val/b/w.png", &rgb(8, 8, 5), ImageFormat::Png);
    let s = load_with(DatasetName::Folder, r, &opts(8)).unwrap();
    assert_eq!(s.train.shape(), [3, 8, 8]);
    assert_eq!(s.test.shape(), [3, 8, 8]);
    assert_eq!(s.test.name(), "folder/val");
    assert_eq!(s.train.labels(), [0, 0, 1]);
    // the 8×8 PNG is kept as it is; RGB is stored channel-major
    let Pixels::U8 { values, .. } = s.test.pixels() else {
        panic!()
    };
    let w = rgb(8, 8, 5);
    let sample = &values[192..];
    assert_eq!(sample[0], w.get_pixel(0, 0)[0]);
    assert_eq!(sample[64 + 9], w.get_pixel(1, 1)[1]);
    assert_eq!(sample[128 + 63], w.get_pixel(7, 7)[2]);
    // without a size, mixed sizes are an error naming the file and the fix
    let e = err(r, 0);
    assert!(e.contains("data.image_size"), "{e}");
    assert!(e.contains("where the first training image is 40x20"), "{e}");
}

#[test]
fn one_colour_image_makes_the_dataset_rgb() {
    let t = tempfile::tempdir().unwrap();
    png_tree(t.path());
    save_rgb(t.path(), "train/bee/c.png", &rgb(6, 5, 9), ImageFormat::Png);
    let s = load_with(DatasetName::Folder, t.path(), &opts(0)).unwrap();
    assert_eq!(s.train.shape(), [3, 5, 6]);
    assert_eq!(s.test.shape(), [3, 5, 6]);
}

#[test]
fn tinyimagenet_layout_reads_val_annotations_and_ignores_the_unlabelled_test_folder() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    for (c, wnid) in ["n01443537", "n01629819"].iter().enumerate() {
        for i in 0..3u8 {
            save_rgb(
                r,
                &format!("train/{wnid}/images/{wnid}_{i}.JPEG"),
                &rgb(64, 64, c as u8 * 3 + i),
                ImageFormat::Jpeg,
            );
        }
        std::fs::write(
            r.join(format!("train/{wnid}/{wnid}_boxes.txt")),
            "x\t0\t0\t1\t1\n",
        )
        .unwrap();
    }
    save_rgb(
        r,
        "val/images/val_0.JPEG",
        &rgb(64, 64, 7),
        ImageFormat::Jpeg,
    );
    save_rgb(
        r,
        "val/images/val_1.JPEG",
        &rgb(64, 64, 8),
        ImageFormat::Jpeg,
    );
    std::fs::write(
        r.join("val/val_annotations.txt"),
        "val_0.JPEG\tn01629819\t0\t0\t62\t62\nval_1.JPEG\tn01443537\t1\t1\t60\t60\n",
    )
    .unwrap();
    save_rgb(
        r,
        "test/images/test_0.JPEG",
        &rgb(64, 64, 9),
        ImageFormat::Jpeg,
    );
    std::fs::write(r.join("wnids.txt"), "n01443537\nn01629819\n").unwrap();
    let s = load_with(DatasetName::Folder, r, &opts(32)).unwrap();
    assert_eq!(s.train.len(), 6);
    assert_eq!(s.train.class_names(), ["n01443537", "n01629819"]);
    assert_eq!(s.test.len(), 2);
    assert_eq!(s.test.labels(), [1, 0]);
    assert_eq!(s.test.name(), "folder/val");
    assert_eq!(s.train.shape(), [3, 32, 32]);
    let facts = swast_data::folder::describe(r, 32).unwrap();
    assert_eq!(
        facts,
        swast_data::folder::FolderFacts {
            train: 6,
            test: 2,
            classes: 2,
            shape: [3, 32, 32]
        }
    );
    // a class the training split lacks
    std::fs::write(
        r.join("val/val_annotations.txt"),
        "val_0.JPEG\tn01629819\nval_1.JPEG\tn99999999\n",
    )
    .unwrap();
    let e = err(r, 32);
    assert!(e.contains("val_annotations.txt:2"), "{e}");
    assert!(e.contains("n99999999"), "{e}");
}

#[test]
fn bad_files_are_one_line_errors_naming_the_file() {
    // a truncated JPEG
    let t = tempfile::tempdir().unwrap();
    png_tree(t.path());
    let p = t.path().join("train/bee/cut.jpg");
    let mut bytes = Vec::new();
    rgb(6, 5, 3)
        .write_to(&mut std::io::Cursor::new(&mut bytes), ImageFormat::Jpeg)
        .unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    let e = err(t.path(), 0);
    assert!(
        e.contains("cut.jpg") && e.contains("truncated or damaged"),
        "{e}"
    );
    assert!(
        !cache_path(t.path(), 0).exists(),
        "no cache of a failed load"
    );

    // a text file named .png
    let t = tempfile::tempdir().unwrap();
    png_tree(t.path());
    std::fs::write(t.path().join("test/ant/notes.png"), "just some notes\n").unwrap();
    let e = err(t.path(), 0);
    assert!(
        e.contains("notes.png") && e.contains("not a PNG or JPEG"),
        "{e}"
    );

    // a class folder with no images (only a text file)
    let t = tempfile::tempdir().unwrap();
    png_tree(t.path());
    std::fs::create_dir_all(t.path().join("train/dog")).unwrap();
    std::fs::write(t.path().join("train/dog/README.txt"), "todo").unwrap();
    let e = err(t.path(), 0);
    assert!(
        e.contains("train/dog") && e.contains("no .png, .jpg or .jpeg"),
        "{e}"
    );

    // a test class the training split lacks
    let t = tempfile::tempdir().unwrap();
    png_tree(t.path());
    save_gray(t.path(), "test/dog/0.png", &gray(6, 5, 1));
    let e = err(t.path(), 0);
    assert!(
        e.contains("`dog` is not a class of the training split"),
        "{e}"
    );

    // no train/ folder, no labelled test split, a missing folder
    let t = tempfile::tempdir().unwrap();
    save_gray(t.path(), "images/0.png", &gray(6, 5, 1));
    assert!(err(t.path(), 0).contains("no train/ folder"));
    save_gray(t.path(), "train/a/0.png", &gray(6, 5, 1));
    assert!(err(t.path(), 0).contains("no labelled test/ or val/ folder"));
    let e = load_with(DatasetName::Folder, &t.path().join("nope"), &opts(0)).unwrap_err();
    assert!(matches!(e, DataError::MissingDir { .. }), "{e}");
}

#[test]
fn a_read_only_cache_folder_is_skipped_with_the_data_still_read() {
    let t = tempfile::tempdir().unwrap();
    png_tree(t.path());
    // a plain file where the cache folder would go: the cache cannot be written
    std::fs::write(t.path().join(swast_data::folder::CACHE_DIR), "blocker").unwrap();
    let s = load_with(DatasetName::Folder, t.path(), &opts(0)).unwrap();
    assert_eq!(s.train.len(), 12);
    assert_eq!(
        std::fs::read(t.path().join(swast_data::folder::CACHE_DIR)).unwrap(),
        b"blocker"
    );
}
