//! Where a claim or figure stands: support (a claim whose every source was retracted is
//! unsupported), and the reports and `verify --strict` built on it.
//!
//! The in-memory logs are built through the library (`sign_submission`, `LogState::admit`,
//! `LogState::apply`), as in tests/figure_dag.rs; the command-line cases drive the binary.

mod common;

use common::{init_ledger, run, Work, RESEARCHER_KEY};
use custody_core::entry::{Body, Entry, Qualifier, Role, SourceKind};
use custody_core::explain;
use custody_core::hash::Digest;
use custody_core::keys::SecretKey;
use custody_core::rules::{EntryLookup, LogState, LookupError, RuleError};
use custody_core::sign::sign_submission;

const ORIGIN: &str = "example.org/standing";
const TIME: i64 = 1_760_486_400;

/// A log in memory: 0 genesis, 1 researcher grant, 2 and 3 sources, 4 an informant.
struct Log {
    state: LogState,
    entries: Vec<Entry>,
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

fn source(n: u8) -> Body {
    Body::Source {
        sha256: Digest::of(&[n]),
        size: 1,
        title: format!("Report {n}"),
        publisher: "NGO".into(),
        date: "2025".into(),
        kind: SourceKind::NgoReport,
        locator: None,
    }
}

fn claim(count: u64, cites: &[u64]) -> Body {
    Body::Claim {
        statement: format!("{count} people were returned"),
        count: Some(count),
        unit: "people".into(),
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

fn retract(target: u64) -> Body {
    Body::Retraction {
        target,
        reason: "withdrawn by its publisher".into(),
    }
}

fn cite(target: u64, cites: &[u64]) -> Body {
    Body::Cite {
        target,
        cites: cites.to_vec(),
        reason: "a second report gives the same count".into(),
    }
}

impl Log {
    fn new() -> Log {
        let operator = SecretKey::from_seed("operator", &[1u8; 32]);
        let researcher = SecretKey::from_seed("researcher", &[2u8; 32]);
        let mut log = Log {
            state: LogState::default(),
            entries: Vec::new(),
            researcher,
        };
        let genesis = Body::Genesis {
            operator: operator.public().bytes(),
            name: "operator".into(),
        };
        let grant = Body::KeyGrant {
            key: log.researcher.public().bytes(),
            name: "researcher".into(),
            role: Role::Researcher,
        };
        log.push_as(&operator, genesis).unwrap();
        log.push_as(&operator, grant).unwrap();
        log.push(source(2)).unwrap();
        log.push(source(3)).unwrap();
        log.push(Body::Informant {
            alias: "Source A".into(),
            commitment: Digest::of(b"commitment"),
        })
        .unwrap();
        log
    }

    fn size(&self) -> u64 {
        self.state.size
    }

    fn sign(&self, key: &SecretKey, body: Body) -> Entry {
        sign_submission(key, ORIGIN, TIME, body)
            .unwrap()
            .into_entry(self.state.size, self.state.head)
    }

    fn record(&mut self, entry: Entry) -> Result<u64, RuleError> {
        self.state.admit(&entry.content, self)?;
        self.state
            .apply(&entry.content, Digest::leaf(&entry.to_bytes().unwrap()));
        self.entries.push(entry);
        Ok(self.state.size - 1)
    }

    fn push_as(&mut self, key: &SecretKey, body: Body) -> Result<u64, RuleError> {
        let entry = self.sign(key, body);
        self.record(entry)
    }

    fn push(&mut self, body: Body) -> Result<u64, RuleError> {
        let entry = self.sign(&self.researcher, body);
        self.record(entry)
    }

    /// The claims beneath `index` that are unsupported today.
    fn unsupported(&self, index: u64) -> Vec<u64> {
        explain::standing(&self.state, self, index, self.size())
            .unwrap()
            .unwrap()
            .unsupported
    }
}

#[test]
fn a_claim_whose_every_source_is_retracted_is_unsupported_and_figures_over_it_say_so() {
    let mut log = Log::new();
    let only_2 = log.push(claim(108, &[2])).unwrap();
    let both = log.push(claim(60, &[2, 4])).unwrap();
    let f = log.push(figure(168, &[only_2, both])).unwrap();
    assert!(log.unsupported(f).is_empty());
    let r = log.push(retract(2)).unwrap();
    // 60 still rests on the informant; 108 rests on nothing live.
    assert_eq!(log.unsupported(f), vec![only_2]);
    assert_eq!(log.unsupported(only_2), vec![only_2]);
    assert!(log.unsupported(both).is_empty());
    // Its value still counts; only its standing says it rests on nothing.
    let st = explain::standing(&log.state, &log, f, log.size())
        .unwrap()
        .unwrap();
    assert_eq!(st.current, Some(168));
    assert!(st.changed_by.is_empty());
    // As of before the retraction it was supported.
    let before = explain::standing(&log.state, &log, f, r).unwrap().unwrap();
    assert!(before.unsupported.is_empty());
}

#[test]
fn a_new_figure_over_an_unsupported_claim_is_refused_directly_or_nested() {
    let mut log = Log::new();
    let c = log.push(claim(108, &[2])).unwrap();
    let d = log.push(claim(5, &[3])).unwrap();
    let f = log.push(figure(113, &[c, d])).unwrap();
    log.push(retract(2)).unwrap();
    let err = log.push(figure(108, &[c])).unwrap_err().to_string();
    assert!(
        err.contains(&format!("term {c} is unsupported")) && err.contains("custody cite"),
        "{err}"
    );
    let err = log.push(figure(113, &[f])).unwrap_err().to_string();
    assert!(
        err.contains(&format!(
            "claim {c}, beneath term {f} ({f} > {c}), is unsupported"
        )),
        "{err}"
    );
    // A figure over the supported claim alone is fine.
    log.push(figure(5, &[d])).unwrap();
}

#[test]
fn re_sourcing_restores_support_and_is_checked() {
    let mut log = Log::new();
    let c = log.push(claim(108, &[2])).unwrap();
    let f = log.push(figure(108, &[c])).unwrap();
    log.push(retract(2)).unwrap();
    assert_eq!(log.unsupported(f), vec![c]);
    // Refused: a retracted source, one already cited, a repeat, a non-source, a non-claim.
    for (body, want) in [
        (cite(c, &[2]), "cited entry 2 was retracted"),
        (cite(c, &[3, 3]), "cited entry 3 appears twice"),
        (cite(c, &[]), "must cite at least one"),
        (cite(c, &[f]), "not a source or informant"),
        (cite(f, &[3]), "not a claim"),
        (cite(99, &[3]), "not an earlier entry"),
    ] {
        let err = log.push(body).unwrap_err().to_string();
        assert!(err.contains(want), "{want}: {err}");
    }
    let re = log.push(cite(c, &[3])).unwrap();
    assert!(log.unsupported(f).is_empty());
    assert_eq!(log.state.amended_by(c), vec![re]);
    let err = log.push(cite(c, &[3])).unwrap_err().to_string();
    assert!(
        err.contains(&format!("claim {c} already cites entry 3")),
        "{err}"
    );
    // The re-sourced claim may be summed again; the value never moved.
    log.push(figure(108, &[c])).unwrap();
    // Re-sourcing changes no value, so it is no change of the figure.
    let st = explain::standing(&log.state, &log, f, log.size())
        .unwrap()
        .unwrap();
    assert!(st.changed_by.is_empty() && !st.is_changed());
    // And once the added source is retracted too, the claim is unsupported again.
    log.push(retract(3)).unwrap();
    assert_eq!(log.unsupported(f), vec![c]);
}

#[test]
fn a_redaction_does_not_make_a_claim_unsupported() {
    let mut log = Log::new();
    let c = log.push(claim(108, &[2])).unwrap();
    let f = log.push(figure(108, &[c])).unwrap();
    log.push(Body::Redaction {
        target: 2,
        reason: "the stored copy named a witness".into(),
    })
    .unwrap();
    assert!(log.unsupported(f).is_empty());
    // A retracted claim counts 0: it is a change, not an unsupported claim.
    log.push(retract(2)).unwrap();
    log.push(retract(c)).unwrap();
    assert!(log.unsupported(f).is_empty());
}

// ---------------------------------------------------------------------------------------------
// The binary: `verify`, `figure` and `verify --strict`.

fn ok(w: &Work, args: &[&str]) -> String {
    w.ok(args)
}

/// `add source L` of `file`, signed by the researcher.
fn add_source(w: &Work, file: &str) {
    std::fs::write(w.path(file), format!("the document {file}\n")).unwrap();
    ok(
        w,
        &[
            "add",
            "source",
            "L",
            "--key",
            RESEARCHER_KEY,
            file,
            "--title",
            file,
            "--publisher",
            "NGO",
            "--date",
            "2025",
            "--kind",
            "ngo-report",
        ],
    );
}

/// `add claim L` counting `count`, citing `sources`.
fn add_claim(w: &Work, statement: &str, count: &str, sources: &str) {
    ok(
        w,
        &[
            "add",
            "claim",
            "L",
            "--key",
            RESEARCHER_KEY,
            "--statement",
            statement,
            "--count",
            count,
            "--category",
            "forced-repatriation",
            "--period",
            "2024",
            "--source",
            sources,
        ],
    );
}

/// `add figure L` summing `terms` to `value`, plus `extra` arguments.
fn add_figure(w: &Work, value: &str, terms: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "add",
        "figure",
        "L",
        "--key",
        RESEARCHER_KEY,
        "--label",
        "Returned",
        "--value",
        value,
        "--qualifier",
        "at-least",
        "--sum",
        terms,
    ];
    args.extend_from_slice(extra);
    run(w.cwd(), &args)
}

/// A ledger L: 2 a source, 3 a claim citing it, 4 a figure over the claim, 5 a second source.
fn ledger() -> Work {
    let w = Work::keyed();
    init_ledger(w.cwd(), "L", "example.org/standing");
    add_source(&w, "a.txt");
    add_claim(&w, "108 returned", "108", "2");
    assert_eq!(add_figure(&w, "108", "3", &[]).status.code(), Some(0));
    add_source(&w, "b.txt");
    w
}

#[test]
fn verify_strict_fails_on_an_unsupported_claim_until_it_is_re_sourced() {
    let w = ledger();
    ok(&w, &["verify", "L", "--strict"]);
    ok(
        &w,
        &[
            "retract",
            "L",
            "--key",
            RESEARCHER_KEY,
            "2",
            "--reason",
            "withdrawn",
        ],
    );
    // Reported without --strict, refused with it.
    let report = ok(&w, &["verify", "L"]);
    assert!(
        report.contains("UNSUPPORTED: claim 3 rests on no live source"),
        "{report}"
    );
    let err = w.fails(1, &["verify", "L", "--strict"]);
    assert!(
        err.contains("entry 4") && err.contains("unsupported claim 3:"),
        "{err}"
    );
    let shown = ok(&w, &["figure", "L", "4"]);
    assert!(
        shown.contains("UNSUPPORTED today: claim 3 rests on"),
        "{shown}"
    );
    let out = add_figure(&w, "108", "3", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("term 3 is unsupported"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ok(
        &w,
        &[
            "cite",
            "L",
            "--key",
            RESEARCHER_KEY,
            "3",
            "--source",
            "5",
            "--reason",
            "report b gives it too",
        ],
    );
    let report = ok(&w, &["verify", "L", "--strict"]);
    assert!(!report.contains("UNSUPPORTED"), "{report}");
    let log = ok(&w, &["log", "L"]);
    assert!(log.contains("re-source 3: cites 5"), "{log}");
}

// ---------------------------------------------------------------------------------------------
// Supersession.

fn superseding(value: u64, terms: &[u64], supersedes: u64) -> Body {
    Body::SupersedingFigure {
        label: "returned (republished)".into(),
        value,
        qualifier: Qualifier::AtLeast,
        unit: "people".into(),
        terms: terms.to_vec(),
        supersedes,
    }
}

fn correct(target: u64, count: u64) -> Body {
    Body::Correction {
        target,
        count: Some(count),
        statement: None,
        reason: "recounted".into(),
    }
}

#[test]
fn a_figure_supersedes_one_earlier_live_figure_of_its_unit() {
    let mut log = Log::new();
    let c = log.push(claim(108, &[2])).unwrap();
    let d = log.push(claim(5, &[3])).unwrap();
    let f = log.push(figure(113, &[c, d])).unwrap();
    let other = log.push(figure(5, &[d])).unwrap();
    let next = log.size();
    for (body, want) in [
        // Itself (the entry it would be), and a later one.
        (
            superseding(113, &[c, d], next),
            format!("superseded entry {next} is not an earlier entry"),
        ),
        (
            superseding(113, &[c, d], next + 3),
            "is not an earlier entry".into(),
        ),
        (
            superseding(113, &[c, d], c),
            format!("superseded entry {c} is a claim, not a figure"),
        ),
        (
            superseding(114, &[c, d], f),
            "does not equal the sum of its terms".into(),
        ),
    ] {
        let err = log.push(body).unwrap_err().to_string();
        assert!(err.contains(&want), "{want}: {err}");
    }
    let mut other_unit = superseding(113, &[c, d], f);
    if let Body::SupersedingFigure { unit, .. } = &mut other_unit {
        *unit = "households".into();
    }
    let err = log.push(other_unit).unwrap_err().to_string();
    assert!(err.contains("supersedes only one of its own unit"), "{err}");

    log.push(correct(c, 107)).unwrap();
    let g = log.push(superseding(112, &[c, d], f)).unwrap();
    let err = log
        .push(superseding(112, &[c, d], f))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("figure {f} was already superseded by figure {g}")),
        "{err}"
    );
    // A superseded figure is no term of a new figure: its successor is.
    let err = log.push(figure(112, &[f])).unwrap_err().to_string();
    assert!(
        err.contains(&format!("term {f} was superseded by figure {g}")),
        "{err}"
    );
    log.push(figure(112, &[g])).unwrap();
    // A retracted figure cannot be superseded.
    log.push(retract(other)).unwrap();
    let err = log
        .push(superseding(5, &[d], other))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("figure {other} was retracted")),
        "{err}"
    );

    let old = explain::standing(&log.state, &log, f, log.size())
        .unwrap()
        .unwrap();
    assert_eq!((old.superseded_by, old.supersedes), (Some(g), None));
    assert_eq!((old.published, old.current), (Some(113), Some(112)));
    let new = explain::standing(&log.state, &log, g, log.size())
        .unwrap()
        .unwrap();
    assert_eq!((new.superseded_by, new.supersedes), (None, Some(f)));
    assert!(!new.is_changed());
    // As of before the successor, nothing superseded it.
    let then = explain::standing(&log.state, &log, f, g).unwrap().unwrap();
    assert_eq!(then.superseded_by, None);
    assert_eq!(explain::successors(&log.state, f, log.size()), vec![g]);
    assert_eq!(log.state.amended_by(f), vec![g]);
}

#[test]
fn verify_strict_passes_once_a_changed_figure_is_superseded_by_one_that_stands() {
    let w = ledger();
    ok(
        &w,
        &[
            "correct",
            "L",
            "--key",
            RESEARCHER_KEY,
            "3",
            "--count",
            "107",
            "--reason",
            "one counted twice",
        ],
    );
    let err = w.fails(1, &["verify", "L", "--strict"]);
    assert!(
        err.contains("entry 4") && err.contains("--supersedes 4"),
        "{err}"
    );
    // A successor must add up today, and names an earlier live figure.
    let out = add_figure(&w, "108", "3", &["--supersedes", "4"]);
    assert_eq!(out.status.code(), Some(2));
    let out = add_figure(&w, "107", "3", &["--supersedes", "9"]);
    assert_eq!(out.status.code(), Some(2));
    let out = add_figure(&w, "107", "3", &["--supersedes", "4"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = ok(&w, &["verify", "L", "--strict"]);
    assert!(
        report.contains(
            "figure 108 (entry 4) superseded by 107 at entry 7; figure 7 stands as published (107)"
        ),
        "{report}"
    );
    let shown = ok(&w, &["figure", "L", "4"]);
    assert!(shown.contains("superseded by 107 at entry 7"), "{shown}");
    let shown = ok(&w, &["figure", "L", "7"]);
    assert!(shown.contains("supersedes figure 4"), "{shown}");
    let (code, j) = common::run_json(w.cwd(), &["figure", "L", "4", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(j["superseded_by"], 7);
    let (_, j) = common::run_json(w.cwd(), &["show", "L", "7", "--json"]);
    assert_eq!(j["body"]["supersedes"], 4);
    assert_eq!(j["kind"], "figure");
    // The successor changes in its turn: --strict fails on it, not on the figure it replaced,
    // until it is superseded too.
    ok(
        &w,
        &[
            "correct",
            "L",
            "--key",
            RESEARCHER_KEY,
            "3",
            "--count",
            "100",
            "--reason",
            "seven more were counted twice",
        ],
    );
    let err = w.fails(1, &["verify", "L", "--strict"]);
    assert!(err.contains("entry 7:"), "{err}");
    let report = ok(&w, &["verify", "L"]);
    assert!(
        report.contains(
            "superseded by 107 at entry 7; figure 7 is 100 now, changed since it was published"
        ),
        "{report}"
    );
    assert_eq!(
        add_figure(&w, "100", "3", &["--supersedes", "7"])
            .status
            .code(),
        Some(0)
    );
    let report = ok(&w, &["verify", "L", "--strict"]);
    assert!(
        report.contains("figure 108 (entry 4) superseded by 107 at entry 7, then superseded by 100 at entry 9; figure 9 stands as published (100)"),
        "{report}"
    );
    // A figure superseded by a retracted figure is not answered for.
    ok(
        &w,
        &[
            "retract",
            "L",
            "--key",
            RESEARCHER_KEY,
            "9",
            "--reason",
            "published in error",
        ],
    );
    let err = w.fails(1, &["verify", "L", "--strict"]);
    assert!(err.contains("entry 7:"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Changed and amended (docs/FORMAT.md): a figure is changed only when its value is; a claim
// when it was amended at all.

fn restate(target: u64) -> Body {
    Body::Correction {
        target,
        count: None,
        statement: Some("the count is the difference between two published totals".into()),
        reason: "the statement said more than the source".into(),
    }
}

#[test]
fn a_statement_correction_leaves_a_figure_amended_and_a_count_correction_changes_it() {
    let mut log = Log::new();
    let c = log.push(claim(108, &[2])).unwrap();
    let d = log.push(claim(50, &[3])).unwrap();
    let f = log.push(figure(158, &[c, d])).unwrap();
    let g = log.push(figure(158, &[f])).unwrap();
    let fix = log.push(restate(c)).unwrap();
    let now = |log: &Log, i: u64| {
        let st = explain::standing(&log.state, log, i, log.size())
            .unwrap()
            .unwrap();
        let status = explain::status(&log.state, log, i, log.size(), Some(&st)).unwrap();
        (st, status)
    };
    // The claim itself no longer reads as signed: changed, whatever its count.
    let (st, status) = now(&log, c);
    assert_eq!((st.published, st.current), (Some(108), Some(108)));
    assert!(st.is_changed() && !st.is_amended(), "{st:?}");
    assert_eq!(status, explain::Status::Changed);
    // The figures over it, directly and nested, keep their value: amended, naming the entry.
    for i in [f, g] {
        let (st, status) = now(&log, i);
        assert_eq!(st.changed_by, vec![fix]);
        assert!(!st.is_changed() && st.is_amended(), "{st:?}");
        assert_eq!(status, explain::Status::Amended);
        assert_eq!(
            status.headline(),
            "VERIFIED — AMENDED BENEATH, VALUE UNCHANGED"
        );
    }
    // An untouched claim stays current.
    assert_eq!(now(&log, d).1, explain::Status::Current);
    // A count correction moves the value: changed, with both amendments named.
    let recount = log.push(correct(d, 49)).unwrap();
    for i in [f, g] {
        let (st, status) = now(&log, i);
        assert_eq!(st.current, Some(157));
        assert_eq!(st.changed_by, vec![fix, recount]);
        assert!(st.is_changed() && !st.is_amended(), "{st:?}");
        assert_eq!(status, explain::Status::Changed);
    }
    // Corrected back to its signed count, the value is as published again: amended.
    let back = log.push(correct(d, 50)).unwrap();
    let (st, status) = now(&log, f);
    assert_eq!(st.changed_by, vec![fix, recount, back]);
    assert_eq!(status, explain::Status::Amended);
}

#[test]
fn verify_strict_passes_on_a_figure_amended_beneath_and_check_says_so() {
    let w = ledger();
    ok(
        &w,
        &[
            "correct",
            "L",
            "--key",
            RESEARCHER_KEY,
            "3",
            "--statement",
            "108 returned, as the first report gives it",
            "--reason",
            "the statement named the wrong report",
        ],
    );
    // Entry 6 corrected claim 3's statement; its count, and figure 4's value, are unchanged.
    let report = ok(&w, &["verify", "L", "--strict"]);
    assert!(
        report.contains("amended beneath, value unchanged: published 108, today 108 (entry 6)"),
        "{report}"
    );
    assert!(!report.contains("changed since publication"), "{report}");
    let shown = ok(&w, &["figure", "L", "4"]);
    assert!(
        shown.contains("amended beneath, value unchanged"),
        "{shown}"
    );
    let (_, j) = common::run_json(w.cwd(), &["figure", "L", "4", "--json"]);
    assert_eq!(
        (j["published"].as_u64(), j["current"].as_u64()),
        (Some(108), Some(108))
    );
    assert_eq!(j["changed_by"], serde_json::json!([6]));

    ok(&w, &["checkpoint", "L", "--key", common::OPERATOR_KEY]);
    let vk = ok(
        &w,
        &[
            "key",
            "vkey",
            "keys/operator.pub",
            "--origin",
            "example.org/standing",
        ],
    );
    let vk = vk.trim();
    ok(&w, &["export", "L", "--figure", "4", "-o", "f4.json"]);
    ok(&w, &["export", "L", "--entry", "3", "-o", "c3.json"]);
    let out = ok(&w, &["check", "f4.json", "--trust", vk]);
    assert!(
        out.starts_with("VERIFIED — AMENDED BENEATH, VALUE UNCHANGED"),
        "{out}"
    );
    assert!(
        out.contains("value unchanged, amended beneath by entry 6"),
        "{out}"
    );
    let (code, j) = common::run_json(w.cwd(), &["check", "f4.json", "--trust", vk, "--json"]);
    assert_eq!(code, 0, "{j:#}");
    assert_eq!(j["status"], serde_json::json!({"kind": "amended"}));
    // The claim itself was corrected: changed.
    let out = ok(&w, &["check", "c3.json", "--trust", vk]);
    assert!(
        out.starts_with("VERIFIED — CHANGED SINCE PUBLICATION"),
        "{out}"
    );
    let (_, j) = common::run_json(w.cwd(), &["check", "c3.json", "--trust", vk, "--json"]);
    assert_eq!(j["status"], serde_json::json!({"kind": "changed"}));

    // A count correction changes the figure's value: --strict fails on it again.
    ok(
        &w,
        &[
            "correct",
            "L",
            "--key",
            RESEARCHER_KEY,
            "3",
            "--count",
            "107",
            "--reason",
            "one counted twice",
        ],
    );
    let err = w.fails(1, &["verify", "L", "--strict"]);
    assert!(
        err.contains("entry 4") && err.contains("published as 108 but is 107"),
        "{err}"
    );
}
