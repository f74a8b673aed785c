//! Fork evidence: two checkpoints signed by one log key that cannot both be true, written by
//! `custody monitor` when a published log contradicts the checkpoint it saw before, in a form a
//! third party can check with the log's vkey alone (docs/PUBLISHING.md, "Fork evidence").
//!
//! ```text
//! custody-fork-evidence-v1
//! old <size>                     the smaller tree (equal sizes: a split view)
//! new <size>
//! prefix-root <base64>           the root of the new tree's first `old` leaves (not for equal sizes)
//! proof <base64>                 RFC 9162 consistency proof, one line per hash, from
//!                                prefix-root (size old) to the new checkpoint's root
//! checkpoint <length>            then exactly <length> bytes: the old tree's signed note
//! checkpoint <length>            then the new tree's signed note
//! ```
//!
//! It holds iff both notes open under the vkey, and either the sizes are equal and the roots
//! differ (a split view), or the proof leads from `prefix-root` to the new root (so the new
//! tree's first `old` leaves hash to `prefix-root`) and `prefix-root` is not the old root.
//! Pure: parsing, formatting and checking only.

use crate::checkpoint::{self, SignedCheckpoint, StrictVerifier, MAX_NOTE_BYTES};
use crate::hash::Digest;
use crate::merkle::{self, MAX_PROOF_LEN};
use base64::Engine as _;

/// The first line of a fork evidence file.
pub const FORK_EVIDENCE_HEADER: &str = "custody-fork-evidence-v1";
/// The largest fork evidence file: two notes, a proof and a few lines.
pub const MAX_FORK_EVIDENCE_BYTES: usize = 2 * MAX_NOTE_BYTES + 8 * 1024;

/// Two checkpoints of one log that contradict each other, with what shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForkEvidence {
    /// The smaller (or equal) tree size, as the old note signs it.
    pub old_size: u64,
    /// The larger (or equal) tree size, as the new note signs it.
    pub new_size: u64,
    /// The signed note of the smaller (or equal) tree.
    pub old_note: String,
    /// The signed note of the larger (or equal) tree.
    pub new_note: String,
    /// The root of the new tree's first `old` leaves (absent for equal sizes).
    pub prefix_root: Option<Digest>,
    /// The consistency proof from `prefix_root` to the new root.
    pub proof: Vec<Digest>,
}

fn b64(d: &Digest) -> String {
    base64::engine::general_purpose::STANDARD.encode(d.0)
}

fn unb64(s: &str) -> Option<Digest> {
    let v = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
    let d = Digest(v.try_into().ok()?);
    (b64(&d) == s).then_some(d)
}

impl ForkEvidence {
    /// The file's bytes.
    #[must_use]
    pub fn to_text(&self) -> Vec<u8> {
        let mut out = format!(
            "{FORK_EVIDENCE_HEADER}\nold {}\nnew {}\n",
            self.old_size, self.new_size
        );
        if let Some(r) = &self.prefix_root {
            out.push_str(&format!("prefix-root {}\n", b64(r)));
        }
        for p in &self.proof {
            out.push_str(&format!("proof {}\n", b64(p)));
        }
        for note in [&self.old_note, &self.new_note] {
            out.push_str(&format!("checkpoint {}\n{note}", note.len()));
        }
        out.into_bytes()
    }

    /// Parses a fork evidence file (strictly; nothing may follow the second note).
    ///
    /// # Errors
    /// What is malformed.
    pub fn parse(bytes: &[u8]) -> Result<ForkEvidence, String> {
        if bytes.len() > MAX_FORK_EVIDENCE_BYTES {
            return Err("fork evidence file too large".into());
        }
        let mut rest = bytes;
        let mut line = || -> Result<String, String> {
            let end = rest
                .iter()
                .position(|&b| b == b'\n')
                .ok_or("a line does not end")?;
            let l = std::str::from_utf8(&rest[..end]).map_err(|_| "not UTF-8")?;
            let l = l.to_string();
            rest = &rest[end + 1..];
            Ok(l)
        };
        if line()? != FORK_EVIDENCE_HEADER {
            return Err(format!("first line is not {FORK_EVIDENCE_HEADER}"));
        }
        let num = |l: String, key: &str| -> Result<u64, String> {
            l.strip_prefix(key)
                .and_then(|v| v.parse().ok())
                .ok_or(format!("expected `{key}SIZE`"))
        };
        let old = num(line()?, "old ")?;
        let new = num(line()?, "new ")?;
        let mut ev = ForkEvidence {
            old_size: old,
            new_size: new,
            old_note: String::new(),
            new_note: String::new(),
            prefix_root: None,
            proof: Vec::new(),
        };
        let mut l = line()?;
        if let Some(v) = l.strip_prefix("prefix-root ") {
            ev.prefix_root = Some(unb64(v).ok_or("bad prefix-root")?);
            l = line()?;
        }
        while let Some(v) = l.strip_prefix("proof ") {
            if ev.proof.len() >= MAX_PROOF_LEN {
                return Err("proof too long".into());
            }
            ev.proof.push(unb64(v).ok_or("bad proof hash")?);
            l = line()?;
        }
        let take_note = |l: &str, rest: &mut &[u8]| -> Result<String, String> {
            let len: usize = l
                .strip_prefix("checkpoint ")
                .and_then(|v| v.parse().ok())
                .filter(|&n| n <= MAX_NOTE_BYTES)
                .ok_or("expected `checkpoint LENGTH`")?;
            if rest.len() < len {
                return Err("checkpoint cut short".into());
            }
            let (note, after) = rest.split_at(len);
            *rest = after;
            String::from_utf8(note.to_vec()).map_err(|_| "checkpoint not UTF-8".into())
        };
        ev.old_note = take_note(&l, &mut rest)?;
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("no second checkpoint")?;
        let l2 = std::str::from_utf8(&rest[..end])
            .map_err(|_| "not UTF-8")?
            .to_string();
        rest = &rest[end + 1..];
        ev.new_note = take_note(&l2, &mut rest)?;
        if !rest.is_empty() {
            return Err("bytes after the second checkpoint".into());
        }
        Ok(ev)
    }

    /// Checks the evidence under the log's key: both notes open, and they contradict each
    /// other as the module documentation says. Returns the two opened checkpoints.
    ///
    /// # Errors
    /// Why this is not evidence of a fork.
    pub fn verify(
        &self,
        key: &StrictVerifier,
    ) -> Result<(SignedCheckpoint, SignedCheckpoint), String> {
        let old = checkpoint::open(self.old_note.as_bytes(), key)
            .map_err(|e| format!("first checkpoint: {e}"))?;
        let new = checkpoint::open(self.new_note.as_bytes(), key)
            .map_err(|e| format!("second checkpoint: {e}"))?;
        if (old.size(), new.size()) != (self.old_size, self.new_size) {
            return Err("the sizes stated are not the checkpoints' sizes".into());
        }
        if old.origin() != new.origin() {
            return Err("the checkpoints are of two logs".into());
        }
        if old.size() > new.size() {
            return Err("the first checkpoint is the larger tree".into());
        }
        if old.size() == new.size() {
            return if old.root() != new.root() && self.proof.is_empty() {
                Ok((old, new))
            } else {
                Err("two checkpoints of one size and one root do not contradict".into())
            };
        }
        let prefix = self.prefix_root.ok_or("no prefix-root")?;
        merkle::verify_consistency(old.size(), prefix, new.size(), new.root(), &self.proof)
            .map_err(|e| format!("the proof does not hold: {e}"))?;
        if prefix == old.root() {
            return Err("the new tree extends the old one: no fork".into());
        }
        Ok((old, new))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::MemoryHashes;
    use ed25519_dalek::SigningKey;

    fn leaves(tag: u8, n: u64) -> Vec<Digest> {
        (0..n).map(|i| Digest::leaf(&[tag, i as u8])).collect()
    }

    #[test]
    fn evidence_round_trips_and_holds_only_for_a_real_fork() {
        let key = SigningKey::from_bytes(&[5u8; 32]);
        let origin = "example.org/fork";
        let v = StrictVerifier::new(origin, key.verifying_key()).unwrap();
        let note = |m: &MemoryHashes| checkpoint::sign(origin, m.size(), m.root(), &key).unwrap();
        let a = MemoryHashes::from_leaves(&leaves(1, 5));
        let mut b_leaves = leaves(1, 3);
        b_leaves.extend(leaves(2, 6));
        let b = MemoryHashes::from_leaves(&b_leaves);
        let ev = ForkEvidence {
            old_size: 5,
            new_size: 9,
            old_note: note(&a),
            new_note: note(&b),
            prefix_root: Some(merkle::tree_root(5, &b).unwrap()),
            proof: merkle::prove_consistency(5, 9, &b).unwrap(),
        };
        let text = ev.to_text();
        assert!(text.starts_with(b"custody-fork-evidence-v1\nold 5\nnew 9\nprefix-root "));
        assert_eq!(ForkEvidence::parse(&text).unwrap(), ev);
        ev.verify(&v).unwrap();
        for cut in [10, text.len() - 1] {
            assert!(ForkEvidence::parse(&text[..cut]).is_err());
        }
        let mut long = text.clone();
        long.push(b'\n');
        assert!(ForkEvidence::parse(&long).is_err());
        // A log that only grew is no fork, whatever proof is offered.
        let grown = MemoryHashes::from_leaves(&leaves(1, 9));
        let honest = ForkEvidence {
            new_note: note(&grown),
            prefix_root: Some(merkle::tree_root(5, &grown).unwrap()),
            proof: merkle::prove_consistency(5, 9, &grown).unwrap(),
            ..ev.clone()
        };
        assert!(honest.verify(&v).unwrap_err().contains("no fork"));
        // A made-up prefix root does not lead to the signed root.
        let made_up = ForkEvidence {
            prefix_root: Some(Digest::leaf(b"x")),
            ..ev.clone()
        };
        assert!(made_up.verify(&v).unwrap_err().contains("does not hold"));
        // A split view: one size, two roots.
        let a2 = MemoryHashes::from_leaves(&leaves(3, 5));
        let split = ForkEvidence {
            old_size: 5,
            new_size: 5,
            old_note: note(&a),
            new_note: note(&a2),
            prefix_root: None,
            proof: Vec::new(),
        };
        assert_eq!(ForkEvidence::parse(&split.to_text()).unwrap(), split);
        split.verify(&v).unwrap();
        // Under another key nothing is evidence.
        let other = StrictVerifier::new(origin, SigningKey::from_bytes(&[6u8; 32]).verifying_key())
            .unwrap();
        assert!(ev.verify(&other).is_err());
    }
}
