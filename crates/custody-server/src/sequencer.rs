//! The sequencer: the one thread that owns the ledger, its file lock and its caches.
//!
//! Handlers queue [`Job`]s and wait. The sequencer takes the first job, then every job already
//! queued (up to the batch bound), hands them to [`Ledger::append_each`] — the rules of
//! `custody append`, each submission admitted against the log including the ones before it in
//! the batch, one write and one fsync for all — and only then answers each: group commit. A
//! slow client never reaches it (handlers queue only whole, parsed bodies), so nothing a client
//! does can hold the ledger.
//!
//! Between batches it signs a checkpoint when the schedule says so and the log grew; the key
//! was loaded once at start. It stops when the queue closes (the server stopped and the last
//! request is gone), after the batch in hand is durable; dropping the ledger releases its lock.

use crate::{Event, Events, ServerError, Summary};
use custody_core::checkpoint::{format_tlog_proof, SignedCheckpoint};
use custody_core::entry::KeyId;
use custody_core::keys::SecretKey;
use custody_store::submissions::{Candidate, Signers};
use custody_store::{Access, Admission, Appended, Ledger, StoreError};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// One submission waiting for the sequencer, and where its answer goes.
pub struct Job {
    /// The submission, its signature perhaps already checked.
    pub candidate: Candidate,
    /// The handler waiting for the answer.
    pub reply: oneshot::Sender<Answer>,
}

/// Why a submission was refused, which the HTTP status says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Its signer is not a key the ledger grants (unknown or revoked), or the signature does
    /// not verify: 403.
    Forbidden,
    /// The same signed content is already in the log under another signature: 409.
    Conflict,
    /// It breaks a rule of the log (citations, figure sums, origin, text): 422.
    Unprocessable,
}

/// What the sequencer answers a job.
#[derive(Debug)]
pub enum Answer {
    /// Durable: appended by this batch (`new`) or already in the log (a retry).
    Added {
        /// Where it is.
        entry: Appended,
        /// Whether this request appended it.
        new: bool,
        /// A c2sp.org/tlog-proof@v1 proof in the latest checkpoint, when one covers it.
        proof: Option<String>,
    },
    /// Refused; nothing of it was written.
    Refused {
        /// Which kind of refusal.
        why: Refused,
        /// The store's reason, one line.
        reason: String,
    },
    /// The ledger could not be written or read: nothing of this submission is acknowledged.
    Failed(String),
}

/// What the handlers read without asking the sequencer.
#[derive(Debug, Default)]
pub struct Shared {
    signers: RwLock<Arc<Signers>>,
    checkpoint: RwLock<Option<Arc<str>>>,
}

impl Shared {
    /// The log's signing keys as of the last batch that changed them.
    pub fn signers(&self) -> Arc<Signers> {
        self.signers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The latest recorded checkpoint note, if any.
    pub fn checkpoint(&self) -> Option<Arc<str>> {
        self.checkpoint
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_signers(&self, s: Signers) {
        *self.signers.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(s);
    }

    fn set_checkpoint(&self, note: &str) {
        *self
            .checkpoint
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(Arc::from(note));
    }
}

/// The sequencer, before its thread starts.
pub struct Sequencer {
    ledger: Option<Ledger>,
    dir: std::path::PathBuf,
    queue: Receiver<Job>,
    shared: Arc<Shared>,
    key: Option<SecretKey>,
    latest: Option<SignedCheckpoint>,
    every: Option<Duration>,
    max_batch: usize,
    events: Events,
    summary: Summary,
    publish: Option<std::path::PathBuf>,
}

impl Sequencer {
    /// A sequencer owning `ledger`, the queue handlers send to, and what they share with it.
    /// `latest` is the latest recorded checkpoint that holds against the ledger.
    #[must_use]
    pub fn new(
        ledger: Ledger,
        key: Option<SecretKey>,
        latest: Option<SignedCheckpoint>,
        every: Option<Duration>,
        max_batch: usize,
        events: Events,
    ) -> (Sequencer, Sender<Job>, Arc<Shared>) {
        let shared = Arc::new(Shared::default());
        shared.set_signers(ledger.signers());
        if let Some(cp) = &latest {
            shared.set_checkpoint(cp.note());
        }
        // Unbounded, yet bounded: each queued job is a request in progress, and requests are
        // bounded by the server's concurrency limit.
        let (tx, rx) = std::sync::mpsc::channel();
        let seq = Sequencer {
            dir: ledger.dir().to_path_buf(),
            summary: Summary {
                size: ledger.size(),
                ..Summary::default()
            },
            ledger: Some(ledger),
            queue: rx,
            shared: shared.clone(),
            key,
            latest,
            every,
            max_batch: max_batch.max(1),
            events,
            publish: None,
        };
        (seq, tx, shared)
    }

    /// Publishes into `dir` (C2SP tlog-tiles, as `custody publish`) after each checkpoint signed.
    #[must_use]
    pub fn publishing(mut self, dir: Option<std::path::PathBuf>) -> Sequencer {
        self.publish = dir;
        self
    }

    /// Sequences until the queue closes, then signs a last checkpoint if the log grew.
    ///
    /// # Errors
    /// None today once started: failures are answered to the jobs and told as events. The
    /// result type leaves room for a ledger that cannot be reopened.
    pub fn run(mut self) -> Result<Summary, ServerError> {
        let mut next = self.every.map(|d| Instant::now() + d);
        loop {
            let first = match next {
                Some(at) => match self
                    .queue
                    .recv_timeout(at.saturating_duration_since(Instant::now()))
                {
                    Ok(job) => Some(job),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                },
                None => match self.queue.recv() {
                    Ok(job) => Some(job),
                    Err(_) => break,
                },
            };
            if let Some(first) = first {
                let mut jobs = vec![first];
                while jobs.len() < self.max_batch {
                    match self.queue.try_recv() {
                        Ok(job) => jobs.push(job),
                        Err(_) => break,
                    }
                }
                self.commit(jobs);
            }
            if let (Some(at), Some(every)) = (next, self.every) {
                if Instant::now() >= at {
                    self.checkpoint();
                    next = Some(Instant::now() + every);
                }
            }
        }
        if self.every.is_some() {
            self.checkpoint();
        }
        if let Some(l) = &self.ledger {
            self.summary.size = l.size();
        }
        Ok(self.summary)
    }

    /// One group commit: admit, write and fsync every job's submission, then answer each.
    fn commit(&mut self, jobs: Vec<Job>) {
        let Some(ledger) = self.ledger.as_mut() else {
            for job in jobs {
                let _ = job.reply.send(Answer::Failed(
                    "the ledger could not be reopened; nothing was appended".into(),
                ));
            }
            return;
        };
        let keys_before = ledger.state().keys.len();
        let (candidates, waiting): (Vec<_>, Vec<_>) = jobs
            .into_iter()
            .map(|j| {
                let signer = j.candidate.submission().content.signer;
                (j.candidate, (j.reply, signer))
            })
            .unzip();
        let answers: Vec<Answer> = match ledger.append_each(candidates) {
            Ok(admitted) => admitted
                .into_iter()
                .zip(&waiting)
                .map(|(a, (_, signer))| self.answer(a, signer))
                .collect(),
            Err(e) => {
                let reason = format!("the ledger could not be written ({e}); nothing was appended");
                waiting
                    .iter()
                    .map(|_| Answer::Failed(reason.clone()))
                    .collect()
            }
        };
        let new = answers
            .iter()
            .filter(|a| matches!(a, Answer::Added { new: true, .. }))
            .count() as u64;
        if new > 0 {
            self.summary.appended += new;
            self.summary.batches += 1;
        }
        // Answered only now: every `Added` above is durable.
        for ((reply, _), answer) in waiting.into_iter().zip(answers) {
            let _ = reply.send(answer);
        }
        self.after_batch(keys_before);
    }

    /// Keeps the handlers' view of the keys current, and reopens a ledger whose caches could
    /// not be written (it appends nothing more until reopened, which verifies again).
    fn after_batch(&mut self, keys_before: usize) {
        let Some(ledger) = self.ledger.as_mut() else {
            return;
        };
        if ledger.state().keys.len() != keys_before {
            self.shared.set_signers(ledger.signers());
        }
        let warnings = ledger.take_warnings();
        if warnings.is_empty() {
            return;
        }
        for w in warnings {
            (self.events)(Event::Warning(w));
        }
        // The lock is released between the two; another writer may append in between, which
        // the reopened ledger verifies like any other entries.
        self.ledger = None;
        let events = self.events.clone();
        match Ledger::open_with(&self.dir, Access::Write, &|lock| {
            events(Event::Warning(format!(
                "waiting for {}: another process holds it",
                lock.display()
            )));
        }) {
            Ok(l) => {
                self.shared.set_signers(l.signers());
                self.ledger = Some(l);
            }
            Err(e) => (self.events)(Event::Warning(format!(
                "the ledger could not be reopened ({e}); every submission is answered with 503 until the server is restarted"
            ))),
        }
    }

    /// The answer for one member of a batch.
    fn answer(&self, admitted: Admission, signer: &KeyId) -> Answer {
        match admitted {
            Admission::Appended(entry) => Answer::Added {
                proof: self.proof(entry.index),
                entry,
                new: true,
            },
            Admission::AlreadyIn(entry) => Answer::Added {
                proof: self.proof(entry.index),
                entry,
                new: false,
            },
            Admission::Refused(e) => self.refusal(e, signer),
        }
    }

    /// Which refusal `e` is. The store's rules decided; this only picks the status code: 403
    /// when the signer is not a key the ledger grants now (unknown or revoked).
    fn refusal(&self, e: StoreError, signer: &KeyId) -> Answer {
        let granted = self.ledger.as_ref().is_some_and(|l| {
            l.state()
                .key(signer)
                .is_some_and(|k| k.revoked_at.is_none())
        });
        let why = match &e {
            StoreError::Duplicate(i) => {
                return Answer::Refused {
                    why: Refused::Conflict,
                    reason: format!(
                        "the same signed content is already entry {i}, under another signature"
                    ),
                }
            }
            StoreError::Rejected(_) if !granted => Refused::Forbidden,
            StoreError::Rejected(_) | StoreError::Codec(_) => Refused::Unprocessable,
            _ => {
                return Answer::Failed(format!(
                    "the ledger could not be read ({e}); nothing was appended"
                ))
            }
        };
        Answer::Refused {
            why,
            reason: e.to_string(),
        }
    }

    /// An inclusion proof of entry `index` in the latest checkpoint, if that covers it.
    fn proof(&self, index: u64) -> Option<String> {
        let cp = self.latest.as_ref().filter(|cp| cp.size() > index)?;
        let ledger = self.ledger.as_ref()?;
        let path = ledger.prove_inclusion(index, cp.size()).ok()?;
        Some(format_tlog_proof(index, &path, cp.note()))
    }

    /// Signs and records a checkpoint of the whole log, if it grew since the last one.
    fn checkpoint(&mut self) {
        let (Some(key), Some(ledger)) = (&self.key, &self.ledger) else {
            return;
        };
        if self.latest.as_ref().map_or(0, SignedCheckpoint::size) >= ledger.size() {
            return;
        }
        match ledger.sign_checkpoint(key) {
            Ok((cp, path)) => {
                self.shared.set_checkpoint(cp.note());
                (self.events)(Event::Checkpoint {
                    size: cp.size(),
                    path,
                });
                self.latest = Some(cp);
                self.publish_latest();
            }
            Err(e) => (self.events)(Event::Warning(format!(
                "the checkpoint could not be signed or recorded ({e}); trying again at the next tick"
            ))),
        }
    }

    /// Publishes the latest checkpoint into the `--publish` directory, if there is one. This
    /// runs on the sequencer's thread (publishing reads the ledger it owns), between batches:
    /// only the tiles the new entries changed are written, with their fsyncs batched.
    fn publish_latest(&self) {
        let (Some(dir), Some(ledger), Some(cp)) = (&self.publish, &self.ledger, &self.latest)
        else {
            return;
        };
        match custody_store::publish::publish_checkpoint(ledger, cp, dir) {
            Ok(p) => (self.events)(Event::Published {
                size: p.size,
                written: p.written.len() as u64,
            }),
            Err(e) => (self.events)(Event::Warning(format!(
                "the checkpoint of tree size {} could not be published into {} ({e}); trying again after the next checkpoint",
                cp.size(),
                dir.display()
            ))),
        }
    }
}
