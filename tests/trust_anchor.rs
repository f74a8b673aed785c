//! Trust anchors: a replay alone shows only that a ledger agrees with itself, so a look-alike
//! rebuilt under the same origin with another operator key replays just as well. `verify
//! --trust VKEY` and `verify --operator KEY_ID` tell the two apart (exit 1 on a mismatch), and
//! without either the report says it checked self-consistency only; an exhibit made without
//! `--trust` says so before its title. Also: new passphrases are never empty and are typed twice,
//! a wrong one from `CUSTODY_PASSPHRASE` says where it came from, and a checkpoint file name a
//! hostile directory chose is printed escaped, never as a line of its own.

mod common;

use common::{custody, init_ledger, run_json, snapshot, Work, OPERATOR_KEY, RESEARCHER_KEY};
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

const ORIGIN: &str = "example.org/trust-anchor";

/// The sample ledger's verifier key (docs/SAMPLE.md) and its operator key id.
const SAMPLE_VKEY: &str =
    "example.org/nk-repatriation+f9a145b3+AX+BZNE5rg7MKWCbianZPfm2rLq5uUZBe1x8lRM5eayA";
const SAMPLE_OPERATOR: &str = "21e0e44241a59a8af08a458679a752885971fe783785d7a85607aa48b19b3cdb";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

use common::sample_copy as sample;

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

/// Runs `custody args` in `cwd`: exit code, stdout, stderr. Never a panic.
fn run(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let out = common::run(cwd, args);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    (out.status.code().unwrap(), stdout, stderr)
}

/// `verify` with `flags`, expecting it to pass: its stdout.
fn verified(cwd: &Path, ledger: &str, flags: &[&str]) -> String {
    let mut args = vec!["verify", ledger];
    args.extend(flags);
    let (code, stdout, stderr) = run(cwd, &args);
    assert_eq!(code, 0, "{args:?}: {stderr}");
    stdout
}

/// The second line of a verify report, where it says what the ledger was checked against.
fn trust_line(report: &str) -> &str {
    let mut lines = report.lines();
    assert!(lines.next().unwrap().starts_with("OK: ledger "), "{report}");
    lines.next().unwrap()
}

/// A validator for docs/schemas/verify.schema.json, with its sibling schemas for `$ref`s (as
/// tests/json_schema.rs builds them, offline).
fn verify_schema() -> jsonschema::Validator {
    let dir = repo().join("docs/schemas");
    let uri = |name: &str| format!("file://{}/{name}", dir.display());
    let mut schemas = Vec::new();
    for e in fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let v: Value = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
        schemas.push((name, v));
    }
    let registry = jsonschema::Registry::new()
        .extend(schemas.iter().map(|(n, v)| (uri(n), v.clone())))
        .unwrap()
        .prepare()
        .unwrap();
    let verify = &schemas
        .iter()
        .find(|(n, _)| n == "verify.schema.json")
        .unwrap()
        .1;
    jsonschema::draft202012::options()
        .with_registry(&registry)
        .with_base_uri(uri("verify.schema.json"))
        .build(verify)
        .unwrap()
}

#[test]
fn the_sample_verifies_against_its_published_key_and_operator_id() {
    let tmp = sample();
    let cwd = tmp.path();
    let (code, v) = run_json(cwd, &["verify", "ledger", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(v["vkey"], SAMPLE_VKEY);
    assert_eq!(v["signers"][0]["signer"]["key_id"], SAMPLE_OPERATOR);
    assert_eq!(v["trust"], json!({"anchor": null, "matched": false}));
    let schema = verify_schema();
    assert!(schema.is_valid(&v));
    // The schema ties `matched` to `anchor`: no anchor never matched; a report with one did.
    for trust in [
        json!({"anchor": null, "matched": true}),
        json!({"anchor": "vkey", "matched": false}),
        json!({"anchor": "operator", "matched": false}),
        json!({"anchor": "key", "matched": true}),
    ] {
        let mut b = v.clone();
        b["trust"] = trust;
        assert!(!schema.is_valid(&b), "{}", b["trust"]);
    }

    let short = &SAMPLE_OPERATOR[..16];
    let upper = SAMPLE_OPERATOR.to_ascii_uppercase();
    for (flags, anchor) in [
        (["--trust", SAMPLE_VKEY], "vkey"),
        (["--operator", short], "operator"),
        (["--operator", SAMPLE_OPERATOR], "operator"),
        (["--operator", upper.as_str()], "operator"),
    ] {
        let report = verified(cwd, "ledger", &flags);
        assert_eq!(
            trust_line(&report),
            format!(
                "  trust:   operator key matches the trusted key ({})",
                flags[0]
            ),
            "{flags:?}"
        );
        assert!(!report.contains("self-consistency only"), "{report}");
        let mut args = vec!["verify", "ledger", "--json"];
        args.extend(flags);
        let (code, v) = run_json(cwd, &args);
        assert_eq!(code, 0, "{args:?}");
        assert_eq!(v["ok"], true);
        assert_eq!(v["trust"], json!({"anchor": anchor, "matched": true}));
        assert!(schema.is_valid(&v), "{args:?}");
    }
}

#[test]
fn without_an_anchor_the_report_claims_self_consistency_only_and_shows_the_key() {
    let tmp = sample();
    let report = verified(tmp.path(), "ledger", &[]);
    let line = trust_line(&report);
    assert!(
        line.starts_with("  trust:   self-consistency only: no --trust or --operator given"),
        "{report}"
    );
    assert!(line.contains("compare this verifier key with the one the operator published"));
    assert!(line.ends_with(SAMPLE_VKEY), "{line}");
}

/// A work dir with ledger `L` (operator key, origin [`ORIGIN`]) and its look-alike `L2`: the
/// same origin, the same kind of entries, another operator key. Returns L's vkey and operator
/// key id.
fn look_alike(w: &Work) -> (String, String) {
    init_ledger(w.cwd(), "L", ORIGIN);
    w.ok(&["key", "new", "other-op"]);
    w.ok(&[
        "init",
        "L2",
        "--origin",
        ORIGIN,
        "--key",
        "keys/other-op.key",
    ]);
    w.ok(&[
        "key",
        "grant",
        "L2",
        "--key",
        "keys/other-op.key",
        "--pub",
        "keys/researcher.pub",
        "--role",
        "researcher",
    ]);
    let (code, v) = run_json(w.cwd(), &["verify", "L", "--json"]);
    assert_eq!(code, 0);
    let vkey = v["vkey"].as_str().unwrap().to_string();
    let id = v["signers"][0]["signer"]["key_id"]
        .as_str()
        .unwrap()
        .to_string();
    (vkey, id)
}

#[test]
fn a_look_alike_ledger_under_the_same_origin_fails_against_the_real_operator_key() {
    let w = Work::keyed();
    let (vkey, id) = look_alike(&w);
    let cwd = w.cwd();
    // The real ledger passes against its own key.
    verified(cwd, "L", &["--trust", &vkey]);
    verified(cwd, "L", &["--operator", &id]);
    // The look-alike is consistent with itself, and the report says that is all it checked.
    let report = verified(cwd, "L2", &[]);
    assert!(
        trust_line(&report).contains("self-consistency only"),
        "{report}"
    );
    let (_, v2) = run_json(cwd, &["verify", "L2", "--json"]);
    let vkey2 = v2["vkey"].as_str().unwrap().to_string();
    assert_ne!(vkey, vkey2);
    assert_eq!(
        vkey.split('+').next(),
        vkey2.split('+').next(),
        "same origin"
    );

    for flags in [
        ["--trust", vkey.as_str()],
        ["--operator", id.as_str()],
        ["--operator", &id[..16]],
    ] {
        let mut args = vec!["verify", "L2"];
        args.extend(flags);
        let (code, stdout, stderr) = run(cwd, &args);
        assert_eq!(code, 1, "{args:?}: {stdout} {stderr}");
        assert!(!stdout.contains("OK"), "{stdout}");
        assert!(
            stderr.starts_with("custody: verification FAILED: the ledger's operator key"),
            "{stderr}"
        );
        assert!(stderr.contains("is not the trusted key"), "{stderr}");
        assert!(stderr.contains(flags[1]), "names the trusted key: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");

        args.push("--json");
        let (code, v) = run_json(cwd, &args);
        assert_eq!(code, 1, "{args:?}");
        assert_eq!(v["ok"], false, "{v:#}");
        assert_eq!(v["error"]["entry"], 0, "{v:#}");
        let reason = v["error"]["reason"].as_str().unwrap();
        assert!(reason.contains("is not the trusted key"), "{reason}");
        assert!(reason.contains(flags[1]), "{reason}");
        assert_eq!(v.as_object().unwrap().len(), 2, "the failure shape: {v:#}");
        assert!(verify_schema().is_valid(&v), "{v:#}");
    }
    // The look-alike's operator key, in either form, is named in the --trust failure.
    let (_, _, stderr) = run(cwd, &["verify", "L2", "--trust", &vkey]);
    assert!(stderr.contains(&vkey2), "{stderr}");
}

#[test]
fn the_same_key_under_another_origin_is_not_the_trusted_log() {
    let w = Work::keyed();
    init_ledger(w.cwd(), "L", ORIGIN);
    init_ledger(w.cwd(), "M", "example.org/another-log");
    let (_, v) = run_json(w.cwd(), &["verify", "L", "--json"]);
    let vkey = v["vkey"].as_str().unwrap();
    let (code, _, stderr) = run(w.cwd(), &["verify", "M", "--trust", vkey]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("origin"), "{stderr}");
    // --operator trusts the key alone, whatever the origin.
    let id = v["signers"][0]["signer"]["key_id"].as_str().unwrap();
    verified(w.cwd(), "M", &["--operator", id]);
}

#[test]
fn a_malformed_anchor_is_a_usage_error() {
    let tmp = sample();
    let cwd = tmp.path();
    for flags in [
        &["--trust", "not-a-vkey"][..],
        &["--operator", "c6be6c66"],
        &["--operator", "zz65a858480678e9"],
        &["--operator", &SAMPLE_OPERATOR[..63]],
        &["--operator", &SAMPLE_OPERATOR[..16], "--trust", SAMPLE_VKEY],
    ] {
        let mut args = vec!["verify", "ledger"];
        args.extend(flags);
        let (code, stdout, stderr) = run(cwd, &args);
        assert_eq!(code, 2, "{args:?}: {stdout} {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        args.push("--json");
        let (code, stdout, _) = run(cwd, &args);
        assert_eq!(code, 2);
        assert!(stdout.is_empty(), "no verdict for a usage error: {stdout}");
    }
}

const SELF_KEYED_WARNING: &str =
    "Warning: this page was checked only against the log key written inside the bundle itself";

#[test]
fn an_exhibit_without_trust_says_so_before_its_title() {
    let tmp = sample();
    let cwd = tmp.path();
    let bundle = "ledger/bundles/figure-406.json";
    let (code, stdout, stderr) = run(cwd, &["exhibit", bundle, "-o", "self.html"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("checked only against the log key inside the bundle"));
    let html = fs::read_to_string(cwd.join("self.html")).unwrap();
    let warning = html.find(SELF_KEYED_WARNING).expect("the warning");
    let title = html.find("<h1>").expect("a title");
    let result = html.find("Result of the check").expect("the result box");
    assert!(warning < title && title < result, "warning, title, result");
    assert!(html[warning..title].contains("proves nothing until that key is compared"));
    assert!(html[warning..title].contains(SAMPLE_VKEY));
    assert!(html.contains("<title>Exhibit (log key not checked): "));

    let (code, stdout, stderr) = run(
        cwd,
        &[
            "exhibit",
            bundle,
            "-o",
            "trusted.html",
            "--trust",
            SAMPLE_VKEY,
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("checked against the trusted key"),
        "{stdout}"
    );
    let html = fs::read_to_string(cwd.join("trusted.html")).unwrap();
    assert!(!html.contains(SELF_KEYED_WARNING));
    assert!(!html.contains("written in the bundle itself"));
    let anchor = html.find("Checked against the log key").expect("the key");
    let title = html.find("<h1>").unwrap();
    assert!(anchor < title);
    assert!(html[anchor..title].contains(SAMPLE_VKEY));
}

/// Runs `custody args` in `w` with `CUSTODY_PASSPHRASE` set to `pass`.
fn with_passphrase(w: &Work, args: &[&str], pass: &str) -> Output {
    custody(w.cwd())
        .args(args)
        .env("CUSTODY_PASSPHRASE", pass)
        .output()
        .unwrap()
}

#[test]
fn an_empty_new_passphrase_is_refused_and_writes_nothing() {
    let w = Work::keyed();
    let out = with_passphrase(&w, &["key", "new", "enc", "--encrypt"], "");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("empty passphrase"), "{stderr}");
    assert!(stderr.contains("CUSTODY_PASSPHRASE"), "{stderr}");
    assert!(!w.path("keys/enc.key").exists());
    assert!(!w.path("keys/enc.pub").exists());

    // Sealing an informant's identity with an empty passphrase: no seal, no entry.
    init_ledger(w.cwd(), "L", ORIGIN);
    fs::write(w.path("who.txt"), "Kim Chol-su\n").unwrap();
    let before = snapshot(&w.path("L"));
    let seal = [
        "add",
        "informant",
        "L",
        "--key",
        RESEARCHER_KEY,
        "--alias",
        "Source A",
        "--identity-file",
        "who.txt",
        "--seal",
        "sealed/a.seal",
        "--encrypt",
    ];
    let out = with_passphrase(&w, &seal, "");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("empty passphrase"));
    assert!(!w.path("sealed/a.seal").exists());
    assert!(before == snapshot(&w.path("L")), "the ledger changed");
    let mut offline = vec![
        "sign",
        "informant",
        "--key",
        RESEARCHER_KEY,
        "--origin",
        ORIGIN,
        "-o",
        "a.cust",
    ];
    offline.extend(&seal[5..]);
    let out = with_passphrase(&w, &offline, "");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(!w.path("sealed/a.seal").exists());
    assert!(!w.path("a.cust").exists());

    // A real passphrase works.
    let out = with_passphrase(&w, &seal, "correct horse");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(w.path("sealed/a.seal").exists());
}

#[test]
fn a_wrong_passphrase_from_the_environment_says_where_it_came_from() {
    let w = Work::keyed();
    let out = with_passphrase(&w, &["key", "new", "enc", "--encrypt"], "right");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let init = ["init", "L", "--origin", ORIGIN, "--key", "keys/enc.key"];
    let out = with_passphrase(&w, &init, "wrong");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("wrong passphrase"), "{stderr}");
    assert!(
        stderr.contains("environment variable CUSTODY_PASSPHRASE"),
        "{stderr}"
    );
    assert!(stderr.contains("keys/enc.key"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!w.path("L").exists());
    let out = with_passphrase(&w, &init, "right");
    assert!(out.status.success(), "{}", text(&out.stderr));

    // A seal file too.
    fs::write(w.path("who.txt"), "Kim Chol-su\n").unwrap();
    let grant = [
        "key",
        "grant",
        "L",
        "--key",
        "keys/enc.key",
        "--pub",
        "keys/researcher.pub",
        "--role",
        "researcher",
    ];
    assert!(with_passphrase(&w, &grant, "right").status.success());
    let seal = [
        "add",
        "informant",
        "L",
        "--key",
        RESEARCHER_KEY,
        "--alias",
        "Source A",
        "--identity-file",
        "who.txt",
        "--seal",
        "a.seal",
        "--encrypt",
    ];
    assert!(with_passphrase(&w, &seal, "right").status.success());
    let out = with_passphrase(&w, &["disclose", "a.seal"], "wrong");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains("environment variable CUSTODY_PASSPHRASE"),
        "{stderr}"
    );
    let out = with_passphrase(&w, &["disclose", "a.seal"], "right");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("alias Source A"));
}

/// `script` (util-linux) runs a command on a pseudo-terminal and feeds it our standard input,
/// which is the one way to test the prompt without a pty crate. Absent, the test says so.
fn on_a_terminal(w: &Work, command: &str, input: &str) -> Option<Output> {
    let probe = std::process::Command::new("script")
        .arg("--version")
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: no `script` to run custody on a pseudo-terminal");
        return None;
    }
    let bin = common::bin();
    let line = format!("'{}' {command}", bin.display());
    let out = assert_cmd::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .current_dir(w.cwd())
        .env_remove("CUSTODY_PASSPHRASE")
        .env(
            "CUSTODY_CACHE_DIR",
            std::env::temp_dir().join("custody-test-cache"),
        )
        .write_stdin(input)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    Some(out)
}

#[test]
fn a_new_passphrase_typed_at_the_terminal_is_asked_twice() {
    let w = Work::keyed();
    let Some(out) = on_a_terminal(&w, "key new twice --encrypt", "pw-1\npw-1\n") else {
        return;
    };
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("New passphrase for twice.key"), "{all}");
    assert!(all.contains("The same passphrase again"), "{all}");
    assert!(w.path("keys/twice.key").exists());
    // It opens with what was typed, and only with that.
    let init = ["init", "L", "--origin", ORIGIN, "--key", "keys/twice.key"];
    assert_eq!(with_passphrase(&w, &init, "pw-2").status.code(), Some(2));
    assert!(with_passphrase(&w, &init, "pw-1").status.success());

    let out = on_a_terminal(&w, "key new differ --encrypt", "pw-1\npw-2\n").unwrap();
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("differ"), "{all}");
    assert!(!w.path("keys/differ.key").exists());
    assert!(!w.path("keys/differ.pub").exists());

    let out = on_a_terminal(&w, "key new blank --encrypt", "\n").unwrap();
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("empty passphrase"), "{all}");
    assert!(!w.path("keys/blank.key").exists());
}

#[test]
fn a_checkpoint_file_name_with_a_newline_is_printed_escaped() {
    let w = Work::keyed();
    init_ledger(w.cwd(), "L", ORIGIN);
    w.ok(&["checkpoint", "L", "--key", OPERATOR_KEY]);
    let dir = w.path("L/checkpoints");
    let real: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(real.len(), 1, "{real:?}");
    let note = fs::read(&real[0]).unwrap();
    for name in [
        "000000000001-x\n  checkpoint ok: forged.txt",
        "000000000001-y\u{202E}txt.exe\u{202C}.txt",
    ] {
        fs::write(dir.join(name), &note).unwrap();
    }
    let (code, stdout, stderr) = run(w.cwd(), &["verify", "L"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        !stdout
            .lines()
            .any(|l| l.starts_with("  checkpoint ok: forged")),
        "a forged line: {stdout}"
    );
    assert!(
        stdout.contains("x\\u{000A}  checkpoint ok: forged.txt)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("y\\u{202E}txt.exe\\u{202C}.txt)"),
        "{stdout}"
    );
    assert!(
        !stdout
            .chars()
            .any(|c| c.is_control() && c != '\n' || c == '\u{202E}'),
        "{stdout:?}"
    );
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.starts_with("  checkpoint ok:"))
            .count(),
        3,
        "{stdout}"
    );
    // The JSON report keeps the name as read, escaped as JSON escapes it.
    let (code, v) = run_json(w.cwd(), &["verify", "L", "--json"]);
    assert_eq!(code, 0);
    let files: Vec<&str> = v["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["file"].as_str().unwrap())
        .collect();
    assert!(
        files
            .iter()
            .any(|f| f.ends_with("x\n  checkpoint ok: forged.txt")),
        "{files:?}"
    );
}

#[test]
fn a_vkey_from_init_is_an_anchor_verify_accepts() {
    // What `custody init` tells the operator to publish is what `verify --trust` takes.
    let w = Work::keyed();
    let out = w.ok(&["init", "L", "--origin", ORIGIN, "--key", OPERATOR_KEY]);
    let vkey = out
        .lines()
        .find_map(|l| l.strip_prefix("checkpoint verifier key:"))
        .unwrap()
        .trim()
        .to_string();
    let id = out
        .lines()
        .find_map(|l| l.strip_prefix("operator key id:"))
        .unwrap()
        .trim()
        .to_string();
    verified(w.cwd(), "L", &["--trust", &vkey]);
    verified(w.cwd(), "L", &["--operator", &id]);
    let (code, stdout, _) = run(w.cwd(), &["verify", "L", "--operator", &id[..16]]);
    assert_eq!(code, 0);
    assert!(trust_line(&stdout).ends_with("(--operator)"));
}
