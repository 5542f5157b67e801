//! `ssh-keys:remove <name>`: that key can no longer log in, and its grants (`acl:add`) go.

use super::argv::Argv;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::KeyName;

#[derive(Debug)]
pub struct Args {
    pub name: KeyName,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("ssh-keys:remove", words);
        let name = KeyName::parse(&argv.required("key name")?)?;
        argv.finish()?;
        Ok(Args { name })
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    ctx.store.remove_key(&args.name)?;
    super::authorized_keys::sync(ctx)?;
    io.step(&format!("Removed key {}", args.name)).await;
    Ok(())
}
