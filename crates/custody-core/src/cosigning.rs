//! The log's side of C2SP tlog-witness: what a witness's answer to `add-checkpoint` means
//! (`docs/POLICY.md` "Asking witnesses"). The request body is [`crate::add_checkpoint`]'s;
//! sending it is the binary's (HTTP). This module only reads a status, a content type and a
//! bounded body, and never trusts a cosignature it has not verified.

use crate::checkpoint::decimal_strict;
use crate::cosignature::{self, CosignatureLine, CosignatureVerifier};

/// The content type of a tlog-witness 409 body: the size the witness last cosigned.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";
/// The most response bytes custody reads from a witness.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// What one `add-checkpoint` answer means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A cosignature line by this witness that verifies over the checkpoint, and its time.
    Cosigned {
        /// The line, without its newline.
        line: String,
        /// The witness's timestamp.
        time: u64,
    },
    /// 409 with `text/x.tlog.size`: the size the witness last cosigned for this log.
    Conflict {
        /// That size.
        size: u64,
    },
    /// Anything else: why the witness did not cosign, in words.
    Refused(String),
}

fn head(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    let line = text.lines().next().unwrap_or_default().trim();
    if line.is_empty() {
        String::new()
    } else {
        format!(": {line}")
    }
}

/// Interprets a witness's answer to a request carrying checkpoint `body` (the note's body,
/// every line ending in U+000A), from `witness`.
#[must_use]
pub fn interpret(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
    witness: &CosignatureVerifier,
    checkpoint_body: &[u8],
) -> Answer {
    if body.len() > MAX_RESPONSE_BYTES {
        return Answer::Refused(format!(
            "answered {status} with more than {MAX_RESPONSE_BYTES} bytes"
        ));
    }
    // The media type without parameters, compared case-insensitively (RFC 9110 §8.3.1).
    let media = content_type
        .and_then(|c| c.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    match status {
        200 => cosigned(body, witness, checkpoint_body),
        409 if media.as_deref() == Some(SIZE_CONTENT_TYPE) => {
            match std::str::from_utf8(body)
                .ok()
                .and_then(|s| s.strip_suffix('\n'))
                .and_then(decimal_strict)
            {
                Some(size) => Answer::Conflict { size },
                None => Answer::Refused(
                    "answered 409 with a body that is not one decimal size and a newline".into(),
                ),
            }
        }
        409 => Answer::Refused(format!(
            "answered 409 without a size (a tlog-witness v1.0.0 witness does so for a \
             checkpoint of the size it cosigned with another root: a fork){}",
            head(body)
        )),
        400 => Answer::Refused(format!(
            "refused the request as malformed (400){}",
            head(body)
        )),
        403 => Answer::Refused(format!(
            "does not accept this log's key (403; deployed witnesses also answer 403 for a log \
             they do not know: ask its operator to add the log){}",
            head(body)
        )),
        404 => Answer::Refused(format!(
            "does not know this log (404: ask its operator to add the log){}",
            head(body)
        )),
        422 => Answer::Refused(format!(
            "refused the consistency proof (422): it holds a checkpoint of this log that this \
             one does not extend, a fork or a rewritten history{}",
            head(body)
        )),
        s => Answer::Refused(format!("answered {s}{}", head(body))),
    }
}

fn cosigned(body: &[u8], witness: &CosignatureVerifier, checkpoint_body: &[u8]) -> Answer {
    let Ok(text) = std::str::from_utf8(body) else {
        return Answer::Refused("answered 200 with a body that is not UTF-8".into());
    };
    let mut seen_ours = false;
    // A witness may return several lines (several keys or algorithms); ours are the ones with
    // its key name and key id, and one of them must verify.
    for raw in text
        .split_terminator('\n')
        .take(cosignature::MAX_SIGNATURE_LINES)
    {
        let mut one = cosignature::SplitNote {
            body: String::new(),
            lines: Vec::new(),
        };
        if one.add_line(raw).is_err() {
            continue;
        }
        let Some(line) = one.lines.first() else {
            continue;
        };
        match witness.verify(checkpoint_body, line) {
            CosignatureLine::Valid { time } => {
                return Answer::Cosigned {
                    line: line.text.clone(),
                    time,
                }
            }
            CosignatureLine::Invalid => seen_ours = true,
            CosignatureLine::Other => {}
        }
    }
    Answer::Refused(if seen_ours {
        "answered 200, but its cosignature line does not verify over this checkpoint".into()
    } else {
        format!(
            "answered 200 without a cosignature line by key {}+{:08x}",
            witness.name(),
            witness.key_id()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    const BODY: &[u8] = b"example.com/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

    fn witness() -> (SigningKey, CosignatureVerifier) {
        let k = SigningKey::from_bytes(&[3u8; 32]);
        let v = CosignatureVerifier::new("w.example/w", k.verifying_key()).unwrap();
        (k, v)
    }

    #[test]
    fn a_verifying_line_is_taken_and_nothing_else() {
        let (k, v) = witness();
        let line = cosignature::cosign(BODY, "w.example/w", &k, 1_700_000_000).unwrap();
        let other = cosignature::cosign(BODY, "x.example/x", &k, 1).unwrap();
        let body = format!("{other}{line}");
        assert_eq!(
            interpret(200, Some("text/plain"), body.as_bytes(), &v, BODY),
            Answer::Cosigned {
                line: line.trim_end().to_owned(),
                time: 1_700_000_000
            }
        );
        // Over another checkpoint, the same line does not verify.
        let other_body = b"example.com/log\n4\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        assert!(matches!(
            interpret(200, None, line.as_bytes(), &v, other_body),
            Answer::Refused(r) if r.contains("does not verify")
        ));
        assert!(matches!(
            interpret(200, None, b"garbage\n", &v, BODY),
            Answer::Refused(r) if r.contains("without a cosignature")
        ));
    }

    #[test]
    fn conflicts_and_refusals() {
        let (_, v) = witness();
        assert_eq!(
            interpret(409, Some("text/x.tlog.size"), b"12\n", &v, BODY),
            Answer::Conflict { size: 12 }
        );
        assert_eq!(
            interpret(
                409,
                Some("Text/X.Tlog.Size; charset=utf-8"),
                b"0\n",
                &v,
                BODY
            ),
            Answer::Conflict { size: 0 }
        );
        for bad in [&b"012\n"[..], b"12", b"-1\n", b"12\n\n"] {
            assert!(matches!(
                interpret(409, Some(SIZE_CONTENT_TYPE), bad, &v, BODY),
                Answer::Refused(_)
            ));
        }
        assert!(matches!(
            interpret(409, Some("text/plain"), b"root mismatch\n", &v, BODY),
            Answer::Refused(r) if r.contains("without a size") && r.contains("root mismatch")
        ));
        for (s, want) in [
            (403, "403"),
            (404, "404"),
            (422, "consistency"),
            (503, "503"),
        ] {
            assert!(matches!(
                interpret(s, None, b"", &v, BODY),
                Answer::Refused(r) if r.contains(want)
            ));
        }
        let huge = vec![b'1'; MAX_RESPONSE_BYTES + 1];
        assert!(matches!(
            interpret(200, None, &huge, &v, BODY),
            Answer::Refused(_)
        ));
    }
}
