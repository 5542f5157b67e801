//! `config:import [--no-restart] [--replace] [--format envfile|exports|shell|json]
//! (<app>|--global)`: sets
//! the config vars read from stdin (`heroku config -s | ssh berth@host config:import shop`),
//! added to the existing ones or, with `--replace`, instead of them; then restarts like
//! `config:set`. The envfile reader (`--format` envfile, exports or shell: all one reader)
//! takes what `config:export` writes in every text format:
//! `KEY=value` pairs separated by blanks or lines, `export ` words, `#` comments, and values
//! in single quotes (literal, `'\''` joins), double quotes (`\n`, `\"`, `\\`, `\$`) or bare
//! (a backslash escapes a quote, a backslash or a blank; others are kept).

use std::collections::BTreeMap;

use super::argv::Argv;
use super::config_common::{restart, show_pairs, valid_key, write_env, Scope};
use super::config_export::Format;
use super::{CommandError, Io};
use crate::caller::Caller;
use crate::context::Ctx;

/// The most `config:import` reads from stdin.
const MAX_INPUT: u64 = 1 << 20;

#[derive(Debug)]
pub struct Args {
    pub scope: Scope,
    pub format: Format,
    pub replace: bool,
    pub no_restart: bool,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("config:import", words);
        let no_restart = argv.flag("--no-restart");
        let replace = argv.flag("--replace");
        let format = Format::parse(argv.option("--format")?.as_deref(), Format::Envfile)?;
        let scope = Scope::parse(&mut argv)?;
        if argv.optional()?.is_some_and(|source| source != "-") {
            return Err(CommandError::User(
                "config:import reads stdin: ssh ... config:import <app> < FILE".into(),
            ));
        }
        argv.finish()?;
        Ok(Args {
            scope,
            format,
            replace,
            no_restart,
        })
    }
}

fn bad(what: String) -> CommandError {
    CommandError::User(format!("Cannot import: {what}"))
}

/// One value: quoted and bare segments up to an unquoted blank.
fn value(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    key: &str,
) -> Result<String, CommandError> {
    let mut out = String::new();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => break,
            '\'' => {
                chars.next();
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => out.push(c),
                        None => return Err(bad(format!("the value of {key} has no closing '"))),
                    }
                }
            }
            '"' => {
                chars.next();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('n') => out.push('\n'),
                            Some(c @ ('"' | '\\' | '$')) => out.push(c),
                            Some(c) => out.extend(['\\', c]),
                            None => {}
                        },
                        Some(c) => out.push(c),
                        None => return Err(bad(format!("the value of {key} has no closing \""))),
                    }
                }
            }
            // Outside quotes a backslash escapes a quote, a backslash or a blank (`'\''`).
            '\\' => {
                chars.next();
                match chars.next_if(|c| matches!(c, '\'' | '"' | '\\') || c.is_whitespace()) {
                    Some(c) => out.push(c),
                    None => out.push('\\'),
                }
            }
            c => {
                chars.next();
                out.push(c);
            }
        }
    }
    Ok(out)
}

/// The pairs of an envfile, in order (a later pair of the same key wins).
pub fn envfile(text: &str) -> Result<BTreeMap<String, String>, CommandError> {
    let mut pairs = BTreeMap::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.peek() {
            None => return Ok(pairs),
            Some('#') => {
                while chars.next_if(|c| *c != '\n').is_some() {}
                continue;
            }
            Some(_) => {}
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        if key == "export" && chars.peek().is_some_and(|c| c.is_whitespace()) {
            continue;
        }
        if chars.next() != Some('=') {
            return Err(bad(format!(
                "expected KEY=VALUE, found \"{}\"",
                crate::names::shown(&key)
            )));
        }
        valid_key(&key)?;
        let value = value(&mut chars, &key)?;
        pairs.insert(key, value);
    }
}

/// A JSON object of string values.
pub fn json(text: &str) -> Result<BTreeMap<String, String>, CommandError> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)
        .map_err(|err| bad(format!("expected a JSON object of strings: {err}")))?;
    let mut pairs = BTreeMap::new();
    for (key, value) in object {
        valid_key(&key)?;
        let serde_json::Value::String(value) = value else {
            return Err(bad(format!("the value of {key} is not a string")));
        };
        pairs.insert(key, value);
    }
    Ok(pairs)
}

pub async fn run(ctx: &Ctx, caller: &Caller, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let input = io
        .read_all(MAX_INPUT + 1)
        .await
        .map_err(|err| CommandError::User(format!("cannot read stdin: {err}")))?;
    if input.len() as u64 > MAX_INPUT {
        return Err(bad("the input is over 1 MiB".into()));
    }
    let text = String::from_utf8(input).map_err(|_| bad("the input is not UTF-8".into()))?;
    let pairs = match args.format {
        Format::Json => json(&text)?,
        Format::Exports | Format::Shell | Format::Envfile => envfile(&text)?,
    };
    if pairs.is_empty() && !args.replace {
        return Err(bad("no KEY=VALUE pairs on stdin".into()));
    }
    let imported = pairs.clone();
    write_env(ctx, &args.scope, |env| {
        if args.replace {
            env.clear();
        }
        env.extend(imported);
    })?;
    let pairs: Vec<(String, String)> = pairs.into_iter().collect();
    let verb = match args.replace {
        true => "Replacing config vars",
        false => "Setting config vars",
    };
    io.step(verb).await;
    show_pairs(io, &pairs).await;
    let description = format!("Import {} config vars", pairs.len());
    restart(ctx, caller, io, &args.scope, args.no_restart, description).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::config_export::{render, Format as Export};

    #[test]
    fn reads_every_text_format_config_export_writes() {
        let env = BTreeMap::from([
            ("A".to_string(), "it's \"x\" $HOME\nnext \\ end".to_string()),
            ("B".to_string(), "é = ü".to_string()),
            ("EMPTY".to_string(), String::new()),
        ]);
        for format in [Export::Exports, Export::Shell, Export::Envfile] {
            assert_eq!(envfile(&render(&env, format)).unwrap(), env, "{format:?}");
        }
        assert_eq!(json(&render(&env, Export::Json)).unwrap(), env);
    }

    #[test]
    fn reads_hand_written_envfiles() {
        let text = "# database\nexport DATABASE_URL=postgres://db/shop\n\nWORKERS=3 # two is slow\nMOTD=\"a\\tb\"\n";
        let pairs = envfile(text).unwrap();
        assert_eq!(pairs["DATABASE_URL"], "postgres://db/shop");
        assert_eq!(pairs["WORKERS"], "3");
        assert_eq!(pairs["MOTD"], "a\\tb");
        for broken in ["KEY", "1X=y", "A='open", "A=\"open", "=v"] {
            assert!(envfile(broken).is_err(), "{broken}");
        }
        assert!(json(r#"{"N": 3}"#).is_err());
        assert!(json("[]").is_err());
    }
}
