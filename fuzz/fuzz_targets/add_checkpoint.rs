//! `AddCheckpoint::parse` (the tlog-witness request body) on arbitrary bytes: never panics,
//! never reads past its bound, and what it accepts is canonical (re-encodes to the input).
#![no_main]

use custody_core::add_checkpoint::{AddCheckpoint, MAX_PROOF_LINES, MAX_REQUEST_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = AddCheckpoint::parse(data) {
        assert!(data.len() <= MAX_REQUEST_BYTES);
        assert!(r.proof.len() <= MAX_PROOF_LINES);
        assert!(!r.checkpoint.is_empty());
        assert_eq!(r.to_bytes(), data, "accepted bodies are canonical");
    }
});
