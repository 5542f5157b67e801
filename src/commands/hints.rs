//! What Berth says to a command it does not have: for Dokku's commands, the Berth way to do
//! the same or that it is planned; for a typo of one of its own, "did you mean".

use super::help;

/// Dokku commands Berth does not have, and what to tell their users. A name ending in `:`
/// covers every command of that namespace and the bare word; exact names are looked up first.
const DOKKU: &[(&[&str], &str)] = &[
    (
        &["deploy"],
        "Use ps:rebuild <app> to deploy the pushed code again, or git:from-image <app> <image>",
    ),
    (
        &["proxy:ports"],
        "Use ports:list <app>",
    ),
    (
        &["proxy:ports-add"],
        "Use ports:add <app> <scheme>:<host-port>:<container-port>",
    ),
    (
        &["proxy:ports-set"],
        "Use ports:set <app> <scheme>:<host-port>:<container-port>...",
    ),
    (
        &["proxy:ports-remove"],
        "Use ports:remove <app> <host-port>|<mapping>",
    ),
    (
        &["proxy:ports-clear"],
        "Use ports:clear <app>",
    ),
    (
        &["trace:"],
        "Berth has no trace mode: its log is the daemon's standard error (journalctl -u berth); start it with RUST_LOG=debug for more",
    ),
    (
        &["shell"],
        "Berth has no shell: run commands over ssh one at a time, or run <app> <command>",
    ),
    (
        &["cleanup"],
        "Berth removes a release's containers when it retires them and keeps images for rollback; docker system prune cleans the rest",
    ),
    (
        &["run:retire"],
        "One-off containers retire themselves after --ttl-seconds (a day by default)",
    ),
    (
        &["ps:retire"],
        "Old instances retire by themselves after checks:set wait-to-retire",
    ),
    (
        &["git:initialize"],
        "apps:create makes the app's repository",
    ),
    (
        &["git:status"],
        "git:report <app> shows the app's deploy branch and last pushed revision",
    ),
    (
        &["git:auth-status", "git:allow-host", "git:generate-deploy-key", "git:public-key"],
        "git:sync fetches over https, http and git:// (no SSH deploy keys); git:auth <host> <user> [<token>] stores an HTTPS login for it",
    ),
    (
        &["repo:gc"],
        "Berth's repositories are plain bare repositories: run git gc in <data_dir>/repos/<app>.git",
    ),
    (
        &["builds:info"],
        "builds:list shows running and waiting builds; logs:failed the last failed one's output",
    ),
    (
        &["builds:output"],
        "logs:failed <app> shows the last failed build's output",
    ),
    (
        &["builds:prune"],
        "Berth keeps no build history to prune",
    ),
    (
        &["buildpacks:detect"],
        "A push detects the buildpack and says which one; buildpacks:report <app> shows the list",
    ),
    (
        &["network:rebuild", "network:rebuildall"],
        "The proxy follows instances' addresses itself: nothing to rebuild",
    ),
    (
        &["scheduler-docker-local:"],
        "Berth schedules on this host's Docker without settings: scheduler:set <app> selected docker-local|docker-swarm",
    ),
    (
        &["scheduler-k3s:"],
        "Berth schedules on Docker or Docker Swarm (scheduler:set); Kubernetes is not supported",
    ),
    (
        &["builder-herokuish:", "builder-pack:"],
        "Berth builds buildpack apps itself: builder:set <app> selected buildpacks",
    ),
    (
        &["builder-nixpacks:", "builder-railpack:", "builder-lambda:"],
        "Berth builds with a Dockerfile or buildpacks: builder:set <app> selected dockerfile|buildpacks",
    ),
    (
        &["caddy:", "haproxy:", "traefik:", "openresty:"],
        "Berth's proxy is built in: its settings are nginx:set, ports:* and proxy:*",
    ),
    (
        &["logs:vector-start", "logs:vector-stop", "logs:vector-logs"],
        "Berth has no vector sink: logs <app> and nginx:access-logs <app> read the logs",
    ),
    (
        &["storage:create"],
        "Berth has Dokku's directory form: storage:ensure-directory <name>, then storage:mount",
    ),
    (
        &["storage:destroy"],
        "Remove the directory under <data_dir>/storage on the server after storage:unmount",
    ),
    (
        &["storage:list-entries", "storage:info"],
        "storage:list <app> shows an app's mounts",
    ),
];

/// One line for a command Berth does not have: what to use instead, or the command it nearly
/// is; `None` when nothing is close.
pub fn hint(name: &str) -> Option<String> {
    dokku(name)
        .or_else(|| nearest(name, help::names()).map(|known| format!("Did you mean `{known}`?")))
}

/// What to tell a Dokku user who asks for `name`, a command or a namespace (`postgres`), that
/// Berth does not have.
pub fn dokku(name: &str) -> Option<String> {
    let namespace = name
        .split_once(':')
        .map_or(name, |(namespace, _)| namespace);
    let entry = |matches: &dyn Fn(&str) -> bool| {
        DOKKU
            .iter()
            .find(|(known, _)| known.iter().any(|known| matches(known)))
    };
    let (_, hint) = entry(&|known| known == name)
        .or_else(|| entry(&|known| known.strip_suffix(':') == Some(namespace)))?;
    Some(match hint.strip_prefix("planned") {
        Some(rest) => planned(name, rest),
        None => format!("{hint}."),
    })
}

/// `name is planned…`, the name as typed escaped (a namespace entry matches any command in it).
fn planned(name: &str, rest: &str) -> String {
    format!(
        "{} is planned{rest}; it is not in this version.",
        crate::names::shown(name)
    )
}

/// The candidate nearest to `word`: at most two edits away (a missing, extra, changed or
/// swapped letter), three for long words.
pub fn nearest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 4).clamp(2, 3);
    candidates
        .map(|known| (strsim::osa_distance(word, known), known))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, known)| known)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dokku_commands_get_the_berth_way_or_planned() {
        assert_eq!(
            hint("proxy:ports-add").unwrap(),
            "Use ports:add <app> <scheme>:<host-port>:<container-port>."
        );
        assert!(hint("trace:on").unwrap().contains("RUST_LOG"));
        assert!(hint("git:public-key").unwrap().contains("git:auth <host>"));
        assert_eq!(
            planned("tags:\u{1b}[2J\nfake", " (soon)"),
            "tags:\\u{1b}[2J\\nfake is planned (soon); it is not in this version.",
            "a name as typed reaches no terminal raw"
        );
    }

    #[test]
    fn typos_get_did_you_mean() {
        assert_eq!(hint("app:list").unwrap(), "Did you mean `apps:list`?");
        assert_eq!(hint("config:sett").unwrap(), "Did you mean `config:set`?");
        assert_eq!(hint("ps:sacle").unwrap(), "Did you mean `ps:scale`?");
        assert_eq!(hint("domains:ad").unwrap(), "Did you mean `domains:add`?");
        assert_eq!(hint("frobnicate"), None);
        assert_eq!(hint("x"), None);
    }

    #[test]
    fn docs_list_every_hint() {
        let docs = include_str!("../../docs/dokku.md");
        for (names, hint) in DOKKU {
            for name in *names {
                let shown = match name.ends_with(':') {
                    true => format!("| `{name}*` | {} |", hint.replace('|', "\\|")),
                    false => format!("| `{name}` | {} |", hint.replace('|', "\\|")),
                };
                assert!(docs.contains(&shown), "docs/dokku.md lacks {shown}");
            }
        }
    }

    #[test]
    fn no_hint_names_a_command_berth_has() {
        for name in DOKKU.iter().flat_map(|(names, _)| names.iter()) {
            let name = name.trim_end_matches(':');
            assert!(
                help::names().all(|known| known != name),
                "{name} is a Berth command"
            );
        }
    }
}
