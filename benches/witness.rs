//! The witness benchmark: add-checkpoint requests per second that `custody witness serve`
//! answers 200 over loopback with durable state, next to the raw fsync and Ed25519 rates
//! measured in the same run (a cosignature costs one strict verify, one sign, and a share
//! of one commit: temp file, fsync, rename, fsync of the directory).
//!
//! `cargo bench --bench witness`; `CUSTODY_WITNESS_BENCH_LOGS` (default 128) logs, each
//! driven by its own keep-alive client thread through `CUSTODY_WITNESS_BENCH_ROUNDS`
//! (default 60) consecutive checkpoints. It prints Markdown rows for docs/BENCHMARKS.md.
//! The server and the clients share the machine's cores.

use custody_core::add_checkpoint::AddCheckpoint;
use custody_core::checkpoint;
use custody_core::hash::Digest;
use custody_core::keys::SecretKey;
use custody_core::merkle::{self, MemoryHashes};
use ed25519_dalek::{Signer as _, SigningKey};
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

fn env_n(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Commit cycles per second of a `bytes`-long file: write temp, fsync, rename, fsync dir.
fn raw_commit(dir: &Path, bytes: usize, n: usize) -> f64 {
    let data = vec![b'x'; bytes];
    let d = File::open(dir).unwrap();
    let t = Instant::now();
    for _ in 0..n {
        let tmp = dir.join("raw.tmp");
        let mut f = File::create(&tmp).unwrap();
        f.write_all(&data).unwrap();
        f.sync_all().unwrap();
        fs::rename(&tmp, dir.join("raw")).unwrap();
        d.sync_all().unwrap();
    }
    n as f64 / t.elapsed().as_secs_f64()
}

/// Appends of 512 bytes, each followed by fdatasync, per second.
fn raw_fdatasync(dir: &Path, n: usize) -> f64 {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("raw.log"))
        .unwrap();
    let t = Instant::now();
    for _ in 0..n {
        f.write_all(&[b'y'; 512]).unwrap();
        f.sync_data().unwrap();
    }
    n as f64 / t.elapsed().as_secs_f64()
}

/// One request on a keep-alive connection; returns the status.
fn post(s: &mut BufReader<TcpStream>, body: &[u8]) -> u16 {
    let head = format!(
        "POST /add-checkpoint HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let w = s.get_mut();
    w.write_all(head.as_bytes()).unwrap();
    w.write_all(body).unwrap();
    let mut line = String::new();
    s.read_line(&mut line).unwrap();
    let status: u16 = line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut length = 0usize;
    loop {
        line.clear();
        s.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
    }
    let mut b = vec![0u8; length];
    s.read_exact(&mut b).unwrap();
    status
}

fn main() {
    let logs = env_n("CUSTODY_WITNESS_BENCH_LOGS", 128);
    let rounds = env_n("CUSTODY_WITNESS_BENCH_ROUNDS", 60);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-witness");
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(root.join("keys")).unwrap();
    let exe = env!("CARGO_BIN_EXE_custody");

    // Raw primitives, same run, same disk.
    let log_key = SigningKey::from_bytes(&[7u8; 32]);
    let msg = b"cosignature/v1\ntime 1700000000\nbench.example/log0\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    let n = 20_000;
    let t = Instant::now();
    let mut sig = log_key.sign(msg);
    for _ in 0..n {
        sig = log_key.sign(msg);
    }
    let sign_rate = n as f64 / t.elapsed().as_secs_f64();
    let vk = log_key.verifying_key();
    let t = Instant::now();
    for _ in 0..n {
        vk.verify_strict(msg, &sig).unwrap();
    }
    let verify_rate = n as f64 / t.elapsed().as_secs_f64();
    let state_bytes = logs * 700 + 200;
    let commit_rate = raw_commit(&root, state_bytes, 60);
    let fdatasync_rate = raw_fdatasync(&root, 100);

    // The witness: its key, its state, a logs file of `logs` logs (one key, many names).
    let witness_key = SecretKey::from_seed("witness", &[8u8; 32]);
    custody_store::files::write_new(
        &root.join("keys/witness.key"),
        witness_key.to_file_text(None).unwrap().as_bytes(),
        false,
        true,
    )
    .unwrap();
    let origins: Vec<String> = (0..logs).map(|i| format!("bench.example/log{i}")).collect();
    let list: String = origins
        .iter()
        .map(|o| {
            format!(
                "{}\n",
                checkpoint::vkey(o, &log_key.verifying_key()).unwrap()
            )
        })
        .collect();
    fs::write(root.join("logs.txt"), list).unwrap();
    let status = Command::new(exe)
        .args([
            "witness",
            "init",
            "--state",
            "state",
            "--key",
            "keys/witness.key",
        ])
        .args(["--name", "witness.bench.example/w"])
        .current_dir(&root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());

    // Every request, made before the clock starts: log i goes 0 -> 1 -> 2 ... -> rounds.
    let leaves: Vec<Digest> = (0..rounds)
        .map(|i| Digest::leaf(format!("entry {i}").as_bytes()))
        .collect();
    let tree = MemoryHashes::from_leaves(&leaves);
    let steps: Vec<(Vec<Digest>, Digest)> = (1..=rounds as u64)
        .map(|size| {
            let proof = merkle::prove_consistency(size - 1, size, &tree).unwrap();
            (proof, merkle::root_of_leaves(&leaves[..size as usize]))
        })
        .collect();
    let requests: Vec<Vec<Vec<u8>>> = origins
        .iter()
        .map(|o| {
            steps
                .iter()
                .enumerate()
                .map(|(i, (proof, r))| {
                    let size = i as u64 + 1;
                    AddCheckpoint {
                        old: size - 1,
                        proof: proof.clone(),
                        checkpoint: checkpoint::sign(o, size, *r, &log_key)
                            .unwrap()
                            .into_bytes(),
                    }
                    .to_bytes()
                })
                .collect()
        })
        .collect();

    let mut server = Command::new(exe)
        .args([
            "witness",
            "serve",
            "--key",
            "keys/witness.key",
            "--logs",
            "logs.txt",
        ])
        .args(["--state", "state", "--listen", "127.0.0.1:0"])
        .current_dir(&root)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(server.stdout.take().unwrap());
    let mut port = 0u16;
    let mut line = String::new();
    while port == 0 {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the witness did not start"
        );
        if let Some(rest) = line.strip_prefix("listening on http://127.0.0.1:") {
            port = rest
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .unwrap();
        }
    }

    let barrier = Arc::new(Barrier::new(logs + 1));
    let threads: Vec<_> = requests
        .into_iter()
        .map(|reqs| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                s.set_nodelay(true).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
                let mut s = BufReader::new(s);
                barrier.wait();
                for r in &reqs {
                    assert_eq!(post(&mut s, r), 200);
                }
            })
        })
        .collect();
    barrier.wait();
    let t = Instant::now();
    for th in threads {
        th.join().unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    let total = logs * rounds;
    let rate = total as f64 / secs;

    let pid = server.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let mut err = String::new();
    server
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let _ = server.wait();
    let commits: f64 = err
        .split(" in ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::NAN);

    println!("| raw primitive (this run) | per second |\n|---|---|");
    println!("| Ed25519 sign (one thread) | {sign_rate:.0} |");
    println!("| Ed25519 verify_strict (one thread) | {verify_rate:.0} |");
    println!("| append 512 B + fdatasync | {fdatasync_rate:.0} |");
    println!(
        "| commit cycle of a {} KB file (write, fsync, rename, fsync dir) | {commit_rate:.0} |\n",
        state_bytes / 1000
    );
    println!("| witness | figure | ratio to raw |\n|---|---|---|");
    println!(
        "| `custody witness serve`, {logs} {} x {rounds} checkpoints, one keep-alive client each, loopback | {rate:.0} add-checkpoint/s (all 200) | {:.2} of raw sign, {:.2} of raw verify_strict, {:.1}x raw commit cycles |",
        if logs == 1 { "log" } else { "logs" },
        rate / sign_rate,
        rate / verify_rate,
        rate / commit_rate
    );
    println!(
        "| group commit | {commits:.0} commits for {total} cosignatures ({:.1} per commit) | |",
        total as f64 / commits
    );
    eprintln!("metric witness_per_s={rate:.1}");
}
