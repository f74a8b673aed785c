//! custody: a signed, append-only chain of custody for human-rights evidence.
//!
//! Researchers sign *submissions* (sources, informants, claims, figures, corrections) with
//! Ed25519; a ledger sequences them into *entries*, each chained to the one before and all forming
//! an RFC 6962 Merkle tree whose roots the operator signs as C2SP checkpoints. Auditors replay
//! the chain ([`verify`]); lawyers carry proofs of single entries or figures.
//!
//! Which module for which job:
//! - [`hash`]: the `Digest` newtype and every domain-separation constant.
//! - [`codec`]: the only place values become signed or hashed bytes (bincode 2.0.1, pinned).
//! - [`entry`]: submissions, entries, bodies, signed bytes.
//! - [`keys`]: key files, key ids, passphrase protection, strict verification.
//! - [`evidence`]: the rules (grants, citations, figure arithmetic) shared by append and verify.
//! - [`seal`]: informant commitments and their openings.
//! - [`merkle`], [`checkpoint`]: RFC 6962 proofs and C2SP checkpoints (pure).
//! - [`proof`]: proof bundles of an entry or figure, checked offline against one checkpoint.
//! - [`store`]: the ledger directory (the only code that touches it).
//! - [`verify`]: the replay.
#![forbid(unsafe_code)]

pub mod checkpoint;
pub mod codec;
pub mod entry;
pub mod evidence;
pub mod hash;
pub mod keys;
pub mod merkle;
pub mod proof;
pub mod seal;
pub mod store;
pub mod verify;
