//! End to end: plugins installed from a directory and from a git repository, their commands run
//! over SSH (argv, stdin, exit status), disabled, enabled and uninstalled; bad plugins refused.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use support::Berth;

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
    assert_eq!(berth.ssh("plugin:installed hello").code, 0);
    assert_eq!(berth.ssh("plugin:installed nothing").code, 1);

    berth.ssh("plugin:disable hello").ok();
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
    assert_eq!(
        berth.ssh("plugin:list").ok().stdout,
        "name  version  state  description\nnone\n"
    );
}
