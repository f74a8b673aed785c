//! Checkpoints on disk: recording a signed note in `checkpoints/`, listing them, the latest one
//! that holds against the log, signing a new one with the operator's key, and adding witness
//! cosignatures to a recorded one.
//!
//! The folder is untrusted input like the rest of a ledger directory: a note is read only from
//! a regular file and only up to [`MAX_NOTE_BYTES`], and a note is written through a temporary
//! file that is never a symbolic link, so nothing planted there makes custody hang or write
//! outside the ledger.
//!
//! A recorded checkpoint only ever gains signature lines: it is replaced (atomically: write,
//! fsync, rename, fsync the folder) only by a note with the same body and every line it
//! already had, and the lines added must be valid cosignatures ([`Ledger::record_witnessed`]).
//! Signing the same tree again never strips the cosignatures a record holds.

use crate::error::StoreError;
use crate::files::{create_temp_nofollow, io_at, open_regular, real_dir};
use crate::ledger::{sync_dir, Ledger, CHECKPOINTS};
use custody_core::checkpoint::{self, SignedCheckpoint, StrictVerifier, MAX_NOTE_BYTES};
use custody_core::cosignature::{self, CosignatureVerifier, SplitNote};
use custody_core::entry::Body;
use custody_core::hash::Digest;
use custody_core::sign::KeySigner;
use ed25519_dalek::VerifyingKey;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

impl Ledger {
    /// Records a signed checkpoint note; never loses a line a record already has. Returns its
    /// path.
    ///
    /// A file under the final name that holds this note's body and every one of its signature
    /// lines (the same note, or the same note with cosignatures added) is kept as it is.
    /// Anything else there is no record of this checkpoint and is replaced. The note is
    /// written to `checkpoints/.SIZE.tmp` created by [`create_temp_nofollow`] (a symbolic link
    /// or crash leftover there is removed, never written through), fsynced, renamed into
    /// place, and the folder fsynced, so a recorded checkpoint is durable and a crash leaves at
    /// most a temporary file.
    ///
    /// # Errors
    /// If `checkpoints` is not a directory (a symbolic link to one elsewhere is refused), or on
    /// I/O failure.
    pub fn record_checkpoint(
        &self,
        size: u64,
        root: &Digest,
        note: &str,
    ) -> Result<PathBuf, StoreError> {
        let (dir, path) = self.checkpoint_path(size, root)?;
        // A file under the final name is this checkpoint only if it holds at least this note
        // (read without following a link); anything else there (planted bytes, a link, a FIFO)
        // is no record, and the rename below replaces that directory entry, never following it.
        let kept = recorded_note(&path)
            .zip(cosignature::split_note(note.as_bytes()).ok())
            .is_some_and(|(recorded, new)| extends(&new, &recorded));
        if kept {
            return Ok(path);
        }
        replace_note(&dir, &path, size, note)?;
        Ok(path)
    }

    /// `checkpoints/` (created, and required to be a real directory) and the file name of the
    /// checkpoint of `size` and `root` in it.
    fn checkpoint_path(&self, size: u64, root: &Digest) -> Result<(PathBuf, PathBuf), StoreError> {
        let dir = self.dir().join(CHECKPOINTS);
        fs::create_dir_all(&dir).map_err(io_at(&dir))?;
        real_dir(&dir)?;
        let path = checkpoint_file(self.dir(), size, root);
        Ok((dir, path))
    }

    /// Replaces the recorded note of checkpoint `cp` by `note`, the same checkpoint with
    /// witness cosignatures added. Returns the path.
    ///
    /// `note` must open under the operator key as `cp` (same body), match the log, hold every
    /// signature line the record holds now, and every line it adds must be a valid cosignature
    /// by one of `witnesses` over its body. The replacement is atomic (temporary file, fsync,
    /// rename, fsync of the folder): a crash leaves the old record or the new one.
    ///
    /// # Errors
    /// [`StoreError::Usage`] if `note` is not such an extension (it names what is wrong), or on
    /// I/O failure.
    pub fn record_witnessed(
        &self,
        cp: &SignedCheckpoint,
        note: &str,
        witnesses: &[CosignatureVerifier],
    ) -> Result<PathBuf, StoreError> {
        let refuse =
            |why: &str| StoreError::Usage(format!("not recording the cosigned checkpoint: {why}"));
        let verifier = self.operator_verifier()?;
        let opened = checkpoint::open(note.as_bytes(), &verifier)
            .map_err(|e| refuse(&format!("it does not open under the operator key ({e})")))?;
        if opened.size() != cp.size()
            || opened.root() != cp.root()
            || opened.extension() != cp.extension()
        {
            return Err(refuse("it is another checkpoint"));
        }
        if cp.size() > self.size() || self.root(cp.size())? != cp.root() {
            return Err(refuse("it contradicts the log"));
        }
        let new = cosignature::split_note(note.as_bytes()).map_err(|e| refuse(&e.to_string()))?;
        let (dir, path) = self.checkpoint_path(cp.size(), &cp.root())?;
        let old = match recorded_note(&path) {
            Some(old) => old,
            None => {
                cosignature::split_note(cp.note().as_bytes()).map_err(|e| refuse(&e.to_string()))?
            }
        };
        if !extends(&old, &new) {
            return Err(refuse(
                "the recorded note has lines this one lacks (it changed meanwhile); run the command again",
            ));
        }
        for line in new
            .lines
            .iter()
            .filter(|l| !old.lines.iter().any(|o| o.text == l.text))
        {
            let valid = witnesses.iter().any(|w| {
                matches!(
                    w.verify(new.body.as_bytes(), line),
                    cosignature::CosignatureLine::Valid { .. }
                )
            });
            if !valid {
                return Err(refuse(&format!(
                    "the added line by {:?} is not a valid cosignature by a witness of the policy",
                    line.name
                )));
            }
        }
        if old.lines.len() == new.lines.len() {
            return Ok(path);
        }
        replace_note(&dir, &path, cp.size(), note)?;
        Ok(path)
    }

    /// Every recorded checkpoint, each checked against the log as [`Ledger::latest_checkpoint`]
    /// checks it, sorted by file name (tree size).
    ///
    /// # Errors
    /// As [`Ledger::latest_checkpoint`].
    pub fn recorded_checkpoints(
        &self,
        verifier: &StrictVerifier,
    ) -> Result<Vec<(PathBuf, SignedCheckpoint)>, StoreError> {
        let mut out = Vec::new();
        for (path, bytes) in self.checkpoints()? {
            let cp = checkpoint::open(&bytes, verifier).map_err(|e| {
                StoreError::Usage(format!(
                    "recorded checkpoint {} does not open under the operator key ({e}); run `custody verify`",
                    path.display()
                ))
            })?;
            if cp.size() > self.size() || self.root(cp.size())? != cp.root() {
                return Err(StoreError::Usage(format!(
                    "recorded checkpoint {} contradicts the log; run `custody verify`",
                    path.display()
                )));
            }
            out.push((path, cp));
        }
        Ok(out)
    }

    /// For each of `witnesses`, the largest tree size of a recorded checkpoint that holds a
    /// valid cosignature by it (0 if none): the size that witness last cosigned for this log,
    /// as far as this ledger's records show.
    ///
    /// # Errors
    /// As [`Ledger::recorded_checkpoints`].
    pub fn witnessed_sizes(
        &self,
        verifier: &StrictVerifier,
        witnesses: &[CosignatureVerifier],
    ) -> Result<Vec<u64>, StoreError> {
        let mut sizes = vec![0u64; witnesses.len()];
        for (_, cp) in self.recorded_checkpoints(verifier)? {
            let Ok(split) = cosignature::split_note(cp.note().as_bytes()) else {
                continue;
            };
            let c = split.cosignatures(witnesses);
            for (i, t) in c.times.iter().enumerate() {
                if t.is_some() {
                    sizes[i] = sizes[i].max(cp.size());
                }
            }
        }
        Ok(sizes)
    }

    /// Every recorded checkpoint note, sorted by file name (tree size).
    ///
    /// # Errors
    /// On I/O failure.
    pub fn checkpoints(&self) -> Result<Vec<(PathBuf, Vec<u8>)>, StoreError> {
        list_checkpoints(self.dir())
    }

    /// The verifier of the log's checkpoints: the operator key from genesis, named by origin.
    ///
    /// # Errors
    /// If the ledger has no valid operator key.
    pub fn operator_verifier(&self) -> Result<StrictVerifier, StoreError> {
        let st = self.state();
        let op = st
            .operator()
            .ok_or_else(|| StoreError::Usage("the ledger has no operator key".into()))?;
        let key = VerifyingKey::from_bytes(&op.public)
            .map_err(|_| StoreError::Usage("the operator key is invalid".into()))?;
        StrictVerifier::new(&st.origin, key).map_err(|e| StoreError::Usage(e.to_string()))
    }

    /// The recorded checkpoint of the largest size, each one checked against the log: it must
    /// open under the operator key and match the log's root at its size.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`]-class evidence errors for a checkpoint that does not hold.
    pub fn latest_checkpoint(
        &self,
        verifier: &StrictVerifier,
    ) -> Result<Option<SignedCheckpoint>, StoreError> {
        let mut best: Option<SignedCheckpoint> = None;
        for (_, cp) in self.recorded_checkpoints(verifier)? {
            if best.as_ref().is_none_or(|b| cp.size() > b.size()) {
                best = Some(cp);
            }
        }
        Ok(best)
    }

    /// Signs a checkpoint of the whole log with the operator's key and records it. Returns the
    /// opened checkpoint and where it was recorded.
    ///
    /// # Errors
    /// If `key` is not the ledger's operator key, or on I/O failure.
    pub fn sign_checkpoint(
        &self,
        key: &dyn KeySigner,
    ) -> Result<(SignedCheckpoint, PathBuf), StoreError> {
        let verifier = self.operator_verifier()?;
        if key.verifying_key() != *verifier.verifying_key() {
            let op = self
                .state()
                .operator()
                .map(|o| o.id().short())
                .unwrap_or_default();
            return Err(StoreError::Usage(format!(
                "that key is not the operator key of this ledger (operator key id {op}); only the operator signs checkpoints"
            )));
        }
        if self.undurable() {
            // A checkpoint over entries a power cut could still take would be contradicted by
            // the ledger it signs.
            return Err(StoreError::Usage(
                "internal: entries staged by `stage_each` are not yet durable; sync them first"
                    .into(),
            ));
        }
        let size = self.size();
        let root = self.root(size)?;
        let note = checkpoint::sign(&self.state().origin, size, root, key)
            .map_err(|e| StoreError::Usage(e.to_string()))?;
        let path = self.record_checkpoint(size, &root, &note)?;
        let cp = checkpoint::open(note.as_bytes(), &verifier)
            .map_err(|e| StoreError::Usage(format!("internal: own checkpoint: {e}")))?;
        Ok((cp, path))
    }
}

/// Where the checkpoint of tree `size` and `root` is recorded in ledger directory `dir`:
/// `checkpoints/SIZE-ROOT16.txt`, the size in 12 digits, the root's first 16 hex digits.
#[must_use]
pub fn checkpoint_file(dir: &Path, size: u64, root: &Digest) -> PathBuf {
    dir.join(CHECKPOINTS)
        .join(format!("{size:012}-{}.txt", &root.to_hex()[..16]))
}

/// The note recorded at `path` as a split note, if a regular file there holds one.
fn recorded_note(path: &Path) -> Option<SplitNote> {
    let bytes =
        crate::files::read_bounded_in_ledger(path, MAX_NOTE_BYTES as u64, "a checkpoint").ok()?;
    cosignature::split_note(&bytes).ok()
}

/// Whether `new` is `old` with zero or more signature lines added: the same body, and every
/// line of `old` in `new` byte for byte.
fn extends(old: &SplitNote, new: &SplitNote) -> bool {
    old.body == new.body
        && old
            .lines
            .iter()
            .all(|o| new.lines.iter().any(|n| n.text == o.text))
}

/// Writes `note` to a temporary file in `dir`, fsyncs it, renames it over `path` and fsyncs
/// `dir`.
fn replace_note(dir: &Path, path: &Path, size: u64, note: &str) -> Result<(), StoreError> {
    let tmp = dir.join(format!(".{size}.tmp"));
    let mut f = create_temp_nofollow(&tmp, 0o666)?;
    f.write_all(note.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(io_at(&tmp))?;
    drop(f);
    fs::rename(&tmp, path).map_err(io_at(path))?;
    sync_dir(dir)
}

impl Ledger {
    /// What `custody checkpoint` does: appends a state commitment signed by the operator's
    /// `key` (unless the log's last entry already is one, so an idle log does not grow), then
    /// signs and records a checkpoint of the whole log. A bundle exported against that
    /// checkpoint proves that it holds every amendment of its entries (docs/PROOFS.md,
    /// "Completeness"). Returns the checkpoint, where it was recorded, and the commitment's
    /// index if one was appended.
    ///
    /// # Errors
    /// If `key` is not the operator key, the commitment is refused, or on I/O failure.
    pub fn commit_and_checkpoint(
        &mut self,
        key: &dyn KeySigner,
    ) -> Result<(SignedCheckpoint, PathBuf, Option<u64>), StoreError> {
        let verifier = self.operator_verifier()?;
        if key.verifying_key() != *verifier.verifying_key() {
            // The same refusal as sign_checkpoint's, before anything is appended.
            return self.sign_checkpoint(key).map(|(c, p)| (c, p, None));
        }
        let last_is_commitment =
            self.state().commitments.last().copied() == self.size().checked_sub(1);
        let mut appended = None;
        if !last_is_commitment {
            let size = self.size();
            let (leaves, root) = custody_core::completeness::state_root(self.state(), size);
            let body = Body::StateCommitment { size, leaves, root };
            let sub = crate::clock::sign_now(key, &self.state().origin.clone(), body)?;
            appended = Some(self.append(sub)?.index);
        }
        let (cp, path) = self.sign_checkpoint(key)?;
        Ok((cp, path, appended))
    }
}

/// The most `.txt` files [`list_checkpoints`] reads from one ledger's `checkpoints/`: a
/// checkpoint every 10 s for over a year.
pub const MAX_CHECKPOINT_FILES: usize = 4 << 20;
/// The most bytes [`list_checkpoints`] reads from them all (a real note is a few hundred bytes).
pub const MAX_CHECKPOINT_FILES_BYTES: u64 = 1 << 30;

/// Every checkpoint note recorded in a ledger directory, sorted by name, each read to at most
/// [`MAX_NOTE_BYTES`]. Names not ending in `.txt` (temporary files, anything else) are skipped.
///
/// At most [`MAX_CHECKPOINT_FILES`] files and [`MAX_CHECKPOINT_FILES_BYTES`] bytes in all are
/// read. Why: the folder is untrusted, and hard links cost no disk space, so 60,000 names for
/// one 64 KiB file (2 MB on disk) were 4 GB in memory before the first note was looked at.
///
/// Each note is opened with [`open_regular`]: a FIFO, a symbolic link (to
/// `/dev/zero`, to a huge file), a directory or a device under a `.txt` name is an error naming
/// it, returned at once, never followed or waited on.
///
/// # Errors
/// If the folder cannot be read, or a `.txt` entry is not a regular file.
pub fn list_checkpoints(dir: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>, StoreError> {
    let cdir = dir.join(CHECKPOINTS);
    let mut out = Vec::new();
    match fs::symlink_metadata(&cdir) {
        // No folder, no checkpoints (ledgers written before there was one).
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io_at(&cdir)(e)),
        Ok(_) => real_dir(&cdir)?,
    }
    let rd = fs::read_dir(&cdir).map_err(io_at(&cdir))?;
    let mut total = 0u64;
    let too_many = |what: &'static str| StoreError::TooLarge {
        path: cdir.display().to_string(),
        what,
        max: MAX_CHECKPOINT_FILES_BYTES,
    };
    for e in rd {
        let e = e.map_err(io_at(&cdir))?;
        let p = e.path();
        if p.extension().and_then(|x| x.to_str()) == Some("txt") {
            if out.len() == MAX_CHECKPOINT_FILES {
                return Err(too_many(
                    "read: it holds more than 4,194,304 checkpoint files (planted?)",
                ));
            }
            // Cut at the bound as before: a longer note then fails to open, which `verify`
            // reports against the checkpoint it names.
            let mut b = Vec::new();
            open_regular(&p)?
                .take(MAX_NOTE_BYTES as u64)
                .read_to_end(&mut b)
                .map_err(io_at(&p))?;
            total += b.len() as u64;
            if total > MAX_CHECKPOINT_FILES_BYTES {
                return Err(too_many(
                    "read: its checkpoint files hold more than 1 GiB in all (planted?)",
                ));
            }
            out.push((p, b));
        }
    }
    out.sort();
    Ok(out)
}
