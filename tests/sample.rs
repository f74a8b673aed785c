//! The committed sample ledger (`ledger/`, built by `scripts/build-sample.sh` from
//! `docs/sample/`): it verifies, its two figures show their arithmetic, and a change to one
//! claim's count is caught and named at that entry.
//!
//! Every test works on a copy of `ledger/` in a temporary directory, so running the tests never
//! writes derived files into the repository's working tree.

mod common;

use common::{frame_body, frames, run};
use custody_core::entry::{Body, Entry};
use std::fs;
use std::path::{Path, PathBuf};

/// Files of a ledger directory that are derived (rebuilt from `entries`); not copied, so the
/// tests see exactly what a fresh clone sees.
const DERIVED: &[&str] = &[
    "index",
    "hashes",
    "state.json",
    "dedup",
    "lock",
    ".gitignore",
];

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ledger")
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name();
        if DERIVED.iter().any(|d| name == *d) {
            continue;
        }
        let ty = e.file_type().unwrap();
        if ty.is_dir() {
            copy_dir(&e.path(), &to.join(&name));
        } else if ty.is_file() {
            fs::copy(e.path(), to.join(&name)).unwrap();
        }
    }
}

/// A private copy of the committed sample ledger.
fn copy_sample() -> (tempfile::TempDir, PathBuf) {
    let src = sample();
    assert!(
        src.join("entries").is_file(),
        "no sample ledger at {}; run `bash scripts/build-sample.sh`",
        src.display()
    );
    let tmp = tempfile::tempdir().unwrap();
    let dst = tmp.path().join("ledger");
    copy_dir(&src, &dst);
    (tmp, dst)
}

/// (frame offset, entry) for every frame of an entries file.
fn parse_entries(bytes: &[u8]) -> Vec<(usize, Entry)> {
    frames(bytes)
        .into_iter()
        .map(|f| (f.0, Entry::from_bytes(frame_body(bytes, f)).unwrap()))
        .collect()
}

/// Index of the figure with this label.
fn figure_index(entries: &[(usize, Entry)], label: &str) -> u64 {
    entries
        .iter()
        .find_map(|(_, e)| match &e.content.body {
            Body::Figure { label: l, .. } if l == label => Some(e.index),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no figure {label:?} in the sample"))
}

#[test]
fn sample_verifies_with_both_figures() {
    let (tmp, ledger) = copy_sample();
    let out = run(tmp.path(), &["verify", "ledger"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "verify failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(
            "Forcibly returned since 2024: at-least 406 = 108 + 60 + 212 + 1 + 5 + 20 (ok)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("Forcibly returned since 2020: at-least 1076 = 670 + 406 (ok)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("checkpoint ok"),
        "no signed checkpoint:\n{stdout}"
    );
    // The witnesses' lines and the token are reported, never counted, without the reader's
    // policy and TSA root (a ledger directory is untrusted input).
    assert!(
        stdout.contains(
            "    it carries 2 signature lines besides the log's (witness.example.org/sample-alpha, \
             witness.example.org/sample-beta), not checked: give --policy POLICY.txt"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("timestamps: 1 time-stamp token present, not checked"),
        "{stdout}"
    );
    assert!(!stdout.contains("witnessed by"), "{stdout}");
    assert!(ledger.join("entries").is_file());
}

#[test]
fn sample_is_witnessed_and_timestamped_under_the_shipped_policy() {
    // The README's second command: the sample policy (2 of 2 test witnesses) and the sample
    // TSA root, both from keys/, never from the ledger.
    let (tmp, _ledger) = copy_sample();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let policy = repo.join("keys/sample-policy.txt");
    let root = repo.join("keys/sample-tsa-root.pem");
    let (policy, root) = (policy.to_str().unwrap(), root.to_str().unwrap());
    let out = run(
        tmp.path(),
        &["verify", "ledger", "--policy", policy, "--tsa-cert", root],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    for needle in [
        "witnessed: checkpoint tree size 33 ",
        "    witnessed by alpha at 2026-01-15T12:30:00Z",
        "    witnessed by beta at 2026-01-15T12:30:00Z",
        "timestamp ok: the checkpoint at tree size 33 existed no later than 2026-01-15T12:00:00Z",
    ] {
        assert!(stdout.contains(needle), "no {needle:?} in {stdout}");
    }
    assert!(!stdout.contains("not checked"), "{stdout}");
    // Both shipped bundles carry the cosigned checkpoint, the policy and the token.
    for b in ["figure-406.json", "figure-1076.json"] {
        let bundle = format!("ledger/bundles/{b}");
        let out = run(
            tmp.path(),
            &["check", &bundle, "--policy", policy, "--tsa-cert", root],
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{b}: {stdout}");
        for needle in [
            "    witnessed by alpha at 2026-01-15T12:30:00Z",
            "    witnessed by beta at 2026-01-15T12:30:00Z",
            "the bundle carries the same policy it was checked under",
            "the checkpoint at tree size 33 existed no later than 2026-01-15T12:00:00Z",
        ] {
            assert!(stdout.contains(needle), "{b}: no {needle:?} in {stdout}");
        }
    }
    // A policy that needs a third witness the sample does not have fails (exit 1).
    let text = fs::read_to_string(policy).unwrap();
    let gamma = common::TestWitness::new("witness.example.org/sample-gamma", 33).vkey();
    let third = text.replace(
        "group both all alpha beta",
        &format!("witness gamma {gamma}\ngroup both all alpha beta gamma"),
    );
    fs::write(tmp.path().join("three.txt"), third).unwrap();
    let out = run(tmp.path(), &["verify", "ledger", "--policy", "three.txt"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn figure_1076_is_670_plus_406() {
    let (tmp, ledger) = copy_sample();
    let entries = parse_entries(&fs::read(ledger.join("entries")).unwrap());
    let n = figure_index(&entries, "Forcibly returned since 2020");
    let out = run(tmp.path(), &["figure", "ledger", &n.to_string()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("at-least 1076"), "{stdout}");
    assert!(stdout.contains("= 670 + 406"), "{stdout}");
    assert!(
        stdout.contains("claim") && stdout.contains(": 670 "),
        "{stdout}"
    );
    assert!(
        stdout.contains("\"Forcibly returned since 2024\" = 406"),
        "{stdout}"
    );
}

#[test]
fn changing_the_212_claim_is_caught_at_its_entry() {
    let (tmp, ledger) = copy_sample();
    let path = ledger.join("entries");
    let mut bytes = fs::read(&path).unwrap();
    let entries = parse_entries(&bytes);
    let (offset, entry) = entries
        .iter()
        .find(|(_, e)| {
            matches!(
                e.content.body,
                Body::Claim {
                    count: Some(212),
                    ..
                }
            )
        })
        .expect("the sample has a claim counting 212");
    let index = entry.index;

    // Rewrite the count in place (fixed-width encoding: same length), keeping the signature and
    // the stored leaf hash: what someone editing the file by hand would do.
    let mut forged = entry.clone();
    if let Body::Claim { count, .. } = &mut forged.content.body {
        *count = Some(2120);
    }
    let old = entry.to_bytes().unwrap();
    let new = forged.to_bytes().unwrap();
    assert_eq!(old.len(), new.len());
    let start = offset + 4;
    assert_eq!(&bytes[start..start + old.len()], &old[..]);
    bytes[start..start + new.len()].copy_from_slice(&new);
    fs::write(&path, &bytes).unwrap();

    let out = run(tmp.path(), &["verify", "ledger"]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "tampered sample verified:\n{all}"
    );
    assert!(
        all.contains(&format!("entry {index}")),
        "verify did not name entry {index}:\n{all}"
    );
    assert!(!all.contains("at-least 406 = 108 + 60 + 212"), "{all}");
}
