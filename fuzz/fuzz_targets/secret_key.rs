//! `SecretKey::from_file_text` on arbitrary text: never panics. The passphrase callback
//! fails, so an encrypted key never reaches scrypt (the fuzzer stays fast and the target
//! still covers the file format up to decryption).
#![no_main]

use custody_core::keys::{KeyError, SecretKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = SecretKey::from_file_text(text, |_| {
        Err(KeyError::Passphrase("no passphrase while fuzzing".into()))
    });
    if let Ok(k) = parsed {
        // Only the plain format parses here; it writes back line for line.
        let again = k.to_file_text(None).expect("plain key file");
        assert!(again.lines().eq(text.lines()), "parsed key file differs");
    }
});
