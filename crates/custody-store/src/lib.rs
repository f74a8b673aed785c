//! custody-store: the only code that touches a ledger directory, and the other files custody
//! reads and writes (keys, seals, submissions, bundles, documents).
//!
//! ```text
//! ledger-dir/
//!   entries        the log: magic, then frames (see frames.rs). The only source of truth.
//!   index          derived: u64 LE offset of each entry's frame
//!   hashes         derived: RFC 6962 stored hashes in Go tlog's layout, 32 bytes each
//!   state.json     derived: keys, amendments, figures (small whatever the log's size)
//!   dedup          derived: duplicate key -> entry hash table
//!   lock           writers hold an exclusive lock on it
//!   checkpoints/   signed checkpoints, SIZE-ROOTHEX.txt (a record only gains cosignature
//!                  lines); RFC 3161 tokens
//!                  over each beside it, SIZE-ROOTHEX.TOKENHASH.tsr
//!   documents/     stored copies of source documents, named by SHA-256 hex
//! ```
//! Append is: check (core's rules), encode, write, fsync, then report; derived files are
//! updated after and rebuilt from `entries` whenever they are missing, short or disagree with
//! it. Every rule and format is custody-core's; this crate reads, writes and sequences.
//!
//! Modules: [`ledger`] (open, append, read, proofs), [`frames`], [`dedup`], [`checkpoints`],
//! [`documents`], [`timestamps`] (RFC 3161 tokens beside their checkpoints), [`replay`]
//! (verify a directory), [`export`] (a proof bundle from a directory), [`fork`] (fork evidence from a
//! ledger's tree), [`import`] (JSONL with
//! group commit), [`submissions`] (signatures checked before the writer sequences them),
//! [`publish`] (C2SP tlog-tiles in a directory), [`fetch`] and [`mirror`]
//! (`clone` and `monitor` of a published log), [`files`] (keys, seals, submissions and
//! bounded reads), [`clock`] (the time and randomness the core is given), [`error`].
#![forbid(unsafe_code)]

pub mod cache;
pub mod checkpoints;
pub mod clock;
pub mod dedup;
pub mod documents;
pub mod error;
pub mod export;
pub mod fetch;
pub mod files;
pub mod fork;
pub mod frames;
pub mod import;
pub mod ledger;
pub mod mirror;
pub mod publish;
pub mod replay;
pub mod stream;
pub mod submissions;
pub mod timestamps;

pub use error::StoreError;
pub use ledger::{
    Access, Admission, Appended, EntriesSync, Ledger, Staged, CHECKPOINTS, DOCUMENTS, ENTRIES,
};
