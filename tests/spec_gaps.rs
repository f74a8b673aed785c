//! One regression test per gap an independent verifier, written from docs/ alone, found
//! between the specification and custody (issue "Figures a court can rely on", spec gaps):
//! each test fails on the code before the fix, and the specs now say what it checks.

mod common;

use custody_core::bundle::{self, ProvenEntry, Subject, SubjectKind};
use custody_core::checkpoint;
use custody_core::entry::{Body, Entry, Qualifier, Role, SourceKind};
use custody_core::hash::Digest;
use custody_core::keys::SecretKey;
use custody_core::merkle::{self, MemoryHashes};
use custody_core::rules::{
    valid_partial_date, valid_period, EntryLookup, LogState, LookupError, RuleError,
};
use custody_core::sign::{sign_submission, KeySigner};

const TIME: i64 = 1_760_486_400;

/// A log in memory, signed for `origin`.
struct Log {
    origin: String,
    state: LogState,
    entries: Vec<Entry>,
    operator: SecretKey,
    researcher: SecretKey,
}

impl EntryLookup for Log {
    fn entry(&self, index: u64) -> Result<Entry, LookupError> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.entries.get(i).cloned())
            .ok_or(LookupError::Missing {
                index,
                reason: "is not in this test log".into(),
            })
    }
}

impl Log {
    /// 0 genesis, 1 grant, 2 a source, 3 an informant.
    fn new(origin: &str) -> Log {
        let mut log = Log {
            origin: origin.into(),
            state: LogState::default(),
            entries: Vec::new(),
            operator: SecretKey::from_seed("operator", &[1u8; 32]),
            researcher: SecretKey::from_seed("researcher", &[2u8; 32]),
        };
        let genesis = Body::Genesis {
            operator: log.operator.public().bytes(),
            name: "operator".into(),
        };
        let grant = Body::KeyGrant {
            key: log.researcher.public().bytes(),
            name: "researcher".into(),
            role: Role::Researcher,
        };
        log.push_by(true, genesis).unwrap();
        log.push_by(true, grant).unwrap();
        log.push(Body::Source {
            sha256: Digest::of(b"report"),
            size: 6,
            title: "Report".into(),
            publisher: "NGO".into(),
            date: "2025".into(),
            kind: SourceKind::NgoReport,
            locator: None,
        })
        .unwrap();
        log.push(Body::Informant {
            alias: "Source A".into(),
            commitment: Digest::of(b"c"),
        })
        .unwrap();
        log
    }

    fn push_by(&mut self, operator: bool, body: Body) -> Result<u64, RuleError> {
        let key = if operator {
            &self.operator
        } else {
            &self.researcher
        };
        let e = sign_submission(key, &self.origin, TIME, body)
            .unwrap()
            .into_entry(self.state.size, self.state.head);
        self.state.admit(&e.content, self)?;
        self.state
            .apply(&e.content, Digest::leaf(&e.to_bytes().unwrap()));
        self.entries.push(e);
        Ok(self.state.size - 1)
    }

    fn push(&mut self, body: Body) -> Result<u64, RuleError> {
        self.push_by(false, body)
    }
}

fn claim(count: Option<u64>, unit: &str, cites: &[u64]) -> Body {
    Body::Claim {
        statement: "people were returned".into(),
        count,
        unit: unit.into(),
        category: "forced-repatriation".into(),
        period: "2024".into(),
        place: String::new(),
        cites: cites.to_vec(),
    }
}

fn figure(value: u64, terms: &[u64]) -> Body {
    Body::Figure {
        label: "returned".into(),
        value,
        qualifier: Qualifier::AtLeast,
        unit: "people".into(),
        terms: terms.to_vec(),
    }
}

/// The bundle of the whole log `entries`, its checkpoint signed by `operator` for `origin`.
fn bundle_of(entries: &[Entry], origin: &str, operator: &SecretKey, subject: u64) -> Vec<u8> {
    let leaves: Vec<Digest> = entries
        .iter()
        .map(|e| Digest::leaf(&e.to_bytes().unwrap()))
        .collect();
    let tree = MemoryHashes::from_leaves(&leaves);
    let n = entries.len() as u64;
    let note = checkpoint::sign(origin, n, tree.root(), operator).unwrap();
    let proven = entries
        .iter()
        .map(|e| ProvenEntry {
            index: e.index,
            bytes: e.to_bytes().unwrap(),
            proof: merkle::prove_inclusion(e.index, n, &tree).unwrap(),
        })
        .collect();
    let vkey = checkpoint::vkey(origin, &operator.verifying_key()).unwrap();
    let subject = Subject {
        kind: SubjectKind::Entry,
        index: subject,
    };
    bundle::build(origin, &vkey, &note, subject, proven).unwrap()
}

/// Gap: nothing tied genesis `origin` to the checkpoint origin, and `check` accepted a bundle
/// whose entries were signed for another origin under a checkpoint by the same operator key.
#[test]
fn a_bundle_whose_entries_were_signed_for_another_origin_is_refused() {
    let log = Log::new("example.org/ledger-a");
    let other = "example.org/ledger-b";
    let bytes = bundle_of(&log.entries[..3], other, &log.operator, 2);
    let vkey = checkpoint::vkey(other, &log.operator.verifying_key()).unwrap();
    let err = bundle::verify(&bytes, &checkpoint::parse_vkey(&vkey).unwrap(), None)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "entry 0: the entries were signed for origin \"example.org/ledger-a\", not for the checkpoint's origin \"example.org/ledger-b\""
    );
    // The same entries under their own origin's checkpoint check.
    let own = "example.org/ledger-a";
    let bytes = bundle_of(&log.entries[..3], own, &log.operator, 2);
    let vkey = checkpoint::vkey(own, &log.operator.verifying_key()).unwrap();
    bundle::verify(&bytes, &checkpoint::parse_vkey(&vkey).unwrap(), None).unwrap();
}

/// Gap: "control character" meant two things (an origin and a vkey name refused C0, DEL and
/// C1, text fields also the bidirectional controls and U+2028/U+2029). Now one meaning.
#[test]
fn an_origin_or_key_name_with_a_bidirectional_control_is_refused_everywhere() {
    for c in ['\u{202E}', '\u{2066}', '\u{200F}', '\u{061C}', '\u{2028}'] {
        let origin = format!("example.org/a{c}b");
        assert!(!checkpoint::valid_origin(&origin), "U+{:04X}", u32::from(c));
        let key = SecretKey::from_seed("k", &[3u8; 32]);
        assert!(checkpoint::vkey(&origin, &key.verifying_key()).is_err());
    }
    assert!(checkpoint::valid_origin("example.org/ok"));
}

/// Gap: the partial-date grammar said YYYY, and year 0000 (1 BC, or no year) was accepted.
#[test]
fn year_0000_is_no_date() {
    for d in ["0000", "0000-01", "0000-02-29"] {
        assert!(!valid_partial_date(d), "{d}");
    }
    assert!(!valid_period("0000..2024"));
    for d in ["0001", "0004-02-29", "9999-12-31"] {
        assert!(valid_partial_date(d), "{d}");
    }
}

/// Gap: repeated citations in one claim were silently accepted (terms already refused them).
#[test]
fn a_claim_citing_one_entry_twice_is_refused() {
    let mut log = Log::new("example.org/t");
    let err = log
        .push(claim(Some(5), "people", &[2, 3, 2]))
        .unwrap_err()
        .to_string();
    assert_eq!(err, "cited entry 2 appears twice");
    log.push(claim(Some(5), "people", &[2, 3])).unwrap();
}

/// Gap: "a claim without a count may not be a term" was ambiguous about a count a correction
/// gives it later. The value is the latest count before the figure: once corrected to a count
/// it may be summed, before that it may not.
#[test]
fn a_claim_without_a_count_may_be_a_term_once_a_correction_gives_it_one() {
    let mut log = Log::new("example.org/t");
    let c = log.push(claim(None, "people", &[2])).unwrap();
    let err = log.push(figure(0, &[c])).unwrap_err().to_string();
    assert!(err.contains(&format!("claim {c} has no count")), "{err}");
    log.push(Body::Correction {
        target: c,
        count: Some(7),
        statement: None,
        reason: "the report gives a number after all".into(),
    })
    .unwrap();
    let f = log.push(figure(7, &[c])).unwrap();
    assert_eq!(
        log.state
            .value_at(f, log.state.size, 0, &log)
            .unwrap()
            .value,
        7
    );
}

/// Gap: how the 64-deep limit counts. A claim is 0 deep, a figure one more than its deepest
/// term (retracted terms included: the structure is what is bounded); a figure may be at most
/// 64 deep.
#[test]
fn the_nesting_limit_counts_as_the_spec_says() {
    let mut log = Log::new("example.org/t");
    let c = log.push(claim(Some(1), "people", &[2])).unwrap();
    let mut top = log.push(figure(1, &[c])).unwrap(); // 1 deep
    for _ in 2..=64 {
        top = log.push(figure(1, &[top])).unwrap();
    }
    let err = log.push(figure(1, &[top])).unwrap_err().to_string();
    assert!(
        err.contains(&format!("term {top} already nests 64 deep")),
        "{err}"
    );
    // Retracting the deepest term does not lift the bound.
    log.push(Body::Retraction {
        target: top,
        reason: "r".into(),
    })
    .unwrap();
    assert!(log.push(figure(0, &[top])).is_err());
}

/// Gap: the minimum payload of other keys' signature lines. A line's base64 must decode to
/// at least 5 bytes (a 4-byte key id and a signature of at least one byte), as C2SP
/// signed-note and Go's note package require; a shorter one makes the note malformed.
#[test]
fn a_cosignature_line_of_fewer_than_five_bytes_is_refused() {
    let key = SecretKey::from_seed("operator", &[1u8; 32]);
    let origin = "example.org/t";
    let note = checkpoint::sign(origin, 1, Digest::of(b"x"), &key).unwrap();
    let vkey =
        checkpoint::parse_vkey(&checkpoint::vkey(origin, &key.verifying_key()).unwrap()).unwrap();
    checkpoint::open(note.as_bytes(), &vkey).unwrap();
    // 4 bytes (a key id, no signature): refused. 5 bytes: carried and ignored.
    for (payload, ok) in [("AAAAAA==", false), ("AAAAAAA=", true)] {
        let with = format!("{note}— witness.example {payload}\n");
        assert_eq!(
            checkpoint::open(with.as_bytes(), &vkey).is_ok(),
            ok,
            "{payload}"
        );
    }
}

/// Gap: CHECKPOINTS.md did not say that a vkey's key must be torsion-free, which custody
/// enforces as it does for granted keys.
#[test]
fn a_vkey_with_a_mixed_order_key_is_refused() {
    use base64::Engine as _;
    let key = SecretKey::from_seed("operator", &[1u8; 32]);
    let good = key.verifying_key();
    // The key plus a point of order 8 (the Ed25519 torsion subgroup): same validity, torsion.
    let torsion = curve25519_dalek::constants::EIGHT_TORSION[1];
    let mixed = (good.to_edwards() + torsion).compress().to_bytes();
    let mut raw = vec![1u8];
    raw.extend_from_slice(&mixed);
    let name = "example.org/t";
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&mixed).unwrap();
    let id = checkpoint::key_id(name, &vk);
    let text = format!(
        "{name}+{id:08x}+{}",
        base64::engine::general_purpose::STANDARD.encode(&raw)
    );
    assert!(checkpoint::parse_vkey(&text).is_err(), "{text}");
}

/// Gap: the genesis `name` was not said to be non-empty.
#[test]
fn a_genesis_with_an_empty_operator_name_is_refused() {
    let key = SecretKey::from_seed("operator", &[1u8; 32]);
    let e = sign_submission(
        &key,
        "example.org/t",
        TIME,
        Body::Genesis {
            operator: key.public().bytes(),
            name: "  ".into(),
        },
    )
    .unwrap();
    let err = LogState::default()
        .admit(&e.content, &custody_core::rules::NoEntries)
        .unwrap_err()
        .to_string();
    assert!(err.contains("must not be empty"), "{err}");
}
