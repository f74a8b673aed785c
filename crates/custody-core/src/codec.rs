//! The one place that turns values into signed and hashed bytes and back.
//!
//! Every byte that custody signs or hashes is produced here, with bincode 2.0.1 configured for
//! fixed-width little-endian integers. `docs/FORMAT.md` writes the resulting layout down byte by
//! byte, so the format never depends on what a crate decides: golden vectors in the tests pin it.
//! This module must never do I/O and must never accept a non-canonical encoding.

use serde::{de::DeserializeOwned, Serialize};

/// The largest encoded entry or submission custody reads or writes (1 MiB). Checked before any
/// buffer is allocated, so a hostile length field cannot make a reader allocate more.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// Errors from encoding and decoding canonical bytes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodecError {
    /// The input is longer than [`MAX_RECORD_BYTES`].
    #[error("record of {0} bytes exceeds the {MAX_RECORD_BYTES}-byte limit")]
    TooLarge(usize),
    /// bincode could not decode the bytes (truncated, bad tag, bad UTF-8, ...).
    #[error("malformed encoding: {0}")]
    Malformed(String),
    /// Bytes were left after a complete value.
    #[error("{0} trailing bytes after the encoded value")]
    TrailingBytes(usize),
    /// Decoding then re-encoding did not give the input back.
    #[error("non-canonical encoding")]
    NonCanonical,
    /// Encoding failed (only possible for values over the size limit).
    #[error("cannot encode: {0}")]
    Encode(String),
}

fn config() -> impl bincode::config::Config {
    // Fixed-width little-endian integers: every length is a u64, every enum tag a u32, so each
    // field has exactly one encoding. The limit bounds what the decoder may allocate.
    bincode::config::standard()
        .with_little_endian()
        .with_fixed_int_encoding()
        .with_limit::<MAX_RECORD_BYTES>()
}

/// Encodes `value` canonically.
///
/// # Errors
/// [`CodecError::Encode`] or [`CodecError::TooLarge`] if the encoding exceeds the record limit.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    let bytes = bincode::serde::encode_to_vec(value, config())
        .map_err(|e| CodecError::Encode(e.to_string()))?;
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(CodecError::TooLarge(bytes.len()));
    }
    Ok(bytes)
}

/// Decodes exactly one canonical value from `bytes`.
///
/// Rejects inputs over the size limit, trailing bytes, and any input that does not re-encode to
/// itself (so two different byte strings can never decode to the same signed value).
///
/// # Errors
/// A [`CodecError`] saying which rule the input broke.
pub fn decode<T: DeserializeOwned + Serialize>(bytes: &[u8]) -> Result<T, CodecError> {
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(CodecError::TooLarge(bytes.len()));
    }
    let (value, used): (T, usize) = bincode::serde::decode_from_slice(bytes, config())
        .map_err(|e| CodecError::Malformed(e.to_string()))?;
    if used != bytes.len() {
        return Err(CodecError::TrailingBytes(bytes.len() - used));
    }
    // bincode with fixed-width integers is canonical for the types custody uses (no floats, no
    // maps); re-encoding proves it for every input rather than trusting that reasoning.
    if encode(&value)? != bytes {
        return Err(CodecError::NonCanonical);
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Sample {
        a: u8,
        b: u32,
        c: u64,
        s: String,
        o: Option<u64>,
        v: Vec<u64>,
        flag: bool,
    }

    fn sample() -> Sample {
        Sample {
            a: 1,
            b: 2,
            c: 3,
            s: "hi".into(),
            o: Some(5),
            v: vec![7],
            flag: true,
        }
    }

    #[test]
    fn layout_is_fixed_width_little_endian() {
        let bytes = encode(&sample()).unwrap();
        let want = hex::decode(concat!(
            "01",               // u8
            "02000000",         // u32 LE
            "0300000000000000", // u64 LE
            "0200000000000000",
            "6869", // String: u64 length, UTF-8
            "01",
            "0500000000000000", // Option: tag 1, value
            "0100000000000000",
            "0700000000000000", // Vec: u64 count, items
            "01",               // bool
        ))
        .unwrap();
        assert_eq!(bytes, want);
        assert_eq!(decode::<Sample>(&bytes).unwrap(), sample());
    }

    #[test]
    fn rejects_trailing_truncated_and_noncanonical() {
        let mut bytes = encode(&sample()).unwrap();
        bytes.push(0);
        assert_eq!(decode::<Sample>(&bytes), Err(CodecError::TrailingBytes(1)));
        bytes.truncate(bytes.len() - 3);
        assert!(matches!(
            decode::<Sample>(&bytes),
            Err(CodecError::Malformed(_))
        ));
        // A bool of 2 or an Option tag of 2 is not an encoding of anything.
        let mut bad = encode(&sample()).unwrap();
        let last = bad.len() - 1;
        bad[last] = 2;
        assert!(decode::<Sample>(&bad).is_err());
    }

    #[test]
    fn hostile_length_does_not_allocate() {
        // A string claiming u64::MAX bytes must fail cleanly, not try to allocate.
        let mut bytes = vec![1u8, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0];
        bytes.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(decode::<Sample>(&bytes).is_err());
        let big = vec![0u8; MAX_RECORD_BYTES + 1];
        assert_eq!(
            decode::<Sample>(&big),
            Err(CodecError::TooLarge(MAX_RECORD_BYTES + 1))
        );
    }
}
