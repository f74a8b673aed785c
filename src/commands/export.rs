//! `custody export`: write a self-contained proof bundle of one entry or figure.

use super::{load_key, load_policy, open_reader};
use crate::args::ExportArgs;
use crate::print::count;
use anyhow::{bail, Result};
use custody_core::bundle::{Subject, SubjectKind};
use custody_core::hash::Digest;
use custody_core::sign::KeySigner;
use custody_store::files;

pub fn run(a: ExportArgs) -> Result<()> {
    let subject = match (a.entry, a.figure) {
        (Some(index), None) => Subject {
            kind: SubjectKind::Entry,
            index,
        },
        (None, Some(index)) => Subject {
            kind: SubjectKind::Figure,
            index,
        },
        _ => bail!("give exactly one of --entry N or --figure N"),
    };
    let l = open_reader(&a.ledger)?;
    let key = a.key.as_deref().map(load_key).transpose()?;
    let policy = a.policy.as_deref().map(load_policy).transpose()?;
    let exported = l.export_with(
        subject,
        key.as_ref().map(|k| k as &dyn KeySigner),
        policy.as_ref(),
    )?;
    if let Some((size, path)) = &exported.signed {
        eprintln!(
            "signed checkpoint of tree size {size}, recorded as {}",
            path.display()
        );
    }
    if !exported.missed.is_empty() {
        let missed: Vec<String> = exported.missed.iter().map(ToString::to_string).collect();
        eprintln!(
            "warning: entries {} (amendments or revocations after checkpoint size {}) are not in the bundle; pass --key OPERATOR.key to sign a newer checkpoint",
            missed.join(", "),
            exported.checkpoint_size
        );
    }
    files::write_new(&a.output, &exported.bytes, a.force, false).map_err(|e| {
        anyhow::anyhow!(
            "cannot create {}: {e}{}",
            a.output.display(),
            if a.force {
                ""
            } else {
                " (pass --force to replace it)"
            }
        )
    })?;
    out!(
        "wrote {} ({}, {}): {} {} against checkpoint size {}",
        a.output.display(),
        count(exported.entries as u64, "entry", "entries"),
        count(exported.bytes.len() as u64, "byte", "bytes"),
        subject.kind.name(),
        subject.index,
        exported.checkpoint_size
    );
    if exported.timestamps > 0 {
        out!(
            "carries {} over the checkpoint (check them with --tsa-cert ROOT.pem)",
            count(
                exported.timestamps as u64,
                "time-stamp token",
                "time-stamp tokens"
            )
        );
    }
    out!("bundle SHA-256 {}", Digest::of(&exported.bytes));
    match &a.policy {
        Some(p) => out!(
            "witnessed checkpoint; check it with: custody check {} --policy {}",
            a.output.display(),
            p.display()
        ),
        None => out!(
            "check it with: custody check {} --trust {}",
            a.output.display(),
            exported.vkey
        ),
    }
    Ok(())
}
