//! Stored copies of source documents (`documents/`, named by SHA-256 hex): storing one, the
//! redaction sequence that deletes one, and `verify --documents`' re-hash of all of them.
//!
//! The folder is untrusted input: a copy is written through a temporary file that is never a
//! symbolic link, and only a regular file is ever hashed, so nothing planted there makes custody
//! write outside the ledger or hang.

use crate::error::StoreError;
use crate::files::{create_temp_nofollow, hash_open, io_at, open_regular, real_dir};
use crate::ledger::{sync_dir, Appended, Ledger, DOCUMENTS};
use custody_core::entry::{Body, Submission};
use custody_core::hash::Digest;
use custody_core::json::DocumentJson;
use custody_core::rules::{EntryLookup, LogState, RuleError};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
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

    /// Copies `file`, which must hash to `sha256`, into `documents/` (write, hash the copy,
    /// fsync, rename, fsync the folder). Called before the source entry is appended: a stored
    /// copy without an entry is harmless and named by `verify --documents`; an entry claiming a
    /// copy that is missing is not. Returns the copy's path.
    ///
    /// The copy goes to `documents/HEX.tmp` created by [`create_temp_nofollow`], not through
    /// `fs::copy`, which opens its destination with `create` + `truncate` and so writes through a
    /// symbolic link planted under that predictable name. The copy is hashed by reading it back
    /// through the handle it was written through, so what is renamed into place is what was
    /// checked.
    ///
    /// # Errors
    /// If the file changed while it was copied, `documents` is not a real directory, or on I/O
    /// failure.
    pub fn store_document(&self, file: &Path, sha256: &Digest) -> Result<PathBuf, StoreError> {
        let dest = self.document_path(sha256);
        let dir = self.dir().join(DOCUMENTS);
        fs::create_dir_all(&dir).map_err(io_at(&dir))?;
        real_dir(&dir)?;
        // A file under the final name is the copy only if it is a regular file that hashes to
        // `sha256` (opened without following a link); anything else there (planted bytes, a
        // link, a FIFO) is replaced by the rename below, never followed.
        // (Sizes first: a planted sparse terabyte is never read.)
        let want = fs::metadata(file).map_err(io_at(file))?.len();
        let same = crate::files::open_regular(&dest)
            .ok()
            .filter(|f| f.metadata().is_ok_and(|m| m.len() == want))
            .and_then(|mut f| hash_open(&mut f, &dest).ok())
            .is_some_and(|(h, _)| h == *sha256);
        if same {
            return Ok(dest);
        }
        let tmp = dest.with_extension("tmp");
        let mut src = fs::File::open(file).map_err(io_at(file))?;
        // The copy keeps the original's permission bits, as `fs::copy` did.
        let mode = src.metadata().map_err(io_at(file))?.permissions().mode() & 0o777;
        let mut out = create_temp_nofollow(&tmp, mode)?;
        // Hash the copy read back through the same handle (no second open of a name someone
        // else may have swapped), from its start.
        let copied = std::io::copy(&mut src, &mut out)
            .map_err(io_at(file))
            .and_then(|_| {
                out.sync_all()
                    .and_then(|()| out.seek(SeekFrom::Start(0)))
                    .map_err(io_at(&tmp))
            })
            .and_then(|_| hash_open(&mut out, &tmp));
        drop(out);
        let h = match copied {
            Ok((h, _)) => h,
            Err(e) => {
                fs::remove_file(&tmp).ok();
                return Err(e);
            }
        };
        if h != *sha256 {
            fs::remove_file(&tmp).ok();
            return Err(StoreError::Usage(format!(
                "{} changed while it was being stored; try again",
                file.display()
            )));
        }
        fs::rename(&tmp, &dest).map_err(io_at(&dest))?;
        sync_dir(&dir)?;
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
    // A `documents` that links to a folder elsewhere would have custody hash files outside the
    // ledger as if they were its copies.
    if fs::symlink_metadata(&docs).is_ok() {
        real_dir(&docs).map_err(DocumentFailure::Io)?;
    }
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
                // Opened without following a link and checked again on the handle, so a file
                // swapped for a FIFO or link after the check above is refused, not hashed.
                let f = open_regular(p).map_err(DocumentFailure::Io)?;
                let (h, _) = hash_open(f, p).map_err(DocumentFailure::Io)?;
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
