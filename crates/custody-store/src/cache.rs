//! This machine's verified caches of a ledger, kept *outside* the ledger directory.
//!
//! A ledger directory is untrusted input: anyone who can write it (a shared drive, a sync
//! folder, a colleague) could plant derived files. So the offset index, the stored tree hashes,
//! the duplicate table and the rules state that `add`, `append`, `import`, `checkpoint` and
//! `export` rely on live in a per-user folder (mode 0700), written only by custody and only
//! from entries it verified itself: chain, rules, duplicates and strict signatures. A ledger
//! received from elsewhere has no caches here, so its first use verifies it in full.
//!
//! ```text
//! $CUSTODY_CACHE_DIR, else $XDG_CACHE_HOME/custody, else $HOME/.cache/custody
//!   <id>/            id = first 16 bytes, hex, of SHA-256("custody/v1/cache\0" ||
//!                         canonical ledger path || 0x00 || genesis leaf hash)
//!     state.json     the rules state, the size and the end offset of the verified prefix
//!     index          per entry: u64 LE offset of its frame, then its verified leaf hash
//!     hashes         RFC 6962 stored hashes in Go tlog's layout, 32 bytes each
//!     dedup          signed-submission key -> entry (see dedup.rs)
//!     lock           held while the caches are read or brought up to date
//! ```
//! With no usable cache folder the same files are anonymous temporary files: correct, just
//! verified again on every run.

use crate::error::StoreError;
use crate::files::io_at;
use custody_core::hash::Digest;
use custody_core::rules::LogState;
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The `format` of `state.json`.
const FORMAT: &str = "custody-cache/v2";

/// The folder holding every ledger's caches for this user, if one can be named.
#[must_use]
pub fn cache_root() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("CUSTODY_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d).join("custody"));
    }
    std::env::var_os("HOME")
        .filter(|d| !d.is_empty())
        .map(|h| PathBuf::from(h).join(".cache").join("custody"))
}

/// The cache folder of the ledger in `ledger_dir` whose entry 0 has leaf hash `genesis`, if a
/// cache root can be named (see the module documentation for the formula).
#[must_use]
pub fn cache_dir_for(ledger_dir: &Path, genesis: &Digest) -> Option<PathBuf> {
    let root = cache_root()?;
    let canonical = fs::canonicalize(ledger_dir).ok()?;
    let id = Digest::of_parts(&[
        b"custody/v1/cache\0",
        canonical.as_os_str().as_encoded_bytes(),
        &[0],
        &genesis.0,
    ]);
    Some(root.join(&id.to_hex()[..32]))
}

/// The verified prefix a cache describes.
#[derive(Serialize, Deserialize)]
pub(crate) struct CachedState {
    format: String,
    /// The ledger directory it was verified from (for people looking at the folder).
    ledger: String,
    /// The offset just after the last verified frame.
    pub(crate) entries_end: u64,
    /// The rules state after the last verified entry.
    pub(crate) state: LogState,
}

/// A ledger's cache files, open.
pub(crate) struct Cache {
    /// The cache folder; `None` for anonymous temporary files.
    pub(crate) dir: Option<PathBuf>,
    pub(crate) index: File,
    pub(crate) hashes: File,
    pub(crate) dedup: File,
    lock: Option<File>,
    ledger: String,
}

fn anonymous() -> Result<File, StoreError> {
    tempfile::tempfile().map_err(io_at(&std::env::temp_dir()))
}

/// Creates `dir` (and its parents) for this user only, refusing a symbolic link or a folder
/// others may write.
fn private_dir(dir: &Path) -> Option<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .ok()?;
    let meta = fs::symlink_metadata(dir).ok()?;
    (meta.is_dir() && meta.permissions().mode() & 0o022 == 0).then_some(())
}

/// Tries `lock` until it is taken (`true`) or `limit` has passed (`false`).
fn try_lock_for(lock: &File, limit: std::time::Duration) -> std::io::Result<bool> {
    use std::fs::TryLockError;
    let start = std::time::Instant::now();
    loop {
        match lock.try_lock() {
            Ok(()) => return Ok(true),
            Err(TryLockError::Error(e)) => return Err(e),
            Err(TryLockError::WouldBlock) if start.elapsed() >= limit => return Ok(false),
            Err(TryLockError::WouldBlock) => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
        }
    }
}

fn open_rw(path: &Path) -> Result<File, StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(io_at(path))
}

impl Cache {
    /// The caches of the ledger in `ledger_dir` whose entry 0 has leaf hash `genesis`
    /// (`None` before genesis is written: then they are temporary). A writer (`wait`) waits
    /// for this machine's cache lock; a reader tries for about 2 s and then takes temporary
    /// caches, rebuilt from the entries, so a long-lived writer (`custody serve`) that keeps
    /// the lock cannot stall `verify` or `export` of the same ledger.
    pub(crate) fn open(
        ledger_dir: &Path,
        genesis: Option<&Digest>,
        wait: bool,
    ) -> Result<Cache, StoreError> {
        let ledger = ledger_dir.display().to_string();
        let dir = genesis.and_then(|g| {
            let dir = cache_dir_for(ledger_dir, g)?;
            private_dir(dir.parent()?)?;
            private_dir(&dir)?;
            Some(dir)
        });
        let temporary = |ledger| {
            Ok(Cache {
                dir: None,
                index: anonymous()?,
                hashes: anonymous()?,
                dedup: anonymous()?,
                lock: None,
                ledger,
            })
        };
        match dir {
            None => temporary(ledger),
            Some(d) => {
                let lock_path = d.join("lock");
                let lock = open_rw(&lock_path)?;
                // Two processes of this user never bring the caches up to date at once.
                if wait {
                    lock.lock().map_err(io_at(&lock_path))?;
                } else if !try_lock_for(&lock, std::time::Duration::from_secs(2))
                    .map_err(io_at(&lock_path))?
                {
                    return temporary(ledger);
                }
                Ok(Cache {
                    index: open_rw(&d.join("index"))?,
                    hashes: open_rw(&d.join("hashes"))?,
                    dedup: open_rw(&d.join("dedup"))?,
                    lock: Some(lock),
                    dir: Some(d),
                    ledger,
                })
            }
        }
    }

    /// Where a cache file lives, for messages.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        match &self.dir {
            Some(d) => d.join(name),
            None => PathBuf::from(format!("(temporary {name})")),
        }
    }

    /// Lets other processes at the caches (a reader, once open, reads only its prefix).
    pub(crate) fn unlock(&mut self) {
        self.lock = None;
    }

    /// The cached state, if there is one that parses. Read through a bound: it is small.
    pub(crate) fn load(&self, bound: u64) -> Option<CachedState> {
        let path = self.dir.as_ref()?.join("state.json");
        let mut bytes = Vec::new();
        File::open(path)
            .and_then(|f| f.take(bound).read_to_end(&mut bytes))
            .ok()?;
        let c: CachedState = serde_json::from_slice(&bytes).ok()?;
        (c.format == FORMAT).then_some(c)
    }

    /// Records the verified prefix (atomically: write, fsync if `fsync`, rename). Only ever
    /// called for a prefix of the entries file that is durable, so a `state.json` that
    /// survives a power cut never claims entries the file lost; one that is lost, torn or
    /// older than the other cache files (unsynced) fails the length checks at open, and the
    /// ledger is verified again.
    pub(crate) fn save(
        &self,
        state: &LogState,
        entries_end: u64,
        fsync: bool,
    ) -> Result<(), StoreError> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        let path = dir.join("state.json");
        let tmp = dir.join("state.json.tmp");
        let c = CachedState {
            format: FORMAT.into(),
            ledger: self.ledger.clone(),
            entries_end,
            state: state.clone(),
        };
        let bytes = serde_json::to_vec(&c).map_err(|e| io_at(&path)(std::io::Error::other(e)))?;
        if fsync {
            crate::files::write_new(&tmp, &bytes, true, true)?;
        } else {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .and_then(|mut f| f.write_all(&bytes))
                .map_err(io_at(&tmp))?;
        }
        fs::rename(&tmp, &path).map_err(io_at(&path))
    }

    /// Forgets the verified prefix, so the next open verifies the ledger in full.
    pub(crate) fn forget(&self) {
        if let Some(dir) = &self.dir {
            let _ = fs::remove_file(dir.join("state.json"));
        }
    }

    /// Empties every cache file (before a full rebuild).
    pub(crate) fn reset(&self) -> Result<(), StoreError> {
        self.forget();
        for (f, name) in [
            (&self.index, "index"),
            (&self.hashes, "hashes"),
            (&self.dedup, "dedup"),
        ] {
            f.set_len(0).map_err(io_at(&self.path(name)))?;
        }
        Ok(())
    }
}
