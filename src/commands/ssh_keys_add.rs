//! `ssh-keys:add <name> [--role admin|developer]` with the public key on stdin. A key added
//! without `--role` is an admin, as every key was before roles existed.

use super::argv::Argv;
use super::{CommandError, Io};
use crate::clock::now_unix;
use crate::context::Ctx;
use crate::names::KeyName;
use crate::ssh::parse_public_key;
use crate::state::{Role, SshKey};

#[derive(Debug)]
pub struct Args {
    pub name: KeyName,
    pub role: Role,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("ssh-keys:add", words);
        let role = match argv.option("--role")? {
            Some(word) => parse_role(&word)?,
            None => Role::Admin,
        };
        let name = KeyName::parse(&argv.required("key name")?)?;
        argv.finish()?;
        Ok(Args { name, role })
    }
}

/// `admin` or `developer`.
pub fn parse_role(word: &str) -> Result<Role, CommandError> {
    Role::parse(word).ok_or_else(|| {
        CommandError::User(format!(
            "Invalid role \"{}\": use admin or developer",
            crate::names::shown(word)
        ))
    })
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
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
        role: args.role,
    })?;
    super::authorized_keys::sync(ctx)?;
    io.line(&fingerprint).await;
    Ok(())
}
