//! `git:from-archive [--archive-type tar|tar.gz|zip] [--no-wait] <app> -- [<user> <email>]`:
//! the app's code as a tar, tar.gz or zip on stdin, committed to its deploy branch and deployed
//! like a push (for CI systems that produce an archive, not a git push).

use super::argv::Argv;
use super::deploying::{run_deploy, wait_flag};
use super::{CommandError, Io};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::deploy::{DeployRequest, Source};
use crate::git::{
    advance_branch, commit_archive, ensure_repo, export_commit, short, ArchiveType, Author,
};
use crate::names::{shown, AppName};

/// Archives larger than this (as sent) are refused.
const MAX_ARCHIVE_BYTES: u64 = 256 << 20;

#[derive(Debug)]
pub struct Args {
    pub app: AppName,
    pub kind: Option<ArchiveType>,
    pub author: Author,
    pub no_wait: bool,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("git:from-archive", words);
        let no_wait = argv.flag("--no-wait");
        let kind = match argv.option("--archive-type")? {
            None => None,
            Some(raw) => Some(ArchiveType::parse(&raw).ok_or_else(|| {
                CommandError::User(format!(
                    "Invalid archive type \"{}\": use tar, tar.gz or zip",
                    shown(&raw)
                ))
            })?),
        };
        // Dokku's `--` (or `-`) for "the archive is on stdin", which is all Berth reads.
        argv.flag("--");
        argv.flag("-");
        let app = AppName::parse(&argv.required("app name")?)?;
        let rest = argv.into_words();
        let author = match rest.as_slice() {
            [url, ..] if url.contains("://") => {
                return Err(CommandError::User(format!(
                    "Berth reads the archive from stdin, not a URL: curl -fsSL '{}' | ssh … git:from-archive {app} --",
                    shown(url)
                )))
            }
            [] => Author {
                name: "Berth".into(),
                email: "berth@localhost".into(),
            },
            [name, email] if valid_signature(name) && valid_signature(email) => Author {
                name: name.clone(),
                email: email.clone(),
            },
            _ => {
                return Err(CommandError::Usage(format!(
                    "expected the commit's author name and email, or nothing; usage: {}",
                    super::usage("git:from-archive")
                )))
            }
        };
        Ok(Args {
            app,
            kind,
            author,
            no_wait,
        })
    }
}

/// A name or email git can put in a signature.
fn valid_signature(raw: &str) -> bool {
    !raw.is_empty() && raw.len() <= 200 && !raw.chars().any(|c| c.is_control() || "<>".contains(c))
}

pub async fn run(ctx: &Ctx, caller: &Caller, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let app = args.app;
    ctx.store.app(&app)?;
    io.step("Receiving the archive from stdin").await;
    let archive = io
        .read_all(MAX_ARCHIVE_BYTES + 1)
        .await
        .map_err(|err| CommandError::User(format!("Cannot read the archive from stdin: {err}")))?;
    if archive.is_empty() {
        return Err(CommandError::User(format!(
            "No archive on stdin: send one, e.g. curl -fsSL URL | ssh … git:from-archive {app} --"
        )));
    }
    if archive.len() as u64 > MAX_ARCHIVE_BYTES {
        return Err(CommandError::User(
            "The archive is larger than 256 MiB".into(),
        ));
    }
    let spec = ctx.source_spec(&app)?;
    let repo = ensure_repo(ctx.store.layout(), &app)
        .map_err(|err| CommandError::Internal(err.to_string()))?;
    let (kind, author, at) = (args.kind, args.author, repo.clone());
    let (commit, checkout) = tokio::task::spawn_blocking(move || {
        let commit = commit_archive(&at, &archive, kind, &spec, &author)?;
        let checkout = export_commit(&at, &commit.rev, &[], &spec)?;
        Ok::<_, crate::git::GitError>((commit, checkout))
    })
    .await
    .map_err(|err| CommandError::Internal(format!("archive task failed: {err}")))?
    .map_err(|err| CommandError::User(err.to_string()))?;
    io.detail(&format!(
        "Committed as {} on {}",
        short(&commit.rev),
        commit.branch.trim_start_matches("refs/heads/")
    ))
    .await;
    let request = DeployRequest {
        app: app.clone(),
        caller: caller.clone(),
        source: Source::Push(checkout),
        wait: wait_flag(args.no_wait),
    };
    run_deploy(ctx, request, io).await?;
    let moved =
        tokio::task::spawn_blocking(move || advance_branch(&repo, &commit, "git:from-archive"))
            .await
            .map_err(|err| CommandError::Internal(format!("archive task failed: {err}")))?
            .map_err(|err| CommandError::Internal(err.to_string()))?;
    if !moved {
        io.warn("The deploy branch moved during the deploy (a push?); it was left where it is")
            .await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Args, CommandError> {
        Args::parse(&shell_words::split(line).unwrap())
    }

    #[test]
    fn parses_dokkus_forms() {
        let args = parse("shop --").unwrap();
        assert_eq!(args.app.as_str(), "shop");
        assert_eq!((args.kind, args.author.name.as_str()), (None, "Berth"));
        let args = parse("--archive-type tar.gz shop -- 'Jo Doe' jo@example.com").unwrap();
        assert_eq!(args.kind, Some(ArchiveType::TarGz));
        assert_eq!(args.author.email, "jo@example.com");
        let args = parse("--archive-type zip shop --").unwrap();
        assert_eq!(args.kind, Some(ArchiveType::Zip));
        assert!(parse("shop").is_ok(), "stdin is the only source anyway");
        for (bad, message) in [
            ("shop https://example.com/a.tar", "not a URL"),
            ("--archive-type rar shop --", "use tar, tar.gz or zip"),
            ("shop -- 'Jo Doe'", "author name and email"),
            ("shop -- Jo '<x>'", "author name and email"),
            ("", "app name required"),
        ] {
            let err = parse(bad).unwrap_err().to_string();
            assert!(err.contains(message), "{bad}: {err}");
        }
    }
}
