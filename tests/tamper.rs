//! Tampering with a real ledger's entries file: every single-byte change, deletions,
//! duplications, reorderings, truncations, splices and re-signed entries must be caught and
//! named at the right entry by the verifier; torn tails must be cut by `custody repair` and
//! nothing else.

mod common;

use common::{
    custody, frame_body, frame_leaf, frames, informant_args, init_ledger, key_args, make_keys,
    remove_torn_side_files, run_json, run_ok, verify, MAGIC_LEN, OPERATOR_KEY, RESEARCHER_KEY,
    RESEARCHER_PUB,
};
use custody_core::entry::{Body, Content, Entry};
use custody_core::hash::Digest;
use custody_core::json::VerifyReport as Report;
use custody_core::keys::SecretKey;
use custody_store::frames::{encode_frame, FILE_MAGIC};
use custody_store::replay::{verify_ledger, Failure, Options, VerifyError};
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

const ORIGIN: &str = "example.org/tamper";

/// Keys (made once per work dir) and a ledger of exactly 12 entries in `cwd/name`:
/// 0 genesis, 1 grant, 2 informant, 3 source, 4..=8 claims, 9 figure (4+5),
/// 10 correction of 6, 11 retraction of 7.
fn build(cwd: &Path, name: &str) -> PathBuf {
    if !cwd.join(OPERATOR_KEY).exists() {
        make_keys(cwd);
        fs::write(cwd.join("who.txt"), "Kim Example\n").unwrap();
    }
    init_ledger(cwd, name, ORIGIN);
    let seal = format!("sealed/{name}.seal");
    run_ok(
        cwd,
        &informant_args(name, RESEARCHER_KEY, "Source A", &seal),
    );
    let mut jsonl = String::new();
    jsonl.push_str(&format!(
        "{{\"kind\":\"source\",\"sha256\":\"{}\",\"size\":3,\"title\":\"Report {name}\",\"publisher\":\"NGO\",\"date\":\"2025-10-15\",\"source_kind\":\"ngo-report\",\"locator\":null}}\n",
        "ab".repeat(32)
    ));
    for i in 0..5 {
        jsonl.push_str(&format!(
            "{{\"kind\":\"claim\",\"statement\":\"{name} claim {i}\",\"count\":{},\"category\":\"forced-repatriation\",\"period\":\"2024-0{}\",\"cites\":[2,3]}}\n",
            10 * (i + 1),
            i + 1
        ));
    }
    jsonl.push_str("{\"kind\":\"figure\",\"label\":\"Total\",\"value\":30,\"qualifier\":\"at-least\",\"terms\":[4,5]}\n");
    jsonl.push_str("{\"kind\":\"correction\",\"target\":6,\"count\":29,\"statement\":null,\"reason\":\"double count\"}\n");
    jsonl.push_str("{\"kind\":\"retraction\",\"target\":7,\"reason\":\"unsupported\"}\n");
    let file = cwd.join(format!("{name}.jsonl"));
    fs::write(&file, jsonl).unwrap();
    run_ok(
        cwd,
        &[
            "import",
            name,
            "--key",
            RESEARCHER_KEY,
            file.to_str().unwrap(),
        ],
    );
    let dir = cwd.join(name);
    assert_eq!(verify(&dir).unwrap().entries, 12);
    dir
}

/// `custody args`, expecting exit 0, with verified caches of its own: as on a machine that
/// never saw this ledger before (a cut entries file is then a shorter log, not a rewrite of the
/// history this machine verified, which custody refuses to build on).
fn run_ok_unseen(cwd: &Path, args: &[&str]) -> String {
    let cache = tempfile::tempdir().unwrap();
    let out = custody(cwd)
        .env("CUSTODY_CACHE_DIR", cache.path())
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "custody {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn verify_since(dir: &Path, checkpoint: &Path) -> Result<Report, Failure> {
    let opts = Options {
        since: vec![(checkpoint.to_path_buf(), fs::read(checkpoint).unwrap())],
        ..Options::default()
    };
    verify_ledger(dir, &opts, &|_| {}).map_err(|e| match e {
        VerifyError::Evidence(f) => f,
        other => panic!("not an evidence failure: {other}"),
    })
}

/// The frame boundaries `(start, end)` of an entries file.
type Frames = Vec<(usize, usize)>;

/// A work dir with ledger `L` built, the ledger, its entries file, the file's bytes and their
/// frames.
fn fixture() -> (TempDir, PathBuf, PathBuf, Vec<u8>, Frames) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = build(tmp.path(), "L");
    let (path, original, fr) = read_entries(&dir);
    (tmp, dir, path, original, fr)
}

/// The entries file of ledger `dir`, its bytes and their frames.
fn read_entries(dir: &Path) -> (PathBuf, Vec<u8>, Frames) {
    let path = dir.join("entries");
    let original = fs::read(&path).unwrap();
    let fr = frames(&original);
    (path, original, fr)
}

fn expect_entry(res: Result<Report, Failure>, k: u64, what: &str) -> Failure {
    match res {
        Ok(r) => panic!(
            "{what}: verified ({} entries) but should fail at entry {k}",
            r.entries
        ),
        Err(f) => {
            assert_eq!(f.entry, Some(k), "{what}: wrong entry in failure {f}");
            f
        }
    }
}

fn torn_reason(after: Option<usize>) -> String {
    match after {
        Some(k) => format!("entries file ends in a torn write after entry {k} "),
        None => "entries file ends in a torn write before any entry".to_string(),
    }
}

/// A changed byte at `offset` inside the frame of entry `k` must be caught at entry `k`.
fn expect_caught(res: Result<Report, Failure>, k: usize, offset: usize, what: &str) {
    if offset < 4 {
        // The length prefix: a longer length that runs past the end of the file reads as a
        // torn tail after the previous entry (indistinguishable from a crash mid-append of
        // entry k); a zero/absurd length is named at entry k; any other length makes the
        // stored leaf hash disagree at entry k.
        match &res {
            Err(f) if f.entry.is_none() => assert!(
                f.reason.starts_with(&torn_reason(k.checked_sub(1))),
                "{what}: {f}"
            ),
            _ => {
                expect_entry(res, k as u64, what);
            }
        }
    } else {
        expect_entry(res, k as u64, what);
    }
}

#[test]
fn every_single_byte_change_is_caught_at_its_entry() {
    let (_tmp, dir, path, original, fr) = fixture();
    assert_eq!(fr.len(), 12);
    let mut checked = 0;
    // Two masks: a one-bit change (smallest possible edit) and an all-bits change (which also
    // turns the high length byte into an absurd length).
    for mask in [0x01u8, 0xff] {
        let mut bytes = original.clone();
        for (k, &(start, end)) in fr.iter().enumerate() {
            for pos in start..end {
                bytes[pos] ^= mask;
                fs::write(&path, &bytes).unwrap();
                let res = verify(&dir);
                bytes[pos] ^= mask;
                let what = format!("byte {pos} (entry {k}, frame {start}..{end}) ^ {mask:#04x}");
                expect_caught(res, k, pos - start, &what);
                checked += 1;
            }
        }
        // The restore really restored: the ledger verifies again.
        fs::write(&path, &original).unwrap();
        assert_eq!(verify(&dir).unwrap().entries, 12);
    }
    assert_eq!(checked, 2 * (original.len() - MAGIC_LEN));
}

#[test]
fn random_sample_of_2000_positions_in_a_larger_ledger_is_caught() {
    use rand::{Rng, SeedableRng};
    let (tmp, dir, path, _, _) = fixture();
    // Grow the ledger to 300 entries of varied kinds and sizes (claims citing entry 3).
    let jsonl: String = (0..288)
        .map(|i| {
            format!(
                "{{\"kind\":\"claim\",\"statement\":\"larger ledger claim {i} {}\",\"count\":{i},\"category\":\"c\",\"period\":\"2024\",\"cites\":[3]}}\n",
                "x".repeat(i % 50)
            )
        })
        .collect();
    let file = tmp.path().join("more.jsonl");
    fs::write(&file, jsonl).unwrap();
    run_ok(
        tmp.path(),
        &[
            "import",
            "L",
            "--key",
            RESEARCHER_KEY,
            file.to_str().unwrap(),
        ],
    );
    let original = fs::read(&path).unwrap();
    let fr = frames(&original);
    assert_eq!(fr.len(), 300);
    // A fixed seed, so a failure names a position that can be replayed.
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed_7a3e);
    let mut bytes = original.clone();
    for _ in 0..2000 {
        let pos = rng.gen_range(MAGIC_LEN..original.len());
        let mask: u8 = rng.gen_range(1..=255);
        let k = fr.iter().position(|&(s, e)| (s..e).contains(&pos)).unwrap();
        bytes[pos] ^= mask;
        fs::write(&path, &bytes).unwrap();
        let res = verify(&dir);
        bytes[pos] ^= mask;
        expect_caught(
            res,
            k,
            pos - fr[k].0,
            &format!("byte {pos} (entry {k}) ^ {mask:#04x}"),
        );
    }
    fs::write(&path, &original).unwrap();
    assert_eq!(verify(&dir).unwrap().entries, 300);
}

#[test]
fn magic_changes_are_refused() {
    let (_tmp, dir, path, original, _fr) = fixture();
    for pos in 0..MAGIC_LEN {
        let mut b = original.clone();
        b[pos] ^= 0x20;
        fs::write(&path, &b).unwrap();
        let f = verify(&dir).unwrap_err();
        assert!(f.reason.contains("magic"), "byte {pos}: {f}");
    }
}

#[test]
fn deleted_duplicated_and_swapped_entries_fail_at_the_first_changed_index() {
    let (_tmp, dir, path, original, fr) = fixture();
    let frame = |k: usize| &original[fr[k].0..fr[k].1];
    let assemble = |order: &[usize]| {
        let mut b = FILE_MAGIC.to_vec();
        for &k in order {
            b.extend_from_slice(frame(k));
        }
        b
    };
    let n = fr.len();
    for k in 1..n {
        // Delete entry k: what is now at position k records index k+1 (or the log is shorter).
        let order: Vec<usize> = (0..n).filter(|&i| i != k).collect();
        fs::write(&path, assemble(&order)).unwrap();
        if k == n - 1 {
            // Deleting the last entry is a truncation: undetectable without a checkpoint.
            assert_eq!(verify(&dir).unwrap().entries, (n - 1) as u64);
        } else {
            let f = expect_entry(verify(&dir), k as u64, &format!("delete {k}"));
            assert!(
                f.reason.contains(&format!("records index {}", k + 1)),
                "{f}"
            );
        }
        // Duplicate entry k right after itself.
        let mut order: Vec<usize> = (0..n).collect();
        order.insert(k + 1, k);
        fs::write(&path, assemble(&order)).unwrap();
        expect_entry(verify(&dir), (k + 1) as u64, &format!("duplicate {k}"));
    }
    // Swap every pair.
    for a in 0..n {
        for b in a + 1..n {
            let mut order: Vec<usize> = (0..n).collect();
            order.swap(a, b);
            fs::write(&path, assemble(&order)).unwrap();
            expect_entry(verify(&dir), a as u64, &format!("swap {a} and {b}"));
        }
    }
    fs::write(&path, &original).unwrap();
    assert_eq!(verify(&dir).unwrap().entries, n as u64);
}

#[test]
fn truncation_at_a_boundary_is_a_shorter_log_unless_a_checkpoint_covers_it() {
    let (tmp, dir, path, original, fr) = fixture();
    // Without a checkpoint, every prefix of whole entries is a valid (shorter) log.
    for (k, &(_, end)) in fr.iter().enumerate() {
        fs::write(&path, &original[..end]).unwrap();
        assert_eq!(
            verify(&dir).unwrap().entries,
            (k + 1) as u64,
            "cut after {k}"
        );
    }
    // Only the magic: no genesis.
    fs::write(&path, &original[..MAGIC_LEN]).unwrap();
    assert!(verify(&dir).is_err());

    // Cut to 8 entries and checkpoint: `custody checkpoint` commits to the amendment state as
    // entry 8 and signs a checkpoint of size 9 (recorded in the ledger); keep a copy as a
    // --since note. That 9-entry log is the history the checkpoint covers.
    fs::write(&path, &original[..fr[7].1]).unwrap();
    // (Run as on a machine that never verified the longer log: this one refuses the cut file.)
    run_ok_unseen(
        tmp.path(),
        &["checkpoint", "L", "--key", "keys/operator.key"],
    );
    let original = fs::read(&path).unwrap();
    let fr = frames(&original);
    assert_eq!(fr.len(), 9);
    let cps: Vec<_> = fs::read_dir(dir.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(cps.len(), 1);
    let saved = tmp.path().join("cp9.txt");
    fs::copy(&cps[0], &saved).unwrap();
    assert_eq!(verify(&dir).unwrap().checkpoints.len(), 1);
    for (k, &(_, end)) in fr.iter().enumerate() {
        fs::write(&path, &original[..end]).unwrap();
        let size = k + 1;
        let res = verify(&dir);
        if size >= 9 {
            assert_eq!(res.unwrap().entries, size as u64);
        } else {
            let f = res.unwrap_err();
            assert!(
                f.reason.contains("truncated or rewritten"),
                "size {size}: {f}"
            );
            assert!(f.reason.contains("tree size 9"), "{f}");
        }
    }
    // The same with the checkpoint only held outside the ledger (deleted from checkpoints/).
    fs::remove_file(&cps[0]).unwrap();
    for (k, &(_, end)) in fr.iter().enumerate() {
        fs::write(&path, &original[..end]).unwrap();
        let res = verify_since(&dir, &saved);
        if k + 1 >= 9 {
            assert!(res.is_ok(), "size {}", k + 1);
        } else {
            let f = res.unwrap_err();
            assert!(f.reason.contains("cp9.txt"), "{f}");
        }
    }
}

#[test]
fn torn_tail_is_named_and_repair_cuts_only_it() {
    let (tmp, dir, path, original, fr) = fixture();
    // Every cut inside a frame reads as a torn tail after the previous entry.
    for (k, &(start, end)) in fr.iter().enumerate() {
        for cut in start + 1..end {
            fs::write(&path, &original[..cut]).unwrap();
            let f = verify(&dir).unwrap_err();
            assert_eq!(f.entry, None, "cut {cut}: {f}");
            assert!(
                f.reason.starts_with(&torn_reason(k.checked_sub(1))),
                "cut {cut}: {f}"
            );
            assert!(
                f.reason
                    .contains(&format!("{} bytes at offset {start}", cut - start)),
                "cut {cut}: {f}"
            );
        }
    }
    // Repair through the binary, for a cut in a middle frame and cuts in the last frame.
    let cases = [
        (5usize, fr[5].0 + 1),
        (5, fr[5].0 + 4),
        (5, fr[5].1 - 1),
        (11, fr[11].0 + 2),
        (11, fr[11].0 + 40),
        (11, fr[11].1 - 32),
    ];
    for (k, cut) in cases {
        remove_torn_side_files(&dir);
        fs::write(&path, &original[..cut]).unwrap();
        let out = run_ok_unseen(tmp.path(), &["repair", "L"]);
        assert!(
            out.contains(&format!(
                "cut {} torn {} after entry {}",
                cut - fr[k].0,
                if cut - fr[k].0 == 1 { "byte" } else { "bytes" },
                k - 1
            )),
            "{out}"
        );
        let after = fs::read(&path).unwrap();
        // Never a whole entry: exactly the frames before k remain.
        assert_eq!(after, original[..fr[k].0], "cut {cut}");
        let side = dir.join(format!("entries.torn-at-{}", fr[k].0));
        assert_eq!(fs::read(&side).unwrap(), original[fr[k].0..cut]);
        assert_eq!(verify(&dir).unwrap().entries, k as u64);
        // A second repair has nothing to do.
        let out = run_ok_unseen(tmp.path(), &["repair", "L"]);
        assert!(out.contains("nothing to repair"), "{out}");
        assert_eq!(fs::read(&path).unwrap(), original[..fr[k].0]);
    }
    // Repair never cuts tampering: a damaged middle frame is left alone.
    let mut bad = original.clone();
    bad[fr[4].0 + 20] ^= 1;
    fs::write(&path, &bad).unwrap();
    common::run(tmp.path(), &["repair", "L"]);
    assert_eq!(
        fs::read(&path).unwrap(),
        bad,
        "repair changed a tampered file"
    );
    expect_entry(verify(&dir), 4, "tampered after repair");
}

#[test]
fn spliced_entry_from_another_ledger_with_the_same_keys_fails_at_its_index() {
    let tmp = tempfile::tempdir().unwrap();
    let a = build(tmp.path(), "A");
    let b = build(tmp.path(), "B");
    let (path_a, orig_a, fa) = read_entries(&a);
    let (_, orig_b, fb) = read_entries(&b);
    for k in 1..fa.len() {
        let (ea, eb) = (&orig_a[fa[k].0..fa[k].1], &orig_b[fb[k].0..fb[k].1]);
        if ea == eb {
            // Genesis and grant are the same bytes when both ledgers were made in the same
            // second (deterministic Ed25519, same keys, origin and claimed time): nothing to
            // splice. From the informant on (random salt, per-ledger titles) they always differ.
            assert!(k < 2, "entry {k} identical in both ledgers");
            continue;
        }
        let mut spliced = orig_a[..fa[k].0].to_vec();
        spliced.extend_from_slice(&orig_b[fb[k].0..fb[k].1]);
        spliced.extend_from_slice(&orig_a[fa[k].1..]);
        fs::write(&path_a, &spliced).unwrap();
        if frame_leaf(&orig_a, fa[k - 1]) == frame_leaf(&orig_b, fb[k - 1]) {
            // B's entry k chains onto the same entry k-1 as A's: it is a validly signed entry
            // in its place, so the chain first breaks at k+1, whose prev hash names A's k.
            assert!(k < 3, "ledgers agree up to entry {k}");
            let f = expect_entry(verify(&a), k as u64 + 1, &format!("splice {k}"));
            assert!(f.reason.contains("previous-hash"), "{f}");
        } else {
            let f = expect_entry(verify(&a), k as u64, &format!("splice {k}"));
            assert!(f.reason.contains("previous-hash"), "{f}");
        }
    }
}

/// `original` with a forged claim signed by `key` appended as the next entry, chained onto the
/// last one and framed exactly as the store would: correct index, prev hash, framing and leaf
/// hash.
fn with_forged_claim(original: &[u8], fr: &[(usize, usize)], key: &SecretKey) -> Vec<u8> {
    let head = Digest(
        frame_leaf(original, *fr.last().unwrap())
            .try_into()
            .unwrap(),
    );
    let content = Content {
        origin: ORIGIN.into(),
        signer: key.id(),
        claimed_time: 1_760_486_400,
        body: Body::Claim {
            statement: "forged".into(),
            count: Some(1000),
            unit: "people".into(),
            category: "forced-repatriation".into(),
            period: "2024".into(),
            place: String::new(),
            cites: vec![3],
        },
    };
    let sub = content.sign(key.signing_key()).unwrap();
    let bytes = sub.into_entry(fr.len() as u64, head).to_bytes().unwrap();
    let mut b = original.to_vec();
    b.extend_from_slice(&encode_frame(&bytes, &Digest::leaf(&bytes)));
    b
}

fn load_key(cwd: &Path, name: &str) -> SecretKey {
    let text = fs::read_to_string(cwd.join(format!("keys/{name}.key"))).unwrap();
    SecretKey::from_file_text(&text, |_| unreachable!("unencrypted")).unwrap()
}

/// `verify L --json` through the binary: its exit code and JSON.
fn verify_json(cwd: &Path) -> (i32, serde_json::Value) {
    run_json(cwd, &["verify", "L", "--json"])
}

#[test]
fn entry_signed_by_an_ungranted_key_fails_at_the_signer_check() {
    let (tmp, dir, path, original, fr) = fixture();
    let intruder = SecretKey::from_seed("intruder", &[42u8; 32]);
    // Correct index, prev hash, framing and leaf hash: only the grant check can catch it.
    fs::write(&path, with_forged_claim(&original, &fr, &intruder)).unwrap();
    let f = expect_entry(verify(&dir), 12, "ungranted signer");
    assert!(f.reason.contains("never granted"), "{f}");

    // Through the binary: exit 1 and --json names the entry.
    let (code, v) = verify_json(tmp.path());
    assert_eq!(code, 1);
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"]["entry"], 12);
    assert!(v["error"]["reason"]
        .as_str()
        .unwrap()
        .contains("never granted"));
    // The same forged entry signed by the (granted) researcher verifies: the check above
    // failed because of the signer and nothing else.
    let researcher = load_key(tmp.path(), "researcher");
    fs::write(&path, with_forged_claim(&original, &fr, &researcher)).unwrap();
    assert_eq!(verify(&dir).unwrap().entries, 13);
}

/// `original` with frame `k` replaced by entry `e`, reframed with a fresh leaf hash; the frames
/// after `k` are kept unless `keep_tail` is false.
fn reframed(
    original: &[u8],
    fr: &[(usize, usize)],
    k: usize,
    e: &Entry,
    keep_tail: bool,
) -> Vec<u8> {
    let nb = e.to_bytes().unwrap();
    let mut b = original[..fr[k].0].to_vec();
    b.extend_from_slice(&encode_frame(&nb, &Digest::leaf(&nb)));
    if keep_tail {
        b.extend_from_slice(&original[fr[k].1..]);
    }
    b
}

#[test]
fn altered_content_with_the_old_signature_fails_at_the_signature_check() {
    let (_tmp, dir, path, original, fr) = fixture();
    // Entry 5 (a claim of 20): change the count, keep the signature, fix index/prev/leaf, and
    // re-chain nothing after it. Entry 6's prev hash now mismatches, but the bad signature of
    // entry 5 comes first and must be the failure reported.
    let k = 5;
    let mut e = Entry::from_bytes(frame_body(&original, fr[k])).unwrap();
    let Body::Claim { count, .. } = &mut e.content.body else {
        panic!("entry 5 is not a claim")
    };
    *count = Some(2000);
    fs::write(&path, reframed(&original, &fr, k, &e, true)).unwrap();
    let f = expect_entry(verify(&dir), k as u64, "altered claim");
    assert!(f.reason.contains("signature does not verify"), "{f}");

    // As the last entry (nothing after it to break the chain), the signature is still caught.
    let k = 11;
    let mut e = Entry::from_bytes(frame_body(&original, fr[k])).unwrap();
    let Body::Retraction { reason, .. } = &mut e.content.body else {
        panic!("entry 11 is not a retraction")
    };
    *reason = "a different reason".into();
    fs::write(&path, reframed(&original, &fr, k, &e, false)).unwrap();
    let f = expect_entry(verify(&dir), 11, "altered retraction");
    assert!(f.reason.contains("signature does not verify"), "{f}");
}

#[test]
fn entry_signed_by_a_revoked_key_after_its_revocation_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = build(tmp.path(), "L");
    run_ok(
        tmp.path(),
        &key_args("revoke", "L", OPERATOR_KEY, RESEARCHER_PUB, "laptop lost"),
    );
    let (path, original, fr) = read_entries(&dir);
    assert_eq!(fr.len(), 13);
    let researcher = load_key(tmp.path(), "researcher");
    fs::write(&path, with_forged_claim(&original, &fr, &researcher)).unwrap();
    let f = expect_entry(verify(&dir), 13, "revoked signer");
    assert!(f.reason.contains("revoked at entry 12"), "{f}");
}

#[test]
fn binary_reports_a_flipped_byte_with_exit_1_and_the_entry_in_json() {
    let (tmp, _dir, path, original, fr) = fixture();
    for k in [0usize, 3, 7, 11] {
        let mut b = original.clone();
        b[(fr[k].0 + fr[k].1) / 2] ^= 0x40;
        fs::write(&path, &b).unwrap();
        let (code, v) = verify_json(tmp.path());
        assert_eq!(code, 1, "entry {k}");
        assert_eq!(v["ok"], false);
        assert_eq!(v["error"]["entry"], k as u64);
        let out = custody(tmp.path()).args(["verify", "L"]).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("entry {k}:")), "{err}");
    }
    // A torn tail through the binary: exit 1, no entry, the reason names the last whole entry.
    fs::write(&path, &original[..fr[9].0 + 10]).unwrap();
    let (code, v) = verify_json(tmp.path());
    assert_eq!(code, 1);
    assert_eq!(v["error"]["entry"], serde_json::Value::Null);
    assert!(v["error"]["reason"]
        .as_str()
        .unwrap()
        .contains("torn write after entry 8"));
    fs::write(&path, &original).unwrap();
    let (code, v) = verify_json(tmp.path());
    assert_eq!(code, 0);
    assert_eq!(v["ok"], true);
    assert_eq!(v["entries"], 12);
}
