//! Duplicates whatever the clock: the same signer recording the same body twice is refused
//! unless the second is a recorded, deliberate repeat; `import` reruns append nothing twice.
//!
//! Submissions with chosen claimed times are signed through the library (`sign_submission`)
//! and appended with `custody append`, so two copies a second (or a year) apart are exactly
//! what a researcher's clock would produce; forged logs are written frame by frame.

mod common;

use common::{init_ledger, run, verify, Work, OPERATOR_KEY, RESEARCHER_KEY};
use custody_core::bundle::{self, ProvenEntry, Subject, SubjectKind};
use custody_core::checkpoint;
use custody_core::entry::{Body, Entry, SourceKind};
use custody_core::hash::Digest;
use custody_core::keys::SecretKey;
use custody_core::merkle::{self, MemoryHashes};
use custody_core::sign::{sign_submission, KeySigner};
use custody_store::files::load_secret;
use custody_store::frames::encode_frame;
use std::fs;

const ORIGIN: &str = "example.org/duplicates";

fn claim(statement: &str, count: u64) -> Body {
    Body::Claim {
        statement: statement.into(),
        count: Some(count),
        unit: "people".into(),
        category: "forced-repatriation".into(),
        period: "2024".into(),
        place: "Dandong".into(),
        cites: vec![2],
    }
}

fn repeat(statement: &str, count: u64, of: u64) -> Body {
    let Body::Claim {
        statement,
        count,
        unit,
        category,
        period,
        place,
        cites,
    } = claim(statement, count)
    else {
        unreachable!()
    };
    Body::RepeatedClaim {
        statement,
        count,
        unit,
        category,
        period,
        place,
        cites,
        repeats: of,
    }
}

/// Ledger L (0 genesis, 1 grant, 2 a source) and the researcher's key.
fn ledger() -> (Work, SecretKey) {
    let w = Work::keyed();
    init_ledger(w.cwd(), "L", ORIGIN);
    fs::write(w.path("report.txt"), "a report\n").unwrap();
    w.ok(&[
        "add",
        "source",
        "L",
        "--key",
        RESEARCHER_KEY,
        "report.txt",
        "--title",
        "Report",
        "--publisher",
        "NGO",
        "--date",
        "2025",
        "--kind",
        "ngo-report",
    ]);
    let key = load_secret(&w.path(RESEARCHER_KEY), || unreachable!()).unwrap();
    (w, key)
}

/// Signs `body` at claimed time `time` with `key` and appends it with `custody append`: its
/// index, or the error custody printed.
fn append(w: &Work, key: &SecretKey, time: i64, body: Body) -> Result<u64, String> {
    let sub = sign_submission(key, ORIGIN, time, body).unwrap();
    let file = w.path("sub.cust");
    let _ = fs::remove_file(&file);
    fs::write(&file, sub.to_file_bytes().unwrap()).unwrap();
    let out = run(w.cwd(), &["append", "L", "sub.cust"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    match out.status.code() {
        Some(0) => Ok(stdout
            .split("entry ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{stdout}"))),
        Some(2) => Err(stderr),
        other => panic!("append exited {other:?}: {stderr}"),
    }
}

/// The log's entries, through `custody log --json`.
fn log_lines(w: &Work) -> Vec<serde_json::Value> {
    w.ok(&["log", "L", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_same_claim_at_another_claimed_time_is_a_duplicate_unless_it_is_a_recorded_repeat() {
    let (w, key) = ledger();
    let dir = w.path("L");
    let first = append(&w, &key, 1_760_000_000, claim("5 returned", 5)).unwrap();
    // A second later, a year later: the same claim, refused, naming the first.
    for t in [1_760_000_001, 1_790_000_000] {
        let msg = append(&w, &key, t, claim("5 returned", 5)).unwrap_err();
        assert!(
            msg.contains(&format!("duplicates entry {first}")) && msg.contains("--allow-duplicate"),
            "{msg}"
        );
    }
    // The very same signed submission is a replay.
    let err = append(&w, &key, 1_760_000_000, claim("5 returned", 5)).unwrap_err();
    assert!(err.contains(&format!("already entry {first}")), "{err}");
    // A deliberate repeat must name the latest copy.
    let second = append(&w, &key, 1_760_000_002, repeat("5 returned", 5, first)).unwrap();
    let err = append(&w, &key, 1_760_000_003, repeat("5 returned", 5, first)).unwrap_err();
    assert!(
        err.contains(&format!(
            "latest earlier copy of its claim, entry {second}, not entry {first}"
        )),
        "{err}"
    );
    let err = append(&w, &key, 1_760_000_003, claim("5 returned", 5)).unwrap_err();
    assert!(err.contains(&format!("duplicates entry {second}")), "{err}");
    let third = append(&w, &key, 1_760_000_004, repeat("5 returned", 5, second)).unwrap();
    // A repeat of nothing, and a repeat whose fields differ, are refused.
    let err = append(&w, &key, 1_760_000_005, repeat("6 returned", 6, first)).unwrap_err();
    assert!(
        err.contains(&format!("entry {first} is not this claim")),
        "{err}"
    );
    // Another signer's identical claim is not a copy.
    w.ok(&["key", "new", "second"]);
    w.ok(&[
        "key",
        "grant",
        "L",
        "--key",
        OPERATOR_KEY,
        "--pub",
        "keys/second.pub",
        "--role",
        "researcher",
    ]);
    let other = load_secret(&w.path("keys/second.key"), || unreachable!()).unwrap();
    append(&w, &other, 1_760_000_000, claim("5 returned", 5)).unwrap();
    // A figure may count every copy: they are separate records, and on the record as such.
    let out = w.ok(&[
        "add",
        "figure",
        "L",
        "--key",
        RESEARCHER_KEY,
        "--label",
        "All",
        "--value",
        "15",
        "--sum",
        &format!("{first},{second},{third}"),
    ]);
    assert!(out.contains("(figure) appended"), "{out}");
    let shown = w.ok(&["figure", "L", &(third + 3).to_string()]);
    assert!(
        shown.contains(&format!("a deliberate repeat of claim {second}")),
        "{shown}"
    );
    let report = verify(&dir).unwrap();
    assert_eq!(report.kinds["claim"], 4);
}

#[test]
fn add_claim_allow_duplicate_records_the_repeat() {
    let (w, key) = ledger();
    let args = |extra: &[&'static str]| {
        let mut a = vec![
            "add",
            "claim",
            "L",
            "--key",
            RESEARCHER_KEY,
            "--statement",
            "5 returned",
            "--count",
            "5",
            "--category",
            "forced-repatriation",
            "--period",
            "2024",
            "--place",
            "Dandong",
            "--source",
            "2",
        ];
        a.extend_from_slice(extra);
        a
    };
    let err = w.fails(2, &args(&["--allow-duplicate"]));
    assert!(err.contains("is no duplicate"), "{err}");
    // The first copy, signed a while ago.
    let first = append(&w, &key, 1_700_000_000, claim("5 returned", 5)).unwrap();
    let err = w.fails(2, &args(&[]));
    assert!(err.contains(&format!("duplicates entry {first}")), "{err}");
    let out = w.ok(&args(&["--allow-duplicate"]));
    assert!(
        out.contains(&format!("a deliberate repeat of entry {first}) appended")),
        "{out}"
    );
    let (_, shown) = common::run_json(w.cwd(), &["show", "L", "4", "--json"]);
    assert_eq!(shown["body"]["repeats"], first);
    assert_eq!(shown["kind"], "claim");
    let log = w.ok(&["log", "L"]);
    assert!(
        log.contains(&format!("a deliberate repeat of entry {first}")),
        "{log}"
    );
}

#[test]
fn verify_refuses_a_copy_the_appender_would_have_refused() {
    let (w, key) = ledger();
    let dir = w.path("L");
    let first = append(&w, &key, 1_760_000_000, claim("5 returned", 5)).unwrap();
    // Forge a second copy straight into the entries file, past append's rule.
    let lines = log_lines(&w);
    let size = lines.len() as u64;
    let head = Digest::from_hex(lines.last().unwrap()["leaf_hash"].as_str().unwrap()).unwrap();
    let e = sign_submission(&key, ORIGIN, 1_760_000_100, claim("5 returned", 5))
        .unwrap()
        .into_entry(size, head);
    let bytes = e.to_bytes().unwrap();
    let mut file = fs::read(dir.join("entries")).unwrap();
    file.extend_from_slice(&encode_frame(&bytes, &Digest::leaf(&bytes)));
    fs::write(dir.join("entries"), &file).unwrap();
    let f = verify(&dir).unwrap_err();
    assert_eq!(f.entry, Some(size));
    assert!(
        f.reason.contains(&format!("duplicates entry {first}")),
        "{f}"
    );
    let err = w.fails(1, &["verify", "L"]);
    assert!(
        err.contains(&format!("entry {size}: duplicates entry {first}")),
        "{err}"
    );
}

/// A bundle of `entries` (the whole log, in order) about `subject`, against a checkpoint of
/// all of it signed by `operator`: built with the library, so it can hold what no export would.
fn bundle_of(entries: &[Entry], subject: u64, operator: &SecretKey) -> (Vec<u8>, String) {
    let leaves: Vec<Digest> = entries
        .iter()
        .map(|e| Digest::leaf(&e.to_bytes().unwrap()))
        .collect();
    let tree = MemoryHashes::from_leaves(&leaves);
    let n = entries.len() as u64;
    let note = checkpoint::sign(ORIGIN, n, tree.root(), operator).unwrap();
    let proven = entries
        .iter()
        .map(|e| ProvenEntry {
            index: e.index,
            bytes: e.to_bytes().unwrap(),
            proof: merkle::prove_inclusion(e.index, n, &tree).unwrap(),
        })
        .collect();
    let vkey = checkpoint::vkey(ORIGIN, &operator.verifying_key()).unwrap();
    let subject = Subject {
        kind: SubjectKind::Figure,
        index: subject,
    };
    (
        bundle::build(ORIGIN, &vkey, &note, subject, proven).unwrap(),
        vkey,
    )
}

#[test]
fn a_bundle_holding_two_plain_copies_is_refused() {
    let operator = SecretKey::from_seed("operator", &[1u8; 32]);
    let researcher = SecretKey::from_seed("researcher", &[2u8; 32]);
    let mut entries: Vec<Entry> = Vec::new();
    let mut push = |key: &SecretKey, time: i64, body: Body| {
        let (index, prev) = match entries.last() {
            Some(e) => (e.index + 1, Digest::leaf(&e.to_bytes().unwrap())),
            None => (0, Digest::ZERO),
        };
        let e = sign_submission(key, ORIGIN, time, body)
            .unwrap()
            .into_entry(index, prev);
        entries.push(e);
    };
    push(
        &operator,
        1,
        Body::Genesis {
            operator: operator.public().bytes(),
            name: "operator".into(),
        },
    );
    push(
        &operator,
        1,
        Body::KeyGrant {
            key: researcher.public().bytes(),
            name: "researcher".into(),
            role: custody_core::entry::Role::Researcher,
        },
    );
    push(
        &researcher,
        1,
        Body::Source {
            sha256: Digest::of(b"report"),
            size: 6,
            title: "Report".into(),
            publisher: "NGO".into(),
            date: "2025".into(),
            kind: SourceKind::NgoReport,
            locator: None,
        },
    );
    push(&researcher, 1, claim("5 returned", 5));
    push(&researcher, 2, claim("5 returned", 5));
    push(
        &researcher,
        3,
        Body::Figure {
            label: "All".into(),
            value: 10,
            qualifier: custody_core::entry::Qualifier::AtLeast,
            unit: "people".into(),
            terms: vec![3, 4],
        },
    );
    let (bytes, vkey) = bundle_of(&entries, 5, &operator);
    let trusted = checkpoint::parse_vkey(&vkey).unwrap();
    let err = bundle::verify(&bytes, &trusted, None)
        .unwrap_err()
        .to_string();
    assert_eq!(err, "entry 4: duplicates entry 3: the same signer already recorded this claim (only the claimed time differs); if it is a separate record of the same thing, add it as a deliberate repeat (`custody add claim --allow-duplicate`, recorded as repeating that entry)");
    // The same log with the second copy recorded as a repeat checks.
    entries.truncate(4);
    let mut push = |key: &SecretKey, time: i64, body: Body| {
        let e = entries.last().unwrap();
        let (index, prev) = (e.index + 1, Digest::leaf(&e.to_bytes().unwrap()));
        entries.push(
            sign_submission(key, ORIGIN, time, body)
                .unwrap()
                .into_entry(index, prev),
        );
    };
    push(&researcher, 2, repeat("5 returned", 5, 3));
    push(
        &researcher,
        3,
        Body::Figure {
            label: "All".into(),
            value: 10,
            qualifier: custody_core::entry::Qualifier::AtLeast,
            unit: "people".into(),
            terms: vec![3, 4],
        },
    );
    let (bytes, _) = bundle_of(&entries, 5, &operator);
    bundle::verify(&bytes, &trusted, None).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Import reruns.

fn claim_line(k: u32) -> String {
    format!(
        r#"{{"kind":"claim","statement":"case {k}: one person returned","count":1,"category":"forced-repatriation","period":"2024","cites":[2]}}"#
    )
}

/// The log's claims, by statement, each with how many times it occurs.
fn statements(w: &Work) -> std::collections::BTreeMap<String, usize> {
    let mut out = std::collections::BTreeMap::new();
    for i in 0..log_lines(w).len() {
        let (_, e) = common::run_json(w.cwd(), &["show", "L", &i.to_string(), "--json"]);
        if e["kind"] == "claim" {
            *out.entry(e["body"]["statement"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    out
}

#[test]
fn an_import_that_failed_midway_appends_only_the_missing_lines_when_run_again() {
    let (w, _) = ledger();
    // Line 3 is not a body: the import stops there, with lines 1 and 2 durable.
    let mut lines: Vec<String> = (1..=5).map(claim_line).collect();
    let good = lines[2].clone();
    lines[2] = r#"{"kind":"claim","statement":"no category"}"#.into();
    fs::write(w.path("cases.jsonl"), lines.join("\n") + "\n").unwrap();
    let err = w.fails(
        2,
        &[
            "import",
            "L",
            "--key",
            RESEARCHER_KEY,
            "cases.jsonl",
            "--batch",
            "1",
        ],
    );
    assert!(
        err.contains("line 3") && err.contains("2 entries before it are durable"),
        "{err}"
    );
    assert_eq!(statements(&w).len(), 2);
    // Fixed and run again: 1 and 2 are reported and skipped, 3 to 5 land, once each.
    lines[2] = good;
    fs::write(w.path("cases.jsonl"), lines.join("\n") + "\n").unwrap();
    let out = w.ok(&["import", "L", "--key", RESEARCHER_KEY, "cases.jsonl"]);
    assert!(
        out.contains("line 1: already in the ledger as entry 3; skipped"),
        "{out}"
    );
    assert!(
        out.contains("line 2: already in the ledger as entry 4; skipped"),
        "{out}"
    );
    assert!(out.contains("imported 3 entries (5..7)"), "{out}");
    let seen = statements(&w);
    assert_eq!(seen.len(), 5);
    assert!(seen.values().all(|&n| n == 1), "{seen:?}");
    // Once more: nothing new.
    let out = w.ok(&["import", "L", "--key", RESEARCHER_KEY, "cases.jsonl"]);
    assert!(
        out.contains("nothing new to import: 5 lines were already in the ledger"),
        "{out}"
    );
    assert_eq!(verify(&w.path("L")).unwrap().entries, 8);
}

#[test]
fn a_refused_line_midway_then_a_rerun() {
    let (w, _) = ledger();
    // Line 2 cites an entry that does not exist: refused by the rules, after line 1 landed
    // (batches of one); two identical lines in one file: the second is a duplicate.
    let mut lines: Vec<String> = (1..=4).map(claim_line).collect();
    lines[1] = lines[1].replace(r#""cites":[2]"#, r#""cites":[99]"#);
    fs::write(w.path("cases.jsonl"), lines.join("\n") + "\n").unwrap();
    let err = w.fails(
        2,
        &[
            "import",
            "L",
            "--key",
            RESEARCHER_KEY,
            "cases.jsonl",
            "--batch",
            "1",
        ],
    );
    assert!(
        err.contains("line 2:") && err.contains("1 entry before it is durable"),
        "{err}"
    );
    assert_eq!(statements(&w).len(), 1);
    lines[1] = claim_line(2);
    lines.push(claim_line(4));
    fs::write(w.path("cases.jsonl"), lines.join("\n") + "\n").unwrap();
    let err = w.fails(2, &["import", "L", "--key", RESEARCHER_KEY, "cases.jsonl"]);
    assert!(
        err.contains("line 5:") && err.contains("duplicates entry"),
        "{err}"
    );
    // Nothing of that batch landed (a batch is all or nothing); drop the copy and rerun.
    lines.pop();
    fs::write(w.path("cases.jsonl"), lines.join("\n") + "\n").unwrap();
    let out = w.ok(&["import", "L", "--key", RESEARCHER_KEY, "cases.jsonl"]);
    assert!(
        out.contains("line 1: already in the ledger as entry 3; skipped"),
        "{out}"
    );
    let seen = statements(&w);
    assert_eq!(seen.len(), 4);
    assert!(seen.values().all(|&n| n == 1), "{seen:?}");
}
