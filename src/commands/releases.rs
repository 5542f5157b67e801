//! `releases <app> [--format stdout|json]`: every release, newest first, as Heroku lists them.

use super::argv::ListArgs;
use super::output::utc;
use super::{CommandError, Io};
use crate::context::Ctx;

pub async fn run(ctx: &Ctx, io: &mut Io, args: ListArgs) -> Result<(), CommandError> {
    let record = ctx.store.app(&args.app)?;
    let mut releases = record.releases.clone();
    releases.sort_by_key(|r| std::cmp::Reverse(r.number));
    if args.json {
        let rows: Vec<serde_json::Value> = releases
            .iter()
            .map(|r| {
                serde_json::json!({
                    "version": r.number,
                    "current": record.current_release == Some(r.number),
                    "description": r.description,
                    "created_by": r.created_by,
                    "created_at": utc(r.created_at),
                    "commit": r.git_rev,
                    "image": r.image,
                })
            })
            .collect();
        return super::output::json(io, &rows).await;
    }
    let Some(current) = record.current_release else {
        io.warn(&format!("{} has no releases yet", args.app)).await;
        return Ok(());
    };
    io.header(&format!("{} releases (current: v{current})", args.app))
        .await;
    let rows: Vec<[String; 4]> = releases
        .iter()
        .map(|r| {
            let marker = if r.number == current { "*" } else { "" };
            [
                format!("v{}{marker}", r.number),
                r.description.clone(),
                r.created_by.clone(),
                utc(r.created_at),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..3)
        .map(|i| rows.iter().map(|row| row[i].len()).max().unwrap_or(0))
        .collect();
    for [version, description, by, when] in rows {
        io.line(&format!(
            "{version:<w0$}  {description:<w1$}  {by:<w2$}  {when}",
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        ))
        .await;
    }
    Ok(())
}

/// `v3` or `3` → 3.
pub fn parse_version(raw: &str) -> Result<u32, CommandError> {
    raw.strip_prefix('v')
        .unwrap_or(raw)
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            CommandError::User(format!(
                "Invalid release \"{shown}\": use vN, e.g. v3",
                shown = crate::names::shown(raw)
            ))
        })
}
