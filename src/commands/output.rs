//! Shared output shapes: Dokku's `:report` blocks and UTC timestamps.

use super::Io;

/// `=====> title` then one `       Label:   value` row each, labels padded like Dokku's reports.
pub async fn report(io: &mut Io, title: &str, rows: &[(&str, String)]) {
    io.header(title).await;
    let width = rows
        .iter()
        .map(|(label, _)| label.len() + 2)
        .max()
        .unwrap_or(0)
        .max(31);
    for (label, value) in rows {
        let label = format!("{label}:");
        io.detail(format!("{label:<width$}{value}").trim_end())
            .await;
    }
}

/// `2026-11-22 01:02:03 UTC` from Unix seconds.
pub fn utc(seconds: u64) -> String {
    crate::clock::Civil::from_unix(seconds).display()
}
