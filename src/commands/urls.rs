//! `urls <app>` and `url <app>` (`[--format stdout|json]`): where the app answers, one URL per
//! line (`url`: the first), as Dokku prints them (see `crate::urls`); as JSON, an array of them
//! (`url`: a string, or `null`).

use super::argv::ListArgs;
use super::{CommandError, Io};
use crate::context::Ctx;

pub async fn run(ctx: &Ctx, io: &mut Io, args: ListArgs, all: bool) -> Result<(), CommandError> {
    ctx.store.app(&args.app)?;
    let urls = ctx.app_urls(&args.app);
    let shown = if all {
        &urls[..]
    } else {
        &urls[..urls.len().min(1)]
    };
    match (args.json, all) {
        (true, true) => return super::output::json(io, &shown).await,
        (true, false) => return super::output::json(io, &shown.first()).await,
        (false, _) => {}
    }
    for url in shown {
        io.line(url).await;
    }
    Ok(())
}
