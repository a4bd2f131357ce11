//! `swast_data::fetch` against a local HTTP server: a good source, a corrupt file, a cut
//! download resumed with `Range`, a redirect, a 404 with a mirror after it, gzip files, and
//! a source that cannot be reached.
#![cfg(feature = "fetch")]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use swast_data::fetch::{
    ArchiveFormat, DatasetSource, Digest, FetchOptions, Fetched, Origin, Payload, STAMP,
    fetch_source,
};

/// What the server answers for a path.
#[derive(Clone)]
enum Route {
    /// 200 with the bytes (206 from the offset of a `Range` request).
    Ok(Vec<u8>),
    /// A `Content-Length` of the full size, then only the first bytes, then the connection
    /// closes.
    Cut(Vec<u8>, usize),
    /// 302 to another path.
    Redirect(String),
}

/// Requests seen: path and `Range` header.
type Log = Arc<Mutex<Vec<(String, Option<String>)>>>;

#[derive(Clone, Default)]
struct Server {
    routes: Arc<Mutex<HashMap<String, Route>>>,
    /// Every request: path and its `Range` header.
    log: Log,
    base: String,
}

impl Server {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let s = Server {
            base: format!("http://{}", listener.local_addr().unwrap()),
            ..Server::default()
        };
        let me = s.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                let mut range = None;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':')
                        && k.eq_ignore_ascii_case("range")
                    {
                        range = Some(v.trim().to_string());
                    }
                }
                me.log.lock().unwrap().push((path.clone(), range.clone()));
                let route = me.routes.lock().unwrap().get(&path).cloned();
                let _ = match route {
                    None => stream.write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    ),
                    Some(Route::Redirect(to)) => stream.write_all(
                        format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                            .as_bytes(),
                    ),
                    Some(Route::Ok(body)) => {
                        let from = range
                            .as_deref()
                            .and_then(|r| r.strip_prefix("bytes="))
                            .and_then(|r| r.trim_end_matches('-').parse::<usize>().ok());
                        match from {
                            Some(f) if f < body.len() => {
                                let head = format!(
                                    "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {f}-{}/{}\r\nConnection: close\r\n\r\n",
                                    body.len() - f,
                                    body.len() - 1,
                                    body.len()
                                );
                                stream
                                    .write_all(head.as_bytes())
                                    .and_then(|()| stream.write_all(&body[f..]))
                            }
                            _ => {
                                let head = format!(
                                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                                    body.len()
                                );
                                stream
                                    .write_all(head.as_bytes())
                                    .and_then(|()| stream.write_all(&body))
                            }
                        }
                    }
                    Some(Route::Cut(body, sent)) => {
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        );
                        stream
                            .write_all(head.as_bytes())
                            .and_then(|()| stream.write_all(&body[..sent]))
                    }
                };
                let _ = stream.flush();
                let _ = stream.shutdown(std::net::Shutdown::Both);
            }
        });
        s
    }
    fn route(&self, path: &str, r: Route) {
        self.routes.lock().unwrap().insert(path.into(), r);
    }
    fn requests(&self) -> Vec<(String, Option<String>)> {
        self.log.lock().unwrap().clone()
    }
}

fn sha256(bytes: &[u8]) -> &'static str {
    use sha2::Digest as _;
    let h = sha2::Sha256::digest(bytes);
    Box::leak(
        h.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .into_boxed_str(),
    )
}

/// Two files of pseudo-random bytes.
fn files() -> (Vec<u8>, Vec<u8>) {
    let a: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let b: Vec<u8> = (0..1_000u32).map(|i| (i * 7 % 251) as u8).collect();
    (a, b)
}

fn toy(base: &str, gz: bool) -> DatasetSource {
    let (a, b) = files();
    let payload: &'static [(&'static str, Digest)] = Box::leak(Box::new([
        ("a.bin", Digest::Sha256(sha256(&a))),
        ("b.bin", Digest::Sha256(sha256(&b))),
    ]));
    DatasetSource {
        name: "toy",
        payload: Payload::Files(payload),
        canonical: vec![Origin::Http {
            base: base.into(),
            gz,
        }],
        mirrors: Vec::new(),
        credit: "test bytes",
    }
}

fn quiet() -> impl FnMut(swast_data::fetch::Progress) {
    |_| {}
}

fn no_partials(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().to_string();
        assert!(!name.contains("partial"), "left behind: {name}");
    }
}

#[test]
fn a_good_source_is_fetched_verified_and_not_fetched_again() {
    let srv = Server::start();
    let (a, b) = files();
    srv.route("/x/a.bin", Route::Ok(a.clone()));
    srv.route("/x/b.bin", Route::Ok(b.clone()));
    let tmp = tempfile::tempdir().unwrap();
    let src = toy(&format!("{}/x", srv.base), false);
    let got = fetch_source(&src, tmp.path(), &FetchOptions::default(), &mut quiet()).unwrap();
    assert!(matches!(got, Fetched::Fetched { .. }), "{got:?}");
    assert_eq!(std::fs::read(tmp.path().join("toy/a.bin")).unwrap(), a);
    assert_eq!(std::fs::read(tmp.path().join("toy/b.bin")).unwrap(), b);
    assert!(tmp.path().join("toy").join(STAMP).is_file());
    let n = srv.requests().len();
    let again = fetch_source(&src, tmp.path(), &FetchOptions::default(), &mut quiet()).unwrap();
    assert_eq!(again, Fetched::AlreadyVerified(tmp.path().join("toy")));
    assert_eq!(
        srv.requests().len(),
        n,
        "a verified folder was downloaded again"
    );
    no_partials(tmp.path());
}

#[test]
fn a_corrupt_file_is_a_checksum_error_and_leaves_no_folder() {
    let srv = Server::start();
    let (mut a, b) = files();
    a[1234] ^= 1;
    srv.route("/x/a.bin", Route::Ok(a));
    srv.route("/x/b.bin", Route::Ok(b));
    let tmp = tempfile::tempdir().unwrap();
    let src = toy(&format!("{}/x", srv.base), false);
    let e = fetch_source(&src, tmp.path(), &FetchOptions::default(), &mut quiet()).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("checksum mismatch for a.bin"), "{msg}");
    assert!(msg.contains("run again"), "{msg}");
    assert!(!msg.contains('\n'), "one line: {msg}");
    assert!(!tmp.path().join("toy").exists());
    no_partials(tmp.path());
}

#[test]
fn a_cut_download_is_an_error_then_resumes_with_range() {
    let srv = Server::start();
    let (a, b) = files();
    srv.route("/x/a.bin", Route::Cut(a.clone(), 80_000));
    srv.route("/x/b.bin", Route::Ok(b));
    let tmp = tempfile::tempdir().unwrap();
    let src = toy(&format!("{}/x", srv.base), false);
    let e = fetch_source(&src, tmp.path(), &FetchOptions::default(), &mut quiet()).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("a.bin") && msg.contains("resume"), "{msg}");
    assert!(!tmp.path().join("toy").exists());
    let part = tmp.path().join(".fetch/toy-a.bin");
    assert_eq!(std::fs::metadata(&part).unwrap().len(), 80_000);
    // the server is whole again: the next fetch asks for the rest only
    srv.route("/x/a.bin", Route::Ok(a.clone()));
    fetch_source(&src, tmp.path(), &FetchOptions::default(), &mut quiet()).unwrap();
    assert_eq!(std::fs::read(tmp.path().join("toy/a.bin")).unwrap(), a);
    let ranges: Vec<_> = srv
        .requests()
        .into_iter()
        .filter(|(p, _)| p == "/x/a.bin")
        .map(|(_, r)| r)
        .collect();
    assert_eq!(ranges, [None, Some("bytes=80000-".to_string())]);
    assert!(!part.exists());
}

#[test]
fn redirects_are_followed() {
    let srv = Server::start();
    let (a, b) = files();
    srv.route("/old/a.bin", Route::Redirect("/new/a.bin".into()));
    srv.route(
        "/old/b.bin",
        Route::Redirect(format!("{}/new/b.bin", srv.base)),
    );
    srv.route("/new/a.bin", Route::Ok(a));
    srv.route("/new/b.bin", Route::Ok(b));
    let tmp = tempfile::tempdir().unwrap();
    let src = toy(&format!("{}/old", srv.base), false);
    fetch_source(&src, tmp.path(), &FetchOptions::default(), &mut quiet()).unwrap();
    assert!(tmp.path().join("toy/b.bin").is_file());
}

#[test]
fn a_404_falls_through_to_the_users_mirror() {
    let srv = Server::start();
    let (a, b) = files();
    // nothing under /x: the canonical source answers 404
    srv.route("/m/toy/a.bin", Route::Ok(a));
    srv.route("/m/toy/b.bin", Route::Ok(b));
    let tmp = tempfile::tempdir().unwrap();
    let src = toy(&format!("{}/x", srv.base), false);
    let mut seen = Vec::new();
    let opts = FetchOptions {
        mirrors: vec![format!("{}/m", srv.base)],
        ..FetchOptions::default()
    };
    let got = fetch_source(&src, tmp.path(), &opts, &mut |p| {
        seen.push(format!("{p:?}"))
    })
    .unwrap();
    match got {
        Fetched::Fetched { origin, .. } => assert_eq!(origin, format!("{}/m/toy", srv.base)),
        other => panic!("{other:?}"),
    }
    assert!(
        seen.iter().any(|s| s.contains("404")),
        "the 404 was not reported: {seen:?}"
    );
    // and with no mirror, the 404 is the error
    let tmp2 = tempfile::tempdir().unwrap();
    let e = fetch_source(&src, tmp2.path(), &FetchOptions::default(), &mut quiet()).unwrap_err();
    assert!(e.to_string().contains("HTTP 404"), "{e}");
}

#[test]
fn gzip_files_are_decompressed_before_they_are_checked() {
    use std::io::Write as _;
    let srv = Server::start();
    let (a, b) = files();
    let gz = |d: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(d).unwrap();
        e.finish().unwrap()
    };
    srv.route("/z/a.bin.gz", Route::Ok(gz(&a)));
    srv.route("/z/b.bin.gz", Route::Ok(gz(&b)));
    let tmp = tempfile::tempdir().unwrap();
    let src = toy(&format!("{}/z", srv.base), true);
    fetch_source(&src, tmp.path(), &FetchOptions::default(), &mut quiet()).unwrap();
    assert_eq!(std::fs::read(tmp.path().join("toy/a.bin")).unwrap(), a);
}

#[test]
fn an_unreachable_source_says_so() {
    // a port nothing listens on
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let tmp = tempfile::tempdir().unwrap();
    let src = toy(&format!("http://127.0.0.1:{port}/x"), false);
    let e = fetch_source(&src, tmp.path(), &FetchOptions::default(), &mut quiet()).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("cannot reach") && msg.contains("no network"),
        "{msg}"
    );
    assert!(msg.contains("--mirror"), "{msg}");
    assert!(!tmp.path().join("toy").exists());
}

#[test]
fn unknown_names_list_the_known_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let e = swast_data::fetch::fetch(
        "imagenet",
        tmp.path(),
        &FetchOptions::default(),
        &mut quiet(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("mnist, fashion-mnist"), "{e}");
}

fn archive_source(
    base: &str,
    file: &'static str,
    bytes: &[u8],
    format: ArchiveFormat,
) -> DatasetSource {
    DatasetSource {
        name: "arch",
        payload: Payload::Archive {
            file,
            digest: Digest::Sha256(sha256(bytes)),
            format,
        },
        canonical: vec![Origin::Http {
            base: base.into(),
            gz: false,
        }],
        mirrors: Vec::new(),
        credit: "test bytes",
    }
}

#[test]
fn archives_are_checked_then_unpacked_tar_gz_and_zip() {
    use std::io::Write as _;
    let (a, b) = files();
    // a .tar.gz with a folder inside, as CIFAR's
    let mut tgz = Vec::new();
    {
        let gz = flate2::write::GzEncoder::new(&mut tgz, flate2::Compression::default());
        let mut t = tar::Builder::new(gz);
        for (name, data) in [("inner/a.bin", &a), ("inner/b.bin", &b)] {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            t.append_data(&mut h, name, data.as_slice()).unwrap();
        }
        t.into_inner().unwrap().finish().unwrap();
    }
    // a .zip, as Tiny ImageNet's
    let mut zipped = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut zipped);
        let o = zip::write::FileOptions::default();
        z.start_file("inner/a.bin", o).unwrap();
        z.write_all(&a).unwrap();
        z.finish().unwrap();
    }
    let zipped = zipped.into_inner();
    let srv = Server::start();
    srv.route("/x/data.tar.gz", Route::Ok(tgz.clone()));
    srv.route("/x/data.zip", Route::Ok(zipped.clone()));
    let base = format!("{}/x", srv.base);
    let quiet_opts = FetchOptions::default();

    let tmp = tempfile::tempdir().unwrap();
    let src = archive_source(&base, "data.tar.gz", &tgz, ArchiveFormat::TarGz);
    fetch_source(&src, tmp.path(), &quiet_opts, &mut quiet()).unwrap();
    assert_eq!(
        std::fs::read(tmp.path().join("arch/inner/a.bin")).unwrap(),
        a
    );
    assert_eq!(
        std::fs::read(tmp.path().join("arch/inner/b.bin")).unwrap(),
        b
    );
    // verified once: not fetched again
    let n = srv.requests().len();
    let again = fetch_source(&src, tmp.path(), &quiet_opts, &mut quiet()).unwrap();
    assert!(matches!(again, Fetched::AlreadyVerified(_)));
    assert_eq!(srv.requests().len(), n);

    let tmp = tempfile::tempdir().unwrap();
    let src = archive_source(&base, "data.zip", &zipped, ArchiveFormat::Zip);
    fetch_source(&src, tmp.path(), &quiet_opts, &mut quiet()).unwrap();
    assert_eq!(
        std::fs::read(tmp.path().join("arch/inner/a.bin")).unwrap(),
        a
    );

    // an archive whose bytes differ from its digest is not unpacked
    let tmp = tempfile::tempdir().unwrap();
    let mut src = archive_source(&base, "data.tar.gz", &tgz, ArchiveFormat::TarGz);
    src.payload = Payload::Archive {
        file: "data.tar.gz",
        digest: Digest::Sha256(sha256(b"something else")),
        format: ArchiveFormat::TarGz,
    };
    let e = fetch_source(&src, tmp.path(), &quiet_opts, &mut quiet()).unwrap_err();
    assert!(
        e.to_string().contains("checksum mismatch for data.tar.gz"),
        "{e}"
    );
    assert!(!tmp.path().join("arch").exists());
    no_partials(tmp.path());
}
