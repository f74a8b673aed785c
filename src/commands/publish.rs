//! `custody publish`: the latest recorded checkpoint as C2SP tlog-tiles in a directory that
//! any static web server can serve (docs/PUBLISHING.md).

use super::open_writer;
use anyhow::{Context, Result};
use custody_store::publish::publish;
use std::path::Path;

pub fn run(ledger: &Path, dir: &Path) -> Result<()> {
    // The writer's lock: two publishers of one ledger never write one directory at once.
    let l = open_writer(ledger)?;
    let p = publish(&l, dir).with_context(|| format!("cannot publish into {}", dir.display()))?;
    let what = crate::print::count(p.written.len() as u64, "tile", "tiles");
    if p.written.is_empty() && !p.checkpoint_written {
        out!(
            "{} already publishes tree size {} (root {}); nothing written",
            dir.display(),
            p.size,
            p.root
        );
        return Ok(());
    }
    out!(
        "published tree size {} (root {}) in {}: {what} written, {} already there, checkpoint {}",
        p.size,
        p.root,
        dir.display(),
        p.unchanged,
        if p.checkpoint_written {
            "replaced last"
        } else {
            "unchanged"
        }
    );
    if p.previous > 0 {
        out!("(it published tree size {} before)", p.previous);
    }
    Ok(())
}
