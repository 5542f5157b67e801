//! `help`: every command with its arguments.

use super::{CommandError, Io, COMMANDS};

pub async fn run(io: &mut Io) -> Result<(), CommandError> {
    io.line("Usage: berth COMMAND <app> [command-specific-options]")
        .await;
    io.line("").await;
    io.line("Commands:").await;
    let width = COMMANDS
        .iter()
        .map(|(name, args, _)| name.len() + args.len() + 1)
        .max()
        .unwrap_or(0);
    for (name, args, description) in COMMANDS {
        let call = format!("{name} {args}");
        io.line(&format!("    {call:<width$}  {description}")).await;
    }
    io.line("").await;
    io.line("Deploy with: git push ssh://berth@<host>:<port>/<app> main")
        .await;
    Ok(())
}
