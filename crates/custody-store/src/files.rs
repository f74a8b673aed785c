//! Files outside the ledger directory that custody reads and writes: key files, seal files,
//! submission files, bundles, documents to hash, and outputs. One implementation each of a
//! bounded read and of a create-new-then-fsync write, so no command reads without a bound or
//! reports a file written before it is durable.
//!
//! Also the two ways custody touches a file *inside* a ledger directory, which is untrusted
//! input (a shared drive, a sync folder, a seized laptop): [`open_regular`] to read one and
//! [`create_temp_nofollow`] to create a temporary file in one. Neither follows a symbolic link
//! or blocks on a FIFO, so whoever can write the directory, with no keys, can make custody
//! refuse it but never write outside it, hang, or read without a bound.

use crate::error::StoreError;
use age::secrecy::SecretString;
use custody_core::codec::MAX_RECORD_BYTES;
use custody_core::entry::Submission;
use custody_core::hash::Digest;
use custody_core::keys::{KeyError, PublicKey, SecretKey, MAX_KEY_FILE};
use custody_core::seal::{opening_from_plaintext, Opening, SealFile};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

pub(crate) fn io_at(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Reads at most `max` bytes of `path` and refuses a longer file without reading the rest. A
/// size taken from metadata first is not enough: `/dev/zero` or a FIFO reports length 0.
///
/// # Errors
/// [`StoreError::Io`], or [`StoreError::TooLarge`] naming `what` the file was meant to be.
pub fn read_bounded(path: &Path, max: u64, what: &'static str) -> Result<Vec<u8>, StoreError> {
    read_bounded_from(File::open(path).map_err(io_at(path))?, path, max, what)
}

/// Opens a file inside a ledger directory for reading, refusing anything but a regular file.
///
/// Why: a ledger directory is untrusted, and `File::open` follows a symbolic link planted there
/// (to `/dev/zero`, a huge file, a file the reader may not disclose) and blocks forever opening
/// a FIFO. This opens with `O_NOFOLLOW` (a symbolic link as the last component fails with
/// `ELOOP` instead of being followed) and `O_NONBLOCK` (opening a FIFO returns at once), then
/// checks the opened file itself with `fstat`, so there is no window between the check and
/// the open. `O_NONBLOCK` changes nothing for reads of a regular file.
///
/// # Errors
/// [`StoreError::Io`] naming `path`: the OS error, or, for a symbolic link, FIFO, directory,
/// device or socket, a message saying which it is and that custody reads only regular files
/// in a ledger directory.
pub fn open_regular(path: &Path) -> Result<File, StoreError> {
    open_regular_with(path, OpenOptions::new().read(true))
}

/// [`open_regular`] with the caller's options (write, append, create): still `O_NOFOLLOW |
/// O_NONBLOCK`, and still only a regular file, checked on the opened handle.
///
/// # Errors
/// As [`open_regular`].
pub fn open_regular_with(path: &Path, opts: &mut OpenOptions) -> Result<File, StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = opts
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                not_regular(path, "a symbolic link")
            } else {
                io_at(path)(e)
            }
        })?;
    let kind = file.metadata().map_err(io_at(path))?.file_type();
    if kind.is_file() {
        return Ok(file);
    }
    Err(not_regular(path, file_kind(kind)))
}

/// What a file that is not a regular file is, for an error message.
fn file_kind(kind: fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else {
        "an unknown kind of file"
    }
}

/// The refusal of a ledger file that is `what` (a FIFO, a symbolic link, ...).
fn not_regular(path: &Path, what: &str) -> StoreError {
    io_at(path)(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "is {what}, not a regular file; custody reads only regular files in a ledger directory"
        ),
    ))
}

/// [`read_bounded`] for a file inside a ledger directory: opened with [`open_regular`], so a
/// symbolic link, FIFO or device planted there is refused at once instead of followed, read
/// until memory runs out, or waited on forever. User-supplied paths (a submission on
/// `/dev/stdin`, a checkpoint given to `--since`) keep using [`read_bounded`].
///
/// # Errors
/// As [`open_regular`], or [`StoreError::TooLarge`] naming `what` the file was meant to be.
pub fn read_bounded_in_ledger(
    path: &Path,
    max: u64,
    what: &'static str,
) -> Result<Vec<u8>, StoreError> {
    read_bounded_from(open_regular(path)?, path, max, what)
}

/// Reads at most `max` bytes of the open `file`, refusing a longer one.
fn read_bounded_from(
    file: File,
    path: &Path,
    max: u64,
    what: &'static str,
) -> Result<Vec<u8>, StoreError> {
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(io_at(path))?;
    if bytes.len() as u64 > max {
        return Err(StoreError::TooLarge {
            path: path.display().to_string(),
            what,
            max,
        });
    }
    Ok(bytes)
}

/// Reads the file at `rel` beneath `root` (a published directory a server serves), at most
/// `max` bytes, following no symbolic link at any component: each directory on the way must be
/// a real directory and the file a regular file ([`open_regular`]). `rel` must be plain names
/// joined by `/` (no empty, `.` or `..` component, no NUL); `root` itself is the operator's
/// choice and is taken as given. `Ok(None)` if nothing is there.
///
/// # Errors
/// [`StoreError::Usage`] for a `rel` that is not plain names; [`StoreError::Io`] for a
/// symbolic link, FIFO, device or directory on the way or at the end, or an OS error;
/// [`StoreError::TooLarge`] for a file over `max`.
pub fn read_beneath(
    root: &Path,
    rel: &str,
    max: u64,
    what: &'static str,
) -> Result<Option<Vec<u8>>, StoreError> {
    let parts: Vec<&str> = rel.split('/').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == "." || *p == ".." || p.contains('\0'))
    {
        return Err(StoreError::Usage(format!(
            "{rel:?} is not a relative path of plain names"
        )));
    }
    let mut path = root.to_path_buf();
    let (last, dirs) = parts.split_last().unwrap_or((&"", &[]));
    for d in dirs {
        path.push(d);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => {}
            Ok(m) => {
                let what = if m.file_type().is_symlink() {
                    "a symbolic link"
                } else {
                    "not a directory"
                };
                return Err(io_at(&path)(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("is {what}; only real directories are served"),
                )));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_at(&path)(e)),
        }
    }
    path.push(last);
    match open_regular(&path) {
        Ok(f) => read_bounded_from(f, &path, max, what).map(Some),
        Err(StoreError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Creates a temporary file inside a ledger directory, open for writing and reading back
/// (mode `mode`; the caller writes, fsyncs and renames it), never writing through whatever is
/// already at `path`.
///
/// Why: a temporary file's name is predictable (`checkpoints/.SIZE.tmp`,
/// `documents/HEX.tmp`), so someone who can write the ledger directory can plant a symbolic
/// link there to a file outside it; opening that name with `create` + `truncate` (as
/// `fs::write` and `fs::copy` do) would overwrite the link's target. Here the directory entry
/// at `path`, if any, is removed first (removing a symbolic link removes the link, never its
/// target; a stale temporary file left by a crash is removed the same way, so it never blocks),
/// then the file is created with `create_new` (`O_EXCL`, which never follows a link) and
/// `O_NOFOLLOW`. If an entry reappears between the two (another process racing), creation
/// fails rather than follows it.
///
/// # Errors
/// [`StoreError::Io`] naming `path`: a directory is in the way (it is not removed), or the OS
/// error.
pub fn create_temp_nofollow(path: &Path, mode: u32) -> Result<File, StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            return Err(io_at(path)(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "is a directory where custody writes a temporary file; remove it",
            )))
        }
        Ok(_) => fs::remove_file(path).map_err(io_at(path))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_at(path)(e)),
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(io_at(path))
}

/// Refuses a ledger folder (`checkpoints/`, `documents/`) that is not a directory of its own:
/// through a symbolic link to a directory elsewhere, custody would read files from, and write
/// files into, a place outside the ledger.
///
/// # Errors
/// [`StoreError::Io`] naming `dir`.
pub(crate) fn real_dir(dir: &Path) -> Result<(), StoreError> {
    let m = fs::symlink_metadata(dir).map_err(io_at(dir))?;
    if m.is_dir() {
        return Ok(());
    }
    let what = if m.file_type().is_symlink() {
        "a symbolic link"
    } else {
        "not a directory"
    };
    Err(io_at(dir)(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("is {what}; custody keeps this folder only as a real directory inside the ledger"),
    )))
}

/// Creates `path` (never replacing a file unless `replace`), writes `bytes` and fsyncs it, so
/// a caller reports the file only once it is durable. `private` makes it mode 0600.
///
/// # Errors
/// [`StoreError::Exists`] if it exists and may not be replaced, or [`StoreError::Io`].
pub fn write_new(
    path: &Path,
    bytes: &[u8],
    replace: bool,
    private: bool,
) -> Result<(), StoreError> {
    let mut opts = OpenOptions::new();
    opts.write(true);
    if replace {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            StoreError::Exists(path.display().to_string())
        } else {
            io_at(path)(e)
        }
    })?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(io_at(path))
}

/// Writes a private file, such as an informant's opening (which names them): created mode 0600
/// with `O_EXCL | O_NOFOLLOW`, written and fsynced. An existing entry at `path` is refused
/// unless `replace`; with `replace` a file or symbolic link there is removed first (removing a
/// link removes the link, never its target) and the new file is created the same way, so even
/// then nothing is written through a link, and an older file's wider mode is never kept.
///
/// Why not [`write_new`]: with `replace` it truncates whatever `path` names, following a link
/// planted there to a file elsewhere, and it keeps that file's mode.
///
/// # Errors
/// [`StoreError::Exists`] if `path` exists (a file, or a symbolic link, even a dangling one)
/// and may not be replaced, or [`StoreError::Io`] naming `path`.
pub fn write_private(path: &Path, bytes: &[u8], replace: bool) -> Result<(), StoreError> {
    let exists = match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            return Err(io_at(path)(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "is a directory",
            )))
        }
        Ok(_) => true,
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => return Err(io_at(path)(e)),
    };
    let mut f = if exists && replace {
        create_temp_nofollow(path, 0o600)?
    } else if exists {
        return Err(StoreError::Exists(path.display().to_string()));
    } else {
        use std::os::unix::fs::OpenOptionsExt;
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(|e| {
                if e.kind() == io::ErrorKind::AlreadyExists {
                    StoreError::Exists(path.display().to_string())
                } else {
                    io_at(path)(e)
                }
            })?
    };
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(io_at(path))
}

/// SHA-256 and size of a file, read in constant memory.
///
/// # Errors
/// On I/O failure.
pub fn hash_file(path: &Path) -> Result<(Digest, u64), StoreError> {
    hash_open(File::open(path).map_err(io_at(path))?, path)
}

/// SHA-256 and size of what `f` (an open file, named `path` in errors) holds from its current
/// offset to its end, read in constant memory.
///
/// # Errors
/// On I/O failure.
pub fn hash_open(mut f: impl Read, path: &Path) -> Result<(Digest, u64), StoreError> {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_at(path)(e)),
        };
        h.update(&buf[..n]);
        size += n as u64;
    }
    Ok((Digest(h.finalize().into()), size))
}

/// Reads a small text file (a key, seal or opening), refusing anything over the key-file bound.
///
/// # Errors
/// On I/O errors, oversize or non-UTF-8 files.
pub fn read_small_text(path: &Path) -> Result<Zeroizing<String>, StoreError> {
    let bytes = Zeroizing::new(read_bounded(
        path,
        MAX_KEY_FILE,
        "a key, seal or opening file",
    )?);
    let text = String::from_utf8(bytes.to_vec())
        .map_err(|_| key_error(path, KeyError::Format("not UTF-8 text".into())))?;
    Ok(Zeroizing::new(text))
}

fn key_error(path: &Path, source: KeyError) -> StoreError {
    StoreError::Key {
        path: path.display().to_string(),
        source,
    }
}

/// Refuses a secret file readable by group or others, as ssh does.
///
/// # Errors
/// [`KeyError::Permissions`] (as [`StoreError::Key`]) or an I/O error.
pub fn check_private_mode(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path)
            .map_err(io_at(path))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(key_error(
                path,
                KeyError::Permissions {
                    path: path.display().to_string(),
                    mode: mode & 0o777,
                },
            ));
        }
    }
    Ok(())
}

/// Encrypts `plaintext` to a passphrase with age's scrypt recipient (fresh randomness from the
/// OS, which is why this lives here and not in the pure core).
///
/// # Errors
/// If age fails.
pub fn encrypt_with_passphrase(
    plaintext: &[u8],
    passphrase: SecretString,
    work_factor: Option<u8>,
) -> Result<Vec<u8>, KeyError> {
    let mut recipient = age::scrypt::Recipient::new(passphrase);
    if let Some(w) = work_factor {
        recipient.set_work_factor(w);
    }
    age::encrypt(&recipient, plaintext).map_err(|e| KeyError::Passphrase(e.to_string()))
}

/// Decrypts an age scrypt ciphertext (a key's seed, a seal's opening).
///
/// # Errors
/// [`KeyError::WrongPassphrase`] when the passphrase does not open it.
pub fn decrypt_with_passphrase(
    ciphertext: &[u8],
    passphrase: SecretString,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let identity = age::scrypt::Identity::new(passphrase);
    age::decrypt(&identity, ciphertext)
        .map(Zeroizing::new)
        .map_err(|_| KeyError::WrongPassphrase)
}

/// Loads a secret key file: checks its mode, then parses (decrypting if needed; `passphrase`
/// is called only for an encrypted key).
///
/// # Errors
/// On permissions, format or passphrase errors, naming the file.
pub fn load_secret(
    path: &Path,
    passphrase: impl FnOnce() -> Result<SecretString, KeyError>,
) -> Result<SecretKey, StoreError> {
    check_private_mode(path)?;
    let text = read_small_text(path)?;
    SecretKey::from_file_text(&text, |ct| decrypt_with_passphrase(ct, passphrase()?))
        .map_err(|e| key_error(path, e))
}

/// Writes a new key pair: `dir/NAME.key` (mode 0600, optionally encrypted) and `dir/NAME.pub`.
/// Refuses to replace either.
///
/// # Errors
/// If either file exists or cannot be written.
pub fn write_key_pair(
    dir: &Path,
    key: &SecretKey,
    passphrase: Option<SecretString>,
) -> Result<(std::path::PathBuf, std::path::PathBuf), StoreError> {
    fs::create_dir_all(dir).map_err(io_at(dir))?;
    let sec = dir.join(format!("{}.key", key.name()));
    let public = dir.join(format!("{}.pub", key.name()));
    if public.exists() {
        return Err(StoreError::Exists(public.display().to_string()));
    }
    let text = match passphrase {
        None => key.to_file_text(None),
        Some(p) => {
            let enc = move |seed: &[u8]| encrypt_with_passphrase(seed, p.clone(), None);
            key.to_file_text(Some(&enc))
        }
    }
    .map_err(|e| key_error(&sec, e))?;
    write_new(&sec, text.as_bytes(), false, true)?;
    write_new(
        &public,
        key.public().to_file_text().as_bytes(),
        false,
        false,
    )?;
    Ok((sec, public))
}

/// Rewrites the secret key file `path` for `key`, encrypted to `passphrase` or in the clear:
/// a temporary file beside it (mode 0600, never following a link), fsynced, renamed over
/// the old file, and the folder fsynced, so a crash leaves the old file or the new one, never
/// a torn key.
///
/// # Errors
/// If the key cannot be encoded or encrypted, or on I/O failure; the old file is untouched.
pub fn rewrite_secret_key(
    path: &Path,
    key: &SecretKey,
    passphrase: Option<SecretString>,
) -> Result<(), StoreError> {
    let text = match passphrase {
        None => key.to_file_text(None),
        Some(p) => {
            let enc = move |seed: &[u8]| encrypt_with_passphrase(seed, p.clone(), None);
            key.to_file_text(Some(&enc))
        }
    }
    .map_err(|e| key_error(path, e))?;
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let mut f = create_temp_nofollow(&tmp, 0o600)?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(io_at(&tmp))?;
    drop(f);
    fs::rename(&tmp, path).map_err(io_at(path))?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    crate::ledger::sync_dir(dir)
}

/// Loads a public key file.
///
/// # Errors
/// On format errors, naming the file.
pub fn load_public(path: &Path) -> Result<PublicKey, StoreError> {
    let text = read_small_text(path)?;
    PublicKey::from_file_text(&text).map_err(|e| key_error(path, e))
}

/// How a seal file protects an informant's opening.
pub enum SealTo {
    /// In the clear (mode 0600 only).
    Clear,
    /// age-encrypted to a passphrase (scrypt).
    Passphrase(SecretString),
    /// age-encrypted to one or more X25519 recipients (`age1...`): a court's or counsel's
    /// key, so the researcher's machine never holds anything that opens the seal.
    Recipients(Vec<age::x25519::Recipient>),
}

/// The most recipients custody reads for one seal (from arguments and files together).
pub const MAX_SEAL_RECIPIENTS: usize = 64;

/// Parses age X25519 recipients given as `age1...` strings and in recipients files (one
/// per line, `#` comments and blank lines ignored, as `age -R` reads them).
///
/// # Errors
/// [`StoreError::Usage`] naming the bad recipient (and its file and line), or the read
/// error of a file.
pub fn parse_recipients(
    given: &[String],
    files: &[PathBuf],
) -> Result<Vec<age::x25519::Recipient>, StoreError> {
    let mut out = Vec::new();
    let mut push = |text: &str, at: String| -> Result<(), StoreError> {
        if out.len() == MAX_SEAL_RECIPIENTS {
            return Err(StoreError::Usage(format!(
                "more than {MAX_SEAL_RECIPIENTS} seal recipients"
            )));
        }
        let r = text.parse::<age::x25519::Recipient>().map_err(|_| {
            StoreError::Usage(format!(
                "{at}: {:?} is not an age X25519 recipient (want age1... as `age-keygen -y` prints it)",
                text.chars().take(80).collect::<String>()
            ))
        })?;
        out.push(r);
        Ok(())
    };
    for g in given {
        push(g.trim(), "--seal-to".into())?;
    }
    for f in files {
        let text = read_small_text(f)?;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            push(line, format!("{} line {}", f.display(), i + 1))?;
        }
    }
    Ok(out)
}

/// Writes a seal file (mode 0600, never replacing one): the opening in the clear, or
/// age-encrypted to a passphrase or to recipients.
///
/// # Errors
/// If the file exists or cannot be written, or encryption fails.
pub fn write_seal(path: &Path, opening: &Opening, to: SealTo) -> Result<(), StoreError> {
    let text = opening.to_text();
    let out = match to {
        SealTo::Clear => Zeroizing::new(text.to_string()),
        SealTo::Passphrase(p) => {
            let ct = encrypt_with_passphrase(text.as_bytes(), p, None)
                .map_err(|e| key_error(path, e))?;
            Zeroizing::new(SealFile::encrypted_text(&ct))
        }
        SealTo::Recipients(rs) => {
            if rs.is_empty() {
                return Err(StoreError::Usage("no seal recipient given".into()));
            }
            let ct = encrypt_to_recipients(&rs, text.as_bytes())
                .map_err(|e| key_error(path, KeyError::Passphrase(e)))?;
            Zeroizing::new(SealFile::encrypted_text(&ct))
        }
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(io_at(parent))?;
    }
    write_new(path, out.as_bytes(), false, true)
}

/// Reads a seal file (mode 0600 required), decrypting it if needed: with the age identities
/// in `identity` (an age identity file, mode 0600) for a seal encrypted to recipients, or
/// with `passphrase` (called only then) for a passphrase seal.
///
/// # Errors
/// On permissions, format, identity or passphrase errors, naming the file; a seal of one
/// kind opened with the other kind of secret says which it needs.
pub fn read_seal(
    path: &Path,
    identity: Option<&Path>,
    passphrase: impl FnOnce() -> Result<SecretString, KeyError>,
) -> Result<Opening, StoreError> {
    check_private_mode(path)?;
    let text = read_small_text(path)?;
    let seal_err = |e: custody_core::seal::SealError| StoreError::Seal {
        path: path.display().to_string(),
        reason: e.0,
    };
    let ct = match SealFile::parse(&text).map_err(seal_err)? {
        SealFile::Plain(o) => return Ok(o),
        SealFile::Encrypted(ct) => ct,
    };
    let is_scrypt = age::Decryptor::new_buffered(&ct[..])
        .map_err(|e| {
            seal_err(custody_core::seal::SealError(format!(
                "the age ciphertext is damaged: {e}"
            )))
        })?
        .is_scrypt();
    let pt = match (is_scrypt, identity) {
        (true, _) => {
            let pass = passphrase().map_err(|e| key_error(path, e))?;
            decrypt_with_passphrase(&ct, pass).map_err(|e| key_error(path, e))?
        }
        (false, None) => {
            return Err(StoreError::Usage(format!(
                "{} is encrypted to age recipients, not a passphrase; pass --identity FILE (the age identity of a recipient)",
                path.display()
            )))
        }
        (false, Some(id_path)) => {
            check_private_mode(id_path)?;
            let id_text = read_small_text(id_path)?;
            let ids = age::IdentityFile::from_buffer(id_text.as_bytes())
                .and_then(|f| f.into_identities().map_err(std::io::Error::other))
                .map_err(|e| StoreError::Usage(format!(
                    "{} is not an age identity file ({e})",
                    id_path.display()
                )))?;
            decrypt_with_identities(&ct, &ids).map_err(|_| StoreError::Usage(format!(
                    "{} is not encrypted to any identity in {}; use the identity of one of its recipients",
                    path.display(),
                    id_path.display()
                )))?
        }
    };
    opening_from_plaintext(&pt).map_err(seal_err)
}

fn encrypt_to_recipients(
    rs: &[age::x25519::Recipient],
    plaintext: &[u8],
) -> Result<Vec<u8>, String> {
    let enc = age::Encryptor::with_recipients(rs.iter().map(|r| r as &dyn age::Recipient))
        .map_err(|e| e.to_string())?;
    let mut ct = Vec::with_capacity(plaintext.len() + 256);
    let mut w = enc.wrap_output(&mut ct).map_err(|e| e.to_string())?;
    w.write_all(plaintext).map_err(|e| e.to_string())?;
    w.finish().map_err(|e| e.to_string())?;
    Ok(ct)
}

fn decrypt_with_identities(
    ct: &[u8],
    ids: &[Box<dyn age::Identity>],
) -> Result<Zeroizing<Vec<u8>>, age::DecryptError> {
    let d = age::Decryptor::new_buffered(ct)?;
    let mut r = d.decrypt(ids.iter().map(|i| i.as_ref()))?;
    let mut pt = Zeroizing::new(Vec::new());
    // The ciphertext is bounded by the seal file's size, so the plaintext is too.
    r.read_to_end(&mut pt)?;
    Ok(pt)
}

/// Reads an opening file (as `disclose` prints it).
///
/// # Errors
/// If it cannot be read or is not an opening.
pub fn read_opening(path: &Path) -> Result<Opening, StoreError> {
    let text = read_small_text(path)?;
    Opening::from_text(&text).map_err(|e| StoreError::Seal {
        path: path.display().to_string(),
        reason: e.0,
    })
}

/// Reads a signed submission file (`.cust`).
///
/// # Errors
/// If it cannot be read, is too large, or is not one canonical submission.
pub fn read_submission(path: &Path) -> Result<Submission, StoreError> {
    let bytes = read_bounded(path, MAX_RECORD_BYTES as u64 + 64, "a submission")?;
    Submission::from_file_bytes(&bytes).map_err(|e| StoreError::Submission {
        path: path.display().to_string(),
        source: e,
    })
}

/// Writes a signed submission file, refusing to replace one.
///
/// # Errors
/// If it exists or cannot be written.
pub fn write_submission(path: &Path, sub: &Submission) -> Result<(), StoreError> {
    write_new(path, &sub.to_file_bytes()?, false, false)
}

/// Creates `dir` (and its parents) for output files such as man pages; an existing directory
/// is fine.
///
/// # Errors
/// [`StoreError::Io`] naming `dir`.
pub fn create_output_dir(dir: &Path) -> Result<(), StoreError> {
    fs::create_dir_all(dir).map_err(io_at(dir))
}

/// What a key file holds, read without a passphrase: for `key show` and `key list`, which show
/// a key's name and id and never its secret.
#[derive(Debug)]
pub enum KeyFile {
    /// A public key file (`.pub`).
    Public(PublicKey),
    /// An unencrypted secret key file: only its public half is kept.
    Secret(PublicKey),
    /// A passphrase-encrypted secret key file: its name is all that can be read without the
    /// passphrase.
    EncryptedSecret {
        /// The key's name, from the file's `name` line.
        name: String,
    },
}

/// Reads a `.pub` or `.key` file as [`KeyFile`]. An unencrypted secret key is parsed only to
/// derive its public half (the secret is wiped on drop); an encrypted one is not decrypted.
/// The secret file's mode is not checked here: see [`check_private_mode`].
///
/// # Errors
/// [`StoreError::Io`], or [`StoreError::Key`] when the file is neither kind of key file.
pub fn read_key_file(path: &Path) -> Result<KeyFile, StoreError> {
    use custody_core::keys::{valid_key_name, PUBLIC_MAGIC, SECRET_MAGIC};
    let text = read_small_text(path)?;
    match text.lines().next() {
        Some(PUBLIC_MAGIC) => PublicKey::from_file_text(&text)
            .map(KeyFile::Public)
            .map_err(|e| key_error(path, e)),
        Some(SECRET_MAGIC) if SecretKey::file_is_encrypted(&text) => {
            let name = text
                .lines()
                .nth(1)
                .and_then(|l| l.strip_prefix("name "))
                .filter(|n| valid_key_name(n))
                .ok_or_else(|| {
                    key_error(
                        path,
                        KeyError::Format("secret key file has no valid name line".into()),
                    )
                })?;
            Ok(KeyFile::EncryptedSecret {
                name: name.to_string(),
            })
        }
        Some(SECRET_MAGIC) => SecretKey::from_file_text(&text, |_| {
            Err(KeyError::Format("unexpectedly encrypted".into()))
        })
        .map(|k| KeyFile::Secret(k.public()))
        .map_err(|e| key_error(path, e)),
        _ => Err(key_error(
            path,
            KeyError::Format(format!(
                "not a custody key file (first line must be {PUBLIC_MAGIC:?} or {SECRET_MAGIC:?})"
            )),
        )),
    }
}

/// Whether `path` is a public key file (its first line is the public key magic). For saying
/// "this is a public key file" where a secret key is wanted; any read error is `false`.
#[must_use]
pub fn is_public_key_file(path: &Path) -> bool {
    read_small_text(path).is_ok_and(|t| t.lines().next() == Some(custody_core::keys::PUBLIC_MAGIC))
}

/// The `*.pub` files directly in `dir`, sorted by name (regular files only; a symbolic link
/// to one is followed, as `File::open` would).
///
/// # Errors
/// [`StoreError::Io`] naming `dir`.
pub fn public_key_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, StoreError> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).map_err(io_at(dir))? {
        let e = e.map_err(io_at(dir))?;
        let p = e.path();
        if p.extension().is_some_and(|x| x == "pub") && p.is_file() {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn refusal(r: Result<File, StoreError>) -> String {
        match r {
            Err(e @ StoreError::Io { .. }) => e.to_string(),
            Err(e) => panic!("not an I/O refusal: {e}"),
            Ok(_) => panic!("opened"),
        }
    }

    #[test]
    fn open_regular_refuses_links_fifos_and_directories_at_once() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("note.txt");
        fs::write(&file, "ok").unwrap();
        assert_eq!(read_bounded_in_ledger(&file, 10, "a note").unwrap(), b"ok");

        let link = d.path().join("link.txt");
        symlink(&file, &link).unwrap();
        let msg = refusal(open_regular(&link));
        assert!(
            msg.contains("link.txt: is a symbolic link, not a regular file"),
            "{msg}"
        );
        let zero = d.path().join("zero.txt");
        symlink("/dev/zero", &zero).unwrap();
        assert!(refusal(open_regular(&zero)).contains("symbolic link"));

        let fifo = d.path().join("fifo.txt");
        let st = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(st.success());
        // With no writer, a plain open would block here forever.
        let msg = refusal(open_regular(&fifo));
        assert!(msg.contains("fifo.txt: is a FIFO, not a regular file; custody reads only regular files in a ledger directory"), "{msg}");

        assert!(refusal(open_regular(d.path())).contains("is a directory"));
        assert!(matches!(
            read_bounded_in_ledger(&file, 1, "a note"),
            Err(StoreError::TooLarge { .. })
        ));
    }

    #[test]
    fn read_bounded_still_reads_what_the_user_names() {
        // User-supplied paths may be links or devices: bounded, not refused.
        let e = read_bounded(Path::new("/dev/zero"), 8, "a submission").unwrap_err();
        assert_eq!(e.to_string(), "/dev/zero is too large to be a submission");
    }

    #[test]
    fn create_temp_nofollow_removes_a_planted_link_never_its_target() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        fs::write(&victim, "victim").unwrap();
        let tmp = d.path().join(".1.tmp");
        symlink(&victim, &tmp).unwrap();
        let mut f = create_temp_nofollow(&tmp, 0o600).unwrap();
        f.write_all(b"note").unwrap();
        drop(f);
        assert_eq!(fs::read(&victim).unwrap(), b"victim");
        assert!(fs::symlink_metadata(&tmp).unwrap().is_file());
        assert_eq!(fs::read(&tmp).unwrap(), b"note");

        // A stale temporary file left by a crash is replaced, not appended to or refused.
        let mut f = create_temp_nofollow(&tmp, 0o600).unwrap();
        f.write_all(b"new").unwrap();
        drop(f);
        assert_eq!(fs::read(&tmp).unwrap(), b"new");

        // A dangling link is removed too; a directory is refused, not removed.
        fs::remove_file(&tmp).unwrap();
        symlink(d.path().join("nowhere"), &tmp).unwrap();
        create_temp_nofollow(&tmp, 0o600).unwrap();
        assert!(!d.path().join("nowhere").exists());
        let sub = d.path().join("sub.tmp");
        fs::create_dir(&sub).unwrap();
        assert!(create_temp_nofollow(&sub, 0o600).is_err());
        assert!(sub.is_dir());
    }

    #[test]
    fn encrypted_key_needs_the_right_passphrase() {
        let k = SecretKey::from_seed("op", &[1u8; 32]);
        let enc = |seed: &[u8]| {
            encrypt_with_passphrase(seed, SecretString::from("right".to_string()), Some(2))
        };
        let text = k.to_file_text(Some(&enc)).unwrap();
        assert!(SecretKey::file_is_encrypted(&text));
        let open = |p: &'static str| {
            SecretKey::from_file_text(&text, move |ct| {
                decrypt_with_passphrase(ct, SecretString::from(p.to_string()))
            })
        };
        assert_eq!(open("right").unwrap().id(), k.id());
        assert!(matches!(open("wrong"), Err(KeyError::WrongPassphrase)));
    }
}
