//! Separation of duties (docs/FORMAT.md "Roles"): the operator signs no evidence, a researcher
//! amends only its own entries, a reviewer's key amends anyone's. Each refusal names the entry
//! and its signer; a ledger whose bytes break a rule fails `verify` at that entry.

mod common;

use common::{
    claim_args, figure_args, init_ledger, key_args, source_args, Work, OPERATOR_KEY, RESEARCHER_KEY,
};
use custody_core::entry::Body;
use custody_core::hash::Digest;
use std::fs;

const ORIGIN: &str = "example.org/roles";
const OTHER_KEY: &str = "keys/other.key";
const REVIEWER_KEY: &str = "keys/reviewer.key";

/// L: 0 genesis, 1 researcher, 2 other researcher, 3 reviewer, 4 source and 5 claim (by the
/// researcher), 6 figure over claim 5 (by the researcher).
fn ledger() -> Work {
    let w = Work::keyed();
    init_ledger(w.cwd(), "L", ORIGIN);
    w.ok(&["key", "new", "other"]);
    w.ok(&["key", "new", "reviewer"]);
    w.ok(&key_args(
        "grant",
        "L",
        OPERATOR_KEY,
        "keys/other.pub",
        "researcher",
    ));
    w.ok(&key_args(
        "grant",
        "L",
        OPERATOR_KEY,
        "keys/reviewer.pub",
        "reviewer",
    ));
    fs::write(w.path("report.txt"), "report\n").unwrap();
    w.ok(&source_args("L", RESEARCHER_KEY, "2025", "media"));
    w.ok(&claim_args(
        "L",
        RESEARCHER_KEY,
        "5 returned",
        "5",
        "forced-repatriation",
        "2024",
        "4",
    ));
    w.ok(&figure_args("L", RESEARCHER_KEY, "Returned", "5", "5"));
    w
}

fn size(w: &Work) -> usize {
    w.ok(&["log", "L", "--json"]).lines().count()
}

#[test]
fn the_operator_key_signs_no_evidence() {
    let w = ledger();
    let before = fs::read(w.path("L/entries")).unwrap();
    let err = w.fails(
        2,
        &claim_args(
            "L",
            OPERATOR_KEY,
            "by the operator",
            "1",
            "forced-repatriation",
            "2024",
            "4",
        ),
    );
    assert!(
        err.contains("the operator key signs only genesis, key grants, revocations and state commitments, not claim entries"),
        "{err}"
    );
    let err = w.fails(
        2,
        &["retract", "L", "--key", OPERATOR_KEY, "5", "--reason", "r"],
    );
    assert!(err.contains("not retraction entries"), "{err}");
    assert_eq!(fs::read(w.path("L/entries")).unwrap(), before);
}

#[test]
fn a_researcher_amends_only_its_own_entries_and_a_reviewer_anyones() {
    let w = ledger();
    let before = fs::read(w.path("L/entries")).unwrap();
    for (args, what) in [
        (
            vec![
                "correct", "L", "--key", OTHER_KEY, "5", "--count", "4", "--reason", "r",
            ],
            "corrected claim 5",
        ),
        (
            vec!["retract", "L", "--key", OTHER_KEY, "5", "--reason", "r"],
            "retracted entry 5",
        ),
        (
            vec!["retract", "L", "--key", OTHER_KEY, "6", "--reason", "r"],
            "retracted entry 6",
        ),
        (
            vec!["redact", "L", "--key", OTHER_KEY, "4", "--reason", "r"],
            "redacted source 4",
        ),
        (
            vec![
                "add",
                "figure",
                "L",
                "--key",
                OTHER_KEY,
                "--label",
                "Returned",
                "--value",
                "5",
                "--sum",
                "5",
                "--supersedes",
                "6",
            ],
            "superseded figure 6",
        ),
    ] {
        let err = w.fails(2, &args);
        assert!(
            err.contains(&format!("{what} was signed by \"researcher\""))
                && err.contains("a researcher amends only entries signed with their own key"),
            "{what}: {err}"
        );
    }
    assert_eq!(fs::read(w.path("L/entries")).unwrap(), before);
    // Its own claim, the researcher corrects; a reviewer corrects anyone's, and the record
    // says who did: the correction is signed by the reviewer's key.
    w.ok(&[
        "correct",
        "L",
        "--key",
        RESEARCHER_KEY,
        "5",
        "--count",
        "4",
        "--reason",
        "recount",
    ]);
    w.ok(&[
        "correct",
        "L",
        "--key",
        REVIEWER_KEY,
        "5",
        "--count",
        "3",
        "--reason",
        "second source",
    ]);
    let log: Vec<serde_json::Value> = w
        .ok(&["log", "L", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(log[8]["kind"], "correction");
    assert_eq!(log[8]["signer"]["role"], "reviewer");
    assert_eq!(log[8]["signer"]["name"], "reviewer");
    w.ok(&["verify", "L"]);
}

#[test]
fn verify_names_an_entry_that_breaks_a_role_rule() {
    // The bytes of a correction of the researcher's claim signed by the other researcher,
    // appended to the entries file by someone who can write the directory (and holds that
    // researcher's key, but not a reviewer's).
    let w = ledger();
    let n = size(&w) as u64;
    let other = custody_store::files::load_secret(&w.path(OTHER_KEY), || unreachable!()).unwrap();
    let lines: Vec<serde_json::Value> = w
        .ok(&["log", "L", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let head = Digest::from_hex(lines.last().unwrap()["leaf_hash"].as_str().unwrap()).unwrap();
    let body = Body::Correction {
        target: 5,
        count: Some(50),
        statement: None,
        reason: "inflated".into(),
    };
    let e = custody_core::sign::sign_submission(&other, ORIGIN, 1_760_000_000, body)
        .unwrap()
        .into_entry(n, head);
    let bytes = e.to_bytes().unwrap();
    let mut file = fs::read(w.path("L/entries")).unwrap();
    file.extend_from_slice(&custody_store::frames::encode_frame(
        &bytes,
        &Digest::leaf(&bytes),
    ));
    fs::write(w.path("L/entries"), &file).unwrap();
    let err = w.fails(1, &["verify", "L"]);
    assert!(
        err.contains(&format!("entry {n}:")) && err.contains("corrected claim 5 was signed by"),
        "{err}"
    );
}

#[test]
fn a_reviewer_endorses_a_figure_and_every_report_names_it() {
    let w = ledger();
    let before = fs::read(w.path("L/entries")).unwrap();
    for (key, target, want) in [
        (
            RESEARCHER_KEY,
            "6",
            "only a reviewer's key may review a figure",
        ),
        (
            REVIEWER_KEY,
            "5",
            "reviewed entry 5 is a claim, not a figure",
        ),
        (
            REVIEWER_KEY,
            "9",
            "reviewed entry 9 is not an earlier entry",
        ),
    ] {
        let err = w.fails(2, &["review", "L", "--key", key, target]);
        assert!(err.contains(want), "{want}: {err}");
    }
    assert_eq!(fs::read(w.path("L/entries")).unwrap(), before);
    let out = w.ok(&[
        "review",
        "L",
        "--key",
        REVIEWER_KEY,
        "6",
        "--note",
        "terms checked against the report",
    ]);
    assert!(out.contains("entry 7 (review) appended"), "{out}");
    let err = w.fails(2, &["review", "L", "--key", REVIEWER_KEY, "6"]);
    assert!(
        err.contains("figure 6 was already reviewed with this key at entry 7"),
        "{err}"
    );
    // A reviewer's own figure is not reviewed by its author.
    w.ok(&figure_args("L", REVIEWER_KEY, "Again", "5", "5"));
    let err = w.fails(2, &["review", "L", "--key", REVIEWER_KEY, "8"]);
    assert!(err.contains("signed with this reviewer's own key"), "{err}");

    // The same through import: a line per review, signed with the reviewer's key.
    fs::write(
        w.path("reviews.jsonl"),
        "{\"kind\":\"review\",\"target\":6,\"note\":\"again\"}\n",
    )
    .unwrap();
    let err = w.fails(2, &["import", "L", "--key", REVIEWER_KEY, "reviews.jsonl"]);
    assert!(
        err.contains("already reviewed with this key at entry 7"),
        "{err}"
    );
    let out = w.ok(&["figure", "L", "6"]);
    assert!(out.contains("reviewed by reviewer at entry 7"), "{out}");
    assert!(
        out.contains("today: unchanged"),
        "a review changes nothing: {out}"
    );
    let (_, j) = common::run_json(w.cwd(), &["figure", "L", "6", "--json"]);
    assert_eq!(j["reviewed_by"], serde_json::json!([7]));
    let out = w.ok(&["verify", "L", "--strict"]);
    assert!(
        out.contains("      reviewed by reviewer at entry 7"),
        "{out}"
    );

    // The bundle carries the review; check names it; leaving it out fails completeness,
    // naming the figure.
    w.ok(&[
        "export",
        "L",
        "--figure",
        "6",
        "-o",
        "f6.json",
        "--key",
        OPERATOR_KEY,
    ]);
    let vk = w
        .ok(&["key", "vkey", "keys/operator.pub", "--origin", ORIGIN])
        .trim()
        .to_owned();
    let out = w.ok(&["check", "f6.json", "--trust", &vk]);
    assert!(out.starts_with("VERIFIED: figure 6"), "{out}");
    assert!(out.contains("reviewed by reviewer at entry 7"), "{out}");
    w.ok(&["exhibit", "f6.json", "-o", "f6.html", "--trust", &vk]);
    let html = fs::read_to_string(w.path("f6.html")).unwrap();
    // One wording in figure, verify, check and the exhibit (print::reviewed), the page's with
    // the name in bold.
    assert!(
        html.contains("This figure was reviewed by <b>reviewer</b> at entry 7:"),
        "the exhibit names the reviewer as the terminal commands do"
    );
    let mut b: custody_core::bundle::Bundle =
        serde_json::from_slice(&fs::read(w.path("f6.json")).unwrap()).unwrap();
    // (The reviewer's grant, entry 3, goes too: without the review nothing needs it.)
    b.entries.retain(|e| e.index != 7 && e.index != 3);
    fs::write(
        w.path("cut.json"),
        custody_core::bundle::to_canonical_bytes(&b).unwrap(),
    )
    .unwrap();
    let err = w.fails(1, &["check", "cut.json", "--trust", &vk]);
    assert!(
        err.contains("entry 6: completeness:") && err.contains("entries 7"),
        "{err}"
    );
}
