//! Dokku's registry commands: `registry:login [--global] [--password-stdin] <server> <user>`
//! (the password on stdin, never on the command line), `registry:logout [--global] <server>`,
//! `registry:set (<app>|--global) server|image-repo|push-on-release [value]` and
//! `registry:report [<app>]`. Releases go to the registry with `push-on-release`, and a Swarm
//! app's when its swarm has more than one node; `git:from-image` pulls with the login of the
//! image's registry (docs/cluster.md, docs/ci.md).

use super::argv::{AppArgs, Argv};
use super::output::report;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::deploy::Registry;
use crate::names::{shown, AppName};
use crate::state::{
    registry_server_host, valid_image_repo, valid_registry_server, Login, LoginKind,
};

/// The longest password (a registry token) read from stdin.
const MAX_PASSWORD: u64 = 8 * 1024;

#[derive(Debug)]
pub enum Args {
    Login { server: String, user: String },
    Logout { server: String },
}

impl Args {
    pub fn parse(name: &'static str, words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new(name, words);
        // Logins are the host's: `--global` is what Berth always does, and the password is
        // always read from stdin.
        argv.flag("--global");
        argv.flag("--password-stdin");
        let server = server(&argv.required("server")?)?;
        let args = match name {
            "registry:login" => {
                let user = argv.required("user")?;
                if user.is_empty() || user.len() > 255 || user.chars().any(char::is_control) {
                    return Err(CommandError::User(format!(
                        "Invalid user \"{}\"",
                        shown(&user)
                    )));
                }
                if argv.optional()?.is_some() {
                    return Err(CommandError::User(
                        "registry:login takes SERVER USER and the password on stdin, never on \
                         the command line (where logs keep it), for the whole host: \
                         echo \"$TOKEN\" | ssh … registry:login SERVER USER"
                            .into(),
                    ));
                }
                Args::Login { server, user }
            }
            _ => Args::Logout { server },
        };
        argv.finish()?;
        Ok(args)
    }
}

fn server(raw: &str) -> Result<String, CommandError> {
    match valid_registry_server(raw) {
        true => Ok(raw.to_string()),
        false => Err(CommandError::User(format!(
            "Invalid registry server \"{}\": give host, host:port or host/namespace, without https://",
            shown(raw)
        ))),
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    match args {
        Args::Login { server, user } => {
            let read = io
                .read_all(MAX_PASSWORD + 1)
                .await
                .map_err(|err| CommandError::User(format!("cannot read the password: {err}")))?;
            let password = String::from_utf8(read)
                .map_err(|_| CommandError::User("The password is not UTF-8".into()))?;
            let password = password.trim_end_matches(['\n', '\r']).to_string();
            if password.is_empty() || password.len() as u64 > MAX_PASSWORD {
                return Err(CommandError::User(format!(
                    "No password on stdin (at most {} KiB): echo \"$TOKEN\" | ssh … registry:login {server} {user}",
                    MAX_PASSWORD / 1024
                )));
            }
            let login = Login {
                user: user.clone(),
                password,
            };
            ctx.store.store_login(LoginKind::Registry, &server, login)?;
            io.step(&format!("Login for {user} at {server} stored"))
                .await;
            io.detail("It is tried at the next push or pull").await;
        }
        Args::Logout { server } => {
            if !ctx.store.forget_login(LoginKind::Registry, &server)? {
                return Err(CommandError::User(format!("No login stored for {server}")));
            }
            io.step(&format!("Login for {server} removed")).await;
        }
    }
    Ok(())
}

/// `registry:set (<app>|--global) <property> [value]`; no value unsets.
#[derive(Debug)]
pub struct SetArgs {
    pub app: Option<AppName>,
    pub property: Property,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Property {
    Server(Option<String>),
    ImageRepo(Option<String>),
    PushOnRelease(Option<bool>),
}

impl SetArgs {
    pub fn parse(words: &[String]) -> Result<SetArgs, CommandError> {
        let (app, key, value) = Argv::new("registry:set", words).app_property()?;
        let property = match key.as_str() {
            "server" => Property::Server(value.as_deref().map(server).transpose()?),
            "image-repo" if app.is_none() => {
                return Err(CommandError::User(
                    "image-repo is set per app, not --global".into(),
                ))
            }
            "image-repo" => Property::ImageRepo(
                value
                    .map(|repo| match valid_image_repo(&repo) {
                        true => Ok(repo),
                        false => Err(CommandError::User(format!(
                            "Invalid image repository \"{}\": lowercase letters, digits, ., _, - and /",
                            shown(&repo)
                        ))),
                    })
                    .transpose()?,
            ),
            "push-on-release" => Property::PushOnRelease(
                value
                    .map(|raw| match raw.as_str() {
                        "true" => Ok(true),
                        "false" => Ok(false),
                        _ => Err(CommandError::User(format!(
                            "Invalid push-on-release \"{}\": use true or false",
                            shown(&raw)
                        ))),
                    })
                    .transpose()?,
            ),
            other => {
                return Err(CommandError::User(format!(
                    "Invalid property \"{}\": registry:set knows server, image-repo and push-on-release",
                    shown(other)
                )))
            }
        };
        Ok(SetArgs { app, property })
    }
}

pub async fn set(ctx: &Ctx, io: &mut Io, args: SetArgs) -> Result<(), CommandError> {
    let (name, value) = match &args.property {
        Property::Server(v) => ("server", v.clone()),
        Property::ImageRepo(v) => ("image-repo", v.clone()),
        Property::PushOnRelease(v) => ("push-on-release", v.map(|b| b.to_string())),
    };
    let apply = |settings: &mut crate::state::RegistrySettings| match args.property.clone() {
        Property::Server(v) => settings.server = v,
        Property::ImageRepo(v) => settings.image_repo = v,
        Property::PushOnRelease(v) => settings.push_on_release = v,
    };
    let target = match &args.app {
        Some(app) => {
            ctx.store
                .update_app(app, |record| apply(&mut record.registry))?;
            app.to_string()
        }
        None => {
            ctx.store
                .update_global(|global| apply(&mut global.registry))?;
            "--global".to_string()
        }
    };
    match value {
        Some(value) => {
            io.step(&format!("Setting {name} to {value} for {target}"))
                .await
        }
        None => io.step(&format!("Unsetting {name} for {target}")).await,
    }
    io.detail("It applies from the next deploy").await;
    Ok(())
}

pub async fn report_app(ctx: &Ctx, io: &mut Io, args: AppArgs) -> Result<(), CommandError> {
    let record = ctx.store.app(&args.app)?;
    let global = ctx.store.global();
    let computed = Registry::of(&record, &global);
    let login = match &computed.server {
        Some(server) => {
            let host = registry_server_host(server);
            let users = ctx.store.login_users(LoginKind::Registry)?;
            users.get(host).cloned().unwrap_or_default()
        }
        None => String::new(),
    };
    let flag = |b: Option<bool>| b.map(|b| b.to_string()).unwrap_or_default();
    report(
        io,
        &format!("{} registry information", args.app),
        &[
            ("Registry computed image repo", computed.image_repo.clone()),
            (
                "Registry image repo",
                record.registry.image_repo.clone().unwrap_or_default(),
            ),
            (
                "Registry computed push on release",
                computed.push_on_release.to_string(),
            ),
            (
                "Registry global push on release",
                flag(global.registry.push_on_release),
            ),
            (
                "Registry push on release",
                flag(record.registry.push_on_release),
            ),
            (
                "Registry computed server",
                computed.server.clone().unwrap_or_default(),
            ),
            (
                "Registry global server",
                global.registry.server.clone().unwrap_or_default(),
            ),
            (
                "Registry server",
                record.registry.server.clone().unwrap_or_default(),
            ),
            ("Registry login user", login),
        ],
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::argv::words;

    #[test]
    fn a_password_on_the_command_line_is_refused() {
        let err = Args::parse("registry:login", &words("ghcr.io ci hunter2")).unwrap_err();
        assert!(err.to_string().contains("stdin"), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let args = Args::parse("registry:login", &words("--password-stdin ghcr.io ci")).unwrap();
        assert!(
            matches!(args, Args::Login { ref server, ref user } if server == "ghcr.io" && user == "ci")
        );
        assert!(Args::parse("registry:login", &words("https://ghcr.io ci")).is_err());
        assert!(Args::parse("registry:logout", &words("--global ghcr.io")).is_ok());
    }

    #[test]
    fn properties_are_checked() {
        let args = SetArgs::parse(&words("--global server 127.0.0.1:5000")).unwrap();
        assert!(args.app.is_none());
        assert_eq!(
            args.property,
            Property::Server(Some("127.0.0.1:5000".into()))
        );
        let args = SetArgs::parse(&words("shop push-on-release true")).unwrap();
        assert_eq!(args.property, Property::PushOnRelease(Some(true)));
        let args = SetArgs::parse(&words("shop image-repo")).unwrap();
        assert_eq!(args.property, Property::ImageRepo(None));
        for bad in [
            "shop server https://ghcr.io",
            "shop server ghcr.io/$(reboot)",
            "shop push-on-release yes",
            "shop image-repo ../etc",
            "--global image-repo shop",
            "shop push-extra-tags x",
        ] {
            assert!(SetArgs::parse(&words(bad)).is_err(), "{bad}");
        }
    }
}
