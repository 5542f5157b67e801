//! `config:get [--quoted] (<app>|--global) KEY`: the raw value and a newline; exit 1 if unset.

use super::argv::Argv;
use super::config_common::{read_env, valid_key, Scope};
use super::config_export::single_quoted;
use super::{CommandError, Io};
use crate::context::Ctx;

#[derive(Debug)]
pub struct Args {
    pub scope: Scope,
    pub key: String,
    pub quoted: bool,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("config:get", words);
        let quoted = argv.flag("--quoted");
        let scope = Scope::parse(&mut argv)?;
        let key = argv.required("key")?;
        valid_key(&key)?;
        argv.finish()?;
        Ok(Args { scope, key, quoted })
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let env = read_env(ctx, &args.scope, false)?;
    let Some(value) = env.get(&args.key) else {
        return Err(CommandError::User(format!(
            "{} is not set for {}",
            args.key,
            args.scope.title()
        )));
    };
    if args.quoted {
        io.line(&single_quoted(value)).await;
    } else {
        io.line(value).await;
    }
    Ok(())
}
