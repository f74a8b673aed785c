//! Replays a ledger from genesis and says exactly where it first fails.
//!
//! Streams the entries file once (bounded memory), checks framing, leaf hashes, chain links,
//! indices, every rule (grants, citations, figure arithmetic) and every signature (strict
//! Ed25519, in parallel chunks), then checks every recorded checkpoint against the replayed tree.
//! Derived files are never trusted: the derived offset index is used for random reads only where
//! it agrees, entry by entry, with what the replay itself found.

use crate::checkpoint;
use crate::entry::{signed_message_of, Body, Content, Entry, KeyId};
use crate::evidence::{EntryLookup, LogState};
use crate::hash::Digest;
use crate::keys;
use crate::merkle::Frontier;
use crate::store::{self, frames};
use ed25519_dalek::VerifyingKey;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Entries whose signatures are checked together in one parallel chunk.
const CHUNK: usize = 2048;

/// Options for [`verify_ledger`].
#[derive(Default)]
pub struct Options {
    /// Older checkpoints (file path, bytes) that the log must still be consistent with.
    pub since: Vec<(PathBuf, Vec<u8>)>,
    /// Re-hash stored documents.
    pub documents: bool,
    /// Treat figures changed by later corrections or retractions as failures.
    pub strict: bool,
}

/// Where and why verification failed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Failure {
    /// The first bad entry, if the failure is about one.
    pub entry: Option<u64>,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.entry {
            Some(e) => write!(f, "entry {e}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

/// A signer and how many entries it signed.
#[derive(Debug, Clone, Serialize)]
pub struct SignerReport {
    /// Key name.
    pub name: String,
    /// Role ("operator", "researcher", ...).
    pub role: String,
    /// Full key id (hex).
    pub key_id: String,
    /// Entries it signed.
    pub entries: u64,
    /// Granted at entry.
    pub granted_at: u64,
    /// Revoked at entry.
    pub revoked_at: Option<u64>,
}

/// One term of a figure.
#[derive(Debug, Clone, Serialize)]
pub struct TermReport {
    /// The claim or figure's index.
    pub entry: u64,
    /// Its value when the figure was signed.
    pub value: u64,
}

/// A figure, recomputed.
#[derive(Debug, Clone, Serialize)]
pub struct FigureReport {
    /// The figure's entry.
    pub entry: u64,
    /// Its label.
    pub label: String,
    /// at-least, exactly, about.
    pub qualifier: String,
    /// Unit.
    pub unit: String,
    /// The published (signed) value, which equalled its terms when signed.
    pub published: u64,
    /// The terms as they stood when it was signed.
    pub terms: Vec<TermReport>,
    /// The value on today's log.
    pub current: u64,
    /// Corrections and retractions since publication that changed anything beneath it.
    pub changed_by: Vec<u64>,
    /// Whether the figure itself was retracted.
    pub retracted: bool,
}

/// A checkpoint checked against the replayed tree.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointReport {
    /// The file.
    pub file: String,
    /// Tree size.
    pub size: u64,
    /// Root (hex).
    pub root: String,
}

/// A stored document's state.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentReport {
    /// The source entry.
    pub entry: u64,
    /// "ok", "withheld (redacted at entry N)", "not stored".
    pub status: String,
}

/// What a successful replay found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Entries replayed.
    pub entries: u64,
    /// The ledger's origin.
    pub origin: String,
    /// RFC 6962 root of all entries (hex).
    pub root: String,
    /// Entries per kind.
    pub kinds: BTreeMap<String, u64>,
    /// Every key the log granted.
    pub signers: Vec<SignerReport>,
    /// Every figure, recomputed.
    pub figures: Vec<FigureReport>,
    /// Recorded checkpoints (and `--since` ones) that hold.
    pub checkpoints: Vec<CheckpointReport>,
    /// Stored documents re-hashed (with `--documents`).
    pub documents: Vec<DocumentReport>,
    /// Things that are not integrity failures but a reader should know.
    pub notes: Vec<String>,
    /// The C2SP verifier key of the log (from genesis).
    pub vkey: String,
}

/// Checks `sig` over `content` by the key the log state names for its signer.
///
/// # Errors
/// A message if the key is unknown or the signature fails strict verification.
pub fn check_signature(state: &LogState, content: &Content, sig: &[u8; 64]) -> Result<(), String> {
    let key = signer_key(state, content)?;
    let msg = content.signed_bytes().map_err(|e| e.to_string())?;
    keys::verify_strict(&key, &msg, sig).map_err(|_| "signature does not verify".to_string())
}

fn signer_key(state: &LogState, content: &Content) -> Result<VerifyingKey, String> {
    let public = if let (0, Body::Genesis { operator, .. }) = (state.size, &content.body) {
        *operator
    } else {
        state
            .key(&content.signer)
            .ok_or_else(|| {
                format!(
                    "signer {} is not a key of this ledger",
                    content.signer.short()
                )
            })?
            .public
    };
    let key = VerifyingKey::from_bytes(&public)
        .map_err(|_| "signer key is not a valid point".to_string())?;
    if !keys::acceptable_key(&key) {
        return Err("signer key is a small-order or mixed-order point".into());
    }
    Ok(key)
}

/// Random access to earlier entries during a replay.
struct Reader<'a> {
    file: &'a File,
    /// Offsets known so far, when the derived index could not be trusted.
    memory: Option<Vec<u64>>,
    /// The derived index file, trusted only up to `trusted` entries.
    index: Option<File>,
    trusted: u64,
}

impl Reader<'_> {
    fn note_offset(&mut self, i: u64, offset: u64) {
        if let Some(mem) = &mut self.memory {
            mem.push(offset);
            return;
        }
        let mut b = [0u8; 8];
        let agrees = self.index.as_ref().is_some_and(|f| {
            f.read_exact_at(&mut b, i * 8).is_ok() && u64::from_le_bytes(b) == offset
        });
        if agrees {
            self.trusted = i + 1;
        } else {
            // Fall back to offsets in memory (8 bytes an entry) from here on.
            let mut mem = Vec::with_capacity(usize::try_from(i + 1).unwrap_or(0));
            for k in 0..i {
                let mut b = [0u8; 8];
                let off = self
                    .index
                    .as_ref()
                    .and_then(|f| {
                        f.read_exact_at(&mut b, k * 8)
                            .ok()
                            .map(|()| u64::from_le_bytes(b))
                    })
                    .unwrap_or(0);
                mem.push(off);
            }
            mem.push(offset);
            self.memory = Some(mem);
        }
    }
}

impl EntryLookup for Reader<'_> {
    fn entry(&self, index: u64) -> Result<Entry, String> {
        let offset = match &self.memory {
            Some(m) => *m
                .get(usize::try_from(index).map_err(|e| e.to_string())?)
                .ok_or("not yet replayed")?,
            None => {
                if index >= self.trusted {
                    return Err("not yet replayed".into());
                }
                let mut b = [0u8; 8];
                self.index
                    .as_ref()
                    .ok_or("no index")?
                    .read_exact_at(&mut b, index * 8)
                    .map_err(|e| e.to_string())?;
                u64::from_le_bytes(b)
            }
        };
        match frames::read_frame_at(self.file, offset).map_err(|e| e.to_string())? {
            Some(fr) => Entry::from_bytes(&fr.bytes).map_err(|e| e.to_string()),
            None => Err("frame unreadable".into()),
        }
    }
}

struct Pending {
    index: u64,
    msg: Vec<u8>,
    sig: [u8; 64],
    key: VerifyingKey,
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

/// Checks one chunk of signatures on the rayon pool while the replay parses the next chunk.
/// At most one chunk is in flight, so memory stays bounded and failures are found in order.
struct SigPipeline {
    in_flight: Option<std::sync::mpsc::Receiver<Option<u64>>>,
}

impl SigPipeline {
    fn submit(&mut self, chunk: Vec<Pending>) -> Result<(), Failure> {
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

fn verify_chunk(chunk: &[Pending]) -> Option<u64> {
    chunk
        .par_iter()
        .filter(|p| keys::verify_strict(&p.key, &p.msg, &p.sig).is_err())
        .map(|p| p.index)
        .min()
}

/// Replays the ledger in `dir`. `progress` is called with bytes read so far.
///
/// # Errors
/// The first failure, naming the entry where there is one.
pub fn verify_ledger(
    dir: &Path,
    opts: &Options,
    progress: &dyn Fn(u64),
) -> Result<Report, Failure> {
    let plain = |reason: String| Failure {
        entry: None,
        reason,
    };
    let path = dir.join(store::ENTRIES);
    if !path.is_file() {
        return Err(plain(format!(
            "{} is not a custody ledger (no entries file)",
            dir.display()
        )));
    }
    let file = File::open(&path).map_err(|e| plain(format!("{}: {e}", path.display())))?;
    let mut magic = [0u8; 16];
    if file.read_exact_at(&mut magic, 0).is_err() || &magic != frames::FILE_MAGIC {
        return Err(plain(
            "entries file does not start with the custody-log-v1 magic".into(),
        ));
    }
    // Checkpoints to check, by size, so the replay can note the root as it passes each size.
    // Recorded and `--since` checkpoints are checked alike.
    let mut notes: Vec<(PathBuf, Vec<u8>)> =
        store::list_checkpoints(dir).map_err(|e| plain(e.to_string()))?;
    notes.extend(opts.since.iter().cloned());

    // A separate handle for streaming: random reads use positional I/O on `file`.
    let mut stream = File::open(&path).map_err(|e| plain(format!("{}: {e}", path.display())))?;
    stream
        .seek(SeekFrom::Start(16))
        .map_err(|e| plain(e.to_string()))?;
    let mut frames_in = frames::FrameReader::new(BufReader::with_capacity(1 << 20, stream), 16);
    let mut reader = Reader {
        file: &file,
        memory: None,
        index: File::open(dir.join("index")).ok(),
        trusted: 0,
    };
    let mut state = LogState::default();
    let mut frontier = Frontier::new();
    let mut roots: BTreeMap<u64, Digest> = BTreeMap::new();
    let wanted: std::collections::BTreeSet<u64> = notes
        .iter()
        .filter_map(|(_, b)| checkpoint_size(b))
        .collect();
    roots.insert(0, frontier.root());
    let mut signers_seen: BTreeMap<KeyId, (VerifyingKey, u64)> = BTreeMap::new();
    let mut chunk: Vec<Pending> = Vec::with_capacity(CHUNK);
    let mut last_progress = 0u64;

    let mut sigs = SigPipeline { in_flight: None };

    loop {
        let next = frames_in
            .next_frame()
            .map_err(|e| plain(format!("reading entries: {e}")))?;
        let i = state.size;
        let failure = match next {
            frames::Next::End => break,
            frames::Next::Torn { offset, bytes } => Some(Failure {
                entry: None,
                reason: match i.checked_sub(1) {
                    Some(last) => format!("entries file ends in a torn write after entry {last} ({bytes} bytes at offset {offset}); `custody repair` cuts it off"),
                    None => format!("entries file ends in a torn write before any entry ({bytes} bytes at offset {offset})"),
                },
            }),
            frames::Next::BadLength { length, .. } => Some(Failure {
                entry: Some(i),
                reason: format!("frame length {length} is not a valid entry length"),
            }),
            frames::Next::Frame(frame) => {
                match replay_one(&frame, &mut state, &mut reader, &mut chunk, &mut signers_seen) {
                    Ok(()) => {
                        // The stored hashes are not needed here, only the running root.
                        if let Err(e) = frontier.push(frame.stored_leaf) {
                            return Err(Failure { entry: Some(i), reason: e.to_string() });
                        }
                        if wanted.contains(&state.size) {
                            roots.insert(state.size, frontier.root());
                        }
                        if frame.end() - last_progress > 1 << 20 {
                            last_progress = frame.end();
                            progress(last_progress);
                        }
                        None
                    }
                    Err(reason) => Some(Failure {
                        entry: Some(i),
                        reason,
                    }),
                }
            }
        };
        if let Some(f) = failure {
            // An earlier bad signature in the pending chunk is the first failure.
            sigs.finish()?;
            bad_signature(verify_chunk(&chunk))?;
            return Err(f);
        }
        if chunk.len() >= CHUNK {
            sigs.submit(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)))?;
        }
    }
    sigs.finish()?;
    bad_signature(verify_chunk(&chunk))?;
    if state.size == 0 {
        return Err(plain("the ledger has no entries (not even genesis)".into()));
    }
    let root = frontier.root();
    let operator = state
        .operator()
        .ok_or_else(|| plain("no operator key".into()))?
        .clone();
    let op_key = VerifyingKey::from_bytes(&operator.public)
        .map_err(|_| plain("operator key invalid".into()))?;
    let vkey = checkpoint::vkey(&state.origin, &op_key).map_err(|e| plain(e.to_string()))?;
    let verifier = checkpoint::parse_vkey(&vkey).map_err(|e| plain(e.to_string()))?;

    // Checkpoints: each must be signed by the operator and match the replayed root at its size.
    let mut cps = Vec::new();
    let mut by_size: BTreeMap<u64, (Digest, String)> = BTreeMap::new();
    for (p, bytes) in &notes {
        let name = p.display().to_string();
        let cp = checkpoint::open(bytes, &verifier)
            .map_err(|e| plain(format!("checkpoint {name}: {e}")))?;
        if let Some((other_root, other)) = by_size.get(&cp.size()) {
            if *other_root != cp.root() {
                return Err(plain(format!(
                    "split view: checkpoints {other} and {name} both sign tree size {} with different roots",
                    cp.size()
                )));
            }
        }
        by_size.insert(cp.size(), (cp.root(), name.clone()));
        if cp.size() > state.size {
            return Err(plain(format!(
                "checkpoint {name} signs tree size {} but the log now holds only {} entries: the log was truncated or rewritten",
                cp.size(), state.size
            )));
        }
        let replayed = roots
            .get(&cp.size())
            .copied()
            .ok_or_else(|| plain("internal: root not noted".into()))?;
        if replayed != cp.root() {
            return Err(plain(format!(
                "checkpoint {name} (tree size {}) contradicts the log: its root is {}, the replayed log's is {}; the log was rewritten after that checkpoint",
                cp.size(), cp.root(), replayed
            )));
        }
        cps.push(CheckpointReport {
            file: name,
            size: cp.size(),
            root: cp.root().to_hex(),
        });
    }

    let mut report_notes = Vec::new();
    let last_cp = by_size.keys().next_back().copied().unwrap_or(0);
    if last_cp < state.size {
        report_notes.push(format!(
            "entries {last_cp}..{} are not yet covered by a signed checkpoint (`custody checkpoint` signs one)",
            state.size - 1
        ));
    }

    // Figures: as published, and on today's log.
    let mut figures = Vec::new();
    for &f in &state.figures {
        let e = reader.entry(f).map_err(|e| Failure {
            entry: Some(f),
            reason: e,
        })?;
        let Body::Figure {
            label,
            value,
            qualifier,
            unit,
            terms,
        } = e.content.body
        else {
            continue;
        };
        let mut term_reports = Vec::new();
        for t in &terms {
            let v = state
                .value_at(*t, f, u64::MAX, &reader)
                .map_err(|e| Failure {
                    entry: Some(f),
                    reason: e.0,
                })?;
            term_reports.push(TermReport {
                entry: *t,
                value: v.value,
            });
        }
        let now = state
            .value_at(f, state.size, f, &reader)
            .map_err(|e| Failure {
                entry: Some(f),
                reason: e.0,
            })?;
        let retracted = state
            .retracted_before(f, state.size, &reader)
            .map_err(|e| Failure {
                entry: Some(f),
                reason: e.0,
            })?
            .is_some();
        if opts.strict && (now.value != value || !now.changed_by.is_empty()) {
            return Err(Failure {
                entry: Some(f),
                reason: format!(
                    "figure {label:?} was published as {value} but is {} on today's log (changed by entries {:?}); --strict",
                    now.value, now.changed_by
                ),
            });
        }
        figures.push(FigureReport {
            entry: f,
            label,
            qualifier: qualifier.name().into(),
            unit,
            published: value,
            terms: term_reports,
            current: now.value,
            changed_by: now.changed_by,
            retracted,
        });
    }

    let documents = if opts.documents {
        check_documents(dir, &state, &reader)?
    } else {
        Vec::new()
    };

    let signers = state
        .keys
        .iter()
        .map(|k| SignerReport {
            name: k.name.clone(),
            role: k.role_name().into(),
            key_id: k.id().to_hex(),
            entries: signers_seen.get(&k.id()).map_or(0, |s| s.1),
            granted_at: k.granted_at,
            revoked_at: k.revoked_at,
        })
        .collect();
    Ok(Report {
        entries: state.size,
        origin: state.origin.clone(),
        root: root.to_hex(),
        kinds: state.kinds.clone(),
        signers,
        figures,
        checkpoints: cps,
        documents,
        notes: report_notes,
        vkey,
    })
}

fn checkpoint_size(note: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(note).ok()?;
    text.lines().nth(1)?.parse().ok()
}

fn replay_one(
    frame: &frames::Frame,
    state: &mut LogState,
    reader: &mut Reader,
    chunk: &mut Vec<Pending>,
    signers: &mut BTreeMap<KeyId, (VerifyingKey, u64)>,
) -> Result<(), String> {
    let i = state.size;
    let entry = store::check_frame(frame, i, &state.head).map_err(|e| match e {
        store::StoreError::Corrupt { reason, .. } => reason,
        other => other.to_string(),
    })?;
    reader.note_offset(i, frame.offset);
    // `admit` has checked the signer's grant at this index; the decompressed key is cached per
    // key id (the id is the key's hash, so it can never name another key).
    state.admit(&entry.content, reader).map_err(|e| e.0)?;
    let slot = match signers.entry(entry.content.signer) {
        std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
        std::collections::btree_map::Entry::Vacant(v) => {
            v.insert((signer_key(state, &entry.content)?, 0))
        }
    };
    slot.1 += 1;
    let key = slot.0;
    let msg = signed_message_of(&frame.bytes).ok_or("entry too short to hold a signature")?;
    chunk.push(Pending {
        index: i,
        msg,
        sig: entry.signature.0,
        key,
    });
    state.apply(&entry.content, frame.stored_leaf);
    Ok(())
}

fn check_documents(
    dir: &Path,
    state: &LogState,
    log: &dyn EntryLookup,
) -> Result<Vec<DocumentReport>, Failure> {
    // Sources are found through the documents folder and the amendments, not by another replay.
    let mut out = Vec::new();
    let docs = dir.join(store::DOCUMENTS);
    let mut stored: BTreeMap<String, PathBuf> = BTreeMap::new();
    if let Ok(rd) = std::fs::read_dir(&docs) {
        for e in rd.flatten() {
            if let Some(n) = e.file_name().to_str() {
                stored.insert(n.to_string(), e.path());
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..state.size {
        let e = log.entry(i).map_err(|r| Failure {
            entry: Some(i),
            reason: r,
        })?;
        let Body::Source { sha256, size, .. } = e.content.body else {
            continue;
        };
        let redacted = state.amendments.get(&i).into_iter().flatten().find(|&&a| {
            matches!(
                log.entry(a).map(|x| x.content.body),
                Ok(Body::Redaction { .. })
            )
        });
        let hexname = sha256.to_hex();
        let status = match (stored.get(&hexname), redacted) {
            (Some(p), Some(r)) => {
                return Err(Failure {
                    entry: Some(i),
                    reason: format!(
                        "document {} is still stored although entry {r} redacted it",
                        p.display()
                    ),
                })
            }
            (None, Some(r)) => format!("withheld (redacted at entry {r})"),
            (Some(p), None) => {
                // Only a regular file of the recorded size is hashed: a link to /dev/zero or a
                // FIFO planted in a received ledger must not hang the check.
                let meta = std::fs::symlink_metadata(p).map_err(|e| Failure {
                    entry: Some(i),
                    reason: format!("{}: {e}", p.display()),
                })?;
                if !meta.is_file() {
                    return Err(Failure {
                        entry: Some(i),
                        reason: format!("stored document {} is not a regular file", p.display()),
                    });
                }
                if meta.len() != size {
                    return Err(Failure {
                        entry: Some(i),
                        reason: format!(
                            "stored document {} does not hash to the recorded SHA-256 (it has {} bytes, not the recorded {size})",
                            p.display(),
                            meta.len()
                        ),
                    });
                }
                let (h, _) = store::hash_file(p).map_err(|e| Failure {
                    entry: Some(i),
                    reason: e.to_string(),
                })?;
                if h != sha256 {
                    return Err(Failure {
                        entry: Some(i),
                        reason: format!("stored document {} does not hash to the recorded SHA-256 (it hashes to {h})", p.display()),
                    });
                }
                seen.insert(hexname);
                "ok".to_string()
            }
            (None, None) => "not stored".to_string(),
        };
        out.push(DocumentReport { entry: i, status });
    }
    if let Some(extra) = stored.keys().find(|k| !seen.contains(*k)) {
        return Err(Failure {
            entry: None,
            reason: format!("documents/{extra} is not the stored copy of any source in the log"),
        });
    }
    Ok(out)
}
