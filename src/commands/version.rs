//! `version`: `berth X.Y.Z`.

use super::{CommandError, Io};

pub async fn run(io: &mut Io) -> Result<(), CommandError> {
    io.line(&format!("berth {}", env!("CARGO_PKG_VERSION")))
        .await;
    Ok(())
}
