//! `bundle::verify` (proof bundles, docs/PROOFS.md) on arbitrary bytes, trusting the sample
//! ledger's operator key: never panics, and whatever verifies is checked against that key.
#![no_main]

use custody_core::checkpoint::{self, StrictVerifier};
use custody_core::bundle;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The sample ledger's log key (ledger/, keys/operator.pub).
const VKEY: &str =
    "example.org/nk-repatriation+b0d31404+AbqdR/ALRPZ/gaRlTeM+u12l3yrFHmL7x7vlL8PAqDOp";

fn trusted() -> &'static StrictVerifier {
    static V: OnceLock<StrictVerifier> = OnceLock::new();
    V.get_or_init(|| checkpoint::parse_vkey(VKEY).expect("the fixed vkey parses"))
}

fuzz_target!(|data: &[u8]| {
    let _ = bundle::verify(data, trusted(), None);
});
