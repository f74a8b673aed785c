//! The workspace's promises, from the outside: an I/O failure is exit 2 with its path (never
//! "verification FAILED", exit 1); an OS error is said once; and every report states a
//! figure's standing the same way, because one walk in custody-core computes it.

mod common;

use common::{custody, run_json};
use std::fs;
use std::path::Path;

/// The sample ledger's log key, as `verify ledger` prints it.
const SAMPLE_VKEY: &str =
    "example.org/nk-repatriation+f9a145b3+AX+BZNE5rg7MKWCbianZPfm2rLq5uUZBe1x8lRM5eayA";

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

/// `custody args` under strace, with every `syscalls` call on `file` failing with EIO: a real
/// disk error at the OS interface, whoever runs the test (root reads anything chmod forbids).
fn with_eio(cwd: &Path, file: &Path, syscalls: &str, args: &[&str]) -> std::process::Output {
    let strace = std::process::Command::new("strace")
        .arg("-V")
        .output()
        .expect("these tests need strace (.ci/run installs it: apt-get install strace)");
    assert!(strace.status.success());
    std::process::Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "-P"])
        .arg(file)
        .args(["-e", &format!("trace={syscalls}")])
        .args(["-e", &format!("inject={syscalls}:error=EIO")])
        .arg(common::bin())
        .args(args)
        .current_dir(cwd)
        .env("CUSTODY_CACHE_DIR", cwd.join("cache"))
        .output()
        .unwrap()
}

#[test]
fn an_unreadable_entries_file_is_exit_2_with_its_path_not_a_failed_verification() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = sample_copy(tmp.path());
    let entries = dir.join("entries");
    // The magic (a positional read), then the stream of frames (plain reads).
    for syscalls in ["pread64", "read"] {
        for args in [
            &["verify", "L"][..],
            &["verify", "L", "--json"],
            &["log", "L"],
        ] {
            let out = with_eio(tmp.path(), &entries, syscalls, args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{syscalls} {args:?}: {err}");
            assert!(err.contains("L/entries"), "{syscalls} {args:?}: {err}");
            assert!(err.contains("os error 5"), "{syscalls} {args:?}: {err}");
            assert!(!err.contains("FAILED"), "{syscalls} {args:?}: {err}");
        }
    }
    // Without the fault the same ledger verifies: the exit 2 was the disk's.
    let out = custody(tmp.path()).args(["verify", "L"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn an_entries_file_that_is_a_link_is_refused_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = sample_copy(tmp.path());
    fs::rename(dir.join("entries"), tmp.path().join("elsewhere")).unwrap();
    std::os::unix::fs::symlink(tmp.path().join("elsewhere"), dir.join("entries")).unwrap();
    for args in [&["verify", "L"][..], &["log", "L"]] {
        let out = custody(tmp.path()).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("L/entries") && err.contains("symbolic link"),
            "{err}"
        );
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
