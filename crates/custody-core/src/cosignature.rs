//! C2SP tlog-cosignature v1: a witness's timestamped Ed25519 signature over a checkpoint.
//!
//! This module owns the bytes a witness signs, the signature line it returns, and the rule
//! by which a cosignature line in a checkpoint note is accepted. It is specified in
//! `docs/CHECKPOINTS.md` ("Cosignatures"), after <https://c2sp.org/tlog-cosignature>:
//!
//! - key id = the first 4 bytes, big-endian, of SHA-256(name || 0x0A || 0x04 || public key);
//! - signed message = `cosignature/v1\ntime <T>\n` followed by the checkpoint body (every
//!   body line, extension lines included; no signature lines), T in decimal seconds;
//! - signature line = `— <name> base64(key id (4) || T as u64 big-endian (8) || Ed25519
//!   signature (64))`.
//!
//! The header line `cosignature/v1` is the domain separation: a cosignature can never be
//! taken for a log's note signature (which signs the bare body) or the reverse, and the key
//! id formula's type byte 0x04 keeps the two kinds of key apart too.
//!
//! It must never read the clock (the time is passed in) or accept a cosignature except
//! through [`CosignatureVerifier::verify`], which checks the key id first and the
//! signature strictly (`verify_strict`, weak keys refused).

use crate::checkpoint::{self, CheckpointError, MAX_NOTE_BYTES};
use crate::sign::KeySigner;
use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use ed25519_dalek::VerifyingKey;

/// The signature type byte of a timestamped Ed25519 cosignature (C2SP signed-note).
pub const SIG_TYPE_COSIGNATURE: u8 = 0x04;
/// The first line of every message a witness signs.
pub const COSIGNATURE_HEADER: &str = "cosignature/v1";
/// Bytes of a cosignature line's payload: key id (4), timestamp (8), signature (64).
pub const PAYLOAD_LEN: usize = 4 + 8 + 64;
/// The most signature lines custody reads from one note (C2SP signed-note allows a
/// verifier to stop at a bound; this is `signed_note`'s own).
pub const MAX_SIGNATURE_LINES: usize = 100;

/// The signed-note key id of a witness's cosignature key: the first 4 bytes, big-endian,
/// of SHA-256(name || 0x0A || 0x04 || public key).
#[must_use]
pub fn key_id(name: &str, key: &VerifyingKey) -> u32 {
    let mut typed = [0u8; 33];
    typed[0] = SIG_TYPE_COSIGNATURE;
    typed[1..].copy_from_slice(key.as_bytes());
    signed_note::key_id(name, &typed)
}

/// The exact bytes a witness signs for `body` (a checkpoint body, every line ending in
/// U+000A) at `time` seconds since the Unix epoch.
#[must_use]
pub fn signed_message(time: u64, body: &[u8]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(40 + body.len());
    msg.extend_from_slice(COSIGNATURE_HEADER.as_bytes());
    msg.extend_from_slice(b"\ntime ");
    msg.extend_from_slice(time.to_string().as_bytes());
    msg.push(b'\n');
    msg.extend_from_slice(body);
    msg
}

/// A witness's public cosignature key under its name. Only [`CosignatureVerifier::new`]
/// and [`parse_vkey`] make one: the name is valid and the key is not weak.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl CosignatureVerifier {
    /// A verifier for witness `name` with public key `key`.
    ///
    /// # Errors
    /// [`CheckpointError::InvalidOrigin`] for a bad name, [`CheckpointError::WeakKey`] for
    /// a small-order key.
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, CheckpointError> {
        checkpoint::check_origin(name)?;
        if !crate::keys::acceptable_key(&key) {
            return Err(CheckpointError::WeakKey {
                name: name.to_owned(),
            });
        }
        Ok(CosignatureVerifier {
            name: name.to_owned(),
            id: key_id(name, &key),
            key,
        })
    }

    /// The witness's name (the name on its signature lines).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id (see [`key_id`]).
    #[must_use]
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The Ed25519 public key.
    #[must_use]
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// This key as a C2SP vkey: `name+<hex8 id>+base64(0x04 || key)`.
    #[must_use]
    pub fn to_vkey(&self) -> String {
        let mut typed = Vec::with_capacity(33);
        typed.push(SIG_TYPE_COSIGNATURE);
        typed.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id, B64.encode(typed))
    }

    /// Checks one signature line against `body` and returns the cosignature's time.
    ///
    /// Steps: the line's name and key id must be this witness's (else
    /// [`CosignatureLine::Other`]); the payload must be 76 bytes; the signature must verify
    /// strictly over [`signed_message`] of the stated time and `body`.
    #[must_use]
    pub fn verify(&self, body: &[u8], line: &SignatureLine) -> CosignatureLine {
        if line.name != self.name || line.key_id != self.id {
            return CosignatureLine::Other;
        }
        let Ok(payload) = <&[u8; PAYLOAD_LEN - 4]>::try_from(line.rest.as_slice()) else {
            return CosignatureLine::Invalid;
        };
        let mut time = [0u8; 8];
        time.copy_from_slice(&payload[..8]);
        let time = u64::from_be_bytes(time);
        let mut sig = [0u8; 64];
        sig.copy_from_slice(&payload[8..]);
        let sig = ed25519_dalek::Signature::from_bytes(&sig);
        if self
            .key
            .verify_strict(&signed_message(time, body), &sig)
            .is_ok()
        {
            CosignatureLine::Valid { time }
        } else {
            CosignatureLine::Invalid
        }
    }
}

/// What one signature line is to one witness key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CosignatureLine {
    /// Not this witness's line (another name or key id).
    Other,
    /// This witness's name and key id, but the payload or signature does not verify.
    Invalid,
    /// A valid cosignature made at `time` (seconds since the Unix epoch, as the witness
    /// stated it).
    Valid {
        /// The witness's timestamp.
        time: u64,
    },
}

/// Parses a witness vkey (signature type 0x04) into a [`CosignatureVerifier`].
///
/// # Errors
/// As [`checkpoint::parse_vkey`], with [`CheckpointError::UnsupportedKeyType`] for a type
/// other than 0x04.
pub fn parse_vkey(s: &str) -> Result<CosignatureVerifier, CheckpointError> {
    let (name, key) = checkpoint::parse_typed_vkey(s, SIG_TYPE_COSIGNATURE)?;
    CosignatureVerifier::new(&name, key)
}

/// Makes the cosignature line (ending in U+000A) of witness `name` over checkpoint `body`
/// at `time`.
///
/// # Errors
/// [`CheckpointError::InvalidOrigin`] for a bad name, [`CheckpointError::Signing`] if the
/// signer fails.
pub fn cosign(
    body: &[u8],
    name: &str,
    key: &dyn KeySigner,
    time: u64,
) -> Result<String, CheckpointError> {
    checkpoint::check_origin(name)?;
    let sig = key
        .try_sign(&signed_message(time, body))
        .map_err(|e| CheckpointError::Signing(e.to_string()))?;
    let mut payload = Vec::with_capacity(PAYLOAD_LEN);
    payload.extend_from_slice(&key_id(name, &key.verifying_key()).to_be_bytes());
    payload.extend_from_slice(&time.to_be_bytes());
    payload.extend_from_slice(&sig.to_bytes());
    Ok(format!("— {name} {}\n", B64.encode(payload)))
}

/// One signature line of a signed note: `— <name> base64(key id || rest)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureLine {
    /// The key name.
    pub name: String,
    /// The key id (first 4 bytes of the payload).
    pub key_id: u32,
    /// The payload after the key id.
    pub rest: Vec<u8>,
    /// The line exactly as written, without its newline.
    pub text: String,
}

/// A signed note split into its body and signature lines, without verifying anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitNote {
    /// The note text: every line up to the blank line, each ending in U+000A.
    pub body: String,
    /// The signature lines in order.
    pub lines: Vec<SignatureLine>,
}

impl SplitNote {
    /// The note again: body, blank line, signature lines.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut s = String::with_capacity(self.body.len() + 1 + 100 * self.lines.len());
        s.push_str(&self.body);
        s.push('\n');
        for l in &self.lines {
            s.push_str(&l.text);
            s.push('\n');
        }
        s
    }

    /// The cosignatures in this note that `witnesses` verify: for each witness, the time
    /// of its first valid line, if any. Lines by other keys are ignored; an invalid line by
    /// a known witness counts for nothing (anyone can append a line, so a bad line must
    /// not cancel a good one) and is returned in `invalid` so callers can report it.
    #[must_use]
    pub fn cosignatures(&self, witnesses: &[CosignatureVerifier]) -> Cosignatures {
        let mut out = Cosignatures {
            times: vec![None; witnesses.len()],
            invalid: Vec::new(),
        };
        for line in &self.lines {
            for (i, w) in witnesses.iter().enumerate() {
                match w.verify(self.body.as_bytes(), line) {
                    CosignatureLine::Other => {}
                    CosignatureLine::Invalid => out.invalid.push(i),
                    CosignatureLine::Valid { time } => {
                        out.times[i].get_or_insert(time);
                    }
                }
            }
        }
        out
    }

    /// Adds cosignature `line` (one signature line, with or without its newline), replacing
    /// any earlier line with the same name and key id. The line is not verified here.
    ///
    /// # Errors
    /// [`CheckpointError::MalformedNote`] if `line` is not one signature line.
    pub fn add_line(&mut self, line: &str) -> Result<(), CheckpointError> {
        let line = line.strip_suffix('\n').unwrap_or(line);
        let parsed = parse_line(line)?;
        self.lines
            .retain(|l| !(l.name == parsed.name && l.key_id == parsed.key_id));
        if self.lines.len() >= MAX_SIGNATURE_LINES {
            return Err(CheckpointError::MalformedNote(format!(
                "more than {MAX_SIGNATURE_LINES} signature lines"
            )));
        }
        self.lines.push(parsed);
        Ok(())
    }

    /// Removes every line whose (name, key id) is not `keep`: the note as the log alone
    /// signed it.
    pub fn retain_only(&mut self, keep: &[(&str, u32)]) {
        self.lines
            .retain(|l| keep.iter().any(|(n, id)| l.name == *n && l.key_id == *id));
    }
}

/// The valid cosignatures found in a note for a list of witnesses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosignatures {
    /// For witness `i`, the time of its valid cosignature, if it has one.
    pub times: Vec<Option<u64>>,
    /// Witnesses (by index) that have a line with their name and key id that does not
    /// verify.
    pub invalid: Vec<usize>,
}

fn parse_line(line: &str) -> Result<SignatureLine, CheckpointError> {
    let bad = |why: &str| CheckpointError::MalformedNote(format!("signature line: {why}"));
    let rest = line
        .strip_prefix("— ")
        .ok_or_else(|| bad("does not start with an em dash and a space"))?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or_else(|| bad("no space after the key name"))?;
    checkpoint::check_origin(name).map_err(|_| bad("the key name is not valid"))?;
    let payload =
        checkpoint::b64_strict(b64).ok_or_else(|| bad("the signature is not canonical base64"))?;
    if payload.len() < 5 {
        return Err(bad("the signature is shorter than a key id and one byte"));
    }
    let (id, rest) = payload.split_at(4);
    let mut idb = [0u8; 4];
    idb.copy_from_slice(id);
    Ok(SignatureLine {
        name: name.to_owned(),
        key_id: u32::from_be_bytes(idb),
        rest: rest.to_vec(),
        text: line.to_owned(),
    })
}

/// Splits a signed note into its body and signature lines (C2SP signed-note framing:
/// the body ends at the last blank line; at least one and at most
/// [`MAX_SIGNATURE_LINES`] signature lines follow, each ending in U+000A; canonical
/// base64). Nothing is verified.
///
/// # Errors
/// [`CheckpointError::TooLarge`] or [`CheckpointError::MalformedNote`].
pub fn split_note(note: &[u8]) -> Result<SplitNote, CheckpointError> {
    if note.len() > MAX_NOTE_BYTES {
        return Err(CheckpointError::TooLarge {
            what: "signed note",
            len: note.len(),
            max: MAX_NOTE_BYTES,
        });
    }
    let text = std::str::from_utf8(note)
        .map_err(|_| CheckpointError::MalformedNote("not UTF-8".into()))?;
    if text.chars().any(|c| c < '\u{20}' && c != '\n') {
        return Err(CheckpointError::MalformedNote(
            "a control character other than newline".into(),
        ));
    }
    let (body, sigs) = text.rsplit_once("\n\n").ok_or_else(|| {
        CheckpointError::MalformedNote("no blank line before the signatures".into())
    })?;
    let sigs = sigs.strip_suffix('\n').ok_or_else(|| {
        CheckpointError::MalformedNote("the last signature line does not end in a newline".into())
    })?;
    let mut lines = Vec::new();
    for line in sigs.split('\n') {
        if lines.len() == MAX_SIGNATURE_LINES {
            return Err(CheckpointError::MalformedNote(format!(
                "more than {MAX_SIGNATURE_LINES} signature lines"
            )));
        }
        lines.push(parse_line(line)?);
    }
    Ok(SplitNote {
        body: format!("{body}\n"),
        lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    // ../shared/vectors/checkpoint-cosignature-derived.json, copied verbatim into
    // tests/vectors/ (the integration test and the doc test read the file; these are the
    // values).
    const WITNESS_SEED: &str = "d76aef9d9a8353ffddaabc1fd0c66c1a827053ec52a8a2b1d258dd640367ae24";
    const WITNESS_NAME: &str = "example.com/test-witness";
    const WITNESS_VKEY: &str =
        "example.com/test-witness+6b518f3a+BBhsIHEm6gDk5x1QqTVhBFi+wkDGsUb+wGu78wY2Nexr";
    const BODY: &str =
        "example.com/evidence-ledger-test\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n";
    const TIME: u64 = 1_679_315_147;
    const LINE: &str = "— example.com/test-witness a1GPOgAAAABkGFDLotr+ZqbGp8qQWq3tc5Ks1jcvTnnIa19D0BCHstAp+6DUrMa5EgADk3k0W9e277Zx9sLaL65F1IKHPtIbZiObCg==\n";
    const SIGNED: &str = "example.com/evidence-ledger-test\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n— example.com/evidence-ledger-test AFF0T7fsNG7lCFYhTKfV2C2n+ilSAVKXsZpQxkbzSgJ91kqUpe9hmAFRtaWW0M8BJw5S1Q5fbeDClayhEkJDepZ6oAg=\n— example.com/test-witness a1GPOgAAAABkGFDLotr+ZqbGp8qQWq3tc5Ks1jcvTnnIa19D0BCHstAp+6DUrMa5EgADk3k0W9e277Zx9sLaL65F1IKHPtIbZiObCg==\n";

    fn witness() -> SigningKey {
        let seed: [u8; 32] = hex::decode(WITNESS_SEED).unwrap().try_into().unwrap();
        SigningKey::from_bytes(&seed)
    }

    #[test]
    fn vector_line_and_vkey_are_reproduced() {
        let k = witness();
        assert_eq!(
            cosign(BODY.as_bytes(), WITNESS_NAME, &k, TIME).unwrap(),
            LINE
        );
        let v = CosignatureVerifier::new(WITNESS_NAME, k.verifying_key()).unwrap();
        assert_eq!(v.to_vkey(), WITNESS_VKEY);
        assert_eq!(v.key_id(), 0x6b51_8f3a);
        assert_eq!(parse_vkey(WITNESS_VKEY).unwrap(), v);
        assert_eq!(
            signed_message(TIME, BODY.as_bytes()),
            format!("cosignature/v1\ntime {TIME}\n{BODY}").into_bytes()
        );
    }

    #[test]
    fn vector_note_verifies_and_every_flipped_byte_is_refused() {
        let v = parse_vkey(WITNESS_VKEY).unwrap();
        let note = split_note(SIGNED.as_bytes()).unwrap();
        assert_eq!(note.to_text(), SIGNED);
        assert_eq!(
            note.cosignatures(std::slice::from_ref(&v)).times,
            vec![Some(TIME)]
        );
        // Another body (one digit of the size changed) is refused.
        let other = SIGNED.replacen("\n8\n", "\n9\n", 1);
        let c = split_note(other.as_bytes())
            .unwrap()
            .cosignatures(std::slice::from_ref(&v));
        assert_eq!((c.times, c.invalid), (vec![None], vec![0]));
        // A changed timestamp is refused: it is inside the signed message.
        let mut n = note.clone();
        n.lines[1].rest[7] ^= 1;
        assert_eq!(n.lines[1].key_id, v.key_id());
        assert_eq!(
            v.verify(n.body.as_bytes(), &n.lines[1]),
            CosignatureLine::Invalid
        );
    }

    #[test]
    fn doc_cosignature_example_is_the_vector() {
        const DOC: &str = include_str!("../../../docs/CHECKPOINTS.md");
        let v: serde_json::Value = serde_json::from_str(include_str!(
            "../../../tests/vectors/checkpoint-cosignature-derived.json"
        ))
        .unwrap();
        let s = |p: &str| v.pointer(p).and_then(|x| x.as_str()).unwrap().to_owned();
        let seed: [u8; 32] = hex::decode(s("/witness/ed25519_seed_hex"))
            .unwrap()
            .try_into()
            .unwrap();
        let k = SigningKey::from_bytes(&seed);
        let name = s("/witness/name");
        let body = s("/checkpoint_body");
        let time = v["cosignature_timestamp"].as_u64().unwrap();
        let vkey = CosignatureVerifier::new(&name, k.verifying_key())
            .unwrap()
            .to_vkey();
        assert_eq!(vkey, s("/witness/verifier_key"));
        let msg = String::from_utf8(signed_message(time, body.as_bytes())).unwrap();
        assert_eq!(msg, s("/cosignature_signed_message"));
        let line = cosign(body.as_bytes(), &name, &k, time).unwrap();
        assert_eq!(line.trim_end(), s("/cosignature_line"));
        let signed = s("/signed_checkpoint");
        for quoted in [
            format!("```\n{vkey}\n```\n"),
            format!("```\n{msg}```\n"),
            format!("({} bytes, each line ending in U+000A)", msg.len()),
            format!("```\n{line}```\n"),
            format!("```\n{signed}```\n"),
            format!("`{}`", s("/witness/ed25519_seed_hex")),
            format!("`{:016x}`", time),
        ] {
            assert!(
                DOC.contains(&quoted),
                "CHECKPOINTS.md must quote:\n{quoted}"
            );
        }
        // And the cosigned checkpoint verifies as the document says.
        let note = split_note(signed.as_bytes()).unwrap();
        assert_eq!(
            note.cosignatures(&[parse_vkey(&vkey).unwrap()]).times,
            vec![Some(time)]
        );
    }

    #[test]
    fn a_log_key_vkey_is_not_a_witness_key() {
        let log_vkey =
            "example.com/evidence-ledger-test+0051744f+AczXONUCJ9wNmQ2x5/usUQuQRlvVihJCqsjrYJK42AOl";
        assert!(matches!(
            parse_vkey(log_vkey),
            Err(CheckpointError::UnsupportedKeyType { alg: 0x01, .. })
        ));
        assert!(matches!(
            checkpoint::parse_vkey(WITNESS_VKEY),
            Err(CheckpointError::UnsupportedKeyType { alg: 0x04, .. })
        ));
    }

    #[test]
    fn add_line_replaces_and_retain_only_strips() {
        let mut n = split_note(SIGNED.as_bytes()).unwrap();
        let k = witness();
        let again = cosign(n.body.as_bytes(), WITNESS_NAME, &k, TIME + 1).unwrap();
        n.add_line(&again).unwrap();
        assert_eq!(n.lines.len(), 2);
        let v = parse_vkey(WITNESS_VKEY).unwrap();
        assert_eq!(n.cosignatures(&[v]).times, vec![Some(TIME + 1)]);
        n.retain_only(&[("example.com/evidence-ledger-test", 0x0051_744f)]);
        assert_eq!(n.lines.len(), 1);
        assert!(n.add_line("not a line").is_err());
    }

    #[test]
    fn malformed_notes_are_refused() {
        for bad in [
            "",
            "body\n",
            "body\n\n",
            "body\n\n— name AAAA\n",
            "body\n\n— name  AAAAAAA=\n",
            "bo\tdy\n\n— n AAAAAAA=\n",
        ] {
            assert!(split_note(bad.as_bytes()).is_err(), "{bad:?}");
        }
        let many = format!("b\n\n{}", "— n AAAAAAA=\n".repeat(MAX_SIGNATURE_LINES + 1));
        assert!(split_note(many.as_bytes()).is_err());
    }
}
