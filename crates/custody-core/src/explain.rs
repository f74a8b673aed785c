//! Where a claim or figure stands, and what it is built from: the one walk every report uses.
//!
//! `verify`'s report, `figure`, a proof bundle's check and the court exhibit all say the same
//! things about a figure: its value when signed, each term's value then, its value as of a later
//! point (today, or a checkpoint), which amendments changed it, whether it was retracted, which
//! claims beneath it are unsupported (every source they cite retracted), and the tree of claims
//! and sources beneath it. [`standing`] and [`tree`] compute those once, from the
//! rules' [`LogState`] and earlier entries read through [`EntryLookup`]; printers only format.
//!
//! Each call makes one valuation session (memoised per entry and point of the log), so
//! [`standing`] is linear in the DAG beneath the entry (it values it at two points: its signing
//! and `as_of`), and [`tree`] visits each entry once and values each at most once per figure
//! above it that it shows (at that figure's signing).

use crate::entry::{Entry, Qualifier};
use crate::rules::valuation::Valuer;
use crate::rules::{EntryLookup, LogState, LookupError, RuleError, MAX_FIGURE_DEPTH};
use serde::Serialize;
use std::collections::BTreeSet;

/// One term of a figure and its value when the figure was signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TermValue {
    /// The claim or figure summed.
    pub entry: u64,
    /// Its value just before the figure was signed.
    pub value: u64,
}

/// Where a claim or figure stands as of a point of the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Standing {
    /// The claim or figure.
    pub entry: u64,
    /// Its value when signed: a figure's signed value (which equalled its terms then), a
    /// claim's own count. `None` for a claim without a count.
    pub published: Option<u64>,
    /// Each term's value when the figure was signed (empty for a claim).
    pub terms: Vec<TermValue>,
    /// Its value as of the point asked about, after the amendments before it.
    pub current: Option<u64>,
    /// Amendments after publication that changed anything beneath it, in log order.
    pub changed_by: Vec<u64>,
    /// The entry that retracted it, if one did before the point asked about.
    pub retracted_at: Option<u64>,
    /// The claims beneath it (itself, for a claim) that are *unsupported* as of the point asked
    /// about: every source and informant each cites was retracted by then (docs/FORMAT.md,
    /// "Support"). They still count; a report must say that they rest on nothing live.
    pub unsupported: Vec<u64>,
    /// The figure this figure supersedes, if it supersedes one.
    pub supersedes: Option<u64>,
    /// The figure that superseded this one, if one did before the point asked about.
    pub superseded_by: Option<u64>,
    /// The reviews of this figure before the point asked about (docs/FORMAT.md "Roles"), in
    /// log order: who endorsed it, besides its author.
    pub reviewed_by: Vec<u64>,
    /// Whether it is a figure (else a claim). Not serialised: `terms` says as much to a reader
    /// of the JSON, and this only selects the rule of [`Standing::is_changed`].
    #[serde(skip)]
    pub is_figure: bool,
}

impl Standing {
    /// Whether it no longer stands as signed (docs/FORMAT.md "Changed and amended"): it was
    /// retracted, its value differs from its published value, or, for a claim, it was
    /// amended at all (its own statement, count, place or period is no longer as signed). A
    /// figure's meaning is its value: amendments beneath it that leave that value as published
    /// make it [amended](Standing::is_amended), not changed.
    #[must_use]
    pub fn is_changed(&self) -> bool {
        self.retracted_at.is_some()
            || self.current != self.published
            || (!self.is_figure && !self.changed_by.is_empty())
    }

    /// Whether amendments beneath it (listed in `changed_by`) left it standing as published: a
    /// figure whose value is still its published value although a claim beneath it was
    /// corrected. Reported, with the amendments, but `verify --strict` does not fail on it.
    #[must_use]
    pub fn is_amended(&self) -> bool {
        !self.is_changed() && !self.changed_by.is_empty()
    }
}

/// The successor chain of a superseded figure: each figure superseding the one before,
/// as of before entry `as_of` (empty if nothing supersedes it). Bounded by the log, since
/// each successor is later than the figure it supersedes.
#[must_use]
pub fn successors(state: &LogState, index: u64, as_of: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut at = index;
    while let Some(s) = state.superseded_before(at, as_of) {
        out.push(s);
        at = s;
    }
    out
}

/// Where claim or figure `index` stands as of just before entry `as_of` (the log's size for
/// "today", a checkpoint's size for a bundle). `None` if `index` is neither a claim nor a figure.
///
/// # Errors
/// A broken rule (a term that is not a counted claim, nesting too deep, an overflow), or an
/// entry that could not be read.
pub fn standing(
    state: &LogState,
    log: &dyn EntryLookup,
    index: u64,
    as_of: u64,
) -> Result<Option<Standing>, RuleError> {
    let entry = log.entry(index)?;
    let mut v = Valuer::new(state, log);
    let body = &entry.content.body;
    let (published, terms, supersedes) = match (body.as_figure(), body.as_claim()) {
        (Some(f), _) => {
            let mut tv = Vec::with_capacity(f.terms.len());
            for &t in f.terms {
                let value = v.value(t, index)?;
                tv.push(TermValue { entry: t, value });
            }
            (Some(f.value), tv, f.supersedes)
        }
        (None, Some(c)) => (c.count, Vec::new(), None),
        (None, None) => return Ok(None),
    };
    let retracted_at = state.retracted_before(index, as_of, log)?;
    let unsupported = v.unsupported_beneath(index, as_of)?;
    let (current, changed_by) = if published.is_some() {
        (
            Some(v.value(index, as_of)?),
            v.changed(index, as_of, index)?,
        )
    } else {
        // A claim without a count has no value; every amendment of it is a change.
        let amends = state
            .amendments_of(index)
            .iter()
            .copied()
            .filter(|&a| a < as_of)
            .collect();
        (None, amends)
    };
    Ok(Some(Standing {
        entry: index,
        published,
        terms,
        current,
        changed_by,
        retracted_at,
        unsupported,
        supersedes,
        superseded_by: state.superseded_before(index, as_of),
        reviewed_by: state
            .reviews_of(index)
            .iter()
            .copied()
            .filter(|&r| r < as_of)
            .collect(),
        is_figure: body.as_figure().is_some(),
    }))
}

/// How an entry stands as of a point of the log, in one word: what every report says first.
/// Where several hold, the first in this order is the entry's status (a retracted figure may
/// also have changed; a superseded one usually has): retracted, then superseded, then (for a
/// grant) revoked, then unsupported, then changed, then amended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Status {
    /// Withdrawn by the retraction at entry `at`.
    Retracted {
        /// The retraction.
        at: u64,
    },
    /// A figure superseded by the figure at entry `by`.
    Superseded {
        /// The successor.
        by: u64,
    },
    /// A key grant whose key the entry at `at` revoked.
    Revoked {
        /// The revocation.
        at: u64,
    },
    /// A claim or figure resting on claims none of whose sources is live.
    Unsupported,
    /// A figure whose value differs from its published value, or a claim amended at all
    /// ([`Standing::is_changed`]).
    Changed,
    /// A figure whose value is as published although amendments beneath it corrected what it
    /// rests on ([`Standing::is_amended`]): it may be relied on, and the amendments are shown.
    Amended,
    /// None of the above: it stands as published.
    Current,
}

impl Status {
    /// The report's first words: `VERIFIED`, then the status unless it is current.
    #[must_use]
    pub fn headline(self) -> String {
        match self {
            Status::Retracted { at } => format!("VERIFIED — RETRACTED AT ENTRY {at}"),
            Status::Superseded { by } => format!("VERIFIED — SUPERSEDED BY {by}"),
            Status::Revoked { at } => format!("VERIFIED — KEY REVOKED AT ENTRY {at}"),
            Status::Unsupported => "VERIFIED — UNSUPPORTED".into(),
            Status::Changed => "VERIFIED — CHANGED SINCE PUBLICATION".into(),
            Status::Amended => "VERIFIED — AMENDED BENEATH, VALUE UNCHANGED".into(),
            Status::Current => "VERIFIED".into(),
        }
    }
}

/// The status of any entry `index` as of just before entry `as_of`, from the same walk as
/// [`standing`] (which it takes for a claim or figure, `None` otherwise).
///
/// # Errors
/// As [`standing`].
pub fn status(
    state: &LogState,
    log: &dyn EntryLookup,
    index: u64,
    as_of: u64,
    standing: Option<&Standing>,
) -> Result<Status, RuleError> {
    if let Some(at) = state.retracted_before(index, as_of, log)? {
        return Ok(Status::Retracted { at });
    }
    if let Some(by) = state.superseded_before(index, as_of) {
        return Ok(Status::Superseded { by });
    }
    if let Some(at) = state
        .keys
        .iter()
        .find(|k| k.role.is_some() && k.granted_at == index)
        .and_then(|k| k.revoked_at)
        .filter(|&r| r < as_of)
    {
        return Ok(Status::Revoked { at });
    }
    Ok(match standing {
        Some(s) if !s.unsupported.is_empty() => Status::Unsupported,
        Some(s) if s.is_changed() => Status::Changed,
        Some(s) if s.is_amended() => Status::Amended,
        _ => Status::Current,
    })
}

/// A figure's report line: its label and how it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FigureStanding {
    /// The figure's label.
    pub label: String,
    /// at-least, exactly, about.
    pub qualifier: Qualifier,
    /// The unit.
    pub unit: String,
    /// How it stands.
    #[serde(flatten)]
    pub standing: Standing,
}

/// The standing of figure `index` as of `as_of`, with its label (`None` if not a figure).
///
/// # Errors
/// As [`standing`].
pub fn figure_standing(
    state: &LogState,
    log: &dyn EntryLookup,
    index: u64,
    as_of: u64,
) -> Result<Option<FigureStanding>, RuleError> {
    let entry = log.entry(index)?;
    let Some(f) = entry.content.body.as_figure() else {
        return Ok(None);
    };
    let (label, qualifier, unit) = (f.label.to_string(), f.qualifier, f.unit.to_string());
    Ok(
        standing(state, log, index, as_of)?.map(|standing| FigureStanding {
            label,
            qualifier,
            unit,
            standing,
        }),
    )
}

/// One node of the tree beneath a claim or figure.
#[derive(Clone, Debug)]
pub struct TreeNode {
    /// The entry's index.
    pub index: u64,
    /// The entry.
    pub entry: Entry,
    /// A claim's or figure's value when its parent figure was signed (for the root, just
    /// before `at`); `None` for other kinds and for a claim without a count.
    pub value: Option<u64>,
    /// Already shown earlier in the walk (a shared subfigure or a source cited twice): printers
    /// refer back to it and the walk does not descend again, so output stays linear in the DAG.
    pub repeat: bool,
    /// What it is built from: a figure's terms, a claim's citations, an amendment's target.
    pub children: Vec<TreeNode>,
}

/// The tree beneath claim or figure `root` (or any entry), with values as they stood just
/// before entry `at`: each figure's terms are valued as at that figure's own signing. Entries
/// the lookup does not hold (outside a bundle) are left out.
///
/// # Errors
/// A broken rule (nesting deeper than [`MAX_FIGURE_DEPTH`]) or an unreadable entry.
pub fn tree(
    state: &LogState,
    log: &dyn EntryLookup,
    root: u64,
    at: u64,
) -> Result<TreeNode, RuleError> {
    let mut seen = BTreeSet::new();
    let entry = log.entry(root)?;
    let mut v = Valuer::new(state, log);
    walk(&mut v, log, root, entry, at, 0, &mut seen)
}

fn walk(
    v: &mut Valuer<'_>,
    log: &dyn EntryLookup,
    index: u64,
    entry: Entry,
    at: u64,
    depth: usize,
    seen: &mut BTreeSet<u64>,
) -> Result<TreeNode, RuleError> {
    if depth > MAX_FIGURE_DEPTH + 1 {
        return Err(RuleError::Broken(format!(
            "figures nest more than {MAX_FIGURE_DEPTH} deep"
        )));
    }
    let body = &entry.content.body;
    let value = if body.is_figure() || body.as_claim().is_some_and(|c| c.count.is_some()) {
        Some(v.value(index, at.max(index + 1))?)
    } else {
        None
    };
    let repeat = !seen.insert(index);
    let mut children = Vec::new();
    if !repeat {
        // A figure's terms are valued as when that figure was signed. A superseding figure's
        // children are its terms only (the figure it supersedes is not part of its sum), and
        // a claim's its citations only (the copy a repeat repeats is not what it rests on).
        let (child_at, refs) = match (body.as_figure(), body.as_claim()) {
            (Some(f), _) => (index, f.terms.to_vec()),
            (None, Some(c)) => (at, c.cites.to_vec()),
            (None, None) => (at, body.references()),
        };
        for r in refs {
            match log.entry(r) {
                Ok(child) => children.push(walk(v, log, r, child, child_at, depth + 1, seen)?),
                Err(LookupError::Missing { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(TreeNode {
        index,
        entry,
        value,
        repeat,
        children,
    })
}
