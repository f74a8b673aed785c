//! One file per command: gather inputs, call custody-store and custody-core, print.
//!
//! Only these files and `main.rs` print. Errors get context here (anyhow); a failed
//! verification is the distinct [`Failed`] error so `main` can exit 1 for it and 2 for
//! everything else.

/// `println!` panics on a closed pipe; this returns the error instead. For JSON and for lines
/// made only of what custody itself wrote or the user typed; a text report line that holds
/// anything from a ledger, a bundle or a directory listing uses [`say!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?;
    }};
}

/// One line of a text report, through [`crate::print::line`] (control and bidi characters
/// escaped, whichever field holds them): `say!("...", ...)` on standard output, `say!(to w,
/// "...", ...)` on the writer `w`. Returns the error on a closed pipe, as [`out!`] does.
macro_rules! say {
    (to $w:expr, $($arg:tt)*) => {{
        crate::print::line(&mut $w, format_args!($($arg)*))?;
    }};
    ($($arg:tt)*) => {{
        crate::print::line(&mut std::io::stdout().lock(), format_args!($($arg)*))?;
    }};
}

mod add;
mod amend;
mod append;
mod check;
mod checkpoint;
mod completions;
mod disclose;
mod exhibit;
mod export;
mod figure;
mod follow;
mod fork;
mod import;
mod init;
mod key;
mod log;
mod man;
mod prove;
mod publish;
mod repair;
mod serve;
mod show;
mod sign;
mod submit;
mod timestamp;
mod verify;
mod witness;

use crate::args::{Cli, Command};
use age::secrecy::{ExposeSecret, SecretString};
use anyhow::{Context, Result};
use custody_core::entry::Body;
use custody_core::keys::{KeyError, SecretKey};
use custody_store::clock::sign_now;
use custody_store::files;
use custody_store::{Access, Ledger, StoreError};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Verification found the evidence not to be what it claims: exit code 1.
#[derive(Debug)]
pub struct Failed(pub String);

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Failed {}

/// The ledger a command works on: the one named in its place on the command line, else the
/// one given with `-L`/`--ledger` or `CUSTODY_LEDGER` (`default`); with neither, a usage
/// error (exit 2) that names both ways.
fn ledger_dir(given: Option<PathBuf>, default: Option<&Path>) -> Result<PathBuf> {
    given
        .or_else(|| default.map(Path::to_path_buf))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no ledger given: name it after the command (e.g. custody verify L), or give it \
             once with -L DIR or the CUSTODY_LEDGER environment variable"
            )
        })
}

/// Runs one command.
///
/// # Errors
/// [`Failed`] when verification fails; anything else for usage, input or I/O problems.
pub fn run(cli: Cli) -> Result<()> {
    let default = cli.ledger.as_deref();
    let l = |given: Option<PathBuf>| ledger_dir(given, default);
    match cli.command {
        Command::Key(k) => key::run(k, default),
        Command::Init {
            ledger,
            origin,
            key,
        } => init::run(&l(ledger)?, &origin, &key),
        Command::Add(a) => add::run(a, default),
        Command::Sign(s) => sign::run(s),
        Command::Append { ledger, mut files } => {
            // With a default ledger, `append a.cust b.cust` must not take a.cust for the
            // ledger: a ledger is a directory, a submission file never is.
            let ledger = match ledger {
                Some(first) if default.is_some() && !first.is_dir() => {
                    files.insert(0, first);
                    None
                }
                given => given,
            };
            append::run(&l(ledger)?, &files)
        }
        Command::Correct {
            ledger,
            key,
            target,
            count,
            statement,
            reason,
        } => sign_and_add(
            &l(ledger)?,
            &key,
            Body::Correction {
                target,
                count,
                statement,
                reason,
            },
        ),
        Command::Cite {
            ledger,
            key,
            target,
            sources,
            reason,
        } => sign_and_add(
            &l(ledger)?,
            &key,
            Body::Cite {
                target,
                cites: sources,
                reason,
            },
        ),
        Command::Retract {
            ledger,
            key,
            target,
            reason,
        } => sign_and_add(&l(ledger)?, &key, Body::Retraction { target, reason }),
        Command::Redact {
            ledger,
            key,
            target,
            reason,
        } => amend::redact(&l(ledger)?, &key, target, reason),
        Command::Review {
            ledger,
            key,
            target,
            note,
        } => sign_and_add(&l(ledger)?, &key, Body::Review { target, note }),
        Command::Log { ledger, json } => log::run(&l(ledger)?, json),
        Command::Show {
            target: ledger,
            index,
            json,
        } => {
            // `show N` with a default ledger: N is the index. A bare number is never taken
            // for a path here (write ./N for one), so the reading does not depend on what
            // happens to exist in the working directory.
            let number = ledger.to_str().and_then(|s| {
                (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| s.parse::<u64>().ok())
                    .flatten()
            });
            match (index, number) {
                (None, Some(n)) => show::run(&l(None)?, Some(n), json),
                _ => show::run(&ledger, index, json),
            }
        }
        Command::Verify(a) => verify::run(&l(a.ledger.clone())?, &a),
        Command::Figure {
            ledger,
            index,
            json,
        } => figure::run(&l(ledger)?, index, json),
        Command::Disclose {
            seal,
            identity,
            output,
            force,
        } => disclose::disclose(&seal, identity.as_deref(), output.as_deref(), force),
        Command::CheckDisclosure {
            ledger,
            index,
            opening,
        } => disclose::check(&l(ledger)?, index, &opening),
        Command::Checkpoint {
            ledger,
            key,
            policy,
        } => checkpoint::run(&l(ledger)?, &key, policy.as_deref()),
        Command::Timestamp(a) => timestamp::run(&l(a.ledger.clone())?, &a),
        Command::Publish { ledger, dir } => publish::run(&l(ledger)?, &dir),
        Command::Clone {
            source,
            ledger,
            trust,
        } => follow::clone(&source, &l(ledger)?, &trust),
        Command::Monitor {
            source,
            trust,
            state,
        } => follow::monitor(&source, &trust, &state),
        Command::Prove(p) => prove::run(p, default),
        Command::VerifyProof { proof, trust, leaf } => prove::verify_proof(&proof, &trust, &leaf),
        Command::Repair { ledger, force } => repair::run(&l(ledger)?, force),
        Command::Import {
            ledger,
            key,
            file,
            batch,
        } => import::run(&l(ledger)?, &key, &file, batch),
        Command::Export(a) => export::run(&l(a.ledger.clone())?, a),
        Command::Check(a) => check::run(a),
        Command::Exhibit(a) => exhibit::run(a),
        Command::Serve(a) => serve::run(&l(a.ledger.clone())?, a),
        Command::Submit(a) => submit::run(a),
        Command::Witness(w) => witness::run(w),
        Command::ForkEvidence(a) => fork::evidence(&a, default),
        Command::CheckFork(a) => fork::check(&a),
        Command::Completions { shell } => completions::run(shell),
        Command::Man { dir, force } => man::run(dir.as_deref(), force),
    }
}

/// The environment variable a passphrase may come from instead of the terminal.
pub const PASSPHRASE_VAR: &str = "CUSTODY_PASSPHRASE";

/// Where a passphrase came from, so that an error about it can say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PassphraseFrom {
    /// The environment variable [`PASSPHRASE_VAR`].
    Environment,
    /// Typed at the terminal.
    Terminal,
}

/// The passphrase of an existing key or seal file: from `CUSTODY_PASSPHRASE` if it is set,
/// else typed once at the terminal; and where it came from.
///
/// # Errors
/// [`KeyError::Passphrase`] when neither is available or the terminal cannot be read.
pub fn passphrase(prompt: &str) -> Result<(SecretString, PassphraseFrom), KeyError> {
    if let Ok(p) = std::env::var(PASSPHRASE_VAR) {
        return Ok((SecretString::from(p), PassphraseFrom::Environment));
    }
    Ok((prompt_once(prompt)?, PassphraseFrom::Terminal))
}

/// One passphrase typed at the terminal (not echoed).
fn prompt_once(prompt: &str) -> Result<SecretString, KeyError> {
    if !std::io::stdin().is_terminal() {
        return Err(KeyError::Passphrase(format!(
            "a passphrase is needed: set {PASSPHRASE_VAR} or run on a terminal"
        )));
    }
    rpassword::prompt_password(prompt)
        .map(SecretString::from)
        .map_err(|e| KeyError::Passphrase(format!("cannot read passphrase: {e}")))
}

/// A new passphrase for `what` (a key or seal file about to be encrypted): from
/// `CUSTODY_PASSPHRASE` if it is set, else typed twice at the terminal, and the two must
/// agree. An empty passphrase is refused either way: it would encrypt the file to nothing.
///
/// # Errors
/// An empty passphrase, two that differ, or no passphrase to be had.
pub fn new_passphrase(what: &str) -> Result<SecretString> {
    new_passphrase_from(what, PASSPHRASE_VAR)
}

/// As [`new_passphrase`], taking it from the environment variable `var` when that is set.
///
/// # Errors
/// As [`new_passphrase`].
pub fn new_passphrase_from(what: &str, var: &str) -> Result<SecretString> {
    let empty = |from: &str| {
        anyhow::anyhow!(
            "refusing an empty passphrase for {what} ({from}): it would protect nothing; \
             choose a passphrase, or leave out --encrypt"
        )
    };
    if let Ok(p) = std::env::var(var) {
        if p.is_empty() {
            return Err(empty(&format!("{var} is set but empty")));
        }
        return Ok(SecretString::from(p));
    }
    let first = prompt_once(&format!("New passphrase for {what}: "))?;
    if first.expose_secret().is_empty() {
        return Err(empty("nothing was typed"));
    }
    let again = prompt_once("The same passphrase again: ")?;
    if first.expose_secret() != again.expose_secret() {
        anyhow::bail!("the two passphrases for {what} differ; nothing was written, try again");
    }
    Ok(first)
}

/// `e` as the error to show, saying where a wrong passphrase came from when it came from
/// `CUSTODY_PASSPHRASE`: a variable left set from another key is easy to miss.
pub fn passphrase_error(e: StoreError, from: Option<PassphraseFrom>) -> anyhow::Error {
    match (&e, from) {
        (
            StoreError::Key {
                source: KeyError::WrongPassphrase,
                ..
            },
            Some(PassphraseFrom::Environment),
        ) => anyhow::anyhow!(
            "{e}; the passphrase was taken from the environment variable {PASSPHRASE_VAR}: \
             check its value, or unset it to be asked on the terminal"
        ),
        _ => e.into(),
    }
}

/// Loads a secret key, asking for its passphrase if it is encrypted.
pub fn load_key(path: &Path) -> Result<SecretKey> {
    // A public key file (mode 0644) would otherwise be refused with advice to chmod it.
    if files::is_public_key_file(path) {
        let secret = path.with_extension("key");
        anyhow::bail!(
            "{} is a public key file; --key wants the secret key file ({})",
            path.display(),
            secret.display()
        );
    }
    let mut from = None;
    files::load_secret(path, || {
        let (p, f) = passphrase(&format!("Passphrase for {}: ", path.display()))?;
        from = Some(f);
        Ok(p)
    })
    .map_err(|e| passphrase_error(e, from))
    .with_context(|| format!("cannot use secret key {}", path.display()))
}

/// Reads and parses a witness policy file (a bad one is a usage error, exit 2).
pub fn load_policy(path: &Path) -> Result<custody_core::policy::Policy> {
    let bytes = files::read_bounded(
        path,
        custody_core::policy::MAX_POLICY_BYTES as u64,
        "a witness policy",
    )
    .with_context(|| format!("cannot read policy {}", path.display()))?;
    custody_core::policy::Policy::parse(&bytes)
        .with_context(|| format!("policy {} is not usable", path.display()))
}

/// What `verify` and `check` say without `--policy` about a checkpoint's signature lines other
/// than the log's (witness cosignatures, most likely): how many, the names they state, and how
/// to check them. None when there are none. The names are the lines' own, unauthenticated:
/// only a policy the reader trusts says which keys count (a ledger or bundle is untrusted).
#[must_use]
pub fn unchecked_cosignatures(
    note: &str,
    log: &custody_core::checkpoint::StrictVerifier,
) -> Option<String> {
    let split = custody_core::cosignature::split_note(note.as_bytes()).ok()?;
    let mut names: Vec<&str> = split
        .lines
        .iter()
        .filter(|l| !(l.name == log.name() && l.key_id == log.key_id()))
        .map(|l| l.name.as_str())
        .collect();
    let n = names.len();
    names.dedup();
    (n > 0).then(|| {
        format!(
            "{} besides the log's ({}), not checked: give --policy POLICY.txt (docs/POLICY.md) to \
             hold the checkpoint to the witnesses you trust",
            crate::print::count(n as u64, "signature line", "signature lines"),
            names.join(", ")
        )
    })
}

/// A witness's timestamp as RFC 3339 (the raw number past the calendar's range).
#[must_use]
pub fn witness_time(t: u64) -> String {
    i64::try_from(t).map_or_else(|_| t.to_string(), crate::print::time)
}

/// Opens a ledger for appending (holding the writer lock).
pub fn open_writer(ledger: &Path) -> Result<Ledger> {
    Ledger::open_with(ledger, Access::Write, &|lock| {
        eprintln!(
            "custody: waiting for {}: another process holds it (another custody writer, or whoever locked that file)",
            crate::print::clean(&lock.display().to_string())
        );
    })
        .with_context(|| format!("cannot open ledger {}", ledger.display()))
}

/// Opens a ledger for reading.
pub fn open_reader(ledger: &Path) -> Result<Ledger> {
    Ledger::open(ledger, Access::Read)
        .with_context(|| format!("cannot open ledger {}", ledger.display()))
}

/// Signs `body` with `key` for the ledger's origin, appends it and prints the entry.
pub fn sign_and_add(ledger: &Path, key: &Path, body: Body) -> Result<()> {
    let key = load_key(key)?;
    let mut l = open_writer(ledger)?;
    let origin = l.state().origin.clone();
    let kind = body.kind();
    let sub = sign_now(&key, &origin, body)?;
    let a = l.append(sub)?;
    out!("entry {} ({kind}) appended; leaf hash {}", a.index, a.leaf);
    warn(&mut l);
    Ok(())
}

/// Prints the ledger's warnings (a cache that could not be written after a durable entry).
pub fn warn(l: &mut Ledger) {
    for w in l.take_warnings() {
        eprintln!("custody: warning: {}", crate::print::clean(&w));
    }
}

/// A progress bar on stderr when it is a terminal (and not hidden), else nothing.
pub fn progress_bar(total: u64, template: &str, hidden: bool) -> indicatif::ProgressBar {
    if hidden || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let b = indicatif::ProgressBar::new(total);
    b.set_style(
        indicatif::ProgressStyle::with_template(template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            // `{rate}`: whole entries per second (indicatif's `{per_sec}` shows four decimals).
            .with_key(
                "rate",
                |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0} entries/s", s.per_sec());
                },
            ),
    );
    b
}
