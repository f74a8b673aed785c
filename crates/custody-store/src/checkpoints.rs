//! Checkpoints on disk: recording a signed note in `checkpoints/`, listing them, the latest one
//! that holds against the log, and signing a new one with the operator's key.

use crate::error::StoreError;
use crate::files::io_at;
use crate::ledger::{sync_dir, Ledger, CHECKPOINTS};
use custody_core::checkpoint::{self, SignedCheckpoint, StrictVerifier, MAX_NOTE_BYTES};
use custody_core::hash::Digest;
use custody_core::sign::KeySigner;
use ed25519_dalek::VerifyingKey;
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

impl Ledger {
    /// Records a signed checkpoint note; never overwrites. Returns its path.
    ///
    /// # Errors
    /// On I/O failure.
    pub fn record_checkpoint(
        &self,
        size: u64,
        root: &Digest,
        note: &str,
    ) -> Result<PathBuf, StoreError> {
        let dir = self.dir().join(CHECKPOINTS);
        fs::create_dir_all(&dir).map_err(io_at(&dir))?;
        let path = dir.join(format!("{size:012}-{}.txt", &root.to_hex()[..16]));
        if path.exists() {
            return Ok(path);
        }
        let tmp = dir.join(format!(".{size}.tmp"));
        fs::write(&tmp, note).map_err(io_at(&tmp))?;
        File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(io_at(&tmp))?;
        fs::rename(&tmp, &path).map_err(io_at(&path))?;
        sync_dir(&dir)?;
        Ok(path)
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

/// Every checkpoint note recorded in a ledger directory, sorted by name, each read to at most
/// [`MAX_NOTE_BYTES`].
///
/// # Errors
/// On I/O failure.
pub fn list_checkpoints(dir: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>, StoreError> {
    let cdir = dir.join(CHECKPOINTS);
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir(&cdir) else {
        return Ok(out);
    };
    for e in rd {
        let e = e.map_err(io_at(&cdir))?;
        let p = e.path();
        if p.extension().and_then(|x| x.to_str()) == Some("txt") {
            let mut b = Vec::new();
            File::open(&p)
                .and_then(|f| f.take(MAX_NOTE_BYTES as u64).read_to_end(&mut b))
                .map_err(io_at(&p))?;
            out.push((p, b));
        }
    }
    out.sort();
    Ok(out)
}
