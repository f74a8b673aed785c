//! Golden vectors for `docs/FORMAT.md`: the worked example is rebuilt here from its fixed seeds
//! and compared byte for byte with hex constants that must also appear verbatim in the document,
//! so neither the code (or a bincode update) nor the document can drift from the other.
//!
//! `cargo test --test format_vectors -- --ignored --nocapture` prints every value.

mod common;

use custody_core::codec;
use custody_core::entry::{
    signed_message_of, Body, Content, Entry, KeyId, Qualifier, Submission, SUBMISSION_FILE_MAGIC,
};
use custody_core::hash::{Digest, SUBMISSION_CONTEXT};
use custody_core::keys::{PublicKey, SecretKey};
use custody_core::merkle;
use custody_core::seal::Opening;
use custody_store::frames::{encode_frame, FILE_MAGIC};

const DOC: &str = include_str!("../docs/FORMAT.md");

const ORIGIN: &str = "example.org/test";
const CLAIMED_TIME: i64 = 1_760_486_400; // 2025-10-15T00:00:00Z
const OPERATOR_SEED: [u8; 32] = [0x01; 32];
const RESEARCHER_SEED: [u8; 32] = [0x02; 32];
const DOCUMENT: &[u8] = b"custody FORMAT.md example document\n";
const INFORMANT_SALT: [u8; 32] = [0x03; 32];
const INFORMANT_IDENTITY: &[u8] = b"Example Person, Example City";

fn operator() -> SecretKey {
    SecretKey::from_seed("operator", &OPERATOR_SEED)
}

fn researcher() -> SecretKey {
    SecretKey::from_seed("researcher", &RESEARCHER_SEED)
}

fn content(signer: &SecretKey, body: Body) -> Content {
    Content {
        origin: ORIGIN.into(),
        signer: signer.id(),
        claimed_time: CLAIMED_TIME,
        body,
    }
}

/// The four submissions of the example ledger, in order.
fn submissions() -> Vec<Submission> {
    let op = operator();
    let re = researcher();
    let bodies = common::example_bodies(&op, &re, DOCUMENT);
    bodies
        .into_iter()
        .map(|(key, body)| content(key, body).sign(key.signing_key()).unwrap())
        .collect()
}

/// The sequenced entries, each chained to the leaf hash of the one before.
fn entries() -> Vec<Entry> {
    let mut prev = Digest::ZERO;
    let mut out = Vec::new();
    for (i, sub) in submissions().into_iter().enumerate() {
        let e = sub.into_entry(i as u64, prev);
        prev = Digest::leaf(&e.to_bytes().unwrap());
        out.push(e);
    }
    out
}

fn opening() -> Opening {
    Opening {
        alias: "Source A".into(),
        salt: INFORMANT_SALT,
        identity: INFORMANT_IDENTITY.to_vec(),
    }
}

fn h(b: &[u8]) -> String {
    hex::encode(b)
}

fn doc_has(s: &str) {
    assert!(
        DOC.contains(s),
        "docs/FORMAT.md does not quote this value verbatim:\n{s}"
    );
}

// ---- golden values (also quoted in docs/FORMAT.md) ----

const OPERATOR_PUBLIC: &str = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";
const OPERATOR_KEY_ID: &str = "34750f98bd59fcfc946da45aaabe933be154a4b5094e1c4abf42866505f3c97e";
const RESEARCHER_PUBLIC: &str = "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394";
const RESEARCHER_KEY_ID: &str = "6a3803d5f059902a1c6dafbc9ba4729212f7caac08634cc3ae76b27529f03827";

const GENESIS_CONTENT: &str =
    "10000000000000006578616d706c652e6f72672f7465737434750f98bd59fcfc946da45aaabe933be154a4b5094e1c4abf42866505f3c97e00e4ee6800000000000000008a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c08000000000000006f70657261746f72";
const GENESIS_SIGNATURE: &str =
    "5e841f3dc81436d5e2bfd26f30177e5273a95199c2a777589f90b2471ee7832fdb6fc561c919a79d41df592c762c076cc556a401a53d521e5797907d93c2dd0a";
const GENESIS_ENTRY: &str =
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000010000000000000006578616d706c652e6f72672f7465737434750f98bd59fcfc946da45aaabe933be154a4b5094e1c4abf42866505f3c97e00e4ee6800000000000000008a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c08000000000000006f70657261746f725e841f3dc81436d5e2bfd26f30177e5273a95199c2a777589f90b2471ee7832fdb6fc561c919a79d41df592c762c076cc556a401a53d521e5797907d93c2dd0a";
const GENESIS_LEAF: &str = "a2e99681e20eea9f928d5d5578ef0f357f5d96c08fe4f36ef69c223924402e04";

const GRANT_ENTRY: &str =
    "0100000000000000a2e99681e20eea9f928d5d5578ef0f357f5d96c08fe4f36ef69c223924402e0410000000000000006578616d706c652e6f72672f7465737434750f98bd59fcfc946da45aaabe933be154a4b5094e1c4abf42866505f3c97e00e4ee6800000000010000008139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b3940a00000000000000726573656172636865720000000083c31ec93cb1e19e0420fe857bc706f8c259bccfd29a1afbc466452d859527c8fe88d4c5d792a5c1c7fcdf1431d1c016a90176999794aea5423ad8d6e565d208";
const GRANT_LEAF: &str = "5cb9f691f62cc6aabbd9c1bba04ed827a0046c86c5253b16d04c4acdf098bd55";
const SOURCE_ENTRY: &str =
    "02000000000000005cb9f691f62cc6aabbd9c1bba04ed827a0046c86c5253b16d04c4acdf098bd5510000000000000006578616d706c652e6f72672f746573746a3803d5f059902a1c6dafbc9ba4729212f7caac08634cc3ae76b27529f0382700e4ee680000000003000000443bfc9de8b89be0d1f46cb2e3773287963a3b94c06ef6c526a967a2aebfc86b23000000000000000e000000000000004578616d706c65207265706f72740b000000000000004578616d706c65204e474f0700000000000000323032342d303300000000011a0000000000000068747470733a2f2f6578616d706c652e6f72672f7265706f727423003087a2c1b7120ac1574799d38d995266b93faa29856ada172b13c714df154b1292dec537236ca6c182970bbdf7b0c42b29b19bea747e790f8a16ff779006";
const SOURCE_LEAF: &str = "b467f9517c8197dad8f787dc9395d17b880e613bf46e226feef576747a5d0aaf";

const CLAIM_CONTENT: &str =
    "10000000000000006578616d706c652e6f72672f746573746a3803d5f059902a1c6dafbc9ba4729212f7caac08634cc3ae76b27529f0382700e4ee68000000000500000018000000000000003130382070656f706c6520776572652072657475726e6564016c00000000000000060000000000000070656f706c651300000000000000666f726365642d726570617472696174696f6e0700000000000000323032342d3031070000000000000059616e6269616e01000000000000000200000000000000";
const CLAIM_SIGNATURE: &str =
    "f957531af64a5ff84a8793bf9ecceb78fd6775cda17e67941544118941e31b58c047cf20b67bff19b86e6b120e3888217406ad9a4c5761539aa2700c95715a04";
const CLAIM_ENTRY: &str =
    "0300000000000000b467f9517c8197dad8f787dc9395d17b880e613bf46e226feef576747a5d0aaf10000000000000006578616d706c652e6f72672f746573746a3803d5f059902a1c6dafbc9ba4729212f7caac08634cc3ae76b27529f0382700e4ee68000000000500000018000000000000003130382070656f706c6520776572652072657475726e6564016c00000000000000060000000000000070656f706c651300000000000000666f726365642d726570617472696174696f6e0700000000000000323032342d3031070000000000000059616e6269616e01000000000000000200000000000000f957531af64a5ff84a8793bf9ecceb78fd6775cda17e67941544118941e31b58c047cf20b67bff19b86e6b120e3888217406ad9a4c5761539aa2700c95715a04";
const CLAIM_LEAF: &str = "35a0961b22beed7fc38e40d3b7dac45eb0a711dfd7b44382028ad5efe53b5360";

const ROOT_4: &str = "7ad8646366f59080122aa43475277a81bb07a1fa4f5d3bce9e000f58c3756170";
const ENTRIES_FILE_SHA256: &str =
    "bd1115089a8f17b3e4c412c4ffc2786364a16905b37f0d539fb19cd930f55ca2";
const INFORMANT_COMMITMENT: &str =
    "e562dc8f2f5ea8ea36b48ef1cd0a6e6b708e4f9bc7d08083a75014732942ef84";

#[test]
#[ignore = "prints the example values for docs/FORMAT.md"]
fn print_example_values() {
    let op = operator();
    let re = researcher();
    println!("operator public   {}", h(&op.public().bytes()));
    println!("operator key id   {}", op.id());
    println!("researcher public {}", h(&re.public().bytes()));
    println!("researcher key id {}", re.id());
    let subs = submissions();
    let es = entries();
    let mut file = FILE_MAGIC.to_vec();
    let mut leaves = Vec::new();
    for (s, e) in subs.iter().zip(&es) {
        let bytes = e.to_bytes().unwrap();
        let leaf = Digest::leaf(&bytes);
        leaves.push(leaf);
        let frame = encode_frame(&bytes, &leaf);
        file.extend_from_slice(&frame);
        println!("== entry {} ({})", e.index, e.content.body.kind());
        println!("content   {}", h(&codec::encode(&s.content).unwrap()));
        println!("signed    {}", h(&s.content.signed_bytes().unwrap()));
        println!("signature {}", h(&s.signature.0));
        println!("entry     {} ({} bytes)", h(&bytes), bytes.len());
        println!("leaf      {leaf}");
        println!("frame     {}", h(&frame));
        println!(".cust     {}", h(&s.to_file_bytes().unwrap()));
    }
    println!("root(4)   {}", merkle::root_of_leaves(&leaves));
    println!(
        "file      {} bytes sha256 {}",
        file.len(),
        Digest::of(&file)
    );
    println!(
        "document  sha256 {} size {}",
        Digest::of(DOCUMENT),
        DOCUMENT.len()
    );
    let o = opening();
    println!("commitment {}", o.commitment());
    println!("opening:\n{}", o.to_text().as_str());
    println!(
        "secret key file:\n{}",
        op.to_file_text(None).unwrap().as_str()
    );
    println!("public key file:\n{}", op.public().to_file_text());
    println!("public key file:\n{}", re.public().to_file_text());
}

const GOLDEN_ENTRIES: [(&str, &str); 4] = [
    (GENESIS_ENTRY, GENESIS_LEAF),
    (GRANT_ENTRY, GRANT_LEAF),
    (SOURCE_ENTRY, SOURCE_LEAF),
    (CLAIM_ENTRY, CLAIM_LEAF),
];

/// Hex of the context string "custody/v1/submission\0".
const CONTEXT_HEX: &str = "637573746f64792f76312f7375626d697373696f6e00";

#[test]
fn keys_and_key_ids() {
    let (op, re) = (operator(), researcher());
    assert_eq!(h(&op.public().bytes()), OPERATOR_PUBLIC);
    assert_eq!(op.id().to_hex(), OPERATOR_KEY_ID);
    assert_eq!(h(&re.public().bytes()), RESEARCHER_PUBLIC);
    assert_eq!(re.id().to_hex(), RESEARCHER_KEY_ID);
    // KeyId = SHA-256(public key), computed without the library's helper.
    assert_eq!(Digest::of(&op.public().bytes()).0, op.id().0);
    assert_eq!(KeyId::of(&re.public().bytes()), re.id());
    for v in [
        OPERATOR_PUBLIC,
        OPERATOR_KEY_ID,
        RESEARCHER_PUBLIC,
        RESEARCHER_KEY_ID,
    ] {
        doc_has(v);
    }
    // Key files, as the document shows them.
    let secret = op.to_file_text(None).unwrap();
    doc_has(secret.as_str());
    doc_has(&op.public().to_file_text());
    doc_has(&re.public().to_file_text());
    let back = SecretKey::from_file_text(&secret, |_| unreachable!()).unwrap();
    assert_eq!(back.id(), op.id());
    assert_eq!(
        PublicKey::from_file_text(&re.public().to_file_text()).unwrap(),
        re.public()
    );
}

#[test]
fn content_signature_entry_leaf_and_frame_match_the_document() {
    assert_eq!(h(SUBMISSION_CONTEXT), CONTEXT_HEX);
    doc_has(CONTEXT_HEX);
    let subs = submissions();
    let es = entries();
    let annotated = [
        (0, GENESIS_CONTENT, GENESIS_SIGNATURE),
        (3, CLAIM_CONTENT, CLAIM_SIGNATURE),
    ];
    for (i, content_hex, sig_hex) in annotated {
        let s = &subs[i];
        assert_eq!(h(&codec::encode(&s.content).unwrap()), content_hex);
        assert_eq!(
            h(&s.content.signed_bytes().unwrap()),
            format!("{CONTEXT_HEX}{content_hex}")
        );
        assert_eq!(h(&s.signature.0), sig_hex);
        doc_has(content_hex);
        doc_has(sig_hex);
        // The signature verifies strictly under the signer's key over context || content.
        let key = if i == 0 { operator() } else { researcher() };
        key.public()
            .verify(&s.content.signed_bytes().unwrap(), &s.signature.0)
            .unwrap();
    }
    let mut prev = Digest::ZERO;
    for (i, (e, (entry_hex, leaf_hex))) in es.iter().zip(GOLDEN_ENTRIES).enumerate() {
        let bytes = e.to_bytes().unwrap();
        assert_eq!(h(&bytes), entry_hex, "entry {i}");
        let leaf = Digest::leaf(&bytes);
        assert_eq!(leaf.to_hex(), leaf_hex, "leaf {i}");
        doc_has(entry_hex);
        doc_has(leaf_hex);
        // Layout: index u64 LE, prev, content, signature; leaf = SHA-256(0x00 || entry).
        assert_eq!(&bytes[..8], &(i as u64).to_le_bytes());
        assert_eq!(&bytes[8..40], &prev.0);
        let content = codec::encode(&e.content).unwrap();
        assert_eq!(&bytes[40..bytes.len() - 64], &content[..]);
        assert_eq!(&bytes[bytes.len() - 64..], &e.signature.0);
        assert_eq!(leaf, Digest::of_parts(&[&[0x00], &bytes]));
        assert_eq!(
            signed_message_of(&bytes).unwrap(),
            e.content.signed_bytes().unwrap()
        );
        // Frame: u32 LE length || entry || leaf.
        let frame = encode_frame(&bytes, &leaf);
        assert_eq!(
            h(&frame),
            format!(
                "{}{entry_hex}{leaf_hex}",
                h(&(bytes.len() as u32).to_le_bytes())
            )
        );
        if i == 0 || i == 3 {
            doc_has(&h(&frame));
        }
        // A .cust file: magic line, then content || signature.
        let file = subs[i].to_file_bytes().unwrap();
        let mut want = SUBMISSION_FILE_MAGIC.to_vec();
        want.extend_from_slice(&content);
        want.extend_from_slice(&e.signature.0);
        assert_eq!(file, want);
        assert_eq!(Submission::from_file_bytes(&file).unwrap(), subs[i]);
        prev = leaf;
    }
}

#[test]
fn decode_encode_round_trips() {
    for (e, s) in entries().iter().zip(submissions()) {
        let bytes = e.to_bytes().unwrap();
        assert_eq!(&Entry::from_bytes(&bytes).unwrap(), e);
        let sb = codec::encode(&s).unwrap();
        assert_eq!(codec::decode::<Submission>(&sb).unwrap(), s);
        let cb = codec::encode(&s.content).unwrap();
        assert_eq!(codec::decode::<Content>(&cb).unwrap(), s.content);
        assert_eq!(
            codec::decode::<Body>(&codec::encode(&s.content.body).unwrap()).unwrap(),
            s.content.body
        );
    }
}

/// Each kind added after the example ledger, alone, as FORMAT.md "Encodings of the later
/// kinds" quotes it.
fn later_bodies() -> Vec<(Body, &'static str)> {
    vec![(
        Body::Cite {
            target: 3,
            cites: vec![2],
            reason: "a second report".into(),
        },
        "0a0000000300000000000000010000000000000002000000000000000f0000000000000061207365636f6e64207265706f7274",
    ), (
        Body::SupersedingFigure {
            label: "Returned".into(),
            value: 107,
            qualifier: Qualifier::AtLeast,
            unit: "people".into(),
            terms: vec![3],
            supersedes: 4,
        },
        "0b000000080000000000000052657475726e65646b0000000000000000000000060000000000000070656f706c65010000000000000003000000000000000400000000000000",
    ), (
        Body::RepeatedClaim {
            statement: "5 returned".into(),
            count: Some(5),
            unit: "people".into(),
            category: "c".into(),
            period: "2024".into(),
            place: String::new(),
            cites: vec![2],
            repeats: 3,
        },
        "0c0000000a00000000000000352072657475726e6564010500000000000000060000000000000070656f706c650100000000000000630400000000000000323032340000000000000000010000000000000002000000000000000300000000000000",
    ), (
        Body::StateCommitment {
            size: 29,
            leaves: 1,
            root: Digest([0x11; 32]),
        },
        "0d0000001d0000000000000001000000000000001111111111111111111111111111111111111111111111111111111111111111",
    ), (
        Body::Review {
            target: 27,
            note: "checked".into(),
        },
        "0e0000001b000000000000000700000000000000636865636b6564",
    )]
}

#[test]
fn the_state_leaf_matches_the_document() {
    let data = custody_core::completeness::leaf_data(3, &[7, 9]);
    doc_has(&h(&data));
    doc_has(&h(custody_core::hash::STATE_LEAF_CONTEXT));
    let leaf = custody_core::completeness::leaf_hash(3, &[7, 9]);
    assert_eq!(leaf, Digest::leaf(&data));
    doc_has(&leaf.to_hex());
}

/// The first body tag no kind uses.
const FIRST_UNUSED_TAG: u32 = 14;

#[test]
fn later_body_kinds_match_the_document() {
    for (body, want) in later_bodies() {
        let bytes = codec::encode(&body).unwrap();
        assert_eq!(h(&bytes), want, "{body:?}");
        doc_has(want);
        assert_eq!(codec::decode::<Body>(&bytes).unwrap(), body);
        // Every prefix, and any extension, is refused.
        for cut in 0..bytes.len() {
            assert!(
                codec::decode::<Body>(&bytes[..cut]).is_err(),
                "prefix {cut}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(codec::decode::<Body>(&longer).is_err());
    }
    let mut past = codec::encode(&later_bodies()[0].0).unwrap();
    past[..4].copy_from_slice(&FIRST_UNUSED_TAG.to_le_bytes());
    assert!(
        codec::decode::<Body>(&past).is_err(),
        "tag {FIRST_UNUSED_TAG}"
    );
}

#[test]
fn truncated_extended_and_noncanonical_entries_are_rejected() {
    for (entry_hex, _) in GOLDEN_ENTRIES {
        let bytes = hex::decode(entry_hex).unwrap();
        for cut in 0..bytes.len() {
            assert!(Entry::from_bytes(&bytes[..cut]).is_err(), "prefix {cut}");
        }
        for extra in [0x00u8, 0x01, 0xff] {
            let mut longer = bytes.clone();
            longer.push(extra);
            assert!(
                Entry::from_bytes(&longer).is_err(),
                "extended by {extra:#04x}"
            );
        }
    }
    // Body tag past the last variant.
    let mut bad = hex::decode(CLAIM_ENTRY).unwrap();
    let tag_at = 40 + 8 + 16 + 32 + 8;
    assert_eq!(&bad[tag_at..tag_at + 4], &[5, 0, 0, 0]);
    bad[tag_at..tag_at + 4].copy_from_slice(&FIRST_UNUSED_TAG.to_le_bytes());
    assert!(
        Entry::from_bytes(&bad).is_err(),
        "variant tag {FIRST_UNUSED_TAG}"
    );
    // Option tag 2 (count) is not an encoding of anything.
    let mut bad = hex::decode(CLAIM_ENTRY).unwrap();
    let opt_at = tag_at + 4 + 8 + 24;
    assert_eq!(bad[opt_at], 1);
    bad[opt_at] = 2;
    assert!(Entry::from_bytes(&bad).is_err(), "option tag 2");
    // Invalid UTF-8 in the origin.
    let mut bad = hex::decode(CLAIM_ENTRY).unwrap();
    bad[40 + 8] = 0xff;
    assert!(Entry::from_bytes(&bad).is_err(), "origin not UTF-8");
    // Role tag past Auditor in the key grant.
    let mut bad = hex::decode(GRANT_ENTRY).unwrap();
    let role_at = bad.len() - 64 - 4;
    assert_eq!(&bad[role_at..role_at + 4], &[0, 0, 0, 0]);
    bad[role_at] = 3;
    assert!(Entry::from_bytes(&bad).is_err(), "role tag 3");
}

#[test]
fn entries_file_root_and_store_agree_with_the_document() {
    let mut file = FILE_MAGIC.to_vec();
    assert_eq!(FILE_MAGIC, b"custody-log-v1\n\0");
    let mut leaves = Vec::new();
    for (entry_hex, leaf_hex) in GOLDEN_ENTRIES {
        let bytes = hex::decode(entry_hex).unwrap();
        let leaf = Digest::from_hex(leaf_hex).unwrap();
        file.extend_from_slice(&encode_frame(&bytes, &leaf));
        leaves.push(leaf);
    }
    assert_eq!(file.len(), 1213);
    assert_eq!(Digest::of(&file).to_hex(), ENTRIES_FILE_SHA256);
    assert_eq!(merkle::root_of_leaves(&leaves).to_hex(), ROOT_4);
    doc_has(ENTRIES_FILE_SHA256);
    doc_has(ROOT_4);

    // The store writes exactly these bytes, and verify accepts them.
    let dir = tempfile::tempdir().unwrap();
    let ledger_dir = dir.path().join("ledger");
    let mut subs = submissions().into_iter();
    let mut ledger = custody_store::Ledger::create(&ledger_dir, subs.next().unwrap()).unwrap();
    for s in subs {
        ledger.append(s).unwrap();
    }
    drop(ledger);
    assert_eq!(
        std::fs::read(ledger_dir.join(custody_store::ENTRIES)).unwrap(),
        file
    );
    let report = custody_store::replay::verify_ledger(
        &ledger_dir,
        &custody_store::replay::Options::default(),
        &|_| {},
    )
    .unwrap();
    assert_eq!(report.entries, 4);
    assert_eq!(report.root, ROOT_4);
}

#[test]
fn informant_commitment_and_opening() {
    let o = opening();
    assert_eq!(o.commitment().to_hex(), INFORMANT_COMMITMENT);
    let mut pre = b"custody/v1/informant-commitment\0".to_vec();
    pre.extend_from_slice(&INFORMANT_SALT);
    pre.extend_from_slice(INFORMANT_IDENTITY);
    assert_eq!(Digest::of(&pre).to_hex(), INFORMANT_COMMITMENT);
    doc_has(INFORMANT_COMMITMENT);
    let text = o.to_text();
    doc_has(text.as_str());
    assert!(Opening::from_text(&text).unwrap().opens(&o.commitment()));
}

#[test]
fn document_hash_in_the_source_entry() {
    let d = Digest::of(DOCUMENT).to_hex();
    assert!(SOURCE_ENTRY.contains(&d));
    doc_has(&d);
}

#[test]
fn magic_strings_are_quoted_in_hex() {
    doc_has(&h(FILE_MAGIC));
    doc_has(&h(SUBMISSION_FILE_MAGIC));
    assert_eq!(FILE_MAGIC.len(), 16);
}
