//! `custody serve`: the submission server of custody-server on one ledger, until SIGTERM or
//! SIGINT. The operator key (for checkpoints on a schedule) is loaded here once, through the
//! same path as every other command, before the ledger is opened.

use super::{load_key, open_writer, warn};
use crate::args::ServeArgs;
use crate::print::clean;
use anyhow::{Context, Result};
use custody_server::{Event, Limits, Options};
use std::path::Path;
use std::sync::Arc;

pub fn run(ledger_dir: &Path, a: ServeArgs) -> Result<()> {
    let key = a.key.as_deref().map(load_key).transpose()?;
    let mut ledger = open_writer(ledger_dir)?;
    warn(&mut ledger);
    let defaults = Limits::default();
    let options = Options {
        listen: a.listen,
        publish: a.publish,
        checkpoint_every: a.checkpoint_every,
        limits: Limits {
            max_body: a.max_body.unwrap_or(defaults.max_body),
            max_requests: a.max_requests,
            max_connections: a.max_connections,
            header_timeout: a.header_timeout,
            body_timeout: a.body_timeout,
            max_batch: a.max_batch,
            ..defaults
        },
    };
    let size = ledger.size();
    let name = ledger_dir.display().to_string();
    let events = Arc::new(move |e: Event| match e {
        Event::Listening(addr) => {
            // On standard output, so a script (or a test) can read the address it got.
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "custody: serving {} ({}) on http://{addr}",
                clean(&name),
                crate::print::count(size, "entry", "entries")
            );
            let _ = out.flush();
        }
        Event::Committed { index } => {
            eprintln!("custody: entry {index} (state-commitment) appended");
        }
        Event::Checkpoint { size, path } => eprintln!(
            "custody: {} recorded as {}",
            crate::print::checkpoint_at(size),
            clean(&path.display().to_string())
        ),
        Event::Published { size, written } => eprintln!(
            "custody: published tree size {size} ({})",
            crate::print::count(written, "tile written", "tiles written")
        ),
        Event::Warning(w) => eprintln!("custody: warning: {}", clean(&w)),
        Event::Stopping => eprintln!("custody: stopping: no new connections; open requests finish"),
        _ => {}
    });
    let summary = custody_server::serve(ledger, key, options, events)
        .with_context(|| format!("cannot serve ledger {}", ledger_dir.display()))?;
    let commitments = if summary.commitments == 0 {
        String::new()
    } else {
        format!(
            ", {}",
            crate::print::count(summary.commitments, "state commitment", "state commitments")
        )
    };
    eprintln!(
        "custody: stopped: {} appended in {}{commitments}; the ledger holds {} and is unlocked",
        crate::print::count(summary.appended, "entry", "entries"),
        crate::print::count(summary.batches, "group commit", "group commits"),
        crate::print::count(summary.size, "entry", "entries")
    );
    Ok(())
}
