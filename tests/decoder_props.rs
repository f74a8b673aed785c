//! Property tests for every decoder of untrusted bytes: entries, `.cust` submission files,
//! public and secret key files, informant openings and the entries-file frame stream.
//!
//! Each parser gets random bytes and valid inputs with one byte flipped, set, inserted or
//! deleted, or the input truncated. The rules: no panic; whatever still decodes re-encodes to
//! exactly its input (canonical encodings); an entry with a changed signed byte never verifies;
//! a hostile length field fails without allocating more than the record bound. The fuzz targets
//! in `fuzz/` check the same rules for far longer; these run in a few seconds on every test run.

use custody_core::codec::MAX_RECORD_BYTES;
use custody_core::entry::{
    signed_message_of, Body, Content, Entry, KeyId, Qualifier, SourceKind, Submission,
    ENTRY_HEADER_BYTES,
};
use custody_core::hash::Digest;
use custody_core::keys::{self, KeyError, PublicKey, SecretKey};
use custody_core::seal::Opening;
use custody_store::frames::{encode_frame, FrameReader, Next};
use proptest::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts the largest single allocation made on the current thread, so a test can show that a
/// hostile length field never makes a decoder allocate what it claims.
struct LargestAllocation;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; the thread-local `Cell`
// has a const initialiser and no destructor, so touching it never allocates or re-enters.
unsafe impl GlobalAlloc for LargestAllocation {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = LARGEST.try_with(|m| m.set(m.get().max(layout.size())));
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = LARGEST.try_with(|m| m.set(m.get().max(new_size)));
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: LargestAllocation = LargestAllocation;

/// Runs `f` and returns the largest single allocation it made on this thread.
fn largest_allocation(f: impl FnOnce()) -> usize {
    LARGEST.with(|m| m.set(0));
    f();
    LARGEST.with(Cell::get)
}

fn researcher() -> SecretKey {
    SecretKey::from_seed("researcher", &[7u8; 32])
}

/// Real signed entries of several kinds (strings, options, vectors, enums), as canonical bytes.
fn signed_entries() -> Vec<Vec<u8>> {
    let key = researcher();
    let content = |body| Content {
        origin: "example.org/decoder-props".into(),
        signer: key.id(),
        claimed_time: 1_760_486_400,
        body,
    };
    let bodies = [
        Body::Claim {
            statement: "108 people were returned".into(),
            count: Some(108),
            unit: "people".into(),
            category: "forced-repatriation".into(),
            period: "2024-01..2024-03".into(),
            place: "Yanbian".into(),
            cites: vec![2, 3],
        },
        Body::Source {
            sha256: Digest::of(b"report"),
            size: 4096,
            title: "Report".into(),
            publisher: "NGO".into(),
            date: "2024-05".into(),
            kind: SourceKind::NgoReport,
            locator: Some("https://example.org/r".into()),
        },
        Body::Figure {
            label: "returned".into(),
            value: 108,
            qualifier: Qualifier::AtLeast,
            unit: "people".into(),
            terms: vec![4],
        },
        Body::Correction {
            target: 4,
            count: None,
            statement: Some("corrected".into()),
            reason: "new source".into(),
        },
    ];
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            content(b)
                .sign(key.signing_key())
                .unwrap()
                .into_entry(5 + i as u64, Digest::of(&[i as u8]))
                .to_bytes()
                .unwrap()
        })
        .collect()
}

/// One edit of a byte string.
#[derive(Debug, Clone)]
enum Edit {
    Flip(prop::sample::Index, u8),
    Set(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Delete(prop::sample::Index),
    Truncate(prop::sample::Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<prop::sample::Index>(), 0u8..8).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<prop::sample::Index>().prop_map(Edit::Delete),
        any::<prop::sample::Index>().prop_map(Edit::Truncate),
    ]
}

fn apply(mut v: Vec<u8>, e: &Edit) -> Vec<u8> {
    match e {
        Edit::Flip(i, bit) => {
            let i = i.index(v.len());
            v[i] ^= 1 << bit;
        }
        Edit::Set(i, b) => {
            let i = i.index(v.len());
            v[i] = *b;
        }
        Edit::Insert(i, b) => {
            let i = i.index(v.len() + 1);
            v.insert(i, *b);
        }
        Edit::Delete(i) => {
            let i = i.index(v.len());
            v.remove(i);
        }
        Edit::Truncate(i) => {
            let i = i.index(v.len());
            v.truncate(i);
        }
    }
    v
}

/// Every decoder on `bytes`; any that accepts must re-encode to exactly `bytes`.
fn check_all_decoders(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(e) = Entry::from_bytes(bytes) {
        prop_assert_eq!(e.to_bytes().unwrap(), bytes);
    }
    if let Ok(s) = Submission::from_file_bytes(bytes) {
        prop_assert_eq!(s.to_file_bytes().unwrap(), bytes);
    }
    check_frames(bytes)?;
    if let Ok(text) = std::str::from_utf8(bytes) {
        check_text_decoders(text)?;
    }
    Ok(())
}

/// Text decoders. Key files and openings are read with `str::lines`, so they accept CRLF and a
/// missing final newline; they are never signed or hashed, so canonical means line for line.
fn check_text_decoders(text: &str) -> Result<(), TestCaseError> {
    if let Ok(k) = PublicKey::from_file_text(text) {
        prop_assert!(!k.verifying_key().is_weak());
        prop_assert!(k.to_file_text().lines().eq(text.lines()));
    }
    let no_passphrase = |_: &[u8]| Err(KeyError::Passphrase("no passphrase in tests".into()));
    if let Ok(k) = SecretKey::from_file_text(text, no_passphrase) {
        let again = k.to_file_text(None).unwrap();
        prop_assert!(again.lines().eq(text.lines()));
    }
    if let Ok(o) = Opening::from_text(text) {
        prop_assert!(o.opens(&o.commitment()));
        // The salt line's hex is read case-insensitively (the commitment line's is not): an
        // uppercase salt is the same salt, so the opening still binds the same commitment.
        let again = o.to_text();
        for (a, b) in again.lines().zip(text.lines()) {
            if a.starts_with("salt ") {
                prop_assert!(a.eq_ignore_ascii_case(b));
            } else {
                prop_assert_eq!(a, b);
            }
        }
        prop_assert_eq!(again.lines().count(), text.lines().count());
    }
    Ok(())
}

/// Reads frames to the end: frames lie inside the input, offsets move forward, and the reader
/// always stops at End, Torn or BadLength.
fn check_frames(bytes: &[u8]) -> Result<(), TestCaseError> {
    let mut r = FrameReader::new(bytes, 0);
    loop {
        let before = r.offset();
        match r.next_frame().unwrap() {
            Next::Frame(f) => {
                prop_assert_eq!(f.offset, before);
                prop_assert!(f.end() <= bytes.len() as u64);
            }
            Next::End => {
                prop_assert_eq!(before, bytes.len() as u64);
                return Ok(());
            }
            Next::Torn { offset, bytes: n } => {
                prop_assert_eq!(offset + n, bytes.len() as u64);
                return Ok(());
            }
            Next::BadLength { offset, .. } => {
                prop_assert_eq!(offset, before);
                return Ok(());
            }
        }
    }
}

fn frame_stream(entries: &[Vec<u8>]) -> Vec<u8> {
    entries
        .iter()
        .flat_map(|e| encode_frame(e, &Digest::leaf(e)))
        .collect()
}

fn opening_text() -> String {
    let o = Opening {
        alias: "Source A".into(),
        salt: [42u8; 32],
        identity: b"Kim, Pyongyang, +82 ...".to_vec(),
    };
    o.to_text().to_string()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..700)) {
        check_all_decoders(&bytes)?;
    }

    #[test]
    fn random_text_never_panics(text in "[a-z0-9 +/=\n-]{0,300}") {
        check_text_decoders(&text)?;
        // With each real magic line in front, the parsers get past their first check.
        for magic in [keys::PUBLIC_MAGIC, keys::SECRET_MAGIC, custody_core::seal::OPENING_MAGIC] {
            check_text_decoders(&format!("{magic}\n{text}"))?;
        }
    }

    #[test]
    fn mutated_entries_never_panic_and_stay_canonical(which in 0usize..4, e in edit()) {
        let good = &signed_entries()[which];
        let bad = apply(good.clone(), &e);
        check_all_decoders(&bad)?;
        // As a .cust file, and inside a frame stream after a good frame.
        let mut cust = custody_core::entry::SUBMISSION_FILE_MAGIC.to_vec();
        cust.extend_from_slice(&apply(good[ENTRY_HEADER_BYTES..].to_vec(), &e));
        check_all_decoders(&cust)?;
    }

    #[test]
    fn an_entry_with_a_changed_signed_byte_never_verifies(which in 0usize..4, at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let good = signed_entries()[which].clone();
        let vk = *researcher().public().verifying_key();
        let mut bad = good.clone();
        let i = at.index(bad.len());
        bad[i] ^= 1 << bit;
        let msg = signed_message_of(&bad).unwrap();
        let sig: [u8; 64] = bad[bad.len() - 64..].try_into().unwrap();
        let verifies = keys::verify_strict(&vk, &msg, &sig).is_ok();
        if i < ENTRY_HEADER_BYTES {
            // Index and prev are not signed (docs/SECURITY.md): the signature still holds, and
            // the leaf hash, the chain and the Merkle root are what catch the change.
            prop_assert!(verifies);
            prop_assert_ne!(Digest::leaf(&bad), Digest::leaf(&good));
        } else {
            prop_assert!(!verifies, "byte {} bit {} still verifies", i, bit);
        }
    }

    #[test]
    fn mutated_key_files_and_openings_never_panic(e in edit()) {
        let key = researcher();
        let texts = [
            key.public().to_file_text(),
            key.to_file_text(None).unwrap().to_string(),
            opening_text(),
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/keys/operator.pub")).unwrap(),
        ];
        for t in texts {
            check_all_decoders(&apply(t.into_bytes(), &e))?;
        }
    }

    #[test]
    fn mutated_frame_streams_never_panic(e in edit()) {
        let stream = frame_stream(&signed_entries());
        check_frames(&apply(stream, &e))?;
    }

    #[test]
    fn hostile_frame_lengths_allocate_at_most_one_record(len in any::<u32>(), tail in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut bytes = len.to_le_bytes().to_vec();
        bytes.extend_from_slice(&tail);
        let mut result = Ok(());
        let peak = largest_allocation(|| result = check_frames(&bytes));
        result?;
        prop_assert!(peak <= MAX_RECORD_BYTES + 32, "allocated {} bytes for length {}", peak, len);
    }
}

/// Writes `value` as a u64 LE at `at`, replacing the 8 bytes there.
fn put_u64(bytes: &mut [u8], at: usize, value: u64) {
    bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

#[test]
fn hostile_length_fields_fail_fast_without_large_allocation() {
    let entries = signed_entries();
    // Entry layout: index (8), prev (32), then content: origin length (u64) at offset 40.
    let origin_len = ENTRY_HEADER_BYTES;
    // In the claim (entry 0), `cites` is the last content field: its u64 count sits right
    // before the two u64 citations and the 64-byte signature.
    let claim = &entries[0];
    let cites_count = claim.len() - 64 - 2 * 8 - 8;
    assert_eq!(&claim[cites_count..cites_count + 8], &2u64.to_le_bytes());
    let mut cases = Vec::new();
    for value in [u64::MAX, u64::MAX / 2, 1 << 40, MAX_RECORD_BYTES as u64 + 1] {
        let mut a = entries[1].clone();
        put_u64(&mut a, origin_len, value);
        cases.push(("string length", a));
        let mut b = claim.clone();
        put_u64(&mut b, cites_count, value);
        cases.push(("vector count", b));
    }
    for (what, bytes) in cases {
        let mut result = None;
        let peak = largest_allocation(|| result = Some(Entry::from_bytes(&bytes)));
        assert!(result.unwrap().is_err(), "{what}: hostile length decoded");
        assert!(
            peak <= 2 * MAX_RECORD_BYTES,
            "{what}: decoder allocated {peak} bytes"
        );
        let mut cust = custody_core::entry::SUBMISSION_FILE_MAGIC.to_vec();
        cust.extend_from_slice(&bytes[ENTRY_HEADER_BYTES..]);
        let peak = largest_allocation(|| assert!(Submission::from_file_bytes(&cust).is_err()));
        assert!(
            peak <= 2 * MAX_RECORD_BYTES,
            "{what} in .cust: {peak} bytes"
        );
    }
    // An input over the record limit is refused before it is decoded at all.
    let big = vec![0u8; MAX_RECORD_BYTES + 1];
    let peak = largest_allocation(|| assert!(Entry::from_bytes(&big).is_err()));
    assert!(peak < 4096, "an oversize record allocated {peak} bytes");
}

#[test]
fn the_signed_entries_are_real() {
    // The properties above mean something only if the unmutated inputs decode and verify.
    let vk = *researcher().public().verifying_key();
    for bytes in signed_entries() {
        let e = Entry::from_bytes(&bytes).unwrap();
        assert_eq!(e.content.signer, KeyId::of(vk.as_bytes()));
        let msg = signed_message_of(&bytes).unwrap();
        keys::verify_strict(&vk, &msg, &e.signature.0).unwrap();
        check_all_decoders(&bytes).unwrap();
    }
    check_frames(&frame_stream(&signed_entries())).unwrap();
    assert!(Opening::from_text(&opening_text()).is_ok());
    let key = researcher();
    assert!(PublicKey::from_file_text(&key.public().to_file_text()).is_ok());
}

/// Runs the binary in `dir` with `args`, killing it (and failing) if it has not exited in 20 s.
fn run_bounded(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    use std::time::{Duration, Instant};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_custody"))
        .current_dir(dir)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("custody {args:?} was still reading after 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn regression_endless_input_files_are_refused_at_their_bound() {
    // `append` and `verify --since` checked the file's metadata length, then read it whole:
    // `/dev/zero` (length 0 in metadata) was read until memory ran out. Both now read at most
    // their bound plus one byte.
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for (args, what) in [
        (
            &["append", "no-such-ledger", "/dev/zero"][..],
            "a submission",
        ),
        (
            &["verify", "ledger", "--since", "/dev/zero"][..],
            "a checkpoint",
        ),
    ] {
        let out = run_bounded(repo, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            err.trim_end(),
            format!("custody: error: /dev/zero is too large to be {what}"),
            "{args:?}"
        );
    }
}

#[test]
fn regression_import_refuses_an_endless_line() {
    // `import` read JSON Lines with `BufRead::lines`, so a file without a newline (here
    // `/dev/zero`) grew one line until allocation failed and the process aborted. Lines are now
    // bounded at 8 MiB, more than any body can take.
    let tmp = tempfile::tempdir().unwrap();
    let ok = |args: &[&str]| assert!(run_bounded(tmp.path(), args).status.success(), "{args:?}");
    ok(&["key", "new", "op", "--dir", "k"]);
    ok(&[
        "init",
        "L",
        "--origin",
        "example.org/endless",
        "--key",
        "k/op.key",
    ]);
    let out = run_bounded(
        tmp.path(),
        &["import", "L", "--key", "k/op.key", "/dev/zero"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 1: line is longer than 8388608 bytes"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn regression_opening_with_lines_after_the_commitment_is_refused() {
    // Found by `mutated_key_files_and_openings_never_panic`: `Opening::from_text` stopped
    // reading after the commitment line, so anything appended (another "identity" line a
    // reader might take for the real one) was accepted and silently ignored. Key files
    // already refused extra lines; openings now do too.
    let good = opening_text();
    assert!(Opening::from_text(&good).is_ok());
    for extra in ["\n", "x", "identity SGFu\n", "\r\n"] {
        let bad = format!("{good}{extra}");
        assert!(Opening::from_text(&bad).is_err(), "{extra:?} accepted");
    }
}
