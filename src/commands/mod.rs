//! One file per command: gather inputs, call custody-store and custody-core, print.
//!
//! Only these files and `main.rs` print. Errors get context here (anyhow); a failed
//! verification is the distinct [`Failed`] error so `main` can exit 1 for it and 2 for
//! everything else.

/// `println!` panics on a closed pipe; this returns the error instead.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?;
    }};
}

mod add;
mod amend;
mod append;
mod check;
mod checkpoint;
mod disclose;
mod exhibit;
mod export;
mod figure;
mod import;
mod init;
mod key;
mod log;
mod prove;
mod repair;
mod show;
mod sign;
mod verify;

use crate::args::{Cli, Command};
use age::secrecy::SecretString;
use anyhow::{Context, Result};
use custody_core::entry::Body;
use custody_core::keys::{KeyError, SecretKey};
use custody_store::clock::sign_now;
use custody_store::files;
use custody_store::{Access, Ledger};
use std::io::IsTerminal;
use std::path::Path;

/// Verification found the evidence not to be what it claims: exit code 1.
#[derive(Debug)]
pub struct Failed(pub String);

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Failed {}

/// Runs one command.
///
/// # Errors
/// [`Failed`] when verification fails; anything else for usage, input or I/O problems.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Key(k) => key::run(k),
        Command::Init {
            ledger,
            origin,
            key,
        } => init::run(&ledger, &origin, &key),
        Command::Add(a) => add::run(a),
        Command::Sign(s) => sign::run(s),
        Command::Append { ledger, files } => append::run(&ledger, &files),
        Command::Correct {
            ledger,
            key,
            target,
            count,
            statement,
            reason,
        } => sign_and_add(
            &ledger,
            &key,
            Body::Correction {
                target,
                count,
                statement,
                reason,
            },
        ),
        Command::Retract {
            ledger,
            key,
            target,
            reason,
        } => sign_and_add(&ledger, &key, Body::Retraction { target, reason }),
        Command::Redact {
            ledger,
            key,
            target,
            reason,
        } => amend::redact(&ledger, &key, target, reason),
        Command::Log { ledger, json } => log::run(&ledger, json),
        Command::Show {
            ledger,
            index,
            json,
        } => show::run(&ledger, index, json),
        Command::Verify {
            ledger,
            since,
            documents,
            strict,
            jobs,
            json,
        } => verify::run(&ledger, &since, documents, strict, jobs, json),
        Command::Figure {
            ledger,
            index,
            json,
        } => figure::run(&ledger, index, json),
        Command::Disclose { seal } => disclose::disclose(&seal),
        Command::CheckDisclosure {
            ledger,
            index,
            opening,
        } => disclose::check(&ledger, index, &opening),
        Command::Checkpoint { ledger, key } => checkpoint::run(&ledger, &key),
        Command::Prove(p) => prove::run(p),
        Command::Repair { ledger, force } => repair::run(&ledger, force),
        Command::Import {
            ledger,
            key,
            file,
            batch,
        } => import::run(&ledger, &key, &file, batch),
        Command::Export(a) => export::run(a),
        Command::Check(a) => check::run(a),
        Command::Exhibit(a) => exhibit::run(a),
    }
}

/// A passphrase from `CUSTODY_PASSPHRASE`, or a prompt on the terminal.
pub fn passphrase(prompt: &str) -> Result<SecretString, KeyError> {
    if let Ok(p) = std::env::var("CUSTODY_PASSPHRASE") {
        return Ok(SecretString::from(p));
    }
    if !std::io::stdin().is_terminal() {
        return Err(KeyError::Passphrase(
            "a passphrase is needed: set CUSTODY_PASSPHRASE or run on a terminal".into(),
        ));
    }
    rpassword::prompt_password(prompt)
        .map(SecretString::from)
        .map_err(|e| KeyError::Passphrase(format!("cannot read passphrase: {e}")))
}

/// Loads a secret key, asking for its passphrase if it is encrypted.
pub fn load_key(path: &Path) -> Result<SecretKey> {
    files::load_secret(path, || {
        passphrase(&format!("Passphrase for {}: ", path.display()))
    })
    .with_context(|| format!("cannot use secret key {}", path.display()))
}

/// Opens a ledger for appending (holding the writer lock).
pub fn open_writer(ledger: &Path) -> Result<Ledger> {
    Ledger::open(ledger, Access::Write)
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
        eprintln!("custody: warning: {w}");
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
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    b
}
