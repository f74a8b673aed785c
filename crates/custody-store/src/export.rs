//! Export of a proof bundle from a ledger directory: the subject's closure read from the
//! entries, each with its inclusion proof to the latest checkpoint that holds (or a new one
//! signed with the operator's key), assembled by core's [`bundle::build`] and checked by
//! [`bundle::verify`] before it is handed out. Time-stamp tokens stored beside the checkpoint
//! are carried in the bundle's `timestamps` member.

use crate::checkpoints::checkpoint_file;
use crate::error::StoreError;
use crate::ledger::Ledger;
use crate::timestamps::tokens_for;
use custody_core::bundle::{self, ProvenEntry, Subject, SubjectKind};
use custody_core::completeness::StateTree;
use custody_core::policy::Policy;
use custody_core::sign::KeySigner;
use std::path::PathBuf;

/// A bundle ready to be written.
#[derive(Debug)]
pub struct Exported {
    /// The canonical bundle bytes (already verified).
    pub bytes: Vec<u8>,
    /// Entries in the bundle.
    pub entries: usize,
    /// The checkpoint's tree size.
    pub checkpoint_size: u64,
    /// Amendments or revocations recorded after the checkpoint, which the bundle cannot hold.
    pub missed: Vec<u64>,
    /// The log's vkey, for the `check` command line.
    pub vkey: String,
    /// The checkpoint this export signed and recorded, if it signed one.
    pub signed: Option<(u64, PathBuf)>,
    /// Time-stamp tokens stored beside the checkpoint, carried in the bundle.
    pub timestamps: usize,
    /// The state commitment the bundle's completeness proof is against, and whether it is the
    /// last entry the checkpoint covers (the bundle is then complete to its checkpoint);
    /// `None` if no commitment precedes the checkpoint.
    pub completeness: Option<(u64, bool)>,
}

impl Ledger {
    /// Exports a bundle about `subject`. With `key` (the operator's), a new checkpoint of the
    /// whole log is signed first when the latest recorded one lags. The bundle proves its
    /// amendments complete against the latest state commitment below the checkpoint; to make
    /// it complete to a fresh checkpoint, call [`Ledger::commit_and_checkpoint`] first (as
    /// `custody export --key` does), since signing here appends no commitment.
    ///
    /// # Errors
    /// If the subject does not exist or is the wrong kind, no checkpoint covers it, or reading
    /// fails.
    pub fn export(
        &self,
        subject: Subject,
        key: Option<&dyn KeySigner>,
    ) -> Result<Exported, StoreError> {
        self.export_with(subject, key, None)
    }

    /// [`Ledger::export`], and with `policy`: the checkpoint is the recorded one of the
    /// largest size that covers the subject and is witnessed under `policy` (its log signature
    /// and its quorum, docs/POLICY.md), and the bundle carries the policy's text. No new
    /// checkpoint is signed then (it would carry no cosignatures).
    ///
    /// # Errors
    /// As [`Ledger::export`]; with a policy, also if it does not list this ledger's log key or
    /// no recorded checkpoint covering the subject is witnessed under it.
    pub fn export_with(
        &self,
        subject: Subject,
        key: Option<&dyn KeySigner>,
        policy: Option<&Policy>,
    ) -> Result<Exported, StoreError> {
        let index = subject.index;
        if index >= self.size() {
            return Err(StoreError::Usage(format!(
                "entry {index} does not exist: the ledger holds entries 0 to {}",
                self.size().saturating_sub(1)
            )));
        }
        let subject_entry = self.entry(index)?;
        if subject.kind == SubjectKind::Figure && !subject_entry.content.body.is_figure() {
            return Err(StoreError::Usage(format!(
                "entry {index} is a {}, not a figure; use --entry {index}",
                subject_entry.content.body.kind()
            )));
        }
        let verifier = self.operator_verifier()?;
        let mut signed = None;
        if let Some(p) = policy {
            return self.export_witnessed(subject, &verifier, p);
        }
        let mut cp = self.latest_checkpoint(&verifier)?;
        if let Some(key) = key {
            if cp.as_ref().is_none_or(|c| c.size() < self.size()) {
                let (new, path) = self.sign_checkpoint(key)?;
                signed = Some((new.size(), path));
                cp = Some(new);
            }
        }
        let Some(cp) = cp.filter(|c| c.size() > index) else {
            return Err(StoreError::Usage(format!(
                "no recorded checkpoint covers entry {index}; run `custody checkpoint {} --key OPERATOR.key` (or pass --key OPERATOR.key to export)",
                self.dir().display()
            )));
        };
        let mut out = self.bundle_at(subject, &verifier, &cp, None)?;
        out.signed = signed;
        Ok(out)
    }

    /// Export under a policy: the largest witnessed recorded checkpoint covering the subject.
    fn export_witnessed(
        &self,
        subject: Subject,
        verifier: &custody_core::checkpoint::StrictVerifier,
        policy: &Policy,
    ) -> Result<Exported, StoreError> {
        let index = subject.index;
        if !policy.lists_log(verifier) {
            return Err(StoreError::Usage(format!(
                "the policy lists no log key {} (this ledger's origin and operator key)",
                verifier.to_vkey()
            )));
        }
        let mut best: Option<custody_core::checkpoint::SignedCheckpoint> = None;
        let mut why = String::from("no recorded checkpoint covers it");
        for (path, cp) in self.recorded_checkpoints(verifier)? {
            if cp.size() <= index {
                continue;
            }
            match policy.check(cp.note().as_bytes()) {
                Ok(_) if best.as_ref().is_none_or(|b| cp.size() > b.size()) => best = Some(cp),
                Ok(_) => {}
                Err(e) => why = format!("{} is not witnessed: {e}", path.display()),
            }
        }
        let Some(cp) = best else {
            return Err(StoreError::Usage(format!(
                "no recorded checkpoint covering entry {index} is witnessed under the policy ({why}); run `custody checkpoint {} --key OPERATOR.key --policy POLICY`",
                self.dir().display()
            )));
        };
        self.bundle_at(subject, verifier, &cp, Some(policy.text()))
    }

    /// The bundle of `subject` against checkpoint `cp`, verified before it is returned.
    fn bundle_at(
        &self,
        subject: Subject,
        verifier: &custody_core::checkpoint::StrictVerifier,
        cp: &custody_core::checkpoint::SignedCheckpoint,
        policy: Option<&str>,
    ) -> Result<Exported, StoreError> {
        let index = subject.index;
        let state = self.state();
        let mut need = bundle::closure(index, cp.size(), state, self)?;
        // The latest state commitment the checkpoint covers: every entry of the bundle below
        // it gets its amendment set opened against it.
        let commitment = state
            .commitments
            .iter()
            .rev()
            .copied()
            .find(|&c| c < cp.size());
        let opened = match commitment {
            Some(c) => {
                let covered: std::collections::BTreeSet<u64> =
                    need.iter().copied().filter(|&e| e < c).collect();
                need.insert(c);
                let tree = StateTree::of(state, c);
                Some((c, tree.open(&covered)?))
            }
            None => None,
        };
        let later = bundle::closure(index, self.size(), state, self)?;
        let missed = later.difference(&need).copied().collect();
        let mut entries = Vec::with_capacity(need.len());
        for &i in &need {
            entries.push(ProvenEntry {
                index: i,
                bytes: self.entry_bytes(i)?,
                proof: self.prove_inclusion(i, cp.size())?,
            });
        }
        let vkey = verifier.to_vkey();
        let count = entries.len();
        let bytes = bundle::build_with(
            &state.origin,
            &vkey,
            cp.note(),
            subject,
            entries,
            opened,
            policy,
        )
        .map_err(|e| StoreError::Usage(e.to_string()))?;
        // The tokens stored beside the checkpoint travel with it (checked by `check --tsa-cert`).
        let cp_file = checkpoint_file(self.dir(), cp.size(), &cp.root());
        let tokens: Vec<Vec<u8>> = tokens_for(self.dir(), &cp_file)?
            .into_iter()
            .map(|t| t.bytes)
            .take(bundle::MAX_BUNDLE_TIMESTAMPS)
            .collect();
        let timestamps = tokens.len();
        let bytes = bundle::attach_timestamps(&bytes, &tokens)
            .map_err(|e| StoreError::Usage(e.to_string()))?;
        // Never hand out a bundle that would not check.
        bundle::verify(&bytes, verifier, None).map_err(|e| {
            StoreError::Usage(format!(
                "internal: the exported bundle does not verify ({e}); run `custody verify`"
            ))
        })?;
        Ok(Exported {
            bytes,
            entries: count,
            checkpoint_size: cp.size(),
            missed,
            vkey,
            signed: None,
            timestamps,
            completeness: commitment.map(|c| (c, c + 1 == cp.size())),
        })
    }
}
