//! `apps:list [--format stdout|json]`: `=====> My Apps` and one name per line. An app whose
//! state file Berth could not read is listed too, marked out of service, with why on stderr.

use super::argv::Argv;
use super::{CommandError, Io};
use crate::caller::Caller;
use crate::context::Ctx;

#[derive(Debug)]
pub struct Args {
    pub json: bool,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("apps:list", words);
        let json = argv.json_format("stdout")?;
        argv.finish()?;
        Ok(Args { json })
    }
}

/// The apps `caller` may see: every app for admins, the granted ones for a developer key (an
/// app out of service has no readable ACL, so only admins see it).
pub async fn run(ctx: &Ctx, caller: &Caller, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let mut broken = ctx.store.broken_apps();
    if super::access::sight(ctx, caller)? != super::access::Sight::Every {
        broken.clear();
    }
    let mut names: Vec<String> = super::visible_apps(ctx, caller)?
        .into_iter()
        .map(String::from)
        .collect();
    if args.json {
        names.extend(broken.into_iter().map(|(name, _)| name.to_string()));
        names.sort();
        let text =
            serde_json::to_string(&names).map_err(|err| CommandError::Internal(err.to_string()))?;
        io.line(&text).await;
        return Ok(());
    }
    io.header("My Apps").await;
    if names.is_empty() && broken.is_empty() {
        io.warn("You haven't deployed any applications yet").await;
    }
    for name in names {
        io.line(&name).await;
    }
    for (name, why) in broken {
        io.line(&format!("{name} (out of service)")).await;
        io.warn(&format!("{name} is out of service: {why}")).await;
    }
    Ok(())
}
