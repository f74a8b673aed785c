//! `custody sign`: a submission signed offline (no ledger needed) into a `.cust` file.
//!
//! Every body a researcher signs can be made here: sources, informants, claims, figures,
//! corrections and retractions. Their rules (grants, citations, sums) are checked when the
//! operator appends the file, against the ledger as it is then. Redactions are not offered:
//! a redaction deletes a stored copy in the ledger directory, so it is made where that is.

use super::add::{claim_body, figure_body, informant_body, source_body, write_seal};
use super::load_key;
use crate::args::SignCommand;
use anyhow::{bail, Context, Result};
use custody_core::checkpoint;
use custody_core::entry::Body;
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
        SignCommand::Figure { offline, args } => (offline, figure_body(args), None),
        SignCommand::Correction {
            offline,
            target,
            count,
            statement,
            reason,
        } => (
            offline,
            Body::Correction {
                target,
                count,
                statement,
                reason,
            },
            None,
        ),
        SignCommand::Retraction {
            offline,
            target,
            reason,
        } => (offline, Body::Retraction { target, reason }, None),
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
