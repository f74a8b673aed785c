//! The proof against the operator, end to end, with every peer real and on 127.0.0.1: custody's
//! own witness (`custody witness serve`), the third-party witness `aics-witness` 0.1.0 and
//! OpenSSL's TSA behind a loopback shim (genTime frozen by faketime). A ledger's checkpoint is
//! cosigned by both under a 2-of-2 policy and time-stamped; the figure's bundle, exported under
//! the policy, checks offline with the policy and the TSA root alone and reports both witnesses
//! and the time. Then the operator forks the log (a copy of the witnessed ledger grows another
//! way to the same size as the original): neither witness cosigns the fork, nothing of it is
//! recorded as witnessed, and the two operator-signed checkpoints of one size prove the fork
//! offline. Every process started here is killed by a drop guard, also when the test fails.
//!
//! Needs `aics-witness` (pip), `openssl` and `faketime` (apt), installed by `.ci/run`.

#[path = "common/aics.rs"]
mod aics;
mod common;
#[path = "common/tsa.rs"]
mod tsa;

use common::{bin, RESEARCHER_KEY};
use common::{claim_args, figure_args, init_ledger, source_args, Work, OPERATOR_KEY};
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const ORIGIN: &str = "example.org/against-operator";
const CUSTODY_WITNESS: &str = "witness.example.org/custody";
const AICS_WITNESS: &str = "witness.example.net/aics";

/// A running `custody witness serve` on a free loopback port; SIGKILLed and reaped on drop.
struct CustodyWitness {
    child: Child,
    url: String,
}

impl CustodyWitness {
    /// Starts it in `cwd` and waits (at most 30 s) for the line saying where it listens.
    fn start(cwd: &Path) -> CustodyWitness {
        let mut child = Command::new(bin())
            .args(["witness", "serve", "--key", "keys/witness.key"])
            .args(["--logs", "logs.txt", "--state", "wstate"])
            .args(["--listen", "127.0.0.1:0"])
            .current_dir(cwd)
            .env_remove("CUSTODY_PASSPHRASE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn custody witness serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("listening on ") {
                    let url = rest.split_whitespace().next().unwrap_or("");
                    let _ = tx.send(url.trim_end_matches("/add-checkpoint").to_owned());
                }
            }
        });
        let mut w = CustodyWitness {
            child,
            url: String::new(),
        };
        w.url = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("custody witness serve did not say where it listens within 30 s");
        assert!(w.url.starts_with("http://127.0.0.1:"), "{}", w.url);
        w
    }
}

impl Drop for CustodyWitness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Exit code, stdout, stderr of `custody args` (never a panic).
fn run(w: &Work, args: &[&str]) -> (i32, String, String) {
    let out = w.run(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "custody {args:?}: {err}");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        err,
    )
}

fn ok(w: &Work, args: &[&str]) -> (String, String) {
    let (code, out, err) = run(w, args);
    assert_eq!(code, 0, "custody {args:?}: {out}{err}");
    (out, err)
}

fn claim(w: &Work, ledger: &str, statement: &str, count: &str) {
    w.ok(&claim_args(
        ledger,
        RESEARCHER_KEY,
        statement,
        count,
        "forced-repatriation",
        "2024",
        "2",
    ));
}

/// The recorded checkpoint of tree size `size` in ledger `name`.
fn checkpoint_file(w: &Work, name: &str, size: u64) -> PathBuf {
    let prefix = format!("{size:012}-");
    common::checkpoint_files(&w.path(name))
        .into_iter()
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&prefix)
        })
        .unwrap_or_else(|| panic!("no checkpoint of size {size} in {name}"))
}

/// How many signature lines of `note` are by the key named `name`.
fn lines_by(note: &str, name: &str) -> usize {
    let prefix = format!("— {name} ");
    note.lines().filter(|l| l.starts_with(&prefix)).count()
}

#[test]
fn two_witnesses_and_a_tsa_hold_the_operator_to_one_history() {
    let w = Work::keyed();
    // The ledger: genesis, grant, a source, claims of 100 and 60, a figure of 160 (entry 5).
    init_ledger(w.cwd(), "L", ORIGIN);
    fs::write(w.path("report.txt"), "a report").unwrap();
    w.ok(&source_args("L", RESEARCHER_KEY, "2025-10", "ngo-report"));
    claim(&w, "L", "100 returned", "100");
    claim(&w, "L", "60 returned", "60");
    w.ok(&figure_args(
        "L",
        RESEARCHER_KEY,
        "Returned since 2024",
        "160",
        "3,4",
    ));
    let log = w
        .ok(&["key", "vkey", "keys/operator.pub", "--origin", ORIGIN])
        .trim()
        .to_owned();

    // The peers: custody's witness, aics-witness, OpenSSL's TSA.
    w.ok(&["key", "new", "witness"]);
    let custody_vkey = w
        .ok(&[
            "witness",
            "init",
            "--state",
            "wstate",
            "--key",
            "keys/witness.key",
            "--name",
            CUSTODY_WITNESS,
        ])
        .trim()
        .to_owned();
    fs::write(w.path("logs.txt"), format!("# the ledger L\n{log}\n")).unwrap();
    let custody = CustodyWitness::start(w.cwd());
    let aics = aics::Witness::start(w.path("aics"), AICS_WITNESS, &[(ORIGIN, &log)]);
    let pki = tsa::Pki::new("custody against-operator test root");
    let tsa_dir = pki.tsa("ec256", "prime256v1", "sha256", "sha256");
    let tsa = tsa::TsaServer::start(tsa_dir, tsa::Answer::OpenSsl);
    let root = pki.root();
    let root = root.to_str().unwrap();
    fs::write(
        w.path("policy.txt"),
        format!(
            "# 2-of-2: custody's witness and aics-witness\nlog {log}\n\
             witness custody {custody_vkey} {}\nwitness aics {} {}\n\
             group both all custody aics\nquorum both\n",
            custody.url, aics.vkey, aics.url
        ),
    )
    .unwrap();

    // 1. Cosigned by both (tree size 7: six entries and the state commitment).
    let checkpoint = ["checkpoint", "L", "--key", OPERATOR_KEY];
    let policy = ["--policy", "policy.txt"];
    let (note, err) = ok(&w, &[&checkpoint[..], &policy[..]].concat());
    assert!(
        err.contains("custody: cosigned at") && err.contains("aics: cosigned at"),
        "{err}"
    );
    assert!(err.contains("quorum \"both\" met"), "{err}");
    let witnessed = checkpoint_file(&w, "L", 7);
    assert_eq!(fs::read_to_string(&witnessed).unwrap(), note);
    assert_eq!(
        (
            lines_by(&note, CUSTODY_WITNESS),
            lines_by(&note, AICS_WITNESS)
        ),
        (1, 1),
        "{note}"
    );

    // 2. Time-stamped by the TSA (the token stamps the note as the log signed it).
    let (out, _) = ok(
        &w,
        &["timestamp", "L", "--tsa", &tsa.url(), "--tsa-cert", root],
    );
    assert!(
        out.contains(&format!(
            "the checkpoint at tree size 7 existed no later than {}",
            tsa::STAMP_RFC3339
        )),
        "{out}"
    );

    // 3. The bundle carries all three, and checks offline with the policy and the TSA root.
    ok(
        &w,
        &[
            "export",
            "L",
            "--figure",
            "5",
            "--policy",
            "policy.txt",
            "-o",
            "fig.json",
        ],
    );
    let b: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(w.path("fig.json")).unwrap()).unwrap();
    assert_eq!(b["checkpoint"].as_str().unwrap(), note);
    assert_eq!(b["timestamps"].as_array().map(Vec::len), Some(1), "{b:#}");
    assert!(b["policy"].is_string());
    let (out, _) = ok(
        &w,
        &[
            "check",
            "fig.json",
            "--policy",
            "policy.txt",
            "--tsa-cert",
            root,
        ],
    );
    let time_line = format!(
        "the checkpoint at tree size 7 existed no later than {} (CN=TSA ec256,O=custody timestamp test)",
        tsa::STAMP_RFC3339
    );
    assert!(
        out.contains("witnessed: the checkpoint meets the policy's quorum \"both\""),
        "{out}"
    );
    assert!(
        out.contains("    witnessed by custody at ") && out.contains("    witnessed by aics at "),
        "{out}"
    );
    assert!(out.contains(&time_line), "{out}");
    for line in out
        .lines()
        .filter(|l| l.contains("witnessed") || l.contains("existed no later than"))
    {
        eprintln!("check: {}", line.trim());
    }
    // The same bundle without the TSA root, or with another root, does not pass for timed.
    let other = tsa::Pki::new("custody unrelated root");
    let (code, _, err) = run(
        &w,
        &[
            "check",
            "fig.json",
            "--policy",
            "policy.txt",
            "--tsa-cert",
            other.root().to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "a token under another root is refused: {err}");

    // 4. The fork. A copy of the witnessed ledger (size 7) is the operator's second history.
    // The original grows by one claim and is witnessed at 9; the copy grows by another claim
    // to the same size 9 with another root. Both witnesses hold 9 of the original: they
    // answer 409 to the copy's old size 7 and refuse the same size with another root.
    common::copy_dir(&w.path("L"), &w.path("F"));
    claim(&w, "L", "5 returned in 2024", "5");
    ok(&w, &[&checkpoint[..], &policy[..]].concat());
    claim(&w, "F", "6 returned in 2024", "6");
    let fork_checkpoint = ["checkpoint", "F", "--key", OPERATOR_KEY];
    let (code, _, err) = run(&w, &[&fork_checkpoint[..], &policy[..]].concat());
    assert_eq!(code, 1, "the fork must not be witnessed: {err}");
    assert!(
        err.contains("custody: no cosignature: refused the consistency proof (422)")
            && err.contains("aics: no cosignature: refused the consistency proof (422)"),
        "{err}"
    );
    assert!(err.contains("nothing was recorded as witnessed"), "{err}");
    for line in err.lines().filter(|l| l.contains("no cosignature")) {
        eprintln!("fork checkpoint: {}", line.trim());
    }
    let original = checkpoint_file(&w, "L", 9);
    let forked = checkpoint_file(&w, "F", 9);
    let forked_note = fs::read_to_string(&forked).unwrap();
    assert_eq!(
        (
            lines_by(&forked_note, CUSTODY_WITNESS),
            lines_by(&forked_note, AICS_WITNESS),
            forked_note.lines().filter(|l| l.starts_with("— ")).count()
        ),
        (0, 0, 1),
        "only the log's signature: {forked_note}"
    );
    let original_note = fs::read_to_string(&original).unwrap();
    assert_ne!(original_note.lines().nth(2), forked_note.lines().nth(2));
    // verify --policy of the fork: its last witnessed checkpoint is still the shared 7.
    let (out, _) = ok(&w, &["verify", "F", "--policy", "policy.txt"]);
    assert!(out.contains("witnessed: checkpoint tree size 7"), "{out}");

    // 5. The two operator-signed checkpoints of size 9 prove the fork to anyone, offline.
    let (out, _) = ok(
        &w,
        &[
            "fork-evidence",
            original.to_str().unwrap(),
            forked.to_str().unwrap(),
            "--trust",
            &log,
            "-o",
            "fork.json",
        ],
    );
    eprintln!("fork-evidence: {}", out.trim());
    let (code, out, err) = run(&w, &["check-fork", "fork.json", "--trust", &log]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.starts_with("FORK PROVEN"), "{out}");
    eprintln!("check-fork: {}", out.lines().next().unwrap_or(""));
    drop(tsa);
    drop(aics);
    drop(custody);
}
