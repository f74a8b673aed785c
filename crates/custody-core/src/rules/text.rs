//! Text fields, partial dates and periods: the checks every body's free text passes, and the one
//! definition of a *control character* that both the rule and every printer use.
//!
//! A text field is one line of UTF-8 that cannot change how anything after it is shown: it holds
//! no [control character](is_control_char) (C0, DEL, C1, Unicode's bidirectional controls, and
//! the line and paragraph separators). Admission refuses such text in every field, so a signed
//! label can never print a forged line; [`escape_controls`] renders the same characters visibly
//! for printers that show text custody did not write (file names, other tools' errors). This
//! module never prints and never reads a file.

use super::{fail, RuleError};
use std::borrow::Cow;
use std::fmt::Write as _;

/// `n` followed by its noun, singular for exactly 1: `count(1, "entry", "entries")` is
/// "1 entry", `count(0, "entry", "entries")` "0 entries". Every count custody prints or puts in
/// an error message with a noun goes through here (the binary's `print::count` is this), so no
/// message says "1 entries".
#[must_use]
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Numbered things in the right number: "claim 3", "claims 3, 4 and 9"; the one form every
/// message uses.
#[must_use]
pub fn numbered(items: &[u64], one: &str, many: &str) -> String {
    let s: Vec<String> = items.iter().map(ToString::to_string).collect();
    let joined = match s.as_slice() {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    };
    format!("{} {joined}", if items.len() == 1 { one } else { many })
}

/// Longest text field accepted in a body.
pub const MAX_TEXT: usize = 64 * 1024;

/// Whether `c` is a *control character* as docs/FORMAT.md ("Text fields") defines it, refused in
/// every text field and escaped by every printer:
///
/// - C0 controls U+0000-U+001F (including tab, line feed and carriage return) and DEL U+007F;
/// - C1 controls U+0080-U+009F (including NEL U+0085);
/// - Unicode's `Bidi_Control` characters: the embeddings and overrides U+202A-U+202E, the
///   isolates U+2066-U+2069, and the marks U+200E (LRM), U+200F (RLM) and U+061C (ALM);
/// - the line and paragraph separators U+2028 and U+2029.
#[must_use]
pub const fn is_control_char(c: char) -> bool {
    matches!(
        c,
        '\u{0000}'..='\u{001F}'
            | '\u{007F}'..='\u{009F}'
            | '\u{061C}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
    )
}

/// `s` with every [control character](is_control_char) written as `\u{XXXX}` (four
/// uppercase hex digits), so text from a hostile source (a signed field, a file name, an OS
/// error) prints as one line in its visible order. Everything else, including backslashes, is
/// kept as is: borrowed when there is nothing to escape.
#[must_use]
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_control_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if is_control_char(c) {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\u{{{:04X}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A JSON text with every non-ASCII-C0 [control character](is_control_char) (DEL, C1, the
/// bidirectional controls, U+2028/U+2029) inside its strings written as a JSON `\uXXXX`
/// escape, so `--json` output cannot reorder a terminal either. `json` must be valid JSON (RFC
/// 8259 already requires C0 controls in strings to be escaped, so a raw C0 character there is
/// whitespace between tokens and is kept); the result parses to the same value, because these
/// characters can only occur inside strings and are all in the Basic Multilingual Plane.
#[must_use]
pub fn escape_controls_in_json(json: &str) -> Cow<'_, str> {
    let escaped = |c: char| is_control_char(c) && c > '\u{1F}';
    if !json.chars().any(escaped) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if escaped(c) {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The first [control character](is_control_char) of `s` and its byte offset, if any.
fn first_control(s: &str) -> Option<(usize, char)> {
    s.char_indices().find(|&(_, c)| is_control_char(c))
}

/// The character rule alone: at most [`MAX_TEXT`] bytes, no control character. Every text field
/// passes it, including those with their own syntax (dates, periods) and the origin.
///
/// # Errors
/// [`RuleError::Broken`] naming `field` and the offending character as `U+XXXX`.
pub fn one_line(field: &str, s: &str) -> Result<(), RuleError> {
    if s.len() > MAX_TEXT {
        return fail(format!("{field} is longer than {MAX_TEXT} bytes"));
    }
    if let Some((at, c)) = first_control(s) {
        return fail(format!(
            "{field} holds control character U+{:04X} at byte {at}: text fields are one line \
             with no control or bidirectional-control characters (docs/FORMAT.md, \"Text fields\")",
            u32::from(c)
        ));
    }
    Ok(())
}

/// A text field: [`one_line`], and, if `required`, not empty after trimming whitespace.
///
/// # Errors
/// [`RuleError::Broken`] naming `field`.
pub fn text(field: &str, s: &str, required: bool) -> Result<(), RuleError> {
    if required && s.trim().is_empty() {
        return fail(format!("{field} must not be empty"));
    }
    one_line(field, s)
}

/// Checks a partial date: YYYY, YYYY-MM or YYYY-MM-DD with a real month and day.
#[must_use]
pub fn valid_partial_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let num = |p: &str, len: usize| p.len() == len && p.bytes().all(|b| b.is_ascii_digit());
    // Years 0001 to 9999: year 0000 is 1 BC in ISO 8601's proleptic calendar and not a year
    // at all in others; no record custody keeps needs it, and readers would disagree on it.
    if parts.first().is_some_and(|y| *y == "0000") {
        return false;
    }
    match parts.as_slice() {
        [y] => num(y, 4),
        [y, m] => num(y, 4) && num(m, 2) && (1..=12).contains(&m.parse::<u8>().unwrap_or(0)),
        [y, m, d] => {
            if !(num(y, 4) && num(m, 2) && num(d, 2)) {
                return false;
            }
            let (year, month, day) = (
                y.parse::<u32>().unwrap_or(0),
                m.parse::<u32>().unwrap_or(0),
                d.parse::<u32>().unwrap_or(0),
            );
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            let days = match month {
                1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
                4 | 6 | 9 | 11 => 30,
                2 if leap => 29,
                2 => 28,
                _ => return false,
            };
            (1..=days).contains(&day)
        }
        _ => false,
    }
}

/// Checks a period: a partial date, or a range `A..B` of partial dates with A <= B.
#[must_use]
pub fn valid_period(s: &str) -> bool {
    match s.split_once("..") {
        None => valid_partial_date(s),
        Some((a, b)) => valid_partial_date(a) && valid_partial_date(b) && a <= b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_exactly_the_documented_classes() {
        let refused: Vec<u32> = (0..=0x10FFFF)
            .filter_map(char::from_u32)
            .filter(|&c| is_control_char(c))
            .map(u32::from)
            .collect();
        let mut expected: Vec<u32> = (0..=0x1F).chain(0x7F..=0x9F).collect();
        expected.extend([0x061C, 0x200E, 0x200F, 0x2028, 0x2029]);
        expected.extend(0x202A..=0x202E);
        expected.extend(0x2066..=0x2069);
        expected.sort_unstable();
        assert_eq!(refused, expected);
        // Emoji sequences, variation selectors and joiners are text, not controls.
        for ok in [
            '\u{200D}', '\u{FE0F}', '\u{200B}', ' ', '\u{A0}', '한', 'ع', '🏳',
        ] {
            assert!(!is_control_char(ok), "{ok:?}");
        }
    }

    #[test]
    fn escaping_keeps_one_line_and_borrows_clean_text() {
        assert!(matches!(escape_controls("Yanbian 연변"), Cow::Borrowed(_)));
        assert_eq!(
            escape_controls("a\n  checkpoint ok\u{202E}\u{7F}\u{85}\t"),
            "a\\u{000A}  checkpoint ok\\u{202E}\\u{007F}\\u{0085}\\u{0009}"
        );
        assert_eq!(escape_controls("\u{0}"), "\\u{0000}");
    }

    #[test]
    fn json_escaping_keeps_the_value() {
        let v = serde_json::json!({"label": "a\n\u{202E}\u{85}\u{7F}b", "n": [1, 2]});
        let pretty = serde_json::to_string_pretty(&v).unwrap();
        let safe = escape_controls_in_json(&pretty);
        assert!(!safe.contains(['\u{202E}', '\u{85}', '\u{7F}']), "{safe}");
        assert!(safe.contains("\\u202e"), "{safe}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&safe).unwrap(), v);
        assert!(matches!(
            escape_controls_in_json("{\"a\": \"연변\"}\n"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn the_rule_names_field_and_character() {
        let e = text("label", "x\u{2066}y", true).unwrap_err().to_string();
        assert!(
            e.starts_with("label holds control character U+2066 at byte 1"),
            "{e}"
        );
        assert!(text("label", " \t", true).is_err());
        assert!(text("place", "", false).is_ok());
        assert!(text("unit", "사람", true).is_ok());
        let e = one_line("date", "2024\n").unwrap_err().to_string();
        assert!(e.contains("U+000A"), "{e}");
    }

    #[test]
    fn partial_dates_and_periods() {
        for ok in [
            "2024",
            "2024-01",
            "2024-02-29",
            "2023..2024-06",
            "2025-10-15",
        ] {
            assert!(valid_period(ok), "{ok}");
        }
        for bad in [
            "",
            "24",
            "2024-13",
            "2023-02-29",
            "2024-1",
            "2024..2023",
            "2024-01-32",
            "x..y",
        ] {
            assert!(!valid_period(bad), "{bad}");
        }
    }
}
