//! `custody import`: sign many bodies from JSON Lines on all cores and append them with group
//! commit (one fsync per batch). Reports only what is durable; a bad line stops the import with
//! its line number and leaves the ledger at the last durable entry.
//!
//! Schema (one object per line, `kind` first; see docs/FORMAT.md "Import"):
//! `{"kind":"source","sha256":HEX,"size":N,"title":..,"publisher":..,"date":..,"source_kind":"ngo-report","locator":..}`
//! `{"kind":"claim","statement":..,"count":N,"unit":"people","category":..,"period":..,"place":..,"cites":[N,..]}`
//! `{"kind":"figure","label":..,"value":N,"qualifier":"at-least","unit":"people","terms":[N,..]}`
//! `{"kind":"correction","target":N,"count":N,"statement":..,"reason":..}`, `{"kind":"retraction","target":N,"reason":..}`

use crate::cli::{load_key, make_submission};
use anyhow::{bail, Context, Result};
use custody::entry::{Body, Qualifier, SourceKind, Submission};
use custody::hash::Digest;
use custody::store::{Access, Ledger, StoreError};
use rayon::prelude::*;
use serde::Deserialize;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
enum Line {
    Source {
        sha256: String,
        size: u64,
        title: String,
        publisher: String,
        date: String,
        source_kind: String,
        locator: Option<String>,
    },
    Claim {
        statement: String,
        count: Option<u64>,
        #[serde(default = "people")]
        unit: String,
        category: String,
        period: String,
        #[serde(default)]
        place: String,
        cites: Vec<u64>,
    },
    Figure {
        label: String,
        value: u64,
        qualifier: String,
        #[serde(default = "people")]
        unit: String,
        terms: Vec<u64>,
    },
    Correction {
        target: u64,
        count: Option<u64>,
        statement: Option<String>,
        reason: String,
    },
    Retraction {
        target: u64,
        reason: String,
    },
}

fn people() -> String {
    "people".into()
}

fn to_body(line: Line) -> Result<Body, String> {
    Ok(match line {
        Line::Source {
            sha256,
            size,
            title,
            publisher,
            date,
            source_kind,
            locator,
        } => Body::Source {
            sha256: Digest::from_hex(&sha256)?,
            size,
            title,
            publisher,
            date,
            kind: SourceKind::ALL
                .into_iter()
                .find(|k| k.name() == source_kind)
                .ok_or_else(|| format!("unknown source_kind {source_kind:?}"))?,
            locator,
        },
        Line::Claim {
            statement,
            count,
            unit,
            category,
            period,
            place,
            cites,
        } => Body::Claim {
            statement,
            count,
            unit,
            category,
            period,
            place,
            cites,
        },
        Line::Figure {
            label,
            value,
            qualifier,
            unit,
            terms,
        } => Body::Figure {
            label,
            value,
            qualifier: match qualifier.as_str() {
                "at-least" => Qualifier::AtLeast,
                "exactly" => Qualifier::Exactly,
                "about" => Qualifier::About,
                q => return Err(format!("unknown qualifier {q:?}")),
            },
            unit,
            terms,
        },
        Line::Correction {
            target,
            count,
            statement,
            reason,
        } => Body::Correction {
            target,
            count,
            statement,
            reason,
        },
        Line::Retraction { target, reason } => Body::Retraction { target, reason },
    })
}

/// The longest line import reads. A body is at most one record (1 MiB) once encoded, and JSON
/// escaping (`\u0000`) takes at most six bytes per byte, so no valid line is longer.
const MAX_LINE: u64 = 8 * custody::codec::MAX_RECORD_BYTES as u64;

/// `BufRead::lines`, but a line longer than [`MAX_LINE`] is an error instead of an allocation
/// as large as the file (a file with no newline, or `/dev/zero`, would take all memory).
struct BoundedLines<R>(R);

impl<R: BufRead> Iterator for BoundedLines<R> {
    type Item = std::io::Result<String>;

    fn next(&mut self) -> Option<Self::Item> {
        use std::io::{Error, ErrorKind, Read as _};
        let mut buf = Vec::new();
        match (&mut self.0).take(MAX_LINE + 1).read_until(b'\n', &mut buf) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e) => return Some(Err(e)),
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        } else if buf.len() as u64 > MAX_LINE {
            let msg = format!("line is longer than {MAX_LINE} bytes, more than any body");
            return Some(Err(Error::new(ErrorKind::InvalidData, msg)));
        }
        Some(String::from_utf8(buf).map_err(|_| Error::new(ErrorKind::InvalidData, "not UTF-8")))
    }
}

/// Runs the import.
///
/// # Errors
/// The first bad line (by number), a refused submission, or an I/O error.
pub fn import(ledger: &Path, key: &Path, file: &Path, batch: usize) -> Result<()> {
    let batch = batch.clamp(1, 65_536);
    let key = load_key(key)?;
    let input =
        std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut lines = BoundedLines(BufReader::with_capacity(1 << 20, input));
    let mut l = Ledger::open(ledger, Access::Write)
        .with_context(|| format!("cannot open ledger {}", ledger.display()))?;
    let origin = l.state().origin.clone();
    let total = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "importing {bar:40} {bytes}/{total_bytes} {per_sec} {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut line_no = 0usize;
    let mut progress = Progress {
        done: 0,
        first: None,
    };
    let mut bytes_read = 0u64;
    // Signed but not yet appended: batch k is appended (and fsynced) while batch k+1 is signed.
    let mut in_flight: Option<Signed> = None;
    loop {
        // Read and parse one batch; a bad line ends the import after what is already durable.
        let mut bodies = Vec::with_capacity(batch);
        let mut numbers = Vec::with_capacity(batch);
        let mut bad: Option<anyhow::Error> = None;
        let mut ended = false;
        while bodies.len() < batch {
            let Some(line) = lines.next() else {
                ended = true;
                break;
            };
            line_no += 1;
            let line = match line {
                Ok(l) => l,
                Err(e) => {
                    bad = Some(anyhow::anyhow!("line {line_no}: {e}"));
                    break;
                }
            };
            bytes_read += line.len() as u64 + 1;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Line>(&line)
                .map_err(|e| e.to_string())
                .and_then(to_body)
            {
                Ok(b) => {
                    bodies.push(b);
                    numbers.push(line_no);
                }
                Err(e) => {
                    bad = Some(anyhow::anyhow!("line {line_no}: {e}"));
                    break;
                }
            }
        }
        let previous = in_flight.take();
        let (signed, appended) = rayon::join(
            || -> Result<Vec<Submission>> {
                bodies
                    .into_par_iter()
                    .map(|b| make_submission(&key, &origin, b))
                    .collect()
            },
            || previous.map(|p| progress.commit(&mut l, p)),
        );
        if let Some(r) = appended {
            r.inspect_err(|_| bar.finish_and_clear())?;
        }
        bar.set_position(bytes_read);
        let subs = signed?;
        if !subs.is_empty() {
            in_flight = Some(Signed { subs, numbers });
        }
        if bad.is_some() || ended {
            if let Some(p) = in_flight.take() {
                progress
                    .commit(&mut l, p)
                    .inspect_err(|_| bar.finish_and_clear())?;
            }
            if let Some(e) = bad {
                bar.finish_and_clear();
                return Err(e.context(format!(
                    "import stopped; {} entries before it are durable (the ledger now holds {} entries)",
                    progress.done,
                    l.size()
                )));
            }
            break;
        }
    }
    let Progress { done, first } = progress;
    bar.finish_and_clear();
    let mut out = std::io::stdout().lock();
    match first {
        Some(f) => writeln!(
            out,
            "imported {done} entries ({f}..{}); the ledger holds {} entries",
            f + done - 1,
            l.size()
        )?,
        None => writeln!(out, "nothing to import")?,
    }
    Ok(())
}

/// A signed batch and the input line of each submission.
struct Signed {
    subs: Vec<Submission>,
    numbers: Vec<usize>,
}

/// What the import has made durable so far.
struct Progress {
    done: u64,
    first: Option<u64>,
}

impl Progress {
    /// Appends one signed batch with one fsync; on refusal names the input line.
    fn commit(&mut self, l: &mut Ledger, batch: Signed) -> Result<()> {
        match l.append_batch_self_signed(batch.subs) {
            Ok(appended) => {
                if self.first.is_none() {
                    self.first = appended.first().map(|a| a.index);
                }
                self.done += appended.len() as u64;
                Ok(())
            }
            Err(e) => {
                let (pos, inner) = match e {
                    StoreError::BatchRejected { position, source } => (position, *source),
                    other => (0, other),
                };
                let n = batch.numbers.get(pos).copied().unwrap_or(0);
                bail!(
                    "line {n}: {inner}; {} entries before it are durable (the ledger now holds {} entries)",
                    self.done,
                    l.size()
                )
            }
        }
    }
}
