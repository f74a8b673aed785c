//! `checkpoint::parse_tlog_proof` on arbitrary bytes: never panics; whatever parses formats
//! back to exactly the input, and verifying it against a fixed key never panics either.
#![no_main]

use custody_core::checkpoint;
use custody_core::hash::Digest;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const VKEY: &str =
    "example.com/evidence-ledger-test+0051744f+AczXONUCJ9wNmQ2x5/usUQuQRlvVihJCqsjrYJK42AOl";

fn verifier() -> &'static checkpoint::StrictVerifier {
    static V: OnceLock<checkpoint::StrictVerifier> = OnceLock::new();
    V.get_or_init(|| checkpoint::parse_vkey(VKEY).expect("the fixed vkey parses"))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = checkpoint::parse_tlog_proof(data) {
        assert_eq!(p.to_text().as_bytes(), data, "not canonical");
        // Any leaf: exercises the Merkle checks on hostile index, size and proof lengths.
        let _ = p.verify(Digest::ZERO, verifier());
    }
});
