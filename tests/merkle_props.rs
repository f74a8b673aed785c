//! Property tests: every proof custody produces verifies, and any single mutation of a
//! proof hash, the index or a size makes it fail.

use custody_core::hash::Digest;
use custody_core::merkle::{self, Frontier, MemoryHashes};
use proptest::prelude::*;
use std::sync::OnceLock;

const MAX: u64 = 2000;

/// One tree of 2000 distinct leaves, with its root at every size.
fn tree() -> &'static (MemoryHashes, Vec<Digest>, Vec<Digest>) {
    static TREE: OnceLock<(MemoryHashes, Vec<Digest>, Vec<Digest>)> = OnceLock::new();
    TREE.get_or_init(|| {
        let leaves: Vec<Digest> = (0..MAX).map(|i| Digest::leaf(&i.to_be_bytes())).collect();
        let mut mem = MemoryHashes::new();
        let mut roots = vec![mem.root()];
        for leaf in &leaves {
            mem.push(*leaf).unwrap();
            roots.push(mem.root());
        }
        (mem, leaves, roots)
    })
}

fn size_and_index() -> impl Strategy<Value = (u64, u64)> {
    (1..=MAX).prop_flat_map(|size| (Just(size), 0..size))
}

fn old_and_new() -> impl Strategy<Value = (u64, u64)> {
    (0..=MAX).prop_flat_map(|new| (0..=new, Just(new)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn inclusion_proofs_verify_and_mutations_fail(
        (size, index) in size_and_index(),
        pick in any::<prop::sample::Index>(),
        bit in 0u8..8,
        other_index in 0..MAX,
        other_size in 1..=MAX,
    ) {
        let (mem, leaves, roots) = tree();
        let leaf = leaves[index as usize];
        let root = roots[size as usize];
        let proof = merkle::prove_inclusion(index, size, mem).unwrap();
        prop_assert!(merkle::verify_inclusion(leaf, index, size, &proof, root).is_ok());

        if !proof.is_empty() {
            let mut bad = proof.clone();
            let i = pick.index(bad.len());
            bad[i].0[usize::from(bit) * 4] ^= 1 << bit;
            prop_assert!(merkle::verify_inclusion(leaf, index, size, &bad, root).is_err());
            // Dropping or adding a hash is a wrong length.
            prop_assert!(merkle::verify_inclusion(leaf, index, size, &proof[1..], root).is_err());
        }
        let mut longer = proof.clone();
        longer.push(leaf);
        prop_assert!(merkle::verify_inclusion(leaf, index, size, &longer, root).is_err());
        if other_index != index {
            prop_assert!(merkle::verify_inclusion(leaf, other_index, size, &proof, root).is_err());
        }
        if other_size != size {
            let other_root = roots[other_size as usize];
            prop_assert!(merkle::verify_inclusion(leaf, index, other_size, &proof, other_root).is_err());
        }
        let mut wrong_leaf = leaf;
        wrong_leaf.0[31] ^= 0x80;
        prop_assert!(merkle::verify_inclusion(wrong_leaf, index, size, &proof, root).is_err());
    }

    #[test]
    fn consistency_proofs_verify_and_mutations_fail(
        (old, new) in old_and_new(),
        pick in any::<prop::sample::Index>(),
        bit in 0u8..8,
        other_old in 0..=MAX,
        other_new in 0..=MAX,
    ) {
        let (mem, _, roots) = tree();
        let (r_old, r_new) = (roots[old as usize], roots[new as usize]);
        let proof = merkle::prove_consistency(old, new, mem).unwrap();
        prop_assert!(merkle::verify_consistency(old, r_old, new, r_new, &proof).is_ok());

        if !proof.is_empty() {
            let mut bad = proof.clone();
            let i = pick.index(bad.len());
            bad[i].0[usize::from(bit) * 4] ^= 1 << bit;
            prop_assert!(merkle::verify_consistency(old, r_old, new, r_new, &bad).is_err());
            prop_assert!(merkle::verify_consistency(old, r_old, new, r_new, &proof[1..]).is_err());
        }
        let mut longer = proof.clone();
        longer.push(r_old);
        prop_assert!(merkle::verify_consistency(old, r_old, new, r_new, &longer).is_err());
        // (Size 0 is exempt: the empty tree is a prefix of every tree, by design.)
        if other_old != old && other_old != 0 && other_old <= new {
            let r = roots[other_old as usize];
            prop_assert!(merkle::verify_consistency(other_old, r, new, r_new, &proof).is_err());
        }
        if other_new != new && old != 0 && other_new >= old {
            let r = roots[other_new as usize];
            prop_assert!(merkle::verify_consistency(old, r_old, other_new, r, &proof).is_err());
        }
        if old > 0 {
            let mut wrong = r_old;
            wrong.0[0] ^= 1;
            prop_assert!(merkle::verify_consistency(old, wrong, new, r_new, &proof).is_err());
        }
    }

    #[test]
    fn frontier_resumes_from_stored_hashes(size in 0..=MAX, more in 0u64..40) {
        let (mem, leaves, roots) = tree();
        let mut f = Frontier::from_reader(size, mem).unwrap();
        prop_assert_eq!(f.root(), roots[size as usize]);
        let end = (size + more).min(MAX);
        let mut appended = Vec::new();
        for i in size..end {
            appended.extend(f.push(leaves[i as usize]).unwrap());
        }
        prop_assert_eq!(f.root(), roots[end as usize]);
        // The resumed frontier wrote exactly the hashes the full tree holds there.
        let from = merkle::stored_hash_count(size).unwrap() as usize;
        let to = merkle::stored_hash_count(end).unwrap() as usize;
        prop_assert_eq!(&appended[..], &mem.stored()[from..to]);
    }

    #[test]
    fn verifiers_never_panic_on_arbitrary_numbers(
        index in any::<u64>(),
        size in any::<u64>(),
        old in any::<u64>(),
        len in 0usize..70,
    ) {
        let d = Digest::leaf(b"x");
        let proof = vec![d; len];
        let _ = merkle::verify_inclusion(d, index, size, &proof, d);
        let _ = merkle::verify_consistency(old, d, size, d, &proof);
        let _ = merkle::prove_inclusion(index, size, &tree().0);
        let _ = merkle::prove_consistency(old, size, &tree().0);
        let _ = merkle::tree_root(size, &tree().0);
        let _ = merkle::stored_hash_index((index % 256) as u8, size);
    }
}
