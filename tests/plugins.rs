//! End to end: plugins installed from a directory and from a git repository, their commands run
//! over SSH (argv, stdin, exit status), disabled, enabled and uninstalled; bad plugins refused.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::{repo, Berth};

fn write_executable(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A plugin `name` in `dir`: `commands` handles `NAME:args` (its argv, one per line),
/// `NAME:echo` (stdin back), `NAME:fail` (exit 3) and nothing else (exit 10); `subcommands/greet`
/// greets its argument.
fn plugin(dir: &Path, name: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("plugin.toml"),
        format!("name = \"{name}\"\nversion = \"0.1.0\"\ndescription = \"Says hello\"\n"),
    )
    .unwrap();
    write_executable(
        &dir.join("commands"),
        &format!(
            "#!/bin/sh\ncase \"$1\" in\n\
             {name}:args) for arg in \"$@\"; do echo \"[$arg]\"; done ;;\n\
             {name}:echo) read -r line; echo \"got $line\" ;;\n\
             {name}:fail) echo 'it failed' >&2; exit 3 ;;\n\
             help) echo \"    {name}:args <words...>, Print its arguments\" ;;\n\
             {name}:cli) berth config:set --global FROM_PLUGIN=yes >/dev/null && dokku config:get --global FROM_PLUGIN ;;\n\
             *) exit 10 ;;\nesac\n"
        ),
    );
    write_executable(
        &dir.join("subcommands/greet"),
        "#!/bin/sh\necho \"hello $1 from $PLUGIN_PATH\"\n",
    );
}

#[test]
fn a_plugin_from_a_directory_runs_its_commands_until_disabled_or_uninstalled() {
    let berth = Berth::start();
    let source = tempfile::tempdir().unwrap();
    plugin(source.path(), "hello");
    let installed = berth
        .ssh(&format!("plugin:install {}", source.path().display()))
        .ok();
    assert!(
        installed
            .stdout
            .contains("Plugin hello 0.1.0 installed and enabled"),
        "{installed:#?}"
    );
    let list = berth.ssh("plugin:list").ok().stdout;
    assert!(
        list.lines()
            .any(|l| l.starts_with("hello") && l.contains("0.1.0") && l.contains("enabled")),
        "{list}"
    );

    // Words arrive as argv, never through a shell.
    let args = berth.ssh("hello:args 'two words' '$(id)' ';ls'").ok();
    assert_eq!(
        args.stdout, "[hello:args]\n[two words]\n[$(id)]\n[;ls]\n",
        "{args:#?}"
    );
    // berth and dokku on its PATH run commands against this daemon.
    assert_eq!(berth.ssh("hello:cli").ok().stdout, "yes\n");
    let echoed = berth.ssh_input("hello:echo", b"from stdin\n").ok();
    assert_eq!(echoed.stdout, "got from stdin\n");
    let failed = berth.ssh("hello:fail");
    assert_eq!(failed.code, 3, "{failed:#?}");
    assert!(failed.stderr.contains("it failed"), "{failed:#?}");
    let greeted = berth.ssh("hello:greet ann").ok();
    assert!(
        greeted.stdout.starts_with("hello ann from ") && greeted.stdout.contains("/plugins/hello"),
        "{greeted:#?}"
    );
    let not_its_own = berth.ssh("hello:nope");
    assert_ne!(not_its_own.code, 0);
    assert!(
        not_its_own
            .stderr
            .contains("`hello:nope` is not a berth command."),
        "exit status 10 means not mine: {not_its_own:#?}"
    );
    let help = berth.ssh("help").ok().stdout;
    assert!(
        help.contains("Plugin commands:\n    hello:args <words...>, Print its arguments\n"),
        "{help}"
    );
    assert_eq!(
        berth.ssh("help hello").ok().stdout,
        "Usage: berth COMMAND <app> [command-specific-options]\n\n\
         Commands of plugin hello:\n    hello:args <words...>, Print its arguments\n"
    );
    assert_eq!(berth.ssh("plugin:installed hello").code, 0);
    assert_eq!(berth.ssh("plugin:installed nothing").code, 1);

    berth.ssh("plugin:disable hello").ok();
    assert!(!berth.ssh("help").ok().stdout.contains("hello:args"));
    assert!(berth.ssh("help hello").stderr.contains("No help for hello"));
    let disabled = berth.ssh("hello:args x");
    assert!(
        disabled.stderr.contains("is not a berth command"),
        "{disabled:#?}"
    );
    assert!(berth.ssh("plugin:list").ok().stdout.contains("disabled"));
    berth.ssh("plugin:enable hello").ok();
    assert_eq!(berth.ssh("hello:args x").ok().stdout, "[hello:args]\n[x]\n");

    berth.ssh("plugin:uninstall hello").ok();
    assert_eq!(berth.ssh("plugin:installed hello").code, 1);
    assert!(!berth.data_dir().join("plugins/hello").exists());
    assert!(berth
        .ssh("hello:args")
        .stderr
        .contains("not a berth command"));
}

#[test]
fn a_plugin_from_a_git_repository_installs_and_updates() {
    let berth = Berth::start();
    let source = tempfile::tempdir().unwrap();
    plugin(source.path(), "gitty");
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .current_dir(source.path())
            .args(args)
            .status()
            .expect("run git");
        assert!(status.success(), "git {args:?}");
    };
    let commit = |message: &str| {
        git(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qam",
            message,
        ])
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A"]);
    commit("v1");
    let url = format!("file://{}", source.path().display());
    berth.ssh(&format!("plugin:install {url}")).ok();
    assert_eq!(berth.ssh("gitty:args").ok().stdout, "[gitty:args]\n");

    std::fs::write(
        source.path().join("plugin.toml"),
        "name = \"gitty\"\nversion = \"0.2.0\"\ndescription = \"Says hello\"\n",
    )
    .unwrap();
    commit("v2");
    let updated = berth.ssh("plugin:update gitty").ok();
    assert!(
        updated.stdout.contains("Plugin gitty is now 0.2.0"),
        "{updated:#?}"
    );
    assert!(berth.ssh("plugin:list").ok().stdout.contains("0.2.0"));
}

#[test]
fn bad_plugins_are_refused_with_one_line() {
    let berth = Berth::start();
    let empty = tempfile::tempdir().unwrap();
    let refused = berth.ssh(&format!("plugin:install {}", empty.path().display()));
    assert_ne!(refused.code, 0);
    assert_eq!(
        refused.stderr.trim_end(),
        " !     Not a plugin: it has no plugin.toml"
    );

    let clash = tempfile::tempdir().unwrap();
    plugin(clash.path(), "config");
    let refused = berth.ssh(&format!("plugin:install {}", clash.path().display()));
    assert!(
        refused
            .stderr
            .contains("Plugin name config is a built-in namespace of Berth"),
        "{refused:#?}"
    );

    let lazy = tempfile::tempdir().unwrap();
    plugin(lazy.path(), "lazy");
    std::fs::set_permissions(
        lazy.path().join("commands"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let refused = berth.ssh(&format!("plugin:install {}", lazy.path().display()));
    assert!(
        refused
            .stderr
            .contains("Its commands file is not an executable file"),
        "{refused:#?}"
    );

    let same_name = tempfile::tempdir().unwrap();
    plugin(same_name.path(), "notify");
    let refused = berth.ssh(&format!("plugin:install {}", same_name.path().display()));
    assert!(
        refused
            .stderr
            .contains("Plugin notify is already installed"),
        "{refused:#?}"
    );
    let bundled = berth.ssh("plugin:uninstall notify");
    assert_eq!(
        bundled.stderr.trim_end(),
        " !     Plugin notify is bundled with Berth and updates with it; plugin:disable notify turns it off"
    );
    let list = berth.ssh("plugin:list").ok().stdout;
    let names: Vec<&str> = list
        .lines()
        .skip(1)
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        names,
        ["notify", "postgres", "redis"],
        "only the bundled plugins: {list}"
    );
}

/// A plugin `triggers` whose every trigger appends `<trigger> <args> key=… release=… rev=…` to
/// `log`, says so on stdout, and fails (`fail-<trigger>` in `control`) or hangs
/// (`hang-<trigger>`) when told to; its pre-deploy trigger may run 3 seconds.
fn trigger_plugin(dir: &Path, log: &Path, control: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("plugin.toml"),
        "name = \"triggers\"\nversion = \"1\"\ndescription = \"Logs triggers\"\n\
         [timeouts]\npre-deploy = 3\n",
    )
    .unwrap();
    let script = format!(
        "#!/bin/sh\nname=$(basename \"$0\")\n\
         echo \"$name $* key=$BERTH_KEY release=$BERTH_RELEASE rev=${{BERTH_REV:-}}\" >> {log}\n\
         echo \"trigger $name ran\"\n\
         if [ -e {control}/fail-$name ]; then echo \"refusing $name\" >&2; exit 1; fi\n\
         if [ -e {control}/hang-$name ]; then exec sleep 600; fi\n",
        log = log.display(),
        control = control.display()
    );
    for trigger in berth::plugins::TRIGGERS {
        write_executable(&dir.join(trigger), &script);
    }
}

/// Installs `trigger_plugin` in a temp dir (kept while the first value lives); returns its
/// log and control paths.
fn install_trigger_plugin(berth: &Berth) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let work = tempfile::tempdir().unwrap();
    let (log, control) = (work.path().join("calls.log"), work.path().join("control"));
    std::fs::create_dir_all(&control).unwrap();
    let dir = work.path().join("plugin");
    trigger_plugin(&dir, &log, &control);
    berth.ssh(&format!("plugin:install {}", dir.display())).ok();
    (work, log, control)
}

#[test]
fn a_push_fires_triggers_in_order_and_a_failing_pre_deploy_or_check_deploy_keeps_the_old_release() {
    let berth = Berth::start();
    let (_work, log, control) = install_trigger_plugin(&berth);
    let app = berth.app("trig");
    let source = repo::create(&repo::as_refs(&repo::web_app("v1")));
    let pushed = berth.push(source.path(), &app, "main").ok();
    assert!(
        pushed.stderr.contains("trigger pre-deploy ran"),
        "trigger output reaches the pusher: {pushed:#?}"
    );
    let calls = std::fs::read_to_string(&log).unwrap();
    let names: Vec<&str> = calls
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "post-create",
            "pre-receive",
            "pre-build",
            "post-build",
            "post-release",
            "pre-deploy",
            "check-deploy",
            "post-deploy"
        ],
        "{calls}"
    );
    let rev = repo::head(source.path());
    let image = format!("berth/{app}:1");
    let line = |name: &str| {
        calls
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap()
            .to_string()
    };
    assert_eq!(
        line("pre-build"),
        format!("pre-build dockerfile {app} key=alice release=1 rev={rev}")
    );
    assert_eq!(
        line("pre-deploy"),
        format!("pre-deploy {app} {image} key=alice release=1 rev={rev}")
    );
    let check: Vec<String> = line("check-deploy").split(' ').map(String::from).collect();
    assert_eq!(check[1], app);
    assert_eq!(check[3], "web");
    assert_eq!(check[6], "1", "{check:?}");
    let post: Vec<String> = line("post-deploy").split(' ').map(String::from).collect();
    assert_eq!(post[4], image, "{post:?}");
    assert_eq!(post[3], check[5], "the web instance's address");

    // A failing pre-deploy or check-deploy: refused, and v1 keeps serving.
    assert_eq!(
        line("pre-receive"),
        format!("pre-receive {app} {rev} refs/heads/main key=alice release= rev=")
    );
    for trigger in ["pre-receive", "pre-deploy", "check-deploy"] {
        std::fs::write(control.join(format!("fail-{trigger}")), "").unwrap();
        repo::commit(source.path(), &[("www/index.html", "v2\n")], trigger);
        let refused = berth.push(source.path(), &app, "main");
        assert_ne!(refused.code, 0, "{refused:#?}");
        assert!(
            refused.stderr.contains(&format!(
                "The {trigger} trigger of plugin triggers failed with exit status 1"
            )) && refused.stderr.contains(&format!("refusing {trigger}")),
            "{refused:#?}"
        );
        assert_eq!(berth.get(&Berth::host(&app), "/").body, "v1\n");
        std::fs::remove_file(control.join(format!("fail-{trigger}"))).unwrap();
    }
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("deploy-failed"),
        "deploy-failed fired"
    );

    // A hung trigger is stopped at its plugin's time limit.
    std::fs::write(control.join("hang-pre-deploy"), "").unwrap();
    let hung = berth.push(source.path(), &app, "main");
    assert!(
        hung.stderr.contains(
            "The pre-deploy trigger of plugin triggers took longer than 3s and was stopped"
        ),
        "{hung:#?}"
    );
    std::fs::remove_file(control.join("hang-pre-deploy")).unwrap();

    // A failing post-deploy is reported; the deploy stands.
    std::fs::write(control.join("fail-post-deploy"), "").unwrap();
    let reported = berth.push(source.path(), &app, "main").ok();
    assert!(
        reported
            .stderr
            .contains("The post-deploy trigger of plugin triggers failed with exit status 1"),
        "{reported:#?}"
    );
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "v2\n");

    // pre-restart can refuse a restart; post-stop follows a stop.
    std::fs::write(control.join("fail-pre-restart"), "").unwrap();
    let refused = berth.ssh(&format!("ps:restart {app}"));
    assert!(
        refused
            .stderr
            .contains("The pre-restart trigger of plugin triggers failed"),
        "{refused:#?}"
    );
    berth.ssh(&format!("ps:stop {app}")).ok();
    let calls = std::fs::read_to_string(&log).unwrap();
    let last: Vec<&str> = calls.lines().rev().take(2).collect();
    assert!(
        last[0].starts_with(&format!("post-stop {app} ")) && last[1].starts_with("pre-restart"),
        "{calls}"
    );
}

#[test]
fn app_lifecycle_and_config_triggers_fire_with_dokkus_arguments() {
    let berth = Berth::start();
    let (_work, log, control) = install_trigger_plugin(&berth);
    let (app, renamed) = (berth.app("life"), berth.app("moved"));
    berth.ssh(&format!("apps:create {app}")).ok();
    berth
        .ssh(&format!("config:set --no-restart {app} A=1 B=2"))
        .ok();
    berth
        .ssh(&format!("config:unset --no-restart {app} A"))
        .ok();
    berth.ssh("config:set --global G=1").ok();
    berth.ssh(&format!("domains:add {app} life.example")).ok();
    let port = support::http::free_port();
    berth.ssh(&format!("ports:add {app} http:{port}:5000")).ok();
    berth
        .ssh(&format!("certs:generate {app} life.example"))
        .ok();
    berth.ssh(&format!("certs:remove {app}")).ok();
    berth.ssh(&format!("apps:rename {app} {renamed}")).ok();

    std::fs::write(control.join("fail-pre-delete"), "").unwrap();
    let refused = berth.ssh(&format!("apps:destroy {renamed} --force"));
    assert!(
        refused
            .stderr
            .contains("The pre-delete trigger of plugin triggers failed with exit status 1"),
        "{refused:#?}"
    );
    assert_eq!(
        berth.ssh(&format!("apps:exists {renamed}")).code,
        0,
        "not destroyed"
    );
    std::fs::remove_file(control.join("fail-pre-delete")).unwrap();
    berth.ssh(&format!("apps:destroy {renamed} --force")).ok();
    let by_hand = berth.ssh("plugin:trigger post-deploy by hand").ok();
    assert!(
        by_hand.stdout.contains("trigger post-deploy ran"),
        "{by_hand:#?}"
    );
    let unknown = berth.ssh("plugin:trigger post-nothing");
    assert!(
        unknown.stderr.contains("post-nothing is not a trigger"),
        "{unknown:#?}"
    );

    let calls = std::fs::read_to_string(&log).unwrap();
    let tail = " key=alice release= rev=";
    let expected = [
        format!("post-create {app}{tail}"),
        format!("post-config-update {app} set A B{tail}"),
        format!("post-config-update {app} unset A{tail}"),
        format!("post-config-update --global set G{tail}"),
        format!("post-domains-update {app} add life.example{tail}"),
        format!("post-proxy-ports-update {app} add{tail}"),
        format!("post-certs-update {app}{tail}"),
        format!("post-certs-remove {app}{tail}"),
        format!("post-app-rename {app} {renamed}{tail}"),
        format!("pre-delete {renamed} {tail}"),
        format!("pre-delete {renamed} {tail}"),
        format!("post-delete {renamed} {tail}"),
        format!("post-deploy by hand{tail}"),
    ];
    assert_eq!(calls.lines().collect::<Vec<_>>(), expected, "{calls}");
}
