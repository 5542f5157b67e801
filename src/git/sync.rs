//! `git:sync`: fetches a branch, tag or commit of a remote repository into an app's repository
//! with the real `git` (never a shell): only the https, http, git and (for the server's admins)
//! file transports, no prompts, a time limit, and the host's stored HTTPS login (`git:auth`)
//! handed to git in its environment, never on its command line.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use git2::{Oid, Repository};

use super::archive::ArchiveCommit;
use super::{GitError, SourceSpec};

/// How long a fetch may take.
const FETCH_LIMIT: Duration = Duration::from_secs(600);

/// Where one sync puts the remote's refs while it resolves the one asked for.
const SCRATCH: &str = "refs/berth-sync";

/// A remote repository URL `git:sync` may fetch from: `https://`, `http://` or `git://`, and
/// `file://` when `allow_file` (a server's admin may name the server's own files). Never
/// `ext::` (runs a command), `ssh://` (the server's own keys) or an option.
pub fn check_remote(url: &str, allow_file: bool) -> Result<(), String> {
    let scheme = url.split_once("://").map(|(scheme, _)| scheme);
    let allowed = match scheme {
        Some("https" | "http" | "git") => true,
        Some("file") => allow_file,
        _ => false,
    };
    if url.len() > 2048 || url.starts_with('-') || url.chars().any(|c| c.is_control() || c == ' ') {
        return Err("the repository URL has spaces or control characters".into());
    }
    match (allowed, scheme) {
        (true, _) => Ok(()),
        (false, Some("file")) => {
            Err("file:// repositories are on the server: only an admin key may sync one".into())
        }
        _ => Err("use an https://, http:// or git:// repository URL".into()),
    }
}

/// A ref `git:sync` may ask for: a branch or tag name, or a commit id.
pub fn valid_ref(name: &str) -> bool {
    !name.starts_with('-')
        && name.len() <= 200
        && git2::Reference::is_valid_name(&format!("refs/heads/{name}"))
}

/// Fetches `url` (its `git_ref`, else its default branch) and returns the commit, on the
/// deploy branch `spec` names, to move that branch to; the branch itself does not move. A
/// `pinned` fetch (a caller limited to public hosts) connects only where it was checked.
pub async fn fetch(
    repo: &Path,
    url: &str,
    git_ref: Option<&str>,
    spec: &SourceSpec,
    login: Option<(&str, &str, &str)>,
    pinned: Option<&super::Pinned>,
) -> Result<ArchiveCommit, GitError> {
    let scratch = format!("{SCRATCH}/{:016x}", rand::random::<u64>());
    let mut command = tokio::process::Command::new("git");
    command
        .arg("-C")
        .arg(repo)
        .args(["-c", "transfer.fsckObjects=true"]);
    if let Some(pinned) = pinned {
        command.args(["-c", "http.followRedirects=false"]);
        if let Some(resolve) = &pinned.resolve {
            command.args(["-c", &format!("http.curloptResolve={resolve}")]);
        }
    }
    command
        .args([
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            "--",
        ])
        .arg(url)
        .arg(format!("+refs/heads/*:{scratch}/heads/*"))
        .arg(format!("+refs/tags/*:{scratch}/tags/*"));
    if git_ref.is_none() {
        command.arg(format!("+HEAD:{scratch}/HEAD"));
    }
    command
        .env("GIT_ALLOW_PROTOCOL", "https:http:git:file")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some((host, user, token)) = login {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"));
        command
            .env("GIT_CONFIG_COUNT", "1")
            .env(
                "GIT_CONFIG_KEY_0",
                format!("http.https://{host}/.extraHeader"),
            )
            .env(
                "GIT_CONFIG_VALUE_0",
                format!("Authorization: Basic {basic}"),
            );
    }
    let child = command.spawn().map_err(|source| GitError::Io {
        path: repo.to_path_buf(),
        source,
    })?;
    let output = tokio::time::timeout(FETCH_LIMIT, child.wait_with_output())
        .await
        .map_err(|_| {
            GitError::Sync(format!(
                "the fetch took longer than {}s",
                FETCH_LIMIT.as_secs()
            ))
        })?
        .map_err(|source| GitError::Io {
            path: repo.to_path_buf(),
            source,
        })?;
    let (repo, spec, wanted) = (repo.to_path_buf(), spec.clone(), git_ref.map(String::from));
    let resolved = tokio::task::spawn_blocking(move || {
        let resolved = match output.status.success() {
            true => resolve(&repo, &scratch, wanted.as_deref(), &spec),
            false => Err(GitError::Sync(fetch_error(&output.stderr))),
        };
        drop_scratch(&repo, &scratch);
        resolved
    })
    .await
    .map_err(|err| GitError::Sync(format!("the sync task failed: {err}")))?;
    resolved
}

/// git's own words for a failed fetch, its last lines, without a login it may echo.
fn fetch_error(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(3)..].join("; ");
    format!("git fetch failed: {}", crate::names::shown(&tail))
}

fn resolve(
    repo: &Path,
    scratch: &str,
    wanted: Option<&str>,
    spec: &SourceSpec,
) -> Result<ArchiveCommit, GitError> {
    let repository = Repository::open_bare(repo)?;
    let peeled = |name: &str| {
        repository
            .find_reference(name)
            .ok()
            .and_then(|r| r.peel_to_commit().ok())
            .map(|c| c.id())
    };
    let commit = match wanted {
        None => peeled(&format!("{scratch}/HEAD")),
        Some(name) => peeled(&format!("{scratch}/heads/{name}"))
            .or_else(|| peeled(&format!("{scratch}/tags/{name}")))
            .or_else(|| by_id(&repository, name)),
    };
    let commit = commit.ok_or_else(|| {
        GitError::Sync(match wanted {
            Some(name) => format!("the repository has no branch, tag or commit {name}"),
            None => "the repository has no default branch".into(),
        })
    })?;
    let refs = spec.branch.refs();
    let existing = refs.iter().find_map(|name| {
        let target = repository.find_reference(name).ok()?.target()?;
        Some((name.clone(), target.to_string()))
    });
    let (branch, parent) = match existing {
        Some((name, head)) => (name, Some(head)),
        None => (refs[0].clone(), None),
    };
    Ok(ArchiveCommit {
        rev: commit.to_string(),
        branch,
        parent,
    })
}

/// A commit named by its id (at least 7 hex digits), among what was fetched.
fn by_id(repository: &Repository, name: &str) -> Option<Oid> {
    if name.len() < 7 || !name.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let object = repository.revparse_single(name).ok()?;
    object.peel_to_commit().ok().map(|c| c.id())
}

/// Removes the sync's scratch refs (their objects stay for the build).
fn drop_scratch(repo: &Path, scratch: &str) {
    let Ok(repository) = Repository::open_bare(repo) else {
        return;
    };
    let names: Vec<String> = repository
        .references_glob(&format!("{scratch}/**"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|r| r.name().ok().map(String::from))
        .collect();
    for name in names {
        if let Ok(mut reference) = repository.find_reference(&name) {
            let _ = reference.delete();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remotes_that_run_commands_or_read_the_server_are_refused() {
        for ok in [
            "https://github.com/acme/shop.git",
            "http://127.0.0.1:8080/shop",
            "git://127.0.0.1/shop",
        ] {
            assert!(check_remote(ok, false).is_ok(), "{ok}");
        }
        assert!(check_remote("file:///srv/shop", true).is_ok());
        for bad in [
            "file:///var/lib/berth/repos/other.git",
            "ext::sh -c touch% /tmp/pwned",
            "ssh://git@github.com/acme/shop",
            "git@github.com:acme/shop",
            "--upload-pack=touch /tmp/pwned",
            "/var/lib/berth/repos/other.git",
            "https://example.com/a b",
            "https://example.com/\n",
        ] {
            assert!(check_remote(bad, false).is_err(), "{bad}");
        }
        assert!(valid_ref("v1.2"));
        assert!(valid_ref("feature/x"));
        assert!(valid_ref("0123abc"));
        for bad in ["-x", "a..b", "a b", "HEAD@{1}", "~1", ""] {
            assert!(!valid_ref(bad), "{bad}");
        }
    }
}
