//! `custody checkpoint`: commit to the log's amendment state (a state-commitment entry, unless
//! the last entry already is one) and sign a checkpoint of the whole tree, recorded in the ledger;
//! with `--policy`, ask the policy's witnesses to cosign it (C2SP tlog-witness
//! `add-checkpoint`, docs/POLICY.md "Asking witnesses") and record the cosigned note if the
//! quorum is met.
//!
//! Every cosignature is verified before it is kept (core's `cosigning::interpret`), the
//! witnesses are asked one after another with a 10-second budget each and a 64 KiB answer
//! limit, and the recorded note only ever gains lines (store's `record_witnessed`).

use super::{load_key, load_policy, open_writer, witness_time, Failed};
use anyhow::{bail, Context, Result};
use custody_core::add_checkpoint::AddCheckpoint;
use custody_core::checkpoint::SignedCheckpoint;
use custody_core::cosignature::{self, SplitNote};
use custody_core::cosigning::{self, Answer, MAX_RESPONSE_BYTES};
use custody_core::policy::{Policy, PolicyWitness, WitnessStatus};
use custody_store::Ledger;
use std::path::Path;
use std::time::Duration;

/// The whole budget of one request: connect, send, and read the answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

pub fn run(ledger: &Path, key: &Path, policy: Option<&Path>) -> Result<()> {
    let key = load_key(key)?;
    let policy = policy.map(load_policy).transpose()?;
    let mut l = open_writer(ledger)?;
    if let Some(p) = &policy {
        let ours = l.operator_verifier()?;
        if !p.lists_log(&ours) {
            bail!(
                "the policy lists no log key {} (this ledger's origin and operator key); add a \
                 line `log {}` if you mean to witness this ledger",
                ours.to_vkey(),
                ours.to_vkey()
            );
        }
    }
    let (cp, path, committed) = l.commit_and_checkpoint(&key)?;
    super::warn(&mut l);
    if let Some(c) = committed {
        eprintln!("entry {c} (state-commitment) appended");
    }
    let Some(policy) = policy else {
        {
            use std::io::Write as _;
            write!(std::io::stdout().lock(), "{}", cp.note())?;
        }
        eprintln!("recorded as {}", path.display());
        return Ok(());
    };
    eprintln!(
        "signed checkpoint of tree size {}, recorded as {} (log signature only)",
        cp.size(),
        path.display()
    );
    witness(&l, &cp, &policy)
}

/// How one witness's request went.
enum Outcome {
    /// A verified cosignature line and its time.
    Cosigned(String, u64),
    /// Its valid cosignature was already on the recorded note.
    Recorded(u64),
    /// No cosignature, and why.
    Not(String),
}

fn witness(l: &Ledger, cp: &SignedCheckpoint, policy: &Policy) -> Result<()> {
    let verifier = l.operator_verifier()?;
    let verifiers = policy.witness_verifiers();
    // The record as it is now: it may already hold cosignatures of this very checkpoint.
    let recorded = l
        .recorded_checkpoints(&verifier)?
        .into_iter()
        .find(|(_, c)| c.size() == cp.size() && c.root() == cp.root())
        .map_or_else(|| cp.note().to_owned(), |(_, c)| c.note().to_owned());
    let mut note = cosignature::split_note(recorded.as_bytes())
        .context("internal: the recorded checkpoint does not split")?;
    let already = policy.evaluate(&note);
    // What is sent: the checkpoint with the log's signature only (a witness need not see
    // the other witnesses' lines, and some refuse lines they cannot verify).
    let mut bare = note.clone();
    bare.retain_only(&[(verifier.name(), verifier.key_id())]);
    let bare = bare.to_text();
    let last = l.witnessed_sizes(&verifier, &verifiers)?;
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_global(Some(REQUEST_TIMEOUT))
            .http_status_as_error(false)
            .max_redirects(0)
            .build(),
    );
    let mut outcomes = Vec::with_capacity(policy.witnesses().len());
    for (i, w) in policy.witnesses().iter().enumerate() {
        let outcome = match (already.witnesses[i].1, &w.url) {
            (WitnessStatus::Cosigned { time }, _) => Outcome::Recorded(time),
            (_, None) => Outcome::Not("not asked: the policy gives it no URL".into()),
            (_, Some(url)) => ask(&agent, l, w, url, cp, &bare, &note, last[i]),
        };
        if let Outcome::Cosigned(line, _) = &outcome {
            note.add_line(line)
                .context("internal: a verified cosignature line does not parse")?;
        }
        outcomes.push(outcome);
    }
    let evaluation = policy.evaluate(&note);
    for (w, o) in policy.witnesses().iter().zip(&outcomes) {
        let name = crate::print::clean(&w.name);
        match o {
            Outcome::Cosigned(_, t) => eprintln!("  {name}: cosigned at {}", witness_time(*t)),
            Outcome::Recorded(t) => eprintln!(
                "  {name}: cosigned at {} (already recorded on this checkpoint)",
                witness_time(*t)
            ),
            Outcome::Not(why) => {
                eprintln!("  {name}: no cosignature: {}", crate::print::clean(why))
            }
        }
    }
    if !evaluation.quorum_met {
        return Err(Failed(format!(
            "checkpoint NOT witnessed: the policy's quorum {} is not met ({} of {} cosigned); nothing was recorded as witnessed, and the checkpoint stays recorded \
             with the log's signature only",
            crate::print::quoted(policy.quorum_name()),
            evaluation.cosigned().len(),
            crate::print::count(policy.witnesses().len() as u64, "witness", "witnesses")
        ))
        .into());
    }
    let text = note.to_text();
    let path = l.record_witnessed(cp, &text, &verifiers)?;
    {
        use std::io::Write as _;
        write!(std::io::stdout().lock(), "{text}")?;
    }
    let by: Vec<String> = evaluation
        .cosigned()
        .iter()
        .map(|(n, t)| format!("{} at {}", crate::print::clean(n), witness_time(*t)))
        .collect();
    eprintln!(
        "witnessed by {} (quorum {} met); recorded as {}",
        by.join(", "),
        crate::print::quoted(policy.quorum_name()),
        path.display()
    );
    Ok(())
}

/// Asks one witness: `old` from custody's records, and on a 409 naming another size at most
/// the checkpoint's, once more from that size.
#[allow(clippy::too_many_arguments)]
fn ask(
    agent: &ureq::Agent,
    l: &Ledger,
    w: &PolicyWitness,
    url: &str,
    cp: &SignedCheckpoint,
    bare: &str,
    note: &SplitNote,
    recorded_old: u64,
) -> Outcome {
    let endpoint = format!("{}/add-checkpoint", url.strip_suffix('/').unwrap_or(url));
    let body = note.body.as_bytes();
    let mut old = recorded_old;
    for attempt in 0..2 {
        let answer = match post(agent, l, &endpoint, old, cp, bare) {
            Ok((status, ctype, reply)) => {
                cosigning::interpret(status, ctype.as_deref(), &reply, &w.verifier, body)
            }
            Err(why) => return Outcome::Not(why),
        };
        match answer {
            Answer::Cosigned { line, time } => return Outcome::Cosigned(line, time),
            Answer::Refused(why) => return Outcome::Not(why),
            Answer::Conflict { size } if size > cp.size() => {
                return Outcome::Not(format!(
                    "it last cosigned tree size {size} of this log, larger than this checkpoint's \
                     {}: this log was rolled back, or its key signed another, larger tree (a fork)",
                    cp.size()
                ))
            }
            Answer::Conflict { size } if size < recorded_old => {
                return Outcome::Not(format!(
                    "it says it last cosigned tree size {size}, but this ledger records its \
                     cosignature of size {recorded_old}: the witness lost or rolled back its state, \
                     so its cosignature is not taken (its operator must retire that key)"
                ))
            }
            Answer::Conflict { size } if size == old || attempt == 1 => {
                return Outcome::Not(format!(
                    "answered 409 naming tree size {size} after a request from size {old}"
                ))
            }
            Answer::Conflict { size } => old = size,
        }
    }
    Outcome::Not("internal: no answer".into())
}

/// One `add-checkpoint` POST from `old`: the status, the content type and the body (a body
/// over [`MAX_RESPONSE_BYTES`] is an error, never read further).
fn post(
    agent: &ureq::Agent,
    l: &Ledger,
    endpoint: &str,
    old: u64,
    cp: &SignedCheckpoint,
    bare: &str,
) -> Result<(u16, Option<String>, Vec<u8>), String> {
    let proof = l
        .prove_consistency(old, cp.size())
        .map_err(|e| format!("cannot prove consistency from tree size {old}: {e}"))?;
    let request = AddCheckpoint {
        old,
        proof,
        checkpoint: bare.as_bytes().to_vec(),
    }
    .to_bytes();
    let mut resp = agent
        .post(endpoint)
        .content_type("text/plain; charset=utf-8")
        .send(&request[..])
        .map_err(|e| format!("no answer from {endpoint}: {e}"))?;
    let status = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let reply = resp
        .body_mut()
        .with_config()
        .limit(MAX_RESPONSE_BYTES as u64)
        .read_to_vec()
        .map_err(|e| format!("answered {status}, but its body could not be read: {e}"))?;
    Ok((status, ctype, reply))
}
