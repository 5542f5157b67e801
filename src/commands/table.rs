//! The command table: one declaration per command (its name, arguments, one-line description
//! and parser), from which the router parses, `help` and `--help` print, and docs/commands.md's
//! synopsis is generated. Each parser makes one `Command` variant, and `Command::run`'s match
//! (which the compiler checks is complete) dispatches it.

use super::{
    acl, apps_clone, apps_destroy, apps_list, apps_set, argv, backup, builder, builder_dockerfile,
    buildpacks, builds, certs, checks_run, checks_set, checks_toggle, config_export, config_get,
    config_import, config_set, config_show, config_unset, cron, cron_set, docker_options, domains,
    enter, events, git_from_archive, git_from_image, git_set, help, http_auth, letsencrypt, logs,
    logs_failed, logs_set, maintenance, network, nginx, nginx_logs, nginx_validate, plugin, ports,
    proxy, ps_lifecycle, ps_rebuild, ps_report, ps_restore, ps_scale, ps_set, releases_info,
    releases_rollback, resource, run, run_list, secrets, ssh_keys_add, ssh_keys_list,
    ssh_keys_remove, ssh_keys_sessions, ssh_keys_set_role, storage_ensure, storage_list,
    storage_mount, Command, CommandError,
};
use crate::names::AppName;

/// One command: what `help` shows and how its arguments become a `Command`.
pub struct Spec {
    pub name: &'static str,
    /// Its arguments, as `help` and usage errors show them.
    pub usage: &'static str,
    /// One line: what it does.
    pub about: &'static str,
    /// Its arguments (the words after its name) parsed; called with its name.
    pub parse: fn(&'static str, &[String]) -> Result<Command, CommandError>,
}

/// Other names of listed commands (`apps` is `apps:list`, `config` is `config:show`).
pub const ALIASES: [(&str, &str); 5] = [
    ("apps", "apps:list"),
    ("config", "config:show"),
    ("--help", "help"),
    ("-h", "help"),
    ("--version", "version"),
];

/// The command `name` (or an alias of it) names.
pub fn find(name: &str) -> Option<&'static Spec> {
    let name = ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map_or(name, |(_, listed)| listed);
    COMMANDS.iter().find(|spec| spec.name == name)
}

/// `report [<app>] [--format json]`.
fn report_args(rest: &[String]) -> Result<Command, CommandError> {
    let mut argv = argv::Argv::new("report", rest);
    let json = argv.json_format("stdout")?;
    let app = argv.optional()?.map(|a| AppName::parse(&a)).transpose()?;
    argv.finish()?;
    Ok(Command::Report(app, json))
}

/// `help [<namespace>|<command>|--all]`.
fn help_args(rest: &[String]) -> Result<Command, CommandError> {
    let mut argv = argv::Argv::new("help", rest);
    let topic = argv.optional()?;
    argv.finish()?;
    Ok(Command::Help(match topic {
        Some(word) => help::Topic::parse(&word)?,
        None => help::Topic::All,
    }))
}

/// Every command, in the order `help` lists them.
pub const COMMANDS: &[Spec] = &[
    Spec {
        name: "acl:add",
        usage: "<app> <key>",
        about: "Let a developer key use the app",
        parse: |name, rest| Ok(Command::Acl(acl::Args::parse(name, rest)?)),
    },
    Spec {
        name: "acl:list",
        usage: "<app>",
        about: "List the developer keys that may use the app",
        parse: |name, rest| Ok(Command::Acl(acl::Args::parse(name, rest)?)),
    },
    Spec {
        name: "acl:remove",
        usage: "<app> <key>",
        about: "Take the app from a developer key",
        parse: |name, rest| Ok(Command::Acl(acl::Args::parse(name, rest)?)),
    },
    Spec {
        name: "acl:set",
        usage: "--global allow-create [true|false]",
        about: "Let developer keys create apps (true), or not (unset)",
        parse: |name, rest| Ok(Command::Acl(acl::Args::parse(name, rest)?)),
    },
    Spec {
        name: "apps:clone",
        usage: "[--skip-deploy] [--ignore-existing] <old> <new>",
        about: "Copy an app's settings and code to a new app, and deploy it",
        parse: |_, rest| Ok(Command::AppsClone(apps_clone::Args::parse(false, rest)?)),
    },
    Spec {
        name: "apps:create",
        usage: "<app>",
        about: "Create a new app",
        parse: |name, rest| Ok(Command::AppsCreate(argv::AppArgs::parse(name, rest)?)),
    },
    Spec {
        name: "apps:destroy",
        usage: "<app> [--force]",
        about: "Destroy an app: its containers, images, repository and state",
        parse: |_, rest| Ok(Command::AppsDestroy(apps_destroy::Args::parse(rest)?)),
    },
    Spec {
        name: "apps:exists",
        usage: "<app>",
        about: "Exit 0 if the app exists, 20 if not",
        parse: |name, rest| Ok(Command::AppsExists(argv::AppArgs::parse(name, rest)?)),
    },
    Spec {
        name: "apps:list",
        usage: "[--format stdout|json]",
        about: "List your apps",
        parse: |_, rest| Ok(Command::AppsList(apps_list::Args::parse(rest)?)),
    },
    Spec {
        name: "apps:lock",
        usage: "<app>",
        about: "Refuse every deploy of the app until unlocked",
        parse: |name, rest| Ok(Command::AppsLock(argv::AppArgs::parse(name, rest)?, true)),
    },
    Spec {
        name: "apps:rename",
        usage: "[--skip-deploy] <old> <new>",
        about: "Rename an app: its settings, code, releases and default domain",
        parse: |_, rest| Ok(Command::AppsClone(apps_clone::Args::parse(true, rest)?)),
    },
    Spec {
        name: "apps:report",
        usage: "[<app>] [--<flag>]",
        about: "Show the app's creation time, source and lock",
        parse: |name, rest| Ok(Command::AppsReport(argv::AppArgs::parse(name, rest)?)),
    },
    Spec {
        name: "apps:set",
        usage: "--global disable-autocreation [true|false]",
        about: "Refuse pushes to apps that do not exist (true), or create them (unset)",
        parse: |_, rest| Ok(Command::AppsSet(apps_set::Args::parse(rest)?)),
    },
    Spec {
        name: "apps:locked",
        usage: "<app>",
        about: "Exit 0 if the app is locked or being deployed, 1 if not",
        parse: |name, rest| Ok(Command::AppsLocked(argv::AppArgs::parse(name, rest)?)),
    },
    Spec {
        name: "apps:unlock",
        usage: "<app>",
        about: "Allow deploys again",
        parse: |name, rest| Ok(Command::AppsLock(argv::AppArgs::parse(name, rest)?, false)),
    },
    Spec {
        name: "backup:export",
        usage: "[--apps <app>,<app>] [--with-volumes]",
        about: "Write an archive of Berth (state, apps, repositories, plugins, services; storage with --with-volumes) to stdout",
        parse: |name, rest| Ok(Command::Backup(backup::Args::parse(name, rest)?)),
    },
    Spec {
        name: "backup:import",
        usage: "",
        about: "Restore an archive from stdin on a fresh host and deploy its apps again",
        parse: |name, rest| Ok(Command::Backup(backup::Args::parse(name, rest)?)),
    },
    Spec {
        name: "backup:schedule",
        usage: "[--keep N] [--with-volumes] [--apps <app>,<app>] <schedule> <dir>",
        about: "Make archives on a cron schedule (UTC) into <data_dir>/backups/<dir>, keeping the last N (7)",
        parse: |name, rest| Ok(Command::Backup(backup::Args::parse(name, rest)?)),
    },
    Spec {
        name: "backup:schedule-cat",
        usage: "",
        about: "Show the backup schedule",
        parse: |name, rest| Ok(Command::Backup(backup::Args::parse(name, rest)?)),
    },
    Spec {
        name: "backup:unschedule",
        usage: "",
        about: "Stop making scheduled archives",
        parse: |name, rest| Ok(Command::Backup(backup::Args::parse(name, rest)?)),
    },
    Spec {
        name: "builder-dockerfile:report",
        usage: "[<app>] [--<flag>]",
        about: "Show which Dockerfile builds the app",
        parse: |name, rest| Ok(Command::BuilderDockerfileReport(argv::AppArgs::parse(name, rest)?)),
    },
    Spec {
        name: "builder-dockerfile:set",
        usage: "(<app>|--global) dockerfile-path [path]",
        about: "Build from this Dockerfile (relative to the build directory; unset: Dockerfile)",
        parse: |_, rest| Ok(Command::BuilderDockerfileSet(builder_dockerfile::Args::parse(rest)?)),
    },
    Spec {
        name: "builder:report",
        usage: "[<app>] [--<flag>]",
        about: "Show which builder builds the app, and from which directory",
        parse: |name, rest| Ok(Command::BuilderReport(argv::AppArgs::parse(name, rest)?)),
    },
    Spec {
        name: "builder:set",
        usage: "(<app>|--global) selected [dockerfile|buildpacks] | <app> build-dir [subdir]",
        about: "Choose the builder (empty: auto) or the repository subdirectory to build",
        parse: |_, rest| Ok(Command::BuilderSet(builder::Args::parse(rest)?)),
    },
    Spec {
        name: "buildpacks:add",
        usage: "[--index N] <app> <name|dir|git-url[#ref]>",
        about: "Add a buildpack (bundled: python, nodejs, static, procfile)",
        parse: |name, rest| Ok(Command::Buildpacks(buildpacks::Args::parse(name, rest)?)),
    },
    Spec {
        name: "buildpacks:clear",
        usage: "<app>",
        about: "Remove all buildpacks: detect again",
        parse: |name, rest| Ok(Command::Buildpacks(buildpacks::Args::parse(name, rest)?)),
    },
    Spec {
        name: "buildpacks:list",
        usage: "<app>",
        about: "List the app's buildpacks",
        parse: |name, rest| Ok(Command::Buildpacks(buildpacks::Args::parse(name, rest)?)),
    },
    Spec {
        name: "buildpacks:remove",
        usage: "<app> (<buildpack>|--index N)",
        about: "Remove a buildpack",
        parse: |name, rest| Ok(Command::Buildpacks(buildpacks::Args::parse(name, rest)?)),
    },
    Spec {
        name: "buildpacks:report",
        usage: "[<app>] [--<flag>]",
        about: "Show the app's buildpacks and stack image",
        parse: |name, rest| Ok(Command::Buildpacks(buildpacks::Args::parse(name, rest)?)),
    },
    Spec {
        name: "buildpacks:set",
        usage: "[--index N] <app> <buildpack>",
        about: "Replace the buildpack at a position (default 1)",
        parse: |name, rest| Ok(Command::Buildpacks(buildpacks::Args::parse(name, rest)?)),
    },
    Spec {
        name: "buildpacks:set-property",
        usage: "(<app>|--global) stack [image]",
        about: "Set the stack image builds run in (empty: the default)",
        parse: |name, rest| Ok(Command::Buildpacks(buildpacks::Args::parse(name, rest)?)),
    },
    Spec {
        name: "builds:cancel",
        usage: "<app>",
        about: "Stop the app's build, running or waiting for a slot (the running release keeps serving)",
        parse: |name, rest| Ok(Command::Builds(builds::Args::parse(name, rest)?)),
    },
    Spec {
        name: "builds:list",
        usage: "[<app>] [--format stdout|json]",
        about: "List the builds running and waiting for a build slot ([build] concurrent)",
        parse: |name, rest| Ok(Command::Builds(builds::Args::parse(name, rest)?)),
    },
    Spec {
        name: "certs:add",
        usage: "<app> [server.crt server.key]",
        about: "Add a TLS certificate (a tar of server.crt and server.key on stdin)",
        parse: |name, rest| Ok(Command::Certs(certs::Args::parse(name, rest)?)),
    },
    Spec {
        name: "certs:generate",
        usage: "<app> [domain...]",
        about: "Add a self-signed certificate (default: the app's domains)",
        parse: |name, rest| Ok(Command::Certs(certs::Args::parse(name, rest)?)),
    },
    Spec {
        name: "certs:remove",
        usage: "<app>",
        about: "Remove the app's certificate",
        parse: |name, rest| Ok(Command::Certs(certs::Args::parse(name, rest)?)),
    },
    Spec {
        name: "certs:report",
        usage: "[<app>] [--<flag>]",
        about: "Show the app's certificate and HTTPS settings",
        parse: |name, rest| Ok(Command::Certs(certs::Args::parse(name, rest)?)),
    },
    Spec {
        name: "certs:set",
        usage: "<app> redirect|hsts true|false | hsts-max-age [seconds]",
        about: "HTTP→HTTPS redirect and HSTS (both on with a certificate)",
        parse: |name, rest| Ok(Command::Certs(certs::Args::parse(name, rest)?)),
    },
    Spec {
        name: "certs:show",
        usage: "<app> crt|key",
        about: "Print the app's certificate chain or private key (PEM)",
        parse: |name, rest| Ok(Command::Certs(certs::Args::parse(name, rest)?)),
    },
    Spec {
        name: "certs:update",
        usage: "<app> [server.crt server.key]",
        about: "Replace the app's certificate",
        parse: |name, rest| Ok(Command::Certs(certs::Args::parse(name, rest)?)),
    },
    Spec {
        name: "checks:disable",
        usage: "<app> [process,...]",
        about: "Stop-first deploys: stop the old release first, hold requests meanwhile",
        parse: |name, rest| Ok(Command::ChecksToggle(checks_toggle::Args::parse(name, rest)?)),
    },
    Spec {
        name: "checks:enable",
        usage: "<app> [process,...]",
        about: "Checked, zero-downtime deploys (the default)",
        parse: |name, rest| Ok(Command::ChecksToggle(checks_toggle::Args::parse(name, rest)?)),
    },
    Spec {
        name: "checks:report",
        usage: "[<app>] [--<flag>]",
        about: "Show the app's check settings",
        parse: |name, rest| Ok(Command::ChecksReport(argv::AppArgs::parse(name, rest)?)),
    },
    Spec {
        name: "checks:run",
        usage: "<app> [process]",
        about: "Run the current release's checks now",
        parse: |_, rest| Ok(Command::ChecksRun(checks_run::Args::parse(rest)?)),
    },
    Spec {
        name: "checks:set",
        usage: "(<app>|--global) wait-to-retire|liveness-probe [value]",
        about: "How long old instances keep serving after a switch; the default probe as a liveness check",
        parse: |_, rest| Ok(Command::ChecksSet(checks_set::Args::parse(rest)?)),
    },
    Spec {
        name: "checks:skip",
        usage: "<app> [process,...]",
        about: "Switch without checks",
        parse: |name, rest| Ok(Command::ChecksToggle(checks_toggle::Args::parse(name, rest)?)),
    },
    Spec {
        name: "config:clear",
        usage: "[--no-restart] (<app>|--global)",
        about: "Unset every config var (restarts the app)",
        parse: |_, rest| Ok(Command::ConfigUnset(config_unset::Args::parse_clear(rest)?)),
    },
    Spec {
        name: "config:bundle",
        usage: "[--merged] (<app>|--global)",
        about: "Write a tar of one file per config var (the envdir layout) to stdout",
        parse: |name, rest| Ok(Command::ConfigExport(config_export::Args::parse(name, rest)?)),
    },
    Spec {
        name: "config:export",
        usage: "[--format exports|shell|envfile|json|json-list|docker-args|docker-args-keys|pack-keys|pretty] [--merged] (<app>|--global)",
        about: "Print config vars for a shell, an env file, JSON, docker run or pack",
        parse: |name, rest| Ok(Command::ConfigExport(config_export::Args::parse(name, rest)?)),
    },
    Spec {
        name: "config:get",
        usage: "[--quoted] (<app>|--global) <KEY>",
        about: "Print one config var's value",
        parse: |_, rest| Ok(Command::ConfigGet(config_get::Args::parse(rest)?)),
    },
    Spec {
        name: "config:import",
        usage: "[--no-restart] [--replace] [--format envfile|exports|shell|json] (<app>|--global)",
        about: "Set the config vars read from stdin (--replace: only those), then restart",
        parse: |_, rest| Ok(Command::ConfigImport(config_import::Args::parse(rest)?)),
    },
    Spec {
        name: "config:keys",
        usage: "[--merged] (<app>|--global)",
        about: "List config var names",
        parse: |name, rest| Ok(Command::ConfigShow(config_show::Args::parse(name, rest)?)),
    },
    Spec {
        name: "config:set",
        usage: "[--no-restart] [--encoded] (<app>|--global) <KEY=VALUE>...",
        about: "Set config vars (restarts the app with them, without downtime)",
        parse: |_, rest| Ok(Command::ConfigSet(config_set::Args::parse(rest)?)),
    },
    Spec {
        name: "config:show",
        usage: "[--merged] (<app>|--global)",
        about: "Show config vars (alias: config)",
        parse: |name, rest| Ok(Command::ConfigShow(config_show::Args::parse(name, rest)?)),
    },
    Spec {
        name: "config:unset",
        usage: "[--no-restart] (<app>|--global) <KEY>...",
        about: "Unset config vars (restarts the app)",
        parse: |_, rest| Ok(Command::ConfigUnset(config_unset::Args::parse_unset(rest)?)),
    },
    Spec {
        name: "cron:list",
        usage: "<app> [--format stdout|json]",
        about: "List the app.json cron tasks",
        parse: |name, rest| Ok(Command::Cron(cron::Args::parse(name, rest)?)),
    },
    Spec {
        name: "cron:report",
        usage: "[<app>] [--<flag>]",
        about: "Show whether the app's cron tasks are in maintenance",
        parse: |name, rest| Ok(Command::CronReport(argv::AppArgs::parse(name, rest)?)),
    },
    Spec {
        name: "cron:resume",
        usage: "<app> <id>",
        about: "Let the minute loop start a suspended cron task again",
        parse: |name, rest| Ok(Command::Cron(cron::Args::parse(name, rest)?)),
    },
    Spec {
        name: "cron:run",
        usage: "[--detach] <app> <id>",
        about: "Run a cron task now (--detach: in the background; prints its name)",
        parse: |name, rest| Ok(Command::Cron(cron::Args::parse(name, rest)?)),
    },
    Spec {
        name: "cron:set",
        usage: "(<app>|--global) maintenance [true|false]",
        about: "Keep the minute loop from starting any of the app's (or every app's) cron tasks",
        parse: |_, rest| Ok(Command::CronSet(cron_set::Args::parse(rest)?)),
    },
    Spec {
        name: "cron:suspend",
        usage: "<app> <id>",
        about: "Keep the minute loop from starting a cron task until cron:resume",
        parse: |name, rest| Ok(Command::Cron(cron::Args::parse(name, rest)?)),
    },
    Spec {
        name: "docker-options:add",
        usage: "<app> <build,deploy,run> OPTION...",
        about: "Add docker options (a safe subset) to phases, from the next deploy",
        parse: |name, rest| Ok(Command::DockerOptions(docker_options::Args::parse(name, rest)?)),
    },
    Spec {
        name: "docker-options:clear",
        usage: "<app> [phases]",
        about: "Remove all docker options",
        parse: |name, rest| Ok(Command::DockerOptions(docker_options::Args::parse(name, rest)?)),
    },
    Spec {
        name: "docker-options:list",
        usage: "<app> --phase <build|deploy|run>",
        about: "Print the phase's docker options, one per line",
        parse: |name, rest| Ok(Command::DockerOptions(docker_options::Args::parse(name, rest)?)),
    },
    Spec {
        name: "docker-options:remove",
        usage: "<app> <build,deploy,run> OPTION...",
        about: "Remove docker options",
        parse: |name, rest| Ok(Command::DockerOptions(docker_options::Args::parse(name, rest)?)),
    },
    Spec {
        name: "docker-options:report",
        usage: "[<app>] [--<flag>]",
        about: "Show docker options per phase",
        parse: |name, rest| Ok(Command::DockerOptions(docker_options::Args::parse(name, rest)?)),
    },
    Spec {
        name: "domains:add",
        usage: "<app> <domain>...",
        about: "Answer on more domains (exact, or *.wildcard)",
        parse: |name, rest| Ok(Command::Domains(domains::Args::parse(name, rest)?)),
    },
    Spec {
        name: "domains:add-global",
        usage: "<domain>...",
        about: "Add global domains: apps answer on <app>.<domain>",
        parse: |name, rest| Ok(Command::Domains(domains::Args::parse(name, rest)?)),
    },
    Spec {
        name: "domains:clear",
        usage: "<app>",
        about: "Answer on no domain",
        parse: |name, rest| Ok(Command::Domains(domains::Args::parse(name, rest)?)),
    },
    Spec {
        name: "domains:clear-global",
        usage: "",
        about: "Remove every global domain",
        parse: |name, rest| Ok(Command::Domains(domains::Args::parse(name, rest)?)),
    },
    Spec {
        name: "domains:disable",
        usage: "(<app>|--all)",
        about: "Stop routing the app's domains (they stay listed)",
        parse: |name, rest| Ok(Command::Domains(domains::Args::parse(name, rest)?)),
    },
    Spec {
        name: "domains:enable",
        usage: "(<app>|--all)",
        about: "Route the app's domains again",
        parse: |name, rest| Ok(Command::Domains(domains::Args::parse(name, rest)?)),
    },
    Spec {
        name: "domains:remove",
        usage: "<app> <domain>...",
        about: "Stop answering on domains",
        parse: |name, rest| Ok(Command::Domains(domains::Args::parse(name, rest)?)),
    },
    Spec {
        name: "domains:remove-global",
        usage: "<domain>...",
        about: "Remove global domains",
        parse: |name, rest| Ok(Command::Domains(domains::Args::parse(name, rest)?)),
    },
    Spec {
        name: "domains:report",
        usage: "[<app>|--global] [--<flag>]",
        about: "Show the app's (or the global) domains",
        parse: |name, rest| Ok(Command::Domains(domains::Args::parse(name, rest)?)),
    },
    Spec {
        name: "domains:reset",
        usage: "<app>",
        about: "Back to the default: <app>.<global domain>",
        parse: |name, rest| Ok(Command::Domains(domains::Args::parse(name, rest)?)),
    },
    Spec {
        name: "domains:set",
        usage: "<app> <domain>...",
        about: "Replace the app's domains",
        parse: |name, rest| Ok(Command::Domains(domains::Args::parse(name, rest)?)),
    },
    Spec {
        name: "domains:set-global",
        usage: "<domain>...",
        about: "Replace the global domains",
        parse: |name, rest| Ok(Command::Domains(domains::Args::parse(name, rest)?)),
    },
    Spec {
        name: "enter",
        usage: "<app> [process[.N]|--container-id ID] [command...]",
        about: "Run a command (a shell by default) in a running container; use ssh -t",
        parse: |_, rest| Ok(Command::Enter(enter::Args::parse(rest)?)),
    },
    Spec {
        name: "events",
        usage: "[-n N] [-t]",
        about: "Show the audit log's latest events (-t: and follow new ones)",
        parse: |name, rest| Ok(Command::Events(events::Args::parse(name, rest)?)),
    },
    Spec {
        name: "events:list",
        usage: "",
        about: "List the kinds of events the audit log records",
        parse: |name, rest| Ok(Command::Events(events::Args::parse(name, rest)?)),
    },
    Spec {
        name: "events:off",
        usage: "",
        about: "Refused: the audit log is always on (Dokku's name)",
        parse: |name, rest| Ok(Command::Events(events::Args::parse(name, rest)?)),
    },
    Spec {
        name: "events:on",
        usage: "",
        about: "The audit log is always on (Dokku's name)",
        parse: |name, rest| Ok(Command::Events(events::Args::parse(name, rest)?)),
    },
    Spec {
        name: "git:from-archive",
        usage: "[--archive-type tar|tar.gz|zip] [--no-wait] <app> -- [<user> <email>]",
        about: "Deploy the code in a tar, tar.gz or zip on stdin, committed to the deploy branch",
        parse: |_, rest| Ok(Command::GitFromArchive(git_from_archive::Args::parse(rest)?)),
    },
    Spec {
        name: "git:from-image",
        usage: "<app> <image> [--no-wait]",
        about: "Deploy a prebuilt image",
        parse: |name, rest| Ok(Command::GitFromImage(git_from_image::Args::parse(name, rest)?)),
    },
    Spec {
        name: "git:load-image",
        usage: "<app> <image> [--no-wait]",
        about: "Deploy an image from a `docker save` tar on stdin (no registry needed)",
        parse: |name, rest| Ok(Command::GitFromImage(git_from_image::Args::parse(name, rest)?)),
    },
    Spec {
        name: "git:report",
        usage: "[<app>] [--<flag>]",
        about: "Show the deploy branch, the revision variable and the deployed commit",
        parse: |name, rest| Ok(Command::GitReport(argv::AppArgs::parse(name, rest)?)),
    },
    Spec {
        name: "git:set",
        usage: "(<app>|--global) deploy-branch|rev-env-var [<value>]",
        about: "Deploy pushes to this branch only; name the variable holding the commit",
        parse: |_, rest| Ok(Command::GitSet(git_set::Args::parse(rest)?)),
    },
    Spec {
        name: "http-auth:add-allowed-ip",
        usage: "<app> <ip[/prefix]>",
        about: "Let an address or network in without credentials",
        parse: |name, rest| Ok(Command::HttpAuth(http_auth::Args::parse(name, rest)?)),
    },
    Spec {
        name: "http-auth:add-user",
        usage: "<app> <user> <password>",
        about: "Add a basic auth user (the password is stored hashed)",
        parse: |name, rest| Ok(Command::HttpAuth(http_auth::Args::parse(name, rest)?)),
    },
    Spec {
        name: "http-auth:disable",
        usage: "<app>",
        about: "Turn basic auth off",
        parse: |name, rest| Ok(Command::HttpAuth(http_auth::Args::parse(name, rest)?)),
    },
    Spec {
        name: "http-auth:enable",
        usage: "<app> [<user> <password>]",
        about: "Require basic auth for every request to the app",
        parse: |name, rest| Ok(Command::HttpAuth(http_auth::Args::parse(name, rest)?)),
    },
    Spec {
        name: "http-auth:remove-allowed-ip",
        usage: "<app> <ip[/prefix]>",
        about: "Remove an allowed address",
        parse: |name, rest| Ok(Command::HttpAuth(http_auth::Args::parse(name, rest)?)),
    },
    Spec {
        name: "http-auth:remove-user",
        usage: "<app> <user>",
        about: "Remove a basic auth user",
        parse: |name, rest| Ok(Command::HttpAuth(http_auth::Args::parse(name, rest)?)),
    },
    Spec {
        name: "http-auth:report",
        usage: "[<app>] [--<flag>]",
        about: "Show basic auth settings",
        parse: |name, rest| Ok(Command::HttpAuth(http_auth::Args::parse(name, rest)?)),
    },
    Spec {
        name: "letsencrypt:active",
        usage: "<app>",
        about: "Print true when the app has a certificate from Let's Encrypt",
        parse: |name, rest| Ok(Command::Letsencrypt(letsencrypt::Args::parse(name, rest)?)),
    },
    Spec {
        name: "letsencrypt:auto-renew",
        usage: "[<app>]",
        about: "Renew certificates due for renewal now (the daemon also does it)",
        parse: |name, rest| Ok(Command::Letsencrypt(letsencrypt::Args::parse(name, rest)?)),
    },
    Spec {
        name: "letsencrypt:cleanup",
        usage: "<app>",
        about: "Nothing to do: Berth keeps only the current certificate (dokku-letsencrypt's name)",
        parse: |name, rest| Ok(Command::Letsencrypt(letsencrypt::Args::parse(name, rest)?)),
    },
    Spec {
        name: "letsencrypt:cron-job",
        usage: "--add|--remove",
        about: "Nothing to add: the daemon renews certificates itself (dokku-letsencrypt's name)",
        parse: |name, rest| Ok(Command::Letsencrypt(letsencrypt::Args::parse(name, rest)?)),
    },
    Spec {
        name: "letsencrypt:disable",
        usage: "<app>",
        about: "Stop Let's Encrypt for the app and remove its certificate",
        parse: |name, rest| Ok(Command::Letsencrypt(letsencrypt::Args::parse(name, rest)?)),
    },
    Spec {
        name: "letsencrypt:enable",
        usage: "<app>",
        about: "Get a certificate by ACME (HTTP-01 via Berth's proxy) and keep it renewed",
        parse: |name, rest| Ok(Command::Letsencrypt(letsencrypt::Args::parse(name, rest)?)),
    },
    Spec {
        name: "letsencrypt:list",
        usage: "",
        about: "List apps with Let's Encrypt and when their certificates expire",
        parse: |name, rest| Ok(Command::Letsencrypt(letsencrypt::Args::parse(name, rest)?)),
    },
    Spec {
        name: "letsencrypt:revoke",
        usage: "<app>",
        about: "Revoke the app's certificate at the CA, remove it and stop renewing",
        parse: |name, rest| Ok(Command::Letsencrypt(letsencrypt::Args::parse(name, rest)?)),
    },
    Spec {
        name: "letsencrypt:set",
        usage: "(<app>|--global) email|server|graceperiod [value]",
        about: "Set the ACME contact, directory (production, staging, URL) or renewal window",
        parse: |name, rest| Ok(Command::Letsencrypt(letsencrypt::Args::parse(name, rest)?)),
    },
    Spec {
        name: "logs",
        usage: "<app> [-n N] [-t|--tail] [-p process] [-q|--quiet]",
        about: "Show the app's output; -t follows it",
        parse: |_, rest| Ok(Command::Logs(logs::Args::parse(rest)?)),
    },
    Spec {
        name: "logs:failed",
        usage: "(<app>|--all)",
        about: "Show why the last failed deploy failed and what its container printed",
        parse: |_, rest| Ok(Command::LogsFailed(logs_failed::Args::parse(rest)?)),
    },
    Spec {
        name: "logs:report",
        usage: "[<app>] [--<flag>]",
        about: "Show how large the app's container logs may grow",
        parse: |name, rest| Ok(Command::LogsReport(argv::AppArgs::parse(name, rest)?)),
    },
    Spec {
        name: "logs:set",
        usage: "(<app>|--global) max-size [<size>|unlimited]",
        about: "Cap each container's log (default 10m; Docker rotates it)",
        parse: |_, rest| Ok(Command::LogsSet(logs_set::Args::parse(rest)?)),
    },
    Spec {
        name: "maintenance:custom-page",
        usage: "<app>",
        about: "Set the maintenance page from stdin (a tar with maintenance.html, or HTML)",
        parse: |name, rest| Ok(Command::Maintenance(maintenance::Args::parse(name, rest)?)),
    },
    Spec {
        name: "maintenance:off",
        usage: "<app>",
        about: "Serve the app again after maintenance:on",
        parse: |name, rest| Ok(Command::Maintenance(maintenance::Args::parse(name, rest)?)),
    },
    Spec {
        name: "maintenance:on",
        usage: "<app>",
        about: "Answer every request with a 503 maintenance page (the app keeps running)",
        parse: |name, rest| Ok(Command::Maintenance(maintenance::Args::parse(name, rest)?)),
    },
    Spec {
        name: "maintenance:report",
        usage: "[<app>] [--<flag>]",
        about: "Show whether the app is in maintenance mode",
        parse: |name, rest| Ok(Command::Maintenance(maintenance::Args::parse(name, rest)?)),
    },
    Spec {
        name: "nginx:access-logs",
        usage: "<app> [-t|--tail]",
        about: "Show the app's latest proxy access log lines; -t follows new ones",
        parse: |name, rest| Ok(Command::NginxLogs(nginx_logs::Args::parse(name, rest)?)),
    },
    Spec {
        name: "nginx:error-logs",
        usage: "<app> [-t|--tail]",
        about: "Show why the proxy failed the app's latest requests; -t follows new ones",
        parse: |name, rest| Ok(Command::NginxLogs(nginx_logs::Args::parse(name, rest)?)),
    },
    Spec {
        name: "nginx:reload",
        usage: "",
        about: "Accepted: Berth's proxy applies every change at once",
        parse: |name, rest| Ok(Command::NginxValidate(nginx_validate::Args::parse(name, rest)?)),
    },
    Spec {
        name: "nginx:report",
        usage: "[<app>] [--<flag>]",
        about: "Show the app's proxy limits: its own, the global ones and what applies",
        parse: |name, rest| Ok(Command::Nginx(nginx::Args::parse(name, rest)?)),
    },
    Spec {
        name: "nginx:set",
        usage: "(<app>|--global) <property> [value]",
        about: "Set client-max-body-size, proxy-read-timeout, client-body-timeout, send-timeout, x-forwarded-{for,proto,port}-value, x-forwarded-ssl, underscore-in-headers, hsts…, {access,error}-log-path off",
        parse: |name, rest| Ok(Command::Nginx(nginx::Args::parse(name, rest)?)),
    },
    Spec {
        name: "nginx:show-config",
        usage: "<app>",
        about: "Show what the proxy does for the app now: hosts, instances, policy",
        parse: |name, rest| Ok(Command::NginxShow(argv::AppArgs::parse(name, rest)?)),
    },
    Spec {
        name: "nginx:start",
        usage: "",
        about: "Accepted: Berth's proxy runs with the daemon",
        parse: |name, rest| Ok(Command::NginxValidate(nginx_validate::Args::parse(name, rest)?)),
    },
    Spec {
        name: "nginx:stop",
        usage: "",
        about: "Refused: the proxy stops with the daemon (proxy:disable takes one app off)",
        parse: |name, rest| Ok(Command::NginxValidate(nginx_validate::Args::parse(name, rest)?)),
    },
    Spec {
        name: "nginx:validate-config",
        usage: "[<app>] [--clean]",
        about: "Name stored nginx:set values the proxy cannot read (and ignores); --clean unsets them",
        parse: |name, rest| Ok(Command::NginxValidate(nginx_validate::Args::parse(name, rest)?)),
    },
    Spec {
        name: "network:create",
        usage: "<network>",
        about: "Create a bridge network apps can join",
        parse: |name, rest| Ok(Command::Network(network::Args::parse(name, rest)?)),
    },
    Spec {
        name: "network:destroy",
        usage: "<network> [--force]",
        about: "Remove a network (refused while apps use it, unless --force detaches them)",
        parse: |name, rest| Ok(Command::Network(network::Args::parse(name, rest)?)),
    },
    Spec {
        name: "network:exists",
        usage: "<network>",
        about: "Exit 0 if the network exists, 1 if not",
        parse: |name, rest| Ok(Command::Network(network::Args::parse(name, rest)?)),
    },
    Spec {
        name: "network:info",
        usage: "<network> [--format text|json]",
        about: "Show a network, the apps set to it and its containers",
        parse: |name, rest| Ok(Command::Network(network::Args::parse(name, rest)?)),
    },
    Spec {
        name: "network:list",
        usage: "[--format text|json]",
        about: "List the Docker networks",
        parse: |name, rest| Ok(Command::Network(network::Args::parse(name, rest)?)),
    },
    Spec {
        name: "network:report",
        usage: "[<app>] [--<flag>]",
        about: "Show the app's networks and the addresses its web instances listen on",
        parse: |name, rest| Ok(Command::Network(network::Args::parse(name, rest)?)),
    },
    Spec {
        name: "network:set",
        usage: "<app> initial-network|attach-post-create|attach-post-deploy [<network>...]",
        about: "Set the networks the app's containers join (none: unset)",
        parse: |name, rest| Ok(Command::Network(network::Args::parse(name, rest)?)),
    },
    Spec {
        name: "plugin:disable",
        usage: "<name>",
        about: "Disable a plugin: its commands become unknown",
        parse: |name, rest| Ok(Command::Plugin(plugin::Args::parse(name, rest)?)),
    },
    Spec {
        name: "plugin:enable",
        usage: "<name>",
        about: "Enable a disabled plugin",
        parse: |name, rest| Ok(Command::Plugin(plugin::Args::parse(name, rest)?)),
    },
    Spec {
        name: "plugin:install",
        usage: "<path|git-url> [--name NAME]",
        about: "Install a plugin from a directory on the server or a git URL",
        parse: |name, rest| Ok(Command::Plugin(plugin::Args::parse(name, rest)?)),
    },
    Spec {
        name: "plugin:installed",
        usage: "<name>",
        about: "Exit 0 if the plugin is installed, 1 if not",
        parse: |name, rest| Ok(Command::Plugin(plugin::Args::parse(name, rest)?)),
    },
    Spec {
        name: "plugin:list",
        usage: "",
        about: "List installed plugins with their version and state",
        parse: |name, rest| Ok(Command::Plugin(plugin::Args::parse(name, rest)?)),
    },
    Spec {
        name: "plugin:trigger",
        usage: "<trigger> [<args>...]",
        about: "Run one trigger of every enabled plugin by hand (to debug a plugin)",
        parse: |name, rest| Ok(Command::Plugin(plugin::Args::parse(name, rest)?)),
    },
    Spec {
        name: "plugin:uninstall",
        usage: "<name>",
        about: "Remove a plugin",
        parse: |name, rest| Ok(Command::Plugin(plugin::Args::parse(name, rest)?)),
    },
    Spec {
        name: "plugin:update",
        usage: "<name> [<ref>]",
        about: "Install a plugin again from where it came (a git URL: at REF)",
        parse: |name, rest| Ok(Command::Plugin(plugin::Args::parse(name, rest)?)),
    },
    Spec {
        name: "ports:add",
        usage: "<app> <scheme:host-port:container-port>...",
        about: "Map http:80 or https:443 to the port the app listens on (restarts it)",
        parse: |name, rest| Ok(Command::Ports(ports::Args::parse(name, rest)?)),
    },
    Spec {
        name: "ports:clear",
        usage: "<app>",
        about: "Back to the default mapping (restarts the app)",
        parse: |name, rest| Ok(Command::Ports(ports::Args::parse(name, rest)?)),
    },
    Spec {
        name: "ports:list",
        usage: "<app>",
        about: "List the app's port mappings",
        parse: |name, rest| Ok(Command::Ports(ports::Args::parse(name, rest)?)),
    },
    Spec {
        name: "ports:remove",
        usage: "<app> (<scheme:host-port:container-port>|<host-port>)...",
        about: "Remove port mappings, or every mapping of a host port",
        parse: |name, rest| Ok(Command::Ports(ports::Args::parse(name, rest)?)),
    },
    Spec {
        name: "ports:report",
        usage: "[<app>] [--<flag>]",
        about: "Show the app's port mappings",
        parse: |name, rest| Ok(Command::Ports(ports::Args::parse(name, rest)?)),
    },
    Spec {
        name: "ports:set",
        usage: "<app> <scheme:host-port:container-port>...",
        about: "Replace the app's port mappings (restarts the app)",
        parse: |name, rest| Ok(Command::Ports(ports::Args::parse(name, rest)?)),
    },
    Spec {
        name: "proxy:build-config",
        usage: "[--parallel N] [--all|<app>]",
        about: "Nothing to build: the proxy applies every change at once (Dokku's name)",
        parse: |name, rest| Ok(Command::Proxy(proxy::Args::parse(name, rest)?)),
    },
    Spec {
        name: "proxy:clear-config",
        usage: "[--parallel N] [--all|<app>]",
        about: "Nothing to clear: the proxy keeps no config files (Dokku's name)",
        parse: |name, rest| Ok(Command::Proxy(proxy::Args::parse(name, rest)?)),
    },
    Spec {
        name: "proxy:disable",
        usage: "[--parallel N] (--all|<app>)",
        about: "Take the app off the proxy: no host routed, no mapped port listened on",
        parse: |name, rest| Ok(Command::Proxy(proxy::Args::parse(name, rest)?)),
    },
    Spec {
        name: "proxy:enable",
        usage: "[--parallel N] (--all|<app>)",
        about: "Put the app back on the proxy",
        parse: |name, rest| Ok(Command::Proxy(proxy::Args::parse(name, rest)?)),
    },
    Spec {
        name: "proxy:report",
        usage: "[<app>] [--<flag>]",
        about: "Show whether the proxy serves the app",
        parse: |name, rest| Ok(Command::Proxy(proxy::Args::parse(name, rest)?)),
    },
    Spec {
        name: "proxy:set",
        usage: "(<app>|--global) type [berth]",
        about: "Accepted for Dokku's scripts: the proxy is built in, its type is berth",
        parse: |name, rest| Ok(Command::Proxy(proxy::Args::parse(name, rest)?)),
    },
    Spec {
        name: "ps:inspect",
        usage: "<app>",
        about: "Show docker inspect of the app's containers",
        parse: |name, rest| Ok(Command::PsInspect(argv::AppArgs::parse(name, rest)?)),
    },
    Spec {
        name: "ps:rebuild",
        usage: "(--all|<app>) [--no-wait]",
        about: "Build the deploy branch again and deploy it",
        parse: |_, rest| Ok(Command::PsRebuild(ps_rebuild::Args::parse(rest)?)),
    },
    Spec {
        name: "ps:report",
        usage: "[<app>] [--format stdout|json] [--<flag>]",
        about: "Show the app's processes and whether they run",
        parse: |_, rest| Ok(Command::PsReport(ps_report::Args::parse(rest)?)),
    },
    Spec {
        name: "ps:restart",
        usage: "(--all|<app>) [<process>] [--no-wait]",
        about: "Restart the app (or one process type) in fresh containers, checked, without downtime",
        parse: |name, rest| Ok(Command::PsLifecycle(ps_lifecycle::Args::parse(name, rest)?)),
    },
    Spec {
        name: "ps:restore",
        usage: "[<app>]",
        about: "Start apps that should run but have no running container",
        parse: |_, rest| Ok(Command::PsRestore(ps_restore::Args::parse(rest)?)),
    },
    Spec {
        name: "ps:scale",
        usage: "[--no-wait] [--skip-deploy] [--format stdout|json] <app> [<process>=<N>...]",
        about: "Show or set how many instances of each process run",
        parse: |_, rest| Ok(Command::PsScale(ps_scale::Args::parse(rest)?)),
    },
    Spec {
        name: "ps:set",
        usage: "<app> restart-policy|stop-timeout-seconds|procfile-path [<value>]",
        about: "Set the restart policy, the stop timeout or where the Procfile is",
        parse: |_, rest| Ok(Command::PsSet(ps_set::Args::parse(rest)?)),
    },
    Spec {
        name: "ps:start",
        usage: "(--all|<app>) [--no-wait]",
        about: "Start a stopped app",
        parse: |name, rest| Ok(Command::PsLifecycle(ps_lifecycle::Args::parse(name, rest)?)),
    },
    Spec {
        name: "ps:stop",
        usage: "(--all|<app>) [--no-wait]",
        about: "Stop every container of the app (it answers 502 until ps:start)",
        parse: |name, rest| Ok(Command::PsLifecycle(ps_lifecycle::Args::parse(name, rest)?)),
    },
    Spec {
        name: "releases",
        usage: "<app>",
        about: "List the app's releases, newest first",
        parse: |name, rest| Ok(Command::Releases(argv::AppArgs::parse(name, rest)?)),
    },
    Spec {
        name: "releases:info",
        usage: "<app> <vN>",
        about: "Show one release",
        parse: |_, rest| Ok(Command::ReleasesInfo(releases_info::Args::parse(rest)?)),
    },
    Spec {
        name: "releases:rollback",
        usage: "<app> [vN] [--no-wait]",
        about: "Deploy an earlier release's image and config again (default: the previous one)",
        parse: |_, rest| Ok(Command::ReleasesRollback(releases_rollback::Args::parse(rest)?)),
    },
    Spec {
        name: "repo:purge-cache",
        usage: "<app>",
        about: "Empty the app's build cache; the next build starts cold",
        parse: |name, rest| Ok(Command::RepoPurgeCache(argv::AppArgs::parse(name, rest)?)),
    },
    Spec {
        name: "report",
        usage: "[<app>] [--format stdout|json]",
        about: "Every :report of the app (of every app without one)",
        parse: |_, rest| report_args(rest),
    },
    Spec {
        name: "resource:limit",
        usage: "[--memory SIZE] [--cpu N] [--process-type P] <app>",
        about: "Cap memory and CPU (from the next deploy)",
        parse: |name, rest| Ok(Command::Resource(resource::Args::parse(name, rest)?)),
    },
    Spec {
        name: "resource:limit-clear",
        usage: "[--process-type P] <app>",
        about: "Remove the memory and CPU caps (from the next deploy)",
        parse: |name, rest| Ok(Command::Resource(resource::Args::parse(name, rest)?)),
    },
    Spec {
        name: "resource:report",
        usage: "[<app>] [--<flag>]",
        about: "Show resource limits and reservations",
        parse: |name, rest| Ok(Command::ResourceReport(argv::AppArgs::parse(name, rest)?)),
    },
    Spec {
        name: "resource:reserve",
        usage: "[--memory SIZE] [--cpu N] [--process-type P] <app>",
        about: "Reserve memory and CPU weight (from the next deploy)",
        parse: |name, rest| Ok(Command::Resource(resource::Args::parse(name, rest)?)),
    },
    Spec {
        name: "resource:reserve-clear",
        usage: "[--process-type P] <app>",
        about: "Remove the reservations (from the next deploy)",
        parse: |name, rest| Ok(Command::Resource(resource::Args::parse(name, rest)?)),
    },
    Spec {
        name: "run",
        usage: "[-e|--env KEY=VALUE]... [--no-tty] [--ttl-seconds N] <app> <command...>",
        about: "Run a one-off command in a new container of the app; its exit status comes back",
        parse: |name, rest| Ok(Command::Run(run::Args::parse(name, rest)?)),
    },
    Spec {
        name: "run:detached",
        usage: "[-e|--env KEY=VALUE]... [--ttl-seconds N] <app> <command...>",
        about: "Start a one-off container that runs on its own; prints its name",
        parse: |name, rest| Ok(Command::Run(run::Args::parse(name, rest)?)),
    },
    Spec {
        name: "run:list",
        usage: "<app> [--format stdout|json]",
        about: "List the app's running one-off containers",
        parse: |name, rest| Ok(Command::RunList(run_list::Args::parse(name, rest)?)),
    },
    Spec {
        name: "run:logs",
        usage: "(<app>|--container NAME) [-n N] [-t|--tail] [-q|--quiet]",
        about: "Show (-t: follow) the output of the app's one-off containers, or of one",
        parse: |name, rest| Ok(Command::RunList(run_list::Args::parse(name, rest)?)),
    },
    Spec {
        name: "run:stop",
        usage: "(<app>|--container NAME)",
        about: "Stop the app's one-off containers, or one",
        parse: |name, rest| Ok(Command::RunList(run_list::Args::parse(name, rest)?)),
    },
    Spec {
        name: "secrets:list",
        usage: "<app>",
        about: "List the app's secrets: names and change times, never values",
        parse: |name, rest| Ok(Command::Secrets(secrets::Args::parse(name, rest)?)),
    },
    Spec {
        name: "secrets:set",
        usage: "[--no-restart] <app> <name> < value",
        about: "Set a secret, a file at /run/secrets/<name> in the app's containers",
        parse: |name, rest| Ok(Command::Secrets(secrets::Args::parse(name, rest)?)),
    },
    Spec {
        name: "secrets:unset",
        usage: "[--no-restart] <app> <name>",
        about: "Remove a secret from the app's containers",
        parse: |name, rest| Ok(Command::Secrets(secrets::Args::parse(name, rest)?)),
    },
    Spec {
        name: "ssh-keys:add",
        usage: "<name> [--role admin|developer] < key.pub",
        about: "Allow a public key to push and run commands (an admin unless --role)",
        parse: |_, rest| Ok(Command::SshKeysAdd(ssh_keys_add::Args::parse(rest)?)),
    },
    Spec {
        name: "ssh-keys:list",
        usage: "[--format text|json]",
        about: "List the allowed keys",
        parse: |_, rest| Ok(Command::SshKeysList(ssh_keys_list::Args::parse(rest)?)),
    },
    Spec {
        name: "ssh-keys:remove",
        usage: "<name>",
        about: "Remove a key by name, and its grants",
        parse: |_, rest| Ok(Command::SshKeysRemove(ssh_keys_remove::Args::parse(rest)?)),
    },
    Spec {
        name: "ssh-keys:sessions",
        usage: "",
        about: "List the SSH commands and pushes running now, by key",
        parse: |_, rest| {
            ssh_keys_sessions::parse(rest)?;
            Ok(Command::SshKeysSessions)
        },
    },
    Spec {
        name: "ssh-keys:set-role",
        usage: "<name> admin|developer",
        about: "Change what a key may do",
        parse: |_, rest| Ok(Command::SshKeysSetRole(ssh_keys_set_role::parse(rest)?)),
    },
    Spec {
        name: "storage:ensure-directory",
        usage: "<name>",
        about: "Create <data_dir>/storage/<name> for apps to mount",
        parse: |_, rest| Ok(Command::StorageEnsure(storage_ensure::Args::parse(rest)?)),
    },
    Spec {
        name: "storage:list",
        usage: "<app> [--format text|json]",
        about: "List the app's mounts",
        parse: |_, rest| Ok(Command::StorageList(storage_list::Args::parse(rest)?)),
    },
    Spec {
        name: "storage:report",
        usage: "[<app>] [--<flag>]",
        about: "Show the app's mounts per phase",
        parse: |name, rest| Ok(Command::StorageReport(argv::AppArgs::parse(name, rest)?)),
    },
    Spec {
        name: "storage:mount",
        usage: "<app> <host-dir|volume>:<container-dir>",
        about: "Mount a directory into every instance (from the next deploy)",
        parse: |_, rest| Ok(Command::StorageMount(storage_mount::Args::parse(true, rest)?)),
    },
    Spec {
        name: "storage:unmount",
        usage: "<app> <host-dir|volume>:<container-dir>",
        about: "Remove a mount (from the next deploy)",
        parse: |_, rest| Ok(Command::StorageMount(storage_mount::Args::parse(false, rest)?)),
    },
    Spec {
        name: "url",
        usage: "<app>",
        about: "Print the app's first URL",
        parse: |name, rest| Ok(Command::Urls(argv::AppArgs::parse(name, rest)?, false)),
    },
    Spec {
        name: "urls",
        usage: "<app>",
        about: "Print every URL the app answers on (domains, ports, https)",
        parse: |name, rest| Ok(Command::Urls(argv::AppArgs::parse(name, rest)?, true)),
    },
    Spec {
        name: "help",
        usage: "",
        about: "Print this list",
        parse: |_, rest| help_args(rest),
    },
    Spec {
        name: "version",
        usage: "",
        about: "Print Berth's version",
        parse: |_, _| Ok(Command::Version),
    },
];
