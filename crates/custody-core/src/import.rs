//! `import`'s input: JSON Lines, one [`BodyJson`] per line (docs/JSON.md, "import input").
//!
//! Parsing only; reading the file and appending are custody-store's. Lines are read through
//! [`BoundedLines`], so a file with no newline (or `/dev/zero`) is an error, not an allocation
//! as large as the file.

use crate::entry::Body;
use crate::json::BodyJson;
use std::io::BufRead;

/// The longest line import reads. A body is at most one record (1 MiB) once encoded, and JSON
/// escaping (`\u0000`) takes at most six bytes per byte, so no valid line is longer.
pub const MAX_LINE: u64 = 8 * crate::codec::MAX_RECORD_BYTES as u64;

/// Parses one input line: `None` for a blank line, else the body it describes.
///
/// # Errors
/// What is wrong with the line (JSON, an unknown field or kind, a bad hex hash).
pub fn parse_line(line: &str) -> Result<Option<Body>, String> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    let j: BodyJson = serde_json::from_str(line).map_err(|e| e.to_string())?;
    Body::try_from(j).map(Some)
}

/// `BufRead::lines`, but a line longer than [`MAX_LINE`] is an error instead of an allocation
/// as large as the input. Strips `\n` and `\r\n`.
pub struct BoundedLines<R>(pub R);

impl<R: BufRead> Iterator for BoundedLines<R> {
    type Item = std::io::Result<String>;

    fn next(&mut self) -> Option<Self::Item> {
        use std::io::{Error, ErrorKind, Read as _};
        let mut buf = Vec::new();
        match (&mut self.0).take(MAX_LINE + 1).read_until(b'\n', &mut buf) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e) => return Some(Err(e)),
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        } else if buf.len() as u64 > MAX_LINE {
            let msg = format!("line is longer than {MAX_LINE} bytes, more than any body");
            return Some(Err(Error::new(ErrorKind::InvalidData, msg)));
        }
        Some(String::from_utf8(buf).map_err(|_| Error::new(ErrorKind::InvalidData, "not UTF-8")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_with_defaults_and_refuse_unknown_fields() {
        let b = parse_line(
            r#"{"kind":"claim","statement":"s","count":2,"category":"c","period":"2024","cites":[1]}"#,
        )
        .unwrap()
        .unwrap();
        assert!(
            matches!(b, Body::Claim { ref unit, ref place, .. } if unit == "people" && place.is_empty())
        );
        assert_eq!(parse_line("  ").unwrap(), None);
        assert!(parse_line(r#"{"kind":"claim","bogus":1}"#).is_err());
        assert!(parse_line(
            r#"{"kind":"figure","label":"l","value":1,"qualifier":"roughly","terms":[4]}"#
        )
        .is_err());
    }

    #[test]
    fn an_endless_line_is_an_error() {
        let data = vec![b'x'; usize::try_from(MAX_LINE).unwrap() + 10];
        let mut it = BoundedLines(std::io::Cursor::new(data));
        assert!(it.next().unwrap().is_err());
    }
}
