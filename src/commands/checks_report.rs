//! `checks:report <app>`: the app's check settings, Dokku's report shape.

use super::argv::AppArgs;
use super::output::report;
use super::{CommandError, Io};
use crate::context::Ctx;

pub async fn run(ctx: &Ctx, io: &mut Io, args: AppArgs) -> Result<(), CommandError> {
    let record = ctx.store.app(&args.app)?;
    let list = |items: &[String]| {
        if items.is_empty() {
            "none".to_string()
        } else {
            items.join(",")
        }
    };
    let global = ctx
        .store
        .global()
        .wait_to_retire
        .unwrap_or(ctx.config.deploy.wait_to_retire_secs);
    report(
        io,
        &format!("{} checks information", args.app),
        &[
            ("Checks disabled list", list(&record.checks.disabled)),
            ("Checks skipped list", list(&record.checks.skipped)),
            (
                "Checks computed wait to retire",
                ctx.wait_to_retire(&record).to_string(),
            ),
            ("Checks global wait to retire", global.to_string()),
            (
                "Checks computed liveness probe",
                ctx.liveness_probe(&record).to_string(),
            ),
            (
                "Checks liveness probe",
                record
                    .checks
                    .liveness_probe
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
            ),
            (
                "Checks wait to retire",
                record
                    .checks
                    .wait_to_retire
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
            ),
        ],
    )
    .await?;
    Ok(())
}
