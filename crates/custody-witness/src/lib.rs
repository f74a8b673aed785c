//! custody-witness: custody as a C2SP tlog-witness (<https://c2sp.org/tlog-witness>).
//!
//! A witness cosigns a log's checkpoint only if it is consistent with every checkpoint of
//! that log it cosigned before, so a log operator who shows two histories to two readers is
//! caught by the first witness that sees both. The rule itself is custody-core's
//! ([`custody_core::witness`]: pure, on bytes); this crate gives it what a rule cannot have:
//!
//! - [`state`]: the state directory (the last cosigned size, root and time per log),
//!   locked against a second process, every commit atomic and fsynced before a cosignature
//!   is released, planted or damaged files refused;
//! - [`service`]: the [`Witness`]: per-log serialisation, group commit, the clock;
//! - [`http`]: the HTTP endpoints with bounded sizes, timeouts and connections.
//!
//! It depends on custody-core alone and never touches a ledger directory. The protocol,
//! the state format and the durability promise are specified in `docs/WITNESS.md`.
#![forbid(unsafe_code)]

pub mod http;
pub mod service;
pub mod state;

pub use service::{system_clock, Cosignature, Event, Witness};
pub use state::{StateDir, StateError};
