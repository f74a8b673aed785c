//! Seals encrypted to age recipients (`add informant --seal-to age1... | --seal-to-file F`):
//! a court's or counsel's key opens them, the researcher's machine keeps nothing that does.
//! The real `age`/`age-keygen` CLI (Debian package `age`) makes the identity and opens the
//! seal's ciphertext too, so custody's seals are plain age files inside.

mod common;

use base64::Engine as _;
use common::{init_ledger, Work, RESEARCHER_KEY};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

fn keygen(w: &Work, name: &str) -> String {
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(w.path(name))
        .output()
        .expect("age-keygen (Debian package age) is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    fs::set_permissions(w.path(name), fs::Permissions::from_mode(0o600)).unwrap();
    let text = fs::read_to_string(w.path(name)).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .expect("public key line")
        .to_owned()
}

/// Ledger L: 0 genesis, 1 the researcher's grant (so the informant is entry 2).
fn ledger_with_researcher(w: &Work) {
    init_ledger(w.cwd(), "L", "example.org/seals");
    fs::write(w.path("who.txt"), "Kim, born 1980 in Hyesan\n").unwrap();
}

#[test]
fn a_seal_to_two_recipients_opens_with_either_identity_and_nothing_else() {
    let w = Work::keyed();
    ledger_with_researcher(&w);
    let court = keygen(&w, "court.txt");
    let counsel = keygen(&w, "counsel.txt");
    let _stranger = keygen(&w, "stranger.txt");
    fs::write(
        w.path("recipients.txt"),
        format!("# counsel\n{counsel}\n\n"),
    )
    .unwrap();
    w.ok(&[
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
        "source-a.seal",
        "--seal-to",
        &court,
        "--seal-to-file",
        "recipients.txt",
    ]);
    // An opening carries the identity (the file's text, final newline trimmed) in base64.
    let who = base64::engine::general_purpose::STANDARD.encode("Kim, born 1980 in Hyesan");
    let seal = fs::read_to_string(w.path("source-a.seal")).unwrap();
    assert!(!seal.contains(&who), "the identity is not in the clear");

    for id in ["court.txt", "counsel.txt"] {
        let opening = w.ok(&["disclose", "source-a.seal", "--identity", id]);
        assert!(opening.contains(&who), "{opening}");
        fs::write(w.path("opening.txt"), &opening).unwrap();
        let ok = w.ok(&["check-disclosure", "L", "2", "--opening", "opening.txt"]);
        assert!(ok.starts_with("OK: the opening matches entry 2"), "{ok}");
    }
    // The real age CLI opens the ciphertext inside the seal file with the court's identity.
    let b64: String = seal.lines().skip(1).collect();
    let ct = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .expect("seal body is base64 of an age file");
    fs::write(w.path("seal.age"), ct).unwrap();
    let out = Command::new("age")
        .args(["-d", "-i"])
        .arg(w.path("court.txt"))
        .arg(w.path("seal.age"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&who));

    let wrong = w.fails(
        2,
        &["disclose", "source-a.seal", "--identity", "stranger.txt"],
    );
    assert!(
        wrong.contains("is not encrypted to any identity in stranger.txt"),
        "{wrong}"
    );
    let none = w.fails(2, &["disclose", "source-a.seal"]);
    assert!(none.contains("pass --identity FILE"), "{none}");
}

#[test]
fn bad_recipients_are_refused_before_anything_is_written() {
    let w = Work::keyed();
    ledger_with_researcher(&w);
    let before = fs::read(w.path("L/entries")).unwrap();
    let e = w.fails(
        2,
        &[
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
            "s.seal",
            "--seal-to",
            "age1notakey",
        ],
    );
    assert!(e.contains("is not an age X25519 recipient"), "{e}");
    fs::write(w.path("r.txt"), "age1zzz\n").unwrap();
    let e = w.fails(
        2,
        &[
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
            "s.seal",
            "--seal-to-file",
            "r.txt",
        ],
    );
    assert!(e.contains("r.txt line 1"), "{e}");
    assert!(!w.path("s.seal").exists());
    assert_eq!(
        fs::read(w.path("L/entries")).unwrap(),
        before,
        "the ledger is untouched"
    );
}
