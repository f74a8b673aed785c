//! The sequencer: the one thread that owns the ledger, its file lock and its caches.
//!
//! Handlers queue [`Job`]s and wait. The sequencer takes the first job, then every job already
//! queued (up to the batch bound), and hands them to [`Ledger::stage_each`] — the rules of
//! `custody append`, each submission admitted against the log including the ones before it in
//! the batch and in batches still awaiting their fsync, one write for all. The answers go to
//! the syncer thread, which fsyncs the entries file once for every batch waiting for it and
//! only then answers each (group commit). So the admission and encoding of batch N+1 overlap
//! the fsync of batch N, and still no client hears of its submission before the fsync that
//! covers it returned. A slow client never reaches either thread (handlers queue only whole,
//! parsed bodies), so nothing a client does can hold the ledger.
//!
//! If an fsync fails, every batch not yet durable is answered as failed, the entries file is
//! cut back to the last durable entry, and the ledger is reopened (verifying what it finds).
//!
//! Between batches, when the schedule says so and the log grew, it appends a state commitment
//! and signs a checkpoint over it (as `custody checkpoint` does), once all it staged is durable;
//! the key was loaded once at start. It stops when the queue closes (the
//! server stopped and the last request is gone), after every batch in hand is durable and
//! answered; dropping the ledger releases its lock.

use crate::{Event, Events, ServerError, Summary};
use custody_core::checkpoint::{format_tlog_proof, SignedCheckpoint};
use custody_core::entry::KeyId;
use custody_core::keys::SecretKey;
use custody_store::submissions::{Candidate, Signers};
use custody_store::{Access, Admission, Appended, EntriesSync, Ledger, StoreError};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock};
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

/// A staged batch on its way to the syncer: its answers are sent once `sync` covered `end`.
struct Flight {
    sync: Arc<EntriesSync>,
    end: u64,
    new: bool,
    answers: Vec<(oneshot::Sender<Answer>, Answer)>,
}

/// What the syncer tells the sequencer.
#[derive(Default)]
struct SyncState {
    /// Flights handled (answered), to wait for all of them.
    done: u64,
    /// The largest entries-file end an fsync covered.
    durable: u64,
    /// An fsync failed: every flight since was answered as failed, until the sequencer resets it.
    failed: bool,
    /// Fsyncs that covered new entries.
    commits: u64,
}

/// The syncer's side: fsyncs, then answers, in the order batches were staged.
struct Syncer {
    state: Mutex<SyncState>,
    changed: Condvar,
}

impl Syncer {
    fn lock(&self) -> std::sync::MutexGuard<'_, SyncState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes every flight waiting, fsyncs once, answers them; until the queue closes.
    fn run(&self, queue: &Receiver<Flight>) {
        while let Ok(first) = queue.recv() {
            let mut flights = vec![first];
            while let Ok(f) = queue.try_recv() {
                flights.push(f);
            }
            let failed = self.lock().failed;
            // One fsync of a handle covers every byte written to the file before it began;
            // a reopened ledger's flights carry their own handle, so each handle is synced.
            let mut synced = if failed {
                Err("an earlier fsync of the entries file failed".to_string())
            } else {
                Ok(())
            };
            if synced.is_ok() {
                let mut last: Option<&Arc<EntriesSync>> = None;
                for f in flights.iter().rev() {
                    if last.is_some_and(|l| Arc::ptr_eq(l, &f.sync)) {
                        continue;
                    }
                    if let Err(e) = f.sync.sync() {
                        synced = Err(e.to_string());
                        break;
                    }
                    last = Some(&f.sync);
                }
            }
            let n = flights.len() as u64;
            let new = flights.iter().any(|f| f.new);
            let end = flights.iter().map(|f| f.end).max().unwrap_or(0);
            {
                let mut st = self.lock();
                match &synced {
                    Ok(()) => {
                        st.durable = st.durable.max(end);
                        st.commits += u64::from(new);
                    }
                    Err(_) => st.failed = true,
                }
            }
            // Answered only now: every `Added` below is durable (or is told it failed).
            for f in flights {
                for (reply, answer) in f.answers {
                    let answer = match (&synced, answer) {
                        (Err(e), Answer::Added { .. }) => Answer::Failed(format!(
                            "the ledger could not be made durable ({e}); nothing of this batch was appended"
                        )),
                        (_, a) => a,
                    };
                    let _ = reply.send(answer);
                }
            }
            self.lock().done += n;
            self.changed.notify_all();
        }
    }
}

/// The sequencer's end of the syncer.
struct Pipe {
    syncer: Arc<Syncer>,
    flights: Option<Sender<Flight>>,
    sent: u64,
    /// The fsync handle of the ledger open now.
    sync: Option<Arc<EntriesSync>>,
}

impl Pipe {
    fn send(&mut self, flight: Flight) {
        match &self.flights {
            Some(tx) => match tx.send(flight) {
                Ok(()) => self.sent += 1,
                Err(std::sync::mpsc::SendError(f)) => {
                    for (reply, _) in f.answers {
                        let _ = reply.send(Answer::Failed("internal: the syncer stopped".into()));
                    }
                }
            },
            None => {
                for (reply, _) in flight.answers {
                    let _ = reply.send(Answer::Failed("internal: the syncer stopped".into()));
                }
            }
        }
    }

    /// Waits until every flight sent was fsynced (or failed) and answered.
    fn drain(&self) {
        let mut st = self.syncer.lock();
        while st.done < self.sent {
            st = self
                .syncer
                .changed
                .wait(st)
                .unwrap_or_else(PoisonError::into_inner);
        }
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

    /// Sequences until the queue closes, then commits and signs a last checkpoint if the log
    /// grew.
    ///
    /// # Errors
    /// If the syncer thread cannot be started. Failures after that are answered to the jobs
    /// and told as events.
    pub fn run(mut self) -> Result<Summary, ServerError> {
        let syncer = Arc::new(Syncer {
            state: Mutex::new(SyncState::default()),
            changed: Condvar::new(),
        });
        let (flights, queue) = std::sync::mpsc::channel::<Flight>();
        let s = syncer.clone();
        let thread = std::thread::Builder::new()
            .name("custody-syncer".into())
            .spawn(move || s.run(&queue))
            .map_err(|source| ServerError::Io {
                what: "cannot start the syncer".into(),
                source,
            })?;
        let mut pipe = Pipe {
            syncer,
            flights: Some(flights),
            sent: 0,
            sync: None,
        };
        let mut next = self.every.map(|d| Instant::now() + d);
        loop {
            // While batches await their fsync, come back soon to take them into the caches.
            let poll = self
                .ledger
                .as_ref()
                .is_some_and(Ledger::undurable)
                .then(|| Instant::now() + Duration::from_millis(2));
            let wake = match (next, poll) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let first = match wake {
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
            self.absorb(&mut pipe);
            if let Some(first) = first {
                let mut jobs = vec![first];
                while jobs.len() < self.max_batch {
                    match self.queue.try_recv() {
                        Ok(job) => jobs.push(job),
                        Err(_) => break,
                    }
                }
                self.stage(jobs, &mut pipe);
            }
            if let (Some(at), Some(every)) = (next, self.every) {
                if Instant::now() >= at {
                    pipe.drain();
                    self.absorb(&mut pipe);
                    self.checkpoint();
                    next = Some(Instant::now() + every);
                }
            }
        }
        pipe.drain();
        self.absorb(&mut pipe);
        self.summary.batches = pipe.syncer.lock().commits;
        pipe.flights = None;
        let _ = thread.join();
        if self.every.is_some() {
            self.checkpoint();
        }
        if let Some(l) = &mut self.ledger {
            // The last commitment's cache warnings, which no later batch reports.
            for w in l.take_warnings() {
                (self.events)(Event::Warning(w));
            }
            if let Err(e) = l.sync_cache() {
                (self.events)(Event::Warning(format!(
                    "this machine's cache of the ledger could not be recorded ({e}); the next command verifies the ledger again"
                )));
            }
            self.summary.size = l.size();
        }
        Ok(self.summary)
    }

    /// Takes what the syncer made durable into the ledger's caches; after a failed fsync,
    /// waits for every batch in flight to be answered, cuts the entries file back and reopens
    /// the ledger.
    fn absorb(&mut self, pipe: &mut Pipe) {
        let (durable, failed) = {
            let st = pipe.syncer.lock();
            (st.durable, st.failed)
        };
        let Some(ledger) = self.ledger.as_mut() else {
            return;
        };
        ledger.mark_durable(durable);
        if failed {
            pipe.drain();
            ledger.abandon_undurable();
            pipe.syncer.lock().failed = false;
            (self.events)(Event::Warning(
                "an fsync of the entries file failed: the batches not yet durable were answered as failed and cut back; reopening the ledger".into(),
            ));
            pipe.sync = None;
            self.reopen();
            return;
        }
        self.report_warnings(pipe);
    }

    /// One batch: admit and write every job's submission, then hand the answers to the
    /// syncer, which sends them once an fsync covers the batch.
    fn stage(&mut self, jobs: Vec<Job>, pipe: &mut Pipe) {
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
        let staged = ledger.stage_each(candidates);
        let sync = match &pipe.sync {
            Some(s) => Ok(s.clone()),
            None => ledger.entries_sync().map(Arc::new),
        };
        let (answers, end, sync): (Vec<Answer>, u64, Arc<EntriesSync>) = match (staged, sync) {
            (Ok(staged), Ok(sync)) => {
                pipe.sync = Some(sync.clone());
                let end = staged.end;
                let answers = staged
                    .admissions
                    .into_iter()
                    .zip(&waiting)
                    .map(|(a, (_, signer))| self.answer(a, signer))
                    .collect();
                (answers, end, sync)
            }
            (Err(e), _) | (_, Err(e)) => {
                let reason = format!("the ledger could not be written ({e}); nothing was appended");
                for (reply, _) in waiting {
                    let _ = reply.send(Answer::Failed(reason.clone()));
                }
                self.after_batch(keys_before, pipe);
                return;
            }
        };
        let new = answers
            .iter()
            .filter(|a| matches!(a, Answer::Added { new: true, .. }))
            .count() as u64;
        self.summary.appended += new;
        let flight = Flight {
            sync,
            end,
            new: new > 0,
            answers: waiting
                .into_iter()
                .map(|(reply, _)| reply)
                .zip(answers)
                .collect(),
        };
        pipe.send(flight);
        self.after_batch(keys_before, pipe);
    }

    /// Keeps the handlers' view of the keys current.
    fn after_batch(&mut self, keys_before: usize, pipe: &mut Pipe) {
        let Some(ledger) = self.ledger.as_mut() else {
            return;
        };
        if ledger.state().keys.len() != keys_before {
            self.shared.set_signers(ledger.signers());
        }
        self.report_warnings(pipe);
    }

    /// Tells the ledger's warnings, and reopens a ledger whose caches could not be written (it
    /// appends nothing more until reopened, which verifies again).
    fn report_warnings(&mut self, pipe: &mut Pipe) {
        let Some(ledger) = self.ledger.as_mut() else {
            return;
        };
        let warnings = ledger.take_warnings();
        if warnings.is_empty() {
            return;
        }
        for w in warnings {
            (self.events)(Event::Warning(w));
        }
        // Everything staged is made durable and answered first.
        pipe.drain();
        if let Some(l) = self.ledger.as_mut() {
            let durable = pipe.syncer.lock().durable;
            l.mark_durable(durable);
        }
        pipe.sync = None;
        self.reopen();
    }

    /// Drops the ledger and opens it again (verifying whatever it has not verified).
    fn reopen(&mut self) {
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

    /// Commits the log's amendment state and signs a checkpoint of the whole log, if it grew
    /// since the last checkpoint: what `custody checkpoint` does, through the same store
    /// function, so that bundles exported against a served log's checkpoints prove their
    /// completeness (docs/PROOFS.md, "Completeness"). Called only between batches with nothing
    /// staged (the store refuses otherwise): the commitment is one more entry sequenced after
    /// every batch before it, fsynced before the checkpoint over it is signed. The commitment
    /// becomes the checkpoint's last entry, so an idle log is caught by the size check below
    /// and grows by nothing; after a commitment whose checkpoint failed, the store signs
    /// without a second one.
    fn checkpoint(&mut self) {
        let (Some(key), Some(ledger)) = (&self.key, &mut self.ledger) else {
            return;
        };
        if self.latest.as_ref().map_or(0, SignedCheckpoint::size) >= ledger.size() {
            return;
        }
        let before = ledger.state().commitments.len();
        let signed = ledger.commit_and_checkpoint(key);
        // Told from the state, not the result: a commitment whose checkpoint then failed is
        // appended (and durable) all the same.
        if ledger.state().commitments.len() > before {
            if let Some(&index) = ledger.state().commitments.last() {
                self.summary.commitments += 1;
                (self.events)(Event::Committed { index });
            }
        }
        match signed {
            Ok((cp, path, _)) => {
                self.shared.set_checkpoint(cp.note());
                (self.events)(Event::Checkpoint {
                    size: cp.size(),
                    path,
                });
                self.latest = Some(cp);
                self.publish_latest();
            }
            Err(e) => (self.events)(Event::Warning(format!(
                "the state commitment or the checkpoint could not be written ({e}); trying again at the next tick"
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
