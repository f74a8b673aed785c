//! `custody checkpoint`: sign a checkpoint of the current tree and record it in the ledger.

use super::{load_key, open_reader};
use anyhow::Result;
use std::path::Path;

pub fn run(ledger: &Path, key: &Path) -> Result<()> {
    let key = load_key(key)?;
    let l = open_reader(ledger)?;
    let (cp, path) = l.sign_checkpoint(&key)?;
    {
        use std::io::Write as _;
        write!(std::io::stdout().lock(), "{}", cp.note())?;
    }
    eprintln!("recorded as {}", path.display());
    Ok(())
}
