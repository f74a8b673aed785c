//! `custody repair`: cut a torn tail (a crash mid-append) back to the last whole entry.

use super::open_writer;
use anyhow::Result;
use std::path::Path;

pub fn run(ledger: &Path, force: bool) -> Result<()> {
    let mut l = open_writer(ledger)?;
    match l.repair(force)? {
        None => out!(
            "nothing to repair: the entries file ends at entry {}",
            l.size().saturating_sub(1)
        ),
        Some((side, bytes)) => out!(
            "cut {} after entry {}; they are kept in {}",
            crate::print::count(bytes, "torn byte", "torn bytes"),
            l.size().saturating_sub(1),
            side.display()
        ),
    }
    Ok(())
}
