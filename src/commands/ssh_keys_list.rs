//! `ssh-keys:list [--format text|json]`: `SHA256:... NAME="alice" ROLE="developer"` per key:
//! Dokku's line with the key's role after it.

use super::argv::Argv;
use super::{CommandError, Io};
use crate::context::Ctx;

#[derive(Debug)]
pub struct Args {
    pub json: bool,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("ssh-keys:list", words);
        let json = argv.json_format("text")?;
        argv.finish()?;
        Ok(Args { json })
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let keys = ctx.store.keys();
    if args.json {
        let rows: Vec<_> = keys
            .iter()
            .map(|k| serde_json::json!({"name": k.name.as_str(), "fingerprint": k.fingerprint, "role": k.role.as_str()}))
            .collect();
        let text =
            serde_json::to_string(&rows).map_err(|err| CommandError::Internal(err.to_string()))?;
        io.line(&text).await;
        return Ok(());
    }
    if keys.is_empty() {
        io.warn("No public keys found.").await;
    }
    for key in keys {
        let line = format!(
            "{} NAME=\"{}\" ROLE=\"{}\"",
            key.fingerprint,
            key.name,
            key.role.as_str()
        );
        io.line(&line).await;
    }
    Ok(())
}
