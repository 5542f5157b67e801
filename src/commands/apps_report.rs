//! `apps:report <app>`: when it was created, where its code comes from, whether it is locked.

use super::argv::AppArgs;
use super::output::{report, utc};
use super::{CommandError, Io};
use crate::context::Ctx;

pub async fn run(ctx: &Ctx, io: &mut Io, args: AppArgs) -> Result<(), CommandError> {
    let record = ctx.store.app(&args.app)?;
    let source = match record.current() {
        None => "none".to_string(),
        Some(release) => match &release.git_rev {
            Some(rev) => format!("git {rev}"),
            None => format!(
                "image {}",
                release.source_image.as_deref().unwrap_or(&release.image)
            ),
        },
    };
    report(
        io,
        &format!("{} app information", args.app),
        &[
            ("App created at", utc(record.created_at)),
            ("App deploy source", source),
            (
                "App dir",
                ctx.store.layout().repo_dir(&args.app).display().to_string(),
            ),
            (
                "App global disable autocreation",
                ctx.store.global().disable_autocreation.to_string(),
            ),
            ("App locked", record.locked.to_string()),
            (
                "App current release",
                record
                    .current_release
                    .map(|n| format!("v{n}"))
                    .unwrap_or_else(|| "none".into()),
            ),
        ],
    )
    .await?;
    Ok(())
}
