//! C2SP tlog-tiles: the static files a published log is read from (docs/PUBLISHING.md).
//!
//! A published log is `checkpoint`, hash tiles `tile/<L>/<N>[.p/<W>]` (256 hashes of tree level
//! `8 * L` each; `N` written `x001/x234/067`) and entry bundles `tile/entries/<N>[.p/<W>]` (the
//! entries of level-0 tile `N`, each as a big-endian `uint16` length and the entry bytes).
//!
//! This module owns the custody side of that layout and nothing else. The coordinate
//! arithmetic is `tlog_tiles`'s (Cloudflare azul's port of Go's `sumdb/tlog`): [`Tile`],
//! `Tile::new_tiles`, `Tile::path`, `Tile::from_path`, `Tile::read_data` and
//! [`TileHashReader`] are used, never re-written. What is added here:
//! - C2SP's path form (no height element, `entries` for data tiles), and bounds in front of
//!   `tlog_tiles` so that no untrusted path, size or tile makes one of its `assert!`s fire;
//! - entry bundles, encoded and decoded with every length checked and no trailing bytes;
//! - [`PublishedTree`]: reading a published tree's hashes from fetched tiles, every tile
//!   authenticated against a verified checkpoint before a hash in it is used, and, when one is
//!   not, naming the tile.
//!
//! Pure: tiles come in through [`TileSource`], implemented by the caller (custody-store reads a
//! directory or HTTP); this module opens no file and no socket.

use crate::entry::MAX_ENTRY_BYTES;
use crate::hash::Digest;
use crate::merkle::{self, HashReader, MerkleError, TlogError};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use tlog_tiles::{Hash, Tile, TileHashReader, TileReader};

/// Tile height: each tile spans 8 tree levels, 256 hashes (C2SP tlog-tiles).
pub const TILE_HEIGHT: u8 = 8;
/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u32 = 256;
/// Bytes of a full hash tile: 256 hashes of 32 bytes.
pub const FULL_TILE_BYTES: usize = 256 * 32;
/// The largest entry bundle: 256 entries of the largest size, each with its 2-byte length.
pub const MAX_BUNDLE_BYTES: usize = 256 * (2 + MAX_ENTRY_BYTES);
/// Trees are tiled up to this size (2^56 leaves): `Tile::new_tiles` shifts the size by
/// `8 * level` for every level it visits, which would overflow past 2^56. No log comes near.
pub const MAX_TILED_SIZE: u64 = 1 << 56;
/// The longest tile path custody parses (the longest valid one, `tile/63/` followed by seven
/// 4-byte elements, a 3-digit last element and `.p/255`, is 42 bytes).
const MAX_PATH_LEN: usize = 64;

/// What is wrong with a tile coordinate, a tile's bytes, or reading one.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TileError {
    /// Not a C2SP tlog-tiles path in canonical form.
    #[error("{0:?} is not a tlog-tiles path (tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>], N as x001/x234/067)")]
    BadPath(String),
    /// A coordinate outside what a tile can be (level past 63, width 0 or past 256).
    #[error("no tile has level {level}, width {width}")]
    BadCoordinates {
        /// The level asked for.
        level: u8,
        /// The width asked for.
        width: u32,
    },
    /// A tree too large to tile (past [`MAX_TILED_SIZE`]), or sizes in the wrong order.
    #[error("cannot tile a tree from size {old} to size {new}")]
    BadSizes {
        /// The old size.
        old: u64,
        /// The new size.
        new: u64,
    },
    /// A tile's bytes are wrong: its length, its bundle encoding, or its hashes. Names the tile.
    #[error("{tile}: {reason}")]
    Bad {
        /// The tile's path.
        tile: String,
        /// What is wrong.
        reason: String,
    },
    /// Several tiles that together must give the checkpoint root do not: one of them is wrong.
    #[error("tiles {tiles} do not hash to the checkpoint's root: one of them is wrong")]
    BadTop {
        /// The tiles' paths, comma-separated.
        tiles: String,
    },
    /// A tile could not be read from its source (the source's own message).
    #[error("{0}")]
    Fetch(String),
    /// A Merkle computation failed.
    #[error(transparent)]
    Merkle(#[from] MerkleError),
}

/// One tile: a hash tile at a level, or an entry bundle. Wraps [`tlog_tiles::Tile`] of height 8.
///
/// Invariant: height 8, level 0..=63 (0 for bundles), width 1..=256.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TileId(Tile);

impl TileId {
    /// Hash tile `n` of tile level `level`, holding `width` hashes.
    ///
    /// # Errors
    /// [`TileError::BadCoordinates`] for a level past 63 or a width outside 1..=256.
    pub fn hashes(level: u8, n: u64, width: u32) -> Result<TileId, TileError> {
        if level > 63 || !(1..=TILE_WIDTH).contains(&width) {
            return Err(TileError::BadCoordinates { level, width });
        }
        Ok(TileId(Tile::new(TILE_HEIGHT, level, n, width, false)))
    }

    /// Entry bundle `n`, holding `width` entries (those of level-0 tile `n`).
    ///
    /// # Errors
    /// [`TileError::BadCoordinates`] for a width outside 1..=256.
    pub fn entries(n: u64, width: u32) -> Result<TileId, TileError> {
        if !(1..=TILE_WIDTH).contains(&width) {
            return Err(TileError::BadCoordinates { level: 0, width });
        }
        Ok(TileId(Tile::new(TILE_HEIGHT, 0, n, width, true)))
    }

    fn from_tlog(t: Tile) -> Option<TileId> {
        (t.height() == TILE_HEIGHT && t.level() < 64 && (1..=TILE_WIDTH).contains(&t.width()))
            .then_some(TileId(t))
    }

    /// The tile level (`None` for an entry bundle).
    #[must_use]
    pub fn level(&self) -> Option<u8> {
        (!self.0.is_data()).then(|| self.0.level())
    }

    /// The index `N` within its level.
    #[must_use]
    pub fn index(&self) -> u64 {
        self.0.level_index()
    }

    /// Hashes (or entries) it holds.
    #[must_use]
    pub fn width(&self) -> u32 {
        self.0.width()
    }

    /// Whether it holds the full 256.
    #[must_use]
    pub fn is_full(&self) -> bool {
        self.0.width() == TILE_WIDTH
    }

    /// Whether it is an entry bundle.
    #[must_use]
    pub fn is_entries(&self) -> bool {
        self.0.is_data()
    }

    /// The entry bundle of the same leaves as this level-0 tile (itself for a bundle).
    #[must_use]
    pub fn bundle(&self) -> Option<TileId> {
        match self.level() {
            Some(0) | None => TileId::entries(self.index(), self.width()).ok(),
            Some(_) => None,
        }
    }

    /// For a bundle or a level-0 tile: the index of its first entry and how many it holds.
    #[must_use]
    pub fn entry_range(&self) -> Option<(u64, u64)> {
        self.bundle()
            .map(|b| (b.index() << TILE_HEIGHT, u64::from(b.width())))
    }

    /// The C2SP path, relative to the log's prefix: `tile/1/x001/234.p/17`, `tile/entries/005`.
    #[must_use]
    pub fn path(&self) -> String {
        // tlog_tiles writes Go's form `tile/8/<L or data>/...`; C2SP drops the height and names
        // data tiles `entries`.
        let go = self.0.path();
        let rest = go.strip_prefix("tile/8/").unwrap_or(&go);
        match rest.strip_prefix("data/") {
            Some(n) => format!("tile/entries/{n}"),
            None => format!("tile/{rest}"),
        }
    }

    /// Parses a C2SP tile path, accepting only the canonical form [`TileId::path`] writes.
    ///
    /// # Errors
    /// [`TileError::BadPath`].
    pub fn from_path(path: &str) -> Result<TileId, TileError> {
        let bad = || TileError::BadPath(path.chars().take(MAX_PATH_LEN).collect());
        if path.len() > MAX_PATH_LEN || !path.is_ascii() {
            return Err(bad());
        }
        let rest = path.strip_prefix("tile/").ok_or_else(bad)?;
        let (level, tail) = rest.split_once('/').ok_or_else(bad)?;
        // Checked here, before tlog_tiles: it asserts (panics) on a level past 63 or width 0.
        let go = if level == "entries" {
            format!("tile/8/data/{tail}")
        } else {
            match level.parse::<u8>() {
                Ok(l) if l <= 63 => format!("tile/8/{level}/{tail}"),
                _ => return Err(bad()),
            }
        };
        let parts: Vec<&str> = tail.split('/').collect();
        if let [.., p, w] = parts.as_slice() {
            if p.ends_with(".p") && !matches!(w.parse::<u32>(), Ok(1..=255)) {
                return Err(bad());
            }
        }
        let tile = Tile::from_path(&go).map_err(|_| bad())?;
        let id = TileId::from_tlog(tile).ok_or_else(bad)?;
        if id.path() != path {
            return Err(bad());
        }
        Ok(id)
    }

    /// The tlog_tiles tile.
    #[must_use]
    pub fn tile(&self) -> Tile {
        self.0
    }
}

impl std::fmt::Display for TileId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.path())
    }
}

fn check_sizes(old: u64, new: u64) -> Result<(), TileError> {
    if old > new || new >= MAX_TILED_SIZE {
        return Err(TileError::BadSizes { old, new });
    }
    Ok(())
}

/// The hash tiles that change when a tree grows from `old` to `new` leaves: every tile that is
/// new or wider, lowest level first (`Tile::new_tiles`). From size 0 that is every tile.
///
/// # Errors
/// [`TileError::BadSizes`] if `old > new` or `new` is past [`MAX_TILED_SIZE`].
pub fn new_hash_tiles(old: u64, new: u64) -> Result<Vec<TileId>, TileError> {
    check_sizes(old, new)?;
    Ok(Tile::new_tiles(TILE_HEIGHT, old, new)
        .into_iter()
        .filter_map(TileId::from_tlog)
        .collect())
}

/// The entry bundles that change when a tree grows from `old` to `new` leaves (those of the
/// level-0 tiles that change), in order.
///
/// # Errors
/// As [`new_hash_tiles`].
pub fn new_bundles(old: u64, new: u64) -> Result<Vec<TileId>, TileError> {
    Ok(bundles_between(old, new)?.collect())
}

/// [`new_bundles`] one at a time, computed as they are taken. Why: a follower gets `new` from a
/// checkpoint that only the log vouches for, and a hostile log can sign a size of 2^55 with
/// nothing published behind it; a list of every bundle up to that size would be gigabytes
/// before the first fetch fails. This costs nothing until a bundle is asked for.
///
/// # Errors
/// As [`new_hash_tiles`].
pub fn bundles_between(old: u64, new: u64) -> Result<impl Iterator<Item = TileId>, TileError> {
    check_sizes(old, new)?;
    let width = u64::from(TILE_WIDTH);
    // Level 0 of `Tile::new_tiles`: the full tiles from the one holding `old` up to the one
    // holding `new`, then the partial one at the right edge. Nothing when the sizes are equal.
    let full = if old == new {
        0..0
    } else {
        old / width..new / width
    };
    let edge = u32::try_from(new % width).unwrap_or(0);
    let partial = (old != new && edge > 0).then_some(new / width);
    Ok(full
        .filter_map(|n| TileId::entries(n, TILE_WIDTH).ok())
        .chain(partial.and_then(|n| TileId::entries(n, edge).ok())))
}

/// The bytes of hash tile `tile`, from the stored hashes of a tree that holds it
/// (`Tile::read_data`).
///
/// # Errors
/// [`TileError::Bad`] for an entry bundle; [`TileError::Merkle`] when `r` fails.
pub fn tile_data<R: HashReader>(tile: TileId, r: &R) -> Result<Vec<u8>, TileError> {
    if tile.is_entries() {
        return Err(TileError::Bad {
            tile: tile.path(),
            reason: "an entry bundle holds entries, not hashes".into(),
        });
    }
    tile.0
        .read_data(&merkle::Checked(r))
        .map_err(|e| MerkleError::HashRead(e.to_string()).into())
}

/// Encodes an entry bundle: each entry as a big-endian `uint16` length and its bytes.
///
/// # Errors
/// [`TileError::Bad`] (naming `tile`) if there are not exactly `tile.width()` entries, or one is
/// longer than [`MAX_ENTRY_BYTES`].
pub fn encode_bundle<E: AsRef<[u8]>>(tile: TileId, entries: &[E]) -> Result<Vec<u8>, TileError> {
    let bad = |reason: String| TileError::Bad {
        tile: tile.path(),
        reason,
    };
    if !tile.is_entries() || entries.len() != tile.width() as usize {
        return Err(bad(format!(
            "{} entries for a bundle of width {}",
            entries.len(),
            tile.width()
        )));
    }
    let mut out = Vec::with_capacity(entries.iter().map(|e| e.as_ref().len() + 2).sum());
    for (k, e) in entries.iter().enumerate() {
        let e = e.as_ref();
        let len = u16::try_from(e.len())
            .map_err(|_| bad(format!("entry {k} is {} bytes, past 65,535", e.len())))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Decodes entry bundle `tile`: exactly `tile.width()` length-prefixed entries and nothing after.
///
/// # Errors
/// [`TileError::Bad`] naming the tile: too large, cut short, too few or too many entries.
pub fn decode_bundle(tile: TileId, bytes: &[u8]) -> Result<Vec<&[u8]>, TileError> {
    let bad = |reason: String| TileError::Bad {
        tile: tile.path(),
        reason,
    };
    if !tile.is_entries() {
        return Err(bad("is a hash tile, not an entry bundle".into()));
    }
    if bytes.len() > MAX_BUNDLE_BYTES {
        return Err(bad(format!(
            "is {} bytes, more than any bundle",
            bytes.len()
        )));
    }
    let want = tile.width() as usize;
    let mut out = Vec::with_capacity(want);
    let mut rest = bytes;
    while out.len() < want {
        let [a, b, tail @ ..] = rest else {
            return Err(bad(format!("cut short: {} of {want} entries", out.len())));
        };
        let len = usize::from(u16::from_be_bytes([*a, *b]));
        if tail.len() < len {
            return Err(bad(format!(
                "cut short inside entry {} of {want}",
                out.len()
            )));
        }
        let (entry, after) = tail.split_at(len);
        out.push(entry);
        rest = after;
    }
    if !rest.is_empty() {
        return Err(bad(format!(
            "{} bytes after its {want} entries",
            rest.len()
        )));
    }
    Ok(out)
}

/// Where the tiles of a published log come from: a web server, a directory. Implemented by the
/// caller; this module never reads anything itself.
pub trait TileSource {
    /// The bytes published at `tile.path()`, read with a bound of `max` bytes. The error is the
    /// source's message and should name the tile.
    ///
    /// # Errors
    /// Whatever the source says went wrong.
    fn fetch(&self, tile: TileId, max: usize) -> Result<Vec<u8>, String>;
}

/// A published tree whose checkpoint has been verified: its hashes are read from tiles of a
/// [`TileSource`], and every tile is authenticated against the checkpoint's (size, root)
/// before any hash in it is used (`tlog_tiles::TileHashReader`). When one is not, the tile at
/// fault is named ([`TileError::Bad`], or [`TileError::BadTop`] when the tiles that together
/// give the root disagree with it).
pub struct PublishedTree<'a> {
    size: u64,
    root: Digest,
    source: Fetcher<'a>,
}

/// Fetches for `TileHashReader`, keeping every tile fetched (to name a bad one afterwards) and
/// the first error (tlog's errors carry no message of ours).
struct Fetcher<'a> {
    source: &'a dyn TileSource,
    fetched: RefCell<HashMap<Tile, Vec<u8>>>,
    /// Tiles authenticated against the checkpoint so far.
    verified: RefCell<HashSet<Tile>>,
    error: RefCell<Option<TileError>>,
}

impl TileReader for Fetcher<'_> {
    fn height(&self) -> u8 {
        TILE_HEIGHT
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, TlogError> {
        let mut out = Vec::with_capacity(tiles.len());
        for &t in tiles {
            if let Some(d) = self.fetched.borrow().get(&t) {
                out.push(d.clone());
                continue;
            }
            let Some(id) = TileId::from_tlog(t) else {
                return Err(TlogError::InvalidTile);
            };
            let want = t.width() as usize * 32;
            let fail = |e: TileError| {
                self.error.borrow_mut().get_or_insert(e);
                TlogError::InvalidTile
            };
            let data = self
                .source
                .fetch(id, want)
                .map_err(|e| fail(TileError::Fetch(e)))?;
            if data.len() != want {
                return Err(fail(TileError::Bad {
                    tile: id.path(),
                    reason: format!(
                        "is {} bytes; a tile of width {} is {want}",
                        data.len(),
                        t.width()
                    ),
                }));
            }
            self.fetched.borrow_mut().insert(t, data.clone());
            out.push(data);
        }
        Ok(out)
    }

    fn save_tiles(&self, _: &[Tile], _: &[Vec<u8>]) {}
}

impl<'a> PublishedTree<'a> {
    /// The tree of checkpoint (`size`, `root`), read from `source`. The caller has verified the
    /// checkpoint's signature.
    ///
    /// # Errors
    /// [`TileError::BadSizes`] past [`MAX_TILED_SIZE`].
    pub fn new(
        size: u64,
        root: Digest,
        source: &'a dyn TileSource,
    ) -> Result<PublishedTree<'a>, TileError> {
        check_sizes(0, size)?;
        Ok(PublishedTree {
            size,
            root,
            source: Fetcher {
                source,
                fetched: RefCell::new(HashMap::new()),
                verified: RefCell::new(HashSet::new()),
                error: RefCell::new(None),
            },
        })
    }

    /// Runs `f` over the tree's hashes as `TileHashReader` reads them, then authenticates
    /// every tile fetched so far ([`PublishedTree::check_fetched`]); on failure says which
    /// tile is at fault.
    fn with_reader<T>(
        &self,
        f: impl FnOnce(&TileHashReader<'_>) -> Result<T, MerkleError>,
    ) -> Result<T, TileError> {
        let r = TileHashReader::new(self.size, Hash(self.root.0), &self.source);
        let out = f(&r);
        if let Some(fetch) = self.source.error.borrow_mut().take() {
            return Err(fetch);
        }
        // Also on success: tlog_tiles 0.2's TileHashReader authenticates the full tiles below
        // the right edge starting at the count of right-edge *hashes* rather than of right-edge
        // *tiles*, so when two edge hashes share a tile some full tiles are returned
        // unchecked (`published_tree_proves_and_names_a_bad_tile` shows one). Every tile is
        // therefore checked here before anything read from it leaves this module.
        self.check_fetched()?;
        out.map_err(TileError::from)
    }

    /// The RFC 9162 consistency proof from the tree's first `old` leaves to the whole tree.
    ///
    /// # Errors
    /// A [`TileError`] naming the tile that could not be fetched or does not authenticate.
    pub fn consistency_proof(&self, old: u64) -> Result<Vec<Digest>, TileError> {
        check_sizes(old, self.size)?;
        self.with_reader(|r| merkle::prove_consistency(old, self.size, r))
    }

    /// The RFC 6962 root of the tree's first `size` leaves.
    ///
    /// # Errors
    /// As [`PublishedTree::consistency_proof`].
    pub fn root_at(&self, size: u64) -> Result<Digest, TileError> {
        check_sizes(size, self.size)?;
        if size == self.size {
            return Ok(self.root);
        }
        self.with_reader(|r| merkle::tree_root(size, r))
    }

    /// The leaf hashes of entries `start .. end`, from authenticated level-0 tiles.
    ///
    /// # Errors
    /// As [`PublishedTree::consistency_proof`].
    pub fn leaf_hashes(&self, start: u64, end: u64) -> Result<Vec<Digest>, TileError> {
        check_sizes(start, end)?;
        check_sizes(end, self.size)?;
        if start == end {
            return Ok(Vec::new());
        }
        let indexes: Vec<u64> = (start..end)
            .map(|i| merkle::stored_hash_index(0, i))
            .collect::<Result<_, _>>()?;
        self.with_reader(|r| {
            r.read_hashes(&indexes)
                .map(|h| h.into_iter().map(Digest::from).collect())
                .map_err(|e| MerkleError::HashRead(e.to_string()))
        })
    }

    /// Authenticates every tile fetched so far against the checkpoint, naming the first that
    /// fails: the tiles whose hashes together give the root (the right edge) against the root,
    /// then, parents before children, every other tile against the hash its parent holds for
    /// it. A tile's parent is always fetched before it is used (`TileHashReader` walks up to an
    /// authenticated tile); one that is not is refused rather than trusted.
    fn check_fetched(&self) -> Result<(), TileError> {
        let fetched = self.source.fetched.borrow();
        let mut verified = self.source.verified.borrow_mut();
        if fetched.is_empty() || fetched.len() == verified.len() {
            return Ok(());
        }
        let size = self.size;
        let internal = |what: &str| TileError::Fetch(format!("internal: tile check: {what}"));
        let edge_tile = |x: u64| Tile::from_index(TILE_HEIGHT, x).parent(0, size);
        if verified.is_empty() {
            let stx = tlog_tiles::sub_tree_index(0, size, Vec::new());
            let mut top = Vec::new();
            for &x in &stx {
                let t = edge_tile(x).ok_or_else(|| internal("no edge tile"))?;
                if !top.contains(&t) {
                    top.push(t);
                }
            }
            let names = || -> Vec<String> {
                top.iter()
                    .filter_map(|t| TileId::from_tlog(*t).map(|i| i.path()))
                    .collect()
            };
            let hash_of = |x: u64| -> Option<Hash> {
                let t = edge_tile(x)?;
                t.hash_at_index(fetched.get(&t)?, x).ok()
            };
            let mut th = None;
            for &x in stx.iter().rev() {
                let Some(h) = hash_of(x) else {
                    return Err(TileError::Fetch(format!(
                        "the tiles {} that give the checkpoint's root were not all read",
                        names().join(", ")
                    )));
                };
                th = Some(match th {
                    None => h,
                    Some(right) => tlog_tiles::node_hash(h, right),
                });
            }
            if th.map(|h| h.0) != Some(self.root.0) {
                let names = names();
                return Err(if names.len() == 1 {
                    TileError::Bad {
                        tile: names.join(""),
                        reason: "does not hash to the checkpoint's root".into(),
                    }
                } else {
                    TileError::BadTop {
                        tiles: names.join(", "),
                    }
                });
            }
            verified.extend(top);
        }
        let mut rest: Vec<(&Tile, &Vec<u8>)> = fetched
            .iter()
            .filter(|(t, _)| !verified.contains(*t))
            .collect();
        rest.sort_by_key(|(t, _)| std::cmp::Reverse((t.level(), t.level_index())));
        for (t, data) in rest {
            let id = TileId::from_tlog(*t).ok_or_else(|| internal("not a tile"))?;
            let parent = t
                .parent(1, size)
                .filter(|p| verified.contains(p))
                .and_then(|p| Some((p, fetched.get(&p)?)));
            let Some((p, pd)) = parent else {
                return Err(TileError::Fetch(format!(
                    "{id}: cannot be authenticated: the tile above it was not read"
                )));
            };
            let at = tlog_tiles::stored_hash_index(p.level() * TILE_HEIGHT, t.level_index());
            let want = p
                .hash_at_index(pd, at)
                .map_err(|_| internal("hash_at_index"))?;
            if !id.is_full() || Tile::subtree_hash(data) != want {
                let above = TileId::from_tlog(p).map_or_else(String::new, |i| i.path());
                return Err(TileError::Bad {
                    tile: id.path(),
                    reason: format!("does not match the hash {above} holds for it"),
                });
            }
            verified.insert(*t);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::MemoryHashes;

    fn leaves(n: u64) -> Vec<Digest> {
        (0..n).map(|i| Digest::leaf(&i.to_le_bytes())).collect()
    }

    /// Serves the tiles of an in-memory tree, with some of them changed.
    struct Memory {
        tree: MemoryHashes,
        changed: HashMap<String, Vec<u8>>,
    }

    impl TileSource for Memory {
        fn fetch(&self, tile: TileId, max: usize) -> Result<Vec<u8>, String> {
            if let Some(b) = self.changed.get(&tile.path()) {
                return Ok(b.clone());
            }
            let d = tile_data(tile, &self.tree).map_err(|e| format!("{tile}: {e}"))?;
            assert!(d.len() <= max);
            Ok(d)
        }
    }

    #[test]
    fn paths_round_trip_and_refuse_non_canonical_forms() {
        for (t, p) in [
            (TileId::hashes(0, 0, 256).unwrap(), "tile/0/000"),
            (TileId::hashes(0, 273, 112).unwrap(), "tile/0/273.p/112"),
            (
                TileId::hashes(2, 1_234_067, 1).unwrap(),
                "tile/2/x001/x234/067.p/1",
            ),
            (TileId::entries(1000, 256).unwrap(), "tile/entries/x001/000"),
            (TileId::entries(5, 17).unwrap(), "tile/entries/005.p/17"),
            (
                TileId::hashes(63, u64::MAX, 255).unwrap(),
                "tile/63/x018/x446/x744/x073/x709/x551/615.p/255",
            ),
        ] {
            assert_eq!(t.path(), p);
            assert_eq!(TileId::from_path(p).unwrap(), t, "{p}");
        }
        for bad in [
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/012",
            "tile/64/000",
            "tile/255/000",
            "tile/00/000",
            "tile/0/0",
            "tile/0/x000/001",
            "tile/0/1000",
            "tile/8/0/000",
            "tile/data/000",
            "tile/entries/000.p/",
            "tile/0/000/",
            "tile/0/x018/x446/x744/x073/x709/x551/616",
            "tile/-1/000",
            "tile/0/000.p/1/2",
            "checkpoint",
            "",
            "tile/0/٣٣٣",
        ] {
            assert!(TileId::from_path(bad).is_err(), "{bad}");
        }
        assert!(TileId::hashes(64, 0, 1).is_err());
        assert!(TileId::hashes(0, 0, 0).is_err());
        assert!(TileId::entries(0, 257).is_err());
    }

    #[test]
    fn bundles_round_trip_and_refuse_bad_bytes() {
        let t = TileId::entries(0, 3).unwrap();
        let entries: Vec<Vec<u8>> = vec![b"a".to_vec(), vec![7u8; 300], Vec::new()];
        let b = encode_bundle(t, &entries).unwrap();
        assert_eq!(&b[..3], &[0, 1, b'a']);
        assert_eq!(&b[3..5], &[0x01, 0x2c]);
        let back = decode_bundle(t, &b).unwrap();
        assert_eq!(back, entries.iter().map(Vec::as_slice).collect::<Vec<_>>());
        for cut in 0..b.len() {
            assert!(decode_bundle(t, &b[..cut]).is_err(), "cut {cut}");
        }
        let mut long = b.clone();
        long.push(0);
        assert!(decode_bundle(t, &long)
            .unwrap_err()
            .to_string()
            .contains("1 bytes after"));
        assert!(encode_bundle(t, &entries[..2]).is_err());
        let huge = vec![vec![0u8; 65_536], Vec::new(), Vec::new()];
        assert!(encode_bundle(t, &huge).is_err());
        assert!(decode_bundle(TileId::hashes(0, 0, 3).unwrap(), &b).is_err());
        assert!(decode_bundle(t, &vec![0u8; MAX_BUNDLE_BYTES + 1]).is_err());
    }

    #[test]
    fn new_tiles_follow_the_spec_examples() {
        let paths = |old, new| -> Vec<String> {
            new_hash_tiles(old, new)
                .unwrap()
                .iter()
                .map(TileId::path)
                .collect()
        };
        assert_eq!(paths(0, 256), ["tile/0/000", "tile/1/000.p/1"]);
        assert_eq!(paths(256, 256), Vec::<String>::new());
        assert_eq!(paths(300, 301), ["tile/0/001.p/45"]);
        assert_eq!(
            new_bundles(250, 600)
                .unwrap()
                .iter()
                .map(TileId::path)
                .collect::<Vec<_>>(),
            [
                "tile/entries/000",
                "tile/entries/001",
                "tile/entries/002.p/88"
            ]
        );
        assert!(new_hash_tiles(2, 1).is_err());
        assert!(new_hash_tiles(0, MAX_TILED_SIZE).is_err());
        // The largest tiled size grows by tiles along its right edge only.
        assert_eq!(
            paths(MAX_TILED_SIZE - 2, MAX_TILED_SIZE - 1),
            ["tile/0/x281/x474/x976/x710/655.p/255"]
        );
    }

    #[test]
    fn bundles_are_the_level_0_tiles_and_computed_lazily() {
        // The same bundles as the level-0 tiles of `Tile::new_tiles`, edges included.
        let sizes = [
            0u64, 1, 2, 255, 256, 257, 511, 512, 600, 1000, 65_536, 65_537,
        ];
        for &old in &sizes {
            for &new in sizes.iter().filter(|&&n| n >= old) {
                let want: Vec<TileId> = new_hash_tiles(old, new)
                    .unwrap()
                    .into_iter()
                    .filter(|t| t.level() == Some(0))
                    .filter_map(|t| t.bundle())
                    .collect();
                let got: Vec<TileId> = bundles_between(old, new).unwrap().collect();
                assert_eq!(got, want, "{old} -> {new}");
            }
        }
        // A hostile log's signed size costs nothing until its bundles are asked for (the list of
        // every bundle of this tree would be 2^47 tiles).
        let mut huge = bundles_between(3, MAX_TILED_SIZE - 1).unwrap();
        assert_eq!(
            huge.next().map(|t| t.path()).as_deref(),
            Some("tile/entries/000")
        );
        assert_eq!(
            huge.next().map(|t| t.path()).as_deref(),
            Some("tile/entries/001")
        );
        assert!(bundles_between(0, MAX_TILED_SIZE).is_err());
        assert!(bundles_between(5, 4).is_err());
    }

    #[test]
    fn published_tree_proves_and_names_a_bad_tile() {
        let n = 70_000u64;
        let tree = MemoryHashes::from_leaves(&leaves(n));
        let root = tree.root();
        let src = Memory {
            tree: tree.clone(),
            changed: HashMap::new(),
        };
        let pt = PublishedTree::new(n, root, &src).unwrap();
        for old in [0, 1, 255, 256, 257, 65_536, 69_999, 70_000] {
            let p = pt.consistency_proof(old).unwrap();
            assert_eq!(
                p,
                merkle::prove_consistency(old, n, &tree).unwrap(),
                "{old}"
            );
            let old_root = pt.root_at(old).unwrap();
            assert_eq!(old_root, merkle::tree_root(old, &tree).unwrap());
            merkle::verify_consistency(old, old_root, n, root, &p).unwrap();
        }
        assert_eq!(pt.leaf_hashes(300, 310).unwrap(), leaves(310)[300..]);

        // A changed hash in a full tile the proof needs: named against its parent.
        let mut data = tile_data(TileId::hashes(0, 1, 256).unwrap(), &tree).unwrap();
        data[5] ^= 1;
        let bad = Memory {
            tree: tree.clone(),
            changed: [("tile/0/001".to_string(), data)].into(),
        };
        let pt = PublishedTree::new(n, root, &bad).unwrap();
        let e = pt.leaf_hashes(300, 301).unwrap_err().to_string();
        assert_eq!(
            e,
            "tile/0/001: does not match the hash tile/1/000 holds for it"
        );
        // A changed right-edge tile: it no longer hashes to the root.
        let mut data = tile_data(TileId::hashes(2, 0, 1).unwrap(), &tree).unwrap();
        data[0] ^= 1;
        let bad = Memory {
            tree: tree.clone(),
            changed: [("tile/2/000.p/1".to_string(), data)].into(),
        };
        let pt = PublishedTree::new(n, root, &bad).unwrap();
        let e = pt.consistency_proof(1000).unwrap_err().to_string();
        assert!(e.contains("tile/2/000.p/1"), "{e}");
        // A tile of the wrong length, named.
        let bad = Memory {
            tree: tree.clone(),
            changed: [("tile/0/273.p/112".to_string(), vec![0u8; 31])].into(),
        };
        let pt = PublishedTree::new(n, root, &bad).unwrap();
        let e = pt.consistency_proof(69_990).unwrap_err().to_string();
        assert_eq!(
            e,
            "tile/0/273.p/112: is 31 bytes; a tile of width 112 is 3584"
        );
        // The wrong root (another tree of the same size): every right-edge tile is suspect.
        let other = MemoryHashes::from_leaves(&leaves(n + 1)[1..]);
        let pt = PublishedTree::new(n, other.root(), &src).unwrap();
        let e = pt.consistency_proof(5).unwrap_err().to_string();
        assert!(
            e.starts_with("tiles tile/2/000.p/1, tile/1/001.p/17, tile/0/273.p/112 do not hash"),
            "{e}"
        );
    }
}
