//! `custody publish`: a ledger's latest recorded checkpoint as C2SP tlog-tiles in a directory
//! that any static web server, object store or CDN can serve (docs/PUBLISHING.md).
//!
//! ```text
//! DIR/
//!   checkpoint                 the signed note, as recorded (cosignatures included)
//!   tile/<L>/<N>[.p/<W>]       hash tiles (256 hashes of tree level 8L; .p/W: W of them)
//!   tile/entries/<N>[.p/<W>]   entry bundles (the entries of level-0 tile N)
//! ```
//!
//! What is published comes only from this machine's verified view of the ledger: the ledger is
//! opened (and brought up to date) through [`Ledger::open`], the checkpoint is the latest one
//! that opens under the operator key and matches the verified tree, hash tiles are read from
//! the verified stored hashes, and entry bundles from entries checked against their verified
//! leaf hashes. Nothing is read back from `DIR` except to compare.
//!
//! Every tile path names fixed bytes (a partial tile's width is in its path), so a tile is
//! written once: one already there must hold exactly the same bytes, or publishing stops (the
//! directory holds another log, or was changed). Tiles are written to temporary files in batches;
//! a batch is fsynced (its files concurrently, so the file system commits them together instead
//! of once per file) and only then renamed into place, so a tile's name only ever holds its
//! complete bytes; then every folder written is fsynced; the checkpoint is replaced the same
//! way, and last, so a reader never sees a checkpoint whose tiles are missing. Only the tiles that change between
//! the published checkpoint and the new one are written (`Tile::new_tiles`). No symbolic link or
//! other non-regular file under `DIR` is followed.

use crate::error::StoreError;
use crate::files::{create_temp_nofollow, io_at, open_regular};
use crate::ledger::{sync_dir, Ledger};
use custody_core::checkpoint::{self, SignedCheckpoint, MAX_NOTE_BYTES};
use custody_core::hash::Digest;
use custody_core::tiles::{self, TileId, MAX_BUNDLE_BYTES};
use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The published checkpoint's file name in the directory.
pub const CHECKPOINT_FILE: &str = "checkpoint";

/// What one `publish` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The tree size now published.
    pub size: u64,
    /// Its root.
    pub root: Digest,
    /// The tree size the directory published before (0 if it published nothing).
    pub previous: u64,
    /// Tiles and bundles written now (paths relative to the directory), in the order written.
    pub written: Vec<String>,
    /// Tiles and bundles that were already there with the same bytes.
    pub unchanged: u64,
    /// Whether `checkpoint` was written (it is not when it already held this note).
    pub checkpoint_written: bool,
}

/// Publishes `ledger`'s latest recorded checkpoint into `dir` (created if missing).
///
/// # Errors
/// [`StoreError::Usage`] when the ledger has no recorded checkpoint, or `dir` publishes
/// another log, a larger tree, or a tile whose bytes differ from this log's;
/// [`StoreError::Io`] naming the file, including a symbolic link or non-regular file in the way.
pub fn publish(ledger: &Ledger, dir: &Path) -> Result<Published, StoreError> {
    let verifier = ledger.operator_verifier()?;
    let cp = ledger.latest_checkpoint(&verifier)?.ok_or_else(|| {
        StoreError::Usage(format!(
            "{} has no recorded checkpoint to publish; sign one first with `custody checkpoint {} --key OPERATOR_KEY`",
            ledger.dir().display(),
            ledger.dir().display()
        ))
    })?;
    publish_checkpoint(ledger, &cp, dir)
}

/// Publishes checkpoint `cp` of `ledger` into `dir` (created if missing): what [`publish`] does
/// once it picked the checkpoint. `custody serve --publish` calls it after each checkpoint it
/// signs. `cp`'s note must open under the ledger's operator key and sign the ledger's root at
/// its size; it is checked again here.
///
/// # Errors
/// As [`publish`]; [`StoreError::Usage`] when `cp` is not a checkpoint of this ledger.
pub fn publish_checkpoint(
    ledger: &Ledger,
    cp: &SignedCheckpoint,
    dir: &Path,
) -> Result<Published, StoreError> {
    let verifier = ledger.operator_verifier()?;
    let cp = checkpoint::open(cp.note().as_bytes(), &verifier)
        .map_err(|e| StoreError::Usage(format!("internal: not this log's checkpoint: {e}")))?;
    if cp.size() > ledger.size() || ledger.root(cp.size())? != cp.root() {
        return Err(StoreError::Usage(format!(
            "internal: the checkpoint of tree size {} is not one of this ledger's trees",
            cp.size()
        )));
    }
    fs::create_dir_all(dir).map_err(io_at(dir))?;
    let cp_path = dir.join(CHECKPOINT_FILE);
    let mut previous = 0;
    let mut same_note = false;
    if let Some(bytes) = read_existing(&cp_path, MAX_NOTE_BYTES)? {
        let old = checkpoint::open(&bytes, &verifier).map_err(|e| {
            StoreError::Usage(format!(
                "{} is not a checkpoint of this log ({e}); publish into a directory of its own",
                cp_path.display()
            ))
        })?;
        if old.size() > cp.size() {
            return Err(StoreError::Usage(format!(
                "{} already publishes tree size {}, larger than this ledger's latest checkpoint ({}); sign a newer checkpoint first",
                cp_path.display(),
                old.size(),
                cp.size()
            )));
        }
        if old.size() > ledger.size() || ledger.root(old.size())? != old.root() {
            return Err(contradiction(
                &cp_path,
                "its root is not this log's at that size",
            ));
        }
        previous = old.size();
        same_note = bytes == cp.note().as_bytes();
    }
    let mut out = Published {
        size: cp.size(),
        root: cp.root(),
        previous,
        written: Vec::new(),
        unchanged: 0,
        checkpoint_written: false,
    };
    let mut touched = BTreeSet::new();
    let mut batch = Batch::default();
    for bundle in tiles::new_bundles(previous, cp.size()).map_err(tile_err)? {
        let (start, count) = bundle.entry_range().unwrap_or((0, 0));
        let entries = (start..start + count)
            .map(|i| ledger.entry_bytes(i))
            .collect::<Result<Vec<_>, _>>()?;
        let data = tiles::encode_bundle(bundle, &entries).map_err(tile_err)?;
        put_tile(dir, bundle, &data, &mut out, &mut touched, &mut batch)?;
    }
    let hashes = ledger.stored_hashes();
    for tile in tiles::new_hash_tiles(previous, cp.size()).map_err(tile_err)? {
        let data = tiles::tile_data(tile, &hashes).map_err(tile_err)?;
        put_tile(dir, tile, &data, &mut out, &mut touched, &mut batch)?;
    }
    batch.flush()?;
    // Every tile is durable (files fsynced before they got their names, then their folders)
    // before the checkpoint that needs them replaces the old one.
    sync_all_dirs(&touched)?;
    if !same_note {
        let mut last = Batch::default();
        last.add(dir, CHECKPOINT_FILE, cp.note().as_bytes())?;
        last.flush()?;
        sync_dir(dir)?;
        out.checkpoint_written = true;
    }
    Ok(out)
}

fn tile_err(e: tiles::TileError) -> StoreError {
    StoreError::Usage(e.to_string())
}

fn contradiction(path: &Path, why: &str) -> StoreError {
    StoreError::Usage(format!(
        "{}: {why}: the published directory contradicts the log (it holds another log, or was changed); nothing more was written: publish into a new directory",
        path.display()
    ))
}

/// The bytes of `path` if it exists (at most `max`; a longer file is refused), never through a
/// symbolic link; `None` if there is nothing there.
fn read_existing(path: &Path, max: usize) -> Result<Option<Vec<u8>>, StoreError> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_at(path)(e)),
        Ok(_) => {}
    }
    let mut bytes = Vec::new();
    open_regular(path)?
        .take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io_at(path))?;
    if bytes.len() > max {
        return Err(StoreError::TooLarge {
            path: path.display().to_string(),
            what: "a published tile or checkpoint",
            max: max as u64,
        });
    }
    Ok(Some(bytes))
}

/// Makes `dir/<components>` as real directories, refusing a symbolic link or file in the way;
/// folders it creates are added to `touched` (with their parents), to be fsynced.
fn real_dirs(
    dir: &Path,
    components: &[&str],
    touched: &mut BTreeSet<PathBuf>,
) -> Result<PathBuf, StoreError> {
    let mut at = dir.to_path_buf();
    for c in components {
        let next = at.join(c);
        match fs::symlink_metadata(&next) {
            Ok(m) if m.is_dir() => {}
            Ok(m) => {
                let what = if m.file_type().is_symlink() {
                    "a symbolic link"
                } else {
                    "not a directory"
                };
                return Err(io_at(&next)(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("is {what}; custody publishes only into real directories"),
                )));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                match fs::create_dir(&next) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(io_at(&next)(e)),
                }
                touched.insert(at.clone());
            }
            Err(e) => return Err(io_at(&next)(e)),
        }
        at = next;
    }
    Ok(at)
}

/// Writes tile `tile` unless it is there already with the same bytes; refuses other bytes.
fn put_tile(
    dir: &Path,
    tile: TileId,
    data: &[u8],
    out: &mut Published,
    touched: &mut BTreeSet<PathBuf>,
    batch: &mut Batch,
) -> Result<(), StoreError> {
    let rel = tile.path();
    let parts: Vec<&str> = rel.split('/').collect();
    let Some((name, folders)) = parts.split_last() else {
        return Err(StoreError::Usage(format!("internal: tile path {rel}")));
    };
    let folder = real_dirs(dir, folders, touched)?;
    let path = folder.join(name);
    match read_existing(&path, MAX_BUNDLE_BYTES)? {
        Some(existing) if existing == data => {
            out.unchanged += 1;
            return Ok(());
        }
        Some(_) => {
            return Err(contradiction(
                &path,
                "its bytes differ from this log's tile (a tile path names fixed bytes and is written once)",
            ))
        }
        None => {}
    }
    batch.add(&folder, name, data)?;
    touched.insert(folder);
    out.written.push(rel);
    if batch.full() {
        batch.flush()?;
    }
    Ok(())
}

/// The most files, and bytes, written and held open before their fsyncs: bounds open file
/// handles and dirty memory on a first publish of millions of entries.
const BATCH_FILES: usize = 512;
const BATCH_BYTES: usize = 64 << 20;
/// Threads that fsync one batch at once. An fsync waits on the disk, not the CPU, and the
/// file system commits concurrent fsyncs together (ext4's and XFS's journal group commit), so
/// a batch costs a few commits instead of one per file.
const SYNC_WORKERS: usize = 32;

/// Files written to temporary names, not yet fsynced nor renamed. [`Batch::flush`] fsyncs them
/// all (concurrently), and only then renames each over its name: a name under `DIR` only ever
/// holds complete, durable bytes, even after a crash, so a full tile is written once.
#[derive(Default)]
struct Batch {
    files: Vec<Pending>,
    bytes: usize,
}

struct Pending {
    file: File,
    tmp: PathBuf,
    path: PathBuf,
}

impl Batch {
    /// Writes `data` to a temporary file beside `folder/name` (created without following
    /// links), to be renamed over the name by [`Batch::flush`].
    fn add(&mut self, folder: &Path, name: &str, data: &[u8]) -> Result<(), StoreError> {
        let tmp = folder.join(format!(".{name}.tmp"));
        let mut file = create_temp_nofollow(&tmp, 0o644)?;
        file.write_all(data).map_err(io_at(&tmp))?;
        self.bytes += data.len();
        self.files.push(Pending {
            file,
            tmp,
            path: folder.join(name),
        });
        Ok(())
    }

    fn full(&self) -> bool {
        self.files.len() >= BATCH_FILES || self.bytes >= BATCH_BYTES
    }

    /// Fsyncs every file of the batch, then renames each into place. The caller fsyncs the
    /// folders.
    fn flush(&mut self) -> Result<(), StoreError> {
        let files = std::mem::take(&mut self.files);
        self.bytes = 0;
        let files_ref = &files;
        parallel(files.len(), |k| {
            let p = &files_ref[k];
            p.file.sync_all().map_err(io_at(&p.tmp))
        })?;
        for p in files {
            drop(p.file);
            fs::rename(&p.tmp, &p.path).map_err(io_at(&p.path))?;
        }
        Ok(())
    }
}

/// Fsyncs every folder in `dirs`, concurrently (as [`Batch::flush`] does files).
fn sync_all_dirs(dirs: &BTreeSet<PathBuf>) -> Result<(), StoreError> {
    let dirs: Vec<&PathBuf> = dirs.iter().collect();
    parallel(dirs.len(), |k| sync_dir(dirs[k]))
}

/// Runs `job(0..n)` on up to [`SYNC_WORKERS`] threads; the first error (in index order) wins.
fn parallel<F>(n: usize, job: F) -> Result<(), StoreError>
where
    F: Fn(usize) -> Result<(), StoreError> + Sync,
{
    if n <= 1 {
        return (0..n).try_for_each(&job);
    }
    let workers = n.min(SYNC_WORKERS);
    let job = &job;
    let results: Vec<Result<(), StoreError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| s.spawn(move || (w..n).step_by(workers).try_for_each(job)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(StoreError::Usage(
                        "internal: an fsync thread panicked".into(),
                    ))
                })
            })
            .collect()
    });
    results.into_iter().collect()
}
