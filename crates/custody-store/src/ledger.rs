//! The only code that touches a ledger directory: layout, locking, append, derived indexes.
//!
//! ```text
//! ledger-dir/
//!   entries        the log: magic, then frames (see frames.rs). The only source of truth.
//!   index          derived: u64 LE offset of each entry's frame
//!   hashes         derived: RFC 6962 stored hashes in Go tlog's layout, 32 bytes each
//!   state.json     derived: keys, amendments, figures (small whatever the log's size)
//!   dedup          derived: signature -> entry hash table
//!   lock           writers hold an exclusive lock on it
//!   checkpoints/   signed checkpoints, SIZE-ROOTHEX.txt, never overwritten
//!   documents/     stored copies of source documents, named by SHA-256 hex
//! ```
//! Append is: encode, write, fsync (`sync_data`), then report; derived files are updated after
//! and rebuilt from `entries` whenever they are missing, short or disagree with it.

use crate::dedup;
use crate::error::{lookup_error, StoreError};
use crate::files::io_at;
use crate::frames::{self, encode_frame, FrameReader, Next, FILE_MAGIC};
use custody_core::entry::{Entry, Submission};
use custody_core::hash::Digest;
use custody_core::merkle::{self, Frontier};
use custody_core::replay::{check_link, check_signature};
use custody_core::rules::{EntryLookup, LogState, LookupError, NoEntries};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// The entries file's name.
pub const ENTRIES: &str = "entries";
const INDEX: &str = "index";
const HASHES: &str = "hashes";
const STATE: &str = "state.json";
const DEDUP: &str = "dedup";
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
}

/// An open ledger.
pub struct Ledger {
    dir: PathBuf,
    entries: File,
    end: u64,
    torn: Option<(u64, u64)>,
    state: LogState,
    frontier: Frontier,
    index: File,
    hashes: File,
    dedup: Option<dedup::Dedup>,
    /// Entries of a batch being appended, readable by later members of the same batch.
    pending_frames: Vec<(u64, Vec<u8>)>,
    _lock: Option<File>,
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

fn open_rw(path: &Path) -> Result<File, StoreError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io_at(path))
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
        ledger.append(genesis)?;
        Ok(ledger)
    }

    /// Opens the ledger in `dir`, bringing derived files up to date with the entries file.
    ///
    /// # Errors
    /// If `dir` holds no ledger, or the entries file is corrupt where derived data is rebuilt.
    pub fn open(dir: &Path, access: Access) -> Result<Ledger, StoreError> {
        let path = dir.join(ENTRIES);
        if !path.is_file() {
            return Err(StoreError::NotALedger(dir.display().to_string()));
        }
        let lock_path = dir.join(LOCK);
        let lock = match OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
        {
            Ok(l) => Some(l),
            // A read-only ledger (e.g. on a DVD or a read-only clone) can still be read.
            Err(_) if access == Access::Read => None,
            Err(e) => return Err(io_at(&lock_path)(e)),
        };
        if let Some(l) = &lock {
            // Readers too take the exclusive lock, but only while opening: opening may rebuild
            // derived files, and two processes must never rebuild them at once. It is released
            // once the ledger is open, so a long read (export, show) never blocks a writer.
            l.lock().map_err(io_at(&lock_path))?;
        }
        let entries = OpenOptions::new()
            .read(true)
            .append(access == Access::Write)
            .open(&path)
            .map_err(io_at(&path))?;
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
        let writable = access == Access::Write || lock.is_some() && dir_writable(dir);
        let (index, hashes) = if writable {
            (open_rw(&dir.join(INDEX))?, open_rw(&dir.join(HASHES))?)
        } else {
            (
                File::open(dir.join(INDEX)).map_err(io_at(dir))?,
                File::open(dir.join(HASHES)).map_err(io_at(dir))?,
            )
        };
        let mut ledger = Ledger {
            dir: dir.to_path_buf(),
            entries,
            end: FILE_MAGIC.len() as u64,
            torn: None,
            state: LogState::default(),
            frontier: Frontier::new(),
            index,
            hashes,
            dedup: None,
            pending_frames: Vec::new(),
            _lock: lock,
        };
        ledger.load_derived(writable)?;
        if access == Access::Read {
            // Readers hold no lock after opening: they read a prefix that never changes.
            ledger._lock = None;
        }
        Ok(ledger)
    }

    /// Loads derived state; catches it up or rebuilds it when it disagrees with `entries`.
    fn load_derived(&mut self, writable: bool) -> Result<(), StoreError> {
        let file_len = self.entries.metadata().map_err(io_at(&self.dir))?.len();
        // state.json is derived from the entries and never larger than them (plus its fixed
        // fields); reading through a bound keeps a huge or endless one (a link to /dev/zero in a
        // ledger received from someone else) from taking all memory. Cut short, it is rebuilt.
        let mut bytes = Vec::new();
        let state: Option<LogState> = File::open(self.dir.join(STATE))
            .and_then(|f| f.take(file_len + (1 << 20)).read_to_end(&mut bytes))
            .ok()
            .and_then(|_| serde_json::from_slice(&bytes).ok());
        let index_len = self.index.metadata().map_err(io_at(&self.dir))?.len();
        let hashes_len = self.hashes.metadata().map_err(io_at(&self.dir))?.len();
        let mut resume = None;
        if let Some(st) = state {
            let n = st.size;
            let consistent =
                n > 0 && index_len == n * 8 && hashes_len == tlog_tiles::stored_hash_count(n) * 32;
            if consistent {
                let last = self.offset_of(n - 1)?;
                if let Ok(Some(frame)) = self.frame_at(last) {
                    let leaf = self.stored_leaf(n - 1)?;
                    if frame.stored_leaf == st.head && leaf == st.head && frame.end() <= file_len {
                        resume = Some((st, frame.end()));
                    }
                }
            }
        }
        let (state, start) = match resume {
            Some(r) => r,
            None => {
                if writable {
                    self.index.set_len(0).map_err(io_at(&self.dir))?;
                    self.hashes.set_len(0).map_err(io_at(&self.dir))?;
                }
                (LogState::default(), FILE_MAGIC.len() as u64)
            }
        };
        self.frontier = if state.size == 0 {
            Frontier::new()
        } else {
            Frontier::from_reader(state.size, &FileHashes(&self.hashes))?
        };
        self.state = state;
        self.end = start;
        if start < file_len || self.state.size == 0 {
            self.catch_up(writable)?;
        }
        if writable {
            self.open_dedup()?;
        }
        Ok(())
    }

    /// Scans frames from `self.end`, extending derived data; stops at a torn tail.
    fn catch_up(&mut self, writable: bool) -> Result<(), StoreError> {
        // A fresh handle: a cloned one would share (and move) the file offset.
        let mut f = File::open(self.entries_path()).map_err(io_at(&self.dir))?;
        f.seek(SeekFrom::Start(self.end))
            .map_err(io_at(&self.dir))?;
        let mut reader = FrameReader::new(BufReader::with_capacity(1 << 20, f), self.end);
        let mut index_buf = Vec::new();
        let mut hash_buf = Vec::new();
        let first_new = self.state.size;
        loop {
            match reader.next_frame().map_err(io_at(&self.dir))? {
                Next::End => break,
                Next::Torn { offset, bytes } => {
                    self.torn = Some((offset, bytes));
                    break;
                }
                Next::BadLength { length, .. } => {
                    return Err(StoreError::Corrupt {
                        entry: self.state.size,
                        reason: format!(
                        "frame length {length} is not a valid entry length; run `custody verify`"
                    ),
                    })
                }
                Next::Frame(frame) => {
                    let i = self.state.size;
                    let entry = check_frame(&frame, i, &self.state.head)?;
                    index_buf.extend_from_slice(&frame.offset.to_le_bytes());
                    for h in self.frontier.push(frame.stored_leaf)? {
                        hash_buf.extend_from_slice(&h.0);
                    }
                    self.state.apply(&entry.content, frame.stored_leaf);
                    self.end = frame.end();
                    if writable && index_buf.len() >= 1 << 20 {
                        self.flush_derived(&mut index_buf, &mut hash_buf)?;
                    }
                }
            }
        }
        if writable {
            self.flush_derived(&mut index_buf, &mut hash_buf)?;
            self.save_state()?;
        } else if self.state.size > first_new {
            // A read-only ledger whose derived files are stale cannot serve O(1) reads.
            return Err(StoreError::Rejected(format!(
                "the ledger's derived index is stale and the directory is read-only; copy it somewhere writable ({} entries unindexed)",
                self.state.size - first_new
            )));
        }
        Ok(())
    }

    fn flush_derived(
        &mut self,
        index_buf: &mut Vec<u8>,
        hash_buf: &mut Vec<u8>,
    ) -> Result<(), StoreError> {
        let ip = self.dir.join(INDEX);
        let hp = self.dir.join(HASHES);
        let ilen = self.index.metadata().map_err(io_at(&ip))?.len();
        self.index
            .write_all_at(index_buf, ilen)
            .map_err(io_at(&ip))?;
        let hlen = self.hashes.metadata().map_err(io_at(&hp))?.len();
        self.hashes
            .write_all_at(hash_buf, hlen)
            .map_err(io_at(&hp))?;
        index_buf.clear();
        hash_buf.clear();
        Ok(())
    }

    fn save_state(&self) -> Result<(), StoreError> {
        let path = self.dir.join(STATE);
        let tmp = self.dir.join("state.json.tmp");
        let bytes =
            serde_json::to_vec(&self.state).map_err(|e| io_at(&path)(io::Error::other(e)))?;
        fs::write(&tmp, bytes).map_err(io_at(&tmp))?;
        fs::rename(&tmp, &path).map_err(io_at(&path))?;
        Ok(())
    }

    fn open_dedup(&mut self) -> Result<(), StoreError> {
        let path = self.dir.join(DEDUP);
        let file = open_rw(&path)?;
        let existing =
            dedup::Dedup::open(file.try_clone().map_err(io_at(&path))?).map_err(io_at(&path))?;
        match existing {
            Some(d) if d.count() == self.state.size => self.dedup = Some(d),
            Some(mut d) if d.count() < self.state.size => {
                for i in d.count()..self.state.size {
                    let e = self.entry(i)?;
                    d.insert(dedup::key_of(&e.signature.0), i)
                        .map_err(io_at(&path))?;
                }
                self.dedup = Some(d);
            }
            _ => {
                let mut d = dedup::Dedup::create(file, self.state.size).map_err(io_at(&path))?;
                let mut f = File::open(self.entries_path()).map_err(io_at(&self.dir))?;
                f.seek(SeekFrom::Start(FILE_MAGIC.len() as u64))
                    .map_err(io_at(&self.dir))?;
                let mut r = FrameReader::new(BufReader::with_capacity(1 << 20, f), 16);
                let mut i = 0;
                while i < self.state.size {
                    let Next::Frame(frame) = r.next_frame().map_err(io_at(&self.dir))? else {
                        break;
                    };
                    let n = frame.bytes.len();
                    if n >= 64 {
                        let mut sig = [0u8; 64];
                        sig.copy_from_slice(&frame.bytes[n - 64..]);
                        d.insert(dedup::key_of(&sig), i).map_err(io_at(&path))?;
                    }
                    i += 1;
                }
                self.dedup = Some(d);
            }
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
        let mut b = [0u8; 8];
        self.index
            .read_exact_at(&mut b, i * 8)
            .map_err(io_at(&self.dir.join(INDEX)))?;
        Ok(u64::from_le_bytes(b))
    }

    fn stored_leaf(&self, i: u64) -> Result<Digest, StoreError> {
        let idx = tlog_tiles::stored_hash_index(0, i);
        let mut h = [0u8; 32];
        self.hashes
            .read_exact_at(&mut h, idx * 32)
            .map_err(io_at(&self.dir.join(HASHES)))?;
        Ok(Digest(h))
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
        let entry = check_frame(&frame, i, &prev)?;
        Ok((entry, frame.stored_leaf))
    }

    /// The exact bytes of entry `i` (what its leaf hash covers).
    ///
    /// # Errors
    /// If `i` is past the end or unreadable.
    pub fn entry_bytes(&self, i: u64) -> Result<Vec<u8>, StoreError> {
        Ok(self.frame_of(i)?.bytes)
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
        self.check_inner(sub, true)
    }

    fn check_inner(&self, sub: &Submission, verify_signature: bool) -> Result<(), StoreError> {
        let index = self.state.size;
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
        if let Some(d) = &self.dedup {
            for cand in d
                .candidates(dedup::key_of(&sub.signature.0))
                .map_err(io_at(&self.dir))?
            {
                if cand < self.state.size && self.entry(cand)?.signature == sub.signature {
                    return Err(StoreError::Duplicate(cand));
                }
            }
        }
        Ok(())
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
        if self._lock.is_none() {
            return Err(StoreError::Rejected("ledger opened read-only".into()));
        }
        if let Some((offset, bytes)) = self.torn {
            return Err(self.torn_error(offset, bytes));
        }
        let saved = (self.state.clone(), self.frontier.clone());
        let mut buf = Vec::new();
        let mut index_buf = Vec::new();
        let mut hash_buf = Vec::new();
        let mut out = Vec::with_capacity(subs.len());
        let mut pending: Vec<(u64, [u8; 64])> = Vec::new();
        // Signatures of this batch so far: the dedup table does not hold them yet, and a
        // linear scan would make a batch quadratic.
        let mut in_batch: std::collections::HashMap<[u8; 64], u64> =
            std::collections::HashMap::new();
        let mut end = self.end;
        for (k, sub) in subs.into_iter().enumerate() {
            let res = self.check_inner(&sub, verify_signatures).and_then(|()| {
                match in_batch.get(&sub.signature.0) {
                    Some(i) => Err(StoreError::Duplicate(*i)),
                    None => Ok(()),
                }
            });
            if let Err(e) = res {
                (self.state, self.frontier) = saved;
                return Err(if k == 0 {
                    e
                } else {
                    StoreError::BatchRejected {
                        position: k,
                        source: Box::new(e),
                    }
                });
            }
            let index = self.state.size;
            let entry = sub.into_entry(index, self.state.head);
            let bytes = entry.to_bytes()?;
            let leaf = Digest::leaf(&bytes);
            let frame = encode_frame(&bytes, &leaf);
            index_buf.extend_from_slice(&end.to_le_bytes());
            end += frame.len() as u64;
            buf.extend_from_slice(&frame);
            for h in self.frontier.push(leaf)? {
                hash_buf.extend_from_slice(&h.0);
            }
            pending.push((index, entry.signature.0));
            in_batch.insert(entry.signature.0, index);
            self.state.apply(&entry.content, leaf);
            out.push(Appended { index, leaf });
            // Later members of the batch may cite earlier ones; they are read from the pending
            // buffer through `self.entry`, so keep the in-memory index in step.
            self.pending_frames.push((index, bytes));
        }
        let path = self.entries_path();
        let write = (&self.entries)
            .write_all(&buf)
            .and_then(|()| self.entries.sync_data());
        self.pending_frames.clear();
        if let Err(e) = write {
            (self.state, self.frontier) = saved;
            // Nothing of this batch was acknowledged, so cutting back to the last acknowledged
            // entry loses nothing. If even that fails, the bytes stay as a torn tail that this
            // handle refuses to append after (and the next open names).
            let cut = OpenOptions::new()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_len(self.end).and_then(|()| f.sync_all()));
            if cut.is_err() {
                self.torn = Some((self.end, buf.len() as u64));
            }
            return Err(io_at(&path)(e));
        }
        // Durable: from here on the entries are acknowledged. Derived files follow.
        self.end = end;
        self.flush_derived(&mut index_buf, &mut hash_buf)?;
        if let Some(d) = &mut self.dedup {
            let pairs: Vec<(u64, u64)> = pending
                .iter()
                .map(|(i, sig)| (dedup::key_of(sig), *i))
                .collect();
            d.insert_many(&pairs).map_err(io_at(&self.dir))?;
        }
        self.save_state()?;
        Ok(out)
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
    /// # Errors
    /// On I/O failure.
    pub fn repair(&mut self) -> Result<Option<(PathBuf, u64)>, StoreError> {
        let Some((offset, bytes)) = self.torn else {
            return Ok(None);
        };
        let path = self.entries_path();
        let mut tail = vec![0u8; usize::try_from(bytes).unwrap_or(0)];
        self.entries
            .read_exact_at(&mut tail, offset)
            .map_err(io_at(&path))?;
        let side = self.dir.join(format!("entries.torn-at-{offset}"));
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&side)
            .map_err(io_at(&side))?;
        f.write_all(&tail)
            .and_then(|()| f.sync_all())
            .map_err(io_at(&side))?;
        let w = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(io_at(&path))?;
        w.set_len(offset)
            .and_then(|()| w.sync_all())
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
        Ok(merkle::tree_root(size, &FileHashes(&self.hashes))?)
    }

    /// Inclusion proof of entry `index` in the tree of `size` entries.
    ///
    /// # Errors
    /// If the index or size is out of range.
    pub fn prove_inclusion(&self, index: u64, size: u64) -> Result<Vec<Digest>, StoreError> {
        if size > self.state.size {
            return Err(StoreError::Rejected(format!(
                "tree size {size} exceeds the log's {} entries",
                self.state.size
            )));
        }
        Ok(merkle::prove_inclusion(
            index,
            size,
            &FileHashes(&self.hashes),
        )?)
    }

    /// Consistency proof from `old` to `new` entries.
    ///
    /// # Errors
    /// If the sizes are out of range.
    pub fn prove_consistency(&self, old: u64, new: u64) -> Result<Vec<Digest>, StoreError> {
        if new > self.state.size {
            return Err(StoreError::Rejected(format!(
                "tree size {new} exceeds the log's {} entries",
                self.state.size
            )));
        }
        Ok(merkle::prove_consistency(
            old,
            new,
            &FileHashes(&self.hashes),
        )?)
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

fn dir_writable(dir: &Path) -> bool {
    fs::metadata(dir)
        .map(|m| !m.permissions().readonly())
        .unwrap_or(false)
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
