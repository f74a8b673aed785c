//! OpenSSL's Time-Stamping Authority as a real peer for tests: a test PKI made by `openssl` in a
//! temporary directory (root CA, TSA certificates with a critical timeStamping EKU), and a small
//! HTTP shim on 127.0.0.1 that answers each POST with `openssl ts -reply` under `faketime`.
//! Included with `#[path]` by the tests that need a TSA (tests/timestamp.rs,
//! tests/against_operator.rs); needs the Debian packages `openssl` and `faketime` (.ci/run).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// genTime of every token the test TSA issues.
pub const STAMP: &str = "2026-02-03 04:05:06";
pub const STAMP_RFC3339: &str = "2026-02-03T04:05:06Z";
/// When the test CA and TSA certificates are made (their notBefore).
pub const MINT: &str = "2025-06-01 00:00:00";

/// Runs `args` in `cwd` with TZ=UTC (panics only if the program cannot start).
pub fn sh(cwd: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(args[0])
        .args(&args[1..])
        .current_dir(cwd)
        .env("TZ", "UTC")
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e} (are openssl and faketime installed?)"));
    out
}

/// [`sh`], which must succeed.
pub fn sh_ok(cwd: &Path, args: &[&str]) {
    let out = sh(cwd, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `faketime -f TIME` frozen at `at`, then `args`.
pub fn at<'a>(when: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["faketime", "-f", when];
    v.extend_from_slice(args);
    v
}

pub const EXT: &str = "\
[ root ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ tsa ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

/// A test PKI in a temporary directory: `root.pem`/`root.key`, plus one directory per TSA.
pub struct Pki {
    pub dir: tempfile::TempDir,
    serial: AtomicUsize,
}

impl Pki {
    pub fn new(cn: &str) -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("ext.cnf"), EXT).unwrap();
        std::fs::write(
            d.join("req.cnf"),
            format!(
                "{}\n{EXT}",
                std::fs::read_to_string("/etc/ssl/openssl.cnf").unwrap()
            ),
        )
        .unwrap();
        sh_ok(
            d,
            &[
                "openssl",
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                "root.key",
            ],
        );
        let subj = format!("/O=custody timestamp test/CN={cn}");
        sh_ok(
            d,
            &at(
                MINT,
                &[
                    "openssl",
                    "req",
                    "-new",
                    "-x509",
                    "-key",
                    "root.key",
                    "-sha256",
                    "-days",
                    "3650",
                    "-subj",
                    &subj,
                    "-set_serial",
                    "1",
                    "-extensions",
                    "root",
                    "-config",
                    "req.cnf",
                    "-out",
                    "root.pem",
                ],
            ),
        );
        Pki {
            dir,
            serial: AtomicUsize::new(100),
        }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root.pem")
    }

    /// A TSA directory `name` holding tsa.key, tsa.crt (EKU critical timeStamping), tsaserial
    /// and tsa.cnf (the configuration of the task, with the given digests).
    pub fn tsa(&self, name: &str, key: &str, signer_digest: &str, ess_alg: &str) -> PathBuf {
        let d = self.dir.path().join(name);
        std::fs::create_dir(&d).unwrap();
        let genkey: Vec<&str> = match key {
            "rsa" => vec!["openssl", "genrsa", "-out", "tsa.key", "2048"],
            curve => vec![
                "openssl", "ecparam", "-name", curve, "-genkey", "-noout", "-out", "tsa.key",
            ],
        };
        sh_ok(&d, &genkey);
        let subj = format!("/O=custody timestamp test/CN=TSA {name}");
        sh_ok(
            &d,
            &at(
                MINT,
                &[
                    "openssl", "req", "-new", "-key", "tsa.key", "-subj", &subj, "-out", "tsa.csr",
                ],
            ),
        );
        let serial = self.serial.fetch_add(1, Ordering::SeqCst).to_string();
        sh_ok(
            &d,
            &at(
                MINT,
                &[
                    "openssl",
                    "x509",
                    "-req",
                    "-in",
                    "tsa.csr",
                    "-CA",
                    "../root.pem",
                    "-CAkey",
                    "../root.key",
                    "-set_serial",
                    &serial,
                    "-days",
                    "1825",
                    "-sha256",
                    "-extfile",
                    "../ext.cnf",
                    "-extensions",
                    "tsa",
                    "-out",
                    "tsa.crt",
                ],
            ),
        );
        std::fs::write(d.join("tsaserial"), "01\n").unwrap();
        std::fs::write(
            d.join("tsa.cnf"),
            format!(
                "[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
dir = .
serial = $dir/tsaserial
crypto_device = builtin
signer_cert = $dir/tsa.crt
signer_key = $dir/tsa.key
signer_digest = {signer_digest}
default_policy = 1.3.6.1.4.1.99999.1.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = {ess_alg}
"
            ),
        )
        .unwrap();
        d
    }
}

/// What the shim answers.
#[derive(Clone)]
pub enum Answer {
    /// `openssl ts -reply` on the request, genTime frozen at [`STAMP`].
    OpenSsl,
    /// These bytes, whatever the request (a replayed old answer).
    Fixed(Vec<u8>),
    /// An HTTP error status.
    Status(u16),
}

/// OpenSSL's TSA behind HTTP on 127.0.0.1: at most 16 requests in at most 120 s, stopped and
/// joined on drop (also when a test fails).
pub struct TsaServer {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    pub served: Arc<AtomicUsize>,
    pub last_answer: Arc<Mutex<Vec<u8>>>,
    handle: Option<JoinHandle<()>>,
}

impl TsaServer {
    pub fn start(dir: PathBuf, answer: Answer) -> TsaServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicUsize::new(0));
        let last_answer = Arc::new(Mutex::new(Vec::new()));
        let (s, n, last) = (stop.clone(), served.clone(), last_answer.clone());
        let handle = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            while !s.load(Ordering::SeqCst)
                && Instant::now() < deadline
                && n.load(Ordering::SeqCst) < 16
            {
                match listener.accept() {
                    Ok((stream, _)) => {
                        n.fetch_add(1, Ordering::SeqCst);
                        if let Some(body) = serve_one(stream, &dir, &answer) {
                            *last.lock().unwrap() = body;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(_) => break,
                }
            }
        });
        TsaServer {
            addr,
            stop,
            served,
            last_answer,
            handle: Some(handle),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/tsa", self.addr)
    }
}

impl Drop for TsaServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Reads one HTTP/1.1 POST (headers at most 16 KiB, body at most 64 KiB, 5 s), answers it, and
/// returns the body it sent with status 200.
pub fn serve_one(mut s: TcpStream, dir: &Path, answer: &Answer) -> Option<Vec<u8>> {
    s.set_nonblocking(false).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        if buf.len() > 16 * 1024 {
            return None;
        }
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    assert!(head.starts_with("post "), "{head}");
    assert!(
        head.contains("content-type: application/timestamp-query"),
        "{head}"
    );
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n| n <= 64 * 1024)?;
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let query = &buf[head_end..head_end + len];
    let (status, body) = match answer {
        Answer::Status(code) => (*code, Vec::new()),
        Answer::Fixed(b) => (200, b.clone()),
        Answer::OpenSsl => {
            std::fs::write(dir.join("query.tsq"), query).unwrap();
            let out = sh(
                dir,
                &at(
                    STAMP,
                    &[
                        "openssl",
                        "ts",
                        "-reply",
                        "-config",
                        "tsa.cnf",
                        "-queryfile",
                        "query.tsq",
                        "-out",
                        "reply.tsr",
                    ],
                ),
            );
            assert!(
                out.status.success(),
                "openssl ts -reply: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            (200, std::fs::read(dir.join("reply.tsr")).unwrap())
        }
    };
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(&body).ok()?;
    s.flush().ok()?;
    (status == 200).then_some(body)
}
