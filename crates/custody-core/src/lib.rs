//! custody-core: the pure heart of custody, a signed, append-only chain of custody for
//! human-rights evidence.
//!
//! Researchers sign *submissions* (sources, informants, claims, figures, corrections) with
//! Ed25519; a ledger sequences them into *entries*, each chained to the one before and all
//! forming an RFC 6962 Merkle tree whose roots the operator signs as C2SP checkpoints.
//!
//! This crate never touches a file, the clock, the network or the OS random source: bytes,
//! times and randomness are passed in (`clippy.toml` in this crate refuses the calls). Reading
//! and writing a ledger directory is `custody-store`'s; printing is the `custody` binary's.
//!
//! Where each rule lives:
//! - [`hash`]: the `Digest` newtype and every domain-separation constant.
//! - [`codec`]: the only place values become signed or hashed bytes (bincode 2.0.1, pinned).
//! - [`entry`]: submissions, entries, bodies, signed bytes.
//! - [`keys`]: key file formats, key ids, strict verification; [`sign`]: the signer trait.
//! - [`seal`]: informant commitments, their openings and seal files.
//! - [`rules`]: admission (who may sign what, citations, sums), text fields, valuation.
//! - [`explain`]: a claim's or figure's standing and the tree beneath it (every report's walk).
//! - [`replay`]: the checks each entry passes in order, wherever it is read from.
//! - [`merkle`], [`checkpoint`]: RFC 6962 proofs, C2SP checkpoints and tlog-proof.
//! - [`cosignature`]: C2SP tlog-cosignature v1 (witness signatures over checkpoints);
//!   [`add_checkpoint`]: the tlog-witness request body; [`witness`]: whether a witness
//!   cosigns it (the pure decision; custody-witness keeps the state and serves HTTP).
//! - [`fork`]: fork evidence, two checkpoints of one log key that no append-only log explains.
//! - [`tiles`]: C2SP tlog-tiles paths, entry bundles, tiles checked against a checkpoint.
//! - [`cosigning`]: what a witness's add-checkpoint answer means (the log's side).
//! - [`policy`]: witness policies (sigsum's format with C2SP vkeys) and their quorums.
//! - [`bundle`]: proof bundles, built from entries and verified to a `VerifiedBundle`.
//! - [`timestamp`]: RFC 3161 time-stamp tokens over checkpoints (requests, verification).
//! - [`completeness`]: the state tree a state commitment signs, and a bundle's proofs against it.
//! - [`json`]: the one JSON model of every output (docs/JSON.md); [`import`]: JSONL input.
#![forbid(unsafe_code)]

pub mod add_checkpoint;
pub mod bundle;
pub mod checkpoint;
pub mod codec;
pub mod completeness;
pub mod cosignature;
pub mod cosigning;
pub mod entry;
pub mod explain;
pub mod fork;
pub mod hash;
pub mod import;
pub mod json;
pub mod keys;
pub mod merkle;
pub mod policy;
pub mod replay;
pub mod rules;
pub mod seal;
pub mod sign;
pub mod tiles;
pub mod timestamp;
pub mod witness;
