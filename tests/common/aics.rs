//! The third-party witness `aics-witness` 0.1.0 (PyPI; `pip install --ignore-requires-python
//! aics-witness==0.1.0`, installed by .ci/run) as a real peer for tests: each instance in its own
//! directory with its own identity, serving on a free 127.0.0.1 port, killed by a drop guard.
//! Included with `#[path]` by tests/witness_client.rs and tests/against_operator.rs.
#![allow(dead_code)]

use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How to install it, for the panic messages.
pub const INSTALL: &str = "pip install --ignore-requires-python aics-witness==0.1.0";

/// A running aics-witness. Dropping it kills the process (also when a test fails).
pub struct Witness {
    child: Option<Child>,
    pub dir: PathBuf,
    pub url: String,
    pub vkey: String,
}

pub fn aics(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("aics-witness")
        .args(args)
        .arg("--config")
        .arg(dir.join("witness.json"))
        .env_remove("WITNESS_SEED_HEX")
        .env_remove("AICS_WITNESS_CONFIG")
        .output()
        .unwrap_or_else(|e| panic!("cannot run aics-witness ({e}); install it: {INSTALL}"));
    assert!(
        out.status.success(),
        "aics-witness {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Witness {
    /// A new witness named `name` in `dir`, trusting `logs` (origin, vkey), serving on a free
    /// loopback port; returns once it accepts connections (at most 20 s).
    pub fn start(dir: PathBuf, name: &str, logs: &[(&str, &str)]) -> Witness {
        fs::create_dir_all(&dir).unwrap();
        let out = aics(&dir, &["init", "--name", name]);
        let vkey = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        assert!(vkey.starts_with(&format!("{name}+")), "vkey {vkey:?}");
        for (origin, log) in logs {
            aics(&dir, &["add-log", "--origin", origin, "--vkey", log]);
        }
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let log = fs::File::create(dir.join("serve.log")).unwrap();
        let child = Command::new("aics-witness")
            .args(["serve", "--listen", &listen, "--config"])
            .arg(dir.join("witness.json"))
            .env_remove("WITNESS_SEED_HEX")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start aics-witness ({e}); install it: {INSTALL}"));
        let mut w = Witness {
            child: Some(child),
            dir,
            url: format!("http://{listen}"),
            vkey,
        };
        let addr: SocketAddr = listen.parse().unwrap();
        let start = Instant::now();
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                break;
            }
            if let Some(status) = w.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("aics-witness exited ({status}): {}", w.log());
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "aics-witness did not listen on {listen} within 20 s: {}",
                w.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        w
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("serve.log")).unwrap_or_default()
    }

    /// The tree size it holds for `origin`, from `aics-witness status --json`.
    pub fn size(&self, origin: &str) -> u64 {
        let out = aics(&self.dir, &["status", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "status --json: {e}: {}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        let logs = v["logs"].as_array().cloned().unwrap_or_default();
        logs.iter()
            .find(|l| l["origin"] == origin)
            .and_then(|l| l["size"].as_u64())
            .unwrap_or_else(|| panic!("no size for {origin} in {v:#}"))
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        self.stop();
    }
}
