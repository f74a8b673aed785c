//! `custody verify`: replay the whole ledger, check its operator key against a trust anchor the
//! user gave (`--trust` or `--operator`), and print what was checked.
//!
//! A replay on its own shows only that a ledger is consistent with itself: a look-alike rebuilt
//! under the same origin with another operator key replays just as well. Only a key obtained
//! from the operator, independently of the ledger, tells the two apart, so the report says
//! which of the two was checked.

use super::{load_policy, open_reader, progress_bar, witness_time, Failed};
use crate::args::VerifyArgs;
use crate::print::{clean, count, quoted, succession};
use anyhow::{bail, Context, Result};
use custody_core::checkpoint::{self, StrictVerifier, MAX_NOTE_BYTES};
use custody_core::entry::KeyId;
use custody_core::explain::Standing;
use custody_core::hash::Digest;
use custody_core::json::{failed, with_ok, TimestampJson, VerifyReport};
use custody_core::json::{CheckpointJson, WitnessingJson};
use custody_core::policy::{Policy, PolicyCheckError, WitnessStatus, Witnessed};
use custody_store::files;
use custody_store::fork::ForkSearch;
use custody_store::replay::{verify_ledger, Failure, Options, VerifyError};
use custody_store::timestamps::{check_tokens, CheckedToken, TokenError};
use custody_store::ENTRIES;
use std::path::{Path, PathBuf};

/// The operator key the user trusts, from outside the ledger.
enum Anchor {
    /// `--trust`: the log's C2SP verifier key (its origin and operator key).
    Vkey(StrictVerifier),
    /// `--operator`: the operator key's id, lowercase hex, all 64 digits or the first 16.
    Operator(String),
}

impl Anchor {
    /// The anchor the arguments give, if any; a malformed one is a usage error (exit 2).
    fn from_args(a: &VerifyArgs) -> Result<Option<Anchor>> {
        if let Some(t) = &a.trust {
            let v = checkpoint::parse_vkey(t.trim())
                .context("--trust is not a usable verifier key (want ORIGIN+KEYID+BASE64)")?;
            return Ok(Some(Anchor::Vkey(v)));
        }
        let Some(op) = &a.operator else {
            return Ok(None);
        };
        let id = op.trim().to_ascii_lowercase();
        if !matches!(id.len(), 16 | 64) || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!(
                "--operator {} is not a key id: give the operator key's id as custody prints it, \
                 64 hex digits (`custody init`, `custody key new`) or the 16-digit short form \
                 (the signers list of `custody verify`)",
                quoted(op)
            );
        }
        Ok(Some(Anchor::Operator(id)))
    }

    /// The name of the anchor in `verify --json` (`trust.anchor`).
    fn json_name(&self) -> &'static str {
        match self {
            Anchor::Vkey(_) => "vkey",
            Anchor::Operator(_) => "operator",
        }
    }

    /// The flag that gave it.
    fn flag(&self) -> &'static str {
        match self {
            Anchor::Vkey(_) => "--trust",
            Anchor::Operator(_) => "--operator",
        }
    }

    /// `None` if the ledger's operator key is the trusted one, else why not. The ledger's key
    /// is the genesis operator key, as the report's `vkey` (derived from entry 0) gives it.
    fn mismatch(&self, r: &VerifyReport) -> Result<Option<String>> {
        let ours = checkpoint::parse_vkey(&r.vkey)
            .context("internal: the replayed ledger's verifier key does not parse")?;
        let our_id = KeyId::of(ours.verifying_key().as_bytes()).to_hex();
        Ok(match self {
            Anchor::Vkey(t) if t.verifying_key() != ours.verifying_key() => Some(format!(
                "the ledger's operator key (entry 0, genesis) {} is not the trusted key {} \
                 (--trust): this ledger was not made by the operator whose key you trust",
                r.vkey,
                t.to_vkey()
            )),
            Anchor::Vkey(t) if t.name() != ours.name() => Some(format!(
                "the ledger's operator key (entry 0, genesis) {} is not the trusted key {} \
                 (--trust): the key is the same but the ledger's origin {} is not the trusted \
                 log's {}",
                r.vkey,
                t.to_vkey(),
                quoted(ours.name()),
                quoted(t.name())
            )),
            Anchor::Vkey(_) => None,
            Anchor::Operator(id) if !our_id.starts_with(id.as_str()) => Some(format!(
                "the ledger's operator key (entry 0, genesis) {our_id} is not the trusted key {id} \
                 (--operator): this ledger was not made by the operator whose key you trust"
            )),
            Anchor::Operator(_) => None,
        })
    }
}

pub fn run(ledger: &Path, a: &VerifyArgs) -> Result<()> {
    let anchor = Anchor::from_args(a)?;
    let roots = if a.tsa_cert.is_empty() {
        None
    } else {
        Some(super::timestamp::load_roots(&a.tsa_cert)?)
    };
    let policy = a.policy.as_deref().map(load_policy).transpose()?;
    if let Some(j) = a.jobs {
        rayon::ThreadPoolBuilder::new()
            .num_threads(j.max(1))
            .build_global()
            .ok();
    }
    let mut notes = Vec::new();
    for p in &a.since {
        notes.push((
            p.clone(),
            files::read_bounded(p, MAX_NOTE_BYTES as u64, "a checkpoint")?,
        ));
    }
    let opts = Options {
        since: notes.clone(),
        documents: a.documents,
        strict: a.strict,
    };
    let total = std::fs::metadata(ledger.join(ENTRIES)).map_or(0, |m| m.len());
    let bar = progress_bar(
        total,
        "verifying {bar:40} {bytes}/{total_bytes} {eta}",
        a.json,
    );
    let result = verify_ledger(ledger, &opts, &|n| bar.set_position(n));
    bar.finish_and_clear();
    let report = match result {
        Ok(r) => r,
        Err(VerifyError::Evidence(f)) => {
            if let Some(out) = &a.fork_evidence {
                fork_evidence(ledger, &notes, out);
            }
            return fail(&f, a.json);
        }
        // No ledger, or an unreadable one, is not a failed verification (exit 2, not 1).
        Err(other) => return Err(other.into()),
    };
    if let Some(anchor) = &anchor {
        if let Some(reason) = anchor.mismatch(&report)? {
            let f = Failure {
                entry: Some(0),
                reason,
            };
            if a.json {
                out!("{}", serde_json::to_string_pretty(&failed(&f.to_json()))?);
            }
            return Err(Failed(format!("verification FAILED: {}", f.reason)).into());
        }
    }
    // Time-stamp tokens beside the checkpoints the replay matched (docs/TIMESTAMPS.md).
    let log = checkpoint::parse_vkey(&report.vkey)
        .context("internal: the replayed ledger's verifier key does not parse")?;
    let stamps = match check_tokens(ledger, &log, &report.checkpoints, roots.as_deref()) {
        Ok(s) => s,
        Err(TokenError::Evidence { path, reason }) => {
            let f = Failure {
                entry: None,
                reason: format!("time-stamp token {path}: {reason}"),
            };
            return fail(&f, a.json);
        }
        Err(e) => return Err(e.into()),
    };
    let witnessed = match &policy {
        Some(p) => match witnessing(p, &report) {
            Ok(w) => Some(w),
            Err(reason) => {
                let f = Failure {
                    entry: None,
                    reason,
                };
                return fail(&f, a.json);
            }
        },
        None => None,
    };
    if a.json {
        let mut v = with_ok(&report)?;
        if let serde_json::Value::Object(m) = &mut v {
            let list: Vec<TimestampJson> = stamps
                .iter()
                .map(|t| {
                    TimestampJson::of(
                        Some(t.path.display().to_string()),
                        t.size,
                        t.verified.as_ref(),
                    )
                })
                .collect();
            m.insert("timestamps".into(), serde_json::to_value(list)?);
            let name = anchor
                .as_ref()
                .map(Anchor::json_name)
                .or(policy.as_ref().map(|_| "policy"));
            m.insert(
                "trust".into(),
                serde_json::json!({ "anchor": name, "matched": name.is_some() }),
            );
            let mut witnessed_json = serde_json::Value::Null;
            if let (Some(p), Some(w)) = (&policy, &witnessed) {
                let root = Digest::from_hex(&w.checkpoint.root)
                    .map_err(|e| anyhow::anyhow!("internal: checkpoint root: {e}"))?;
                let mut j =
                    WitnessingJson::new(p, w.witnessed.evaluation(), w.checkpoint.size, &root);
                j.file = Some(w.checkpoint.file.clone());
                witnessed_json = serde_json::to_value(j)?;
            }
            m.insert("witnessed".into(), witnessed_json);
        }
        out!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let reviewers = reviewer_names(ledger, &report)?;
        print_report(
            &report,
            anchor.as_ref(),
            &stamps,
            policy.as_ref().zip(witnessed.as_ref()),
            &reviewers,
            &log,
        )?;
    }
    Ok(())
}

/// The signer's name of every review of a figure in `r`, by the review's index: read from the
/// ledger just verified (only when some figure has reviews).
fn reviewer_names(
    ledger: &Path,
    r: &VerifyReport,
) -> Result<std::collections::HashMap<u64, String>> {
    let mut out = std::collections::HashMap::new();
    if r.figures.iter().all(|f| f.standing.reviewed_by.is_empty()) {
        return Ok(out);
    }
    let l = open_reader(ledger)?;
    let all: Vec<u64> = r
        .figures
        .iter()
        .flat_map(|f| f.standing.reviewed_by.iter().copied())
        .collect();
    out.extend(crate::print::reviews(&all, &l.state().keys, |i| {
        l.entry(i).map(|e| Some(e.content.signer))
    })?);
    Ok(out)
}

/// The checkpoint `verify --policy` holds the log to: the largest recorded or `--since`
/// checkpoint (each already checked against the replayed tree) that the policy's check
/// accepts, log signature and quorum.
struct PolicyResult {
    checkpoint: CheckpointJson,
    witnessed: Witnessed,
}

/// Holds the verified ledger to `p`, or says why it fails (exit 1).
fn witnessing(p: &Policy, r: &VerifyReport) -> std::result::Result<PolicyResult, String> {
    let ours = checkpoint::parse_vkey(&r.vkey)
        .map_err(|e| format!("internal: the replayed ledger's verifier key: {e}"))?;
    if !p.lists_log(&ours) {
        return Err(format!(
            "the policy (--policy) lists no log key {}: the ledger's origin and operator key are \
             not the log the policy holds to account",
            r.vkey
        ));
    }
    let mut best: Option<PolicyResult> = None;
    let mut latest_refusal: Option<(u64, PolicyCheckError)> = None;
    for c in &r.checkpoints {
        match p.check(c.note.as_bytes()) {
            Ok(w) if best.as_ref().is_none_or(|b| c.size > b.checkpoint.size) => {
                best = Some(PolicyResult {
                    checkpoint: c.clone(),
                    witnessed: w,
                });
            }
            Ok(_) => {}
            Err(e) => {
                if latest_refusal.as_ref().is_none_or(|(s, _)| c.size >= *s) {
                    latest_refusal = Some((c.size, e));
                }
            }
        }
    }
    best.ok_or_else(|| match latest_refusal {
        Some((size, e)) => format!(
            "no checkpoint is witnessed under the policy (quorum {}): the latest, tree size \
             {size}: {e}",
            quoted(p.quorum_name())
        ),
        None => "no checkpoint is recorded, so none is witnessed under the policy; run \
         `custody checkpoint L --key OPERATOR.key --policy POLICY`"
            .to_owned(),
    })
}

/// `verify --fork-evidence`: after a failed replay, look for fork evidence among the recorded
/// and `--since` checkpoints and write it. Reported on stderr; the verdict stays the failure.
fn fork_evidence(ledger: &Path, since: &[(PathBuf, Vec<u8>)], out: &Path) {
    let found = open_reader(ledger).and_then(|l| Ok(l.find_fork(since)?));
    match found {
        Ok(ForkSearch::Found { evidence, a, b }) => {
            match files::write_new(out, &evidence, false, false) {
                Ok(()) => eprintln!(
                    "custody: fork evidence written to {} (checkpoints {} and {}); check it with \
                     `custody check-fork {} --trust VKEY`",
                    out.display(),
                    clean(&a),
                    clean(&b),
                    out.display()
                ),
                Err(e) => eprintln!(
                    "custody: fork evidence not written: {}",
                    clean(&e.to_string())
                ),
            }
        }
        Ok(ForkSearch::NotFound(why)) => {
            eprintln!("custody: no fork evidence: {}", clean(&why));
        }
        Err(e) => eprintln!("custody: no fork evidence: {}", clean(&format!("{e:#}"))),
    }
}

/// The verdict on a ledger that failed its replay: the JSON failure shape with `--json`, and
/// exit 1 either way.
fn fail(f: &Failure, json: bool) -> Result<()> {
    if json {
        out!("{}", serde_json::to_string_pretty(&failed(&f.to_json()))?);
    }
    Err(Failed(format!("verification FAILED: {f}")).into())
}

/// The text report. Every line goes through `say!`: origins, names, labels and checkpoint file
/// names (from a directory listing) come from the ledger directory, not from custody.
fn print_report(
    r: &VerifyReport,
    anchor: Option<&Anchor>,
    stamps: &[CheckedToken],
    witnessed: Option<(&Policy, &PolicyResult)>,
    reviewers: &std::collections::HashMap<u64, String>,
    log: &checkpoint::StrictVerifier,
) -> Result<()> {
    let mut out = std::io::stdout().lock();
    say!(
        to out,
        "OK: ledger {} verified: {}, every hash, chain link, signature and grant checked",
        r.origin,
        count(r.entries, "entry", "entries")
    );
    match anchor {
        Some(a) => say!(
            to out,
            "  trust:   operator key matches the trusted key ({})",
            a.flag()
        ),
        None if witnessed.is_some() => say!(
            to out,
            "  trust:   operator key is the policy's log key (--policy)"
        ),
        None => say!(
            to out,
            "  trust:   self-consistency only: no --trust or --operator given; compare this \
             verifier key with the one the operator published: {}",
            r.vkey
        ),
    }
    let kinds: Vec<String> = r.kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
    say!(to out, "  kinds:   {}", kinds.join(", "));
    say!(
        to out,
        "  root:    {} (RFC 6962, tree size {})",
        r.root,
        r.entries
    );
    say!(to out, "  signers:");
    for s in &r.signers {
        let rev = s
            .revoked_at
            .map(|x| format!(", revoked at entry {x}"))
            .unwrap_or_default();
        say!(
            to out,
            "    {:<12} {:<10} {}  {} (granted at entry {}{rev})",
            s.signer.name.as_deref().unwrap_or("?"),
            s.signer.role.as_deref().unwrap_or("?"),
            s.signer.key_id.get(..16).unwrap_or(&s.signer.key_id),
            count(s.entries, "entry", "entries"),
            s.granted_at
        );
    }
    if !r.figures.is_empty() {
        say!(to out, "  figures (recomputed from the signed claims):");
    }
    let by_entry: std::collections::HashMap<u64, &Standing> = r
        .figures
        .iter()
        .map(|f| (f.standing.entry, &f.standing))
        .collect();
    let of = |i: u64| -> Result<Option<Standing>, std::convert::Infallible> {
        Ok(by_entry.get(&i).map(|&s| s.clone()))
    };
    for f in &r.figures {
        let s = &f.standing;
        let terms: Vec<String> = s.terms.iter().map(|t| t.value.to_string()).collect();
        let published = s.published.unwrap_or(0);
        // "(ok)" only where the figure still stands; a changed, retracted or unsupported one
        // held only when it was signed, and the lines below say what happened since.
        let stands = !s.is_changed() && s.retracted_at.is_none() && s.unsupported.is_empty();
        say!(
            to out,
            "    {}: {} {published} = {} ({})  [entry {}]",
            f.label,
            f.qualifier.name(),
            terms.join(" + "),
            if stands { "ok" } else { "held when signed" },
            s.entry
        );
        if !s.unsupported.is_empty() {
            say!(
                to out,
                "      UNSUPPORTED: {} {} on no live source (every source and informant each cites was retracted)",
                crate::print::numbered(&s.unsupported, "claim", "claims"),
                crate::print::rest(&s.unsupported)
            );
        }
        if let Ok(Some(line)) = succession(s.entry, &of) {
            say!(to out, "      {line}");
        }
        let reviews: Vec<(u64, String)> = s
            .reviewed_by
            .iter()
            .map(|&i| (i, reviewers.get(&i).cloned().unwrap_or_else(|| "?".into())))
            .collect();
        if let Some(line) =
            crate::print::reviewed(&reviews, |n| crate::print::clean(n).into_owned())
        {
            say!(to out, "      {line}");
        }
        if s.retracted_at.is_some() {
            say!(to out, "      RETRACTED after publication");
        } else if s.is_changed() {
            say!(
                to out,
                "      changed since publication: published {published}, today {} ({})",
                s.current.unwrap_or(0),
                crate::print::numbered(&s.changed_by, "entry", "entries")
            );
        } else if s.is_amended() {
            say!(
                to out,
                "      amended beneath, value unchanged: published {published}, today {published} ({})",
                crate::print::numbered(&s.changed_by, "entry", "entries")
            );
        }
    }
    for c in &r.checkpoints {
        say!(
            to out,
            "  checkpoint ok: tree size {} root {} ({})",
            c.size,
            c.root.get(..16).unwrap_or(&c.root),
            c.file
        );
        // Without a policy, cosignatures are reported present, never counted as witnessing.
        if witnessed.is_none() {
            if let Some(line) = super::unchecked_cosignatures(&c.note, log) {
                say!(to out, "    it carries {line}");
            }
        }
    }
    for t in stamps {
        if let Some(v) = &t.verified {
            say!(
                to out,
                "  timestamp ok: {}, token {}",
                super::timestamp::line(t.size, v),
                t.path.display()
            );
        }
    }
    if !stamps.is_empty() && stamps.iter().all(|t| t.verified.is_none()) {
        say!(
            to out,
            "  timestamps: {} present, not checked (give --tsa-cert ROOT.pem to check)",
            count(stamps.len() as u64, "time-stamp token", "time-stamp tokens")
        );
    }
    if let Some((p, w)) = witnessed {
        print_witnessed(&mut out, r, p, w)?;
    }
    for d in &r.documents {
        say!(to out, "  document of entry {}: {}", d.entry, d.status);
    }
    for n in &r.notes {
        say!(to out, "  note: {n}");
    }
    say!(to out, "  verifier key: {}", r.vkey);
    Ok(())
}

/// The `verify --policy` lines: the witnessed checkpoint, each witness, and what is not yet
/// witnessed.
fn print_witnessed(
    mut out: &mut dyn std::io::Write,
    r: &VerifyReport,
    p: &Policy,
    w: &PolicyResult,
) -> Result<()> {
    let e = w.witnessed.evaluation();
    say!(
        to out,
        "  witnessed: checkpoint tree size {} ({}) meets the policy's quorum {} (policy SHA-256 {})",
        w.checkpoint.size,
        w.checkpoint.file,
        quoted(p.quorum_name()),
        p.sha256()
    );
    for (name, st) in &e.witnesses {
        match st {
            WitnessStatus::Cosigned { time } => {
                say!(to out, "    witnessed by {name} at {}", witness_time(*time));
            }
            WitnessStatus::Invalid => {
                say!(to out, "    {name}: its cosignature line does not verify (not counted)");
            }
            WitnessStatus::Absent => say!(to out, "    {name}: no cosignature"),
        }
    }
    if w.checkpoint.size < r.entries {
        say!(
            to out,
            "  note: entries {}..{} are not yet covered by a witnessed checkpoint",
            w.checkpoint.size,
            r.entries - 1
        );
    }
    Ok(())
}
