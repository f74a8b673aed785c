//! Files outside the ledger directory that custody reads and writes: key files, seal files,
//! submission files, bundles, documents to hash, and outputs. One implementation each of a
//! bounded read and of a create-new-then-fsync write, so no command reads without a bound or
//! reports a file written before it is durable.

use crate::error::StoreError;
use age::secrecy::SecretString;
use custody_core::codec::MAX_RECORD_BYTES;
use custody_core::entry::Submission;
use custody_core::hash::Digest;
use custody_core::keys::{KeyError, PublicKey, SecretKey, MAX_KEY_FILE};
use custody_core::seal::{opening_from_plaintext, Opening, SealFile};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;
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
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|f| f.take(max + 1).read_to_end(&mut bytes))
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

/// SHA-256 and size of a file, read in constant memory.
///
/// # Errors
/// On I/O failure.
pub fn hash_file(path: &Path) -> Result<(Digest, u64), StoreError> {
    use sha2::Digest as _;
    let mut f = File::open(path).map_err(io_at(path))?;
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

/// Loads a public key file.
///
/// # Errors
/// On format errors, naming the file.
pub fn load_public(path: &Path) -> Result<PublicKey, StoreError> {
    let text = read_small_text(path)?;
    PublicKey::from_file_text(&text).map_err(|e| key_error(path, e))
}

/// Writes a seal file (mode 0600, never replacing one): the opening in the clear, or
/// age-encrypted to `passphrase`.
///
/// # Errors
/// If the file exists or cannot be written, or encryption fails.
pub fn write_seal(
    path: &Path,
    opening: &Opening,
    passphrase: Option<SecretString>,
) -> Result<(), StoreError> {
    let text = opening.to_text();
    let out = match passphrase {
        None => Zeroizing::new(text.to_string()),
        Some(p) => {
            let ct = encrypt_with_passphrase(text.as_bytes(), p, None)
                .map_err(|e| key_error(path, e))?;
            Zeroizing::new(SealFile::encrypted_text(&ct))
        }
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(io_at(parent))?;
    }
    write_new(path, out.as_bytes(), false, true)
}

/// Reads a seal file (mode 0600 required), decrypting it if needed.
///
/// # Errors
/// On permissions, format or passphrase errors, naming the file.
pub fn read_seal(
    path: &Path,
    passphrase: impl FnOnce() -> Result<SecretString, KeyError>,
) -> Result<Opening, StoreError> {
    check_private_mode(path)?;
    let text = read_small_text(path)?;
    let seal_err = |e: custody_core::seal::SealError| StoreError::Seal {
        path: path.display().to_string(),
        reason: e.0,
    };
    match SealFile::parse(&text).map_err(seal_err)? {
        SealFile::Plain(o) => Ok(o),
        SealFile::Encrypted(ct) => {
            let pass = passphrase().map_err(|e| key_error(path, e))?;
            let pt = decrypt_with_passphrase(&ct, pass).map_err(|e| key_error(path, e))?;
            opening_from_plaintext(&pt).map_err(seal_err)
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
