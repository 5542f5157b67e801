//! `config:unset [--no-restart] (<app>|--global) KEY...`, and `config:clear`, which unsets all.

use super::argv::Argv;
use super::config_common::{restart, updated, valid_key, write_env, Scope};
use super::{CommandError, Io};
use crate::caller::Caller;
use crate::context::Ctx;

#[derive(Debug)]
pub struct Args {
    pub scope: Scope,
    /// `None`: every key (`config:clear`).
    pub keys: Option<Vec<String>>,
    pub no_restart: bool,
}

impl Args {
    pub fn parse_unset(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("config:unset", words);
        let no_restart = argv.flag("--no-restart");
        let scope = Scope::parse(&mut argv)?;
        let mut keys = Vec::new();
        while let Some(key) = argv.optional()? {
            valid_key(&key)?;
            keys.push(key);
        }
        argv.finish()?;
        if keys.is_empty() {
            return Err(CommandError::Usage(
                "At least one key is required".to_string(),
            ));
        }
        Ok(Args {
            scope,
            keys: Some(keys),
            no_restart,
        })
    }

    pub fn parse_clear(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("config:clear", words);
        let no_restart = argv.flag("--no-restart");
        let scope = Scope::parse(&mut argv)?;
        argv.finish()?;
        Ok(Args {
            scope,
            keys: None,
            no_restart,
        })
    }
}

pub async fn run(ctx: &Ctx, caller: &Caller, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let wanted = args.keys.clone();
    let removed: Vec<String> = write_env(ctx, &args.scope, |env| match wanted {
        None => std::mem::take(env).into_keys().collect(),
        Some(keys) => keys
            .into_iter()
            .filter(|k| env.remove(k).is_some())
            .collect(),
    })?;
    match &args.keys {
        None => io.step("Clearing config vars").await,
        Some(keys) => {
            for key in keys {
                if removed.contains(key) {
                    io.step(&format!("Unsetting {key}")).await;
                } else {
                    io.step(&format!("Skipping {key}, it is not set in the environment"))
                        .await;
                }
            }
        }
    }
    if removed.is_empty() {
        return Ok(());
    }
    let action = if args.keys.is_none() {
        "clear"
    } else {
        "unset"
    };
    let keys: Vec<&str> = removed.iter().map(String::as_str).collect();
    updated(ctx, caller, io, &args.scope, action, &keys).await?;
    let description = format!("Unset {} config vars", removed.join(", "));
    restart(ctx, caller, io, &args.scope, args.no_restart, description).await
}
