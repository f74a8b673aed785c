//! The decision of a C2SP tlog-witness (<https://c2sp.org/tlog-witness>): whether to cosign
//! an `add-checkpoint` request, and with which status code to refuse it.
//!
//! This module owns the rule, as pure functions of bytes, the witness's configuration
//! ([`Logs`]), its stored state for the request's log ([`Cosigned`]) and the time:
//!
//! 1. [`check`] (state-free, so it runs outside any lock): frame the request (400), parse the
//!    checkpoint (400), find its origin among the configured logs (404), verify every
//!    signature line by a configured key of that log strictly (403 if none verifies or any
//!    fails), and refuse `old` above the checkpoint's size (400).
//! 2. [`decide`] (under the caller's per-log lock, with the state it last stored): `old` must
//!    be the size last cosigned (409, body `<size>\n`), then the consistency rules (422) and
//!    the clock (503: never a time earlier than the last cosignature of that log).
//! 3. [`Accepted::cosign`]: the cosignature/v1 line, signed at the decided time.
//!
//! The steps are numbered as in `docs/WITNESS.md`. The caller must store the new state
//! durably *before* it releases the line; this module never does I/O, reads the clock or
//! keeps state itself.

use crate::add_checkpoint::AddCheckpoint;
use crate::checkpoint::{self, CheckpointError, StrictVerifier};
use crate::cosignature::{self, split_note};
use crate::fork;
use crate::hash::Digest;
use crate::merkle::{self, EMPTY_ROOT, MAX_TREE_SIZE};
use crate::sign::KeySigner;
use signed_note::Verifier as _;
use std::collections::BTreeMap;
use thiserror::Error;

/// The most logs one witness is configured with (its whole state is rewritten per commit).
pub const MAX_LOGS: usize = 4096;
/// The most keys one log may have configured at once (key rotation).
pub const MAX_KEYS_PER_LOG: usize = 16;
/// The largest logs file read.
pub const MAX_LOGS_FILE_BYTES: usize = 1 << 20;
/// The largest checkpoint the witness stores and serves again: its body, the verified log
/// signature lines and its own cosignature line.
pub const MAX_STORED_NOTE_BYTES: usize = 16 * 1024;
/// The `Content-Type` of a 409 body (tlog-witness).
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";
/// A clock at most this many seconds behind the last cosignature gets a `Retry-After`.
pub const CLOCK_RETRY_SECONDS: u64 = 5;
/// The largest cosignature timestamp (tlog-cosignature: it MUST NOT exceed 2^63 - 1).
pub const MAX_TIME: u64 = i64::MAX as u64;

/// The logs a witness cosigns: for each origin, the log keys (type 0x01 vkeys, key name =
/// origin) whose signature it accepts. Only [`Logs::parse`] and [`Logs::new`] make one.
#[derive(Clone, Debug, Default)]
pub struct Logs {
    by_origin: BTreeMap<String, Vec<StrictVerifier>>,
}

/// Why a logs file was refused.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LogsError {
    /// The file is larger than [`MAX_LOGS_FILE_BYTES`].
    #[error("the logs file is {0} bytes; at most {MAX_LOGS_FILE_BYTES} are read")]
    TooLarge(usize),
    /// The file is not UTF-8.
    #[error("the logs file is not UTF-8 text")]
    NotText,
    /// A line that is not a comment, blank, or one log vkey.
    #[error("logs file line {line}: {source}")]
    Vkey {
        /// 1-based line number.
        line: usize,
        /// Why the vkey was refused.
        source: CheckpointError,
    },
    /// The same vkey twice.
    #[error("logs file line {line}: the same log key is listed twice")]
    Duplicate {
        /// 1-based line number.
        line: usize,
    },
    /// More logs or keys than the bounds.
    #[error("logs file: {0}")]
    Bound(String),
    /// No log at all: such a witness could never cosign.
    #[error("the logs file lists no log key; add one log vkey per line")]
    Empty,
}

impl Logs {
    /// The logs of `verifiers` (several for one origin are that log's keys).
    ///
    /// # Errors
    /// [`LogsError::Duplicate`] (line 0) or [`LogsError::Bound`].
    pub fn new(verifiers: impl IntoIterator<Item = StrictVerifier>) -> Result<Logs, LogsError> {
        let mut logs = Logs::default();
        for v in verifiers {
            logs.insert(v, 0)?;
        }
        Ok(logs)
    }

    fn insert(&mut self, v: StrictVerifier, line: usize) -> Result<(), LogsError> {
        if !self.by_origin.contains_key(v.name()) && self.by_origin.len() == MAX_LOGS {
            return Err(LogsError::Bound(format!("more than {MAX_LOGS} logs")));
        }
        let keys = self.by_origin.entry(v.name().to_owned()).or_default();
        if keys
            .iter()
            .any(|k| k.key_id() == v.key_id() && k.verifying_key() == v.verifying_key())
        {
            return Err(LogsError::Duplicate { line });
        }
        if keys.len() == MAX_KEYS_PER_LOG {
            return Err(LogsError::Bound(format!(
                "line {line}: more than {MAX_KEYS_PER_LOG} keys for log {}",
                v.name()
            )));
        }
        keys.push(v);
        Ok(())
    }

    /// Parses a logs file (`docs/WITNESS.md`, "The logs file"): UTF-8 lines, each blank, a
    /// comment starting with `#`, or exactly one log vkey (`origin+keyid+base64(0x01||key)`,
    /// spaces around it ignored). Several vkeys with one name are that log's keys.
    ///
    /// # Errors
    /// [`LogsError`], naming the line.
    pub fn parse(text: &[u8]) -> Result<Logs, LogsError> {
        if text.len() > MAX_LOGS_FILE_BYTES {
            return Err(LogsError::TooLarge(text.len()));
        }
        let text = std::str::from_utf8(text).map_err(|_| LogsError::NotText)?;
        let mut logs = Logs::default();
        for (i, line) in text.lines().enumerate() {
            let line_no = i + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let v = checkpoint::parse_vkey(line).map_err(|source| LogsError::Vkey {
                line: line_no,
                source,
            })?;
            logs.insert(v, line_no)?;
        }
        if logs.by_origin.is_empty() {
            return Err(LogsError::Empty);
        }
        Ok(logs)
    }

    /// The configured keys of the log `origin`, if it is configured.
    #[must_use]
    pub fn keys(&self, origin: &str) -> Option<&[StrictVerifier]> {
        self.by_origin.get(origin).map(Vec::as_slice)
    }

    /// The configured origins, in order.
    pub fn origins(&self) -> impl Iterator<Item = &str> {
        self.by_origin.keys().map(String::as_str)
    }

    /// The number of configured logs.
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_origin.len()
    }

    /// Whether no log is configured.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_origin.is_empty()
    }
}

/// What a witness stores per log: the latest checkpoint it cosigned (size and root) and the
/// time of that cosignature. A log it never cosigned has no `Cosigned` (size 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cosigned {
    /// The tree size.
    pub size: u64,
    /// The root hash at that size.
    pub root: Digest,
    /// The cosignature's timestamp (seconds since the Unix epoch).
    pub time: u64,
}

/// The HTTP status classes a refusal maps to (tlog-witness).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// 400: the request or its checkpoint is malformed, or `old` is above its size.
    BadRequest,
    /// 403: no configured key of the log signed it, or such a signature fails.
    Forbidden,
    /// 404: the checkpoint's origin is not a configured log.
    NotFound,
    /// 409: `old` is not the size the witness last cosigned for the log.
    Conflict,
    /// 422: the checkpoint is not consistent with the one the witness last cosigned.
    Unprocessable,
    /// 503: the witness cannot cosign now (its clock is behind its last cosignature, or its
    /// storage failed); the request may be retried.
    Unavailable,
}

impl Status {
    /// The HTTP status code.
    #[must_use]
    pub fn code(self) -> u16 {
        match self {
            Status::BadRequest => 400,
            Status::Forbidden => 403,
            Status::NotFound => 404,
            Status::Conflict => 409,
            Status::Unprocessable => 422,
            Status::Unavailable => 503,
        }
    }

    /// The HTTP reason phrase.
    #[must_use]
    pub fn phrase(self) -> &'static str {
        match self {
            Status::BadRequest => "Bad Request",
            Status::Forbidden => "Forbidden",
            Status::NotFound => "Not Found",
            Status::Conflict => "Conflict",
            Status::Unprocessable => "Unprocessable Entity",
            Status::Unavailable => "Service Unavailable",
        }
    }
}

/// Why the witness does not cosign: a status and a one-line reason.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{} {}: {reason}", status.code(), status.phrase())]
pub struct Refusal {
    /// The status class.
    pub status: Status,
    /// What was wrong, in one line.
    pub reason: String,
    /// For 409: the size the witness last cosigned for the log (the response body).
    pub known_size: Option<u64>,
    /// For a 503 that will pass by itself: seconds after which to retry.
    pub retry_after: Option<u64>,
}

impl Refusal {
    fn new(status: Status, reason: impl Into<String>) -> Refusal {
        Refusal {
            status,
            reason: reason.into(),
            known_size: None,
            retry_after: None,
        }
    }

    /// A 503 for a failure of the caller's storage (never made by this module).
    #[must_use]
    pub fn unavailable(reason: impl Into<String>) -> Refusal {
        Refusal::new(Status::Unavailable, reason)
    }

    /// The response body: `<size>\n` for 409 (tlog-witness), else the reason and a newline.
    #[must_use]
    pub fn body(&self) -> Vec<u8> {
        match self.known_size {
            Some(size) if self.status == Status::Conflict => format!("{size}\n").into_bytes(),
            _ => format!("{}\n", self.reason).into_bytes(),
        }
    }

    /// The response's `Content-Type`.
    #[must_use]
    pub fn content_type(&self) -> &'static str {
        if self.status == Status::Conflict {
            SIZE_CONTENT_TYPE
        } else {
            "text/plain; charset=utf-8"
        }
    }
}

/// A request whose checkpoint a configured key of its log signed (steps 1 to 5). Only
/// [`check`] makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    old: u64,
    proof: Vec<Digest>,
    origin: String,
    size: u64,
    root: Digest,
    body: String,
    log_lines: Vec<String>,
}

impl Checked {
    /// The checkpoint's origin (a configured log).
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The checkpoint's tree size.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The checkpoint's root hash.
    #[must_use]
    pub fn root(&self) -> Digest {
        self.root
    }

    /// The request's `old` size.
    #[must_use]
    pub fn old(&self) -> u64 {
        self.old
    }

    /// The checkpoint as the log signed it: the body and the log signature lines that
    /// verified in step 4 (lines by other keys dropped), as a signed note.
    #[must_use]
    pub fn log_note(&self) -> String {
        let mut s = String::with_capacity(self.body.len() + 120 * self.log_lines.len() + 1);
        s.push_str(&self.body);
        s.push('\n');
        for l in &self.log_lines {
            s.push_str(l);
            s.push('\n');
        }
        s
    }
}

/// Why a refused request, though signed by its log, yields no fork evidence.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NoForkEvidence {
    /// The witness never cosigned this log.
    #[error("the witness holds no checkpoint of this log")]
    NothingStored,
    /// The two checkpoints do not contradict each other.
    #[error("the checkpoint does not contradict the stored one")]
    Consistent,
    /// A checkpoint of size 0 whose root is not the empty tree's: malformed, not a fork
    /// (a tree of size 0 has one root).
    #[error("a checkpoint of size 0 has only the empty tree's root; another root is malformed, not a fork")]
    EmptyTree,
    /// No configured key of the log verifies both notes (a key rotated out, or a stored
    /// note without the log's line).
    #[error("no configured key of this log signed both the stored checkpoint and this one")]
    NoCommonKey,
    /// A checkpoint smaller than the stored one: evidence would need a proof in the stored
    /// tree, which a request does not carry.
    #[error("the checkpoint is smaller than the stored one; the request carries no proof in the stored tree")]
    Smaller,
    /// `old` is not the stored size, so the proof is about another tree size.
    #[error("the request's proof starts at size {old}, not at the stored size {stored}")]
    OtherOld {
        /// The request's `old`.
        old: u64,
        /// The stored size.
        stored: u64,
    },
    /// From a power-of-two size the proof does not carry the log's own old root (RFC 9162
    /// §2.1.4.2 takes it from the verifier), so a bad proof cannot be told from a fork.
    #[error("from size {0}, a power of two, the proof does not say which root the log's tree has there; a bad proof cannot be told from a fork")]
    PowerOfTwo(u64),
    /// The proof is not valid in the checkpoint's own tree either: a bad proof, which anyone
    /// could attach to a genuine checkpoint, proves nothing about the log.
    #[error("the proof is not valid in the checkpoint's own tree either: a bad proof, not evidence of a fork")]
    BadProof,
    /// The evidence did not verify (never expected: a bug).
    #[error("fork evidence did not verify: {0}")]
    Build(String),
}

/// Fork evidence (`docs/FORKS.md`, custody-fork-evidence/v1) from a request [`check`]
/// accepted and the note the witness stored for its log (`stored_note`: body, the log's
/// lines, the witness's cosignature), when the two contradict each other: the same size
/// with another root, or a proof from the stored size that is valid in the new
/// checkpoint's tree but shows a prefix other than the stored root. A = the stored note,
/// B = the checkpoint with only the line of the key that opens A. The log key is the first
/// configured key that opens both; the result is verified by [`fork::build`] before it is
/// returned. Sizes and roots are compared before any signature is checked.
///
/// # Errors
/// [`NoForkEvidence`]: why these two checkpoints prove no fork (or cannot, from what a
/// request carries).
pub fn fork_evidence(
    logs: &Logs,
    checked: &Checked,
    stored_note: Option<&str>,
) -> Result<Vec<u8>, NoForkEvidence> {
    let stored_note = stored_note.ok_or(NoForkEvidence::NothingStored)?;
    // First, from sizes and roots alone, whether the two can contradict each other: most
    // refusals (an ordinary 409 retry, a replayed checkpoint) cannot, and deciding that costs
    // no signature check, so anyone replaying public checkpoints cannot make the witness do
    // the work of opening notes under the log's lock. The stored note is the witness's own
    // state (its signatures verified when stored); both notes are opened below regardless.
    let (m, stored_root) = split_note(stored_note.as_bytes())
        .ok()
        .and_then(|n| tlog_tiles::Checkpoint::from_bytes(n.body.as_bytes()).ok())
        .map(|cp| (cp.size(), Digest::from(*cp.hash())))
        .ok_or(NoForkEvidence::NothingStored)?;
    let n = checked.size;
    let prefix = if n == m {
        if n == 0 {
            return Err(NoForkEvidence::EmptyTree);
        }
        if checked.root == stored_root {
            return Err(NoForkEvidence::Consistent);
        }
        checked.root
    } else if n < m {
        return Err(NoForkEvidence::Smaller);
    } else if m == 0 {
        return Err(NoForkEvidence::Consistent);
    } else if checked.old != m {
        return Err(NoForkEvidence::OtherOld {
            old: checked.old,
            stored: m,
        });
    } else if merkle::verify_consistency(m, stored_root, n, checked.root, &checked.proof).is_ok() {
        return Err(NoForkEvidence::Consistent);
    } else if m.is_power_of_two() {
        return Err(NoForkEvidence::PowerOfTwo(m));
    } else {
        merkle::implied_old_root(m, n, checked.root, &checked.proof)
            .ok_or(NoForkEvidence::BadProof)?
    };
    let proof: &[Digest] = if n == m { &[] } else { &checked.proof };
    for key in logs.keys(&checked.origin).unwrap_or_default() {
        let Ok(a) = checkpoint::open(stored_note.as_bytes(), key) else {
            continue;
        };
        // B with only this key's line: the evidence names one key, and a note re-sent with
        // other subsets of its lines is the same evidence, not another file.
        let Some(b) = checked.log_lines.iter().find_map(|line| {
            let note = format!("{}\n{line}\n", checked.body);
            checkpoint::open(note.as_bytes(), key).ok()
        }) else {
            continue;
        };
        return fork::build(key, &a, &b, prefix, proof).map_err(|e| match e {
            fork::ForkError::NotAFork { .. } => NoForkEvidence::Consistent,
            e => NoForkEvidence::Build(e.to_string()),
        });
    }
    Err(NoForkEvidence::NoCommonKey)
}

/// Steps 1 to 5 of `docs/WITNESS.md`: everything that does not depend on the witness's state.
///
/// # Errors
/// A [`Refusal`]: 400 (malformed request or checkpoint, `old` above the size, a size above
/// 2^62), 404 (origin not configured), 403 (no configured key's signature, or one that fails).
pub fn check(logs: &Logs, request: &[u8]) -> Result<Checked, Refusal> {
    let bad = |why: String| Refusal::new(Status::BadRequest, why);
    // 1. The request body: `old`, at most 63 proof hashes, an empty line, a note.
    let req = AddCheckpoint::parse(request).map_err(|e| bad(e.to_string()))?;
    // 2. The checkpoint: a signed note whose text is a canonical tlog-checkpoint body.
    let note = split_note(&req.checkpoint).map_err(|e| bad(format!("checkpoint: {e}")))?;
    let body = note.body.as_bytes();
    let cp = tlog_tiles::Checkpoint::from_bytes(body)
        .ok()
        .filter(|cp| cp.to_bytes() == body)
        .ok_or_else(|| bad(CheckpointError::MalformedBody.to_string()))?;
    // 3. The origin must be a configured log.
    let keys = logs.keys(cp.origin()).ok_or_else(|| {
        Refusal::new(
            Status::NotFound,
            "the checkpoint's origin is not a log this witness cosigns",
        )
    })?;
    // 4. Every line by a configured key must verify (strictly), and at least one must be
    //    there; lines by other keys are ignored. Only the first line of each key is kept:
    //    Ed25519 takes any nonce, so a log could sign one body a hundred times, and a stored
    //    note with more lines than a note may carry would not open again after a restart.
    let mut log_lines: Vec<String> = Vec::new();
    let mut kept_keys: Vec<usize> = Vec::new();
    for line in &note.lines {
        for (k, key) in keys.iter().enumerate() {
            if line.name != key.name() || line.key_id != key.key_id() {
                continue;
            }
            if !key.verify(body, &line.rest) {
                return Err(Refusal::new(
                    Status::Forbidden,
                    format!(
                        "the signature by log key {}+{:08x} does not verify",
                        key.name(),
                        key.key_id()
                    ),
                ));
            }
            if !kept_keys.contains(&k) {
                kept_keys.push(k);
                log_lines.push(line.text.clone());
            }
        }
    }
    if log_lines.is_empty() {
        return Err(Refusal::new(
            Status::Forbidden,
            "no signature by a configured key of this log",
        ));
    }
    // 5. `old` must not exceed the new size; sizes stay within what custody computes.
    let size = cp.size();
    if req.old > size {
        return Err(bad(format!(
            "old size {} is larger than the checkpoint's size {size}",
            req.old
        )));
    }
    if size > MAX_TREE_SIZE {
        return Err(bad(format!(
            "tree size {size} is larger than the 2^62 this witness supports"
        )));
    }
    Ok(Checked {
        old: req.old,
        proof: req.proof,
        origin: cp.origin().to_owned(),
        size,
        root: Digest::from(*cp.hash()),
        body: note.body,
        log_lines,
    })
}

/// A request the witness will cosign: the state to store and what to sign. Only [`decide`]
/// makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    origin: String,
    old: u64,
    next: Cosigned,
    body: String,
    log_lines: Vec<String>,
}

impl Accepted {
    /// The log's origin.
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The size the log moved from (the state before).
    #[must_use]
    pub fn old(&self) -> u64 {
        self.old
    }

    /// The state to store, durably, before the cosignature leaves the witness.
    #[must_use]
    pub fn next(&self) -> Cosigned {
        self.next
    }

    /// The checkpoint body that is cosigned.
    #[must_use]
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The cosignature/v1 line (with its newline) of witness `name` at the decided time.
    ///
    /// # Errors
    /// [`CheckpointError::InvalidOrigin`] for a bad name, [`CheckpointError::Signing`].
    pub fn cosign(&self, name: &str, signer: &dyn KeySigner) -> Result<String, CheckpointError> {
        cosignature::cosign(self.body.as_bytes(), name, signer, self.next.time)
    }

    /// The checkpoint as the witness keeps and serves it: the body, the log signature lines
    /// it verified, and its own `cosignature` line.
    ///
    /// # Errors
    /// A 400 [`Refusal`] if that note would exceed [`MAX_STORED_NOTE_BYTES`].
    pub fn stored_note(&self, cosignature: &str) -> Result<String, Refusal> {
        let mut s = String::with_capacity(self.body.len() + 200);
        s.push_str(&self.body);
        s.push('\n');
        for l in &self.log_lines {
            s.push_str(l);
            s.push('\n');
        }
        s.push_str(cosignature);
        if !s.ends_with('\n') {
            s.push('\n');
        }
        // At most one line per configured key (step 4) and the witness's own: far under
        // what a note may carry, checked so a stored note always opens again.
        if self.log_lines.len() + 1 > cosignature::MAX_SIGNATURE_LINES {
            return Err(Refusal::new(
                Status::BadRequest,
                format!(
                    "the checkpoint carries {} log signature lines; a stored note holds at most {}",
                    self.log_lines.len(),
                    cosignature::MAX_SIGNATURE_LINES - 1
                ),
            ));
        }
        if s.len() > MAX_STORED_NOTE_BYTES {
            return Err(Refusal::new(
                Status::BadRequest,
                format!(
                    "the checkpoint with its log signatures is {} bytes; this witness keeps \
                     checkpoints of at most {MAX_STORED_NOTE_BYTES}",
                    s.len()
                ),
            ));
        }
        Ok(s)
    }
}

/// Steps 6 to 9 of `docs/WITNESS.md`, against `last`, the state the witness stored for the
/// checkpoint's log (None if it never cosigned it), at time `now` (seconds since the epoch).
///
/// # Errors
/// A [`Refusal`]: 409 (`old` is not the size last cosigned; `known_size` says which), 422
/// (size 0 without the empty root, a proof with `old` 0, the same size with another root, a
/// consistency proof that does not verify), 503 (the clock reads earlier than the last
/// cosignature of this log, or outside 1..2^63-1).
pub fn decide(checked: Checked, last: Option<&Cosigned>, now: u64) -> Result<Accepted, Refusal> {
    let unprocessable = |why: String| Refusal::new(Status::Unprocessable, why);
    let c = checked;
    // 6. `old` must be the size last cosigned for this log (0 if never).
    let known = last.map_or(0, |l| l.size);
    if c.old != known {
        return Err(Refusal {
            known_size: Some(known),
            ..Refusal::new(
                Status::Conflict,
                format!(
                    "old size {} is not {known}, the size this witness last cosigned for this log",
                    c.old
                ),
            )
        });
    }
    // 7. The empty tree has one root.
    if c.size == 0 && c.root != EMPTY_ROOT {
        return Err(unprocessable(
            "a checkpoint of size 0 must have the empty tree's root (SHA-256 of nothing)".into(),
        ));
    }
    // 8. Consistency with the last cosigned checkpoint, whose root is the witness's own.
    match last {
        Some(l) if c.old > 0 => {
            if c.old == c.size && c.root != l.root {
                return Err(unprocessable(format!(
                    "size {} was cosigned with another root hash; a log has one root per size",
                    c.size
                )));
            }
            merkle::verify_consistency(c.old, l.root, c.size, c.root, &c.proof)
                .map_err(|e| unprocessable(e.to_string()))?;
        }
        _ => {
            if !c.proof.is_empty() {
                return Err(unprocessable(
                    "a consistency proof from size 0 must be empty".into(),
                ));
            }
        }
    }
    // 9. The time: a usable clock, never earlier than this log's last cosignature.
    if now == 0 || now > MAX_TIME {
        return Err(Refusal::new(
            Status::Unavailable,
            format!("the witness clock reads {now}, which is not a time it can sign"),
        ));
    }
    if let Some(l) = last {
        if now < l.time {
            let behind = l.time - now;
            return Err(Refusal {
                retry_after: (behind <= CLOCK_RETRY_SECONDS).then_some(behind),
                ..Refusal::new(
                    Status::Unavailable,
                    format!(
                        "the witness clock is {behind} s behind its last cosignature of this \
                         log; it never signs a time earlier than one it signed"
                    ),
                )
            });
        }
    }
    Ok(Accepted {
        origin: c.origin,
        old: c.old,
        next: Cosigned {
            size: c.size,
            root: c.root,
            time: now,
        },
        body: c.body,
        log_lines: c.log_lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosignature::{CosignatureLine, CosignatureVerifier};
    use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
    use ed25519_dalek::SigningKey;

    // From tests/vectors/checkpoint-cosignature-derived.json (a copy of the shared vectors).
    const LOG_SEED: &str = "191693101e298a5f66a12e0a92f75c840b6da54b1bc265a05eef9735215bd51f";
    const LOG_VKEY: &str =
        "example.com/evidence-ledger-test+0051744f+AczXONUCJ9wNmQ2x5/usUQuQRlvVihJCqsjrYJK42AOl";
    const ORIGIN: &str = "example.com/evidence-ledger-test";
    const WITNESS_SEED: &str = "d76aef9d9a8353ffddaabc1fd0c66c1a827053ec52a8a2b1d258dd640367ae24";
    const WITNESS_NAME: &str = "example.com/test-witness";
    const REQUEST: &str = "old 6\nDrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=\nyoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=\n037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=\n\nexample.com/evidence-ledger-test\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n— example.com/evidence-ledger-test AFF0T7fsNG7lCFYhTKfV2C2n+ilSAVKXsZpQxkbzSgJ91kqUpe9hmAFRtaWW0M8BJw5S1Q5fbeDClayhEkJDepZ6oAg=\n";
    const ROOT6: &str = "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef";
    const ROOT8: &str = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328";
    const TIME: u64 = 1_679_315_147;
    const LINE: &str = "— example.com/test-witness a1GPOgAAAABkGFDLotr+ZqbGp8qQWq3tc5Ks1jcvTnnIa19D0BCHstAp+6DUrMa5EgADk3k0W9e277Zx9sLaL65F1IKHPtIbZiObCg==\n";
    const DOC: &str = include_str!("../../../docs/WITNESS.md");

    fn key(seed: &str) -> SigningKey {
        SigningKey::from_bytes(&hex::decode(seed).unwrap().try_into().unwrap())
    }

    fn logs() -> Logs {
        Logs::parse(format!("# the test log\n\n  {LOG_VKEY}  \n").as_bytes()).unwrap()
    }

    fn at6(time: u64) -> Cosigned {
        Cosigned {
            size: 6,
            root: Digest::from_hex(ROOT6).unwrap(),
            time,
        }
    }

    /// The 8 standard leaves of the shared RFC 6962 vectors.
    fn leaves() -> Vec<Digest> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|h| Digest::leaf(&hex::decode(h).unwrap()))
        .collect()
    }

    /// A request from `old` to the tree of the first `size` standard leaves (signed by the
    /// vector's log key), with the right proof.
    fn request(old: u64, size: u64) -> Vec<u8> {
        let l = leaves();
        let mem = merkle::MemoryHashes::from_leaves(&l[..size as usize]);
        let proof = if old == 0 || old == size {
            Vec::new()
        } else {
            merkle::prove_consistency(old, size, &mem).unwrap()
        };
        let note = checkpoint::sign(ORIGIN, size, mem.root(), &key(LOG_SEED)).unwrap();
        AddCheckpoint {
            old,
            proof,
            checkpoint: note.into_bytes(),
        }
        .to_bytes()
    }

    fn status(r: Result<Checked, Refusal>) -> u16 {
        r.err().map_or(200, |e| e.status.code())
    }

    fn decided(req: &[u8], last: Option<&Cosigned>, now: u64) -> Result<Accepted, Refusal> {
        decide(check(&logs(), req)?, last, now)
    }

    #[test]
    fn the_vector_request_yields_the_vector_cosignature() {
        let a = decided(REQUEST.as_bytes(), Some(&at6(TIME - 60)), TIME).unwrap();
        assert_eq!(
            a.next(),
            Cosigned {
                size: 8,
                root: Digest::from_hex(ROOT8).unwrap(),
                time: TIME
            }
        );
        assert_eq!(a.old(), 6);
        let line = a.cosign(WITNESS_NAME, &key(WITNESS_SEED)).unwrap();
        assert_eq!(line, LINE);
        let stored = a.stored_note(&line).unwrap();
        let n = split_note(stored.as_bytes()).unwrap();
        let w = CosignatureVerifier::new(WITNESS_NAME, key(WITNESS_SEED).verifying_key()).unwrap();
        assert_eq!(n.cosignatures(&[w]).times, vec![Some(TIME)]);
        assert!(checkpoint::open(
            stored.as_bytes(),
            &checkpoint::parse_vkey(LOG_VKEY).unwrap()
        )
        .is_ok());
    }

    #[test]
    fn docs_witness_md_quotes_the_worked_example_verbatim() {
        assert!(DOC.starts_with("# custody witness, version 1\n"));
        for needle in [REQUEST, LINE, LOG_VKEY, ROOT6, ROOT8] {
            assert!(DOC.contains(needle), "docs/WITNESS.md lacks {needle:?}");
        }
    }

    #[test]
    fn malformed_requests_are_400() {
        for bad in [
            b"".to_vec(),
            b"old 6\n".to_vec(),
            b"old x\n\ncheckpoint\n".to_vec(),
            b"old 0\n\nnot a note\n".to_vec(),
            // A note whose body is not a checkpoint (the size line left out).
            String::from_utf8(request(0, 8))
                .unwrap()
                .replacen("\n8\n", "\n", 1)
                .into_bytes(),
        ] {
            assert_eq!(
                status(check(&logs(), &bad)),
                400,
                "{:?}",
                String::from_utf8_lossy(&bad)
            );
        }
        // A non-canonical size line (leading zero) in an otherwise signed-looking note.
        let r = String::from_utf8(request(0, 8))
            .unwrap()
            .replacen("\n8\n", "\n08\n", 1);
        assert_eq!(status(check(&logs(), r.as_bytes())), 400);
        // old > new.
        let r = String::from_utf8(request(0, 8))
            .unwrap()
            .replacen("old 0", "old 9", 1);
        let e = check(&logs(), r.as_bytes()).unwrap_err();
        assert_eq!(e.status, Status::BadRequest);
        assert!(e.reason.contains("larger"), "{}", e.reason);
    }

    #[test]
    fn an_unknown_origin_is_404() {
        let other = SigningKey::from_bytes(&[5u8; 32]);
        let note = checkpoint::sign("other.example/log", 1, Digest::leaf(b""), &other).unwrap();
        let r = AddCheckpoint {
            old: 0,
            proof: vec![],
            checkpoint: note.into_bytes(),
        };
        let e = check(&logs(), &r.to_bytes()).unwrap_err();
        assert_eq!((e.status.code(), e.known_size), (404, None));
    }

    #[test]
    fn no_valid_log_signature_is_403() {
        // Signed by another key under the log's name: an unknown key, ignored; none is left.
        let impostor = SigningKey::from_bytes(&[6u8; 32]);
        let note =
            checkpoint::sign(ORIGIN, 8, Digest::from_hex(ROOT8).unwrap(), &impostor).unwrap();
        let r = AddCheckpoint {
            old: 0,
            proof: vec![],
            checkpoint: note.into_bytes(),
        };
        assert_eq!(status(check(&logs(), &r.to_bytes())), 403);
        // The log's own line, with one signature bit flipped: a configured key that fails.
        let mut n = split_note(REQUEST.split_once("\n\n").unwrap().1.as_bytes()).unwrap();
        let mut payload = B64
            .decode(n.lines[0].text.rsplit_once(' ').unwrap().1)
            .unwrap();
        payload[10] ^= 1;
        let bad_line = format!("— {ORIGIN} {}", B64.encode(payload));
        n.lines.clear();
        n.add_line(&bad_line).unwrap();
        let r = format!("old 0\n\n{}", n.to_text());
        let e = check(&logs(), r.as_bytes()).unwrap_err();
        assert_eq!(e.status, Status::Forbidden);
        assert!(e.reason.contains("does not verify"), "{}", e.reason);
        // A good line followed by a failing second line of the same key is still 403
        // (every line by a configured key is verified, signed-note).
        let good = REQUEST.split_once("\n\n").unwrap().1;
        let r = format!("old 0\n\n{good}{bad_line}\n");
        assert_eq!(status(check(&logs(), r.as_bytes())), 403);
        // A good line and one by an unknown key: the unknown one is ignored.
        let other = cosignature::cosign(
            b"x\n",
            "someone.else",
            &SigningKey::from_bytes(&[7u8; 32]),
            1,
        )
        .unwrap();
        let r = format!("old 0\n\n{good}{other}");
        assert_eq!(status(check(&logs(), r.as_bytes())), 200);
    }

    #[test]
    fn a_rotated_key_is_accepted_and_each_key_counts() {
        let new_key = SigningKey::from_bytes(&[8u8; 32]);
        let new_vkey = checkpoint::vkey(ORIGIN, &new_key.verifying_key()).unwrap();
        let logs = Logs::parse(format!("{LOG_VKEY}\n{new_vkey}\n").as_bytes()).unwrap();
        assert_eq!((logs.len(), logs.keys(ORIGIN).unwrap().len()), (1, 2));
        let note = checkpoint::sign(ORIGIN, 8, Digest::from_hex(ROOT8).unwrap(), &new_key).unwrap();
        let r = AddCheckpoint {
            old: 0,
            proof: vec![],
            checkpoint: note.into_bytes(),
        };
        assert_eq!(status(check(&logs, &r.to_bytes())), 200);
    }

    #[test]
    fn a_wrong_old_size_is_409_naming_the_stored_size() {
        // Never cosigned: the size is 0.
        let e = decided(REQUEST.as_bytes(), None, TIME).unwrap_err();
        assert_eq!((e.status.code(), e.known_size), (409, Some(0)));
        assert_eq!(e.body(), b"0\n");
        assert_eq!(e.content_type(), "text/x.tlog.size");
        // Cosigned 7 before: old 6 is wrong, and so is old 0.
        let at7 = Cosigned {
            size: 7,
            root: merkle::root_of_leaves(&leaves()[..7]),
            time: TIME,
        };
        let e = decided(REQUEST.as_bytes(), Some(&at7), TIME).unwrap_err();
        assert_eq!((e.status, e.body()), (Status::Conflict, b"7\n".to_vec()));
        let e = decided(&request(0, 8), Some(&at7), TIME).unwrap_err();
        assert_eq!(e.body(), b"7\n");
    }

    #[test]
    fn inconsistent_checkpoints_are_422() {
        // A proof with one hash changed.
        let r = REQUEST.replacen("yoVOoSjt", "yoVOoSju", 1);
        let e = decided(r.as_bytes(), Some(&at6(TIME)), TIME).unwrap_err();
        assert_eq!(e.status, Status::Unprocessable);
        // A proof from a different stored root at size 6 (the witness's own root decides).
        let other6 = Cosigned {
            root: Digest::leaf(b"another history"),
            ..at6(TIME)
        };
        assert_eq!(
            decided(REQUEST.as_bytes(), Some(&other6), TIME)
                .unwrap_err()
                .status,
            Status::Unprocessable
        );
        // A proof sent with old 0.
        let r = REQUEST.replacen("old 6", "old 0", 1);
        let e = decided(r.as_bytes(), None, TIME).unwrap_err();
        assert_eq!(e.status, Status::Unprocessable);
        assert!(e.reason.contains("size 0"), "{}", e.reason);
        // The same size with another root.
        let forked8 = Cosigned {
            size: 8,
            root: Digest::leaf(b"fork"),
            time: TIME,
        };
        let e = decided(&request(8, 8), Some(&forked8), TIME).unwrap_err();
        assert_eq!(e.status, Status::Unprocessable);
        assert!(e.reason.contains("another root"), "{}", e.reason);
        // Size 0 without the empty root (signed by the log).
        let note = checkpoint::sign(ORIGIN, 0, Digest::leaf(b""), &key(LOG_SEED)).unwrap();
        let r = AddCheckpoint {
            old: 0,
            proof: vec![],
            checkpoint: note.into_bytes(),
        };
        let e = decided(&r.to_bytes(), None, TIME).unwrap_err();
        assert_eq!(e.status, Status::Unprocessable);
        // A proof of the wrong length (one hash short).
        let r = REQUEST.replacen("037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=\n", "", 1);
        assert_eq!(
            decided(r.as_bytes(), Some(&at6(TIME)), TIME)
                .unwrap_err()
                .status,
            Status::Unprocessable
        );
        // Equal sizes with a (needless) proof.
        let at8 = Cosigned {
            size: 8,
            root: Digest::from_hex(ROOT8).unwrap(),
            time: TIME,
        };
        let mut r = AddCheckpoint::parse(&request(8, 8)).unwrap();
        r.proof.push(Digest::leaf(b"x"));
        assert_eq!(
            decided(&r.to_bytes(), Some(&at8), TIME).unwrap_err().status,
            Status::Unprocessable
        );
    }

    /// The note a witness stores for `leaves[..size]`: the log-signed note and a cosignature.
    fn stored(leaves: &[Digest], size: u64) -> String {
        let root = merkle::root_of_leaves(&leaves[..size as usize]);
        let note = checkpoint::sign(ORIGIN, size, root, &key(LOG_SEED)).unwrap();
        let body = split_note(note.as_bytes()).unwrap().body;
        let line =
            cosignature::cosign(body.as_bytes(), WITNESS_NAME, &key(WITNESS_SEED), TIME).unwrap();
        format!("{note}{line}")
    }

    /// A request from `old` to `leaves[..size]`, with the proof in that tree.
    fn request_in(leaves: &[Digest], old: u64, size: u64) -> Checked {
        let mem = merkle::MemoryHashes::from_leaves(&leaves[..size as usize]);
        let proof = if old == 0 || old == size {
            Vec::new()
        } else {
            merkle::prove_consistency(old, size, &mem).unwrap()
        };
        let note = checkpoint::sign(ORIGIN, size, mem.root(), &key(LOG_SEED)).unwrap();
        let r = AddCheckpoint {
            old,
            proof,
            checkpoint: note.into_bytes(),
        };
        check(&logs(), &r.to_bytes()).unwrap()
    }

    /// `n` more valid signature lines of the log key over the body of `note`, each different:
    /// Ed25519 takes any nonce, so a hostile log can sign one body as often as it likes
    /// (made here with ed25519-dalek's hazmat signer and other nonce prefixes).
    fn resigned(note: &str, n: u8) -> String {
        use ed25519_dalek::hazmat::{raw_sign, ExpandedSecretKey};
        let sk = key(LOG_SEED);
        let parsed = split_note(note.as_bytes()).unwrap();
        let first = B64
            .decode(parsed.lines[0].text.rsplit(' ').next().unwrap())
            .unwrap();
        let mut out = note.to_owned();
        for i in 0..n {
            let mut esk = ExpandedSecretKey::from(&sk.to_bytes());
            esk.hash_prefix[0] ^= i + 1;
            let sig = raw_sign::<sha2::Sha512>(&esk, parsed.body.as_bytes(), &sk.verifying_key());
            let line = [&first[..4], &sig.to_bytes()[..]].concat();
            out.push_str(&format!("— {ORIGIN} {}\n", B64.encode(line)));
        }
        out
    }

    #[test]
    fn a_body_signed_a_hundred_times_is_kept_with_one_line_and_its_state_reopens() {
        let l = leaves();
        let note =
            checkpoint::sign(ORIGIN, 6, merkle::root_of_leaves(&l[..6]), &key(LOG_SEED)).unwrap();
        let many = resigned(&note, 99);
        assert_eq!(split_note(many.as_bytes()).unwrap().lines.len(), 100);
        let r = AddCheckpoint {
            old: 0,
            proof: vec![],
            checkpoint: many.into_bytes(),
        };
        let c = check(&logs(), &r.to_bytes()).unwrap();
        assert_eq!(c.log_lines.len(), 1, "one line per configured key is kept");
        let a = decide(c, None, TIME).unwrap();
        let line = a.cosign(WITNESS_NAME, &key(WITNESS_SEED)).unwrap();
        let stored = a.stored_note(&line).unwrap();
        // What the state keeps opens again: the log's line and the witness's.
        assert_eq!(split_note(stored.as_bytes()).unwrap().lines.len(), 2);
        assert!(checkpoint::open(stored.as_bytes(), &logs().keys(ORIGIN).unwrap()[0]).is_ok());
    }

    #[test]
    fn fork_evidence_names_one_line_of_the_log_however_often_it_signed() {
        let l = leaves();
        let mut forked = l.clone();
        forked[5] = Digest::leaf(b"rewritten 5");
        let a6 = stored(&l, 6);
        let plain = request_in(&forked, 6, 6);
        let note = checkpoint::sign(
            ORIGIN,
            6,
            merkle::root_of_leaves(&forked[..6]),
            &key(LOG_SEED),
        )
        .unwrap();
        let r = AddCheckpoint {
            old: 6,
            proof: vec![],
            checkpoint: resigned(&note, 3).into_bytes(),
        };
        let noisy = check(&logs(), &r.to_bytes()).unwrap();
        assert_eq!(
            fork_evidence(&logs(), &noisy, Some(&a6)).unwrap(),
            fork_evidence(&logs(), &plain, Some(&a6)).unwrap(),
            "the same fork re-sent with other signature lines is the same evidence"
        );
        // A size-0 checkpoint with another root is malformed, not a fork.
        let zero = checkpoint::sign(ORIGIN, 0, Digest::leaf(b""), &key(LOG_SEED)).unwrap();
        let r = AddCheckpoint {
            old: 0,
            proof: vec![],
            checkpoint: zero.into_bytes(),
        };
        let c = check(&logs(), &r.to_bytes()).unwrap();
        let s0 = stored(&l, 0);
        assert_eq!(
            fork_evidence(&logs(), &c, Some(&s0)),
            Err(NoForkEvidence::EmptyTree)
        );
    }

    #[test]
    fn a_signed_contradiction_becomes_fork_evidence_and_nothing_else_does() {
        let l = leaves();
        let mut forked = l.clone();
        forked[5] = Digest::leaf(b"rewritten 5");
        let v = checkpoint::parse_vkey(LOG_VKEY).unwrap();
        let a6 = stored(&l, 6);
        // The same size with another root: no proof needed.
        let c = request_in(&forked, 6, 6);
        let e = fork_evidence(&logs(), &c, Some(&a6)).unwrap();
        let f = fork::verify(&e, &v).unwrap();
        assert_eq!(f.verdict, fork::Verdict::Fork);
        assert_eq!(
            (f.a.note(), f.b.note()),
            (a6.as_str(), c.log_note().as_str())
        );
        // A larger tree whose proof from 6 is valid in its own tree: P is its prefix at 6.
        let c = request_in(&forked, 6, 8);
        let e = fork_evidence(&logs(), &c, Some(&a6)).unwrap();
        let f = fork::verify(&e, &v).unwrap();
        assert_eq!(f.verdict, fork::Verdict::Fork);
        assert_eq!(f.prefix_root, merkle::root_of_leaves(&forked[..6]));
        assert_eq!((f.a.size(), f.b.size(), f.proof_len), (6, 8, c.proof.len()));
        // The same, with a proof hash changed: a bad proof proves nothing.
        let mut bad = c.clone();
        bad.proof[0] = Digest::leaf(b"x");
        assert_eq!(
            fork_evidence(&logs(), &bad, Some(&a6)),
            Err(NoForkEvidence::BadProof)
        );
        // From a power of two the proof does not carry the log's root there.
        let c = request_in(&forked, 4, 8);
        let mut forked4 = l.clone();
        forked4[1] = Digest::leaf(b"rewritten 1");
        let c4 = request_in(&forked4, 4, 8);
        assert_eq!(
            fork_evidence(&logs(), &c4, Some(&stored(&l, 4))),
            Err(NoForkEvidence::PowerOfTwo(4))
        );
        // Consistent pairs, the same checkpoint again, other sizes: nothing.
        assert_eq!(
            fork_evidence(&logs(), &c, Some(&stored(&l, 4))),
            Err(NoForkEvidence::Consistent)
        );
        assert_eq!(
            fork_evidence(&logs(), &request_in(&l, 6, 6), Some(&a6)),
            Err(NoForkEvidence::Consistent)
        );
        assert_eq!(
            fork_evidence(&logs(), &request_in(&l, 6, 8), Some(&a6)),
            Err(NoForkEvidence::Consistent)
        );
        assert_eq!(
            fork_evidence(&logs(), &request_in(&forked, 0, 8), Some(&a6)),
            Err(NoForkEvidence::OtherOld { old: 0, stored: 6 })
        );
        assert_eq!(
            fork_evidence(&logs(), &request_in(&forked, 0, 5), Some(&a6)),
            Err(NoForkEvidence::Smaller)
        );
        assert_eq!(
            fork_evidence(&logs(), &request_in(&forked, 0, 6), None),
            Err(NoForkEvidence::NothingStored)
        );
        // A stored note without the log's line is no evidence against the log.
        let body_only = {
            let n = split_note(a6.as_bytes()).unwrap();
            format!("{}\n{}\n", n.body, n.lines.last().unwrap().text)
        };
        assert_eq!(
            fork_evidence(&logs(), &request_in(&forked, 6, 6), Some(&body_only)),
            Err(NoForkEvidence::NoCommonKey)
        );
    }

    #[test]
    fn consistent_checkpoints_are_cosigned_at_every_step() {
        let w = key(WITNESS_SEED);
        let wv = CosignatureVerifier::new(WITNESS_NAME, w.verifying_key()).unwrap();
        let mut last: Option<Cosigned> = None;
        // 0 -> 0 (the empty tree), then every size up to 8, then 8 again (same root).
        for (t, size) in (TIME..).zip([0u64, 0, 1, 2, 3, 5, 8, 8]) {
            let old = last.map_or(0, |l| l.size);
            let a = decided(&request(old, size), last.as_ref(), t).unwrap();
            let line = a.cosign(WITNESS_NAME, &w).unwrap();
            let note = split_note(a.stored_note(&line).unwrap().as_bytes()).unwrap();
            assert_eq!(
                note.cosignatures(std::slice::from_ref(&wv)).times,
                vec![Some(t)]
            );
            assert_eq!(a.next().size, size);
            last = Some(a.next());
        }
        assert_eq!(last.unwrap().root, Digest::from_hex(ROOT8).unwrap());
    }

    #[test]
    fn the_clock_never_goes_back_behind_a_cosignature() {
        // Equal to the last time: fine.
        assert!(decided(REQUEST.as_bytes(), Some(&at6(TIME)), TIME).is_ok());
        // Three seconds behind: 503 with Retry-After.
        let e = decided(REQUEST.as_bytes(), Some(&at6(TIME + 3)), TIME).unwrap_err();
        assert_eq!((e.status.code(), e.retry_after), (503, Some(3)));
        // An hour behind: 503 without (an operator must look).
        let e = decided(REQUEST.as_bytes(), Some(&at6(TIME + 3600)), TIME).unwrap_err();
        assert_eq!((e.status, e.retry_after), (Status::Unavailable, None));
        // A clock at 0 or past 2^63 - 1.
        for now in [0, MAX_TIME + 1] {
            assert_eq!(
                decided(REQUEST.as_bytes(), Some(&at6(0)), now)
                    .unwrap_err()
                    .status,
                Status::Unavailable
            );
        }
        assert!(decided(REQUEST.as_bytes(), Some(&at6(0)), MAX_TIME).is_ok());
    }

    #[test]
    fn huge_sizes_never_panic() {
        let k = key(LOG_SEED);
        for (old, size) in [
            (0, u64::MAX),
            (u64::MAX - 1, u64::MAX),
            (MAX_TREE_SIZE, MAX_TREE_SIZE),
            (MAX_TREE_SIZE - 1, MAX_TREE_SIZE),
            (1, MAX_TREE_SIZE),
        ] {
            let note = checkpoint::sign(ORIGIN, size, Digest::leaf(b"r"), &k).unwrap();
            let r = AddCheckpoint {
                old,
                proof: vec![Digest::leaf(b"p"); 63],
                checkpoint: note.into_bytes(),
            };
            let last = Cosigned {
                size: old,
                root: Digest::leaf(b"q"),
                time: 1,
            };
            match check(&logs(), &r.to_bytes()) {
                Ok(c) => assert!(decide(c, Some(&last), 2).is_err()),
                Err(e) => assert_eq!(e.status, Status::BadRequest),
            }
        }
    }

    #[test]
    fn a_huge_note_is_not_stored() {
        let ext = format!("{}\n", "e".repeat(200)).repeat(90);
        let k = key(LOG_SEED);
        let body = format!("{ORIGIN}\n3\n{}\n{ext}", B64.encode(Digest::leaf(b"r").0));
        let signer = checkpoint::NoteSigner::new(ORIGIN, &k).unwrap();
        let mut n = signed_note::Note::new(body.as_bytes(), &[]).unwrap();
        n.add_sigs(&[&signer]).unwrap();
        let r = AddCheckpoint {
            old: 0,
            proof: vec![],
            checkpoint: n.to_bytes(),
        };
        let a = decided(&r.to_bytes(), None, TIME).unwrap();
        let line = a.cosign(WITNESS_NAME, &key(WITNESS_SEED)).unwrap();
        assert_eq!(a.stored_note(&line).unwrap_err().status, Status::BadRequest);
    }

    #[test]
    fn logs_files_are_parsed_strictly() {
        assert!(matches!(
            Logs::parse(b"# nothing\n\n"),
            Err(LogsError::Empty)
        ));
        assert!(matches!(
            Logs::parse(format!("{LOG_VKEY}\n{LOG_VKEY}\n").as_bytes()),
            Err(LogsError::Duplicate { line: 2 })
        ));
        let e = Logs::parse(format!("# a\n{LOG_VKEY} trailing\n").as_bytes()).unwrap_err();
        assert!(matches!(e, LogsError::Vkey { line: 2, .. }), "{e}");
        // A witness (type 0x04) key is not a log key.
        let wv = CosignatureVerifier::new(WITNESS_NAME, key(WITNESS_SEED).verifying_key()).unwrap();
        assert!(matches!(
            Logs::parse(wv.to_vkey().as_bytes()),
            Err(LogsError::Vkey { line: 1, .. })
        ));
        assert!(matches!(
            Logs::parse(&[0xff, 0xfe]),
            Err(LogsError::NotText)
        ));
        assert!(matches!(
            Logs::parse(&vec![b'#'; MAX_LOGS_FILE_BYTES + 1]),
            Err(LogsError::TooLarge(_))
        ));
        let many: String = (0..=MAX_KEYS_PER_LOG as u8)
            .map(|i| {
                let k = SigningKey::from_bytes(&[i + 1; 32]);
                format!(
                    "{}\n",
                    checkpoint::vkey(ORIGIN, &k.verifying_key()).unwrap()
                )
            })
            .collect();
        assert!(matches!(
            Logs::parse(many.as_bytes()),
            Err(LogsError::Bound(_))
        ));
        let logs = logs();
        assert_eq!(logs.origins().collect::<Vec<_>>(), vec![ORIGIN]);
        assert!(!logs.is_empty());
    }

    #[test]
    fn refusals_render_as_tlog_witness_bodies() {
        let e = decided(&request(0, 3), Some(&at6(TIME)), TIME).unwrap_err();
        assert_eq!(e.to_string(), format!("409 Conflict: {}", e.reason));
        let e = check(&logs(), b"nonsense").unwrap_err();
        assert_eq!(e.content_type(), "text/plain; charset=utf-8");
        assert!(e.body().ends_with(b"\n"));
        assert_eq!(Refusal::unavailable("disk").status.code(), 503);
        let v = CosignatureVerifier::new(WITNESS_NAME, key(WITNESS_SEED).verifying_key()).unwrap();
        let a = decided(&request(0, 1), None, TIME).unwrap();
        let line = a.cosign(WITNESS_NAME, &key(WITNESS_SEED)).unwrap();
        let n = split_note(a.stored_note(&line).unwrap().as_bytes()).unwrap();
        assert!(matches!(
            v.verify(n.body.as_bytes(), n.lines.last().unwrap()),
            CosignatureLine::Valid { time: TIME }
        ));
    }
}
