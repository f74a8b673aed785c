//! Proof bundles (`docs/PROOFS.md`): export through the binary, check offline, refuse every
//! single-byte change, report corrections after publication, render the exhibit, and keep the
//! worked example of the spec in step with the code.
//!
//! `cargo test --test proof_bundle -- --ignored --nocapture` prints the worked example's values.

use custody_core::bundle::{self, Bundle, ProvenEntry, Subject, SubjectKind};
use custody_core::checkpoint;
use custody_core::entry::{Body, Content, Entry};
use custody_core::hash::Digest;
use custody_core::keys::SecretKey;
use custody_core::merkle::{self, MemoryHashes};
use std::fs;
use std::path::Path;

const ORIGIN: &str = "example.org/test";
const OP_KEY: &str = "keys/operator.key";
const RE_KEY: &str = "keys/researcher.key";

mod common;

use common::Work;

/// A work dir with operator and researcher keys (see tests/common).
type Env = Work;

impl Work {
    fn new() -> Env {
        Work::keyed()
    }

    fn vkey(&self, key: &str) -> String {
        self.ok(&["key", "vkey", key, "--origin", ORIGIN])
            .trim()
            .to_string()
    }

    /// 0 genesis, 1 grant, 2 source (doc.txt), 3 claim 108 (cites 2), 4 claim 60 (cites 2,
    /// statement full of markup), 5 figure 168 = 3 + 4, then `custody checkpoint`: 6 the state
    /// commitment, and a checkpoint of size 7.
    fn ledger(&self) {
        fs::write(self.path("doc.txt"), b"the report\n").unwrap();
        fs::write(self.path("other.txt"), b"another file\n").unwrap();
        self.ok(&["init", "L", "--origin", ORIGIN, "--key", OP_KEY]);
        self.ok(&[
            "key",
            "grant",
            "L",
            "--key",
            OP_KEY,
            "--pub",
            "keys/researcher.pub",
            "--role",
            "researcher",
        ]);
        self.ok(&[
            "add",
            "source",
            "L",
            "--key",
            RE_KEY,
            "doc.txt",
            "--title",
            "Report",
            "--publisher",
            "NGO",
            "--date",
            "2024-03",
            "--kind",
            "ngo-report",
        ]);
        for (statement, count) in [
            ("108 returned", "108"),
            ("<script>alert('x')</script> & \"60\" returned", "60"),
        ] {
            self.ok(&[
                "add",
                "claim",
                "L",
                "--key",
                RE_KEY,
                "--statement",
                statement,
                "--count",
                count,
                "--category",
                "forced-repatriation",
                "--period",
                "2024-01",
                "--source",
                "2",
            ]);
        }
        self.ok(&[
            "add",
            "figure",
            "L",
            "--key",
            RE_KEY,
            "--label",
            "Since 2024",
            "--value",
            "168",
            "--qualifier",
            "at-least",
            "--sum",
            "3,4",
        ]);
        self.ok(&["checkpoint", "L", "--key", OP_KEY]);
    }
}

fn trusted(vkey: &str) -> checkpoint::StrictVerifier {
    checkpoint::parse_vkey(vkey).unwrap()
}

#[test]
fn export_and_check_entry_and_figure() {
    let env = Env::new();
    env.ledger();
    let vk = env.vkey("keys/operator.pub");
    let out = env.ok(&["export", "L", "--entry", "3", "-o", "e3.json"]);
    assert!(out.contains("5 entries"), "{out}");
    assert!(out.contains("complete: it holds every amendment"), "{out}");
    let out = env.ok(&["check", "e3.json", "--trust", &vk]);
    assert!(out.starts_with("VERIFIED: entry 3 (claim)"), "{out}");
    assert!(
        out.contains("\n  complete: every correction, retraction"),
        "{out}"
    );
    let out = env.ok(&["export", "L", "--figure", "5", "-o", "f5.json"]);
    assert!(out.contains("7 entries"), "{out}");
    let out = env.ok(&["check", "f5.json", "--trust", &vk]);
    assert!(
        out.contains("at-least 168 people = 108 [entry 3] + 60 [entry 4]"),
        "{out}"
    );
    assert!(out.contains("unchanged"), "{out}");

    // JSON verdict.
    let out = env.ok(&["check", "f5.json", "--trust", &vk, "--json"]);
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["ok"], true);
    assert_eq!(j["checkpoint"]["size"], 7);
    assert_eq!(j["standing"]["published"], 168);
    assert_eq!(j["status"]["kind"], "current");
    assert_eq!(j["completeness"]["commitment"], 6);
    assert_eq!(j["completeness"]["to_checkpoint"], true);
    assert_eq!(j["entries"].as_array().unwrap().len(), 7);

    // The bundle is what the library builds and verifies.
    let bytes = fs::read(env.path("f5.json")).unwrap();
    let v = bundle::verify(&bytes, &trusted(&vk), None).unwrap();
    assert_eq!(v.subject.kind, SubjectKind::Figure);
    assert_eq!(
        v.entries.keys().copied().collect::<Vec<_>>(),
        [0, 1, 2, 3, 4, 5, 6]
    );

    // Another key, a bad --trust, a missing file, --figure of a claim, an existing output.
    let other = env.vkey("keys/researcher.pub");
    let err = env.fails(1, &["check", "f5.json", "--trust", &other]);
    assert!(err.contains("FAILED"), "{err}");
    env.fails(2, &["check", "f5.json", "--trust", "not-a-vkey"]);
    env.fails(2, &["check", "nope.json", "--trust", &vk]);
    let err = env.fails(2, &["export", "L", "--figure", "3", "-o", "x.json"]);
    assert!(err.contains("not a figure"), "{err}");
    let err = env.fails(2, &["export", "L", "--entry", "3", "-o", "e3.json"]);
    assert!(err.contains("--force"), "{err}");
    env.ok(&["export", "L", "--entry", "3", "-o", "e3.json", "--force"]);
    env.fails(2, &["export", "L", "--entry", "9", "-o", "x.json"]);
}

#[test]
fn document_must_be_a_cited_source() {
    let env = Env::new();
    env.ledger();
    let vk = env.vkey("keys/operator.pub");
    env.ok(&["export", "L", "--figure", "5", "-o", "f5.json"]);
    let out = env.ok(&["check", "f5.json", "--trust", &vk, "--document", "doc.txt"]);
    assert!(out.contains("source entry 2"), "{out}");
    let err = env.fails(
        1,
        &[
            "check",
            "f5.json",
            "--trust",
            &vk,
            "--document",
            "other.txt",
        ],
    );
    assert!(err.contains("document"), "{err}");
    env.fails(
        2,
        &[
            "check",
            "f5.json",
            "--trust",
            &vk,
            "--document",
            "missing.txt",
        ],
    );
}

#[test]
fn export_needs_a_covering_checkpoint_or_key() {
    let env = Env::new();
    env.ok(&["init", "L", "--origin", ORIGIN, "--key", OP_KEY]);
    let err = env.fails(2, &["export", "L", "--entry", "0", "-o", "g.json"]);
    assert!(
        err.contains("no recorded checkpoint covers entry 0") && err.contains("custody checkpoint"),
        "{err}"
    );
    assert!(!env.path("g.json").exists());
    // A key that is not the operator's signs nothing.
    env.fails(
        2,
        &[
            "export", "L", "--entry", "0", "-o", "g.json", "--key", RE_KEY,
        ],
    );
    env.ok(&[
        "export", "L", "--entry", "0", "-o", "g.json", "--key", OP_KEY,
    ]);
    let vk = env.vkey("keys/operator.pub");
    env.ok(&["check", "g.json", "--trust", &vk]);
}

#[test]
fn correction_after_publication_is_reported_with_both_values() {
    let env = Env::new();
    env.ledger();
    let vk = env.vkey("keys/operator.pub");
    env.ok(&[
        "correct",
        "L",
        "--key",
        RE_KEY,
        "3",
        "--count",
        "100",
        "--reason",
        "duplicates",
    ]);
    // The recorded checkpoint predates the correction: the bundle leaves it out and says so.
    let out = env.run(&["export", "L", "--figure", "5", "-o", "old.json"]);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning: entry 7 (amendments or revocations after the checkpoint at tree size 7) is not in the bundle")
            && err.contains("--key"),
        "{err}"
    );
    // With the operator key a new checkpoint covers it.
    env.ok(&[
        "export", "L", "--figure", "5", "-o", "new.json", "--key", OP_KEY,
    ]);
    let out = env.ok(&["check", "new.json", "--trust", &vk]);
    assert!(
        out.contains("at-least 168 people = 108 [entry 3] + 60 [entry 4] when signed; 160 as of the checkpoint, after entry 7"),
        "{out}"
    );
    assert!(
        out.starts_with("VERIFIED — CHANGED SINCE PUBLICATION: figure 5"),
        "{out}"
    );
    let j: serde_json::Value =
        serde_json::from_str(&env.ok(&["check", "new.json", "--trust", &vk, "--json"])).unwrap();
    assert_eq!(j["standing"]["published"], 168);
    assert_eq!(j["standing"]["current"], 160);
    assert_eq!(j["standing"]["changed_by"], serde_json::json!([7]));
    assert_eq!(j["status"]["kind"], "changed");
    // The entry bundle of the claim carries the correction too.
    env.ok(&["export", "L", "--entry", "3", "-o", "c3.json"]);
    let out = env.ok(&["check", "c3.json", "--trust", &vk]);
    assert!(
        out.contains("claim count 108 people when signed; 100 as of the checkpoint"),
        "{out}"
    );
    // The exhibit shows both.
    env.ok(&["exhibit", "new.json", "-o", "new.html"]);
    let html = fs::read_to_string(env.path("new.html")).unwrap();
    assert!(
        html.contains("corrected to count 100"),
        "no correction in the exhibit"
    );
    assert!(
        html.contains("now 160 after entry 7"),
        "no current value in the exhibit"
    );
}

#[test]
fn a_revocation_after_signing_is_carried_and_does_not_void_earlier_entries() {
    let env = Env::new();
    env.ledger();
    let vk = env.vkey("keys/operator.pub");
    env.ok(&[
        "key",
        "revoke",
        "L",
        "--key",
        OP_KEY,
        "--pub",
        "keys/researcher.pub",
        "--reason",
        "laptop lost",
    ]);
    env.ok(&[
        "export", "L", "--entry", "3", "-o", "e3.json", "--key", OP_KEY,
    ]);
    let bytes = fs::read(env.path("e3.json")).unwrap();
    let v = bundle::verify(&bytes, &trusted(&vk), None).unwrap();
    // 7 the revocation, 8 the state commitment of the export's checkpoint.
    assert_eq!(
        v.entries.keys().copied().collect::<Vec<_>>(),
        [0, 1, 2, 3, 7, 8]
    );
    let researcher = v.entries[&3].entry.content.signer;
    assert_eq!(v.key(&researcher).unwrap().revoked_at, Some(7));
    // An exporter that left the revocation out is caught: the state commitment records it as
    // amending the grant (entry 1).
    let mut b: Bundle = serde_json::from_slice(&bytes).unwrap();
    b.entries.retain(|e| e.index != 7);
    let err = bundle::verify(
        &bundle::to_canonical_bytes(&b).unwrap(),
        &trusted(&vk),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("entry 1: completeness:") && err.contains("leaves out: entries 7"),
        "{err}"
    );
    // Leaving out a cited source is refused.
    let mut b: Bundle = serde_json::from_slice(&bytes).unwrap();
    b.entries.retain(|e| e.index != 2);
    let err = bundle::verify(
        &bundle::to_canonical_bytes(&b).unwrap(),
        &trusted(&vk),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("entry 3") && err.contains("cannot read entry 2"),
        "{err}"
    );
}

#[test]
fn exhibit_is_escaped_static_html_with_arithmetic_checkpoint_and_declaration() {
    let env = Env::new();
    env.ledger();
    let vk = env.vkey("keys/operator.pub");
    env.ok(&["export", "L", "--figure", "5", "-o", "f5.json"]);
    env.ok(&["exhibit", "f5.json", "-o", "f5.html", "--trust", &vk]);
    let html = fs::read_to_string(env.path("f5.html")).unwrap();
    let bundle: Bundle = serde_json::from_slice(&fs::read(env.path("f5.json")).unwrap()).unwrap();
    assert!(
        html.contains("at least 168 people</b> = 108 + 60"),
        "arithmetic"
    );
    assert!(html.contains(&bundle.checkpoint), "checkpoint text");
    assert!(html.contains("Declaration") && html.contains("902(14)"));
    assert!(html.contains("How to verify this without custody"));
    assert!(html.contains("sha256sum"));
    assert!(html.contains("@page"));
    assert!(
        !html.to_lowercase().contains("<script"),
        "a script in the exhibit"
    );
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;60&quot;"));
    let sha = Digest::of(&fs::read(env.path("f5.json")).unwrap()).to_hex();
    assert!(html.contains(&sha), "bundle hash");
    // Without --trust the page says the key came from the bundle itself.
    env.ok(&["exhibit", "f5.json", "-o", "self.html"]);
    let html = fs::read_to_string(env.path("self.html")).unwrap();
    assert!(html.contains("against the log key written in the bundle itself"));
    // A broken bundle gets no exhibit.
    let mut b = fs::read(env.path("f5.json")).unwrap();
    let at = b.len() / 2;
    b[at] ^= 1;
    fs::write(env.path("bad.json"), &b).unwrap();
    env.fails(1, &["exhibit", "bad.json", "-o", "bad.html"]);
    assert!(!env.path("bad.html").exists());
}

/// Every single-byte change anywhere in a bundle is refused, in process (fast), and a sample of
/// them through the binary (exit 1, never 0, never a panic).
#[test]
fn every_single_byte_change_is_refused() {
    let env = Env::new();
    env.ledger();
    let vk = env.vkey("keys/operator.pub");
    env.ok(&["export", "L", "--entry", "3", "-o", "e3.json"]);
    let good = fs::read(env.path("e3.json")).unwrap();
    let t = trusted(&vk);
    bundle::verify(&good, &t, None).unwrap();
    for i in 0..good.len() {
        for flip in [0x01u8, 0x20, 0x80] {
            let mut b = good.clone();
            b[i] ^= flip;
            assert!(
                bundle::verify(&b, &t, None).is_err(),
                "byte {i} ^ {flip:#x} accepted"
            );
        }
    }
    // Truncations and an appended byte.
    for cut in [0, 1, good.len() / 3, good.len() - 1] {
        assert!(bundle::verify(&good[..cut], &t, None).is_err());
    }
    let mut longer = good.clone();
    longer.push(b' ');
    assert!(bundle::verify(&longer, &t, None).is_err());

    for (n, i) in (0..good.len()).step_by(good.len() / 25).enumerate() {
        let mut b = good.clone();
        b[i] ^= 0x01;
        let name = format!("m{n}.json");
        fs::write(env.path(&name), &b).unwrap();
        env.fails(1, &["check", &name, "--trust", &vk]);
    }
}

/// Semantic edits that keep the JSON canonical: each is refused with a reason naming the part.
#[test]
fn structural_edits_are_refused_with_the_part_named() {
    let env = Env::new();
    env.ledger();
    let vk = env.vkey("keys/operator.pub");
    env.ok(&["export", "L", "--figure", "5", "-o", "f5.json"]);
    let good: Bundle = serde_json::from_slice(&fs::read(env.path("f5.json")).unwrap()).unwrap();
    let t = trusted(&vk);
    let check = |b: &Bundle| -> String {
        let bytes = bundle::to_canonical_bytes(b).unwrap();
        bundle::verify(&bytes, &t, None).unwrap_err().to_string()
    };
    let mut cases: Vec<(&str, Bundle, &str)> = Vec::new();
    let mut b = good.clone();
    b.entries.swap(1, 2);
    cases.push(("swap", b, "out of order"));
    let mut b = good.clone();
    b.entries.remove(3);
    cases.push(("delete claim", b, "entry 5"));
    let mut b = good.clone();
    b.entries.remove(1);
    cases.push(("delete grant", b, "never granted"));
    let mut b = good.clone();
    b.entries.remove(0);
    cases.push(("delete genesis", b, "genesis"));
    let mut b = good.clone();
    let dup = b.entries[2].clone();
    b.entries.insert(2, dup);
    cases.push(("duplicate", b, "repeated"));
    let mut b = good.clone();
    b.subject.index = 3;
    cases.push(("subject", b, "subject"));
    let mut b = good.clone();
    b.subject.index = 4;
    b.subject.kind = SubjectKind::Entry;
    cases.push(("smaller subject", b, "not beneath the subject"));
    let mut b = good.clone();
    b.entries[3].tlog_proof = good.entries[4].tlog_proof.clone();
    cases.push(("other proof", b, "entry 3: tlog_proof is for index 4"));
    let mut b = good.clone();
    b.vkey = env.vkey("keys/researcher.pub");
    cases.push(("vkey", b, "vkey"));
    let mut b = good.clone();
    b.format = "custody-proof-bundle/v2".into();
    cases.push(("format", b, "format"));
    // A figure value changed and re-signed is not possible without the key; an edited count
    // inside the entry bytes breaks the leaf hash.
    let mut b = good.clone();
    let mut bytes = base64_decode(&b.entries[3].bytes_b64);
    let e = Entry::from_bytes(&bytes).unwrap();
    let Body::Claim { .. } = e.content.body else {
        panic!("entry 3 is a claim")
    };
    let at = find(&bytes, &108u64.to_le_bytes()).unwrap();
    bytes[at] = 109;
    b.entries[3].bytes_b64 = base64_encode(&bytes);
    cases.push(("count", b, "entry 3: tlog_proof"));
    for (name, b, want) in cases {
        let err = check(&b);
        assert!(err.contains(want), "{name}: {err}");
    }
    // Reformatted JSON (same values) is not canonical.
    let pretty = serde_json::to_vec(&good).unwrap();
    let err = bundle::verify(&pretty, &t, None).unwrap_err().to_string();
    assert!(err.contains("canonical"), "{err}");
    // Unknown members are refused.
    let mut v: serde_json::Value = serde_json::to_value(&good).unwrap();
    v["note"] = "x".into();
    let mut bytes = serde_json::to_vec_pretty(&v).unwrap();
    bytes.push(b'\n');
    let err = bundle::verify(&bytes, &t, None).unwrap_err().to_string();
    assert!(err.contains("unknown field"), "{err}");
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

// ---- the worked example of docs/PROOFS.md -------------------------------------------------

const DOC: &str = include_str!("../docs/PROOFS.md");
const DOCUMENT: &[u8] = b"custody FORMAT.md example document\n";

/// The ledger of docs/FORMAT.md's example (same seeds, same time), its checkpoint signed by the
/// operator, and the bundle of claim entry 3.
struct Example {
    entries: Vec<Vec<u8>>,
    leaves: Vec<Digest>,
    note: String,
    vkey: String,
    bundle: Vec<u8>,
}

fn example() -> Example {
    let op = SecretKey::from_seed("operator", &[0x01; 32]);
    let re = SecretKey::from_seed("researcher", &[0x02; 32]);
    let bodies = common::example_bodies(&op, &re, DOCUMENT);
    let mut prev = Digest::ZERO;
    let mut entries = Vec::new();
    let mut leaves = Vec::new();
    for (i, (key, body)) in bodies.into_iter().enumerate() {
        let content = Content {
            origin: ORIGIN.into(),
            signer: key.id(),
            claimed_time: 1_760_486_400,
            body,
        };
        let e = content
            .sign(key.signing_key())
            .unwrap()
            .into_entry(i as u64, prev);
        let bytes = e.to_bytes().unwrap();
        prev = Digest::leaf(&bytes);
        leaves.push(prev);
        entries.push(bytes);
    }
    let tree = MemoryHashes::from_leaves(&leaves);
    let root = tree.root();
    let note = checkpoint::sign(ORIGIN, 4, root, op.signing_key()).unwrap();
    let vkey = checkpoint::vkey(ORIGIN, op.public().verifying_key()).unwrap();
    let proven = (0..4u64)
        .map(|i| ProvenEntry {
            index: i,
            bytes: entries[i as usize].clone(),
            proof: merkle::prove_inclusion(i, 4, &tree).unwrap(),
        })
        .collect();
    let bundle = bundle::build(
        ORIGIN,
        &vkey,
        &note,
        Subject {
            kind: SubjectKind::Entry,
            index: 3,
        },
        proven,
    )
    .unwrap();
    Example {
        entries,
        leaves,
        note,
        vkey,
        bundle,
    }
}

fn node(l: &Digest, r: &Digest) -> Digest {
    Digest::of_parts(&[&[0x01], &l.0, &r.0])
}

fn doc_has(s: &str) {
    assert!(
        DOC.contains(s),
        "docs/PROOFS.md does not quote this value verbatim:\n{s}"
    );
}

#[test]
fn worked_example_matches_the_document() {
    let ex = example();
    let n01 = node(&ex.leaves[0], &ex.leaves[1]);
    let n23 = node(&ex.leaves[2], &ex.leaves[3]);
    let root = node(&n01, &n23);
    assert_eq!(root, MemoryHashes::from_leaves(&ex.leaves).root());
    for l in &ex.leaves {
        doc_has(&l.to_hex());
    }
    for h in [n01, n23, root] {
        doc_has(&h.to_hex());
    }
    doc_has(&base64_encode(&root.0));
    doc_has(&base64_encode(&n01.0));
    doc_has(&base64_encode(&ex.leaves[2].0));
    doc_has(&ex.vkey);
    doc_has(&ex.note);
    doc_has(std::str::from_utf8(&ex.bundle).unwrap());
    doc_has(&Digest::of(&ex.bundle).to_hex());
    doc_has(&format!("{} bytes", ex.bundle.len()));
    doc_has(&hex::encode(&ex.entries[3]));
    // And the bundle checks, with the document as its source.
    let v = bundle::verify(&ex.bundle, &trusted(&ex.vkey), Some(Digest::of(DOCUMENT))).unwrap();
    assert_eq!(v.document.unwrap().sources, [2]);
    assert_eq!(v.standing.unwrap().current, Some(108));
    assert!(
        v.completeness.is_none(),
        "the example holds no state commitment"
    );
    // As the document says: `check` refuses it without --allow-incomplete, and with it says so.
    let env = Env::new();
    fs::write(env.path("ex.json"), &ex.bundle).unwrap();
    let err = env.fails(1, &["check", "ex.json", "--trust", &ex.vkey]);
    assert!(err.contains("carries no completeness proof"), "{err}");
    let out = env.ok(&[
        "check",
        "ex.json",
        "--trust",
        &ex.vkey,
        "--allow-incomplete",
    ]);
    assert!(out.contains("NOT PROVEN COMPLETE"), "{out}");
}

#[test]
#[ignore = "prints the worked example for docs/PROOFS.md"]
fn print_worked_example() {
    let ex = example();
    for (i, l) in ex.leaves.iter().enumerate() {
        println!("leaf {i} {l} {}", base64_encode(&l.0));
    }
    let n01 = node(&ex.leaves[0], &ex.leaves[1]);
    let n23 = node(&ex.leaves[2], &ex.leaves[3]);
    let root = node(&n01, &n23);
    println!("n01 {n01} {}", base64_encode(&n01.0));
    println!("n23 {n23} {}", base64_encode(&n23.0));
    println!("root {root} {}", base64_encode(&root.0));
    println!("vkey {}", ex.vkey);
    println!("entry3 {}", hex::encode(&ex.entries[3]));
    println!("note:\n{}", ex.note);
    println!(
        "bundle sha256 {} len {}",
        Digest::of(&ex.bundle),
        ex.bundle.len()
    );
    print!("{}", std::str::from_utf8(&ex.bundle).unwrap());
}

#[test]
fn sample_bundles_check_against_the_sample_key() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("ledger/bundles");
    let Ok(pubkey) = fs::read_to_string(root.join("keys/operator.pub")) else {
        return;
    };
    let p = custody_core::keys::PublicKey::from_file_text(&pubkey).unwrap();
    let vk = checkpoint::vkey("example.org/nk-repatriation", p.verifying_key()).unwrap();
    for (name, value) in [("figure-406.json", 406), ("figure-1076.json", 1076)] {
        let Ok(bytes) = fs::read(dir.join(name)) else {
            continue;
        };
        let v = bundle::verify(&bytes, &trusted(&vk), None).unwrap();
        assert_eq!(v.standing.unwrap().published, Some(value), "{name}");
    }
}

/// Ledger L of [`Work::ledger`] with its checkpoint cosigned by witnesses `alpha` (at t) and
/// `beta` (at t + 61), and `policy.txt`: both required.
fn witnessed(e: &Env) -> (common::TestWitness, common::TestWitness) {
    e.ledger();
    let alpha = common::TestWitness::new("witness.example.com/alpha", 21);
    let beta = common::TestWitness::new("witness.example.net/beta", 22);
    let cp = common::checkpoint_files(&e.path("L")).pop().unwrap();
    alpha.cosign_file(&cp, 1_760_486_400);
    beta.cosign_file(&cp, 1_760_486_461);
    fs::write(
        e.path("policy.txt"),
        format!(
            "log {}\nwitness alpha {}\nwitness beta {}\ngroup both all alpha beta\nquorum both\n",
            e.vkey("keys/operator.pub"),
            alpha.vkey(),
            beta.vkey()
        ),
    )
    .unwrap();
    (alpha, beta)
}

#[test]
fn a_bundle_carries_the_cosigned_checkpoint_and_its_policy() {
    let e = Env::new();
    let (_, beta) = witnessed(&e);
    let vkey = e.vkey("keys/operator.pub");
    e.ok(&[
        "export",
        "L",
        "--figure",
        "5",
        "--policy",
        "policy.txt",
        "-o",
        "f.json",
    ]);
    let text = fs::read_to_string(e.path("f.json")).unwrap();
    let b: Bundle = serde_json::from_str(&text).unwrap();
    assert_eq!(
        b.policy.as_deref(),
        Some(fs::read_to_string(e.path("policy.txt")).unwrap().as_str())
    );
    assert_eq!(
        b.checkpoint.lines().filter(|l| l.starts_with("— ")).count(),
        3
    );
    // Offline, with the policy alone (its log key is the trusted key) or with both.
    let out = e.ok(&["check", "f.json", "--policy", "policy.txt"]);
    assert!(
        out.contains("witnessed by alpha at 2025-10-15T00:00:00Z")
            && out.contains("witnessed by beta at 2025-10-15T00:01:01Z"),
        "{out}"
    );
    assert!(out.contains("carries the same policy"), "{out}");
    e.ok(&[
        "check",
        "f.json",
        "--policy",
        "policy.txt",
        "--trust",
        &vkey,
    ]);
    // The exhibit says it in plain words.
    e.ok(&[
        "exhibit",
        "f.json",
        "--policy",
        "policy.txt",
        "-o",
        "f.html",
    ]);
    let html = fs::read_to_string(e.path("f.html")).unwrap();
    assert!(
        html.contains("witnessed by alpha at 2025-10-15T00:00:00Z, beta at 2025-10-15T00:01:01Z.")
    );
    assert!(html.contains("Established by the witnesses' cosignatures"));
    // One byte of beta's cosignature changed wherever the note appears: the bundle is still
    // well-formed and its log signature holds, but the quorum does not.
    let line = b
        .checkpoint
        .lines()
        .find(|l| l.starts_with(&format!("— {} ", beta.name)))
        .unwrap();
    let mut bad = line.as_bytes().to_vec();
    let i = bad.len() - 20;
    bad[i] = if bad[i] == b'A' { b'B' } else { b'A' };
    let bad = String::from_utf8(bad).unwrap();
    fs::write(e.path("t.json"), text.replace(line, &bad)).unwrap();
    let err = e.fails(1, &["check", "t.json", "--policy", "policy.txt"]);
    assert!(
        err.contains("witness policy: the witness quorum is not met"),
        "{err}"
    );
    assert!(
        err.contains("cosignature lines of beta do not verify"),
        "{err}"
    );
    e.fails(
        1,
        &[
            "exhibit",
            "t.json",
            "--policy",
            "policy.txt",
            "-o",
            "t.html",
        ],
    );
    e.ok(&["check", "t.json", "--trust", &vkey]);
    // A bundle's policy member must be a policy that names the trusted log.
    let other = text.replace("group both all alpha beta", "group both all alpha gamma");
    fs::write(e.path("p.json"), other).unwrap();
    let err = e.fails(1, &["check", "p.json", "--trust", &vkey]);
    assert!(err.contains("policy: policy line 4"), "{err}");
    // A policy for another log key does not hold this bundle.
    e.ok(&["key", "new", "other"]);
    let wrong = fs::read_to_string(e.path("policy.txt"))
        .unwrap()
        .replace(&vkey, &e.vkey("keys/other.pub"));
    fs::write(e.path("wrong.txt"), wrong).unwrap();
    let err = e.fails(1, &["check", "f.json", "--policy", "wrong.txt"]);
    assert!(err.contains("bundle check FAILED"), "{err}");
    e.fails(
        2,
        &["check", "f.json", "--policy", "wrong.txt", "--trust", &vkey],
    );
    // export --policy needs a witnessed checkpoint covering the subject: the claim (entry 7,
    // after the first checkpoint's state commitment, entry 6) is covered by none.
    e.ok(&[
        "add",
        "claim",
        "L",
        "--key",
        RE_KEY,
        "--statement",
        "s",
        "--count",
        "1",
        "--category",
        "c",
        "--period",
        "2024",
        "--source",
        "2",
    ]);
    e.ok(&["checkpoint", "L", "--key", OP_KEY]);
    e.fails(
        2,
        &[
            "export",
            "L",
            "--entry",
            "7",
            "--policy",
            "policy.txt",
            "-o",
            "g.json",
        ],
    );
    let out = e.ok(&[
        "export",
        "L",
        "--entry",
        "5",
        "--policy",
        "policy.txt",
        "-o",
        "g.json",
    ]);
    assert!(
        out.contains("against the checkpoint at tree size 7"),
        "{out}"
    );
}

#[test]
fn bundles_without_a_policy_are_unchanged() {
    // The canonical bytes of a bundle built without a policy have no `policy` member, so a
    // bundle exported before it existed still checks (the worked example is such a bundle).
    let e = Env::new();
    e.ledger();
    e.ok(&["export", "L", "--entry", "3", "-o", "b.json"]);
    let text = fs::read_to_string(e.path("b.json")).unwrap();
    assert!(!text.contains("\"policy\""), "{text}");
    let v = trusted(&e.vkey("keys/operator.pub"));
    let checked = bundle::verify(text.as_bytes(), &v, None).unwrap();
    assert_eq!(checked.policy, None);
}

// ---------------------------------------------------------------------------------------------
// Completeness, and the subject's standing first.

/// The bundle `file` as the library reads it.
fn read_bundle(env: &Env, file: &str) -> Bundle {
    serde_json::from_slice(&fs::read(env.path(file)).unwrap()).unwrap()
}

/// `b` written canonically to `file`.
fn write_bundle(env: &Env, file: &str, b: &Bundle) {
    fs::write(env.path(file), bundle::to_canonical_bytes(b).unwrap()).unwrap();
}

#[test]
fn leaving_any_amendment_out_of_a_bundle_fails_naming_the_entry() {
    let env = Env::new();
    env.ledger();
    let vk = env.vkey("keys/operator.pub");
    // 7 corrects claim 3, 8 retracts claim 4, 9 revokes the researcher (whose grant is entry
    // 1); the export commits (10) and signs a checkpoint of 11.
    env.ok(&[
        "correct", "L", "--key", RE_KEY, "3", "--count", "100", "--reason", "recount",
    ]);
    env.ok(&[
        "retract",
        "L",
        "--key",
        RE_KEY,
        "4",
        "--reason",
        "unsupported",
    ]);
    env.ok(&[
        "key",
        "revoke",
        "L",
        "--key",
        OP_KEY,
        "--pub",
        "keys/researcher.pub",
        "--reason",
        "left",
    ]);
    env.ok(&[
        "export", "L", "--figure", "5", "-o", "f5.json", "--key", OP_KEY,
    ]);
    let good = read_bundle(&env, "f5.json");
    assert_eq!(good.completeness.as_ref().unwrap().commitment, 10);
    let out = env.ok(&["check", "f5.json", "--trust", &vk]);
    assert!(out.contains("complete: every correction"), "{out}");
    let t = trusted(&vk);
    for (amendment, target) in [(7, 3), (8, 4), (9, 1)] {
        let mut b = good.clone();
        b.entries.retain(|e| e.index != amendment);
        let err = bundle::verify(&bundle::to_canonical_bytes(&b).unwrap(), &t, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("entry {target}: completeness:"))
                && err.contains(&format!("leaves out: entries {amendment}")),
            "without {amendment}: {err}"
        );
        // Through the binary: exit 1, and never "unchanged".
        write_bundle(&env, "cut.json", &b);
        let err = env.fails(1, &["check", "cut.json", "--trust", &vk]);
        assert!(err.contains(&format!("entry {target}")), "{err}");
    }
    // A leaf whose set is edited does not hash to the committed tree.
    let mut b = good.clone();
    let leaf = b
        .completeness
        .as_mut()
        .unwrap()
        .leaves
        .iter_mut()
        .find(|l| l.entry == 3)
        .unwrap();
    leaf.amended_by.clear();
    leaf.amended_by.push(8);
    let err = bundle::verify(&bundle::to_canonical_bytes(&b).unwrap(), &t, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("entry 3"), "{err}");
    // Removing the correction and the completeness proof together: the bundle checks only
    // with --allow-incomplete, and then says what it does not prove, never "unchanged".
    let mut b = good.clone();
    b.entries.retain(|e| e.index != 7 && e.index != 10);
    b.completeness = None;
    write_bundle(&env, "stripped.json", &b);
    let err = env.fails(1, &["check", "stripped.json", "--trust", &vk]);
    assert!(err.contains("carries no completeness proof"), "{err}");
    let (code, j) = common::run_json(
        env.cwd(),
        &["check", "stripped.json", "--trust", &vk, "--json"],
    );
    assert_eq!((code, &j["ok"]), (1, &serde_json::Value::Bool(false)));
    let out = env.ok(&[
        "check",
        "stripped.json",
        "--trust",
        &vk,
        "--allow-incomplete",
    ]);
    assert!(out.contains("NOT PROVEN COMPLETE"), "{out}");
    assert!(!out.contains("unchanged"), "{out}");
    let (_, j) = common::run_json(
        env.cwd(),
        &[
            "check",
            "stripped.json",
            "--trust",
            &vk,
            "--json",
            "--allow-incomplete",
        ],
    );
    assert_eq!(j["completeness"], serde_json::Value::Null);
    let err = env.fails(
        1,
        &["exhibit", "stripped.json", "-o", "s.html", "--trust", &vk],
    );
    assert!(err.contains("--allow-incomplete"), "{err}");
    env.ok(&[
        "exhibit",
        "stripped.json",
        "-o",
        "s.html",
        "--trust",
        &vk,
        "--allow-incomplete",
    ]);
    let html = fs::read_to_string(env.path("s.html")).unwrap();
    assert!(
        html.contains("does not prove that no correction"),
        "exhibit"
    );
    assert!(!html.contains("no correction or retraction beneath it in the bundle)"));
    // Its first sentence never says "unchanged" either.
    let verdict = &html[html.find("<div class=\"box verdict").unwrap()..];
    let verdict = &verdict[..verdict.find("</div>").unwrap()];
    assert!(
        verdict.contains("VERIFIED — CHANGED SINCE PUBLICATION: ")
            && verdict.contains(
                "(the bundle does not prove that no other correction or retraction was left \
                 out of it)"
            )
            && !verdict.contains("unchanged"),
        "{verdict}"
    );
}

#[test]
fn a_grant_bundle_holds_the_revocation_and_a_revocation_bundle_exports() {
    let env = Env::new();
    env.ledger();
    let vk = env.vkey("keys/operator.pub");
    env.ok(&[
        "key",
        "revoke",
        "L",
        "--key",
        OP_KEY,
        "--pub",
        "keys/researcher.pub",
        "--reason",
        "laptop lost",
    ]);
    env.ok(&[
        "export",
        "L",
        "--entry",
        "1",
        "-o",
        "grant.json",
        "--key",
        OP_KEY,
    ]);
    let v = bundle::verify(
        &fs::read(env.path("grant.json")).unwrap(),
        &trusted(&vk),
        None,
    )
    .unwrap();
    assert_eq!(v.entries.keys().copied().collect::<Vec<_>>(), [0, 1, 7, 8]);
    let out = env.ok(&["check", "grant.json", "--trust", &vk]);
    assert!(
        out.starts_with("VERIFIED — KEY REVOKED AT ENTRY 7: entry 1 (key-grant)"),
        "{out}"
    );
    assert!(out.contains("revoked at entry 7: \"laptop lost\""), "{out}");
    env.ok(&["export", "L", "--entry", "7", "-o", "revoke.json"]);
    let v = bundle::verify(
        &fs::read(env.path("revoke.json")).unwrap(),
        &trusted(&vk),
        None,
    )
    .unwrap();
    assert_eq!(v.entries.keys().copied().collect::<Vec<_>>(), [0, 1, 7, 8]);
    let out = env.ok(&["check", "revoke.json", "--trust", &vk]);
    assert!(out.starts_with("VERIFIED: entry 7 (key-revoke)"), "{out}");
}

#[test]
fn a_retracted_figure_fails_check_unless_historical_and_the_exhibit_says_so() {
    let env = Env::new();
    env.ledger();
    let vk = env.vkey("keys/operator.pub");
    env.ok(&[
        "retract",
        "L",
        "--key",
        RE_KEY,
        "5",
        "--reason",
        "published in error",
    ]);
    env.ok(&[
        "export", "L", "--figure", "5", "-o", "f5.json", "--key", OP_KEY,
    ]);
    let out = env.run(&["check", "f5.json", "--trust", &vk]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("VERIFIED — RETRACTED AT ENTRY 7: figure 5 of"),
        "{stdout}"
    );
    assert!(
        stdout.contains("retracted at entry 7: \"published in error\""),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("RETRACTED at entry 7") && stderr.contains("--historical"),
        "{stderr}"
    );
    let out = env.ok(&["check", "f5.json", "--trust", &vk, "--historical"]);
    assert!(out.starts_with("VERIFIED — RETRACTED AT ENTRY 7"), "{out}");
    let (code, j) = common::run_json(env.cwd(), &["check", "f5.json", "--trust", &vk, "--json"]);
    assert_eq!((code, &j["error"]["entry"]), (1, &serde_json::json!(7)));
    let (code, j) = common::run_json(
        env.cwd(),
        &["check", "f5.json", "--trust", &vk, "--json", "--historical"],
    );
    assert_eq!(code, 0);
    assert_eq!(
        j["status"],
        serde_json::json!({"kind": "retracted", "at": 7})
    );
    env.ok(&["exhibit", "f5.json", "-o", "f5.html", "--trust", &vk]);
    let html = fs::read_to_string(env.path("f5.html")).unwrap();
    let title = &html[html.find("<title>").unwrap()..html.find("</title>").unwrap()];
    assert!(title.contains("RETRACTED at entry 7"), "{title}");
    assert!(
        title.contains("\u{2014} RETRACTED") && !title.contains("&amp;"),
        "the title's dash is a character, not double-escaped markup: {title}"
    );
    assert!(html.contains("<b>Standing as of the checkpoint: RETRACTED at entry 7.</b>"));
}

#[test]
fn a_superseded_figure_names_its_successor_first_everywhere() {
    let env = Env::new();
    env.ledger();
    let vk = env.vkey("keys/operator.pub");
    env.ok(&[
        "correct", "L", "--key", RE_KEY, "3", "--count", "100", "--reason", "recount",
    ]);
    env.ok(&[
        "add",
        "figure",
        "L",
        "--key",
        RE_KEY,
        "--label",
        "Since 2024",
        "--value",
        "160",
        "--qualifier",
        "at-least",
        "--sum",
        "3,4",
        "--supersedes",
        "5",
    ]);
    env.ok(&[
        "export", "L", "--figure", "5", "-o", "f5.json", "--key", OP_KEY,
    ]);
    let v = bundle::verify(&fs::read(env.path("f5.json")).unwrap(), &trusted(&vk), None).unwrap();
    assert!(v.entries.contains_key(&8), "the successor is in the bundle");
    let out = env.ok(&["check", "f5.json", "--trust", &vk]);
    assert!(
        out.starts_with("VERIFIED — SUPERSEDED BY 8: figure 5"),
        "{out}"
    );
    assert!(
        out.contains(
            "figure 168 (entry 5) superseded by 160 at entry 8; figure 8 stands as published (160)"
        ),
        "{out}"
    );
    let (_, j) = common::run_json(env.cwd(), &["check", "f5.json", "--trust", &vk, "--json"]);
    assert_eq!(
        j["status"],
        serde_json::json!({"kind": "superseded", "by": 8})
    );
    assert_eq!(j["standing"]["superseded_by"], 8);
    env.ok(&["exhibit", "f5.json", "-o", "f5.html", "--trust", &vk]);
    let html = fs::read_to_string(env.path("f5.html")).unwrap();
    let title = &html[html.find("<title>").unwrap()..html.find("</title>").unwrap()];
    assert!(title.contains("SUPERSEDED by figure 8"), "{title}");
    assert!(
        html.contains("SUPERSEDED by figure [entry 8]"),
        "the amendment note"
    );
    // The successor's own bundle names what it supersedes and stands.
    env.ok(&["export", "L", "--figure", "8", "-o", "f8.json"]);
    let out = env.ok(&["check", "f8.json", "--trust", &vk]);
    assert!(out.starts_with("VERIFIED: figure 8"), "{out}");
}

#[test]
fn a_false_state_commitment_fails_every_full_verify() {
    let env = Env::new();
    env.ledger();
    env.ok(&[
        "correct", "L", "--key", RE_KEY, "3", "--count", "100", "--reason", "recount",
    ]);
    // The operator commits to a state that leaves the correction out: the state before it.
    let op = custody_store::files::load_secret(&env.path(OP_KEY), || unreachable!()).unwrap();
    let lines: Vec<serde_json::Value> = env
        .ok(&["log", "L", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let size = lines.len() as u64;
    let head = Digest::from_hex(lines.last().unwrap()["leaf_hash"].as_str().unwrap()).unwrap();
    let body = Body::StateCommitment {
        size,
        leaves: 0,
        root: merkle::EMPTY_ROOT,
    };
    let e = custody_core::sign::sign_submission(&op, ORIGIN, 1_760_000_000, body)
        .unwrap()
        .into_entry(size, head);
    let bytes = e.to_bytes().unwrap();
    let mut file = fs::read(env.path("L/entries")).unwrap();
    file.extend_from_slice(&custody_store::frames::encode_frame(
        &bytes,
        &Digest::leaf(&bytes),
    ));
    fs::write(env.path("L/entries"), &file).unwrap();
    let err = env.fails(1, &["verify", "L"]);
    assert!(
        err.contains(&format!(
            "entry {size}: state commitment does not match the log"
        )),
        "{err}"
    );
    // Only the operator commits, and a commitment names its own index.
    fs::write(
        env.path("L/entries"),
        &file[..file.len() - bytes.len() - 36],
    )
    .unwrap();
    let re = custody_store::files::load_secret(&env.path(RE_KEY), || unreachable!()).unwrap();
    for (key, at, want) in [
        (&re, size, "only the operator key may commit"),
        (&op, size + 1, "covers 9 entries, but it is entry 8"),
    ] {
        let (leaves, root) = (1, Digest::ZERO);
        let sub = custody_core::sign::sign_submission(
            key,
            ORIGIN,
            1_760_000_000,
            Body::StateCommitment {
                size: at,
                leaves,
                root,
            },
        )
        .unwrap();
        fs::write(env.path("c.cust"), sub.to_file_bytes().unwrap()).unwrap();
        let err = env.fails(2, &["append", "L", "c.cust"]);
        assert!(err.contains(want), "{want}: {err}");
    }
}
