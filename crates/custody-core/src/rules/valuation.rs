//! The value of a claim or figure at a point of the log, and whether an entry was retracted.
//!
//! A claim's value is its count after the corrections made before the point asked about (0 once
//! retracted); a figure's is the checked `u64` sum of its terms' values (0 once retracted).
//! Amendments after `since` that changed anything beneath are listed, so reports can say what
//! changed a figure. A claim is *unsupported* at a point when every source and informant it
//! cites (itself or through a re-sourcing) was retracted before it; [`Valuer::unsupported`]
//! says so, and figures list the unsupported claims beneath them.
//!
//! Cost: a `Valuer` reads each entry once (a figure's retraction once per point asked about),
//! values each (entry, point of the log) once, and lists the changes beneath a root visiting
//! each entry once, so valuing a figure is linear in the DAG beneath it (its entries and terms),
//! however many paths reach a shared subfigure. A claim's amendments are kept in log order:
//! those before a point are found by binary search and read from the latest back only to the
//! first that sets a count. [`FigureDag`] is what `apply` keeps so that admitting a correction
//! or a retraction costs the number of figures above its target, not a walk of the log. This
//! module never refuses an entry: admission does.

use super::{read, EntryLookup, LogState, RuleError, MAX_FIGURE_DEPTH};
use crate::entry::Body;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

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
        let a = self.amendments_of(target);
        a[..a.partition_point(|&x| x < before)].iter().copied()
    }

    /// Whether `target` was retracted before entry `before`.
    ///
    /// Reads at most the last two amendments before `before`: admission lets nothing be
    /// corrected once retracted, and a source is retracted and redacted at most once each.
    ///
    /// # Errors
    /// If an amending entry cannot be read.
    pub fn retracted_before(
        &self,
        target: u64,
        before: u64,
        log: &dyn EntryLookup,
    ) -> Result<Option<u64>, RuleError> {
        let a = self.amendments_of(target);
        for &i in a[..a.partition_point(|&x| x < before)].iter().rev() {
            match read(log, i)?.content.body {
                Body::Retraction { .. } => return Ok(Some(i)),
                // A correction is admitted only before any retraction of its claim.
                Body::Correction { .. } => return Ok(None),
                _ => {}
            }
        }
        Ok(None)
    }

    /// The value of claim or figure `index` as the log stood just before entry `at`, listing
    /// the amendments after entry `since` that changed anything beneath it.
    ///
    /// # Errors
    /// If a term is not a counted claim or a figure, figures nest too deeply, or a sum
    /// overflows (none of which an admitted log holds), or an entry cannot be read.
    pub fn value_at(
        &self,
        index: u64,
        at: u64,
        since: u64,
        log: &dyn EntryLookup,
    ) -> Result<Valuation, RuleError> {
        let mut v = Valuer::new(self, log);
        let value = v.value(index, at)?;
        let changed_by = v.changed(index, at, since)?;
        Ok(Valuation { value, changed_by })
    }
}

/// What valuation needs of an entry, read once per [`Valuer`].
#[derive(Debug)]
pub(crate) enum Node {
    /// A claim: its own count and the sources and informants it cites itself.
    Claim {
        /// Its own count.
        count: Option<u64>,
        /// Its own citations (re-sourcings add to them; see [`Valuer::unsupported`]).
        cites: Vec<u64>,
    },
    /// A figure's terms.
    Figure(Vec<u64>),
    /// Any other kind, by name.
    Other(&'static str),
}

/// What an amendment does to a claim's value.
#[derive(Clone, Copy)]
enum Effect {
    Count(u64),
    Retract,
    Nothing,
}

/// One valuation session: values of claims and figures at points of the log, memoised per
/// (entry, point), each entry and each claim's amendments read at most once. Cheap to make;
/// make one per report (or per admission) and ask it everything that report needs.
pub(crate) struct Valuer<'a> {
    state: &'a LogState,
    log: &'a dyn EntryLookup,
    nodes: HashMap<u64, Rc<Node>>,
    effects: HashMap<u64, Effect>,
    values: HashMap<(u64, u64), u64>,
    heights: HashMap<u64, usize>,
    /// The citations each re-sourcing (`Cite`) adds, read once.
    added: HashMap<u64, Rc<Vec<u64>>>,
    /// Whether a claim is unsupported at a point of the log.
    unsupported: HashMap<(u64, u64), bool>,
}

fn nest_error() -> RuleError {
    RuleError::Broken(format!("figures nest more than {MAX_FIGURE_DEPTH} deep"))
}

impl<'a> Valuer<'a> {
    pub(crate) fn new(state: &'a LogState, log: &'a dyn EntryLookup) -> Valuer<'a> {
        Valuer {
            state,
            log,
            nodes: HashMap::new(),
            effects: HashMap::new(),
            values: HashMap::new(),
            heights: HashMap::new(),
            added: HashMap::new(),
            unsupported: HashMap::new(),
        }
    }

    pub(crate) fn state(&self) -> &'a LogState {
        self.state
    }

    pub(crate) fn log(&self) -> &'a dyn EntryLookup {
        self.log
    }

    /// Entry `index` as valuation sees it.
    pub(crate) fn node(&mut self, index: u64) -> Result<Rc<Node>, RuleError> {
        if let Some(n) = self.nodes.get(&index) {
            return Ok(Rc::clone(n));
        }
        let n = Rc::new(match read(self.log, index)?.content.body {
            Body::Claim { count, cites, .. } | Body::RepeatedClaim { count, cites, .. } => {
                Node::Claim { count, cites }
            }
            Body::Figure { terms, .. } | Body::SupersedingFigure { terms, .. } => {
                Node::Figure(terms)
            }
            other => Node::Other(other.kind()),
        });
        self.nodes.insert(index, Rc::clone(&n));
        Ok(n)
    }

    /// How many figures deep `index` nests (0 for a claim): the longest chain of terms beneath
    /// it. Fails if that passes [`MAX_FIGURE_DEPTH`], or if anything beneath is neither a claim
    /// nor a figure.
    pub(crate) fn height(&mut self, index: u64) -> Result<usize, RuleError> {
        self.height_from(index, 0)
    }

    /// The height of `index`, reached `depth` terms below the root asked about.
    fn height_from(&mut self, index: u64, depth: usize) -> Result<usize, RuleError> {
        if depth > MAX_FIGURE_DEPTH {
            return Err(nest_error());
        }
        if let Some(&h) = self.heights.get(&index) {
            return if depth + h > MAX_FIGURE_DEPTH {
                Err(nest_error())
            } else {
                Ok(h)
            };
        }
        let h = match &*self.node(index)? {
            Node::Claim { .. } => 0,
            Node::Figure(terms) => {
                let mut h = 0;
                for &t in terms {
                    h = h.max(1 + self.height_from(t, depth + 1)?);
                }
                h
            }
            Node::Other(kind) => {
                return Err(RuleError::Broken(format!(
                    "entry {index} is a {kind}, not a claim or figure"
                )))
            }
        };
        self.heights.insert(index, h);
        Ok(h)
    }

    /// The value of claim or figure `index` just before entry `at`.
    pub(crate) fn value(&mut self, index: u64, at: u64) -> Result<u64, RuleError> {
        self.height(index)?;
        self.value_of(index, at)
    }

    /// [`Valuer::value`] once the structure beneath `index` is known to be sound; the recursion
    /// is as deep as the figures nest, at most [`MAX_FIGURE_DEPTH`].
    fn value_of(&mut self, index: u64, at: u64) -> Result<u64, RuleError> {
        if let Some(&v) = self.values.get(&(index, at)) {
            return Ok(v);
        }
        let v = match &*self.node(index)? {
            Node::Claim { count, .. } => self.claim_value(index, *count, at)?,
            Node::Figure(terms) => {
                if self.state.retracted_before(index, at, self.log)?.is_some() {
                    0
                } else {
                    let mut sum: u64 = 0;
                    for &t in terms {
                        let v = self.value_of(t, at)?;
                        sum = sum.checked_add(v).ok_or_else(|| {
                            RuleError::Broken(format!(
                                "figure {index}'s value exceeds u64::MAX ({}); an admitted log \
                                 never holds such a figure",
                                u64::MAX
                            ))
                        })?;
                    }
                    sum
                }
            }
            Node::Other(kind) => {
                return Err(RuleError::Broken(format!(
                    "entry {index} is a {kind}, not a claim or figure"
                )))
            }
        };
        self.values.insert((index, at), v);
        Ok(v)
    }

    /// A claim's count just before `at`: the latest correction that sets one, else its own;
    /// 0 once retracted.
    fn claim_value(&mut self, index: u64, count: Option<u64>, at: u64) -> Result<u64, RuleError> {
        let amends = self.state.amendments_of(index);
        for &a in amends[..amends.partition_point(|&x| x < at)].iter().rev() {
            let effect = match self.effects.get(&a) {
                Some(&e) => e,
                None => {
                    let e = match read(self.log, a)?.content.body {
                        Body::Correction { count: Some(c), .. } => Effect::Count(c),
                        Body::Retraction { .. } => Effect::Retract,
                        _ => Effect::Nothing,
                    };
                    self.effects.insert(a, e);
                    e
                }
            };
            match effect {
                Effect::Count(c) => return Ok(c),
                Effect::Retract => return Ok(0),
                Effect::Nothing => {}
            }
        }
        count.ok_or_else(|| RuleError::Broken(format!("claim {index} has no count")))
    }

    /// Whether claim `index` is *unsupported* just before entry `at`: every source and
    /// informant it cites, itself or through a re-sourcing made before `at`, was retracted
    /// before `at`. (A redaction deletes a stored copy, not the source: it leaves the hash the
    /// claim rests on, so it never makes a claim unsupported.) `false` for anything that is not
    /// a claim.
    ///
    /// # Errors
    /// If an entry cannot be read.
    pub(crate) fn unsupported(&mut self, index: u64, at: u64) -> Result<bool, RuleError> {
        if let Some(&u) = self.unsupported.get(&(index, at)) {
            return Ok(u);
        }
        let node = self.node(index)?;
        let Node::Claim { cites, .. } = &*node else {
            return Ok(false);
        };
        let mut all: Vec<u64> = cites.clone();
        let re = self.state.citations_of(index);
        for &a in &re[..re.partition_point(|&x| x < at)] {
            let added = match self.added.get(&a) {
                Some(c) => Rc::clone(c),
                None => {
                    let c = Rc::new(match read(self.log, a)?.content.body {
                        Body::Cite { cites, .. } => cites,
                        _ => Vec::new(),
                    });
                    self.added.insert(a, Rc::clone(&c));
                    c
                }
            };
            all.extend_from_slice(&added);
        }
        let mut unsupported = !all.is_empty();
        for c in all {
            if self.state.retracted_before(c, at, self.log)?.is_none() {
                unsupported = false;
                break;
            }
        }
        self.unsupported.insert((index, at), unsupported);
        Ok(unsupported)
    }

    /// The unsupported claims ([`Valuer::unsupported`]) beneath `root` (itself included) just
    /// before entry `at`, in index order, reached through entries not retracted before `at`
    /// (a retracted claim or figure counts 0, so what it rests on no longer matters). Each
    /// entry beneath is visited once.
    ///
    /// # Errors
    /// If an entry cannot be read.
    pub(crate) fn unsupported_beneath(
        &mut self,
        root: u64,
        at: u64,
    ) -> Result<Vec<u64>, RuleError> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut stack = vec![root];
        while let Some(i) = stack.pop() {
            if !seen.insert(i) || self.state.retracted_before(i, at, self.log)?.is_some() {
                continue;
            }
            match &*self.node(i)? {
                Node::Figure(terms) => stack.extend(terms.iter().copied()),
                Node::Claim { .. } => {
                    if self.unsupported(i, at)? {
                        out.push(i);
                    }
                }
                Node::Other(_) => {}
            }
        }
        out.sort_unstable();
        Ok(out)
    }

    /// The corrections and retractions of anything beneath `root` (itself included) made after
    /// entry `since` and before entry `at`, in log order. Each entry beneath is visited once;
    /// admission lets only corrections and retractions name a claim, and only retractions name
    /// a figure, so the amendments in range are exactly those changes.
    pub(crate) fn changed(
        &mut self,
        root: u64,
        at: u64,
        since: u64,
    ) -> Result<Vec<u64>, RuleError> {
        let mut out = Vec::new();
        if since.saturating_add(1) >= at {
            return Ok(out);
        }
        let mut seen = HashSet::new();
        let mut stack = vec![root];
        while let Some(i) = stack.pop() {
            if !seen.insert(i) {
                continue;
            }
            let a = self.state.amendments_of(i);
            let lo = a.partition_point(|&x| x <= since);
            let hi = a.partition_point(|&x| x < at);
            if lo < hi {
                out.extend_from_slice(&a[lo..hi]);
            }
            if let Node::Figure(terms) = &*self.node(i)? {
                stack.extend(terms.iter().copied());
            }
        }
        out.sort_unstable();
        Ok(out)
    }
}

/// What admitting a correction or retraction of a claim that some figure sums learnt, for
/// `apply`: the claim's value just before it and the figures above it whose value moves.
#[derive(Clone, Debug)]
pub(crate) struct ClaimBefore {
    pub(crate) claim: u64,
    pub(crate) value: u64,
    pub(crate) above: Vec<u64>,
}

/// The figures as `LogState::apply` keeps them, so that admission never walks the log to learn
/// what a correction or retraction changes: for every claim or figure that some figure sums,
/// the figures that sum it (the reverse edges), and every figure's value on the log so far.
///
/// A figure above a claim through unretracted figures counts that claim exactly once (the
/// counted-once rule), so a new count moves each such figure by exactly the claim's change.
/// Size: one number per term of every figure and two per figure.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FigureDag {
    /// For each claim or figure that is a term, the figures that sum it, in log order.
    parents: BTreeMap<u64, Vec<u64>>,
    /// Each figure's value on the log so far; `None` once it is retracted.
    values: BTreeMap<u64, Option<u64>>,
}

impl FigureDag {
    /// The DAG of the log `state` describes, read from the log: linear in the figures' DAG.
    /// For a state that does not carry one (a cache written before it existed).
    ///
    /// # Errors
    /// If an entry cannot be read, or a figure cannot be valued.
    pub(crate) fn build(state: &LogState, log: &dyn EntryLookup) -> Result<FigureDag, RuleError> {
        let mut dag = FigureDag::default();
        let mut v = Valuer::new(state, log);
        for &f in &state.figures {
            if let Node::Figure(terms) = &*v.node(f)? {
                for &t in terms {
                    dag.parents.entry(t).or_default().push(f);
                }
            }
            let value = if state.retracted_before(f, state.size, log)?.is_some() {
                None
            } else {
                Some(v.value(f, state.size)?)
            };
            dag.values.insert(f, value);
        }
        Ok(dag)
    }

    /// Whether some figure sums `index` (a claim or a figure).
    #[must_use]
    pub(crate) fn is_term(&self, index: u64) -> bool {
        self.parents.contains_key(&index)
    }

    /// Whether `index` is a figure this DAG knows.
    #[must_use]
    pub(crate) fn is_figure(&self, index: u64) -> bool {
        self.values.contains_key(&index)
    }

    /// Figure `f`'s value on the log so far (`None` if unknown or retracted).
    #[must_use]
    pub(crate) fn value(&self, f: u64) -> Option<u64> {
        self.values.get(&f).copied().flatten()
    }

    /// Every unretracted figure above `index` through unretracted figures, in log order: the
    /// figures whose value moves with it.
    #[must_use]
    pub(crate) fn live_above(&self, index: u64) -> Vec<u64> {
        let mut seen = HashSet::new();
        let mut stack = vec![index];
        let mut out = Vec::new();
        while let Some(i) = stack.pop() {
            for &p in self.parents.get(&i).into_iter().flatten() {
                if self.value(p).is_some() && seen.insert(p) {
                    out.push(p);
                    stack.push(p);
                }
            }
        }
        out.sort_unstable();
        out
    }

    /// Moves each figure of `above` (the figures above some entry, [`FigureDag::live_above`])
    /// from `old` to `new` for that entry; `false` if a value would leave `u64` (then this DAG
    /// is not the log's and must be rebuilt).
    #[must_use]
    fn shift(&mut self, above: &[u64], old: u64, new: u64) -> bool {
        if old == new {
            return true;
        }
        for &f in above {
            let slot = self.values.get_mut(&f).and_then(Option::as_mut);
            let moved = slot
                .as_ref()
                .and_then(|v| v.checked_sub(old)?.checked_add(new));
            match (slot, moved) {
                (Some(v), Some(m)) => *v = m,
                _ => return false,
            }
        }
        true
    }

    /// Records admitted entry `index`. `before` is what admission learnt of the claim it
    /// corrects or retracts, if some figure sums it. `false` if the DAG cannot follow (it was
    /// not told what it needed, or it disagrees with the log): the caller drops it.
    #[must_use]
    pub(crate) fn apply(&mut self, index: u64, body: &Body, before: Option<&ClaimBefore>) -> bool {
        let told = |target: u64| before.filter(|b| b.claim == target);
        match body {
            Body::Figure { value, terms, .. } | Body::SupersedingFigure { value, terms, .. } => {
                for &t in terms {
                    self.parents.entry(t).or_default().push(index);
                }
                self.values.insert(index, Some(*value));
                true
            }
            Body::Correction {
                target,
                count: Some(new),
                ..
            } if self.is_term(*target) => {
                told(*target).is_some_and(|b| self.shift(&b.above, b.value, *new))
            }
            Body::Retraction { target, .. } if self.is_figure(*target) => {
                let old = self.value(*target).unwrap_or(0);
                let ok = old == 0 || self.shift(&self.live_above(*target), old, 0);
                self.values.insert(*target, None);
                ok
            }
            Body::Retraction { target, .. } if self.is_term(*target) => {
                told(*target).is_some_and(|b| self.shift(&b.above, b.value, 0))
            }
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{Content, Entry, Qualifier, Role, SourceKind};
    use crate::hash::Digest;
    use crate::rules::LookupError;
    use crate::sign::sign_submission;
    use ed25519_dalek::SigningKey;
    use std::cell::Cell;

    /// Entries in memory that count how often they are read.
    struct Log {
        state: LogState,
        entries: Vec<Entry>,
        reads: Cell<u64>,
        key: SigningKey,
    }

    impl EntryLookup for Log {
        fn entry(&self, index: u64) -> Result<Entry, LookupError> {
            self.reads.set(self.reads.get() + 1);
            usize::try_from(index)
                .ok()
                .and_then(|i| self.entries.get(i).cloned())
                .ok_or(LookupError::Missing {
                    index,
                    reason: "is not here".into(),
                })
        }
    }

    impl Log {
        fn new() -> Log {
            let op = SigningKey::from_bytes(&[1u8; 32]);
            let key = SigningKey::from_bytes(&[2u8; 32]);
            let mut log = Log {
                state: LogState::default(),
                entries: Vec::new(),
                reads: Cell::new(0),
                key: op.clone(),
            };
            log.push(Body::Genesis {
                operator: op.verifying_key().to_bytes(),
                name: "operator".into(),
            })
            .unwrap();
            log.push(Body::KeyGrant {
                key: key.verifying_key().to_bytes(),
                name: "researcher".into(),
                role: Role::Researcher,
            })
            .unwrap();
            log.key = key;
            log.push(Body::Source {
                sha256: Digest::of(b"report"),
                size: 6,
                title: "t".into(),
                publisher: "p".into(),
                date: "2025".into(),
                kind: SourceKind::NgoReport,
                locator: None,
            })
            .unwrap();
            log
        }

        fn content(&self, body: Body) -> (Content, Entry) {
            let sub = sign_submission(&self.key, "example.org/t", 0, body).unwrap();
            let entry = sub.into_entry(self.state.size, self.state.head);
            (entry.content.clone(), entry)
        }

        fn push(&mut self, body: Body) -> Result<u64, RuleError> {
            let (content, entry) = self.content(body);
            self.state.admit(&content, self)?;
            self.state
                .apply(&content, Digest::leaf(&entry.to_bytes().unwrap()));
            self.entries.push(entry);
            Ok(self.state.size - 1)
        }

        fn claim(&mut self, count: u64) -> u64 {
            self.push(Body::Claim {
                statement: "s".into(),
                count: Some(count),
                unit: "people".into(),
                category: "c".into(),
                period: "2024".into(),
                place: String::new(),
                cites: vec![2],
            })
            .unwrap()
        }

        fn figure(&mut self, value: u64, terms: &[u64]) -> Result<u64, RuleError> {
            self.push(Body::Figure {
                label: "f".into(),
                value,
                qualifier: Qualifier::AtLeast,
                unit: "people".into(),
                terms: terms.to_vec(),
            })
        }

        fn correct(&mut self, target: u64, count: u64) -> Result<u64, RuleError> {
            self.push(Body::Correction {
                target,
                count: Some(count),
                statement: None,
                reason: "r".into(),
            })
        }

        fn retract(&mut self, target: u64) -> u64 {
            self.push(Body::Retraction {
                target,
                reason: "r".into(),
            })
            .unwrap()
        }

        /// A Fibonacci DAG of `n` figures over two retracted claims: each sums the two before.
        fn fibonacci(n: usize) -> (Log, Vec<u64>) {
            let mut log = Log::new();
            let (x, y) = (log.claim(3), log.claim(4));
            let mut g = vec![log.figure(3, &[x]).unwrap()];
            g.push(log.figure(7, &[g[0], y]).unwrap());
            log.retract(x);
            log.retract(y);
            while g.len() < n {
                let k = g.len();
                g.push(log.figure(0, &[g[k - 1], g[k - 2]]).unwrap());
            }
            (log, g)
        }

        fn reads_during<T>(&self, f: impl FnOnce() -> T) -> (T, u64) {
            self.reads.set(0);
            let out = f();
            (out, self.reads.get())
        }
    }

    #[test]
    fn valuation_reads_each_entry_once_however_many_paths_reach_it() {
        let (log, g) = Log::fibonacci(64);
        let top = *g.last().unwrap();
        let n = log.entries.len() as u64;
        // fib(64) paths reach the bottom; each entry is read at most once, plus the two
        // retractions beneath.
        let (v, reads) = log.reads_during(|| log.state.value_at(top, n, 0, &log).unwrap());
        assert_eq!(v.value, 0);
        assert_eq!(v.changed_by, vec![g[1] + 1, g[1] + 2]);
        assert!(reads <= n, "{reads} reads of {n} entries");
        let (s, reads) =
            log.reads_during(|| crate::explain::standing(&log.state, &log, top, n).unwrap());
        assert_eq!(s.unwrap().terms.len(), 2);
        assert!(reads <= n + 1, "standing: {reads} reads of {n} entries");
        // The tree reads each edge's child once more (to show repeats), still linear.
        let (_, reads) =
            log.reads_during(|| crate::explain::tree(&log.state, &log, top, n).unwrap());
        assert!(reads <= 4 * n, "tree: {reads} reads of {n} entries");
    }

    #[test]
    fn admitting_a_correction_reads_no_figure() {
        let (mut log, g) = Log::fibonacci(40);
        let c = log.claim(5);
        let f = log.figure(5, &[g[39], c]).unwrap();
        let (content, _) = log.content(Body::Correction {
            target: c,
            count: Some(9),
            statement: None,
            reason: "r".into(),
        });
        let (ok, reads) = log.reads_during(|| log.state.admit(&content, &log));
        ok.unwrap();
        // The claim (as target and to value it); figures above are in the DAG.
        assert!(reads <= 3, "{reads} reads");
        log.correct(c, 9).unwrap();
        assert_eq!(
            log.state
                .value_at(f, log.state.size, 0, &log)
                .unwrap()
                .value,
            9
        );
    }

    #[test]
    fn retracted_before_reads_at_most_the_last_two_amendments() {
        let mut log = Log::new();
        let c = log.claim(1);
        for k in 0..50 {
            log.correct(c, k).unwrap();
        }
        let r = log.retract(c);
        let n = log.state.size;
        let (got, reads) = log.reads_during(|| log.state.retracted_before(c, n, &log).unwrap());
        assert_eq!((got, reads), (Some(r), 1));
        let (got, reads) = log.reads_during(|| log.state.retracted_before(c, r, &log).unwrap());
        assert_eq!((got, reads), (None, 1));
        let (v, reads) = log.reads_during(|| log.state.value_at(c, r, 0, &log).unwrap());
        assert_eq!((v.value, v.changed_by.len()), (49, 50));
        assert!(reads <= 2, "{reads} reads");
    }

    #[test]
    fn the_dag_kept_by_apply_is_the_dag_read_from_the_log() {
        let mut log = Log::new();
        let (a, b, c) = (log.claim(1), log.claim(2), log.claim(3));
        let f = log.figure(3, &[a, b]).unwrap();
        let g = log.figure(6, &[f, c]).unwrap();
        log.correct(a, 10).unwrap();
        let h = log.figure(12, &[b, a]).unwrap();
        log.retract(f);
        log.correct(b, 7).unwrap();
        log.retract(c);
        let kept = log.state.figure_dag.clone().unwrap();
        assert_eq!(kept, FigureDag::build(&log.state, &log).unwrap());
        assert_eq!(kept.value(g), Some(0));
        assert_eq!(kept.value(h), Some(17));
        assert_eq!(kept.value(f), None);
        assert_eq!(kept.live_above(b), vec![h]);
    }

    #[test]
    fn apply_without_admission_drops_the_dag_and_the_next_admission_reads_it_again() {
        let mut log = Log::new();
        let (a, b) = (log.claim(1), log.claim(2));
        let f = log.figure(3, &[a, b]).unwrap();
        // A correction applied without being admitted first: apply cannot know a's old value.
        let (content, entry) = log.content(Body::Correction {
            target: a,
            count: Some(5),
            statement: None,
            reason: "r".into(),
        });
        log.state
            .apply(&content, Digest::leaf(&entry.to_bytes().unwrap()));
        log.entries.push(entry);
        assert!(log.state.figure_dag.is_none());
        // Still refused where it must be, and the DAG is back after the next entry.
        let err = log.correct(a, u64::MAX).unwrap_err().to_string();
        assert!(
            err.contains(&format!("would take figure {f} past")),
            "{err}"
        );
        log.claim(1);
        assert_eq!(log.state.figure_dag.as_ref().unwrap().value(f), Some(7));
        assert_eq!(
            log.state.figure_dag,
            Some(FigureDag::build(&log.state, &log).unwrap())
        );
    }
}
