//! Admission: may this content become the next entry of the log?
//!
//! Entry 0 must be a genesis signed by the key it names; key entries are the operator's; every
//! other body is evidence, signed by a granted, unrevoked key of a role that may sign it, whose
//! citations, terms and targets are earlier entries of the right kinds, and whose figures add up.
//! One function per body kind, so each rule is found by the kind's name. Every text field of every
//! body, and the genesis origin, passes the one character rule of [`super::text`]; every claimed
//! time lies in [`CLAIMED_TIME_RANGE`].
//!
//! Figures: a figure counts each claim at most once through all the figures it sums, nests at
//! most [`MAX_FIGURE_DEPTH`] deep and its value is the checked `u64` sum of its terms; no entry
//! is admitted that would take any figure's value past `u64::MAX`. Admitting a figure is linear
//! in the DAG beneath it; admitting a correction or retraction, in the figures above its target
//! (found through the reverse edges of [`super::valuation::FigureDag`], never by walking the
//! log).

use super::text::{one_line, text, valid_partial_date, valid_period};
use super::valuation::{ClaimBefore, FigureDag, Node, Valuer};
use super::{fail, read, EntryLookup, KeyRecord, LogState, RuleError, MAX_FIGURE_DEPTH};
use crate::entry::{Body, Content, Entry, KeyId, Role};
use crate::hash::Digest;
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::ops::RangeInclusive;

/// The claimed times admitted, in seconds since 1970-01-01T00:00:00Z: from that instant to
/// 9999-12-31T23:59:59Z, the span RFC 3339 can write. Nothing checks that a claimed time is
/// true (docs/FORMAT.md, "What is not authenticated"); this only keeps it printable.
pub const CLAIMED_TIME_RANGE: RangeInclusive<i64> = 0..=253_402_300_799;

/// Refuses a claimed time outside [`CLAIMED_TIME_RANGE`], naming it.
fn claimed_time(t: i64) -> Result<(), RuleError> {
    if CLAIMED_TIME_RANGE.contains(&t) {
        return Ok(());
    }
    fail(format!(
        "claimed time {t} is outside {} ..= {} (1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z, \
         seconds since 1970)",
        CLAIMED_TIME_RANGE.start(),
        CLAIMED_TIME_RANGE.end()
    ))
}

impl LogState {
    /// Checks that `content` may become entry `self.size`.
    ///
    /// # Errors
    /// The first rule it breaks ([`RuleError::Broken`]), or an earlier entry that could not be
    /// read ([`RuleError::Lookup`]).
    pub fn admit(&self, content: &Content, log: &dyn EntryLookup) -> Result<(), RuleError> {
        self.admit_in(content, log, true)
    }

    /// [`LogState::admit`] for a proof bundle, whose earlier entries are only some of the
    /// log's: every rule but one holds as in the log; a state commitment's root, which covers
    /// every entry, cannot be recomputed from some, and is checked through the bundle's
    /// completeness proofs instead (docs/PROOFS.md).
    ///
    /// # Errors
    /// As [`LogState::admit`].
    pub fn admit_in_bundle(
        &self,
        content: &Content,
        log: &dyn EntryLookup,
    ) -> Result<(), RuleError> {
        self.admit_in(content, log, false)
    }

    fn admit_in(
        &self,
        content: &Content,
        log: &dyn EntryLookup,
        whole_log: bool,
    ) -> Result<(), RuleError> {
        claimed_time(content.claimed_time)?;
        if self.size == 0 {
            return admit_genesis(content);
        }
        if content.origin != self.origin {
            return fail(format!(
                "origin {:?} is not this ledger's origin {:?}",
                content.origin, self.origin
            ));
        }
        let signer = self.signer_of(content)?;
        match &content.body {
            Body::Genesis { .. } => fail("a second genesis entry"),
            Body::KeyGrant { key, name, .. } => self.admit_grant(signer, key, name),
            Body::KeyRevoke { key, reason } => self.admit_revoke(signer, key, reason),
            Body::StateCommitment { size, leaves, root } => {
                self.admit_commitment(signer, *size, *leaves, root, whole_log)
            }
            body => {
                // Separation of duties (docs/FORMAT.md "Roles"): the operator runs the log and
                // signs no evidence, so the party accused of altering figures never authored one.
                match signer.role {
                    None => {
                        return fail(format!(
                            "the operator key signs only genesis, key grants, revocations and \
                             state commitments, not {} entries: evidence is signed with a granted \
                             researcher's or reviewer's key",
                            body.kind()
                        ))
                    }
                    Some(Role::Auditor) => {
                        return fail(format!(
                            "signer {} has role auditor, which may not sign {} entries",
                            signer.name,
                            body.kind()
                        ))
                    }
                    Some(Role::Researcher | Role::Reviewer) => {}
                }
                let dag = self.figure_dag_or_build(log)?;
                let claim_before = Evidence {
                    state: self,
                    index: self.size,
                    signer: content.signer,
                    log,
                    dag: &dag,
                }
                .admit(body)?;
                // A DAG admission had to read from the log is kept by `apply`.
                let read_dag = match dag {
                    Cow::Owned(d) => Some(d),
                    Cow::Borrowed(_) => None,
                };
                self.note_admitted(read_dag, claim_before);
                Ok(())
            }
        }
    }

    /// The signer's key record, which must be granted and not revoked.
    fn signer_of(&self, content: &Content) -> Result<&KeyRecord, RuleError> {
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
        Ok(signer)
    }

    fn admit_grant(&self, signer: &KeyRecord, key: &[u8; 32], name: &str) -> Result<(), RuleError> {
        if signer.role.is_some() {
            return fail("only the operator key may grant keys");
        }
        crate::keys::PublicKey::from_bytes(name, key)
            .map_err(|e| RuleError::Broken(format!("granted key: {e}")))?;
        text("key name", name, true)?;
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

    /// A state commitment is the operator's, names its own index, and (on the whole log)
    /// commits to the log's state tree just before it.
    fn admit_commitment(
        &self,
        signer: &KeyRecord,
        size: u64,
        leaves: u64,
        root: &Digest,
        whole_log: bool,
    ) -> Result<(), RuleError> {
        if signer.role.is_some() {
            return fail("only the operator key may commit to the log's state");
        }
        if size != self.size {
            return fail(format!(
                "state commitment covers {size} entries, but it is entry {}",
                self.size
            ));
        }
        if whole_log {
            let (n, r) = crate::completeness::state_root(self, self.size);
            if (n, r) != (leaves, *root) {
                return fail(format!(
                    "state commitment does not match the log: it commits to {leaves} amended \
                     entries with state root {root}, the log before it has {n} with root {r}; \
                     the operator committed to a false amendment state"
                ));
            }
        }
        Ok(())
    }

    fn admit_revoke(&self, signer: &KeyRecord, key: &KeyId, reason: &str) -> Result<(), RuleError> {
        if signer.role.is_some() {
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
}

/// Entry 0: a genesis naming a valid origin and operator key, signed by that key.
fn admit_genesis(content: &Content) -> Result<(), RuleError> {
    let Body::Genesis { operator, name } = &content.body else {
        return fail(format!(
            "entry 0 must be the genesis entry, not a {}",
            content.body.kind()
        ));
    };
    // one_line names the field and the character; valid_origin then checks length, whitespace
    // and `+` (and the same control characters).
    one_line("origin", &content.origin)?;
    if !crate::checkpoint::valid_origin(&content.origin) {
        return fail(format!("invalid origin {:?}", content.origin));
    }
    text("operator name", name, true)?;
    crate::keys::PublicKey::from_bytes(name, operator)
        .map_err(|e| RuleError::Broken(format!("operator key: {e}")))?;
    if KeyId::of(operator) != content.signer {
        return fail("genesis is not signed by the operator key it names");
    }
    Ok(())
}

/// The evidence rules for a body that would become entry `index`.
struct Evidence<'a> {
    state: &'a LogState,
    index: u64,
    /// The key signing the entry.
    signer: KeyId,
    log: &'a dyn EntryLookup,
    /// The figures as the log stands before `index`.
    dag: &'a FigureDag,
}

impl Evidence<'_> {
    /// Checks `body`; returns what `apply` needs to move the figures above the claim it corrects
    /// or retracts, if some figure sums that claim.
    fn admit(&self, body: &Body) -> Result<Option<ClaimBefore>, RuleError> {
        match body {
            Body::Correction {
                target,
                count,
                statement,
                reason,
            } => self.correction(*target, count.as_ref(), statement.as_deref(), reason),
            Body::Retraction { target, reason } => self.retraction(*target, reason),
            other => self.admit_other(other).map(|()| None),
        }
    }

    fn admit_other(&self, body: &Body) -> Result<(), RuleError> {
        match body {
            Body::Source {
                title,
                publisher,
                date,
                locator,
                ..
            } => source(title, publisher, date, locator.as_deref()),
            Body::Informant { alias, .. } => text("alias", alias, true),
            b @ (Body::Claim { .. } | Body::RepeatedClaim { .. }) => self.claim(b),
            Body::Figure {
                label,
                value,
                unit,
                terms,
                ..
            } => {
                text("label", label, true)?;
                text("unit", unit, true)?;
                self.terms(*value, terms)
            }
            Body::SupersedingFigure {
                label,
                value,
                unit,
                terms,
                supersedes,
                ..
            } => {
                text("label", label, true)?;
                text("unit", unit, true)?;
                self.supersedes(*supersedes, unit)?;
                self.terms(*value, terms)
            }
            Body::Redaction { target, reason } => self.redaction(*target, reason),
            Body::Review { target, note } => self.review(*target, note),
            Body::Cite {
                target,
                cites,
                reason,
            } => self.cite(*target, cites, reason),
            Body::Correction { .. } | Body::Retraction { .. } => {
                fail("internal: corrections and retractions are checked elsewhere")
            }
            Body::Genesis { .. }
            | Body::KeyGrant { .. }
            | Body::KeyRevoke { .. }
            | Body::StateCommitment { .. } => {
                fail("internal: the operator's entries are checked elsewhere")
            }
        }
    }

    /// Whether the signer may amend entry `target` (`e`): a researcher amends only entries
    /// signed with their own key; a reviewer's key amends anyone's, and such an amendment is a
    /// review action, on the record as the reviewer's signature over it (docs/FORMAT.md
    /// "Roles").
    fn may_amend(&self, target: u64, e: &Entry, what: &str) -> Result<(), RuleError> {
        if e.content.signer == self.signer
            || matches!(
                self.state.key(&self.signer).and_then(|k| k.role),
                Some(Role::Reviewer)
            )
        {
            return Ok(());
        }
        let author = self
            .state
            .key(&e.content.signer)
            .map_or_else(|| "an unknown key".to_owned(), |k| format!("{:?}", k.name));
        fail(format!(
            "{what} {target} was signed by {author} (key {}): a researcher amends only entries \
             signed with their own key; a reviewer's key may amend anyone's",
            e.content.signer.short()
        ))
    }

    /// Entry `i`, which must come before the entry being admitted.
    fn earlier(&self, i: u64, what: &str) -> Result<Entry, RuleError> {
        if i >= self.index {
            return fail(format!("{what} {i} is not an earlier entry"));
        }
        read(self.log, i)
    }

    fn retracted(&self, i: u64) -> Result<Option<u64>, RuleError> {
        self.state.retracted_before(i, self.index, self.log)
    }

    /// A claim's text fields and period, its citations, and for a deliberate repeat the copy
    /// it repeats.
    fn claim(&self, body: &Body) -> Result<(), RuleError> {
        let Some(c) = body.as_claim() else {
            return fail("internal: not a claim");
        };
        text("statement", c.statement, true)?;
        text("category", c.category, true)?;
        text("place", c.place, false)?;
        text("unit", c.unit, c.count.is_some())?;
        one_line("period", c.period)?;
        if !valid_period(c.period) {
            return fail(format!(
                "period {:?} is not a partial date (YYYY[-MM[-DD]]) or a range A..B",
                c.period
            ));
        }
        self.cites(c.cites)?;
        if let Some(r) = c.repeats {
            self.repeats(r, body)?;
        }
        Ok(())
    }

    /// A deliberate repeat names an earlier claim by the same signer with the same fields.
    /// (That it is the latest such copy, and that a plain claim repeats none, is the duplicate
    /// rule, which needs every earlier entry: `duplicates`.)
    fn repeats(&self, r: u64, body: &Body) -> Result<(), RuleError> {
        let e = self.earlier(r, "repeated entry")?;
        if !e.content.body.is_claim() {
            return fail(format!(
                "repeated entry {r} is a {}, not a claim",
                e.content.body.kind()
            ));
        }
        if e.content.signer != self.signer || *e.content.body.unrepeated() != *body.unrepeated() {
            return fail(format!(
                "entry {r} is not this claim: a deliberate repeat names an earlier claim by the \
                 same signer with the same statement, count, unit, category, period, place and \
                 citations"
            ));
        }
        Ok(())
    }

    /// A claim cites at least one earlier, unretracted source or informant, each once.
    fn cites(&self, cites: &[u64]) -> Result<(), RuleError> {
        if cites.is_empty() {
            return fail("a claim must cite at least one source or informant");
        }
        let mut seen = BTreeSet::new();
        for &c in cites {
            if !seen.insert(c) {
                return fail(format!("cited entry {c} appears twice"));
            }
            self.citable(c)?;
        }
        Ok(())
    }

    /// Entry `c` may be cited: an earlier source or informant, not retracted before this entry.
    fn citable(&self, c: u64) -> Result<(), RuleError> {
        let e = self.earlier(c, "cited entry")?;
        if !matches!(e.content.body, Body::Source { .. } | Body::Informant { .. }) {
            return fail(format!(
                "cited entry {c} is a {}, not a source or informant",
                e.content.body.kind()
            ));
        }
        if let Some(r) = self.retracted(c)? {
            return fail(format!("cited entry {c} was retracted at entry {r}"));
        }
        Ok(())
    }

    /// A re-sourcing adds to an earlier, unretracted claim at least one earlier, unretracted
    /// source or informant that the claim does not cite already (itself or through an earlier
    /// re-sourcing), none twice.
    fn cite(&self, target: u64, cites: &[u64], reason: &str) -> Result<(), RuleError> {
        text("reason", reason, true)?;
        let e = self.earlier(target, "re-sourced entry")?;
        let Some(claim) = e.content.body.as_claim() else {
            return fail(format!(
                "re-sourced entry {target} is a {}, not a claim",
                e.content.body.kind()
            ));
        };
        self.may_amend(target, &e, "re-sourced claim")?;
        let own = claim.cites;
        if let Some(r) = self.retracted(target)? {
            return fail(format!("claim {target} was already retracted at entry {r}"));
        }
        if cites.is_empty() {
            return fail("a re-sourcing must cite at least one source or informant");
        }
        let mut already: BTreeSet<u64> = own.iter().copied().collect();
        for a in self.state.citations_of(target) {
            if *a < self.index {
                if let Body::Cite { cites, .. } = read(self.log, *a)?.content.body {
                    already.extend(cites);
                }
            }
        }
        let mut seen = BTreeSet::new();
        for &c in cites {
            if !seen.insert(c) {
                return fail(format!("cited entry {c} appears twice"));
            }
            self.citable(c)?;
            if already.contains(&c) {
                return fail(format!("claim {target} already cites entry {c}"));
            }
        }
        Ok(())
    }

    /// A figure sums distinct, earlier, unretracted claims and figures, nests at most
    /// [`MAX_FIGURE_DEPTH`] deep, counts each claim at most once through them, and `value` is
    /// their checked sum.
    fn terms(&self, value: u64, terms: &[u64]) -> Result<(), RuleError> {
        if terms.is_empty() {
            return fail("a figure must sum at least one claim or figure");
        }
        let mut seen = BTreeSet::new();
        for &t in terms {
            if !seen.insert(t) {
                return fail(format!("term {t} appears twice"));
            }
            let e = self.earlier(t, "term")?;
            if !e.content.body.is_claim() && !e.content.body.is_figure() {
                return fail(format!(
                    "term {t} is a {}, not a claim or figure",
                    e.content.body.kind()
                ));
            }
            if let Some(r) = self.retracted(t)? {
                return fail(format!("term {t} was retracted at entry {r}"));
            }
            if let Some(s) = self.state.superseded_before(t, self.index) {
                return fail(format!(
                    "term {t} was superseded by figure {s}: sum figure {s} instead"
                ));
            }
        }
        let mut v = Valuer::new(self.state, self.log);
        for &t in terms {
            let h = v.height(t)?;
            if h >= MAX_FIGURE_DEPTH {
                return fail(format!(
                    "figures nest more than {MAX_FIGURE_DEPTH} deep: term {t} already nests {h} deep"
                ));
            }
        }
        CountedOnce::new(&mut v, self.index).check(terms)?;
        let mut sum: u64 = 0;
        for &t in terms {
            sum = sum.checked_add(v.value(t, self.index)?).ok_or_else(|| {
                RuleError::Broken(format!(
                    "figure {} would exceed u64::MAX ({}): its terms sum to more than that",
                    self.index,
                    u64::MAX
                ))
            })?;
        }
        if sum != value {
            return fail(format!(
                "figure value {value} does not equal the sum of its terms, {sum}"
            ));
        }
        Ok(())
    }

    /// A figure may supersede one earlier figure of the same unit that is neither retracted
    /// nor superseded before this entry.
    fn supersedes(&self, s: u64, unit: &str) -> Result<(), RuleError> {
        let e = self.earlier(s, "superseded entry")?;
        let Some(old) = e.content.body.as_figure() else {
            return fail(format!(
                "superseded entry {s} is a {}, not a figure",
                e.content.body.kind()
            ));
        };
        if let Some(r) = self.retracted(s)? {
            return fail(format!("figure {s} was retracted at entry {r}"));
        }
        if let Some(by) = self.state.superseded_before(s, self.index) {
            return fail(format!("figure {s} was already superseded by figure {by}"));
        }
        if old.unit != unit {
            return fail(format!(
                "figure {s} counts {:?}, not {unit:?}: a figure supersedes only one of its own unit",
                old.unit
            ));
        }
        self.may_amend(s, &e, "superseded figure")?;
        Ok(())
    }

    /// A correction changes the count or statement of an earlier, unretracted claim.
    fn correction(
        &self,
        target: u64,
        count: Option<&u64>,
        statement: Option<&str>,
        reason: &str,
    ) -> Result<Option<ClaimBefore>, RuleError> {
        text("reason", reason, true)?;
        if count.is_none() && statement.is_none() {
            return fail("a correction must change the count or the statement");
        }
        if let Some(s) = statement {
            text("statement", s, true)?;
        }
        let e = self.earlier(target, "corrected entry")?;
        if !e.content.body.is_claim() {
            return fail(format!(
                "corrected entry {target} is a {}, not a claim",
                e.content.body.kind()
            ));
        }
        if let Some(r) = self.retracted(target)? {
            return fail(format!("claim {target} was already retracted at entry {r}"));
        }
        self.may_amend(target, &e, "corrected claim")?;
        let (Some(&new), true) = (count, self.dag.is_term(target)) else {
            return Ok(None);
        };
        let before = self.claim_before(target)?;
        self.no_figure_overflows(&before, new)?;
        Ok(Some(before))
    }

    /// Claim `target`'s value just before this entry, and the figures above it.
    fn claim_before(&self, target: u64) -> Result<ClaimBefore, RuleError> {
        Ok(ClaimBefore {
            claim: target,
            value: Valuer::new(self.state, self.log).value(target, self.index)?,
            above: self.dag.live_above(target),
        })
    }

    /// Refuses a new count `new` of a claim if it would take a figure above it past
    /// `u64::MAX`, naming the first such figure. Each unretracted figure above it through
    /// unretracted figures counts it exactly once, so moves by exactly the claim's change.
    fn no_figure_overflows(&self, before: &ClaimBefore, new: u64) -> Result<(), RuleError> {
        let (target, old) = (before.claim, before.value);
        let Some(rise) = new.checked_sub(old).filter(|&r| r > 0) else {
            return Ok(());
        };
        let over: Vec<(u64, u64)> = before
            .above
            .iter()
            .filter_map(|&f| self.dag.value(f).map(|v| (f, v)))
            .filter(|&(_, v)| v > u64::MAX - rise)
            .collect();
        let Some(&(f, v)) = over.first() else {
            return Ok(());
        };
        let others = match over.len() - 1 {
            0 => String::new(),
            1 => " (and 1 other figure above it)".into(),
            n => format!(" (and {n} other figures above it)"),
        };
        fail(format!(
            "correcting claim {target} to {new} would take figure {f}{others} past u64::MAX ({}): \
             figure {f} is {v} now, {old} of it from claim {target}",
            u64::MAX
        ))
    }

    /// A retraction withdraws an earlier claim, source, informant or figure, once. (A value only
    /// falls, so no figure can overflow.)
    fn retraction(&self, target: u64, reason: &str) -> Result<Option<ClaimBefore>, RuleError> {
        text("reason", reason, true)?;
        let e = self.earlier(target, "retracted entry")?;
        if !matches!(
            e.content.body,
            Body::Claim { .. }
                | Body::RepeatedClaim { .. }
                | Body::Source { .. }
                | Body::Informant { .. }
                | Body::Figure { .. }
                | Body::SupersedingFigure { .. }
        ) {
            return fail(format!(
                "entry {target} is a {}, which cannot be retracted",
                e.content.body.kind()
            ));
        }
        if let Some(r) = self.retracted(target)? {
            return fail(format!("entry {target} was already retracted at entry {r}"));
        }
        self.may_amend(target, &e, "retracted entry")?;
        if e.content.body.is_claim() && self.dag.is_term(target) {
            return self.claim_before(target).map(Some);
        }
        Ok(None)
    }

    /// A review is signed with a reviewer's key, of an earlier figure that is neither retracted
    /// nor superseded before it, signed with another key, and reviewed by this key once.
    fn review(&self, target: u64, note: &str) -> Result<(), RuleError> {
        text("note", note, false)?;
        if !matches!(
            self.state.key(&self.signer).and_then(|k| k.role),
            Some(Role::Reviewer)
        ) {
            return fail("only a reviewer's key may review a figure");
        }
        let e = self.earlier(target, "reviewed entry")?;
        if e.content.body.as_figure().is_none() {
            return fail(format!(
                "reviewed entry {target} is a {}, not a figure",
                e.content.body.kind()
            ));
        }
        if e.content.signer == self.signer {
            return fail(format!(
                "figure {target} was signed with this reviewer's own key: a review is by \
                 someone other than the figure's author"
            ));
        }
        if let Some(r) = self.retracted(target)? {
            return fail(format!("figure {target} was retracted at entry {r}"));
        }
        if let Some(by) = self.state.superseded_before(target, self.index) {
            return fail(format!(
                "figure {target} was superseded by figure {by}: review figure {by}"
            ));
        }
        for &a in self.state.reviews_of(target) {
            let ae = read(self.log, a)?;
            if a < self.index && ae.content.signer == self.signer {
                return fail(format!(
                    "figure {target} was already reviewed with this key at entry {a}"
                ));
            }
        }
        Ok(())
    }

    /// A redaction records, once, that an earlier source's stored copy was deleted.
    fn redaction(&self, target: u64, reason: &str) -> Result<(), RuleError> {
        text("reason", reason, true)?;
        let e = self.earlier(target, "redacted entry")?;
        if !matches!(e.content.body, Body::Source { .. }) {
            return fail(format!(
                "entry {target} is a {}, not a source",
                e.content.body.kind()
            ));
        }
        self.may_amend(target, &e, "redacted source")?;
        for a in self.state.amendments_before(target, self.index) {
            if let Body::Redaction { .. } = read(self.log, a)?.content.body {
                return fail(format!("source {target} was already redacted at entry {a}"));
            }
        }
        Ok(())
    }
}

/// A source's text fields and publication date.
fn source(
    title: &str,
    publisher: &str,
    date: &str,
    locator: Option<&str>,
) -> Result<(), RuleError> {
    text("title", title, true)?;
    text("publisher", publisher, true)?;
    one_line("date", date)?;
    if !valid_partial_date(date) {
        return fail(format!("date {date:?} is not YYYY, YYYY-MM or YYYY-MM-DD"));
    }
    if let Some(l) = locator {
        text("locator", l, true)?;
    }
    Ok(())
}

/// The counted-once rule: through all the figures a new figure sums, each claim is reached by at
/// most one path of entries not retracted before the new figure. (A retracted claim or figure
/// counts 0 for ever, so what lies beneath it only through retracted entries is not counted.)
///
/// A depth-first walk from the terms, in order, visiting each entry once: the first path to an
/// entry is kept as a parent link, so reaching it again, with an unretracted claim beneath it,
/// names that claim and both paths. Linear in the DAG beneath the new figure.
struct CountedOnce<'v, 'a> {
    v: &'v mut Valuer<'a>,
    /// The new figure's index: entries retracted before it are not counted.
    at: u64,
    /// Each entry reached, and the figure through which it was first reached (`None`: a term).
    first: HashMap<u64, Option<u64>>,
    /// For each entry reached, the way down to an unretracted claim beneath it (the entry
    /// itself for a claim, else the term to follow), if there is one.
    down: HashMap<u64, Option<u64>>,
}

impl<'v, 'a> CountedOnce<'v, 'a> {
    fn new(v: &'v mut Valuer<'a>, at: u64) -> CountedOnce<'v, 'a> {
        CountedOnce {
            v,
            at,
            first: HashMap::new(),
            down: HashMap::new(),
        }
    }

    fn check(mut self, terms: &[u64]) -> Result<(), RuleError> {
        let mut path = Vec::new();
        for &t in terms {
            self.visit(t, None, &mut path)?;
        }
        Ok(())
    }

    /// Walks from `index`, reached from figure `from` along `path` (the figures above it, from
    /// a term down). Its terms are known to nest within [`MAX_FIGURE_DEPTH`].
    fn visit(
        &mut self,
        index: u64,
        from: Option<u64>,
        path: &mut Vec<u64>,
    ) -> Result<(), RuleError> {
        let (state, log) = (self.v.state(), self.v.log());
        if state.retracted_before(index, self.at, log)?.is_some() {
            return Ok(());
        }
        if self.first.contains_key(&index) {
            return match self.down.get(&index).copied().flatten() {
                Some(_) => Err(self.twice(index, path)),
                None => Ok(()),
            };
        }
        self.first.insert(index, from);
        let node = self.v.node(index)?;
        let down = match &*node {
            Node::Claim { .. } => {
                if self.v.unsupported(index, self.at)? {
                    let r#where = if path.is_empty() {
                        format!("term {index}")
                    } else {
                        format!(
                            "claim {index}, beneath {},",
                            show_path(&path_to(path, index))
                        )
                    };
                    return Err(RuleError::Broken(format!(
                        "{where} is unsupported: every source and informant it cites was \
                         retracted; re-source it (`custody cite`) or leave it out"
                    )));
                }
                Some(index)
            }
            Node::Figure(terms) => {
                path.push(index);
                let mut down = None;
                for &t in terms {
                    self.visit(t, Some(index), path)?;
                    if down.is_none() && self.down.get(&t).copied().flatten().is_some() {
                        down = Some(t);
                    }
                }
                path.pop();
                down
            }
            Node::Other(_) => None,
        };
        self.down.insert(index, down);
        Ok(())
    }

    /// The error for `index`, reached a second time along `path`.
    fn twice(&self, index: u64, path: &[u64]) -> RuleError {
        // From `index` down to the claim it holds (a claim's way down is itself).
        let (mut below, mut at) = (vec![index], index);
        while let Some(&Some(next)) = self.down.get(&at) {
            if next == at {
                break;
            }
            below.push(next);
            at = next;
        }
        let claim = at;
        // The first path: up from `index` through the parent links, then down to the claim.
        let (mut earlier, mut at) = (vec![index], index);
        while let Some(&Some(up)) = self.first.get(&at) {
            earlier.push(up);
            at = up;
        }
        earlier.reverse();
        earlier.extend_from_slice(&below[1..]);
        let mut later = path.to_vec();
        later.extend_from_slice(&below);
        RuleError::Broken(format!(
            "claim {claim} would be counted twice: through {} and through {}; a figure may \
             count each claim at most once, directly or through one of the figures it sums",
            show_path(&earlier),
            show_path(&later)
        ))
    }
}

/// The path `path` (figures from a term down) followed by `index`.
fn path_to(path: &[u64], index: u64) -> Vec<u64> {
    let mut p = path.to_vec();
    p.push(index);
    p
}

/// `term 8 (8 > 6)`: the term a path starts from, and the path if it goes deeper.
fn show_path(path: &[u64]) -> String {
    match path {
        [] => "no term".into(),
        [t] => format!("term {t}"),
        [t, ..] => {
            let steps: Vec<String> = path.iter().map(u64::to_string).collect();
            format!("term {t} ({})", steps.join(" > "))
        }
    }
}
