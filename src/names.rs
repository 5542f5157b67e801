//! Validated names that cross module boundaries: app names, SSH key names, and paths taken from
//! archives (`contained_path`, for `git:from-archive` and maintenance pages).
//!
//! Everything a user types becomes one of these types at the edge (the command parser or the SSH
//! front end), so the rest of Berth never sees an unchecked name.

use std::fmt;

/// Why a name was refused; the message is the line the user sees after ` !     `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("Please specify an app to run the command on")]
    EmptyApp,
    #[error("App name {0} is too long: an app name is one DNS label of at most 63 characters")]
    AppTooLong(String),
    #[error("App name {0} contains a dot: Berth app names are one DNS label; use dashes instead (e.g. {1})")]
    AppHasDot(String, String),
    #[error("App name {0} is invalid: it must begin with a lowercase letter or digit and may only contain lowercase letters, digits and dashes")]
    AppInvalid(String),
    #[error("Key name {0} is invalid: use letters, digits, dots, dashes, underscores and @ (at most 64 characters)")]
    KeyInvalid(String),
    #[error("Network name {0} is invalid: use lowercase letters, digits, dots, dashes and underscores, starting with a letter or digit (at most 63 characters)")]
    NetworkInvalid(String),
    #[error("Network {0} is Docker's own; use a network made with network:create")]
    NetworkReserved(String),
}

/// User input as an error message quotes it: control characters escaped (a message stays one
/// line) and at most 64 characters, then an ellipsis.
pub fn shown(raw: &str) -> String {
    let escaped: String = raw.escape_debug().collect();
    match escaped.char_indices().nth(64) {
        Some((cut, _)) => format!("{}…", &escaped[..cut]),
        None => escaped,
    }
}

/// A path from an archive that stays inside where it is unpacked: relative, UTF-8, no `..`,
/// written with `/` (`css/site.css`); `None` otherwise, or when it names nothing.
pub fn contained_path(raw: &std::path::Path) -> Option<String> {
    use std::path::Component;
    let parts: Option<Vec<&str>> = raw
        .components()
        .filter(|c| *c != Component::CurDir)
        .map(|c| match c {
            Component::Normal(part) => part.to_str(),
            _ => None,
        })
        .collect();
    parts.filter(|p| !p.is_empty()).map(|p| p.join("/"))
}

/// An application name: one DNS label (`[a-z0-9][a-z0-9-]*`, at most 63 characters).
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct AppName(String);

impl AppName {
    pub fn parse(raw: &str) -> Result<AppName, NameError> {
        if raw.is_empty() {
            return Err(NameError::EmptyApp);
        }
        if raw.len() > 63 {
            return Err(NameError::AppTooLong(shown(raw)));
        }
        let valid_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        let first_ok = raw.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit());
        if raw.contains('.') && first_ok && raw.chars().all(|c| valid_char(c) || c == '.') {
            return Err(NameError::AppHasDot(
                shown(raw),
                shown(&raw.replace('.', "-")),
            ));
        }
        if !first_ok || !raw.chars().all(valid_char) {
            return Err(NameError::AppInvalid(shown(raw)));
        }
        Ok(AppName(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AppName {
    type Error = NameError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        AppName::parse(&raw)
    }
}

impl From<AppName> for String {
    fn from(name: AppName) -> String {
        name.0
    }
}

impl fmt::Display for AppName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Docker network an app may join (`network:create`, `network:set`): `[a-z0-9][a-z0-9_.-]*`,
/// at most 63 characters, and not one of Docker's own (`bridge`, `host`, `none`), on which
/// names between containers do not resolve.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct NetworkName(String);

impl NetworkName {
    pub fn parse(raw: &str) -> Result<NetworkName, NameError> {
        let ok = raw.len() <= 63
            && raw.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && raw.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_')
            });
        if !ok {
            return Err(NameError::NetworkInvalid(shown(raw)));
        }
        if matches!(raw, "bridge" | "host" | "none") {
            return Err(NameError::NetworkReserved(raw.to_string()));
        }
        Ok(NetworkName(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for NetworkName {
    type Error = NameError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        NetworkName::parse(&raw)
    }
}

impl From<NetworkName> for String {
    fn from(name: NetworkName) -> String {
        name.0
    }
}

impl fmt::Display for NetworkName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name an SSH key was added under; it names who caused a deploy.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct KeyName(String);

impl KeyName {
    pub fn parse(raw: &str) -> Result<KeyName, NameError> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'));
        if ok {
            Ok(KeyName(raw.to_string()))
        } else {
            Err(NameError::KeyInvalid(shown(raw)))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for KeyName {
    type Error = NameError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        KeyName::parse(&raw)
    }
}

impl From<KeyName> for String {
    fn from(name: KeyName) -> String {
        name.0
    }
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_quoted_in_errors_stays_one_short_line() {
        assert_eq!(shown("shop"), "shop");
        assert_eq!(shown("a\nb\u{1b}[2J"), "a\\nb\\u{1b}[2J");
        let long = shown(&"x".repeat(1000));
        assert!(long.ends_with('…') && long.chars().count() == 65, "{long}");
        assert_eq!(
            AppName::parse("a\nb")
                .unwrap_err()
                .to_string()
                .lines()
                .count(),
            1
        );
    }

    #[test]
    fn app_names_are_one_dns_label() {
        for ok in ["shop", "a", "9lives", "my-shop-2", &"a".repeat(63)] {
            assert_eq!(AppName::parse(ok).unwrap().as_str(), ok);
        }
        assert_eq!(AppName::parse(""), Err(NameError::EmptyApp));
        assert!(matches!(
            AppName::parse(&"a".repeat(64)),
            Err(NameError::AppTooLong(_))
        ));
        for bad in [
            "Shop", "-shop", "shop_1", "sh op", "shop/..", "ü", "shop;rm",
        ] {
            assert!(
                matches!(AppName::parse(bad), Err(NameError::AppInvalid(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn dotted_app_names_get_a_hint() {
        let err = AppName::parse("shop.example").unwrap_err();
        assert_eq!(
            err.to_string(),
            "App name shop.example contains a dot: Berth app names are one DNS label; use dashes instead (e.g. shop-example)"
        );
    }

    #[test]
    fn key_names() {
        assert!(KeyName::parse("alice@laptop").is_ok());
        assert!(KeyName::parse("").is_err());
        assert!(KeyName::parse("a b").is_err());
        assert!(KeyName::parse("x\"y").is_err());
    }
}
