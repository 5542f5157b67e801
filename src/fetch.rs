//! Cloning a git repository with the real `git`, never through a shell: a buildpack's or a
//! plugin's source, at its default branch (shallow) or at a branch, tag or commit.

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum CloneError {
    #[error("cannot run git: {0}")]
    Spawn(std::io::Error),
    /// git's last line of error output.
    #[error("{0}")]
    Failed(String),
}

/// `git clone` of `url` into `dir`, then, with `reference`, a detached checkout of it.
pub async fn clone(url: &str, reference: Option<&str>, dir: &Path) -> Result<(), CloneError> {
    let mut clone = tokio::process::Command::new("git");
    clone.args(["clone", "--quiet"]);
    if reference.is_none() {
        clone.args(["--depth", "1"]);
    }
    clone.arg("--").arg(url).arg(dir);
    git(clone).await?;
    if let Some(reference) = reference {
        let mut checkout = tokio::process::Command::new("git");
        checkout
            .arg("-C")
            .arg(dir)
            .args(["checkout", "--quiet", "--detach", reference, "--"]);
        git(checkout).await?;
    }
    Ok(())
}

async fn git(mut command: tokio::process::Command) -> Result<(), CloneError> {
    let output = command
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(CloneError::Spawn)?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.trim().lines().last().unwrap_or("git failed");
    Err(CloneError::Failed(last.to_string()))
}
