//! A ledger directory is untrusted input (a shared drive, a sync folder, a seized laptop):
//! whoever can write it, with no keys, must never make custody write outside it, hang, or loop
//! forever. Each test plants one hostile file in a real ledger on disk and runs the real binary
//! under a time limit: symbolic links where custody writes a temporary file, a FIFO or a link
//! to `/dev/zero` where a checkpoint is expected. (A full duplicate table is dedup.rs's unit
//! tests: the table now lives in this machine's cache folder, not in the ledger.)

mod common;

use common::{bin, init_ledger, source_args, Work, OPERATOR_KEY, RESEARCHER_KEY};
use sha2::Digest as _;
use std::fs::{self, File};
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

const ORIGIN: &str = "example.org/hostile";
/// A run is killed after this long; every run here takes well under a second.
const LIMIT: Duration = Duration::from_secs(20);
const VICTIM: &[u8] = b"a file outside the ledger that custody must never write\n";
const REPORT: &str = "A report on forced repatriation.\n";
/// The name a checkpoint of 99 entries would have: where the hostile file goes.
const PLANTED_NOTE: &str = "L/checkpoints/000000000099-deadbeefdeadbeef.txt";

/// How a run ended.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// Runs `custody args` in `cwd` with no stdin, killing it if it outlives [`LIMIT`] (then the
/// test fails: custody hung). Output goes to files, so a full pipe can never stall it.
fn run_limited(cwd: &Path, args: &[&str]) -> Run {
    let out = tempfile::tempfile().unwrap();
    let err = tempfile::tempfile().unwrap();
    let started = Instant::now();
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .env_remove("CUSTODY_PASSPHRASE")
        // As `common::custody`: the verified caches of the whole test run in one folder.
        .env(
            "CUSTODY_CACHE_DIR",
            std::env::temp_dir().join("custody-test-cache"),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(err.try_clone().unwrap()))
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > LIMIT {
            child.kill().ok();
            child.wait().ok();
            panic!("custody {args:?} still running after {LIMIT:?}: it hung");
        }
        sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    let read = |mut f: File| {
        use std::io::{Read, Seek, SeekFrom};
        let mut s = String::new();
        f.seek(SeekFrom::Start(0)).unwrap();
        f.read_to_string(&mut s).unwrap();
        s
    };
    Run {
        code: status.code(),
        stdout: read(out),
        stderr: read(err),
        took,
    }
}

impl Run {
    fn ok(self, what: &str) -> Run {
        assert_eq!(self.code, Some(0), "{what}: {}{}", self.stdout, self.stderr);
        self
    }

    /// Exit 2 (an I/O or input refusal, not a failure of the evidence), no panic, one line.
    fn refused(self, what: &str) -> Run {
        assert_eq!(self.code, Some(2), "{what}: {}{}", self.stdout, self.stderr);
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        assert_eq!(self.stderr.lines().count(), 1, "{what}: {}", self.stderr);
        assert!(self.took < LIMIT / 2, "{what} took {:?}", self.took);
        self
    }
}

/// A keyed work dir with ledger `L` (0 genesis, 1 grant), a victim file beside it (outside the
/// ledger) and `report.txt` to store.
fn setup() -> Work {
    let w = Work::keyed();
    init_ledger(w.cwd(), "L", ORIGIN);
    fs::write(w.path("victim.txt"), VICTIM).unwrap();
    fs::write(w.path("report.txt"), REPORT).unwrap();
    w
}

fn assert_victim_untouched(w: &Work) {
    let p = w.path("victim.txt");
    let meta = fs::symlink_metadata(&p).unwrap();
    assert!(meta.is_file(), "the victim is no longer a regular file");
    assert_eq!(
        fs::read(&p).unwrap(),
        VICTIM,
        "custody wrote outside the ledger"
    );
}

fn is_symlink(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
}

fn mkfifo(p: &Path) {
    let st = Command::new("mkfifo").arg(p).status().unwrap();
    assert!(st.success(), "mkfifo {}", p.display());
}

#[test]
fn a_symlink_at_the_checkpoint_temp_file_is_not_written_through() {
    let w = setup();
    // init + grant + the state commitment `checkpoint` appends: the checkpoint is of 3
    // entries, written through checkpoints/.3.tmp.
    let tmp = w.path("L/checkpoints/.3.tmp");
    symlink(w.path("victim.txt"), &tmp).unwrap();
    let r = run_limited(w.cwd(), &["checkpoint", "L", "--key", OPERATOR_KEY]).ok("checkpoint");
    assert!(
        r.stdout.starts_with(&format!("{ORIGIN}\n3\n")),
        "{}",
        r.stdout
    );
    assert_victim_untouched(&w);
    assert!(
        fs::symlink_metadata(&tmp).is_err(),
        "the planted link is gone"
    );
    let notes: Vec<_> = fs::read_dir(w.path("L/checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(fs::symlink_metadata(&notes[0]).unwrap().is_file());
    assert_eq!(fs::read_to_string(&notes[0]).unwrap(), r.stdout);
    let r = run_limited(w.cwd(), &["verify", "L"]).ok("verify");
    assert!(
        r.stdout.contains("checkpoint ok: tree size 3"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_stale_checkpoint_temp_file_from_a_crash_does_not_block() {
    let w = setup();
    fs::write(w.path("L/checkpoints/.3.tmp"), "half a note").unwrap();
    run_limited(w.cwd(), &["checkpoint", "L", "--key", OPERATOR_KEY]).ok("checkpoint");
    assert!(!w.path("L/checkpoints/.3.tmp").exists());
    run_limited(w.cwd(), &["verify", "L"]).ok("verify");
}

#[test]
fn a_checkpoints_folder_that_links_outside_the_ledger_is_refused() {
    let w = setup();
    let outside = w.path("outside");
    fs::create_dir(&outside).unwrap();
    fs::remove_dir(w.path("L/checkpoints")).unwrap();
    symlink(&outside, w.path("L/checkpoints")).unwrap();
    let r = run_limited(w.cwd(), &["checkpoint", "L", "--key", OPERATOR_KEY]).refused("checkpoint");
    assert!(r.stderr.contains("L/checkpoints"), "{}", r.stderr);
    assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 0, "wrote outside");
}

#[test]
fn a_symlink_at_the_document_temp_file_is_not_written_through() {
    let w = setup();
    let hex = hex::encode(sha2::Sha256::digest(REPORT.as_bytes()));
    let tmp = w.path(&format!("L/documents/{hex}.tmp"));
    symlink(w.path("victim.txt"), &tmp).unwrap();
    let mut args = source_args("L", RESEARCHER_KEY, "2025-10-15", "ngo-report");
    args.push("--store");
    let r = run_limited(w.cwd(), &args).ok("add source --store");
    assert!(
        r.stdout.starts_with("entry 2 (source) appended"),
        "{}",
        r.stdout
    );
    assert_victim_untouched(&w);
    assert!(
        fs::symlink_metadata(&tmp).is_err(),
        "the planted link is gone"
    );
    let stored = w.path(&format!("L/documents/{hex}"));
    assert!(fs::symlink_metadata(&stored).unwrap().is_file());
    assert_eq!(fs::read_to_string(&stored).unwrap(), REPORT);
    run_limited(w.cwd(), &["verify", "L", "--documents"]).ok("verify --documents");
}

#[test]
fn a_symlink_in_place_of_a_stored_document_is_replaced_not_followed() {
    let w = setup();
    let hex = hex::encode(sha2::Sha256::digest(REPORT.as_bytes()));
    let stored = w.path(&format!("L/documents/{hex}"));
    symlink(w.path("victim.txt"), &stored).unwrap();
    let mut args = source_args("L", RESEARCHER_KEY, "2025-10-15", "ngo-report");
    args.push("--store");
    run_limited(w.cwd(), &args).ok("add source --store");
    assert_victim_untouched(&w);
    assert!(!is_symlink(&stored));
    assert_eq!(fs::read_to_string(&stored).unwrap(), REPORT);
    run_limited(w.cwd(), &["verify", "L", "--documents"]).ok("verify --documents");
}

#[test]
fn a_fifo_where_a_checkpoint_is_expected_is_refused_promptly() {
    let w = setup();
    mkfifo(&w.path(PLANTED_NOTE));
    let r = run_limited(w.cwd(), &["verify", "L"]).refused("verify");
    assert!(r.stderr.contains(PLANTED_NOTE), "{}", r.stderr);
    assert!(r.stderr.contains("FIFO"), "{}", r.stderr);
    // Commands that read the recorded checkpoints refuse it the same way.
    let r = run_limited(w.cwd(), &["export", "L", "--entry", "1", "-o", "b.json"]);
    assert_ne!(r.code, Some(0), "export: {}", r.stderr);
    assert!(r.took < LIMIT / 2);
}

#[test]
fn a_symlink_to_dev_zero_where_a_checkpoint_is_expected_is_refused_promptly() {
    let w = setup();
    symlink("/dev/zero", w.path(PLANTED_NOTE)).unwrap();
    let r = run_limited(w.cwd(), &["verify", "L"]).refused("verify");
    assert!(r.stderr.contains(PLANTED_NOTE), "{}", r.stderr);
    assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
}

#[test]
fn a_symlink_to_a_file_outside_where_a_checkpoint_is_expected_is_not_read() {
    let w = setup();
    run_limited(w.cwd(), &["checkpoint", "L", "--key", OPERATOR_KEY]).ok("checkpoint");
    // A real, valid note outside the ledger: linked in, it is still refused, not read.
    let note = fs::read_dir(w.path("L/checkpoints"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    fs::rename(&note, w.path("outside-note.txt")).unwrap();
    symlink(w.path("outside-note.txt"), &note).unwrap();
    let r = run_limited(w.cwd(), &["verify", "L"]).refused("verify");
    assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
}

#[test]
fn a_documents_folder_that_links_outside_the_ledger_is_refused() {
    let w = setup();
    let outside = w.path("outside");
    fs::create_dir(&outside).unwrap();
    fs::remove_dir(w.path("L/documents")).unwrap();
    symlink(&outside, w.path("L/documents")).unwrap();
    let mut args = source_args("L", RESEARCHER_KEY, "2025-10-15", "ngo-report");
    args.push("--store");
    let r = run_limited(w.cwd(), &args).refused("add source --store");
    assert!(r.stderr.contains("L/documents"), "{}", r.stderr);
    assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 0, "wrote outside");
    let r = run_limited(w.cwd(), &["verify", "L", "--documents"]).refused("verify --documents");
    assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
}
