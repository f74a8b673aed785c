//! Text for people: one-line summaries of bodies, signer labels, lists. Formatting only; the
//! facts come from custody-core (`explain`, `json`).

use custody_core::entry::{Body, Entry, KeyId};
use custody_core::rules::KeyRecord;

pub use custody_core::json::rfc3339 as time;

/// "name (role, short id)" for the signer of `e`, as `keys` knows it.
pub fn signer_label(keys: &[KeyRecord], e: &Entry) -> String {
    match keys.iter().find(|k| k.id() == e.content.signer) {
        Some(k) => format!(
            "{} ({}, {})",
            k.name,
            k.role_name(),
            e.content.signer.short()
        ),
        None => format!("unknown key {}", e.content.signer.short()),
    }
}

/// Comma-separated numbers.
pub fn list(v: &[u64]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A one-line summary of a body.
pub fn summary(b: &Body) -> String {
    match b {
        Body::Genesis { name, .. } => format!("ledger created; operator key {name:?}"),
        Body::KeyGrant { name, role, key } => format!(
            "grant {} to key {name:?} ({})",
            role.name(),
            KeyId::of(key).short()
        ),
        Body::KeyRevoke { key, reason } => format!("revoke key {}: {reason}", key.short()),
        Body::Source {
            title,
            publisher,
            date,
            kind,
            sha256,
            ..
        } => format!(
            "{} {title:?} ({publisher}, {date}) sha256 {}",
            kind.name(),
            &sha256.to_hex()[..16]
        ),
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
