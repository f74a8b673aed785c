//! The store's errors: each says which file or entry, and whether the evidence is at fault
//! ([`StoreError::is_evidence`]) or the input, the usage or the machine.

use custody_core::codec::CodecError;
use custody_core::keys::KeyError;
use custody_core::merkle::MerkleError;
use custody_core::rules::text::count;
use custody_core::rules::{LookupError, RuleError};
use std::io;

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The directory holds no ledger.
    #[error("{0} is not a custody ledger (no entries file); create one with `custody init`")]
    NotALedger(String),
    /// `init` on a directory that already holds something.
    #[error("{0} already exists and is not empty; choose another directory (custody never overwrites a ledger)")]
    AlreadyExists(String),
    /// A file custody would create already exists.
    #[error("{0} already exists; custody never overwrites a file (move it away first)")]
    Exists(String),
    /// An I/O failure.
    #[error("{path}: {source}")]
    Io {
        /// What was being read or written.
        path: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A file is larger than what it is meant to be can be.
    #[error("{path} is too large to be {what}")]
    TooLarge {
        /// The file.
        path: String,
        /// What it was meant to be ("a submission").
        what: &'static str,
        /// The bound, in bytes.
        max: u64,
    },
    /// A key file is wrong, or its passphrase.
    #[error("{path}: {source}")]
    Key {
        /// The key file.
        path: String,
        /// What is wrong.
        #[source]
        source: KeyError,
    },
    /// A seal or opening file is wrong.
    #[error("{path}: {reason}")]
    Seal {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A submission file is not a submission.
    #[error("{path} is not a valid submission: {source}")]
    Submission {
        /// The file.
        path: String,
        /// What is wrong.
        #[source]
        source: CodecError,
    },
    /// The entries file ends in a torn write.
    #[error("entries file ends in a torn write after entry {after} ({bytes} bytes at offset {offset}); run `custody repair` to cut it off")]
    Torn {
        /// The last whole entry, as a display string ("none" for an empty log).
        after: String,
        /// Where the torn bytes start.
        offset: u64,
        /// How many there are.
        bytes: u64,
    },
    /// The entries file no longer holds the history this machine verified (its caches say
    /// otherwise): it was rewritten, truncated or replaced.
    #[error("the entries file no longer holds the history this machine verified before (entry {entry} differs or is gone): the ledger was rewritten, truncated or replaced; run `custody verify` on it, and only if you accept it as a different ledger delete the cache folder {cache}")]
    Rewritten {
        /// The last entry of the verified history.
        entry: u64,
        /// This ledger's cache folder.
        cache: String,
    },
    /// An entry is not what custody wrote.
    #[error("entry {entry}: {reason}")]
    Corrupt {
        /// The entry.
        entry: u64,
        /// What is wrong.
        reason: String,
    },
    /// The submission breaks a rule.
    #[error("{0}")]
    Rejected(String),
    /// A member of a batch was refused; nothing of the batch was written.
    #[error("submission {position} of the batch: {source}")]
    BatchRejected {
        /// 0-based position in the batch.
        position: usize,
        /// Why.
        source: Box<StoreError>,
    },
    /// The submission is already in the log.
    #[error("this submission is already entry {0}")]
    Duplicate(u64),
    /// A request that does not fit the ledger (a size past its end, a wrong key).
    #[error("{0}")]
    Usage(String),
    /// An encoding problem.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// A Merkle problem (bad sizes for a proof, unreadable stored hashes).
    #[error(transparent)]
    Merkle(#[from] MerkleError),
    /// The entry asked for is not in the log.
    #[error("no entry {index}: the log has {}", count(*size, "entry", "entries"))]
    NoSuchEntry {
        /// Asked for.
        index: u64,
        /// Log size.
        size: u64,
    },
}

impl StoreError {
    /// Whether the ledger's evidence is at fault (a corrupt or torn entries file, a recorded
    /// checkpoint that contradicts the log), as opposed to the input, the usage or the machine.
    #[must_use]
    pub fn is_evidence(&self) -> bool {
        matches!(
            self,
            StoreError::Corrupt { .. } | StoreError::Torn { .. } | StoreError::Rewritten { .. }
        )
    }
}

impl From<LookupError> for StoreError {
    fn from(e: LookupError) -> Self {
        match e {
            LookupError::Io { index, source } => StoreError::Io {
                path: format!("entry {index}"),
                source,
            },
            LookupError::Corrupt { index, reason } => StoreError::Corrupt {
                entry: index,
                reason,
            },
            other => StoreError::Rejected(other.to_string()),
        }
    }
}

impl From<RuleError> for StoreError {
    fn from(e: RuleError) -> Self {
        match e {
            RuleError::Lookup(l) => l.into(),
            other => StoreError::Rejected(other.to_string()),
        }
    }
}

/// The lookup error for reading entry `index` that failed with `e`.
pub(crate) fn lookup_error(index: u64, e: StoreError) -> LookupError {
    match e {
        StoreError::Io { path, source } => LookupError::Io {
            index,
            source: io::Error::new(source.kind(), format!("{path}: {source}")),
        },
        StoreError::NoSuchEntry { .. } => LookupError::Missing {
            index,
            reason: "is past the end of the log".into(),
        },
        StoreError::Corrupt { reason, .. } => LookupError::Corrupt { index, reason },
        other => LookupError::Corrupt {
            index,
            reason: other.to_string(),
        },
    }
}
