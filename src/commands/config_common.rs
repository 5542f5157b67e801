//! What the `config:*` commands share: the target (an app or `--global`), key validation, and
//! the restart (a new release through the checked cutover) after a change.

use std::collections::BTreeMap;

use super::argv::Argv;
use super::deploying::redeploy;
use super::{CommandError, Io};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::deploy::Source;
use crate::names::AppName;

/// Whose config a command reads or changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    App(AppName),
    Global,
}

impl Scope {
    /// `--global` or an app name.
    pub fn parse(argv: &mut Argv) -> Result<Scope, CommandError> {
        Ok(argv.app_or_global()?.map_or(Scope::Global, Scope::App))
    }

    pub fn title(&self) -> String {
        match self {
            Scope::App(app) => app.to_string(),
            Scope::Global => "global".to_string(),
        }
    }
}

/// Config keys are shell-style names: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn valid_key(key: &str) -> Result<(), CommandError> {
    let mut chars = key.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(CommandError::User(format!(
            "Invalid key name: '{}'",
            crate::names::shown(key)
        )))
    }
}

/// `KEY:   value` lines, the values aligned, as `config:set` shows what it set.
pub async fn show_pairs(io: &mut Io, pairs: &[(String, String)]) {
    for line in aligned(pairs) {
        io.detail(&line).await;
    }
}

/// `KEY:  value` lines, the values in one column two spaces after the longest key.
pub fn aligned(pairs: &[(String, String)]) -> Vec<String> {
    let width = pairs.iter().map(|(k, _)| k.len() + 1).max().unwrap_or(0) + 2;
    pairs
        .iter()
        .map(|(key, value)| format!("{:<width$}{value}", format!("{key}:")))
        .collect()
}

/// The scope's config; with `merged`, an app's config over the global one.
pub fn read_env(
    ctx: &Ctx,
    scope: &Scope,
    merged: bool,
) -> Result<BTreeMap<String, String>, CommandError> {
    let global = ctx.store.global();
    match scope {
        Scope::Global => Ok(global.env),
        Scope::App(app) => {
            let own = ctx.store.app(app)?.env;
            match merged {
                true => Ok(global.env_with(&own)),
                false => Ok(own),
            }
        }
    }
}

/// Applies `change` to the scope's config and saves it; returns what `change` returned.
pub fn write_env<T>(
    ctx: &Ctx,
    scope: &Scope,
    change: impl FnOnce(&mut BTreeMap<String, String>) -> T,
) -> Result<T, CommandError> {
    match scope {
        Scope::App(app) => Ok(ctx.store.update_app(app, |r| change(&mut r.env))?.1),
        Scope::Global => {
            let mut out = None;
            ctx.store
                .update_global(|g| out = Some(change(&mut g.env)))?;
            out.ok_or_else(|| CommandError::Internal("global config was not updated".into()))
        }
    }
}

/// Fires `post-config-update` (Dokku's `APP set|unset|clear KEYS...`; `--global` for the
/// global config) after a change of `keys`.
pub async fn updated(
    ctx: &Ctx,
    caller: &Caller,
    io: &mut Io,
    scope: &Scope,
    action: &str,
    keys: &[&str],
) -> Result<(), CommandError> {
    let (name, app) = match scope {
        Scope::App(app) => (app.to_string(), Some(app)),
        Scope::Global => ("--global".to_string(), None),
    };
    let mut args = vec![name, action.to_string()];
    args.extend(keys.iter().map(|k| k.to_string()));
    ctx.trigger("post-config-update", &args, app, caller, io)
        .await?;
    Ok(())
}

/// After a change: a new release with the new config, unless `--no-restart`, the global scope
/// (apps pick global changes up at their next release, as in Dokku), or an undeployed app.
pub async fn restart(
    ctx: &Ctx,
    caller: &Caller,
    io: &mut Io,
    scope: &Scope,
    no_restart: bool,
    description: String,
) -> Result<(), CommandError> {
    let Scope::App(app) = scope else {
        return Ok(());
    };
    if no_restart || ctx.store.app(app)?.current_release.is_none() {
        return Ok(());
    }
    let after_failure = "the new config is saved and applies at the next deploy";
    let source = Source::Config { description };
    redeploy(ctx, caller, app, source, after_failure, io).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        for ok in ["A", "_x", "DATABASE_URL", "a1"] {
            assert!(valid_key(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1A", "A-B", "A B", "Ä", "A=B"] {
            assert!(valid_key(bad).is_err(), "{bad}");
        }
    }
}
