//! The user's layer: completions and man pages, examples in the long help that run as written,
//! singular nouns for a count of one, the key commands (`key list`, `key show`, one short key
//! id form, a public key passed as `--key`), `check --document` repeated, and `show FILE.cust`.

mod common;

use common::*;
use std::fs;
use std::path::Path;
use std::process::Command as Process;

const ORIGIN: &str = "example.org/nk-repatriation";

/// The subcommand names `custody [SUB] --help` lists under "Commands:".
fn subcommands(cwd: &Path, parent: &[&str]) -> Vec<String> {
    let mut args = parent.to_vec();
    args.push("--help");
    let help = run_ok(cwd, &args);
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn the_bash_script_completes_every_subcommand() {
    let w = Work::keyed();
    let script = w.ok(&["completions", "bash"]);
    assert!(script.contains("complete -F _custody"), "{script}");
    let top = subcommands(w.cwd(), &[]);
    assert!(top.len() > 20, "{top:?}");
    for name in &top {
        assert!(script.contains(name.as_str()), "bash script lacks {name}");
        for sub in subcommands(w.cwd(), &[name]) {
            assert!(script.contains(&sub), "bash script lacks {name} {sub}");
        }
    }
    for shell in ["zsh", "fish"] {
        let s = w.ok(&["completions", shell]);
        assert!(
            s.contains("verify") && s.contains("check-disclosure"),
            "{shell}"
        );
    }
    w.fails(2, &["completions", "tcsh"]);
}

#[test]
fn man_writes_roff_pages_man_can_read() {
    let w = Work::keyed();
    let page = w.ok(&["man"]);
    assert!(
        page.lines().any(|l| l.starts_with(".TH custody 1")),
        "{page}"
    );
    let out = w.ok(&["man", "-o", "pages"]);
    assert!(out.contains("man -l pages/custody.1"), "{out}");
    assert!(out.contains("~/.local/share/man/man1"), "{out}");
    for (file, th) in [
        ("custody.1", ".TH custody 1"),
        ("custody-verify.1", ".TH custody-verify 1"),
        ("custody-key-list.1", ".TH custody-key-list 1"),
    ] {
        let text = fs::read_to_string(w.path("pages").join(file)).unwrap();
        assert!(text.lines().any(|l| l.starts_with(th)), "{file}: {text}");
    }
    // Every top-level command has its page; the examples are in the pages too.
    for name in subcommands(w.cwd(), &[]) {
        assert!(
            w.path("pages").join(format!("custody-{name}.1")).is_file(),
            "{name}"
        );
    }
    let verify = fs::read_to_string(w.path("pages/custody-verify.1")).unwrap();
    assert!(verify.contains("Examples:"), "{verify}");
    // Pages are never replaced silently.
    let err = w.fails(2, &["man", "-o", "pages"]);
    assert!(err.contains("--force"), "{err}");
    w.ok(&["man", "-o", "pages", "--force"]);
    // Written straight into a man1 directory, the pages are installed: no advice to copy them
    // onto themselves.
    let out = w.ok(&["man", "-o", "share/man/man1"]);
    assert!(
        out.contains("installed:") && out.contains("share/man is on your MANPATH"),
        "{out}"
    );
    assert!(!out.contains("cp share/man/man1"), "{out}");
}

/// The commands of the "Examples:" block of `custody ARGS --help`, continuation lines joined.
fn examples(cwd: &Path, args: &[&str]) -> Vec<String> {
    let mut a = args.to_vec();
    a.push("--help");
    let help = run_ok(cwd, &a);
    let mut cmds: Vec<String> = Vec::new();
    let mut joining = false;
    for line in help
        .lines()
        .skip_while(|l| *l != "Examples:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
    {
        let text = line.trim();
        let (text, more) = match text.strip_suffix('\\') {
            Some(t) => (t.trim_end(), true),
            None => (text, false),
        };
        if joining {
            let last = cmds.last_mut().unwrap();
            last.push(' ');
            last.push_str(text);
        } else {
            cmds.push(text.to_string());
        }
        joining = more;
    }
    assert!(
        !cmds.is_empty(),
        "custody {args:?} --help has no examples:\n{help}"
    );
    cmds
}

/// Runs one example through `sh` in `cwd`, with the binary under test first on PATH.
fn run_example(cwd: &Path, cmd: &str) -> String {
    assert!(!cmd.contains("..."), "not a full command: {cmd}");
    let dir = bin().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Process::new("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(cwd)
        .env("PATH", path)
        .env_remove("CUSTODY_PASSPHRASE")
        .env_remove("CUSTODY_KEY")
        .env_remove("CUSTODY_LEDGER")
        .env_remove("XDG_DATA_HOME")
        .env(
            "CUSTODY_CACHE_DIR",
            std::env::temp_dir().join("custody-test-cache"),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "example failed: {cmd}\nstdout {}\nstderr {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_examples_of_the_main_commands_run_as_written() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    run_ok(cwd, &["key", "new", "researcher"]);
    fs::write(cwd.join("report.pdf"), b"an NGO report").unwrap();
    // One story, in order: each command's examples build on the ones before.
    let mut ran = 0;
    for (args, before) in [
        (&["init"][..], None),
        (
            &["add", "claim"][..],
            Some(
                "custody add source L --key keys/researcher.key report.pdf --title Report \
                  --publisher NGO --date 2025-10-15 --kind ngo-report --store",
            ),
        ),
        (&["add", "figure"][..], None),
        (&["export"][..], None),
        (&["check"][..], None),
        (&["import"][..], None),
        (&["verify"][..], None),
    ] {
        if let Some(b) = before {
            run_example(cwd, b);
        }
        for cmd in examples(cwd, args) {
            run_example(cwd, &cmd);
            ran += 1;
        }
    }
    assert!(ran >= 15, "{ran}");
    let help = run_ok(cwd, &["verify", "--help"]);
    assert!(help.contains("Examples:"), "{help}");
    // The short help stays short.
    let short = run_ok(cwd, &["verify", "-h"]);
    assert!(!short.contains("Examples:"), "{short}");
}

#[test]
fn a_count_of_one_takes_the_singular() {
    let w = Work::keyed();
    w.ok(&init_args("L", ORIGIN, OPERATOR_KEY));
    let out = w.ok(&["verify", "L"]);
    assert!(out.contains("verified: 1 entry,"), "{out}");
    assert!(out.contains("  1 entry (granted at entry 0)"), "{out}");
    assert!(!out.contains("1 entries"), "{out}");
    // The store's messages count the same way (custody_core::rules::text::count).
    let err = w.fails(2, &["show", "L", "3"]);
    assert!(err.contains("no entry 3: the log has 1 entry"), "{err}");
    let err = w.fails(2, &["prove", "inclusion", "L", "0", "--size", "2"]);
    assert!(err.contains("exceeds the log's 1 entry"), "{err}");
    w.ok(&key_args(
        "grant",
        "L",
        OPERATOR_KEY,
        RESEARCHER_PUB,
        "researcher",
    ));
    fs::write(w.path("report.txt"), b"report").unwrap();
    w.ok(&source_args("L", RESEARCHER_KEY, "2025", "ngo-report"));
    fs::write(
        w.path("one.jsonl"),
        "{\"kind\":\"claim\",\"statement\":\"c\",\"count\":1,\"category\":\"c\",\"period\":\"2024\",\"cites\":[2]}\n",
    )
    .unwrap();
    let out = w.ok(&["import", "L", "--key", RESEARCHER_KEY, "one.jsonl"]);
    // One person, not "1 people"; the genesis says what it is in words.
    let log = w.ok(&["log", "L"]);
    assert!(log.contains("[1 person] c (cites 2)"), "{log}");
    assert!(
        log.contains(&format!(
            "ledger for origin \"{ORIGIN}\" opened by its operator, key \"operator\" ("
        )),
        "{log}"
    );
    assert_eq!(out.trim(), "imported entry 3; the ledger holds 4 entries");
    let out = w.ok(&["verify", "L"]);
    assert!(out.contains("verified: 4 entries,"), "{out}");
    assert!(out.contains("  2 entries (granted at entry 0)"), "{out}");
    assert!(out.contains("  2 entries (granted at entry 1)"), "{out}");
    let out = w.ok(&[
        "export",
        "L",
        "--entry",
        "0",
        "-o",
        "b.json",
        "--key",
        OPERATOR_KEY,
    ]);
    // Genesis and the state commitment the export's checkpoint ends in.
    assert!(out.contains("(2 entries, "), "{out}");
    let out = w.ok(&["verify", "L"]);
    assert!(out.contains("1 state-commitment"), "{out}");
}

#[test]
fn key_ids_are_short_unless_full() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_ok(tmp.path(), &["key", "new", "a"]);
    let id = out
        .lines()
        .find_map(|l| l.strip_prefix("key id:"))
        .unwrap()
        .trim();
    assert_eq!(id.len(), 16, "{out}");
    let out = run_ok(tmp.path(), &["key", "new", "b", "--full"]);
    let full = out
        .lines()
        .find_map(|l| l.strip_prefix("key id:"))
        .unwrap()
        .trim();
    assert_eq!(full.len(), 64, "{out}");
    let show = run_ok(tmp.path(), &["key", "show", "keys/b.pub", "--full"]);
    assert!(show.contains(full), "{show}");
    let show = run_ok(tmp.path(), &["key", "show", "keys/b.pub"]);
    assert!(
        show.contains(&format!("key id: {}\n", &full[..16])),
        "{show}"
    );
}

#[test]
fn key_list_names_every_public_key_and_its_role_in_a_ledger() {
    let w = Work::keyed();
    run_ok(w.cwd(), &["key", "new", "reviewer"]);
    w.ok(&init_args("L", ORIGIN, OPERATOR_KEY));
    w.ok(&key_args(
        "grant",
        "L",
        OPERATOR_KEY,
        RESEARCHER_PUB,
        "researcher",
    ));
    w.ok(&key_args(
        "revoke",
        "L",
        OPERATOR_KEY,
        RESEARCHER_PUB,
        "left the project",
    ));
    let plain = w.ok(&["key", "list"]);
    let lines: Vec<&str> = plain.lines().collect();
    assert_eq!(lines.len(), 3, "{plain}");
    assert!(
        lines[0].starts_with("operator ") && lines[0].ends_with("keys/operator.pub"),
        "{plain}"
    );
    let show = w.ok(&["key", "show", "keys/operator.pub"]);
    let short = show
        .lines()
        .find_map(|l| l.trim().strip_prefix("key id: "))
        .unwrap();
    assert!(lines[0].contains(short), "{plain}");
    let roles = w.ok(&["key", "list", "keys", "--ledger", "L"]);
    let line = |name: &str| {
        roles
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{roles}"))
            .to_string()
    };
    assert!(
        line("operator").contains("granted: operator (entry 0)"),
        "{roles}"
    );
    assert!(
        line("researcher")
            .contains("revoked: was researcher (granted at entry 1, revoked at entry 2)"),
        "{roles}"
    );
    assert!(line("reviewer").contains("unknown"), "{roles}");
    let full = w.ok(&["key", "list", "--full"]);
    assert!(
        full.lines()
            .all(|l| l.split_whitespace().nth(1).unwrap().len() == 64),
        "{full}"
    );
    let err = w.fails(2, &["key", "list", "nowhere"]);
    assert!(err.contains("nowhere"), "{err}");
}

#[test]
fn key_show_never_prints_a_secret_nor_asks_for_a_passphrase() {
    let w = Work::keyed();
    let secret = fs::read_to_string(w.path(OPERATOR_KEY)).unwrap();
    let seed = secret
        .lines()
        .nth(2)
        .unwrap()
        .strip_prefix("ed25519 ")
        .unwrap()
        .to_string();
    let show = w.ok(&["key", "show", OPERATOR_KEY]);
    assert!(!show.contains(&seed), "{show}");
    assert!(
        show.contains("not encrypted") && show.contains("name:   operator"),
        "{show}"
    );
    let public = w.ok(&["key", "show", "keys/operator.pub"]);
    let id = |s: &str| {
        s.lines()
            .find_map(|l| l.trim().strip_prefix("key id: "))
            .unwrap()
            .to_string()
    };
    assert_eq!(id(&show), id(&public));
    // An encrypted key: no prompt (no terminal, no CUSTODY_PASSPHRASE), the id from its .pub.
    custody(w.cwd())
        .args(["key", "new", "sealed", "--encrypt"])
        .env("CUSTODY_PASSPHRASE", "correct horse")
        .assert()
        .success();
    let enc = w.ok(&["key", "show", "keys/sealed.key"]);
    assert!(
        enc.contains("passphrase-encrypted") && enc.contains("name:   sealed"),
        "{enc}"
    );
    let sealed_pub = w.ok(&["key", "show", "keys/sealed.pub"]);
    assert!(enc.contains(&id(&sealed_pub)), "{enc}");
    fs::rename(w.path("keys/sealed.pub"), w.path("sealed.pub")).unwrap();
    let enc = w.ok(&["key", "show", "keys/sealed.key"]);
    assert!(
        enc.contains("name:   sealed") && enc.contains("not shown"),
        "{enc}"
    );
    assert!(!enc.contains(&id(&sealed_pub)), "{enc}");
    fs::write(w.path("junk.key"), "hello\n").unwrap();
    w.fails(2, &["key", "show", "junk.key"]);
}

#[test]
fn a_public_key_given_as_key_is_named_as_such() {
    let w = Work::keyed();
    let err = w.fails(
        2,
        &[
            "init",
            "L",
            "--origin",
            ORIGIN,
            "--key",
            "keys/operator.pub",
        ],
    );
    assert!(
        err.contains("keys/operator.pub is a public key file; --key wants the secret key file (keys/operator.key)"),
        "{err}"
    );
    assert!(!err.contains("chmod"), "{err}");
    assert!(!w.path("L").join("entries").exists());
}

/// L: 0 genesis, 1 grant, 2 and 3 sources (a.txt, b.txt), 4 a claim citing both.
fn two_sources(w: &Work) {
    init_ledger(w.cwd(), "L", ORIGIN);
    for (file, text) in [("a.txt", "first"), ("b.txt", "second")] {
        fs::write(w.path(file), text).unwrap();
        let mut args = source_args("L", RESEARCHER_KEY, "2025", "ngo-report");
        args[5] = file;
        w.ok(&args);
    }
    w.ok(&claim_args(
        "L",
        RESEARCHER_KEY,
        "s",
        "5",
        "c",
        "2024",
        "2,3",
    ));
    w.ok(&[
        "export",
        "L",
        "--entry",
        "4",
        "-o",
        "c.json",
        "--key",
        OPERATOR_KEY,
    ]);
}

#[test]
fn check_takes_document_more_than_once_and_says_which_matched() {
    let w = Work::keyed();
    two_sources(&w);
    let vkey = w.ok(&["key", "vkey", "keys/operator.pub", "--origin", ORIGIN]);
    let vkey = vkey.trim();
    let out = w.ok(&[
        "check",
        "c.json",
        "--trust",
        vkey,
        "--document",
        "a.txt",
        "--document",
        "b.txt",
    ]);
    assert!(
        out.contains("document a.txt (SHA-256 ")
            && out.contains("is the document of source entry 2"),
        "{out}"
    );
    assert!(
        out.contains("document b.txt (SHA-256 ")
            && out.contains("is the document of source entry 3"),
        "{out}"
    );
    fs::write(w.path("other.txt"), "not a source").unwrap();
    for docs in [["a.txt", "other.txt"], ["other.txt", "a.txt"]] {
        let err = w.fails(
            1,
            &[
                "check",
                "c.json",
                "--trust",
                vkey,
                "--document",
                docs[0],
                "--document",
                docs[1],
            ],
        );
        assert!(
            err.contains("FAILED") && err.contains("other.txt") || err.contains("no source"),
            "{err}"
        );
    }
    let err = w.fails(
        1,
        &[
            "check",
            "c.json",
            "--trust",
            vkey,
            "--document",
            "a.txt",
            "--document",
            "other.txt",
        ],
    );
    assert!(err.contains("document other.txt: its SHA-256"), "{err}");
    let (code, v) = run_json(
        w.cwd(),
        &[
            "check",
            "c.json",
            "--trust",
            vkey,
            "--json",
            "--document",
            "a.txt",
            "--document",
            "other.txt",
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(v["ok"], false, "{v:#}");
    let (code, v) = run_json(
        w.cwd(),
        &[
            "check",
            "c.json",
            "--trust",
            vkey,
            "--json",
            "--document",
            "b.txt",
            "--document",
            "a.txt",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(v["document"]["sources"], serde_json::json!([3]), "{v:#}");
    w.fails(
        2,
        &[
            "check",
            "c.json",
            "--trust",
            vkey,
            "--document",
            "a.txt",
            "--document",
            "missing.txt",
        ],
    );
}

#[test]
fn show_reads_a_submission_file_not_yet_in_a_ledger() {
    let w = Work::keyed();
    fs::write(w.path("report.txt"), "r").unwrap();
    init_ledger(w.cwd(), "L", ORIGIN);
    let signed = w.ok(&sign_claim_args_here("field.cust"));
    let key = w.ok(&["key", "show", RESEARCHER_PUB]);
    let short = key
        .lines()
        .find_map(|l| l.trim().strip_prefix("key id: "))
        .unwrap();
    assert!(signed.contains(short), "{signed}");
    let out = w.ok(&["show", "field.cust"]);
    assert!(out.starts_with("submission field.cust: claim\n"), "{out}");
    assert!(out.contains(&format!("key {short}")), "{out}");
    assert!(out.contains(&format!("origin:       {ORIGIN}")), "{out}");
    assert!(out.contains("statement:    seen in the field"), "{out}");
    assert!(out.contains("not yet in any ledger"), "{out}");
    let err = w.fails(2, &["show", "field.cust", "3"]);
    assert!(err.contains("give no index"), "{err}");
    let err = w.fails(2, &["show", "L"]);
    assert!(err.contains("give the entry index"), "{err}");
    let j = w.ok(&["show", "field.cust", "--json"]);
    assert!(j.contains("\"statement\": \"seen in the field\""), "{j}");
    fs::write(w.path("junk.cust"), "junk").unwrap();
    w.fails(2, &["show", "junk.cust"]);
    // Entries still show as before.
    let out = w.ok(&["show", "L", "1"]);
    assert!(out.starts_with("entry 1: key-grant"), "{out}");
}

fn sign_claim_args_here(output: &str) -> Vec<&str> {
    vec![
        "sign",
        "claim",
        "--key",
        RESEARCHER_KEY,
        "--origin",
        ORIGIN,
        "-o",
        output,
        "--statement",
        "seen in the field",
        "--count",
        "3",
        "--category",
        "c",
        "--period",
        "2024",
        "--source",
        "2",
    ]
}

/// `CUSTODY_KEY` is the default signer key of the evidence commands, never of the operator's
/// or a witness's: a default must not make the wrong party the operator.
#[test]
fn custody_key_defaults_the_signer_key_and_never_the_operators() {
    let w = Work::keyed();
    let cwd = w.cwd();
    let with_env = |args: &[&str]| {
        custody(cwd)
            .env("CUSTODY_KEY", RESEARCHER_KEY)
            .args(args)
            .output()
            .unwrap()
    };
    // init and grants take the operator's key only from --key.
    let out = with_env(&["init", "L", "--origin", "example.org/env"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!w.path("L").exists());
    init_ledger(cwd, "L", "example.org/env");
    fs::write(w.path("report.txt"), "report\n").unwrap();
    let out = with_env(&[
        "add",
        "source",
        "L",
        "report.txt",
        "--title",
        "T",
        "--publisher",
        "P",
        "--date",
        "2025",
        "--kind",
        "media",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = w.ok(&["log", "L", "--json"]);
    let last: serde_json::Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(last["signer"]["name"], "researcher");
    // The help says where the default comes from.
    let help = w.ok(&["add", "source", "--help"]);
    assert!(help.contains("[env: CUSTODY_KEY"), "{help}");
}

/// `-L DIR` or `CUSTODY_LEDGER` names the ledger once; one named in its own place on the
/// command line wins over both; with none, one usage line names both ways. A command's other
/// positionals keep their meaning: with a default ledger the single positional is the file,
/// the target or the index.
#[test]
fn custody_ledger_names_the_ledger_once_and_a_positional_one_wins() {
    let w = Work::keyed();
    let cwd = w.cwd();
    init_ledger(cwd, "L", ORIGIN);
    init_ledger(cwd, "M", "example.org/other");
    fs::write(w.path("report.txt"), "report\n").unwrap();
    w.ok(&source_args("M", RESEARCHER_KEY, "2025", "media"));
    let env = |args: &[&str]| {
        custody(cwd)
            .env("CUSTODY_LEDGER", "L")
            .args(args)
            .output()
            .unwrap()
    };
    let stdout = |o: &std::process::Output| {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    // Neither: exit 2, one line naming both ways, and not a clap error about LEDGER.
    let err = w.fails(2, &["log"]);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("-L DIR") && err.contains("CUSTODY_LEDGER"),
        "{err}"
    );
    // The environment alone, -L alone, and a positional one over both.
    let log = stdout(&env(&["log"]));
    assert!(log.lines().count() == 2 && log.contains("genesis"), "{log}");
    assert_eq!(w.ok(&["-L", "L", "log"]), log);
    assert_eq!(w.ok(&["log", "--ledger", "L"]), log);
    let other = stdout(&env(&["log", "M"]));
    assert!(
        other.lines().count() == 3 && other.contains("source"),
        "{other}"
    );
    let other_flag = w.ok(&["-L", "L", "log", "M"]);
    assert_eq!(other_flag, other);
    // Two positionals: with a default ledger the single one is the file / the target.
    let out = env(&[
        "add",
        "source",
        "--key",
        RESEARCHER_KEY,
        "report.txt",
        "--title",
        "T",
        "--publisher",
        "P",
        "--date",
        "2025",
        "--kind",
        "media",
    ]);
    assert!(stdout(&out).starts_with("entry 2 (source) appended"));
    w.ok(&sign_claim_args(
        RESEARCHER_KEY,
        ORIGIN,
        "first",
        "2025",
        "a.cust",
    ));
    w.ok(&sign_claim_args(
        RESEARCHER_KEY,
        ORIGIN,
        "second",
        "2025",
        "b.cust",
    ));
    let out = stdout(&env(&["append", "a.cust", "b.cust"]));
    assert!(
        out.contains("a.cust: entry 3 (claim)") && out.contains("b.cust: entry 4 (claim)"),
        "{out}"
    );
    let out = stdout(&env(&["show", "3"]));
    assert!(out.starts_with("entry 3: claim"), "{out}");
    assert!(stdout(&env(&["show", "M", "1"])).starts_with("entry 1: key-grant"));
    let out = stdout(&env(&[
        "retract",
        "--key",
        RESEARCHER_KEY,
        "4",
        "--reason",
        "a duplicate",
    ]));
    assert!(out.contains("entry 5 (retraction)"), "{out}");
    let p = stdout(&env(&["prove", "consistency", "2", "5"]));
    assert!(
        p.starts_with("consistency of tree size 2 with tree size 5"),
        "{p}"
    );
    assert_eq!(w.ok(&["prove", "consistency", "L", "2", "5"]), p);
    // M was never written to.
    assert_eq!(w.ok(&["log", "M"]), other);
    // A mistake with a default ledger is reported for the line as meant: the target is
    // there, the key is not.
    let out = env(&["retract", "4", "--reason", "r"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let missing = err.split("Usage:").next().unwrap();
    assert!(
        missing.contains("--key") && !missing.contains("TARGET"),
        "{err}"
    );
    // The help says where the default comes from.
    let help = w.ok(&["log", "--help"]);
    assert!(help.contains("[env: CUSTODY_LEDGER="), "{help}");
}

/// A checkpoint is named by the tree size it signs; an unsupported claim is "claim 3 rests";
/// a figure is "figure 6", not "figure 6 (figure)"; the exhibit's court-facing first page has
/// no command-line flags, and its declaration's blanks say what goes in them.
#[test]
fn wording_reads_as_a_new_user_reads_it() {
    let w = Work::keyed();
    init_ledger(w.cwd(), "L", ORIGIN);
    fs::write(w.path("report.txt"), "report\n").unwrap();
    w.ok(&source_args("L", RESEARCHER_KEY, "2025", "media"));
    w.ok(&claim_args(
        "L",
        RESEARCHER_KEY,
        "one returned",
        "1",
        "c",
        "2024",
        "2",
    ));
    w.ok(&figure_args("L", RESEARCHER_KEY, "Returned", "1", "3"));
    w.ok(&[
        "export",
        "L",
        "--figure",
        "4",
        "-o",
        "f4.json",
        "--key",
        OPERATOR_KEY,
    ]);
    let vk = w
        .ok(&["key", "vkey", "keys/operator.pub", "--origin", ORIGIN])
        .trim()
        .to_owned();
    let out = w.ok(&["check", "f4.json", "--trust", &vk]);
    let first = out.lines().next().unwrap();
    assert!(
        first.contains(": figure 4 of ")
            && first.contains("as proven by the checkpoint at tree size 6"),
        "{out}"
    );
    w.ok(&["exhibit", "f4.json", "-o", "f4.html", "--trust", &vk]);
    let html = fs::read_to_string(w.path("f4.html")).unwrap();
    let page1 = &html[..html.find("<h2>Details of the check").unwrap()];
    assert!(
        page1.contains("as of the checkpoint at tree size 6"),
        "{page1}"
    );
    for flag in ["--trust", "--policy", "--tsa-cert", "--document"] {
        assert!(!page1.contains(flag), "{flag} on the first page: {page1}");
    }
    let decl = &html[html.find("Declaration").unwrap()..];
    assert!(
        decl.contains("______</span> (who keeps the ledger)"),
        "{decl}"
    );
    assert!(decl.contains("______</span> (date)"), "{decl}");
    // Retract the source: the claim beneath the figure rests on nothing.
    w.ok(&[
        "retract",
        "L",
        "--key",
        RESEARCHER_KEY,
        "2",
        "--reason",
        "forged",
    ]);
    let shown = w.ok(&["figure", "L", "4"]);
    assert!(
        shown.contains("UNSUPPORTED today: claim 3 rests on no live source")
            && shown.contains("re-source it"),
        "{shown}"
    );
}
