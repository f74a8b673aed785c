//! Text fields, partial dates and periods: the checks every body's free text passes.

use super::{fail, RuleError};

/// Longest text field accepted in a body.
pub const MAX_TEXT: usize = 64 * 1024;

/// Checks a partial date: YYYY, YYYY-MM or YYYY-MM-DD with a real month and day.
#[must_use]
pub fn valid_partial_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let num = |p: &str, len: usize| p.len() == len && p.bytes().all(|b| b.is_ascii_digit());
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

pub(crate) fn text(field: &str, s: &str, required: bool) -> Result<(), RuleError> {
    if required && s.trim().is_empty() {
        return fail(format!("{field} must not be empty"));
    }
    if s.len() > MAX_TEXT {
        return fail(format!("{field} is longer than {MAX_TEXT} bytes"));
    }
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return fail(format!("{field} holds control characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
