//! `git:sync [--build|--build-if-changes] [--no-wait] <app> <repository> [<ref>]` (Dokku's): the
//! app's deploy branch set to a branch, tag or commit of a remote repository, deployed like a
//! push with `--build` (or, with `--build-if-changes`, when it moved). `git:auth <host> [<user>
//! [<token>]]` stores the host's HTTPS login for it (the token as an argument, as Dokku takes
//! it, or on stdin; kept 0600, never shown); without a user it is removed. A developer key or
//! a deploy token syncs only from public hosts and those `git:set --global sync-allowed-hosts`
//! lists (`git::check_public`).

use super::access::{self, Need};
use super::argv::Argv;
use super::deploying::{run_deploy, wait_flag};
use super::{CommandError, Io};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::deploy::{DeployRequest, Source};
use crate::git::{
    advance_branch, check_public, check_remote, ensure_repo, export_commit, short, sync_fetch,
    valid_sync_ref,
};
use crate::names::{shown, AppName};
use crate::state::{valid_registry_server, Login, LoginKind};

/// The longest token read from stdin.
const MAX_TOKEN: u64 = 8 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    Never,
    Always,
    IfChanged,
}

#[derive(Debug)]
pub struct Args {
    pub app: AppName,
    pub url: String,
    pub git_ref: Option<String>,
    pub build: Build,
    pub no_wait: bool,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("git:sync", words);
        let build = match (argv.flag("--build"), argv.flag("--build-if-changes")) {
            (_, true) => Build::IfChanged,
            (true, false) => Build::Always,
            (false, false) => Build::Never,
        };
        let no_wait = argv.flag("--no-wait");
        let app = AppName::parse(&argv.required("app name")?)?;
        let url = argv.required("repository")?;
        // Checked for its form here; whether it may be a file is the caller's to say.
        check_remote(&url, true).map_err(CommandError::User)?;
        let git_ref = argv.optional()?;
        if let Some(name) = &git_ref {
            if !valid_sync_ref(name) {
                return Err(CommandError::User(format!(
                    "Invalid ref \"{}\": give a branch, a tag or a commit id",
                    shown(name)
                )));
            }
        }
        argv.finish()?;
        Ok(Args {
            app,
            url,
            git_ref,
            build,
            no_wait,
        })
    }
}

pub async fn run(ctx: &Ctx, caller: &Caller, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let app = args.app;
    ctx.store.app(&app)?;
    if args.url.starts_with("file://") {
        access::check(
            ctx,
            caller,
            &Need::Admin("file:// repositories (the server's own files)"),
        )?;
    }
    let admin = access::check(ctx, caller, &Need::Admin("the server's own network")).is_ok();
    let pinned = match admin {
        true => None,
        false => {
            let allowed = ctx.store.global().git.sync_allowed_hosts;
            let pinned = check_public(&args.url, &allowed).await.map_err(|why| {
                CommandError::User(format!("{caller} may not sync from there: {why}"))
            })?;
            Some(pinned)
        }
    };
    let spec = ctx.source_spec(&app)?;
    let repo = ensure_repo(ctx.store.layout(), &app)
        .map_err(|err| CommandError::Internal(err.to_string()))?;
    let what = args.git_ref.as_deref().unwrap_or("its default branch");
    io.step(&format!("Syncing {} ({what}) into {app}", args.url))
        .await;
    let host = https_host(&args.url);
    let login = match &host {
        Some(host) => ctx.store.git_login_for(host)?,
        None => None,
    };
    let login = host
        .as_deref()
        .zip(login.as_ref())
        .map(|(host, login)| (host, login.user.as_str(), login.password.as_str()));
    let fetched = sync_fetch(
        &repo,
        &args.url,
        args.git_ref.as_deref(),
        &spec,
        login,
        pinned.as_ref(),
    )
    .await
    .map_err(|err| CommandError::User(err.to_string()))?;
    let branch = fetched.branch.trim_start_matches("refs/heads/").to_string();
    let unchanged = fetched.parent.as_deref() == Some(fetched.rev.as_str());
    let build = match args.build {
        Build::IfChanged if unchanged => {
            io.detail(&format!(
                "{branch} is at {} already: nothing to build",
                short(&fetched.rev)
            ))
            .await;
            return Ok(());
        }
        Build::Never => false,
        Build::Always | Build::IfChanged => true,
    };
    if build {
        let (at, rev, build_spec) = (repo.clone(), fetched.rev.clone(), spec.clone());
        let checkout =
            tokio::task::spawn_blocking(move || export_commit(&at, &rev, &[], &build_spec))
                .await
                .map_err(|err| CommandError::Internal(format!("sync task failed: {err}")))?
                .map_err(|err| CommandError::User(err.to_string()))?;
        let request = DeployRequest {
            app: app.clone(),
            caller: caller.clone(),
            source: Source::Push(checkout),
            wait: wait_flag(args.no_wait),
        };
        run_deploy(ctx, request, io).await?;
    }
    let commit = fetched.clone();
    let moved = tokio::task::spawn_blocking(move || advance_branch(&repo, &commit, "git:sync"))
        .await
        .map_err(|err| CommandError::Internal(format!("sync task failed: {err}")))?
        .map_err(|err| CommandError::Internal(err.to_string()))?;
    match moved {
        true => {
            io.detail(&format!("{branch} is now at {}", short(&fetched.rev)))
                .await
        }
        false => {
            io.warn("The deploy branch moved during the sync (a push?); it was left where it is")
                .await
        }
    }
    Ok(())
}

/// The host of an `https://` URL, whose `git:auth` login goes with the fetch.
fn https_host(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://")?;
    let authority = rest.split('/').next()?;
    let host = authority.rsplit('@').next()?;
    Some(host.to_ascii_lowercase())
}

/// `git:auth <host> [<user> [<token>]]`.
#[derive(Debug)]
pub struct AuthArgs {
    pub host: String,
    /// `None` removes the host's login; a token `None` is read from stdin.
    pub login: Option<(String, Option<String>)>,
}

impl AuthArgs {
    pub fn parse(words: &[String]) -> Result<AuthArgs, CommandError> {
        let mut argv = Argv::new("git:auth", words);
        let host = argv.required("host")?;
        if host.contains('/') || !valid_registry_server(&host) {
            return Err(CommandError::User(format!(
                "Invalid host \"{}\": give host or host:port",
                shown(&host)
            )));
        }
        let user = argv.optional()?;
        let token = argv.optional()?;
        argv.finish()?;
        Ok(AuthArgs {
            host,
            login: user.map(|user| (user, token)),
        })
    }
}

pub async fn auth(ctx: &Ctx, io: &mut Io, args: AuthArgs) -> Result<(), CommandError> {
    let host = args.host;
    let Some((user, token)) = args.login else {
        if !ctx.store.forget_login(LoginKind::Git, &host)? {
            return Err(CommandError::User(format!("No login stored for {host}")));
        }
        io.step(&format!("Login for {host} removed")).await;
        return Ok(());
    };
    if user.is_empty() || user.len() > 255 || user.chars().any(|c| c.is_control() || c == ':') {
        return Err(CommandError::User(format!(
            "Invalid user \"{}\"",
            shown(&user)
        )));
    }
    let token = match token {
        Some(token) => token,
        None => {
            let read = io
                .read_all(MAX_TOKEN + 1)
                .await
                .map_err(|err| CommandError::User(format!("cannot read the token: {err}")))?;
            String::from_utf8(read)
                .map_err(|_| CommandError::User("The token is not UTF-8".into()))?
                .trim_end_matches(['\n', '\r'])
                .to_string()
        }
    };
    if token.is_empty() || token.len() as u64 > MAX_TOKEN || token.chars().any(char::is_control) {
        return Err(CommandError::User(format!(
            "No token (on stdin or as the third argument, at most {} KiB)",
            MAX_TOKEN / 1024
        )));
    }
    let login = Login {
        user: user.clone(),
        password: token,
    };
    ctx.store.store_login(LoginKind::Git, &host, login)?;
    io.step(&format!("Login for {user} at {host} stored")).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::argv::words;

    #[test]
    fn parses_dokkus_forms() {
        let args = Args::parse(&words("--build shop https://github.com/acme/shop.git v1")).unwrap();
        assert_eq!(args.build, Build::Always);
        assert_eq!(args.git_ref.as_deref(), Some("v1"));
        let args = Args::parse(&words("--build-if-changes shop git://127.0.0.1/shop")).unwrap();
        assert_eq!((args.build, args.git_ref), (Build::IfChanged, None));
        for bad in [
            "shop ext::sh",
            "shop https://x/y -v",
            "shop https://x/y HEAD@{1}",
            "shop",
            "shop https://x/y main extra",
        ] {
            assert!(Args::parse(&words(bad)).is_err(), "{bad}");
        }
        assert_eq!(
            https_host("https://ci:secret@GitHub.com/acme/shop"),
            Some("github.com".into())
        );
        assert_eq!(https_host("git://github.com/acme/shop"), None);
        let args = AuthArgs::parse(&words("github.com ci")).unwrap();
        assert_eq!(args.login, Some(("ci".into(), None)));
        assert!(AuthArgs::parse(&words("github.com"))
            .unwrap()
            .login
            .is_none());
        assert!(AuthArgs::parse(&words("https://github.com ci t")).is_err());
    }
}
