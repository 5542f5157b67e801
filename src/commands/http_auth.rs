//! `http-auth:enable <app> [USER PASSWORD]`, `http-auth:disable <app>`, `http-auth:add-user|
//! remove-user <app> USER [PASSWORD]`, `http-auth:add-allowed-ip|remove-allowed-ip <app> IP[/N]`
//! and `http-auth:report <app>`. Passwords are stored hashed; changes apply at once, without a
//! restart.

use super::argv::Argv;
use super::output::report;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::AppName;
use crate::proxy::IpNet;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Enable(Option<(String, String)>),
    Disable,
    AddUser(String, String),
    RemoveUser(String),
    AddAllowedIp(String),
    RemoveAllowedIp(String),
    Report,
}

#[derive(Debug)]
pub struct Args {
    pub command: &'static str,
    pub app: AppName,
    pub action: Action,
}

const COMMANDS: [&str; 7] = [
    "http-auth:enable",
    "http-auth:disable",
    "http-auth:add-user",
    "http-auth:remove-user",
    "http-auth:add-allowed-ip",
    "http-auth:remove-allowed-ip",
    "http-auth:report",
];

/// A user name as basic auth can carry it: no colon, no spaces or control characters.
fn user(raw: String) -> Result<String, CommandError> {
    let fine = !raw.is_empty()
        && raw.len() <= 64
        && raw
            .chars()
            .all(|c| c.is_ascii_graphic() && c != ':' && c != '"');
    match fine {
        true => Ok(raw),
        false => Err(CommandError::User(format!(
            "Invalid user name \"{shown}\": use letters, digits and punctuation other than : and \"",
            shown = crate::names::shown(&raw)
        ))),
    }
}

fn password(raw: String) -> Result<String, CommandError> {
    match raw.is_empty() || raw.chars().any(char::is_control) {
        true => Err(CommandError::User(
            "The password must be non-empty and printable".into(),
        )),
        false => Ok(raw),
    }
}

fn network(raw: String) -> Result<String, CommandError> {
    IpNet::parse(&raw)
        .map(|net| net.to_string())
        .ok_or_else(|| {
            CommandError::User(format!(
                "Invalid address \"{shown}\": use an IP or IP/prefix",
                shown = crate::names::shown(&raw)
            ))
        })
}

impl Args {
    pub fn parse(name: &str, words: &[String]) -> Result<Args, CommandError> {
        let command = super::argv::known(&COMMANDS, name)?;
        let mut argv = Argv::new(command, words);
        let app = AppName::parse(&argv.required("app name")?)?;
        let action = match command {
            "http-auth:enable" => match argv.optional()? {
                Some(name) => {
                    Action::Enable(Some((user(name)?, password(argv.required("password")?)?)))
                }
                None => Action::Enable(None),
            },
            "http-auth:disable" => Action::Disable,
            "http-auth:add-user" => Action::AddUser(
                user(argv.required("user")?)?,
                password(argv.required("password")?)?,
            ),
            "http-auth:remove-user" => Action::RemoveUser(argv.required("user")?),
            "http-auth:add-allowed-ip" => Action::AddAllowedIp(network(argv.required("address")?)?),
            "http-auth:remove-allowed-ip" => {
                Action::RemoveAllowedIp(network(argv.required("address")?)?)
            }
            _ => Action::Report,
        };
        argv.finish()?;
        Ok(Args {
            command,
            app,
            action,
        })
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let app = &args.app;
    let record = ctx.store.app(app)?;
    let auth = record.http_auth;
    let message = match &args.action {
        Action::Report => return report_app(ctx, io, app).await,
        Action::Enable(None) if auth.users.is_empty() => {
            return Err(CommandError::User(format!(
                "{app} has no users yet; enable with one: http-auth:enable {app} USER PASSWORD"
            )))
        }
        Action::Enable(_) => format!("Enabling basic auth for {app}"),
        Action::Disable => format!("Disabling basic auth for {app}"),
        Action::AddUser(user, _) => format!("Adding user {user} to {app}"),
        Action::RemoveUser(user) if !auth.users.contains_key(user) => {
            return Err(CommandError::User(format!("{app} has no user {user}")))
        }
        Action::RemoveUser(user) => format!("Removing user {user} from {app}"),
        Action::AddAllowedIp(net) => format!("Allowing {net} into {app} without credentials"),
        Action::RemoveAllowedIp(net) => format!("No longer allowing {net} without credentials"),
    };
    // Hash outside the store's lock: PBKDF2 is deliberately slow.
    let hashed = match &args.action {
        Action::Enable(Some((user, password))) | Action::AddUser(user, password) => {
            let password = password.clone();
            let hash = tokio::task::spawn_blocking(move || crate::password::hash(&password))
                .await
                .map_err(|err| CommandError::Internal(format!("hashing failed: {err}")))?;
            Some((user.clone(), hash))
        }
        _ => None,
    };
    ctx.store.update_app(app, |record| {
        let auth = &mut record.http_auth;
        if let Some((user, hash)) = &hashed {
            auth.users.insert(user.clone(), hash.clone());
        }
        match &args.action {
            Action::Enable(_) => auth.enabled = true,
            Action::Disable => auth.enabled = false,
            Action::RemoveUser(user) => {
                auth.users.remove(user);
            }
            Action::AddAllowedIp(net) if !auth.allowed_ips.contains(net) => {
                auth.allowed_ips.push(net.clone())
            }
            Action::RemoveAllowedIp(net) => auth.allowed_ips.retain(|n| n != net),
            _ => {}
        }
    })?;
    ctx.refresh_policy(app);
    io.step(&message).await;
    Ok(())
}

async fn report_app(ctx: &Ctx, io: &mut Io, app: &AppName) -> Result<(), CommandError> {
    let auth = ctx.store.app(app)?.http_auth;
    let users: Vec<&str> = auth.users.keys().map(String::as_str).collect();
    report(
        io,
        &format!("{app} http-auth information"),
        &[
            ("Http auth allowed ips", auth.allowed_ips.join(" ")),
            ("Http auth enabled", auth.enabled.to_string()),
            ("Http auth users", users.join(" ")),
        ],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(command: &str, line: &str) -> Result<Args, CommandError> {
        Args::parse(command, &crate::commands::argv::words(line))
    }

    #[test]
    fn parses_and_validates() {
        let args = parse("http-auth:enable", "shop ann s3cret").unwrap();
        assert_eq!(
            args.action,
            Action::Enable(Some(("ann".into(), "s3cret".into())))
        );
        assert_eq!(
            parse("http-auth:enable", "shop").unwrap().action,
            Action::Enable(None)
        );
        assert_eq!(
            parse("http-auth:add-allowed-ip", "shop 10.0.0.0/8")
                .unwrap()
                .action,
            Action::AddAllowedIp("10.0.0.0/8".into())
        );
        for (command, line) in [
            ("http-auth:enable", "shop ann"),
            ("http-auth:add-user", "shop a:b pw"),
            ("http-auth:add-allowed-ip", "shop 10.0.0.0/40"),
            ("http-auth:disable", "shop extra"),
        ] {
            assert!(parse(command, line).is_err(), "{command} {line}");
        }
    }
}
