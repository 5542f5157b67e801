//! `ssh-keys:set-role <name> admin|developer`: what the key may do from its next command on.

use super::argv::Argv;
use super::ssh_keys_add::{parse_role, Args};
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::KeyName;

/// A key's name and role: the same arguments as `ssh-keys:add`'s, the role not optional.
pub fn parse(words: &[String]) -> Result<Args, CommandError> {
    let mut argv = Argv::new("ssh-keys:set-role", words);
    let name = KeyName::parse(&argv.required("key name")?)?;
    let role = parse_role(&argv.required("role")?)?;
    argv.finish()?;
    Ok(Args { name, role })
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    ctx.store.set_key_role(&args.name, args.role)?;
    io.step(&format!("Key {} is now {}", args.name, args.role.as_str()))
        .await;
    Ok(())
}
