//! `custody init`: a new ledger whose entry 0 binds the origin to the operator key.

use super::load_key;
use anyhow::{Context, Result};
use custody_core::checkpoint;
use custody_core::entry::Body;
use custody_core::sign::KeySigner;
use custody_store::clock::sign_now;
use custody_store::Ledger;
use std::path::Path;

pub fn run(ledger: &Path, origin: &str, key: &Path) -> Result<()> {
    let key = load_key(key)?;
    let genesis = sign_now(
        &key,
        origin,
        Body::Genesis {
            operator: key.public().bytes(),
            name: key.name().to_string(),
        },
    )?;
    let l = Ledger::create(ledger, genesis)
        .with_context(|| format!("cannot create ledger {}", ledger.display()))?;
    let leaf = l.leaf(0)?;
    let vkey = checkpoint::vkey(origin, &key.verifying_key())?;
    out!("ledger {} created for origin {origin}", ledger.display());
    out!("genesis (entry 0) leaf hash: {leaf}");
    out!("operator key id:             {}", key.id());
    out!("checkpoint verifier key:     {vkey}");
    out!("Publish the genesis hash and the verifier key: they are the ledger's trust anchor.");
    Ok(())
}
