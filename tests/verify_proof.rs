//! `prove inclusion --tlog-proof` writes a c2sp.org/tlog-proof@v1 against the latest recorded
//! checkpoint, and `verify-proof` checks it offline: the right leaf passes, another leaf, a
//! changed index, a changed byte of the checkpoint or another trusted key all fail (exit 1).

mod common;

use common::{sample_copy, Work};
use std::fs;

const SAMPLE_ORIGIN: &str = "example.org/nk-repatriation";

fn leaf_of(w: &Work, index: &str) -> String {
    let (code, v) = common::run_json(w.cwd(), &["show", "L", index, "--json"]);
    assert_eq!(code, 0);
    v["leaf_hash"].as_str().expect("leaf_hash").to_owned()
}

#[test]
fn a_tlog_proof_verifies_offline_and_nothing_else_does() {
    let w = Work::keyed();
    let sample = sample_copy();
    common::copy_dir(&sample.path().join("ledger"), &w.path("L"));
    let sample_pub = concat!(env!("CARGO_MANIFEST_DIR"), "/keys/operator.pub");
    let vkey = w
        .ok(&["key", "vkey", sample_pub, "--origin", SAMPLE_ORIGIN])
        .trim()
        .to_owned();
    let proof = w.ok(&["prove", "inclusion", "L", "4", "--tlog-proof"]);
    assert!(
        proof.starts_with("c2sp.org/tlog-proof@v1\nindex 4\n"),
        "{proof}"
    );
    fs::write(w.path("p.txt"), &proof).unwrap();
    let leaf4 = leaf_of(&w, "4");
    let ok = w.ok(&["verify-proof", "p.txt", "--trust", &vkey, "--leaf", &leaf4]);
    assert!(ok.starts_with("OK: leaf "), "{ok}");
    assert!(
        ok.contains("is entry 4 of log \"example.org/nk-repatriation\""),
        "{ok}"
    );

    let leaf5 = leaf_of(&w, "5");
    let e = w.fails(
        1,
        &["verify-proof", "p.txt", "--trust", &vkey, "--leaf", &leaf5],
    );
    assert!(e.contains("proof FAILED"), "{e}");

    fs::write(w.path("q.txt"), proof.replacen("index 4\n", "index 5\n", 1)).unwrap();
    w.fails(
        1,
        &["verify-proof", "q.txt", "--trust", &vkey, "--leaf", &leaf4],
    );

    // One byte of the checkpoint's root line changed: the log signature no longer holds.
    let at = proof.find("\n\nexample.org").expect("checkpoint") + 2;
    let root_line = proof[at..].lines().nth(2).expect("root line").to_owned();
    let mut changed = root_line.clone().into_bytes();
    changed[0] = if changed[0] == b'A' { b'B' } else { b'A' };
    let tampered = proof.replacen(&root_line, std::str::from_utf8(&changed).unwrap(), 1);
    fs::write(w.path("r.txt"), tampered).unwrap();
    let e = w.fails(
        1,
        &["verify-proof", "r.txt", "--trust", &vkey, "--leaf", &leaf4],
    );
    assert!(
        e.contains("does not verify") || e.contains("signature"),
        "{e}"
    );

    // Another operator's key is not the trusted one.
    let other = w
        .ok(&[
            "key",
            "vkey",
            "keys/operator.pub",
            "--origin",
            SAMPLE_ORIGIN,
        ])
        .trim()
        .to_owned();
    let e = w.fails(
        1,
        &["verify-proof", "p.txt", "--trust", &other, "--leaf", &leaf4],
    );
    assert!(e.contains("no signature by key"), "{e}");

    // Malformed inputs are usage errors, never a verdict.
    w.fails(
        2,
        &["verify-proof", "p.txt", "--trust", &vkey, "--leaf", "xyz"],
    );
    w.fails(
        2,
        &[
            "verify-proof",
            "missing.txt",
            "--trust",
            &vkey,
            "--leaf",
            &leaf4,
        ],
    );
}
