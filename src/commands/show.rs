//! `custody show`: one entry, whole (`--json`: an [`EntryJson`]); or a signed submission file
//! (`.cust`) that no ledger has sequenced yet.

use super::open_reader;
use crate::print::{signer_label, time};
use anyhow::{bail, Context, Result};
use custody_core::json::{BodyJson, EntryJson, SubmissionJson};
use custody_store::files;
use std::io::Write;
use std::path::Path;

pub fn run(target: &Path, index: Option<u64>, json_out: bool) -> Result<()> {
    match index {
        Some(i) if target.is_file() => bail!(
            "{} is a file, not a ledger directory; to show a submission file give no index \
             (custody show {}), or give a ledger and an index (custody show L {i})",
            target.display(),
            target.display()
        ),
        Some(i) => entry(target, i, json_out),
        None if target.is_dir() => bail!(
            "{} is a directory: give the entry index to show (custody show {} N)",
            target.display(),
            target.display()
        ),
        None => submission(target, json_out),
    }
}

/// A `.cust` file as `custody sign` wrote it: what was signed, by which key, for which log.
fn submission(file: &Path, json_out: bool) -> Result<()> {
    let sub = files::read_submission(file)
        .with_context(|| format!("cannot show submission file {}", file.display()))?;
    if json_out {
        out!(
            "{}",
            serde_json::to_string_pretty(&SubmissionJson::new(&sub))?
        );
        return Ok(());
    }
    let c = &sub.content;
    let mut out = std::io::stdout().lock();
    say!(to out, "submission {}: {}", file.display(), c.body.kind());
    say!(
        to out,
        "  signed by:    key {} (its name and role are known only to a ledger that granted it)",
        c.signer.short()
    );
    say!(to out, "  claimed time: {}", time(c.claimed_time));
    say!(to out, "  origin:       {}", c.origin);
    body_fields(&mut out, &BodyJson::from(&c.body))?;
    say!(to out, "  signature:    {}", hex_sig(&sub.signature.0));
    say!(
        to out,
        "  not yet in any ledger: `custody append LEDGER {}` sequences it; the ledger checks \
         the signature, the signer's grant and the origin then",
        file.display()
    );
    Ok(())
}

/// The body's fields, in the JSON model's order and spelling, one line each.
fn body_fields(mut out: impl Write, body: &BodyJson) -> Result<()> {
    if let serde_json::Value::Object(fields) = serde_json::to_value(body)? {
        // An absent optional field (JSON null, e.g. `repeats` of a claim that repeats none)
        // is left out rather than printed as "null".
        for (k, val) in fields
            .iter()
            .filter(|(k, v)| k.as_str() != "kind" && !v.is_null())
        {
            let s = match val {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            say!(to out, "  {:<13} {s}", format!("{k}:"));
        }
    }
    Ok(())
}

fn entry(ledger: &Path, index: u64, json_out: bool) -> Result<()> {
    let l = open_reader(ledger)?;
    let (e, leaf) = l.entry_with_leaf(index)?;
    let v = EntryJson::new(&e, &leaf, l.state());
    let mut out = std::io::stdout().lock();
    if json_out {
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(());
    }
    // Every line goes through `say!`: the origin and the body's values are the ledger's text.
    say!(to out, "entry {index}: {}", e.content.body.kind());
    say!(to out, "  signed by:    {}", signer_label(&l.state().keys, &e));
    say!(to out, "  claimed time: {}", time(e.content.claimed_time));
    say!(to out, "  origin:       {}", e.content.origin);
    body_fields(&mut out, &v.body)?;
    say!(to out, "  prev hash:    {}", e.prev);
    say!(to out, "  leaf hash:    {leaf}");
    say!(to out, "  signature:    {}", hex_sig(&e.signature.0));
    let amended = l.state().amendments_of(index);
    if !amended.is_empty() {
        say!(to out, "  amended by:   {}", crate::print::numbered(amended, "entry", "entries"));
    }
    Ok(())
}

fn hex_sig(sig: &[u8; 64]) -> String {
    use std::fmt::Write as _;
    sig.iter().fold(String::with_capacity(128), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
