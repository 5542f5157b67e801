//! `config:export [--format exports|shell|envfile|json|json-list|docker-args|docker-args-keys|
//! pack-keys|pretty] [--merged] (<app>|--global)`: Dokku's formats. The first four are also
//! what `config:import` reads. `config:bundle [--merged] (<app>|--global)` writes a tar with
//! one file per variable (the `envdir` layout).

use super::argv::Argv;
use super::config_common::{aligned, read_env, Scope};
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

/// What `config:export` writes: a format `config:import` reads too, or one for other tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    Readable(Format),
    /// `[{"name": "K", "value": "v"}]`.
    JsonList,
    /// `--env=K='v' --env=K2='v2'`, for `docker run`.
    DockerArgs,
    /// `--env=K --env=K2`, for `docker run` with the values in its environment.
    DockerArgsKeys,
    /// `--env K --env K2`, for `pack build`.
    PackKeys,
    /// `K:  v` lines, aligned as `config:show` prints them.
    Pretty,
}

/// What the command writes: text in a format, or (`config:bundle`) a tar of one file per
/// variable, named after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Text(Export),
    Bundle,
}

impl Export {
    fn parse(raw: Option<&str>) -> Result<Export, CommandError> {
        Ok(match raw {
            Some("json-list") => Export::JsonList,
            Some("docker-args") => Export::DockerArgs,
            Some("docker-args-keys") => Export::DockerArgsKeys,
            Some("pack-keys") => Export::PackKeys,
            Some("pretty") => Export::Pretty,
            raw => Export::Readable(Format::parse(raw, Format::Exports).map_err(|_| {
                CommandError::Usage(format!(
                    "Invalid format \"{shown}\": use exports, shell, envfile, json, json-list, docker-args, docker-args-keys, pack-keys or pretty",
                    shown = crate::names::shown(raw.unwrap_or_default())
                ))
            })?),
        })
    }
}

#[derive(Debug)]
pub struct Args {
    pub scope: Scope,
    pub format: Output,
    pub merged: bool,
}

impl Args {
    /// `config:export` or `config:bundle` (which takes no `--format`).
    pub fn parse(name: &'static str, words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new(name, words);
        let merged = argv.flag("--merged");
        let format = match name {
            "config:bundle" => Output::Bundle,
            _ => Output::Text(Export::parse(argv.option("--format")?.as_deref())?),
        };
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

/// `env` as a tar of one file per variable.
fn bundle(env: &std::collections::BTreeMap<String, String>) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for (key, value) in env {
        let mut header = tar::Header::new_gnu();
        header.set_size(value.len() as u64);
        header.set_mode(0o600);
        builder.append_data(&mut header, key, value.as_bytes())?;
    }
    builder.into_inner()
}

/// `env` in an export-only format.
fn render_export(env: &std::collections::BTreeMap<String, String>, format: Export) -> String {
    let joined = |item: &dyn Fn(&String, &String) -> String| {
        let items: Vec<String> = env.iter().map(|(k, v)| item(k, v)).collect();
        format!("{}\n", items.join(" "))
    };
    match format {
        Export::Readable(format) => render(env, format),
        Export::JsonList => {
            let list: Vec<serde_json::Value> = env
                .iter()
                .map(|(k, v)| serde_json::json!({"name": k, "value": v}))
                .collect();
            format!("{}\n", serde_json::Value::from(list))
        }
        Export::DockerArgs => joined(&|k, v| format!("--env={k}={}", single_quoted(v))),
        Export::DockerArgsKeys => joined(&|k, _| format!("--env={k}")),
        Export::PackKeys => joined(&|k, _| format!("--env {k}")),
        Export::Pretty => {
            let pairs: Vec<(String, String)> = env.clone().into_iter().collect();
            aligned(&pairs).iter().map(|l| format!("{l}\n")).collect()
        }
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let env = read_env(ctx, &args.scope, args.merged)?;
    match args.format {
        Output::Text(format) => io.out(&render_export(&env, format)).await,
        Output::Bundle => {
            let tar = bundle(&env).map_err(|err| CommandError::Internal(err.to_string()))?;
            io.write_bytes(&tar).await;
        }
    }
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

    #[test]
    fn export_only_formats_look_like_dokkus() {
        let env = BTreeMap::from([
            ("A".to_string(), "it's".to_string()),
            ("LONGER".to_string(), "x".to_string()),
        ]);
        let shown = |raw: &str| render_export(&env, Export::parse(Some(raw)).unwrap());
        assert_eq!(
            shown("json-list"),
            "[{\"name\":\"A\",\"value\":\"it's\"},{\"name\":\"LONGER\",\"value\":\"x\"}]\n"
        );
        assert_eq!(
            shown("docker-args"),
            "--env=A='it'\\''s' --env=LONGER='x'\n"
        );
        assert_eq!(shown("docker-args-keys"), "--env=A --env=LONGER\n");
        assert_eq!(shown("pack-keys"), "--env A --env LONGER\n");
        assert_eq!(shown("pretty"), "A:       it's\nLONGER:  x\n");
        assert_eq!(shown("shell"), "A='it'\\''s' LONGER='x'\n");
        assert!(Export::parse(Some("yaml")).is_err());
    }
}
