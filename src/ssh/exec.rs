//! What an SSH exec request asks for, as a type. The string is split by POSIX shell quoting rules
//! (so `config:set app 'K=a b'` works) but never handed to a shell.

use crate::names::{AppName, NameError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecRequest {
    /// A Berth command line.
    Command(Vec<String>),
    /// `git-receive-pack '<app>'`: a push.
    ReceivePack(AppName),
    /// `git-upload-pack '<app>'`: a fetch or clone.
    UploadPack(AppName),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    #[error("The command is not valid UTF-8")]
    NotUtf8,
    #[error("Cannot parse the command line: {0}")]
    Quoting(String),
    #[error("{0}")]
    Name(#[from] NameError),
    #[error("{0} takes exactly one repository path")]
    PackArgs(&'static str),
    #[error("git archive --remote is not supported; clone the app's repository instead")]
    UploadArchive,
}

/// Parses the bytes of an exec request.
pub fn parse_exec(raw: &[u8]) -> Result<ExecRequest, ExecError> {
    let text = std::str::from_utf8(raw).map_err(|_| ExecError::NotUtf8)?;
    let words = shell_words::split(text).map_err(|err| ExecError::Quoting(err.to_string()))?;
    match words.first().map(String::as_str) {
        Some("git-receive-pack") | Some("git receive-pack") => {
            let [_, path] = words.as_slice() else {
                return Err(ExecError::PackArgs("git-receive-pack"));
            };
            Ok(ExecRequest::ReceivePack(app_from_repo_path(path)?))
        }
        Some("git-upload-pack") | Some("git upload-pack") => {
            let [_, path] = words.as_slice() else {
                return Err(ExecError::PackArgs("git-upload-pack"));
            };
            Ok(ExecRequest::UploadPack(app_from_repo_path(path)?))
        }
        Some("git-upload-archive") => Err(ExecError::UploadArchive),
        _ => Ok(ExecRequest::Command(words)),
    }
}

/// `shop`, `/shop`, `shop.git` and `/shop.git` all name the app `shop`.
fn app_from_repo_path(path: &str) -> Result<AppName, NameError> {
    let name = path.trim_start_matches('/');
    let name = name.strip_suffix(".git").unwrap_or(name);
    let name = name.strip_suffix('/').unwrap_or(name);
    AppName::parse(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> ExecRequest {
        ExecRequest::Command(list.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn splits_like_a_posix_shell() {
        assert_eq!(
            parse_exec(b"config:set shop 'K=a b' \"Q=x\\\"y\" Z=$HOME;ls").unwrap(),
            words(&["config:set", "shop", "K=a b", "Q=x\"y", "Z=$HOME;ls"])
        );
        assert_eq!(parse_exec(b"").unwrap(), words(&[]));
        assert!(matches!(
            parse_exec(b"apps:create 'shop"),
            Err(ExecError::Quoting(_))
        ));
        assert_eq!(parse_exec(&[0xff, 0xfe]), Err(ExecError::NotUtf8));
    }

    #[test]
    fn receive_pack_paths() {
        let shop = ExecRequest::ReceivePack(AppName::parse("shop").unwrap());
        for path in ["'shop'", "'/shop'", "'shop.git'", "'/shop.git'"] {
            let line = format!("git-receive-pack {path}");
            assert_eq!(parse_exec(line.as_bytes()).unwrap(), shop, "{path}");
        }
        assert!(matches!(
            parse_exec(b"git-receive-pack '../etc'"),
            Err(ExecError::Name(_))
        ));
        assert_eq!(
            parse_exec(b"git-receive-pack a b"),
            Err(ExecError::PackArgs("git-receive-pack"))
        );
        assert_eq!(
            parse_exec(b"git-upload-pack '/shop.git'").unwrap(),
            ExecRequest::UploadPack(AppName::parse("shop").unwrap())
        );
        assert!(matches!(
            parse_exec(b"git-upload-pack '../../etc/passwd'"),
            Err(ExecError::Name(_))
        ));
        assert_eq!(
            parse_exec(b"git-upload-archive 'shop'"),
            Err(ExecError::UploadArchive)
        );
    }
}
