//! `custody add source|informant|claim|figure`, and the bodies `sign` shares with it.

use super::{load_key, new_passphrase, open_writer, sign_and_add};
use crate::args::{AddCommand, ClaimArgs, FigureArgs, InformantArgs, SourceArgs};
use anyhow::{bail, Context, Result};
use custody_core::entry::{Body, Content};
use custody_core::seal::Opening;
use custody_store::clock::{os_rng, sign_now};
use custody_store::files;
use std::path::Path;

pub fn run(a: AddCommand, default: Option<&Path>) -> Result<()> {
    let l = |given| super::ledger_dir(given, default);
    match a {
        AddCommand::Source {
            ledger,
            key,
            store: keep,
            args,
        } => {
            let (body, sha256) = source_body(&args)?;
            let key = load_key(&key)?;
            let mut l = open_writer(&l(ledger)?)?;
            let origin = l.state().origin.clone();
            let sub = sign_now(&key, &origin, body)?;
            l.check(&sub)?;
            let stored = if keep {
                Some(l.store_document(&args.file, &sha256)?)
            } else {
                None
            };
            let r = l.append(sub)?;
            super::warn(&mut l);
            out!(
                "entry {} (source) appended; document SHA-256 {sha256}",
                r.index
            );
            if let Some(p) = stored {
                out!("stored copy: {}", p.display());
            }
            Ok(())
        }
        AddCommand::Informant { ledger, key, args } => {
            let key = load_key(&key)?;
            let mut l = open_writer(&l(ledger)?)?;
            let (body, opening) = informant_body(&args)?;
            let origin = l.state().origin.clone();
            let sub = sign_now(&key, &origin, body)?;
            l.check(&sub)?;
            // The seal is written before the entry so an acknowledged entry always has its opening.
            write_seal(&args, &opening)?;
            let r = l.append(sub)?;
            super::warn(&mut l);
            out!(
                "entry {} (informant {:?}) appended; commitment {}",
                r.index,
                args.alias,
                opening.commitment()
            );
            // Say plainly whether the opening is encrypted: without --encrypt or --seal-to
            // the file names the informant to whoever reads it.
            let how = if args.encrypt {
                "encrypted to a passphrase"
            } else if !args.seal_to.is_empty() || !args.seal_to_file.is_empty() {
                "encrypted to the age recipients given"
            } else {
                "NOT encrypted: it names the informant to anyone who reads it (--seal-to AGE_RECIPIENT or --encrypt encrypts it)"
            };
            out!(
                "opening written to {} (mode 0600, {how}); keep it off this machine",
                args.seal.display()
            );
            Ok(())
        }
        AddCommand::Claim {
            ledger,
            key,
            args,
            allow_duplicate: false,
        } => sign_and_add(&l(ledger)?, &key, claim_body(args)),
        AddCommand::Claim {
            ledger,
            key,
            args,
            allow_duplicate: true,
        } => add_repeat(&l(ledger)?, &key, claim_body(args)),
        AddCommand::Figure { ledger, key, args } => {
            sign_and_add(&l(ledger)?, &key, figure_body(args))
        }
    }
}

/// `add claim --allow-duplicate`: the claim as a deliberate repeat of the latest earlier copy
/// this key recorded; refused when there is none (a first copy needs no flag).
fn add_repeat(ledger: &Path, key: &Path, body: Body) -> Result<()> {
    let key = load_key(key)?;
    let mut l = open_writer(ledger)?;
    let origin = l.state().origin.clone();
    let probe = Content {
        origin: origin.clone(),
        signer: key.id(),
        claimed_time: 0,
        body: body.clone(),
    };
    let Some(latest) = l.latest_copy(&probe)? else {
        bail!(
            "--allow-duplicate: this key has not recorded this claim before, so it is no \
             duplicate; add it without --allow-duplicate"
        );
    };
    let Body::Claim {
        statement,
        count,
        unit,
        category,
        period,
        place,
        cites,
    } = body
    else {
        bail!("--allow-duplicate applies to claims only");
    };
    let repeat = Body::RepeatedClaim {
        statement,
        count,
        unit,
        category,
        period,
        place,
        cites,
        repeats: latest,
    };
    let sub = sign_now(&key, &origin, repeat)?;
    let a = l.append(sub)?;
    out!(
        "entry {} (claim, a deliberate repeat of entry {latest}) appended; leaf hash {}",
        a.index,
        a.leaf
    );
    super::warn(&mut l);
    Ok(())
}

/// A source body for the document `a.file` (hashed here), and its hash.
pub fn source_body(a: &SourceArgs) -> Result<(Body, custody_core::hash::Digest)> {
    let (sha256, size) = files::hash_file(&a.file)?;
    let body = Body::Source {
        sha256,
        size,
        title: a.title.clone(),
        publisher: a.publisher.clone(),
        date: a.date.clone(),
        kind: a.kind,
        locator: a.locator.clone(),
    };
    Ok((body, sha256))
}

pub fn claim_body(a: ClaimArgs) -> Body {
    Body::Claim {
        statement: a.statement,
        count: a.count,
        unit: a.unit,
        category: a.category,
        period: a.period,
        place: a.place,
        cites: a.sources,
    }
}

pub fn figure_body(a: FigureArgs) -> Body {
    match a.supersedes {
        None => Body::Figure {
            label: a.label,
            value: a.value,
            qualifier: a.qualifier,
            unit: a.unit,
            terms: a.terms,
        },
        Some(supersedes) => Body::SupersedingFigure {
            label: a.label,
            value: a.value,
            qualifier: a.qualifier,
            unit: a.unit,
            terms: a.terms,
            supersedes,
        },
    }
}

/// The informant body and its opening (a fresh salt over the identity file's text).
pub fn informant_body(a: &InformantArgs) -> Result<(Body, Opening)> {
    let identity = files::read_small_text(&a.identity_file)
        .with_context(|| format!("cannot read identity file {}", a.identity_file.display()))?;
    let opening = Opening::new(&a.alias, identity.trim_end().as_bytes(), &mut os_rng())?;
    let body = Body::Informant {
        alias: a.alias.clone(),
        commitment: opening.commitment(),
    };
    Ok((body, opening))
}

/// Writes the seal file (mode 0600, never replacing one), encrypted if asked.
pub fn write_seal(a: &InformantArgs, opening: &Opening) -> Result<()> {
    let to = if a.encrypt {
        files::SealTo::Passphrase(new_passphrase(&format!(
            "the seal file {}",
            a.seal.display()
        ))?)
    } else if !a.seal_to.is_empty() || !a.seal_to_file.is_empty() {
        files::SealTo::Recipients(files::parse_recipients(&a.seal_to, &a.seal_to_file)?)
    } else {
        files::SealTo::Clear
    };
    files::write_seal(&a.seal, opening, to)
        .with_context(|| format!("cannot write seal file {}", a.seal.display()))
}
