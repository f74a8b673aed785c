//! Property tests: the checkpoint, vkey and tlog-proof parsers never panic, on random
//! bytes or on valid inputs with a byte changed, and mutated inputs never verify.

use custody_core::checkpoint;
use proptest::prelude::*;

const VKEY: &str =
    "example.com/evidence-ledger-test+0051744f+AczXONUCJ9wNmQ2x5/usUQuQRlvVihJCqsjrYJK42AOl";

fn tlog_proof() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/example.tlog-proof"
    ))
    .unwrap()
}

/// The signed checkpoint inside the example proof.
fn note() -> Vec<u8> {
    let p = checkpoint::parse_tlog_proof(&tlog_proof()).unwrap();
    p.checkpoint_note.into_bytes()
}

fn mutate(mut v: Vec<u8>, at: prop::sample::Index, byte: u8, truncate: bool) -> Vec<u8> {
    let i = at.index(v.len());
    if truncate {
        v.truncate(i);
    } else {
        v[i] = byte;
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let ver = checkpoint::parse_vkey(VKEY).unwrap();
        let _ = checkpoint::parse_tlog_proof(&bytes);
        let _ = checkpoint::open(&bytes, &ver);
        let _ = checkpoint::parse_vkey(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn mutated_checkpoint_never_verifies(at in any::<prop::sample::Index>(), byte in any::<u8>(), truncate in any::<bool>()) {
        let ver = checkpoint::parse_vkey(VKEY).unwrap();
        let good = note();
        let bad = mutate(good.clone(), at, byte, truncate);
        let got = checkpoint::open(&bad, &ver);
        if bad != good {
            // Only the witness cosignature line is outside the log's signature; a change
            // there may still open, but then the origin, size and root are unchanged.
            if let Ok(cp) = got {
                let want = checkpoint::open(&good, &ver).unwrap();
                prop_assert_eq!((cp.origin(), cp.size(), cp.root()), (want.origin(), want.size(), want.root()));
            }
        }
    }

    #[test]
    fn mutated_tlog_proof_never_panics(at in any::<prop::sample::Index>(), byte in any::<u8>(), truncate in any::<bool>()) {
        let bad = mutate(tlog_proof(), at, byte, truncate);
        if let Ok(p) = checkpoint::parse_tlog_proof(&bad) {
            // Whatever parses re-encodes to the same bytes: the format is canonical.
            prop_assert_eq!(p.to_text().into_bytes(), bad);
        }
    }

    #[test]
    fn mutated_vkey_never_panics(at in any::<prop::sample::Index>(), byte in any::<u8>(), truncate in any::<bool>()) {
        let bad = mutate(VKEY.as_bytes().to_vec(), at, byte, truncate);
        if let Ok(s) = String::from_utf8(bad) {
            if let Ok(v) = checkpoint::parse_vkey(&s) {
                prop_assert_eq!(v.to_vkey(), s);
            }
        }
    }
}
