//! `Opening::from_text` (informant seal openings) on arbitrary text: never panics; whatever
//! parses opens its own commitment and writes back line for line (the salt's hex is read
//! case-insensitively, so that one line is compared ignoring ASCII case).
#![no_main]

use custody_core::seal::Opening;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(o) = Opening::from_text(text) {
        assert!(o.opens(&o.commitment()));
        assert!(!o.identity.is_empty() && o.identity.len() <= custody_core::seal::MAX_IDENTITY);
        let again = o.to_text();
        assert_eq!(again.lines().count(), text.lines().count(), "extra lines");
        for (a, b) in again.lines().zip(text.lines()) {
            if a.starts_with("salt ") {
                assert!(a.eq_ignore_ascii_case(b));
            } else {
                assert_eq!(a, b);
            }
        }
    }
});
