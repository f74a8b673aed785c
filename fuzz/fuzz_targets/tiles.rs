//! The client side of C2SP tlog-tiles on arbitrary bytes (docs/PUBLISHING.md), as a hostile
//! static host serves them. The first byte picks what is fed:
//!
//! - 0: `TileId::from_path`: what parses is the canonical path of itself;
//! - 1: `tiles::decode_bundle` of an entry bundle of width 1 + the second byte: what decodes
//!   encodes back to the input;
//! - otherwise: a `PublishedTree` of a real 1,000-leaf tree whose tiles come from the input
//!   (each tile either the true one or input bytes, as the input says): whatever it returns (a
//!   consistency proof, a prefix root, leaf hashes) is the true value. A hostile host can make
//!   a read fail, never make it return a false hash.
#![no_main]

use custody_core::hash::Digest;
use custody_core::merkle::{self, MemoryHashes};
use custody_core::tiles::{self, PublishedTree, TileId, TileSource};
use libfuzzer_sys::fuzz_target;
use std::cell::Cell;
use std::sync::OnceLock;

const N: u64 = 1_000;

fn tree() -> &'static MemoryHashes {
    static T: OnceLock<MemoryHashes> = OnceLock::new();
    T.get_or_init(|| {
        let leaves: Vec<Digest> = (0..N).map(|i| Digest::leaf(&i.to_be_bytes())).collect();
        MemoryHashes::from_leaves(&leaves)
    })
}

/// Serves the true tile, or the next bytes of the input, as the input's control bytes say.
struct Hostile<'a> {
    data: &'a [u8],
    at: Cell<usize>,
}

impl Hostile<'_> {
    fn take(&self, n: usize) -> &[u8] {
        let at = self.at.get().min(self.data.len());
        let end = at.saturating_add(n).min(self.data.len());
        self.at.set(end);
        &self.data[at..end]
    }
}

impl TileSource for Hostile<'_> {
    fn fetch(&self, tile: TileId, max: usize) -> Result<Vec<u8>, String> {
        let control = self.take(3);
        match control.first().copied().unwrap_or(0) % 4 {
            0 => tiles::tile_data(tile, tree()).map_err(|e| e.to_string()),
            1 => Err(format!("{tile}: not found")),
            2 => {
                // The true tile with one byte changed.
                let mut t = tiles::tile_data(tile, tree()).map_err(|e| e.to_string())?;
                if let (Some(&at), Some(&x)) = (control.get(1), control.get(2)) {
                    if !t.is_empty() {
                        let i = usize::from(at) % t.len();
                        t[i] ^= x.max(1);
                    }
                }
                Ok(t)
            }
            _ => {
                let len = usize::from(control.get(1).copied().unwrap_or(0)) * 64;
                Ok(self.take(len.min(max + 1)).to_vec())
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode {
        0 => {
            if let Ok(s) = std::str::from_utf8(rest) {
                if let Ok(t) = TileId::from_path(s) {
                    assert_eq!(t.path(), s);
                }
            }
        }
        1 => {
            let Some((&w, bytes)) = rest.split_first() else {
                return;
            };
            let tile = TileId::entries(7, u32::from(w) + 1).expect("width 1..=256");
            if let Ok(entries) = tiles::decode_bundle(tile, bytes) {
                assert_eq!(entries.len(), usize::from(w) + 1);
                assert_eq!(tiles::encode_bundle(tile, &entries).unwrap(), bytes);
            }
        }
        _ => {
            let Some((&pick, rest)) = rest.split_first() else {
                return;
            };
            let t = tree();
            let source = Hostile { data: rest, at: Cell::new(0) };
            let published = PublishedTree::new(N, t.root(), &source).expect("a tiled size");
            let k = 1 + u64::from(pick) * 4 % (N - 1);
            match mode % 3 {
                0 => {
                    if let Ok(p) = published.consistency_proof(k) {
                        assert_eq!(p, merkle::prove_consistency(k, N, t).unwrap());
                    }
                }
                1 => {
                    if let Ok(r) = published.root_at(k) {
                        assert_eq!(r, merkle::tree_root(k, t).unwrap());
                    }
                }
                _ => {
                    let end = (k + u64::from(mode)).min(N);
                    if let Ok(h) = published.leaf_hashes(k, end) {
                        let want: Vec<Digest> =
                            (k..end).map(|i| Digest::leaf(&i.to_be_bytes())).collect();
                        assert_eq!(h, want);
                    }
                }
            }
        }
    }
});
