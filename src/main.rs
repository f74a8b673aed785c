//! The `custody` binary: parse arguments, run, map the outcome to an exit code. Nothing else.
#![forbid(unsafe_code)]

mod cli;
mod import;

use clap::error::ErrorKind;
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match cli::args::Cli::try_parse() {
        Ok(args) => args,
        Err(e) => return argument_error(&e),
    };
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

/// `--help` and `--version` print to stdout and exit 0; every other clap error is a usage
/// error (exit 2) printed as clap formats it, except non-UTF-8 text, which gets one line.
fn argument_error(e: &clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            // A closed pipe (`custody --help | head`) is not an error either.
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::InvalidUtf8 => {
            eprintln!(
                "custody: error: argument is not valid UTF-8: text values (origins, names, \
                 statements, reasons) must be UTF-8; only file paths may be other bytes"
            );
            ExitCode::from(2)
        }
        _ => {
            let _ = e.print();
            ExitCode::from(2)
        }
    }
}
