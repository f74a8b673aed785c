//! Connections, limits and handlers. Nothing here touches the ledger: `POST /add` parses and
//! pre-checks a body, queues it for the [`crate::sequencer`] and waits for its answer; the read
//! endpoints serve what the sequencer published (the latest checkpoint) or files of the
//! published directory, through custody-store's link-refusing read.
//!
//! Limits, each so that no client can hold more than its share: connections accepted at once
//! ([`Limits::max_connections`]), requests handled at once (a global concurrency limit), the
//! time to send headers (hyper's header read timeout, which also closes idle keep-alive
//! connections), the time to send a body, and the body's size (413, never read past the
//! bound). Every refusal is a status code with a one-line reason as its body.

use crate::sequencer::{Answer, Job, Refused, Shared};
use crate::tile_path::TilePath;
use crate::{Event, Events, Limits, ServerError};
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use custody_core::entry::Submission;
use custody_core::json::AddedJson;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::path::PathBuf;
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Semaphore};

/// `Cache-Control` of a full tile: its bytes never change once written.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of a partial tile and the checkpoint: replaced as the log grows.
pub const NO_CACHE: &str = "no-cache";

/// The most bytes of full tiles kept in memory. A full tile never changes once written
/// (c2sp.org/tlog-tiles), so once read it is served from memory; past this bound tiles are
/// read from the directory per request, as partial tiles and the checkpoint always are.
pub const TILE_CACHE_BYTES: usize = 64 << 20;

/// Full tiles already read, by path: immutable, so never re-read or invalidated.
#[derive(Default)]
struct TileCache {
    tiles: std::sync::RwLock<(std::collections::HashMap<String, Bytes>, usize)>,
}

impl TileCache {
    fn get(&self, path: &str) -> Option<Bytes> {
        let t = self
            .tiles
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        t.0.get(path).cloned()
    }

    fn put(&self, path: String, bytes: Bytes) {
        let mut t = self
            .tiles
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if t.1 + bytes.len() <= TILE_CACHE_BYTES && !t.0.contains_key(&path) {
            t.1 += bytes.len();
            t.0.insert(path, bytes);
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct App {
    queue: Sender<Job>,
    shared: Arc<Shared>,
    publish: Option<Arc<PathBuf>>,
    tiles: Arc<TileCache>,
    max_body: usize,
    body_timeout: Duration,
}

impl App {
    /// The handlers' state.
    #[must_use]
    pub fn new(
        queue: Sender<Job>,
        shared: Arc<Shared>,
        publish: Option<PathBuf>,
        limits: &Limits,
    ) -> App {
        App {
            queue,
            shared,
            publish: publish.map(Arc::new),
            tiles: Arc::new(TileCache::default()),
            max_body: limits.max_body,
            body_timeout: limits.body_timeout,
        }
    }

    /// The routes, with the global concurrency limit.
    pub fn router(self, max_requests: usize) -> Router {
        Router::new()
            .route("/add", post(add))
            .route("/checkpoint", get(checkpoint))
            .route("/tile/{*rest}", get(tile))
            .fallback(not_found)
            .with_state(self)
            .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
                max_requests.max(1),
            ))
    }
}

/// Accepts connections on `listener` until `stop` resolves ([`shutdown_signal`]: SIGTERM or
/// SIGINT), then lets open requests finish (up to `limits.shutdown_grace`).
///
/// # Errors
/// None today; the signature keeps room for listener failures.
pub async fn serve(
    listener: TcpListener,
    app: App,
    limits: Limits,
    events: Events,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), ServerError> {
    let router = app.router(limits.max_requests);
    let mut stop = std::pin::pin!(stop);
    let graceful = GracefulShutdown::new();
    let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    loop {
        let permit = tokio::select! {
            p = connections.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut stop => break,
        };
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    // Out of descriptors and the like: wait a moment rather than spin.
                    events(Event::Warning(format!("accept failed: {e}")));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let conn = http.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // A connection's end (a client gone, a header timeout) is no event worth telling.
            let _ = conn.await;
            drop(permit);
        });
    }
    events(Event::Stopping);
    drop(listener);
    drop(router);
    // Idle keep-alive connections close now; open requests finish, up to the grace period.
    let _ = tokio::time::timeout(limits.shutdown_grace, graceful.shutdown()).await;
    Ok(())
}

/// Resolves on the first SIGTERM or SIGINT. Installed before the server says it listens, so a
/// SIGTERM sent as soon as it does is a clean stop, never the default kill. Call it inside the
/// runtime.
///
/// # Errors
/// If the signal handlers cannot be installed.
pub fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, ServerError> {
    use tokio::signal::unix::{signal, SignalKind};
    let io = |source| ServerError::Io {
        what: "cannot install the signal handlers".into(),
        source,
    };
    let mut term = signal(SignalKind::terminate()).map_err(io)?;
    let mut int = signal(SignalKind::interrupt()).map_err(io)?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

/// A status with a one-line text reason.
fn text(status: StatusCode, reason: &str) -> Response {
    // One line, whatever the reason quotes (file names, other libraries' messages).
    let line: String = reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{line}\n"),
    )
        .into_response()
}

async fn not_found() -> Response {
    text(
        StatusCode::NOT_FOUND,
        "no such endpoint: POST /add, GET /checkpoint, GET /tile/...",
    )
}

/// Reads a whole body, at most `max` bytes, within `timeout`.
async fn read_body(body: Body, max: usize, timeout: Duration) -> Result<Bytes, Response> {
    let mut body = body;
    let read = async {
        let mut buf = Vec::new();
        while let Some(frame) =
            std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
        {
            let frame = frame.map_err(|e| {
                text(
                    StatusCode::BAD_REQUEST,
                    &format!("cannot read the body: {e}"),
                )
            })?;
            if let Ok(data) = frame.into_data() {
                if buf.len() + data.len() > max {
                    return Err(too_large(max));
                }
                buf.extend_from_slice(&data);
            }
        }
        Ok(Bytes::from(buf))
    };
    match tokio::time::timeout(timeout, read).await {
        Ok(r) => r,
        Err(_) => Err(text(
            StatusCode::REQUEST_TIMEOUT,
            &format!(
                "the body did not arrive within {} s; nothing was appended",
                timeout.as_secs()
            ),
        )),
    }
}

fn too_large(max: usize) -> Response {
    text(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!(
            "the body is larger than {max} bytes, the largest submission; nothing was appended"
        ),
    )
}

/// `POST /add`: a signed submission in, its place in the log out, once durable.
async fn add(State(app): State<App>, req: axum::extract::Request) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > app.max_body as u64) {
        return too_large(app.max_body);
    }
    let bytes = match read_body(req.into_body(), app.max_body, app.body_timeout).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let sub = match Submission::from_file_bytes(&bytes) {
        Ok(s) => s,
        Err(e) => {
            return text(
                StatusCode::BAD_REQUEST,
                &format!("not a custody submission (.cust bytes): {e}"),
            )
        }
    };
    let candidate = match app.shared.signers().precheck(sub) {
        Ok(c) => c,
        Err(e) => return text(StatusCode::FORBIDDEN, &format!("refused: {e}")),
    };
    let (reply, answer) = oneshot::channel();
    if app.queue.send(Job { candidate, reply }).is_err() {
        return stopping();
    }
    match answer.await {
        Ok(a) => answer_response(a),
        Err(_) => stopping(),
    }
}

fn stopping() -> Response {
    text(
        StatusCode::SERVICE_UNAVAILABLE,
        "the server is stopping; this submission was not answered (send it again: a retry is recognised, never appended twice)",
    )
}

fn answer_response(a: Answer) -> Response {
    match a {
        Answer::Added { entry, new, proof } => {
            let body = AddedJson {
                index: entry.index,
                leaf_hash: entry.leaf.to_hex(),
                prev_hash: entry.prev.to_hex(),
                appended: new,
                inclusion_proof: proof,
            };
            let json = match serde_json::to_string(&body) {
                Ok(j) => j,
                Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
            };
            let status = if new {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            (
                status,
                [(header::CONTENT_TYPE, "application/json")],
                format!("{json}\n"),
            )
                .into_response()
        }
        Answer::Refused { why, reason } => {
            let status = match why {
                Refused::Forbidden => StatusCode::FORBIDDEN,
                Refused::Conflict => StatusCode::CONFLICT,
                Refused::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            };
            text(status, &format!("refused: {reason}"))
        }
        Answer::Failed(reason) => text(StatusCode::INTERNAL_SERVER_ERROR, &reason),
    }
}

/// `GET /checkpoint`: the published directory's checkpoint when one is served (it never names
/// tiles that are not there yet), else the ledger's latest recorded checkpoint.
async fn checkpoint(State(app): State<App>) -> Response {
    if let Some(dir) = &app.publish {
        let max = custody_core::checkpoint::MAX_NOTE_BYTES as u64;
        return published(dir.clone(), "checkpoint".into(), max, Served::Checkpoint).await;
    }
    match app.shared.checkpoint() {
        Some(note) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::CACHE_CONTROL, NO_CACHE),
            ],
            note.to_string(),
        )
            .into_response(),
        None => text(
            StatusCode::NOT_FOUND,
            "no checkpoint recorded yet (the operator signs one with `custody checkpoint`, or serve with --key and --checkpoint-every)",
        ),
    }
}

/// `GET /tile/...`: a file of the published directory, by its exact tlog-tiles path.
async fn tile(State(app): State<App>, uri: Uri) -> Response {
    let Some(dir) = &app.publish else {
        return text(
            StatusCode::NOT_FOUND,
            "no tiles here: the server was started without --publish",
        );
    };
    // The raw path, never a percent-decoded one: the grammar has no use for `%`.
    let Some(t) = uri.path().strip_prefix('/').and_then(TilePath::parse) else {
        return text(StatusCode::NOT_FOUND, "not a tlog-tiles path");
    };
    if !t.is_full() {
        return published(dir.clone(), t.to_path(), t.max_bytes(), Served::PartialTile).await;
    }
    let rel = t.to_path();
    if let Some(bytes) = app.tiles.get(&rel) {
        return respond(bytes, Served::FullTile);
    }
    match read_published(dir.clone(), rel.clone(), t.max_bytes()).await {
        Ok(bytes) => {
            app.tiles.put(rel, bytes.clone());
            respond(bytes, Served::FullTile)
        }
        Err(r) => r,
    }
}

/// What a published file is, for its headers.
#[derive(Clone, Copy)]
enum Served {
    FullTile,
    PartialTile,
    Checkpoint,
}

/// Reads `rel` under `dir` off the runtime's threads and answers with it.
async fn published(dir: Arc<PathBuf>, rel: String, max: u64, served: Served) -> Response {
    match read_published(dir, rel, max).await {
        Ok(bytes) => respond(bytes, served),
        Err(r) => r,
    }
}

/// Reads `rel` under `dir` off the runtime's threads, through custody-store's link-refusing
/// read; a refusal is the response to send.
async fn read_published(dir: Arc<PathBuf>, rel: String, max: u64) -> Result<Bytes, Response> {
    let read = tokio::task::spawn_blocking(move || {
        custody_store::files::read_beneath(&dir, &rel, max, "a published file")
    })
    .await;
    Ok(Bytes::from(match read {
        Ok(Ok(Some(b))) => b,
        Ok(Ok(None)) => return Err(text(StatusCode::NOT_FOUND, "not published (yet)")),
        Ok(Err(custody_store::StoreError::Io { source, .. }))
            if source.kind() == std::io::ErrorKind::InvalidInput =>
        {
            return Err(text(
                StatusCode::FORBIDDEN,
                "refused: not a regular file of the published directory (a link or a special file)",
            ))
        }
        Ok(Err(e)) => return Err(text(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())),
        Err(_) => {
            return Err(text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal: the read failed",
            ))
        }
    }))
}

/// A published file's response: its bytes and the headers of its kind (static values).
fn respond(bytes: Bytes, served: Served) -> Response {
    let (kind, cache) = match served {
        Served::FullTile => ("application/octet-stream", IMMUTABLE),
        Served::PartialTile => ("application/octet-stream", NO_CACHE),
        Served::Checkpoint => ("text/plain; charset=utf-8", NO_CACHE),
    };
    let mut r = (StatusCode::OK, bytes).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    r
}
