//! `timestamp::verify` (TimeStampResp or bare token, CMS SignedData, TSTInfo, ESS attributes,
//! signatures, the certificate chain) on arbitrary bytes, over the sample checkpoint with the
//! test TSA's root: never panics, and anything it accepts stamps that checkpoint's log-signed
//! note and is signed by a certificate that chains to the root.
#![no_main]

use custody_core::checkpoint::StrictVerifier;
use custody_core::keys::PublicKey;
use custody_core::timestamp::{self, Certificate};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const NOTE: &[u8] = include_bytes!("../../tests/testdata/tsa/note.txt");
const ROOT: &[u8] = include_bytes!("../../tests/testdata/tsa/root.pem");
const OPERATOR: &str = include_str!("../../keys/operator.pub");

fn inputs() -> &'static (StrictVerifier, Vec<Certificate>) {
    static V: OnceLock<(StrictVerifier, Vec<Certificate>)> = OnceLock::new();
    V.get_or_init(|| {
        let k = PublicKey::from_file_text(OPERATOR).expect("the sample operator key parses");
        let log = StrictVerifier::new("example.org/nk-repatriation", *k.verifying_key())
            .expect("the sample log key is valid");
        (log, timestamp::parse_roots(ROOT).expect("the test root parses"))
    })
}

fuzz_target!(|data: &[u8]| {
    let (log, roots) = inputs();
    let _ = timestamp::token_of(data);
    if let Ok(v) = timestamp::verify(data, NOTE, log, roots, None) {
        assert_eq!(v.imprint, timestamp::imprint(NOTE, log).unwrap());
    }
});
