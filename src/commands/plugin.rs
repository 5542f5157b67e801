//! `plugin:list [--format stdout|json]`, `plugin:install <path|git-url> [--name NAME]`, `plugin:update <name> [<ref>]`,
//! `plugin:enable|disable|uninstall|installed <name>`, and running a plugin's own commands
//! (`NAME:sub ARGS`). Every `plugin:*` command is for admins (a plugin runs as the daemon's
//! user); a plugin's own commands too, except those its `plugin.toml` lists in `app_commands`,
//! which a developer key may run on its apps.

use super::access::Need;
use super::argv::Argv;
use super::output::table;
use super::{CommandError, Io};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::names::AppName;
use crate::plugins::{PluginError, Source};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    List,
    Install,
    Update,
    Enable,
    Disable,
    Uninstall,
    Installed,
    /// `plugin:trigger TRIGGER [ARGS...]`: runs one trigger by hand.
    Trigger,
}

#[derive(Debug)]
pub struct Args {
    pub verb: Verb,
    /// The plugin's name, or for `install` where it comes from.
    pub target: Option<String>,
    /// `install --name`, or `update`'s ref.
    pub extra: Option<String>,
    /// `plugin:trigger`'s arguments.
    pub args: Vec<String>,
    /// `plugin:list --format json`.
    pub json: bool,
}

impl Args {
    pub fn parse(name: &'static str, words: &[String]) -> Result<Args, CommandError> {
        let verb = match name {
            "plugin:install" => Verb::Install,
            "plugin:update" => Verb::Update,
            "plugin:enable" => Verb::Enable,
            "plugin:disable" => Verb::Disable,
            "plugin:uninstall" => Verb::Uninstall,
            "plugin:installed" => Verb::Installed,
            "plugin:trigger" => Verb::Trigger,
            _ => Verb::List,
        };
        if verb == Verb::Trigger {
            let Some((trigger, args)) = words.split_first() else {
                return Err(CommandError::Usage(format!(
                    "a trigger name required; usage: {}",
                    super::usage(name)
                )));
            };
            return Ok(Args {
                verb,
                target: Some(trigger.clone()),
                extra: None,
                args: args.to_vec(),
                json: false,
            });
        }
        let mut argv = Argv::new(name, words);
        let json = verb == Verb::List && argv.json_format("stdout")?;
        let (target, extra) = match verb {
            Verb::List => (None, None),
            Verb::Install => {
                let name = argv.option("--name")?;
                (Some(argv.required("a plugin directory or git URL")?), name)
            }
            Verb::Update => (Some(argv.required("plugin name")?), argv.optional()?),
            Verb::Trigger | Verb::Enable | Verb::Disable | Verb::Uninstall | Verb::Installed => {
                (Some(argv.required("plugin name")?), None)
            }
        };
        argv.finish()?;
        Ok(Args {
            verb,
            target,
            extra,
            args: Vec::new(),
            json,
        })
    }
}

impl From<crate::plugins::TriggerFailed> for CommandError {
    fn from(err: crate::plugins::TriggerFailed) -> Self {
        CommandError::User(err.to_string())
    }
}

impl From<PluginError> for CommandError {
    fn from(err: PluginError) -> Self {
        match err {
            PluginError::Refused(message) => CommandError::User(message),
            PluginError::Internal(message) => CommandError::Internal(message),
        }
    }
}

pub async fn run(ctx: &Ctx, caller: &Caller, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let target = args.target.unwrap_or_default();
    match args.verb {
        Verb::Trigger => {
            let Some(name) = crate::plugins::TRIGGERS.iter().find(|t| **t == target) else {
                return Err(CommandError::User(format!(
                    "{} is not a trigger; they are: {}",
                    crate::names::shown(&target),
                    crate::plugins::TRIGGERS.join(" ")
                )));
            };
            ctx.trigger(name, &args.args, None, caller, io).await?;
            Ok(())
        }
        Verb::List => list(ctx, io, args.json).await,
        Verb::Install => {
            io.step(&format!(
                "Installing plugin from {}",
                crate::names::shown(&target)
            ))
            .await;
            let source = Source::parse(&target);
            let taken = super::help::namespaces();
            let plugin = crate::plugins::install(
                &ctx.plugins,
                &source,
                args.extra.as_deref(),
                &taken,
                false,
            )
            .await?;
            io.detail(&format!(
                "Plugin {} {} installed and enabled",
                plugin.name, plugin.manifest.version
            ))
            .await;
            Ok(())
        }
        Verb::Update => {
            let plugin = installed(ctx, &target)?;
            let mut source = not_bundled(crate::plugins::source_of(&plugin)?, &target)?;
            if let (Source::Git(_, reference), Some(wanted)) = (&mut source, args.extra) {
                *reference = Some(wanted);
            }
            io.step(&format!("Updating plugin {target}")).await;
            let taken = super::help::namespaces();
            let plugin =
                crate::plugins::install(&ctx.plugins, &source, Some(&target), &taken, true).await?;
            io.detail(&format!(
                "Plugin {} is now {}",
                plugin.name, plugin.manifest.version
            ))
            .await;
            Ok(())
        }
        Verb::Enable | Verb::Disable => {
            installed(ctx, &target)?;
            let enable = args.verb == Verb::Enable;
            {
                let _edit = ctx.edit();
                ctx.store.update_global(|global| {
                    global.plugins_disabled.retain(|name| *name != target);
                    if !enable {
                        global.plugins_disabled.push(target.clone());
                    }
                })?;
                ctx.plugins.set_enabled(&target, enable);
            }
            let state = if enable { "enabled" } else { "disabled" };
            io.step(&format!("Plugin {target} {state}")).await;
            Ok(())
        }
        Verb::Uninstall => {
            let plugin = installed(ctx, &target)?;
            if let Ok(source) = crate::plugins::source_of(&plugin) {
                not_bundled(source, &target)?;
            }
            ctx.plugins.remove(&target);
            if let Err(err) = std::fs::remove_dir_all(&plugin.dir) {
                return Err(CommandError::Internal(format!(
                    "{}: {err}",
                    plugin.dir.display()
                )));
            }
            {
                let _edit = ctx.edit();
                ctx.store
                    .update_global(|global| global.plugins_disabled.retain(|n| *n != target))?;
            }
            io.step(&format!("Plugin {target} uninstalled")).await;
            Ok(())
        }
        Verb::Installed => match ctx.plugins.get(&target) {
            Some(_) => Ok(()),
            None => Err(CommandError::Status(1)),
        },
    }
}

/// `source`, unless it is the binary's: a bundled plugin updates with Berth.
fn not_bundled(source: Source, name: &str) -> Result<Source, CommandError> {
    match source {
        Source::Bundled => Err(CommandError::User(format!(
            "Plugin {name} is bundled with Berth and updates with it; plugin:disable {name} turns it off"
        ))),
        source => Ok(source),
    }
}

/// The installed plugin `name`, or the refusal that says it is not.
fn installed(ctx: &Ctx, name: &str) -> Result<crate::plugins::Plugin, CommandError> {
    ctx.plugins.get(name).ok_or_else(|| {
        CommandError::User(format!(
            "Plugin {} is not installed",
            crate::names::shown(name)
        ))
    })
}

async fn list(ctx: &Ctx, io: &mut Io, json: bool) -> Result<(), CommandError> {
    if json {
        let rows: Vec<serde_json::Value> = ctx
            .plugins
            .list()
            .into_iter()
            .map(|plugin| {
                serde_json::json!({
                    "name": plugin.name,
                    "version": plugin.manifest.version,
                    "enabled": plugin.enabled,
                    "description": plugin.manifest.description,
                })
            })
            .collect();
        return super::output::json(io, &rows).await;
    }
    let rows: Vec<Vec<String>> = ctx
        .plugins
        .list()
        .into_iter()
        .map(|plugin| {
            vec![
                plugin.name,
                plugin.manifest.version,
                if plugin.enabled {
                    "enabled"
                } else {
                    "disabled"
                }
                .to_string(),
                plugin.manifest.description,
            ]
        })
        .collect();
    table(io, &["name", "version", "state", "description"], &rows).await;
    Ok(())
}

/// `NAME:sub ARGS` for an enabled plugin's namespace: runs its program and passes its exit
/// status back; `None` when no enabled plugin has that namespace, or its `commands` says the
/// command is not its own (exit status 10).
pub async fn run_plugin_command(
    ctx: &Ctx,
    caller: &Caller,
    words: &[String],
    io: &mut Io,
) -> Option<Result<(), CommandError>> {
    let (command, args) = words.split_first()?;
    let (plugin, sub) = ctx.plugins.command(command)?;
    let app_command = plugin.manifest.app_commands.iter().any(|c| c == command);
    let need = match args.first().map(|word| AppName::parse(word)) {
        Some(Ok(app)) if app_command => Need::App(app),
        _ => Need::Admin("plugin commands that do not name one of your apps first"),
    };
    if let Err(err) = super::access::check(ctx, caller, &need) {
        return Some(Err(err));
    }
    use tracing::Instrument;
    let span = tracing::info_span!("plugin command", plugin = %plugin.name, command = %command);
    let env = [
        (
            "BERTH_DATA_DIR",
            ctx.store.layout().root().display().to_string(),
        ),
        ("BERTH_KEY", caller.to_string()),
    ];
    let ran = crate::plugins::run_command(&ctx.plugins, &plugin, command, sub, args, &env, io)
        .instrument(span)
        .await;
    match ran {
        Ok(None) | Ok(Some(crate::plugins::NOT_MINE)) => None,
        Ok(Some(status)) => Some(CommandError::from_status(i64::from(status))),
        Err(err) => Some(Err(err.into())),
    }
}
