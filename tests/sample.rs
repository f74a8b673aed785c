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
    assert!(ledger.join("entries").is_file());
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
