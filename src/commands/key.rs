//! `custody key new|list|show|passwd|grant|revoke|vkey`.
//!
//! Key ids are shown in one short form everywhere, the 16 hex digits of
//! [`KeyId::short`](custody_core::entry::KeyId::short) that `log`, `show`, `verify` and
//! `check` print and `verify --operator` accepts; `--full` prints all 64. `list` and `show`
//! never print a secret and never ask for a passphrase.

use super::{new_passphrase, open_reader, sign_and_add};
use crate::args::KeyCommand;
use crate::print::key_id;
use anyhow::{Context, Result};
use custody_core::checkpoint;
use custody_core::entry::{Body, KeyId};
use custody_core::keys::SecretKey;
use custody_core::rules::KeyRecord;
use custody_store::clock::os_rng;
use custody_store::files::{self, KeyFile};
use std::path::Path;

pub fn run(k: KeyCommand, default: Option<&Path>) -> Result<()> {
    match k {
        KeyCommand::New {
            name,
            dir,
            encrypt,
            full,
        } => {
            let key = SecretKey::generate(&name, &mut os_rng())?;
            let pubp = dir.join(format!("{name}.pub"));
            if pubp.exists() {
                anyhow::bail!(
                    "{} already exists; custody never overwrites a key (move it away first)",
                    pubp.display()
                );
            }
            let pass = if encrypt {
                Some(new_passphrase(&format!("{name}.key"))?)
            } else {
                None
            };
            let (sec, public) = files::write_key_pair(&dir, &key, pass)?;
            out!(
                "secret key: {} (mode 0600{})",
                sec.display(),
                if encrypt {
                    ", passphrase-protected"
                } else {
                    ""
                }
            );
            out!("public key: {}", public.display());
            out!("key id:     {}", key_id(&key.id(), full));
            Ok(())
        }
        KeyCommand::List { dir, full } => list(&dir, default, full),
        KeyCommand::Show { file, full } => show(&file, full),
        KeyCommand::Passwd { file, remove } => passwd(&file, remove),
        KeyCommand::Grant {
            ledger,
            key,
            public,
            role,
        } => {
            let p = files::load_public(&public)?;
            sign_and_add(
                &super::ledger_dir(ledger, default)?,
                &key,
                Body::KeyGrant {
                    key: p.bytes(),
                    name: p.name().to_string(),
                    role,
                },
            )
        }
        KeyCommand::Revoke {
            ledger,
            key,
            public,
            reason,
        } => {
            let p = files::load_public(&public)?;
            sign_and_add(
                &super::ledger_dir(ledger, default)?,
                &key,
                Body::KeyRevoke {
                    key: p.id(),
                    reason,
                },
            )
        }
        KeyCommand::Vkey { public, origin } => {
            let p = files::load_public(&public)?;
            out!("{}", checkpoint::vkey(&origin, p.verifying_key())?);
            Ok(())
        }
    }
}

/// `key list`: one line per `*.pub` in `dir`; with a ledger, each key's role in it.
fn list(dir: &Path, ledger: Option<&Path>, full: bool) -> Result<()> {
    let keys = match ledger {
        Some(l) => Some(open_reader(l)?.state().keys.clone()),
        None => None,
    };
    let paths = files::public_key_files(dir)
        .with_context(|| format!("cannot list keys in {}", dir.display()))?;
    if paths.is_empty() {
        out!(
            "no public key files (*.pub) in {}; make one with `custody key new NAME --dir {}`",
            dir.display(),
            dir.display()
        );
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    for p in &paths {
        // A file that is not a key is listed with why, not allowed to end the listing.
        let line = match files::load_public(p) {
            Ok(k) => {
                let role = keys.as_ref().map(|ks| {
                    let l = ledger.map_or(String::new(), |l| l.display().to_string());
                    format!("  {}", role_in(ks, &k.id(), &l))
                });
                format!(
                    "{:<16} {}  {}{}",
                    k.name(),
                    key_id(&k.id(), full),
                    p.display(),
                    role.unwrap_or_default()
                )
            }
            Err(e) => format!("{:<16} not a public key: {e}", p.display()),
        };
        say!(to out, "{line}");
    }
    Ok(())
}

/// The role key `id` has in a ledger whose keys are `keys`: granted, revoked or unknown.
fn role_in(keys: &[KeyRecord], id: &KeyId, ledger: &str) -> String {
    // A key granted again after a revocation has several records; the last one holds.
    match keys.iter().rev().find(|k| k.id() == *id) {
        Some(k) => match k.revoked_at {
            None => format!("granted: {} (entry {})", k.role_name(), k.granted_at),
            Some(r) => format!(
                "revoked: was {} (granted at entry {}, revoked at entry {r})",
                k.role_name(),
                k.granted_at
            ),
        },
        None => format!("unknown: not granted in {ledger}"),
    }
}

/// `key show`: a key file's kind, name and key id; never its secret, never a passphrase.
fn show(file: &Path, full: bool) -> Result<()> {
    let kf = files::read_key_file(file)
        .with_context(|| format!("cannot show key file {}", file.display()))?;
    let mut out = std::io::stdout().lock();
    match kf {
        KeyFile::Public(k) => {
            say!(to out, "public key file {}", file.display());
            say!(to out, "  name:   {}", k.name());
            say!(to out, "  key id: {}", key_id(&k.id(), full));
        }
        KeyFile::Secret(k) => {
            say!(
                to out,
                "secret key file {} (not encrypted; the secret is not shown)",
                file.display()
            );
            say!(to out, "  name:   {}", k.name());
            say!(to out, "  key id: {}", key_id(&k.id(), full));
            if let Err(e) = files::check_private_mode(file) {
                eprintln!("custody: warning: {}", crate::print::clean(&e.to_string()));
            }
        }
        KeyFile::EncryptedSecret { name } => {
            say!(
                to out,
                "secret key file {} (passphrase-encrypted; the secret is not shown)",
                file.display()
            );
            say!(to out, "  name:   {name}");
            // The id needs the public half: from the .pub beside it, if it is this key's.
            let public = file.with_extension("pub");
            match files::load_public(&public) {
                Ok(k) if k.name() == name => say!(
                    to out,
                    "  key id: {} (from {})",
                    key_id(&k.id(), full),
                    public.display()
                ),
                _ => say!(
                    to out,
                    "  key id: not shown: it needs the passphrase, or the public key file {} \
                     beside it (this command never asks for a passphrase)",
                    public.display()
                ),
            }
        }
    }
    Ok(())
}

/// `key passwd`: the key is loaded (and so checked) with its current passphrase, then written
/// back under the new one; its id, and so every grant of it, is unchanged.
fn passwd(file: &Path, remove: bool) -> Result<()> {
    let key = super::load_key(file)?;
    let pass = if remove {
        None
    } else {
        Some(super::new_passphrase_from(
            &file.display().to_string(),
            "CUSTODY_NEW_PASSPHRASE",
        )?)
    };
    files::rewrite_secret_key(file, &key, pass)
        .with_context(|| format!("cannot rewrite {}", file.display()))?;
    out!(
        "{}: {} (key id {} unchanged)",
        file.display(),
        if remove {
            "stored without a passphrase (mode 0600)"
        } else {
            "passphrase changed"
        },
        key_id(&key.id(), false)
    );
    Ok(())
}
