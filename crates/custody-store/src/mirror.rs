//! `clone` and `monitor`: following a published log (docs/PUBLISHING.md) into a local ledger.
//!
//! Both read the published `checkpoint` and open it under the log key the user trusts, fetch
//! the entry bundles they do not hold, check that the entries make exactly the tree the
//! checkpoint signs, append them to a local ledger through [`Ledger::append_sequenced`] (so
//! every entry is verified exactly as `verify` verifies it: chain, rules, duplicates, strict
//! signatures), compare every hash tile that changed with the tiles of the verified tree, and
//! record the checkpoint in the ledger. The checkpoint's size is only the log's claim until the
//! entries are in, so bundles are computed as they are fetched and appended a bounded chunk at
//! a time, each chunk verified, and checked against the tiles, before the next is fetched.
//! `clone` does this from nothing into a new directory; `monitor` keeps its local copy in a
//! state directory and, before fetching any entry, proves the new checkpoint consistent with the
//! last one it recorded, from the hash tiles. A contradiction is written down as fork evidence
//! ([`custody_core::fork`]).
//!
//! The monitor's state is a ledger directory like any other, so it is never trusted as is: it
//! is opened through [`Ledger::open`] (this machine's verified caches, or a full replay), and
//! the checkpoint it resumes from must open under the trusted key and match the verified tree.

use crate::error::StoreError;
use crate::fetch::{self, FetchError, Source};
use crate::files::write_new;
use crate::ledger::{Access, Ledger, ENTRIES};
use custody_core::checkpoint::{self, SignedCheckpoint, StrictVerifier, MAX_NOTE_BYTES};
use custody_core::fork;
use custody_core::hash::Digest;
use custody_core::merkle;
use custody_core::tiles::{self, PublishedTree, TileError, TileId};
use std::collections::{HashSet, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};

/// Why following a published log stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FollowError {
    /// The published log is not what its signed checkpoint says (a bad signature, a tile or
    /// bundle that does not match, an entry that breaks a rule): the evidence failed.
    #[error("{0}")]
    Evidence(String),
    /// Two checkpoints signed by the log key contradict each other; the evidence is in `file`.
    #[error("{reason}; fork evidence written to {}", file.display())]
    Fork {
        /// What contradicts what.
        reason: String,
        /// The fork evidence file.
        file: PathBuf,
    },
    /// A file of the published log could not be fetched.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// A local file could not be read or written, or the request does not fit.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for FollowError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Corrupt { entry, reason } => {
                FollowError::Evidence(format!("entry {entry}: {reason}"))
            }
            StoreError::Rejected(r) => FollowError::Evidence(r),
            other => FollowError::Store(other),
        }
    }
}

impl From<TileError> for FollowError {
    fn from(e: TileError) -> Self {
        match e {
            TileError::Fetch(m) => FollowError::Store(StoreError::Usage(m)),
            other => FollowError::Evidence(other.to_string()),
        }
    }
}

/// What a `clone` or a `monitor` run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Followed {
    /// The tree size held before (0 for a clone or a monitor's first run).
    pub previous: u64,
    /// The tree size now held and verified.
    pub size: u64,
    /// Its root.
    pub root: Digest,
    /// Entries fetched, verified and appended.
    pub appended: u64,
    /// Hash tiles fetched and compared with the verified tree.
    pub tiles_checked: u64,
    /// The published checkpoint was older than the one held (a stale cache): nothing new.
    pub stale: bool,
    /// The checkpoint recorded in the local ledger.
    pub recorded: Option<PathBuf>,
}

/// The most entries a clone or monitor run sizes the duplicate table for ahead of time: a
/// checkpoint's size is only the log's claim until the entries arrive.
const RESERVE_MAX: u64 = 1 << 20;
/// A clone or monitor run verifies what it fetched once a chunk holds this many bytes of
/// entries (at the end of a bundle)...
const CHUNK_BYTES: usize = 64 << 20;
/// ...or this many entries, whichever comes first.
const CHUNK_ENTRIES: usize = 1 << 16;

/// The published checkpoint, opened under `key`.
fn fetch_checkpoint(
    source: &Source,
    key: &StrictVerifier,
) -> Result<SignedCheckpoint, FollowError> {
    let note = source.get(crate::publish::CHECKPOINT_FILE, MAX_NOTE_BYTES)?;
    let cp = checkpoint::open(&note, key).map_err(|e| {
        FollowError::Evidence(format!(
            "{}: {e}",
            source.locate(crate::publish::CHECKPOINT_FILE)
        ))
    })?;
    if cp.size() == 0 {
        return Err(FollowError::Evidence(format!(
            "{} signs an empty tree; a custody log holds at least its genesis entry",
            source.locate(crate::publish::CHECKPOINT_FILE)
        )));
    }
    Ok(cp)
}

/// Entry bundles fetched at once (with their level-0 tiles): at most this many bundles are in
/// memory, each at most [`bundle_max`] (about 16 MiB for a hostile server's full bundle of
/// 64 KiB entries; about 100 KiB for a bundle of typical entries).
const BUNDLES_AT_ONCE: usize = fetch::PARALLEL_FETCHES;
/// Hash tiles fetched at once (8 KiB each at most).
const TILES_AT_ONCE: usize = 64;

/// The largest a bundle of `tile`'s width can be.
fn bundle_max(tile: TileId) -> usize {
    tile.width() as usize * (2 + custody_core::entry::MAX_ENTRY_BYTES)
}

/// The entries of bundle `tile`, fetched and decoded.
fn fetch_bundle(source: &Source, tile: TileId) -> Result<Vec<Vec<u8>>, FollowError> {
    let bytes = source.get(&tile.path(), bundle_max(tile))?;
    let entries = tiles::decode_bundle(tile, &bytes)
        .map_err(|e| FollowError::Evidence(format!("{}: {e}", source.locate(&tile.path()))))?;
    Ok(entries.into_iter().map(<[u8]>::to_vec).collect())
}

/// Clones the published log at `source` into `dest` (which must not exist or be empty):
/// entries byte for byte, every one verified, every tile checked, the checkpoint recorded.
/// On failure nothing is left in `dest`.
///
/// # Errors
/// [`FollowError::Evidence`] when the published log fails verification (naming the file or
/// entry), [`FollowError::Fetch`] or [`FollowError::Store`] otherwise.
pub fn clone_log(
    source: &Source,
    dest: &Path,
    key: &StrictVerifier,
) -> Result<Followed, FollowError> {
    let existed = dest.exists();
    if existed
        && fs::read_dir(dest)
            .map_err(crate::files::io_at(dest))?
            .next()
            .is_some()
    {
        return Err(StoreError::AlreadyExists(dest.display().to_string()).into());
    }
    let result = clone_into(source, dest, key);
    if result.is_err() {
        remove_clone(dest, existed);
    }
    result
}

fn clone_into(source: &Source, dest: &Path, key: &StrictVerifier) -> Result<Followed, FollowError> {
    let cp = fetch_checkpoint(source, key)?;
    let first = TileId::entries(0, u32::try_from(cp.size().min(256)).unwrap_or(256))?;
    let bundle0 = fetch_bundle(source, first)?;
    let genesis = bundle0
        .first()
        .ok_or_else(|| FollowError::Evidence("the first bundle is empty".into()))?;
    let mut ledger = Ledger::create_sequenced(dest, genesis)?;
    check_trusted(&ledger, key)?;
    let mut out = extend(&mut ledger, source, &cp, 0)?;
    out.previous = 0;
    Ok(out)
}

/// Removes what a failed clone made in `dest` (all of it: `dest` was empty or absent).
fn remove_clone(dest: &Path, existed: bool) {
    if !existed {
        let _ = fs::remove_dir_all(dest);
        return;
    }
    if let Ok(rd) = fs::read_dir(dest) {
        for e in rd.flatten() {
            let p = e.path();
            let _ = if p.is_dir() && !p.is_symlink() {
                fs::remove_dir_all(&p)
            } else {
                fs::remove_file(&p)
            };
        }
    }
}

/// The ledger's genesis must name the trusted key and origin (a clone of a look-alike log
/// signed by the same key could not get this far, but the state of a monitor could be another
/// log's).
fn check_trusted(ledger: &Ledger, key: &StrictVerifier) -> Result<(), FollowError> {
    let ours = ledger.operator_verifier()?;
    if ours.to_vkey() != key.to_vkey() {
        return Err(FollowError::Evidence(format!(
            "the log's genesis names the operator key {}, not the trusted key {}",
            ours.to_vkey(),
            key.to_vkey()
        )));
    }
    Ok(())
}

/// Fetches and appends the entries `ledger` lacks up to `cp`'s size, checks them against
/// `cp`, compares the hash tiles that changed since size `tiles_from` with the verified tree,
/// and records `cp`.
fn extend(
    ledger: &mut Ledger,
    source: &Source,
    cp: &SignedCheckpoint,
    tiles_from: u64,
) -> Result<Followed, FollowError> {
    let held = ledger.size();
    let size = cp.size();
    if held >= size {
        // Held already (an earlier run appended them and stopped at a tile): only the tiles
        // and the record are left to do.
        if ledger.root(size)? != cp.root() {
            return Err(FollowError::Evidence(format!(
                "{} signs a root that is not the root of the first {size} entries held",
                source.locate(crate::publish::CHECKPOINT_FILE)
            )));
        }
        return check_tiles_and_record(ledger, source, cp, tiles_from, held, 0, &HashSet::new());
    }
    // The size is the log's word alone until the entries are in: the bundles are computed as
    // they are fetched (the first one missing ends the run), and the duplicate table is sized
    // for at most RESERVE_MAX more (it grows by itself past that), never for a signed 2^55.
    let mut pending = tiles::bundles_between(held, size)?;
    ledger.reserve((size - held).min(RESERVE_MAX))?;
    // The entries of the first bundle that are held already must be the ones verified.
    let first_start = held - held % u64::from(tiles::TILE_WIDTH);
    let overlap = (first_start..held)
        .map(|i| ledger.leaf(i))
        .collect::<Result<Vec<_>, _>>()?;
    // Level-0 hash tiles are fetched with the bundle of the same leaves and compared with the
    // leaf hashes of its entries (the level-0 tile of the verified tree is exactly those), so
    // only the few tiles of higher levels are left for after the replay. A tile that differs
    // is reported only once the entries made the signed tree; if they did not, the bundle is
    // at fault (`name_bad_bundle`).
    let mut checked: HashSet<TileId> = HashSet::new();
    let mut differs: Option<TileId> = None;
    let mut queue: VecDeque<Vec<u8>> = VecDeque::new();
    // Entries are appended a chunk at a time, each chunk verified (every rule, every signature)
    // before the next is fetched, and each chunk short of the signed size only if the tree it
    // makes is the one the checkpoint's tiles hold at that size. Why: a hostile log can sign any
    // size and serve bundles of junk without end; in one piece, all of it would be written to
    // disk (and its leaf hashes kept in memory) before the first entry was checked. Within a
    // chunk, bundles are fetched BUNDLES_AT_ONCE at a time (a few in memory, never more).
    let mut tree: Option<PublishedTree<'_>> = None;
    let mut appended = 0u64;
    while ledger.size() < size {
        let chunk_start = ledger.size();
        let mut leaves: Vec<Digest> = Vec::new();
        let mut bytes = 0usize;
        let mut next = || -> Result<Option<Vec<u8>>, FollowError> {
            loop {
                if let Some(e) = queue.pop_front() {
                    bytes = bytes.saturating_add(e.len());
                    leaves.push(Digest::leaf(&e));
                    return Ok(Some(e));
                }
                // A chunk ends with a whole batch of bundles, so the next starts with a fresh one.
                if bytes >= CHUNK_BYTES || leaves.len() >= CHUNK_ENTRIES {
                    return Ok(None);
                }
                let batch: Vec<TileId> = pending.by_ref().take(BUNDLES_AT_ONCE).collect();
                if batch.is_empty() {
                    return Ok(None);
                }
                let mut wanted = Vec::with_capacity(2 * batch.len());
                let mut level0 = Vec::with_capacity(batch.len());
                for b in &batch {
                    let t = TileId::hashes(0, b.index(), b.width())?;
                    wanted.push((b.path(), bundle_max(*b)));
                    wanted.push((t.path(), t.width() as usize * 32));
                    level0.push(t);
                }
                let mut got = source.get_all(&wanted).into_iter();
                let mut missing = || {
                    Err(FetchError::BadSource(
                        "internal: a fetch went missing".into(),
                    ))
                };
                for (b, t) in batch.into_iter().zip(level0) {
                    let bytes_b = got.next().unwrap_or_else(&mut missing)?;
                    let entries = tiles::decode_bundle(b, &bytes_b).map_err(|e| {
                        FollowError::Evidence(format!("{}: {e}", source.locate(&b.path())))
                    })?;
                    let tile = got.next().unwrap_or_else(&mut missing)?;
                    let same = tile.len() == entries.len() * 32
                        && tile
                            .chunks_exact(32)
                            .zip(&entries)
                            .all(|(h, e)| h == Digest::leaf(e).0.as_slice());
                    if same {
                        checked.insert(t);
                    } else if differs.is_none() {
                        differs = Some(t);
                    }
                    let (start, _) = b.entry_range().unwrap_or((0, 0));
                    for (k, e) in entries.into_iter().enumerate() {
                        let i = start + k as u64;
                        if i < held {
                            let want = overlap.get((i - first_start) as usize).copied();
                            if Some(Digest::leaf(e)) != want {
                                return Err(FollowError::Evidence(format!(
                                    "{}: entry {i} is not the entry verified before",
                                    source.locate(&b.path())
                                )));
                            }
                        } else {
                            queue.push_back(e.to_vec());
                        }
                    }
                }
            }
        };
        let mut mismatch = None;
        let mut accept = |n: u64, root: Digest| -> Result<(), FollowError> {
            if n == size && root == cp.root() {
                return Ok(());
            }
            if n > chunk_start && n < size {
                let t = match tree.as_ref() {
                    Some(t) => t,
                    None => tree.insert(PublishedTree::new(size, cp.root(), source)?),
                };
                if t.root_at(n).map_err(|e| tile_failure(source, e))? == root {
                    return Ok(());
                }
            }
            mismatch = Some((n, root));
            Err(FollowError::Evidence(String::new()))
        };
        let n = match ledger.append_sequenced(&mut next, &mut accept) {
            Ok(n) => n,
            Err(FollowError::Evidence(_)) if mismatch.is_some() => {
                return Err(name_bad_bundle(source, cp, chunk_start, &leaves));
            }
            Err(e) => return Err(e),
        };
        if n == 0 {
            // Cannot happen (the bundles reach the signed size); never loop on it.
            return Err(FollowError::Evidence(format!(
                "the published bundles end at entry {chunk_start}, before the tree size {size} {} signs",
                source.locate(crate::publish::CHECKPOINT_FILE)
            )));
        }
        appended += n;
    }
    if let Some(t) = differs {
        return Err(tile_differs(source, t, size));
    }
    check_tiles_and_record(ledger, source, cp, tiles_from, held, appended, &checked)
}

/// The error for a published hash tile that is not the verified tree's.
fn tile_differs(source: &Source, t: TileId, size: u64) -> FollowError {
    FollowError::Evidence(format!(
        "{}: the published tile does not match the tree of the verified entries (tree size {size}, the size the checkpoint signs)",
        source.locate(&t.path())
    ))
}

/// Compares every hash tile that changed since size `tiles_from` with the verified tree (all
/// but those in `checked`, compared already with the entries of their bundle), fetched
/// [`TILES_AT_ONCE`] at a time, then records `cp` in the ledger.
fn check_tiles_and_record(
    ledger: &Ledger,
    source: &Source,
    cp: &SignedCheckpoint,
    tiles_from: u64,
    held: u64,
    appended: u64,
    checked: &HashSet<TileId>,
) -> Result<Followed, FollowError> {
    let size = cp.size();
    let hashes = ledger.stored_hashes();
    let left: Vec<TileId> = tiles::new_hash_tiles(tiles_from, size)?
        .into_iter()
        .filter(|t| !checked.contains(t))
        .collect();
    for batch in left.chunks(TILES_AT_ONCE) {
        let wanted: Vec<(String, usize)> = batch
            .iter()
            .map(|t| (t.path(), t.width() as usize * 32))
            .collect();
        for (&t, got) in batch.iter().zip(source.get_all(&wanted)) {
            if got? != tiles::tile_data(t, &hashes)? {
                return Err(tile_differs(source, t, size));
            }
        }
    }
    let recorded = ledger.record_checkpoint(size, &cp.root(), cp.note())?;
    Ok(Followed {
        previous: held,
        size,
        root: cp.root(),
        appended,
        tiles_checked: checked.len() as u64 + left.len() as u64,
        stale: false,
        recorded: Some(recorded),
    })
}

/// The entries did not make the signed tree: find the first whose leaf hash is not the one the
/// checkpoint's authenticated level-0 tiles hold, and name its bundle (or the tile at fault).
fn name_bad_bundle(
    source: &Source,
    cp: &SignedCheckpoint,
    held: u64,
    leaves: &[Digest],
) -> FollowError {
    let tree = match PublishedTree::new(cp.size(), cp.root(), source) {
        Ok(t) => t,
        Err(e) => return e.into(),
    };
    let end = held + leaves.len() as u64;
    let mut at = held;
    while at < end.min(cp.size()) {
        let chunk_end = ((at >> 8) + 1) << 8;
        let chunk_end = chunk_end.min(end).min(cp.size());
        let want = match tree.leaf_hashes(at, chunk_end) {
            Ok(w) => w,
            Err(e) => return tile_failure(source, e),
        };
        let got = &leaves[(at - held) as usize..(chunk_end - held) as usize];
        if let Some(k) = got.iter().zip(&want).position(|(a, b)| a != b) {
            let i = at + k as u64;
            let start = (i >> 8) << 8;
            let width = u32::try_from((cp.size() - start).min(256)).unwrap_or(256);
            let bundle = TileId::entries(i >> 8, width)
                .map(|b| b.path())
                .unwrap_or_default();
            return FollowError::Evidence(format!(
                "{}: entry {i} does not hash to the leaf the checkpoint's tiles hold for it (the bundle was changed)",
                source.locate(&bundle)
            ));
        }
        at = chunk_end;
    }
    FollowError::Evidence(format!(
        "the published entries make a tree of {end} entries that is not the one {} signs ({} entries)",
        source.locate(crate::publish::CHECKPOINT_FILE),
        cp.size()
    ))
}

/// A tile check that failed, said with where the published log is.
fn tile_failure(source: &Source, e: TileError) -> FollowError {
    match e {
        TileError::Fetch(_) => e.into(),
        other => FollowError::Evidence(format!("published log {}: {other}", source.locate(""))),
    }
}

/// The ledger a monitor keeps in its state directory.
#[must_use]
pub fn monitor_ledger(state: &Path) -> PathBuf {
    state.join("ledger")
}

/// One run of `custody monitor`: bring the local copy in `state` up to the published
/// checkpoint, proving it consistent with the last one recorded first. The first run clones.
///
/// # Errors
/// [`FollowError::Fork`] (with the evidence file written in `state`) when the published
/// checkpoint contradicts the recorded one; otherwise as [`clone_log`].
pub fn monitor(
    source: &Source,
    state: &Path,
    key: &StrictVerifier,
) -> Result<Followed, FollowError> {
    fs::create_dir_all(state).map_err(crate::files::io_at(state))?;
    let dir = monitor_ledger(state);
    if !dir.join(ENTRIES).exists() {
        return clone_log(source, &dir, key);
    }
    let mut ledger = Ledger::open(&dir, Access::Write)?;
    check_trusted(&ledger, key)?;
    let known = ledger.latest_checkpoint(key)?.ok_or_else(|| {
        FollowError::Store(StoreError::Usage(format!(
            "{} holds no recorded checkpoint; remove it to start the monitor afresh",
            dir.display()
        )))
    })?;
    let cp = fetch_checkpoint(source, key)?;
    let (old, new) = (known.size(), cp.size());
    if new < old {
        // An older checkpoint (a cache serving yesterday's file) is fine if our tree agrees.
        if ledger.root(new)? == cp.root() {
            return Ok(Followed {
                previous: old,
                size: old,
                root: known.root(),
                appended: 0,
                tiles_checked: 0,
                stale: true,
                recorded: None,
            });
        }
        let proof = ledger.prove_consistency(new, old)?;
        let ev = fork::build(key, &cp, &known, ledger.root(new)?, &proof)
            .map_err(|e| FollowError::Evidence(format!("internal: fork evidence: {e}")))?;
        return Err(write_fork(
            state,
            &ev,
            (new, old),
            format!("the published checkpoint signs tree size {new} with a root that is not the root of the first {new} entries of the tree size {old} recorded before"),
        ));
    }
    if new == old {
        if cp.root() == known.root() {
            return Ok(Followed {
                previous: old,
                size: old,
                root: known.root(),
                appended: 0,
                tiles_checked: 0,
                stale: false,
                recorded: None,
            });
        }
        let ev = fork::build(key, &known, &cp, cp.root(), &[])
            .map_err(|e| FollowError::Evidence(format!("internal: fork evidence: {e}")))?;
        return Err(write_fork(
            state,
            &ev,
            (old, new),
            format!("split view: the published checkpoint and the one recorded before both sign tree size {old}, with different roots"),
        ));
    }
    // new > old: the consistency proof, from the published hash tiles, before any entry.
    let tree = PublishedTree::new(new, cp.root(), source)?;
    let proof = tree
        .consistency_proof(old)
        .map_err(|e| tile_failure(source, e))?;
    if merkle::verify_consistency(old, known.root(), new, cp.root(), &proof).is_err() {
        let prefix = tree.root_at(old).map_err(|e| tile_failure(source, e))?;
        // Only a proof that holds for the new tree is evidence against the log key; one that
        // does not is a bad tile, which the tile checks name.
        let Ok(ev) = fork::build(key, &known, &cp, prefix, &proof) else {
            return Err(FollowError::Evidence(format!(
                "the published tiles do not give a consistency proof from tree size {old} to {new}"
            )));
        };
        return Err(write_fork(
            state,
            &ev,
            (old, new),
            format!("the published checkpoint (tree size {new}) is not an extension of the tree size {old} recorded before: the log forked"),
        ));
    }
    let mut out = extend(&mut ledger, source, &cp, old)?;
    out.previous = old;
    Ok(out)
}

/// Writes fork evidence (docs/FORKS.md, canonical JSON) into `state` under a new name and
/// returns the error naming it.
fn write_fork(state: &Path, text: &[u8], (a, b): (u64, u64), reason: String) -> FollowError {
    for k in 0..1000u32 {
        let name = if k == 0 {
            format!("fork-evidence-{a}-{b}.json")
        } else {
            format!("fork-evidence-{a}-{b}.{k}.json")
        };
        let file = state.join(name);
        match write_new(&file, text, false, false) {
            Ok(()) => {
                if let Err(e) = crate::ledger::sync_dir(state) {
                    return e.into();
                }
                return FollowError::Fork { reason, file };
            }
            Err(StoreError::Exists(_)) => {}
            Err(e) => {
                return FollowError::Store(StoreError::Usage(format!(
                    "{reason}; the fork evidence could not be written: {e}"
                )))
            }
        }
    }
    FollowError::Store(StoreError::Usage(format!(
        "{reason}; the fork evidence could not be written: 1000 evidence files already"
    )))
}
