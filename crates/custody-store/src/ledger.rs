//! The only code that touches a ledger directory: layout, locking, append, derived indexes.
//!
//! ```text
//! ledger-dir/
//!   entries        the log: magic, then frames (see frames.rs). The only source of truth.
//!   index          derived: u64 LE offset of each entry's frame
//!   hashes         derived: RFC 6962 stored hashes in Go tlog's layout, 32 bytes each
//!   state.json     derived: keys, amendments, figures (small whatever the log's size)
//!   dedup          derived: duplicate key -> entry hash table
//!   lock           writers hold an exclusive lock on it
//!   checkpoints/   signed checkpoints, SIZE-ROOTHEX.txt, never overwritten
//!   documents/     stored copies of source documents, named by SHA-256 hex
//! ```
//! Append is: encode, write, fsync (`sync_data`), then report; derived files are updated after
//! and rebuilt from `entries` whenever they are missing, short or disagree with it.

use crate::cache::Cache;
use crate::dedup;
use crate::error::{lookup_error, StoreError};
use crate::files::{io_at, open_regular_with};
use crate::frames::{self, encode_frame, FILE_MAGIC};
use crate::stream::{
    duplicate_key, latest_copy, probe_key, read_record, records, stream, End, HashAppender,
    OffsetIndex, Source, StreamError, INDEX_RECORD,
};
use crate::submissions::Candidate;
use custody_core::entry::{entry_len_of, entry_size_error, Content, Entry, Submission};
use custody_core::hash::Digest;
use custody_core::merkle::{self, Frontier};
use custody_core::replay::{check_link, check_signature, Replay};
use custody_core::rules::duplicates;
use custody_core::rules::{EntryLookup, LogState, LookupError, NoEntries};
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// The entries file's name.
pub const ENTRIES: &str = "entries";
const LOCK: &str = "lock";
/// The checkpoints folder's name.
pub const CHECKPOINTS: &str = "checkpoints";
/// The documents folder's name.
pub const DOCUMENTS: &str = "documents";

/// How a ledger is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Readers: the lock while opening only (the entries file is append-only).
    Read,
    /// Writers: an exclusive lock for as long as the `Ledger` lives.
    Write,
}

/// What an append reports, once durable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    /// The new entry's index.
    pub index: u64,
    /// Its leaf hash.
    pub leaf: Digest,
    /// The previous entry's leaf hash (zero for entry 0), which the entry's bytes and so its
    /// leaf hash cover: with the index and the submission, what a submitter needs to compute
    /// the leaf hash itself.
    pub prev: Digest,
}

/// What became of one member of an [`Ledger::append_each`] batch.
#[derive(Debug)]
pub enum Admission {
    /// Appended by this batch.
    Appended(Appended),
    /// The same submission (signed content and signature) is already this entry: a retry.
    AlreadyIn(Appended),
    /// Refused, under the same rules as [`Ledger::append`]; nothing of it was written.
    Refused(StoreError),
}

/// What one refused member of a batch does to the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    /// Refuses the whole batch (`append_batch`, `import`: a file or a line is wrong).
    All,
    /// Refuses only itself (`append_each`: submissions from independent submitters).
    Each,
}

/// An open ledger.
pub struct Ledger {
    dir: PathBuf,
    entries: File,
    end: u64,
    torn: Option<(u64, u64)>,
    state: LogState,
    frontier: Frontier,
    cache: Cache,
    dedup: Option<dedup::Dedup>,
    /// Entries of a batch being appended, readable by later members of the same batch.
    pending_frames: Vec<(u64, Vec<u8>)>,
    /// Things the caller should tell the user that did not stop the operation (a cache that
    /// could not be written after an entry was durable).
    warnings: Vec<String>,
    /// A cache write failed after a durable append: this handle's caches no longer match the
    /// entries, so it appends nothing more (the next open re-verifies).
    stale: bool,
    /// The end of the entries file known durable; less than `end` while batches of
    /// [`Ledger::stage_each`] await their fsync.
    durable: u64,
    /// Batches of [`Ledger::stage_each`] written and awaiting their fsync, oldest first; their
    /// entries are in `pending_frames` and their signed messages in `inflight_msgs`, and they
    /// reach the caches only once durable ([`Ledger::mark_durable`]).
    inflight: std::collections::VecDeque<Inflight>,
    /// The duplicate key of each staged entry, with its index and the digest of its signed
    /// message (as a batch's `in_batch`).
    inflight_msgs: std::collections::HashMap<Digest, (u64, Digest)>,
    _lock: Option<File>,
}

/// A staged batch's share of the caches, kept until it is durable.
struct Inflight {
    end: u64,
    index_buf: Vec<u8>,
    hash_buf: Vec<u8>,
    pending: Vec<(u64, u64)>,
    /// Each entry's duplicate key and signed-message digest.
    digests: Vec<(Digest, Digest)>,
    frames: usize,
    state_after: LogState,
}

/// An admitted batch, encoded, before it is written.
struct Batch {
    out: Vec<Admission>,
    buf: Vec<u8>,
    index_buf: Vec<u8>,
    hash_buf: Vec<u8>,
    pending: Vec<(u64, u64)>,
    digests: Vec<(Digest, Digest)>,
    end: u64,
    saved: (LogState, Frontier),
    /// `pending_frames.len()` before the batch.
    frames_before: usize,
}

/// What [`Ledger::stage_each`] did: each member's admission, and the end of the entries file
/// that must be durable before any of them is acknowledged.
#[derive(Debug)]
pub struct Staged {
    /// What became of each member, in order.
    pub admissions: Vec<Admission>,
    /// The entries file's end after this batch.
    pub end: u64,
}

/// Fsyncs a ledger's entries file from another thread ([`Ledger::entries_sync`]).
#[derive(Debug)]
pub struct EntriesSync {
    file: File,
    path: PathBuf,
}

impl EntriesSync {
    /// `fdatasync`: every byte written to the entries file before this call is durable when
    /// it returns `Ok`.
    ///
    /// # Errors
    /// On I/O failure: then nothing written since the last successful sync may be
    /// acknowledged.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.file.sync_data().map_err(io_at(&self.path))
    }
}

/// Reads stored hashes from the `hashes` file by stored-hash index.
pub struct FileHashes<'a>(pub &'a File);

impl merkle::HashReader for FileHashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog_tiles::Hash>, tlog_tiles::Error> {
        let mut out = Vec::with_capacity(indexes.len());
        for &i in indexes {
            let mut h = [0u8; 32];
            let off = i
                .checked_mul(32)
                .ok_or(tlog_tiles::Error::IndexesNotInTree)?;
            self.0
                .read_exact_at(&mut h, off)
                .map_err(|_| tlog_tiles::Error::IndexesNotInTree)?;
            out.push(tlog_tiles::Hash(h));
        }
        Ok(out)
    }
}

pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_at(dir))
}

impl Ledger {
    /// Creates a ledger in `dir` (which must not exist or be empty) whose entry 0 is `genesis`.
    ///
    /// # Errors
    /// If the directory is in use, or genesis breaks a rule.
    pub fn create(dir: &Path, genesis: Submission) -> Result<Ledger, StoreError> {
        if dir.exists() {
            let mut it = fs::read_dir(dir).map_err(io_at(dir))?;
            if it.next().is_some() {
                return Err(StoreError::AlreadyExists(dir.display().to_string()));
            }
        }
        let empty = LogState::default();
        empty
            .admit(&genesis.content, &NoEntries)
            .map_err(|e| StoreError::Rejected(format!("genesis: {e}")))?;
        check_signature(&empty, &genesis.content, &genesis.signature.0)
            .map_err(|e| StoreError::Rejected(format!("genesis: {e}")))?;
        fs::create_dir_all(dir).map_err(io_at(dir))?;
        fs::create_dir_all(dir.join(CHECKPOINTS)).map_err(io_at(dir))?;
        fs::create_dir_all(dir.join(DOCUMENTS)).map_err(io_at(dir))?;
        let path = dir.join(ENTRIES);
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io_at(&path))?;
        f.write_all(FILE_MAGIC).map_err(io_at(&path))?;
        f.sync_all().map_err(io_at(&path))?;
        drop(f);
        sync_dir(dir)?;
        let mut ledger = Ledger::open(dir, Access::Write)?;
        let g = ledger.append(genesis)?;
        // A cache folder named for this path and genesis can only be a deleted ledger's (the
        // same keys and claimed time re-made here): it describes no history of this one.
        Cache::open(dir, Some(&g.leaf), true)?.reset()?;
        Ok(ledger)
    }

    /// Creates a ledger in `dir` (which must not exist or be empty) from the exact bytes of an
    /// entry 0 sequenced elsewhere: a published log being cloned or followed. The entry is
    /// checked first (size, chain, genesis rules, strict signature), so no directory is made
    /// for a bad one, and again by the replay that opens the new ledger.
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`], [`StoreError::Corrupt`] for entry 0, or I/O failure.
    pub fn create_sequenced(dir: &Path, genesis: &[u8]) -> Result<Ledger, StoreError> {
        if dir.exists() {
            let mut it = fs::read_dir(dir).map_err(io_at(dir))?;
            if it.next().is_some() {
                return Err(StoreError::AlreadyExists(dir.display().to_string()));
            }
        }
        let corrupt = |reason: String| StoreError::Corrupt { entry: 0, reason };
        if let Some(e) = entry_size_error(genesis.len()) {
            return Err(corrupt(e));
        }
        let leaf = Digest::leaf(genesis);
        let entry = check_link(genesis, &leaf, 0, &Digest::ZERO).map_err(|e| corrupt(e.0))?;
        let empty = LogState::default();
        empty
            .admit(&entry.content, &NoEntries)
            .map_err(|e| corrupt(e.to_string()))?;
        check_signature(&empty, &entry.content, &entry.signature.0)
            .map_err(|e| corrupt(e.to_string()))?;
        fs::create_dir_all(dir).map_err(io_at(dir))?;
        fs::create_dir_all(dir.join(CHECKPOINTS)).map_err(io_at(dir))?;
        fs::create_dir_all(dir.join(DOCUMENTS)).map_err(io_at(dir))?;
        let path = dir.join(ENTRIES);
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io_at(&path))?;
        f.write_all(FILE_MAGIC)
            .and_then(|()| f.write_all(&encode_frame(genesis, &leaf)))
            .and_then(|()| f.sync_all())
            .map_err(io_at(&path))?;
        drop(f);
        sync_dir(dir)?;
        // As in `create`: a cache folder for this path and genesis can only be a deleted copy's.
        Cache::open(dir, Some(&leaf), true)?.reset()?;
        Ledger::open(dir, Access::Write)
    }

    /// Appends entries sequenced elsewhere (a published log being cloned or followed), byte for
    /// byte, after the last entry. `next` yields each entry's exact bytes in order, `None` at
    /// the end. Their frames are written and fsynced; `accept` is then told the size and root
    /// of the log they make and may refuse it (a clone compares them with a signed checkpoint);
    /// only then are the new entries verified, exactly as `verify` and [`Ledger::open`] verify
    /// entries (chain, rules, duplicates, strict signatures, in the one streaming replay), and
    /// added to this machine's caches. If anything fails, the entries file is cut back to where
    /// it was, so no unverified entry stays, and this handle appends nothing more.
    ///
    /// Returns how many entries were appended.
    ///
    /// # Errors
    /// The caller's own errors from `next` and `accept`, or a [`StoreError`]: read-only, torn
    /// tail, an entry over the size bound, a failed verification ([`StoreError::Corrupt`]
    /// naming the entry), or I/O.
    pub fn append_sequenced<E: From<StoreError>>(
        &mut self,
        next: &mut dyn FnMut() -> Result<Option<Vec<u8>>, E>,
        accept: &mut dyn FnMut(u64, Digest) -> Result<(), E>,
    ) -> Result<u64, E> {
        if self._lock.is_none() {
            return Err(StoreError::Rejected("ledger opened read-only".into()).into());
        }
        if let Some((offset, bytes)) = self.torn {
            return Err(self.torn_error(offset, bytes).into());
        }
        if self.stale {
            return Err(StoreError::Usage(
                "nothing more is appended in this run: an earlier append failed".into(),
            )
            .into());
        }
        let old_end = self.end;
        let first = self.state.size;
        let written = self.write_sequenced(next, accept);
        let end = match written {
            Ok(end) => end,
            Err(e) => {
                self.cut_back(old_end);
                return Err(e);
            }
        };
        if let Err(e) = self.catch_up(end) {
            // The caches may hold part of what failed: the next open verifies again.
            self.cache.forget();
            self.stale = true;
            self.cut_back(old_end);
            return Err(e.into());
        }
        if self.end != end || self.torn.is_some() {
            self.cache.forget();
            self.stale = true;
            self.cut_back(old_end);
            return Err(StoreError::Usage(
                "internal: the appended entries were not all verified".into(),
            )
            .into());
        }
        Ok(self.state.size - first)
    }

    /// Writes the frames of `next`'s entries after the last entry, fsyncs them, and asks
    /// `accept` about the log they make. Returns the new end of the entries file.
    fn write_sequenced<E: From<StoreError>>(
        &mut self,
        next: &mut dyn FnMut() -> Result<Option<Vec<u8>>, E>,
        accept: &mut dyn FnMut(u64, Digest) -> Result<(), E>,
    ) -> Result<u64, E> {
        let path = self.entries_path();
        let mut frontier = self.frontier.clone();
        let mut size = self.state.size;
        let mut end = self.end;
        let mut out = io::BufWriter::with_capacity(1 << 20, &self.entries);
        while let Some(bytes) = next()? {
            if let Some(e) = entry_size_error(bytes.len()) {
                return Err(StoreError::Corrupt {
                    entry: size,
                    reason: e,
                }
                .into());
            }
            let leaf = Digest::leaf(&bytes);
            frontier.push(leaf).map_err(StoreError::from)?;
            let frame = encode_frame(&bytes, &leaf);
            out.write_all(&frame).map_err(io_at(&path))?;
            end += frame.len() as u64;
            size += 1;
        }
        out.flush().map_err(io_at(&path))?;
        drop(out);
        self.entries.sync_data().map_err(io_at(&path))?;
        accept(size, frontier.root())?;
        Ok(end)
    }

    /// Cuts the entries file back to `end`: entries this handle wrote and did not verify. If
    /// that fails, the bytes stay as a torn tail this handle refuses to append after.
    fn cut_back(&mut self, end: u64) {
        let cut = self
            .entries
            .set_len(end)
            .and_then(|()| self.entries.sync_all());
        if cut.is_err() {
            self.torn = Some((end, 0));
        }
    }

    /// Makes room in the duplicate table for `more` entries at once, so a large import grows
    /// it once instead of doubling it (and rewriting it) as it goes.
    ///
    /// # Errors
    /// If the table cannot be grown.
    pub fn reserve(&mut self, more: u64) -> Result<(), StoreError> {
        let total = self.state.size.saturating_add(more);
        if let Some(d) = &mut self.dedup {
            d.reserve(total).map_err(io_at(&self.cache.path("dedup")))?;
        }
        Ok(())
    }

    /// Opens the ledger in `dir`, bringing derived files up to date with the entries file.
    ///
    /// # Errors
    /// If `dir` holds no ledger, or the entries file is corrupt where derived data is rebuilt.
    pub fn open(dir: &Path, access: Access) -> Result<Ledger, StoreError> {
        Ledger::open_with(dir, access, &|_| {})
    }

    /// [`Ledger::open`], calling `waiting` once (with the lock file's path) if a writer must
    /// wait for the ledger's lock, so the caller can say why nothing happens. Readers never
    /// wait long for it: after a short try they read without it, and after another for this
    /// machine's cache lock they verify with temporary caches (see `Cache::open`), so
    /// whoever holds either lock cannot stall them.
    ///
    /// # Errors
    /// As [`Ledger::open`].
    pub fn open_with(
        dir: &Path,
        access: Access,
        waiting: &dyn Fn(&Path),
    ) -> Result<Ledger, StoreError> {
        let path = dir.join(ENTRIES);
        if !path.is_file() {
            return Err(StoreError::NotALedger(dir.display().to_string()));
        }
        let lock_path = dir.join(LOCK);
        // Never through a symbolic link, never a FIFO: the lock and the entries file are
        // regular files of this directory or nothing.
        let lock = match open_regular_with(
            &lock_path,
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false),
        ) {
            Ok(l) => Some(l),
            // A read-only ledger (e.g. on a DVD or a read-only clone) can still be read.
            Err(StoreError::Io { .. }) if access == Access::Read => None,
            Err(e) => return Err(e),
        };
        let lock = match lock {
            Some(l) => take_lock(l, &lock_path, access, waiting)?,
            None => None,
        };
        let entries = open_regular_with(
            &path,
            OpenOptions::new()
                .read(true)
                .append(access == Access::Write),
        )?;
        let mut magic = [0u8; 16];
        match entries.read_exact_at(&mut magic, 0) {
            // A file too short to hold the magic is evidence; a read that fails is not.
            Err(e) if e.kind() != io::ErrorKind::UnexpectedEof => return Err(io_at(&path)(e)),
            Ok(()) if &magic == FILE_MAGIC => {}
            _ => {
                return Err(StoreError::Corrupt {
                    entry: 0,
                    reason: "entries file does not start with the custody-log-v1 magic".into(),
                })
            }
        }
        // The caches are named by the genesis entry too, so a new ledger made where an old one
        // was never meets the old one's caches.
        let genesis = frames::read_frame_at(&entries, FILE_MAGIC.len() as u64)
            .map_err(io_at(&path))?
            .map(|f| f.stored_leaf);
        let cache = Cache::open(dir, genesis.as_ref(), access == Access::Write)?;
        let mut ledger = Ledger {
            dir: dir.to_path_buf(),
            entries,
            end: FILE_MAGIC.len() as u64,
            torn: None,
            state: LogState::default(),
            frontier: Frontier::new(),
            cache,
            dedup: None,
            pending_frames: Vec::new(),
            warnings: Vec::new(),
            stale: false,
            durable: 0,
            inflight: std::collections::VecDeque::new(),
            inflight_msgs: std::collections::HashMap::new(),
            _lock: lock,
        };
        ledger.load_derived()?;
        // What was found at open is treated as there (a server fsyncs it before answering).
        ledger.durable = ledger.end;
        if access == Access::Read {
            // Readers hold no lock after opening: they read a prefix that never changes.
            ledger._lock = None;
            ledger.cache.unlock();
        }
        Ok(ledger)
    }

    /// Loads this machine's verified caches and checks that the entries file still holds the
    /// history they record; then verifies whatever follows (in full when there are no caches).
    fn load_derived(&mut self) -> Result<(), StoreError> {
        let file_len = self.entries.metadata().map_err(io_at(&self.dir))?.len();
        // The state is small whatever the log's size (keys, amendments, figures); the bound
        // only keeps a damaged cache from taking all memory.
        let resume = match self.cache.load(file_len + (1 << 20)) {
            Some(c) => self.check_cached(c.state, c.entries_end, file_len)?,
            None => None,
        };
        match resume {
            Some((state, end, dedup)) => {
                self.frontier = Frontier::from_reader(state.size, &FileHashes(&self.cache.hashes))?;
                self.state = state;
                self.end = end;
                self.dedup = Some(dedup);
            }
            None => {
                self.cache.reset()?;
                let file = self
                    .cache
                    .dedup
                    .try_clone()
                    .map_err(io_at(&self.cache.path("dedup")))?;
                // Sized from what the file could hold, but never past a million entries up
                // front: the file is untrusted (a sparse terabyte), and the table grows anyway.
                let expected = (file_len / 256).min(1 << 20);
                self.dedup = Some(
                    dedup::Dedup::create(file, expected)
                        .map_err(io_at(&self.cache.path("dedup")))?,
                );
                self.state = LogState::default();
                self.frontier = Frontier::new();
                self.end = FILE_MAGIC.len() as u64;
            }
        }
        self.catch_up(file_len)
    }

    /// Whether cached state for `n` entries is whole, and still the prefix of the entries file.
    /// A cache that is not whole (a crash while it was written) is rebuilt; an entries file that
    /// no longer holds the verified history is an error, never silently re-verified.
    fn check_cached(
        &self,
        state: LogState,
        entries_end: u64,
        file_len: u64,
    ) -> Result<Option<(LogState, u64, dedup::Dedup)>, StoreError> {
        let n = state.size;
        let len = |f: &File| f.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
        // Sizes are checked, not multiplied blindly: a damaged state may claim any count.
        let hashes = merkle::stored_hash_count(n)
            .ok()
            .and_then(|c| c.checked_mul(32));
        let whole = n > 0
            && n.checked_mul(INDEX_RECORD) == Some(len(&self.cache.index))
            && hashes == Some(len(&self.cache.hashes));
        if !whole {
            return Ok(None);
        }
        let dedup_file = self
            .cache
            .dedup
            .try_clone()
            .map_err(io_at(&self.cache.path("dedup")))?;
        let Some(dedup) = dedup::Dedup::open(dedup_file)
            .ok()
            .flatten()
            .filter(|d| d.count() == n)
        else {
            return Ok(None);
        };
        let last = self.offset_of(n - 1)?;
        let frame = if entries_end <= file_len {
            self.frame_at(last)?
        } else {
            None
        };
        let holds = frame.is_some_and(|f| f.end() == entries_end && f.stored_leaf == state.head)
            && self.stored_leaf(n - 1)? == state.head;
        if !holds {
            return Err(StoreError::Rewritten {
                entry: n - 1,
                cache: self.cache.path("").display().to_string(),
            });
        }
        Ok(Some((state, entries_end, dedup)))
    }

    /// Verifies every whole entry after `self.end` (chain, rules, duplicates, signatures) and
    /// adds it to the caches; stops at a torn tail.
    fn catch_up(&mut self, file_len: u64) -> Result<(), StoreError> {
        if self.end >= file_len {
            return Ok(());
        }
        let first_new = self.state.size;
        let mut replay = Replay::resume(
            std::mem::take(&mut self.state),
            std::mem::take(&mut self.frontier),
            std::collections::BTreeSet::new(),
        );
        let index_file = self
            .cache
            .index
            .try_clone()
            .map_err(io_at(&self.cache.path("index")))?;
        let mut index = OffsetIndex::new(index_file, self.cache.path("index"), first_new);
        let mut hashes = HashAppender {
            file: &self.cache.hashes,
            path: self.cache.path("hashes"),
            len: merkle::stored_hash_count(first_new)? * 32,
            buf: Vec::new(),
        };
        let path = self.entries_path();
        let src = Source {
            file: &self.entries,
            path: &path,
            start: self.end,
        };
        let Some(dedup) = self.dedup.as_mut() else {
            return Err(StoreError::Usage("internal: no duplicate table".into()));
        };
        let streamed = stream(&src, &mut replay, &mut index, dedup, &mut hashes, &|_| {});
        let flushed = hashes.flush();
        let (state, frontier) = replay.into_parts();
        self.state = state;
        self.frontier = frontier;
        let streamed = match streamed {
            Ok(s) => s,
            Err(e) => {
                // Nothing of this catch-up is recorded as verified.
                self.cache.forget();
                return Err(match e {
                    StreamError::Io(e) => e,
                    StreamError::Evidence(f) => StoreError::Corrupt {
                        entry: f.entry.unwrap_or(first_new),
                        reason: format!(
                            "{}; `custody verify {}` shows the whole report",
                            f.reason,
                            self.dir.display()
                        ),
                    },
                });
            }
        };
        flushed?;
        self.end = streamed.offset;
        self.durable = self.durable.max(self.end);
        if let End::Torn { offset, bytes } = streamed.end {
            self.torn = Some((offset, bytes));
        }
        if self.state.size > first_new {
            self.cache.save(&self.state, self.end, true)?;
        }
        Ok(())
    }

    /// The ledger directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    /// Entries in the log (whole ones; a torn tail is not counted).
    #[must_use]
    pub fn size(&self) -> u64 {
        self.state.size
    }
    /// Rules state at the head.
    #[must_use]
    pub fn state(&self) -> &LogState {
        &self.state
    }
    /// The torn tail, if the entries file ends in one: (offset, bytes).
    #[must_use]
    pub fn torn(&self) -> Option<(u64, u64)> {
        self.torn
    }
    /// The entries file's path.
    #[must_use]
    pub fn entries_path(&self) -> PathBuf {
        self.dir.join(ENTRIES)
    }

    fn offset_of(&self, i: u64) -> Result<u64, StoreError> {
        read_record(&self.cache.index, i)
            .map(|(offset, _)| offset)
            .map_err(io_at(&self.cache.path("index")))
    }

    /// The verified leaf hash of entry `i`, from this machine's caches.
    fn stored_leaf(&self, i: u64) -> Result<Digest, StoreError> {
        let idx = tlog_tiles::stored_hash_index(0, i);
        let mut h = [0u8; 32];
        self.cache
            .hashes
            .read_exact_at(&mut h, idx * 32)
            .map_err(io_at(&self.cache.path("hashes")))?;
        Ok(Digest(h))
    }

    /// The log's signing keys, to check submissions' signatures outside this writer
    /// ([`crate::submissions::Signers::precheck`]).
    #[must_use]
    pub fn signers(&self) -> crate::submissions::Signers {
        crate::submissions::Signers::of(&self.state)
    }

    /// Fsyncs the entries file: whole entries this handle found at open (written by a process
    /// that may have died before its own fsync) are durable once this returns, so a server may
    /// acknowledge them as already appended.
    ///
    /// # Errors
    /// On I/O failure.
    pub fn sync(&self) -> Result<(), StoreError> {
        // Once at start: a full fsync (metadata too), which also keeps it apart from the group
        // commits' fdatasync for tests that inject faults into those.
        self.entries.sync_all().map_err(io_at(&self.entries_path()))
    }

    /// What the caller should tell the user that did not stop the operation.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    fn frame_at(&self, offset: u64) -> Result<Option<frames::Frame>, StoreError> {
        frames::read_frame_at(&self.entries, offset).map_err(io_at(&self.dir))
    }

    /// Reads entry `i` in O(1) via the index, checking its frame's leaf hash.
    ///
    /// # Errors
    /// If `i` is past the end or the frame is damaged.
    pub fn entry(&self, i: u64) -> Result<Entry, StoreError> {
        Ok(self.entry_with_leaf(i)?.0)
    }

    /// Entry `i` with its leaf hash.
    ///
    /// # Errors
    /// If `i` is past the end or the frame is damaged.
    pub fn entry_with_leaf(&self, i: u64) -> Result<(Entry, Digest), StoreError> {
        let frame = self.frame_of(i)?;
        let prev = if i == 0 {
            Digest::ZERO
        } else {
            self.stored_leaf(i - 1)?
        };
        // The frame must still be the entry this machine verified: its own trailing hash is
        // the untrusted file's, the cached leaf hash is not.
        if frame.stored_leaf != self.stored_leaf(i)? {
            return Err(StoreError::Corrupt {
                entry: i,
                reason: "its bytes are no longer those this machine verified (the entries file was changed); run `custody verify`".into(),
            });
        }
        let entry = check_frame(&frame, i, &prev)?;
        Ok((entry, frame.stored_leaf))
    }

    /// The exact bytes of entry `i` (what its leaf hash covers).
    ///
    /// # Errors
    /// If `i` is past the end or unreadable.
    pub fn entry_bytes(&self, i: u64) -> Result<Vec<u8>, StoreError> {
        let frame = self.frame_of(i)?;
        // Only the bytes this machine verified: the file may have changed since.
        if Digest::leaf(&frame.bytes) != self.stored_leaf(i)? {
            return Err(StoreError::Corrupt {
                entry: i,
                reason: "its bytes are no longer those this machine verified (the entries file was changed); run `custody verify`".into(),
            });
        }
        Ok(frame.bytes)
    }

    /// The frame of entry `i`, found through the index in O(1) reads.
    fn frame_of(&self, i: u64) -> Result<frames::Frame, StoreError> {
        if i >= self.state.size {
            return Err(StoreError::NoSuchEntry {
                index: i,
                size: self.state.size,
            });
        }
        let off = self.offset_of(i)?;
        self.frame_at(off)?.ok_or_else(|| StoreError::Corrupt {
            entry: i,
            reason: "frame is cut short".into(),
        })
    }

    /// Checks a submission against signature, rules and duplicates, without appending.
    ///
    /// # Errors
    /// Why it would be refused.
    pub fn check(&self, sub: &Submission) -> Result<(), StoreError> {
        self.check_inner(sub, true, &HashMap::new(), false)
            .map(|_| ())
    }

    /// The latest entry that is a copy of `content` (the same origin, signer and body, a
    /// repeat as the claim it repeats; docs/FORMAT.md "Duplicates"), if any: the entry a
    /// deliberate repeat of it must name.
    ///
    /// # Errors
    /// If the duplicate table or an entry cannot be read.
    pub fn latest_copy(&self, content: &Content) -> Result<Option<u64>, StoreError> {
        let msg = content.signed_bytes()?;
        let key = duplicate_key(&msg).map_err(|e| StoreError::Rejected(e.to_string()))?;
        let Some(d) = &self.dedup else {
            return Err(StoreError::Usage("internal: no duplicate table".into()));
        };
        Ok(latest_copy(d, &key, &msg, self.state.size, &|c| {
            self.entry_bytes(c).map_err(|e| lookup_error(c, e))
        })?
        .map(|(c, _)| c))
    }

    /// An entry before `before` recording exactly `content` but for its claimed time (the same
    /// origin, signer and body, down to the copy a repeat names), if any: what a rerun of an
    /// import finds for a line that had landed.
    ///
    /// # Errors
    /// If the duplicate table or an entry cannot be read.
    pub fn recorded(&self, content: &Content, before: u64) -> Result<Option<u64>, StoreError> {
        let msg = content.signed_bytes()?;
        let key = duplicate_key(&msg).map_err(|e| StoreError::Rejected(e.to_string()))?;
        let Some(d) = &self.dedup else {
            return Err(StoreError::Usage("internal: no duplicate table".into()));
        };
        let candidates = d
            .candidates(probe_key(&key))
            .map_err(io_at(&self.cache.path("dedup")))?;
        for c in candidates
            .into_iter()
            .filter(|&c| c < before.min(self.state.size))
        {
            let e = self.entry(c)?;
            if e.content.origin == content.origin
                && e.content.signer == content.signer
                && e.content.body == content.body
            {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }

    /// Checks `sub` as the next entry, after the members of its batch so far (`in_batch`: the
    /// duplicate key of each, with its index and the digest of its signed message); returns its
    /// signed message and duplicate key.
    fn check_inner(
        &self,
        sub: &Submission,
        verify_signature: bool,
        in_batch: &HashMap<Digest, (u64, Digest)>,
        retries: bool,
    ) -> Result<(Vec<u8>, Digest), StoreError> {
        let index = self.state.size;
        // First and cheapest: an entry too large for a tlog-tiles entry bundle is never admitted.
        if let Some(e) = entry_size_error(entry_len_of(&sub.content)?) {
            return Err(StoreError::Rejected(format!(
                "refused as entry {index}: {e}"
            )));
        }
        self.state.admit(&sub.content, self).map_err(|e| {
            if e.is_io() {
                StoreError::from(e)
            } else {
                StoreError::Rejected(format!("refused as entry {index}: {e}"))
            }
        })?;
        if verify_signature {
            check_signature(&self.state, &sub.content, &sub.signature.0)
                .map_err(|e| StoreError::Rejected(format!("refused as entry {index}: {e}")))?;
        }
        let msg = sub.content.signed_bytes()?;
        let key = duplicate_key(&msg).map_err(|e| StoreError::Rejected(e.to_string()))?;
        let mut latest = match &self.dedup {
            Some(d) => latest_copy(d, &key, &msg, index, &|c| {
                self.entry_bytes(c).map_err(|e| lookup_error(c, e))
            })?,
            None => None,
        };
        // Members of this batch come after every entry the table knows. None is in the log
        // yet, so a copy among them is a duplicate in the input, never "already in the log".
        // Among independent submitters (`retries`, as `custody serve` admits), the very same
        // signed bytes twice in one batch are a client's retry racing its first try into the
        // group commit: answered as that member once the batch is durable. In one signer's
        // all-or-nothing batch (`import`) they are a duplicate in the input.
        // Staged batches not yet durable (`stage_each`) are not in the table either; they come
        // after it and before this batch.
        if let Some(&(i, d)) = in_batch.get(&key).or_else(|| self.inflight_msgs.get(&key)) {
            latest = Some((i, retries && d == Digest::of(&msg)));
        }
        if let Some((c, true)) = latest {
            return Err(StoreError::Duplicate(c));
        }
        duplicates::check(&sub.content, latest)
            .map_err(|e| StoreError::Rejected(format!("refused as entry {index}: {e}")))?;
        Ok((msg, key))
    }

    /// Appends one submission: checks it, writes it, fsyncs, then reports.
    ///
    /// # Errors
    /// If it is refused, or on I/O failure (then nothing was acknowledged).
    pub fn append(&mut self, sub: Submission) -> Result<Appended, StoreError> {
        let mut out = self.append_batch(vec![sub])?;
        out.pop()
            .ok_or_else(|| StoreError::Rejected("nothing appended".into()))
    }

    /// Appends submissions in order with one fsync (group commit). All are checked first; if any
    /// is refused, none is written.
    ///
    /// # Errors
    /// The first refusal (naming its position), or an I/O failure.
    pub fn append_batch(&mut self, subs: Vec<Submission>) -> Result<Vec<Appended>, StoreError> {
        self.append_batch_inner(subs, true)
    }

    /// Like [`Ledger::append_batch`] for submissions this process has just signed itself with a
    /// key it holds: their signatures are not verified again (every other rule still is).
    ///
    /// # Errors
    /// As for `append_batch`.
    pub fn append_batch_self_signed(
        &mut self,
        subs: Vec<Submission>,
    ) -> Result<Vec<Appended>, StoreError> {
        self.append_batch_inner(subs, false)
    }

    fn append_batch_inner(
        &mut self,
        subs: Vec<Submission>,
        verify_signatures: bool,
    ) -> Result<Vec<Appended>, StoreError> {
        let candidates = subs.into_iter().map(Candidate::unchecked).collect();
        let admitted = self.sequence(candidates, verify_signatures, Refusal::All)?;
        // A batch that refuses all on one refusal has only appended members when it returns.
        Ok(admitted
            .into_iter()
            .filter_map(|a| match a {
                Admission::Appended(a) => Some(a),
                _ => None,
            })
            .collect())
    }

    /// Appends what it admits of `candidates`, in order, with one write and one fsync (a
    /// server's group commit), and says what became of each. Unlike [`Ledger::append_batch`],
    /// a refused member refuses only itself: each is admitted against the log as it stands
    /// with the members admitted before it, under exactly the rules of `append`. A member that
    /// repeats an entry exactly (the same signed content and the same signature, earlier in
    /// the log or earlier in this batch) is a retry: it is answered with that entry
    /// ([`Admission::AlreadyIn`]) and never appended twice.
    ///
    /// Every [`Admission::Appended`] and [`Admission::AlreadyIn`] is durable when this returns
    /// `Ok`. A signature already checked by [`crate::submissions::Signers::precheck`] under
    /// the key the log still names for its signer is not checked again.
    ///
    /// # Errors
    /// An I/O failure writing the batch: then nothing of it is acknowledged.
    pub fn append_each(
        &mut self,
        candidates: Vec<Candidate>,
    ) -> Result<Vec<Admission>, StoreError> {
        self.sequence(candidates, true, Refusal::Each)
    }

    /// Checks, writes and fsyncs a batch; `mode` says what one refusal does to the others.
    fn sequence(
        &mut self,
        candidates: Vec<Candidate>,
        verify_signatures: bool,
        mode: Refusal,
    ) -> Result<Vec<Admission>, StoreError> {
        if !self.inflight.is_empty() {
            return Err(StoreError::Usage(
                "internal: staged batches await their fsync; append after they are durable".into(),
            ));
        }
        let batch = self.admit_batch(candidates, verify_signatures, mode)?;
        if batch.buf.is_empty() && mode == Refusal::Each {
            // Nothing new: every retry answered names an entry that was durable before.
            return Ok(batch.out);
        }
        let written = self.write_batch(&batch, true);
        self.pending_frames.clear();
        written?;
        // Durable: from here on the entries are acknowledged, whatever happens to the caches.
        // A cache that cannot be written is forgotten (the next open verifies again) and the
        // failure is a warning, so no caller reports a durable entry as failed and retries it.
        self.end = batch.end;
        self.durable = batch.end;
        self.cache_batch(&batch, true);
        Ok(batch.out)
    }

    /// Admits `candidates` against the log and the members before them, encoding what it
    /// admits; the in-memory state moves on (restored by [`Ledger::write_batch`] if the write
    /// fails), nothing is written yet.
    fn admit_batch(
        &mut self,
        candidates: Vec<Candidate>,
        verify_signatures: bool,
        mode: Refusal,
    ) -> Result<Batch, StoreError> {
        if self._lock.is_none() {
            return Err(StoreError::Rejected("ledger opened read-only".into()));
        }
        if let Some((offset, bytes)) = self.torn {
            return Err(self.torn_error(offset, bytes));
        }
        if self.stale {
            return Err(StoreError::Usage(
                "nothing more is appended in this run: this machine's cache could not be updated after the last durable entry; run the command again (it re-verifies the ledger, and entries already appended are recognised)".into(),
            ));
        }
        let saved = (self.state.clone(), self.frontier.clone());
        let frames_before = self.pending_frames.len();
        let mut digests = Vec::new();
        let mut buf = Vec::new();
        let mut index_buf = Vec::new();
        let mut hash_buf = Vec::new();
        let mut out = Vec::with_capacity(candidates.len());
        let mut pending: Vec<(u64, u64)> = Vec::new();
        // Duplicate keys of this batch so far: the duplicate table does not hold them yet, and
        // a linear scan would make a batch quadratic.
        let mut in_batch: HashMap<Digest, (u64, Digest)> = HashMap::new();
        let mut end = self.end;
        for (k, candidate) in candidates.into_iter().enumerate() {
            let Candidate { sub, checked_under } = candidate;
            let verify = verify_signatures && !self.signature_checked(&sub, checked_under);
            let res = self
                .check_inner(&sub, verify, &in_batch, mode == Refusal::Each)
                .map(|(msg, key)| (Digest::of(&msg), key));
            let (msg_digest, key) = match res {
                Ok(x) => x,
                Err(e) if mode == Refusal::Each => {
                    out.push(self.refused(e, &sub));
                    continue;
                }
                Err(e) => {
                    (self.state, self.frontier) = saved;
                    self.pending_frames.truncate(frames_before);
                    return Err(if k == 0 {
                        e
                    } else {
                        StoreError::BatchRejected {
                            position: k,
                            source: Box::new(e),
                        }
                    });
                }
            };
            let index = self.state.size;
            let prev = self.state.head;
            let entry = sub.into_entry(index, prev);
            let bytes = entry.to_bytes()?;
            let leaf = Digest::leaf(&bytes);
            let frame = encode_frame(&bytes, &leaf);
            index_buf.extend_from_slice(&records(&[(end, leaf)]));
            end += frame.len() as u64;
            buf.extend_from_slice(&frame);
            for h in self.frontier.push(leaf)? {
                hash_buf.extend_from_slice(&h.0);
            }
            pending.push((probe_key(&key), index));
            in_batch.insert(key, (index, msg_digest));
            digests.push((key, msg_digest));
            self.state.apply(&entry.content, leaf);
            out.push(Admission::Appended(Appended { index, leaf, prev }));
            // Later members of the batch may cite earlier ones; they are read from the pending
            // buffer through `self.entry`, so keep the in-memory index in step.
            self.pending_frames.push((index, bytes));
        }
        Ok(Batch {
            out,
            buf,
            index_buf,
            hash_buf,
            pending,
            digests,
            end,
            saved,
            frames_before,
        })
    }

    /// Writes an admitted batch after the last entry, and fsyncs it if `fsync`. If that
    /// fails, the in-memory state is what it was before the batch and the file is cut back to
    /// the last entry before it (or, if even that fails, this handle refuses to append after
    /// the torn tail).
    fn write_batch(&mut self, batch: &Batch, fsync: bool) -> Result<(), StoreError> {
        let path = self.entries_path();
        let write = (&self.entries).write_all(&batch.buf).and_then(|()| {
            if fsync {
                self.entries.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(e) = write {
            (self.state, self.frontier) = batch.saved.clone();
            self.pending_frames.truncate(batch.frames_before);
            // Nothing of this batch was acknowledged, so cutting back to the last acknowledged
            // entry loses nothing. If even that fails, the bytes stay as a torn tail that this
            // handle refuses to append after (and the next open names).
            // Through the handle opened (without following links) at open, never the path.
            let cut = self
                .entries
                .set_len(self.end)
                .and_then(|()| self.entries.sync_all());
            if cut.is_err() {
                self.torn = Some((self.end, batch.buf.len() as u64));
            }
            return Err(io_at(&path)(e));
        }
        Ok(())
    }

    /// Adds a written batch to the caches (offsets, stored hashes, duplicate keys), and
    /// records the verified prefix in `state.json` if `record` (only ever for a prefix that is
    /// durable). A cache that cannot be written is forgotten and told as a warning.
    fn cache_batch(&mut self, batch: &Batch, record: bool) {
        if let Err(e) =
            self.update_caches(&batch.index_buf, &batch.hash_buf, &batch.pending, record)
        {
            self.cache.forget();
            self.stale = true;
            self.warnings.push(format!(
                "the entries are durable, but this machine's cache could not be updated ({e}); the next command verifies the ledger again"
            ));
        }
    }

    /// [`Ledger::append_each`] without its fsync, for a server that overlaps the admission
    /// of one batch with the fsync of the one before (docs/PUBLISHING.md, "Server API"):
    /// admits `candidates` under exactly the rules of `append`, writes what it admits after
    /// the last entry and adds it to this machine's caches (so that later batches are admitted
    /// against it), but the entries are **not durable** when this returns. The caller must
    /// not acknowledge any member until a [`EntriesSync::sync`] taken after this call
    /// returned `Ok` and it called [`Ledger::mark_durable`] with [`Staged::end`]; if that sync
    /// fails, it must call [`Ledger::abandon_undurable`]. An [`Admission::AlreadyIn`] may name
    /// an entry of an earlier staged batch that is not durable yet: the same rule holds.
    /// Until then nothing records the new entries as verified (`state.json` only ever
    /// describes a durable prefix), and [`Ledger::sign_checkpoint`] refuses.
    ///
    /// # Errors
    /// As [`Ledger::append_each`]; an I/O failure writing the batch leaves the log as it was.
    pub fn stage_each(&mut self, candidates: Vec<Candidate>) -> Result<Staged, StoreError> {
        let batch = self.admit_batch(candidates, true, Refusal::Each)?;
        if !batch.buf.is_empty() {
            self.write_batch(&batch, false)?;
            self.end = batch.end;
            let Batch {
                index_buf,
                hash_buf,
                pending,
                digests,
                end,
                frames_before,
                ..
            } = batch;
            for (&(key, msg), &(_, index)) in digests.iter().zip(&pending) {
                self.inflight_msgs.insert(key, (index, msg));
            }
            self.inflight.push_back(Inflight {
                end,
                index_buf,
                hash_buf,
                pending,
                digests,
                frames: self.pending_frames.len() - frames_before,
                state_after: self.state.clone(),
            });
            return Ok(Staged {
                admissions: batch.out,
                end,
            });
        }
        Ok(Staged {
            admissions: batch.out,
            end: self.end,
        })
    }

    /// A handle that fsyncs the entries file from another thread (the same open file, never
    /// reopened by path), for [`Ledger::stage_each`].
    ///
    /// # Errors
    /// If the handle cannot be duplicated.
    pub fn entries_sync(&self) -> Result<EntriesSync, StoreError> {
        let path = self.entries_path();
        let file = self.entries.try_clone().map_err(io_at(&path))?;
        Ok(EntriesSync { file, path })
    }

    /// Records that the entries file is durable up to `end` (the [`Staged::end`] of a batch
    /// whose [`EntriesSync::sync`], taken after it was staged, returned `Ok`): the batches up
    /// to it reach this machine's caches, and `state.json` records the durable prefix
    /// without an fsync of its own (the cache is never evidence: a `state.json` lost or older
    /// than the other cache files after a power cut fails the length checks at open, and the
    /// ledger is verified again). A cache that cannot be written is forgotten and told as a
    /// warning ([`Ledger::take_warnings`]); the entries are durable regardless.
    pub fn mark_durable(&mut self, end: u64) {
        let mut last = None;
        while self.inflight.front().is_some_and(|f| f.end <= end) {
            let Some(f) = self.inflight.pop_front() else {
                break;
            };
            for (key, _) in &f.digests {
                self.inflight_msgs.remove(key);
            }
            self.pending_frames
                .drain(..f.frames.min(self.pending_frames.len()));
            self.durable = f.end;
            if !self.stale {
                if let Err(e) = self.update_caches(&f.index_buf, &f.hash_buf, &f.pending, false) {
                    self.cache.forget();
                    self.stale = true;
                    self.warnings.push(format!(
                        "the entries are durable, but this machine's cache could not be updated ({e}); the next command verifies the ledger again"
                    ));
                }
            }
            last = Some((f.state_after, f.end));
        }
        if let (Some((state, end)), false) = (last, self.stale) {
            if let Err(e) = self.cache.save(&state, end, false) {
                self.cache.forget();
                self.stale = true;
                self.warnings.push(format!(
                    "the entries are durable, but this machine's cache could not be updated ({e}); the next command verifies the ledger again"
                ));
            }
        }
    }

    /// Whether entries were staged that are not yet known durable.
    #[must_use]
    pub fn undurable(&self) -> bool {
        !self.inflight.is_empty()
    }

    /// Records the verified prefix in this machine's cache with an fsync (a server stopping
    /// cleanly), if everything staged is durable.
    ///
    /// # Errors
    /// If it cannot be written (then it is forgotten, as after any cache failure).
    pub fn sync_cache(&mut self) -> Result<(), StoreError> {
        if self.undurable() || self.stale {
            return Ok(());
        }
        let saved = self.cache.save(&self.state, self.end, true);
        if saved.is_err() {
            self.cache.forget();
            self.stale = true;
        }
        saved
    }

    /// After a failed [`EntriesSync::sync`]: cuts the entries file back to the last durable
    /// entry (no member of a staged batch was acknowledged), and appends nothing more through
    /// this handle (reopen the ledger). The caches never held the staged batches, so they
    /// still describe the durable prefix.
    pub fn abandon_undurable(&mut self) {
        self.stale = true;
        if self.inflight.is_empty() {
            return;
        }
        self.inflight.clear();
        self.inflight_msgs.clear();
        self.pending_frames.clear();
        let cut = self
            .entries
            .set_len(self.durable)
            .and_then(|()| self.entries.sync_all());
        if cut.is_err() {
            self.torn = Some((self.durable, self.end - self.durable));
        }
    }

    /// Whether `sub`'s signature was checked (by [`crate::submissions::Signers::precheck`])
    /// under exactly the public key the log names for its signer now. The key's bytes are
    /// compared, so a key granted, revoked or unknown since the check gains nothing: admission
    /// still decides whether that key may sign, and any other key means a full check.
    fn signature_checked(&self, sub: &Submission, checked_under: Option<[u8; 32]>) -> bool {
        checked_under.is_some_and(|public| {
            self.state.size > 0
                && self
                    .state
                    .key(&sub.content.signer)
                    .is_some_and(|k| k.public == public)
        })
    }

    /// What a refused member of an [`Ledger::append_each`] batch becomes: a retry of an entry
    /// (the same signed content with the same signature, in the log or earlier in this batch)
    /// is answered with that entry; anything else stays refused.
    fn refused(&self, e: StoreError, sub: &Submission) -> Admission {
        let StoreError::Duplicate(i) = e else {
            return Admission::Refused(e);
        };
        let pending = self.pending_frames.iter().find(|(p, _)| *p == i);
        let bytes = match pending {
            Some((_, b)) => Ok(b.clone()),
            None => self.entry_bytes(i),
        };
        let same = bytes
            .as_ref()
            .is_ok_and(|b| b.len() >= 64 && b[b.len() - 64..] == sub.signature.0);
        if !same {
            return Admission::Refused(StoreError::Duplicate(i));
        }
        let found = match pending {
            // Its leaf and previous hash are in its own bytes: index (8), prev (32), ...
            Some((_, b)) => <[u8; 32]>::try_from(&b[8..40]).map(|prev| Appended {
                index: i,
                leaf: Digest::leaf(b),
                prev: Digest(prev),
            }),
            None => {
                let prev = if i == 0 {
                    Ok(Digest::ZERO)
                } else {
                    self.stored_leaf(i - 1)
                };
                return match (self.stored_leaf(i), prev) {
                    (Ok(leaf), Ok(prev)) => Admission::AlreadyIn(Appended {
                        index: i,
                        leaf,
                        prev,
                    }),
                    (Err(e), _) | (_, Err(e)) => Admission::Refused(e),
                };
            }
        };
        match found {
            Ok(a) => Admission::AlreadyIn(a),
            Err(_) => Admission::Refused(StoreError::Duplicate(i)),
        }
    }

    /// Appends new entries' offsets, stored hashes and duplicate keys to the caches, then
    /// records the new verified prefix.
    fn update_caches(
        &mut self,
        index_buf: &[u8],
        hash_buf: &[u8],
        pending: &[(u64, u64)],
        record: bool,
    ) -> Result<(), StoreError> {
        let (ip, hp) = (self.cache.path("index"), self.cache.path("hashes"));
        let ilen = self.cache.index.metadata().map_err(io_at(&ip))?.len();
        self.cache
            .index
            .write_all_at(index_buf, ilen)
            .map_err(io_at(&ip))?;
        let hlen = self.cache.hashes.metadata().map_err(io_at(&hp))?.len();
        self.cache
            .hashes
            .write_all_at(hash_buf, hlen)
            .map_err(io_at(&hp))?;
        let Some(d) = &mut self.dedup else {
            return Err(StoreError::Usage("no duplicate table".into()));
        };
        d.insert_many(pending)
            .map_err(io_at(&self.cache.path("dedup")))?;
        if record {
            self.cache.save(&self.state, self.end, true)?;
        }
        Ok(())
    }

    fn torn_error(&self, offset: u64, bytes: u64) -> StoreError {
        StoreError::Torn {
            after: self
                .state
                .size
                .checked_sub(1)
                .map_or("none".into(), |i| i.to_string()),
            offset,
            bytes,
        }
    }

    /// Cuts a torn tail back to the last whole entry, keeping the cut bytes in a side file.
    /// Returns the side file and how many bytes were cut, or `None` if there was no torn tail.
    ///
    /// A torn tail is a crash's partial write, so it is normally after every checkpointed
    /// entry. If a recorded checkpoint covers more entries than remain whole, the file lost
    /// signed entries (it was cut or damaged): that is refused unless `force`, with what would
    /// be removed, because restoring a backup is then the remedy, not cutting.
    ///
    /// # Errors
    /// On I/O failure, or [`StoreError::Usage`] for checkpointed entries without `force`.
    pub fn repair(&mut self, force: bool) -> Result<Option<(PathBuf, u64)>, StoreError> {
        let Some((offset, bytes)) = self.torn else {
            return Ok(None);
        };
        let covered = crate::checkpoints::list_checkpoints(&self.dir)?
            .iter()
            .filter_map(|(_, note)| {
                std::str::from_utf8(note)
                    .ok()?
                    .lines()
                    .nth(1)?
                    .parse::<u64>()
                    .ok()
            })
            .max()
            .unwrap_or(0);
        if covered > self.state.size && !force {
            return Err(StoreError::Usage(format!(
                "refusing to repair: a recorded checkpoint covers {covered} entries but only {} are whole; the {bytes} bytes at offset {offset} hold checkpointed entries {}..{}. Restore the entries file from a backup; `custody repair --force` would cut them (they stay in a side file)",
                self.state.size,
                self.state.size,
                covered - 1
            )));
        }
        let path = self.entries_path();
        let side = self.dir.join(format!("entries.torn-at-{offset}"));
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&side)
            .map_err(io_at(&side))?;
        // Copied through a bounded reader: the tail may be as large as the disk.
        let mut handle = self.entries.try_clone().map_err(io_at(&path))?;
        io::Seek::seek(&mut handle, io::SeekFrom::Start(offset)).map_err(io_at(&path))?;
        let mut tail = io::Read::take(io::BufReader::new(handle), bytes);
        io::copy(&mut tail, &mut out)
            .and_then(|_| out.sync_all())
            .map_err(io_at(&side))?;
        self.entries
            .set_len(offset)
            .and_then(|()| self.entries.sync_all())
            .map_err(io_at(&path))?;
        sync_dir(&self.dir)?;
        self.torn = None;
        Ok(Some((side, bytes)))
    }

    /// The RFC 6962 root of the first `size` entries, from stored hashes (O(log n) reads).
    ///
    /// # Errors
    /// If `size` exceeds the log.
    pub fn root(&self, size: u64) -> Result<Digest, StoreError> {
        if size > self.state.size {
            return Err(StoreError::NoSuchEntry {
                index: size,
                size: self.state.size,
            });
        }
        Ok(merkle::tree_root(size, &FileHashes(&self.cache.hashes))?)
    }

    /// Inclusion proof of entry `index` in the tree of `size` entries.
    ///
    /// # Errors
    /// If the index or size is out of range.
    pub fn prove_inclusion(&self, index: u64, size: u64) -> Result<Vec<Digest>, StoreError> {
        if size > self.state.size {
            return Err(StoreError::Rejected(format!(
                "tree size {size} exceeds the log's {}",
                custody_core::rules::text::count(self.state.size, "entry", "entries")
            )));
        }
        Ok(merkle::prove_inclusion(
            index,
            size,
            &FileHashes(&self.cache.hashes),
        )?)
    }

    /// Consistency proof from `old` to `new` entries.
    ///
    /// # Errors
    /// If the sizes are out of range.
    pub fn prove_consistency(&self, old: u64, new: u64) -> Result<Vec<Digest>, StoreError> {
        if new > self.state.size {
            return Err(StoreError::Rejected(format!(
                "tree size {new} exceeds the log's {}",
                custody_core::rules::text::count(self.state.size, "entry", "entries")
            )));
        }
        Ok(merkle::prove_consistency(
            old,
            new,
            &FileHashes(&self.cache.hashes),
        )?)
    }

    /// This machine's verified stored hashes of the tree (Go tlog's layout), as a
    /// [`merkle::HashReader`]: what checkpoints are signed over and tiles are published from.
    #[must_use]
    pub fn stored_hashes(&self) -> FileHashes<'_> {
        FileHashes(&self.cache.hashes)
    }

    /// Leaf hash of entry `i` from the stored hashes.
    ///
    /// # Errors
    /// If `i` is out of range.
    pub fn leaf(&self, i: u64) -> Result<Digest, StoreError> {
        if i >= self.state.size {
            return Err(StoreError::NoSuchEntry {
                index: i,
                size: self.state.size,
            });
        }
        self.stored_leaf(i)
    }
}

/// Takes the ledger's lock: a writer waits for it (saying so once through `waiting`); a reader
/// tries for a moment (a writer mid-append finishes its frame), then goes on without it.
fn take_lock(
    l: File,
    path: &Path,
    access: Access,
    waiting: &dyn Fn(&Path),
) -> Result<Option<File>, StoreError> {
    use std::fs::TryLockError;
    let start = std::time::Instant::now();
    let mut said = false;
    loop {
        match l.try_lock() {
            Ok(()) => return Ok(Some(l)),
            Err(TryLockError::Error(e)) => return Err(io_at(path)(e)),
            Err(TryLockError::WouldBlock) => {}
        }
        let waited = start.elapsed();
        if access == Access::Read && waited > std::time::Duration::from_secs(2) {
            return Ok(None);
        }
        if access == Access::Write && !said && waited > std::time::Duration::from_millis(500) {
            waiting(path);
            said = true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Checks one frame: stored leaf hash, decoding, index and chain link.
///
/// # Errors
/// [`StoreError::Corrupt`] naming entry `i`.
pub fn check_frame(frame: &frames::Frame, i: u64, prev: &Digest) -> Result<Entry, StoreError> {
    check_link(&frame.bytes, &frame.stored_leaf, i, prev).map_err(|e| StoreError::Corrupt {
        entry: i,
        reason: e.0,
    })
}

impl EntryLookup for Ledger {
    fn entry(&self, index: u64) -> Result<Entry, LookupError> {
        // Pending entries of the batch being appended hold consecutive indices from the first.
        if let Some(&(base, _)) = self.pending_frames.first() {
            if index >= base {
                let missing = || LookupError::Missing {
                    index,
                    reason: "is not yet in the batch".into(),
                };
                let k = usize::try_from(index - base).map_err(|_| missing())?;
                let (_, bytes) = self.pending_frames.get(k).ok_or_else(missing)?;
                return Entry::from_bytes(bytes).map_err(|e| LookupError::Corrupt {
                    index,
                    reason: e.to_string(),
                });
            }
        }
        Ledger::entry(self, index).map_err(|e| lookup_error(index, e))
    }
}
