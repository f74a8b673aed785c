//! `custody redact` (`correct` and `retract` are plain signed entries: see `sign_and_add`).

use super::{load_key, open_writer};
use anyhow::Result;
use custody_core::entry::Body;
use custody_store::clock::sign_now;
use custody_store::documents::CopyRemoved;
use std::path::Path;

pub fn redact(ledger: &Path, key: &Path, target: u64, reason: String) -> Result<()> {
    let key = load_key(key)?;
    let mut l = open_writer(ledger)?;
    let origin = l.state().origin.clone();
    let sub = sign_now(&key, &origin, Body::Redaction { target, reason })?;
    let (a, removed) = l.redact(sub)?;
    super::warn(&mut l);
    match removed {
        CopyRemoved::Deleted(path) => out!(
            "entry {} (redaction) appended; stored copy {} deleted",
            a.index,
            path.display()
        ),
        CopyRemoved::NotStored => out!(
            "entry {} (redaction) appended; no stored copy was present",
            a.index
        ),
    }
    Ok(())
}
