//! `ssh-keys:sessions`: the SSH commands and pushes running now, through Berth's SSH server or
//! the host's sshd: key, address, command and start.

use super::argv::Argv;
use super::output::{table, utc};
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::shown;

pub fn parse(words: &[String]) -> Result<(), CommandError> {
    Argv::new("ssh-keys:sessions", words).finish()
}

pub async fn run(ctx: &Ctx, io: &mut Io) -> Result<(), CommandError> {
    let rows: Vec<Vec<String>> = ctx
        .sessions
        .list()
        .into_iter()
        .map(|s| vec![s.key, s.source, shown(&s.command), utc(s.started)])
        .collect();
    table(io, &["KEY", "SOURCE", "COMMAND", "STARTED"], &rows).await;
    Ok(())
}
