//! The text rule and the claimed-time range (docs/FORMAT.md, "Text fields" and "Claimed time"):
//! admission refuses every control character in every text field of every body, and any claimed
//! time outside 1970-01-01T00:00:00Z ..= 9999-12-31T23:59:59Z; a ledger that holds one anyway
//! (written past admission) fails `custody verify` at that entry without printing a forged line;
//! and the JSON model and the escaping the printers use never panic and never let a raw control
//! character through, whatever a decodable entry holds.

mod common;

use common::{claim_args, frame_leaf, frames, init_ledger, source_args, Work, RESEARCHER_KEY};
use custody_core::entry::{Body, Content, Entry, KeyId, Qualifier, Role, Sig, SourceKind};
use custody_core::hash::Digest;
use custody_core::json::{rfc3339, EntryJson};
use custody_core::keys::SecretKey;
use custody_core::rules::admission::CLAIMED_TIME_RANGE;
use custody_core::rules::text::{escape_controls, escape_controls_in_json, is_control_char};
use custody_core::rules::{EntryLookup, LogState, LookupError, RuleError, MAX_TEXT};
use custody_core::sign::sign_submission;
use custody_store::frames::encode_frame;
use proptest::prelude::*;
use std::fs;
use std::path::Path;

const ORIGIN: &str = "example.org/text-rules";
const TIME: i64 = 1_760_486_400;
const LAST_TIME: i64 = 253_402_300_799;

/// One of each class the rule refuses: line feed and tab (C0), DEL, a C1 control (CSI, which
/// starts terminal escape sequences), the right-to-left override and the left-to-right isolate.
const HOSTILE: [char; 6] = ['\n', '\t', '\u{7F}', '\u{9B}', '\u{202E}', '\u{2066}'];

fn operator() -> SecretKey {
    SecretKey::from_seed("operator", &[1u8; 32])
}

fn researcher() -> SecretKey {
    SecretKey::from_seed("researcher", &[2u8; 32])
}

/// A log in memory: 0 genesis, 1 grant (researcher), 2 source, 3 claim (count 108), 4 source.
struct Log {
    state: LogState,
    entries: Vec<Entry>,
}

impl EntryLookup for Log {
    fn entry(&self, index: u64) -> Result<Entry, LookupError> {
        self.entries
            .get(usize::try_from(index).unwrap())
            .cloned()
            .ok_or(LookupError::Missing {
                index,
                reason: "is not in this test log".into(),
            })
    }
}

fn genesis(name: &str) -> Body {
    Body::Genesis {
        operator: operator().public().bytes(),
        name: name.into(),
    }
}

fn source(title: &str, publisher: &str, date: &str, locator: Option<&str>) -> Body {
    Body::Source {
        sha256: Digest::of(title.as_bytes()),
        size: 1,
        title: title.into(),
        publisher: publisher.into(),
        date: date.into(),
        kind: SourceKind::NgoReport,
        locator: locator.map(Into::into),
    }
}

fn claim(statement: &str, unit: &str, category: &str, period: &str, place: &str) -> Body {
    Body::Claim {
        statement: statement.into(),
        count: Some(108),
        unit: unit.into(),
        category: category.into(),
        period: period.into(),
        place: place.into(),
        cites: vec![2],
    }
}

fn figure(label: &str, unit: &str) -> Body {
    Body::Figure {
        label: label.into(),
        value: 108,
        qualifier: Qualifier::AtLeast,
        unit: unit.into(),
        terms: vec![3],
    }
}

/// A figure superseding entry 5 (the log's figure).
fn superseding(label: &str, unit: &str) -> Body {
    Body::SupersedingFigure {
        label: label.into(),
        value: 108,
        qualifier: Qualifier::AtLeast,
        unit: unit.into(),
        terms: vec![3],
        supersedes: 5,
    }
}

impl Log {
    fn new() -> Log {
        let mut log = Log {
            state: LogState::default(),
            entries: Vec::new(),
        };
        let re = researcher();
        log.push(&operator(), ORIGIN, TIME, genesis("operator"));
        log.push(
            &operator(),
            ORIGIN,
            TIME,
            Body::KeyGrant {
                key: re.public().bytes(),
                name: "researcher".into(),
                role: Role::Researcher,
            },
        );
        log.push(
            &re,
            ORIGIN,
            TIME,
            source("Report", "NGO", "2024-03", Some("https://example.org/r")),
        );
        log.push(
            &re,
            ORIGIN,
            TIME,
            claim(
                "108 returned",
                "people",
                "forced-repatriation",
                "2024-01",
                "Yanbian",
            ),
        );
        log.push(
            &re,
            ORIGIN,
            TIME,
            source("Second report", "NGO", "2025", None),
        );
        log.push(&re, ORIGIN, TIME, figure("Total", "people"));
        log
    }

    fn content(key: &SecretKey, origin: &str, time: i64, body: Body) -> Content {
        Content {
            origin: origin.into(),
            signer: key.id(),
            claimed_time: time,
            body,
        }
    }

    /// Admits `body` as the next entry, signed by `key` at `time`, without recording it.
    fn admit(&self, key: &SecretKey, time: i64, body: Body) -> Result<(), RuleError> {
        self.state
            .admit(&Log::content(key, ORIGIN, time, body), self)
    }

    /// Admits and records; panics if refused.
    fn push(&mut self, key: &SecretKey, origin: &str, time: i64, body: Body) {
        let content = Log::content(key, origin, time, body);
        self.state.admit(&content, self).unwrap();
        let prev = self.state.head;
        let e = content
            .sign(key.signing_key())
            .unwrap()
            .into_entry(self.state.size, prev);
        let leaf = Digest::leaf(&e.to_bytes().unwrap());
        self.state.apply(&e.content, leaf);
        self.entries.push(e);
    }
}

/// Admission of a genesis (the first entry of an empty log).
fn admit_genesis(origin: &str, time: i64, body: Body) -> Result<(), RuleError> {
    let empty = Log {
        state: LogState::default(),
        entries: Vec::new(),
    };
    empty
        .state
        .admit(&Log::content(&operator(), origin, time, body), &empty)
}

fn code(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// Every text field, as (field name in the error, who signs, body with `bad` in that field). The
/// value carrying `bad` is otherwise valid, so the character is the only thing wrong with it.
fn fields_with(bad: char) -> Vec<(&'static str, bool, Body)> {
    let t = |s: &str| format!("{s}{bad}text");
    let op = true;
    let re = false;
    vec![
        ("key name", op, {
            Body::KeyGrant {
                key: SecretKey::from_seed("other", &[9u8; 32]).public().bytes(),
                name: format!("reviewer{bad}"),
                role: Role::Reviewer,
            }
        }),
        ("reason", op, {
            Body::KeyRevoke {
                key: researcher().id(),
                reason: t("lost"),
            }
        }),
        ("title", re, source(&t("A"), "NGO", "2024", None)),
        ("publisher", re, source("A", &t("NGO"), "2024", None)),
        ("date", re, source("A", "NGO", &format!("2024{bad}"), None)),
        (
            "locator",
            re,
            source("A", "NGO", "2024", Some(&t("https://x"))),
        ),
        ("alias", re, {
            Body::Informant {
                alias: t("Source A"),
                commitment: Digest::of(b"x"),
            }
        }),
        ("statement", re, claim(&t("s"), "people", "c", "2024", "")),
        ("unit", re, claim("s", &t("people"), "c", "2024", "")),
        ("category", re, claim("s", "people", &t("c"), "2024", "")),
        (
            "period",
            re,
            claim("s", "people", "c", &format!("2024{bad}"), ""),
        ),
        (
            "place",
            re,
            claim("s", "people", "c", "2024", &t("Yanbian")),
        ),
        ("label", re, figure(&t("Total"), "people")),
        ("unit", re, figure("Total", &t("people"))),
        ("label", re, superseding(&t("Total"), "people")),
        ("unit", re, superseding("Total", &t("people"))),
        ("statement", re, {
            Body::Correction {
                target: 3,
                count: None,
                statement: Some(t("s")),
                reason: "r".into(),
            }
        }),
        ("reason", re, {
            Body::Correction {
                target: 3,
                count: Some(100),
                statement: None,
                reason: t("r"),
            }
        }),
        ("reason", re, {
            Body::Retraction {
                target: 3,
                reason: t("r"),
            }
        }),
        ("reason", re, {
            Body::Redaction {
                target: 2,
                reason: t("r"),
            }
        }),
        ("reason", re, {
            Body::Cite {
                target: 3,
                cites: vec![4],
                reason: t("r"),
            }
        }),
    ]
}

#[test]
fn every_text_field_refuses_every_class_naming_field_and_character() {
    let log = Log::new();
    for bad in HOSTILE {
        for (field, by_operator, body) in fields_with(bad) {
            let kind = body.kind();
            let key = if by_operator {
                operator()
            } else {
                researcher()
            };
            let e = log
                .admit(&key, TIME, body)
                .expect_err(&format!("{kind} {field} with {} admitted", code(bad)))
                .to_string();
            assert!(
                e.starts_with(&format!("{field} holds control character {}", code(bad))),
                "{kind} {field} with {}: {e}",
                code(bad)
            );
            assert!(!e.chars().any(is_control_char), "{e:?}");
        }
        // Genesis: the operator's name and the origin.
        let e = admit_genesis(ORIGIN, TIME, genesis(&format!("op{bad}x")))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!(
                "operator name holds control character {}",
                code(bad)
            )),
            "{e}"
        );
        let e = admit_genesis(&format!("example.org/{bad}x"), TIME, genesis("operator"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!("origin holds control character {}", code(bad))),
            "{e}"
        );
    }
}

#[test]
fn the_valid_versions_of_those_bodies_are_admitted() {
    // The same bodies with an ordinary character in place of the control: admitted, so each
    // refusal above is the character's doing and nothing else's.
    let log = Log::new();
    for (field, by_operator, body) in fields_with('x') {
        // "2024x" is not a date or a period: replace it with a real one.
        let body = match body {
            Body::Source { .. } if field == "date" => source("A", "NGO", "2024-02-29", None),
            Body::Claim { .. } if field == "period" => {
                claim("s", "people", "c", "2023..2024-06", "")
            }
            // A successor counts the unit of the figure it supersedes.
            Body::SupersedingFigure { .. } if field == "unit" => superseding("Total", "people"),
            b => b,
        };
        let kind = body.kind();
        let key = if by_operator {
            operator()
        } else {
            researcher()
        };
        log.admit(&key, TIME, body)
            .unwrap_or_else(|e| panic!("{kind} {field}: {e}"));
    }
    admit_genesis(ORIGIN, TIME, genesis("operator")).unwrap();
}

#[test]
fn every_other_control_character_and_the_bidi_marks_are_refused_too() {
    let log = Log::new();
    let all = (0u32..=0x1F)
        .chain(0x7F..=0x9F)
        .chain(0x202A..=0x202E)
        .chain(0x2066..=0x2069)
        .chain([0x061C, 0x200E, 0x200F, 0x2028, 0x2029])
        .map(|u| char::from_u32(u).unwrap());
    for c in all {
        let e = log
            .admit(&researcher(), TIME, figure(&format!("a{c}b"), "people"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(&code(c)), "{e}");
    }
}

#[test]
fn ordinary_unicode_is_admitted_in_every_field() {
    let mut log = Log::new();
    let re = researcher();
    let korean = "2024년 1월 연변에서 북한 노동자 108명이 강제 송환되었다";
    let arabic = "أُعيد ١٠٨ عمال قسراً"; // right-to-left script, no bidi controls
    let emoji = "🏳️‍🌈 👩🏽‍⚖️ ✊🏿"; // joiners, variation selectors and skin tones are text
    for text in [
        korean,
        arabic,
        emoji,
        "  leading and trailing spaces  ",
        "a\u{00A0}b",
    ] {
        log.push(
            &re,
            ORIGIN,
            TIME,
            source(text, text, "2024-01-15", Some(text)),
        );
        let src = log.state.size - 1;
        log.push(
            &re,
            ORIGIN,
            TIME,
            Body::Informant {
                alias: text.into(),
                commitment: Digest::of(text.as_bytes()),
            },
        );
        log.push(
            &re,
            ORIGIN,
            TIME,
            Body::Claim {
                statement: text.into(),
                count: Some(1),
                unit: text.into(),
                category: text.into(),
                period: "2024-01".into(),
                place: text.into(),
                cites: vec![src, src + 1],
            },
        );
        let c = log.state.size - 1;
        log.push(
            &re,
            ORIGIN,
            TIME,
            Body::Correction {
                target: c,
                count: Some(2),
                statement: Some(text.into()),
                reason: text.into(),
            },
        );
        log.push(
            &re,
            ORIGIN,
            TIME,
            Body::Figure {
                label: text.into(),
                value: 2,
                qualifier: Qualifier::About,
                unit: text.into(),
                terms: vec![c],
            },
        );
        log.push(
            &re,
            ORIGIN,
            TIME,
            Body::Redaction {
                target: src,
                reason: text.into(),
            },
        );
        let f = log.state.size - 2;
        log.push(
            &re,
            ORIGIN,
            TIME,
            Body::Retraction {
                target: f,
                reason: text.into(),
            },
        );
    }
    admit_genesis(ORIGIN, TIME, genesis("운영자 مشغل 🔑")).unwrap();
}

#[test]
fn the_emptiness_and_length_rules_still_hold() {
    let log = Log::new();
    let re = researcher();
    for (field, body) in [
        ("title", source("", "NGO", "2024", None)),
        ("title", source(" \u{3000} ", "NGO", "2024", None)),
        ("locator", source("A", "NGO", "2024", Some(""))),
        ("statement", claim("  ", "people", "c", "2024", "")),
        ("unit", claim("s", "", "c", "2024", "")),
        ("label", figure("", "people")),
    ] {
        let e = log.admit(&re, TIME, body).unwrap_err().to_string();
        assert_eq!(e, format!("{field} must not be empty"));
    }
    // Place may be empty; a count-less claim may have no unit.
    log.admit(&re, TIME, claim("s", "people", "c", "2024", ""))
        .unwrap();
    let long = "a".repeat(MAX_TEXT + 1);
    let e = log
        .admit(&re, TIME, figure(&long, "people"))
        .unwrap_err()
        .to_string();
    assert_eq!(e, format!("label is longer than {MAX_TEXT} bytes"));
    log.admit(&re, TIME, figure(&long[1..], "people")).unwrap();
}

#[test]
fn claimed_times_outside_the_range_are_refused_for_every_entry() {
    assert_eq!(CLAIMED_TIME_RANGE, 0..=LAST_TIME);
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(LAST_TIME), "9999-12-31T23:59:59Z");
    let log = Log::new();
    for t in [-1, LAST_TIME + 1, i64::MIN, i64::MAX] {
        let e = admit_genesis(ORIGIN, t, genesis("operator"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!("claimed time {t} is outside")),
            "{e}"
        );
        let e = log
            .admit(&researcher(), t, figure("Total", "people"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!("claimed time {t} is outside")),
            "{e}"
        );
        let e = log
            .admit(
                &operator(),
                t,
                Body::KeyRevoke {
                    key: researcher().id(),
                    reason: "lost".into(),
                },
            )
            .unwrap_err()
            .to_string();
        assert!(e.contains(&t.to_string()), "{e}");
    }
    for t in [0, LAST_TIME] {
        admit_genesis(ORIGIN, t, genesis("operator")).unwrap();
        log.admit(&researcher(), t, figure("Total", "people"))
            .unwrap();
    }
}

// ---- a hostile ledger on disk ----

const FORGED: &str = "  checkpoint ok: tree size 9 root 0000000000000000 (checkpoints/forged.txt)";

/// Ledger `L` in `w`, made with the binary: 0 genesis, 1 grant, 2 source, 3 claim (count 3).
fn real_ledger(w: &Work) -> std::path::PathBuf {
    init_ledger(w.cwd(), "L", ORIGIN);
    fs::write(w.path("report.txt"), "a report\n").unwrap();
    w.ok(&source_args("L", RESEARCHER_KEY, "2024", "ngo-report"));
    w.ok(&claim_args(
        "L",
        RESEARCHER_KEY,
        "three returned",
        "3",
        "c",
        "2024",
        "2",
    ));
    w.path("L")
}

/// Signs `body` with the researcher key of `w` at `time` and appends it to `L/entries` as the
/// next entry, framed and chained exactly as custody would, but without admission.
fn append_past_admission(w: &Work, ledger: &Path, time: i64, body: Body) -> u64 {
    let key =
        custody_store::files::load_secret(&w.path(RESEARCHER_KEY), || unreachable!()).unwrap();
    let sub = sign_submission(key.signing_key(), ORIGIN, time, body).unwrap();
    let path = ledger.join("entries");
    let mut bytes = fs::read(&path).unwrap();
    let fr = frames(&bytes);
    let prev = Digest(frame_leaf(&bytes, *fr.last().unwrap()).try_into().unwrap());
    let index = fr.len() as u64;
    let entry = sub.into_entry(index, prev).to_bytes().unwrap();
    bytes.extend_from_slice(&encode_frame(&entry, &Digest::leaf(&entry)));
    fs::write(&path, bytes).unwrap();
    index
}

/// `custody verify L` (and `--json`) fails with exit 1 at `index`, naming `needles`, and no
/// output line is one the hostile entry wrote.
fn verify_fails_cleanly(w: &Work, index: u64, needles: &[&str]) {
    let out = w.run(&["verify", "L"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout {stdout} stderr {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains(&format!("entry {index}")), "{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "{n}: {stderr}");
    }
    for text in [&stdout, &stderr] {
        assert!(
            !text.contains("checkpoint ok"),
            "forged line printed: {text}"
        );
        assert!(
            !text.chars().any(|c| is_control_char(c) && c != '\n'),
            "{text:?}"
        );
    }
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let out = w.run(&["verify", "L", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false, "{v}");
    let json = String::from_utf8(out.stdout).unwrap();
    assert!(!json.contains("checkpoint ok: tree size 9"), "{json}");
}

#[test]
fn a_forged_checkpoint_line_in_a_signed_label_fails_verify_and_is_never_printed() {
    let w = Work::keyed();
    let l = real_ledger(&w);
    let label = format!("Returned\n{FORGED}");
    let body = Body::Figure {
        label: label.clone(),
        value: 3,
        qualifier: Qualifier::AtLeast,
        unit: "people".into(),
        terms: vec![3],
    };
    let i = append_past_admission(&w, &l, TIME, body);
    assert_eq!(i, 4);
    verify_fails_cleanly(&w, 4, &["label", "U+000A"]);
    // Readers replay admission when they open the ledger, so they refuse it too, on one line.
    for cmd in [
        &["log", "L"][..],
        &["show", "L", "4"],
        &["figure", "L", "4"],
    ] {
        let out = w.run(cmd);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{cmd:?}");
        assert_eq!(stderr.lines().count(), 1, "{cmd:?}: {stderr}");
        assert!(
            stderr.contains("entry 4: label holds control character U+000A"),
            "{stderr}"
        );
        assert!(!stderr.contains("\n  checkpoint ok"), "{stderr}");
    }
}

#[test]
fn bidi_override_in_a_statement_and_times_out_of_range_fail_verify() {
    let w = Work::keyed();
    let l = real_ledger(&w);
    let body = Body::Claim {
        statement: "\u{202E}deruter 0 \u{2066}".into(),
        count: Some(1),
        unit: "people".into(),
        category: "c".into(),
        period: "2024".into(),
        place: String::new(),
        cites: vec![2],
    };
    append_past_admission(&w, &l, TIME, body);
    verify_fails_cleanly(&w, 4, &["statement", "U+202E"]);

    for t in [LAST_TIME + 1, i64::MAX, -1, i64::MIN] {
        let w = Work::keyed();
        let l = real_ledger(&w);
        let body = claim("s", "people", "c", "2024", "");
        append_past_admission(&w, &l, t, body);
        verify_fails_cleanly(&w, 4, &["claimed time", &t.to_string()]);
    }
}

#[test]
fn error_lines_are_one_line_whatever_a_file_name_holds() {
    // A hostile directory can name a file anything; the error that quotes it stays one line.
    let w = Work::keyed();
    let name = format!("no-such-ledger\n{FORGED}\u{202E}");
    let out = w.run(&["verify", name.as_str()]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no-such-ledger\\u{000A}"), "{stderr}");
    assert!(stderr.contains("\\u{202E}"), "{stderr}");
    assert!(
        !stderr.chars().any(|c| is_control_char(c) && c != '\n'),
        "{stderr:?}"
    );
}

// ---- properties of the printers' building blocks ----

/// Control characters of every class, for the generators to mix into text.
const CONTROLS: &[char] = &[
    '\0', '\n', '\r', '\t', '\u{1B}', '\u{7F}', '\u{85}', '\u{9B}', '\u{9F}', '\u{061C}',
    '\u{200E}', '\u{200F}', '\u{2028}', '\u{2029}', '\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}',
];

/// Text of any Unicode scalar values, often holding control characters.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => any::<char>(),
            1 => prop::sample::select(CONTROLS),
            1 => prop::sample::select(&['"', '\\', '한', 'ع', '🏳', '\u{200D}', '\u{FE0F}'][..]),
        ],
        0..24,
    )
    .prop_map(String::from_iter)
}

fn arb_u64() -> impl Strategy<Value = u64> {
    prop_oneof![Just(0), Just(u64::MAX), any::<u64>(), 0u64..16]
}

fn arb_body() -> impl Strategy<Value = Body> {
    let refs = || prop::collection::vec(arb_u64(), 0..4);
    prop_oneof![
        (any::<[u8; 32]>(), text()).prop_map(|(operator, name)| Body::Genesis { operator, name }),
        (any::<[u8; 32]>(), text(), 0usize..3).prop_map(|(key, name, r)| Body::KeyGrant {
            key,
            name,
            role: [Role::Researcher, Role::Reviewer, Role::Auditor][r],
        }),
        (any::<[u8; 32]>(), text()).prop_map(|(k, reason)| Body::KeyRevoke {
            key: KeyId(k),
            reason
        }),
        (
            any::<[u8; 32]>(),
            arb_u64(),
            (text(), text(), text()),
            0usize..6,
            prop::option::of(text())
        )
            .prop_map(
                |(h, size, (title, publisher, date), k, locator)| Body::Source {
                    sha256: Digest(h),
                    size,
                    title,
                    publisher,
                    date,
                    kind: SourceKind::ALL[k],
                    locator,
                }
            ),
        (text(), any::<[u8; 32]>()).prop_map(|(alias, c)| Body::Informant {
            alias,
            commitment: Digest(c)
        }),
        (
            (text(), prop::option::of(arb_u64()), text()),
            (text(), text(), text()),
            refs()
        )
            .prop_map(
                |((statement, count, unit), (category, period, place), cites)| Body::Claim {
                    statement,
                    count,
                    unit,
                    category,
                    period,
                    place,
                    cites,
                }
            ),
        (text(), arb_u64(), 0usize..3, text(), refs()).prop_map(
            |(label, value, q, unit, terms)| Body::Figure {
                label,
                value,
                qualifier: [Qualifier::AtLeast, Qualifier::Exactly, Qualifier::About][q],
                unit,
                terms,
            }
        ),
        (
            arb_u64(),
            prop::option::of(arb_u64()),
            prop::option::of(text()),
            text()
        )
            .prop_map(|(target, count, statement, reason)| Body::Correction {
                target,
                count,
                statement,
                reason,
            }),
        (arb_u64(), text()).prop_map(|(target, reason)| Body::Retraction { target, reason }),
        (arb_u64(), text()).prop_map(|(target, reason)| Body::Redaction { target, reason }),
        (text(), arb_u64(), 0usize..3, text(), refs(), arb_u64()).prop_map(
            |(label, value, q, unit, terms, supersedes)| Body::SupersedingFigure {
                label,
                value,
                qualifier: [Qualifier::AtLeast, Qualifier::Exactly, Qualifier::About][q],
                unit,
                terms,
                supersedes,
            }
        ),
        (
            (text(), prop::option::of(arb_u64()), text()),
            (text(), text(), text()),
            (refs(), arb_u64())
        )
            .prop_map(
                |((statement, count, unit), (category, period, place), (cites, repeats))| {
                    Body::RepeatedClaim {
                        statement,
                        count,
                        unit,
                        category,
                        period,
                        place,
                        cites,
                        repeats,
                    }
                }
            ),
        (arb_u64(), arb_u64(), any::<[u8; 32]>()).prop_map(|(size, leaves, r)| {
            Body::StateCommitment {
                size,
                leaves,
                root: Digest(r),
            }
        }),
        (arb_u64(), refs(), text()).prop_map(|(target, cites, reason)| Body::Cite {
            target,
            cites,
            reason
        }),
    ]
}

fn arb_time() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(i64::MIN),
        Just(i64::MAX),
        Just(-1),
        Just(0),
        Just(LAST_TIME),
        Just(LAST_TIME + 1),
        any::<i64>(),
        0..=LAST_TIME,
    ]
}

/// Any entry the decoder accepts: built from arbitrary fields, then encoded and decoded.
fn arb_entry() -> impl Strategy<Value = Entry> {
    (
        arb_u64(),
        any::<[u8; 32]>(),
        text(),
        any::<[u8; 32]>(),
        arb_time(),
        arb_body(),
        prop::collection::vec(any::<u8>(), 64),
    )
        .prop_map(|(index, prev, origin, signer, claimed_time, body, sig)| {
            let e = Entry {
                index,
                prev: Digest(prev),
                content: Content {
                    origin,
                    signer: KeyId(signer),
                    claimed_time,
                    body,
                },
                signature: Sig(sig.try_into().unwrap()),
            };
            Entry::from_bytes(&e.to_bytes().unwrap()).unwrap()
        })
}

/// Every string an entry holds, as a printer would be handed it.
fn strings_of(e: &Entry) -> Vec<String> {
    let mut v = vec![e.content.origin.clone()];
    match &e.content.body {
        Body::Genesis { name, .. } | Body::KeyGrant { name, .. } => v.push(name.clone()),
        Body::KeyRevoke { reason, .. }
        | Body::Retraction { reason, .. }
        | Body::Redaction { reason, .. }
        | Body::Cite { reason, .. } => v.push(reason.clone()),
        Body::Review { note, .. } => v.push(note.clone()),
        Body::Source {
            title,
            publisher,
            date,
            locator,
            ..
        } => {
            v.extend([title.clone(), publisher.clone(), date.clone()]);
            v.extend(locator.clone());
        }
        Body::Informant { alias, .. } => v.push(alias.clone()),
        Body::StateCommitment { .. } => {}
        Body::Claim {
            statement,
            unit,
            category,
            period,
            place,
            ..
        }
        | Body::RepeatedClaim {
            statement,
            unit,
            category,
            period,
            place,
            ..
        } => v.extend([
            statement.clone(),
            unit.clone(),
            category.clone(),
            period.clone(),
            place.clone(),
        ]),
        Body::Figure { label, unit, .. } | Body::SupersedingFigure { label, unit, .. } => {
            v.extend([label.clone(), unit.clone()]);
        }
        Body::Correction {
            statement, reason, ..
        } => {
            v.extend(statement.clone());
            v.push(reason.clone());
        }
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn escaping_never_lets_a_control_character_through(s in text()) {
        let out = escape_controls(&s);
        prop_assert!(!out.chars().any(is_control_char), "{:?}", out);
        // Nothing but the controls changes: removing the escapes of the original's controls
        // gives the original back.
        let mut back = out.to_string();
        for c in s.chars().filter(|&c| is_control_char(c)) {
            back = back.replace(&format!("\\u{{{:04X}}}", u32::from(c)), &c.to_string());
        }
        prop_assert_eq!(back, s.clone());
        prop_assert_eq!(s.chars().any(is_control_char), matches!(out, std::borrow::Cow::Owned(_)));
    }

    #[test]
    fn the_json_model_never_panics_nor_emits_a_raw_control_character(e in arb_entry()) {
        let leaf = Digest::leaf(&e.to_bytes().unwrap());
        let t = rfc3339(e.content.claimed_time);
        prop_assert!(!t.is_empty() && !t.chars().any(is_control_char));
        let state = Log::new().state;
        let v = EntryJson::new(&e, &leaf, &state);
        prop_assert_eq!(&v.claimed_time, &t);
        for pretty in [false, true] {
            let json = if pretty {
                serde_json::to_string_pretty(&v).unwrap()
            } else {
                serde_json::to_string(&v).unwrap()
            };
            if !pretty {
                // serde_json escapes C0 itself: compact JSON is always one line.
                prop_assert!(!json.chars().any(|c| c < ' '), "{}", json);
            }
            let safe = escape_controls_in_json(&json);
            prop_assert!(!safe.chars().any(|c| is_control_char(c) && c != '\n'), "{}", safe);
            let a: serde_json::Value = serde_json::from_str(&json).unwrap();
            let b: serde_json::Value = serde_json::from_str(&safe).unwrap();
            prop_assert_eq!(a, b);
        }
        // And every string a summary or label would print, escaped, stays on one line.
        for s in strings_of(&e) {
            let out = escape_controls(&s);
            prop_assert!(!out.chars().any(is_control_char), "{:?}", out);
        }
    }

    #[test]
    fn admission_refuses_any_text_with_a_control_character(label in text(), unit in text()) {
        let log = Log::new();
        let r = log.admit(&researcher(), TIME, figure(&label, &unit));
        let has_control = |s: &str| s.chars().any(is_control_char);
        if has_control(&label) || has_control(&unit) {
            prop_assert!(r.is_err());
            let e = r.unwrap_err().to_string();
            prop_assert!(e.contains("control character U+") || e.contains("must not be empty"), "{}", e);
        } else if !label.trim().is_empty() && !unit.trim().is_empty() {
            prop_assert!(r.is_ok(), "{:?}", r);
        }
    }
}
