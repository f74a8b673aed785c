//! `custody completions bash|zsh|fish`: a completion script, generated from the clap
//! definitions in `args.rs`, on standard output.

use crate::args::{Cli, CompletionShell};
use anyhow::Result;
use clap::CommandFactory;
use clap_complete::Shell;
use std::io::Write;

pub fn run(shell: CompletionShell) -> Result<()> {
    let shell = match shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    // Generated into memory first: clap_complete panics if its writer fails, and a closed
    // pipe (`custody completions bash | head`) must exit 0 like every other command.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "custody", &mut script);
    let mut out = std::io::stdout().lock();
    out.write_all(&script)?;
    out.flush()?;
    Ok(())
}
