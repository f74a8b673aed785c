//! `custody check`: a proof bundle checked offline against a trusted log key.

use super::{load_policy, witness_time, Failed};
use crate::args::CheckArgs;
use crate::print::{count, list, quoted, succession, time};
use anyhow::{Context, Result};
use custody_core::bundle::{self, Bundle, VerifiedBundle, MAX_BUNDLE_BYTES};
use custody_core::checkpoint::{self, StrictVerifier};
use custody_core::entry::Body;
use custody_core::explain::Status;
use custody_core::hash::Digest;
use custody_core::json::WitnessingJson;
use custody_core::json::{
    failed, with_ok, CheckReport, CheckedEntryJson, DocumentMatchJson, FailureJson, SignerJson,
    TimestampJson, TreeHeadJson,
};
use custody_core::policy::{Policy, WitnessStatus, Witnessed};
use custody_core::timestamp::{self, Certificate, VerifiedTimestamp};
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

/// Prints a failed check (with `--json`, its JSON verdict) and returns the exit-1 error.
fn failed_check(json: bool, entry: Option<u64>, reason: String) -> Result<()> {
    if json {
        let f = FailureJson {
            entry,
            reason: reason.clone(),
        };
        out!("{}", serde_json::to_string_pretty(&failed(&f))?);
    }
    Err(Failed(format!("bundle check FAILED: {reason}")).into())
}

/// The log keys to check the bundle against: `--trust`, else the policy's log keys whose name
/// is the bundle's origin (a bundle that does not parse is refused by the check itself).
fn trusted_keys(
    trust: Option<&str>,
    policy: Option<&Policy>,
    bytes: &[u8],
) -> Result<Vec<StrictVerifier>> {
    if let Some(t) = trust {
        let t = checkpoint::parse_vkey(t.trim())
            .context("--trust is not a usable verifier key (want ORIGIN+KEYID+BASE64)")?;
        if policy.is_some_and(|p| !p.lists_log(&t)) {
            anyhow::bail!(
                "the policy (--policy) lists no log key equal to --trust {}; give a policy for \
                 that log, or leave out --trust to use the policy's own log key",
                t.to_vkey()
            );
        }
        return Ok(vec![t]);
    }
    let Some(p) = policy else {
        anyhow::bail!("give the log key you trust: --trust VKEY, or --policy POLICY");
    };
    let origin = serde_json::from_slice::<Bundle>(bytes)
        .ok()
        .map(|b| b.origin);
    let keys: Vec<StrictVerifier> = p
        .logs()
        .iter()
        .filter(|l| origin.as_deref().is_none_or(|o| o == l.verifier.name()))
        .map(|l| l.verifier.clone())
        .collect();
    Ok(keys)
}

pub fn run(a: CheckArgs) -> Result<()> {
    let policy = a.policy.as_deref().map(load_policy).transpose()?;
    let roots = if a.tsa_cert.is_empty() {
        None
    } else {
        Some(super::timestamp::load_roots(&a.tsa_cert)?)
    };
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
    let keys = trusted_keys(a.trust.as_deref(), policy.as_ref(), &bytes)?;
    let Some(first_key) = keys.first() else {
        return failed_check(
            a.json,
            None,
            "the policy (--policy) lists no log key for the bundle's origin".into(),
        );
    };
    let mut documents = Vec::with_capacity(a.document.len());
    for p in &a.document {
        documents.push((p.as_path(), files::hash_file(p)?.0));
    }
    let started = std::time::Instant::now();
    // The first --document goes through the bundle's own step 13 (its match is the JSON
    // report's `document`); every one, the first too, must then match a live source. With
    // several policy log keys for the origin (a rotation), the first that verifies is taken.
    let mut result = bundle::verify(&bytes, first_key, documents.first().map(|d| d.1));
    for k in &keys[1..] {
        if result.is_ok() {
            break;
        }
        result = bundle::verify(&bytes, k, documents.first().map(|d| d.1));
    }
    // Then the checkpoint against the policy: its log signature (again) and the quorum.
    let witnessed: Option<Result<Witnessed, String>> = match (&result, &policy) {
        (Ok(v), Some(p)) => Some(
            p.check(v.checkpoint.note().as_bytes())
                .map_err(|e| format!("witness policy: {e}")),
        ),
        _ => None,
    };
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
    let witnessed = match witnessed {
        Some(Ok(w)) => Some(w),
        Some(Err(reason)) => return failed_check(a.json, None, reason),
        None => None,
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
    // A bundle that cannot show nothing was left out of it is refused before anything is said
    // about its subject, unless the user asked to see what it holds anyway.
    if let Some(reason) = incomplete(&v).filter(|_| !a.allow_incomplete) {
        if a.json {
            let f = FailureJson {
                entry: None,
                reason: reason.clone(),
            };
            out!("{}", serde_json::to_string_pretty(&failed(&f))?);
        }
        return Err(Failed(format!("bundle check FAILED: {reason}")).into());
    }
    // The tokens are over the note as the log key that verified signed it.
    let trusted = keys
        .iter()
        .find(|k| k.to_vkey() == v.vkey)
        .unwrap_or(first_key)
        .clone();
    let stamps = match check_timestamps(&v, &trusted, roots.as_deref()) {
        Ok(s) => s,
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
    let s = v.subject.index;
    let e = &v.entries[&s].entry;
    let retracted = match v.status {
        Status::Retracted { at } if !a.historical => Some(format!(
            "{} {s} was RETRACTED at entry {at}: it must not be relied on as it stands; pass \
             --historical to check it as it was published",
            e.content.body.kind()
        )),
        _ => None,
    };
    if a.json {
        if let (Some(reason), Status::Retracted { at }) = (&retracted, v.status) {
            let f = FailureJson {
                entry: Some(at),
                reason: reason.clone(),
            };
            out!("{}", serde_json::to_string_pretty(&failed(&f))?);
            return Err(Failed(format!("bundle check: {reason}")).into());
        }
        let mut j = with_ok(&report(&v, &stamps))?;
        let witnessed_json = match (&policy, &witnessed) {
            (Some(p), Some(w)) => {
                let cp = w.checkpoint();
                serde_json::to_value(WitnessingJson::new(
                    p,
                    w.evaluation(),
                    cp.size(),
                    &cp.root(),
                ))?
            }
            _ => serde_json::Value::Null,
        };
        if let serde_json::Value::Object(m) = &mut j {
            m.insert("witnessed".into(), witnessed_json);
        }
        out!("{}", serde_json::to_string_pretty(&j)?);
        return Ok(());
    }
    let signer = SignerJson::of(&e.content.signer, v.keys());
    // Every line goes through `say!`: the origin, names, labels and units are the bundle's.
    // The subject's standing comes first, so that nobody reads "verified" as "current".
    // "figure 27", not "figure 27 (figure)"; an entry says what kind it is: "entry 11 (claim)".
    let kind = e.content.body.kind();
    let subject = if v.subject.kind.name() == kind {
        format!("{kind} {s}")
    } else {
        format!("{} {s} ({kind})", v.subject.kind.name())
    };
    say!(
        "{}: {subject} of {} is in the log, as proven by {} signed by the trusted key",
        v.status.headline(),
        v.origin,
        crate::print::checkpoint_at(v.checkpoint.size())
    );
    for line in status_lines(&v)? {
        say!("  {line}");
    }
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
    if let Some(s) = &v.standing {
        let reviews = crate::print::reviews(&s.reviewed_by, v.keys(), |r| {
            Ok::<_, std::convert::Infallible>(v.entries.get(&r).map(|ve| ve.entry.content.signer))
        })
        .unwrap_or_else(|never| match never {});
        if let Some(line) =
            crate::print::reviewed(&reviews, |n| crate::print::clean(n).into_owned())
        {
            say!("  {line}");
        }
    }
    if let (Some(p), Some(w)) = (&policy, &witnessed) {
        say!(
            "  witnessed: the checkpoint meets the policy's quorum {} (policy SHA-256 {})",
            quoted(p.quorum_name()),
            p.sha256()
        );
        for (name, st) in &w.evaluation().witnesses {
            match st {
                WitnessStatus::Cosigned { time } => {
                    say!("    witnessed by {name} at {}", witness_time(*time));
                }
                WitnessStatus::Invalid => {
                    say!("    {name}: its cosignature line does not verify (not counted)");
                }
                WitnessStatus::Absent => say!("    {name}: no cosignature"),
            }
        }
    }
    if policy.is_none() {
        if let Some(line) = super::unchecked_cosignatures(v.checkpoint.note(), &trusted) {
            say!("  the checkpoint carries {line}");
        }
    }
    match (&v.policy, &policy) {
        (Some(carried), Some(p)) if carried.as_bytes() == p.text().as_bytes() => {
            say!("  the bundle carries the same policy it was checked under");
        }
        (Some(carried), _) => say!(
            "  the bundle carries a witness policy (SHA-256 {}){}",
            custody_core::hash::Digest::of(carried.as_bytes()),
            if policy.is_some() {
                ", not the one given with --policy (the given one was used)"
            } else {
                "; pass --policy with the policy you trust to hold the checkpoint to it"
            }
        ),
        _ => {}
    }
    for (path, sha256, sources) in &matched {
        say!(
            "  document {} (SHA-256 {sha256}) is the document of source entry {}",
            path.display(),
            list(sources)
        );
        for &src in sources {
            if let Some(r) = redacted_at(&v, src) {
                say!(
                    "    source {src}'s stored copy was redacted at entry {r}: the document may hold what the redaction protects"
                );
            }
        }
    }
    say!(
        "  checked {}: inclusion proofs, strict signatures, grants, rules and arithmetic ({:.1} ms)",
        count(v.entries.len() as u64, "entry", "entries"),
        elapsed.as_secs_f64() * 1000.0
    );
    let size = v.checkpoint.size();
    for t in stamps.iter().flatten() {
        say!("  {}", super::timestamp::line(size, t));
    }
    if roots.is_none() && !stamps.is_empty() {
        say!(
            "  {} over the checkpoint present, not checked (give --tsa-cert ROOT.pem to check)",
            count(stamps.len() as u64, "time-stamp token", "time-stamp tokens")
        );
    }
    say!("  {}", completeness_line(&v));
    say!("  bundle SHA-256 {}", v.bundle_sha256);
    say!("  This proves who signed what, and that each entry is byte for byte the one the checkpoint covers; not that any claim is true.");
    if let Some(reason) = retracted {
        return Err(Failed(format!("bundle check: {reason}")).into());
    }
    Ok(())
}

/// Why the bundle does not prove its amendments complete to its checkpoint, if it does not:
/// the one reason `check` and `exhibit` refuse it without --allow-incomplete.
pub(super) fn incomplete(v: &VerifiedBundle) -> Option<String> {
    match v.completeness {
        Some(c) if c.to_checkpoint => None,
        Some(c) => Some(format!(
            "the bundle proves its entries' amendments complete only up to its state commitment \
             at entry {}, not to its checkpoint (tree size {}): an amendment recorded between \
             them could have been left out; export it again with `custody export --key \
             OPERATOR.key`, or pass --allow-incomplete to use what it holds",
            c.commitment,
            v.checkpoint.size()
        )),
        None => Some(
            "the bundle carries no completeness proof (no state commitment): a correction, \
             retraction, redaction, re-sourcing, supersession, review or revocation of its entries could \
             have been left out of it unseen; export it again with `custody export --key \
             OPERATOR.key`, or pass --allow-incomplete to use what it holds"
                .into(),
        ),
    }
}

/// The one line that says what the bundle proves about omissions (docs/PROOFS.md).
fn completeness_line(v: &VerifiedBundle) -> String {
    match (v.completeness, incomplete(v)) {
        (Some(c), None) => format!(
            "complete: every correction, retraction, redaction, re-sourcing, supersession, review \
             and revocation of these entries recorded before the checkpoint is in the bundle, as the \
             operator's state commitment at entry {} records them (every full `custody verify` \
             of the ledger checks that commitment)",
            c.commitment
        ),
        (_, Some(why)) => format!("NOT PROVEN COMPLETE: {why}"),
        (None, None) => "NOT PROVEN COMPLETE".into(),
    }
}

/// The lines that explain the subject's status: its retraction, its successors, its key's
/// revocation, its unsupported claims.
fn status_lines(v: &VerifiedBundle) -> Result<Vec<String>> {
    let s = v.subject.index;
    let mut out = Vec::new();
    let reason_of = |i: u64| match v.entries.get(&i).map(|e| &e.entry.content.body) {
        Some(
            Body::Retraction { reason, .. }
            | Body::KeyRevoke { reason, .. }
            | Body::Correction { reason, .. },
        ) => quoted(reason),
        _ => "(reason not in the bundle)".into(),
    };
    match v.status {
        Status::Retracted { at } => out.push(format!("retracted at entry {at}: {}", reason_of(at))),
        Status::Revoked { at } => out.push(format!(
            "the key this entry granted was revoked at entry {at}: {}",
            reason_of(at)
        )),
        _ => {}
    }
    if let Some(line) = succession(s, &|i| v.standing_of(i))? {
        out.push(line);
    }
    Ok(out)
}

/// The redaction of source `i` in the bundle, if any.
pub(crate) fn redacted_at(v: &VerifiedBundle, i: u64) -> Option<u64> {
    v.amendments(i).iter().copied().find(|a| {
        v.entries
            .get(a)
            .is_some_and(|ae| matches!(ae.entry.content.body, Body::Redaction { .. }))
    })
}

/// A `--document`, its SHA-256, and the live source entries that record it.
pub(crate) type LiveMatch<'a> = (&'a Path, Digest, Vec<u64>);

/// Each `--document` with the live sources of the bundle that record its SHA-256, or why one
/// matches none: no source records it, or only retracted ones do.
pub(crate) fn live_matches<'a>(
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

/// The bundle's time-stamp tokens, each verified over its checkpoint when `roots` are given
/// (`None` for each when not), or why one does not verify.
pub(crate) fn check_timestamps(
    v: &VerifiedBundle,
    trusted: &checkpoint::StrictVerifier,
    roots: Option<&[Certificate]>,
) -> Result<Vec<Option<VerifiedTimestamp>>, String> {
    v.timestamps
        .iter()
        .enumerate()
        .map(|(i, t)| match roots {
            None => Ok(None),
            Some(r) => timestamp::verify(t, v.checkpoint.note().as_bytes(), trusted, r, None)
                .map(Some)
                .map_err(|e| format!("timestamps: token {i}: {e}")),
        })
        .collect()
}

fn report(v: &VerifiedBundle, stamps: &[Option<VerifiedTimestamp>]) -> CheckReport {
    CheckReport {
        origin: v.origin.clone(),
        vkey: v.vkey.clone(),
        bundle_sha256: v.bundle_sha256.to_hex(),
        checkpoint: TreeHeadJson {
            size: v.checkpoint.size(),
            root: v.checkpoint.root().to_hex(),
        },
        subject: v.subject,
        status: v.status,
        standing: v.standing.clone(),
        completeness: v.completeness,
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
        timestamps: stamps
            .iter()
            .map(|t| TimestampJson::of(None, v.checkpoint.size(), t.as_ref()))
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
        let _ = write!(
            line,
            "; {}",
            if v.completeness.is_some_and(|c| c.to_checkpoint) {
                "unchanged as of the checkpoint"
            } else {
                "no change beneath it in the bundle (which does not prove none was left out)"
            }
        );
    } else if s.is_amended() {
        let _ = write!(
            line,
            "; still {current} as of the checkpoint: value unchanged, amended beneath by {}",
            crate::print::numbered(&s.changed_by, "entry", "entries")
        );
    } else {
        let _ = write!(
            line,
            "; {current} as of the checkpoint, after {}",
            crate::print::numbered(&s.changed_by, "entry", "entries")
        );
    }
    if !s.unsupported.is_empty() {
        let _ = write!(
            line,
            "; UNSUPPORTED as of the checkpoint: {} {} on no live source",
            crate::print::numbered(&s.unsupported, "claim", "claims"),
            crate::print::rest(&s.unsupported)
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
