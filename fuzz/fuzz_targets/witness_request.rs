//! The witness's whole decision on an arbitrary `add-checkpoint` body: `witness::check` under
//! the shared vectors' log key, then `witness::decide` against a stored state of tree size 6 of
//! the RFC 6962 eight-leaf tree. Never panics; anything it would cosign is signed by the log
//! key, names the stored size as `old`, and is consistent with the stored checkpoint (one root
//! per size: at size 6 only the stored root; at size 8 the one checkpoint the key signed).
#![no_main]

use custody_core::hash::Digest;
use custody_core::witness::{self, Cosigned, Logs};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const LOG_VKEY: &str =
    "example.com/evidence-ledger-test+0051744f+AczXONUCJ9wNmQ2x5/usUQuQRlvVihJCqsjrYJK42AOl";
const ROOT6: &str = "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef";
const ROOT8: &str = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328";
const TIME: u64 = 1_679_315_147;

fn logs() -> &'static Logs {
    static L: OnceLock<Logs> = OnceLock::new();
    L.get_or_init(|| Logs::parse(LOG_VKEY.as_bytes()).expect("the vector vkey parses"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(checked) = witness::check(logs(), data) else {
        return;
    };
    let last = Cosigned {
        size: 6,
        root: Digest::from_hex(ROOT6).unwrap(),
        time: TIME,
    };
    let (size, root, old) = (checked.size(), checked.root(), checked.old());
    let Ok(accepted) = witness::decide(checked, Some(&last), TIME + 1) else {
        return;
    };
    assert_eq!(old, 6);
    assert!(size >= 6);
    assert_eq!(accepted.next().size, size);
    assert_eq!(accepted.next().root, root);
    assert!(accepted.next().time >= last.time);
    if size == 6 {
        assert_eq!(root, last.root);
    }
    if size == 8 {
        assert_eq!(root, Digest::from_hex(ROOT8).unwrap());
    }
});
