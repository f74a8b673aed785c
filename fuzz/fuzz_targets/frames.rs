//! `FrameReader` over an arbitrary entries-file body: reads frames until End, Torn or
//! BadLength without panicking; every frame it returns lies inside the input, and offsets
//! only move forward.
#![no_main]

use custody_store::frames::{FrameReader, Next};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut reader = FrameReader::new(data, 0);
    loop {
        let before = reader.offset();
        match reader.next_frame().expect("reading a slice never fails") {
            Next::Frame(f) => {
                assert_eq!(f.offset, before);
                assert!(!f.bytes.is_empty());
                assert!(f.end() <= data.len() as u64);
                assert_eq!(reader.offset(), f.end());
            }
            Next::End => {
                assert_eq!(before, data.len() as u64);
                break;
            }
            Next::Torn { offset, bytes } => {
                assert_eq!(offset + bytes, data.len() as u64);
                break;
            }
            Next::BadLength { offset, .. } => {
                assert_eq!(offset, before);
                break;
            }
        }
    }
});
