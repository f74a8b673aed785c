//! Stored copies of source documents (`documents/`, named by SHA-256 hex): storing one, the
//! redaction sequence that deletes one, and `verify --documents`' re-hash of all of them.

use crate::error::StoreError;
use crate::files::{hash_file, io_at};
use crate::ledger::{Appended, Ledger, DOCUMENTS};
use custody_core::entry::{Body, Submission};
use custody_core::hash::Digest;
use custody_core::json::DocumentJson;
use custody_core::rules::{EntryLookup, LogState, RuleError};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// What a redaction did to the stored copy.
#[derive(Debug)]
pub enum CopyRemoved {
    /// The copy was deleted.
    Deleted(PathBuf),
    /// There was no stored copy.
    NotStored,
}

impl Ledger {
    /// Where a stored copy of a document with this hash lives.
    #[must_use]
    pub fn document_path(&self, sha256: &Digest) -> PathBuf {
        self.dir().join(DOCUMENTS).join(sha256.to_hex())
    }

    /// Copies `file`, which must hash to `sha256`, into `documents/` (write, hash again, fsync,
    /// rename). Called before the source entry is appended: a stored copy without an entry is
    /// harmless and named by `verify --documents`; an entry claiming a copy that is missing is
    /// not. Returns the copy's path.
    ///
    /// # Errors
    /// If the file changed while it was copied, or on I/O failure.
    pub fn store_document(&self, file: &Path, sha256: &Digest) -> Result<PathBuf, StoreError> {
        let dest = self.document_path(sha256);
        if dest.exists() {
            return Ok(dest);
        }
        let tmp = dest.with_extension("tmp");
        fs::copy(file, &tmp).map_err(io_at(file))?;
        let (h, _) = hash_file(&tmp)?;
        if h != *sha256 {
            fs::remove_file(&tmp).ok();
            return Err(StoreError::Usage(format!(
                "{} changed while it was being stored; try again",
                file.display()
            )));
        }
        fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(io_at(&tmp))?;
        fs::rename(&tmp, &dest).map_err(io_at(&dest))?;
        Ok(dest)
    }

    /// Appends a redaction of a source and then deletes the source's stored copy. The entry is
    /// durable first, so a crash in between leaves a copy that `verify --documents` names for
    /// deletion, never a silent loss.
    ///
    /// # Errors
    /// If the redaction is refused, or the copy cannot be deleted (the entry is then recorded;
    /// the error says so).
    pub fn redact(&mut self, sub: Submission) -> Result<(Appended, CopyRemoved), StoreError> {
        let Body::Redaction { target, .. } = sub.content.body else {
            return Err(StoreError::Usage("not a redaction".into()));
        };
        let entry = self.entry(target)?;
        let Body::Source { sha256, .. } = entry.content.body else {
            return Err(StoreError::Usage(format!(
                "entry {target} is a {}, not a source",
                entry.content.body.kind()
            )));
        };
        self.check(&sub)?;
        let path = self.document_path(&sha256);
        let a = self.append(sub)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok((a, CopyRemoved::Deleted(path))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((a, CopyRemoved::NotStored)),
            Err(e) => Err(StoreError::Usage(format!(
                "redaction recorded as entry {}, but deleting {} failed: {e}",
                a.index,
                path.display()
            ))),
        }
    }
}

/// A stored-documents check that failed: the evidence (a copy that does not match, a copy that
/// should have been deleted) or the reading of it.
#[derive(Debug)]
pub(crate) enum DocumentFailure {
    /// The evidence is wrong.
    Evidence {
        /// The entry it is about, if one.
        entry: Option<u64>,
        /// What is wrong.
        reason: String,
    },
    /// Reading failed.
    Io(StoreError),
}

impl From<RuleError> for DocumentFailure {
    fn from(e: RuleError) -> Self {
        if e.is_io() {
            DocumentFailure::Io(e.into())
        } else {
            DocumentFailure::Evidence {
                entry: None,
                reason: e.to_string(),
            }
        }
    }
}

/// Re-hashes every stored document of a replayed ledger in `dir`: each copy must be a regular
/// file of the recorded size and hash, no redacted copy may remain, and no file may be the copy
/// of nothing.
pub(crate) fn check_documents(
    dir: &Path,
    state: &LogState,
    log: &dyn EntryLookup,
) -> Result<Vec<DocumentJson>, DocumentFailure> {
    let fail = |entry: Option<u64>, reason: String| DocumentFailure::Evidence { entry, reason };
    // Sources are found through the documents folder and the amendments, not by another replay.
    let mut out = Vec::new();
    let docs = dir.join(DOCUMENTS);
    let mut stored: BTreeMap<String, PathBuf> = BTreeMap::new();
    if let Ok(rd) = fs::read_dir(&docs) {
        for e in rd.flatten() {
            if let Some(n) = e.file_name().to_str() {
                stored.insert(n.to_string(), e.path());
            }
        }
    }
    let mut seen = BTreeSet::new();
    for i in 0..state.size {
        let e = log.entry(i).map_err(RuleError::from)?;
        let Body::Source { sha256, size, .. } = e.content.body else {
            continue;
        };
        let mut redacted = None;
        for &a in state.amendments_of(i) {
            if let Body::Redaction { .. } = log.entry(a).map_err(RuleError::from)?.content.body {
                redacted = Some(a);
                break;
            }
        }
        let hexname = sha256.to_hex();
        let status = match (stored.get(&hexname), redacted) {
            (Some(p), Some(r)) => {
                return Err(fail(
                    Some(i),
                    format!(
                        "document {} is still stored although entry {r} redacted it",
                        p.display()
                    ),
                ))
            }
            (None, Some(r)) => format!("withheld (redacted at entry {r})"),
            (Some(p), None) => {
                // Only a regular file of the recorded size is hashed: a link to /dev/zero or a
                // FIFO planted in a received ledger must not hang the check.
                let meta = fs::symlink_metadata(p).map_err(|e| DocumentFailure::Io(io_at(p)(e)))?;
                if !meta.is_file() {
                    return Err(fail(
                        Some(i),
                        format!("stored document {} is not a regular file", p.display()),
                    ));
                }
                if meta.len() != size {
                    return Err(fail(Some(i), format!(
                        "stored document {} does not hash to the recorded SHA-256 (it has {} bytes, not the recorded {size})",
                        p.display(),
                        meta.len()
                    )));
                }
                let (h, _) = hash_file(p).map_err(DocumentFailure::Io)?;
                if h != sha256 {
                    return Err(fail(Some(i), format!(
                        "stored document {} does not hash to the recorded SHA-256 (it hashes to {h})",
                        p.display()
                    )));
                }
                seen.insert(hexname);
                "ok".to_string()
            }
            (None, None) => "not stored".to_string(),
        };
        out.push(DocumentJson { entry: i, status });
    }
    if let Some(extra) = stored.keys().find(|k| !seen.contains(*k)) {
        return Err(fail(
            None,
            format!("documents/{extra} is not the stored copy of any source in the log"),
        ));
    }
    Ok(out)
}
