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

const EXHIBIT_EXAMPLES: &str = "\
The page opens with one sentence: VERIFIED (followed by the subject's standing, as `check`
prints it) and what the figure is, whose log holds it, who witnessed and timestamped it. A
bundle that fails its check gets no page (exit 1, nothing written), nor does one that does not
prove that none of its entries' amendments was left out, unless --allow-incomplete (the first
page then says so).

Examples:
  custody exhibit figure-168.json -o figure-168.html \\
      --trust \"$(custody key vkey keys/operator.pub --origin example.org/nk-repatriation)\" \\
      --exhibit-id C-12 --case \"ICC-01/26\" --document report.pdf
  custody exhibit figure-168.json -o figure-168.html --policy policy.txt \\
      --tsa-cert tsa-root.pem
  chromium --headless --print-to-pdf=figure-168.pdf --no-pdf-header-footer \\
      file://$PWD/figure-168.html";

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

const VERIFY_PROOF_EXAMPLES: &str = "\
Examples:
  custody prove inclusion L 4 --tlog-proof > entry-4.proof
  custody verify-proof entry-4.proof --leaf de270da16632a1c66c0e0e5a148720a1c73839092c17f13ebaf586a3414920e0 \\
      --trust \"$(custody key vkey keys/operator.pub --origin example.org/nk-repatriation)\"";

const WITNESS_INIT_EXAMPLES: &str = "\
Examples:
  custody key new witness-amnesty
  custody witness init --state witness-state --key keys/witness-amnesty.key \\
      --name witness.amnesty.example/w1
  custody witness vkey --state witness-state";

const WITNESS_SERVE_EXAMPLES: &str = "\
Examples:
  custody key vkey keys/operator.pub --origin example.org/nk-repatriation >> witnessed-logs.txt
  custody witness serve --key keys/witness-amnesty.key --logs witnessed-logs.txt \\
      --state witness-state --listen 127.0.0.1:7380";

const VERIFY_EXAMPLES: &str = "\
Examples:
  custody verify L
  custody verify L --strict --documents
  custody verify L --trust \"$(custody key vkey keys/operator.pub --origin example.org/nk-repatriation)\"
  custody verify L --json";

const PUBLISH_EXAMPLES: &str = "\
Examples:
  custody checkpoint L --key keys/operator.key
  custody publish L /srv/www/nk-log";

const CLONE_EXAMPLES: &str = "\
Examples:
  custody clone http://127.0.0.1:8080/nk-log L2 \\
      --trust \"$(custody key vkey keys/operator.pub --origin example.org/nk-repatriation)\"
  custody clone /media/usb/nk-log L2 --trust \"$(cat operator.vkey)\"";

const MONITOR_EXAMPLES: &str = "\
Examples:
  custody monitor http://127.0.0.1:8080/nk-log --state ~/.custody/monitor \\
      --trust \"$(custody key vkey keys/operator.pub --origin example.org/nk-repatriation)\"";

const SERVE_EXAMPLES: &str = "\
Examples:
  custody serve L --listen 127.0.0.1:8080
  custody serve L --listen 127.0.0.1:8080 --key keys/operator.key --checkpoint-every 10s
  custody serve L --listen 127.0.0.1:8080 --publish /srv/www/nk-log
  custody serve L --key keys/operator.key --checkpoint-every 10s --publish /srv/www/nk-log";

const SUBMIT_EXAMPLES: &str = "\
Examples:
  custody sign claim --key keys/researcher.key --origin example.org/nk-repatriation \\
      --statement \"12 returned\" --count 12 --category forced-repatriation --period 2025 \\
      --source 2 -o field.cust
  custody submit http://127.0.0.1:8080 field.cust
  custody submit http://127.0.0.1:8080 field.cust \\
      --trust \"$(custody key vkey keys/operator.pub --origin example.org/nk-repatriation)\"";

/// Parses a command line whose ledger may come from `-L`/`CUSTODY_LEDGER` instead of its
/// place.
///
/// clap fills positionals from the left, so with a default ledger `custody correct 4 ...`
/// would take 4 for the ledger. The line is read as written first: a ledger in its place wins
/// over any default. Only if that fails is it read again without the ledger positional (every
/// positional then shifts one to the left and the ledger is left to `-L` or `CUSTODY_LEDGER`,
/// see `commands::ledger_dir`); if that fails too, the error shown is the second reading's when
/// a default ledger was given (the user meant the line that way), else the first's.
///
/// # Errors
/// clap's error (help and version included) for the line as written.
pub fn parse(argv: Vec<std::ffi::OsString>) -> Result<Cli, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    let read = |cmd: clap::Command| {
        cmd.try_get_matches_from(argv.iter())
            .and_then(|m| Cli::from_arg_matches(&m))
    };
    let first = match read(Cli::command()) {
        Ok(cli) => return Ok(cli),
        Err(e) => e,
    };
    if matches!(
        first.kind(),
        clap::error::ErrorKind::DisplayHelp
            | clap::error::ErrorKind::DisplayVersion
            | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        return Err(first);
    }
    // Whether -L or CUSTODY_LEDGER is there: only to choose which reading's error to show.
    let default_given = std::env::var_os("CUSTODY_LEDGER").is_some_and(|v| !v.is_empty())
        || argv.iter().skip(1).any(|a| {
            a.to_str().is_some_and(|s| {
                s == "--ledger" || s.starts_with("--ledger=") || s.starts_with("-L")
            })
        });
    read(without_ledger_positional(Cli::command())).map_err(|second| {
        if default_given {
            second
        } else {
            first
        }
    })
}

/// `cmd` with every positional `ledger` argument (in any subcommand) made a hidden option, so
/// that the positionals after it move up one place.
fn without_ledger_positional(mut cmd: clap::Command) -> clap::Command {
    if cmd
        .get_arguments()
        .any(|a| a.get_id() == "ledger" && a.is_positional())
    {
        cmd = cmd.mut_arg("ledger", |a| {
            a.required(false).long("ledger-in-place").hide(true)
        });
    }
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        cmd = cmd.mut_subcommand(name, without_ledger_positional);
    }
    cmd
}

/// custody: a signed, append-only chain of custody for human-rights evidence.
#[derive(Parser, Debug)]
#[command(
    name = "custody",
    version,
    about,
    long_about = None,
    after_long_help = "\
Environment:
  CUSTODY_LEDGER  the ledger directory, as -L DIR does: with CUSTODY_LEDGER=L, `custody
                  show 4` shows entry 4 of L; a ledger named in its usual place (`custody
                  log M`) wins over both
  CUSTODY_KEY     the signer key of the commands that sign evidence (never the operator's)
No configuration file is read, least of all one inside a ledger directory."
)]
pub struct Cli {
    /// The ledger directory, for the commands that take one: typed once, not per command. A
    /// ledger named in its own place (`custody verify L`) wins over this and CUSTODY_LEDGER.
    // Only the ledger's path comes from the environment: nothing is read from a configuration
    // file, least of all one inside the ledger directory, which could then change what is
    // trusted.
    #[arg(
        id = "default_ledger",
        short = 'L',
        long = "ledger",
        value_name = "DIR",
        env = "CUSTODY_LEDGER",
        global = true
    )]
    pub ledger: Option<PathBuf>,
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
        /// The new ledger directory, which must not exist or be empty (default: -L or
        /// CUSTODY_LEDGER).
        #[arg(required = true)]
        ledger: Option<PathBuf>,
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
        /// The ledger directory (default: -L or CUSTODY_LEDGER). With -L or CUSTODY_LEDGER
        /// set, a first path that is not a directory is a submission file, not the ledger.
        #[arg(required = true)]
        ledger: Option<PathBuf>,
        /// Submission files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Correct a claim (a new signed entry; the claim itself never changes).
    Correct {
        /// The ledger directory (default: -L or CUSTODY_LEDGER).
        #[arg(required = true)]
        ledger: Option<PathBuf>,
        /// Signer's secret key file.
        // Only signer keys default to $CUSTODY_KEY: operator and witness keys never do, so a
        // default can never make the wrong party sign as the operator or a witness.
        #[arg(long, env = "CUSTODY_KEY")]
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
        /// The ledger directory (default: -L or CUSTODY_LEDGER).
        #[arg(required = true)]
        ledger: Option<PathBuf>,
        /// Signer's secret key file.
        // Only signer keys default to $CUSTODY_KEY: operator and witness keys never do, so a
        // default can never make the wrong party sign as the operator or a witness.
        #[arg(long, env = "CUSTODY_KEY")]
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
        /// The ledger directory (default: -L or CUSTODY_LEDGER).
        #[arg(required = true)]
        ledger: Option<PathBuf>,
        /// Signer's secret key file.
        // Only signer keys default to $CUSTODY_KEY: operator and witness keys never do, so a
        // default can never make the wrong party sign as the operator or a witness.
        #[arg(long, env = "CUSTODY_KEY")]
        key: PathBuf,
        /// The entry to retract.
        target: u64,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Delete a stored source document (e.g. to protect a witness) and record a signed redaction.
    Redact {
        /// The ledger directory (default: -L or CUSTODY_LEDGER).
        #[arg(required = true)]
        ledger: Option<PathBuf>,
        /// Signer's secret key file.
        // Only signer keys default to $CUSTODY_KEY: operator and witness keys never do, so a
        // default can never make the wrong party sign as the operator or a witness.
        #[arg(long, env = "CUSTODY_KEY")]
        key: PathBuf,
        /// The source entry.
        target: u64,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Endorse a figure signed by someone else, with a reviewer's key ("figure N reviewed by
    /// K"): every report on the figure then names its reviewers.
    #[command(
        after_long_help = "Example:\n  custody review L --key keys/reviewer.key 27 --note \"terms checked against the report\""
    )]
    Review {
        /// The ledger directory (default: -L or CUSTODY_LEDGER).
        #[arg(required = true)]
        ledger: Option<PathBuf>,
        /// The reviewer's secret key file.
        // Only signer keys default to $CUSTODY_KEY: operator and witness keys never do, so a
        // default can never make the wrong party sign as the operator or a witness.
        #[arg(long, env = "CUSTODY_KEY")]
        key: PathBuf,
        /// The figure reviewed.
        target: u64,
        /// What was checked, in a sentence.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// One line per entry.
    Log {
        /// The ledger directory (default: -L or CUSTODY_LEDGER).
        #[arg(required = true)]
        ledger: Option<PathBuf>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// One entry, whole; or a signed submission file (.cust) not yet in a ledger.
    Show {
        /// The ledger directory, or a submission file (.cust) made by `custody sign`. With -L
        /// or CUSTODY_LEDGER, `custody show N` shows entry N of that ledger (a path made only
        /// of digits is then written ./N).
        #[arg(value_name = "LEDGER|FILE.cust")]
        target: PathBuf,
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
        /// The ledger directory (default: -L or CUSTODY_LEDGER).
        #[arg(required = true)]
        ledger: Option<PathBuf>,
        /// The figure's entry index.
        index: u64,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Print an informant's opening from its seal file (for a court, under seal), or write it
    /// to a new private file with -o.
    #[command(after_long_help = "\
Examples:
  custody disclose sealed/source-a.seal -o opening.txt
  custody check-disclosure L 3 --opening opening.txt")]
    Disclose {
        /// The seal file.
        seal: PathBuf,
        /// An age identity file (mode 0600) of one of the seal's recipients, for a seal
        /// made with --seal-to.
        #[arg(long, value_name = "FILE")]
        identity: Option<PathBuf>,
        /// Write the opening (it names the informant) to this new file, mode 0600, instead of
        /// standard output. An existing file or symbolic link there is refused unless --force;
        /// even then a link is replaced, never written through.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// Replace an existing file at -o.
        #[arg(long, requires = "output")]
        force: bool,
    },
    /// Check that an opening matches informant entry N.
    CheckDisclosure {
        /// The ledger directory (default: -L or CUSTODY_LEDGER).
        #[arg(required = true)]
        ledger: Option<PathBuf>,
        /// The informant's entry index.
        index: u64,
        /// The opening file (as printed by `disclose`).
        #[arg(long)]
        opening: PathBuf,
    },
    /// Get an RFC 3161 time-stamp token over a checkpoint from a TSA, verify it, store it.
    Timestamp(TimestampArgs),
    /// Sign a checkpoint of the current tree and record it in the ledger; with --policy, ask
    /// the policy's witnesses to cosign it (C2SP tlog-witness) and record their cosignatures.
    Checkpoint {
        /// The ledger directory (default: -L or CUSTODY_LEDGER).
        #[arg(required = true)]
        ledger: Option<PathBuf>,
        /// The operator's secret key file.
        #[arg(long)]
        key: PathBuf,
        /// A witness policy (docs/POLICY.md): ask each witness with a URL to cosign, and fail
        /// (exit 1, nothing recorded as witnessed) unless the quorum is met.
        #[arg(long)]
        policy: Option<PathBuf>,
    },
    /// Write the latest recorded checkpoint as C2SP tlog-tiles into DIR, for any web server.
    #[command(after_long_help = PUBLISH_EXAMPLES)]
    Publish {
        /// The ledger directory (default: -L or CUSTODY_LEDGER).
        #[arg(required = true)]
        ledger: Option<PathBuf>,
        /// The directory to publish into (created if missing; only new tiles are written, the
        /// checkpoint last).
        dir: PathBuf,
    },
    /// Copy a published log (URL or directory) into a new ledger, verifying every entry and tile.
    #[command(after_long_help = CLONE_EXAMPLES)]
    Clone {
        /// The published log: an http:// URL prefix, or a directory.
        source: String,
        /// The new ledger directory, which must not exist or be empty (default: -L or
        /// CUSTODY_LEDGER).
        #[arg(required = true)]
        ledger: Option<PathBuf>,
        /// The log key you trust, as a C2SP vkey (ORIGIN+KEYID+BASE64), from the operator.
        #[arg(long, value_name = "VKEY")]
        trust: String,
    },
    /// Follow a published log: prove each new checkpoint consistent with the last, verify every
    /// new entry; exit 1 with fork evidence if the log contradicts itself.
    #[command(after_long_help = MONITOR_EXAMPLES)]
    Monitor {
        /// The published log: an http:// URL prefix, or a directory.
        source: String,
        /// The log key you trust, as a C2SP vkey (ORIGIN+KEYID+BASE64), from the operator.
        #[arg(long, value_name = "VKEY")]
        trust: String,
        /// The monitor's own directory: its verified copy of the log, and any fork evidence.
        #[arg(long, value_name = "DIR")]
        state: PathBuf,
    },
    /// Merkle proofs.
    #[command(subcommand)]
    Prove(ProveCommand),
    /// Check a c2sp.org/tlog-proof@v1 (from `prove inclusion --tlog-proof`) offline.
    #[command(after_long_help = VERIFY_PROOF_EXAMPLES)]
    VerifyProof {
        /// The proof file.
        proof: PathBuf,
        /// The operator's checkpoint verifier key (vkey), as the operator published it.
        #[arg(long)]
        trust: String,
        /// The entry's leaf hash (hex, as `custody show` prints it).
        #[arg(long)]
        leaf: String,
    },
    /// Cut a torn tail (a crash mid-append) back to the last whole entry.
    Repair {
        /// The ledger directory (default: -L or CUSTODY_LEDGER).
        #[arg(required = true)]
        ledger: Option<PathBuf>,
        /// Cut even entries a recorded checkpoint covers (they stay in a side file).
        #[arg(long)]
        force: bool,
    },
    /// Sign and append many submissions from JSON Lines (one body per line).
    #[command(after_long_help = IMPORT_EXAMPLES)]
    Import {
        /// The ledger directory (default: -L or CUSTODY_LEDGER).
        #[arg(required = true)]
        ledger: Option<PathBuf>,
        /// Signer's secret key file.
        // Only signer keys default to $CUSTODY_KEY: operator and witness keys never do, so a
        // default can never make the wrong party sign as the operator or a witness.
        #[arg(long, env = "CUSTODY_KEY")]
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
    #[command(after_long_help = EXHIBIT_EXAMPLES)]
    Exhibit(ExhibitArgs),
    /// Serve the ledger over HTTP: signed submissions in (POST /add, group commit), the
    /// checkpoint and published tiles out (docs/PUBLISHING.md, "Server API").
    #[command(after_long_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
    /// Send a signed submission (.cust) to a `custody serve` and check its answer.
    #[command(after_long_help = SUBMIT_EXAMPLES)]
    Submit(SubmitArgs),

    /// Run a C2SP tlog-witness: cosign other logs' checkpoints (docs/WITNESS.md).
    #[command(subcommand)]
    Witness(WitnessCommand),
    /// Write fork evidence: two checkpoints of one log key that no append-only log explains
    /// (docs/FORKS.md).
    ForkEvidence(ForkEvidenceArgs),
    /// Check fork evidence offline: exit 1 if it proves a fork, 0 if the two checkpoints are
    /// consistent, 2 if it is not valid evidence.
    CheckFork(CheckForkArgs),
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

/// A duration such as `10s`, `500ms` or `2m`.
fn duration(s: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{e} (want e.g. 10s, 500ms, 2m)"))?;
    if d.is_zero() {
        return Err("must be more than zero".into());
    }
    Ok(d)
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The ledger directory, held locked while serving (default: -L or CUSTODY_LEDGER).
    #[arg(required = true)]
    pub ledger: Option<PathBuf>,
    /// The address to listen on, and nothing else (e.g. 127.0.0.1:8080; port 0 picks one).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// The operator's secret key, loaded once at start, to sign checkpoints with.
    #[arg(long, requires = "checkpoint_every")]
    pub key: Option<PathBuf>,
    /// Commit state and sign a checkpoint this often when the log grew, as `custody
    /// checkpoint` does (e.g. 10s).
    #[arg(long, value_name = "DURATION", value_parser = duration, requires = "key")]
    pub checkpoint_every: Option<std::time::Duration>,
    /// Publish C2SP tlog-tiles into this directory (as `custody publish`) at start and after
    /// each checkpoint signed, and serve its checkpoint and tile/ files read-only.
    #[arg(long, value_name = "DIR")]
    pub publish: Option<PathBuf>,
    /// The largest request body, in bytes.
    #[arg(long, value_name = "BYTES")]
    pub max_body: Option<usize>,
    /// Requests handled at once (more wait their turn).
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub max_requests: usize,
    /// Connections open at once (more wait to be accepted).
    #[arg(long, value_name = "N", default_value_t = 4096)]
    pub max_connections: usize,
    /// Time a client has to send a request's headers; also how long an idle connection stays.
    #[arg(long, value_name = "DURATION", value_parser = duration, default_value = "10s")]
    pub header_timeout: std::time::Duration,
    /// Time a client has to send a request's body.
    #[arg(long, value_name = "DURATION", value_parser = duration, default_value = "30s")]
    pub body_timeout: std::time::Duration,
    /// The most submissions one group commit (one fsync) takes.
    #[arg(long, value_name = "N", default_value_t = 4096)]
    pub max_batch: usize,
}

#[derive(Args, Debug)]
pub struct SubmitArgs {
    /// The server's URL (e.g. http://127.0.0.1:8080); the submission goes to URL/add.
    pub url: String,
    /// The signed submission file (from `custody sign`).
    pub file: PathBuf,
    /// The log key you trust, as a C2SP vkey (ORIGIN+KEYID+BASE64): an inclusion proof in
    /// the answer is checked against it (exit 1 if it fails).
    #[arg(long, value_name = "VKEY")]
    pub trust: Option<String>,
    /// How long to wait for the answer.
    #[arg(long, value_name = "DURATION", value_parser = duration, default_value = "60s")]
    pub timeout: std::time::Duration,
    /// Print the server's answer as JSON (docs/JSON.md) once checked.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The ledger directory (default: -L or CUSTODY_LEDGER).
    #[arg(required = true)]
    pub ledger: Option<PathBuf>,
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
    /// Trusted root certificates (PEM) of the Time-Stamping Authorities whose tokens you
    /// accept (repeatable): every token stored beside a checkpoint must then verify (exit 1
    /// otherwise). Without it, tokens are reported present but not checked.
    #[arg(long, value_name = "ROOT.pem")]
    pub tsa_cert: Vec<PathBuf>,
    /// A witness policy (docs/POLICY.md): it must list the ledger's log key (it is then a trust
    /// anchor, like --trust), and a recorded or --since checkpoint must meet its quorum of
    /// witness cosignatures (exit 1 if none does).
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// If a checkpoint contradicts the ledger, write fork evidence (docs/FORKS.md) to this file
    /// when the ledger holds a matching signed checkpoint at or beyond its size.
    #[arg(long, value_name = "FILE")]
    pub fork_evidence: Option<PathBuf>,
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
    /// The ledger directory (default: -L or CUSTODY_LEDGER).
    #[arg(required = true)]
    pub ledger: Option<PathBuf>,
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
    /// A witness policy: use the latest recorded checkpoint that meets its quorum, and carry
    /// the policy's text in the bundle.
    #[arg(long, conflicts_with = "key")]
    pub policy: Option<PathBuf>,
    /// Overwrite the output file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("anchor").required(true).multiple(true).args(["trust", "policy"])))]
pub struct CheckArgs {
    /// The bundle.
    pub bundle: PathBuf,
    /// The log key you trust, as a C2SP vkey (ORIGIN+KEYID+BASE64), from the operator.
    #[arg(long)]
    pub trust: Option<String>,
    /// A witness policy (docs/POLICY.md): the checkpoint must also meet its quorum of witness
    /// cosignatures; its log key for the bundle's origin is trusted when --trust is not given.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// A file that must be the document of one of the bundle's live (not retracted) sources,
    /// compared by SHA-256 (repeatable: every file given must match).
    #[arg(long)]
    pub document: Vec<PathBuf>,
    /// Trusted root certificates (PEM) of Time-Stamping Authorities (repeatable): every
    /// time-stamp token in the bundle must then verify. Without it they are not checked.
    #[arg(long, value_name = "ROOT.pem")]
    pub tsa_cert: Vec<PathBuf>,
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
#[command(after_long_help = "\
Examples:
  custody timestamp L --tsa http://tsa.example/ --tsa-cert tsa-root.pem
  custody verify L --tsa-cert tsa-root.pem")]
pub struct TimestampArgs {
    /// The ledger directory (default: -L or CUSTODY_LEDGER).
    #[arg(required = true)]
    pub ledger: Option<PathBuf>,
    /// The Time-Stamping Authority's URL (RFC 3161 over HTTP: POST application/timestamp-query).
    #[arg(long, value_name = "URL")]
    pub tsa: String,
    /// Trusted root certificate(s) of that TSA, PEM (repeatable); the answer must verify
    /// against one before it is stored.
    #[arg(long, value_name = "ROOT.pem", required = true)]
    pub tsa_cert: Vec<PathBuf>,
    /// The checkpoint to stamp (default: the latest recorded one). A copy with witness
    /// cosignatures is fine: the token stamps the note as the log signed it.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Seconds to wait for the TSA, in all.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
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
    /// A witness policy: the page states which witnesses cosigned the checkpoint and when
    /// (the check fails, exit 1, if its quorum is not met).
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// A document that must be the document of one of the bundle's live sources, as with
    /// `check --document`; the page lists each one matched (repeatable).
    #[arg(long, value_name = "FILE")]
    pub document: Vec<PathBuf>,
    /// A TSA root certificate (PEM or DER): the bundle's RFC 3161 time-stamp tokens are
    /// verified against it, as `check` does, and the page states their times (repeatable).
    #[arg(long, value_name = "ROOT.pem")]
    pub tsa_cert: Vec<PathBuf>,
    /// The exhibit number, printed in the page's header and running header.
    #[arg(long, value_name = "ID")]
    pub exhibit_id: Option<String>,
    /// The case name or number, printed in the page's header and running header.
    #[arg(long, value_name = "CASE")]
    pub case: Option<String>,
    /// Render a bundle that does not prove its amendments complete to its checkpoint (as
    /// `check --allow-incomplete`); its first page then says so. Without it such a bundle
    /// gets no page (exit 1).
    #[arg(long)]
    pub allow_incomplete: bool,
    /// Overwrite the output file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct ForkEvidenceArgs {
    /// One checkpoint note (either order: the smaller tree becomes A).
    pub a: PathBuf,
    /// The other checkpoint note.
    pub b: PathBuf,
    /// Where to write the evidence (never overwritten without --force).
    #[arg(short = 'o', long = "output", default_value = "fork.json")]
    pub output: PathBuf,
    /// The log key, as a C2SP vkey (default: the operator key of the ledger given with
    /// -L/--ledger or CUSTODY_LEDGER, the one that produced the larger checkpoint, which is
    /// needed when the sizes differ).
    #[arg(long)]
    pub trust: Option<String>,
    /// Overwrite the output file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct CheckForkArgs {
    /// The fork evidence file.
    pub file: PathBuf,
    /// The log key you trust, as a C2SP vkey (ORIGIN+KEYID+BASE64).
    #[arg(long)]
    pub trust: String,
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
    /// One line per public key (*.pub) in DIR: name, key id, file; with -L/--ledger (or
    /// CUSTODY_LEDGER), the role each key has there (granted, revoked or unknown).
    List {
        /// The key directory.
        #[arg(default_value = "keys")]
        dir: PathBuf,
        /// Print full 64-digit key ids.
        #[arg(long)]
        full: bool,
    },
    /// Change a secret key file's passphrase (or add one, or with --remove store it in the
    /// clear). The current passphrase comes from CUSTODY_PASSPHRASE or a prompt; the new one
    /// from CUSTODY_NEW_PASSPHRASE or is typed twice.
    Passwd {
        /// The .key file.
        file: PathBuf,
        /// Store the key unencrypted (mode 0600 only).
        #[arg(long)]
        remove: bool,
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
        /// The ledger directory (default: -L or CUSTODY_LEDGER).
        #[arg(required = true)]
        ledger: Option<PathBuf>,
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
        /// The ledger directory (default: -L or CUSTODY_LEDGER).
        #[arg(required = true)]
        ledger: Option<PathBuf>,
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

/// `custody witness ...`.
#[derive(Subcommand, Debug)]
pub enum WitnessCommand {
    /// Create a witness's state directory for its key and name; prints its vkey to publish.
    #[command(after_long_help = WITNESS_INIT_EXAMPLES)]
    Init {
        /// The new state directory (must not exist, or be empty).
        #[arg(long)]
        state: PathBuf,
        /// The witness's secret key file (`custody key new NAME` makes one).
        #[arg(long)]
        key: PathBuf,
        /// The witness's name, part of its vkey and of every cosignature, for good: a
        /// schema-less URL it controls, e.g. witness.example.org/w1.
        #[arg(long)]
        name: String,
    },
    /// Print the witness's vkey (type 0x04 cosignature key) from its state directory.
    Vkey {
        /// The state directory.
        #[arg(long)]
        state: PathBuf,
    },
    /// Serve add-checkpoint (and the monitoring GET) over HTTP until SIGTERM.
    #[command(after_long_help = WITNESS_SERVE_EXAMPLES)]
    Serve {
        /// The witness's secret key file (the one its state was made for).
        #[arg(long)]
        key: PathBuf,
        /// The logs file: one log vkey per line, `#` comments (docs/WITNESS.md).
        #[arg(long)]
        logs: PathBuf,
        /// The state directory (made by `custody witness init`).
        #[arg(long)]
        state: PathBuf,
        /// The address to listen on, e.g. 127.0.0.1:7380 (port 0: any free port, printed).
        #[arg(long)]
        listen: std::net::SocketAddr,
        /// URL path prefix of the endpoints, e.g. /witness (default: none).
        #[arg(long, default_value = "")]
        prefix: String,
        /// Connections served at once; more wait to be accepted.
        #[arg(long, default_value_t = 512)]
        connections: usize,
        /// Seconds a client has to send a request's headers (and an idle connection stays).
        #[arg(long, default_value_t = 10)]
        header_timeout: u64,
        /// Seconds a client has to send a request's body.
        #[arg(long, default_value_t = 10)]
        body_timeout: u64,
    },
    /// Decide one add-checkpoint request offline, with the same rules and state as serve;
    /// prints the cosignature line(s), or exits 1 with the status and reason.
    Cosign {
        /// The request body (old size line, proof lines, empty line, signed checkpoint).
        request: PathBuf,
        /// The witness's secret key file.
        #[arg(long)]
        key: PathBuf,
        /// The logs file.
        #[arg(long)]
        logs: PathBuf,
        /// The state directory.
        #[arg(long)]
        state: PathBuf,
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
    #[arg(long, conflicts_with_all = ["seal_to", "seal_to_file"])]
    pub encrypt: bool,
    /// Encrypt the seal file to this age recipient (`age1...`: a court's or counsel's key);
    /// repeat for several. Only a holder of a matching identity can open it.
    #[arg(long, value_name = "AGE_RECIPIENT")]
    pub seal_to: Vec<String>,
    /// Encrypt the seal file to every age recipient in FILE (one per line, # comments).
    #[arg(long, value_name = "FILE")]
    pub seal_to_file: Vec<PathBuf>,
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
        /// The ledger directory (default: -L or CUSTODY_LEDGER).
        #[arg(required = true)]
        ledger: Option<PathBuf>,
        /// Signer's secret key file.
        // Only signer keys default to $CUSTODY_KEY: operator and witness keys never do, so a
        // default can never make the wrong party sign as the operator or a witness.
        #[arg(long, env = "CUSTODY_KEY")]
        key: PathBuf,
        /// Keep a copy in the ledger's documents/ folder.
        #[arg(long)]
        store: bool,
        #[command(flatten)]
        args: SourceArgs,
    },
    /// An informant: an alias and a salted commitment to the identity.
    Informant {
        /// The ledger directory (default: -L or CUSTODY_LEDGER).
        #[arg(required = true)]
        ledger: Option<PathBuf>,
        /// Signer's secret key file.
        // Only signer keys default to $CUSTODY_KEY: operator and witness keys never do, so a
        // default can never make the wrong party sign as the operator or a witness.
        #[arg(long, env = "CUSTODY_KEY")]
        key: PathBuf,
        #[command(flatten)]
        args: InformantArgs,
    },
    /// A claim citing sources or informants.
    #[command(after_long_help = ADD_CLAIM_EXAMPLES)]
    Claim {
        /// The ledger directory (default: -L or CUSTODY_LEDGER).
        #[arg(required = true)]
        ledger: Option<PathBuf>,
        /// Signer's secret key file.
        // Only signer keys default to $CUSTODY_KEY: operator and witness keys never do, so a
        // default can never make the wrong party sign as the operator or a witness.
        #[arg(long, env = "CUSTODY_KEY")]
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
        /// The ledger directory (default: -L or CUSTODY_LEDGER).
        #[arg(required = true)]
        ledger: Option<PathBuf>,
        /// Signer's secret key file.
        // Only signer keys default to $CUSTODY_KEY: operator and witness keys never do, so a
        // default can never make the wrong party sign as the operator or a witness.
        #[arg(long, env = "CUSTODY_KEY")]
        key: PathBuf,
        #[command(flatten)]
        args: FigureArgs,
    },
}

#[derive(Args, Debug)]
pub struct OfflineArgs {
    /// Signer's secret key file.
    // Only signer keys default to $CUSTODY_KEY: operator and witness keys never do, so a
    // default can never make the wrong party sign as the operator or a witness.
    #[arg(long, env = "CUSTODY_KEY")]
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
    /// A figure summing earlier claims and figures (the terms are checked when appended).
    Figure {
        #[command(flatten)]
        offline: OfflineArgs,
        #[command(flatten)]
        args: FigureArgs,
    },
    /// A correction of an earlier claim's count or statement.
    Correction {
        #[command(flatten)]
        offline: OfflineArgs,
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
    /// A retraction of an earlier claim, source, informant or figure.
    Retraction {
        #[command(flatten)]
        offline: OfflineArgs,
        /// The entry to retract.
        target: u64,
        /// Why.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ProveCommand {
    /// Audit path of an entry in the tree of size N.
    Inclusion {
        /// The ledger directory (default: -L or CUSTODY_LEDGER).
        #[arg(required = true)]
        ledger: Option<PathBuf>,
        /// Entry index.
        index: u64,
        /// Tree size (default: the whole log).
        #[arg(long, conflicts_with = "tlog_proof")]
        size: Option<u64>,
        /// JSON output.
        #[arg(long, conflicts_with = "tlog_proof")]
        json: bool,
        /// Print a self-contained c2sp.org/tlog-proof@v1 against the latest recorded
        /// checkpoint (its signatures included), which `custody verify-proof` checks offline.
        #[arg(long)]
        tlog_proof: bool,
    },
    /// Proof that the tree of size OLD is a prefix of the tree of size NEW.
    Consistency {
        /// The ledger directory (default: -L or CUSTODY_LEDGER).
        #[arg(required = true)]
        ledger: Option<PathBuf>,
        /// Older size.
        old: u64,
        /// Newer size.
        new: u64,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}
