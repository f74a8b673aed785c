//! `custody_witness::state::State::decode` (the witness's state file, docs/WITNESS.md "State")
//! on arbitrary bytes, given the right checksum line (so the fuzzer reaches the records rather
//! than stopping at the checksum): never panics; what decodes is canonical, and every record
//! it keeps is this witness's valid cosignature of the recorded checkpoint.
#![no_main]

use custody_core::cosignature::{split_note, CosignatureLine};
use custody_core::hash::Digest;
use custody_witness::state::{State, MAX_STATE_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() as u64 > MAX_STATE_BYTES {
        return;
    }
    // The input is the file without its last line; the checksum line is made for it.
    let mut file = data.to_vec();
    file.extend_from_slice(format!("sha256 {}\n", Digest::of(data).to_hex()).as_bytes());
    let Ok(state) = State::decode(&file) else {
        return;
    };
    assert_eq!(state.encode(), file, "a decoded state is canonical");
    for r in state.logs.values() {
        let note = split_note(r.note.as_bytes()).expect("a kept note splits");
        let last = note.lines.last().expect("a kept note is signed");
        assert_eq!(
            state.witness.verify(note.body.as_bytes(), last),
            CosignatureLine::Valid {
                time: r.cosigned.time
            }
        );
    }
});
