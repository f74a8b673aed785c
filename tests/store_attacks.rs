//! Regressions from an attacker's review of custody-store: someone who can write the ledger
//! directory (no keys) edits an earlier entry's bytes in place while a command runs, so that a
//! rule lookup or a duplicate check reads bytes that were never verified. Every read-back of an
//! earlier entry is now checked against the leaf hash this machine verified, so the command
//! refuses instead of admitting, signing or reporting something false.

mod common;

use common::{claim_args, frame_body, frames, sign_claim_args, source_args, Work};
use common::{OPERATOR_KEY, RESEARCHER_KEY};
use sha2::Digest as _;
use std::fs;
use std::path::Path;

const ORIGIN: &str = "example.org/attacks";

fn leaf(body: &[u8]) -> [u8; 32] {
    let mut h = sha2::Sha256::new();
    h.update([0u8]);
    h.update(body);
    h.finalize().into()
}

/// A frame holding `body`.
fn frame(body: &[u8]) -> Vec<u8> {
    let mut f = u32::try_from(body.len()).unwrap().to_le_bytes().to_vec();
    f.extend_from_slice(body);
    f.extend_from_slice(&leaf(body));
    f
}

/// `body` re-chained as entry `index` after leaf `prev` (index and prev are not signed).
fn rechain(body: &[u8], index: u64, prev: &[u8; 32]) -> Vec<u8> {
    let mut b = index.to_le_bytes().to_vec();
    b.extend_from_slice(prev);
    b.extend_from_slice(&body[40..]);
    b
}

/// A ledger: 0 genesis, 1 grant, 2 source, 3 claim "ten people", 4 claim "filler"; then
/// `custody log` so this machine's caches hold all five.
fn ledger(w: &Work) {
    common::init_ledger(w.cwd(), "L", ORIGIN);
    fs::write(w.path("report.txt"), b"the report\n").unwrap();
    w.ok(&source_args("L", RESEARCHER_KEY, "2025", "ngo-report"));
    w.ok(&claim_args(
        "L",
        RESEARCHER_KEY,
        "ten people returned",
        "10",
        "c",
        "2024",
        "2",
    ));
    w.ok(&claim_args(
        "L",
        RESEARCHER_KEY,
        "filler",
        "1",
        "c",
        "2024",
        "2",
    ));
    w.ok(&["log", "L"]);
}

/// Flips one byte inside entry `k`'s statement, keeping its frame's stored leaf (so only the
/// bytes differ from what was verified). Returns the original file.
fn flip_in_place(path: &Path, k: usize, needle: &[u8]) -> Vec<u8> {
    let orig = fs::read(path).unwrap();
    let f = frames(&orig)[k];
    let body = frame_body(&orig, f);
    let at = body
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    let mut out = orig.clone();
    out[f.0 + 4 + at] ^= 0x01;
    fs::write(path, &out).unwrap();
    orig
}

#[test]
fn a_replay_behind_an_edited_earlier_entry_is_never_cached_signed_or_verified() {
    let w = Work::keyed();
    ledger(&w);
    let path = w.path("L/entries");
    let bytes = fs::read(&path).unwrap();
    let fr = frames(&bytes);
    // Entry 3's submission again, re-chained as entry 5.
    let last: [u8; 32] = bytes[fr[4].1 - 32..fr[4].1].try_into().unwrap();
    let replay = frame(&rechain(frame_body(&bytes, fr[3]), 5, &last));
    // Entry 3 edited in place (so the duplicate check would read other bytes), then the replay.
    let orig = flip_in_place(&path, 3, b"ten people");
    let mut planted = fs::read(&path).unwrap();
    planted.extend_from_slice(&replay);
    fs::write(&path, &planted).unwrap();
    // A reader brings the caches up to date: it must not record entry 5 as verified.
    let err = w.fails(2, &["log", "L"]);
    assert!(
        err.contains("entry 3") && err.contains("changed after they were verified"),
        "{err}"
    );
    // Entry 3 put back: now entry 5 is a plain replay, refused; nothing is signed.
    let mut restored = orig.clone();
    restored.extend_from_slice(&replay);
    fs::write(&path, &restored).unwrap();
    let err = w.fails(2, &["checkpoint", "L", "--key", OPERATOR_KEY]);
    assert!(err.contains("replays entry 3"), "{err}");
    assert_eq!(fs::read_dir(w.path("L/checkpoints")).unwrap().count(), 0);
    let err = w.fails(1, &["verify", "L"]);
    assert!(err.contains("entry 5: replays entry 3"), "{err}");
}

#[test]
fn a_duplicate_is_refused_even_when_the_earlier_copy_was_edited_in_the_file() {
    let w = Work::keyed();
    ledger(&w);
    let mut sign = sign_claim_args(RESEARCHER_KEY, ORIGIN, "offline claim", "2025", "c.cust");
    sign.extend(["--count", "5"]);
    w.ok(&sign);
    let out = w.ok(&["append", "L", "c.cust"]);
    assert!(out.contains("entry 5 (claim) appended"), "{out}");
    // Entry 5 edited in the file: the re-append must not get past the duplicate check.
    let orig = flip_in_place(&w.path("L/entries"), 5, b"offline claim");
    let err = w.fails(2, &["append", "L", "c.cust"]);
    assert!(err.contains("entry 5"), "{err}");
    fs::write(w.path("L/entries"), &orig).unwrap();
    let err = w.fails(2, &["append", "L", "c.cust"]);
    assert!(err.contains("already entry 5"), "{err}");
    assert!(w.ok(&["verify", "L"]).contains("6 entries"));
}

#[test]
fn a_planted_file_under_a_checkpoints_name_is_replaced_not_reported_as_recorded() {
    let w = Work::keyed();
    ledger(&w);
    // A first checkpoint appends the state commitment (entry 5); the next one signs the same
    // tree, whose root is public (verify prints it): plant garbage under the name it will use.
    w.ok(&["checkpoint", "L", "--key", OPERATOR_KEY]);
    for e in fs::read_dir(w.path("L/checkpoints")).unwrap() {
        fs::remove_file(e.unwrap().path()).unwrap();
    }
    let v = w.ok(&["verify", "L"]);
    let root = v
        .lines()
        .find_map(|l| l.trim().strip_prefix("root:"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let name = format!("L/checkpoints/000000000006-{}.txt", &root[..16]);
    fs::write(w.path(&name), b"garbage").unwrap();
    w.ok(&["checkpoint", "L", "--key", OPERATOR_KEY]);
    assert!(fs::read(w.path(&name))
        .unwrap()
        .starts_with(ORIGIN.as_bytes()));
    assert!(w
        .ok(&["verify", "L"])
        .contains("checkpoint ok: tree size 6"));
}

#[test]
fn a_held_lock_file_does_not_stall_a_reader_and_a_writer_says_it_waits() {
    let w = Work::keyed();
    ledger(&w);
    // Another process holds the ledger's lock for 6 s.
    let mut holder = std::process::Command::new("flock")
        .args(["-x", "L/lock", "sleep", "6"])
        .current_dir(w.cwd())
        .spawn()
        .expect("flock (util-linux)");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let t = std::time::Instant::now();
    w.ok(&["log", "L"]);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        t.elapsed()
    );
    let out = w.run(&claim_args(
        "L",
        RESEARCHER_KEY,
        "after the lock",
        "1",
        "c",
        "2024",
        "2",
    ));
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("waiting for") && err.contains("lock"), "{err}");
    holder.wait().unwrap();
}
