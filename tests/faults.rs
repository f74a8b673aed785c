//! Real fault injection at the OS interface: `strace -P <file> -e inject=...` makes the kernel
//! calls on one file fail (ENOSPC on a write, EIO on an fsync), and RLIMIT_FSIZE makes a write
//! genuinely short. Whatever fails, no acknowledged entry is lost or duplicated, nothing
//! unacknowledged is left behind, and custody says what happened:
//!
//! - a failed write or fsync of the entries file: exit 2 with one `custody: error:` line naming
//!   the entries file, no "appended", the entries file byte-identical to before (a partial
//!   write is cut back), and a retry appends the submission exactly once;
//! - a failed write of this machine's caches after the entry is durable: exit 0, "appended",
//!   a `custody: warning:` about the cache, the entry once in the ledger, and a retry of the
//!   same `.cust` refused as "already entry N";
//! - a partial write whose cut-back fails too: a torn tail that every later command names and
//!   `custody repair` cuts, after which the retry appends once.
//!
//! Every command of a scenario runs with the scenario's own `CUSTODY_CACHE_DIR`, so the tests
//! know where the caches are (`$CUSTODY_CACHE_DIR/<32 hex>/{state.json,index,hashes,dedup}`),
//! and every child process is killed if it runs for more than 30 s.

mod common;

use common::{
    claim_args, custody, frames, init_args, key_args, sign_claim_args, source_args, Work,
    OPERATOR_KEY, RESEARCHER_KEY, RESEARCHER_PUB,
};
use std::ffi::OsString;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const ORIGIN: &str = "example.org/faults";
/// No child process of these tests may run longer.
const LIMIT: Duration = Duration::from_secs(30);

/// One fault: the syscalls traced on `file` and the injection (strace's `-e inject=` value).
struct Fault<'a> {
    file: &'a Path,
    trace: &'a str,
    inject: &'a str,
}

/// What a faulty run did: its output and strace's record of the calls on the file.
struct Run {
    out: Output,
    trace: String,
}

impl Run {
    fn code(&self) -> Option<i32> {
        self.out.status.code()
    }
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    fn show(&self) -> String {
        format!(
            "exit {:?}\nstdout: {}\nstderr: {}\nstrace: {}",
            self.code(),
            self.stdout(),
            self.stderr(),
            self.trace
        )
    }
    /// The injection fired (else the test would pass without testing anything).
    fn assert_injected(&self) {
        assert!(
            self.trace.contains("(INJECTED)"),
            "the fault was never injected:\n{}",
            self.show()
        );
    }
}

/// Runs `cmd` in its own process group, killing the whole group after [`LIMIT`].
fn bounded(mut cmd: Command) -> Output {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let shown = format!("{cmd:?}");
    let mut child = cmd.spawn().expect("cannot start the command");
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            // The group is this child's own (process_group(0)): strace and its tracees.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            panic!("{shown} still running after {LIMIT:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    }
}

fn tool_present(name: &str) {
    let out = bounded({
        let mut c = Command::new(name);
        c.arg("--version");
        c
    });
    assert!(
        out.status.success(),
        "these tests need {name} (apt-get install strace util-linux)"
    );
}

/// A work dir with keys and ledger `L`: 0 genesis, 1 grant of the researcher, 2 a source.
struct Scene {
    work: Work,
    cache: PathBuf,
    entries: PathBuf,
    runs: std::cell::Cell<u32>,
}

impl Scene {
    fn new() -> Scene {
        tool_present("strace");
        tool_present("prlimit");
        let work = Work::keyed();
        let cwd = fs::canonicalize(work.cwd()).unwrap();
        let cache = cwd.join("cache");
        let s = Scene {
            entries: cwd.join("L").join("entries"),
            work,
            cache,
            runs: std::cell::Cell::new(0),
        };
        s.ok(&init_args("L", ORIGIN, OPERATOR_KEY));
        s.ok(&key_args(
            "grant",
            "L",
            OPERATOR_KEY,
            RESEARCHER_PUB,
            "researcher",
        ));
        fs::write(s.work.path("report.txt"), b"a report\n").unwrap();
        s.ok(&source_args("L", RESEARCHER_KEY, "2024-01", "ngo-report"));
        assert_eq!(s.verified(), 3);
        s
    }

    /// `custody args` with this scene's cache folder, bounded in time.
    fn run(&self, args: &[&str]) -> Output {
        custody(self.work.cwd())
            .env("CUSTODY_CACHE_DIR", &self.cache)
            .timeout(LIMIT)
            .args(args)
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "custody {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `custody args` with `fault` injected by strace and, with `fsize`, the file size limited
    /// to that many bytes (SIGXFSZ ignored, so a write past it is short, then EFBIG).
    fn faulty(&self, fault: Option<&Fault>, fsize: Option<u64>, args: &[&str]) -> Run {
        let n = self.runs.get() + 1;
        self.runs.set(n);
        let trace_file = self.work.path(&format!("strace-{n}.txt"));
        let mut argv: Vec<OsString> = Vec::new();
        if let Some(f) = fault {
            argv.extend(["strace", "-f", "-qq", "-o"].map(OsString::from));
            argv.push(trace_file.clone().into());
            argv.push("-P".into());
            argv.push(f.file.into());
            argv.push("-e".into());
            argv.push(format!("trace={}", f.trace).into());
            if !f.inject.is_empty() {
                argv.push("-e".into());
                argv.push(format!("inject={}", f.inject).into());
            }
        }
        if let Some(limit) = fsize {
            argv.extend(
                [
                    "bash",
                    "-c",
                    "trap '' XFSZ; exec \"$0\" \"$@\"",
                    "prlimit",
                    &format!("--fsize={limit}"),
                ]
                .map(OsString::from),
            );
        }
        argv.push(common::bin().into());
        argv.extend(args.iter().map(OsString::from));
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .current_dir(self.work.cwd())
            .env_remove("CUSTODY_PASSPHRASE")
            .env("CUSTODY_CACHE_DIR", &self.cache);
        let out = bounded(cmd);
        let trace = fs::read_to_string(&trace_file).unwrap_or_default();
        Run { out, trace }
    }

    fn entries(&self) -> Vec<u8> {
        fs::read(&self.entries).unwrap()
    }

    /// Entries in the ledger by a full `custody verify`, which must succeed.
    fn verified(&self) -> u64 {
        let out = self.run(&["verify", "L", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "verify --json: {e}: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert_eq!(out.status.code(), Some(0), "verify: {v}");
        assert_eq!(v["ok"], true, "{v}");
        v["entries"].as_u64().unwrap()
    }

    /// This ledger's cache folder (`$CUSTODY_CACHE_DIR/<id>`): the only folder there.
    fn cache_dir(&self) -> PathBuf {
        let dirs: Vec<PathBuf> = fs::read_dir(&self.cache)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
        assert_eq!(dirs.len(), 1, "{dirs:?}");
        dirs[0].clone()
    }

    /// An offline-signed claim citing entry 2, written to `out`.
    fn sign(&self, statement: &str, out: &str) {
        self.ok(&sign_claim_args(
            RESEARCHER_KEY,
            ORIGIN,
            statement,
            "2024-01",
            out,
        ));
    }

    /// How often `needle` occurs in the entries file.
    fn occurrences(&self, needle: &str) -> usize {
        let hay = self.entries();
        hay.windows(needle.len())
            .filter(|w| *w == needle.as_bytes())
            .count()
    }

    /// `add claim` with `statement`, citing entry 2.
    fn add_claim_args(statement: &str) -> Vec<&str> {
        claim_args(
            "L",
            RESEARCHER_KEY,
            statement,
            "7",
            "forced-repatriation",
            "2024-01",
            "2",
        )
    }
}

/// Exit 2, exactly one `custody: error:` line and it names the entries file and `os_error`,
/// no panic, and nothing said to be appended.
fn assert_refused_naming_entries(run: &Run, os_error: &str) {
    let err = run.stderr();
    assert_eq!(run.code(), Some(2), "{}", run.show());
    assert!(!err.contains("panicked"), "{}", run.show());
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("custody: error:"))
        .collect();
    assert_eq!(lines.len(), 1, "{}", run.show());
    assert!(lines[0].contains("L/entries"), "{}", run.show());
    assert!(lines[0].contains(os_error), "{}", run.show());
    assert!(!run.stdout().contains("appended"), "{}", run.show());
}

/// Exit 2 with "already entry `n`".
fn assert_already(out: &Output, n: u64) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("already entry {n}")), "{err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("appended"));
}

const WRITES: &str = "write,writev,pwrite64";

/// ENOSPC on the first write of the entries file by `custody append`: nothing changes, and
/// the retry appends exactly once.
#[test]
fn enospc_on_the_entries_write_of_append_changes_nothing_and_the_retry_appends_once() {
    let s = Scene::new();
    s.sign("enospc first write", "s.cust");
    let before = s.entries();
    let inject = format!("{WRITES}:error=ENOSPC:when=1");
    let fault = Fault {
        file: &s.entries,
        trace: WRITES,
        inject: &inject,
    };
    let run = s.faulty(Some(&fault), None, &["append", "L", "s.cust"]);
    run.assert_injected();
    assert_refused_naming_entries(&run, "os error 28");
    assert!(run.stderr().contains("s.cust"), "{}", run.show());
    assert_eq!(s.entries(), before, "the entries file changed");
    assert_eq!(s.verified(), 3);

    let out = s.ok(&["append", "L", "s.cust"]);
    assert!(out.contains("entry 3 (claim) appended"), "{out}");
    assert_eq!(s.verified(), 4);
    assert_eq!(frames(&s.entries()).len(), 4);
    assert_eq!(&s.entries()[..before.len()], &before[..]);

    assert_already(&s.run(&["append", "L", "s.cust"]), 3);
    assert_eq!(s.verified(), 4);
    assert_eq!(s.occurrences("enospc first write"), 1);
}

/// ENOSPC on a later write of the entries file (`when=2+`): in `append a b`, `a` is durable and
/// acknowledged, `b` is neither; retries of each are refused as already there or append once.
#[test]
fn enospc_on_a_later_write_fails_only_the_unacknowledged_submission() {
    let s = Scene::new();
    s.sign("first of two", "a.cust");
    s.sign("second of two", "b.cust");
    let before = s.entries();
    let inject = format!("{WRITES}:error=ENOSPC:when=2+");
    let fault = Fault {
        file: &s.entries,
        trace: WRITES,
        inject: &inject,
    };
    let run = s.faulty(Some(&fault), None, &["append", "L", "a.cust", "b.cust"]);
    run.assert_injected();
    assert_eq!(run.code(), Some(2), "{}", run.show());
    let out = run.stdout();
    assert!(
        out.contains("a.cust: entry 3 (claim) appended"),
        "{}",
        run.show()
    );
    assert!(!out.contains("b.cust"), "{}", run.show());
    let err = run.stderr();
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("custody: error:"))
        .collect();
    assert_eq!(lines.len(), 1, "{}", run.show());
    assert!(
        lines[0].contains("b.cust") && lines[0].contains("L/entries"),
        "{err}"
    );
    assert!(lines[0].contains("os error 28"), "{err}");

    // Exactly the acknowledged entry was added.
    assert_eq!(s.verified(), 4);
    let now = s.entries();
    assert_eq!(&now[..before.len()], &before[..]);
    assert_eq!(frames(&now).len(), 4);
    assert_eq!(s.occurrences("first of two"), 1);
    assert_eq!(s.occurrences("second of two"), 0);

    assert_already(&s.run(&["append", "L", "a.cust"]), 3);
    let out = s.ok(&["append", "L", "b.cust"]);
    assert!(out.contains("entry 4 (claim) appended"), "{out}");
    assert_already(&s.run(&["append", "L", "b.cust"]), 4);
    assert_eq!(s.verified(), 5);
    assert_eq!(s.occurrences("second of two"), 1);
}

/// A genuinely short write (the file size limit lets 100 bytes through), then the next write
/// call fails: with ENOSPC injected at `when=2`, and with the kernel's own EFBIG. The partial
/// frame is cut back, for `append` and for `add claim`.
#[test]
fn a_short_write_then_a_failed_write_is_cut_back_and_the_retry_appends_once() {
    let s = Scene::new();
    let mut next = 3u64;
    for (case, inject) in [
        ("enospc", Some(format!("{WRITES}:error=ENOSPC:when=2"))),
        ("efbig", None),
    ] {
        for via_add in [false, true] {
            let statement = format!("short write {case} {via_add}");
            let cust = format!("{case}-{via_add}.cust");
            if !via_add {
                s.sign(&statement, &cust);
            }
            let args: Vec<&str> = if via_add {
                Scene::add_claim_args(&statement)
            } else {
                vec!["append", "L", cust.as_str()]
            };
            let before = s.entries();
            let fault = inject.as_deref().map(|inject| Fault {
                file: &s.entries,
                trace: WRITES,
                inject,
            });
            // Always traced, so the short write can be seen.
            let watch = Fault {
                file: &s.entries,
                trace: "write,writev,pwrite64,ftruncate,fsync,fdatasync",
                inject: "",
            };
            let run = s.faulty(
                Some(fault.as_ref().unwrap_or(&watch)),
                Some(before.len() as u64 + 100),
                &args,
            );
            let ctx = format!("{case} via_add={via_add}\n{}", run.show());
            if fault.is_some() {
                run.assert_injected();
            }
            assert!(run.trace.contains(") = 100"), "no short write: {ctx}");
            let os_error = if fault.is_some() {
                "os error 28"
            } else {
                "os error 27"
            };
            assert_refused_naming_entries(&run, os_error);
            assert_eq!(s.entries(), before, "partial write not cut back: {ctx}");
            assert_eq!(s.verified(), next, "{ctx}");

            let out = s.ok(&if via_add {
                args.clone()
            } else {
                vec!["append", "L", cust.as_str()]
            });
            assert!(
                out.contains(&format!("entry {next} (claim) appended")),
                "{out}"
            );
            if !via_add {
                assert_already(&s.run(&["append", "L", cust.as_str()]), next);
            }
            next += 1;
            assert_eq!(s.verified(), next, "{ctx}");
            assert_eq!(s.occurrences(&statement), 1, "{ctx}");
        }
    }
}

/// ENOSPC on the entries write of `custody add claim`: nothing changes; the retry appends once.
#[test]
fn enospc_on_the_entries_write_of_add_claim_changes_nothing() {
    let s = Scene::new();
    let before = s.entries();
    let inject = format!("{WRITES}:error=ENOSPC:when=1");
    let fault = Fault {
        file: &s.entries,
        trace: WRITES,
        inject: &inject,
    };
    let args = Scene::add_claim_args("add claim enospc");
    let run = s.faulty(Some(&fault), None, &args);
    run.assert_injected();
    assert_refused_naming_entries(&run, "os error 28");
    assert_eq!(s.entries(), before);
    assert_eq!(s.verified(), 3);
    assert_eq!(s.occurrences("add claim enospc"), 0);

    let out = s.ok(&args);
    assert!(out.contains("entry 3 (claim) appended"), "{out}");
    assert_eq!(s.verified(), 4);
    assert_eq!(s.occurrences("add claim enospc"), 1);
}

/// EIO on the fsync (`fdatasync`) of the entries file: not acknowledged, not in the ledger, and
/// the retry appends exactly once; also when the cut-back's own fsync fails too, for `append`
/// and `add claim`.
#[test]
fn eio_on_the_entries_fsync_is_not_acknowledged_and_the_retry_appends_once() {
    let s = Scene::new();
    let mut next = 3u64;
    for (syncs, via_add) in [
        ("fdatasync", false),
        ("fdatasync", true),
        ("fdatasync,fsync", false),
        ("fdatasync,fsync", true),
    ] {
        let statement = format!("eio {syncs} {via_add}");
        let cust = format!("eio-{next}.cust");
        if !via_add {
            s.sign(&statement, &cust);
        }
        let args: Vec<&str> = if via_add {
            Scene::add_claim_args(&statement)
        } else {
            vec!["append", "L", cust.as_str()]
        };
        let before = s.entries();
        let inject = format!("{syncs}:error=EIO");
        let fault = Fault {
            file: &s.entries,
            trace: "write,fdatasync,fsync,ftruncate",
            inject: &inject,
        };
        let run = s.faulty(Some(&fault), None, &args);
        let ctx = format!("{syncs} via_add={via_add}\n{}", run.show());
        run.assert_injected();
        assert!(run.trace.contains("fdatasync("), "{ctx}");
        assert_refused_naming_entries(&run, "os error 5");
        assert_eq!(s.entries(), before, "unacknowledged bytes left: {ctx}");
        assert_eq!(s.verified(), next, "{ctx}");
        assert_eq!(s.occurrences(&statement), 0, "{ctx}");

        let out = s.ok(&args);
        assert!(
            out.contains(&format!("entry {next} (claim) appended")),
            "{out}"
        );
        if !via_add {
            assert_already(&s.run(&["append", "L", cust.as_str()]), next);
        }
        next += 1;
        assert_eq!(s.verified(), next, "{ctx}");
        assert_eq!(s.occurrences(&statement), 1, "{ctx}");
    }
}

/// EIO on the second fsync of one `append a b`: `a` is acknowledged and kept, `b` is neither.
#[test]
fn eio_on_a_later_fsync_fails_only_the_unacknowledged_submission() {
    let s = Scene::new();
    s.sign("sync one", "a.cust");
    s.sign("sync two", "b.cust");
    let fault = Fault {
        file: &s.entries,
        trace: "fdatasync",
        inject: "fdatasync:error=EIO:when=2+",
    };
    let run = s.faulty(Some(&fault), None, &["append", "L", "a.cust", "b.cust"]);
    run.assert_injected();
    assert_eq!(run.code(), Some(2), "{}", run.show());
    assert!(
        run.stdout().contains("a.cust: entry 3 (claim) appended"),
        "{}",
        run.show()
    );
    assert!(!run.stdout().contains("b.cust"), "{}", run.show());
    assert!(
        run.stderr().contains("b.cust refused: L/entries"),
        "{}",
        run.show()
    );
    assert_eq!(s.verified(), 4);
    assert_eq!(s.occurrences("sync one"), 1);
    assert_eq!(s.occurrences("sync two"), 0);
    assert_already(&s.run(&["append", "L", "a.cust"]), 3);
    assert!(s
        .ok(&["append", "L", "b.cust"])
        .contains("entry 4 (claim) appended"));
    assert_eq!(s.verified(), 5);
}

/// The cache files and the syscall that writes each (as traced on this machine): `state.json`
/// is written whole to `state.json.tmp` (then fsync, rename); `index`, `hashes` and `dedup` are
/// written in place with `pwrite64` (the duplicate table: the slot, then its header).
const CACHE_FAULTS: [(&str, &str, &str); 6] = [
    ("state.json.tmp", "write", "write:error=ENOSPC"),
    ("state.json.tmp", "fsync", "fsync:error=EIO"),
    ("index", "pwrite64", "pwrite64:error=ENOSPC"),
    ("hashes", "pwrite64", "pwrite64:error=ENOSPC"),
    ("dedup", "pwrite64", "pwrite64:error=ENOSPC:when=1"),
    ("dedup", "pwrite64", "pwrite64:error=ENOSPC:when=2"),
];

/// A durable entry whose cache update fails: exit 0, "appended", a warning about the cache; the
/// entry is in the ledger once, the retry is refused as already there, and the next commands
/// verify again and work.
fn cache_fault_case(s: &Scene, file: &str, trace: &str, inject: &str, via_add: bool, n: u64) {
    let statement = format!("cache fault {file} {inject} {via_add}");
    let cust = format!("cache-{n}.cust");
    if !via_add {
        s.sign(&statement, &cust);
    }
    let args: Vec<&str> = if via_add {
        Scene::add_claim_args(&statement)
    } else {
        vec!["append", "L", cust.as_str()]
    };
    let target = s.cache_dir().join(file);
    let fault = Fault {
        file: &target,
        trace,
        inject,
    };
    let run = s.faulty(Some(&fault), None, &args);
    let ctx = format!("{file} {inject} via_add={via_add}\n{}", run.show());
    run.assert_injected();
    assert_eq!(
        run.code(),
        Some(0),
        "a durable entry reported as failed: {ctx}"
    );
    assert!(
        run.stdout()
            .contains(&format!("entry {n} (claim) appended")),
        "{ctx}"
    );
    let err = run.stderr();
    assert!(!err.contains("custody: error:"), "{ctx}");
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("custody: warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{ctx}");
    assert!(warnings[0].contains("cache"), "{ctx}");
    assert!(
        warnings[0].contains(&s.cache_dir().display().to_string()),
        "the warning does not name the cache: {ctx}"
    );

    assert_eq!(s.verified(), n + 1, "{ctx}");
    assert_eq!(s.occurrences(&statement), 1, "{ctx}");
    if !via_add {
        assert_already(&s.run(&["append", "L", cust.as_str()]), n);
        assert_eq!(s.occurrences(&statement), 1, "{ctx}");
    }
    // The next command re-verifies from the entries file and works.
    let log = s.ok(&["log", "L"]);
    assert!(log.contains(&statement), "{ctx}\nlog: {log}");
    let shown = s.ok(&["show", "L", &n.to_string()]);
    assert!(shown.contains(&statement), "{ctx}\nshow: {shown}");
    assert_eq!(s.verified(), n + 1, "{ctx}");
}

#[test]
fn a_cache_that_cannot_be_written_after_a_durable_append_is_a_warning_not_a_failure() {
    let s = Scene::new();
    let mut n = 3;
    for (file, trace, inject) in CACHE_FAULTS {
        cache_fault_case(&s, file, trace, inject, false, n);
        n += 1;
        // After the rebuild, a new submission appends once as the next entry.
        s.sign(
            &format!("after {file} {inject}"),
            &format!("after-{n}.cust"),
        );
        let out = s.ok(&["append", "L", &format!("after-{n}.cust")]);
        assert!(
            out.contains(&format!("entry {n} (claim) appended")),
            "{out}"
        );
        n += 1;
        assert_eq!(s.verified(), n);
    }
}

#[test]
fn a_cache_that_cannot_be_written_after_a_durable_add_is_a_warning_not_a_failure() {
    let s = Scene::new();
    for (n, (file, trace, inject)) in (3..).zip(CACHE_FAULTS) {
        cache_fault_case(&s, file, trace, inject, true, n);
    }
}

/// After a cache failure, later submissions of the same `append` command are never appended
/// twice: the handle whose caches fell out of step appends nothing more (regression: it once
/// dropped its duplicate table and appended `s.cust s.cust` twice, and the ledger then failed
/// verify).
#[test]
fn after_a_cache_failure_the_same_command_still_refuses_a_duplicate() {
    for (file, trace, inject) in [
        ("index", "pwrite64", "pwrite64:error=ENOSPC:when=1"),
        ("state.json.tmp", "write", "write:error=ENOSPC:when=1"),
    ] {
        let s = Scene::new();
        s.sign("twice in one command", "s.cust");
        let target = s.cache_dir().join(file);
        let fault = Fault {
            file: &target,
            trace,
            inject,
        };
        let run = s.faulty(Some(&fault), None, &["append", "L", "s.cust", "s.cust"]);
        run.assert_injected();
        let ctx = format!("{file}\n{}", run.show());
        assert!(
            run.stdout().contains("s.cust: entry 3 (claim) appended"),
            "{ctx}"
        );
        assert!(!run.stdout().contains("entry 4"), "appended twice: {ctx}");
        assert_eq!(run.code(), Some(2), "{ctx}");
        assert!(
            run.stderr()
                .contains("nothing more is appended in this run"),
            "{ctx}"
        );
        assert_eq!(s.occurrences("twice in one command"), 1, "{ctx}");
        // Run again, as the message says: the retry is recognised, never appended twice.
        let again = s.run(&["append", "L", "s.cust"]);
        assert_eq!(again.status.code(), Some(2), "{ctx}");
        assert!(
            String::from_utf8_lossy(&again.stderr).contains("already entry 3"),
            "{ctx}"
        );
        assert_eq!(s.verified(), 4, "{ctx}");
    }
}

/// The same command without a fault: the control for the test above.
#[test]
fn without_a_fault_the_same_command_refuses_a_duplicate() {
    let s = Scene::new();
    s.sign("twice in one command", "s.cust");
    let out = s.run(&["append", "L", "s.cust", "s.cust"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        stdout.contains("s.cust: entry 3 (claim) appended"),
        "{stdout}"
    );
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("already entry 3"), "{stderr}");
    assert_eq!(s.occurrences("twice in one command"), 1);
    assert_eq!(s.verified(), 4);
}

/// After a cache failure, a later submission of the same command that cites the entry just
/// appended is either appended once or refused and absent; nothing is lost or duplicated, and
/// whatever is said to be appended is in the ledger.
#[test]
fn after_a_cache_failure_a_later_submission_is_appended_once_or_not_at_all() {
    let s = Scene::new();
    fs::write(s.work.path("second.txt"), b"another report\n").unwrap();
    s.ok(&[
        "sign",
        "source",
        "--key",
        RESEARCHER_KEY,
        "--origin",
        ORIGIN,
        "-o",
        "src.cust",
        "--title",
        "T2",
        "--publisher",
        "P",
        "--date",
        "2024",
        "--kind",
        "media",
        "second.txt",
    ]);
    s.ok(&[
        "sign",
        "claim",
        "--key",
        RESEARCHER_KEY,
        "--origin",
        ORIGIN,
        "--statement",
        "cites the new source",
        "--category",
        "c",
        "--period",
        "2024-01",
        "--source",
        "3",
        "-o",
        "c.cust",
    ]);
    let target = s.cache_dir().join("hashes");
    let fault = Fault {
        file: &target,
        trace: "pwrite64",
        inject: "pwrite64:error=ENOSPC:when=1",
    };
    let run = s.faulty(Some(&fault), None, &["append", "L", "src.cust", "c.cust"]);
    run.assert_injected();
    let ctx = run.show();
    assert!(
        run.stdout().contains("src.cust: entry 3 (source) appended"),
        "{ctx}"
    );
    assert!(run.stderr().contains("custody: warning:"), "{ctx}");
    let claim_said = run.stdout().contains("c.cust: entry 4 (claim) appended");
    assert_eq!(run.code() == Some(0), claim_said, "{ctx}");
    let n = s.verified();
    assert_eq!(n, if claim_said { 5 } else { 4 }, "{ctx}");
    assert_eq!(
        s.occurrences("cites the new source"),
        usize::from(claim_said),
        "{ctx}"
    );
    // The retry settles it either way: appended once, or already there.
    let again = s.run(&["append", "L", "c.cust"]);
    if claim_said {
        assert_already(&again, 4);
    } else {
        assert_eq!(again.status.code(), Some(0), "{again:?}");
    }
    assert_eq!(s.verified(), 5);
    assert_eq!(s.occurrences("cites the new source"), 1);
}

/// A short write whose cut-back (`ftruncate`) fails too leaves a torn tail: the command fails
/// naming the entries file, later commands name the torn tail, appends are refused until
/// `custody repair` cuts it, and then the retry appends once.
#[test]
fn a_torn_tail_left_when_the_cut_back_fails_is_named_and_repaired() {
    let s = Scene::new();
    s.sign("torn then repaired", "s.cust");
    let before = s.entries();
    let fault = Fault {
        file: &s.entries,
        trace: "write,ftruncate",
        inject: "ftruncate:error=EIO",
    };
    let run = s.faulty(
        Some(&fault),
        Some(before.len() as u64 + 100),
        &["append", "L", "s.cust"],
    );
    run.assert_injected();
    assert!(
        run.trace.contains(") = 100"),
        "no short write: {}",
        run.show()
    );
    assert_refused_naming_entries(&run, "os error 27");
    let now = s.entries();
    assert_eq!(now.len(), before.len() + 100, "{}", run.show());
    assert_eq!(&now[..before.len()], &before[..]);

    // verify reports the torn tail, and that the entries before it verify.
    let v = s.run(&["verify", "L"]);
    let err = String::from_utf8_lossy(&v.stderr);
    assert_ne!(v.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!(
            "torn write after entry 2 (100 bytes at offset {})",
            before.len()
        )),
        "{err}"
    );
    // Readers work and warn.
    let log = s.run(&["log", "L"]);
    assert_eq!(log.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&log.stderr).contains("torn write"));
    // Writers refuse until repaired.
    let refused = s.run(&["append", "L", "s.cust"]);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{err}");
    assert!(
        err.contains("torn write") && err.contains("custody repair"),
        "{err}"
    );
    assert!(!String::from_utf8_lossy(&refused.stdout).contains("appended"));

    let out = s.ok(&["repair", "L"]);
    assert!(out.contains("cut 100 torn bytes after entry 2"), "{out}");
    assert_eq!(s.entries(), before);
    assert_eq!(s.verified(), 3);
    assert!(s
        .ok(&["append", "L", "s.cust"])
        .contains("entry 3 (claim) appended"));
    assert_already(&s.run(&["append", "L", "s.cust"]), 3);
    assert_eq!(s.verified(), 4);
    assert_eq!(s.occurrences("torn then repaired"), 1);
}
