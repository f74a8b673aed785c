//! The court exhibit: a printable, static HTML page rendered from a [`VerifiedBundle`], never
//! from raw bundle JSON. Every string taken from the bundle is HTML-escaped; the page has no
//! script and no remote resource. Values and standings come from custody-core's `explain`
//! walk, the same one `figure`, `verify` and `check` print.

use crate::print::{clean, time};
use anyhow::Result;
use custody_core::bundle::VerifiedBundle;
use custody_core::entry::Body;
use custody_core::explain::{Status, TreeNode};
use custody_core::hash::Digest;
use custody_core::json::SignerJson;
use custody_core::timestamp::VerifiedTimestamp;
use std::fmt::Write as _;

/// Escapes text for HTML element content and attribute values. Control and bidirectional
/// characters are first written as `\u{XXXX}` ([`clean`]): a verified bundle holds none, since
/// admission refuses them, but a bidi override must never reorder what a court reads.
#[must_use]
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in clean(s).chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const CSS: &str = r"
@page { size: auto; margin: 16mm 15mm 18mm 15mm; }
html { font-family: Georgia, 'Times New Roman', serif; font-size: 10.5pt; line-height: 1.35; color: #000; background: #fff; }
body { max-width: 178mm; margin: 0 auto; }
h1 { font-size: 16pt; margin: 0 0 4pt 0; }
h2 { font-size: 12.5pt; margin: 12pt 0 5pt 0; border-bottom: 1px solid #000; break-after: avoid; page-break-after: avoid; }
h3 { font-size: 11pt; margin: 10pt 0 4pt 0; break-after: avoid; page-break-after: avoid; }
.hash, code, pre { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 8.5pt; overflow-wrap: anywhere; }
.hash, pre { word-break: break-all; }
.keyid { white-space: nowrap; word-break: normal; overflow-wrap: normal; }
code { white-space: nowrap; }
@media screen { body { padding: 10mm 0; } }
pre { white-space: pre-wrap; border: 1px solid #888; padding: 6pt; break-inside: avoid; page-break-inside: avoid; }
table { border-collapse: collapse; width: 100%; margin: 4pt 0; }
th, td { border: 1px solid #888; padding: 2pt 4pt; text-align: left; vertical-align: top; }
th { background: #eee; }
tr { break-inside: avoid; page-break-inside: avoid; }
ul.tree, ul.tree ul { list-style: none; padding-left: 14pt; margin: 2pt 0; }
ul.tree { padding-left: 0; }
ul.tree li { margin: 3pt 0; break-inside: avoid; page-break-inside: avoid; }
.box { border: 2px solid #000; padding: 6pt 8pt; margin: 8pt 0; break-inside: avoid; page-break-inside: avoid; }
.warn { border: 4px double #000; }
.note { font-size: 9.5pt; }
.changed { font-weight: bold; }
.blank { letter-spacing: 0.05em; }
.decl p { margin: 8pt 0; }
.box > p:first-child { margin-top: 0; }
.box > p:last-child { margin-bottom: 0; }
.verdict { font-size: 12.5pt; line-height: 1.35; border-width: 3px; }
.verdict p { margin: 0; font-weight: bold; }
table.fields { width: auto; margin: 0 0 6pt 0; font-size: 9.5pt; }
table.fields th, table.fields td.produced { white-space: nowrap; }
table.fields td { min-width: 22mm; }
table.fields .blank { min-width: 28mm; }
@media print { a { color: #000; text-decoration: none; } }
";

struct Page<'a> {
    v: &'a VerifiedBundle,
    h: String,
}

impl Page<'_> {
    fn signer_cell(&self, index: u64) -> String {
        let e = &self.v.entries[&index].entry;
        let s = SignerJson::of(&e.content.signer, self.v.keys());
        format!(
            "{} ({})<br><span class=\"hash\">{}</span>",
            esc(s.name.as_deref().unwrap_or("?")),
            esc(s.role.as_deref().unwrap_or("?")),
            esc(&s.key_id)
        )
    }

    fn cite_line(&self, c: u64) -> String {
        let Some(ve) = self.v.entries.get(&c) else {
            return format!("entry {c} (not in the bundle)");
        };
        match &ve.entry.content.body {
            Body::Source {
                title,
                publisher,
                date,
                sha256,
                ..
            } => format!(
                "source [entry {c}]: &ldquo;{}&rdquo;, {}, {}; document SHA-256 <span class=\"hash\">{}</span>{}",
                esc(title),
                esc(publisher),
                esc(date),
                sha256,
                self.amend_note(c)
            ),
            Body::Informant { alias, commitment } => format!(
                "informant [entry {c}]: {} (identity sealed; commitment <span class=\"hash\">{}</span>){}",
                esc(alias),
                commitment,
                self.amend_note(c)
            ),
            other => format!("{} [entry {c}]", other.kind()),
        }
    }

    fn amend_note(&self, i: u64) -> String {
        let mut s = String::new();
        for a in self.v.amended_by(i) {
            if let Some(ae) = self.v.entries.get(&a) {
                let what = match &ae.entry.content.body {
                    Body::Correction {
                        count,
                        statement,
                        reason,
                        ..
                    } => {
                        let mut w = String::from("corrected");
                        if let Some(c) = count {
                            let _ = write!(w, " to count {c}");
                        }
                        if let Some(st) = statement {
                            let _ = write!(w, " to statement &ldquo;{}&rdquo;", esc(st));
                        }
                        let _ = write!(w, ": {}", esc(reason));
                        w
                    }
                    Body::Retraction { reason, .. } => format!("RETRACTED: {}", esc(reason)),
                    Body::Redaction { reason, .. } => {
                        format!("stored copy redacted: {}", esc(reason))
                    }
                    b @ Body::SupersedingFigure { .. } => match b.as_figure() {
                        Some(f) => format!(
                            "SUPERSEDED by figure [entry {a}] &ldquo;{}&rdquo;: {} {} {}",
                            esc(f.label),
                            esc(&qualifier_words(f.qualifier.name())),
                            grouped(f.value),
                            esc(f.unit)
                        ),
                        None => String::new(),
                    },
                    Body::Cite { cites, reason, .. } => format!(
                        "re-sourced, now also citing {}: {}",
                        entries_text(cites),
                        esc(reason)
                    ),
                    other => other.kind().to_string(),
                };
                // Amendments made before the subject was signed are part of what it summed,
                // not changes to it: say so, so the page never shows a "change" the standing
                // does not count.
                let when = if a < self.v.subject.index {
                    ", before the subject was signed"
                } else {
                    ""
                };
                let _ = write!(
                    s,
                    " <span class=\"changed\">[entry {a}, {}{when}: {what}]</span>",
                    esc(&time(ae.entry.content.claimed_time))
                );
            }
        }
        s
    }

    /// The arithmetic tree from core's walk: values as they stood when each figure was signed.
    fn tree(&mut self, node: &TreeNode) -> Result<()> {
        let v = self.v;
        let index = node.index;
        if node.repeat {
            let _ = write!(
                self.h,
                "<li>{} [entry {index}] (shown above)</li>",
                esc(node.entry.content.body.kind())
            );
            return Ok(());
        }
        match &node.entry.content.body {
            body @ (Body::Figure { .. } | Body::SupersedingFigure { .. }) => {
                let Some(f) = body.as_figure() else {
                    return Ok(());
                };
                let (label, qualifier, unit) = (f.label, f.qualifier, f.unit);
                let at_value = node.value.unwrap_or(f.value);
                let parts: Vec<String> = node
                    .children
                    .iter()
                    .map(|c| c.value.unwrap_or(0).to_string())
                    .collect();
                let changed = match v.standing_of(index)? {
                    Some(now) if now.is_changed() => format!(
                        " <span class=\"changed\">(now {} after {})</span>",
                        now.current.unwrap_or(0),
                        entries_text(&now.changed_by)
                    ),
                    Some(now) if now.is_amended() => format!(
                        " <span class=\"changed\">(value unchanged; amended beneath by {})</span>",
                        entries_text(&now.changed_by)
                    ),
                    _ => String::new(),
                };
                let _ = write!(
                    self.h,
                    "<li><b>Figure [entry {index}]: &ldquo;{}&rdquo; &mdash; {} {at_value} {}</b> = {}{changed}{}",
                    esc(label),
                    esc(&qualifier_words(qualifier.name())),
                    esc(unit),
                    parts.join(" + "),
                    self.amend_note(index)
                );
                self.h.push_str("<ul>");
                for c in &node.children {
                    self.tree(c)?;
                }
                self.h.push_str("</ul></li>");
            }
            b @ (Body::Claim { .. } | Body::RepeatedClaim { .. }) => {
                let Some(claim) = b.as_claim() else {
                    return Ok(());
                };
                let (statement, unit, period, place) =
                    (claim.statement, claim.unit, claim.period, claim.place);
                let shown = match node.value {
                    Some(val) => format!("{val} {}", esc(unit)),
                    None => "no count".into(),
                };
                let unsupported = if v
                    .standing
                    .as_ref()
                    .is_some_and(|st| st.unsupported.contains(&index))
                {
                    " <span class=\"changed\">[UNSUPPORTED as of the checkpoint: every source \
                     and informant it cites was retracted]</span>"
                } else {
                    ""
                };
                let _ = write!(
                    self.h,
                    "<li><b>Claim [entry {index}]: {shown}</b> &mdash; {} ({}{}){}{}{unsupported}",
                    esc(statement),
                    esc(place),
                    if place.is_empty() {
                        esc(period)
                    } else {
                        format!(", {}", esc(period))
                    },
                    claim
                        .repeats
                        .map(|r| format!(
                            " <span class=\"changed\">[a deliberate repeat of claim [entry {r}]]</span>"
                        ))
                        .unwrap_or_default(),
                    self.amend_note(index)
                );
                self.h.push_str("<ul>");
                for c in &node.children {
                    let line = self.cite_line(c.index);
                    let _ = write!(self.h, "<li>cites {line}</li>");
                }
                self.h.push_str("</ul></li>");
            }
            other => {
                let _ = write!(
                    self.h,
                    "<li>{} [entry {index}]{}",
                    esc(other.kind()),
                    self.amend_note(index)
                );
                if !node.children.is_empty() {
                    self.h.push_str("<ul>");
                    for c in &node.children {
                        self.tree(c)?;
                    }
                    self.h.push_str("</ul>");
                }
                self.h.push_str("</li>");
            }
        }
        Ok(())
    }
}

/// The witnesses whose cosignatures met a policy's quorum on the bundle's checkpoint, for the
/// page's result box and its section 5.
pub struct Witnesses {
    /// Each witness that cosigned: the policy's name for it and its time, RFC 3339.
    pub cosigned: Vec<(String, String)>,
    /// The name on the policy's quorum line.
    pub quorum: String,
    /// SHA-256 of the policy file, hex.
    pub policy_sha256: String,
}

impl Witnesses {
    /// "witnessed by X at T, Y at T'", escaped for HTML.
    fn sentence(&self) -> String {
        let parts: Vec<String> = self
            .cosigned
            .iter()
            .map(|(n, t)| format!("{} at {}", esc(n), esc(t)))
            .collect();
        format!("witnessed by {}", parts.join(", "))
    }

    /// The paragraph of the result box.
    fn result(&self) -> String {
        format!(
            "<p><b>Witnesses: this checkpoint was {}.</b> Each of these independent witnesses \
             signed (cosigned) this exact checkpoint at the time stated, which meets the quorum \
             <code>{}</code> of the witness policy with SHA-256 <span class=\"hash\">{}</span>, \
             supplied by the person who produced this page.</p>",
            self.sentence(),
            esc(&self.quorum),
            esc(&self.policy_sha256)
        )
    }

    /// The items of section 5 on what the cosignatures prove.
    fn limits(&self) -> String {
        "<li><b>Established by the witnesses' cosignatures:</b> each witness named in the result \
         box saw this checkpoint, at the time it stated, and had seen no checkpoint of this log \
         inconsistent with it (a witness cosigns only a checkpoint that extends every one it \
         cosigned before, which it checks with a consistency proof). To show some other reader \
         a different history, the operator would have needed the witnesses of a whole quorum \
         to cosign a checkpoint inconsistent with this one; where every quorum includes an \
         honest witness, it cannot.</li> \
         <li><b>Not established by the cosignatures:</b> that any entry is true or well \
         founded: witnesses check only that the log grows consistently, never its contents. \
         A witness's time is its own statement; and a witness that lost its records could be \
         led to cosign a fork, which is why a policy asks for several.</li>"
            .to_owned()
    }
}

/// A `--document` that matched live sources of the bundle.
pub struct Matched {
    /// The file's name as given (its last component).
    pub file: String,
    /// Its SHA-256.
    pub sha256: Digest,
    /// The live source entries that record that hash.
    pub sources: Vec<u64>,
    /// (source, redaction) for each of those sources whose stored copy was redacted.
    pub redacted: Vec<(u64, u64)>,
}

/// What the page states beyond the verified bundle: how it was checked, by what, when.
pub struct PageInputs<'a> {
    /// The bundle file's name.
    pub file_name: &'a str,
    /// Checked against the log key inside the bundle (no `--trust` or `--policy`).
    pub self_keyed: bool,
    /// The quorum of cosignatures a policy found on the checkpoint.
    pub witnesses: Option<&'a Witnesses>,
    /// One per time-stamp token of the bundle: verified against `--tsa-cert` roots, or `None`
    /// (present, not checked).
    pub stamps: &'a [Option<VerifiedTimestamp>],
    /// The `--document`s, each matched to live sources.
    pub documents: &'a [Matched],
    /// "custody X.Y.Z".
    pub tool: &'a str,
    /// When the page was produced (RFC 3339), by the clock of the computer that produced it;
    /// passed in, so rendering stays a pure function of its inputs.
    pub produced: String,
    /// `--exhibit-id`.
    pub exhibit_id: Option<&'a str>,
    /// `--case`.
    pub case: Option<&'a str>,
}

/// "a", "a and b", "a, b and c".
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Entry numbers as "entry 7" or "entries 7, 9 and 12".
fn entries_text(items: &[u64]) -> String {
    crate::print::numbered(items, "entry", "entries")
}

/// What each amendment did, in words: "claim 10 was corrected at entry 29" (from the bundle's
/// own entries; an amendment it does not hold is named by its index alone).
fn amendments_text(v: &VerifiedBundle, items: &[u64]) -> String {
    let s: Vec<String> = items
        .iter()
        .map(|&i| {
            let body = v.entries.get(&i).map(|e| &e.entry.content.body);
            let (what, target) = match body {
                Some(Body::Correction { target, .. }) => ("corrected", *target),
                Some(Body::Retraction { target, .. }) => ("retracted", *target),
                Some(Body::Redaction { target, .. }) => ("redacted", *target),
                _ => return format!("entry {i}"),
            };
            let kind = v
                .entries
                .get(&target)
                .map_or("entry", |e| e.entry.content.body.kind());
            format!("{kind} {target} was {what} at entry {i}")
        })
        .collect();
    and_list(&s)
}

/// A number as the page's prose writes it, in groups of three: "1,076", as the report does.
/// Tables and hashes keep the plain digits the ledger holds.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A qualifier as words: "at least", "exactly", "about".
fn qualifier_words(name: &str) -> String {
    name.replace('-', " ")
}

/// The page's first sentence, in plain text (the page escapes it; `exhibit` prints it). Its
/// first words are [`Status::headline`], the same words `check` prints first, and the rest
/// follows from the same status and standing: this renders the rule, it does not restate it.
/// A bundle that fails its check never reaches here: it gets no page at all.
#[must_use]
pub fn verdict(v: &VerifiedBundle, inp: &PageInputs<'_>) -> String {
    let s = v.subject.index;
    let body = &v.entries[&s].entry.content.body;
    let cpt = crate::print::checkpoint_at(v.checkpoint.size());
    let unsupported = v.standing.as_ref().map(|st| st.unsupported.as_slice());
    let headline = v.status.headline();
    // Checked only against the bundle's own key, nothing is verified yet: the page says so in
    // its first word, keeping the standing that follows it.
    let headline = if inp.self_keyed {
        format!(
            "UNCONFIRMED (checked only against the log key inside the bundle){}",
            headline.strip_prefix("VERIFIED").unwrap_or("")
        )
    } else {
        headline
    };
    let what = match (body.as_figure(), body.as_claim()) {
        (Some(f), _) => format!(
            "this figure, \u{201c}{}\u{201d}, {} {} {},",
            f.label,
            qualifier_words(f.qualifier.name()),
            grouped(f.value),
            f.unit
        ),
        (None, Some(c)) => match c.count {
            Some(n) => format!(
                "this claim, {}, \u{201c}{}\u{201d},",
                crate::print::quantity(n, c.unit),
                c.statement
            ),
            None => format!("this claim, \u{201c}{}\u{201d},", c.statement),
        },
        (None, None) => format!("this {} entry ({s}),", body.kind()),
    };
    let log = format!("the log of {}", v.origin);
    let complete = complete(v);
    let standing = match v.status {
        Status::Current if complete => {
            format!("is recorded unchanged in {log} as of {cpt}")
        }
        Status::Current => format!(
            "is recorded in {log} as of {cpt}, with no change to it in the bundle \
             (which does not prove that none was left out)"
        ),
        Status::Changed => match v.standing.as_ref() {
            Some(st) if st.current.is_some() && st.current != st.published => format!(
                "is recorded in {log}, but CHANGED after it was signed: as of {cpt} \
                 it stands at {} after {}",
                st.current.unwrap_or(0),
                entries_text(&st.changed_by)
            ),
            Some(st) if !st.is_figure && st.retracted_at.is_none() => format!(
                "is recorded in {log}, but it CHANGED after it was signed: {}, before {cpt}, \
                 so it no longer reads as it was signed",
                amendments_text(v, &st.changed_by)
            ),
            Some(st) => format!(
                "is recorded in {log}, but what it rests on CHANGED after it was signed \
                 ({} before {cpt})",
                entries_text(&st.changed_by)
            ),
            None => format!("is recorded in {log}, but CHANGED before {cpt}"),
        },
        Status::Amended => format!(
            "is recorded in {log} as of {cpt} with its value unchanged, although \
             what it rests on was AMENDED after it was signed ({})",
            v.standing.as_ref().map_or_else(
                || "an amendment".into(),
                |st| amendments_text(v, &st.changed_by)
            )
        ),
        Status::Retracted { at } => format!(
            "is recorded in {log}, but was RETRACTED at entry {at}, before {cpt}: it \
             must not be relied on as it stands"
        ),
        Status::Superseded { by } => {
            let successor = v
                .entries
                .get(&by)
                .and_then(|e| e.entry.content.body.as_figure())
                .map(|f| {
                    format!(
                        " ({} {} {})",
                        qualifier_words(f.qualifier.name()),
                        grouped(f.value),
                        f.unit
                    )
                })
                .unwrap_or_default();
            format!(
                "is recorded in {log}, but was SUPERSEDED by figure {by}{successor} before \
                 {cpt}"
            )
        }
        Status::Revoked { at } => format!(
            "is recorded in {log}, but the key it granted was REVOKED at entry {at}, before \
             {cpt}"
        ),
        Status::Unsupported => format!(
            "is recorded in {log} as of {cpt}, but it is UNSUPPORTED: {} beneath it \
             {} on no live source (every source {} cites was retracted)",
            unsupported.map_or_else(
                || "claims".into(),
                |u| crate::print::numbered(u, "claim", "claims")
            ),
            unsupported.map_or("rest", crate::print::rest),
            if unsupported.is_some_and(|u| u.len() == 1) {
                "it"
            } else {
                "they"
            }
        ),
    };
    // Whatever the standing, a bundle that cannot show nothing was left out says so here too.
    let standing = if complete || v.status == Status::Current {
        standing
    } else {
        format!(
            "{standing} (the bundle does not prove that no other correction or retraction was \
             left out of it)"
        )
    };
    let mut independent = Vec::new();
    if let Some(w) = inp.witnesses {
        let by: Vec<String> = w
            .cosigned
            .iter()
            .map(|(n, t)| format!("{n} at {t}"))
            .collect();
        independent.push(format!("witnessed by {}", and_list(&by)));
    }
    let stamped: Vec<String> = inp
        .stamps
        .iter()
        .flatten()
        .map(|t| format!("{} at {}", t.tsa_subject, t.gen_time_rfc3339))
        .collect();
    if !stamped.is_empty() {
        independent.push(format!("timestamped by {}", and_list(&stamped)));
    }
    let unchecked = inp.stamps.iter().filter(|t| t.is_none()).count();
    let mut when = if independent.is_empty() {
        "; no independent witness or time-stamp was checked for this page".to_string()
    } else {
        format!(", {}", independent.join(", and "))
    };
    if unchecked > 0 {
        let _ = write!(
            when,
            " ({} present but not checked)",
            crate::print::count(unchecked as u64, "time-stamp token", "time-stamp tokens")
        );
    }
    format!("{headline}: {what} {standing}{when}.")
}

/// A CSS string literal holding `s`: everything but letters, digits and spaces written as a
/// CSS hex escape, so no quote, backslash or `</style>` in `--case` can leave the string.
fn css_string(s: &str) -> String {
    let mut o = String::from("\"");
    for c in clean(s).chars() {
        if c.is_ascii_alphanumeric() || c == ' ' {
            o.push(c);
        } else {
            let _ = write!(o, "\\{:x} ", u32::from(c));
        }
    }
    o.push('"');
    o
}

/// The exhibit page for a verified bundle, with what [`PageInputs`] says about its check.
///
/// # Errors
/// If the bundle's figures cannot be walked (they nest too deeply).
pub fn render(v: &VerifiedBundle, inp: &PageInputs<'_>) -> Result<String> {
    let (file_name, self_keyed, witnesses) = (inp.file_name, inp.self_keyed, inp.witnesses);
    let s = v.subject.index;
    let subj = &v.entries[&s].entry;
    let title = match subj.content.body.as_figure() {
        Some(f) => format!(
            "Figure &ldquo;{}&rdquo;: {} {} {}",
            esc(f.label),
            esc(&qualifier_words(f.qualifier.name())),
            grouped(f.value),
            esc(f.unit)
        ),
        None => format!("Entry {s} ({})", esc(subj.content.body.kind())),
    };
    // The standing belongs in the title: a page about a withdrawn or replaced figure must say
    // so before anything else about it.
    let standing = status_text(v);
    let title = match &standing {
        Some(st) => format!("{title} &mdash; {st}"),
        None => title,
    };
    let standing_box = standing_paragraphs(v)?;
    let mut p = Page {
        v,
        h: String::new(),
    };
    let cp = &v.checkpoint;
    // What the page was checked against follows the verdict at once: a reader who stops at
    // the first lines must not take a page checked only against itself for a proof.
    let (unchecked, anchor) = if self_keyed {
        (
            " (log key not checked)",
            format!(
                "<div class=\"box warn\"><p><b>Warning: this page was checked only against the log \
                 key written inside the bundle itself</b> (<span class=\"hash\">{}</span>), which \
                 whoever made the bundle chose. It proves nothing until that key is compared with \
                 the key the ledger's operator published (for example on its website or in a court \
                 filing), or the page is produced again against the published key. If the two keys differ, disregard this page.</p></div>\n",
                esc(&v.vkey)
            ),
        )
    } else {
        (
            "",
            format!(
                "<div class=\"box note\"><p><b>Checked against the log key \
                 <span class=\"hash\">{}</span></b>, which the person who produced this page \
                 supplied independently of the bundle.</p></div>\n",
                esc(&v.vkey)
            ),
        )
    };
    // The running header and footer of every printed page (CSS paged media margin boxes,
    // which Chromium's print engine renders): exhibit and case numbers, subject, page n of m.
    let mut running = Vec::new();
    if let Some(id) = inp.exhibit_id {
        running.push(format!("Exhibit {id}"));
    }
    if let Some(c) = inp.case {
        running.push(format!("Case {c}"));
    }
    running.push(format!(
        "custody proof of {} {s}, {}",
        v.subject.kind.name(),
        v.origin
    ));
    let page_css = format!(
        "@page {{ @top-left {{ content: {}; font-family: Georgia, serif; font-size: 8pt; }} \
         @top-right {{ content: {}; font-family: Georgia, serif; font-size: 8pt; }} \
         @bottom-center {{ content: \"Page \" counter(page) \" of \" counter(pages); \
         font-family: Georgia, serif; font-size: 8pt; }} }}",
        css_string(&running.join(" \u{b7} ")),
        css_string(&format!(
            "bundle SHA-256 {}",
            &v.bundle_sha256.to_hex()[..16]
        )),
    );
    let verdict = verdict(v, inp);
    let fields = format!(
        "<table class=\"fields\"><tr><th>Exhibit</th><td>{}</td><th>Case</th><td>{}</td>\
         <th>Produced</th><td class=\"produced\">{} with {}</td></tr></table>\n",
        inp.exhibit_id.map_or_else(|| BLANK.into(), esc),
        inp.case.map_or_else(|| BLANK.into(), esc),
        esc(&inp.produced),
        esc(inp.tool),
    );
    let _ = write!(
        p.h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Exhibit{unchecked}: {title_text}</title><style>{CSS}{page_css}</style></head><body>\n\
         {fields}\
         <div class=\"box verdict{warn}\"><p>{verdict}</p></div>\n\
         {incomplete}\
         {anchor}\
         <h1>Exhibit{number}: {title}</h1>\n",
        title_text = esc(&html_text(&title)),
        number = inp.exhibit_id.map(|id| format!(" {}", esc(id))).unwrap_or_default(),
        verdict = esc(&verdict),
        warn = if self_keyed { " warn" } else { "" },
        incomplete = incomplete_box(v),
    );
    p.summary(inp);
    let _ = write!(
        p.h,
        "<h2>Details of the check</h2>\n\
         <p>Proof bundle <code>{file}</code> from the custody ledger <code>{origin}</code>, \
         {kind} entry {s}.</p>\n\
         <div class=\"box\">{standing_box}<p><b>Result of the check.</b> Every entry below is included, as \
         recorded, in the log whose signed checkpoint is reproduced in section 4 (tree size {size}, \
         root <span class=\"hash\">{root}</span>); the checkpoint signature verifies under the log \
         key <span class=\"hash\">{vkey}</span>; every entry's Ed25519 signature verifies under the \
         key granted to its signer before it was made and not revoked; and every figure equals the \
         sum of its terms as they stood when it was signed.</p>{keynote}{witnessed}\
         <p>SHA-256 of the bundle file: <span class=\"hash\">{bsha}</span> ({blen} bytes).</p></div>\n",
        file = esc(file_name),
        origin = esc(&v.origin),
        kind = v.subject.kind.name(),
        size = cp.size(),
        root = cp.root(),
        vkey = esc(&v.vkey),
        bsha = v.bundle_sha256,
        blen = v.bundle_len,
        witnessed = witnesses.map(Witnesses::result).unwrap_or_default(),
        standing_box = standing_box,
        keynote = if self_keyed {
            "<p><b>Note:</b> this page was produced against the log key written in the bundle itself. \
             It proves nothing until that key is compared with the key the ledger's operator \
             published (for example on its website or in a court filing).</p>"
        } else {
            "<p>The log key was supplied independently of the bundle by the person who produced this page.</p>"
        },
    );

    p.subject()?;
    p.entries()?;
    p.sources()?;
    p.checkpoint()?;
    p.limits(witnesses, inp.stamps)?;
    p.manual(file_name)?;
    p.declaration(file_name)?;
    Ok(p.h)
}

impl Page<'_> {
    /// Section 1: the subject and the tree beneath it, with its value when signed and now.
    fn subject(&mut self) -> Result<()> {
        let v = self.v;
        let s = v.subject.index;
        self.h
            .push_str("<h2>1. The subject and everything beneath it</h2>\n");
        self.h.push_str(
            "<p class=\"note\">Values are as they stood when each figure was signed. Later corrections \
             and retractions recorded before the checkpoint are shown in bold.</p>\n<ul class=\"tree\">",
        );
        let root = v.tree(s, s + 1)?;
        self.tree(&root)?;
        self.h.push_str("</ul>\n");
        if let Some(st) = &v.standing {
            if let (Some(pub_), Some(cur)) = (st.published, st.current) {
                let _ = writeln!(
                    self.h,
                    "<p>Value when signed: <b>{pub_}</b>. Value as of the checkpoint: <b>{cur}</b>{}.</p>",
                    if st.changed_by.is_empty() {
                        if complete(v) {
                            " (no correction or retraction beneath it after it was signed, and \
                             the bundle proves that none recorded before the checkpoint was left \
                             out)"
                                .to_string()
                        } else {
                            " (no correction or retraction beneath it after it was signed is in \
                             the bundle; the bundle does not prove that none was left out)"
                                .to_string()
                        }
                    } else if st.is_amended() {
                        format!(
                            " (unchanged in value; amended beneath it by {} after it was signed)",
                            entries_text(&st.changed_by)
                        )
                    } else {
                        format!(
                            ", changed by {}",
                            entries_text(&st.changed_by)
                        )
                    }
                );
            }
        }
        Ok(())
    }

    /// Section 2: every entry, its signer, claimed time and leaf hash.
    fn entries(&mut self) -> Result<()> {
        let v = self.v;
        self.h.push_str("<h2>2. Entries, signers and hashes</h2>\n<table><tr><th>entry</th><th>kind</th><th>signed by (role), key id</th><th>claimed time</th><th>entry hash (RFC 6962 leaf hash)</th></tr>\n");
        for (&i, ve) in &v.entries {
            let _ = writeln!(
                self.h,
                "<tr><td>{i}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"hash\">{}</td></tr>",
                esc(ve.entry.content.body.kind()),
                self.signer_cell(i),
                esc(&time(ve.entry.content.claimed_time)),
                ve.leaf
            );
        }
        self.h.push_str("</table>\n<p class=\"note\">Claimed times are what each signer's clock said; they are signed but not independently verified.</p>\n");
        Ok(())
    }

    /// Section 3: the source documents and their hashes.
    fn sources(&mut self) -> Result<()> {
        let v = self.v;
        self.h.push_str("<h2>3. Source documents</h2>\n<table><tr><th>entry</th><th>document</th><th>SHA-256 of the document</th><th>size (bytes)</th></tr>\n");
        for (&i, ve) in &v.entries {
            if let Body::Source {
                sha256,
                size,
                title,
                publisher,
                date,
                kind,
                locator,
            } = &ve.entry.content.body
            {
                let _ = writeln!(
                    self.h,
                    "<tr><td>{i}</td><td>&ldquo;{}&rdquo;, {}, {} ({}){}{}</td><td class=\"hash\">{sha256}</td><td>{size}</td></tr>",
                    esc(title),
                    esc(publisher),
                    esc(date),
                    esc(kind.name()),
                    locator
                        .as_ref()
                        .map(|l| format!("<br>locator: {}", esc(l)))
                        .unwrap_or_default(),
                    self.amend_note(i)
                );
            }
        }
        self.h.push_str("</table>\n");
        Ok(())
    }

    /// Section 4: the signed checkpoint, verbatim.
    fn checkpoint(&mut self) -> Result<()> {
        let v = self.v;
        let cp = &v.checkpoint;
        // Line by line: the note's own newlines stay; any other control character is escaped.
        let note: Vec<String> = cp.note().split('\n').map(esc).collect();
        let _ = write!(
            self.h,
            "<h2>4. The signed checkpoint</h2>\n<p>The log operator's signed statement of the log's \
             size and Merkle root (C2SP signed note), verbatim:</p>\n<pre>{}</pre>\n",
            note.join("\n")
        );
        Ok(())
    }

    /// The plain summary under the verdict: who signed, when (independent times apart from
    /// the signers' own), which documents were matched (before the checklist: a court asks
    /// first whether the report in its hands is the one recorded), what was checked with what
    /// tool and when.
    fn summary(&mut self, inp: &PageInputs<'_>) {
        let v = self.v;
        let s = v.subject.index;
        let size = v.checkpoint.size();
        let subject_signer = v.entries[&s].entry.content.signer;
        // Who: the operator as genesis declares it, then every signer of the bundle's entries.
        let operator = v.keys().iter().find(|k| k.role.is_none());
        let _ = write!(
            self.h,
            "<h2>Who signed</h2>\n<p>The log <code>{}</code> is kept by its operator, whose key \
             the log's first entry (genesis) names <b>&ldquo;{}&rdquo;</b> (key {}): the \
             operator's own declaration (the log holds no other statement of who keeps it).\
             </p>\n<table><tr><th>key name</th><th>role</th><th>key id</th>\
             <th>entries it signed in this bundle</th></tr>",
            esc(&v.origin),
            esc(operator.map_or("?", |k| k.name.as_str())),
            operator.map_or_else(|| "?".into(), |k| k.id().short()),
        );
        let mut signers: Vec<(custody_core::entry::KeyId, Vec<u64>)> = Vec::new();
        for (&i, ve) in &v.entries {
            let id = ve.entry.content.signer;
            match signers.iter_mut().find(|(k, _)| *k == id) {
                Some((_, list)) => list.push(i),
                None => signers.push((id, vec![i])),
            }
        }
        // The subject's signer first.
        signers.sort_by_key(|(k, _)| *k != subject_signer);
        for (id, list) in &signers {
            let sj = SignerJson::of(id, v.keys());
            let _ = write!(
                self.h,
                "<tr><td>{}{}</td><td>{}</td><td class=\"hash keyid\">{}</td><td>{}</td></tr>",
                esc(sj.name.as_deref().unwrap_or("?")),
                if *id == subject_signer {
                    " <b>(signed the subject)</b>"
                } else {
                    ""
                },
                esc(sj.role.as_deref().unwrap_or("?")),
                id.short(),
                entries_text(list)
            );
        }
        self.h.push_str("</table>\n");
        // Reviews of the subject figure (docs/FORMAT.md "Roles"): who besides its author
        // endorsed it, each a signed entry of the bundle.
        if let Some(st) = &v.standing {
            let reviews = crate::print::reviews(&st.reviewed_by, v.keys(), |r| {
                Ok::<_, std::convert::Infallible>(
                    v.entries.get(&r).map(|ve| ve.entry.content.signer),
                )
            })
            .unwrap_or_else(|never| match never {});
            if let Some(line) = crate::print::reviewed(&reviews, |n| format!("<b>{}</b>", esc(n))) {
                let _ = writeln!(
                    self.h,
                    "<p>This figure was {line}: a reviewer's signed endorsement of it, by a key \
                     other than its author's.</p>"
                );
            }
        }

        // When: what others attest, apart from what the signers' clocks said.
        self.h.push_str(
            "<h2>When</h2>\n<p><b>Independent times</b>, stated by parties other than the \
             signers:</p>\n<ul>",
        );
        let mut any = false;
        if let Some(w) = inp.witnesses {
            for (n, t) in &w.cosigned {
                any = true;
                let _ = write!(
                    self.h,
                    "<li>Witness <b>{}</b> cosigned {} at <b>{}</b> (its own signed \
                     time).</li>",
                    esc(n),
                    crate::print::checkpoint_at(size),
                    esc(t)
                );
            }
        }
        for t in inp.stamps.iter().flatten() {
            any = true;
            let _ = write!(
                self.h,
                "<li>Time-stamping authority <b>{}</b>: {} existed no later than <b>{}</b> \
                 (RFC 3161 time-stamp token, serial {}, verified against a TSA root \
                 certificate supplied independently).</li>",
                esc(&t.tsa_subject),
                crate::print::checkpoint_at(size),
                esc(&t.gen_time_rfc3339),
                esc(&t.serial)
            );
        }
        let unchecked = inp.stamps.iter().filter(|t| t.is_none()).count();
        if unchecked > 0 {
            let _ =
                write!(
                self.h,
                "<li>{} over the checkpoint {} in the bundle but <b>not checked</b>: no TSA root \
                 certificate of the time-stamping authority was supplied, so {} not stated here.</li>",
                crate::print::count(unchecked as u64, "time-stamp token", "time-stamp tokens"),
                if unchecked == 1 { "is" } else { "are" },
                if unchecked == 1 { "its time is" } else { "their times are" }
            );
        }
        if inp.witnesses.is_none() && v.checkpoint.note().contains("\n\u{2014} ") {
            // Cosignature lines beyond the log's own signature, without a policy to judge them.
            let lines = v
                .checkpoint
                .note()
                .lines()
                .filter(|l| l.starts_with("\u{2014} "))
                .count();
            if lines > 1 {
                any = true;
                self.h.push_str(
                    "<li>The checkpoint carries further signature lines (witness cosignatures), \
                     <b>not checked</b>: no witness policy was supplied.</li>",
                );
            }
        }
        if !any && unchecked == 0 {
            self.h.push_str(
                "<li><b>None.</b> No witness cosignature or time-stamp was checked for this page: \
                 the bundle shows the state of the log as of its checkpoint, but not when that \
                 checkpoint was made.</li>",
            );
        }
        let se = &v.entries[&s].entry;
        let claimed: Vec<i64> = v
            .entries
            .values()
            .map(|e| e.entry.content.claimed_time)
            .collect();
        let (lo, hi) = (
            claimed.iter().min().copied().unwrap_or(0),
            claimed.iter().max().copied().unwrap_or(0),
        );
        let _ =
            write!(
            self.h,
            "</ul>\n<p><b>Times the signers claimed</b> (each signer's own clock; signed, but not \
             independently verified): the subject was signed by {} at {}; the bundle's entries \
             {}.</p>\n",
            esc(SignerJson::of(&se.content.signer, v.keys()).name.as_deref().unwrap_or("?")),
            esc(&time(se.content.claimed_time)),
            if lo == hi {
                format!("all claim {}", esc(&time(lo)))
            } else {
                format!("claim times from {} to {}", esc(&time(lo)), esc(&time(hi)))
            },
        );
        // An entry cannot be signed after the checkpoint that covers it was time-stamped: a
        // claimed time later than a verified genTime means two clocks disagree; say so.
        if let Some(t) = inp.stamps.iter().flatten().map(|t| t.gen_time).min() {
            let late = v
                .entries
                .values()
                .filter(|e| e.entry.content.claimed_time > t)
                .count();
            if late > 0 {
                let _ = writeln!(
                    self.h,
                    "<p class=\"changed\">{} claim a time later than {}, when the \
                     time-stamping authority says the checkpoint covering them already existed: \
                     the signers' clocks and the authority's disagree, and only the authority's \
                     time is independent of the signers and the operator.</p>",
                    crate::print::count(late as u64, "entry", "entries"),
                    esc(&time(t))
                );
            }
        }

        // Which documents.
        self.h.push_str("<h2>Documents matched</h2>\n");
        if inp.documents.is_empty() {
            self.h.push_str(
                "<p>No document was compared with the bundle's sources when this page was \
                 produced. Section 3 lists each \
                 source's SHA-256, so any copy can be compared.</p>\n",
            );
        } else {
            self.h.push_str("<ul>");
            for d in inp.documents {
                let _ = write!(
                    self.h,
                    "<li>The file <code>{}</code> (SHA-256 <span class=\"hash\">{}</span>) is \
                     the document of source {}, which is not retracted.",
                    esc(&d.file),
                    d.sha256,
                    entries_text(&d.sources)
                );
                for (src, r) in &d.redacted {
                    let _ = write!(
                        self.h,
                        " Source {src}'s stored copy was redacted at entry {r}: the document may \
                         hold what the redaction protects."
                    );
                }
                self.h.push_str("</li>");
            }
            self.h.push_str("</ul>\n");
        }

        // What was checked, by what, when.
        let trust = if inp.self_keyed {
            "the log key written inside the bundle itself (<b>not</b> a key supplied \
             independently: see the warning above)"
        } else if inp.witnesses.is_some() {
            "the log key of the witness policy supplied by the person who produced this page"
        } else {
            "the log key supplied by the person who produced this page"
        };
        let mut checks = vec![
            format!(
                "the signature of {} under {trust}",
                crate::print::checkpoint_at(size)
            ),
            format!(
                "that each of the bundle's {} is included in that checkpoint (RFC 9162 inclusion \
                 proofs), is signed (strict Ed25519) by a key the operator had granted and not \
                 revoked, and follows the ledger's rules",
                crate::print::count(v.entries.len() as u64, "entry", "entries")
            ),
            "that each figure equalled the sum of its terms when it was signed, and how each \
             stands as of the checkpoint"
                .into(),
            if complete(v) {
                "that the bundle holds every correction, retraction and other amendment of its \
                 entries recorded before the checkpoint (the operator's signed state commitment)"
                    .into()
            } else {
                "<b>not</b> that the bundle holds every amendment of its entries: it carries no \
                 proof of that"
                    .into()
            },
        ];
        if inp.witnesses.is_some() {
            checks.push("that the witnesses' cosignatures meet the witness policy's quorum".into());
        }
        if inp.stamps.iter().any(Option::is_some) {
            checks.push("each time-stamp token against the TSA root certificates supplied".into());
        }
        let _ = write!(
            self.h,
            "<h2>What was checked</h2>\n<p>Checked with <b>{}</b> at <b>{}</b> (the clock of \
             the computer that produced this page): {}.</p>\n",
            esc(inp.tool),
            esc(&inp.produced),
            checks.join("; ")
        );
    }

    /// Section 5: what the proof establishes and what it does not.
    fn limits(
        &mut self,
        witnesses: Option<&Witnesses>,
        stamps: &[Option<VerifiedTimestamp>],
    ) -> Result<()> {
        let cosigned = witnesses.map(Witnesses::limits).unwrap_or_default();
        let completeness = if complete(self.v) {
            "the bundle holds every correction, retraction, redaction, re-sourcing, supersession \
             and revocation of its entries recorded before the checkpoint, as the operator's \
             signed state commitment in the log records them; a false commitment would fail \
             every full replay of the ledger (<code>custody verify</code>), so leaving one out \
             would take a signed, detectable falsehood by the operator."
        } else {
            "<b>not established</b>: the bundle does not prove that no correction, retraction, \
             redaction, re-sourcing, supersession, review or revocation of its entries was left out of \
             it; only a full replay of the ledger (<code>custody verify</code>) shows that"
        };
        let stamp_note = match stamps.iter().flatten().map(|t| t.gen_time).min() {
            Some(t) => format!(
                "a verified time-stamp shows only that the checkpoint, and so every entry it \
                 covers, existed no later than {}.",
                esc(&time(t))
            ),
            None => "no time-stamp of the checkpoint was verified for this page.".into(),
        };
        let _ = write!(
            self.h,
            "<h2>5. What this proof establishes, and what it does not</h2>\n<ul>\
             <li><b>Established:</b> integrity and attribution. Each entry shown is byte for byte the \
             entry committed to by the checkpoint; each was signed by the key shown, which the ledger \
             operator had granted before and had not revoked; each figure equalled the sum of its \
             terms when it was signed; each source entry records the SHA-256 of a document, so any copy \
             of that document can be matched to it.</li>\
             <li><b>Not established:</b> that any claim is true, or that a source document says what a \
             claim says it does. A signature shows that a key holder asserted something, not that it \
             is correct.</li>\
             <li><b>Not established:</b> the time of any entry. Claimed times are the signers' own; \
             {stamp_note} The proof shows the state of the log as of the \
             checkpoint, whenever that checkpoint first became known to others.</li>\
             <li><b>Completeness:</b> {completeness}</li>\
             <li><b>Not established:</b> anything recorded after the checkpoint.</li>\
             <li><b>Not established:</b> that the operator showed everyone the same log. Only \
             checkpoints published or witnessed independently guard against that.</li>",
        );
        self.h.push_str(&cosigned);
        self.h.push_str(
            "<li>The identity of an informant is not in the ledger; only a salted commitment to it.</li>\
             </ul>\n",
        );
        Ok(())
    }

    /// Section 6: how to check the bundle without custody.
    fn manual(&mut self, file_name: &str) -> Result<()> {
        let v = self.v;
        let _ = write!(
            self.h,
            "<h2>6. How to verify this without custody</h2>\n<ol>\
             <li>Compute the SHA-256 of the bundle file (<code>sha256sum {file}</code>) and compare it \
             with <span class=\"hash\">{bsha}</span>.</li>\
             <li>Compute the SHA-256 of each source document (<code>sha256sum report.pdf</code>) and \
             compare it with the hashes in section 3.</li>\
             <li>Obtain the log key (vkey) from the operator independently of this bundle and compare \
             it with <span class=\"hash\">{vkey}</span>. Check the checkpoint's signature with it using \
             any C2SP signed-note implementation (for example Go's \
             <code>golang.org/x/mod/sumdb/note</code>).</li>\
             <li>For each entry in the bundle's <code>entries</code> list: decode <code>bytes_b64</code> \
             (<code>base64 -d</code>); its entry hash is SHA-256 of one zero byte followed by those bytes \
             (<code>( printf '\\000'; cat entry.bin ) | sha256sum</code>), which must equal the value in \
             section 2.</li>\
             <li>Check each entry's <code>tlog_proof</code> (format c2sp.org/tlog-proof@v1): the \
             RFC 9162 &sect;2.1.3.2 inclusion proof of the entry hash at its index must reproduce the \
             checkpoint's root (for example with Go's <code>golang.org/x/mod/sumdb/tlog</code> \
             <code>CheckRecord</code>).</li>\
             <li>Check each entry's Ed25519 signature (the last 64 bytes of the entry) over the 21 bytes \
             <code>custody/v1/submission</code> followed by a zero byte (22 bytes in all), then the entry bytes from offset \
             40 up to the signature, with the signer's public key from the genesis or key-grant entry \
             (for example <code>openssl pkeyutl -verify -rawin</code>).</li>\
             <li>Decode each entry's fields (docs/FORMAT.md) and add up each figure's terms.</li>\
             </ol>\n<p class=\"note\">Every step, byte layout and check is specified in \
             <code>docs/PROOFS.md</code> (the bundle format), <code>docs/FORMAT.md</code> (entries) and \
             <code>docs/CHECKPOINTS.md</code> (checkpoints and proofs) of the custody source, and in \
             RFC 9162, RFC 8032 and the C2SP specifications signed-note, tlog-checkpoint and \
             tlog-proof (c2sp.org).</p>\n",
            file = esc(file_name),
            bsha = v.bundle_sha256,
            vkey = esc(&v.vkey),
        );
        Ok(())
    }

    /// Section 7: a declaration template.
    fn declaration(&mut self, file_name: &str) -> Result<()> {
        let v = self.v;
        let cp = &v.checkpoint;
        let _ = write!(
            self.h,
            "<h2>7. Declaration</h2>\n<div class=\"decl\">\
             <p class=\"note\">A template in the spirit of US Federal Rule of Evidence 902(14) \
             (records authenticated by a process of digital identification) and similar rules \
             elsewhere; adapt it to the court's requirements.</p>\
             <p>I, {blank} (name), {blank} (position and organisation), declare:</p>\
             <p>1. I produced the file <code>{file}</code> (SHA-256 <span class=\"hash\">{bsha}</span>, \
             {blen} bytes) from the custody ledger with origin <code>{origin}</code>, kept by \
             {blank} (who keeps the ledger), on {blank} (date), using the \
             <code>custody export</code> command, which copies the entries and computes their proofs \
             without altering the ledger.</p>\
             <p>2. The ledger's signed checkpoint covers {size} with Merkle root \
             <span class=\"hash\">{root}</span>. I checked the file with <code>custody check</code> \
             against the log key <span class=\"hash\">{vkey}</span>, which I obtained from \
             {blank} (where the key was obtained), and the check succeeded.</p>\
             <p>3. The source documents I produced with this file have the SHA-256 hashes listed in \
             section 3 of this exhibit: {blank} (the documents and their hashes).</p>\
             <p>4. I am familiar with how the ledger is kept, and this record was made and kept in the \
             course of that regularly conducted activity: {blank} (how it is kept).</p>\
             <p>I declare under penalty of perjury under the laws of {blank} (jurisdiction) that \
             the foregoing is true and correct.</p>\
             <p>Signed: {blank} &nbsp; Date: {blank} &nbsp; Place: {blank}</p></div>\n\
             </body></html>\n",
            blank = BLANK,
            file = esc(file_name),
            bsha = v.bundle_sha256,
            blen = v.bundle_len,
            origin = esc(&v.origin),
            size = crate::print::count(cp.size(), "entry", "entries"),
            root = cp.root(),
            vkey = esc(&v.vkey),
        );
        Ok(())
    }
}

/// The text of a title fragment, for `<title>`: entities in `render`'s own markup decoded.
fn html_text(s: &str) -> String {
    s.replace("&ldquo;", "\u{201c}")
        .replace("&rdquo;", "\u{201d}")
        .replace("&mdash;", "\u{2014}")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
}

/// A space to fill in by hand. Underscores, not an empty underlined box, so that the page's
/// text (`pdftotext`, a screen reader, a copy and paste) still shows that something goes there;
/// each is followed by what goes there, in words.
const BLANK: &str = "<span class=\"blank\">______________</span>";

/// The first-page warning on a bundle that does not prove its amendments complete (rendered
/// only when the producer accepted that explicitly): empty for a complete one.
fn incomplete_box(v: &VerifiedBundle) -> String {
    let why = match v.completeness {
        Some(c) if c.to_checkpoint => return String::new(),
        Some(c) => format!(
            "The bundle proves that it holds every correction, retraction and revocation of its \
             entries only up to entry {}, not up to the checkpoint at tree size {}: one \
             recorded in between could have been left out of it unseen.",
            c.commitment,
            v.checkpoint.size()
        ),
        None => "The bundle carries no proof that it holds every correction, retraction and \
                 revocation of its entries: one could have been left out of it unseen."
            .to_string(),
    };
    format!(
        "<div class=\"box warn incomplete\"><p><b>NOT PROVEN COMPLETE.</b> {why} The person \
         who produced this page accepted that explicitly. A bundle that proves it can be \
         exported again by the ledger's operator.</p></div>\n"
    )
}

/// Whether the bundle proves its amendments complete to its checkpoint.
fn complete(v: &VerifiedBundle) -> bool {
    v.completeness.is_some_and(|c| c.to_checkpoint)
}

/// The subject's status as the title says it, if it is not current.
fn status_text(v: &VerifiedBundle) -> Option<String> {
    Some(match v.status {
        Status::Retracted { at } => format!("RETRACTED at entry {at}"),
        Status::Superseded { by } => format!("SUPERSEDED by figure {by}"),
        Status::Revoked { at } => format!("KEY REVOKED at entry {at}"),
        Status::Unsupported => {
            "UNSUPPORTED: it rests on claims whose sources were all retracted".into()
        }
        Status::Changed => "CHANGED since it was signed".into(),
        Status::Amended => "AMENDED beneath it since it was signed, its value unchanged".into(),
        Status::Current => return None,
    })
}

/// The result box's first paragraphs: the subject's standing as of the checkpoint (with its
/// successor chain) and what the bundle proves about omissions. Never contradicts the body:
/// both come from the same verified bundle and core's standing.
fn standing_paragraphs(v: &VerifiedBundle) -> Result<String> {
    let mut h = String::new();
    let st = status_text(v).unwrap_or_else(|| "it stands as it was signed".into());
    let _ = write!(h, "<p><b>Standing as of the checkpoint: {}.</b>", esc(&st));
    if let Some(line) = crate::print::succession(v.subject.index, &|i| v.standing_of(i))? {
        let _ = write!(h, " {}.", esc(&line));
    }
    if let Some(s) = &v.standing {
        if !s.unsupported.is_empty() {
            let _ = write!(
                h,
                " Claims {} rest on no live source: every source and informant each cites was \
                 retracted.",
                s.unsupported
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    h.push_str("</p>");
    match v.completeness {
        Some(c) if c.to_checkpoint => {
            let _ = write!(
                h,
                "<p>The bundle holds every correction, retraction, redaction, re-sourcing, \
                 supersession, review and revocation of its entries recorded before the checkpoint, as \
                 the operator's state commitment at entry {} records them.</p>",
                c.commitment
            );
        }
        Some(c) => {
            let _ = write!(
                h,
                "<p class=\"changed\">The bundle proves its entries' amendments complete only up \
                 to entry {}, not to the checkpoint: a later correction or retraction could have \
                 been left out.</p>",
                c.commitment
            );
        }
        None => h.push_str(
            "<p class=\"changed\">The bundle does not prove that no correction, retraction or \
             revocation of its entries was left out of it.</p>",
        ),
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::grouped;

    #[test]
    fn numbers_in_prose_are_grouped_in_threes() {
        let cases = [
            (0, "0"),
            (406, "406"),
            (1076, "1,076"),
            (100_000, "100,000"),
            (1_234_567, "1,234,567"),
            (u64::MAX, "18,446,744,073,709,551,615"),
        ];
        for (n, s) in cases {
            assert_eq!(grouped(n), s);
        }
    }
}
