//! `custody exhibit`: a proof bundle rendered as a printable HTML page (see `crate::exhibit`).

use super::check::read_bundle;
use super::Failed;
use crate::args::ExhibitArgs;
use anyhow::{Context, Result};
use custody_core::bundle::{self, Bundle};
use custody_core::checkpoint;
use custody_store::files;

pub fn run(a: ExhibitArgs) -> Result<()> {
    let bytes = read_bundle(&a.bundle)?;
    let (trusted, self_keyed) = match &a.trust {
        Some(t) => (
            checkpoint::parse_vkey(t.trim())
                .context("--trust is not a usable verifier key (want ORIGIN+KEYID+BASE64)")?,
            false,
        ),
        None => {
            let b: Bundle = serde_json::from_slice(&bytes)
                .map_err(|e| Failed(format!("bundle check FAILED: {e}")))?;
            let t = checkpoint::parse_vkey(&b.vkey)
                .map_err(|e| Failed(format!("bundle check FAILED: vkey: {e}")))?;
            (t, true)
        }
    };
    let v = bundle::verify(&bytes, &trusted, None)
        .map_err(|e| Failed(format!("bundle check FAILED: {e}")))?;
    let name = a.bundle.file_name().map_or_else(
        || "bundle.json".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let html = crate::exhibit::render(&v, &name, self_keyed)?;
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
    if self_keyed {
        out!(
            "  trust:   checked only against the log key inside the bundle, {}; the page says it \
             proves nothing until that key is compared with the one the operator published \
             (or pass --trust VKEY)",
            crate::print::clean(&v.vkey)
        );
    } else {
        out!(
            "  trust:   checked against the trusted key {} (--trust)",
            crate::print::clean(&v.vkey)
        );
    }
    Ok(())
}
