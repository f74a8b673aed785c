//! Figures as a DAG: the counted-once rule, no overflow ever, and valuation linear in the DAG.
//!
//! Every log here is built in memory through the library (`sign_submission`, `LogState::admit`,
//! `LogState::apply`), and every value the library computes (`LogState::value_at`,
//! `explain::standing`, `explain::tree`) is compared with [`reference`], a naive evaluator
//! written straight from the definitions in docs/FORMAT.md: it reads the entries themselves,
//! rescans the whole log at every step and memoises nothing. It is slow, and obviously right.

use custody_core::entry::{Body, Entry, Qualifier, Role, SourceKind};
use custody_core::explain::{self, TreeNode};
use custody_core::hash::Digest;
use custody_core::keys::SecretKey;
use custody_core::replay::Replay;
use custody_core::rules::{EntryLookup, LogState, LookupError, RuleError, MAX_FIGURE_DEPTH};
use custody_core::sign::sign_submission;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

const ORIGIN: &str = "example.org/figure-dag";
const TIME: i64 = 1_760_486_400;
const MAX: u64 = u64::MAX;

/// A log in memory: 0 genesis, 1 researcher grant, 2 source; then whatever a test adds.
struct Log {
    state: LogState,
    entries: Vec<Entry>,
    researcher: SecretKey,
}

impl EntryLookup for Log {
    fn entry(&self, index: u64) -> Result<Entry, LookupError> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.entries.get(i).cloned())
            .ok_or(LookupError::Missing {
                index,
                reason: "is not in this test log".into(),
            })
    }
}

fn claim_body(count: Option<u64>) -> Body {
    Body::Claim {
        statement: "people were returned".into(),
        count,
        unit: "people".into(),
        category: "forced-repatriation".into(),
        period: "2024".into(),
        place: String::new(),
        cites: vec![2],
    }
}

fn figure_body(value: u64, terms: &[u64]) -> Body {
    Body::Figure {
        label: "returned".into(),
        value,
        qualifier: Qualifier::AtLeast,
        unit: "people".into(),
        terms: terms.to_vec(),
    }
}

fn correction_body(target: u64, count: u64) -> Body {
    Body::Correction {
        target,
        count: Some(count),
        statement: None,
        reason: "recounted".into(),
    }
}

fn retraction_body(target: u64) -> Body {
    Body::Retraction {
        target,
        reason: "unsupported".into(),
    }
}

impl Log {
    fn new() -> Log {
        let operator = SecretKey::from_seed("operator", &[1u8; 32]);
        let researcher = SecretKey::from_seed("researcher", &[2u8; 32]);
        let mut log = Log {
            state: LogState::default(),
            entries: Vec::new(),
            researcher,
        };
        let genesis = Body::Genesis {
            operator: operator.public().bytes(),
            name: "operator".into(),
        };
        let grant = Body::KeyGrant {
            key: log.researcher.public().bytes(),
            name: "researcher".into(),
            role: Role::Researcher,
        };
        log.push_as(&operator, genesis).unwrap();
        log.push_as(&operator, grant).unwrap();
        log.push(Body::Source {
            sha256: Digest::of(b"report"),
            size: 6,
            title: "Report".into(),
            publisher: "NGO".into(),
            date: "2025".into(),
            kind: SourceKind::NgoReport,
            locator: None,
        })
        .unwrap();
        log
    }

    fn size(&self) -> u64 {
        self.state.size
    }

    /// Signs `body` as the next entry; it is not admitted or recorded.
    fn sign(&self, key: &SecretKey, body: Body) -> Entry {
        sign_submission(key, ORIGIN, TIME, body)
            .unwrap()
            .into_entry(self.state.size, self.state.head)
    }

    fn push_as(&mut self, key: &SecretKey, body: Body) -> Result<u64, RuleError> {
        let entry = self.sign(key, body);
        self.record(entry)
    }

    /// Admits and records a signed entry.
    fn record(&mut self, entry: Entry) -> Result<u64, RuleError> {
        self.state.admit(&entry.content, self)?;
        let leaf = Digest::leaf(&entry.to_bytes().unwrap());
        self.state.apply(&entry.content, leaf);
        self.entries.push(entry);
        Ok(self.state.size - 1)
    }

    /// Admits and records `body`, signed by the researcher; its index, or why it was refused.
    fn push(&mut self, body: Body) -> Result<u64, RuleError> {
        let entry = self.sign(&self.researcher, body);
        self.record(entry)
    }

    /// Whether `body` would be admitted as the next entry (nothing is recorded).
    fn admit(&self, body: Body) -> Result<(), RuleError> {
        let entry = self.sign(&self.researcher, body);
        self.state.admit(&entry.content, self)
    }

    fn claim(&mut self, count: u64) -> u64 {
        self.push(claim_body(Some(count))).unwrap()
    }

    /// A figure over `terms` with the value the reference gives them now.
    fn figure(&mut self, terms: &[u64]) -> Result<u64, RuleError> {
        let value = reference::sum(&self.entries, terms, self.size()).unwrap_or(0);
        self.push(figure_body(value, terms))
    }

    fn correct(&mut self, target: u64, count: u64) -> Result<u64, RuleError> {
        self.push(correction_body(target, count))
    }

    fn retract(&mut self, target: u64) -> Result<u64, RuleError> {
        self.push(retraction_body(target))
    }

    fn value(&self, index: u64) -> u64 {
        self.state
            .value_at(index, self.size(), MAX, self)
            .unwrap()
            .value
    }
}

/// Values from the definitions of docs/FORMAT.md ("Values"), on the entries themselves.
mod reference {
    use super::{Body, Entry};
    use std::collections::{BTreeMap, BTreeSet};

    fn body(entries: &[Entry], i: u64) -> &Body {
        &entries[usize::try_from(i).unwrap()].content.body
    }

    /// The entries before `at`.
    fn before(entries: &[Entry], at: u64) -> &[Entry] {
        &entries[..usize::try_from(at).unwrap().min(entries.len())]
    }

    /// The retraction of `i` before entry `at`, if any.
    pub fn retracted(entries: &[Entry], i: u64, at: u64) -> Option<u64> {
        before(entries, at)
            .iter()
            .find_map(|e| match e.content.body {
                Body::Retraction { target, .. } if target == i => Some(e.index),
                _ => None,
            })
    }

    /// Why something has no value.
    #[derive(Debug, PartialEq, Eq)]
    pub enum NoValue {
        Overflow,
        NoCount,
    }

    /// The value of claim or figure `i` just before entry `at`.
    pub fn value(entries: &[Entry], i: u64, at: u64) -> Result<u64, NoValue> {
        if retracted(entries, i, at).is_some() {
            return Ok(0);
        }
        match body(entries, i) {
            Body::Claim { count, .. } => {
                let mut count = *count;
                for e in before(entries, at) {
                    if let Body::Correction {
                        target,
                        count: Some(c),
                        ..
                    } = e.content.body
                    {
                        if target == i {
                            count = Some(c);
                        }
                    }
                }
                count.ok_or(NoValue::NoCount)
            }
            Body::Figure { terms, .. } => sum(entries, terms, at),
            other => panic!("entry {i} is a {}", other.kind()),
        }
    }

    /// The checked sum of the terms' values just before `at`.
    pub fn sum(entries: &[Entry], terms: &[u64], at: u64) -> Result<u64, NoValue> {
        let mut s: u64 = 0;
        for &t in terms {
            s = s
                .checked_add(value(entries, t, at)?)
                .ok_or(NoValue::Overflow)?;
        }
        Ok(s)
    }

    /// The longest chain of terms beneath `i` (0 for a claim).
    pub fn height(entries: &[Entry], i: u64) -> usize {
        match body(entries, i) {
            Body::Figure { terms, .. } => {
                1 + terms.iter().map(|&t| height(entries, t)).max().unwrap_or(0)
            }
            _ => 0,
        }
    }

    /// `i` and every entry beneath it through figures' terms.
    pub fn beneath(entries: &[Entry], i: u64, out: &mut BTreeSet<u64>) {
        if !out.insert(i) {
            return;
        }
        if let Body::Figure { terms, .. } = body(entries, i) {
            for &t in terms {
                beneath(entries, t, out);
            }
        }
    }

    /// Corrections and retractions after `since` and before `at` of anything beneath `i`.
    pub fn changed(entries: &[Entry], i: u64, at: u64, since: u64) -> Vec<u64> {
        let mut under = BTreeSet::new();
        beneath(entries, i, &mut under);
        before(entries, at)
            .iter()
            .filter(|e| e.index > since)
            .filter(|e| match e.content.body {
                Body::Correction { target, .. } | Body::Retraction { target, .. } => {
                    under.contains(&target)
                }
                _ => false,
            })
            .map(|e| e.index)
            .collect()
    }

    /// For each claim, how many paths reach it from `terms` through entries not retracted
    /// before `at`: every path, enumerated one by one.
    pub fn paths(entries: &[Entry], terms: &[u64], at: u64) -> BTreeMap<u64, usize> {
        fn walk(entries: &[Entry], i: u64, at: u64, out: &mut BTreeMap<u64, usize>) {
            if retracted(entries, i, at).is_some() {
                return;
            }
            match body(entries, i) {
                Body::Claim { .. } => *out.entry(i).or_default() += 1,
                Body::Figure { terms, .. } => {
                    for &t in terms {
                        walk(entries, t, at, out);
                    }
                }
                _ => {}
            }
        }
        let mut out = BTreeMap::new();
        for &t in terms {
            walk(entries, t, at, &mut out);
        }
        out
    }

    /// The claims `terms` would count more than once.
    pub fn twice(entries: &[Entry], terms: &[u64], at: u64) -> BTreeSet<u64> {
        paths(entries, terms, at)
            .into_iter()
            .filter(|&(_, n)| n > 1)
            .map(|(c, _)| c)
            .collect()
    }
}

/// Every value the library gives for entry `i` (a claim or figure) agrees with the reference:
/// `value_at` at each point of `points` (and the changes since several points), `standing`
/// as of each point, and for a figure every node of `tree`.
fn check_against_reference(log: &Log, i: u64, points: &[u64]) {
    let e = &log.entries;
    let len = log.size();
    for &at in points {
        assert!(at > i && at <= len);
        for since in [0, i, (i + at) / 2, at.saturating_sub(2), MAX] {
            let got = log.state.value_at(i, at, since, log);
            match reference::value(e, i, at) {
                Ok(v) => {
                    let got = got.unwrap_or_else(|err| panic!("value_at({i}, {at}): {err}"));
                    assert_eq!(got.value, v, "value of {i} before {at}");
                    let since_ok = if since == MAX { at } else { since };
                    assert_eq!(
                        got.changed_by,
                        reference::changed(e, i, at, since_ok),
                        "changes beneath {i} in ({since}, {at})"
                    );
                }
                Err(reference::NoValue::NoCount) => {
                    assert!(got.is_err(), "claim {i} has no count before {at}");
                }
                Err(reference::NoValue::Overflow) => panic!("the log holds an overflow at {i}"),
            }
        }
        let st = explain::standing(&log.state, log, i, at)
            .unwrap_or_else(|err| panic!("standing({i}, {at}): {err}"))
            .expect("a claim or figure");
        assert_eq!(st.retracted_at, reference::retracted(e, i, at));
        match &e[i as usize].content.body {
            Body::Figure { value, terms, .. } => {
                assert_eq!(st.published, Some(*value));
                let tv: Vec<(u64, u64)> = st.terms.iter().map(|t| (t.entry, t.value)).collect();
                let want: Vec<(u64, u64)> = terms
                    .iter()
                    .map(|&t| (t, reference::value(e, t, i).unwrap()))
                    .collect();
                assert_eq!(tv, want, "terms of figure {i} when signed");
                assert_eq!(st.current, reference::value(e, i, at).ok());
                assert_eq!(st.changed_by, reference::changed(e, i, at, i));
            }
            Body::Claim { count, .. } => {
                assert_eq!(st.published, *count);
                if count.is_some() {
                    assert_eq!(st.current, reference::value(e, i, at).ok());
                    assert_eq!(st.changed_by, reference::changed(e, i, at, i));
                }
            }
            _ => unreachable!(),
        }
    }
    if matches!(e[i as usize].content.body, Body::Figure { .. }) {
        let tree = explain::tree(&log.state, log, i, len).unwrap();
        check_tree(log, &tree, len.max(i + 1));
    }
}

/// Each node of a tree holds its value as when its parent figure was signed.
fn check_tree(log: &Log, node: &TreeNode, at: u64) {
    if let Some(v) = node.value {
        assert_eq!(Ok(v), reference::value(&log.entries, node.index, at));
    }
    if let Body::Figure { .. } = node.entry.content.body {
        for c in &node.children {
            check_tree(log, c, node.index);
        }
    }
}

/// The claim a "counted twice" refusal names.
fn named_claim(err: &str) -> u64 {
    let rest = err
        .strip_prefix("claim ")
        .unwrap_or_else(|| panic!("not a counted-twice error: {err}"));
    rest.split(' ').next().unwrap().parse().unwrap()
}

// ---------------------------------------------------------------------------------------------
// (a) A random DAG against the reference.

#[derive(Clone, Debug)]
enum Op {
    Claim(Option<u64>),
    Figure(Vec<prop::sample::Index>),
    Correct(prop::sample::Index, u64),
    Retract(prop::sample::Index),
}

fn count() -> impl Strategy<Value = u64> {
    prop_oneof![
        6 => 0u64..1000,
        2 => (MAX - 2000)..=MAX,
        2 => (MAX / 2 - 1000)..(MAX / 2 + 1000),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => count().prop_map(|c| Op::Claim(Some(c))),
        1 => Just(Op::Claim(None)),
        4 => prop::collection::vec(any::<prop::sample::Index>(), 1..5).prop_map(Op::Figure),
        3 => (any::<prop::sample::Index>(), count()).prop_map(|(t, c)| Op::Correct(t, c)),
        1 => any::<prop::sample::Index>().prop_map(Op::Retract),
    ]
}

impl Log {
    fn unretracted(&self, pred: impl Fn(&Body) -> bool) -> Vec<u64> {
        let at = self.size();
        self.entries
            .iter()
            .filter(|e| pred(&e.content.body))
            .map(|e| e.index)
            .filter(|&i| reference::retracted(&self.entries, i, at).is_none())
            .collect()
    }

    /// Claims with a count now, and figures, none retracted: what a figure may sum.
    fn summable(&self) -> Vec<u64> {
        let at = self.size();
        self.unretracted(|b| matches!(b, Body::Claim { .. } | Body::Figure { .. }))
            .into_iter()
            .filter(|&i| reference::value(&self.entries, i, at).is_ok())
            .collect()
    }

    /// Runs one operation, checking that admission decides exactly as the rules say.
    fn run(&mut self, op: &Op) {
        let at = self.size();
        match op {
            Op::Claim(c) => {
                self.push(claim_body(*c)).unwrap();
            }
            Op::Figure(picks) => {
                let pool = self.summable();
                if pool.is_empty() {
                    return;
                }
                let mut terms: Vec<u64> = Vec::new();
                for p in picks {
                    let t = *p.get(&pool);
                    if !terms.contains(&t) {
                        terms.push(t);
                    }
                }
                if terms
                    .iter()
                    .any(|&t| reference::height(&self.entries, t) >= 60)
                {
                    return;
                }
                let twice = reference::twice(&self.entries, &terms, at);
                if !twice.is_empty() {
                    let value = reference::sum(&self.entries, &terms, at).unwrap_or(0);
                    let err = self
                        .admit(figure_body(value, &terms))
                        .unwrap_err()
                        .to_string();
                    assert!(err.contains("would be counted twice"), "{err}");
                    assert!(
                        twice.contains(&named_claim(&err)),
                        "{err} (twice: {twice:?})"
                    );
                    // Keep the terms that stay counted once.
                    let mut kept: Vec<u64> = Vec::new();
                    for &t in &terms {
                        kept.push(t);
                        if !reference::twice(&self.entries, &kept, at).is_empty() {
                            kept.pop();
                        }
                    }
                    terms = kept;
                }
                match reference::sum(&self.entries, &terms, at) {
                    Ok(value) => {
                        self.push(figure_body(value, &terms))
                            .unwrap_or_else(|e| panic!("figure {terms:?} = {value}: {e}"));
                    }
                    Err(_) => {
                        let err = self.admit(figure_body(0, &terms)).unwrap_err().to_string();
                        assert!(
                            err.starts_with(&format!("figure {at} would exceed u64::MAX")),
                            "{err}"
                        );
                    }
                }
            }
            Op::Correct(pick, count) => {
                let pool = self.unretracted(|b| matches!(b, Body::Claim { .. }));
                if pool.is_empty() {
                    return;
                }
                let target = *pick.get(&pool);
                let body = correction_body(target, *count);
                // Every figure's value on the log with the correction, by the reference.
                let mut after = self.entries.clone();
                after.push(self.sign(&self.researcher, body.clone()));
                let over: Vec<u64> = self
                    .unretracted(|b| matches!(b, Body::Figure { .. }))
                    .into_iter()
                    .filter(|&f| reference::value(&after, f, at + 1).is_err())
                    .collect();
                match over.first() {
                    None => {
                        self.push(body)
                            .unwrap_or_else(|e| panic!("correction of {target}: {e}"));
                    }
                    Some(&f) => {
                        let err = self.admit(body).unwrap_err().to_string();
                        let want =
                            format!("correcting claim {target} to {count} would take figure {f}");
                        assert!(err.starts_with(&want), "{err}\nwanted: {want}");
                    }
                }
            }
            Op::Retract(pick) => {
                let pool =
                    self.unretracted(|b| matches!(b, Body::Claim { .. } | Body::Figure { .. }));
                if !pool.is_empty() {
                    self.push(retraction_body(*pick.get(&pool))).unwrap();
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn values_of_a_random_dag_equal_the_reference(
        ops in prop::collection::vec(op(), 1..70),
        points in prop::collection::vec(any::<prop::sample::Index>(), 3),
    ) {
        let mut log = Log::new();
        for op in &ops {
            log.run(op);
        }
        let len = log.size();
        for i in 3..len {
            if !matches!(
                log.entries[i as usize].content.body,
                Body::Claim { .. } | Body::Figure { .. }
            ) {
                continue;
            }
            let span: Vec<u64> = ((i + 1)..=len).collect();
            let mut at: Vec<u64> = points.iter().map(|p| *p.get(&span)).collect();
            at.extend([i + 1, len]);
            at.sort_unstable();
            at.dedup();
            check_against_reference(&log, i, &at);
        }
        // The rules state survives its cache (state.json), and one without the figures' DAG
        // (a cache written before it existed) decides the same and heals on the next entry.
        let json = serde_json::to_value(&log.state).unwrap();
        let back: LogState = serde_json::from_value(json.clone()).unwrap();
        prop_assert_eq!(&back, &log.state);
        let mut old = json;
        old.as_object_mut().unwrap().remove("figure_dag");
        let mut old: LogState = serde_json::from_value(old).unwrap();
        prop_assert_ne!(&old, &log.state);
        let next = log.sign(&log.researcher, claim_body(Some(1)));
        old.admit(&next.content, &log).unwrap();
        log.state.admit(&next.content, &log).unwrap();
        let leaf = Digest::leaf(&next.to_bytes().unwrap());
        old.apply(&next.content, leaf);
        log.state.apply(&next.content, leaf);
        prop_assert_eq!(&old, &log.state);
    }
}

// ---------------------------------------------------------------------------------------------
// (b) Double counting through nesting.

#[test]
fn a_claim_counted_again_through_a_nested_figure_is_refused() {
    let mut log = Log::new();
    for c in [10, 20, 30, 40, 50] {
        log.claim(c); // entries 3 to 7
    }
    assert_eq!(log.figure(&[6, 7]).unwrap(), 8);
    // Claim 6 directly, and again inside figure 8.
    let err = log
        .admit(figure_body(130, &[6, 8]))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "claim 6 would be counted twice: through term 6 and through term 8 (8 > 6); a figure \
         may count each claim at most once, directly or through one of the figures it sums"
    );
    // The same the other way round, and deeper.
    let err = log
        .admit(figure_body(130, &[8, 6]))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "claim 6 would be counted twice: through term 8 (8 > 6) and through term 6;"
        ),
        "{err}"
    );
    assert_eq!(log.figure(&[5, 8]).unwrap(), 9);
    let err = log
        .admit(figure_body(0, &[3, 9, 7]))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "claim 7 would be counted twice: through term 9 (9 > 8 > 7) and through term 7;"
        ),
        "{err}"
    );
    // Two figures sharing a subfigure: the first claim beneath it is named, with both paths.
    assert_eq!(log.figure(&[8, 3]).unwrap(), 10);
    assert_eq!(log.figure(&[8, 4]).unwrap(), 11);
    let err = log
        .admit(figure_body(0, &[10, 11]))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "claim 6 would be counted twice: through term 10 (10 > 8 > 6) and through term 11 \
             (11 > 8 > 6);"
        ),
        "{err}"
    );
    // A direct repeat keeps its own message.
    let err = log.admit(figure_body(60, &[6, 6])).unwrap_err().to_string();
    assert_eq!(err, "term 6 appears twice");
    // Disjoint terms are admitted: 9 holds 5, 6, 7; 3 and 4 are fresh.
    assert_eq!(log.figure(&[9, 3, 4]).unwrap(), 12);
    assert_eq!(log.value(12), 30 + 40 + 50 + 10 + 20);
}

#[test]
fn what_lies_beneath_only_through_a_retraction_is_not_counted() {
    let mut log = Log::new();
    let (a, b, c) = (log.claim(10), log.claim(20), log.claim(30));
    let inner = log.figure(&[a, b]).unwrap();
    let outer = log.figure(&[inner, c]).unwrap();
    // Claim a under outer only through inner: refused while inner stands ...
    let err = log
        .admit(figure_body(0, &[outer, a]))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("claim {a} would be counted twice")),
        "{err}"
    );
    // ... admitted once inner is retracted (it counts 0 for ever, so a is counted once).
    log.retract(inner).unwrap();
    assert_eq!(log.value(outer), 30);
    let f = log.figure(&[outer, a]).unwrap();
    assert_eq!(log.value(f), 30 + 10);
    // A correction of a moves f by exactly its change, and only through the live path.
    log.correct(a, 15).unwrap();
    assert_eq!(log.value(f), 30 + 15);
    assert_eq!(log.value(outer), 30);
    // Every value agrees with the reference at every point.
    for i in [a, b, c, inner, outer, f] {
        let points: Vec<u64> = ((i + 1)..=log.size()).collect();
        check_against_reference(&log, i, &points);
    }
}

// ---------------------------------------------------------------------------------------------
// (c) No overflow, ever.

#[test]
fn a_correction_that_would_overflow_a_figure_above_is_refused_naming_it() {
    let mut log = Log::new();
    let (a, b, c) = (log.claim(10), log.claim(20), log.claim(5));
    let f = log.figure(&[a, b]).unwrap();
    let err = log.correct(a, MAX).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "correcting claim {a} to {MAX} would take figure {f} past u64::MAX ({MAX}): figure \
             {f} is 30 now, 10 of it from claim {a}"
        )
    );
    // Up to u64::MAX exactly is fine; one more is not.
    log.correct(a, MAX - 20).unwrap();
    assert_eq!(log.value(f), MAX);
    let g = log.figure(&[f]).unwrap();
    assert_eq!(log.value(g), MAX);
    let err = log.correct(b, 21).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "correcting claim {b} to 21 would take figure {f} (and 1 other figure above it) past \
             u64::MAX ({MAX}): figure {f} is {MAX} now, 20 of it from claim {b}"
        )
    );
    // Lowering is always fine; a claim under no figure may take any count.
    log.correct(b, 0).unwrap();
    assert_eq!(log.value(g), MAX - 20);
    log.correct(c, MAX).unwrap();
    // A figure whose terms sum past u64::MAX is refused, naming the figure it would be.
    let next = log.size();
    let err = log.admit(figure_body(0, &[g, c])).unwrap_err().to_string();
    assert_eq!(
        err,
        format!("figure {next} would exceed u64::MAX ({MAX}): its terms sum to more than that")
    );
    // A retracted figure no longer rises: correcting beneath it is fine again.
    log.retract(g).unwrap();
    let err = log.correct(b, 21).unwrap_err().to_string();
    assert!(
        err.contains(&format!("would take figure {f} past")),
        "{err}"
    );
    log.retract(f).unwrap();
    log.correct(b, 21).unwrap();
}

#[test]
fn a_verifier_that_meets_an_overflow_fails_at_that_entry() {
    // The log an old custody admitted: a figure, then a correction to u64::MAX beneath it.
    let mut log = Log::new();
    let (a, b) = (log.claim(10), log.claim(20));
    let f = log.figure(&[a, b]).unwrap();
    let bad = log.sign(&log.researcher, correction_body(a, MAX));
    let bad_index = bad.index;
    log.entries.push(bad);
    // Replaying it from its bytes, as `verify` and a bundle's check do, stops at the correction.
    let mut replay = Replay::new(BTreeSet::new());
    let mut seen = Log::new();
    seen.entries.clear();
    for e in &log.entries {
        let bytes = e.to_bytes().unwrap();
        match replay.push(&bytes, Digest::leaf(&bytes), &seen) {
            Ok(p) => assert!(p.verifies()),
            Err(err) => {
                assert_eq!(e.index, bad_index);
                assert!(
                    err.to_string().starts_with(&format!(
                        "correcting claim {a} to {MAX} would take figure {f} past u64::MAX"
                    )),
                    "{err}"
                );
                return;
            }
        }
        seen.entries.push(e.clone());
    }
    panic!("the overflowing correction was admitted");
}

// ---------------------------------------------------------------------------------------------
// (d) Cost: shapes that are admissible and were exponential, deep, or wide.

/// The old valuation, kept to measure it: no memo, every amendment of a claim rescanned at
/// every visit, a figure's terms valued before its own retraction is looked at.
fn old_value(log: &Log, i: u64, at: u64) -> u64 {
    let e = log.entry(i).unwrap();
    let amends: Vec<u64> = log
        .state
        .amendments_of(i)
        .iter()
        .copied()
        .filter(|&a| a < at)
        .collect();
    let retracted = amends
        .iter()
        .any(|&a| matches!(log.entry(a).unwrap().content.body, Body::Retraction { .. }));
    match e.content.body {
        Body::Claim { count, .. } => {
            let mut current = count;
            for &a in &amends {
                if let Body::Correction { count: Some(c), .. } = log.entry(a).unwrap().content.body
                {
                    current = Some(c);
                }
            }
            if retracted {
                0
            } else {
                current.unwrap()
            }
        }
        Body::Figure { terms, .. } => {
            let sum: u64 = terms.iter().map(|&t| old_value(log, t, at)).sum();
            if retracted {
                0
            } else {
                sum
            }
        }
        _ => unreachable!(),
    }
}

#[test]
fn a_fibonacci_dag_over_retracted_claims_is_admissible_and_valued_in_linear_time() {
    // Each figure sums the two before it. That counts the one two back twice unless nothing
    // beneath it still counts, so the claims at the bottom are retracted first: admissible,
    // valued 0, and exponential for a valuation without memo (fib(64) visits).
    let mut log = Log::new();
    let (x, y) = (log.claim(3), log.claim(4));
    let mut g = vec![log.figure(&[x]).unwrap()];
    g.push(log.figure(&[g[0], y]).unwrap());
    // While x stands, summing g1 (which holds g0) and g0 again counts x twice.
    let err = log
        .admit(figure_body(0, &[g[1], g[0]]))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("claim {x} would be counted twice")),
        "{err}"
    );
    log.retract(x).unwrap();
    log.retract(y).unwrap();
    while g.len() < MAX_FIGURE_DEPTH {
        // (`Log::figure` would ask the reference for the sum: fib(n) steps.)
        let n = g.len();
        g.push(log.push(figure_body(0, &[g[n - 1], g[n - 2]])).unwrap());
    }
    let top = *g.last().unwrap();
    // (The reference's height would itself take fib(64) steps here.)
    let reach = |f: u64| {
        let mut under = BTreeSet::new();
        reference::beneath(&log.entries, f, &mut under);
        under.len()
    };
    assert_eq!(reach(g[10]), 13);
    // One more level would nest 65 deep.
    let err = log
        .admit(figure_body(0, &[top, g[g.len() - 2]]))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!("figures nest more than 64 deep: term {top} already nests 64 deep")
    );
    let t = Instant::now();
    for &f in &g {
        let s = explain::figure_standing(&log.state, &log, f, log.size())
            .unwrap()
            .unwrap();
        assert_eq!(s.standing.current, Some(0));
        assert_eq!(
            s.standing.published,
            Some(if f == g[0] {
                3
            } else if f == g[1] {
                7
            } else {
                0
            })
        );
        explain::tree(&log.state, &log, f, log.size()).unwrap();
    }
    let new = t.elapsed();
    // The old valuation on the same figures, as deep as it stays tolerable.
    let mut report = format!(
        "fibonacci DAG, {} figures, 64 deep: standing and tree of every figure in {new:?}; old \
         valuation of one figure:",
        g.len()
    );
    for depth in [18usize, 22, 26] {
        let t = Instant::now();
        assert_eq!(old_value(&log, g[depth - 1], log.size()), 0);
        report.push_str(&format!(" {depth} deep {:?};", t.elapsed()));
    }
    eprintln!("{report}");
}

#[test]
fn a_chain_of_64_figures_each_adding_a_fresh_claim_counts_each_once() {
    let mut log = Log::new();
    let first = log.claim(1);
    let mut f = log.figure(&[first]).unwrap();
    let mut claims = vec![first];
    for k in 2..=MAX_FIGURE_DEPTH as u64 {
        let c = log.claim(k);
        claims.push(c);
        f = log.figure(&[f, c]).unwrap();
    }
    let want: u64 = (1..=MAX_FIGURE_DEPTH as u64).sum();
    assert_eq!(log.value(f), want);
    // Correct the deepest claim: every one of the 64 figures above it moves.
    log.correct(first, 1001).unwrap();
    assert_eq!(log.value(f), want + 1000);
    let err = log.correct(claims[5], MAX).unwrap_err().to_string();
    assert!(err.contains("(and 58 other figures above it)"), "{err}");
    let points = [f + 1, log.size()];
    check_against_reference(&log, f, &points);
}

/// The deep and wide DAG: 100 chains of 64 figures, each adding a fresh claim to the one before,
/// plus 3,600 figures summing two figures of different chains and a fresh claim (10,000
/// figures), then 100,000 corrections and retractions. Every figure's standing is computed
/// and compared with a naive evaluator that indexes amendments by target but memoises nothing.
#[test]
fn ten_thousand_figures_and_a_hundred_thousand_amendments() {
    const CHAINS: usize = 100;
    const CROSS: usize = 3_600;
    const AMENDMENTS: usize = 100_000;
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move |n: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        usize::try_from(rng % n as u64).unwrap()
    };
    let t = Instant::now();
    let mut log = Log::new();
    let mut claims = Vec::new();
    let mut chains: Vec<Vec<u64>> = Vec::new();
    let mut values: HashMap<u64, u64> = HashMap::new();
    for _ in 0..CHAINS {
        let (a, b) = (log.claim(1), log.claim(2));
        claims.extend([a, b]);
        let mut prev = log.push(figure_body(3, &[a, b])).unwrap();
        values.insert(prev, 3);
        let mut chain = vec![prev];
        for _ in 1..MAX_FIGURE_DEPTH {
            let c = log.claim(1);
            claims.push(c);
            let v = values[&prev] + 1;
            prev = log.push(figure_body(v, &[prev, c])).unwrap();
            values.insert(prev, v);
            chain.push(prev);
        }
        chains.push(chain);
    }
    let mut figures: Vec<u64> = chains.iter().flatten().copied().collect();
    for _ in 0..CROSS {
        let a = next(CHAINS);
        let b = (a + 1 + next(CHAINS - 1)) % CHAINS;
        let (fa, fb) = (chains[a][next(62)], chains[b][next(62)]);
        let c = log.claim(5);
        claims.push(c);
        let v = values[&fa] + values[&fb] + 5;
        let f = log.push(figure_body(v, &[fa, fb, c])).unwrap();
        values.insert(f, v);
        figures.push(f);
    }
    assert_eq!(figures.len(), 10_000);
    let built_figures = t.elapsed();
    let t = Instant::now();
    let mut retracted = BTreeSet::new();
    for k in 0..AMENDMENTS {
        if k % 50 == 49 {
            // A retraction: of a claim, or now and then of a figure.
            let target = if k % 1000 == 999 {
                figures[next(figures.len())]
            } else {
                claims[next(claims.len())]
            };
            if retracted.insert(target) {
                log.retract(target).unwrap();
                continue;
            }
        }
        let mut target = claims[next(claims.len())];
        while retracted.contains(&target) {
            target = claims[next(claims.len())];
        }
        log.correct(target, next(1000) as u64).unwrap();
    }
    let built_amendments = t.elapsed();
    // The naive evaluator: the definition, with each target's amendments listed once.
    let mut amends: HashMap<u64, Vec<u64>> = HashMap::new();
    for e in &log.entries {
        if let Body::Correction { target, .. } | Body::Retraction { target, .. } = e.content.body {
            amends.entry(target).or_default().push(e.index);
        }
    }
    fn naive(log: &Log, amends: &HashMap<u64, Vec<u64>>, i: u64) -> u64 {
        let mine = amends.get(&i).map_or(&[][..], Vec::as_slice);
        let body = |a: u64| &log.entries[a as usize].content.body;
        if mine
            .iter()
            .any(|&a| matches!(body(a), Body::Retraction { .. }))
        {
            return 0;
        }
        match body(i) {
            Body::Claim { count, .. } => mine
                .iter()
                .rev()
                .find_map(|&a| match body(a) {
                    Body::Correction { count: Some(c), .. } => Some(*c),
                    _ => None,
                })
                .or(*count)
                .unwrap(),
            Body::Figure { terms, .. } => terms.iter().map(|&t| naive(log, amends, t)).sum(),
            _ => unreachable!(),
        }
    }
    let t = Instant::now();
    let mut standings = BTreeMap::new();
    for &f in &figures {
        let s = explain::figure_standing(&log.state, &log, f, log.size())
            .unwrap()
            .unwrap();
        standings.insert(f, s.standing.current);
    }
    let valued = t.elapsed();
    let t = Instant::now();
    for &f in &figures {
        assert_eq!(standings[&f], Some(naive(&log, &amends, f)), "figure {f}");
    }
    let naive_time = t.elapsed();
    // Old and new valuation on the same 1,000 figures: the value alone, as of today.
    let sample: Vec<u64> = figures.iter().copied().step_by(10).collect();
    let t = Instant::now();
    for &f in &sample {
        assert_eq!(Some(old_value(&log, f, log.size())), standings[&f]);
    }
    let old_time = t.elapsed();
    let t = Instant::now();
    for &f in &sample {
        assert_eq!(Some(log.value(f)), standings[&f]);
    }
    let new_time = t.elapsed();
    eprintln!(
        "{} entries: 10,000 figures admitted in {built_figures:?}, {AMENDMENTS} amendments in \
         {built_amendments:?}; standing of every figure in {valued:?} (naive evaluator: \
         {naive_time:?}); value of 1,000 figures: old {old_time:?}, new {new_time:?}",
        log.size()
    );
}
