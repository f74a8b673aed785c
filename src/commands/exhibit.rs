//! `custody exhibit`: a proof bundle rendered as a printable HTML page (see `crate::exhibit`).

use super::check::read_bundle;
use super::{load_policy, witness_time, Failed};
use crate::args::ExhibitArgs;
use anyhow::{Context, Result};
use custody_core::bundle::{self, Bundle};
use custody_core::checkpoint;
use custody_store::files;

pub fn run(a: ExhibitArgs) -> Result<()> {
    let bytes = read_bundle(&a.bundle)?;
    let policy = a.policy.as_deref().map(load_policy).transpose()?;
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
    let v = bundle::verify(&bytes, &trusted, None)
        .map_err(|e| Failed(format!("bundle check FAILED: {e}")))?;
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
    let html = crate::exhibit::render(&v, &name, self_keyed, witnesses.as_ref())?;
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
    if let Some(w) = &witnesses {
        let by: Vec<String> = w
            .cosigned
            .iter()
            .map(|(n, t)| format!("{} at {t}", crate::print::clean(n)))
            .collect();
        out!("  witnessed by {} (policy quorum met)", by.join(", "));
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
            "  trust:   checked against the trusted key {} (--trust or --policy)",
            crate::print::clean(&v.vkey)
        );
    }
    Ok(())
}
