//! `custody log`: one line per entry (`--json`: one [`LogLineJson`] per line).

use super::open_reader;
use crate::print::{summary, time};
use anyhow::Result;
use custody_core::json::{LogLineJson, SignerJson};
use std::io::Write;
use std::path::Path;

pub fn run(ledger: &Path, json_out: bool) -> Result<()> {
    let l = open_reader(ledger)?;
    let state = l.state().clone();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for i in 0..l.size() {
        let (e, leaf) = l.entry_with_leaf(i)?;
        let t = time(e.content.claimed_time);
        if json_out {
            let v = LogLineJson {
                index: i,
                kind: e.content.body.kind(),
                signer: SignerJson::of(&e.content.signer, &state.keys),
                claimed_time: t,
                leaf_hash: leaf.to_hex(),
                summary: summary(&e.content.body, &e.content.origin),
            };
            writeln!(out, "{}", serde_json::to_string(&v)?)?;
        } else {
            // Through `say!`: the key name is the ledger's.
            say!(
                to out,
                "{i:>6}  {:<10}  {}  {:<20}  {}",
                e.content.body.kind(),
                t.get(..10).unwrap_or(&t),
                state
                    .key(&e.content.signer)
                    .map_or("?", |k| k.name.as_str()),
                summary(&e.content.body, &e.content.origin)
            );
        }
    }
    if let Some((off, bytes)) = l.torn() {
        eprintln!(
            "warning: the entries file ends in a torn write ({} at offset {off}); run `custody repair`",
            crate::print::count(bytes, "byte", "bytes")
        );
    }
    out.flush()?;
    Ok(())
}
