//! A hostile remote log or static host, as `custody clone` and `custody monitor` meet it: files
//! that a log key really signed, but that lie (a checkpoint claiming a tree far larger than
//! what is published). And a hostile ledger directory's `checkpoints/`: names that cost no
//! disk space (hard links) but would cost memory and time. Each case must end in one line and a non-zero exit, quickly and in
//! bounded memory, and leave nothing behind. The child runs under `prlimit --as` so that an
//! allocation proportional to a claimed size fails the test instead of the machine.

mod common;

use common::{init_ledger, run_ok, source_args, Work, OPERATOR_KEY, RESEARCHER_KEY};
use custody_core::checkpoint;
use custody_core::hash::Digest;
use custody_core::keys::SecretKey;
use custody_core::tiles::{self, TileId};
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const ORIGIN: &str = "example.org/hostile";
/// Address space for a child: far more than a clone of a few entries needs, far less than a
/// table of every bundle of a 2^40-entry tree.
const CHILD_AS_BYTES: &str = "3000000000";

fn operator(cwd: &Path) -> SecretKey {
    let text = fs::read_to_string(cwd.join(OPERATOR_KEY)).unwrap();
    SecretKey::from_file_text(&text, |_| unreachable!("unencrypted")).unwrap()
}

/// Runs custody in `cwd` under an address-space limit and a wall-clock limit; (exit, stderr).
fn bounded(cwd: &Path, args: &[&str]) -> (i32, String, Duration) {
    let start = Instant::now();
    let out = Command::new("prlimit")
        .arg(format!("--as={CHILD_AS_BYTES}"))
        .arg("timeout")
        .arg("120")
        .arg(common::bin())
        .args(args)
        .current_dir(cwd)
        .env_remove("CUSTODY_PASSPHRASE")
        .env(
            "CUSTODY_CACHE_DIR",
            std::env::temp_dir().join("custody-test-cache"),
        )
        .output()
        .expect("prlimit and timeout (util-linux, coreutils) run");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "custody {args:?}: {err}");
    (out.status.code().unwrap_or(-1), err, start.elapsed())
}

/// A ledger `L` of 3 entries (genesis, grant, state commitment) published to `www/log`, and the vkey to trust it by.
fn published(w: &Work) -> String {
    init_ledger(w.cwd(), "L", ORIGIN);
    run_ok(w.cwd(), &["checkpoint", "L", "--key", OPERATOR_KEY]);
    run_ok(w.cwd(), &["publish", "L", "www/log"]);
    run_ok(
        w.cwd(),
        &["key", "vkey", "keys/operator.pub", "--origin", ORIGIN],
    )
    .trim()
    .to_string()
}

#[test]
fn clone_of_a_checkpoint_that_lies_about_its_size_fails_fast_in_bounded_memory() {
    let w = Work::keyed();
    let vk = published(&w);
    let log = w.path("www/log");
    // The real two entries, from the published bundle.
    let small = fs::read(log.join("tile/entries/000.p/3")).unwrap();
    let entries: Vec<Vec<u8>> = tiles::decode_bundle(TileId::entries(0, 3).unwrap(), &small)
        .unwrap()
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    // The log key signs a tree of 2^40 entries; the host serves one full first bundle (the
    // genesis, then the grant 255 times) and nothing else.
    let size = 1u64 << 40;
    let note = checkpoint::sign(
        ORIGIN,
        size,
        Digest::leaf(b"a root of nothing published"),
        operator(w.cwd()).signing_key(),
    )
    .unwrap();
    fs::write(log.join("checkpoint"), note).unwrap();
    let mut full = vec![entries[0].clone()];
    full.extend(std::iter::repeat_n(entries[1].clone(), 255));
    let bundle = TileId::entries(0, 256).unwrap();
    fs::write(
        log.join(bundle.path()),
        tiles::encode_bundle(bundle, &full).unwrap(),
    )
    .unwrap();

    let (code, err, took) = bounded(w.cwd(), &["clone", "www/log", "L2", "--trust", &vk]);
    println!("clone of a 2^40 claim: exit {code} after {took:?}: {err}");
    assert!(code == 1 || code == 2, "exit {code}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert!(!w.path("L2").exists(), "a failed clone leaves nothing");
}

#[test]
fn clone_of_endless_junk_bundles_stops_at_the_first_chunk() {
    let w = Work::keyed();
    let vk = published(&w);
    let log = w.path("www/log");
    let small = fs::read(log.join("tile/entries/000.p/3")).unwrap();
    let entries: Vec<Vec<u8>> = tiles::decode_bundle(TileId::entries(0, 3).unwrap(), &small)
        .unwrap()
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    // The log key signs 2^40 entries and the host serves 300 full bundles of junk (the genesis,
    // then the grant again and again: not one of them is a valid entry after the first two),
    // all hard links to one file. No hash tile is published.
    let note = checkpoint::sign(
        ORIGIN,
        1u64 << 40,
        Digest::leaf(b"a root of junk"),
        operator(w.cwd()).signing_key(),
    )
    .unwrap();
    fs::write(log.join("checkpoint"), note).unwrap();
    let mut junk = vec![entries[0].clone()];
    junk.extend(std::iter::repeat_n(entries[1].clone(), 255));
    let first = TileId::entries(0, 256).unwrap();
    fs::write(
        log.join(first.path()),
        tiles::encode_bundle(first, &junk).unwrap(),
    )
    .unwrap();
    for n in 1..300 {
        let b = TileId::entries(n, 256).unwrap();
        let path = log.join(b.path());
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::hard_link(log.join(first.path()), path).unwrap();
    }
    let (code, err, took) = bounded(w.cwd(), &["clone", "www/log", "L2", "--trust", &vk]);
    println!("clone of junk bundles: exit {code} after {took:?}: {err}");
    assert!(code == 1 || code == 2, "exit {code}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    // It stopped once the first 65,536 entries did not make the tree the checkpoint's tiles
    // hold (here: there are none), long before the 300 bundles ran out.
    assert!(!err.contains("tile/entries/300"), "{err}");
    assert!(!w.path("L2").exists(), "a failed clone leaves nothing");
}

#[test]
fn clone_of_a_log_larger_than_one_chunk_checks_each_chunk_against_the_tiles() {
    // 65,803 entries: a first chunk of 65,536 (256 bundles) checked against the root the
    // authenticated tiles give at that size, then the rest against the checkpoint.
    let w = Work::keyed();
    init_ledger(w.cwd(), "L", ORIGIN);
    fs::write(w.path("report.txt"), "report\n").unwrap();
    w.ok(&source_args("L", RESEARCHER_KEY, "2025", "media"));
    let mut text = String::new();
    for k in 0..65_800 {
        text.push_str(&format!(
            "{{\"kind\":\"claim\",\"statement\":\"s{k}\",\"count\":1,\"category\":\"c\",\"period\":\"2024\",\"cites\":[2]}}\n"
        ));
    }
    fs::write(w.path("claims.jsonl"), text).unwrap();
    w.ok(&["import", "L", "--key", RESEARCHER_KEY, "claims.jsonl"]);
    run_ok(w.cwd(), &["checkpoint", "L", "--key", OPERATOR_KEY]);
    run_ok(w.cwd(), &["publish", "L", "www/log"]);
    let vk = run_ok(
        w.cwd(),
        &["key", "vkey", "keys/operator.pub", "--origin", ORIGIN],
    )
    .trim()
    .to_string();
    let (code, err, _) = bounded(w.cwd(), &["clone", "www/log", "L2", "--trust", &vk]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        fs::read(w.path("L2/entries")).unwrap(),
        fs::read(w.path("L/entries")).unwrap()
    );
    // One changed byte in an entry of the first chunk: the chunk's tree is not the one the
    // tiles hold at its size, and the bundle is named.
    let bundle = w
        .path("www/log")
        .join(TileId::entries(100, 256).unwrap().path());
    let mut b = fs::read(&bundle).unwrap();
    b[10] ^= 0x01;
    fs::write(&bundle, b).unwrap();
    let (code, err, _) = bounded(w.cwd(), &["clone", "www/log", "L3", "--trust", &vk]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("tile/entries/100"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(!w.path("L3").exists(), "a failed clone leaves nothing");
}

#[test]
fn planted_checkpoint_copies_cost_bounded_memory_and_the_fork_is_still_found() {
    let w = Work::keyed();
    init_ledger(w.cwd(), "L", ORIGIN);
    run_ok(w.cwd(), &["checkpoint", "L", "--key", OPERATOR_KEY]);
    let vk = run_ok(
        w.cwd(),
        &["key", "vkey", "keys/operator.pub", "--origin", ORIGIN],
    )
    .trim()
    .to_string();
    let cdir = w.path("L/checkpoints");
    let recorded = fs::read_dir(&cdir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "txt"))
        .unwrap();
    // 5,000 more names for the recorded note, and a note of the same size with another root,
    // signed by the operator key: the fork search must find that pair (in one pass, not by
    // comparing 12.5 million pairs).
    for k in 0..5_000 {
        fs::hard_link(&recorded, cdir.join(format!("copy-{k:05}.txt"))).unwrap();
    }
    let other = checkpoint::sign(
        ORIGIN,
        2,
        Digest::leaf(b"another history"),
        operator(w.cwd()).signing_key(),
    )
    .unwrap();
    fs::write(w.path("other.txt"), other).unwrap();
    let (code, err, _) = bounded(
        w.cwd(),
        &[
            "verify",
            "L",
            "--since",
            "other.txt",
            "--fork-evidence",
            "fork.json",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("fork evidence written to fork.json"), "{err}");
    let (code, _, _) = bounded(w.cwd(), &["check-fork", "fork.json", "--trust", &vk]);
    assert_eq!(code, 1, "the evidence proves the fork");
    // 17,000 names for one 64 KiB file: 1 MB on disk, over 1 GiB to read. Refused at the bound,
    // in one line, not read until memory runs out.
    let big = cdir.join("big.txt");
    fs::write(&big, vec![b'x'; 64 * 1024]).unwrap();
    for k in 0..17_000 {
        fs::hard_link(&big, cdir.join(format!("big-{k:05}.txt"))).unwrap();
    }
    let (code, err, _) = bounded(w.cwd(), &["verify", "L"]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains("more than 1 GiB"), "{err}");
}
