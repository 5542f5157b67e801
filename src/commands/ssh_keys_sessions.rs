//! `ssh-keys:sessions [--format stdout|json]`: the SSH commands and pushes running now, through
//! Berth's SSH server or the host's sshd: key, address, command and start.

use super::argv::Argv;
use super::output::{table, utc};
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::shown;

/// Whether as JSON.
pub fn parse(words: &[String]) -> Result<bool, CommandError> {
    let mut argv = Argv::new("ssh-keys:sessions", words);
    let json = argv.json_format("stdout")?;
    argv.finish()?;
    Ok(json)
}

pub async fn run(ctx: &Ctx, io: &mut Io, json: bool) -> Result<(), CommandError> {
    if json {
        let rows: Vec<serde_json::Value> = ctx
            .sessions
            .list()
            .into_iter()
            .map(|s| serde_json::json!({"key": s.key, "source": s.source, "command": s.command, "started": utc(s.started)}))
            .collect();
        return super::output::json(io, &rows).await;
    }
    let rows: Vec<Vec<String>> = ctx
        .sessions
        .list()
        .into_iter()
        .map(|s| vec![s.key, s.source, shown(&s.command), utc(s.started)])
        .collect();
    table(io, &["KEY", "SOURCE", "COMMAND", "STARTED"], &rows).await;
    Ok(())
}
