//! `help`: every command with its arguments, and the usage line errors quote.

use super::{CommandError, Io};

/// Every command: name, arguments, one-line description. `help` prints this table.
const COMMANDS: &[(&str, &str, &str)] = &[
    (
        "apps:clone",
        "[--skip-deploy] [--ignore-existing] <old> <new>",
        "Copy an app's settings and code to a new app, and deploy it",
    ),
    ("apps:create", "<app>", "Create a new app"),
    (
        "apps:destroy",
        "<app> [--force]",
        "Destroy an app: its containers, images, repository and state",
    ),
    (
        "apps:exists",
        "<app>",
        "Exit 0 if the app exists, 20 if not",
    ),
    ("apps:list", "[--format stdout|json]", "List your apps"),
    (
        "apps:lock",
        "<app>",
        "Refuse every deploy of the app until unlocked",
    ),
    (
        "apps:rename",
        "[--skip-deploy] <old> <new>",
        "Rename an app: its settings, code, releases and default domain",
    ),
    (
        "apps:report",
        "[<app>] [--<flag>]",
        "Show the app's creation time, source and lock",
    ),
    (
        "apps:set",
        "--global disable-autocreation [true|false]",
        "Refuse pushes to apps that do not exist (true), or create them (unset)",
    ),
    (
        "apps:locked",
        "<app>",
        "Exit 0 if the app is locked or being deployed, 1 if not",
    ),
    ("apps:unlock", "<app>", "Allow deploys again"),
    (
        "builder-dockerfile:report",
        "[<app>] [--<flag>]",
        "Show which Dockerfile builds the app",
    ),
    (
        "builder-dockerfile:set",
        "(<app>|--global) dockerfile-path [path]",
        "Build from this Dockerfile (relative to the build directory; unset: Dockerfile)",
    ),
    (
        "builder:report",
        "[<app>] [--<flag>]",
        "Show which builder builds the app, and from which directory",
    ),
    (
        "builder:set",
        "(<app>|--global) selected [dockerfile|buildpacks] | <app> build-dir [subdir]",
        "Choose the builder (empty: auto) or the repository subdirectory to build",
    ),
    (
        "buildpacks:add",
        "[--index N] <app> <name|dir|git-url[#ref]>",
        "Add a buildpack (bundled: python, nodejs, static, procfile)",
    ),
    (
        "buildpacks:clear",
        "<app>",
        "Remove all buildpacks: detect again",
    ),
    ("buildpacks:list", "<app>", "List the app's buildpacks"),
    (
        "buildpacks:remove",
        "<app> (<buildpack>|--index N)",
        "Remove a buildpack",
    ),
    (
        "buildpacks:report",
        "[<app>] [--<flag>]",
        "Show the app's buildpacks and stack image",
    ),
    (
        "buildpacks:set",
        "[--index N] <app> <buildpack>",
        "Replace the buildpack at a position (default 1)",
    ),
    (
        "buildpacks:set-property",
        "(<app>|--global) stack [image]",
        "Set the stack image builds run in (empty: the default)",
    ),
    (
        "builds:cancel",
        "<app>",
        "Stop the app's build, running or waiting for a slot (the running release keeps serving)",
    ),
    (
        "builds:list",
        "[<app>] [--format stdout|json]",
        "List the builds running and waiting for a build slot ([build] concurrent)",
    ),
    (
        "certs:add",
        "<app> [server.crt server.key]",
        "Add a TLS certificate (a tar of server.crt and server.key on stdin)",
    ),
    (
        "certs:generate",
        "<app> [domain...]",
        "Add a self-signed certificate (default: the app's domains)",
    ),
    ("certs:remove", "<app>", "Remove the app's certificate"),
    (
        "certs:report",
        "[<app>] [--<flag>]",
        "Show the app's certificate and HTTPS settings",
    ),
    (
        "certs:set",
        "<app> redirect|hsts true|false | hsts-max-age [seconds]",
        "HTTP→HTTPS redirect and HSTS (both on with a certificate)",
    ),
    (
        "certs:show",
        "<app> crt|key",
        "Print the app's certificate chain or private key (PEM)",
    ),
    (
        "certs:update",
        "<app> [server.crt server.key]",
        "Replace the app's certificate",
    ),
    (
        "checks:disable",
        "<app> [process,...]",
        "Stop-first deploys: stop the old release first, hold requests meanwhile",
    ),
    (
        "checks:enable",
        "<app> [process,...]",
        "Checked, zero-downtime deploys (the default)",
    ),
    (
        "checks:report",
        "[<app>] [--<flag>]",
        "Show the app's check settings",
    ),
    (
        "checks:run",
        "<app> [process]",
        "Run the current release's checks now",
    ),
    (
        "checks:set",
        "(<app>|--global) wait-to-retire [seconds]",
        "How long old instances keep serving after a switch",
    ),
    (
        "checks:skip",
        "<app> [process,...]",
        "Switch without checks",
    ),
    (
        "config:clear",
        "[--no-restart] (<app>|--global)",
        "Unset every config var (restarts the app)",
    ),
    (
        "config:bundle",
        "[--merged] (<app>|--global)",
        "Write a tar of one file per config var (the envdir layout) to stdout",
    ),
    (
        "config:export",
        "[--format exports|shell|envfile|json|json-list|docker-args|docker-args-keys|pack-keys|pretty] [--merged] (<app>|--global)",
        "Print config vars for a shell, an env file, JSON, docker run or pack",
    ),
    (
        "config:get",
        "[--quoted] (<app>|--global) <KEY>",
        "Print one config var's value",
    ),
    (
        "config:import",
        "[--no-restart] [--replace] [--format envfile|exports|shell|json] (<app>|--global)",
        "Set the config vars read from stdin (--replace: only those), then restart",
    ),
    (
        "config:keys",
        "[--merged] (<app>|--global)",
        "List config var names",
    ),
    (
        "config:set",
        "[--no-restart] [--encoded] (<app>|--global) <KEY=VALUE>...",
        "Set config vars (restarts the app with them, without downtime)",
    ),
    (
        "config:show",
        "[--merged] (<app>|--global)",
        "Show config vars (alias: config)",
    ),
    (
        "config:unset",
        "[--no-restart] (<app>|--global) <KEY>...",
        "Unset config vars (restarts the app)",
    ),
    (
        "cron:list",
        "<app> [--format stdout|json]",
        "List the app.json cron tasks",
    ),
    (
        "cron:report",
        "[<app>] [--<flag>]",
        "Show whether the app's cron tasks are in maintenance",
    ),
    (
        "cron:resume",
        "<app> <id>",
        "Let the minute loop start a suspended cron task again",
    ),
    (
        "cron:run",
        "[--detach] <app> <id>",
        "Run a cron task now (--detach: in the background; prints its name)",
    ),
    (
        "cron:set",
        "(<app>|--global) maintenance [true|false]",
        "Keep the minute loop from starting any of the app's (or every app's) cron tasks",
    ),
    (
        "cron:suspend",
        "<app> <id>",
        "Keep the minute loop from starting a cron task until cron:resume",
    ),
    (
        "docker-options:add",
        "<app> <build,deploy,run> OPTION...",
        "Add docker options (a safe subset) to phases, from the next deploy",
    ),
    (
        "docker-options:clear",
        "<app> [phases]",
        "Remove all docker options",
    ),
    (
        "docker-options:list",
        "<app> --phase <build|deploy|run>",
        "Print the phase's docker options, one per line",
    ),
    (
        "docker-options:remove",
        "<app> <build,deploy,run> OPTION...",
        "Remove docker options",
    ),
    (
        "docker-options:report",
        "[<app>] [--<flag>]",
        "Show docker options per phase",
    ),
    (
        "domains:add",
        "<app> <domain>...",
        "Answer on more domains (exact, or *.wildcard)",
    ),
    (
        "domains:add-global",
        "<domain>...",
        "Add global domains: apps answer on <app>.<domain>",
    ),
    ("domains:clear", "<app>", "Answer on no domain"),
    ("domains:clear-global", "", "Remove every global domain"),
    (
        "domains:disable",
        "(<app>|--all)",
        "Stop routing the app's domains (they stay listed)",
    ),
    ("domains:enable", "(<app>|--all)", "Route the app's domains again"),
    (
        "domains:remove",
        "<app> <domain>...",
        "Stop answering on domains",
    ),
    (
        "domains:remove-global",
        "<domain>...",
        "Remove global domains",
    ),
    (
        "domains:report",
        "[<app>|--global] [--<flag>]",
        "Show the app's (or the global) domains",
    ),
    (
        "domains:reset",
        "<app>",
        "Back to the default: <app>.<global domain>",
    ),
    (
        "domains:set",
        "<app> <domain>...",
        "Replace the app's domains",
    ),
    (
        "domains:set-global",
        "<domain>...",
        "Replace the global domains",
    ),
    (
        "enter",
        "<app> [process[.N]|--container-id ID] [command...]",
        "Run a command (a shell by default) in a running container; use ssh -t",
    ),
    (
        "git:from-archive",
        "[--archive-type tar|tar.gz|zip] [--no-wait] <app> -- [<user> <email>]",
        "Deploy the code in a tar, tar.gz or zip on stdin, committed to the deploy branch",
    ),
    (
        "git:from-image",
        "<app> <image> [--no-wait]",
        "Deploy a prebuilt image",
    ),
    (
        "git:load-image",
        "<app> <image> [--no-wait]",
        "Deploy an image from a `docker save` tar on stdin (no registry needed)",
    ),
    (
        "git:report",
        "[<app>] [--<flag>]",
        "Show the deploy branch, the revision variable and the deployed commit",
    ),
    (
        "git:set",
        "(<app>|--global) deploy-branch|rev-env-var [<value>]",
        "Deploy pushes to this branch only; name the variable holding the commit",
    ),
    (
        "http-auth:add-allowed-ip",
        "<app> <ip[/prefix]>",
        "Let an address or network in without credentials",
    ),
    (
        "http-auth:add-user",
        "<app> <user> <password>",
        "Add a basic auth user (the password is stored hashed)",
    ),
    ("http-auth:disable", "<app>", "Turn basic auth off"),
    (
        "http-auth:enable",
        "<app> [<user> <password>]",
        "Require basic auth for every request to the app",
    ),
    (
        "http-auth:remove-allowed-ip",
        "<app> <ip[/prefix]>",
        "Remove an allowed address",
    ),
    (
        "http-auth:remove-user",
        "<app> <user>",
        "Remove a basic auth user",
    ),
    (
        "http-auth:report",
        "[<app>] [--<flag>]",
        "Show basic auth settings",
    ),
    (
        "letsencrypt:active",
        "<app>",
        "Print true when the app has a certificate from Let's Encrypt",
    ),
    (
        "letsencrypt:auto-renew",
        "[<app>]",
        "Renew certificates due for renewal now (the daemon also does it)",
    ),
    (
        "letsencrypt:cleanup",
        "<app>",
        "Nothing to do: Berth keeps only the current certificate (dokku-letsencrypt's name)",
    ),
    (
        "letsencrypt:cron-job",
        "--add|--remove",
        "Nothing to add: the daemon renews certificates itself (dokku-letsencrypt's name)",
    ),
    (
        "letsencrypt:disable",
        "<app>",
        "Stop Let's Encrypt for the app and remove its certificate",
    ),
    (
        "letsencrypt:enable",
        "<app>",
        "Get a certificate by ACME (HTTP-01 via Berth's proxy) and keep it renewed",
    ),
    (
        "letsencrypt:list",
        "",
        "List apps with Let's Encrypt and when their certificates expire",
    ),
    (
        "letsencrypt:revoke",
        "<app>",
        "Revoke the app's certificate at the CA, remove it and stop renewing",
    ),
    (
        "letsencrypt:set",
        "(<app>|--global) email|server|graceperiod [value]",
        "Set the ACME contact, directory (production, staging, URL) or renewal window",
    ),
    (
        "logs",
        "<app> [-n N] [-t|--tail] [-p process] [-q|--quiet]",
        "Show the app's output; -t follows it",
    ),
    (
        "logs:failed",
        "(<app>|--all)",
        "Show why the last failed deploy failed and what its container printed",
    ),
    (
        "logs:report",
        "[<app>] [--<flag>]",
        "Show how large the app's container logs may grow",
    ),
    (
        "logs:set",
        "(<app>|--global) max-size [<size>|unlimited]",
        "Cap each container's log (default 10m; Docker rotates it)",
    ),
    (
        "maintenance:custom-page",
        "<app>",
        "Set the maintenance page from stdin (a tar with maintenance.html, or HTML)",
    ),
    (
        "maintenance:off",
        "<app>",
        "Serve the app again after maintenance:on",
    ),
    (
        "maintenance:on",
        "<app>",
        "Answer every request with a 503 maintenance page (the app keeps running)",
    ),
    (
        "maintenance:report",
        "[<app>] [--<flag>]",
        "Show whether the app is in maintenance mode",
    ),
    (
        "nginx:access-logs",
        "<app> [-t|--tail]",
        "Show the app's latest proxy access log lines; -t follows new ones",
    ),
    (
        "nginx:error-logs",
        "<app> [-t|--tail]",
        "Show why the proxy failed the app's latest requests; -t follows new ones",
    ),
    (
        "nginx:reload",
        "",
        "Accepted: Berth's proxy applies every change at once",
    ),
    (
        "nginx:report",
        "[<app>] [--<flag>]",
        "Show the app's proxy limits: its own, the global ones and what applies",
    ),
    (
        "nginx:set",
        "(<app>|--global) <property> [value]",
        "Set client-max-body-size, proxy-read-timeout, client-body-timeout, send-timeout, x-forwarded-{for,proto,port}-value, x-forwarded-ssl, underscore-in-headers, hsts…, {access,error}-log-path off",
    ),
    (
        "nginx:show-config",
        "<app>",
        "Show what the proxy does for the app now: hosts, instances, policy",
    ),
    (
        "nginx:start",
        "",
        "Accepted: Berth's proxy runs with the daemon",
    ),
    (
        "nginx:stop",
        "",
        "Refused: the proxy stops with the daemon (proxy:disable takes one app off)",
    ),
    (
        "nginx:validate-config",
        "[<app>] [--clean]",
        "Name stored nginx:set values the proxy cannot read (and ignores); --clean unsets them",
    ),
    (
        "ports:add",
        "<app> <scheme:host-port:container-port>...",
        "Map http:80 or https:443 to the port the app listens on (restarts it)",
    ),
    (
        "ports:clear",
        "<app>",
        "Back to the default mapping (restarts the app)",
    ),
    ("ports:list", "<app>", "List the app's port mappings"),
    (
        "ports:remove",
        "<app> (<scheme:host-port:container-port>|<host-port>)...",
        "Remove port mappings, or every mapping of a host port",
    ),
    (
        "ports:report",
        "[<app>] [--<flag>]",
        "Show the app's port mappings",
    ),
    (
        "ports:set",
        "<app> <scheme:host-port:container-port>...",
        "Replace the app's port mappings (restarts the app)",
    ),
    (
        "proxy:build-config",
        "[--parallel N] [--all|<app>]",
        "Nothing to build: the proxy applies every change at once (Dokku's name)",
    ),
    (
        "proxy:clear-config",
        "[--parallel N] [--all|<app>]",
        "Nothing to clear: the proxy keeps no config files (Dokku's name)",
    ),
    (
        "proxy:disable",
        "[--parallel N] (--all|<app>)",
        "Take the app off the proxy: no host routed, no mapped port listened on",
    ),
    (
        "proxy:enable",
        "[--parallel N] (--all|<app>)",
        "Put the app back on the proxy",
    ),
    (
        "proxy:report",
        "[<app>] [--<flag>]",
        "Show whether the proxy serves the app",
    ),
    (
        "proxy:set",
        "(<app>|--global) type [berth]",
        "Accepted for Dokku's scripts: the proxy is built in, its type is berth",
    ),
    (
        "ps:inspect",
        "<app>",
        "Show docker inspect of the app's containers",
    ),
    (
        "ps:rebuild",
        "(--all|<app>) [--no-wait]",
        "Build the deploy branch again and deploy it",
    ),
    (
        "ps:report",
        "[<app>] [--format stdout|json] [--<flag>]",
        "Show the app's processes and whether they run",
    ),
    (
        "ps:restart",
        "(--all|<app>) [<process>] [--no-wait]",
        "Restart the app (or one process type) in fresh containers, checked, without downtime",
    ),
    (
        "ps:restore",
        "[<app>]",
        "Start apps that should run but have no running container",
    ),
    (
        "ps:scale",
        "[--no-wait] [--skip-deploy] [--format stdout|json] <app> [<process>=<N>...]",
        "Show or set how many instances of each process run",
    ),
    (
        "ps:set",
        "<app> restart-policy|stop-timeout-seconds|procfile-path [<value>]",
        "Set the restart policy, the stop timeout or where the Procfile is",
    ),
    (
        "ps:start",
        "(--all|<app>) [--no-wait]",
        "Start a stopped app",
    ),
    (
        "ps:stop",
        "(--all|<app>) [--no-wait]",
        "Stop every container of the app (it answers 502 until ps:start)",
    ),
    ("releases", "<app>", "List the app's releases, newest first"),
    ("releases:info", "<app> <vN>", "Show one release"),
    (
        "releases:rollback",
        "<app> [vN] [--no-wait]",
        "Deploy an earlier release's image and config again (default: the previous one)",
    ),
    (
        "repo:purge-cache",
        "<app>",
        "Empty the app's build cache; the next build starts cold",
    ),
    (
        "report",
        "[<app>] [--format stdout|json]",
        "Every :report of the app (of every app without one)",
    ),
    (
        "resource:limit",
        "[--memory SIZE] [--cpu N] [--process-type P] <app>",
        "Cap memory and CPU (from the next deploy)",
    ),
    (
        "resource:limit-clear",
        "[--process-type P] <app>",
        "Remove the memory and CPU caps (from the next deploy)",
    ),
    (
        "resource:report",
        "[<app>] [--<flag>]",
        "Show resource limits and reservations",
    ),
    (
        "resource:reserve",
        "[--memory SIZE] [--cpu N] [--process-type P] <app>",
        "Reserve memory and CPU weight (from the next deploy)",
    ),
    (
        "resource:reserve-clear",
        "[--process-type P] <app>",
        "Remove the reservations (from the next deploy)",
    ),
    (
        "run",
        "[-e|--env KEY=VALUE]... [--no-tty] [--ttl-seconds N] <app> <command...>",
        "Run a one-off command in a new container of the app; its exit status comes back",
    ),
    (
        "run:detached",
        "[-e|--env KEY=VALUE]... [--ttl-seconds N] <app> <command...>",
        "Start a one-off container that runs on its own; prints its name",
    ),
    (
        "run:list",
        "<app> [--format stdout|json]",
        "List the app's running one-off containers",
    ),
    (
        "run:logs",
        "(<app>|--container NAME) [-n N] [-t|--tail] [-q|--quiet]",
        "Show (-t: follow) the output of the app's one-off containers, or of one",
    ),
    (
        "run:stop",
        "(<app>|--container NAME)",
        "Stop the app's one-off containers, or one",
    ),
    (
        "ssh-keys:add",
        "<name> < key.pub",
        "Allow a public key to push and run commands (local CLI only)",
    ),
    (
        "ssh-keys:list",
        "[--format text|json]",
        "List the allowed keys",
    ),
    (
        "ssh-keys:remove",
        "<name>",
        "Remove a key by name (local CLI only)",
    ),
    (
        "storage:ensure-directory",
        "<name>",
        "Create <data_dir>/storage/<name> for apps to mount",
    ),
    (
        "storage:list",
        "<app> [--format text|json]",
        "List the app's mounts",
    ),
    (
        "storage:report",
        "[<app>] [--<flag>]",
        "Show the app's mounts per phase",
    ),
    (
        "storage:mount",
        "<app> <host-dir|volume>:<container-dir>",
        "Mount a directory into every instance (from the next deploy)",
    ),
    (
        "storage:unmount",
        "<app> <host-dir|volume>:<container-dir>",
        "Remove a mount (from the next deploy)",
    ),
    ("url", "<app>", "Print the app's first URL"),
    (
        "urls",
        "<app>",
        "Print every URL the app answers on (domains, ports, https)",
    ),
    ("help", "", "Print this list"),
    ("version", "", "Print Berth's version"),
];

/// What `help` shows: every command, one namespace's (`help config`, `config:help`) or one
/// command's usage (`help config:set`, `config:set --help`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topic {
    All,
    Namespace(String),
    Command(&'static str),
}

impl Topic {
    /// The topic `help <word>` asks for; an unknown word is refused with a hint.
    pub fn parse(word: &str) -> Result<Topic, CommandError> {
        if word == "--all" {
            return Ok(Topic::All);
        }
        // `help logs` lists `logs` and `logs:*`; `help logs:set` shows one command.
        if !word.contains(':') && names().any(|name| namespace(name) == word) {
            return Ok(Topic::Namespace(word.to_string()));
        }
        if let Some(name) = listed(word) {
            return Ok(Topic::Command(name));
        }
        let mut message = format!(
            "No help for {}: it is neither a command nor a namespace.",
            crate::names::shown(word)
        );
        let topics = names().chain(names().map(namespace));
        if let Some(dokku) = super::hints::dokku(word) {
            message.push_str(&format!(" {dokku}"));
        } else if let Some(near) = super::hints::nearest(word, topics) {
            message.push_str(&format!(" Did you mean `{near}`?"));
        }
        Err(CommandError::User(message))
    }
}

/// `config:set` → `config`; `logs` → `logs`.
fn namespace(name: &str) -> &str {
    name.split_once(':')
        .map_or(name, |(namespace, _)| namespace)
}

/// The table's own (static) spelling of `name`, if the table lists it: the router knows no
/// other, so `help` lists every command there is.
pub fn listed(name: &str) -> Option<&'static str> {
    names().find(|listed| *listed == name)
}

/// Every command's name, in the table's order.
pub fn names() -> impl Iterator<Item = &'static str> {
    COMMANDS.iter().map(|(name, _, _)| *name)
}

/// Every `<plugin>:report` command, in the table's order (`report` runs them all).
pub fn reports() -> impl Iterator<Item = &'static str> {
    names().filter(|name| name.ends_with(":report"))
}

pub fn usage(command: &str) -> String {
    COMMANDS
        .iter()
        .find(|(name, _, _)| *name == command)
        .map(|(name, args, _)| format!("{name} {args}").trim_end().to_string())
        .unwrap_or_else(|| command.to_string())
}

/// The commands' calls and descriptions, one per line (a long call puts its description on
/// the next), as `help` prints them and docs/commands.md's synopsis shows them.
fn listing(entries: Vec<&(&str, &str, &str)>) -> String {
    // Descriptions line up after the calls.
    const WIDTH: usize = 48;
    let mut text = String::new();
    for (name, args, description) in entries {
        let call = format!("{name} {args}");
        match call.len() <= WIDTH {
            true => text.push_str(&format!("    {call:<WIDTH$}  {description}\n")),
            false => {
                text.push_str(&format!("    {call}\n"));
                text.push_str(&format!("    {:<WIDTH$}  {description}\n", ""));
            }
        }
    }
    text
}

pub async fn run(io: &mut Io, topic: Topic) -> Result<(), CommandError> {
    let entries: Vec<&(&str, &str, &str)> = match &topic {
        Topic::Command(command) => {
            let (_, _, description) = COMMANDS
                .iter()
                .find(|(name, _, _)| name == command)
                .expect("a listed command");
            io.line(&format!("Usage: {}", usage(command))).await;
            io.line("").await;
            io.line(description).await;
            return Ok(());
        }
        Topic::Namespace(wanted) => COMMANDS
            .iter()
            .filter(|(name, _, _)| namespace(name) == wanted)
            .collect(),
        Topic::All => COMMANDS.iter().collect(),
    };
    io.line("Usage: berth COMMAND <app> [command-specific-options]")
        .await;
    io.line("").await;
    io.line("Commands:").await;
    io.out(&listing(entries)).await;
    if topic == Topic::All {
        io.line("").await;
        io.line("Deploy with: git push ssh://berth@<host>:<port>/<app> main")
            .await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Topic, COMMANDS};
    use crate::commands::{Command, CommandError};

    /// docs/commands.md's synopsis is the command table, so the two cannot disagree:
    /// `UPDATE_DOCS=1 cargo test --lib synopsis` rewrites it.
    #[test]
    fn the_synopsis_in_docs_commands_md_is_the_command_table() {
        const START: &str = "<!-- synopsis: generated from src/commands/help.rs -->\n";
        const END: &str = "<!-- end of synopsis -->\n";
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/commands.md");
        let docs = std::fs::read_to_string(path).expect("read docs/commands.md");
        let (before, rest) = docs.split_once(START).expect("the synopsis start marker");
        let (_, after) = rest.split_once(END).expect("the synopsis end marker");
        let synopsis = super::listing(COMMANDS.iter().collect());
        let fresh = format!("{before}{START}```\n{synopsis}```\n{END}{after}");
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(path, &fresh).expect("write docs/commands.md");
            return;
        }
        assert!(
            docs == fresh,
            "docs/commands.md's synopsis is stale: UPDATE_DOCS=1 cargo test --lib synopsis"
        );
    }

    #[test]
    fn help_topics_are_namespaces_or_commands() {
        let topic = |word: &str| Topic::parse(word).unwrap();
        assert_eq!(topic("config"), Topic::Namespace("config".into()));
        assert_eq!(topic("logs"), Topic::Namespace("logs".into()));
        assert_eq!(topic("logs:set"), Topic::Command("logs:set"));
        assert_eq!(topic("version"), Topic::Namespace("version".into()));
        assert_eq!(topic("--all"), Topic::All);
        let unknown = Topic::parse("app").unwrap_err().to_string();
        assert_eq!(
            unknown,
            "No help for app: it is neither a command nor a namespace. Did you mean `apps`?"
        );
        let planned = Topic::parse("postgres").unwrap_err().to_string();
        assert!(
            planned.ends_with(
                "postgres is planned (a bundled postgres plugin); it is not in this version."
            ),
            "{planned}"
        );
        let parsed = |line: &str| {
            let words: Vec<String> = line.split(' ').map(String::from).collect();
            match Command::parse(&words) {
                Ok(Command::Help(topic)) => topic,
                other => panic!("{line}: {other:?}"),
            }
        };
        assert_eq!(parsed("config:help"), Topic::Namespace("config".into()));
        assert_eq!(parsed("config:set --help"), Topic::Command("config:set"));
        assert_eq!(parsed("ps:scale -h"), Topic::Command("ps:scale"));
        assert!(matches!(
            Command::parse(&["run".into(), "shop".into(), "ls".into(), "--help".into()]),
            Ok(Command::Run(_))
        ));
    }

    #[test]
    fn every_listed_command_is_known_to_the_router() {
        for (name, _, _) in COMMANDS {
            let parsed = Command::parse(&[name.to_string()]);
            assert!(
                !matches!(parsed, Err(CommandError::Unknown(_))),
                "{name} is listed but not routed"
            );
        }
    }

    /// Every command, given odd arguments, parses or refuses with one short line (input quoted
    /// in it is escaped and shortened): never a panic.
    #[test]
    fn odd_arguments_get_a_one_line_error_from_every_command() {
        let long = "a".repeat(10_000);
        let web_long = format!("web={long}");
        let odd: Vec<Vec<&str>> = vec![
            vec![],
            vec![""],
            vec!["shop"],
            vec!["shop", ""],
            vec!["-"],
            vec!["--"],
            vec!["--global"],
            vec!["--global", "="],
            vec!["shop", "=", "=="],
            vec!["shop", "K="],
            vec!["shop", "=V"],
            vec!["shop", "K=a\nb"],
            vec!["shop", "a:b:c:d"],
            vec!["shop", "http:99999:0"],
            vec!["shop", "tcp:0:0"],
            vec!["shop", "*.", "*"],
            vec!["shop", "web=-1"],
            vec!["shop", "web=99999999999999999999"],
            vec!["shop", "\u{0}"],
            vec!["shöp", "ü"],
            vec!["shop", "--format"],
            vec!["shop", "--format", "json", "--extra"],
            vec!["shop", "shop", "shop", "shop"],
            vec!["../etc", "x"],
            vec!["shop", &long],
            vec![&long],
            vec!["shop", &long, &long],
            vec!["--global", "x", &long],
            vec!["shop", &web_long],
            vec!["-n", &long, "shop"],
            vec!["--index", &long, "shop", "x"],
        ];
        // Long values after each property or flag some command knows.
        let keys = [
            "email",
            "server",
            "graceperiod",
            "restart-policy",
            "build-dir",
            "selected",
            "stack",
            "wait-to-retire",
            "redirect",
            "hsts",
            "hsts-max-age",
            "--format",
            "--memory",
            "--cpu",
            "--process-type",
            "--phase",
            "deploy",
            "client-max-body-size",
            "x-forwarded-for-value",
        ];
        let odd: Vec<Vec<&str>> = odd
            .into_iter()
            .chain(keys.iter().map(|key| vec!["shop", key, &long]))
            .chain(keys.iter().map(|key| vec![*key, &long, "shop"]))
            .collect();
        let mut bad_errors = Vec::new();
        for (name, _, _) in COMMANDS {
            for args in &odd {
                let words: Vec<String> = std::iter::once(*name)
                    .chain(args.iter().copied())
                    .map(String::from)
                    .collect();
                if let Err(err) = Command::parse(&words) {
                    let message = err.to_string();
                    if message.contains('\n') || message.chars().count() > 400 {
                        bad_errors.push(format!("{words:?}: {err}"));
                    }
                }
            }
        }
        assert!(bad_errors.is_empty(), "{}", bad_errors.join("\n---\n"));
    }
}
