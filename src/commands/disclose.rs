//! `custody disclose` (print a seal's opening, for a court) and `check-disclosure`.

use super::{open_reader, passphrase, passphrase_error, Failed};
use crate::print::{quoted, time};
use anyhow::{bail, Result};
use custody_core::entry::Body;
use custody_store::{files, StoreError};
use std::path::Path;

pub fn disclose(
    seal: &Path,
    identity: Option<&Path>,
    output: Option<&Path>,
    force: bool,
) -> Result<()> {
    let mut from = None;
    let o = files::read_seal(seal, identity, || {
        let (p, f) = passphrase(&format!("Passphrase for {}: ", seal.display()))?;
        from = Some(f);
        Ok(p)
    })
    .map_err(|e| passphrase_error(e, from))?;
    let text = o.to_text();
    match output {
        // The opening names the informant: the file is private from its first byte (no umask
        // needed) and never written through a link planted at its name.
        Some(out) => {
            files::write_private(out, text.as_str().as_bytes(), force).map_err(|e| match e {
                StoreError::Exists(p) => anyhow::anyhow!(
                    "{p} already exists; custody never overwrites it without --force"
                ),
                e => anyhow::Error::new(e).context(format!("cannot write {}", out.display())),
            })?;
            out!(
                "opening written to {} (mode 0600); it names the informant: keep it under seal",
                out.display()
            );
        }
        // Printing the opening is this command's purpose: it is for a court, under seal.
        None => {
            use std::io::Write as _;
            write!(std::io::stdout().lock(), "{}", text.as_str())?;
        }
    }
    Ok(())
}

pub fn check(ledger: &Path, index: u64, opening: &Path) -> Result<()> {
    let o = files::read_opening(opening)?;
    let l = open_reader(ledger)?;
    let e = l.entry(index)?;
    let Body::Informant { alias, commitment } = e.content.body else {
        bail!(
            "entry {index} is a {}, not an informant",
            e.content.body.kind()
        );
    };
    if o.opens(&commitment) {
        say!(
            "OK: the opening matches entry {index} (informant {}), commitment {commitment}",
            quoted(&alias)
        );
        say!(
            "signed by key {} at claimed time {}",
            e.content.signer.short(),
            time(e.content.claimed_time)
        );
        Ok(())
    } else {
        Err(Failed(format!(
            "the opening does NOT match entry {index} (informant {}): wrong identity or salt",
            quoted(&alias)
        ))
        .into())
    }
}
