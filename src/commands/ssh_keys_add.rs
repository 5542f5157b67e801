//! `ssh-keys:add <name>` with the public key on stdin (or `[path]` locally, as Dokku allows).
//! Only the server's own CLI may add keys until per-key roles exist.

use super::argv::Argv;
use super::{CommandError, Io};
use crate::caller::Caller;
use crate::clock::now_unix;
use crate::context::Ctx;
use crate::names::KeyName;
use crate::ssh::parse_public_key;
use crate::state::SshKey;

#[derive(Debug)]
pub struct Args {
    pub name: KeyName,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("ssh-keys:add", words);
        let name = KeyName::parse(&argv.required("key name")?)?;
        argv.finish()?;
        Ok(Args { name })
    }
}

pub async fn run(ctx: &Ctx, caller: &Caller, io: &mut Io, args: Args) -> Result<(), CommandError> {
    caller.require_local("ssh-keys:add")?;
    let input = io
        .read_all(64 * 1024)
        .await
        .map_err(|err| CommandError::User(format!("cannot read the key from stdin: {err}")))?;
    let text = String::from_utf8_lossy(&input);
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'));
    let Some(line) = line else {
        return Err(CommandError::User(
            "No public key on stdin: berth ssh-keys:add NAME < key.pub".to_string(),
        ));
    };
    let key = parse_public_key(line).map_err(|err| CommandError::User(err.to_string()))?;
    let fingerprint = key.fingerprint.clone();
    ctx.store.add_key(SshKey {
        name: args.name,
        public_key: key.openssh,
        fingerprint: key.fingerprint,
        added_at: now_unix(),
    })?;
    io.line(&fingerprint).await;
    Ok(())
}
