//! `help`: every command with its arguments, and the usage line errors quote.

use super::table::{Spec, COMMANDS};
use super::{CommandError, Io};

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

/// Every namespace of Berth's own commands (`config`, `logs`, …): no plugin may take one.
pub fn namespaces() -> Vec<&'static str> {
    let mut namespaces: Vec<&'static str> = names().map(namespace).collect();
    namespaces.dedup();
    namespaces
}

/// `config:set` → `config`; `logs` → `logs`.
fn namespace(name: &'static str) -> &'static str {
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
    COMMANDS.iter().map(|spec| spec.name)
}

/// Every `<plugin>:report` command, in the table's order (`report` runs them all).
pub fn reports() -> impl Iterator<Item = &'static str> {
    names().filter(|name| name.ends_with(":report"))
}

pub fn usage(command: &str) -> String {
    COMMANDS
        .iter()
        .find(|spec| spec.name == command)
        .map(|spec| {
            format!("{} {}", spec.name, spec.usage)
                .trim_end()
                .to_string()
        })
        .unwrap_or_else(|| command.to_string())
}

/// The commands' calls and descriptions, one per line (a long call puts its description on
/// the next), as `help` prints them and docs/commands.md's synopsis shows them.
fn listing(entries: Vec<&Spec>) -> String {
    // Descriptions line up after the calls.
    const WIDTH: usize = 48;
    let mut text = String::new();
    for Spec {
        name,
        usage,
        about: description,
        ..
    } in entries
    {
        let call = format!("{name} {usage}");
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

pub async fn run(
    plugins: &crate::plugins::Registry,
    io: &mut Io,
    topic: Topic,
) -> Result<(), CommandError> {
    let entries: Vec<&Spec> = match &topic {
        Topic::Command(command) => {
            io.line(&format!("Usage: {}", usage(command))).await;
            io.line("").await;
            if let Some(spec) = COMMANDS.iter().find(|spec| spec.name == *command) {
                io.line(spec.about).await;
            }
            return Ok(());
        }
        Topic::Namespace(wanted) => COMMANDS
            .iter()
            .filter(|spec| namespace(spec.name) == wanted)
            .collect(),
        Topic::All => COMMANDS.iter().collect(),
    };
    io.line("Usage: berth COMMAND <app> [command-specific-options]")
        .await;
    io.line("").await;
    io.line("Commands:").await;
    io.out(&listing(entries)).await;
    if topic == Topic::All {
        plugin_commands(plugins, io).await;
        io.line("").await;
        io.line("Deploy with: git push ssh://berth@<host>:<port>/<app> main")
            .await;
    }
    Ok(())
}

/// `help NAME` for an enabled plugin's namespace: its commands, as its `commands help` lists
/// them; false when no enabled plugin has that name.
pub async fn plugin_topic(plugins: &crate::plugins::Registry, name: &str, io: &mut Io) -> bool {
    let Some(plugin) = plugins.get(name).filter(|p| p.enabled) else {
        return false;
    };
    io.line("Usage: berth COMMAND <app> [command-specific-options]")
        .await;
    io.line("").await;
    io.line(&format!("Commands of plugin {name}:")).await;
    for line in crate::plugins::help_lines(plugins, &plugin).await {
        io.line(&format!("    {}", line.trim())).await;
    }
    true
}

/// Each enabled plugin's commands, as its `commands help` lists them (Dokku's convention).
async fn plugin_commands(plugins: &crate::plugins::Registry, io: &mut Io) {
    let mut listed = Vec::new();
    for plugin in plugins.list().into_iter().filter(|p| p.enabled) {
        for line in crate::plugins::help_lines(plugins, &plugin).await {
            listed.push(format!("    {}", line.trim()));
        }
    }
    if listed.is_empty() {
        return;
    }
    io.line("").await;
    io.line("Plugin commands:").await;
    for line in listed {
        io.line(&line).await;
    }
}

#[cfg(test)]
mod tests {
    use super::{Topic, COMMANDS};
    use crate::commands::{Command, CommandError};

    /// docs/commands.md's synopsis is the command table, so the two cannot disagree:
    /// `UPDATE_DOCS=1 cargo test --lib synopsis` rewrites it.
    #[test]
    fn the_synopsis_in_docs_commands_md_is_the_command_table() {
        const START: &str = "<!-- synopsis: generated from src/commands/table.rs -->\n";
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
        assert_eq!(topic("registry"), Topic::Namespace("registry".into()));
        let instead = Topic::parse("git:public-key").unwrap_err().to_string();
        assert!(instead.contains("git:auth <host>"), "{instead}");
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
        assert_eq!(parsed("apps --help"), Topic::Command("apps:list"));
        assert!(matches!(
            Command::parse(&["run".into(), "shop".into(), "ls".into(), "--help".into()]),
            Ok(Command::Run(_))
        ));
    }

    #[test]
    fn every_listed_command_is_known_to_the_router() {
        for spec in COMMANDS {
            let name = spec.name;
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
        for spec in COMMANDS {
            for args in &odd {
                let words: Vec<String> = std::iter::once(spec.name)
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
