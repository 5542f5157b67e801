//! `config:show [--merged] (<app>|--global)` (also `config`), and `config:keys`, which lists
//! only the keys.

use super::argv::Argv;
use super::config_common::{read_env, Scope};
use super::{CommandError, Io};
use crate::context::Ctx;

#[derive(Debug)]
pub struct Args {
    pub scope: Scope,
    pub merged: bool,
    pub keys_only: bool,
}

impl Args {
    pub fn parse(command: &'static str, words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new(command, words);
        let merged = argv.flag("--merged");
        let scope = Scope::parse(&mut argv)?;
        argv.finish()?;
        Ok(Args {
            scope,
            merged,
            keys_only: command == "config:keys",
        })
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let env = read_env(ctx, &args.scope, args.merged)?;
    if args.keys_only {
        for key in env.keys() {
            io.line(key).await;
        }
        return Ok(());
    }
    io.header(&format!("{} env vars", args.scope.title())).await;
    let width = env.keys().map(|k| k.len() + 1).max().unwrap_or(0) + 2;
    for (key, value) in &env {
        io.line(&format!("{:<width$}{value}", format!("{key}:")))
            .await;
    }
    Ok(())
}
