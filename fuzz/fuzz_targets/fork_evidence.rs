//! `fork::verify` (fork evidence files, docs/FORKS.md) on arbitrary bytes under the worked
//! example's log key: never panics; what it accepts is canonical, orders its checkpoints, and
//! calls two checkpoints of one size a fork exactly when their roots differ.
#![no_main]

use custody_core::checkpoint::{self, StrictVerifier};
use custody_core::fork::{self, Verdict, MAX_FORK_BYTES};
use custody_core::hash::Digest;
use custody_core::merkle::MAX_PROOF_LEN;
use ed25519_dalek::SigningKey;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The key of docs/CHECKPOINTS.md and docs/FORKS.md: SHA-256 of this text is the seed.
const SEED_TEXT: &str = "custody CHECKPOINTS.md example key v1";
const ORIGIN: &str = "example.org/custody-example";

fn trusted() -> &'static StrictVerifier {
    static V: OnceLock<StrictVerifier> = OnceLock::new();
    V.get_or_init(|| {
        let key = SigningKey::from_bytes(&Digest::of(SEED_TEXT.as_bytes()).0);
        let vkey = checkpoint::vkey(ORIGIN, &key.verifying_key()).expect("the example vkey");
        checkpoint::parse_vkey(&vkey).expect("the example vkey parses")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(c) = fork::verify(data, trusted()) else {
        return;
    };
    assert!(data.len() <= MAX_FORK_BYTES);
    assert!(c.a.size() <= c.b.size());
    assert!(c.proof_len <= MAX_PROOF_LEN);
    assert_eq!(c.sha256, Digest::of(data));
    if c.a.size() == c.b.size() {
        assert_eq!(c.proof_len, 0);
        assert_eq!(c.verdict == Verdict::Fork, c.a.root() != c.b.root());
    }
    assert_eq!(c.verdict == Verdict::Fork, c.prefix_root != c.a.root());
});
