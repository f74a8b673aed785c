//! `custody sign`: a submission signed offline (no ledger needed) into a `.cust` file.

use super::add::{claim_body, informant_body, source_body, write_seal};
use super::load_key;
use crate::args::SignCommand;
use anyhow::{bail, Context, Result};
use custody_core::checkpoint;
use custody_store::clock::sign_now;
use custody_store::files;

pub fn run(s: SignCommand) -> Result<()> {
    let (offline, body, seal) = match s {
        SignCommand::Source { offline, args } => (offline, source_body(&args)?.0, None),
        SignCommand::Informant { offline, args } => {
            let (b, o) = informant_body(&args)?;
            (offline, b, Some((args, o)))
        }
        SignCommand::Claim { offline, args } => (offline, claim_body(args), None),
    };
    if !checkpoint::valid_origin(&offline.origin) {
        bail!("invalid origin {:?}", offline.origin);
    }
    let key = load_key(&offline.key)?;
    let kind = body.kind();
    let sub = sign_now(&key, &offline.origin, body)?;
    if let Some((args, o)) = &seal {
        write_seal(args, o)?;
    }
    files::write_submission(&offline.output, &sub).with_context(|| {
        format!(
            "cannot create {} (custody never overwrites a file)",
            offline.output.display()
        )
    })?;
    out!(
        "signed {kind} submission for {} by key {} written to {}",
        offline.origin,
        key.id().short(),
        offline.output.display()
    );
    Ok(())
}
