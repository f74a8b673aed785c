//! `custody show`: one entry, whole (`--json`: an [`EntryJson`]).

use super::open_reader;
use crate::print::{list, signer_label, time};
use anyhow::Result;
use custody_core::json::EntryJson;
use std::io::Write;
use std::path::Path;

pub fn run(ledger: &Path, index: u64, json_out: bool) -> Result<()> {
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
    // The body's fields, in the JSON model's order and spelling.
    if let serde_json::Value::Object(fields) = serde_json::to_value(&v.body)? {
        for (k, val) in fields.iter().filter(|(k, _)| k.as_str() != "kind") {
            let s = match val {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            say!(to out, "  {:<13} {s}", format!("{k}:"));
        }
    }
    say!(to out, "  prev hash:    {}", e.prev);
    say!(to out, "  leaf hash:    {leaf}");
    say!(to out, "  signature:    {}", hex_sig(&e.signature.0));
    let amended = l.state().amendments_of(index);
    if !amended.is_empty() {
        say!(to out, "  amended by:   entries {}", list(amended));
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
