//! The `custody` binary: parse arguments, run one command, map the outcome to an exit code.
//!
//! Exit codes, defined once here: 0 verified / done, 1 the evidence failed verification
//! ([`commands::Failed`]), 2 usage, input or I/O error. A closed pipe (`custody log L | head`)
//! exits 0. Everything custody *does* lives in custody-store and custody-core; the commands in
//! `commands/` gather inputs, call them and print. The final error line is printed through
//! [`print::clean`]: it may quote file names, reasons and other libraries' messages that hold
//! anything a hostile directory or ledger holds, and it must stay one line.
#![forbid(unsafe_code)]

mod args;
mod commands;
mod exhibit;
mod print;

use clap::error::ErrorKind;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match args::parse(std::env::args_os().collect()) {
        Ok(args) => args,
        Err(e) => return argument_error(&e),
    };
    match commands::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            if let Some(f) = e.downcast_ref::<commands::Failed>() {
                eprintln!("custody: {}", print::clean(&f.to_string()));
                return ExitCode::from(1);
            }
            eprintln!("custody: error: {}", print::clean(&one_line(&e)));
            ExitCode::from(2)
        }
    }
}

/// The context chain joined on one line, each cause once: a typed error that already shows
/// its source ("path: No such file or directory") is not followed by that source again.
fn one_line(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
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
