//! The domain rules: who may sign what, what a citation may point at, and figure arithmetic.
//!
//! One rule set serves both `append` (refuse a bad submission) and `verify` (reject a log that
//! breaks a rule), so the two can never disagree. Earlier entries are read through
//! [`EntryLookup`], so this module stays pure: it never opens a file.

use crate::entry::{Body, Content, Entry, KeyId, Role};
use crate::hash::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How deep figures may nest (a figure citing a figure citing ...). Bounds the work and the
/// recursion of recomputing a figure, whatever the log holds.
pub const MAX_FIGURE_DEPTH: usize = 64;
/// Longest text field accepted in a body.
pub const MAX_TEXT: usize = 64 * 1024;

/// Reads earlier entries by index.
pub trait EntryLookup {
    /// The entry at `index`, which the caller guarantees is already in the log.
    ///
    /// # Errors
    /// Any message; it is reported against the entry being checked.
    fn entry(&self, index: u64) -> Result<Entry, String>;
}

/// A key known to the log.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyRecord {
    /// The Ed25519 public key.
    pub public: [u8; 32],
    /// Its name.
    pub name: String,
    /// Its role; `None` for the operator (genesis) key.
    pub role: Option<Role>,
    /// The entry that granted it (0 for the operator).
    pub granted_at: u64,
    /// The entry that revoked it, if any.
    pub revoked_at: Option<u64>,
}

impl KeyRecord {
    /// The id of this key.
    #[must_use]
    pub fn id(&self) -> KeyId {
        KeyId::of(&self.public)
    }
    /// The role's name, "operator" for the genesis key.
    #[must_use]
    pub fn role_name(&self) -> &'static str {
        self.role.map_or("operator", Role::name)
    }
}

/// What the rules need to know about the log so far: small, whatever the log's size.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct LogState {
    /// Number of entries.
    pub size: u64,
    /// Leaf hash of the last entry (zero when empty).
    pub head: Digest,
    /// The origin, from genesis.
    pub origin: String,
    /// Every key granted, the operator first.
    pub keys: Vec<KeyRecord>,
    /// For each amended entry, the corrections, retractions and redactions naming it.
    pub amendments: BTreeMap<u64, Vec<u64>>,
    /// Indices of all figures.
    pub figures: Vec<u64>,
    /// Entries per kind.
    pub kinds: BTreeMap<String, u64>,
}

/// A broken rule.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct RuleError(pub String);

fn fail<T>(msg: impl Into<String>) -> Result<T, RuleError> {
    Err(RuleError(msg.into()))
}

/// Checks a partial date: YYYY, YYYY-MM or YYYY-MM-DD with a real month and day.
#[must_use]
pub fn valid_partial_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let num = |p: &str, len: usize| p.len() == len && p.bytes().all(|b| b.is_ascii_digit());
    match parts.as_slice() {
        [y] => num(y, 4),
        [y, m] => num(y, 4) && num(m, 2) && (1..=12).contains(&m.parse::<u8>().unwrap_or(0)),
        [y, m, d] => {
            if !(num(y, 4) && num(m, 2) && num(d, 2)) {
                return false;
            }
            let (year, month, day) = (
                y.parse::<u32>().unwrap_or(0),
                m.parse::<u32>().unwrap_or(0),
                d.parse::<u32>().unwrap_or(0),
            );
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            let days = match month {
                1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
                4 | 6 | 9 | 11 => 30,
                2 if leap => 29,
                2 => 28,
                _ => return false,
            };
            (1..=days).contains(&day)
        }
        _ => false,
    }
}

/// Checks a period: a partial date, or a range `A..B` of partial dates with A <= B.
#[must_use]
pub fn valid_period(s: &str) -> bool {
    match s.split_once("..") {
        None => valid_partial_date(s),
        Some((a, b)) => valid_partial_date(a) && valid_partial_date(b) && a <= b,
    }
}

fn text(field: &str, s: &str, required: bool) -> Result<(), RuleError> {
    if required && s.trim().is_empty() {
        return fail(format!("{field} must not be empty"));
    }
    if s.len() > MAX_TEXT {
        return fail(format!("{field} is longer than {MAX_TEXT} bytes"));
    }
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return fail(format!("{field} holds control characters"));
    }
    Ok(())
}

/// The value of a claim or figure at a point of the log, and what changed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Valuation {
    /// The value (a retracted claim counts 0).
    pub value: u64,
    /// Corrections and retractions beneath it that took effect after `since`.
    pub changed_by: Vec<u64>,
}

impl LogState {
    /// The key record for `id`, if the log granted it.
    #[must_use]
    pub fn key(&self, id: &KeyId) -> Option<&KeyRecord> {
        self.keys.iter().find(|k| k.id() == *id)
    }

    /// The operator's key, from genesis.
    #[must_use]
    pub fn operator(&self) -> Option<&KeyRecord> {
        self.keys.first()
    }

    /// The amendments of `target` made before entry `before`.
    fn amendments_before(&self, target: u64, before: u64) -> impl Iterator<Item = u64> + '_ {
        self.amendments
            .get(&target)
            .into_iter()
            .flatten()
            .copied()
            .filter(move |&a| a < before)
    }

    /// Whether `target` was retracted before entry `before`.
    ///
    /// # Errors
    /// If an amending entry cannot be read.
    pub fn retracted_before(
        &self,
        target: u64,
        before: u64,
        log: &dyn EntryLookup,
    ) -> Result<Option<u64>, RuleError> {
        for a in self.amendments_before(target, before) {
            if let Body::Retraction { .. } = read(log, a)?.content.body {
                return Ok(Some(a));
            }
        }
        Ok(None)
    }

    /// The value of claim or figure `index` as the log stood just before entry `at`, listing
    /// the amendments after entry `since` that changed anything beneath it.
    ///
    /// # Errors
    /// If a term is not a counted claim or a figure, or figures nest too deeply.
    pub fn value_at(
        &self,
        index: u64,
        at: u64,
        since: u64,
        log: &dyn EntryLookup,
    ) -> Result<Valuation, RuleError> {
        let mut changed = Vec::new();
        let value = self.value_rec(index, at, since, log, 0, &mut changed)?;
        changed.sort_unstable();
        changed.dedup();
        Ok(Valuation {
            value,
            changed_by: changed,
        })
    }

    fn value_rec(
        &self,
        index: u64,
        at: u64,
        since: u64,
        log: &dyn EntryLookup,
        depth: usize,
        changed: &mut Vec<u64>,
    ) -> Result<u64, RuleError> {
        if depth > MAX_FIGURE_DEPTH {
            return fail(format!("figures nest more than {MAX_FIGURE_DEPTH} deep"));
        }
        let entry = read(log, index)?;
        match entry.content.body {
            Body::Claim { count, .. } => {
                let mut current = count;
                let mut retracted = false;
                for a in self.amendments_before(index, at) {
                    let amend = read(log, a)?;
                    match amend.content.body {
                        Body::Correction { count: Some(c), .. } => current = Some(c),
                        Body::Correction { .. } => {}
                        Body::Retraction { .. } => retracted = true,
                        _ => continue,
                    }
                    if a > since {
                        changed.push(a);
                    }
                }
                if retracted {
                    return Ok(0);
                }
                current.ok_or_else(|| RuleError(format!("claim {index} has no count")))
            }
            Body::Figure { terms, .. } => {
                let mut sum: u64 = 0;
                for t in terms {
                    let v = self.value_rec(t, at, since, log, depth + 1, changed)?;
                    sum = sum
                        .checked_add(v)
                        .ok_or_else(|| RuleError(format!("figure {index} overflows u64")))?;
                }
                if let Some(r) = self.retracted_before(index, at, log)? {
                    if r > since {
                        changed.push(r);
                    }
                    return Ok(0);
                }
                Ok(sum)
            }
            other => fail(format!(
                "entry {index} is a {}, not a claim or figure",
                other.kind()
            )),
        }
    }

    /// Checks that `content` may become entry `self.size`.
    ///
    /// # Errors
    /// The first rule it breaks.
    pub fn admit(&self, content: &Content, log: &dyn EntryLookup) -> Result<(), RuleError> {
        let index = self.size;
        if index == 0 {
            let Body::Genesis { operator, name } = &content.body else {
                return fail(format!(
                    "entry 0 must be the genesis entry, not a {}",
                    content.body.kind()
                ));
            };
            if !crate::checkpoint::valid_origin(&content.origin) {
                return fail(format!("invalid origin {:?}", content.origin));
            }
            text("operator name", name, true)?;
            crate::keys::PublicKey::from_bytes(name, operator)
                .map_err(|e| RuleError(format!("operator key: {e}")))?;
            if KeyId::of(operator) != content.signer {
                return fail("genesis is not signed by the operator key it names");
            }
            return Ok(());
        }
        if content.origin != self.origin {
            return fail(format!(
                "origin {:?} is not this ledger's origin {:?}",
                content.origin, self.origin
            ));
        }
        let Some(signer) = self.key(&content.signer) else {
            return fail(format!(
                "signer {} was never granted on this ledger",
                content.signer.short()
            ));
        };
        if let Some(r) = signer.revoked_at {
            return fail(format!(
                "signer {} ({}) was revoked at entry {r}",
                content.signer.short(),
                signer.name
            ));
        }
        let is_operator = signer.role.is_none();
        match &content.body {
            Body::Genesis { .. } => fail("a second genesis entry"),
            Body::KeyGrant { key, name, .. } => {
                if !is_operator {
                    return fail("only the operator key may grant keys");
                }
                crate::keys::PublicKey::from_bytes(name, key)
                    .map_err(|e| RuleError(format!("granted key: {e}")))?;
                if !crate::keys::valid_key_name(name) {
                    return fail(format!("invalid key name {name:?}"));
                }
                if self.key(&KeyId::of(key)).is_some() {
                    return fail(format!(
                        "key {} is already known to this ledger (a revoked key stays revoked)",
                        KeyId::of(key).short()
                    ));
                }
                Ok(())
            }
            Body::KeyRevoke { key, reason } => {
                if !is_operator {
                    return fail("only the operator key may revoke keys");
                }
                text("reason", reason, true)?;
                match self.key(key) {
                    None => fail(format!("cannot revoke unknown key {}", key.short())),
                    Some(k) if k.role.is_none() => fail("the operator key cannot be revoked"),
                    Some(k) if k.revoked_at.is_some() => {
                        fail(format!("key {} is already revoked", key.short()))
                    }
                    Some(_) => Ok(()),
                }
            }
            body => {
                if matches!(signer.role, Some(Role::Auditor)) {
                    return fail(format!(
                        "signer {} has role auditor, which may not sign {} entries",
                        signer.name,
                        body.kind()
                    ));
                }
                self.admit_evidence(index, body, log)
            }
        }
    }

    fn admit_evidence(
        &self,
        index: u64,
        body: &Body,
        log: &dyn EntryLookup,
    ) -> Result<(), RuleError> {
        let earlier = |i: u64, what: &str| -> Result<Entry, RuleError> {
            if i >= index {
                return fail(format!("{what} {i} is not an earlier entry"));
            }
            read(log, i)
        };
        match body {
            Body::Source {
                title,
                publisher,
                date,
                locator,
                ..
            } => {
                text("title", title, true)?;
                text("publisher", publisher, true)?;
                if !valid_partial_date(date) {
                    return fail(format!("date {date:?} is not YYYY, YYYY-MM or YYYY-MM-DD"));
                }
                if let Some(l) = locator {
                    text("locator", l, true)?;
                }
                Ok(())
            }
            Body::Informant { alias, .. } => text("alias", alias, true),
            Body::Claim {
                statement,
                count,
                unit,
                category,
                period,
                place,
                cites,
            } => {
                text("statement", statement, true)?;
                text("category", category, true)?;
                text("place", place, false)?;
                text("unit", unit, count.is_some())?;
                if !valid_period(period) {
                    return fail(format!(
                        "period {period:?} is not a partial date (YYYY[-MM[-DD]]) or a range A..B"
                    ));
                }
                if cites.is_empty() {
                    return fail("a claim must cite at least one source or informant");
                }
                for &c in cites {
                    let e = earlier(c, "cited entry")?;
                    if !matches!(e.content.body, Body::Source { .. } | Body::Informant { .. }) {
                        return fail(format!(
                            "cited entry {c} is a {}, not a source or informant",
                            e.content.body.kind()
                        ));
                    }
                    if let Some(r) = self.retracted_before(c, index, log)? {
                        return fail(format!("cited entry {c} was retracted at entry {r}"));
                    }
                }
                Ok(())
            }
            Body::Figure {
                label,
                value,
                unit,
                terms,
                ..
            } => {
                text("label", label, true)?;
                text("unit", unit, true)?;
                if terms.is_empty() {
                    return fail("a figure must sum at least one claim or figure");
                }
                let mut seen = std::collections::BTreeSet::new();
                let mut sum: u64 = 0;
                for &t in terms {
                    if !seen.insert(t) {
                        return fail(format!("term {t} appears twice"));
                    }
                    let e = earlier(t, "term")?;
                    match e.content.body {
                        Body::Claim { .. } | Body::Figure { .. } => {}
                        ref other => {
                            return fail(format!(
                                "term {t} is a {}, not a claim or figure",
                                other.kind()
                            ))
                        }
                    }
                    if let Some(r) = self.retracted_before(t, index, log)? {
                        return fail(format!("term {t} was retracted at entry {r}"));
                    }
                    let v = self.value_at(t, index, u64::MAX, log)?.value;
                    sum = sum
                        .checked_add(v)
                        .ok_or_else(|| RuleError("figure sum overflows".into()))?;
                }
                if sum != *value {
                    return fail(format!(
                        "figure value {value} does not equal the sum of its terms, {sum}"
                    ));
                }
                Ok(())
            }
            Body::Correction {
                target,
                count,
                statement,
                reason,
            } => {
                text("reason", reason, true)?;
                if count.is_none() && statement.is_none() {
                    return fail("a correction must change the count or the statement");
                }
                if let Some(s) = statement {
                    text("statement", s, true)?;
                }
                let e = earlier(*target, "corrected entry")?;
                if !matches!(e.content.body, Body::Claim { .. }) {
                    return fail(format!(
                        "corrected entry {target} is a {}, not a claim",
                        e.content.body.kind()
                    ));
                }
                if let Some(r) = self.retracted_before(*target, index, log)? {
                    return fail(format!("claim {target} was already retracted at entry {r}"));
                }
                Ok(())
            }
            Body::Retraction { target, reason } => {
                text("reason", reason, true)?;
                let e = earlier(*target, "retracted entry")?;
                if !matches!(
                    e.content.body,
                    Body::Claim { .. }
                        | Body::Source { .. }
                        | Body::Informant { .. }
                        | Body::Figure { .. }
                ) {
                    return fail(format!(
                        "entry {target} is a {}, which cannot be retracted",
                        e.content.body.kind()
                    ));
                }
                if let Some(r) = self.retracted_before(*target, index, log)? {
                    return fail(format!("entry {target} was already retracted at entry {r}"));
                }
                Ok(())
            }
            Body::Redaction { target, reason } => {
                text("reason", reason, true)?;
                let e = earlier(*target, "redacted entry")?;
                if !matches!(e.content.body, Body::Source { .. }) {
                    return fail(format!(
                        "entry {target} is a {}, not a source",
                        e.content.body.kind()
                    ));
                }
                for a in self.amendments_before(*target, index) {
                    if let Body::Redaction { .. } = read(log, a)?.content.body {
                        return fail(format!("source {target} was already redacted at entry {a}"));
                    }
                }
                Ok(())
            }
            Body::Genesis { .. } | Body::KeyGrant { .. } | Body::KeyRevoke { .. } => {
                fail("internal: key entries are checked elsewhere")
            }
        }
    }

    /// Records an admitted entry.
    pub fn apply(&mut self, content: &Content, leaf: Digest) {
        let index = self.size;
        match &content.body {
            Body::Genesis { operator, name } => {
                self.origin.clone_from(&content.origin);
                self.keys.push(KeyRecord {
                    public: *operator,
                    name: name.clone(),
                    role: None,
                    granted_at: 0,
                    revoked_at: None,
                });
            }
            Body::KeyGrant { key, name, role } => self.keys.push(KeyRecord {
                public: *key,
                name: name.clone(),
                role: Some(*role),
                granted_at: index,
                revoked_at: None,
            }),
            Body::KeyRevoke { key, .. } => {
                if let Some(k) = self.keys.iter_mut().find(|k| k.id() == *key) {
                    k.revoked_at = Some(index);
                }
            }
            Body::Figure { .. } => self.figures.push(index),
            Body::Correction { target, .. }
            | Body::Retraction { target, .. }
            | Body::Redaction { target, .. } => {
                self.amendments.entry(*target).or_default().push(index);
            }
            Body::Source { .. } | Body::Informant { .. } | Body::Claim { .. } => {}
        }
        *self
            .kinds
            .entry(content.body.kind().to_string())
            .or_default() += 1;
        self.size += 1;
        self.head = leaf;
    }
}

fn read(log: &dyn EntryLookup, index: u64) -> Result<Entry, RuleError> {
    log.entry(index)
        .map_err(|e| RuleError(format!("cannot read entry {index}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_dates_and_periods() {
        for ok in [
            "2024",
            "2024-01",
            "2024-02-29",
            "2023..2024-06",
            "2025-10-15",
        ] {
            assert!(valid_period(ok), "{ok}");
        }
        for bad in [
            "",
            "24",
            "2024-13",
            "2023-02-29",
            "2024-1",
            "2024..2023",
            "2024-01-32",
            "x..y",
        ] {
            assert!(!valid_period(bad), "{bad}");
        }
    }
}
