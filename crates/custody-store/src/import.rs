//! `import`: sign many bodies from JSON Lines on all cores and append them with group commit
//! (one fsync per batch). Reports only what is durable; a bad line stops the import with its
//! line number and leaves the ledger at the last durable entry. Signing batch k+1 overlaps the
//! append (and fsync) of batch k.
//!
//! Import is idempotent: a line whose body the ledger already recorded, signed by the same key,
//! before this import began (the same origin, signer and body; only the claimed time differs, as
//! it does when a file is imported again) is skipped and reported, never appended twice. So a
//! rerun of a file that stopped half-way (a bad line, a crash) appends exactly the lines that had
//! not landed. Two identical lines in one file are not skipped: the second is a duplicate, which
//! the ledger refuses unless it is a deliberate repeat (`repeats`).

use crate::clock::now;
use crate::error::StoreError;
use crate::ledger::Ledger;
use custody_core::entry::{Body, Submission};
use custody_core::import::{parse_line, BoundedLines};
use custody_core::rules::text::count;
use custody_core::sign::{sign_submission, KeySigner};
use rayon::prelude::*;
use std::io::BufRead;

/// "1 entry before it is durable", "2 entries before it are durable".
fn durable_entries(n: u64) -> String {
    format!(
        "{} before it {} durable",
        count(n, "entry", "entries"),
        if n == 1 { "is" } else { "are" }
    )
}

/// What an import made durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// Entries appended.
    pub done: u64,
    /// The first appended entry's index.
    pub first: Option<u64>,
    /// The ledger's size afterwards.
    pub size: u64,
    /// Lines skipped because the ledger already recorded them before this import began:
    /// (1-based line number, the entry recording it), in input order.
    pub skipped: Vec<(usize, u64)>,
}

/// Why an import stopped. Everything before the line named is durable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// A line is not a body.
    #[error(
        "import stopped; {} (the ledger now holds {}): line {line}: {reason}",
        durable_entries(*durable),
        count(*size, "entry", "entries")
    )]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
        /// Entries appended before it.
        durable: u64,
        /// The ledger's size.
        size: u64,
    },
    /// A line's body was refused by the ledger.
    #[error(
        "line {line}: {source}; {} (the ledger now holds {})",
        durable_entries(*durable),
        count(*size, "entry", "entries")
    )]
    Refused {
        /// 1-based line number.
        line: usize,
        /// Why.
        #[source]
        source: StoreError,
        /// Entries appended before it.
        durable: u64,
        /// The ledger's size.
        size: u64,
    },
    /// Signing or writing failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Counts the lines of `input` (its `\n` bytes, plus a last line without one), reading it in
/// constant memory: import sizes the duplicate table from it before the first append.
///
/// # Errors
/// If reading fails.
pub fn count_lines(mut input: impl std::io::Read) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let (mut n, mut last) = (0u64, b'\n');
    loop {
        let k = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        n += buf[..k].iter().filter(|&&b| b == b'\n').count() as u64;
        last = buf[k - 1];
    }
    Ok(n + u64::from(last != b'\n'))
}

/// A signed batch and the input line of each submission.
struct Signed {
    subs: Vec<Submission>,
    numbers: Vec<usize>,
}

/// Imports every line of `input` into `ledger`, signed by `signer`, `batch` entries per fsync.
/// `lines`, when known, is how many lines the input has: the duplicate table is sized for them
/// once. `progress` is called with the bytes read so far.
///
/// # Errors
/// The first bad or refused line (everything before it is durable), or an I/O failure.
pub fn import(
    ledger: &mut Ledger,
    signer: &dyn KeySigner,
    input: impl BufRead,
    lines: Option<u64>,
    batch: usize,
    progress: &dyn Fn(u64),
) -> Result<Imported, ImportError> {
    let batch = batch.clamp(1, 65_536);
    if let Some(n) = lines {
        ledger.reserve(n)?;
    }
    let origin = ledger.state().origin.clone();
    let mut lines = BoundedLines(input);
    let mut line_no = 0usize;
    let mut done = Imported {
        done: 0,
        first: None,
        size: ledger.size(),
        skipped: Vec::new(),
    };
    // Only what was there before this run counts as already imported.
    let before = ledger.size();
    let mut bytes_read = 0u64;
    let mut in_flight: Option<Signed> = None;
    loop {
        // Read and parse one batch; a bad line ends the import after what is already durable.
        let mut bodies: Vec<Body> = Vec::with_capacity(batch);
        let mut numbers = Vec::with_capacity(batch);
        let mut bad: Option<(usize, String)> = None;
        let mut ended = false;
        while bodies.len() < batch {
            let Some(line) = lines.next() else {
                ended = true;
                break;
            };
            line_no += 1;
            let parsed = line
                .map_err(|e| e.to_string())
                .inspect(|l| bytes_read += l.len() as u64 + 1)
                .and_then(|l| parse_line(&l));
            match parsed {
                Ok(Some(b)) => {
                    bodies.push(b);
                    numbers.push(line_no);
                }
                Ok(None) => {}
                Err(e) => {
                    bad = Some((line_no, e));
                    break;
                }
            }
        }
        let previous = in_flight.take();
        let claimed = now();
        let (signed, appended) = rayon::join(
            || -> Result<Vec<Submission>, StoreError> {
                bodies
                    .into_par_iter()
                    .map(|b| Ok(sign_submission(signer, &origin, claimed, b)?))
                    .collect()
            },
            || previous.map(|p| commit(ledger, &mut done, p, before)),
        );
        if let Some(r) = appended {
            r?;
        }
        progress(bytes_read);
        let subs = signed?;
        if !subs.is_empty() {
            in_flight = Some(Signed { subs, numbers });
        }
        if bad.is_some() || ended {
            if let Some(p) = in_flight.take() {
                commit(ledger, &mut done, p, before)?;
            }
            if let Some((line, reason)) = bad {
                return Err(ImportError::BadLine {
                    line,
                    reason,
                    durable: done.done,
                    size: ledger.size(),
                });
            }
            return Ok(done);
        }
    }
}

/// Appends one signed batch with one fsync, less the lines the ledger recorded before entry
/// `before` (skipped and noted in `done`); on refusal names the input line.
fn commit(
    l: &mut Ledger,
    done: &mut Imported,
    batch: Signed,
    before: u64,
) -> Result<(), ImportError> {
    let mut subs = Vec::with_capacity(batch.subs.len());
    let mut numbers = Vec::with_capacity(batch.subs.len());
    for (sub, line) in batch.subs.into_iter().zip(batch.numbers) {
        match l.recorded(&sub.content, before)? {
            Some(entry) => done.skipped.push((line, entry)),
            None => {
                subs.push(sub);
                numbers.push(line);
            }
        }
    }
    if subs.is_empty() {
        return Ok(());
    }
    let batch = Signed { subs, numbers };
    match l.append_batch_self_signed(batch.subs) {
        Ok(appended) => {
            if done.first.is_none() {
                done.first = appended.first().map(|a| a.index);
            }
            done.done += appended.len() as u64;
            done.size = l.size();
            Ok(())
        }
        Err(e) => {
            let (pos, inner) = match e {
                StoreError::BatchRejected { position, source } => (position, *source),
                other => (0, other),
            };
            Err(ImportError::Refused {
                line: batch.numbers.get(pos).copied().unwrap_or(0),
                source: inner,
                durable: done.done,
                size: l.size(),
            })
        }
    }
}
