//! `custody verify`: replay the whole ledger and print what was checked.

use super::{progress_bar, Failed};
use crate::print::list;
use anyhow::Result;
use custody_core::checkpoint::MAX_NOTE_BYTES;
use custody_core::json::{failed, with_ok, VerifyReport};
use custody_store::files;
use custody_store::replay::{verify_ledger, Options, VerifyError};
use custody_store::ENTRIES;
use std::io::Write;
use std::path::{Path, PathBuf};

pub fn run(
    ledger: &Path,
    since: &[PathBuf],
    documents: bool,
    strict: bool,
    jobs: Option<usize>,
    json: bool,
) -> Result<()> {
    if let Some(j) = jobs {
        rayon::ThreadPoolBuilder::new()
            .num_threads(j.max(1))
            .build_global()
            .ok();
    }
    let mut notes = Vec::new();
    for p in since {
        notes.push((
            p.clone(),
            files::read_bounded(p, MAX_NOTE_BYTES as u64, "a checkpoint")?,
        ));
    }
    let opts = Options {
        since: notes,
        documents,
        strict,
    };
    let total = std::fs::metadata(ledger.join(ENTRIES)).map_or(0, |m| m.len());
    let bar = progress_bar(
        total,
        "verifying {bar:40} {bytes}/{total_bytes} {eta}",
        json,
    );
    let result = verify_ledger(ledger, &opts, &|n| bar.set_position(n));
    bar.finish_and_clear();
    match result {
        Ok(r) => {
            if json {
                out!("{}", serde_json::to_string_pretty(&with_ok(&r)?)?);
            } else {
                print_report(&r)?;
            }
            Ok(())
        }
        Err(VerifyError::Evidence(f)) => {
            if json {
                out!("{}", serde_json::to_string_pretty(&failed(&f.to_json()))?);
            }
            Err(Failed(format!("verification FAILED: {f}")).into())
        }
        // No ledger, or an unreadable one, is not a failed verification (exit 2, not 1).
        Err(other) => Err(other.into()),
    }
}

fn print_report(r: &VerifyReport) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "OK: ledger {} verified: {} entries, every hash, chain link, signature and grant checked",
        r.origin, r.entries
    )?;
    let kinds: Vec<String> = r.kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
    writeln!(out, "  kinds:   {}", kinds.join(", "))?;
    writeln!(
        out,
        "  root:    {} (RFC 6962, tree size {})",
        r.root, r.entries
    )?;
    writeln!(out, "  signers:")?;
    for s in &r.signers {
        let rev = s
            .revoked_at
            .map(|x| format!(", revoked at entry {x}"))
            .unwrap_or_default();
        writeln!(
            out,
            "    {:<12} {:<10} {}  {} entries (granted at entry {}{rev})",
            s.signer.name.as_deref().unwrap_or("?"),
            s.signer.role.as_deref().unwrap_or("?"),
            &s.signer.key_id[..16],
            s.entries,
            s.granted_at
        )?;
    }
    if !r.figures.is_empty() {
        writeln!(out, "  figures (recomputed from the signed claims):")?;
    }
    for f in &r.figures {
        let s = &f.standing;
        let terms: Vec<String> = s.terms.iter().map(|t| t.value.to_string()).collect();
        let published = s.published.unwrap_or(0);
        writeln!(
            out,
            "    {}: {} {published} = {} (ok)  [entry {}]",
            f.label,
            f.qualifier.name(),
            terms.join(" + "),
            s.entry
        )?;
        if s.retracted_at.is_some() {
            writeln!(out, "      RETRACTED after publication")?;
        } else if !s.changed_by.is_empty() {
            writeln!(
                out,
                "      changed since publication: published {published}, today {} (entries {})",
                s.current.unwrap_or(0),
                list(&s.changed_by)
            )?;
        }
    }
    for c in &r.checkpoints {
        writeln!(
            out,
            "  checkpoint ok: tree size {} root {} ({})",
            c.size,
            &c.root[..16],
            c.file
        )?;
    }
    for d in &r.documents {
        writeln!(out, "  document of entry {}: {}", d.entry, d.status)?;
    }
    for n in &r.notes {
        writeln!(out, "  note: {n}")?;
    }
    writeln!(out, "  verifier key: {}", r.vkey)?;
    Ok(())
}
