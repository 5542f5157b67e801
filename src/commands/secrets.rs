//! `secrets:set [--no-restart] <app> <name>` (the value on stdin, never on the command line),
//! `secrets:list <app> [--format stdout|json]` (names and change times only) and `secrets:unset [--no-restart] <app>
//! <name>`: files mounted read-only at `/run/secrets/<name>` in every container of the app, as
//! Docker Swarm's secrets are. A change deploys a new release through the cutover, as
//! `config:set` does.

use super::argv::Argv;
use super::config_common::{restart, Scope};
use super::output::utc;
use super::{CommandError, Io};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::names::{shown, AppName};
use crate::state::{valid_secret_name, MAX_SECRET};

#[derive(Debug)]
pub enum Action {
    Set(String),
    Unset(String),
    /// Whether as JSON.
    List(bool),
}

#[derive(Debug)]
pub struct Args {
    pub app: AppName,
    pub action: Action,
    pub no_restart: bool,
}

impl Args {
    pub fn parse(name: &'static str, words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new(name, words);
        let no_restart = name != "secrets:list" && argv.flag("--no-restart");
        let json = name == "secrets:list" && argv.json_format("stdout")?;
        let app = AppName::parse(&argv.required("app name")?)?;
        let action = match name {
            "secrets:list" => Action::List(json),
            _ => {
                let secret = argv.required("secret name")?;
                if !valid_secret_name(&secret) {
                    return Err(CommandError::User(format!(
                        "Invalid secret name \"{}\": a letter or digit, then letters, digits, _, . or -, at most 64",
                        shown(&secret)
                    )));
                }
                match name {
                    "secrets:set" => Action::Set(secret),
                    _ => Action::Unset(secret),
                }
            }
        };
        argv.finish()?;
        Ok(Args {
            app,
            action,
            no_restart,
        })
    }
}

pub async fn run(ctx: &Ctx, caller: &Caller, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let app = args.app;
    let (description, name) = match args.action {
        Action::List(json) => {
            let record = ctx.store.app(&app)?;
            if json {
                let rows: Vec<serde_json::Value> = record
                    .secrets
                    .iter()
                    .map(|(name, changed)| serde_json::json!({"name": name, "changed": utc(*changed)}))
                    .collect();
                return super::output::json(io, &rows).await;
            }
            io.header(&format!("{app} secrets")).await;
            for (name, changed) in &record.secrets {
                io.line(&format!("{name}  {}", utc(*changed))).await;
            }
            return Ok(());
        }
        Action::Set(name) => {
            ctx.store.app(&app)?;
            let value = io
                .read_all(MAX_SECRET as u64 + 1)
                .await
                .map_err(|err| CommandError::User(format!("cannot read the secret: {err}")))?;
            if value.len() > MAX_SECRET {
                return Err(CommandError::User(format!(
                    "A secret holds at most {} KiB",
                    MAX_SECRET / 1024
                )));
            }
            if value.is_empty() {
                return Err(CommandError::User(format!(
                    "No value on stdin: secrets:set {app} {name} < file"
                )));
            }
            ctx.store.set_secret(&app, &name, &value)?;
            io.step(&format!("Secret {name} set for {app}")).await;
            (format!("Set secret {name}"), name)
        }
        Action::Unset(name) => {
            if !ctx.store.unset_secret(&app, &name)? {
                return Err(CommandError::User(format!("{app} has no secret {name}")));
            }
            io.step(&format!("Secret {name} removed from {app}")).await;
            (format!("Unset secret {name}"), name)
        }
    };
    tracing::info!(app = %app, secret = %name, "secret changed");
    restart(
        ctx,
        caller,
        io,
        &Scope::App(app),
        args.no_restart,
        description,
    )
    .await
}
