//! The clock and the OS random source: the two inputs the pure core takes as arguments (keys,
//! informant salts, time-stamp nonces).

use custody_core::codec::CodecError;
use custody_core::entry::{Body, Submission};
use custody_core::sign::{sign_submission, KeySigner};

/// Seconds since 1970 by this machine's clock: a signer's *claimed* time, never authenticated.
#[must_use]
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The operating system's random source, for keys and informant salts.
#[must_use]
pub fn os_rng() -> rand::rngs::OsRng {
    rand::rngs::OsRng
}

/// Signs `body` for `origin` as `signer`, claiming this machine's time.
///
/// # Errors
/// If the content is too large to encode.
pub fn sign_now(
    signer: &dyn KeySigner,
    origin: &str,
    body: Body,
) -> Result<Submission, CodecError> {
    sign_submission(signer, origin, now(), body)
}

/// `N` bytes from the operating system's random source (a time-stamp request's nonce).
#[must_use]
pub fn random_bytes<const N: usize>() -> [u8; N] {
    use rand::RngCore as _;
    let mut b = [0u8; N];
    os_rng().fill_bytes(&mut b);
    b
}
