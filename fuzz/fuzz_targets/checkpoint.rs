//! `checkpoint::open` (signed-note envelope + tlog-checkpoint body) on arbitrary bytes under
//! a fixed verifier key: never panics, and anything it accepts carries a signature line by
//! that key and names that key's origin.
#![no_main]

use custody_core::checkpoint;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The verifier key of tests/vectors/example.tlog-proof's checkpoint.
const VKEY: &str =
    "example.com/evidence-ledger-test+0051744f+AczXONUCJ9wNmQ2x5/usUQuQRlvVihJCqsjrYJK42AOl";

fn verifier() -> &'static checkpoint::StrictVerifier {
    static V: OnceLock<checkpoint::StrictVerifier> = OnceLock::new();
    V.get_or_init(|| checkpoint::parse_vkey(VKEY).expect("the fixed vkey parses"))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(cp) = checkpoint::open(data, verifier()) {
        assert_eq!(cp.origin(), verifier().name());
        assert_eq!(cp.note().as_bytes(), data);
    }
});
