//! `custody serve` and `custody submit` over real HTTP on 127.0.0.1, with the built binary:
//! concurrent submitters and a ledger that verifies after, retries recognised, every class of
//! refusal with the ledger untouched, slow clients cut off without holding anyone up, tiles
//! served only by their path, inclusion proofs checked by `submit`, a clean stop on SIGTERM,
//! and SIGKILL again and again without losing an acknowledged submission.
//!
//! Every server runs under a [`Server`] guard that kills it if the test fails; every loop is
//! bounded in count and in time.

mod common;

use common::{init_ledger, run, run_ok, OPERATOR_KEY};
use custody_core::entry::{Body, Content, Submission};
use custody_core::hash::Digest;
use custody_core::json::AddedJson;
use custody_core::keys::SecretKey;
use custody_store::{Access, Ledger};
use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ORIGIN: &str = "example.org/serve-test";

/// The cache folder every custody run of the tests shares (as `common::custody` sets it).
fn cache_dir() -> PathBuf {
    std::env::temp_dir().join("custody-test-cache")
}

/// A running `custody serve`; killed (SIGKILL) and reaped when dropped, also on a failed test.
struct Server {
    child: Child,
    url: String,
    stderr: PathBuf,
    /// Run under strace in its own process group: the whole group is killed.
    group: bool,
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.group {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `custody serve ledger --listen 127.0.0.1:0 extra...` in `cwd` and waits (at most
    /// 60 s) for the address it prints. `Err` with its stderr if it exits first.
    fn try_start(cwd: &Path, ledger: &str, extra: &[&str]) -> Result<Server, String> {
        Server::try_start_under(cwd, ledger, extra, &[])
    }

    /// [`Server::try_start`] under `strace strace_args...` (none: directly), in its own
    /// process group so that the guard kills strace and the server together.
    fn try_start_under(
        cwd: &Path,
        ledger: &str,
        extra: &[&str],
        strace_args: &[&str],
    ) -> Result<Server, String> {
        use std::os::unix::process::CommandExt;
        let stderr = cwd.join(format!(
            "serve-{}.err",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let mut cmd = if strace_args.is_empty() {
            Command::new(common::bin())
        } else {
            let mut c = Command::new("strace");
            c.args(strace_args).arg(common::bin()).process_group(0);
            c
        };
        let mut child = cmd
            .args(["serve", ledger, "--listen", "127.0.0.1:0"])
            .args(extra)
            .current_dir(cwd)
            .env_remove("CUSTODY_PASSPHRASE")
            .env("CUSTODY_CACHE_DIR", cache_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // The first line is the address; the rest is drained so the pipe never fills.
            for line in std::io::BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut server = Server {
            child,
            url: String::new(),
            stderr,
            group: !strace_args.is_empty(),
        };
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    let url = line
                        .rsplit(' ')
                        .next()
                        .filter(|u| u.starts_with("http://127.0.0.1:"))
                        .unwrap_or_else(|| panic!("unexpected first line: {line}"));
                    server.url = url.to_string();
                    return Ok(server);
                }
                Err(_) if Instant::now() > deadline => panic!("custody serve did not start"),
                Err(_) => {
                    if let Ok(Some(status)) = server.child.try_wait() {
                        return Err(format!("exited with {status}: {}", server.err()));
                    }
                }
            }
        }
    }

    fn start(cwd: &Path, ledger: &str, extra: &[&str]) -> Server {
        Server::try_start(cwd, ledger, extra).unwrap_or_else(|e| panic!("custody serve {e}"))
    }

    fn err(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn addr(&self) -> String {
        self.url.trim_start_matches("http://").to_string()
    }

    /// Sends SIGTERM and waits (at most 30 s) for the exit code.
    fn terminate(mut self) -> (Option<i32>, String) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status.code(), self.err());
            }
            assert!(Instant::now() < deadline, "no exit 30 s after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build(),
    )
}

/// POSTs `body` to `url/add`: the status and the body as text.
fn post(agent: &ureq::Agent, url: &str, body: &[u8]) -> Result<(u16, String), ureq::Error> {
    let mut r = agent.post(format!("{url}/add")).send(body)?;
    let status = r.status().as_u16();
    Ok((status, r.body_mut().read_to_string()?))
}

/// One raw HTTP/1.1 request on a new connection (no client library to normalise the path):
/// the status, the headers (lowercased names) and the body.
fn raw(addr: &str, request: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let split = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&all[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, all[split + 4..].to_vec())
}

fn get(addr: &str, path: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    raw(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// A work dir with keys/operator.*, keys/researcher.* and ledger L: 0 genesis, 1 the
/// researcher's grant, 2 a source the claims cite.
fn work() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    common::make_keys(cwd);
    init_ledger(cwd, "L", ORIGIN);
    std::fs::write(cwd.join("report.txt"), b"an NGO report").unwrap();
    run_ok(
        cwd,
        &common::source_args("L", common::RESEARCHER_KEY, "2025-10-15", "ngo-report"),
    );
    tmp
}

fn secret(cwd: &Path, name: &str) -> SecretKey {
    custody_store::files::load_secret(&cwd.join(format!("keys/{name}.key")), || {
        panic!("test keys are not encrypted")
    })
    .unwrap()
}

/// A claim of `n` people citing entry 2, signed by `key` for `origin`: distinct for each `n`.
fn claim(key: &SecretKey, origin: &str, n: u64) -> Submission {
    Content {
        origin: origin.into(),
        signer: key.id(),
        claimed_time: 1_760_000_000 + n as i64,
        body: Body::Claim {
            statement: format!("case {n}: one person returned"),
            count: Some(1),
            unit: "people".into(),
            category: "forced-repatriation".into(),
            period: "2025".into(),
            place: "Dandong".into(),
            cites: vec![2],
        },
    }
    .sign(key.signing_key())
    .unwrap()
}

fn cust(sub: &Submission) -> Vec<u8> {
    sub.to_file_bytes().unwrap()
}

fn added(body: &str) -> AddedJson {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// The leaf hash this machine computes for `sub` as the entry `a` names.
fn leaf_of(sub: &Submission, a: &AddedJson) -> String {
    let prev = Digest::from_hex(&a.prev_hash).unwrap();
    Digest::leaf(&sub.clone().into_entry(a.index, prev).to_bytes().unwrap()).to_hex()
}

fn open(cwd: &Path) -> Ledger {
    std::env::set_var("CUSTODY_CACHE_DIR", cache_dir());
    Ledger::open(&cwd.join("L"), Access::Read).unwrap()
}

#[test]
fn concurrent_submitters_are_sequenced_and_the_ledger_verifies() {
    let w = work();
    let cwd = w.path();
    let server = Server::start(cwd, "L", &[]);
    let key = Arc::new(secret(cwd, "researcher"));
    let (threads, each) = (8u64, 40u64);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (url, key) = (server.url.clone(), key.clone());
            std::thread::spawn(move || {
                let agent = agent();
                (0..each)
                    .map(|i| {
                        let sub = claim(&key, ORIGIN, t * 1000 + i);
                        let (status, body) = post(&agent, &url, &cust(&sub)).unwrap();
                        assert_eq!(status, 201, "{body}");
                        let a = added(&body);
                        assert!(a.appended && a.inclusion_proof.is_none(), "{body}");
                        assert_eq!(a.leaf_hash, leaf_of(&sub, &a));
                        (a.index, a.leaf_hash)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut got: Vec<(u64, String)> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    got.sort();
    let indices: Vec<u64> = got.iter().map(|g| g.0).collect();
    assert_eq!(indices, (3..3 + threads * each).collect::<Vec<_>>());
    let (code, err) = server.terminate();
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains(&format!("stopped: {} entries appended", threads * each)),
        "{err}"
    );
    let report = common::verify(&cwd.join("L")).unwrap();
    assert_eq!(report.entries, 3 + threads * each);
    let l = open(cwd);
    for (i, leaf) in got {
        assert_eq!(l.leaf(i).unwrap().to_hex(), leaf, "entry {i}");
    }
}

#[test]
fn a_retry_is_answered_with_the_same_entry_and_never_appended_twice() {
    let w = work();
    let cwd = w.path();
    let server = Server::start(cwd, "L", &[]);
    let sub = claim(&secret(cwd, "researcher"), ORIGIN, 1);
    let agent = agent();
    let (status, first) = post(&agent, &server.url, &cust(&sub)).unwrap();
    assert_eq!(status, 201, "{first}");
    let entries = cwd.join("L/entries");
    let size = std::fs::metadata(&entries).unwrap().len();
    for _ in 0..3 {
        let (status, again) = post(&agent, &server.url, &cust(&sub)).unwrap();
        assert_eq!(status, 200, "{again}");
        let (a, b) = (added(&first), added(&again));
        assert_eq!(
            (a.index, &a.leaf_hash, &a.prev_hash),
            (b.index, &b.leaf_hash, &b.prev_hash)
        );
        assert!(a.appended && !b.appended);
    }
    // The same file through `custody submit`, and concurrent retries of a new one.
    std::fs::write(cwd.join("one.cust"), cust(&sub)).unwrap();
    let out = run_ok(cwd, &["submit", &server.url, "one.cust"]);
    assert!(out.starts_with("already entry 3 (a retry"), "{out}");
    let two = claim(&secret(cwd, "researcher"), ORIGIN, 2);
    let answers: Vec<_> = (0..6)
        .map(|_| {
            let (url, body) = (server.url.clone(), cust(&two));
            std::thread::spawn(move || post(&self::agent(), &url, &body).unwrap())
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    let created = answers.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(created, 1, "{answers:?}");
    assert!(answers
        .iter()
        .all(|(s, b)| (*s == 200 || *s == 201) && added(b).index == 4));
    drop(server);
    let report = common::verify(&cwd.join("L")).unwrap();
    assert_eq!(report.entries, 5);
    assert!(std::fs::metadata(&entries).unwrap().len() > size);
}

/// Signs `content` again with another nonce: a second valid strict signature of the same
/// signed bytes (as a signer with randomised nonces, an HSM, may make).
fn resigned(sub: &Submission, key: &SecretKey) -> Submission {
    use ed25519_dalek::hazmat::{raw_sign, ExpandedSecretKey};
    let mut esk = ExpandedSecretKey::from(&key.signing_key().to_bytes());
    esk.hash_prefix[0] ^= 1;
    let msg = sub.content.signed_bytes().unwrap();
    let sig = raw_sign::<sha2::Sha512>(&esk, &msg, &key.signing_key().verifying_key());
    let mut out = sub.clone();
    out.signature = custody_core::entry::Sig(sig.to_bytes());
    assert_ne!(out.signature, sub.signature);
    custody_core::keys::verify_strict(&key.signing_key().verifying_key(), &msg, &out.signature.0)
        .unwrap();
    out
}

#[test]
fn every_refusal_is_a_4xx_with_one_line_and_the_ledger_untouched() {
    let w = work();
    let cwd = w.path();
    // A reviewer key, granted and then revoked.
    run_ok(cwd, &["key", "new", "reviewer"]);
    run_ok(
        cwd,
        &common::key_args(
            "grant",
            "L",
            OPERATOR_KEY,
            "keys/reviewer.pub",
            "researcher",
        ),
    );
    run_ok(
        cwd,
        &common::key_args("revoke", "L", OPERATOR_KEY, "keys/reviewer.pub", "left"),
    );
    let server = Server::start(cwd, "L", &["--max-body", "4096"]);
    let re = secret(cwd, "researcher");
    let accepted = claim(&re, ORIGIN, 1);
    let agent = agent();
    let (status, body) = post(&agent, &server.url, &cust(&accepted)).unwrap();
    assert_eq!(status, 201, "{body}");
    let before = common::snapshot(&cwd.join("L"));

    let stranger = SecretKey::from_seed("stranger", &[9u8; 32]);
    let mut bad_sig = claim(&re, ORIGIN, 2);
    bad_sig.signature.0[10] ^= 1;
    let mut truncated = cust(&claim(&re, ORIGIN, 3));
    truncated.pop();
    let mut trailing = cust(&claim(&re, ORIGIN, 4));
    trailing.push(0);
    let uncited = {
        let mut s = claim(&re, ORIGIN, 5);
        if let Body::Claim { cites, .. } = &mut s.content.body {
            *cites = vec![999];
        }
        s.content.sign(re.signing_key()).unwrap()
    };
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "not a submission",
            b"hello".to_vec(),
            400,
            "not a custody submission",
        ),
        ("empty", Vec::new(), 400, "not a custody submission"),
        ("cut short", truncated, 400, "not a custody submission"),
        ("a byte too many", trailing, 400, "not a custody submission"),
        (
            "ungranted signer",
            cust(&claim(&stranger, ORIGIN, 6)),
            403,
            "never granted",
        ),
        (
            "revoked signer",
            cust(&claim(&secret(cwd, "reviewer"), ORIGIN, 7)),
            403,
            "revoked",
        ),
        (
            "bad signature",
            cust(&bad_sig),
            403,
            "signature does not verify",
        ),
        ("cites nothing", cust(&uncited), 422, "999"),
        (
            "another ledger",
            cust(&claim(&re, "example.org/elsewhere", 8)),
            422,
            "origin",
        ),
        (
            "same content, another signature",
            cust(&resigned(&accepted, &re)),
            409,
            "already entry 5",
        ),
        ("oversized", vec![0u8; 5000], 413, "larger than 4096 bytes"),
    ];
    for (what, body, want, says) in cases {
        let (status, text) = post(&agent, &server.url, &body).unwrap();
        assert_eq!(status, want, "{what}: {text}");
        assert!(text.contains(says), "{what}: {text}");
        assert!(
            text.ends_with('\n') && text.matches('\n').count() == 1,
            "{what}: {text:?}"
        );
    }
    // Oversized without a Content-Length (chunked): cut off at the bound, still 413.
    let addr = server.addr();
    let chunk = "a".repeat(3000);
    let (status, _, body) = raw(
        &addr,
        &format!(
            "POST /add HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
             {len:x}\r\n{chunk}\r\n{len:x}\r\n{chunk}\r\n0\r\n\r\n",
            len = chunk.len()
        ),
    );
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
    // Other methods and paths.
    let (status, _, _) = get(&addr, "/add");
    assert_eq!(status, 405);
    let (status, _, body) = get(&addr, "/entries");
    assert_eq!(status, 404);
    assert!(String::from_utf8_lossy(&body).contains("POST /add"));
    // `custody submit` says the server's reason on one line, exit 2.
    std::fs::write(
        cwd.join("stranger.cust"),
        cust(&claim(&stranger, ORIGIN, 6)),
    )
    .unwrap();
    let out = run(cwd, &["submit", &server.url, "stranger.cust"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("answered 403: refused:") && err.contains("never granted"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    drop(server);
    assert_eq!(common::snapshot(&cwd.join("L")), before);
}

#[test]
fn a_slow_client_is_cut_off_and_holds_up_no_one() {
    let w = work();
    let cwd = w.path();
    let server = Server::start(
        cwd,
        "L",
        &["--header-timeout", "2s", "--body-timeout", "2s"],
    );
    let addr = server.addr();
    // Headers one byte at a time, 200 ms apart: far slower than the 2 s allowed.
    let done = Arc::new(AtomicBool::new(false));
    let slow = {
        let (addr, done) = (addr.clone(), done.clone());
        std::thread::spawn(move || {
            let mut s = TcpStream::connect(&addr).unwrap();
            s.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let start = Instant::now();
            let head = format!(
                "POST /add HTTP/1.1\r\nHost: {addr}\r\nX-Slow: {}\r\n",
                "a".repeat(200)
            );
            let mut buf = [0u8; 512];
            for b in head.bytes() {
                if start.elapsed() > Duration::from_secs(20) || s.write_all(&[b]).is_err() {
                    break;
                }
                // The read timeout is the pause between bytes; EOF or a reset is the server
                // closing the connection.
                match s.read(&mut buf) {
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    _ => {
                        done.store(true, Ordering::SeqCst);
                        return start.elapsed();
                    }
                }
            }
            start.elapsed()
        })
    };
    // Meanwhile others are served.
    std::thread::sleep(Duration::from_millis(300));
    let key = secret(cwd, "researcher");
    let agent = agent();
    for n in 0..5 {
        let (status, body) = post(&agent, &server.url, &cust(&claim(&key, ORIGIN, n))).unwrap();
        assert_eq!(status, 201, "{body}");
    }
    assert!(
        !done.load(Ordering::SeqCst),
        "the slow client was cut before the others ran"
    );
    let took = slow.join().unwrap();
    assert!(
        done.load(Ordering::SeqCst),
        "the slow client was never cut off ({took:?})"
    );
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(15),
        "{took:?}"
    );
    // A body sent too slowly is a 408, and nothing is appended.
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s.write_all(
        format!("POST /add HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 1000\r\nConnection: close\r\n\r\nabc")
            .as_bytes(),
    )
    .unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    drop(server);
    assert_eq!(common::verify(&cwd.join("L")).unwrap().entries, 8);
}

#[test]
fn tiles_are_served_read_only_by_their_path_and_nothing_else() {
    let w = work();
    let cwd = w.path();
    let publish = cwd.join("www");
    let full: Vec<u8> = (0..8192u32).map(|i| (i % 251) as u8).collect();
    let partial = vec![7u8; 5 * 32];
    let bundle = vec![0u8, 3, b'a', b'b', b'c'];
    std::fs::create_dir_all(publish.join("tile/0/x001")).unwrap();
    std::fs::create_dir_all(publish.join("tile/entries")).unwrap();
    std::fs::write(
        publish.join("checkpoint"),
        b"example.org/serve-test\n3\nAAAA\n",
    )
    .unwrap();
    std::fs::write(publish.join("tile/0/000"), &full).unwrap();
    std::fs::create_dir_all(publish.join("tile/0/001.p")).unwrap();
    std::fs::write(publish.join("tile/0/001.p/5"), &partial).unwrap();
    std::fs::write(publish.join("tile/0/x001/234"), &full).unwrap();
    std::fs::create_dir_all(publish.join("tile/entries/000.p")).unwrap();
    std::fs::write(publish.join("tile/entries/000.p/1"), &bundle).unwrap();
    std::fs::write(publish.join("secret"), b"not a tile").unwrap();
    std::fs::write(cwd.join("outside"), b"outside the directory").unwrap();
    std::os::unix::fs::symlink(cwd.join("outside"), publish.join("tile/0/002")).unwrap();
    std::fs::create_dir_all(cwd.join("elsewhere")).unwrap();
    std::fs::write(cwd.join("elsewhere/000"), &full).unwrap();
    std::os::unix::fs::symlink(cwd.join("elsewhere"), publish.join("tile/1")).unwrap();
    let www = publish.display().to_string();
    let server = Server::start(cwd, "L", &["--publish", &www]);
    let addr = server.addr();

    for (path, bytes, cache) in [
        ("/tile/0/000", &full, "public, max-age=31536000, immutable"),
        (
            "/tile/0/x001/234",
            &full,
            "public, max-age=31536000, immutable",
        ),
        ("/tile/0/001.p/5", &partial, "no-cache"),
        ("/tile/entries/000.p/1", &bundle, "no-cache"),
    ] {
        let (status, h, body) = get(&addr, path);
        assert_eq!(status, 200, "{path}");
        assert_eq!(&body, bytes, "{path}");
        assert_eq!(header(&h, "cache-control"), Some(cache), "{path}");
        assert_eq!(header(&h, "content-type"), Some("application/octet-stream"));
    }
    let (status, h, body) = get(&addr, "/checkpoint");
    assert_eq!(status, 200);
    assert_eq!(body, std::fs::read(publish.join("checkpoint")).unwrap());
    assert_eq!(header(&h, "cache-control"), Some("no-cache"));
    assert_eq!(
        header(&h, "content-type"),
        Some("text/plain; charset=utf-8")
    );
    let (status, h, body) = raw(
        &addr,
        &format!("HEAD /tile/0/000 HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(status, 200);
    assert_eq!(header(&h, "content-length"), Some("8192"));
    assert!(body.is_empty());
    // A planted link, to a file or a directory, is refused, not followed.
    for path in ["/tile/0/002", "/tile/1/000"] {
        let (status, _, body) = get(&addr, path);
        assert_eq!(status, 403, "{path}: {}", String::from_utf8_lossy(&body));
        assert!(!body.windows(7).any(|w| w == b"outside"), "{path}");
    }
    // Anything but a canonical tile path never reaches the file system.
    for path in [
        "/tile/0/003",
        "/secret",
        "/tile/0/../../secret",
        "/tile/%2e%2e/secret",
        "/tile/0/%30%30%30",
        "/tile/0//000",
        "/tile/0/x000/000",
        "/tile/00/000",
        "/tile/0/000/",
        "/tile/data/000",
        "/tile/0/001.p/05",
        "/tile/0/001.p/256",
    ] {
        let (status, _, body) = get(&addr, path);
        assert_eq!(status, 404, "{path}: {}", String::from_utf8_lossy(&body));
        assert!(!body.starts_with(b"not a tile") && body != full, "{path}");
    }
    let (status, _, _) = raw(
        &addr,
        &format!("POST /tile/0/000 HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(status, 405);
    // A full tile never changes, so once read it is served from memory; a partial tile is
    // replaced as the log grows, so it is read from the directory every time.
    std::fs::remove_file(publish.join("tile/0/x001/234")).unwrap();
    std::fs::remove_file(publish.join("tile/0/001.p/5")).unwrap();
    let (status, h, body) = get(&addr, "/tile/0/x001/234");
    assert_eq!((status, &body), (200, &full));
    assert_eq!(
        header(&h, "cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(get(&addr, "/tile/0/001.p/5").0, 404);
    drop(server);
    assert_eq!(std::fs::read(publish.join("tile/0/000")).unwrap(), full);
}

#[test]
fn checkpoints_on_a_schedule_and_submit_checks_the_inclusion_proof() {
    let w = work();
    let cwd = w.path();
    // Committed and checkpointed before the server starts (entry 3, tree size 4), so that
    // the server's first tick finds nothing new and the claim is entry 4 whenever it lands.
    run_ok(cwd, &["checkpoint", "L", "--key", OPERATOR_KEY]);
    let server = Server::start(
        cwd,
        "L",
        &["--key", OPERATOR_KEY, "--checkpoint-every", "300ms"],
    );
    let vkey = run_ok(
        cwd,
        &["key", "vkey", "keys/operator.pub", "--origin", ORIGIN],
    )
    .trim()
    .to_string();
    let sub = claim(&secret(cwd, "researcher"), ORIGIN, 1);
    std::fs::write(cwd.join("one.cust"), cust(&sub)).unwrap();
    let out = run(cwd, &["submit", &server.url, "one.cust", "--trust", &vkey]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("entry 4 appended; leaf hash "),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no checkpoint covers entry 4 yet"));
    // The next checkpoint covers it and the state commitment after it, entry 5 (bounded
    // wait); the log did not grow after, so no other.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _, body) = get(&server.addr(), "/checkpoint");
        if status == 200 && String::from_utf8_lossy(&body).lines().nth(1) == Some("6") {
            break;
        }
        assert!(Instant::now() < deadline, "no checkpoint of 6 entries");
        std::thread::sleep(Duration::from_millis(100));
    }
    // While the server runs (and keeps this machine's cache lock for its life), a reader of
    // the same ledger is not stalled: it verifies with temporary caches. Bounded: a reader
    // that waited for the lock would be killed and fail here, not hang the run.
    for args in [
        &["verify", "L"][..],
        &["export", "L", "--entry", "4", "-o", "live.json"][..],
    ] {
        let mut child = Command::new(common::bin())
            .current_dir(cwd)
            .env("CUSTODY_CACHE_DIR", cache_dir())
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("custody {args:?} waited for the running server's cache lock");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(status.success(), "custody {args:?}: {status}");
    }
    // A retry now comes back with a proof, which submit checks against the trusted key.
    let (status, body) = post(&agent(), &server.url, &cust(&sub)).unwrap();
    assert_eq!(status, 200, "{body}");
    let a = added(&body);
    let proof = a.inclusion_proof.clone().expect("a proof");
    assert!(
        proof.starts_with("c2sp.org/tlog-proof@v1\nindex 4\n"),
        "{proof}"
    );
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(add_schema().is_valid(&v), "{v}");
    let out = run(cwd, &["submit", &server.url, "one.cust", "--trust", &vkey]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("entry 4 is in the checkpoint at tree size 6 signed by the trusted key"),
        "{err}"
    );
    // Under a key the user does not trust, the same proof fails: exit 1.
    let other = run_ok(
        cwd,
        &["key", "vkey", "keys/researcher.pub", "--origin", ORIGIN],
    );
    let out = run(
        cwd,
        &["submit", &server.url, "one.cust", "--trust", other.trim()],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("does not verify against the trusted key"),
        "{err}"
    );
    let (code, err) = server.terminate();
    assert_eq!(code, Some(0), "{err}");
    // No server: submit cannot reach it, exit 2, and says a retry is safe.
    let out = run(cwd, &["submit", &server_url_gone(), "one.cust"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cannot reach") && err.contains("send it again"),
        "{err}"
    );
}

/// A figure of at least `value` people, the sum of the claims `terms`, signed by `key`.
fn figure(key: &SecretKey, value: u64, terms: &[u64]) -> Submission {
    Content {
        origin: ORIGIN.into(),
        signer: key.id(),
        claimed_time: 1_760_100_000,
        body: Body::Figure {
            label: "returned".into(),
            value,
            qualifier: custody_core::entry::Qualifier::AtLeast,
            unit: "people".into(),
            terms: terms.to_vec(),
        },
    }
    .sign(key.signing_key())
    .unwrap()
}

/// A correction of claim `target` to `count` people, signed by `key`.
fn correction(key: &SecretKey, target: u64, count: u64) -> Submission {
    Content {
        origin: ORIGIN.into(),
        signer: key.id(),
        claimed_time: 1_760_200_000,
        body: Body::Correction {
            target,
            count: Some(count),
            statement: None,
            reason: "recounted".into(),
        },
    }
    .sign(key.signing_key())
    .unwrap()
}

/// Posts `sub` and returns its index, requiring 201.
fn submit_new(url: &str, sub: &Submission) -> u64 {
    let (status, body) = post(&agent(), url, &cust(sub)).unwrap();
    assert_eq!(status, 201, "{body}");
    added(&body).index
}

/// The tree size of the checkpoint the server answers `GET /checkpoint` with (0: none).
fn served_size(addr: &str) -> u64 {
    let (status, _, body) = get(addr, "/checkpoint");
    if status != 200 {
        return 0;
    }
    String::from_utf8_lossy(&body)
        .lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .unwrap_or(0)
}

/// Waits (at most 30 s) until the server answers a checkpoint of at least `size` entries.
fn wait_for_checkpoint(addr: &str, size: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = served_size(addr);
        if got >= size {
            return got;
        }
        assert!(Instant::now() < deadline, "no checkpoint of {size} entries");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The indices of the state commitments in ledger `L` of `cwd`, read from its entries.
fn commitments(cwd: &Path) -> Vec<u64> {
    let l = open(cwd);
    (0..l.size())
        .filter(|&i| {
            matches!(
                l.entry(i).unwrap().content.body,
                Body::StateCommitment { .. }
            )
        })
        .collect()
}

/// `custody export L SUBJECT -o out` then `custody check out --trust vkey` with no
/// --allow-incomplete: both must say the bundle is complete, and check must exit 0.
fn export_and_check_complete(cwd: &Path, subject: &[&str], out: &str, vkey: &str) {
    let mut args = vec!["export", "L"];
    args.extend_from_slice(subject);
    args.extend_from_slice(&["-o", out]);
    let exported = run_ok(cwd, &args);
    assert!(
        exported.contains("complete: it holds every amendment"),
        "{exported}"
    );
    let checked = run(cwd, &["check", out, "--trust", vkey]);
    let stdout = String::from_utf8_lossy(&checked.stdout);
    assert_eq!(checked.status.code(), Some(0), "{checked:?}");
    assert!(
        stdout.contains("complete: every correction") && !stdout.contains("NOT PROVEN"),
        "{stdout}"
    );
}

#[test]
fn scheduled_checkpoints_commit_state_so_bundles_of_a_served_log_check_complete() {
    let w = work();
    let cwd = w.path();
    let vkey = run_ok(
        cwd,
        &["key", "vkey", "keys/operator.pub", "--origin", ORIGIN],
    )
    .trim()
    .to_string();
    let entries = cwd.join("L/entries");
    let server = Server::start(
        cwd,
        "L",
        &["--key", OPERATOR_KEY, "--checkpoint-every", "200ms"],
    );
    let addr = server.addr();
    let key = secret(cwd, "researcher");
    // Two claims, a figure over them and a correction of the first: a tick may fall between
    // any two, so the indices are the server's answers.
    let a = submit_new(&server.url, &claim(&key, ORIGIN, 1));
    let b = submit_new(&server.url, &claim(&key, ORIGIN, 2));
    let fig = submit_new(&server.url, &figure(&key, 2, &[a, b]));
    let fix = submit_new(&server.url, &correction(&key, a, 3));
    let mut acked = vec![a, b, fig, fix];
    // The checkpoint that covers them ends in a commitment after the last.
    // (The ledger is read only once the server stopped: a reader waits for the cache lock the
    // server holds.)
    let size = wait_for_checkpoint(&addr, fix + 2);
    // Idle ticks (ten of them) append nothing and sign nothing.
    let (len, files) = (
        std::fs::metadata(&entries).unwrap().len(),
        common::checkpoint_files(&cwd.join("L")),
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(std::fs::metadata(&entries).unwrap().len(), len);
    assert_eq!(common::checkpoint_files(&cwd.join("L")), files);
    assert_eq!(served_size(&addr), size);
    // A submission after the checkpoint is the next entry, and the next checkpoint the
    // commitment after it.
    let c = submit_new(&server.url, &claim(&key, ORIGIN, 3));
    assert_eq!(c, size);
    acked.push(c);
    assert_eq!(wait_for_checkpoint(&addr, c + 2), c + 2);
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(served_size(&addr), c + 2, "idle after the commitment");
    let (code, err) = server.terminate();
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains(&format!("entry {} (state-commitment) appended", c + 1))
            && err.contains("5 entries appended")
            && err.contains("state commitments;"),
        "{err}"
    );
    // The log holds the genesis, the grant, the source, what was acknowledged, and
    // commitments, never two in a row; both checkpoints seen end in one, and every full
    // replay checks them.
    let report = common::verify(&cwd.join("L")).unwrap_or_else(|f| panic!("{f:?}"));
    assert_eq!(report.entries, c + 2);
    let commits = commitments(cwd);
    assert!(
        commits.contains(&(size - 1)) && commits.last() == Some(&(c + 1)),
        "{commits:?}"
    );
    assert!(commits.windows(2).all(|p| p[1] > p[0] + 1), "{commits:?}");
    let mut all: Vec<u64> = acked.iter().chain(&commits).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (3..c + 2).collect::<Vec<_>>());
    // Exported against the server's last checkpoint, with no key: complete, and the
    // figure's bundle holds the correction of its first term and the commitment.
    export_and_check_complete(cwd, &["--figure", &fig.to_string()], "fig.json", &vkey);
    let bundle: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cwd.join("fig.json")).unwrap()).unwrap();
    let held: Vec<u64> = bundle["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    assert!(held.contains(&fix) && held.contains(&(c + 1)), "{held:?}");
    export_and_check_complete(cwd, &["--entry", &a.to_string()], "a.json", &vkey);
    export_and_check_complete(cwd, &["--entry", &c.to_string()], "c.json", &vkey);
}

#[test]
fn a_stop_commits_state_and_signs_what_no_tick_covered() {
    let w = work();
    let cwd = w.path();
    run_ok(cwd, &["checkpoint", "L", "--key", OPERATOR_KEY]);
    // No tick in the test's time: only the stop checkpoints.
    let server = Server::start(
        cwd,
        "L",
        &["--key", OPERATOR_KEY, "--checkpoint-every", "1h"],
    );
    let key = secret(cwd, "researcher");
    assert_eq!(submit_new(&server.url, &claim(&key, ORIGIN, 1)), 4);
    let (code, err) = server.terminate();
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("entry 5 (state-commitment) appended")
            && err.contains("checkpoint at tree size 6 recorded")
            && err.contains("1 state commitment;"),
        "{err}"
    );
    assert_eq!(commitments(cwd), [3, 5]);
    assert_eq!(common::verify(&cwd.join("L")).unwrap().entries, 6);
    // Started again and stopped with nothing new: nothing appended, nothing signed.
    let files = common::checkpoint_files(&cwd.join("L"));
    let server = Server::start(
        cwd,
        "L",
        &["--key", OPERATOR_KEY, "--checkpoint-every", "1h"],
    );
    let (code, err) = server.terminate();
    assert_eq!(code, Some(0), "{err}");
    assert!(
        !err.contains("state-commitment") && !err.contains("recorded"),
        "{err}"
    );
    assert_eq!(common::checkpoint_files(&cwd.join("L")), files);
    assert_eq!(commitments(cwd), [3, 5]);
}

#[test]
fn sigkill_between_the_commitment_and_its_checkpoint_leaves_a_ledger_that_verifies() {
    let w = work();
    let cwd = w.path();
    run_ok(cwd, &["checkpoint", "L", "--key", OPERATOR_KEY]);
    let vkey = run_ok(
        cwd,
        &["key", "vkey", "keys/operator.pub", "--origin", ORIGIN],
    )
    .trim()
    .to_string();
    // The claim is entry 4, its commitment entry 5: the checkpoint of 6 is written to
    // checkpoints/.6.tmp, fsynced, then renamed, and that rename is held for 5 s. (Passed
    // both as the server names it and absolute, whichever strace matches.)
    let trace = cwd.join("strace.txt");
    let tmp = cwd.join("L/checkpoints/.6.tmp");
    let (trace_arg, tmp_arg) = (trace.display().to_string(), tmp.display().to_string());
    let server = Server::try_start_under(
        cwd,
        "L",
        &["--key", OPERATOR_KEY, "--checkpoint-every", "200ms"],
        &[
            "-f",
            "-qq",
            "-e",
            "signal=none",
            "-o",
            &trace_arg,
            "-P",
            &tmp_arg,
            "-P",
            "L/checkpoints/.6.tmp",
            "-e",
            "trace=rename,renameat,renameat2",
            "-e",
            "inject=rename,renameat,renameat2:delay_enter=5000000",
        ],
    )
    .unwrap_or_else(|e| panic!("custody serve under strace (apt-get install strace): {e}"));
    let key = secret(cwd, "researcher");
    assert_eq!(submit_new(&server.url, &claim(&key, ORIGIN, 1)), 4);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !tmp.exists() {
        assert!(
            Instant::now() < deadline,
            "the checkpoint of 6 was never written"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    drop(server); // SIGKILL, with the rename held
                  // (strace, killed too, may not have written its trace: what is on disk shows the hold.
                  // Without it the loop above could not have seen the temporary file, renamed at once.)
    assert!(tmp.exists(), "the checkpoint's temporary file was renamed");
    assert!(
        !common::checkpoint_files(&cwd.join("L")).iter().any(|p| p
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("000000000006-")),
        "the checkpoint of 6 was recorded before the kill"
    );
    // The commitment is durable and whole: repair finds nothing to cut, verify accepts it.
    let repaired = run_ok(cwd, &["repair", "L"]);
    assert!(
        repaired.contains("nothing to repair: the entries file ends at entry 5"),
        "{repaired}"
    );
    assert_eq!(common::verify(&cwd.join("L")).unwrap().entries, 6);
    assert_eq!(commitments(cwd), [3, 5]);
    // Served again, the next tick signs the checkpoint over that commitment without a
    // second one, and bundles check complete against it.
    let server = Server::start(
        cwd,
        "L",
        &["--key", OPERATOR_KEY, "--checkpoint-every", "200ms"],
    );
    assert_eq!(wait_for_checkpoint(&server.addr(), 6), 6);
    let (code, err) = server.terminate();
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("state-commitment"), "{err}");
    assert_eq!(commitments(cwd), [3, 5]);
    export_and_check_complete(cwd, &["--entry", "4"], "e.json", &vkey);
}

/// docs/schemas/add.schema.json, with the common definitions it refers to, resolved offline.
fn add_schema() -> jsonschema::Validator {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schemas");
    let uri = |n: &str| format!("file://{}/{n}", dir.display());
    let load = |n: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.join(n)).unwrap()).unwrap()
    };
    let registry = jsonschema::Registry::new()
        .extend(["add.schema.json", "common.schema.json"].map(|n| (uri(n), load(n))))
        .unwrap()
        .prepare()
        .unwrap();
    jsonschema::draft202012::options()
        .with_registry(&registry)
        .with_base_uri(uri("add.schema.json"))
        .build(&load("add.schema.json"))
        .unwrap()
}

/// A loopback URL nothing listens on (a port just bound and released).
fn server_url_gone() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", l.local_addr().unwrap())
}

#[test]
fn sigterm_finishes_the_batch_in_hand_exits_0_and_releases_the_lock() {
    let w = work();
    let cwd = w.path();
    let server = Server::start(cwd, "L", &[]);
    let key = Arc::new(secret(cwd, "researcher"));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Instant::now() + Duration::from_secs(20);
    let clients: Vec<_> = (0..4u64)
        .map(|t| {
            let (url, key, acked) = (server.url.clone(), key.clone(), acked.clone());
            std::thread::spawn(move || {
                let agent = agent();
                for i in 0..10_000u64 {
                    if Instant::now() > stop {
                        break;
                    }
                    let sub = claim(&key, ORIGIN, t * 100_000 + i);
                    match post(&agent, &url, &cust(&sub)) {
                        Ok((201, body)) => acked.lock().unwrap().push(added(&body)),
                        // Refused while stopping, or the connection closed: not acknowledged.
                        Ok((503, _)) | Err(_) => break,
                        Ok((s, body)) => panic!("{s}: {body}"),
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    while acked.lock().unwrap().len() < 20 {
        assert!(Instant::now() < deadline, "no submissions acknowledged");
        std::thread::sleep(Duration::from_millis(10));
    }
    let (code, err) = server.terminate();
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("stopping") && err.contains("is unlocked"),
        "{err}"
    );
    for c in clients {
        c.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let l = open(cwd);
    for a in &acked {
        assert_eq!(l.leaf(a.index).unwrap().to_hex(), a.leaf_hash);
    }
    drop(l);
    // The lock is free: an append from the command line goes through at once.
    std::fs::write(
        cwd.join("after.cust"),
        cust(&claim(&key, ORIGIN, 999_999_999)),
    )
    .unwrap();
    let out = run_ok(cwd, &["append", "L", "after.cust"]);
    assert!(out.contains("appended"), "{out}");
    assert!(common::verify(&cwd.join("L")).is_ok());
}

#[test]
fn sigkill_again_and_again_loses_no_acknowledged_submission() {
    use rand::Rng;
    let w = work();
    let cwd = w.path();
    let key = Arc::new(secret(cwd, "researcher"));
    // Where the clients send: the current server's URL, or none between runs.
    let url: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let acked: Arc<Mutex<Vec<(String, AddedJson)>>> = Arc::new(Mutex::new(Vec::new()));
    let finished = Arc::new(AtomicBool::new(false));
    let end = Instant::now() + Duration::from_secs(120);
    let clients: Vec<_> = (0..4u64)
        .map(|t| {
            let (url, key, acked, finished) =
                (url.clone(), key.clone(), acked.clone(), finished.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                let mut sub = claim(&key, ORIGIN, t * 1_000_000);
                for _ in 0..200_000 {
                    if finished.load(Ordering::SeqCst) || Instant::now() > end {
                        break;
                    }
                    let Some(u) = url.lock().unwrap().clone() else {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    };
                    // Each attempt on a new agent: a connection the server died on is gone.
                    match post(&agent(), &u, &cust(&sub)) {
                        Ok((s @ (200 | 201), body)) => {
                            let a = added(&body);
                            assert_eq!(a.leaf_hash, leaf_of(&sub, &a), "{body}");
                            acked.lock().unwrap().push((format!("{s}"), a));
                            n += 1;
                            sub = claim(&key, ORIGIN, t * 1_000_000 + n);
                        }
                        // Killed mid-request: the same submission is sent again.
                        Ok((503, _)) | Err(_) => std::thread::sleep(Duration::from_millis(5)),
                        Ok((s, body)) => panic!("{s}: {body}"),
                    }
                }
            })
        })
        .collect();
    let mut rng = rand::thread_rng();
    let mut repaired = 0;
    for round in 0..6 {
        let server = match Server::try_start(cwd, "L", &[]) {
            Ok(s) => s,
            Err(e) => {
                // A kill during a write leaves a torn tail: the operator repairs, then serves.
                assert!(
                    e.contains("torn write") && e.contains("custody repair"),
                    "{e}"
                );
                let out = run_ok(cwd, &["repair", "L"]);
                assert!(out.contains("cut"), "{out}");
                repaired += 1;
                Server::start(cwd, "L", &[])
            }
        };
        *url.lock().unwrap() = Some(server.url.clone());
        if round == 5 {
            // The last run ends cleanly, after a last burst.
            std::thread::sleep(Duration::from_millis(500));
            finished.store(true, Ordering::SeqCst);
            let (code, err) = server.terminate();
            assert_eq!(code, Some(0), "{err}");
            break;
        }
        std::thread::sleep(Duration::from_millis(rng.gen_range(150..700)));
        *url.lock().unwrap() = None;
        drop(server); // SIGKILL
    }
    finished.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 50, "only {} acknowledged", acked.len());
    // Every acknowledged submission is in the ledger, where it was said to be, once.
    if run(cwd, &["verify", "L"]).status.code() != Some(0) {
        run_ok(cwd, &["repair", "L"]);
    }
    let report = common::verify(&cwd.join("L")).unwrap_or_else(|f| panic!("{f:?}"));
    let l = open(cwd);
    let mut seen = std::collections::BTreeMap::new();
    for (status, a) in &acked {
        assert_eq!(
            l.leaf(a.index).unwrap().to_hex(),
            a.leaf_hash,
            "{status} {a:?}"
        );
        seen.insert(a.index, a.leaf_hash.clone());
    }
    assert!(report.entries >= 3 + seen.len() as u64);
    eprintln!(
        "{} acknowledged ({} distinct entries) over 6 runs, 5 SIGKILLs, {repaired} torn tails repaired; the ledger holds {}",
        acked.len(),
        seen.len(),
        report.entries
    );
}

/// What `strace -f -o trace` recorded: the tests assert the fault was injected, else they
/// would pass without testing anything.
fn injected(trace: &Path) -> String {
    let t = std::fs::read_to_string(trace).unwrap_or_default();
    assert!(
        t.contains("(INJECTED)") || t.contains("(DELAYED)"),
        "the fault was never injected:\n{t}"
    );
    t
}

#[test]
fn a_failed_fsync_is_never_answered_2xx_and_what_it_covered_is_cut_back() {
    let w = work();
    let cwd = w.path();
    let entries = cwd.join("L/entries");
    let before = std::fs::read(&entries).unwrap();
    let trace = cwd.join("strace.txt");
    let (trace_arg, entries_arg) = (trace.display().to_string(), entries.display().to_string());
    // The server's fsync at start is `fsync`; the syncer thread's first `fdatasync` (strace
    // counts per thread) is the first batch's group commit, which fails with EIO after a
    // delay that lets the next submissions be staged behind it.
    let server = Server::try_start_under(
        cwd,
        "L",
        &[],
        &[
            "-f",
            "-qq",
            "-e",
            "signal=none",
            "-o",
            &trace_arg,
            "-P",
            &entries_arg,
            "-e",
            "trace=fdatasync,write,pwrite64",
            "-e",
            "inject=fdatasync:error=EIO:delay_enter=300000:when=1",
        ],
    )
    .unwrap_or_else(|e| panic!("custody serve under strace (apt-get install strace): {e}"));
    let key = Arc::new(secret(cwd, "researcher"));
    let first = claim(&key, ORIGIN, 1);
    let url = server.url.clone();
    let body = cust(&first);
    let failed = std::thread::spawn(move || post(&agent(), &url, &body).unwrap());
    // More submissions while that fsync is held: staged behind it, so they fail with it or
    // are made durable by a later fsync, and either way never answered 2xx before one.
    std::thread::sleep(Duration::from_millis(100));
    let later: Vec<_> = (2..6)
        .map(|n| {
            let (url, sub) = (server.url.clone(), claim(&key, ORIGIN, n));
            std::thread::spawn(move || (sub.clone(), post(&agent(), &url, &cust(&sub)).unwrap()))
        })
        .collect();
    let (status, reason) = failed.join().unwrap();
    assert_eq!(
        status,
        500,
        "{reason}\n{}",
        std::fs::read_to_string(&trace).unwrap_or_default()
    );
    assert!(reason.contains("could not be made durable"), "{reason}");
    let mut acknowledged = Vec::new();
    for h in later {
        let (sub, (status, body)) = h.join().unwrap();
        assert!(status == 201 || status == 500, "{status} {body}");
        if status == 201 {
            acknowledged.push((sub, added(&body)));
        }
    }
    // The server goes on after reopening the ledger: the failed one and the others, again.
    let agent = agent();
    for n in 1..6 {
        let sub = claim(&key, ORIGIN, n);
        let (status, body) = post(&agent, &server.url, &cust(&sub)).unwrap();
        assert!(status == 201 || status == 200, "{status} {body}");
    }
    drop(server);
    let t = injected(&trace);
    // Only the failed fsync's batches were cut back: the entries file starts as before, and
    // holds each submission once.
    assert!(std::fs::read(&entries).unwrap().starts_with(&before), "{t}");
    let report = common::verify(&cwd.join("L")).unwrap();
    assert_eq!(report.entries, 3 + 5, "{t}");
    let l = open(cwd);
    for (sub, a) in acknowledged {
        assert_eq!(l.leaf(a.index).unwrap().to_hex(), leaf_of(&sub, &a));
    }
}

#[test]
fn batches_are_staged_while_an_fsync_runs_and_answered_after_theirs() {
    let w = work();
    let cwd = w.path();
    let entries = cwd.join("L/entries");
    let trace = cwd.join("strace.txt");
    let (trace_arg, entries_arg) = (trace.display().to_string(), entries.display().to_string());
    // Every group commit's fdatasync takes 500 ms more, so clients pile up behind it.
    let server = Server::try_start_under(
        cwd,
        "L",
        &[],
        &[
            "-f",
            "-qq",
            "-e",
            "signal=none",
            "-o",
            &trace_arg,
            "-P",
            &entries_arg,
            "-e",
            "trace=fdatasync,write",
            "-e",
            "inject=fdatasync:delay_exit=500000",
        ],
    )
    .unwrap_or_else(|e| panic!("custody serve under strace (apt-get install strace): {e}"));
    let key = Arc::new(secret(cwd, "researcher"));
    let (threads, each) = (8u64, 4u64);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (url, key) = (server.url.clone(), key.clone());
            std::thread::spawn(move || {
                let agent = agent();
                (0..each)
                    .map(|i| {
                        let sub = claim(&key, ORIGIN, t * 1000 + i);
                        let (status, body) = post(&agent, &url, &cust(&sub)).unwrap();
                        assert_eq!(status, 201, "{body}");
                        let a = added(&body);
                        assert_eq!(a.leaf_hash, leaf_of(&sub, &a));
                        a.index
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut got: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    got.sort_unstable();
    assert_eq!(got, (3..3 + threads * each).collect::<Vec<_>>());
    // Killed (strace would not pass a SIGTERM on): every answered submission is in the file.
    drop(server);
    let t = injected(&trace);
    // The pipeline: some batch was written to the entries file while the fdatasync before
    // it was still running (strace shows the sync unfinished, then the write, then its end).
    let mut syncing = false;
    let mut overlapped = false;
    for line in t.lines() {
        if line.contains("fdatasync(") && line.contains("<unfinished") {
            syncing = true;
        } else if line.contains("fdatasync resumed>") || line.contains("fdatasync(") {
            syncing = false;
        } else if syncing && line.contains(" write(") {
            overlapped = true;
        }
    }
    // Whether a batch was staged while an fsync ran depends on when the clients' requests
    // arrive, which no test controls: on a quiet 2-core machine they can all land between two
    // fsyncs. So the overlap is reported, not asserted (benches/serve.rs measures what it buys);
    // what is asserted is the durability half: every answer 201, every entry in the file.
    eprintln!("pipelined: a batch was written during an fsync: {overlapped}");
    let report = common::verify(&cwd.join("L")).unwrap();
    assert_eq!(report.entries, 3 + threads * each);
}
