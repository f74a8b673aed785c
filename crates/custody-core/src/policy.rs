//! Witness policies: which log keys and witness keys a reader trusts, and which sets of
//! witnesses must have cosigned a checkpoint before the reader relies on it.
//!
//! The file format is sigsum's policy format (sigsum-go `doc/policy.md`) with C2SP vkeys in
//! place of raw hex keys, specified in `docs/POLICY.md`:
//!
//! ```text
//! log <log vkey, type 0x01> [<url>]
//! witness <name> <witness vkey, type 0x04> [<url>]
//! group <name> <k>|all|any <member>...
//! quorum <name>|none
//! ```
//!
//! This module owns the parser (strict, bounded, every error with its line number) and the
//! evaluation of a checkpoint note against a policy: which witnesses cosigned it validly and
//! when (as they state it), and whether the quorum holds. [`Policy::check`] is the only way to
//! obtain a [`Witnessed`] checkpoint: the log's signature verified under a policy log key and
//! the quorum met. It never reads a file, the clock or the network.

use crate::checkpoint::{self, CheckpointError, SignedCheckpoint, StrictVerifier};
use crate::cosignature::{self, CosignatureVerifier, SplitNote};
use crate::hash::Digest;
use thiserror::Error;

/// The largest policy file custody parses.
pub const MAX_POLICY_BYTES: usize = 64 * 1024;
/// The longest line, comment included.
pub const MAX_LINE_BYTES: usize = 4096;
/// The most `log` lines.
pub const MAX_LOGS: usize = 32;
/// The most `witness` lines.
pub const MAX_WITNESSES: usize = 64;
/// The most `group` lines.
pub const MAX_GROUPS: usize = 64;
/// The most members of one group.
pub const MAX_MEMBERS: usize = 64;
/// The deepest nesting of groups (a group of witnesses has depth 1).
pub const MAX_DEPTH: usize = 8;
/// The longest URL.
pub const MAX_URL_BYTES: usize = 2048;
/// The longest witness or group name.
pub const MAX_NAME_BYTES: usize = 255;
/// The predefined quorum that requires no cosignature.
pub const NONE: &str = "none";

/// Why a policy file was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// The file is larger than [`MAX_POLICY_BYTES`]; nothing was parsed.
    #[error("policy is {len} bytes; custody reads at most {MAX_POLICY_BYTES}")]
    TooLarge {
        /// Its length.
        len: usize,
    },
    /// A line is wrong.
    #[error("policy line {line}: {reason}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong, and what to write instead.
        reason: String,
    },
    /// The file as a whole is wrong (no `log` line, no `quorum` line).
    #[error("policy: {0}")]
    Incomplete(&'static str),
}

fn at(line: usize, reason: impl Into<String>) -> PolicyError {
    PolicyError::Line {
        line,
        reason: reason.into(),
    }
}

/// A `log` line: a log key the policy accepts checkpoints from.
#[derive(Clone, Debug)]
pub struct PolicyLog {
    /// The log's key (its name is the log's origin).
    pub verifier: StrictVerifier,
    /// Where the log is reached, if given. Not used by custody.
    pub url: Option<String>,
    /// The line that defines it.
    pub line: usize,
}

/// A `witness` line.
#[derive(Clone, Debug)]
pub struct PolicyWitness {
    /// The policy's name for it (used in groups and reports; not the key name).
    pub name: String,
    /// Its cosignature key; the key name is the name on its signature lines.
    pub verifier: CosignatureVerifier,
    /// Its tlog-witness URL prefix, if given: `add-checkpoint` is posted to
    /// `<url>/add-checkpoint`.
    pub url: Option<String>,
    /// The line that defines it.
    pub line: usize,
}

/// A member of a group: a witness or an earlier group, by index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Member {
    Witness(usize),
    Group(usize),
}

#[derive(Clone, Debug)]
struct Group {
    name: String,
    threshold: usize,
    members: Vec<Member>,
    /// 1 + the depth of its deepest member group (1 for a group of witnesses only).
    depth: usize,
}

/// What the `quorum` line names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quorum {
    None,
    Member(Member),
}

/// A parsed policy. Only [`Policy::parse`] makes one: every name is defined before use, no
/// group is empty or nested deeper than [`MAX_DEPTH`], no key appears twice, and there is at
/// least one `log` line and exactly one `quorum` line.
#[derive(Clone, Debug)]
pub struct Policy {
    logs: Vec<PolicyLog>,
    witnesses: Vec<PolicyWitness>,
    groups: Vec<Group>,
    quorum: Quorum,
    text: String,
}

/// One witness's cosignature on one checkpoint note.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WitnessStatus {
    /// A valid cosignature, made at `time` (seconds since the Unix epoch, as the witness
    /// states it: the time is inside the signed message).
    Cosigned {
        /// The witness's timestamp.
        time: u64,
    },
    /// A line with the witness's key name and key id that does not verify, and no valid one.
    Invalid,
    /// No line by this witness.
    Absent,
}

/// The cosignatures of a note as a policy sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluation {
    /// For each witness of the policy, in policy order: its name and status.
    pub witnesses: Vec<(String, WitnessStatus)>,
    /// For each group, in policy order: its name, how many members acted, how many were
    /// needed, and whether it holds.
    pub groups: Vec<(String, usize, usize, bool)>,
    /// Whether the quorum holds.
    pub quorum_met: bool,
}

impl Evaluation {
    /// The witnesses that cosigned validly, with their times, in policy order.
    #[must_use]
    pub fn cosigned(&self) -> Vec<(&str, u64)> {
        self.witnesses
            .iter()
            .filter_map(|(n, s)| match s {
                WitnessStatus::Cosigned { time } => Some((n.as_str(), *time)),
                _ => None,
            })
            .collect()
    }
}

/// A checkpoint whose log signature verified under a policy log key and whose cosignatures
/// meet the policy's quorum. Only [`Policy::check`] makes one.
#[derive(Clone, Debug)]
pub struct Witnessed {
    checkpoint: SignedCheckpoint,
    evaluation: Evaluation,
}

impl Witnessed {
    /// The checkpoint (opened under the policy's log key).
    #[must_use]
    pub fn checkpoint(&self) -> &SignedCheckpoint {
        &self.checkpoint
    }

    /// Which witnesses cosigned, and the quorum's evaluation (met).
    #[must_use]
    pub fn evaluation(&self) -> &Evaluation {
        &self.evaluation
    }
}

/// Why [`Policy::check`] refused a checkpoint.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PolicyCheckError {
    /// The policy lists no log key for the checkpoint's origin.
    #[error("the policy lists no log key for origin {origin:?}")]
    UnknownLog {
        /// The checkpoint's origin (its first line).
        origin: String,
    },
    /// The note is malformed, or its log signature does not verify.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The log signature verifies, but the cosignatures do not meet the quorum.
    #[error("the witness quorum is not met: {}", describe_missing(.0))]
    QuorumNotMet(Evaluation),
}

fn describe_missing(e: &Evaluation) -> String {
    let cosigned = e.cosigned();
    let mut s = if cosigned.is_empty() {
        "no witness of the policy cosigned it".to_owned()
    } else {
        let names: Vec<&str> = cosigned.iter().map(|(n, _)| *n).collect();
        format!("cosigned only by {}", names.join(", "))
    };
    let invalid: Vec<&str> = e
        .witnesses
        .iter()
        .filter(|(_, st)| *st == WitnessStatus::Invalid)
        .map(|(n, _)| n.as_str())
        .collect();
    if !invalid.is_empty() {
        s.push_str(&format!(
            "; cosignature lines of {} do not verify",
            invalid.join(", ")
        ));
    }
    s
}

/// A witness or group name: 1 to 255 bytes, no whitespace or control characters, no `#`
/// (it would start a comment), and not the predefined `none`.
fn check_name(line: usize, name: &str, taken: &[&str]) -> Result<(), PolicyError> {
    if name.len() > MAX_NAME_BYTES
        || name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '#')
    {
        return Err(at(
            line,
            format!(
                "name {:?} is not valid: 1 to {MAX_NAME_BYTES} bytes, no whitespace or '#'",
                clip(name)
            ),
        ));
    }
    if name == NONE {
        return Err(at(
            line,
            "the name \"none\" is predefined (quorum none); choose another",
        ));
    }
    if taken.contains(&name) {
        return Err(at(
            line,
            format!("name {name:?} is already defined; witnesses and groups share one namespace"),
        ));
    }
    Ok(())
}

fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

fn parse_url(line: usize, url: &str) -> Result<String, PolicyError> {
    if url.len() > MAX_URL_BYTES {
        return Err(at(line, format!("URL longer than {MAX_URL_BYTES} bytes")));
    }
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| {
            at(
                line,
                format!("URL {:?} must start with http:// or https://", clip(url)),
            )
        })?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(at(line, format!("URL {:?} has no host", clip(url))));
    }
    Ok(url.to_owned())
}

impl Policy {
    /// Parses a policy file strictly (see `docs/POLICY.md`).
    ///
    /// # Errors
    /// [`PolicyError::TooLarge`], [`PolicyError::Line`] naming the first bad line, or
    /// [`PolicyError::Incomplete`].
    pub fn parse(bytes: &[u8]) -> Result<Policy, PolicyError> {
        if bytes.len() > MAX_POLICY_BYTES {
            return Err(PolicyError::TooLarge { len: bytes.len() });
        }
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let line = 1 + bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            at(line, "not UTF-8")
        })?;
        let mut p = Policy {
            logs: Vec::new(),
            witnesses: Vec::new(),
            groups: Vec::new(),
            quorum: Quorum::None,
            text: text.to_owned(),
        };
        let mut quorum_line: Option<usize> = None;
        for (i, raw) in text.split('\n').enumerate() {
            let line = i + 1;
            if raw.len() > MAX_LINE_BYTES {
                return Err(at(line, format!("longer than {MAX_LINE_BYTES} bytes")));
            }
            if raw.contains('\r') {
                return Err(at(
                    line,
                    "carriage return: save the policy with Unix line endings (LF)",
                ));
            }
            if raw.chars().any(|c| c.is_control() && c != '\t') {
                return Err(at(
                    line,
                    "a control character (only tab and newline are allowed)",
                ));
            }
            let content = raw.split_once('#').map_or(raw, |(c, _)| c);
            let fields: Vec<&str> = content
                .split([' ', '\t'])
                .filter(|f| !f.is_empty())
                .collect();
            let Some((&keyword, args)) = fields.split_first() else {
                continue;
            };
            match keyword {
                "log" => p.parse_log(line, args)?,
                "witness" => p.parse_witness(line, args)?,
                "group" => p.parse_group(line, args)?,
                "quorum" => {
                    if let Some(first) = quorum_line {
                        return Err(at(
                            line,
                            format!("a second quorum line (the first is line {first})"),
                        ));
                    }
                    p.quorum = p.parse_quorum(line, args)?;
                    quorum_line = Some(line);
                }
                other => {
                    return Err(at(
                        line,
                        format!(
                            "unknown keyword {:?}: want log, witness, group or quorum",
                            clip(other)
                        ),
                    ))
                }
            }
        }
        if p.logs.is_empty() {
            return Err(PolicyError::Incomplete(
                "no log line: name the log key (log <vkey>) whose checkpoints it accepts",
            ));
        }
        if quorum_line.is_none() {
            return Err(PolicyError::Incomplete(
                "no quorum line: end with quorum <witness or group> (or quorum none)",
            ));
        }
        Ok(p)
    }

    fn names(&self) -> Vec<&str> {
        self.witnesses
            .iter()
            .map(|w| w.name.as_str())
            .chain(self.groups.iter().map(|g| g.name.as_str()))
            .collect()
    }

    fn lookup(&self, name: &str) -> Option<Member> {
        if let Some(i) = self.witnesses.iter().position(|w| w.name == name) {
            return Some(Member::Witness(i));
        }
        self.groups
            .iter()
            .position(|g| g.name == name)
            .map(Member::Group)
    }

    fn parse_log(&mut self, line: usize, args: &[&str]) -> Result<(), PolicyError> {
        let (vkey, url) = match args {
            [v] => (*v, None),
            [v, u] => (*v, Some(parse_url(line, u)?)),
            _ => return Err(at(line, "want: log <vkey> [<url>]")),
        };
        if self.logs.len() == MAX_LOGS {
            return Err(at(line, format!("more than {MAX_LOGS} log lines")));
        }
        let verifier = checkpoint::parse_vkey(vkey).map_err(|e| at(line, e.to_string()))?;
        if let Some(d) = self.logs.iter().find(|l| {
            l.verifier.name() == verifier.name() && l.verifier.key_id() == verifier.key_id()
        }) {
            return Err(at(line, format!("the same log key as line {}", d.line)));
        }
        self.logs.push(PolicyLog {
            verifier,
            url,
            line,
        });
        Ok(())
    }

    fn parse_witness(&mut self, line: usize, args: &[&str]) -> Result<(), PolicyError> {
        let (name, vkey, url) = match args {
            [n, v] => (*n, *v, None),
            [n, v, u] => (*n, *v, Some(parse_url(line, u)?)),
            _ => return Err(at(line, "want: witness <name> <vkey> [<url>]")),
        };
        check_name(line, name, &self.names())?;
        if self.witnesses.len() == MAX_WITNESSES {
            return Err(at(line, format!("more than {MAX_WITNESSES} witness lines")));
        }
        let verifier = cosignature::parse_vkey(vkey).map_err(|e| at(line, e.to_string()))?;
        // One key counts once: the same key under two names would let one witness fill two
        // places of a group.
        if let Some(d) = self
            .witnesses
            .iter()
            .find(|w| w.verifier.verifying_key() == verifier.verifying_key())
        {
            return Err(at(
                line,
                format!(
                    "the same witness key as {:?} (line {}); one key may appear once",
                    d.name, d.line
                ),
            ));
        }
        self.witnesses.push(PolicyWitness {
            name: name.to_owned(),
            verifier,
            url,
            line,
        });
        Ok(())
    }

    /// How deep `m` nests: 0 for a witness, 1 + its deepest member for a group. Each group's
    /// depth is computed once, when it is parsed: walking the members again for every group
    /// that names them would visit a 64-group policy's 9^7 paths (seconds of CPU for 64 KiB).
    fn depth(&self, m: Member) -> usize {
        match m {
            Member::Witness(_) => 0,
            Member::Group(g) => self.groups.get(g).map_or(0, |g| g.depth),
        }
    }

    fn parse_group(&mut self, line: usize, args: &[&str]) -> Result<(), PolicyError> {
        let [name, k, members @ ..] = args else {
            return Err(at(line, "want: group <name> <k>|all|any <member>..."));
        };
        check_name(line, name, &self.names())?;
        if self.groups.len() == MAX_GROUPS {
            return Err(at(line, format!("more than {MAX_GROUPS} group lines")));
        }
        if members.is_empty() {
            return Err(at(line, format!("group {name:?} has no members")));
        }
        if members.len() > MAX_MEMBERS {
            return Err(at(
                line,
                format!("group {name:?} has more than {MAX_MEMBERS} members"),
            ));
        }
        let mut ms = Vec::with_capacity(members.len());
        for m in members {
            let member = self.lookup(m).ok_or_else(|| {
                at(
                    line,
                    format!(
                        "member {:?} is not a witness or group defined on an earlier line",
                        clip(m)
                    ),
                )
            })?;
            if ms.contains(&member) {
                return Err(at(
                    line,
                    format!("member {m:?} is listed twice; each may count once"),
                ));
            }
            ms.push(member);
        }
        let n = ms.len();
        let threshold = match *k {
            "all" => n,
            "any" => 1,
            digits => {
                let k = checkpoint::decimal_strict(digits)
                    .and_then(|k| usize::try_from(k).ok())
                    .ok_or_else(|| {
                        at(
                            line,
                            format!(
                                "threshold {:?} is not all, any or a decimal number",
                                clip(digits)
                            ),
                        )
                    })?;
                if k == 0 || k > n {
                    return Err(at(
                        line,
                        format!("threshold {k} is not between 1 and the {n} members"),
                    ));
                }
                k
            }
        };
        let depth = 1 + ms.iter().map(|&m| self.depth(m)).max().unwrap_or(0);
        if depth > MAX_DEPTH {
            return Err(at(
                line,
                format!("groups nest {depth} deep; custody allows {MAX_DEPTH}"),
            ));
        }
        self.groups.push(Group {
            name: (*name).to_owned(),
            threshold,
            members: ms,
            depth,
        });
        Ok(())
    }

    fn parse_quorum(&self, line: usize, args: &[&str]) -> Result<Quorum, PolicyError> {
        let [name] = args else {
            return Err(at(line, "want: quorum <witness or group> (or quorum none)"));
        };
        if *name == NONE {
            return Ok(Quorum::None);
        }
        self.lookup(name).map(Quorum::Member).ok_or_else(|| {
            at(
                line,
                format!(
                    "quorum {:?} is not a witness or group defined on an earlier line",
                    clip(name)
                ),
            )
        })
    }

    /// The policy file's text, exactly as parsed.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// SHA-256 of the policy file's bytes.
    #[must_use]
    pub fn sha256(&self) -> Digest {
        Digest::of(self.text.as_bytes())
    }

    /// The `log` lines, in file order.
    #[must_use]
    pub fn logs(&self) -> &[PolicyLog] {
        &self.logs
    }

    /// The `witness` lines, in file order.
    #[must_use]
    pub fn witnesses(&self) -> &[PolicyWitness] {
        &self.witnesses
    }

    /// Every witness's cosignature key, in policy order.
    #[must_use]
    pub fn witness_verifiers(&self) -> Vec<CosignatureVerifier> {
        self.witnesses.iter().map(|w| w.verifier.clone()).collect()
    }

    /// Whether `log` (its origin and key) is one of the policy's logs.
    #[must_use]
    pub fn lists_log(&self, log: &StrictVerifier) -> bool {
        self.logs.iter().any(|l| {
            l.verifier.name() == log.name() && l.verifier.verifying_key() == log.verifying_key()
        })
    }

    /// The name on the quorum line (`none` for no quorum).
    #[must_use]
    pub fn quorum_name(&self) -> &str {
        match self.quorum {
            Quorum::None => NONE,
            Quorum::Member(Member::Witness(i)) => &self.witnesses[i].name,
            Quorum::Member(Member::Group(g)) => &self.groups[g].name,
        }
    }

    /// Evaluates the quorum given which witnesses (by policy index) acted. Groups are
    /// evaluated in file order, so each member's value is known before its group's.
    fn evaluate_groups(&self, acted: &[bool]) -> (Vec<(String, usize, usize, bool)>, bool) {
        let mut held: Vec<bool> = Vec::with_capacity(self.groups.len());
        let mut groups = Vec::with_capacity(self.groups.len());
        let value = |m: Member, held: &[bool]| match m {
            Member::Witness(i) => acted.get(i).copied().unwrap_or(false),
            Member::Group(g) => held.get(g).copied().unwrap_or(false),
        };
        for g in &self.groups {
            let n = g.members.iter().filter(|&&m| value(m, &held)).count();
            let ok = n >= g.threshold;
            held.push(ok);
            groups.push((g.name.clone(), n, g.threshold, ok));
        }
        let met = match self.quorum {
            Quorum::None => true,
            Quorum::Member(m) => value(m, &held),
        };
        (groups, met)
    }

    /// Which of the policy's witnesses cosigned `note` validly (and when), and whether the
    /// quorum holds. The log's signature is not checked here; [`Policy::check`] checks both.
    #[must_use]
    pub fn evaluate(&self, note: &SplitNote) -> Evaluation {
        let c = note.cosignatures(&self.witness_verifiers());
        let witnesses: Vec<(String, WitnessStatus)> = self
            .witnesses
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let st = match c.times.get(i).copied().flatten() {
                    Some(time) => WitnessStatus::Cosigned { time },
                    None if c.invalid.contains(&i) => WitnessStatus::Invalid,
                    None => WitnessStatus::Absent,
                };
                (w.name.clone(), st)
            })
            .collect();
        let acted: Vec<bool> = witnesses
            .iter()
            .map(|(_, s)| matches!(s, WitnessStatus::Cosigned { .. }))
            .collect();
        let (groups, quorum_met) = self.evaluate_groups(&acted);
        Evaluation {
            witnesses,
            groups,
            quorum_met,
        }
    }

    /// Checks a checkpoint note against the policy: its log signature must verify under a
    /// policy log key whose name is the checkpoint's origin (CHECKPOINTS.md "Verifying a
    /// checkpoint"), then the valid cosignatures by policy witnesses must meet the quorum.
    ///
    /// # Errors
    /// [`PolicyCheckError::Checkpoint`] for a malformed note or failing log signature,
    /// [`PolicyCheckError::UnknownLog`], or [`PolicyCheckError::QuorumNotMet`].
    pub fn check(&self, note: &[u8]) -> Result<Witnessed, PolicyCheckError> {
        let split = cosignature::split_note(note)?;
        let origin = split.body.split('\n').next().unwrap_or_default();
        let mut last = None;
        let mut opened = None;
        for l in self.logs.iter().filter(|l| l.verifier.name() == origin) {
            match checkpoint::open(note, &l.verifier) {
                Ok(cp) => {
                    opened = Some(cp);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let checkpoint = match (opened, last) {
            (Some(cp), _) => cp,
            (None, Some(e)) => return Err(e.into()),
            (None, None) => {
                return Err(PolicyCheckError::UnknownLog {
                    origin: clip(origin),
                })
            }
        };
        let evaluation = self.evaluate(&split);
        if !evaluation.quorum_met {
            return Err(PolicyCheckError::QuorumNotMet(evaluation));
        }
        Ok(Witnessed {
            checkpoint,
            evaluation,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::Digest;
    use ed25519_dalek::SigningKey;

    // The worked example of docs/POLICY.md: keys from SHA-256 of stated strings, the log key
    // and checkpoint of docs/CHECKPOINTS.md, cosignatures at fixed times. The test below
    // regenerates every value and fails if the document stops quoting it verbatim.
    const DOC: &str = include_str!("../../../docs/POLICY.md");
    const LOG_SEED_TEXT: &str = "custody CHECKPOINTS.md example key v1";
    const ORIGIN: &str = "example.org/custody-example";
    const ROOT_HEX: &str = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328";
    const WITNESSES: [(&str, &str, &str); 3] = [
        (
            "alpha",
            "witness.example.com/alpha",
            "custody POLICY.md example witness alpha v1",
        ),
        (
            "beta",
            "witness.example.net/beta",
            "custody POLICY.md example witness beta v1",
        ),
        (
            "gamma",
            "witness.example.org/gamma",
            "custody POLICY.md example witness gamma v1",
        ),
    ];
    const TIMES: [u64; 2] = [1_760_486_400, 1_760_486_461];

    fn key(text: &str) -> SigningKey {
        SigningKey::from_bytes(&Digest::of(text.as_bytes()).0)
    }

    fn verifier(i: usize) -> CosignatureVerifier {
        let (_, name, seed) = WITNESSES[i];
        CosignatureVerifier::new(name, key(seed).verifying_key()).unwrap()
    }

    fn example_policy_text() -> String {
        let log = checkpoint::vkey(ORIGIN, &key(LOG_SEED_TEXT).verifying_key()).unwrap();
        let mut s = String::new();
        s.push_str("# Checkpoints of example.org/custody-example count once two of three\n");
        s.push_str("# independent witnesses have cosigned them.\n");
        s.push_str(&format!("log {log}\n\n"));
        let urls = [
            "http://127.0.0.1:7380",
            "https://witness.example.net/beta",
            "",
        ];
        for (i, (label, _, _)) in WITNESSES.iter().enumerate() {
            let url = if urls[i].is_empty() {
                String::new()
            } else {
                format!(" {}", urls[i])
            };
            s.push_str(&format!("witness {label} {}{url}\n", verifier(i).to_vkey()));
        }
        s.push_str("\ngroup peers 2 alpha beta gamma\nquorum peers\n");
        s
    }

    fn example_note() -> String {
        let root = Digest::from_hex(ROOT_HEX).unwrap();
        checkpoint::sign(ORIGIN, 8, root, &key(LOG_SEED_TEXT)).unwrap()
    }

    fn cosigned_note() -> String {
        let note = example_note();
        let mut split = cosignature::split_note(note.as_bytes()).unwrap();
        for (i, t) in TIMES.iter().enumerate() {
            let (_, name, seed) = WITNESSES[i];
            let line = cosignature::cosign(split.body.as_bytes(), name, &key(seed), *t).unwrap();
            split.add_line(&line).unwrap();
        }
        split.to_text()
    }

    fn block(s: &str) -> String {
        format!("```\n{s}```\n")
    }

    #[test]
    fn doc_example_is_what_the_code_produces() {
        let text = example_policy_text();
        assert!(DOC.contains(&block(&text)), "POLICY.md must quote:\n{text}");
        let note = cosigned_note();
        assert!(DOC.contains(&block(&note)), "POLICY.md must quote:\n{note}");
        let p = Policy::parse(text.as_bytes()).unwrap();
        let w = p.check(note.as_bytes()).unwrap();
        let e = w.evaluation();
        assert_eq!(e.cosigned(), vec![("alpha", TIMES[0]), ("beta", TIMES[1])]);
        assert_eq!(e.witnesses[2].1, WitnessStatus::Absent);
        assert_eq!(e.groups, vec![("peers".into(), 2, 2, true)]);
        assert_eq!(w.checkpoint().size(), 8);
        let report = format!(
            "witnessed by alpha at {}, beta at {}",
            crate::json::rfc3339(TIMES[0] as i64),
            crate::json::rfc3339(TIMES[1] as i64)
        );
        assert!(DOC.contains(&report), "POLICY.md must say: {report}");
        assert!(DOC.contains(&format!("`{}`", p.sha256())));
        // One cosignature is not two of three.
        let one = cosignature::split_note(note.as_bytes()).unwrap();
        let mut one = one.clone();
        one.retain_only(&[
            (
                ORIGIN,
                checkpoint::key_id(ORIGIN, &key(LOG_SEED_TEXT).verifying_key()),
            ),
            (WITNESSES[0].1, verifier(0).key_id()),
        ]);
        match p.check(one.to_text().as_bytes()) {
            Err(PolicyCheckError::QuorumNotMet(e)) => {
                assert_eq!(e.groups, vec![("peers".into(), 1, 2, false)]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_altered_cosignature_byte_fails_the_quorum() {
        let p = Policy::parse(example_policy_text().as_bytes()).unwrap();
        let note = cosigned_note();
        let beta_line_start = note.find("— witness.example.net/beta ").unwrap();
        // Flip one base64 character inside beta's signature (after key id and time).
        let pos = beta_line_start + "— witness.example.net/beta ".len() + 40;
        let mut bytes = note.into_bytes();
        bytes[pos] = if bytes[pos] == b'A' { b'B' } else { b'A' };
        match p.check(&bytes) {
            Err(PolicyCheckError::QuorumNotMet(e)) => {
                assert_eq!(e.witnesses[1].1, WitnessStatus::Invalid);
                assert_eq!(e.cosigned().len(), 1);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_log_signature_is_required() {
        let p = Policy::parse(example_policy_text().as_bytes()).unwrap();
        let note = cosigned_note();
        // The log's own line removed: cosignatures alone are not a checkpoint.
        let mut split = cosignature::split_note(note.as_bytes()).unwrap();
        split.lines.remove(0);
        assert!(matches!(
            p.check(split.to_text().as_bytes()),
            Err(PolicyCheckError::Checkpoint(
                CheckpointError::NotSignedByKey { .. }
            ))
        ));
        // Another origin is not this policy's log.
        let other = checkpoint::sign(
            "example.org/other",
            8,
            Digest::from_hex(ROOT_HEX).unwrap(),
            &key(LOG_SEED_TEXT),
        )
        .unwrap();
        assert!(matches!(
            p.check(other.as_bytes()),
            Err(PolicyCheckError::UnknownLog { .. })
        ));
    }

    fn policy(body: &str) -> Result<Policy, PolicyError> {
        let log = checkpoint::vkey(ORIGIN, &key(LOG_SEED_TEXT).verifying_key()).unwrap();
        let mut s = format!("log {log}\n");
        for i in 0..3 {
            s.push_str(&format!("witness w{i} {}\n", verifier(i).to_vkey()));
        }
        s.push_str(body);
        Policy::parse(s.as_bytes())
    }

    fn line_err(r: Result<Policy, PolicyError>) -> (usize, String) {
        match r {
            Err(PolicyError::Line { line, reason }) => (line, reason),
            other => panic!("want a line error, got {other:?}"),
        }
    }

    #[test]
    fn quorum_forms() {
        let met = |body: &str, acted: [bool; 3]| {
            let p = policy(body).unwrap();
            p.evaluate_groups(&acted).1
        };
        assert!(met("quorum none\n", [false; 3]));
        assert!(met("quorum w1\n", [false, true, false]));
        assert!(!met("quorum w1\n", [true, false, true]));
        assert!(met(
            "group g any w0 w1 w2\nquorum g\n",
            [false, false, true]
        ));
        assert!(!met(
            "group g all w0 w1 w2\nquorum g\n",
            [true, true, false]
        ));
        assert!(met("group g 2 w0 w1 w2\nquorum g\n", [true, false, true]));
        // Nested: w0 and (w1 or w2).
        let nested = "group b any w1 w2\ngroup top all w0 b\nquorum top\n";
        assert!(met(nested, [true, false, true]));
        assert!(!met(nested, [false, true, true]));
        assert_eq!(policy(nested).unwrap().quorum_name(), "top");
    }

    #[test]
    fn malformed_policies_name_their_line() {
        let cases: &[(&str, usize, &str)] = &[
            ("quorum w9\n", 5, "not a witness or group"),
            ("group g any w0 w0\nquorum g\n", 5, "listed twice"),
            ("group g 0 w0\nquorum g\n", 5, "between 1"),
            ("group g 4 w0 w1 w2\nquorum g\n", 5, "between 1"),
            ("group g 02 w0 w1\nquorum g\n", 5, "not all, any"),
            ("group g any\nquorum g\n", 5, "no members"),
            ("group w0 any w1\nquorum w0\n", 5, "already defined"),
            ("group none any w1\nquorum none\n", 5, "predefined"),
            ("quorum none\nquorum none\n", 6, "second quorum"),
            ("quorum g\ngroup g any w1\n", 5, "not a witness or group"),
            ("quorum none\nfrobnicate\n", 6, "unknown keyword"),
            ("quorum none extra\n", 5, "want: quorum"),
            ("quorum none\r\n", 5, "carriage return"),
            ("quorum none\u{7}\n", 5, "control character"),
            ("group g any w1 # w2\nquorum g w0\n", 6, "want: quorum"),
            ("witness w3 AAAA\nquorum none\n", 5, "malformed"),
            (
                "witness w3 x+00000000+AAAA http://h\nquorum none\n",
                5,
                "signature type",
            ),
        ];
        for (body, line, want) in cases {
            let (l, reason) = line_err(policy(body));
            assert_eq!(
                (l, reason.contains(want)),
                (*line, true),
                "{body:?}: {reason}"
            );
        }
        // A witness vkey given as a log key, and the reverse: the type byte tells them apart.
        let log = checkpoint::vkey(ORIGIN, &key(LOG_SEED_TEXT).verifying_key()).unwrap();
        let (_, r) = line_err(Policy::parse(
            format!("log {}\nquorum none\n", verifier(0).to_vkey()).as_bytes(),
        ));
        assert!(r.contains("0x04"), "{r}");
        let (_, r) = line_err(Policy::parse(
            format!("log {log}\nwitness w {log}\nquorum none\n").as_bytes(),
        ));
        assert!(r.contains("0x01"), "{r}");
        // The same key twice, under two names, would count twice.
        let (l, r) = line_err(Policy::parse(
            format!(
                "log {log}\nwitness a {v}\nwitness b {v}\nquorum none\n",
                v = verifier(0).to_vkey()
            )
            .as_bytes(),
        ));
        assert_eq!(l, 3);
        assert!(r.contains("same witness key"), "{r}");
        let (l, r) = line_err(Policy::parse(
            format!("log {log}\nlog {log} https://x.example\nquorum none\n").as_bytes(),
        ));
        assert_eq!((l, r.contains("same log key")), (2, true));
        let (_, r) = line_err(Policy::parse(
            format!("log {log} ftp://x\nquorum none\n").as_bytes(),
        ));
        assert!(r.contains("http://"), "{r}");
        assert_eq!(
            Policy::parse(b"quorum none\n").unwrap_err(),
            PolicyError::Incomplete(
                "no log line: name the log key (log <vkey>) whose checkpoints it accepts"
            )
        );
        assert!(matches!(
            Policy::parse(format!("log {log}\n").as_bytes()),
            Err(PolicyError::Incomplete(_))
        ));
        let (l, _) = line_err(Policy::parse(b"# ok\n\xff\n"));
        assert_eq!(l, 2);
    }

    #[test]
    fn bounds_are_enforced() {
        assert!(matches!(
            Policy::parse(&vec![b'#'; MAX_POLICY_BYTES + 1]),
            Err(PolicyError::TooLarge { .. })
        ));
        let (l, r) = line_err(Policy::parse(
            format!("# {}\n", "x".repeat(MAX_LINE_BYTES)).as_bytes(),
        ));
        assert_eq!((l, r.contains("longer")), (1, true));
        // Nesting: each group the only member of the next.
        let mut body = String::from("group g0 any w0\n");
        for i in 1..MAX_DEPTH {
            body.push_str(&format!("group g{i} any g{}\n", i - 1));
        }
        body.push_str(&format!("quorum g{}\n", MAX_DEPTH - 1));
        assert!(policy(&body).is_ok());
        let deeper = body.replace(
            &format!("quorum g{}\n", MAX_DEPTH - 1),
            &format!("group g{MAX_DEPTH} any g{}\nquorum none\n", MAX_DEPTH - 1),
        );
        let (_, r) = line_err(policy(&deeper));
        assert!(r.contains("nest"), "{r}");
        // Too many members.
        let members: Vec<String> = (0..=MAX_MEMBERS).map(|_| "w0".to_string()).collect();
        let (_, r) = line_err(policy(&format!(
            "group g any {}\nquorum g\n",
            members.join(" ")
        )));
        assert!(r.contains("more than"), "{r}");
    }

    #[test]
    fn the_most_nested_policy_within_the_bounds_parses_and_evaluates() {
        // 64 groups in 8 layers of 8, each naming every group of the layers below: 9^7 paths
        // from each top group down. Depths are computed once per group, so this parses at the
        // cost of its 1,800 member names (a walk of every path was seconds per parse).
        let mut body = String::new();
        let mut below: Vec<String> = Vec::new();
        for layer in 0..MAX_DEPTH {
            let mut this = Vec::new();
            for i in 0..MAX_GROUPS / MAX_DEPTH {
                let name = format!("g{layer}.{i}");
                let members = if layer == 0 {
                    "w0 w1 w2".to_owned()
                } else {
                    below.join(" ")
                };
                body.push_str(&format!("group {name} any {members}\n"));
                this.push(name);
            }
            below.extend(this);
        }
        body.push_str(&format!("quorum g{}.0\n", MAX_DEPTH - 1));
        let p = policy(&body).unwrap();
        assert_eq!(p.groups.len(), MAX_GROUPS);
        assert_eq!(p.groups.last().map(|g| g.depth), Some(MAX_DEPTH));
        assert!(p.evaluate_groups(&[false, true, false]).1);
        assert!(!p.evaluate_groups(&[false; 3]).1);
    }

    #[test]
    fn comments_blank_lines_tabs_and_a_missing_final_newline() {
        let p = policy("\n  # a comment\n\tgroup\tg  2 w0\tw1 # trailing\nquorum g").unwrap();
        assert_eq!(p.quorum_name(), "g");
        assert_eq!(p.witnesses().len(), 3);
        assert_eq!(p.logs().len(), 1);
    }
}
