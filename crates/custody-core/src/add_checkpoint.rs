//! The C2SP tlog-witness `add-checkpoint` request body, as bytes: what a log sends a
//! witness and what a witness parses (<https://c2sp.org/tlog-witness>).
//!
//! ```text
//! old <size the witness last cosigned, decimal>
//! <0 to 63 lines: canonical base64 of a 32-byte consistency-proof hash>
//! <empty line>
//! <the signed checkpoint note>
//! ```
//!
//! This module owns only the framing: it bounds the input, parses strictly and formats
//! canonically. It verifies nothing: the checkpoint's signatures, the proof and the old
//! size are the witness's decision (`custody-witness`), taken against its own stored state.

use crate::checkpoint::{b64_strict, decimal_strict, MAX_NOTE_BYTES};
use crate::hash::Digest;
use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use thiserror::Error;

/// The most consistency-proof lines a request may carry (tlog-witness: 63).
pub const MAX_PROOF_LINES: usize = 63;
/// The largest request body: `old` line, 63 proof lines of 45 bytes, blank line, a note.
pub const MAX_REQUEST_BYTES: usize = 32 + MAX_PROOF_LINES * 45 + 1 + MAX_NOTE_BYTES;

/// A parsed add-checkpoint request. The checkpoint is not verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size the log believes the witness last cosigned (0 if never).
    pub old: u64,
    /// The consistency proof from `old` to the checkpoint's size.
    pub proof: Vec<Digest>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: Vec<u8>,
}

/// Why a request body is malformed (a witness answers 400).
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// The body exceeds [`MAX_REQUEST_BYTES`].
    #[error("add-checkpoint request is {0} bytes; at most {MAX_REQUEST_BYTES} are read")]
    TooLarge(usize),
    /// A framing error, with the 1-based line.
    #[error("add-checkpoint request line {line}: {reason}")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
}

impl AddCheckpoint {
    /// The request body in canonical form.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + 45 * self.proof.len() + self.checkpoint.len());
        out.extend_from_slice(format!("old {}\n", self.old).as_bytes());
        for h in &self.proof {
            out.extend_from_slice(B64.encode(h.0).as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(&self.checkpoint);
        out
    }

    /// Parses a request body strictly: `old` in canonical decimal, at most 63 canonical
    /// base64 32-byte hashes, an empty line, then a non-empty checkpoint (kept verbatim).
    ///
    /// # Errors
    /// [`RequestError::TooLarge`] or [`RequestError::Malformed`].
    pub fn parse(body: &[u8]) -> Result<Self, RequestError> {
        if body.len() > MAX_REQUEST_BYTES {
            return Err(RequestError::TooLarge(body.len()));
        }
        let bad = |line, reason| RequestError::Malformed { line, reason };
        let mut rest = body;
        let mut line_no = 0usize;
        let mut next = |rest: &mut &[u8]| -> Result<(usize, Vec<u8>), RequestError> {
            line_no += 1;
            let at = rest.iter().position(|&b| b == b'\n').ok_or(bad(
                line_no,
                "the body ends before the empty line and checkpoint",
            ))?;
            let line = rest[..at].to_vec();
            *rest = &rest[at + 1..];
            Ok((line_no, line))
        };
        let (n, first) = next(&mut rest)?;
        let old = std::str::from_utf8(&first)
            .ok()
            .and_then(|l| l.strip_prefix("old "))
            .and_then(decimal_strict)
            .ok_or(bad(n, "want \"old <decimal without leading zeros>\""))?;
        let mut proof = Vec::new();
        loop {
            let (n, line) = next(&mut rest)?;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(bad(n, "more than 63 consistency-proof lines"));
            }
            let h = std::str::from_utf8(&line)
                .ok()
                .and_then(b64_strict)
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or(bad(n, "a proof line must be canonical base64 of 32 bytes"))?;
            proof.push(Digest(h));
        }
        if rest.is_empty() {
            return Err(bad(line_no + 1, "no checkpoint after the empty line"));
        }
        Ok(AddCheckpoint {
            old,
            proof,
            checkpoint: rest.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // tlog_witness_add_checkpoint_request of ../shared/vectors/checkpoint-cosignature-derived.json
    const VECTOR: &str = "old 6\nDrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=\nyoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=\n037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=\n\nexample.com/evidence-ledger-test\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n— example.com/evidence-ledger-test AFF0T7fsNG7lCFYhTKfV2C2n+ilSAVKXsZpQxkbzSgJ91kqUpe9hmAFRtaWW0M8BJw5S1Q5fbeDClayhEkJDepZ6oAg=\n";

    #[test]
    fn vector_round_trips() {
        let r = AddCheckpoint::parse(VECTOR.as_bytes()).unwrap();
        assert_eq!(r.old, 6);
        assert_eq!(r.proof.len(), 3);
        assert!(r
            .checkpoint
            .starts_with(b"example.com/evidence-ledger-test\n8\n"));
        assert_eq!(r.to_bytes(), VECTOR.as_bytes());
    }

    #[test]
    fn malformed_bodies_are_refused() {
        let proof = "DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=\n";
        for bad in [
            String::new(),
            "old 6".into(),
            "old 06\n\ncp\n".into(),
            "old -1\n\ncp\n".into(),
            "old 6\n\n".into(),
            "Old 6\n\ncp\n".into(),
            "old 6\nnot base64\n\ncp\n".into(),
            "old 6\nAAAA\n\ncp\n".into(),
            format!("old 6\n{}\ncp\n", proof.repeat(MAX_PROOF_LINES + 1)),
            "old 18446744073709551616\n\ncp\n".to_string(),
        ] {
            assert!(AddCheckpoint::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        let ok = format!("old 6\n{}\ncp\n", proof.repeat(MAX_PROOF_LINES));
        assert_eq!(AddCheckpoint::parse(ok.as_bytes()).unwrap().proof.len(), 63);
        let huge = vec![b'a'; MAX_REQUEST_BYTES + 1];
        assert!(matches!(
            AddCheckpoint::parse(&huge),
            Err(RequestError::TooLarge(_))
        ));
    }
}
