//! C2SP checkpoints: the tlog-checkpoint body, its Ed25519 signed-note envelope, verifier
//! keys (vkeys), and the c2sp.org/tlog-proof@v1 text format.
//!
//! This module owns the bytes a log signs and the rule by which a checkpoint is accepted.
//! It wraps `signed_note` (note framing, key ids) and `tlog_tiles::Checkpoint` (the body)
//! rather than re-implementing either; what it adds is *strict* Ed25519 verification
//! (`verify_strict`, weak keys refused), a signer that borrows the
//! `ed25519_dalek::SigningKey` instead of a text secret, input size bounds, and typed
//! errors. The format is specified in `docs/CHECKPOINTS.md`.
//!
//! It must never do I/O, read the clock, generate keys, or accept a checkpoint except
//! through [`open`], which verifies the log's signature first.

use crate::hash::Digest;
use crate::merkle::{self, MerkleError};
use crate::sign::KeySigner;
use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use ed25519_dalek::VerifyingKey;
use signed_note::{Note, NoteError, VerificationError, Verifier, Verifiers};
use thiserror::Error;

/// C2SP signed-note signature type of a plain Ed25519 signature.
pub const SIG_TYPE_ED25519: u8 = 0x01;
/// The largest signed note (checkpoint and all its signature lines) custody parses.
pub const MAX_NOTE_BYTES: usize = 64 * 1024;
/// The largest tlog-proof custody parses: a maximal note plus header and 64 proof lines.
pub const MAX_TLOG_PROOF_BYTES: usize = MAX_NOTE_BYTES + 8 * 1024;
/// The first line of every c2sp.org/tlog-proof@v1 proof.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";
/// The longest key name or origin custody accepts, in bytes.
pub const MAX_ORIGIN_BYTES: usize = 255;
/// The longest vkey string custody parses.
const MAX_VKEY_BYTES: usize = 1024;

/// Why a checkpoint, vkey or tlog-proof was refused or could not be made.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// An origin or key name outside the accepted character set or length.
    #[error(
        "origin or key name {origin:?} is not valid: it must be 1 to 255 bytes with no \
         whitespace, control characters or '+'"
    )]
    InvalidOrigin {
        /// The refused name.
        origin: String,
    },
    /// Input larger than the bound for its kind; nothing was parsed.
    #[error("{what} is {len} bytes; custody reads at most {max}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// A vkey that is not `name+hex8id+base64(type||key)`.
    #[error("verifier key is malformed: {reason} (want <name>+<8 hex digits>+<base64 of 0x01 and 32 key bytes>)")]
    MalformedVkey {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A vkey whose stated id is not the id of its name and key.
    #[error("verifier key for {name:?} states key id {stated:08x}, but its name and key give {computed:08x}")]
    KeyIdMismatch {
        /// The key name.
        name: String,
        /// The id written in the vkey.
        stated: u32,
        /// The id computed from the formula.
        computed: u32,
    },
    /// A vkey of a signature type other than Ed25519 (0x01).
    #[error("verifier key for {name:?} has signature type 0x{alg:02x}; custody verifies Ed25519 note signatures (0x01) for logs and Ed25519 cosignatures (0x04) for witnesses")]
    UnsupportedKeyType {
        /// The key name.
        name: String,
        /// The type byte found.
        alg: u8,
    },
    /// A small-order (weak) Ed25519 public key, for which signatures prove nothing.
    #[error(
        "public key for {name:?} is a weak (small-order) Ed25519 key; it cannot be trusted to sign"
    )]
    WeakKey {
        /// The key name.
        name: String,
    },
    /// Bytes that are not a well-formed signed note.
    #[error("signed note is malformed: {0}")]
    MalformedNote(String),
    /// A well-formed note with no signature line by the expected key.
    #[error(
        "the note has no signature by key {name}+{id:08x}; was it signed by another log or key?"
    )]
    NotSignedByKey {
        /// The expected key name.
        name: String,
        /// The expected key id.
        id: u32,
    },
    /// A signature line by the expected key that does not verify (strictly).
    #[error("the signature by key {name}+{id:08x} does not verify over the note text; the note was altered or forged")]
    BadSignature {
        /// The key name.
        name: String,
        /// The key id.
        id: u32,
    },
    /// A signed note whose text is not a tlog-checkpoint body.
    #[error("checkpoint body is malformed: want origin, decimal size without leading zeros, base64 root of 32 bytes, then optional non-empty extension lines, each ending in a newline")]
    MalformedBody,
    /// A checkpoint whose origin line is not the verifying key's name.
    #[error("checkpoint origin {origin:?} does not match the key name {key_name:?}")]
    OriginMismatch {
        /// The origin line.
        origin: String,
        /// The key name.
        key_name: String,
    },
    /// A tlog-proof that does not follow c2sp.org/tlog-proof@v1.
    #[error("tlog-proof line {line}: {reason}")]
    MalformedTlogProof {
        /// 1-based line number.
        line: usize,
        /// What is wrong there.
        reason: String,
    },
    /// The signer failed.
    #[error("signing the checkpoint failed: {0}")]
    Signing(String),
    /// A tlog-proof's inclusion proof does not verify against its checkpoint.
    #[error("tlog-proof inclusion proof: {0}")]
    Inclusion(#[from] MerkleError),
}

/// Whether `s` is acceptable as a log origin and signed-note key name: 1 to 255 bytes,
/// no Unicode whitespace, no control character in custody's one sense of the word
/// (docs/FORMAT.md "Text fields": C0, DEL, C1, the bidirectional controls, U+2028, U+2029),
/// no `+` (the vkey separator).
#[must_use]
pub fn valid_origin(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ORIGIN_BYTES
        && !s
            .chars()
            .any(|c| c.is_whitespace() || crate::rules::text::is_control_char(c) || c == '+')
}

pub(crate) fn check_origin(s: &str) -> Result<(), CheckpointError> {
    if valid_origin(s) {
        Ok(())
    } else {
        Err(CheckpointError::InvalidOrigin {
            origin: s.chars().take(MAX_ORIGIN_BYTES).collect(),
        })
    }
}

/// The signed-note key id of an Ed25519 key named `name`: the first 4 bytes, big-endian,
/// of SHA-256(name || 0x0A || 0x01 || public key).
#[must_use]
pub fn key_id(name: &str, key: &VerifyingKey) -> u32 {
    signed_note::key_id(name, &typed_key(key))
}

fn typed_key(key: &VerifyingKey) -> [u8; 33] {
    let mut out = [0u8; 33];
    out[0] = SIG_TYPE_ED25519;
    out[1..].copy_from_slice(key.as_bytes());
    out
}

/// Strict base64: standard alphabet, canonical padding, and re-encoding gives the input.
pub fn b64_strict(s: &str) -> Option<Vec<u8>> {
    let bytes = B64.decode(s).ok()?;
    (B64.encode(&bytes) == s).then_some(bytes)
}

/// A canonical ASCII decimal: digits only, no sign, no leading zero unless it is "0".
pub(crate) fn decimal_strict(s: &str) -> Option<u64> {
    let digits_only = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits_only || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    s.parse().ok()
}

/// An Ed25519 signed-note verifier that uses `verify_strict` and refuses weak keys.
///
/// `signed_note`'s own `StandardVerifier` uses the permissive `verify`, which accepts
/// signatures a strict verifier refuses (non-canonical R, small-order components); a
/// transparency log's signatures must mean the same thing to every verifier.
#[derive(Clone, Debug)]
pub struct StrictVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl StrictVerifier {
    /// A verifier for `key` under key name `name` (for a log, its origin).
    ///
    /// # Errors
    /// [`CheckpointError::InvalidOrigin`] for a bad name, [`CheckpointError::WeakKey`] for
    /// a small-order key.
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, CheckpointError> {
        check_origin(name)?;
        if !crate::keys::acceptable_key(&key) {
            return Err(CheckpointError::WeakKey {
                name: name.to_owned(),
            });
        }
        Ok(StrictVerifier {
            name: name.to_owned(),
            id: key_id(name, &key),
            key,
        })
    }

    /// The key's name.
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

    /// This verifier as a vkey string.
    #[must_use]
    pub fn to_vkey(&self) -> String {
        signed_note::new_ed25519_verifier_key(&self.name, &self.key)
    }
}

impl Verifier for StrictVerifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.id
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Ok(bytes) = <[u8; ed25519_dalek::SIGNATURE_LENGTH]>::try_from(sig) else {
            return false;
        };
        let sig = ed25519_dalek::Signature::from_bytes(&bytes);
        self.key.verify_strict(msg, &sig).is_ok()
    }
}

/// Exactly one trusted key: signatures by any other (name, id) are ignored as unknown.
struct OnlyKey<'a>(&'a StrictVerifier);

impl Verifiers for OnlyKey<'_> {
    fn verifier(&self, name: &str, id: u32) -> Result<&dyn Verifier, VerificationError> {
        if name == self.0.name && id == self.0.id {
            Ok(self.0)
        } else {
            Err(VerificationError::UnknownKey {
                name: name.to_owned(),
                id,
            })
        }
    }
}

/// A signed-note signer that borrows an Ed25519 signing key, so the secret is never
/// copied into a text string (as `signed_note`'s `StandardSigner` would require).
pub struct NoteSigner<'a> {
    name: String,
    id: u32,
    key: &'a dyn KeySigner,
}

impl<'a> NoteSigner<'a> {
    /// A signer for `key` under key name `name`.
    ///
    /// # Errors
    /// [`CheckpointError::InvalidOrigin`] for a bad name.
    pub fn new(name: &str, key: &'a dyn KeySigner) -> Result<Self, CheckpointError> {
        check_origin(name)?;
        Ok(NoteSigner {
            name: name.to_owned(),
            id: key_id(name, &key.verifying_key()),
            key,
        })
    }
}

impl signed_note::Signer for NoteSigner<'_> {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.id
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        Ok(self.key.try_sign(msg)?.to_bytes().to_vec())
    }
}

/// The C2SP vkey of `key` named `origin`: `origin+<hex8 key id>+<base64(0x01||key)>`.
///
/// # Errors
/// [`CheckpointError::InvalidOrigin`].
pub fn vkey(origin: &str, key: &VerifyingKey) -> Result<String, CheckpointError> {
    check_origin(origin)?;
    Ok(signed_note::new_ed25519_verifier_key(origin, key))
}

/// Parses a C2SP vkey into a [`StrictVerifier`], checking the key id against the
/// formula, the type byte (Ed25519 only), the key length, and that the key is not weak.
///
/// # Errors
/// [`CheckpointError::TooLarge`], [`CheckpointError::MalformedVkey`],
/// [`CheckpointError::InvalidOrigin`], [`CheckpointError::UnsupportedKeyType`],
/// [`CheckpointError::KeyIdMismatch`], or [`CheckpointError::WeakKey`].
pub fn parse_vkey(s: &str) -> Result<StrictVerifier, CheckpointError> {
    let (name, key) = parse_typed_vkey(s, SIG_TYPE_ED25519)?;
    StrictVerifier::new(&name, key)
}

/// Parses a C2SP vkey `name+hex8id+base64(type||key)` whose type byte must be `want`
/// (0x01 for a log's note signatures, 0x04 for a witness's cosignatures), checking the
/// key id against the formula and the key length. Weak keys are refused by the callers'
/// constructors, not here.
pub(crate) fn parse_typed_vkey(
    s: &str,
    want: u8,
) -> Result<(String, VerifyingKey), CheckpointError> {
    if s.len() > MAX_VKEY_BYTES {
        return Err(CheckpointError::TooLarge {
            what: "verifier key",
            len: s.len(),
            max: MAX_VKEY_BYTES,
        });
    }
    let malformed = |reason| CheckpointError::MalformedVkey { reason };
    let (name, rest) = s
        .split_once('+')
        .ok_or(malformed("no '+' after the name"))?;
    let (id_hex, key_b64) = rest
        .split_once('+')
        .ok_or(malformed("no '+' after the key id"))?;
    check_origin(name)?;
    if id_hex.len() != 8
        || !id_hex
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(malformed("the key id is not 8 lowercase hex digits"));
    }
    let stated = u32::from_str_radix(id_hex, 16).map_err(|_| malformed("bad key id"))?;
    let typed = b64_strict(key_b64).ok_or(malformed("the key is not canonical base64"))?;
    let (&alg, key) = typed.split_first().ok_or(malformed("the key is empty"))?;
    if alg != want {
        return Err(CheckpointError::UnsupportedKeyType {
            name: name.to_owned(),
            alg,
        });
    }
    let key: [u8; 32] = key
        .try_into()
        .map_err(|_| malformed("an Ed25519 public key is 32 bytes"))?;
    let computed = signed_note::key_id(name, &typed);
    if stated != computed {
        return Err(CheckpointError::KeyIdMismatch {
            name: name.to_owned(),
            stated,
            computed,
        });
    }
    let key = VerifyingKey::from_bytes(&key)
        .map_err(|_| malformed("the key is not a valid Ed25519 point"))?;
    Ok((name.to_owned(), key))
}

/// Signs the checkpoint (`origin`, `size`, `root`) with `key` (key name = origin) and
/// returns the whole signed note: body, blank line, one signature line.
///
/// # Errors
/// [`CheckpointError::InvalidOrigin`], or [`CheckpointError::Signing`].
pub fn sign(
    origin: &str,
    size: u64,
    root: Digest,
    key: &dyn KeySigner,
) -> Result<String, CheckpointError> {
    let signer = NoteSigner::new(origin, key)?;
    let body = tlog_tiles::Checkpoint::new(origin, size, root.into(), "")
        .map_err(|_| CheckpointError::MalformedBody)?
        .to_bytes();
    let mut note =
        Note::new(&body, &[]).map_err(|e| CheckpointError::MalformedNote(e.to_string()))?;
    note.add_sigs(&[&signer])
        .map_err(|e| CheckpointError::Signing(e.to_string()))?;
    String::from_utf8(note.to_bytes()).map_err(|e| CheckpointError::MalformedNote(e.to_string()))
}

/// A checkpoint whose log signature has been verified. Only [`open`] makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    origin: String,
    size: u64,
    root: Digest,
    extension: String,
    note: String,
}

impl SignedCheckpoint {
    /// The origin line (equal to the verifying key's name).
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tree size.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The tree root.
    #[must_use]
    pub fn root(&self) -> Digest {
        self.root
    }

    /// Extension lines after the root, each ending in a newline; empty if none.
    #[must_use]
    pub fn extension(&self) -> &str {
        &self.extension
    }

    /// The note exactly as given to [`open`], including any signatures not checked
    /// (witness cosignatures are kept, untouched).
    #[must_use]
    pub fn note(&self) -> &str {
        &self.note
    }
}

/// Verifies a signed checkpoint note with `verifier` and parses its body.
///
/// Steps: bound the size; parse the signed note; find the signature line whose name and
/// key id are the verifier's and verify it strictly (a failing one is an error, others
/// are ignored); parse the body strictly; require origin == key name.
///
/// # Errors
/// [`CheckpointError::TooLarge`], [`CheckpointError::MalformedNote`],
/// [`CheckpointError::NotSignedByKey`], [`CheckpointError::BadSignature`],
/// [`CheckpointError::MalformedBody`], or [`CheckpointError::OriginMismatch`].
pub fn open(note: &[u8], verifier: &StrictVerifier) -> Result<SignedCheckpoint, CheckpointError> {
    if note.len() > MAX_NOTE_BYTES {
        return Err(CheckpointError::TooLarge {
            what: "signed checkpoint",
            len: note.len(),
            max: MAX_NOTE_BYTES,
        });
    }
    let text = std::str::from_utf8(note)
        .map_err(|_| CheckpointError::MalformedNote("not UTF-8".into()))?;
    let parsed =
        Note::from_bytes(note).map_err(|e| CheckpointError::MalformedNote(e.to_string()))?;
    match parsed.verify(&OnlyKey(verifier)) {
        Ok(_) => {}
        Err(NoteError::UnverifiedNote) => {
            return Err(CheckpointError::NotSignedByKey {
                name: verifier.name.clone(),
                id: verifier.id,
            })
        }
        Err(NoteError::InvalidSignature { name, id }) => {
            return Err(CheckpointError::BadSignature { name, id })
        }
        Err(e) => return Err(CheckpointError::MalformedNote(e.to_string())),
    }
    let body = tlog_tiles::Checkpoint::from_bytes(parsed.text())
        .map_err(|_| CheckpointError::MalformedBody)?;
    if body.origin() != verifier.name {
        return Err(CheckpointError::OriginMismatch {
            origin: body.origin().chars().take(MAX_ORIGIN_BYTES).collect(),
            key_name: verifier.name.clone(),
        });
    }
    Ok(SignedCheckpoint {
        origin: body.origin().to_owned(),
        size: body.size(),
        root: Digest::from(*body.hash()),
        extension: body.extension().to_owned(),
        note: text.to_owned(),
    })
}

/// A parsed (not yet verified) c2sp.org/tlog-proof@v1 proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// Optional opaque extra data (the `extra` line). Not authenticated.
    pub extra: Option<Vec<u8>>,
    /// Zero-based index of the entry.
    pub index: u64,
    /// RFC 9162 inclusion proof, leaf's sibling first.
    pub proof: Vec<Digest>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint_note: String,
}

impl TlogProof {
    /// The proof in c2sp.org/tlog-proof@v1 text.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut s = String::with_capacity(64 + 45 * self.proof.len() + self.checkpoint_note.len());
        s.push_str(TLOG_PROOF_HEADER);
        s.push('\n');
        if let Some(extra) = &self.extra {
            s.push_str("extra ");
            s.push_str(&B64.encode(extra));
            s.push('\n');
        }
        s.push_str("index ");
        s.push_str(&self.index.to_string());
        s.push('\n');
        for h in &self.proof {
            s.push_str(&B64.encode(h.0));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint_note);
        s
    }

    /// Verifies the checkpoint with `verifier` and that `leaf` (the entry's leaf hash) is
    /// at `index` in it. Returns the verified checkpoint.
    ///
    /// # Errors
    /// Any error of [`open`], or [`CheckpointError::Inclusion`].
    pub fn verify(
        &self,
        leaf: Digest,
        verifier: &StrictVerifier,
    ) -> Result<SignedCheckpoint, CheckpointError> {
        let cp = open(self.checkpoint_note.as_bytes(), verifier)?;
        merkle::verify_inclusion(leaf, self.index, cp.size, &self.proof, cp.root)?;
        Ok(cp)
    }
}

/// Formats a c2sp.org/tlog-proof@v1 proof without extra data.
#[must_use]
pub fn format_tlog_proof(index: u64, proof: &[Digest], checkpoint_note: &str) -> String {
    TlogProof {
        extra: None,
        index,
        proof: proof.to_vec(),
        checkpoint_note: checkpoint_note.to_owned(),
    }
    .to_text()
}

/// Parses a c2sp.org/tlog-proof@v1 proof strictly: exact header, optional canonical
/// base64 `extra`, canonical decimal `index`, at most 64 canonical base64 32-byte hashes,
/// a blank line, then a well-formed signed note (kept verbatim, not verified here).
///
/// # Errors
/// [`CheckpointError::TooLarge`] or [`CheckpointError::MalformedTlogProof`].
pub fn parse_tlog_proof(text: &[u8]) -> Result<TlogProof, CheckpointError> {
    if text.len() > MAX_TLOG_PROOF_BYTES {
        return Err(CheckpointError::TooLarge {
            what: "tlog-proof",
            len: text.len(),
            max: MAX_TLOG_PROOF_BYTES,
        });
    }
    let bad = |line: usize, reason: &str| CheckpointError::MalformedTlogProof {
        line,
        reason: reason.to_owned(),
    };
    let text = std::str::from_utf8(text).map_err(|_| bad(1, "the proof is not UTF-8"))?;
    let mut rest = text;
    let mut line_no = 0usize;
    let mut next_line = |rest: &mut &str| -> Result<(usize, String), CheckpointError> {
        line_no += 1;
        let (line, after) = rest.split_once('\n').ok_or_else(|| {
            bad(
                line_no,
                "the proof ends before the blank line and checkpoint",
            )
        })?;
        *rest = after;
        Ok((line_no, line.to_owned()))
    };

    let (n, line) = next_line(&mut rest)?;
    if line != TLOG_PROOF_HEADER {
        return Err(bad(n, "the first line must be c2sp.org/tlog-proof@v1"));
    }
    let (mut n, mut line) = next_line(&mut rest)?;
    let mut extra = None;
    if let Some(b64) = line.strip_prefix("extra ") {
        extra = Some(b64_strict(b64).ok_or_else(|| bad(n, "extra data is not canonical base64"))?);
        (n, line) = next_line(&mut rest)?;
    }
    let index = line
        .strip_prefix("index ")
        .and_then(decimal_strict)
        .ok_or_else(|| bad(n, "want \"index <decimal without leading zeros>\""))?;
    let mut proof = Vec::new();
    loop {
        let (n, line) = next_line(&mut rest)?;
        if line.is_empty() {
            break;
        }
        if proof.len() == merkle::MAX_PROOF_LEN {
            return Err(bad(n, "more than 64 proof hashes"));
        }
        let h = b64_strict(&line)
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| bad(n, "a proof line must be canonical base64 of 32 bytes"))?;
        proof.push(Digest(h));
    }
    if let Err(e) = Note::from_bytes(rest.as_bytes()) {
        return Err(CheckpointError::MalformedTlogProof {
            line: line_no + 1,
            reason: format!("the checkpoint is not a signed note: {e}"),
        });
    }
    Ok(TlogProof {
        extra,
        index,
        proof,
        checkpoint_note: rest.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    // The worked example in docs/CHECKPOINTS.md. The test below checks that the code
    // produces it and that the document quotes it verbatim.
    const EXAMPLE_SEED_TEXT: &str = "custody CHECKPOINTS.md example key v1";
    const EXAMPLE_SEED_HEX: &str =
        "22a85b953322866a3dd4a0bbc265d086c75f8a4a916a95b7f33f2992b5651a9a";
    const EXAMPLE_PUBLIC_HEX: &str =
        "10d638664b86d22cff6f5c08ad6d6ab7108f662dc82f325a2b5a253de8eb6e98";
    const EXAMPLE_ORIGIN: &str = "example.org/custody-example";
    const EXAMPLE_ROOT_HEX: &str =
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328";
    const EXAMPLE_VKEY: &str =
        "example.org/custody-example+257d4fba+ARDWOGZLhtIs/29cCK1tarcQj2YtyC8yWitaJT3o626Y";
    const EXAMPLE_BODY: &str = "example.org/custody-example\n\
                                8\n\
                                XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n";
    const EXAMPLE_SIG_LINE: &str = "— example.org/custody-example \
        JX1PunSdIl69UrcSCkdF4pAZjeXPSFU9/J+pdl+xdCvsUrbjdmjvakzX7Sor/QVvME1ZEQ62R5L7Xhcw6i/LbEXXBQ4=";
    const EXAMPLE_PROOF: [&str; 3] = [
        "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=",
        "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=",
        "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=",
    ];
    const DOC: &str = include_str!("../../../docs/CHECKPOINTS.md");

    fn example_key() -> SigningKey {
        SigningKey::from_bytes(&Digest::of(EXAMPLE_SEED_TEXT.as_bytes()).0)
    }

    fn example_root() -> Digest {
        Digest::from_hex(EXAMPLE_ROOT_HEX).unwrap()
    }

    fn example_note() -> String {
        format!("{EXAMPLE_BODY}\n{EXAMPLE_SIG_LINE}\n")
    }

    #[test]
    fn doc_example_is_what_the_code_produces() {
        let sk = example_key();
        assert_eq!(hex::encode(sk.to_bytes()), EXAMPLE_SEED_HEX);
        assert_eq!(
            hex::encode(sk.verifying_key().as_bytes()),
            EXAMPLE_PUBLIC_HEX
        );
        assert_eq!(
            vkey(EXAMPLE_ORIGIN, &sk.verifying_key()).unwrap(),
            EXAMPLE_VKEY
        );
        let note = sign(EXAMPLE_ORIGIN, 8, example_root(), &sk).unwrap();
        assert_eq!(note, example_note());

        // The 8-leaf tree of the shared RFC 6962 vectors, leaf 5 = 0x40414243.
        let leaves: Vec<Digest> = [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|h| Digest::leaf(&hex::decode(h).unwrap()))
        .collect();
        assert_eq!(merkle::root_of_leaves(&leaves), example_root());
        let mem = merkle::MemoryHashes::from_leaves(&leaves);
        let proof = merkle::prove_inclusion(5, 8, &mem).unwrap();
        let b64: Vec<String> = proof.iter().map(|d| B64.encode(d.0)).collect();
        assert_eq!(b64, EXAMPLE_PROOF);
        let tlog_proof = format_tlog_proof(5, &proof, &note);

        let ver = parse_vkey(EXAMPLE_VKEY).unwrap();
        let cp = parse_tlog_proof(tlog_proof.as_bytes())
            .unwrap()
            .verify(leaves[5], &ver)
            .unwrap();
        assert_eq!(
            (cp.origin(), cp.size(), cp.root()),
            (EXAMPLE_ORIGIN, 8, example_root())
        );

        // The document quotes every value verbatim.
        assert!(DOC.starts_with("# custody checkpoints, version 1\n"));
        for needle in [
            EXAMPLE_SEED_TEXT,
            EXAMPLE_SEED_HEX,
            EXAMPLE_PUBLIC_HEX,
            EXAMPLE_VKEY,
            EXAMPLE_ROOT_HEX,
            &note,
            &tlog_proof,
        ] {
            assert!(DOC.contains(needle), "docs/CHECKPOINTS.md lacks {needle:?}");
        }
    }

    #[test]
    fn our_checkpoints_verify_with_signed_notes_standard_verifier() {
        let sk = example_key();
        let note = sign(EXAMPLE_ORIGIN, 8, example_root(), &sk).unwrap();
        let standard = signed_note::StandardVerifier::new(EXAMPLE_VKEY).unwrap();
        let list = signed_note::VerifierList::new(vec![Box::new(standard)]);
        let parsed = Note::from_bytes(note.as_bytes()).unwrap();
        let (verified, unverified) = parsed.verify(&list).unwrap();
        assert_eq!((verified.len(), unverified.len()), (1, 0));
        assert_eq!(parsed.text(), EXAMPLE_BODY.as_bytes());
        let ours = parse_vkey(EXAMPLE_VKEY).unwrap();
        assert!(open(note.as_bytes(), &ours).is_ok());
        // And signed_note's text-secret signer produces the same bytes as ours.
        let skey = format!(
            "PRIVATE+KEY+{EXAMPLE_ORIGIN}+{:08x}+{}",
            ours.key_id(),
            B64.encode([&[SIG_TYPE_ED25519][..], &sk.to_bytes()].concat())
        );
        let theirs = signed_note::StandardSigner::new(&skey).unwrap();
        let mut n = Note::new(EXAMPLE_BODY.as_bytes(), &[]).unwrap();
        n.add_sigs(&[&theirs]).unwrap();
        assert_eq!(n.to_bytes(), note.as_bytes());
    }

    #[test]
    fn weak_keys_are_refused_where_the_standard_verifier_accepts_a_forgery() {
        // The identity point: a small-order key. With R = identity and s = 0 the
        // cofactorless equation [s]B = R + [k]A holds for every message.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak = VerifyingKey::from_bytes(&identity).unwrap();
        let name = "weak.example";
        let vk = signed_note::new_ed25519_verifier_key(name, &weak);
        let mut sig = [0u8; 64];
        sig[0] = 1;
        let id = key_id(name, &weak);
        let forged = format!(
            "weak.example\n1\n{}\n\n— {name} {}\n",
            B64.encode([7u8; 32]),
            B64.encode([&id.to_be_bytes()[..], &sig].concat())
        );
        let standard = signed_note::StandardVerifier::new(&vk).unwrap();
        let list = signed_note::VerifierList::new(vec![Box::new(standard)]);
        assert!(Note::from_bytes(forged.as_bytes())
            .unwrap()
            .verify(&list)
            .is_ok());
        assert!(matches!(
            parse_vkey(&vk),
            Err(CheckpointError::WeakKey { .. })
        ));
        assert!(matches!(
            StrictVerifier::new(name, weak),
            Err(CheckpointError::WeakKey { .. })
        ));
    }

    #[test]
    fn open_refuses_wrong_key_origin_and_oversize() {
        let sk = example_key();
        let ver = parse_vkey(EXAMPLE_VKEY).unwrap();
        // Signed by the right key but naming another origin.
        let signer = NoteSigner::new(EXAMPLE_ORIGIN, &sk).unwrap();
        let body = format!("other.example\n8\n{}\n", B64.encode(example_root().0));
        let mut n = Note::new(body.as_bytes(), &[]).unwrap();
        n.add_sigs(&[&signer]).unwrap();
        assert!(matches!(
            open(&n.to_bytes(), &ver),
            Err(CheckpointError::OriginMismatch { .. })
        ));
        // Signed by another key.
        let other = SigningKey::from_bytes(&[9u8; 32]);
        let note = sign(EXAMPLE_ORIGIN, 8, example_root(), &other).unwrap();
        assert!(matches!(
            open(note.as_bytes(), &ver),
            Err(CheckpointError::NotSignedByKey { .. })
        ));
        // Too large.
        let big = vec![b'a'; MAX_NOTE_BYTES + 1];
        assert!(matches!(
            open(&big, &ver),
            Err(CheckpointError::TooLarge { .. })
        ));
        // Extension lines are kept.
        let body = format!(
            "{EXAMPLE_ORIGIN}\n8\n{}\next one\n",
            B64.encode(example_root().0)
        );
        let mut n = Note::new(body.as_bytes(), &[]).unwrap();
        n.add_sigs(&[&signer]).unwrap();
        assert_eq!(open(&n.to_bytes(), &ver).unwrap().extension(), "ext one\n");
    }

    #[test]
    fn origins() {
        assert!(valid_origin("example.org/log"));
        assert!(valid_origin(&"a".repeat(255)));
        for bad in [
            "",
            "a b",
            "a+b",
            "a\tb",
            "a\u{0}b",
            "a\u{85}b",
            "a\u{2003}b",
        ] {
            assert!(!valid_origin(bad), "{bad:?}");
        }
        assert!(!valid_origin(&"a".repeat(256)));
        assert!(matches!(
            sign("bad origin", 1, Digest::ZERO, &example_key()),
            Err(CheckpointError::InvalidOrigin { .. })
        ));
    }

    #[test]
    fn vkeys_are_parsed_strictly() {
        assert!(parse_vkey(EXAMPLE_VKEY).is_ok());
        let upper = EXAMPLE_VKEY.replace("257d4fba", "257D4FBA");
        let wrong_id = EXAMPLE_VKEY.replace("257d4fba", "257d4fbb");
        let plus_id = EXAMPLE_VKEY.replace("257d4fba", "+57d4fba");
        for (bad, why) in [
            (upper.as_str(), "uppercase id"),
            (plus_id.as_str(), "signed id"),
            ("nokey", "no separators"),
            ("a+b", "one separator"),
            ("a+257d4fba+", "empty key"),
        ] {
            assert!(parse_vkey(bad).is_err(), "{why}");
        }
        assert!(matches!(
            parse_vkey(&wrong_id),
            Err(CheckpointError::KeyIdMismatch { .. })
        ));
        assert!(matches!(
            parse_vkey(&"a".repeat(2000)),
            Err(CheckpointError::TooLarge { .. })
        ));
    }

    #[test]
    fn tlog_proofs_are_parsed_strictly() {
        let note = example_note();
        let h = EXAMPLE_PROOF.join("\n");
        let ok = format!("{TLOG_PROOF_HEADER}\nindex 5\n{h}\n\n{note}");
        assert!(parse_tlog_proof(ok.as_bytes()).is_ok());

        let with_extra = TlogProof {
            extra: Some(b"opaque".to_vec()),
            index: 0,
            proof: vec![],
            checkpoint_note: note.clone(),
        };
        let text = with_extra.to_text();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra b3BhcXVl\nindex 0\n\n"));
        assert_eq!(parse_tlog_proof(text.as_bytes()).unwrap(), with_extra);

        let short = B64.encode([1u8; 31]);
        let many = vec![EXAMPLE_PROOF[0]; 65].join("\n");
        let bad = [
            format!("c2sp.org/tlog-proof@v2\nindex 5\n{h}\n\n{note}"),
            format!("{TLOG_PROOF_HEADER}\nindex 05\n{h}\n\n{note}"),
            format!("{TLOG_PROOF_HEADER}\nindex +5\n{h}\n\n{note}"),
            format!("{TLOG_PROOF_HEADER}\nindex  5\n{h}\n\n{note}"),
            format!("{TLOG_PROOF_HEADER}\nindex 18446744073709551616\n{h}\n\n{note}"),
            format!("{TLOG_PROOF_HEADER}\nextra !!\nindex 5\n{h}\n\n{note}"),
            format!("{TLOG_PROOF_HEADER}\nindex 5\n{short}\n\n{note}"),
            format!("{TLOG_PROOF_HEADER}\nindex 5\n{many}\n\n{note}"),
            format!("{TLOG_PROOF_HEADER}\nindex 5\n{h}\n{note}"),
            format!("{TLOG_PROOF_HEADER}\nindex 5\n{h}\n\n"),
            format!("{TLOG_PROOF_HEADER}\nindex 5\n{h}"),
        ];
        for (i, b) in bad.iter().enumerate() {
            assert!(
                matches!(
                    parse_tlog_proof(b.as_bytes()),
                    Err(CheckpointError::MalformedTlogProof { .. })
                ),
                "case {i}"
            );
        }
        let big = vec![b'a'; MAX_TLOG_PROOF_BYTES + 1];
        assert!(matches!(
            parse_tlog_proof(&big),
            Err(CheckpointError::TooLarge { .. })
        ));
    }
}
