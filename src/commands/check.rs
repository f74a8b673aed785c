//! `custody check`: a proof bundle checked offline against a trusted log key.

use super::Failed;
use crate::args::CheckArgs;
use crate::print::{count, list, quoted, time};
use anyhow::{Context, Result};
use custody_core::bundle::{self, VerifiedBundle, MAX_BUNDLE_BYTES};
use custody_core::checkpoint;
use custody_core::entry::Body;
use custody_core::hash::Digest;
use custody_core::json::{
    failed, with_ok, CheckReport, CheckedEntryJson, DocumentMatchJson, FailureJson, SignerJson,
    TreeHeadJson,
};
use custody_store::files;
use custody_store::StoreError;
use std::path::Path;

/// Why a bundle file larger than the format allows is refused.
fn too_large(path: &Path) -> String {
    format!(
        "{} is larger than {MAX_BUNDLE_BYTES} bytes, the most a bundle may be",
        path.display()
    )
}

/// Reads a bundle file, refusing (exit 1, [`Failed`]) one larger than the format allows; that
/// is the only [`Failed`] it returns.
pub fn read_bundle(path: &Path) -> Result<Vec<u8>> {
    match files::read_bounded(path, MAX_BUNDLE_BYTES as u64, "a bundle") {
        Ok(b) => Ok(b),
        Err(StoreError::TooLarge { .. }) => {
            Err(Failed(format!("bundle check FAILED: {}", too_large(path))).into())
        }
        Err(e) => Err(e).with_context(|| format!("cannot read bundle {}", path.display())),
    }
}

pub fn run(a: CheckArgs) -> Result<()> {
    let trusted = checkpoint::parse_vkey(a.trust.trim())
        .context("--trust is not a usable verifier key (want ORIGIN+KEYID+BASE64)")?;
    let bytes = match read_bundle(&a.bundle) {
        Ok(b) => b,
        Err(e) => {
            // A refused bundle is a failed check (exit 1), so --json still prints its verdict.
            if a.json && e.is::<Failed>() {
                let f = FailureJson {
                    entry: None,
                    reason: too_large(&a.bundle),
                };
                out!("{}", serde_json::to_string_pretty(&failed(&f))?);
            }
            return Err(e);
        }
    };
    let mut documents = Vec::with_capacity(a.document.len());
    for p in &a.document {
        documents.push((p.as_path(), files::hash_file(p)?.0));
    }
    let started = std::time::Instant::now();
    // The first --document goes through the bundle's own step 13 (its match is the JSON
    // report's `document`); every one, the first too, must then match a live source.
    let result = bundle::verify(&bytes, &trusted, documents.first().map(|d| d.1));
    let elapsed = started.elapsed();
    let v = match result {
        Ok(v) => v,
        Err(e) => {
            if a.json {
                let f = FailureJson {
                    entry: match &e {
                        bundle::BundleError::Entry { index, .. } => Some(*index),
                        _ => None,
                    },
                    reason: e.to_string(),
                };
                out!("{}", serde_json::to_string_pretty(&failed(&f))?);
            }
            return Err(Failed(format!("bundle check FAILED: {e}")).into());
        }
    };
    let matched = match live_matches(&v, &documents) {
        Ok(m) => m,
        Err(reason) => {
            if a.json {
                let f = FailureJson {
                    entry: None,
                    reason: reason.clone(),
                };
                out!("{}", serde_json::to_string_pretty(&failed(&f))?);
            }
            return Err(Failed(format!("bundle check FAILED: {reason}")).into());
        }
    };
    if a.json {
        out!("{}", serde_json::to_string_pretty(&with_ok(&report(&v))?)?);
        return Ok(());
    }
    let s = v.subject.index;
    let e = &v.entries[&s].entry;
    let signer = SignerJson::of(&e.content.signer, v.keys());
    // Every line goes through `say!`: the origin, names, labels and units are the bundle's.
    say!(
        "OK: {} {s} ({}) of {} is in the log, as proven to checkpoint size {} signed by the trusted key",
        v.subject.kind.name(),
        e.content.body.kind(),
        v.origin,
        v.checkpoint.size()
    );
    say!(
        "  signed by {} ({}, key {}), claimed time {}",
        signer.name.as_deref().unwrap_or("?"),
        signer.role.as_deref().unwrap_or("?"),
        &signer.key_id[..16],
        time(e.content.claimed_time)
    );
    if let Some(line) = standing_line(&v) {
        say!("  {line}");
    }
    for (path, sha256, sources) in &matched {
        say!(
            "  document {} (SHA-256 {sha256}) is the document of source entry {}",
            path.display(),
            list(sources)
        );
    }
    say!(
        "  checked {}: inclusion proofs, strict signatures, grants, rules and arithmetic ({:.1} ms)",
        count(v.entries.len() as u64, "entry", "entries"),
        elapsed.as_secs_f64() * 1000.0
    );
    say!("  bundle SHA-256 {}", v.bundle_sha256);
    say!("  This proves who signed what and that it is unchanged since the checkpoint; not that any claim is true.");
    Ok(())
}

/// A `--document`, its SHA-256, and the live source entries that record it.
type LiveMatch<'a> = (&'a Path, Digest, Vec<u64>);

/// Each `--document` with the live sources of the bundle that record its SHA-256, or why one
/// matches none: no source records it, or only retracted ones do.
fn live_matches<'a>(
    v: &VerifiedBundle,
    documents: &[(&'a Path, Digest)],
) -> Result<Vec<LiveMatch<'a>>, String> {
    let retracted_at = |i: u64| {
        v.amendments(i).iter().copied().find(|a| {
            v.entries
                .get(a)
                .is_some_and(|ae| matches!(ae.entry.content.body, Body::Retraction { .. }))
        })
    };
    let mut out = Vec::with_capacity(documents.len());
    for &(path, sha256) in documents {
        let recorded: Vec<u64> = v
            .entries
            .iter()
            .filter(|(_, ve)| {
                matches!(&ve.entry.content.body, Body::Source { sha256: h, .. } if h.ct_eq(&sha256))
            })
            .map(|(&i, _)| i)
            .collect();
        let live: Vec<u64> = recorded
            .iter()
            .copied()
            .filter(|&i| retracted_at(i).is_none())
            .collect();
        if live.is_empty() {
            let why = match recorded.first() {
                None => "is the hash of no source in the bundle".to_string(),
                Some(&i) => format!(
                    "is the document only of retracted source entry {} (retracted at entry {})",
                    list(&recorded),
                    retracted_at(i).unwrap_or(i)
                ),
            };
            return Err(format!(
                "document {}: its SHA-256 {sha256} {why}",
                path.display()
            ));
        }
        out.push((path, sha256, live));
    }
    Ok(out)
}

fn report(v: &VerifiedBundle) -> CheckReport {
    CheckReport {
        origin: v.origin.clone(),
        vkey: v.vkey.clone(),
        bundle_sha256: v.bundle_sha256.to_hex(),
        checkpoint: TreeHeadJson {
            size: v.checkpoint.size(),
            root: v.checkpoint.root().to_hex(),
        },
        subject: v.subject,
        standing: v.standing.clone(),
        document: v.document.as_ref().map(|d| DocumentMatchJson {
            sha256: d.sha256.to_hex(),
            sources: d.sources.clone(),
        }),
        entries: v
            .entries
            .iter()
            .map(|(&i, ve)| CheckedEntryJson {
                index: i,
                kind: ve.entry.content.body.kind(),
                signer: SignerJson::of(&ve.entry.content.signer, v.keys()),
                claimed_time: time(ve.entry.content.claimed_time),
                leaf_hash: ve.leaf.to_hex(),
            })
            .collect(),
    }
}

/// The subject's standing in one line: its value when signed and as of the checkpoint. It holds
/// the bundle's label and unit; `run` prints it through `say!`.
fn standing_line(v: &VerifiedBundle) -> Option<String> {
    use std::fmt::Write as _;
    let s = v.standing.as_ref()?;
    let e = &v.entries[&v.subject.index].entry;
    let published = s.published?;
    let current = s.current?;
    let mut line = match (e.content.body.as_figure(), e.content.body.as_claim()) {
        (Some(f), _) => {
            let terms: Vec<String> = s
                .terms
                .iter()
                .map(|t| format!("{} [entry {}]", t.value, t.entry))
                .collect();
            format!(
                "figure {}: {} {published} {} = {} when signed",
                quoted(f.label),
                f.qualifier.name(),
                f.unit,
                terms.join(" + ")
            )
        }
        (None, Some(c)) => format!("claim count {published} {} when signed", c.unit),
        (None, None) => return None,
    };
    if current == published && s.changed_by.is_empty() {
        let _ = write!(line, "; unchanged as of the checkpoint");
    } else {
        let by: Vec<String> = s.changed_by.iter().map(ToString::to_string).collect();
        let _ = write!(
            line,
            "; {current} as of the checkpoint, after entries {}",
            by.join(", ")
        );
    }
    if !s.unsupported.is_empty() {
        let u: Vec<String> = s.unsupported.iter().map(ToString::to_string).collect();
        let _ = write!(
            line,
            "; UNSUPPORTED as of the checkpoint: claims {} rest on no live source",
            u.join(", ")
        );
    }
    if let Some(r) = s.retracted_at {
        let _ = write!(line, "; RETRACTED at entry {r}");
    }
    if let Some(by) = s.superseded_by {
        let _ = write!(line, "; SUPERSEDED by figure {by}");
    }
    Some(line)
}
