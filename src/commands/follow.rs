//! `custody clone` and `custody monitor`: a published log (a URL or a directory) followed into a
//! local ledger, every entry verified as `verify` does, every tile checked against the signed
//! checkpoint (docs/PUBLISHING.md).

use super::Failed;
use anyhow::{Context, Result};
use custody_core::checkpoint::{self, StrictVerifier};
use custody_store::fetch::Source;
use custody_store::mirror::{self, FollowError, Followed};
use std::path::Path;

fn trusted(vkey: &str) -> Result<StrictVerifier> {
    checkpoint::parse_vkey(vkey.trim())
        .context("--trust is not a usable verifier key (want ORIGIN+KEYID+BASE64)")
}

/// A failed verification or a fork is exit 1; anything else (fetching, files) exit 2.
fn outcome(r: Result<Followed, FollowError>, what: &str) -> Result<Followed> {
    match r {
        Ok(f) => Ok(f),
        Err(e @ (FollowError::Evidence(_) | FollowError::Fork { .. })) => {
            Err(Failed(format!("{what} FAILED: {e}")).into())
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!("{what} stopped"))),
    }
}

pub fn clone(source: &str, ledger: &Path, trust: &str) -> Result<()> {
    let key = trusted(trust)?;
    let src = Source::parse(source)?;
    let f = outcome(mirror::clone_log(&src, ledger, &key), "clone")?;
    out!(
        "cloned {} (tree size {}, root {}) into {}: every entry verified, {} checked against the checkpoint",
        crate::print::count(f.appended + 1, "entry", "entries"),
        f.size,
        f.root,
        ledger.display(),
        crate::print::count(f.tiles_checked, "hash tile", "hash tiles")
    );
    if let Some(p) = &f.recorded {
        out!("checkpoint recorded as {}", p.display());
    }
    Ok(())
}

pub fn monitor(source: &str, trust: &str, state: &Path) -> Result<()> {
    let key = trusted(trust)?;
    let src = Source::parse(source)?;
    let f = outcome(mirror::monitor(&src, state, &key), "monitor")?;
    if f.stale {
        out!(
            "the published checkpoint is older than the tree size {} held (a stale copy) and agrees with it; nothing new",
            f.size
        );
    } else if f.size == f.previous {
        out!("no new entries: tree size {} (root {})", f.size, f.root);
    } else if f.previous == 0 {
        out!(
            "first run: {} (tree size {}, root {}) verified and kept in {}",
            crate::print::count(f.appended + 1, "entry", "entries"),
            f.size,
            f.root,
            mirror::monitor_ledger(state).display()
        );
    } else {
        out!(
            "tree size {} -> {} (root {}): consistent with the checkpoint held, {} verified, {} checked",
            f.previous,
            f.size,
            f.root,
            crate::print::count(f.appended, "new entry", "new entries"),
            crate::print::count(f.tiles_checked, "hash tile", "hash tiles")
        );
    }
    Ok(())
}
