//! custody's benchmark: figures as ratios to the raw primitives measured in the same run.
//!
//! `cargo bench` runs it; `CUSTODY_BENCH_N` sets the ledger size (default 20,000; CI runs a
//! smoke size of 500). It builds its ledger under `target/bench-ledgers/` and prints a Markdown
//! table for docs/BENCHMARKS.md. Timings come from `std::time::Instant` around whole operations.

use custody_core::entry::{Body, Content, Role};
use custody_core::keys::SecretKey;
use custody_store::{Access, Ledger};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn content(key: &SecretKey, origin: &str, body: Body, t: i64) -> Content {
    Content {
        origin: origin.into(),
        signer: key.id(),
        claimed_time: t,
        body,
    }
}

fn claim(i: u64) -> Body {
    Body::Claim {
        statement: format!("case {i}: one person returned at the border crossing"),
        count: Some(1),
        unit: "people".into(),
        category: "forced-repatriation".into(),
        period: "2024-05".into(),
        place: "Dandong, Liaoning, China".into(),
        cites: vec![2],
    }
}

fn per_sec(n: u64, secs: f64) -> f64 {
    n as f64 / secs.max(1e-9)
}

/// Builds a ledger with `n` claims after genesis, grant and one source.
fn build(dir: &Path, n: u64) -> (f64, SecretKey) {
    let origin = "bench.example/ledger";
    let op = SecretKey::from_seed("operator", &[1u8; 32]);
    let re = SecretKey::from_seed("researcher", &[2u8; 32]);
    let _ = std::fs::remove_dir_all(dir);
    let genesis = content(
        &op,
        origin,
        Body::Genesis {
            operator: op.public().bytes(),
            name: "operator".into(),
        },
        0,
    )
    .sign(op.signing_key())
    .expect("sign");
    let mut l = Ledger::create(dir, genesis).expect("create");
    let grant = content(
        &op,
        origin,
        Body::KeyGrant {
            key: re.public().bytes(),
            name: "researcher".into(),
            role: Role::Researcher,
        },
        1,
    )
    .sign(op.signing_key())
    .expect("sign");
    l.append(grant).expect("grant");
    let src = content(
        &re,
        origin,
        Body::Source {
            sha256: custody_core::hash::Digest::of(b"doc"),
            size: 3,
            title: "Bench source".into(),
            publisher: "Bench".into(),
            date: "2025-01-01".into(),
            kind: custody_core::entry::SourceKind::Other,
            locator: None,
        },
        2,
    )
    .sign(re.signing_key())
    .expect("sign");
    l.append(src).expect("source");
    drop(l);
    // The claims go in through the real `custody import` path: JSON Lines, parallel signing,
    // group commit. The JSONL and key file are written first and not timed.
    let jsonl = dir.with_extension("jsonl");
    {
        use std::io::Write as _;
        let mut w = std::io::BufWriter::new(std::fs::File::create(&jsonl).expect("jsonl"));
        for k in 0..n {
            writeln!(
                w,
                r#"{{"kind":"claim","statement":"case {k}: one person returned at the border crossing","count":1,"category":"forced-repatriation","period":"2024-05","place":"Dandong, Liaoning, China","cites":[2]}}"#
            )
            .expect("write");
        }
    }
    let key_path = dir.with_extension("key");
    let _ = std::fs::remove_file(&key_path);
    let text = re.to_file_text(None).expect("key text");
    custody_store::files::write_new(&key_path, text.as_bytes(), false, true).expect("key file");
    let start = Instant::now();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_custody"))
        .arg("import")
        .arg(dir)
        .arg("--key")
        .arg(&key_path)
        .arg(&jsonl)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run custody import");
    assert!(status.success(), "custody import failed");
    (start.elapsed().as_secs_f64(), re)
}

fn raw(n: usize) -> (f64, f64, f64, f64, f64) {
    let key = SigningKey::from_bytes(&[3u8; 32]);
    let vk: VerifyingKey = key.verifying_key();
    let msgs: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("message {i} of some 200 bytes {}", "x".repeat(160)).into_bytes())
        .collect();
    let t = Instant::now();
    let sigs: Vec<Signature> = msgs.par_iter().map(|m| key.sign(m)).collect();
    let sign = per_sec(n as u64, t.elapsed().as_secs_f64());
    let t = Instant::now();
    msgs.par_iter()
        .zip(sigs.par_iter())
        .for_each(|(m, s)| vk.verify_strict(m, s).expect("verify"));
    let strict = per_sec(n as u64, t.elapsed().as_secs_f64());
    let t = Instant::now();
    msgs.par_chunks(256)
        .zip(sigs.par_chunks(256))
        .for_each(|(m, s)| {
            let refs: Vec<&[u8]> = m.iter().map(Vec::as_slice).collect();
            let keys = vec![vk; m.len()];
            ed25519_dalek::verify_batch(&refs, s, &keys).expect("batch");
        });
    let batch = per_sec(n as u64, t.elapsed().as_secs_f64());
    let data = vec![7u8; 64 << 20];
    let t = Instant::now();
    let _ = custody_core::hash::Digest::of(&data);
    let sha_mb = 64.0 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for m in &msgs {
        let _ = custody_core::hash::Digest::leaf(m);
    }
    let leaf = per_sec(n as u64, t.elapsed().as_secs_f64());
    (sign, strict, batch, sha_mb, leaf)
}

fn peak_rss_of_verify(dir: &Path) -> Option<(f64, u64)> {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_custody"));
    let t = Instant::now();
    let mut child = std::process::Command::new(exe)
        .arg("verify")
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    loop {
        if let Ok(s) = std::fs::read_to_string(&status_path) {
            for line in s.lines() {
                if let Some(v) = line.strip_prefix("VmHWM:") {
                    let kb: u64 = v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
                    peak = peak.max(kb);
                }
            }
        }
        if child.try_wait().ok()?.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    Some((t.elapsed().as_secs_f64(), peak))
}

fn main() {
    let n: u64 = std::env::var("CUSTODY_BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-ledgers");
    std::fs::create_dir_all(&root).expect("bench dir");
    // This machine's verified caches of the bench ledgers (custody keeps them outside ledger
    // directories); set before any thread starts, for this process and the ones it runs.
    let cache_a = root.join("cache-a");
    std::env::set_var("CUSTODY_CACHE_DIR", &cache_a);
    let threads = rayon::current_num_threads();
    println!("# custody benchmark: N = {n} claims, {threads} threads\n");

    let (raw_sign, raw_strict, raw_batch, sha_mb, raw_leaf) =
        raw((n as usize).clamp(2_000, 50_000));
    println!("| raw primitive ({threads} threads) | per second |\n|---|---|");
    println!("| Ed25519 sign | {raw_sign:.0} |");
    println!("| Ed25519 verify_strict | {raw_strict:.0} |");
    println!("| Ed25519 verify_batch (256 per batch) | {raw_batch:.0} |");
    println!("| SHA-256 (MB/s, one thread) | {sha_mb:.0} |");
    println!("| RFC 6962 leaf hash of a 200-byte entry (one thread) | {raw_leaf:.0} |\n");

    let big = root.join(format!("n{n}"));
    // CUSTODY_BENCH_REUSE=1 keeps an existing ledger of this size (10M entries take minutes to
    // build); the import figure is then not measured.
    let reuse = std::env::var_os("CUSTODY_BENCH_REUSE").is_some() && big.join("entries").is_file();
    let re = SecretKey::from_seed("researcher", &[2u8; 32]);
    let import_rate = if reuse {
        None
    } else {
        let (secs, _) = build(&big, n);
        Some(per_sec(n, secs))
    };

    // verify runs once, as the `custody verify` a user runs: wall time and peak RSS.
    let (verify_secs, verify_kb) = peak_rss_of_verify(&big).expect("run custody verify");
    let entries_now = Ledger::open(&big, Access::Read).expect("open").size();
    let verify_rate = per_sec(entries_now, verify_secs);

    // add: one more entry on the large ledger and on a 10-entry one, each from a fresh open.
    let small = root.join("n10");
    let _ = build(&small, 7);
    let add_time = |dir: &Path, k: i64| {
        let t = Instant::now();
        let mut l = Ledger::open(dir, Access::Write).expect("open");
        let origin = l.state().origin.clone();
        let sub = content(&re, &origin, claim(1_000_000 + k as u64), 1_000_000_000 + k)
            .sign(re.signing_key())
            .expect("sign");
        l.append(sub).expect("append");
        t.elapsed().as_secs_f64()
    };
    let mut add_small = f64::MAX;
    let mut add_big = f64::MAX;
    for k in 0..5 {
        add_small = add_small.min(add_time(&small, k));
        add_big = add_big.min(add_time(&big, 100 + k));
    }

    // checkpoint after 10k entries another machine appended: this machine's caches are 10k
    // behind, so `custody checkpoint` first verifies those 10k (chain, rules, duplicates,
    // signatures) and signs the root of what it verified. Machine B's caches are a copy of A's
    // taken before A imports 10k more.
    let more = 10_000.min(n);
    let cache_b = root.join("cache-b");
    let _ = std::fs::remove_dir_all(&cache_b);
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(&cache_a)
        .arg(&cache_b)
        .status()
        .expect("cp");
    assert!(copied.success());
    let jsonl = root.join("more.jsonl");
    {
        use std::io::Write as _;
        let mut w = std::io::BufWriter::new(std::fs::File::create(&jsonl).expect("jsonl"));
        for k in 0..more {
            writeln!(
                w,
                r#"{{"kind":"claim","statement":"later case {k}: one person returned","count":1,"category":"forced-repatriation","period":"2024-06","place":"Hyesan","cites":[2]}}"#
            )
            .expect("write");
        }
    }
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_custody"))
        .arg("import")
        .arg(&big)
        .arg("--key")
        .arg(big.with_extension("key"))
        .arg(&jsonl)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("import");
    assert!(status.success(), "custody import of 10k more failed");
    let op_key = root.join("operator.key");
    let _ = std::fs::remove_file(&op_key);
    let op = SecretKey::from_seed("operator", &[1u8; 32]);
    custody_store::files::write_new(
        &op_key,
        op.to_file_text(None).expect("key").as_bytes(),
        false,
        true,
    )
    .expect("operator key file");
    let checkpoint_with = |cache: &Path| {
        let t = Instant::now();
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_custody"))
            .arg("checkpoint")
            .arg(&big)
            .arg("--key")
            .arg(&op_key)
            .env("CUSTODY_CACHE_DIR", cache)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("checkpoint");
        assert!(status.success(), "custody checkpoint failed");
        t.elapsed().as_secs_f64()
    };
    let checkpoint_behind = checkpoint_with(&cache_b);
    let checkpoint_current = checkpoint_with(&cache_a);
    let _ = std::fs::remove_dir_all(&cache_b);

    // An inclusion proof from a fresh open, for an entry in the middle.
    let t = Instant::now();
    let l = Ledger::open(&big, Access::Read).expect("open");
    let size = l.size();
    let proof = l.prove_inclusion(size / 2 + 1, size).expect("prove");
    let proof_ms = t.elapsed().as_secs_f64() * 1e3;
    drop(l);

    let published = publish_and_monitor(&root, &big, &op_key, &op, threads);

    let entries_bytes = std::fs::metadata(big.join("entries"))
        .map(|m| m.len())
        .unwrap_or(0);

    println!("| custody operation | figure | ratio to raw |\n|---|---|---|");
    match import_rate {
        Some(r) => println!(
            "| `custody import` JSONL (sign on {threads} threads, group commit 4096) | {r:.0} entries/s | {:.2} of raw sign |",
            r / raw_sign
        ),
        None => println!("| `custody import` | (cached ledger reused, not measured) | |"),
    }
    println!(
        "| `custody verify` of {entries_now} entries (stream, strict verify on {threads} threads) | {verify_rate:.0} entries/s, {verify_secs:.2} s, peak RSS {:.1} MiB | {:.2} of raw verify_strict, {:.2} of raw verify_batch |",
        verify_kb as f64 / 1024.0,
        verify_rate / raw_strict,
        verify_rate / raw_batch
    );
    println!(
        "| add on {} entries vs 10 entries (fresh open, fsync) | {:.2} ms vs {:.2} ms | {:.2} |",
        size,
        add_big * 1e3,
        add_small * 1e3,
        add_big / add_small
    );
    println!(
        "| `custody checkpoint` of {size} entries, caches {more} entries behind (verifies them, signs) | {:.2} s | {:.2} of raw verify_strict for {more} |",
        checkpoint_behind,
        checkpoint_behind / (more as f64 / raw_strict)
    );
    println!(
        "| `custody checkpoint` of {size} entries, caches current | {:.3} s | |",
        checkpoint_current
    );
    println!(
        "| inclusion proof, fresh open, tree of {size} | {proof_ms:.2} ms, {} bytes | {} hashes |",
        proof.len() * 32,
        proof.len()
    );
    for line in published {
        println!("{line}");
    }
    // Machine-readable lines for benches/run.sh (not part of the Markdown table).
    if let Some(r) = import_rate {
        eprintln!("metric import_per_s={r:.1}");
    }
    eprintln!("metric verify_per_s={verify_rate:.1}");
    println!(
        "| entries file | {:.1} MB ({:.0} bytes/entry) | |",
        entries_bytes as f64 / 1e6,
        entries_bytes as f64 / size as f64
    );
}

/// Seconds to write every file under `published` again into `scratch`, one at a time: create,
/// write, fsync, rename (the first publish's I/O before fsyncs were batched). At most 2,000
/// files are written; the time is scaled to all of them.
fn per_file_fsync_secs(published: &Path, scratch: &Path) -> f64 {
    use std::io::Write as _;
    let _ = std::fs::remove_dir_all(scratch);
    std::fs::create_dir_all(scratch).expect("scratch dir");
    let mut files = Vec::new();
    let mut stack = vec![published.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    let sample = files.len().min(2000);
    let t = Instant::now();
    for (k, path) in files.iter().take(sample).enumerate() {
        let data = std::fs::read(path).expect("read tile");
        let tmp = scratch.join(format!(".{k}.tmp"));
        let mut f = std::fs::File::create(&tmp).expect("create");
        f.write_all(&data).expect("write");
        f.sync_all().expect("fsync");
        drop(f);
        std::fs::rename(&tmp, scratch.join(k.to_string())).expect("rename");
    }
    std::fs::File::open(scratch)
        .and_then(|d| d.sync_all())
        .expect("fsync dir");
    let secs = t.elapsed().as_secs_f64() * files.len() as f64 / sample.max(1) as f64;
    let _ = std::fs::remove_dir_all(scratch);
    secs
}

/// nginx (the Debian package) serving `root` on 127.0.0.1 with the configuration
/// docs/PUBLISHING.md shows; killed when dropped. `None` if nginx is not installed.
struct Nginx {
    child: std::process::Child,
    port: u16,
    prefix: PathBuf,
}

impl Nginx {
    fn start(root: &Path) -> Option<Nginx> {
        let bin = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| Path::new(p).is_file())?;
        let prefix = root.join("nginx");
        let _ = std::fs::remove_dir_all(&prefix);
        std::fs::create_dir_all(prefix.join("tmp")).ok()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let conf = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {p}/nginx.pid;\nerror_log {p}/error.log;\nevents {{ worker_connections 64; }}\nhttp {{\n access_log off;\n client_body_temp_path {p}/tmp/body;\n proxy_temp_path {p}/tmp/proxy;\n fastcgi_temp_path {p}/tmp/fastcgi;\n uwsgi_temp_path {p}/tmp/uwsgi;\n scgi_temp_path {p}/tmp/scgi;\n types {{ }}\n default_type application/octet-stream;\n server {{\n  listen 127.0.0.1:{port};\n  root {r};\n  location ~ /checkpoint$ {{ default_type \"text/plain; charset=utf-8\"; add_header Cache-Control \"no-cache\" always; }}\n  location ~ /tile/ {{ add_header Cache-Control \"public, max-age=31536000, immutable\" always; }}\n }}\n}}\n",
            p = prefix.display(),
            r = root.display()
        );
        std::fs::write(prefix.join("nginx.conf"), conf).ok()?;
        let child = std::process::Command::new(bin)
            .arg("-p")
            .arg(&prefix)
            .arg("-e")
            .arg(prefix.join("error.log"))
            .arg("-c")
            .arg(prefix.join("nginx.conf"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let n = Nginx {
            child,
            port,
            prefix,
        };
        for _ in 0..500 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(n);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.prefix);
    }
}

/// Files under `dir` (a published log), counted with a bounded walk.
fn count_files(dir: &Path) -> u64 {
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                n += 1;
            }
        }
    }
    n
}

/// Runs the custody binary with `args` (stdout discarded), asserting success; returns seconds.
fn timed(args: &[&std::ffi::OsStr], cache: Option<&Path>) -> f64 {
    let t = Instant::now();
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_custody"));
    c.args(args).stdout(std::process::Stdio::null());
    if let Some(cache) = cache {
        c.env("CUSTODY_CACHE_DIR", cache);
    }
    let st = c.status().expect("run custody");
    assert!(st.success(), "custody {args:?} failed");
    t.elapsed().as_secs_f64()
}

/// `custody publish` of the whole ledger into a fresh directory, then of 10k more entries onto
/// it; `custody monitor` catching up from nothing on the published directory (read as a local
/// directory) against `custody verify` of the same entries in the same run, then catching up on
/// the 10k new entries. Returns the Markdown table rows.
fn publish_and_monitor(
    root: &Path,
    big: &Path,
    op_key: &Path,
    op: &SecretKey,
    threads: usize,
) -> Vec<String> {
    use std::ffi::OsStr;
    let www = root.join("published");
    let state = root.join("monitor-state");
    let monitor_cache = root.join("cache-monitor");
    for d in [&www, &state, &monitor_cache] {
        let _ = std::fs::remove_dir_all(d);
    }
    let l = Ledger::open(big, Access::Read).expect("open");
    let size = l.size();
    let origin = l.state().origin.clone();
    drop(l);
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&op.public().bytes()).expect("key");
    let vkey = custody_core::checkpoint::vkey(&origin, &vk).expect("vkey");
    let first = timed(
        &[OsStr::new("publish"), big.as_os_str(), www.as_os_str()],
        None,
    );
    let first_files = count_files(&www);
    // The raw primitive the first publish used to be bound by: one file written, fsynced and
    // renamed at a time, for as many files of the same sizes.
    let per_file_fsync = per_file_fsync_secs(&www, &root.join("fsync-raw"));
    // verify before and after the monitor runs, so a change in the machine's load shows.
    let verify_a = timed(&[OsStr::new("verify"), big.as_os_str()], None);
    let monitor_secs = timed(
        &[
            OsStr::new("monitor"),
            www.as_os_str(),
            OsStr::new("--trust"),
            OsStr::new(&vkey),
            OsStr::new("--state"),
            state.as_os_str(),
        ],
        Some(&monitor_cache),
    );
    // The same first run over HTTP, through nginx on loopback (the static host the tests
    // run), when it is installed.
    let http = Nginx::start(root).map(|nginx| {
        let state = root.join("monitor-state-http");
        let cache = root.join("cache-monitor-http");
        for d in [&state, &cache] {
            let _ = std::fs::remove_dir_all(d);
        }
        let secs = timed(
            &[
                OsStr::new("monitor"),
                OsStr::new(&format!("http://127.0.0.1:{}/published", nginx.port)),
                OsStr::new("--trust"),
                OsStr::new(&vkey),
                OsStr::new("--state"),
                state.as_os_str(),
            ],
            Some(&cache),
        );
        for d in [&state, &cache] {
            let _ = std::fs::remove_dir_all(d);
        }
        secs
    });
    let verify_b = timed(&[OsStr::new("verify"), big.as_os_str()], None);
    let verify_secs = (verify_a + verify_b) / 2.0;
    // 10k more entries, signed, checkpointed and published onto the published log.
    let more = 10_000u64;
    let jsonl = root.join("publish-more.jsonl");
    {
        use std::io::Write as _;
        let mut w = std::io::BufWriter::new(std::fs::File::create(&jsonl).expect("jsonl"));
        for k in 0..more {
            writeln!(
                w,
                r#"{{"kind":"claim","statement":"published case {k}: one person returned","count":1,"category":"forced-repatriation","period":"2024-07","place":"Sinuiju","cites":[2]}}"#
            )
            .expect("write");
        }
    }
    let key = big.with_extension("key");
    timed(
        &[
            OsStr::new("import"),
            big.as_os_str(),
            OsStr::new("--key"),
            key.as_os_str(),
            jsonl.as_os_str(),
        ],
        None,
    );
    timed(
        &[
            OsStr::new("checkpoint"),
            big.as_os_str(),
            OsStr::new("--key"),
            op_key.as_os_str(),
        ],
        None,
    );
    let before = count_files(&www);
    let again = timed(
        &[OsStr::new("publish"), big.as_os_str(), www.as_os_str()],
        None,
    );
    let again_files = count_files(&www) - before;
    let monitor_more = timed(
        &[
            OsStr::new("monitor"),
            www.as_os_str(),
            OsStr::new("--trust"),
            OsStr::new(&vkey),
            OsStr::new("--state"),
            state.as_os_str(),
        ],
        Some(&monitor_cache),
    );
    let verify_rate = per_sec(size, verify_secs);
    let monitor_rate = per_sec(size, monitor_secs);
    let more_rate = per_sec(more, monitor_more);
    eprintln!(
        "metric monitor_over_verify={:.3}",
        monitor_rate / verify_rate
    );
    let http_row = match http {
        Some(secs) => format!(
            "| `custody monitor` first run over HTTP (nginx on loopback, {} requests at once) vs `custody verify` | {:.0} vs {verify_rate:.0} entries/s ({secs:.2} s vs {verify_secs:.2} s) | {:.2} of verify (goal >= 0.8) |",
            custody_store::fetch::PARALLEL_FETCHES,
            per_sec(size, secs),
            per_sec(size, secs) / verify_rate
        ),
        None => "| `custody monitor` over HTTP | (nginx not installed: not measured) | |".into(),
    };
    for d in [&www, &state, &monitor_cache] {
        let _ = std::fs::remove_dir_all(d);
    }
    vec![
        format!(
            "| `custody publish` of {size} entries into an empty directory (fsyncs batched) vs raw: the same {first_files} files written, fsynced and renamed one at a time | {first:.2} s vs {per_file_fsync:.2} s | {:.0} entries/s, {:.2}x the raw one-fsync-per-file time |",
            per_sec(size, first),
            first / per_file_fsync
        ),
        format!(
            "| `custody publish` of {more} new entries onto it | {again:.3} s, {again_files} new files (+ checkpoint) | |"
        ),
        format!(
            "| `custody monitor` first run: {size} entries from the published directory (fetch, verify on {threads} threads, check every tile) vs `custody verify` of the same ledger (mean of one run before and one after the monitor runs: {verify_a:.2} s, {verify_b:.2} s) | {monitor_rate:.0} vs {verify_rate:.0} entries/s ({monitor_secs:.2} s vs {verify_secs:.2} s) | {:.2} of verify (goal >= 0.8) |",
            monitor_rate / verify_rate
        ),
        http_row,
        format!(
            "| `custody monitor` catching up on the {more} new entries (consistency proof from tiles, fetch, verify) | {monitor_more:.2} s, {more_rate:.0} entries/s | {:.2} of verify |",
            more_rate / verify_rate
        ),
    ]
}
