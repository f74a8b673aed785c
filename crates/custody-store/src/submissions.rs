//! Submissions from outside, before the one writer sequences them: their signatures checked on
//! many cores first ([`Signers::precheck`]), so that a server's single sequencer does not spend
//! its time on Ed25519 while it holds the ledger.
//!
//! Nothing here decides whether a submission is admitted: [`crate::Ledger::append_each`] does,
//! with the rules of `append`. A precheck only spares the sequencer a second verification of
//! the same signature under the same key; the key's bytes are compared when the submission is
//! admitted, so a stale [`Signers`] (a key granted or revoked since) can make the sequencer
//! check a signature itself, never skip a check it needs.

use crate::error::StoreError;
use custody_core::entry::{KeyId, Submission};
use custody_core::replay::{check_signature_under, signing_key};
use custody_core::rules::LogState;
use ed25519_dalek::VerifyingKey;
use std::collections::HashMap;

/// A submission on its way to [`crate::Ledger::append_each`], with the public key its signature
/// was verified under, if it was ([`Signers::precheck`]; the field is private, so no other code
/// can claim a check).
#[derive(Clone, Debug)]
pub struct Candidate {
    pub(crate) sub: Submission,
    pub(crate) checked_under: Option<[u8; 32]>,
}

impl Candidate {
    /// A submission whose signature the sequencer checks itself.
    #[must_use]
    pub fn unchecked(sub: Submission) -> Candidate {
        Candidate {
            sub,
            checked_under: None,
        }
    }

    /// The submission.
    #[must_use]
    pub fn submission(&self) -> &Submission {
        &self.sub
    }

    /// Whether [`Signers::precheck`] verified its signature.
    #[must_use]
    pub fn is_prechecked(&self) -> bool {
        self.checked_under.is_some()
    }
}

/// The keys of a log that may sign (every key it granted, as valid signing keys), to check
/// submission signatures outside the writer. A snapshot: take a new one when the log's keys
/// change ([`Signers::key_count`]).
#[derive(Clone, Debug, Default)]
pub struct Signers {
    keys: HashMap<KeyId, ([u8; 32], VerifyingKey)>,
    count: usize,
}

impl Signers {
    /// The signing keys of the log `state` describes. A key that is not a valid signing key
    /// (which admission never grants) is left out: its submissions are checked by the writer.
    #[must_use]
    pub fn of(state: &LogState) -> Signers {
        let keys = state
            .keys
            .iter()
            .filter_map(|k| Some((k.id(), (k.public, signing_key(&k.public).ok()?))))
            .collect();
        Signers {
            keys,
            count: state.keys.len(),
        }
    }

    /// How many keys the log had when this snapshot was taken.
    #[must_use]
    pub fn key_count(&self) -> usize {
        self.count
    }

    /// Verifies `sub`'s signature (strict Ed25519, [`check_signature_under`]) under the key the
    /// log names for its signer, if this snapshot knows that key; a signer it does not know is
    /// left to the writer, which refuses it or checks it.
    ///
    /// # Errors
    /// [`StoreError::Rejected`] if the signature does not verify under the signer's key: the
    /// writer would refuse it for the same reason.
    pub fn precheck(&self, sub: Submission) -> Result<Candidate, StoreError> {
        let Some((public, key)) = self.keys.get(&sub.content.signer) else {
            return Ok(Candidate::unchecked(sub));
        };
        check_signature_under(key, &sub.content, &sub.signature.0)
            .map_err(|e| StoreError::Rejected(e.to_string()))?;
        Ok(Candidate {
            checked_under: Some(*public),
            sub,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Access, Admission, Ledger};
    use custody_core::entry::{Body, Content, Qualifier, Role, SourceKind};
    use custody_core::hash::Digest;
    use custody_core::keys::SecretKey;

    const ORIGIN: &str = "example.org/batch";

    fn op() -> SecretKey {
        SecretKey::from_seed("operator", &[1u8; 32])
    }
    fn re() -> SecretKey {
        SecretKey::from_seed("researcher", &[2u8; 32])
    }

    fn signed(key: &SecretKey, t: i64, body: Body) -> Submission {
        Content {
            origin: ORIGIN.into(),
            signer: key.id(),
            claimed_time: t,
            body,
        }
        .sign(key.signing_key())
        .unwrap()
    }

    fn claim(n: u64, cites: u64) -> Body {
        Body::Claim {
            statement: format!("{n} returned"),
            count: Some(n),
            unit: "people".into(),
            category: "forced-repatriation".into(),
            period: "2024-05".into(),
            place: "Dandong".into(),
            cites: vec![cites],
        }
    }

    /// A ledger of genesis, the researcher's grant and one source (entry 2), in `dir`. Caches
    /// go to one folder for the test run (set once: the tests run on threads), never the
    /// user's; each ledger's path names its own cache in it.
    fn ledger(dir: &std::path::Path) -> Ledger {
        static CACHE: std::sync::Once = std::sync::Once::new();
        CACHE.call_once(|| {
            std::env::set_var(
                "CUSTODY_CACHE_DIR",
                std::env::temp_dir().join("custody-test-cache"),
            );
        });
        let (op, re) = (op(), re());
        let mut l = Ledger::create(
            &dir.join("L"),
            signed(
                &op,
                0,
                Body::Genesis {
                    operator: op.public().bytes(),
                    name: "operator".into(),
                },
            ),
        )
        .unwrap();
        l.append(signed(
            &op,
            1,
            Body::KeyGrant {
                key: re.public().bytes(),
                name: "researcher".into(),
                role: Role::Researcher,
            },
        ))
        .unwrap();
        l.append(signed(
            &re,
            2,
            Body::Source {
                sha256: Digest::of(b"doc"),
                size: 3,
                title: "A report".into(),
                publisher: "An NGO".into(),
                date: "2025-01-01".into(),
                kind: SourceKind::Other,
                locator: None,
            },
        ))
        .unwrap();
        l
    }

    fn kinds(out: &[Admission]) -> Vec<String> {
        out.iter()
            .map(|a| match a {
                Admission::Appended(a) => format!("appended {}", a.index),
                Admission::AlreadyIn(a) => format!("already {}", a.index),
                Admission::Refused(e) => format!("refused: {e}"),
            })
            .collect()
    }

    #[test]
    fn each_member_is_admitted_against_the_ones_before_it_and_a_bad_one_refuses_only_itself() {
        let tmp = tempfile::tempdir().unwrap();
        let mut l = ledger(tmp.path());
        let re = re();
        let a = signed(&re, 10, claim(7, 2));
        let bad = signed(&re, 11, claim(8, 99));
        // A figure summing `a`, which is only in this batch.
        let figure = signed(
            &re,
            12,
            Body::Figure {
                label: "returned".into(),
                value: 7,
                qualifier: Qualifier::Exactly,
                unit: "people".into(),
                terms: vec![3],
            },
        );
        let batch = vec![
            a.clone(),
            bad,
            figure.clone(),
            a.clone(),      // a retry within the batch
            figure.clone(), // and another
        ];
        let out = l
            .append_each(batch.into_iter().map(Candidate::unchecked).collect())
            .unwrap();
        let k = kinds(&out);
        assert_eq!(k[0], "appended 3");
        assert!(
            k[1].starts_with("refused: ") && k[1].contains("99"),
            "{k:?}"
        );
        assert_eq!(k[2..], ["appended 4", "already 3", "already 4"]);
        assert_eq!(l.size(), 5);
        // The answers carry what a submitter needs to recompute the leaf hash.
        let Admission::Appended(first) = &out[0] else {
            unreachable!()
        };
        let Admission::AlreadyIn(again) = &out[3] else {
            unreachable!()
        };
        assert_eq!(first, again);
        let leaf = Digest::leaf(&a.clone().into_entry(3, first.prev).to_bytes().unwrap());
        assert_eq!(first.leaf, leaf);
        assert_eq!(first.prev, l.leaf(2).unwrap());
        drop(l);
        // Durable, and whole: a fresh open agrees, and a later batch recognises the retries.
        let mut l = Ledger::open(&tmp.path().join("L"), Access::Write).unwrap();
        assert_eq!(l.size(), 5);
        let before = std::fs::metadata(l.entries_path()).unwrap().len();
        let out = l
            .append_each(vec![Candidate::unchecked(a), Candidate::unchecked(figure)])
            .unwrap();
        assert_eq!(kinds(&out), ["already 3", "already 4"]);
        assert_eq!(std::fs::metadata(l.entries_path()).unwrap().len(), before);
        assert!(crate::replay::verify_ledger(
            &tmp.path().join("L"),
            &crate::replay::Options::default(),
            &|_| {}
        )
        .is_ok());
    }

    #[test]
    fn a_batch_of_refusals_writes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let mut l = ledger(tmp.path());
        let before = std::fs::metadata(l.entries_path()).unwrap().len();
        let stranger = SecretKey::from_seed("stranger", &[9u8; 32]);
        let out = l
            .append_each(vec![
                Candidate::unchecked(signed(&stranger, 10, claim(1, 2))),
                Candidate::unchecked(signed(&re(), 11, claim(1, 0))),
            ])
            .unwrap();
        let k = kinds(&out);
        assert!(k[0].contains("never granted"), "{k:?}");
        assert!(k[1].starts_with("refused: "), "{k:?}");
        assert_eq!(l.size(), 3);
        assert_eq!(std::fs::metadata(l.entries_path()).unwrap().len(), before);
    }

    #[test]
    fn a_precheck_verifies_under_the_granted_key_and_the_writer_trusts_only_that_key() {
        let tmp = tempfile::tempdir().unwrap();
        let mut l = ledger(tmp.path());
        let signers = l.signers();
        assert_eq!(signers.key_count(), 2);
        let good = signed(&re(), 10, claim(3, 2));
        assert!(signers.precheck(good.clone()).unwrap().is_prechecked());
        // A signature over other content: refused before the writer sees it.
        let mut forged = good.clone();
        forged.content.claimed_time += 1;
        let e = signers.precheck(forged.clone()).unwrap_err();
        assert!(e.to_string().contains("signature does not verify"), "{e}");
        // A signer the snapshot does not know is left to the writer, which refuses it.
        let stranger = SecretKey::from_seed("stranger", &[9u8; 32]);
        let unknown = signers
            .precheck(signed(&stranger, 10, claim(1, 2)))
            .unwrap();
        assert!(!unknown.is_prechecked());
        // A candidate claiming a check under another key than the log's is checked again.
        let mut smuggled = Candidate::unchecked(forged);
        smuggled.checked_under = Some(stranger.public().bytes());
        let out = l
            .append_each(vec![signers.precheck(good).unwrap(), smuggled, unknown])
            .unwrap();
        let k = kinds(&out);
        assert_eq!(k[0], "appended 3");
        assert!(k[1].contains("signature does not verify"), "{k:?}");
        assert!(k[2].contains("never granted"), "{k:?}");
    }

    #[test]
    fn staged_batches_are_admitted_against_each_other_and_cached_only_once_durable() {
        let tmp = tempfile::tempdir().unwrap();
        let mut l = ledger(tmp.path());
        let re = re();
        let a = signed(&re, 10, claim(7, 2));
        let first = l.stage_each(vec![Candidate::unchecked(a.clone())]).unwrap();
        assert_eq!(kinds(&first.admissions), ["appended 3"]);
        assert!(l.undurable());
        // A checkpoint never covers entries a power cut could still take.
        let e = l.sign_checkpoint(&op()).unwrap_err();
        assert!(e.to_string().contains("not yet durable"), "{e}");
        // The next batch sees the first: a retry of it, and a figure citing it.
        let figure = signed(
            &re,
            12,
            Body::Figure {
                label: "returned".into(),
                value: 7,
                qualifier: Qualifier::Exactly,
                unit: "people".into(),
                terms: vec![3],
            },
        );
        let second = l
            .stage_each(vec![
                Candidate::unchecked(a.clone()),
                Candidate::unchecked(figure.clone()),
            ])
            .unwrap();
        assert_eq!(kinds(&second.admissions), ["already 3", "appended 4"]);
        assert!(second.end > first.end);
        l.entries_sync().unwrap().sync().unwrap();
        l.mark_durable(first.end);
        assert!(l.undurable(), "the second batch is not marked durable yet");
        l.mark_durable(second.end);
        assert!(!l.undurable());
        assert!(l.take_warnings().is_empty());
        assert_eq!(l.leaf(4).unwrap(), Digest::leaf(&l.entry_bytes(4).unwrap()));
        l.sign_checkpoint(&op()).unwrap();
        drop(l);
        // The caches describe exactly the durable prefix: a fresh open agrees.
        let mut l = Ledger::open(&tmp.path().join("L"), Access::Write).unwrap();
        assert_eq!(l.size(), 5);
        let out = l
            .append_each(vec![Candidate::unchecked(a), Candidate::unchecked(figure)])
            .unwrap();
        assert_eq!(kinds(&out), ["already 3", "already 4"]);
    }

    #[test]
    fn an_abandoned_batch_is_cut_back_and_the_caches_still_hold() {
        let tmp = tempfile::tempdir().unwrap();
        let mut l = ledger(tmp.path());
        let entries = l.entries_path();
        let before = std::fs::read(&entries).unwrap();
        let staged = l
            .stage_each(vec![Candidate::unchecked(signed(&re(), 10, claim(7, 2)))])
            .unwrap();
        assert_eq!(kinds(&staged.admissions), ["appended 3"]);
        assert!(std::fs::metadata(&entries).unwrap().len() > before.len() as u64);
        // As after a failed fsync: nothing of it was acknowledged.
        l.abandon_undurable();
        assert_eq!(std::fs::read(&entries).unwrap(), before);
        let e = l
            .stage_each(vec![Candidate::unchecked(signed(&re(), 11, claim(8, 2)))])
            .unwrap_err();
        assert!(e.to_string().contains("nothing more is appended"), "{e}");
        drop(l);
        let l = Ledger::open(&tmp.path().join("L"), Access::Write).unwrap();
        assert_eq!(l.size(), 3);
    }
}
