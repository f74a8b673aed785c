//! `custody disclose` (print a seal's opening, for a court) and `check-disclosure`.

use super::{open_reader, passphrase, passphrase_error, Failed};
use crate::print::{quoted, time};
use anyhow::{bail, Result};
use custody_core::entry::Body;
use custody_store::files;
use std::path::Path;

pub fn disclose(seal: &Path, identity: Option<&Path>) -> Result<()> {
    let mut from = None;
    let o = files::read_seal(seal, identity, || {
        let (p, f) = passphrase(&format!("Passphrase for {}: ", seal.display()))?;
        from = Some(f);
        Ok(p)
    })
    .map_err(|e| passphrase_error(e, from))?;
    // Printing the opening is this command's purpose: it is for a court, under seal.
    use std::io::Write as _;
    write!(std::io::stdout().lock(), "{}", o.to_text().as_str())?;
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
