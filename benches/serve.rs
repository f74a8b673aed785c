//! The submission server's benchmark: `custody serve` over loopback against `append` and
//! `append_batch` of the same submissions from files, measured in the same run.
//!
//! `cargo bench --bench serve` runs it; `CUSTODY_BENCH_SERVE_N` sets the submissions per run
//! (default 40,000; CI runs a smoke size) and `CUSTODY_BENCH_SERVE_CLIENTS` the client counts
//! (default "16 64 256"); `CUSTODY_BENCH_SERVE_BIN` runs another `custody` binary as the server
//! (an earlier commit's build, to compare in the same run). Every submission is signed before any timing. The
//! clients run on the same machine as the server (ureq, one thread and one keep-alive
//! connection each), so on 2 cores they take part of the CPU the server would otherwise have:
//! the figures are the whole system's, client included. The raw primitives that bound the
//! server (strict Ed25519 verification, one per submission; fdatasync, one per group commit)
//! are measured in the same run. Prints Markdown tables for docs/BENCHMARKS.md.

use custody_core::entry::{Body, Content, Role, SourceKind, Submission};
use custody_core::hash::Digest;
use custody_core::keys::SecretKey;
use custody_store::Ledger;
use rayon::prelude::*;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ORIGIN: &str = "bench.example/serve";

fn signed(key: &SecretKey, t: i64, body: Body) -> Submission {
    Content {
        origin: ORIGIN.into(),
        signer: key.id(),
        claimed_time: t,
        body,
    }
    .sign(key.signing_key())
    .expect("sign")
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

/// A ledger of genesis, the researcher's grant and one source, in `dir`.
fn base(dir: &Path, op: &SecretKey, re: &SecretKey) {
    let _ = std::fs::remove_dir_all(dir);
    let mut l = Ledger::create(
        dir,
        signed(
            op,
            0,
            Body::Genesis {
                operator: op.public().bytes(),
                name: "operator".into(),
            },
        ),
    )
    .expect("create");
    l.append(signed(
        op,
        1,
        Body::KeyGrant {
            key: re.public().bytes(),
            name: "researcher".into(),
            role: Role::Researcher,
        },
    ))
    .expect("grant");
    l.append(signed(
        re,
        2,
        Body::Source {
            sha256: Digest::of(b"doc"),
            size: 3,
            title: "Bench source".into(),
            publisher: "Bench".into(),
            date: "2025-01-01".into(),
            kind: SourceKind::Other,
            locator: None,
        },
    ))
    .expect("source");
}

/// A running `custody serve`, stopped with SIGTERM (or killed) when dropped.
struct Server(Child, String);

impl Server {
    fn start(ledger: &Path, cache: &Path, extra: &[&str]) -> Server {
        // Another build of custody (an earlier commit's, for a before/after in one run).
        let bin = std::env::var_os("CUSTODY_BENCH_SERVE_BIN").map_or_else(
            || PathBuf::from(env!("CARGO_BIN_EXE_custody")),
            PathBuf::from,
        );
        let mut child = Command::new(bin)
            .arg("serve")
            .arg(ledger)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .env("CUSTODY_CACHE_DIR", cache)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run custody serve");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the address line");
        let url = line
            .trim()
            .rsplit(' ')
            .next()
            .unwrap_or_default()
            .to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "{line}");
        Server(child, url)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .max_idle_connections_per_host(4)
            .build(),
    )
}

/// Runs `clients` threads, each sending its share of `work` with `send`; returns the wall
/// time and every request's latency.
fn load<T: Sync>(
    work: &[T],
    clients: usize,
    send: &(dyn Fn(&ureq::Agent, &T) + Sync),
) -> (f64, Vec<Duration>) {
    let chunk = work.len().div_ceil(clients);
    let start = Instant::now();
    let lat: Vec<Duration> = std::thread::scope(|s| {
        let hs: Vec<_> = work
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    let a = agent();
                    part.iter()
                        .map(|w| {
                            let t = Instant::now();
                            send(&a, w);
                            t.elapsed()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter()
            .flat_map(|h| h.join().expect("client thread"))
            .collect()
    });
    (start.elapsed().as_secs_f64(), lat)
}

/// Strict Ed25519 verifications per second on `threads` threads (one per submission), and
/// for one thread the CPU time of each in µs.
fn raw_verify_strict(key: &SecretKey, threads: usize) -> (f64, f64) {
    use ed25519_dalek::Signer as _;
    let sk = key.signing_key();
    let vk = sk.verifying_key();
    let msgs: Vec<Vec<u8>> = (0..20_000u32)
        .map(|i| {
            format!("custody bench message {i} of about a hundred bytes, like a signed claim's")
                .into_bytes()
        })
        .collect();
    let sigs: Vec<_> = msgs.iter().map(|m| sk.sign(m)).collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool");
    let t = Instant::now();
    if threads == 1 {
        // On this thread, so that its CPU time can be read.
        let cpu = cpu_secs("thread-self");
        for (m, s) in msgs.iter().zip(&sigs) {
            vk.verify_strict(m, s).expect("verify");
        }
        let n = msgs.len() as f64;
        let cpu_us = (cpu_secs("thread-self") - cpu) * 1e6 / n;
        return (n / t.elapsed().as_secs_f64(), cpu_us);
    }
    pool.install(|| {
        msgs.par_iter()
            .zip(sigs.par_iter())
            .for_each(|(m, s)| vk.verify_strict(m, s).expect("verify"));
    });
    (msgs.len() as f64 / t.elapsed().as_secs_f64(), 0.0)
}

/// Appends of 512 bytes, each followed by fdatasync, per second (one group commit's floor).
fn raw_fdatasync(dir: &Path, n: usize) -> f64 {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("raw.log"))
        .expect("raw.log");
    let t = Instant::now();
    for _ in 0..n {
        f.write_all(&[b'y'; 512]).expect("write");
        f.sync_data().expect("fdatasync");
    }
    n as f64 / t.elapsed().as_secs_f64()
}

/// CPU seconds (user + system) process `pid` used so far, from /proc (USER_HZ = 100).
fn cpu_secs(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

fn main() {
    let n: usize = std::env::var("CUSTODY_BENCH_SERVE_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40_000);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-ledgers/serve");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("bench dir");
    let cache = root.join("cache");
    std::env::set_var("CUSTODY_CACHE_DIR", &cache);
    let op = SecretKey::from_seed("operator", &[1u8; 32]);
    let re = SecretKey::from_seed("researcher", &[2u8; 32]);
    let levels: Vec<usize> = std::env::var("CUSTODY_BENCH_SERVE_CLIENTS")
        .unwrap_or_else(|_| "16 64 256".into())
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect();
    // Signed before any timing: one set per server run and one for the file baselines.
    let sets: Vec<Vec<Vec<u8>>> = (0..=levels.len() as u64)
        .map(|s| {
            (0..n as u64)
                .into_par_iter()
                .map(|i| {
                    signed(&re, 3 + i as i64, claim(s * 10_000_000 + i))
                        .to_file_bytes()
                        .expect("encode")
                })
                .collect()
        })
        .collect();
    println!("# custody serve benchmark: {n} submissions per run\n");
    // One verification's CPU time, which contention inflates far less than its wall time.
    let (strict_1, strict_cpu_us) = raw_verify_strict(&re, 1);
    let (strict_all, _) = raw_verify_strict(&re, 0);
    let fsync_rate = raw_fdatasync(&root, 200);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!("| raw primitive (this run) | per second |\n|---|---|");
    println!(
        "| Ed25519 verify_strict, one thread | {strict_1:.0} ({strict_cpu_us:.0} µs of CPU each) |"
    );
    println!("| Ed25519 verify_strict, {cores} threads | {strict_all:.0} |");
    println!("| append 512 B + fdatasync | {fsync_rate:.0} |");
    println!();

    // Baselines from files: `append` (one fsync each) and `append_batch` (4096 per fsync).
    let files = root.join("cust");
    std::fs::create_dir_all(&files).expect("files dir");
    let paths: Vec<PathBuf> = sets[levels.len()]
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let p = files.join(format!("{i:06}.cust"));
            std::fs::write(&p, b).expect("write .cust");
            p
        })
        .collect();
    let one_n = (n / 10).clamp(1, 2000);
    let dir = root.join("append");
    base(&dir, &op, &re);
    let mut l = Ledger::open(&dir, custody_store::Access::Write).expect("open");
    let t = Instant::now();
    for p in &paths[..one_n] {
        l.append(custody_store::files::read_submission(p).expect("read"))
            .expect("append");
    }
    let append_rate = one_n as f64 / t.elapsed().as_secs_f64();
    drop(l);
    let dir = root.join("batch");
    base(&dir, &op, &re);
    let mut l = Ledger::open(&dir, custody_store::Access::Write).expect("open");
    l.reserve(n as u64).expect("reserve");
    let t = Instant::now();
    for chunk in paths.chunks(4096) {
        let subs = chunk
            .iter()
            .map(|p| custody_store::files::read_submission(p).expect("read"))
            .collect();
        l.append_batch(subs).expect("append_batch");
    }
    let batch_rate = n as f64 / t.elapsed().as_secs_f64();
    drop(l);

    println!("| path (same submissions, signed before timing) | clients | submissions/s | p50 ms | p99 ms | ratio to append_batch | ratio to raw verify_strict ({cores} threads) |");
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| `Ledger::append` from .cust files, one fsync each ({one_n} of them) | 1 | {append_rate:.0} | {:.2} | | {:.3} | {:.3} |",
        1000.0 / append_rate,
        append_rate / batch_rate,
        append_rate / strict_all
    );
    println!(
        "| `Ledger::append_batch` from .cust files, 4096 per fsync | 1 | {batch_rate:.0} | | | 1.000 | {:.3} |",
        batch_rate / strict_all
    );
    let mut at_256 = (0.0, 0.0);
    let mut cpu_rows = Vec::new();
    for (k, &clients) in levels.iter().enumerate() {
        let dir = root.join(format!("serve-{clients}"));
        base(&dir, &op, &re);
        let server = Server::start(&dir, &cache, &["--max-requests", "4096"]);
        let url = format!("{}/add", server.1);
        let server_pid = server.0.id().to_string();
        let (server_cpu, client_cpu) = (cpu_secs(&server_pid), cpu_secs("self"));
        let (secs, mut lat) = load(&sets[k], clients, &|a, body: &Vec<u8>| {
            let mut r = a.post(&url).send(&body[..]).expect("post");
            assert_eq!(r.status().as_u16(), 201, "a submission was not appended");
            // Read to the end, or ureq cannot reuse the connection (a new one per request).
            r.body_mut().read_to_vec().expect("answer");
        });
        let server_us = (cpu_secs(&server_pid) - server_cpu) * 1e6 / n as f64;
        let client_us = (cpu_secs("self") - client_cpu) * 1e6 / n as f64;
        drop(server);
        lat.sort();
        let rate = n as f64 / secs;
        let p99 = percentile(&lat, 0.99);
        cpu_rows.push(format!(
            "| {clients} | {server_us:.0} | {client_us:.0} | {:.1} | {:.0} |",
            server_us / strict_cpu_us,
            cores as f64 * 1e6 / (server_us + client_us)
        ));
        if clients == 256 {
            at_256 = (rate, p99);
        }
        println!(
            "| `custody serve` POST /add over loopback | {clients} | {rate:.0} | {:.2} | {p99:.2} | {:.3} | {:.3} |",
            percentile(&lat, 0.50),
            rate / batch_rate,
            rate / strict_all
        );
        let size = Ledger::open(&dir, custody_store::Access::Read)
            .expect("open")
            .size();
        assert_eq!(size, 3 + n as u64, "every submission is in the ledger");
    }

    println!();
    println!(
        "CPU per submission in the runs above (server process and client threads, user + system):"
    );
    println!();
    println!("| clients | server CPU µs/submission | client CPU µs/submission | server CPU in verify_strict's | bound: cores / (server + client) per s |");
    println!("|---|---|---|---|---|");
    for r in &cpu_rows {
        println!("{r}");
    }
    println!();
    println!("| path | clients | GETs/s | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|");
    // Tile GETs: 1,024 full hash tiles of a published directory, fetched by 64 clients.
    let www = root.join("www");
    let tile = vec![0xabu8; 8192];
    let mut tile_paths = Vec::new();
    for i in 0..1024u64 {
        let rel = format!("tile/0/x{:03}/{:03}", i / 1000, i % 1000);
        let rel = rel.replacen("x000/", "", 1);
        let p = www.join(&rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("tile dir");
        std::fs::write(&p, &tile).expect("tile");
        tile_paths.push(rel);
    }
    std::fs::write(www.join("checkpoint"), b"bench\n").expect("checkpoint");
    let dir = root.join("serve-tiles");
    base(&dir, &op, &re);
    let www_arg = www.display().to_string();
    let server = Server::start(&dir, &cache, &["--publish", &www_arg]);
    let gets: Vec<String> = (0..n)
        .map(|i| format!("{}/{}", server.1, tile_paths[i % tile_paths.len()]))
        .collect();
    let (secs, mut lat) = load(&gets, 64, &|a, u: &String| {
        let mut r = a.get(u).call().expect("get");
        assert_eq!(r.status().as_u16(), 200);
        let b = r.body_mut().read_to_vec().expect("body");
        assert_eq!(b.len(), 8192);
    });
    drop(server);
    lat.sort();
    let tiles_rate = n as f64 / secs;
    println!(
        "| `custody serve` GET /tile/0/N (8 KiB full tiles) over loopback | 64 | {tiles_rate:.0} | {:.2} | {:.2} |",
        percentile(&lat, 0.50),
        percentile(&lat, 0.99)
    );
    println!();
    println!(
        "Goals: >= 20,000 submissions/s with p99 < 100 ms at 256 clients (measured {:.0}/s, p99 {:.1} ms); tile GETs >= 20,000/s (measured {tiles_rate:.0}/s).",
        at_256.0, at_256.1
    );
    eprintln!("metric serve_256_per_s={:.1}", at_256.0);
    let _ = std::fs::remove_dir_all(&files);
}
