//! `cosigning::interpret` (what a log makes of a witness's answer to add-checkpoint,
//! docs/POLICY.md "Asking witnesses") on an arbitrary status, content type and body from a
//! hostile witness: never panics; a cosignature it takes verifies, under the witness's key, over
//! the checkpoint asked about, at the time it reports; a 409 size it takes is the body's.
#![no_main]

use custody_core::cosignature::{self, CosignatureLine, CosignatureVerifier, SplitNote};
use custody_core::cosigning::{self, Answer, SIZE_CONTENT_TYPE};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The witness and checkpoint body of ../shared/vectors/checkpoint-cosignature-derived.json.
const VKEY: &str = "example.com/test-witness+6b518f3a+BBhsIHEm6gDk5x1QqTVhBFi+wkDGsUb+wGu78wY2Nexr";
const BODY: &str =
    "example.com/evidence-ledger-test\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n";
const TYPES: [&str; 4] = [SIZE_CONTENT_TYPE, "Text/X.Tlog.Size; charset=utf-8", "text/plain", ""];

fn witness() -> &'static CosignatureVerifier {
    static V: OnceLock<CosignatureVerifier> = OnceLock::new();
    V.get_or_init(|| cosignature::parse_vkey(VKEY).expect("the vector vkey parses"))
}

fuzz_target!(|data: &[u8]| {
    let [a, b, c, body @ ..] = data else {
        return;
    };
    let status = [200, 409, 400, 403, 404, 422, 503, u16::from_be_bytes([*a, *b])][usize::from(*c) % 8];
    let ctype = TYPES.get(usize::from(*c >> 3) % 5).copied();
    match cosigning::interpret(status, ctype, body, witness(), BODY.as_bytes()) {
        Answer::Cosigned { line, time } => {
            assert_eq!(status, 200);
            let mut one = SplitNote {
                body: String::new(),
                lines: Vec::new(),
            };
            one.add_line(&line).expect("a taken line parses");
            assert_eq!(
                witness().verify(BODY.as_bytes(), &one.lines[0]),
                CosignatureLine::Valid { time }
            );
        }
        Answer::Conflict { size } => {
            assert_eq!(status, 409);
            assert_eq!(body, format!("{size}\n").as_bytes());
        }
        Answer::Refused(why) => assert!(!why.is_empty()),
    }
});
