//! `custody prove inclusion|consistency`: RFC 9162 proofs from the stored hashes.

use super::open_reader;
use super::Failed;
use crate::args::ProveCommand;
use anyhow::{bail, Context, Result};
use custody_core::checkpoint::{self, MAX_TLOG_PROOF_BYTES};
use custody_core::hash::Digest;
use custody_core::json::{ConsistencyJson, InclusionJson};
use custody_store::files;
use std::path::Path;

fn hexes(p: &[Digest]) -> Vec<String> {
    p.iter().map(Digest::to_hex).collect()
}

pub fn run(p: ProveCommand, default: Option<&Path>) -> Result<()> {
    let l = |given| super::ledger_dir(given, default);
    match p {
        ProveCommand::Inclusion {
            ledger,
            index,
            tlog_proof: true,
            ..
        } => {
            let ledger = l(ledger)?;
            let l = open_reader(&ledger)?;
            let verifier = l.operator_verifier()?;
            let Some(cp) = l.latest_checkpoint(&verifier)? else {
                bail!(
                    "{} has no recorded checkpoint; sign one first with `custody checkpoint`",
                    ledger.display()
                );
            };
            if index >= cp.size() {
                bail!(
                    "entry {index} is not covered by the latest checkpoint (tree size {}); sign a newer one with `custody checkpoint`",
                    cp.size()
                );
            }
            let proof = l.prove_inclusion(index, cp.size())?;
            use std::io::Write as _;
            write!(
                std::io::stdout().lock(),
                "{}",
                checkpoint::format_tlog_proof(index, &proof, cp.note())
            )?;
            Ok(())
        }
        ProveCommand::Inclusion {
            ledger,
            index,
            size,
            json,
            ..
        } => {
            let l = open_reader(&l(ledger)?)?;
            let size = size.unwrap_or(l.size());
            let proof = l.prove_inclusion(index, size)?;
            let leaf = l.leaf(index)?;
            let root = l.root(size)?;
            if json {
                let v = InclusionJson {
                    leaf_index: index,
                    tree_size: size,
                    leaf_hash: leaf.to_hex(),
                    root_hash: root.to_hex(),
                    inclusion_path: hexes(&proof),
                };
                out!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                out!("inclusion of entry {index} in tree size {size}");
                out!("leaf hash: {leaf}");
                out!("root hash: {root}");
                for (i, h) in proof.iter().enumerate() {
                    out!("path[{i}]:   {h}");
                }
            }
            Ok(())
        }
        ProveCommand::Consistency {
            ledger,
            old,
            new,
            json,
        } => {
            let l = open_reader(&l(ledger)?)?;
            let proof = l.prove_consistency(old, new)?;
            let r1 = l.root(old)?;
            let r2 = l.root(new)?;
            if json {
                let v = ConsistencyJson {
                    tree_size_1: old,
                    tree_size_2: new,
                    root_hash_1: r1.to_hex(),
                    root_hash_2: r2.to_hex(),
                    consistency_path: hexes(&proof),
                };
                out!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                out!("consistency of tree size {old} with tree size {new}");
                out!("old root: {r1}");
                out!("new root: {r2}");
                for (i, h) in proof.iter().enumerate() {
                    out!("path[{i}]:  {h}");
                }
            }
            Ok(())
        }
    }
}

/// `custody verify-proof PROOF --trust VKEY --leaf HEX`: the checkpoint in the proof opens
/// under the trusted key, and the leaf is at the stated index of its tree.
pub fn verify_proof(proof: &Path, trust: &str, leaf: &str) -> Result<()> {
    let verifier = checkpoint::parse_vkey(trust.trim()).context("--trust")?;
    let leaf = Digest::from_hex(leaf.trim()).map_err(|_| {
        anyhow::anyhow!("--leaf must be 64 hex digits (the leaf hash `custody show` prints)")
    })?;
    let bytes = files::read_bounded(proof, MAX_TLOG_PROOF_BYTES as u64, "a tlog-proof")?;
    let p = checkpoint::parse_tlog_proof(&bytes)
        .map_err(|e| Failed(format!("proof FAILED: {}: {e}", proof.display())))?;
    let cp = p
        .verify(leaf, &verifier)
        .map_err(|e| Failed(format!("proof FAILED: {}: {e}", proof.display())))?;
    say!(
        "OK: leaf {} is entry {} of log {}, in the checkpoint of tree size {} signed by the trusted key",
        &leaf.to_hex()[..16],
        p.index,
        crate::print::quoted(cp.origin()),
        cp.size()
    );
    say!("  root {}", cp.root());
    Ok(())
}
