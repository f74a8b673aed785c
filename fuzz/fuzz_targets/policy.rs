//! `Policy::parse` (witness policy files, docs/POLICY.md) on arbitrary bytes, then
//! `Policy::evaluate` and `Policy::check` of the cosigned checkpoint of the shared vectors under
//! whatever parsed: never panics, never slow (group nesting is bounded and evaluated once per
//! group); what parses is kept verbatim, within every bound, and a quorum it reports met is one
//! its own groups say is met.
#![no_main]

use custody_core::cosignature;
use custody_core::policy::{Policy, MAX_GROUPS, MAX_LOGS, MAX_POLICY_BYTES, MAX_WITNESSES};
use libfuzzer_sys::fuzz_target;

/// ../shared/vectors/checkpoint-cosignature-derived.json: a log-signed, witness-cosigned note.
const NOTE: &str = "example.com/evidence-ledger-test\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n— example.com/evidence-ledger-test AFF0T7fsNG7lCFYhTKfV2C2n+ilSAVKXsZpQxkbzSgJ91kqUpe9hmAFRtaWW0M8BJw5S1Q5fbeDClayhEkJDepZ6oAg=\n— example.com/test-witness a1GPOgAAAABkGFDLotr+ZqbGp8qQWq3tc5Ks1jcvTnnIa19D0BCHstAp+6DUrMa5EgADk3k0W9e277Zx9sLaL65F1IKHPtIbZiObCg==\n";

fuzz_target!(|data: &[u8]| {
    let Ok(p) = Policy::parse(data) else {
        return;
    };
    assert!(data.len() <= MAX_POLICY_BYTES);
    assert_eq!(p.text().as_bytes(), data, "the policy is kept verbatim");
    assert!((1..=MAX_LOGS).contains(&p.logs().len()));
    assert!(p.witnesses().len() <= MAX_WITNESSES);
    assert!(!p.quorum_name().is_empty());
    let note = cosignature::split_note(NOTE.as_bytes()).expect("the vector note splits");
    let e = p.evaluate(&note);
    assert_eq!(e.witnesses.len(), p.witnesses().len());
    assert!(e.groups.len() <= MAX_GROUPS);
    for (_, n, k, held) in &e.groups {
        assert_eq!(*held, n >= k);
    }
    if let Ok(w) = p.check(NOTE.as_bytes()) {
        assert!(w.evaluation().quorum_met);
        assert_eq!(w.checkpoint().size(), 8);
    }
});
