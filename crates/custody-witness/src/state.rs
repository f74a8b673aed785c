//! The witness's state directory: per log, the latest checkpoint it cosigned, kept so that
//! no crash, restart or second process can ever make it cosign two inconsistent checkpoints.
//!
//! This module owns the directory and its one file format (`docs/WITNESS.md`, "State"):
//!
//! ```text
//! DIR/lock     empty; an exclusive flock(2) on it is held while a process uses DIR
//! DIR/state    the whole state, rewritten by every commit
//! DIR/forks/   fork evidence the witness wrote when a log contradicted itself (never read)
//! ```
//!
//! A commit writes `DIR/state.tmp` (created fresh, never through a link), fsyncs it, renames
//! it over `DIR/state` and fsyncs `DIR`: after a crash at any instant `DIR/state` is either
//! the state before the commit or the state after it, never a mix. Callers release a
//! cosignature only after [`StateDir::commit`] returned, so every cosignature that ever left
//! the witness is covered by its durable state.
//!
//! The directory is refused (one line, nothing changed) when it is a symbolic link, holds
//! any entry but `lock`, `state`, a stale `state.tmp` and a real `forks` directory, when
//! `state` is not a regular file, is larger than [`MAX_STATE_BYTES`], fails its checksum or
//! its strict parse, or holds a record whose cosignature line this witness's key does not
//! verify. It never touches a ledger directory.

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use custody_core::checkpoint::{b64_strict, valid_origin};
use custody_core::cosignature::{split_note, CosignatureLine, CosignatureVerifier};
use custody_core::hash::Digest;
use custody_core::merkle::MAX_TREE_SIZE;
use custody_core::witness::{Cosigned, MAX_LOGS, MAX_STORED_NOTE_BYTES};
use ed25519_dalek::VerifyingKey;
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The first line of a state file.
pub const STATE_HEADER: &str = "custody-witness-state v1";
/// The largest state file read: every log's record at its largest, and the header.
pub const MAX_STATE_BYTES: u64 =
    (MAX_LOGS as u64) * (MAX_STORED_NOTE_BYTES as u64 * 4 / 3 + 400) + 4096;
/// The most directory entries looked at before a directory is refused as not ours.
const MAX_DIR_ENTRIES: usize = 16;

const LOCK: &str = "lock";
const STATE: &str = "state";
const TEMP: &str = "state.tmp";
/// The directory of fork evidence the witness wrote (`docs/WITNESS.md`, "Fork evidence").
pub const FORKS: &str = "forks";
/// The most fork evidence files kept in `DIR/forks` (each at most 278,528 bytes, so at most
/// about 68 MiB): a log that forks again and again cannot fill the disk.
pub const MAX_FORK_FILES: usize = 256;
/// The most fork evidence files for one log, so one log's forks leave room for the others.
pub const MAX_FORK_FILES_PER_LOG: usize = 16;

/// Why the state directory could not be used. Each names the path and says what to do.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StateError {
    /// An I/O failure.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The state path is not a real directory.
    #[error("{path} is {what}; the witness keeps its state only in a real directory")]
    NotADirectory {
        /// The path.
        path: String,
        /// What it is instead.
        what: &'static str,
    },
    /// An entry that a witness never writes.
    #[error(
        "{path} holds {entry:?}, which a custody witness never writes there (was it planted?); \
         the state directory holds only lock, state and forks: remove it, or choose another directory"
    )]
    Unexpected {
        /// The directory.
        path: String,
        /// The entry's name (lossy).
        entry: String,
    },
    /// Another process holds the directory.
    #[error("{path} is in use by another witness process (it holds the lock); two processes must never share one state")]
    Locked {
        /// The lock file.
        path: String,
    },
    /// Nothing was initialised there.
    #[error(
        "{path} holds no witness state; create it once with `custody witness init` (a witness \
         whose state was lost must get a new key and name, never start again from nothing)"
    )]
    NotInitialised {
        /// The directory.
        path: String,
    },
    /// `init` on a directory that holds something.
    #[error("{path} already exists and is not empty; choose another directory (the witness never overwrites state)")]
    AlreadyInitialised {
        /// The directory.
        path: String,
    },
    /// The state file is damaged or was not written by a custody witness.
    #[error("{path} is not a valid witness state: {reason}; restore it from a backup of this witness (never edit or recreate it)")]
    Corrupt {
        /// The state file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The state belongs to another witness key or name.
    #[error("{path} belongs to witness {stored}, not to {given}; a witness's state is never reused by another key or name")]
    Mismatch {
        /// The state file.
        path: String,
        /// The stored witness vkey.
        stored: String,
        /// The one given.
        given: String,
    },
    /// A bad witness name or key given to `init`.
    #[error("{0}")]
    Identity(String),
    /// Too many logs.
    #[error("the state would hold more than {MAX_LOGS} logs")]
    TooManyLogs,
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// One log's record: the latest cosigned checkpoint and the note served for it (its body,
/// the log signature lines the witness verified and the witness's own cosignature line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Size, root and time of the latest cosignature.
    pub cosigned: Cosigned,
    /// The cosigned checkpoint note.
    pub note: String,
}

impl Record {
    fn line(&self, origin: &str) -> String {
        format!(
            "log {origin} {} {} {} {}\n",
            self.cosigned.size,
            B64.encode(self.cosigned.root.0),
            self.cosigned.time,
            B64.encode(self.note.as_bytes())
        )
    }
}

/// The whole state: the witness's identity and every log's record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    /// The witness's verifier (its name and cosignature key).
    pub witness: CosignatureVerifier,
    /// Per origin, the record.
    pub logs: BTreeMap<String, Record>,
}

impl State {
    /// The state file's bytes (canonical: logs in origin order, one checksum line).
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let lines: Vec<String> = self.logs.iter().map(|(o, r)| r.line(o)).collect();
        encode(&self.witness, lines.iter().map(String::as_str))
    }

    /// Parses a state file strictly: header, name, key, log lines in increasing origin
    /// order, and a SHA-256 of everything before the last line; every record's note must
    /// be this record's checkpoint and end in this witness's valid cosignature at its time.
    ///
    /// # Errors
    /// A description of the first defect.
    pub fn decode(bytes: &[u8]) -> Result<State, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned())?;
        let body = text
            .strip_suffix('\n')
            .ok_or("the last line does not end in a newline")?;
        let (before, sum_line) = body.rsplit_once('\n').ok_or("no checksum line")?;
        let sum = sum_line
            .strip_prefix("sha256 ")
            .ok_or("the last line is not the sha256 line")?;
        let covered = &text[..before.len() + 1];
        if Digest::of(covered.as_bytes()).to_hex() != sum {
            return Err("the checksum does not match (the file was damaged or edited)".into());
        }
        let mut lines = before.split('\n');
        if lines.next() != Some(STATE_HEADER) {
            return Err(format!("the first line is not {STATE_HEADER:?}"));
        }
        let name = lines
            .next()
            .and_then(|l| l.strip_prefix("name "))
            .ok_or("no name line")?;
        let key = lines
            .next()
            .and_then(|l| l.strip_prefix("key "))
            .and_then(b64_strict)
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .and_then(|b| VerifyingKey::from_bytes(&b).ok())
            .ok_or("no valid key line")?;
        let witness = CosignatureVerifier::new(name, key).map_err(|e| e.to_string())?;
        let mut logs = BTreeMap::new();
        for (i, line) in lines.enumerate() {
            if i == MAX_LOGS {
                return Err(format!("more than {MAX_LOGS} logs"));
            }
            let (origin, record) =
                parse_log_line(line, &witness).map_err(|e| format!("log record {}: {e}", i + 1))?;
            if logs
                .last_key_value()
                .is_some_and(|(last, _)| *last >= origin)
            {
                return Err(format!(
                    "log record {}: not in increasing origin order",
                    i + 1
                ));
            }
            logs.insert(origin, record);
        }
        Ok(State { witness, logs })
    }
}

/// The file: header, identity, the log lines as given, and the checksum of all of it.
fn encode<'a>(witness: &CosignatureVerifier, lines: impl Iterator<Item = &'a str>) -> Vec<u8> {
    let mut s = String::with_capacity(4096);
    s.push_str(STATE_HEADER);
    s.push('\n');
    s.push_str(&format!("name {}\n", witness.name()));
    s.push_str(&format!(
        "key {}\n",
        B64.encode(witness.verifying_key().as_bytes())
    ));
    for line in lines {
        s.push_str(line);
    }
    let sum = Digest::of(s.as_bytes());
    s.push_str(&format!("sha256 {}\n", sum.to_hex()));
    s.into_bytes()
}

fn decimal(s: &str) -> Option<u64> {
    let canonical = !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s.len() == 1 || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

fn parse_log_line(line: &str, witness: &CosignatureVerifier) -> Result<(String, Record), String> {
    let mut f = line.split(' ');
    if f.next() != Some("log") {
        return Err("not a log line".into());
    }
    let (Some(origin), Some(size), Some(root), Some(time), Some(note), None) =
        (f.next(), f.next(), f.next(), f.next(), f.next(), f.next())
    else {
        return Err("want: log ORIGIN SIZE ROOT TIME NOTE".into());
    };
    if !valid_origin(origin) {
        return Err("the origin is not valid".into());
    }
    let size = decimal(size)
        .filter(|s| *s <= MAX_TREE_SIZE)
        .ok_or("bad size")?;
    let root = b64_strict(root)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map(Digest)
        .ok_or("bad root")?;
    let time = decimal(time)
        .filter(|t| (1..=custody_core::witness::MAX_TIME).contains(t))
        .ok_or("bad time")?;
    let note = b64_strict(note)
        .filter(|n| n.len() <= MAX_STORED_NOTE_BYTES)
        .and_then(|n| String::from_utf8(n).ok())
        .ok_or("bad note")?;
    // The note must be this checkpoint, and end in this witness's cosignature at `time`:
    // a record cannot be made without the witness key.
    let split = split_note(note.as_bytes()).map_err(|e| e.to_string())?;
    let cp = tlog_tiles::Checkpoint::from_bytes(split.body.as_bytes())
        .map_err(|_| "the note's body is not a checkpoint")?;
    if cp.origin() != origin || cp.size() != size || Digest::from(*cp.hash()) != root {
        return Err("the note is not the recorded checkpoint".into());
    }
    let last = split.lines.last().ok_or("the note has no signature")?;
    if witness.verify(split.body.as_bytes(), last) != (CosignatureLine::Valid { time }) {
        return Err(
            "the note's last line is not this witness's cosignature at the recorded time".into(),
        );
    }
    Ok((
        origin.to_owned(),
        Record {
            cosigned: Cosigned { size, root, time },
            note,
        },
    ))
}

/// Refuses anything at `dir` but a real directory.
fn real_dir(dir: &Path) -> Result<(), StateError> {
    let m = fs::symlink_metadata(dir).map_err(io_at(dir))?;
    if m.file_type().is_symlink() {
        return Err(StateError::NotADirectory {
            path: dir.display().to_string(),
            what: "a symbolic link",
        });
    }
    if !m.is_dir() {
        return Err(StateError::NotADirectory {
            path: dir.display().to_string(),
            what: "not a directory",
        });
    }
    Ok(())
}

/// Opens a regular file in the state directory without following a link or blocking on a
/// FIFO, and checks the opened file is regular.
fn open_regular(path: &Path, opts: &mut OpenOptions) -> Result<File, StateError> {
    let file = opts
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                StateError::Unexpected {
                    path: path.parent().unwrap_or(path).display().to_string(),
                    entry: format!("a symbolic link at {}", path.display()),
                }
            } else {
                io_at(path)(e)
            }
        })?;
    let m = file.metadata().map_err(io_at(path))?;
    if !m.is_file() {
        return Err(StateError::Unexpected {
            path: path.parent().unwrap_or(path).display().to_string(),
            entry: format!("{} (not a regular file)", path.display()),
        });
    }
    Ok(file)
}

/// Reads the state file at `path`, bounded, strictly.
fn read_state(path: &Path) -> Result<State, StateError> {
    let file = match open_regular(path, OpenOptions::new().read(true)) {
        Err(StateError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            return Err(StateError::NotInitialised {
                path: path.parent().unwrap_or(path).display().to_string(),
            })
        }
        r => r?,
    };
    let mut bytes = Vec::new();
    file.take(MAX_STATE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_at(path))?;
    if bytes.len() as u64 > MAX_STATE_BYTES {
        return Err(StateError::Corrupt {
            path: path.display().to_string(),
            reason: format!("larger than {MAX_STATE_BYTES} bytes"),
        });
    }
    State::decode(&bytes).map_err(|reason| StateError::Corrupt {
        path: path.display().to_string(),
        reason,
    })
}

/// The state directory, opened by one process: the lock is held for as long as this lives.
#[derive(Debug)]
pub struct StateDir {
    dir: PathBuf,
    dir_handle: File,
    _lock: File,
    state: State,
    /// Each log's encoded line, so a commit re-encodes only what changed.
    lines: BTreeMap<String, String>,
}

impl StateDir {
    /// Creates a new state directory at `dir` (which must not exist, or be an empty real
    /// directory; its parent must exist) for witness `name` with cosignature key `key`.
    ///
    /// # Errors
    /// [`StateError::AlreadyInitialised`], [`StateError::Identity`] or I/O errors.
    pub fn init(dir: &Path, name: &str, key: VerifyingKey) -> Result<StateDir, StateError> {
        let witness = CosignatureVerifier::new(name, key)
            .map_err(|e| StateError::Identity(format!("witness name or key: {e}")))?;
        match fs::symlink_metadata(dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::DirBuilder::new()
                    .mode(0o700)
                    .create(dir)
                    .map_err(io_at(dir))?;
                if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                    File::open(parent)
                        .and_then(|d| d.sync_all())
                        .map_err(io_at(parent))?;
                }
            }
            Err(e) => return Err(io_at(dir)(e)),
            Ok(_) => {
                real_dir(dir)?;
                let mut entries = fs::read_dir(dir).map_err(io_at(dir))?;
                if entries.next().is_some() {
                    return Err(StateError::AlreadyInitialised {
                        path: dir.display().to_string(),
                    });
                }
            }
        }
        let lock_path = dir.join(LOCK);
        let lock = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&lock_path)
            .map_err(io_at(&lock_path))?;
        lock.try_lock().map_err(|_| StateError::Locked {
            path: lock_path.display().to_string(),
        })?;
        let dir_handle = File::open(dir).map_err(io_at(dir))?;
        let mut s = StateDir {
            dir: dir.to_owned(),
            dir_handle,
            _lock: lock,
            state: State {
                witness,
                logs: BTreeMap::new(),
            },
            lines: BTreeMap::new(),
        };
        s.write()?;
        Ok(s)
    }

    /// Opens an initialised state directory: takes the exclusive lock (refusing to wait for
    /// another process), checks every entry, removes a stale `state.tmp` a crash left, and
    /// reads the state strictly.
    ///
    /// # Errors
    /// Every [`StateError`] but `AlreadyInitialised` and `Identity`.
    pub fn open(dir: &Path) -> Result<StateDir, StateError> {
        real_dir(dir)?;
        check_entries(dir)?;
        let lock_path = dir.join(LOCK);
        let lock = match open_regular(&lock_path, OpenOptions::new().read(true).write(true)) {
            Err(StateError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                return Err(StateError::NotInitialised {
                    path: dir.display().to_string(),
                })
            }
            r => r?,
        };
        lock.try_lock().map_err(|_| StateError::Locked {
            path: lock_path.display().to_string(),
        })?;
        // Under the lock: a temporary file is what a commit cut short left behind.
        remove_temp(dir)?;
        remove_fork_temps(dir)?;
        let state = read_state(&dir.join(STATE))?;
        let dir_handle = File::open(dir).map_err(io_at(dir))?;
        let lines = state
            .logs
            .iter()
            .map(|(o, r)| (o.clone(), r.line(o)))
            .collect();
        Ok(StateDir {
            dir: dir.to_owned(),
            dir_handle,
            _lock: lock,
            state,
            lines,
        })
    }

    /// Reads the state without taking the lock (for printing the witness's key while it
    /// serves): the rename in [`StateDir::commit`] makes every read see one whole state.
    ///
    /// # Errors
    /// As [`StateDir::open`], without `Locked`.
    pub fn read(dir: &Path) -> Result<State, StateError> {
        real_dir(dir)?;
        check_entries(dir)?;
        read_state(&dir.join(STATE))
    }

    /// The state as last committed.
    #[must_use]
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The directory.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Stores `updates` (origin, record) in one durable write: temp file, fsync, rename,
    /// fsync of the directory. Returns once all of it is on disk; the in-memory state
    /// changes only then.
    ///
    /// # Errors
    /// [`StateError::TooManyLogs`] or an I/O error; then the state on disk is either the one
    /// before or the one after, and the caller must not use this `StateDir` again (after a
    /// failed fsync the kernel's view of the file is unknown).
    pub fn commit(&mut self, updates: Vec<(String, Record)>) -> Result<(), StateError> {
        let new_logs = updates
            .iter()
            .filter(|(o, _)| !self.state.logs.contains_key(o))
            .count();
        if self.state.logs.len() + new_logs > MAX_LOGS {
            return Err(StateError::TooManyLogs);
        }
        let old: Vec<(String, Option<String>)> = updates
            .iter()
            .map(|(o, r)| (o.clone(), self.lines.insert(o.clone(), r.line(o))))
            .collect();
        if let Err(e) = self.write() {
            // Put the lines back, so the in-memory state stays the last durable one.
            for (o, line) in old {
                match line {
                    Some(l) => self.lines.insert(o, l),
                    None => self.lines.remove(&o),
                };
            }
            return Err(e);
        }
        for (o, r) in updates {
            self.state.logs.insert(o, r);
        }
        Ok(())
    }

    /// Keeps fork evidence `bytes` (already verified by the caller) about log `origin` as
    /// `DIR/forks/<first 16 hex of SHA-256(origin)>-<hex SHA-256(bytes)>.json`: temp file,
    /// fsync, rename, fsync of `DIR/forks` (and of `DIR` when `forks` is new). A file of that
    /// name is the same evidence, so a repeat writes nothing; past [`MAX_FORK_FILES`] or
    /// [`MAX_FORK_FILES_PER_LOG`] nothing is written either. The witness's state is not
    /// touched.
    ///
    /// # Errors
    /// I/O errors, or `forks` not a real directory.
    pub fn record_fork(&mut self, origin: &str, bytes: &[u8]) -> Result<Fork, StateError> {
        let forks = self.dir.join(FORKS);
        match fs::symlink_metadata(&forks) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::DirBuilder::new()
                    .mode(0o700)
                    .create(&forks)
                    .map_err(io_at(&forks))?;
                self.dir_handle.sync_all().map_err(io_at(&self.dir))?;
            }
            Err(e) => return Err(io_at(&forks)(e)),
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(StateError::NotADirectory {
                    path: forks.display().to_string(),
                    what: "not a real directory",
                })
            }
        }
        let prefix = format!("{}-", &Digest::of(origin.as_bytes()).to_hex()[..16]);
        let name = format!("{prefix}{}.json", Digest::of(bytes).to_hex());
        let path = forks.join(&name);
        if fs::symlink_metadata(&path).is_ok() {
            return Ok(Fork::AlreadyKept(path));
        }
        let (mut total, mut this_log) = (0, 0);
        // Bounded: a directory with more entries than the cap is full, however many it has.
        for e in fs::read_dir(&forks)
            .map_err(io_at(&forks))?
            .take(MAX_FORK_FILES + 1)
        {
            let n = e.map_err(io_at(&forks))?.file_name();
            let n = n.to_string_lossy();
            total += 1;
            this_log += usize::from(n.starts_with(&prefix));
        }
        if total >= MAX_FORK_FILES || this_log >= MAX_FORK_FILES_PER_LOG {
            return Ok(Fork::Full(forks));
        }
        let temp = forks.join(format!("{name}.tmp"));
        match fs::remove_file(&temp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_at(&temp)(e)),
            _ => {}
        }
        write_new(&temp, bytes)?;
        fs::rename(&temp, &path).map_err(io_at(&path))?;
        File::open(&forks)
            .and_then(|d| d.sync_all())
            .map_err(io_at(&forks))?;
        Ok(Fork::Written(path))
    }

    fn write(&mut self) -> Result<(), StateError> {
        let bytes = encode(&self.state.witness, self.lines.values().map(String::as_str));
        let temp = self.dir.join(TEMP);
        remove_temp(&self.dir)?;
        write_new(&temp, &bytes)?;
        let state = self.dir.join(STATE);
        fs::rename(&temp, &state).map_err(io_at(&state))?;
        self.dir_handle.sync_all().map_err(io_at(&self.dir))
    }
}

/// Writes `bytes` to a new file `temp` (0600, never through a link, never over a file) and
/// fsyncs it: the first half of every durable replace here; the caller renames and fsyncs
/// the directory.
fn write_new(temp: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(temp)
        .map_err(io_at(temp))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(io_at(temp))
}

/// Refuses any entry but ours; bounded, so a directory of millions is refused quickly.
fn check_entries(dir: &Path) -> Result<(), StateError> {
    for (i, e) in fs::read_dir(dir).map_err(io_at(dir))?.enumerate() {
        let e = e.map_err(io_at(dir))?;
        let name = e.file_name();
        if name == FORKS {
            // Written into, so never a link that would send the evidence elsewhere.
            let m = fs::symlink_metadata(e.path()).map_err(io_at(dir))?;
            if !m.is_dir() {
                return Err(StateError::Unexpected {
                    path: dir.display().to_string(),
                    entry: format!("{FORKS} (not a real directory)"),
                });
            }
        }
        if i >= MAX_DIR_ENTRIES || ![LOCK, STATE, TEMP, FORKS].iter().any(|n| name == *n) {
            return Err(StateError::Unexpected {
                path: dir.display().to_string(),
                entry: name.to_string_lossy().into_owned(),
            });
        }
    }
    Ok(())
}

/// What [`StateDir::record_fork`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fork {
    /// The evidence is now in this file.
    Written(PathBuf),
    /// This file already held the same evidence; nothing was written.
    AlreadyKept(PathBuf),
    /// The directory holds its most files (or this log its most); nothing was written.
    Full(PathBuf),
}

/// Removes the `DIR/forks/*.tmp` a crash left (bounded; links removed, never followed).
fn remove_fork_temps(dir: &Path) -> Result<(), StateError> {
    let forks = dir.join(FORKS);
    let entries = match fs::read_dir(&forks) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        r => r.map_err(io_at(&forks))?,
    };
    for e in entries.take(MAX_FORK_FILES + 64) {
        let e = e.map_err(io_at(&forks))?;
        if e.file_name().to_string_lossy().ends_with(".tmp") {
            let p = e.path();
            match fs::symlink_metadata(&p) {
                Ok(m) if !m.is_dir() => fs::remove_file(&p).map_err(io_at(&p))?,
                _ => {}
            }
        }
    }
    Ok(())
}

/// Removes `DIR/state.tmp` if present (a link is removed, never followed); a directory
/// there is refused.
fn remove_temp(dir: &Path) -> Result<(), StateError> {
    let temp = dir.join(TEMP);
    match fs::symlink_metadata(&temp) {
        Ok(m) if m.is_dir() => Err(StateError::Unexpected {
            path: dir.display().to_string(),
            entry: format!("{TEMP} (a directory)"),
        }),
        Ok(_) => fs::remove_file(&temp).map_err(io_at(&temp)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_at(&temp)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_core::cosignature::cosign;
    use ed25519_dalek::SigningKey;

    const NAME: &str = "witness.example.org/test";

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[11u8; 32])
    }

    /// A record for `origin` at `size`, cosigned by `signer` at `time`.
    fn record(origin: &str, size: u64, time: u64, signer: &SigningKey) -> Record {
        let root = Digest::leaf(format!("{origin} {size}").as_bytes());
        let body = format!("{origin}\n{size}\n{}\n", B64.encode(root.0));
        let line = cosign(body.as_bytes(), NAME, signer, time).unwrap();
        Record {
            cosigned: Cosigned { size, root, time },
            note: format!("{body}\n{line}"),
        }
    }

    fn tmp() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn init_commit_reopen_round_trips() {
        let t = tmp();
        let dir = t.path().join("w");
        let mut s = StateDir::init(&dir, NAME, key().verifying_key()).unwrap();
        assert!(s.state().logs.is_empty());
        s.commit(vec![
            (
                "b.example/log".into(),
                record("b.example/log", 3, 10, &key()),
            ),
            (
                "a.example/log".into(),
                record("a.example/log", 1, 11, &key()),
            ),
        ])
        .unwrap();
        s.commit(vec![(
            "b.example/log".into(),
            record("b.example/log", 5, 12, &key()),
        )])
        .unwrap();
        let before = s.state().clone();
        drop(s);
        let s = StateDir::open(&dir).unwrap();
        assert_eq!(s.state(), &before);
        assert_eq!(s.state().logs["b.example/log"].cosigned.size, 5);
        // The file is canonical: decoding and encoding gives it back.
        let bytes = fs::read(dir.join(STATE)).unwrap();
        assert_eq!(State::decode(&bytes).unwrap().encode(), bytes);
        assert_eq!(StateDir::read(&dir).unwrap(), before);
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(&dir), mode(&dir.join(STATE))), (0o700, 0o600));
    }

    #[test]
    fn a_second_process_is_refused() {
        let t = tmp();
        let dir = t.path().join("w");
        let s = StateDir::init(&dir, NAME, key().verifying_key()).unwrap();
        // flock(2) locks belong to the open file, so a second open in this process is
        // refused exactly as another process's would be.
        assert!(matches!(
            StateDir::open(&dir),
            Err(StateError::Locked { .. })
        ));
        drop(s);
        assert!(StateDir::open(&dir).is_ok());
    }

    #[test]
    fn init_refuses_a_used_directory_and_open_an_empty_one() {
        let t = tmp();
        let dir = t.path().join("w");
        drop(StateDir::init(&dir, NAME, key().verifying_key()).unwrap());
        assert!(matches!(
            StateDir::init(&dir, NAME, key().verifying_key()),
            Err(StateError::AlreadyInitialised { .. })
        ));
        let empty = t.path().join("empty");
        fs::create_dir(&empty).unwrap();
        assert!(matches!(
            StateDir::open(&empty),
            Err(StateError::NotInitialised { .. })
        ));
        assert!(matches!(
            StateDir::init(&t.path().join("x"), "bad name", key().verifying_key()),
            Err(StateError::Identity(_))
        ));
    }

    #[test]
    fn planted_entries_and_links_are_refused() {
        let t = tmp();
        let dir = t.path().join("w");
        drop(StateDir::init(&dir, NAME, key().verifying_key()).unwrap());
        // A symbolic link as the directory.
        let link = t.path().join("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        assert!(matches!(
            StateDir::open(&link),
            Err(StateError::NotADirectory { .. })
        ));
        // An extra file.
        fs::write(dir.join("evil"), b"x").unwrap();
        let e = StateDir::open(&dir).unwrap_err();
        assert!(matches!(e, StateError::Unexpected { .. }), "{e}");
        fs::remove_file(dir.join("evil")).unwrap();
        // The state file replaced by a link to a valid state elsewhere.
        let other = t.path().join("other");
        drop(StateDir::init(&other, NAME, key().verifying_key()).unwrap());
        fs::rename(dir.join(STATE), t.path().join("saved")).unwrap();
        std::os::unix::fs::symlink(other.join(STATE), dir.join(STATE)).unwrap();
        let e = StateDir::open(&dir).unwrap_err();
        assert!(matches!(e, StateError::Unexpected { .. }), "{e}");
        fs::remove_file(dir.join(STATE)).unwrap();
        // A FIFO as the state file: refused at once, never waited on.
        // Made in-process: a child forked by this test binary inherits every open descriptor
        // until it execs, so a state lock another test held at that instant would outlive its
        // StateDir and that test's next open would be refused as Locked.
        rustix::fs::mkfifoat(rustix::fs::CWD, dir.join(STATE), rustix::fs::Mode::RUSR).unwrap();
        let e = StateDir::open(&dir).unwrap_err();
        assert!(matches!(e, StateError::Unexpected { .. }), "{e}");
        fs::remove_file(dir.join(STATE)).unwrap();
        fs::rename(t.path().join("saved"), dir.join(STATE)).unwrap();
        // A stale temp file (a crash mid-commit) is removed; a link there is removed, not
        // followed; a directory there is refused.
        let target = t.path().join("target");
        fs::write(&target, b"keep").unwrap();
        std::os::unix::fs::symlink(&target, dir.join(TEMP)).unwrap();
        drop(StateDir::open(&dir).unwrap());
        assert!(!dir.join(TEMP).exists());
        assert_eq!(fs::read(&target).unwrap(), b"keep");
        fs::create_dir(dir.join(TEMP)).unwrap();
        assert!(matches!(
            StateDir::open(&dir),
            Err(StateError::Unexpected { .. })
        ));
    }

    #[test]
    fn fork_files_are_named_by_content_bounded_and_never_through_a_link() {
        let t = tmp();
        let dir = t.path().join("w");
        let mut s = StateDir::init(&dir, NAME, key().verifying_key()).unwrap();
        let Fork::Written(p) = s.record_fork("a.example/log", b"one").unwrap() else {
            panic!("not written")
        };
        assert_eq!(fs::read(&p).unwrap(), b"one");
        assert!(p
            .to_string_lossy()
            .ends_with(&format!("-{}.json", Digest::of(b"one").to_hex())));
        assert_eq!(
            s.record_fork("a.example/log", b"one").unwrap(),
            Fork::AlreadyKept(p.clone())
        );
        for i in 1..MAX_FORK_FILES_PER_LOG {
            let r = s.record_fork("a.example/log", format!("{i}").as_bytes());
            assert!(matches!(r, Ok(Fork::Written(_))), "{r:?}");
        }
        assert!(matches!(
            s.record_fork("a.example/log", b"one more"),
            Ok(Fork::Full(_))
        ));
        // Another log still has room.
        assert!(matches!(
            s.record_fork("b.example/log", b"one more"),
            Ok(Fork::Written(_))
        ));
        drop(s);
        // A stale temp file is removed at open; the state opens with forks/ present.
        fs::write(dir.join(FORKS).join("x.json.tmp"), b"half").unwrap();
        drop(StateDir::open(&dir).unwrap());
        assert!(!dir.join(FORKS).join("x.json.tmp").exists());
        // forks as a link elsewhere is refused.
        fs::rename(dir.join(FORKS), t.path().join("elsewhere")).unwrap();
        std::os::unix::fs::symlink(t.path().join("elsewhere"), dir.join(FORKS)).unwrap();
        let e = StateDir::open(&dir).unwrap_err();
        assert!(matches!(e, StateError::Unexpected { .. }), "{e}");
    }

    #[test]
    fn damaged_or_forged_state_is_refused() {
        let t = tmp();
        let dir = t.path().join("w");
        let mut s = StateDir::init(&dir, NAME, key().verifying_key()).unwrap();
        s.commit(vec![(
            "a.example/log".into(),
            record("a.example/log", 4, 10, &key()),
        )])
        .unwrap();
        drop(s);
        let good = fs::read(dir.join(STATE)).unwrap();
        let put = |bytes: &[u8]| fs::write(dir.join(STATE), bytes).unwrap();
        // Every single flipped byte is refused (checksum, or the parse).
        for i in 0..good.len() {
            let mut b = good.clone();
            b[i] ^= 0x01;
            put(&b);
            let r = StateDir::open(&dir);
            assert!(
                matches!(r, Err(StateError::Corrupt { .. })),
                "byte {i}: {r:?}"
            );
        }
        // Truncated anywhere.
        for cut in [0, 10, good.len() / 2, good.len() - 1] {
            put(&good[..cut]);
            assert!(matches!(
                StateDir::open(&dir),
                Err(StateError::Corrupt { .. })
            ));
        }
        // A record with a valid checksum but a cosignature by another key (planted with a
        // recomputed checksum): refused.
        let other = SigningKey::from_bytes(&[12u8; 32]);
        let forged = State {
            witness: CosignatureVerifier::new(NAME, key().verifying_key()).unwrap(),
            logs: [(
                "a.example/log".to_owned(),
                record("a.example/log", 2, 10, &other),
            )]
            .into(),
        };
        put(&forged.encode());
        let e = StateDir::open(&dir).unwrap_err();
        assert!(e.to_string().contains("cosignature"), "{e}");
        // A record whose size differs from its note's.
        let mut r = record("a.example/log", 2, 10, &key());
        r.cosigned.size = 3;
        let forged = State {
            logs: [("a.example/log".to_owned(), r)].into(),
            ..forged
        };
        put(&forged.encode());
        assert!(matches!(
            StateDir::open(&dir),
            Err(StateError::Corrupt { .. })
        ));
        // Too large.
        put(&vec![b'a'; MAX_STATE_BYTES as usize + 1]);
        assert!(matches!(
            StateDir::open(&dir),
            Err(StateError::Corrupt { .. })
        ));
        put(&good);
        assert_eq!(StateDir::open(&dir).unwrap().state().logs.len(), 1);
    }
}
