//! The one loop that replays an entries file: `verify` runs it from genesis into throw-away
//! files, and a ledger runs it from the end of its verified caches into those caches. Either
//! way every entry passes core's [`Replay`] (chain link, rules, signer key), is checked against
//! every earlier entry for a copy (the same signer and body, whatever the claimed time: the
//! duplicate rule of core's `rules::duplicates`), and has its strict Ed25519
//! signature checked (in parallel chunks, in order), so nothing reaches a report, a cache or a
//! checkpoint unverified.

use crate::dedup::Dedup;
use crate::error::StoreError;
use crate::frames::{self, FrameReader, Next};
use crate::replay::Failure;
use custody_core::codec;
use custody_core::entry::{signed_message_of, Content, Entry};
use custody_core::hash::{Digest, SUBMISSION_CONTEXT};
use custody_core::replay::{PendingSignature, Replay, ReplayError};
use custody_core::rules::duplicates;
use custody_core::rules::{EntryLookup, LookupError, RuleError};
use rayon::prelude::*;
use std::fs::File;
use std::io::{self, BufReader, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Entries whose signatures are checked together in one parallel chunk.
const CHUNK: usize = 2048;
/// Offsets buffered in memory before they are written to the index file.
const INDEX_BUFFER: usize = 1 << 17;

/// Why a streamed replay stopped short: the evidence, or reading it.
#[derive(Debug)]
pub(crate) enum StreamError {
    /// The entries are not what they claim.
    Evidence(Failure),
    /// A file could not be read or written.
    Io(StoreError),
}

impl From<Failure> for StreamError {
    fn from(f: Failure) -> Self {
        StreamError::Evidence(f)
    }
}

/// How the entries file ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// After a whole frame.
    Clean,
    /// In a partial frame (a crash mid-append): `bytes` at `offset`.
    Torn {
        /// Where the partial frame starts.
        offset: u64,
        /// Its length.
        bytes: u64,
    },
}

/// Where a streamed replay stopped: how, and the offset after the last whole frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Streamed {
    /// How the file ended.
    pub(crate) end: End,
    /// The offset just after the last whole frame.
    pub(crate) offset: u64,
}

/// Bytes of one [`OffsetIndex`] record: the frame's offset (u64 LE) and the entry's verified
/// leaf hash (32 bytes).
pub(crate) const INDEX_RECORD: u64 = 8 + 32;

/// Where each verified entry's frame is, and the leaf hash it had when it was verified: a
/// file, with the newest records buffered in memory. Every read-back of an earlier entry is
/// checked against that leaf, so an entries file changed after verification (by a sync client,
/// or an attacker racing a command) can never feed a rule, a duplicate check or a report.
pub(crate) struct OffsetIndex {
    file: File,
    path: PathBuf,
    flushed: u64,
    pending: Vec<(u64, Digest)>,
}

impl OffsetIndex {
    /// An index whose first `flushed` records are already in `file`.
    pub(crate) fn new(file: File, path: PathBuf, flushed: u64) -> OffsetIndex {
        OffsetIndex {
            file,
            path,
            flushed,
            pending: Vec::new(),
        }
    }

    /// An index in an anonymous temporary file.
    pub(crate) fn temporary() -> Result<OffsetIndex, StoreError> {
        let file = tempfile::tempfile().map_err(|source| StoreError::Io {
            path: std::env::temp_dir().display().to_string(),
            source,
        })?;
        Ok(OffsetIndex::new(
            file,
            PathBuf::from("(temporary offset index)"),
            0,
        ))
    }

    fn io(&self, source: io::Error) -> StoreError {
        StoreError::Io {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// Entries indexed.
    pub(crate) fn len(&self) -> u64 {
        self.flushed + self.pending.len() as u64
    }

    /// Records entry `len()`: its frame's offset and its verified leaf hash.
    pub(crate) fn push(&mut self, offset: u64, leaf: Digest) -> Result<(), StoreError> {
        self.pending.push((offset, leaf));
        if self.pending.len() >= INDEX_BUFFER {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the buffered records to the file.
    pub(crate) fn flush(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let bytes = records(&self.pending);
        self.file
            .write_all_at(&bytes, self.flushed * INDEX_RECORD)
            .map_err(|e| self.io(e))?;
        self.flushed += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// The offset and verified leaf of entry `i`, if indexed.
    pub(crate) fn get(&self, i: u64) -> Result<Option<(u64, Digest)>, StoreError> {
        if i >= self.len() {
            return Ok(None);
        }
        if i >= self.flushed {
            let k = usize::try_from(i - self.flushed).unwrap_or(usize::MAX);
            return Ok(self.pending.get(k).copied());
        }
        read_record(&self.file, i).map(Some).map_err(|e| self.io(e))
    }
}

/// The bytes of index records.
pub(crate) fn records(pairs: &[(u64, Digest)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(pairs.len() * INDEX_RECORD as usize);
    for (offset, leaf) in pairs {
        out.extend_from_slice(&offset.to_le_bytes());
        out.extend_from_slice(&leaf.0);
    }
    out
}

/// Record `i` of an index file.
pub(crate) fn read_record(file: &File, i: u64) -> io::Result<(u64, Digest)> {
    let mut b = [0u8; INDEX_RECORD as usize];
    let at = i
        .checked_mul(INDEX_RECORD)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "index out of range"))?;
    file.read_exact_at(&mut b, at)?;
    let mut offset = [0u8; 8];
    offset.copy_from_slice(&b[..8]);
    let mut leaf = [0u8; 32];
    leaf.copy_from_slice(&b[8..]);
    Ok((u64::from_le_bytes(offset), Digest(leaf)))
}

/// Earlier entries of an entries file, found through an [`OffsetIndex`].
pub(crate) struct EntriesReader<'a> {
    pub(crate) file: &'a File,
    pub(crate) path: &'a Path,
    pub(crate) index: &'a OffsetIndex,
}

impl EntriesReader<'_> {
    /// The exact bytes of entry `index`.
    pub(crate) fn bytes(&self, index: u64) -> Result<Vec<u8>, LookupError> {
        let io = |source: io::Error| LookupError::Io {
            index,
            source: io::Error::new(source.kind(), format!("{}: {source}", self.path.display())),
        };
        let (offset, leaf) = match self.index.get(index) {
            Ok(Some(r)) => r,
            Ok(None) => {
                return Err(LookupError::Missing {
                    index,
                    reason: "is not yet replayed".into(),
                })
            }
            Err(StoreError::Io { source, .. }) => return Err(io(source)),
            Err(e) => return Err(io(io::Error::other(e.to_string()))),
        };
        match frames::read_frame_at(self.file, offset).map_err(io)? {
            // Only the bytes that were verified: the file may have changed since.
            Some(fr) if Digest::leaf(&fr.bytes) == leaf => Ok(fr.bytes),
            Some(_) => Err(LookupError::Corrupt {
                index,
                reason: "its bytes in the entries file changed after they were verified".into(),
            }),
            None => Err(LookupError::Corrupt {
                index,
                reason: "its frame can no longer be read".into(),
            }),
        }
    }
}

impl EntryLookup for EntriesReader<'_> {
    fn entry(&self, index: u64) -> Result<Entry, LookupError> {
        Entry::from_bytes(&self.bytes(index)?).map_err(|e| LookupError::Corrupt {
            index,
            reason: e.to_string(),
        })
    }
}

/// A duplicate table in an anonymous temporary file, sized for `expected` entries.
///
/// # Errors
/// If the file cannot be made.
pub(crate) fn temporary_dedup(expected: u64) -> io::Result<Dedup> {
    Dedup::create(tempfile::tempfile()?, expected)
}

/// The duplicate-table probe key of a duplicate key (core's `rules::duplicates::key_of`): its
/// first 8 bytes. Copies (the same origin, signer and body, whatever the claimed time) share
/// it; a hit is always confirmed against the earlier entry's own bytes.
#[must_use]
pub fn probe_key(duplicate_key: &Digest) -> u64 {
    let mut k = [0u8; 8];
    k.copy_from_slice(&duplicate_key.0[..8]);
    u64::from_le_bytes(k)
}

/// The duplicate key of a signed message.
///
/// # Errors
/// [`RuleError::Broken`] if the message is too short to hold a content (never for a decoded
/// entry's).
pub fn duplicate_key(signed_message: &[u8]) -> Result<Digest, RuleError> {
    duplicates::key_of_signed(signed_message)
        .ok_or_else(|| RuleError::Broken("signed message too short to hold a content".into()))
}

/// The latest earlier entry (before `index`) that is a copy of the one whose signed message is
/// `msg` and duplicate key `key` (docs/FORMAT.md, "Duplicates"), and whether it carries the very
/// same signed message (a replay). Every candidate the table names is read and its own key
/// recomputed, so the table (a cache) can only cost reads, never decide.
///
/// # Errors
/// If the table or an earlier entry cannot be read.
pub(crate) fn latest_copy(
    dedup: &Dedup,
    key: &Digest,
    msg: &[u8],
    index: u64,
    log: &dyn Fn(u64) -> Result<Vec<u8>, LookupError>,
) -> Result<Option<(u64, bool)>, RuleError> {
    let candidates = dedup
        .candidates(probe_key(key))
        .map_err(|source| RuleError::Lookup(LookupError::Io { index, source }))?;
    let mut latest: Option<(u64, bool)> = None;
    for c in candidates.into_iter().filter(|&c| c < index) {
        if latest.is_some_and(|(l, _)| l > c) {
            continue;
        }
        let bytes = log(c)?;
        let Some(theirs) = signed_message_of(&bytes) else {
            continue;
        };
        if duplicates::key_of_signed(&theirs).as_ref() == Some(key) {
            latest = Some((c, theirs == msg));
        }
    }
    Ok(latest)
}

/// The duplicate rule for the entry whose signed message is `msg`, given its latest earlier
/// copy: decodes the content only when the rule needs it (a copy exists, or it may be a
/// deliberate repeat).
///
/// # Errors
/// The rule's refusal.
pub(crate) fn check_copy(msg: &[u8], latest: Option<(u64, bool)>) -> Result<(), RuleError> {
    let content_bytes = msg.strip_prefix(SUBMISSION_CONTEXT).unwrap_or_default();
    if latest.is_none() && !duplicates::may_repeat(content_bytes) {
        return Ok(());
    }
    let content: Content = codec::decode(content_bytes)
        .map_err(|e| RuleError::Broken(format!("undecodable content: {e}")))?;
    duplicates::check(&content, latest)
}

/// What a streamed replay writes as it goes (beyond the index and duplicate table).
pub(crate) trait Sink {
    /// The stored hashes entry `index` adds to the tree, once the entry passed its checks
    /// (its signature may still be in flight: nothing is final until the stream returns Ok).
    fn stored_hashes(&mut self, index: u64, hashes: &[Digest]) -> Result<(), StoreError>;
}

/// Appends stored hashes to a file, buffered.
pub(crate) struct HashAppender<'a> {
    pub(crate) file: &'a File,
    pub(crate) path: PathBuf,
    /// The file's length (where the next hashes go).
    pub(crate) len: u64,
    pub(crate) buf: Vec<u8>,
}

impl HashAppender<'_> {
    /// Writes the buffered hashes.
    pub(crate) fn flush(&mut self) -> Result<(), StoreError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.file
            .write_all_at(&self.buf, self.len)
            .map_err(|source| StoreError::Io {
                path: self.path.display().to_string(),
                source,
            })?;
        self.len += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }
}

impl Sink for HashAppender<'_> {
    fn stored_hashes(&mut self, _: u64, hashes: &[Digest]) -> Result<(), StoreError> {
        for h in hashes {
            self.buf.extend_from_slice(&h.0);
        }
        if self.buf.len() >= 1 << 20 {
            self.flush()?;
        }
        Ok(())
    }
}

/// No sink: `verify` keeps only the running root.
pub(crate) struct Discard;

impl Sink for Discard {
    fn stored_hashes(&mut self, _: u64, _: &[Digest]) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Checks one chunk of signatures on the rayon pool while the replay parses the next chunk.
/// At most one chunk is in flight, so memory stays bounded and failures are found in order.
struct SigPipeline {
    in_flight: Option<std::sync::mpsc::Receiver<Option<u64>>>,
}

impl SigPipeline {
    fn submit(&mut self, chunk: Vec<PendingSignature>) -> Result<(), Failure> {
        self.finish()?;
        let (tx, rx) = std::sync::mpsc::channel();
        rayon::spawn(move || {
            // The receiver outlives the job unless verification already failed; then no one
            // needs the answer.
            let _ = tx.send(verify_chunk(&chunk));
        });
        self.in_flight = Some(rx);
        Ok(())
    }

    fn finish(&mut self) -> Result<(), Failure> {
        match self.in_flight.take() {
            None => Ok(()),
            Some(rx) => bad_signature(rx.recv().map_err(|_| Failure {
                entry: None,
                reason: "internal: signature worker stopped".into(),
            })?),
        }
    }
}

fn verify_chunk(chunk: &[PendingSignature]) -> Option<u64> {
    chunk
        .par_iter()
        .filter(|p| !p.verifies())
        .map(|p| p.index)
        .min()
}

fn bad_signature(first_bad: Option<u64>) -> Result<(), Failure> {
    match first_bad {
        Some(i) => Err(Failure {
            entry: Some(i),
            reason: "signature does not verify".into(),
        }),
        None => Ok(()),
    }
}

/// The failure for a replay error at entry `i`: evidence, unless reading failed.
pub(crate) fn replay_failure(i: u64, e: ReplayError) -> StreamError {
    match e {
        ReplayError::Rule(r) => rule_failure(i, r),
        other => StreamError::Evidence(Failure {
            entry: Some(i),
            reason: other.to_string(),
        }),
    }
}

pub(crate) fn rule_failure(i: u64, e: RuleError) -> StreamError {
    match e {
        RuleError::Lookup(LookupError::Io { index, source }) => StreamError::Io(StoreError::Io {
            path: format!("entry {index}"),
            source,
        }),
        other => StreamError::Evidence(Failure {
            entry: Some(i),
            reason: other.to_string(),
        }),
    }
}

/// The entries file to replay, from `start` (just after the magic, or the end of a verified
/// prefix).
pub(crate) struct Source<'a> {
    pub(crate) file: &'a File,
    pub(crate) path: &'a Path,
    pub(crate) start: u64,
}

/// Replays every whole frame of `src` from its start into `replay`, indexing each entry in
/// `index`, checking and recording it in `dedup`, and handing its stored hashes to `sink`.
/// `progress` is called with the file offset reached, about every MiB.
///
/// # Errors
/// [`StreamError::Evidence`] with the first entry that fails (a bad signature earlier in the
/// same chunk comes first), [`StreamError::Io`] when reading fails.
pub(crate) fn stream(
    src: &Source<'_>,
    replay: &mut Replay,
    index: &mut OffsetIndex,
    dedup: &mut Dedup,
    sink: &mut dyn Sink,
    progress: &dyn Fn(u64),
) -> Result<Streamed, StreamError> {
    let io = |source: io::Error| {
        StreamError::Io(StoreError::Io {
            path: src.path.display().to_string(),
            source,
        })
    };
    // A second descriptor of the same open file (never the path again, which could have been
    // swapped for a link or a FIFO since): the stream moves its offset, random reads of
    // earlier entries use positional I/O and never do.
    let mut handle = src.file.try_clone().map_err(io)?;
    handle.seek(SeekFrom::Start(src.start)).map_err(io)?;
    let mut frames_in = FrameReader::new(BufReader::with_capacity(1 << 20, handle), src.start);
    let mut chunk: Vec<PendingSignature> = Vec::with_capacity(CHUNK);
    let mut sigs = SigPipeline { in_flight: None };
    let mut last_progress = src.start;
    let mut whole = src.start;
    let end = loop {
        let i = replay.state().size;
        let step = match frames_in.next_frame().map_err(io)? {
            Next::End => break End::Clean,
            Next::Torn { offset, bytes } => break End::Torn { offset, bytes },
            Next::BadLength { length, .. } => Err(StreamError::Evidence(Failure {
                entry: Some(i),
                reason: format!("frame length {length} is not a valid entry length"),
            })),
            Next::Frame(frame) => {
                index
                    .push(frame.offset, frame.stored_leaf)
                    .map_err(StreamError::Io)?;
                let reader = EntriesReader {
                    file: src.file,
                    path: src.path,
                    index,
                };
                match replay.push_stored(&frame.bytes, frame.stored_leaf, &reader) {
                    Err(e) => Err(replay_failure(i, e)),
                    Ok((pending, stored)) => {
                        let copy = duplicate_key(&pending.msg).and_then(|key| {
                            let latest =
                                latest_copy(dedup, &key, &pending.msg, i, &|c| reader.bytes(c))?;
                            check_copy(&pending.msg, latest).map(|()| key)
                        });
                        match copy {
                            Err(e) => Err(rule_failure(i, e)),
                            Ok(key) => {
                                chunk.push(pending);
                                dedup
                                    .insert(probe_key(&key), i)
                                    .map_err(|source| {
                                        StreamError::Io(StoreError::Io {
                                            path: "(duplicate table)".into(),
                                            source,
                                        })
                                    })
                                    .and_then(|()| {
                                        whole = frame.end();
                                        sink.stored_hashes(i, &stored).map_err(StreamError::Io)
                                    })
                            }
                        }
                    }
                }
            }
        };
        if let Err(f) = step {
            // An earlier bad signature in the pending chunk is the first failure.
            sigs.finish()?;
            bad_signature(verify_chunk(&chunk))?;
            return Err(f);
        }
        if chunk.len() >= CHUNK {
            sigs.submit(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)))?;
        }
        if frames_in.offset() - last_progress > 1 << 20 {
            last_progress = frames_in.offset();
            progress(last_progress);
        }
    };
    sigs.finish()?;
    bad_signature(verify_chunk(&chunk))?;
    index.flush().map_err(StreamError::Io)?;
    Ok(Streamed { end, offset: whole })
}
