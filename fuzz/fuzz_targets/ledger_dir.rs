//! A whole hostile ledger directory *and* a planted cache folder: arbitrary entries bytes
//! after the magic, an arbitrary recorded checkpoint, and arbitrary `state.json`, `index`,
//! `hashes` and `dedup` files where this machine's verified caches of that ledger would be.
//! Opening it (which trusts caches only if they are whole and match the entries file, and
//! verifies everything after them), reading every entry, proving inclusion and verifying must
//! never panic, hang or allocate without bound. Each process works in its own directory.
#![no_main]

use custody_store::cache::cache_dir_for;
use custody_store::frames::{read_frame_at, FILE_MAGIC};
use custody_store::replay::{verify_ledger, Options};
use custody_store::{Access, Ledger};
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

fn root() -> &'static PathBuf {
    static D: OnceLock<PathBuf> = OnceLock::new();
    D.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("custody-fuzz-dir-{}", std::process::id()));
        std::fs::create_dir_all(d.join("L/checkpoints")).expect("ledger directory");
        std::fs::create_dir_all(d.join("cache")).expect("cache directory");
        // Set before any thread exists (libFuzzer runs the target on the main thread).
        std::env::set_var("CUSTODY_CACHE_DIR", d.join("cache"));
        d
    })
}

/// Splits `data` into six parts, each prefixed by a u16 length (what is left goes last).
fn parts(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    for _ in 0..5 {
        if data.len() < 2 {
            out.push(&data[..0]);
            continue;
        }
        let n = usize::from(u16::from_le_bytes([data[0], data[1]])).min(data.len() - 2);
        out.push(&data[2..2 + n]);
        data = &data[2 + n..];
    }
    out.push(data);
    out
}

fuzz_target!(|data: &[u8]| {
    let root = root();
    let dir = root.join("L");
    let p = parts(data);
    let mut entries = FILE_MAGIC.to_vec();
    entries.extend_from_slice(p[5]);
    std::fs::write(dir.join("entries"), &entries).expect("write entries");
    std::fs::write(dir.join("checkpoints/000000000001-0000000000000000.txt"), p[0])
        .expect("write checkpoint");
    let file = std::fs::File::open(dir.join("entries")).expect("open");
    if let Ok(Some(genesis)) = read_frame_at(&file, FILE_MAGIC.len() as u64) {
        if let Some(cache) = cache_dir_for(&dir, &genesis.stored_leaf) {
            let _ = std::fs::create_dir_all(&cache);
            for (name, bytes) in [("state.json", p[1]), ("index", p[2]), ("hashes", p[3]), ("dedup", p[4])] {
                let _ = std::fs::write(cache.join(name), bytes);
            }
        }
    }
    if let Ok(l) = Ledger::open(&dir, Access::Read) {
        for i in 0..l.size().min(64) {
            let _ = l.entry_with_leaf(i);
            let _ = l.prove_inclusion(i, l.size());
        }
        let _ = l.root(l.size());
    }
    let _ = verify_ledger(&dir, &Options::default(), &|_| {});
});
