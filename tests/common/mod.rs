//! Helpers shared by the integration tests that drive the `custody` binary: running it, making
//! keys and ledgers, the argument lists of the commands that write, snapshots of a directory and
//! the frames of an entries file. Each test binary uses a subset.
#![allow(dead_code)]

use assert_cmd::Command;
use custody_core::json::VerifyReport as Report;
use custody_store::frames::FILE_MAGIC;
use custody_store::replay::{verify_ledger, Failure, Options, VerifyError};
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use tempfile::TempDir;

pub const MAGIC_LEN: usize = FILE_MAGIC.len();

pub const OPERATOR_KEY: &str = "keys/operator.key";
pub const RESEARCHER_KEY: &str = "keys/researcher.key";
pub const RESEARCHER_PUB: &str = "keys/researcher.pub";

/// The path of the `custody` binary under test.
pub fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("custody")
}

/// The `custody` binary, run in `cwd` with no passphrase in its environment.
pub fn custody(cwd: &Path) -> Command {
    let mut c = Command::cargo_bin("custody").unwrap();
    // Verified caches live outside ledger directories (so snapshots of a work dir never see
    // them); one folder for the whole test run keeps them out of the user's own cache too.
    // The user's own defaults never reach a test.
    c.current_dir(cwd)
        .env_remove("CUSTODY_PASSPHRASE")
        .env_remove("CUSTODY_KEY")
        .env_remove("CUSTODY_LEDGER")
        .env_remove("XDG_DATA_HOME")
        .env(
            "CUSTODY_CACHE_DIR",
            std::env::temp_dir().join("custody-test-cache"),
        );
    c
}

/// A temporary work dir holding `keys/operator.*` and `keys/researcher.*`. A test file names it
/// `Env` and adds its own methods (`impl Work` in the test crate).
pub struct Work {
    tmp: TempDir,
}

impl Work {
    pub fn keyed() -> Work {
        let tmp = tempfile::tempdir().unwrap();
        make_keys(tmp.path());
        Work { tmp }
    }

    pub fn cwd(&self) -> &Path {
        self.tmp.path()
    }

    pub fn path(&self, p: &str) -> PathBuf {
        self.cwd().join(p)
    }

    /// Runs `custody args` here, whatever its exit.
    pub fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        run(self.cwd(), args)
    }

    /// Runs `custody args` here, expects exit 0, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        run_ok(self.cwd(), args)
    }

    /// Runs `custody args` here, expects exit `code` and no panic, returns stderr.
    pub fn fails(&self, code: i32, args: &[&str]) -> String {
        let out = self.run(args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(code),
            "custody {args:?}: stdout {} stderr {err}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(!err.contains("panicked"), "{err}");
        err
    }
}

/// Runs `custody args` in `cwd`, whatever its exit.
pub fn run<S: AsRef<OsStr>>(cwd: &Path, args: &[S]) -> Output {
    custody(cwd).args(args).output().unwrap()
}

/// Runs `custody args` in `cwd`, expects exit 0, returns stdout.
pub fn run_ok(cwd: &Path, args: &[&str]) -> String {
    let out = run(cwd, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "custody {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a command that prints JSON: its exit code and its stdout parsed.
pub fn run_json(cwd: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let out = run(cwd, args);
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code().unwrap(), v)
}

/// Verifies ledger `dir` in-process with the default options.
pub fn verify(dir: &Path) -> Result<Report, Failure> {
    verify_ledger(dir, &Options::default(), &|_| {}).map_err(|e| match e {
        VerifyError::Evidence(f) => f,
        // Not a failure of the evidence: tests that expect one must not pass on it.
        other => Failure {
            entry: None,
            reason: format!("NOT EVIDENCE (I/O or usage): {other}"),
        },
    })
}

/// `keys/operator.*` and `keys/researcher.*` in `cwd`.
pub fn make_keys(cwd: &Path) {
    run_ok(cwd, &["key", "new", "operator"]);
    run_ok(cwd, &["key", "new", "researcher"]);
}

/// Ledger `name` in `cwd`: 0 genesis (operator), 1 grant of the researcher key.
pub fn init_ledger(cwd: &Path, name: &str, origin: &str) {
    run_ok(cwd, &init_args(name, origin, OPERATOR_KEY));
    run_ok(
        cwd,
        &key_args("grant", name, OPERATOR_KEY, RESEARCHER_PUB, "researcher"),
    );
}

pub fn init_args<'a>(ledger: &'a str, origin: &'a str, key: &'a str) -> Vec<&'a str> {
    vec!["init", ledger, "--origin", origin, "--key", key]
}

/// `key grant` (with `value` as the role) or `key revoke` (with `value` as the reason) of
/// `public`, signed with `key`.
pub fn key_args<'a>(
    verb: &'a str,
    ledger: &'a str,
    key: &'a str,
    public: &'a str,
    value: &'a str,
) -> Vec<&'a str> {
    let flag = if verb == "grant" {
        "--role"
    } else {
        "--reason"
    };
    vec![
        "key", verb, ledger, "--key", key, "--pub", public, flag, value,
    ]
}

/// `add source` of `report.txt`, titled T by P; the caller adds `--store` where wanted.
pub fn source_args<'a>(
    ledger: &'a str,
    key: &'a str,
    date: &'a str,
    kind: &'a str,
) -> Vec<&'a str> {
    vec![
        "add",
        "source",
        ledger,
        "--key",
        key,
        "report.txt",
        "--title",
        "T",
        "--publisher",
        "P",
        "--date",
        date,
        "--kind",
        kind,
    ]
}

/// `add informant` whose identity is `who.txt`, sealed to `seal`.
pub fn informant_args<'a>(
    ledger: &'a str,
    key: &'a str,
    alias: &'a str,
    seal: &'a str,
) -> Vec<&'a str> {
    vec![
        "add",
        "informant",
        ledger,
        "--key",
        key,
        "--alias",
        alias,
        "--identity-file",
        "who.txt",
        "--seal",
        seal,
    ]
}

pub fn claim_args<'a>(
    ledger: &'a str,
    key: &'a str,
    statement: &'a str,
    count: &'a str,
    category: &'a str,
    period: &'a str,
    sources: &'a str,
) -> Vec<&'a str> {
    vec![
        "add",
        "claim",
        ledger,
        "--key",
        key,
        "--statement",
        statement,
        "--count",
        count,
        "--category",
        category,
        "--period",
        period,
        "--source",
        sources,
    ]
}

pub fn figure_args<'a>(
    ledger: &'a str,
    key: &'a str,
    label: &'a str,
    value: &'a str,
    sum: &'a str,
) -> Vec<&'a str> {
    vec![
        "add", "figure", ledger, "--key", key, "--label", label, "--value", value, "--sum", sum,
    ]
}

/// `sign claim` (category c, citing entry 2) written to `out`; no count.
pub fn sign_claim_args<'a>(
    key: &'a str,
    origin: &'a str,
    statement: &'a str,
    period: &'a str,
    out: &'a str,
) -> Vec<&'a str> {
    vec![
        "sign",
        "claim",
        "--key",
        key,
        "--origin",
        origin,
        "--statement",
        statement,
        "--category",
        "c",
        "--period",
        period,
        "--source",
        "2",
        "-o",
        out,
    ]
}

/// Every file below `root`, by path and content, sorted: for before/after comparisons.
pub fn snapshot(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The entries of directory `dir`, sorted by path.
pub fn sorted_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|d| d.unwrap().path())
        .collect();
    v.sort();
    v
}

/// Deletes the `entries.torn-at-*` side files that `repair` keeps in ledger `dir`.
pub fn remove_torn_side_files(dir: &Path) {
    for f in fs::read_dir(dir).unwrap() {
        let p = f.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("entries.torn-at-")
        {
            fs::remove_file(p).unwrap();
        }
    }
}

/// The end of the frame that starts at `start`: length prefix, entry, 32-byte leaf hash.
pub fn frame_end(bytes: &[u8], start: usize) -> usize {
    let len = u32::from_le_bytes(bytes[start..start + 4].try_into().unwrap()) as usize;
    start + 4 + len + 32
}

/// Frame boundaries `(start, end)` of every entry of an entries file, by parsing the length
/// prefixes.
pub fn frames(bytes: &[u8]) -> Vec<(usize, usize)> {
    assert_eq!(&bytes[..MAGIC_LEN], FILE_MAGIC);
    let mut out = Vec::new();
    let mut at = MAGIC_LEN;
    while at < bytes.len() {
        let end = frame_end(bytes, at);
        assert!(end <= bytes.len(), "entries file ends inside a frame");
        out.push((at, end));
        at = end;
    }
    assert_eq!(at, bytes.len(), "entries file ends inside a frame");
    out
}

/// The encoded entry inside frame `f` (without length prefix and leaf hash).
pub fn frame_body(bytes: &[u8], f: (usize, usize)) -> &[u8] {
    &bytes[f.0 + 4..f.1 - 32]
}

/// The leaf hash stored at the end of frame `f`.
pub fn frame_leaf(bytes: &[u8], f: (usize, usize)) -> &[u8] {
    &bytes[f.1 - 32..f.1]
}

/// The four bodies of the worked example in docs/FORMAT.md (also used by docs/PROOFS.md), each
/// with its signer: genesis and grant by the operator, a source and a claim by the researcher.
pub fn example_bodies<'a>(
    op: &'a custody_core::keys::SecretKey,
    re: &'a custody_core::keys::SecretKey,
    document: &[u8],
) -> [(&'a custody_core::keys::SecretKey, custody_core::entry::Body); 4] {
    use custody_core::entry::{Body, Role, SourceKind};
    use custody_core::hash::Digest;
    [
        (
            op,
            Body::Genesis {
                operator: op.public().bytes(),
                name: "operator".into(),
            },
        ),
        (
            op,
            Body::KeyGrant {
                key: re.public().bytes(),
                name: "researcher".into(),
                role: Role::Researcher,
            },
        ),
        (
            re,
            Body::Source {
                sha256: Digest::of(document),
                size: document.len() as u64,
                title: "Example report".into(),
                publisher: "Example NGO".into(),
                date: "2024-03".into(),
                kind: SourceKind::NgoReport,
                locator: Some("https://example.org/report".into()),
            },
        ),
        (
            re,
            Body::Claim {
                statement: "108 people were returned".into(),
                count: Some(108),
                unit: "people".into(),
                category: "forced-repatriation".into(),
                period: "2024-01".into(),
                place: "Yanbian".into(),
                cites: vec![2],
            },
        ),
    ]
}

/// Copies directory `from` into `to`, recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// A temporary directory holding a copy of the bundled sample ledger as `ledger` (readers
/// write caches and lock files; the repository's copy must stay as committed).
pub fn sample_copy() -> TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("ledger"),
        &tmp.path().join("ledger"),
    );
    tmp
}

/// A test witness: key name and Ed25519 seed. Its cosignatures are real cosignature/v1
/// signatures (custody-core's `cosign`), made here instead of by a witness server, for tests
/// about what custody does with cosigned checkpoints rather than how it obtains them
/// (tests/witness_client.rs talks to a real witness).
pub struct TestWitness {
    pub name: &'static str,
    pub key: ed25519_dalek::SigningKey,
}

impl TestWitness {
    pub fn new(name: &'static str, seed: u8) -> TestWitness {
        TestWitness {
            name,
            key: ed25519_dalek::SigningKey::from_bytes(&[seed; 32]),
        }
    }

    /// Its vkey (signature type 0x04).
    pub fn vkey(&self) -> String {
        custody_core::cosignature::CosignatureVerifier::new(self.name, self.key.verifying_key())
            .unwrap()
            .to_vkey()
    }

    /// Adds its cosignature at `time` to the checkpoint note in file `path`.
    pub fn cosign_file(&self, path: &Path, time: u64) {
        use custody_core::cosignature;
        let note = fs::read(path).unwrap();
        let mut split = cosignature::split_note(&note).unwrap();
        let line = cosignature::cosign(split.body.as_bytes(), self.name, &self.key, time).unwrap();
        split.add_line(&line).unwrap();
        fs::write(path, split.to_text()).unwrap();
    }
}

/// The recorded checkpoint files of ledger `dir`, sorted by name (tree size).
pub fn checkpoint_files(dir: &Path) -> Vec<PathBuf> {
    sorted_files(&dir.join("checkpoints"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect()
}
