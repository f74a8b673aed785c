//! clap structures: what the command line accepts. No I/O here.
//!
//! Choices of roles, source kinds and qualifiers come from custody-core's enums
//! ([`Named`]), so a new kind is added in one place.

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use custody_core::entry::{Named, Qualifier, Role, SourceKind};
use std::path::PathBuf;

/// A clap parser for one of custody-core's named enums.
fn named<T: Named + Send + Sync + Clone>() -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(T::ALL.iter().map(|v| v.name()))
        .try_map(|s: String| T::from_name(&s).ok_or_else(|| format!("unknown value {s:?}")))
}

// The "Examples:" blocks of the long help (`custody CMD --help`). Each is one story in a
// scratch directory holding keys/operator.* and keys/researcher.*: the commands run as written,
// in the order init, add claim, add figure, export, check, import, verify
// (tests/cli_habits.rs runs them all).

const INIT_EXAMPLES: &str = "\
Examples:
  custody key new operator
  custody init L --origin example.org/nk-repatriation --key keys/operator.key
  custody key vkey keys/operator.pub --origin example.org/nk-repatriation
  custody key grant L --key keys/operator.key --pub keys/researcher.pub --role researcher";

const ADD_CLAIM_EXAMPLES: &str = "\
Examples:
  custody add claim L --key keys/researcher.key \\
      --statement \"108 workers returned from Yanbian\" --count 108 \\
      --category forced-repatriation --period 2024-01 --place Yanbian --source 2
  custody add claim L --key keys/researcher.key \\
      --statement \"60 detainees returned through Dandong\" --count 60 \\
      --category forced-repatriation --period 2024-03..2024-06 --place Dandong --source 2";

const ADD_FIGURE_EXAMPLES: &str = "\
Examples:
  custody add figure L --key keys/researcher.key --label \"Returned since 2024\" \\
      --value 168 --qualifier at-least --sum 3,4";

const EXPORT_EXAMPLES: &str = "\
Examples:
  custody export L --figure 5 -o figure-168.json --key keys/operator.key
  custody export L --entry 3 -o claim-3.json";

const CHECK_EXAMPLES: &str = "\
The first line says how the subject stands as of the checkpoint: VERIFIED, or VERIFIED followed
by RETRACTED AT ENTRY N, SUPERSEDED BY N, KEY REVOKED AT ENTRY N, UNSUPPORTED or CHANGED SINCE
PUBLICATION. A retracted subject exits 1 unless --historical; a bundle that does not prove
that none of its entries' corrections, retractions, redactions, re-sourcings, supersessions
or revocations was left out exits 1 unless --allow-incomplete (docs/PROOFS.md).

Examples:
  custody check figure-168.json \\
      --trust \"$(custody key vkey keys/operator.pub --origin example.org/nk-repatriation)\"
  custody check figure-168.json --document report.pdf \\
      --trust \"$(custody key vkey keys/operator.pub --origin example.org/nk-repatriation)\"
  custody check figure-168.json --json \\
      --trust \"$(custody key vkey keys/operator.pub --origin example.org/nk-repatriation)\"";

const IMPORT_EXAMPLES: &str = "\
Examples:
  printf '%s\\n' '{\"kind\":\"claim\",\"statement\":\"12 returned\",\"count\":12,\"category\":\"forced-repatriation\",\"period\":\"2025\",\"cites\":[2]}' > cases.jsonl
  custody import L --key keys/researcher.key cases.jsonl --batch 1000";

const VERIFY_EXAMPLES: &str = "\
Examples:
  custody verify L
  custody verify L --strict --documents
  custody verify L --trust \"$(custody key vkey keys/operator.pub --origin example.org/nk-repatriation)\"
  custody verify L --json";

/// custody: a signed, append-only chain of custody for human-rights evidence.
#[derive(Parser, Debug)]
#[command(name = "custody", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Make, grant, revoke and show keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Create a ledger: entry 0 binds the origin to the operator key.
    #[command(after_long_help = INIT_EXAMPLES)]
    Init {
        /// The new ledger directory (must not exist or be empty).
        ledger: PathBuf,
        /// The log's origin, e.g. "example.org/nk-repatriation" (also the checkpoint key name).
        #[arg(long)]
        origin: String,
        /// The operator's secret key file.
        #[arg(long)]
        key: PathBuf,
    },
    /// Sign a submission and append it to a ledger.
    #[command(subcommand)]
    Add(AddCommand),
    /// Sign a submission offline (no ledger needed) into a .cust file.
    #[command(subcommand)]
    Sign(SignCommand),
    /// Sequence signed submission files (.cust) into the ledger.
    Append {
        /// The ledger directory.
        ledger: PathBuf,
        /// Submission files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Correct a claim (a new signed entry; the claim itself never changes).
    Correct {
        /// The ledger directory.
        ledger: PathBuf,
        /// Signer's secret key file.
        #[arg(long)]
        key: PathBuf,
        /// The claim's entry index.
        target: u64,
        /// The corrected count.
        #[arg(long)]
        count: Option<u64>,
        /// The corrected statement.
        #[arg(long)]
        statement: Option<String>,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Re-source a claim: add sources or informants it rests on (a new signed entry; the
    /// claim itself never changes). A claim all of whose sources were retracted is
    /// unsupported until it is re-sourced.
    Cite {
        /// The ledger directory.
        ledger: PathBuf,
        /// Signer's secret key file.
        #[arg(long)]
        key: PathBuf,
        /// The claim's entry index.
        target: u64,
        /// Added source or informant entries (comma-separated or repeated).
        #[arg(long = "source", value_delimiter = ',', required = true)]
        sources: Vec<u64>,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Retract a claim, source, informant or figure.
    Retract {
        /// The ledger directory.
        ledger: PathBuf,
        /// Signer's secret key file.
        #[arg(long)]
        key: PathBuf,
        /// The entry to retract.
        target: u64,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Delete a stored source document (e.g. to protect a witness) and record a signed redaction.
    Redact {
        /// The ledger directory.
        ledger: PathBuf,
        /// Signer's secret key file.
        #[arg(long)]
        key: PathBuf,
        /// The source entry.
        target: u64,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// One line per entry.
    Log {
        /// The ledger directory.
        ledger: PathBuf,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// One entry, whole; or a signed submission file (.cust) not yet in a ledger.
    Show {
        /// The ledger directory, or a submission file (.cust) made by `custody sign`.
        #[arg(value_name = "LEDGER|FILE.cust")]
        ledger: PathBuf,
        /// Entry index (with a ledger; not with a .cust file).
        index: Option<u64>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Replay the whole ledger: every hash, signature, grant, figure and checkpoint.
    #[command(after_long_help = VERIFY_EXAMPLES)]
    Verify(VerifyArgs),
    /// Explain a figure: its arithmetic, claims, sources, signers and hashes.
    Figure {
        /// The ledger directory.
        ledger: PathBuf,
        /// The figure's entry index.
        index: u64,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Print an informant's opening from its seal file (for a court, under seal).
    Disclose {
        /// The seal file.
        seal: PathBuf,
    },
    /// Check that an opening matches informant entry N.
    CheckDisclosure {
        /// The ledger directory.
        ledger: PathBuf,
        /// The informant's entry index.
        index: u64,
        /// The opening file (as printed by `disclose`).
        #[arg(long)]
        opening: PathBuf,
    },
    /// Sign a checkpoint of the current tree and record it in the ledger.
    Checkpoint {
        /// The ledger directory.
        ledger: PathBuf,
        /// The operator's secret key file.
        #[arg(long)]
        key: PathBuf,
    },
    /// Merkle proofs.
    #[command(subcommand)]
    Prove(ProveCommand),
    /// Cut a torn tail (a crash mid-append) back to the last whole entry.
    Repair {
        /// The ledger directory.
        ledger: PathBuf,
        /// Cut even entries a recorded checkpoint covers (they stay in a side file).
        #[arg(long)]
        force: bool,
    },
    /// Sign and append many submissions from JSON Lines (one body per line).
    #[command(after_long_help = IMPORT_EXAMPLES)]
    Import {
        /// The ledger directory.
        ledger: PathBuf,
        /// Signer's secret key file.
        #[arg(long)]
        key: PathBuf,
        /// The JSON Lines file.
        file: PathBuf,
        /// Entries per fsync (group commit).
        #[arg(long, default_value_t = 4096)]
        batch: usize,
    },
    /// Write a self-contained proof bundle of one entry or figure (docs/PROOFS.md).
    #[command(after_long_help = EXPORT_EXAMPLES)]
    Export(ExportArgs),
    /// Check a proof bundle offline against a trusted log key.
    #[command(after_long_help = CHECK_EXAMPLES)]
    Check(CheckArgs),
    /// Render a proof bundle as a printable HTML exhibit.
    Exhibit(ExhibitArgs),
    /// Print a shell completion script to standard output.
    #[command(after_long_help = "\
Install:
  bash: custody completions bash > ~/.local/share/bash-completion/completions/custody
  zsh:  custody completions zsh > ~/.zfunc/_custody   (with fpath+=~/.zfunc in ~/.zshrc)
  fish: custody completions fish > ~/.config/fish/completions/custody.fish")]
    Completions {
        /// The shell.
        shell: CompletionShell,
    },
    /// Man pages: custody.1 on standard output, or with -o one page per command in DIR.
    #[command(after_long_help = "\
Examples:
  custody man | man -l -
  custody man -o man && man -l man/custody.1
  custody man -o ~/.local/share/man/man1      # then: man custody, man custody-verify")]
    Man {
        /// Write every page (custody.1, custody-verify.1, ...) into this directory.
        #[arg(short = 'o', long = "output", value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Replace pages already in DIR.
        #[arg(long)]
        force: bool,
    },
}

/// The shells `custody completions` writes scripts for.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum CompletionShell {
    /// GNU bash.
    Bash,
    /// Z shell.
    Zsh,
    /// fish.
    Fish,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The ledger directory.
    pub ledger: PathBuf,
    /// An older signed checkpoint the log must still extend (repeatable).
    #[arg(long)]
    pub since: Vec<PathBuf>,
    /// Re-hash stored documents.
    #[arg(long)]
    pub documents: bool,
    /// Fail (exit 1) if a figure's claims changed after it was published.
    #[arg(long)]
    pub strict: bool,
    /// The log key you trust, as a C2SP vkey (ORIGIN+KEYID+BASE64), from the operator: fail
    /// (exit 1) unless the ledger's origin and operator key are this key's. Without it or
    /// --operator, verify checks only that the ledger is consistent with itself.
    #[arg(long, value_name = "VKEY", conflicts_with = "operator")]
    pub trust: Option<String>,
    /// The operator key id you trust, from the operator: its 64 hex digits, or the 16-digit
    /// short form custody prints. Fail (exit 1) unless the ledger's operator key has it.
    #[arg(long, value_name = "KEY_ID")]
    pub operator: Option<String>,
    /// Threads for signature checks (default: all cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// One JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("subject").required(true).args(["entry", "figure"])))]
pub struct ExportArgs {
    /// The ledger directory.
    pub ledger: PathBuf,
    /// Export this entry and everything beneath it.
    #[arg(long)]
    pub entry: Option<u64>,
    /// Export this figure and everything beneath it.
    #[arg(long)]
    pub figure: Option<u64>,
    /// Where to write the bundle (never overwritten without --force).
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// The operator's secret key: commit to the log's amendment state and sign a checkpoint
    /// of the whole log (`custody checkpoint`), unless the latest checkpoint already covers the
    /// whole log and ends in a state commitment, so that the bundle proves complete.
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// Overwrite the output file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The bundle.
    pub bundle: PathBuf,
    /// The log key you trust, as a C2SP vkey (ORIGIN+KEYID+BASE64), from the operator.
    #[arg(long)]
    pub trust: String,
    /// A file that must be the document of one of the bundle's live (not retracted) sources,
    /// compared by SHA-256 (repeatable: every file given must match).
    #[arg(long)]
    pub document: Vec<PathBuf>,
    /// Check a retracted subject as it was published: report it (the first line still says
    /// RETRACTED) and exit 0. Without it, a retracted subject exits 1: it must not be relied
    /// on as current.
    #[arg(long)]
    pub historical: bool,
    /// Accept a bundle that does not prove its amendments complete to its checkpoint (no state
    /// commitment, or one before the checkpoint's last entry), saying what it does not prove.
    /// Without it such a bundle exits 1: a correction, retraction or revocation could have been
    /// left out of it unseen.
    #[arg(long)]
    pub allow_incomplete: bool,
    /// One JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ExhibitArgs {
    /// The bundle.
    pub bundle: PathBuf,
    /// Where to write the HTML page (never overwritten without --force).
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// The log key to check the bundle against (default: the bundle's own, which the page
    /// then says must be compared with the operator's published key).
    #[arg(long)]
    pub trust: Option<String>,
    /// Overwrite the output file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Generate a key pair: DIR/NAME.key (mode 0600) and DIR/NAME.pub.
    New {
        /// The key's name.
        name: String,
        /// Where to write it.
        #[arg(long, default_value = "keys")]
        dir: PathBuf,
        /// Encrypt the secret key with a passphrase (CUSTODY_PASSPHRASE or a prompt).
        #[arg(long)]
        encrypt: bool,
        /// Print the full 64-digit key id, not the 16-digit short form.
        #[arg(long)]
        full: bool,
    },
    /// One line per public key (*.pub) in DIR: name, key id, file; with --ledger, its role there.
    List {
        /// The key directory.
        #[arg(default_value = "keys")]
        dir: PathBuf,
        /// Show the role each key has in this ledger (granted, revoked or unknown).
        #[arg(long)]
        ledger: Option<PathBuf>,
        /// Print full 64-digit key ids.
        #[arg(long)]
        full: bool,
    },
    /// A key file's name and key id (a .pub, or a .key without printing its secret).
    Show {
        /// The .pub or .key file.
        file: PathBuf,
        /// Print the full 64-digit key id.
        #[arg(long)]
        full: bool,
    },
    /// Grant a key a role on a ledger (signed by the operator).
    Grant {
        /// The ledger directory.
        ledger: PathBuf,
        /// The operator's secret key file.
        #[arg(long)]
        key: PathBuf,
        /// The public key file to grant.
        #[arg(long = "pub")]
        public: PathBuf,
        /// The role.
        #[arg(long, value_parser = named::<Role>())]
        role: Role,
    },
    /// Revoke a key from the next entry on (signed by the operator).
    Revoke {
        /// The ledger directory.
        ledger: PathBuf,
        /// The operator's secret key file.
        #[arg(long)]
        key: PathBuf,
        /// The public key file to revoke.
        #[arg(long = "pub")]
        public: PathBuf,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Print the C2SP verifier key (vkey) for checkpoints signed with this key.
    Vkey {
        /// The public key file.
        public: PathBuf,
        /// The log's origin (the key name in the vkey).
        #[arg(long)]
        origin: String,
    },
}

#[derive(Args, Debug)]
pub struct SourceArgs {
    /// The document.
    pub file: PathBuf,
    /// Its title.
    #[arg(long)]
    pub title: String,
    /// Who published it.
    #[arg(long)]
    pub publisher: String,
    /// Publication date: YYYY, YYYY-MM or YYYY-MM-DD.
    #[arg(long)]
    pub date: String,
    /// What kind of document.
    #[arg(long, value_parser = named::<SourceKind>())]
    pub kind: SourceKind,
    /// A URL or archive reference.
    #[arg(long)]
    pub locator: Option<String>,
}

#[derive(Args, Debug)]
pub struct InformantArgs {
    /// The alias recorded in the ledger.
    #[arg(long)]
    pub alias: String,
    /// A file holding the identity (never written to the ledger).
    #[arg(long)]
    pub identity_file: PathBuf,
    /// Where to write the opening (salt and identity), mode 0600.
    #[arg(long)]
    pub seal: PathBuf,
    /// Encrypt the seal file with a passphrase (CUSTODY_PASSPHRASE or a prompt).
    #[arg(long)]
    pub encrypt: bool,
}

#[derive(Args, Debug)]
pub struct ClaimArgs {
    /// The statement.
    #[arg(long)]
    pub statement: String,
    /// A count, if the claim counts people.
    #[arg(long)]
    pub count: Option<u64>,
    /// The count's unit.
    #[arg(long, default_value = "people")]
    pub unit: String,
    /// Category, e.g. forced-repatriation.
    #[arg(long)]
    pub category: String,
    /// When: YYYY[-MM[-DD]] or a range A..B.
    #[arg(long)]
    pub period: String,
    /// Where.
    #[arg(long, default_value = "")]
    pub place: String,
    /// Cited source or informant entries (comma-separated or repeated).
    #[arg(long = "source", value_delimiter = ',', required = true)]
    pub sources: Vec<u64>,
}

#[derive(Args, Debug)]
pub struct FigureArgs {
    /// The figure's label.
    #[arg(long)]
    pub label: String,
    /// The published value; must equal the sum.
    #[arg(long)]
    pub value: u64,
    /// at-least, exactly or about.
    #[arg(long, value_parser = named::<Qualifier>(), default_value = "exactly")]
    pub qualifier: Qualifier,
    /// Unit.
    #[arg(long, default_value = "people")]
    pub unit: String,
    /// Entries whose counts or values are summed (comma-separated).
    #[arg(long = "sum", value_delimiter = ',', required = true)]
    pub terms: Vec<u64>,
    /// The earlier figure this one supersedes (republishes): a figure of the same unit, not
    /// retracted and not superseded already. `verify --strict` accepts a changed figure once
    /// it is superseded by one that stands as published.
    #[arg(long, value_name = "N")]
    pub supersedes: Option<u64>,
}

#[derive(Subcommand, Debug)]
pub enum AddCommand {
    /// A source document, hashed with SHA-256.
    Source {
        /// The ledger directory.
        ledger: PathBuf,
        /// Signer's secret key file.
        #[arg(long)]
        key: PathBuf,
        /// Keep a copy in the ledger's documents/ folder.
        #[arg(long)]
        store: bool,
        #[command(flatten)]
        args: SourceArgs,
    },
    /// An informant: an alias and a salted commitment to the identity.
    Informant {
        /// The ledger directory.
        ledger: PathBuf,
        /// Signer's secret key file.
        #[arg(long)]
        key: PathBuf,
        #[command(flatten)]
        args: InformantArgs,
    },
    /// A claim citing sources or informants.
    #[command(after_long_help = ADD_CLAIM_EXAMPLES)]
    Claim {
        /// The ledger directory.
        ledger: PathBuf,
        /// Signer's secret key file.
        #[arg(long)]
        key: PathBuf,
        /// Record it although this key already recorded the same claim (a separate incident
        /// the sources describe in the same words): the entry is a deliberate repeat naming
        /// the latest earlier copy, so auditors see it. Without it, a second copy is refused,
        /// whatever its claimed time.
        #[arg(long)]
        allow_duplicate: bool,
        #[command(flatten)]
        args: ClaimArgs,
    },
    /// A figure: the sum of claims and other figures.
    #[command(after_long_help = ADD_FIGURE_EXAMPLES)]
    Figure {
        /// The ledger directory.
        ledger: PathBuf,
        /// Signer's secret key file.
        #[arg(long)]
        key: PathBuf,
        #[command(flatten)]
        args: FigureArgs,
    },
}

#[derive(Args, Debug)]
pub struct OfflineArgs {
    /// Signer's secret key file.
    #[arg(long)]
    pub key: PathBuf,
    /// The origin of the ledger it is meant for.
    #[arg(long)]
    pub origin: String,
    /// Where to write the submission.
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
}

#[derive(Subcommand, Debug)]
pub enum SignCommand {
    /// A source document.
    Source {
        #[command(flatten)]
        offline: OfflineArgs,
        #[command(flatten)]
        args: SourceArgs,
    },
    /// An informant.
    Informant {
        #[command(flatten)]
        offline: OfflineArgs,
        #[command(flatten)]
        args: InformantArgs,
    },
    /// A claim.
    Claim {
        #[command(flatten)]
        offline: OfflineArgs,
        #[command(flatten)]
        args: ClaimArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum ProveCommand {
    /// Audit path of an entry in the tree of size N.
    Inclusion {
        /// The ledger directory.
        ledger: PathBuf,
        /// Entry index.
        index: u64,
        /// Tree size (default: the whole log).
        #[arg(long)]
        size: Option<u64>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Proof that the tree of size OLD is a prefix of the tree of size NEW.
    Consistency {
        /// The ledger directory.
        ledger: PathBuf,
        /// Older size.
        old: u64,
        /// Newer size.
        new: u64,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}
