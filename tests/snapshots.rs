//! Snapshots of what people read: the `--help` of the main commands and the main outputs
//! (`verify`, `check`, `exhibit`'s report and the exhibit page's first lines as text) on the
//! bundled sample, so that every change of wording shows up as a reviewed diff
//! (`cargo insta review`, or `INSTA_UPDATE=always cargo test --test snapshots` and read the
//! `.snap` diffs). Times, durations, temporary paths and byte counts are redacted.

mod common;

use std::fs;
use std::path::Path;

const ORIGIN: &str = "example.org/nk-repatriation";

/// Redactions: whatever differs from one run or machine to the next.
fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path("snapshots");
    s.set_prepend_module_to_snapshot(false);
    s.add_filter(r"\(\d+\.\d+ ms\)", "([MS] ms)");
    s.add_filter(r"/tmp/[^\s)]+", "[TMP]");
    s.add_filter(r"\(\d+ bytes\)", "([N] bytes)");
    s
}

fn stdout(cwd: &Path, args: &[&str]) -> String {
    let out = common::run(cwd, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "custody {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn help_of_the_main_commands() {
    let tmp = tempfile::tempdir().unwrap();
    let settings = settings();
    for cmd in [
        &[][..],
        &["init"],
        &["add"],
        &["add", "figure"],
        &["verify"],
        &["export"],
        &["check"],
        &["exhibit"],
        &["key"],
    ] {
        let mut args: Vec<&str> = cmd.to_vec();
        args.push("--help");
        let name = if cmd.is_empty() {
            "help".to_string()
        } else {
            format!("help-{}", cmd.join("-"))
        };
        settings.bind(|| insta::assert_snapshot!(name, stdout(tmp.path(), &args)));
    }
}

/// A copy of the sample ledger with its public keys, and the sample vkey.
fn sample() -> (tempfile::TempDir, String) {
    let dir = common::sample_copy();
    common::copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("keys"),
        &dir.path().join("keys"),
    );
    let vk = stdout(
        dir.path(),
        &["key", "vkey", "keys/operator.pub", "--origin", ORIGIN],
    )
    .trim()
    .to_string();
    (dir, vk)
}

#[test]
fn main_outputs_on_the_sample() {
    let (dir, vk) = sample();
    let d = dir.path();
    let settings = settings();
    settings.bind(|| {
        insta::assert_snapshot!(
            "verify",
            stdout(
                d,
                &["verify", "ledger", "--tsa-cert", "keys/sample-tsa-root.pem"]
            )
        );
        insta::assert_snapshot!(
            "check",
            stdout(
                d,
                &[
                    "check",
                    "ledger/bundles/figure-406.json",
                    "--trust",
                    &vk,
                    "--tsa-cert",
                    "keys/sample-tsa-root.pem",
                ]
            )
        );
    });
    // A fresh bundle carries the sample's time-stamp token.
    stdout(
        d,
        &["export", "ledger", "--figure", "27", "-o", "f406.json"],
    );
    let report = stdout(
        d,
        &[
            "exhibit",
            "f406.json",
            "-o",
            "f406.html",
            "--trust",
            &vk,
            "--tsa-cert",
            "keys/sample-tsa-root.pem",
            "--exhibit-id",
            "C-12",
            "--case",
            "ICC-01/26",
        ],
    );
    let html = fs::read_to_string(d.join("f406.html")).unwrap();
    let mut s = settings;
    // The page's production time (the clock) and the tool's version.
    s.add_filter(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ with custody",
        "[PRODUCED] with custody",
    );
    s.add_filter(
        r"custody \d+\.\d+\.\d+[^ ]* at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
        "custody [VERSION] at [PRODUCED]",
    );
    s.add_filter(r"with custody \d+\.\d+\.\d+[^ ]*", "with custody [VERSION]");
    s.bind(|| {
        insta::assert_snapshot!("exhibit-report", report);
        insta::assert_snapshot!("exhibit-first-lines", first_lines(&html));
    });
}

/// The page up to its detailed sections, as text: tags dropped, block ends made line breaks,
/// entities decoded (the words a reader sees first, in order).
fn first_lines(html: &str) -> String {
    let body = &html[html.find("<body>").unwrap()..];
    let head = &body[..body.find("<h2>Details of the check").unwrap()];
    let mut out = String::new();
    let mut rest = head;
    while let Some(a) = rest.find('<') {
        out.push_str(&rest[..a]);
        let b = a + rest[a..].find('>').unwrap();
        let tag = &rest[a + 1..b];
        if ["/p", "/h1", "/h2", "/li", "/tr", "/div", "/table"]
            .iter()
            .any(|t| tag.starts_with(t))
        {
            out.push('\n');
        } else if tag.starts_with("/td") || tag.starts_with("/th") {
            out.push_str(" | ");
        } else if tag.starts_with("li") {
            out.push_str("- ");
        }
        rest = &rest[b + 1..];
    }
    out.push_str(rest);
    let text = out
        .replace("&ldquo;", "\u{201c}")
        .replace("&rdquo;", "\u{201d}")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}
