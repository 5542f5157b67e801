//! End to end: commands over SSH and the local CLI — authentication, validation, errors,
//! and the proxy's answers for hosts without a live container.

mod support;

use std::os::unix::fs::PermissionsExt;

use support::services::Networks;
use support::{make_key, Berth};

#[test]
fn an_unknown_key_is_refused() {
    let berth = Berth::start();
    let stranger = make_key(berth.dir.path(), "mallory");
    let run = berth.ssh_as(&stranger, "apps:list");
    assert_eq!(run.code, 255, "{run:#?}");
    assert!(run.stderr.contains("Permission denied"), "{run:#?}");
}

#[test]
fn any_ssh_user_name_works_for_a_known_key() {
    let berth = Berth::start();
    for user in ["dokku", "git"] {
        let run = berth.ssh_login(&berth.key, user, "version").ok();
        assert!(run.stdout.starts_with("berth "), "{run:#?}");
    }
}

#[test]
fn apps_create_list_exists_over_ssh() {
    let berth = Berth::start();
    let app = berth.app("listed");
    let created = berth.ssh(&format!("apps:create {app}")).ok();
    assert_eq!(created.stdout, format!("-----> Creating {app}...\n"));
    let again = berth.ssh(&format!("apps:create {app}"));
    assert_eq!(again.code, 1);
    assert_eq!(again.stderr, " !     Name is already taken\n");

    let list = berth.ssh("apps:list").ok();
    assert_eq!(list.stdout, format!("=====> My Apps\n{app}\n"));
    let json = berth.cli(&["apps:list", "--format", "json"], b"").ok();
    assert_eq!(json.stdout, format!("[\"{app}\"]\n"));

    assert_eq!(berth.ssh(&format!("apps:exists {app}")).code, 0);
    let missing = berth.ssh("apps:exists nothing-here");
    assert_eq!(missing.code, 20);
    assert_eq!(missing.stderr, " !     App nothing-here does not exist\n");

    // `report` runs every `:report` of the app, in the help table's order; for one app, the
    // debugging sections follow (no releases yet: a warning on stderr instead of a section).
    let page = berth.ssh(&format!("report {app}")).ok().stdout;
    let (report, debugging) = page
        .split_once(&format!("=====> {app} instances (sampled)"))
        .expect("the debugging sections");
    assert!(
        debugging.contains("=====> ") && debugging.contains("recent events"),
        "{page}"
    );
    let headers: Vec<&str> = report
        .lines()
        .filter_map(|l| l.strip_prefix(&format!("=====> {app} ")))
        .collect();
    let help = berth.ssh("help").ok().stdout;
    let reports = help
        .lines()
        .filter(|l| {
            l.trim_start()
                .split(' ')
                .next()
                .is_some_and(|c| c.ends_with(":report"))
        })
        .count();
    assert_eq!(headers.len(), reports, "{headers:?}\n{report}");
    assert_eq!(headers[0], "app information", "{report}");
    let all = berth.ssh("report").ok().stdout;
    assert_eq!(
        all, report,
        "with one app, report of every app is that app's :reports"
    );
    let gone = berth.ssh("report nothing-here");
    assert_eq!(gone.code, 20);

    // In JSON, as every `:report` has it: one object of every report's rows, and for every
    // app one such object per app.
    let json = berth
        .ssh(&format!("report {app} --format json"))
        .ok()
        .stdout;
    let rows: serde_json::Value = serde_json::from_str(&json).expect("one JSON object");
    for key in [
        "app-dir",
        "domains-app-vhosts",
        "restart-policy",
        "ssl-enabled",
    ] {
        assert!(rows.get(key).is_some(), "{key} in {json}");
    }
    let every = berth.ssh("report --format json").ok().stdout;
    let every: serde_json::Value = serde_json::from_str(&every).expect("one JSON object");
    assert_eq!(every[app.as_str()], rows);
}

#[test]
fn invalid_app_names_are_rejected_at_the_edge() {
    let berth = Berth::start();
    for (line, message) in [
        ("apps:create Shop", "App name Shop is invalid"),
        ("apps:create 'two words'", "App name two words is invalid"),
        (
            "apps:create shop.example",
            "use dashes instead (e.g. shop-example)",
        ),
        ("apps:create -x", "App name -x is invalid"),
        (
            "apps:create 'shop;reboot'",
            "App name shop;reboot is invalid",
        ),
    ] {
        let run = berth.ssh(line);
        assert_eq!(run.code, 1, "{line}: {run:#?}");
        assert!(run.stderr.starts_with(" !     "), "{line}: {run:#?}");
        assert!(run.stderr.contains(message), "{line}: {run:#?}");
        assert_eq!(run.stderr.lines().count(), 1, "one line: {run:#?}");
    }
    let long = "a".repeat(64);
    assert!(berth
        .ssh(&format!("apps:create {long}"))
        .stderr
        .contains("too long"));
    let source = support::repo::create(&[("Dockerfile", "FROM scratch\n")]);
    let push = berth.push(source.path(), "Bad_Name", "main");
    assert_ne!(push.code, 0);
    assert!(
        push.stderr.contains("App name Bad_Name is invalid"),
        "{push:#?}"
    );
    assert_eq!(berth.ssh("apps:list").stdout, "=====> My Apps\n");
}

#[test]
fn unknown_commands_help_and_version() {
    let berth = Berth::start();
    let run = berth.ssh("apps:fly");
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .starts_with(" !     `apps:fly` is not a berth command.\n"),
        "{run:#?}"
    );
    // Over SSH, the way to help is ssh, not the server's CLI.
    assert!(run.stderr.contains("See `ssh … help`"), "{run:#?}");
    let local = berth.cli(&["apps:fly"], b"");
    assert!(local.stderr.contains("See `berth help`"), "{local:#?}");

    // A typo gets the command it nearly is; a Dokku command Berth lacks, the Berth way.
    for (typed, hint) in [
        ("app:list", " !     Did you mean `apps:list`?\n"),
        (
            "config:sett shop A=1",
            " !     Did you mean `config:set`?\n",
        ),
        ("proxy:ports-add shop http:80:5000", "Use ports:add <app>"),
        ("trace:on", "RUST_LOG=debug"),
        (
            "git:public-key",
            "git:auth <host> <user> [<token>] stores an HTTPS login",
        ),
    ] {
        let run = berth.ssh(typed);
        assert_eq!(run.code, 1, "{typed}: {run:#?}");
        assert!(
            run.stderr.contains("is not a berth command.") && run.stderr.contains(hint),
            "{typed}: {run:#?}"
        );
    }

    // Help for one namespace, and one command's usage, which exits 0.
    for asked in ["help config", "config:help"] {
        let namespace = berth.ssh(asked).ok().stdout;
        assert!(namespace.contains("config:set"), "{asked}: {namespace}");
        assert!(!namespace.contains("apps:create"), "{asked}: {namespace}");
    }
    for asked in ["config:set --help", "config:set -h", "help config:set"] {
        let usage = berth.ssh(asked).ok().stdout;
        assert!(
            usage.starts_with("Usage: config:set [--no-restart] [--encoded] (<app>|--global)"),
            "{asked}: {usage}"
        );
    }
    let nothing = berth.ssh("help frobnicate");
    assert_eq!(nothing.code, 1, "{nothing:#?}");
    assert!(
        nothing.stderr.contains("No help for frobnicate"),
        "{nothing:#?}"
    );

    let help = berth.ssh("help").ok();
    for command in [
        "apps:create",
        "apps:destroy",
        "apps:list",
        "apps:exists",
        "ssh-keys:add",
        "config:set",
        "ps:scale",
        "logs",
        "version",
    ] {
        assert!(
            help.stdout.contains(command),
            "{command} in {}",
            help.stdout
        );
    }
    let version = berth.cli(&["version"], b"").ok();
    let revision = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .unwrap();
    assert_eq!(
        version.stdout,
        format!(
            "berth {} (revision {})\n",
            env!("CARGO_PKG_VERSION"),
            String::from_utf8_lossy(&revision.stdout).trim()
        )
    );
    let quoting = berth.ssh("apps:create 'unclosed");
    assert_eq!(quoting.code, 1);
    assert!(
        quoting.stderr.contains("Cannot parse the command line"),
        "{quoting:#?}"
    );
}

#[test]
fn ssh_keys_are_managed_by_admins_only() {
    let berth = Berth::start();
    let bob = make_key(berth.dir.path(), "bob");
    assert_eq!(berth.ssh_as(&bob, "apps:list").code, 255);

    let public = std::fs::read(bob.with_extension("pub")).expect("bob.pub");
    let added = berth
        .cli(&["ssh-keys:add", "bob", "--role", "developer"], &public)
        .ok();
    assert!(added.stdout.starts_with("SHA256:"), "{added:#?}");
    berth.ssh_as(&bob, "apps:list").ok();
    let list = berth.ssh("ssh-keys:list").ok();
    assert!(
        list.stdout.contains("NAME=\"alice\" ROLE=\"admin\"")
            && list.stdout.contains("NAME=\"bob\" ROLE=\"developer\""),
        "{list:#?}"
    );

    let duplicate = berth.cli(&["ssh-keys:add", "bob2"], &public);
    assert_eq!(duplicate.code, 1);
    assert!(
        duplicate.stderr.contains("already added as bob"),
        "{duplicate:#?}"
    );
    let garbage = berth.cli(&["ssh-keys:add", "eve"], b"ssh-ed25519 nonsense\n");
    assert_eq!(garbage.code, 1);
    assert!(
        garbage.stderr.contains("Invalid public key"),
        "{garbage:#?}"
    );

    let by_developer = berth.ssh_as(&bob, "ssh-keys:remove alice");
    assert_eq!(by_developer.code, 1);
    assert_eq!(
        by_developer.stderr,
        " !     Key bob is a developer key: SSH keys need an admin key\n"
    );
    berth.ssh("ssh-keys:list").ok();
    berth.ssh("ssh-keys:remove bob").ok();
    assert_eq!(berth.ssh_as(&bob, "apps:list").code, 255);
}

#[test]
fn the_proxy_answers_404_for_unknown_hosts_and_502_without_a_container() {
    let berth = Berth::start();
    let unknown = berth.get("nobody.example", "/");
    assert_eq!(unknown.status, 404);
    assert_eq!(
        unknown.body,
        "No app is configured for host nobody.example\n"
    );

    let app = berth.app("empty");
    berth.ssh(&format!("apps:create {app}")).ok();
    let empty = berth.get(&Berth::host(&app), "/");
    assert_eq!(empty.status, 502);
    assert_eq!(empty.body, format!("App {app} has no running container\n"));
}

#[test]
fn the_control_socket_is_private() {
    let berth = Berth::start();
    let mode = std::fs::metadata(&berth.control)
        .expect("socket")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn nginx_validate_config_names_and_cleans_values_the_proxy_cannot_read() {
    let mut berth = Berth::start();
    let app = berth.app("validate");
    berth.ssh(&format!("apps:create {app}")).ok();
    berth
        .ssh(&format!("nginx:set {app} proxy-read-timeout 2m"))
        .ok();
    berth.ssh(&format!("nginx:set {app} send-timeout 30s")).ok();
    let valid = berth.ssh("nginx:validate-config").ok();
    assert!(
        valid
            .stdout
            .contains("-----> Proxy settings of every app are valid"),
        "{valid:#?}"
    );

    // A value edited by hand into the app's state file, which the proxy cannot read.
    berth.stop();
    let file = berth.data_dir().join("apps").join(&app).join("app.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("\"30s\""), "{text}");
    std::fs::write(&file, text.replace("\"30s\"", "\"soon\"")).unwrap();
    berth.restart();
    let invalid = berth.ssh(&format!("nginx:validate-config {app}"));
    assert_eq!(invalid.code, 1, "{invalid:#?}");
    assert!(
        invalid.stderr.contains(&format!(
            " !     {app}: send-timeout \"soon\" is not valid (use seconds, or an s/m/h suffix, \
             like 60s); the proxy ignores it\n"
        )) && invalid
            .stderr
            .contains(&format!("1 invalid proxy setting(s) for {app}")),
        "{invalid:#?}"
    );
    let cleaned = berth.ssh("nginx:validate-config --clean").ok();
    assert!(
        cleaned
            .stdout
            .contains(&format!("-----> Unset send-timeout \"soon\" for {app}")),
        "{cleaned:#?}"
    );
    berth.ssh(&format!("nginx:validate-config {app}")).ok();
    let kept = berth
        .ssh(&format!("nginx:report {app} --nginx-proxy-read-timeout"))
        .ok();
    assert_eq!(kept.stdout, "2m\n");
    let unset = berth
        .ssh(&format!("nginx:report {app} --nginx-send-timeout"))
        .ok();
    assert_eq!(unset.stdout, "\n");

    // Berth has no nginx to reload, start or stop.
    berth.ssh("nginx:reload").ok();
    berth.ssh("nginx:start").ok();
    let stop = berth.ssh("nginx:stop");
    assert_eq!(stop.code, 1, "{stop:#?}");
    assert!(
        stop.stderr
            .contains("proxy:disable <app> takes one app off it"),
        "{stop:#?}"
    );
}

/// `help --all`'s commands that list or report: `:list`, `:report`, and any other whose usage
/// offers `--format stdout|json` (or Dokku's `text|json`), as `(name, usage)`; not those that
/// show one thing by its id (`deploys:status`, tested where there is one).
fn listing_commands(help: &str) -> Vec<(String, String)> {
    help.lines()
        .filter(|line| line.starts_with("    ") && !line.starts_with("     "))
        .filter_map(|line| {
            let synopsis = line.trim_start().split("  ").next()?;
            let (name, usage) = synopsis.split_once(' ').unwrap_or((synopsis, ""));
            let listing = name.ends_with(":list")
                || name.ends_with(":report")
                || usage.contains("[--format stdout|json]")
                || usage.contains("[--format text|json]");
            let listing = listing && !usage.contains("<id>");
            listing.then(|| (name.to_string(), usage.to_string()))
        })
        .collect()
}

/// `usage` with `app` for its app argument, `network` for a network, `--phase deploy` for a
/// phase, and the other optional parts left out.
fn listing_arguments(usage: &str, app: &str, network: &str) -> String {
    let mut line = usage
        .replace("<network>", network)
        .replace("[<app>|--global]", app)
        .replace("[<app>]", app)
        .replace("<app>", app)
        .replace("--phase <build|deploy|run>", "--phase deploy");
    while let (Some(start), Some(end)) = (line.find('['), line.find(']')) {
        line.replace_range(start..=end.max(start), "");
    }
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn every_list_and_report_prints_one_json_document() {
    let networks = Networks::new(1);
    let berth = Berth::start();
    let app = berth.deployed("json", "json");
    let network = &networks.0[0];
    berth.ssh(&format!("network:create {network}")).ok();
    berth
        .ssh_input(&format!("secrets:set --no-restart {app} token"), b"hidden")
        .ok();
    let help = berth.ssh("help --all").ok().stdout;
    let commands = listing_commands(&help);
    assert!(commands.len() > 30, "{commands:?}");
    for (name, usage) in &commands {
        assert!(
            usage.contains("[--format stdout|json]") || usage.contains("[--format text|json]"),
            "{name} lists or reports without --format json: {usage}"
        );
        let mut lines = vec![format!(
            "{name} {} --format json",
            listing_arguments(usage, &app, network)
        )];
        if name.ends_with(":report") {
            lines.push(format!("{name} --format json"));
        }
        for line in lines {
            let run = berth.ssh(&line);
            assert_eq!(run.code, 0, "{line}: {run:#?}");
            assert_eq!(run.stdout.lines().count(), 1, "{line}: {run:#?}");
            let parsed: serde_json::Value = serde_json::from_str(&run.stdout)
                .unwrap_or_else(|err| panic!("{line}: {err}: {:?}", run.stdout));
            if name.ends_with(":report") && !line.contains(&app) {
                assert!(parsed.get(&app).is_some(), "{line}: {parsed}");
            }
        }
    }
    let releases = berth.ssh(&format!("releases {app} --format json")).ok();
    let releases: serde_json::Value = serde_json::from_str(&releases.stdout).unwrap();
    assert_eq!(releases[0]["current"], true, "{releases}");
    let secrets = berth.ssh(&format!("secrets:list {app} --format json")).ok();
    assert!(secrets.stdout.contains("\"token\""), "{secrets:?}");
    assert!(!secrets.stdout.contains("hidden"), "{secrets:?}");
}
