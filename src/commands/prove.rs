//! `custody prove inclusion|consistency`: RFC 9162 proofs from the stored hashes.

use super::open_reader;
use crate::args::ProveCommand;
use anyhow::Result;
use custody_core::hash::Digest;
use custody_core::json::{ConsistencyJson, InclusionJson};

fn hexes(p: &[Digest]) -> Vec<String> {
    p.iter().map(Digest::to_hex).collect()
}

pub fn run(p: ProveCommand) -> Result<()> {
    match p {
        ProveCommand::Inclusion {
            ledger,
            index,
            size,
            json,
        } => {
            let l = open_reader(&ledger)?;
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
            let l = open_reader(&ledger)?;
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
