//! `cosignature::split_note` and `SplitNote::cosignatures` on arbitrary bytes under a fixed
//! witness key: never panics; anything split re-encodes to the same bytes, and a cosignature
//! it counts verifies over the note's body at the time it reports.
#![no_main]

use custody_core::cosignature::{self, CosignatureLine, CosignatureVerifier};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The witness vkey of ../shared/vectors/checkpoint-cosignature-derived.json.
const VKEY: &str = "example.com/test-witness+6b518f3a+BBhsIHEm6gDk5x1QqTVhBFi+wkDGsUb+wGu78wY2Nexr";

fn witness() -> &'static CosignatureVerifier {
    static V: OnceLock<CosignatureVerifier> = OnceLock::new();
    V.get_or_init(|| cosignature::parse_vkey(VKEY).expect("the fixed vkey parses"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(note) = cosignature::split_note(data) else {
        return;
    };
    assert_eq!(note.to_text().as_bytes(), data, "split then joined is the input");
    let found = note.cosignatures(std::slice::from_ref(witness()));
    if let Some(time) = found.times[0] {
        assert!(note.lines.iter().any(|l| witness().verify(note.body.as_bytes(), l)
            == CosignatureLine::Valid { time }));
    }
});
