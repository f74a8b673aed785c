//! The command-line shell: turns arguments into library calls and results into text.
//!
//! Only this module and `main.rs` print. Errors get context here (anyhow); a failed verification
//! is the distinct [`Failed`] error so `main` can exit 1 for it and 2 for everything else.

/// `println!` panics on a closed pipe; this returns the error instead.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?;
    }};
}

pub mod args;
mod bundle;
mod show;

use age::secrecy::SecretString;
use anyhow::{anyhow, bail, Context, Result};
use args::{AddCommand, Cli, Command, KeyCommand, ProveCommand, SignCommand};
use custody::entry::{Body, Content, Qualifier, Role, SourceKind, Submission};
use custody::keys::{self, KeyError, SecretKey};
use custody::seal::{Opening, SEALED_MAGIC};
use custody::store::{self, Access, Ledger};
use custody::{checkpoint, verify};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Verification found the evidence not to be what it claims: exit code 1.
#[derive(Debug)]
pub struct Failed(pub String);

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Failed {}

/// Runs one command.
///
/// # Errors
/// [`Failed`] when verification fails; anything else for usage, input or I/O problems.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Key(k) => key_command(k),
        Command::Init {
            ledger,
            origin,
            key,
        } => init(&ledger, &origin, &key),
        Command::Add(a) => add(a),
        Command::Sign(s) => sign(s),
        Command::Append { ledger, files } => append(&ledger, &files),
        Command::Correct {
            ledger,
            key,
            target,
            count,
            statement,
            reason,
        } => sign_and_add(
            &ledger,
            &key,
            Body::Correction {
                target,
                count,
                statement,
                reason,
            },
        ),
        Command::Retract {
            ledger,
            key,
            target,
            reason,
        } => sign_and_add(&ledger, &key, Body::Retraction { target, reason }),
        Command::Redact {
            ledger,
            key,
            target,
            reason,
        } => redact(&ledger, &key, target, reason),
        Command::Log { ledger, json } => show::log(&ledger, json),
        Command::Show {
            ledger,
            index,
            json,
        } => show::show(&ledger, index, json),
        Command::Verify {
            ledger,
            since,
            documents,
            strict,
            jobs,
            json,
        } => verify_cmd(&ledger, &since, documents, strict, jobs, json),
        Command::Figure {
            ledger,
            index,
            json,
        } => show::figure(&ledger, index, json),
        Command::Disclose { seal } => disclose(&seal),
        Command::CheckDisclosure {
            ledger,
            index,
            opening,
        } => check_disclosure(&ledger, index, &opening),
        Command::Checkpoint { ledger, key } => checkpoint_cmd(&ledger, &key),
        Command::Prove(p) => prove(p),
        Command::Repair { ledger } => repair(&ledger),
        Command::Import {
            ledger,
            key,
            file,
            batch,
        } => crate::import::import(&ledger, &key, &file, batch),
        Command::Export(a) => bundle::export(a),
        Command::Check(a) => bundle::check(a),
        Command::Exhibit(a) => bundle::exhibit(a),
    }
}

/// A passphrase from `CUSTODY_PASSPHRASE`, or a prompt on the terminal.
pub fn passphrase(prompt: &str) -> Result<SecretString, KeyError> {
    if let Ok(p) = std::env::var("CUSTODY_PASSPHRASE") {
        return Ok(SecretString::from(p));
    }
    if !std::io::stdin().is_terminal() {
        return Err(KeyError::Passphrase(
            "a passphrase is needed: set CUSTODY_PASSPHRASE or run on a terminal".into(),
        ));
    }
    rpassword::prompt_password(prompt)
        .map(SecretString::from)
        .map_err(|e| KeyError::Passphrase(format!("cannot read passphrase: {e}")))
}

/// Loads a secret key, asking for its passphrase if it is encrypted.
pub fn load_key(path: &Path) -> Result<SecretKey> {
    keys::load_secret(path, || {
        passphrase(&format!("Passphrase for {}: ", path.display()))
    })
    .with_context(|| format!("cannot use secret key {}", path.display()))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Signs `body` for `origin` with `key`.
pub fn make_submission(key: &SecretKey, origin: &str, body: Body) -> Result<Submission> {
    let content = Content {
        origin: origin.to_string(),
        signer: key.id(),
        claimed_time: now(),
        body,
    };
    Ok(content.sign(key.signing_key())?)
}

fn open_writer(ledger: &Path) -> Result<Ledger> {
    Ledger::open(ledger, Access::Write)
        .with_context(|| format!("cannot open ledger {}", ledger.display()))
}

/// Opens a ledger for reading.
pub fn open_reader(ledger: &Path) -> Result<Ledger> {
    Ledger::open(ledger, Access::Read)
        .with_context(|| format!("cannot open ledger {}", ledger.display()))
}

fn sign_and_add(ledger: &Path, key: &Path, body: Body) -> Result<()> {
    let key = load_key(key)?;
    let mut l = open_writer(ledger)?;
    let origin = l.state().origin.clone();
    let kind = body.kind();
    let sub = make_submission(&key, &origin, body)?;
    let a = l.append(sub)?;
    out!("entry {} ({kind}) appended; leaf hash {}", a.index, a.leaf);
    Ok(())
}

fn key_command(k: KeyCommand) -> Result<()> {
    match k {
        KeyCommand::New { name, dir, encrypt } => {
            let key = SecretKey::generate(&name)?;
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let sec = dir.join(format!("{name}.key"));
            let pubp = dir.join(format!("{name}.pub"));
            if pubp.exists() {
                bail!(
                    "{} already exists; custody never overwrites a key (move it away first)",
                    pubp.display()
                );
            }
            let pass = if encrypt {
                Some(passphrase("New passphrase: ")?)
            } else {
                None
            };
            let text = key.to_file_text(pass, None)?;
            keys::write_private_file(&sec, text.as_bytes())?;
            std::fs::write(&pubp, key.public().to_file_text())
                .with_context(|| format!("cannot write {}", pubp.display()))?;
            out!(
                "secret key: {} (mode 0600{})",
                sec.display(),
                if encrypt {
                    ", passphrase-protected"
                } else {
                    ""
                }
            );
            out!("public key: {}", pubp.display());
            out!("key id:     {}", key.id());
            Ok(())
        }
        KeyCommand::Grant {
            ledger,
            key,
            public,
            role,
        } => {
            let p = keys::load_public(&public)?;
            let role = match role {
                args::RoleArg::Researcher => Role::Researcher,
                args::RoleArg::Reviewer => Role::Reviewer,
                args::RoleArg::Auditor => Role::Auditor,
            };
            sign_and_add(
                &ledger,
                &key,
                Body::KeyGrant {
                    key: p.bytes(),
                    name: p.name().to_string(),
                    role,
                },
            )
        }
        KeyCommand::Revoke {
            ledger,
            key,
            public,
            reason,
        } => {
            let p = keys::load_public(&public)?;
            sign_and_add(
                &ledger,
                &key,
                Body::KeyRevoke {
                    key: p.id(),
                    reason,
                },
            )
        }
        KeyCommand::Vkey { public, origin } => {
            let p = keys::load_public(&public)?;
            out!("{}", checkpoint::vkey(&origin, p.verifying_key())?);
            Ok(())
        }
    }
}

fn init(ledger: &Path, origin: &str, key: &Path) -> Result<()> {
    let key = load_key(key)?;
    let genesis = make_submission(
        &key,
        origin,
        Body::Genesis {
            operator: key.public().bytes(),
            name: key.name().to_string(),
        },
    )?;
    let l = Ledger::create(ledger, genesis)
        .with_context(|| format!("cannot create ledger {}", ledger.display()))?;
    let leaf = l.leaf(0)?;
    let vkey = checkpoint::vkey(origin, key.public().verifying_key())?;
    out!("ledger {} created for origin {origin}", ledger.display());
    out!("genesis (entry 0) leaf hash: {leaf}");
    out!("operator key id:             {}", key.id());
    out!("checkpoint verifier key:     {vkey}");
    out!("Publish the genesis hash and the verifier key: they are the ledger's trust anchor.");
    Ok(())
}

fn source_body(a: &args::SourceArgs) -> Result<Body> {
    let (sha256, size) = store::hash_file(&a.file)?;
    let kind = match a.kind {
        args::KindArg::NgoReport => SourceKind::NgoReport,
        args::KindArg::UnDocument => SourceKind::UnDocument,
        args::KindArg::Government => SourceKind::Government,
        args::KindArg::Media => SourceKind::Media,
        args::KindArg::Testimony => SourceKind::Testimony,
        args::KindArg::Other => SourceKind::Other,
    };
    Ok(Body::Source {
        sha256,
        size,
        title: a.title.clone(),
        publisher: a.publisher.clone(),
        date: a.date.clone(),
        kind,
        locator: a.locator.clone(),
    })
}

fn claim_body(a: args::ClaimArgs) -> Body {
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

fn figure_body(a: args::FigureArgs) -> Body {
    Body::Figure {
        label: a.label,
        value: a.value,
        qualifier: match a.qualifier {
            args::QualifierArg::AtLeast => Qualifier::AtLeast,
            args::QualifierArg::Exactly => Qualifier::Exactly,
            args::QualifierArg::About => Qualifier::About,
        },
        unit: a.unit,
        terms: a.terms,
    }
}

/// Makes the informant body and writes the seal file (refusing to overwrite one).
fn informant_body(a: &args::InformantArgs) -> Result<(Body, Opening)> {
    let identity = keys::read_small_text(&a.identity_file)
        .with_context(|| format!("cannot read identity file {}", a.identity_file.display()))?;
    let opening = Opening::new(&a.alias, identity.trim_end().as_bytes())?;
    let body = Body::Informant {
        alias: a.alias.clone(),
        commitment: opening.commitment(),
    };
    Ok((body, opening))
}

fn write_seal(a: &args::InformantArgs, opening: &Opening) -> Result<()> {
    let text = opening.to_text();
    let out = if a.encrypt {
        let ct = keys::encrypt_with_passphrase(
            text.as_bytes(),
            passphrase("Passphrase for the seal file: ")?,
            None,
        )?;
        use base64::Engine as _;
        format!(
            "{SEALED_MAGIC}\n{}\n",
            base64::engine::general_purpose::STANDARD.encode(ct)
        )
    } else {
        text.to_string()
    };
    if let Some(parent) = a.seal.parent() {
        std::fs::create_dir_all(parent).ok();
    }
    keys::write_private_file(&a.seal, out.as_bytes())
        .with_context(|| format!("cannot write seal file {}", a.seal.display()))?;
    Ok(())
}

fn add(a: AddCommand) -> Result<()> {
    match a {
        AddCommand::Source {
            ledger,
            key,
            store: keep,
            args,
        } => {
            let body = source_body(&args)?;
            let Body::Source { sha256, .. } = &body else {
                unreachable!("source_body makes sources")
            };
            let sha256 = *sha256;
            let key = load_key(&key)?;
            let mut l = open_writer(&ledger)?;
            let origin = l.state().origin.clone();
            let sub = make_submission(&key, &origin, body)?;
            l.check(&sub)?;
            if keep {
                // Copy first, then append: a stored copy without an entry is harmless and named
                // by `verify --documents`; an entry claiming a copy that is missing is not.
                let dest = l.document_path(&sha256);
                if !dest.exists() {
                    let tmp = dest.with_extension("tmp");
                    std::fs::copy(&args.file, &tmp)
                        .with_context(|| format!("cannot copy {}", args.file.display()))?;
                    let (h, _) = store::hash_file(&tmp)?;
                    if h != sha256 {
                        std::fs::remove_file(&tmp).ok();
                        bail!(
                            "{} changed while it was being stored; try again",
                            args.file.display()
                        );
                    }
                    std::fs::File::open(&tmp).and_then(|f| f.sync_all())?;
                    std::fs::rename(&tmp, &dest)?;
                }
            }
            let r = l.append(sub)?;
            out!(
                "entry {} (source) appended; document SHA-256 {sha256}",
                r.index
            );
            if keep {
                out!("stored copy: {}", l.document_path(&sha256).display());
            }
            Ok(())
        }
        AddCommand::Informant { ledger, key, args } => {
            let key = load_key(&key)?;
            let mut l = open_writer(&ledger)?;
            let (body, opening) = informant_body(&args)?;
            let origin = l.state().origin.clone();
            let sub = make_submission(&key, &origin, body)?;
            l.check(&sub)?;
            // The seal is written before the entry so an acknowledged entry always has its opening.
            write_seal(&args, &opening)?;
            let r = l.append(sub)?;
            out!(
                "entry {} (informant {:?}) appended; commitment {}",
                r.index,
                args.alias,
                opening.commitment()
            );
            out!(
                "opening sealed in {} (mode 0600); keep it off this machine",
                args.seal.display()
            );
            Ok(())
        }
        AddCommand::Claim { ledger, key, args } => sign_and_add(&ledger, &key, claim_body(args)),
        AddCommand::Figure { ledger, key, args } => sign_and_add(&ledger, &key, figure_body(args)),
    }
}

fn sign(s: SignCommand) -> Result<()> {
    let (offline, body, seal) = match s {
        SignCommand::Source { offline, args } => {
            let b = source_body(&args)?;
            (offline, b, None)
        }
        SignCommand::Informant { offline, args } => {
            let (b, o) = informant_body(&args)?;
            (offline, b, Some((args, o)))
        }
        SignCommand::Claim { offline, args } => (offline, claim_body(args), None),
    };
    if !checkpoint::valid_origin(&offline.origin) {
        bail!("invalid origin {:?}", offline.origin);
    }
    let key = load_key(&offline.key)?;
    let kind = body.kind();
    let sub = make_submission(&key, &offline.origin, body)?;
    if let Some((args, o)) = &seal {
        write_seal(args, o)?;
    }
    let bytes = sub.to_file_bytes()?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&offline.output)
        .with_context(|| {
            format!(
                "cannot create {} (custody never overwrites a file)",
                offline.output.display()
            )
        })?;
    std::io::Write::write_all(&mut f, &bytes)?;
    f.sync_all()?;
    out!(
        "signed {kind} submission for {} by key {} written to {}",
        offline.origin,
        key.id().short(),
        offline.output.display()
    );
    Ok(())
}

/// Reads at most `max` bytes of `path` and refuses a longer file without reading the rest. A
/// size taken from metadata first is not enough: `/dev/zero` or a FIFO reports length 0.
fn read_bounded(path: &Path, max: u64, what: &str) -> Result<Vec<u8>> {
    use std::io::Read as _;
    let cannot = || format!("cannot read {}", path.display());
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(max + 1).read_to_end(&mut bytes))
        .with_context(cannot)?;
    if bytes.len() as u64 > max {
        bail!("{} is too large to be {what}", path.display());
    }
    Ok(bytes)
}

fn append(ledger: &Path, files: &[PathBuf]) -> Result<()> {
    let mut subs = Vec::new();
    for f in files {
        let limit = custody::codec::MAX_RECORD_BYTES as u64 + 64;
        let bytes = read_bounded(f, limit, "a submission")?;
        let sub = Submission::from_file_bytes(&bytes)
            .with_context(|| format!("{} is not a valid submission", f.display()))?;
        subs.push(sub);
    }
    let mut l = open_writer(ledger)?;
    for (f, sub) in files.iter().zip(subs) {
        let kind = sub.content.body.kind();
        let a = l
            .append(sub)
            .with_context(|| format!("{} refused", f.display()))?;
        out!(
            "{}: entry {} ({kind}) appended; leaf hash {}",
            f.display(),
            a.index,
            a.leaf
        );
    }
    Ok(())
}

fn redact(ledger: &Path, key: &Path, target: u64, reason: String) -> Result<()> {
    let key = load_key(key)?;
    let mut l = open_writer(ledger)?;
    let origin = l.state().origin.clone();
    let entry = l.entry(target)?;
    let Body::Source { sha256, .. } = entry.content.body else {
        bail!(
            "entry {target} is a {}, not a source",
            entry.content.body.kind()
        );
    };
    let sub = make_submission(&key, &origin, Body::Redaction { target, reason })?;
    l.check(&sub)?;
    let path = l.document_path(&sha256);
    let a = l.append(sub)?;
    // The redaction is durable first; only then is the copy deleted, so a crash in between
    // leaves a copy that `verify --documents` names for deletion, never a silent loss.
    match std::fs::remove_file(&path) {
        Ok(()) => out!(
            "entry {} (redaction) appended; stored copy {} deleted",
            a.index,
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            out!(
                "entry {} (redaction) appended; no stored copy was present",
                a.index
            );
        }
        Err(e) => bail!(
            "redaction recorded as entry {}, but deleting {} failed: {e}",
            a.index,
            path.display()
        ),
    }
    Ok(())
}

fn verify_cmd(
    ledger: &Path,
    since: &[PathBuf],
    documents: bool,
    strict: bool,
    jobs: Option<usize>,
    json: bool,
) -> Result<()> {
    if let Some(j) = jobs {
        rayon::ThreadPoolBuilder::new()
            .num_threads(j.max(1))
            .build_global()
            .ok();
    }
    // No ledger to verify is a usage error (exit 2), not a failed verification (exit 1).
    if !ledger.join(store::ENTRIES).is_file() {
        bail!(store::StoreError::NotALedger(ledger.display().to_string()));
    }
    let mut notes = Vec::new();
    for p in since {
        let limit = checkpoint::MAX_NOTE_BYTES as u64;
        notes.push((p.clone(), read_bounded(p, limit, "a checkpoint")?));
    }
    let opts = verify::Options {
        since: notes,
        documents,
        strict,
    };
    let total = std::fs::metadata(ledger.join(store::ENTRIES))
        .map(|m| m.len())
        .unwrap_or(0);
    let bar = if std::io::stderr().is_terminal() && !json {
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "verifying {bar:40} {bytes}/{total_bytes} {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let result = verify::verify_ledger(ledger, &opts, &|n| bar.set_position(n));
    bar.finish_and_clear();
    match result {
        Ok(r) => {
            if json {
                let mut v = serde_json::to_value(&r)?;
                v["ok"] = serde_json::Value::Bool(true);
                out!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                show::print_report(&r)?;
            }
            Ok(())
        }
        Err(f) => {
            if json {
                let v = serde_json::json!({"ok": false, "error": {"entry": f.entry, "reason": f.reason}});
                out!("{}", serde_json::to_string_pretty(&v)?);
            }
            Err(Failed(format!("verification FAILED: {f}")).into())
        }
    }
}

fn read_seal(path: &Path) -> Result<Opening> {
    keys::check_private_mode(path)?;
    let text = keys::read_small_text(path)?;
    let opening_text = if let Some(rest) = text.strip_prefix(SEALED_MAGIC) {
        use base64::Engine as _;
        let ct = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .map_err(|_| anyhow!("{}: sealed opening is not valid base64", path.display()))?;
        let pt = keys::decrypt_with_passphrase(
            &ct,
            passphrase(&format!("Passphrase for {}: ", path.display()))?,
        )?;
        zeroize::Zeroizing::new(
            String::from_utf8(pt.to_vec()).map_err(|_| anyhow!("decrypted seal is not text"))?,
        )
    } else {
        text
    };
    Opening::from_text(&opening_text).with_context(|| format!("{}", path.display()))
}

fn disclose(seal: &Path) -> Result<()> {
    let o = read_seal(seal)?;
    // Printing the opening is this command's purpose: it is for a court, under seal.
    {
        use std::io::Write as _;
        write!(std::io::stdout().lock(), "{}", o.to_text().as_str())?;
    }
    Ok(())
}

fn check_disclosure(ledger: &Path, index: u64, opening: &Path) -> Result<()> {
    let text = keys::read_small_text(opening)?;
    let o = Opening::from_text(&text).with_context(|| format!("{}", opening.display()))?;
    let l = open_reader(ledger)?;
    let e = l.entry(index)?;
    let Body::Informant { alias, commitment } = e.content.body else {
        bail!(
            "entry {index} is a {}, not an informant",
            e.content.body.kind()
        );
    };
    if o.opens(&commitment) {
        out!(
            "OK: the opening matches entry {index} (informant {alias:?}), commitment {commitment}"
        );
        out!(
            "signed by key {} at claimed time {}",
            e.content.signer.short(),
            show::time(e.content.claimed_time)
        );
        Ok(())
    } else {
        Err(Failed(format!(
            "the opening does NOT match entry {index} (informant {alias:?}): wrong identity or salt"
        ))
        .into())
    }
}

fn checkpoint_cmd(ledger: &Path, key: &Path) -> Result<()> {
    let key = load_key(key)?;
    let l = open_reader(ledger)?;
    let op = l
        .state()
        .operator()
        .ok_or_else(|| anyhow!("ledger has no operator"))?;
    if op.public != key.public().bytes() {
        bail!(
            "{} is not the operator key of this ledger (operator key id {})",
            key.name(),
            op.id().short()
        );
    }
    let size = l.size();
    let root = l.root(size)?;
    let note = checkpoint::sign(&l.state().origin, size, root, key.signing_key())?;
    let path = l.record_checkpoint(size, &root, &note)?;
    {
        use std::io::Write as _;
        write!(std::io::stdout().lock(), "{note}")?;
    }
    eprintln!("recorded as {}", path.display());
    Ok(())
}

fn prove(p: ProveCommand) -> Result<()> {
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
                let v = serde_json::json!({
                    "leaf_index": index,
                    "tree_size": size,
                    "leaf_hash": leaf.to_hex(),
                    "root_hash": root.to_hex(),
                    "inclusion_path": proof.iter().map(|h| h.to_hex()).collect::<Vec<_>>(),
                });
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
                let v = serde_json::json!({
                    "tree_size_1": old,
                    "tree_size_2": new,
                    "root_hash_1": r1.to_hex(),
                    "root_hash_2": r2.to_hex(),
                    "consistency_path": proof.iter().map(|h| h.to_hex()).collect::<Vec<_>>(),
                });
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

fn repair(ledger: &Path) -> Result<()> {
    let mut l = open_writer(ledger)?;
    match l.repair()? {
        None => out!(
            "nothing to repair: the entries file ends at entry {}",
            l.size().saturating_sub(1)
        ),
        Some((side, bytes)) => out!(
            "cut {bytes} torn bytes after entry {}; they are kept in {}",
            l.size().saturating_sub(1),
            side.display()
        ),
    }
    Ok(())
}
