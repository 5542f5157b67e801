//! `acl:add <app> <key>`, `acl:remove <app> <key>`, `acl:list <app> [--format stdout|json]` and
//! `acl:set --global allow-create true|false` (the names of Dokku's ACL plugin): which developer
//! keys may use an app, and whether developers may create apps (each getting the apps it made).

use super::argv::Argv;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::{shown, AppName, KeyName};
use crate::state::{Role, StateError};

#[derive(Debug)]
pub enum Args {
    Add(AppName, KeyName),
    Remove(AppName, KeyName),
    /// The app, and whether as JSON.
    List(AppName, bool),
    /// `None`: unset (false).
    AllowCreate(Option<bool>),
}

impl Args {
    pub fn parse(name: &'static str, words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new(name, words);
        let args = match name {
            "acl:set" => {
                if !argv.flag("--global") {
                    return Err(CommandError::Usage(
                        "acl:set takes --global: acl:set --global allow-create true|false".into(),
                    ));
                }
                let property = argv.required("property")?;
                if property != "allow-create" {
                    return Err(CommandError::User(format!(
                        "Invalid property \"{}\": acl:set --global has allow-create",
                        shown(&property)
                    )));
                }
                Args::AllowCreate(match argv.optional()?.as_deref() {
                    None | Some("") => None,
                    Some("true") => Some(true),
                    Some("false") => Some(false),
                    Some(other) => {
                        return Err(CommandError::User(format!(
                            "allow-create takes true or false, not \"{}\"",
                            shown(other)
                        )))
                    }
                })
            }
            _ => {
                let json = name == "acl:list" && argv.json_format("stdout")?;
                let app = AppName::parse(&argv.required("app name")?)?;
                match name {
                    "acl:list" => Args::List(app, json),
                    _ => {
                        let key = KeyName::parse(&argv.required("key name")?)?;
                        match name {
                            "acl:add" => Args::Add(app, key),
                            _ => Args::Remove(app, key),
                        }
                    }
                }
            }
        };
        argv.finish()?;
        Ok(args)
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    match args {
        Args::Add(app, key) => {
            let role = ctx
                .store
                .key(&key)
                .ok_or_else(|| StateError::KeyMissing(key.clone()))?
                .role;
            let (_, added) = ctx.store.update_app(&app, |r| r.acl.insert(key.clone()))?;
            match added {
                true => io.step(&format!("Key {key} may now use {app}")).await,
                false => io.step(&format!("Key {key} may already use {app}")).await,
            }
            if role == Role::Admin {
                io.warn(&format!(
                    "{key} is an admin key: it may use every app whatever the ACL says"
                ))
                .await;
            }
        }
        Args::Remove(app, key) => {
            let (_, removed) = ctx.store.update_app(&app, |r| r.acl.remove(&key))?;
            if !removed {
                return Err(CommandError::User(format!(
                    "Key {key} is not in the ACL of {app}"
                )));
            }
            io.step(&format!("Key {key} may no longer use {app}")).await;
        }
        Args::List(app, json) => {
            let record = ctx.store.app(&app)?;
            if json {
                return super::output::json(io, &record.acl).await;
            }
            for key in &record.acl {
                io.line(key.as_str()).await;
            }
        }
        Args::AllowCreate(value) => {
            ctx.store
                .update_global(|g| g.acl_allow_create = value.unwrap_or(false))?;
            let now = match value.unwrap_or(false) {
                true => "may",
                false => "may not",
            };
            io.step(&format!("Developer keys {now} create apps")).await;
        }
    }
    Ok(())
}
