//! custody: a signed, append-only chain of custody for human-rights evidence.
#![forbid(unsafe_code)]

pub mod checkpoint;
pub mod hash;
pub mod merkle;
