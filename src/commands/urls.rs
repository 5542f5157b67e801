//! `urls <app>` and `url <app>`: where the app answers, one URL per line (`url`: the first),
//! as Dokku prints them (see `crate::urls`).

use super::argv::AppArgs;
use super::{CommandError, Io};
use crate::context::Ctx;

pub async fn run(ctx: &Ctx, io: &mut Io, args: AppArgs, all: bool) -> Result<(), CommandError> {
    ctx.store.app(&args.app)?;
    let urls = ctx.app_urls(&args.app);
    let shown = if all {
        &urls[..]
    } else {
        &urls[..urls.len().min(1)]
    };
    for url in shown {
        io.line(url).await;
    }
    Ok(())
}
