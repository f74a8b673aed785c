//! `custody checkpoint`: commit to the log's amendment state and sign a checkpoint of the whole
//! tree, recorded in the ledger.

use super::{load_key, open_writer};
use anyhow::Result;
use std::path::Path;

pub fn run(ledger: &Path, key: &Path) -> Result<()> {
    let key = load_key(key)?;
    let mut l = open_writer(ledger)?;
    let (cp, path, committed) = l.commit_and_checkpoint(&key)?;
    super::warn(&mut l);
    if let Some(c) = committed {
        eprintln!("entry {c} (state-commitment) appended");
    }
    {
        use std::io::Write as _;
        write!(std::io::stdout().lock(), "{}", cp.note())?;
    }
    eprintln!("recorded as {}", path.display());
    Ok(())
}
