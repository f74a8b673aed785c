//! custody-server: `custody serve`, the HTTP front of one ledger (docs/PUBLISHING.md, "Server
//! API").
//!
//! ```text
//! POST /add            a signed submission (.cust bytes) -> 201/200 {index, leaf_hash, ...}
//! GET  /checkpoint     the latest checkpoint note (text/plain)
//! GET  /tile/...       tlog-tiles files of a published directory, read-only
//! ```
//!
//! What this crate owns, and what it must never do:
//! - [`sequencer`]: the one thread that owns the [`Ledger`] (and so its lock). It takes every
//!   queued submission at once, admits each with the store's [`Ledger::append_each`] (the rules
//!   of `custody append`, never a second copy of them), writes them with one fsync, and only
//!   then answers each (group commit). It also commits state and signs checkpoints on a
//!   schedule, between batches.
//! - [`http`]: connections, limits and handlers. Handlers read and parse bodies, check
//!   signatures on every core ([`custody_store::submissions::Signers::precheck`]) and queue
//!   them; they never touch the ledger. No endpoint changes anything without a submission
//!   signed by a key the ledger grants; operator operations stay on the command line.
//! - [`tile_path`]: the C2SP tlog-tiles path grammar, so only tile paths reach the file system.
//!
//! Nothing here prints: what happens is told through [`Event`]s to the caller (the binary).
#![forbid(unsafe_code)]

pub mod http;
pub mod sequencer;
pub mod tile_path;

use custody_core::keys::SecretKey;
use custody_core::sign::KeySigner;
use custody_store::{Ledger, StoreError};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The bounds every connection and request is held to.
#[derive(Clone, Debug)]
pub struct Limits {
    /// The largest request body, in bytes (a larger one is 413, unread past the bound).
    pub max_body: usize,
    /// Requests handled at once; more wait for a turn.
    pub max_requests: usize,
    /// Connections open at once; more wait to be accepted.
    pub max_connections: usize,
    /// Time a client has to send a request's headers (also how long an idle keep-alive
    /// connection stays open).
    pub header_timeout: Duration,
    /// Time a client has to send a request's whole body (408 after).
    pub body_timeout: Duration,
    /// The most submissions one group commit takes.
    pub max_batch: usize,
    /// On shutdown, how long open requests may take to finish.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            // One submission file at its largest, as `custody append` reads it.
            max_body: custody_core::codec::MAX_RECORD_BYTES + 64,
            max_requests: 1024,
            max_connections: 4096,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_batch: 4096,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// How to serve.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where to listen; nothing else is bound.
    pub listen: SocketAddr,
    /// A directory of C2SP tlog-tiles served read-only (`checkpoint`, `tile/...`). The server
    /// publishes into it (as `custody publish` does) at start and after each checkpoint it
    /// signs, so it always publishes the latest checkpoint.
    pub publish: Option<PathBuf>,
    /// Commit state and sign a checkpoint this often when the log grew (needs the operator
    /// key).
    pub checkpoint_every: Option<Duration>,
    /// Bounds.
    pub limits: Limits,
}

/// What the server tells its caller as it runs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Event {
    /// Accepting connections at this address.
    Listening(SocketAddr),
    /// A state commitment was appended (fsynced) as entry `index`, for the checkpoint that
    /// follows it.
    Committed {
        /// Its index: the last entry of that checkpoint.
        index: u64,
    },
    /// A checkpoint was signed and recorded.
    Checkpoint {
        /// Its tree size.
        size: u64,
        /// Where it was recorded.
        path: PathBuf,
    },
    /// A checkpoint was published into the `--publish` directory.
    Published {
        /// Its tree size.
        size: u64,
        /// Tiles and bundles written for it.
        written: u64,
    },
    /// Something went wrong that did not stop the server.
    Warning(String),
    /// A signal arrived: no new connections; open requests finish.
    Stopping,
}

/// Receives [`Event`]s, from any thread.
pub type Events = Arc<dyn Fn(Event) + Send + Sync>;

/// What a run did, once it stopped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Submissions appended.
    pub appended: u64,
    /// State commitments appended before checkpoints.
    pub commitments: u64,
    /// Group commits (fsyncs) that appended something.
    pub batches: u64,
    /// The ledger's size at the end.
    pub size: u64,
}

/// Why the server did not start or stopped badly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The ledger refused (a torn tail, a checkpoint that contradicts it, an I/O error).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Listening or the runtime failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The options do not fit the ledger.
    #[error("{0}")]
    Usage(String),
}

/// Serves `ledger` until SIGTERM or SIGINT, then stops accepting, lets open requests finish
/// (up to [`Limits::shutdown_grace`]), finishes the batch in hand with its fsync, appends a
/// state commitment and signs a last checkpoint if the log grew and `key` was given with a
/// schedule, and releases the ledger's
/// lock by dropping it. `key`, if given, must be the ledger's operator key.
///
/// # Errors
/// A ledger that cannot be served as it is (a torn tail: run `custody repair`), a key that is
/// not the operator's, an address that cannot be bound.
pub fn serve(
    ledger: Ledger,
    key: Option<SecretKey>,
    options: Options,
    events: Events,
) -> Result<Summary, ServerError> {
    if let Some((offset, bytes)) = ledger.torn() {
        return Err(ServerError::Usage(format!(
            "the entries file ends in a torn write ({bytes} bytes at offset {offset}); run `custody repair {}` first",
            ledger.dir().display()
        )));
    }
    if options.checkpoint_every.is_some() && key.is_none() {
        return Err(ServerError::Usage(
            "--checkpoint-every needs --key (the operator key signs checkpoints)".into(),
        ));
    }
    let verifier = ledger.operator_verifier()?;
    if let Some(k) = &key {
        if k.verifying_key() != *verifier.verifying_key() {
            return Err(ServerError::Usage(
                "--key is not the operator key of this ledger; only the operator signs checkpoints"
                    .into(),
            ));
        }
    }
    // Whole entries a killed earlier run wrote but never fsynced are made durable before any
    // of them is answered as already appended.
    ledger.sync()?;
    let latest = ledger.latest_checkpoint(&verifier)?;
    // The directory catches up with the latest checkpoint before anything is served from it
    // (a run killed between signing a checkpoint and publishing it left it behind). A
    // directory this log cannot publish into (another log's) stops the server here.
    if let (Some(dir), Some(cp)) = (&options.publish, &latest) {
        let p = custody_store::publish::publish_checkpoint(&ledger, cp, dir)?;
        events(Event::Published {
            size: p.size,
            written: p.written.len() as u64,
        });
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("custody-http")
        .build()
        .map_err(|source| ServerError::Io {
            what: "cannot start the runtime".into(),
            source,
        })?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(options.listen))
        .map_err(|source| ServerError::Io {
            what: format!("cannot listen on {}", options.listen),
            source,
        })?;
    let local = listener.local_addr().map_err(|source| ServerError::Io {
        what: "cannot read the listening address".into(),
        source,
    })?;
    let (sequencer, queue, shared) = sequencer::Sequencer::new(
        ledger,
        key,
        latest,
        options.checkpoint_every,
        options.limits.max_batch,
        events.clone(),
    );
    let sequencer = sequencer.publishing(options.publish.clone());
    let thread = std::thread::Builder::new()
        .name("custody-sequencer".into())
        .spawn(move || sequencer.run())
        .map_err(|source| ServerError::Io {
            what: "cannot start the sequencer".into(),
            source,
        })?;
    let stop = {
        let _in_runtime = runtime.enter();
        http::shutdown_signal()?
    };
    events(Event::Listening(local));
    let app = http::App::new(queue, shared, options.publish.clone(), &options.limits);
    let served = runtime.block_on(http::serve(
        listener,
        app,
        options.limits.clone(),
        events.clone(),
        stop,
    ));
    // Whatever is still running past the grace period is dropped: its queue sender goes with
    // it, so the sequencer sees the queue close once the last request is gone.
    runtime.shutdown_timeout(options.limits.shutdown_grace);
    let summary = thread
        .join()
        .map_err(|_| ServerError::Usage("internal: the sequencer panicked".into()))??;
    served?;
    Ok(summary)
}
