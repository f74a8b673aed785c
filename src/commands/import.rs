//! `custody import`: sign and append many bodies from JSON Lines (see custody-store's import).

use super::{load_key, open_writer, progress_bar};
use anyhow::{Context, Result};
use std::io::BufReader;
use std::path::Path;

pub fn run(ledger: &Path, key: &Path, file: &Path, batch: usize) -> Result<()> {
    let key = load_key(key)?;
    let input =
        std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    // Counted first (a fast read) so the duplicate table grows once, not as the import goes.
    // A file that is not a regular file (a FIFO, /dev/stdin) is read once, uncounted.
    let lines = if input.metadata().is_ok_and(|m| m.is_file()) {
        let n = custody_store::import::count_lines(&input)
            .with_context(|| format!("cannot read {}", file.display()))?;
        std::io::Seek::rewind(&mut &input)
            .with_context(|| format!("cannot read {}", file.display()))?;
        Some(n)
    } else {
        None
    };
    let total = input.metadata().map_or(0, |m| m.len());
    let mut l = open_writer(ledger)?;
    let bar = progress_bar(
        total,
        "importing {bar:40} {bytes}/{total_bytes} {per_sec} {eta}",
        false,
    );
    let result = custody_store::import::import(
        &mut l,
        &key,
        BufReader::with_capacity(1 << 20, input),
        lines,
        batch,
        &|n| bar.set_position(n),
    );
    bar.finish_and_clear();
    super::warn(&mut l);
    let done = result?;
    match done.first {
        Some(f) => out!(
            "imported {} entries ({f}..{}); the ledger holds {} entries",
            done.done,
            f + done.done - 1,
            done.size
        ),
        None => out!("nothing to import"),
    }
    Ok(())
}
