//! `custody witness` as a real peer: the server started as a process on 127.0.0.1, driven
//! over real HTTP through every status code, restarted (its state persists), killed with
//! SIGKILL over and over while two inconsistent histories of one log race at it (no two
//! inconsistent cosignatures, ever), fed by the third-party `aics-witness` feeder, and the
//! shared vector request. Every server is killed by a Drop guard, also when a test fails.

mod common;

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use common::*;
use custody_core::add_checkpoint::{AddCheckpoint, MAX_REQUEST_BYTES};
use custody_core::checkpoint;
use custody_core::cosignature::{self, split_note, CosignatureVerifier};
use custody_core::hash::Digest;
use custody_core::keys::SecretKey;
use custody_core::merkle::{self, MemoryHashes};
use ed25519_dalek::SigningKey;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

const ORIGIN: &str = "example.org/witnessed";
const WITNESS_NAME: &str = "witness.example.org/amnesty";

/// Where Debian's libfaketime is (package `faketime`, installed by .ci/run).
fn libfaketime() -> PathBuf {
    [
        "/usr/lib/x86_64-linux-gnu/faketime",
        "/usr/lib/aarch64-linux-gnu/faketime",
        "/usr/lib/faketime",
    ]
    .iter()
    .map(|d| Path::new(d).join("libfaketime.so.1"))
    .find(|p| p.is_file())
    .expect("libfaketime.so.1 (apt-get install faketime; see .ci/run)")
}

/// A running `custody witness serve`; killed (SIGKILL) and reaped on drop.
struct Server {
    child: Child,
    port: u16,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `custody witness serve` in `cwd` with `extra` arguments, on a free port, and
    /// waits (at most 30 s) for it to say where it listens.
    fn start(cwd: &Path, state: &str, extra: &[&str]) -> Server {
        Server::start_with(cwd, state, extra, None)
    }

    fn start_with(cwd: &Path, state: &str, extra: &[&str], faketime: Option<&str>) -> Server {
        let mut cmd = Command::new(bin());
        if let Some(offset) = faketime {
            // libfaketime preloaded into custody itself (the `faketime` wrapper forks, and
            // killing it would leave the witness running).
            cmd.env("LD_PRELOAD", libfaketime())
                .env("FAKETIME", offset)
                .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
        }
        cmd.args([
            "witness",
            "serve",
            "--key",
            "keys/witness.key",
            "--logs",
            "logs.txt",
            "--state",
            state,
            "--listen",
            "127.0.0.1:0",
        ])
        .args(extra)
        .current_dir(cwd)
        .env_remove("CUSTODY_PASSPHRASE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn custody witness serve");
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut s = String::new();
                let _ = BufReader::new(stderr).read_to_string(&mut s);
                log.lock().unwrap().push_str(&s);
            });
        }
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("listening on http://127.0.0.1:") {
                    let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    let _ = tx.send(port.parse::<u16>().unwrap());
                }
            }
        });
        let mut server = Server {
            child,
            port: 0,
            stderr: log,
        };
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(port) => server.port = port,
            Err(_) => {
                let _ = server.child.kill();
                let _ = server.child.wait();
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "the witness did not start: {}",
                    server.stderr.lock().unwrap()
                );
            }
        }
        server
    }

    /// SIGTERM, then the exit status (at most 20 s) and everything it wrote on stderr.
    fn stop(mut self) -> (Option<i32>, String) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let start = Instant::now();
        let code = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s.code();
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the witness did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        std::thread::sleep(Duration::from_millis(100));
        let err = self.stderr.lock().unwrap().clone();
        (code, err)
    }

    fn post(&self, body: &[u8]) -> Reply {
        http(self.port, "POST", "/add-checkpoint", body).expect("request")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP response.
#[derive(Debug)]
struct Reply {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A request on a fresh connection (`Connection: close`), read to the end, 5 s timeouts.
fn http(port: u16, method: &str, path: &str, body: &[u8]) -> std::io::Result<Reply> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    read_reply(&mut s)
}

/// Writes `bytes` as they are (a request head, maybe a partial body) and reads the reply.
fn raw(port: u16, bytes: &[u8]) -> std::io::Result<Reply> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(bytes)?;
    read_reply(&mut s)
}

/// Reads a whole response; one cut short (a server killed while writing) is an error.
fn read_reply(s: &mut TcpStream) -> std::io::Result<Reply> {
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP response");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(bad)?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(bad)?;
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .and_then(|v| v.trim().parse().ok())
        })
        .ok_or_else(bad)?;
    let body = raw[split + 4..].to_vec();
    if body.len() != length {
        return Err(bad());
    }
    Ok(Reply {
        status,
        content_type,
        body,
    })
}

/// A work directory with a witness key and state, an operator key and a ledger `L` of
/// origin [`ORIGIN`] (genesis and one grant), and `logs.txt` naming that ledger's key.
struct Env {
    work: Work,
}

impl Env {
    fn new() -> Env {
        let work = Work::keyed();
        work.ok(&["key", "new", "witness"]);
        init_ledger(work.cwd(), "L", ORIGIN);
        let vkey = work.ok(&["key", "vkey", "keys/operator.pub", "--origin", ORIGIN]);
        std::fs::write(work.path("logs.txt"), format!("# the ledger L\n{vkey}")).unwrap();
        let out = work.ok(&[
            "witness",
            "init",
            "--state",
            "state",
            "--key",
            "keys/witness.key",
            "--name",
            WITNESS_NAME,
        ]);
        assert!(out.starts_with(&format!("{WITNESS_NAME}+")), "{out}");
        Env { work }
    }

    fn cwd(&self) -> &Path {
        self.work.cwd()
    }

    fn witness(&self) -> CosignatureVerifier {
        let vkey = self.work.ok(&["witness", "vkey", "--state", "state"]);
        cosignature::parse_vkey(vkey.trim()).unwrap()
    }

    fn operator(&self) -> SecretKey {
        custody_store::files::load_secret(&self.work.path(OPERATOR_KEY), || {
            unreachable!("the test key is not encrypted")
        })
        .unwrap()
    }

    /// The operator's signed note of L's current size, recorded in L. Signed through the
    /// store rather than `custody checkpoint`, which would first append a state commitment
    /// and so grow the log these tests size by hand (the witness is indifferent to entries).
    fn checkpoint(&self) -> String {
        let l =
            custody_store::Ledger::open(&self.work.path("L"), custody_store::Access::Read).unwrap();
        let (cp, _) = l.sign_checkpoint(&self.operator()).unwrap();
        cp.note().to_owned()
    }

    /// Appends one entry to L (a grant of a fresh key).
    fn grow(&self, n: usize) {
        for _ in 0..n {
            let name = format!("k{}", rand::random::<u32>());
            self.work.ok(&["key", "new", &name]);
            let public = format!("keys/{name}.pub");
            self.work
                .ok(&key_args("grant", "L", OPERATOR_KEY, &public, "researcher"));
        }
    }

    fn proof(&self, old: u64, new: u64) -> Vec<Digest> {
        let l =
            custody_store::Ledger::open(&self.work.path("L"), custody_store::Access::Read).unwrap();
        l.prove_consistency(old, new).unwrap()
    }
}

fn request(old: u64, proof: Vec<Digest>, note: &str) -> Vec<u8> {
    AddCheckpoint {
        old,
        proof,
        checkpoint: note.as_bytes().to_vec(),
    }
    .to_bytes()
}

/// The note with `line` added must carry `witness`'s valid cosignature; returns its time.
fn cosigned_time(note: &str, line: &str, witness: &CosignatureVerifier) -> u64 {
    let mut n = split_note(note.as_bytes()).unwrap();
    assert!(
        line.starts_with(&format!("— {} ", witness.name())),
        "{line}"
    );
    assert_eq!(line.matches('\n').count(), 1, "one line: {line:?}");
    n.add_line(line).unwrap();
    n.cosignatures(std::slice::from_ref(witness)).times[0]
        .unwrap_or_else(|| panic!("no valid cosignature in {line:?}"))
}

#[test]
fn every_status_code_over_real_http_and_a_clean_stop() {
    let env = Env::new();
    let witness = env.witness();
    let server = Server::start(
        env.cwd(),
        "state",
        &["--header-timeout", "1", "--body-timeout", "1"],
    );
    let note2 = env.checkpoint();
    assert!(note2.starts_with(&format!("{ORIGIN}\n2\n")), "{note2}");

    // 200, and the cosignature verifies over the checkpoint with the published vkey.
    let r = server.post(&request(0, vec![], &note2));
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (200, "text/plain; charset=utf-8")
    );
    let t = cosigned_time(&note2, &r.text(), &witness);
    let now = custody_store::clock::now() as u64;
    assert!(t <= now && t + 60 > now, "{t} vs {now}");

    // 409 names the stored size, with the tlog-witness content type.
    let r = server.post(&request(0, vec![], &note2));
    assert_eq!(
        (r.status, r.content_type.as_str(), r.text().as_str()),
        (409, "text/x.tlog.size", "2\n")
    );

    // 200 again from the right size with a proof from the ledger.
    env.grow(3);
    let note5 = env.checkpoint();
    let r = server.post(&request(2, env.proof(2, 5), &note5));
    assert_eq!(r.status, 200, "{}", r.text());
    cosigned_time(&note5, &r.text(), &witness);

    // 400: not a request; old above the size.
    assert_eq!(server.post(b"hello\n").status, 400);
    assert_eq!(server.post(&request(6, vec![], &note5)).status, 400);

    // 403: the same origin signed by another key (a second ledger with this origin).
    env.work.ok(&["key", "new", "impostor"]);
    env.work.ok(&init_args("M", ORIGIN, "keys/impostor.key"));
    let forged = env
        .work
        .ok(&["checkpoint", "M", "--key", "keys/impostor.key"]);
    assert_eq!(server.post(&request(5, vec![], &forged)).status, 403);
    // 403: the log's own line with its signature changed.
    let (body, line) = note5.split_once("\n\n").unwrap();
    let (name, sig) = line.trim_end().rsplit_once(' ').unwrap();
    let mut sig_bytes = B64.decode(sig).unwrap();
    sig_bytes[20] ^= 0x80;
    let tampered = format!("{body}\n\n{name} {}\n", B64.encode(sig_bytes));
    let r = server.post(&request(5, vec![], &tampered));
    assert_eq!(
        (r.status, r.text().contains("does not verify")),
        (403, true),
        "{}",
        r.text()
    );

    // 404: a log this witness does not cosign.
    env.work
        .ok(&init_args("N", "example.org/unwitnessed", OPERATOR_KEY));
    let other = env.work.ok(&["checkpoint", "N", "--key", OPERATOR_KEY]);
    assert_eq!(server.post(&request(0, vec![], &other)).status, 404);

    // 422: the operator signs a fork (same size, another root); then a bad proof.
    let op = env.operator();
    let fork = checkpoint::sign(ORIGIN, 5, Digest::leaf(b"another history"), &op).unwrap();
    let r = server.post(&request(5, vec![], &fork));
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.text().contains("another root"), "{}", r.text());
    env.grow(1);
    let note6 = env.checkpoint();
    let mut bad = env.proof(5, 6);
    bad[0] = Digest::leaf(b"x");
    assert_eq!(server.post(&request(5, bad, &note6)).status, 422);
    // 422: a proof with old 0 (after a witness that never saw the log would 409 first,
    // here the stored size is 5, so send it where old matches: a fresh state is needed;
    // the core unit tests cover that branch, this one covers the proof-length rule).
    let mut long = env.proof(5, 6);
    long.push(Digest::leaf(b"y"));
    assert_eq!(server.post(&request(5, long, &note6)).status, 422);

    // 413: a body over the bound, refused from its Content-Length alone (before it is sent),
    // and one sent in chunks that passes the bound.
    let head = format!(
        "POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        MAX_REQUEST_BYTES + 1
    );
    assert_eq!(raw(server.port, head.as_bytes()).unwrap().status, 413);
    let mut chunked =
        b"POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..(MAX_REQUEST_BYTES / 4096 + 1) {
        chunked.extend_from_slice(format!("1000\r\n{}\r\n", "a".repeat(4096)).as_bytes());
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(raw(server.port, &chunked).unwrap().status, 413);
    // 404 and 405: another path, another method.
    assert_eq!(http(server.port, "POST", "/nope", b"").unwrap().status, 404);
    assert_eq!(
        http(server.port, "GET", "/add-checkpoint", b"")
            .unwrap()
            .status,
        405
    );

    // 408: a body that stops arriving.
    let start = Instant::now();
    let r = raw(
        server.port,
        b"POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nold 0\n",
    )
    .unwrap();
    assert_eq!(r.status, 408);
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
    // A connection that sends no head is closed after the header timeout.
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap_or(0);
    assert!(
        n == 0 || buf.starts_with(b"HTTP/1.1 408"),
        "{:?}",
        &buf[..n]
    );
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );

    // The monitoring GET serves the latest cosigned checkpoint with both signatures.
    let hash = Digest::of(ORIGIN.as_bytes()).to_hex();
    let r = http(server.port, "GET", &format!("/{hash}/checkpoint"), b"").unwrap();
    assert_eq!(r.status, 200);
    let served = split_note(&r.body).unwrap();
    assert!(
        served.body.starts_with(&format!("{ORIGIN}\n5\n")),
        "{}",
        r.text()
    );
    assert!(served.cosignatures(std::slice::from_ref(&witness)).times[0].is_some());
    let log_vkey = std::fs::read_to_string(env.work.path("logs.txt")).unwrap();
    let log = checkpoint::parse_vkey(log_vkey.lines().nth(1).unwrap()).unwrap();
    assert!(checkpoint::open(&r.body, &log).is_ok());
    let unknown = Digest::of(b"example.org/unwitnessed").to_hex();
    assert_eq!(
        http(server.port, "GET", &format!("/{unknown}/checkpoint"), b"")
            .unwrap()
            .status,
        404
    );
    assert_eq!(
        http(server.port, "GET", "/ABC/checkpoint", b"")
            .unwrap()
            .status,
        404
    );

    // SIGTERM: exit 0, and the 422s were reported on stderr with the origin.
    let (code, err) = server.stop();
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains(&format!("422 refused for {ORIGIN}")), "{err}");
    assert!(
        err.contains("stopped; 2 checkpoints cosigned in 2 commits"),
        "{err}"
    );
}

#[test]
fn state_persists_across_stops_and_kills_and_409_names_it() {
    let env = Env::new();
    let note = env.checkpoint();
    let server = Server::start(env.cwd(), "state", &[]);
    assert_eq!(server.post(&request(0, vec![], &note)).status, 200);
    let (code, _) = server.stop();
    assert_eq!(code, Some(0));
    let server = Server::start(env.cwd(), "state", &[]);
    let r = server.post(&request(0, vec![], &note));
    assert_eq!((r.status, r.text().as_str()), (409, "2\n"));
    env.grow(2);
    let note4 = env.checkpoint();
    assert_eq!(
        server.post(&request(2, env.proof(2, 4), &note4)).status,
        200
    );
    drop(server); // SIGKILL
    let server = Server::start(env.cwd(), "state", &[]);
    let r = server.post(&request(2, env.proof(2, 4), &note4));
    assert_eq!((r.status, r.text().as_str()), (409, "4\n"));
    // While it runs, the offline mode is refused: two processes never share a state.
    std::fs::write(env.work.path("req.txt"), request(4, vec![], &note4)).unwrap();
    let err = env.work.fails(
        2,
        &[
            "witness",
            "cosign",
            "req.txt",
            "--key",
            "keys/witness.key",
            "--logs",
            "logs.txt",
            "--state",
            "state",
        ],
    );
    assert!(err.contains("in use by another witness process"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn offline_cosign_decides_as_the_server_does() {
    let env = Env::new();
    let witness = env.witness();
    let note = env.checkpoint();
    let cosign = |req: &[u8]| {
        std::fs::write(env.work.path("req.txt"), req).unwrap();
        env.work.run(&[
            "witness",
            "cosign",
            "req.txt",
            "--key",
            "keys/witness.key",
            "--logs",
            "logs.txt",
            "--state",
            "state",
        ])
    };
    let out = cosign(&request(0, vec![], &note));
    assert_eq!(out.status.code(), Some(0));
    cosigned_time(&note, &String::from_utf8(out.stdout).unwrap(), &witness);
    let out = cosign(&request(0, vec![], &note));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("409 Conflict") && err.contains("2, the size"),
        "{err}"
    );
    let out = cosign(b"not a request");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("400 Bad Request"));
    // The server continues from the state the offline mode left.
    let server = Server::start(env.cwd(), "state", &[]);
    assert_eq!(server.post(&request(0, vec![], &note)).text(), "2\n");
}

#[test]
fn a_clock_behind_the_last_cosignature_is_503() {
    let env = Env::new();
    let note = env.checkpoint();
    // Cosign with the clock two hours ahead, then serve on the real clock.
    let ahead = Server::start_with(env.cwd(), "state", &[], Some("+2h"));
    let r = ahead.post(&request(0, vec![], &note));
    assert_eq!(r.status, 200, "{}", r.text());
    let t = cosigned_time(&note, &r.text(), &env.witness());
    assert!(
        t > custody_store::clock::now() as u64 + 3600,
        "faketime did not apply: {t}"
    );
    drop(ahead);
    let server = Server::start(env.cwd(), "state", &[]);
    let r = server.post(&request(2, vec![], &note));
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(
        r.text().contains("behind its last cosignature"),
        "{}",
        r.text()
    );
    let (_, err) = server.stop();
    assert!(err.contains("503 refused for"), "{err}");
}

#[test]
fn planted_corrupt_or_foreign_state_is_refused_in_one_line() {
    let env = Env::new();
    let serve_fails = |state: &str, key: &str, want: &str| {
        let err = env.work.fails(
            2,
            &[
                "witness",
                "serve",
                "--key",
                key,
                "--logs",
                "logs.txt",
                "--state",
                state,
                "--listen",
                "127.0.0.1:0",
            ],
        );
        assert!(err.contains(want), "{want}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    };
    let state = env.work.path("state");
    // Not initialised; a symbolic link; a planted file; damaged bytes; another key.
    std::fs::create_dir(env.work.path("empty")).unwrap();
    serve_fails("empty", "keys/witness.key", "holds no witness state");
    std::os::unix::fs::symlink(&state, env.work.path("link")).unwrap();
    serve_fails("link", "keys/witness.key", "is a symbolic link");
    std::fs::write(state.join("notes.txt"), b"x").unwrap();
    serve_fails("state", "keys/witness.key", "\"notes.txt\"");
    std::fs::remove_file(state.join("notes.txt")).unwrap();
    let good = std::fs::read(state.join("state")).unwrap();
    let mut bad = good.clone();
    bad[30] ^= 1;
    std::fs::write(state.join("state"), &bad).unwrap();
    serve_fails("state", "keys/witness.key", "is not a valid witness state");
    std::fs::write(state.join("state"), &good).unwrap();
    serve_fails("state", OPERATOR_KEY, "belongs to witness");
    // A logs file that is not one.
    std::fs::write(env.work.path("bad-logs.txt"), "not a vkey\n").unwrap();
    let err = env.work.fails(
        2,
        &[
            "witness",
            "serve",
            "--key",
            "keys/witness.key",
            "--logs",
            "bad-logs.txt",
            "--state",
            "state",
            "--listen",
            "127.0.0.1:0",
        ],
    );
    assert!(err.contains("line 1"), "{err}");
    // init never reuses a directory.
    let err = env.work.fails(
        2,
        &[
            "witness",
            "init",
            "--state",
            "state",
            "--key",
            "keys/witness.key",
            "--name",
            WITNESS_NAME,
        ],
    );
    assert!(err.contains("already exists"), "{err}");
    // And the good state still serves.
    drop(Server::start(env.cwd(), "state", &[]));
}

#[test]
fn the_shared_vector_request_is_cosigned() {
    let path = format!(
        "{}/tests/vectors/checkpoint-cosignature-derived.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let s = |p: &str| v.pointer(p).and_then(|x| x.as_str()).unwrap().to_owned();
    let seed = |p: &str| -> [u8; 32] { hex::decode(s(p)).unwrap().try_into().unwrap() };
    let work = Work::keyed();
    // The vector's witness key as a custody key file (mode 0600).
    let key = SecretKey::from_seed("vector-witness", &seed("/witness/ed25519_seed_hex"));
    custody_store::files::write_new(
        &work.path("keys/witness.key"),
        key.to_file_text(None).unwrap().as_bytes(),
        false,
        true,
    )
    .unwrap();
    std::fs::write(
        work.path("logs.txt"),
        format!("{}\n", s("/log/verifier_key")),
    )
    .unwrap();
    let vkey = work.ok(&[
        "witness",
        "init",
        "--state",
        "state",
        "--key",
        "keys/witness.key",
        "--name",
        &s("/witness/name"),
    ]);
    assert_eq!(vkey.trim(), s("/witness/verifier_key"));
    // The witness first cosigns the log at size 6 (root from the 8-leaf vectors).
    let log = SigningKey::from_bytes(&seed("/log/ed25519_seed_hex"));
    let root6 =
        Digest::from_hex("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef")
            .unwrap();
    let note6 = checkpoint::sign(&s("/log/name"), 6, root6, &log).unwrap();
    let server = Server::start(work.cwd(), "state", &[]);
    assert_eq!(server.post(&request(0, vec![], &note6)).status, 200);
    // Then the vector's request, verbatim: 6 -> 8 with its consistency proof.
    let r = server.post(s("/tlog_witness_add_checkpoint_request").as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    let witness = cosignature::parse_vkey(&s("/witness/verifier_key")).unwrap();
    let note8 = s("/tlog_witness_add_checkpoint_request");
    let note8 = note8.split_once("\n\n").unwrap().1;
    cosigned_time(note8, &r.text(), &witness);
    // Its checkpoint carries no extension line, as aics-witness requires.
    assert_eq!(
        split_note(note8.as_bytes()).unwrap().body,
        s("/checkpoint_body")
    );
}

#[test]
fn the_witness_examples_of_the_help_run_as_written() {
    let tmp = tempfile::tempdir().unwrap();
    let help = run_ok(tmp.path(), &["witness", "init", "--help"]);
    let cmds: Vec<String> = help
        .split("Examples:\n")
        .nth(1)
        .unwrap()
        .replace("\\\n", " ")
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(cmds.len(), 3, "{cmds:?}");
    let dir = bin().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut last = String::new();
    for cmd in &cmds {
        let out = Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .current_dir(tmp.path())
            .env("PATH", &path)
            .env_remove("CUSTODY_PASSPHRASE")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        last = String::from_utf8(out.stdout).unwrap();
    }
    assert!(last.starts_with("witness.amnesty.example/w1+"), "{last}");
    assert!(cosignature::parse_vkey(last.trim()).is_ok());
}

/// Two histories of one log that share `common` leaves and then differ.
struct Histories {
    a: Vec<Digest>,
    b: Vec<Digest>,
}

impl Histories {
    fn new(common: usize, len: usize) -> Histories {
        let a: Vec<Digest> = (0..len)
            .map(|i| Digest::leaf(format!("a{i}").as_bytes()))
            .collect();
        let mut b = a[..common].to_vec();
        b.extend((common..len).map(|i| Digest::leaf(format!("b{i}").as_bytes())));
        Histories { a, b }
    }

    fn get(&self, which: usize) -> &[Digest] {
        if which == 0 {
            &self.a
        } else {
            &self.b
        }
    }
}

/// The add-checkpoint request from `old` to `size` of `leaves`, signed by `key`.
fn history_request(leaves: &[Digest], old: u64, size: u64, key: &SigningKey) -> Vec<u8> {
    let t = MemoryHashes::from_leaves(&leaves[..size as usize]);
    let note = checkpoint::sign(ORIGIN, size, t.root(), key).unwrap();
    request(
        old,
        merkle::prove_consistency(old, size, &t).unwrap(),
        &note,
    )
}

#[test]
fn sigkill_at_any_instant_never_yields_two_inconsistent_cosignatures() {
    let work = Work::keyed();
    work.ok(&["key", "new", "witness"]);
    let log = SigningKey::from_bytes(&[42u8; 32]);
    let vkey = checkpoint::vkey(ORIGIN, &log.verifying_key()).unwrap();
    std::fs::write(work.path("logs.txt"), format!("{vkey}\n")).unwrap();
    work.ok(&[
        "witness",
        "init",
        "--state",
        "state",
        "--key",
        "keys/witness.key",
        "--name",
        WITNESS_NAME,
    ]);
    let witness =
        cosignature::parse_vkey(work.ok(&["witness", "vkey", "--state", "state"]).trim()).unwrap();
    let hist = Arc::new(Histories::new(4, 1500));
    let port = Arc::new(AtomicU16::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    // Every 200 any client ever received: (size, root, line).
    let answers = Arc::new(Mutex::new(Vec::<(u64, Digest, String)>::new()));
    let deadline = Instant::now() + Duration::from_secs(12);
    let mut clients = Vec::new();
    for which in 0..2usize {
        let (hist, port, stop, answers, log) = (
            hist.clone(),
            port.clone(),
            stop.clone(),
            answers.clone(),
            log.clone(),
        );
        clients.push(std::thread::spawn(move || {
            let leaves = hist.get(which);
            let mut known = 0u64;
            let mut step = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let p = port.load(Ordering::SeqCst);
                if p == 0 {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
                step += 1;
                let size = (known + 1 + step % 3).min(leaves.len() as u64);
                let body = history_request(leaves, known, size, &log);
                match http(p, "POST", "/add-checkpoint", &body) {
                    Ok(r) if r.status == 200 => {
                        let root = merkle::root_of_leaves(&leaves[..size as usize]);
                        answers.lock().unwrap().push((size, root, r.text()));
                        known = size;
                    }
                    Ok(r) if r.status == 409 => {
                        known = r.text().trim().parse().unwrap();
                    }
                    // 422: the stored checkpoint is the other history's; keep trying.
                    Ok(_) => std::thread::sleep(Duration::from_millis(10)),
                    // The server was killed under us.
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        }));
    }
    let mut kills = 0;
    while Instant::now() < deadline && kills < 30 {
        let server = Server::start(work.cwd(), "state", &[]);
        port.store(server.port, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(30 + rand::random::<u64>() % 300));
        port.store(0, Ordering::SeqCst);
        drop(server); // SIGKILL, whatever it was doing
        kills += 1;
    }
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().unwrap();
    }
    let answers = answers.lock().unwrap().clone();
    assert!(
        kills >= 5 && answers.len() >= 10,
        "{kills} kills, {} answers",
        answers.len()
    );

    // Every answer is a valid cosignature of the checkpoint it answered.
    for (size, root, line) in &answers {
        let body = format!("{ORIGIN}\n{size}\n{}\n", B64.encode(root.0));
        let note = format!("{body}\n— {ORIGIN} {}\n", B64.encode([0u8; 68]));
        cosigned_time(&note, line, &witness);
    }
    // No two are inconsistent: for each pair, the smaller is a prefix of the larger,
    // checked with a consistency proof from whichever history the larger one is of.
    let trees = [
        MemoryHashes::from_leaves(&hist.a),
        MemoryHashes::from_leaves(&hist.b),
    ];
    let roots: Vec<Vec<Digest>> = [&hist.a, &hist.b]
        .iter()
        .map(|h| {
            (0..=h.len())
                .map(|n| merkle::root_of_leaves(&h[..n]))
                .collect()
        })
        .collect();
    let of = |size: u64, root: Digest| -> &MemoryHashes {
        let h = (0..2)
            .find(|&h| roots[h][size as usize] == root)
            .expect("a cosigned root of neither history");
        &trees[h]
    };
    let consistent = |s1: u64, r1: Digest, s2: u64, r2: Digest| {
        let proof = merkle::prove_consistency(s1, s2, of(s2, r2)).unwrap();
        merkle::verify_consistency(s1, r1, s2, r2, &proof).is_ok()
    };
    for (s1, r1, _) in &answers {
        for (s2, r2, _) in &answers {
            if s1 <= s2 {
                assert!(
                    consistent(*s1, *r1, *s2, *r2),
                    "cosigned ({s1}, {r1}) and ({s2}, {r2}): inconsistent"
                );
            }
        }
    }
    // The durable state is never behind a released cosignature, and consistent with all.
    let server = Server::start(work.cwd(), "state", &[]);
    let hash = Digest::of(ORIGIN.as_bytes()).to_hex();
    let r = http(server.port, "GET", &format!("/{hash}/checkpoint"), b"").unwrap();
    assert_eq!(r.status, 200);
    let body = split_note(&r.body).unwrap().body;
    let mut lines = body.lines();
    lines.next();
    let size: u64 = lines.next().unwrap().parse().unwrap();
    let root = Digest(
        B64.decode(lines.next().unwrap())
            .unwrap()
            .try_into()
            .unwrap(),
    );
    let max = answers.iter().map(|a| a.0).max().unwrap();
    assert!(size >= max, "state at {size}, but {max} was cosigned");
    for (s1, r1, _) in &answers {
        assert!(consistent(*s1, *r1, size, root));
    }
    eprintln!(
        "{kills} SIGKILLs, {} cosignatures, final size {size}",
        answers.len()
    );
}

/// `python3 -c` with `stdin`, killed after `limit`; returns stdout (panics on failure).
fn python(script: &str, stdin: &str, limit: Duration) -> String {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 (install it, and aics-witness: see .ci/run)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("python3 did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const FEEDER: &str = r#"
import json, sys
from aics_witness.feeder import submit_checkpoint
a = json.load(sys.stdin)
out = []
for s in a["submissions"]:
    table = {(p[0], p[1]): [bytes.fromhex(h) for h in p[2]] for p in s["proofs"]}
    lines = submit_checkpoint(a["url"], s["note"].encode(), lambda o, n, t=table: t[(o, n)],
                              witness_vkey=a["vkey"], timeout=10, max_attempts=2)
    out.append(lines)
print(json.dumps(out))
"#;

#[test]
fn the_aics_witness_feeder_gets_valid_cosignatures_from_custody() {
    // Two real custody ledgers: a copy of the sample ledger (its operator-signed checkpoint
    // at size 30) and a fresh one that grows from 2 to 5 between two checkpoints.
    let env = Env::new();
    let sample = sample_copy();
    let sample_cp: PathBuf = std::fs::read_dir(sample.path().join("ledger/checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "txt"))
        .unwrap();
    let sample_note = std::fs::read_to_string(&sample_cp).unwrap();
    let sample_origin = sample_note.lines().next().unwrap().to_owned();
    let repo_pub = Path::new(env!("CARGO_MANIFEST_DIR")).join("keys/operator.pub");
    let sample_vkey = env.work.ok(&[
        "key",
        "vkey",
        repo_pub.to_str().unwrap(),
        "--origin",
        &sample_origin,
    ]);
    let ours = std::fs::read_to_string(env.work.path("logs.txt")).unwrap();
    std::fs::write(env.work.path("logs.txt"), format!("{ours}{sample_vkey}")).unwrap();

    let note2 = env.checkpoint();
    env.grow(3);
    let note5 = env.checkpoint();
    let hexes = |p: Vec<Digest>| p.iter().map(Digest::to_hex).collect::<Vec<_>>();
    let server = Server::start(env.cwd(), "state", &["--prefix", "/w"]);
    let vkey = env.witness().to_vkey();
    let input = serde_json::json!({
        "url": format!("http://127.0.0.1:{}/w", server.port),
        "vkey": vkey,
        "submissions": [
            {"note": sample_note, "proofs": []},
            {"note": note2, "proofs": []},
            // The feeder knows no state: it sends old 0, gets 409 naming 2, and retries
            // with the proof from 2 to 5.
            {"note": note5, "proofs": [[2, 5, hexes(env.proof(2, 5))]]},
        ],
    });
    let out = python(FEEDER, &input.to_string(), Duration::from_secs(60));
    let lines: Vec<String> = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(lines.len(), 3);
    let witness = env.witness();
    for (note, line) in [
        (&sample_note, &lines[0]),
        (&note2, &lines[1]),
        (&note5, &lines[2]),
    ] {
        cosigned_time(note, line, &witness);
        // The log's own signature still verifies on the note with the cosignature added.
        let mut n = split_note(note.as_bytes()).unwrap();
        n.add_line(line).unwrap();
        let log_vkey = if note == &sample_note {
            sample_vkey.trim().to_owned()
        } else {
            ours.lines().nth(1).unwrap().to_owned()
        };
        assert!(checkpoint::open(
            n.to_text().as_bytes(),
            &checkpoint::parse_vkey(&log_vkey).unwrap()
        )
        .is_ok());
    }
    let (code, err) = server.stop();
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("3 checkpoints cosigned"), "{err}");
}

/// The files in `STATE/forks`, sorted.
fn fork_files(state: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = match std::fs::read_dir(state.join("forks")) {
        Ok(d) => d.map(|e| e.unwrap().path()).collect(),
        Err(_) => vec![],
    };
    v.sort();
    v
}

/// `custody check-fork FILE --trust <the log's vkey>`: its exit code and output.
fn check_fork(env: &Env, file: &Path) -> (Option<i32>, String) {
    let vkey = std::fs::read_to_string(env.work.path("logs.txt")).unwrap();
    let vkey = vkey.lines().last().unwrap().trim().to_owned();
    let out = env
        .work
        .run(&["check-fork", file.to_str().unwrap(), "--trust", &vkey]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// The log's note at `size` with another root, signed by the operator's real key.
fn forked_note(env: &Env, size: u64) -> (String, Digest) {
    let root = Digest::leaf(b"another history the operator showed someone else");
    let note = checkpoint::sign(ORIGIN, size, root, &env.operator()).unwrap();
    (note, root)
}

/// The same note with one byte of its signature changed: not the operator's signature.
fn forged(note: &str) -> String {
    let i = note.rfind('=').unwrap_or(note.len() - 2) - 3;
    let mut b = note.as_bytes().to_vec();
    b[i] = if b[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(b).unwrap()
}

#[test]
fn a_forked_checkpoint_over_http_leaves_fork_evidence_check_fork_proves() {
    let env = Env::new();
    let note = env.checkpoint();
    let state = env.work.path("state");
    let server = Server::start(env.cwd(), "state", &[]);
    assert_eq!(server.post(&request(0, vec![], &note)).status, 200);
    assert!(fork_files(&state).is_empty());
    // A forged contradicting checkpoint: 403, no evidence (it is not the operator's word).
    let (fork2, fork_root) = forked_note(&env, 2);
    let r = server.post(&request(2, vec![], &forged(&fork2)));
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(fork_files(&state).is_empty());
    // The operator's key signed another root for size 2: 422, never a cosignature.
    let r = server.post(&request(2, vec![], &fork2));
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(!r.text().contains("— "), "{}", r.text());
    let files = fork_files(&state);
    assert_eq!(files.len(), 1, "{files:?}");
    let evidence = std::fs::read_to_string(&files[0]).unwrap();
    let stored_root = split_note(note.as_bytes()).unwrap().body;
    let stored_root = stored_root.lines().nth(2).unwrap();
    assert!(evidence.contains(stored_root), "{evidence}");
    assert!(evidence.contains(&B64.encode(fork_root.0)), "{evidence}");
    // The name is the content's hash.
    let sha = Digest::of(evidence.as_bytes()).to_hex();
    assert!(
        files[0]
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .ends_with(&format!("-{sha}.json")),
        "{files:?}"
    );
    // check-fork: FORK PROVEN, which it reports with exit code 1 (docs/FORKS.md).
    let (code, out) = check_fork(&env, &files[0]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.starts_with("FORK PROVEN"), "{out}");
    // The same request again: 422 again, still one file.
    assert_eq!(server.post(&request(2, vec![], &fork2)).status, 422);
    assert_eq!(fork_files(&state), files);
    // Another root at size 2, sent with old 0 (409): a second file, as proven.
    let other = checkpoint::sign(ORIGIN, 2, Digest::leaf(b"a third"), &env.operator()).unwrap();
    assert_eq!(server.post(&request(0, vec![], &other)).status, 409);
    assert_eq!(fork_files(&state).len(), 2);
    // The witness still cosigns the true history, and its state still opens.
    env.grow(1);
    let note3 = env.checkpoint();
    assert_eq!(
        server.post(&request(2, env.proof(2, 3), &note3)).status,
        200
    );
    let (code, err) = server.stop();
    assert_eq!(code, Some(0), "{err}");
    let named: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("fork evidence written to"))
        .collect();
    assert_eq!(named.len(), 2, "{err}");
    assert!(
        named[0].contains(files[0].file_name().unwrap().to_str().unwrap()),
        "{err}"
    );
    assert!(
        err.contains("the same fork evidence is already in"),
        "{err}"
    );
    let server = Server::start(env.cwd(), "state", &[]);
    assert_eq!(server.post(&request(0, vec![], &note3)).text(), "3\n");
}

#[test]
fn offline_cosign_of_a_forked_checkpoint_leaves_the_same_evidence() {
    let env = Env::new();
    let note = env.checkpoint();
    let state = env.work.path("state");
    let cosign = |req: &[u8]| {
        std::fs::write(env.work.path("req.txt"), req).unwrap();
        env.work.run(&[
            "witness",
            "cosign",
            "req.txt",
            "--key",
            "keys/witness.key",
            "--logs",
            "logs.txt",
            "--state",
            "state",
        ])
    };
    assert_eq!(cosign(&request(0, vec![], &note)).status.code(), Some(0));
    let (fork2, _) = forked_note(&env, 2);
    let out = cosign(&request(2, vec![], &forged(&fork2)));
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(fork_files(&state).is_empty());
    for _ in 0..2 {
        let out = cosign(&request(2, vec![], &fork2));
        assert_eq!(out.status.code(), Some(1));
        assert!(out.stdout.is_empty(), "no cosignature");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("422 Unprocessable Entity"), "{err}");
        let files = fork_files(&state);
        assert_eq!(files.len(), 1, "{files:?}");
        let name = files[0].file_name().unwrap().to_str().unwrap();
        assert!(err.contains(name), "the line names the file: {err}");
        let (code, out) = check_fork(&env, &files[0]);
        assert_eq!(code, Some(1), "{out}");
        assert!(out.starts_with("FORK PROVEN"), "{out}");
    }
}
