//! The witness as a service: custody-core's decision, serialised per log, with the state
//! committed durably (and in groups) before any cosignature is released.
//!
//! One request goes: [`witness::check`] (parse, verify the log's signatures; no lock), then
//! under that log's lock: read its durable state, [`witness::decide`] at the clock's time,
//! sign, hand the new record to the committer and wait until it is on disk, release the
//! lock, answer. The committer is one thread that takes every update waiting for it and
//! stores them in one [`StateDir::commit`] (one write, two fsyncs), so the fsync cost is
//! shared by every log that asked in the meantime (group commit).
//!
//! Safety rests on three facts: (1) a log's lock is held from reading its state to the end
//! of the commit, so no two requests for one log ever decide on the same state; (2) the
//! in-memory view changes only after a commit returned, so decisions use durable state;
//! (3) the line is returned only after the commit, so whatever a crash leaves on disk covers
//! every cosignature that left the process. After a failed commit the witness refuses
//! everything (503) until restarted: the kernel's view of a file after a failed fsync is
//! unknown, and a restart reads what is really there.

use crate::state::{Fork, Record, StateDir, StateError};
use custody_core::cosignature::CosignatureVerifier;
use custody_core::hash::Digest;
use custody_core::sign::KeySigner;
use custody_core::witness::{self, Logs, Refusal, Status};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::{mpsc, oneshot};

/// Seconds since the Unix epoch, as the witness signs them.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;
/// Where the witness reports what it did (the binary prints; libraries never do).
pub type Events = Arc<dyn Fn(&Event<'_>) + Send + Sync>;
/// A signer the witness can share between threads.
pub type Signer = Arc<dyn KeySigner + Send + Sync>;

/// The most updates stored in one commit.
const MAX_BATCH: usize = 4096;

/// This machine's clock in whole seconds (0 if it reads before 1970: the decision refuses 0).
#[must_use]
pub fn system_clock() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Something the witness did, for the operator's log.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A checkpoint was cosigned (and its state is durable).
    Cosigned {
        /// The log.
        origin: &'a str,
        /// The size it moved from.
        old: u64,
        /// The size cosigned.
        size: u64,
        /// The cosignature's time.
        time: u64,
    },
    /// A request was refused.
    Refused {
        /// The log, when the request named a configured one.
        origin: Option<&'a str>,
        /// Why.
        refusal: &'a Refusal,
    },
    /// A refused checkpoint, signed by its log, contradicts the stored one: fork evidence
    /// (`docs/FORKS.md`) was written, was already kept, or found its directory full.
    ForkEvidence {
        /// The log.
        origin: &'a str,
        /// What was done, and the file or directory.
        fork: &'a Fork,
    },
    /// A 422 of a log-signed checkpoint that yields no fork evidence (why), or evidence
    /// that could not be written (the error).
    NoForkEvidence {
        /// The log.
        origin: &'a str,
        /// Why.
        reason: &'a str,
    },
    /// A commit failed: the witness now refuses everything until restarted.
    StorageFailed {
        /// The error.
        error: &'a str,
    },
}

/// A successful add-checkpoint: the response body and what it cosigned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosignature {
    /// The cosignature line(s), each ending in a newline: the 200 response body.
    pub lines: String,
    /// The log.
    pub origin: String,
    /// The size the log moved from.
    pub old: u64,
    /// The size cosigned.
    pub size: u64,
    /// The root cosigned.
    pub root: Digest,
    /// The cosignature's time.
    pub time: u64,
}

enum Msg {
    Update {
        origin: String,
        record: Record,
        done: oneshot::Sender<Result<(), String>>,
    },
    Fork {
        origin: String,
        evidence: Vec<u8>,
        done: oneshot::Sender<Result<Fork, String>>,
    },
    Stop,
}

/// Per origin, the durable record; and per SHA-256 of an origin, the origin (for GET).
#[derive(Default)]
struct View {
    records: HashMap<String, Arc<Record>>,
    by_hash: HashMap<[u8; 32], String>,
}

impl View {
    fn insert(&mut self, origin: String, record: Record) {
        if !self.records.contains_key(&origin) {
            self.by_hash
                .insert(Digest::of(origin.as_bytes()).0, origin.clone());
        }
        self.records.insert(origin, Arc::new(record));
    }
}

/// Counters, for the operator and the benchmark.
#[derive(Debug, Default)]
struct Counters {
    cosigned: AtomicU64,
    commits: AtomicU64,
}

/// A running witness: its configuration, its durable view and the committer thread.
pub struct Witness {
    name: String,
    verifier: CosignatureVerifier,
    logs: Logs,
    signer: Signer,
    clock: Clock,
    events: Events,
    locks: HashMap<String, tokio::sync::Mutex<()>>,
    view: Arc<RwLock<View>>,
    commits: mpsc::Sender<Msg>,
    failed: Arc<AtomicBool>,
    counters: Arc<Counters>,
    committer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Witness({}, {} logs)",
            self.verifier.to_vkey(),
            self.logs.len()
        )
    }
}

impl Witness {
    /// Starts a witness on the opened `state` for `logs`, signing with `signer`, whose
    /// public key must be the state's. Spawns the committer thread.
    ///
    /// # Errors
    /// [`StateError::Mismatch`] when `signer` is not the key the state was made for.
    pub fn start(
        state: StateDir,
        logs: Logs,
        signer: Signer,
        clock: Clock,
        events: Events,
    ) -> Result<Witness, StateError> {
        let stored = state.state().witness.clone();
        if *stored.verifying_key() != signer.verifying_key() {
            let given = CosignatureVerifier::new(stored.name(), signer.verifying_key())
                .map_or_else(|e| e.to_string(), |v| v.to_vkey());
            return Err(StateError::Mismatch {
                path: state.path().join("state").display().to_string(),
                stored: stored.to_vkey(),
                given,
            });
        }
        let mut view = View::default();
        for (origin, record) in &state.state().logs {
            view.insert(origin.clone(), record.clone());
        }
        let view = Arc::new(RwLock::new(view));
        let locks = logs
            .origins()
            .map(|o| (o.to_owned(), tokio::sync::Mutex::new(())))
            .collect();
        let (tx, rx) = mpsc::channel(MAX_BATCH);
        let failed = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(Counters::default());
        let committer = {
            let (view, failed, counters, events) = (
                view.clone(),
                failed.clone(),
                counters.clone(),
                events.clone(),
            );
            std::thread::Builder::new()
                .name("witness-commit".into())
                .spawn(move || commit_loop(state, rx, &view, &failed, &counters, &events))
                .map_err(|e| StateError::Io {
                    path: "the committer thread".into(),
                    source: e,
                })?
        };
        Ok(Witness {
            name: stored.name().to_owned(),
            verifier: stored,
            logs,
            signer,
            clock,
            events,
            locks,
            view,
            commits: tx,
            failed,
            counters,
            committer: Mutex::new(Some(committer)),
        })
    }

    /// The witness's vkey (type 0x04), as it publishes it.
    #[must_use]
    pub fn vkey(&self) -> String {
        self.verifier.to_vkey()
    }

    /// The witness's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The configured logs.
    #[must_use]
    pub fn logs(&self) -> &Logs {
        &self.logs
    }

    /// Checkpoints cosigned and commits made since start.
    #[must_use]
    pub fn counts(&self) -> (u64, u64) {
        (
            self.counters.cosigned.load(Ordering::Relaxed),
            self.counters.commits.load(Ordering::Relaxed),
        )
    }

    /// Handles one add-checkpoint request body (`docs/WITNESS.md`, steps 1 to 11).
    ///
    /// # Errors
    /// The [`Refusal`] to answer with; 503 when storage failed or the witness is stopping.
    pub async fn add_checkpoint(&self, body: &[u8]) -> Result<Cosignature, Refusal> {
        let mut origin = None;
        let r = self.add(body, &mut origin).await;
        match &r {
            Ok(c) => (self.events)(&Event::Cosigned {
                origin: &c.origin,
                old: c.old,
                size: c.size,
                time: c.time,
            }),
            Err(refusal) => (self.events)(&Event::Refused {
                origin: origin.as_deref(),
                refusal,
            }),
        }
        r
    }

    async fn add(
        &self,
        body: &[u8],
        origin_out: &mut Option<String>,
    ) -> Result<Cosignature, Refusal> {
        // 1-5: no state needed, so no lock while the log's signatures are verified.
        let checked = witness::check(&self.logs, body)?;
        let origin = checked.origin().to_owned();
        *origin_out = Some(origin.clone());
        let lock = self
            .locks
            .get(&origin)
            .ok_or_else(|| Refusal::unavailable("the log's lock is missing"))?;
        // 6-9 under the log's lock, held until its new state is durable (10).
        let _guard = lock.lock().await;
        if self.failed.load(Ordering::SeqCst) {
            return Err(Refusal::unavailable(
                "the witness's storage failed; it cosigns nothing until it is restarted",
            ));
        }
        let last = self
            .view
            .read()
            .map_err(|_| Refusal::unavailable("the state view is poisoned"))?
            .records
            .get(&origin)
            .map(|r| r.cosigned);
        // Kept for fork evidence should the decision refuse (one copy of a bounded request).
        let kept = checked.clone();
        let accepted = match witness::decide(checked, last.as_ref(), (self.clock)()) {
            Ok(a) => a,
            Err(refusal) => {
                if matches!(refusal.status, Status::Unprocessable | Status::Conflict) {
                    self.fork_evidence(&kept, refusal.status).await;
                }
                return Err(refusal);
            }
        };
        let line = accepted
            .cosign(&self.name, &*self.signer)
            .map_err(|e| Refusal::unavailable(format!("signing failed: {e}")))?;
        let note = accepted.stored_note(&line)?;
        let next = accepted.next();
        // 10. Durable before anything leaves.
        let (done, wait) = oneshot::channel();
        let stopping = || Refusal::unavailable("the witness is stopping");
        self.commits
            .send(Msg::Update {
                origin: origin.clone(),
                record: Record {
                    cosigned: next,
                    note,
                },
                done,
            })
            .await
            .map_err(|_| stopping())?;
        wait.await
            .map_err(|_| stopping())?
            .map_err(|e| Refusal::unavailable(format!("storing the new state failed: {e}")))?;
        // 11. Release.
        Ok(Cosignature {
            lines: line,
            origin,
            old: accepted.old(),
            size: next.size,
            root: next.root,
            time: next.time,
        })
    }

    /// Writes fork evidence when the refused `checked` (its log signature verified)
    /// contradicts this log's stored note; called under the log's lock, before the answer,
    /// so the file exists when the log hears the refusal. Reports what it did; never
    /// changes the answer. A 409 that proves nothing is the ordinary retry and is not reported.
    async fn fork_evidence(&self, checked: &witness::Checked, status: Status) {
        let origin = checked.origin();
        let stored = self
            .view
            .read()
            .ok()
            .and_then(|v| v.records.get(origin).cloned());
        let evidence = match witness::fork_evidence(
            &self.logs,
            checked,
            stored.as_ref().map(|r| r.note.as_str()),
        ) {
            Ok(e) => e,
            Err(why) => {
                if status == Status::Unprocessable {
                    (self.events)(&Event::NoForkEvidence {
                        origin,
                        reason: &why.to_string(),
                    });
                }
                return;
            }
        };
        let (done, wait) = oneshot::channel();
        let sent = self
            .commits
            .send(Msg::Fork {
                origin: origin.to_owned(),
                evidence,
                done,
            })
            .await;
        let result = match sent {
            Ok(()) => wait
                .await
                .unwrap_or_else(|_| Err("the witness is stopping".into())),
            Err(_) => Err("the witness is stopping".into()),
        };
        match result {
            Ok(fork) => (self.events)(&Event::ForkEvidence {
                origin,
                fork: &fork,
            }),
            Err(e) => (self.events)(&Event::NoForkEvidence {
                origin,
                reason: &format!("fork evidence could not be written: {e}"),
            }),
        }
    }

    /// The latest cosigned checkpoint of the log whose origin hashes (SHA-256) to
    /// `origin_hash`, with the log's signatures and this witness's cosignature: the
    /// monitoring endpoint's body. Only durable state is served.
    #[must_use]
    pub fn latest_checkpoint(&self, origin_hash: &[u8; 32]) -> Option<String> {
        let view = self.view.read().ok()?;
        let origin = view.by_hash.get(origin_hash)?;
        view.records.get(origin).map(|r| r.note.clone())
    }

    /// The durable record of `origin`.
    #[must_use]
    pub fn record(&self, origin: &str) -> Option<Record> {
        let view = self.view.read().ok()?;
        view.records.get(origin).map(|r| (**r).clone())
    }

    /// Stops the committer after the updates already queued, and waits for it. Requests
    /// after this get 503.
    pub fn close(&self) {
        let handle = self.committer.lock().ok().and_then(|mut h| h.take());
        if let Some(h) = handle {
            // A full channel waits for the committer to take some; it always does.
            let _ = self.commits.blocking_send(Msg::Stop);
            let _ = h.join();
        }
    }

    /// [`Witness::close`] from async code.
    pub async fn close_async(self: &Arc<Self>) {
        let w = self.clone();
        let _ = tokio::task::spawn_blocking(move || w.close()).await;
    }
}

fn commit_loop(
    mut state: StateDir,
    mut rx: mpsc::Receiver<Msg>,
    view: &RwLock<View>,
    failed: &AtomicBool,
    counters: &Counters,
    events: &Events,
) {
    let mut stop = false;
    while !stop {
        let Some(first) = rx.blocking_recv() else {
            return;
        };
        let mut batch = Vec::new();
        let mut msg = Some(first);
        while let Some(m) = msg.take() {
            match m {
                Msg::Update {
                    origin,
                    record,
                    done,
                } => batch.push((origin, record, done)),
                // Rare, and written at once: no cosignature waits on it.
                Msg::Fork {
                    origin,
                    evidence,
                    done,
                } => {
                    let r = state
                        .record_fork(&origin, &evidence)
                        .map_err(|e| e.to_string());
                    let _ = done.send(r);
                }
                Msg::Stop => {
                    stop = true;
                    break;
                }
            }
            if batch.len() < MAX_BATCH {
                msg = rx.try_recv().ok();
            }
        }
        if batch.is_empty() {
            continue;
        }
        if failed.load(Ordering::SeqCst) {
            for (_, _, done) in batch {
                let _ = done.send(Err("an earlier commit failed".into()));
            }
            continue;
        }
        let updates: Vec<(String, Record)> = batch
            .iter()
            .map(|(o, r, _)| (o.clone(), r.clone()))
            .collect();
        match state.commit(updates) {
            Ok(()) => {
                counters.commits.fetch_add(1, Ordering::Relaxed);
                counters
                    .cosigned
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                // The view changes before anyone hears of the commit: the next request for
                // a log can only start after its lock is released, which is after this.
                if let Ok(mut v) = view.write() {
                    for (origin, record, _) in &batch {
                        v.insert(origin.clone(), record.clone());
                    }
                }
                for (_, _, done) in batch {
                    let _ = done.send(Ok(()));
                }
            }
            Err(e) => {
                failed.store(true, Ordering::SeqCst);
                let error = e.to_string();
                events(&Event::StorageFailed { error: &error });
                for (_, _, done) in batch {
                    let _ = done.send(Err(error.clone()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_core::add_checkpoint::AddCheckpoint;
    use custody_core::checkpoint;
    use custody_core::cosignature::split_note;
    use custody_core::merkle::{self, MemoryHashes};
    use custody_core::witness::Status;
    use ed25519_dalek::SigningKey;

    const ORIGIN: &str = "log.example/a";
    const NAME: &str = "witness.example/w";

    fn log_key() -> SigningKey {
        SigningKey::from_bytes(&[21u8; 32])
    }

    fn logs() -> Logs {
        Logs::new([checkpoint::parse_vkey(
            &checkpoint::vkey(ORIGIN, &log_key().verifying_key()).unwrap(),
        )
        .unwrap()])
        .unwrap()
    }

    fn leaves(tag: &str, n: u64) -> Vec<Digest> {
        (0..n)
            .map(|i| Digest::leaf(format!("{tag} {i}").as_bytes()))
            .collect()
    }

    fn root(leaves: &[Digest], size: u64) -> Digest {
        merkle::root_of_leaves(&leaves[..size as usize])
    }

    fn request(leaves: &[Digest], old: u64, size: u64) -> Vec<u8> {
        let t = MemoryHashes::from_leaves(&leaves[..size as usize]);
        AddCheckpoint {
            old,
            proof: merkle::prove_consistency(old, size, &t).unwrap(),
            checkpoint: checkpoint::sign(ORIGIN, size, t.root(), &log_key())
                .unwrap()
                .into_bytes(),
        }
        .to_bytes()
    }

    fn start(dir: &std::path::Path, clock: Clock) -> Witness {
        let state = StateDir::open(dir).unwrap();
        Witness::start(
            state,
            logs(),
            Arc::new(SigningKey::from_bytes(&[22u8; 32])),
            clock,
            Arc::new(|_| {}),
        )
        .unwrap()
    }

    fn init(dir: &std::path::Path) {
        drop(
            StateDir::init(
                dir,
                NAME,
                SigningKey::from_bytes(&[22u8; 32]).verifying_key(),
            )
            .unwrap(),
        );
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn state_survives_a_restart_and_409_names_it() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("w");
        init(&dir);
        let a = leaves("a", 10);
        let rt = rt();
        let w = start(&dir, Arc::new(|| 1000));
        let c = rt.block_on(w.add_checkpoint(&request(&a, 0, 4))).unwrap();
        assert_eq!((c.old, c.size, c.time), (0, 4, 1000));
        rt.block_on(w.add_checkpoint(&request(&a, 4, 7))).unwrap();
        w.close();
        drop(w);
        let w = start(&dir, Arc::new(|| 1001));
        let e = rt
            .block_on(w.add_checkpoint(&request(&a, 4, 9)))
            .unwrap_err();
        assert_eq!((e.status, e.body()), (Status::Conflict, b"7\n".to_vec()));
        let note = w
            .latest_checkpoint(&Digest::of(ORIGIN.as_bytes()).0)
            .unwrap();
        assert!(note.starts_with(&format!("{ORIGIN}\n7\n")));
        assert_eq!(w.counts(), (0, 0));
        rt.block_on(w.add_checkpoint(&request(&a, 7, 9))).unwrap();
        assert_eq!(w.counts(), (1, 1));
    }

    #[test]
    fn a_larger_forked_checkpoint_with_a_valid_proof_in_its_own_tree_is_evidence() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("w");
        init(&dir);
        let a = leaves("a", 10);
        let mut b = a[..4].to_vec();
        b.extend((4..10).map(|i| Digest::leaf(format!("b {i}").as_bytes())));
        let rt = rt();
        let w = start(&dir, Arc::new(|| 1000));
        rt.block_on(w.add_checkpoint(&request(&a, 0, 6))).unwrap();
        // From 6 (not a power of two) the proof names B's root at 6: a fork, proven.
        let e = rt
            .block_on(w.add_checkpoint(&request(&b, 6, 9)))
            .unwrap_err();
        assert_eq!(e.status, Status::Unprocessable);
        let files: Vec<_> = std::fs::read_dir(dir.join("forks"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        let v = logs().keys(ORIGIN).unwrap()[0].clone();
        let f = custody_core::fork::verify(&std::fs::read(&files[0]).unwrap(), &v).unwrap();
        assert_eq!(f.verdict, custody_core::fork::Verdict::Fork);
        assert_eq!((f.a.size(), f.b.size()), (6, 9));
        assert_eq!(f.prefix_root, root(&b, 6));
        // A proof with a hash changed proves nothing: no second file.
        let mut r = AddCheckpoint::parse(&request(&b, 6, 8)).unwrap();
        r.proof[0] = Digest::leaf(b"x");
        let e = rt.block_on(w.add_checkpoint(&r.to_bytes())).unwrap_err();
        assert_eq!(e.status, Status::Unprocessable);
        assert_eq!(std::fs::read_dir(dir.join("forks")).unwrap().count(), 1);
        // The true history is still cosigned.
        rt.block_on(w.add_checkpoint(&request(&a, 6, 9))).unwrap();
        w.close();
    }

    #[test]
    fn a_wrong_key_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("w");
        init(&dir);
        let e = Witness::start(
            StateDir::open(&dir).unwrap(),
            logs(),
            Arc::new(SigningKey::from_bytes(&[23u8; 32])),
            Arc::new(system_clock),
            Arc::new(|_| {}),
        )
        .unwrap_err();
        assert!(matches!(e, StateError::Mismatch { .. }), "{e}");
    }

    #[test]
    fn racing_histories_never_get_two_inconsistent_cosignatures() {
        // Two histories that share 3 leaves and then differ, submitted by 16 tasks at once,
        // each retrying with the size a 409 names. Whatever interleaving the runtime picks,
        // every 200 must fit one history, and commits must be shared between requests.
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("w");
        init(&dir);
        let a = leaves("a", 40);
        let mut b = a[..3].to_vec();
        b.extend((3..40).map(|i| Digest::leaf(format!("b {i}").as_bytes())));
        let tick = Arc::new(AtomicU64::new(1));
        let clock: Clock = {
            let tick = tick.clone();
            Arc::new(move || 1_000 + tick.fetch_add(1, Ordering::Relaxed) / 8)
        };
        let w = Arc::new(start(&dir, clock));
        let rt = rt();
        let results = rt.block_on(async {
            let mut tasks = Vec::new();
            for task in 0..16u64 {
                let w = w.clone();
                let t = if task % 2 == 0 { a.clone() } else { b.clone() };
                tasks.push(tokio::spawn(async move {
                    let mut ok = Vec::new();
                    let mut old = 0;
                    for step in 0..30u64 {
                        let size = (old + 1 + (step + task) % 3).min(40);
                        if size <= old {
                            break;
                        }
                        match w.add_checkpoint(&request(&t, old, size)).await {
                            Ok(c) => {
                                ok.push((c.size, c.root, c.lines));
                                old = size;
                            }
                            Err(e) if e.status == Status::Conflict => {
                                old = e.known_size.unwrap();
                            }
                            Err(_) => break,
                        }
                    }
                    ok
                }));
            }
            let mut all = Vec::new();
            for t in tasks {
                all.extend(t.await.unwrap());
            }
            all
        });
        assert!(!results.is_empty());
        let v = CosignatureVerifier::new(NAME, SigningKey::from_bytes(&[22u8; 32]).verifying_key())
            .unwrap();
        for (size, root, line) in &results {
            let on_a = self::root(&a, *size) == *root;
            let on_b = self::root(&b, *size) == *root;
            assert!(on_a || on_b);
            let body = format!("{ORIGIN}\n{size}\n{}\n", base64_root(root));
            let note = split_note(format!("{body}\n{line}").as_bytes()).unwrap();
            assert_eq!(note.cosignatures(std::slice::from_ref(&v)).times.len(), 1);
            assert!(note.cosignatures(std::slice::from_ref(&v)).times[0].is_some());
        }
        // Past the shared prefix only one history was ever cosigned.
        let beyond: Vec<bool> = results
            .iter()
            .filter(|(s, _, _)| *s > 3)
            .map(|(s, r, _)| self::root(&a, *s) == *r)
            .collect();
        assert!(beyond.windows(2).all(|p| p[0] == p[1]), "{beyond:?}");
        // One log's requests are serialised: one commit each.
        assert_eq!(w.counts(), (results.len() as u64, results.len() as u64));
        w.close();
    }

    #[test]
    fn many_logs_share_each_fsync() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("w");
        init(&dir);
        let origins: Vec<String> = (0..32).map(|i| format!("log.example/{i}")).collect();
        let logs = Logs::new(origins.iter().map(|o| {
            checkpoint::parse_vkey(&checkpoint::vkey(o, &log_key().verifying_key()).unwrap())
                .unwrap()
        }))
        .unwrap();
        let w = Arc::new(
            Witness::start(
                StateDir::open(&dir).unwrap(),
                logs,
                Arc::new(SigningKey::from_bytes(&[22u8; 32])),
                Arc::new(system_clock),
                Arc::new(|_| {}),
            )
            .unwrap(),
        );
        let l = leaves("x", 6);
        rt().block_on(async {
            let mut tasks = Vec::new();
            for o in origins.clone() {
                let (w, l) = (w.clone(), l.clone());
                tasks.push(tokio::spawn(async move {
                    for size in 1..=5u64 {
                        let t = MemoryHashes::from_leaves(&l[..size as usize]);
                        let r = AddCheckpoint {
                            old: size - 1,
                            proof: merkle::prove_consistency(size - 1, size, &t).unwrap(),
                            checkpoint: checkpoint::sign(&o, size, t.root(), &log_key())
                                .unwrap()
                                .into_bytes(),
                        };
                        w.add_checkpoint(&r.to_bytes()).await.unwrap();
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
        });
        let (cosigned, commits) = w.counts();
        assert_eq!(cosigned, 32 * 5);
        assert!(commits < cosigned / 2, "{commits} commits for {cosigned}");
        w.close();
        drop(w);
        let state = StateDir::open(&dir).unwrap();
        assert_eq!(state.state().logs.len(), 32);
        assert!(state.state().logs.values().all(|r| r.cosigned.size == 5));
    }

    fn base64_root(d: &Digest) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(d.0)
    }

    /// The worked example of docs/WITNESS.md, step by step, through the service.
    #[test]
    fn witness_md_worked_example_is_what_the_witness_does() {
        const DOC: &str = include_str!("../../../docs/WITNESS.md");
        let block = |after: &str| -> String {
            let start = DOC.find(after).unwrap() + after.len();
            let rest = &DOC[start..];
            let open = rest.find("```\n").unwrap() + 4;
            let close = rest[open..].find("```\n").unwrap();
            rest[open..open + close].to_owned()
        };
        let seed = |s: &str| SigningKey::from_bytes(&hex::decode(s).unwrap().try_into().unwrap());
        let log = seed("191693101e298a5f66a12e0a92f75c840b6da54b1bc265a05eef9735215bd51f");
        let wkey = seed("d76aef9d9a8353ffddaabc1fd0c66c1a827053ec52a8a2b1d258dd640367ae24");
        let origin = "example.com/evidence-ledger-test";
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("w");
        let s = StateDir::init(&dir, "example.com/test-witness", wkey.verifying_key()).unwrap();
        assert_eq!(
            format!("{}\n", s.state().witness.to_vkey()),
            block("creates the state and prints the witness's vkey")
        );
        drop(s);
        let logs = Logs::parse(block("The logs file (`--logs`) lists").as_bytes()).unwrap();
        let now = Arc::new(std::sync::atomic::AtomicU64::new(1_679_315_087));
        let clock: Clock = {
            let now = now.clone();
            Arc::new(move || now.load(Ordering::SeqCst))
        };
        let w = Witness::start(
            StateDir::open(&dir).unwrap(),
            logs,
            Arc::new(wkey),
            clock,
            Arc::new(|_| {}),
        )
        .unwrap();
        let first = block("The request body\n(`POST /add-checkpoint`):");
        let root6 =
            Digest::from_hex("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef")
                .unwrap();
        let expect_first = AddCheckpoint {
            old: 0,
            proof: vec![],
            checkpoint: checkpoint::sign(origin, 6, root6, &log)
                .unwrap()
                .into_bytes(),
        };
        assert_eq!(first.as_bytes(), expect_first.to_bytes());
        let rt = rt();
        let c = rt.block_on(w.add_checkpoint(first.as_bytes())).unwrap();
        assert_eq!(
            c.lines,
            block("answers `200 OK` with one cosignature line:")
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("state")).unwrap(),
            block("its state file `DIR/state` became, durably:")
        );
        now.store(1_679_315_147, Ordering::SeqCst);
        let second =
            block("(the request of the\nshared vectors, `tlog_witness_add_checkpoint_request`):");
        let c = rt.block_on(w.add_checkpoint(second.as_bytes())).unwrap();
        assert_eq!(
            c.lines,
            block("answers `200 OK` with the vectors' cosignature line:")
        );
        let e = rt.block_on(w.add_checkpoint(first.as_bytes())).unwrap_err();
        assert_eq!(
            format!(
                "{} {}\nContent-Type: {}\n\n{}",
                e.status.code(),
                e.status.phrase(),
                e.content_type(),
                String::from_utf8(e.body()).unwrap()
            ),
            block("is now sent again, the witness answers")
        );
        w.close();
    }
}
