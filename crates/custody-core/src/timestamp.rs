//! RFC 3161 trusted time for checkpoints: the bytes a Time-Stamping Authority (TSA) stamps, the
//! request custody sends it, and the verification of the token it answers with
//! (`docs/TIMESTAMPS.md`).
//!
//! The operator signs checkpoints with its own clock, so it could backdate one. A token from an
//! independent TSA proves that the log-signed checkpoint existed no later than the TSA's
//! `genTime`: the TSA signs (CMS SignedData, RFC 5652) a TSTInfo whose messageImprint is
//! SHA-256 of the checkpoint note *as the log signed it* ([`log_signed_note`]: body, blank line,
//! the log's own signature lines; witness cosignatures removed, so they can be added before or
//! after the token).
//!
//! This module owns that message, [`request`] and [`verify`]. It decodes with RustCrypto's
//! `x509-tsp`, `cms` and `x509-cert` types (the ESS signing-certificate attributes of RFC 2634 /
//! RFC 5035, which no crate of that family defines yet, are declared here as `der` derive types,
//! not parsed by hand) and checks signatures with `p256`, `p384` and `rsa`. It never touches a
//! file, the clock or the network: the token, the note and the trusted roots are passed in, and
//! "now" plays no part (certificates must be valid at `genTime`, the time the token states).

use crate::checkpoint::{StrictVerifier, MAX_NOTE_BYTES};
use crate::hash::Digest;
use cms::cert::x509::{
    attr::Attribute,
    ext::pkix::{
        name::GeneralName, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
        SubjectKeyIdentifier,
    },
    spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned},
};
use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{Any, Int, ObjectIdentifier as Oid, OctetString, Uint};
use der::{Decode, Encode, Sequence};
use sha2::Digest as _;
use signature::Verifier as _;
use thiserror::Error;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

/// An X.509 certificate (x509-cert's), as trusted roots are passed to [`verify`].
pub use cms::cert::x509::Certificate;

/// The largest token or TimeStampResp custody decodes. Real tokens with a certificate chain
/// are a few KiB.
pub const MAX_TOKEN_BYTES: usize = 64 * 1024;
/// The most certificates a token may carry (signer and intermediates).
pub const MAX_CERTIFICATES: usize = 8;
/// The most issuers above the signer certificate, the root included.
pub const MAX_CHAIN_LEN: usize = 4;
/// The most trusted roots a caller may pass, and the most a PEM file may hold.
pub const MAX_ROOTS: usize = 32;
/// The largest file of trusted roots [`parse_roots`] reads.
pub const MAX_ROOTS_BYTES: usize = 256 * 1024;
/// The nonce custody sends: 16 random bytes, read as an unsigned big-endian integer.
pub type Nonce = [u8; 16];

/// The smallest RSA modulus accepted for a TSA or CA signature, in bits.
const MIN_RSA_BITS: usize = 2048;

mod oid {
    use der::asn1::ObjectIdentifier as Oid;
    pub const SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
    pub const CT_TST_INFO: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.1.4");
    pub const CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
    pub const MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
    pub const SIGNING_CERTIFICATE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.12");
    pub const SIGNING_CERTIFICATE_V2: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.47");
    pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
    pub const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
    pub const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");
    pub const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
    pub const SECP256R1: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
    pub const SECP384R1: Oid = Oid::new_unwrap("1.3.132.0.34");
    pub const ECDSA_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
    pub const ECDSA_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
    pub const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
    pub const SHA256_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
    pub const SHA384_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
    pub const SHA512_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
    pub const KP_TIME_STAMPING: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.8");
    pub const CE_SUBJECT_KEY_ID: Oid = Oid::new_unwrap("2.5.29.14");
    pub const CE_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.15");
    pub const CE_SUBJECT_ALT_NAME: Oid = Oid::new_unwrap("2.5.29.17");
    pub const CE_BASIC_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.19");
    pub const CE_AUTHORITY_KEY_ID: Oid = Oid::new_unwrap("2.5.29.35");
    pub const CE_EXT_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.37");
}

/// Why a token, request or root file was refused. Each message says what is wrong and, where
/// there is one, what to do.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// Input larger than its bound; nothing was decoded.
    #[error("{what} is {len} bytes; custody reads at most {max}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// The checkpoint note is not a well-formed signed note.
    #[error("the checkpoint note is malformed: {0}")]
    Note(String),
    /// The note carries no signature line by the log's key, so there is nothing to stamp.
    #[error("the checkpoint note has no signature by the log key {name}+{id:08x}; a token stamps the note as the log signed it")]
    NotSignedByLog {
        /// The log key's name.
        name: String,
        /// The log key's id.
        id: u32,
    },
    /// Bytes that do not decode as the DER structure expected.
    #[error("{what} is not valid DER: {reason}")]
    Malformed {
        /// Which structure.
        what: &'static str,
        /// The decoder's message.
        reason: String,
    },
    /// A TimeStampResp whose status is not granted.
    #[error("the TSA refused the request (status {status}{text}); check the TSA URL and that it accepts SHA-256 requests")]
    Refused {
        /// The PKIStatus.
        status: String,
        /// The TSA's status text, if any (`: text`).
        text: String,
    },
    /// A structurally valid token that breaks a rule of RFC 3161 / RFC 5652 as custody applies it.
    #[error("the token is not a valid RFC 3161 time-stamp token: {0}")]
    Structure(String),
    /// An algorithm custody does not verify.
    #[error("unsupported {what} {oid}: custody verifies ECDSA P-256/SHA-256, P-384/SHA-384 and RSA PKCS#1 v1.5 with SHA-256/384/512 (RSA keys of 2048 to 4096 bits); ask the TSA for one of those")]
    UnsupportedAlgorithm {
        /// Which algorithm (signature, digest, curve, key).
        what: &'static str,
        /// Its OID, or a description.
        oid: String,
    },
    /// The signed attributes' message digest is not the digest of the TSTInfo.
    #[error("the token's message-digest attribute is not the digest of its TSTInfo: the TSTInfo was altered after signing")]
    ContentDigest,
    /// The TSA's signature over the signed attributes does not verify.
    #[error("the TSA's signature does not verify over the token's signed attributes: the token was altered or forged")]
    BadSignature,
    /// The signer certificate is not in the token.
    #[error("the token does not carry the certificate of its signer; request tokens with certReq (custody does) or supply a TSA that includes it")]
    SignerNotFound,
    /// The ESS signing-certificate attribute does not name the signer certificate.
    #[error("the signing-certificate attribute does not name the signer's certificate: {0}")]
    EssCertId(String),
    /// The signer certificate's extended key usage is not exactly a critical id-kp-timeStamping.
    #[error("the TSA certificate {subject} may not sign time stamps: {reason} (RFC 3161 §2.3 wants a critical extendedKeyUsage holding only id-kp-timeStamping)")]
    KeyUsage {
        /// The certificate's subject.
        subject: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A certificate of the chain is not valid at genTime.
    #[error("certificate {subject} is not valid at the token's genTime {gen_time} (valid {not_before} to {not_after})")]
    NotValidAtGenTime {
        /// The certificate's subject.
        subject: String,
        /// genTime, RFC 3339.
        gen_time: String,
        /// notBefore, RFC 3339.
        not_before: String,
        /// notAfter, RFC 3339.
        not_after: String,
    },
    /// The chain is broken: a signature, a CA constraint, an unknown critical extension, length.
    #[error("the TSA's certificate chain does not verify: {0}")]
    Chain(String),
    /// The chain does not end in a root the caller trusts.
    #[error("the TSA certificate chain ends at {issuer}, which is not among the trusted roots given; pass the root of this TSA with --tsa-cert, if you trust it")]
    UntrustedRoot {
        /// The issuer no trusted root matched.
        issuer: String,
    },
    /// The token stamps other bytes than this checkpoint.
    #[error("the token stamps SHA-256 {found}, but the log-signed checkpoint hashes to {expected}: it is a token for another checkpoint, or the checkpoint was altered")]
    Imprint {
        /// SHA-256 of the log-signed note.
        expected: String,
        /// The imprint in the token.
        found: String,
    },
    /// The nonce in the token is not the one sent.
    #[error("the token's nonce {found} is not the nonce {expected} custody sent: it answers another request (a replay?)")]
    Nonce {
        /// The nonce sent, hex.
        expected: String,
        /// The nonce in the token, hex, or "none".
        found: String,
    },
    /// Trusted roots that cannot be used.
    #[error("trusted TSA roots: {0}")]
    Roots(String),
}

fn malformed(what: &'static str) -> impl FnOnce(der::Error) -> TimestampError {
    move |e| TimestampError::Malformed {
        what,
        reason: e.to_string(),
    }
}

fn structure(reason: impl Into<String>) -> TimestampError {
    TimestampError::Structure(reason.into())
}

/// The optional `accuracy` of a TSTInfo (RFC 3161 §2.4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Accuracy {
    /// Whole seconds.
    pub seconds: Option<u64>,
    /// Milliseconds, 1 to 999.
    pub millis: Option<u16>,
    /// Microseconds, 1 to 999.
    pub micros: Option<u16>,
}

/// A token every check of [`verify`] passed. Only [`verify`] makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedTimestamp {
    /// genTime, seconds since 1970 (UTC).
    pub gen_time: i64,
    /// genTime as RFC 3339 (`2026-01-15T12:00:00Z`).
    pub gen_time_rfc3339: String,
    /// The signer certificate's subject, RFC 4514.
    pub tsa_subject: String,
    /// The TSA policy OID, dotted.
    pub policy: String,
    /// The token's serial number, lowercase hex of its big-endian bytes.
    pub serial: String,
    /// The TSA's stated accuracy of genTime, if any.
    pub accuracy: Option<Accuracy>,
    /// The nonce in the token, lowercase hex, if any.
    pub nonce: Option<String>,
    /// SHA-256 of the log-signed note (the messageImprint).
    pub imprint: Digest,
    /// The signature algorithm, e.g. `ECDSA P-256 SHA-256`.
    pub algorithm: &'static str,
    /// The bare token (ContentInfo) DER, whether a response or a token was given.
    pub token: Vec<u8>,
}

/// The checkpoint note as the log alone signed it: the body, the blank line and the signature
/// lines by the key (`key_name`, `key_id`), byte for byte and in order; every other signature
/// line (witness cosignatures, other keys) is removed. This is the message a token stamps.
///
/// # Errors
/// [`TimestampError::TooLarge`], [`TimestampError::Note`] for a note that is not a well-formed
/// signed note, [`TimestampError::NotSignedByLog`] if no line is by that key.
pub fn log_signed_note(
    note: &[u8],
    key_name: &str,
    key_id: u32,
) -> Result<Vec<u8>, TimestampError> {
    if note.len() > MAX_NOTE_BYTES {
        return Err(TimestampError::TooLarge {
            what: "checkpoint note",
            len: note.len(),
            max: MAX_NOTE_BYTES,
        });
    }
    signed_note::Note::from_bytes(note).map_err(|e| TimestampError::Note(e.to_string()))?;
    // Note::from_bytes accepted it, so it is UTF-8 and splits as signed_note splits it: the
    // text up to the last blank line, then newline-terminated signature lines.
    let text = std::str::from_utf8(note).map_err(|_| TimestampError::Note("not UTF-8".into()))?;
    let (body, sigs) = text
        .rsplit_once("\n\n")
        .ok_or_else(|| TimestampError::Note("no blank line before the signatures".into()))?;
    let mut out = Vec::with_capacity(note.len());
    out.extend_from_slice(body.as_bytes());
    out.extend_from_slice(b"\n\n");
    let mut kept = 0usize;
    for line in sigs.strip_suffix('\n').unwrap_or(sigs).split('\n') {
        let sig = signed_note::Signature::from_bytes(line.as_bytes())
            .map_err(|e| TimestampError::Note(e.to_string()))?;
        if sig.name() == key_name && sig.id() == key_id {
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
            kept += 1;
        }
    }
    if kept == 0 {
        return Err(TimestampError::NotSignedByLog {
            name: key_name.to_owned(),
            id: key_id,
        });
    }
    Ok(out)
}

/// SHA-256 of [`log_signed_note`] for the log key `log`: the messageImprint of every token over
/// this checkpoint.
///
/// # Errors
/// As [`log_signed_note`].
pub fn imprint(note: &[u8], log: &StrictVerifier) -> Result<Digest, TimestampError> {
    Ok(Digest::of(&log_signed_note(
        note,
        log.name(),
        log.key_id(),
    )?))
}

fn sha256_alg() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: oid::SHA256,
        parameters: Some(Any::null()),
    }
}

fn nonce_int(nonce: &Nonce) -> Result<Int, TimestampError> {
    let u = Uint::new(nonce).map_err(malformed("nonce"))?;
    Ok(Int::from(u))
}

/// A DER TimeStampReq (RFC 3161 §2.4.1): version 1, messageImprint SHA-256 of `message` (the
/// log-signed note), no policy, `nonce` as a positive INTEGER, `certReq` as given, no
/// extensions. The nonce is passed in: the core has no random source.
///
/// # Errors
/// Only if encoding fails, which it does not for these values.
pub fn request(message: &[u8], nonce: &Nonce, cert_req: bool) -> Result<Vec<u8>, TimestampError> {
    let req = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: sha256_alg(),
            hashed_message: OctetString::new(Digest::of(message).0.to_vec())
                .map_err(malformed("imprint"))?,
        },
        req_policy: None,
        nonce: Some(nonce_int(nonce)?),
        cert_req,
        extensions: None,
    };
    req.to_der().map_err(malformed("TimeStampReq"))
}

/// Trusted roots from a file's bytes: one or more PEM `CERTIFICATE` blocks, or one DER
/// certificate.
///
/// # Errors
/// [`TimestampError::TooLarge`], or [`TimestampError::Roots`] when nothing usable is there.
pub fn parse_roots(bytes: &[u8]) -> Result<Vec<Certificate>, TimestampError> {
    if bytes.len() > MAX_ROOTS_BYTES {
        return Err(TimestampError::TooLarge {
            what: "trusted root file",
            len: bytes.len(),
            max: MAX_ROOTS_BYTES,
        });
    }
    let roots = if bytes.starts_with(b"-----BEGIN") || bytes.trim_ascii_start().starts_with(b"-") {
        Certificate::load_pem_chain(bytes)
            .map_err(|e| TimestampError::Roots(format!("not PEM certificates: {e}")))?
    } else {
        vec![Certificate::from_der(bytes)
            .map_err(|e| TimestampError::Roots(format!("not a DER or PEM certificate: {e}")))?]
    };
    if roots.is_empty() {
        return Err(TimestampError::Roots(
            "the file holds no certificate".into(),
        ));
    }
    if roots.len() > MAX_ROOTS {
        return Err(TimestampError::Roots(format!(
            "{} certificates; custody takes at most {MAX_ROOTS}",
            roots.len()
        )));
    }
    Ok(roots)
}

/// The bare TimeStampToken (ContentInfo DER) in `bytes`: a TimeStampResp whose status is
/// granted or grantedWithMods, or a token as it is. Nothing is verified here beyond the
/// status; use [`verify`].
///
/// # Errors
/// [`TimestampError::TooLarge`], [`TimestampError::Malformed`], [`TimestampError::Refused`].
pub fn token_of(bytes: &[u8]) -> Result<Vec<u8>, TimestampError> {
    if bytes.len() > MAX_TOKEN_BYTES {
        return Err(TimestampError::TooLarge {
            what: "time-stamp token",
            len: bytes.len(),
            max: MAX_TOKEN_BYTES,
        });
    }
    // A ContentInfo starts with an OID, a TimeStampResp with a SEQUENCE (PKIStatusInfo).
    if ContentInfo::from_der(bytes).is_ok() {
        return Ok(bytes.to_vec());
    }
    let resp = TimeStampResp::from_der(bytes).map_err(malformed("TimeStampResp or token"))?;
    use cmpv2::status::PkiStatus;
    match resp.status.status {
        PkiStatus::Accepted | PkiStatus::GrantedWithMods => {}
        other => {
            let text = resp
                .status
                .status_string
                .as_ref()
                .map(|t| {
                    t.iter()
                        .map(|s| s.as_str().to_owned())
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .filter(|t| !t.is_empty())
                .map(|t| format!(": {}", t.chars().take(200).collect::<String>()))
                .unwrap_or_default();
            return Err(TimestampError::Refused {
                status: format!("{other:?}"),
                text,
            });
        }
    }
    let token = resp
        .time_stamp_token
        .ok_or_else(|| structure("the TSA granted the request but sent no token"))?;
    token.to_der().map_err(malformed("TimeStampToken"))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn of_digest_alg(alg: &AlgorithmIdentifierOwned) -> Result<Hash, TimestampError> {
        if !params_absent_or_null(alg) {
            return Err(structure(format!(
                "digest algorithm {} has parameters other than NULL",
                alg.oid
            )));
        }
        match alg.oid {
            oid::SHA256 => Ok(Hash::Sha256),
            oid::SHA384 => Ok(Hash::Sha384),
            oid::SHA512 => Ok(Hash::Sha512),
            other => Err(TimestampError::UnsupportedAlgorithm {
                what: "digest algorithm",
                oid: other.to_string(),
            }),
        }
    }

    fn digest(self, bytes: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha256 => sha2::Sha256::digest(bytes).to_vec(),
            Hash::Sha384 => sha2::Sha384::digest(bytes).to_vec(),
            Hash::Sha512 => sha2::Sha512::digest(bytes).to_vec(),
        }
    }
}

fn params_absent_or_null(alg: &AlgorithmIdentifierOwned) -> bool {
    alg.parameters.as_ref().is_none_or(|p| p.is_null())
}

/// What a signature algorithm identifier asks for: ECDSA or RSA PKCS#1 v1.5, and its hash.
/// `rsaEncryption` (as OpenSSL writes in CMS) takes its hash from the SignerInfo's digest
/// algorithm, given as `digest`.
fn signature_scheme(
    alg: &AlgorithmIdentifierOwned,
    digest: Option<Hash>,
) -> Result<(bool, Hash), TimestampError> {
    let unsupported = || TimestampError::UnsupportedAlgorithm {
        what: "signature algorithm",
        oid: alg.oid.to_string(),
    };
    let ecdsa = matches!(alg.oid, oid::ECDSA_SHA256 | oid::ECDSA_SHA384);
    // ECDSA identifiers have absent parameters (RFC 5758); RSA ones NULL or absent.
    if ecdsa && alg.parameters.is_some() || !ecdsa && !params_absent_or_null(alg) {
        return Err(structure(format!(
            "signature algorithm {} has unexpected parameters",
            alg.oid
        )));
    }
    Ok(match alg.oid {
        oid::ECDSA_SHA256 => (true, Hash::Sha256),
        oid::ECDSA_SHA384 => (true, Hash::Sha384),
        oid::SHA256_RSA => (false, Hash::Sha256),
        oid::SHA384_RSA => (false, Hash::Sha384),
        oid::SHA512_RSA => (false, Hash::Sha512),
        oid::RSA_ENCRYPTION => (false, digest.ok_or_else(unsupported)?),
        _ => return Err(unsupported()),
    })
}

/// Verifies `sig` over `msg` with the key `spki` under the scheme `(ecdsa, hash)`. Returns the
/// algorithm's name. P-256 goes only with SHA-256 and P-384 only with SHA-384.
fn verify_signature(
    spki: &SubjectPublicKeyInfoOwned,
    (ecdsa, hash): (bool, Hash),
    msg: &[u8],
    sig: &[u8],
) -> Result<&'static str, TimestampError> {
    let key_bytes = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| structure("a public key is not a whole number of bytes"))?;
    match (spki.algorithm.oid, ecdsa) {
        (oid::EC_PUBLIC_KEY, true) => {
            let curve: Oid = spki
                .algorithm
                .parameters
                .as_ref()
                .ok_or_else(|| structure("an EC public key names no curve"))?
                .decode_as()
                .map_err(|_| TimestampError::UnsupportedAlgorithm {
                    what: "EC curve",
                    oid: "explicit curve parameters".into(),
                })?;
            match (curve, hash) {
                (oid::SECP256R1, Hash::Sha256) => {
                    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes)
                        .map_err(|_| structure("a P-256 public key is not a curve point"))?;
                    let sig = p256::ecdsa::Signature::from_der(sig)
                        .map_err(|_| TimestampError::BadSignature)?;
                    key.verify(msg, &sig)
                        .map_err(|_| TimestampError::BadSignature)?;
                    Ok("ECDSA P-256 SHA-256")
                }
                (oid::SECP384R1, Hash::Sha384) => {
                    let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes)
                        .map_err(|_| structure("a P-384 public key is not a curve point"))?;
                    let sig = p384::ecdsa::Signature::from_der(sig)
                        .map_err(|_| TimestampError::BadSignature)?;
                    key.verify(msg, &sig)
                        .map_err(|_| TimestampError::BadSignature)?;
                    Ok("ECDSA P-384 SHA-384")
                }
                (oid::SECP256R1 | oid::SECP384R1, _) => Err(TimestampError::UnsupportedAlgorithm {
                    what: "curve and hash pair",
                    oid: format!("{curve} with {hash:?}"),
                }),
                _ => Err(TimestampError::UnsupportedAlgorithm {
                    what: "EC curve",
                    oid: curve.to_string(),
                }),
            }
        }
        (oid::RSA_ENCRYPTION, false) => {
            use rsa::pkcs1v15::{Signature, VerifyingKey};
            use rsa::traits::PublicKeyParts as _;
            let der = spki.to_der().map_err(malformed("public key"))?;
            let spki_ref =
                spki::SubjectPublicKeyInfoRef::from_der(&der).map_err(malformed("public key"))?;
            let key = rsa::RsaPublicKey::try_from(spki_ref).map_err(|_| {
                TimestampError::UnsupportedAlgorithm {
                    what: "RSA key",
                    oid: "a key larger than 4096 bits or malformed".into(),
                }
            })?;
            if key.n().bits() < MIN_RSA_BITS {
                return Err(TimestampError::UnsupportedAlgorithm {
                    what: "RSA key",
                    oid: format!("of {} bits", key.n().bits()),
                });
            }
            let sig = Signature::try_from(sig).map_err(|_| TimestampError::BadSignature)?;
            let ok = match hash {
                Hash::Sha256 => VerifyingKey::<sha2::Sha256>::new(key).verify(msg, &sig),
                Hash::Sha384 => VerifyingKey::<sha2::Sha384>::new(key).verify(msg, &sig),
                Hash::Sha512 => VerifyingKey::<sha2::Sha512>::new(key).verify(msg, &sig),
            };
            ok.map_err(|_| TimestampError::BadSignature)?;
            Ok(match hash {
                Hash::Sha256 => "RSA PKCS#1 v1.5 SHA-256",
                Hash::Sha384 => "RSA PKCS#1 v1.5 SHA-384",
                Hash::Sha512 => "RSA PKCS#1 v1.5 SHA-512",
            })
        }
        (other, _) => Err(TimestampError::UnsupportedAlgorithm {
            what: "public key for this signature algorithm",
            oid: other.to_string(),
        }),
    }
}

// ESS signing-certificate attributes: RFC 2634 §5.4 (v1, SHA-1) and RFC 5035 §3 (v2).
// Declared with `der`'s derive, so the crate decodes them (strict DER, no trailing bytes).

/// `IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: cms::cert::x509::serial_number::SerialNumber,
}

/// `ESSCertID ::= SEQUENCE { certHash OCTET STRING (SHA-1), issuerSerial IssuerSerial OPTIONAL }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertId {
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

/// `SigningCertificate ::= SEQUENCE { certs SEQUENCE OF ESSCertID, policies ... OPTIONAL }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificate {
    certs: Vec<EssCertId>,
    #[asn1(optional = "true")]
    policies: Option<Any>,
}

/// `ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT sha256, certHash, issuerSerial OPTIONAL }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV2 {
    #[asn1(optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies OPTIONAL }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
    #[asn1(optional = "true")]
    policies: Option<Any>,
}

/// The one value of a signed attribute.
fn single_value<'a>(attr: &'a Attribute, name: &str) -> Result<&'a Any, TimestampError> {
    match attr.values.as_slice() {
        [v] => Ok(v),
        _ => Err(structure(format!(
            "the {name} attribute must hold exactly one value"
        ))),
    }
}

/// The first ESSCertID(v2) must name `cert` (RFC 5035 §3: the first identifies the signer):
/// its hash over the certificate's DER, and its issuerSerial, if present, the certificate's
/// issuer and serial.
fn check_ess(
    hash: &[u8],
    issuer_serial: Option<&IssuerSerial>,
    cert: &Certificate,
    cert_der: &[u8],
    alg: &str,
) -> Result<(), TimestampError> {
    let want = match alg {
        "SHA-1" => {
            use sha1::Digest as _;
            sha1::Sha1::digest(cert_der).to_vec()
        }
        "SHA-256" => Hash::Sha256.digest(cert_der),
        "SHA-384" => Hash::Sha384.digest(cert_der),
        _ => Hash::Sha512.digest(cert_der),
    };
    if hash != want.as_slice() {
        return Err(TimestampError::EssCertId(format!(
            "its {alg} certificate hash {} is not the signer certificate's {}",
            hex::encode(hash),
            hex::encode(&want)
        )));
    }
    if let Some(is) = issuer_serial {
        let tbs = &cert.tbs_certificate;
        let issuer_ok = is
            .issuer
            .iter()
            .any(|g| matches!(g, GeneralName::DirectoryName(n) if *n == tbs.issuer));
        if !issuer_ok || is.serial_number != tbs.serial_number {
            return Err(TimestampError::EssCertId(
                "its issuerSerial is not the signer certificate's issuer and serial number".into(),
            ));
        }
    }
    Ok(())
}

fn subject_of(cert: &Certificate) -> String {
    let s = cert.tbs_certificate.subject.to_string();
    if s.is_empty() {
        "(empty subject)".into()
    } else {
        s
    }
}

/// RFC 3339 of seconds since 1970, UTC (`1970-01-01T00:00:00Z` for what does not convert).
fn rfc3339(secs: u64) -> String {
    der::DateTime::from_unix_duration(std::time::Duration::from_secs(secs)).map_or_else(
        |_| format!("@{secs}"),
        |d| {
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                d.year(),
                d.month(),
                d.day(),
                d.hour(),
                d.minutes(),
                d.seconds()
            )
        },
    )
}

/// The certificate must be valid at `gen_time` (inclusive bounds, RFC 5280 §4.1.2.5).
fn check_validity(cert: &Certificate, gen_time: u64) -> Result<(), TimestampError> {
    let v = &cert.tbs_certificate.validity;
    let nb = v.not_before.to_unix_duration().as_secs();
    let na = v.not_after.to_unix_duration().as_secs();
    if gen_time < nb || gen_time > na {
        return Err(TimestampError::NotValidAtGenTime {
            subject: subject_of(cert),
            gen_time: rfc3339(gen_time),
            not_before: rfc3339(nb),
            not_after: rfc3339(na),
        });
    }
    Ok(())
}

/// RFC 5280 §4.2: a certificate with a critical extension custody does not process is refused.
fn check_critical_extensions(cert: &Certificate) -> Result<(), TimestampError> {
    let known = [
        oid::CE_BASIC_CONSTRAINTS,
        oid::CE_KEY_USAGE,
        oid::CE_EXT_KEY_USAGE,
        oid::CE_SUBJECT_KEY_ID,
        oid::CE_AUTHORITY_KEY_ID,
        oid::CE_SUBJECT_ALT_NAME,
    ];
    for ext in cert.tbs_certificate.extensions.as_deref().unwrap_or(&[]) {
        if ext.critical && !known.contains(&ext.extn_id) {
            return Err(TimestampError::Chain(format!(
                "certificate {} has a critical extension {} that custody does not process",
                subject_of(cert),
                ext.extn_id
            )));
        }
    }
    Ok(())
}

fn extension<'a, T: Decode<'a> + der::oid::AssociatedOid>(
    cert: &'a Certificate,
) -> Result<Option<(bool, T)>, TimestampError> {
    cert.tbs_certificate.get::<T>().map_err(|e| {
        TimestampError::Chain(format!(
            "certificate {}: extension {} is malformed or repeated ({e})",
            subject_of(cert),
            T::OID
        ))
    })
}

/// RFC 3161 §2.3: the TSA's certificate has exactly one extendedKeyUsage, critical, holding
/// only id-kp-timeStamping.
fn check_eku(cert: &Certificate) -> Result<(), TimestampError> {
    let bad = |reason| TimestampError::KeyUsage {
        subject: subject_of(cert),
        reason,
    };
    let (critical, eku) = extension::<ExtendedKeyUsage>(cert)
        .map_err(|_| bad("its extendedKeyUsage is malformed or repeated"))?
        .ok_or_else(|| bad("it has no extendedKeyUsage extension"))?;
    if !critical {
        return Err(bad("its extendedKeyUsage is not critical"));
    }
    if eku.0.as_slice() != [oid::KP_TIME_STAMPING] {
        return Err(bad(
            "its extendedKeyUsage holds other purposes than id-kp-timeStamping",
        ));
    }
    if let Some((_, ku)) = extension::<KeyUsage>(cert)? {
        if !ku.0.contains(KeyUsages::DigitalSignature) && !ku.0.contains(KeyUsages::NonRepudiation)
        {
            return Err(bad(
                "its keyUsage allows neither digitalSignature nor nonRepudiation",
            ));
        }
    }
    Ok(())
}

/// An issuer must be a CA (basicConstraints cA), may sign certificates (keyUsage keyCertSign,
/// if keyUsage is present), and its pathLenConstraint must allow the `below` CA certificates
/// between it and the signer.
fn check_issuer(issuer: &Certificate, below: usize) -> Result<(), TimestampError> {
    let who = subject_of(issuer);
    match extension::<BasicConstraints>(issuer)? {
        Some((_, bc)) if bc.ca => {
            if let Some(max) = bc.path_len_constraint {
                if below > usize::from(max) {
                    return Err(TimestampError::Chain(format!(
                        "issuer {who} allows {max} intermediate CAs below it, the chain has {below}"
                    )));
                }
            }
        }
        _ => {
            return Err(TimestampError::Chain(format!(
                "issuer {who} is not a CA (no basicConstraints cA=true)"
            )))
        }
    }
    if let Some((_, ku)) = extension::<KeyUsage>(issuer)? {
        if !ku.0.contains(KeyUsages::KeyCertSign) {
            return Err(TimestampError::Chain(format!(
                "issuer {who} has a keyUsage without keyCertSign"
            )));
        }
    }
    check_critical_extensions(issuer)
}

/// Verifies `cert`'s signature with `issuer`'s key.
fn check_cert_signature(cert: &Certificate, issuer: &Certificate) -> Result<(), TimestampError> {
    if cert.signature_algorithm != cert.tbs_certificate.signature {
        return Err(TimestampError::Chain(format!(
            "certificate {} names two different signature algorithms",
            subject_of(cert)
        )));
    }
    let scheme = signature_scheme(&cert.signature_algorithm, None)?;
    let tbs = cert
        .tbs_certificate
        .to_der()
        .map_err(malformed("certificate"))?;
    let sig = cert
        .signature
        .as_bytes()
        .ok_or_else(|| structure("a certificate signature is not a whole number of bytes"))?;
    verify_signature(
        &issuer.tbs_certificate.subject_public_key_info,
        scheme,
        &tbs,
        sig,
    )
    .map(|_| ())
    .map_err(|e| match e {
        TimestampError::BadSignature => TimestampError::Chain(format!(
            "the signature of certificate {} does not verify under the key of {}",
            subject_of(cert),
            subject_of(issuer)
        )),
        other => other,
    })
}

/// Builds and checks the chain from `signer` up to one of `roots`, using `certs` (the token's)
/// for intermediates: each certificate's signature under its issuer's key, every certificate
/// (root included) valid at `gen_time`, every issuer a CA, at most [`MAX_CHAIN_LEN`] issuers.
fn check_chain(
    signer: &Certificate,
    certs: &[Certificate],
    roots: &[Certificate],
    gen_time: u64,
) -> Result<(), TimestampError> {
    check_critical_extensions(signer)?;
    let mut cur = signer;
    for depth in 0..MAX_CHAIN_LEN {
        check_validity(cur, gen_time)?;
        // The signer itself may be a trusted certificate.
        if depth == 0 && roots.contains(cur) {
            return Ok(());
        }
        let issuer_name = &cur.tbs_certificate.issuer;
        if let Some(root) = roots
            .iter()
            .find(|r| r.tbs_certificate.subject == *issuer_name)
        {
            check_cert_signature(cur, root)?;
            check_issuer(root, depth)?;
            check_validity(root, gen_time)?;
            return Ok(());
        }
        let next = certs
            .iter()
            .find(|c| c.tbs_certificate.subject == *issuer_name && *c != cur)
            .ok_or_else(|| TimestampError::UntrustedRoot {
                issuer: issuer_name.to_string(),
            })?;
        check_cert_signature(cur, next)?;
        check_issuer(next, depth)?;
        cur = next;
    }
    Err(TimestampError::Chain(format!(
        "more than {MAX_CHAIN_LEN} issuers above the TSA certificate"
    )))
}

/// Verifies an RFC 3161 token over a checkpoint: the steps of `docs/TIMESTAMPS.md`
/// "Verifying a token", in order.
///
/// `token` is a TimeStampResp (status granted or grantedWithMods) or a bare TimeStampToken;
/// `note` is the checkpoint note (cosignatures may be present; they are removed, see
/// [`log_signed_note`]); `log` names the log key whose signature lines are kept (the caller
/// verifies that signature itself, with `checkpoint::open`); `roots` are the TSA roots the
/// caller trusts; `nonce` is the nonce sent, when checking a fresh answer.
///
/// # Errors
/// The first check that fails.
pub fn verify(
    token: &[u8],
    note: &[u8],
    log: &StrictVerifier,
    roots: &[Certificate],
    nonce: Option<&Nonce>,
) -> Result<VerifiedTimestamp, TimestampError> {
    // Step 1-2: bound, and take the token out of a response.
    let token = token_of(token)?;
    if roots.is_empty() || roots.len() > MAX_ROOTS {
        return Err(TimestampError::Roots(format!(
            "give 1 to {MAX_ROOTS} trusted roots, not {}",
            roots.len()
        )));
    }
    // Step 3: a CMS SignedData.
    let ci = ContentInfo::from_der(&token).map_err(malformed("TimeStampToken"))?;
    if ci.content_type != oid::SIGNED_DATA {
        return Err(structure(format!(
            "its content type is {}, not id-signedData",
            ci.content_type
        )));
    }
    let sd: SignedData = ci.content.decode_as().map_err(malformed("SignedData"))?;
    // Step 4: the TSTInfo.
    if sd.encap_content_info.econtent_type != oid::CT_TST_INFO {
        return Err(structure(format!(
            "its eContentType is {}, not id-ct-TSTInfo",
            sd.encap_content_info.econtent_type
        )));
    }
    let econtent = sd
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| structure("it has no eContent (a detached TSTInfo)"))?;
    let econtent: OctetString = econtent.decode_as().map_err(malformed("eContent"))?;
    let tst = TstInfo::from_der(econtent.as_bytes()).map_err(malformed("TSTInfo"))?;
    let gen_time = tst.gen_time.to_unix_duration().as_secs();
    // Step 5: the certificates carried, bounded.
    let mut certs = Vec::new();
    for c in sd
        .certificates
        .as_ref()
        .map(|s| s.0.as_slice())
        .unwrap_or(&[])
    {
        if let CertificateChoices::Certificate(c) = c {
            certs.push(c.clone());
        }
        if certs.len() > MAX_CERTIFICATES {
            return Err(structure(format!(
                "it carries more than {MAX_CERTIFICATES} certificates"
            )));
        }
    }
    // Step 6: exactly one signer, with signed attributes.
    let si: &SignerInfo = match sd.signer_infos.0.as_slice() {
        [si] => si,
        many => {
            return Err(structure(format!(
                "it has {} SignerInfos; a time-stamp token has exactly one",
                many.len()
            )))
        }
    };
    // RFC 5652 §5.1, §5.3: version 3 for a content other than id-data; a SignerInfo names
    // its signer by issuer and serial (version 1) or key identifier (version 3); and the
    // digestAlgorithms set lists the signer's. None of these is signed, so they are held to
    // the one value that is right.
    use cms::content_info::CmsVersion;
    let si_version = match si.sid {
        SignerIdentifier::IssuerAndSerialNumber(_) => CmsVersion::V1,
        SignerIdentifier::SubjectKeyIdentifier(_) => CmsVersion::V3,
    };
    if sd.version != CmsVersion::V3 || si.version != si_version {
        return Err(structure(
            "its SignedData or SignerInfo version is not the one RFC 5652 requires",
        ));
    }
    if !sd.digest_algorithms.iter().any(|a| *a == si.digest_alg) {
        return Err(structure(
            "its digestAlgorithms do not list the SignerInfo's digest algorithm",
        ));
    }
    let digest_alg = Hash::of_digest_alg(&si.digest_alg)?;
    let attrs = si
        .signed_attrs
        .as_ref()
        .ok_or_else(|| structure("its SignerInfo has no signed attributes"))?;
    // Step 7: content-type and message-digest; each attribute type once.
    let mut seen = Vec::new();
    let (mut content_type, mut message_digest, mut ess1, mut ess2) = (None, None, None, None);
    for a in attrs.iter() {
        if seen.contains(&a.oid) {
            return Err(structure(format!(
                "signed attribute {} appears twice",
                a.oid
            )));
        }
        seen.push(a.oid);
        match a.oid {
            oid::CONTENT_TYPE => content_type = Some(single_value(a, "content-type")?),
            oid::MESSAGE_DIGEST => message_digest = Some(single_value(a, "message-digest")?),
            oid::SIGNING_CERTIFICATE => ess1 = Some(single_value(a, "signingCertificate")?),
            oid::SIGNING_CERTIFICATE_V2 => ess2 = Some(single_value(a, "signingCertificateV2")?),
            _ => {}
        }
    }
    let ct: Oid = content_type
        .ok_or_else(|| structure("it has no content-type signed attribute"))?
        .decode_as()
        .map_err(malformed("content-type attribute"))?;
    if ct != oid::CT_TST_INFO {
        return Err(structure(format!(
            "its content-type attribute is {ct}, not id-ct-TSTInfo"
        )));
    }
    let md: OctetString = message_digest
        .ok_or_else(|| structure("it has no message-digest signed attribute"))?
        .decode_as()
        .map_err(malformed("message-digest attribute"))?;
    if md.as_bytes() != digest_alg.digest(econtent.as_bytes()).as_slice() {
        return Err(TimestampError::ContentDigest);
    }
    // Step 8: the signer certificate, by the SignerInfo's sid.
    let signer = certs
        .iter()
        .find(|c| match &si.sid {
            SignerIdentifier::IssuerAndSerialNumber(ias) => {
                c.tbs_certificate.issuer == ias.issuer
                    && c.tbs_certificate.serial_number == ias.serial_number
            }
            SignerIdentifier::SubjectKeyIdentifier(skid) => {
                matches!(c.tbs_certificate.get::<SubjectKeyIdentifier>(), Ok(Some((_, s))) if s == *skid)
            }
        })
        .ok_or(TimestampError::SignerNotFound)?;
    let signer_der = signer.to_der().map_err(malformed("signer certificate"))?;
    // Step 9: ESSCertID (SHA-1) or ESSCertIDv2 names that certificate; both, if both present.
    if ess1.is_none() && ess2.is_none() {
        return Err(TimestampError::EssCertId(
            "there is no signingCertificate or signingCertificateV2 attribute".into(),
        ));
    }
    if let Some(v) = ess1 {
        let sc: SigningCertificate = v
            .decode_as()
            .map_err(malformed("signingCertificate attribute"))?;
        let first = sc
            .certs
            .first()
            .ok_or_else(|| TimestampError::EssCertId("it lists no certificate".into()))?;
        check_ess(
            first.cert_hash.as_bytes(),
            first.issuer_serial.as_ref(),
            signer,
            &signer_der,
            "SHA-1",
        )?;
    }
    if let Some(v) = ess2 {
        let sc: SigningCertificateV2 = v
            .decode_as()
            .map_err(malformed("signingCertificateV2 attribute"))?;
        let first = sc
            .certs
            .first()
            .ok_or_else(|| TimestampError::EssCertId("it lists no certificate".into()))?;
        let alg = match &first.hash_algorithm {
            None => "SHA-256",
            Some(a) => match Hash::of_digest_alg(a)? {
                Hash::Sha256 => "SHA-256",
                Hash::Sha384 => "SHA-384",
                Hash::Sha512 => "SHA-512",
            },
        };
        check_ess(
            first.cert_hash.as_bytes(),
            first.issuer_serial.as_ref(),
            signer,
            &signer_der,
            alg,
        )?;
    }
    // Step 10: the signature, over the DER of the signed attributes as a SET OF.
    let scheme = signature_scheme(&si.signature_algorithm, Some(digest_alg))?;
    let signed = attrs.to_der().map_err(malformed("signed attributes"))?;
    let algorithm = verify_signature(
        &signer.tbs_certificate.subject_public_key_info,
        scheme,
        &signed,
        si.signature.as_bytes(),
    )?;
    // Step 11: the signer may sign time stamps.
    check_eku(signer)?;
    // Step 12: its chain to a trusted root, valid at genTime.
    check_chain(signer, &certs, roots, gen_time)?;
    // Step 13: the imprint is SHA-256 of the log-signed checkpoint.
    let mi = &tst.message_imprint;
    if mi.hash_algorithm.oid != oid::SHA256 || !params_absent_or_null(&mi.hash_algorithm) {
        return Err(TimestampError::UnsupportedAlgorithm {
            what: "messageImprint hash",
            oid: mi.hash_algorithm.oid.to_string(),
        });
    }
    let expected = imprint(note, log)?;
    if mi.hashed_message.as_bytes() != expected.0 {
        return Err(TimestampError::Imprint {
            expected: expected.to_hex(),
            found: hex::encode(mi.hashed_message.as_bytes()),
        });
    }
    // Step 14: the nonce, when one was sent.
    if let Some(n) = nonce {
        let want = nonce_int(n)?;
        if tst.nonce.as_ref() != Some(&want) {
            return Err(TimestampError::Nonce {
                expected: hex::encode(want.as_bytes()),
                found: tst
                    .nonce
                    .as_ref()
                    .map_or_else(|| "none".into(), |n| hex::encode(n.as_bytes())),
            });
        }
    }
    let accuracy = tst.accuracy.as_ref().map(|a| Accuracy {
        seconds: a.seconds,
        millis: a.millis.and_then(|m| u16::try_from(m).ok()),
        micros: a.micros.and_then(|m| u16::try_from(m).ok()),
    });
    Ok(VerifiedTimestamp {
        gen_time: i64::try_from(gen_time).unwrap_or(i64::MAX),
        gen_time_rfc3339: rfc3339(gen_time),
        tsa_subject: subject_of(signer),
        policy: tst.policy.to_string(),
        serial: hex::encode(tst.serial_number.as_bytes()),
        accuracy,
        nonce: tst.nonce.as_ref().map(|n| hex::encode(n.as_bytes())),
        imprint: expected,
        algorithm,
        token,
    })
}

#[cfg(test)]
mod tests {
    //! Real tokens made by OpenSSL's TSA (`tests/testdata/tsa/make.sh`, genTime frozen by
    //! faketime) and, for the defects OpenSSL refuses to produce, the same tokens edited and
    //! re-signed with the test TSA's committed key, so that only the defect under test is wrong.
    use super::*;
    use crate::checkpoint;
    use der::asn1::SetOfVec;
    use signature::Signer as _;

    macro_rules! data {
        ($f:literal) => {
            include_bytes!(concat!("../../../tests/testdata/tsa/", $f)).as_slice()
        };
    }
    const OPERATOR_PUB: &str = include_str!("../../../keys/operator.pub");
    const NONCE_HEX: &str = "7169d809331a3e2cfbbfde271a475295";
    // 2026-01-15T12:00:00Z
    const GEN_TIME: i64 = 1_768_478_400;

    fn log() -> StrictVerifier {
        let k = crate::keys::PublicKey::from_file_text(OPERATOR_PUB).unwrap();
        StrictVerifier::new("example.org/nk-repatriation", *k.verifying_key()).unwrap()
    }
    fn nonce() -> Nonce {
        hex::decode(NONCE_HEX).unwrap().try_into().unwrap()
    }
    fn root() -> Vec<Certificate> {
        parse_roots(data!("root.pem")).unwrap()
    }
    fn note() -> &'static [u8] {
        data!("note.txt")
    }
    fn check(token: &[u8]) -> Result<VerifiedTimestamp, TimestampError> {
        verify(token, note(), &log(), &root(), Some(&nonce()))
    }
    fn cert(pem: &[u8]) -> Certificate {
        Certificate::load_pem_chain(pem).unwrap().remove(0)
    }
    fn tsa_key() -> p256::ecdsa::SigningKey {
        let pem = std::str::from_utf8(data!("tsa-ec256.key")).unwrap();
        p256::ecdsa::SigningKey::from(p256::SecretKey::from_sec1_pem(pem).unwrap())
    }

    /// Decodes `token`, lets `edit` change its SignedData, re-signs the signed attributes with
    /// the test TSA's P-256 key and encodes it again.
    fn resign(token: &[u8], edit: impl FnOnce(&mut SignedData)) -> Vec<u8> {
        let ci = ContentInfo::from_der(token).unwrap();
        let mut sd: SignedData = ci.content.decode_as().unwrap();
        edit(&mut sd);
        let mut sis = sd.signer_infos.0.clone().into_vec();
        let msg = sis[0].signed_attrs.as_ref().unwrap().to_der().unwrap();
        let sig: p256::ecdsa::Signature = tsa_key().sign(&msg);
        sis[0].signature = OctetString::new(sig.to_der().as_bytes()).unwrap();
        sd.signer_infos.0 = SetOfVec::try_from(sis).unwrap();
        ContentInfo {
            content_type: ci.content_type,
            content: Any::encode_from(&sd).unwrap(),
        }
        .to_der()
        .unwrap()
    }

    /// Replaces the signingCertificateV2 attribute's first certHash (and issuerSerial serial).
    fn set_ess_v2(
        sd: &mut SignedData,
        hash: Vec<u8>,
        serial: Option<&cms::cert::x509::serial_number::SerialNumber>,
    ) {
        let mut sis = sd.signer_infos.0.clone().into_vec();
        let attrs = sis[0].signed_attrs.take().unwrap().into_vec();
        let attrs: Vec<Attribute> = attrs
            .into_iter()
            .map(|mut a| {
                if a.oid == oid::SIGNING_CERTIFICATE_V2 {
                    let mut sc: SigningCertificateV2 =
                        a.values.get(0).unwrap().decode_as().unwrap();
                    sc.certs[0].cert_hash = OctetString::new(hash.clone()).unwrap();
                    if let (Some(is), Some(s)) = (sc.certs[0].issuer_serial.as_mut(), serial) {
                        is.serial_number = s.clone();
                    }
                    a.values = SetOfVec::try_from(vec![Any::encode_from(&sc).unwrap()]).unwrap();
                }
                a
            })
            .collect();
        sis[0].signed_attrs = Some(SetOfVec::try_from(attrs).unwrap());
        sd.signer_infos.0 = SetOfVec::try_from(sis).unwrap();
    }

    /// The token re-signed with `pem` (a certificate for the test TSA's key) as its signer.
    fn with_signer_cert(pem: &[u8]) -> Vec<u8> {
        let c = cert(pem);
        let der = c.to_der().unwrap();
        resign(data!("ec256.tsr"), |sd| {
            sd.certificates = Some(
                cms::signed_data::CertificateSet::try_from(vec![CertificateChoices::Certificate(
                    c.clone(),
                )])
                .unwrap(),
            );
            let mut sis = sd.signer_infos.0.clone().into_vec();
            sis[0].sid =
                SignerIdentifier::IssuerAndSerialNumber(cms::cert::IssuerAndSerialNumber {
                    issuer: c.tbs_certificate.issuer.clone(),
                    serial_number: c.tbs_certificate.serial_number.clone(),
                });
            sd.signer_infos.0 = SetOfVec::try_from(sis).unwrap();
            set_ess_v2(
                sd,
                Hash::Sha256.digest(&der),
                Some(&c.tbs_certificate.serial_number),
            );
        })
    }

    const DOC: &str = include_str!("../../../docs/TIMESTAMPS.md");
    const SAMPLE_TOKEN_NAME: &str = "000000000033-0b7a598f59a3c9fb.7062cbbcbaa0b14a.tsr";
    const SAMPLE_TOKEN: &[u8] = include_bytes!(
        "../../../ledger/checkpoints/000000000033-0b7a598f59a3c9fb.7062cbbcbaa0b14a.tsr"
    );

    #[test]
    fn doc_example_is_what_the_code_produces() {
        assert!(DOC.starts_with("# custody timestamps, version 1\n"));
        let has =
            |needle: &str| assert!(DOC.contains(needle), "docs/TIMESTAMPS.md lacks {needle:?}");
        // The checkpoint, the log-signed note and its imprint.
        let note_text = std::str::from_utf8(note()).unwrap();
        has(&format!("```\n{note_text}```"));
        let msg = log_signed_note(note(), log().name(), log().key_id()).unwrap();
        assert_eq!(msg, note());
        has(&format!("these {} bytes exactly", msg.len()));
        has(&format!("imprint  {}", Digest::of(&msg).to_hex()));
        has(&log().to_vkey());
        // The nonce and the request.
        let seed = "custody TIMESTAMPS.md example nonce";
        has(&format!("`{seed}`"));
        let n: Nonce = Digest::of(seed.as_bytes()).0[..16].try_into().unwrap();
        assert_eq!(n, nonce());
        has(&format!("nonce `{}`", hex::encode(n)));
        let req = request(&msg, &n, true).unwrap();
        has(&format!(
            "these {} bytes of DER, hex:\n\n```\n{}\n```",
            req.len(),
            hex::encode(&req)
        ));
        // The token: the committed file, the one stored in the sample ledger, quoted in base64.
        let token = data!("ec256.tsr");
        assert_eq!(SAMPLE_TOKEN, token);
        assert_eq!(
            &SAMPLE_TOKEN_NAME[30..46],
            &Digest::of(token).to_hex()[..16]
        );
        has(&format!(
            "ledger/checkpoints/{SAMPLE_TOKEN_NAME}` ({} bytes of DER",
            token.len()
        ));
        let b64 = base64::engine::general_purpose::STANDARD;
        let encoded = base64::Engine::encode(&b64, token);
        let wrapped: Vec<&str> = encoded
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        has(&format!("```\n{}\n```", wrapped.join("\n")));
        // The table.
        let v = check(token).unwrap();
        let sd: SignedData = ContentInfo::from_der(token)
            .unwrap()
            .content
            .decode_as()
            .unwrap();
        let econtent: OctetString = sd.encap_content_info.econtent.unwrap().decode_as().unwrap();
        has(&format!(
            "TSTInfo (the signed eContent, {} bytes) SHA-256 = message-digest attribute | `{}`",
            econtent.as_bytes().len(),
            Digest::of(econtent.as_bytes()).to_hex()
        ));
        has(&format!(
            "| messageImprint | SHA-256, `{}` |",
            v.imprint.to_hex()
        ));
        has(&format!(
            "| genTime | `20260115120000Z` = `{}` = {} |",
            v.gen_time_rfc3339, v.gen_time
        ));
        has(&format!("| nonce | `{}` |", v.nonce.as_deref().unwrap()));
        has(&format!("| policy | `{}` |", v.policy));
        has(&format!("| serialNumber | `{}` |", v.serial));
        has(&format!(
            "| signer certificate | `{}`, ECDSA P-256",
            v.tsa_subject
        ));
        let signer = cert(data!("tsa-ec256.pem")).to_der().unwrap();
        has(&format!(
            "SHA-256 of the signer certificate's DER | `{}` |",
            Digest::of(&signer).to_hex()
        ));
        let r = &root()[0];
        has(&format!(
            "SHA-256 of its DER | `{}`, `{}` |",
            Digest::of(&r.to_der().unwrap()).to_hex(),
            r.tbs_certificate.subject
        ));
        assert_eq!(v.algorithm, "ECDSA P-256 SHA-256");
        has(&format!(
            "  timestamp ok: the checkpoint at tree size 33 existed no later than {} ({}), token ledger/checkpoints/{SAMPLE_TOKEN_NAME}",
            v.gen_time_rfc3339, v.tsa_subject
        ));
    }

    #[test]
    fn openssl_tokens_verify_with_every_algorithm_and_ess_version() {
        for (file, alg, cn) in [
            (data!("ec256.tsr"), "ECDSA P-256 SHA-256", "P-256"),
            (data!("ec256-ess1.tsr"), "ECDSA P-256 SHA-256", "P-256"),
            (data!("ec384.tsr"), "ECDSA P-384 SHA-384", "P-384"),
            (data!("rsa.tsr"), "RSA PKCS#1 v1.5 SHA-256", "RSA"),
        ] {
            let v = check(file).unwrap();
            assert_eq!(v.algorithm, alg);
            assert_eq!(v.gen_time, GEN_TIME);
            assert_eq!(v.gen_time_rfc3339, "2026-01-15T12:00:00Z");
            assert_eq!(
                v.tsa_subject,
                format!("CN=custody test TSA {cn},O=custody test TSA")
            );
            assert_eq!(v.policy, "1.3.6.1.4.1.99999.1.1");
            assert_eq!(v.nonce.as_deref(), Some(NONCE_HEX));
            assert_eq!(
                v.accuracy,
                Some(Accuracy {
                    seconds: Some(1),
                    millis: None,
                    micros: None
                })
            );
            assert_eq!(v.imprint, Digest::of(note()));
            assert_eq!(v.token, file);
        }
    }

    #[test]
    fn the_request_is_the_one_openssl_encodes() {
        let msg = log_signed_note(note(), log().name(), log().key_id()).unwrap();
        assert_eq!(msg, note(), "the sample note has no cosignatures");
        assert_eq!(request(&msg, &nonce(), true).unwrap(), data!("note.tsq"));
        let req = TimeStampReq::from_der(&request(&msg, &[0xff; 16], false).unwrap()).unwrap();
        assert!(!req.cert_req);
        // A nonce with its high bit set is still a positive INTEGER.
        assert_eq!(req.nonce.unwrap().as_bytes()[0], 0);
    }

    #[test]
    fn cosignatures_are_stripped_before_hashing() {
        let cosigned = [
            note(),
            "— witness.example/w1 AAAAAQAAAAAAAAAAYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo=\n"
                .as_bytes(),
        ]
        .concat();
        let stripped = log_signed_note(&cosigned, log().name(), log().key_id()).unwrap();
        assert_eq!(stripped, note());
        let v = verify(data!("ec256.tsr"), &cosigned, &log(), &root(), None).unwrap();
        assert_eq!(v.gen_time, GEN_TIME);
        // A witness line before the log's is removed too; the log's line is kept as it is.
        let text = std::str::from_utf8(note()).unwrap();
        let (body, sig) = text.rsplit_once("\n\n").unwrap();
        let before = format!(
            "{body}\n\n— witness.example/w1 AAAAAQAAAAAAAAAAYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo=\n{sig}"
        );
        assert_eq!(
            log_signed_note(before.as_bytes(), log().name(), log().key_id()).unwrap(),
            note()
        );
        assert!(matches!(
            log_signed_note(note(), "other.example/log", log().key_id()),
            Err(TimestampError::NotSignedByLog { .. })
        ));
        assert!(matches!(
            log_signed_note(b"no signatures\n", log().name(), log().key_id()),
            Err(TimestampError::Note(_))
        ));
    }

    #[test]
    fn a_token_for_another_checkpoint_is_refused() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let origin = "example.org/nk-repatriation";
        let other = checkpoint::sign(origin, 30, Digest([1; 32]), &key).unwrap();
        let ver = StrictVerifier::new(origin, key.verifying_key()).unwrap();
        let e = verify(data!("ec256.tsr"), other.as_bytes(), &ver, &root(), None).unwrap_err();
        assert!(matches!(e, TimestampError::Imprint { .. }), "{e}");
        assert!(e.to_string().contains("another checkpoint"), "{e}");
        // The same note with one byte of the body changed.
        let mut altered = note().to_vec();
        altered[28] = b'8'; // size 29 -> 89
        let e = verify(data!("ec256.tsr"), &altered, &log(), &root(), None).unwrap_err();
        assert!(matches!(e, TimestampError::Imprint { .. }), "{e}");
    }

    #[test]
    fn a_wrong_nonce_is_refused() {
        let mut n = nonce();
        n[15] ^= 1;
        let e = verify(data!("ec256.tsr"), note(), &log(), &root(), Some(&n)).unwrap_err();
        assert!(matches!(e, TimestampError::Nonce { .. }), "{e}");
        assert!(verify(data!("ec256.tsr"), note(), &log(), &root(), None).is_ok());
    }

    #[test]
    fn resigning_alone_keeps_a_token_valid() {
        // The control for the re-signed cases below: the helper makes tokens that verify.
        let t = resign(data!("ec256.tsr"), |_| {});
        assert_ne!(
            t,
            data!("ec256.tsr"),
            "ECDSA with a fresh nonce gives a new signature"
        );
        assert_eq!(check(&t).unwrap().gen_time, GEN_TIME);
        let t = with_signer_cert(data!("tsa-ec256.pem"));
        assert_eq!(check(&t).unwrap().gen_time, GEN_TIME);
    }

    #[test]
    fn a_signer_without_a_critical_timestamping_eku_is_refused() {
        let e = check(&with_signer_cert(data!("tsa-noeku.pem"))).unwrap_err();
        assert!(matches!(e, TimestampError::KeyUsage { .. }), "{e}");
        assert!(e.to_string().contains("no extendedKeyUsage"), "{e}");
        let e = check(&with_signer_cert(data!("tsa-eku-noncrit.pem"))).unwrap_err();
        assert!(matches!(e, TimestampError::KeyUsage { .. }), "{e}");
        assert!(e.to_string().contains("not critical"), "{e}");
    }

    #[test]
    fn a_wrong_ess_cert_id_hash_is_refused() {
        let t = resign(data!("ec256.tsr"), |sd| {
            set_ess_v2(sd, vec![0xab; 32], None)
        });
        let e = check(&t).unwrap_err();
        assert!(matches!(e, TimestampError::EssCertId(_)), "{e}");
        // ESSCertID v1 (SHA-1), as OpenSSL writes with ess_cert_id_alg = sha1, is checked too:
        // naming another certificate (the root) fails.
        let root_der = root()[0].to_der().unwrap();
        let t = resign(data!("ec256-ess1.tsr"), |sd| {
            let mut sis = sd.signer_infos.0.clone().into_vec();
            let attrs: Vec<Attribute> = sis[0]
                .signed_attrs
                .take()
                .unwrap()
                .into_vec()
                .into_iter()
                .map(|mut a| {
                    if a.oid == oid::SIGNING_CERTIFICATE {
                        let mut sc: SigningCertificate =
                            a.values.get(0).unwrap().decode_as().unwrap();
                        use sha1::Digest as _;
                        sc.certs[0].cert_hash =
                            OctetString::new(sha1::Sha1::digest(&root_der).to_vec()).unwrap();
                        a.values =
                            SetOfVec::try_from(vec![Any::encode_from(&sc).unwrap()]).unwrap();
                    }
                    a
                })
                .collect();
            sis[0].signed_attrs = Some(SetOfVec::try_from(attrs).unwrap());
            sd.signer_infos.0 = SetOfVec::try_from(sis).unwrap();
        });
        let e = check(&t).unwrap_err();
        assert!(matches!(e, TimestampError::EssCertId(_)), "{e}");
        assert!(e.to_string().contains("SHA-1"), "{e}");
    }

    #[test]
    fn an_untrusted_root_is_refused() {
        let other = parse_roots(data!("other-root.pem")).unwrap();
        let e = verify(data!("ec256.tsr"), note(), &log(), &other, None).unwrap_err();
        assert!(matches!(e, TimestampError::UntrustedRoot { .. }), "{e}");
        assert!(e.to_string().contains("CN=custody test TSA root"), "{e}");
        // A root of the same name but another key: the signature check refuses it.
        let mut forged = other[0].clone();
        forged.tbs_certificate.subject = root()[0].tbs_certificate.subject.clone();
        let e = verify(data!("ec256.tsr"), note(), &log(), &[forged], None).unwrap_err();
        assert!(matches!(e, TimestampError::Chain(_)), "{e}");
    }

    #[test]
    fn a_signer_expired_at_gen_time_is_refused() {
        let e = check(data!("expired.tsr")).unwrap_err();
        assert!(matches!(e, TimestampError::NotValidAtGenTime { .. }), "{e}");
        assert!(e.to_string().contains("2025-06-01"), "{e}");
    }

    #[test]
    fn a_flipped_byte_in_the_signature_is_refused() {
        let t = resign(data!("ec256.tsr"), |_| {});
        // Flip a byte inside r of the DER ECDSA signature: still DER, no longer valid.
        let ci = ContentInfo::from_der(&t).unwrap();
        let mut sd: SignedData = ci.content.decode_as().unwrap();
        let mut sis = sd.signer_infos.0.clone().into_vec();
        let mut sig = sis[0].signature.as_bytes().to_vec();
        sig[10] ^= 0x01;
        sis[0].signature = OctetString::new(sig).unwrap();
        sd.signer_infos.0 = SetOfVec::try_from(sis).unwrap();
        let t = ContentInfo {
            content_type: ci.content_type,
            content: Any::encode_from(&sd).unwrap(),
        }
        .to_der()
        .unwrap();
        assert!(matches!(check(&t), Err(TimestampError::BadSignature)));
        // And one flipped byte of the real OpenSSL token's last bytes (the signature's s).
        let mut t = data!("rsa.tsr").to_vec();
        let n = t.len();
        t[n - 5] ^= 0x40;
        assert!(matches!(check(&t), Err(TimestampError::BadSignature)));
    }

    #[test]
    fn an_altered_tst_info_is_refused() {
        let mut t = data!("ec256.tsr").to_vec();
        // The policy OID's last arc (…99999.1.1) inside the TSTInfo: a real byte of genuine content.
        let pos = t.windows(3).position(|w| w == [0x86, 0x8d, 0x1f]).unwrap() + 4;
        t[pos] ^= 0x02;
        assert!(matches!(check(&t), Err(TimestampError::ContentDigest)));
    }

    #[test]
    fn unsupported_algorithms_are_refused() {
        // OpenSSL's P-521 TSA with SHA-512: a real token custody does not verify.
        let e = check(data!("p521.tsr")).unwrap_err();
        assert!(
            matches!(e, TimestampError::UnsupportedAlgorithm { .. }),
            "{e}"
        );
        // RSASSA-PSS named as the SignerInfo's algorithm.
        let t = resign(data!("ec256.tsr"), |sd| {
            let mut sis = sd.signer_infos.0.clone().into_vec();
            sis[0].signature_algorithm.oid = Oid::new_unwrap("1.2.840.113549.1.1.10");
            sd.signer_infos.0 = SetOfVec::try_from(sis).unwrap();
        });
        let e = check(&t).unwrap_err();
        assert!(
            matches!(e, TimestampError::UnsupportedAlgorithm { .. }),
            "{e}"
        );
        assert!(e.to_string().contains("1.2.840.113549.1.1.10"), "{e}");
    }

    #[test]
    fn responses_are_unwrapped_and_refusals_reported() {
        use cmpv2::status::{PkiStatus, PkiStatusInfo};
        let token = ContentInfo::from_der(data!("ec256.tsr")).unwrap();
        let granted = TimeStampResp {
            status: PkiStatusInfo {
                status: PkiStatus::Accepted,
                status_string: None,
                fail_info: None,
            },
            time_stamp_token: Some(token),
        }
        .to_der()
        .unwrap();
        let v = check(&granted).unwrap();
        assert_eq!(v.token, data!("ec256.tsr"));
        let refused = TimeStampResp {
            status: PkiStatusInfo {
                status: PkiStatus::Rejection,
                status_string: None,
                fail_info: None,
            },
            time_stamp_token: None,
        }
        .to_der()
        .unwrap();
        assert!(matches!(
            check(&refused),
            Err(TimestampError::Refused { .. })
        ));
        assert!(matches!(
            check(b"\x30\x03\x02\x01\x00"),
            Err(TimestampError::Malformed { .. })
        ));
        let big = vec![0x30; MAX_TOKEN_BYTES + 1];
        assert!(matches!(check(&big), Err(TimestampError::TooLarge { .. })));
        assert!(matches!(
            verify(data!("ec256.tsr"), note(), &log(), &[], None),
            Err(TimestampError::Roots(_))
        ));
    }

    #[test]
    fn every_flipped_bit_is_refused_or_changes_nothing_reported() {
        // One bit flipped at every byte of a real token is refused: what no signature covers
        // (the CMS versions, the digestAlgorithms set) is held to its one right value, and
        // everything else is signed or hashed.
        let good = check(data!("ec256.tsr")).unwrap();
        let mut accepted = Vec::new();
        for i in 0..data!("ec256.tsr").len() {
            let mut t = data!("ec256.tsr").to_vec();
            t[i] ^= 0x01;
            if let Ok(v) = check(&t) {
                assert_eq!(
                    (
                        v.gen_time,
                        v.imprint,
                        &v.tsa_subject,
                        &v.serial,
                        &v.policy,
                        &v.nonce
                    ),
                    (
                        good.gen_time,
                        good.imprint,
                        &good.tsa_subject,
                        &good.serial,
                        &good.policy,
                        &good.nonce
                    ),
                    "byte {i}"
                );
                accepted.push(i);
            }
        }
        assert!(accepted.is_empty(), "accepted flips at bytes {accepted:?}");
    }

    #[test]
    fn every_truncation_is_refused_without_panic() {
        let t = data!("ec256.tsr");
        for n in 0..t.len() {
            assert!(check(&t[..n]).is_err(), "prefix of {n} bytes");
        }
    }

    #[test]
    fn roots_are_parsed_in_pem_and_der() {
        let r = root();
        assert_eq!(r.len(), 1);
        assert_eq!(parse_roots(&r[0].to_der().unwrap()).unwrap(), r);
        assert!(matches!(
            parse_roots(b"hello"),
            Err(TimestampError::Roots(_))
        ));
        assert!(matches!(
            parse_roots(&vec![b'-'; MAX_ROOTS_BYTES + 1]),
            Err(TimestampError::TooLarge { .. })
        ));
    }
}
