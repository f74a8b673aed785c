//! The `custody` binary: parse arguments, run, map the outcome to an exit code. Nothing else.
#![forbid(unsafe_code)]

mod cli;
mod import;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::args::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A closed pipe (`custody log ledger | head`) is not an error.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            if let Some(f) = e.downcast_ref::<cli::Failed>() {
                eprintln!("custody: {f}");
                return ExitCode::from(1);
            }
            // One line: the context chain joined, so the user sees what and why.
            let msg: Vec<String> = e.chain().map(ToString::to_string).collect();
            eprintln!("custody: error: {}", msg.join(": "));
            ExitCode::from(2)
        }
    }
}
