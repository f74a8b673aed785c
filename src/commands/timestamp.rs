//! `custody timestamp`: ask an RFC 3161 Time-Stamping Authority to stamp a checkpoint, verify
//! its answer (nonce included) against the TSA roots the user trusts, and only then store the
//! token beside the checkpoint (`docs/TIMESTAMPS.md`).
//!
//! Also the one loader of `--tsa-cert` files and the one wording of a verified token, which
//! `verify` and `check` use too.

use crate::args::TimestampArgs;
use anyhow::{anyhow, bail, Context, Result};
use custody_core::checkpoint::{self, MAX_NOTE_BYTES};
use custody_core::timestamp::{
    self, Certificate, VerifiedTimestamp, MAX_ROOTS_BYTES, MAX_TOKEN_BYTES,
};
use custody_store::checkpoints::checkpoint_file;
use custody_store::clock::random_bytes;
use custody_store::timestamps::record_token;
use custody_store::{files, Access, Ledger, StoreError};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The roots of every `--tsa-cert` file (PEM or DER), at most `MAX_ROOTS` in all.
pub fn load_roots(paths: &[PathBuf]) -> Result<Vec<Certificate>> {
    let mut roots = Vec::new();
    for p in paths {
        let bytes = files::read_bounded(p, MAX_ROOTS_BYTES as u64, "a TSA root certificate file")?;
        roots.extend(
            timestamp::parse_roots(&bytes)
                .with_context(|| format!("--tsa-cert {}", p.display()))?,
        );
    }
    if roots.len() > timestamp::MAX_ROOTS {
        bail!(
            "--tsa-cert files hold {} certificates; custody takes at most {}",
            roots.len(),
            timestamp::MAX_ROOTS
        );
    }
    Ok(roots)
}

/// The line every command prints for a verified token. It holds the TSA's subject (from the
/// token), so callers print it through `say!`.
pub fn line(size: u64, v: &VerifiedTimestamp) -> String {
    format!(
        "{} existed no later than {} ({})",
        crate::print::checkpoint_at(size),
        v.gen_time_rfc3339,
        v.tsa_subject
    )
}

pub fn run(ledger_dir: &Path, a: &TimestampArgs) -> Result<()> {
    let roots = load_roots(&a.tsa_cert)?;
    let ledger = Ledger::open(ledger_dir, Access::Read)?;
    let verifier = ledger.operator_verifier()?;
    let (note, size, cp_file) = match &a.checkpoint {
        None => {
            let cp = ledger.latest_checkpoint(&verifier)?.ok_or_else(|| {
                anyhow!(
                    "{} has no recorded checkpoint to stamp; sign one with `custody checkpoint {} --key OPERATOR.key`",
                    ledger_dir.display(),
                    ledger_dir.display()
                )
            })?;
            let file = checkpoint_file(ledger.dir(), cp.size(), &cp.root());
            (cp.note().as_bytes().to_vec(), cp.size(), file)
        }
        Some(p) => given_checkpoint(&ledger, p)?,
    };
    let message = timestamp::log_signed_note(&note, verifier.name(), verifier.key_id())?;
    let nonce: timestamp::Nonce = random_bytes();
    let request = timestamp::request(&message, &nonce, true)?;
    let answer = post(&a.tsa, &request, Duration::from_secs(a.timeout.max(1)))?;
    // Verified, nonce included, before anything is written.
    let v = timestamp::verify(&answer, &note, &verifier, &roots, Some(&nonce)).map_err(|e| {
        super::Failed(format!(
            "the TSA's answer from {} does not verify: {e}",
            a.tsa
        ))
    })?;
    let (path, new) = record_token(&cp_file, &v.token)?;
    say!("{}", line(size, &v));
    say!(
        "  token {} {}",
        if new {
            "stored in"
        } else {
            "was already stored in"
        },
        path.display()
    );
    Ok(())
}

/// A checkpoint the user named: it must open under the operator key and hold against the log.
/// It is stored beside the recorded checkpoint of its size and root, recording it if it was
/// not (a copy with cosignatures stamps the same bytes as the recorded one).
fn given_checkpoint(ledger: &Ledger, p: &Path) -> Result<(Vec<u8>, u64, PathBuf)> {
    let bytes = files::read_bounded(p, MAX_NOTE_BYTES as u64, "a checkpoint")?;
    let verifier = ledger.operator_verifier()?;
    let cp = checkpoint::open(&bytes, &verifier)
        .with_context(|| format!("{} is not a checkpoint of this ledger", p.display()))?;
    if cp.size() > ledger.size() || ledger.root(cp.size())? != cp.root() {
        bail!(
            "{} (tree size {}) contradicts the log; run `custody verify {}`",
            p.display(),
            cp.size(),
            ledger.dir().display()
        );
    }
    let file = checkpoint_file(ledger.dir(), cp.size(), &cp.root());
    match files::read_bounded_in_ledger(&file, MAX_NOTE_BYTES as u64, "a checkpoint") {
        Ok(recorded) => {
            let ours = timestamp::log_signed_note(&recorded, verifier.name(), verifier.key_id())?;
            let theirs = timestamp::log_signed_note(&bytes, verifier.name(), verifier.key_id())?;
            if ours != theirs {
                bail!(
                    "{} and the recorded {} differ in what the log signed",
                    p.display(),
                    file.display()
                );
            }
        }
        Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            ledger.record_checkpoint(cp.size(), &cp.root(), cp.note())?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok((bytes, cp.size(), file))
}

/// POSTs `request` to the TSA and returns its answer: HTTP 200 only, no redirects, at most
/// `MAX_TOKEN_BYTES`, within `timeout` in all.
fn post(url: &str, request: &[u8], timeout: Duration) -> Result<Vec<u8>> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut resp = agent
        .post(url)
        .header("Content-Type", "application/timestamp-query")
        .header("Accept", "application/timestamp-reply")
        .send(request)
        .with_context(|| format!("cannot reach the TSA at {url}"))?;
    if resp.status() != 200 {
        bail!(
            "the TSA at {url} answered HTTP {}; check the URL",
            resp.status()
        );
    }
    resp.body_mut()
        .with_config()
        .limit(MAX_TOKEN_BYTES as u64)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => anyhow!(
                "the TSA at {url} answered more than {MAX_TOKEN_BYTES} bytes; that is no time-stamp response"
            ),
            other => anyhow!("reading the answer of the TSA at {url}: {other}"),
        })
}
