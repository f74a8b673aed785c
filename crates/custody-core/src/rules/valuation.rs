//! The value of a claim or figure at a point of the log, and whether an entry was retracted.
//!
//! A claim's value is its count after the corrections made before the point asked about (0 once
//! retracted); a figure's is the sum of its terms' values (0 once retracted). Amendments after
//! `since` that changed anything beneath are listed, so reports can say what changed a figure.

use super::{fail, read, EntryLookup, LogState, RuleError, MAX_FIGURE_DEPTH};
use crate::entry::Body;

/// The value of a claim or figure at a point of the log, and what changed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Valuation {
    /// The value (a retracted claim counts 0).
    pub value: u64,
    /// Corrections and retractions beneath it that took effect after `since`.
    pub changed_by: Vec<u64>,
}

impl LogState {
    /// The amendments of `target` made before entry `before`.
    pub(crate) fn amendments_before(
        &self,
        target: u64,
        before: u64,
    ) -> impl Iterator<Item = u64> + '_ {
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
                current.ok_or_else(|| RuleError::Broken(format!("claim {index} has no count")))
            }
            Body::Figure { terms, .. } => {
                let mut sum: u64 = 0;
                for t in terms {
                    let v = self.value_rec(t, at, since, log, depth + 1, changed)?;
                    sum = sum.checked_add(v).ok_or_else(|| {
                        RuleError::Broken(format!("figure {index} overflows u64"))
                    })?;
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
}
