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
        Nginx::start_with(root, NGINX_CONF)
    }

    /// nginx with configuration `conf` (`PREFIX`, `PORT` and `ROOT` filled in).
    fn start_with(root: &Path, conf: &str) -> Nginx {
        let prefix = tempfile::tempdir().unwrap();
        fs::create_dir_all(prefix.path().join("tmp")).unwrap();
        // A port the kernel just had free on loopback; nginx binds it a moment later.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let conf = conf
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

    /// nginx's access log so far.
    fn access_log(&self) -> String {
        fs::read_to_string(self._prefix.path().join("access.log")).unwrap_or_default()
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
    assert!(out.starts_with("published tree size 33 "), "{out}");
    let layout: Vec<String> = files(&www.join("nk-log")).into_keys().collect();
    println!(
        "published layout of the sample ledger:\n  {}",
        layout.join("\n  ")
    );
    assert_eq!(
        layout,
        ["checkpoint", "tile/0/000.p/33", "tile/entries/000.p/33"]
    );
    // The published checkpoint is the recorded note, byte for byte.
    let recorded =
        fs::read(cwd.join("ledger/checkpoints/000000000033-0b7a598f59a3c9fb.txt")).unwrap();
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
    let h = nginx.head("/nk-log/tile/entries/000.p/33");
    assert!(h.contains("Content-Type: application/octet-stream"), "{h}");
    assert!(
        h.contains("Cache-Control: public, max-age=31536000, immutable"),
        "{h}"
    );

    let (code, out, err) = custody(cwd, &["clone", &url, "L2", "--trust", &vk]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("cloned 33 entries (tree size 33"), "{out}");
    assert_eq!(
        fs::read(cwd.join("L2/entries")).unwrap(),
        fs::read(cwd.join("ledger/entries")).unwrap()
    );
    assert_eq!(
        fs::read(cwd.join("L2/checkpoints/000000000033-0b7a598f59a3c9fb.txt")).unwrap(),
        recorded
    );
    let (code, out, err) = custody(cwd, &["verify", "L2", "--trust", &vk]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("checkpoint ok: tree size 33"), "{out}");

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
        ("tile/0/000.p/33", 100, "nk-log/tile/0/000.p/33"),
        ("tile/entries/000.p/33", 300, "nk-log/tile/entries/000.p/33"),
        ("tile/entries/000.p/33", 0, "nk-log/tile/entries/000.p/33"),
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
    fs::rename(log.join("tile/0/000.p/33"), cwd.join("moved")).unwrap();
    std::os::unix::fs::symlink(cwd.join("moved"), log.join("tile/0/000.p/33")).unwrap();
    let (code, _, err) = custody(cwd, &["clone", "www/nk-log", "L3", "--trust", &vk]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("symbolic link"), "{err}");
    // From a directory (no web server) the clone is the same.
    fs::remove_file(log.join("tile/0/000.p/33")).unwrap();
    fs::rename(cwd.join("moved"), log.join("tile/0/000.p/33")).unwrap();
    let (code, _, err) = custody(cwd, &["clone", "www/nk-log", "L4", "--trust", &vk]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        fs::read(cwd.join("L4/entries")).unwrap(),
        fs::read(cwd.join("ledger/entries")).unwrap()
    );
    drop(nginx);
}

/// A host that compresses (`Content-Encoding: gzip`, as C2SP suggests for bundles): nginx with
/// gzip on for every type, logging the encoding of each answer. `clone` and `monitor` ask for
/// gzip, get it, and verify exactly as over identity.
#[test]
fn clone_and_monitor_accept_gzip_from_the_host() {
    const ORIGIN: &str = "example.org/gzip";
    let w = Work::keyed();
    let cwd = w.cwd();
    init_ledger(cwd, "L", ORIGIN);
    fs::write(w.path("report.txt"), "report\n").unwrap();
    w.ok(&source_args("L", RESEARCHER_KEY, "2025", "media"));
    import_claims(&w, "L", "gz", 600);
    w.ok(&["checkpoint", "L", "--key", OPERATOR_KEY]);
    let (code, _, err) = custody(cwd, &["publish", "L", "www/log"]);
    assert_eq!(code, 0, "{err}");
    let conf = NGINX_CONF.replace(
        "    access_log PREFIX/access.log;\n",
        "    log_format enc '$request_uri $sent_http_content_encoding';\n    access_log PREFIX/access.log enc;\n    gzip on;\n    gzip_min_length 1;\n    gzip_types *;\n",
    );
    assert_ne!(conf, NGINX_CONF);
    let nginx = Nginx::start_with(&w.path("www"), &conf);
    let vk = vkey(cwd, "keys/operator.pub", ORIGIN);
    let url = nginx.url("log");
    let (code, out, err) = custody(cwd, &["clone", &url, "L2", "--trust", &vk]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("cloned 604 entries"), "{out}");
    assert_eq!(
        fs::read(w.path("L2/entries")).unwrap(),
        fs::read(w.path("L/entries")).unwrap()
    );
    let (code, _, err) = custody(cwd, &["monitor", &url, "--trust", &vk, "--state", "st"]);
    assert_eq!(code, 0, "{err}");
    let log = nginx.access_log();
    for path in [
        "/log/checkpoint",
        "/log/tile/entries/000",
        "/log/tile/0/000",
    ] {
        assert!(
            log.lines().any(|l| l == format!("{path} gzip")),
            "{path} was not sent gzipped:\n{log}"
        );
    }
    // A changed byte in a compressed bundle is still caught, naming the bundle.
    flip(&w.path("www/log/tile/entries/001"), 700);
    let (code, _, err) = custody(cwd, &["clone", &url, "L3", "--trust", &vk]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("log/tile/entries/001"), "{err}");
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

/// A running `custody serve`; killed (SIGKILL) and reaped when dropped, also on a failed test.
struct Serve {
    child: Child,
    url: String,
    stderr: PathBuf,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    /// `custody serve ledger --listen 127.0.0.1:0 extra...` in `cwd`, once it printed its
    /// address (at most 60 s); `Err` with its stderr if it exits first.
    fn start(cwd: &Path, ledger: &str, extra: &[&str], run: u32) -> Result<Serve, String> {
        let stderr = cwd.join(format!("serve-{run}.err"));
        let mut child = Command::new(common::bin())
            .args(["serve", ledger, "--listen", "127.0.0.1:0"])
            .args(extra)
            .current_dir(cwd)
            .env_remove("CUSTODY_PASSPHRASE")
            .env(
                "CUSTODY_CACHE_DIR",
                std::env::temp_dir().join("custody-test-cache"),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            // The first line is the address; the rest is drained so the pipe never fills.
            for line in std::io::BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let mut s = Serve {
            child,
            url: String::new(),
            stderr,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(line) => {
                    let url = line.rsplit(' ').next().unwrap_or_default();
                    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
                    s.url = url.to_string();
                    return Ok(s);
                }
                Err(_) => {
                    assert!(Instant::now() < deadline, "custody serve did not start");
                    if let Ok(Some(st)) = s.child.try_wait() {
                        return Err(format!(
                            "exited with {st}: {}",
                            fs::read_to_string(&s.stderr).unwrap_or_default()
                        ));
                    }
                }
            }
        }
    }

    /// SIGTERM, then the exit code (at most 60 s).
    fn terminate(mut self) -> Option<i32> {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code();
            }
            assert!(Instant::now() < deadline, "no exit 60 s after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Claim `n` (distinct for each `n`) citing entry 2, signed by `key` for `origin`: the bytes of
/// its `.cust` file.
fn signed_claim(key: &custody_core::keys::SecretKey, origin: &str, n: u64) -> Vec<u8> {
    use custody_core::entry::{Body, Content};
    Content {
        origin: origin.into(),
        signer: key.id(),
        claimed_time: 1_760_000_000 + n as i64,
        body: Body::Claim {
            statement: format!("live case {n}: one person returned"),
            count: Some(1),
            unit: "people".into(),
            category: "forced-repatriation".into(),
            period: "2025".into(),
            place: "Dandong".into(),
            cites: vec![2],
        },
    }
    .sign(key.signing_key())
    .unwrap()
    .to_file_bytes()
    .unwrap()
}

/// Issue 14's "Done when", in one test: the sample ledger published, served by nginx and cloned
/// over HTTP into a ledger `verify` accepts; then 10,000 submissions from 48 concurrent clients
/// to `custody serve --publish` (a checkpoint signed and published every 300 ms) with the
/// server SIGKILLed and restarted in between, `monitor` following the published log through
/// nginx after every kill; at the end every acknowledged submission is in the ledger where it
/// was said to be, and the monitor holds the whole published tree, every entry verified.
#[test]
fn sample_published_cloned_then_10000_submissions_with_sigkills_and_monitor_follows() {
    const ORIGIN: &str = "example.org/live";
    const TOTAL: u64 = 10_000;
    // Enough clients in flight that a group commit (one fsync) takes many submissions.
    const CLIENTS: u64 = 48;
    let started = Instant::now();
    // The sample ledger, published and cloned over HTTP.
    let tmp = sample_copy();
    let cwd = tmp.path();
    let (code, out, err) = custody(cwd, &["publish", "ledger", "www/nk-log"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("published tree size 33 "), "{out}");
    let nginx = Nginx::start(&cwd.join("www"));
    let repo_pub = Path::new(env!("CARGO_MANIFEST_DIR")).join("keys/operator.pub");
    let sample_vk = vkey(
        cwd,
        &repo_pub.display().to_string(),
        "example.org/nk-repatriation",
    );
    let (code, _, err) = custody(
        cwd,
        &["clone", &nginx.url("nk-log"), "C", "--trust", &sample_vk],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        fs::read(cwd.join("C/entries")).unwrap(),
        fs::read(cwd.join("ledger/entries")).unwrap()
    );
    let (code, out, err) = custody(cwd, &["verify", "C", "--trust", &sample_vk]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("checkpoint ok: tree size 33"), "{out}");

    // The sample's private keys are not in the repository, so the live log is a new ledger of
    // this test's keys: 0 genesis, 1 the researcher's grant, 2 the source every claim cites.
    common::make_keys(cwd);
    init_ledger(cwd, "L", ORIGIN);
    fs::write(cwd.join("report.txt"), "report\n").unwrap();
    common::run_ok(cwd, &source_args("L", RESEARCHER_KEY, "2025", "ngo-report"));
    let vk = vkey(cwd, "keys/operator.pub", ORIGIN);
    let researcher = custody_store::files::load_secret(&cwd.join(RESEARCHER_KEY), || {
        panic!("test keys are not encrypted")
    })
    .unwrap();
    // 10,000 signed submissions, made before any server runs (on every core).
    let subs: Vec<Vec<u8>> = {
        use rayon::prelude::*;
        (0..TOTAL)
            .into_par_iter()
            .map(|n| signed_claim(&researcher, ORIGIN, n))
            .collect()
    };
    let subs = std::sync::Arc::new(subs);
    let sign_secs = started.elapsed().as_secs_f64();

    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    let url: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    // (submission number, status, index, leaf hash) of every 2xx, the leaf hash checked as
    // `custody submit` checks it: recomputed here from the submission, the index and prev_hash.
    type Acked = Vec<(u64, u16, u64, String)>;
    let acked: Arc<Mutex<Acked>> = Arc::new(Mutex::new(Vec::new()));
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let end = Instant::now() + Duration::from_secs(240);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (url, acked, done, stop, subs) = (
                url.clone(),
                acked.clone(),
                done.clone(),
                stop.clone(),
                subs.clone(),
            );
            std::thread::spawn(move || {
                let new_agent = || {
                    ureq::Agent::new_with_config(
                        ureq::Agent::config_builder()
                            .http_status_as_error(false)
                            .timeout_global(Some(Duration::from_secs(20)))
                            .build(),
                    )
                };
                let mut agent = new_agent();
                let mine: Vec<u64> = (c..TOTAL).step_by(CLIENTS as usize).collect();
                let mut at = 0;
                for _ in 0..1_000_000 {
                    if at == mine.len() || stop.load(Ordering::SeqCst) || Instant::now() > end {
                        break;
                    }
                    let Some(u) = url.lock().unwrap().clone() else {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    };
                    let n = mine[at];
                    let answer = agent
                        .post(format!("{u}/add"))
                        .send(&subs[n as usize][..])
                        .and_then(|mut r| {
                            let s = r.status().as_u16();
                            Ok((s, r.body_mut().read_to_string()?))
                        });
                    match answer {
                        Ok((s @ (200 | 201), body)) => {
                            let a: custody_core::json::AddedJson = serde_json::from_str(&body)
                                .unwrap_or_else(|e| panic!("{e}: {body}"));
                            let sub =
                                custody_core::entry::Submission::from_file_bytes(&subs[n as usize])
                                    .unwrap();
                            let prev = custody_core::hash::Digest::from_hex(&a.prev_hash).unwrap();
                            let entry = sub.into_entry(a.index, prev).to_bytes().unwrap();
                            assert_eq!(
                                custody_core::hash::Digest::leaf(&entry).to_hex(),
                                a.leaf_hash,
                                "{body}"
                            );
                            acked.lock().unwrap().push((n, s, a.index, a.leaf_hash));
                            done.fetch_add(1, Ordering::SeqCst);
                            at += 1;
                        }
                        // The server died under the request (or is stopping): the same
                        // submission again, on a new connection, once a server is up.
                        Ok((503, _)) | Err(_) => {
                            agent = new_agent();
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Ok((s, body)) => panic!("submission {n}: {s}: {body}"),
                    }
                }
            })
        })
        .collect();

    let serve_args = [
        "--key",
        OPERATOR_KEY,
        "--checkpoint-every",
        "300ms",
        "--publish",
        "www/live",
    ];
    let live = nginx.url("live");
    let (mut kills, mut repaired, mut monitored) = (0u32, 0u32, Vec::new());
    for run in 0..40u32 {
        assert!(
            Instant::now() < end,
            "the submissions did not finish in time"
        );
        let server = match Serve::start(cwd, "L", &serve_args, run) {
            Ok(s) => s,
            Err(e) => {
                // A kill during a write leaves a torn tail (never acknowledged): repaired.
                assert!(e.contains("custody repair"), "{e}");
                common::run_ok(cwd, &["repair", "L"]);
                repaired += 1;
                Serve::start(cwd, "L", &serve_args, run + 100).unwrap_or_else(|e| panic!("{e}"))
            }
        };
        *url.lock().unwrap() = Some(server.url.clone());
        // Killed after about 1,200 more acknowledgements (or 3 s), six times; the last run
        // takes the rest and stops cleanly.
        let target = done.load(Ordering::SeqCst) + 1_200;
        let until = Instant::now() + Duration::from_secs(3);
        while done.load(Ordering::SeqCst) < target.min(TOTAL) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        if kills == 6 || done.load(Ordering::SeqCst) >= TOTAL {
            let last_end = Instant::now() + Duration::from_secs(120);
            while done.load(Ordering::SeqCst) < TOTAL && Instant::now() < last_end {
                std::thread::sleep(Duration::from_millis(10));
            }
            stop.store(true, Ordering::SeqCst);
            *url.lock().unwrap() = None;
            // SIGTERM: the batch in hand, a last checkpoint, published.
            assert_eq!(server.terminate(), Some(0));
            break;
        }
        *url.lock().unwrap() = None;
        drop(server); // SIGKILL
        kills += 1;
        eprintln!(
            "SIGKILL {kills} after {:.1} s: {} acknowledged",
            started.elapsed().as_secs_f64(),
            done.load(Ordering::SeqCst)
        );
        // The monitor follows what was published so far, through nginx.
        if cwd.join("www/live/checkpoint").exists() {
            let (code, out, err) =
                custody(cwd, &["monitor", &live, "--trust", &vk, "--state", "mon"]);
            assert_eq!(code, 0, "{err}");
            monitored.push(out.trim().to_string());
        }
    }
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert_eq!(
        acked.len() as u64,
        TOTAL,
        "every submission acknowledged once"
    );
    assert!(kills >= 3, "only {kills} SIGKILLs");

    // Every acknowledged submission is in the ledger, where its answer said, exactly once;
    // every other entry after the first three is a state commitment that a scheduled
    // checkpoint appended, never two in a row (a commitment whose checkpoint a SIGKILL cut
    // off is signed by the next run, not committed again), and the log ends in one.
    let report = common::verify(&cwd.join("L")).unwrap_or_else(|f| panic!("{f:?}"));
    std::env::set_var(
        "CUSTODY_CACHE_DIR",
        std::env::temp_dir().join("custody-test-cache"),
    );
    let l = custody_store::Ledger::open(&cwd.join("L"), custody_store::Access::Read).unwrap();
    let mut at = std::collections::BTreeSet::new();
    for (n, status, index, leaf) in &acked {
        assert_eq!(&l.leaf(*index).unwrap().to_hex(), leaf, "{n}: {status}");
        assert!(at.insert(*index), "entry {index} acknowledged twice");
    }
    let commitments: Vec<u64> = (3..l.size())
        .filter(|i| !at.contains(i))
        .inspect(|&i| {
            let body = l.entry(i).unwrap().content.body;
            assert!(
                matches!(body, custody_core::entry::Body::StateCommitment { .. }),
                "entry {i} is neither acknowledged nor a commitment: {body:?}"
            );
        })
        .collect();
    assert_eq!(
        report.entries,
        3 + TOTAL + commitments.len() as u64,
        "each submission appended once"
    );
    assert_eq!(commitments.last(), Some(&(report.entries - 1)));
    assert!(
        commitments.windows(2).all(|p| p[1] > p[0] + 1),
        "two commitments in a row: {commitments:?}"
    );
    drop(l);

    // The published checkpoint is the last one signed, of the whole ledger; the monitor
    // follows it to the end: its size is the checkpoint's, its entries the ledger's.
    let note = fs::read(cwd.join("www/live/checkpoint")).unwrap();
    let key = checkpoint::parse_vkey(&vk).unwrap();
    let cp = checkpoint::open(&note, &key).unwrap();
    assert_eq!(cp.size(), report.entries);
    let (code, out, err) = custody(cwd, &["monitor", &live, "--trust", &vk, "--state", "mon"]);
    assert_eq!(code, 0, "{err}");
    monitored.push(out.trim().to_string());
    assert!(
        out.contains(&format!("-> {} (root", cp.size())),
        "{monitored:?}"
    );
    let (code, out, _) = custody(cwd, &["monitor", &live, "--trust", &vk, "--state", "mon"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with(&format!("no new entries: tree size {}", cp.size())),
        "{out}"
    );
    let m = common::verify(&cwd.join("mon/ledger")).unwrap_or_else(|f| panic!("{f:?}"));
    assert_eq!(m.entries, cp.size());
    // The served log's last checkpoint ends in a commitment: a bundle exported against it
    // (no key) checks complete, without --allow-incomplete.
    let (code, _, err) = custody(cwd, &["export", "L", "--entry", "3", "-o", "e.json"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = custody(cwd, &["check", "e.json", "--trust", &vk]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("complete: every correction"), "{out}");
    assert_eq!(
        fs::read(cwd.join("mon/ledger/entries")).unwrap(),
        fs::read(cwd.join("L/entries")).unwrap()
    );
    eprintln!(
        "{TOTAL} submissions ({sign_secs:.1} s to sign) acknowledged over {} runs, {kills} SIGKILLs, {repaired} torn tails repaired, {} state commitments; monitor runs: {monitored:#?}; {:.1} s in all",
        kills + 1,
        commitments.len(),
        started.elapsed().as_secs_f64()
    );
    drop(nginx);
}

/// `serve --publish DIR` publishes at start (a checkpoint signed before, never published, is
/// there before the server listens) and refuses, before listening, a DIR that another log
/// publishes into, with the reason; the directory is left as it was.
#[test]
fn serve_publishes_at_start_and_refuses_another_logs_directory() {
    let w = Work::keyed();
    let cwd = w.cwd();
    init_ledger(cwd, "L", "example.org/one");
    w.ok(&["checkpoint", "L", "--key", OPERATOR_KEY]);
    init_ledger(cwd, "M", "example.org/other");
    w.ok(&["checkpoint", "M", "--key", OPERATOR_KEY]);
    let (code, _, err) = custody(cwd, &["publish", "M", "www/m"]);
    assert_eq!(code, 0, "{err}");
    let before = files(&w.path("www/m"));
    match Serve::start(cwd, "L", &["--publish", "www/m"], 0) {
        Ok(_) => panic!("custody serve started on another log's directory"),
        Err(e) => assert!(e.contains("not a checkpoint of this log"), "{e}"),
    }
    assert_eq!(files(&w.path("www/m")), before);
    // Into a directory of its own: L's recorded checkpoint is published before it listens.
    let server = Serve::start(cwd, "L", &["--publish", "www/l"], 1).unwrap();
    let recorded = common::checkpoint_files(&w.path("L"));
    assert_eq!(
        fs::read(w.path("www/l/checkpoint")).unwrap(),
        fs::read(recorded.last().unwrap()).unwrap()
    );
    assert!(w.path("www/l/tile/entries/000.p/3").is_file());
    assert_eq!(server.terminate(), Some(0));
}
