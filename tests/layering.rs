//! The workspace's promises, from the outside: an I/O failure is exit 2 with its path (never
//! "verification FAILED", exit 1); an OS error is said once; and every report states a
//! figure's standing the same way, because one walk in custody-core computes it.

mod common;

use common::{custody, run_json};
use std::fs;
use std::path::Path;

/// The sample ledger's log key, as `verify ledger` prints it.
const SAMPLE_VKEY: &str =
    "example.org/nk-repatriation+8655535d+AfU+RwjGMM+y/dbXYb12ZJxfsU6Ug3XnHwwqyacYwRGY";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of the bundled sample ledger in a temporary directory.
fn sample_copy(tmp: &Path) -> std::path::PathBuf {
    let dir = tmp.join("L");
    fs::create_dir_all(dir.join("checkpoints")).unwrap();
    for f in ["entries", "index", "hashes", "state.json", "dedup"] {
        let src = repo().join("ledger").join(f);
        if src.exists() {
            fs::copy(src, dir.join(f)).unwrap();
        }
    }
    for e in fs::read_dir(repo().join("ledger/checkpoints")).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), dir.join("checkpoints").join(e.file_name())).unwrap();
    }
    dir
}

#[test]
fn an_unreadable_entries_file_is_exit_2_with_its_path_not_a_failed_verification() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = sample_copy(tmp.path());
    // Reading /proc/self/mem at offset 0 fails with EIO: a real OS read error, even as root.
    fs::remove_file(dir.join("entries")).unwrap();
    std::os::unix::fs::symlink("/proc/self/mem", dir.join("entries")).unwrap();
    for args in [
        &["verify", "L"][..],
        &["verify", "L", "--json"],
        &["log", "L"],
    ] {
        let out = custody(tmp.path()).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("L/entries"), "{args:?}: {err}");
        assert!(err.contains("os error 5"), "{args:?}: {err}");
        assert!(!err.contains("FAILED"), "{args:?}: {err}");
    }
}

#[test]
fn a_short_entries_file_is_evidence_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = sample_copy(tmp.path());
    fs::write(dir.join("entries"), b"custody-log").unwrap();
    let out = custody(tmp.path()).args(["verify", "L"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("verification FAILED"), "{err}");
}

#[test]
fn an_os_error_is_said_once_with_its_path() {
    let tmp = tempfile::tempdir().unwrap();
    for args in [
        &["append", "nowhere", "missing.cust"][..],
        &["check", "missing.json", "--trust", SAMPLE_VKEY],
        &[
            "key",
            "grant",
            "nowhere",
            "--key",
            "k.key",
            "--pub",
            "missing.pub",
            "--role",
            "researcher",
        ],
    ] {
        let out = custody(tmp.path()).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.matches("os error").count(), 1, "{args:?}: {err}");
        assert!(err.contains("missing."), "{args:?}: {err}");
    }
}

#[test]
fn every_report_gives_a_figure_the_same_standing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = sample_copy(tmp.path());
    let (code, v) = run_json(tmp.path(), &["verify", "L", "--json"]);
    assert_eq!(code, 0, "{v}");
    let vkey = v["vkey"].as_str().unwrap().to_string();
    let figures = v["figures"].as_array().unwrap().clone();
    assert_eq!(figures.len(), 2);
    let fields = [
        "entry",
        "published",
        "terms",
        "current",
        "changed_by",
        "retracted_at",
    ];
    for f in &figures {
        let index = f["entry"].as_u64().unwrap();
        let (code, fig) = run_json(tmp.path(), &["figure", "L", &index.to_string(), "--json"]);
        assert_eq!(code, 0);
        for k in fields {
            assert_eq!(
                fig[k], f[k],
                "figure {index}: {k} differs between figure and verify"
            );
        }
        // The bundle of the same figure, checked offline, says the same.
        let out = format!("f{index}.json");
        let exported = custody(tmp.path())
            .args(["export", "L", "--figure", &index.to_string(), "-o", &out])
            .output()
            .unwrap();
        assert!(exported.status.success(), "{exported:?}");
        let (code, chk) = run_json(tmp.path(), &["check", &out, "--trust", &vkey, "--json"]);
        assert_eq!(code, 0, "{chk}");
        for k in fields {
            assert_eq!(
                chk["standing"][k], f[k],
                "figure {index}: {k} differs in check"
            );
        }
    }
    assert!(dir.join("entries").exists());
}
