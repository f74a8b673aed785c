//! `custody import`: sign and append many bodies from JSON Lines (see custody-store's import).
//!
//! The progress bar (on a terminal only) counts lines read, that is entries, with a rate in
//! entries per second and an ETA; custody-store's import reports bytes, so the lines are
//! counted here as the store reads them, through [`CountLines`].

use super::{load_key, open_writer, progress_bar};
use crate::print::count;
use anyhow::{Context, Result};
use std::cell::Cell;
use std::io::{BufRead, BufReader, Read};
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
    let mut l = open_writer(ledger)?;
    let bar = match lines {
        Some(n) => progress_bar(
            n,
            "importing {bar:40} {human_pos}/{human_len} entries  {rate}  ETA {eta}",
            false,
        ),
        None => progress_bar(0, "importing {human_pos} entries read  {rate}", false),
    };
    let read = Cell::new(0u64);
    let result = custody_store::import::import(
        &mut l,
        &key,
        CountLines {
            inner: BufReader::with_capacity(1 << 20, input),
            lines: &read,
        },
        lines,
        batch,
        &|_bytes| bar.set_position(read.get()),
    );
    bar.finish_and_clear();
    super::warn(&mut l);
    let done = result?;
    for (line, entry) in &done.skipped {
        out!("line {line}: already in the ledger as entry {entry}; skipped");
    }
    match done.first {
        Some(f) => out!(
            "imported {}; the ledger holds {}",
            if done.done == 1 {
                format!("entry {f}")
            } else {
                format!("{} entries ({f}..{})", done.done, f + done.done - 1)
            },
            count(done.size, "entry", "entries")
        ),
        None if !done.skipped.is_empty() => out!(
            "nothing new to import: {} already in the ledger",
            count(done.skipped.len() as u64, "line was", "lines were")
        ),
        None => out!("nothing to import"),
    }
    Ok(())
}

/// A reader that counts the newlines consumed through it: the lines the import has read.
struct CountLines<'a, R> {
    inner: R,
    lines: &'a Cell<u64>,
}

impl<R: BufRead> Read for CountLines<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.lines.set(self.lines.get() + newlines(&buf[..n]));
        Ok(n)
    }
}

impl<R: BufRead> BufRead for CountLines<'_, R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        // The buffer is still filled (nothing was consumed since `fill_buf`), so this reads
        // nothing new; it only looks at the bytes about to be consumed.
        if let Ok(buf) = self.inner.fill_buf() {
            let k = newlines(&buf[..amt.min(buf.len())]);
            self.lines.set(self.lines.get() + k);
        }
        self.inner.consume(amt);
    }
}

fn newlines(b: &[u8]) -> u64 {
    b.iter().filter(|&&c| c == b'\n').count() as u64
}
