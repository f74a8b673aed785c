//! custody's witness client against a real third-party witness: the PyPI package
//! `aics-witness` 0.1.0 (`pip install --ignore-requires-python aics-witness==0.1.0`; `.ci/run`
//! installs it), a C2SP tlog-witness on Python's HTTP server and SQLite. Two instances, two
//! identities, each in its own temporary directory, listening on free loopback ports and
//! killed by a drop guard.
//!
//! One story per test, on a ledger built here with the CLI (genesis, grant, a source, claims
//! and a figure; the sample ledger in `ledger/` ships no operator secret key, and signing
//! checkpoints needs one): both witnesses cosign under a 2-of-2 policy, again after the log
//! grows (old size and consistency proof from custody's records), again after one witness was
//! fed a newer checkpoint by its own feeder (409, retried from the size it names); the bundle
//! checks offline with the policy and fails the quorum when a byte of a cosignature changes;
//! a fork of the ledger gets no cosignature (409 then 422) and the two checkpoints prove the
//! fork; with one witness stopped the quorum fails and nothing is recorded as witnessed.

#[path = "common/aics.rs"]
mod aics;
mod common;

use aics::Witness;
use common::{
    claim_args, figure_args, init_ledger, source_args, Work, OPERATOR_KEY, RESEARCHER_KEY,
};
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;

const ORIGIN: &str = "example.org/witnessed";

/// The outcome of a custody run: exit code, stdout, stderr (and no panic).
fn run(w: &Work, args: &[&str]) -> (i32, String, String) {
    let out = w.run(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "custody {args:?}: {err}");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        err,
    )
}

fn ok(w: &Work, args: &[&str]) -> (String, String) {
    let (code, out, err) = run(w, args);
    assert_eq!(code, 0, "custody {args:?}: {out}{err}");
    (out, err)
}

/// Ledger `name`: genesis, grant, a source, claims of 100 and 60, a figure of 160 (entry 5).
fn build_ledger(w: &Work, name: &str) {
    init_ledger(w.cwd(), name, ORIGIN);
    fs::write(w.path("report.txt"), "a report").unwrap();
    w.ok(&source_args(name, RESEARCHER_KEY, "2025-10", "ngo-report"));
    w.ok(&claim_args(
        name,
        RESEARCHER_KEY,
        "100 returned",
        "100",
        "forced-repatriation",
        "2024",
        "2",
    ));
    w.ok(&claim_args(
        name,
        RESEARCHER_KEY,
        "60 returned",
        "60",
        "forced-repatriation",
        "2024",
        "2",
    ));
    w.ok(&figure_args(
        name,
        RESEARCHER_KEY,
        "Returned since 2024",
        "160",
        "3,4",
    ));
}

/// Appends claim `n` (citing the source) to ledger `name`.
fn add_claim(w: &Work, name: &str, statement: &str) {
    w.ok(&claim_args(
        name,
        RESEARCHER_KEY,
        statement,
        "1",
        "forced-repatriation",
        "2025",
        "2",
    ));
}

/// The recorded checkpoint of tree size `size` in ledger `name`.
fn checkpoint_file(w: &Work, name: &str, size: u64) -> PathBuf {
    let dir = w.path(name).join("checkpoints");
    let prefix = format!("{size:012}-");
    fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&prefix)
        })
        .unwrap_or_else(|| panic!("no checkpoint of size {size} in {}", dir.display()))
}

fn cosignature_lines(note: &str, witness: &Witness) -> usize {
    let name = witness.vkey.split('+').next().unwrap();
    note.lines()
        .filter(|l| l.starts_with(&format!("— {name} ")))
        .count()
}

/// Feeds `note` to a witness with aics-witness's own feeder, from `old` with `proof` (hex).
fn feed(w: &Witness, note: &Path, old: u64, proof: &[String]) -> String {
    let script = r#"
import sys
from aics_witness.feeder import submit_checkpoint
note = open(sys.argv[2], "rb").read()
proof = [bytes.fromhex(h) for h in sys.argv[5:]]
print(submit_checkpoint(sys.argv[1], note, (int(sys.argv[4]), proof), witness_vkey=sys.argv[3], old_size=int(sys.argv[4])))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&w.url)
        .arg(note)
        .arg(&w.vkey)
        .arg(old.to_string())
        .args(proof)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "feeder: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The consistency proof from `old` to `new` in ledger `name`, hex.
fn proof(w: &Work, name: &str, old: u64, new: u64) -> Vec<String> {
    let (out, _) = ok(
        w,
        &[
            "prove",
            "consistency",
            name,
            &old.to_string(),
            &new.to_string(),
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["consistency_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().to_owned())
        .collect()
}

fn vkey(w: &Work) -> String {
    let (out, _) = ok(w, &["key", "vkey", "keys/operator.pub", "--origin", ORIGIN]);
    out.trim().to_owned()
}

fn write_policy(w: &Work, file: &str, log: &str, ws: &[(&str, &Witness)], quorum: &str) {
    let mut p = format!("# test policy\nlog {log}\n");
    for (n, wi) in ws {
        p.push_str(&format!("witness {n} {} {}\n", wi.vkey, wi.url));
    }
    p.push_str(quorum);
    fs::write(w.path(file), p).unwrap();
}

#[test]
fn two_witnesses_cosign_a_growing_log_and_refuse_its_fork() {
    let w = Work::keyed();
    build_ledger(&w, "L");
    let log = vkey(&w);
    let mut w1 = Witness::start(w.path("w1"), "witness.example.com/one", &[(ORIGIN, &log)]);
    let w2 = Witness::start(w.path("w2"), "witness.example.net/two", &[(ORIGIN, &log)]);
    write_policy(
        &w,
        "policy.txt",
        &log,
        &[("one", &w1), ("two", &w2)],
        "group both all one two\nquorum both\n",
    );

    // 1. First contact (old 0): both cosign, and the note with both lines is recorded.
    let (note, err) = ok(
        &w,
        &[
            "checkpoint",
            "L",
            "--key",
            OPERATOR_KEY,
            "--policy",
            "policy.txt",
        ],
    );
    assert!(
        err.contains("one: cosigned at") && err.contains("two: cosigned at"),
        "{err}"
    );
    assert!(
        err.contains("witnessed by one at") && err.contains(", two at"),
        "{err}"
    );
    let recorded = fs::read_to_string(checkpoint_file(&w, "L", 7)).unwrap();
    assert_eq!(recorded, note);
    assert_eq!(
        (
            cosignature_lines(&recorded, &w1),
            cosignature_lines(&recorded, &w2)
        ),
        (1, 1)
    );
    assert_eq!((w1.size(ORIGIN), w2.size(ORIGIN)), (7, 7));
    let (out, _) = ok(&w, &["verify", "L", "--policy", "policy.txt"]);
    assert!(out.contains("witnessed: checkpoint tree size 7"), "{out}");
    assert!(
        out.contains("witnessed by one at ") && out.contains("witnessed by two at "),
        "{out}"
    );
    // Signing the same tree again without a policy keeps the cosignatures on the record.
    ok(&w, &["checkpoint", "L", "--key", OPERATOR_KEY]);
    assert_eq!(
        fs::read_to_string(checkpoint_file(&w, "L", 7)).unwrap(),
        recorded
    );

    // The fork's starting point: a copy of the ledger as both witnesses cosigned it.
    common::copy_dir(&w.path("L"), &w.path("F"));

    // 2. The log grows (a claim and a state commitment): old = 7 from custody's records, with a consistency proof.
    add_claim(&w, "L", "7th");
    let (_, err) = ok(
        &w,
        &[
            "checkpoint",
            "L",
            "--key",
            OPERATOR_KEY,
            "--policy",
            "policy.txt",
        ],
    );
    assert!(err.contains("quorum \"both\" met"), "{err}");
    assert_eq!((w1.size(ORIGIN), w2.size(ORIGIN)), (9, 9));

    // 3. Someone else feeds witness one a newer checkpoint with its own feeder; custody's
    // records still say 9, so its request gets 409 naming 11 and is retried from 11.
    add_claim(&w, "L", "8th");
    ok(&w, &["checkpoint", "L", "--key", OPERATOR_KEY]);
    let line = feed(
        &w1,
        &checkpoint_file(&w, "L", 11),
        9,
        &proof(&w, "L", 9, 11),
    );
    assert!(line.starts_with("— witness.example.com/one "), "{line}");
    assert_eq!(w1.size(ORIGIN), 11);
    add_claim(&w, "L", "9th");
    let (note9, err) = ok(
        &w,
        &[
            "checkpoint",
            "L",
            "--key",
            OPERATOR_KEY,
            "--policy",
            "policy.txt",
        ],
    );
    assert!(
        err.contains("one: cosigned at") && err.contains("two: cosigned at"),
        "{err}"
    );
    assert!(
        w1.log().contains("(409)"),
        "witness one answered no 409: {}",
        w1.log()
    );
    assert_eq!((w1.size(ORIGIN), w2.size(ORIGIN)), (13, 13));
    assert_eq!(
        (
            cosignature_lines(&note9, &w1),
            cosignature_lines(&note9, &w2)
        ),
        (1, 1)
    );

    // 4. Export under the policy and check offline with the policy alone.
    let (out, _) = ok(
        &w,
        &[
            "export",
            "L",
            "--figure",
            "5",
            "--policy",
            "policy.txt",
            "-o",
            "fig.json",
        ],
    );
    assert!(
        out.contains("against the checkpoint at tree size 13"),
        "{out}"
    );
    let bundle = fs::read_to_string(w.path("fig.json")).unwrap();
    let b: serde_json::Value = serde_json::from_str(&bundle).unwrap();
    assert_eq!(b["checkpoint"].as_str().unwrap(), note9);
    assert_eq!(
        b["policy"].as_str().unwrap(),
        fs::read_to_string(w.path("policy.txt")).unwrap()
    );
    let (out, _) = ok(&w, &["check", "fig.json", "--policy", "policy.txt"]);
    assert!(
        out.contains("witnessed by one at ") && out.contains("witnessed by two at "),
        "{out}"
    );
    let (code, out, _) = run(
        &w,
        &["check", "fig.json", "--policy", "policy.txt", "--json"],
    );
    assert_eq!(code, 0);
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["witnessed"]["quorum_met"], true);
    assert_eq!(j["witnessed"]["witnesses"][1]["status"], "cosigned");
    let (out, _) = ok(
        &w,
        &[
            "exhibit",
            "fig.json",
            "--policy",
            "policy.txt",
            "-o",
            "fig.html",
        ],
    );
    let html = fs::read_to_string(w.path("fig.html")).unwrap();
    let start = html
        .find("<b>Witnesses: this checkpoint was witnessed by one at ")
        .unwrap();
    let sentence = &html[start..html[start..].find("</b>").unwrap() + start + 4];
    eprintln!("exhibit result box: {sentence}");
    eprintln!("exhibit command: {}", out.trim());
    assert!(html.contains("Established by the witnesses' cosignatures"));

    // 5. One byte of witness two's cosignature changed, everywhere the note appears (the
    // bundle stays well-formed): the log signature still holds, the quorum does not.
    let two_line = note9
        .lines()
        .find(|l| l.starts_with("— witness.example.net/two "))
        .unwrap();
    let mut altered = two_line.as_bytes().to_vec();
    let i = "— witness.example.net/two ".len() + 50;
    altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    fs::write(w.path("tampered.json"), bundle.replace(two_line, &altered)).unwrap();
    let (code, _, err) = run(&w, &["check", "tampered.json", "--policy", "policy.txt"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("quorum is not met") && err.contains("do not verify"),
        "{err}"
    );
    let (code, _, err) = run(&w, &["check", "tampered.json", "--trust", &log]);
    assert_eq!(
        code, 0,
        "without a policy cosignatures are not checked: {err}"
    );

    // 6. The fork: the copy taken at size 7 grows differently to size 14 (six claims and a
    // state commitment). Its records say both witnesses cosigned 7; they answer 409 (they hold
    // 13) and then refuse the proof from 13 in the fork's tree (422). Nothing is recorded as
    // witnessed.
    for s in [
        "fork 7", "fork 8", "fork 9", "fork 10", "fork 11", "fork 12",
    ] {
        add_claim(&w, "F", s);
    }
    let (code, _, err) = run(
        &w,
        &[
            "checkpoint",
            "F",
            "--key",
            OPERATOR_KEY,
            "--policy",
            "policy.txt",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("one: no cosignature: refused the consistency proof (422)"),
        "{err}"
    );
    assert!(
        err.contains("two: no cosignature: refused the consistency proof (422)"),
        "{err}"
    );
    assert!(err.contains("nothing was recorded as witnessed"), "{err}");
    let f10 = checkpoint_file(&w, "F", 14);
    let f10_note = fs::read_to_string(&f10).unwrap();
    assert_eq!(
        (
            cosignature_lines(&f10_note, &w1),
            cosignature_lines(&f10_note, &w2)
        ),
        (0, 0)
    );
    assert_eq!((w1.size(ORIGIN), w2.size(ORIGIN)), (13, 13));
    let l9 = checkpoint_file(&w, "L", 13);
    let (out, _) = ok(
        &w,
        &[
            "fork-evidence",
            l9.to_str().unwrap(),
            f10.to_str().unwrap(),
            "--ledger",
            "F",
            "-o",
            "fork.json",
        ],
    );
    assert!(out.contains("tree sizes 13 and 14"), "{out}");
    let (code, out, _) = run(&w, &["check-fork", "fork.json", "--trust", &log]);
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("FORK PROVEN"), "{out}");
    // verify of the fork, given the witnessed checkpoint of the original, fails and writes the
    // same kind of evidence.
    let (code, _, err) = run(
        &w,
        &[
            "verify",
            "F",
            "--since",
            l9.to_str().unwrap(),
            "--fork-evidence",
            "fork2.json",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("fork evidence written to fork2.json"), "{err}");
    let (code, out, _) = run(&w, &["check-fork", "fork2.json", "--trust", &log]);
    assert_eq!((code, out.starts_with("FORK PROVEN")), (1, true), "{out}");
    // The fork still verifies on its own, and its last witnessed checkpoint is 7.
    let (out, _) = ok(&w, &["verify", "F", "--policy", "policy.txt"]);
    assert!(out.contains("witnessed: checkpoint tree size 7"), "{out}");

    // 7. Witness two stopped: the quorum fails (exit 1) and the new checkpoint is recorded
    // with the log's signature only; verify --policy still holds the log to checkpoint 13.
    let mut w2 = w2;
    w2.stop();
    add_claim(&w, "L", "10th");
    let (code, _, err) = run(
        &w,
        &[
            "checkpoint",
            "L",
            "--key",
            OPERATOR_KEY,
            "--policy",
            "policy.txt",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("one: cosigned at"), "{err}");
    assert!(err.contains("two: no cosignature: no answer from"), "{err}");
    assert!(
        err.contains("checkpoint NOT witnessed") && err.contains("1 of 2"),
        "{err}"
    );
    let l10 = fs::read_to_string(checkpoint_file(&w, "L", 15)).unwrap();
    assert_eq!(
        (cosignature_lines(&l10, &w1), cosignature_lines(&l10, &w2)),
        (0, 0),
        "nothing recorded as witnessed: {l10}"
    );
    let (out, _) = ok(&w, &["verify", "L", "--policy", "policy.txt"]);
    assert!(out.contains("witnessed: checkpoint tree size 13"), "{out}");
    assert!(
        out.contains("entries 13..14 are not yet covered by a witnessed checkpoint"),
        "{out}"
    );
    w1.stop();
}

#[test]
fn witnesses_that_do_not_know_the_log_are_reported() {
    let w = Work::keyed();
    build_ledger(&w, "L");
    let log = vkey(&w);
    // Witness one knows the origin under another key (403); witness two not at all (404).
    w.ok(&["key", "new", "other"]);
    let (other, _) = ok(&w, &["key", "vkey", "keys/other.pub", "--origin", ORIGIN]);
    let w1 = Witness::start(
        w.path("w1"),
        "witness.example.com/one",
        &[(ORIGIN, other.trim())],
    );
    let w2 = Witness::start(w.path("w2"), "witness.example.net/two", &[]);
    write_policy(
        &w,
        "policy.txt",
        &log,
        &[("one", &w1), ("two", &w2)],
        "group either any one two\nquorum either\n",
    );
    let (code, _, err) = run(
        &w,
        &[
            "checkpoint",
            "L",
            "--key",
            OPERATOR_KEY,
            "--policy",
            "policy.txt",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("one: no cosignature: does not accept this log's key (403"),
        "{err}"
    );
    assert!(
        err.contains("two: no cosignature: does not know this log (404"),
        "{err}"
    );
    // The log-signed checkpoint is recorded, without cosignatures; verify --policy fails.
    let note = fs::read_to_string(checkpoint_file(&w, "L", 7)).unwrap();
    assert_eq!(note.lines().filter(|l| l.starts_with("— ")).count(), 1);
    let (code, _, err) = run(&w, &["verify", "L", "--policy", "policy.txt"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("no checkpoint is witnessed under the policy"),
        "{err}"
    );
    // A policy that does not list this ledger's key is a usage error, before any request.
    write_policy(
        &w,
        "wrong.txt",
        other.trim(),
        &[("one", &w1)],
        "quorum one\n",
    );
    let (code, _, err) = run(
        &w,
        &[
            "checkpoint",
            "L",
            "--key",
            OPERATOR_KEY,
            "--policy",
            "wrong.txt",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("the policy lists no log key"), "{err}");
    let mut buf = String::new();
    let _ = fs::File::open(w1.dir.join("serve.log")).map(|mut f| f.read_to_string(&mut buf));
    assert!(buf.contains("403"), "witness one logged no 403: {buf}");
}
