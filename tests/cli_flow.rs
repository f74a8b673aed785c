//! The whole user flow through the `custody` binary, asserting what a user checks: which entry
//! each command names, the figure arithmetic, refusals (exit 2, ledger untouched), failed
//! verifications (exit 1), disclosures, keys, checkpoints, documents and Merkle proofs.

mod common;

use assert_cmd::Command;
use common::{
    claim_args, custody, figure_args, frames, informant_args, init_ledger, key_args, run_json,
    sign_claim_args, snapshot, sorted_files, source_args, Work, OPERATOR_KEY, RESEARCHER_KEY,
    RESEARCHER_PUB,
};
use custody_core::hash::Digest;
use custody_core::merkle::{verify_consistency, verify_inclusion};
use custody_core::seal::Opening;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Output;

const ORIGIN: &str = "example.org/test";

/// A work dir with keys; `ledger` builds the standard ledger in it.
type Env = Work;

impl Env {
    fn new() -> Env {
        Work::keyed()
    }

    fn cmd(&self) -> Command {
        custody(self.cwd())
    }

    /// Runs with `CUSTODY_PASSPHRASE` set to `passphrase`.
    fn run_with_passphrase(&self, args: &[&str], passphrase: &str) -> Output {
        self.cmd()
            .args(args)
            .env("CUSTODY_PASSPHRASE", passphrase)
            .output()
            .unwrap()
    }

    /// Every file of the ledger, by name, for before/after comparisons.
    fn snapshot(&self, ledger: &str) -> Vec<(PathBuf, Vec<u8>)> {
        snapshot(&self.path(ledger))
    }

    /// A refused command: exit 2, a one-line error, and the ledger byte-identical afterwards.
    fn refused(&self, ledger: &str, args: &[&str]) -> String {
        let before = self.snapshot(ledger);
        let err = self.fails(2, args);
        assert!(err.starts_with("custody: error:"), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(
            before == self.snapshot(ledger),
            "{args:?} changed the ledger"
        );
        err
    }

    /// The permission bits of file `p`.
    fn mode(&self, p: &str) -> u32 {
        fs::metadata(self.path(p)).unwrap().permissions().mode() & 0o777
    }

    fn chmod(&self, p: &str, mode: u32) {
        fs::set_permissions(self.path(p), fs::Permissions::from_mode(mode)).unwrap();
    }

    /// Ledger `name`: 0 genesis, 1 grant (researcher), 2 source (stored), 3 informant,
    /// 4 claim 108 (cites 2,3), 5 claim 60 (cites 2), 6 figure 168 = 4 + 5.
    fn ledger(&self, name: &str) {
        init_ledger(self.cwd(), name, ORIGIN);
        fs::write(
            self.path("report.txt"),
            "A report on forced repatriation.\n",
        )
        .unwrap();
        fs::write(self.path("who.txt"), "Kim Chol-su, born 1980\n").unwrap();
        let mut args = source_args(name, RESEARCHER_KEY, "2025-10-15", "ngo-report");
        args.push("--store");
        let out = self.ok(&args);
        assert!(out.starts_with("entry 2 (source) appended"), "{out}");
        let seal = format!("sealed/{name}.seal");
        let out = self.ok(&informant_args(name, RESEARCHER_KEY, "Source A", &seal));
        assert!(out.starts_with("entry 3 (informant \"Source A\")"), "{out}");
        assert_eq!(self.mode(&seal), 0o600);
        let out = self.claim(name, "108 returned", 108, "2,3");
        assert!(out.starts_with("entry 4 (claim) appended"), "{out}");
        let out = self.claim(name, "60 returned", 60, "2");
        assert!(out.starts_with("entry 5 (claim) appended"), "{out}");
        let mut args = figure_args(name, RESEARCHER_KEY, "Since 2024", "168", "4,5");
        args.extend(["--qualifier", "at-least"]);
        let out = self.ok(&args);
        assert!(out.starts_with("entry 6 (figure) appended"), "{out}");
    }

    fn claim(&self, ledger: &str, statement: &str, count: u64, sources: &str) -> String {
        self.ok(&self.claim_args(ledger, RESEARCHER_KEY, statement, count, sources))
    }

    fn claim_args<'a>(
        &self,
        ledger: &'a str,
        key: &'a str,
        statement: &'a str,
        count: u64,
        sources: &'a str,
    ) -> Vec<&'a str> {
        let count: &'static str = Box::leak(count.to_string().into_boxed_str());
        let mut args = claim_args(
            ledger,
            key,
            statement,
            count,
            "forced-repatriation",
            "2024-01",
            sources,
        );
        args.extend(["--place", "X"]);
        args
    }

    fn verify_json(&self, args: &[&str]) -> (i32, serde_json::Value) {
        run_json(self.cwd(), args)
    }
}

/// `correct` of `entry` by the researcher.
fn correct_args<'a>(
    ledger: &'a str,
    entry: &'a str,
    count: &'a str,
    reason: &'a str,
) -> Vec<&'a str> {
    vec![
        "correct",
        ledger,
        "--key",
        RESEARCHER_KEY,
        entry,
        "--count",
        count,
        "--reason",
        reason,
    ]
}

/// `redact` (or `retract`, as `verb`) of `entry` by the researcher.
fn withdraw_args<'a>(
    verb: &'a str,
    ledger: &'a str,
    entry: &'a str,
    reason: &'a str,
) -> Vec<&'a str> {
    vec![
        verb,
        ledger,
        "--key",
        RESEARCHER_KEY,
        entry,
        "--reason",
        reason,
    ]
}

#[test]
fn full_flow_names_entries_checks_figures_and_reports_corrections() {
    let e = Env::new();
    e.ledger("L");
    let out = e.ok(&["verify", "L"]);
    assert!(out.contains("7 entries"), "{out}");
    assert!(
        out.contains("Since 2024: at-least 168 = 108 + 60 (ok)  [entry 6]"),
        "{out}"
    );
    assert!(!out.contains("changed since publication"), "{out}");

    let log = e.ok(&["log", "L"]);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 7, "{log}");
    for (i, kind) in [
        "genesis",
        "key-grant",
        "source",
        "informant",
        "claim",
        "claim",
        "figure",
    ]
    .iter()
    .enumerate()
    {
        let cols: Vec<&str> = lines[i].split_whitespace().collect();
        assert_eq!(cols[0], i.to_string(), "{}", lines[i]);
        assert_eq!(cols[1], *kind, "{}", lines[i]);
    }
    let json_log = e.ok(&["log", "L", "--json"]);
    for (i, line) in json_log.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["index"], i as u64);
    }

    let show = e.ok(&["show", "L", "3"]);
    assert!(show.starts_with("entry 3: informant"), "{show}");
    assert!(show.contains("Source A"), "{show}");
    assert!(!show.contains("Kim"), "identity leaked: {show}");
    let v: serde_json::Value = serde_json::from_str(&e.ok(&["show", "L", "4", "--json"])).unwrap();
    assert_eq!(v["index"], 4);
    assert_eq!(v["kind"], "claim");
    let err = e.fails(2, &["show", "L", "7"]);
    assert!(err.contains("no entry 7"), "{err}");

    let fig = e.ok(&["figure", "L", "6"]);
    assert!(fig.contains("at-least 168 people = 108 + 60"), "{fig}");
    assert!(fig.contains("today: unchanged"), "{fig}");

    // A correction: verify still passes (exit 0) but reports published vs today.
    let out = e.ok(&correct_args("L", "4", "107", "dup"));
    assert!(out.starts_with("entry 7 (correction) appended"), "{out}");
    let out = e.ok(&["verify", "L"]);
    assert!(out.contains("168 = 108 + 60 (held when signed)"), "{out}");
    assert!(
        out.contains("changed since publication: published 168, today 167 (entry 7)"),
        "{out}"
    );
    let fig = e.ok(&["figure", "L", "6"]);
    assert!(fig.contains("published 168, now 167"), "{fig}");
    let err = e.fails(1, &["verify", "L", "--strict"]);
    assert!(err.contains("entry 6:"), "{err}");
    let (code, v) = e.verify_json(&["verify", "L", "--strict", "--json"]);
    assert_eq!(code, 1);
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"]["entry"], 6);
    let (code, v) = e.verify_json(&["verify", "L", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(v["ok"], true);
    assert_eq!(v["entries"], 8);
    assert_eq!(v["figures"][0]["published"], 168);
    assert_eq!(v["figures"][0]["current"], 167);

    // Retracting a claim beneath the figure: it is reported, and a retracted claim can no
    // longer be summed.
    let out = e.ok(&withdraw_args("retract", "L", "5", "unsupported"));
    assert!(out.starts_with("entry 8 (retraction) appended"), "{out}");
    let out = e.ok(&["verify", "L"]);
    assert!(out.contains("today 107 (entries 7 and 8)"), "{out}");
    e.refused(
        "L",
        &figure_args("L", RESEARCHER_KEY, "again", "107", "4,5"),
    );
}

#[test]
fn refusals_leave_the_ledger_untouched() {
    let e = Env::new();
    e.ledger("L");
    e.ok(&["key", "new", "stranger"]);
    // An ungranted key.
    let err = e.refused("L", &e.claim_args("L", "keys/stranger.key", "s", 1, "2"));
    assert!(err.contains("never granted"), "{err}");
    // The operator may not grant from a researcher key.
    let err = e.refused(
        "L",
        &key_args(
            "grant",
            "L",
            RESEARCHER_KEY,
            "keys/stranger.pub",
            "researcher",
        ),
    );
    assert!(err.contains("only the operator"), "{err}");
    // A figure whose value is not the sum.
    let err = e.refused(
        "L",
        &figure_args("L", RESEARCHER_KEY, "wrong", "169", "4,5"),
    );
    assert!(
        err.contains("does not equal the sum of its terms, 168"),
        "{err}"
    );
    // Citations: a later entry, a missing one, the entry itself, a wrong kind.
    for (src, needle) in [
        ("7", "not an earlier entry"),
        ("99", "not an earlier entry"),
        ("4", "not a source or informant"),
        ("1", "not a source or informant"),
        ("6", "not a source or informant"),
    ] {
        let err = e.refused("L", &e.claim_args("L", RESEARCHER_KEY, "s", 1, src));
        assert!(err.contains(needle), "cite {src}: {err}");
    }
    // Summing a source.
    let err = e.refused("L", &figure_args("L", RESEARCHER_KEY, "x", "1", "2"));
    assert!(err.contains("not a claim or figure"), "{err}");
    // Correcting a source, redacting a claim.
    e.refused("L", &correct_args("L", "2", "1", "r"));
    e.refused("L", &withdraw_args("redact", "L", "4", "r"));

    // Revocation: the researcher's next submission is refused.
    e.ok(&key_args(
        "revoke",
        "L",
        OPERATOR_KEY,
        RESEARCHER_PUB,
        "laptop lost",
    ));
    let err = e.refused("L", &e.claim_args("L", RESEARCHER_KEY, "s", 1, "2"));
    assert!(err.contains("revoked at entry 7"), "{err}");
    // Re-granting a revoked key is refused too.
    let err = e.refused(
        "L",
        &key_args("grant", "L", OPERATOR_KEY, RESEARCHER_PUB, "researcher"),
    );
    assert!(err.contains("already known"), "{err}");
    let out = e.ok(&["verify", "L"]);
    assert!(out.contains("8 entries"), "{out}");
    assert!(out.contains("revoked at entry 7"), "{out}");
}

#[test]
fn offline_submissions_append_once_and_only_to_their_origin() {
    let e = Env::new();
    e.ledger("L");
    let sign = |origin: &str, out: &str, statement: &str| {
        let mut args = sign_claim_args(RESEARCHER_KEY, origin, statement, "2025", out);
        args.extend(["--count", "5"]);
        e.ok(&args)
    };
    sign(ORIGIN, "s.cust", "offline claim");
    let out = e.ok(&["append", "L", "s.cust"]);
    assert!(out.contains("s.cust: entry 7 (claim) appended"), "{out}");
    let err = e.refused("L", &["append", "L", "s.cust"]);
    assert!(err.contains("already entry 7"), "{err}");
    // The same file twice in one call: files are appended in order, so the first copy becomes
    // entry 8 and the second is refused as its duplicate (exit 2).
    sign(ORIGIN, "t.cust", "another offline claim");
    let err = e.fails(2, &["append", "L", "t.cust", "t.cust"]);
    assert!(err.contains("already entry 8"), "{err}");
    // Another origin.
    sign("example.org/other", "o.cust", "for elsewhere");
    let err = e.refused("L", &["append", "L", "o.cust"]);
    assert!(err.contains("not this ledger's origin"), "{err}");
    // `sign` never overwrites its output.
    let err = e.fails(
        2,
        &sign_claim_args(RESEARCHER_KEY, ORIGIN, "x", "2025", "s.cust"),
    );
    assert!(err.contains("never overwrites"), "{err}");
    let out = e.ok(&["verify", "L"]);
    assert!(out.contains("9 entries"), "{out}");
}

/// `disclose -o FILE`: the opening (it names the informant) goes to a new file, mode 0600 from
/// the start; an existing file or symbolic link is refused without --force, and even with it a
/// link is replaced, never written through.
#[test]
fn disclose_writes_a_private_file_and_never_through_a_link() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let e = Env::new();
    e.ledger("L");
    let opening = e.ok(&["disclose", "sealed/L.seal"]);
    let said = e.ok(&["disclose", "sealed/L.seal", "-o", "op.txt"]);
    assert!(said.contains("op.txt (mode 0600)"), "{said}");
    assert_eq!(fs::read_to_string(e.path("op.txt")).unwrap(), opening);
    let mode = |p: &str| {
        fs::symlink_metadata(e.path(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("op.txt"), 0o600);
    let out = e.ok(&["check-disclosure", "L", "3", "--opening", "op.txt"]);
    assert!(out.starts_with("OK: the opening matches entry 3"), "{out}");
    // An existing file: refused, unchanged; with --force replaced, and private again.
    fs::write(e.path("old.txt"), "old").unwrap();
    fs::set_permissions(e.path("old.txt"), fs::Permissions::from_mode(0o644)).unwrap();
    let err = e.fails(2, &["disclose", "sealed/L.seal", "-o", "old.txt"]);
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(e.path("old.txt")).unwrap(), "old");
    e.ok(&["disclose", "sealed/L.seal", "-o", "old.txt", "--force"]);
    assert_eq!(fs::read_to_string(e.path("old.txt")).unwrap(), opening);
    assert_eq!(mode("old.txt"), 0o600);
    // A link to a file elsewhere, and a dangling one: never written through.
    fs::write(e.path("precious.txt"), "precious").unwrap();
    symlink(e.path("precious.txt"), e.path("link.txt")).unwrap();
    symlink(e.path("nowhere.txt"), e.path("dangling.txt")).unwrap();
    for link in ["link.txt", "dangling.txt"] {
        let err = e.fails(2, &["disclose", "sealed/L.seal", "-o", link]);
        assert!(err.contains("already exists"), "{err}");
        e.ok(&["disclose", "sealed/L.seal", "-o", link, "--force"]);
        let m = fs::symlink_metadata(e.path(link)).unwrap();
        assert!(m.file_type().is_file(), "{link} is still a link");
        assert_eq!(mode(link), 0o600);
        assert_eq!(fs::read_to_string(e.path(link)).unwrap(), opening);
    }
    assert_eq!(
        fs::read_to_string(e.path("precious.txt")).unwrap(),
        "precious"
    );
    assert!(!e.path("nowhere.txt").exists());
    // --force means nothing without -o.
    e.fails(2, &["disclose", "sealed/L.seal", "--force"]);
}

#[test]
fn disclosures_match_only_the_true_opening() {
    let e = Env::new();
    e.ledger("L");
    let opening = e.ok(&["disclose", "sealed/L.seal"]);
    fs::write(e.path("op.txt"), &opening).unwrap();
    let out = e.ok(&["check-disclosure", "L", "3", "--opening", "op.txt"]);
    assert!(out.starts_with("OK: the opening matches entry 3"), "{out}");
    let real = Opening::from_text(&opening).unwrap();
    assert_eq!(real.identity, b"Kim Chol-su, born 1980");

    // Another identity with the same salt, written as a well-formed opening.
    let forged = Opening {
        alias: real.alias.clone(),
        salt: real.salt,
        identity: b"Someone Else".to_vec(),
    };
    fs::write(e.path("forged.txt"), forged.to_text().as_str()).unwrap();
    let err = e.fails(
        1,
        &["check-disclosure", "L", "3", "--opening", "forged.txt"],
    );
    assert!(err.contains("does NOT match entry 3"), "{err}");
    // The true identity with another salt.
    let mut salt = real.salt;
    salt[0] ^= 1;
    let resalted = Opening {
        alias: real.alias.clone(),
        salt,
        identity: real.identity.clone(),
    };
    fs::write(e.path("resalted.txt"), resalted.to_text().as_str()).unwrap();
    e.fails(
        1,
        &["check-disclosure", "L", "3", "--opening", "resalted.txt"],
    );
    // Editing the identity line by hand leaves a self-contradictory opening: refused as input.
    let edited: String = opening
        .lines()
        .map(|l| {
            if l.starts_with("identity ") {
                "identity U29tZW9uZSBFbHNl\n".to_string()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    assert_ne!(edited, opening);
    fs::write(e.path("edited.txt"), &edited).unwrap();
    let err = e.fails(
        2,
        &["check-disclosure", "L", "3", "--opening", "edited.txt"],
    );
    assert!(err.contains("commitment line does not match"), "{err}");
    // The true opening against an entry that is not an informant.
    let err = e.fails(2, &["check-disclosure", "L", "4", "--opening", "op.txt"]);
    assert!(err.contains("not an informant"), "{err}");
    // A seal file readable by others is refused.
    e.chmod("sealed/L.seal", 0o644);
    e.fails(2, &["disclose", "sealed/L.seal"]);
}

#[test]
fn encrypted_keys_need_the_passphrase_and_loose_key_files_are_refused() {
    let e = Env::new();
    e.ledger("L");
    let out = e.run_with_passphrase(&["key", "new", "enc", "--encrypt"], "correct horse");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = fs::read_to_string(e.path("keys/enc.key")).unwrap();
    assert!(text.contains("ed25519-scrypt "), "{text}");
    assert_eq!(e.mode("keys/enc.key"), 0o600);
    e.ok(&key_args(
        "grant",
        "L",
        OPERATOR_KEY,
        "keys/enc.pub",
        "researcher",
    ));
    let args = e.claim_args("L", "keys/enc.key", "by enc", 3, "2");
    let out = e.run_with_passphrase(&args, "correct horse");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("entry 8 (claim)"));

    let before = e.snapshot("L");
    let out = e.run_with_passphrase(
        &e.claim_args("L", "keys/enc.key", "by enc 2", 3, "2"),
        "wrong horse",
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("custody: error:"), "{err}");
    assert!(err.to_lowercase().contains("passphrase"), "{err}");
    assert!(err.contains("keys/enc.key"), "{err}");
    // No passphrase and no terminal: a clear refusal, not a hang.
    let out = e
        .cmd()
        .args(e.claim_args("L", "keys/enc.key", "by enc 3", 3, "2"))
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CUSTODY_PASSPHRASE"));
    assert!(before == e.snapshot("L"));

    // A secret key readable by group or others is refused (as ssh does).
    e.chmod(RESEARCHER_KEY, 0o644);
    let err = e.refused("L", &e.claim_args("L", RESEARCHER_KEY, "loose", 1, "2"));
    assert!(err.contains(RESEARCHER_KEY), "{err}");
    e.chmod(RESEARCHER_KEY, 0o640);
    e.refused("L", &e.claim_args("L", RESEARCHER_KEY, "loose", 1, "2"));
    e.chmod(RESEARCHER_KEY, 0o600);
    e.claim("L", "tight", 1, "2");
    // `key new` never overwrites.
    let err = e.fails(2, &["key", "new", "researcher"]);
    assert!(err.contains("never overwrites"), "{err}");
}

/// The recorded checkpoint file with the largest size.
fn latest_checkpoint(e: &Env, ledger: &str) -> PathBuf {
    sorted_files(&e.path(ledger).join("checkpoints"))
        .pop()
        .unwrap()
}

#[test]
fn verify_since_an_old_checkpoint_catches_rewritten_history() {
    let e = Env::new();
    e.ledger("L");
    // 7 entries and the state commitment `checkpoint` appends.
    let note = e.ok(&["checkpoint", "L", "--key", OPERATOR_KEY]);
    assert!(note.starts_with(&format!("{ORIGIN}\n8\n")), "{note}");
    // Only the operator may sign checkpoints.
    e.fails(2, &["checkpoint", "L", "--key", RESEARCHER_KEY]);
    fs::copy(latest_checkpoint(&e, "L"), e.path("cp7.txt")).unwrap();
    e.claim("L", "later claim", 2, "2");
    let out = e.ok(&["verify", "L", "--since", "cp7.txt"]);
    assert!(out.contains("checkpoint ok: tree size 8"), "{out}");

    // Rewrite: cut the log back to 5 entries and append different ones past the checkpoint.
    let entries = fs::read(e.path("L/entries")).unwrap();
    let at = frames(&entries)[4].1;
    fs::write(e.path("L/entries"), &entries[..at]).unwrap();
    // This machine verified the longer history, so custody here refuses to build on the cut one.
    let err = e.fails(2, &e.claim_args("L", RESEARCHER_KEY, "rewritten", 1, "2"));
    assert!(err.contains("no longer holds the history"), "{err}");
    // An operator rewriting from a machine that never saw the old history is not stopped there.
    let elsewhere = tempfile::tempdir().unwrap();
    for i in 0..4 {
        let statement = format!("rewritten {i}");
        let out = common::custody(e.cwd())
            .env("CUSTODY_CACHE_DIR", elsewhere.path())
            .args(e.claim_args("L", RESEARCHER_KEY, &statement, 1, "2"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    // The ledger's own copy of the checkpoint already catches it...
    let (code, v) = e.verify_json(&["verify", "L", "--json"]);
    assert_eq!(code, 1);
    assert!(
        v["error"]["reason"].as_str().unwrap().contains("rewritten"),
        "{v}"
    );
    // ...and with it deleted, the auditor's saved copy still does, by name.
    fs::remove_file(latest_checkpoint(&e, "L")).unwrap();
    e.ok(&["verify", "L"]);
    let err = e.fails(1, &["verify", "L", "--since", "cp7.txt"]);
    assert!(err.contains("cp7.txt"), "{err}");
    assert!(err.contains("rewritten"), "{err}");

    // Truncated below the checkpoint: named too.
    fs::write(e.path("L/entries"), &entries[..at]).unwrap();
    let err = e.fails(1, &["verify", "L", "--since", "cp7.txt"]);
    assert!(
        err.contains("cp7.txt") && err.contains("truncated"),
        "{err}"
    );

    // A different ledger with the same keys and origin.
    e.ledger("M");
    e.claim("M", "m", 1, "2");
    let err = e.fails(1, &["verify", "M", "--since", "cp7.txt"]);
    assert!(err.contains("cp7.txt"), "{err}");
    // A checkpoint signed by another key (another ledger's operator) is refused.
    let e2 = Env::new();
    e2.ledger("N");
    e2.ok(&["checkpoint", "N", "--key", OPERATOR_KEY]);
    fs::copy(latest_checkpoint(&e2, "N"), e.path("foreign.txt")).unwrap();
    let err = e.fails(1, &["verify", "M", "--since", "foreign.txt"]);
    assert!(err.contains("foreign.txt"), "{err}");
}

#[test]
fn redaction_withholds_the_document_and_tampered_documents_fail() {
    let e = Env::new();
    e.ledger("L");
    let doc = e
        .path("L/documents")
        .join(Digest::of(b"A report on forced repatriation.\n").to_hex());
    assert!(doc.is_file());
    let out = e.ok(&["verify", "L", "--documents"]);
    assert!(out.contains("document of entry 2: ok"), "{out}");

    // Tampering the stored copy.
    fs::write(&doc, "A report on something else.\n").unwrap();
    let err = e.fails(1, &["verify", "L", "--documents"]);
    assert!(err.contains("entry 2:"), "{err}");
    assert!(
        err.contains("does not hash to the recorded SHA-256"),
        "{err}"
    );
    // Without --documents the log itself is still intact.
    e.ok(&["verify", "L"]);
    fs::write(&doc, "A report on forced repatriation.\n").unwrap();
    e.ok(&["verify", "L", "--documents"]);

    // A stray file in documents/ is named.
    fs::write(e.path("L/documents/stray"), "x").unwrap();
    let err = e.fails(1, &["verify", "L", "--documents"]);
    assert!(err.contains("stray"), "{err}");
    fs::remove_file(e.path("L/documents/stray")).unwrap();

    let out = e.ok(&withdraw_args("redact", "L", "2", "protect a witness"));
    assert!(out.starts_with("entry 7 (redaction) appended"), "{out}");
    assert!(!doc.exists());
    let out = e.ok(&["verify", "L", "--documents"]);
    assert!(
        out.contains("document of entry 2: withheld (redacted at entry 7)"),
        "{out}"
    );
    // Putting the document back after a redaction is a failure.
    fs::write(&doc, "A report on forced repatriation.\n").unwrap();
    let err = e.fails(1, &["verify", "L", "--documents"]);
    assert!(err.contains("redacted"), "{err}");
    fs::remove_file(&doc).unwrap();
    // A second redaction is refused.
    e.refused("L", &withdraw_args("redact", "L", "2", "again"));
}

fn hex_digest(v: &serde_json::Value) -> Digest {
    Digest::from_hex(v.as_str().unwrap()).unwrap()
}

/// A JSON array of hex digests.
fn hex_digests(v: &serde_json::Value) -> Vec<Digest> {
    v.as_array().unwrap().iter().map(hex_digest).collect()
}

#[test]
fn inclusion_and_consistency_proofs_verify_for_every_index_and_pair() {
    let e = Env::new();
    e.ledger("L");
    let mut lines = String::new();
    for i in 0..6 {
        lines.push_str(&format!(
            "{{\"kind\":\"claim\",\"statement\":\"c{i}\",\"count\":{i},\"category\":\"c\",\"period\":\"2024\",\"cites\":[2]}}\n"
        ));
    }
    fs::write(e.path("more.jsonl"), lines).unwrap();
    let out = e.ok(&["import", "L", "--key", RESEARCHER_KEY, "more.jsonl"]);
    assert!(out.contains("imported 6 entries (7..12)"), "{out}");
    let n: u64 = 13;
    let (_, v) = e.verify_json(&["verify", "L", "--json"]);
    let root = hex_digest(&v["root"]);

    let mut leaves = Vec::new();
    for size in 1..=n {
        for index in 0..size {
            let s = e.ok(&[
                "prove",
                "inclusion",
                "L",
                &index.to_string(),
                "--size",
                &size.to_string(),
                "--json",
            ]);
            let p: serde_json::Value = serde_json::from_str(&s).unwrap();
            assert_eq!(p["leaf_index"], index);
            assert_eq!(p["tree_size"], size);
            let leaf = hex_digest(&p["leaf_hash"]);
            let r = hex_digest(&p["root_hash"]);
            let path = hex_digests(&p["inclusion_path"]);
            verify_inclusion(leaf, index, size, &path, r).unwrap();
            if size == n {
                assert_eq!(r, root);
                leaves.push(leaf);
                // A proof that cannot fail proves nothing: a changed path or leaf must fail.
                if !path.is_empty() {
                    let mut bad = path.clone();
                    bad[0].0[0] ^= 1;
                    assert!(verify_inclusion(leaf, index, size, &bad, r).is_err());
                }
                let mut other = leaf;
                other.0[31] ^= 1;
                assert!(verify_inclusion(other, index, size, &path, r).is_err());
            }
        }
    }
    assert_eq!(custody_core::merkle::root_of_leaves(&leaves), root);
    // The default size is the whole log.
    let p: serde_json::Value =
        serde_json::from_str(&e.ok(&["prove", "inclusion", "L", "4", "--json"])).unwrap();
    assert_eq!(p["tree_size"], n);
    e.fails(2, &["prove", "inclusion", "L", "13"]);
    e.fails(2, &["prove", "inclusion", "L", "2", "--size", "14"]);

    for old in 1..=n {
        for new in old..=n {
            let s = e.ok(&[
                "prove",
                "consistency",
                "L",
                &old.to_string(),
                &new.to_string(),
                "--json",
            ]);
            let p: serde_json::Value = serde_json::from_str(&s).unwrap();
            let (r1, r2) = (hex_digest(&p["root_hash_1"]), hex_digest(&p["root_hash_2"]));
            assert_eq!(
                r1,
                custody_core::merkle::root_of_leaves(&leaves[..old as usize])
            );
            assert_eq!(
                r2,
                custody_core::merkle::root_of_leaves(&leaves[..new as usize])
            );
            let path = hex_digests(&p["consistency_path"]);
            verify_consistency(old, r1, new, r2, &path).unwrap();
            if old < new {
                let mut bad_old = r1;
                bad_old.0[0] ^= 1;
                assert!(verify_consistency(old, bad_old, new, r2, &path).is_err());
            }
        }
    }
    e.fails(2, &["prove", "consistency", "L", "5", "14"]);
}

#[test]
fn a_recorded_checkpoint_only_gains_cosignatures() {
    let e = Env::new();
    e.ledger("L");
    e.ok(&["checkpoint", "L", "--key", OPERATOR_KEY]);
    let cp = latest_checkpoint(&e, "L");
    let w = common::TestWitness::new("witness.example.com/w", 5);
    w.cosign_file(&cp, 1_700_000_000);
    let cosigned = fs::read_to_string(&cp).unwrap();
    // Signing the same tree again keeps the record with its cosignature.
    let note = e.ok(&["checkpoint", "L", "--key", OPERATOR_KEY]);
    assert!(cosigned.starts_with(&note), "{note}");
    assert_eq!(fs::read_to_string(&cp).unwrap(), cosigned);
    // The store adds only lines that verify as cosignatures by the given witnesses, to the
    // same checkpoint, keeping every line the record has.
    let l = custody_store::Ledger::open(&e.path("L"), custody_store::Access::Read).unwrap();
    let v = l.operator_verifier().unwrap();
    let opened = custody_core::checkpoint::open(cosigned.as_bytes(), &v).unwrap();
    let known = custody_core::cosignature::parse_vkey(&w.vkey()).unwrap();
    let other = common::TestWitness::new("witness.example.net/x", 6);
    let mut split = custody_core::cosignature::split_note(cosigned.as_bytes()).unwrap();
    let line = custody_core::cosignature::cosign(split.body.as_bytes(), other.name, &other.key, 1)
        .unwrap();
    split.add_line(&line).unwrap();
    let err = l
        .record_witnessed(&opened, &split.to_text(), std::slice::from_ref(&known))
        .unwrap_err();
    assert!(err.to_string().contains("not a valid cosignature"), "{err}");
    let x = custody_core::cosignature::parse_vkey(&other.vkey()).unwrap();
    l.record_witnessed(&opened, &split.to_text(), &[known.clone(), x.clone()])
        .unwrap();
    let two = fs::read_to_string(&cp).unwrap();
    assert_eq!(two, split.to_text());
    // A note that drops a recorded line is refused, and the record stays.
    let mut fewer = split.clone();
    fewer.lines.remove(1);
    assert!(l
        .record_witnessed(&opened, &fewer.to_text(), &[known, x])
        .is_err());
    assert_eq!(fs::read_to_string(&cp).unwrap(), two);
    assert_eq!(
        l.witnessed_sizes(
            &v,
            &[custody_core::cosignature::parse_vkey(&w.vkey()).unwrap()]
        )
        .unwrap(),
        vec![8]
    );
    e.ok(&["verify", "L"]);
}

#[test]
fn fork_evidence_and_check_fork_exit_codes() {
    let e = Env::new();
    // Two ledgers under one operator key and origin that differ at entry 2: the operator's
    // checkpoints of them (each after its state commitment, entry 7), of one size, are a fork that needs no ledger to prove.
    e.ledger("L");
    init_ledger(e.cwd(), "M", ORIGIN);
    fs::write(e.path("report.txt"), "A different report.\n").unwrap();
    e.ok(&source_args(
        "M",
        RESEARCHER_KEY,
        "2025-10-16",
        "ngo-report",
    ));
    for s in ["other 3", "other 4", "other 5", "other 6"] {
        e.claim("M", s, 1, "2");
    }
    e.ok(&["checkpoint", "L", "--key", OPERATOR_KEY]);
    e.ok(&["checkpoint", "M", "--key", OPERATOR_KEY]);
    let (l7, m7) = (latest_checkpoint(&e, "L"), latest_checkpoint(&e, "M"));
    let vkey = e
        .ok(&["key", "vkey", "keys/operator.pub", "--origin", ORIGIN])
        .trim()
        .to_owned();
    let (l7s, m7s) = (l7.to_str().unwrap(), m7.to_str().unwrap());
    let out = e.ok(&[
        "fork-evidence",
        l7s,
        m7s,
        "--trust",
        &vkey,
        "-o",
        "same.json",
    ]);
    assert!(out.contains("tree sizes 8 and 8"), "{out}");
    let err = e.fails(1, &["check-fork", "same.json", "--trust", &vkey]);
    assert!(err.contains("fork proven"), "{err}");
    // Never overwritten; a consistent pair is no fork and writes nothing (exit 2).
    e.fails(
        2,
        &[
            "fork-evidence",
            l7s,
            m7s,
            "--trust",
            &vkey,
            "-o",
            "same.json",
        ],
    );
    e.claim("L", "later", 1, "2");
    e.ok(&["checkpoint", "L", "--key", OPERATOR_KEY]);
    let l8 = latest_checkpoint(&e, "L");
    let err = e.fails(
        2,
        &[
            "fork-evidence",
            l7s,
            l8.to_str().unwrap(),
            "--ledger",
            "L",
            "-o",
            "none.json",
        ],
    );
    assert!(err.contains("consistent"), "{err}");
    assert!(!e.path("none.json").exists());
    // Different sizes need B's tree: without a ledger, or with the wrong one, it is refused.
    let l8s = l8.to_str().unwrap();
    let err = e.fails(
        2,
        &["fork-evidence", m7s, l8s, "--trust", &vkey, "-o", "x.json"],
    );
    assert!(err.contains("--ledger"), "{err}");
    let err = e.fails(
        2,
        &["fork-evidence", m7s, l8s, "--ledger", "M", "-o", "x.json"],
    );
    assert!(err.contains("does not hold the tree"), "{err}");
    e.ok(&["fork-evidence", m7s, l8s, "--ledger", "L", "-o", "x.json"]);
    let out = e.fails(1, &["check-fork", "x.json", "--trust", &vkey]);
    assert!(out.contains("tree sizes 8 and 10"), "{out}");
    // Evidence under another key, or altered, is not evidence (exit 2).
    e.ok(&["key", "new", "other"]);
    let other = e
        .ok(&["key", "vkey", "keys/other.pub", "--origin", ORIGIN])
        .trim()
        .to_owned();
    let err = e.fails(2, &["check-fork", "x.json", "--trust", &other]);
    assert!(err.contains("NOT EVIDENCE"), "{err}");
    let text = fs::read_to_string(e.path("x.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let p = v["prefix_root"].as_str().unwrap();
    let mut q = p.as_bytes().to_vec();
    q[3] = if q[3] == b'A' { b'B' } else { b'A' };
    fs::write(
        e.path("y.json"),
        text.replace(p, std::str::from_utf8(&q).unwrap()),
    )
    .unwrap();
    let err = e.fails(2, &["check-fork", "y.json", "--trust", &vkey]);
    assert!(
        err.contains("NOT EVIDENCE") && err.contains("consistency_proof"),
        "{err}"
    );
    // A consistent pair, with a true proof, is checked as no fork (exit 0).
    let l = custody_store::Ledger::open(&e.path("L"), custody_store::Access::Read).unwrap();
    let t = custody_core::checkpoint::parse_vkey(&vkey).unwrap();
    let (a, b) =
        custody_core::fork::order(&t, &fs::read(&l7).unwrap(), &fs::read(&l8).unwrap()).unwrap();
    let ev = custody_core::fork::ForkEvidence {
        format: custody_core::fork::FORMAT.into(),
        origin: ORIGIN.into(),
        vkey: vkey.clone(),
        checkpoint_a: a.note().into(),
        checkpoint_b: b.note().into(),
        prefix_root: base64_of(&a.root().0),
        consistency_proof: l
            .prove_consistency(8, 10)
            .unwrap()
            .iter()
            .map(|h| base64_of(&h.0))
            .collect(),
    };
    let mut bytes = serde_json::to_vec_pretty(&ev).unwrap();
    bytes.push(b'\n');
    fs::write(e.path("ok.json"), bytes).unwrap();
    let out = e.ok(&["check-fork", "ok.json", "--trust", &vkey]);
    assert!(out.starts_with("NO FORK"), "{out}");
}

fn base64_of(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}
