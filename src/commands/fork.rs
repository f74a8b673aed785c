//! `custody fork-evidence` (write fork evidence from two checkpoints) and `custody check-fork`
//! (check it offline). The format and its verification are custody-core's `fork`
//! (docs/FORKS.md); the proof for checkpoints of different sizes comes from the ledger that
//! produced the larger one (custody-store's `fork`).
//!
//! Exit codes of `check-fork`: 1 when the file proves a fork (the log failed), 0 when it
//! verifies but shows two consistent checkpoints, 2 when it is not valid evidence.

use super::{open_reader, Failed};
use crate::args::{CheckForkArgs, ForkEvidenceArgs};
use crate::print::clean;
use anyhow::{anyhow, Context, Result};
use custody_core::checkpoint::{self, MAX_NOTE_BYTES};
use custody_core::fork::{self, Verdict, MAX_FORK_BYTES};
use custody_store::files;

pub fn evidence(a: &ForkEvidenceArgs, ledger: Option<&std::path::Path>) -> Result<()> {
    let read = |p: &std::path::Path| {
        files::read_bounded(p, MAX_NOTE_BYTES as u64, "a checkpoint")
            .with_context(|| format!("cannot read checkpoint {}", p.display()))
    };
    let x = read(&a.a)?;
    let y = read(&a.b)?;
    let ledger = ledger.map(open_reader).transpose()?;
    let trusted = match (&a.trust, &ledger) {
        (Some(t), _) => checkpoint::parse_vkey(t.trim())
            .context("--trust is not a usable verifier key (want ORIGIN+KEYID+BASE64)")?,
        (None, Some(l)) => l.operator_verifier()?,
        (None, None) => anyhow::bail!(
            "give the log key: --trust VKEY, or -L LEDGER (its operator key is the log key)"
        ),
    };
    let bytes = match &ledger {
        Some(l) => l.fork_evidence(&trusted, &x, &y)?,
        None => custody_store::fork::same_size_evidence(&trusted, &x, &y)?,
    };
    files::write_new(&a.output, &bytes, a.force, false).map_err(|e| {
        anyhow!(
            "cannot create {}: {e}{}",
            a.output.display(),
            if a.force {
                ""
            } else {
                " (pass --force to replace it)"
            }
        )
    })?;
    let c = fork::verify(&bytes, &trusted)
        .map_err(|e| anyhow!("internal: the evidence written does not verify: {e}"))?;
    out!(
        "wrote {} ({} bytes, SHA-256 {}): checkpoints of tree sizes {} and {} signed by {} fork",
        a.output.display(),
        bytes.len(),
        c.sha256,
        c.a.size(),
        c.b.size(),
        clean(&trusted.to_vkey())
    );
    out!(
        "check it with: custody check-fork {} --trust {}",
        a.output.display(),
        clean(&trusted.to_vkey())
    );
    Ok(())
}

pub fn check(a: &CheckForkArgs) -> Result<()> {
    let trusted = checkpoint::parse_vkey(a.trust.trim())
        .context("--trust is not a usable verifier key (want ORIGIN+KEYID+BASE64)")?;
    let bytes = files::read_bounded(&a.file, MAX_FORK_BYTES as u64, "fork evidence")
        .with_context(|| format!("NOT EVIDENCE: cannot read {}", a.file.display()))?;
    let c = fork::verify(&bytes, &trusted)
        .map_err(|e| anyhow!("NOT EVIDENCE: {} proves nothing: {e}", a.file.display()))?;
    let a_line = format!("  A: tree size {}, root {}", c.a.size(), c.a.root());
    let b_line = format!(
        "  B: tree size {}, root {}; its first {} have root {} (consistency proof of {})",
        c.b.size(),
        c.b.root(),
        crate::print::count(c.a.size(), "entry", "entries"),
        c.prefix_root,
        crate::print::count(c.proof_len as u64, "hash", "hashes")
    );
    match c.verdict {
        Verdict::Fork => {
            say!(
                "FORK PROVEN: the log key {} signed two checkpoints that no append-only log can both \
                 hold (B's tree does not begin with A's)",
                trusted.to_vkey()
            );
            say!("{a_line}");
            say!("{b_line}");
            say!("  evidence SHA-256 {}", c.sha256);
            Err(Failed(format!(
                "fork proven: checkpoints of tree sizes {} and {} are inconsistent",
                c.a.size(),
                c.b.size()
            ))
            .into())
        }
        Verdict::Consistent => {
            say!(
                "NO FORK: the two checkpoints are consistent (B's tree begins with A's); the file \
                 proves no misbehaviour"
            );
            say!("{a_line}");
            say!("{b_line}");
            Ok(())
        }
    }
}
