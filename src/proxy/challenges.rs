//! ACME http-01 answers: while an order is validated, the proxy itself answers
//! `GET /.well-known/acme-challenge/<token>` over plain HTTP, for any host, with the key
//! authorization. Tokens the proxy does not hold go to the app as usual.

use std::collections::HashMap;
use std::sync::RwLock;

pub const PREFIX: &str = "/.well-known/acme-challenge/";

#[derive(Default)]
pub struct Challenges {
    tokens: RwLock<HashMap<String, String>>,
}

impl Challenges {
    pub fn insert(&self, token: &str, key_authorization: &str) {
        self.write()
            .insert(token.to_string(), key_authorization.to_string());
    }

    pub fn remove(&self, token: &str) {
        self.write().remove(token);
    }

    /// The key authorization for a request path, if the path is a challenge Berth holds.
    pub fn answer(&self, path: &str) -> Option<String> {
        let token = path.strip_prefix(PREFIX)?;
        self.tokens
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(token)
            .cloned()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, String>> {
        self.tokens
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_only_held_tokens_under_the_prefix() {
        let challenges = Challenges::default();
        challenges.insert("tok", "tok.thumb");
        assert_eq!(
            challenges
                .answer("/.well-known/acme-challenge/tok")
                .as_deref(),
            Some("tok.thumb")
        );
        assert_eq!(challenges.answer("/.well-known/acme-challenge/other"), None);
        assert_eq!(challenges.answer("/tok"), None);
        challenges.remove("tok");
        assert_eq!(challenges.answer("/.well-known/acme-challenge/tok"), None);
    }
}
