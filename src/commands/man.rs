//! `custody man [-o DIR]`: roff man pages generated from the clap definitions in `args.rs`:
//! custody.1 on standard output, or one page per command (custody.1, custody-key-new.1, ...)
//! written into DIR through custody-store's create-new-then-fsync write.

use crate::args::Cli;
use anyhow::{Context, Result};
use clap::CommandFactory;
use custody_store::files;
use std::io::Write;
use std::path::Path;

pub fn run(dir: Option<&Path>, force: bool) -> Result<()> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let Some(dir) = dir else {
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd).render(&mut page)?;
        let mut out = std::io::stdout().lock();
        out.write_all(&page)?;
        out.flush()?;
        return Ok(());
    };
    let mut pages = Vec::new();
    collect(&cmd, &mut pages)?;
    files::create_output_dir(dir)?;
    for (name, page) in &pages {
        let path = dir.join(name);
        files::write_new(&path, page, force, false).with_context(|| {
            format!(
                "cannot write man page {} (pass --force to replace pages already there)",
                path.display()
            )
        })?;
    }
    out!(
        "wrote {} to {}",
        crate::print::count(pages.len() as u64, "man page", "man pages"),
        dir.display()
    );
    out!("read one now:  man -l {}", dir.join("custody.1").display());
    // Pages written straight into a man1 directory (`custody man -o ~/.local/share/man/man1`)
    // are installed already: copying them onto themselves is no advice.
    if dir.file_name().is_some_and(|n| n == "man1") {
        out!(
            "installed:     `man custody`, `man custody-verify` (when {} is on your MANPATH)",
            dir.parent().unwrap_or(dir).display()
        );
    } else {
        out!(
            "or install:    mkdir -p ~/.local/share/man/man1 && cp {}/*.1 ~/.local/share/man/man1/",
            dir.display()
        );
        out!("               (then `man custody`, `man custody-verify`)");
    }
    Ok(())
}

/// `cmd`'s page and those of its subcommands (not hidden ones), depth first, named as
/// clap_mangen names them (`custody-key-new.1`).
fn collect(cmd: &clap::Command, pages: &mut Vec<(String, Vec<u8>)>) -> Result<()> {
    let man = clap_mangen::Man::new(cmd.clone());
    let mut page = Vec::new();
    man.render(&mut page)?;
    pages.push((man.get_filename(), page));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect(sub, pages)?;
    }
    Ok(())
}
