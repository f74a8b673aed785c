//! `custody check` of the sample's 406 bundle as a process, with the witness policy and the TSA
//! root (every cosignature and the RFC 3161 token verified): what a court expert waits for.
//! Goal: under 20 ms per run (issue "Proof against the operator").
//!
//! `cargo bench --bench check` runs it; `CUSTODY_CHECK_BENCH_RUNS` sets the timed runs
//! (default 200, after 10 untimed). Each run is a fresh process (spawn, exec, dynamic loading,
//! reading the bundle, policy and root, all checks, printing), timed from spawn to exit; the
//! raw figure is the same binary's `--version` (spawn and exit, no work), measured in the same
//! run. Prints a Markdown table for docs/BENCHMARKS.md.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `custody args` `n` times; the sorted wall-clock times of the runs.
fn times(root: &Path, args: &[&str], n: usize) -> Vec<Duration> {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_custody"))
            .args(args)
            .current_dir(root)
            .stdin(Stdio::null())
            .output()
            .expect("run custody");
        v.push(start.elapsed());
        assert!(
            out.status.success(),
            "custody {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    v.sort();
    v
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let n: usize = std::env::var("CUSTODY_CHECK_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200)
        .max(1);
    let check = [
        "check",
        "ledger/bundles/figure-406.json",
        "--policy",
        "keys/sample-policy.txt",
        "--tsa-cert",
        "keys/sample-tsa-root.pem",
        "--document",
        "docs/sample/report-2025-10-15.txt",
    ];
    // The run must really check the witnesses and the token, or the figure means nothing.
    let out = Command::new(env!("CARGO_BIN_EXE_custody"))
        .args(check)
        .current_dir(root)
        .output()
        .expect("run custody");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("witnessed: the checkpoint meets the policy's quorum")
            && text.matches("    witnessed by ").count() == 2
            && text.contains("existed no later than"),
        "the bench's check does not verify the cosignatures and the token: {text}"
    );
    times(root, &check, 10);
    times(root, &["--version"], 10);
    let c = times(root, &check, n);
    let raw = times(root, &["--version"], n);
    let median = |v: &[Duration]| v[v.len() / 2];
    let p90 = |v: &[Duration]| v[(v.len() * 9 / 10).min(v.len() - 1)];
    println!("| `custody check` as a process, {n} runs | median | p90 | min | goal |");
    println!("|---|---|---|---|---|");
    println!(
        "| figure-406.json `--policy` (2 cosignatures) `--tsa-cert` (1 token) `--document` | {} | {} | {} | < 20 ms |",
        ms(median(&c)),
        ms(p90(&c)),
        ms(c[0]),
    );
    println!(
        "| raw: `custody --version` (spawn to exit) | {} | {} | {} | |",
        ms(median(&raw)),
        ms(p90(&raw)),
        ms(raw[0]),
    );
    eprintln!(
        "metric check_median_ms={:.2} check_p90_ms={:.2}",
        median(&c).as_secs_f64() * 1000.0,
        p90(&c).as_secs_f64() * 1000.0
    );
}
