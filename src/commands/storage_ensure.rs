//! `storage:ensure-directory <name>`: creates `<data_dir>/storage/<name>` for apps to mount.

use super::argv::Argv;
use super::{CommandError, Io};
use crate::context::Ctx;

#[derive(Debug)]
pub struct Args {
    pub name: String,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("storage:ensure-directory", words);
        let name = argv.required("directory name")?;
        argv.finish()?;
        if !crate::state::valid_storage_name(&name) {
            return Err(CommandError::User(format!(
                "Invalid directory name \"{shown}\": lowercase letters, digits and dashes, at most 45",
                shown = crate::names::shown(&name)
            )));
        }
        Ok(Args { name })
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let dir = ctx.store.ensure_storage_dir(&args.name)?;
    io.step(&format!("Ensuring {} exists", dir.display())).await;
    io.detail(&format!(
        "Mount it with: storage:mount <app> {}:/container/path",
        dir.display()
    ))
    .await;
    Ok(())
}
