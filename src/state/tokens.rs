//! An app's deploy tokens (`deploy-tokens:create`), in `apps/<app>/deploy-tokens.toml`, mode
//! 0600: for a bearer token only its hash, for a webhook secret the secret itself (an HMAC
//! cannot be checked without its key). They go with the app: destroying it (or renaming it,
//! which makes a new app) removes them, and `apps:clone` does not copy them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{io_err, StateError, Store};
use crate::names::AppName;

/// What a token is used as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// `Authorization: Bearer` (and GitLab's `X-Gitlab-Token`); kept as its hash.
    Bearer,
    /// The key of GitHub's and GitLab's signatures; kept as it is.
    Webhook,
}

/// One token, as kept.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployToken {
    pub kind: TokenKind,
    /// `sha256:<hex>` of a bearer token; a webhook secret as it is.
    pub stored: String,
    pub created: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<u64>,
}

impl DeployToken {
    /// Whether it may be used at `now`.
    pub fn valid_at(&self, now: u64) -> bool {
        self.expires.is_none_or(|expires| now < expires)
    }
}

impl std::fmt::Debug for DeployToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeployToken")
            .field("kind", &self.kind)
            .field("created", &self.created)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

#[derive(Default, Serialize, Deserialize)]
struct Tokens {
    #[serde(default)]
    tokens: BTreeMap<String, DeployToken>,
}

impl Store {
    /// Adds the token `name` to the app; false when it has one of that name.
    pub fn add_deploy_token(
        &self,
        app: &AppName,
        name: &str,
        token: DeployToken,
    ) -> Result<bool, StateError> {
        let snapshot = self.lock_mut()?;
        snapshot.record(app)?;
        let mut tokens = self.read_tokens(app)?;
        if tokens.tokens.contains_key(name) {
            return Ok(false);
        }
        tokens.tokens.insert(name.to_string(), token);
        self.write_tokens(app, &tokens)?;
        Ok(true)
    }

    /// Removes the token `name`; false when there is none.
    pub fn revoke_deploy_token(&self, app: &AppName, name: &str) -> Result<bool, StateError> {
        let snapshot = self.lock_mut()?;
        snapshot.record(app)?;
        let mut tokens = self.read_tokens(app)?;
        if tokens.tokens.remove(name).is_none() {
            return Ok(false);
        }
        self.write_tokens(app, &tokens)?;
        Ok(true)
    }

    /// The app's tokens by name.
    pub fn deploy_tokens(
        &self,
        app: &AppName,
    ) -> Result<BTreeMap<String, DeployToken>, StateError> {
        self.app(app)?;
        Ok(self.read_tokens(app)?.tokens)
    }

    /// Records that the token `name` was used at `at` (for `deploy-tokens:list`).
    pub fn touch_deploy_token(&self, app: &AppName, name: &str, at: u64) -> Result<(), StateError> {
        let snapshot = self.lock_mut()?;
        snapshot.record(app)?;
        let mut tokens = self.read_tokens(app)?;
        if let Some(token) = tokens.tokens.get_mut(name) {
            token.last_used = Some(at);
            self.write_tokens(app, &tokens)?;
        }
        Ok(())
    }

    fn read_tokens(&self, app: &AppName) -> Result<Tokens, StateError> {
        let path = self.layout.deploy_tokens_file(app);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|err| StateError::Corrupt {
                path,
                message: err.to_string(),
            }),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Tokens::default()),
            Err(err) => Err(io_err(&path)(err)),
        }
    }

    fn write_tokens(&self, app: &AppName, tokens: &Tokens) -> Result<(), StateError> {
        self.write(&self.layout.deploy_tokens_file(app), tokens)
    }
}
