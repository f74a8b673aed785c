//! Reading a published log (docs/PUBLISHING.md): over HTTP, or from a directory on this machine
//! (a mounted copy, a USB stick). Every read has a bound, and an HTTP read a timeout, so a
//! hostile or broken server can make `clone` and `monitor` fail, never hang or fill memory.
//!
//! Nothing read here is trusted: the checkpoint is opened under the key the user gave, tiles
//! are checked against it (`custody_core::tiles`), entries are replayed. This module only
//! fetches bytes and says which file it could not fetch.

use crate::files::open_regular;
use custody_core::tiles::{TileId, TileSource};
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// How long one HTTP request may take, connecting and reading included.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Requests in flight at once when many files are fetched ([`Source::get_all`]), each on a
/// keep-alive connection of its own: one request at a time pays a round trip and the server's
/// turn per tile, which made `monitor` over HTTP several times slower than from a directory.
pub const PARALLEL_FETCHES: usize = 8;

/// Why a file of the published log could not be fetched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The source does not have it (HTTP 404, or no such file).
    #[error("{0}: not found")]
    NotFound(String),
    /// An HTTP status other than 200 and 404.
    #[error("{url}: HTTP status {status}")]
    Status {
        /// What was asked for.
        url: String,
        /// The status.
        status: u16,
    },
    /// The file is larger than anything it may be.
    #[error("{url}: larger than {max} bytes, more than it can be")]
    TooLarge {
        /// What was asked for.
        url: String,
        /// The bound.
        max: usize,
    },
    /// The request or the read failed (connection refused, timeout, I/O error).
    #[error("{url}: {reason}")]
    Failed {
        /// What was asked for.
        url: String,
        /// The client's or the system's message.
        reason: String,
    },
    /// The source is not one custody can read.
    #[error("{0}")]
    BadSource(String),
}

/// Where a published log is read from.
pub enum Source {
    /// A prefix URL (`http://host/path`), read with a blocking client.
    Http {
        /// The prefix, without a trailing slash.
        base: String,
        /// The client (timeouts, no redirects, statuses as values).
        agent: ureq::Agent,
    },
    /// A directory holding a published log.
    Dir(PathBuf),
}

impl Source {
    /// The source `s` names: an `http://` or `https://` URL prefix, else a directory path.
    ///
    /// # Errors
    /// [`FetchError::BadSource`] for a URL of another scheme.
    pub fn parse(s: &str) -> Result<Source, FetchError> {
        let lower = s.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            let config = ureq::Agent::config_builder()
                .timeout_global(Some(HTTP_TIMEOUT))
                .http_status_as_error(false)
                // A redirect could lead anywhere; a static host serving a log needs none.
                .max_redirects(0)
                // One idle keep-alive connection kept for each request that may be in flight.
                .max_idle_connections_per_host(PARALLEL_FETCHES)
                .build();
            return Ok(Source::Http {
                base: s.trim_end_matches('/').to_string(),
                agent: ureq::Agent::new_with_config(config),
            });
        }
        if s.contains("://") {
            return Err(FetchError::BadSource(format!(
                "{s}: custody reads a published log over http:// or https://, or from a directory"
            )));
        }
        Ok(Source::Dir(PathBuf::from(s)))
    }

    /// Where `rel` (a path inside the published log) is, for messages.
    #[must_use]
    pub fn locate(&self, rel: &str) -> String {
        match self {
            Source::Http { base, .. } => format!("{base}/{rel}"),
            Source::Dir(d) => d.join(rel).display().to_string(),
        }
    }

    /// The bytes at `rel` (a path custody built: `checkpoint`, a tile path), at most `max`.
    ///
    /// # Errors
    /// A [`FetchError`] naming the URL or file.
    pub fn get(&self, rel: &str, max: usize) -> Result<Vec<u8>, FetchError> {
        let url = self.locate(rel);
        match self {
            Source::Http { agent, .. } => {
                let failed = |e: ureq::Error| FetchError::Failed {
                    url: url.clone(),
                    reason: e.to_string(),
                };
                let mut resp = agent.get(&url).call().map_err(failed)?;
                match resp.status().as_u16() {
                    200 => {}
                    404 | 410 => return Err(FetchError::NotFound(url)),
                    status => return Err(FetchError::Status { url, status }),
                }
                let body = resp
                    .body_mut()
                    .with_config()
                    .limit(max as u64 + 1)
                    .read_to_vec();
                match body {
                    Ok(b) if b.len() > max => Err(FetchError::TooLarge { url, max }),
                    Ok(b) => Ok(b),
                    Err(ureq::Error::BodyExceedsLimit(_)) => Err(FetchError::TooLarge { url, max }),
                    Err(e) => Err(failed(e)),
                }
            }
            Source::Dir(d) => {
                let path = d.join(rel);
                if !path.exists() && std::fs::symlink_metadata(&path).is_err() {
                    return Err(FetchError::NotFound(url));
                }
                let f = open_regular(&path).map_err(|e| FetchError::Failed {
                    url: url.clone(),
                    reason: e.to_string(),
                })?;
                let mut b = Vec::new();
                f.take(max as u64 + 1)
                    .read_to_end(&mut b)
                    .map_err(|e| FetchError::Failed {
                        url: url.clone(),
                        reason: e.to_string(),
                    })?;
                if b.len() > max {
                    return Err(FetchError::TooLarge { url, max });
                }
                Ok(b)
            }
        }
    }
}

impl Source {
    /// The bytes of every `(rel, max)` in `wanted`, in that order, with up to
    /// [`PARALLEL_FETCHES`] requests in flight. After a failure no new request is started (the
    /// ones not made are failed too), so a dead server costs one timeout per request in flight,
    /// not one per file. Memory: every result is held until all are in, so callers bound
    /// `wanted` (at most `wanted.len()` files of their `max`).
    #[must_use]
    pub fn get_all(&self, wanted: &[(String, usize)]) -> Vec<Result<Vec<u8>, FetchError>> {
        let n = wanted.len();
        if n <= 1 {
            return wanted
                .iter()
                .map(|(rel, max)| self.get(rel, *max))
                .collect();
        }
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let mut out: Vec<Option<Result<Vec<u8>, FetchError>>> = (0..n).map(|_| None).collect();
        std::thread::scope(|s| {
            let workers: Vec<_> = (0..n.min(PARALLEL_FETCHES))
                .map(|_| {
                    s.spawn(|| {
                        let mut got = Vec::new();
                        while !failed.load(Ordering::Relaxed) {
                            let k = next.fetch_add(1, Ordering::Relaxed);
                            let Some((rel, max)) = wanted.get(k) else {
                                break;
                            };
                            let r = self.get(rel, *max);
                            if r.is_err() {
                                failed.store(true, Ordering::Relaxed);
                            }
                            got.push((k, r));
                        }
                        got
                    })
                })
                .collect();
            for w in workers {
                for (k, r) in w.join().unwrap_or_default() {
                    out[k] = Some(r);
                }
            }
        });
        out.into_iter()
            .zip(wanted)
            .map(|(r, (rel, _))| {
                r.unwrap_or_else(|| {
                    Err(FetchError::Failed {
                        url: self.locate(rel),
                        reason: "not fetched: an earlier request failed".into(),
                    })
                })
            })
            .collect()
    }
}

impl TileSource for Source {
    fn fetch(&self, tile: TileId, max: usize) -> Result<Vec<u8>, String> {
        self.get(&tile.path(), max).map_err(|e| e.to_string())
    }
}
