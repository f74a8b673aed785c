//! `PublicKey::from_file_text` on arbitrary text: never panics; whatever parses writes back to
//! exactly the input and is never a weak key.
#![no_main]

use custody_core::keys::PublicKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(k) = PublicKey::from_file_text(text) {
        assert!(!k.verifying_key().is_weak());
        // `lines()` also accepts CRLF and a missing final newline, so compare line by line.
        let again = k.to_file_text();
        assert!(again.lines().eq(text.lines()), "parsed key file differs");
    }
});
