//! Every command of the command table, run by a developer key that lacks the right: refused
//! with one line, a non-zero exit, and no state changed.

use std::sync::Arc;

use tokio::io::AsyncReadExt;

use crate::caller::Caller;
use crate::commands::table::COMMANDS;
use crate::context::Ctx;
use crate::names::{AppName, KeyName};
use crate::state::{Role, SshKey};

/// One command line per command (`APP` stands for the app), so that a new command cannot go
/// untested: `every_command_has_an_example` fails until it has one.
const EXAMPLES: &[(&str, &str)] = &[
    ("acl:add", "acl:add APP dev"),
    ("acl:list", "acl:list APP"),
    ("acl:remove", "acl:remove APP dev"),
    ("acl:set", "acl:set --global allow-create true"),
    ("apps:clone", "apps:clone APP copy"),
    ("apps:create", "apps:create fresh"),
    ("apps:destroy", "apps:destroy APP --force"),
    ("apps:exists", "apps:exists APP"),
    ("apps:list", "apps:list"),
    ("backup:export", "backup:export"),
    ("backup:import", "backup:import"),
    ("backup:schedule", "backup:schedule '0 3 * * *' nightly"),
    ("backup:schedule-cat", "backup:schedule-cat"),
    ("backup:unschedule", "backup:unschedule"),
    ("apps:lock", "apps:lock APP"),
    ("apps:rename", "apps:rename APP renamed"),
    ("apps:report", "apps:report APP"),
    ("apps:set", "apps:set --global disable-autocreation true"),
    ("apps:locked", "apps:locked APP"),
    ("apps:unlock", "apps:unlock APP"),
    ("builder-dockerfile:report", "builder-dockerfile:report APP"),
    (
        "builder-dockerfile:set",
        "builder-dockerfile:set APP dockerfile-path x",
    ),
    ("builder:report", "builder:report APP"),
    ("builder:set", "builder:set APP selected dockerfile"),
    ("buildpacks:add", "buildpacks:add APP heroku/go"),
    ("git:auth", "git:auth github.com ci token"),
    (
        "git:sync",
        "git:sync APP https://github.com/acme/shop.git main",
    ),
    (
        "deploy-tokens:create",
        "deploy-tokens:create APP --name ci --expires 30d",
    ),
    ("deploy-tokens:list", "deploy-tokens:list APP"),
    ("deploy-tokens:revoke", "deploy-tokens:revoke APP ci"),
    ("deploys:list", "deploys:list APP"),
    ("deploys:status", "deploys:status APP 1"),
    ("tags", "tags APP"),
    ("tags:create", "tags:create APP v1"),
    ("tags:deploy", "tags:deploy APP v1"),
    ("tags:destroy", "tags:destroy APP v1"),
    ("tags:list", "tags:list APP"),
    ("registry:login", "registry:login ghcr.io ci"),
    ("registry:logout", "registry:logout ghcr.io"),
    ("registry:report", "registry:report APP"),
    ("registry:set", "registry:set APP push-on-release true"),
    ("scheduler:report", "scheduler:report APP"),
    ("scheduler:set", "scheduler:set APP selected docker-local"),
    (
        "scheduler-docker-swarm:report",
        "scheduler-docker-swarm:report APP",
    ),
    (
        "scheduler-docker-swarm:set",
        "scheduler-docker-swarm:set APP placement node.role==manager",
    ),
    ("buildpacks:clear", "buildpacks:clear APP"),
    ("buildpacks:list", "buildpacks:list APP"),
    ("buildpacks:remove", "buildpacks:remove APP heroku/go"),
    ("buildpacks:report", "buildpacks:report APP"),
    ("buildpacks:set", "buildpacks:set APP heroku/go"),
    (
        "buildpacks:set-property",
        "buildpacks:set-property APP stack x",
    ),
    ("builds:cancel", "builds:cancel APP"),
    ("builds:list", "builds:list APP"),
    ("certs:add", "certs:add APP"),
    ("certs:generate", "certs:generate APP"),
    ("certs:remove", "certs:remove APP"),
    ("certs:report", "certs:report APP"),
    ("certs:set", "certs:set APP redirect false"),
    ("certs:show", "certs:show APP key"),
    ("certs:update", "certs:update APP"),
    ("checks:disable", "checks:disable APP"),
    ("checks:enable", "checks:enable APP"),
    ("checks:report", "checks:report APP"),
    ("checks:run", "checks:run APP"),
    ("checks:set", "checks:set APP wait-to-retire 5"),
    ("checks:skip", "checks:skip APP"),
    ("config:clear", "config:clear APP"),
    ("config:bundle", "config:bundle APP"),
    ("config:export", "config:export APP"),
    ("config:get", "config:get APP SECRET"),
    ("config:import", "config:import APP"),
    ("config:keys", "config:keys APP"),
    ("config:set", "config:set APP K=v"),
    ("config:show", "config:show APP"),
    ("config:unset", "config:unset APP K"),
    ("cron:list", "cron:list APP"),
    ("cron:report", "cron:report APP"),
    ("cron:resume", "cron:resume APP x"),
    ("cron:run", "cron:run APP x"),
    ("cron:set", "cron:set APP maintenance true"),
    ("cron:suspend", "cron:suspend APP x"),
    (
        "docker-options:add",
        "docker-options:add APP deploy --shm-size=64m",
    ),
    ("docker-options:clear", "docker-options:clear APP"),
    (
        "docker-options:list",
        "docker-options:list APP --phase deploy",
    ),
    (
        "docker-options:remove",
        "docker-options:remove APP deploy --shm-size=64m",
    ),
    ("docker-options:report", "docker-options:report APP"),
    ("domains:add", "domains:add APP x.example.com"),
    ("domains:add-global", "domains:add-global example.org"),
    ("domains:clear", "domains:clear APP"),
    ("domains:clear-global", "domains:clear-global"),
    ("domains:disable", "domains:disable APP"),
    ("domains:enable", "domains:enable APP"),
    ("domains:remove", "domains:remove APP x.example.com"),
    ("domains:remove-global", "domains:remove-global example.org"),
    ("domains:report", "domains:report APP"),
    ("domains:reset", "domains:reset APP"),
    ("domains:set", "domains:set APP x.example.com"),
    ("domains:set-global", "domains:set-global example.org"),
    ("enter", "enter APP web"),
    ("events", "events -n 5"),
    ("events:list", "events:list"),
    ("events:off", "events:off"),
    ("events:on", "events:on"),
    ("git:from-archive", "git:from-archive APP"),
    ("git:from-image", "git:from-image APP busybox:latest"),
    ("git:load-image", "git:load-image APP busybox:latest"),
    ("git:report", "git:report APP"),
    ("git:set", "git:set APP deploy-branch main"),
    (
        "http-auth:add-allowed-ip",
        "http-auth:add-allowed-ip APP 10.0.0.1",
    ),
    ("http-auth:add-user", "http-auth:add-user APP u p"),
    ("http-auth:disable", "http-auth:disable APP"),
    ("http-auth:enable", "http-auth:enable APP u p"),
    (
        "http-auth:remove-allowed-ip",
        "http-auth:remove-allowed-ip APP 10.0.0.1",
    ),
    ("http-auth:remove-user", "http-auth:remove-user APP u"),
    ("http-auth:report", "http-auth:report APP"),
    ("letsencrypt:active", "letsencrypt:active APP"),
    ("letsencrypt:auto-renew", "letsencrypt:auto-renew APP"),
    ("letsencrypt:cleanup", "letsencrypt:cleanup APP"),
    ("letsencrypt:cron-job", "letsencrypt:cron-job --add"),
    ("letsencrypt:disable", "letsencrypt:disable APP"),
    ("letsencrypt:enable", "letsencrypt:enable APP"),
    ("letsencrypt:list", "letsencrypt:list"),
    ("letsencrypt:revoke", "letsencrypt:revoke APP"),
    ("letsencrypt:set", "letsencrypt:set APP email a@example.com"),
    ("logs", "logs APP"),
    ("logs:failed", "logs:failed APP"),
    ("logs:report", "logs:report APP"),
    ("logs:set", "logs:set APP max-size 10m"),
    ("maintenance:custom-page", "maintenance:custom-page APP"),
    ("maintenance:off", "maintenance:off APP"),
    ("maintenance:on", "maintenance:on APP"),
    ("maintenance:report", "maintenance:report APP"),
    ("nginx:access-logs", "nginx:access-logs APP"),
    ("nginx:error-logs", "nginx:error-logs APP"),
    ("nginx:reload", "nginx:reload"),
    ("nginx:report", "nginx:report APP"),
    ("nginx:set", "nginx:set APP client-max-body-size 1m"),
    ("nginx:show-config", "nginx:show-config APP"),
    ("nginx:start", "nginx:start"),
    ("nginx:stop", "nginx:stop"),
    ("nginx:validate-config", "nginx:validate-config APP"),
    ("network:create", "network:create net"),
    ("network:destroy", "network:destroy net"),
    ("network:exists", "network:exists net"),
    ("network:info", "network:info net"),
    ("network:list", "network:list"),
    ("network:report", "network:report APP"),
    ("network:set", "network:set APP attach-post-deploy net"),
    ("plugin:disable", "plugin:disable notify"),
    ("plugin:enable", "plugin:enable notify"),
    ("plugin:install", "plugin:install /tmp/plugin"),
    ("plugin:installed", "plugin:installed notify"),
    ("plugin:list", "plugin:list"),
    ("plugin:trigger", "plugin:trigger post-deploy APP"),
    ("plugin:uninstall", "plugin:uninstall notify"),
    ("plugin:update", "plugin:update notify"),
    ("ports:add", "ports:add APP http:8080:5000"),
    ("ports:clear", "ports:clear APP"),
    ("ports:list", "ports:list APP"),
    ("ports:remove", "ports:remove APP 8080"),
    ("ports:report", "ports:report APP"),
    ("ports:set", "ports:set APP http:8080:5000"),
    ("proxy:build-config", "proxy:build-config APP"),
    ("proxy:clear-config", "proxy:clear-config APP"),
    ("proxy:disable", "proxy:disable APP"),
    ("proxy:enable", "proxy:enable APP"),
    ("proxy:report", "proxy:report APP"),
    ("proxy:set", "proxy:set APP type berth"),
    ("ps:inspect", "ps:inspect APP"),
    ("ps:rebuild", "ps:rebuild APP"),
    ("ps:report", "ps:report APP"),
    ("ps:restart", "ps:restart APP"),
    ("ps:restore", "ps:restore APP"),
    ("ps:scale", "ps:scale APP web=2"),
    ("ps:set", "ps:set APP stop-timeout-seconds 5"),
    ("ps:start", "ps:start APP"),
    ("ps:stop", "ps:stop APP"),
    ("releases", "releases APP"),
    ("releases:info", "releases:info APP v1"),
    ("releases:rollback", "releases:rollback APP"),
    ("repo:purge-cache", "repo:purge-cache APP"),
    ("report", "report APP"),
    ("resource:limit", "resource:limit --memory 100m APP"),
    ("resource:limit-clear", "resource:limit-clear APP"),
    ("resource:report", "resource:report APP"),
    ("resource:reserve", "resource:reserve --memory 100m APP"),
    ("resource:reserve-clear", "resource:reserve-clear APP"),
    ("run", "run APP true"),
    ("run:detached", "run:detached APP true"),
    ("run:list", "run:list APP"),
    ("run:logs", "run:logs APP"),
    ("run:stop", "run:stop APP"),
    ("secrets:list", "secrets:list APP"),
    ("secrets:set", "secrets:set APP db_password"),
    ("secrets:unset", "secrets:unset APP db_password"),
    ("ssh-keys:add", "ssh-keys:add mallory"),
    ("ssh-keys:list", "ssh-keys:list"),
    ("ssh-keys:remove", "ssh-keys:remove admin"),
    ("ssh-keys:sessions", "ssh-keys:sessions"),
    ("ssh-keys:set-role", "ssh-keys:set-role dev admin"),
    ("storage:ensure-directory", "storage:ensure-directory APP"),
    ("storage:list", "storage:list APP"),
    ("storage:report", "storage:report APP"),
    ("storage:mount", "storage:mount APP /etc:/host-etc"),
    ("storage:unmount", "storage:unmount APP /etc:/host-etc"),
    ("url", "url APP"),
    ("urls", "urls APP"),
    ("help", "help"),
    ("version", "version"),
];

/// Commands any key may run: they show only what the caller may see.
const OPEN: &[&str] = &["apps:list", "events", "help", "version"];

/// Commands a developer may not run even on its own app: they reach past it (the host's ports,
/// directories and docker options, other apps' networks), or are the owner's (destroy, rename).
const ADMIN_ONLY: &[&str] = &[
    "acl:add",
    "acl:list",
    "acl:remove",
    "acl:set",
    "apps:clone",
    "apps:destroy",
    "apps:rename",
    "apps:set",
    "docker-options:add",
    "docker-options:clear",
    "docker-options:list",
    "docker-options:remove",
    "docker-options:report",
    "domains:add-global",
    "domains:clear-global",
    "domains:remove-global",
    "domains:set-global",
    "events:list",
    "events:off",
    "events:on",
    "letsencrypt:cron-job",
    "letsencrypt:list",
    "nginx:reload",
    "nginx:start",
    "nginx:stop",
    "network:create",
    "network:destroy",
    "network:exists",
    "network:info",
    "network:list",
    "network:set",
    "plugin:disable",
    "plugin:enable",
    "plugin:install",
    "plugin:installed",
    "plugin:list",
    "plugin:trigger",
    "plugin:uninstall",
    "plugin:update",
    "ports:add",
    "ports:clear",
    "ports:remove",
    "ports:set",
    "ssh-keys:add",
    "ssh-keys:list",
    "ssh-keys:remove",
    "ssh-keys:sessions",
    "ssh-keys:set-role",
    "storage:ensure-directory",
    "storage:mount",
    "storage:unmount",
];

fn example(name: &str, app: &str) -> Vec<String> {
    let (_, line) = EXAMPLES
        .iter()
        .find(|(command, _)| *command == name)
        .unwrap_or_else(|| panic!("{name} has no example in access/tests.rs"));
    shell_words::split(&line.replace("APP", app)).unwrap()
}

#[test]
fn every_command_has_an_example() {
    for spec in COMMANDS {
        let words = example(spec.name, "shop");
        if let Err(err) = crate::commands::Command::parse(&words) {
            panic!("the example of {} does not parse: {err}", spec.name);
        }
    }
    assert_eq!(EXAMPLES.len(), COMMANDS.len(), "an example of no command");
}

/// A context with apps `shop` (granted to the developer key `dev`) and `other`, and an admin
/// key.
async fn context(dir: &std::path::Path) -> Arc<Ctx> {
    let ctx = crate::fake::test_ctx(dir).await;
    for app in ["shop", "other"] {
        ctx.create_app(&AppName::parse(app).unwrap()).unwrap();
    }
    for (name, role) in [("admin", Role::Admin), ("dev", Role::Developer)] {
        ctx.store
            .add_key(SshKey {
                name: KeyName::parse(name).unwrap(),
                public_key: format!("ssh-ed25519 {name}"),
                fingerprint: format!("SHA256:{name}"),
                added_at: 0,
                role,
            })
            .unwrap();
    }
    let shop = AppName::parse("shop").unwrap();
    ctx.store
        .update_app(&shop, |r| r.acl.insert(KeyName::parse("dev").unwrap()))
        .unwrap();
    ctx
}

/// Every state file's text.
fn state(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for entry in walk(dir) {
        if entry.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&entry).unwrap();
            files.push((entry.display().to_string(), text));
        }
    }
    files.sort();
    files
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        match path.is_dir() {
            true => found.extend(walk(&path)),
            false => found.push(path),
        }
    }
    found
}

/// Runs `words` as `caller`: exit status, stdout and stderr.
async fn run(ctx: &Ctx, caller: &Caller, words: &[String]) -> (i32, String, String) {
    let (stdout, mut out) = tokio::io::duplex(1 << 20);
    let (stderr, mut err) = tokio::io::duplex(1 << 20);
    let mut io = crate::io::Io {
        stdin: Box::new(tokio::io::empty()),
        stdout: Box::new(stdout),
        stderr: Box::new(stderr),
        tty: false,
        hangup: Default::default(),
        report: Default::default(),
    };
    let code = crate::commands::execute(ctx, caller, "127.0.0.1", words, &mut io).await;
    io.flush().await;
    drop(io);
    let (mut stdout, mut stderr) = (String::new(), String::new());
    out.read_to_string(&mut stdout).await.unwrap();
    err.read_to_string(&mut stderr).await.unwrap();
    (code, stdout, stderr)
}

async fn assert_refused(ctx: &Ctx, dir: &std::path::Path, words: &[String]) {
    let dev = Caller::Key(KeyName::parse("dev").unwrap());
    assert_refused_to(ctx, dir, &dev, " !     Key dev ", words).await;
}

async fn assert_refused_to(
    ctx: &Ctx,
    dir: &std::path::Path,
    caller: &Caller,
    first_words: &str,
    words: &[String],
) {
    let before = state(dir);
    let (code, stdout, stderr) = run(ctx, caller, words).await;
    let line = words.join(" ");
    assert_ne!(code, 0, "{line}: not refused");
    assert_eq!(stdout, "", "{line}: printed something");
    assert!(
        stderr.starts_with(first_words) && stderr.lines().count() == 1,
        "{line}: refused with {stderr:?}"
    );
    assert_eq!(state(dir), before, "{line}: changed the state");
}

#[tokio::test]
async fn a_developer_key_is_refused_every_command_of_an_app_not_granted_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path()).await;
    for spec in COMMANDS.iter().filter(|spec| !OPEN.contains(&spec.name)) {
        assert_refused(&ctx, dir.path(), &example(spec.name, "other")).await;
    }
}

#[tokio::test]
async fn a_stolen_deploy_token_runs_nothing_beyond_its_own_app() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path()).await;
    let token = Caller::Token {
        app: AppName::parse("shop").unwrap(),
        name: "ci".into(),
    };
    let refused = " !     Token ci ";
    for spec in COMMANDS.iter().filter(|spec| !OPEN.contains(&spec.name)) {
        let words = example(spec.name, "other");
        assert_refused_to(&ctx, dir.path(), &token, refused, &words).await;
    }
    for name in ADMIN_ONLY {
        let words = example(name, "shop");
        assert_refused_to(&ctx, dir.path(), &token, refused, &words).await;
    }
    for line in [
        "apps:create fresh",
        "git:sync --build shop file:///var/lib/berth/repos/other.git",
        "git:from-image shop berth/other:1",
        "ps:restart --all",
    ] {
        let words = shell_words::split(line).unwrap();
        assert_refused_to(&ctx, dir.path(), &token, refused, &words).await;
    }
}

#[tokio::test]
async fn a_developer_key_is_refused_global_and_host_commands_on_its_own_app() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path()).await;
    for name in ADMIN_ONLY {
        assert_refused(&ctx, dir.path(), &example(name, "shop")).await;
    }
    for global in [
        "docker-options:report",
        "config:set --global K=v",
        "config:show --global",
        "nginx:set --global client-max-body-size 1m",
        "ps:restart --all",
        "ps:report",
        "builds:list",
        "logs:failed --all",
        "proxy:disable --all",
        "git:from-image shop berth/other:1",
        "letsencrypt:set shop server https://169.254.169.254/directory",
        "run:logs --container berth-other-web-1",
        "apps:create fresh",
    ] {
        assert_refused(&ctx, dir.path(), &shell_words::split(global).unwrap()).await;
    }
}

#[tokio::test]
async fn a_developer_key_sees_only_its_apps() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path()).await;
    let dev = Caller::Key(KeyName::parse("dev").unwrap());
    let (code, stdout, _) = run(&ctx, &dev, &["apps:list".into()]).await;
    assert_eq!((code, stdout.as_str()), (0, "=====> My Apps\nshop\n"));
    let admin = Caller::Key(KeyName::parse("admin").unwrap());
    let (_, stdout, _) = run(&ctx, &admin, &["apps:list".into()]).await;
    assert_eq!(stdout, "=====> My Apps\nother\nshop\n");
    let (code, stdout, _) = run(
        &ctx,
        &dev,
        &["report".into(), "--format".into(), "json".into()],
    )
    .await;
    assert_eq!(code, 0);
    assert!(
        stdout.contains("\"shop\"") && !stdout.contains("other"),
        "{stdout}"
    );
    assert!(!stdout.contains("docker-options"), "admins' rows: {stdout}");
    let json = [
        "report".into(),
        "shop".into(),
        "--format".into(),
        "json".into(),
    ];
    let (_, stdout, _) = run(&ctx, &admin, &json).await;
    assert!(stdout.contains("docker-options"), "{stdout}");
}

#[tokio::test]
async fn a_removed_key_may_do_nothing_and_loses_its_grants() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path()).await;
    let dev = KeyName::parse("dev").unwrap();
    ctx.store.remove_key(&dev).unwrap();
    let shop = AppName::parse("shop").unwrap();
    assert!(ctx.store.app(&shop).unwrap().acl.is_empty());
    let (code, _, stderr) = run(&ctx, &Caller::Key(dev), &["apps:list".into()]).await;
    assert_eq!(
        (code, stderr.as_str()),
        (1, " !     Key dev is no longer allowed in\n")
    );
}

#[tokio::test]
async fn a_developer_may_create_apps_only_when_allowed_and_gets_them() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path()).await;
    let dev = Caller::Key(KeyName::parse("dev").unwrap());
    let create = ["apps:create".to_string(), "fresh".to_string()];
    assert_eq!(run(&ctx, &dev, &create).await.0, 1);
    ctx.store
        .update_global(|g| g.acl_allow_create = true)
        .unwrap();
    assert_eq!(run(&ctx, &dev, &create).await.0, 0);
    let (_, stdout, _) = run(&ctx, &dev, &["apps:list".into()]).await;
    assert_eq!(stdout, "=====> My Apps\nfresh\nshop\n");
}

#[tokio::test]
async fn the_audit_log_records_commands_without_their_arguments_and_shows_developers_their_apps() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path()).await;
    let dev = Caller::Key(KeyName::parse("dev").unwrap());
    let words = |line: &str| shell_words::split(line).unwrap();
    assert_eq!(
        run(&ctx, &dev, &words("config:set shop PASSWORD=hunter2"))
            .await
            .0,
        0
    );
    assert_eq!(run(&ctx, &dev, &words("config:show other")).await.0, 1);
    let (_, mine, _) = run(&ctx, &dev, &words("events")).await;
    assert_eq!(mine.lines().count(), 1, "{mine}");
    assert!(
        mine.contains(" command config:set app=shop key=dev source=127.0.0.1 status=0 "),
        "{mine}"
    );
    let admin = Caller::Key(KeyName::parse("admin").unwrap());
    let (_, every, _) = run(&ctx, &admin, &words("events -n 3")).await;
    assert!(
        every.contains("config:show app=other key=dev source=127.0.0.1 status=1"),
        "{every}"
    );
    assert!(every.contains("events app=- key=dev"), "{every}");
    let log = std::fs::read_to_string(dir.path().join("events.log")).unwrap();
    assert!(!log.contains("hunter2") && !every.contains("hunter2"));
}
