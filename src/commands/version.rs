//! `version`: `berth X.Y.Z (revision abc123def456)`, the revision being the git commit it was
//! built from (`unknown` outside a git checkout).

use super::{CommandError, Io};

/// The version line `version` prints.
pub fn line() -> String {
    format!(
        "berth {} (revision {})",
        env!("CARGO_PKG_VERSION"),
        option_env!("BERTH_REVISION").unwrap_or("unknown")
    )
}

pub async fn run(io: &mut Io) -> Result<(), CommandError> {
    io.line(&line()).await;
    Ok(())
}
