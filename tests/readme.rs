//! The README's tour runs as written: every block marked `<!-- tests/readme.rs runs this
//! block -->` is extracted from README.md (so the two cannot drift) and run, in order, by
//! `bash -e` in an empty folder with the built `custody` first on PATH and HOME pointing
//! into that folder. A failing line fails the test with the line and its output.

mod common;

use std::path::Path;
use std::process::Command;

const MARKER: &str = "<!-- tests/readme.rs runs this block -->";

/// The marked ```sh blocks of `readme`, in order.
fn marked_blocks(readme: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        if line.trim() != MARKER {
            continue;
        }
        let fence = lines.next().unwrap_or_default();
        assert_eq!(
            fence, "```sh",
            "a marked block must open with ```sh right after the marker"
        );
        let mut block = String::new();
        for l in lines.by_ref() {
            if l == "```" {
                break;
            }
            block.push_str(l);
            block.push('\n');
        }
        blocks.push(block);
    }
    blocks
}

#[test]
fn the_readme_tour_runs_as_written_on_a_fresh_ledger() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let blocks = marked_blocks(&readme);
    assert!(
        blocks.len() >= 2,
        "the tour and the lawyer's block are marked"
    );
    let script = blocks.concat();
    for needed in [
        "custody init",
        "custody add figure",
        "custody check",
        "custody exhibit",
    ] {
        assert!(script.contains(needed), "the tour shows {needed}");
    }
    assert!(!script.contains("..."), "no elided commands in the tour");

    let dir = tempfile::tempdir().expect("tempdir");
    let bin = Path::new(env!("CARGO_BIN_EXE_custody"))
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .arg("-e")
        .arg("-o")
        .arg("pipefail")
        .arg("-x")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("PATH", path)
        .env("HOME", dir.path())
        .env("CUSTODY_CACHE_DIR", dir.path().join("cache"))
        .env_remove("CUSTODY_PASSPHRASE")
        .env_remove("CUSTODY_KEY")
        .env_remove("CUSTODY_LEDGER")
        .env_remove("XDG_CACHE_HOME")
        .env_remove("XDG_DATA_HOME")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the README tour failed ({}):\n--- stdout\n{stdout}\n--- stderr (each command after +)\n{stderr}",
        out.status
    );

    // What the comments promise is what custody printed.
    for promised in [
        "entry 2 (source) appended",
        "entry 7 (correction) appended",
        "entry 8 (claim) appended",
        "entry 3 (informant \"Source A\") appended",
        "figure 6: Returned since 2024",
        "OK: the opening matches entry 3",
        "VERIFIED — CHANGED SINCE PUBLICATION: figure 6 of example.org/nk-repatriation is in the log",
    ] {
        assert!(
            stdout.contains(promised),
            "missing {promised:?} in:\n{stdout}"
        );
    }
    assert!(dir.path().join("figure-168.html").is_file());
    assert!(dir.path().join(".local/share/man/man1/custody.1").is_file());
    let v = common::custody(dir.path())
        .args(["verify", "L"])
        .output()
        .expect("verify");
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
}
