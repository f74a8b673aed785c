//! `custody submit URL FILE.cust`: send a signed submission to a `custody serve` and check its
//! answer here, trusting nothing the server says: the leaf hash must be the one this machine
//! computes for the submission at the index and after the previous hash the server names, and
//! an inclusion proof, when one comes back, must verify against a checkpoint signed by the key
//! given with `--trust`. Blocking HTTP (ureq): the CLI runs no async runtime.

use super::Failed;
use crate::args::SubmitArgs;
use crate::print::clean;
use anyhow::{anyhow, bail, Context, Result};
use custody_core::checkpoint::{self, MAX_TLOG_PROOF_BYTES};
use custody_core::hash::Digest;
use custody_core::json::AddedJson;
use custody_store::files;

/// The largest answer read: the JSON around a tlog-proof at its largest.
const MAX_ANSWER: u64 = MAX_TLOG_PROOF_BYTES as u64 + 64 * 1024;

/// What to say when the answer did not arrive: whether it was appended is unknown.
const UNKNOWN: &str = "whether it was appended is not known: send it again (a retry is recognised and answered with the same entry, never appended twice)";

pub fn run(a: SubmitArgs) -> Result<()> {
    let trusted = a
        .trust
        .as_deref()
        .map(|t| {
            checkpoint::parse_vkey(t.trim())
                .context("--trust is not a usable verifier key (want ORIGIN+KEYID+BASE64)")
        })
        .transpose()?;
    let sub = files::read_submission(&a.file)?;
    let bytes = sub.to_file_bytes()?;
    let url = add_url(&a.url)?;
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_global(Some(a.timeout))
            .http_status_as_error(false)
            .build(),
    );
    let mut resp = agent
        .post(&url)
        .header("content-type", "application/octet-stream")
        .send(&bytes[..])
        .map_err(|e| anyhow!("cannot reach {url} ({e}); {UNKNOWN}"))?;
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER)
        .read_to_vec()
        .map_err(|e| anyhow!("{url}: the answer could not be read ({e}); {UNKNOWN}"))?;
    if status != 200 && status != 201 {
        let reason = String::from_utf8_lossy(&body);
        let reason = reason.lines().next().unwrap_or("").trim();
        bail!(
            "{url} answered {status}: {}",
            if reason.is_empty() {
                "(no reason given)"
            } else {
                reason
            }
        );
    }
    let added: AddedJson = serde_json::from_slice(&body).map_err(|e| {
        Failed(format!(
            "{url} answered {status} but not with custody's /add JSON ({e})"
        ))
    })?;
    if added.appended != (status == 201) {
        return Err(Failed(format!(
            "{url} answered {status} with \"appended\": {}; 201 means appended, 200 already in the log",
            added.appended
        ))
        .into());
    }
    // The leaf hash covers the index, the previous hash and the submission: recomputed here.
    let prev =
        Digest::from_hex(&added.prev_hash).map_err(|e| Failed(format!("{url}: prev_hash: {e}")))?;
    let claimed =
        Digest::from_hex(&added.leaf_hash).map_err(|e| Failed(format!("{url}: leaf_hash: {e}")))?;
    let leaf = Digest::leaf(&sub.clone().into_entry(added.index, prev).to_bytes()?);
    if leaf != claimed {
        return Err(Failed(format!(
            "{url} says entry {} has leaf hash {claimed}, but this submission as entry {} after {prev} hashes to {leaf}: the answer is not this submission's",
            added.index, added.index
        ))
        .into());
    }
    let proven = match (&added.inclusion_proof, &trusted) {
        (Some(text), Some(v)) => {
            let p = checkpoint::parse_tlog_proof(text.as_bytes())
                .map_err(|e| Failed(format!("{url}: the inclusion proof is malformed: {e}")))?;
            if p.index != added.index {
                return Err(Failed(format!(
                    "{url}: the inclusion proof is for entry {}, not entry {}",
                    p.index, added.index
                ))
                .into());
            }
            let cp = p.verify(leaf, v).map_err(|e| {
                Failed(format!(
                    "{url}: the inclusion proof of entry {} does not verify against the trusted key: {e}",
                    added.index
                ))
            })?;
            Some(cp.size())
        }
        _ => None,
    };
    if a.json {
        out!("{}", serde_json::to_string_pretty(&added)?);
    } else if added.appended {
        out!("entry {} appended; leaf hash {leaf}", added.index);
    } else {
        out!(
            "already entry {} (a retry: nothing appended); leaf hash {leaf}",
            added.index
        );
    }
    match (proven, &added.inclusion_proof, &trusted) {
        (Some(size), _, _) => eprintln!(
            "custody: entry {} is in {} signed by the trusted key {}",
            added.index,
            crate::print::checkpoint_at(size),
            clean(trusted.as_ref().map_or("", |v| v.name()))
        ),
        (None, Some(_), None) => eprintln!(
            "custody: note: the answer holds an inclusion proof; give --trust VKEY to check it"
        ),
        (None, None, Some(_)) => eprintln!(
            "custody: note: no checkpoint covers entry {} yet, so there is no proof to check against --trust; submit the same file again after the next checkpoint (the retry is answered with a proof)",
            added.index
        ),
        _ => {}
    }
    Ok(())
}

/// `URL/add`, or `URL` itself if it already names the endpoint.
fn add_url(url: &str) -> Result<String> {
    let u = url.trim_end_matches('/');
    if !u.starts_with("http://") && !u.starts_with("https://") {
        bail!("{url:?} is not an http:// URL of a custody server");
    }
    Ok(if u.ends_with("/add") {
        u.to_string()
    } else {
        format!("{u}/add")
    })
}
