//! The command router: one parser and one dispatcher shared by the SSH front end and the local
//! CLI's control socket. One command per file, each with typed `Args` and `run(ctx, ..)`.

pub mod access;
mod acl;
mod apps_clone;
mod apps_create;
mod apps_destroy;
mod apps_exists;
mod apps_list;
mod apps_lock;
mod apps_report;
mod apps_set;
mod argv;
mod authorized_keys;
mod backup;
mod builder;
mod builder_dockerfile;
mod buildpacks;
mod builds;
mod certs;
mod checks_report;
mod checks_run;
mod checks_set;
mod checks_toggle;
mod completions;
mod config_common;
mod config_export;
mod config_get;
mod config_import;
mod config_set;
mod config_show;
mod config_unset;
mod cron;
mod cron_set;
mod deploy_tokens;
mod deploying;
mod deploys;
mod docker_options;
mod domains;
mod enter;
mod events;
mod every_app;
mod git_from_archive;
mod git_from_image;
mod git_set;
mod git_sync;
mod help;
mod hints;
mod http_auth;
mod letsencrypt;
mod logs;
mod logs_failed;
mod logs_set;
mod maintenance;
mod network;
mod nginx;
mod nginx_logs;
mod nginx_show;
mod nginx_validate;
mod output;
mod plugin;
mod ports;
mod proxy;
mod ps_inspect;
mod ps_lifecycle;
mod ps_rebuild;
mod ps_report;
mod ps_restore;
mod ps_scale;
mod ps_set;
mod registry;
mod releases;
mod releases_info;
mod releases_rollback;
mod repo_purge_cache;
mod report_app;
mod resource;
mod run;
mod run_list;
mod scheduler;
mod secrets;
mod ssh_keys_add;
mod ssh_keys_list;
mod ssh_keys_remove;
mod ssh_keys_sessions;
mod ssh_keys_set_role;
mod storage_ensure;
mod storage_list;
mod storage_mount;
mod table;
mod tags;
mod urls;
mod version;

pub use crate::io::{Io, Lines, Reader, Writer};
pub use completions::{script as completion_script, SHELLS};
pub use deploying::run_deploy;
pub use deploys::{status_json as deploy_status_json, MAX_OUTPUT as MAX_DEPLOY_OUTPUT};
use help::usage;
pub use version::line as version_line;

use tracing::Instrument;

use crate::caller::Caller;
use crate::context::Ctx;
use crate::deploy::DeployError;
use crate::names::{AppName, NameError};
use crate::state::StateError;

/// Why a command failed, classified by who must act.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{0}")]
    Usage(String),
    /// The name as typed (hints need it); shown escaped and shortened.
    #[error("`{}` is not a berth command.", crate::names::shown(.0))]
    Unknown(String),
    #[error("App {0} does not exist")]
    AppMissing(AppName),
    /// The user asked for something that cannot be done; the message says why.
    #[error("{0}")]
    User(String),
    /// Berth or the host failed (Docker down, disk full); logged for the operator.
    #[error("{0}")]
    Internal(String),
    /// A one-off command's own exit status, passed back without a message.
    #[error("exit status {0}")]
    Status(i32),
}

impl CommandError {
    /// A one-off command's exit status as the command's result (out-of-range statuses → 1).
    pub fn from_status(status: i64) -> Result<(), CommandError> {
        match i32::try_from(status) {
            Ok(0) => Ok(()),
            Ok(status) if (1..=255).contains(&status) => Err(CommandError::Status(status)),
            _ => Err(CommandError::Status(1)),
        }
    }

    /// Dokku's exit codes: 20 for a missing app, 1 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            CommandError::AppMissing(_) => 20,
            CommandError::Status(status) => *status,
            _ => 1,
        }
    }
}

impl From<StateError> for CommandError {
    fn from(err: StateError) -> Self {
        match err {
            StateError::AppMissing(app) => CommandError::AppMissing(app),
            StateError::Io { .. } | StateError::Corrupt { .. } => {
                CommandError::Internal(err.to_string())
            }
            _ => CommandError::User(err.to_string()),
        }
    }
}

impl From<crate::scheduler::SchedulerError> for CommandError {
    fn from(err: crate::scheduler::SchedulerError) -> Self {
        CommandError::Internal(err.to_string())
    }
}

impl From<crate::caller::LocalOnly> for CommandError {
    fn from(err: crate::caller::LocalOnly) -> Self {
        CommandError::User(err.to_string())
    }
}

impl From<NameError> for CommandError {
    fn from(err: NameError) -> Self {
        CommandError::User(err.to_string())
    }
}

impl From<crate::build::BuildError> for CommandError {
    fn from(err: crate::build::BuildError) -> Self {
        use crate::build::BuildError;
        match err {
            BuildError::Refused(_) | BuildError::Failed(_) => CommandError::User(err.to_string()),
            BuildError::Internal(_) | BuildError::Engine(_) => {
                CommandError::Internal(err.to_string())
            }
        }
    }
}

impl From<DeployError> for CommandError {
    fn from(err: DeployError) -> Self {
        if err.is_internal() {
            CommandError::Internal(err.to_string())
        } else {
            CommandError::User(err.to_string())
        }
    }
}

/// A parsed command line, ready to run.
#[derive(Debug)]
pub enum Command {
    Acl(acl::Args),
    AppsClone(apps_clone::Args),
    AppsCreate(argv::AppArgs),
    AppsDestroy(apps_destroy::Args),
    AppsExists(argv::AppArgs),
    AppsList(apps_list::Args),
    AppsLock(argv::AppArgs, bool),
    AppsLocked(argv::AppArgs),
    AppsReport(argv::AppArgs),
    AppsSet(apps_set::Args),
    Backup(backup::Args),
    BuilderReport(argv::AppArgs),
    SchedulerReport(argv::AppArgs),
    SchedulerSet(scheduler::Args),
    Registry(registry::Args),
    RegistrySet(registry::SetArgs),
    RegistryReport(argv::AppArgs),
    SwarmPlacement(scheduler::PlacementArgs),
    SwarmPlacementReport(argv::AppArgs),
    BuilderSet(builder::Args),
    BuilderDockerfileReport(argv::AppArgs),
    BuilderDockerfileSet(builder_dockerfile::Args),
    Buildpacks(buildpacks::Args),
    Builds(builds::Args),
    Certs(certs::Args),
    ChecksReport(argv::AppArgs),
    ChecksRun(checks_run::Args),
    ChecksSet(checks_set::Args),
    ChecksToggle(checks_toggle::Args),
    ConfigExport(config_export::Args),
    ConfigGet(config_get::Args),
    ConfigImport(config_import::Args),
    ConfigSet(config_set::Args),
    ConfigShow(config_show::Args),
    ConfigUnset(config_unset::Args),
    Cron(cron::Args),
    CronReport(argv::AppArgs),
    CronSet(cron_set::Args),
    DeployTokens(deploy_tokens::Args),
    Deploys(deploys::Args),
    DockerOptions(docker_options::Args),
    Domains(domains::Args),
    Enter(enter::Args),
    Events(events::Args),
    GitFromArchive(git_from_archive::Args),
    GitFromImage(git_from_image::Args),
    GitReport(argv::AppArgs),
    GitSet(git_set::Args),
    GitSync(git_sync::Args),
    Tags(tags::Args),
    GitAuth(git_sync::AuthArgs),
    Letsencrypt(letsencrypt::Args),
    Network(network::Args),
    Nginx(nginx::Args),
    NginxLogs(nginx_logs::Args),
    NginxShow(argv::AppArgs),
    NginxValidate(nginx_validate::Args),
    HttpAuth(http_auth::Args),
    Logs(logs::Args),
    LogsFailed(logs_failed::Args),
    LogsReport(argv::AppArgs),
    LogsSet(logs_set::Args),
    Maintenance(maintenance::Args),
    Plugin(plugin::Args),
    Ports(ports::Args),
    Proxy(proxy::Args),
    PsInspect(argv::AppArgs),
    PsLifecycle(ps_lifecycle::Args),
    PsRebuild(ps_rebuild::Args),
    PsReport(ps_report::Args),
    PsRestore(ps_restore::Args),
    PsScale(ps_scale::Args),
    PsSet(ps_set::Args),
    Releases(argv::ListArgs),
    Report(Option<AppName>, bool),
    ReleasesInfo(releases_info::Args),
    ReleasesRollback(releases_rollback::Args),
    RepoPurgeCache(argv::AppArgs),
    Run(run::Args),
    RunList(run_list::Args),
    Secrets(secrets::Args),
    Resource(resource::Args),
    ResourceReport(argv::AppArgs),
    StorageEnsure(storage_ensure::Args),
    StorageList(storage_list::Args),
    StorageReport(argv::AppArgs),
    StorageMount(storage_mount::Args),
    SshKeysAdd(ssh_keys_add::Args),
    SshKeysList(ssh_keys_list::Args),
    SshKeysRemove(ssh_keys_remove::Args),
    /// Whether as JSON.
    SshKeysSessions(bool),
    SshKeysSetRole(ssh_keys_add::Args),
    Urls(argv::ListArgs, bool),
    Help(help::Topic),
    Version,
}

impl Command {
    /// Turns a command line (already split into words) into a typed command.
    pub fn parse(words: &[String]) -> Result<Command, CommandError> {
        let Some((name, rest)) = words.split_first() else {
            return Ok(Command::Help(help::Topic::All));
        };
        if let Some(namespace) = name.strip_suffix(":help") {
            if let Some(extra) = rest.first() {
                return Err(CommandError::Usage(format!(
                    "unexpected argument \"{}\"; usage: {name}",
                    crate::names::shown(extra)
                )));
            }
            // A namespace that is not Berth's may be a plugin's, whose `commands` answers
            // `NAME:help` itself (Dokku's convention).
            if !help::namespaces().contains(&namespace) {
                return Err(CommandError::Unknown(name.to_string()));
            }
            return Ok(Command::Help(help::Topic::parse(namespace)?));
        }
        let Some(spec) = table::find(name) else {
            return Err(CommandError::Unknown(name.to_string()));
        };
        // `<command> --help` shows the command's usage (a later `--help` is an argument).
        if let Some("--help" | "-h") = rest.first().map(String::as_str) {
            return Ok(Command::Help(help::Topic::Command(spec.name)));
        }
        (spec.parse)(spec.name, rest)
    }

    async fn run(self, ctx: &Ctx, caller: &Caller, io: &mut Io) -> Result<(), CommandError> {
        match self {
            Command::Acl(args) => acl::run(ctx, io, args).await,
            Command::Backup(args) => backup::run(ctx, caller, io, args).await,
            Command::AppsClone(args) => apps_clone::run(ctx, caller, io, args).await,
            Command::AppsCreate(args) => apps_create::run(ctx, caller, io, args).await,
            Command::AppsDestroy(args) => apps_destroy::run(ctx, caller, io, args).await,
            Command::AppsExists(args) => apps_exists::run(ctx, args).await,
            Command::AppsList(args) => apps_list::run(ctx, caller, io, args).await,
            Command::AppsLock(args, lock) => apps_lock::run(ctx, io, args, lock).await,
            Command::AppsLocked(args) => apps_lock::locked(ctx, io, args).await,
            Command::AppsReport(args) => apps_report::run(ctx, io, args).await,
            Command::AppsSet(args) => apps_set::run(ctx, io, args).await,
            Command::BuilderReport(args) => builder::report_app(ctx, io, args).await,
            Command::BuilderSet(args) => builder::run(ctx, io, args).await,
            Command::SchedulerReport(args) => scheduler::report_app(ctx, io, args).await,
            Command::SchedulerSet(args) => scheduler::run(ctx, caller, io, args).await,
            Command::Registry(args) => registry::run(ctx, io, args).await,
            Command::RegistrySet(args) => registry::set(ctx, io, args).await,
            Command::RegistryReport(args) => registry::report_app(ctx, io, args).await,
            Command::SwarmPlacement(args) => scheduler::set_placement(ctx, io, args).await,
            Command::SwarmPlacementReport(args) => scheduler::report_placement(ctx, io, args).await,
            Command::BuilderDockerfileReport(args) => {
                builder_dockerfile::report_app(ctx, io, args).await
            }
            Command::BuilderDockerfileSet(args) => builder_dockerfile::run(ctx, io, args).await,
            Command::Buildpacks(args) => buildpacks::run(ctx, caller, io, args).await,
            Command::Builds(args) => builds::run(ctx, io, args).await,
            Command::Certs(args) => certs::run(ctx, caller, io, args).await,
            Command::Letsencrypt(args) => letsencrypt::run(ctx, caller, io, args).await,
            Command::Network(args) => network::run(ctx, io, args).await,
            Command::Nginx(args) => nginx::run(ctx, io, args).await,
            Command::NginxLogs(args) => nginx_logs::run(ctx, io, args).await,
            Command::NginxShow(args) => nginx_show::run(ctx, io, args).await,
            Command::NginxValidate(args) => nginx_validate::run(ctx, io, args).await,
            Command::ChecksReport(args) => checks_report::run(ctx, io, args).await,
            Command::ChecksRun(args) => checks_run::run(ctx, io, args).await,
            Command::ChecksSet(args) => checks_set::run(ctx, io, args).await,
            Command::ChecksToggle(args) => checks_toggle::run(ctx, io, args).await,
            Command::ConfigExport(args) => config_export::run(ctx, io, args).await,
            Command::ConfigGet(args) => config_get::run(ctx, io, args).await,
            Command::ConfigImport(args) => config_import::run(ctx, caller, io, args).await,
            Command::ConfigSet(args) => config_set::run(ctx, caller, io, args).await,
            Command::ConfigShow(args) => config_show::run(ctx, io, args).await,
            Command::ConfigUnset(args) => config_unset::run(ctx, caller, io, args).await,
            Command::Cron(args) => cron::run(ctx, io, args).await,
            Command::CronReport(args) => cron_set::report_app(ctx, io, args).await,
            Command::CronSet(args) => cron_set::run(ctx, io, args).await,
            Command::DockerOptions(args) => docker_options::run(ctx, io, args).await,
            Command::Domains(args) => domains::run(ctx, caller, io, args).await,
            Command::Enter(args) => enter::run(ctx, io, args).await,
            Command::Events(args) => events::run(ctx, caller, io, args).await,
            Command::GitFromArchive(args) => git_from_archive::run(ctx, caller, io, args).await,
            Command::GitFromImage(args) => git_from_image::run(ctx, caller, io, args).await,
            Command::GitReport(args) => git_set::report_app(ctx, io, args).await,
            Command::GitSet(args) => git_set::run(ctx, io, args).await,
            Command::GitSync(args) => git_sync::run(ctx, caller, io, args).await,
            Command::Tags(args) => tags::run(ctx, caller, io, args).await,
            Command::DeployTokens(args) => deploy_tokens::run(ctx, io, args).await,
            Command::Deploys(args) => deploys::run(ctx, io, args).await,
            Command::GitAuth(args) => git_sync::auth(ctx, io, args).await,
            Command::HttpAuth(args) => http_auth::run(ctx, io, args).await,
            Command::Logs(args) => logs::run(ctx, io, args).await,
            Command::LogsFailed(args) => logs_failed::run(ctx, io, args).await,
            Command::LogsReport(args) => logs_set::report_app(ctx, io, args).await,
            Command::LogsSet(args) => logs_set::run(ctx, io, args).await,
            Command::Maintenance(args) => maintenance::run(ctx, io, args).await,
            Command::Plugin(args) => plugin::run(ctx, caller, io, args).await,
            Command::Ports(args) => ports::run(ctx, caller, io, args).await,
            Command::Proxy(args) => proxy::run(ctx, io, args).await,
            Command::PsInspect(args) => ps_inspect::run(ctx, io, args).await,
            Command::PsLifecycle(args) => ps_lifecycle::run(ctx, caller, io, args).await,
            Command::PsRestore(args) => ps_restore::run(ctx, caller, io, args).await,
            Command::PsSet(args) => ps_set::run(ctx, io, args).await,
            Command::PsRebuild(args) => ps_rebuild::run(ctx, caller, io, args).await,
            Command::PsReport(args) => ps_report::run(ctx, io, args).await,
            Command::PsScale(args) => ps_scale::run(ctx, caller, io, args).await,
            Command::Releases(args) => releases::run(ctx, io, args).await,
            Command::Report(app, json) => every_report(ctx, caller, app, json, io).await,
            Command::ReleasesInfo(args) => releases_info::run(ctx, io, args).await,
            Command::ReleasesRollback(args) => releases_rollback::run(ctx, caller, io, args).await,
            Command::RepoPurgeCache(args) => repo_purge_cache::run(ctx, io, args).await,
            Command::Resource(args) => resource::run(ctx, io, args).await,
            Command::ResourceReport(args) => resource::report_app(ctx, io, args).await,
            Command::StorageEnsure(args) => storage_ensure::run(ctx, io, args).await,
            Command::StorageList(args) => storage_list::run(ctx, io, args).await,
            Command::StorageReport(args) => storage_list::report_app(ctx, io, args).await,
            Command::StorageMount(args) => storage_mount::run(ctx, caller, io, args).await,
            Command::Run(args) => run::run(ctx, io, args).await,
            Command::RunList(args) => run_list::run(ctx, io, args).await,
            Command::Secrets(args) => secrets::run(ctx, caller, io, args).await,
            Command::SshKeysAdd(args) => ssh_keys_add::run(ctx, io, args).await,
            Command::SshKeysList(args) => ssh_keys_list::run(ctx, io, args).await,
            Command::SshKeysRemove(args) => ssh_keys_remove::run(ctx, io, args).await,
            Command::SshKeysSessions(json) => ssh_keys_sessions::run(ctx, io, json).await,
            Command::SshKeysSetRole(args) => ssh_keys_set_role::run(ctx, io, args).await,
            Command::Urls(args, all) => urls::run(ctx, io, args, all).await,
            Command::Help(topic) => help::run(&ctx.plugins, io, topic).await,
            Command::Version => version::run(io).await,
        }
    }
}

/// Parses and runs one command line for `caller` at `source` (its address, `local` for the
/// server's CLI), printing failures Dokku-style, and records it in the audit log; returns the
/// exit status.
pub async fn execute(
    ctx: &Ctx,
    caller: &Caller,
    source: &str,
    words: &[String],
    io: &mut Io,
) -> i32 {
    let started = std::time::Instant::now();
    let mut app = None;
    // On the heap: a command's future is large (in debug builds most of all, which lay out
    // every command's side by side), and the front ends' frames are on the stack already.
    let code = Box::pin(parse_and_run(ctx, caller, words, &mut app, io)).await;
    ctx.events.record(crate::events::Event {
        time: crate::clock::now_unix(),
        kind: crate::events::Kind::Command,
        key: caller.to_string(),
        source: source.to_string(),
        command: words
            .first()
            .map_or("help".to_string(), |w| w.chars().take(64).collect()),
        app,
        status: code,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        commit: None,
    });
    code
}

/// `execute` without the audit log; `app` is set to the app the command names.
async fn parse_and_run(
    ctx: &Ctx,
    caller: &Caller,
    words: &[String],
    app: &mut Option<AppName>,
    io: &mut Io,
) -> i32 {
    let (words, result) = match output::take_report_format(words) {
        Ok((words, format)) => {
            io.report = format;
            let result = Command::parse(&words);
            (words, result)
        }
        Err(err) => (Vec::new(), Err(err)),
    };
    let result = match result {
        Ok(command) => {
            let need = command.need();
            *app = need.app().cloned();
            match access::check(ctx, caller, &need) {
                Ok(()) => run(ctx, caller, words.first(), command, io).await,
                Err(err) => Err(err),
            }
        }
        Err(CommandError::Unknown(name)) => {
            match plugin::run_plugin_command(ctx, caller, &words, io).await {
                Some(result) => result,
                None => Err(CommandError::Unknown(name)),
            }
        }
        Err(CommandError::Usage(_)) if is_bare_report(&words) => {
            every_app_report(ctx, caller, &words[0], io).await
        }
        Err(err) => match words.as_slice() {
            [help, topic] if help == "help" => {
                match help::plugin_topic(&ctx.plugins, topic, io).await {
                    true => Ok(()),
                    false => Err(err),
                }
            }
            _ => Err(err),
        },
    };
    match result {
        Ok(()) => 0,
        Err(err) => {
            report(&err, caller, io).await;
            err.exit_code()
        }
    }
}

/// Runs `command`, in a span named after the word that asked for it (`help` for none).
async fn run(
    ctx: &Ctx,
    caller: &Caller,
    name: Option<&String>,
    command: Command,
    io: &mut Io,
) -> Result<(), CommandError> {
    let name = name.map_or("help", String::as_str);
    let span = tracing::info_span!("command", command = name, caller = %caller);
    match command {
        // `report` runs the other `:report` commands through `Command::run`: started here, the
        // frame of `Command::run`'s poll (large in debug builds, which lay out every command's
        // future side by side) is on the stack once, not twice.
        Command::Report(app, json) => {
            every_report(ctx, caller, app, json, io)
                .instrument(span)
                .await
        }
        command => command.run(ctx, caller, io).instrument(span).await,
    }
}

/// `report [<app>] [--format json]`: every `:report` of the app, or of every app; in JSON
/// one object of every report's rows (for every app: one such object per app name). For one
/// app in text, the debugging sections follow (`report_app.rs`).
async fn every_report(
    ctx: &Ctx,
    caller: &Caller,
    app: Option<AppName>,
    json: bool,
    io: &mut Io,
) -> Result<(), CommandError> {
    let one = app.is_some();
    let apps = match app {
        Some(app) => {
            ctx.store.app(&app)?;
            vec![app]
        }
        None => visible_apps(ctx, caller)?,
    };
    let mut every = serde_json::Map::new();
    for app in apps {
        if json {
            io.report = output::ReportFormat::Gather(serde_json::Map::new());
        }
        for name in help::reports() {
            let command = Command::parse(&[name.to_string(), app.to_string()])?;
            // A developer key's report leaves out what only admins may see (docker options).
            if access::check(ctx, caller, &command.need()).is_err() {
                continue;
            }
            match Box::pin(command.run(ctx, caller, io)).await {
                // Destroyed since the list was taken.
                Err(CommandError::AppMissing(_)) => break,
                other => other?,
            }
        }
        if let output::ReportFormat::Gather(rows) = std::mem::take(&mut io.report) {
            every.insert(app.to_string(), rows.into());
        } else if one {
            report_app::run(ctx, &app, io).await?;
        }
    }
    if json {
        let value = match (one, every.values().next()) {
            (true, Some(rows)) => rows.clone(),
            _ => every.into(),
        };
        io.line(&value.to_string()).await;
    }
    Ok(())
}

/// Every app `caller` may see, sorted.
pub fn visible_apps(ctx: &Ctx, caller: &Caller) -> Result<Vec<AppName>, CommandError> {
    let sight = access::sight(ctx, caller)?;
    let mut apps = ctx.store.app_names();
    apps.retain(|app| sight.sees(app));
    apps.sort();
    Ok(apps)
}

/// `<plugin>:report` and nothing else, which wants an app.
fn is_bare_report(words: &[String]) -> bool {
    matches!(words, [name] if name.ends_with(":report"))
}

/// A `:report` without an app reports every app in turn, as Dokku's do; with `--format json`,
/// as one object of each app's object by its name.
async fn every_app_report(
    ctx: &Ctx,
    caller: &Caller,
    name: &str,
    io: &mut Io,
) -> Result<(), CommandError> {
    let json = matches!(io.report, output::ReportFormat::Json);
    let mut every = serde_json::Map::new();
    for app in visible_apps(ctx, caller)? {
        let words = [name.to_string(), app.to_string()];
        let command = Command::parse(&words)?;
        access::check(ctx, caller, &command.need())?;
        if json {
            io.report = output::ReportFormat::Gather(serde_json::Map::new());
        }
        match run(ctx, caller, words.first(), command, io).await {
            // Destroyed since the list was taken.
            Ok(()) | Err(CommandError::AppMissing(_)) => {}
            Err(err) => return Err(err),
        }
        if let output::ReportFormat::Gather(rows) = std::mem::take(&mut io.report) {
            every.insert(app.to_string(), rows.into());
        }
    }
    if json {
        io.line(&serde_json::Value::from(every).to_string()).await;
    }
    Ok(())
}

async fn report(err: &CommandError, caller: &Caller, io: &mut Io) {
    match err {
        CommandError::Unknown(name) => {
            io.warn(&err.to_string()).await;
            if let Some(hint) = hints::hint(name) {
                io.warn(&hint).await;
            }
            let help = match caller {
                Caller::Key(_) | Caller::Token { .. } => "ssh … help",
                Caller::Local | Caller::Watch => "berth help",
            };
            io.warn(&format!("See `{help}` for a list of available commands."))
                .await;
        }
        CommandError::Internal(message) => {
            tracing::error!(error = %message, "command failed");
            io.warn(message).await;
        }
        CommandError::Status(_) => {}
        _ => io.warn(&err.to_string()).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        shell_words::split(line).unwrap()
    }

    #[test]
    fn parses_known_commands() {
        assert!(matches!(
            Command::parse(&words("apps:create shop")),
            Ok(Command::AppsCreate(_))
        ));
        assert!(matches!(
            Command::parse(&words("apps:destroy shop --force")),
            Ok(Command::AppsDestroy(apps_destroy::Args { force: true, .. }))
        ));
        for line in ["", "help", "help --all"] {
            assert!(matches!(
                Command::parse(&words(line)),
                Ok(Command::Help(help::Topic::All))
            ));
        }
        assert!(matches!(
            Command::parse(&words("apps")),
            Ok(Command::AppsList(_))
        ));
    }

    #[test]
    fn unknown_commands_and_bad_arguments_are_refused() {
        let err = Command::parse(&words("apps:fly shop")).unwrap_err();
        assert_eq!(err.to_string(), "`apps:fly` is not a berth command.");
        let terminal_escape = Command::parse(&["x\u{1b}[2J\nfake line".into()]).unwrap_err();
        assert_eq!(
            terminal_escape.to_string(),
            "`x\\u{1b}[2J\\nfake line` is not a berth command."
        );
        let err = Command::parse(&words("apps:create")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "app name required; usage: apps:create <app>"
        );
        let err = Command::parse(&words("apps:create shop extra")).unwrap_err();
        assert!(err.to_string().starts_with("unexpected argument \"extra\""));
        let err = Command::parse(&words("apps:create Shop")).unwrap_err();
        assert!(err.to_string().starts_with("App name Shop is invalid"));
        let err = Command::parse(&words("apps:list --frmat json")).unwrap_err();
        assert!(err.to_string().starts_with("unknown flag --frmat"));
    }

    #[test]
    fn a_missing_app_exits_20() {
        let err = CommandError::from(StateError::AppMissing(AppName::parse("shop").unwrap()));
        assert_eq!(err.exit_code(), 20);
        assert_eq!(err.to_string(), "App shop does not exist");
    }
}
