//! `verify::verify_ledger` on a ledger directory whose entries file is the file magic followed
//! by arbitrary bytes: the whole replay (frames, decoding, chain, signatures, evidence rules,
//! Merkle root) never panics. Each process rewrites one file in its own temporary directory.
#![no_main]

use custody_store::frames::FILE_MAGIC;
use custody_store::replay::{verify_ledger, Options};
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

fn dir() -> &'static PathBuf {
    static D: OnceLock<PathBuf> = OnceLock::new();
    D.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("custody-fuzz-ledger-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("temporary ledger directory");
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let mut file = FILE_MAGIC.to_vec();
    file.extend_from_slice(data);
    std::fs::write(dir().join(custody_store::ENTRIES), &file).expect("write entries");
    let _ = verify_ledger(dir(), &Options::default(), &|_| {});
});
