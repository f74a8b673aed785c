//! Ed25519 edge cases: custody's two verifiers, `keys::verify_strict` (entries) and
//! `checkpoint::StrictVerifier` (signed notes), against published malleability vectors.
//!
//! Both are ed25519-dalek's `verify_strict`, whose rules are:
//! - S must be canonical (S < L), so `S + nL` is not a second encoding of a signature;
//! - R and A must not be small-order points (order 1, 2, 4 or 8), in any encoding; this also
//!   refuses the non-canonical encodings of small-order points (y >= p, or x = 0 with the sign
//!   bit set), the only non-canonical encodings that decompress;
//! - the equation is cofactorless, `[S]B = R + [k]A`, so a signature whose R and A carry
//!   torsion components verifies only if they cancel exactly.
//!
//! A public key with a torsion component but a prime-order part too ("mixed order") is not
//! small-order, so `verify_strict` alone accepts speccheck case 3. custody refuses such keys
//! as well as small-order ones wherever a key is admitted (`PublicKey::from_bytes`, so key
//! files and grants, `KeyError::WeakKey`; `StrictVerifier::new`; genesis), so no custody key
//! can make cofactored and cofactorless verifiers disagree.

use custody_core::checkpoint::{CheckpointError, StrictVerifier};
use custody_core::entry::{Body, Content};
use custody_core::keys::{self, KeyError, PublicKey, SecretKey};
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use signed_note::Verifier as _;

fn h<const N: usize>(s: &str) -> [u8; N] {
    hex::decode(s).unwrap().try_into().unwrap()
}

/// One published case: message, public key, signature, and what custody must do with it.
struct Case {
    name: &'static str,
    msg: &'static str,
    pk: &'static str,
    sig: &'static str,
    /// Whether dalek's `verify_strict`, and so custody, accepts it.
    strict_accepts: bool,
    /// Whether the key is small-order, so custody refuses it before any signature is checked.
    weak_key: bool,
    /// Whether the key has a torsion component (mixed order), which custody also refuses when a
    /// key is granted, so that cofactored and cofactorless verifiers agree on every custody key.
    mixed_key: bool,
    why: &'static str,
}

/// The twelve vectors of "Taming the many EdDSAs" (Chalkias, Garillot, Nikolaenko, SSR 2020),
/// data copied from novifinancial/ed25519-speccheck `cases.txt` (the 12-case version; the
/// paper's Table 5 and the repository's results.md list "Dalek strict" as rejecting every case
/// but 3). Only msg/pk/sig hex is copied; the expectations are written here from dalek's rules.
const SPECCHECK: [Case; 12] = [
    Case {
        name: "speccheck 0",
        msg: "8c93255d71dcab10e8f379c26200f3c7bd5f09d9bc3068d3ef4edeb4853022b6",
        pk: "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        sig: "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a0000000000000000000000000000000000000000000000000000000000000000",
        strict_accepts: false,
        weak_key: true,
        mixed_key: false,
        why: "S = 0, small-order A and R: verifies for any message under the plain equation",
    },
    Case {
        name: "speccheck 1",
        msg: "9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
        pk: "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        sig: "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
        strict_accepts: false,
        weak_key: true,
        mixed_key: false,
        why: "0 < S < L, small-order A, mixed-order R",
    },
    Case {
        name: "speccheck 2",
        msg: "aebf3f2601a0c8c5d39cc7d8911642f740b78168218da8471772b35f9d35b9ab",
        pk: "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
        sig: "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa8c4bd45aecaca5b24fb97bc10ac27ac8751a7dfe1baff8b953ec9f5833ca260e",
        strict_accepts: false,
        weak_key: false,
        mixed_key: true,
        why: "mixed-order A, small-order R",
    },
    Case {
        name: "speccheck 3",
        msg: "9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
        pk: "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
        sig: "9046a64750444938de19f227bb80485e92b83fdb4b6506c160484c016cc1852f87909e14428a7a1d62e9f22f3d3ad7802db02eb2e688b6c52fcd6648a98bd009",
        strict_accepts: true,
        weak_key: false,
        mixed_key: true,
        why: "mixed-order A and R whose torsion cancels: passes the cofactorless equation, \
              and neither point is small-order, so verify_strict accepts",
    },
    Case {
        name: "speccheck 4",
        msg: "e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c",
        pk: "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
        sig: "160a1cb0dc9c0258cd0a7d23e94d8fa878bcb1925f2c64246b2dee1796bed5125ec6bc982a269b723e0668e540911a9a6a58921d6925e434ab10aa7940551a09",
        strict_accepts: false,
        weak_key: false,
        mixed_key: true,
        why: "mixed-order A and R: passes only the cofactored equation",
    },
    Case {
        name: "speccheck 5",
        msg: "e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c",
        pk: "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
        sig: "21122a84e0b5fca4052f5b1235c80a537878b38f3142356b2c2384ebad4668b7e40bc836dac0f71076f9abe3a53f9c03c1ceeeddb658d0030494ace586687405",
        strict_accepts: false,
        weak_key: false,
        mixed_key: true,
        why: "mixed-order A, residue left in [8]: passes only the cofactored equation",
    },
    Case {
        name: "speccheck 6",
        msg: "85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
        pk: "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
        sig: "e96f66be976d82e60150baecff9906684aebb1ef181f67a7189ac78ea23b6c0e547f7690a0e2ddcd04d87dbc3490dc19b3b3052f7ff0538cb68afb369ba3a514",
        strict_accepts: false,
        weak_key: false,
        mixed_key: false,
        why: "non-canonical S (S >= L), valid modulo L",
    },
    Case {
        name: "speccheck 7",
        msg: "85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
        pk: "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
        sig: "8ce5b96c8f26d0ab6c47958c9e68b937104cd36e13c33566acd2fe8d38aa19427e71f98a473474f2f13f06f97c20d58cc3f54b8bd0d272f42b695dd7e89a8c22",
        strict_accepts: false,
        weak_key: false,
        mixed_key: false,
        why: "non-canonical S much larger than L",
    },
    Case {
        name: "speccheck 8",
        msg: "9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41",
        pk: "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
        sig: "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff03be9678ac102edcd92b0210bb34d7428d12ffc5df5f37e359941266a4e35f0f",
        strict_accepts: false,
        weak_key: false,
        mixed_key: true,
        why: "non-canonical encoding of a small-order R, k hashed from R as sent",
    },
    Case {
        name: "speccheck 9",
        msg: "9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41",
        pk: "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
        sig: "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffca8c5b64cd208982aa38d4936621a4775aa233aa0505711d8fdcfdaa943d4908",
        strict_accepts: false,
        weak_key: false,
        mixed_key: true,
        why: "non-canonical encoding of a small-order R, k hashed from R re-encoded",
    },
    Case {
        name: "speccheck 10",
        msg: "e96b7021eb39c1a163b6da4e3093dcd3f21387da4cc4572be588fafae23c155b",
        pk: "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        sig: "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dca5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
        strict_accepts: false,
        weak_key: true,
        mixed_key: false,
        why: "non-canonical encoding of a small-order A, k hashed from A as sent",
    },
    Case {
        name: "speccheck 11",
        msg: "39a591f5321bbe07fd5a23dc2f39d025d74526615746727ceefd6e82ae65c06f",
        pk: "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        sig: "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dca5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
        strict_accepts: false,
        weak_key: true,
        mixed_key: false,
        why: "non-canonical encoding of a small-order A, k hashed from A re-encoded",
    },
];

/// Wycheproof `testvectors_v1/ed25519_test.json` (C2SP/wycheproof), data only.
/// tcId 63-70: the signature of "Test" under one key with S replaced by S + L, 2L, 4L, 8L,
/// 2^253, 2^254, 2^255 and p; every one is invalid (RFC 8032 section 5.1.7: S < L).
/// tcId 73 and 80 (RFC 8032 test 1) are valid signatures that must verify.
const WYCHEPROOF: [Case; 10] = {
    const PK: &str = "7d4d0e7f6153a69b6242b522abbee685fda4420f8834b108c3bdae369ef549fa";
    const fn bad_s(name: &'static str, sig: &'static str) -> Case {
        Case {
            name,
            msg: "54657374",
            pk: PK,
            sig,
            strict_accepts: false,
            weak_key: false,
            mixed_key: false,
            why: "S replaced by a larger value: not canonical",
        }
    }
    [
        bad_s("wycheproof 63 (S+L)", "7c38e026f29e14aabd059a0f2db8b0cd783040609a8be684db12f82a27774ab067654bce3832c2d76f8f6f5dafc08d9339d4eef676573336a5c51eb6f946b31d"),
        bad_s("wycheproof 64 (S+2L)", "7c38e026f29e14aabd059a0f2db8b0cd783040609a8be684db12f82a27774ab05439412b5395d42f462c67008eba6ca839d4eef676573336a5c51eb6f946b32d"),
        bad_s("wycheproof 65 (S+4L)", "7c38e026f29e14aabd059a0f2db8b0cd783040609a8be684db12f82a27774ab02ee12ce5875bf9dff26556464bae2ad239d4eef676573336a5c51eb6f946b34d"),
        bad_s("wycheproof 66 (S+8L)", "7c38e026f29e14aabd059a0f2db8b0cd783040609a8be684db12f82a27774ab0e2300459f1e742404cd934d2c595a6253ad4eef676573336a5c51eb6f946b38d"),
        bad_s("wycheproof 67 (S+2^253)", "7c38e026f29e14aabd059a0f2db8b0cd783040609a8be684db12f82a27774ab07a9155711ecfaf7f99f277bad0c6ae7e39d4eef676573336a5c51eb6f946b32d"),
        bad_s("wycheproof 68 (S+2^254)", "7c38e026f29e14aabd059a0f2db8b0cd783040609a8be684db12f82a27774ab07a9155711ecfaf7f99f277bad0c6ae7e39d4eef676573336a5c51eb6f946b34d"),
        bad_s("wycheproof 69 (S+2^255)", "7c38e026f29e14aabd059a0f2db8b0cd783040609a8be684db12f82a27774ab07a9155711ecfaf7f99f277bad0c6ae7e39d4eef676573336a5c51eb6f946b38d"),
        bad_s("wycheproof 70 (S+p)", "7c38e026f29e14aabd059a0f2db8b0cd783040609a8be684db12f82a27774ab0679155711ecfaf7f99f277bad0c6ae7e39d4eef676573336a5c51eb6f946b38d"),
        Case {
            name: "wycheproof 73 (valid)",
            msg: "54657374",
            pk: "a12c2beb77265f2aac953b5009349d94155a03ada416aad451319480e983ca4c",
            sig: "8a9bb4c465a3863abc9fd0dd35d80bb28f7d33d37d74679802d63f82b20da114b8d765a1206b3e9ad7cf2b2d8d778bb8651f1fa992db293c0039eacb6161480f",
            strict_accepts: true,
            weak_key: false,
        mixed_key: false,
            why: "an ordinary valid signature",
        },
        Case {
            name: "wycheproof 80 (RFC 8032 test 1)",
            msg: "",
            pk: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            sig: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
            strict_accepts: true,
            weak_key: false,
        mixed_key: false,
            why: "an ordinary valid signature",
        },
    ]
};

/// The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// `a + b` or `a - b` on 256-bit little-endian integers (wrapping; callers stay in range).
fn add_le(a: &[u8; 32], b: &[u8; 32], subtract: bool) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0i16;
    for i in 0..32 {
        let v = if subtract {
            i16::from(a[i]) - i16::from(b[i]) + carry
        } else {
            i16::from(a[i]) + i16::from(b[i]) + carry
        };
        out[i] = v.rem_euclid(256) as u8;
        carry = v.div_euclid(256);
    }
    out
}

fn with_s(sig: &[u8; 64], s: &[u8; 32]) -> [u8; 64] {
    let mut out = *sig;
    out[32..].copy_from_slice(s);
    out
}

/// Checks one case against every place custody accepts a key or a signature.
fn check(case: &Case) {
    let name = case.name;
    let msg = hex::decode(case.msg).unwrap();
    let pk: [u8; 32] = h(case.pk);
    let sig: [u8; 64] = h(case.sig);

    // 1. Key files and grants go through PublicKey::from_bytes.
    let refused = case.weak_key || case.mixed_key;
    match PublicKey::from_bytes("edge", &pk) {
        Err(KeyError::WeakKey) => assert!(refused, "{name}: key refused as weak"),
        Err(e) => panic!("{name}: key refused for another reason: {e}"),
        Ok(_) => assert!(!refused, "{name}: a small- or mixed-order key was accepted"),
    }
    assert_eq!(
        keys::acceptable_key(&VerifyingKey::from_bytes(&pk).unwrap()),
        !refused,
        "{name}"
    );

    // Every key in these vectors decompresses, so the signature checks below are reached
    // even for weak keys (as an attacker holding the raw key would try).
    let vk = VerifyingKey::from_bytes(&pk).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(vk.is_weak(), case.weak_key, "{name}: is_weak");

    // 2. Entry signatures: keys::verify_strict.
    assert_eq!(
        keys::verify_strict(&vk, &msg, &sig).is_ok(),
        case.strict_accepts,
        "{name}: keys::verify_strict ({})",
        case.why
    );

    // 3. Checkpoint signatures: StrictVerifier, which also refuses weak keys outright.
    match StrictVerifier::new("edge.example/log", vk) {
        Err(CheckpointError::WeakKey { .. }) => assert!(refused, "{name}: StrictVerifier"),
        Err(e) => panic!("{name}: StrictVerifier::new: {e}"),
        Ok(v) => {
            assert!(
                !refused,
                "{name}: StrictVerifier took a weak or mixed-order key"
            );
            assert_eq!(
                v.verify(&msg, &sig),
                case.strict_accepts,
                "{name}: StrictVerifier::verify ({})",
                case.why
            );
        }
    }
}

#[test]
fn taming_the_many_eddsas_vectors() {
    for case in &SPECCHECK {
        check(case);
    }
    // The vectors are live, not garbage: the permissive `verify` (cofactorless, no
    // small-order checks) accepts cases 0-3, the ones built to pass the plain equation.
    // Strictness alone is what refuses 0-2.
    for case in &SPECCHECK[..4] {
        let vk = VerifyingKey::from_bytes(&h(case.pk)).unwrap();
        let sig = Signature::from_bytes(&h(case.sig));
        assert!(
            vk.verify(&hex::decode(case.msg).unwrap(), &sig).is_ok(),
            "{}: permissive verify should accept",
            case.name
        );
    }
}

#[test]
fn wycheproof_scalar_malleability_vectors() {
    for case in &WYCHEPROOF {
        check(case);
    }
    // Subtracting L from tcId 63's S gives the original signature: same R, canonical S. It
    // verifies, so the only thing refused above is the non-canonical S.
    let sig: [u8; 64] = h(WYCHEPROOF[0].sig);
    let s: [u8; 32] = sig[32..].try_into().unwrap();
    let original = with_s(&sig, &add_le(&s, &L, true));
    let vk = VerifyingKey::from_bytes(&h(WYCHEPROOF[0].pk)).unwrap();
    keys::verify_strict(&vk, b"Test", &original).unwrap();
}

#[test]
fn a_custody_signature_with_s_plus_l_is_refused() {
    let key = SecretKey::from_seed("researcher", &[3u8; 32]);
    let content = Content {
        origin: "example.org/malleability".into(),
        signer: key.id(),
        claimed_time: 0,
        body: Body::Retraction {
            target: 1,
            reason: "test".into(),
        },
    };
    let msg = content.signed_bytes().unwrap();
    let sig = content.sign(key.signing_key()).unwrap().signature.0;
    let vk = *key.public().verifying_key();
    keys::verify_strict(&vk, &msg, &sig).unwrap();
    let s: [u8; 32] = sig[32..].try_into().unwrap();
    // S < L < 2^253, so S + L < 2^254 fits in 32 bytes: a second encoding of the same scalar.
    let malleated = with_s(&sig, &add_le(&s, &L, false));
    assert_ne!(malleated, sig);
    assert!(matches!(
        keys::verify_strict(&vk, &msg, &malleated),
        Err(KeyError::BadSignature)
    ));
    assert!(key.public().verify(&msg, &malleated).is_err());
}

#[test]
fn the_identity_key_forgery_is_refused() {
    // A = identity (small order 1), R = identity, S = 0: [0]B = R + [k]A holds for every
    // message, so the permissive verifier accepts this "signature" of anything.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut sig = [0u8; 64];
    sig[0] = 1;
    let vk = VerifyingKey::from_bytes(&identity).unwrap();
    for msg in [&b""[..], b"any message", b"custody/v1/submission\0forged"] {
        assert!(vk.verify(msg, &Signature::from_bytes(&sig)).is_ok());
        assert!(keys::verify_strict(&vk, msg, &sig).is_err());
    }
    assert!(matches!(
        PublicKey::from_bytes("forger", &identity),
        Err(KeyError::WeakKey)
    ));
    assert!(matches!(
        StrictVerifier::new("forger.example", vk),
        Err(CheckpointError::WeakKey { .. })
    ));
}
