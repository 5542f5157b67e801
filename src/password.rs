//! Password hashes for `http-auth`: PBKDF2-HMAC-SHA256 with a random salt, stored as
//! `pbkdf2-sha256$<iterations>$<salt>$<hash>` (base64). Plain passwords are never stored.

use std::num::NonZeroU32;

use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine;
use rand::RngExt;
use ring::pbkdf2;

const SCHEME: &str = "pbkdf2-sha256";
const ITERATIONS: u32 = 100_000;

/// Hashes `password` with a fresh salt.
pub fn hash(password: &str) -> String {
    let salt: [u8; 16] = rand::rng().random();
    let iterations = NonZeroU32::new(ITERATIONS).expect("non-zero");
    let mut out = [0u8; 32];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        &salt,
        password.as_bytes(),
        &mut out,
    );
    format!(
        "{SCHEME}${ITERATIONS}${}${}",
        B64.encode(salt),
        B64.encode(out)
    )
}

/// Whether `password` matches `stored` (in constant time); a malformed hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some(SCHEME), Some(iterations), Some(salt), Some(expected), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let (Some(iterations), Ok(salt), Ok(expected)) = (
        iterations.parse().ok().and_then(NonZeroU32::new),
        B64.decode(salt),
        B64.decode(expected),
    ) else {
        return false;
    };
    pbkdf2::verify(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        &salt,
        password.as_bytes(),
        &expected,
    )
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ_by_salt() {
        let first = hash("s3cret");
        let second = hash("s3cret");
        assert_ne!(first, second);
        assert!(!first.contains("s3cret"));
        assert!(verify("s3cret", &first));
        assert!(verify("s3cret", &second));
        assert!(!verify("S3cret", &first));
        for bad in [
            "",
            "pbkdf2-sha256$0$AA$AA",
            "md5$1$AA$AA",
            "pbkdf2-sha256$10$!!$AA",
        ] {
            assert!(!verify("s3cret", bad), "{bad}");
        }
    }
}
