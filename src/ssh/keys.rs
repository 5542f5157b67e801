//! SSH keys: parsing the public keys users add, and the server's own host key.

use std::path::Path;

use russh::keys::ssh_key::{HashAlg, LineEnding};
use russh::keys::{Algorithm, PrivateKey, PublicKey};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("Invalid public key: {0}")]
    Invalid(String),
    #[error("cannot use host key {path}: {message}")]
    HostKey { path: String, message: String },
}

/// A user's public key in the form Berth stores and compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedKey {
    /// `ssh-ed25519 AAAA...` (no comment).
    pub openssh: String,
    /// `SHA256:...`
    pub fingerprint: String,
}

/// Parses one `authorized_keys`-style line (`type base64 [comment]`).
pub fn parse_public_key(line: &str) -> Result<ParsedKey, KeyError> {
    let key =
        PublicKey::from_openssh(line.trim()).map_err(|err| KeyError::Invalid(err.to_string()))?;
    Ok(describe(&key))
}

/// The stored form of `key`: its OpenSSH text without the comment, and its fingerprint.
pub fn describe(key: &PublicKey) -> ParsedKey {
    let mut bare = key.clone();
    bare.set_comment("");
    let openssh = bare
        .to_openssh()
        .map(|text| text.trim().to_string())
        .unwrap_or_default();
    ParsedKey {
        openssh,
        fingerprint: key.fingerprint(HashAlg::Sha256).to_string(),
    }
}

/// Loads the host key, generating an Ed25519 one (mode 0600) on first start.
pub fn load_or_create_host_key(path: &Path) -> Result<PrivateKey, KeyError> {
    let fail = |message: String| KeyError::HostKey {
        path: path.display().to_string(),
        message,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => PrivateKey::from_openssh(&text).map_err(|err| fail(err.to_string())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let key = PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519)
                .map_err(|err| fail(err.to_string()))?;
            let text = key
                .to_openssh(LineEnding::LF)
                .map_err(|err| fail(err.to_string()))?;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|err| fail(err.to_string()))?;
            }
            crate::state::write_atomic(path, text.as_bytes(), 0o600)
                .map_err(|err| fail(err.to_string()))?;
            tracing::info!(path = %path.display(), "generated SSH host key");
            Ok(key)
        }
        Err(err) => Err(fail(err.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop";

    #[test]
    fn parses_and_drops_the_comment() {
        let key = parse_public_key(ED25519).unwrap();
        assert_eq!(
            key.openssh,
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
        );
        assert!(key.fingerprint.starts_with("SHA256:"));
    }

    #[test]
    fn refuses_garbage() {
        assert!(parse_public_key("ssh-ed25519 notbase64").is_err());
        assert!(parse_public_key("hello").is_err());
    }

    #[test]
    fn host_key_is_generated_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host_key");
        let first = load_or_create_host_key(&path).unwrap();
        let second = load_or_create_host_key(&path).unwrap();
        assert_eq!(first.public_key(), second.public_key());
    }
}
