//! RFC 3161 trusted time against a real peer: OpenSSL's TSA (`openssl ts -reply`) behind a
//! small HTTP shim on 127.0.0.1, with a root CA and TSA certificates made by `openssl` in a
//! temporary directory and genTime frozen by `faketime`. custody asks it for tokens with
//! `custody timestamp`, stores them, and `custody verify` / `custody check` verify them; OpenSSL's
//! own `openssl ts -verify` must accept every token custody stores and refuse the tampered ones,
//! as custody does.
//!
//! Needs the Debian packages `openssl` and `faketime` (installed by `.ci/run`).

mod common;
#[path = "common/tsa.rs"]
mod tsa;

use common::{run, run_ok, sample_copy};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use tempfile::TempDir;
use tsa::{sh, Answer, Pki, TsaServer, STAMP_RFC3339};

/// The sample ledger's log key (docs/JSON.md).
const SAMPLE_VKEY: &str =
    "example.org/nk-repatriation+f9a145b3+AX+BZNE5rg7MKWCbianZPfm2rLq5uUZBe1x8lRM5eayA";
const SAMPLE_CHECKPOINT: &str = "ledger/checkpoints/000000000033-0b7a598f59a3c9fb.txt";

/// A copy of the sample with its checkpoint as the log signed it (the sample's witness lines,
/// docs/SAMPLE.md, dropped): these tests stamp and tamper with the bare note.
fn unwitnessed_sample() -> TempDir {
    let work = sample_copy();
    let path = work.path().join(SAMPLE_CHECKPOINT);
    let note = std::fs::read_to_string(&path).unwrap();
    let bare: String = note
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("— ") || l.starts_with("— example.org/nk-repatriation "))
        .collect();
    assert!(
        bare.len() < note.len(),
        "the sample's checkpoint is witnessed"
    );
    std::fs::write(&path, bare).unwrap();
    work
}

/// The sample's figure-406 bundle as exported before tokens and policies existed: its
/// `timestamps` and `policy` members removed (they are outside what the proofs cover).
fn tokenless_sample_bundle() -> Vec<u8> {
    use custody_core::bundle;
    let dir = env!("CARGO_MANIFEST_DIR");
    let bytes = std::fs::read(format!("{dir}/ledger/bundles/figure-406.json")).unwrap();
    let mut b: bundle::Bundle = serde_json::from_slice(&bytes).unwrap();
    assert!(b.timestamps.is_some() && b.policy.is_some());
    b.timestamps = None;
    b.policy = None;
    bundle::to_canonical_bytes(&b).unwrap()
}

/// The token files in a ledger's checkpoints/.
fn tokens(ledger: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(ledger.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "tsr"))
        .collect();
    v.sort();
    v
}

/// The path custody says it stored the token in.
fn stored_path(stdout: &str) -> PathBuf {
    let line = stdout
        .lines()
        .find(|l| l.contains("token stored in") || l.contains("was already stored in"))
        .unwrap_or_else(|| panic!("no stored line in {stdout}"));
    PathBuf::from(line.rsplit(' ').next().unwrap())
}

/// `openssl ts -verify` of a stored token over the log-signed note file, trusting `root`.
fn openssl_verify(cwd: &Path, data: &Path, token: &Path, root: &Path) -> std::process::Output {
    sh(
        cwd,
        &[
            "openssl",
            "ts",
            "-verify",
            "-data",
            data.to_str().unwrap(),
            "-in",
            token.to_str().unwrap(),
            "-token_in",
            "-CAfile",
            root.to_str().unwrap(),
        ],
    )
}

fn sample_root() -> String {
    format!("{}/keys/sample-tsa-root.pem", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn openssl_tsa_tokens_are_fetched_verified_stored_and_accepted_by_openssl() {
    let pki = Pki::new("custody timestamp test root");
    let root = pki.root();
    let work = unwitnessed_sample();
    let cwd = work.path();
    let ledger = cwd.join("ledger");
    let before = tokens(&ledger);
    assert_eq!(
        before.len(),
        1,
        "the sample ledger carries one token of the test TSA"
    );
    let configs = [
        ("ec256", "prime256v1", "sha256", "sha256", "ECDSA P-256"),
        (
            "ec256-ess1",
            "prime256v1",
            "sha256",
            "sha1",
            "ECDSA P-256, ESSCertID v1",
        ),
        ("ec384", "secp384r1", "sha384", "sha256", "ECDSA P-384"),
        ("rsa", "rsa", "sha256", "sha256", "RSA"),
        ("rsa-sha512", "rsa", "sha512", "sha512", "RSA, SHA-512"),
    ];
    let mut stored = Vec::new();
    for (name, key, digest, ess, what) in configs {
        let dir = pki.tsa(name, key, digest, ess);
        let server = TsaServer::start(dir, Answer::OpenSsl);
        let out = run_ok(
            cwd,
            &[
                "timestamp",
                "ledger",
                "--tsa",
                &server.url(),
                "--tsa-cert",
                root.to_str().unwrap(),
            ],
        );
        assert_eq!(server.served.load(Ordering::SeqCst), 1, "{what}");
        let first = out.lines().next().unwrap();
        assert_eq!(
            first,
            format!(
                "the checkpoint at tree size 33 existed no later than {STAMP_RFC3339} (CN=TSA {name},O=custody timestamp test)"
            ),
            "{what}"
        );
        let token = cwd.join(stored_path(&out));
        assert!(token.starts_with(&ledger), "{what}: {}", token.display());
        // custody stores the bare token from the TSA's granted response.
        let answer = server.last_answer.lock().unwrap().clone();
        let bytes = std::fs::read(&token).unwrap();
        assert!(
            answer.len() > bytes.len() && answer.ends_with(&bytes),
            "{what}"
        );
        // OpenSSL accepts what custody stored, over the log-signed note (the sample checkpoint
        // has no cosignatures, so it is the recorded file itself).
        let v = openssl_verify(cwd, &cwd.join(SAMPLE_CHECKPOINT), &token, &root);
        assert!(
            v.status.success() && String::from_utf8_lossy(&v.stdout).contains("Verification: OK"),
            "{what}: openssl ts -verify: {} {}",
            String::from_utf8_lossy(&v.stdout),
            String::from_utf8_lossy(&v.stderr)
        );
        stored.push((name, token));
    }
    assert_eq!(
        tokens(&ledger).len(),
        1 + configs.len(),
        "tokens sit side by side"
    );

    // verify checks every stored token, offline, against the roots given (the sample token's
    // root too), one line each.
    let out = run_ok(
        cwd,
        &[
            "verify",
            "ledger",
            "--tsa-cert",
            root.to_str().unwrap(),
            "--tsa-cert",
            &sample_root(),
        ],
    );
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("timestamp ok:"))
        .collect();
    assert_eq!(lines.len(), 1 + configs.len(), "{out}");
    for (name, token) in &stored {
        let want = format!(
            "  timestamp ok: the checkpoint at tree size 33 existed no later than {STAMP_RFC3339} (CN=TSA {name},O=custody timestamp test), token {}",
            token.strip_prefix(cwd).unwrap().display()
        );
        assert!(out.contains(&want), "{want}\n{out}");
    }
    // Without --tsa-cert: present, not checked, in one line.
    let out = run_ok(cwd, &["verify", "ledger"]);
    assert!(
        out.contains("  timestamps: 6 time-stamp tokens present, not checked (give --tsa-cert ROOT.pem to check)"),
        "{out}"
    );
    assert!(!out.contains("existed no later than"), "{out}");
    // Only the test root: the sample token is refused, naming its file (exit 1).
    let out = run(
        cwd,
        &["verify", "ledger", "--tsa-cert", root.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(before[0].file_name().unwrap().to_str().unwrap()),
        "{err}"
    );
    assert!(err.contains("not among the trusted roots"), "{err}");

    // Asking again for the same checkpoint adds a token (a fresh nonce, a new serial).
    let dir = pki.dir.path().join("ec256");
    let server = TsaServer::start(dir, Answer::OpenSsl);
    let out = run_ok(
        cwd,
        &[
            "timestamp",
            "ledger",
            "--tsa",
            &server.url(),
            "--tsa-cert",
            root.to_str().unwrap(),
        ],
    );
    assert!(out.contains("token stored in"), "{out}");
    assert_eq!(tokens(&ledger).len(), 2 + configs.len());
}

#[test]
fn a_cosigned_checkpoint_is_stamped_as_the_log_signed_it() {
    let pki = Pki::new("custody cosigned test root");
    let root = pki.root();
    let work = unwitnessed_sample();
    let cwd = work.path();
    let recorded = std::fs::read_to_string(cwd.join(SAMPLE_CHECKPOINT)).unwrap();
    let cosigned = format!(
        "{recorded}— witness.example/w1 AAAAAQAAAAAAAAAAYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo=\n"
    );
    std::fs::write(cwd.join("cosigned.txt"), &cosigned).unwrap();
    let server = TsaServer::start(
        pki.tsa("ec256", "prime256v1", "sha256", "sha256"),
        Answer::OpenSsl,
    );
    let out = run_ok(
        cwd,
        &[
            "timestamp",
            "ledger",
            "--tsa",
            &server.url(),
            "--tsa-cert",
            root.to_str().unwrap(),
            "--checkpoint",
            "cosigned.txt",
        ],
    );
    let token = cwd.join(stored_path(&out));
    // Stored beside the recorded checkpoint, which is left as it was.
    assert!(token
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("000000000033-0b7a598f59a3c9fb."));
    assert_eq!(
        std::fs::read_to_string(cwd.join(SAMPLE_CHECKPOINT)).unwrap(),
        recorded
    );
    // OpenSSL: the token stamps the log-signed note, not the cosigned copy.
    let ok = openssl_verify(cwd, &cwd.join(SAMPLE_CHECKPOINT), &token, &root);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let bad = openssl_verify(cwd, &cwd.join("cosigned.txt"), &token, &root);
    assert!(!bad.status.success());
    run_ok(
        cwd,
        &[
            "verify",
            "ledger",
            "--tsa-cert",
            root.to_str().unwrap(),
            "--tsa-cert",
            &sample_root(),
        ],
    );
}

#[test]
fn tampered_tokens_and_checkpoints_are_refused_by_custody_and_openssl() {
    let pki = Pki::new("custody tamper test root");
    let root = pki.root();
    let root_s = root.to_str().unwrap().to_owned();
    let sample_root = sample_root();
    let verify_args = [
        "verify",
        "ledger",
        "--tsa-cert",
        &root_s,
        "--tsa-cert",
        &sample_root,
    ];
    let work = unwitnessed_sample();
    let cwd = work.path();
    let server = TsaServer::start(
        pki.tsa("ec256", "prime256v1", "sha256", "sha256"),
        Answer::OpenSsl,
    );
    let out = run_ok(
        cwd,
        &[
            "timestamp",
            "ledger",
            "--tsa",
            &server.url(),
            "--tsa-cert",
            &root_s,
        ],
    );
    let token = cwd.join(stored_path(&out));
    let note = cwd.join(SAMPLE_CHECKPOINT);
    let good = std::fs::read(&token).unwrap();

    // One real byte: the last digit of genTime inside the signed TSTInfo (…040506Z -> …040507Z).
    let pos = good
        .windows(15)
        .position(|w| w == b"20260203040506Z")
        .unwrap()
        + 13;
    let mut bad = good.clone();
    bad[pos] = b'7';
    std::fs::write(&token, &bad).unwrap();
    let out = run(cwd, &verify_args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let name = token.file_name().unwrap().to_str().unwrap();
    assert!(
        err.contains(name) && err.contains("altered after signing"),
        "{err}"
    );
    assert!(!openssl_verify(cwd, &note, &token, &root).status.success());

    // One byte of the signature.
    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 3] ^= 0x01;
    std::fs::write(&token, &bad).unwrap();
    let err = String::from_utf8_lossy(&run(cwd, &verify_args).stderr).into_owned();
    assert!(
        err.contains(name) && err.contains("signature does not verify"),
        "{err}"
    );
    assert!(!openssl_verify(cwd, &note, &token, &root).status.success());

    // The real token again verifies with both.
    std::fs::write(&token, &good).unwrap();
    run_ok(cwd, &verify_args);
    assert!(openssl_verify(cwd, &note, &token, &root).status.success());

    // A tampered checkpoint: custody refuses the checkpoint (exit 1, naming it), OpenSSL the
    // token over it.
    let text = std::fs::read_to_string(&note).unwrap();
    let tampered = text.replacen("\n33\n", "\n28\n", 1);
    assert_ne!(tampered, text);
    std::fs::write(&note, &tampered).unwrap();
    let out = run(cwd, &verify_args);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("000000000033-0b7a598f59a3c9fb.txt"), "{err}");
    assert!(!openssl_verify(cwd, &note, &token, &root).status.success());
    std::fs::write(&note, &text).unwrap();

    // A token with no checkpoint beside it.
    let orphan = token.with_file_name("000000000033-0123456789abcdef.0123456789abcdef.tsr");
    std::fs::write(&orphan, &good).unwrap();
    let err = String::from_utf8_lossy(&run(cwd, &verify_args).stderr).into_owned();
    assert!(
        err.contains("000000000033-0123456789abcdef.0123456789abcdef.tsr")
            && err.contains("not recorded beside it"),
        "{err}"
    );
}

#[test]
fn answers_that_do_not_verify_are_never_stored() {
    let pki = Pki::new("custody refusal test root");
    let root = pki.root();
    let root_s = root.to_str().unwrap().to_owned();
    let other = Pki::new("custody other root");
    let work = unwitnessed_sample();
    let cwd = work.path();
    let ledger = cwd.join("ledger");
    let dir = pki.tsa("ec256", "prime256v1", "sha256", "sha256");

    // A real answer, kept to be replayed.
    let server = TsaServer::start(dir.clone(), Answer::OpenSsl);
    run_ok(
        cwd,
        &[
            "timestamp",
            "ledger",
            "--tsa",
            &server.url(),
            "--tsa-cert",
            &root_s,
        ],
    );
    let old = server.last_answer.lock().unwrap().clone();
    drop(server);
    let count = tokens(&ledger).len();

    // Replayed: the nonce is not the one sent.
    let server = TsaServer::start(dir.clone(), Answer::Fixed(old));
    let out = run(
        cwd,
        &[
            "timestamp",
            "ledger",
            "--tsa",
            &server.url(),
            "--tsa-cert",
            &root_s,
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nonce") && err.contains("does not verify"),
        "{err}"
    );
    assert_eq!(tokens(&ledger).len(), count);

    // A TSA the user does not trust.
    let server = TsaServer::start(dir.clone(), Answer::OpenSsl);
    let out = run(
        cwd,
        &[
            "timestamp",
            "ledger",
            "--tsa",
            &server.url(),
            "--tsa-cert",
            other.root().to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not among the trusted roots"));
    assert_eq!(tokens(&ledger).len(), count);

    // Garbage, an HTTP error, nobody listening: one line, exit 2 or 1, nothing stored.
    let server = TsaServer::start(dir.clone(), Answer::Fixed(b"<html>oops</html>".to_vec()));
    let out = run(
        cwd,
        &[
            "timestamp",
            "ledger",
            "--tsa",
            &server.url(),
            "--tsa-cert",
            &root_s,
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid DER"));
    let server = TsaServer::start(dir.clone(), Answer::Status(500));
    let out = run(
        cwd,
        &[
            "timestamp",
            "ledger",
            "--tsa",
            &server.url(),
            "--tsa-cert",
            &root_s,
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("answered HTTP 500"));
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let out = run(
        cwd,
        &[
            "timestamp",
            "ledger",
            "--tsa",
            &format!("http://{closed}/"),
            "--tsa-cert",
            &root_s,
            "--timeout",
            "5",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach the TSA"));
    assert_eq!(tokens(&ledger).len(), count);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

#[test]
fn bundles_carry_the_checkpoints_tokens_and_check_them_offline() {
    let pki = Pki::new("custody bundle test root");
    let root = pki.root();
    let root_s = root.to_str().unwrap().to_owned();
    let sample_root = sample_root();
    let work = unwitnessed_sample();
    let cwd = work.path();
    let server = TsaServer::start(
        pki.tsa("ec384", "secp384r1", "sha384", "sha256"),
        Answer::OpenSsl,
    );
    run_ok(
        cwd,
        &[
            "timestamp",
            "ledger",
            "--tsa",
            &server.url(),
            "--tsa-cert",
            &root_s,
        ],
    );
    run_ok(cwd, &["export", "ledger", "--figure", "27", "-o", "b.json"]);
    let bundle: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cwd.join("b.json")).unwrap()).unwrap();
    assert_eq!(bundle["timestamps"].as_array().unwrap().len(), 2);

    let check = |extra: &[&str]| {
        let mut args = vec!["check", "b.json", "--trust", SAMPLE_VKEY];
        args.extend_from_slice(extra);
        run(cwd, &args)
    };
    let out = check(&["--tsa-cert", &root_s, "--tsa-cert", &sample_root]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!(
        "  the checkpoint at tree size 33 existed no later than {STAMP_RFC3339} (CN=TSA ec384,O=custody timestamp test)"
    )), "{text}");
    assert!(text.contains(
        "  the checkpoint at tree size 33 existed no later than 2026-01-15T12:00:00Z (CN=custody test TSA P-256,O=custody test TSA)"
    ), "{text}");
    let out = check(&[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("  2 time-stamp tokens over the checkpoint present, not checked (give --tsa-cert ROOT.pem to check)"));
    let (code, json) = common::run_json(
        cwd,
        &[
            "check",
            "b.json",
            "--trust",
            SAMPLE_VKEY,
            "--tsa-cert",
            &root_s,
            "--tsa-cert",
            &sample_root,
            "--json",
        ],
    );
    assert_eq!(code, 0);
    let stamps = json["timestamps"].as_array().unwrap();
    assert_eq!(stamps.len(), 2);
    assert!(stamps
        .iter()
        .all(|s| s["checked"] == true && s["file"].is_null()));
    assert!(stamps.iter().any(|s| s["gen_time"] == STAMP_RFC3339));

    // One real byte of one token changed (re-encoded, so the bundle stays canonical JSON).
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let tok = bundle["timestamps"][0].as_str().unwrap().to_owned();
    let mut der = b64.decode(&tok).unwrap();
    let n = der.len();
    der[n - 2] ^= 0x01;
    let text = std::fs::read_to_string(cwd.join("b.json")).unwrap();
    assert_eq!(text.matches(&tok).count(), 1);
    std::fs::write(cwd.join("bad.json"), text.replace(&tok, &b64.encode(&der))).unwrap();
    let out = run(
        cwd,
        &[
            "check",
            "bad.json",
            "--trust",
            SAMPLE_VKEY,
            "--tsa-cert",
            &root_s,
            "--tsa-cert",
            &sample_root,
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("timestamps: token 0"));
    // Without roots the tampered token is carried, not checked.
    let out = run(cwd, &["check", "bad.json", "--trust", SAMPLE_VKEY]);
    assert_eq!(out.status.code(), Some(0));

    // A bundle exported before tokens existed still checks, with or without roots.
    std::fs::write(cwd.join("old.json"), tokenless_sample_bundle()).unwrap();
    let old = "old.json".to_owned();
    let out = run(
        cwd,
        &["check", &old, "--trust", SAMPLE_VKEY, "--tsa-cert", &root_s],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("time-stamp"));
}

#[test]
fn the_bundle_member_is_optional_bounded_and_canonical() {
    use custody_core::bundle::{self, BundleError};
    use custody_core::checkpoint::parse_vkey;
    let dir = env!("CARGO_MANIFEST_DIR");
    let old = tokenless_sample_bundle();
    let token = std::fs::read(format!("{dir}/tests/testdata/tsa/ec256.tsr")).unwrap();
    let vkey = parse_vkey(SAMPLE_VKEY).unwrap();
    // An old bundle has no member and checks as before; attaching nothing keeps its bytes.
    assert!(bundle::verify(&old, &vkey, None)
        .unwrap()
        .timestamps
        .is_empty());
    assert_eq!(bundle::attach_timestamps(&old, &[]).unwrap(), old);
    // Attached, the token travels as canonical base64 after `entries` and `completeness` (the
    // sample bundle's last member) and decodes back.
    let with = bundle::attach_timestamps(&old, std::slice::from_ref(&token)).unwrap();
    let text = String::from_utf8(with.clone()).unwrap();
    let b64 = base64_of(&token);
    assert!(text.ends_with(&format!(
        "  }},\n  \"timestamps\": [\n    \"{b64}\"\n  ]\n}}\n"
    )));
    let v = bundle::verify(&with, &vkey, None).unwrap();
    assert_eq!(v.timestamps, vec![token.clone()]);
    // An empty list, more than 16 tokens, or base64 that is not canonical is refused.
    let empty = text.replacen(
        &format!("\"timestamps\": [\n    \"{b64}\"\n  ]"),
        "\"timestamps\": []",
        1,
    );
    assert_ne!(empty, text);
    assert!(matches!(
        bundle::verify(empty.as_bytes(), &vkey, None),
        Err(BundleError::Member {
            member: "timestamps",
            ..
        })
    ));
    let many = vec![token.clone(); bundle::MAX_BUNDLE_TIMESTAMPS + 1];
    assert!(bundle::attach_timestamps(&old, &many).is_err());
    // Not canonical: padding dropped (when the token's length leaves any), or the base64
    // wrapped at 64 characters as PEM and MIME do (always possible).
    let unpadded = text.replacen(&b64, b64.trim_end_matches('='), 1);
    let wrapped = text.replacen(&b64, &format!("{}\\n{}", &b64[..64], &b64[64..]), 1);
    assert_ne!(wrapped, text);
    for sloppy in [unpadded, wrapped].iter().filter(|s| **s != text) {
        assert!(matches!(
            bundle::verify(sloppy.as_bytes(), &vkey, None),
            Err(BundleError::Member {
                member: "timestamps",
                ..
            })
        ));
    }
}

fn base64_of(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}
