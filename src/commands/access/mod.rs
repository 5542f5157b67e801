//! Who may run what. The server's CLI and admin keys run everything; a developer key runs the
//! commands of the apps granted to it (`acl:add`) and nothing global. Every parsed `Command`
//! says what it needs (`Command::need`, a complete match, so a new command cannot skip the
//! check), and `check` refuses before anything runs.

use super::{Command, CommandError};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::names::{AppName, KeyName};
use crate::state::Role;

/// What running a command needs beyond a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// Nothing: help, version, and listings that show only what the caller may see.
    Nothing,
    /// Access to the app (a developer: granted with `acl:add`).
    App(AppName),
    /// Creating the app: a developer only with `acl:set --global allow-create true`.
    Create(AppName),
    /// An admin; says what the command touches ("global settings", "SSH keys").
    Admin(&'static str),
}

impl Need {
    /// The app it names, if any.
    pub fn app(&self) -> Option<&AppName> {
        match self {
            Need::App(app) | Need::Create(app) => Some(app),
            Need::Nothing | Need::Admin(_) => None,
        }
    }
}

/// Which apps a caller may see and use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sight {
    Every,
    /// A developer key's granted apps, or a deploy token's one app; the first field names the
    /// caller in refusals (`Key alice`, `Token ci`).
    Granted(String, Vec<AppName>),
}

impl Sight {
    pub fn sees(&self, app: &AppName) -> bool {
        match self {
            Sight::Every => true,
            Sight::Granted(_, apps) => apps.contains(app),
        }
    }
}

/// A key that is not (or no longer) in `keys.toml` may do nothing.
fn role(ctx: &Ctx, key: &KeyName) -> Result<Role, CommandError> {
    ctx.store
        .key(key)
        .map(|k| k.role)
        .ok_or_else(|| CommandError::User(format!("Key {key} is no longer allowed in")))
}

/// Which apps `caller` may see.
pub fn sight(ctx: &Ctx, caller: &Caller) -> Result<Sight, CommandError> {
    match caller {
        Caller::Local | Caller::Watch => Ok(Sight::Every),
        Caller::Key(key) => match role(ctx, key)? {
            Role::Admin => Ok(Sight::Every),
            Role::Developer => Ok(Sight::Granted(
                format!("Key {key}"),
                ctx.store.apps_granted(key),
            )),
        },
        Caller::Token { app, name } => {
            Ok(Sight::Granted(format!("Token {name}"), vec![app.clone()]))
        }
    }
}

/// Refuses `need` to `caller` with one line naming what is missing.
pub fn check(ctx: &Ctx, caller: &Caller, need: &Need) -> Result<(), CommandError> {
    let Sight::Granted(who, apps) = sight(ctx, caller)? else {
        return Ok(());
    };
    let token = matches!(caller, Caller::Token { .. });
    let refused = match need {
        Need::Nothing => return Ok(()),
        Need::App(app) if apps.contains(app) => return Ok(()),
        // The same words whether or not the app exists: a developer learns nothing of others.
        Need::App(app) if token => format!("{who} has no access to app {app}"),
        Need::App(app) => format!(
            "{who} has no access to app {app} (acl:add {app} {})",
            caller
        ),
        Need::Create(_) if token => format!("{who} may not create apps"),
        Need::Create(_) if ctx.store.global().acl_allow_create => return Ok(()),
        Need::Create(_) => format!(
            "{who} may not create apps (acl:set --global allow-create true allows developers)"
        ),
        Need::Admin(what) if token => format!("{who} is a deploy token: {what} need an admin key"),
        Need::Admin(what) => format!("{who} is a developer key: {what} need an admin key"),
    };
    Err(CommandError::User(refused))
}

/// What a push to `app` needs: the app, or creating it when it is new.
pub fn check_push(ctx: &Ctx, caller: &Caller, app: &AppName) -> Result<(), CommandError> {
    let need = match ctx.store.app_exists(app) {
        true => Need::App(app.clone()),
        false => Need::Create(app.clone()),
    };
    check(ctx, caller, &need)
}

/// A developer key that created an app may use it.
pub fn grant_creator(ctx: &Ctx, caller: &Caller, app: &AppName) -> Result<(), CommandError> {
    if let (Caller::Key(key), Sight::Granted(..)) = (caller, sight(ctx, caller)?) {
        ctx.store
            .update_app(app, |record| record.acl.insert(key.clone()))?;
    }
    Ok(())
}

/// Opens a session of `caller` running `command`, refused when a developer key already has its
/// `[ssh] developer_sessions` open.
pub fn open_session(
    ctx: &Ctx,
    caller: &Caller,
    source: &str,
    command: &str,
) -> Result<crate::sessions::Open, CommandError> {
    let cap = match caller {
        Caller::Key(key) => match role(ctx, key)? {
            Role::Developer => Some(ctx.config.ssh.developer_sessions),
            Role::Admin => None,
        },
        Caller::Local | Caller::Watch | Caller::Token { .. } => None,
    };
    let session = crate::sessions::Session {
        key: caller.to_string(),
        source: source.to_string(),
        command: command.chars().take(64).collect(),
        started: crate::clock::now_unix(),
    };
    ctx.sessions.open(session, cap).map_err(|open| {
        CommandError::User(format!(
            "Key {caller} has {open} sessions open, the most a developer key may have ([ssh] developer_sessions)"
        ))
    })
}

const GLOBAL: &str = "global settings (--global, --all)";

/// An app's command, or with no app (`--global`, `--all`, every app) an admin's.
fn app_or_admin(app: Option<&AppName>) -> Need {
    app.map_or(Need::Admin(GLOBAL), |app| Need::App(app.clone()))
}

impl Command {
    /// What running this command needs.
    pub fn need(&self) -> Need {
        use super::config_common::Scope;
        let scope = |scope: &Scope| match scope {
            Scope::App(app) => Need::App(app.clone()),
            Scope::Global => Need::Admin(GLOBAL),
        };
        let target = |target: &super::every_app::Target| match target {
            super::every_app::Target::App(app) => Need::App(app.clone()),
            super::every_app::Target::All => Need::Admin(GLOBAL),
        };
        match self {
            Command::AppsClone(_) | Command::AppsDestroy(_) => {
                Need::Admin("cloning, renaming and destroying apps")
            }
            Command::AppsCreate(args) => Need::Create(args.app.clone()),
            Command::AppsList(_) | Command::Help(_) | Command::Version => Need::Nothing,
            Command::Events(super::events::Args::Show { .. }) => Need::Nothing,
            Command::Events(_) => Need::Admin("the audit log's settings"),
            Command::Secrets(args) => Need::App(args.app.clone()),
            Command::Report(app, _) => app.clone().map_or(Need::Nothing, Need::App),
            Command::AppsSet(_) => Need::Admin(GLOBAL),
            Command::AppsExists(args)
            | Command::AppsLock(args, _)
            | Command::AppsLocked(args)
            | Command::AppsReport(args)
            | Command::BuilderReport(args)
            | Command::SchedulerReport(args)
            | Command::RegistryReport(args)
            | Command::SwarmPlacementReport(args)
            | Command::BuilderDockerfileReport(args)
            | Command::ChecksReport(args)
            | Command::CronReport(args)
            | Command::GitReport(args)
            | Command::NginxShow(args)
            | Command::LogsReport(args)
            | Command::PsInspect(args)
            | Command::RepoPurgeCache(args)
            | Command::ResourceReport(args)
            | Command::StorageReport(args) => Need::App(args.app.clone()),
            Command::Releases(args) | Command::Urls(args, _) => Need::App(args.app.clone()),
            Command::BuilderSet(args) => app_or_admin(args.app.as_ref()),
            Command::SchedulerSet(args) => app_or_admin(args.app.as_ref()),
            Command::Registry(_) => Need::Admin("registry logins"),
            Command::RegistrySet(args) => app_or_admin(args.app.as_ref()),
            Command::SwarmPlacement(args) => Need::App(args.app.clone()),
            Command::BuilderDockerfileSet(args) => app_or_admin(args.app.as_ref()),
            Command::Buildpacks(args) => app_or_admin(args.app.as_ref()),
            Command::Builds(args) => app_or_admin(args.app.as_ref()),
            Command::Certs(args) => Need::App(args.app.clone()),
            Command::ChecksRun(args) => Need::App(args.app.clone()),
            Command::ChecksSet(args) => app_or_admin(args.app.as_ref()),
            Command::ChecksToggle(args) => Need::App(args.app.clone()),
            Command::ConfigExport(args) => scope(&args.scope),
            Command::ConfigGet(args) => scope(&args.scope),
            Command::ConfigImport(args) => scope(&args.scope),
            Command::ConfigSet(args) => scope(&args.scope),
            Command::ConfigShow(args) => scope(&args.scope),
            Command::ConfigUnset(args) => scope(&args.scope),
            Command::Cron(args) => Need::App(args.app.clone()),
            Command::CronSet(args) => app_or_admin(args.app.as_ref()),
            Command::DockerOptions(_) => {
                Need::Admin("docker options (they change how containers run on the host)")
            }
            Command::Domains(args) => app_or_admin(args.app.as_ref()),
            Command::Enter(args) => Need::App(args.app.clone()),
            Command::GitFromArchive(args) => Need::App(args.app.clone()),
            Command::GitFromImage(args) => {
                // Berth's own images hold other apps' code: only the app's own may be deployed.
                let own = format!("berth/{}:", args.app);
                match args.image.starts_with("berth/") && !args.image.starts_with(&own) {
                    true => Need::Admin("another app's image"),
                    false => Need::App(args.app.clone()),
                }
            }
            Command::GitSet(args) => app_or_admin(args.app.as_ref()),
            Command::GitSync(args) => Need::App(args.app.clone()),
            Command::Tags(args) => Need::App(args.app().clone()),
            Command::DeployTokens(args) => Need::App(args.app().clone()),
            Command::Deploys(args) => Need::App(args.app().clone()),
            Command::GitAuth(_) => Need::Admin("git host logins"),
            Command::Letsencrypt(args) => args.action.need(),
            Command::Network(super::network::Args::Report(args)) => Need::App(args.app.clone()),
            Command::Network(_) => Need::Admin("networks (they join apps to each other)"),
            Command::Nginx(args) => args.need(),
            Command::NginxLogs(args) => Need::App(args.app.clone()),
            Command::NginxValidate(super::nginx_validate::Args::Validate(app, _)) => {
                app_or_admin(app.as_ref())
            }
            Command::NginxValidate(_) => Need::Admin("the proxy's listeners"),
            Command::HttpAuth(args) => Need::App(args.app.clone()),
            Command::Logs(args) => Need::App(args.app.clone()),
            Command::LogsFailed(args) => app_or_admin(args.app.as_ref()),
            Command::LogsSet(args) => app_or_admin(args.app.as_ref()),
            Command::Maintenance(args) => Need::App(args.app.clone()),
            Command::Plugin(_) => Need::Admin("plugins"),
            Command::Ports(args) => match args.verb {
                super::ports::Verb::List | super::ports::Verb::Report => {
                    Need::App(args.app.clone())
                }
                _ => Need::Admin("the server's ports"),
            },
            Command::Proxy(args) => app_or_admin(args.app()),
            Command::PsLifecycle(args) => target(&args.target),
            Command::PsRebuild(args) => target(&args.target),
            Command::PsReport(args) => app_or_admin(args.app.as_ref()),
            Command::PsRestore(args) => app_or_admin(args.app.as_ref()),
            Command::PsScale(args) => Need::App(args.app.clone()),
            Command::PsSet(args) => Need::App(args.app.clone()),
            Command::ReleasesInfo(args) => Need::App(args.app.clone()),
            Command::ReleasesRollback(args) => Need::App(args.app.clone()),
            Command::Run(args) => Need::App(args.app.clone()),
            Command::RunList(args) => match &args.target {
                super::run_list::Target::App(app) => Need::App(app.clone()),
                super::run_list::Target::Container(_) => Need::Admin("every app's containers"),
            },
            Command::Resource(args) => Need::App(args.app.clone()),
            Command::StorageEnsure(_) | Command::StorageMount(_) => {
                Need::Admin("the server's directories")
            }
            Command::StorageList(args) => Need::App(args.app.clone()),
            Command::SshKeysAdd(_)
            | Command::SshKeysList(_)
            | Command::SshKeysRemove(_)
            | Command::SshKeysSetRole(_)
            | Command::SshKeysSessions(_) => Need::Admin("SSH keys"),
            Command::Acl(_) => Need::Admin("ACLs"),
            Command::Backup(_) => Need::Admin("backups (an archive holds every secret and key)"),
        }
    }
}

#[cfg(test)]
mod tests;
