//! `config:export [--format exports|shell|envfile|json] [--merged] (<app>|--global)`.

use super::argv::Argv;
use super::config_common::{read_env, Scope};
use super::{CommandError, Io};
use crate::context::Ctx;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `export K='v'` lines (Dokku's default).
    Exports,
    /// `K='v' K2='v2'` on one line.
    Shell,
    /// `K="v"` lines, with `\`, `"`, `$` and newlines escaped (dotenv style).
    Envfile,
    /// `{"K": "v"}`.
    Json,
}

impl Format {
    /// `--format`'s value; `default` when absent.
    pub fn parse(raw: Option<&str>, default: Format) -> Result<Format, CommandError> {
        match raw {
            None => Ok(default),
            Some("exports") => Ok(Format::Exports),
            Some("shell") => Ok(Format::Shell),
            Some("envfile") => Ok(Format::Envfile),
            Some("json") => Ok(Format::Json),
            Some(other) => Err(CommandError::Usage(format!(
                "Invalid format \"{shown}\": use exports, shell, envfile or json",
                shown = crate::names::shown(other)
            ))),
        }
    }
}

#[derive(Debug)]
pub struct Args {
    pub scope: Scope,
    pub format: Format,
    pub merged: bool,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("config:export", words);
        let merged = argv.flag("--merged");
        let format = Format::parse(argv.option("--format")?.as_deref(), Format::Exports)?;
        let scope = Scope::parse(&mut argv)?;
        argv.finish()?;
        Ok(Args {
            scope,
            format,
            merged,
        })
    }
}

/// `'…'` with embedded single quotes as `'\''`: safe to paste into any POSIX shell.
pub fn single_quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

fn double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '$' => out.push_str("\\$"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub fn render(env: &std::collections::BTreeMap<String, String>, format: Format) -> String {
    match format {
        Format::Exports => env
            .iter()
            .map(|(k, v)| format!("export {k}={}\n", single_quoted(v)))
            .collect(),
        Format::Shell => {
            let pairs: Vec<String> = env
                .iter()
                .map(|(k, v)| format!("{k}={}", single_quoted(v)))
                .collect();
            format!("{}\n", pairs.join(" "))
        }
        Format::Envfile => env
            .iter()
            .map(|(k, v)| format!("{k}={}\n", double_quoted(v)))
            .collect(),
        Format::Json => format!(
            "{}\n",
            serde_json::Value::from(serde_json::Map::from_iter(
                env.iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::from(v.clone())))
            ))
        ),
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let env = read_env(ctx, &args.scope, args.merged)?;
    io.out(&render(&env, args.format)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn every_format_round_trips_awkward_values() {
        let env = BTreeMap::from([
            ("A".to_string(), "it's \"x\" $HOME\nnext".to_string()),
            ("B".to_string(), "é = ü".to_string()),
        ]);
        assert_eq!(
            render(&env, Format::Exports),
            "export A='it'\\''s \"x\" $HOME\nnext'\nexport B='é = ü'\n"
        );
        assert_eq!(
            render(&env, Format::Shell),
            "A='it'\\''s \"x\" $HOME\nnext' B='é = ü'\n"
        );
        assert_eq!(
            render(&env, Format::Envfile),
            "A=\"it's \\\"x\\\" \\$HOME\\nnext\"\nB=\"é = ü\"\n"
        );
        let json: BTreeMap<String, String> =
            serde_json::from_str(&render(&env, Format::Json)).unwrap();
        assert_eq!(json, env);
    }
}
