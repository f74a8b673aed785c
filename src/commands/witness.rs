//! `custody witness init|vkey|serve|cosign`: custody as a C2SP tlog-witness for other logs.
//!
//! The witness's key is an ordinary custody key file (`custody key new NAME`; roles belong
//! to ledgers, not to witnesses). Its *name* is given once, to `init`, and kept in the state
//! directory with the public key: the name is part of the vkey and of every cosignature, so
//! `serve` and `cosign` take it from there and refuse a key that is not the state's.

use super::{load_key, Failed};
use crate::args::WitnessCommand;
use anyhow::{Context, Result};
use custody_core::add_checkpoint::MAX_REQUEST_BYTES;
use custody_core::witness::{Logs, Status, MAX_LOGS_FILE_BYTES};
use custody_store::files;
use custody_witness::http::{self, Limits};
use custody_witness::service::{Clock, Events, Signer};
use custody_witness::{system_clock, Event, StateDir, Witness};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub fn run(w: WitnessCommand) -> Result<()> {
    match w {
        WitnessCommand::Init { state, key, name } => {
            let key = load_key(&key)?;
            let s = StateDir::init(&state, &name, key.public().verifying_key().to_owned())
                .with_context(|| format!("cannot create witness state {}", state.display()))?;
            out!("{}", s.state().witness.to_vkey());
            eprintln!(
                "witness state created in {}; publish the vkey above to the logs you witness",
                crate::print::clean(&state.display().to_string())
            );
            Ok(())
        }
        WitnessCommand::Vkey { state } => {
            let s = StateDir::read(&state)
                .with_context(|| format!("cannot read witness state {}", state.display()))?;
            out!("{}", s.witness.to_vkey());
            Ok(())
        }
        WitnessCommand::Serve {
            key,
            logs,
            state,
            listen,
            prefix,
            connections,
            header_timeout,
            body_timeout,
        } => {
            check_prefix(&prefix)?;
            let limits = Limits {
                connections,
                header_timeout: Duration::from_secs(header_timeout.max(1)),
                body_timeout: Duration::from_secs(body_timeout.max(1)),
                ..Limits::default()
            };
            serve(&key, &logs, &state, listen, &prefix, limits)
        }
        WitnessCommand::Cosign {
            request,
            key,
            logs,
            state,
        } => cosign(&request, &key, &logs, &state),
    }
}

/// A prefix is empty, or `/segment[/segment...]` of URL-safe characters.
fn check_prefix(p: &str) -> Result<()> {
    let ok = p.is_empty()
        || (p.starts_with('/')
            && !p.ends_with('/')
            && !p.contains("//")
            && p.len() <= 200
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/-._~".contains(&b)));
    if !ok {
        anyhow::bail!(
            "--prefix {:?} is not a URL path prefix: use nothing, or /name[/name...] of letters, \
             digits and -._~, without a trailing slash",
            crate::print::clean(p)
        );
    }
    Ok(())
}

/// Loads the key, the logs file and the state, and starts the witness on them.
fn start(key: &Path, logs: &Path, state: &Path, events: Events) -> Result<Witness> {
    let signer: Signer = Arc::new(load_key(key)?);
    let text = files::read_bounded(logs, MAX_LOGS_FILE_BYTES as u64, "a logs file")?;
    let logs = Logs::parse(&text).with_context(|| format!("cannot use {}", logs.display()))?;
    let dir = StateDir::open(state)
        .with_context(|| format!("cannot open witness state {}", state.display()))?;
    let clock: Clock = Arc::new(system_clock);
    Witness::start(dir, logs, signer, clock, events)
        .with_context(|| format!("cannot start the witness on {}", state.display()))
}

/// What the operator sees: refusals that may be a log's misbehaviour (422), a clock behind
/// its own cosignatures (503), and storage failures; one line each on standard error.
fn print_events() -> Events {
    Arc::new(|e: &Event<'_>| match e {
        Event::Refused {
            origin: Some(origin),
            refusal,
        } if matches!(refusal.status, Status::Unprocessable | Status::Unavailable) => {
            eprintln!(
                "custody witness: {} refused for {}: {}",
                refusal.status.code(),
                crate::print::clean(origin),
                crate::print::clean(&refusal.reason)
            );
        }
        Event::ForkEvidence { .. } | Event::NoForkEvidence { .. } => print_fork(e),
        Event::StorageFailed { error } => eprintln!(
            "custody witness: storing state failed, refusing every request until restarted: {}",
            crate::print::clean(error)
        ),
        _ => {}
    })
}

/// One line on standard error for what the witness did about a log that contradicted itself.
fn print_fork(e: &Event<'_>) {
    use custody_witness::state::Fork;
    match e {
        Event::ForkEvidence { origin, fork } => {
            let origin = crate::print::clean(origin);
            match fork {
                Fork::Written(p) => eprintln!(
                    "custody witness: FORK: {origin} signed a checkpoint that contradicts the one \
                     cosigned; fork evidence written to {} (check it with custody check-fork FILE \
                     --trust VKEY)",
                    crate::print::clean(&p.display().to_string())
                ),
                Fork::AlreadyKept(p) => eprintln!(
                    "custody witness: FORK: {origin}: the same fork evidence is already in {}",
                    crate::print::clean(&p.display().to_string())
                ),
                Fork::Full(p) => eprintln!(
                    "custody witness: FORK: {origin} signed a contradicting checkpoint, but {} \
                     holds the most fork evidence files kept; nothing written",
                    crate::print::clean(&p.display().to_string())
                ),
                _ => {}
            }
        }
        Event::NoForkEvidence { origin, reason } => eprintln!(
            "custody witness: no fork evidence for {}: {}",
            crate::print::clean(origin),
            crate::print::clean(reason)
        ),
        _ => {}
    }
}

fn serve(
    key: &Path,
    logs: &Path,
    state: &Path,
    listen: std::net::SocketAddr,
    prefix: &str,
    limits: Limits,
) -> Result<()> {
    let witness = Arc::new(start(key, logs, state, print_events())?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        let shutdown = http::shutdown_signal().context("cannot handle SIGTERM")?;
        out!("witness {}", witness.vkey());
        out!(
            "listening on http://{addr}{prefix}/add-checkpoint ({})",
            crate::print::count(witness.logs().len() as u64, "log", "logs")
        );
        http::serve(witness.clone(), listener, prefix, limits, shutdown).await?;
        witness.close_async().await;
        let (cosigned, commits) = witness.counts();
        eprintln!(
            "custody witness: stopped; {} cosigned in {}",
            crate::print::count(cosigned, "checkpoint", "checkpoints"),
            crate::print::count(commits, "commit", "commits")
        );
        Ok(())
    })
}

fn cosign(request: &Path, key: &Path, logs: &Path, state: &Path) -> Result<()> {
    let body = files::read_bounded(
        request,
        MAX_REQUEST_BYTES as u64,
        "an add-checkpoint request",
    )?;
    let witness = start(key, logs, state, Arc::new(print_fork))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = rt.block_on(witness.add_checkpoint(&body));
    witness.close();
    match result {
        Ok(c) => {
            use std::io::Write as _;
            write!(std::io::stdout().lock(), "{}", c.lines)?;
            eprintln!(
                "cosigned {} at size {} (from {}), time {}",
                crate::print::clean(&c.origin),
                c.size,
                c.old,
                c.time
            );
            Ok(())
        }
        Err(r) => Err(Failed(format!(
            "the witness refused: {} {}: {}",
            r.status.code(),
            r.status.phrase(),
            r.reason
        ))
        .into()),
    }
}
