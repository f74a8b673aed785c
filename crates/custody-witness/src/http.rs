//! The witness's HTTP interface (tlog-witness): `POST <prefix>/add-checkpoint` and the
//! monitoring `GET <prefix>/<hex SHA-256 of the origin>/checkpoint`, on axum and hyper.
//!
//! This module owns what a network client can make the witness spend: it listens only on
//! the socket it is given, holds at most [`Limits::connections`] connections (the rest wait
//! in the kernel's backlog), closes a connection whose request head does not arrive within
//! [`Limits::header_timeout`] (idle keep-alive connections too), reads at most
//! [`MAX_REQUEST_BYTES`] of a body and only within [`Limits::body_timeout`], and stops on
//! the shutdown future: no new connections, in-flight requests finish (their commits
//! complete), then it returns. It decides nothing itself; [`Witness`] does.

use crate::service::Witness;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use custody_core::add_checkpoint::MAX_REQUEST_BYTES;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// What one client may hold of the witness.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Connections served at once.
    pub connections: usize,
    /// From the start of waiting for a request to its last header byte (also the idle
    /// keep-alive timeout).
    pub header_timeout: Duration,
    /// From the end of the head to the last body byte.
    pub body_timeout: Duration,
    /// How long in-flight requests may take to finish after shutdown is asked for.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connections: 512,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

#[derive(Clone)]
struct App {
    witness: Arc<Witness>,
    body_timeout: Duration,
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    let mut r = (status, body.into()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// The router: the two endpoints under `prefix` (empty, or starting with `/` and not ending
/// with one), 404 for every other path, 405 for another method.
pub fn router(witness: Arc<Witness>, prefix: &str, body_timeout: Duration) -> Router {
    let app = App {
        witness,
        body_timeout,
    };
    Router::new()
        .route(&format!("{prefix}/add-checkpoint"), post(add_checkpoint))
        .route(
            &format!("{prefix}/{{origin_hash}}/checkpoint"),
            get(checkpoint),
        )
        .fallback(|| async { text(StatusCode::NOT_FOUND, "not found\n") })
        .with_state(app)
}

async fn add_checkpoint(State(app): State<App>, headers: HeaderMap, body: Body) -> Response {
    let too_large = || {
        text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("an add-checkpoint body is at most {MAX_REQUEST_BYTES} bytes\n"),
        )
    };
    // A declared length over the bound is refused before a byte of the body is read.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_REQUEST_BYTES as u64) {
        return too_large();
    }
    let read = axum::body::to_bytes(body, MAX_REQUEST_BYTES);
    let bytes: Bytes = match tokio::time::timeout(app.body_timeout, read).await {
        Err(_) => {
            return text(
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive in time\n",
            )
        }
        Ok(Err(e)) => {
            let limit = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                || e.to_string().contains("length limit");
            if limit {
                return too_large();
            }
            return text(
                StatusCode::BAD_REQUEST,
                "the request body could not be read\n",
            );
        }
        Ok(Ok(b)) => b,
    };
    match app.witness.add_checkpoint(&bytes).await {
        Ok(c) => text(StatusCode::OK, c.lines),
        Err(refusal) => {
            let status = StatusCode::from_u16(refusal.status.code())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut r = (status, refusal.body()).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(refusal.content_type()),
            );
            if let Some(s) = refusal.retry_after {
                if let Ok(v) = HeaderValue::from_str(&s.max(1).to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            r
        }
    }
}

async fn checkpoint(State(app): State<App>, Path(origin_hash): Path<String>) -> Response {
    let hash = (origin_hash.len() == 64
        && origin_hash
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
    .then(|| hex::decode(&origin_hash).ok())
    .flatten()
    .and_then(|h| <[u8; 32]>::try_from(h).ok());
    match hash.and_then(|h| app.witness.latest_checkpoint(&h)) {
        Some(note) => text(StatusCode::OK, note),
        None => text(
            StatusCode::NOT_FOUND,
            "this witness has cosigned no checkpoint of that log\n",
        ),
    }
}

/// Serves `witness` on `listener` until `shutdown` resolves, then lets in-flight requests
/// finish for at most [`Limits::shutdown_grace`].
///
/// # Errors
/// None today (accept errors are waited out); the `Result` leaves room for listeners that
/// can fail for good.
pub async fn serve(
    witness: Arc<Witness>,
    listener: TcpListener,
    prefix: &str,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let app = router(witness, prefix, limits.body_timeout);
    let permits = Arc::new(Semaphore::new(limits.connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true)
        .max_buf_size(64 * 1024);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(_) => {
                    // EMFILE and the like pass; back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.shutdown_grace) => {}
    }
    Ok(())
}

/// Resolves on SIGTERM or SIGINT.
///
/// # Errors
/// If the signal handlers cannot be installed.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}
