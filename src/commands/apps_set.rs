//! `apps:set --global disable-autocreation [true|false]`: whether a push to an app that does not
//! exist creates it (Dokku's one `apps:set` property; empty or absent unsets, `false`).

use super::argv::Argv;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::shown;

#[derive(Debug)]
pub struct Args {
    pub disable_autocreation: bool,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("apps:set", words);
        if !argv.flag("--global") {
            return Err(CommandError::User(
                "apps:set takes --global: disable-autocreation applies to every push".into(),
            ));
        }
        let key = argv.required("property")?;
        let value = argv.optional()?;
        argv.finish()?;
        if key != "disable-autocreation" {
            return Err(CommandError::User(format!(
                "Invalid property \"{}\": apps:set knows disable-autocreation",
                shown(&key)
            )));
        }
        let disable_autocreation = match value.as_deref() {
            None | Some("") | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(CommandError::User(format!(
                    "Invalid disable-autocreation \"{}\": use true or false",
                    shown(other)
                )))
            }
        };
        Ok(Args {
            disable_autocreation,
        })
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    ctx.store
        .update_global(|global| global.disable_autocreation = args.disable_autocreation)?;
    let line = match args.disable_autocreation {
        true => "Pushes to an app that does not exist are refused: create apps with apps:create",
        false => "Pushing to an app that does not exist creates it",
    };
    io.step(line).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::argv::words;

    #[test]
    fn parses_the_global_property() {
        let on = Args::parse(&words("--global disable-autocreation true")).unwrap();
        assert!(on.disable_autocreation);
        let off = Args::parse(&words("--global disable-autocreation")).unwrap();
        assert!(!off.disable_autocreation);
        for bad in [
            "shop disable-autocreation true",
            "--global disable-autocreation yes",
            "--global colour red",
        ] {
            assert!(Args::parse(&words(bad)).is_err(), "{bad}");
        }
    }
}
