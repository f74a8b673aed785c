//! `checkpoint::parse_vkey` on arbitrary text: never panics; whatever parses formats back to
//! exactly the input (vkeys are canonical).
#![no_main]

use custody_core::checkpoint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(v) = checkpoint::parse_vkey(text) {
        assert_eq!(
            v.to_vkey(),
            text,
            "a parsed vkey did not format to its input"
        );
    }
});
