//! Bad input never panics, never changes a ledger and always ends in exit 2 with one
//! `custody: error:` line; SIGKILL mid-import never loses an acknowledged entry and leaves at
//! worst a torn tail that `custody repair` cuts; concurrent writers never interleave.

mod common;

use common::{
    bin, claim_args, figure_args, frame_end, informant_args, init_args, init_ledger, key_args,
    remove_torn_side_files, sign_claim_args, snapshot, source_args, verify, Work, MAGIC_LEN,
    OPERATOR_KEY, RESEARCHER_KEY, RESEARCHER_PUB,
};
use rand::{Rng, SeedableRng};
use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

const ORIGIN: &str = "example.org/robust";

/// A claim of 1 (category c, period 2024, citing entry 2), as a line of JSONL.
fn claim_line(statement: &str) -> String {
    format!("{{\"kind\":\"claim\",\"statement\":\"{statement}\",\"count\":1,\"category\":\"c\",\"period\":\"2024\",\"cites\":[2]}}\n")
}

/// `add claim` of 1 (category c, period 2024, citing entry 2) by the researcher.
fn claim_of_one<'a>(ledger: &'a str, statement: &'a str) -> Vec<&'a str> {
    claim_args(ledger, RESEARCHER_KEY, statement, "1", "c", "2024", "2")
}

/// A work dir with keys and ledger L.
type Env = Work;

impl Env {
    /// Keys, and ledger L: 0 genesis, 1 grant, 2 source, 3 informant, 4 claim, 5 figure.
    fn new() -> Env {
        let e = Work::keyed();
        init_ledger(e.cwd(), "L", ORIGIN);
        fs::write(e.path("report.txt"), "report\n").unwrap();
        fs::write(e.path("who.txt"), "someone\n").unwrap();
        let mut args = source_args("L", RESEARCHER_KEY, "2025", "media");
        args.push("--store");
        e.ok(&args);
        e.ok(&informant_args("L", RESEARCHER_KEY, "A", "a.seal"));
        e.ok(&claim_args(
            "L",
            RESEARCHER_KEY,
            "s",
            "4",
            "c",
            "2024",
            "2,3",
        ));
        e.ok(&figure_args("L", RESEARCHER_KEY, "F", "4", "4"));
        let op = e.ok(&["disclose", "a.seal"]);
        fs::write(e.path("op.txt"), op).unwrap();
        e.ok(&sign_claim_args(
            RESEARCHER_KEY,
            ORIGIN,
            "offline",
            "2024",
            "s.cust",
        ));
        fs::write(e.path("cases.jsonl"), claim_line("j")).unwrap();
        e
    }

    /// Every file under the work dir except the keys, by path and content.
    fn snapshot(&self) -> Vec<(PathBuf, Vec<u8>)> {
        snapshot(self.cwd())
    }

    /// How many entries ledger L holds, verified in-process.
    fn entries(&self) -> u64 {
        verify(&self.path("L")).unwrap().entries
    }

    /// Exit 2, one `custody: error:` line, no panic, and no file anywhere changed or created.
    fn refused<S: AsRef<OsStr> + std::fmt::Debug>(&self, args: &[S]) -> String {
        let before = self.snapshot();
        let out = self.run(args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.starts_with("custody: error:"), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        let after = self.snapshot();
        if before != after {
            let b: Vec<_> = before.iter().map(|x| &x.0).collect();
            let a: Vec<_> = after.iter().map(|x| &x.0).collect();
            panic!("{args:?} changed files: before {b:?} after {a:?}");
        }
        err
    }
}

/// Every command that takes a ledger, with `@` where the ledger goes.
fn ledger_commands() -> Vec<Vec<&'static str>> {
    let k = RESEARCHER_KEY;
    let op = OPERATOR_KEY;
    vec![
        key_args("grant", "@", op, RESEARCHER_PUB, "auditor"),
        key_args("revoke", "@", op, RESEARCHER_PUB, "r"),
        source_args("@", k, "2025", "media"),
        informant_args("@", k, "B", "b.seal"),
        claim_args("@", k, "x", "1", "c", "2024", "2"),
        figure_args("@", k, "G", "4", "4"),
        vec!["append", "@", "s.cust"],
        vec![
            "correct", "@", "--key", k, "4", "--count", "3", "--reason", "r",
        ],
        vec!["retract", "@", "--key", k, "4", "--reason", "r"],
        vec!["redact", "@", "--key", k, "2", "--reason", "r"],
        vec!["log", "@"],
        vec!["log", "@", "--json"],
        vec!["show", "@", "3"],
        vec!["verify", "@"],
        vec!["verify", "@", "--json"],
        vec!["figure", "@", "5"],
        vec!["check-disclosure", "@", "3", "--opening", "op.txt"],
        vec!["checkpoint", "@", "--key", op],
        vec!["prove", "inclusion", "@", "1"],
        vec!["prove", "consistency", "@", "1", "2"],
        vec!["repair", "@"],
        vec!["import", "@", "--key", k, "cases.jsonl"],
    ]
}

/// `cmd` with `ledger` in the place of `@`.
fn with_ledger(cmd: &[&'static str], ledger: impl AsRef<OsStr>) -> Vec<OsString> {
    cmd.iter()
        .map(|a| {
            if *a == "@" {
                ledger.as_ref().to_os_string()
            } else {
                OsString::from(a)
            }
        })
        .collect()
}

#[test]
fn every_command_refuses_a_missing_or_non_ledger_directory() {
    let e = Env::new();
    fs::create_dir(e.path("empty")).unwrap();
    fs::create_dir(e.path("notes")).unwrap();
    fs::write(e.path("notes/readme.txt"), "not a ledger").unwrap();
    for cmd in ledger_commands() {
        for l in ["missing", "missing/deeper", "empty", "notes", "report.txt"] {
            let err = e.refused(&with_ledger(&cmd, l));
            // A command that reads its other inputs first may complain about those instead, but
            // never about anything inside the non-ledger.
            assert!(!err.contains("entry 0"), "{cmd:?} on {l}: {err}");
        }
    }
    // init into a directory that holds something.
    let err = e.refused(&init_args("notes", ORIGIN, OPERATOR_KEY));
    assert!(err.contains("never overwrites a ledger"), "{err}");
    e.refused(&init_args("L", ORIGIN, OPERATOR_KEY));
    e.refused(&init_args("report.txt", ORIGIN, OPERATOR_KEY));
    e.refused(&init_args("new", "not an origin", OPERATOR_KEY));
    assert!(!e.path("new").exists());
}

#[test]
fn garbage_key_files_are_refused_by_every_command_that_signs() {
    let e = Env::new();
    let garbage: [(&str, &[u8]); 5] = [
        ("empty.key", b""),
        ("text.key", b"hello\n"),
        ("binary.key", b"\x00\xff\xfe\x01 not utf-8"),
        (
            "badb64.key",
            b"custody-secret-key-v1\nname researcher\ned25519 !!!!\n",
        ),
        (
            "short.key",
            b"custody-secret-key-v1\nname researcher\ned25519 AAAA\n",
        ),
    ];
    for (name, bytes) in garbage {
        let p = e.path(&format!("keys/{name}"));
        fs::write(&p, bytes).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
    }
    // A real key as a directory and a missing key.
    fs::create_dir(e.path("keys/dir.key")).unwrap();
    let mut keys: Vec<String> = garbage.iter().map(|(n, _)| format!("keys/{n}")).collect();
    keys.push("keys/dir.key".into());
    keys.push("keys/missing.key".into());
    keys.push("keys/researcher.pub".into());
    for key in &keys {
        for cmd in ledger_commands() {
            let Some(pos) = cmd.iter().position(|a| *a == "--key") else {
                continue;
            };
            let mut args = with_ledger(&cmd, "L");
            args[pos + 1] = key.into();
            e.refused(&args);
        }
        e.refused(&init_args("new", ORIGIN, key));
        assert!(!e.path("new").exists());
        e.refused(&sign_claim_args(key, ORIGIN, "s", "2024", "new.cust"));
        assert!(!e.path("new.cust").exists());
    }
    // Garbage public keys.
    for key in ["keys/text.key", "keys/missing.pub", OPERATOR_KEY] {
        e.refused(&key_args("grant", "L", OPERATOR_KEY, key, "auditor"));
        e.refused(&["key", "vkey", key, "--origin", ORIGIN]);
    }
    assert_eq!(e.entries(), 6);
}

#[test]
fn non_utf8_arguments_are_refused_cleanly() {
    let e = Env::new();
    let bad = OsStr::from_bytes(b"caf\xe9\xff");
    // Paths may be any bytes on unix: they fail as missing files, with one error line.
    for cmd in ledger_commands() {
        e.refused(&with_ledger(&cmd, bad));
        // And in the place of each other path-like argument, against the real ledger.
        for (i, a) in cmd.iter().enumerate() {
            if a.contains('/')
                || a.ends_with(".txt")
                || a.ends_with(".cust")
                || a.ends_with(".jsonl")
            {
                let mut args = with_ledger(&cmd, "L");
                args[i] = bad.to_os_string();
                // `--seal` and `--identity-file` name new or read files; every other path here
                // must exist. All of them fail before the ledger is touched.
                if cmd[1] == "informant" && cmd[i - 1] == "--seal" {
                    continue;
                }
                e.refused(&args);
            }
        }
    }
    // Text arguments (origins, statements) are Strings: clap refuses non-UTF-8 itself, as a
    // usage error (exit 2, clap's own multi-line usage message), before any custody code runs.
    let before = e.snapshot();
    for args in [
        vec![
            OsString::from("init"),
            "new".into(),
            "--origin".into(),
            bad.into(),
            "--key".into(),
            OPERATOR_KEY.into(),
        ],
        vec![
            "add".into(),
            "claim".into(),
            "L".into(),
            "--key".into(),
            RESEARCHER_KEY.into(),
            "--statement".into(),
            bad.into(),
            "--category".into(),
            "c".into(),
            "--period".into(),
            "2024".into(),
            "--source".into(),
            "2".into(),
        ],
    ] {
        let out = e.run(&args);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.to_lowercase().contains("utf-8"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    assert!(before == e.snapshot());
}

#[test]
fn truncated_and_corrupt_submission_files_are_refused() {
    let e = Env::new();
    let full = fs::read(e.path("s.cust")).unwrap();
    for cut in (0..full.len()).step_by(3).chain([full.len() - 1]) {
        fs::write(e.path("cut.cust"), &full[..cut]).unwrap();
        let err = e.refused(&["append", "L", "cut.cust"]);
        assert!(err.contains("cut.cust"), "{err}");
    }
    let mut extra = full.clone();
    extra.push(0);
    fs::write(e.path("cut.cust"), &extra).unwrap();
    e.refused(&["append", "L", "cut.cust"]);
    // A flipped byte in the signed part: either undecodable or a bad signature, never accepted.
    let magic_end = full.iter().position(|&b| b == b'\n').unwrap() + 1;
    for pos in (magic_end..full.len()).step_by(7) {
        let mut b = full.clone();
        b[pos] ^= 0x10;
        fs::write(e.path("cut.cust"), &b).unwrap();
        e.refused(&["append", "L", "cut.cust"]);
    }
    // A good file after a bad one: nothing is appended (files are all parsed first).
    fs::write(e.path("cut.cust"), &full[..full.len() / 2]).unwrap();
    e.refused(&["append", "L", "s.cust", "cut.cust"]);
    e.ok(&["append", "L", "s.cust"]);
}

#[test]
fn malformed_jsonl_is_refused_with_its_line_number() {
    let e = Env::new();
    let good = claim_line;
    let bad_lines = [
        "not json",
        "{",
        "[]",
        "{\"kind\":\"poem\",\"text\":\"x\"}",
        "{\"kind\":\"claim\",\"statement\":\"s\",\"category\":\"c\",\"period\":\"2024\"}",
        "{\"kind\":\"claim\",\"statement\":\"s\",\"count\":-1,\"category\":\"c\",\"period\":\"2024\",\"cites\":[2]}",
        "{\"kind\":\"claim\",\"statement\":\"s\",\"count\":1,\"category\":\"c\",\"period\":\"2024\",\"cites\":[2],\"extra\":1}",
        "{\"kind\":\"claim\",\"statement\":1,\"count\":1,\"category\":\"c\",\"period\":\"2024\",\"cites\":[2]}",
        "{\"kind\":\"source\",\"sha256\":\"zz\",\"size\":1,\"title\":\"t\",\"publisher\":\"p\",\"date\":\"2025\",\"source_kind\":\"media\",\"locator\":null}",
        "{\"kind\":\"source\",\"sha256\":\"abab\",\"size\":1,\"title\":\"t\",\"publisher\":\"p\",\"date\":\"2025\",\"source_kind\":\"poem\",\"locator\":null}",
        "{\"kind\":\"figure\",\"label\":\"l\",\"value\":1,\"qualifier\":\"roughly\",\"terms\":[4]}",
        // Well-formed but refused by the rules.
        "{\"kind\":\"claim\",\"statement\":\"s\",\"count\":1,\"category\":\"c\",\"period\":\"2024\",\"cites\":[99]}",
        "{\"kind\":\"claim\",\"statement\":\"s\",\"count\":1,\"category\":\"c\",\"period\":\"last year\",\"cites\":[2]}",
        "{\"kind\":\"figure\",\"label\":\"l\",\"value\":5,\"qualifier\":\"exactly\",\"terms\":[4]}",
        "{\"kind\":\"retraction\",\"target\":0,\"reason\":\"r\"}",
    ];
    for bad in bad_lines {
        // First line bad: nothing changes.
        fs::write(e.path("bad.jsonl"), format!("{bad}\n{}", good("after"))).unwrap();
        let err = e.refused(&["import", "L", "--key", RESEARCHER_KEY, "bad.jsonl"]);
        assert!(err.contains("line 1"), "{bad}: {err}");
    }
    // Invalid UTF-8 in a line.
    fs::write(
        e.path("bad.jsonl"),
        b"{\"kind\":\"claim\",\"statement\":\"\xff\"}\n",
    )
    .unwrap();
    e.refused(&["import", "L", "--key", RESEARCHER_KEY, "bad.jsonl"]);
    // A missing file.
    e.refused(&["import", "L", "--key", RESEARCHER_KEY, "nope.jsonl"]);

    // A bad line after good ones: exit 2 naming it; what came before is durable and verified.
    let text = format!("{}{}{}", good("a"), good("b"), "not json");
    fs::write(e.path("bad.jsonl"), text).unwrap();
    let out = e.run(&["import", "L", "--key", RESEARCHER_KEY, "bad.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("custody: error:") && err.contains("line 3"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert_eq!(e.entries(), 8);
    // A rule violation inside a batch: the whole batch is refused, earlier batches stay.
    let text = format!(
        "{}{}{}{}",
        good("c"),
        good("d"),
        good("e"),
        "{\"kind\":\"claim\",\"statement\":\"s\",\"count\":1,\"category\":\"c\",\"period\":\"2024\",\"cites\":[4]}\n"
    );
    fs::write(e.path("bad.jsonl"), text).unwrap();
    let out = e.run(&[
        "import",
        "L",
        "--key",
        RESEARCHER_KEY,
        "bad.jsonl",
        "--batch",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 4"), "{err}");
    assert_eq!(e.entries(), 10, "{err}");
}

fn claims_jsonl(tag: &str, n: usize) -> String {
    let mut s = String::with_capacity(n * 100);
    for i in 0..n {
        s.push_str(&claim_line(&format!("{tag} claim {i}")));
    }
    s
}

/// Lines of each import the crash test kills: enough for many group commits (batches of 64),
/// few enough that 50 kills spread over whole imports take seconds, not minutes.
const CRASH_LINES: usize = 2_000;

#[test]
fn sigkill_during_import_never_loses_acknowledged_entries() {
    let iterations: usize = std::env::var("CUSTODY_CRASH_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let seed: u64 = std::env::var("CUSTODY_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("crash test: {iterations} iterations, CUSTODY_CRASH_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let e = Env::new();
    let dir = e.path("L");
    let mut size = e.entries();
    // How long one whole import of a crash file takes here, on a copy: kills are spread over
    // that span, so some land while it writes (import checks every line before its first
    // append, which takes longer on a loaded machine).
    common::copy_dir(&dir, &e.path("calibrate"));
    fs::write(
        e.path("calibrate.jsonl"),
        claims_jsonl("calibrate", CRASH_LINES),
    )
    .unwrap();
    let t0 = Instant::now();
    e.ok(&[
        "import",
        "calibrate",
        "--key",
        RESEARCHER_KEY,
        "calibrate.jsonl",
        "--batch",
        "64",
    ]);
    let whole = u64::try_from(t0.elapsed().as_millis()).unwrap().max(25);
    eprintln!("crash test: one whole import takes {whole} ms here");
    let (mut torn, mut completed, mut grew) = (0, 0, 0);
    let started = Instant::now();
    for it in 0..iterations {
        if rng.gen_bool(0.1) {
            // SIGKILL cannot tear a single write(2) to a local file, so also emulate what a power
            // cut could leave: part of a frame. Writers must refuse to append after it (exit 2,
            // file untouched) until `repair` cuts exactly it.
            let path = dir.join("entries");
            let before = fs::read(&path).unwrap();
            let first = frame_end(&before, MAGIC_LEN) - MAGIC_LEN;
            let part = rng.gen_range(1..first);
            let mut torn_file = before.clone();
            torn_file.extend_from_slice(&before[MAGIC_LEN..MAGIC_LEN + part]);
            fs::write(&path, &torn_file).unwrap();
            let out = e.run(&["import", "L", "--key", RESEARCHER_KEY, "cases.jsonl"]);
            assert_eq!(out.status.code(), Some(2));
            assert!(String::from_utf8_lossy(&out.stderr).contains("torn write"));
            assert_eq!(fs::read(&path).unwrap(), torn_file);
            e.ok(&["repair", "L"]);
            assert_eq!(fs::read(&path).unwrap(), before);
            torn += 1;
        }
        let file = e.path("crash.jsonl");
        fs::write(&file, claims_jsonl(&format!("it{it}"), CRASH_LINES)).unwrap();
        let mut child = std::process::Command::new(bin())
            .current_dir(e.cwd())
            .args([
                "import",
                "L",
                "--key",
                RESEARCHER_KEY,
                "crash.jsonl",
                "--batch",
                "64",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Mostly within the import (killed while opening, checking, or mid-batch), rarely
        // after it finished (each finished import grows the log by CRASH_LINES entries).
        let ms = if rng.gen_bool(0.95) {
            rng.gen_range(0..whole)
        } else {
            rng.gen_range(whole..whole * 3 / 2 + 1)
        };
        std::thread::sleep(Duration::from_millis(ms));
        // SIGKILL on unix; an already-finished child is fine.
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        let mut acknowledged = size;
        if out.status.success() {
            // The import finished: the count it printed is acknowledged.
            completed += 1;
            let text = String::from_utf8_lossy(&out.stdout);
            let n: u64 = text
                .rsplit("holds ")
                .next()
                .and_then(|t| t.split_whitespace().next())
                .and_then(|t| t.parse().ok())
                .unwrap_or_else(|| panic!("iteration {it}: unexpected output {text}"));
            acknowledged = n;
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(!err.contains("panicked"), "iteration {it}: {err}");
        }
        let now = match verify(&dir) {
            Ok(r) => r.entries,
            Err(f) => {
                assert!(
                    f.entry.is_none()
                        && f.reason
                            .starts_with("entries file ends in a torn write after entry "),
                    "iteration {it} (seed {seed}): not a torn tail: {f}"
                );
                torn += 1;
                let r = e.run(&["repair", "L"]);
                assert!(
                    r.status.success(),
                    "iteration {it}: repair failed: {}",
                    String::from_utf8_lossy(&r.stderr)
                );
                verify(&dir)
                    .unwrap_or_else(|f| panic!("iteration {it} (seed {seed}): after repair: {f}"))
                    .entries
            }
        };
        assert!(
            now >= size && now >= acknowledged,
            "iteration {it} (seed {seed}): the ledger went from {size} to {now} entries (acknowledged {acknowledged})"
        );
        if now > size {
            grew += 1;
        }
        size = now;
        // Torn side files are evidence, kept by repair; they must not pile up into the ledger.
        remove_torn_side_files(&dir);
    }
    eprintln!(
        "crash test: {iterations} kills in {:?}: {torn} torn tails repaired, {completed} imports finished, {grew} grew the log, final size {size}",
        started.elapsed()
    );
    // The test must actually have crashed imports that were writing.
    assert!(grew > 0, "no iteration appended anything: delays too short");
    // And the ledger is still usable for writing and reading through the binary.
    e.ok(&claim_of_one("L", "after the crashes"));
    let out = e.ok(&["verify", "L"]);
    assert!(out.contains(&format!("{} entries", size + 1)), "{out}");
}

#[test]
fn concurrent_writers_all_succeed_without_interleaving() {
    let e = Env::new();
    let start = e.entries();
    let root = e.cwd().to_path_buf();
    let handles: Vec<_> = (0..4)
        .map(|w| {
            let root = root.clone();
            std::thread::spawn(move || {
                let mut indices = Vec::new();
                for i in 0..10 {
                    let statement = format!("writer {w} claim {i}");
                    let out = std::process::Command::new(bin())
                        .current_dir(&root)
                        .args(claim_of_one("L", &statement))
                        .output()
                        .unwrap();
                    assert!(
                        out.status.success(),
                        "writer {w} claim {i}: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    let text = String::from_utf8(out.stdout).unwrap();
                    let idx: u64 = text
                        .strip_prefix("entry ")
                        .and_then(|t| t.split_whitespace().next())
                        .and_then(|t| t.parse().ok())
                        .unwrap_or_else(|| panic!("{text}"));
                    indices.push(idx);
                }
                indices
            })
        })
        .collect();
    let mut all: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| {
            let v = h.join().unwrap();
            // Each writer's own entries come in the order it wrote them.
            assert!(v.windows(2).all(|p| p[0] < p[1]), "{v:?}");
            v
        })
        .collect();
    all.sort_unstable();
    // 40 distinct, consecutive indices right after the existing entries.
    assert_eq!(all, (start..start + 40).collect::<Vec<_>>());
    assert_eq!(
        e.entries(),
        2 + 4 + 40,
        "genesis, grant, 4 evidence entries, 40 claims"
    );
    // Each reported index holds that writer's claim (no torn or interleaved frames).
    let log = e.ok(&["log", "L", "--json"]);
    let mut per_writer = [0u32; 4];
    for line in log.lines().skip(start as usize) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let s = v["summary"].as_str().unwrap();
        let w: usize = s.split("writer ").nth(1).unwrap()[..1].parse().unwrap();
        per_writer[w] += 1;
    }
    assert_eq!(per_writer, [10; 4]);
    // Concurrent imports too: two processes, 200 lines each, small batches.
    fs::write(e.path("a.jsonl"), claims_jsonl("A", 200)).unwrap();
    fs::write(e.path("b.jsonl"), claims_jsonl("B", 200)).unwrap();
    let spawn = |f: &str| {
        std::process::Command::new(bin())
            .current_dir(&root)
            .args(["import", "L", "--key", RESEARCHER_KEY, f, "--batch", "8"])
            .output()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| spawn("a.jsonl").unwrap());
        let b = s.spawn(|| spawn("b.jsonl").unwrap());
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(a.status.success() && b.status.success());
    assert_eq!(e.entries(), 46 + 400);
}

/// An entry is at most 65,535 bytes (docs/FORMAT.md, "Entry size": tlog-tiles entry bundles give
/// each entry a 16-bit length). `add` refuses a submission one byte over and admits one at the
/// bound, leaving the ledger untouched by the refusal; a ledger holding a larger entry (written
/// by hand, as an older custody or a forger could) fails `verify` at that entry.
#[test]
fn entries_over_65535_bytes_are_refused_at_admission_and_fail_verification() {
    use custody_core::entry::{Body, MAX_ENTRY_BYTES};
    use custody_core::hash::Digest;
    let e = Work::keyed();
    init_ledger(e.cwd(), "L", ORIGIN);
    fs::write(e.path("report.txt"), "report\n").unwrap();
    e.ok(&source_args("L", RESEARCHER_KEY, "2025", "media"));
    // The claim's entry is its statement plus a fixed overhead: measure it with one byte.
    let probe = claim_of_one("L", "x");
    e.ok(&probe);
    let bytes = fs::read(e.path("L/entries")).unwrap();
    let frames = common::frames(&bytes);
    let last = *frames.last().unwrap();
    let overhead = common::frame_body(&bytes, last).len() - 1;
    let at_bound = "y".repeat(MAX_ENTRY_BYTES - overhead);
    let over = "z".repeat(MAX_ENTRY_BYTES - overhead + 1);
    let before = fs::read(e.path("L/entries")).unwrap();
    let err = e.fails(2, &claim_of_one("L", &over));
    assert!(
        err.contains(&format!(
            "refused as entry 4: the entry is {} bytes; an entry is at most 65535 bytes",
            MAX_ENTRY_BYTES + 1
        )),
        "{err}"
    );
    assert_eq!(fs::read(e.path("L/entries")).unwrap(), before);
    e.ok(&claim_of_one("L", &at_bound));
    let bytes = fs::read(e.path("L/entries")).unwrap();
    let last = *common::frames(&bytes).last().unwrap();
    assert_eq!(common::frame_body(&bytes, last).len(), MAX_ENTRY_BYTES);
    verify(&e.path("L")).unwrap();

    // A genesis entry of 65,536 bytes, framed by hand.
    let op = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let genesis = |name: String| {
        let body = Body::Genesis {
            operator: op.verifying_key().to_bytes(),
            name,
        };
        custody_core::sign::sign_submission(&op, "example.org/big", 0, body)
            .unwrap()
            .into_entry(0, Digest::ZERO)
            .to_bytes()
            .unwrap()
    };
    let fixed = genesis(String::new()).len();
    let entry = genesis("n".repeat(MAX_ENTRY_BYTES + 1 - fixed));
    assert_eq!(entry.len(), MAX_ENTRY_BYTES + 1);
    let dir = e.path("big");
    fs::create_dir(&dir).unwrap();
    let mut file = custody_store::frames::FILE_MAGIC.to_vec();
    file.extend(custody_store::frames::encode_frame(
        &entry,
        &Digest::leaf(&entry),
    ));
    fs::write(dir.join("entries"), file).unwrap();
    let f = verify(&dir).unwrap_err();
    assert_eq!(f.entry, Some(0), "{f}");
    assert!(
        f.reason
            .starts_with("the entry is 65536 bytes; an entry is at most 65535 bytes"),
        "{f}"
    );
}
