//! `Entry::from_bytes` on arbitrary bytes: never panics, and whatever decodes re-encodes to
//! exactly the input (the canonical-encoding rule), and its signed message slices cleanly.
#![no_main]

use custody_core::entry::{signed_message_of, Entry};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entry) = Entry::from_bytes(data) {
        let again = entry.to_bytes().expect("a decoded entry re-encodes");
        assert_eq!(again, data, "decoded entry did not re-encode to its input");
        let msg = signed_message_of(data).expect("a decoded entry has a signed message");
        assert_eq!(
            msg,
            entry.content.signed_bytes().expect("content re-encodes")
        );
    }
});
