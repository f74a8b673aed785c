//! Framing of the entries file, and a streaming reader that tells a torn tail from tampering.
//!
//! File: the 16-byte [`FILE_MAGIC`], then one frame per entry:
//! `u32 LE length || entry bytes (length) || 32-byte leaf hash`. A frame cut short by the end of
//! the file is a torn write (a crash mid-append); a complete frame whose bytes are wrong is
//! tampering. This module reads; it never writes.

use custody_core::codec::MAX_RECORD_BYTES;
use custody_core::hash::Digest;
use std::io::{self, Read};

/// The first 16 bytes of every entries file.
pub const FILE_MAGIC: &[u8; 16] = b"custody-log-v1\n\0";
/// Bytes of a frame around the entry: length prefix and leaf-hash trailer.
pub const FRAME_OVERHEAD: u64 = 4 + 32;

/// One complete frame as read from disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Offset of the frame's length prefix in the file.
    pub offset: u64,
    /// The entry bytes.
    pub bytes: Vec<u8>,
    /// The leaf hash written after them.
    pub stored_leaf: Digest,
}

impl Frame {
    /// Offset just past this frame.
    #[must_use]
    pub fn end(&self) -> u64 {
        self.offset + FRAME_OVERHEAD + self.bytes.len() as u64
    }
}

/// What the reader found at the next position.
#[derive(Debug)]
pub enum Next {
    /// A complete frame.
    Frame(Frame),
    /// A clean end of file.
    End,
    /// The file ends inside a frame: `bytes` bytes at `offset` are a torn write.
    Torn {
        /// Where the torn frame starts.
        offset: u64,
        /// How many bytes of it are present.
        bytes: u64,
    },
    /// The length prefix is zero or over the limit: not a frame custody writes.
    BadLength {
        /// Where the frame starts.
        offset: u64,
        /// The length it claims.
        length: u32,
    },
}

/// Encodes a frame.
#[must_use]
pub fn encode_frame(entry_bytes: &[u8], leaf: &Digest) -> Vec<u8> {
    let mut out = Vec::with_capacity(entry_bytes.len() + FRAME_OVERHEAD as usize);
    // The caller keeps entries under MAX_RECORD_BYTES, far below u32::MAX.
    out.extend_from_slice(
        &u32::try_from(entry_bytes.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    out.extend_from_slice(entry_bytes);
    out.extend_from_slice(&leaf.0);
    out
}

/// Reads frames one after another from a reader positioned at `offset`.
pub struct FrameReader<R: Read> {
    inner: R,
    offset: u64,
}

impl<R: Read> FrameReader<R> {
    /// Starts reading at `offset` (the reader must already be positioned there).
    pub fn new(inner: R, offset: u64) -> Self {
        FrameReader { inner, offset }
    }

    /// Offset of the next frame.
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads the next frame.
    ///
    /// # Errors
    /// Only on I/O errors; malformed data is reported as a [`Next`] variant.
    pub fn next_frame(&mut self) -> io::Result<Next> {
        let start = self.offset;
        let mut len = [0u8; 4];
        let got = read_full(&mut self.inner, &mut len)?;
        if got == 0 {
            return Ok(Next::End);
        }
        if got < 4 {
            return Ok(Next::Torn {
                offset: start,
                bytes: got as u64,
            });
        }
        let length = u32::from_le_bytes(len);
        if length == 0 || length as usize > MAX_RECORD_BYTES {
            return Ok(Next::BadLength {
                offset: start,
                length,
            });
        }
        // Bounded by MAX_RECORD_BYTES above, so a hostile length cannot force a large allocation.
        let mut buf = vec![0u8; length as usize + 32];
        let got2 = read_full(&mut self.inner, &mut buf)?;
        if got2 < buf.len() {
            return Ok(Next::Torn {
                offset: start,
                bytes: 4 + got2 as u64,
            });
        }
        let mut leaf = [0u8; 32];
        leaf.copy_from_slice(&buf[length as usize..]);
        buf.truncate(length as usize);
        let frame = Frame {
            offset: start,
            bytes: buf,
            stored_leaf: Digest(leaf),
        };
        self.offset = frame.end();
        Ok(Next::Frame(frame))
    }
}

/// Reads the frame at `offset` with positional reads (never moving a shared file offset).
/// Returns `None` when no whole, validly sized frame is there.
///
/// # Errors
/// Only on I/O errors other than reaching the end of the file.
pub fn read_frame_at(file: &std::fs::File, offset: u64) -> io::Result<Option<Frame>> {
    use std::os::unix::fs::FileExt;
    let eof = |e: io::Error| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            Ok(None)
        } else {
            Err(e)
        }
    };
    let mut len = [0u8; 4];
    if let Err(e) = file.read_exact_at(&mut len, offset) {
        return eof(e);
    }
    let length = u32::from_le_bytes(len) as usize;
    if length == 0 || length > MAX_RECORD_BYTES {
        return Ok(None);
    }
    let mut buf = vec![0u8; length + 32];
    if let Err(e) = file.read_exact_at(&mut buf, offset + 4) {
        return eof(e);
    }
    let mut leaf = [0u8; 32];
    leaf.copy_from_slice(&buf[length..]);
    buf.truncate(length);
    Ok(Some(Frame {
        offset,
        bytes: buf,
        stored_leaf: Digest(leaf),
    }))
}

/// Reads until `buf` is full or the reader ends; returns how many bytes were read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_torn_and_bad_lengths() {
        let a = encode_frame(b"hello", &Digest::leaf(b"hello"));
        let b = encode_frame(b"world!", &Digest::leaf(b"world!"));
        let mut file = a.clone();
        file.extend_from_slice(&b);
        let mut r = FrameReader::new(&file[..], 0);
        let Next::Frame(f) = r.next_frame().unwrap() else {
            panic!()
        };
        assert_eq!(f.bytes, b"hello");
        assert_eq!(f.stored_leaf, Digest::leaf(b"hello"));
        assert!(matches!(r.next_frame().unwrap(), Next::Frame(_)));
        assert!(matches!(r.next_frame().unwrap(), Next::End));
        for cut in a.len() + 1..file.len() {
            let mut r = FrameReader::new(&file[..cut], 0);
            assert!(matches!(r.next_frame().unwrap(), Next::Frame(_)));
            match r.next_frame().unwrap() {
                Next::Torn { offset, bytes } => {
                    assert_eq!(offset, a.len() as u64);
                    assert_eq!(bytes, (cut - a.len()) as u64);
                }
                other => panic!("cut {cut}: {other:?}"),
            }
        }
        let hostile = [0xffu8, 0xff, 0xff, 0xff, 1, 2, 3];
        let mut r = FrameReader::new(&hostile[..], 0);
        assert!(matches!(r.next_frame().unwrap(), Next::BadLength { .. }));
    }
}
