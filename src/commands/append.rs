//! `custody append`: sequence signed submission files (`.cust`) into the ledger.

use super::open_writer;
use anyhow::{Context, Result};
use custody_store::files;
use std::path::{Path, PathBuf};

pub fn run(ledger: &Path, paths: &[PathBuf]) -> Result<()> {
    // Every file is read and parsed before the ledger is opened: a bad file changes nothing.
    let mut subs = Vec::with_capacity(paths.len());
    for f in paths {
        subs.push(files::read_submission(f)?);
    }
    let mut l = open_writer(ledger)?;
    for (f, sub) in paths.iter().zip(subs) {
        let kind = sub.content.body.kind();
        let a = l
            .append(sub)
            .with_context(|| format!("{} refused", f.display()))?;
        out!(
            "{}: entry {} ({kind}) appended; leaf hash {}",
            f.display(),
            a.index,
            a.leaf
        );
        super::warn(&mut l);
    }
    Ok(())
}
