//! RFC 3161 time-stamp tokens on disk, beside the checkpoint each one stamps, and the check of
//! every stored token against its checkpoint (`docs/TIMESTAMPS.md`).
//!
//! A checkpoint `checkpoints/SIZE-ROOT16.txt` has its tokens in `checkpoints/SIZE-ROOT16.H.tsr`,
//! where `H` is the first 16 hex digits of SHA-256 of the token: each file is one bare
//! TimeStampToken (the DER ContentInfo, as `openssl ts -verify -token_in` reads it; never the
//! whole TimeStampResp, whose status says nothing once the token verified). Naming by content
//! lets several TSAs, or several answers of one, sit side by side, and storing the same token
//! twice is a no-op; a different file under a token's name is never replaced.
//!
//! Like the rest of a ledger directory, `checkpoints/` is untrusted: a token is read only from
//! a regular file (no link or FIFO is followed or waited on) and only up to
//! [`MAX_TOKEN_BYTES`], and a token is written through a temporary file that is never a link,
//! fsynced, then linked into place (`link` never replaces an existing name) and the folder
//! fsynced.

use crate::error::StoreError;
use crate::files::{create_temp_nofollow, io_at, read_bounded_in_ledger, real_dir};
use crate::ledger::{sync_dir, CHECKPOINTS};
use custody_core::checkpoint::{self, StrictVerifier, MAX_NOTE_BYTES};
use custody_core::hash::Digest;
use custody_core::json::CheckpointJson;
use custody_core::timestamp::{self, Certificate, VerifiedTimestamp, MAX_TOKEN_BYTES};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The extension of a stored token.
pub const TOKEN_EXT: &str = "tsr";
/// The most tokens custody reads from one ledger's `checkpoints/` (each at most 64 KiB).
pub const MAX_TOKENS: usize = 1000;

/// A token read from a ledger directory. Untrusted until [`check_tokens`] or
/// `custody_core::timestamp::verify` says otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredToken {
    /// The token file.
    pub path: PathBuf,
    /// The checkpoint file it belongs beside (`SIZE-ROOT16.txt`; it may be missing).
    pub checkpoint: PathBuf,
    /// The token's bytes.
    pub bytes: Vec<u8>,
}

/// The file name stem of checkpoint file `name` (`000000000029-b9b207abe05fd2fb` of
/// `000000000029-b9b207abe05fd2fb.txt`), if it has custody's form.
fn checkpoint_stem(name: &str) -> Option<&str> {
    let stem = name.strip_suffix(".txt")?;
    valid_stem(stem).then_some(stem)
}

/// `SIZE-ROOT16`: 12 or more decimal digits, a dash, 16 lowercase hex digits.
fn valid_stem(stem: &str) -> bool {
    let Some((size, root)) = stem.split_once('-') else {
        return false;
    };
    size.len() >= 12
        && size.bytes().all(|b| b.is_ascii_digit())
        && root.len() == 16
        && root.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The checkpoint file a token file name `SIZE-ROOT16.H.tsr` belongs to (`SIZE-ROOT16.txt`).
fn token_checkpoint_name(name: &str) -> Option<String> {
    let rest = name.strip_suffix(".tsr")?;
    let (stem, h) = rest.rsplit_once('.')?;
    let hex16 = h.len() == 16 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    (hex16 && valid_stem(stem)).then(|| format!("{stem}.txt"))
}

/// Where a token for the checkpoint recorded at `checkpoint` is stored.
///
/// # Errors
/// [`StoreError::Usage`] if `checkpoint` is not named as custody records checkpoints.
pub fn token_path(checkpoint: &Path, token: &[u8]) -> Result<PathBuf, StoreError> {
    let name = checkpoint
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("");
    let stem = checkpoint_stem(name).ok_or_else(|| {
        StoreError::Usage(format!(
            "{} is not a recorded checkpoint (want checkpoints/SIZE-ROOT.txt)",
            checkpoint.display()
        ))
    })?;
    let h = &Digest::of(token).to_hex()[..16];
    Ok(checkpoint.with_file_name(format!("{stem}.{h}.{TOKEN_EXT}")))
}

/// Stores `token` (a bare TimeStampToken, DER) beside the recorded checkpoint `checkpoint`.
/// Returns its path and whether it was new (`false`: this very token was already stored).
///
/// # Errors
/// [`StoreError::Exists`] if another file holds the token's name; [`StoreError::TooLarge`] for
/// a token over [`MAX_TOKEN_BYTES`]; [`StoreError::Io`] (a `checkpoints` that is a link, a
/// failed write).
pub fn record_token(checkpoint: &Path, token: &[u8]) -> Result<(PathBuf, bool), StoreError> {
    let path = token_path(checkpoint, token)?;
    if token.len() > MAX_TOKEN_BYTES {
        return Err(StoreError::TooLarge {
            path: path.display().to_string(),
            what: "a time-stamp token",
            max: MAX_TOKEN_BYTES as u64,
        });
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    real_dir(dir)?;
    match fs::symlink_metadata(&path) {
        Ok(_) => {
            // Read without following a link: the same token is already there, or something
            // else is, which is never replaced.
            return match read_bounded_in_ledger(&path, MAX_TOKEN_BYTES as u64, "a time-stamp token")
            {
                Ok(b) if b == token => Ok((path, false)),
                _ => Err(StoreError::Exists(path.display().to_string())),
            };
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_at(&path)(e)),
    }
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("token")
    ));
    let mut f = create_temp_nofollow(&tmp, 0o666)?;
    f.write_all(token)
        .and_then(|()| f.sync_all())
        .map_err(io_at(&tmp))?;
    drop(f);
    // link(2) fails if the name exists, so a token is never written over anything.
    let linked = fs::hard_link(&tmp, &path).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            StoreError::Exists(path.display().to_string())
        } else {
            io_at(&path)(e)
        }
    });
    fs::remove_file(&tmp).map_err(io_at(&tmp))?;
    linked?;
    sync_dir(dir)?;
    Ok((path, true))
}

/// Every token in a ledger directory's `checkpoints/`, sorted by name. Files that do not end
/// in `.tsr` are skipped; a `.tsr` that is not named `SIZE-ROOT16.H.tsr` is an error naming it.
///
/// # Errors
/// [`StoreError::Io`] for an unreadable folder or a token that is not a regular file,
/// [`StoreError::TooLarge`] for one over [`MAX_TOKEN_BYTES`], [`StoreError::Usage`] for a
/// misnamed token or more than [`MAX_TOKENS`].
pub fn list_tokens(ledger_dir: &Path) -> Result<Vec<StoredToken>, StoreError> {
    let cdir = ledger_dir.join(CHECKPOINTS);
    match fs::symlink_metadata(&cdir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_at(&cdir)(e)),
        Ok(_) => real_dir(&cdir)?,
    }
    let mut names = Vec::new();
    for e in fs::read_dir(&cdir).map_err(io_at(&cdir))? {
        let e = e.map_err(io_at(&cdir))?;
        let p = e.path();
        if p.extension().and_then(|x| x.to_str()) == Some(TOKEN_EXT) {
            if names.len() == MAX_TOKENS {
                return Err(StoreError::Usage(format!(
                    "{} holds more than {MAX_TOKENS} time-stamp tokens; custody reads at most that many",
                    cdir.display()
                )));
            }
            names.push(p);
        }
    }
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for path in names {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let cp = token_checkpoint_name(name).ok_or_else(|| {
            StoreError::Usage(format!(
                "{} is not named as custody stores tokens (SIZE-ROOT.HASH.tsr beside SIZE-ROOT.txt); move it out of {}",
                path.display(),
                cdir.display()
            ))
        })?;
        let bytes = read_bounded_in_ledger(&path, MAX_TOKEN_BYTES as u64, "a time-stamp token")?;
        out.push(StoredToken {
            checkpoint: cdir.join(cp),
            path,
            bytes,
        });
    }
    Ok(out)
}

/// The tokens stored beside the recorded checkpoint `checkpoint`.
///
/// # Errors
/// As [`list_tokens`].
pub fn tokens_for(ledger_dir: &Path, checkpoint: &Path) -> Result<Vec<StoredToken>, StoreError> {
    let name = checkpoint.file_name();
    Ok(list_tokens(ledger_dir)?
        .into_iter()
        .filter(|t| t.checkpoint.file_name() == name)
        .collect())
}

/// One stored token and what its check found.
#[derive(Clone, Debug)]
pub struct CheckedToken {
    /// The token file.
    pub path: PathBuf,
    /// The checkpoint file it stamps.
    pub checkpoint: PathBuf,
    /// That checkpoint's tree size.
    pub size: u64,
    /// The verified token, when trusted roots were given; `None` when it was not checked.
    pub verified: Option<VerifiedTimestamp>,
}

/// Why stored tokens did not check.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The evidence failed: a token that does not verify, or has no checkpoint that holds.
    #[error("time-stamp token {path}: {reason}")]
    Evidence {
        /// The token file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Reading failed.
    #[error(transparent)]
    Io(#[from] StoreError),
}

/// Checks every stored token of a ledger directory: its checkpoint must be recorded beside it,
/// open under `log`, and be one of `held` (the checkpoints a replay matched to the log); with
/// `roots`, the token must verify over that checkpoint (`timestamp::verify`). Without roots
/// the tokens are listed, not checked.
///
/// # Errors
/// [`TokenError::Evidence`] naming the first token that fails, or [`TokenError::Io`].
pub fn check_tokens(
    ledger_dir: &Path,
    log: &StrictVerifier,
    held: &[CheckpointJson],
    roots: Option<&[Certificate]>,
) -> Result<Vec<CheckedToken>, TokenError> {
    let mut out = Vec::new();
    // A token too large to be one, or a .tsr not named as custody stores tokens, is a bad
    // token (the evidence), not a failure to read.
    let tokens = list_tokens(ledger_dir).map_err(|e| match e {
        StoreError::TooLarge { path, max, .. } => TokenError::Evidence {
            path,
            reason: format!("is larger than {max} bytes, so it is no time-stamp token"),
        },
        StoreError::Usage(reason) => TokenError::Evidence {
            path: ledger_dir.join(CHECKPOINTS).display().to_string(),
            reason,
        },
        other => TokenError::Io(other),
    })?;
    for t in tokens {
        let fail = |reason: String| TokenError::Evidence {
            path: t.path.display().to_string(),
            reason,
        };
        let note =
            match read_bounded_in_ledger(&t.checkpoint, MAX_NOTE_BYTES as u64, "a checkpoint") {
                Ok(n) => n,
                Err(StoreError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                    return Err(fail(format!(
                        "its checkpoint {} is not recorded beside it",
                        t.checkpoint.display()
                    )))
                }
                Err(e) => return Err(e.into()),
            };
        let cp = checkpoint::open(&note, log).map_err(|e| {
            fail(format!(
                "its checkpoint {} does not open under the log key: {e}",
                t.checkpoint.display()
            ))
        })?;
        let root = cp.root().to_hex();
        if !held.iter().any(|h| h.size == cp.size() && h.root == root) {
            return Err(fail(format!(
                "its checkpoint {} (tree size {}) is not one the replay matched to the log",
                t.checkpoint.display(),
                cp.size()
            )));
        }
        let verified = match roots {
            None => None,
            Some(r) => Some(
                timestamp::verify(&t.bytes, &note, log, r, None)
                    .map_err(|e| fail(e.to_string()))?,
            ),
        };
        out.push(CheckedToken {
            path: t.path,
            checkpoint: t.checkpoint,
            size: cp.size(),
            verified,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn ledger_with_checkpoint() -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let c = d.path().join(CHECKPOINTS);
        fs::create_dir(&c).unwrap();
        let cp = c.join("000000000029-b9b207abe05fd2fb.txt");
        fs::write(&cp, "note").unwrap();
        (d, cp)
    }

    #[test]
    fn tokens_are_named_by_content_and_never_overwritten() {
        let (d, cp) = ledger_with_checkpoint();
        let (p1, new) = record_token(&cp, b"token one").unwrap();
        assert!(new);
        let h = &Digest::of(b"token one").to_hex()[..16];
        assert_eq!(
            p1.file_name().unwrap().to_str().unwrap(),
            format!("000000000029-b9b207abe05fd2fb.{h}.tsr")
        );
        assert_eq!(
            record_token(&cp, b"token one").unwrap(),
            (p1.clone(), false)
        );
        let (p2, _) = record_token(&cp, b"token two").unwrap();
        assert_ne!(p1, p2);
        let listed = list_tokens(d.path()).unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed.iter().all(|t| t.checkpoint == cp));
        assert_eq!(tokens_for(d.path(), &cp).unwrap().len(), 2);
        // Something else under a token's name is never replaced.
        let p3 = token_path(&cp, b"token three").unwrap();
        fs::write(&p3, "planted").unwrap();
        assert!(matches!(
            record_token(&cp, b"token three"),
            Err(StoreError::Exists(_))
        ));
        assert_eq!(fs::read(&p3).unwrap(), b"planted");
        // No temporary file is left behind.
        let left: Vec<_> = fs::read_dir(cp.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn planted_links_fifos_and_misnamed_tokens_are_refused() {
        let (d, cp) = ledger_with_checkpoint();
        let victim = d.path().join("victim");
        fs::write(&victim, "victim").unwrap();
        // A link where the temporary file goes is removed, never written through.
        let path = token_path(&cp, b"tok").unwrap();
        let tmp = path.with_file_name(format!(
            ".{}.tmp",
            path.file_name().unwrap().to_str().unwrap()
        ));
        symlink(&victim, &tmp).unwrap();
        record_token(&cp, b"tok").unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"victim");
        // A link under a token name is refused when listing.
        let link = token_path(&cp, b"other").unwrap();
        symlink(&victim, &link).unwrap();
        let e = list_tokens(d.path()).unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
        fs::remove_file(&link).unwrap();
        let st = std::process::Command::new("mkfifo")
            .arg(&link)
            .status()
            .unwrap();
        assert!(st.success());
        let e = list_tokens(d.path()).unwrap_err().to_string();
        assert!(e.contains("FIFO"), "{e}");
        fs::remove_file(&link).unwrap();
        fs::write(cp.with_file_name("junk.tsr"), "x").unwrap();
        let e = list_tokens(d.path()).unwrap_err().to_string();
        assert!(e.contains("junk.tsr is not named"), "{e}");
        fs::remove_file(cp.with_file_name("junk.tsr")).unwrap();
        // Too large.
        let big = token_path(&cp, b"big").unwrap();
        fs::write(&big, vec![0u8; MAX_TOKEN_BYTES + 1]).unwrap();
        assert!(matches!(
            list_tokens(d.path()),
            Err(StoreError::TooLarge { .. })
        ));
        // A checkpoint that is not named as custody records them.
        assert!(matches!(
            record_token(&d.path().join("note.txt"), b"x"),
            Err(StoreError::Usage(_))
        ));
    }

    #[test]
    fn names() {
        assert_eq!(
            token_checkpoint_name("000000000029-b9b207abe05fd2fb.0123456789abcdef.tsr").as_deref(),
            Some("000000000029-b9b207abe05fd2fb.txt")
        );
        for bad in [
            "000000000029-b9b207abe05fd2fb.tsr",
            "000000000029-b9b207abe05fd2fb.0123456789ABCDEF.tsr",
            "29-b9b207abe05fd2fb.0123456789abcdef.tsr",
            "000000000029-b9b207abe05fd2f.0123456789abcdef.tsr",
        ] {
            assert!(token_checkpoint_name(bad).is_none(), "{bad}");
        }
    }
}
