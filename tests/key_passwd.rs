//! `key passwd`: a key's passphrase can be changed, added or removed; the file is replaced
//! atomically with mode 0600 and the same key id, and a wrong current passphrase changes
//! nothing.

mod common;

use common::custody;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn sign_with(dir: &Path, pass: Option<&str>) -> std::process::Output {
    let mut c = custody(dir);
    c.args([
        "sign",
        "claim",
        "--key",
        "keys/k.key",
        "--origin",
        "example.org/p",
        "-o",
    ]);
    c.arg(format!("c{}.cust", rand_suffix()));
    c.args([
        "--statement",
        "s",
        "--category",
        "c",
        "--period",
        "2024",
        "--source",
        "2",
    ]);
    if let Some(p) = pass {
        c.env("CUSTODY_PASSPHRASE", p);
    }
    c.output().unwrap()
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn key_id(dir: &Path) -> String {
    let out = custody(dir)
        .args(["key", "show", "keys/k.pub"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_passphrase_is_changed_added_and_removed_and_a_wrong_one_changes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let ok = custody(d)
        .args(["key", "new", "k", "--encrypt"])
        .env("CUSTODY_PASSPHRASE", "old passphrase")
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let id = key_id(d);

    // A wrong current passphrase: refused, the file byte for byte as it was.
    let before = fs::read(d.join("keys/k.key")).unwrap();
    let wrong = custody(d)
        .args(["key", "passwd", "keys/k.key"])
        .env("CUSTODY_PASSPHRASE", "not it")
        .env("CUSTODY_NEW_PASSPHRASE", "new passphrase")
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("CUSTODY_PASSPHRASE"));
    assert_eq!(fs::read(d.join("keys/k.key")).unwrap(), before);

    // An empty new passphrase is refused too.
    let empty = custody(d)
        .args(["key", "passwd", "keys/k.key"])
        .env("CUSTODY_PASSPHRASE", "old passphrase")
        .env("CUSTODY_NEW_PASSPHRASE", "")
        .output()
        .unwrap();
    assert_eq!(empty.status.code(), Some(2));
    assert_eq!(fs::read(d.join("keys/k.key")).unwrap(), before);

    let changed = custody(d)
        .args(["key", "passwd", "keys/k.key"])
        .env("CUSTODY_PASSPHRASE", "old passphrase")
        .env("CUSTODY_NEW_PASSPHRASE", "new passphrase")
        .output()
        .unwrap();
    assert!(
        changed.status.success(),
        "{}",
        String::from_utf8_lossy(&changed.stderr)
    );
    assert!(String::from_utf8_lossy(&changed.stdout).contains("passphrase changed"));
    let mode = fs::metadata(d.join("keys/k.key"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    assert!(!sign_with(d, Some("old passphrase")).status.success());
    assert!(sign_with(d, Some("new passphrase")).status.success());
    assert_eq!(key_id(d), id, "the same key");
    assert!(!d.join("keys/k.key.tmp").exists());

    let removed = custody(d)
        .args(["key", "passwd", "keys/k.key", "--remove"])
        .env("CUSTODY_PASSPHRASE", "new passphrase")
        .output()
        .unwrap();
    assert!(
        removed.status.success(),
        "{}",
        String::from_utf8_lossy(&removed.stderr)
    );
    assert!(sign_with(d, None).status.success());
    assert_eq!(key_id(d), id);
}
