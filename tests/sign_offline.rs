//! `custody sign` makes every body a researcher signs (source, informant, claim, figure,
//! correction, retraction) offline, with no ledger; `append` then applies the same rules as
//! `add`. A figure whose sum is wrong is refused at append, naming the figure, and leaves the
//! ledger untouched.

mod common;

use common::{init_ledger, Work, RESEARCHER_KEY};
use std::fs;

const ORIGIN: &str = "example.org/offline";

fn sign(w: &Work, kind: &str, out: &str, rest: &[&str]) {
    let mut args = vec![
        "sign",
        kind,
        "--key",
        RESEARCHER_KEY,
        "--origin",
        ORIGIN,
        "-o",
        out,
    ];
    args.extend_from_slice(rest);
    let said = w.ok(&args);
    assert!(
        said.starts_with(&format!("signed {kind} submission")),
        "{said}"
    );
}

#[test]
fn every_researcher_body_can_be_signed_offline_and_appended() {
    let w = Work::keyed();
    init_ledger(w.cwd(), "L", ORIGIN); // 0 genesis, 1 grant
    fs::write(w.path("report.txt"), "a report\n").unwrap();
    sign(
        &w,
        "source",
        "2.cust",
        &[
            "report.txt",
            "--title",
            "Report",
            "--publisher",
            "NGO",
            "--date",
            "2025-10-15",
            "--kind",
            "ngo-report",
        ],
    );
    sign(
        &w,
        "claim",
        "3.cust",
        &[
            "--statement",
            "108 returned",
            "--count",
            "108",
            "--category",
            "forced-repatriation",
            "--period",
            "2024",
            "--source",
            "2",
        ],
    );
    sign(
        &w,
        "claim",
        "4.cust",
        &[
            "--statement",
            "60 returned",
            "--count",
            "60",
            "--category",
            "forced-repatriation",
            "--period",
            "2024",
            "--source",
            "2",
        ],
    );
    sign(
        &w,
        "figure",
        "5.cust",
        &[
            "--label",
            "Returned",
            "--value",
            "168",
            "--qualifier",
            "at-least",
            "--sum",
            "3,4",
        ],
    );
    sign(
        &w,
        "correction",
        "6.cust",
        &["4", "--count", "59", "--reason", "a duplicate"],
    );
    sign(
        &w,
        "retraction",
        "7.cust",
        &["3", "--reason", "source withdrawn"],
    );
    for (i, kind) in [
        (2, "source"),
        (3, "claim"),
        (4, "claim"),
        (5, "figure"),
        (6, "correction"),
        (7, "retraction"),
    ] {
        let f = format!("{i}.cust");
        let shown = w.ok(&["show", &f]);
        assert!(shown.contains(kind), "{shown}");
        let said = w.ok(&["append", "L", &f]);
        assert!(
            said.contains(&format!("entry {i} ({kind}) appended")),
            "{said}"
        );
    }
    let v = w.ok(&["verify", "L"]);
    assert!(v.starts_with("OK: "), "{v}");
    let fig = w.ok(&["figure", "L", "5"]);
    assert!(fig.contains("published: at-least 168"), "{fig}");
}

#[test]
fn a_figure_signed_offline_with_a_wrong_sum_is_refused_at_append() {
    let w = Work::keyed();
    init_ledger(w.cwd(), "L", ORIGIN);
    fs::write(w.path("report.txt"), "a report\n").unwrap();
    sign(
        &w,
        "source",
        "2.cust",
        &[
            "report.txt",
            "--title",
            "Report",
            "--publisher",
            "NGO",
            "--date",
            "2025-10-15",
            "--kind",
            "ngo-report",
        ],
    );
    sign(
        &w,
        "claim",
        "3.cust",
        &[
            "--statement",
            "108 returned",
            "--count",
            "108",
            "--category",
            "forced-repatriation",
            "--period",
            "2024",
            "--source",
            "2",
        ],
    );
    w.ok(&["append", "L", "2.cust"]);
    w.ok(&["append", "L", "3.cust"]);
    sign(
        &w,
        "figure",
        "bad.cust",
        &[
            "--label",
            "Returned",
            "--value",
            "109",
            "--qualifier",
            "exactly",
            "--sum",
            "3",
        ],
    );
    let before = fs::read(w.path("L/entries")).unwrap();
    // A refused submission is bad input (exit 2), not failed evidence.
    let e = w.fails(2, &["append", "L", "bad.cust"]);
    assert!(
        e.contains("figure value 109 does not equal the sum of its terms, 108"),
        "{e}"
    );
    assert_eq!(fs::read(w.path("L/entries")).unwrap(), before);
}
