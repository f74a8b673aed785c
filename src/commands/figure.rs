//! `custody figure`: a figure's arithmetic, how it stands today, and the tree beneath it.

use super::open_reader;
use crate::print::{numbered, quoted, rest, signer_label, succession, time};
use anyhow::{bail, Result};
use custody_core::entry::Body;
use custody_core::explain::{self, TreeNode};
use custody_core::json::{FigureJson, SignerJson};
use custody_core::rules::KeyRecord;
use std::io::Write;
use std::path::Path;

pub fn run(ledger: &Path, index: u64, json_out: bool) -> Result<()> {
    let l = open_reader(ledger)?;
    let (e, leaf) = l.entry_with_leaf(index)?;
    if !e.content.body.is_figure() {
        bail!("entry {index} is a {}, not a figure", e.content.body.kind());
    }
    let st = l.state();
    let Some(fig) = explain::figure_standing(st, &l, index, l.size())? else {
        bail!("entry {index} is not a figure");
    };
    let mut out = std::io::stdout().lock();
    if json_out {
        let v = FigureJson {
            figure: fig,
            leaf_hash: leaf.to_hex(),
            signer: SignerJson::of(&e.content.signer, &st.keys),
        };
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(());
    }
    let s = &fig.standing;
    let published = s.published.unwrap_or(0);
    let sum: Vec<String> = s.terms.iter().map(|t| t.value.to_string()).collect();
    // Every line goes through `say!`: labels, statements, titles and names are the ledger's.
    say!(to out, "figure {index}: {}", fig.label);
    say!(to out, "  published: {} {published} {} = {}  (checked: the terms summed to {published} when it was signed)", fig.qualifier.name(), fig.unit, sum.join(" + "));
    say!(
        to out,
        "  signed by {} at claimed time {}",
        signer_label(&st.keys, &e),
        time(e.content.claimed_time)
    );
    say!(to out, "  leaf hash {leaf}");
    if let Some(old) = s.supersedes {
        say!(to out, "  supersedes figure {old}");
    }
    if let Some(line) = succession(index, &|i| explain::standing(st, &l, i, l.size()))? {
        say!(to out, "  {line}");
    }
    let reviews = crate::print::reviews(&s.reviewed_by, &st.keys, |r| {
        l.entry(r).map(|e| Some(e.content.signer))
    })?;
    if let Some(line) = crate::print::reviewed(&reviews, |n| crate::print::clean(n).into_owned()) {
        say!(to out, "  {line}");
    }
    let now = s.current.unwrap_or(0);
    if s.changed_by.is_empty() {
        say!(to out, "  today: unchanged ({published}); no correction or retraction beneath it since publication");
    } else if s.is_amended() {
        say!(
            to out,
            "  today: {now} — amended beneath, value unchanged: {} corrected what it rests on, and it still equals its published value",
            crate::print::numbered(&s.changed_by, "entry", "entries"),
        );
    } else {
        say!(
            to out,
            "  today: {now} — changed after publication by {} (published {published}, now {now})",
            crate::print::numbered(&s.changed_by, "entry", "entries"),
        );
    }
    if !s.unsupported.is_empty() {
        say!(
            to out,
            "  UNSUPPORTED today: {} {} on no live source (every source and informant each cites was retracted); re-source {} (`custody cite`) or supersede the figure",
            numbered(&s.unsupported, "claim", "claims"),
            rest(&s.unsupported),
            if s.unsupported.len() == 1 { "it" } else { "them" }
        );
    }
    say!(to out, "  how it is built (values as at publication):");
    let tree = explain::tree(st, &l, index, index + 1)?;
    let mut lines = Vec::new();
    for child in &tree.children {
        walk(&l, &st.keys, &s.unsupported, child, 1, &mut lines)?;
    }
    for line in lines {
        say!(to out, "{line}");
    }
    Ok(())
}

/// One line per figure and claim, with the sources each claim cites beneath it. The lines hold
/// the ledger's statements, places, titles and names; `run` prints them through `say!`.
fn walk(
    l: &custody_store::Ledger,
    keys: &[KeyRecord],
    unsupported: &[u64],
    node: &TreeNode,
    depth: usize,
    out: &mut Vec<String>,
) -> Result<()> {
    let pad = "  ".repeat(depth + 1);
    let leaf = l.leaf(node.index)?;
    let who = signer_label(keys, &node.entry);
    let again = if node.repeat { " (shown above)" } else { "" };
    match &node.entry.content.body {
        Body::Figure { label, .. } | Body::SupersedingFigure { label, .. } => {
            out.push(format!(
                "{pad}figure {} {} = {}  [signed by {who}; leaf {}]{again}",
                node.index,
                quoted(label),
                node.value.unwrap_or(0),
                &leaf.to_hex()[..16]
            ));
            for c in &node.children {
                walk(l, keys, unsupported, c, depth + 1, out)?;
            }
        }
        b @ (Body::Claim { .. } | Body::RepeatedClaim { .. }) => {
            let Some(claim) = b.as_claim() else {
                return Ok(());
            };
            let (statement, place, period) = (claim.statement, claim.place, claim.period);
            let again_of = claim
                .repeats
                .map(|r| format!(" (a deliberate repeat of claim {r})"))
                .unwrap_or_default();
            let value = node
                .value
                .map_or_else(|| "no count".into(), |v| v.to_string());
            let flag = if unsupported.contains(&node.index) {
                " UNSUPPORTED today"
            } else {
                ""
            };
            out.push(format!(
                "{pad}claim {}: {value} — {statement} ({}){again_of}  [signed by {who}; leaf {}]{again}{flag}",
                node.index,
                if place.is_empty() {
                    period.to_string()
                } else {
                    format!("{place}, {period}")
                },
                &leaf.to_hex()[..16]
            ));
            for c in &node.children {
                let line = match &c.entry.content.body {
                    Body::Source {
                        title,
                        publisher,
                        date,
                        sha256,
                        ..
                    } => format!(
                        "source {}: {}, {publisher}, {date}; document sha256 {sha256}",
                        c.index,
                        quoted(title)
                    ),
                    Body::Informant { alias, commitment } => format!(
                        "informant {}: {}; identity sealed, commitment {commitment}",
                        c.index,
                        quoted(alias)
                    ),
                    other => format!("{} {}", other.kind(), c.index),
                };
                out.push(format!(
                    "{pad}  cites {line}  [signed by {}; leaf {}]",
                    signer_label(keys, &c.entry),
                    &l.leaf(c.index)?.to_hex()[..16]
                ));
            }
        }
        other => bail!(
            "entry {} is a {}, not a claim or figure",
            node.index,
            other.kind()
        ),
    }
    Ok(())
}
