//! `custody export`: write a self-contained proof bundle of one entry or figure.

use super::{load_key, load_policy, open_reader, open_writer};
use crate::args::ExportArgs;
use crate::print::count;
use anyhow::{bail, Result};
use custody_core::bundle::{Subject, SubjectKind};
use custody_core::hash::Digest;
use custody_core::sign::KeySigner;
use custody_store::files;
use std::path::Path;

pub fn run(ledger: &Path, a: ExportArgs) -> Result<()> {
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
    let key = a.key.as_deref().map(load_key).transpose()?;
    let policy = a.policy.as_deref().map(load_policy).transpose()?;
    let mut committed = None;
    if let Some(key) = &key {
        // With the operator's key, the bundle is made complete to its checkpoint: a state
        // commitment as the checkpoint's last entry, appended and signed unless the latest
        // checkpoint already ends in one and covers the whole log.
        let mut w = open_writer(ledger)?;
        let current = w
            .latest_checkpoint(&w.operator_verifier()?)?
            .is_some_and(|c| {
                c.size() == w.size() && w.state().commitments.last() == Some(&(c.size() - 1))
            });
        if !current {
            let (cp, path, c) = w.commit_and_checkpoint(key)?;
            committed = c;
            eprintln!(
                "signed checkpoint of tree size {}, recorded as {}",
                cp.size(),
                path.display()
            );
        }
        super::warn(&mut w);
    }
    if let Some(c) = committed {
        eprintln!("entry {c} (state-commitment) appended");
    }
    let l = open_reader(ledger)?;
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
        eprintln!(
            "warning: {} (amendments or revocations after {}) {} not in the bundle; pass --key OPERATOR.key to sign a newer checkpoint",
            crate::print::numbered(&exported.missed, "entry", "entries"),
            crate::print::checkpoint_at(exported.checkpoint_size),
            if exported.missed.len() == 1 { "is" } else { "are" }
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
        "wrote {} ({}, {}): {} {} against {}",
        a.output.display(),
        count(exported.entries as u64, "entry", "entries"),
        count(exported.bytes.len() as u64, "byte", "bytes"),
        subject.kind.name(),
        subject.index,
        crate::print::checkpoint_at(exported.checkpoint_size)
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
    match exported.completeness {
        Some((c, true)) => out!(
            "complete: it holds every amendment of its entries up to the checkpoint (state commitment at entry {c})"
        ),
        Some((c, false)) => eprintln!(
            "warning: the bundle proves its amendments complete only up to the state commitment at entry {c}, not to the checkpoint; pass --key OPERATOR.key to commit and sign a newer checkpoint"
        ),
        None => eprintln!(
            "warning: no state commitment precedes the checkpoint, so the bundle cannot prove that no amendment was left out (custody check refuses it without --allow-incomplete); pass --key OPERATOR.key to commit and sign a checkpoint"
        ),
    }
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
