//! `Submission::from_file_bytes` (`.cust` files) on arbitrary bytes: never panics; whatever
//! parses writes back to exactly the input.
#![no_main]

use custody_core::entry::Submission;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sub) = Submission::from_file_bytes(data) {
        let again = sub.to_file_bytes().expect("a parsed submission re-encodes");
        assert_eq!(
            again, data,
            "parsed submission did not re-encode to its input"
        );
    }
});
