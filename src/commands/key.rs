//! `custody key new|grant|revoke|vkey`.

use super::{new_passphrase, sign_and_add};
use crate::args::KeyCommand;
use anyhow::Result;
use custody_core::checkpoint;
use custody_core::entry::Body;
use custody_core::keys::SecretKey;
use custody_store::clock::os_rng;
use custody_store::files;

pub fn run(k: KeyCommand) -> Result<()> {
    match k {
        KeyCommand::New { name, dir, encrypt } => {
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
            out!("key id:     {}", key.id());
            Ok(())
        }
        KeyCommand::Grant {
            ledger,
            key,
            public,
            role,
        } => {
            let p = files::load_public(&public)?;
            sign_and_add(
                &ledger,
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
                &ledger,
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
