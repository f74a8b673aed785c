//! `custody exhibit`: a proof bundle rendered as a printable HTML page (see `crate::exhibit`).

use super::check::{check_timestamps, incomplete, live_matches, read_bundle, redacted_at};
use super::{load_policy, witness_time, Failed};
use crate::args::ExhibitArgs;
use crate::exhibit::{Matched, PageInputs};
use anyhow::{Context, Result};
use custody_core::bundle::{self, Bundle};
use custody_core::checkpoint;
use custody_store::files;

pub fn run(a: ExhibitArgs) -> Result<()> {
    let bytes = read_bundle(&a.bundle)?;
    let policy = a.policy.as_deref().map(load_policy).transpose()?;
    let roots = if a.tsa_cert.is_empty() {
        None
    } else {
        Some(super::timestamp::load_roots(&a.tsa_cert)?)
    };
    let mut documents = Vec::with_capacity(a.document.len());
    for p in &a.document {
        documents.push((p.as_path(), files::hash_file(p)?.0));
    }
    // With --policy and no --trust, the policy's log key for the bundle's origin is trusted.
    let policy_key = policy.as_ref().and_then(|p| {
        let origin = serde_json::from_slice::<Bundle>(&bytes).ok()?.origin;
        p.logs()
            .iter()
            .find(|l| l.verifier.name() == origin)
            .map(|l| l.verifier.clone())
    });
    let (trusted, self_keyed) = match (&a.trust, policy_key) {
        (Some(t), _) => (
            checkpoint::parse_vkey(t.trim())
                .context("--trust is not a usable verifier key (want ORIGIN+KEYID+BASE64)")?,
            false,
        ),
        (None, Some(k)) => (k, false),
        (None, None) => {
            let b: Bundle = serde_json::from_slice(&bytes)
                .map_err(|e| Failed(format!("bundle check FAILED: {e}")))?;
            let t = checkpoint::parse_vkey(&b.vkey)
                .map_err(|e| Failed(format!("bundle check FAILED: vkey: {e}")))?;
            (t, true)
        }
    };
    // The same checks as `check`: the first --document through the bundle's own step 13,
    // then every one against the live sources; a failure writes no page (exit 1).
    let v = bundle::verify(&bytes, &trusted, documents.first().map(|d| d.1))
        .map_err(|e| Failed(format!("bundle check FAILED: {e}")))?;
    // As `check`: no page for a bundle that cannot show nothing was left out of it, unless the
    // user accepts that (the page then says so on its first page).
    if let Some(reason) = incomplete(&v).filter(|_| !a.allow_incomplete) {
        return Err(Failed(format!("exhibit refused: {reason}")).into());
    }
    let matched = live_matches(&v, &documents)
        .map_err(|reason| Failed(format!("bundle check FAILED: {reason}")))?;
    let stamps = check_timestamps(&v, &trusted, roots.as_deref())
        .map_err(|reason| Failed(format!("bundle check FAILED: {reason}")))?;
    let witnesses = match &policy {
        Some(p) => {
            if !p.lists_log(&trusted) {
                anyhow::bail!("the policy (--policy) lists no log key equal to the trusted key");
            }
            let w = p
                .check(v.checkpoint.note().as_bytes())
                .map_err(|e| Failed(format!("bundle check FAILED: witness policy: {e}")))?;
            Some(crate::exhibit::Witnesses {
                cosigned: w
                    .evaluation()
                    .cosigned()
                    .iter()
                    .map(|(n, t)| ((*n).to_owned(), witness_time(*t)))
                    .collect(),
                quorum: p.quorum_name().to_owned(),
                policy_sha256: p.sha256().to_hex(),
            })
        }
        None => None,
    };
    let name = a.bundle.file_name().map_or_else(
        || "bundle.json".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let matched: Vec<Matched> = matched
        .into_iter()
        .map(|(path, sha256, sources)| Matched {
            redacted: sources
                .iter()
                .filter_map(|&s| redacted_at(&v, s).map(|r| (s, r)))
                .collect(),
            file: path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            sha256,
            sources,
        })
        .collect();
    let inputs = PageInputs {
        file_name: &name,
        self_keyed,
        witnesses: witnesses.as_ref(),
        stamps: &stamps,
        documents: &matched,
        tool: concat!("custody ", env!("CARGO_PKG_VERSION")),
        // The one clock read: core and the page renderer stay pure.
        produced: crate::print::time(custody_store::clock::now()),
        exhibit_id: a.exhibit_id.as_deref(),
        case: a.case.as_deref(),
    };
    let html = crate::exhibit::render(&v, &inputs)?;
    files::write_new(&a.output, html.as_bytes(), a.force, false).map_err(|e| {
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
        "wrote {} ({}) for {} {}",
        a.output.display(),
        crate::print::count(html.len() as u64, "byte", "bytes"),
        v.subject.kind.name(),
        v.subject.index
    );
    say!("  {}", crate::exhibit::verdict(&v, &inputs));
    if incomplete(&v).is_some() {
        out!("  NOT PROVEN COMPLETE (--allow-incomplete): the first page says so");
    }
    if let Some(w) = &witnesses {
        let by: Vec<String> = w
            .cosigned
            .iter()
            .map(|(n, t)| format!("{} at {t}", crate::print::clean(n)))
            .collect();
        out!("  witnessed by {} (policy quorum met)", by.join(", "));
    }
    for t in stamps.iter().flatten() {
        say!("  {}", super::timestamp::line(v.checkpoint.size(), t));
    }
    if roots.is_none() && !stamps.is_empty() {
        out!(
            "  {} over the checkpoint present, not checked (give --tsa-cert ROOT.pem to check)",
            crate::print::count(stamps.len() as u64, "time-stamp token", "time-stamp tokens")
        );
    }
    if self_keyed {
        out!(
            "  trust:   checked only against the log key inside the bundle, {}; the page says it \
             proves nothing until that key is compared with the one the operator published \
             (or pass --trust VKEY)",
            crate::print::clean(&v.vkey)
        );
    } else {
        out!(
            "  trust:   checked against the trusted key {} ({})",
            crate::print::clean(&v.vkey),
            if a.trust.is_some() {
                "given with --trust"
            } else {
                "the log key of the --policy file"
            }
        );
    }
    Ok(())
}
