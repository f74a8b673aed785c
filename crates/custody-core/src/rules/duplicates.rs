//! Duplicates: the same signer recording the same body twice, whatever the claimed time.
//!
//! Two entries are *copies* when their origin, signer and body are equal, a deliberate repeat
//! ([`Body::RepeatedClaim`]) comparing as the plain claim it repeats: the claimed time and the
//! signature play no part, so re-signing a submission a second later (or importing a file again)
//! makes a copy, not a new record. The rule ([`check`]): an entry with an earlier copy must be a
//! deliberate repeat naming the latest earlier copy; an entry without one must not be a repeat.
//! So a repeat is always on the record, each copy's bytes differ from every other's, and a
//! resubmission of any of them is refused.
//!
//! Finding the latest earlier copy needs every earlier entry, which is custody-store's (an
//! on-disk table keyed by [`key`]) or a bundle's (its own entries); this module gives the key,
//! the comparison and the rule, so the two can never disagree. It never reads anything.

use super::RuleError;
use crate::codec::{self, CodecError};
use crate::entry::{Body, Content};
use crate::hash::Digest;
pub use crate::hash::DUPLICATE_CONTEXT;

/// The tag of [`Body::RepeatedClaim`], and of [`Body::Claim`] it compares as.
const REPEATED_CLAIM_TAG: u32 = 12;
const CLAIM_TAG: u32 = 5;

/// What copies share, from a content's canonical bytes: the bytes without the 8 of
/// `claimed_time`; for a repeated claim (tag 12) also with the tag written as a claim's (5)
/// and the last 8 bytes (`repeats`, its last field) left out, which is exactly the encoding
/// of the plain claim it repeats (docs/FORMAT.md, "Duplicates"). `None` if the bytes are too
/// short to be a content.
#[must_use]
pub fn form_of(content_bytes: &[u8]) -> Option<Vec<u8>> {
    let len = u64::from_le_bytes(content_bytes.get(..8)?.try_into().ok()?);
    // origin length, origin, signer: then the claimed time, then the body.
    let t = usize::try_from(len).ok()?.checked_add(8 + 32)?;
    let body = content_bytes.get(t.checked_add(8)?..)?;
    let tag = u32::from_le_bytes(body.get(..4)?.try_into().ok()?);
    let mut out = Vec::with_capacity(content_bytes.len());
    out.extend_from_slice(&content_bytes[..t]);
    if tag == REPEATED_CLAIM_TAG {
        let fields = body.get(4..body.len().checked_sub(8)?)?;
        out.extend_from_slice(&CLAIM_TAG.to_le_bytes());
        out.extend_from_slice(fields);
    } else {
        out.extend_from_slice(body);
    }
    Some(out)
}

/// Whether the content whose canonical bytes are `content_bytes` may be a deliberate repeat
/// (its body tag is that of a repeated claim): the rule then applies even without a copy.
#[must_use]
pub fn may_repeat(content_bytes: &[u8]) -> bool {
    let Some(len) = content_bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
    else {
        return false;
    };
    let tag_at = usize::try_from(len)
        .ok()
        .and_then(|l| l.checked_add(8 + 32 + 8));
    tag_at
        .and_then(|t| content_bytes.get(t..t.checked_add(4)?))
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        == Some(REPEATED_CLAIM_TAG)
}

/// The duplicate key of a content given its canonical bytes: SHA-256(`custody/v1/duplicate-key\0`
/// || [`form_of`]). Copies, and only copies, share it (up to SHA-256 collisions).
#[must_use]
pub fn key_of(content_bytes: &[u8]) -> Option<Digest> {
    Some(Digest::of_parts(&[
        DUPLICATE_CONTEXT,
        &form_of(content_bytes)?,
    ]))
}

/// The duplicate key of an entry's signed message (the submission context, then the content).
#[must_use]
pub fn key_of_signed(signed_message: &[u8]) -> Option<Digest> {
    key_of(signed_message.strip_prefix(crate::hash::SUBMISSION_CONTEXT)?)
}

/// The duplicate key of `content` ([`key_of`] of its canonical bytes).
///
/// # Errors
/// If the content is too large to encode.
pub fn key(content: &Content) -> Result<Digest, CodecError> {
    key_of(&codec::encode(content)?)
        .ok_or_else(|| CodecError::Malformed("content too short".into()))
}

/// The duplicate rule for `content` as entry `index`, given `latest`, the latest earlier entry
/// that is a copy of it (if any) and whether that copy carries the very same signed bytes (a
/// replay, not merely the same body at another claimed time).
///
/// # Errors
/// [`RuleError::Broken`] naming the earlier copy, or the missing one.
pub fn check(content: &Content, latest: Option<(u64, bool)>) -> Result<(), RuleError> {
    let repeats = match &content.body {
        Body::RepeatedClaim { repeats, .. } => Some(*repeats),
        _ => None,
    };
    match (latest, repeats) {
        (None, None) => Ok(()),
        (Some((c, true)), _) => Err(RuleError::Broken(format!(
            "replays entry {c}: the same signed submission is already in the log"
        ))),
        (Some((c, false)), None) => Err(RuleError::Broken(format!(
            "duplicates entry {c}: the same signer already recorded this {} (only the claimed \
             time differs){}",
            content.body.kind(),
            if content.body.is_claim() {
                "; if it is a separate record of the same thing, add it as a deliberate repeat \
                 (`custody add claim --allow-duplicate`, recorded as repeating that entry)"
            } else {
                ""
            }
        ))),
        (Some((c, false)), Some(r)) if r == c => Ok(()),
        (Some((c, false)), Some(r)) => Err(RuleError::Broken(format!(
            "a deliberate repeat names the latest earlier copy of its claim, entry {c}, not \
             entry {r}"
        ))),
        (None, Some(r)) => Err(RuleError::Broken(format!(
            "repeats entry {r}, but no earlier entry by this signer records this claim"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::KeyId;

    fn claim() -> Body {
        Body::Claim {
            statement: "5 returned".into(),
            count: Some(5),
            unit: "people".into(),
            category: "c".into(),
            period: "2024".into(),
            place: String::new(),
            cites: vec![2],
        }
    }

    fn content(time: i64, body: Body) -> Content {
        Content {
            origin: "example.org/t".into(),
            signer: KeyId([7; 32]),
            claimed_time: time,
            body,
        }
    }

    fn repeat(of: u64) -> Body {
        let Body::Claim {
            statement,
            count,
            unit,
            category,
            period,
            place,
            cites,
        } = claim()
        else {
            unreachable!()
        };
        Body::RepeatedClaim {
            statement,
            count,
            unit,
            category,
            period,
            place,
            cites,
            repeats: of,
        }
    }

    #[test]
    fn the_form_is_the_encoding_without_the_time_and_a_repeat_as_its_claim() {
        let c = content(1, repeat(9));
        let plain = content(1, claim());
        let form = form_of(&codec::encode(&c).unwrap()).unwrap();
        let mut want = codec::encode(&plain.origin).unwrap();
        want.extend_from_slice(&plain.signer.0);
        want.extend_from_slice(&codec::encode(&claim()).unwrap());
        assert_eq!(form, want);
        assert_eq!(form_of(&codec::encode(&plain).unwrap()).unwrap(), want);
        assert_eq!(form_of(&[1, 2, 3]), None);
        let msg = c.signed_bytes().unwrap();
        assert_eq!(key_of_signed(&msg), Some(key(&c).unwrap()));
    }

    #[test]
    fn copies_share_a_key_whatever_the_time_and_a_repeat_is_a_copy() {
        let k = key(&content(1, claim())).unwrap();
        assert_eq!(k, key(&content(2, claim())).unwrap());
        assert_eq!(k, key(&content(3, repeat(9))).unwrap());
        let mut other = content(1, claim());
        other.signer = KeyId([8; 32]);
        assert_ne!(k, key(&other).unwrap());
        let mut elsewhere = content(1, claim());
        elsewhere.origin = "example.org/u".into();
        assert_ne!(k, key(&elsewhere).unwrap());
    }

    #[test]
    fn the_rule_names_the_copy() {
        assert!(check(&content(1, claim()), None).is_ok());
        let e = check(&content(1, claim()), Some((4, false))).unwrap_err();
        assert!(e.to_string().starts_with("duplicates entry 4"), "{e}");
        assert!(e.to_string().contains("--allow-duplicate"), "{e}");
        let e = check(&content(1, claim()), Some((4, true))).unwrap_err();
        assert!(e.to_string().starts_with("replays entry 4"), "{e}");
        assert!(check(&content(1, repeat(4)), Some((4, false))).is_ok());
        let e = check(&content(1, repeat(3)), Some((4, false))).unwrap_err();
        assert!(e.to_string().contains("entry 4, not entry 3"), "{e}");
        let e = check(&content(1, repeat(3)), None).unwrap_err();
        assert!(e.to_string().contains("no earlier entry"), "{e}");
    }
}
