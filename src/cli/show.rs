//! Read-only commands that print: log, show, figure, and the verify report.

use super::open_reader;
use anyhow::{bail, Result};
use custody::entry::{Body, Entry};
use custody::evidence::{LogState, MAX_FIGURE_DEPTH};
use custody::hash::Digest;
use custody::store::Ledger;
use custody::verify::Report;
use serde_json::json;
use std::io::Write;
use std::path::Path;

/// RFC 3339 UTC for a claimed time (or the raw number if out of range).
pub fn time(t: i64) -> String {
    u64::try_from(t)
        .ok()
        .and_then(|s| std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(s)))
        .map_or_else(
            || t.to_string(),
            |st| humantime::format_rfc3339_seconds(st).to_string(),
        )
}

fn signer_label(state: &LogState, e: &Entry) -> String {
    match state.key(&e.content.signer) {
        Some(k) => format!(
            "{} ({}, {})",
            k.name,
            k.role_name(),
            e.content.signer.short()
        ),
        None => format!("unknown key {}", e.content.signer.short()),
    }
}

/// A one-line summary of a body.
pub fn summary(b: &Body) -> String {
    match b {
        Body::Genesis { name, .. } => format!("ledger created; operator key {name:?}"),
        Body::KeyGrant { name, role, key } => format!(
            "grant {} to key {name:?} ({})",
            role.name(),
            custody::entry::KeyId::of(key).short()
        ),
        Body::KeyRevoke { key, reason } => format!("revoke key {}: {reason}", key.short()),
        Body::Source {
            title,
            publisher,
            date,
            kind,
            sha256,
            ..
        } => {
            format!(
                "{} {title:?} ({publisher}, {date}) sha256 {}",
                kind.name(),
                &sha256.to_hex()[..16]
            )
        }
        Body::Informant { alias, .. } => format!("informant {alias:?} (identity sealed)"),
        Body::Claim {
            statement,
            count,
            unit,
            cites,
            ..
        } => {
            let c = count.map(|c| format!("[{c} {unit}] ")).unwrap_or_default();
            format!("{c}{statement} (cites {})", list(cites))
        }
        Body::Figure {
            label,
            value,
            qualifier,
            terms,
            unit,
        } => format!(
            "{label}: {} {value} {unit} = sum of {}",
            qualifier.name(),
            list(terms)
        ),
        Body::Correction {
            target,
            count,
            statement,
            reason,
        } => {
            let mut parts = Vec::new();
            if let Some(c) = count {
                parts.push(format!("count -> {c}"));
            }
            if let Some(s) = statement {
                parts.push(format!("statement -> {s:?}"));
            }
            format!("correct {target}: {} ({reason})", parts.join(", "))
        }
        Body::Retraction { target, reason } => format!("retract {target}: {reason}"),
        Body::Redaction { target, reason } => format!("redact document of {target}: {reason}"),
    }
}

fn list(v: &[u64]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn log(ledger: &Path, json_out: bool) -> Result<()> {
    let l = open_reader(ledger)?;
    let state = l.state().clone();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for i in 0..l.size() {
        let (e, leaf) = l.entry_with_leaf(i)?;
        if json_out {
            let v = json!({
                "index": i,
                "kind": e.content.body.kind(),
                "signer": e.content.signer.to_hex(),
                "claimed_time": time(e.content.claimed_time),
                "leaf_hash": leaf.to_hex(),
                "summary": summary(&e.content.body),
            });
            writeln!(out, "{v}")?;
        } else {
            writeln!(
                out,
                "{i:>6}  {:<10}  {}  {:<20}  {}",
                e.content.body.kind(),
                &time(e.content.claimed_time)[..10.min(time(e.content.claimed_time).len())],
                state
                    .key(&e.content.signer)
                    .map_or("?", |k| k.name.as_str()),
                summary(&e.content.body)
            )?;
        }
    }
    if let Some((off, bytes)) = l.torn() {
        eprintln!("warning: the entries file ends in a torn write ({bytes} bytes at offset {off}); run `custody repair`");
    }
    out.flush()?;
    Ok(())
}

fn entry_json(l: &Ledger, e: &Entry, leaf: &Digest) -> serde_json::Value {
    let state = l.state();
    let mut body = serde_json::to_value(&e.content.body).unwrap_or(serde_json::Value::Null);
    hexify(&mut body);
    json!({
        "index": e.index,
        "kind": e.content.body.kind(),
        "origin": e.content.origin,
        "signer": {
            "key_id": e.content.signer.to_hex(),
            "name": state.key(&e.content.signer).map(|k| k.name.clone()),
            "role": state.key(&e.content.signer).map(|k| k.role_name()),
        },
        "claimed_time": time(e.content.claimed_time),
        "claimed_time_unix": e.content.claimed_time,
        "body": body,
        "prev_hash": e.prev.to_hex(),
        "leaf_hash": leaf.to_hex(),
        "signature": hex::encode(e.signature.0),
        "amended_by": state.amendments.get(&e.index),
    })
}

/// serde writes byte arrays as number lists; people and tools want hex.
fn hexify(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Array(a)
            if a.len() == 32 && a.iter().all(|x| x.as_u64().is_some_and(|n| n < 256)) =>
        {
            let bytes: Vec<u8> = a
                .iter()
                .filter_map(|x| x.as_u64().and_then(|n| u8::try_from(n).ok()))
                .collect();
            *v = serde_json::Value::String(hex::encode(bytes));
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(hexify),
        serde_json::Value::Object(o) => o.values_mut().for_each(hexify),
        _ => {}
    }
}

pub fn show(ledger: &Path, index: u64, json_out: bool) -> Result<()> {
    let l = open_reader(ledger)?;
    let (e, leaf) = l.entry_with_leaf(index)?;
    let v = entry_json(&l, &e, &leaf);
    let mut out = std::io::stdout().lock();
    if json_out {
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(());
    }
    writeln!(out, "entry {index}: {}", e.content.body.kind())?;
    writeln!(out, "  signed by:    {}", signer_label(l.state(), &e))?;
    writeln!(out, "  claimed time: {}", time(e.content.claimed_time))?;
    writeln!(out, "  origin:       {}", e.content.origin)?;
    if let serde_json::Value::Object(fields) = &v["body"] {
        for (_, inner) in fields {
            if let serde_json::Value::Object(f) = inner {
                for (k, val) in f {
                    let s = match val {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    writeln!(out, "  {:<13} {s}", format!("{k}:"))?;
                }
            }
        }
    }
    writeln!(out, "  prev hash:    {}", e.prev)?;
    writeln!(out, "  leaf hash:    {leaf}")?;
    writeln!(out, "  signature:    {}", hex::encode(e.signature.0))?;
    if let Some(a) = l.state().amendments.get(&index) {
        writeln!(out, "  amended by:   entries {}", list(a))?;
    }
    Ok(())
}

struct Explainer<'a> {
    l: &'a Ledger,
    out: Vec<String>,
}

impl Explainer<'_> {
    fn walk(&mut self, index: u64, at: u64, depth: usize) -> Result<()> {
        if depth > MAX_FIGURE_DEPTH {
            bail!("figures nest too deeply");
        }
        let pad = "  ".repeat(depth + 1);
        let (e, leaf) = self.l.entry_with_leaf(index)?;
        let st = self.l.state();
        let who = signer_label(st, &e);
        match &e.content.body {
            Body::Figure { label, terms, .. } => {
                let v = st.value_at(index, at, u64::MAX, self.l)?;
                self.out.push(format!(
                    "{pad}figure {index} {label:?} = {}  [signed by {who}; leaf {}]",
                    v.value,
                    &leaf.to_hex()[..16]
                ));
                for &t in terms {
                    self.walk(t, at, depth + 1)?;
                }
            }
            Body::Claim {
                statement,
                cites,
                place,
                period,
                ..
            } => {
                let v = st.value_at(index, at, u64::MAX, self.l)?;
                self.out.push(format!(
                    "{pad}claim {index}: {} — {statement} ({})  [signed by {who}; leaf {}]",
                    v.value,
                    if place.is_empty() {
                        period.clone()
                    } else {
                        format!("{place}, {period}")
                    },
                    &leaf.to_hex()[..16]
                ));
                for &c in cites {
                    let (ce, cleaf) = self.l.entry_with_leaf(c)?;
                    let line = match &ce.content.body {
                        Body::Source {
                            title,
                            publisher,
                            date,
                            sha256,
                            ..
                        } => format!(
                            "source {c}: {title:?}, {publisher}, {date}; document sha256 {sha256}"
                        ),
                        Body::Informant { alias, commitment } => {
                            format!("informant {c}: {alias:?}; identity sealed, commitment {commitment}")
                        }
                        other => format!("{} {c}", other.kind()),
                    };
                    self.out.push(format!(
                        "{pad}  cites {line}  [signed by {}; leaf {}]",
                        signer_label(st, &ce),
                        &cleaf.to_hex()[..16]
                    ));
                }
            }
            other => bail!("entry {index} is a {}, not a claim or figure", other.kind()),
        }
        Ok(())
    }
}

pub fn figure(ledger: &Path, index: u64, json_out: bool) -> Result<()> {
    let l = open_reader(ledger)?;
    let (e, leaf) = l.entry_with_leaf(index)?;
    let Body::Figure {
        label,
        value,
        qualifier,
        unit,
        terms,
    } = &e.content.body
    else {
        bail!("entry {index} is a {}, not a figure", e.content.body.kind());
    };
    let st = l.state();
    let mut term_values = Vec::new();
    for &t in terms {
        term_values.push((t, st.value_at(t, index, u64::MAX, &l)?.value));
    }
    let now = st.value_at(index, l.size(), index, &l)?;
    let sum: Vec<String> = term_values.iter().map(|(_, v)| v.to_string()).collect();
    let mut out = std::io::stdout().lock();
    if json_out {
        let v = json!({
            "entry": index,
            "label": label,
            "qualifier": qualifier.name(),
            "unit": unit,
            "published": value,
            "terms": term_values.iter().map(|(t, v)| json!({"entry": t, "value": v})).collect::<Vec<_>>(),
            "current": now.value,
            "changed_by": now.changed_by,
            "leaf_hash": leaf.to_hex(),
            "signer": e.content.signer.to_hex(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(());
    }
    writeln!(out, "figure {index}: {label}")?;
    writeln!(out, "  published: {} {value} {unit} = {}  (checked: the terms summed to {value} when it was signed)", qualifier.name(), sum.join(" + "))?;
    writeln!(
        out,
        "  signed by {} at claimed time {}",
        signer_label(st, &e),
        time(e.content.claimed_time)
    )?;
    writeln!(out, "  leaf hash {leaf}")?;
    if now.changed_by.is_empty() {
        writeln!(out, "  today: unchanged ({value}); no correction or retraction beneath it since publication")?;
    } else {
        writeln!(
            out,
            "  today: {} — changed after publication by entries {} (published {value}, now {})",
            now.value,
            list(&now.changed_by),
            now.value
        )?;
    }
    writeln!(out, "  how it is built (values as at publication):")?;
    let mut ex = Explainer {
        l: &l,
        out: Vec::new(),
    };
    for &t in terms {
        ex.walk(t, index, 1)?;
    }
    for line in ex.out {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

pub fn print_report(r: &Report) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "OK: ledger {} verified: {} entries, every hash, chain link, signature and grant checked",
        r.origin, r.entries
    )?;
    let kinds: Vec<String> = r.kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
    writeln!(out, "  kinds:   {}", kinds.join(", "))?;
    writeln!(
        out,
        "  root:    {} (RFC 6962, tree size {})",
        r.root, r.entries
    )?;
    writeln!(out, "  signers:")?;
    for s in &r.signers {
        let rev = s
            .revoked_at
            .map(|x| format!(", revoked at entry {x}"))
            .unwrap_or_default();
        writeln!(
            out,
            "    {:<12} {:<10} {}  {} entries (granted at entry {}{rev})",
            s.name,
            s.role,
            &s.key_id[..16],
            s.entries,
            s.granted_at
        )?;
    }
    if !r.figures.is_empty() {
        writeln!(out, "  figures (recomputed from the signed claims):")?;
    }
    for f in &r.figures {
        let terms: Vec<String> = f.terms.iter().map(|t| t.value.to_string()).collect();
        writeln!(
            out,
            "    {}: {} {} = {} (ok)  [entry {}]",
            f.label,
            f.qualifier,
            f.published,
            terms.join(" + "),
            f.entry
        )?;
        if f.retracted {
            writeln!(out, "      RETRACTED after publication")?;
        } else if !f.changed_by.is_empty() {
            writeln!(
                out,
                "      changed since publication: published {}, today {} (entries {})",
                f.published,
                f.current,
                list(&f.changed_by)
            )?;
        }
    }
    for c in &r.checkpoints {
        writeln!(
            out,
            "  checkpoint ok: tree size {} root {} ({})",
            c.size,
            &c.root[..16],
            c.file
        )?;
    }
    for d in &r.documents {
        writeln!(out, "  document of entry {}: {}", d.entry, d.status)?;
    }
    for n in &r.notes {
        writeln!(out, "  note: {n}")?;
    }
    writeln!(out, "  verifier key: {}", r.vkey)?;
    Ok(())
}
