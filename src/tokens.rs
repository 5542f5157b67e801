//! Deploy tokens and webhook secrets as CI systems and forges present them: making them, and
//! checking a bearer token against its stored hash, GitHub's `X-Hub-Signature-256`, and the
//! Standard Webhooks signature GitLab sends (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature`). No state and no I/O: `state` keeps the records, `admin` asks here.
//!
//! A bearer token is 32 random bytes, so its SHA-256 is all that is kept: a slow hash (as
//! passwords get) adds nothing against guessing 2^256 values. A webhook secret must be kept as
//! it is, since checking an HMAC needs its key; it is formatted as Standard Webhooks asks
//! (`whsec_` and the key in base64), and GitHub takes the whole string as its key.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::RngExt;
use ring::{digest, hmac};

/// How old (or how far ahead) a Standard Webhooks timestamp may be, in seconds: a captured
/// delivery cannot be replayed later than this.
pub const WEBHOOK_TOLERANCE: u64 = 5 * 60;

/// A new bearer token: `berth_` and 32 random bytes (base64url), recognisable to secret scanners.
pub fn new_bearer() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    format!("berth_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A new webhook secret: `whsec_` and 32 random bytes in base64.
pub fn new_webhook_secret() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// What is kept of a bearer token: `sha256:` and its hash in hex.
pub fn hash_bearer(token: &str) -> String {
    format!(
        "sha256:{}",
        hex(digest::digest(&digest::SHA256, token.as_bytes()).as_ref())
    )
}

/// The SHA-256 of a signed body, in hex: what tells a replayed GitHub delivery (whose
/// `X-GitHub-Delivery` id is not signed) from a new one.
pub fn body_digest(body: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, body).as_ref())
}

/// Whether `given` is the token `stored` is the hash of (compared in constant time).
pub fn bearer_matches(given: &str, stored: &str) -> bool {
    same(hash_bearer(given).as_bytes(), stored.as_bytes())
}

/// Whether `given` is `secret` itself (a secret sent as it is: a bearer header, GitLab's
/// `X-Gitlab-Token`), in constant time.
pub fn secret_matches(given: &str, secret: &str) -> bool {
    same(given.as_bytes(), secret.as_bytes())
}

/// Whether GitHub's `X-Hub-Signature-256` header (`sha256=<hex>`) signs `body` with `secret`.
pub fn github_signed(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(tag) = header.strip_prefix("sha256=").and_then(unhex) else {
        return false;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    hmac::verify(&key, body, &tag).is_ok()
}

/// The Standard Webhooks headers of a delivery (GitLab's signing token).
pub struct Signed<'a> {
    pub id: &'a str,
    pub timestamp: &'a str,
    /// Space-separated `v1,<base64>` signatures; one matching is enough.
    pub signatures: &'a str,
}

/// Whether a Standard Webhooks delivery is signed with `secret` (`whsec_<base64 key>`) and its
/// timestamp is within `WEBHOOK_TOLERANCE` of `now`.
pub fn standard_signed(secret: &str, body: &[u8], headers: &Signed<'_>, now: u64) -> bool {
    let Some(key) = secret
        .strip_prefix("whsec_")
        .and_then(|b64| STANDARD.decode(b64).ok())
    else {
        return false;
    };
    let fresh = headers
        .timestamp
        .parse::<u64>()
        .is_ok_and(|at| at.abs_diff(now) <= WEBHOOK_TOLERANCE);
    if !fresh || headers.id.is_empty() || headers.id.contains('.') {
        return false;
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, &key);
    let mut signed = format!("{}.{}.", headers.id, headers.timestamp).into_bytes();
    signed.extend_from_slice(body);
    headers.signatures.split(' ').any(|entry| {
        entry
            .strip_prefix("v1,")
            .and_then(|b64| STANDARD.decode(b64).ok())
            .is_some_and(|tag| hmac::verify(&key, &signed, &tag).is_ok())
    })
}

/// `--expires`' value: a whole number and a unit (`90m`, `12h`, `30d`, `8w`, `1y`), at most
/// ten years; in seconds.
pub fn parse_lifetime(raw: &str) -> Option<u64> {
    let split = raw.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = raw.split_at(split);
    let unit = match unit {
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "y" => 365 * 86_400,
        _ => return None,
    };
    let seconds = number.parse::<u64>().ok()?.checked_mul(unit)?;
    (seconds > 0 && seconds <= 10 * 365 * 86_400).then_some(seconds)
}

fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(key: &[u8], message: &[u8]) -> Vec<u8> {
        hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), message)
            .as_ref()
            .to_vec()
    }

    #[test]
    fn bearer_tokens_match_their_hash_only() {
        let token = new_bearer();
        assert!(token.starts_with("berth_") && token.len() == 6 + 43);
        let stored = hash_bearer(&token);
        assert!(bearer_matches(&token, &stored));
        assert!(!bearer_matches(&new_bearer(), &stored));
        assert!(!bearer_matches(&stored, &stored));
        assert_ne!(token, new_bearer());
    }

    #[test]
    fn githubs_signature_is_checked_over_the_exact_body() {
        let secret = new_webhook_secret();
        let body = br#"{"ref":"refs/heads/main"}"#;
        let header = format!("sha256={}", hex(&sign(secret.as_bytes(), body)));
        assert!(github_signed(&secret, body, &header));
        assert!(!github_signed(
            &secret,
            br#"{"ref":"refs/heads/evil"}"#,
            &header
        ));
        assert!(!github_signed(&new_webhook_secret(), body, &header));
        assert!(!github_signed(
            &secret,
            body,
            &header.replace("sha256=", "sha1=")
        ));
        assert!(!github_signed(&secret, body, "sha256=zz"));
    }

    #[test]
    fn standard_webhooks_signatures_are_checked_and_stale_ones_refused() {
        let secret = new_webhook_secret();
        let key = STANDARD.decode(&secret["whsec_".len()..]).unwrap();
        let body = br#"{"object_kind":"push"}"#;
        let now = 1_700_000_000;
        let good = STANDARD.encode(sign(
            &key,
            format!("msg_1.{now}.{{\"object_kind\":\"push\"}}").as_bytes(),
        ));
        let signatures = format!("v1,bm90IGl0 v1,{good}");
        let timestamp = now.to_string();
        let headers = Signed {
            id: "msg_1",
            timestamp: &timestamp,
            signatures: &signatures,
        };
        assert!(standard_signed(&secret, body, &headers, now + 10));
        assert!(!standard_signed(
            &secret,
            body,
            &headers,
            now + WEBHOOK_TOLERANCE + 1
        ));
        assert!(!standard_signed(&secret, b"{}", &headers, now));
        assert!(!standard_signed(&new_webhook_secret(), body, &headers, now));
        let other = Signed {
            id: "msg_2",
            ..headers
        };
        assert!(!standard_signed(&secret, body, &other, now));
    }

    #[test]
    fn lifetimes() {
        assert_eq!(parse_lifetime("90m"), Some(5400));
        assert_eq!(parse_lifetime("30d"), Some(30 * 86_400));
        assert_eq!(parse_lifetime("1y"), Some(365 * 86_400));
        for bad in [
            "",
            "30",
            "d",
            "0d",
            "-1d",
            "1.5d",
            "30 d",
            "11y",
            "99999999999999999999y",
        ] {
            assert_eq!(parse_lifetime(bad), None, "{bad}");
        }
    }
}
