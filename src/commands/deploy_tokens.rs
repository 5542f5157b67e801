//! Deploy tokens for CI (Berth's own; Dokku has none): `deploy-tokens:create <app> [--name N]
//! [--expires DURATION] [--webhook]` prints a new token once (on stdout alone, so a script can
//! capture it), `deploy-tokens:list <app> [--format json]` shows names, kinds, creation, expiry
//! and last use, `deploy-tokens:revoke <app> <name>` removes one. A bearer token authorises
//! `POST /deploy/<app>` on the admin listener; a `--webhook` secret signs GitHub's and GitLab's
//! push deliveries. Anyone who may use the app may manage its tokens; each token may only
//! deploy its app.

use super::argv::Argv;
use super::output::{table, utc};
use super::{CommandError, Io};
use crate::clock::now_unix;
use crate::context::Ctx;
use crate::names::{shown, AppName};
use crate::state::{DeployToken, TokenKind};
use crate::tokens::{hash_bearer, new_bearer, new_webhook_secret, parse_lifetime};

#[derive(Debug)]
pub enum Args {
    Create {
        app: AppName,
        name: String,
        /// Seconds from now.
        lifetime: Option<u64>,
        webhook: bool,
    },
    /// With `--format json`.
    List(AppName, bool),
    Revoke(AppName, String),
}

impl Args {
    pub fn parse(command: &'static str, words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new(command, words);
        let args = match command {
            "deploy-tokens:create" => {
                let webhook = argv.flag("--webhook");
                let name = argv.option("--name")?.unwrap_or_else(|| "default".into());
                let lifetime = argv
                    .option("--expires")?
                    .map(|raw| {
                        parse_lifetime(&raw).ok_or_else(|| {
                            CommandError::User(format!(
                                "Invalid --expires \"{}\": a number and m, h, d, w or y (30d), at most 10y",
                                shown(&raw)
                            ))
                        })
                    })
                    .transpose()?;
                let app = AppName::parse(&argv.required("app name")?)?;
                Args::Create {
                    app,
                    name: token_name(name)?,
                    lifetime,
                    webhook,
                }
            }
            "deploy-tokens:list" => {
                let json = argv.json_format("stdout")?;
                Args::List(AppName::parse(&argv.required("app name")?)?, json)
            }
            _ => {
                let app = AppName::parse(&argv.required("app name")?)?;
                Args::Revoke(app, token_name(argv.required("token name")?)?)
            }
        };
        argv.finish()?;
        Ok(args)
    }

    pub fn app(&self) -> &AppName {
        match self {
            Args::Create { app, .. } | Args::List(app, _) | Args::Revoke(app, _) => app,
        }
    }
}

/// Letters, digits, `.`, `-` and `_`, at most 64.
fn token_name(name: String) -> Result<String, CommandError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    match valid {
        true => Ok(name),
        false => Err(CommandError::User(format!(
            "Invalid token name \"{}\": letters, digits, ., - and _, at most 64",
            shown(&name)
        ))),
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    match args {
        Args::Create {
            app,
            name,
            lifetime,
            webhook,
        } => create(ctx, io, app, name, lifetime, webhook).await,
        Args::List(app, json) => list(ctx, io, &app, json).await,
        Args::Revoke(app, name) => {
            if !ctx.store.revoke_deploy_token(&app, &name)? {
                return Err(CommandError::User(format!(
                    "{app} has no token named {name}"
                )));
            }
            io.step(&format!("Revoked the token {name} of {app}")).await;
            Ok(())
        }
    }
}

async fn create(
    ctx: &Ctx,
    io: &mut Io,
    app: AppName,
    name: String,
    lifetime: Option<u64>,
    webhook: bool,
) -> Result<(), CommandError> {
    let now = now_unix();
    let (secret, kind) = match webhook {
        true => (new_webhook_secret(), TokenKind::Webhook),
        false => (new_bearer(), TokenKind::Bearer),
    };
    let token = DeployToken {
        kind,
        stored: match kind {
            TokenKind::Bearer => hash_bearer(&secret),
            TokenKind::Webhook => secret.clone(),
        },
        created: now,
        expires: lifetime.map(|seconds| now + seconds),
        last_used: None,
    };
    let expires = token.expires;
    if !ctx.store.add_deploy_token(&app, &name, token)? {
        return Err(CommandError::User(format!(
            "{app} has a token named {name} already (deploy-tokens:revoke {app} {name}, or give --name)"
        )));
    }
    let what = match kind {
        TokenKind::Bearer => "Deploy token",
        TokenKind::Webhook => "Webhook secret",
    };
    let until = expires.map_or("never expires".to_string(), |at| {
        format!("expires {}", utc(at))
    });
    io.progress(&format!("{what} {name} created for {app} ({until})"))
        .await;
    io.progress_detail("It is shown this once: keep it in your CI's secrets")
        .await;
    io.line(&secret).await;
    Ok(())
}

async fn list(ctx: &Ctx, io: &mut Io, app: &AppName, json: bool) -> Result<(), CommandError> {
    let tokens = ctx.store.deploy_tokens(app)?;
    let now = now_unix();
    let kind = |token: &DeployToken| match token.kind {
        TokenKind::Bearer => "bearer",
        TokenKind::Webhook => "webhook",
    };
    if json {
        let entries: Vec<serde_json::Value> = tokens
            .iter()
            .map(|(name, token)| {
                serde_json::json!({
                    "name": name,
                    "kind": kind(token),
                    "created_at": token.created,
                    "expires_at": token.expires,
                    "expired": !token.valid_at(now),
                    "last_used_at": token.last_used,
                })
            })
            .collect();
        io.line(&serde_json::Value::from(entries).to_string()).await;
        return Ok(());
    }
    io.header(&format!("{app} deploy tokens")).await;
    if tokens.is_empty() {
        io.line(&format!(
            "No deploy tokens (deploy-tokens:create {app} --name ci)"
        ))
        .await;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = tokens
        .iter()
        .map(|(name, token)| {
            let expires = match token.expires {
                None => "never".to_string(),
                Some(at) if !token.valid_at(now) => format!("{} (expired)", utc(at)),
                Some(at) => utc(at),
            };
            vec![
                name.clone(),
                kind(token).to_string(),
                utc(token.created),
                expires,
                token.last_used.map_or("never".to_string(), utc),
            ]
        })
        .collect();
    table(
        io,
        &["NAME", "KIND", "CREATED", "EXPIRES", "LAST USED"],
        &rows,
    )
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::argv::words;

    #[test]
    fn parses_the_three_commands() {
        let args = Args::parse(
            "deploy-tokens:create",
            &words("shop --name ci --expires 30d --webhook"),
        )
        .unwrap();
        let Args::Create {
            app,
            name,
            lifetime,
            webhook,
        } = args
        else {
            panic!("not create");
        };
        assert_eq!(
            (app.as_str(), name.as_str(), lifetime, webhook),
            ("shop", "ci", Some(30 * 86_400), true)
        );
        let args = Args::parse("deploy-tokens:list", &words("shop --format json")).unwrap();
        assert!(matches!(args, Args::List(_, true)));
        let args = Args::parse("deploy-tokens:revoke", &words("shop ci")).unwrap();
        assert!(matches!(args, Args::Revoke(_, name) if name == "ci"));
        for (command, bad) in [
            ("deploy-tokens:create", "shop --expires forever"),
            ("deploy-tokens:create", "shop --name ../x"),
            ("deploy-tokens:create", "shop extra"),
            ("deploy-tokens:revoke", "shop"),
            ("deploy-tokens:list", "shop blog"),
        ] {
            assert!(
                Args::parse(command, &words(bad)).is_err(),
                "{command} {bad}"
            );
        }
    }
}
