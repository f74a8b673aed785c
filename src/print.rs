//! Text for people: one-line summaries of bodies, signer labels, lists, and [`clean`] for any
//! text custody did not write itself. Formatting only; the facts come from custody-core
//! (`explain`, `json`).
//!
//! Every string taken from an entry, a file name or another library's error goes through
//! [`clean`] (or [`quoted`]) before it is printed, so one record stays one line and text cannot
//! reorder what follows it. Admission already refuses control characters in signed fields; the
//! printers escape them anyway, because they also show ledgers that fail verification and
//! names a hostile directory chose.

use custody_core::entry::{Body, Entry, KeyId};
use custody_core::explain::Standing;
use custody_core::rules::text::{escape_controls, is_control_char};
use custody_core::rules::KeyRecord;
use std::borrow::Cow;
use std::fmt;
use std::io::{self, Write};

pub use custody_core::json::rfc3339 as time;

/// `s` safe to print on one line: every control character (C0, DEL, C1, the bidirectional
/// controls U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069, and U+2028/U+2029; the set
/// docs/FORMAT.md defines and admission refuses) written as `\u{XXXX}`, everything else kept,
/// borrowed when nothing needs escaping. Use it for file names, paths, error text and any
/// field of an entry that is printed outside [`quoted`].
#[must_use]
pub fn clean(s: &str) -> Cow<'_, str> {
    escape_controls(s)
}

/// `s` in double quotes, with `"` and `\` backslash-escaped and control characters written as
/// `\u{XXXX}`, as [`clean`] does; the same as Rust's `{:?}` for ordinary text.
#[must_use]
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if is_control_char(c) => out.push_str(&escape_controls(c.encode_utf8(&mut [0; 4]))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Writes one line of a text report to `w`: `args` formatted, passed through [`clean`] whole,
/// then a newline. Every line a text report prints goes through here (the `say!` macro of
/// `commands`), so no field taken from a ledger, a bundle or a directory listing can end the
/// line early or reorder what follows it, whichever field it is and however it was formatted.
/// Fields shown in double quotes go through [`quoted`] first, so a `"` cannot close the quote.
///
/// # Errors
/// When `w` cannot be written (a closed pipe is one).
pub fn line(w: &mut dyn Write, args: fmt::Arguments<'_>) -> io::Result<()> {
    let text = args
        .as_str()
        .map_or_else(|| Cow::Owned(args.to_string()), Cow::Borrowed);
    w.write_all(clean(&text).as_bytes())?;
    w.write_all(b"\n")
}

/// "name (role, short id)" for the signer of `e`, as `keys` knows it.
pub fn signer_label(keys: &[KeyRecord], e: &Entry) -> String {
    match keys.iter().find(|k| k.id() == e.content.signer) {
        Some(k) => format!(
            "{} ({}, {})",
            clean(&k.name),
            k.role_name(),
            e.content.signer.short()
        ),
        None => format!("unknown key {}", e.content.signer.short()),
    }
}

pub use custody_core::rules::text::count;

/// A key id as custody shows it to people: the 16-digit short form ([`KeyId::short`], the one
/// `log`, `show`, `verify`, `check` and `verify --operator` use), or all 64 digits with
/// `full` (`--full` on the key commands).
#[must_use]
pub fn key_id(id: &KeyId, full: bool) -> String {
    if full {
        id.to_hex()
    } else {
        id.short()
    }
}

/// A checkpoint named by the tree size it signs: "the checkpoint at tree size 30". Never
/// "checkpoint 30", which a reader takes for the thirtieth checkpoint.
#[must_use]
pub fn checkpoint_at(size: u64) -> String {
    format!("the checkpoint at tree size {size}")
}

/// `n` of a claim's or figure's `unit`: "1 person" for the default unit "people", otherwise
/// the unit as its signer wrote it ("406 people", "12 households"). custody knows the singular
/// only of the default unit; any other is the signer's word, kept as signed.
#[must_use]
pub fn quantity(n: u64, unit: &str) -> String {
    if n == 1 && unit == "people" {
        "1 person".to_owned()
    } else {
        format!("{n} {unit}")
    }
}

/// Numbered things in the right number: "claim 3", "claims 3, 4 and 9".
pub use custody_core::rules::text::numbered;

/// "rests" for one subject, "rest" for several: the verb after [`numbered`].
#[must_use]
pub fn rest(items: &[u64]) -> &'static str {
    if items.len() == 1 {
        "rests"
    } else {
        "rest"
    }
}

/// Comma-separated numbers.
pub fn list(v: &[u64]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The succession of figure `index` in one line: "figure 406 (entry 27) superseded by 405 at
/// entry 31", then each later successor, and how the last one stands (as published, changed,
/// or retracted). `None` if nothing superseded it. `standing` gives a figure's standing as of
/// the point the report is about (today, or a bundle's checkpoint): core's standing, as
/// everywhere else, so the chain is the one `verify`, `figure`, `check` and the exhibit show.
///
/// # Errors
/// What `standing` returns.
pub fn succession<E>(
    index: u64,
    standing: &dyn Fn(u64) -> Result<Option<Standing>, E>,
) -> Result<Option<String>, E> {
    let Some(first) = standing(index)? else {
        return Ok(None);
    };
    let Some(mut next) = first.superseded_by else {
        return Ok(None);
    };
    let mut line = format!("figure {} (entry {index})", first.published.unwrap_or(0));
    let mut then = "";
    // Each successor is a later entry than the figure it supersedes, so the chain ends; the
    // bound only keeps a hostile lookup from looping.
    for _ in 0..=1_000_000 {
        let Some(st) = standing(next)? else {
            line.push_str(&format!("{then} superseded by figure {next}"));
            return Ok(Some(line));
        };
        line.push_str(&format!(
            "{then} superseded by {} at entry {next}",
            st.published.unwrap_or(0)
        ));
        then = ", then";
        match st.superseded_by {
            Some(s) if s > next => next = s,
            _ => {
                let now = st.current.unwrap_or(0);
                if let Some(r) = st.retracted_at {
                    line.push_str(&format!(
                        "; figure {next} was itself RETRACTED at entry {r}"
                    ));
                } else if st.is_changed() || !st.unsupported.is_empty() {
                    line.push_str(&format!(
                        "; figure {next} is {now} now, changed since it was published"
                    ));
                } else if st.is_amended() {
                    line.push_str(&format!(
                        "; figure {next} stands at its published value ({now}), amended beneath"
                    ));
                } else {
                    line.push_str(&format!("; figure {next} stands as published ({now})"));
                }
                return Ok(Some(line));
            }
        }
    }
    Ok(Some(line))
}

/// A one-line summary of a body of an entry for `origin` (which a genesis names); every string
/// from the body is [`clean`]ed or [`quoted`].
pub fn summary(b: &Body, origin: &str) -> String {
    match b {
        Body::Genesis { name, operator } => format!(
            "ledger for origin {} opened by its operator, key {} ({})",
            quoted(origin),
            quoted(name),
            KeyId::of(operator).short()
        ),
        Body::KeyGrant { name, role, key } => format!(
            "grant {} to key {} ({})",
            role.name(),
            quoted(name),
            KeyId::of(key).short()
        ),
        Body::KeyRevoke { key, reason } => {
            format!("revoke key {}: {}", key.short(), clean(reason))
        }
        Body::Source {
            title,
            publisher,
            date,
            kind,
            sha256,
            ..
        } => format!(
            "{} {} ({}, {}) sha256 {}",
            kind.name(),
            quoted(title),
            clean(publisher),
            clean(date),
            &sha256.to_hex()[..16]
        ),
        Body::Informant { alias, .. } => format!("informant {} (identity sealed)", quoted(alias)),
        Body::Claim { .. } | Body::RepeatedClaim { .. } => {
            let Some(claim) = b.as_claim() else {
                return String::new();
            };
            let c = claim
                .count
                .map(|c| format!("[{}] ", quantity(c, &clean(claim.unit))))
                .unwrap_or_default();
            let again = claim
                .repeats
                .map(|r| format!("; a deliberate repeat of entry {r}"))
                .unwrap_or_default();
            format!(
                "{c}{} (cites {}){again}",
                clean(claim.statement),
                list(claim.cites)
            )
        }
        Body::Figure { .. } | Body::SupersedingFigure { .. } => {
            let Some(f) = b.as_figure() else {
                return String::new();
            };
            let sup = f
                .supersedes
                .map(|s| format!("; supersedes figure {s}"))
                .unwrap_or_default();
            format!(
                "{}: {} {} {} = sum of {}{sup}",
                clean(f.label),
                f.qualifier.name(),
                f.value,
                clean(f.unit),
                list(f.terms)
            )
        }
        Body::Correction {
            target,
            count,
            statement,
            reason,
        } => {
            let mut parts = Vec::new();
            if let Some(c) = count {
                parts.push(format!("count -> {c}"));
            }
            if let Some(s) = statement {
                parts.push(format!("statement -> {}", quoted(s)));
            }
            format!("correct {target}: {} ({})", parts.join(", "), clean(reason))
        }
        Body::Retraction { target, reason } => format!("retract {target}: {}", clean(reason)),
        Body::Redaction { target, reason } => {
            format!("redact document of {target}: {}", clean(reason))
        }
        Body::Cite {
            target,
            cites,
            reason,
        } => format!(
            "re-source {target}: cites {} ({})",
            list(cites),
            clean(reason)
        ),
        Body::StateCommitment { size, leaves, root } => format!(
            "commit the amendment state of entries 0..{}: {} amended, state root {}",
            size.saturating_sub(1),
            count(*leaves, "entry", "entries"),
            &root.to_hex()[..16]
        ),
        Body::Review { target, note } if note.is_empty() => format!("review figure {target}"),
        Body::Review { target, note } => format!("review figure {target}: {}", clean(note)),
    }
}

/// A figure's reviews as (review entry, its signer's key name in `keys`, or "?"), in the order
/// given. `signer(i)` is the signer of review entry `i`, `None` when it is not at hand (a
/// bundle holds only its own entries): that review is left out. One lookup for `figure`,
/// `check`, `verify` and `exhibit`.
///
/// # Errors
/// What `signer` returns.
pub fn reviews<E>(
    indices: &[u64],
    keys: &[KeyRecord],
    mut signer: impl FnMut(u64) -> Result<Option<KeyId>, E>,
) -> Result<Vec<(u64, String)>, E> {
    let mut out = Vec::with_capacity(indices.len());
    for &i in indices {
        if let Some(id) = signer(i)? {
            let name = keys
                .iter()
                .find(|k| k.id() == id)
                .map_or_else(|| "?".to_owned(), |k| k.name.clone());
            out.push((i, name));
        }
    }
    Ok(out)
}

/// "reviewed by NAME at entry M, ..." for a figure's reviews (from [`reviews`]), or `None` if
/// nobody reviewed it; `name` writes each name (cleaned for a terminal, escaped for a page).
/// One wording for `figure`, `check`, `verify` and `exhibit`.
#[must_use]
pub fn reviewed(reviews: &[(u64, String)], name: impl Fn(&str) -> String) -> Option<String> {
    if reviews.is_empty() {
        return None;
    }
    let by: Vec<String> = reviews
        .iter()
        .map(|(i, n)| format!("{} at entry {i}", name(n)))
        .collect();
    Some(format!("reviewed by {}", by.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_core::entry::Qualifier;

    #[test]
    fn quoted_matches_debug_for_ordinary_text_and_escapes_controls() {
        for s in ["operator", "say \"hi\" \\ 연변", "", "ع 406"] {
            assert_eq!(quoted(s), format!("{s:?}"), "{s}");
        }
        // Unlike `{:?}`, emoji sequences (joiners, variation selectors) are kept as written.
        assert_eq!(quoted("🏳️‍🌈"), "\"🏳️‍🌈\"");
        assert_eq!(quoted("a\n\u{202E}b"), "\"a\\u{000A}\\u{202E}b\"");
    }

    #[test]
    fn a_report_line_stays_one_line_whatever_its_fields_hold() {
        let mut out = Vec::new();
        let name = "x.txt\n  checkpoint ok: forged\u{202E}";
        line(
            &mut out,
            format_args!("  checkpoint ok: tree size 1 ({name})"),
        )
        .unwrap();
        line(&mut out, format_args!("plain")).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "  checkpoint ok: tree size 1 (x.txt\\u{000A}  checkpoint ok: forged\\u{202E})\nplain\n"
        );
    }

    #[test]
    fn counts_are_singular_only_for_one() {
        assert_eq!(count(0, "entry", "entries"), "0 entries");
        assert_eq!(count(1, "entry", "entries"), "1 entry");
        assert_eq!(count(2, "byte", "bytes"), "2 bytes");
    }

    #[test]
    fn summaries_stay_on_one_line() {
        let b = Body::Figure {
            label: "x\n  checkpoint ok: tree size 9".into(),
            value: 1,
            qualifier: Qualifier::AtLeast,
            unit: "people\u{2066}".into(),
            terms: vec![3],
        };
        let s = summary(&b, "example.org/x");
        assert!(!s.chars().any(is_control_char), "{s}");
        assert!(s.starts_with("x\\u{000A}  checkpoint ok"), "{s}");
    }
}
