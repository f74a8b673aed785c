//! Publishing over real HTTP (docs/PUBLISHING.md): a ledger published as C2SP tlog-tiles by
//! `custody publish`, served by nginx (the Debian package, started here on 127.0.0.1 with its
//! own configuration, the one docs/PUBLISHING.md shows), cloned and monitored through it. Tiles,
//! bundles and checkpoints are then changed byte by byte on disk (nginx serves the changed
//! bytes) and `clone` and `monitor` must refuse, naming the file; a second history signed with
//! the same operator key must make `monitor` exit 1 with fork evidence a third party can check.

mod common;

use base64::Engine as _;
use common::{init_ledger, run, sample_copy, source_args, Work, OPERATOR_KEY, RESEARCHER_KEY};
use custody_core::checkpoint;
use custody_core::fork;
use custody_core::tiles::{self, TileId};
use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The nginx configuration docs/PUBLISHING.md shows (`PREFIX`, `PORT` and `ROOT` filled in):
/// tiles immutable, the checkpoint not cached, both with their C2SP content types.
const NGINX_CONF: &str = r#"daemon off;
master_process off;
worker_processes 1;
pid PREFIX/nginx.pid;
error_log PREFIX/error.log;
events { worker_connections 64; }
http {
    access_log PREFIX/access.log;
    client_body_temp_path PREFIX/tmp/body;
    proxy_temp_path PREFIX/tmp/proxy;
    fastcgi_temp_path PREFIX/tmp/fastcgi;
    uwsgi_temp_path PREFIX/tmp/uwsgi;
    scgi_temp_path PREFIX/tmp/scgi;
    types { }
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:PORT;
        root ROOT;
        # The checkpoint changes with every publish: never cached.
        location ~ /checkpoint$ {
            default_type "text/plain; charset=utf-8";
            add_header Cache-Control "no-cache" always;
        }
        # Every tile path names fixed bytes (a partial tile's width is in its path).
        location ~ /tile/ {
            add_header Cache-Control "public, max-age=31536000, immutable" always;
        }
    }
}
"#;

/// nginx serving `root` on 127.0.0.1; stopped (SIGKILL, then reaped) when dropped, also when a
/// test fails. `master_process off` keeps it one process, so nothing outlives the kill.
struct Nginx {
    child: Child,
    port: u16,
    _prefix: tempfile::TempDir,
}

fn nginx_binary() -> PathBuf {
    for p in ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"] {
        if Path::new(p).is_file() {
            return PathBuf::from(p);
        }
    }
    panic!("nginx is not installed (apt-get install -y nginx; .ci/run installs it)");
}

impl Nginx {
    fn start(root: &Path) -> Nginx {
        let prefix = tempfile::tempdir().unwrap();
        fs::create_dir_all(prefix.path().join("tmp")).unwrap();
        // A port the kernel just had free on loopback; nginx binds it a moment later.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let conf = NGINX_CONF
            .replace("PREFIX", &prefix.path().display().to_string())
            .replace("PORT", &port.to_string())
            .replace("ROOT", &root.display().to_string());
        let conf_path = prefix.path().join("nginx.conf");
        fs::write(&conf_path, conf).unwrap();
        let child = Command::new(nginx_binary())
            .arg("-p")
            .arg(prefix.path())
            .arg("-e")
            .arg(prefix.path().join("error.log"))
            .arg("-c")
            .arg(&conf_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        let mut n = Nginx {
            child,
            port,
            _prefix: prefix,
        };
        let start = Instant::now();
        for _ in 0..500 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return n;
            }
            if let Ok(Some(st)) = n.child.try_wait() {
                let log =
                    fs::read_to_string(n._prefix.path().join("error.log")).unwrap_or_default();
                panic!("nginx exited ({st}): {log}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "nginx did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("nginx did not start listening on 127.0.0.1:{port}");
    }

    fn url(&self, log: &str) -> String {
        format!("http://127.0.0.1:{}/{log}", self.port)
    }

    /// The status line and headers nginx sends for `path` (a plain HTTP/1.0 request).
    fn head(&self, path: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(s, "HEAD {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
        let mut out = String::new();
        s.take(64 * 1024).read_to_string(&mut out).unwrap();
        out
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `custody key vkey` of `public` for `origin`, run in `cwd`.
fn vkey(cwd: &Path, public: &str, origin: &str) -> String {
    common::run_ok(cwd, &["key", "vkey", public, "--origin", origin])
        .trim()
        .to_string()
}

/// Runs custody in `cwd` and returns (exit code, stdout, stderr).
fn custody(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let out = run(cwd, args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "custody {args:?}: {err}");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        err,
    )
}

/// Every file under `dir`, relative path -> (inode, mtime in ns, bytes).
fn files(dir: &Path) -> BTreeMap<String, (u64, i128, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    let mut seen = 0;
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            seen += 1;
            assert!(seen < 100_000, "runaway walk");
            let p = e.unwrap().path();
            let m = fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                let mtime = i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec());
                out.insert(rel, (m.ino(), mtime, fs::read(&p).unwrap()));
            }
        }
    }
    out
}

/// Flips one byte of `path` in place (real bytes on disk, served by nginx as they are) and
/// returns the original contents.
fn flip(path: &Path, at: usize) -> Vec<u8> {
    let orig = fs::read(path).unwrap();
    let mut b = orig.clone();
    b[at] ^= 0x01;
    fs::write(path, b).unwrap();
    orig
}

/// Appends `n` claims (category c, citing entry 2) to ledger `l` with `custody import`.
fn import_claims(w: &Work, l: &str, tag: &str, n: usize) {
    let mut text = String::new();
    for k in 0..n {
        text.push_str(&format!(
            "{{\"kind\":\"claim\",\"statement\":\"{tag} {k}\",\"count\":1,\"category\":\"c\",\"period\":\"2024\",\"cites\":[2]}}\n"
        ));
    }
    let file = format!("{tag}.jsonl");
    fs::write(w.path(&file), text).unwrap();
    w.ok(&["import", l, "--key", RESEARCHER_KEY, &file]);
}

#[test]
fn sample_ledger_is_published_served_by_nginx_and_cloned_byte_for_byte() {
    let tmp = sample_copy();
    let cwd = tmp.path();
    let www = cwd.join("www");
    let (code, out, err) = custody(cwd, &["publish", "ledger", "www/nk-log"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("published tree size 30 "), "{out}");
    let layout: Vec<String> = files(&www.join("nk-log")).into_keys().collect();
    println!(
        "published layout of the sample ledger:\n  {}",
        layout.join("\n  ")
    );
    assert_eq!(
        layout,
        ["checkpoint", "tile/0/000.p/30", "tile/entries/000.p/30"]
    );
    // The published checkpoint is the recorded note, byte for byte.
    let recorded =
        fs::read(cwd.join("ledger/checkpoints/000000000030-7e549040606888b0.txt")).unwrap();
    assert_eq!(fs::read(www.join("nk-log/checkpoint")).unwrap(), recorded);
    // Publishing again writes nothing.
    let (code, out, _) = custody(cwd, &["publish", "ledger", "www/nk-log"]);
    assert_eq!(code, 0);
    assert!(out.contains("nothing written"), "{out}");

    let repo_keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("keys/operator.pub");
    let vk = vkey(
        cwd,
        &repo_keys.display().to_string(),
        "example.org/nk-repatriation",
    );
    let nginx = Nginx::start(&www);
    let url = nginx.url("nk-log");

    // C2SP content types and caching, as nginx sends them.
    let h = nginx.head("/nk-log/checkpoint");
    assert!(h.starts_with("HTTP/1.1 200"), "{h}");
    assert!(h.contains("Content-Type: text/plain; charset=utf-8"), "{h}");
    assert!(h.contains("Cache-Control: no-cache"), "{h}");
    let h = nginx.head("/nk-log/tile/entries/000.p/30");
    assert!(h.contains("Content-Type: application/octet-stream"), "{h}");
    assert!(
        h.contains("Cache-Control: public, max-age=31536000, immutable"),
        "{h}"
    );

    let (code, out, err) = custody(cwd, &["clone", &url, "L2", "--trust", &vk]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("cloned 30 entries (tree size 30"), "{out}");
    assert_eq!(
        fs::read(cwd.join("L2/entries")).unwrap(),
        fs::read(cwd.join("ledger/entries")).unwrap()
    );
    assert_eq!(
        fs::read(cwd.join("L2/checkpoints/000000000030-7e549040606888b0.txt")).unwrap(),
        recorded
    );
    let (code, out, err) = custody(cwd, &["verify", "L2", "--trust", &vk]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("checkpoint ok: tree size 30"), "{out}");

    // A clone refuses a log whose checkpoint is not signed by the trusted key.
    let other = Work::keyed();
    let wrong = vkey(
        other.cwd(),
        "keys/operator.pub",
        "example.org/nk-repatriation",
    );
    let (code, _, err) = custody(cwd, &["clone", &url, "L3", "--trust", &wrong]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("nk-log/checkpoint"), "{err}");
    assert!(!cwd.join("L3").exists(), "a failed clone leaves nothing");

    // Changed bytes, each named, each leaving nothing behind.
    let log = www.join("nk-log");
    for (file, at, named) in [
        ("checkpoint", 90, "nk-log/checkpoint"),
        ("tile/0/000.p/30", 100, "nk-log/tile/0/000.p/30"),
        ("tile/entries/000.p/30", 300, "nk-log/tile/entries/000.p/30"),
        ("tile/entries/000.p/30", 0, "nk-log/tile/entries/000.p/30"),
    ] {
        let orig = flip(&log.join(file), at);
        let (code, _, err) = custody(cwd, &["clone", &url, "L3", "--trust", &vk]);
        assert_eq!(code, 1, "{file}@{at}: {err}");
        assert!(err.contains("clone FAILED"), "{err}");
        assert!(err.contains(named), "{file}@{at}: {err}");
        assert!(!cwd.join("L3").exists(), "a failed clone leaves nothing");
        fs::write(log.join(file), orig).unwrap();
    }
    // A symbolic link planted in the published directory is refused, never followed.
    fs::rename(log.join("tile/0/000.p/30"), cwd.join("moved")).unwrap();
    std::os::unix::fs::symlink(cwd.join("moved"), log.join("tile/0/000.p/30")).unwrap();
    let (code, _, err) = custody(cwd, &["clone", "www/nk-log", "L3", "--trust", &vk]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("symbolic link"), "{err}");
    // From a directory (no web server) the clone is the same.
    fs::remove_file(log.join("tile/0/000.p/30")).unwrap();
    fs::rename(cwd.join("moved"), log.join("tile/0/000.p/30")).unwrap();
    let (code, _, err) = custody(cwd, &["clone", "www/nk-log", "L4", "--trust", &vk]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        fs::read(cwd.join("L4/entries")).unwrap(),
        fs::read(cwd.join("ledger/entries")).unwrap()
    );
    drop(nginx);
}

#[test]
fn monitor_follows_a_growing_log_through_nginx_and_catches_a_fork() {
    const ORIGIN: &str = "example.org/published";
    let w = Work::keyed();
    let cwd = w.cwd();
    init_ledger(cwd, "L", ORIGIN);
    fs::write(w.path("report.txt"), "report\n").unwrap();
    w.ok(&source_args("L", RESEARCHER_KEY, "2025", "media"));
    // 699 claims: with the source and the state commitment `checkpoint` appends, 703 entries.
    import_claims(&w, "L", "first", 699);
    w.ok(&["checkpoint", "L", "--key", OPERATOR_KEY]);
    // A second history: a copy of the ledger at 703 entries, grown differently later.
    common::copy_dir(&w.path("L"), &w.path("Lfork"));
    let www = w.path("www");
    let (code, _, err) = custody(cwd, &["publish", "L", "www/log"]);
    assert_eq!(code, 0, "{err}");
    let vk = vkey(cwd, "keys/operator.pub", ORIGIN);
    let nginx = Nginx::start(&www);
    let url = nginx.url("log");

    let (code, out, err) = custody(cwd, &["monitor", &url, "--trust", &vk, "--state", "st"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("first run: 703 entries (tree size 703"),
        "{out}"
    );

    // 600 more entries, published onto the published log: only the tiles that change are
    // written; every tile already there keeps its inode, its mtime and its bytes.
    import_claims(&w, "L", "second", 599); // and a state commitment: 600 entries
    w.ok(&["checkpoint", "L", "--key", OPERATOR_KEY]);
    let before = files(&www.join("log"));
    let (code, out, err) = custody(cwd, &["publish", "L", "www/log"]);
    assert_eq!(code, 0, "{err}");
    let after = files(&www.join("log"));
    let mut want: Vec<String> = tiles::new_bundles(703, 1303)
        .unwrap()
        .into_iter()
        .chain(tiles::new_hash_tiles(703, 1303).unwrap())
        .map(|t: TileId| t.path())
        .collect();
    want.sort();
    let mut new_files: Vec<String> = after
        .keys()
        .filter(|k| !before.contains_key(*k))
        .cloned()
        .collect();
    new_files.sort();
    assert_eq!(new_files, want, "{out}");
    assert!(
        out.contains(&format!("{} tiles written", want.len())),
        "{out}"
    );
    for (path, old) in &before {
        if path == "checkpoint" {
            assert_ne!(after[path].2, old.2, "the checkpoint is replaced");
            continue;
        }
        assert_eq!(&after[path], old, "{path} was rewritten");
    }
    // Full tiles of the first publish stay; partial tiles of the old size stay too.
    assert!(after.contains_key("tile/0/000") && after.contains_key("tile/0/002.p/191"));

    let (code, out, err) = custody(cwd, &["monitor", &url, "--trust", &vk, "--state", "st"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("tree size 703 -> 1303 ") && out.contains("600 new entries verified"),
        "{out}"
    );
    let (code, out, _) = custody(cwd, &["monitor", &url, "--trust", &vk, "--state", "st"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("no new entries: tree size 1303"), "{out}");

    // 100 more; a changed byte in a tile the consistency proof reads, then in a bundle, then in
    // the checkpoint: each refused (exit 1) and named; restored, the monitor goes on.
    import_claims(&w, "L", "third", 99);
    w.ok(&["checkpoint", "L", "--key", OPERATOR_KEY]);
    let (code, _, err) = custody(cwd, &["publish", "L", "www/log"]);
    assert_eq!(code, 0, "{err}");
    let log = www.join("log");
    for (file, at) in [
        ("tile/0/005.p/123", 40),
        ("tile/1/000.p/5", 33),
        ("tile/entries/005.p/123", 500),
        ("checkpoint", 30),
    ] {
        let orig = flip(&log.join(file), at);
        let (code, _, err) = custody(cwd, &["monitor", &url, "--trust", &vk, "--state", "st"]);
        assert_eq!(code, 1, "{file}: {err}");
        assert!(err.contains("monitor FAILED"), "{err}");
        assert!(err.contains(file), "{file}: {err}");
        fs::write(log.join(file), orig).unwrap();
    }
    let (code, out, err) = custody(cwd, &["monitor", &url, "--trust", &vk, "--state", "st"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("tree size 1303 -> 1403 "), "{out}");
    let (code, _, err) = custody(cwd, &["verify", "st/ledger", "--trust", &vk]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        fs::read(w.path("st/ledger/entries")).unwrap(),
        fs::read(w.path("L/entries")).unwrap()
    );

    // The fork: the copy at 703 entries grows 800 other entries, signed and checkpointed with
    // the same operator key, and is published elsewhere. Publishing it over the real log's
    // directory is refused; the monitor, shown it, exits 1 with evidence.
    import_claims(&w, "Lfork", "other", 799);
    w.ok(&["checkpoint", "Lfork", "--key", OPERATOR_KEY]);
    let (code, _, err) = custody(cwd, &["publish", "Lfork", "www/log"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("contradicts the log"), "{err}");
    let (code, _, err) = custody(cwd, &["publish", "Lfork", "www/fork"]);
    assert_eq!(code, 0, "{err}");
    let state_before = fs::read(w.path("st/ledger/entries")).unwrap();
    let (code, _, err) = custody(
        cwd,
        &[
            "monitor",
            &nginx.url("fork"),
            "--trust",
            &vk,
            "--state",
            "st",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("the log forked"), "{err}");
    let file = w.path("st/fork-evidence-1403-1503.json");
    assert!(
        err.contains("written to st/fork-evidence-1403-1503.json"),
        "{err}"
    );
    assert_eq!(fs::read(w.path("st/ledger/entries")).unwrap(), state_before);
    // The evidence stands on its own: two notes under the vkey, a proof that holds for the
    // newer tree and shows its first 1403 leaves are not the older tree.
    let bytes = fs::read(&file).unwrap();
    let key = checkpoint::parse_vkey(&vk).unwrap();
    let checked = fork::verify(&bytes, &key).unwrap();
    assert_eq!(checked.verdict, fork::Verdict::Fork);
    assert_eq!((checked.a.size(), checked.b.size()), (1403, 1503));
    assert_eq!(
        checked.a.note().as_bytes(),
        fs::read(log.join("checkpoint")).unwrap()
    );
    assert_eq!(
        checked.b.note().as_bytes(),
        fs::read(www.join("fork/checkpoint")).unwrap()
    );
    // `custody check-fork` proves it offline (exit 1: a fork is proven).
    let out = common::custody(w.cwd())
        .args(["check-fork", file.to_str().unwrap(), "--trust", &vk])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Changing the proof's claim breaks it: the evidence is checked, not believed.
    let mut forged: fork::ForkEvidence = serde_json::from_slice(&bytes).unwrap();
    forged.prefix_root = base64::engine::general_purpose::STANDARD.encode(checked.a.root().0);
    let forged = serde_json::to_vec(&forged).unwrap();
    assert!(fork::verify(&forged, &key).map_or(true, |c| c.verdict != fork::Verdict::Fork));
    drop(nginx);
}
